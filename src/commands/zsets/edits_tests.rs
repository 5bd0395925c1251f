//! What a client sees from ZREMRANGEBY*, ZRANGESTORE, ZMPOP and ZRANDMEMBER.

use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::resp::Frame;
use bytes::Bytes;

/// A sorted set `z` holding a=1, b=2, c=3, d=4, e=5.
fn abcde() -> TestServer {
    let mut t = TestServer::new();
    t.cmd(&[
        "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ]);
    t
}

#[test]
fn remrange_by_rank_score_and_lex_remove_what_they_select() {
    let mut t = abcde();
    assert_eq!(t.cmd(&["zremrangebyrank", "z", "0", "0"]), int(1));
    assert_eq!(t.cmd(&["zremrangebyscore", "z", "(2", "3"]), int(1));
    assert_eq!(t.cmd(&["zrange", "z", "0", "-1"]), arr(&["b", "d", "e"]));
    assert_eq!(t.cmd(&["zremrangebyrank", "z", "10", "-1"]), int(0));
    assert_eq!(
        t.cmd(&["zremrangebyscore", "z", "x", "1"]),
        err("ERR min or max is not a float")
    );
    assert_eq!(
        t.cmd(&["zremrangebylex", "z", "x", "+"]),
        err("ERR min or max not valid string range item")
    );
    let (_, dirty) = run_direct(&mut t, &["zremrangebylex", "z", "-", "+"]);
    assert_eq!(dirty, 3);
    assert_eq!(t.cmd(&["exists", "z"]), int(0), "an emptied key is gone");
}

#[test]
fn rangestore_copies_a_range_and_an_empty_one_deletes_the_destination() {
    let mut t = abcde();
    assert_eq!(
        t.cmd(&[
            "zrangestore",
            "d",
            "z",
            "5",
            "(2",
            "byscore",
            "rev",
            "limit",
            "0",
            "2"
        ]),
        int(2)
    );
    assert_eq!(
        t.cmd(&["zrange", "d", "0", "-1", "withscores"]),
        arr(&["d", "4", "e", "5"])
    );
    assert_eq!(
        t.cmd(&["zrangestore", "d", "z", "0", "-1", "withscores"]),
        err("ERR syntax error")
    );
    assert_eq!(t.cmd(&["zrangestore", "d", "missing", "0", "-1"]), int(0));
    assert_eq!(t.cmd(&["exists", "d"]), int(0));
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key_and_replicates_as_zpop() {
    let mut t = abcde();
    assert_eq!(
        t.cmd(&["zmpop", "2", "missing", "z", "max", "count", "2"]),
        Frame::Array(vec![
            bulk("z"),
            Frame::Array(vec![arr(&["e", "5"]), arr(&["d", "4"])]),
        ])
    );
    let (propagate, dirty) = run_direct(&mut t, &["zmpop", "1", "z", "min", "count", "9"]);
    let expected: Vec<Bytes> = ["ZPOPMIN", "z", "3"].map(Bytes::from).to_vec();
    assert_eq!((propagate, dirty), (Propagate::Replace(vec![expected]), 3));
    assert_eq!(t.cmd(&["zmpop", "1", "z", "min"]), Frame::NullArray);
    assert_eq!(
        t.cmd(&["zmpop", "0", "z", "min"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        t.cmd(&["zmpop", "1", "z", "min", "count", "0"]),
        err("ERR count should be greater than 0")
    );
    assert_eq!(
        t.cmd(&["zmpop", "1", "z", "middle"]),
        err("ERR syntax error")
    );
}

#[test]
fn zrandmember_picks_distinct_members_or_repeats_for_a_negative_count() {
    let mut t = abcde();
    let Frame::Array(all) = t.cmd(&["zrandmember", "z", "10", "withscores"]) else {
        panic!("array expected");
    };
    assert_eq!(all.len(), 10, "all five members with their scores");
    let Frame::Array(many) = t.cmd(&["zrandmember", "z", "-20"]) else {
        panic!("array expected");
    };
    assert_eq!(many.len(), 20);
    assert_eq!(t.cmd(&["zrandmember", "missing"]), Frame::Null);
    assert_eq!(t.cmd(&["zrandmember", "missing", "3"]), arr(&[]));
    assert_eq!(
        t.cmd(&["zrandmember", "z", "-9223372036854770000", "withscores"]),
        err("ERR value is out of range")
    );
    assert_eq!(
        t.cmd(&["zrandmember", "z", "1", "withvalues"]),
        err("ERR syntax error")
    );
}
