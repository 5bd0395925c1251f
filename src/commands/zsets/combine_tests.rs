//! What a client sees from ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD.

use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, err, int, TestServer};
use crate::db::WRONGTYPE;

/// `a` = {x:1, y:2, z:3}, `b` = {y:10, z:20, w:30}, plain set `s` = {y, w, q}.
fn inputs() -> TestServer {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "a", "1", "x", "2", "y", "3", "z"]);
    t.cmd(&["zadd", "b", "10", "y", "20", "z", "30", "w"]);
    t.cmd(&["sadd", "s", "y", "w", "q"]);
    t
}

#[test]
fn union_sums_scores_and_counts_set_members_as_one() {
    let mut t = inputs();
    assert_eq!(
        t.cmd(&["zunion", "3", "a", "b", "s", "withscores"]),
        arr(&["q", "1", "x", "1", "y", "13", "z", "23", "w", "31"])
    );
}

#[test]
fn inter_applies_weights_and_the_aggregate() {
    let mut t = inputs();
    assert_eq!(
        t.cmd(&[
            "zinter",
            "2",
            "a",
            "b",
            "weights",
            "2",
            "3",
            "aggregate",
            "max",
            "withscores"
        ]),
        arr(&["y", "30", "z", "60"])
    );
    assert_eq!(
        t.cmd(&["zinter", "2", "a", "b", "aggregate", "min"]),
        arr(&["y", "z"])
    );
}

#[test]
fn diff_keeps_the_first_inputs_scores() {
    let mut t = inputs();
    assert_eq!(
        t.cmd(&["zdiff", "2", "a", "s", "withscores"]),
        arr(&["x", "1", "z", "3"])
    );
}

#[test]
fn infinities_that_would_make_nan_score_zero() {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "p", "inf", "m"]);
    t.cmd(&["zadd", "n", "-inf", "m"]);
    assert_eq!(
        t.cmd(&["zunion", "2", "p", "n", "withscores"]),
        arr(&["m", "0"])
    );
    assert_eq!(
        t.cmd(&["zinter", "2", "p", "n", "weights", "0", "1", "withscores"]),
        arr(&["m", "-inf"])
    );
}

#[test]
fn store_replaces_the_destination_and_an_empty_result_deletes_it() {
    let mut t = inputs();
    t.cmd(&["set", "d", "old"]);
    assert_eq!(t.cmd(&["zunionstore", "d", "2", "a", "b"]), int(4));
    assert_eq!(
        t.cmd(&["zrange", "d", "0", "-1"]),
        arr(&["x", "y", "z", "w"])
    );
    let (propagate, dirty) = run_direct(&mut t, &["zinterstore", "d", "2", "a", "missing"]);
    assert_eq!((propagate, dirty), (Propagate::AsIs, 1));
    assert_eq!(t.cmd(&["exists", "d"]), int(0));
    let (_, dirty) = run_direct(&mut t, &["zdiffstore", "d", "1", "missing"]);
    assert_eq!(dirty, 0, "nothing to delete, nothing changed");
}

#[test]
fn intercard_counts_up_to_the_limit() {
    let mut t = inputs();
    assert_eq!(t.cmd(&["zintercard", "2", "a", "b"]), int(2));
    assert_eq!(t.cmd(&["zintercard", "2", "a", "b", "limit", "1"]), int(1));
    assert_eq!(
        t.cmd(&["zintercard", "2", "a", "b", "limit", "-1"]),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(
        t.cmd(&["zintercard", "1", "a", "withscores"]),
        err("ERR syntax error")
    );
}

#[test]
fn bad_arguments_get_redis_errors() {
    let mut t = inputs();
    t.cmd(&["set", "str", "v"]);
    assert_eq!(
        t.cmd(&["zunion", "0", "a"]),
        err("ERR at least 1 input key is needed for 'zunion' command")
    );
    assert_eq!(t.cmd(&["zunion", "3", "a", "b"]), err("ERR syntax error"));
    assert_eq!(t.cmd(&["zunion", "2", "a", "str"]), err(WRONGTYPE));
    assert_eq!(
        t.cmd(&["zunion", "2", "a", "b", "weights", "1", "x"]),
        err("ERR weight value is not a float")
    );
    assert_eq!(
        t.cmd(&["zunionstore", "d", "1", "a", "withscores"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["zdiff", "2", "a", "b", "weights", "1", "1"]),
        err("ERR syntax error")
    );
}
