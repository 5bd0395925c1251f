//! Stream commands (the value is `db::Stream`), split by family:
//! - `add`: XADD, XTRIM, XDEL, XSETID (and the MAXLEN/MINID/LIMIT trimming options);
//! - `range`: XRANGE, XREVRANGE, XLEN;
//! - `read`: XREAD and XREADGROUP, with BLOCK through `core/blocking.rs`;
//! - `groups`: XGROUP, XACK, XPENDING;
//! - `claim`: XCLAIM, XAUTOCLAIM;
//! - `info`: XINFO.
//!
//! This file has what they share: typed lookups, id parsing with Redis' errors, and replies.

pub mod add;
pub mod claim;
pub mod groups;
pub mod info;
pub mod range;
pub mod read;
#[cfg(test)]
mod tests;

use super::Cx;
use crate::db::stream::{NodeEntry, NodeLimits};
use crate::db::{Stream, StreamId, Value};
use crate::resp::Out;
use bytes::Bytes;

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
pub const NOGROUP_KEY: &str = "NOGROUP No such key";

fn as_stream(v: &Value) -> Option<&Stream> {
    match v {
        Value::Stream(s) => Some(s),
        _ => None,
    }
}

fn as_stream_mut(v: &mut Value) -> Option<&mut Stream> {
    match v {
        Value::Stream(s) => Some(s),
        _ => None,
    }
}

/// The stream at `key` for a read, beside the reply writer; `Err` once WRONGTYPE is sent.
pub fn read<'c, 'a>(
    cx: &'c mut Cx<'a>,
    key: &[u8],
) -> Result<(Option<&'c Stream>, &'c mut Out<'a>), ()> {
    cx.read(key);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as(key, now, mode, as_stream) {
        Ok(st) => Ok((st, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The stream at `key` for a write, beside the reply writer; `Err` once WRONGTYPE is sent.
pub fn write<'c, 'a>(
    cx: &'c mut Cx<'a>,
    key: &[u8],
) -> Result<(Option<&'c mut Stream>, &'c mut Out<'a>), ()> {
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.ks.dbs[cx.db_index].get_as_mut(key, now, mode, as_stream_mut) {
        Ok(st) => Ok((st, &mut cx.out)),
        Err(e) => {
            cx.out.error(e);
            Err(())
        }
    }
}

/// The current node limits from the config.
pub fn node_limits(cx: &Cx) -> NodeLimits {
    let num = |name: &str, default: u64| {
        cx.config
            .noop
            .get(name)
            .and_then(|v| crate::config::table::memory(v))
            .map_or(default, |n| n.max(0) as u64)
    };
    NodeLimits {
        max_bytes: num("stream-node-max-bytes", 4096),
        max_entries: num("stream-node-max-entries", 100),
    }
}

/// Parses `ms-seq`, `ms` (seq = `missing_seq`), `-` and `+`; `seq_star` also accepts `ms-*`
/// (returned with `None` as the sequence). `strict` refuses `-` and `+`.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool) -> Option<(StreamId, bool)> {
    if arg.len() > 127 {
        return None;
    }
    match arg {
        b"-" | b"+" if strict => None,
        b"-" => Some((StreamId::MIN, true)),
        b"+" => Some((StreamId::MAX, true)),
        _ => {
            let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
                Some(i) => (&arg[..i], Some(&arg[i + 1..])),
                None => (&arg[..], None),
            };
            let ms = parse_u64(ms)?;
            match seq {
                Some(b"*") => Some((StreamId::new(ms, 0), false)),
                Some(seq) => Some((StreamId::new(ms, parse_u64(seq)?), true)),
                None => Some((StreamId::new(ms, missing_seq), true)),
            }
        }
    }
}

/// Redis' string2ull: decimal digits only, no sign, within u64.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// An id argument (no `ms-*`), or Redis' error; `None` once the error is written.
pub fn id_arg(out: &mut Out, arg: &[u8], missing_seq: u64) -> Option<StreamId> {
    match parse_id(arg, missing_seq, false) {
        Some((id, true)) => Some(id),
        _ => {
            out.error(INVALID_ID);
            None
        }
    }
}

/// Strict ids (no `-`, `+` or `ms-*`), or Redis' error; `None` once the error is written.
pub fn ids_arg(out: &mut Out, args: &[Bytes]) -> Option<Vec<StreamId>> {
    let ids: Option<Vec<StreamId>> = args
        .iter()
        .map(|a| match parse_id(a, 0, true) {
            Some((id, true)) => Some(id),
            _ => None,
        })
        .collect();
    if ids.is_none() {
        out.error(INVALID_ID);
    }
    ids
}

/// A range bound: an id, or `(id` for an exclusive one (strict: not `(-` / `(+`), moved to the
/// next (or previous, for `end`) id; `None` once an error is written.
pub fn bound_arg(out: &mut Out, arg: &[u8], missing_seq: u64, end: bool) -> Option<StreamId> {
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    if !exclusive {
        return id_arg(out, arg, missing_seq);
    }
    let Some((id, true)) = parse_id(&arg[1..], missing_seq, true) else {
        out.error(INVALID_ID);
        return None;
    };
    let moved = if end { id.prev() } else { id.next() };
    if moved.is_none() {
        let which = if end { "end" } else { "start" };
        out.error(&format!("ERR invalid {which} ID for the interval"));
    }
    moved
}

pub fn reply_id(out: &mut Out, id: StreamId) {
    out.bulk(id.to_string().as_bytes());
}

/// One entry: `[id, [field, value, ...]]`.
pub fn reply_entry(out: &mut Out, e: &NodeEntry) {
    out.array(2);
    reply_id(out, e.id);
    out.bulks(e.fields.iter());
}

pub fn reply_entries(out: &mut Out, entries: &[&NodeEntry]) {
    out.array(entries.len());
    for e in entries {
        reply_entry(out, e);
    }
}

fn word(w: &'static str) -> Bytes {
    Bytes::from_static(w.as_bytes())
}

fn id_bytes(id: StreamId) -> Bytes {
    Bytes::from(id.to_string())
}
