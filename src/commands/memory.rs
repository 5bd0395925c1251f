//! MEMORY USAGE key [SAMPLES count] and MEMORY HELP.
//!
//! USAGE is the estimate the keyspace's byte count (INFO used_memory, maxmemory) is made of
//! (`db::memsize`): the key's sds, its dict entry and the value in its encoding. SAMPLES is
//! checked but every element is counted.

use super::config::{help, subcommand};
use super::{int_arg, is, server, Call, CommandSpec};
use crate::core::Server;
use crate::db::memsize;

pub const COMMANDS: &[CommandSpec] = &[server("memory", -2, 0, (0, 0, 0), memory)];

const SUBCOMMANDS: &[(&str, i32)] = &[("usage", -3), ("help", 2)];

const HELP: &[&str] = &[
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

fn memory(s: &mut Server, call: &Call) {
    match subcommand(s, call, SUBCOMMANDS) {
        Some("usage") => usage(s, call),
        Some(_) => help(s, call.id, "MEMORY", HELP),
        None => {}
    }
}

fn usage(s: &mut Server, call: &Call) {
    let args = call.args;
    match &args[3..] {
        [] => {}
        [word, n] if is(word, "samples") => {
            if int_arg(&mut s.reply(call.id), n).is_none() {
                return;
            }
        }
        _ => return s.reply(call.id).syntax(),
    }
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    let (now, mode) = (call.now.unix_ms, s.ks.mode);
    let size = s.ks.dbs[db]
        .get(&args[2], now, mode)
        .map(|e| memsize::entry_bytes(&args[2], e));
    let mut out = s.reply(call.id);
    match size {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testing::{err, TestServer};
    use crate::resp::Frame;

    #[test]
    fn memory_usage_estimates_a_key_and_nulls_a_missing_one() {
        let mut t = TestServer::new();
        t.cmd(&["set", "k", "hello"]);
        let Frame::Int(small) = t.cmd(&["memory", "usage", "k"]) else {
            panic!("integer expected");
        };
        t.cmd(&["set", "k", &"x".repeat(1000)]);
        let Frame::Int(big) = t.cmd(&["memory", "usage", "k", "samples", "0"]) else {
            panic!("integer expected");
        };
        assert!(small > 0 && big > small + 900);
        assert_eq!(t.cmd(&["memory", "usage", "missing"]), Frame::Null);
        assert_eq!(
            t.cmd(&["memory", "usage", "k", "foo"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["memory", "usage", "k", "samples", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["memory", "doctor"]),
            err("ERR unknown subcommand 'doctor'. Try MEMORY HELP.")
        );
    }
}
