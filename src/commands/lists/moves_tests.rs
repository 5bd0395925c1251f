//! What a client sees from LMOVE, RPOPLPUSH and LMPOP.

use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::db::WRONGTYPE;
use crate::resp::Frame;
use bytes::Bytes;

#[test]
fn lmove_moves_between_ends_and_rotates_one_list() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "a", "1", "2", "3"]);
    assert_eq!(t.cmd(&["lmove", "a", "b", "left", "right"]), bulk("1"));
    assert_eq!(t.cmd(&["rpoplpush", "a", "b"]), bulk("3"));
    assert_eq!(t.cmd(&["lrange", "b", "0", "-1"]), arr(&["3", "1"]));
    assert_eq!(t.cmd(&["lmove", "a", "a", "left", "right"]), bulk("2"));
    assert_eq!(t.cmd(&["lrange", "a", "0", "-1"]), arr(&["2"]));
    assert_eq!(t.cmd(&["rpoplpush", "a", "c"]), bulk("2"));
    assert_eq!(t.cmd(&["exists", "a"]), int(0), "an emptied source is gone");
    assert_eq!(t.cmd(&["rpoplpush", "missing", "c"]), Frame::Null);
}

#[test]
fn lmove_checks_both_types_before_moving() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "a", "1"]);
    t.cmd(&["set", "s", "x"]);
    assert_eq!(t.cmd(&["lmove", "a", "s", "left", "left"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["llen", "a"]), int(1));
    assert_eq!(
        t.cmd(&["lmove", "a", "b", "up", "left"]),
        err("ERR syntax error")
    );
    let (propagate, dirty) = run_direct(&mut t, &["lmove", "a", "b", "left", "left"]);
    assert_eq!((propagate, dirty), (Propagate::AsIs, 1));
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list_and_replicates_as_pop() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(
        t.cmd(&["lmpop", "2", "missing", "l", "right", "count", "2"]),
        Frame::Array(vec![bulk("l"), arr(&["c", "b"])])
    );
    let (propagate, dirty) = run_direct(&mut t, &["lmpop", "1", "l", "left", "count", "5"]);
    let expected: Vec<Bytes> = ["LPOP", "l", "1"].map(Bytes::from).to_vec();
    assert_eq!((propagate, dirty), (Propagate::Replace(vec![expected]), 1));
    assert_eq!(t.cmd(&["lmpop", "1", "l", "left"]), Frame::NullArray);
    assert_eq!(
        t.cmd(&["lmpop", "0", "l", "left"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(t.cmd(&["lmpop", "2", "l", "left"]), err("ERR syntax error"));
    assert_eq!(
        t.cmd(&["lmpop", "1", "l", "left", "count", "-1"]),
        err("ERR count should be greater than 0")
    );
}
