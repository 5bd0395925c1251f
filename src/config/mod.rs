//! Server configuration: the typed `Config` the core reads, with Redis 7.2 defaults.
//! The directive machinery (validation, CONFIG GET/SET formatting, lookup) lives in `table.rs`,
//! the directives with an effect in `fields.rs`, those accepted without effect in `noop.rs`;
//! reading redis.conf and the command line, and CONFIG REWRITE, live in `file.rs`.

mod fields;
pub mod file;
mod noop;
pub mod obuf;
pub mod table;

use crate::sentinel::config::SentinelConf;
use bytes::Bytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
    Nothing,
}

impl LogLevel {
    /// The character Redis prints in each log line.
    pub fn mark(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning | LogLevel::Nothing => '#',
        }
    }
}

/// Who may use a guarded feature (`enable-protected-configs`, `enable-debug-command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allow {
    No,
    Yes,
    /// Only clients connected over loopback.
    Local,
}

/// When the AOF is fsynced (`appendfsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    /// Before every reply to a write.
    Always,
    /// Once a second, from the cron.
    Everysec,
    /// Never explicitly.
    No,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    pub requirepass: Option<Bytes>,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub maxclients: usize,
    /// `client-output-buffer-limit` per client class.
    pub client_obuf_limits: obuf::ObufLimits,
    /// Close idle normal clients after this many seconds (0 = never).
    pub timeout_s: u64,
    pub hz: u32,
    pub loglevel: LogLevel,
    /// Empty = stdout.
    pub logfile: String,
    pub dir: String,
    pub dbfilename: String,
    pub save_points: Vec<(u64, u64)>,
    pub appendonly: bool,
    pub stop_writes_on_bgsave_error: bool,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub appendfilename: String,
    pub appenddirname: String,
    pub appendfsync: AppendFsync,
    pub auto_aof_rewrite_percentage: i64,
    pub auto_aof_rewrite_min_size: i64,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub replicaof: Option<(String, u16)>,
    pub masterauth: Option<Bytes>,
    pub masteruser: Option<Bytes>,
    /// `user <name> <rules...>` lines (loaded at start; CONFIG REWRITE writes the ACL's users).
    pub users: Vec<Vec<String>>,
    /// `aclfile`: users are loaded from (ACL LOAD) and saved to (ACL SAVE) this file.
    pub aclfile: String,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub replica_priority: u32,
    pub replica_announced: bool,
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
    pub repl_backlog_size: i64,
    pub repl_timeout_s: u64,
    pub repl_ping_replica_period_s: u64,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag_s: u64,
    pub protected_mode: bool,
    pub maxmemory: i64,
    /// Absolute path of the config file this server was started with, if any (CONFIG REWRITE).
    pub config_file: Option<String>,
    /// Directives accepted and remembered verbatim but with no effect here (see `noop.rs`).
    pub noop: std::collections::BTreeMap<String, String>,
    /// The encoding thresholds among them, read from `noop` whenever one is set.
    pub encoding_limits: crate::db::EncodingLimits,
    /// Who may CONFIG SET protected directives (dir, dbfilename).
    pub enable_protected_configs: Allow,
    /// Who may run DEBUG.
    pub enable_debug_command: Allow,
    /// The process id INFO shows; the driver sets it (0 in simulation and tests).
    pub pid: u32,
    /// The driver's stdout is a terminal (Redis then shows its logo when logging there).
    pub log_to_tty: bool,
    /// `unixsocket`: a Unix domain socket to listen on as well.
    pub unixsocket: Option<String>,
    /// `unixsocketperm`: its permission bits (0 = leave the umask's).
    pub unixsocketperm: u32,
    /// Running as a Sentinel (`--sentinel`, or the redsim-sentinel binary).
    pub sentinel_mode: bool,
    /// What the `sentinel ...` lines configure; `Some` in Sentinel mode.
    pub sentinel: Option<SentinelConf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            databases: 16,
            requirepass: None,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            client_obuf_limits: Default::default(),
            timeout_s: 0,
            hz: 10,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save_points: vec![(3600, 1), (300, 100), (60, 10000)],
            appendonly: false,
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            appendfsync: AppendFsync::Everysec,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            users: Vec::new(),
            aclfile: String::new(),
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announced: true,
            replica_announce_ip: None,
            replica_announce_port: 0,
            repl_backlog_size: 1024 * 1024,
            repl_timeout_s: 60,
            repl_ping_replica_period_s: 10,
            min_replicas_to_write: 0,
            min_replicas_max_lag_s: 10,
            protected_mode: true,
            maxmemory: 0,
            config_file: None,
            noop: Default::default(),
            encoding_limits: Default::default(),
            enable_protected_configs: Allow::No,
            enable_debug_command: Allow::No,
            pid: 0,
            log_to_tty: false,
            unixsocket: None,
            unixsocketperm: 0,
            sentinel_mode: false,
            sentinel: None,
        }
    }
}

impl Config {
    /// The defaults of Sentinel mode: Redis' defaults but port 26379 and protected mode off (a
    /// Sentinel must be reachable), and an empty Sentinel configuration.
    pub fn sentinel_defaults() -> Self {
        Config {
            port: 26379,
            protected_mode: false,
            sentinel_mode: true,
            sentinel: Some(SentinelConf::default()),
            ..Config::default()
        }
    }
}
