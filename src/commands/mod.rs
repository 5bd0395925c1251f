//! The command table and the two calling conventions commands are written in.
//!
//! Each family file (strings, keys, lists, ...) exports `COMMANDS: &[CommandSpec]`, one small
//! function per command. Data commands see only the keyspace and their reply buffer through `Cx`;
//! server commands (INFO, CONFIG, CLIENT, PUBLISH, ...) get the whole `Server` and a `Call`.
//! Dispatch (in `core::dispatch`) has already checked arity, authentication, pub/sub mode and
//! MULTI queuing before a handler runs; `args[0]` is the command name as the client sent it.

pub mod acl;
#[cfg(test)]
mod acl_tests;
pub mod bits;
pub mod blocking;
pub mod client;
mod client_tracking;
pub mod config;
pub mod connection;
pub mod debug;
pub mod dump;
#[cfg(test)]
mod dump_tests;
pub mod events;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod introspection;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod monitor;
pub mod movable;
pub mod multi;
pub mod object;
pub mod persistence;
pub mod pubsub;
pub mod replication;
#[cfg(test)]
mod resp3_tests;
pub mod scan;
pub mod scripting;
pub mod sentinel;
pub mod sentinel_admin;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod zsets;

use crate::core::{Now, Server};
use crate::db::{Db, ExpiryMode, Keyspace};
use crate::resp::Out;
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;

pub use crate::db::WRONGTYPE;

/// Command flags (a subset of Redis' that dispatch and COMMAND need).
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const ADMIN: u32 = 1 << 2;
    /// Allowed before AUTH.
    pub const NO_AUTH: u32 = 1 << 3;
    /// Allowed while the client is in RESP2 pub/sub mode.
    pub const PUBSUB: u32 = 1 << 4;
    /// Refused inside MULTI ("Command not allowed inside a transaction").
    pub const NO_MULTI: u32 = 1 << 5;
    pub const FAST: u32 = 1 << 6;
    /// May grow memory (Redis' "denyoom").
    pub const DENYOOM: u32 = 1 << 7;
    /// Served by a replica whose link is down with replica-serve-stale-data no.
    pub const STALE: u32 = 1 << 8;
    pub const LOADING: u32 = 1 << 9;
    pub const NOSCRIPT: u32 = 1 << 10;
    /// Not a write, but may add to the replication stream (PUBLISH): paused like a write.
    pub const MAY_REPLICATE: u32 = 1 << 11;
}

/// What a data command gets: the keyspace, the client's selected db, the time, its reply buffer,
/// the server's seeded RNG, and places to report effects.
pub struct Cx<'a> {
    pub now: Now,
    pub ks: &'a mut Keyspace,
    pub db_index: usize,
    pub out: Out<'a>,
    pub rng: &'a mut ChaCha8Rng,
    /// Changes this command made (Redis' `server.dirty` delta). Write commands must add to it.
    pub dirty: u64,
    /// How the command reaches replicas and the AOF (effects, not the original call).
    pub propagate: Propagate,
    pub config: &'a crate::config::Config,
    /// The command comes from the master or the AOF (Redis' mustObeyClient): it must not be
    /// refused for limits a client would be held to.
    pub obey: bool,
}

/// What to replicate for a command that changed the dataset.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Propagate {
    /// The command as the client sent it.
    #[default]
    AsIs,
    /// These commands instead (e.g. `SET k v PXAT t` for `SETEX`, `SREM` for `SPOP`).
    Replace(Vec<Vec<Bytes>>),
}

impl Cx<'_> {
    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.db_index]
    }
    pub fn mode(&self) -> ExpiryMode {
        self.ks.mode
    }
    pub fn now_ms(&self) -> u64 {
        self.now.unix_ms
    }
    /// Reads a key for a read command, counting keyspace hits and misses for INFO.
    pub fn read(&mut self, key: &[u8]) -> Option<&crate::db::Entry> {
        self.count_read(key);
        self.ks.dbs[self.db_index].peek(key, self.now.unix_ms, self.ks.mode)
    }
    /// The lookup `read` makes (lazy expiry, the access clock, keyspace hits and misses),
    /// without handing out the entry: for callers that borrow it from `ks` themselves.
    pub fn count_read(&mut self, key: &[u8]) {
        let (now, mode, idx) = (self.now.unix_ms, self.ks.mode, self.db_index);
        let ks = &mut *self.ks;
        let found = ks.dbs[idx].get(key, now, mode).is_some();
        if found {
            ks.stats.hits += 1;
        } else {
            ks.stats.misses += 1;
            ks.notify(crate::db::notify::KEY_MISS, "keymiss", key, idx);
        }
    }
    /// Queues a keyspace event on `key` of the selected database (published after the command).
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.ks.notify(class, event, key, self.db_index);
    }
    /// A uniform random number from the server's seeded generator.
    pub fn random_u64(&mut self) -> u64 {
        rand_core::RngCore::next_u64(self.rng)
    }
    pub fn wrongtype(&mut self) {
        self.out.error(WRONGTYPE);
    }
    pub fn syntax_error(&mut self) {
        self.out.error("ERR syntax error");
    }
}

/// What a server command gets besides the server: who called, with what, and when.
pub struct Call<'a> {
    pub id: crate::core::ConnId,
    pub args: &'a [Bytes],
    pub now: Now,
}

#[derive(Clone, Copy)]
pub enum Handler {
    Data(fn(&mut Cx, &[Bytes])),
    Server(fn(&mut Server, &Call)),
}

/// Computes a call's key positions from its arguments.
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// One row of the command table, with Redis' arity convention (negative = at least).
#[derive(Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Key positions computed from the arguments, for commands whose keys move (Redis'
    /// "movablekeys"); first/last/step then give Redis' legacy triple only.
    pub movable_keys: Option<KeysFn>,
    pub handler: Handler,
}

impl CommandSpec {
    /// The same row with argument-dependent key positions.
    pub const fn movable(self, keys: KeysFn) -> Self {
        CommandSpec {
            movable_keys: Some(keys),
            ..self
        }
    }
}

/// A data command row.
pub const fn data(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    f: fn(&mut Cx, &[Bytes]),
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        movable_keys: None,
        handler: Handler::Data(f),
    }
}

/// A server command row.
pub const fn server(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    f: fn(&mut Server, &Call),
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        movable_keys: None,
        handler: Handler::Server(f),
    }
}

/// The command families, each with the group COMMAND DOCS reports for its commands.
const FAMILIES: &[(&str, &[CommandSpec])] = &[
    ("connection", connection::COMMANDS),
    ("string", strings::COMMANDS),
    ("bitmap", bits::COMMANDS),
    ("generic", keys::COMMANDS),
    ("generic", dump::COMMANDS),
    ("list", lists::COMMANDS),
    ("list", blocking::LIST_COMMANDS),
    ("hash", hashes::COMMANDS),
    ("hash", scan::HASH_COMMANDS),
    ("set", sets::COMMANDS),
    ("set", scan::SET_COMMANDS),
    ("sorted-set", zsets::COMMANDS),
    ("sorted-set", scan::ZSET_COMMANDS),
    ("sorted-set", blocking::ZSET_COMMANDS),
    ("hyperloglog", hyperloglog::COMMANDS),
    ("geo", geo::COMMANDS),
    ("stream", streams::add::COMMANDS),
    ("stream", streams::range::COMMANDS),
    ("stream", streams::read::COMMANDS),
    ("stream", streams::groups::COMMANDS),
    ("stream", streams::claim::COMMANDS),
    ("stream", streams::info::COMMANDS),
    ("generic", sort::COMMANDS),
    ("transactions", multi::COMMANDS),
    ("pubsub", pubsub::COMMANDS),
    ("server", server::COMMANDS),
    ("server", persistence::COMMANDS),
    ("server", replication::COMMANDS),
    ("server", introspection::COMMANDS),
    ("server", memory::COMMANDS),
    ("server", slowlog::COMMANDS),
    ("server", monitor::COMMANDS),
    ("connection", client::COMMANDS),
    ("server", config::COMMANDS),
    ("server", acl::COMMANDS),
    ("server", debug::COMMANDS),
    ("generic", object::COMMANDS),
    ("scripting", scripting::COMMANDS),
    ("scripting", functions::COMMANDS),
];

/// Every command this server knows, in family order.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|(_, commands)| commands.iter())
}

/// The group of a command (Redis' `group` in COMMAND DOCS): its family's, or `sentinel` for
/// Sentinel's own SENTINEL command.
pub fn group_of(name: &str) -> &'static str {
    if name == "sentinel" {
        return "sentinel";
    }
    FAMILIES
        .iter()
        .find(|(_, commands)| commands.iter().any(|c| c.name == name))
        .map_or("server", |(group, _)| group)
}

/// The subcommands of a container command with their Redis arities (`client|setinfo` is
/// CLIENT's SETINFO); empty for a plain command.
pub fn subcommands_of(container: &str) -> &'static [(&'static str, i32)] {
    match container {
        "acl" => acl::SUBCOMMANDS,
        "client" => client::SUBCOMMANDS,
        "command" => introspection::SUBCOMMANDS,
        "config" => config::SUBCOMMANDS,
        "sentinel" => sentinel::SUBCOMMANDS,
        "xgroup" => streams::groups::SUBCOMMANDS,
        "xinfo" => streams::info::SUBCOMMANDS,
        "script" => scripting::SUBCOMMANDS,
        "slowlog" => slowlog::SUBCOMMANDS,
        "function" => functions::SUBCOMMANDS,
        _ => &[],
    }
}

/// Sentinel mode's table: the shared connection and pub/sub commands plus Sentinel's own.
pub fn sentinel_table() -> impl Iterator<Item = &'static CommandSpec> {
    all()
        .filter(|c| sentinel::SHARED.contains(&c.name))
        .chain(sentinel::COMMANDS)
}

/// Parses an integer argument or replies Redis' error; `None` means the reply was written.
pub fn int_arg(out: &mut Out, arg: &[u8]) -> Option<i64> {
    let v = crate::resp::parse_i64(arg);
    if v.is_none() {
        out.error("ERR value is not an integer or out of range");
    }
    v
}

/// Parses a float argument or replies Redis' error; `None` means the reply was written.
pub fn float_arg(out: &mut Out, arg: &[u8]) -> Option<f64> {
    let v = crate::text::parse_f64(arg);
    if v.is_none() {
        out.error("ERR value is not a valid float");
    }
    v
}

/// A timeout in milliseconds as Redis parses one (`getTimeoutFromObjectOrReply`): an integer,
/// not negative, that the wall clock `now_unix_ms` plus it does not overflow; `None` means the
/// error reply was written.
pub fn ms_timeout_arg(out: &mut Out, arg: &[u8], now_unix_ms: u64) -> Option<u64> {
    let Some(ms) = crate::resp::parse_i64(arg) else {
        out.error("ERR timeout is not an integer or out of range");
        return None;
    };
    if ms < 0 {
        out.error("ERR timeout is negative");
        return None;
    }
    if ms > i64::MAX - now_unix_ms as i64 {
        out.error("ERR timeout is out of range");
        return None;
    }
    Some(ms as u64)
}

/// True if `arg` equals `word` ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
