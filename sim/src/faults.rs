//! Playing the fault schedule against the running nodes: process deaths and restarts, power
//! loss on the node's disk, network partitions (both ways or one way), latency, pauses, clock
//! jumps and disk failures, each at its time — and kills or crashes that wait for a full sync to
//! begin. Each application records its trace line; kills and crashes are remembered for the
//! durability check.

use crate::check::Loss;
use crate::env::NodeShared;
use crate::fault_spec::FULL_SYNC_WAIT_MS;
use crate::replication::Harness;
use crate::scenario::{Fault, FaultAction};
use crate::trace::Trace;
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use madsim::time::{sleep_until, Instant};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A node's identity in the run.
pub struct NodeEntry {
    pub shared: Arc<NodeShared>,
    pub handle: NodeHandle,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub restarts: Arc<AtomicU32>,
}

/// What playing a schedule needs from the run.
pub struct Stage<'a> {
    pub handle: &'a Handle,
    pub nodes: &'a BTreeMap<String, NodeEntry>,
    pub harness: Option<&'a Harness>,
    pub trace: &'a Trace,
    pub origin: Instant,
    /// The run's seed (torn crashes draw from it).
    pub seed: u64,
}

/// A fault waiting for a full sync to its node to begin.
struct Armed {
    fault: Fault,
    /// The master's trace event that starts the full sync.
    event: String,
    deadline_ms: u64,
}

/// Fault state the run accumulates.
#[derive(Default)]
pub struct FaultState {
    /// Links (from, to) cut by partitions, to restore on `heal`.
    clogged: Vec<(NodeId, NodeId)>,
    /// A `latency` fault changed madsim's message delays.
    latency_changed: bool,
    /// Per node: when it lost its memory, and its last completed save then.
    pub losses: BTreeMap<String, Vec<Loss>>,
}

impl FaultState {
    /// Plays `schedule` ((ms, fault) in time order): each fault at its time, except that one
    /// marked `on_full_sync` is armed then and strikes when a master starts a full sync to its
    /// node (or `FULL_SYNC_WAIT_MS` later), while the rest of the schedule goes on.
    pub async fn play(&mut self, st: &Stage<'_>, schedule: Vec<(u64, Fault)>) {
        let at_ms = || Instant::now().duration_since(st.origin).as_millis() as u64;
        let mut timed = std::collections::VecDeque::from(schedule);
        let mut armed: Vec<Armed> = Vec::new();
        let mut changes = st.trace.subscribe();
        let mut seen = st.trace.len();
        loop {
            let next = timed.front().map(|(ms, _)| *ms);
            let Some(next) = next
                .into_iter()
                .chain(armed.iter().map(|a| a.deadline_ms))
                .min()
            else {
                break;
            };
            let wake = sleep_until(st.origin + Duration::from_millis(next));
            if armed.is_empty() {
                wake.await;
            } else {
                tokio::select! {
                    biased;
                    _ = wake => {}
                    _ = changes.changed() => {}
                }
                changes.borrow_and_update();
            }
            let now = at_ms();
            let events = st.trace.since(seen);
            seen += events.len();
            let mut due: Vec<(Fault, &str)> = Vec::new();
            armed.retain(|a| {
                let note = if events.iter().any(|(_, _, e)| *e == a.event) {
                    " (as a full sync to it began)"
                } else if a.deadline_ms <= now {
                    " (no full sync to it began)"
                } else {
                    return true;
                };
                due.push((a.fault.clone(), note));
                false
            });
            // One timed fault per turn: the next one sleeps until its time even when that has
            // passed, as a run without armed faults always did.
            if let Some((_, f)) = timed.pop_front_if(|(ms, _)| *ms <= now) {
                match st.nodes.get(f.nodes.first().map_or("", String::as_str)) {
                    Some(n) if f.on_full_sync => armed.push(Armed {
                        event: format!("+slave {}:{} full", n.ip, n.port),
                        deadline_ms: now + FULL_SYNC_WAIT_MS,
                        fault: f,
                    }),
                    _ => due.push((f, "")),
                }
            }
            for (f, note) in due {
                // A REPLICAOF before this one may have taken time.
                let now = at_ms();
                let mut line = self.apply(st.handle, st.nodes, &f, now, st.seed);
                match (f.action, st.harness) {
                    (FaultAction::Replicaof, Some(h)) => line.push_str(&h.replicaof(&f).await),
                    (FaultAction::Command, Some(h)) => line.push_str(&h.command(&f).await),
                    _ => {}
                }
                st.trace.record(now, "harness", line + note);
            }
        }
    }

    /// Applies `f` at `now_ms`; returns the trace line. `seed` feeds torn crashes.
    pub fn apply(
        &mut self,
        handle: &Handle,
        nodes: &BTreeMap<String, NodeEntry>,
        f: &Fault,
        now_ms: u64,
        seed: u64,
    ) -> String {
        let targets: Vec<(&String, &NodeEntry)> = f
            .nodes
            .iter()
            .filter_map(|n| nodes.get_key_value(n))
            .collect();
        let detail = match f.action {
            FaultAction::Kill => {
                for (name, n) in &targets {
                    handle.kill(n.handle.id());
                    self.lost_memory(name, n, "kill", now_ms);
                }
                String::new()
            }
            FaultAction::Crash => self.crash(handle, &targets, f.torn, now_ms, seed),
            FaultAction::Restart => {
                let mut running = Vec::new();
                for (name, n) in &targets {
                    if !handle.is_exit(n.handle.id()) {
                        running.push(name.as_str());
                        continue;
                    }
                    n.restarts.fetch_add(1, Ordering::Relaxed);
                    handle.restart(n.handle.id());
                }
                match running.is_empty() {
                    true => String::new(),
                    false => format!(" ({} running)", running.join(", ")),
                }
            }
            FaultAction::Partition => {
                let net = NetSim::current();
                let inside: Vec<NodeId> = targets.iter().map(|(_, n)| n.handle.id()).collect();
                for other in nodes
                    .iter()
                    .filter(|(name, _)| f.from.is_empty() || f.from.contains(name))
                    .map(|(_, n)| n.handle.id())
                    .filter(|id| !inside.contains(id))
                {
                    for &a in &inside {
                        let mut links = vec![(a, other)];
                        if !f.one_way {
                            links.push((other, a));
                        }
                        for (from, to) in links {
                            net.clog_link(from, to);
                            self.clogged.push((from, to));
                        }
                    }
                }
                f.partition_detail()
            }
            FaultAction::Heal => {
                self.heal_network();
                String::new()
            }
            FaultAction::Pause => {
                targets
                    .iter()
                    .for_each(|(_, n)| handle.pause(n.handle.id()));
                String::new()
            }
            FaultAction::Resume => {
                targets
                    .iter()
                    .for_each(|(_, n)| handle.resume(n.handle.id()));
                String::new()
            }
            FaultAction::ClockJump => {
                for (_, n) in &targets {
                    n.shared
                        .wall_offset_ms
                        .fetch_add((f.jump_s * 1000.0) as i64, Ordering::Relaxed);
                }
                format!(" by {}s", f.jump_s)
            }
            FaultAction::DiskFail => {
                let (ops, error) = (f.fail_ops(), f.disk_error());
                targets
                    .iter()
                    .for_each(|(_, n)| n.shared.disk.fail(&ops, error));
                let words: Vec<&str> = ops.iter().map(|o| o.word()).collect();
                format!(" ({}: {})", words.join(","), error.message())
            }
            // The harness node sends the command (`crate::replication`); this names the target.
            FaultAction::Replicaof => format!(" {}", f.target.as_deref().unwrap_or_default()),
            FaultAction::Command => format!(" {}", f.args.join(" ")),
            FaultAction::DiskLoss => {
                let gone: usize = targets.iter().map(|(_, n)| n.shared.disk.wipe()).sum();
                let s = if gone == 1 { "" } else { "s" };
                format!(" ({gone} file{s} gone)")
            }
            FaultAction::Latency => {
                self.set_latency(f.latency_ms);
                f.latency_detail()
            }
            FaultAction::DiskHeal => {
                let failed: u64 = targets.iter().map(|(_, n)| n.shared.disk.heal()).sum();
                let s = if failed == 1 { "" } else { "s" };
                format!(" ({failed} operation{s} had failed)")
            }
        };
        f.trace_line(&detail)
    }

    fn crash(
        &mut self,
        handle: &Handle,
        targets: &[(&String, &NodeEntry)],
        torn: bool,
        now_ms: u64,
        seed: u64,
    ) -> String {
        let mut lost = 0;
        let mut tears = Vec::new();
        for (name, n) in targets {
            handle.kill(n.handle.id());
            let crashes = self.losses.get(*name).map_or(0, Vec::len) as u32;
            let r = torn.then(|| crate::run::mix(seed, &format!("torn/{name}"), crashes));
            let out = n.shared.disk.crash(r);
            lost += out.lost_bytes;
            if let Some((kept, len)) = out.torn {
                tears.push(format!(
                    "; {name}: unsynced appends torn, {kept} of {len} bytes kept"
                ));
            }
            self.lost_memory(name, n, "crash", now_ms);
        }
        if torn && tears.is_empty() {
            tears.push("; no unsynced appends to tear".into());
        }
        format!(" ({lost} unsynced bytes lost{})", tears.concat())
    }

    /// Records that `name` lost its memory now, with the snapshot point of its last save.
    fn lost_memory(&mut self, name: &str, n: &NodeEntry, how: &'static str, now_ms: u64) {
        let saved_from_ms = n
            .shared
            .saves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_ok_ms;
        self.losses.entry(name.to_string()).or_default().push(Loss {
            how,
            at_ms: now_ms,
            saved_from_ms,
        });
    }

    /// Removes every partition and any latency spike.
    pub fn heal_network(&mut self) {
        let net = NetSim::current();
        for (a, b) in self.clogged.drain(..) {
            net.unclog_link(a, b);
        }
        if self.latency_changed {
            self.set_latency(None);
        }
    }

    /// Every message sent from now on takes a time in `range_ms` (madsim's default: `None`).
    fn set_latency(&mut self, range_ms: Option<[u64; 2]>) {
        let range = match range_ms {
            Some([lo, hi]) => Duration::from_millis(lo)..Duration::from_millis(hi + 1),
            None => madsim::net::Config::default().send_latency,
        };
        NetSim::current().update_config(|c| c.send_latency = range);
        self.latency_changed = range_ms.is_some();
    }
}
