//! Stories of a MONITOR client: what it sees of other clients' commands, scripts and
//! transactions, and what it never sees.

use crate::core::testing::*;

/// Client 2 monitors; returns its lines so far after `f` ran as client 1.
fn monitored(t: &mut TestServer, f: impl FnOnce(&mut TestServer)) -> Vec<String> {
    f(t);
    let out = String::from_utf8(t.take_output(2)).expect("text");
    out.lines().map(str::to_owned).collect()
}

fn monitoring() -> TestServer {
    let mut t = TestServer::new();
    t.connect(2);
    assert_eq!(t.cmd_as(2, &["monitor"]), ok());
    t
}

/// The part of a monitor line after its time stamp.
fn shown(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

#[test]
fn a_monitor_sees_each_command_with_its_database_and_client_after_it_ran() {
    let mut t = monitoring();
    let lines = monitored(&mut t, |t| {
        t.cmd(&["set", "foo", "bar baz"]);
        t.cmd(&["get", "foo"]);
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with('+') && lines[0].contains('.'),
        "{lines:?}"
    );
    assert_eq!(
        shown(&lines[0]),
        r#"[0 127.0.0.1:40001] "set" "foo" "bar baz""#
    );
    assert_eq!(shown(&lines[1]), r#"[0 127.0.0.1:40001] "get" "foo""#);
    assert!(t.cmd_text(1, &["client", "list"]).contains("flags=O"));
}

#[test]
fn a_script_shows_before_the_commands_it_runs_and_those_show_as_lua() {
    let mut t = monitoring();
    let lines = monitored(&mut t, |t| {
        t.cmd(&[
            "eval",
            "redis.call('set', KEYS[1], ARGV[1])",
            "1",
            "foo",
            "bar",
        ]);
    });
    assert!(shown(&lines[0]).contains(r#""eval""#), "{lines:?}");
    assert_eq!(shown(&lines[1]), r#"[0 lua] "set" "foo" "bar""#);
}

#[test]
fn secrets_are_redacted_and_admin_commands_not_shown() {
    let mut t = monitoring();
    let lines = monitored(&mut t, |t| {
        t.cmd(&["auth", "someone", "not-a-password"]);
        t.cmd(&["hello", "2", "AUTH", "someone", "not-a-password"]);
        t.cmd(&["config", "set", "requirepass", "secret"]);
        t.cmd(&["debug", "set-active-expire", "1"]);
    });
    assert_eq!(
        lines.len(),
        2,
        "CONFIG and DEBUG are admin commands: {lines:?}"
    );
    assert_eq!(
        shown(&lines[0]),
        r#"[0 127.0.0.1:40001] "auth" "(redacted)" "(redacted)""#
    );
    assert_eq!(
        shown(&lines[1]),
        r#"[0 127.0.0.1:40001] "hello" "2" "AUTH" "(redacted)" "(redacted)""#
    );
}

#[test]
fn a_transaction_shows_multi_its_commands_as_they_run_then_exec() {
    let mut t = monitoring();
    let lines = monitored(&mut t, |t| {
        t.cmd(&["multi"]);
        t.cmd(&["set", "foo", "bar"]);
        t.cmd(&["exec"]);
        t.cmd(&["multi"]);
        t.cmd(&["nosuchcommand"]);
        t.cmd(&["exec"]);
    });
    let shown: Vec<&str> = lines.iter().map(|l| shown(l)).collect();
    let client = "[0 127.0.0.1:40001]";
    assert_eq!(
        shown,
        [
            format!(r#"{client} "multi""#),
            format!(r#"{client} "set" "foo" "bar""#),
            format!(r#"{client} "exec""#),
            format!(r#"{client} "multi""#),
            format!(r#"{client} "exec""#),
        ]
    );
}
