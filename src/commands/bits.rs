//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP here; BITFIELD and
//! BITFIELD_RO in `bitfield`.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis. A write past the end
//! zero-pads the string; offsets stop below 2^32 bits (512 MB, Redis' default
//! proto-max-bulk-len), so one command grows a string by at most that much.

mod bitfield;

use super::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::Value;
use crate::resp::parse_i64;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("setbit", 4, WRITE | DENYOOM, (1, 1, 1), setbit),
    data("getbit", 3, READONLY | FAST, (1, 1, 1), getbit),
    data("bitcount", -2, READONLY, (1, 1, 1), bitcount),
    data("bitpos", -3, READONLY, (1, 1, 1), bitpos),
    data("bitop", -4, WRITE | DENYOOM, (2, -1, 1), bitop),
    data(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        bitfield::bitfield,
    ),
    data(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        (1, 1, 1),
        bitfield::bitfield_ro,
    ),
];

/// Bytes a bitmap may span (Redis' default proto-max-bulk-len).
const MAX_BYTES: u64 = 512 * 1024 * 1024;

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

/// A bit offset argument; with `width` set, `#n` means `n * width` (BITFIELD's form).
fn offset_arg(cx: &mut Cx, arg: &[u8], width: Option<u32>) -> Option<u64> {
    let (digits, times) = match (arg.strip_prefix(b"#"), width) {
        (Some(rest), Some(w)) => (rest, i64::from(w)),
        _ => (arg, 1),
    };
    let off = parse_i64(digits)
        .and_then(|n| n.checked_mul(times))
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| n >> 3 < MAX_BYTES);
    if off.is_none() {
        cx.out.error(BAD_OFFSET);
    }
    off
}

/// The string at `key` for a read command (counted as a hit or miss); `Err` once WRONGTYPE is
/// sent.
fn read(cx: &mut Cx, key: &[u8]) -> Result<Option<Bytes>, ()> {
    match cx.read(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_bytes())),
        Some(_) => {
            cx.wrongtype();
            Err(())
        }
    }
}

/// Type-checks `key` for a write (without counting a hit or miss); `Err` once WRONGTYPE is sent.
fn check_writable(cx: &mut Cx, key: &[u8]) -> Result<(), ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.db().get(key, now, mode).map(|e| &e.value) {
        None | Some(Value::Str(_)) => Ok(()),
        Some(_) => {
            cx.wrongtype();
            Err(())
        }
    }
}

/// Grows the string at `key` (created if absent, TTL kept) to hold bit `last_bit`, then applies
/// `edit`. The caller has type-checked the key. Returns whether the key was created or grew,
/// and what `edit` returned.
fn edit_bits<T>(
    cx: &mut Cx,
    key: &Bytes,
    last_bit: u64,
    edit: impl FnOnce(&mut [u8]) -> T,
) -> (bool, T) {
    let need = (last_bit >> 3) as usize + 1;
    super::strings::rewrite_string(cx, key, true, |bytes, existed| {
        let grew = !existed || bytes.len() < need;
        if bytes.len() < need {
            bytes.resize(need, 0);
        }
        (grew, edit(bytes))
    })
}

fn bit_at(s: &[u8], pos: u64) -> bool {
    s.get((pos >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (pos & 7)) != 0)
}

fn setbit(cx: &mut Cx, args: &[Bytes]) {
    let Some(off) = offset_arg(cx, &args[2], None) else {
        return;
    };
    let on = match parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return cx.out.error("ERR bit is not an integer or out of range"),
    };
    if check_writable(cx, &args[1]).is_err() {
        return;
    }
    let (grew, was) = edit_bits(cx, &args[1], off, |s| {
        let (byte, mask) = ((off >> 3) as usize, 0x80 >> (off & 7));
        let was = s[byte] & mask != 0;
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
        was
    });
    if grew || was != on {
        cx.dirty += 1;
    }
    cx.out.int(was as i64);
}

fn getbit(cx: &mut Cx, args: &[Bytes]) {
    let Some(off) = offset_arg(cx, &args[2], None) else {
        return;
    };
    if let Ok(s) = read(cx, &args[1]) {
        cx.out.int(s.is_some_and(|s| bit_at(&s, off)) as i64);
    }
}

/// A `start end [BYTE|BIT]` range over a string of `len` bytes, clamped as Redis does, as an
/// inclusive range of bit positions (`None` when empty). `end` defaults to the last unit.
fn bit_range(len: usize, start: i64, end: Option<i64>, in_bits: bool) -> Option<(u64, u64)> {
    let total = len as i64 * if in_bits { 8 } else { 1 };
    let fix = |v: i64| if v < 0 { (total + v).max(0) } else { v };
    let (start, end) = (fix(start), fix(end.unwrap_or(total - 1)).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// The BYTE|BIT word of BITCOUNT and BITPOS; `None` once the syntax error is sent.
fn unit_arg(cx: &mut Cx, arg: Option<&Bytes>) -> Option<bool> {
    match arg {
        None => Some(false),
        Some(a) if is(a, "bit") => Some(true),
        Some(a) if is(a, "byte") => Some(false),
        Some(_) => {
            cx.syntax_error();
            None
        }
    }
}

/// BITCOUNT key [start end [BYTE|BIT]]: a missing key counts 0 before the range is checked.
fn bitcount(cx: &mut Cx, args: &[Bytes]) {
    let Ok(s) = read(cx, &args[1]) else {
        return;
    };
    let Some(s) = s else {
        return cx.out.int(0);
    };
    let range = match args.len() {
        2 => bit_range(s.len(), 0, None, false),
        4 | 5 => {
            let Some(start) = int_arg(&mut cx.out, &args[2]) else {
                return;
            };
            let Some(end) = int_arg(&mut cx.out, &args[3]) else {
                return;
            };
            if start < 0 && end < 0 && start > end {
                return cx.out.int(0);
            }
            let Some(in_bits) = unit_arg(cx, args.get(4)) else {
                return;
            };
            bit_range(s.len(), start, Some(end), in_bits)
        }
        _ => return cx.syntax_error(),
    };
    let count = range.map_or(0, |(from, to)| count_ones(&s, from, to));
    cx.out.int(count as i64);
}

/// Set bits among positions `from..=to` (both inside `s`).
fn count_ones(s: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from >> 3) as usize, (to >> 3) as usize);
    let whole: u64 = s[first..=last]
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    let head = u64::from((s[first] & !(0xffu8 >> (from & 7))).count_ones());
    let tail = u64::from((s[last] & (0x7fu8 >> (to & 7))).count_ones());
    whole - head - tail
}

/// BITPOS key bit [start [end [BYTE|BIT]]]: the first position holding `bit`, or -1. Looking for
/// a 0 without an explicit end finds the first bit past the range (the string acts 0-padded).
fn bitpos(cx: &mut Cx, args: &[Bytes]) {
    let Some(bit) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    if bit != 0 && bit != 1 {
        return cx.out.error("ERR The bit argument must be 1 or 0.");
    }
    let Ok(s) = read(cx, &args[1]) else {
        return;
    };
    let Some(s) = s else {
        return cx.out.int(if bit == 1 { -1 } else { 0 });
    };
    if args.len() > 6 {
        return cx.syntax_error();
    }
    let start = match args.get(3) {
        None => 0,
        Some(a) => match int_arg(&mut cx.out, a) {
            Some(v) => v,
            None => return,
        },
    };
    let Some(in_bits) = unit_arg(cx, args.get(5)) else {
        return;
    };
    let end = match args.get(4) {
        None => None,
        Some(a) => match int_arg(&mut cx.out, a) {
            Some(v) => Some(v),
            None => return,
        },
    };
    let Some((from, to)) = bit_range(s.len(), start, end, in_bits) else {
        return cx.out.int(-1);
    };
    let found = first_bit(&s, from, to, bit == 1);
    let pos = match found {
        Some(p) => p as i64,
        None if bit == 0 && end.is_none() => to as i64 + 1,
        None => -1,
    };
    cx.out.int(pos);
}

/// The first position in `from..=to` holding `one`, skipping whole bytes that cannot hold it.
fn first_bit(s: &[u8], from: u64, to: u64, one: bool) -> Option<u64> {
    let skip = if one { 0x00 } else { 0xff };
    let mut pos = from;
    while pos <= to {
        if pos & 7 == 0 && pos + 7 <= to && s[(pos >> 3) as usize] == skip {
            pos += 8;
            continue;
        }
        if bit_at(s, pos) == one {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT dest key...: missing keys are empty strings, shorter inputs are
/// zero-padded to the longest; an empty result deletes `dest`.
fn bitop(cx: &mut Cx, args: &[Bytes]) {
    let op = match args[1].to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return cx.syntax_error(),
    };
    if matches!(op, BitOp::Not) && args.len() != 4 {
        return cx
            .out
            .error("ERR BITOP NOT must be called with a single source key.");
    }
    let mut inputs = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        match read(cx, key) {
            Err(()) => return,
            Ok(s) => inputs.push(s.unwrap_or_default()),
        }
    }
    let len = inputs.iter().map(Bytes::len).max().unwrap_or(0);
    let byte = |s: &Bytes, i: usize| s.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..len)
        .map(|i| {
            let mut bytes = inputs.iter().map(|s| byte(s, i));
            let first = bytes.next().unwrap_or(0);
            match op {
                BitOp::And => bytes.fold(first, |a, b| a & b),
                BitOp::Or => bytes.fold(first, |a, b| a | b),
                BitOp::Xor => bytes.fold(first, |a, b| a ^ b),
                BitOp::Not => !first,
            }
        })
        .collect();
    let (dest, now, mode) = (&args[2], cx.now_ms(), cx.mode());
    if len > 0 {
        cx.db()
            .insert(dest.clone(), Value::Str(result.into()), None);
        cx.dirty += 1;
    } else if cx.db().remove(dest, now, mode).is_some() {
        cx.dirty += 1;
    }
    cx.out.int(len as i64);
}

#[cfg(test)]
#[path = "bits_tests.rs"]
mod tests;
