//! One fault as scenario files, the nemesis and shrunk schedules write it — when, what, on which
//! nodes, the action's options — and the checks of one fault against the scenario's nodes.
//!
//! ```toml
//! [[fault]]
//! at_s_range = [5, 20]    # or: at_s = 12.5
//! action = "crash"        # kill crash restart partition heal pause resume clock-jump disk-fail
//!                         # disk-heal disk-loss replicaof latency command
//! nodes = ["s1"]
//! torn = true             # crash: a seeded prefix of the unsynced appends survives
//! on_full_sync = true     # kill/crash of one server: strike when a full sync to it begins
//! # disk-fail: fail = ["write", "fsync"] (default both), error = "io" (EIO) or "no-space" (ENOSPC)
//! # clock-jump: jump_s = -30
//! # partition: from = ["s1"] cuts `nodes` off from these only (default: from every other node);
//! #            one_way = true cuts only what `nodes` send
//! # replicaof: target = "s1" (a server name) or "no one"; sent as REPLICAOF to each of `nodes`
//! # latency: latency_ms = [100, 400] sets every message's delay; without it, madsim's default
//! # command: args = ["SENTINEL", "FAILOVER", "mymaster"]; sent to each of `nodes`
//! ```

use crate::disk::{DiskError, FailOp};
use serde::{Deserialize, Serialize};

/// How long a fault marked `on_full_sync` waits for a full sync to begin before it strikes anyway.
pub const FULL_SYNC_WAIT_MS: u64 = 3_000;
/// Longest message delay a `latency` fault may set.
const MAX_LATENCY_MS: u64 = 60_000;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, in seconds from the start; or give `at_s_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_s: Option<f64>,
    /// `[a, b]`: a time in this range drawn from the run's seed (millisecond steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_s_range: Option<[f64; 2]>,
    pub action: FaultAction,
    /// Nodes the action applies to (for `partition`: the side cut off from everyone else).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// For `clock-jump`: how far the wall clock moves (may be negative).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jump_s: f64,
    /// For `crash`: the unsynced appends to the file appended to last are torn (a seeded strict
    /// prefix of them survives, possibly ending inside one).
    #[serde(default, skip_serializing_if = "is_false")]
    pub torn: bool,
    /// For `disk-fail`: the operations that fail (default: writes and fsyncs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fail: Vec<FailOp>,
    /// For `disk-fail`: the error they return (default `io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DiskError>,
    /// For `replicaof`: the server to follow, or `no one`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// For `partition`: the other side (default: every node not in `nodes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// For `partition`: cut only what `nodes` send to the other side (they still receive).
    #[serde(default, skip_serializing_if = "is_false")]
    pub one_way: bool,
    /// For `latency`: every message sent from now on is delayed by a time drawn in this range
    /// (ms); without it, madsim's default (1..10 ms) comes back. madsim has one latency for the
    /// whole network, so a spike slows every link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<[u64; 2]>,
    /// For `kill` and `crash` of one server: armed at the fault's time, it strikes when a master
    /// starts a full sync to that server (its `+slave <address> full` event), or
    /// `FULL_SYNC_WAIT_MS` later if none began (always so with `quiet_trace`, whose trace lacks
    /// the servers' events).
    #[serde(default, skip_serializing_if = "is_false")]
    pub on_full_sync: bool,
    /// For `command`: the command and its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_false(b: &bool) -> bool {
    !b
}

impl Fault {
    /// A fault at `at_ms` with no options.
    pub fn new(at_ms: u64, action: FaultAction, nodes: &[&str]) -> Fault {
        Fault {
            at_s: Some(at_ms as f64 / 1000.0),
            at_s_range: None,
            action,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            jump_s: 0.0,
            torn: false,
            fail: Vec::new(),
            error: None,
            target: None,
            from: Vec::new(),
            one_way: false,
            latency_ms: None,
            on_full_sync: false,
            args: Vec::new(),
        }
    }

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

    /// The harness's trace line for this fault: `kill s1` and what applying it added.
    pub fn trace_line(&self, detail: &str) -> String {
        let head = match self.nodes.is_empty() {
            true => self.action.word().to_string(),
            false => format!("{} {}", self.action.word(), self.nodes.join(",")),
        };
        format!("{head}{detail}").trim_end().to_string()
    }

    /// A `partition` line's detail: the other side if given, and the direction if one way.
    pub fn partition_detail(&self) -> String {
        let from = match self.from.is_empty() {
            true => String::new(),
            false => format!(" from {}", self.from.join(",")),
        };
        let way = if self.one_way {
            " (one way: what they send)"
        } else {
            ""
        };
        format!("{from}{way}")
    }

    /// A `latency` line's detail: the range, or `default`.
    pub fn latency_detail(&self) -> String {
        match self.latency_ms {
            Some([lo, hi]) => format!(" {lo}..{hi}ms"),
            None => " default".into(),
        }
    }

    /// The time as written: `12s` or `[5, 20]s`.
    fn when(&self) -> String {
        match (self.at_s, self.at_s_range) {
            (_, Some([a, b])) => format!("[{a}, {b}]s"),
            (t, None) => format!("{}s", t.unwrap_or(0.0)),
        }
    }

    /// Checks the fault (number `i`, from 0) of a run of `duration_s` against the scenario's
    /// servers and clients.
    pub fn validate(
        &self,
        i: usize,
        duration_s: f64,
        servers: &[String],
        clients: &[String],
    ) -> Result<(), String> {
        let what = format!("fault {} ({})", i + 1, self.action.word());
        let is_node = |n: &String| servers.contains(n) || clients.contains(n);
        if let Some(n) = self.nodes.iter().find(|n| !is_node(n)) {
            return Err(format!("{what} names unknown node {n}"));
        }
        let (a, b) = match (self.at_s, self.at_s_range) {
            (Some(t), None) => (t, t),
            (None, Some([a, b])) if a > b => {
                return Err(format!("{what}: at_s_range [{a}, {b}] is empty"))
            }
            (None, Some([a, b])) => (a, b),
            (Some(_), Some(_)) => return Err(format!("{what}: give at_s or at_s_range, not both")),
            (None, None) => return Err(format!("{what}: needs at_s or at_s_range")),
        };
        if !(a >= 0.0 && b <= duration_s) {
            return Err(format!(
                "{what} at {} is outside the run (0..{duration_s}s)",
                self.when()
            ));
        }
        let kill_or_crash = [FaultAction::Kill, FaultAction::Crash];
        let misplaced = [
            ("torn", self.torn, &[FaultAction::Crash][..]),
            ("fail", !self.fail.is_empty(), &[FaultAction::DiskFail]),
            ("error", self.error.is_some(), &[FaultAction::DiskFail]),
            ("target", self.target.is_some(), &[FaultAction::Replicaof]),
            ("from", !self.from.is_empty(), &[FaultAction::Partition]),
            ("one_way", self.one_way, &[FaultAction::Partition]),
            (
                "latency_ms",
                self.latency_ms.is_some(),
                &[FaultAction::Latency],
            ),
            ("on_full_sync", self.on_full_sync, &kill_or_crash),
            ("args", !self.args.is_empty(), &[FaultAction::Command]),
        ];
        if let Some((opt, ..)) = misplaced
            .iter()
            .find(|(_, set, acts)| *set && !acts.contains(&self.action))
        {
            return Err(format!("{what}: `{opt}` does not apply to this action"));
        }
        if self.action == FaultAction::Latency {
            if !self.nodes.is_empty() {
                return Err(format!(
                    "{what}: latency applies to the whole network, not `nodes`"
                ));
            }
            if let Some([lo, hi]) = self.latency_ms {
                if lo == 0 || lo > hi || hi > MAX_LATENCY_MS {
                    return Err(format!(
                        "{what}: latency_ms [{lo}, {hi}] must be 1 <= low <= high <= {MAX_LATENCY_MS}"
                    ));
                }
            }
        }
        if self.on_full_sync {
            if self.nodes.len() != 1 || !servers.contains(&self.nodes[0]) {
                return Err(format!(
                    "{what}: on_full_sync needs exactly one server in `nodes`"
                ));
            }
            if b + FULL_SYNC_WAIT_MS as f64 / 1000.0 > duration_s {
                return Err(format!(
                    "{what}: on_full_sync waits up to {}s, past the end of the run",
                    FULL_SYNC_WAIT_MS / 1000
                ));
            }
        }
        crate::repl_check::validate_fault(self, servers, is_node)
            .map_err(|e| format!("{what}: {e}"))
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// The process dies (kill -9); the OS keeps what it had written.
    Kill,
    /// The machine loses power: the process dies and unsynced disk writes are lost.
    Crash,
    /// Start a killed or crashed node again (a node still running is left alone).
    Restart,
    /// Cut `nodes` off from every other node (or from `from`), both directions or `one_way`.
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
    /// The nodes' disks are replaced by empty ones: every file is gone (meant for a dead node).
    DiskLoss,
    /// The harness sends `REPLICAOF <target> <port>` (or `REPLICAOF NO ONE`) to the nodes.
    Replicaof,
    /// Every message's delay becomes `latency_ms` (or madsim's default again).
    Latency,
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
            FaultAction::DiskLoss => "disk-loss",
            FaultAction::Replicaof => "replicaof",
            FaultAction::Latency => "latency",
            FaultAction::Command => "command",
        }
    }
}
