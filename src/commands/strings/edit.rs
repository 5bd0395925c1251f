//! String counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT) and byte-level edits (APPEND,
//! STRLEN, GETRANGE/SUBSTR, SETRANGE). All of them keep the key's TTL when they change it.

use super::{long_double, peek_string, propagate_as, with_string, word};
use crate::commands::{int_arg, Cx};
use crate::db::{CompactBytes, Value};
use bytes::Bytes;

/// Largest string APPEND and SETRANGE may build (Redis' default proto-max-bulk-len).
const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// Rewrites the string at `key` in place, keeping its TTL, or creates it. The caller has checked
/// that the key holds a string if it exists. Returns the new length. `raw`: see `rewrite_string`.
fn edit_string(cx: &mut Cx, key: &Bytes, raw: bool, edit: impl FnOnce(&mut Vec<u8>)) -> usize {
    rewrite_string(cx, key, raw, |s, _| {
        edit(s);
        s.len()
    })
}

/// The string at `key` (empty if absent) handed to `edit` with whether it existed, then stored
/// back with its TTL (or as a new key). The caller has checked the key holds a string if it
/// exists. Returns what `edit` returned.
/// `raw`: the result is stored raw whatever its content, as Redis leaves a string it edited in
/// place (otherwise its content decides: int, embstr or raw).
pub(crate) fn rewrite_string<T>(
    cx: &mut Cx,
    key: &Bytes,
    raw: bool,
    edit: impl FnOnce(&mut Vec<u8>, bool) -> T,
) -> T {
    let (now, mode) = (cx.now_ms(), cx.mode());
    let db = cx.db();
    if let Some(e) = db.get_mut(key, now, mode) {
        if let Value::Str(s) = &mut e.value {
            let mut bytes = Vec::from(std::mem::take(s));
            let r = edit(&mut bytes, true);
            *s = CompactBytes::growable(bytes);
            e.set_string_raw(raw);
            return r;
        }
    }
    let mut bytes = Vec::new();
    let r = edit(&mut bytes, false);
    db.insert(key.clone(), Value::Str(CompactBytes::growable(bytes)), None);
    db.set_string_raw(key, raw);
    r
}

// ---- counters ------------------------------------------------------------------------------

/// Adds `delta` to the integer at `key` (missing = 0), keeping its TTL.
fn incr_by(cx: &mut Cx, key: &Bytes, delta: i64) {
    let Ok(cur) = peek_string(cx, key) else {
        return;
    };
    let Some(n) = cur.as_deref().map_or(Some(0), crate::resp::parse_i64) else {
        return cx.out.error("ERR value is not an integer or out of range");
    };
    let Some(v) = n.checked_add(delta) else {
        return cx.out.error("ERR increment or decrement would overflow");
    };
    edit_string(cx, key, false, |s| *s = v.to_string().into_bytes());
    cx.dirty += 1;
    cx.out.int(v);
}

pub(super) fn incr(cx: &mut Cx, args: &[Bytes]) {
    incr_by(cx, &args[1], 1);
}

pub(super) fn decr(cx: &mut Cx, args: &[Bytes]) {
    incr_by(cx, &args[1], -1);
}

pub(super) fn incrby(cx: &mut Cx, args: &[Bytes]) {
    if let Some(d) = int_arg(&mut cx.out, &args[2]) {
        incr_by(cx, &args[1], d);
    }
}

pub(super) fn decrby(cx: &mut Cx, args: &[Bytes]) {
    let Some(d) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    match d.checked_neg() {
        Some(d) => incr_by(cx, &args[1], d),
        None => cx.out.error("ERR decrement would overflow"),
    }
}

/// INCRBYFLOAT computes in x87 extended precision, as Redis does with `long double` on x86-64,
/// so the digits it replies match.
pub(super) fn incrbyfloat(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    let Ok(cur) = peek_string(cx, key) else {
        return;
    };
    let sum = match long_double::add(cur.as_deref().unwrap_or(b"0"), &args[2]) {
        Ok(s) => Bytes::from(s),
        Err(long_double::AddError::NotAFloat) => {
            return cx.out.error("ERR value is not a valid float")
        }
        Err(long_double::AddError::NotFinite) => {
            return cx.out.error("ERR increment would produce NaN or Infinity")
        }
    };
    edit_string(cx, key, false, |s| *s = sum.to_vec());
    cx.dirty += 1;
    cx.out.bulk(&sum);
    propagate_as(cx, vec![word("SET"), key.clone(), sum, word("KEEPTTL")]);
}

// ---- byte-level edits ----------------------------------------------------------------------

/// Checks that a string of `size + extra` bytes is allowed, replying Redis' error if not.
fn length_allowed(cx: &mut Cx, size: u64, extra: u64) -> bool {
    let ok = size.checked_add(extra).is_some_and(|t| t <= MAX_STRING_LEN);
    if !ok {
        cx.out
            .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    ok
}

pub(super) fn append(cx: &mut Cx, args: &[Bytes]) {
    let (key, tail) = (&args[1], &args[2]);
    let Ok(size) = with_string(cx, key, false, |_, v| v.map(|c| c.len() as u64)) else {
        return;
    };
    if !length_allowed(cx, size.unwrap_or(0), tail.len() as u64) {
        return;
    }
    // Redis stores a new key's value by its content, and leaves an appended one raw.
    let len = edit_string(cx, key, size.is_some(), |s| s.extend_from_slice(tail));
    cx.dirty += 1;
    cx.out.int(len as i64);
}

pub(super) fn strlen(cx: &mut Cx, args: &[Bytes]) {
    let _ = with_string(cx, &args[1], true, |out, v| {
        out.int(v.map_or(0, |v| v.len() as i64))
    });
}

/// The bytes GETRANGE returns for inclusive `start..=end`, negative indexes counting from the end.
fn byte_range(s: &[u8], start: i64, end: i64) -> &[u8] {
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let start = from_end(start);
    let end = from_end(end).min(len - 1);
    if start > end || len == 0 {
        return &[];
    }
    &s[start as usize..=end as usize]
}

pub(super) fn getrange(cx: &mut Cx, args: &[Bytes]) {
    let Some(start) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    let Some(end) = int_arg(&mut cx.out, &args[3]) else {
        return;
    };
    let _ = with_string(cx, &args[1], true, |out, v| {
        out.bulk(v.map_or(&[][..], |s| byte_range(s, start, end)))
    });
}

pub(super) fn setrange(cx: &mut Cx, args: &[Bytes]) {
    let (key, patch) = (&args[1], &args[3]);
    let Some(offset) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    if offset < 0 {
        return cx.out.error("ERR offset is out of range");
    }
    let Ok(size) = with_string(cx, key, false, |_, v| v.map_or(0, |c| c.len() as i64)) else {
        return;
    };
    if patch.is_empty() {
        return cx.out.int(size);
    }
    if !length_allowed(cx, offset as u64, patch.len() as u64) {
        return;
    }
    let start = offset as usize;
    let len = edit_string(cx, key, true, |s| {
        let end = start + patch.len();
        if s.len() < end {
            s.resize(end, 0);
        }
        s[start..end].copy_from_slice(patch);
    });
    cx.dirty += 1;
    cx.out.int(len as i64);
}
