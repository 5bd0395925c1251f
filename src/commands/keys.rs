//! Keyspace commands that work on keys of any type: DEL, UNLINK, EXISTS, TOUCH, TYPE, KEYS, SCAN,
//! RANDOMKEY, DBSIZE, RENAME, RENAMENX, MOVE, COPY, SWAPDB, FLUSHDB and FLUSHALL (SCAN's handler is in `scan`). The expiry
//! commands (EXPIRE, TTL, PERSIST, ...) live in `expire`.
//!
//! Also the lookup helpers other families share: `peek` (a write command's lookup, not counted
//! in keyspace hits/misses) and `already_expired` (Redis' rule for times in the past).

mod expire;
#[cfg(test)]
mod expire_tests;
#[cfg(test)]
pub(super) mod tests;

use super::{data, flags::*, int_arg, is, CommandSpec, Cx, Propagate};
use crate::db::{notify, Entry, ExpiryMode};
use crate::text::glob_match;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("del", -2, WRITE, (1, -1, 1), del),
    data("unlink", -2, WRITE | FAST, (1, -1, 1), del),
    data("exists", -2, READONLY | FAST, (1, -1, 1), exists),
    data("touch", -2, READONLY | FAST, (1, -1, 1), exists),
    data("type", 2, READONLY | FAST, (1, 1, 1), type_of),
    data("keys", 2, READONLY, (0, 0, 0), keys),
    data("scan", -2, READONLY, (0, 0, 0), super::scan::scan),
    data("randomkey", 1, READONLY, (0, 0, 0), randomkey),
    data("dbsize", 1, READONLY | FAST, (0, 0, 0), dbsize),
    data("rename", 3, WRITE, (1, 2, 1), rename),
    data("renamenx", 3, WRITE | FAST, (1, 2, 1), renamenx),
    data("move", 3, WRITE | FAST, (1, 1, 1), move_key),
    data("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy),
    data("swapdb", 3, WRITE | FAST, (0, 0, 0), swapdb),
    data("flushdb", -1, WRITE, (0, 0, 0), flushdb),
    data("flushall", -1, WRITE, (0, 0, 0), flushall),
    data("expire", -3, WRITE | FAST, (1, 1, 1), expire::expire),
    data("pexpire", -3, WRITE | FAST, (1, 1, 1), expire::pexpire),
    data("expireat", -3, WRITE | FAST, (1, 1, 1), expire::expireat),
    data("pexpireat", -3, WRITE | FAST, (1, 1, 1), expire::pexpireat),
    data("ttl", 2, READONLY | FAST, (1, 1, 1), expire::ttl),
    data("pttl", 2, READONLY | FAST, (1, 1, 1), expire::pttl),
    data(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        expire::expiretime,
    ),
    data(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        expire::pexpiretime,
    ),
    data("persist", 2, WRITE | FAST, (1, 1, 1), expire::persist),
];

/// Looks a key up for a write command: lazy expiry applies, keyspace hits/misses are not counted.
pub(super) fn peek<'a>(cx: &'a mut Cx, key: &[u8]) -> Option<&'a Entry> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    cx.db().get(key, now, mode)
}

/// Redis' `checkAlreadyExpired`: a master turns an expiry time already past into a delete; a
/// replica keeps the key and waits for its master's DEL.
pub(super) fn already_expired(cx: &Cx, when_ms: i64) -> bool {
    when_ms <= cx.now_ms() as i64 && cx.mode() == ExpiryMode::Delete
}

/// Replaces what a command propagates with a single command.
pub(super) fn propagate_as(cx: &mut Cx, args: Vec<Bytes>) {
    cx.propagate = Propagate::Replace(vec![args]);
}

/// A fixed word of a propagated command (`SET`, `PXAT`, `DEL`, ...).
pub(super) fn word(w: &'static str) -> Bytes {
    Bytes::from_static(w.as_bytes())
}

/// Removes `key` from the selected database, returning its entry if it existed.
fn remove(cx: &mut Cx, key: &[u8]) -> Option<Entry> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    cx.db().remove(key, now, mode)
}

const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// Parses a database number as MOVE and COPY do, replying Redis' error if it is not one.
fn db_index_arg(cx: &mut Cx, arg: &[u8]) -> Option<usize> {
    let n = int_arg(&mut cx.out, arg)?;
    if i32::try_from(n).is_err() {
        let msg = format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        );
        cx.out.error(&msg);
        return None;
    }
    if n < 0 || n as usize >= cx.ks.dbs.len() {
        cx.out.error("ERR DB index is out of range");
        return None;
    }
    Some(n as usize)
}

// ---- existence and type --------------------------------------------------------------------

/// DEL and UNLINK (freeing is immediate either way).
fn del(cx: &mut Cx, args: &[Bytes]) {
    let mut n = 0;
    for key in &args[1..] {
        if remove(cx, key).is_some() {
            n += 1;
        }
    }
    cx.dirty += n;
    cx.out.int(n as i64);
}

/// EXISTS and TOUCH: how many of the keys exist, repeats counted.
fn exists(cx: &mut Cx, args: &[Bytes]) {
    let n = args[1..].iter().filter(|k| cx.read(k).is_some()).count();
    cx.out.int(n as i64);
}

fn type_of(cx: &mut Cx, args: &[Bytes]) {
    let name = cx.read(&args[1]).map_or("none", |e| e.value.type_name());
    cx.out.simple(name);
}

// ---- enumeration ---------------------------------------------------------------------------

fn keys(cx: &mut Cx, args: &[Bytes]) {
    let pattern = &args[1];
    let all = &pattern[..] == b"*";
    let now = cx.now_ms();
    let found: Vec<Bytes> = cx
        .db()
        .iter_live(now)
        .filter(|(k, _)| all || glob_match(pattern, k, false))
        .map(|(k, _)| Bytes::copy_from_slice(k))
        .collect();
    // Like Redis, stop writing once the client is over its output limit (it will be closed).
    cx.out.array(found.len());
    for k in &found {
        if cx.out.full() {
            break;
        }
        cx.out.bulk(k);
    }
}

fn randomkey(cx: &mut Cx, _args: &[Bytes]) {
    let r = cx.random_u64();
    let now = cx.now_ms();
    let key = cx.db().random_key(r, now);
    cx.out.bulk_opt(key.as_deref());
}

fn dbsize(cx: &mut Cx, _args: &[Bytes]) {
    let n = cx.db().len();
    cx.out.int(n as i64);
}

// ---- renaming and moving -------------------------------------------------------------------

/// RENAME and RENAMENX: the value moves with its TTL.
fn rename_generic(cx: &mut Cx, args: &[Bytes], nx: bool) {
    let (src, dst) = (&args[1], &args[2]);
    if peek(cx, src).is_none() {
        return cx.out.error("ERR no such key");
    }
    let refused = src == dst || (nx && peek(cx, dst).is_some());
    if !refused {
        if let Some(e) = remove(cx, src) {
            cx.db().insert(dst.clone(), e.value, e.expire_at_ms);
            cx.dirty += 1;
            cx.notify(notify::GENERIC, "rename_from", src);
            cx.notify(notify::GENERIC, "rename_to", dst);
        }
    }
    match (nx, refused) {
        (false, _) => cx.out.ok(),
        (true, refused) => cx.out.int(i64::from(!refused)),
    }
}

fn rename(cx: &mut Cx, args: &[Bytes]) {
    rename_generic(cx, args, false);
}

fn renamenx(cx: &mut Cx, args: &[Bytes]) {
    rename_generic(cx, args, true);
}

/// True if `key` exists in database `db`.
fn exists_in(cx: &mut Cx, db: usize, key: &[u8]) -> bool {
    let (now, mode) = (cx.now_ms(), cx.mode());
    cx.ks.dbs[db].get(key, now, mode).is_some()
}

/// MOVE key db: only if the key is absent there; the TTL moves along.
fn move_key(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    let Some(target) = db_index_arg(cx, &args[2]) else {
        return;
    };
    if target == cx.db_index {
        return cx.out.error(SAME_OBJECT);
    }
    if peek(cx, key).is_none() || exists_in(cx, target, key) {
        return cx.out.int(0);
    }
    let Some(e) = remove(cx, key) else {
        return cx.out.int(0);
    };
    cx.ks.dbs[target].insert(key.clone(), e.value, e.expire_at_ms);
    cx.dirty += 1;
    cx.notify(notify::GENERIC, "move_from", key);
    cx.ks.notify(notify::GENERIC, "move_to", key, target);
    cx.out.int(1);
}

/// COPY source destination [DB n] [REPLACE]: a deep copy with the source's TTL.
fn copy(cx: &mut Cx, args: &[Bytes]) {
    let (src, dst) = (&args[1], &args[2]);
    let (mut target, mut replace) = (cx.db_index, false);
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            let Some(n) = db_index_arg(cx, &args[i + 1]) else {
                return;
            };
            target = n;
            i += 1;
        } else {
            return cx.syntax_error();
        }
        i += 1;
    }
    if target == cx.db_index && src == dst {
        return cx.out.error(SAME_OBJECT);
    }
    let Some(e) = cx.read(src).cloned() else {
        return cx.out.int(0);
    };
    if !replace && exists_in(cx, target, dst) {
        return cx.out.int(0);
    }
    cx.ks.dbs[target].insert(dst.clone(), e.value, e.expire_at_ms);
    cx.dirty += 1;
    cx.ks.notify(notify::GENERIC, "copy_to", dst, target);
    cx.out.int(1);
}

/// SWAPDB a b: the databases' contents change places; clients keep their database numbers.
fn swapdb(cx: &mut Cx, args: &[Bytes]) {
    let parse = |arg: &[u8]| crate::resp::parse_i64(arg).filter(|n| i32::try_from(*n).is_ok());
    let Some(a) = parse(&args[1]) else {
        return cx.out.error("ERR invalid first DB index");
    };
    let Some(b) = parse(&args[2]) else {
        return cx.out.error("ERR invalid second DB index");
    };
    let n = cx.ks.dbs.len() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return cx.out.error("ERR DB index is out of range");
    }
    let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
    if lo != hi {
        let (left, right) = cx.ks.dbs.split_at_mut(hi);
        left[lo].swap_contents(&mut right[0]);
    }
    cx.dirty += 1;
    cx.out.ok();
}

// ---- flushing ------------------------------------------------------------------------------

/// FLUSHDB/FLUSHALL take nothing, ASYNC or SYNC (freeing is immediate either way).
fn flush_args_ok(cx: &mut Cx, args: &[Bytes]) -> bool {
    let ok = match args {
        [_] => true,
        [_, mode] => is(mode, "async") || is(mode, "sync"),
        _ => false,
    };
    if !ok {
        cx.syntax_error();
    }
    ok
}

/// Empties databases; Redis propagates a FLUSH even when nothing was removed.
fn flush(cx: &mut Cx, args: &[Bytes], dbs: std::ops::Range<usize>) {
    for db in &mut cx.ks.dbs[dbs] {
        cx.dirty += db.len() as u64;
        db.clear();
    }
    // Replicated even when nothing was there, as in Redis (a replica may hold keys of its own).
    cx.dirty += 1;
    propagate_as(cx, args.to_vec());
    cx.out.ok();
}

fn flushdb(cx: &mut Cx, args: &[Bytes]) {
    if flush_args_ok(cx, args) {
        let i = cx.db_index;
        flush(cx, args, i..i + 1);
    }
}

fn flushall(cx: &mut Cx, args: &[Bytes]) {
    if flush_args_ok(cx, args) {
        let n = cx.ks.dbs.len();
        flush(cx, args, 0..n);
    }
}
