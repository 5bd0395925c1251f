//! CLIENT: SETNAME, GETNAME, ID, INFO, LIST, KILL, PAUSE, UNPAUSE, SETINFO, REPLY, NO-EVICT,
//! NO-TOUCH, HELP; the tracking subcommands are in `client_tracking`.

use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::{Client, ConnId, Server};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[server(
    "client",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    client,
)];

/// CLIENT's subcommands with their Redis arities.
pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("setname", 3),
    ("getname", 2),
    ("id", 2),
    ("info", 2),
    ("list", -2),
    ("kill", -3),
    ("unpause", 2),
    ("pause", -3),
    ("reply", 3),
    ("setinfo", 4),
    ("no-evict", 3),
    ("no-touch", 3),
    ("tracking", -3),
    ("caching", 3),
    ("getredir", 2),
    ("trackinginfo", 2),
    ("help", 2),
];

/// Client names may not contain spaces, newlines or other special characters.
pub fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn client(s: &mut Server, call: &Call) {
    let args = call.args;
    let Some(sub) = super::config::subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "setname" => setname(s, call),
        "getname" => {
            let name = s.clients[&call.id].name.clone();
            s.reply(call.id).bulk_opt(name.as_deref());
        }
        "id" => s.reply(call.id).int(call.id as i64),
        "info" => {
            let line = s.clients[&call.id].info_line(call.now.mono_ms) + "\n";
            s.reply(call.id).verbatim(line.as_bytes());
        }
        "setinfo" => setinfo(s, call),
        "reply" => reply(s, call),
        "no-evict" | "no-touch" => {
            if is(&args[2], "on") || is(&args[2], "off") {
                if is(&args[1], "no-evict") {
                    s.clients.get_mut(&call.id).expect("caller").no_evict = is(&args[2], "on");
                }
                s.reply(call.id).ok();
            } else {
                s.reply(call.id).syntax();
            }
        }
        "list" => list(s, call),
        "kill" => kill(s, call),
        "tracking" => super::client_tracking::tracking(s, call),
        "caching" => super::client_tracking::caching(s, call),
        "getredir" => super::client_tracking::getredir(s, call),
        "trackinginfo" => super::client_tracking::trackinginfo(s, call),
        "pause" => pause(s, call),
        "unpause" => {
            s.unpause_actions(crate::core::pause::Purpose::ClientCommand, call.now);
            s.reply(call.id).ok();
        }
        _ => help(s, call.id),
    }
}

fn setname(s: &mut Server, call: &Call) {
    let name = &call.args[2];
    if !valid_name(name) {
        return s
            .reply(call.id)
            .error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    s.clients.get_mut(&call.id).expect("caller").name = (!name.is_empty()).then(|| name.clone());
    s.reply(call.id).ok();
}

/// CLIENT REPLY ON|OFF|SKIP: only ON replies; SKIP drops the next command's reply.
fn reply(s: &mut Server, call: &Call) {
    let mode = &call.args[2];
    let c = s.clients.get_mut(&call.id).expect("caller");
    if is(mode, "on") {
        (c.reply_off, c.skip_next, c.skipping) = (false, false, false);
        s.reply(call.id).ok();
    } else if is(mode, "off") {
        c.reply_off = true;
    } else if is(mode, "skip") {
        c.skip_next = !c.reply_off;
    } else {
        s.reply(call.id).syntax();
    }
}

fn setinfo(s: &mut Server, call: &Call) {
    let (attr, value) = (&call.args[2], call.args[3].clone());
    if !valid_name(&value) {
        let msg = format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        );
        return s.reply(call.id).error(&msg);
    }
    let c = s.clients.get_mut(&call.id).expect("caller");
    if is(attr, "lib-name") {
        c.lib_name = Some(value);
    } else if is(attr, "lib-ver") {
        c.lib_ver = Some(value);
    } else {
        let msg = format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        );
        return s.reply(call.id).error(&msg);
    }
    s.reply(call.id).ok();
}

/// Client types CLIENT LIST and CLIENT KILL filter on.
fn client_type(s: &Server, c: &Client) -> &'static str {
    if s.repl.replicas.contains_key(&c.id) {
        "replica"
    } else if c.id == crate::core::replication::MASTER_CLIENT_ID {
        "master"
    } else if c.subscriptions() > 0 {
        "pubsub"
    } else {
        "normal"
    }
}

fn parse_type(arg: &Bytes) -> Option<&'static str> {
    match String::from_utf8_lossy(arg).to_ascii_lowercase().as_str() {
        "normal" => Some("normal"),
        "pubsub" => Some("pubsub"),
        "master" => Some("master"),
        "replica" | "slave" => Some("replica"),
        _ => None,
    }
}

fn list(s: &mut Server, call: &Call) {
    let args = call.args;
    let mut ty = None;
    let mut ids: Option<Vec<ConnId>> = None;
    match args.len() {
        2 => {}
        4 if is(&args[2], "type") => match parse_type(&args[3]) {
            Some(t) => ty = Some(t),
            None => {
                let msg = format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(&args[3])
                );
                return s.reply(call.id).error(&msg);
            }
        },
        n if n >= 4 && is(&args[2], "id") => {
            let mut v = Vec::new();
            for a in &args[3..] {
                match crate::resp::parse_i64(a).filter(|&i| i > 0) {
                    Some(i) => v.push(i as ConnId),
                    None => return s.reply(call.id).error("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
        }
        _ => return s.reply(call.id).syntax(),
    }
    let mut text = String::new();
    for c in s.clients.values() {
        if ty.is_some_and(|t| t != client_type(s, c))
            || ids.as_ref().is_some_and(|v| !v.contains(&c.id))
        {
            continue;
        }
        text.push_str(&c.info_line(call.now.mono_ms));
        text.push('\n');
    }
    s.reply(call.id).verbatim(text.as_bytes());
}

/// Filters of the new CLIENT KILL form.
#[derive(Default)]
struct KillFilter {
    id: Option<ConnId>,
    ty: Option<&'static str>,
    addr: Option<String>,
    laddr: Option<String>,
    skipme: bool,
    maxage_s: Option<u64>,
    user: Option<String>,
}

fn kill(s: &mut Server, call: &Call) {
    let args = call.args;
    if args.len() == 3 {
        // Old form: CLIENT KILL ip:port.
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let Some(id) = s
            .clients
            .values()
            .find(|c| c.peer.to_string() == addr)
            .map(|c| c.id)
        else {
            return s.reply(call.id).error("ERR No such client");
        };
        s.reply(call.id).ok();
        s.close_after_reply(id);
        return;
    }
    if !args.len().is_multiple_of(2) {
        return s.reply(call.id).syntax();
    }
    let mut f = KillFilter {
        skipme: true,
        ..Default::default()
    };
    for pair in args[2..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        let text = String::from_utf8_lossy(val).into_owned();
        if is(opt, "id") {
            match crate::resp::parse_i64(val).filter(|&i| i > 0) {
                Some(i) => f.id = Some(i as ConnId),
                None => {
                    return s
                        .reply(call.id)
                        .error("ERR client-id should be greater than 0")
                }
            }
        } else if is(opt, "type") {
            match parse_type(val) {
                Some(t) => f.ty = Some(t),
                None => {
                    return s
                        .reply(call.id)
                        .error(&format!("ERR Unknown client type '{text}'"))
                }
            }
        } else if is(opt, "addr") {
            f.addr = Some(text);
        } else if is(opt, "laddr") {
            f.laddr = Some(text);
        } else if is(opt, "skipme") {
            match text.to_ascii_lowercase().as_str() {
                "yes" => f.skipme = true,
                "no" => f.skipme = false,
                _ => return s.reply(call.id).syntax(),
            }
        } else if is(opt, "maxage") {
            match crate::resp::parse_i64(val).filter(|&i| i >= 0) {
                Some(i) => f.maxage_s = Some(i as u64),
                None => return s.reply(call.id).syntax(),
            }
        } else if is(opt, "user") {
            if !s.acl.users.contains_key(&text) {
                return s
                    .reply(call.id)
                    .error(&format!("ERR No such user '{text}'"));
            }
            f.user = Some(text);
        } else {
            return s.reply(call.id).syntax();
        }
    }
    let now_ms = call.now.mono_ms;
    let victims: Vec<ConnId> = s
        .clients
        .values()
        .filter(|c| f.id.is_none_or(|id| id == c.id))
        .filter(|c| f.ty.is_none_or(|t| t == client_type(s, c)))
        .filter(|c| f.addr.as_ref().is_none_or(|a| *a == c.peer.to_string()))
        .filter(|c| f.laddr.as_ref().is_none_or(|a| *a == c.local.to_string()))
        .filter(|c| !(f.skipme && c.id == call.id))
        .filter(|c| f.user.is_none() || c.user == f.user)
        .filter(|c| {
            f.maxage_s
                .is_none_or(|m| now_ms.saturating_sub(c.created_ms) / 1000 >= m)
        })
        .map(|c| c.id)
        .collect();
    s.reply(call.id).int(victims.len() as i64);
    for id in victims {
        s.close_after_reply(id);
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]: the timeout in milliseconds, from now.
fn pause(s: &mut Server, call: &Call) {
    let all = match call.args.get(3) {
        None => true,
        Some(m) if is(m, "all") => true,
        Some(m) if is(m, "write") => false,
        Some(_) => {
            return s
                .reply(call.id)
                .error("ERR CLIENT PAUSE mode must be WRITE or ALL")
        }
    };
    let Some(timeout) =
        super::ms_timeout_arg(&mut s.reply(call.id), &call.args[2], call.now.unix_ms)
    else {
        return;
    };
    // A timeout of 0 is a pause already over.
    let end_ms = if timeout == 0 {
        0
    } else {
        call.now.mono_ms.saturating_add(timeout)
    };
    s.pause_clients(end_ms, all, call.now);
    s.reply(call.id).ok();
}

fn help(s: &mut Server, id: ConnId) {
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, ADDR, LADDR, SKIPME, MAXAGE, USER.",
        "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [...]]",
        "    Return information about client connections.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attributes: LIB-NAME, LIB-VER.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "HELP",
        "    Print this help.",
    ];
    let mut out = s.reply(id);
    out.array(lines.len());
    for l in lines {
        out.simple(l);
    }
}
