//! XGROUP (CREATE [MKSTREAM] [ENTRIESREAD], SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP),
//! XACK and XPENDING (the summary, and the extended form with IDLE and a consumer).

use super::{bound_arg, id_arg, ids_arg, parse_id, read, reply_id, write, INVALID_ID};
use crate::commands::config::{find_subcommand, help_to};
use crate::commands::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::stream::Group;
use crate::db::{StreamId, Value};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("xgroup", -2, WRITE, (2, 2, 1), xgroup),
    data("xack", -4, WRITE | FAST, (1, 1, 1), xack),
    data("xpending", -3, READONLY, (1, 1, 1), xpending),
];

pub(crate) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("create", -5),
    ("setid", -5),
    ("destroy", 4),
    ("createconsumer", 5),
    ("delconsumer", 5),
    ("help", 2),
];

const HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// Redis' reply to a subcommand given options it does not take.
pub fn subcommand_syntax_error(cx: &mut Cx, args: &[Bytes]) {
    let sub: String = String::from_utf8_lossy(&args[1])
        .chars()
        .take(128)
        .collect();
    let cmd = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    cx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
    ));
}

/// XGROUP's options (from `args[5]`): MKSTREAM for CREATE, ENTRIESREAD for CREATE and SETID.
fn options(cx: &mut Cx, args: &[Bytes], sub: &str) -> Option<(bool, Option<u64>)> {
    let (mut mkstream, mut entries_read) = (false, None);
    let mut i = 5;
    while i < args.len() {
        if sub == "create" && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (sub == "create" || sub == "setid")
            && is(&args[i], "entriesread")
            && i + 1 < args.len()
        {
            let n = int_arg(&mut cx.out, &args[i + 1])?;
            if n < -1 {
                cx.out
                    .error("ERR value for ENTRIESREAD must be positive or -1");
                return None;
            }
            entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            subcommand_syntax_error(cx, args);
            return None;
        }
    }
    Some((mkstream, entries_read))
}

/// The subcommand of XGROUP / XINFO, once checked; `None` once HELP or an error is written.
pub fn subcommand(
    cx: &mut Cx,
    args: &[Bytes],
    subs: &[(&'static str, i32)],
    help: &[&str],
) -> Option<&'static str> {
    match find_subcommand(args, subs, |_, _| true) {
        Ok("help") => {
            let container = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
            help_to(&mut cx.out, &container, help);
            None
        }
        Ok(sub) => Some(sub),
        Err(e) => {
            cx.out.error(&e);
            None
        }
    }
}

fn xgroup(cx: &mut Cx, args: &[Bytes]) {
    let Some(sub) = subcommand(cx, args, SUBCOMMANDS, HELP) else {
        return;
    };
    let Some((mkstream, entries_read)) = options(cx, args, sub) else {
        return;
    };
    let (key, name) = (&args[2], &args[3]);
    let Ok((st, out)) = write(cx, key) else {
        return;
    };
    let exists = st.is_some();
    let has_group = st.as_ref().is_some_and(|s| s.groups.contains_key(name));
    if !mkstream && !exists {
        return out.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
    }
    if exists && !has_group && matches!(sub, "setid" | "createconsumer" | "delconsumer") {
        let (g, k) = (String::from_utf8_lossy(name), String::from_utf8_lossy(key));
        return out.error(&format!(
            "NOGROUP No such consumer group '{g}' for key name '{k}'"
        ));
    }
    match sub {
        "create" if args.len() <= 8 => create(cx, args, entries_read),
        "setid" if args.len() == 5 || args.len() == 7 => setid(cx, args, entries_read),
        "destroy" => {
            let removed = write(cx, key)
                .ok()
                .and_then(|(st, _)| st?.groups.remove(name));
            cx.out.int(i64::from(removed.is_some()));
            cx.dirty += u64::from(removed.is_some());
        }
        "createconsumer" => {
            let now = cx.now_ms();
            let created = group_mut(cx, key, name).is_some_and(|g| g.consumer(&args[4], now).1);
            cx.out.int(i64::from(created));
            cx.dirty += u64::from(created);
        }
        "delconsumer" => {
            let pending = group_mut(cx, key, name).and_then(|g| g.remove_consumer(&args[4]));
            cx.out.int(pending.unwrap_or(0) as i64);
            cx.dirty += u64::from(pending.is_some());
        }
        _ => subcommand_syntax_error(cx, args),
    }
}

fn group_mut<'c>(cx: &'c mut Cx, key: &[u8], name: &[u8]) -> Option<&'c mut Group> {
    write(cx, key).ok()?.0?.groups.get_mut(name)
}

fn create(cx: &mut Cx, args: &[Bytes], entries_read: Option<u64>) {
    let (key, name) = (&args[2], &args[3]);
    let given = match args[4].as_ref() {
        b"$" => None,
        arg => match parse_id(arg, 0, true) {
            Some((id, true)) => Some(id),
            _ => return cx.out.error(INVALID_ID),
        },
    };
    let (now, mode) = (cx.now_ms(), cx.mode());
    let db = &mut cx.ks.dbs[cx.db_index];
    if db.get(key, now, mode).is_none() {
        db.insert(key.clone(), Value::Stream(Box::default()), None);
        cx.dirty += 1;
    }
    let Ok((Some(st), out)) = write(cx, key) else {
        return;
    };
    if st.groups.contains_key(name) {
        return out.error("BUSYGROUP Consumer Group name already exists");
    }
    let id = given.unwrap_or(st.last_id);
    st.groups.insert(name.clone(), Group::new(id, entries_read));
    out.ok();
    cx.dirty += 1;
}

fn setid(cx: &mut Cx, args: &[Bytes], entries_read: Option<u64>) {
    let (key, name) = (&args[2], &args[3]);
    let Ok((Some(st), out)) = write(cx, key) else {
        return;
    };
    let id = match args[4].as_ref() {
        b"$" => st.last_id,
        arg => match id_arg(out, arg, 0) {
            Some(id) => id,
            None => return,
        },
    };
    if let Some(g) = st.groups.get_mut(name) {
        g.last_id = id;
        g.entries_read = entries_read;
    }
    out.ok();
    cx.dirty += 1;
}

fn xack(cx: &mut Cx, args: &[Bytes]) {
    let Ok((st, out)) = write(cx, &args[1]) else {
        return;
    };
    let Some(g) = st.and_then(|s| s.groups.get_mut(&args[2])) else {
        return out.int(0);
    };
    let Some(ids) = ids_arg(out, &args[3..]) else {
        return;
    };
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count() as u64;
    out.int(acked as i64);
    cx.dirty += acked;
}

/// XPENDING's extended form, as parsed.
struct Extended {
    min_idle_ms: i64,
    start: StreamId,
    end: StreamId,
    count: usize,
    consumer: Option<Bytes>,
}

fn parse_extended(cx: &mut Cx, args: &[Bytes]) -> Option<Extended> {
    let mut at = 3;
    let mut min_idle_ms = 0;
    if is(&args[3], "idle") {
        min_idle_ms = int_arg(&mut cx.out, &args[4])?;
        if args.len() < 8 {
            cx.syntax_error();
            return None;
        }
        at += 2;
    }
    let count = int_arg(&mut cx.out, &args[at + 2])?.max(0) as usize;
    let start = bound_arg(&mut cx.out, &args[at], 0, false)?;
    let end = bound_arg(&mut cx.out, &args[at + 1], u64::MAX, true)?;
    let consumer = args.get(at + 3).cloned();
    Some(Extended {
        min_idle_ms,
        start,
        end,
        count,
        consumer,
    })
}

fn xpending(cx: &mut Cx, args: &[Bytes]) {
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return cx.syntax_error();
    }
    let ext = match args.len() {
        3 => None,
        _ => match parse_extended(cx, args) {
            Some(e) => Some(e),
            None => return,
        },
    };
    let now = cx.now_ms() as i64;
    let Ok((st, out)) = read(cx, &args[1]) else {
        return;
    };
    let Some(g) = st.and_then(|s| s.groups.get(&args[2])) else {
        let (k, g) = (
            String::from_utf8_lossy(&args[1]),
            String::from_utf8_lossy(&args[2]),
        );
        return out.error(&format!(
            "NOGROUP No such key '{k}' or consumer group '{g}'"
        ));
    };
    let Some(ext) = ext else {
        out.array(4);
        out.int(g.pel.len() as i64);
        let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value())
        else {
            out.null();
            out.null();
            return out.null_array();
        };
        reply_id(out, *first);
        reply_id(out, *last);
        let owners: Vec<_> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .collect();
        out.array(owners.len());
        for (name, c) in owners {
            out.array(2);
            out.bulk(name);
            out.bulk(c.pel.len().to_string().as_bytes());
        }
        return;
    };
    let ids: Vec<StreamId> = match &ext.consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => c.pel.range(ext.start..).copied().collect(),
            None => return out.array(0),
        },
        None => g.pel.range(ext.start..).map(|(id, _)| *id).collect(),
    };
    let rows: Vec<_> = ids
        .into_iter()
        .take_while(|id| *id <= ext.end)
        .filter_map(|id| g.pel.get(&id).map(|p| (id, p)))
        .filter(|(_, p)| ext.min_idle_ms == 0 || now - p.delivery_time_ms as i64 >= ext.min_idle_ms)
        .take(ext.count)
        .collect();
    out.array(rows.len());
    for (id, p) in rows {
        out.array(4);
        reply_id(out, id);
        out.bulk(&p.consumer);
        out.int((now - p.delivery_time_ms as i64).max(0));
        out.int(p.delivery_count as i64);
    }
}
