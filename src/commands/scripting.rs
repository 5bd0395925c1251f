//! EVAL scripts: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD / EXISTS / FLUSH / KILL /
//! HELP. The Lua side is in `crate::scripting`.
//!
//! Replicas and the AOF never see EVAL: they get the commands the script ran (`scripting::run`).

use super::config::{help, subcommand};
use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::Server;
use crate::scripting::run::{self, Job};
use bytes::Bytes;

const EVAL_FLAGS: u32 = NOSCRIPT | STALE | MAY_REPLICATE;
const EVAL_RO_FLAGS: u32 = NOSCRIPT | STALE | READONLY;

pub const COMMANDS: &[CommandSpec] = &[
    server("eval", -3, EVAL_FLAGS, (0, 0, 0), eval).movable(script_keys),
    server("evalsha", -3, EVAL_FLAGS, (0, 0, 0), evalsha).movable(script_keys),
    server("eval_ro", -3, EVAL_RO_FLAGS, (0, 0, 0), eval_ro).movable(script_keys),
    server("evalsha_ro", -3, EVAL_RO_FLAGS, (0, 0, 0), evalsha_ro).movable(script_keys),
    server("script", -2, NOSCRIPT, (0, 0, 0), script),
];

pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("load", 3),
    ("exists", -3),
    ("flush", -2),
    ("kill", 2),
    ("debug", 3),
    ("help", 2),
];

pub const NOSCRIPT_ERROR: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// EVAL and FCALL keys: `name script|function numkeys key...`.
pub fn script_keys(args: &[Bytes]) -> Vec<usize> {
    let n = args
        .get(2)
        .and_then(|a| crate::resp::parse_i64(a))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| 3 + n <= args.len())
        .unwrap_or(0);
    (3..3 + n).collect()
}

/// The `numkeys` argument checked as Redis does (`not_int`: the error for a non-integer);
/// `None`: the error was replied.
pub fn numkeys(s: &mut Server, call: &Call, not_int: &str) -> Option<usize> {
    let Some(n) = crate::resp::parse_i64(&call.args[2]) else {
        s.reply(call.id).error(not_int);
        return None;
    };
    if n > call.args.len() as i64 - 3 {
        s.reply(call.id)
            .error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if n < 0 {
        s.reply(call.id)
            .error("ERR Number of keys can't be negative");
        return None;
    }
    Some(n as usize)
}

fn eval(s: &mut Server, call: &Call) {
    run_script(s, call, false, false);
}

fn evalsha(s: &mut Server, call: &Call) {
    run_script(s, call, true, false);
}

fn eval_ro(s: &mut Server, call: &Call) {
    run_script(s, call, false, true);
}

fn evalsha_ro(s: &mut Server, call: &Call) {
    run_script(s, call, true, true);
}

fn run_script(s: &mut Server, call: &Call, by_sha: bool, ro: bool) {
    let Some(n) = numkeys(s, call, "ERR value is not an integer or out of range") else {
        return;
    };
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(&call.args[1]).to_ascii_lowercase();
        if sha.len() != 40 || !s.scripting.scripts.contains_key(&sha) {
            return s.reply(call.id).error(NOSCRIPT_ERROR);
        }
        sha
    } else {
        match s.scripting.create(&call.args[1]) {
            Ok(sha) => sha,
            Err(e) => return s.reply(call.id).error(&e),
        }
    };
    let script = &s.scripting.scripts[&sha];
    let job = Job {
        func: script.func.clone(),
        name: &sha,
        keys: &call.args[3..3 + n],
        args: &call.args[3 + n..],
        flags: script.flags,
        eval: true,
        ro,
    };
    let engine = s.scripting.eval.clone();
    run::run(s, &engine, call, job);
}

fn script(s: &mut Server, call: &Call) {
    let Some(sub) = subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "load" => match s.scripting.create(&call.args[2]) {
            Ok(sha) => s.reply(call.id).bulk(sha.as_bytes()),
            Err(e) => s.reply(call.id).error(&e),
        },
        "exists" => {
            let found: Vec<bool> = call.args[2..]
                .iter()
                .map(|sha| {
                    let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                    s.scripting.scripts.contains_key(&sha)
                })
                .collect();
            let mut out = s.reply(call.id);
            out.array(found.len());
            for f in found {
                out.int(i64::from(f));
            }
        }
        "flush" => flush(s, call),
        "kill" => s
            .reply(call.id)
            .error("NOTBUSY No scripts in execution right now."),
        "debug" => s
            .reply(call.id)
            .error("ERR SCRIPT DEBUG is not supported by this server"),
        _ => help(s, call.id, "SCRIPT", HELP),
    }
}

fn flush(s: &mut Server, call: &Call) {
    if !flush_mode_ok(call) {
        return s
            .reply(call.id)
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    s.scripting.flush_scripts();
    s.reply(call.id).ok();
}

/// SCRIPT FLUSH and FUNCTION FLUSH take an optional SYNC or ASYNC (both flush at once here).
pub fn flush_mode_ok(call: &Call) -> bool {
    match call.args.get(2) {
        Some(mode) => call.args.len() == 3 && (is(mode, "sync") || is(mode, "async")),
        None => true,
    }
}

const HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];
