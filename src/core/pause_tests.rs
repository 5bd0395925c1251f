//! Stories for CLIENT PAUSE / UNPAUSE: what a paused client sees (nothing, until the pause
//! ends), what is not paused, and what stands still meanwhile.

use crate::core::testing::{bulk, err, int, ok, TestServer};
use crate::resp::{encode_command, Frame};

fn info_field(t: &mut TestServer, section: &str, field: &str) -> String {
    let Frame::Bulk(b) = t.cmd(&["INFO", section]) else {
        panic!("INFO is a bulk string")
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

fn paused_writes() -> TestServer {
    let mut t = TestServer::new();
    t.connect(2);
    assert_eq!(t.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]), ok());
    t
}

#[test]
fn a_write_waits_for_the_unpause_and_then_succeeds() {
    let mut t = paused_writes();
    t.send_raw(2, &encode_command(&["SET", "k", "v"]));
    assert_eq!(t.reply(2), None);
    assert_eq!(info_field(&mut t, "clients", "blocked_clients"), "1");
    assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
    assert_eq!(t.cmd(&["CLIENT", "UNPAUSE"]), ok());
    assert_eq!(t.reply(2), Some(ok()));
    assert_eq!(t.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(info_field(&mut t, "clients", "blocked_clients"), "0");
}

#[test]
fn reads_pass_a_write_pause() {
    let mut t = paused_writes();
    assert_eq!(t.cmd_as(2, &["GET", "foo"]), Frame::Null);
    assert_eq!(t.cmd_as(2, &["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn commands_pipelined_behind_a_held_write_wait_their_turn() {
    let mut t = paused_writes();
    let mut pipeline = encode_command(&["SET", "a", "1"]);
    pipeline.extend_from_slice(&encode_command(&["GET", "a"]));
    t.send_raw(2, &pipeline);
    assert_eq!(t.reply(2), None);
    t.cmd(&["CLIENT", "UNPAUSE"]);
    assert_eq!(t.reply(2), Some(ok()));
    assert_eq!(t.reply(2), Some(bulk("1")));
}

#[test]
fn a_pause_all_holds_even_ping_and_ends_by_itself() {
    let mut t = TestServer::new();
    t.connect(2);
    assert_eq!(t.cmd(&["CLIENT", "PAUSE", "500"]), ok());
    t.send_raw(2, &encode_command(&["PING"]));
    assert_eq!(t.reply(2), None);
    assert!(t.server.poll_timeout().unwrap() <= t.now.mono_ms + 500);
    t.advance_ms(499);
    assert_eq!(t.reply(2), None);
    t.advance_ms(1);
    assert_eq!(t.reply(2), Some(Frame::Simple("PONG".into())));
}

#[test]
fn a_pause_all_holds_even_the_next_client_pause_until_it_ends() {
    let mut t = TestServer::new();
    t.connect(2);
    t.cmd(&["CLIENT", "PAUSE", "200", "ALL"]);
    t.send_raw(1, &encode_command(&["CLIENT", "PAUSE", "20", "WRITE"]));
    t.send_raw(2, &encode_command(&["GET", "foo"]));
    t.advance_ms(150);
    assert_eq!((t.reply(1), t.reply(2)), (None, None));
    t.advance_ms(50);
    assert_eq!((t.reply(1), t.reply(2)), (Some(ok()), Some(Frame::Null)));
    t.send_raw(2, &encode_command(&["SET", "foo", "bar"]));
    assert_eq!(t.reply(2), None);
    t.advance_ms(20);
    assert_eq!(t.reply(2), Some(ok()));
}

#[test]
fn publish_and_an_exec_of_writes_are_held_but_a_read_only_exec_is_not() {
    let mut t = TestServer::new();
    t.connect(2);
    t.connect(3);
    t.cmd_as(3, &["MULTI"]);
    t.cmd_as(3, &["SET", "k", "v"]);
    t.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    t.send_raw(3, &encode_command(&["EXEC"]));
    t.send_raw(2, &encode_command(&["PUBLISH", "ch", "hi"]));
    assert_eq!((t.reply(2), t.reply(3)), (None, None));
    t.connect(4);
    t.cmd_as(4, &["MULTI"]);
    t.cmd_as(4, &["GET", "k"]);
    assert_eq!(t.cmd_as(4, &["EXEC"]), Frame::Array(vec![Frame::Null]));
    t.cmd(&["CLIENT", "UNPAUSE"]);
    assert_eq!(t.reply(3), Some(Frame::Array(vec![ok()])));
    assert_eq!(t.reply(2), Some(int(0)));
}

#[test]
fn keys_look_expired_during_a_write_pause_but_are_deleted_after_it() {
    let mut t = TestServer::new();
    t.cmd(&["SET", "k", "v", "PX", "10"]);
    t.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    t.advance_ms(1000);
    assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
    assert_eq!(info_field(&mut t, "stats", "expired_keys"), "0");
    assert_eq!(t.server.ks.dbs[0].len(), 1);
    t.cmd(&["CLIENT", "UNPAUSE"]);
    assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
    assert_eq!(info_field(&mut t, "stats", "expired_keys"), "1");
}

#[test]
fn a_held_client_that_disconnects_is_forgotten() {
    let mut t = paused_writes();
    t.send_raw(2, &encode_command(&["SET", "k", "v"]));
    t.server.handle_closed(t.now, 2);
    t.cmd(&["CLIENT", "UNPAUSE"]);
    assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
}

#[test]
fn bad_pause_arguments_get_redis_errors() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["CLIENT", "PAUSE", "abc"]),
        err("ERR timeout is not an integer or out of range")
    );
    assert_eq!(
        t.cmd(&["CLIENT", "PAUSE", "-1"]),
        err("ERR timeout is negative")
    );
    assert_eq!(
        t.cmd(&["CLIENT", "PAUSE", "10", "READ"]),
        err("ERR CLIENT PAUSE mode must be WRITE or ALL")
    );
    assert_eq!(
        t.cmd(&["CLIENT", "PAUSE", "9223372036854775807"]),
        err("ERR timeout is out of range")
    );
    assert_eq!(
        t.cmd(&["CLIENT", "UNPAUSE", "x"]),
        err("ERR wrong number of arguments for 'client|unpause' command")
    );
    assert_eq!(t.cmd(&["SET", "k", "v"]), ok());
}
