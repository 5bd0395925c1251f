//! DEBUG: the test suite's window into the server (DIGEST, SLEEP, OBJECT, POPULATE, RELOAD,
//! CHANGE-REPL-ID, REPLICATE, SET-ACTIVE-EXPIRE, ...), refused unless `enable-debug-command`
//! allows the client (Redis' default is `no`; `local` admits loopback and Unix socket clients).
//! Subcommands for machinery redsim does not have (allocator, cluster, crash helpers) answer as
//! Redis' unknown-subcommand error.

#[path = "debug/digest.rs"]
mod digest;
#[path = "debug/protocol.rs"]
mod protocol;
#[path = "debug/sha1.rs"]
pub mod sha1;

use super::object::{limits, refcount, subcommand_syntax_error};
use super::{flags::*, is, server, Call, CommandSpec};
use crate::config::LogLevel;
use crate::core::{ConnId, Server};
use crate::db::{Entry, Value};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[server(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    debug,
)];

pub const REFUSED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Most keys one DEBUG POPULATE may create.
const POPULATE_MAX: i64 = 100_000_000;

/// May this client run DEBUG?
pub fn allowed(s: &Server, id: ConnId) -> bool {
    super::config::allowed(s, id, s.config.enable_debug_command)
}

const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid> [full]",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key> [full]",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// A subcommand: its name, the argument counts it accepts (with DEBUG and its name), handler.
type Sub = (&'static str, fn(usize) -> bool, fn(&mut Server, &Call));

const SUBCOMMANDS: &[Sub] = &[
    ("help", |n| n == 2, help),
    ("digest", |n| n == 2, digest),
    ("digest-value", |n| n >= 2, digest_value),
    ("sleep", |n| n == 3, sleep),
    ("object", |n| n == 3, object),
    ("populate", |n| (3..=5).contains(&n), populate),
    ("reload", |n| n >= 2, reload),
    ("loadaof", |n| n == 2, loadaof),
    ("set-active-expire", |n| n == 3, set_active_expire),
    ("pause-cron", |n| n == 3, pause_cron),
    ("change-repl-id", |n| n == 2, change_repl_id),
    ("replicate", |n| n >= 3, replicate),
    ("log", |n| n == 3, log),
    ("error", |n| n == 3, error),
    ("listpack", |n| n == 3, listpack),
    ("quicklist-packed-threshold", |n| n == 3, packed_threshold),
    ("stringmatch-test", |n| n == 2, stringmatch_test),
    ("protocol", |n| n == 3, protocol::protocol),
    // Tuning knobs of machinery redsim does not have: accepted, no effect.
    ("aof-flush-sleep", |n| n == 3, ok),
    ("set-skip-checksum-validation", |n| n == 3, ok),
    ("set-disable-deny-scripts", |n| n == 3, ok),
    ("replybuffer", |n| n == 4, replybuffer),
    #[cfg(feature = "bug-injection")]
    ("inject-bug", |n| n == 3, inject_bug),
];

/// DEBUG INJECT-BUG <kind>: switches on a deliberate bug (`crate::bugs`; test builds only).
#[cfg(feature = "bug-injection")]
fn inject_bug(s: &mut Server, call: &Call) {
    match s.bugs.switch_on(&call.args[2]) {
        true => s.reply(call.id).ok(),
        false => s.reply(call.id).error("ERR unknown bug kind"),
    }
}

fn debug(s: &mut Server, call: &Call) {
    let n = call.args.len();
    match SUBCOMMANDS
        .iter()
        .find(|(name, arity, _)| is(&call.args[1], name) && arity(n))
    {
        Some((_, _, f)) => f(s, call),
        None => subcommand_syntax_error(s, call, "DEBUG"),
    }
}

fn ok(s: &mut Server, call: &Call) {
    s.reply(call.id).ok();
}

fn help(s: &mut Server, call: &Call) {
    super::config::help(s, call.id, "DEBUG", HELP);
}

fn digest(s: &mut Server, call: &Call) {
    let d = digest::hex(&digest::dataset_digest(&s.ks));
    s.reply(call.id).simple(&d);
}

/// One digest per key, of the value alone (zeros for a missing key; expired keys count).
fn digest_value(s: &mut Server, call: &Call) {
    let db = client_db(s, call.id);
    let digests: Vec<String> = call.args[2..]
        .iter()
        .map(|k| {
            let mut d = [0u8; 20];
            if let Some(e) = s.ks.dbs[db].raw(k) {
                digest::value_digest(&mut d, e);
            }
            digest::hex(&d)
        })
        .collect();
    let mut out = s.reply(call.id);
    out.array(digests.len());
    for d in digests {
        out.simple(&d);
    }
}

fn client_db(s: &Server, id: ConnId) -> usize {
    s.clients.get(&id).map_or(0, |c| c.db)
}

/// C's strtod: the longest leading part that is a number (0 when there is none).
fn strtod_prefix(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&i| text.is_char_boundary(i))
        .find_map(|i| text[..i].parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// The server answers nobody for that long; the reply comes at the end (see `core/busy.rs`).
fn sleep(s: &mut Server, call: &Call) {
    let secs = strtod_prefix(&call.args[2]).max(0.0);
    let ms = (secs * 1000.0).min(u32::MAX as f64) as u64;
    s.reply(call.id).ok();
    s.sleep_for(call.now, ms);
}

fn object(s: &mut Server, call: &Call) {
    let db = client_db(s, call.id);
    let limits = limits(&s.config);
    let now_ms = call.now.unix_ms;
    let Some(e) = s.ks.dbs[db].raw(&call.args[2]) else {
        return s.reply(call.id).error("ERR no such key");
    };
    let encoding = e.encoding(&limits);
    let quicklist = match (&e.value, encoding) {
        (Value::List(l), crate::db::Encoding::Quicklist) => {
            let bytes: usize = l.iter().map(|x| x.len() + 2).sum();
            format!(
                " ql_nodes:1 ql_avg_node:{}.00 ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{bytes}",
                l.len(),
                limits.list_size
            )
        }
        _ => String::new(),
    };
    let line = format!(
        "Value at:{:#x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{quicklist}",
        address_of(e),
        refcount(e, &limits),
        encoding.name(),
        serialized_len(e),
        (e.meta.access_ms / 1000) & 0xFF_FFFF,
        now_ms.saturating_sub(e.meta.access_ms) / 1000,
    );
    s.reply(call.id).simple(&line);
}

/// An identifier for the value, shown where Redis prints its pointer.
fn address_of(e: &Entry) -> usize {
    e as *const Entry as usize
}

/// The bytes this value takes in an RDB file.
fn serialized_len(e: &Entry) -> usize {
    let mut w = crate::rdb::RdbWriter::new(
        &crate::rdb::Aux::default(),
        crate::rdb::WriteOptions {
            version: crate::core::persist::RDB_VERSION,
            compress: false,
            checksum: false,
        },
    );
    w.take_chunk();
    let plain = Entry::new(e.value.clone(), None);
    w.entry(b"", &plain);
    // Less the type byte and the empty key's length byte.
    w.take_chunk().len().saturating_sub(2)
}

/// Creates `count` string keys `prefix:N` = `value:N` (padded or cut to `size`), skipping
/// existing ones; not propagated, like Redis.
fn populate(s: &mut Server, call: &Call) {
    let positive = |arg: &[u8]| crate::resp::parse_i64(arg).filter(|n| *n >= 0);
    let Some(count) = positive(&call.args[2]) else {
        return s
            .reply(call.id)
            .error("ERR value is out of range, must be positive");
    };
    if count > POPULATE_MAX {
        return s.reply(call.id).error("ERR OOM in dictTryExpand");
    }
    let size = match call.args.get(4) {
        Some(a) => match positive(a) {
            Some(n) => Some(n as usize),
            None => {
                return s
                    .reply(call.id)
                    .error("ERR value is out of range, must be positive")
            }
        },
        None => None,
    };
    let prefix = call.args.get(3).map_or(&b"key"[..], |p| &p[..]).to_vec();
    let (db, now) = (client_db(s, call.id), call.now);
    let (mode, limits) = (s.ks.mode, limits(&s.config));
    for j in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if s.ks.dbs[db].get(&key, now.unix_ms, mode).is_some() {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if let Some(n) = size {
            value.resize(n, 0);
        }
        s.ks.dbs[db].insert(Bytes::from(key.clone()), Value::Str(value.into()), None);
        s.ks.dbs[db].written(&key, now.unix_ms, &limits);
    }
    s.reply(call.id).ok();
}

/// Reloads the dataset through the RDB format, then saves it (the reply waits for the file).
fn reload(s: &mut Server, call: &Call) {
    if call.args.len() > 2 {
        let known = ["merge", "noflush", "nosave"];
        let msg = match call.args[2..]
            .iter()
            .all(|a| known.iter().any(|k| is(a, k)))
        {
            true => "ERR DEBUG RELOAD options are not supported by this server",
            false => "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
        };
        return s.reply(call.id).error(msg);
    }
    let data = s.serialize_all(call.now);
    for db in &mut s.ks.dbs {
        db.clear();
    }
    if let Err(e) = s.load_rdb_bytes(call.now, &data) {
        s.log(LogLevel::Warning, e);
        return s
            .reply(call.id)
            .error("ERR Error trying to load the RDB dump, check server logs.");
    }
    s.log(LogLevel::Notice, "DB reloaded by DEBUG RELOAD".into());
    s.save(call.now, Some(call.id), false);
}

/// Writes what the AOF buffers hold, empties the dataset and replays the AOF files (the reply
/// waits for the load).
fn loadaof(s: &mut Server, call: &Call) {
    if !s.aof_debug_reload(call.id) {
        s.reply(call.id).error("ERR The AOF is off (appendonly no)");
    }
}

fn set_active_expire(s: &mut Server, call: &Call) {
    s.active_expire = crate::text::atoi(&String::from_utf8_lossy(&call.args[2])) != 0;
    s.reply(call.id).ok();
}

/// DEBUG PAUSE-CRON 0|1: the cron's work stops (its timer keeps ticking).
fn pause_cron(s: &mut Server, call: &Call) {
    s.cron_paused = crate::text::atoi(&String::from_utf8_lossy(&call.args[2])) != 0;
    s.reply(call.id).ok();
}

fn change_repl_id(s: &mut Server, call: &Call) {
    s.log(
        LogLevel::Notice,
        "Changing replication IDs after receiving DEBUG change-repl-id".into(),
    );
    let id = crate::core::replication::random_id(&mut s.rng);
    s.repl.ids.replid = crate::repl::new_replid(id);
    s.repl.ids.clear_replid2();
    s.reply(call.id).ok();
}

/// Sends a command to the replicas only (the master's own data is untouched).
fn replicate(s: &mut Server, call: &Call) {
    if !s.is_replica() {
        let cmd = crate::resp::encode_command(&call.args[2..]);
        s.repl_feed_bytes(&cmd);
    }
    s.reply(call.id).ok();
}

fn log(s: &mut Server, call: &Call) {
    let msg = String::from_utf8_lossy(&call.args[2]).into_owned();
    s.log(LogLevel::Warning, format!("DEBUG LOG: {msg}"));
    s.reply(call.id).ok();
}

fn error(s: &mut Server, call: &Call) {
    let msg = String::from_utf8_lossy(&call.args[2]).replace(['\r', '\n'], " ");
    s.reply(call.id).raw(format!("-{msg}\r\n").as_bytes());
}

fn listpack(s: &mut Server, call: &Call) {
    let db = client_db(s, call.id);
    let limits = limits(&s.config);
    let Some(e) = s.ks.dbs[db].peek(&call.args[2], call.now.unix_ms, s.ks.mode) else {
        return s.reply(call.id).error("ERR no such key");
    };
    match e.encoding(&limits) == crate::db::Encoding::Listpack {
        true => s
            .reply(call.id)
            .simple("Listpack structure printed on stdout"),
        false => s.reply(call.id).error("ERR Not a listpack encoded object."),
    }
}

fn packed_threshold(s: &mut Server, call: &Call) {
    let size = crate::text::parse_memory(&String::from_utf8_lossy(&call.args[2]));
    match size.filter(|n| (0..=(4i64 << 30)).contains(n)) {
        Some(_) => s.reply(call.id).ok(),
        None => s
            .reply(call.id)
            .error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
    }
}

fn stringmatch_test(s: &mut Server, call: &Call) {
    s.reply(call.id)
        .simple("Apparently Redis did not crash: test passed");
}

fn replybuffer(s: &mut Server, call: &Call) {
    if is(&call.args[2], "peak-reset-time") || is(&call.args[2], "resizing") {
        return s.reply(call.id).ok();
    }
    subcommand_syntax_error(s, call, "DEBUG");
}

#[cfg(test)]
mod tests {
    use crate::config::{Allow, Config};
    use crate::core::testing::{err, ok, TestServer};
    use crate::resp::Frame;

    fn debug_server() -> TestServer {
        TestServer::with_config(Config {
            enable_debug_command: Allow::Yes,
            ..Config::default()
        })
    }

    fn simple(s: &str) -> Frame {
        Frame::Simple(s.into())
    }

    #[test]
    fn debug_is_refused_by_default_with_redis_words() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), err(super::REFUSED));
    }

    #[test]
    fn digests_match_what_redis_7_2_prints_for_the_same_data() {
        let mut t = debug_server();
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), simple(&"0".repeat(40)));
        t.cmd(&["SET", "foo", "bar"]);
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST"]),
            simple("d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a")
        );
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        t.cmd(&["SADD", "s", "x", "y", "12"]);
        t.cmd(&["ZADD", "z", "1.5", "m", "2", "n"]);
        t.cmd(&["HSET", "h", "f", "v", "g", "w"]);
        t.cmd(&["SET", "e", "1", "EX", "100"]);
        t.cmd(&["SELECT", "3"]);
        t.cmd(&["SET", "other", "1"]);
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST"]),
            simple("8baac7fd1ee145b6f7e65c8fd0bcb2bf389a57ac")
        );
        t.cmd(&["SELECT", "0"]);
        let values = t.cmd(&[
            "DEBUG",
            "DIGEST-VALUE",
            "foo",
            "l",
            "s",
            "z",
            "h",
            "e",
            "no",
        ]);
        let expected = [
            "68467c70ae30376e7ce005bcc8827f5ba7fd67dc",
            "8bf72d812571eea9b927f3c11beb0c4165a6ff89",
            "4dd66f11f6066141cbaaab167ff96bcb8c2c5b8a",
            "908aeffe4e922542b456cb5c8f5b1961a763d7dd",
            "d127864ed50239662bf61bafc9bda63c17da5b37",
            "5279988c5d1911f474bcbbf2f0a87012d40f8459",
            "0000000000000000000000000000000000000000",
        ];
        assert_eq!(
            values,
            Frame::Array(expected.iter().map(|d| simple(d)).collect())
        );
    }

    #[test]
    fn populate_creates_keys_that_reload_keeps() {
        let mut t = debug_server();
        assert_eq!(t.cmd(&["DEBUG", "POPULATE", "10", "p", "3"]), ok());
        assert_eq!(t.cmd(&["DBSIZE"]), Frame::Int(10));
        assert_eq!(t.cmd(&["GET", "p:7"]), crate::core::testing::bulk("val"));
        let before = t.cmd(&["DEBUG", "DIGEST"]);
        t.send_raw(1, &crate::resp::encode_command(&["DEBUG", "RELOAD"]));
        t.finish_disk();
        assert_eq!(t.reply(1), Some(ok()));
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), before);
    }

    #[test]
    fn unknown_subcommands_and_bad_arities_get_redis_error() {
        let mut t = debug_server();
        assert_eq!(
            t.cmd(&["DEBUG", "nosuch"]),
            err(
                "ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP."
            )
        );
        assert_eq!(t.cmd(&["DEBUG", "SLEEP", "abc"]), ok());
        assert_eq!(t.cmd(&["DEBUG", "OBJECT", "nokey"]), err("ERR no such key"));
    }
}
