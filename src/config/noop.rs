//! Directives accepted without effect, so that real redis.conf files (the one shipped with Redis
//! 7.0/7.2, the test suite's default.conf) load unchanged. Each is validated like Redis does,
//! remembered in `Config::noop`, shown by CONFIG GET (its Redis default until set) and kept by
//! CONFIG REWRITE. They tune things redsim does not have: threads, process title, logo, lazy
//! freeing, latency and slow logs, encodings, AOF/RDB details, eviction, defragmentation.
//!
//! `daemonize` and `cluster-enabled` accept only `no`: the alternative is not supported.

use super::table::{one, one_of, yes_no, Directive, Kind, Store, HIDDEN, IMMUTABLE, MULTI_ARG};
use crate::resp::parse_i64;

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

const fn noop(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        aliases: &[],
        kind,
        store: Store::Noop { default },
        flags: 0,
    }
}

const fn flag(name: &'static str, default: &'static str) -> Directive {
    noop(name, Kind::Bool, default)
}

const fn int(name: &'static str, min: i64, max: i64, default: &'static str) -> Directive {
    noop(name, Kind::Int(min, max), default)
}

const fn mem(name: &'static str, default: &'static str) -> Directive {
    noop(name, Kind::Mem(0, LONG_MAX), default)
}

const fn text(name: &'static str, default: &'static str) -> Directive {
    noop(name, Kind::Str, default)
}

const fn choice(
    name: &'static str,
    names: &'static [&'static str],
    default: &'static str,
) -> Directive {
    noop(name, Kind::Enum(names), default)
}

impl Directive {
    const fn alias(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    const fn with(mut self, flags: u8) -> Self {
        self.flags |= flags;
        self
    }
}

pub(super) static NOOPS: &[Directive] = &[
    // Process.
    noop("daemonize", Kind::Custom(foreground_only), "no").with(IMMUTABLE),
    noop("cluster-enabled", Kind::Custom(standalone_only), "no").with(IMMUTABLE),
    choice("supervised", &["upstart", "systemd", "auto", "no"], "no").with(IMMUTABLE),
    text("pidfile", "").with(IMMUTABLE),
    choice("enable-module-command", &["no", "yes", "local"], "no").with(IMMUTABLE),
    flag("always-show-logo", "no").with(IMMUTABLE),
    flag("set-proc-title", "yes").with(IMMUTABLE),
    text("proc-title-template", "{title} {listen-addr} {server-mode}"),
    text("locale-collate", ""),
    text("ignore-warnings", ""),
    flag("syslog-enabled", "no").with(IMMUTABLE),
    text("syslog-ident", "redis").with(IMMUTABLE),
    choice("syslog-facility", FACILITIES, "local0").with(IMMUTABLE),
    flag("crash-log-enabled", "yes"),
    flag("crash-memcheck-enabled", "yes"),
    flag("disable-thp", "yes").with(IMMUTABLE),
    choice(
        "oom-score-adj",
        &["no", "yes", "relative", "absolute"],
        "no",
    ),
    noop(
        "oom-score-adj-values",
        Kind::Custom(oom_values),
        "0 200 800",
    )
    .with(MULTI_ARG),
    int("io-threads", 1, 128, "1").with(IMMUTABLE),
    flag("io-threads-do-reads", "no").with(IMMUTABLE),
    flag("jemalloc-bg-thread", "yes"),
    text("server_cpulist", "").with(IMMUTABLE),
    text("bio_cpulist", "").with(IMMUTABLE),
    text("aof_rewrite_cpulist", "").with(IMMUTABLE),
    text("bgsave_cpulist", "").with(IMMUTABLE),
    int("shutdown-timeout", 0, INT_MAX, "10"),
    noop(
        "shutdown-on-sigint",
        Kind::Custom(shutdown_flags),
        "default",
    )
    .with(MULTI_ARG),
    noop(
        "shutdown-on-sigterm",
        Kind::Custom(shutdown_flags),
        "default",
    )
    .with(MULTI_ARG),
    // Network.
    int("tcp-backlog", 0, INT_MAX, "511").with(IMMUTABLE),
    int("tcp-keepalive", 0, INT_MAX, "300"),
    // Read once at startup by `crate::cli` (outgoing connections' source address).
    text("bind-source-addr", ""),
    // Monitoring.
    int("busy-reply-threshold", 0, LONG_MAX, "5000").alias(&["lua-time-limit"]),
    int("latency-monitor-threshold", 0, LONG_MAX, "0"),
    flag("latency-tracking", "yes"),
    noop(
        "latency-tracking-info-percentiles",
        Kind::Custom(percentiles),
        "50 99 99.9",
    )
    .with(MULTI_ARG),
    int("slowlog-log-slower-than", -1, LONG_MAX, "10000"),
    int("slowlog-max-len", 0, LONG_MAX, "128"),
    int("acllog-max-len", 0, LONG_MAX, "128"),
    choice(
        "acl-pubsub-default",
        &["allchannels", "resetchannels"],
        "resetchannels",
    ),
    noop("notify-keyspace-events", Kind::Custom(keyspace_events), ""),
    // Memory and eviction.
    flag("lazyfree-lazy-eviction", "no"),
    flag("lazyfree-lazy-expire", "no"),
    flag("lazyfree-lazy-server-del", "no"),
    flag("lazyfree-lazy-user-del", "no"),
    flag("lazyfree-lazy-user-flush", "no"),
    flag("replica-lazy-flush", "no").alias(&["slave-lazy-flush"]),
    choice("maxmemory-policy", POLICIES, "noeviction"),
    int("maxmemory-samples", 1, INT_MAX, "5"),
    int("maxmemory-eviction-tenacity", 0, 100, "10"),
    noop("maxmemory-clients", Kind::Custom(memory_or_percent), "0"),
    flag("replica-ignore-maxmemory", "yes").alias(&["slave-ignore-maxmemory"]),
    int("active-expire-effort", 1, 10, "1"),
    int("lfu-log-factor", 0, INT_MAX, "10"),
    int("lfu-decay-time", 0, INT_MAX, "1"),
    flag("activerehashing", "yes"),
    flag("activedefrag", "no"),
    noop(
        "active-defrag-ignore-bytes",
        Kind::Mem(1, LONG_MAX),
        "104857600",
    ),
    int("active-defrag-threshold-lower", 0, 1000, "10"),
    int("active-defrag-threshold-upper", 0, 1000, "100"),
    int("active-defrag-cycle-min", 1, 99, "1"),
    int("active-defrag-cycle-max", 1, 99, "25"),
    int("active-defrag-max-scan-fields", 1, LONG_MAX, "1000"),
    flag("dynamic-hz", "yes"),
    int("tracking-table-max-keys", 0, LONG_MAX, "1000000"),
    // Snapshots and the append-only file.
    flag("rdb-del-sync-files", "no"),
    flag("rdb-save-incremental-fsync", "yes"),
    choice("sanitize-dump-payload", &["no", "yes", "clients"], "no"),
    flag("no-appendfsync-on-rewrite", "no"),
    flag("aof-timestamp-enabled", "no"),
    flag("aof-rewrite-incremental-fsync", "yes"),
    // Replication details.
    flag("repl-diskless-sync", "yes"),
    int("repl-diskless-sync-delay", 0, INT_MAX, "5"),
    int("repl-diskless-sync-max-replicas", 0, INT_MAX, "0"),
    choice(
        "repl-diskless-load",
        &["disabled", "on-empty-db", "swapdb"],
        "disabled",
    ),
    flag("repl-disable-tcp-nodelay", "no"),
    int("repl-backlog-ttl", 0, LONG_MAX, "3600"),
    flag("replica-ignore-disk-write-errors", "no"),
    choice(
        "propagation-error-behavior",
        &["ignore", "panic", "panic-on-replicas"],
        "ignore",
    ),
    // Encodings.
    int("hash-max-listpack-entries", 0, LONG_MAX, "512").alias(&["hash-max-ziplist-entries"]),
    mem("hash-max-listpack-value", "64").alias(&["hash-max-ziplist-value"]),
    int("list-max-listpack-size", i32::MIN as i64, INT_MAX, "-2").alias(&["list-max-ziplist-size"]),
    int("list-compress-depth", 0, INT_MAX, "0"),
    int("set-max-intset-entries", 0, LONG_MAX, "512"),
    int("set-max-listpack-entries", 0, LONG_MAX, "128"),
    mem("set-max-listpack-value", "64"),
    int("zset-max-listpack-entries", 0, LONG_MAX, "128").alias(&["zset-max-ziplist-entries"]),
    mem("zset-max-listpack-value", "64").alias(&["zset-max-ziplist-value"]),
    mem("hll-sparse-max-bytes", "3000"),
    mem("stream-node-max-bytes", "4096"),
    int("stream-node-max-entries", 0, LONG_MAX, "100"),
    // Redis' hidden testing knobs. rdb-key-save-delay paces a full sync's payload
    // (core/paced_sync.rs) and key-load-delay paces loading (core/loading.rs); the others
    // have no effect here (events are served between load slices, there is no watchdog).
    int("rdb-key-save-delay", i32::MIN as i64, INT_MAX, "0").with(HIDDEN),
    int("key-load-delay", i32::MIN as i64, INT_MAX, "0").with(HIDDEN),
    int(
        "loading-process-events-interval-bytes",
        1024,
        INT_MAX,
        "2097152",
    )
    .with(HIDDEN),
    int("watchdog-period", 0, INT_MAX, "0").with(HIDDEN),
];

const FACILITIES: &[&str] = &[
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// `yes` is refused with the reason; `no` is the only value.
fn only_no(args: &[String], why: &str) -> Result<String, String> {
    if yes_no(one(args)?)? {
        return Err(format!("'yes' is not supported: {why}"));
    }
    Ok("no".into())
}

fn foreground_only(_: &str, args: &[String]) -> Result<String, String> {
    only_no(
        args,
        "redsim always runs in the foreground (use a supervisor to run it in the background)",
    )
}

fn standalone_only(_: &str, args: &[String]) -> Result<String, String> {
    only_no(args, "redsim has no cluster mode")
}

fn oom_values(_: &str, args: &[String]) -> Result<String, String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    let values = args
        .iter()
        .map(|a| parse_i64(a.as_bytes()).filter(|v| (-2000..=2000).contains(v)))
        .collect::<Option<Vec<i64>>>()
        .ok_or("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")?;
    Ok(values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

const SHUTDOWN_FLAGS: &[&str] = &["default", "save", "nosave", "now", "force"];

/// `shutdown-on-sig*`: a set of flags, shown in Redis' order, `default` when none.
fn shutdown_flags(_: &str, args: &[String]) -> Result<String, String> {
    let mut chosen = Vec::new();
    for a in args {
        chosen.push(one_of(SHUTDOWN_FLAGS, a)?);
    }
    if chosen.is_empty() {
        return one_of(SHUTDOWN_FLAGS, "").map(str::to_string);
    }
    if chosen.contains(&"save") && chosen.contains(&"nosave") {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    let shown: Vec<&str> = SHUTDOWN_FLAGS[1..]
        .iter()
        .copied()
        .filter(|f| chosen.contains(f))
        .collect();
    Ok(if shown.is_empty() {
        "default".into()
    } else {
        shown.join(" ")
    })
}

fn percentiles(_: &str, args: &[String]) -> Result<String, String> {
    let args = if matches!(args, [a] if a.is_empty()) {
        &[]
    } else {
        args
    };
    let mut shown = Vec::with_capacity(args.len());
    for a in args {
        let p = crate::text::parse_f64(a.as_bytes())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        let s = format!("{p:.6}");
        shown.push(s.trim_end_matches('0').trim_end_matches('.').to_string());
    }
    Ok(shown.join(" "))
}

/// Classes of keyspace events that `A` stands for, in the order CONFIG GET prints them.
const ALL_EVENT_CLASSES: &str = "g$lshzxetd";

fn keyspace_events(_: &str, args: &[String]) -> Result<String, String> {
    let arg = one(args)?;
    if !arg.chars().all(|c| "Ag$lshzxeKEtmdn".contains(c)) {
        return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into());
    }
    let has = |c: char| arg.contains(c) || (arg.contains('A') && ALL_EVENT_CLASSES.contains(c));
    let mut shown = String::new();
    if ALL_EVENT_CLASSES.chars().all(has) {
        shown.push('A');
    } else {
        shown.extend(ALL_EVENT_CLASSES.chars().chain(['n']).filter(|&c| has(c)));
    }
    shown.extend("KEm".chars().filter(|&c| has(c)));
    Ok(shown)
}

fn memory_or_percent(_: &str, args: &[String]) -> Result<String, String> {
    let arg = one(args)?;
    if let Some(n) = super::table::memory(arg) {
        return Ok(n.to_string());
    }
    match arg.strip_suffix('%').and_then(|p| parse_i64(p.as_bytes())) {
        Some(p) if (0..=100).contains(&p) => Ok(format!("{p}%")),
        Some(p) if p > 100 => Err("percentage argument must be less or equal to 100".into()),
        _ => Err("argument must be a memory or percent value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::find;
    use super::super::Config;

    fn set(c: &mut Config, name: &str, args: &[&str]) -> Result<String, String> {
        let d = find(name).expect("known directive");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        d.set(c, &args)?;
        Ok(d.get(c))
    }

    #[test]
    fn noops_are_remembered_and_shown_canonically() {
        let mut c = Config::default();
        assert_eq!(set(&mut c, "tcp-keepalive", &["60"]), Ok("60".into()));
        assert_eq!(c.noop.get("tcp-keepalive").map(String::as_str), Some("60"));
        assert_eq!(set(&mut c, "lua-time-limit", &["100"]), Ok("100".into()));
        assert_eq!(
            c.noop.get("busy-reply-threshold").map(String::as_str),
            Some("100")
        );
        assert_eq!(
            set(&mut c, "auto-aof-rewrite-min-size", &["64mb"]),
            Ok("67108864".into())
        );
        assert_eq!(
            set(&mut c, "maxmemory-policy", &["ALLKEYS-LRU"]),
            Ok("allkeys-lru".into())
        );
        assert_eq!(
            set(&mut c, "notify-keyspace-events", &["KEA"]),
            Ok("AKE".into())
        );
        assert_eq!(
            set(&mut c, "notify-keyspace-events", &["Ex"]),
            Ok("xE".into())
        );
        assert_eq!(set(&mut c, "notify-keyspace-events", &[""]), Ok("".into()));
        assert_eq!(
            set(&mut c, "shutdown-on-sigint", &["nosave", "force", "now"]),
            Ok("nosave now force".into())
        );
        assert_eq!(
            set(&mut c, "latency-tracking-info-percentiles", &["50", "99.9"]),
            Ok("50 99.9".into())
        );
        assert_eq!(set(&mut c, "maxmemory-clients", &["10%"]), Ok("10%".into()));
    }

    #[test]
    fn noops_are_validated_with_redis_messages() {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, "notify-keyspace-events", &["Q"]),
            Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
        );
        assert_eq!(
            set(&mut c, "maxmemory-clients", &["200%"]),
            Err("percentage argument must be less or equal to 100".into())
        );
        assert_eq!(
            set(&mut c, "shutdown-on-sigterm", &["save", "nosave"]),
            Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into())
        );
        assert!(set(&mut c, "daemonize", &["yes"])
            .unwrap_err()
            .contains("not supported"));
        assert!(set(&mut c, "cluster-enabled", &["yes"]).is_err());
    }
}
