//! Tests for transactions: what is queued, refused or run at once inside MULTI, and replies
//! that EXEC must keep in order even when a command answers later (CONFIG REWRITE waits for
//! the disk) or would block (WAIT).

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::{encode_command, Frame};

fn simple(s: &str) -> Frame {
    Frame::Simple(s.into())
}

fn queued(t: &mut TestServer, cmds: &[&[&str]]) {
    assert_eq!(t.cmd(&["multi"]), ok());
    for c in cmds {
        assert_eq!(t.cmd(c), simple("QUEUED"), "{c:?}");
    }
}

fn with_config_file() -> TestServer {
    TestServer::with_config(Config {
        config_file: Some("/redsim.conf".into()),
        ..Config::default()
    })
}

#[test]
fn save_sync_and_psync_are_refused_inside_multi_and_doom_the_exec() {
    let mut t = TestServer::new();
    for cmd in [&["save"][..], &["sync"], &["psync", "?", "-1"]] {
        assert_eq!(t.cmd(&["multi"]), ok());
        assert_eq!(t.cmd(&["set", "k", "v"]), simple("QUEUED"));
        assert_eq!(
            t.cmd(cmd),
            err("ERR Command not allowed inside a transaction")
        );
        assert_eq!(
            t.cmd(&["exec"]),
            err("EXECABORT Transaction discarded because of previous errors.")
        );
    }
    assert_eq!(t.cmd(&["exists", "k"]), int(0));
    let Frame::Bulk(info) = t.cmd(&["info", "persistence"]) else {
        panic!("INFO replies a bulk string");
    };
    let info = String::from_utf8(info.to_vec()).unwrap();
    assert!(info.contains("\r\nrdb_saves:0\r\n"), "no save ran: {info}");
}

#[test]
fn multi_watch_discard_and_reset_act_at_once_inside_multi() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["multi"]), ok());
    assert_eq!(t.cmd(&["multi"]), err("ERR MULTI calls can not be nested"));
    assert_eq!(
        t.cmd(&["watch", "k"]),
        err("ERR WATCH inside MULTI is not allowed")
    );
    assert_eq!(t.cmd(&["discard"]), ok());
    assert_eq!(t.cmd(&["multi"]), ok());
    assert_eq!(t.cmd(&["reset"]), simple("RESET"));
    assert_eq!(t.cmd(&["exec"]), err("ERR EXEC without MULTI"));
}

#[test]
fn command_info_flags_no_multi_only_on_refused_commands() {
    let mut t = TestServer::new();
    let flags = |t: &mut TestServer, name: &str| -> Vec<Frame> {
        let Frame::Array(mut infos) = t.cmd(&["command", "info", name]) else {
            panic!("COMMAND INFO replies an array");
        };
        let Frame::Array(mut fields) = infos.remove(0) else {
            panic!("{name} is known");
        };
        let Frame::Array(flags) = fields.remove(2) else {
            panic!("flags are an array");
        };
        flags
    };
    assert!(flags(&mut t, "save").contains(&simple("no_multi")));
    for name in ["multi", "exec", "discard", "watch", "quit", "reset"] {
        assert!(!flags(&mut t, name).contains(&simple("no_multi")), "{name}");
    }
}

#[test]
fn config_rewrite_inside_exec_answers_in_its_place_once_the_file_is_written() {
    let mut t = with_config_file();
    t.hold_disk = true;
    queued(&mut t, &[&["config", "rewrite"], &["ping"]]);
    let mut pipeline = encode_command(&["exec"]);
    pipeline.extend_from_slice(&encode_command(&["echo", "after"]));
    t.send_raw(1, &pipeline);
    assert_eq!(t.reply(1), None, "nothing is complete before the write");
    assert_eq!(t.take_output(1), b"*2\r\n".to_vec());
    t.finish_disk();
    let mut rest = b"*2\r\n".to_vec();
    rest.extend(t.take_output(1));
    assert_eq!(rest, b"*2\r\n+OK\r\n+PONG\r\n$5\r\nafter\r\n".to_vec());
    assert!(t.disk.file("/redsim.conf").is_some());
}

#[test]
fn a_failed_config_rewrite_inside_exec_reports_its_error_in_its_place() {
    let mut t = with_config_file();
    t.disk
        .fail
        .store(true, std::sync::atomic::Ordering::Relaxed);
    queued(&mut t, &[&["config", "rewrite"], &["ping"]]);
    assert_eq!(
        t.cmd(&["exec"]),
        Frame::Array(vec![
            err("ERR Rewriting config file: No space left on device"),
            simple("PONG"),
        ])
    );
}

#[test]
fn two_config_rewrites_in_one_exec_both_answer_in_order() {
    let mut t = with_config_file();
    t.hold_disk = true;
    queued(
        &mut t,
        &[&["config", "rewrite"], &["config", "rewrite"], &["ping"]],
    );
    t.send_raw(1, &encode_command(&["exec"]));
    t.finish_disk();
    assert_eq!(
        t.reply(1),
        Some(Frame::Array(vec![ok(), ok(), simple("PONG")]))
    );
}

#[test]
fn wait_inside_exec_answers_at_once_instead_of_blocking() {
    let mut t = TestServer::new();
    queued(&mut t, &[&["wait", "1", "0"], &["ping"]]);
    assert_eq!(t.cmd(&["exec"]), Frame::Array(vec![int(0), simple("PONG")]));
}

#[test]
fn a_watched_key_whose_time_passes_fails_exec_but_a_stale_one_deleted_does_not() {
    let mut t = TestServer::new();
    t.cmd(&["debug", "set-active-expire", "0"]);
    t.cmd(&["set", "k", "v", "px", "100"]);
    t.cmd(&["watch", "k"]);
    t.advance_ms(150);
    queued(&mut t, &[&["ping"]]);
    assert_eq!(t.cmd(&["exec"]), Frame::NullArray);

    t.cmd(&["set", "stale", "v", "px", "1"]);
    t.advance_ms(10);
    t.cmd(&["watch", "stale", "missing"]);
    assert_eq!(t.cmd(&["exists", "stale"]), int(0));
    t.cmd(&["flushall"]);
    queued(&mut t, &[&["ping"]]);
    assert_eq!(t.cmd(&["exec"]), Frame::Array(vec![simple("PONG")]));
}

#[test]
fn exec_is_judged_by_its_queued_writes_and_a_refused_one_discards_the_transaction() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["set", "xx", "1"]), ok());
    queued(&mut t, &[&["incr", "xx"]]);
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["config", "set", "min-replicas-to-write", "2"]),
        ok()
    );
    assert_eq!(
        t.cmd(&["exec"]),
        err("EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.")
    );
    assert_eq!(t.cmd(&["get", "xx"]), bulk("1"), "the INCR did not run");
    assert_eq!(t.cmd(&["exec"]), err("ERR EXEC without MULTI"), "discarded");
    // A transaction of reads only is not a write.
    queued(&mut t, &[&["get", "xx"]]);
    assert_eq!(t.cmd(&["exec"]), Frame::Array(vec![bulk("1")]));
}

#[test]
fn appendonly_turned_on_inside_exec_schedules_its_rewrite_for_after_the_transaction() {
    let mut t = TestServer::new();
    let forks = |t: &mut TestServer| {
        let info = t.cmd_text(1, &["info", "stats"]);
        let line = info
            .lines()
            .find(|l| l.starts_with("total_forks:"))
            .map(str::to_owned);
        line.expect("total_forks in INFO stats")
    };
    assert_eq!(forks(&mut t), "total_forks:0");
    queued(
        &mut t,
        &[
            &["set", "foo", "bar"],
            &["config", "set", "appendonly", "yes"],
        ],
    );
    assert_eq!(t.cmd(&["exec"]), Frame::Array(vec![ok(), ok()]));
    let scheduled = "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.";
    assert!(t.logs().contains(&scheduled), "{:#?}", t.logs());
    assert_eq!(forks(&mut t), "total_forks:0", "not inside the transaction");
    t.advance_ms(200);
    assert_eq!(forks(&mut t), "total_forks:1", "the rewrite ran after it");
}
