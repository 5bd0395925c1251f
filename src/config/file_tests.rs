//! Tests for loading redis.conf and the command line, and for CONFIG REWRITE's text.

use super::*;
use std::io;

/// A disk with these files; the paths in `executables` are executable scripts.
pub(super) struct Disk {
    files: BTreeMap<String, String>,
    pub(super) executables: Vec<String>,
}

impl Files for Disk {
    fn read(&self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }
    fn executable(&self, path: &str) -> bool {
        self.executables.iter().any(|e| e == path)
    }
}

pub(super) fn files(list: &[(&str, &str)]) -> Disk {
    let files = list
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    Disk {
        files,
        executables: Vec::new(),
    }
}

pub(super) fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn load_err(a: &[&str]) -> String {
    load(&args(a), false, &files(&[])).unwrap_err().0
}

/// The active (uncommented) lines of the redis.conf shipped with Redis 7.0.15, plus the three
/// that 7.2 added.
const REDIS_CONF: &str = r#"bind 127.0.0.1 -::1
protected-mode yes
port 6379
tcp-backlog 511
timeout 0
tcp-keepalive 300
daemonize no
pidfile /var/run/redis_6379.pid
loglevel notice
logfile ""
databases 16
always-show-logo no
set-proc-title yes
proc-title-template "{title} {listen-addr} {server-mode}"
locale-collate ""
stop-writes-on-bgsave-error yes
rdbcompression yes
rdbchecksum yes
dbfilename dump.rdb
rdb-del-sync-files no
dir ./
replica-serve-stale-data yes
replica-read-only yes
repl-diskless-sync yes
repl-diskless-sync-delay 5
repl-diskless-sync-max-replicas 0
repl-diskless-load disabled
repl-disable-tcp-nodelay no
replica-priority 100
acllog-max-len 128
lazyfree-lazy-eviction no
lazyfree-lazy-expire no
lazyfree-lazy-server-del no
replica-lazy-flush no
lazyfree-lazy-user-del no
lazyfree-lazy-user-flush no
oom-score-adj no
oom-score-adj-values 0 200 800
disable-thp yes
appendonly no
appendfilename "appendonly.aof"
appenddirname "appendonlydir"
appendfsync everysec
no-appendfsync-on-rewrite no
auto-aof-rewrite-percentage 100
auto-aof-rewrite-min-size 64mb
aof-load-truncated yes
aof-use-rdb-preamble yes
aof-timestamp-enabled no
slowlog-log-slower-than 10000
slowlog-max-len 128
latency-monitor-threshold 0
notify-keyspace-events ""
hash-max-listpack-entries 512
hash-max-listpack-value 64
list-max-listpack-size -2
list-compress-depth 0
set-max-intset-entries 512
set-max-listpack-entries 128
set-max-listpack-value 64
zset-max-listpack-entries 128
zset-max-listpack-value 64
hll-sparse-max-bytes 3000
stream-node-max-bytes 4096
stream-node-max-entries 100
activerehashing yes
client-output-buffer-limit normal 0 0 0
client-output-buffer-limit replica 256mb 64mb 60
client-output-buffer-limit pubsub 32mb 8mb 60
hz 10
dynamic-hz yes
aof-rewrite-incremental-fsync yes
rdb-save-incremental-fsync yes
jemalloc-bg-thread yes
"#;

/// The Redis test suite's default.conf.
const TEST_SUITE_CONF: &str = "always-show-logo yes\nnotify-keyspace-events KEA\ndaemonize no\n\
    pidfile /var/run/redis.pid\nport 6379\ntimeout 0\nbind 127.0.0.1\nloglevel verbose\n\
    logfile ''\ndatabases 16\nlatency-monitor-threshold 1\nrepl-diskless-sync-delay 0\n\
    save ''\nrdbcompression yes\ndbfilename dump.rdb\ndir ./\nslave-serve-stale-data yes\n\
    appendonly no\nappendfsync everysec\nno-appendfsync-on-rewrite no\nactiverehashing yes\n\
    enable-protected-configs yes\nenable-debug-command yes\nenable-module-command yes\n\
    propagation-error-behavior panic\nshutdown-on-sigterm force\n";

#[test]
fn the_redis_conf_shipped_with_redis_loads() {
    let (c, text) = load(
        &args(&["redis.conf"]),
        false,
        &files(&[("redis.conf", REDIS_CONF)]),
    )
    .unwrap();
    assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
    assert_eq!(c.config_file.as_deref(), Some("redis.conf"));
    assert_eq!(text.as_deref(), Some(REDIS_CONF));
    assert_eq!(c.save_points, Config::default().save_points);
    assert_eq!(
        c.noop.get("pidfile").map(String::as_str),
        Some("/var/run/redis_6379.pid")
    );
    let (c, _) = load(
        &args(&["t.conf"]),
        false,
        &files(&[("t.conf", TEST_SUITE_CONF)]),
    )
    .unwrap();
    assert!(c.save_points.is_empty());
    assert_eq!(c.enable_protected_configs, crate::config::Allow::Yes);
    assert_eq!(
        table::find("notify-keyspace-events").unwrap().get(&c),
        "AKE"
    );
}

#[test]
fn command_line_options_override_the_file() {
    let conf = "# my server\nport 7000\nsave 900 1\nloglevel warning\n";
    let (c, _) = load(
        &args(&[
            "a.conf",
            "--port",
            "7001",
            "--save",
            "100 100",
            "--replicaof",
            "127.0.0.1 7000",
        ]),
        false,
        &files(&[("a.conf", conf)]),
    )
    .unwrap();
    assert_eq!(c.port, 7001);
    // Save lines add up; the first one read replaces the defaults.
    assert_eq!(c.save_points, vec![(900, 1), (100, 100)]);
    assert_eq!(c.replicaof, Some(("127.0.0.1".into(), 7000)));
    assert_eq!(c.loglevel, crate::config::LogLevel::Warning);
}

#[test]
fn an_empty_save_clears_the_save_points_in_every_spelling() {
    for a in [
        &["--save", ""][..],
        &["--save", "--loglevel", "verbose"],
        &["--loglevel", "verbose", "--save"],
        &["--save ''"],
    ] {
        let (c, _) = load(&args(a), false, &files(&[])).unwrap();
        assert!(c.save_points.is_empty(), "{a:?}");
    }
    let (c, _) = load(
        &args(&["--maxmemory 700mb", "--replicaof", "h", "6380"]),
        false,
        &files(&[]),
    )
    .unwrap();
    assert_eq!(c.maxmemory, 700 << 20);
    assert_eq!(c.replicaof, Some(("h".into(), 6380)));
}

#[test]
fn bad_lines_stop_the_server_with_redis_fatal_error() {
    assert_eq!(
        load_err(&["--invalid"]),
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line 2\n>>> 'invalid'\nBad directive or wrong number of arguments",
            crate::REDIS_VERSION
        )
    );
    assert!(load_err(&["--port"]).ends_with(">>> 'port'\nwrong number of arguments"));
    assert!(load_err(&["--port", "6379", "6380"])
        .ends_with(">>> 'port \"6379\" \"6380\"'\nwrong number of arguments"));
    assert!(load_err(&["--port", "--bla", "--loglevel", "verbose"])
        .ends_with(">>> 'port \"--bla\"'\nargument couldn't be parsed into an integer"));
    assert!(load_err(&["--replicaof", "127.0.0.1", "abc"]).ends_with("Invalid master port"));
    let mut c = Config::default();
    let e = apply_text(&mut c, "port 1\nbind \"unbalanced\n")
        .unwrap_err()
        .0;
    assert!(
        e.ends_with("at line 2\n>>> 'bind \"unbalanced'\nUnbalanced quotes in configuration line")
    );
    assert_eq!(
        load_err(&["missing.conf"]),
        "Fatal error, can't open config file 'missing.conf': entity not found"
    );
}

#[test]
fn include_reads_another_file_in_place() {
    let disk = files(&[
        ("main.conf", "port 7000\ninclude extra.conf\nmaxclients 5\n"),
        ("extra.conf", "port 7001\nmaxclients 9\n"),
        ("loop.conf", "include loop.conf\n"),
        ("bad.conf", "\nport x\n"),
    ]);
    let (c, _) = load(&args(&["main.conf"]), false, &disk).unwrap();
    assert_eq!((c.port, c.maxclients), (7001, 5));
    let e = load(&args(&["--include", "bad.conf"]), false, &disk)
        .unwrap_err()
        .0;
    assert!(e.contains("at line 2\n>>> 'port x'"));
    let e = load(&args(&["loop.conf"]), false, &disk).unwrap_err().0;
    assert!(e.ends_with("include nesting deeper than 16 files"));
    let e = load(&args(&["--include", "nope.conf"]), false, &disk)
        .unwrap_err()
        .0;
    assert!(e.starts_with("Fatal error, can't open config file 'nope.conf'"));
}

#[test]
fn deprecated_directives_are_accepted_and_ignored() {
    let mut c = Config::default();
    apply_text(
        &mut c,
        "list-max-ziplist-entries 512\nlua-replicate-commands yes\n",
    )
    .unwrap();
    assert!(c.noop.is_empty());
}

#[test]
fn rewrite_keeps_comments_and_replaces_changed_lines_in_place() {
    let old = "# Redis config\n\nport 6379\n# snapshots\nsave 900 1\nsave 300 10\nslaveof 10.0.0.1 6379\n\ntcp-keepalive   300\n";
    let mut c = Config::default();
    apply_text(&mut c, old).unwrap();
    apply_text(
        &mut c,
        "port 7000\nsave 60 5\nreplicaof no one\nmaxmemory 2mb\n",
    )
    .unwrap();
    assert_eq!(
        rewrite(Some(old), &c),
        "# Redis config\n\nport 7000\n# snapshots\nsave 60 5\n\ntcp-keepalive   300\n\
         # Generated by CONFIG REWRITE\nmaxmemory 2mb\n"
    );
}

#[test]
fn rewrite_of_an_unchanged_config_changes_nothing() {
    let (c, text) = load(&args(&["r.conf"]), false, &files(&[("r.conf", REDIS_CONF)])).unwrap();
    assert_eq!(rewrite(text.as_deref(), &c), REDIS_CONF);
    assert_eq!(rewrite(None, &Config::default()), "");
}

#[test]
fn rewrite_appends_below_an_existing_signature_and_writes_save_empty() {
    let old = "port 1\n# Generated by CONFIG REWRITE\nmaxclients 5\n";
    let mut c = Config::default();
    apply_text(&mut c, old).unwrap();
    apply_text(&mut c, "save \"\"\nrequirepass \"a b\"\n").unwrap();
    assert_eq!(
        rewrite(Some(old), &c),
        "port 1\n# Generated by CONFIG REWRITE\nmaxclients 5\nsave \"\"\nrequirepass \"a b\"\n"
    );
}

#[test]
fn a_rewritten_file_loads_back_to_the_same_config() {
    let mut c = Config::default();
    let settings = "bind 0.0.0.0\nsave 10 1\nreplicaof h 1\nmasterauth \"p w\"\nproto-max-bulk-len 3mb\n\
        notify-keyspace-events Ex\nclient-output-buffer-limit pubsub 1mb 0 0\nshutdown-on-sigint save now\n";
    apply_text(&mut c, settings).unwrap();
    let text = rewrite(Some("# empty\n"), &c);
    let mut back = Config::default();
    apply_text(&mut back, &text).unwrap();
    for d in table::all() {
        assert_eq!(d.get(&back), d.get(&c), "{}", d.name);
    }
}

/// A file system whose only directory is `/data` (reached as `/data` or `data`), and a script
/// `run.sh` inside it, which only exists once the process is there.
struct DataDir {
    cwd: std::cell::RefCell<String>,
}

impl Files for DataDir {
    fn read(&self, _: &str) -> io::Result<String> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn executable(&self, path: &str) -> bool {
        path == "run.sh" && *self.cwd.borrow() == "/data"
    }
    fn change_dir(&self, path: &str) -> io::Result<Option<String>> {
        if path != "data" && path != "/data" {
            return Err(io::Error::from_raw_os_error(2));
        }
        *self.cwd.borrow_mut() = "/data".into();
        Ok(Some("/data".into()))
    }
}

#[test]
fn dir_moves_the_process_there_and_later_relative_paths_start_there() {
    let disk = DataDir {
        cwd: String::from("/").into(),
    };
    let a = args(&[
        "--dir",
        "data",
        "--sentinel",
        "monitor",
        "m",
        "127.0.0.1",
        "6379",
        "1",
        "--sentinel",
        "notification-script",
        "m",
        "run.sh",
    ]);
    let (config, _) = load(&a, true, &disk).unwrap();
    assert_eq!(config.dir, "/data");
    let e = load(&args(&["--dir", "nowhere"]), false, &disk)
        .unwrap_err()
        .0;
    assert!(
        e.contains(">>> 'dir \"nowhere\"'\nNo such file or directory"),
        "{e}"
    );
}
