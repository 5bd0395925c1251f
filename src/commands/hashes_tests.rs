//! What a client sees from the hash commands.

use super::fmt_human;
use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
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

#[test]
fn hset_counts_new_fields_and_keeps_insertion_order() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hset", "h", "b", "1", "a", "2"]), int(2));
    assert_eq!(t.cmd(&["hset", "h", "b", "3", "c", "4"]), int(1));
    assert_eq!(
        t.cmd(&["hgetall", "h"]),
        arr(&["b", "3", "a", "2", "c", "4"])
    );
    assert_eq!(t.server.dirty, 4);
    assert_eq!(
        t.cmd(&["hset", "h", "a"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        t.cmd(&["hset", "h", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
}

#[test]
fn hmset_replies_ok() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hmset", "h", "a", "1", "b", "2"]), ok());
    assert_eq!(
        t.cmd(&["hmget", "h", "b", "zz", "a"]),
        Frame::Array(vec![bulk("2"), Frame::Null, bulk("1")])
    );
    assert_eq!(
        t.cmd(&["hmset", "h", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'hmset' command")
    );
}

#[test]
fn hsetnx_never_overwrites() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hsetnx", "h", "f", "1"]), int(1));
    assert_eq!(t.cmd(&["hsetnx", "h", "f", "2"]), int(0));
    assert_eq!(t.cmd(&["hget", "h", "f"]), bulk("1"));
}

#[test]
fn reads_of_missing_keys_and_fields() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hget", "h", "f"]), Frame::Null);
    assert_eq!(
        t.cmd(&["hmget", "h", "a", "b"]),
        Frame::Array(vec![Frame::Null, Frame::Null])
    );
    assert_eq!(t.cmd(&["hgetall", "h"]), arr(&[]));
    assert_eq!(t.cmd(&["hkeys", "h"]), arr(&[]));
    assert_eq!(t.cmd(&["hvals", "h"]), arr(&[]));
    assert_eq!(t.cmd(&["hlen", "h"]), int(0));
    assert_eq!(t.cmd(&["hexists", "h", "f"]), int(0));
    assert_eq!(t.cmd(&["hstrlen", "h", "f"]), int(0));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn keys_vals_len_exists_strlen() {
    let mut t = TestServer::new();
    t.cmd(&["hset", "h", "one", "1", "two", "22"]);
    assert_eq!(t.cmd(&["hkeys", "h"]), arr(&["one", "two"]));
    assert_eq!(t.cmd(&["hvals", "h"]), arr(&["1", "22"]));
    assert_eq!(t.cmd(&["hlen", "h"]), int(2));
    assert_eq!(t.cmd(&["hexists", "h", "two"]), int(1));
    assert_eq!(t.cmd(&["hstrlen", "h", "two"]), int(2));
    assert_eq!(t.cmd(&["hstrlen", "h", "three"]), int(0));
}

#[test]
fn hdel_keeps_the_order_of_the_rest_and_deletes_empty_hashes() {
    let mut t = TestServer::new();
    t.cmd(&["hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    assert_eq!(t.cmd(&["hdel", "h", "b", "zz", "b"]), int(1));
    assert_eq!(t.cmd(&["hkeys", "h"]), arr(&["a", "c", "d"]));
    assert_eq!(t.cmd(&["hdel", "nope", "a"]), int(0));
    assert_eq!(t.cmd(&["hdel", "h", "a", "c", "d"]), int(3));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn hincrby_adds_with_overflow_checks() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hincrby", "h", "n", "5"]), int(5));
    assert_eq!(t.cmd(&["hincrby", "h", "n", "-7"]), int(-2));
    t.cmd(&["hset", "h", "big", "9223372036854775806", "s", "abc"]);
    assert_eq!(t.cmd(&["hincrby", "h", "big", "1"]), int(i64::MAX));
    assert_eq!(
        t.cmd(&["hincrby", "h", "big", "1"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        t.cmd(&["hincrby", "h", "s", "1"]),
        err("ERR hash value is not an integer")
    );
    assert_eq!(
        t.cmd(&["hincrby", "h", "n", "1.5"]),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn hincrbyfloat_formats_like_redis_and_replicates_as_hset() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["hincrbyfloat", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(t.cmd(&["hincrbyfloat", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(t.cmd(&["hincrbyfloat", "h", "f", "-10.6"]), bulk("0"));
    assert_eq!(t.cmd(&["hincrbyfloat", "h", "e", "5e3"]), bulk("5000"));
    t.cmd(&["hset", "h", "s", "abc", "inf", "inf"]);
    assert_eq!(
        t.cmd(&["hincrbyfloat", "h", "s", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        t.cmd(&["hincrbyfloat", "h", "inf", "1"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(
        t.cmd(&["hincrbyfloat", "h", "f", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        t.cmd(&["hincrbyfloat", "h", "f", "x"]),
        err("ERR value is not a valid float")
    );
}

#[test]
fn hincrbyfloat_propagates_the_resulting_value() {
    let mut t = TestServer::new();
    t.cmd(&["hset", "h", "f", "1"]);
    let (propagate, dirty) = run_direct(&mut t, &["hincrbyfloat", "h", "f", "0.5"]);
    let expected: Vec<Bytes> = ["HSET", "h", "f", "1.5"].map(Bytes::from).to_vec();
    assert_eq!(propagate, Propagate::Replace(vec![expected]));
    assert_eq!(dirty, 1);
}

#[test]
fn human_float_format() {
    assert_eq!(fmt_human(3.0), "3");
    assert_eq!(fmt_human(-0.0), "0");
    assert_eq!(fmt_human(1e-20), "0");
    assert_eq!(fmt_human(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(fmt_human(1e21), "1000000000000000000000");
}

#[test]
fn hash_commands_refuse_other_types() {
    let mut t = with_string();
    for cmd in [
        &["hset", "s", "f", "v"][..],
        &["hsetnx", "s", "f", "v"],
        &["hmset", "s", "f", "v"],
        &["hget", "s", "f"],
        &["hmget", "s", "f"],
        &["hgetall", "s"],
        &["hdel", "s", "f"],
        &["hexists", "s", "f"],
        &["hlen", "s"],
        &["hkeys", "s"],
        &["hvals", "s"],
        &["hincrby", "s", "f", "1"],
        &["hincrbyfloat", "s", "f", "1"],
        &["hstrlen", "s", "f"],
    ] {
        assert_eq!(t.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(t.server.dirty, 0);
}

#[test]
fn hrandfield_picks_fields_with_or_without_values() {
    let mut t = TestServer::new();
    t.cmd(&["hset", "h", "a", "1", "b", "2"]);
    assert_eq!(
        t.cmd(&["hrandfield", "h", "5", "withvalues"]),
        arr(&["a", "1", "b", "2"]),
        "a count past the size gives every field once"
    );
    let Frame::Array(picks) = t.cmd(&["hrandfield", "h", "-5"]) else {
        panic!("array expected");
    };
    assert_eq!(picks.len(), 5);
    assert!(matches!(t.cmd(&["hrandfield", "h"]), Frame::Bulk(_)));
    assert_eq!(t.cmd(&["hrandfield", "missing"]), Frame::Null);
    assert_eq!(t.cmd(&["hrandfield", "missing", "3"]), arr(&[]));
    assert_eq!(t.cmd(&["hrandfield", "h", "0"]), arr(&[]));
    assert_eq!(
        t.cmd(&["hrandfield", "h", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
}
