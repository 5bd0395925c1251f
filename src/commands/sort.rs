//! SORT and SORT_RO: key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
//! [STORE destination] (STORE is SORT's only).
//!
//! Lists, sets and sorted sets sort numerically by default (each weight read the way C's `strtod`
//! reads a whole string; one that is not a number fails the command) with ties broken by the
//! elements' bytes, or by bytes with ALPHA. A pattern's first `*` is replaced by the element, and
//! `key->field` reads a hash field; `#` is the element itself. A BY pattern without `*` means no
//! sorting: lists and sorted sets keep their order (reversed by DESC), sets their own, except that
//! a set stored with STORE is sorted ALPHA so that replicas get the same list. STORE replaces the
//! destination with a list (missing GET values become empty strings) or deletes it for an empty
//! result, counting one change per stored element, and is replicated as sent.

use super::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::{notify, Value};
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::VecDeque;

pub const COMMANDS: &[CommandSpec] = &[
    data("sort", -2, WRITE | DENYOOM, (1, 1, 1), sort).movable(super::movable::sort),
    data("sort_ro", -2, READONLY, (1, 1, 1), sort_ro).movable(super::movable::sort_ro),
];

/// The options of one call.
#[derive(Default)]
struct Options {
    desc: bool,
    alpha: bool,
    offset: i64,
    /// Negative means no limit.
    count: i64,
    by: Option<Bytes>,
    gets: Vec<Bytes>,
    store: Option<Bytes>,
}

fn sort(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, false);
}

fn sort_ro(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, true);
}

fn run(cx: &mut Cx, args: &[Bytes], read_only: bool) {
    let Some(mut o) = options(cx, &args[2..], read_only) else {
        return;
    };
    let mut dont_sort = o.by.as_ref().is_some_and(|p| !p.contains(&b'*'));
    let (elems, is_set) = match cx.read(&args[1]).map(|e| &e.value) {
        None => (Vec::new(), false),
        Some(Value::List(l)) => (ordered(l.iter(), dont_sort && o.desc), false),
        Some(Value::ZSet(z)) => {
            let members = z.order.iter().map(|(_, m)| m);
            (ordered(members, dont_sort && o.desc), false)
        }
        Some(Value::Set(s)) => (s.iter().cloned().collect(), true),
        Some(_) => return cx.wrongtype(),
    };
    if dont_sort && is_set && o.store.is_some() {
        (dont_sort, o.alpha, o.by) = (false, true, None);
    }
    let (start, end) = window(o.offset, o.count, elems.len());
    let mut elems = elems;
    if !dont_sort {
        let Some(sorted) = sorted(cx, elems, &o) else {
            return cx
                .out
                .error("ERR One or more scores can't be converted into double");
        };
        elems = sorted;
    }
    let picked = elems.get(start..end).unwrap_or_default();
    let rows: Vec<Option<Bytes>> = if o.gets.is_empty() {
        picked.iter().cloned().map(Some).collect()
    } else {
        let mut rows = Vec::with_capacity(picked.len() * o.gets.len());
        for e in picked {
            for g in &o.gets {
                rows.push(lookup(cx, g, e));
            }
        }
        rows
    };
    match &o.store {
        None => {
            cx.out.array(rows.len());
            rows.iter().for_each(|r| cx.out.bulk_opt(r.as_deref()));
        }
        Some(dest) => store(cx, dest, rows),
    }
}

/// The elements in order, or reversed.
fn ordered<'a>(items: impl DoubleEndedIterator<Item = &'a Bytes>, rev: bool) -> Vec<Bytes> {
    if rev {
        items.rev().cloned().collect()
    } else {
        items.cloned().collect()
    }
}

/// Parses the words after the key; `None` once the error is sent.
fn options(cx: &mut Cx, words: &[Bytes], read_only: bool) -> Option<Options> {
    let mut o = Options {
        count: -1,
        ..Options::default()
    };
    let mut i = 0;
    while i < words.len() {
        let (w, left) = (&words[i], words.len() - i - 1);
        if is(w, "asc") {
            o.desc = false;
        } else if is(w, "desc") {
            o.desc = true;
        } else if is(w, "alpha") {
            o.alpha = true;
        } else if is(w, "limit") && left >= 2 {
            o.offset = int_arg(&mut cx.out, &words[i + 1])?;
            o.count = int_arg(&mut cx.out, &words[i + 2])?;
            i += 2;
        } else if !read_only && is(w, "store") && left >= 1 {
            o.store = Some(words[i + 1].clone());
            i += 1;
        } else if is(w, "by") && left >= 1 {
            o.by = Some(words[i + 1].clone());
            i += 1;
        } else if is(w, "get") && left >= 1 {
            o.gets.push(words[i + 1].clone());
            i += 1;
        } else {
            cx.syntax_error();
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// LIMIT offset count over `len` elements as the half-open range of positions to return.
fn window(offset: i64, count: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let end = if count < 0 {
        len
    } else {
        (start + count).min(len)
    };
    (start as usize, end.max(start) as usize)
}

/// What an element sorts by.
enum Weight {
    Number(f64),
    Text(Option<Bytes>),
}

/// The elements sorted under the options; `None` if a numeric weight is not a number.
fn sorted(cx: &mut Cx, elems: Vec<Bytes>, o: &Options) -> Option<Vec<Bytes>> {
    let mut keyed = Vec::with_capacity(elems.len());
    let mut bad_number = false;
    for e in elems {
        let by = match &o.by {
            Some(p) => lookup(cx, p, &e),
            None => Some(e.clone()),
        };
        let w = if o.alpha {
            Weight::Text(o.by.as_ref().and(by))
        } else {
            let n = by.map_or(Some(0.0), |b| strtod(&b));
            bad_number |= n.is_none();
            Weight::Number(n.unwrap_or(0.0))
        };
        keyed.push((w, e));
    }
    if bad_number {
        return None;
    }
    keyed.sort_by(|(wa, ea), (wb, eb)| {
        let c = match (wa, wb) {
            (Weight::Number(a), Weight::Number(b)) => a
                .partial_cmp(b)
                .unwrap_or(Ordering::Equal)
                .then_with(|| ea.cmp(eb)),
            // With BY, missing weights sort first and equal weights stay as they were.
            (Weight::Text(a), Weight::Text(b)) if o.by.is_some() => a.cmp(b),
            _ => ea.cmp(eb),
        };
        if o.desc {
            c.reverse()
        } else {
            c
        }
    });
    Some(keyed.into_iter().map(|(_, e)| e).collect())
}

/// A number as `strtod` reads a whole string: leading spaces allowed, nothing after the
/// number, no NaN, no overflow to infinity. The empty string reads as 0.
fn strtod(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return Some(0.0);
    }
    let text = std::str::from_utf8(b).ok()?;
    let text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let v: f64 = text.parse().ok()?;
    let spelled_infinite = text.trim_start_matches(['+', '-']).starts_with(['i', 'I']);
    (!v.is_nan() && (v.is_finite() || spelled_infinite)).then_some(v)
}

/// The value a pattern names for `elem`: `#` is the element; otherwise the first `*` becomes
/// the element, and `->field` after it reads that field of a hash. `None` when there is no `*`,
/// no such key, or the key holds another type.
fn lookup(cx: &mut Cx, pattern: &[u8], elem: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(elem.clone());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let key = [&pattern[..star], elem.as_ref(), postfix].concat();
    match (&cx.read(&key)?.value, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(f)) => h.get(f).cloned(),
        _ => None,
    }
}

/// STORE: the rows as a list at `dest`, replacing it; an empty result deletes it.
fn store(cx: &mut Cx, dest: &Bytes, rows: Vec<Option<Bytes>>) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let n = rows.len();
    if n == 0 {
        if cx.db().remove(dest, now, mode).is_some() {
            cx.dirty += 1;
            cx.notify(notify::GENERIC, "del", dest);
        }
    } else {
        let list: VecDeque<Bytes> = rows.into_iter().map(Option::unwrap_or_default).collect();
        cx.db()
            .insert(dest.clone(), Value::List(Box::new(list)), None);
        cx.dirty += n as u64;
        cx.notify(notify::LIST, "sortstore", dest);
    }
    cx.out.int(n as i64);
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod tests;
