//! Stories for MIGRATE, with the test playing the target instance on the outbound connection.

use super::testing::{bulk, err, int, ok, TestServer};
use super::Action;
use crate::resp::{encode_command, parse_frame, Frame};

/// Sends a MIGRATE from client 1 (its reply waits for the target) and returns the connection
/// the server opened, now up.
fn start(t: &mut TestServer, args: &[&str]) -> u64 {
    t.send_raw(1, &encode_command(args));
    assert_eq!(t.reply(1), None, "the reply waits for the target");
    t.accept_outbound().expect("a connection to the target")
}

/// The commands the server sent the target, by name.
fn sent_names(t: &mut TestServer, conn: u64) -> Vec<String> {
    let mut out = t.take_output(conn);
    let mut names = Vec::new();
    while let Ok(Some((Frame::Array(args), n))) = parse_frame(&out, usize::MAX) {
        if let Some(Frame::Bulk(name)) = args.first() {
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        out.drain(..n);
    }
    names
}

fn info_sockets(t: &mut TestServer) -> String {
    let Frame::Bulk(info) = t.cmd(&["info", "stats"]) else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8_lossy(&info).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("migrate_cached_sockets:"));
    line.expect("the field").to_string()
}

#[test]
fn migrate_moves_a_key_once_the_target_acknowledges_it_and_caches_the_connection() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    t.cmd(&["pexpire", "k", "9000"]);
    let conn = start(&mut t, &["migrate", "10.0.0.2", "6380", "k", "9", "1000"]);
    assert_eq!(sent_names(&mut t, conn), ["SELECT", "RESTORE"]);
    t.send_raw(conn, b"+OK\r\n+OK\r\n");
    assert_eq!(t.reply(1), Some(ok()));
    assert_eq!(t.cmd(&["exists", "k"]), int(0));
    assert_eq!(info_sockets(&mut t), "migrate_cached_sockets:1");
    // The same target and database again: the connection is reused, without SELECT.
    t.cmd(&["set", "k2", "v"]);
    t.send_raw(
        1,
        &encode_command(&["migrate", "10.0.0.2", "6380", "k2", "9", "1000", "copy"]),
    );
    assert_eq!(sent_names(&mut t, conn), ["RESTORE"]);
    t.send_raw(conn, b"+OK\r\n");
    assert_eq!(t.reply(1), Some(ok()));
    assert_eq!(t.cmd(&["get", "k2"]), bulk("v"), "COPY keeps the key");
    t.advance_ms(11_000);
    assert_eq!(info_sockets(&mut t), "migrate_cached_sockets:0");
    assert!(t.other_actions.contains(&Action::Close { conn }));
}

#[test]
fn migrate_keeps_the_keys_the_target_refused_and_reports_its_error() {
    let mut t = TestServer::new();
    t.cmd(&["mset", "a", "1", "b", "2"]);
    let conn = start(
        &mut t,
        &[
            "migrate", "h", "1", "", "0", "1000", "keys", "a", "b", "none",
        ],
    );
    assert_eq!(sent_names(&mut t, conn), ["SELECT", "RESTORE", "RESTORE"]);
    t.send_raw(
        conn,
        b"+OK\r\n+OK\r\n-BUSYKEY Target key name already exists.\r\n",
    );
    assert_eq!(
        t.reply(1),
        Some(err(
            "ERR Target instance replied with error: BUSYKEY Target key name already exists."
        ))
    );
    assert_eq!(t.cmd(&["exists", "a", "b"]), int(1), "only b is left");
}

#[test]
fn migrate_fails_with_ioerr_when_the_target_does_not_answer_in_time() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    let conn = start(
        &mut t,
        &["migrate", "h", "1", "k", "0", "500", "auth", "pw"],
    );
    assert_eq!(sent_names(&mut t, conn), ["AUTH", "SELECT", "RESTORE"]);
    t.advance_ms(700);
    assert_eq!(
        t.reply(1),
        Some(err("IOERR error or timeout reading to target instance"))
    );
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
    assert_eq!(info_sockets(&mut t), "migrate_cached_sockets:0");
}

#[test]
fn migrate_of_missing_keys_and_bad_arguments_answers_at_once() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["migrate", "h", "1", "", "0", "10", "keys", "x", "y"]),
        Frame::Simple("NOKEY".into())
    );
    assert_eq!(
        t.cmd(&["migrate", "h", "1", "k", "0", "10", "keys", "x"]),
        err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
    );
    assert_eq!(
        t.cmd(&["migrate", "h", "1", "k", "0", "10", "bogus"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["migrate", "h", "1", "k", "db", "10"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        t.cmd(&["command", "getkeys", "migrate", "h", "1", "", "0", "10", "keys", "x", "y"]),
        Frame::Array(vec![bulk("x"), bulk("y")])
    );
}
