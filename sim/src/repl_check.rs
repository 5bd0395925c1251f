//! Judging replication, as pure functions over what the harness observed: the roles a scenario
//! expects at the end (from configs, `replicaof` faults and restarts) and a single master among
//! them, INFO replication samples (offsets must never go back within one replication ID in one
//! process), datasets of a replica and its master, and writes acknowledged while their server
//! was a replica throughout. Checks are named `replication.<what>` in violations.

use crate::check::{secs, ClientResult, Violation};
use crate::scenario::{Fault, FaultAction, Scenario};
use bytes::Bytes;
use redsim::config::{file::apply_text, Config};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keys or events named in one violation.
const NAMED: usize = 3;

/// `[expect.replication]`: turns on every replication check. After the run (faults healed, quiet
/// period) each replica must catch up with its master and hold the same dataset, final roles
/// must match, offsets must never have gone back within one replication ID, and no replica may
/// have acknowledged a client write.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReplExpect {
    /// Final roles that differ from what configs and faults say: `"master"`, `"s1"` (replica
    /// of s1, link up, same dataset) or `"s1 down"` (replica of s1 whose link is down).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, String>,
    /// Longest wait for replicas to catch up after the quiet period (default 20 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_s: Option<f64>,
}

impl ReplExpect {
    pub fn validate(&self, servers: &[String]) -> Result<(), String> {
        for (name, role) in &self.roles {
            if !servers.contains(name) {
                return Err(format!(
                    "expect.replication.roles names unknown server {name}"
                ));
            }
            match Role::parse(role)? {
                Role::Replica { of, .. } if !servers.contains(&of) => {
                    return Err(format!(
                        "expect.replication.roles: {name} follows unknown server {of}"
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn settle_ms(&self) -> u64 {
        (self.settle_s.unwrap_or(20.0) * 1000.0) as u64
    }
}

/// A server's role at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica { of: String, up: bool },
}

impl Role {
    fn parse(s: &str) -> Result<Role, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["master"] => Ok(Role::Master),
            [of] => Ok(Role::Replica {
                of: of.to_string(),
                up: true,
            }),
            [of, "down"] => Ok(Role::Replica {
                of: of.to_string(),
                up: false,
            }),
            _ => Err(format!(
                "bad role {s:?}: use \"master\", \"<server>\" or \"<server> down\""
            )),
        }
    }

    fn describe(&self) -> String {
        match self {
            Role::Master => "master".into(),
            Role::Replica { of, up: true } => format!("replica of {of} with its link up"),
            Role::Replica { of, up: false } => format!("replica of {of} with its link down"),
        }
    }
}

/// Checks a fault's replication options: `replicaof` needs a `target` (a server or `no one`) and
/// applies to servers only; a partition's `from` names known nodes.
/// `is_node` tells whether a name is a server or a client.
pub fn validate_fault(
    f: &Fault,
    servers: &[String],
    is_node: impl Fn(&String) -> bool,
) -> Result<(), String> {
    if let Some(n) = f.from.iter().find(|n| !is_node(n)) {
        return Err(format!("`from` names unknown node {n}"));
    }
    if f.action == FaultAction::Command {
        if f.args.is_empty() {
            return Err("needs `args` (the command to send)".into());
        }
        return match f.nodes.iter().find(|n| !servers.contains(n)) {
            Some(n) => Err(format!("{n} is not a server")),
            None => Ok(()),
        };
    }
    if f.action != FaultAction::Replicaof {
        return Ok(());
    }
    match f.target.as_deref() {
        None => return Err("needs a `target` (a server name or \"no one\")".into()),
        Some(t) if !is_no_one(t) && !servers.iter().any(|s| s == t) => {
            return Err(format!("target {t} is not a server"))
        }
        _ => {}
    }
    match f.nodes.iter().find(|n| !servers.contains(n)) {
        Some(n) => Err(format!("{n} is not a server")),
        None => Ok(()),
    }
}

/// `no one`, as REPLICAOF spells it (any case).
pub fn is_no_one(target: &str) -> bool {
    target.eq_ignore_ascii_case("no one")
}

/// Every server's parsed config (servers whose config does not parse are left out).
pub fn server_configs(scenario: &Scenario) -> BTreeMap<String, Config> {
    let mut out = BTreeMap::new();
    for (name, lines) in scenario.server_list() {
        let mut config = Config::default();
        if apply_text(&mut config, &lines.join("\n")).is_ok() {
            out.insert(name, config);
        }
    }
    out
}

/// The roles a run with `seed` should end with: each server's `replicaof` line, changed by
/// `replicaof` faults in schedule order, reset to the config by a restart, then `roles` overrides.
pub fn expected_roles(scenario: &Scenario, seed: u64, e: &ReplExpect) -> BTreeMap<String, Role> {
    let from_config = |c: &Config| match &c.replicaof {
        Some((host, _)) => Role::Replica {
            of: host.clone(),
            up: true,
        },
        None => Role::Master,
    };
    let configs = server_configs(scenario);
    let mut roles: BTreeMap<String, Role> = configs
        .iter()
        .map(|(n, c)| (n.clone(), from_config(c)))
        .collect();
    for (_, f) in &scenario.fault_schedule(seed) {
        for n in &f.nodes {
            let role = match (f.action, f.target.as_deref(), configs.get(n)) {
                (FaultAction::Replicaof, Some(t), _) if is_no_one(t) => Role::Master,
                (FaultAction::Replicaof, Some(t), _) => Role::Replica {
                    of: t.to_string(),
                    up: true,
                },
                (FaultAction::Restart, _, Some(c)) => from_config(c),
                _ => continue,
            };
            roles.insert(n.clone(), role);
        }
    }
    for (n, r) in &e.roles {
        if let Ok(r) = Role::parse(r) {
            roles.insert(n.clone(), r);
        }
    }
    roles
}

/// A server's role over time, from its trace events: `ready` (a process starts as a master),
/// `replicaof host:port`, `role master`.
#[derive(Clone, Debug, Default)]
pub struct RoleWatch {
    /// (ms, is a replica from then on), in time order.
    changes: Vec<(u64, bool)>,
}

impl RoleWatch {
    pub fn observe(&mut self, at_ms: u64, event: &str) {
        let replica = match event {
            "ready" | "role master" => false,
            e if e.starts_with("replicaof ") => true,
            _ => return,
        };
        if self.changes.last().map(|c| c.1) != Some(replica) {
            self.changes.push((at_ms, replica));
        }
    }

    /// True if the server was a replica from before `from_ms` through `to_ms` (a change at either
    /// end counts as possibly a master).
    pub fn replica_throughout(&self, from_ms: u64, to_ms: u64) -> bool {
        let last = self.changes.iter().rev().find(|(t, _)| *t <= to_ms);
        matches!(last, Some(&(t, true)) if t < from_ms)
    }
}

/// Writes acknowledged by a server that was a replica for the whole time the write was in flight.
pub fn replica_acks(
    results: &[ClientResult],
    roles: &BTreeMap<String, RoleWatch>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for r in results {
        let Some(watch) = roles.get(&r.server) else {
            continue;
        };
        let bad: Vec<(String, u64)> = r
            .acked
            .iter()
            .filter(|(_, a)| watch.replica_throughout(a.sent_ms, a.at_ms))
            .map(|(k, a)| {
                (
                    format!("{} at {}", String::from_utf8_lossy(k), secs(a.at_ms)),
                    a.at_ms,
                )
            })
            .collect();
        if let Some(first_ms) = bad.iter().map(|b| b.1).min() {
            let names: Vec<String> = bad.into_iter().map(|b| b.0).collect();
            out.push(Violation::new(
                "replication.replica_acked_write",
                &[&r.name, &r.server],
                first_ms,
                format!(
                    "a replica acknowledged {} writes: {}",
                    names.len(),
                    named(&names)
                ),
            ));
        }
    }
    out
}

/// One INFO server+replication reading of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub at_ms: u64,
    pub run_id: String,
    /// `master` or `slave`.
    pub role: String,
    pub replid: String,
    pub offset: i64,
    pub master_host: String,
    pub link_up: bool,
    /// Keys in db 0.
    pub keys: u64,
}

impl Sample {
    /// Reads the fields from INFO text; `None` if one that every reply has is missing.
    pub fn parse(at_ms: u64, info: &str) -> Option<Sample> {
        let fields: BTreeMap<&str, &str> = info
            .lines()
            .filter_map(|l| l.trim_end().split_once(':'))
            .collect();
        Some(Sample {
            at_ms,
            run_id: fields.get("run_id")?.to_string(),
            role: fields.get("role")?.to_string(),
            replid: fields.get("master_replid")?.to_string(),
            offset: fields.get("master_repl_offset")?.parse().ok()?,
            master_host: fields.get("master_host").unwrap_or(&"").to_string(),
            link_up: fields.get("master_link_status") == Some(&"up"),
            keys: fields
                .get("db0")
                .and_then(|v| v.strip_prefix("keys="))
                .and_then(|v| v.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }

    /// True if this reading shows `role`.
    pub fn shows(&self, role: &Role) -> bool {
        match role {
            Role::Master => self.role == "master",
            Role::Replica { of, up } => {
                self.role == "slave" && &self.master_host == of && self.link_up == *up
            }
        }
    }

    fn describe(&self) -> String {
        if self.role == "master" {
            "master".into()
        } else {
            let link = if self.link_up { "up" } else { "down" };
            format!("replica of {} with its link {link}", self.master_host)
        }
    }
}

/// Offsets that went back within one replication ID in one process (same run_id), per server.
pub fn offsets_backwards(samples: &BTreeMap<String, Vec<Sample>>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (server, list) in samples {
        let mut last: BTreeMap<(&str, &str), &Sample> = BTreeMap::new();
        let mut bad = Vec::new();
        let mut first_ms = None;
        for s in list {
            if let Some(prev) = last.insert((&s.run_id, &s.replid), s) {
                if s.offset < prev.offset {
                    first_ms.get_or_insert(s.at_ms);
                    bad.push(format!(
                        "{} at {} -> {} at {} (replid {})",
                        prev.offset,
                        secs(prev.at_ms),
                        s.offset,
                        secs(s.at_ms),
                        &s.replid[..s.replid.len().min(8)]
                    ));
                }
            }
        }
        if let Some(at_ms) = first_ms {
            out.push(Violation::new(
                "replication.offsets",
                &[server],
                at_ms,
                format!(
                    "master_repl_offset went back {} times: {}",
                    bad.len(),
                    named(&bad)
                ),
            ));
        }
    }
    out
}

/// Spans of consecutive readings of one process showing a replica whose link is down: a trace
/// line for each (from, to, keys), and a violation where its dataset changed in between without
/// its replication position moving (a replica cut off from its master must keep its data).
pub fn link_down_spans(samples: &BTreeMap<String, Vec<Sample>>) -> (Vec<String>, Vec<Violation>) {
    let (mut lines, mut violations) = (Vec::new(), Vec::new());
    let down = |s: &Sample| s.role == "slave" && !s.link_up;
    for (server, list) in samples {
        for span in list
            .chunk_by(|a, b| down(a) && down(b) && a.run_id == b.run_id)
            .filter(|span| span.len() > 1)
        {
            let (first, last) = (&span[0], &span[span.len() - 1]);
            let keys = if first.keys == last.keys {
                format!("{} keys kept", first.keys)
            } else {
                format!("{} keys, then {}", first.keys, last.keys)
            };
            lines.push(format!(
                "{server} link down {}..{}: {keys}",
                secs(first.at_ms),
                secs(last.at_ms)
            ));
            if let Some(w) = span.windows(2).find(|w| {
                (&w[0].replid, w[0].offset) == (&w[1].replid, w[1].offset) && w[0].keys != w[1].keys
            }) {
                violations.push(Violation::new(
                    "replication.link_down_dataset",
                    &[server],
                    w[1].at_ms,
                    format!(
                        "its dataset changed while its link was down ({} keys at {}, {} at {})",
                        w[0].keys,
                        secs(w[0].at_ms),
                        w[1].keys,
                        secs(w[1].at_ms)
                    ),
                ));
            }
        }
    }
    (lines, violations)
}

/// What an expected role check finds wrong with a server's last reading (taken at `at_ms`).
pub fn role_mismatch(
    server: &str,
    want: &Role,
    got: Option<&Sample>,
    at_ms: u64,
) -> Option<Violation> {
    let text = match got {
        Some(s) if s.shows(want) => return None,
        Some(s) => format!("expected {}, found {}", want.describe(), s.describe()),
        None => format!("expected {}, but it did not answer INFO", want.describe()),
    };
    Some(Violation::new("replication.roles", &[server], at_ms, text))
}

/// After the heal, exactly the one server expected to be a master may say it is one (when the
/// scenario expects exactly one); `now` holds the last readings, taken at `at_ms`.
pub fn single_master(
    expected: &BTreeMap<String, Role>,
    now: &BTreeMap<String, Sample>,
    at_ms: u64,
) -> Option<Violation> {
    let want: Vec<&String> = expected
        .iter()
        .filter(|(_, r)| **r == Role::Master)
        .map(|(n, _)| n)
        .collect();
    let found: Vec<&String> = now
        .iter()
        .filter(|(_, s)| s.role == "master")
        .map(|(n, _)| n)
        .collect();
    if want.len() != 1 || found == want {
        return None;
    }
    let names = |v: &[&String]| match v.is_empty() {
        true => "none".to_string(),
        false => v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
    };
    let nodes: Vec<&str> = want.iter().chain(&found).map(|s| s.as_str()).collect();
    Some(Violation::new(
        "replication.single_master",
        &nodes,
        at_ms,
        format!(
            "expected {} as the only master after the heal, found masters: {}",
            want[0],
            names(&found)
        ),
    ))
}

/// How a replica's dataset differs from its master's; `None` if they are equal.
pub fn dataset_diff(
    replica: &BTreeMap<Bytes, Bytes>,
    master: &BTreeMap<Bytes, Bytes>,
) -> Option<String> {
    let show = |k: &Bytes| String::from_utf8_lossy(k).into_owned();
    let missing: Vec<String> = master
        .keys()
        .filter(|k| !replica.contains_key(*k))
        .map(show)
        .collect();
    let extra: Vec<String> = replica
        .keys()
        .filter(|k| !master.contains_key(*k))
        .map(show)
        .collect();
    let changed: Vec<String> = master
        .iter()
        .filter(|(k, v)| replica.get(*k).is_some_and(|r| r != *v))
        .map(|(k, _)| show(k))
        .collect();
    let parts: Vec<String> = [
        ("missing", missing),
        ("extra", extra),
        ("with other values", changed),
    ]
    .into_iter()
    .filter(|(_, keys)| !keys.is_empty())
    .map(|(what, keys)| format!("{} keys {what} ({})", keys.len(), named(&keys)))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The first few items, and how many more.
fn named(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMED {
        s.push_str(&format!(", … {} more", items.len() - NAMED));
    }
    s
}

#[cfg(test)]
#[path = "repl_check_tests.rs"]
mod tests;
