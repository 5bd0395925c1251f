//! The nemesis: a `[nemesis]` section of knobs from which the run's seed alone generates a
//! concrete fault schedule, in the same `Fault` form explicit `[[fault]]`s use (so it can be
//! printed, materialised into a file and shrunk). Faults start at random moments (a Poisson
//! process of `faults_per_min`), each kind picked by weight, each lasting `min_s..max_s`; a fault
//! never overlaps another on the same lane (a server's process, a server's disk, the network,
//! the latency). At `duration_s - quiet_s` everything is healed — partitions, latency, disks,
//! paused servers resumed, dead servers restarted — and nothing else happens, so the end-of-run
//! checks see first safety, then liveness and convergence.
//!
//! ```toml
//! [nemesis]
//! faults_per_min = 30
//! min_s = 0.5            # fault windows (default 0.5..5 s)
//! max_s = 5
//! start_s = 1            # nothing before (default 1 s)
//! quiet_s = 8            # heal everything this long before the end, then quiet
//! nodes = ["s1", "s2"]   # servers faults target (default: all)
//! weights = { crash = 3, latency = 0 }   # 0 disables a kind; see `Weights` for the defaults
//! ```

use crate::disk::{DiskError, FailOp};
use crate::fault_spec::{Fault, FaultAction, FULL_SYNC_WAIT_MS};
use crate::scenario::{secs_to_ms, Scenario};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keeps the nemesis's draws independent of the scenario's fault-time draws.
const NEMESIS_SALT: u64 = 0x006e_656d_6573_6973;
/// Most fault starts per simulated minute.
const MAX_FAULTS_PER_MIN: f64 = 600.0;
/// A flapping partition is on, then off, for a time in this range (ms).
const FLAP_MS: (u64, u64) = (100, 800);

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Nemesis {
    /// Mean fault starts per simulated minute.
    pub faults_per_min: f64,
    /// Shortest fault window, seconds.
    #[serde(default = "default_min_s")]
    pub min_s: f64,
    /// Longest fault window, seconds.
    #[serde(default = "default_max_s")]
    pub max_s: f64,
    /// No fault starts before this.
    #[serde(default = "default_start_s")]
    pub start_s: f64,
    /// The run's last `quiet_s` seconds: everything healed at their start, then no fault.
    pub quiet_s: f64,
    /// Servers the faults target (default: every server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub weights: Weights,
    /// Largest clock jump, either way, seconds.
    #[serde(default = "default_clock_jump_max_s")]
    pub clock_jump_max_s: f64,
    /// A latency spike's highest delay is drawn in this range (ms); its lowest is a quarter of it.
    #[serde(default = "default_latency_max_ms")]
    pub latency_max_ms: [u64; 2],
}

fn default_min_s() -> f64 {
    0.5
}
fn default_max_s() -> f64 {
    5.0
}
fn default_start_s() -> f64 {
    1.0
}
fn default_clock_jump_max_s() -> f64 {
    60.0
}
fn default_latency_max_ms() -> [u64; 2] {
    [100, 1000]
}

/// How often each kind of fault is picked, relative to the others; 0 disables a kind.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Power loss (torn unsynced tail), restart after the window.
    pub crash: u32,
    /// kill -9, restart after the window.
    pub kill: u32,
    /// kill -9 of a replica, its disk lost, restart, kill -9 again as the full sync it asks for
    /// begins (or at a timed guess), restart.
    pub kill_in_full_sync: u32,
    /// SIGSTOP, SIGCONT after the window.
    pub pause: u32,
    /// A random split of servers and clients into two sides.
    pub partition: u32,
    /// One server cut off from every other node.
    pub isolate: u32,
    /// One server's messages to another are dropped; the other way works.
    pub one_way: u32,
    /// One server isolated and reconnected over and over.
    pub flap: u32,
    /// Every message delayed by up to `latency_max_ms` (madsim has one latency for all links).
    pub latency: u32,
    /// A server's wall clock jumps by up to `clock_jump_max_s`, either way.
    pub clock_jump: u32,
    /// A server's disk fails writes and/or fsyncs (EIO or ENOSPC), then heals.
    pub disk_fail: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            crash: 2,
            kill: 2,
            kill_in_full_sync: 1,
            pause: 1,
            partition: 1,
            isolate: 2,
            one_way: 1,
            flap: 1,
            latency: 1,
            clock_jump: 1,
            disk_fail: 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Crash,
    Kill,
    KillInFullSync,
    Pause,
    Partition,
    Isolate,
    OneWay,
    Flap,
    Latency,
    ClockJump,
    DiskFail,
}

impl Weights {
    fn table(&self) -> [(Kind, u32); 11] {
        [
            (Kind::Crash, self.crash),
            (Kind::Kill, self.kill),
            (Kind::KillInFullSync, self.kill_in_full_sync),
            (Kind::Pause, self.pause),
            (Kind::Partition, self.partition),
            (Kind::Isolate, self.isolate),
            (Kind::OneWay, self.one_way),
            (Kind::Flap, self.flap),
            (Kind::Latency, self.latency),
            (Kind::ClockJump, self.clock_jump),
            (Kind::DiskFail, self.disk_fail),
        ]
    }

    /// Each weight through `f` (a swarm draws each up to its maximum).
    pub fn each(&self, mut f: impl FnMut(u32) -> u32) -> Weights {
        Weights {
            crash: f(self.crash),
            kill: f(self.kill),
            kill_in_full_sync: f(self.kill_in_full_sync),
            pause: f(self.pause),
            partition: f(self.partition),
            isolate: f(self.isolate),
            one_way: f(self.one_way),
            flap: f(self.flap),
            latency: f(self.latency),
            clock_jump: f(self.clock_jump),
            disk_fail: f(self.disk_fail),
        }
    }

    fn enabled(&self, kinds: &[Kind]) -> bool {
        self.table()
            .iter()
            .any(|(k, w)| *w > 0 && kinds.contains(k))
    }
}

impl Nemesis {
    pub fn validate(&self, duration_s: f64, servers: &[String]) -> Result<(), String> {
        let bad = |why: String| Err(format!("nemesis: {why}"));
        if !(self.faults_per_min > 0.0 && self.faults_per_min <= MAX_FAULTS_PER_MIN) {
            return bad(format!(
                "faults_per_min must be in (0, {MAX_FAULTS_PER_MIN}]"
            ));
        }
        if !(self.min_s > 0.0 && self.min_s <= self.max_s) {
            return bad(format!(
                "need 0 < min_s <= max_s, got {} and {}",
                self.min_s, self.max_s
            ));
        }
        if !(self.start_s >= 0.0 && self.quiet_s >= 0.0 && self.start_s + self.quiet_s < duration_s)
        {
            return bad(format!(
                "start_s {} and quiet_s {} leave no time for faults in {duration_s}s",
                self.start_s, self.quiet_s
            ));
        }
        if let Some(n) = self.nodes.iter().find(|n| !servers.contains(n)) {
            return bad(format!("nodes names unknown server {n}"));
        }
        if self.weights.table().iter().all(|(_, w)| *w == 0) {
            return bad("every weight is 0".into());
        }
        let [lo, hi] = self.latency_max_ms;
        if !(4 <= lo && lo <= hi && hi <= 60_000) {
            return bad(format!(
                "latency_max_ms [{lo}, {hi}] must be 4 <= low <= high <= 60000"
            ));
        }
        if self.clock_jump_max_s.is_nan() || self.clock_jump_max_s < 0.0 {
            return bad("clock_jump_max_s must be >= 0".into());
        }
        Ok(())
    }

    /// The schedule `seed` gives: every fault at an explicit time, in time order.
    pub fn generate(&self, scenario: &Scenario, seed: u64) -> Vec<Fault> {
        let servers: Vec<String> = match self.nodes.is_empty() {
            true => scenario.server_list().into_iter().map(|s| s.0).collect(),
            false => self.nodes.clone(),
        };
        let configs = crate::repl_check::server_configs(scenario);
        let replicas: Vec<String> = servers
            .iter()
            .filter(|s| configs.get(*s).is_some_and(|c| c.replicaof.is_some()))
            .cloned()
            .collect();
        let clients: Vec<String> = scenario.client_list().into_iter().map(|c| c.name).collect();
        let mut g = Gen {
            rng: ChaCha8Rng::seed_from_u64(seed ^ NEMESIS_SALT),
            busy_until: BTreeMap::new(),
            out: Vec::new(),
        };
        let end_ms = secs_to_ms(scenario.duration_s - self.quiet_s);
        let mean_gap_ms = 60_000.0 / self.faults_per_min;
        let (min_ms, max_ms) = (secs_to_ms(self.min_s), secs_to_ms(self.max_s));
        let mut t = secs_to_ms(self.start_s);
        loop {
            t += g.exponential(mean_gap_ms);
            if t >= end_ms {
                break;
            }
            let kind = g.pick_kind(&self.weights);
            let stop = (t + g.between(min_ms, max_ms)).min(end_ms);
            self.one(&mut g, kind, t, stop, end_ms, &servers, &replicas, &clients);
        }
        g.out.extend(self.heal_all(end_ms, &servers));
        g.out.sort_by_key(|f| secs_to_ms(f.at_s.unwrap_or(0.0)));
        g.out
    }

    /// One fault of `kind` from `t` to `stop`, if its lane is free.
    #[allow(clippy::too_many_arguments)]
    fn one(
        &self,
        g: &mut Gen,
        kind: Kind,
        t: u64,
        stop: u64,
        end_ms: u64,
        servers: &[String],
        replicas: &[String],
        clients: &[String],
    ) {
        use FaultAction as A;
        match kind {
            Kind::Crash | Kind::Kill | Kind::Pause => {
                let Some(s) = g.free(t, "process", servers) else {
                    return;
                };
                let (start, end) = match kind {
                    Kind::Crash => (A::Crash, A::Restart),
                    Kind::Kill => (A::Kill, A::Restart),
                    _ => (A::Pause, A::Resume),
                };
                let mut f = Fault::new(t, start, &[&s]);
                f.torn = kind == Kind::Crash;
                g.window(&format!("process/{s}"), f, Fault::new(stop, end, &[&s]));
            }
            Kind::KillInFullSync => {
                // A replica killed and restarted on an empty disk asks for a full sync: it is
                // killed again as that full sync begins (or at the timed guess), then restarted.
                let Some(s) = g.free(t, "process", replicas) else {
                    return;
                };
                let up = t + g.between(FLAP_MS.0, FLAP_MS.1);
                let restart = stop.max(up) + FULL_SYNC_WAIT_MS;
                if restart > end_ms {
                    return;
                }
                let lane = format!("process/{s}");
                g.out.push(Fault::new(t, A::Kill, &[&s]));
                let lost = Fault::new(t, A::DiskLoss, &[&s]);
                g.window(&lane, lost, Fault::new(up, A::Restart, &[&s]));
                let mut f = Fault::new(up, A::Kill, &[&s]);
                f.on_full_sync = true;
                g.window(&lane, f, Fault::new(restart, A::Restart, &[&s]));
            }
            Kind::Partition | Kind::Isolate | Kind::OneWay | Kind::Flap => {
                if g.busy("net", t) || servers.is_empty() {
                    return;
                }
                let cut = match kind {
                    Kind::Partition => g.split(t, servers, clients),
                    Kind::OneWay if servers.len() < 2 => return,
                    Kind::OneWay => {
                        let a = g.choose(servers).to_string();
                        let others: Vec<String> =
                            servers.iter().filter(|s| **s != a).cloned().collect();
                        let b = g.choose(&others).to_string();
                        let mut f = Fault::new(t, A::Partition, &[&a]);
                        (f.from, f.one_way) = (vec![b], true);
                        f
                    }
                    _ => Fault::new(t, A::Partition, &[g.choose(servers)]),
                };
                if kind != Kind::Flap {
                    return g.window("net", cut, Fault::new(stop, A::Heal, &[]));
                }
                let mut at = t;
                while at < stop {
                    let on = (at + g.between(FLAP_MS.0, FLAP_MS.1)).min(stop);
                    let mut f = cut.clone();
                    f.at_s = Some(at as f64 / 1000.0);
                    g.window("net", f, Fault::new(on, A::Heal, &[]));
                    at = on + g.between(FLAP_MS.0, FLAP_MS.1);
                }
            }
            Kind::Latency => {
                if g.busy("latency", t) {
                    return;
                }
                let hi = g.between(self.latency_max_ms[0], self.latency_max_ms[1]);
                let mut f = Fault::new(t, A::Latency, &[]);
                f.latency_ms = Some([hi / 4, hi]);
                g.window("latency", f, Fault::new(stop, A::Latency, &[]));
            }
            Kind::ClockJump => {
                let s = g.choose(servers).to_string();
                let max_ms = secs_to_ms(self.clock_jump_max_s);
                let ms = g.between(max_ms.min(1000), max_ms) as f64;
                let sign = if g.rng.next_u64().is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                };
                let mut f = Fault::new(t, A::ClockJump, &[&s]);
                f.jump_s = sign * ms / 1000.0;
                g.out.push(f);
            }
            Kind::DiskFail => {
                // A failing disk may stop the server: it holds the server's process lane too,
                // and the server is restarted (if it stopped) when the disk heals.
                let idle: Vec<String> = servers
                    .iter()
                    .filter(|s| !g.busy(&format!("process/{s}"), t))
                    .cloned()
                    .collect();
                let Some(s) = g.free(t, "disk", &idle) else {
                    return;
                };
                let mut f = Fault::new(t, A::DiskFail, &[&s]);
                f.fail = match g.rng.next_u64() % 3 {
                    0 => vec![FailOp::Fsync],
                    1 => vec![FailOp::Write],
                    _ => vec![FailOp::Write, FailOp::Fsync],
                };
                f.error = Some(match g.rng.next_u64() % 2 {
                    0 => DiskError::Io,
                    _ => DiskError::NoSpace,
                });
                g.window(
                    &format!("disk/{s}"),
                    f,
                    Fault::new(stop, A::DiskHeal, &[&s]),
                );
                let restart = Fault::new(stop, A::Restart, &[&s]);
                g.window(&format!("process/{s}"), None, restart);
            }
        }
    }

    /// The quiet phase's start: everything any enabled kind could have left broken is healed.
    fn heal_all(&self, at: u64, servers: &[String]) -> Vec<Fault> {
        use FaultAction as A;
        let w = &self.weights;
        let all: Vec<&str> = servers.iter().map(String::as_str).collect();
        let net = [Kind::Partition, Kind::Isolate, Kind::OneWay, Kind::Flap];
        [
            (w.enabled(&net), Fault::new(at, A::Heal, &[])),
            (w.latency > 0, Fault::new(at, A::Latency, &[])),
            (w.disk_fail > 0, Fault::new(at, A::DiskHeal, &all)),
            (w.pause > 0, Fault::new(at, A::Resume, &all)),
            // A disk failure may have stopped a server too.
            (true, Fault::new(at, A::Restart, &all)),
        ]
        .into_iter()
        .filter_map(|(on, f)| on.then_some(f))
        .collect()
    }
}

/// The generator's state: its random draws, when each lane is free again, the faults so far.
struct Gen {
    rng: ChaCha8Rng,
    busy_until: BTreeMap<String, u64>,
    out: Vec<Fault>,
}

impl Gen {
    /// A uniform draw in `a..=b`.
    fn between(&mut self, a: u64, b: u64) -> u64 {
        a + self.rng.next_u64() % (b.saturating_sub(a) + 1)
    }

    /// An exponential draw with this mean, at least 1 ms.
    fn exponential(&mut self, mean_ms: f64) -> u64 {
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-(1.0 - u).ln() * mean_ms) as u64).max(1)
    }

    fn choose<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[(self.rng.next_u64() % items.len() as u64) as usize]
    }

    fn pick_kind(&mut self, w: &Weights) -> Kind {
        let table = w.table();
        let total: u64 = table.iter().map(|(_, w)| *w as u64).sum();
        let mut r = self.rng.next_u64() % total.max(1);
        for (kind, weight) in table {
            if r < weight as u64 {
                return kind;
            }
            r -= weight as u64;
        }
        table[table.len() - 1].0
    }

    fn busy(&self, lane: &str, t: u64) -> bool {
        self.busy_until.get(lane).is_some_and(|&until| until >= t)
    }

    /// A server from `among` whose `kind` lane is free at `t`.
    fn free(&mut self, t: u64, kind: &str, among: &[String]) -> Option<String> {
        let free: Vec<String> = among
            .iter()
            .filter(|s| !self.busy(&format!("{kind}/{s}"), t))
            .cloned()
            .collect();
        (!free.is_empty()).then(|| self.choose(&free).to_string())
    }

    /// A fault (if any) and the one that ends it; `lane` is busy until the end.
    fn window(&mut self, lane: &str, start: impl Into<Option<Fault>>, end: Fault) {
        self.busy_until
            .insert(lane.to_string(), secs_to_ms(end.at_s.unwrap_or(0.0)));
        self.out.extend(start.into());
        self.out.push(end);
    }

    /// A partition at `t` of a random split: each server and client goes to one side or the
    /// other; the side cut off holds at least one server, and neither side is empty (with a
    /// single node, it is cut off from the harness).
    fn split(&mut self, t: u64, servers: &[String], clients: &[String]) -> Fault {
        let all: Vec<&String> = servers.iter().chain(clients).collect();
        if all.len() < 2 {
            return Fault::new(t, FaultAction::Partition, &[&servers[0]]);
        }
        loop {
            let side: Vec<&str> = all
                .iter()
                .filter(|_| self.rng.next_u64().is_multiple_of(2))
                .map(|s| s.as_str())
                .collect();
            let has_server = side.iter().any(|s| servers.iter().any(|x| x == s));
            if has_server && side.len() < all.len() {
                return Fault::new(t, FaultAction::Partition, &side);
            }
        }
    }
}

#[cfg(test)]
#[path = "nemesis_tests.rs"]
mod tests;
