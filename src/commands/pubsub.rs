//! Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the shard channels
//! (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH: one shard here, so plain channels of their own) and
//! PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB.

use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::{ConnId, Server};
use crate::text::glob_match;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

pub const COMMANDS: &[CommandSpec] = &[
    server(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        subscribe,
    ),
    server(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        unsubscribe,
    ),
    server(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        psubscribe,
    ),
    server(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        punsubscribe,
    ),
    server(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (0, 0, 0),
        publish,
    ),
    server(
        "ssubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        ssubscribe,
    ),
    server(
        "sunsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        sunsubscribe,
    ),
    server(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (0, 0, 0),
        spublish,
    ),
    server("pubsub", -2, PUBSUB | LOADING | STALE, (0, 0, 0), pubsub),
];

/// Which of a client's two subscription sets a command works on.
#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn verbs(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

fn sets(
    s: &mut Server,
    id: ConnId,
    kind: Kind,
) -> (&mut BTreeSet<Bytes>, &mut BTreeMap<Bytes, BTreeSet<ConnId>>) {
    let c = s.clients.get_mut(&id).expect("caller");
    match kind {
        Kind::Channel => (&mut c.channels, &mut s.channels),
        Kind::Pattern => (&mut c.patterns, &mut s.patterns),
        Kind::Shard => (&mut c.shard_channels, &mut s.shard_channels),
    }
}

fn confirm(s: &mut Server, id: ConnId, kind: Kind, verb: &[u8], name: Option<&[u8]>) {
    let c = &s.clients[&id];
    let count = match kind {
        Kind::Shard => c.shard_channels.len(),
        _ => c.subscriptions(),
    } as i64;
    let mut out = s.push(id);
    out.push(3);
    out.bulk(verb);
    out.bulk_opt(name);
    out.int(count);
}

fn add(s: &mut Server, call: &Call, kind: Kind) {
    if s.clients[&call.id].multi.is_some() {
        let (verb, _) = kind.verbs();
        let msg = format!(
            "ERR Command not allowed inside a transaction: {}",
            String::from_utf8_lossy(verb)
        );
        return s.reply(call.id).error(&msg);
    }
    for name in &call.args[1..] {
        let (mine, all) = sets(s, call.id, kind);
        if mine.insert(name.clone()) {
            all.entry(name.clone()).or_default().insert(call.id);
        }
        confirm(s, call.id, kind, kind.verbs().0, Some(name));
    }
}

fn remove(s: &mut Server, id: ConnId, names: &[Bytes], kind: Kind) {
    let names: Vec<Bytes> = if names.is_empty() {
        sets(s, id, kind).0.iter().cloned().collect()
    } else {
        names.to_vec()
    };
    let verb = kind.verbs().1;
    if names.is_empty() {
        return confirm(s, id, kind, verb, None);
    }
    for name in names {
        let (mine, all) = sets(s, id, kind);
        if mine.remove(&name) {
            remove_subscriber(all, &name, id);
        }
        confirm(s, id, kind, verb, Some(&name));
    }
}

/// Drops `id` from `name`'s subscribers, forgetting the name when nobody is left.
pub fn remove_subscriber(all: &mut BTreeMap<Bytes, BTreeSet<ConnId>>, name: &Bytes, id: ConnId) {
    if let Some(subs) = all.get_mut(name) {
        subs.remove(&id);
        if subs.is_empty() {
            all.remove(name);
        }
    }
}

/// Unsubscribes from everything without replying (RESET).
pub fn unsubscribe_all(s: &mut Server, id: ConnId) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let (mine, all) = sets(s, id, kind);
        for name in std::mem::take(mine) {
            remove_subscriber(all, &name, id);
        }
    }
}

fn subscribe(s: &mut Server, call: &Call) {
    add(s, call, Kind::Channel);
}
fn psubscribe(s: &mut Server, call: &Call) {
    add(s, call, Kind::Pattern);
}
fn unsubscribe(s: &mut Server, call: &Call) {
    remove(s, call.id, &call.args[1..], Kind::Channel);
}
fn punsubscribe(s: &mut Server, call: &Call) {
    remove(s, call.id, &call.args[1..], Kind::Pattern);
}
fn ssubscribe(s: &mut Server, call: &Call) {
    add(s, call, Kind::Shard);
}
fn sunsubscribe(s: &mut Server, call: &Call) {
    remove(s, call.id, &call.args[1..], Kind::Shard);
}

/// Delivers a message to channel and pattern subscribers; returns how many received it.
pub fn publish_message(s: &mut Server, channel: &Bytes, message: &[u8]) -> i64 {
    let mut receivers = deliver(s, Kind::Channel, channel, message);
    let matching: Vec<(Bytes, ConnId)> = s
        .patterns
        .iter()
        .filter(|(p, _)| glob_match(p, channel, false))
        .flat_map(|(p, ids)| ids.iter().map(move |id| (p.clone(), *id)))
        .collect();
    for (pattern, id) in matching {
        let mut out = push_to(s, id);
        out.push(4);
        out.bulk(b"pmessage");
        out.bulk(&pattern);
        out.bulk(channel);
        out.bulk(message);
        receivers += 1;
    }
    receivers
}

/// Delivers to the subscribers of `channel` itself (`message`, or `smessage` for a shard one).
fn deliver(s: &mut Server, kind: Kind, channel: &Bytes, message: &[u8]) -> i64 {
    let subscribers = match kind {
        Kind::Shard => &s.shard_channels,
        _ => &s.channels,
    };
    let ids: Vec<ConnId> = subscribers
        .get(channel)
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let verb: &[u8] = match kind {
        Kind::Shard => b"smessage",
        _ => b"message",
    };
    for &id in &ids {
        let mut out = push_to(s, id);
        out.push(3);
        out.bulk(verb);
        out.bulk(channel);
        out.bulk(message);
    }
    ids.len() as i64
}

/// Where a message for `id` goes: its output, or after the reply of the command it is running.
pub(crate) fn push_to(s: &mut Server, id: ConnId) -> crate::resp::Out<'_> {
    if s.running
        .as_ref()
        .is_some_and(|(running, _)| *running == id)
    {
        let resp = s.clients.get(&id).map_or(2, |c| c.resp);
        let (_, later) = s.running.as_mut().expect("running");
        return crate::resp::Out::with_resp(later, resp);
    }
    s.push(id)
}

fn publish(s: &mut Server, call: &Call) {
    let n = publish_message(s, &call.args[1], &call.args[2]);
    sent(s, call, n);
}

fn spublish(s: &mut Server, call: &Call) {
    let n = deliver(s, Kind::Shard, &call.args[1], &call.args[2]);
    sent(s, call, n);
}

/// PUBLISH and SPUBLISH reply the receivers and replicate the message.
fn sent(s: &mut Server, call: &Call, n: i64) {
    s.reply(call.id).int(n);
    // Replicas see every message (Sentinel's hellos reach it through replicas too).
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    s.repl_feed_command(Some(db), call.args);
}

fn pubsub(s: &mut Server, call: &Call) {
    let args = call.args;
    let sub = &args[1];
    let shard = is(sub, "shardchannels") || is(sub, "shardnumsub");
    let channels = if shard {
        &s.shard_channels
    } else {
        &s.channels
    };
    if (is(sub, "channels") || is(sub, "shardchannels")) && args.len() <= 3 {
        let names: Vec<Bytes> = channels
            .keys()
            .filter(|ch| args.get(2).is_none_or(|p| glob_match(p, ch, false)))
            .cloned()
            .collect();
        s.reply(call.id).bulks(names.iter());
    } else if is(sub, "numsub") || is(sub, "shardnumsub") {
        let counts: Vec<(Bytes, i64)> = args[2..]
            .iter()
            .map(|ch| (ch.clone(), channels.get(ch).map_or(0, |c| c.len() as i64)))
            .collect();
        let mut out = s.reply(call.id);
        out.array(counts.len() * 2);
        for (ch, n) in counts {
            out.bulk(&ch);
            out.int(n);
        }
    } else if is(sub, "numpat") && args.len() == 2 {
        let n = s.patterns.len() as i64;
        s.reply(call.id).int(n);
    } else {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        );
        s.reply(call.id).error(&msg);
    }
}
