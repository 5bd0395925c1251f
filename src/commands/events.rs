//! The keyspace events of the write commands that fire them the same way each time: named events
//! on some of the command's keys once it changed the dataset (Redis' `notifyKeyspaceEvent` calls
//! in t_*.c, expire.c, bitops.c, hyperloglog.c). Commands whose events depend on what they did
//! call `Cx::notify` themselves (SET's `expire`, GETEX, RENAME, MOVE, COPY, the SORT and GEO
//! stores, stream consumers created on the fly). Around every write `core::notify` also fires
//! `new` for the keys it created and `del` for the keys it emptied.

use super::{is, CommandSpec};
use crate::db::notify::{GENERIC, HASH, LIST, SET, STREAM, STRING, ZSET};
use bytes::Bytes;

/// Which key an event is about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The command's n-th key.
    Key(usize),
    /// Each of its keys.
    All,
    /// The key its effect names (LMPOP and ZMPOP pop from the first non-empty of their keys).
    Effect,
}

/// One event a command fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fire {
    pub class: u32,
    pub event: &'static str,
    pub target: Target,
    /// Only if the key exists afterwards: a store with an empty result and an expiry in the
    /// past delete their key and report only `del`.
    pub live: bool,
}

const fn on(class: u32, event: &'static str, target: Target) -> Fire {
    Fire {
        class,
        event,
        target,
        live: false,
    }
}

const fn stored(class: u32, event: &'static str) -> Fire {
    Fire {
        live: true,
        ..on(class, event, Target::Key(0))
    }
}

/// The events `spec` fires when called with `args` and it changed the dataset, in Redis' order.
pub fn fires(spec: &CommandSpec, args: &[Bytes]) -> Vec<Fire> {
    use Target::*;
    let name = spec.name;
    let first = |class, event| vec![on(class, event, Key(0))];
    match name {
        "setbit" | "bitfield" => first(STRING, "setbit"),
        "bitop" => vec![stored(STRING, "set")],
        "pfadd" | "pfmerge" => first(STRING, "pfadd"),
        "getset" => first(STRING, "set"),
        "mset" | "msetnx" => vec![on(STRING, "set", All)],
        "incr" | "incrby" => first(STRING, "incrby"),
        "decr" | "decrby" => first(STRING, "decrby"),
        "append" | "setrange" | "incrbyfloat" => first(STRING, name),
        "expire" | "pexpire" | "expireat" | "pexpireat" => vec![stored(GENERIC, "expire")],
        "persist" | "restore" => first(GENERIC, name),
        "lpush" | "lpushx" => first(LIST, "lpush"),
        "rpush" | "rpushx" => first(LIST, "rpush"),
        "lpop" | "rpop" | "lset" | "lrem" | "ltrim" | "linsert" => first(LIST, name),
        "rpoplpush" => vec![on(LIST, "lpush", Key(1)), on(LIST, "rpop", Key(0))],
        "lmove" => vec![
            on(LIST, end(&args[4], "lpush", "rpush"), Key(1)),
            on(LIST, end(&args[3], "lpop", "rpop"), Key(0)),
        ],
        "lmpop" => vec![on(LIST, mpop_side(args, "lpop", "rpop"), Effect)],
        "sadd" | "srem" | "spop" => first(SET, name),
        "smove" => vec![on(SET, "srem", Key(0)), on(SET, "sadd", Key(1))],
        "sinterstore" | "sunionstore" | "sdiffstore" => vec![stored(SET, name)],
        "hset" | "hsetnx" | "hmset" => first(HASH, "hset"),
        "hdel" | "hincrby" | "hincrbyfloat" => first(HASH, name),
        "zadd" if args[2..].iter().any(|a| is(a, "incr")) => first(ZSET, "zincr"),
        "zadd" | "geoadd" => first(ZSET, "zadd"),
        "zincrby" => first(ZSET, "zincr"),
        "zrem" | "zpopmin" | "zpopmax" | "zremrangebyrank" | "zremrangebyscore"
        | "zremrangebylex" => first(ZSET, name),
        "zmpop" => vec![on(ZSET, mpop_side(args, "zpopmin", "zpopmax"), Effect)],
        "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" => vec![stored(ZSET, name)],
        "xadd" | "xtrim" | "xdel" | "xsetid" => first(STREAM, name),
        "xgroup" => xgroup_event(&args[1]).map_or_else(Vec::new, |e| first(STREAM, e)),
        _ => Vec::new(),
    }
}

/// `left` for LEFT, else `right`.
fn end(word: &[u8], left: &'static str, right: &'static str) -> &'static str {
    if is(word, "left") || is(word, "min") {
        left
    } else {
        right
    }
}

/// The side word of `LMPOP/ZMPOP numkeys key... SIDE`.
fn mpop_side(args: &[Bytes], first: &'static str, second: &'static str) -> &'static str {
    let numkeys = crate::resp::parse_i64(&args[1]).unwrap_or(0).max(0) as usize;
    let side = numkeys.checked_add(2).and_then(|i| args.get(i));
    end(side.map_or(&b""[..], |s| s), first, second)
}

fn xgroup_event(sub: &[u8]) -> Option<&'static str> {
    [
        ("create", "xgroup-create"),
        ("setid", "xgroup-setid"),
        ("destroy", "xgroup-destroy"),
        ("createconsumer", "xgroup-createconsumer"),
        ("delconsumer", "xgroup-delconsumer"),
    ]
    .into_iter()
    .find(|(word, _)| is(sub, word))
    .map(|(_, event)| event)
}
