//! Range arguments of the sorted set commands: score intervals (`(` exclusive, `-inf`/`+inf`),
//! lex intervals (`-`, `+`, `[m`, `(m`), the ZRANGE option words, and walking an interval of a
//! `ZSet`'s order in either direction.

use super::Elem;
use crate::commands::lists::clamp_range;
use crate::commands::{int_arg, is};
use crate::db::{Score, ZSet};
use crate::resp::Out;
use crate::text::parse_f64;
use bytes::Bytes;
use std::ops::Bound;

/// An interval of a sorted set's order: by score or by member.
pub(super) trait Interval {
    fn above_min(&self, e: &Elem) -> bool;
    fn below_max(&self, e: &Elem) -> bool;
    /// The order from where a forward (or reverse) walk should start looking.
    fn walk<'z>(&self, z: &'z ZSet, rev: bool) -> Box<dyn Iterator<Item = &'z Elem> + 'z> {
        if rev {
            Box::new(z.order.iter().rev())
        } else {
            Box::new(z.order.iter())
        }
    }
}

/// The elements inside `r`, lowest first (highest first when `rev`).
pub(super) fn within<'z, I: Interval>(
    z: &'z ZSet,
    r: &'z I,
    rev: bool,
) -> impl Iterator<Item = &'z Elem> {
    r.walk(z, rev)
        .skip_while(move |e| {
            if rev {
                !r.below_max(e)
            } else {
                !r.above_min(e)
            }
        })
        .take_while(move |e| if rev { r.above_min(e) } else { r.below_max(e) })
}

/// A score interval; `(` makes an end exclusive.
pub(super) struct ScoreRange {
    min: f64,
    min_ex: bool,
    max: f64,
    max_ex: bool,
}

impl ScoreRange {
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Option<Self> {
        let (min, min_ex) = score_bound(min)?;
        let (max, max_ex) = score_bound(max)?;
        Some(ScoreRange {
            min,
            min_ex,
            max,
            max_ex,
        })
    }
}

/// One end of a score interval, as Redis reads it with `strtod` (so "" is 0 and leading
/// spaces are allowed).
fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (num, ex) = match arg.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (arg, false),
    };
    let v = if num.is_empty() {
        0.0
    } else {
        parse_f64(num.trim_ascii_start())?
    };
    Some((v, ex))
}

impl Interval for ScoreRange {
    fn above_min(&self, e: &Elem) -> bool {
        e.0 .0 > self.min || (!self.min_ex && e.0 .0 == self.min)
    }
    fn below_max(&self, e: &Elem) -> bool {
        e.0 .0 < self.max || (!self.max_ex && e.0 .0 == self.max)
    }
    fn walk<'z>(&self, z: &'z ZSet, rev: bool) -> Box<dyn Iterator<Item = &'z Elem> + 'z> {
        if !rev {
            let from = (Score(self.min), Bytes::new());
            return Box::new(z.order.range((Bound::Included(from), Bound::Unbounded)));
        }
        if self.max == f64::INFINITY {
            return Box::new(z.order.iter().rev());
        }
        // Everything scored <= max sorts before the smallest element scored just above it.
        let to = (Score(self.max.next_up()), Bytes::new());
        Box::new(z.order.range((Bound::Unbounded, Bound::Excluded(to))).rev())
    }
}

/// One end of a lex interval: `-`, `+`, `[member` or `(member`.
enum Lex {
    Lowest,
    Highest,
    Incl(Bytes),
    Excl(Bytes),
}

pub(super) struct LexRange {
    min: Lex,
    max: Lex,
}

impl LexRange {
    pub(super) fn parse(min: &Bytes, max: &Bytes) -> Option<Self> {
        Some(LexRange {
            min: lex_bound(min)?,
            max: lex_bound(max)?,
        })
    }
}

fn lex_bound(arg: &Bytes) -> Option<Lex> {
    match arg.first()? {
        b'-' if arg.len() == 1 => Some(Lex::Lowest),
        b'+' if arg.len() == 1 => Some(Lex::Highest),
        b'[' => Some(Lex::Incl(arg.slice(1..))),
        b'(' => Some(Lex::Excl(arg.slice(1..))),
        _ => None,
    }
}

impl Interval for LexRange {
    fn above_min(&self, e: &Elem) -> bool {
        match &self.min {
            Lex::Lowest => true,
            Lex::Highest => false,
            Lex::Incl(b) => e.1 >= b,
            Lex::Excl(b) => e.1 > b,
        }
    }
    fn below_max(&self, e: &Elem) -> bool {
        match &self.max {
            Lex::Lowest => false,
            Lex::Highest => true,
            Lex::Incl(b) => e.1 <= b,
            Lex::Excl(b) => e.1 < b,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum By {
    Rank,
    Score,
    Lex,
}

/// What a ZRANGE-family call asked for after its options.
pub(super) struct RangeQuery {
    pub(super) by: By,
    pub(super) rev: bool,
    pub(super) with_scores: bool,
    pub(super) offset: i64,
    /// Negative means no limit; -1 also means "LIMIT not given".
    pub(super) limit: i64,
}

/// Parses the options after `key min max`. `by`/`rev` are fixed by the older commands and
/// chosen by words in ZRANGE (each word at most once).
fn range_query(
    out: &mut Out,
    args: &[Bytes],
    by: Option<By>,
    rev: Option<bool>,
) -> Option<RangeQuery> {
    let (mut by, mut rev) = (by, rev);
    let (mut with_scores, mut offset, mut limit) = (false, 0, -1);
    let mut i = 4;
    while let Some(a) = args.get(i) {
        if is(a, "withscores") {
            with_scores = true;
        } else if is(a, "limit") && args.len() - i > 2 {
            offset = int_arg(out, &args[i + 1])?;
            limit = int_arg(out, &args[i + 2])?;
            i += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if by.is_none() && is(a, "byscore") {
            by = Some(By::Score);
        } else if by.is_none() && is(a, "bylex") {
            by = Some(By::Lex);
        } else {
            out.error("ERR syntax error");
            return None;
        }
        i += 1;
    }
    let (by, rev) = (by.unwrap_or(By::Rank), rev.unwrap_or(false));
    if limit != -1 && by == By::Rank {
        out.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return None;
    }
    if with_scores && by == By::Lex {
        out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    Some(RangeQuery {
        by,
        rev,
        with_scores,
        offset,
        limit,
    })
}

/// The parsed interval of a range query.
pub(super) enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn parse_bounds(out: &mut Out, q: &RangeQuery, a: &Bytes, b: &Bytes) -> Option<Bounds> {
    // The score and lex forms take `max min` when reversed.
    let (lo, hi) = if q.rev && q.by != By::Rank {
        (b, a)
    } else {
        (a, b)
    };
    let bounds = match q.by {
        By::Rank => Bounds::Rank(int_arg(out, lo)?, int_arg(out, hi)?),
        By::Score => match ScoreRange::parse(lo, hi) {
            Some(r) => Bounds::Score(r),
            None => {
                out.error("ERR min or max is not a float");
                return None;
            }
        },
        By::Lex => match LexRange::parse(lo, hi) {
            Some(r) => Bounds::Lex(r),
            None => {
                out.error("ERR min or max not valid string range item");
                return None;
            }
        },
    };
    Some(bounds)
}

/// A ZRANGE-family call's options and interval (`args` = name key min max options...).
pub(super) fn parse_range(
    out: &mut Out,
    args: &[Bytes],
    by: Option<By>,
    rev: Option<bool>,
) -> Option<(RangeQuery, Bounds)> {
    let q = range_query(out, args, by, rev)?;
    let bounds = parse_bounds(out, &q, &args[2], &args[3])?;
    Some((q, bounds))
}

/// The elements of `z` a parsed range selects, in reply order.
pub(super) fn select<'z>(z: &'z ZSet, q: &RangeQuery, bounds: &'z Bounds) -> Vec<&'z Elem> {
    // Redis walks past the end for a negative offset; a negative limit means "all".
    let (skip, take) = match (usize::try_from(q.offset), usize::try_from(q.limit)) {
        (Err(_), _) => (0, 0),
        (Ok(o), l) => (o, l.unwrap_or(usize::MAX)),
    };
    match bounds {
        Bounds::Rank(start, end) => match clamp_range(*start, *end, z.len()) {
            None => Vec::new(),
            Some((s, e)) if q.rev => z.order.iter().rev().skip(s).take(e - s + 1).collect(),
            Some((s, e)) => z.order.iter().skip(s).take(e - s + 1).collect(),
        },
        Bounds::Score(r) => within(z, r, q.rev).skip(skip).take(take).collect(),
        Bounds::Lex(r) => within(z, r, q.rev).skip(skip).take(take).collect(),
    }
}
