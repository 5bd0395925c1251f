//! redsim's Sentinel against real clients and real servers (skipped with a notice when
//! redis-server or redis-py is missing, failing when `REDSIM_REQUIRE_INTEROP=1`). Every story
//! runs three Sentinels (quorum 2, down-after 1000 ms, failover-timeout 5000 ms, each with its own
//! config file) over one master and two replicas, then SIGKILLs the master:
//! - redis-py's `redis.sentinel.Sentinel` finds the master and replicas through three
//!   redsim-sentinels, and its writes land on the new master after the failover; every
//!   sentinel.conf is rewritten for the new master;
//! - redsim-sentinels fail over real redis-server 7.0 processes and turn the returning old master
//!   into a replica of the new one;
//! - two real Sentinels and one redsim-sentinel form one quorum: they find each other, agree on
//!   the master and config epoch after a failover, and again after a SENTINEL FAILOVER run by
//!   the redsim one, then by a real one; what redis-cli sees of both kinds (field names and
//!   order, INFO sentinel, error replies) is compared on the way.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::real_redis::{Conn, RealRedis, Reply, TempDir};
use support::sentinel_procs::{
    agreed_master, role, start_all, wait_discovered, wait_for, Kind, SentinelProc, MASTER,
};
use support::{have, have_redis_py, Server};

fn redsim_replica_of(master: u16) -> Server {
    Server::start(&["--replicaof", &format!("127.0.0.1 {master}")])
}

/// The sentinel.conf of a Sentinel that follows `new` (with `replicas` as its known replicas,
/// both other Sentinels known, and a current epoch of at least 1).
fn conf_follows(conf: &str, new: u16, replicas: &[u16]) -> bool {
    let lines: Vec<&str> = conf.lines().collect();
    let has = |l: String| lines.contains(&l.as_str());
    let epoch = lines
        .iter()
        .find_map(|l| l.strip_prefix("sentinel current-epoch "))
        .and_then(|e| e.parse::<u64>().ok());
    let known_sentinel = format!("sentinel known-sentinel {MASTER} 127.0.0.1 ");
    has(format!("sentinel monitor {MASTER} 127.0.0.1 {new} 2"))
        && replicas
            .iter()
            .all(|p| has(format!("sentinel known-replica {MASTER} 127.0.0.1 {p}")))
        && lines
            .iter()
            .filter(|l| l.starts_with(&known_sentinel))
            .count()
            == 2
        && epoch >= Some(1)
}

/// The redis-py script, its stdout lines as they come, and its stderr in a file.
struct PyScript {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: std::path::PathBuf,
}

impl PyScript {
    fn start(dir: &std::path::Path, sentinels: &[SentinelProc]) -> PyScript {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/redis_py_sentinel.py"
        );
        let ports: Vec<String> = sentinels.iter().map(|s| s.port.to_string()).collect();
        let stderr = dir.join("redis-py.err");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(ports.join(","))
            .arg(MASTER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("run python3");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        PyScript {
            child,
            lines,
            stderr,
        }
    }

    /// The next line it prints (60 s at most), or a failure with its stderr and the logs.
    fn line(&mut self, sentinels: &[SentinelProc]) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                let logs: Vec<String> = sentinels.iter().map(SentinelProc::log).collect();
                panic!("redis-py script failed:\n{err}\n{}", logs.join("\n---\n"))
            })
    }
}

impl Drop for PyScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_py_follows_a_failover_run_by_three_redsim_sentinels() {
    if !have_redis_py() {
        return;
    }
    let dir = TempDir::new("sentinel-redis-py");
    let master = Server::start(&[]);
    let old = master.port;
    let replicas = [redsim_replica_of(old), redsim_replica_of(old)];
    let sentinels = start_all(&dir.0, &[Kind::Redsim; 3], old);
    wait_discovered(&sentinels, 2);

    let mut py = PyScript::start(&dir.0, &sentinels);
    assert_eq!(
        py.line(&sentinels),
        format!("phase1 ok master=127.0.0.1:{old}")
    );
    drop(master); // SIGKILL
    let stdin = py.child.stdin.as_mut().expect("stdin");
    stdin.write_all(b"killed\n").expect("write to the script");
    stdin.flush().expect("flush");
    let line = py.line(&sentinels);
    let new: u16 = line
        .strip_prefix("failover ok new=127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let ports = [old, replicas[0].port, replicas[1].port];
    assert!(
        new != old && ports.contains(&new),
        "{new} was not a replica"
    );
    assert!(py.child.wait().expect("wait").success());

    // Every Sentinel saved the master of the moment (see `settled`), with the other two servers
    // as its replicas.
    let what = "every sentinel.conf to follow the new master";
    wait_for(what, 10, &sentinels, || {
        let Some((_, now)) = agreed_master(&sentinels).filter(|(_, p)| *p != old) else {
            return false;
        };
        let known: Vec<u16> = ports.into_iter().filter(|p| *p != now).collect();
        let confs = sentinels.iter().map(SentinelProc::conf_text);
        confs.into_iter().all(|c| conf_follows(&c, now, &known))
    });
}

/// The master every Sentinel names, once it says it is a master and every other server of
/// `ports` is its connected replica. With down-after 1000 ms a second failover may follow the
/// first at once (a peer's opinion that the dead master is down is still fresh when the new one
/// is first pinged; real Sentinels do the same), so stories ask for the master of the moment.
fn settled(sentinels: &[SentinelProc], ports: &[u16]) -> Option<u16> {
    let (_, new) = agreed_master(sentinels)?;
    let follows = |p: u16| role(p) == ("slave".into(), Some(new), Some("connected".into()));
    let replicas_follow = ports.iter().all(|p| *p == new || follows(*p));
    (role(new).0 == "master" && replicas_follow).then_some(new)
}

#[test]
fn redsim_sentinels_fail_over_real_redis_and_demote_the_returning_master() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("sentinel-real-servers");
    let no_delay = ["--repl-diskless-sync-delay", "0"];
    let master = RealRedis::start_with(&dir.0, "master.rdb", &no_delay);
    let old = master.port;
    let old_arg = old.to_string();
    let follow = [&no_delay[..], &["--replicaof", "127.0.0.1", &old_arg]].concat();
    let replicas = [
        RealRedis::start_with(&dir.0, "replica1.rdb", &follow),
        RealRedis::start_with(&dir.0, "replica2.rdb", &follow),
    ];
    let sentinels = start_all(&dir.0, &[Kind::Redsim; 3], old);
    wait_discovered(&sentinels, 2);
    let mut m = Conn::connect(old);
    assert_eq!(m.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    assert_eq!(m.cmd(&["WAIT", "2", "5000"]), Reply::Int(2));

    drop(master); // SIGKILL
    let ports = [replicas[0].port, replicas[1].port];
    let what = "a promoted real replica with the other as its replica";
    wait_for(what, 30, &sentinels, || {
        settled(&sentinels, &ports).is_some()
    });
    let new = settled(&sentinels, &ports).expect("settled");
    assert!(ports.contains(&new), "{new} was not a replica");
    assert_eq!(
        Conn::connect(new).cmd(&["GET", "k"]),
        Reply::Bulk(Some(b"v".to_vec()))
    );

    // The old master comes back on its port, still thinking it is a master.
    let args = [
        "--dbfilename",
        "master.rdb",
        "--repl-diskless-sync-delay",
        "0",
    ];
    let _back = RealRedis::launch_on(&dir.0, "master-again", old, &args);
    let all = [old, ports[0], ports[1]];
    let what = "the returning master to be turned into a replica";
    wait_for(what, 30, &sentinels, || settled(&sentinels, &all).is_some());
    // Converted as it reported itself a master, or, when a second failover ran meanwhile, by
    // that failover's reconfiguration of every known replica (as Redis does).
    let logs: Vec<String> = sentinels.iter().map(SentinelProc::log).collect();
    let logged = ["+convert-to-slave", "+slave-reconf-sent"].map(|e| {
        let event = format!("{e} slave 127.0.0.1:{old} 127.0.0.1 {old} @ {MASTER} ");
        logs.iter().any(|l| l.contains(&event))
    });
    assert!(logged.contains(&true), "{}", logs.join("\n---\n"));
    assert_eq!(
        Conn::connect(old).cmd(&["GET", "k"]),
        Reply::Bulk(Some(b"v".to_vec()))
    );
}

/// Waits until every Sentinel names the same master, other than `away_from`, with the same
/// config epoch; returns its port and that epoch.
fn wait_agreement(sentinels: &[SentinelProc], away_from: u16) -> (u16, u64) {
    let mut agreed = (0, 0);
    wait_for(
        "all Sentinels to agree on a new master and config epoch",
        30,
        sentinels,
        || {
            let Some((_, port)) = agreed_master(sentinels).filter(|(_, p)| *p != away_from) else {
                return false;
            };
            let epochs: Vec<String> = sentinels
                .iter()
                .map(|s| s.master_field("config-epoch"))
                .collect();
            agreed = (port, epochs[0].parse().expect("config-epoch"));
            epochs.iter().all(|e| *e == epochs[0])
        },
    );
    agreed
}

/// Field names of `SENTINEL <sub> mymaster`, per instance.
fn field_names(s: &SentinelProc, sub: &str) -> Vec<Vec<String>> {
    let all = s.fields(sub);
    all.into_iter()
        .map(|f| f.into_iter().map(|(k, _)| k).collect())
        .collect()
}

fn info(s: &SentinelProc, section: &str) -> String {
    let args = ["INFO", section];
    String::from_utf8(s.cmd(&args).bytes()).expect("utf8")
}

/// What redis-cli shows of a redsim Sentinel matches a real one watching the same master.
fn assert_same_view(real: &SentinelProc, ours: &SentinelProc) {
    for sub in ["MASTER", "REPLICAS", "SENTINELS"] {
        let (theirs, mine) = (field_names(real, sub), field_names(ours, sub));
        assert_eq!(mine, theirs, "SENTINEL {sub} field names");
    }
    assert_eq!(info(ours, "sentinel"), info(real, "sentinel"));
    let headers = |s: &SentinelProc| -> Vec<String> {
        let text = info(s, "default");
        text.lines()
            .filter(|l| l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    assert_eq!(headers(ours), headers(real), "INFO sections");
    let bad: &[&[&str]] = &[
        &["SENTINEL", "MASTER", "nosuch"],
        &["SENTINEL", "REPLICAS", "nosuch"],
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "abc", "2"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6390", "abc"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6390", "0"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "70000", "2"],
        &["SENTINEL", "MONITOR", "m2", "not-an-ip", "6390", "2"],
        &["SENTINEL", "MONITOR", MASTER, "127.0.0.1", "6390", "2"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6390"],
        &["SENTINEL", "SET", MASTER, "No-Such-Option", "1"],
        &["SENTINEL", "SET", MASTER, "quorum", "0"],
        &["SENTINEL", "SET", MASTER, "quorum"],
        &["SENTINEL", "SET", "nosuch", "quorum", "2"],
        &[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "x",
            "0",
            "*",
        ],
        &["SENTINEL", "DEBUG", "No-Such-Timer", "1"],
        &["SENTINEL", "NO-SUCH-SUBCOMMAND"],
        &["SENTINEL", "CKQUORUM", MASTER],
        &["PUBLISH", "news", "hello"],
        &["SET", "k", "v"],
        &["REPLICAOF", "NO", "ONE"],
        &["ROLE"],
    ];
    for cmd in bad {
        assert_eq!(ours.cmd(cmd), real.cmd(cmd), "{cmd:?}");
    }
}

#[test]
fn real_and_redsim_sentinels_share_one_quorum_and_agree_after_each_failover() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("sentinel-mixed");
    let master = Server::start(&[]);
    let old = master.port;
    let replicas = [redsim_replica_of(old), redsim_replica_of(old)];
    let kinds = [Kind::Real, Kind::Real, Kind::Redsim];
    let sentinels = start_all(&dir.0, &kinds, old);
    wait_discovered(&sentinels, 2);
    let ours = &sentinels[2];
    assert_same_view(&sentinels[0], ours);

    drop(master); // SIGKILL
    let (first, epoch) = wait_agreement(&sentinels, old);
    assert!(epoch >= 1, "config-epoch {epoch}");
    assert!(replicas.iter().any(|r| r.port == first));

    // Each kind runs a failover by itself (SENTINEL FAILOVER), redsim first: the others follow
    // its hellos.
    let mut last = (first, epoch);
    for leader in [ours, &sentinels[0]] {
        let what = format!("the {:?} Sentinel to accept SENTINEL FAILOVER", leader.kind);
        wait_for(&what, 20, &sentinels, || {
            leader.cmd(&["SENTINEL", "FAILOVER", MASTER]) == Reply::Simple("OK".into())
        });
        let next = wait_agreement(&sentinels, last.0);
        assert!(next.1 > last.1, "config-epoch {} after {}", next.1, last.1);
        assert!(replicas.iter().any(|r| r.port == next.0));
        last = next;
    }
}
