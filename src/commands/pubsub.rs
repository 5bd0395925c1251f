//! Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT.

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
    server("pubsub", -2, PUBSUB | LOADING | STALE, (0, 0, 0), pubsub),
];

/// Which of a client's two subscription sets a command works on.
#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
}

impl Kind {
    fn verbs(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
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
    }
}

fn confirm(s: &mut Server, id: ConnId, verb: &[u8], name: Option<&[u8]>) {
    let count = s.clients[&id].subscriptions() as i64;
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
        confirm(s, call.id, kind.verbs().0, Some(name));
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
        return confirm(s, id, verb, None);
    }
    for name in names {
        let (mine, all) = sets(s, id, kind);
        if mine.remove(&name) {
            remove_subscriber(all, &name, id);
        }
        confirm(s, id, verb, Some(&name));
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
    for kind in [Kind::Channel, Kind::Pattern] {
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

/// Delivers a message to channel and pattern subscribers; returns how many received it.
pub fn publish_message(s: &mut Server, channel: &Bytes, message: &[u8]) -> i64 {
    let mut receivers = 0;
    let direct: Vec<ConnId> = s
        .channels
        .get(channel)
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    for id in direct {
        let mut out = push_to(s, id);
        out.push(3);
        out.bulk(b"message");
        out.bulk(channel);
        out.bulk(message);
        receivers += 1;
    }
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

/// Where a message for `id` goes: its output, or after the reply of the command it is running.
fn push_to(s: &mut Server, id: ConnId) -> crate::resp::Out<'_> {
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
    s.reply(call.id).int(n);
    // Replicas see every message (Sentinel's hellos reach it through replicas too).
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    s.repl_feed_command(db, call.args);
}

fn pubsub(s: &mut Server, call: &Call) {
    let args = call.args;
    let sub = &args[1];
    if is(sub, "channels") && args.len() <= 3 {
        let names: Vec<Bytes> = s
            .channels
            .keys()
            .filter(|ch| args.get(2).is_none_or(|p| glob_match(p, ch, false)))
            .cloned()
            .collect();
        s.reply(call.id).bulks(names.iter());
    } else if is(sub, "numsub") {
        let counts: Vec<(Bytes, i64)> = args[2..]
            .iter()
            .map(|ch| (ch.clone(), s.channels.get(ch).map_or(0, |c| c.len() as i64)))
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
