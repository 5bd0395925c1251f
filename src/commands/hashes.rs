//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL, HEXISTS, HLEN, HKEYS, HVALS,
//! HINCRBY, HINCRBYFLOAT, HSTRLEN, HRANDFIELD.
//!
//! A hash is an `IndexMap` in insertion order (what Redis' listpack encoding shows for small
//! hashes); updating a field keeps its place and HDEL keeps the order of the others.

use super::{data, flags::*, float_arg, int_arg, CommandSpec, Cx, Propagate};
use crate::db::Value;
use crate::resp::{parse_i64, Out};
use crate::text::parse_f64;
use bytes::Bytes;
use indexmap::IndexMap;

type Hash = IndexMap<Bytes, Bytes>;

pub const COMMANDS: &[CommandSpec] = &[
    data("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hset),
    data("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hsetnx),
    data("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hmset),
    data("hget", 3, READONLY | FAST, (1, 1, 1), hget),
    data("hmget", -3, READONLY | FAST, (1, 1, 1), hmget),
    data("hgetall", 2, READONLY, (1, 1, 1), hgetall),
    data("hdel", -3, WRITE | FAST, (1, 1, 1), hdel),
    data("hexists", 3, READONLY | FAST, (1, 1, 1), hexists),
    data("hlen", 2, READONLY | FAST, (1, 1, 1), hlen),
    data("hkeys", 2, READONLY, (1, 1, 1), hkeys),
    data("hvals", 2, READONLY, (1, 1, 1), hvals),
    data("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hincrby),
    data(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hincrbyfloat,
    ),
    data("hstrlen", 3, READONLY | FAST, (1, 1, 1), hstrlen),
    data("hrandfield", -2, READONLY, (1, 1, 1), hrandfield),
];

fn as_hash(v: &Value) -> Option<&Hash> {
    match v {
        Value::Hash(h) => Some(h),
        _ => None,
    }
}

fn as_hash_mut(v: &mut Value) -> Option<&mut Hash> {
    match v {
        Value::Hash(h) => Some(h),
        _ => None,
    }
}

/// The hash at `key` for a read command, beside the reply writer; `Err` once WRONGTYPE is sent.
fn read<'c, 'a>(cx: &'c mut Cx<'a>, key: &[u8]) -> Result<(Option<&'c Hash>, &'c mut Out<'a>), ()> {
    cx.read(key);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as(key, now, mode, as_hash) {
        Ok(h) => Ok((h, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The hash at `key`, created empty if absent; `Err` once WRONGTYPE is sent.
fn create<'c>(cx: &'c mut Cx, key: &Bytes) -> Result<&'c mut Hash, ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let out = &mut cx.out;
    cx.ks.dbs[cx.db_index]
        .get_or_create_as(key, now, mode, || Value::Hash(Box::default()), as_hash_mut)
        .map_err(|e| out.error(e))
}

fn hset(cx: &mut Cx, args: &[Bytes]) {
    set_pairs(cx, args, "hset");
}

fn hmset(cx: &mut Cx, args: &[Bytes]) {
    set_pairs(cx, args, "hmset");
}

/// HSET replies how many fields are new; the deprecated HMSET replies OK.
fn set_pairs(cx: &mut Cx, args: &[Bytes], name: &str) {
    if args.len() % 2 == 1 {
        return cx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let Ok(hash) = create(cx, &args[1]) else {
        return;
    };
    let created = args[2..]
        .chunks_exact(2)
        .filter(|p| hash.insert(p[0].clone(), p[1].clone()).is_none())
        .count();
    cx.dirty += (args.len() as u64 - 2) / 2;
    match name {
        "hset" => cx.out.int(created as i64),
        _ => cx.out.ok(),
    }
}

fn hsetnx(cx: &mut Cx, args: &[Bytes]) {
    let Ok(hash) = create(cx, &args[1]) else {
        return;
    };
    if hash.contains_key(&args[2]) {
        return cx.out.int(0);
    }
    hash.insert(args[2].clone(), args[3].clone());
    cx.dirty += 1;
    cx.out.int(1);
}

fn hget(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((hash, out)) = read(cx, &args[1]) {
        out.bulk_opt(hash.and_then(|h| h.get(&args[2])).map(|v| &v[..]));
    }
}

/// HMGET: a missing key is an empty hash, so every field is null.
fn hmget(cx: &mut Cx, args: &[Bytes]) {
    let Ok((hash, out)) = read(cx, &args[1]) else {
        return;
    };
    out.array(args.len() - 2);
    for f in &args[2..] {
        out.bulk_opt(hash.and_then(|h| h.get(f)).map(|v| &v[..]));
    }
}

fn hgetall(cx: &mut Cx, args: &[Bytes]) {
    get_all(cx, args, true, true);
}

fn hkeys(cx: &mut Cx, args: &[Bytes]) {
    get_all(cx, args, true, false);
}

fn hvals(cx: &mut Cx, args: &[Bytes]) {
    get_all(cx, args, false, true);
}

/// HGETALL (a map) / HKEYS / HVALS: fields and/or values in the hash's order.
fn get_all(cx: &mut Cx, args: &[Bytes], fields: bool, values: bool) {
    let Ok((hash, out)) = read(cx, &args[1]) else {
        return;
    };
    let len = hash.map_or(0, |h| h.len());
    if fields && values {
        out.map(len);
    } else {
        out.array(len);
    }
    for (f, v) in hash.into_iter().flatten() {
        if fields {
            out.bulk(f);
        }
        if values {
            out.bulk(v);
        }
    }
}

fn hdel(cx: &mut Cx, args: &[Bytes]) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let hash = match cx.db().get_as_mut(&args[1], now, mode, as_hash_mut) {
        Err(e) => return cx.out.error(e),
        Ok(None) => return cx.out.int(0),
        Ok(Some(h)) => h,
    };
    let deleted = args[2..]
        .iter()
        .filter(|f| hash.shift_remove(*f).is_some())
        .count();
    cx.dirty += deleted as u64;
    cx.db().remove_if_empty(&args[1]);
    cx.out.int(deleted as i64);
}

fn hexists(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((hash, out)) = read(cx, &args[1]) {
        out.int(hash.is_some_and(|h| h.contains_key(&args[2])) as i64);
    }
}

fn hlen(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((hash, out)) = read(cx, &args[1]) {
        out.int(hash.map_or(0, |h| h.len() as i64));
    }
}

fn hstrlen(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((hash, out)) = read(cx, &args[1]) {
        out.int(
            hash.and_then(|h| h.get(&args[2]))
                .map_or(0, |v| v.len() as i64),
        );
    }
}

fn hincrby(cx: &mut Cx, args: &[Bytes]) {
    let Some(incr) = int_arg(&mut cx.out, &args[3]) else {
        return;
    };
    let Ok(hash) = create(cx, &args[1]) else {
        return;
    };
    let old = match hash.get(&args[2]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return cx.out.error("ERR hash value is not an integer"),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return cx.out.error("ERR increment or decrement would overflow");
    };
    hash.insert(args[2].clone(), Bytes::from(new.to_string()));
    cx.dirty += 1;
    cx.out.int(new);
}

/// HINCRBYFLOAT: replicated as HSET of the resulting text so replicas cannot round differently.
fn hincrbyfloat(cx: &mut Cx, args: &[Bytes]) {
    let Some(incr) = float_arg(&mut cx.out, &args[3]) else {
        return;
    };
    if !incr.is_finite() {
        return cx.out.error("ERR value is NaN or Infinity");
    }
    let Ok(hash) = create(cx, &args[1]) else {
        return;
    };
    let old = match hash.get(&args[2]) {
        None => 0.0,
        Some(v) => match parse_f64(v) {
            Some(n) => n,
            None => return cx.out.error("ERR hash value is not a float"),
        },
    };
    let new = old + incr;
    if !new.is_finite() {
        return cx.out.error("ERR increment would produce NaN or Infinity");
    }
    let text = Bytes::from(fmt_human(new));
    hash.insert(args[2].clone(), text.clone());
    cx.dirty += 1;
    cx.out.bulk(&text);
    cx.propagate = Propagate::Replace(vec![vec![
        Bytes::from_static(b"HSET"),
        args[1].clone(),
        args[2].clone(),
        text,
    ]]);
}

/// A float as Redis' "human" long double format prints it (`%.17Lf` without trailing zeros),
/// computed on f64: the shortest round-trip digits, capped at 17 decimals, never an exponent.
pub(crate) fn fmt_human(v: f64) -> String {
    let short = format!("{v}");
    let s = match short.split_once('.') {
        Some((_, frac)) if frac.len() > 17 => format!("{v:.17}"),
        _ => short,
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    match s {
        "-0" => "0".to_string(),
        _ => s.to_string(),
    }
}

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(cx: &mut Cx, args: &[Bytes]) {
    let size = |v: &Value| as_hash(v).map(Hash::len);
    super::sets::random_entries(cx, args, "withvalues", size, emit_field);
}

fn emit_field(out: &mut Out, v: &Value, i: usize, with_value: bool) {
    if let Some((field, value)) = as_hash(v).and_then(|h| h.get_index(i)) {
        out.bulk(field);
        if with_value {
            out.bulk(value);
        }
    }
}

#[cfg(test)]
#[path = "hashes_tests.rs"]
mod tests;
