//! The directives that have an effect here, each stored in a typed `Config` field, in CONFIG GET *
//! order; plus how those field types print and read back their canonical text.

use super::table::{
    one, Directive, Kind, Store, APPEND, IMMUTABLE, INT_MAX, MULTI_ARG, OMIT_EMPTY, PROTECTED,
};
use super::{Allow, AppendFsync, LogLevel};
use crate::resp::parse_i64;
use bytes::Bytes;

/// Most databases accepted (Redis allows INT_MAX, which no machine can allocate).
const MAX_DATABASES: i64 = 1_000_000;
/// Redis' CONFIG_BINDADDR_MAX.
const MAX_BIND_ADDRESSES: usize = 16;
const LONG_MAX: i64 = i64::MAX;
const MB: i64 = 1 << 20;

/// A directive stored in a typed field: `field!(name | alias... => field, kind [, flags])`.
macro_rules! field {
    ($name:literal $(| $alias:literal)* => $field:ident, $kind:expr $(, $flags:expr)?) => {
        Directive {
            name: $name,
            aliases: &[$($alias),*],
            kind: $kind,
            store: Store::Field {
                get: |c| Value::show(&c.$field),
                set: |c, v| c.$field = Value::from_text(v),
            },
            flags: 0 $(| $flags)?,
        }
    };
}

pub(super) static FIELDS: &[Directive] = &[
    field!("port" => port, Kind::Int(0, 65535)),
    Directive {
        name: "bind",
        aliases: &[],
        kind: Kind::Custom(bind_addrs),
        store: Store::Field {
            get: |c| c.bind.join(" "),
            set: |c, v| {
                c.bind = v
                    .split(' ')
                    .filter(|a| !a.is_empty())
                    .map(Into::into)
                    .collect()
            },
        },
        flags: MULTI_ARG,
    },
    field!("unixsocket" => unixsocket, Kind::Str, IMMUTABLE),
    Directive {
        name: "unixsocketperm",
        aliases: &[],
        kind: Kind::Custom(octal_perm),
        store: Store::Field {
            get: |c| format!("{:o}", c.unixsocketperm),
            set: |c, v| c.unixsocketperm = u32::from_str_radix(v, 8).unwrap_or(0),
        },
        flags: IMMUTABLE,
    },
    field!("protected-mode" => protected_mode, Kind::Bool),
    field!("timeout" => timeout_s, Kind::Int(0, INT_MAX)),
    field!("loglevel" => loglevel, Kind::Enum(LOGLEVELS)),
    field!("logfile" => logfile, Kind::Str, IMMUTABLE),
    field!("databases" => databases, Kind::Int(1, MAX_DATABASES), IMMUTABLE),
    Directive {
        name: "save",
        aliases: &[],
        kind: Kind::Custom(save_points),
        store: Store::Field {
            get: |c| {
                let points: Vec<String> = c
                    .save_points
                    .iter()
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect();
                points.join(" ")
            },
            set: |c, v| {
                let n: Vec<u64> = v.split(' ').filter_map(|x| x.parse().ok()).collect();
                c.save_points = n.chunks_exact(2).map(|p| (p[0], p[1])).collect();
            },
        },
        flags: MULTI_ARG | APPEND,
    },
    Directive {
        name: "dbfilename",
        aliases: &[],
        kind: Kind::Custom(base_name),
        store: Store::Field {
            get: |c| c.dbfilename.clone(),
            set: |c, v| c.dbfilename = v.into(),
        },
        flags: PROTECTED,
    },
    field!("dir" => dir, Kind::Str, PROTECTED),
    field!("appendonly" => appendonly, Kind::Bool),
    field!("stop-writes-on-bgsave-error" => stop_writes_on_bgsave_error, Kind::Bool),
    field!("rdbcompression" => rdbcompression, Kind::Bool),
    field!("rdbchecksum" => rdbchecksum, Kind::Bool, IMMUTABLE),
    field!("appendfilename" => appendfilename, Kind::Str, IMMUTABLE),
    field!("appenddirname" => appenddirname, Kind::Str, IMMUTABLE),
    field!("appendfsync" => appendfsync, Kind::Enum(FSYNC_POLICIES)),
    field!("auto-aof-rewrite-percentage" => auto_aof_rewrite_percentage, Kind::Int(0, INT_MAX)),
    field!("auto-aof-rewrite-min-size" => auto_aof_rewrite_min_size, Kind::Mem(0, LONG_MAX)),
    field!("aof-load-truncated" => aof_load_truncated, Kind::Bool),
    field!("aof-use-rdb-preamble" => aof_use_rdb_preamble, Kind::Bool),
    Directive {
        name: "replicaof",
        aliases: &["slaveof"],
        kind: Kind::Custom(replica_of),
        store: Store::Field {
            get: |c| {
                c.replicaof
                    .as_ref()
                    .map(|(h, p)| format!("{h} {p}"))
                    .unwrap_or_default()
            },
            set: |c, v| {
                let (host, port) = v.rsplit_once(' ').unwrap_or_default();
                c.replicaof = port.parse().ok().map(|p| (host.to_string(), p));
            },
        },
        flags: IMMUTABLE | MULTI_ARG | OMIT_EMPTY,
    },
    field!("masterauth" => masterauth, Kind::Str),
    field!("masteruser" => masteruser, Kind::Str),
    field!("aclfile" => aclfile, Kind::Str, IMMUTABLE),
    field!("replica-serve-stale-data" | "slave-serve-stale-data" => replica_serve_stale_data, Kind::Bool),
    field!("replica-read-only" | "slave-read-only" => replica_read_only, Kind::Bool),
    field!("replica-priority" | "slave-priority" => replica_priority, Kind::Int(0, INT_MAX)),
    field!("replica-announced" => replica_announced, Kind::Bool),
    field!("replica-announce-ip" | "slave-announce-ip" => replica_announce_ip, Kind::Str),
    field!("replica-announce-port" | "slave-announce-port" => replica_announce_port, Kind::Int(0, 65535)),
    field!("repl-backlog-size" => repl_backlog_size, Kind::Mem(1, LONG_MAX)),
    field!("repl-timeout" => repl_timeout_s, Kind::Int(1, INT_MAX)),
    field!("repl-ping-replica-period" | "repl-ping-slave-period" => repl_ping_replica_period_s, Kind::Int(1, INT_MAX)),
    field!("min-replicas-to-write" | "min-slaves-to-write" => min_replicas_to_write, Kind::Int(0, INT_MAX)),
    field!("min-replicas-max-lag" | "min-slaves-max-lag" => min_replicas_max_lag_s, Kind::Int(0, INT_MAX)),
    field!("requirepass" => requirepass, Kind::Str),
    field!("enable-protected-configs" => enable_protected_configs, Kind::Enum(ALLOW), IMMUTABLE),
    field!("enable-debug-command" => enable_debug_command, Kind::Enum(ALLOW), IMMUTABLE),
    field!("maxclients" => maxclients, Kind::Int(1, u32::MAX as i64)),
    field!("maxmemory" => maxmemory, Kind::Mem(0, LONG_MAX)),
    field!("proto-max-bulk-len" => proto_max_bulk_len, Kind::Mem(MB, LONG_MAX)),
    field!("client-query-buffer-limit" => client_query_buffer_limit, Kind::Mem(MB, LONG_MAX)),
    Directive {
        name: "client-output-buffer-limit",
        aliases: &[],
        kind: Kind::Custom(super::obuf::validate),
        store: Store::Field {
            get: |c| c.client_obuf_limits.show(),
            set: |c, v| c.client_obuf_limits = super::obuf::ObufLimits::from_text(v),
        },
        flags: MULTI_ARG,
    },
    Directive {
        name: "hz",
        aliases: &[],
        kind: Kind::Int(0, INT_MAX),
        store: Store::Field {
            get: |c| c.hz.to_string(),
            // Redis takes hz as a hint and caps it to 1..=500.
            set: |c, v| c.hz = v.parse::<u32>().unwrap_or(10).clamp(1, 500),
        },
        flags: 0,
    },
];

fn bind_addrs(_: &str, args: &[String]) -> Result<String, String> {
    if args.len() > MAX_BIND_ADDRESSES {
        return Err("Too many bind addresses specified.".into());
    }
    Ok(args.join(" "))
}

/// Permission bits in octal, at most 0777 (Redis' OCTAL_CONFIG).
fn octal_perm(_: &str, args: &[String]) -> Result<String, String> {
    let arg = one(args)?;
    match u32::from_str_radix(arg, 8) {
        Ok(v) if v <= 0o777 => Ok(format!("{v:o}")),
        Ok(_) => Err("argument must be between 0 and 777 inclusive".into()),
        Err(_) => Err("argument couldn't be parsed as an octal number".into()),
    }
}

fn save_points(_: &str, args: &[String]) -> Result<String, String> {
    // A single empty argument means "no save points".
    let args = if matches!(args, [a] if a.is_empty()) {
        &[]
    } else {
        args
    };
    let invalid = || "Invalid save parameters".to_string();
    if args.len() % 2 == 1 {
        return Err(invalid());
    }
    let mut points = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let n = parse_i64(a.as_bytes()).ok_or_else(invalid)?;
        if n < 0 || (i % 2 == 0 && n < 1) {
            return Err(invalid());
        }
        points.push(n.to_string());
    }
    Ok(points.join(" "))
}

fn base_name(_: &str, args: &[String]) -> Result<String, String> {
    let name = one(args)?;
    if name.contains('/') || name.contains('\\') {
        return Err("dbfilename can't be a path, just a filename".into());
    }
    Ok(name.to_string())
}

fn replica_of(_: &str, args: &[String]) -> Result<String, String> {
    let [host, port] = args else {
        return Err("wrong number of arguments".into());
    };
    if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") {
        return Ok(String::new());
    }
    let port = parse_i64(port.as_bytes())
        .filter(|p| (0..=65535).contains(p))
        .ok_or("Invalid master port")?;
    Ok(format!("{host} {port}"))
}

/// A typed config value: shown as CONFIG GET prints it, read back from canonical text.
trait Value {
    fn show(&self) -> String;
    fn from_text(s: &str) -> Self;
}

impl Value for bool {
    fn show(&self) -> String {
        if *self { "yes" } else { "no" }.into()
    }
    fn from_text(s: &str) -> Self {
        s == "yes"
    }
}

macro_rules! numeric_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn show(&self) -> String {
                self.to_string()
            }
            // The canonical text was bounds-checked to fit this field.
            fn from_text(s: &str) -> Self {
                s.parse().unwrap_or_default()
            }
        }
    )*};
}
numeric_value!(u16, u32, u64, usize, i64);

impl Value for String {
    fn show(&self) -> String {
        self.clone()
    }
    fn from_text(s: &str) -> Self {
        s.to_string()
    }
}

/// Strings where empty means unset (Redis' EMPTY_STRING_IS_NULL).
impl Value for Option<String> {
    fn show(&self) -> String {
        self.clone().unwrap_or_default()
    }
    fn from_text(s: &str) -> Self {
        (!s.is_empty()).then(|| s.to_string())
    }
}

impl Value for Option<Bytes> {
    fn show(&self) -> String {
        self.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
    fn from_text(s: &str) -> Self {
        (!s.is_empty()).then(|| Bytes::copy_from_slice(s.as_bytes()))
    }
}

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const LOGLEVEL_VALUES: [LogLevel; 5] = [
    LogLevel::Debug,
    LogLevel::Verbose,
    LogLevel::Notice,
    LogLevel::Warning,
    LogLevel::Nothing,
];

impl LogLevel {
    /// The level a loglevel directive names (case-insensitive).
    pub fn parse(s: &str) -> Option<LogLevel> {
        let i = LOGLEVELS.iter().position(|n| n.eq_ignore_ascii_case(s))?;
        Some(LOGLEVEL_VALUES[i])
    }
    pub fn name(self) -> &'static str {
        LOGLEVELS[LOGLEVEL_VALUES.iter().position(|v| *v == self).unwrap_or(0)]
    }
}

/// An enum field shown by name: `names[i]` is the name of `values[i]`.
fn name_of<T: PartialEq>(names: &[&str], values: &[T], v: &T) -> String {
    let i = values.iter().position(|x| x == v).unwrap_or(0);
    names[i].into()
}

/// The value named `s` (canonical text, so always one of `names`).
fn value_of<T: Copy>(names: &[&str], values: &[T], s: &str) -> T {
    values[names.iter().position(|n| *n == s).unwrap_or(0)]
}

impl Value for LogLevel {
    fn show(&self) -> String {
        name_of(LOGLEVELS, &LOGLEVEL_VALUES, self)
    }
    fn from_text(s: &str) -> Self {
        value_of(LOGLEVELS, &LOGLEVEL_VALUES, s)
    }
}

const FSYNC_POLICIES: &[&str] = &["always", "everysec", "no"];
const FSYNC_VALUES: [AppendFsync; 3] =
    [AppendFsync::Always, AppendFsync::Everysec, AppendFsync::No];

impl Value for AppendFsync {
    fn show(&self) -> String {
        name_of(FSYNC_POLICIES, &FSYNC_VALUES, self)
    }
    fn from_text(s: &str) -> Self {
        value_of(FSYNC_POLICIES, &FSYNC_VALUES, s)
    }
}

const ALLOW: &[&str] = &["no", "yes", "local"];
const ALLOW_VALUES: [Allow; 3] = [Allow::No, Allow::Yes, Allow::Local];

impl Value for Allow {
    fn show(&self) -> String {
        name_of(ALLOW, &ALLOW_VALUES, self)
    }
    fn from_text(s: &str) -> Self {
        value_of(ALLOW, &ALLOW_VALUES, s)
    }
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
