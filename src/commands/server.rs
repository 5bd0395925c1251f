//! Server commands: TIME, SHUTDOWN (its steps live in `core::shutdown`).

use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::shutdown::ShutdownFlags;
use crate::core::Server;

pub const COMMANDS: &[CommandSpec] = &[
    server("time", 1, LOADING | STALE | FAST, (0, 0, 0), time),
    server(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI,
        (0, 0, 0),
        shutdown,
    ),
];

/// TIME: unix seconds and the microseconds within that second, as bulk strings.
fn time(s: &mut Server, call: &Call) {
    let ms = call.now.unix_ms;
    let (secs, micros) = ((ms / 1000).to_string(), (ms % 1000 * 1000).to_string());
    s.reply(call.id).bulks([secs, micros].iter());
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the caller is blocked while lagging replicas
/// catch up and the final save runs (`core::shutdown`); it gets a reply only if the shutdown
/// fails. ABORT cancels a shutdown that waits for replicas.
fn shutdown(s: &mut Server, call: &Call) {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for a in &call.args[1..] {
        let flag = if is(a, "save") {
            &mut flags.save
        } else if is(a, "nosave") {
            &mut flags.nosave
        } else if is(a, "now") {
            &mut flags.now
        } else if is(a, "force") {
            &mut flags.force
        } else if is(a, "abort") {
            &mut abort
        } else {
            return s.reply(call.id).syntax();
        };
        *flag = true;
    }
    if (abort && flags != ShutdownFlags::default()) || (flags.save && flags.nosave) {
        return s.reply(call.id).syntax();
    }
    if abort {
        return if s.abort_shutdown(call.now) {
            s.reply(call.id).ok()
        } else {
            s.reply(call.id).error("ERR No shutdown in progress.")
        };
    }
    s.shutdown(call.now, Some(call.id), flags);
}

#[cfg(test)]
mod tests {
    use crate::core::testing::*;
    use crate::core::Action;
    use crate::resp::Frame;

    #[test]
    fn time_is_seconds_and_microseconds() {
        let mut t = TestServer::new();
        t.advance_ms(1234);
        assert_eq!(t.cmd(&["time"]), arr(&["1700000001", "234000"]));
        assert_eq!(
            t.cmd(&["time", "x"]),
            err("ERR wrong number of arguments for 'time' command")
        );
    }

    #[test]
    fn shutdown_logs_and_exits_without_replying() {
        let mut t = TestServer::new();
        t.send_raw(1, &crate::resp::encode_command(&["shutdown", "nosave"]));
        assert_eq!(t.reply(1), None);
        assert!(t.other_actions.contains(&Action::Exit { code: 0 }));
        let logged = t.logs();
        assert!(logged.ends_with(&[
            "User requested shutdown...",
            "Redis is now ready to exit, bye bye..."
        ]));
    }

    #[test]
    fn shutdown_abort_and_bad_options_are_errors() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["shutdown", "abort"]),
            err("ERR No shutdown in progress.")
        );
        assert_eq!(
            t.cmd(&["shutdown", "save", "nosave"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["shutdown", "abort", "now"]),
            err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["shutdown", "later"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["multi"]), ok());
        assert_eq!(
            t.cmd(&["shutdown"]),
            err("ERR Command not allowed inside a transaction")
        );
        assert!(matches!(t.cmd(&["exec"]), Frame::Error(e) if e.starts_with("EXECABORT")));
        assert!(!t
            .other_actions
            .iter()
            .any(|a| matches!(a, Action::Exit { .. })));
    }
}
