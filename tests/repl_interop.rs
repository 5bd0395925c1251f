//! Replication between redsim-server and real Redis processes (skipped with a notice when
//! redis-server is missing, failing when `REDSIM_REQUIRE_INTEROP=1`):
//! - a real replica of redsim, and redsim as a replica of real Redis: full sync of every type,
//!   live writes (MULTI/EXEC, expiry, DEL, other databases, PUBLISH to a subscriber on the
//!   replica), then a dropped link that must come back with a partial resync;
//! - a chain real -> redsim -> real;
//! - the redis-cli view (INFO replication field order, READONLY, ROLE, WAIT) against a real pair;
//! - promotion of a redsim replica whose own replicas continue with `+CONTINUE <new id>`;
//! - FAILOVER from a real master to a redsim replica and back (`PSYNC ... FAILOVER` both ways).

#[path = "repl_interop/dataset.rs"]
mod dataset;
mod support;

use dataset::{assert_converges, fill, live_writes};
use std::time::{Duration, Instant};
use support::real_redis::{Conn, RealRedis, Reply, TempDir};
use support::{cli, have, Server};

fn real(dir: &TempDir, name: &str) -> RealRedis {
    RealRedis::start_with(
        &dir.0,
        &format!("{name}.rdb"),
        &["--repl-diskless-sync-delay", "0"],
    )
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

/// Polls `f` every 50 ms for up to 10 s.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `INFO <section>` as (field, value) pairs in order.
fn info(c: &mut Conn, section: &str) -> Vec<(String, String)> {
    let text = String::from_utf8(c.cmd(&["INFO", section]).bytes()).expect("utf8");
    parse_info(&text)
}

fn parse_info(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

fn field(c: &mut Conn, section: &str, name: &str) -> String {
    info(c, section)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct SyncCounts {
    full: u64,
    partial_ok: u64,
    partial_err: u64,
}

fn sync_counts(c: &mut Conn) -> SyncCounts {
    let stats = info(c, "stats");
    let get = |name: &str| -> u64 {
        stats
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.parse().expect("number"))
            .unwrap_or_else(|| panic!("no {name} in INFO stats"))
    };
    SyncCounts {
        full: get("sync_full"),
        partial_ok: get("sync_partial_ok"),
        partial_err: get("sync_partial_err"),
    }
}

fn replicaof(replica: &mut Conn, master: u16) {
    assert_eq!(
        replica.cmd(&["REPLICAOF", "127.0.0.1", &master.to_string()]),
        ok()
    );
    wait_link_up(replica);
}

fn wait_link_up(replica: &mut Conn) {
    wait_for("master_link_status:up", || {
        field(replica, "replication", "master_link_status") == "up"
    });
}

fn expect_message(sub: &mut Conn, payload: &str) {
    let msg = ["message", "news", payload].map(|s| Reply::Bulk(Some(s.into())));
    assert_eq!(sub.reply(), Reply::Array(msg.to_vec()));
}

fn set_in_db9(c: &mut Conn, key: &str) {
    for cmd in [&["SELECT", "9"][..], &["SET", key, "x"], &["SELECT", "0"]] {
        assert_eq!(c.cmd(cmd), ok());
    }
}

/// Full sync of a filled master, live writes (with a subscriber on the replica), then the link
/// drops (killed on the master, then on the replica) while writes go on: each time the replica
/// must come back with a partial resync.
fn follow_drop_and_continue(master: u16, replica: u16) {
    let (mut m, mut r) = (Conn::connect(master), Conn::connect(replica));
    fill(&mut m);
    let start = sync_counts(&mut m);
    replicaof(&mut r, master);
    assert_converges(&mut m, &mut r, "after the full sync");
    let synced = sync_counts(&mut m);
    // A fresh replica first asks to continue its own history (as Redis does): refused, full sync.
    assert_eq!(
        synced,
        SyncCounts {
            full: start.full + 1,
            partial_err: start.partial_err + 1,
            ..start
        }
    );

    let mut sub = Conn::connect(replica);
    sub.cmd(&["SUBSCRIBE", "news"]);
    live_writes(&mut m, "live");
    assert_eq!(m.cmd(&["PUBLISH", "news", "hello"]), Reply::Int(0));
    expect_message(&mut sub, "hello");
    assert_eq!(m.cmd(&["WAIT", "1", "5000"]), Reply::Int(1));
    assert_converges(&mut m, &mut r, "after live writes");

    // The link drops on the master's side, then on the replica's; writes go on meanwhile.
    for (round, (side, kind)) in [(master, "replica"), (replica, "master")]
        .into_iter()
        .enumerate()
    {
        let tag = format!("dropped-{kind}");
        // The stream is left in db 9 and goes on there after the resync, without a SELECT.
        set_in_db9(&mut m, &format!("before:{tag}"));
        let mut killer = Conn::connect(side);
        assert_eq!(killer.cmd(&["CLIENT", "KILL", "TYPE", kind]), Reply::Int(1));
        set_in_db9(&mut m, &format!("after:{tag}"));
        live_writes(&mut m, &tag);
        let want = SyncCounts {
            partial_ok: synced.partial_ok + round as u64 + 1,
            ..synced
        };
        wait_for("a partial resync", || {
            sync_counts(&mut m).partial_ok >= want.partial_ok
        });
        wait_link_up(&mut r);
        assert_eq!(m.cmd(&["PUBLISH", "news", &tag]), Reply::Int(0));
        expect_message(&mut sub, &tag);
        assert_converges(&mut m, &mut r, &format!("after the partial resync ({tag})"));
        assert_eq!(sync_counts(&mut m), want);
    }
}

#[test]
fn a_real_replica_follows_redsim_and_continues_after_a_dropped_link() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("repl-real-replica");
    let master = Server::start(&[]);
    let replica = real(&dir, "replica");
    follow_drop_and_continue(master.port, replica.port);
}

#[test]
fn redsim_follows_a_real_master_and_continues_after_a_dropped_link() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("repl-real-master");
    let master = real(&dir, "master");
    let replica = Server::start(&[]);
    follow_drop_and_continue(master.port, replica.port);
}

#[test]
fn a_chain_real_to_redsim_to_real_carries_writes_and_survives_a_dropped_top_link() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("repl-chain");
    let top = real(&dir, "top");
    let middle = Server::start(&[]);
    let bottom = real(&dir, "bottom");
    let (mut t, mut m, mut b) = (
        Conn::connect(top.port),
        Conn::connect(middle.port),
        Conn::connect(bottom.port),
    );
    fill(&mut t);
    replicaof(&mut m, top.port);
    replicaof(&mut b, middle.port);
    live_writes(&mut t, "live");
    assert_converges(&mut t, &mut b, "bottom of the chain");
    assert_converges(&mut t, &mut m, "middle of the chain");
    let middle_counts = sync_counts(&mut m);
    assert_eq!(middle_counts.full, 1);

    let top_counts = sync_counts(&mut t);
    assert_eq!(t.cmd(&["CLIENT", "KILL", "TYPE", "replica"]), Reply::Int(1));
    live_writes(&mut t, "dropped");
    wait_for("the middle's partial resync", || {
        sync_counts(&mut t).partial_ok > top_counts.partial_ok
    });
    assert_converges(&mut t, &mut b, "bottom after the middle resynced");
    // The same history all the way down: the bottom kept its link (no new sync on the middle).
    assert_eq!(sync_counts(&mut m), middle_counts);
    assert_eq!(sync_counts(&mut t).full, top_counts.full);
    let replid = field(&mut t, "replication", "master_replid");
    assert_eq!(field(&mut b, "replication", "master_replid"), replid);
    wait_for("equal offsets top and bottom", || {
        field(&mut t, "replication", "master_repl_offset")
            == field(&mut b, "replication", "master_repl_offset")
    });
}

/// The names of `INFO replication` fields, in order (via redis-cli, as a user sees them).
fn info_names(port: u16) -> Vec<String> {
    parse_info(&cli(port, &["INFO", "replication"], None))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// A reply's shape: types and nesting, with texts kept except numbers (ports, offsets).
fn shape(r: &Reply) -> String {
    match r {
        Reply::Int(_) => ":n".into(),
        Reply::Bulk(Some(b)) if String::from_utf8_lossy(b).parse::<i64>().is_ok() => "$n".into(),
        Reply::Bulk(Some(b)) => format!("${}", String::from_utf8_lossy(b)),
        Reply::Array(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        other => format!("{other:?}"),
    }
}

/// What redis-cli shows of a master/replica pair; numbers that differ between runs are masked.
struct PairView {
    master_info: Vec<String>,
    master_info_min_replicas: Vec<String>,
    replica_info: Vec<String>,
    master_role: String,
    replica_role: String,
    readonly: String,
    wait: String,
    wait_on_replica: String,
}

fn view_pair(master: u16, replica: u16) -> PairView {
    let (mut m, mut r) = (Conn::connect(master), Conn::connect(replica));
    replicaof(&mut r, master);
    assert_eq!(cli(master, &["SET", "k", "v"], None), "OK\n");
    PairView {
        wait: cli(master, &["WAIT", "1", "5000"], None),
        master_info: info_names(master),
        replica_info: info_names(replica),
        master_role: shape(&m.cmd(&["ROLE"])),
        replica_role: shape(&r.cmd(&["ROLE"])),
        readonly: cli(replica, &["set", "k", "v2"], None),
        wait_on_replica: cli(replica, &["WAIT", "1", "0"], None),
        master_info_min_replicas: {
            let set = ["CONFIG", "SET", "min-replicas-to-write", "1"];
            assert_eq!(cli(master, &set, None), "OK\n");
            info_names(master)
        },
    }
}

#[test]
fn redis_cli_sees_the_same_replication_view_as_on_a_real_pair() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let dir = TempDir::new("repl-cli");
    let (real_master, real_replica) = (real(&dir, "master"), real(&dir, "replica"));
    let want = view_pair(real_master.port, real_replica.port);
    let (master, replica) = (Server::start(&[]), Server::start(&[]));
    let got = view_pair(master.port, replica.port);

    assert_eq!(got.master_info, want.master_info, "master INFO replication");
    assert_eq!(
        got.replica_info, want.replica_info,
        "replica INFO replication"
    );
    assert!(want.master_info.contains(&"slave0".to_string()));
    assert_eq!(got.master_info_min_replicas, want.master_info_min_replicas);
    assert!(want
        .master_info_min_replicas
        .contains(&"min_slaves_good_slaves".to_string()));
    assert_eq!(got.master_role, want.master_role);
    assert_eq!(got.master_role, "[$master,:n,[[$127.0.0.1,$n,$n]]]");
    assert_eq!(got.replica_role, want.replica_role);
    assert_eq!(got.replica_role, "[$slave,$127.0.0.1,:n,$connected,:n]");
    assert_eq!(got.readonly, want.readonly);
    assert_eq!(
        got.readonly.trim_end(),
        "READONLY You can't write against a read only replica."
    );
    assert_eq!(got.wait, "1\n");
    assert_eq!(got.wait, want.wait);
    assert_eq!(got.wait_on_replica, want.wait_on_replica);
}

#[test]
fn promoting_a_redsim_replica_lets_its_own_replicas_continue_with_the_new_id() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("repl-promote");
    let (top, middle, sub) = (Server::start(&[]), Server::start(&[]), Server::start(&[]));
    let real_sub = real(&dir, "sub");
    let (mut t, mut m) = (Conn::connect(top.port), Conn::connect(middle.port));
    let (mut s, mut rs) = (Conn::connect(sub.port), Conn::connect(real_sub.port));
    fill(&mut t);
    replicaof(&mut m, top.port);
    replicaof(&mut s, middle.port);
    replicaof(&mut rs, middle.port);
    live_writes(&mut t, "live");
    assert_converges(&mut t, &mut s, "redsim sub-replica before promotion");
    assert_converges(&mut t, &mut rs, "real sub-replica before promotion");
    let before = sync_counts(&mut m);
    assert_eq!(before.full, 2);
    let old_id = field(&mut m, "replication", "master_replid");

    assert_eq!(m.cmd(&["REPLICAOF", "NO", "ONE"]), ok());
    let new_id = field(&mut m, "replication", "master_replid");
    assert_ne!(new_id, old_id);
    assert_eq!(field(&mut m, "replication", "master_replid2"), old_id);
    wait_for("both sub-replicas to continue", || {
        sync_counts(&mut m).partial_ok == before.partial_ok + 2
    });
    wait_link_up(&mut s);
    wait_link_up(&mut rs);
    assert_eq!(
        sync_counts(&mut m),
        SyncCounts {
            partial_ok: before.partial_ok + 2,
            ..before
        }
    );
    for c in [&mut s, &mut rs] {
        assert_eq!(field(c, "replication", "master_replid"), new_id);
        assert_eq!(field(c, "replication", "master_replid2"), old_id);
    }
    live_writes(&mut m, "promoted");
    assert_converges(&mut m, &mut s, "redsim sub-replica after promotion");
    assert_converges(&mut m, &mut rs, "real sub-replica after promotion");
}

/// `m` hands the master role to its replica `r` (listening on `r_port`) with FAILOVER: `r` takes
/// over on `PSYNC ... FAILOVER` with a partial resync and `m` follows it.
fn hand_over(m: &mut Conn, r: &mut Conn, r_port: u16, key: &str) {
    assert_eq!(m.cmd(&["SET", key, "1"]), ok());
    wait_for("the replica to be online", || {
        info(m, "replication")
            .iter()
            .any(|(k, v)| k == "slave0" && v.contains("state=online"))
    });
    let before = sync_counts(r);
    let port = r_port.to_string();
    assert_eq!(m.cmd(&["FAILOVER", "TO", "127.0.0.1", &port]), ok());
    wait_for("the failover to end", || {
        field(m, "replication", "master_failover_state") == "no-failover"
    });
    assert_eq!(field(m, "replication", "role"), "slave");
    assert_eq!(field(r, "replication", "role"), "master");
    wait_link_up(m);
    let partial_ok = before.partial_ok + 1;
    assert_eq!(
        sync_counts(r),
        SyncCounts {
            partial_ok,
            ..before
        }
    );
    assert_eq!(r.cmd(&["GET", key]), Reply::Bulk(Some(b"1".to_vec())));
}

#[test]
fn failover_hands_the_master_role_from_real_redis_to_redsim_and_back() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("repl-failover");
    let real_node = real(&dir, "real");
    let ours = Server::start(&[]);
    let (mut a, mut b) = (Conn::connect(real_node.port), Conn::connect(ours.port));
    fill(&mut a);
    replicaof(&mut b, real_node.port);
    hand_over(&mut a, &mut b, ours.port, "to-redsim");
    hand_over(&mut b, &mut a, real_node.port, "to-real");
    assert_converges(&mut a, &mut b, "after two failovers");
}
