//! Real Redis Sentinel (`redis-server <file> --sentinel`, three of them, quorum 2) watching a
//! group of redsim-server processes: one master and two replicas, each with its own config file,
//! all with a password (`requirepass`/`masterauth`, `sentinel auth-pass`) and
//! `replica-serve-stale-data no`. The sentinels must discover the replicas and each other, fail
//! over when the master is killed (promoting the replica whose `replica-priority` is not 0, with
//! their MULTI/SLAVEOF/CONFIG REWRITE/CLIENT KILL/EXEC transaction, and pointing the other replica
//! at it), and turn the old master into a replica of the new one when it comes back. Skipped with
//! a notice when redis-server is missing, failing when `REDSIM_REQUIRE_INTEROP=1`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::conf_process::ConfProcess;
use support::have;
use support::real_redis::{Conn, Reply, TempDir};

const MASTER_NAME: &str = "mymaster";
const PASSWORD: &str = "sentinel-interop-pw";

/// The processes of one story, so a timeout can show every log.
struct Group {
    servers: Vec<ConfProcess>,
    sentinels: Vec<ConfProcess>,
}

impl Group {
    fn logs(&self) -> String {
        self.servers
            .iter()
            .chain(&self.sentinels)
            .map(ConfProcess::log)
            .collect()
    }

    /// Polls `f` every 100 ms until it returns `Ok`, for at most `secs` seconds; on a timeout
    /// the message shows the last `Err` (what was seen instead) and every log.
    fn wait_for<T>(&self, what: &str, secs: u64, mut f: impl FnMut() -> Result<T, String>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let seen = match f() {
                Ok(v) => return v,
                Err(seen) => seen,
            };
            assert!(
                Instant::now() < deadline,
                "timed out after {secs} s waiting for {what}; last seen: {seen}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sentinel_conns(&self) -> Vec<Conn> {
        self.sentinels.iter().map(ConfProcess::conn).collect()
    }
}

/// A new authenticated connection to a redsim server.
fn server(port: u16) -> Conn {
    let mut c = Conn::connect(port);
    assert_eq!(c.cmd(&["AUTH", PASSWORD]), Reply::Simple("OK".into()));
    c
}

fn text(r: Reply) -> String {
    String::from_utf8(r.bytes()).expect("utf8")
}

/// One INFO field.
fn info_field(c: &mut Conn, section: &str, name: &str) -> Option<String> {
    text(c.cmd(&["INFO", section]))
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

/// SENTINEL REPLICAS / SENTINELS: one field map per instance.
fn sentinel_list(s: &mut Conn, what: &str) -> Vec<BTreeMap<String, String>> {
    let Reply::Array(items) = s.cmd(&["SENTINEL", what, MASTER_NAME]) else {
        panic!("SENTINEL {what} did not answer an array");
    };
    items
        .into_iter()
        .map(|item| {
            let flat: Vec<String> = item
                .array()
                .into_iter()
                .map(|b| String::from_utf8(b).expect("utf8"))
                .collect();
            flat.chunks(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect()
        })
        .collect()
}

/// The ports in a SENTINEL REPLICAS / SENTINELS answer whose flags do not say they are down.
fn healthy_ports(list: &[BTreeMap<String, String>]) -> Vec<u16> {
    let mut ports: Vec<u16> = list
        .iter()
        .filter(|m| {
            let flags = &m["flags"];
            !flags.contains("s_down") && !flags.contains("disconnected")
        })
        .map(|m| m["port"].parse().expect("port"))
        .collect();
    ports.sort();
    ports
}

fn master_addr(s: &mut Conn) -> Option<u16> {
    match s.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]) {
        Reply::Array(parts) => Some(text(parts[1].clone()).parse().expect("port")),
        _ => None,
    }
}

/// ROLE of a replica: (master port, link state) — `None` for a master.
fn replica_role(c: &mut Conn) -> Option<(u16, String)> {
    // A connection killed meanwhile (CLIENT KILL) answers nothing: not a replica yet.
    let Reply::Array(parts) = c.try_cmd(&["ROLE"]).ok()? else {
        panic!("ROLE did not answer an array");
    };
    match text(parts[0].clone()).as_str() {
        "slave" => Some((parts[2].clone().int() as u16, text(parts[3].clone()))),
        _ => None,
    }
}

/// `Ok` when the server on `port` follows `master` with its link up and has `key` = `value`
/// (a new connection each time: the sentinels' CLIENT KILL TYPE normal closes the old ones).
fn follows_with(port: u16, master: u16, key: &str, value: &str) -> Result<(), String> {
    let mut c = Conn::connect(port);
    // The kill may also land between this connection's commands: then ask again.
    let killed = |e: std::io::Error| format!("connection closed ({e}), as CLIENT KILL does");
    let auth = c.try_cmd(&["AUTH", PASSWORD]).map_err(killed)?;
    assert_eq!(auth, Reply::Simple("OK".into()));
    let role = replica_role(&mut c);
    let got = c.try_cmd(&["GET", key]).map_err(killed)?;
    if role == Some((master, "connected".into())) && got == Reply::Bulk(Some(value.into())) {
        return Ok(());
    }
    Err(format!("ROLE {role:?}, GET {key} {got:?}"))
}

/// `Ok` when `got` equals `want`, else what was seen.
fn expect<T: PartialEq + std::fmt::Debug>(got: T, want: &T) -> Result<(), String> {
    if got == *want {
        return Ok(());
    }
    Err(format!("{got:?}"))
}

fn replicaof_lines(conf: &str) -> Vec<&str> {
    conf.lines()
        .filter(|l| l.starts_with("replicaof") || l.starts_with("slaveof"))
        .collect()
}

fn sorted(mut ports: Vec<u16>) -> Vec<u16> {
    ports.sort();
    ports
}

#[test]
fn real_sentinels_promote_a_redsim_replica_and_bring_the_old_master_back_as_its_replica() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("sentinel-interop");
    // A replica without its master answers MASTERDOWN to all but a few commands: the
    // sentinels must still reach it (PING, INFO, their transaction).
    let auth = [
        format!("requirepass {PASSWORD}"),
        format!("masterauth {PASSWORD}"),
        "replica-serve-stale-data no".to_string(),
    ];
    let master = ConfProcess::redsim(&dir.0, "master", &auth);
    let replica_conf = |priority: u32| {
        let mut lines = auth.to_vec();
        lines.push(format!("replicaof 127.0.0.1 {}", master.port));
        lines.push(format!("replica-priority {priority}"));
        lines
    };
    // Priority 0: never promoted.
    let never = ConfProcess::redsim(&dir.0, "replica-never-promoted", &replica_conf(0));
    let candidate = ConfProcess::redsim(&dir.0, "replica-candidate", &replica_conf(100));
    let mut g = Group {
        servers: vec![master, never, candidate],
        sentinels: Vec::new(),
    };
    let ports: Vec<u16> = g.servers.iter().map(|s| s.port).collect();
    let (master_port, never_port, candidate_port) = (ports[0], ports[1], ports[2]);
    assert_eq!(
        server(master_port).cmd(&["SET", "before", "failover"]),
        Reply::Simple("OK".into())
    );
    for port in [never_port, candidate_port] {
        g.wait_for("the replicas to sync", 10, || {
            follows_with(port, master_port, "before", "failover")
        });
    }

    let sentinel_conf = [
        format!("sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2"),
        format!("sentinel auth-pass {MASTER_NAME} {PASSWORD}"),
        format!("sentinel down-after-milliseconds {MASTER_NAME} 1000"),
        format!("sentinel failover-timeout {MASTER_NAME} 5000"),
    ];
    g.sentinels = (1..=3)
        .map(|i| ConfProcess::real_sentinel(&dir.0, &format!("sentinel{i}"), &sentinel_conf))
        .collect();
    let sentinel_ports: Vec<u16> = g.sentinels.iter().map(|s| s.port).collect();

    // Every sentinel finds both replicas (from the master's INFO) and the two other sentinels
    // (from their hellos on __sentinel__:hello).
    let mut conns = g.sentinel_conns();
    for (i, s) in conns.iter_mut().enumerate() {
        let mut others = sentinel_ports.clone();
        others.remove(i);
        let want = (sorted(vec![never_port, candidate_port]), sorted(others));
        g.wait_for("the sentinels to discover the group", 20, || {
            let found = (sentinel_list(s, "REPLICAS"), sentinel_list(s, "SENTINELS"));
            let healthy = (healthy_ports(&found.0), healthy_ports(&found.1));
            expect(healthy, &want).map_err(|_| format!("sentinel {i}: {found:?}"))
        });
    }

    // The master dies; the sentinels agree on the replica that may be promoted.
    g.servers[0].kill9();
    g.wait_for("every sentinel to name the new master", 30, || {
        let addrs: Vec<Option<u16>> = conns.iter_mut().map(master_addr).collect();
        expect(addrs, &vec![Some(candidate_port); 3])
    });
    let mut m = server(candidate_port);
    assert_eq!(
        replica_role(&mut m),
        None,
        "the promoted replica is a master"
    );
    assert_eq!(
        m.cmd(&["SET", "after", "failover"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        m.cmd(&["GET", "before"]),
        Reply::Bulk(Some("failover".into()))
    );
    g.wait_for("the other replica to follow the new master", 20, || {
        follows_with(never_port, candidate_port, "after", "failover")
    });

    // The transaction rewrote both config files.
    let promoted_conf = g.servers[2].config_text();
    assert_eq!(
        replicaof_lines(&promoted_conf),
        Vec::<&str>::new(),
        "{promoted_conf}"
    );
    let other_conf = g.servers[1].config_text();
    let follow_line = format!("replicaof 127.0.0.1 {candidate_port}");
    assert_eq!(
        replicaof_lines(&other_conf),
        vec![follow_line.as_str()],
        "{other_conf}"
    );

    // The failover is over once every sentinel lists the old master as a replica (still down).
    g.wait_for("the sentinels to finish the failover", 20, || {
        let lists: Vec<Vec<u16>> = conns
            .iter_mut()
            .map(|s| {
                sorted(
                    sentinel_list(s, "REPLICAS")
                        .iter()
                        .map(|r| r["port"].parse().unwrap())
                        .collect(),
                )
            })
            .collect();
        expect(lists, &vec![sorted(vec![master_port, never_port]); 3])
    });

    // The old master comes back with its old config (a master with an empty dataset): the
    // sentinels make it a replica of the new master and it gets the data.
    g.servers[0].restart();
    g.wait_for(
        "the old master to become a replica of the new one",
        30,
        || follows_with(master_port, candidate_port, "after", "failover"),
    );
    assert_eq!(
        server(master_port).cmd(&["GET", "before"]),
        Reply::Bulk(Some("failover".into()))
    );
    let old_conf = g.servers[0].config_text();
    assert_eq!(
        replicaof_lines(&old_conf),
        vec![follow_line.as_str()],
        "{old_conf}"
    );
    let converted = format!("+convert-to-slave slave 127.0.0.1:{master_port} ");
    assert!(
        g.sentinels
            .iter()
            .any(|s| s.log_text().contains(&converted)),
        "{}",
        g.logs()
    );
    g.wait_for("the sentinels to see both replicas healthy", 20, || {
        let lists: Vec<Vec<u16>> = conns
            .iter_mut()
            .map(|s| healthy_ports(&sentinel_list(s, "REPLICAS")))
            .collect();
        expect(lists, &vec![sorted(vec![master_port, never_port]); 3])
    });
    assert_eq!(
        info_field(
            &mut server(candidate_port),
            "replication",
            "connected_slaves"
        )
        .as_deref(),
        Some("2")
    );
}
