//! Stories for the replica side of the core: what a full sync leaves on the replica's disk, what
//! a restarted replica asks its master for, and what it does with its master's writes when it
//! cannot persist them.

use super::testing::{bulk, int, ok, TestServer};
use super::{Action, ConnId};
use crate::config::Config;
use crate::resp::{encode_command, parse_frame, Frame};

/// The master's replication ID in these stories.
fn master_replid() -> String {
    "a".repeat(40)
}

/// Waits (up to 2 s of cron) for the replica to connect to its master; the link's id.
fn link(r: &mut TestServer) -> ConnId {
    for _ in 0..20 {
        if let Some(conn) = r.accept_outbound() {
            return conn;
        }
        r.advance_ms(100);
    }
    panic!("the replica never connected: {:#?}", r.logs())
}

/// Plays a master answering the replica's handshake on `conn` (every command it pipelines) and
/// sending `rdb` as a full sync; returns the replica's PSYNC arguments.
fn serve_full_sync(r: &mut TestServer, conn: ConnId, rdb: &[u8]) -> Vec<String> {
    serve_part_of_full_sync(r, conn, rdb, rdb.len())
}

/// As `serve_full_sync`, but only the first `sent` bytes of the snapshot arrive.
fn serve_part_of_full_sync(
    r: &mut TestServer,
    conn: ConnId,
    rdb: &[u8],
    sent: usize,
) -> Vec<String> {
    let mut psync = Vec::new();
    for _ in 0..10 {
        let out = r.take_output(conn);
        let mut rest = &out[..];
        while let Some((Frame::Array(args), n)) = parse_frame(rest, usize::MAX).expect("RESP") {
            rest = &rest[n..];
            let words: Vec<String> = args
                .iter()
                .map(|a| match a {
                    Frame::Bulk(b) => String::from_utf8_lossy(b).to_ascii_uppercase(),
                    _ => String::new(),
                })
                .collect();
            let reply = match words[0].as_str() {
                "PING" => b"+PONG\r\n".to_vec(),
                "PSYNC" => {
                    psync = words.clone();
                    let head = format!("+FULLRESYNC {} 0\r\n${}\r\n", master_replid(), rdb.len());
                    [head.as_bytes(), &rdb[..sent]].concat()
                }
                _ => b"+OK\r\n".to_vec(),
            };
            r.send_raw(conn, &reply);
        }
    }
    psync
}

/// A master's snapshot with keys k1..k3.
fn master_rdb() -> Vec<u8> {
    let mut master = TestServer::new();
    for k in ["k1", "k2", "k3"] {
        assert_eq!(master.cmd(&["SET", k, "from-master"]), ok());
    }
    master.server.serialize_all(master.now).to_vec()
}

/// A server with `appendonly yes` and a key of its own, made a replica that completed a full
/// sync of `master_rdb`; returns it and its link.
fn synced_aof_replica() -> (TestServer, ConnId) {
    let config = Config {
        appendonly: true,
        ..Config::default()
    };
    let mut r = TestServer::with_config(config);
    assert_eq!(r.cmd(&["SET", "old", "mine"]), ok());
    assert_eq!(r.cmd(&["REPLICAOF", "m", "6379"]), ok());
    let conn = link(&mut r);
    serve_full_sync(&mut r, conn, &master_rdb());
    assert_eq!(
        r.cmd(&["DBSIZE"]),
        int(3),
        "the master's dataset replaced ours"
    );
    (r, conn)
}

#[test]
fn after_a_full_sync_the_replicas_aof_holds_the_new_dataset_and_a_restart_loads_exactly_it() {
    let (mut r, conn) = synced_aof_replica();
    for _ in 0..20 {
        r.advance_ms(100);
    }
    // The master's stream goes on after the sync; it is logged on top of the new dataset.
    r.send_raw(conn, &encode_command(&["SET", "k4", "streamed"]));
    let mut again = r.restart(1000);
    assert_eq!(again.cmd(&["DBSIZE"]), int(4), "{:#?}", again.logs());
    assert_eq!(again.cmd(&["GET", "k4"]), bulk("streamed"));
    assert_eq!(again.cmd(&["GET", "old"]), Frame::Null);
}

#[test]
fn a_replica_restarted_from_its_aof_asks_for_a_full_sync_not_for_the_bases_position() {
    let (mut r, conn) = synced_aof_replica();
    for _ in 0..20 {
        r.advance_ms(100);
    }
    r.send_raw(conn, &encode_command(&["SET", "k4", "streamed"]));
    let mut again = r.restart(1000);
    assert!(
        !again
            .logs()
            .iter()
            .any(|l| l.contains("Restored replication ID")),
        "the AOF's base is older than its last command: {:#?}",
        again.logs()
    );
    let conn = link(&mut again);
    let psync = serve_full_sync(&mut again, conn, &master_rdb());
    assert_eq!(psync[0], "PSYNC");
    assert_ne!(
        psync[1],
        master_replid().to_ascii_uppercase(),
        "a PSYNC at the base's offset would apply the stream since then twice"
    );
}

#[test]
fn a_replica_that_cannot_persist_its_masters_writes_stops_instead_of_dropping_them() {
    let (mut r, conn) = synced_aof_replica();
    r.disk
        .fail
        .store(true, std::sync::atomic::Ordering::Relaxed);
    r.send_raw(conn, &encode_command(&["SET", "a", "1"]));
    assert!(
        r.logs()
            .iter()
            .any(|l| l.contains("Error writing to the AOF file")),
        "{:#?}",
        r.logs()
    );
    r.send_raw(conn, &encode_command(&["SET", "b", "2"]));
    assert!(r
        .logs()
        .contains(&"Guru Meditation: Replica was unable to write command to disk. #server.c:4037"));
    assert!(r.other_actions.contains(&Action::Exit { code: 1 }));
}

#[test]
fn with_replica_ignore_disk_write_errors_a_replica_applies_its_masters_writes_anyway() {
    let (mut r, conn) = synced_aof_replica();
    let set = ["CONFIG", "SET", "replica-ignore-disk-write-errors", "yes"];
    assert_eq!(r.cmd(&set), ok());
    r.disk
        .fail
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        r.send_raw(conn, &encode_command(&["SET", k, v]));
    }
    assert_eq!(r.cmd(&["GET", "c"]), bulk("3"));
    let warned = r
        .logs()
        .iter()
        .filter(|l| l.contains("applying a command even though it is unable to write to disk"))
        .count();
    assert_eq!(warned, 1, "once per 10 s");
    assert!(!r.other_actions.contains(&Action::Exit { code: 1 }));
}

/// A replica that completed a full sync of `master_rdb` (no persistence); returns it and its link.
fn synced_replica() -> (TestServer, ConnId) {
    let mut r = TestServer::new();
    assert_eq!(r.cmd(&["REPLICAOF", "m", "6379"]), ok());
    let conn = link(&mut r);
    serve_full_sync(&mut r, conn, &master_rdb());
    (r, conn)
}

#[test]
fn a_key_whose_ttl_passed_on_the_replica_goes_when_the_masters_del_arrives() {
    let (mut r, conn) = synced_replica();
    r.send_raw(conn, &encode_command(&["PEXPIRE", "k1", "100"]));
    r.advance_ms(200);
    // Expired on the replica's clock: hidden from readers, still counted, until the master says.
    assert_eq!(r.cmd(&["GET", "k1"]), Frame::Null);
    assert_eq!(r.cmd(&["DBSIZE"]), int(3));
    r.send_raw(conn, &encode_command(&["DEL", "k1"]));
    assert_eq!(r.cmd(&["DBSIZE"]), int(2), "{:#?}", r.logs());
}

#[test]
fn the_masters_writes_reach_a_key_the_replica_thinks_expired() {
    let (mut r, conn) = synced_replica();
    r.send_raw(conn, &encode_command(&["RPUSH", "list", "a"]));
    r.send_raw(conn, &encode_command(&["PEXPIRE", "list", "100"]));
    r.advance_ms(200);
    // The master (whose clock lags) still has the list and appends to it; then it persists it.
    r.send_raw(conn, &encode_command(&["RPUSH", "list", "b"]));
    r.send_raw(conn, &encode_command(&["PERSIST", "list"]));
    assert_eq!(
        r.cmd(&["LRANGE", "list", "0", "-1"]),
        Frame::Array(vec![bulk("a"), bulk("b")])
    );
}

#[test]
fn a_swapdb_resync_of_the_same_history_serves_the_old_data_while_it_loads() {
    let (mut r, conn) = synced_replica();
    assert_eq!(
        r.cmd(&["CONFIG", "SET", "repl-diskless-load", "swapdb"]),
        ok()
    );
    r.server.handle_closed(r.now, conn);
    r.other_actions.clear();
    let conn = link(&mut r);
    let rdb = master_rdb();
    serve_part_of_full_sync(&mut r, conn, &rdb, rdb.len() / 2);
    let info = r.cmd_text(1, &["INFO", "persistence"]);
    assert!(
        info.contains("\r\nloading:0\r\n") && info.contains("async_loading:1"),
        "{info}"
    );
    assert_eq!(
        r.cmd(&["GET", "k1"]),
        bulk("from-master"),
        "the old data answers"
    );
    let loading = Frame::Error("LOADING Redis is loading the dataset in memory".into());
    assert_eq!(r.cmd(&["CONFIG", "SET", "appendonly", "yes"]), loading);
    assert_eq!(r.cmd(&["REPLICAOF", "NO", "ONE"]), loading);
    // The link fails mid-transfer: the old data stays, the replica is no longer loading.
    r.server.handle_closed(r.now, conn);
    let info = r.cmd_text(1, &["INFO", "persistence"]);
    assert!(info.contains("async_loading:0"), "{info}");
    assert_eq!(r.cmd(&["DBSIZE"]), int(3));
}

/// The `SetReading` switches the replica asked for on `conn` so far, in order.
fn reading_switches(r: &TestServer, conn: ConnId) -> Vec<bool> {
    let switches = r.other_actions.iter().filter_map(|a| match a {
        Action::SetReading { conn: c, reading } if *c == conn => Some(*reading),
        _ => None,
    });
    switches.collect()
}

#[test]
fn a_replica_loading_from_the_socket_reads_its_master_only_as_fast_as_it_loads() {
    let mut master = TestServer::new();
    for i in 0..100 {
        assert_eq!(master.cmd(&["SET", &format!("k{i}"), "v"]), ok());
    }
    let rdb = master.server.serialize_all(master.now).to_vec();
    let mut r = TestServer::new();
    for (name, value) in [("repl-diskless-load", "swapdb"), ("key-load-delay", "1000")] {
        assert_eq!(r.cmd(&["CONFIG", "SET", name, value]), ok());
    }
    assert_eq!(r.cmd(&["REPLICAOF", "m", "6379"]), ok());
    let conn = link(&mut r);
    // Half the keys arrive at once, far ahead of a pace of one key a millisecond.
    serve_part_of_full_sync(&mut r, conn, &rdb, rdb.len() / 2);
    assert_eq!(
        reading_switches(&r, conn),
        [false],
        "the socket is no longer read"
    );
    r.advance_ms(20);
    assert_eq!(
        reading_switches(&r, conn),
        [false],
        "still ahead after 20 keys' time"
    );
    r.advance_ms(40);
    assert_eq!(
        reading_switches(&r, conn),
        [false, true],
        "the pace caught up"
    );
    // The rest arrives at 60 ms: the load kept its pace from the transfer's start, so the
    // 100 keys are in by about 100 ms, not 100 ms after the payload ended.
    r.send_raw(conn, &rdb[rdb.len() / 2..]);
    r.advance_ms(30);
    let info = r.cmd_text(1, &["INFO", "persistence"]);
    assert!(info.contains("\r\nloading:1\r\n"), "{info}");
    for _ in 0..15 {
        r.advance_ms(1);
    }
    assert_eq!(r.cmd(&["DBSIZE"]), int(100), "{:#?}", r.logs());
}
