//! The harness's own node on the simulated network, for replication scenarios: it sends
//! REPLICAOF to servers (`replicaof` faults) over short-lived connections, reads every server's
//! INFO every 500 ms (the offsets check), and at the end waits for replicas to catch up with
//! their masters, then compares roles and datasets (`crate::repl_check` judges).

use crate::check::{ClientResult, Violation};
use crate::client::Conn;
use crate::env::SimEnv;
use crate::faults::NodeEntry;
use crate::repl_check::{
    dataset_diff, expected_roles, is_no_one, link_down_spans, offsets_backwards, replica_acks,
    role_mismatch, server_configs, single_master, ReplExpect, Role, RoleWatch, Sample,
};
use crate::scenario::{Fault, Scenario};
use crate::trace::Trace;
use bytes::Bytes;
use madsim::runtime::{Handle, NodeHandle};
use madsim::time::{sleep, Instant};
use redsim::resp::Frame;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Time between two INFO readings of one server.
const POLL_MS: u64 = 500;
/// Readings kept per server (about 80 minutes of simulated time).
const MAX_SAMPLES: usize = 10_000;
/// Keys per MGET when reading a dataset.
const DUMP_BATCH: usize = 500;

/// Where and how to reach a server.
#[derive(Clone)]
struct Target {
    env: SimEnv,
    addr: SocketAddr,
    password: Option<Bytes>,
}

impl Target {
    async fn call(&self, args: &[&[u8]]) -> Result<Frame, String> {
        Conn::open_as(&self.env, self.addr, self.password.as_deref())
            .await?
            .call(args)
            .await
    }
}

type Samples = Arc<Mutex<BTreeMap<String, Vec<Sample>>>>;

pub struct Harness {
    node: NodeHandle,
    origin: Instant,
    trace: Trace,
    servers: Arc<BTreeMap<String, Target>>,
    targets: BTreeMap<String, Target>,
    samples: Samples,
}

impl Harness {
    /// A harness node when the scenario sends REPLICAOF or checks replication (other scenarios
    /// run without one, so their traces stay as they were).
    pub fn for_scenario(
        handle: &Handle,
        ip: Ipv4Addr,
        origin: Instant,
        trace: &Trace,
        scenario: &Scenario,
        nodes: &BTreeMap<String, NodeEntry>,
    ) -> Option<Harness> {
        let sends = scenario.faults.iter().any(|f| {
            use crate::scenario::FaultAction::{Command, Replicaof};
            matches!(f.action, Replicaof | Command)
        });
        if !sends && scenario.expect.replication.is_none() {
            return None;
        }
        let configs = server_configs(scenario);
        let env = SimEnv::harness("harness", origin);
        // Commands may go to any server, Sentinels included; replication checks data servers.
        let targets: BTreeMap<String, Target> = scenario
            .server_list()
            .into_iter()
            .filter_map(|(name, _)| {
                let n = nodes.get(&name)?;
                let target = Target {
                    env: env.clone(),
                    addr: SocketAddr::new(IpAddr::V4(n.ip), n.port),
                    password: configs.get(&name).and_then(|c| c.requirepass.clone()),
                };
                Some((name, target))
            })
            .collect();
        let servers = targets
            .iter()
            .filter(|(name, _)| configs.contains_key(*name))
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        let harness = Harness {
            node: handle
                .create_node()
                .name("harness")
                .ip(IpAddr::V4(ip))
                .build(),
            origin,
            trace: trace.clone(),
            servers: Arc::new(servers),
            targets,
            samples: Default::default(),
        };
        if scenario.expect.replication.is_some() {
            harness.start_polling();
        }
        Some(harness)
    }

    /// Sends REPLICAOF to each of the fault's nodes; returns the replies for the trace line.
    pub async fn replicaof(&self, f: &Fault) -> String {
        let target = f.target.clone().unwrap_or_default();
        let args: Vec<Bytes> = match self.servers.get(&target) {
            _ if is_no_one(&target) => vec!["REPLICAOF".into(), "NO".into(), "ONE".into()],
            Some(t) => vec![
                "REPLICAOF".into(),
                target.clone().into(),
                t.addr.port().to_string().into(),
            ],
            None => return format!(" (unknown server {target})"),
        };
        self.send(&f.nodes, args).await
    }

    /// Sends a `command` fault's arguments to each of its nodes.
    pub async fn command(&self, f: &Fault) -> String {
        let args = f.args.iter().map(|a| Bytes::from(a.clone())).collect();
        self.send(&f.nodes, args).await
    }

    /// Sends `args` to each node; returns the replies for the trace line.
    async fn send(&self, nodes: &[String], args: Vec<Bytes>) -> String {
        let mut replies = Vec::new();
        for name in nodes {
            let Some(t) = self.targets.get(name).cloned() else {
                continue;
            };
            let args = args.clone();
            let reply = self
                .node
                .spawn(async move {
                    let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                    t.call(&args).await
                })
                .await
                .unwrap_or_else(|_| Err("harness task failed".into()));
            let text = match reply {
                Ok(Frame::Simple(s)) => s,
                Ok(Frame::Error(e)) => format!("-{e}"),
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("no reply: {e}"),
            };
            replies.push(if nodes.len() == 1 {
                text
            } else {
                format!("{name}: {text}")
            });
        }
        format!(" ({})", replies.join(", "))
    }

    /// One polling task per server, so a paused or dead server does not slow the others.
    fn start_polling(&self) {
        for (name, target) in self.servers.iter() {
            let (name, target) = (name.clone(), target.clone());
            let (samples, origin) = (self.samples.clone(), self.origin);
            drop(self.node.spawn(async move {
                loop {
                    sleep(Duration::from_millis(POLL_MS)).await;
                    if let Some(s) = read_sample(&target, origin).await {
                        record(&samples, &name, s);
                    }
                }
            }));
        }
    }

    /// The end-of-run replication check: waits (up to `settle_s`) until every server shows its
    /// expected role and every replica has its master's offset, then compares datasets, and
    /// judges offsets and replica acknowledgements. Records trace lines; returns violations,
    /// safety first (writes acknowledged by replicas, offsets, data kept while cut off), then
    /// roles, a single master and convergence.
    pub async fn final_check(
        &self,
        scenario: &Scenario,
        seed: u64,
        e: &ReplExpect,
        results: &[ClientResult],
        nodes: &BTreeMap<String, NodeEntry>,
    ) -> Vec<Violation> {
        let expected = expected_roles(scenario, seed, e);
        let (servers, samples, origin) = (self.servers.clone(), self.samples.clone(), self.origin);
        let settle_ms = e.settle_ms();
        let (settled, lines) = self
            .node
            .spawn(async move {
                settle_and_compare(&servers, &samples, origin, &expected, settle_ms).await
            })
            .await
            .unwrap_or_else(|_| {
                let failed = Violation::new("replication", &[], 0, "the check task failed");
                (vec![failed], Vec::new())
            });
        let at = Instant::now().duration_since(self.origin).as_millis() as u64;
        for line in lines {
            self.trace.record(at, "check", line);
        }
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let roles: BTreeMap<String, RoleWatch> = nodes
            .iter()
            .map(|(n, e)| {
                let watch = e.shared.roles.lock().unwrap_or_else(|p| p.into_inner());
                (n.clone(), watch.clone())
            })
            .collect();
        let mut violations = replica_acks(results, &roles);
        violations.extend(offsets_backwards(&samples));
        let (spans, changed) = link_down_spans(&samples);
        for line in spans {
            self.trace.record(at, "check", line);
        }
        violations.extend(changed);
        violations.extend(settled);
        let count: usize = samples.values().map(Vec::len).sum();
        self.trace.record(
            at,
            "check",
            format!(
                "replication: {count} INFO readings, {} violations",
                violations.len()
            ),
        );
        violations
    }
}

fn record(samples: &Samples, name: &str, s: Sample) {
    let mut all = samples.lock().unwrap_or_else(|p| p.into_inner());
    let list = all.entry(name.to_string()).or_default();
    if list.len() < MAX_SAMPLES {
        list.push(s);
    }
}

async fn read_sample(t: &Target, origin: Instant) -> Option<Sample> {
    let reply = t
        .call(&[b"INFO", b"server", b"replication", b"keyspace"])
        .await
        .ok()?;
    let at_ms = Instant::now().duration_since(origin).as_millis() as u64;
    match reply {
        Frame::Bulk(text) => Sample::parse(at_ms, &String::from_utf8_lossy(&text)),
        _ => None,
    }
}

/// Reads every server once (the readings also feed the offsets check).
async fn read_all(
    servers: &BTreeMap<String, Target>,
    samples: &Samples,
    origin: Instant,
) -> BTreeMap<String, Sample> {
    let mut out = BTreeMap::new();
    for (name, t) in servers {
        if let Some(s) = read_sample(t, origin).await {
            record(samples, name, s.clone());
            out.insert(name.clone(), s);
        }
    }
    out
}

/// True if every server shows its role and every replica with its link up has its master's offset.
fn settled(expected: &BTreeMap<String, Role>, now: &BTreeMap<String, Sample>) -> bool {
    expected.iter().all(|(name, role)| {
        let Some(s) = now.get(name) else {
            return false;
        };
        match role {
            Role::Replica { of, up: true } => {
                s.shows(role) && now.get(of).is_some_and(|m| m.offset == s.offset)
            }
            _ => s.shows(role),
        }
    })
}

async fn settle_and_compare(
    servers: &BTreeMap<String, Target>,
    samples: &Samples,
    origin: Instant,
    expected: &BTreeMap<String, Role>,
    settle_ms: u64,
) -> (Vec<Violation>, Vec<String>) {
    let start = Instant::now();
    let mut now = read_all(servers, samples, origin).await;
    while !settled(expected, &now) && start.elapsed() < Duration::from_millis(settle_ms) {
        sleep(Duration::from_millis(POLL_MS)).await;
        now = read_all(servers, samples, origin).await;
    }
    let at_ms = Instant::now().duration_since(origin).as_millis() as u64;
    let mut violations: Vec<Violation> = single_master(expected, &now, at_ms).into_iter().collect();
    let mut lines = vec![format!(
        "replication settled in {:.1}s",
        start.elapsed().as_secs_f64()
    )];
    let mut dumps: BTreeMap<String, Result<BTreeMap<Bytes, Bytes>, String>> = BTreeMap::new();
    for (name, role) in expected {
        if let Some(v) = role_mismatch(name, role, now.get(name), at_ms) {
            violations.push(v);
            continue;
        }
        let Role::Replica { of, up: true } = role else {
            continue;
        };
        for n in [name, of] {
            if !dumps.contains_key(n) {
                let d = match servers.get(n) {
                    Some(t) => dump(t).await,
                    None => Err("not a server".into()),
                };
                dumps.insert(n.clone(), d);
            }
        }
        let text = match (&dumps[name], &dumps[of]) {
            (Ok(r), Ok(m)) => match dataset_diff(r, m) {
                None => {
                    lines.push(format!("{name} = {of}: {} keys", r.len()));
                    continue;
                }
                Some(d) => format!("{name} differs from its master {of}: {d}"),
            },
            (Err(e), _) | (_, Err(e)) => format!("{name} vs {of}: could not read a dataset ({e})"),
        };
        violations.push(Violation::new(
            "replication.convergence",
            &[name, of],
            at_ms,
            text,
        ));
    }
    (violations, lines)
}

/// Every string key of db 0 with its value.
async fn dump(t: &Target) -> Result<BTreeMap<Bytes, Bytes>, String> {
    let mut conn = Conn::open_as(&t.env, t.addr, t.password.as_deref()).await?;
    let Frame::Array(keys) = conn.call(&[b"KEYS", b"*"]).await? else {
        return Err("KEYS did not return an array".into());
    };
    let keys: Vec<Bytes> = keys
        .into_iter()
        .filter_map(|k| match k {
            Frame::Bulk(k) => Some(k),
            _ => None,
        })
        .collect();
    let mut out = BTreeMap::new();
    for batch in keys.chunks(DUMP_BATCH) {
        let mut args: Vec<&[u8]> = vec![b"MGET"];
        args.extend(batch.iter().map(|k| &k[..]));
        let Frame::Array(values) = conn.call(&args).await? else {
            return Err("MGET did not return an array".into());
        };
        for (k, v) in batch.iter().zip(values) {
            if let Frame::Bulk(v) = v {
                out.insert(k.clone(), v);
            }
        }
    }
    Ok(out)
}
