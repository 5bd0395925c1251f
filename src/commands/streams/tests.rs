//! Stream commands as a client sees them.

use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::resp::{encode_command, Frame};

fn entry(id: &str, fields: &[&str]) -> Frame {
    Frame::Array(vec![bulk(id), arr(fields)])
}

#[test]
fn xadd_generates_increasing_ids_and_xrange_returns_the_entries() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["XADD", "s", "5-1", "a", "1"]), bulk("5-1"));
    assert_eq!(t.cmd(&["XADD", "s", "5-*", "b", "2"]), bulk("5-2"));
    assert_eq!(
        t.cmd(&["XADD", "s", "5-2", "c", "3"]),
        err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    );
    assert_eq!(
        t.cmd(&["XRANGE", "s", "-", "+"]),
        Frame::Array(vec![entry("5-1", &["a", "1"]), entry("5-2", &["b", "2"])])
    );
    assert_eq!(
        t.cmd(&["XREVRANGE", "s", "(5-2", "-", "COUNT", "5"]),
        Frame::Array(vec![entry("5-1", &["a", "1"])])
    );
    assert_eq!(t.cmd(&["XLEN", "s"]), int(2));
    assert_eq!(t.cmd(&["TYPE", "s"]), Frame::Simple("stream".into()));
    assert_eq!(t.cmd(&["OBJECT", "ENCODING", "s"]), bulk("stream"));
}

#[test]
fn approximate_trimming_removes_only_whole_nodes() {
    let mut t = TestServer::new();
    t.cmd(&["CONFIG", "SET", "stream-node-max-entries", "10"]);
    for i in 0..100 {
        t.cmd(&["XADD", "s", &format!("{}-0", i + 1), "f", "v"]);
    }
    assert_eq!(t.cmd(&["XTRIM", "s", "MAXLEN", "~", "55"]), int(40));
    assert_eq!(t.cmd(&["XLEN", "s"]), int(60));
    assert_eq!(t.cmd(&["XTRIM", "s", "MAXLEN", "55"]), int(5));
    assert_eq!(
        t.cmd(&["XTRIM", "s", "MAXLEN", "1", "LIMIT", "3"]),
        err("ERR syntax error, LIMIT cannot be used without the special ~ option")
    );
}

#[test]
fn a_group_delivers_each_entry_once_and_tracks_it_until_acked() {
    let mut t = TestServer::new();
    t.cmd(&["XADD", "s", "1-0", "a", "1"]);
    t.cmd(&["XADD", "s", "2-0", "b", "2"]);
    assert_eq!(t.cmd(&["XGROUP", "CREATE", "s", "g", "0"]), ok());
    let first = t.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ]);
    let stream = |entries: Vec<Frame>| {
        Frame::Array(vec![Frame::Array(vec![bulk("s"), Frame::Array(entries)])])
    };
    assert_eq!(first, stream(vec![entry("1-0", &["a", "1"])]));
    let second = t.cmd(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]);
    assert_eq!(second, stream(vec![entry("2-0", &["b", "2"])]));
    let summary = t.cmd(&["XPENDING", "s", "g"]);
    let owners = Frame::Array(vec![arr(&["alice", "1"]), arr(&["bob", "1"])]);
    assert_eq!(
        summary,
        Frame::Array(vec![int(2), bulk("1-0"), bulk("2-0"), owners])
    );
    assert_eq!(t.cmd(&["XACK", "s", "g", "1-0", "1-0"]), int(1));
    let claimed = t.cmd(&["XCLAIM", "s", "g", "alice", "0", "2-0", "JUSTID"]);
    assert_eq!(claimed, arr(&["2-0"]));
    assert_eq!(
        t.cmd(&["XREADGROUP", "GROUP", "nope", "c", "STREAMS", "s", ">"]),
        err("NOGROUP No such key 's' or consumer group 'nope' in XREADGROUP with GROUP option")
    );
}

#[test]
fn a_blocked_xread_wakes_on_a_new_entry_and_times_out_otherwise() {
    let mut t = TestServer::new();
    t.connect(2);
    t.send_raw(
        2,
        &encode_command(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
    );
    assert_eq!(t.reply(2), None);
    t.cmd(&["XADD", "s", "3-0", "k", "v"]);
    let expected = Frame::Array(vec![Frame::Array(vec![
        bulk("s"),
        Frame::Array(vec![entry("3-0", &["k", "v"])]),
    ])]);
    assert_eq!(t.reply(2), Some(expected));
    t.send_raw(
        2,
        &encode_command(&["XREAD", "BLOCK", "100", "STREAMS", "s", "$"]),
    );
    t.advance_ms(200);
    assert_eq!(t.reply(2), Some(Frame::NullArray));
}

#[test]
fn deleting_the_key_fails_a_blocked_xreadgroup_with_nogroup() {
    let mut t = TestServer::new();
    t.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    t.connect(2);
    t.send_raw(
        2,
        &encode_command(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ]),
    );
    assert_eq!(t.reply(2), None);
    t.cmd(&["DEL", "s"]);
    assert_eq!(
        t.reply(2),
        Some(err(
            "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
        ))
    );
}

#[test]
fn a_stream_with_groups_survives_debug_reload() {
    let mut t = TestServer::with_config(crate::config::Config {
        enable_debug_command: crate::config::Allow::Yes,
        ..Default::default()
    });
    t.cmd(&["XADD", "s", "1-0", "a", "1"]);
    t.cmd(&["XADD", "s", "2-0", "a", "2", "b", "3"]);
    t.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    t.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ]);
    t.cmd(&["XDEL", "s", "2-0"]);
    let before = t.cmd(&["XINFO", "STREAM", "s", "FULL"]);
    let digest = t.cmd(&["DEBUG", "DIGEST-VALUE", "s"]);
    t.send_raw(1, &encode_command(&["DEBUG", "RELOAD"]));
    t.finish_disk();
    assert_eq!(t.reply(1), Some(ok()));
    assert_eq!(t.cmd(&["XINFO", "STREAM", "s", "FULL"]), before);
    assert_eq!(t.cmd(&["DEBUG", "DIGEST-VALUE", "s"]), digest);
}

#[test]
fn replicas_get_the_generated_id_and_an_exact_trim() {
    use crate::commands::keys::tests::{direct, replaced};
    let mut ks = crate::db::Keyspace::new(1);
    for i in 1..=250 {
        direct(&mut ks, 1_000, &["xadd", "s", &format!("{i}-0"), "f", "v"]);
    }
    let (reply, prop, _) = direct(
        &mut ks,
        1_000,
        &["xadd", "s", "MAXLEN", "~", "120", "*", "f", "v"],
    );
    assert_eq!(reply, bulk("1000-0"));
    assert_eq!(
        replaced(prop),
        ["xadd", "s", "MAXLEN", "=", "151", "1000-0", "f", "v"]
    );
    let (reply, prop, _) = direct(&mut ks, 1_000, &["xtrim", "s", "MINID", "~", "201"]);
    assert_eq!(reply, int(100));
    assert_eq!(replaced(prop), ["xtrim", "s", "MINID", "=", "201-0"]);
}
