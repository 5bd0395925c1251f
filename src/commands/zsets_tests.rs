//! What a client sees from the sorted set commands.

use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::db::{Value, WRONGTYPE};
use crate::resp::Frame;
use bytes::Bytes;

fn with_string() -> TestServer {
    let mut t = TestServer::new();
    t.server.ks.dbs[0].insert(
        Bytes::from("s"),
        Value::Str(Into::into(Bytes::from("x"))),
        None,
    );
    t
}

/// A sorted set `z` holding a=1, b=2, c=3, d=4, e=5.
fn abcde() -> TestServer {
    let mut t = TestServer::new();
    t.cmd(&[
        "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ]);
    t
}

#[test]
fn zadd_adds_and_updates() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["zadd", "z", "1", "a", "2", "b"]), int(2));
    assert_eq!(t.cmd(&["zadd", "z", "5", "a", "3", "c"]), int(1));
    assert_eq!(
        t.cmd(&["zadd", "z", "ch", "6", "a", "2", "b", "0", "d"]),
        int(2)
    );
    assert_eq!(t.server.dirty, 6);
    assert_eq!(
        t.cmd(&["zrange", "z", "0", "-1", "withscores"]),
        arr(&["d", "0", "b", "2", "c", "3", "a", "6"])
    );
}

#[test]
fn zadd_nx_xx_gt_lt() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["zadd", "z", "xx", "1", "a"]), int(0));
    assert_eq!(t.server.ks.dbs[0].len(), 0, "XX never creates the key");
    t.cmd(&["zadd", "z", "5", "a"]);
    assert_eq!(t.cmd(&["zadd", "z", "nx", "1", "a", "1", "b"]), int(1));
    assert_eq!(
        t.cmd(&["zadd", "z", "xx", "ch", "2", "b", "9", "new"]),
        int(1)
    );
    assert_eq!(
        t.cmd(&["zadd", "z", "gt", "ch", "3", "a", "3", "b"]),
        int(1)
    );
    assert_eq!(
        t.cmd(&["zadd", "z", "lt", "ch", "1", "a", "9", "b"]),
        int(1)
    );
    assert_eq!(t.cmd(&["zscore", "z", "a"]), bulk("1"));
    assert_eq!(t.cmd(&["zscore", "z", "b"]), bulk("3"));
    assert_eq!(t.cmd(&["zscore", "z", "new"]), Frame::Null);
}

#[test]
fn zadd_option_errors_match_redis() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["zadd", "z", "nx", "xx", "1", "a"]),
        err("ERR XX and NX options at the same time are not compatible")
    );
    let gtlt = err("ERR GT, LT, and/or NX options at the same time are not compatible");
    assert_eq!(t.cmd(&["zadd", "z", "gt", "lt", "1", "a"]), gtlt);
    assert_eq!(t.cmd(&["zadd", "z", "nx", "gt", "1", "a"]), gtlt);
    assert_eq!(
        t.cmd(&["zadd", "z", "incr", "1", "a", "2", "b"]),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(
        t.cmd(&["zadd", "z", "1", "a", "2"]),
        err("ERR syntax error")
    );
    assert_eq!(t.cmd(&["zadd", "z", "nx", "ch"]), err("ERR syntax error"));
    assert_eq!(
        t.cmd(&["zadd", "z", "1", "a", "x", "b"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        t.cmd(&["zadd", "z", "nan", "a"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(t.server.ks.dbs[0].len(), 0, "nothing is added on errors");
}

#[test]
fn zadd_incr_and_zincrby_reply_the_new_score() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["zadd", "z", "incr", "1.5", "a"]), bulk("1.5"));
    assert_eq!(t.cmd(&["zincrby", "z", "2", "a"]), bulk("3.5"));
    assert_eq!(t.cmd(&["zadd", "z", "nx", "incr", "1", "a"]), Frame::Null);
    assert_eq!(t.cmd(&["zadd", "z", "gt", "incr", "-1", "a"]), Frame::Null);
    assert_eq!(t.cmd(&["zadd", "z", "xx", "incr", "1", "b"]), Frame::Null);
    assert_eq!(
        t.cmd(&["zincrby", "z", "x", "a"]),
        err("ERR value is not a valid float")
    );
    t.cmd(&["zadd", "z", "inf", "i"]);
    assert_eq!(
        t.cmd(&["zincrby", "z", "-inf", "i"]),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(t.cmd(&["zscore", "z", "i"]), bulk("inf"));
}

#[test]
fn zrem_deletes_empty_sets() {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "z", "1", "a", "2", "b"]);
    assert_eq!(t.cmd(&["zrem", "z", "a", "zz"]), int(1));
    assert_eq!(t.cmd(&["zrem", "nope", "a"]), int(0));
    assert_eq!(t.cmd(&["zrem", "z", "b"]), int(1));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn scores_and_cardinality() {
    let mut t = abcde();
    t.cmd(&["zadd", "z", "1.5e-7", "tiny", "-inf", "low"]);
    assert_eq!(t.cmd(&["zscore", "z", "tiny"]), bulk("1.5e-7"));
    assert_eq!(t.cmd(&["zscore", "z", "low"]), bulk("-inf"));
    assert_eq!(t.cmd(&["zscore", "nope", "a"]), Frame::Null);
    assert_eq!(
        t.cmd(&["zmscore", "z", "a", "zz", "e"]),
        Frame::Array(vec![bulk("1"), Frame::Null, bulk("5")])
    );
    assert_eq!(
        t.cmd(&["zmscore", "nope", "a"]),
        Frame::Array(vec![Frame::Null])
    );
    assert_eq!(t.cmd(&["zcard", "z"]), int(7));
    assert_eq!(t.cmd(&["zcard", "nope"]), int(0));
}

#[test]
fn ranks_with_and_without_scores() {
    let mut t = abcde();
    assert_eq!(t.cmd(&["zrank", "z", "a"]), int(0));
    assert_eq!(t.cmd(&["zrevrank", "z", "a"]), int(4));
    assert_eq!(
        t.cmd(&["zrank", "z", "c", "withscore"]),
        Frame::Array(vec![int(2), bulk("3")])
    );
    assert_eq!(t.cmd(&["zrank", "z", "zz"]), Frame::Null);
    assert_eq!(t.cmd(&["zrank", "z", "zz", "WITHSCORE"]), Frame::NullArray);
    assert_eq!(
        t.cmd(&["zrevrank", "nope", "a", "withscore"]),
        Frame::NullArray
    );
    assert_eq!(
        t.cmd(&["zrank", "z", "a", "scores"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["zrank", "z", "a", "withscore", "x"]),
        err("ERR wrong number of arguments for 'zrank' command")
    );
}

#[test]
fn equal_scores_order_by_member() {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "z", "0", "c", "0", "a", "-0", "b"]);
    assert_eq!(t.cmd(&["zrange", "z", "0", "-1"]), arr(&["a", "b", "c"]));
}

#[test]
fn zrange_by_index_and_zrevrange() {
    let mut t = abcde();
    assert_eq!(t.cmd(&["zrange", "z", "1", "2"]), arr(&["b", "c"]));
    assert_eq!(t.cmd(&["zrange", "z", "-2", "100"]), arr(&["d", "e"]));
    assert_eq!(t.cmd(&["zrange", "z", "3", "1"]), arr(&[]));
    assert_eq!(t.cmd(&["zrange", "z", "0", "1", "rev"]), arr(&["e", "d"]));
    assert_eq!(
        t.cmd(&["zrevrange", "z", "0", "1", "withscores"]),
        arr(&["e", "5", "d", "4"])
    );
    assert_eq!(t.cmd(&["zrange", "nope", "0", "-1"]), arr(&[]));
    assert_eq!(
        t.cmd(&["zrange", "z", "a", "1"]),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn zrange_by_score_with_exclusive_bounds_and_limit() {
    let mut t = abcde();
    assert_eq!(
        t.cmd(&["zrange", "z", "(1", "3", "byscore"]),
        arr(&["b", "c"])
    );
    assert_eq!(
        t.cmd(&["zrangebyscore", "z", "-inf", "(3"]),
        arr(&["a", "b"])
    );
    assert_eq!(t.cmd(&["zrangebyscore", "z", "(5", "+inf"]), arr(&[]));
    assert_eq!(
        t.cmd(&[
            "zrangebyscore",
            "z",
            "2",
            "inf",
            "withscores",
            "limit",
            "1",
            "2"
        ]),
        arr(&["c", "3", "d", "4"])
    );
    assert_eq!(
        t.cmd(&["zrangebyscore", "z", "-inf", "+inf", "limit", "3", "-1"]),
        arr(&["d", "e"])
    );
    assert_eq!(
        t.cmd(&["zrangebyscore", "z", "-inf", "+inf", "limit", "-1", "2"]),
        arr(&[])
    );
    assert_eq!(t.cmd(&["zrangebyscore", "z", "3", "1"]), arr(&[]));
    // Redis reads bounds with strtod, so an empty bound is 0.
    assert_eq!(t.cmd(&["zrangebyscore", "z", "", "(2"]), arr(&["a"]));
}

#[test]
fn reversed_score_ranges_take_max_first() {
    let mut t = abcde();
    assert_eq!(
        t.cmd(&["zrevrangebyscore", "z", "4", "(2"]),
        arr(&["d", "c"])
    );
    assert_eq!(
        t.cmd(&["zrange", "z", "+inf", "-inf", "byscore", "rev", "limit", "1", "2"]),
        arr(&["d", "c"])
    );
    assert_eq!(
        t.cmd(&["zrevrangebyscore", "z", "(4", "-inf"]),
        arr(&["c", "b", "a"])
    );
    assert_eq!(t.cmd(&["zrevrangebyscore", "z", "1", "5"]), arr(&[]));
}

#[test]
fn zrange_option_errors_match_redis() {
    let mut t = abcde();
    assert_eq!(
        t.cmd(&["zrange", "z", "0", "1", "limit", "0", "1"]),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        t.cmd(&["zrange", "z", "-", "+", "bylex", "withscores"]),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    let syntax = err("ERR syntax error");
    assert_eq!(t.cmd(&["zrange", "z", "0", "1", "rev", "rev"]), syntax);
    assert_eq!(
        t.cmd(&["zrange", "z", "0", "1", "byscore", "bylex"]),
        syntax
    );
    assert_eq!(t.cmd(&["zrangebyscore", "z", "0", "1", "rev"]), syntax);
    assert_eq!(
        t.cmd(&["zrangebyscore", "z", "0", "1", "limit", "1"]),
        syntax
    );
    let float = err("ERR min or max is not a float");
    assert_eq!(t.cmd(&["zrangebyscore", "z", "x", "1"]), float);
    assert_eq!(t.cmd(&["zrangebyscore", "z", "(nan", "1"]), float);
    assert_eq!(
        t.cmd(&["zrangebylex", "z", "a", "+"]),
        err("ERR min or max not valid string range item")
    );
    assert_eq!(
        t.cmd(&["zrange", "z", "0", "1", "limit", "0", "-1"]),
        arr(&["a", "b"])
    );
}

#[test]
fn lex_ranges() {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "z", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(t.cmd(&["zrangebylex", "z", "-", "[b"]), arr(&["a", "b"]));
    assert_eq!(t.cmd(&["zrangebylex", "z", "(a", "(d"]), arr(&["b", "c"]));
    assert_eq!(t.cmd(&["zrevrangebylex", "z", "+", "(b"]), arr(&["d", "c"]));
    assert_eq!(
        t.cmd(&["zrange", "z", "[b", "+", "bylex", "limit", "1", "5"]),
        arr(&["c", "d"])
    );
    assert_eq!(t.cmd(&["zlexcount", "z", "[b", "+"]), int(3));
    assert_eq!(t.cmd(&["zlexcount", "z", "+", "-"]), int(0));
    assert_eq!(
        t.cmd(&["zlexcount", "z", "b", "+"]),
        err("ERR min or max not valid string range item")
    );
}

#[test]
fn zcount_counts_inside_the_interval() {
    let mut t = abcde();
    assert_eq!(t.cmd(&["zcount", "z", "2", "4"]), int(3));
    assert_eq!(t.cmd(&["zcount", "z", "(2", "(4"]), int(1));
    assert_eq!(t.cmd(&["zcount", "z", "-inf", "+inf"]), int(5));
    assert_eq!(t.cmd(&["zcount", "nope", "-inf", "+inf"]), int(0));
    assert_eq!(
        t.cmd(&["zcount", "z", "1", "y"]),
        err("ERR min or max is not a float")
    );
}

#[test]
fn zpop_takes_from_either_end() {
    let mut t = abcde();
    assert_eq!(t.cmd(&["zpopmin", "z"]), arr(&["a", "1"]));
    assert_eq!(t.cmd(&["zpopmax", "z", "2"]), arr(&["e", "5", "d", "4"]));
    assert_eq!(t.cmd(&["zpopmin", "z", "0"]), arr(&[]));
    assert_eq!(t.cmd(&["zpopmin", "z", "10"]), arr(&["b", "2", "c", "3"]));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
    assert_eq!(t.cmd(&["zpopmax", "z"]), arr(&[]));
    assert_eq!(
        t.cmd(&["zpopmin", "z", "-1"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(t.cmd(&["zpopmin", "z", "1", "2"]), err("ERR syntax error"));
}

#[test]
fn zset_commands_refuse_other_types() {
    let mut t = with_string();
    for cmd in [
        &["zadd", "s", "1", "a"][..],
        &["zadd", "s", "xx", "1", "a"],
        &["zincrby", "s", "1", "a"],
        &["zrem", "s", "a"],
        &["zscore", "s", "a"],
        &["zmscore", "s", "a"],
        &["zcard", "s"],
        &["zrank", "s", "a"],
        &["zrevrank", "s", "a", "withscore"],
        &["zrange", "s", "0", "-1"],
        &["zrevrange", "s", "0", "-1"],
        &["zrangebyscore", "s", "0", "1"],
        &["zrevrangebyscore", "s", "1", "0"],
        &["zrangebylex", "s", "-", "+"],
        &["zrevrangebylex", "s", "+", "-"],
        &["zcount", "s", "0", "1"],
        &["zlexcount", "s", "-", "+"],
        &["zpopmin", "s"],
        &["zpopmax", "s", "0"],
    ] {
        assert_eq!(t.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(t.server.dirty, 0);
}
