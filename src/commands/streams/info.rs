//! XINFO STREAM [FULL [COUNT n]], GROUPS, CONSUMERS and HELP, with Redis' fields in its order.

use super::groups::{subcommand, subcommand_syntax_error};
use super::{read, reply_entries, reply_entry, reply_id};
use crate::commands::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::stream::Group;
use crate::db::{Stream, StreamId};
use crate::resp::Out;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[data("xinfo", -2, READONLY, (2, 2, 1), xinfo)];

pub(crate) const SUBCOMMANDS: &[(&str, i32)] =
    &[("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)];

const HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn xinfo(cx: &mut Cx, args: &[Bytes]) {
    let Some(sub) = subcommand(cx, args, SUBCOMMANDS, HELP) else {
        return;
    };
    let full = match sub {
        "stream" => match stream_options(cx, args) {
            Some(full) => full,
            None => return,
        },
        _ => None,
    };
    let now = cx.now_ms() as i64;
    let Ok((st, out)) = read(cx, &args[2]) else {
        return;
    };
    let Some(st) = st else {
        return out.error("ERR no such key");
    };
    match sub {
        "consumers" => consumers(out, st, args, now),
        "groups" => groups(out, st),
        _ => stream(out, st, full),
    }
}

/// `FULL [COUNT n]`: `Some(count)` (0 = all), `None` inside for the short form.
fn stream_options(cx: &mut Cx, args: &[Bytes]) -> Option<Option<usize>> {
    let opts = &args[3..];
    if opts.is_empty() {
        return Some(None);
    }
    let valid = matches!(opts.len(), 1 | 3)
        && is(&opts[0], "full")
        && (opts.len() == 1 || is(&opts[1], "count"));
    if !valid {
        subcommand_syntax_error(cx, args);
        return None;
    }
    let count = match opts.get(2) {
        Some(n) => int_arg(&mut cx.out, n)?,
        None => 10,
    };
    Some(Some(if count < 0 { 10 } else { count as usize }))
}

fn consumers(out: &mut Out, st: &Stream, args: &[Bytes], now: i64) {
    let Some(g) = st.groups.get(&args[3]) else {
        let (g, k) = (
            String::from_utf8_lossy(&args[3]),
            String::from_utf8_lossy(&args[2]),
        );
        return out.error(&format!(
            "NOGROUP No such consumer group '{g}' for key name '{k}'"
        ));
    };
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(4);
        out.bulk(b"name");
        out.bulk(name);
        int_field(out, "pending", c.pel.len() as i64);
        int_field(out, "idle", (now - c.seen_time_ms as i64).max(0));
        int_field(
            out,
            "inactive",
            if c.active_time_ms == -1 {
                -1
            } else {
                now - c.active_time_ms
            },
        );
    }
}

fn entries_read_and_lag(out: &mut Out, st: &Stream, g: &Group) {
    out.bulk(b"entries-read");
    match g.entries_read {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
    out.bulk(b"lag");
    match st.lag(g) {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

fn groups(out: &mut Out, st: &Stream) {
    out.array(st.groups.len());
    for (name, g) in &st.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        int_field(out, "consumers", g.consumers.len() as i64);
        int_field(out, "pending", g.pel.len() as i64);
        id_field(out, "last-delivered-id", g.last_id);
        entries_read_and_lag(out, st, g);
    }
}

fn stream(out: &mut Out, st: &Stream, full: Option<usize>) {
    out.map(if full.is_some() { 9 } else { 10 });
    int_field(out, "length", st.length as i64);
    int_field(out, "radix-tree-keys", st.nodes.len() as i64);
    int_field(out, "radix-tree-nodes", st.rax_nodes() as i64);
    for (name, id) in [
        ("last-generated-id", st.last_id),
        ("max-deleted-entry-id", st.max_deleted_id),
    ] {
        out.bulk(name.as_bytes());
        reply_id(out, id);
    }
    int_field(out, "entries-added", st.entries_added as i64);
    id_field(out, "recorded-first-entry-id", st.first_id);
    let Some(count) = full else {
        int_field(out, "groups", st.groups.len() as i64);
        for (name, rev) in [("first-entry", false), ("last-entry", true)] {
            out.bulk(name.as_bytes());
            match st.range(StreamId::MIN, StreamId::MAX, rev, 1).first() {
                Some(e) => reply_entry(out, e),
                None => out.null(),
            }
        }
        return;
    };
    out.bulk(b"entries");
    reply_entries(out, &st.range(StreamId::MIN, StreamId::MAX, false, count));
    out.bulk(b"groups");
    out.array(st.groups.len());
    let limit = if count == 0 { usize::MAX } else { count };
    for (name, g) in &st.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        id_field(out, "last-delivered-id", g.last_id);
        entries_read_and_lag(out, st, g);
        int_field(out, "pel-count", g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(limit).collect();
        out.array(pel.len());
        for (id, p) in pel {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&p.consumer);
            out.int(p.delivery_time_ms as i64);
            out.int(p.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(5);
            out.bulk(b"name");
            out.bulk(cname);
            int_field(out, "seen-time", c.seen_time_ms as i64);
            int_field(out, "active-time", c.active_time_ms);
            int_field(out, "pel-count", c.pel.len() as i64);
            out.bulk(b"pending");
            let own: Vec<_> = c.pel.iter().take(limit).collect();
            out.array(own.len());
            for id in own {
                let p = g.pel.get(id);
                out.array(3);
                reply_id(out, *id);
                out.int(p.map_or(0, |p| p.delivery_time_ms as i64));
                out.int(p.map_or(0, |p| p.delivery_count as i64));
            }
        }
    }
}

fn int_field(out: &mut Out, name: &str, n: i64) {
    out.bulk(name.as_bytes());
    out.int(n);
}

fn id_field(out: &mut Out, name: &str, id: StreamId) {
    out.bulk(name.as_bytes());
    reply_id(out, id);
}
