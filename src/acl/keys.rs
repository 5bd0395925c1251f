//! What a call touches, for ACL checks: each key with the permissions it needs (Redis' key
//! specs: read for commands that return or use a key's data, write for those that change it),
//! and the channels pub/sub commands name.

use super::selector::{KEY_READ, KEY_WRITE};
use crate::commands::{flags, is, CommandSpec};
use bytes::Bytes;

/// Read-only commands that test a key's existence or size without reading its data: any
/// permission on the key lets them run (Redis' keys without the ACCESS flag).
const NO_ACCESS: &[&str] = &[
    "exists",
    "type",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "touch",
    "hexists",
    "hstrlen",
    "hlen",
    "sismember",
    "strlen",
    "llen",
    "scard",
    "zcard",
    "memory",
    "object",
];

/// Write commands that also return or use the data they change (read and write).
const READ_WRITE: &[&str] = &[
    "migrate",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "getset",
    "getdel",
    "getex",
    "lpop",
    "rpop",
    "lmpop",
    "blpop",
    "brpop",
    "blmpop",
    "spop",
    "zpopmin",
    "zpopmax",
    "bzpopmin",
    "bzpopmax",
    "zmpop",
    "bzmpop",
    "hincrby",
    "hincrbyfloat",
    "zincrby",
];

/// Write commands whose first key is a source (read and write) and whose second is written.
const MOVE_FROM_FIRST: &[&str] = &[
    "lmove",
    "blmove",
    "rpoplpush",
    "brpoplpush",
    "smove",
    "rename",
    "renamenx",
];

/// Write commands that store into their first key what they read from the others.
const STORE_FIRST: &[&str] = &[
    "sinterstore",
    "sunionstore",
    "sdiffstore",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zrangestore",
    "bitop",
];

/// The keys of a call (positions in `args`) with the permissions each needs.
pub fn keys(spec: &CommandSpec, args: &[Bytes]) -> Vec<(usize, u8)> {
    let positions = match spec.movable_keys {
        Some(f) => f(args),
        None if spec.first_key == 0 => Vec::new(),
        None => crate::commands::introspection::key_positions(spec, args.len()).unwrap_or_default(),
    };
    let name = spec.name;
    positions
        .iter()
        .enumerate()
        .map(|(n, &pos)| (pos, needed(spec, name, args, n)))
        .collect()
}

/// The permissions the `n`th key of a call needs.
fn needed(spec: &CommandSpec, name: &str, args: &[Bytes], n: usize) -> u8 {
    if spec.flags & flags::WRITE == 0 {
        return match NO_ACCESS.contains(&name) {
            true => 0,
            false => KEY_READ,
        };
    }
    let both = KEY_READ | KEY_WRITE;
    match name {
        _ if READ_WRITE.contains(&name) => both,
        _ if MOVE_FROM_FIRST.contains(&name) => [both, KEY_WRITE][n.min(1)],
        _ if STORE_FIRST.contains(&name) => [KEY_WRITE, KEY_READ][n.min(1)],
        "copy" => [KEY_READ, KEY_WRITE][n.min(1)],
        "sort" => [KEY_READ, KEY_WRITE][n.min(1)],
        "set" if args[3..].iter().any(|a| is(a, "get")) => both,
        "bitfield" if args[2..].iter().any(|a| is(a, "get")) => {
            let writes = args[2..].iter().any(|a| is(a, "set") || is(a, "incrby"));
            KEY_READ | if writes { KEY_WRITE } else { 0 }
        }
        _ => KEY_WRITE,
    }
}

/// The channels a pub/sub call names that ACLs check: (position, whether the argument is a
/// pattern matched literally against the user's channel patterns).
pub fn channels(name: &str, args: &[Bytes]) -> Vec<(usize, bool)> {
    match name {
        "subscribe" | "ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        "publish" | "spublish" => vec![(1, false)],
        _ => Vec::new(),
    }
}
