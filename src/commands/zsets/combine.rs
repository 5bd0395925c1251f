//! Combining sorted sets: ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! Plain sets are accepted as inputs, each member scoring 1. As in Redis, union and intersection
//! visit the inputs smallest first (a stable sort by cardinality), a weighted score that is NaN
//! (`inf * 0`) counts as 0, and a SUM that is NaN (`inf + -inf`) is 0. The difference keeps the
//! first input's scores. The STORE forms replace the destination (dropping its TTL), or delete it
//! when the result is empty, and are replicated as sent.

use super::{Cx, Out};
use crate::commands::lists::positive_arg;
use crate::commands::{int_arg, is};
use crate::db::{Value, ZSet};
use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Op {
    Union,
    Inter,
    Diff,
}

/// Where the result goes: stored at `args[1]`, replied, or only counted (ZINTERCARD).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Form {
    Store,
    Reply,
    Card,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: f64, v: f64) -> f64 {
        match self {
            Aggregate::Sum => zero_if_nan(acc + v),
            Aggregate::Min => v.min(acc),
            Aggregate::Max => v.max(acc),
        }
    }
}

fn zero_if_nan(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// The options after the input keys.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD stops counting here; 0 means no limit.
    limit: usize,
}

/// One input: a sorted set, a set (every member scoring 1) or a missing key (empty).
#[derive(Clone, Copy)]
enum Source<'a> {
    Zset(&'a ZSet),
    Set(&'a IndexSet<Bytes>),
    Missing,
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Zset(z) => z.len(),
            Source::Set(s) => s.len(),
            Source::Missing => 0,
        }
    }
    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Zset(z) => z.scores.get(member).copied(),
            Source::Set(s) => s.contains(member).then_some(1.0),
            Source::Missing => None,
        }
    }
    fn iter(self) -> Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a> {
        match self {
            Source::Zset(z) => Box::new(z.scores.iter().map(|(m, s)| (m, *s))),
            Source::Set(s) => Box::new(s.iter().map(|m| (m, 1.0))),
            Source::Missing => Box::new(std::iter::empty()),
        }
    }
}

/// The whole command: `args[numkeys_at]` is the number of input keys that follow.
pub(super) fn combine(cx: &mut Cx, args: &[Bytes], op: Op, form: Form) {
    let numkeys_at = if form == Form::Store { 2 } else { 1 };
    let Some(keys) = input_keys(&mut cx.out, args, numkeys_at) else {
        return;
    };
    // Every input is looked up (and type-checked) before the options are read, as Redis does.
    for key in keys {
        let found = cx.read(key).map(|e| &e.value);
        if found.is_some_and(|v| !matches!(v, Value::ZSet(_) | Value::Set(_))) {
            return cx.wrongtype();
        }
    }
    let rest = &args[numkeys_at + 1 + keys.len()..];
    let Some(opts) = options(&mut cx.out, rest, keys.len(), op, form) else {
        return;
    };
    let (now, mode) = (cx.now_ms(), cx.mode());
    let db = &cx.ks.dbs[cx.db_index];
    let mut sources: Vec<(Source, f64)> = keys
        .iter()
        .zip(&opts.weights)
        .map(|(key, &w)| {
            let src = match db.peek(key, now, mode).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Source::Zset(z),
                Some(Value::Set(s)) => Source::Set(s),
                _ => Source::Missing,
            };
            (src, w)
        })
        .collect();
    if op != Op::Diff {
        sources.sort_by_key(|(s, _)| s.len());
    }
    if form == Form::Card {
        let n = intersection_card(&sources, opts.limit);
        return cx.out.int(n as i64);
    }
    let result = match op {
        Op::Union => union(&sources, opts.aggregate),
        Op::Inter => intersection(&sources, opts.aggregate),
        Op::Diff => difference(&sources),
    };
    match form {
        Form::Store => store(cx, &args[1], result),
        _ => reply(&mut cx.out, result, opts.with_scores),
    }
}

/// The input keys named by the `numkeys` argument at `at`, or `None` once the error is sent.
fn input_keys<'a>(out: &mut Out, args: &'a [Bytes], at: usize) -> Option<&'a [Bytes]> {
    let n = int_arg(out, &args[at])?;
    if n < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        out.error(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
        return None;
    }
    let available = args.len() - at - 1;
    if n as u64 > available as u64 {
        out.error("ERR syntax error");
        return None;
    }
    Some(&args[at + 1..at + 1 + n as usize])
}

/// Parses WEIGHTS, AGGREGATE, WITHSCORES and LIMIT where each form allows them.
fn options(out: &mut Out, rest: &[Bytes], nkeys: usize, op: Op, form: Form) -> Option<Options> {
    let mut o = Options {
        weights: vec![1.0; nkeys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let weighted = op != Op::Diff && form != Form::Card;
    let mut i = 0;
    while i < rest.len() {
        let (a, left) = (&rest[i], rest.len() - i);
        if weighted && left > nkeys && is(a, "weights") {
            for (w, arg) in o.weights.iter_mut().zip(&rest[i + 1..]) {
                let Some(v) = crate::text::parse_f64(arg) else {
                    out.error("ERR weight value is not a float");
                    return None;
                };
                *w = v;
            }
            i += 1 + nkeys;
        } else if weighted && left >= 2 && is(a, "aggregate") {
            o.aggregate = match rest[i + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => {
                    out.error("ERR syntax error");
                    return None;
                }
            };
            i += 2;
        } else if form == Form::Reply && is(a, "withscores") {
            o.with_scores = true;
            i += 1;
        } else if form == Form::Card && left >= 2 && is(a, "limit") {
            let n = positive_arg(out, &rest[i + 1], Some("ERR LIMIT can't be negative"))?;
            o.limit = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else {
            out.error("ERR syntax error");
            return None;
        }
    }
    Some(o)
}

fn union(sources: &[(Source, f64)], agg: Aggregate) -> IndexMap<Bytes, f64> {
    let mut acc: IndexMap<Bytes, f64> = IndexMap::new();
    for &(src, w) in sources {
        for (member, score) in src.iter() {
            let v = zero_if_nan(w * score);
            match acc.get_mut(member) {
                Some(cur) => *cur = agg.apply(*cur, v),
                None => {
                    acc.insert(member.clone(), v);
                }
            }
        }
    }
    acc
}

/// The members of the smallest input found in every other, with their aggregated scores.
fn intersect<'s>(
    sources: &'s [(Source, f64)],
    agg: Aggregate,
) -> impl Iterator<Item = (&'s Bytes, f64)> + 's {
    let (first, w0) = sources[0];
    first.iter().filter_map(move |(member, score)| {
        let mut acc = zero_if_nan(w0 * score);
        for &(src, w) in &sources[1..] {
            acc = agg.apply(acc, src.score(member)? * w);
        }
        Some((member, acc))
    })
}

fn intersection(sources: &[(Source, f64)], agg: Aggregate) -> IndexMap<Bytes, f64> {
    intersect(sources, agg)
        .map(|(m, s)| (m.clone(), s))
        .collect()
}

fn intersection_card(sources: &[(Source, f64)], limit: usize) -> usize {
    let found = intersect(sources, Aggregate::Sum);
    match limit {
        0 => found.count(),
        n => found.take(n).count(),
    }
}

fn difference(sources: &[(Source, f64)]) -> IndexMap<Bytes, f64> {
    let (first, _) = sources[0];
    first
        .iter()
        .filter(|(m, _)| sources[1..].iter().all(|(s, _)| s.score(m).is_none()))
        .map(|(m, s)| (m.clone(), s))
        .collect()
}

fn to_zset(members: IndexMap<Bytes, f64>) -> ZSet {
    let mut z = ZSet::default();
    for (m, s) in members {
        // `+ 0.0` turns -0 into 0, as everywhere a score enters a sorted set.
        z.insert(m, s + 0.0);
    }
    z
}

/// Stores a non-empty result at `dest` (replacing whatever was there) or deletes `dest`.
fn store(cx: &mut Cx, dest: &Bytes, result: IndexMap<Bytes, f64>) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    if result.is_empty() {
        if cx.db().remove(dest, now, mode).is_some() {
            cx.dirty += 1;
        }
        return cx.out.int(0);
    }
    let len = result.len();
    cx.db()
        .insert(dest.clone(), Value::ZSet(Box::new(to_zset(result))), None);
    cx.dirty += 1;
    cx.out.int(len as i64);
}

/// The result in score order, with scores interleaved when asked.
fn reply(out: &mut Out, result: IndexMap<Bytes, f64>, with_scores: bool) {
    let z = to_zset(result);
    out.scored_array(z.len(), with_scores);
    for (score, member) in &z.order {
        out.scored(member, with_scores.then_some(score.0));
    }
}

#[cfg(test)]
#[path = "combine_tests.rs"]
mod tests;
