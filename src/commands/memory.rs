//! MEMORY USAGE key [SAMPLES count] and MEMORY HELP.
//!
//! Values are ordinary Rust collections here, so USAGE is an estimate in the spirit of Redis'
//! `objectComputeSize`: the key, an object header, and per element its bytes plus a fixed
//! bookkeeping cost of the structure Redis would use. SAMPLES is checked but every element is
//! counted (the estimate is cheap next to the value it measures).

use super::config::{help, subcommand};
use super::{int_arg, is, server, Call, CommandSpec};
use crate::core::Server;
use crate::db::{Entry, Value};

pub const COMMANDS: &[CommandSpec] = &[server("memory", -2, 0, (0, 0, 0), memory)];

const SUBCOMMANDS: &[(&str, i32)] = &[("usage", -3), ("help", 2)];

const HELP: &[&str] = &[
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Bytes of an object header (Redis' robj) and of one dictionary entry.
const OBJECT: usize = 16;
const DICT_ENTRY: usize = 24;

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
        .map(|e| estimate(&args[2], e));
    let mut out = s.reply(call.id);
    match size {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

/// The estimated bytes `key` and its value take.
fn estimate(key: &[u8], e: &Entry) -> usize {
    let per = |len: usize, overhead: usize| len + overhead;
    let value = match &e.value {
        Value::Str(v) => per(v.len(), 8),
        Value::List(l) => l.iter().map(|v| per(v.len(), 11)).sum(),
        Value::Hash(h) => h
            .iter()
            .map(|(f, v)| per(f.len() + v.len(), DICT_ENTRY))
            .sum(),
        Value::Set(m) => m.iter().map(|v| per(v.len(), DICT_ENTRY)).sum(),
        Value::ZSet(z) => z.scores.keys().map(|v| per(v.len(), DICT_ENTRY + 24)).sum(),
        Value::Stream(st) => st.nodes.values().map(crate::rdb::stream_node_bytes).sum(),
    };
    OBJECT + DICT_ENTRY + key.len() + value
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
