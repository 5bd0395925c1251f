//! Scenario files (`scenarios/*.toml`): topology, workload, fault schedule (explicit `[[fault]]`s
//! and a seeded `[nemesis]`), run length and expectations, as data; and the schedule a seed gives
//! a scenario's faults. One fault's fields are in `crate::fault_spec`; the nemesis's knobs in
//! `crate::nemesis`.
//!
//! A fault happens at `at_s`, or at a time in `at_s_range = [a, b]` drawn from the run's seed.

use crate::nemesis::Nemesis;
use crate::swarm::Swarm;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

pub use crate::fault_spec::{Fault, FaultAction};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The pinned seed tests and snapshots use; `--seed` / `SIM_SEED` override it.
    pub seed: u64,
    pub duration_s: f64,
    /// Trace only the harness, client and check lines, not every node transition (large runs).
    #[serde(default, skip_serializing_if = "is_false")]
    pub quiet_trace: bool,
    #[serde(default, rename = "server")]
    pub servers: Vec<ServerGroup>,
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientGroup>,
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Faults generated from the run's seed (`[nemesis]`), played with the explicit ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<Nemesis>,
    #[serde(default)]
    pub expect: Expect,
    /// The topology drawn per seed (`[swarm]`, see `crate::swarm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<Swarm>,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// One server, or `count` servers named `<name>1..<name>N`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// redis.conf lines (sentinel.conf lines for Sentinels).
    #[serde(default)]
    pub config: Vec<String>,
    /// Run as a Sentinel (`--sentinel`); see `crate::sentinel`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sentinel: bool,
    /// Sentinels: monitor every server of this group as a master named after it, with `quorum`
    /// (default 2); config lines containing `{master}` are repeated for each of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
}

/// One client, or `count` clients; client i targets server i of the `servers` group.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// A server name, or a group name when `count` is set.
    pub server: String,
    pub workload: Workload,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// After each acknowledged write, also read the key back from this server (a replica; a
    /// group name when `count` is set): stale reads are counted, not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
    /// Find the master through this group of Sentinels (redis-py's `Sentinel`), asking for
    /// `master`; `server` is then only where the client starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_sentinels: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
}

fn default_interval_ms() -> u64 {
    100
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// SET a new key each interval, then GET it back; every acknowledged write is checked at the end.
    WriteRead,
}

/// One client of a scenario, groups expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEntry {
    pub name: String,
    pub server: String,
    pub workload: Workload,
    pub interval_ms: u64,
    pub read_from: Option<String>,
    /// For a client that finds its master through Sentinels: (Sentinel names, master name).
    pub discovery: Option<(Vec<String>, String)>,
}

/// What the run must show; every field is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_writes_min: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_writes_max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_writes_min: Option<u64>,
    /// Writes answered with an error or not answered at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_writes_min: Option<u64>,
    /// Every lost write was acknowledged after the snapshot point of the last save its server
    /// completed before losing its memory (kill or crash): RDB's durability promise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lost_only_after_last_save: bool,
    /// Every lost write was acknowledged at most this many seconds before the kill or crash
    /// that lost it: `appendfsync everysec`'s promise (about one second, two at worst).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_only_acked_within_s_before_crash: Option<f64>,
    /// Liveness: every client whose server ends the run as a master has a write acknowledged
    /// within this many seconds after the last scheduled fault (the nemesis's heal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes_resume_within_s: Option<f64>,
    /// Substrings that trace lines must contain, matched in this order (e.g. `"s1 bgsave ok"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_in_order: Vec<String>,
    /// Replication checks (`[expect.replication]`): see `crate::repl_check::ReplExpect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::repl_check::ReplExpect>,
    /// Sentinel checks (`[[expect.sentinel]]`): see `crate::sentinel::SentinelExpect`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentinel: Vec<crate::sentinel::SentinelExpect>,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    /// The scenario as a TOML file (what `from_toml` reads back).
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| e.to_string())
    }

    /// Every server as (name, config lines), groups expanded.
    /// In a group's config, `{i}` is the member's number (`replicaof m{i} 6379`).
    pub fn server_list(&self) -> Vec<(String, Vec<String>)> {
        expand(
            &self.servers,
            |g| (&g.name, g.count),
            |g, name| {
                let config = self.member_config(g, &name);
                (name, config)
            },
        )
    }

    fn member_config(&self, g: &ServerGroup, name: &str) -> Vec<String> {
        let i = &name[g.name.len()..];
        let (per_master, mut lines): (Vec<&String>, Vec<&String>) =
            g.config.iter().partition(|l| l.contains("{master}"));
        let mut out: Vec<String> = lines.drain(..).map(|l| l.replace("{i}", i)).collect();
        let Some(group) = &g.monitor else {
            return out;
        };
        for m in self.members(group) {
            out.push(format!(
                "sentinel monitor {m} {m} 6379 {}",
                g.quorum.unwrap_or(2)
            ));
            out.extend(per_master.iter().map(|l| l.replace("{master}", &m)));
        }
        out
    }

    /// Every client, groups expanded.
    /// The Sentinel servers (names, groups expanded).
    pub fn sentinel_names(&self) -> Vec<String> {
        let groups: Vec<&ServerGroup> = self.servers.iter().filter(|g| g.sentinel).collect();
        expand(&groups, |g| (&g.name, g.count), |_, name| name)
    }

    /// The servers of server group `group`, expanded.
    fn members(&self, group: &str) -> Vec<String> {
        let groups: Vec<&ServerGroup> = self.servers.iter().filter(|s| s.name == group).collect();
        expand(&groups, |g| (&g.name, g.count), |_, name| name)
    }

    pub fn client_list(&self) -> Vec<ClientEntry> {
        expand(
            &self.clients,
            |g| (&g.name, g.count),
            |g, name| {
                let i = name[g.name.len()..].to_string();
                let member = |group: &String| match g.count {
                    Some(_) => format!("{group}{i}"),
                    None => group.clone(),
                };
                ClientEntry {
                    server: member(&g.server),
                    read_from: g.read_from.as_ref().map(member),
                    name,
                    workload: g.workload,
                    interval_ms: g.interval_ms,
                    discovery: g.via_sentinels.as_ref().map(|group| {
                        let master = g.master.clone().unwrap_or_else(|| "mymaster".into());
                        (self.members(group), master)
                    }),
                }
            },
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(swarm) = &self.swarm {
            swarm.validate(self)?;
            return swarm.apply(self, self.seed).validate();
        }
        let servers: Vec<String> = self.server_list().into_iter().map(|s| s.0).collect();
        let clients = self.client_list();
        for c in &clients {
            for s in std::iter::once(&c.server).chain(&c.read_from) {
                if !servers.contains(s) {
                    return Err(format!("client {} targets unknown server {s}", c.name));
                }
            }
            if let Some((sentinels, _)) = &c.discovery {
                if sentinels.is_empty() {
                    return Err(format!(
                        "client {}: via_sentinels names no server group",
                        c.name
                    ));
                }
            }
        }
        let client_names: Vec<String> = clients.into_iter().map(|c| c.name).collect();
        for (i, f) in self.faults.iter().enumerate() {
            f.validate(i, self.duration_s, &servers, &client_names)?;
        }
        if let Some(n) = &self.nemesis {
            n.validate(self.duration_s, &servers)?;
        }
        if let Some(r) = &self.expect.replication {
            r.validate(&servers)?;
        }
        Ok(())
    }

    /// The fault schedule for `seed`: (ms since start, fault), in time order — the explicit
    /// faults first (file order), then the nemesis's, for equal times. Range times are drawn in
    /// file order from a generator seeded by `seed`; the nemesis has a generator of its own.
    pub fn fault_schedule(&self, seed: u64) -> Vec<(u64, Fault)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ FAULT_TIMES_SALT);
        let mut out: Vec<(u64, Fault)> = self
            .faults
            .iter()
            .map(|f| {
                let ms = match (f.at_s, f.at_s_range) {
                    (_, Some([a, b])) => {
                        let (a, b) = (secs_to_ms(a), secs_to_ms(b));
                        a + rng.next_u64() % (b - a + 1)
                    }
                    (t, None) => secs_to_ms(t.unwrap_or(0.0)),
                };
                (ms, f.clone())
            })
            .collect();
        if let Some(n) = &self.nemesis {
            out.extend(
                n.generate(self, seed)
                    .into_iter()
                    .map(|f| (secs_to_ms(f.at_s.unwrap_or(0.0)), f)),
            );
        }
        out.sort_by_key(|(ms, _)| *ms);
        out
    }

    /// The same scenario with `seed`'s schedule written out: every fault at an explicit time, in
    /// time order, and no nemesis. It plays exactly as the original does with `seed`.
    pub fn materialize(&self, seed: u64) -> Scenario {
        let this = self.topology(seed);
        let faults = this
            .fault_schedule(seed)
            .into_iter()
            .map(|(ms, mut f)| {
                f.at_s = Some(ms as f64 / 1000.0);
                f.at_s_range = None;
                f
            })
            .collect();
        Scenario {
            faults,
            nemesis: None,
            ..this
        }
    }

    /// The scenario with the topology its `[swarm]` draws for `seed` (itself without one).
    pub fn topology(&self, seed: u64) -> Scenario {
        match &self.swarm {
            Some(swarm) => swarm.apply(self, seed),
            None => self.clone(),
        }
    }
}

/// Keeps fault times independent of other draws from the same seed.
const FAULT_TIMES_SALT: u64 = 0x6661_756c_7473;

pub(crate) fn secs_to_ms(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

fn expand<G, T>(
    groups: &[G],
    head: impl Fn(&G) -> (&String, Option<usize>),
    make: impl Fn(&G, String) -> T,
) -> Vec<T> {
    let mut out = Vec::new();
    for g in groups {
        match head(g) {
            (name, None) => out.push(make(g, name.clone())),
            (name, Some(n)) => out.extend((1..=n).map(|i| make(g, format!("{name}{i}")))),
        }
    }
    out
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
