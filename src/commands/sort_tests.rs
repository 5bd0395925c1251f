//! What a client sees from SORT and SORT_RO.

use crate::commands::lists::tests::run_direct;
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::db::WRONGTYPE;
use crate::resp::Frame;

/// A list `l` of 3, 1, 2 with weights `w_<n>` = 10 - n and hashes `h_<n>` with field `name`.
fn weighted() -> TestServer {
    let mut t = TestServer::new();
    t.cmd(&["rpush", "l", "3", "1", "2"]);
    for (n, w, name) in [("1", "9", "one"), ("2", "8", "two"), ("3", "7", "three")] {
        t.cmd(&["set", &format!("w_{n}"), w]);
        t.cmd(&["hset", &format!("h_{n}"), "name", name]);
    }
    t
}

#[test]
fn sort_orders_numbers_and_alpha_text() {
    let mut t = weighted();
    assert_eq!(t.cmd(&["sort", "l"]), arr(&["1", "2", "3"]));
    assert_eq!(
        t.cmd(&["sort", "l", "desc", "limit", "1", "5"]),
        arr(&["2", "1"])
    );
    t.cmd(&["sadd", "s", "b", "10", "a"]);
    assert_eq!(t.cmd(&["sort", "s", "alpha"]), arr(&["10", "a", "b"]));
    assert_eq!(
        t.cmd(&["sort", "s"]),
        err("ERR One or more scores can't be converted into double")
    );
}

#[test]
fn sort_by_weights_and_get_patterns() {
    let mut t = weighted();
    assert_eq!(t.cmd(&["sort", "l", "by", "w_*"]), arr(&["3", "2", "1"]));
    assert_eq!(
        t.cmd(&[
            "sort",
            "l",
            "by",
            "w_*",
            "get",
            "#",
            "get",
            "h_*->name",
            "get",
            "nope_*"
        ]),
        Frame::Array(vec![
            bulk("3"),
            bulk("three"),
            Frame::Null,
            bulk("2"),
            bulk("two"),
            Frame::Null,
            bulk("1"),
            bulk("one"),
            Frame::Null,
        ])
    );
    assert_eq!(
        t.cmd(&["sort", "l", "by", "h_*->name", "alpha"]),
        arr(&["1", "3", "2"])
    );
}

#[test]
fn sort_by_a_constant_keeps_the_lists_order() {
    let mut t = weighted();
    assert_eq!(t.cmd(&["sort", "l", "by", "nosort"]), arr(&["3", "1", "2"]));
    assert_eq!(
        t.cmd(&["sort", "l", "by", "nosort", "desc", "limit", "0", "2"]),
        arr(&["2", "1"])
    );
}

#[test]
fn sort_store_writes_a_list_and_counts_each_element() {
    let mut t = weighted();
    let (propagate, dirty) = run_direct(&mut t, &["sort", "l", "store", "out"]);
    assert_eq!((propagate, dirty), (Propagate::AsIs, 3));
    assert_eq!(t.cmd(&["lrange", "out", "0", "-1"]), arr(&["1", "2", "3"]));
    assert_eq!(t.cmd(&["sort", "l", "get", "x_*", "store", "out"]), int(3));
    assert_eq!(t.cmd(&["lrange", "out", "0", "-1"]), arr(&["", "", ""]));
    assert_eq!(t.cmd(&["sort", "missing", "store", "out"]), int(0));
    assert_eq!(t.cmd(&["exists", "out"]), int(0));
}

#[test]
fn sort_ro_refuses_store_and_wrong_types_are_refused() {
    let mut t = weighted();
    assert_eq!(
        t.cmd(&["sort_ro", "l", "store", "out"]),
        err("ERR syntax error")
    );
    assert_eq!(t.cmd(&["sort_ro", "l", "desc"]), arr(&["3", "2", "1"]));
    assert_eq!(t.cmd(&["sort", "w_1"]), err(WRONGTYPE));
    assert_eq!(
        t.cmd(&["sort", "l", "limit", "x", "1"]),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn command_getkeys_finds_the_store_destination() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["command", "getkeys", "sort", "abc", "store", "x", "store", "def"]),
        arr(&["abc", "def"])
    );
    assert_eq!(
        t.cmd(&["command", "getkeys", "zunionstore", "d", "2", "a", "b"]),
        arr(&["d", "a", "b"])
    );
}
