//! What a client sees from the list commands.

use super::clamp_range;
use crate::commands::{Cx, Handler, Propagate};
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::db::{Value, WRONGTYPE};
use crate::resp::Frame;
use bytes::Bytes;

/// A server whose db 0 holds the string `s` (string commands live in another family).
fn with_string() -> TestServer {
    let mut t = TestServer::new();
    t.server.ks.dbs[0].insert(
        Bytes::from("s"),
        Value::Str(Into::into(Bytes::from("x"))),
        None,
    );
    t
}

/// Runs a data command on db 0 outside dispatch, returning what it asked to replicate and its
/// dirty count (dispatch does not expose them yet). Other families' tests use it too.
pub(crate) fn run_direct(t: &mut TestServer, args: &[&str]) -> (Propagate, u64) {
    let args: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let Some(Handler::Data(f)) = t.server.command(&args[0]).map(|s| s.handler) else {
        panic!("{:?} is not a data command", args[0]);
    };
    let mut buf = bytes::BytesMut::new();
    let server = &mut t.server;
    let mut cx = Cx {
        now: t.now,
        ks: &mut server.ks,
        db_index: 0,
        out: crate::resp::Out::new(&mut buf),
        rng: &mut server.rng,
        dirty: 0,
        propagate: Propagate::AsIs,
        config: &Default::default(),
        obey: false,
    };
    f(&mut cx, &args);
    (cx.propagate, cx.dirty)
}

fn ints(items: &[i64]) -> Frame {
    Frame::Array(items.iter().map(|&n| int(n)).collect())
}

#[test]
fn pops_replicate_as_sent() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(
        run_direct(&mut t, &["lpop", "l", "2"]),
        (Propagate::AsIs, 2)
    );
}

#[test]
fn pushes_build_the_list_from_either_end() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["rpush", "l", "b", "c"]), int(2));
    assert_eq!(t.cmd(&["lpush", "l", "a", "z"]), int(4));
    assert_eq!(
        t.cmd(&["lrange", "l", "0", "-1"]),
        arr(&["z", "a", "b", "c"])
    );
    assert_eq!(t.server.dirty, 4);
}

#[test]
fn pushx_only_appends_to_existing_lists() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["lpushx", "l", "a"]), int(0));
    assert_eq!(t.cmd(&["rpushx", "l", "a"]), int(0));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
    t.cmd(&["rpush", "l", "m"]);
    assert_eq!(t.cmd(&["lpushx", "l", "a", "b"]), int(3));
    assert_eq!(t.cmd(&["rpushx", "l", "z"]), int(4));
    assert_eq!(
        t.cmd(&["lrange", "l", "0", "-1"]),
        arr(&["b", "a", "m", "z"])
    );
}

#[test]
fn popping_the_last_element_deletes_the_key() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b"]);
    assert_eq!(t.cmd(&["lpop", "l"]), bulk("a"));
    assert_eq!(t.cmd(&["rpop", "l"]), bulk("b"));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
    assert_eq!(t.cmd(&["lpop", "l"]), Frame::Null);
}

#[test]
fn pop_with_count_replies_arrays_in_pop_order() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(t.cmd(&["lpop", "l", "2"]), arr(&["a", "b"]));
    assert_eq!(t.cmd(&["rpop", "l", "2"]), arr(&["e", "d"]));
    assert_eq!(t.cmd(&["rpop", "l", "0"]), arr(&[]));
    assert_eq!(t.cmd(&["lpop", "l", "10"]), arr(&["c"]));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
    assert_eq!(t.cmd(&["lpop", "l", "0"]), Frame::NullArray);
    assert_eq!(t.cmd(&["lpop", "l", "3"]), Frame::NullArray);
}

#[test]
fn pop_count_errors_match_redis() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a"]);
    let range = err("ERR value is out of range, must be positive");
    assert_eq!(t.cmd(&["lpop", "l", "-1"]), range);
    assert_eq!(t.cmd(&["rpop", "l", "x"]), range);
    assert_eq!(
        t.cmd(&["lpop", "l", "1", "2"]),
        err("ERR wrong number of arguments for 'lpop' command")
    );
}

#[test]
fn lrange_clamps_indexes_like_redis() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(
        t.cmd(&["lrange", "l", "-100", "100"]),
        arr(&["a", "b", "c"])
    );
    assert_eq!(t.cmd(&["lrange", "l", "1", "-2"]), arr(&["b"]));
    assert_eq!(t.cmd(&["lrange", "l", "2", "1"]), arr(&[]));
    assert_eq!(t.cmd(&["lrange", "l", "5", "10"]), arr(&[]));
    assert_eq!(t.cmd(&["lrange", "nope", "0", "-1"]), arr(&[]));
    assert_eq!(
        t.cmd(&["lrange", "l", "a", "1"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
}

#[test]
fn llen_and_lindex_read_without_changing() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(t.cmd(&["llen", "l"]), int(3));
    assert_eq!(t.cmd(&["llen", "nope"]), int(0));
    assert_eq!(t.cmd(&["lindex", "l", "0"]), bulk("a"));
    assert_eq!(t.cmd(&["lindex", "l", "-1"]), bulk("c"));
    assert_eq!(t.cmd(&["lindex", "l", "3"]), Frame::Null);
    assert_eq!(t.cmd(&["lindex", "l", "-4"]), Frame::Null);
    assert_eq!(t.cmd(&["lindex", "nope", "x"]), Frame::Null);
    assert_eq!(
        t.cmd(&["lindex", "l", "x"]),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn lset_replaces_or_explains_why_not() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["lset", "l", "0", "x"]), err("ERR no such key"));
    t.cmd(&["rpush", "l", "a", "b"]);
    assert_eq!(t.cmd(&["lset", "l", "-1", "z"]), ok());
    assert_eq!(
        t.cmd(&["lset", "l", "2", "z"]),
        err("ERR index out of range")
    );
    assert_eq!(
        t.cmd(&["lset", "l", "x", "z"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(t.cmd(&["lrange", "l", "0", "-1"]), arr(&["a", "z"]));
}

#[test]
fn lrem_counts_from_head_tail_or_all() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "x", "a", "x", "b", "x", "c", "x"]);
    assert_eq!(t.cmd(&["lrem", "l", "2", "x"]), int(2));
    assert_eq!(
        t.cmd(&["lrange", "l", "0", "-1"]),
        arr(&["a", "b", "x", "c", "x"])
    );
    assert_eq!(t.cmd(&["lrem", "l", "-1", "x"]), int(1));
    assert_eq!(
        t.cmd(&["lrange", "l", "0", "-1"]),
        arr(&["a", "b", "x", "c"])
    );
    assert_eq!(t.cmd(&["lrem", "l", "0", "x"]), int(1));
    assert_eq!(t.cmd(&["lrem", "l", "0", "zz"]), int(0));
    assert_eq!(t.cmd(&["lrem", "nope", "0", "x"]), int(0));
    t.cmd(&["rpush", "only", "x", "x"]);
    assert_eq!(t.cmd(&["lrem", "only", "0", "x"]), int(2));
    assert!(!t.server.ks.dbs[0].contains_raw(b"only"));
}

#[test]
fn ltrim_keeps_a_range_and_deletes_empty_lists() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(t.cmd(&["ltrim", "l", "1", "-2"]), ok());
    assert_eq!(t.cmd(&["lrange", "l", "0", "-1"]), arr(&["b", "c"]));
    assert_eq!(t.cmd(&["ltrim", "nope", "0", "1"]), ok());
    assert_eq!(t.cmd(&["ltrim", "l", "5", "10"]), ok());
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn linsert_finds_the_first_pivot() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["linsert", "l", "before", "a", "x"]), int(0));
    t.cmd(&["rpush", "l", "a", "b", "a"]);
    assert_eq!(t.cmd(&["linsert", "l", "BEFORE", "a", "x"]), int(4));
    assert_eq!(t.cmd(&["linsert", "l", "after", "b", "y"]), int(5));
    assert_eq!(t.cmd(&["linsert", "l", "after", "zz", "y"]), int(-1));
    assert_eq!(
        t.cmd(&["linsert", "l", "middle", "a", "y"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["lrange", "l", "0", "-1"]),
        arr(&["x", "a", "b", "y", "a"])
    );
}

#[test]
fn lpos_honours_rank_count_and_maxlen() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(t.cmd(&["lpos", "l", "c"]), int(2));
    assert_eq!(t.cmd(&["lpos", "l", "c", "rank", "2"]), int(6));
    assert_eq!(t.cmd(&["lpos", "l", "c", "rank", "-1"]), int(7));
    assert_eq!(t.cmd(&["lpos", "l", "c", "count", "0"]), ints(&[2, 6, 7]));
    assert_eq!(
        t.cmd(&["lpos", "l", "c", "count", "2", "rank", "-1"]),
        ints(&[7, 6])
    );
    assert_eq!(
        t.cmd(&["lpos", "l", "c", "count", "0", "maxlen", "3"]),
        ints(&[2])
    );
    assert_eq!(
        t.cmd(&["lpos", "l", "c", "rank", "-1", "maxlen", "1"]),
        int(7)
    );
    assert_eq!(t.cmd(&["lpos", "l", "zz"]), Frame::Null);
    assert_eq!(t.cmd(&["lpos", "nope", "c", "count", "1"]), ints(&[]));
    assert_eq!(t.cmd(&["lpos", "nope", "c"]), Frame::Null);
}

#[test]
fn lpos_errors_match_redis() {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "a"]);
    assert_eq!(
        t.cmd(&["lpos", "l", "a", "rank", "0"]),
        err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(
        t.cmd(&["lpos", "l", "a", "rank", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        t.cmd(&["lpos", "l", "a", "count", "-1"]),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        t.cmd(&["lpos", "l", "a", "maxlen", "-1"]),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(t.cmd(&["lpos", "l", "a", "rank"]), err("ERR syntax error"));
}

#[test]
fn list_commands_refuse_other_types() {
    let mut t = with_string();
    for cmd in [
        &["lpush", "s", "a"][..],
        &["rpushx", "s", "a"],
        &["lpop", "s"],
        &["rpop", "s", "0"],
        &["lrange", "s", "0", "-1"],
        &["llen", "s"],
        &["lindex", "s", "0"],
        &["lset", "s", "0", "a"],
        &["lrem", "s", "0", "a"],
        &["ltrim", "s", "0", "1"],
        &["linsert", "s", "before", "a", "b"],
        &["lpos", "s", "a"],
    ] {
        assert_eq!(t.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(t.server.dirty, 0);
}
