//! Stories for the keyspace and expiry commands, driven through `TestServer` (and, for what a
//! command propagates, straight through its handler with `direct`).

use crate::commands::{Cx, Handler, Propagate};
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::core::Now;
use crate::db::{Keyspace, Value};
use crate::resp::{parse_frame, Frame, Out};
use bytes::{Bytes, BytesMut};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use std::collections::{BTreeSet, VecDeque};

/// Runs one data command directly on `ks` (db 0) at wall time `now_ms`: its reply, what it
/// propagates, and how many changes it counted.
pub(in crate::commands) fn direct<T: AsRef<[u8]>>(
    ks: &mut Keyspace,
    now_ms: u64,
    args: &[T],
) -> (Frame, Propagate, u64) {
    let spec = crate::commands::all()
        .find(|c| c.name.as_bytes() == args[0].as_ref())
        .expect("known command");
    let Handler::Data(f) = spec.handler else {
        panic!("not a data command");
    };
    let args: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_ref()))
        .collect();
    let mut buf = BytesMut::new();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut cx = Cx {
        now: Now {
            mono_ms: now_ms,
            unix_ms: now_ms,
        },
        ks,
        db_index: 0,
        out: Out::new(&mut buf),
        rng: &mut rng,
        dirty: 0,
        propagate: Propagate::AsIs,
        config: &Default::default(),
        obey: false,
    };
    f(&mut cx, &args);
    let (dirty, propagate) = (cx.dirty, cx.propagate);
    let (frame, _) = parse_frame(&buf, usize::MAX)
        .expect("valid reply")
        .expect("one reply");
    (frame, propagate, dirty)
}

/// The single command a handler asked to propagate instead of itself.
pub(in crate::commands) fn replaced(p: Propagate) -> Vec<String> {
    match p {
        Propagate::Replace(mut cmds) if cmds.len() == 1 => cmds
            .remove(0)
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        other => panic!("expected one replacement, got {other:?}"),
    }
}

/// Stores a list directly (the list commands belong to another family).
pub(in crate::commands) fn seed_list(t: &mut TestServer, key: &str) {
    let items = VecDeque::from([Bytes::from("a")]);
    t.server.ks.dbs[0].insert(
        Bytes::from(key.to_string()),
        Value::List(Box::new(items)),
        None,
    );
}

fn sorted(f: Frame) -> Vec<Frame> {
    let Frame::Array(mut items) = f else {
        panic!("not an array: {f:?}");
    };
    items.sort_by_key(|i| format!("{i:?}"));
    items
}

#[test]
fn del_and_unlink_count_only_keys_that_existed() {
    let mut t = TestServer::new();
    t.cmd(&["mset", "a", "1", "b", "2"]);
    assert_eq!(t.cmd(&["del", "a", "a", "nope"]), int(1));
    assert_eq!(t.cmd(&["unlink", "b"]), int(1));
    assert_eq!(t.cmd(&["dbsize"]), int(0));
    assert_eq!(
        t.cmd(&["del"]),
        err("ERR wrong number of arguments for 'del' command")
    );
}

#[test]
fn exists_and_touch_count_repeats_and_type_names_every_kind() {
    let mut t = TestServer::new();
    t.cmd(&["set", "s", "v"]);
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["exists", "s", "s", "l", "missing"]), int(3));
    assert_eq!(t.cmd(&["touch", "s", "missing"]), int(1));
    assert_eq!(t.cmd(&["type", "s"]), Frame::Simple("string".into()));
    assert_eq!(t.cmd(&["type", "l"]), Frame::Simple("list".into()));
    assert_eq!(t.cmd(&["type", "missing"]), Frame::Simple("none".into()));
}

#[test]
fn keys_filters_with_glob_patterns() {
    let mut t = TestServer::new();
    t.cmd(&["mset", "foo", "1", "foobar", "2", "bar", "3", "f*x", "4"]);
    assert_eq!(
        sorted(t.cmd(&["keys", "foo*"])),
        sorted(arr(&["foo", "foobar"]))
    );
    assert_eq!(sorted(t.cmd(&["keys", "*"])).len(), 4);
    assert_eq!(t.cmd(&["keys", "f\\*x"]), arr(&["f*x"]));
    assert_eq!(t.cmd(&["keys", "zz*"]), arr(&[]));
}

/// Runs SCAN to completion with the given options, returning every key seen and the rounds.
fn scan_all(t: &mut TestServer, opts: &[&str]) -> (Vec<String>, usize) {
    crate::commands::scan::tests::scan_to_end(t, &["scan"], opts)
}

#[test]
fn scan_iterates_everything_once_honouring_match_count_and_type() {
    let mut t = TestServer::new();
    for i in 0..500 {
        t.cmd(&["set", &format!("key:{i}"), "v"]);
    }
    for i in 0..20 {
        seed_list(&mut t, &format!("list:{i}"));
    }
    let (all, rounds) = scan_all(&mut t, &[]);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 520);
    assert_eq!(all.len(), 520, "no duplicates");
    assert!(
        rounds >= 52,
        "COUNT defaults to about 10 per call, got {rounds} rounds"
    );
    let (big, rounds) = scan_all(&mut t, &["COUNT", "1000"]);
    assert_eq!((big.len(), rounds), (520, 1));
    let (matched, _) = scan_all(&mut t, &["MATCH", "key:1?", "COUNT", "7"]);
    let expect: BTreeSet<String> = (10..20).map(|i| format!("key:{i}")).collect();
    assert_eq!(matched.into_iter().collect::<BTreeSet<_>>(), expect);
    let (lists, _) = scan_all(&mut t, &["TYPE", "LIST"]);
    assert_eq!(lists.len(), 20);
    let (none, _) = scan_all(&mut t, &["TYPE", "nosuchtype"]);
    assert!(none.is_empty());
}

#[test]
fn scan_rejects_bad_cursors_and_options() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    for bad in ["abc", " 1", "1x", "+", "99999999999999999999"] {
        assert_eq!(t.cmd(&["scan", bad]), err("ERR invalid cursor"), "{bad:?}");
    }
    let syntax = err("ERR syntax error");
    assert_eq!(t.cmd(&["scan", "0", "COUNT", "0"]), syntax);
    assert_eq!(t.cmd(&["scan", "0", "COUNT"]), syntax);
    assert_eq!(t.cmd(&["scan", "0", "FOO", "bar"]), syntax);
    assert_eq!(
        t.cmd(&["scan", "0", "COUNT", "x"]),
        err("ERR value is not an integer or out of range")
    );
    let Frame::Array(parts) = t.cmd(&["scan", "", "count", "100"]) else {
        panic!()
    };
    assert_eq!(parts, vec![bulk("0"), arr(&["k"])], "an empty cursor is 0");
}

#[test]
fn randomkey_and_dbsize() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["randomkey"]), Frame::Null);
    t.cmd(&["mset", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(t.cmd(&["dbsize"]), int(3));
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        let Frame::Bulk(k) = t.cmd(&["randomkey"]) else {
            panic!()
        };
        seen.insert(k);
    }
    assert!(seen.len() >= 2, "random keys vary: {seen:?}");
}

#[test]
fn rename_moves_value_and_ttl_and_renamenx_refuses_to_overwrite() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["rename", "nope", "x"]), err("ERR no such key"));
    assert_eq!(t.cmd(&["renamenx", "nope", "x"]), err("ERR no such key"));
    t.cmd(&["set", "a", "1", "EX", "100"]);
    t.cmd(&["set", "b", "2"]);
    assert_eq!(t.cmd(&["rename", "a", "a"]), ok());
    assert_eq!(t.cmd(&["renamenx", "a", "a"]), int(0));
    assert_eq!(t.cmd(&["renamenx", "a", "b"]), int(0));
    assert_eq!(t.cmd(&["rename", "a", "b"]), ok());
    assert_eq!(t.cmd(&["get", "b"]), bulk("1"));
    assert_eq!(t.cmd(&["ttl", "b"]), int(100));
    assert_eq!(t.cmd(&["exists", "a"]), int(0));
    assert_eq!(t.cmd(&["renamenx", "b", "c"]), int(1));
    assert_eq!(t.cmd(&["ttl", "c"]), int(100));
}

#[test]
fn move_and_copy_between_databases() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v", "PX", "5000"]);
    assert_eq!(
        t.cmd(&["move", "k", "0"]),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        t.cmd(&["move", "k", "16"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        t.cmd(&["move", "k", "99999999999"]),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(t.cmd(&["move", "nope", "1"]), int(0));
    assert_eq!(t.cmd(&["copy", "k", "k2"]), int(1));
    assert_eq!(t.cmd(&["copy", "k", "k2"]), int(0));
    assert_eq!(t.cmd(&["copy", "k", "k2", "REPLACE"]), int(1));
    assert_eq!(
        t.cmd(&["copy", "k", "k"]),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(t.cmd(&["copy", "k", "x", "DB"]), err("ERR syntax error"));
    assert_eq!(t.cmd(&["copy", "k", "k", "DB", "3"]), int(1));
    assert_eq!(t.cmd(&["move", "k", "1"]), int(1));
    assert_eq!(t.cmd(&["exists", "k"]), int(0));
    assert_eq!(t.cmd(&["select", "1"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
    assert_eq!(t.cmd(&["pttl", "k"]), int(5000));
    t.cmd(&["set", "k2", "other"]);
    assert_eq!(t.cmd(&["move", "k2", "0"]), int(0), "target already has it");
    assert_eq!(t.cmd(&["select", "3"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
}

#[test]
fn swapdb_exchanges_contents_and_fails_watchers() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "zero"]);
    t.connect(2);
    t.cmd_as(2, &["select", "1"]);
    t.cmd_as(2, &["set", "k", "one"]);
    t.cmd_as(2, &["watch", "k"]);
    assert_eq!(t.cmd(&["swapdb", "0", "1"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("one"));
    assert_eq!(t.cmd_as(2, &["get", "k"]), bulk("zero"));
    t.cmd_as(2, &["multi"]);
    t.cmd_as(2, &["get", "k"]);
    assert_eq!(t.cmd_as(2, &["exec"]), Frame::NullArray);
    assert_eq!(
        t.cmd(&["swapdb", "0", "x"]),
        err("ERR invalid second DB index")
    );
    assert_eq!(
        t.cmd(&["swapdb", "-1", "0"]),
        err("ERR DB index is out of range")
    );
}

#[test]
fn flushdb_empties_one_database_and_flushall_every_one() {
    let mut t = TestServer::new();
    t.cmd(&["set", "a", "1"]);
    t.cmd(&["select", "2"]);
    t.cmd(&["set", "b", "2"]);
    assert_eq!(t.cmd(&["flushdb", "now"]), err("ERR syntax error"));
    assert_eq!(
        t.cmd(&["flushdb", "async", "sync"]),
        err("ERR syntax error")
    );
    assert_eq!(t.cmd(&["flushdb", "SYNC"]), ok());
    assert_eq!(t.cmd(&["dbsize"]), int(0));
    t.cmd(&["set", "b", "2"]);
    t.cmd(&["select", "0"]);
    assert_eq!(t.cmd(&["dbsize"]), int(1));
    assert_eq!(t.cmd(&["flushall", "ASYNC"]), ok());
    assert_eq!(t.cmd(&["dbsize"]), int(0));
    t.cmd(&["select", "2"]);
    assert_eq!(t.cmd(&["dbsize"]), int(0));
}

#[test]
fn flush_is_propagated_even_when_empty() {
    let mut ks = Keyspace::new(16);
    let (reply, p, dirty) = direct(&mut ks, 1000, &["flushall"]);
    // One change counted, as Redis' flush does, so that dispatch propagates it.
    assert_eq!((reply, dirty), (ok(), 1));
    assert_eq!(replaced(p), ["flushall"]);
}

#[test]
fn reads_count_keyspace_hits_and_misses_but_writes_do_not() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    t.cmd(&["append", "k", "w"]);
    t.cmd(&["incr", "n"]);
    t.cmd(&["expire", "nope", "10"]);
    let stats = |t: &TestServer| (t.server.ks.stats.hits, t.server.ks.stats.misses);
    assert_eq!(stats(&t), (0, 0));
    t.cmd(&["get", "k"]);
    t.cmd(&["get", "nope"]);
    t.cmd(&["exists", "k", "nope"]);
    t.cmd(&["mget", "n", "nope"]);
    t.cmd(&["ttl", "k"]);
    assert_eq!(stats(&t), (4, 3));
}
