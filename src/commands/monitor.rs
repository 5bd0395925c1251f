//! MONITOR: clients that see every command the server runs, in the line Redis'
//! `replicationFeedMonitors` writes: `+<unix time, µs> [<db> <peer>] "arg" ...` (`[<db> lua]`
//! for the commands a script runs). Admin commands are not shown, secrets are redacted, and
//! EVAL/FCALL show before the commands their script runs (the others after they ran).

use super::{flags::*, server, Call, CommandSpec};
use crate::core::{ConnId, Now, Server};
use crate::scripting::run::SCRIPT_CLIENT_ID;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[server(
    "monitor",
    1,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    monitor,
)];

/// Shown to monitors before it runs (Redis' SKIP_MONITOR commands, which feed themselves).
const SHOWN_BEFORE: &[&str] = &[
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
];
/// Configs whose values CONFIG SET never shows.
const SENSITIVE_CONFIGS: &[&[u8]] = &[b"requirepass", b"masterauth"];

fn monitor(s: &mut Server, call: &Call) {
    let c = s.clients.get_mut(&call.id).expect("caller");
    // A replica, or a client already monitoring, gets no reply (as in Redis).
    if c.replica || c.monitor {
        return;
    }
    c.monitor = true;
    s.monitors.insert(call.id);
    s.reply(call.id).ok();
}

/// Is `spec` shown before it runs rather than after?
pub(crate) fn shown_before(spec: &CommandSpec) -> bool {
    SHOWN_BEFORE.contains(&spec.name)
}

/// Which arguments of `args` are secrets.
fn redacted(name: &str, args: &[Bytes]) -> Vec<bool> {
    let mut hide = vec![false; args.len()];
    let mut hide_after = |at: usize, n: usize| {
        for h in hide.iter_mut().skip(at + 1).take(n) {
            *h = true;
        }
    };
    let token = |i: usize| args[i].to_ascii_lowercase();
    match name {
        "auth" => hide_after(0, args.len()),
        "hello" | "migrate" => {
            for i in 0..args.len() {
                match token(i).as_slice() {
                    b"auth" if name == "hello" => hide_after(i, 2),
                    b"auth" => hide_after(i, 1),
                    b"auth2" if name == "migrate" => hide_after(i, 2),
                    _ => {}
                }
            }
        }
        "config" if args.len() > 1 && token(1) == b"set" => {
            for i in (2..args.len()).step_by(2) {
                if SENSITIVE_CONFIGS.contains(&token(i).as_slice()) {
                    hide_after(i, 1);
                }
            }
        }
        _ => {}
    }
    hide
}

/// Shows client `id`'s command `args` to every monitor.
pub(crate) fn feed(s: &mut Server, id: ConnId, spec: &CommandSpec, args: &[Bytes], now: Now) {
    if s.monitors.is_empty() || s.replaying || s.persist.loading || spec.flags & ADMIN != 0 {
        return;
    }
    let Some(c) = s.clients.get(&id) else {
        return;
    };
    let origin = match id {
        SCRIPT_CLIENT_ID => "lua".to_string(),
        _ => c.peer.to_string(),
    };
    let (secs, micros) = (now.unix_ms / 1000, now.unix_ms % 1000 * 1000);
    let mut line = format!("+{secs}.{micros:06} [{} {origin}]", c.db);
    for (arg, hide) in args.iter().zip(redacted(spec.name, args)) {
        line.push(' ');
        match hide {
            true => line.push_str("\"(redacted)\""),
            false => line.push_str(&crate::text::repr_arg(arg)),
        }
    }
    line.push_str("\r\n");
    let monitors: Vec<ConnId> = s.monitors.iter().copied().collect();
    for m in monitors {
        s.reply(m).raw(line.as_bytes());
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
