//! CONFIG: GET, SET, RESETSTAT, REWRITE, HELP — plus the subcommand checks and HELP reply that
//! container commands (CONFIG, COMMAND) share.

use super::{flags::*, server, Call, CommandSpec};
use crate::config::table::{self, Directive, IMMUTABLE, MULTI_ARG, PROTECTED};
use crate::config::{Allow, LogLevel};
use crate::core::{ConnId, DiskOp, DiskWaiter, Now, Server};
use std::collections::BTreeSet;

pub const COMMANDS: &[CommandSpec] = &[server(
    "config",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    config,
)];

pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("get", -3),
    ("set", -4),
    ("resetstat", 2),
    ("rewrite", 2),
    ("help", 2),
];

/// Directives CONFIG SET refuses while loading (Redis' `DENY_LOADING_CONFIG`).
const DENY_LOADING: &[&str] = &["appendonly", "repl-diskless-load", "dir"];

fn config(s: &mut Server, call: &Call) {
    let Some(sub) = subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "get" => get(s, call),
        "set" => set(s, call),
        "resetstat" => resetstat(s, call),
        "rewrite" => rewrite(s, call),
        _ => help(s, call.id, "CONFIG", HELP),
    }
}

/// Checks `args[1]` against a container's subcommands and their Redis arities; replies the
/// error and returns `None` when it is unknown or has the wrong number of arguments.
pub(super) fn subcommand(
    s: &mut Server,
    call: &Call,
    subs: &[(&'static str, i32)],
) -> Option<&'static str> {
    let sentinel = s.sentinel.is_some();
    let keep = |container: &str, name: &str| !sentinel || super::sentinel::keeps(container, name);
    match find_subcommand(call.args, subs, keep) {
        Ok(name) => Some(name),
        Err(msg) => {
            s.reply(call.id).error(&msg);
            None
        }
    }
}

/// The subcommand `args[1]` names among `subs` (those `keep` allows), or Redis' error for an
/// unknown one or a wrong number of arguments.
pub(super) fn find_subcommand(
    args: &[bytes::Bytes],
    subs: &[(&'static str, i32)],
    keep: impl Fn(&str, &str) -> bool,
) -> Result<&'static str, String> {
    let given = String::from_utf8_lossy(&args[1]);
    let container = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let found = subs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&given))
        .filter(|(n, _)| keep(&container, n));
    let Some(&(name, arity)) = found else {
        let shown: String = given.chars().take(128).collect();
        return Err(format!(
            "ERR unknown subcommand '{shown}'. Try {} HELP.",
            container.to_ascii_uppercase()
        ));
    };
    let n = args.len() as i32;
    if (arity > 0 && n != arity) || n < -arity {
        return Err(format!(
            "ERR wrong number of arguments for '{container}|{name}' command"
        ));
    }
    Ok(name)
}

/// Redis' HELP reply: a header, the given lines, and the HELP entry, as status strings.
pub(super) fn help(s: &mut Server, id: ConnId, container: &str, lines: &[&str]) {
    help_to(&mut s.reply(id), container, lines);
}

/// The HELP reply written to `out`.
pub(super) fn help_to(out: &mut crate::resp::Out, container: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

/// CONFIG GET pattern [pattern ...]: names (and aliases) matching any pattern, each once.
fn get(s: &mut Server, call: &Call) {
    let mut seen = BTreeSet::new();
    let mut found: Vec<(String, &Directive)> = Vec::new();
    for pattern in &call.args[2..] {
        if !pattern.iter().any(|b| b"*?[".contains(b)) {
            let name = String::from_utf8_lossy(pattern).into_owned();
            if let Some(d) = table::find(&name) {
                if seen.insert(name.to_ascii_lowercase()) {
                    found.push((name, d));
                }
            }
            continue;
        }
        for d in table::all().filter(|d| !d.has(table::HIDDEN)) {
            for name in std::iter::once(&d.name).chain(d.aliases) {
                if crate::text::glob_match(pattern, name.as_bytes(), true)
                    && seen.insert(name.to_string())
                {
                    found.push((name.to_string(), d));
                }
            }
        }
    }
    let values: Vec<String> = found.iter().map(|(_, d)| d.get(&s.config)).collect();
    let mut out = s.reply(call.id);
    out.map(found.len());
    for ((name, _), value) in found.iter().zip(&values) {
        out.bulk(name.as_bytes());
        out.bulk(value.as_bytes());
    }
}

/// CONFIG SET name value [name value ...]: all or nothing.
fn set(s: &mut Server, call: &Call) {
    let pairs = &call.args[2..];
    if !pairs.len().is_multiple_of(2) {
        return s.reply(call.id).syntax();
    }
    let mut chosen: Vec<(&Directive, String)> = Vec::new();
    let mut error = None;
    let mut deny_loading = false;
    for pair in pairs.chunks_exact(2) {
        let name = String::from_utf8_lossy(&pair[0]);
        let problem = match table::find(&name) {
            None => format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'"),
            Some(d) if d.has(IMMUTABLE) => failed(&name, "can't set immutable config"),
            Some(d) if d.has(PROTECTED) && !protected_allowed(s, call.id) => {
                failed(&name, "can't set protected config")
            }
            Some(d) if s.persist.loading && DENY_LOADING.contains(&d.name) => {
                deny_loading = true;
                continue;
            }
            Some(d) if chosen.iter().any(|(c, _)| std::ptr::eq(*c, d)) => {
                failed(&name, "duplicate parameter")
            }
            Some(d) => {
                chosen.push((d, String::from_utf8_lossy(&pair[1]).into_owned()));
                continue;
            }
        };
        // Like Redis, the first problem found is the one reported.
        error.get_or_insert(problem);
    }
    if deny_loading {
        // Like Redis, the loading error goes first: clients may retry it.
        return s.reply(call.id).error(crate::core::loading::LOADING_ERROR);
    }
    if let Some(e) = error {
        return s.reply(call.id).error(&e);
    }
    let mut next = s.config.clone();
    for (d, value) in &chosen {
        let args: Vec<String> = match (d.has(MULTI_ARG), value.is_empty()) {
            (true, true) => Vec::new(),
            (true, false) => value.split(' ').map(String::from).collect(),
            (false, _) => vec![value.clone()],
        };
        if let Err(why) = d.set(&mut next, &args) {
            return s.reply(call.id).error(&failed(d.name, &why));
        }
    }
    let old = std::mem::replace(&mut s.config, next);
    s.config_changed(&old, call.now);
    s.reply(call.id).ok();
}

fn failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

/// May this client change protected directives (dir, dbfilename)?
fn protected_allowed(s: &Server, id: ConnId) -> bool {
    allowed(s, id, s.config.enable_protected_configs)
}

/// May this client use a feature guarded by `allow` (`enable-protected-configs`,
/// `enable-debug-command`)? `local` means from a loopback address.
pub(super) fn allowed(s: &Server, id: ConnId, allow: Allow) -> bool {
    match allow {
        Allow::Yes => true,
        Allow::No => false,
        Allow::Local => s
            .clients
            .get(&id)
            .is_some_and(|c| c.peer.ip().is_loopback()),
    }
}

/// CONFIG RESETSTAT: zero the counters INFO reports.
fn resetstat(s: &mut Server, call: &Call) {
    s.stats = Default::default();
    s.ks.stats = Default::default();
    s.acl.log.denied = Default::default();
    s.persist.rdb_saves = 0;
    let r = &mut s.repl;
    (r.sync_full, r.sync_partial_ok, r.sync_partial_err) = (0, 0, 0);
    s.reply(call.id).ok();
}

/// CONFIG REWRITE: the reply comes when the disk write completes.
fn rewrite(s: &mut Server, call: &Call) {
    let Some(path) = s.config.config_file.clone() else {
        return s
            .reply(call.id)
            .error("ERR The server is running without a config file");
    };
    s.config.users = s.acl_config_lines();
    let text = crate::config::file::rewrite(s.config_text.as_deref(), &s.config);
    s.config_text = Some(text.clone());
    let op = DiskOp::WriteAtomic {
        path,
        data: text.into(),
    };
    s.start_disk(op, DiskWaiter::ConfigRewrite(call.id));
}

/// The CONFIG REWRITE write finished: its reply takes its place in `conn`'s output.
pub(crate) fn rewritten(
    s: &mut Server,
    now: Now,
    conn: ConnId,
    token: u64,
    result: Result<(), String>,
) {
    let mut reply = bytes::BytesMut::new();
    let mut out = crate::resp::Out::new(&mut reply);
    match result {
        Ok(()) => {
            out.ok();
            s.log(
                LogLevel::Notice,
                "CONFIG REWRITE executed with success.".into(),
            );
        }
        Err(e) => {
            out.error(&format!("ERR Rewriting config file: {e}"));
            s.log(LogLevel::Warning, format!("CONFIG REWRITE failed: {e}"));
        }
    }
    s.pay_owed(now, conn, token, &reply);
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::core::testing::*;
    use crate::resp::Frame;

    fn config_get(t: &mut TestServer, patterns: &[&str]) -> Vec<String> {
        let mut args = vec!["config", "get"];
        args.extend(patterns);
        let Frame::Array(items) = t.cmd(&args) else {
            panic!("CONFIG GET replies an array")
        };
        items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn config_get_matches_globs_and_names_each_directive_once() {
        let mut t = TestServer::new();
        assert_eq!(config_get(&mut t, &["maxmemory"]), ["maxmemory", "0"]);
        assert_eq!(
            config_get(&mut t, &["save", "bind"]),
            ["save", "3600 1 300 100 60 10000", "bind", "* -::*"]
        );
        let res = config_get(&mut t, &["maxmemory", "maxmemory*", "bind", "*of"]);
        let names: Vec<&String> = res.iter().step_by(2).collect();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for n in [
            "maxmemory",
            "maxmemory-policy",
            "maxmemory-samples",
            "replicaof",
            "slaveof",
        ] {
            assert!(names.iter().any(|x| *x == n), "{n} missing");
        }
        assert_eq!(config_get(&mut t, &["no-such-thing"]), Vec::<String>::new());
        assert_eq!(
            config_get(&mut t, &["REPL-BACKLOG-SIZE"]),
            ["REPL-BACKLOG-SIZE", "1048576"]
        );
        assert!(config_get(&mut t, &["*"]).len() > 200);
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&[
                "config",
                "set",
                "maxmemory",
                "10mb",
                "save",
                "3000 5",
                "port",
                "7000"
            ]),
            ok()
        );
        assert_eq!(
            config_get(&mut t, &["maxmemory"]),
            ["maxmemory", "10485760"]
        );
        assert_eq!(config_get(&mut t, &["save"]), ["save", "3000 5"]);
        assert_eq!(
            t.cmd(&["config", "set", "maxmemory", "1", "maxclients", "0", "timeout", "5"]),
            err("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive")
        );
        assert_eq!(
            config_get(&mut t, &["maxmemory"]),
            ["maxmemory", "10485760"]
        );
        assert_eq!(config_get(&mut t, &["timeout"]), ["timeout", "0"]);
        assert_eq!(
            t.cmd(&["config", "set", "slave-read-only", "maybe"]),
            err("ERR CONFIG SET failed (possibly related to argument 'replica-read-only') - argument must be 'yes' or 'no'")
        );
    }

    #[test]
    fn config_set_refuses_unknown_immutable_protected_and_duplicate_names() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["config", "set", "x", "1"]),
            err("ERR Unknown option or number of arguments for CONFIG SET - 'x'")
        );
        assert_eq!(
            t.cmd(&["config", "set", "daemonize", "yes"]),
            err("ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config")
        );
        assert_eq!(
            t.cmd(&["config", "set", "databases", "1", "x", "1"]),
            err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config")
        );
        assert_eq!(
            t.cmd(&["config", "set", "dir", "/tmp"]),
            err("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")
        );
        assert_eq!(
            t.cmd(&["config", "set", "maxmemory", "1", "maxmemory", "2"]),
            err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter")
        );
        assert_eq!(
            t.cmd(&["config", "set", "port"]),
            err("ERR wrong number of arguments for 'config|set' command")
        );
        assert_eq!(
            t.cmd(&["config", "set", "port", "1", "x"]),
            err("ERR syntax error")
        );
        let config = Config {
            enable_protected_configs: crate::config::Allow::Local,
            ..Config::default()
        };
        let mut local = TestServer::with_config(config);
        assert_eq!(local.cmd(&["config", "set", "dir", "/tmp"]), ok());
    }

    #[test]
    fn config_set_takes_effect_and_works_inside_multi() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["multi"]), ok());
        assert_eq!(
            t.cmd(&["config", "set", "requirepass", "s3cret"]),
            Frame::Simple("QUEUED".into())
        );
        assert_eq!(t.cmd(&["exec"]), Frame::Array(vec![ok()]));
        t.connect(2);
        assert_eq!(
            t.cmd_as(2, &["ping"]),
            err("NOAUTH Authentication required.")
        );
    }

    #[test]
    fn config_resetstat_zeroes_the_counters() {
        let mut t = TestServer::new();
        t.cmd(&["ping"]);
        t.server.ks.stats.misses = 3;
        assert_eq!(t.cmd(&["config", "resetstat"]), ok());
        assert_eq!(t.server.ks.stats.misses, 0);
        assert_eq!(t.server.stats.total_connections_received, 0);
    }

    #[test]
    fn config_rewrite_writes_the_file_through_the_driver() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["config", "rewrite"]),
            err("ERR The server is running without a config file")
        );
        t.server.config.config_file = Some("/etc/redis.conf".into());
        t.server.config_text = Some("# mine\nport 6379\n".into());
        t.cmd(&["config", "set", "maxmemory", "1mb"]);
        assert_eq!(t.cmd(&["config", "rewrite"]), ok());
        assert_eq!(
            t.server.config_text.as_deref(),
            Some("# mine\nport 6379\n# Generated by CONFIG REWRITE\nmaxmemory 1mb\nuser default on nopass sanitize-payload ~* &* +@all\n")
        );
    }

    #[test]
    fn config_help_and_unknown_subcommands() {
        let mut t = TestServer::new();
        let Frame::Array(lines) = t.cmd(&["config", "help"]) else {
            panic!()
        };
        assert_eq!(
            lines[0],
            Frame::Simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        assert_eq!(lines.len(), 11);
        assert_eq!(
            t.cmd(&["config", "foo"]),
            err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")
        );
        assert_eq!(
            t.cmd(&["config", "get"]),
            err("ERR wrong number of arguments for 'config|get' command")
        );
    }
}
