//! Stories of the append-only file on an in-memory disk: first start, replay after restart,
//! `appendfsync always` holding replies, truncated tails, rewrites.

use crate::config::{AppendFsync, Config};
use crate::core::testing::*;
use crate::core::Action;
use crate::resp::{encode_command, Frame};
use std::sync::atomic::Ordering;

const INCR1: &str = "./appendonlydir/appendonly.aof.1.incr.aof";
const MANIFEST: &str = "./appendonlydir/appendonly.aof.manifest";

fn aof_config() -> Config {
    Config {
        appendonly: true,
        save_points: vec![],
        ..Config::default()
    }
}

#[test]
fn first_start_creates_the_layout_and_writes_are_replayed_after_restart() {
    let mut t = TestServer::with_config(aof_config());
    assert!(t
        .logs()
        .contains(&"Creating AOF base file appendonly.aof.1.base.rdb on server start"));
    assert_eq!(
        String::from_utf8(t.disk.file(MANIFEST).unwrap()).unwrap(),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    t.cmd(&["set", "k", "v"]);
    t.cmd(&["rpush", "l", "a", "b"]);
    t.cmd(&["select", "2"]);
    t.cmd(&["incr", "n"]);
    t.cmd(&["set", "gone", "x", "px", "100"]);
    let incr = String::from_utf8(t.disk.file(INCR1).unwrap()).unwrap();
    assert!(
        incr.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n"),
        "{incr:?}"
    );
    assert!(
        incr.contains("PXAT"),
        "relative TTLs are logged as absolute times: {incr:?}"
    );
    let mut t = t.restart(1000);
    assert!(
        t.logs()
            .contains(&"DB loaded from append only file: 0.000 seconds"),
        "{:?}",
        t.logs()
    );
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
    assert_eq!(t.cmd(&["lrange", "l", "0", "-1"]), arr(&["a", "b"]));
    t.cmd(&["select", "2"]);
    assert_eq!(t.cmd(&["get", "n"]), bulk("1"));
    assert_eq!(
        t.cmd(&["get", "gone"]),
        Frame::Null,
        "an expired TTL stays expired after replay"
    );
}

#[test]
fn transactions_are_logged_as_multi_exec_and_expiry_as_del() {
    let mut t = TestServer::with_config(aof_config());
    t.cmd(&["multi"]);
    t.cmd(&["set", "a", "1"]);
    t.cmd(&["set", "b", "2"]);
    t.cmd(&["exec"]);
    t.cmd(&["set", "e", "x", "px", "10"]);
    t.advance_ms(200);
    let incr = String::from_utf8(t.disk.file(INCR1).unwrap()).unwrap();
    assert!(incr.contains("*1\r\n$5\r\nMULTI\r\n"), "{incr:?}");
    assert!(incr.contains("*1\r\n$4\r\nEXEC\r\n"), "{incr:?}");
    assert!(incr.ends_with("*2\r\n$3\r\nDEL\r\n$1\r\ne\r\n"), "{incr:?}");
}

#[test]
fn always_policy_holds_the_reply_until_the_write_is_durable_and_exits_on_failure() {
    let config = Config {
        appendfsync: AppendFsync::Always,
        ..aof_config()
    };
    let mut t = TestServer::with_config(config);
    assert_eq!(t.cmd(&["set", "k", "v"]), ok());
    t.disk.fail.store(true, Ordering::Relaxed);
    t.send_raw(1, &encode_command(&["set", "k2", "v"]));
    assert_eq!(
        t.reply(1),
        None,
        "no acknowledgement for a write that is not on disk"
    );
    assert!(t.other_actions.contains(&Action::Exit { code: 1 }));
    assert!(t.logs().contains(
        &"Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
    ));
}

#[test]
fn everysec_fsync_errors_refuse_writes_until_a_retried_fsync_succeeds() {
    let config = Config {
        appendfsync: AppendFsync::Everysec,
        ..aof_config()
    };
    let mut t = TestServer::with_config(config);
    assert_eq!(t.cmd(&["set", "k", "v"]), ok());
    t.disk.fail.store(true, Ordering::Relaxed);
    t.advance_ms(1_100);
    assert_eq!(
        t.cmd(&["set", "k2", "v"]),
        err("MISCONF Errors writing to the AOF file: No space left on device"),
        "the cron's fsync failed"
    );
    t.disk.fail.store(false, Ordering::Relaxed);
    t.advance_ms(1_100);
    assert_eq!(
        t.cmd(&["set", "k2", "v2"]),
        ok(),
        "the fsync is retried once the disk works again"
    );
}

#[test]
fn everysec_write_errors_refuse_writes_until_the_disk_recovers() {
    let mut t = TestServer::with_config(aof_config());
    t.disk.fail.store(true, Ordering::Relaxed);
    assert_eq!(
        t.cmd(&["set", "k", "v"]),
        ok(),
        "everysec acknowledges from memory"
    );
    assert_eq!(
        t.cmd(&["set", "k2", "v"]),
        err("MISCONF Errors writing to the AOF file: No space left on device")
    );
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
    t.disk.fail.store(false, Ordering::Relaxed);
    t.advance_ms(100);
    assert_eq!(
        t.cmd(&["set", "k2", "v2"]),
        ok(),
        "the retried write succeeded"
    );
    let mut t = t.restart(10);
    assert_eq!(
        t.cmd(&["mget", "k", "k2"]),
        Frame::Array(vec![bulk("v"), bulk("v2")]),
        "nothing acknowledged was dropped"
    );
}

#[test]
fn a_truncated_tail_is_cut_off_when_allowed_and_fatal_otherwise() {
    let mut t = TestServer::with_config(aof_config());
    t.cmd(&["set", "a", "1"]);
    t.cmd(&["set", "b", "2"]);
    let mut data = t.disk.file(INCR1).unwrap();
    let whole = data.len();
    data.extend_from_slice(b"*3\r\n$3\r\nset\r\n$1\r\nc\r\n$1");
    crate::env::Disk::write(&t.disk, INCR1, &data).unwrap();
    let mut t = t.restart(10);
    assert!(t.logs().contains(
        &"AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
    ));
    assert_eq!(
        t.disk.file(INCR1).unwrap().len(),
        whole,
        "the partial command was cut off"
    );
    assert_eq!(
        t.cmd(&["mget", "a", "b", "c"]),
        Frame::Array(vec![bulk("1"), bulk("2"), Frame::Null])
    );

    crate::env::Disk::write(&t.disk, INCR1, &data).unwrap();
    let strict = Config {
        aof_load_truncated: false,
        ..aof_config()
    };
    let mut t2 = TestServer::with_disk(strict, std::mem::take(&mut t.disk));
    assert!(t2.other_actions.contains(&Action::Exit { code: 1 }));
    assert!(t2
        .logs()
        .iter()
        .any(|l| l.starts_with("Unexpected end of file reading the append only file")));
    t2.other_actions.clear();
}

#[test]
fn garbage_in_the_aof_stops_the_server() {
    let t = TestServer::with_config(aof_config());
    crate::env::Disk::write(&t.disk, INCR1, b"+OK\r\nnot a command").unwrap();
    let t = t.restart(10);
    assert!(t.other_actions.contains(&Action::Exit { code: 1 }));
    assert!(t.logs().iter().any(
        |l| l.starts_with("Bad file format reading the append only file appendonly.aof.1.incr.aof")
    ));
    assert!(
        t.logs()
            .contains(&"AOF appendonly.aof.1.incr.aof: not a valid command at offset 0"),
        "{:?}",
        t.logs()
    );
}

#[test]
fn timestamp_annotations_written_by_redis_are_skipped_when_loading() {
    let t = TestServer::with_config(aof_config());
    let data = "#TS:1700000000\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n#TS:1700000001\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n#TS:17";
    crate::env::Disk::write(&t.disk, INCR1, data.as_bytes()).unwrap();
    let mut t = t.restart(10);
    assert!(
        !t.other_actions.contains(&Action::Exit { code: 1 }),
        "{:?}",
        t.logs()
    );
    assert_eq!(
        t.cmd(&["mget", "a", "b"]),
        Frame::Array(vec![bulk("1"), bulk("2")])
    );
}

#[test]
fn rewrite_makes_a_new_base_and_drops_old_files() {
    let mut t = TestServer::with_config(aof_config());
    for i in 0..100 {
        t.cmd(&["set", "counter", &i.to_string()]);
    }
    assert_eq!(
        t.cmd(&["bgrewriteaof"]),
        Frame::Simple("Background append only file rewriting started".into())
    );
    t.cmd(&["set", "during", "x"]);
    for _ in 0..10 {
        t.advance_ms(1);
    }
    assert!(
        t.logs()
            .contains(&"Background AOF rewrite terminated with success"),
        "{:?}",
        t.logs()
    );
    assert_eq!(
        String::from_utf8(t.disk.file(MANIFEST).unwrap()).unwrap(),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(
        t.disk.file(INCR1).is_none(),
        "the old incr file was removed"
    );
    let mut t = t.restart(10);
    assert_eq!(
        t.cmd(&["mget", "counter", "during"]),
        Frame::Array(vec![bulk("99"), bulk("x")])
    );
}

#[test]
fn config_set_appendonly_yes_starts_an_aof_with_the_current_data() {
    let mut t = TestServer::with_config(Config {
        save_points: vec![],
        ..Config::default()
    });
    t.cmd(&["set", "before", "1"]);
    assert_eq!(t.cmd(&["config", "set", "appendonly", "yes"]), ok());
    t.cmd(&["set", "after", "2"]);
    for _ in 0..10 {
        t.advance_ms(1);
    }
    let mut config = t.server.config.clone();
    config.pid += 1;
    let mut t = TestServer::with_disk(config, std::mem::take(&mut t.disk));
    assert_eq!(
        t.cmd(&["mget", "before", "after"]),
        Frame::Array(vec![bulk("1"), bulk("2")])
    );
}

#[test]
fn debug_loadaof_replays_the_files_and_appending_goes_on() {
    let mut t = TestServer::with_config(Config {
        enable_debug_command: crate::config::Allow::Yes,
        ..aof_config()
    });
    t.cmd(&["rpush", "l", "a", "b"]);
    t.cmd(&["set", "gone", "1"]);
    t.cmd(&["del", "gone"]);
    t.cmd(&["set", "unsaved", "1"]);
    t.server.ks.dbs[0].clear();
    assert_eq!(t.cmd(&["debug", "loadaof"]), ok());
    assert_eq!(t.cmd(&["lrange", "l", "0", "-1"]), arr(&["a", "b"]));
    assert_eq!(t.cmd(&["exists", "gone"]), int(0));
    assert_eq!(t.cmd(&["exists", "unsaved"]), int(1));
    t.cmd(&["rpush", "l", "c"]);
    assert_eq!(t.cmd(&["debug", "loadaof"]), ok());
    assert_eq!(t.cmd(&["llen", "l"]), int(3));
}

#[test]
fn debug_loadaof_without_an_aof_is_an_error() {
    let mut t = TestServer::with_config(Config {
        enable_debug_command: crate::config::Allow::Yes,
        ..Config::default()
    });
    t.cmd(&["set", "k", "v"]);
    assert!(matches!(t.cmd(&["debug", "loadaof"]), Frame::Error(_)));
    assert_eq!(t.cmd(&["exists", "k"]), int(1));
}
