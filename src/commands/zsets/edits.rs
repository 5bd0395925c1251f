//! Sorted set commands that remove or copy ranges, pop across keys or pick at random:
//! ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZRANGESTORE, ZMPOP, ZRANDMEMBER.

use super::ranges::{parse_range, select, within, LexRange, ScoreRange};
use super::{read, write, Elem, Value, ZSet};
use crate::commands::lists::{clamp_range, mpop_args};
use crate::commands::sets::random_entries;
use crate::commands::{int_arg, is, Cx, Propagate};
use crate::resp::Out;
use bytes::Bytes;

/// What a ZREMRANGEBY* call removes.
enum Removal {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

pub(super) fn zremrangebyrank(cx: &mut Cx, args: &[Bytes]) {
    let Some(start) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    if let Some(end) = int_arg(&mut cx.out, &args[3]) {
        remove_range(cx, &args[1], Removal::Rank(start, end));
    }
}

pub(super) fn zremrangebyscore(cx: &mut Cx, args: &[Bytes]) {
    match ScoreRange::parse(&args[2], &args[3]) {
        Some(r) => remove_range(cx, &args[1], Removal::Score(r)),
        None => cx.out.error("ERR min or max is not a float"),
    }
}

pub(super) fn zremrangebylex(cx: &mut Cx, args: &[Bytes]) {
    match LexRange::parse(&args[2], &args[3]) {
        Some(r) => remove_range(cx, &args[1], Removal::Lex(r)),
        None => cx.out.error("ERR min or max not valid string range item"),
    }
}

/// Removes the selected elements; replies how many went.
fn remove_range(cx: &mut Cx, key: &Bytes, what: Removal) {
    let z = match write(cx, key, false) {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(z)) => z,
    };
    let doomed: Vec<Elem> = match &what {
        Removal::Rank(start, end) => match clamp_range(*start, *end, z.len()) {
            None => Vec::new(),
            Some((s, e)) => z.order.iter().skip(s).take(e - s + 1).cloned().collect(),
        },
        Removal::Score(r) => within(z, r, false).cloned().collect(),
        Removal::Lex(r) => within(z, r, false).cloned().collect(),
    };
    for (_, member) in &doomed {
        z.remove(member);
    }
    cx.dirty += doomed.len() as u64;
    cx.db().remove_if_empty(key);
    cx.out.int(doomed.len() as i64);
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: ZRANGE's selection
/// stored at `dst` (an empty one deletes `dst`).
pub(super) fn zrangestore(cx: &mut Cx, args: &[Bytes]) {
    // Seen from the source key on, the arguments are ZRANGE's (WITHSCORES excepted).
    let range_args = &args[1..];
    if range_args[4..].iter().any(|a| is(a, "withscores")) {
        return cx.syntax_error();
    }
    let Some((q, bounds)) = parse_range(&mut cx.out, range_args, None, None) else {
        return;
    };
    let Ok((z, _)) = read(cx, &args[2]) else {
        return;
    };
    let mut result = ZSet::default();
    if let Some(z) = z {
        for (score, member) in select(z, &q, &bounds) {
            result.insert(member.clone(), score.0);
        }
    }
    let (dst, now, mode) = (&args[1], cx.now_ms(), cx.mode());
    let len = result.len();
    if len == 0 {
        if cx.db().remove(dst, now, mode).is_some() {
            cx.dirty += 1;
        }
    } else {
        cx.db()
            .insert(dst.clone(), Value::ZSet(Box::new(result)), None);
        cx.dirty += 1;
    }
    cx.out.int(len as i64);
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty key;
/// replicated as ZPOPMIN/ZPOPMAX of that key with the number popped.
pub(super) fn zmpop(cx: &mut Cx, args: &[Bytes]) {
    let Some((keys, highest, count)) = mpop_args(&mut cx.out, args, ["min", "max"]) else {
        return;
    };
    for key in keys {
        let z = match write(cx, key, false) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(z)) => z,
        };
        let popped: Vec<(Bytes, f64)> = (0..count).map_while(|_| z.pop_edge(highest)).collect();
        cx.dirty += popped.len() as u64;
        cx.db().remove_if_empty(key);
        let name = if highest { "ZPOPMAX" } else { "ZPOPMIN" };
        let n = Bytes::from(popped.len().to_string());
        cx.propagate = Propagate::Replace(vec![vec![Bytes::from(name), key.clone(), n]]);
        cx.out.array(2);
        cx.out.bulk(key);
        cx.out.array(popped.len());
        for (member, score) in popped {
            cx.out.array(2);
            cx.out.bulk(&member);
            cx.out.double(score);
        }
        return;
    }
    cx.out.null_array();
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub(super) fn zrandmember(cx: &mut Cx, args: &[Bytes]) {
    random_entries(cx, args, "withscores", size, emit);
}

fn size(v: &Value) -> Option<usize> {
    match v {
        Value::ZSet(z) => Some(z.len()),
        _ => None,
    }
}

fn emit(out: &mut Out, v: &Value, i: usize, with_score: bool) {
    let Value::ZSet(z) = v else {
        return;
    };
    if let Some((member, score)) = z.scores.get_index(i) {
        out.bulk(member);
        if with_score {
            out.double(*score);
        }
    }
}

#[cfg(test)]
#[path = "edits_tests.rs"]
mod tests;
