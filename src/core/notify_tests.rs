//! Keyspace notifications as a subscriber sees them: which events each kind of command fires,
//! in Redis' order, on which channels, and only for the classes configured.

use super::testing::{arr, int, ok, TestServer};
use crate::resp::Frame;

/// A server with `classes` configured and client 2 subscribed to every channel.
fn watching(classes: &str) -> TestServer {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["config", "set", "notify-keyspace-events", classes]),
        ok()
    );
    t.connect(2);
    t.cmd_as(2, &["psubscribe", "*"]);
    t
}

/// The (channel, message) pairs client 2 received since the last call.
fn received(t: &mut TestServer) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while let Some(Frame::Array(items)) = t.reply(2) {
        let text = |f: &Frame| match f {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        };
        got.push((text(&items[2]), text(&items[3])));
    }
    got
}

fn events(t: &mut TestServer) -> Vec<String> {
    received(t).into_iter().map(|(_, m)| m).collect()
}

#[test]
fn keyspace_and_keyevent_channels_carry_event_and_key() {
    let mut t = watching("KEA");
    t.cmd(&["select", "3"]);
    t.cmd(&["set", "foo", "bar"]);
    assert_eq!(
        received(&mut t),
        [
            ("__keyspace@3__:foo".into(), "set".into()),
            ("__keyevent@3__:set".into(), "foo".into())
        ]
    );
}

#[test]
fn only_configured_classes_are_published() {
    let mut t = watching("Kl");
    t.cmd(&["set", "foo", "bar"]);
    t.cmd(&["lpush", "l", "a"]);
    t.cmd(&["sadd", "s", "a"]);
    assert_eq!(events(&mut t), ["lpush"]);
    assert_eq!(
        t.cmd(&["config", "set", "notify-keyspace-events", ""]),
        ok()
    );
    t.cmd(&["lpush", "l", "b"]);
    assert!(events(&mut t).is_empty());
}

#[test]
fn commands_fire_redis_event_names_and_del_when_they_empty_a_key() {
    let mut t = watching("KA");
    t.cmd(&["rpush", "l", "a", "b"]);
    t.cmd(&["lpop", "l"]);
    t.cmd(&["rpop", "l"]);
    t.cmd(&["hmset", "h", "f", "1"]);
    t.cmd(&["incr", "n"]);
    t.cmd(&["zadd", "z", "incr", "1", "m"]);
    t.cmd(&["srem", "nothing", "x"]);
    assert_eq!(
        events(&mut t),
        ["rpush", "lpop", "rpop", "del", "hset", "incrby", "zincr"]
    );
}

#[test]
fn set_with_ttl_rename_and_expire_in_the_past() {
    let mut t = watching("KA");
    t.cmd(&["set", "a", "1", "ex", "100"]);
    t.cmd(&["rename", "a", "b"]);
    t.cmd(&["expire", "b", "-1"]);
    assert_eq!(
        events(&mut t),
        ["set", "expire", "rename_from", "rename_to", "del"]
    );
}

#[test]
fn lmove_fires_push_on_the_destination_then_pop_on_the_source() {
    let mut t = watching("Kl");
    t.cmd(&["rpush", "src", "x"]);
    t.cmd(&["lmove", "src", "dst", "left", "right"]);
    assert_eq!(
        received(&mut t),
        [
            ("__keyspace@0__:src".into(), "rpush".into()),
            ("__keyspace@0__:dst".into(), "rpush".into()),
            ("__keyspace@0__:src".into(), "lpop".into()),
        ]
    );
}

#[test]
fn new_keys_misses_and_expiries_have_their_own_classes() {
    let mut t = watching("Enmx");
    t.cmd(&["set", "foo", "1"]);
    t.cmd(&["set", "foo", "2"]);
    t.cmd(&["get", "missing"]);
    t.cmd(&["psetex", "gone", "10", "v"]);
    t.advance_ms(20);
    assert_eq!(t.cmd(&["exists", "gone"]), int(0));
    assert_eq!(
        received(&mut t),
        [
            ("__keyevent@0__:new".into(), "foo".into()),
            ("__keyevent@0__:keymiss".into(), "missing".into()),
            ("__keyevent@0__:new".into(), "gone".into()),
            ("__keyevent@0__:expired".into(), "gone".into()),
            ("__keyevent@0__:keymiss".into(), "gone".into()),
        ]
    );
}

#[test]
fn a_served_blocked_pop_fires_its_pop() {
    let mut t = watching("Klg");
    t.connect(3);
    t.send_raw(3, &crate::resp::encode_command(&["blpop", "q", "0"]));
    t.cmd(&["rpush", "q", "job"]);
    assert_eq!(t.reply(3), Some(arr(&["q", "job"])));
    assert_eq!(events(&mut t), ["rpush", "lpop", "del"]);
}

#[test]
fn shard_channels_are_apart_from_plain_ones() {
    let mut t = TestServer::new();
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["ssubscribe", "ch"]),
        Frame::Array(vec![
            Frame::Bulk("ssubscribe".into()),
            Frame::Bulk("ch".into()),
            int(1)
        ])
    );
    assert_eq!(t.cmd(&["publish", "ch", "m"]), int(0));
    assert_eq!(t.cmd(&["spublish", "ch", "m"]), int(1));
    assert_eq!(t.reply(2), Some(arr(&["smessage", "ch", "m"])));
    assert_eq!(t.cmd(&["pubsub", "shardchannels"]), arr(&["ch"]));
    assert_eq!(t.cmd(&["pubsub", "channels"]), Frame::Array(vec![]));
}
