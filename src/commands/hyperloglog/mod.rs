//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE here; PFDEBUG and PFSELFTEST in `debug`.
//!
//! An HLL is a string in Redis' exact layout, so RDB files, replication and GET/SET carry it
//! unchanged: a 16-byte header (`HYLL`, the encoding byte, 3 reserved bytes, the cached
//! cardinality as 8 little-endian bytes whose top bit marks it stale), then the registers in
//! the sparse (`sparse`) or dense (`dense`) representation. The estimator is in `estimate`.

mod debug;
mod dense;
mod estimate;
mod sparse;
#[cfg(test)]
mod tests;

use super::keys::peek;
use super::strings::rewrite_string;
use super::{data, flags::*, CommandSpec, Cx};
use crate::config::Config;
use crate::db::{Entry, Value};
use bytes::Bytes;
use estimate::Histogram;
use sparse::Set;

pub const COMMANDS: &[CommandSpec] = &[
    data("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), pfadd),
    data("pfcount", -2, READONLY | MAY_REPLICATE, (1, -1, 1), pfcount),
    data("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), pfmerge),
    data(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        (2, 2, 1),
        debug::pfdebug,
    ),
    data("pfselftest", 1, ADMIN, (0, 0, 0), debug::pfselftest),
];

/// Register index bits.
const P: u32 = 14;
/// Hash bits left for the run of zeroes.
const Q: u32 = 64 - P;
const REGISTERS: usize = 1 << P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const HDR_LEN: usize = 16;
const DENSE_LEN: usize = HDR_LEN + dense::REGISTERS_LEN;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;

const NOT_AN_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPTED: &str = "INVALIDOBJ Corrupted HLL object detected";

/// `hll-sparse-max-bytes`: the longest a sparse HLL string may grow before it turns dense.
pub(crate) fn sparse_max_bytes(c: &Config) -> usize {
    c.noop
        .get("hll-sparse-max-bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// A new, empty HLL: sparse, with a valid cached cardinality of 0.
fn empty() -> Vec<u8> {
    let mut s = b"HYLL".to_vec();
    s.extend([SPARSE, 0, 0, 0]);
    s.extend([0; 8]);
    s.extend(sparse::empty_body());
    s
}

/// Redis' check that a string is an HLL: header, magic, a known encoding, a dense length.
fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR_LEN
        && s.starts_with(b"HYLL")
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_LEN)
}

fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

fn cached_cardinality(s: &[u8]) -> Option<u64> {
    (s[15] & 0x80 == 0).then(|| u64::from_le_bytes(s[8..16].try_into().expect("8 bytes")))
}

/// Adds one element; `Set::Invalid` for a corrupted sparse HLL.
fn add(s: &mut Vec<u8>, element: &[u8], max_bytes: usize) -> Set {
    let (index, count) = estimate::register_and_count(element);
    if s[4] == DENSE {
        match dense::raise(&mut s[HDR_LEN..], index, count) {
            true => Set::Updated,
            false => Set::Unchanged,
        }
    } else {
        sparse::set(s, index, count, max_bytes)
    }
}

/// The register histogram, or `None` for a corrupted sparse HLL.
fn histogram(s: &[u8]) -> Option<Histogram> {
    let mut hist = [0; 64];
    if s[4] == DENSE {
        dense::histogram(&s[HDR_LEN..], &mut hist);
        return Some(hist);
    }
    sparse::histogram(s, &mut hist).then_some(hist)
}

/// Raises each of `max` to the HLL's register; false for a corrupted sparse HLL.
fn merge_into(s: &[u8], max: &mut [u8]) -> bool {
    if s[4] == DENSE {
        dense::merge_into(&s[HDR_LEN..], max);
        return true;
    }
    sparse::merge_into(s, max)
}

/// The HLL at `key` (looked up as a read, counting hits and misses, or as a write), `Ok(None)`
/// when absent; `Err` once a type error has been replied.
fn lookup(cx: &mut Cx, key: &[u8], read: bool) -> Result<Option<Vec<u8>>, ()> {
    let entry = if read { cx.read(key) } else { peek(cx, key) };
    let found = match entry {
        None => return Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => is_hll(s).then(|| s.to_vec()),
        Some(_) => {
            cx.wrongtype();
            return Err(());
        }
    };
    match found {
        Some(s) => Ok(Some(s)),
        None => {
            cx.out.error(NOT_AN_HLL);
            Err(())
        }
    }
}

/// Stores the HLL at `key`, keeping its TTL.
fn store(cx: &mut Cx, key: &Bytes, s: Vec<u8>) {
    rewrite_string(cx, key, true, |v, _| *v = s);
}

fn pfadd(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    let Ok(found) = lookup(cx, key, false) else {
        return;
    };
    let mut updated = u64::from(found.is_none());
    let mut s = found.unwrap_or_else(empty);
    for element in &args[2..] {
        match add(&mut s, element, sparse_max_bytes(cx.config)) {
            Set::Updated => updated += 1,
            Set::Unchanged => {}
            Set::Invalid => return cx.out.error(CORRUPTED),
        }
    }
    if updated > 0 {
        invalidate_cache(&mut s);
        store(cx, key, s);
        cx.dirty += updated;
    }
    cx.out.int(i64::from(updated > 0));
}

fn pfcount(cx: &mut Cx, args: &[Bytes]) {
    if args.len() > 2 {
        return pfcount_union(cx, &args[1..]);
    }
    let key = &args[1];
    let Ok(found) = lookup(cx, key, true) else {
        return;
    };
    let Some(mut s) = found else {
        return cx.out.int(0);
    };
    if let Some(card) = cached_cardinality(&s) {
        return cx.out.int(card as i64);
    }
    let Some(hist) = histogram(&s) else {
        return cx.out.error(CORRUPTED);
    };
    let card = estimate::estimate(&hist);
    s[8..16].copy_from_slice(&card.to_le_bytes());
    // The cache is part of the string, so the new value is stored and replicated.
    store(cx, key, s);
    cx.dirty += 1;
    cx.out.int(card as i64);
}

/// The registers of the union of the HLLs at `keys` (missing keys are empty); `None` once an
/// error was replied. Sets `any_dense` if one of them is dense.
fn union(cx: &mut Cx, keys: &[Bytes], any_dense: &mut bool) -> Option<Vec<u8>> {
    let mut max = vec![0u8; REGISTERS];
    for key in keys {
        let s = match lookup(cx, key, true) {
            Err(()) => return None,
            Ok(None) => continue,
            Ok(Some(s)) => s,
        };
        *any_dense |= s[4] == DENSE;
        if !merge_into(&s, &mut max) {
            cx.out.error(CORRUPTED);
            return None;
        }
    }
    Some(max)
}

fn pfcount_union(cx: &mut Cx, keys: &[Bytes]) {
    let Some(max) = union(cx, keys, &mut false) else {
        return;
    };
    let mut hist: Histogram = [0; 64];
    for &r in &max {
        hist[usize::from(r)] += 1;
    }
    cx.out.int(estimate::estimate(&hist) as i64);
}

fn pfmerge(cx: &mut Cx, args: &[Bytes]) {
    let mut any_dense = false;
    let Some(max) = union(cx, &args[1..], &mut any_dense) else {
        return;
    };
    let dest = &args[1];
    // The destination was checked as one of the sources.
    let Ok(found) = lookup(cx, dest, false) else {
        return;
    };
    let mut s = found.unwrap_or_else(empty);
    if any_dense && s[4] == SPARSE {
        let Some(d) = sparse::to_dense(&s) else {
            return cx.out.error(CORRUPTED);
        };
        s = d;
    }
    for (index, &count) in max.iter().enumerate().filter(|(_, &c)| c > 0) {
        if s[4] == DENSE {
            dense::raise(&mut s[HDR_LEN..], index, count);
        } else {
            sparse::set(&mut s, index, count, sparse_max_bytes(cx.config));
        }
    }
    invalidate_cache(&mut s);
    store(cx, dest, s);
    cx.dirty += 1;
    cx.out.ok();
}
