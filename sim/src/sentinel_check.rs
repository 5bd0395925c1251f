//! Sentinel's promises, judged from the trace of every run (whatever the scenario expects): the
//! Sentinels write what each decision was based on (`~leader-votes`, `~odown-opinions`,
//! `~candidates`, `~state`, trace-only lines beside Redis' own events), and these checks hold
//! each decision against what the other nodes did:
//!
//! - `sentinel.one_leader_per_epoch`: at most one Sentinel starts a failover of a master as the
//!   elected leader of an epoch;
//! - `sentinel.leader_majority`: the leader counted a majority of the Sentinels it knew and at
//!   least the quorum, and as many Sentinels did vote for it in that epoch (their
//!   `+vote-for-leader` lines);
//! - `sentinel.odown_quorum`: `+odown` only with `#quorum x/y` x >= y, and each opinion it counted
//!   is from a Sentinel that had the master SDOWN within the window Redis keeps opinions;
//! - `sentinel.promotion_order`: the replica selected was first of the eligible candidates by
//!   Redis' order (priority, larger offset, smaller run id) and had a priority above 0;
//! - `sentinel.epochs_never_go_back`: per Sentinel, epochs and vote epochs never go back, and a
//!   restarted Sentinel starts from at least the epoch of its last vote (votes are durable) —
//!   unless its disk was failing when it voted (Redis votes even when the config rewrite fails)
//!   or was replaced since (a new disk is a new Sentinel).
//!
//! Each violation names its check, its nodes and the simulated time of the decision.

use crate::check::{secs, Violation};
use crate::trace::parse_line;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// How long a peer's "down" opinion counts: 5 ask periods (5 s), plus a tick.
const OPINION_WINDOW_MS: u64 = 6000;

/// Every violation of Sentinel's promises in `trace` (a rendered trace).
pub fn check(trace: &str) -> Vec<Violation> {
    let mut c = Checker::default();
    for line in trace.lines() {
        if let Some((at_ms, node, event)) = parse_line(line) {
            c.observe(at_ms, node, event);
        }
    }
    c.out
}

#[derive(Default)]
struct Checker {
    out: Vec<Violation>,
    /// Run id -> node, from `~state`.
    nodes: BTreeMap<String, String>,
    /// (master, epoch) -> the leader's node, from `~leader-votes`.
    leaders: BTreeMap<(String, u64), String>,
    /// (voter node, epoch) -> the run ids it voted for.
    votes: BTreeMap<(String, u64), BTreeSet<String>>,
    /// Per node: the largest current epoch and vote epoch seen.
    epochs: BTreeMap<String, Epochs>,
    /// Nodes whose disk is failing (harness `disk-fail` until `disk-heal`).
    failing_disks: BTreeSet<String>,
    /// (node, master name) -> SDOWN periods (start, end if it ended: -sdown or +switch-master).
    sdown: BTreeMap<(String, String), Vec<Period>>,
    /// Per node: the opinions listed just before its next `+odown`.
    opinions: BTreeMap<String, Vec<String>>,
    /// Per node: the candidates listed just before its next `+selected-slave`.
    candidates: BTreeMap<String, Vec<Candidate>>,
}

/// A time span in ms: its start, and its end once it ended.
type Period = (u64, Option<u64>);

#[derive(Default)]
struct Epochs {
    current: u64,
    voted: u64,
    /// The largest epoch voted in while the disk worked: what a restart must remember.
    durable_vote: u64,
}

/// A replica a Sentinel could promote: `name/priority/offset/runid` (`-` for no run id).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    name: String,
    priority: u64,
    offset: u64,
    runid: Option<String>,
}

impl Candidate {
    fn parse(word: &str) -> Option<Candidate> {
        let mut parts = word.split('/');
        let name = parts.next()?.to_string();
        let priority = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        let runid = parts.next()?;
        let runid = (runid != "-").then(|| runid.to_ascii_lowercase());
        Some(Candidate {
            name,
            priority,
            offset,
            runid,
        })
    }

    /// Redis' order: lower priority, larger offset, smaller run id, no run id last.
    fn rank(&self) -> (u64, Reverse<u64>, bool, Option<&str>) {
        let runid = self.runid.as_deref();
        (self.priority, Reverse(self.offset), runid.is_none(), runid)
    }
}

impl Checker {
    fn observe(&mut self, at_ms: u64, node: &str, event: &str) {
        let words: Vec<&str> = event.split_whitespace().collect();
        match words.as_slice() {
            ["~state", "myid", id, "current-epoch", epoch, rest @ ..] => {
                self.nodes.insert(id.to_string(), node.to_string());
                let leader_epochs = rest.chunks(3).filter_map(|w| w.get(2)?.parse().ok());
                self.restarted(at_ms, node, num(epoch), leader_epochs.max());
            }
            ["+new-epoch", epoch] => self.new_epoch(at_ms, node, num(epoch)),
            ["disk-fail", nodes, ..] if node == "harness" => {
                self.failing_disks
                    .extend(nodes.split(',').map(str::to_string));
            }
            ["disk-heal", nodes, ..] if node == "harness" => {
                for n in nodes.split(',') {
                    self.failing_disks.remove(n);
                }
            }
            ["disk-loss", nodes, ..] if node == "harness" => {
                for n in nodes.split(',') {
                    self.epochs.remove(n);
                }
            }
            ["+vote-for-leader", leader, epoch] => self.voted(at_ms, node, leader, num(epoch)),
            ["~leader-votes", master, "epoch", epoch, rest @ ..] => {
                self.leader(at_ms, node, master, num(epoch), rest)
            }
            ["+sdown", "master", name, ..] => {
                let key = (node.to_string(), name.to_string());
                self.sdown.entry(key).or_default().push((at_ms, None));
            }
            // A switch ends the opinion about the old address as a -sdown does.
            ["-sdown", "master", name, ..] | ["+switch-master", name, ..] => {
                let key = (node.to_string(), name.to_string());
                if let Some(last) = self.sdown.get_mut(&key).and_then(|p| p.last_mut()) {
                    last.1.get_or_insert(at_ms);
                }
            }
            ["~odown-opinions", _, ids @ ..] => {
                let ids = ids
                    .iter()
                    .map(|w| w.trim_matches(['[', ']']))
                    .filter(|w| !w.is_empty());
                let ids = ids.map(str::to_string).collect();
                self.opinions.insert(node.to_string(), ids);
            }
            ["+odown", "master", ..] => self.odown(at_ms, node, &words),
            ["~candidates", _, list @ ..] => {
                let list = list.iter().filter_map(|w| Candidate::parse(w)).collect();
                self.candidates.insert(node.to_string(), list);
            }
            ["+selected-slave", "slave", name, ..] => self.selected(at_ms, node, name),
            _ => {}
        }
    }

    fn epochs(&mut self, node: &str) -> &mut Epochs {
        self.epochs.entry(node.to_string()).or_default()
    }

    /// A (re)start: it must remember at least the epoch of its last vote.
    fn restarted(&mut self, at_ms: u64, node: &str, current: u64, leader_epoch: Option<u64>) {
        let e = self.epochs(node);
        let (was_current, voted) = (e.current, e.durable_vote);
        let mut problems = Vec::new();
        if current < voted {
            problems.push(format!("current epoch {current}"));
        }
        if leader_epoch.unwrap_or(voted) < voted {
            problems.push(format!("last vote in epoch {}", leader_epoch.unwrap_or(0)));
        }
        if !problems.is_empty() {
            let text = format!(
                "{node} started with {} after voting in epoch {voted} (current epoch was {was_current})",
                problems.join(" and ")
            );
            self.violation("sentinel.epochs_never_go_back", &[node], at_ms, text);
        }
        let e = self.epochs(node);
        e.current = current;
        e.voted = e.voted.max(leader_epoch.unwrap_or(0));
        e.durable_vote = e.durable_vote.max(leader_epoch.unwrap_or(0));
    }

    fn new_epoch(&mut self, at_ms: u64, node: &str, epoch: u64) {
        let was = self.epochs(node).current;
        if epoch < was {
            let text = format!("{node} went from epoch {was} to {epoch}");
            self.violation("sentinel.epochs_never_go_back", &[node], at_ms, text);
        }
        self.epochs(node).current = epoch;
    }

    fn voted(&mut self, at_ms: u64, node: &str, leader: &str, epoch: u64) {
        let was = self.epochs(node).voted;
        if epoch < was {
            let text = format!("{node} voted in epoch {epoch} after voting in epoch {was}");
            self.violation("sentinel.epochs_never_go_back", &[node], at_ms, text);
        }
        let durable = !self.failing_disks.contains(node);
        let e = self.epochs(node);
        e.voted = e.voted.max(epoch);
        e.current = e.current.max(epoch);
        if durable {
            e.durable_vote = e.durable_vote.max(epoch);
        }
        let key = (node.to_string(), epoch);
        self.votes
            .entry(key)
            .or_default()
            .insert(leader.to_ascii_lowercase());
    }

    /// `~leader-votes <master> epoch <e> votes <n>/<voters> quorum <q>` (or `forced`, which an
    /// election does not bind: SENTINEL FAILOVER needs no votes).
    fn leader(&mut self, at_ms: u64, node: &str, master: &str, epoch: u64, rest: &[&str]) {
        let ["votes", counted, "quorum", quorum] = rest else {
            return;
        };
        let (n, voters) = counted.split_once('/').unwrap_or((counted, "0"));
        let (n, voters, quorum) = (num(n), num(voters), num(quorum));
        let key = (master.to_string(), epoch);
        if let Some(other) = self.leaders.get(&key).filter(|o| *o != node).cloned() {
            let text = format!(
                "{other} and {node} both started a failover of {master} as leader of epoch {epoch}"
            );
            self.violation(
                "sentinel.one_leader_per_epoch",
                &[&other, node],
                at_ms,
                text,
            );
        }
        self.leaders.insert(key, node.to_string());
        let myid = self.id_of(node);
        let granted: Vec<String> = self
            .votes
            .iter()
            .filter(|((_, e), ids)| *e == epoch && myid.as_ref().is_some_and(|id| ids.contains(id)))
            .map(|((voter, _), _)| voter.clone())
            .collect();
        let need = (voters / 2 + 1).max(quorum);
        if n < need || (granted.len() as u64) < need {
            let text = format!(
                "{node} led the failover of {master} in epoch {epoch} counting {n} of {voters} \
                 Sentinels (quorum {quorum}), and only {} voted for it ({}); it needs {need}",
                granted.len(),
                granted.join(", ")
            );
            self.violation("sentinel.leader_majority", &[node], at_ms, text);
        }
    }

    fn id_of(&self, node: &str) -> Option<String> {
        let found = self.nodes.iter().find(|(_, n)| *n == node);
        found.map(|(id, _)| id.to_ascii_lowercase())
    }

    /// `+odown master <name> <ip> <port> #quorum <x>/<y>`.
    fn odown(&mut self, at_ms: u64, node: &str, words: &[&str]) {
        let instance = words[1..5.min(words.len())].join(" ");
        let Some(q) = words.iter().position(|w| *w == "#quorum") else {
            return;
        };
        let (x, y) = words
            .get(q + 1)
            .and_then(|f| f.split_once('/'))
            .unwrap_or(("0", "0"));
        let (x, quorum) = (num(x), num(y));
        let opinions = self.opinions.remove(node).unwrap_or_default();
        let held: Vec<String> = opinions
            .iter()
            .filter_map(|id| self.nodes.get(id))
            .filter(|peer| self.was_sdown(peer, words.get(2).copied().unwrap_or(""), at_ms))
            .cloned()
            .collect();
        let confirmed = 1 + held.len() as u64;
        if x < quorum || confirmed < quorum {
            let text = format!(
                "{node} declared {instance} ODOWN with #quorum {x}/{quorum}, but only itself and \
                 {} other Sentinels ({}) had it down within {}",
                held.len(),
                held.join(", "),
                secs(OPINION_WINDOW_MS)
            );
            let mut nodes = vec![node];
            nodes.extend(held.iter().map(String::as_str));
            self.violation("sentinel.odown_quorum", &nodes, at_ms, text);
        }
    }

    /// Whether `peer` had master `name` SDOWN at some moment in the opinion window before
    /// `at_ms`, at whatever address it knew it by: Redis' is-master-down-by-addr reply names no
    /// address, so a late reply about a master's old address counts for its new one, as in
    /// Redis (the flag lives until 5 s after the reply).
    fn was_sdown(&self, peer: &str, name: &str, at_ms: u64) -> bool {
        let from = at_ms.saturating_sub(OPINION_WINDOW_MS);
        let key = (peer.to_string(), name.to_string());
        self.sdown.get(&key).is_some_and(|periods| {
            periods
                .iter()
                .any(|(start, end)| *start <= at_ms && end.is_none_or(|e| e >= from))
        })
    }

    fn selected(&mut self, at_ms: u64, node: &str, name: &str) {
        let candidates = self.candidates.remove(node).unwrap_or_default();
        let best = candidates.iter().min_by(|a, b| a.rank().cmp(&b.rank()));
        let chosen = candidates.iter().find(|c| c.name == name);
        let problem = match (chosen, best) {
            (None, _) => Some(format!("{name} was not among the eligible candidates")),
            (Some(c), _) if c.priority == 0 => Some(format!("{name} has replica-priority 0")),
            (Some(c), Some(b)) if c.rank() != b.rank() => Some(format!(
                "{} comes first by priority, offset and run id",
                b.name
            )),
            _ => None,
        };
        if let Some(why) = problem {
            let listed: Vec<String> = candidates
                .iter()
                .map(|c| {
                    let runid = c.runid.as_deref().unwrap_or("-");
                    format!(
                        "{} (priority {}, offset {}, run id {runid})",
                        c.name, c.priority, c.offset
                    )
                })
                .collect();
            let text = format!(
                "{node} selected {name} for promotion, but {why}; candidates: {}",
                listed.join(", ")
            );
            self.violation("sentinel.promotion_order", &[node], at_ms, text);
        }
    }

    fn violation(&mut self, check: &'static str, nodes: &[&str], at_ms: u64, text: String) {
        self.out.push(Violation::new(check, nodes, at_ms, text));
    }
}

fn num(word: &str) -> u64 {
    word.parse().unwrap_or(0)
}

#[cfg(test)]
#[path = "sentinel_check_tests.rs"]
mod tests;
