//! ACL: SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, LOG, GENPASS, DRYRUN, SAVE, LOAD,
//! HELP (Redis 7.2's replies; the users and rules themselves live in `crate::acl`).

use super::config::{help, subcommand};
use super::{flags::*, server, Call, CommandSpec};
use crate::acl::{categories, log::reason_name, selector::Selector, user, User};
use crate::core::Server;
use crate::resp::Out;

pub const COMMANDS: &[CommandSpec] = &[server(
    "acl",
    -2,
    NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    acl,
)];

pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("cat", -2),
    ("deluser", -3),
    ("dryrun", -4),
    ("genpass", -2),
    ("getuser", 3),
    ("help", 2),
    ("list", 2),
    ("load", 2),
    ("log", -2),
    ("save", 2),
    ("setuser", -3),
    ("users", 2),
    ("whoami", 2),
];

/// ACL GENPASS' largest size.
const GENPASS_MAX_BITS: i64 = 4096;

fn acl(s: &mut Server, call: &Call) {
    let Some(sub) = subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    if call.args.len() > 3 && matches!(sub, "cat" | "log" | "genpass") {
        let given = String::from_utf8_lossy(&call.args[1]);
        let shown: String = given.chars().take(128).collect();
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{shown}'. Try ACL HELP."
        );
        return s.reply(call.id).error(&msg);
    }
    match sub {
        "setuser" => setuser(s, call),
        "getuser" => getuser(s, call),
        "deluser" => deluser(s, call),
        "users" => {
            let names: Vec<String> = s.acl.users.keys().cloned().collect();
            s.reply(call.id).bulks(names.iter())
        }
        "list" => list(s, call),
        "whoami" => {
            let user = s.clients[&call.id].user.clone();
            s.reply(call.id)
                .bulk_opt(user.as_deref().map(str::as_bytes))
        }
        "cat" => cat(s, call),
        "log" => log(s, call),
        "genpass" => genpass(s, call),
        "dryrun" => dryrun(s, call),
        "load" | "save" if s.config.aclfile.is_empty() => s.reply(call.id).error(NO_ACLFILE),
        "load" => s.load_aclfile(Some(call.id)),
        "save" => s.save_aclfile(call.id),
        _ => help(s, call.id, "ACL", HELP),
    }
}

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn setuser(s: &mut Server, call: &Call) {
    let name = String::from_utf8_lossy(&call.args[2]).into_owned();
    if !user::valid_name(&name) {
        return s
            .reply(call.id)
            .error("ERR Usernames can't contain spaces or null characters");
    }
    s.acl.registry.all_channels_by_default = s.pubsub_default_all();
    match s.acl.set_user(&name, &call.args[3..]) {
        Ok(()) => {
            s.disconnect_revoked_subscribers(&name);
            s.reply(call.id).ok()
        }
        Err(e) => s.reply(call.id).error(&format!("ERR {e}")),
    }
}

fn getuser(s: &mut Server, call: &Call) {
    let name = String::from_utf8_lossy(&call.args[2]);
    let Some(u) = s.acl.users.get(name.as_ref()).cloned() else {
        return s.reply(call.id).null();
    };
    let mut out = s.reply(call.id);
    out.map(6);
    out.bulk(b"flags");
    let flags = u.flags();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.bulks(u.passwords.iter());
    describe_selector(&mut out, u.root());
    out.bulk(b"selectors");
    out.array(u.selectors.len() - 1);
    for sel in &u.selectors[1..] {
        out.map(3);
        describe_selector(&mut out, sel);
    }
}

/// A selector's commands, keys and channels fields of ACL GETUSER.
fn describe_selector(out: &mut Out, sel: &Selector) {
    for (field, value) in [
        ("commands", sel.describe_commands()),
        ("keys", sel.describe_keys()),
        ("channels", sel.describe_channels()),
    ] {
        out.bulk(field.as_bytes());
        out.bulk(value.as_bytes());
    }
}

fn deluser(s: &mut Server, call: &Call) {
    let names: Vec<String> = call.args[2..]
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    if names.iter().any(|n| n == "default") {
        return s
            .reply(call.id)
            .error("ERR The 'default' user cannot be removed");
    }
    let mut deleted = 0;
    for name in &names {
        if s.acl.users.remove(name).is_some() {
            s.disconnect_user(name);
            deleted += 1;
        }
    }
    s.reply(call.id).int(deleted);
}

/// ACL LIST: each user as a config file line.
fn list(s: &mut Server, call: &Call) {
    let lines: Vec<String> = s.acl.users.values().map(User::line).collect();
    s.reply(call.id).bulks(lines.iter());
}

/// ACL CAT [category]: the categories, or the commands in one.
fn cat(s: &mut Server, call: &Call) {
    let Some(arg) = call.args.get(2) else {
        return s.reply(call.id).bulks(categories::NAMES.iter());
    };
    let name = String::from_utf8_lossy(arg);
    let Some(bits) = categories::by_name(&name) else {
        let shown: String = name.chars().take(128).collect();
        return s
            .reply(call.id)
            .error(&format!("ERR Unknown category '{shown}'"));
    };
    let names: Vec<String> = s.acl.registry.in_category(bits).map(String::from).collect();
    s.reply(call.id).bulks(names.iter());
}

/// ACL LOG [count | RESET].
fn log(s: &mut Server, call: &Call) {
    let mut count = 10;
    if let Some(arg) = call.args.get(2) {
        if super::is(arg, "reset") {
            s.acl.log.reset();
            return s.reply(call.id).ok();
        }
        let Some(n) = super::int_arg(&mut s.reply(call.id), arg) else {
            return;
        };
        count = n.max(0) as usize;
    }
    let now_ms = call.now.unix_ms;
    let entries: Vec<_> = s.acl.log.entries.iter().take(count).cloned().collect();
    let mut out = s.reply(call.id);
    out.array(entries.len());
    for e in entries {
        out.map(10);
        out.bulk(b"count");
        out.int(e.count as i64);
        for (k, v) in [
            ("reason", reason_name(e.reason)),
            ("context", e.context),
            ("object", &e.object),
            ("username", &e.username),
        ] {
            out.bulk(k.as_bytes());
            out.bulk(v.as_bytes());
        }
        out.bulk(b"age-seconds");
        out.double(now_ms.saturating_sub(e.updated_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.as_bytes());
        for (k, v) in [
            ("entry-id", e.entry_id),
            ("timestamp-created", e.created_ms),
            ("timestamp-last-updated", e.updated_ms),
        ] {
            out.bulk(k.as_bytes());
            out.int(v as i64);
        }
    }
}

/// ACL GENPASS [bits]: random hex from the server's seeded generator.
fn genpass(s: &mut Server, call: &Call) {
    let mut bits = 256;
    if let Some(arg) = call.args.get(2) {
        let Some(n) = super::int_arg(&mut s.reply(call.id), arg) else {
            return;
        };
        bits = n;
    }
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        let msg = format!("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}");
        return s.reply(call.id).error(&msg);
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut pass = String::with_capacity(chars + 16);
    while pass.len() < chars {
        pass.push_str(&format!(
            "{:016x}",
            rand_core::RngCore::next_u64(&mut s.rng)
        ));
    }
    pass.truncate(chars);
    s.reply(call.id).bulk(pass.as_bytes());
}

/// ACL DRYRUN user command [arg ...]: whether the user could run the call.
fn dryrun(s: &mut Server, call: &Call) {
    let user = String::from_utf8_lossy(&call.args[2]).into_owned();
    if !s.acl.users.contains_key(&user) {
        return s
            .reply(call.id)
            .error(&format!("ERR User '{user}' not found"));
    }
    let argv = &call.args[3..];
    let Some(spec) = s.command(&argv[0]) else {
        let shown = String::from_utf8_lossy(&argv[0]);
        return s
            .reply(call.id)
            .error(&format!("ERR Command '{shown}' not found"));
    };
    let n = argv.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
        let msg = format!("ERR wrong number of arguments for '{}' command", spec.name);
        return s.reply(call.id).error(&msg);
    }
    match s.acl.check(&user, spec, argv) {
        Ok(()) => s.reply(call.id).ok(),
        Err(d) => {
            let msg = s.acl.denied_message(&user, spec.name, argv, d, true);
            s.reply(call.id).bulk(msg.as_bytes())
        }
    }
}

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];
