//! XREAD and XREADGROUP: COUNT, BLOCK, NOACK, `$` (XREAD: after the stream's last id) and `>`
//! (XREADGROUP: entries never delivered to the group) or an id (the consumer's own history).
//! With nothing to serve and BLOCK, the client waits in `core/blocking.rs`; as in Redis 7.2, a
//! write to one of its streams re-runs the command (with `$` replaced by the id it stood for),
//! and an XREADGROUP is also woken by its key's deletion or type change, which fail it. Group
//! reads reach replicas as their effects: an XCLAIM per delivered entry, XGROUP SETID after
//! NOACK reads, XGROUP CREATECONSUMER for a NOACK reader's new consumer.

use super::{id_bytes, parse_id, reply_id, word, INVALID_ID};
use crate::commands::blocking::{Attempt, Pop};
use crate::commands::{flags::*, int_arg, is, server, Call, CommandSpec, Cx, Propagate};
use crate::core::{ConnId, Now, Server};
use crate::db::{notify, Stream, StreamId};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    server("xread", -4, READONLY | NOSCRIPT, (0, 0, 0), xread).movable(after_streams),
    server("xreadgroup", -7, WRITE | NOSCRIPT, (0, 0, 0), xreadgroup).movable(after_streams),
];

/// The keys of `... STREAMS key... id...`.
pub fn after_streams(args: &[Bytes]) -> Vec<usize> {
    match args.iter().position(|a| is(a, "streams")) {
        Some(at) if (args.len() - at - 1) % 2 == 0 => {
            (at + 1..at + 1 + (args.len() - at - 1) / 2).collect()
        }
        _ => Vec::new(),
    }
}

/// A client waiting in XREAD / XREADGROUP: the command to re-run, `$` already resolved.
#[derive(Clone, Debug)]
pub struct StreamWait {
    pub args: Vec<Bytes>,
    pub group: bool,
}

struct ReadArgs {
    block_ms: Option<u64>,
    count: usize,
    noack: bool,
    group: Option<(Bytes, Bytes)>,
    /// Where the keys start; as many ids follow them.
    streams_at: usize,
    n: usize,
}

enum Outcome {
    Served,
    Failed,
    Nothing,
    /// Nothing now, BLOCK given: wait on these keys, re-running these arguments.
    Block(Vec<Bytes>, Vec<Bytes>, Option<u64>),
}

fn xread(s: &mut Server, call: &Call) {
    start(s, call, false);
}

fn xreadgroup(s: &mut Server, call: &Call) {
    start(s, call, true);
}

fn start(s: &mut Server, call: &Call, group: bool) {
    let in_multi = s.in_transaction(call.id);
    match run(s, call.id, call.args, call.now, group, false) {
        Outcome::Block(..) if in_multi => s.reply(call.id).null_array(),
        Outcome::Block(args, keys, block_ms) => {
            let db = s.clients.get(&call.id).map_or(0, |c| c.db);
            let deadline = block_ms.map(|ms| call.now.mono_ms + ms);
            let name = if group { "xreadgroup" } else { "xread" };
            s.block_on_keys(
                call.id,
                db,
                keys,
                Pop::Stream(StreamWait { args, group }),
                deadline,
                name,
            );
        }
        _ => {}
    }
}

/// A waiting client's stream was written: re-run its command.
pub fn resume(s: &mut Server, id: ConnId, wait: &StreamWait) -> Attempt {
    let now = s.last_now();
    match run(s, id, &wait.args, now, wait.group, true) {
        Outcome::Served => Attempt::Served,
        Outcome::Failed => Attempt::Failed,
        Outcome::Nothing | Outcome::Block(..) => Attempt::Empty,
    }
}

fn run(s: &mut Server, id: ConnId, args: &[Bytes], now: Now, group: bool, retry: bool) -> Outcome {
    let Some((db, outcome, dirty, effects)) =
        s.with_cx(id, now, |cx| read_cmd(cx, args, group, retry))
    else {
        return Outcome::Failed;
    };
    if let (true, Propagate::Replace(cmds)) = (dirty > 0, effects) {
        if !cmds.is_empty() {
            s.propagate(db, cmds);
        }
    }
    outcome
}

fn parse(cx: &mut Cx, args: &[Bytes], group: bool) -> Option<ReadArgs> {
    let mut r = ReadArgs {
        block_ms: None,
        count: 0,
        noack: false,
        group: None,
        streams_at: 0,
        n: 0,
    };
    let name = if group { "xreadgroup" } else { "xread" };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let a = &args[i];
        if is(a, "block") && more > 0 {
            i += 1;
            let Some(ms) = crate::resp::parse_i64(&args[i]) else {
                cx.out
                    .error("ERR timeout is not an integer or out of range");
                return None;
            };
            if ms < 0 {
                cx.out.error("ERR timeout is negative");
                return None;
            }
            r.block_ms = Some(ms as u64);
        } else if is(a, "count") && more > 0 {
            i += 1;
            r.count = int_arg(&mut cx.out, &args[i])?.max(0) as usize;
        } else if is(a, "streams") && more > 0 {
            r.streams_at = i + 1;
            if (args.len() - r.streams_at) % 2 != 0 {
                let symbol = if group { '>' } else { '$' };
                cx.out.error(&format!("ERR Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."));
                return None;
            }
            r.n = (args.len() - r.streams_at) / 2;
            break;
        } else if is(a, "group") && more >= 2 {
            if !group {
                cx.out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if is(a, "noack") {
            if !group {
                cx.out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.noack = true;
        } else {
            cx.syntax_error();
            return None;
        }
        i += 1;
    }
    if r.streams_at == 0 {
        cx.syntax_error();
        return None;
    }
    if group && r.group.is_none() {
        cx.out.error("ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(r)
}

/// Resolves each key's id: `$`, `>` (as the maximum id) or an id; checks types and groups.
fn resolve(cx: &mut Cx, args: &[Bytes], r: &ReadArgs) -> Option<Vec<StreamId>> {
    let mut ids = Vec::with_capacity(r.n);
    for i in 0..r.n {
        let (key, arg) = (&args[r.streams_at + i], &args[r.streams_at + r.n + i]);
        let st = super::read(cx, key).ok()?.0;
        let last = st.as_ref().map_or(StreamId::MIN, |s| s.last_id);
        if let Some((g, _)) = &r.group {
            if !st.is_some_and(|s| s.groups.contains_key(g)) {
                let (k, g) = (String::from_utf8_lossy(key), String::from_utf8_lossy(g));
                cx.out.error(&format!("NOGROUP No such key '{k}' or consumer group '{g}' in XREADGROUP with GROUP option"));
                return None;
            }
        }
        let id = match arg.as_ref() {
            b"$" if r.group.is_some() => {
                cx.out.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return None;
            }
            b"$" => last,
            b">" if r.group.is_none() => {
                cx.out.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return None;
            }
            b">" => StreamId::MAX,
            _ => match parse_id(arg, 0, true) {
                Some((id, true)) => id,
                _ => {
                    cx.out.error(INVALID_ID);
                    return None;
                }
            },
        };
        ids.push(id);
    }
    Some(ids)
}

/// What one stream contributes to the reply: entries, `None` fields for a deleted history entry.
type Served = Vec<(StreamId, Option<Vec<Bytes>>)>;

fn read_cmd(cx: &mut Cx, args: &[Bytes], group: bool, retry: bool) -> Outcome {
    let Some(r) = parse(cx, args, group) else {
        return Outcome::Failed;
    };
    let Some(ids) = resolve(cx, args, &r) else {
        return Outcome::Failed;
    };
    let mut replies: Vec<(Bytes, Served)> = Vec::new();
    let mut effects = Vec::new();
    for (i, gt) in ids.iter().enumerate() {
        let key = args[r.streams_at + i].clone();
        let now_ms = cx.now_ms();
        let served = match &r.group {
            Some(g) => match super::write(cx, &key) {
                Ok((Some(st), _)) => {
                    let new_consumer = st
                        .groups
                        .get(&g.0)
                        .is_some_and(|x| !x.consumers.contains_key(&g.1));
                    let served = serve_group(st, &key, g, &r, *gt, now_ms, &mut effects);
                    if new_consumer {
                        cx.notify(notify::STREAM, "xgroup-createconsumer", &key);
                    }
                    served
                }
                _ => None,
            },
            None => match super::read(cx, &key) {
                Ok((Some(st), _)) => (st.length > 0 && st.last_live_id() > *gt).then(|| {
                    let start = gt.next().unwrap_or(StreamId::MAX);
                    owned(st.range(start, StreamId::MAX, false, r.count))
                }),
                _ => None,
            },
        };
        if let Some(entries) = served {
            replies.push((key, entries));
        }
    }
    if group {
        // A NOACK reader's new consumer reaches replicas even when nothing was served.
        cx.dirty += (replies.len() + effects.len()) as u64;
        cx.propagate = Propagate::Replace(effects);
    }
    if replies.is_empty() {
        return match r.block_ms {
            Some(ms) => {
                let keys = args[r.streams_at..r.streams_at + r.n].to_vec();
                Outcome::Block(resolved_args(args, &r, &ids), keys, (ms > 0).then_some(ms))
            }
            None if retry => Outcome::Nothing,
            None => {
                cx.out.null_array();
                Outcome::Nothing
            }
        };
    }
    reply(cx, &replies);
    Outcome::Served
}

fn owned(entries: Vec<&crate::db::stream::NodeEntry>) -> Served {
    entries
        .into_iter()
        .map(|e| (e.id, Some(e.fields.clone())))
        .collect()
}

/// The arguments with each `$` replaced by the id it resolved to.
fn resolved_args(args: &[Bytes], r: &ReadArgs, ids: &[StreamId]) -> Vec<Bytes> {
    let mut out = args.to_vec();
    for (i, id) in ids.iter().enumerate() {
        let at = r.streams_at + r.n + i;
        if out[at].as_ref() == b"$" {
            out[at] = id_bytes(*id);
        }
    }
    out
}

fn reply(cx: &mut Cx, replies: &[(Bytes, Served)]) {
    let resp3 = cx.out.is_resp3();
    match resp3 {
        true => cx.out.map(replies.len()),
        false => cx.out.array(replies.len()),
    }
    for (key, entries) in replies {
        if !resp3 {
            cx.out.array(2);
        }
        cx.out.bulk(key);
        cx.out.array(entries.len());
        for (id, fields) in entries {
            cx.out.array(2);
            reply_id(&mut cx.out, *id);
            match fields {
                Some(f) => cx.out.bulks(f.iter()),
                None => cx.out.null_array(),
            }
        }
    }
}

/// XREADGROUP on one stream: new entries for `>`, else the consumer's pending history.
fn serve_group(
    st: &mut Stream,
    key: &Bytes,
    (gname, cname): &(Bytes, Bytes),
    r: &ReadArgs,
    gt: StreamId,
    now_ms: u64,
    effects: &mut Vec<Vec<Bytes>>,
) -> Option<Served> {
    let mut g = st.groups.remove(gname)?;
    let history = gt != StreamId::MAX;
    let fresh = !history && st.length > 0 && st.last_live_id() > g.last_id;
    let (consumer, created) = g.consumer(cname, now_ms);
    consumer.seen_time_ms = now_ms;
    if created && r.noack {
        effects.push(vec![
            word("XGROUP"),
            word("CREATECONSUMER"),
            key.clone(),
            gname.clone(),
            cname.clone(),
        ]);
    }
    let served = if history {
        Some(history_of(st, &mut g, cname, gt, r.count, now_ms))
    } else if fresh {
        Some(deliver(st, &mut g, key, gname, cname, r, now_ms, effects))
    } else {
        None
    };
    st.groups.insert(gname.clone(), g);
    served
}

fn history_of(
    st: &Stream,
    g: &mut crate::db::stream::Group,
    cname: &Bytes,
    gt: StreamId,
    count: usize,
    now_ms: u64,
) -> Served {
    let Some(start) = gt.next() else {
        return Vec::new();
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> = g.consumers.get(cname).map_or_else(Vec::new, |c| {
        c.pel.range(start..).take(limit).copied().collect()
    });
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let fields = st.get(id).map(|e| e.fields.clone());
        if fields.is_some() {
            if let Some(p) = g.pel.get_mut(&id) {
                p.delivery_time_ms = now_ms;
                p.delivery_count += 1;
            }
        }
        out.push((id, fields));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn deliver(
    st: &Stream,
    g: &mut crate::db::stream::Group,
    key: &Bytes,
    gname: &Bytes,
    cname: &Bytes,
    r: &ReadArgs,
    now_ms: u64,
    effects: &mut Vec<Vec<Bytes>>,
) -> Served {
    let start = g.last_id.next().unwrap_or(StreamId::MAX);
    let entries = owned(st.range(start, StreamId::MAX, false, r.count));
    for (id, _) in &entries {
        if *id > g.last_id {
            st.group_advance(g, *id);
        }
        if r.noack {
            continue;
        }
        g.assign(*id, cname, now_ms, 1);
        if let Some(c) = g.consumers.get_mut(cname) {
            c.active_time_ms = now_ms as i64;
        }
        effects.push(claim_effect(
            key,
            gname,
            cname,
            id_bytes(*id),
            now_ms,
            1,
            g.last_id,
        ));
    }
    if r.noack && !entries.is_empty() {
        effects.push(setid_effect(key, gname, g));
    }
    entries
}

/// The idempotent XCLAIM Redis propagates for a delivered or claimed entry.
pub fn claim_effect(
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    id: Bytes,
    time_ms: u64,
    count: u64,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        word("XCLAIM"),
        key.clone(),
        group.clone(),
        consumer.clone(),
        word("0"),
        id,
        word("TIME"),
        Bytes::from(time_ms.to_string()),
        word("RETRYCOUNT"),
        Bytes::from(count.to_string()),
        word("FORCE"),
        word("JUSTID"),
        word("LASTID"),
        id_bytes(last_id),
    ]
}

/// XGROUP SETID with the group's last id and read counter (-1 when unknown).
pub fn setid_effect(key: &Bytes, gname: &Bytes, g: &crate::db::stream::Group) -> Vec<Bytes> {
    let read = g.entries_read.map_or(-1, |n| n as i64);
    vec![
        word("XGROUP"),
        word("SETID"),
        key.clone(),
        gname.clone(),
        id_bytes(g.last_id),
        word("ENTRIESREAD"),
        Bytes::from(read.to_string()),
    ]
}
