//! Stories of the snapshot child a master runs for full syncs, as INFO and the log show it.

use super::super::testing::{ok, TestServer};
use crate::resp::encode_command;

/// A master with ten keys whose snapshot takes 1 s to produce (rdb-key-save-delay 0.1 s/key),
/// and a diskless-capable replica on client 2 that asked for a full sync.
fn master_syncing_replica() -> TestServer {
    let mut t = TestServer::new();
    for i in 0..10 {
        assert_eq!(t.cmd(&["SET", &format!("k{i}"), "v"]), ok());
    }
    assert_eq!(
        t.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]),
        ok()
    );
    t.connect(2);
    assert_eq!(t.cmd_as(2, &["REPLCONF", "capa", "eof"]), ok());
    t.send_raw(2, &encode_command(&["PSYNC", "?", "-1"]));
    t
}

fn bgsave_in_progress(t: &mut TestServer) -> bool {
    let info = t.cmd_text(1, &["INFO", "persistence"]);
    info.contains("rdb_bgsave_in_progress:1")
}

fn logged(t: &TestServer, line: &str) -> bool {
    t.logs().iter().any(|l| l.contains(line))
}

#[test]
fn a_diskless_full_sync_shows_a_save_in_progress_until_the_payload_is_out() {
    let mut t = master_syncing_replica();
    assert!(logged(&t, "Background RDB transfer started by pid"));
    assert!(bgsave_in_progress(&mut t));
    t.advance_ms(500);
    assert!(
        bgsave_in_progress(&mut t),
        "half of the snapshot is produced"
    );
    for _ in 0..7 {
        t.advance_ms(100);
    }
    assert!(!bgsave_in_progress(&mut t), "{:#?}", t.logs());
    assert!(logged(
        &t,
        "Diskless rdb transfer, done reading from pipe, 1 replicas still up."
    ));
}

#[test]
fn the_last_replica_dropping_kills_the_diskless_child() {
    let mut t = master_syncing_replica();
    t.advance_ms(300);
    t.server.handle_closed(t.now, 2);
    t.advance_ms(0);
    assert!(logged(
        &t,
        "Diskless rdb transfer, last replica dropped, killing fork child."
    ));
    assert!(!bgsave_in_progress(&mut t));
}

#[test]
fn flushall_kills_the_child_and_its_replica_syncs_again() {
    let mut t = master_syncing_replica();
    t.advance_ms(300);
    assert_eq!(t.cmd(&["FLUSHALL"]), ok());
    assert!(!bgsave_in_progress(&mut t));
    assert!(
        t.closed(2),
        "the replica of the useless snapshot is dropped"
    );
}

#[test]
fn a_diskless_transfer_feeds_its_replicas_in_lockstep_so_the_slowest_sets_the_pace() {
    let mut t = TestServer::new();
    let value = "x".repeat(2000);
    for i in 0..100 {
        assert_eq!(t.cmd(&["SET", &format!("k{i}"), &value]), ok());
    }
    let settings = [
        ("rdbcompression", "no"),
        ("repl-diskless-sync-delay", "5"),
        ("repl-diskless-sync-max-replicas", "2"),
    ];
    for (name, value) in settings {
        assert_eq!(t.cmd(&["CONFIG", "SET", name, value]), ok());
    }
    for id in [2, 3] {
        t.connect(id);
        assert_eq!(t.cmd_as(id, &["REPLCONF", "capa", "eof"]), ok());
    }
    t.stalled.insert(3); // from now on this replica's socket takes nothing
    for id in [2, 3] {
        t.send_raw(id, &encode_command(&["PSYNC", "?", "-1"]));
    }
    t.advance_ms(1000);
    let fast = t.take_output(2).len();
    assert!(fast > 64 * 1024, "the first part went out");
    assert!(
        fast < 100 * 2000,
        "the fast replica waits for the stalled one"
    );
    t.advance_ms(1000);
    assert!(t.take_output(2).is_empty(), "still waiting");
    assert!(bgsave_in_progress(&mut t));
    // The stalled replica's socket takes what it holds: the transfer goes on to its end.
    t.stalled.remove(&3);
    let held = t.take_output(3).len();
    t.server.handle_written(3, held);
    t.advance_ms(0);
    assert!(
        t.take_output(2).len() + fast > 100 * 2000,
        "the rest went out"
    );
    t.advance_ms(100);
    assert!(!bgsave_in_progress(&mut t), "{:#?}", t.logs());
    assert!(logged(
        &t,
        "Diskless rdb transfer, done reading from pipe, 2 replicas still up."
    ));
}
