//! The sans-IO server core: every decision a Redis server makes, with no clock, socket, file or
//! RNG of its own.
//!
//! # Calling protocol
//!
//! The driver (see `crate::shell`) owns sockets, timers and files, and talks to `Server` only
//! through these calls, always passing the current time as `Now`:
//!
//! 1. `Server::new(config, seed, now)` — the seed feeds the only RNG (run id, RANDOMKEY, SPOP...).
//! 2. `handle_accept(now, conn, peer, local)` when a connection is accepted; `handle_data(now, conn,
//!    bytes)` for every read; `handle_written(conn, bytes)` when output of a `Send` reached the
//!    socket (so the core knows what a client that stops reading holds); `handle_closed(now,
//!    conn)` when the peer hung up or a write failed.
//! 3. `poll_timeout()` says when the core next wants `handle_timeout(now)` (its `serverCron`).
//! 4. After every `handle_*`, the driver drains `poll_action()` until `None` and performs each
//!    action in order: `Send` bytes, `Close` a connection (after what was already sent), stop
//!    or resume reading one (`SetReading`), run a
//!    `Disk` operation and report it with `handle_disk_done(now, token, result)`, write a `Log`
//!    line, record a `Trace` event, `Exit` the process, or run (`RunScript`) or kill
//!    (`KillScript`) a Sentinel script, reporting its end with `handle_script_exit`.
//!
//! Ordering matters: actions come out in the order their effects must happen (a disk write that a
//! reply depends on precedes the reply), so a driver must not reorder them.

mod acl;
pub mod aof;
mod blocking;
mod busy;
mod client;
mod config_apply;
mod dispatch;
mod evict;
mod evict_clients;
#[cfg(test)]
mod evict_tests;
mod failover;
#[cfg(test)]
mod fuzz_tests;
pub mod loading;
pub mod memory;
pub mod migrate;
#[cfg(test)]
mod migrate_tests;
mod notify;
#[cfg(test)]
mod notify_tests;
mod obuf;
mod paced_sync;
pub mod pause;
pub mod persist;
mod propagate;
mod querybuf;
mod repl_child;
mod replica_side;
#[cfg(test)]
mod replica_side_tests;
pub mod replication;
mod sentinel_mode;
pub mod shutdown;
#[cfg(test)]
mod shutdown_tests;
mod socket_pace;
#[cfg(test)]
pub mod testing;
pub mod tracking;
#[cfg(test)]
mod tracking_tests;

pub use client::{Client, ConnId, Multi, Watch};
pub use replica_side::parse_port;

use crate::commands::CommandSpec;
use crate::config::{Config, LogLevel};
use crate::db::Keyspace;
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;

/// The time, as the driver read it: a monotonic clock for timers and the wall clock for expiry
/// and TIME. In simulation the wall clock may jump; the monotonic one never goes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    pub mono_ms: u64,
    pub unix_ms: u64,
}

/// A file operation the driver performs for the core, reporting back with `handle_disk_done`.
#[derive(Clone, Debug, PartialEq)]
pub enum DiskOp {
    /// Read a whole file; the result carries its bytes.
    Read {
        path: String,
    },
    /// Create or truncate `path` and write `data` (not synced).
    Write {
        path: String,
        data: Bytes,
    },
    Append {
        path: String,
        data: Bytes,
    },
    /// Make `path`'s bytes durable.
    Fsync {
        path: String,
    },
    /// fsync `tmp`, rename it over `path`, fsync the directory.
    Commit {
        tmp: String,
        path: String,
    },
    Remove {
        path: String,
    },
    /// `Write` to a temporary name, then `Commit`.
    WriteAtomic {
        path: String,
        data: Bytes,
    },
    /// Create a directory (and its parents) if missing.
    CreateDir {
        path: String,
    },
    /// Check that each path is an executable file; the error names the first that is not.
    CheckExecutable {
        paths: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open an outbound connection (a replica to its master); answer with `handle_connected`
    /// or `handle_connect_failed`. The core chose `conn`; it never collides with accepted ids.
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
    Send {
        conn: ConnId,
        data: Bytes,
    },
    Close {
        conn: ConnId,
    },
    /// Close a connection at once, dropping output not yet written (a client over its output
    /// buffer limit, which may never read it).
    CloseNow {
        conn: ConnId,
    },
    /// Stop (`reading: false`) or resume reading a connection's input: a replica loading its
    /// master's snapshot from the socket slower than it arrives, as Redis reads it only as fast
    /// as it loads.
    SetReading {
        conn: ConnId,
        reading: bool,
    },
    Disk {
        token: u64,
        op: DiskOp,
    },
    /// A log line; the driver adds pid, role and timestamp (`crate::log`).
    Log {
        level: LogLevel,
        role: char,
        msg: String,
    },
    /// Text for the log as it is, without the line prefix (the start-up logo).
    LogRaw(String),
    /// A meaningful transition for simulation traces, in Redis' words.
    Trace(String),
    Exit {
        code: i32,
    },
    /// Start a Sentinel script (`argv[0]` is its path) and report its end with
    /// `handle_script_exit(now, id, exit_code, signal)`.
    RunScript {
        id: u64,
        argv: Vec<String>,
    },
    /// SIGKILL script run `id` (it overran).
    KillScript {
        id: u64,
    },
    /// Resolve a host name with the driver's resolver (the OS's, or the simulator's) and report
    /// the address with `handle_resolved` (Sentinel's `resolve-hostnames`).
    Resolve {
        host: String,
    },
}

/// Counters INFO stats reports.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    /// Clients disconnected by client eviction (maxmemory-clients).
    pub evicted_clients: u64,
    /// Snapshots started (BGSAVE, AOF rewrites, full-sync children): what Redis forks for.
    pub total_forks: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub unexpected_error_replies: u64,
    pub total_error_replies: u64,
    /// Ring of (mono_ms, commands processed) samples for instantaneous_ops_per_sec.
    pub ops_samples: VecDeque<(u64, u64)>,
    /// Per command, subcommands as `container|sub` (INFO commandstats).
    pub commands: BTreeMap<Cow<'static, str>, CommandStat>,
    /// Error replies by their first word (INFO errorstats), at most `ERROR_PREFIXES` of them.
    pub errors: BTreeMap<String, u64>,
}

/// Most distinct error prefixes INFO errorstats tracks (Redis' ERROR_STATS_NUMBER); errors with
/// other prefixes still count in total_error_replies.
const ERROR_PREFIXES: usize = 128;

impl Stats {
    /// The counters of command `name` (`client|id` for a subcommand).
    pub fn command(&mut self, name: Cow<'static, str>) -> &mut CommandStat {
        self.commands.entry(name).or_default()
    }

    /// An error reply `msg` was sent (Redis' afterErrorReply).
    pub fn error_replied(&mut self, msg: &[u8]) {
        self.total_error_replies += 1;
        let word = msg
            .split(|&b| b == b' ' || b == b'\r')
            .next()
            .unwrap_or_default();
        let prefix = String::from_utf8_lossy(word);
        let room = self.errors.len() < ERROR_PREFIXES;
        match self.errors.get_mut(prefix.as_ref()) {
            Some(n) => *n += 1,
            None if room => {
                self.errors.insert(prefix.into_owned(), 1);
            }
            None => {}
        }
    }
}

/// One command's counters (INFO commandstats).
#[derive(Clone, Copy, Debug, Default)]
pub struct CommandStat {
    pub calls: u64,
    /// Refused before running (arity, auth, READONLY, ...).
    pub rejected: u64,
    /// Ran and replied an error.
    pub failed: u64,
}

/// Most keys active expiry deletes per cron tick; the rest wait for the next tick.
const EXPIRE_BUDGET_PER_TICK: usize = 2000;
/// Samples kept for instantaneous_ops_per_sec (Redis: 16).
const OPS_SAMPLES: usize = 16;

pub struct Server {
    pub config: Config,
    pub ks: Keyspace,
    pub clients: BTreeMap<ConnId, Client>,
    pub rng: ChaCha8Rng,
    pub run_id: String,
    pub stats: Stats,
    /// SLOWLOG's entries.
    pub slowlog: crate::commands::slowlog::SlowLog,
    pub started: Now,
    /// Changes since the last save (Redis' `server.dirty`).
    pub dirty: u64,
    /// channel -> subscribers; pattern -> subscribers.
    pub channels: BTreeMap<Bytes, BTreeSet<ConnId>>,
    pub patterns: BTreeMap<Bytes, BTreeSet<ConnId>>,
    pub shard_channels: BTreeMap<Bytes, BTreeSet<ConnId>>,
    /// The text of the config file as loaded or last rewritten (CONFIG REWRITE keeps comments).
    pub config_text: Option<String>,
    pub(crate) commands: BTreeMap<String, &'static CommandSpec>,
    actions: VecDeque<Action>,
    /// Clients with output or a close pending since the last flush.
    pending: BTreeSet<ConnId>,
    next_cron_ms: u64,
    next_disk_token: u64,
    /// MIGRATE's connections to target instances.
    pub(crate) migrate: migrate::Migrations,
    /// Disk operations in flight and what each completes.
    disk_waiters: BTreeMap<u64, DiskWaiter>,
    pub(crate) shutting_down: bool,
    /// A SHUTDOWN waiting for replicas, and the clients blocked in it.
    pub(crate) shutdown: shutdown::Shutdown,
    pub persist: persist::Persistence,
    /// A snapshot being installed (`loading:1`), if any.
    pub loading: Option<loading::Loading>,
    /// Clients in MONITOR mode.
    pub(crate) monitors: BTreeSet<ConnId>,
    /// The pace of a snapshot loaded from the master's socket while it arrives.
    socket_pace: Option<socket_pace::SocketPace>,
    /// The append-only file, when `appendonly yes`.
    pub aof: Option<aof::Aof>,
    pub repl: replication::Replication,
    /// Paused actions (CLIENT PAUSE, FAILOVER) and the clients they hold.
    pub pause: pause::Pause,
    /// A coordinated FAILOVER in progress, if any.
    pub failover: crate::repl::Failover,
    /// Replaying commands (AOF loading): no propagation.
    pub(crate) replaying: bool,
    /// EXEC in progress: effects collected to be wrapped in MULTI/EXEC.
    pub(crate) exec_effects: Option<Vec<(usize, Vec<Bytes>)>>,
    /// Replies held until an `appendfsync always` write is durable.
    pub(crate) gated: Vec<Action>,
    /// The latest time the driver passed in (lets `poll_timeout` ask to run again at once).
    last_now: Now,
    /// Sentinel mode: the Sentinel this server runs.
    pub sentinel: Option<Box<crate::sentinel::Sentinel>>,
    /// The client whose command is running, and the pub/sub messages it published to itself:
    /// they follow the command's reply (the whole EXEC's, in a transaction), as in Redis.
    pub(crate) running: Option<(ConnId, bytes::BytesMut)>,
    /// Where replies to a silenced client (CLIENT REPLY OFF/SKIP) go.
    pub(crate) discard: bytes::BytesMut,
    /// DEBUG SLEEP: busy until a deadline, with what arrived meanwhile.
    busy: busy::Busy,
    /// Clients blocked on keys (BLPOP, ...).
    blocking: blocking::Blocking,
    /// Active expiry runs from the cron (DEBUG SET-ACTIVE-EXPIRE 0 turns it off).
    pub active_expire: bool,
    /// DEBUG PAUSE-CRON 1: the cron does nothing until turned off again.
    pub cron_paused: bool,
    /// ACL users and log.
    pub acl: crate::acl::Acl,
    /// maxmemory: the eviction settings and pool.
    pub evict: evict::Eviction,
    /// Client-side caching: the tracking table and BCAST prefixes.
    pub tracking: tracking::Tracking,
    /// EVAL scripts and function libraries with their Lua states.
    pub scripting: crate::scripting::Scripting,
    /// DEBUG INJECT-BUG: deliberate bugs switched on (tests of the simulator's checks).
    #[cfg(feature = "bug-injection")]
    pub bugs: crate::bugs::Bugs,
}

/// What a disk operation completes when the driver reports it done.
#[derive(Clone, Copy, Debug)]
pub enum DiskWaiter {
    /// CONFIG REWRITE by this client.
    ConfigRewrite(ConnId),
    /// Any step of persistence (`persist.rs` routes it).
    Persist(persist::Step),
    /// A Sentinel config flush, maybe on behalf of a client waiting for its reply.
    SentinelConfig(Option<ConnId>),
    /// The scripts a client's SENTINEL SET names were checked.
    SentinelScripts(ConnId),
    /// The aclfile was read at start-up (`None`) or for a client's ACL LOAD.
    AclLoad(Option<ConnId>),
    /// A client's ACL SAVE was written.
    AclSave(ConnId),
}

impl Server {
    pub fn new(config: Config, seed: u64, config_text: Option<String>, now: Now) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut id = [0u8; 20];
        rng.fill_bytes(&mut id);
        let run_id = id.iter().map(|b| format!("{b:02x}")).collect();
        let repl = replication::Replication::new(&mut rng);
        let commands = if config.sentinel_mode {
            crate::commands::sentinel_table().collect()
        } else {
            crate::commands::all().collect::<Vec<_>>()
        };
        let mut acl = crate::acl::Acl::new(commands.iter().map(|c| c.name));
        acl.registry.all_channels_by_default = config
            .noop
            .get("acl-pubsub-default")
            .is_some_and(|v| v == "allchannels");
        acl.set_default_password(config.requirepass.as_deref());
        let users_loaded = acl.load_config_users(&config.users);
        let commands = commands
            .into_iter()
            .map(|c| (c.name.to_string(), c))
            .collect();
        let mut s = Server {
            ks: Keyspace::new(config.databases),
            config,
            clients: BTreeMap::new(),
            rng,
            run_id,
            stats: Stats::default(),
            slowlog: Default::default(),
            started: now,
            dirty: 0,
            channels: BTreeMap::new(),
            patterns: BTreeMap::new(),
            shard_channels: BTreeMap::new(),
            config_text,
            commands,
            actions: VecDeque::new(),
            pending: BTreeSet::new(),
            next_cron_ms: now.mono_ms,
            next_disk_token: 1,
            migrate: Default::default(),
            disk_waiters: BTreeMap::new(),
            shutting_down: false,
            shutdown: shutdown::Shutdown::default(),
            persist: persist::Persistence::new(now),
            loading: None,
            socket_pace: None,
            monitors: BTreeSet::new(),
            aof: None,
            repl,
            pause: pause::Pause::default(),
            failover: crate::repl::Failover::default(),
            replaying: false,
            exec_effects: None,
            gated: Vec::new(),
            last_now: now,
            sentinel: None,
            running: None,
            discard: Default::default(),
            busy: busy::Busy::default(),
            blocking: blocking::Blocking::default(),
            active_expire: true,
            cron_paused: false,
            acl,
            evict: Default::default(),
            tracking: Default::default(),
            scripting: Default::default(),
            #[cfg(feature = "bug-injection")]
            bugs: Default::default(),
        };
        let rng = &mut s.rng;
        s.ks.seed_access(|| rng.next_u64());
        s.apply_memory_config();
        s.log(
            LogLevel::Notice,
            "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo".into(),
        );
        s.log(
            LogLevel::Notice,
            format!(
                "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
                crate::REDIS_VERSION,
                s.config.pid
            ),
        );
        s.log(LogLevel::Notice, "Configuration loaded".into());
        if let Err(e) = users_loaded {
            s.log(LogLevel::Warning, e);
        }
        if !s.config.aclfile.is_empty() {
            s.load_aclfile(None);
        }
        s.refresh_notify_classes();
        s.startup_banner();
        s.log(LogLevel::Notice, "Server initialized".into());
        if s.config.sentinel_mode {
            s.start_sentinel(now);
        } else {
            s.start_loading();
        }
        s
    }

    /// Redis' logo when `always-show-logo yes` or when logging to a terminal, else one line.
    fn startup_banner(&mut self) {
        let mode = match self.config.sentinel_mode {
            true => "sentinel",
            false => "standalone",
        };
        let port = self.config.port;
        let show = self.config.log_to_tty && self.config.logfile.is_empty();
        if show
            || self
                .config
                .noop
                .get("always-show-logo")
                .is_some_and(|v| v == "yes")
        {
            let logo = crate::log::logo(mode, port, self.config.pid);
            self.actions.push_back(Action::LogRaw(logo));
        } else {
            self.log(
                LogLevel::Notice,
                format!("Running mode={mode}, port={port}."),
            );
        }
    }

    /// Loading is over: clients may come.
    pub(crate) fn ready(&mut self) {
        self.log(LogLevel::Notice, "Ready to accept connections tcp".into());
        if self.config.unixsocket.is_some() {
            self.log(LogLevel::Notice, "Ready to accept connections unix".into());
        }
        self.trace("ready".into());
        if let (Some((host, port)), None) = (self.config.replicaof.clone(), self.repl.link.as_ref())
        {
            self.become_replica_of(&host, port, self.last_now);
        }
    }

    // ---- calling protocol -------------------------------------------------------------------

    pub fn handle_accept(&mut self, now: Now, conn: ConnId, peer: SocketAddr, local: SocketAddr) {
        // Redis' admission control: the error, then the connection is closed, and it never
        // becomes a client (nor counts as a connection received).
        if self.clients.len() >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            let data = Bytes::from_static(b"-ERR max number of clients reached\r\n");
            self.stats.net_output_bytes += data.len() as u64;
            self.actions.push_back(Action::Send { conn, data });
            self.actions.push_back(Action::Close { conn });
            return;
        }
        self.stats.total_connections_received += 1;
        let authed = self.default_user_needs_no_auth();
        let client = Client::new(conn, peer, local, authed, now.mono_ms);
        self.clients.insert(conn, client);
        self.pending.insert(conn);
        self.flush();
    }

    pub fn handle_data(&mut self, now: Now, conn: ConnId, data: &[u8]) {
        self.last_now = now;
        if self.defer_data(now, conn, data) {
            return;
        }
        if self.sentinel_conn_event(now, conn, sentinel_mode::LinkEvent::Data(data)) {
            return;
        }
        if self.is_link_conn(conn) {
            self.link_data(now, data);
            return self.flush();
        }
        if self.migrate_data(now, conn, data) {
            return self.flush();
        }
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        if c.close_after_reply || c.close_asap {
            return;
        }
        self.stats.net_input_bytes += data.len() as u64;
        self.last_now = now;
        c.note_read(data.len());
        c.qbuf.extend_from_slice(data);
        c.last_interaction_ms = now.mono_ms;
        self.process_input(conn, now);
        self.flush();
    }

    /// The driver wrote `bytes` of a connection's output to its socket.
    pub fn handle_written(&mut self, conn: ConnId, bytes: usize) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.unsent_bytes = c.unsent_bytes.saturating_sub(bytes);
            c.written_bytes += bytes as u64;
            // As in Redis, a client being written to is not idle.
            if bytes > 0 {
                c.last_interaction_ms = c.last_interaction_ms.max(self.last_now.mono_ms);
            }
        }
        self.repl_child_written(conn);
        self.flush();
    }

    pub fn handle_closed(&mut self, now: Now, conn: ConnId) {
        if self.defer_closed(now, conn) {
            return;
        }
        if self.sentinel_conn_event(now, conn, sentinel_mode::LinkEvent::Closed) {
            return;
        }
        if self.is_link_conn(conn) {
            self.link_lost(now, "Connection closed");
        }
        if self.migrate_lost(now, conn) {
            return self.flush();
        }
        self.free_client(conn);
        self.flush();
    }

    /// The driver finished a `Disk` action: `Ok` carries the bytes read (empty for other ops).
    pub fn handle_disk_done(&mut self, now: Now, token: u64, result: Result<Bytes, String>) {
        let Some(waiter) = self.disk_waiters.remove(&token) else {
            return;
        };
        match waiter {
            DiskWaiter::ConfigRewrite(conn) => {
                crate::commands::config::rewritten(self, now, conn, token, result.map(|_| ()))
            }
            DiskWaiter::Persist(step) => self.persist_done(now, step, result),
            DiskWaiter::SentinelConfig(conn) => self.sentinel_config_written(now, conn, result),
            DiskWaiter::SentinelScripts(conn) => {
                crate::commands::sentinel_admin::scripts_checked(self, now, conn, result)
            }
            DiskWaiter::AclLoad(conn) => self.aclfile_loaded(now, conn, result),
            DiskWaiter::AclSave(conn) => self.aclfile_saved(now, conn, result),
        }
        self.flush();
    }

    /// A reply a disk operation owed `conn` goes in its place; its input runs again once
    /// nothing more is owed.
    pub(crate) fn pay_owed(&mut self, now: Now, conn: ConnId, token: u64, reply: &[u8]) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        c.pay(token, reply);
        if c.owed.is_empty() {
            c.blocked_on = None;
        }
        self.pending.insert(conn);
        self.process_input(conn, now);
    }

    /// When the core next needs `handle_timeout` (monotonic ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.shutting_down {
            return None;
        }
        if let Some(deadline) = self.busy_deadline() {
            return Some(deadline);
        }
        // A background save runs slice after slice, leaving room for clients in between.
        let mut next = if self.bgsave_busy() {
            self.next_cron_ms.min(self.last_now.mono_ms + 1)
        } else {
            self.next_cron_ms
        };
        let evicting = self.evict.running.then_some(self.last_now.mono_ms);
        let reading = self.socket_pace_timeout();
        for due in [
            self.loading_timeout(),
            self.paced_timeout(),
            evicting,
            reading,
        ]
        .into_iter()
        .flatten()
        {
            next = next.min(due);
        }
        Some(self.pause.next_end_ms().map_or(next, |end| next.min(end)))
    }

    /// Redis' `serverCron`: runs `hz` times a second.
    pub fn handle_timeout(&mut self, now: Now) {
        self.last_now = now;
        self.wake_if_due(now);
        if self.is_busy() {
            return;
        }
        if self.bgsave_busy() {
            self.bgsave_slice();
        }
        self.load_slice(now);
        self.pace_socket_read(now);
        self.paced_cron(now);
        self.eviction_timer(now);
        self.pause_update(now);
        if now.mono_ms >= self.next_cron_ms {
            let period_ms = 1000 / self.cron_hz().clamp(1, 500);
            self.next_cron_ms = now.mono_ms + period_ms;
            if !self.cron_paused {
                self.cron(now);
            }
        }
        self.flush();
    }

    /// One run of `serverCron`'s work.
    fn cron(&mut self, now: Now) {
        self.cron_expire(now);
        self.expire_blocked(now);
        self.cron_clients(now);
        self.cron_output_limits();
        self.cron_query_buffers(now);
        self.cron_stats(now);
        self.limit_tracking_table();
        self.cron_save_points(now);
        self.aof_cron(now);
        self.aof_run_scheduled(now);
        self.repl_master_cron(now);
        self.repl_replica_cron(now);
        self.sentinel_cron(now);
        self.migrate_cron(now);
        self.shutdown_cron(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ---- helpers for commands ---------------------------------------------------------------

    /// A reply buffer for client `id`; a sink when the client turned its replies off.
    pub fn reply(&mut self, id: ConnId) -> crate::resp::Out<'_> {
        self.pending.insert(id);
        let c = self.clients.get_mut(&id).expect("reply to a live client");
        if c.silenced() {
            self.discard.clear();
            return crate::resp::Out::with_resp(&mut self.discard, c.resp);
        }
        crate::resp::Out::with_resp(&mut c.out, c.resp)
    }

    /// A buffer for a push message to client `id` (pub/sub), which CLIENT REPLY OFF lets through.
    pub fn push(&mut self, id: ConnId) -> crate::resp::Out<'_> {
        self.pending.insert(id);
        let c = self.clients.get_mut(&id).expect("push to a live client");
        if c.close_asap {
            self.discard.clear();
            return crate::resp::Out::with_resp(&mut self.discard, c.resp);
        }
        crate::resp::Out::with_resp(&mut c.out, c.resp)
    }

    pub fn log(&mut self, level: LogLevel, msg: String) {
        if level >= self.config.loglevel && level != LogLevel::Nothing {
            self.actions.push_back(Action::Log {
                level,
                role: self.role_char(),
                msg,
            });
        }
    }

    pub fn trace(&mut self, event: String) {
        self.actions.push_back(Action::Trace(event));
    }

    pub fn role_char(&self) -> char {
        if self.config.sentinel_mode {
            'X'
        } else if self.config.replicaof.is_some() {
            'S'
        } else {
            'M'
        }
    }

    /// Starts a disk operation; a client named by the waiter is blocked until it completes.
    pub fn start_disk(&mut self, op: DiskOp, waiter: DiskWaiter) {
        let token = self.next_disk_token;
        self.next_disk_token += 1;
        let blocked = match waiter {
            DiskWaiter::ConfigRewrite(conn) => Some(conn),
            DiskWaiter::Persist(step) => step.client(),
            DiskWaiter::SentinelConfig(conn) => conn,
            DiskWaiter::SentinelScripts(conn) | DiskWaiter::AclSave(conn) => Some(conn),
            DiskWaiter::AclLoad(conn) => conn,
        };
        if let Some(c) = blocked.and_then(|id| self.clients.get_mut(&id)) {
            c.blocked_on = Some(token);
            if matches!(waiter, DiskWaiter::ConfigRewrite(_)) {
                c.owe(token);
            }
        }
        self.disk_waiters.insert(token, waiter);
        self.actions.push_back(Action::Disk { token, op });
    }

    /// Marks a client to be closed after its pending output.
    pub fn close_after_reply(&mut self, id: ConnId) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.close_after_reply = true;
            self.pending.insert(id);
        }
    }

    /// Stops the server: the driver exits the process after draining actions.
    pub fn exit(&mut self, code: i32) {
        self.shutting_down = true;
        self.trace("shutdown".into());
        self.flush();
        self.actions.push_back(Action::Exit { code });
    }

    pub fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Seconds since start (INFO uptime).
    pub fn uptime_s(&self, now: Now) -> u64 {
        now.mono_ms.saturating_sub(self.started.mono_ms) / 1000
    }

    pub fn instantaneous_ops_per_sec(&self) -> u64 {
        let (Some(first), Some(last)) = (
            self.stats.ops_samples.front(),
            self.stats.ops_samples.back(),
        ) else {
            return 0;
        };
        let dt = last.0.saturating_sub(first.0);
        ((last.1 - first.1) * 1000).checked_div(dt).unwrap_or(0)
    }

    // ---- internals --------------------------------------------------------------------------

    pub(crate) fn free_client(&mut self, id: ConnId) {
        self.replica_gone(id);
        self.forget_held(id);
        self.forget_shutdown_client(id);
        self.drop_blocked(id);
        self.monitors.remove(&id);
        self.disable_tracking(id);
        let Some(c) = self.clients.remove(&id) else {
            return;
        };
        for w in &c.watched {
            self.ks.dbs[w.db].unwatch(&w.key);
        }
        for ch in &c.channels {
            crate::commands::pubsub::remove_subscriber(&mut self.channels, ch, id);
        }
        for p in &c.patterns {
            crate::commands::pubsub::remove_subscriber(&mut self.patterns, p, id);
        }
        for ch in &c.shard_channels {
            crate::commands::pubsub::remove_subscriber(&mut self.shard_channels, ch, id);
        }
        self.pending.remove(&id);
    }

    /// Turns buffered output into `Send` actions (and `Close` where asked), in client-id order.
    /// Effects bound for the AOF are written first; under `appendfsync always` the replies wait
    /// until that write is durable (`release_gated`).
    fn flush(&mut self) {
        if self.is_busy() {
            return;
        }
        self.mark_dirty_cas();
        self.invalidate_changes();
        self.broadcast_invalidations();
        self.send_getack_if_needed();
        let gate = self.aof_flush(false);
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.pending) {
            self.enforce_output_limit(id, false);
            let Some(c) = self.clients.get_mut(&id) else {
                continue;
            };
            if c.close_asap {
                out.push(Action::CloseNow { conn: id });
                self.free_client(id);
                continue;
            }
            let data = c.take_sendable();
            if !data.is_empty() {
                self.stats.net_output_bytes += data.len() as u64;
                c.unsent_bytes += data.len();
                out.push(Action::Send { conn: id, data });
            }
            if c.close_after_reply && c.owed.is_empty() {
                out.push(Action::Close { conn: id });
                self.free_client(id);
            }
        }
        if gate || !self.gated.is_empty() {
            self.gated.extend(out);
        } else {
            self.actions.extend(out);
        }
    }

    /// The AOF write the held replies waited for is durable: let them go.
    pub(crate) fn release_gated(&mut self) {
        let held = std::mem::take(&mut self.gated);
        self.actions.extend(held);
    }

    /// A client that is not a connection (the AOF loader; later the master link).
    pub(crate) fn add_internal_client(&mut self, id: ConnId, now: Now) {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        self.clients
            .entry(id)
            .or_insert_with(|| Client::new(id, addr, addr, true, now.mono_ms))
            .user = None;
    }

    /// Flags clients whose WATCHed keys were touched so their EXEC fails. As in Redis, a key
    /// that was stale when watched may be deleted (or stay stale) without that counting, and a
    /// missing key replaced by a stale one becomes a stale watch.
    fn mark_dirty_cas(&mut self) {
        let now_ms = self.last_now.unix_ms;
        for (idx, db) in self.ks.dbs.iter_mut().enumerate() {
            if db.touched.is_empty() {
                continue;
            }
            let touched: BTreeSet<Bytes> = std::mem::take(&mut db.touched).into_iter().collect();
            for c in self.clients.values_mut() {
                let hit = |w: &&mut Watch| w.db == idx && touched.contains(&w.key);
                for w in c.watched.iter_mut().filter(hit) {
                    match (
                        w.stale,
                        db.contains_raw(&w.key),
                        db.is_stale(&w.key, now_ms),
                    ) {
                        (true, false, _) => w.stale = false,
                        (_, true, true) => w.stale = true,
                        _ => c.dirty_cas = true,
                    }
                }
            }
        }
    }

    fn cron_expire(&mut self, now: Now) {
        if !self.active_expire || self.persist.loading {
            return;
        }
        if self.ks.mode == crate::db::ExpiryMode::Hide {
            for db in &mut self.ks.dbs {
                self.ks.stats.expired_keys += db.expire_own_keys(now.unix_ms) as u64;
            }
            return;
        }
        let mut budget = EXPIRE_BUDGET_PER_TICK;
        for db in &mut self.ks.dbs {
            budget -= db.expire_cycle(now.unix_ms, budget);
        }
        self.drain_expired();
        self.publish_key_events();
    }

    /// clientsCronHandleTimeout: a client idle for longer than `timeout` seconds (in whole
    /// seconds, as Redis compares) is closed, unless it is a replica, the master or another
    /// internal client, blocked, or subscribed.
    fn cron_clients(&mut self, now: Now) {
        if self.config.timeout_s == 0 {
            return;
        }
        let now_s = now.mono_ms / 1000;
        let idle: Vec<ConnId> = self
            .clients
            .values()
            .filter(|c| c.id < replication::OUTBOUND_BASE && !c.replica)
            .filter(|c| !c.subscribed() && c.blocked_on.is_none())
            .filter(|c| now_s.saturating_sub(c.last_interaction_ms / 1000) > self.config.timeout_s)
            .map(|c| c.id)
            .collect();
        for id in idle {
            self.log(LogLevel::Verbose, "Closing idle client".into());
            self.close_after_reply(id);
        }
    }

    fn cron_stats(&mut self, now: Now) {
        let s = &mut self.stats;
        s.ops_samples
            .push_back((now.mono_ms, s.total_commands_processed));
        while s.ops_samples.len() > OPS_SAMPLES {
            s.ops_samples.pop_front();
        }
    }
}
