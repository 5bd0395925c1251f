//! Runs one scenario with one seed inside a fresh madsim runtime on a fresh OS thread: builds the
//! nodes, plays the fault schedule, stops the workload, heals, checks every acknowledged write,
//! and returns a report with the trace and the verdict.

use crate::client::{run_write_read, ClientLog, ClientSpec, Conn};
use crate::env::{NodeShared, SimEnv};
use crate::scenario::{FaultAction, Scenario, Workload};
use crate::trace::Trace;
use bytes::Bytes;
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use madsim::time::{sleep, sleep_until, Instant};
use redsim::config::{file::apply_text, Config};
use redsim::resp::Frame;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Simulated time between the end of the workload and the check (lets restarts settle).
const QUIET_MS: u64 = 2_000;
/// Keys per MGET when checking.
const CHECK_BATCH: usize = 100;

#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub trace: String,
    pub acked_writes: u64,
    pub lost_writes: u64,
    pub failed_writes: u64,
    pub violations: Vec<String>,
    pub nodes: usize,
    pub sim_ms: u64,
    pub wall_ms: u64,
    /// Last log lines of every node, for failure reports.
    pub logs: BTreeMap<String, Vec<String>>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
    /// Simulated time per wall time.
    pub fn speedup(&self) -> f64 {
        self.sim_ms as f64 / self.wall_ms.max(1) as f64
    }
    pub fn verdict(&self) -> String {
        if self.passed() {
            "PASS".into()
        } else {
            format!("FAIL: {}", self.violations.join("; "))
        }
    }
}

/// A node's identity in the run.
struct NodeEntry {
    shared: Arc<NodeShared>,
    handle: NodeHandle,
    ip: Ipv4Addr,
    port: u16,
    restarts: Arc<std::sync::atomic::AtomicU32>,
}

/// Runs `scenario` with `seed` on a fresh OS thread (madsim needs one per seed).
pub fn run(scenario: &Scenario, seed: u64) -> Report {
    let scenario = scenario.clone();
    std::thread::spawn(move || {
        let wall = std::time::Instant::now();
        let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        let mut report = rt.block_on(simulate(scenario, seed));
        report.wall_ms = wall.elapsed().as_millis() as u64;
        report
    })
    .join()
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        panic!(
            "simulation panicked with seed {seed}: {}",
            msg.unwrap_or_default()
        )
    })
}

fn mix(seed: u64, name: &str, n: u32) -> u64 {
    redsim::db::key_hash(format!("{seed}/{name}/{n}").as_bytes())
}

/// Virtual addresses inside the simulator (nothing leaves the process).
fn node_ip(kind: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, kind, (i / 250) as u8, (i % 250 + 1) as u8)
}

async fn simulate(scenario: Scenario, seed: u64) -> Report {
    let handle = Handle::current();
    let origin = Instant::now();
    let trace = Trace::default();
    let mut violations = Vec::new();
    let mut nodes: BTreeMap<String, NodeEntry> = BTreeMap::new();
    for (i, (name, lines)) in scenario.server_list().into_iter().enumerate() {
        let mut config = Config::default();
        if let Err(e) = apply_text(&mut config, &lines.join("\n")) {
            violations.push(format!("server {name}: bad config: {}", e.0.trim()));
            continue;
        }
        let shared = NodeShared::new(&name);
        let restarts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ip = node_ip(1, i);
        let (env_shared, env_trace, env_restarts) =
            (shared.clone(), trace.clone(), restarts.clone());
        let quiet = scenario.quiet_trace;
        let port = config.port;
        let node = handle
            .create_node()
            .name(&name)
            .ip(IpAddr::V4(ip))
            .init(move || {
                let n = env_restarts.load(Ordering::Relaxed);
                let node_trace = if quiet {
                    Trace::default()
                } else {
                    env_trace.clone()
                };
                let env = SimEnv::new(
                    env_shared.clone(),
                    origin,
                    mix(seed, &env_shared.name, n),
                    1000 + i as u32 * 10 + n,
                    node_trace,
                );
                let (config, trace, name) =
                    (config.clone(), env_trace.clone(), env_shared.name.clone());
                async move {
                    if let Err(e) = redsim::shell::run_server(env, config, None).await {
                        trace.record(
                            Instant::now().duration_since(origin).as_millis() as u64,
                            &name,
                            format!("failed to start: {e}"),
                        );
                    }
                }
            })
            .build();
        *shared.node_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(node.id());
        nodes.insert(
            name,
            NodeEntry {
                shared,
                handle: node,
                ip,
                port,
                restarts,
            },
        );
    }
    let mut client_logs: Vec<(String, String, Arc<Mutex<ClientLog>>)> = Vec::new();
    for (i, (name, server, workload, interval_ms)) in scenario.client_list().into_iter().enumerate()
    {
        let Some(target) = nodes.get(&server) else {
            continue;
        };
        let addr = SocketAddr::new(IpAddr::V4(target.ip), target.port);
        let log = Arc::new(Mutex::new(ClientLog::default()));
        client_logs.push((name.clone(), server.clone(), log.clone()));
        let trace = if scenario.quiet_trace {
            Trace::default()
        } else {
            trace.clone()
        };
        let cname = name.clone();
        let client_seed = mix(seed, &name, 0);
        let node = handle
            .create_node()
            .name(&name)
            .ip(IpAddr::V4(node_ip(2, i)))
            .init(move || {
                let spec = ClientSpec {
                    name: cname.clone(),
                    server: addr,
                    interval_ms,
                    seed: client_seed,
                    origin,
                    trace: trace.clone(),
                    log: log.clone(),
                };
                async move {
                    match workload {
                        Workload::WriteRead => run_write_read(spec).await,
                    }
                }
            })
            .build();
        let shared = NodeShared::new(&name);
        nodes.insert(
            name,
            NodeEntry {
                shared,
                handle: node,
                ip: node_ip(2, i),
                port: 0,
                restarts: Default::default(),
            },
        );
    }
    let at_ms = |t: Instant| t.duration_since(origin).as_millis() as u64;
    let mut faults = scenario.faults.clone();
    faults.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let mut clogged: Vec<(NodeId, NodeId)> = Vec::new();
    for f in &faults {
        sleep_until(origin + Duration::from_secs_f64(f.at_s)).await;
        let now = at_ms(Instant::now());
        let targets: Vec<&NodeEntry> = f.nodes.iter().filter_map(|n| nodes.get(n)).collect();
        let names = f.nodes.join(",");
        let detail = match f.action {
            FaultAction::Kill => {
                targets.iter().for_each(|n| handle.kill(n.handle.id()));
                String::new()
            }
            FaultAction::Crash => {
                let lost: u64 = targets
                    .iter()
                    .map(|n| {
                        handle.kill(n.handle.id());
                        n.shared.disk.crash()
                    })
                    .sum();
                format!(" ({lost} unsynced bytes lost)")
            }
            FaultAction::Restart => {
                for n in &targets {
                    n.restarts.fetch_add(1, Ordering::Relaxed);
                    handle.restart(n.handle.id());
                }
                String::new()
            }
            FaultAction::Partition => {
                let net = NetSim::current();
                let inside: Vec<NodeId> = targets.iter().map(|n| n.handle.id()).collect();
                for other in nodes
                    .values()
                    .map(|n| n.handle.id())
                    .filter(|id| !inside.contains(id))
                {
                    for &a in &inside {
                        net.clog_link(a, other);
                        net.clog_link(other, a);
                        clogged.push((a, other));
                    }
                }
                String::new()
            }
            FaultAction::Heal => {
                heal(&mut clogged);
                String::new()
            }
            FaultAction::Pause => {
                targets.iter().for_each(|n| handle.pause(n.handle.id()));
                String::new()
            }
            FaultAction::Resume => {
                targets.iter().for_each(|n| handle.resume(n.handle.id()));
                String::new()
            }
            FaultAction::ClockJump => {
                for n in &targets {
                    n.shared
                        .wall_offset_ms
                        .fetch_add((f.jump_s * 1000.0) as i64, Ordering::Relaxed);
                }
                format!(" by {}s", f.jump_s)
            }
        };
        trace.record(
            now,
            "harness",
            format!("{} {names}{detail}", action_word(f.action))
                .trim_end()
                .to_string(),
        );
    }
    sleep_until(origin + Duration::from_secs_f64(scenario.duration_s)).await;
    for (name, ..) in &client_logs {
        handle.kill(nodes[name].handle.id());
    }
    heal(&mut clogged);
    trace.record(
        at_ms(Instant::now()),
        "harness",
        "workload stopped; faults healed",
    );
    sleep(Duration::from_millis(QUIET_MS)).await;

    // The supervisor has no network of its own: the check runs on a node of its own.
    let checker = handle
        .create_node()
        .name("check")
        .ip(IpAddr::V4(node_ip(3, 0)))
        .build();
    let mut results = Vec::new();
    for (name, server, log) in &client_logs {
        let node = &nodes[server];
        let (acked, failed): (Vec<(Bytes, Bytes)>, u64) = {
            let log = log.lock().unwrap_or_else(|p| p.into_inner());
            (
                log.acked
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                log.failed_writes,
            )
        };
        let addr = SocketAddr::new(IpAddr::V4(node.ip), node.port);
        let n_acked = acked.len() as u64;
        let lost = checker
            .spawn(async move { find_lost(addr, &acked).await })
            .await
            .unwrap_or_else(|_| Err("checker task failed".into()));
        results.push((name, server, n_acked, failed, lost));
    }
    let (mut acked_total, mut lost_total, mut failed_total) = (0, 0, 0);
    for (name, server, acked, failed, lost) in results {
        let line = match lost {
            Ok(lost) => {
                lost_total += lost.len() as u64;
                format!(
                    "{acked} acked writes, {} lost{}, {failed} failed",
                    lost.len(),
                    key_ranges(&lost)
                )
            }
            Err(e) => {
                lost_total += acked;
                format!("{acked} acked writes, all lost: server unreachable ({e})")
            }
        };
        acked_total += acked;
        failed_total += failed;
        if !scenario.quiet_trace {
            trace.record(
                at_ms(Instant::now()),
                "check",
                format!("{name}@{server}: {line}"),
            );
        }
    }
    trace.record(
        at_ms(Instant::now()),
        "check",
        format!("total: {acked_total} acked writes, {lost_total} lost"),
    );
    let e = &scenario.expect;
    if let Some(min) = e.lost_writes_min.filter(|&m| lost_total < m) {
        violations.push(format!(
            "expected at least {min} lost writes, got {lost_total}"
        ));
    }
    if let Some(max) = e.lost_writes_max.filter(|&m| lost_total > m) {
        violations.push(format!(
            "expected at most {max} lost writes, got {lost_total}"
        ));
    }
    if let Some(min) = e.acked_writes_min.filter(|&m| acked_total < m) {
        violations.push(format!(
            "expected at least {min} acked writes, got {acked_total}"
        ));
    }
    let logs = nodes
        .iter()
        .map(|(n, e)| {
            (
                n.clone(),
                e.shared
                    .log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned()
                    .collect(),
            )
        })
        .collect();
    Report {
        scenario: scenario.name.clone(),
        seed,
        trace: trace.render(),
        acked_writes: acked_total,
        lost_writes: lost_total,
        failed_writes: failed_total,
        violations,
        nodes: nodes.len(),
        sim_ms: at_ms(Instant::now()),
        wall_ms: 0,
        logs,
    }
}

fn action_word(a: FaultAction) -> &'static str {
    match a {
        FaultAction::Kill => "kill",
        FaultAction::Crash => "crash",
        FaultAction::Restart => "restart",
        FaultAction::Partition => "partition",
        FaultAction::Heal => "heal",
        FaultAction::Pause => "pause",
        FaultAction::Resume => "resume",
        FaultAction::ClockJump => "clock-jump",
    }
}

fn heal(clogged: &mut Vec<(NodeId, NodeId)>) {
    let net = NetSim::current();
    for (a, b) in clogged.drain(..) {
        net.unclog_link(a, b);
        net.unclog_link(b, a);
    }
}

/// Reads back acknowledged writes; returns the keys that are missing or changed.
async fn find_lost(addr: SocketAddr, acked: &[(Bytes, Bytes)]) -> Result<Vec<Bytes>, String> {
    let mut conn = Conn::open(addr).await?;
    let mut lost = Vec::new();
    for batch in acked.chunks(CHECK_BATCH) {
        let mut args: Vec<&[u8]> = vec![b"MGET"];
        args.extend(batch.iter().map(|(k, _)| &k[..]));
        let Frame::Array(values) = conn.call(&args).await? else {
            return Err("MGET did not return an array".into());
        };
        for ((k, v), got) in batch.iter().zip(values) {
            if got != Frame::Bulk(v.clone()) {
                lost.push(k.clone());
            }
        }
    }
    Ok(lost)
}

/// Names lost keys compactly: ` (c1:1..c1:78, c1:90)` for keys `<client>:<n>`.
fn key_ranges(keys: &[Bytes]) -> String {
    let mut nums: Vec<(String, u64)> = keys
        .iter()
        .filter_map(|k| {
            let k = String::from_utf8_lossy(k);
            let (c, n) = k.rsplit_once(':')?;
            Some((c.to_string(), n.parse().ok()?))
        })
        .collect();
    nums.sort();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        let mut j = i;
        while j + 1 < nums.len() && nums[j + 1].0 == nums[i].0 && nums[j + 1].1 == nums[j].1 + 1 {
            j += 1;
        }
        let (c, a) = &nums[i];
        parts.push(if i == j {
            format!("{c}:{a}")
        } else {
            format!("{c}:{a}..{c}:{}", nums[j].1)
        });
        i = j + 1;
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
