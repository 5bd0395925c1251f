//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE,
//! SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms.
//!
//! A set is an `IndexSet`. Its order mimics what Redis' small encodings show: while a set holds
//! only integers (an intset, up to 512 of them) they stay numerically sorted, otherwise members
//! keep insertion order. Missing keys act as empty sets; random choices come from `Cx`'s seeded
//! generator, so replies replay exactly.

use super::lists::{at_least_one, negatable_arg, positive_arg};
use super::{data, flags::*, CommandSpec, Cx, Propagate};
use crate::db::Value;
use crate::resp::{parse_i64, Out};
use bytes::Bytes;
use indexmap::IndexSet;
use std::collections::BTreeSet;

type Set = IndexSet<Bytes>;

/// Redis' default set-max-intset-entries.
const INTSET_MAX_ENTRIES: usize = 512;
/// Largest |count| SRANDMEMBER serves with repetitions (Redis has no bound; we keep replies finite).
pub(crate) const MAX_RANDOM_REPLY: u64 = 1_000_000;
/// SPOP with a count replicates as SREMs of at most this many members, as Redis does.
const SREM_BATCH: usize = 1024;

pub const COMMANDS: &[CommandSpec] = &[
    data("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), sadd),
    data("srem", -3, WRITE | FAST, (1, 1, 1), srem),
    data("smembers", 2, READONLY, (1, 1, 1), smembers),
    data("sismember", 3, READONLY | FAST, (1, 1, 1), sismember),
    data("smismember", -3, READONLY | FAST, (1, 1, 1), smismember),
    data("scard", 2, READONLY | FAST, (1, 1, 1), scard),
    data("spop", -2, WRITE | FAST, (1, 1, 1), spop),
    data("srandmember", -2, READONLY, (1, 1, 1), srandmember),
    data("smove", 4, WRITE | FAST, (1, 2, 1), smove),
    data("sinter", -2, READONLY, (1, -1, 1), sinter),
    data("sintercard", -3, READONLY, (0, 0, 0), sintercard).movable(super::movable::numkeys_first),
    data("sunion", -2, READONLY, (1, -1, 1), sunion),
    data("sdiff", -2, READONLY, (1, -1, 1), sdiff),
    data("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), sinterstore),
    data("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), sunionstore),
    data("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), sdiffstore),
];

fn as_set(v: &Value) -> Option<&Set> {
    match v {
        Value::Set(s) => Some(s),
        _ => None,
    }
}

fn as_set_mut(v: &mut Value) -> Option<&mut Set> {
    match v {
        Value::Set(s) => Some(s),
        _ => None,
    }
}

/// The set at `key` for a read command, beside the reply writer; `Err` once WRONGTYPE is sent.
fn read<'c, 'a>(cx: &'c mut Cx<'a>, key: &[u8]) -> Result<(Option<&'c Set>, &'c mut Out<'a>), ()> {
    cx.read(key);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as(key, now, mode, as_set) {
        Ok(s) => Ok((s, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The set at `key` for a write command (`None` if absent); `Err` once WRONGTYPE is sent.
fn write<'c>(cx: &'c mut Cx, key: &[u8]) -> Result<Option<&'c mut Set>, ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let out = &mut cx.out;
    cx.ks.dbs[cx.db_index]
        .get_as_mut(key, now, mode, as_set_mut)
        .map_err(|e| out.error(e))
}

/// The set at `key`, created empty if absent; `Err` once WRONGTYPE is sent.
fn create<'c>(cx: &'c mut Cx, key: &Bytes) -> Result<&'c mut Set, ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let out = &mut cx.out;
    cx.ks.dbs[cx.db_index]
        .get_or_create_as(key, now, mode, || Value::Set(Box::default()), as_set_mut)
        .map_err(|e| out.error(e))
}

/// The live set at `key` without side effects, once an earlier lookup checked it.
fn peek<'c>(cx: &'c Cx, key: &[u8]) -> Option<&'c Set> {
    cx.ks.dbs[cx.db_index]
        .peek(key, cx.now_ms(), cx.mode())
        .and_then(|e| as_set(&e.value))
}

/// Adds a member where Redis' encodings would show it: integers join an all-integer set of
/// fewer than 512 members in numeric order, anything else goes last. True if it was new.
fn add_member(set: &mut Set, m: Bytes) -> bool {
    if set.contains(&m) {
        return false;
    }
    let at = match parse_i64(&m) {
        Some(n) if set.len() < INTSET_MAX_ENTRIES => intset_position(set, n),
        _ => None,
    };
    match at {
        Some(i) => set.shift_insert(i, m),
        None => set.insert(m),
    }
}

/// Where `n` belongs if every member is an integer; `None` if some member is not.
fn intset_position(set: &Set, n: i64) -> Option<usize> {
    let mut first_greater = None;
    for (i, m) in set.iter().enumerate() {
        let v = parse_i64(m)?;
        if v > n && first_greater.is_none() {
            first_greater = Some(i);
        }
    }
    Some(first_greater.unwrap_or(set.len()))
}

fn sadd(cx: &mut Cx, args: &[Bytes]) {
    let Ok(set) = create(cx, &args[1]) else {
        return;
    };
    let added = args[2..]
        .iter()
        .filter(|m| add_member(set, (*m).clone()))
        .count();
    cx.dirty += added as u64;
    cx.out.int(added as i64);
}

fn srem(cx: &mut Cx, args: &[Bytes]) {
    let set = match write(cx, &args[1]) {
        Err(()) => return,
        Ok(None) => return cx.out.int(0),
        Ok(Some(s)) => s,
    };
    let removed = args[2..].iter().filter(|m| set.shift_remove(*m)).count();
    cx.dirty += removed as u64;
    cx.db().remove_if_empty(&args[1]);
    cx.out.int(removed as i64);
}

fn smembers(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((set, out)) = read(cx, &args[1]) {
        out.set(set.map_or(0, |s| s.len()));
        for m in set.into_iter().flatten() {
            out.bulk(m);
        }
    }
}

fn sismember(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((set, out)) = read(cx, &args[1]) {
        out.int(set.is_some_and(|s| s.contains(&args[2])) as i64);
    }
}

fn smismember(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((set, out)) = read(cx, &args[1]) {
        out.array(args.len() - 2);
        for m in &args[2..] {
            out.int(set.is_some_and(|s| s.contains(m)) as i64);
        }
    }
}

fn scard(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((set, out)) = read(cx, &args[1]) {
        out.int(set.map_or(0, |s| s.len() as i64));
    }
}

fn random_index(cx: &mut Cx, n: usize) -> usize {
    (cx.random_u64() % n as u64) as usize
}

/// `k < n` distinct positions out of `n`, uniformly (Floyd's method), in ascending order.
fn sample(cx: &mut Cx, n: usize, k: usize) -> Vec<usize> {
    let mut chosen = BTreeSet::new();
    for j in n - k..n {
        let t = random_index(cx, j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// Positions for a RANDMEMBER-style `count` over `len > 0` elements: distinct ones (all of
/// them when `count >= len`) for `count >= 0`, `|count|` independent draws for `count < 0`.
fn random_picks(cx: &mut Cx, len: usize, count: i64) -> Vec<usize> {
    match count {
        c if c < 0 => (0..c.unsigned_abs())
            .map(|_| random_index(cx, len))
            .collect(),
        c if c as u64 >= len as u64 => (0..len).collect(),
        c => sample(cx, len, c as usize),
    }
}

/// The `count [WITHSCORES|WITHVALUES]` of ZRANDMEMBER and HRANDFIELD (`rest` = the arguments
/// after the key, at least one): the count and whether the word was given, in Redis' range
/// (a huge negative count is served until the client is over its output limit).
fn random_count(out: &mut Out, rest: &[Bytes], word: &str) -> Option<(i64, bool)> {
    let n = negatable_arg(out, &rest[0])?;
    let with = match rest.get(1..) {
        Some([]) => false,
        Some([w]) if w.eq_ignore_ascii_case(word.as_bytes()) => true,
        _ => {
            out.error("ERR syntax error");
            return None;
        }
    };
    if (with && n.unsigned_abs() > (i64::MAX / 2) as u64) || n == i64::MIN {
        out.error("ERR value is out of range");
        return None;
    }
    Some((n, with))
}

/// The shape ZRANDMEMBER and HRANDFIELD share, `key [count [word]]`: one random entry as a bulk
/// (null for a missing key), or with a count an array of entries (empty for a missing key).
/// `size` is the number of entries of a value of the command's type (`None` for another type);
/// `emit` replies entry `i` of such a value, followed by its score or value when `with` is set.
pub(crate) fn random_entries(
    cx: &mut Cx,
    args: &[Bytes],
    word: &str,
    size: fn(&Value) -> Option<usize>,
    emit: fn(&mut Out, &Value, usize, bool),
) {
    let count = match args.get(2..) {
        Some(rest) if !rest.is_empty() => match random_count(&mut cx.out, rest, word) {
            Some(c) => Some(c),
            None => return,
        },
        _ => None,
    };
    let len = match cx.read(&args[1]).map(|e| size(&e.value)) {
        None if count.is_some() => return cx.out.array(0),
        None => return cx.out.null(),
        Some(None) => return cx.wrongtype(),
        Some(Some(n)) => n,
    };
    // A negative count draws that many entries, written as they are drawn.
    let (picks, draws, with) = match count {
        None => (vec![random_index(cx, len)], 0, false),
        Some((n, with)) if n < 0 => (Vec::new(), n.unsigned_abs() as usize, with),
        Some((n, with)) => (random_picks(cx, len, n), 0, with),
    };
    let now = cx.now_ms();
    let Some(entry) = cx.ks.dbs[cx.db_index].peek(&args[1], now, cx.mode()) else {
        return cx.out.null();
    };
    let total = picks.len() + draws;
    if count.is_some() {
        cx.out.scored_array(total, with);
    }
    // RESP3 pairs each member with its score or value; RESP2 interleaves them.
    let pairs = with && cx.out.is_resp3();
    let mut listed = picks.into_iter();
    for _ in 0..total {
        if cx.out.full() {
            break; // the client is over its output limit: it will be closed
        }
        let i = listed
            .next()
            .unwrap_or_else(|| (rand_core::RngCore::next_u64(cx.rng) % len as u64) as usize);
        if pairs {
            cx.out.array(2);
        }
        emit(&mut cx.out, &entry.value, i, with);
    }
}

/// SPOP key [count]: removes random members; replicated as SREMs (or DEL when all go).
fn spop(cx: &mut Cx, args: &[Bytes]) {
    if args.len() > 3 {
        return cx.syntax_error();
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match positive_arg(&mut cx.out, a, None) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => return,
        },
    };
    let key = &args[1];
    let (now, mode) = (cx.now_ms(), cx.mode());
    let len = match cx.db().get_as(key, now, mode, as_set) {
        Err(e) => return cx.out.error(e),
        Ok(None) if count.is_some() => return cx.out.set(0),
        Ok(None) => return cx.out.null(),
        Ok(Some(s)) => s.len(),
    };
    let picks = match count {
        Some(0) => return cx.out.set(0),
        None => vec![random_index(cx, len)],
        Some(c) if c >= len => (0..len).collect(),
        Some(c) => sample(cx, len, c),
    };
    let Ok(Some(set)) = write(cx, key) else {
        return cx.out.null();
    };
    let mut wanted = picks.iter().copied().peekable();
    let mut popped = Vec::with_capacity(picks.len());
    let mut i = 0;
    set.retain(|m| {
        let hit = wanted.next_if_eq(&i).is_some();
        if hit {
            popped.push(m.clone());
        }
        i += 1;
        !hit
    });
    cx.dirty += popped.len() as u64;
    cx.db().remove_if_empty(key);
    cx.propagate = Propagate::Replace(if count.is_some_and(|c| c >= len) {
        vec![vec![Bytes::from_static(b"DEL"), key.clone()]]
    } else {
        popped
            .chunks(SREM_BATCH)
            .map(|c| [vec![Bytes::from_static(b"SREM"), key.clone()], c.to_vec()].concat())
            .collect()
    });
    match (count, popped.first()) {
        (None, Some(m)) => cx.out.bulk(m),
        _ => cx.out.bulk_set(popped.iter()),
    }
}

/// SRANDMEMBER key [count]: distinct members for count > 0, repeats allowed for count < 0.
fn srandmember(cx: &mut Cx, args: &[Bytes]) {
    if args.len() > 3 {
        return cx.syntax_error();
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match negatable_arg(&mut cx.out, a) {
            Some(n) if n.unsigned_abs() > MAX_RANDOM_REPLY && n < 0 => {
                return cx.out.error("ERR value is out of range");
            }
            Some(n) => Some(n),
            None => return,
        },
    };
    let len = match read(cx, &args[1]) {
        Err(()) => return,
        Ok((None, out)) if count.is_some() => return out.array(0),
        Ok((None, out)) => return out.null(),
        Ok((Some(s), _)) => s.len(),
    };
    let picks = match count {
        None => vec![random_index(cx, len)],
        Some(c) => random_picks(cx, len, c),
    };
    let members: Vec<Bytes> = peek(cx, &args[1]).map_or_else(Vec::new, |s| {
        picks
            .iter()
            .filter_map(|&i| s.get_index(i).cloned())
            .collect()
    });
    match (count, members.first()) {
        (None, Some(m)) => cx.out.bulk(m),
        (None, None) => cx.out.null(),
        _ => cx.out.bulks(members.iter()),
    }
}

/// SMOVE src dst member: 1 if the member left `src` (or both keys are the same set holding it).
fn smove(cx: &mut Cx, args: &[Bytes]) {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let (now, mode) = (cx.now_ms(), cx.mode());
    let present = match cx.db().get_as(src, now, mode, as_set) {
        Err(e) => return cx.out.error(e),
        Ok(None) => return cx.out.int(0),
        Ok(Some(s)) => s.contains(member),
    };
    if let Err(e) = cx.db().get_as(dst, now, mode, as_set) {
        return cx.out.error(e);
    }
    if src == dst || !present {
        return cx.out.int(present as i64);
    }
    if let Ok(Some(set)) = write(cx, src) {
        set.shift_remove(member);
    }
    cx.db().remove_if_empty(src);
    cx.dirty += 1;
    if create(cx, dst).is_ok_and(|set| add_member(set, member.clone())) {
        cx.dirty += 1;
    }
    cx.out.int(1);
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The result of an operation over `keys` (missing keys are empty sets); `Err` once
/// WRONGTYPE is sent. Every key is looked up (and counted) before any work, as in Redis.
fn combine(cx: &mut Cx, keys: &[Bytes], op: Op) -> Result<Set, ()> {
    for k in keys {
        read(cx, k)?;
    }
    let sets: Vec<Option<&Set>> = keys.iter().map(|k| peek(cx, k)).collect();
    let mut result = Set::new();
    match op {
        Op::Inter => {
            let Some(mut sets) = sets.into_iter().collect::<Option<Vec<_>>>() else {
                return Ok(result);
            };
            sets.sort_by_key(|s| s.len());
            for m in sets[0] {
                if sets[1..].iter().all(|s| s.contains(m)) {
                    result.insert(m.clone());
                }
            }
        }
        Op::Union => {
            for m in sets.iter().flatten().flat_map(|s| s.iter()) {
                add_member(&mut result, m.clone());
            }
        }
        Op::Diff => {
            for m in sets[0].into_iter().flatten() {
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    add_member(&mut result, m.clone());
                }
            }
        }
    }
    Ok(result)
}

fn sinter(cx: &mut Cx, args: &[Bytes]) {
    reply_combined(cx, &args[1..], Op::Inter);
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, at most `limit`
/// when that is not 0.
fn sintercard(cx: &mut Cx, args: &[Bytes]) {
    let Some(numkeys) = at_least_one(&mut cx.out, &args[1], "numkeys") else {
        return;
    };
    if numkeys > args.len() - 2 {
        return cx
            .out
            .error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0;
    for opt in args[numkeys + 2..].chunks(2) {
        match opt {
            [word, n] if word.eq_ignore_ascii_case(b"limit") => {
                let Some(n) = positive_arg(&mut cx.out, n, Some("ERR LIMIT can't be negative"))
                else {
                    return;
                };
                limit = usize::try_from(n).unwrap_or(usize::MAX);
            }
            _ => return cx.syntax_error(),
        }
    }
    if let Ok(found) = combine(cx, &args[2..numkeys + 2], Op::Inter) {
        let n = if limit == 0 {
            found.len()
        } else {
            found.len().min(limit)
        };
        cx.out.int(n as i64);
    }
}

fn sunion(cx: &mut Cx, args: &[Bytes]) {
    reply_combined(cx, &args[1..], Op::Union);
}

fn sdiff(cx: &mut Cx, args: &[Bytes]) {
    reply_combined(cx, &args[1..], Op::Diff);
}

fn reply_combined(cx: &mut Cx, keys: &[Bytes], op: Op) {
    if let Ok(set) = combine(cx, keys, op) {
        cx.out.bulk_set(set.iter());
    }
}

fn sinterstore(cx: &mut Cx, args: &[Bytes]) {
    store_combined(cx, args, Op::Inter);
}

fn sunionstore(cx: &mut Cx, args: &[Bytes]) {
    store_combined(cx, args, Op::Union);
}

fn sdiffstore(cx: &mut Cx, args: &[Bytes]) {
    store_combined(cx, args, Op::Diff);
}

/// S*STORE dst key...: replaces `dst` (and its TTL) with the result, or deletes it if empty.
fn store_combined(cx: &mut Cx, args: &[Bytes], op: Op) {
    let Ok(found) = combine(cx, &args[2..], op) else {
        return;
    };
    let dst = &args[1];
    let len = found.len();
    if len > 0 {
        // Stored like any new set: an intset (sorted) when it can be one.
        let mut set = Set::with_capacity(len);
        for m in found {
            add_member(&mut set, m);
        }
        cx.db().insert(dst.clone(), Value::Set(Box::new(set)), None);
        cx.dirty += 1;
    } else {
        let (now, mode) = (cx.now_ms(), cx.mode());
        if cx.db().remove(dst, now, mode).is_some() {
            cx.dirty += 1;
        }
    }
    cx.out.int(len as i64);
}

#[cfg(test)]
#[path = "sets_tests.rs"]
mod tests;
