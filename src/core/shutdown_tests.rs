//! Shutdown with replicas: the wait for a lagging replica, its timeout, SHUTDOWN ABORT and NOW.

use crate::config::{Allow, Config};
use crate::core::testing::*;
use crate::core::Action;
use crate::resp::{encode_command, Frame};

/// A master (client 1 writes) with an online replica on client 2 that has acknowledged nothing.
fn master_with_lagging_replica() -> TestServer {
    let mut t = TestServer::new();
    t.connect(2);
    assert_eq!(t.cmd_as(2, &["replconf", "listening-port", "7001"]), ok());
    t.send_raw(2, &encode_command(&["psync", "?", "-1"]));
    t.take_output(2);
    assert_eq!(t.cmd(&["set", "k", "1"]), ok());
    t
}

/// A server that takes DEBUG (PAUSE-CRON holds a signal's shutdown back).
fn debug_server() -> TestServer {
    TestServer::with_config(Config {
        enable_debug_command: Allow::Yes,
        ..Config::default()
    })
}

fn exited(t: &TestServer) -> bool {
    t.other_actions
        .iter()
        .any(|a| matches!(a, Action::Exit { code: 0 }))
}

fn ack_everything(t: &mut TestServer) {
    let offset = t.server.repl.offset.to_string();
    t.send_raw(2, &encode_command(&["replconf", "ack", &offset]));
}

#[test]
fn shutdown_waits_for_a_lagging_replica_then_exits_once_it_acknowledges() {
    let mut t = master_with_lagging_replica();
    t.connect(3);
    t.send_raw(3, &encode_command(&["shutdown"]));
    assert_eq!(t.reply(3), None, "the caller is blocked");
    assert!(!exited(&t));
    assert!(t
        .logs()
        .contains(&"Waiting for replicas before shutting down."));
    let info = t.cmd_text(1, &["info", "server"]);
    assert!(
        info.contains("shutdown_in_milliseconds:10000\r\n"),
        "{info}"
    );
    // Writes are paused meanwhile: the SET waits.
    t.send_raw(1, &encode_command(&["set", "k", "2"]));
    assert_eq!(t.reply(1), None);
    ack_everything(&mut t);
    t.advance_ms(200);
    assert!(exited(&t));
    let logs = t.logs();
    assert!(
        logs.contains(&"1 of 1 replicas are in sync when shutting down."),
        "{logs:?}"
    );
    assert!(!logs.iter().any(|l| l.starts_with("Lagging replica")));
    assert_eq!(logs.last(), Some(&"Redis is now ready to exit, bye bye..."));
}

#[test]
fn shutdown_gives_up_on_a_replica_that_stays_behind_after_shutdown_timeout() {
    let mut t = master_with_lagging_replica();
    assert_eq!(t.cmd(&["config", "set", "shutdown-timeout", "1"]), ok());
    t.server.handle_termination(t.now, "SIGTERM");
    t.advance_ms(100);
    assert!(t
        .logs()
        .contains(&"Waiting for replicas before shutting down."));
    t.advance_ms(400);
    assert!(!exited(&t), "still waiting half way through the timeout");
    t.advance_ms(600);
    assert!(exited(&t));
    let logs = t.logs();
    assert!(logs.contains(&"Received SIGTERM scheduling shutdown..."));
    assert!(
        logs.iter().any(
            |l| l.starts_with("Lagging replica 127.0.0.1:7001 reported offset ")
                && l.ends_with("state=online.")
        ),
        "{logs:?}"
    );
    assert!(logs.contains(&"0 of 1 replicas are in sync when shutting down."));
}

#[test]
fn shutdown_abort_answers_every_blocked_caller_with_an_error_and_lets_writes_run() {
    let mut t = master_with_lagging_replica();
    for id in [3, 4] {
        t.connect(id);
        t.send_raw(id, &encode_command(&["shutdown"]));
    }
    let info = t.cmd_text(1, &["info", "clients"]);
    assert!(info.contains("blocked_clients:2\r\n"), "{info}");
    t.send_raw(1, &encode_command(&["set", "k", "2"]));
    assert_eq!(t.reply(1), None, "held by the shutdown's pause");
    t.connect(5);
    assert_eq!(t.cmd_as(5, &["shutdown", "abort"]), ok());
    for id in [3, 4] {
        assert_eq!(
            t.reply(id),
            Some(err("ERR Errors trying to SHUTDOWN. Check logs."))
        );
    }
    assert_eq!(t.reply(1), Some(ok()), "the held write ran");
    assert!(t.logs().contains(&"Shutdown manually aborted."));
    assert_eq!(
        t.cmd_as(5, &["shutdown", "abort"]),
        err("ERR No shutdown in progress.")
    );
    ack_everything(&mut t);
    t.advance_ms(200);
    assert!(!exited(&t));
}

#[test]
fn shutdown_abort_cancels_a_signal_the_cron_has_not_acted_on() {
    let mut t = debug_server();
    assert_eq!(t.cmd(&["debug", "pause-cron", "1"]), ok());
    t.server.handle_termination(t.now, "SIGTERM");
    t.advance_ms(1000);
    assert!(!exited(&t), "the cron is paused");
    assert_eq!(t.cmd(&["shutdown", "abort"]), ok());
    assert_eq!(t.cmd(&["debug", "pause-cron", "0"]), ok());
    t.advance_ms(1000);
    assert!(!exited(&t));
    assert_eq!(t.cmd(&["ping"]), Frame::Simple("PONG".into()));
    assert!(t.logs().contains(&"Shutdown manually aborted."));
}

#[test]
fn a_second_sigint_exits_at_once() {
    let mut t = debug_server();
    assert_eq!(t.cmd(&["debug", "pause-cron", "1"]), ok());
    t.server.handle_termination(t.now, "SIGINT");
    t.server.handle_termination(t.now, "SIGINT");
    t.advance_ms(0);
    assert!(t.logs().contains(&"You insist... exiting now."));
    assert!(t
        .other_actions
        .iter()
        .any(|a| matches!(a, Action::Exit { code: 1 })));
}

#[test]
fn shutdown_now_does_not_wait_for_replicas() {
    let mut t = master_with_lagging_replica();
    t.send_raw(1, &encode_command(&["shutdown", "now"]));
    assert!(exited(&t));
    assert!(t
        .logs()
        .contains(&"0 of 1 replicas are in sync when shutting down."));
}
