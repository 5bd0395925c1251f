//! Scenario files (`scenarios/*.toml`): topology, workload, fault schedule, run length and
//! expectations, as data; and the schedule a seed gives a scenario's faults.
//!
//! A fault happens at `at_s`, or at a time in `at_s_range = [a, b]` drawn from the run's seed:
//!
//! ```toml
//! [[fault]]
//! at_s_range = [5, 20]    # or: at_s = 12.5
//! action = "crash"        # kill crash restart partition heal pause resume clock-jump disk-fail
//!                         # disk-heal replicaof command
//! nodes = ["s1"]
//! torn = true             # crash: a seeded prefix of the unsynced appends survives
//! # disk-fail: fail = ["write", "fsync"] (default both), error = "io" (EIO) or "no-space" (ENOSPC)
//! # clock-jump: jump_s = -30
//! # partition: from = ["s1"] cuts `nodes` off from these only (default: from every other node)
//! # replicaof: target = "s1" (a server name) or "no one"; sent as REPLICAOF to each of `nodes`
//! # command: args = ["SENTINEL", "FAILOVER", "mymaster"]; sent to each of `nodes`
//! ```

use crate::disk::{DiskError, FailOp};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The pinned seed tests and snapshots use; `--seed` / `SIM_SEED` override it.
    pub seed: u64,
    pub duration_s: f64,
    #[serde(default, rename = "server")]
    pub servers: Vec<ServerGroup>,
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientGroup>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub expect: Expect,
    /// Trace only the harness, client and check lines, not every node transition (large runs).
    #[serde(default)]
    pub quiet_trace: bool,
}

/// One server, or `count` servers named `<name>1..<name>N`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGroup {
    pub name: String,
    #[serde(default)]
    pub count: Option<usize>,
    /// redis.conf lines (sentinel.conf lines for Sentinels).
    #[serde(default)]
    pub config: Vec<String>,
    /// Run as a Sentinel (`--sentinel`); see `crate::sentinel`.
    #[serde(default)]
    pub sentinel: bool,
}

/// One client, or `count` clients; client i targets server i of the `servers` group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroup {
    pub name: String,
    #[serde(default)]
    pub count: Option<usize>,
    /// A server name, or a group name when `count` is set.
    pub server: String,
    pub workload: Workload,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Find the master through this group of Sentinels (redis-py's `Sentinel`), asking for
    /// `master`; `server` is then only where the client starts.
    #[serde(default)]
    pub via_sentinels: Option<String>,
    #[serde(default)]
    pub master: Option<String>,
}

fn default_interval_ms() -> u64 {
    100
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// SET a new key each interval, then GET it back; every acknowledged write is checked at the end.
    WriteRead,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, in seconds from the start; or give `at_s_range`.
    #[serde(default)]
    pub at_s: Option<f64>,
    /// `[a, b]`: a time in this range drawn from the run's seed (millisecond steps).
    #[serde(default)]
    pub at_s_range: Option<[f64; 2]>,
    pub action: FaultAction,
    /// Nodes the action applies to (for `partition`: the side cut off from everyone else).
    #[serde(default)]
    pub nodes: Vec<String>,
    /// For `clock-jump`: how far the wall clock moves (may be negative).
    #[serde(default)]
    pub jump_s: f64,
    /// For `crash`: the unsynced appends to the file appended to last are torn (a seeded strict
    /// prefix of them survives, possibly ending inside one).
    #[serde(default)]
    pub torn: bool,
    /// For `disk-fail`: the operations that fail (default: writes and fsyncs).
    #[serde(default)]
    pub fail: Vec<FailOp>,
    /// For `disk-fail`: the error they return (default `io`).
    #[serde(default)]
    pub error: Option<DiskError>,
    /// For `replicaof`: the server to follow, or `no one`.
    #[serde(default)]
    pub target: Option<String>,
    /// For `partition`: the other side (default: every node not in `nodes`).
    #[serde(default)]
    pub from: Vec<String>,
    /// For `command`: the command and its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl Fault {
    /// The operations a `disk-fail` breaks.
    pub fn fail_ops(&self) -> Vec<FailOp> {
        if self.fail.is_empty() {
            vec![FailOp::Write, FailOp::Fsync]
        } else {
            self.fail.clone()
        }
    }

    /// The error a `disk-fail` injects.
    pub fn disk_error(&self) -> DiskError {
        self.error.unwrap_or_default()
    }

    /// The time as written: `12s` or `[5, 20]s`.
    fn when(&self) -> String {
        match (self.at_s, self.at_s_range) {
            (_, Some([a, b])) => format!("[{a}, {b}]s"),
            (t, None) => format!("{}s", t.unwrap_or(0.0)),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// The process dies (kill -9); the OS keeps what it had written.
    Kill,
    /// The machine loses power: the process dies and unsynced disk writes are lost.
    Crash,
    /// Start a killed or crashed node again.
    Restart,
    /// Cut `nodes` off from every other node, both directions.
    Partition,
    /// Remove every partition.
    Heal,
    /// SIGSTOP / SIGCONT.
    Pause,
    Resume,
    /// Move the nodes' wall clocks by `jump_s`.
    ClockJump,
    /// The nodes' disks start failing writes and/or fsyncs (`fail`, `error`).
    DiskFail,
    /// The nodes' disks work again.
    DiskHeal,
    /// The harness sends `REPLICAOF <target> <port>` (or `REPLICAOF NO ONE`) to the nodes.
    Replicaof,
    /// The harness sends the command `args` to the nodes (e.g. `SENTINEL FAILOVER mymaster`).
    Command,
}

impl FaultAction {
    /// The action's name as scenario files and traces spell it.
    pub fn word(self) -> &'static str {
        match self {
            FaultAction::Kill => "kill",
            FaultAction::Crash => "crash",
            FaultAction::Restart => "restart",
            FaultAction::Partition => "partition",
            FaultAction::Heal => "heal",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::ClockJump => "clock-jump",
            FaultAction::DiskFail => "disk-fail",
            FaultAction::DiskHeal => "disk-heal",
            FaultAction::Replicaof => "replicaof",
            FaultAction::Command => "command",
        }
    }
}

/// What the run must show; every field is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub lost_writes_min: Option<u64>,
    pub lost_writes_max: Option<u64>,
    pub acked_writes_min: Option<u64>,
    /// Writes answered with an error or not answered at all.
    pub failed_writes_min: Option<u64>,
    /// Every lost write was acknowledged after the snapshot point of the last save its server
    /// completed before losing its memory (kill or crash): RDB's durability promise.
    #[serde(default)]
    pub lost_only_after_last_save: bool,
    /// Every lost write was acknowledged at most this many seconds before the kill or crash
    /// that lost it: `appendfsync everysec`'s promise (about one second, two at worst).
    pub lost_only_acked_within_s_before_crash: Option<f64>,
    /// Substrings that trace lines must contain, matched in this order (e.g. `"s1 bgsave ok"`).
    #[serde(default)]
    pub trace_in_order: Vec<String>,
    /// Replication checks (`[expect.replication]`): see `crate::repl_check::ReplExpect`.
    #[serde(default)]
    pub replication: Option<crate::repl_check::ReplExpect>,
    /// Sentinel checks (`[[expect.sentinel]]`): see `crate::sentinel::SentinelExpect`.
    #[serde(default)]
    pub sentinel: Vec<crate::sentinel::SentinelExpect>,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    /// Every server as (name, config lines), groups expanded.
    pub fn server_list(&self) -> Vec<(String, Vec<String>)> {
        expand(
            &self.servers,
            |g| (&g.name, g.count),
            |g, name| (name, g.config.clone()),
        )
    }

    /// The Sentinel servers (names, groups expanded).
    pub fn sentinel_names(&self) -> Vec<String> {
        let groups: Vec<ServerGroup> = self
            .servers
            .iter()
            .filter(|g| g.sentinel)
            .cloned()
            .collect();
        expand(&groups, |g| (&g.name, g.count), |_, name| name)
    }

    /// For a client that finds its master through Sentinels: (Sentinel names, master name).
    pub fn client_discovery(&self, client: &str) -> Option<(Vec<String>, String)> {
        let g = self
            .clients
            .iter()
            .find(|g| client.starts_with(&g.name) && g.via_sentinels.is_some())?;
        let group = g.via_sentinels.as_ref()?;
        let sentinels = self
            .sentinel_names()
            .into_iter()
            .filter(|n| n.starts_with(group.as_str()))
            .collect();
        Some((
            sentinels,
            g.master.clone().unwrap_or_else(|| "mymaster".into()),
        ))
    }

    /// Every client as (name, target server, workload, interval), groups expanded.
    pub fn client_list(&self) -> Vec<(String, String, Workload, u64)> {
        expand(
            &self.clients,
            |g| (&g.name, g.count),
            |g, name| {
                let i = name[g.name.len()..].to_string();
                let server = if g.count.is_some() {
                    format!("{}{i}", g.server)
                } else {
                    g.server.clone()
                };
                (name, server, g.workload, g.interval_ms)
            },
        )
    }

    fn validate(&self) -> Result<(), String> {
        let servers: Vec<String> = self.server_list().into_iter().map(|s| s.0).collect();
        let clients = self.client_list();
        for (c, server, ..) in &clients {
            if !servers.contains(server) {
                return Err(format!("client {c} targets unknown server {server}"));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let what = format!("fault {} ({})", i + 1, f.action.word());
            for n in &f.nodes {
                if !servers.contains(n) && !clients.iter().any(|c| &c.0 == n) {
                    return Err(format!("{what} names unknown node {n}"));
                }
            }
            let (a, b) = match (f.at_s, f.at_s_range) {
                (Some(t), None) => (t, t),
                (None, Some([a, b])) if a > b => {
                    return Err(format!("{what}: at_s_range [{a}, {b}] is empty"))
                }
                (None, Some([a, b])) => (a, b),
                (Some(_), Some(_)) => {
                    return Err(format!("{what}: give at_s or at_s_range, not both"))
                }
                (None, None) => return Err(format!("{what}: needs at_s or at_s_range")),
            };
            if !(a >= 0.0 && b <= self.duration_s) {
                return Err(format!(
                    "{what} at {} is outside the run (0..{}s)",
                    f.when(),
                    self.duration_s
                ));
            }
            let misplaced = [
                ("torn", f.torn, FaultAction::Crash),
                ("fail", !f.fail.is_empty(), FaultAction::DiskFail),
                ("error", f.error.is_some(), FaultAction::DiskFail),
                ("target", f.target.is_some(), FaultAction::Replicaof),
                ("from", !f.from.is_empty(), FaultAction::Partition),
                ("args", !f.args.is_empty(), FaultAction::Command),
            ];
            if let Some((opt, ..)) = misplaced
                .iter()
                .find(|(_, set, act)| *set && f.action != *act)
            {
                return Err(format!("{what}: `{opt}` does not apply to this action"));
            }
            let is_node = |n: &String| servers.contains(n) || clients.iter().any(|c| &c.0 == n);
            crate::repl_check::validate_fault(f, &servers, is_node)
                .map_err(|e| format!("{what}: {e}"))?;
        }
        if let Some(r) = &self.expect.replication {
            r.validate(&servers)?;
        }
        Ok(())
    }

    /// The fault schedule for `seed`: (ms since start, fault), in time order (file order for
    /// equal times). Range times are drawn in file order from a generator seeded by `seed`.
    pub fn fault_schedule(&self, seed: u64) -> Vec<(u64, &Fault)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ FAULT_TIMES_SALT);
        let mut out: Vec<(u64, &Fault)> = self
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
                (ms, f)
            })
            .collect();
        out.sort_by_key(|(ms, _)| *ms);
        out
    }
}

/// Keeps fault times independent of other draws from the same seed.
const FAULT_TIMES_SALT: u64 = 0x6661_756c_7473;

fn secs_to_ms(s: f64) -> u64 {
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
mod tests {
    use super::*;

    fn with_fault(fault: &str) -> Result<Scenario, String> {
        Scenario::from_toml(&format!(
            "name = \"t\"\nseed = 1\nduration_s = 10\n[[server]]\nname = \"s1\"\n[[fault]]\n{fault}\n"
        ))
    }

    #[test]
    fn a_range_time_is_drawn_from_the_seed_within_the_range_and_replays() {
        let s = with_fault("at_s_range = [2, 7]\naction = \"crash\"\nnodes = [\"s1\"]").unwrap();
        let times: Vec<u64> = (0..50).map(|seed| s.fault_schedule(seed)[0].0).collect();
        assert!(times.iter().all(|t| (2000..=7000).contains(t)), "{times:?}");
        assert!(
            times
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 40
        );
        assert_eq!(s.fault_schedule(17)[0].0, s.fault_schedule(17)[0].0);
    }

    #[test]
    fn the_schedule_is_in_time_order() {
        let s = Scenario::from_toml(
            "name = \"t\"\nseed = 1\nduration_s = 10\n[[server]]\nname = \"s1\"\n\
             [[fault]]\nat_s = 9\naction = \"restart\"\nnodes = [\"s1\"]\n\
             [[fault]]\nat_s_range = [1, 8]\naction = \"crash\"\nnodes = [\"s1\"]\n",
        )
        .unwrap();
        let order: Vec<&str> = s
            .fault_schedule(3)
            .iter()
            .map(|(_, f)| f.action.word())
            .collect();
        assert_eq!(order, ["crash", "restart"]);
    }

    #[test]
    fn bad_fault_times_and_options_are_rejected_with_reasons() {
        let cases = [
            (
                "at_s_range = [7, 2]\naction = \"crash\"",
                "fault 1 (crash): at_s_range [7, 2] is empty",
            ),
            (
                "at_s_range = [5, 20]\naction = \"crash\"",
                "fault 1 (crash) at [5, 20]s is outside the run (0..10s)",
            ),
            (
                "at_s_range = [-1, 2]\naction = \"crash\"",
                "fault 1 (crash) at [-1, 2]s is outside the run (0..10s)",
            ),
            (
                "at_s = 11\naction = \"kill\"",
                "fault 1 (kill) at 11s is outside the run (0..10s)",
            ),
            (
                "at_s = 1\nat_s_range = [1, 2]\naction = \"crash\"",
                "fault 1 (crash): give at_s or at_s_range, not both",
            ),
            (
                "action = \"crash\"",
                "fault 1 (crash): needs at_s or at_s_range",
            ),
            (
                "at_s = 1\naction = \"kill\"\ntorn = true",
                "fault 1 (kill): `torn` does not apply to this action",
            ),
            (
                "at_s = 1\naction = \"crash\"\nfail = [\"write\"]",
                "fault 1 (crash): `fail` does not apply to this action",
            ),
            (
                "at_s = 1\naction = \"disk-heal\"\nerror = \"io\"",
                "fault 1 (disk-heal): `error` does not apply to this action",
            ),
            (
                "at_s = 1\naction = \"crash\"\nnodes = [\"s9\"]",
                "fault 1 (crash) names unknown node s9",
            ),
        ];
        for (fault, want) in cases {
            assert_eq!(with_fault(fault).unwrap_err(), want, "for {fault:?}");
        }
    }

    #[test]
    fn disk_fail_defaults_to_failing_writes_and_fsyncs_with_eio() {
        let s = with_fault("at_s = 1\naction = \"disk-fail\"\nnodes = [\"s1\"]").unwrap();
        assert_eq!(s.faults[0].fail_ops(), [FailOp::Write, FailOp::Fsync]);
        assert_eq!(s.faults[0].disk_error().message(), "Input/output error");
    }
}
