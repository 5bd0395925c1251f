//! XADD (NOMKSTREAM, MAXLEN/MINID with `=` or `~` and LIMIT, `*`, `ms-*` or explicit ids),
//! XTRIM, XDEL and XSETID. Like Redis, an XADD with a generated id reaches replicas with the
//! concrete id, and an approximate trim as an exact one to the length (or first id) it left.

use super::{id_bytes, ids_arg, node_limits, parse_id, word, write, INVALID_ID};
use crate::commands::{data, flags::*, int_arg, is, CommandSpec, Cx, Propagate};
use crate::db::stream::{Trim, LISTPACK_MAX_BYTES};
use crate::db::{Stream, StreamId, Value};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("xadd", -5, WRITE | DENYOOM | FAST, (1, 1, 1), xadd),
    data("xtrim", -4, WRITE, (1, 1, 1), xtrim),
    data("xdel", -3, WRITE | FAST, (1, 1, 1), xdel),
    data("xsetid", -3, WRITE | DENYOOM | FAST, (1, 1, 1), xsetid),
];

/// The options XADD and XTRIM share, as parsed.
#[derive(Default)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    /// Entries a trim may remove (0 = no limit).
    limit: u64,
    /// Where the MAXLEN / MINID value is, to rewrite it for propagation.
    value_at: usize,
    no_mkstream: bool,
    /// XADD's explicit id, and whether its sequence was given (not `ms-*`).
    id: Option<(StreamId, bool)>,
}

const BOTH_STRATEGIES: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";

/// Parses the options from `args[2]`; for XADD stops at the id. Returns the position reached
/// (XADD: the id's), `None` once an error is written.
fn parse_trim(cx: &mut Cx, args: &[Bytes], xadd: bool, t: &mut TrimArgs) -> Option<usize> {
    let mut i = 2;
    let mut limit_given = false;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && opt.as_ref() == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if t.how.is_some() {
                cx.out.error(BOTH_STRATEGIES);
                return None;
            }
            let next = args[i + 1].as_ref();
            t.approx = more >= 2 && next == b"~";
            if more >= 2 && (next == b"~" || next == b"=") {
                i += 1;
            }
            i += 1;
            t.how = Some(match is(opt, "maxlen") {
                true => {
                    let n = int_arg(&mut cx.out, &args[i])?;
                    if n < 0 {
                        cx.out.error("ERR The MAXLEN argument must be >= 0.");
                        return None;
                    }
                    Trim::MaxLen(n as u64)
                }
                false => match parse_id(&args[i], 0, true) {
                    Some((id, true)) => Trim::MinId(id),
                    _ => {
                        cx.out.error(INVALID_ID);
                        return None;
                    }
                },
            });
            t.value_at = i;
        } else if is(opt, "limit") && more > 0 {
            let n = int_arg(&mut cx.out, &args[i + 1])?;
            if n < 0 {
                cx.out.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            t.no_mkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true) {
                Some(id) => t.id = Some(id),
                None => {
                    cx.out.error(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            cx.syntax_error();
            return None;
        }
        i += 1;
    }
    if t.limit > 0 && t.how.is_none() {
        cx.out
            .error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && t.how.is_none() {
        cx.out
            .error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if cx.obey {
        t.limit = 0;
    } else if limit_given && !t.approx {
        cx.out
            .error("ERR syntax error, LIMIT cannot be used without the special ~ option");
        return None;
    } else if !limit_given {
        let per_node = node_limits(cx).max_entries.saturating_mul(100);
        t.limit = match t.approx {
            true if per_node == 0 => 10_000,
            true => per_node.min(1_000_000),
            false => 0,
        };
    }
    Some(i)
}

/// Trims `st` as parsed; rewrites `prop` (the propagated arguments) for an approximate trim.
fn apply_trim(st: &mut Stream, t: &TrimArgs, prop: &mut [Bytes]) -> u64 {
    let Some(how) = t.how else { return 0 };
    let deleted = st.trim(how, t.approx, t.limit);
    if t.approx {
        prop[t.value_at - 1] = word("=");
        prop[t.value_at] = match how {
            Trim::MaxLen(_) => Bytes::from(st.length.to_string()),
            Trim::MinId(_) => id_bytes(
                st.nodes
                    .first_key_value()
                    .and_then(|(_, n)| n.entries.first())
                    .map_or(StreamId::MAX, |e| e.id),
            ),
        };
    }
    deleted
}

/// The id XADD gives the next entry (`*`: the current time, or after the last id when that is
/// not behind), or Redis' error.
fn next_id(
    st: &Stream,
    given: Option<(StreamId, bool)>,
    now_ms: u64,
) -> Result<StreamId, &'static str> {
    const SMALLER: &str =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    let id = match given {
        None if now_ms > st.last_id.ms => StreamId::new(now_ms, 0),
        None => st.last_id.next().ok_or(SMALLER)?,
        Some((id, true)) => id,
        Some((id, false)) if id.ms == st.last_id.ms => {
            st.last_id.next().filter(|n| n.ms == id.ms).ok_or(SMALLER)?
        }
        Some((id, false)) => id,
    };
    match id > st.last_id {
        true => Ok(id),
        false => Err(SMALLER),
    }
}

fn xadd(cx: &mut Cx, args: &[Bytes]) {
    let mut t = TrimArgs::default();
    let Some(id_at) = parse_trim(cx, args, true, &mut t) else {
        return;
    };
    let fields_at = id_at + 1;
    if fields_at > args.len() || args.len() - fields_at < 2 || (args.len() - fields_at) % 2 == 1 {
        return cx
            .out
            .error("ERR wrong number of arguments for 'xadd' command");
    }
    if t.id == Some((StreamId::MIN, true)) {
        return cx
            .out
            .error("ERR The ID specified in XADD must be greater than 0-0");
    }
    let limits = node_limits(cx);
    let (now, mode) = (cx.now_ms(), cx.mode());
    let db = &mut cx.ks.dbs[cx.db_index];
    if db.get(&args[1], now, mode).is_none() {
        if t.no_mkstream {
            return cx.out.null();
        }
        db.insert(args[1].clone(), Value::Stream(Box::default()), None);
    }
    let Ok((Some(st), out)) = write(cx, &args[1]) else {
        return;
    };
    if st.last_id == StreamId::MAX {
        return out
            .error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let id = match next_id(st, t.id, now) {
        Ok(id) => id,
        Err(e) => return out.error(e),
    };
    let fields = args[fields_at..].to_vec();
    if fields.iter().map(|f| f.len() as u64).sum::<u64>() > LISTPACK_MAX_BYTES {
        return out.error("ERR Elements are too large to be stored");
    }
    st.append(id, fields, limits);
    out.bulk(id.to_string().as_bytes());
    let mut prop = args.to_vec();
    apply_trim(st, &t, &mut prop);
    if !matches!(t.id, Some((_, true))) {
        prop[id_at] = id_bytes(id);
    }
    cx.dirty += 1;
    if prop != args {
        cx.propagate = Propagate::Replace(vec![prop]);
    }
}

fn xtrim(cx: &mut Cx, args: &[Bytes]) {
    let mut t = TrimArgs::default();
    if parse_trim(cx, args, false, &mut t).is_none() {
        return;
    }
    let Ok((st, out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(st) = st else {
        return out.int(0);
    };
    let mut prop = args.to_vec();
    let deleted = apply_trim(st, &t, &mut prop);
    out.int(deleted as i64);
    cx.dirty += deleted;
    if prop != args {
        cx.propagate = Propagate::Replace(vec![prop]);
    }
}

fn xdel(cx: &mut Cx, args: &[Bytes]) {
    let Ok((st, out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(st) = st else {
        return out.int(0);
    };
    let Some(ids) = ids_arg(out, &args[2..]) else {
        return;
    };
    let deleted = ids.into_iter().filter(|id| st.delete(*id)).count() as u64;
    out.int(deleted as i64);
    cx.dirty += deleted;
}

fn xsetid(cx: &mut Cx, args: &[Bytes]) {
    let Some((id, true)) = parse_id(&args[2], 0, true) else {
        return cx.out.error(INVALID_ID);
    };
    let (mut entries_added, mut max_deleted) = (None, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "entriesadded") && more {
            let Some(n) = int_arg(&mut cx.out, &args[i + 1]) else {
                return;
            };
            if n < 0 {
                return cx.out.error("ERR entries_added must be positive");
            }
            entries_added = Some(n as u64);
        } else if is(&args[i], "maxdeletedid") && more {
            let Some((m, true)) = parse_id(&args[i + 1], 0, true) else {
                return cx.out.error(INVALID_ID);
            };
            if id < m {
                return cx.out.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_deleted = m;
        } else {
            return cx.syntax_error();
        }
        i += 2;
    }
    let Ok((st, out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(st) = st else {
        return out.error("ERR no such key");
    };
    if id < st.max_deleted_id {
        return out
            .error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
    }
    if st.length > 0 {
        if id < st.last_live_id() {
            return out.error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if entries_added.is_some_and(|n| st.length > n) {
            return out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    st.last_id = id;
    if let Some(n) = entries_added {
        st.entries_added = n;
    }
    if !max_deleted.is_zero() {
        st.max_deleted_id = max_deleted;
    }
    out.ok();
    cx.dirty += 1;
}
