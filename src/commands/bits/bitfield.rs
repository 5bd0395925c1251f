//! BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset incr]
//! [OVERFLOW WRAP|SAT|FAIL] ..., and BITFIELD_RO (GET only).
//!
//! Types are `i1`..`i64` and `u1`..`u63` (an unsigned 64-bit value would not fit a RESP integer).
//! Every operation is parsed before any runs; a write grows the string once to the farthest bit
//! any write reaches. OVERFLOW applies to the operations after it: WRAP wraps around (signed
//! values two's-complement), SAT clamps to the type's limits, FAIL skips the write and replies
//! null. The command counts one change per write that altered the string (or per write when
//! it created or grew the string), and only a changed string is replicated.

use super::{check_writable, edit_bits, offset_arg, read, Cx};
use crate::resp::parse_i64;
use bytes::Bytes;

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
    offset: u64,
}

#[derive(Clone, Copy)]
enum Action {
    Get,
    Set(i64),
    Incr(i64),
}

struct Op {
    field: Field,
    action: Action,
    overflow: Overflow,
}

pub(super) fn bitfield(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, false);
}

pub(super) fn bitfield_ro(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, true);
}

fn run(cx: &mut Cx, args: &[Bytes], read_only: bool) {
    let Some(ops) = parse(cx, &args[2..]) else {
        return;
    };
    let last_write = ops
        .iter()
        .filter(|op| !matches!(op.action, Action::Get))
        .map(|op| op.field.offset + u64::from(op.field.bits) - 1)
        .max();
    let key = &args[1];
    let Some(last_bit) = last_write else {
        let Ok(s) = read(cx, key) else {
            return;
        };
        let s = s.unwrap_or_default();
        cx.out.array(ops.len());
        return ops.iter().for_each(|op| cx.out.int(get(&s, op.field)));
    };
    if read_only {
        return cx
            .out
            .error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    if check_writable(cx, key).is_err() {
        return;
    }
    let (grew, done) = edit_bits(cx, key, last_bit, |s| apply(s, &ops));
    cx.dirty += if grew { done.writes } else { done.changes };
    let replies = done.replies;
    cx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => cx.out.int(v),
            None => cx.out.null(),
        }
    }
}

/// What running the operations did.
struct Done {
    /// One per operation: `None` for a write stopped by OVERFLOW FAIL.
    replies: Vec<Option<i64>>,
    /// Writes that happened, and those that changed a value.
    writes: u64,
    changes: u64,
}

/// Runs every operation in order.
fn apply(s: &mut [u8], ops: &[Op]) -> Done {
    let (mut writes, mut changes) = (0, 0);
    let replies = ops
        .iter()
        .map(|op| {
            let old = get(s, op.field);
            let (new, reply) = match op.action {
                Action::Get => return Some(old),
                Action::Set(v) => (fit(op, v, 0)?, old),
                Action::Incr(by) => {
                    let new = fit(op, old, by)?;
                    (new, new)
                }
            };
            set(s, op.field, new);
            writes += 1;
            changes += u64::from(new != old);
            Some(reply)
        })
        .collect();
    Done {
        replies,
        writes,
        changes,
    }
}

/// `value + incr` as the field's type holds it under the op's overflow rule; `None` for a FAIL.
fn fit(op: &Op, value: i64, incr: i64) -> Option<i64> {
    let bits = op.field.bits;
    let (exact, min, max) = if op.field.signed {
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        (i128::from(value) + i128::from(incr), -max - 1, max)
    } else {
        // A SET value is taken as its unsigned 64-bit pattern, as Redis does.
        let value = if matches!(op.action, Action::Set(_)) {
            i128::from(value as u64)
        } else {
            i128::from(value)
        };
        (value + i128::from(incr), 0, (1i64 << bits) - 1)
    };
    if exact >= i128::from(min) && exact <= i128::from(max) {
        return Some(exact as i64);
    }
    match op.overflow {
        Overflow::Fail => None,
        Overflow::Sat if exact > i128::from(max) => Some(max),
        Overflow::Sat => Some(min),
        Overflow::Wrap => Some(wrap(exact as u64, bits, op.field.signed)),
    }
}

/// The low `bits` bits of `raw`, sign-extended for a signed type.
fn wrap(raw: u64, bits: u32, signed: bool) -> i64 {
    if bits == 64 {
        return raw as i64;
    }
    let low = raw & ((1u64 << bits) - 1);
    if signed && low >> (bits - 1) == 1 {
        (low | (u64::MAX << bits)) as i64
    } else {
        low as i64
    }
}

/// The field's value; bits past the end of `s` read as 0.
fn get(s: &[u8], f: Field) -> i64 {
    let raw = (0..u64::from(f.bits)).fold(0u64, |v, i| {
        (v << 1) | super::bit_at(s, f.offset + i) as u64
    });
    wrap(raw, f.bits, f.signed)
}

/// Writes the low `bits` bits of `v` at the field (inside `s`).
fn set(s: &mut [u8], f: Field, v: i64) {
    for i in 0..u64::from(f.bits) {
        let pos = f.offset + i;
        let (byte, mask) = ((pos >> 3) as usize, 0x80u8 >> (pos & 7));
        if (v as u64 >> (u64::from(f.bits) - 1 - i)) & 1 == 1 {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
}

/// Parses the subcommands; `None` once the error is sent.
fn parse(cx: &mut Cx, args: &[Bytes]) -> Option<Vec<Op>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let sub = args[i].to_ascii_lowercase();
        let takes_value = match sub.as_slice() {
            b"get" if left >= 2 => false,
            b"set" | b"incrby" if left >= 3 => true,
            b"overflow" if left >= 1 => {
                overflow = match args[i + 1].to_ascii_lowercase().as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => {
                        cx.out.error("ERR Invalid OVERFLOW type specified");
                        return None;
                    }
                };
                i += 2;
                continue;
            }
            _ => {
                cx.syntax_error();
                return None;
            }
        };
        let (signed, bits) = type_arg(cx, &args[i + 1])?;
        let offset = offset_arg(cx, &args[i + 2], Some(bits))?;
        let action = if takes_value {
            let v = crate::commands::int_arg(&mut cx.out, &args[i + 3])?;
            if sub == b"set" {
                Action::Set(v)
            } else {
                Action::Incr(v)
            }
        } else {
            Action::Get
        };
        ops.push(Op {
            field: Field {
                signed,
                bits,
                offset,
            },
            action,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Some(ops)
}

/// `i<bits>` (1..=64) or `u<bits>` (1..=63).
fn type_arg(cx: &mut Cx, arg: &[u8]) -> Option<(bool, u32)> {
    let parsed = match arg.split_first() {
        Some((b'i', n)) => parse_i64(n)
            .filter(|n| (1..=64).contains(n))
            .map(|n| (true, n)),
        Some((b'u', n)) => parse_i64(n)
            .filter(|n| (1..=63).contains(n))
            .map(|n| (false, n)),
        _ => None,
    };
    if parsed.is_none() {
        cx.out.error(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        );
    }
    parsed.map(|(s, n)| (s, n as u32))
}
