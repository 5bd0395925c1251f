//! Introspection: INFO (sections written in `info.rs`) and COMMAND with its subcommands COUNT,
//! LIST, INFO, DOCS, GETKEYS and HELP, describing the command table.

#[path = "info.rs"]
pub(super) mod info;

use super::config::{help, subcommand};
use super::{flags, flags::*, is, server, Call, CommandSpec};
use crate::core::Server;
use crate::resp::Out;
use crate::text::glob_match;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    server("info", -1, LOADING | STALE, (0, 0, 0), info::info),
    server("command", -1, LOADING | STALE, (0, 0, 0), command),
];

pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("count", 2),
    ("list", -2),
    ("info", -2),
    ("docs", -2),
    ("getkeys", -3),
    ("help", 2),
];

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
];

fn command(s: &mut Server, call: &Call) {
    if call.args.len() == 1 {
        let all: Vec<&CommandSpec> = s.commands.values().copied().collect();
        let mut out = s.reply(call.id);
        out.array(all.len());
        for spec in all {
            command_info(&mut out, spec);
        }
        return;
    }
    let Some(sub) = subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "count" => {
            let n = s.commands.len() as i64;
            s.reply(call.id).int(n);
        }
        "list" => list(s, call),
        "info" => info_of(s, call),
        "docs" => docs(s, call),
        "getkeys" => getkeys(s, call),
        _ => help(s, call.id, "COMMAND", HELP),
    }
}

/// COMMAND INFO [name ...]: every command, or the named ones (null for unknown names).
fn info_of(s: &mut Server, call: &Call) {
    let specs: Vec<Option<(&CommandSpec, Option<&str>)>> = if call.args.len() == 2 {
        s.commands.values().map(|c| Some((*c, None))).collect()
    } else {
        call.args[2..].iter().map(|n| lookup(s, n)).collect()
    };
    let mut out = s.reply(call.id);
    out.array(specs.len());
    for found in specs {
        match found {
            Some((spec, None)) => command_info(&mut out, spec),
            Some((spec, Some(sub))) => subcommand_info(&mut out, spec, sub),
            None => out.null(),
        }
    }
}

/// A subcommand as COMMAND INFO describes it: its full name and own arity, the rest its
/// container's.
fn subcommand_info(out: &mut Out, spec: &CommandSpec, sub: &str) {
    let arity = super::subcommands_of(spec.name)
        .iter()
        .find(|(n, _)| *n == sub)
        .map_or(spec.arity, |(_, a)| *a);
    let full = format!("{}|{sub}", spec.name);
    info_row(out, spec, &full, arity);
}

/// COMMAND LIST [FILTERBY (MODULE name | ACLCAT category | PATTERN pattern)].
fn list(s: &mut Server, call: &Call) {
    let filter = match &call.args[2..] {
        [] => None,
        [by, kind, arg] if is(by, "filterby") => {
            let arg = String::from_utf8_lossy(arg).into_owned();
            if is(kind, "module") || is(kind, "aclcat") || is(kind, "pattern") {
                Some((String::from_utf8_lossy(kind).to_ascii_lowercase(), arg))
            } else {
                return s.reply(call.id).syntax();
            }
        }
        _ => return s.reply(call.id).syntax(),
    };
    let names: Vec<String> = s
        .commands
        .values()
        .flat_map(|c| {
            let subs = visible_subcommands(s, c.name);
            std::iter::once(c.name.to_string())
                .chain(subs.into_iter().map(|sub| format!("{}|{sub}", c.name)))
        })
        .filter(|name| match &filter {
            None => true,
            Some((kind, arg)) if kind == "pattern" => {
                glob_match(arg.as_bytes(), name.as_bytes(), true)
            }
            Some((kind, arg)) if kind == "aclcat" => crate::acl::categories::by_name(arg)
                .is_some_and(|bits| crate::acl::categories::of(name) & bits != 0),
            // No modules are ever loaded.
            Some(_) => false,
        })
        .collect();
    s.reply(call.id).bulks(names.iter());
}

/// The subcommands of `container` that this server's mode has.
fn visible_subcommands(s: &Server, container: &str) -> Vec<&'static str> {
    super::subcommands_of(container)
        .iter()
        .map(|(sub, _)| *sub)
        .filter(|sub| s.sentinel.is_none() || super::sentinel::keeps(container, sub))
        .collect()
}

/// A command by name, or a subcommand by its full name `container|sub` (with the subcommand's
/// name as the table spells it).
fn lookup(s: &Server, name: &[u8]) -> Option<(&'static CommandSpec, Option<&'static str>)> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    match name.split_once('|') {
        None => s.command(name.as_bytes()).map(|spec| (spec, None)),
        Some((container, sub)) => {
            let spec = s.command(container.as_bytes())?;
            let found = visible_subcommands(s, spec.name)
                .into_iter()
                .find(|n| *n == sub)?;
            Some((spec, Some(found)))
        }
    }
}

/// COMMAND DOCS [name ...]: for each known command (every one without names), its full name and
/// a map of what is documented here: its group, and a container's subcommands. Unknown names
/// are left out, as in Redis.
fn docs(s: &mut Server, call: &Call) {
    let found: Vec<(&CommandSpec, Option<&str>)> = if call.args.len() == 2 {
        s.commands.values().map(|c| (*c, None)).collect()
    } else {
        call.args[2..].iter().filter_map(|n| lookup(s, n)).collect()
    };
    let entries: Vec<(&str, Option<&str>, Vec<&str>)> = found
        .into_iter()
        .map(|(spec, sub)| {
            let subs = match sub {
                None => visible_subcommands(s, spec.name),
                Some(_) => Vec::new(),
            };
            (spec.name, sub, subs)
        })
        .collect();
    let mut out = s.reply(call.id);
    out.map(entries.len());
    for (name, sub, subs) in entries {
        let full = match sub {
            Some(sub) => format!("{name}|{sub}"),
            None => name.to_string(),
        };
        out.bulk(full.as_bytes());
        doc(&mut out, name, &subs);
    }
}

/// One command's documentation map (RESP2: a flat array of names and values).
fn doc(out: &mut Out, container: &str, subs: &[&str]) {
    out.map(if subs.is_empty() { 1 } else { 2 });
    out.bulk(b"group");
    out.bulk(super::group_of(container).as_bytes());
    if subs.is_empty() {
        return;
    }
    out.bulk(b"subcommands");
    out.map(subs.len());
    for sub in subs {
        out.bulk(format!("{container}|{sub}").as_bytes());
        doc(out, container, &[]);
    }
}

/// COMMAND GETKEYS command arg...: the key arguments, by the command's first/last/step or, for
/// movable keys, as computed from the arguments.
fn getkeys(s: &mut Server, call: &Call) {
    let argv = &call.args[2..];
    let Some(spec) = s.command(&argv[0]) else {
        return s.reply(call.id).error("ERR Invalid command specified");
    };
    if spec.first_key == 0 && spec.movable_keys.is_none() {
        return s
            .reply(call.id)
            .error("ERR The command has no key arguments");
    }
    let n = argv.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
        return s
            .reply(call.id)
            .error("ERR Invalid number of arguments specified for command");
    }
    let keys = match spec.movable_keys {
        Some(f) => Some(f(argv)).filter(|k| !k.is_empty()),
        None => key_positions(spec, argv.len()),
    };
    let Some(keys) = keys else {
        return s
            .reply(call.id)
            .error("ERR Invalid arguments specified for command");
    };
    let keys: Vec<&Bytes> = keys.into_iter().map(|i| &argv[i]).collect();
    s.reply(call.id).bulks(keys.into_iter());
}

/// Positions of the keys in a call with `argc` arguments, or `None` if they run past its end.
pub(crate) fn key_positions(spec: &CommandSpec, argc: usize) -> Option<Vec<usize>> {
    let argc = argc as i64;
    let first = i64::from(spec.first_key);
    let last = match i64::from(spec.last_key) {
        l if l < 0 => argc + l,
        l => l,
    };
    let step = i64::from(spec.step).max(1);
    let mut keys = Vec::new();
    let mut i = first;
    while i <= last {
        if i >= argc {
            return None;
        }
        keys.push(i as usize);
        i += step;
    }
    Some(keys)
}

/// The names Redis prints for command flags, in its order.
const FLAG_NAMES: &[(u32, &str)] = &[
    (flags::WRITE, "write"),
    (flags::READONLY, "readonly"),
    (flags::DENYOOM, "denyoom"),
    (flags::ADMIN, "admin"),
    (flags::PUBSUB, "pubsub"),
    (flags::NOSCRIPT, "noscript"),
    (flags::LOADING, "loading"),
    (flags::STALE, "stale"),
    (flags::FAST, "fast"),
    (flags::NO_AUTH, "no_auth"),
    (flags::NO_MULTI, "no_multi"),
];

/// One command as COMMAND describes it: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specs, subcommands.
fn command_info(out: &mut Out, spec: &CommandSpec) {
    info_row(out, spec, spec.name, spec.arity);
}

/// COMMAND INFO's row for `spec` shown under `name` with `arity`.
fn info_row(out: &mut Out, spec: &CommandSpec, name: &str, arity: i32) {
    out.array(10);
    out.bulk(name.as_bytes());
    out.int(i64::from(arity));
    // A subcommand has its container's flags, but `admin` just where its ACL categories say
    // so (Redis derives @admin from the flag): CLIENT ID is not an admin command, CLIENT KILL is.
    let cats = crate::acl::categories::of(name);
    let admin = cats & crate::acl::categories::ADMIN != 0;
    let flags = match name.contains('|') {
        true if admin => spec.flags | super::flags::ADMIN,
        true => spec.flags & !super::flags::ADMIN,
        false => spec.flags,
    };
    let mut names: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if spec.movable_keys.is_some() {
        names.push("movablekeys");
    }
    statuses(out, &names);
    out.int(i64::from(spec.first_key));
    out.int(i64::from(spec.last_key));
    out.int(i64::from(spec.step));
    let cats = crate::acl::categories::names_of(cats);
    let cats: Vec<&str> = cats.iter().map(String::as_str).collect();
    statuses(out, &cats);
    // No tips, key specs or subcommands.
    for _ in 0..3 {
        out.set(0);
    }
}

fn statuses(out: &mut Out, items: &[&str]) {
    out.set(items.len());
    for i in items {
        out.simple(i);
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testing::*;
    use crate::resp::Frame;

    fn simple(s: &str) -> Frame {
        Frame::Simple(s.into())
    }

    #[test]
    fn command_count_is_the_table_size() {
        let mut t = TestServer::new();
        let n = t.server.commands.len() as i64;
        assert_eq!(t.cmd(&["command", "count"]), int(n));
        let Frame::Array(all) = t.cmd(&["command"]) else {
            panic!()
        };
        assert_eq!(all.len() as i64, n);
        let Frame::Array(names) = t.cmd(&["command", "list"]) else {
            panic!()
        };
        let subs: usize = t
            .server
            .commands
            .keys()
            .map(|c| crate::commands::subcommands_of(c).len())
            .sum();
        assert_eq!(names.len(), n as usize + subs);
        assert!(names.contains(&bulk("client|setinfo")));
    }

    #[test]
    fn command_info_has_the_redis_7_shape() {
        let mut t = TestServer::new();
        let Frame::Array(infos) = t.cmd(&["command", "info", "config", "nosuch"]) else {
            panic!()
        };
        assert_eq!(infos[1], Frame::Null);
        let Frame::Array(config) = &infos[0] else {
            panic!()
        };
        assert_eq!(config.len(), 10);
        assert_eq!(config[0], bulk("config"));
        assert_eq!(config[1], int(-2));
        assert_eq!(
            config[2],
            Frame::Array(vec![
                simple("admin"),
                simple("noscript"),
                simple("loading"),
                simple("stale")
            ])
        );
        assert_eq!(&config[3..6], &[int(0), int(0), int(0)]);
        assert_eq!(
            config[6],
            // Redis' own: the container is @slow, its subcommands carry @admin and @dangerous.
            Frame::Array(vec![simple("@slow")])
        );
        assert_eq!(&config[7..], &[arr(&[]), arr(&[]), arr(&[])]);
        let Frame::Array(infos) = t.cmd(&["command", "info", "client|setinfo"]) else {
            panic!()
        };
        let Frame::Array(setinfo) = &infos[0] else {
            panic!()
        };
        assert_eq!(&setinfo[..2], &[bulk("client|setinfo"), int(4)]);
    }

    #[test]
    fn command_list_filters_by_pattern_and_docs_tell_groups() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["command", "list", "filterby", "pattern", "conf*"]),
            arr(&[
                "config",
                "config|get",
                "config|set",
                "config|resetstat",
                "config|rewrite",
                "config|help"
            ])
        );
        assert_eq!(
            t.cmd(&["command", "list", "filterby", "module", "x"]),
            arr(&[])
        );
        assert_eq!(
            t.cmd(&["command", "list", "bogus"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["command", "docs", "get", "nosuch", "client|setinfo"]),
            Frame::Array(vec![
                bulk("get"),
                arr(&["group", "string"]),
                bulk("client|setinfo"),
                arr(&["group", "connection"]),
            ])
        );
        assert_eq!(
            t.cmd(&["command", "nope"]),
            err("ERR unknown subcommand 'nope'. Try COMMAND HELP.")
        );
    }

    #[test]
    fn command_getkeys_reports_key_arguments() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["command", "getkeys", "nosuch", "a"]),
            err("ERR Invalid command specified")
        );
        assert_eq!(
            t.cmd(&["command", "getkeys", "ping", "a"]),
            err("ERR The command has no key arguments")
        );
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let mset = super::CommandSpec {
            first_key: 1,
            last_key: -1,
            step: 2,
            ..crate::commands::config::COMMANDS[0]
        };
        assert_eq!(super::key_positions(&mset, 5), Some(vec![1, 3]));
        let get = super::CommandSpec {
            first_key: 1,
            last_key: 1,
            step: 1,
            ..mset
        };
        assert_eq!(super::key_positions(&get, 2), Some(vec![1]));
        assert_eq!(super::key_positions(&get, 1), None);
    }
}
