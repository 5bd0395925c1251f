//! XCLAIM (IDLE, TIME, RETRYCOUNT, FORCE, JUSTID, LASTID) and XAUTOCLAIM (COUNT, JUSTID, the
//! cursor, and the ids of deleted entries it dropped from the PEL). Both reach replicas as one
//! idempotent XCLAIM per claimed or dropped entry, as in Redis.

use super::read::{claim_effect, setid_effect};
use super::{bound_arg, id_bytes, parse_id, reply_entry, reply_id, write};
use crate::commands::{data, flags::*, is, CommandSpec, Cx, Propagate};
use crate::db::stream::Group;
use crate::db::{notify, Stream, StreamId};
use crate::resp::parse_i64;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("xclaim", -6, WRITE | FAST, (1, 1, 1), xclaim),
    data("xautoclaim", -6, WRITE | FAST, (1, 1, 1), xautoclaim),
];

/// An integer argument or the ERR `msg`; `None` once the error is written.
fn int_or(cx: &mut Cx, arg: &[u8], msg: &str) -> Option<i64> {
    let v = parse_i64(arg);
    if v.is_none() {
        cx.out.error(&format!("ERR {msg}"));
    }
    v
}

fn nogroup(cx: &mut Cx, args: &[Bytes]) {
    let (k, g) = (
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[2]),
    );
    cx.out.error(&format!(
        "NOGROUP No such key '{k}' or consumer group '{g}'"
    ));
}

/// XCLAIM's options after the ids.
#[derive(Default)]
struct ClaimOpts {
    force: bool,
    justid: bool,
    delivery_ms: Option<i64>,
    retrycount: Option<u64>,
    last_id: StreamId,
}

fn claim_opts(cx: &mut Cx, args: &[Bytes], now: i64) -> Option<ClaimOpts> {
    let mut o = ClaimOpts::default();
    let mut j = 0;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j];
        if is(opt, "force") {
            o.force = true;
        } else if is(opt, "justid") {
            o.justid = true;
        } else if is(opt, "idle") && more {
            j += 1;
            let idle = int_or(cx, &args[j], "Invalid IDLE option argument for XCLAIM")?;
            o.delivery_ms = Some(now.saturating_sub(idle));
        } else if is(opt, "time") && more {
            j += 1;
            o.delivery_ms = Some(int_or(
                cx,
                &args[j],
                "Invalid TIME option argument for XCLAIM",
            )?);
        } else if is(opt, "retrycount") && more {
            j += 1;
            let n = int_or(
                cx,
                &args[j],
                "Invalid RETRYCOUNT option argument for XCLAIM",
            )?;
            o.retrycount = u64::try_from(n).ok();
        } else if is(opt, "lastid") && more {
            j += 1;
            o.last_id = match parse_id(&args[j], 0, true) {
                Some((id, true)) => id,
                _ => {
                    cx.out.error(super::INVALID_ID);
                    return None;
                }
            };
        } else {
            let opt = String::from_utf8_lossy(opt);
            cx.out
                .error(&format!("ERR Unrecognized XCLAIM option '{opt}'"));
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Drops pending entry `id` whose stream entry is gone; returns the effect to propagate.
fn drop_deleted(g: &mut Group, args: &[Bytes], id: StreamId, id_arg: Bytes) -> Option<Vec<Bytes>> {
    let p = g.pel.get(&id)?.clone();
    g.ack(id);
    let (key, group) = (&args[1], &args[2]);
    Some(claim_effect(
        key,
        group,
        &p.consumer,
        id_arg,
        p.delivery_time_ms,
        p.delivery_count,
        g.last_id,
    ))
}

fn xclaim(cx: &mut Cx, args: &[Bytes]) {
    let has_group = match write(cx, &args[1]) {
        Ok((st, _)) => st.is_some_and(|s| s.groups.contains_key(&args[2])),
        Err(()) => return,
    };
    if !has_group {
        return nogroup(cx, args);
    }
    let Some(min_idle) = int_or(cx, &args[4], "Invalid min-idle-time argument for XCLAIM") else {
        return;
    };
    let ids: Vec<(StreamId, Bytes)> = args[5..]
        .iter()
        .map_while(|a| match parse_id(a, 0, true) {
            Some((id, true)) => Some((id, a.clone())),
            _ => None,
        })
        .collect();
    let now = cx.now_ms() as i64;
    let Some(o) = claim_opts(cx, &args[5 + ids.len()..], now) else {
        return;
    };
    let delivery = o
        .delivery_ms
        .filter(|t| (0..=now).contains(t))
        .unwrap_or(now) as u64;
    let Ok((Some(st), out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(mut g) = st.groups.remove(&args[2]) else {
        return;
    };
    let mut propagate_last_id = o.last_id > g.last_id;
    if propagate_last_id {
        g.last_id = o.last_id;
    }
    let cname = &args[3];
    let (consumer, created) = g.consumer(cname, now as u64);
    consumer.seen_time_ms = now as u64;
    let (mut effects, mut claimed) = (Vec::new(), Vec::new());
    for (id, arg) in ids {
        if st.get(id).is_none() {
            if let Some(effect) = drop_deleted(&mut g, args, id, arg) {
                effects.push(effect);
                propagate_last_id = false;
            }
            continue;
        }
        let (base_count, delivered_ms) = match g.pel.get(&id) {
            Some(p) => (p.delivery_count, Some(p.delivery_time_ms as i64)),
            None if o.force => (1, None),
            None => continue,
        };
        if delivered_ms.is_some_and(|t| min_idle > 0 && now - t < min_idle) {
            continue;
        }
        let count = o.retrycount.unwrap_or(base_count + u64::from(!o.justid));
        g.assign(id, cname, delivery, count);
        if let Some(c) = g.consumers.get_mut(cname) {
            c.active_time_ms = now;
        }
        claimed.push(id);
        effects.push(claim_effect(
            &args[1], &args[2], cname, arg, delivery, count, g.last_id,
        ));
        propagate_last_id = false;
    }
    if propagate_last_id {
        effects.push(setid_effect(&args[1], &args[2], &g));
    }
    out.array(claimed.len());
    for id in claimed {
        reply_claimed(out, st, id, o.justid);
    }
    st.groups.insert(args[2].clone(), g);
    cx.dirty += effects.len() as u64 + u64::from(created);
    if created {
        cx.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    cx.propagate = Propagate::Replace(effects);
}

fn reply_claimed(out: &mut crate::resp::Out, st: &Stream, id: StreamId, justid: bool) {
    match st.get(id) {
        Some(e) if !justid => reply_entry(out, e),
        _ => reply_id(out, id),
    }
}

/// Redis' cap on XAUTOCLAIM's COUNT (LONG_MAX over the 16-byte ids it may collect).
const MAX_AUTOCLAIM_COUNT: i64 = i64::MAX / 16;
/// PEL entries XAUTOCLAIM may look at per entry it may claim.
const ATTEMPTS_FACTOR: u64 = 10;

fn xautoclaim(cx: &mut Cx, args: &[Bytes]) {
    let Some(min_idle) = int_or(
        cx,
        &args[4],
        "Invalid min-idle-time argument for XAUTOCLAIM",
    ) else {
        return;
    };
    let Some(start) = bound_arg(&mut cx.out, &args[5], 0, false) else {
        return;
    };
    let (mut count, mut justid) = (100u64, false);
    let mut j = 6;
    while j < args.len() {
        if is(&args[j], "count") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]).filter(|n| (1..=MAX_AUTOCLAIM_COUNT).contains(n)) {
                Some(n) => count = n as u64,
                None => return cx.out.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if is(&args[j], "justid") {
            justid = true;
        } else {
            return cx.syntax_error();
        }
        j += 1;
    }
    let now = cx.now_ms() as i64;
    let Ok((st, out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(st) = st.filter(|s| s.groups.contains_key(&args[2])) else {
        return nogroup(cx, args);
    };
    let Some(mut g) = st.groups.remove(&args[2]) else {
        return;
    };
    let cname = &args[3];
    let (consumer, created) = g.consumer(cname, now as u64);
    consumer.seen_time_ms = now as u64;
    let mut attempts = count.saturating_mul(ATTEMPTS_FACTOR);
    let candidates: Vec<StreamId> = g
        .pel
        .range(start..)
        .map(|(id, _)| *id)
        .take(attempts.saturating_add(1).min(usize::MAX as u64) as usize)
        .collect();
    let (mut effects, mut claimed, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    let mut next = 0;
    while attempts > 0 && count > 0 && next < candidates.len() {
        attempts -= 1;
        let id = candidates[next];
        next += 1;
        if st.get(id).is_none() {
            effects.extend(drop_deleted(&mut g, args, id, id_bytes(id)));
            deleted.push(id);
            count -= 1;
            continue;
        }
        let Some(p) = g.pel.get(&id) else { continue };
        if min_idle > 0 && now - (p.delivery_time_ms as i64) < min_idle {
            continue;
        }
        let times = p.delivery_count + u64::from(!justid);
        g.assign(id, cname, now as u64, times);
        if let Some(c) = g.consumers.get_mut(cname) {
            c.active_time_ms = now;
        }
        claimed.push(id);
        count -= 1;
        effects.push(claim_effect(
            &args[1],
            &args[2],
            cname,
            id_bytes(id),
            now as u64,
            times,
            g.last_id,
        ));
    }
    out.array(3);
    reply_id(out, candidates.get(next).copied().unwrap_or(StreamId::MIN));
    out.array(claimed.len());
    for id in claimed {
        reply_claimed(out, st, id, justid);
    }
    out.array(deleted.len());
    for id in deleted {
        reply_id(out, id);
    }
    st.groups.insert(args[2].clone(), g);
    cx.dirty += effects.len() as u64 + u64::from(created);
    if created {
        cx.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    cx.propagate = Propagate::Replace(effects);
}
