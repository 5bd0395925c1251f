//! Swarm testing: a `[swarm]` section varies a Sentinel scenario's topology per seed, as
//! TigerBeetle's VOPR and FoundationDB's simulation do, so one sweep covers many topologies:
//! how many Sentinels and with which quorum, how many replicas, down-after, failover-timeout,
//! parallel-syncs, each server's replica-priority and persistence, the fault rate and the
//! weight of each fault kind. The seed alone draws them (`Swarm::apply`), and
//! `Scenario::materialize` writes the result out as a plain scenario (no `[swarm]`, no
//! `[nemesis]`), so replay and the shrinker work on it unchanged.
//!
//! The scenario it varies has one Sentinel group (`count` is drawn), one `[[expect.sentinel]]`
//! (its `servers` become the drawn servers `s1..sN`, `s1` the first master) and a `[nemesis]`
//! (its nodes become every server and Sentinel). Other server groups are replaced.
//!
//! ```toml
//! [swarm]
//! sentinels = [1, 7]
//! replicas = [1, 4]
//! down_after_ms = [500, 3000]
//! failover_timeout_ms = [2000, 6000]
//! parallel_syncs = [1, 4]
//! priorities = [0, 1, 50, 100]      # each server's replica-priority is one of these
//! persistence = ["none", "rdb", "aof-everysec", "aof-always"]
//! faults_per_min = [10, 30]
//! weights_max = { crash = 2, kill = 2 }  # each drawn in 0..=max; default: the nemesis's
//! ```

use crate::nemesis::Weights;
use crate::scenario::{Scenario, ServerGroup};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// Keeps the swarm's draws independent of the nemesis's and the fault times'.
const SWARM_SALT: u64 = 0x0073_7761_726d;
/// Most Sentinels and replicas a swarm may draw.
const MAX_SENTINELS: u64 = 15;
const MAX_REPLICAS: u64 = 15;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Swarm {
    pub sentinels: [u32; 2],
    pub replicas: [u32; 2],
    pub down_after_ms: [u64; 2],
    pub failover_timeout_ms: [u64; 2],
    pub parallel_syncs: [u32; 2],
    pub priorities: Vec<u32>,
    pub persistence: Vec<Persistence>,
    pub faults_per_min: [f64; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights_max: Option<Weights>,
}

impl Default for Swarm {
    fn default() -> Self {
        Swarm {
            sentinels: [1, 7],
            replicas: [1, 4],
            down_after_ms: [500, 3000],
            failover_timeout_ms: [2000, 6000],
            parallel_syncs: [1, 4],
            priorities: vec![0, 1, 50, 100],
            persistence: vec![
                Persistence::None,
                Persistence::Rdb,
                Persistence::AofEverysec,
                Persistence::AofAlways,
            ],
            faults_per_min: [10.0, 30.0],
            weights_max: None,
        }
    }
}

/// How a server keeps its data.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    None,
    Rdb,
    AofEverysec,
    AofAlways,
}

impl Persistence {
    fn lines(self) -> &'static [&'static str] {
        match self {
            Persistence::None => &["save \"\""],
            Persistence::Rdb => &["save 2 1"],
            Persistence::AofEverysec => &["save \"\"", "appendonly yes", "appendfsync everysec"],
            Persistence::AofAlways => &["save \"\"", "appendonly yes", "appendfsync always"],
        }
    }
}

/// The `sentinel <option>` lines the swarm writes itself.
const DRAWN_OPTIONS: [&str; 4] = [
    "monitor",
    "down-after-milliseconds",
    "failover-timeout",
    "parallel-syncs",
];

impl Swarm {
    /// Ranges are ordered and bounded, lists are not empty, and `base` has the shape the swarm
    /// varies.
    pub fn validate(&self, base: &Scenario) -> Result<(), String> {
        let bad = |why: &str| Err(format!("swarm: {why}"));
        let within = |[a, b]: [u64; 2], lo: u64, hi: u64| lo <= a && a <= b && b <= hi;
        let wide = |r: [u32; 2]| r.map(u64::from);
        if !within(wide(self.sentinels), 1, MAX_SENTINELS) {
            return bad(&format!(
                "sentinels must be a range within 1..={MAX_SENTINELS}"
            ));
        }
        if !within(wide(self.replicas), 0, MAX_REPLICAS) {
            return bad(&format!(
                "replicas must be a range within 0..={MAX_REPLICAS}"
            ));
        }
        let ranges = [
            ("parallel_syncs", wide(self.parallel_syncs)),
            ("down_after_ms", self.down_after_ms),
            ("failover_timeout_ms", self.failover_timeout_ms),
        ];
        if let Some((name, _)) = ranges.iter().find(|(_, r)| !within(*r, 1, u64::MAX)) {
            return bad(&format!("{name} must be an ordered range from 1"));
        }
        let [f0, f1] = self.faults_per_min;
        if !(f0 > 0.0 && f0 <= f1) {
            return bad("faults_per_min must be an ordered range above 0");
        }
        if self.priorities.is_empty() || self.persistence.is_empty() {
            return bad("priorities and persistence need at least one value each");
        }
        let groups = base.servers.iter().filter(|g| g.sentinel).count();
        if groups != 1 || base.expect.sentinel.len() != 1 || base.nemesis.is_none() {
            return bad("needs one Sentinel group, one [[expect.sentinel]] and a [nemesis]");
        }
        Ok(())
    }

    /// `base` with the topology `seed` draws (no `[swarm]` left; the nemesis stays, to be
    /// materialised). Its name says what was drawn.
    pub fn apply(&self, base: &Scenario, seed: u64) -> Scenario {
        let mut d = Draw(ChaCha8Rng::seed_from_u64(seed ^ SWARM_SALT));
        let mut out = Scenario {
            swarm: None,
            ..base.clone()
        };
        let sentinels = d.range(self.sentinels.map(u64::from)) as usize;
        let quorum = d.range([1, sentinels as u64]);
        let replicas = d.range(self.replicas.map(u64::from)) as usize;
        let down_after_ms = d.range(self.down_after_ms);
        let failover_timeout_ms = d.range(self.failover_timeout_ms);
        let parallel_syncs = d.range(self.parallel_syncs.map(u64::from));
        let names: Vec<String> = (1..=replicas + 1).map(|i| format!("s{i}")).collect();
        let mut servers: Vec<ServerGroup> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let lines = d.pick(&self.persistence).lines();
                let config = lines.iter().map(|l| l.to_string()).collect();
                server(name, config, i > 0, *d.pick(&self.priorities))
            })
            .collect();
        let mut sentinel = base.servers.iter().find(|g| g.sentinel).cloned();
        let master = base.expect.sentinel[0].master.clone();
        if let Some(g) = sentinel.as_mut() {
            g.count = Some(sentinels);
            g.config.retain(|l| {
                let option = l.split_whitespace().nth(1).unwrap_or_default();
                !(l.starts_with("sentinel ") && DRAWN_OPTIONS.contains(&option))
            });
            g.config.extend([
                format!("sentinel monitor {master} s1 6379 {quorum}"),
                format!("sentinel down-after-milliseconds {master} {down_after_ms}"),
                format!("sentinel failover-timeout {master} {failover_timeout_ms}"),
                format!("sentinel parallel-syncs {master} {parallel_syncs}"),
            ]);
            servers.push(g.clone());
        }
        out.servers = servers;
        out.expect.sentinel[0].servers = names;
        let rate = d.between_f64(self.faults_per_min);
        let nodes: Vec<String> = out.server_list().into_iter().map(|s| s.0).collect();
        if let Some(n) = out.nemesis.as_mut() {
            let max = self.weights_max.unwrap_or(n.weights);
            let mut w = max.each(|m| d.range([0, u64::from(m)]) as u32);
            if w == max.each(|_| 0) {
                w = max;
            }
            n.weights = w;
            n.faults_per_min = (rate * 10.0).round() / 10.0;
            n.nodes = nodes;
        }
        let weights = out
            .nemesis
            .as_ref()
            .map_or(String::new(), |n| weight_list(&n.weights));
        out.name = format!(
            "{} [swarm: {sentinels} Sentinels quorum {quorum}, {replicas} replicas, \
             down-after {down_after_ms} ms, failover-timeout {failover_timeout_ms} ms, \
             parallel-syncs {parallel_syncs}, {rate:.1} faults/min: {weights}]",
            base.name
        );
        out
    }
}

/// The kinds with a weight above 0: `crash 1, kill 2`.
fn weight_list(w: &Weights) -> String {
    let text = toml::to_string(w).unwrap_or_default();
    let kinds = text.lines().filter(|l| !l.ends_with(" = 0"));
    kinds
        .map(|l| l.replace(" = ", " "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A data server: its persistence lines, its priority, and `replicaof s1` for a replica.
fn server(name: &str, mut config: Vec<String>, replica: bool, priority: u32) -> ServerGroup {
    config.push(format!("replica-priority {priority}"));
    if replica {
        config.push("replicaof s1 6379".into());
    }
    ServerGroup {
        name: name.to_string(),
        count: None,
        config,
        sentinel: false,
        monitor: None,
        quorum: None,
    }
}

/// The swarm's generator.
struct Draw(ChaCha8Rng);

impl Draw {
    /// Uniform in `a..=b`.
    fn range(&mut self, [a, b]: [u64; 2]) -> u64 {
        a + self.0.next_u64() % (b - a + 1)
    }
    fn between_f64(&mut self, [a, b]: [f64; 2]) -> f64 {
        a + (b - a) * (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range([0, items.len() as u64 - 1]) as usize]
    }
}

#[cfg(test)]
#[path = "swarm_tests.rs"]
mod tests;
