//! Functions: FCALL, FCALL_RO and FUNCTION LOAD / LIST / DELETE / FLUSH / DUMP / RESTORE / STATS
//! / KILL / HELP. The libraries live in `crate::scripting::functions`.
//!
//! FUNCTION LOAD, DELETE, FLUSH and RESTORE reach replicas and the AOF as they were sent.

use super::config::{help, subcommand};
use super::scripting::script_keys;
use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::Server;
use crate::scripting::functions::{flag_names, Libraries};
use crate::scripting::run::{self, Job};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    server(
        "fcall",
        -3,
        NOSCRIPT | STALE | MAY_REPLICATE,
        (0, 0, 0),
        fcall,
    )
    .movable(script_keys),
    server(
        "fcall_ro",
        -3,
        NOSCRIPT | STALE | READONLY,
        (0, 0, 0),
        fcall_ro,
    )
    .movable(script_keys),
    server("function", -2, NOSCRIPT, (0, 0, 0), function),
];

pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("load", -3),
    ("list", -2),
    ("delete", 3),
    ("flush", -2),
    ("dump", 2),
    ("restore", -3),
    ("stats", 2),
    ("kill", 2),
    ("help", 2),
];

fn fcall(s: &mut Server, call: &Call) {
    run_function(s, call, false);
}

fn fcall_ro(s: &mut Server, call: &Call) {
    run_function(s, call, true);
}

fn run_function(s: &mut Server, call: &Call, ro: bool) {
    let name = String::from_utf8_lossy(&call.args[1]).into_owned();
    let Some(f) = s.scripting.libraries.function(&name) else {
        return s.reply(call.id).error("ERR Function not found");
    };
    let (func, flags) = (f.func.clone(), f.flags);
    let Some(n) = super::scripting::numkeys(s, call, "ERR Bad number of keys provided") else {
        return;
    };
    let job = Job {
        func,
        name: &name,
        keys: &call.args[3..3 + n],
        args: &call.args[3 + n..],
        flags,
        eval: false,
        ro,
    };
    let engine = s.scripting.functions.clone();
    run::run(s, &engine, call, job);
}

fn function(s: &mut Server, call: &Call) {
    let Some(sub) = subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    let writes = ["load", "delete", "flush", "restore"].contains(&sub);
    if writes && s.repl.link.is_some() && s.config.replica_read_only && !from_master(call) {
        return s
            .reply(call.id)
            .error("READONLY You can't write against a read only replica.");
    }
    match sub {
        "load" => load(s, call),
        "list" => list(s, call),
        "delete" => delete(s, call),
        "flush" => flush(s, call),
        "dump" => {
            let codes = s.scripting.library_codes();
            let codes: Vec<&[u8]> = codes.iter().map(|c| &c[..]).collect();
            s.reply(call.id).bulk(&crate::rdb::function_payload(&codes));
        }
        "restore" => restore(s, call),
        "stats" => stats(s, call),
        "kill" => s
            .reply(call.id)
            .error("NOTBUSY No scripts in execution right now."),
        _ => help(s, call.id, "FUNCTION", HELP),
    }
}

fn from_master(call: &Call) -> bool {
    call.id == crate::core::replication::MASTER_CLIENT_ID
        || call.id == crate::core::aof::AOF_LOADER_ID
}

/// A library change reaches replicas and the AOF as the command was sent.
fn changed(s: &mut Server, call: &Call) {
    s.dirty += 1;
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    s.propagate(db, vec![call.args.to_vec()]);
}

fn load(s: &mut Server, call: &Call) {
    let mut replace = false;
    let code_at = call.args.len() - 1;
    for arg in &call.args[2..code_at] {
        if !is(arg, "replace") {
            let msg = format!("ERR Unknown option given: {}", String::from_utf8_lossy(arg));
            return s.reply(call.id).error(&msg);
        }
        replace = true;
    }
    let engine = s.scripting.functions.clone();
    let clock = s.scripting.clock.clone().filter(|_| !from_master(call));
    match s
        .scripting
        .libraries
        .load(&engine, &call.args[code_at], replace, clock)
    {
        Ok(name) => {
            s.reply(call.id).bulk(name.as_bytes());
            changed(s, call);
        }
        Err(e) => s.reply(call.id).error(&e),
    }
}

fn list(s: &mut Server, call: &Call) {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < call.args.len() {
        let arg = &call.args[i];
        if !with_code && is(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "libraryname") {
            let Some(p) = call.args.get(i + 1) else {
                return s
                    .reply(call.id)
                    .error("ERR library name argument was not given");
            };
            pattern = Some(p.clone());
            i += 1;
        } else {
            let msg = format!("ERR Unknown argument {}", String::from_utf8_lossy(arg));
            return s.reply(call.id).error(&msg);
        }
        i += 1;
    }
    let libs = &s.scripting.libraries.libs;
    let shown: Vec<_> = libs
        .iter()
        .filter(|(_, lib)| {
            pattern
                .as_ref()
                .is_none_or(|p| crate::text::glob_match(p, lib.name.as_bytes(), true))
        })
        .collect();
    let c = s.clients.get_mut(&call.id).expect("caller");
    let mut out = crate::resp::Out::with_resp(&mut c.out, c.resp);
    out.array(shown.len());
    for (_, lib) in shown {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for (fname, f) in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(fname.as_bytes());
            out.bulk(b"description");
            out.bulk_opt(f.desc.as_deref());
            out.bulk(b"flags");
            let names: Vec<&str> = flag_names(f.flags).collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    s.reply(call.id);
}

fn delete(s: &mut Server, call: &Call) {
    let name = String::from_utf8_lossy(&call.args[2]).into_owned();
    if !s.scripting.libraries.remove(&name) {
        return s.reply(call.id).error("ERR Library not found");
    }
    s.reply(call.id).ok();
    changed(s, call);
}

fn flush(s: &mut Server, call: &Call) {
    if !super::scripting::flush_mode_ok(call) {
        return s
            .reply(call.id)
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    s.scripting.flush_functions();
    s.reply(call.id).ok();
    changed(s, call);
}

fn restore(s: &mut Server, call: &Call) {
    let policy =
        match call.args.get(3) {
            None => "append",
            Some(p) if call.args.len() == 4 && is(p, "flush") => "flush",
            Some(p) if call.args.len() == 4 && is(p, "append") => "append",
            Some(p) if call.args.len() == 4 && is(p, "replace") => "replace",
            Some(_) => return s.reply(call.id).error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let codes = match crate::rdb::read_function_payload(&call.args[2]) {
        Ok(codes) => codes,
        Err(e) => return s.reply(call.id).error(&format!("ERR {e}")),
    };
    if policy == "flush" {
        s.scripting.flush_functions();
    }
    let engine = s.scripting.functions.clone();
    let mut trial = Libraries::default();
    let kept: Vec<Bytes> = s.scripting.library_codes();
    let outcome = kept
        .iter()
        .try_for_each(|c| trial.load(&engine, c, false, None).map(drop))
        .and_then(|()| {
            codes
                .iter()
                .try_for_each(|c| trial.load(&engine, c, policy == "replace", None).map(drop))
        });
    match outcome {
        Ok(()) => {
            s.scripting.libraries = trial;
            s.reply(call.id).ok();
            changed(s, call);
        }
        Err(e) => s.reply(call.id).error(&e),
    }
}

fn stats(s: &mut Server, call: &Call) {
    let libs = &s.scripting.libraries;
    let (n_libs, n_functions) = (libs.libs.len() as i64, libs.function_count() as i64);
    let mut out = s.reply(call.id);
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(n_libs);
    out.bulk(b"functions_count");
    out.int(n_functions);
}

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "FCALL <FUNCTION NAME> nkeys <key1 .. keyn> <arg1 .. argn>",
    "    Call a function with the given name and given arguments.",
    "FCALL_RO <FUNCTION NAME> nkeys <key1 .. keyn> <arg1 .. argn>",
    "    Call a function with the given name and given arguments, only allows read only commands.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on replace, the function will be",
    "      rejected if there is a collision with functions of other libraries).",
];
