//! Tests for the typed directives: defaults, validation messages, effects, rewrite lines.

use crate::config::table::{all, find};
use crate::config::{Config, LogLevel};

fn set(c: &mut Config, name: &str, args: &[&str]) -> Result<(), String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    find(name).expect("known directive").set(c, &args)
}

fn get(c: &Config, name: &str) -> String {
    find(name).expect("known directive").get(c)
}

#[test]
fn defaults_print_like_redis_config_get() {
    let c = Config::default();
    assert_eq!(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(get(&c, "bind"), "* -::*");
    assert_eq!(get(&c, "replicaof"), "");
    assert_eq!(get(&c, "slaveof"), "");
    assert_eq!(get(&c, "protected-mode"), "yes");
    assert_eq!(get(&c, "proto-max-bulk-len"), "536870912");
    assert_eq!(get(&c, "loglevel"), "notice");
    assert_eq!(get(&c, "tcp-keepalive"), "300");
    assert_eq!(get(&c, "maxmemory-policy"), "noeviction");
}

#[test]
fn every_name_and_alias_is_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for d in all() {
        for n in std::iter::once(&d.name).chain(d.aliases) {
            assert!(seen.insert(*n), "duplicate directive {n}");
        }
    }
}

#[test]
fn values_are_validated_with_redis_messages() {
    let mut c = Config::default();
    assert_eq!(
        set(&mut c, "port", &["abc"]),
        Err("argument couldn't be parsed into an integer".into())
    );
    assert_eq!(
        set(&mut c, "port", &["70000"]),
        Err("argument must be between 0 and 65535 inclusive".into())
    );
    assert_eq!(
        set(&mut c, "appendonly", &["maybe"]),
        Err("argument must be 'yes' or 'no'".into())
    );
    assert_eq!(
        set(&mut c, "maxmemory", &["-1"]),
        Err("argument must be a memory value".into())
    );
    assert_eq!(
        set(&mut c, "loglevel", &["loud"]),
        Err(
            "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"
                .into()
        )
    );
    assert_eq!(
        set(&mut c, "save", &["10"]),
        Err("Invalid save parameters".into())
    );
    assert_eq!(
        set(&mut c, "save", &["0", "1"]),
        Err("Invalid save parameters".into())
    );
    assert_eq!(
        set(&mut c, "replicaof", &["host", "x"]),
        Err("Invalid master port".into())
    );
    assert_eq!(
        set(&mut c, "dbfilename", &["a/b.rdb"]),
        Err("dbfilename can't be a path, just a filename".into())
    );
    assert!(set(&mut c, "daemonize", &["yes"]).is_err());
    assert_eq!(set(&mut c, "daemonize", &["NO"]), Ok(()));
}

#[test]
fn typed_fields_take_the_new_values() {
    let mut c = Config::default();
    set(&mut c, "MAXMEMORY", &["1GB"]).unwrap();
    assert_eq!(c.maxmemory, 1 << 30);
    assert_eq!(get(&c, "maxmemory"), "1073741824");
    set(&mut c, "slave-read-only", &["no"]).unwrap();
    assert!(!c.replica_read_only);
    set(&mut c, "slaveof", &["10.0.0.1", "6380"]).unwrap();
    assert_eq!(c.replicaof, Some(("10.0.0.1".into(), 6380)));
    set(&mut c, "replicaof", &["no", "one"]).unwrap();
    assert_eq!(c.replicaof, None);
    set(&mut c, "save", &[""]).unwrap();
    assert!(c.save_points.is_empty());
    assert_eq!(get(&c, "save"), "");
    set(&mut c, "bind", &["127.0.0.1", "-::1"]).unwrap();
    assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
    set(&mut c, "hz", &["1000"]).unwrap();
    assert_eq!(c.hz, 500);
    set(&mut c, "requirepass", &[""]).unwrap();
    assert_eq!(c.requirepass, None);
    set(&mut c, "loglevel", &["WARNING"]).unwrap();
    assert_eq!(c.loglevel, LogLevel::Warning);
}

#[test]
fn rewrite_lines_use_units_and_quotes() {
    let mut c = Config::default();
    let line = |c: &Config, n: &str| find(n).unwrap().rewrite_line(c);
    assert_eq!(
        line(&c, "repl-backlog-size"),
        Some("repl-backlog-size 1mb".into())
    );
    assert_eq!(line(&c, "logfile"), Some("logfile \"\"".into()));
    assert_eq!(
        line(&c, "save"),
        Some("save 3600 1 300 100 60 10000".into())
    );
    assert_eq!(line(&c, "replicaof"), None);
    set(&mut c, "save", &[""]).unwrap();
    assert_eq!(line(&c, "save"), Some("save \"\"".into()));
    set(&mut c, "replicaof", &["h", "1"]).unwrap();
    assert_eq!(line(&c, "replicaof"), Some("replicaof h 1".into()));
}
