//! One live run of a scenario: every server and Sentinel a real process on its own loopback
//! address (`crate::live_proc`), the workload clients on tokio from their own addresses, the
//! fault schedule played with signals, nftables and tc (`crate::live_net`), the nodes observed
//! into the trace (`crate::live_watch`), and at the end the simulator's checks over what was
//! seen (all but `crate::sentinel_check`, whose `~` lines live nodes do not write). Dropping a `Run` kills its processes, removes its rules and deletes its directory.

use crate::check::{find_lost, findings, judge, totals, writes_resumed, ClientResult, Loss};
use crate::client::{run_write_read, sleep_ms, ClientLog, ClientSpec, Conn};
use crate::live_net::Net;
use crate::live_proc::{Proc, Slot};
use crate::live_watch::Observer;
use crate::run::{mix, Report};
use crate::scenario::{Fault, FaultAction, Scenario, Workload};
use crate::trace::Trace;
use bytes::Bytes;
use redsim::env::Env;
use redsim::resp::Frame;
use redsim::tokio_env::TokioEnv;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Time between the end of the workload and the check (as in the simulator).
const QUIET_MS: u64 = 2_000;
/// Log lines per node kept for the report.
const LOG_LINES: usize = 200;

/// The programs to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Binaries {
    pub server: PathBuf,
    pub sentinel: PathBuf,
}

struct Node {
    ip: Ipv4Addr,
    port: u16,
    sentinel: bool,
    dir: PathBuf,
    proc: Proc,
}

struct Client {
    name: String,
    server: String,
    ip: Ipv4Addr,
    discover: Option<(Vec<SocketAddr>, String)>,
    password: Option<Bytes>,
    log: Arc<Mutex<ClientLog>>,
    task: JoinHandle<()>,
}

/// A run in progress. Fields drop in order: tasks, processes, rules, then the slot's directory.
pub struct Run {
    tasks: Vec<JoinHandle<()>>,
    clients: Vec<Client>,
    nodes: BTreeMap<String, Node>,
    net: Net,
    env: TokioEnv,
    trace: Trace,
    losses: BTreeMap<String, Vec<Loss>>,
    slot: Slot,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
        self.clients.iter().for_each(|c| c.task.abort());
    }
}

/// `line` with server names that a replica or a Sentinel must reach replaced by addresses.
fn with_addresses(line: &str, ips: &BTreeMap<String, Ipv4Addr>) -> String {
    let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
    let host = match words.first().map(String::as_str) {
        Some("replicaof" | "slaveof") => 1,
        Some("sentinel") if words.get(1).map(String::as_str) == Some("monitor") => 3,
        _ => return line.to_string(),
    };
    if let Some(ip) = words.get(host).and_then(|w| ips.get(w)) {
        words[host] = ip.to_string();
    }
    words.join(" ")
}

impl Run {
    /// Writes every node's directory and config file and starts the processes.
    pub fn start(scenario: &Scenario, bins: &Binaries) -> Result<Run, String> {
        let slot = Slot::claim()?;
        let env = TokioEnv::new("").map_err(|e| e.to_string())?;
        let sentinels = scenario.sentinel_names();
        let servers = scenario.server_list();
        let ips: BTreeMap<String, Ipv4Addr> = servers
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), slot.ip(1, i)))
            .collect();
        let mut nodes = BTreeMap::new();
        for (name, lines) in servers {
            let sentinel = sentinels.contains(&name);
            let lines: Vec<String> = lines.iter().map(|l| with_addresses(l, &ips)).collect();
            let (config, _) = crate::config_file::initial_text(sentinel, &lines, &BTreeMap::new())
                .map_err(|e| format!("{name}: bad config: {e}"))?;
            let (ip, dir) = (ips[&name], slot.dir.join(&name));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut text = lines.join("\n");
            let log = dir.join("node.log");
            text.push_str(&format!(
                "\nbind {ip}\nbind-source-addr {ip}\ndir {}\nlogfile {}\n",
                dir.display(),
                log.display()
            ));
            let file = dir.join(if sentinel {
                "sentinel.conf"
            } else {
                "redis.conf"
            });
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
            let bin = if sentinel {
                &bins.sentinel
            } else {
                &bins.server
            };
            let argv = vec![
                bin.to_string_lossy().into_owned(),
                file.to_string_lossy().into_owned(),
            ];
            let mut proc = Proc::new(argv, dir.clone());
            proc.start(&slot)?;
            let node = Node {
                ip,
                port: config.port,
                sentinel,
                dir,
                proc,
            };
            nodes.insert(name, node);
        }
        Ok(Run {
            tasks: Vec::new(),
            clients: Vec::new(),
            net: Net::new(slot.k),
            env,
            trace: Trace::default(),
            losses: BTreeMap::new(),
            nodes,
            slot,
        })
    }

    fn addr(&self, name: &str) -> Option<SocketAddr> {
        let n = self.nodes.get(name)?;
        Some(SocketAddr::new(IpAddr::V4(n.ip), n.port))
    }

    /// Starts the observers and the workload clients.
    pub fn start_workload(&mut self, scenario: &Scenario, seed: u64) {
        let observer = Observer {
            env: self.env.clone(),
            trace: self.trace.clone(),
            slot: self.slot.k,
        };
        for (name, n) in &self.nodes {
            let addr = SocketAddr::new(IpAddr::V4(n.ip), n.port);
            let o = observer.clone();
            self.tasks.push(tokio::spawn(match n.sentinel {
                true => Box::pin(o.sentinel(name.clone(), addr)) as redsim::env::BoxFuture<()>,
                false => Box::pin(o.server(name.clone(), addr)),
            }));
        }
        let configs = crate::repl_check::server_configs(scenario);
        let password_of = |s: &String| configs.get(s).and_then(|c| c.requirepass.clone());
        for (i, c) in scenario.client_list().into_iter().enumerate() {
            let Some(server) = self.addr(&c.server) else {
                continue;
            };
            let discover = c.discovery.as_ref().map(|(names, master)| {
                let addrs = names.iter().filter_map(|n| self.addr(n)).collect();
                (addrs, master.clone())
            });
            let read_from = c.read_from.as_ref().and_then(|r| {
                let addr = self.addr(r)?;
                Some((addr, password_of(r)))
            });
            let ip = self.slot.ip(2, i);
            let log = Arc::new(Mutex::new(ClientLog::default()));
            let spec = ClientSpec {
                env: self.env.clone().with_source_ip(IpAddr::V4(ip)),
                name: c.name.clone(),
                server,
                interval_ms: c.interval_ms,
                seed: mix(seed, &c.name, 0),
                trace: self.trace.clone(),
                log: log.clone(),
                password: password_of(&c.server),
                discover: discover.clone(),
                read_from,
            };
            let task = tokio::spawn(async move {
                match c.workload {
                    Workload::WriteRead => run_write_read(spec).await,
                }
            });
            self.clients.push(Client {
                name: c.name.clone(),
                server: c.server.clone(),
                ip,
                discover,
                password: password_of(&c.server),
                log,
                task,
            });
        }
    }

    /// The slot the run claimed.
    pub fn slot(&self) -> u8 {
        self.slot.k
    }

    pub fn now_ms(&self) -> u64 {
        self.env.mono_ms()
    }

    pub async fn sleep_until(&self, ms: u64) {
        self.env.sleep_until(ms).await
    }

    /// Plays one fault now and records its trace line (the simulator's words).
    pub async fn apply(&mut self, f: &Fault) {
        let now = self.now_ms();
        let detail = match self.strike(f).await {
            Ok(d) => d,
            Err(e) => format!(" (failed: {e})"),
        };
        self.trace.record(now, "harness", f.trace_line(&detail));
    }

    async fn strike(&mut self, f: &Fault) -> Result<String, String> {
        let now = self.now_ms();
        let signal = |run: &mut Run, sig: i32| {
            for name in &f.nodes {
                if let Some(n) = run.nodes.get_mut(name) {
                    n.proc.signal(sig);
                }
                // A killed client stops; clients cannot be paused (they are tasks).
                let client = run.clients.iter().find(|c| c.name == *name);
                if let Some(c) = client.filter(|_| sig == libc::SIGKILL) {
                    c.task.abort();
                }
            }
        };
        match f.action {
            FaultAction::Kill | FaultAction::Crash => {
                signal(self, libc::SIGKILL);
                let how = f.action.word();
                for name in f.nodes.iter().filter(|n| self.nodes.contains_key(*n)) {
                    let loss = Loss {
                        how,
                        at_ms: now,
                        saved_from_ms: None,
                    };
                    self.losses.entry(name.clone()).or_default().push(loss);
                }
                Ok(match f.action {
                    FaultAction::Crash => " (SIGKILL: unsynced page-cache data survives)".into(),
                    _ => String::new(),
                })
            }
            FaultAction::Pause | FaultAction::Resume => {
                let paused = f.action == FaultAction::Pause;
                signal(self, if paused { libc::SIGSTOP } else { libc::SIGCONT });
                Ok(String::new())
            }
            FaultAction::Restart => {
                for name in &f.nodes {
                    if let Some(n) = self.nodes.get_mut(name) {
                        if !n.proc.running() {
                            n.proc.start(&self.slot)?;
                        }
                    }
                }
                Ok(String::new())
            }
            FaultAction::Partition => {
                let ip_of = |name: &String| {
                    let node = self.nodes.get(name).map(|n| n.ip);
                    node.or_else(|| self.clients.iter().find(|c| c.name == *name).map(|c| c.ip))
                };
                let inside: Vec<Ipv4Addr> = f.nodes.iter().filter_map(ip_of).collect();
                let outside: Vec<Ipv4Addr> = match f.from.is_empty() {
                    false => f.from.iter().filter_map(ip_of).collect(),
                    true => {
                        let all = self.nodes.values().map(|n| n.ip);
                        let all = all.chain(self.clients.iter().map(|c| c.ip));
                        all.filter(|ip| !inside.contains(ip)).collect()
                    }
                };
                self.net.partition(&inside, &outside, f.one_way)?;
                Ok(f.partition_detail())
            }
            FaultAction::Heal => self.net.heal().map(|()| String::new()),
            FaultAction::Latency => {
                self.net.latency(f.latency_ms)?;
                Ok(f.latency_detail())
            }
            FaultAction::Replicaof | FaultAction::Command => self.send(f).await,
            other => Err(format!("{} is not supported live", other.word())),
        }
    }

    /// Sends a `replicaof` or `command` fault's command to each of its nodes; the replies.
    async fn send(&self, f: &Fault) -> Result<String, String> {
        let args: Vec<String> = match (f.action, f.target.as_deref()) {
            (FaultAction::Command, _) => f.args.clone(),
            (_, Some(t)) if crate::repl_check::is_no_one(t) => {
                ["REPLICAOF", "NO", "ONE"].map(String::from).to_vec()
            }
            (_, Some(t)) => {
                let ip = self.nodes.get(t).ok_or(format!("unknown server {t}"))?.ip;
                let port = self.nodes[t].port;
                vec!["REPLICAOF".into(), ip.to_string(), port.to_string()]
            }
            (_, None) => return Err("no target".into()),
        };
        let head = match f.action {
            FaultAction::Command => String::new(),
            _ => format!(" {}", f.target.as_deref().unwrap_or_default()),
        };
        let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut replies = Vec::new();
        for name in &f.nodes {
            let Some(addr) = self.addr(name) else {
                continue;
            };
            let reply = match Conn::open(&self.env, addr).await {
                Ok(mut c) => c.call(&words).await,
                Err(e) => Err(e),
            };
            let text = match reply {
                Ok(Frame::Simple(s)) => s,
                Ok(Frame::Error(e)) => format!("-{e}"),
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("no reply: {e}"),
            };
            replies.push(match f.nodes.len() {
                1 => text,
                _ => format!("{name}: {text}"),
            });
        }
        let command = match f.action {
            FaultAction::Command => format!(" {}", f.args.join(" ")),
            _ => head,
        };
        Ok(format!("{command} ({})", replies.join(", ")))
    }

    /// Stops the workload, heals every fault, waits, and judges the run like the simulator.
    pub async fn finish(mut self, scenario: &Scenario, seed: u64, last_fault_ms: u64) -> Report {
        self.clients.iter().for_each(|c| c.task.abort());
        let healed = [self.net.heal(), self.net.latency(None)];
        for n in self.nodes.values_mut() {
            n.proc.signal(libc::SIGCONT);
        }
        let note = match healed.iter().find_map(|r| r.as_ref().err()) {
            Some(e) => format!(" (heal failed: {e})"),
            None => String::new(),
        };
        let now = self.now_ms();
        self.trace.record(
            now,
            "harness",
            format!("workload stopped; faults healed{note}"),
        );
        sleep_ms(&self.env, QUIET_MS).await;
        let mut results = Vec::new();
        for c in &self.clients {
            let (acked, failed, write_errors) = {
                let log = c.log.lock().unwrap_or_else(|p| p.into_inner());
                (
                    log.acked.clone(),
                    log.failed_writes,
                    log.write_errors.clone(),
                )
            };
            let pairs: Vec<(Bytes, Bytes)> = acked
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect();
            let mut addr = self.addr(&c.server);
            if let Some((sentinels, master)) = &c.discover {
                let found = crate::sentinel::discover_master(&self.env, sentinels, master).await;
                addr = found.or(addr);
            }
            let lost = match addr {
                Some(a) => find_lost(&self.env, a, c.password.clone(), &pairs).await,
                None => Err("no server".into()),
            };
            let result = ClientResult {
                name: c.name.clone(),
                server: c.server.clone(),
                acked,
                failed,
                write_errors,
                lost,
                replica_reads: None,
            };
            let losses = crate::check::losses_of(&self.losses, &c.server);
            self.trace
                .record(self.now_ms(), "check", result.line(losses));
            results.push(result);
        }
        let checked_ms = self.now_ms();
        let mut violations = Vec::new();
        let sentinels: Vec<String> = scenario.sentinel_names();
        let all: BTreeMap<String, SocketAddr> = self
            .nodes
            .keys()
            .filter_map(|n| Some((n.clone(), self.addr(n)?)))
            .collect();
        let addrs: Vec<(String, SocketAddr)> = sentinels
            .iter()
            .filter_map(|n| Some((n.clone(), self.addr(n)?)))
            .collect();
        for e in &scenario.expect.sentinel {
            let found = crate::sentinel::final_check(&self.env, e, &addrs, &all).await;
            let names: Vec<&str> = e.servers.iter().map(String::as_str).collect();
            violations.extend(findings(found, &names, checked_ms));
        }
        let (acked_writes, lost_writes, failed_writes) = totals(&results);
        self.trace.record(
            self.now_ms(),
            "check",
            format!("total: {acked_writes} acked writes, {lost_writes} lost"),
        );
        let rendered = self.trace.render();
        let e = &scenario.expect;
        violations.extend(judge(e, &results, &self.losses, &rendered, checked_ms));
        // `crate::sentinel_check` judges decisions from the `~` lines only simulated Sentinels
        // write; a live trace has none, so those checks are not made.
        for se in &e.sentinel {
            let names: Vec<&str> = sentinels.iter().map(String::as_str).collect();
            let found = crate::sentinel::trace_check(se, &sentinels, &rendered);
            violations.extend(findings(found, &names, checked_ms));
        }
        let masters = self.final_masters().await;
        violations.extend(writes_resumed(e, &results, &masters, last_fault_ms));
        Report {
            scenario: scenario.name.clone(),
            seed,
            trace: rendered,
            acked_writes,
            lost_writes,
            failed_writes,
            max_lost_age_ms: None,
            replica_reads: 0,
            stale_replica_reads: 0,
            violations,
            nodes: self.nodes.len() + self.clients.len(),
            sim_ms: self.now_ms(),
            wall_ms: self.now_ms(),
            messages: 0,
            logs: self.logs(),
            acks: crate::check::ack_times(&results),
            sentinel_configs: self.sentinel_configs(),
        }
    }

    /// The servers that answer ROLE as masters now.
    async fn final_masters(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for (name, n) in self.nodes.iter().filter(|(_, n)| !n.sentinel) {
            let addr = SocketAddr::new(IpAddr::V4(n.ip), n.port);
            if crate::sentinel::role_of(&self.env, addr).await == Some(None) {
                out.insert(name.clone());
            }
        }
        out
    }

    /// The last lines of every node's log file.
    fn logs(&self) -> BTreeMap<String, Vec<String>> {
        let tail = |n: &Node| {
            let text = std::fs::read_to_string(n.dir.join("node.log")).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines[lines.len().saturating_sub(LOG_LINES)..].to_vec()
        };
        self.nodes
            .iter()
            .map(|(name, n)| (name.clone(), tail(n)))
            .collect()
    }

    /// Each Sentinel's config file as it was left (Sentinels rewrite theirs).
    fn sentinel_configs(&self) -> BTreeMap<String, String> {
        let read = |n: &Node| std::fs::read_to_string(n.dir.join("sentinel.conf")).ok();
        self.nodes
            .iter()
            .filter(|(_, n)| n.sentinel)
            .filter_map(|(name, n)| Some((name.clone(), read(n)?)))
            .collect()
    }
}
