//! Cursor iteration: SCAN over the keyspace, and SSCAN, HSCAN, ZSCAN over one key's elements.
//!
//! The keyspace is stored in hash order, so a SCAN cursor is the hash to resume at. Elements of
//! a key are iterated the same way (by their fixed hash) once the key is in its big encoding
//! (hashtable, skiplist); a compact one (intset, listpack) is returned whole with cursor 0, as
//! Redis does. Either way an element present for the whole iteration is returned at least once.
//! SCAN lazily expires the keys it visits (matching MATCH), as Redis 7.2 does.

use super::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::{key_hash, Encoding, Value, WRONGTYPE};
use crate::resp::Out;
use crate::text::{fmt_double, glob_match};
use bytes::Bytes;

pub const SET_COMMANDS: &[CommandSpec] = &[data("sscan", -3, READONLY, (1, 1, 1), sscan)];
pub const HASH_COMMANDS: &[CommandSpec] = &[data("hscan", -3, READONLY, (1, 1, 1), hscan)];
pub const ZSET_COMMANDS: &[CommandSpec] = &[data("zscan", -3, READONLY, (1, 1, 1), zscan)];

/// Parses a SCAN cursor as C's `strtoul` does: optional sign (a negative cursor wraps), decimal
/// digits, nothing else; the empty string is cursor 0.
fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.split_first() {
        None => return Some(0),
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        Some(_) => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().try_fold(0u64, |v, d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options after the cursor: `[MATCH pattern] [COUNT n] [TYPE type]` (TYPE for SCAN only).
struct Options<'a> {
    count: usize,
    pattern: Option<&'a Bytes>,
    type_name: Option<&'a Bytes>,
}

impl<'a> Options<'a> {
    /// `None` once the error is sent.
    fn parse(out: &mut Out, args: &'a [Bytes], with_type: bool) -> Option<Self> {
        let mut o = Options {
            count: 10,
            pattern: None,
            type_name: None,
        };
        for pair in args.chunks(2) {
            let [option, value] = pair else {
                out.error("ERR syntax error");
                return None;
            };
            if is(option, "count") {
                let n = int_arg(out, value)?;
                if n < 1 {
                    out.error("ERR syntax error");
                    return None;
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if is(option, "match") {
                o.pattern = (&value[..] != b"*").then_some(value);
            } else if with_type && is(option, "type") {
                o.type_name = Some(value);
            } else {
                out.error("ERR syntax error");
                return None;
            }
        }
        Some(o)
    }

    fn matches(&self, name: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, name, false))
    }
}

fn reply_cursor(out: &mut Out, next: u64, n: usize) {
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(n);
}

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type].
pub(super) fn scan(cx: &mut Cx, args: &[Bytes]) {
    let Some(cursor) = parse_cursor(&args[1]) else {
        return cx.out.error("ERR invalid cursor");
    };
    let Some(o) = Options::parse(&mut cx.out, &args[2..], true) else {
        return;
    };
    let (now, mode) = (cx.now_ms(), cx.mode());
    let (next, mut found) = cx.db().scan(cursor, o.count);
    found.retain(|k| o.matches(k));
    let db = cx.db();
    found.retain(|k| {
        db.still_live(k, now, mode)
            && o.type_name
                .is_none_or(|t| db.raw(k).is_some_and(|e| is(t, e.value.type_name())))
    });
    reply_cursor(&mut cx.out, next, found.len());
    for k in &found {
        cx.out.bulk(k);
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT n].
fn sscan(cx: &mut Cx, args: &[Bytes]) {
    scan_elements(cx, args, "set");
}

/// HSCAN key cursor [MATCH pattern] [COUNT n]: fields with their values.
fn hscan(cx: &mut Cx, args: &[Bytes]) {
    scan_elements(cx, args, "hash");
}

/// ZSCAN key cursor [MATCH pattern] [COUNT n]: members with their scores.
fn zscan(cx: &mut Cx, args: &[Bytes]) {
    scan_elements(cx, args, "zset");
}

/// One element as SCAN replies it: the name MATCH sees, and a value after it (hash, zset).
type Element<'v> = (&'v Bytes, Option<Bytes>);

fn elements(v: &Value) -> Vec<Element<'_>> {
    match v {
        Value::Set(s) => s.iter().map(|m| (m, None)).collect(),
        Value::Hash(h) => h.iter().map(|(f, v)| (f, Some(v.clone()))).collect(),
        Value::ZSet(z) => z
            .scores
            .iter()
            .map(|(m, s)| (m, Some(Bytes::from(fmt_double(*s)))))
            .collect(),
        Value::Str(_) | Value::List(_) | Value::Stream(_) => Vec::new(),
    }
}

/// The elements from `cursor` on in hash order, about `count` of them, and the next cursor
/// (0 at the end). Elements sharing a hash are returned together.
fn page(mut items: Vec<(u64, Element<'_>)>, cursor: u64, count: usize) -> (u64, Vec<Element<'_>>) {
    items.retain(|(h, _)| *h >= cursor);
    if items.len() <= count {
        return (0, items.into_iter().map(|(_, e)| e).collect());
    }
    items.select_nth_unstable_by_key(count, |(h, _)| *h);
    let mut next = items[count].0;
    if items[..count].iter().all(|(h, _)| *h == next) {
        // All of the page shares one hash: take the whole run and resume past it.
        next = next.checked_add(1).unwrap_or(0);
    }
    let page = items.into_iter().filter(|(h, _)| *h < next || next == 0);
    (next, page.map(|(_, e)| e).collect())
}

fn scan_elements(cx: &mut Cx, args: &[Bytes], type_name: &str) {
    let Some(cursor) = parse_cursor(&args[2]) else {
        return cx.out.error("ERR invalid cursor");
    };
    cx.read(&args[1]);
    let (now, mode, idx) = (cx.now_ms(), cx.mode(), cx.db_index);
    let out = &mut cx.out;
    let Some(e) = cx.ks.dbs[idx].get(&args[1], now, mode) else {
        return reply_cursor(out, 0, 0);
    };
    if e.value.type_name() != type_name {
        return out.error(WRONGTYPE);
    }
    let Some(o) = Options::parse(out, &args[3..], false) else {
        return;
    };
    let all = elements(&e.value);
    let big = matches!(
        e.meta.encoding,
        Some(Encoding::Hashtable | Encoding::Skiplist)
    );
    let (next, mut found) = match big {
        false => (0, all),
        true => {
            let hashed = all.into_iter().map(|el| (key_hash(el.0), el)).collect();
            page(hashed, cursor, o.count)
        }
    };
    found.retain(|(name, _)| o.matches(name));
    let per = if type_name == "set" { 1 } else { 2 };
    reply_cursor(out, next, found.len() * per);
    for (name, value) in &found {
        out.bulk(name);
        if let Some(v) = value {
            out.bulk(v);
        }
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
pub(super) mod tests;
