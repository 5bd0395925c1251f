//! Stories of SAVE, BGSAVE, save points, restarts and disk errors, on an in-memory disk.

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::Frame;
use std::sync::atomic::Ordering;

fn simple(s: &str) -> Frame {
    Frame::Simple(s.into())
}

fn no_autosave() -> Config {
    Config {
        save_points: vec![],
        ..Config::default()
    }
}

#[test]
fn save_then_restart_brings_every_type_back_with_ttls() {
    let mut t = TestServer::with_config(no_autosave());
    t.cmd(&["set", "s", "v"]);
    t.cmd(&["set", "ttl", "v", "ex", "100"]);
    t.cmd(&["rpush", "l", "a", "b"]);
    t.cmd(&["hset", "h", "f", "1"]);
    t.cmd(&["sadd", "set", "x"]);
    t.cmd(&["zadd", "z", "1.5", "m"]);
    t.cmd(&["select", "3"]);
    t.cmd(&["set", "in3", "x"]);
    assert_eq!(t.cmd(&["save"]), ok());
    assert!(t.disk.file("./dump.rdb").is_some());
    let mut t = t.restart(10_000);
    assert!(
        t.logs()
            .contains(&"Done loading RDB, keys loaded: 7, keys expired: 0."),
        "{:?}",
        t.logs()
    );
    assert_eq!(t.cmd(&["get", "s"]), bulk("v"));
    assert_eq!(t.cmd(&["lrange", "l", "0", "-1"]), arr(&["a", "b"]));
    assert_eq!(t.cmd(&["zscore", "z", "m"]), bulk("1.5"));
    assert!(matches!(t.cmd(&["ttl", "ttl"]), Frame::Int(n) if (89..=90).contains(&n)));
    t.cmd(&["select", "3"]);
    assert_eq!(t.cmd(&["get", "in3"]), bulk("x"));
}

#[test]
fn keys_that_expired_while_down_are_not_loaded() {
    let mut t = TestServer::with_config(no_autosave());
    t.cmd(&["set", "short", "v", "px", "500"]);
    t.cmd(&["set", "long", "v"]);
    t.cmd(&["save"]);
    let mut t = t.restart(1000);
    assert!(t
        .logs()
        .contains(&"Done loading RDB, keys loaded: 1, keys expired: 1."));
    assert_eq!(t.cmd(&["dbsize"]), int(1));
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_while_clients_keep_writing() {
    let mut t = TestServer::with_config(no_autosave());
    for i in 0..50_000 {
        t.server.ks.dbs[0].insert(
            format!("k{i}").into(),
            crate::db::Value::Str("old".into()),
            None,
        );
    }
    assert_eq!(t.cmd(&["bgsave"]), simple("Background saving started"));
    assert_eq!(
        t.cmd(&["bgsave"]),
        err("ERR Background save already in progress")
    );
    // Clients are served between slices; their writes are not in the snapshot.
    let mut rounds = 0;
    while t.server.persist.bgsave.is_some() {
        t.cmd(&["set", &format!("k{}", rounds * 997 % 50_000), "new"]);
        t.cmd(&["set", &format!("fresh{rounds}"), "new"]);
        t.advance_ms(1);
        rounds += 1;
        assert!(rounds < 10_000, "bgsave never finished");
    }
    assert!(rounds > 1, "the save ran in slices");
    assert!(t
        .logs()
        .contains(&"Background saving terminated with success"));
    let mut t = t.restart(1000);
    assert_eq!(t.cmd(&["dbsize"]), int(50_000));
    assert_eq!(t.cmd(&["get", "k0"]), bulk("old"));
    assert_eq!(t.cmd(&["get", "fresh0"]), Frame::Null);
}

#[test]
fn bgsave_schedule_runs_another_save_after_the_current_one() {
    let mut t = TestServer::with_config(no_autosave());
    t.cmd(&["set", "a", "1"]);
    assert_eq!(t.cmd(&["bgsave"]), simple("Background saving started"));
    assert_eq!(
        t.cmd(&["bgsave", "schedule"]),
        simple("Background saving scheduled")
    );
    t.cmd(&["set", "b", "2"]);
    for _ in 0..10 {
        t.advance_ms(1);
    }
    let done = t
        .logs()
        .iter()
        .filter(|l| **l == "Background saving terminated with success")
        .count();
    assert_eq!(done, 2);
    let mut t = t.restart(10);
    assert_eq!(t.cmd(&["dbsize"]), int(2));
}

#[test]
fn save_points_trigger_a_background_save() {
    let mut t = TestServer::with_config(Config {
        save_points: vec![(1, 2)],
        ..Config::default()
    });
    t.cmd(&["set", "a", "1"]);
    t.advance_ms(2000);
    assert!(
        t.server.persist.bgsave.is_none(),
        "one change is below the save point"
    );
    t.cmd(&["set", "b", "2"]);
    for _ in 0..20 {
        t.advance_ms(100);
    }
    assert!(
        t.logs()
            .iter()
            .any(|l| l.ends_with("changes in 1 seconds. Saving...")),
        "{:?}",
        t.logs()
    );
    assert!(t
        .logs()
        .contains(&"Background saving terminated with success"));
    let info = t.cmd(&["info", "persistence"]);
    let Frame::Bulk(text) = info else { panic!() };
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("rdb_changes_since_last_save:0\r\n"), "{text}");
    assert!(text.contains("rdb_last_bgsave_status:ok\r\n"), "{text}");
}

#[test]
fn failed_bgsave_refuses_writes_with_misconf_until_a_save_succeeds() {
    let mut t = TestServer::with_config(Config {
        save_points: vec![(3600, 1)],
        ..Config::default()
    });
    t.cmd(&["set", "a", "1"]);
    t.disk.fail.store(true, Ordering::Relaxed);
    t.cmd(&["bgsave"]);
    t.advance_ms(10);
    assert!(t.logs().contains(&"Background saving error"));
    assert!(
        t.disk.file("./dump.rdb").is_none(),
        "nothing half-written was renamed into place"
    );
    assert_eq!(
        t.cmd(&["set", "b", "2"]),
        err(crate::core::persist::MISCONF)
    );
    assert_eq!(t.cmd(&["ping"]), err(crate::core::persist::MISCONF));
    assert_eq!(t.cmd(&["get", "a"]), bulk("1"), "reads still work");
    t.disk.fail.store(false, Ordering::Relaxed);
    t.cmd(&["bgsave"]);
    t.advance_ms(10);
    assert_eq!(t.cmd(&["set", "b", "2"]), ok());
}

#[test]
fn a_corrupt_rdb_stops_the_server_without_touching_the_file() {
    let t = TestServer::with_config(no_autosave());
    crate::env::Disk::write(&t.disk, "./dump.rdb", b"REDIS0010garbage").unwrap();
    let t = t.restart(10);
    assert!(t
        .other_actions
        .contains(&crate::core::Action::Exit { code: 1 }));
    assert!(
        t.logs()
            .iter()
            .any(|l| l.starts_with("Internal error in RDB reading ./dump.rdb")),
        "{:?}",
        t.logs()
    );
    assert_eq!(t.disk.file("./dump.rdb").unwrap(), b"REDIS0010garbage");
}

#[test]
fn shutdown_saves_when_save_points_exist_and_nosave_skips_it() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    t.send_raw(1, &crate::resp::encode_command(&["shutdown"]));
    assert!(t
        .logs()
        .contains(&"Saving the final RDB snapshot before exiting."));
    assert!(t
        .other_actions
        .contains(&crate::core::Action::Exit { code: 0 }));
    assert!(t.disk.file("./dump.rdb").is_some());

    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    t.send_raw(1, &crate::resp::encode_command(&["shutdown", "nosave"]));
    assert!(t.disk.file("./dump.rdb").is_none());
}

#[test]
fn a_snapshot_using_more_databases_than_configured_is_refused_whole() {
    use crate::db::{Entry, Value};
    use crate::rdb::{Aux, RdbWriter, WriteOptions};
    let mut w = RdbWriter::new(&Aux::default(), WriteOptions::default());
    let entry = Entry::new(Value::Str("v".into()), None);
    w.begin_db(0, 1, 0);
    w.entry(b"in-db0", &entry);
    w.begin_db(20, 1, 0);
    w.entry(b"in-db20", &entry);
    let t = TestServer::with_config(no_autosave());
    crate::env::Disk::write(&t.disk, "./dump.rdb", &w.finish()).unwrap();
    let t = t.restart(10);
    assert!(t
        .other_actions
        .contains(&crate::core::Action::Exit { code: 1 }));
    assert!(
        t.logs().iter().any(|l| l.contains("(it uses db 20)")),
        "{:?}",
        t.logs()
    );
    assert_eq!(t.server.ks.total_keys(), 0, "nothing was installed");
}

#[test]
fn flushall_kills_a_bgsave_in_progress_and_the_changes_stay_unsaved() {
    let mut t = TestServer::with_config(no_autosave());
    assert_eq!(
        t.cmd(&["config", "set", "rdb-key-save-delay", "1000"]),
        ok()
    );
    for i in 0..2000 {
        assert_eq!(t.cmd(&["set", &format!("k{i}"), "v"]), ok());
    }
    let info = |t: &mut TestServer, field: &str| {
        let text = t.cmd_text(1, &["info", "persistence"]);
        let line = text
            .lines()
            .find(|l| l.starts_with(field))
            .map(str::to_owned);
        line.expect("field in INFO persistence")
    };
    assert_eq!(t.cmd(&["bgsave"]), simple("Background saving started"));
    assert_eq!(
        info(&mut t, "rdb_bgsave_in_progress:"),
        "rdb_bgsave_in_progress:1"
    );
    assert_eq!(t.cmd(&["flushall"]), ok());
    assert_eq!(
        info(&mut t, "rdb_bgsave_in_progress:"),
        "rdb_bgsave_in_progress:0"
    );
    assert!(t
        .logs()
        .contains(&"Background saving terminated by signal 10"));
    let changes = info(&mut t, "rdb_changes_since_last_save:");
    let n: u64 = changes.split(':').nth(1).unwrap().parse().unwrap();
    assert!(n >= 2000, "the save failed: {changes}");
    assert_eq!(t.cmd(&["set", "x", "xx"]), ok(), "still writable");
}
