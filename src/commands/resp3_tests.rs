//! What a client that said `HELLO 3` sees, byte for byte: maps, sets, doubles, nulls, verbatim
//! text and push messages, next to the RESP2 bytes of the same replies.

use crate::core::testing::*;

/// A server with client 1 in RESP3 and client 2 in RESP2.
fn resp3() -> TestServer {
    let mut t = TestServer::new();
    t.connect(2);
    t.cmd_text(1, &["hello", "3"]);
    t
}

/// The reply to `args` in RESP3 (client 1) and in RESP2 (client 2).
fn both(t: &mut TestServer, args: &[&str]) -> (String, String) {
    (t.cmd_text(1, args), t.cmd_text(2, args))
}

#[test]
fn hgetall_is_a_map_in_resp3_and_a_flat_array_in_resp2() {
    let mut t = resp3();
    t.cmd(&["hset", "h", "f", "v"]);
    assert_eq!(
        both(&mut t, &["hgetall", "h"]),
        (
            "%1\r\n$1\r\nf\r\n$1\r\nv\r\n".into(),
            "*2\r\n$1\r\nf\r\n$1\r\nv\r\n".into()
        )
    );
    assert_eq!(t.cmd_text(1, &["hgetall", "missing"]), "%0\r\n");
    assert_eq!(t.cmd_text(1, &["hkeys", "h"]), "*1\r\n$1\r\nf\r\n");
}

#[test]
fn set_replies_are_sets_in_resp3() {
    let mut t = resp3();
    t.cmd(&["sadd", "s", "a"]);
    for args in [
        &["smembers", "s"][..],
        &["sinter", "s", "s"],
        &["sunion", "s"],
        &["sdiff", "s", "missing"],
    ] {
        assert_eq!(
            both(&mut t, args),
            ("~1\r\n$1\r\na\r\n".into(), "*1\r\n$1\r\na\r\n".into()),
            "{args:?}"
        );
    }
    assert_eq!(t.cmd_text(1, &["smembers", "missing"]), "~0\r\n");
    assert_eq!(t.cmd_text(1, &["spop", "s", "0"]), "~0\r\n");
    assert_eq!(t.cmd_text(1, &["spop", "s", "5"]), "~1\r\n$1\r\na\r\n");
    assert_eq!(t.cmd_text(1, &["spop", "s"]), "_\r\n");
    // SRANDMEMBER with a count stays an array, as in Redis.
    t.cmd(&["sadd", "s", "a"]);
    assert_eq!(
        t.cmd_text(1, &["srandmember", "s", "1"]),
        "*1\r\n$1\r\na\r\n"
    );
}

#[test]
fn scores_are_doubles_in_resp3() {
    let mut t = resp3();
    t.cmd(&["zadd", "z", "1.5", "a", "inf", "b"]);
    assert_eq!(
        both(&mut t, &["zscore", "z", "a"]),
        (",1.5\r\n".into(), "$3\r\n1.5\r\n".into())
    );
    assert_eq!(t.cmd_text(1, &["zscore", "z", "b"]), ",inf\r\n");
    assert_eq!(t.cmd_text(1, &["zscore", "z", "nope"]), "_\r\n");
    assert_eq!(
        t.cmd_text(1, &["zmscore", "z", "a", "nope"]),
        "*2\r\n,1.5\r\n_\r\n"
    );
    assert_eq!(t.cmd_text(1, &["zincrby", "z", "1", "a"]), ",2.5\r\n");
    assert_eq!(
        t.cmd_text(1, &["zadd", "z", "incr", "-5", "a"]),
        ",-2.5\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["zadd", "z", "nx", "incr", "1", "a"]),
        "_\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["zrank", "z", "a", "withscore"]),
        "*2\r\n:0\r\n,-2.5\r\n"
    );
    assert_eq!(t.cmd_text(1, &["zrank", "z", "nope", "withscore"]), "_\r\n");
}

#[test]
fn withscores_replies_are_member_score_pairs_in_resp3() {
    let mut t = resp3();
    t.cmd(&["zadd", "z", "1", "a", "2", "b"]);
    let pairs = "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n";
    let flat = "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n";
    for args in [
        &["zrange", "z", "0", "-1", "withscores"][..],
        &["zrangebyscore", "z", "-inf", "+inf", "withscores"],
    ] {
        assert_eq!(both(&mut t, args), (pairs.into(), flat.into()), "{args:?}");
    }
    assert_eq!(
        t.cmd_text(1, &["zrange", "z", "0", "0"]),
        "*1\r\n$1\r\na\r\n"
    );
}

#[test]
fn zpop_is_flat_without_a_count_and_pairs_with_one_in_resp3() {
    let mut t = resp3();
    t.cmd(&["zadd", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(t.cmd_text(1, &["zpopmin", "z"]), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(
        t.cmd_text(1, &["zpopmax", "z", "1"]),
        "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    );
    assert_eq!(
        t.cmd_text(2, &["zpopmax", "z", "1"]),
        "*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

#[test]
fn nulls_are_resp3_nulls() {
    let mut t = resp3();
    assert_eq!(
        both(&mut t, &["lpop", "missing", "2"]),
        ("_\r\n".into(), "*-1\r\n".into())
    );
    assert_eq!(
        both(&mut t, &["mget", "a"]),
        ("*1\r\n_\r\n".into(), "*1\r\n$-1\r\n".into())
    );
    // A transaction aborted by WATCH.
    t.cmd_text(1, &["watch", "k"]);
    t.cmd(&["set", "k", "1"]);
    t.cmd_text(1, &["multi"]);
    t.cmd_text(1, &["get", "k"]);
    assert_eq!(t.cmd_text(1, &["exec"]), "_\r\n");
}

#[test]
fn config_get_is_a_map_in_resp3() {
    let mut t = resp3();
    assert_eq!(
        both(&mut t, &["config", "get", "maxmemory"]),
        (
            "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n".into(),
            "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n".into()
        )
    );
}

#[test]
fn text_for_humans_is_verbatim_in_resp3() {
    let mut t = resp3();
    let info = t.cmd_text(1, &["info", "keyspace"]);
    assert_eq!(info, "=16\r\ntxt:# Keyspace\r\n\r\n");
    assert_eq!(
        t.cmd_text(2, &["info", "keyspace"]),
        "$12\r\n# Keyspace\r\n\r\n"
    );
    let client = t.cmd_text(1, &["client", "info"]);
    assert!(client.contains("\r\ntxt:id=1 addr="), "{client}");
    assert!(client.contains(" resp=3 "), "{client}");
    assert!(t.cmd_text(1, &["client", "list"]).starts_with('='));
}

#[test]
fn command_info_uses_sets_and_docs_a_map() {
    let mut t = resp3();
    assert_eq!(
        t.cmd_text(1, &["command", "docs", "get"]),
        "%1\r\n$3\r\nget\r\n%1\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
    );
    assert_eq!(
        t.cmd_text(2, &["command", "docs", "get"]),
        "*2\r\n$3\r\nget\r\n*2\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
    );
    let info = t.cmd_text(1, &["command", "info", "get"]);
    assert!(
        info.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n"),
        "{info}"
    );
    assert!(info.ends_with("~0\r\n~0\r\n~0\r\n"), "{info}");
    assert!(t
        .cmd_text(2, &["command", "info", "get"])
        .ends_with("*0\r\n*0\r\n*0\r\n"));
}

#[test]
fn pubsub_messages_are_pushes_in_resp3() {
    let mut t = resp3();
    assert_eq!(
        t.cmd_text(1, &["subscribe", "ch"]),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["psubscribe", "c*"]),
        ">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n"
    );
    assert_eq!(t.cmd_as(2, &["publish", "ch", "hi"]), int(2));
    assert_eq!(
        t.take_output(1),
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n\
          >4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["punsubscribe"]),
        ">3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:1\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["unsubscribe", "ch"]),
        ">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n"
    );
    assert_eq!(
        t.cmd_text(1, &["unsubscribe"]),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
}

#[test]
fn a_subscribed_resp3_client_may_run_any_command() {
    let mut t = resp3();
    t.cmd_text(1, &["subscribe", "ch"]);
    assert_eq!(t.cmd_text(1, &["set", "k", "v"]), "+OK\r\n");
    assert_eq!(t.cmd_text(1, &["get", "k"]), "$1\r\nv\r\n");
    assert_eq!(t.cmd_text(1, &["ping"]), "+PONG\r\n");
    t.cmd_text(2, &["subscribe", "ch"]);
    assert!(t
        .cmd_text(2, &["get", "k"])
        .starts_with("-ERR Can't execute 'get'"));
    assert_eq!(t.cmd_text(2, &["ping"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn sentinel_replies_maps_and_a_plain_info_in_resp3() {
    let mut t = TestServer::sentinel();
    let hello = t.cmd_text(1, &["hello", "3"]);
    assert!(hello.starts_with("%6\r\n"), "{hello}");
    assert!(
        hello.contains("$4\r\nmode\r\n$8\r\nsentinel\r\n"),
        "{hello}"
    );
    assert!(!hello.contains("role"), "{hello}");
    let master = t.cmd_text(1, &["sentinel", "master", "mymaster"]);
    assert!(master.starts_with("%"), "{master}");
    assert!(
        master.contains("$4\r\nname\r\n$8\r\nmymaster\r\n"),
        "{master}"
    );
    let masters = t.cmd_text(1, &["sentinel", "masters"]);
    assert!(masters.starts_with("*1\r\n%"), "{masters}");
    assert_eq!(
        t.cmd_text(1, &["sentinel", "config", "get", "resolve-hostnames"]),
        "%1\r\n$17\r\nresolve-hostnames\r\n$2\r\nno\r\n"
    );
    assert!(t.cmd_text(1, &["sentinel", "debug"]).starts_with('%'));
    assert!(t.cmd_text(1, &["info", "server"]).starts_with('$'));
    assert_eq!(
        t.cmd_text(1, &["sentinel", "get-master-addr-by-name", "nope"]),
        "_\r\n"
    );
}

#[test]
fn messages_published_to_oneself_follow_the_reply() {
    let mut t = resp3();
    t.cmd_text(1, &["subscribe", "foo"]);
    assert_eq!(
        t.cmd_text(1, &["publish", "foo", "bar"]),
        ":1\r\n>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"
    );
    t.cmd_text(1, &["multi"]);
    t.cmd_text(1, &["publish", "foo", "a"]);
    t.cmd_text(1, &["ping", "x"]);
    assert_eq!(
        t.cmd_text(1, &["exec"]),
        "*2\r\n:1\r\n$1\r\nx\r\n>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$1\r\na\r\n"
    );
}

#[test]
fn client_reply_off_drops_replies_but_not_push_messages() {
    let mut t = resp3();
    assert_eq!(t.cmd_text(1, &["client", "reply", "off"]), "");
    assert_eq!(t.cmd_text(1, &["set", "k", "v"]), "");
    assert_eq!(t.cmd_text(1, &["nosuchcommand"]), "");
    assert_eq!(
        t.cmd_text(1, &["subscribe", "ch"]),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    t.cmd_text(2, &["publish", "ch", "hi"]);
    assert_eq!(
        t.take_output(1),
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
    assert_eq!(t.cmd_text(1, &["client", "reply", "on"]), "+OK\r\n");
    assert_eq!(t.cmd_text(1, &["get", "k"]), "$1\r\nv\r\n");
}

#[test]
fn client_reply_skip_drops_only_the_next_reply() {
    let mut t = resp3();
    assert_eq!(t.cmd_text(1, &["client", "reply", "skip"]), "");
    assert_eq!(t.cmd_text(1, &["ping"]), "");
    assert_eq!(t.cmd_text(1, &["ping"]), "+PONG\r\n");
    assert_eq!(
        t.cmd_text(1, &["client", "reply", "maybe"]),
        "-ERR syntax error\r\n"
    );
}
