//! List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LRANGE, LLEN, LINDEX, LSET, LREM,
//! LTRIM, LINSERT, LPOS here; LMOVE, RPOPLPUSH and LMPOP in `moves`.
//!
//! A list is a `VecDeque` of elements. Like every aggregate, a list that becomes empty is deleted.
//! The argument helpers shared by the other collection families (index ranges, Redis' "positive"
//! and "range" integer parsing) live here too.

mod moves;

pub(crate) use moves::{at_least_one, mpop_args};

use super::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::Value;
use crate::resp::{parse_i64, Out};
use bytes::Bytes;
use std::collections::VecDeque;

type List = VecDeque<Bytes>;

pub const COMMANDS: &[CommandSpec] = &[
    data("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpush),
    data("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpush),
    data("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpushx),
    data("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpushx),
    data("lpop", -2, WRITE | FAST, (1, 1, 1), lpop),
    data("rpop", -2, WRITE | FAST, (1, 1, 1), rpop),
    data("lrange", 4, READONLY, (1, 1, 1), lrange),
    data("llen", 2, READONLY | FAST, (1, 1, 1), llen),
    data("lindex", 3, READONLY, (1, 1, 1), lindex),
    data("lset", 4, WRITE | DENYOOM, (1, 1, 1), lset),
    data("lrem", 4, WRITE, (1, 1, 1), lrem),
    data("ltrim", 4, WRITE, (1, 1, 1), ltrim),
    data("linsert", 5, WRITE | DENYOOM, (1, 1, 1), linsert),
    data("lpos", -3, READONLY, (1, 1, 1), lpos),
    data("lmove", 5, WRITE | DENYOOM, (1, 2, 1), moves::lmove),
    data("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), moves::rpoplpush),
    data("lmpop", -4, WRITE, (0, 0, 0), moves::lmpop).movable(super::movable::numkeys_first),
];

/// Which end of the list a command works on.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Left,
    Right,
}

fn as_list(v: &Value) -> Option<&List> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

fn as_list_mut(v: &mut Value) -> Option<&mut List> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

/// The list at `key` for a read command, beside the reply writer; `Err` once WRONGTYPE is sent.
fn read<'c, 'a>(cx: &'c mut Cx<'a>, key: &[u8]) -> Result<(Option<&'c List>, &'c mut Out<'a>), ()> {
    cx.read(key);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as(key, now, mode, as_list) {
        Ok(l) => Ok((l, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The list at `key` for a write command (`None` if absent); `Err` once WRONGTYPE is sent.
fn write<'c>(cx: &'c mut Cx, key: &[u8]) -> Result<Option<&'c mut List>, ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let out = &mut cx.out;
    cx.ks.dbs[cx.db_index]
        .get_as_mut(key, now, mode, as_list_mut)
        .map_err(|e| out.error(e))
}

/// Redis' inclusive `start..=end` index range over `len` elements, negative indexes counting
/// from the end, clamped; `None` when it selects nothing.
pub(crate) fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// A count that must be `>= 0` (Redis' getPositiveLong): anything else, even a non-number, gets
/// `msg` (default "ERR value is out of range, must be positive").
pub(crate) fn positive_arg(out: &mut Out, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    let v = parse_i64(arg).filter(|n| *n >= 0);
    if v.is_none() {
        out.error(msg.unwrap_or("ERR value is out of range, must be positive"));
    }
    v
}

/// An integer other than `i64::MIN`, so that its negation fits (Redis' -LONG_MAX..LONG_MAX).
pub(crate) fn negatable_arg(out: &mut Out, arg: &[u8]) -> Option<i64> {
    let v = int_arg(out, arg)?;
    if v == i64::MIN {
        out.error(&format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        ));
        return None;
    }
    Some(v)
}

fn lpush(cx: &mut Cx, args: &[Bytes]) {
    push(cx, args, End::Left, false);
}

fn rpush(cx: &mut Cx, args: &[Bytes]) {
    push(cx, args, End::Right, false);
}

fn lpushx(cx: &mut Cx, args: &[Bytes]) {
    push(cx, args, End::Left, true);
}

fn rpushx(cx: &mut Cx, args: &[Bytes]) {
    push(cx, args, End::Right, true);
}

/// LPUSH/RPUSH and their X variants (`existing_only`: do nothing unless the list exists).
fn push(cx: &mut Cx, args: &[Bytes], end: End, existing_only: bool) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let list = if existing_only {
        write(cx, &args[1])
    } else {
        let out = &mut cx.out;
        cx.ks.dbs[cx.db_index]
            .get_or_create_as(
                &args[1],
                now,
                mode,
                || Value::List(Box::new(List::new())),
                as_list_mut,
            )
            .map(Some)
            .map_err(|e| out.error(e))
    };
    let list = match list {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(l)) => l,
    };
    for v in &args[2..] {
        match end {
            End::Left => list.push_front(v.clone()),
            End::Right => list.push_back(v.clone()),
        }
    }
    let len = list.len();
    cx.dirty += (args.len() - 2) as u64;
    cx.out.int(len as i64);
}

fn lpop(cx: &mut Cx, args: &[Bytes]) {
    pop(cx, args, End::Left);
}

fn rpop(cx: &mut Cx, args: &[Bytes]) {
    pop(cx, args, End::Right);
}

/// LPOP/RPOP key [count]: one element as a bulk, or up to `count` as an array.
fn pop(cx: &mut Cx, args: &[Bytes], end: End) {
    if args.len() > 3 {
        let name = if end == End::Left { "lpop" } else { "rpop" };
        return cx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match positive_arg(&mut cx.out, a, None) {
            Some(n) => Some(n as usize),
            None => return,
        },
    };
    let key = &args[1];
    if count == Some(0) {
        // Nothing is popped, so the key is only looked at (not touched).
        let (now, mode) = (cx.now_ms(), cx.mode());
        return match cx.db().get_as(key, now, mode, as_list) {
            Err(e) => cx.out.error(e),
            Ok(None) => cx.out.null_array(),
            Ok(Some(_)) => cx.out.array(0),
        };
    }
    let list = match write(cx, key) {
        Err(()) => return,
        Ok(None) if count.is_some() => return cx.out.null_array(),
        Ok(None) => return cx.out.null(),
        Ok(Some(l)) => l,
    };
    let n = count.unwrap_or(1).min(list.len());
    let popped: Vec<Bytes> = match end {
        End::Left => list.drain(..n).collect(),
        End::Right => list.drain(list.len() - n..).rev().collect(),
    };
    cx.dirty += n as u64;
    cx.db().remove_if_empty(key);
    match (count, popped.first()) {
        (None, Some(v)) => cx.out.bulk(v),
        _ => cx.out.bulks(popped.iter()),
    }
}

fn lrange(cx: &mut Cx, args: &[Bytes]) {
    let Some(start) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    let Some(stop) = int_arg(&mut cx.out, &args[3]) else {
        return;
    };
    let Ok((list, out)) = read(cx, &args[1]) else {
        return;
    };
    match list.and_then(|l| clamp_range(start, stop, l.len()).map(|r| (l, r))) {
        Some((l, (s, e))) => out.bulks(l.range(s..=e)),
        None => out.array(0),
    }
}

fn llen(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((list, out)) = read(cx, &args[1]) {
        out.int(list.map_or(0, |l| l.len() as i64));
    }
}

fn lindex(cx: &mut Cx, args: &[Bytes]) {
    let Ok((list, out)) = read(cx, &args[1]) else {
        return;
    };
    let Some(list) = list else {
        return out.null();
    };
    let Some(index) = int_arg(out, &args[2]) else {
        return;
    };
    out.bulk_opt(position(index, list.len()).map(|i| &list[i][..]));
}

/// The position LINDEX/LSET mean by `index` (negative from the end), if inside the list.
fn position(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    usize::try_from(i).ok().filter(|&i| i < len)
}

fn lset(cx: &mut Cx, args: &[Bytes]) {
    let list = match write(cx, &args[1]) {
        Err(()) => return,
        Ok(None) => return cx.out.error("ERR no such key"),
        Ok(Some(l)) => l,
    };
    let Some(index) = parse_i64(&args[2]) else {
        return cx.out.error("ERR value is not an integer or out of range");
    };
    match position(index, list.len()) {
        Some(i) => {
            list[i] = args[3].clone();
            cx.dirty += 1;
            cx.out.ok();
        }
        None => cx.out.error("ERR index out of range"),
    }
}

/// LREM key count element: removes up to |count| matches, from the tail when count < 0.
fn lrem(cx: &mut Cx, args: &[Bytes]) {
    let Some(count) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    let list = match write(cx, &args[1]) {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(l)) => l,
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let from_tail = count < 0;
    if from_tail {
        list.make_contiguous().reverse();
    }
    let mut removed = 0;
    list.retain(|e| {
        let drop = removed < limit && *e == args[3];
        removed += drop as usize;
        !drop
    });
    if from_tail {
        list.make_contiguous().reverse();
    }
    cx.dirty += removed as u64;
    cx.db().remove_if_empty(&args[1]);
    cx.out.int(removed as i64);
}

fn ltrim(cx: &mut Cx, args: &[Bytes]) {
    let Some(start) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    let Some(stop) = int_arg(&mut cx.out, &args[3]) else {
        return;
    };
    let list = match write(cx, &args[1]) {
        Err(()) => return,
        Ok(None) => return cx.out.ok(),
        Ok(Some(l)) => l,
    };
    let before = list.len();
    match clamp_range(start, stop, before) {
        Some((s, e)) => {
            list.truncate(e + 1);
            list.drain(..s);
        }
        None => list.clear(),
    }
    cx.dirty += (before - list.len()) as u64;
    cx.db().remove_if_empty(&args[1]);
    cx.out.ok();
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without pivot, 0 without key.
fn linsert(cx: &mut Cx, args: &[Bytes]) {
    let after = match &args[2] {
        a if is(a, "after") => true,
        a if is(a, "before") => false,
        _ => return cx.syntax_error(),
    };
    let list = match write(cx, &args[1]) {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(l)) => l,
    };
    let Some(at) = list.iter().position(|e| *e == args[3]) else {
        return cx.out.int(-1);
    };
    list.insert(at + after as usize, args[4].clone());
    let len = list.len();
    cx.dirty += 1;
    cx.out.int(len as i64);
}

/// LPOS options: which match to start from, how many to return, how far to scan.
struct PosOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn lpos_options(out: &mut Out, args: &[Bytes]) -> Option<PosOptions> {
    let mut o = PosOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < args.len() {
        let (opt, val) = (&args[i], args.get(i + 1));
        match val {
            Some(v) if is(opt, "rank") => {
                o.rank = negatable_arg(out, v)?;
                if o.rank == 0 {
                    out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return None;
                }
            }
            Some(v) if is(opt, "count") => {
                o.count = Some(positive_arg(out, v, Some("ERR COUNT can't be negative"))? as usize);
            }
            Some(v) if is(opt, "maxlen") => {
                o.maxlen = positive_arg(out, v, Some("ERR MAXLEN can't be negative"))? as usize;
            }
            _ => {
                out.error("ERR syntax error");
                return None;
            }
        }
        i += 2;
    }
    Some(o)
}

/// LPOS key element [RANK r] [COUNT n] [MAXLEN len]: indexes of matches (as LINDEX counts them).
fn lpos(cx: &mut Cx, args: &[Bytes]) {
    let Some(o) = lpos_options(&mut cx.out, args) else {
        return;
    };
    let Ok((list, out)) = read(cx, &args[1]) else {
        return;
    };
    let Some(list) = list else {
        return match o.count {
            Some(_) => out.array(0),
            None => out.null(),
        };
    };
    let len = list.len();
    let scan = if o.maxlen == 0 {
        len
    } else {
        o.maxlen.min(len)
    };
    let indexes: Box<dyn Iterator<Item = usize>> = if o.rank > 0 {
        Box::new(0..scan)
    } else {
        Box::new((len - scan..len).rev())
    };
    let skip = usize::try_from(o.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
    let take = match o.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    let found: Vec<usize> = indexes
        .filter(|&i| list[i] == args[2])
        .skip(skip)
        .take(take)
        .collect();
    match o.count {
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null(),
        },
    }
}

#[cfg(test)]
#[path = "lists_tests.rs"]
pub(crate) mod tests;
