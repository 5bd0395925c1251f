//! SLOWLOG GET / LEN / RESET / HELP: the last `slowlog-max-len` commands that took at least
//! `slowlog-log-slower-than` microseconds. The core runs a command within one `now`, so a
//! command's duration is the time it keeps the server busy (DEBUG SLEEP), else 0.

use super::config::help;
use super::{flags::*, int_arg, server, Call, CommandSpec};
use crate::core::{ConnId, Now, Server};
use bytes::Bytes;
use std::collections::VecDeque;

pub const COMMANDS: &[CommandSpec] = &[server(
    "slowlog",
    -2,
    ADMIN | LOADING | STALE,
    (0, 0, 0),
    slowlog,
)];

pub(super) const SUBCOMMANDS: &[(&str, i32)] =
    &[("get", -2), ("len", 2), ("reset", 2), ("help", 2)];

/// Most arguments an entry keeps (the last one then says how many more there were).
const MAX_ARGS: usize = 32;
/// Longest argument an entry keeps whole.
const MAX_ARG_BYTES: usize = 128;
/// Commands never logged (Redis' `SKIP_SLOWLOG`, and those whose arguments are secrets).
const SKIPPED: &[&str] = &["exec", "auth", "hello", "migrate"];

const HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

struct Entry {
    id: u64,
    unix_s: u64,
    duration_us: u64,
    args: Vec<Bytes>,
    peer: String,
    name: Bytes,
}

/// The slow log, newest entry first.
#[derive(Default)]
pub struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// Logs client `id`'s command `args` if it took `duration_us` or more than the threshold.
pub fn record(s: &mut Server, id: ConnId, name: &str, args: &[Bytes], duration_us: u64, now: Now) {
    let threshold: i64 = s
        .config
        .noop
        .get("slowlog-log-slower-than")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    if threshold < 0 || (duration_us as i64) < threshold || SKIPPED.contains(&name) {
        return;
    }
    let max_len: usize = s
        .config
        .noop
        .get("slowlog-max-len")
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let Some(c) = s.clients.get(&id) else {
        return;
    };
    let entry = Entry {
        id: s.slowlog.next_id,
        unix_s: now.unix_ms / 1000,
        duration_us,
        args: kept_args(args),
        peer: c.peer.to_string(),
        name: c.name.clone().unwrap_or_default(),
    };
    let log = &mut s.slowlog;
    log.next_id += 1;
    log.entries.push_front(entry);
    log.entries.truncate(max_len);
}

/// An entry's copy of the arguments: at most `MAX_ARGS`, each cut at `MAX_ARG_BYTES`.
fn kept_args(args: &[Bytes]) -> Vec<Bytes> {
    let cut = |a: &Bytes| match a.len() > MAX_ARG_BYTES {
        true => {
            let more = format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES);
            Bytes::from([&a[..MAX_ARG_BYTES], more.as_bytes()].concat())
        }
        false => a.clone(),
    };
    if args.len() <= MAX_ARGS {
        return args.iter().map(cut).collect();
    }
    let mut kept: Vec<Bytes> = args[..MAX_ARGS - 1].iter().map(cut).collect();
    let more = args.len() - MAX_ARGS + 1;
    kept.push(Bytes::from(format!("... ({more} more arguments)")));
    kept
}

fn slowlog(s: &mut Server, call: &Call) {
    let Some(sub) = super::config::subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "get" => get(s, call),
        "len" => {
            let n = s.slowlog.entries.len() as i64;
            s.reply(call.id).int(n)
        }
        "reset" => {
            s.slowlog.entries.clear();
            s.reply(call.id).ok()
        }
        _ => help(s, call.id, "SLOWLOG", HELP),
    }
}

fn get(s: &mut Server, call: &Call) {
    let count = match call.args.get(2) {
        None => 10,
        Some(a) => {
            let mut out = s.reply(call.id);
            let Some(n) = int_arg(&mut out, a) else {
                return;
            };
            if n < -1 {
                return out.error("ERR count should be greater than or equal to -1");
            }
            if call.args.len() > 3 {
                return out.syntax();
            }
            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
    };
    // The entries step aside while the reply (which borrows the server) is written.
    let entries = std::mem::take(&mut s.slowlog.entries);
    let mut out = s.reply(call.id);
    out.array(entries.len().min(count));
    for e in entries.iter().take(count) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.unix_s as i64);
        out.int(e.duration_us as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(&e.name);
    }
    s.slowlog.entries = entries;
}
