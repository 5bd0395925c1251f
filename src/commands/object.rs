//! OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP: what Redis would say about a key's
//! representation (see `db/encoding.rs`), and the hook that records encodings after each write.

use super::config::help;
use super::{flags::*, is, server, Call, CommandSpec};
use crate::config::Config;
use crate::core::{ConnId, Now, Server};
use crate::db::{canonical_int, Encoding, EncodingLimits, Entry, Value};
use bytes::Bytes;
use std::collections::BTreeMap;

pub const COMMANDS: &[CommandSpec] = &[server("object", -2, READONLY, (2, 2, 1), object)];

const HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// Redis' refcount of its shared small integers (OBJ_SHARED_REFCOUNT).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Integers Redis shares instead of allocating (OBJ_SHARED_INTEGERS).
const SHARED_INTEGERS: i64 = 10_000;

const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// The current encoding thresholds from the config.
pub fn limits(c: &Config) -> EncodingLimits {
    c.encoding_limits
}

/// The encoding thresholds the `noop` directives set (`Config::encoding_limits` keeps them, as
/// every write needs them).
pub fn encoding_limits(noop: &BTreeMap<String, String>) -> EncodingLimits {
    let num = |name: &str, default: i64| -> i64 {
        noop.get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let d = EncodingLimits::default();
    let count = |name: &str, default: u64| num(name, default as i64).max(0) as u64;
    EncodingLimits {
        hash_entries: count("hash-max-listpack-entries", d.hash_entries),
        hash_value: count("hash-max-listpack-value", d.hash_value),
        set_intset_entries: count("set-max-intset-entries", d.set_intset_entries),
        set_entries: count("set-max-listpack-entries", d.set_entries),
        set_value: count("set-max-listpack-value", d.set_value),
        zset_entries: count("zset-max-listpack-entries", d.zset_entries),
        zset_value: count("zset-max-listpack-value", d.zset_value),
        list_size: num("list-max-listpack-size", d.list_size),
    }
}

/// After a data command changed the dataset: the keys it names (by its key positions) settle
/// their encoding and access time; on a writable replica, keys its own clients gave a time to
/// live are remembered for expiring them (the master will not).
pub fn note_written(
    s: &mut Server,
    id: ConnId,
    db: usize,
    spec: &CommandSpec,
    args: &[Bytes],
    now: Now,
) {
    let limits = limits(&s.config);
    let own = s.is_replica() && id != crate::core::replication::MASTER_CLIENT_ID;
    for key in keys_of(spec, args) {
        let db = &mut s.ks.dbs[db];
        db.written(key, now.unix_ms, &limits);
        if own && db.raw(key).is_some_and(|e| e.expire_at_ms.is_some()) {
            db.remember_own_expire(key);
        }
    }
}

/// The key arguments of a call, by its command's key positions.
pub fn keys_of<'a>(spec: &CommandSpec, args: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
    let (first, step) = (spec.first_key.max(0) as usize, spec.step.max(1) as usize);
    let last = match spec.last_key {
        l if l < 0 => args.len() as i64 + l as i64,
        l => l as i64,
    };
    let end = if first == 0 {
        0
    } else {
        (last + 1).clamp(0, args.len() as i64) as usize
    };
    args.get(first.min(end)..end)
        .unwrap_or_default()
        .iter()
        .step_by(step)
}

fn lfu_policy(c: &Config) -> bool {
    c.noop
        .get("maxmemory-policy")
        .is_some_and(|p| p.ends_with("-lfu"))
}

/// The number of references Redis reports: shared small integers have the shared count (values
/// written under maxmemory with an LRU/LFU policy are never shared).
pub fn refcount(e: &Entry, limits: &EncodingLimits) -> i64 {
    match &e.value {
        Value::Str(v)
            if e.encoding(limits) == Encoding::Int && canonical_int(v) && e.meta.shared_int =>
        {
            let n: i64 = std::str::from_utf8(v)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(-1);
            if (0..SHARED_INTEGERS).contains(&n) {
                SHARED_REFCOUNT
            } else {
                1
            }
        }
        _ => 1,
    }
}

fn object(s: &mut Server, call: &Call) {
    let args = call.args;
    if args.len() == 2 && is(&args[1], "help") {
        return help(s, call.id, "OBJECT", HELP);
    }
    let known = ["refcount", "encoding", "idletime", "freq"];
    let Some(sub) = known
        .iter()
        .find(|k| is(&args[1], k))
        .filter(|_| args.len() == 3)
    else {
        return subcommand_syntax_error(s, call, "OBJECT");
    };
    let limits = limits(&s.config);
    let lfu = lfu_policy(&s.config);
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    let now_ms = call.now.unix_ms;
    let d = &s.ks.dbs[db];
    let found = d.peek(&args[2], now_ms, s.ks.mode).map(|e| {
        let freq = d.access.decayed(&e.meta, now_ms);
        (
            e.encoding(&limits),
            refcount(e, &limits),
            e.meta.access_ms,
            freq,
        )
    });
    let mut out = s.reply(call.id);
    let Some((encoding, refs, access_ms, freq)) = found else {
        return out.null();
    };
    match *sub {
        "refcount" => out.int(refs),
        "encoding" => out.bulk(encoding.name().as_bytes()),
        "idletime" if lfu => out.error(LFU_SELECTED),
        "idletime" => out.int((now_ms.saturating_sub(access_ms) / 1000) as i64),
        "freq" if !lfu => out.error(LFU_NOT_SELECTED),
        _ => out.int(freq as i64),
    }
}

/// Redis' reply to an unknown subcommand or a known one with the wrong argument count.
pub fn subcommand_syntax_error(s: &mut Server, call: &Call, container: &str) {
    let given: String = String::from_utf8_lossy(&call.args[1])
        .chars()
        .take(128)
        .collect();
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{given}'. Try {container} HELP."
    );
    s.reply(call.id).error(&msg);
}

#[cfg(test)]
mod tests {
    use crate::core::testing::{bulk, err, int, TestServer};
    use crate::resp::Frame;

    #[test]
    fn object_encoding_shows_what_redis_would_use() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "n", "12345"]);
        t.cmd(&["SET", "s", "hello"]);
        t.cmd(&["RPUSH", "l", "a", "b"]);
        t.cmd(&["SADD", "i", "1", "2"]);
        t.cmd(&["SADD", "m", "1", "x"]);
        t.cmd(&["HSET", "h", "f", "v"]);
        t.cmd(&["ZADD", "z", "1", "a"]);
        for (key, enc) in [
            ("n", "int"),
            ("s", "embstr"),
            ("l", "listpack"),
            ("i", "intset"),
            ("m", "listpack"),
            ("h", "listpack"),
            ("z", "listpack"),
        ] {
            assert_eq!(t.cmd(&["OBJECT", "ENCODING", key]), bulk(enc), "{key}");
        }
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "nosuch"]), Frame::Null);
    }

    #[test]
    fn a_hash_past_its_limit_stays_a_hashtable_after_shrinking() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
        t.cmd(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
        t.cmd(&["HDEL", "h", "b"]);
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    }

    #[test]
    fn idletime_counts_seconds_since_the_last_access() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "k", "v"]);
        t.advance_ms(3_000);
        assert_eq!(t.cmd(&["OBJECT", "IDLETIME", "k"]), int(3));
        t.cmd(&["GET", "k"]);
        assert_eq!(t.cmd(&["OBJECT", "IDLETIME", "k"]), int(0));
        assert_eq!(t.cmd(&["OBJECT", "REFCOUNT", "k"]), int(1));
        assert_eq!(
            t.cmd(&["OBJECT", "FREQ", "k"]),
            err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        );
        assert_eq!(
            t.cmd(&["OBJECT", "NOPE", "k"]),
            err("ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try OBJECT HELP.")
        );
    }
}
