//! Runs one scenario with one seed inside a fresh madsim runtime on a fresh OS thread: builds the
//! nodes, plays the fault schedule (the nemesis's materialised with the explicit faults), stops
//! the workload, heals, checks every acknowledged write, and returns a report with the trace and
//! the verdict.

use crate::check::{
    ack_times, find_lost, findings, judge, losses_of, max_lost_age_ms, totals, writes_resumed,
    ClientResult, ReplicaReads, Violation,
};
use crate::client::{run_write_read, ClientLog, ClientSpec};
use crate::env::{NodeShared, SimEnv};
use crate::faults::{FaultState, NodeEntry, Stage};
use crate::repl_check::{expected_roles, Role};
use crate::replication::Harness;
use crate::scenario::{Scenario, Workload};
use crate::trace::Trace;
use bytes::Bytes;
use madsim::runtime::Handle;
use madsim::time::{sleep, sleep_until, Instant};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Simulated time between the end of the workload and the check (lets restarts settle).
const QUIET_MS: u64 = 2_000;

#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub trace: String,
    pub acked_writes: u64,
    pub lost_writes: u64,
    pub failed_writes: u64,
    /// How long before the kill or crash that lost it the oldest lost write was acknowledged
    /// (negative: its reply arrived after).
    pub max_lost_age_ms: Option<i64>,
    /// Reads from replicas after acknowledged writes (`read_from`), and how many were stale.
    pub replica_reads: u64,
    pub stale_replica_reads: u64,
    /// Safety checks first, then liveness and convergence.
    pub violations: Vec<Violation>,
    pub nodes: usize,
    pub sim_ms: u64,
    pub wall_ms: u64,
    /// Messages the simulated network carried (one per flushed write), the traffic that bounds
    /// how fast a scenario can run (`sim/examples/net_floor.rs`).
    pub messages: u64,
    /// Last log lines of every node, for failure reports.
    pub logs: BTreeMap<String, Vec<String>>,
    /// Per server: when each acknowledged write's reply arrived, and whether it was lost.
    pub acks: BTreeMap<String, Vec<(u64, bool)>>,
    /// Each Sentinel's sentinel.conf as it was left on its disk at the end.
    pub sentinel_configs: BTreeMap<String, String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
    /// Simulated time per wall time.
    pub fn speedup(&self) -> f64 {
        self.sim_ms as f64 / self.wall_ms.max(1) as f64
    }
    /// One line: nodes, writes (and stale replica reads, if any were made), and simulated time
    /// against wall time.
    pub fn summary(&self) -> String {
        let reads = match self.replica_reads {
            0 => String::new(),
            n => format!(", {} of {n} replica reads stale", self.stale_replica_reads),
        };
        format!(
            "{} nodes, {} acked writes, {} lost, {} failed{reads}; {:.1}s simulated in {:.3}s wall ({:.0}x real time)",
            self.nodes,
            self.acked_writes,
            self.lost_writes,
            self.failed_writes,
            self.sim_ms as f64 / 1000.0,
            self.wall_ms as f64 / 1000.0,
            self.speedup()
        )
    }

    pub fn verdict(&self) -> String {
        if self.passed() {
            "PASS".into()
        } else {
            let all: Vec<String> = self.violations.iter().map(|v| v.to_string()).collect();
            format!("FAIL: {}", all.join("; "))
        }
    }

    /// The names of the checks that failed, in the order they were judged.
    pub fn failed_checks(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for v in &self.violations {
            if !out.contains(&v.check) {
                out.push(v.check);
            }
        }
        out
    }
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

/// A seed for `name`'s `n`th use, derived from the run's seed.
pub(crate) fn mix(seed: u64, name: &str, n: u32) -> u64 {
    redsim::db::key_hash(format!("{seed}/{name}/{n}").as_bytes())
}

/// A client of the run and what it logs.
struct ClientRun {
    name: String,
    server: String,
    read_from: Option<String>,
    /// The Sentinels it finds its master through, and the master's name.
    discover: Option<(Vec<SocketAddr>, String)>,
    log: Arc<Mutex<ClientLog>>,
}

/// Virtual addresses inside the simulator (nothing leaves the process).
pub fn node_ip(kind: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, kind, (i / 250) as u8, (i % 250 + 1) as u8)
}

async fn simulate(scenario: Scenario, seed: u64) -> Report {
    // From here on every fault is explicit: what the nemesis generates plays like a file would.
    let scenario = scenario.materialize(seed);
    let handle = Handle::current();
    let origin = Instant::now();
    let trace = Trace::default();
    let mut violations = Vec::new();
    let mut nodes: BTreeMap<String, NodeEntry> = BTreeMap::new();
    let sentinels = scenario.sentinel_names();
    let ips: BTreeMap<String, IpAddr> = scenario
        .server_list()
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), IpAddr::V4(node_ip(1, i))))
        .collect();
    for (i, (name, lines)) in scenario.server_list().into_iter().enumerate() {
        let is_sentinel = sentinels.contains(&name);
        let (port, initial) = match crate::config_file::initial_text(is_sentinel, &lines, &ips) {
            Ok((config, text)) => (config.port, text),
            Err(e) => {
                let text = format!("bad config: {e}");
                violations.push(Violation::new("config", &[&name], 0, text));
                continue;
            }
        };
        let shared = NodeShared::new(&name);
        let restarts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ip = node_ip(1, i);
        // Configs and REPLICAOF can name servers (`replicaof s1 6379`).
        madsim::net::NetSim::current().add_dns_record(&name, IpAddr::V4(ip));
        let (env_shared, env_trace, env_restarts) =
            (shared.clone(), trace.clone(), restarts.clone());
        let quiet = scenario.quiet_trace;
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
                let (trace, name) = (env_trace.clone(), env_shared.name.clone());
                // A node restarts from the config file it last rewrote.
                let (config, text) =
                    crate::config_file::startup(&env_shared.disk, is_sentinel, &initial);
                let node_id = *env_shared.node_id.lock().unwrap_or_else(|p| p.into_inner());
                async move {
                    if let Err(e) = redsim::shell::run_server(env, config, Some(text)).await {
                        trace.record(
                            Instant::now().duration_since(origin).as_millis() as u64,
                            &name,
                            format!("failed to start: {e}"),
                        );
                        // The process is gone: a `restart` fault may start it again.
                        if let Some(id) = node_id {
                            Handle::current().kill(id);
                        }
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
    let configs = crate::repl_check::server_configs(&scenario);
    let mut client_logs: Vec<ClientRun> = Vec::new();
    for (i, c) in scenario.client_list().into_iter().enumerate() {
        let Some(target) = nodes.get(&c.server) else {
            continue;
        };
        let (name, server, workload, interval_ms) = (c.name, c.server, c.workload, c.interval_ms);
        let addr = SocketAddr::new(IpAddr::V4(target.ip), target.port);
        let read_from = c.read_from.as_ref().and_then(|r| {
            let n = nodes.get(r)?;
            let password = configs.get(r).and_then(|c| c.requirepass.clone());
            Some((SocketAddr::new(IpAddr::V4(n.ip), n.port), password))
        });
        let discover = c.discovery.as_ref().map(|(names, master)| {
            let addrs = names
                .iter()
                .filter_map(|n| nodes.get(n))
                .map(|n| SocketAddr::new(IpAddr::V4(n.ip), n.port));
            (addrs.collect::<Vec<_>>(), master.clone())
        });
        let log = Arc::new(Mutex::new(ClientLog::default()));
        client_logs.push(ClientRun {
            name: name.clone(),
            server: server.clone(),
            read_from: c.read_from.clone(),
            discover: discover.clone(),
            log: log.clone(),
        });
        let trace = if scenario.quiet_trace {
            Trace::default()
        } else {
            trace.clone()
        };
        let cname = name.clone();
        let client_seed = mix(seed, &name, 0);
        let password = configs.get(&server).and_then(|c| c.requirepass.clone());
        let node = handle
            .create_node()
            .name(&name)
            .ip(IpAddr::V4(node_ip(2, i)))
            .init(move || {
                let spec = ClientSpec {
                    env: SimEnv::harness(&cname, origin),
                    name: cname.clone(),
                    server: addr,
                    interval_ms,
                    seed: client_seed,
                    trace: trace.clone(),
                    log: log.clone(),
                    password: password.clone(),
                    discover: discover.clone(),
                    read_from: read_from.clone(),
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
    let harness = Harness::for_scenario(&handle, node_ip(3, 1), origin, &trace, &scenario, &nodes);
    let mut faults = FaultState::default();
    let schedule = scenario.fault_schedule(seed);
    let last_fault_ms = schedule.last().map_or(0, |(ms, _)| *ms);
    let stage = Stage {
        handle: &handle,
        nodes: &nodes,
        harness: harness.as_ref(),
        trace: &trace,
        origin,
        seed,
    };
    faults.play(&stage, schedule).await;
    sleep_until(origin + Duration::from_secs_f64(scenario.duration_s)).await;
    for c in &client_logs {
        handle.kill(nodes[&c.name].handle.id());
    }
    faults.heal_network();
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
    let check_env = SimEnv::harness("check", origin);
    let mut results = Vec::new();
    for ClientRun {
        name,
        server,
        read_from,
        discover,
        log,
    } in &client_logs
    {
        let node = &nodes[server];
        let (acked, failed, write_errors, replica_reads) = {
            let log = log.lock().unwrap_or_else(|p| p.into_inner());
            let reads = read_from.as_ref().map(|r| ReplicaReads {
                server: r.clone(),
                reads: log.replica_reads,
                stale: log.replica_stale_reads,
            });
            (
                log.acked.clone(),
                log.failed_writes,
                log.write_errors.clone(),
                reads,
            )
        };
        let pairs: Vec<(Bytes, Bytes)> = acked
            .iter()
            .map(|(k, a)| (k.clone(), a.value.clone()))
            .collect();
        let mut addr = SocketAddr::new(IpAddr::V4(node.ip), node.port);
        if let Some((addrs, master)) = discover.clone() {
            // Loss is judged against the master the Sentinels name at the end.
            let env = check_env.clone();
            let found = checker
                .spawn(async move { crate::sentinel::discover_master(&env, &addrs, &master).await })
                .await
                .ok()
                .flatten();
            addr = found.unwrap_or(addr);
        }
        let password = configs.get(server).and_then(|c| c.requirepass.clone());
        let env = check_env.clone();
        let lost = checker
            .spawn(async move { find_lost(&env, addr, password, &pairs).await })
            .await
            .unwrap_or_else(|_| Err("checker task failed".into()));
        let result = ClientResult {
            name: name.clone(),
            server: server.clone(),
            acked,
            failed,
            write_errors,
            lost,
            replica_reads,
        };
        if !scenario.quiet_trace {
            let losses = losses_of(&faults.losses, server);
            trace.record(at_ms(Instant::now()), "check", result.line(losses));
        }
        results.push(result);
    }
    let checked_ms = at_ms(Instant::now());
    let repl_violations = match (&harness, &scenario.expect.replication) {
        (Some(h), Some(e)) => h.final_check(&scenario, seed, e, &results, &nodes).await,
        _ => Vec::new(),
    };
    for e in &scenario.expect.sentinel {
        let addrs: Vec<(String, SocketAddr)> = sentinels
            .iter()
            .filter_map(|n| {
                nodes
                    .get(n)
                    .map(|e| (n.clone(), SocketAddr::new(IpAddr::V4(e.ip), e.port)))
            })
            .collect();
        let all: BTreeMap<String, SocketAddr> = nodes
            .iter()
            .map(|(k, n)| (k.clone(), SocketAddr::new(IpAddr::V4(n.ip), n.port)))
            .collect();
        let (e2, env) = (e.clone(), check_env.clone());
        let found = checker
            .spawn(async move { crate::sentinel::final_check(&env, &e2, &addrs, &all).await })
            .await
            .unwrap_or_else(|_| vec![("sentinel", "sentinel check task failed".into())]);
        let names: Vec<&str> = e.servers.iter().map(String::as_str).collect();
        violations.extend(findings(found, &names, checked_ms));
    }
    let (acked_writes, lost_writes, failed_writes) = totals(&results);
    let max_lost_age_ms = results
        .iter()
        .filter_map(|r| max_lost_age_ms(r, losses_of(&faults.losses, &r.server)))
        .max();
    trace.record(
        at_ms(Instant::now()),
        "check",
        format!("total: {acked_writes} acked writes, {lost_writes} lost"),
    );
    let rendered = trace.render();
    let e = &scenario.expect;
    violations.extend(judge(e, &results, &faults.losses, &rendered, checked_ms));
    violations.extend(crate::sentinel_check::check(&rendered));
    for se in &e.sentinel {
        let names: Vec<&str> = sentinels.iter().map(String::as_str).collect();
        let found = crate::sentinel::trace_check(se, &sentinels, &rendered);
        violations.extend(findings(found, &names, checked_ms));
    }
    let repl = e.replication.clone().unwrap_or_default();
    let masters = expected_roles(&scenario, seed, &repl)
        .into_iter()
        .filter(|(_, r)| *r == Role::Master)
        .map(|(n, _)| n)
        .collect();
    violations.extend(writes_resumed(e, &results, &masters, last_fault_ms));
    violations.extend(repl_violations);
    let (replica_reads, stale_replica_reads) = results
        .iter()
        .filter_map(|r| r.replica_reads.as_ref())
        .fold((0, 0), |(n, s), r| (n + r.reads, s + r.stale));
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
        trace: rendered,
        acked_writes,
        lost_writes,
        failed_writes,
        max_lost_age_ms,
        replica_reads,
        stale_replica_reads,
        violations,
        nodes: nodes.len(),
        sim_ms: at_ms(Instant::now()),
        wall_ms: 0,
        messages: madsim::net::NetSim::current().stat().msg_count,
        logs,
        acks: ack_times(&results),
        sentinel_configs: sentinels
            .iter()
            .filter_map(|n| {
                Some((
                    n.clone(),
                    crate::config_file::saved(&nodes.get(n)?.shared.disk, true)?,
                ))
            })
            .collect(),
    }
}
