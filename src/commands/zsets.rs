//! Sorted set commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZRANGE
//! (by rank, score or lex, REV, LIMIT, WITHSCORES), ZREVRANGE, Z[REV]RANGEBYSCORE,
//! Z[REV]RANGEBYLEX, ZCOUNT, ZLEXCOUNT, ZPOPMIN, ZPOPMAX here; ZMPOP, ZREMRANGEBY*,
//! ZRANGESTORE and ZRANDMEMBER in `edits`; ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD in
//! `combine`.
//!
//! A `ZSet` keeps members ordered by (score, member bytes), exactly Redis' skiplist order. Score
//! intervals are walked from a `BTreeSet` range; lex intervals assume equal scores, as in Redis.

mod combine;
mod edits;
mod ranges;

use super::lists::positive_arg;
use super::movable::{dest_then_numkeys, numkeys_first};
use super::{data, flags::*, float_arg, is, CommandSpec, Cx};
use crate::db::{Score, Value, ZSet};
use crate::resp::Out;
use bytes::Bytes;
use combine::{combine, Form, Op};
use ranges::{parse_range, select, within, By, LexRange, ScoreRange};

pub const COMMANDS: &[CommandSpec] = &[
    data("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), zadd),
    data("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), zincrby),
    data("zrem", -3, WRITE | FAST, (1, 1, 1), zrem),
    data("zscore", 3, READONLY | FAST, (1, 1, 1), zscore),
    data("zmscore", -3, READONLY | FAST, (1, 1, 1), zmscore),
    data("zcard", 2, READONLY | FAST, (1, 1, 1), zcard),
    data("zrank", -3, READONLY | FAST, (1, 1, 1), zrank),
    data("zrevrank", -3, READONLY | FAST, (1, 1, 1), zrevrank),
    data("zrange", -4, READONLY, (1, 1, 1), zrange),
    data("zrevrange", -4, READONLY, (1, 1, 1), zrevrange),
    data("zrangebyscore", -4, READONLY, (1, 1, 1), zrangebyscore),
    data(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        zrevrangebyscore,
    ),
    data("zrangebylex", -4, READONLY, (1, 1, 1), zrangebylex),
    data("zrevrangebylex", -4, READONLY, (1, 1, 1), zrevrangebylex),
    data("zcount", 4, READONLY | FAST, (1, 1, 1), zcount),
    data("zlexcount", 4, READONLY | FAST, (1, 1, 1), zlexcount),
    data("zpopmin", -2, WRITE | FAST, (1, 1, 1), zpopmin),
    data("zpopmax", -2, WRITE | FAST, (1, 1, 1), zpopmax),
    data("zmpop", -4, WRITE, (0, 0, 0), edits::zmpop).movable(numkeys_first),
    data(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        edits::zremrangebyrank,
    ),
    data(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        edits::zremrangebyscore,
    ),
    data("zremrangebylex", 4, WRITE, (1, 1, 1), edits::zremrangebylex),
    data(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        edits::zrangestore,
    ),
    data("zrandmember", -2, READONLY, (1, 1, 1), edits::zrandmember),
    data("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), zunionstore).movable(dest_then_numkeys),
    data("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), zinterstore).movable(dest_then_numkeys),
    data("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), zdiffstore).movable(dest_then_numkeys),
    data("zunion", -3, READONLY, (0, 0, 0), zunion).movable(numkeys_first),
    data("zinter", -3, READONLY, (0, 0, 0), zinter).movable(numkeys_first),
    data("zdiff", -3, READONLY, (0, 0, 0), zdiff).movable(numkeys_first),
    data("zintercard", -3, READONLY, (0, 0, 0), zintercard).movable(numkeys_first),
];

/// One element of a sorted set's order.
type Elem = (Score, Bytes);

fn as_zset(v: &Value) -> Option<&ZSet> {
    match v {
        Value::ZSet(z) => Some(z),
        _ => None,
    }
}

fn as_zset_mut(v: &mut Value) -> Option<&mut ZSet> {
    match v {
        Value::ZSet(z) => Some(z),
        _ => None,
    }
}

/// The sorted set at `key` for a read command, beside the reply writer; `Err` once WRONGTYPE
/// is sent.
fn read<'c, 'a>(cx: &'c mut Cx<'a>, key: &[u8]) -> Result<(Option<&'c ZSet>, &'c mut Out<'a>), ()> {
    cx.read(key);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as(key, now, mode, as_zset) {
        Ok(z) => Ok((z, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The sorted set at `key` for a write command, created empty first when `create` is set.
fn write<'c>(cx: &'c mut Cx, key: &Bytes, create: bool) -> Result<Option<&'c mut ZSet>, ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let out = &mut cx.out;
    let db = &mut cx.ks.dbs[cx.db_index];
    let found = if create {
        db.get_or_create_as(key, now, mode, || Value::ZSet(Box::default()), as_zset_mut)
            .map(Some)
    } else {
        db.get_as_mut(key, now, mode, as_zset_mut)
    };
    found.map_err(|e| out.error(e))
}

/// ZADD options.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

pub(crate) fn zadd(cx: &mut Cx, args: &[Bytes]) {
    add(cx, args, false);
}

/// ZINCRBY key increment member: ZADD with INCR (option words are parsed the same way).
fn zincrby(cx: &mut Cx, args: &[Bytes]) {
    add(cx, args, true);
}

/// Parses the leading option words; returns them and where the score-member pairs start.
fn add_flags(args: &[Bytes], incr: bool) -> (AddFlags, usize) {
    let mut f = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut i = 2;
    while let Some(a) = args.get(i).filter(|a| a.len() <= 4) {
        let flag = match a.to_ascii_lowercase().as_slice() {
            b"nx" => &mut f.nx,
            b"xx" => &mut f.xx,
            b"gt" => &mut f.gt,
            b"lt" => &mut f.lt,
            b"ch" => &mut f.ch,
            b"incr" => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    (f, i)
}

/// Checks option combinations and parses every score before anything changes.
fn add_scores(out: &mut Out, f: &AddFlags, pairs: &[Bytes]) -> Option<Vec<f64>> {
    let problem = if pairs.is_empty() || pairs.len() % 2 == 1 {
        Some("ERR syntax error")
    } else if f.nx && f.xx {
        Some("ERR XX and NX options at the same time are not compatible")
    } else if (f.gt || f.lt) && f.nx || f.gt && f.lt {
        Some("ERR GT, LT, and/or NX options at the same time are not compatible")
    } else if f.incr && pairs.len() > 2 {
        Some("ERR INCR option supports a single increment-element pair")
    } else {
        None
    };
    if let Some(msg) = problem {
        out.error(msg);
        return None;
    }
    pairs
        .chunks_exact(2)
        .map(|p| float_arg(out, &p[0]))
        .collect()
}

fn add(cx: &mut Cx, args: &[Bytes], incr: bool) {
    let (f, first) = add_flags(args, incr);
    let pairs = &args[first..];
    let Some(scores) = add_scores(&mut cx.out, &f, pairs) else {
        return;
    };
    let z = match write(cx, &args[1], !f.xx) {
        Err(()) => return,
        Ok(None) => return reply_add(&mut cx.out, &f, 0, 0, None),
        Ok(Some(z)) => z,
    };
    let (mut added, mut updated, mut last, mut nan) = (0, 0, None, false);
    for (p, score) in pairs.chunks_exact(2).zip(scores) {
        match add_one(z, &p[1], score, &f) {
            Err(()) => {
                nan = true;
                break;
            }
            Ok(None) => {}
            Ok(Some((s, change))) => {
                added += (change == Change::Added) as usize;
                updated += (change == Change::Updated) as usize;
                last = Some(s);
            }
        }
    }
    cx.dirty += (added + updated) as u64;
    cx.db().remove_if_empty(&args[1]);
    if nan {
        return cx.out.error("ERR resulting score is not a number (NaN)");
    }
    reply_add(&mut cx.out, &f, added, updated, last);
}

/// ZADD counts added (or with CH also updated) members; INCR replies the new score or null.
fn reply_add(out: &mut Out, f: &AddFlags, added: usize, updated: usize, last: Option<f64>) {
    match (f.incr, last) {
        (true, Some(s)) => out.double(s),
        (true, None) => out.null(),
        (false, _) => out.int((added + if f.ch { updated } else { 0 }) as i64),
    }
}

#[derive(PartialEq)]
enum Change {
    Added,
    Updated,
    Unchanged,
}

/// Applies one pair under the options: the member's resulting score and what changed, `None`
/// when the options skip it, `Err` when an increment produces NaN.
fn add_one(
    z: &mut ZSet,
    member: &Bytes,
    score: f64,
    f: &AddFlags,
) -> Result<Option<(f64, Change)>, ()> {
    let Some(&cur) = z.scores.get(member) else {
        if f.xx {
            return Ok(None);
        }
        // `+ 0.0` stores -0 as 0 so that both sort together, as they compare equal in Redis.
        z.insert(member.clone(), score + 0.0);
        return Ok(Some((score, Change::Added)));
    };
    if f.nx {
        return Ok(None);
    }
    let new = if f.incr { cur + score } else { score };
    if new.is_nan() {
        return Err(());
    }
    if (f.lt && new >= cur) || (f.gt && new <= cur) {
        return Ok(None);
    }
    if new == cur {
        return Ok(Some((new, Change::Unchanged)));
    }
    z.insert(member.clone(), new + 0.0);
    Ok(Some((new, Change::Updated)))
}

fn zrem(cx: &mut Cx, args: &[Bytes]) {
    let z = match write(cx, &args[1], false) {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(z)) => z,
    };
    let removed = args[2..].iter().filter(|m| z.remove(m)).count();
    cx.dirty += removed as u64;
    cx.db().remove_if_empty(&args[1]);
    cx.out.int(removed as i64);
}

fn zscore(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((z, out)) = read(cx, &args[1]) {
        reply_score(out, z, &args[2]);
    }
}

fn zmscore(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((z, out)) = read(cx, &args[1]) {
        out.array(args.len() - 2);
        for m in &args[2..] {
            reply_score(out, z, m);
        }
    }
}

fn reply_score(out: &mut Out, z: Option<&ZSet>, member: &[u8]) {
    match z.and_then(|z| z.scores.get(member)) {
        Some(&s) => out.double(s),
        None => out.null(),
    }
}

fn zcard(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((z, out)) = read(cx, &args[1]) {
        out.int(z.map_or(0, |z| z.len() as i64));
    }
}

fn zrank(cx: &mut Cx, args: &[Bytes]) {
    rank(cx, args, false);
}

fn zrevrank(cx: &mut Cx, args: &[Bytes]) {
    rank(cx, args, true);
}

/// Z[REV]RANK key member [WITHSCORE].
fn rank(cx: &mut Cx, args: &[Bytes], rev: bool) {
    if args.len() > 4 {
        let name = if rev { "zrevrank" } else { "zrank" };
        return cx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let with_score = match args.get(3) {
        None => false,
        Some(a) if is(a, "withscore") => true,
        Some(_) => return cx.syntax_error(),
    };
    let Ok((z, out)) = read(cx, &args[1]) else {
        return;
    };
    let member = &args[2];
    let found = z.and_then(|z| {
        let s = *z.scores.get(member)?;
        let below = z.order.range(..(Score(s), member.clone())).count();
        Some((if rev { z.len() - 1 - below } else { below }, s))
    });
    match (found, with_score) {
        (None, true) => out.null_array(),
        (None, false) => out.null(),
        (Some((r, _)), false) => out.int(r as i64),
        (Some((r, s)), true) => {
            out.array(2);
            out.int(r as i64);
            out.double(s);
        }
    }
}

fn zrange(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, None, None);
}

fn zrevrange(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, Some(By::Rank), Some(true));
}

fn zrangebyscore(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, Some(By::Score), Some(false));
}

fn zrevrangebyscore(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, Some(By::Score), Some(true));
}

fn zrangebylex(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, Some(By::Lex), Some(false));
}

fn zrevrangebylex(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, Some(By::Lex), Some(true));
}

fn range(cx: &mut Cx, args: &[Bytes], by: Option<By>, rev: Option<bool>) {
    let Some((q, bounds)) = parse_range(&mut cx.out, args, by, rev) else {
        return;
    };
    let Ok((z, out)) = read(cx, &args[1]) else {
        return;
    };
    let found = z.map_or_else(Vec::new, |z| select(z, &q, &bounds));
    out.scored_array(found.len(), q.with_scores);
    for (score, member) in found {
        out.scored(member, q.with_scores.then_some(score.0));
    }
}

fn zcount(cx: &mut Cx, args: &[Bytes]) {
    let Some(r) = ScoreRange::parse(&args[2], &args[3]) else {
        return cx.out.error("ERR min or max is not a float");
    };
    if let Ok((z, out)) = read(cx, &args[1]) {
        out.int(z.map_or(0, |z| within(z, &r, false).count() as i64));
    }
}

fn zlexcount(cx: &mut Cx, args: &[Bytes]) {
    let Some(r) = LexRange::parse(&args[2], &args[3]) else {
        return cx.out.error("ERR min or max not valid string range item");
    };
    if let Ok((z, out)) = read(cx, &args[1]) {
        out.int(z.map_or(0, |z| within(z, &r, false).count() as i64));
    }
}

fn zpopmin(cx: &mut Cx, args: &[Bytes]) {
    pop(cx, args, false);
}

fn zpopmax(cx: &mut Cx, args: &[Bytes]) {
    pop(cx, args, true);
}

/// ZPOPMIN/ZPOPMAX key [count]: member, score pairs (flat in RESP2).
fn pop(cx: &mut Cx, args: &[Bytes], highest: bool) {
    if args.len() > 3 {
        return cx.syntax_error();
    }
    let count = match args.get(2) {
        None => 1,
        Some(a) => match positive_arg(&mut cx.out, a, None) {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => return,
        },
    };
    if count == 0 {
        // Nothing is popped, so the key is only looked at (not touched).
        let (now, mode) = (cx.now_ms(), cx.mode());
        return match cx.db().get_as(&args[1], now, mode, as_zset) {
            Err(e) => cx.out.error(e),
            Ok(_) => cx.out.array(0),
        };
    }
    let z = match write(cx, &args[1], false) {
        Err(()) => return,
        Ok(None) => return cx.out.array(0),
        Ok(Some(z)) => z,
    };
    let popped: Vec<(Bytes, f64)> = (0..count).map_while(|_| z.pop_edge(highest)).collect();
    cx.dirty += popped.len() as u64;
    cx.db().remove_if_empty(&args[1]);
    // Without a count RESP3 keeps the flat [member, score] of RESP2; with one it has pairs.
    let pairs = args.len() == 3 && cx.out.is_resp3();
    cx.out.array(if pairs {
        popped.len()
    } else {
        popped.len() * 2
    });
    for (member, score) in popped {
        if pairs {
            cx.out.array(2);
        }
        cx.out.bulk(&member);
        cx.out.double(score);
    }
}

fn zunionstore(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Union, Form::Store);
}

fn zinterstore(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Inter, Form::Store);
}

fn zdiffstore(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Diff, Form::Store);
}

fn zunion(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Union, Form::Reply);
}

fn zinter(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Inter, Form::Reply);
}

fn zdiff(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Diff, Form::Reply);
}

fn zintercard(cx: &mut Cx, args: &[Bytes]) {
    combine(cx, args, Op::Inter, Form::Card);
}

#[cfg(test)]
#[path = "zsets_tests.rs"]
mod tests;
