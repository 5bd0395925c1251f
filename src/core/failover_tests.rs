//! Stories of a coordinated FAILOVER between two servers wired back to back: the master pauses
//! writes, waits for its replica, hands over with `PSYNC ... FAILOVER` and ends up its replica;
//! or aborts and stays the master.

use crate::config::Config;
use crate::core::testing::{err, ok, TestServer};
use crate::core::ConnId;
use crate::resp::{encode_command, Frame};

/// The replica's port (the master's is the default 6379).
const REPLICA_PORT: &str = "6380";

/// Delivers bytes both ways between `a`'s outbound connection `a_conn` and `b`'s client
/// `b_client` until both sides are quiet.
fn pump(a: &mut TestServer, a_conn: ConnId, b: &mut TestServer, b_client: ConnId) {
    for _ in 0..50 {
        let to_b = a.take_output(a_conn);
        let to_a = b.take_output(b_client);
        if to_b.is_empty() && to_a.is_empty() {
            return;
        }
        if !to_b.is_empty() {
            b.send_raw(b_client, &to_b);
        }
        if !to_a.is_empty() {
            a.send_raw(a_conn, &to_a);
        }
    }
}

/// Dials: the server's pending outbound connection, accepted by `to` as client `as_client`.
fn dial(from: &mut TestServer, to: &mut TestServer, as_client: ConnId) -> ConnId {
    for _ in 0..20 {
        if let Some(conn) = from.accept_outbound() {
            to.connect(as_client);
            return conn;
        }
        from.advance_ms(100);
    }
    panic!("never dialed: {:#?}", from.logs())
}

struct Pair {
    master: TestServer,
    replica: TestServer,
    /// The replica's link to the master, and its client id on the master.
    link: (ConnId, ConnId),
}

impl Pair {
    /// A master with one synced replica and a key.
    fn new() -> Pair {
        let mut master = TestServer::new();
        master.cmd(&["SET", "k", "v"]);
        let mut replica = TestServer::with_config(Config {
            port: REPLICA_PORT.parse().unwrap(),
            ..Default::default()
        });
        replica.cmd(&["REPLICAOF", "127.0.0.1", "6379"]);
        let conn = dial(&mut replica, &mut master, 10);
        pump(&mut replica, conn, &mut master, 10);
        let mut p = Pair {
            master,
            replica,
            link: (conn, 10),
        };
        p.replica_acks();
        p
    }

    /// A second of the replica's cron: it acknowledges what it applied.
    fn replica_acks(&mut self) {
        self.replica.advance_ms(1000);
        pump(
            &mut self.replica,
            self.link.0,
            &mut self.master,
            self.link.1,
        );
    }

    /// `FAILOVER TO <the replica> TIMEOUT timeout_ms [FORCE]` on the master; its reply.
    fn failover_to_replica(&mut self, timeout_ms: &str, force: bool) -> Frame {
        let mut args = vec![
            "FAILOVER",
            "TO",
            "127.0.0.1",
            REPLICA_PORT,
            "TIMEOUT",
            timeout_ms,
        ];
        if force {
            args.push("FORCE");
        }
        self.master.cmd(&args)
    }

    /// The master's cron ticks; if it failed over, its link to the replica is dialed and served.
    fn master_ticks(&mut self, ms: u64) -> Option<ConnId> {
        self.master.advance_ms(ms);
        let conn = self.master.accept_outbound()?;
        self.replica.connect(20);
        pump(&mut self.master, conn, &mut self.replica, 20);
        Some(conn)
    }
}

fn failover_state(t: &mut TestServer) -> String {
    let Frame::Bulk(b) = t.cmd(&["INFO", "replication"]) else {
        panic!("INFO is a bulk string")
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("master_failover_state:").map(str::to_string))
        .expect("master_failover_state")
}

fn role(t: &mut TestServer) -> String {
    match t.cmd(&["ROLE"]) {
        Frame::Array(items) => match &items[0] {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_master_hands_over_to_its_caught_up_replica_and_follows_it() {
    let mut p = Pair::new();
    let failover = ["FAILOVER", "TO", "127.0.0.1", REPLICA_PORT];
    assert_eq!(p.master.cmd(&failover), ok());
    assert_eq!(failover_state(&mut p.master), "waiting-for-sync");
    p.master.connect(2);
    p.master
        .send_raw(2, &encode_command(&["SET", "k", "during"]));
    assert_eq!(p.master.reply(2), None, "writes wait during the failover");
    assert_eq!(p.master.cmd(&["GET", "k"]), Frame::Bulk("v".into()));
    p.replica_acks();
    let link = p.master_ticks(100).expect("the master dialed its replica");
    let psync = p.replica.logs().join("\n");
    assert!(
        psync.contains("Failover request received for replid"),
        "{psync}"
    );
    assert!(psync.contains("MASTER MODE enabled (failover request from 'id=20"));
    assert!(p
        .master
        .logs()
        .contains(&"Failover target 127.0.0.1:6380 is synced, failing over."));
    assert_eq!(failover_state(&mut p.master), "no-failover");
    assert_eq!(
        (role(&mut p.master), role(&mut p.replica)),
        ("slave".into(), "master".into())
    );
    assert_eq!(
        p.master.reply(2),
        Some(err("READONLY You can't write against a read only replica."))
    );
    assert_eq!(p.replica.cmd(&["SET", "k", "after"]), ok());
    pump(&mut p.master, link, &mut p.replica, 20);
    assert_eq!(p.master.cmd(&["GET", "k"]), Frame::Bulk("after".into()));
}

#[test]
fn a_wait_on_the_old_master_is_unblocked_with_an_error_when_it_becomes_a_replica() {
    let mut p = Pair::new();
    p.master.cmd(&["SET", "unacked", "1"]);
    p.master.connect(2);
    p.master.send_raw(2, &encode_command(&["WAIT", "1", "0"]));
    assert_eq!(p.failover_to_replica("100", true), ok());
    assert_eq!(p.master.reply(2), None);
    p.master.advance_ms(100);
    assert_eq!(
        p.master.reply(2),
        Some(err("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"))
    );
    assert!(p.master.closed(2));
}

#[test]
fn an_aborted_failover_lets_the_held_writes_run() {
    let mut p = Pair::new();
    assert_eq!(p.master.cmd(&["FAILOVER", "TIMEOUT", "60000"]), ok());
    p.master.connect(2);
    p.master.send_raw(2, &encode_command(&["SET", "k", "w"]));
    assert_eq!(
        p.master.cmd(&["REPLICAOF", "127.0.0.1", "7000"]),
        err("ERR REPLICAOF not allowed while failing over.")
    );
    assert_eq!(p.master.cmd(&["FAILOVER", "ABORT"]), ok());
    assert_eq!(p.master.reply(2), Some(ok()));
    assert_eq!(failover_state(&mut p.master), "no-failover");
    assert_eq!(
        p.master.cmd(&["FAILOVER", "ABORT"]),
        err("ERR No failover in progress.")
    );
    assert!(p
        .master
        .logs()
        .contains(&"FAILOVER to any replica aborted: Failover manually aborted"));
}

#[test]
fn a_replica_that_never_catches_up_times_the_failover_out() {
    let mut p = Pair::new();
    p.master.cmd(&["SET", "unacked", "1"]);
    assert_eq!(p.failover_to_replica("500", false), ok());
    assert_eq!(p.master_ticks(400), None);
    assert_eq!(p.master_ticks(100), None);
    assert_eq!(failover_state(&mut p.master), "no-failover");
    assert_eq!(role(&mut p.master), "master");
    assert!(p
        .master
        .logs()
        .contains(&"FAILOVER to 127.0.0.1:6380 aborted: Replica never caught up before timeout"));
}

#[test]
fn force_fails_over_after_the_timeout_even_to_a_replica_behind() {
    let mut p = Pair::new();
    p.master.cmd(&["SET", "unacked", "1"]);
    assert_eq!(p.failover_to_replica("100", true), ok());
    p.master.advance_ms(100);
    assert_eq!(failover_state(&mut p.master), "failover-in-progress");
    assert_eq!(role(&mut p.master), "slave");
    assert!(p
        .master
        .logs()
        .contains(&"FAILOVER to 127.0.0.1:6380 time out exceeded, failing over."));
    // The replica gets the write it missed over the link it still has, then the PSYNC.
    pump(&mut p.master, p.link.1, &mut p.replica, p.link.0);
    let conn = p.master.accept_outbound().expect("dialed");
    p.replica.connect(20);
    pump(&mut p.master, conn, &mut p.replica, 20);
    assert_eq!(failover_state(&mut p.master), "no-failover");
    assert_eq!(role(&mut p.replica), "master");
    assert_eq!(p.replica.cmd(&["GET", "unacked"]), Frame::Bulk("1".into()));
}

#[test]
fn a_target_that_refuses_the_psync_makes_the_old_master_a_master_again() {
    let mut p = Pair::new();
    p.failover_to_replica("100", true);
    p.master.connect(2);
    p.master.send_raw(2, &encode_command(&["SET", "k", "w"]));
    p.replica.cmd(&["REPLICAOF", "NO", "ONE"]);
    p.master_ticks(100).expect("dialed");
    assert!(p
        .master
        .logs()
        .contains(&"FAILOVER to 127.0.0.1:6380 aborted: Failover target rejected psync request"));
    assert_eq!(role(&mut p.master), "master");
    assert_eq!(p.master.reply(2), Some(ok()));
}

#[test]
fn psync_failover_and_sync_during_a_failover_are_refused() {
    let mut p = Pair::new();
    let replid = "a".repeat(40);
    let psync = ["PSYNC", &replid, "1", "FAILOVER"];
    assert_eq!(
        p.master.cmd(&psync),
        err("ERR PSYNC FAILOVER can't be sent to a master.")
    );
    assert_eq!(
        p.replica.cmd(&psync),
        err("ERR PSYNC FAILOVER replid must match my replid.")
    );
    p.master.cmd(&["FAILOVER"]);
    p.master.connect(3);
    assert_eq!(
        p.master.cmd_as(3, &["PSYNC", "?", "-1"]),
        err("NOMASTERLINK Can't SYNC while failing over")
    );
}
