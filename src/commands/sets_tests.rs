//! What a client sees from the set commands.

use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, err, int, TestServer};
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

/// The members of an array reply, as strings.
fn members(f: Frame) -> Vec<String> {
    let Frame::Array(items) = f else {
        panic!("not an array: {f:?}")
    };
    items
        .into_iter()
        .map(|i| match i {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sadd_counts_new_members_and_srem_deletes_empty_sets() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["sadd", "s1", "a", "b", "a"]), int(2));
    assert_eq!(t.cmd(&["sadd", "s1", "b", "c"]), int(1));
    assert_eq!(t.server.dirty, 3);
    assert_eq!(t.cmd(&["srem", "s1", "a", "zz"]), int(1));
    assert_eq!(t.cmd(&["srem", "nope", "a"]), int(0));
    assert_eq!(t.cmd(&["srem", "s1", "b", "c"]), int(2));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn integer_sets_list_in_numeric_order_like_an_intset() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "n", "10", "-3", "2"]);
    assert_eq!(t.cmd(&["smembers", "n"]), arr(&["-3", "2", "10"]));
    t.cmd(&["sadd", "n", "x", "1"]);
    assert_eq!(t.cmd(&["smembers", "n"]), arr(&["-3", "2", "10", "x", "1"]));
    t.cmd(&["sadd", "w", "b", "a", "3"]);
    assert_eq!(t.cmd(&["smembers", "w"]), arr(&["b", "a", "3"]));
}

#[test]
fn membership_and_cardinality() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "k", "a", "b"]);
    assert_eq!(t.cmd(&["sismember", "k", "a"]), int(1));
    assert_eq!(t.cmd(&["sismember", "k", "z"]), int(0));
    assert_eq!(t.cmd(&["sismember", "nope", "a"]), int(0));
    assert_eq!(
        t.cmd(&["smismember", "k", "z", "b"]),
        Frame::Array(vec![int(0), int(1)])
    );
    assert_eq!(
        t.cmd(&["smismember", "nope", "a"]),
        Frame::Array(vec![int(0)])
    );
    assert_eq!(t.cmd(&["scard", "k"]), int(2));
    assert_eq!(t.cmd(&["scard", "nope"]), int(0));
    assert_eq!(t.cmd(&["smembers", "nope"]), arr(&[]));
}

#[test]
fn spop_removes_random_members_and_replicates_as_srem() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "k", "a", "b", "c", "d", "e"]);
    let Frame::Bulk(one) = t.cmd(&["spop", "k"]) else {
        panic!("bulk expected")
    };
    assert_eq!(
        t.cmd(&["sismember", "k", std::str::from_utf8(&one).unwrap()]),
        int(0)
    );
    let two = members(t.cmd(&["spop", "k", "2"]));
    assert_eq!(two.len(), 2);
    assert_eq!(t.cmd(&["scard", "k"]), int(2));
    let (propagate, dirty) = run_direct(&mut t, &["spop", "k", "1"]);
    let Propagate::Replace(cmds) = propagate else {
        panic!("SPOP must be rewritten")
    };
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0][..2], [Bytes::from("SREM"), Bytes::from("k")]);
    assert_eq!(dirty, 1);
    let (propagate, _) = run_direct(&mut t, &["spop", "k", "5"]);
    let del = vec![Bytes::from("DEL"), Bytes::from("k")];
    assert_eq!(propagate, Propagate::Replace(vec![del]));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn spop_edge_cases() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["spop", "nope"]), Frame::Null);
    assert_eq!(t.cmd(&["spop", "nope", "3"]), arr(&[]));
    t.cmd(&["sadd", "k", "1", "2", "3"]);
    assert_eq!(t.cmd(&["spop", "k", "0"]), arr(&[]));
    assert_eq!(
        t.cmd(&["spop", "k", "-1"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(t.cmd(&["spop", "k", "1", "2"]), err("ERR syntax error"));
    assert_eq!(members(t.cmd(&["spop", "k", "10"])), strs(&["1", "2", "3"]));
    assert_eq!(t.server.ks.dbs[0].len(), 0);
}

#[test]
fn random_choices_replay_from_the_seed() {
    let run = || {
        let mut t = TestServer::new();
        t.cmd(&["sadd", "k", "a", "b", "c", "d", "e", "f", "g", "h"]);
        vec![
            t.cmd(&["srandmember", "k"]),
            t.cmd(&["srandmember", "k", "3"]),
            t.cmd(&["srandmember", "k", "-5"]),
            t.cmd(&["spop", "k"]),
            t.cmd(&["spop", "k", "3"]),
        ]
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.iter().all(|f| !matches!(f, Frame::Error(_))));
}

#[test]
fn srandmember_counts() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "k", "a", "b", "c"]);
    let Frame::Bulk(m) = t.cmd(&["srandmember", "k"]) else {
        panic!("bulk expected")
    };
    assert!(["a", "b", "c"].contains(&std::str::from_utf8(&m).unwrap()));
    let two = members(t.cmd(&["srandmember", "k", "2"]));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1], "positive counts never repeat");
    assert_eq!(
        members(t.cmd(&["srandmember", "k", "5"])),
        strs(&["a", "b", "c"])
    );
    let many = members(t.cmd(&["srandmember", "k", "-20"]));
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
    assert_eq!(t.cmd(&["srandmember", "k", "0"]), arr(&[]));
    assert_eq!(t.cmd(&["scard", "k"]), int(3), "nothing is removed");
    assert_eq!(t.cmd(&["srandmember", "nope"]), Frame::Null);
    assert_eq!(t.cmd(&["srandmember", "nope", "-3"]), arr(&[]));
    assert_eq!(
        t.cmd(&["srandmember", "k", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        t.cmd(&["srandmember", "k", "1", "2"]),
        err("ERR syntax error")
    );
}

#[test]
fn smove_moves_between_sets() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "src", "a", "b"]);
    assert_eq!(t.cmd(&["smove", "src", "dst", "a"]), int(1));
    assert_eq!(t.cmd(&["smove", "src", "dst", "zz"]), int(0));
    assert_eq!(t.cmd(&["smove", "src", "src", "b"]), int(1));
    assert_eq!(t.cmd(&["smove", "nope", "dst", "b"]), int(0));
    assert_eq!(t.cmd(&["smove", "src", "dst", "b"]), int(1));
    assert!(!t.server.ks.dbs[0].contains_raw(b"src"));
    assert_eq!(t.cmd(&["smembers", "dst"]), arr(&["a", "b"]));
}

#[test]
fn smove_checks_both_types() {
    let mut t = with_string();
    t.cmd(&["sadd", "set", "a"]);
    assert_eq!(t.cmd(&["smove", "set", "s", "a"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["smove", "s", "set", "a"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["smove", "nope", "s", "a"]), int(0));
    assert_eq!(t.cmd(&["sismember", "set", "a"]), int(1));
}

#[test]
fn algebra_treats_missing_keys_as_empty() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "a", "1", "2", "3", "x"]);
    t.cmd(&["sadd", "b", "3", "2", "y"]);
    assert_eq!(
        sorted(members(t.cmd(&["sinter", "a", "b"]))),
        strs(&["2", "3"])
    );
    assert_eq!(t.cmd(&["sinter", "a", "nope"]), arr(&[]));
    assert_eq!(
        sorted(members(t.cmd(&["sunion", "a", "b", "nope"]))),
        strs(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(
        sorted(members(t.cmd(&["sdiff", "a", "b", "nope"]))),
        strs(&["1", "x"])
    );
    assert_eq!(t.cmd(&["sdiff", "nope", "a"]), arr(&[]));
    assert_eq!(t.cmd(&["sdiff", "a", "a"]), arr(&[]));
}

#[test]
fn integer_unions_come_out_sorted() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "a", "5", "1"]);
    t.cmd(&["sadd", "b", "3"]);
    assert_eq!(t.cmd(&["sunion", "b", "a"]), arr(&["1", "3", "5"]));
}

#[test]
fn store_forms_replace_the_destination_or_delete_it() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "a", "1", "2", "3"]);
    t.cmd(&["sadd", "b", "2", "3", "4"]);
    t.cmd(&["sadd", "dst", "old"]);
    assert_eq!(t.cmd(&["sinterstore", "dst", "a", "b"]), int(2));
    assert_eq!(t.cmd(&["smembers", "dst"]), arr(&["2", "3"]));
    assert_eq!(t.cmd(&["sunionstore", "dst", "a", "b"]), int(4));
    assert_eq!(t.cmd(&["sdiffstore", "dst", "a", "b"]), int(1));
    assert_eq!(t.cmd(&["smembers", "dst"]), arr(&["1"]));
    let before = t.server.dirty;
    assert_eq!(t.cmd(&["sinterstore", "dst", "a", "nope"]), int(0));
    assert!(!t.server.ks.dbs[0].contains_raw(b"dst"));
    assert_eq!(t.server.dirty, before + 1);
    assert_eq!(t.cmd(&["sdiffstore", "dst", "nope"]), int(0));
    assert_eq!(t.server.dirty, before + 1, "nothing to delete");
}

#[test]
fn set_commands_refuse_other_types() {
    let mut t = with_string();
    t.cmd(&["sadd", "set", "a"]);
    for cmd in [
        &["sadd", "s", "a"][..],
        &["srem", "s", "a"],
        &["smembers", "s"],
        &["sismember", "s", "a"],
        &["smismember", "s", "a"],
        &["scard", "s"],
        &["spop", "s"],
        &["spop", "s", "0"],
        &["srandmember", "s", "2"],
        &["sinter", "set", "s"],
        &["sunion", "nope", "s"],
        &["sdiff", "set", "s"],
        &["sinterstore", "d", "set", "s"],
        &["sunionstore", "d", "s"],
        &["sdiffstore", "d", "set", "s"],
    ] {
        assert_eq!(t.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(
        t.cmd(&["sunionstore", "s", "set"]),
        int(1),
        "STORE overwrites any type"
    );
    assert_eq!(t.cmd(&["smembers", "s"]), arr(&["a"]));
}

#[test]
fn sintercard_counts_the_intersection_up_to_a_limit() {
    let mut t = TestServer::new();
    t.cmd(&["sadd", "a", "1", "2", "3"]);
    t.cmd(&["sadd", "b", "2", "3", "4"]);
    t.cmd(&["set", "s", "x"]);
    assert_eq!(t.cmd(&["sintercard", "2", "a", "b"]), int(2));
    assert_eq!(t.cmd(&["sintercard", "2", "a", "b", "limit", "1"]), int(1));
    assert_eq!(t.cmd(&["sintercard", "2", "a", "missing"]), int(0));
    assert_eq!(t.cmd(&["sintercard", "2", "s", "missing"]), err(WRONGTYPE));
    assert_eq!(
        t.cmd(&["sintercard", "0", "a"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        t.cmd(&["sintercard", "3", "a", "b"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        t.cmd(&["sintercard", "1", "a", "limit"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["sintercard", "1", "a", "limit", "x"]),
        err("ERR LIMIT can't be negative")
    );
}
