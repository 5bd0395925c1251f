//! Applying scheduled faults to the running nodes: process deaths and restarts, power loss on
//! the node's disk, network partitions, pauses, clock jumps and disk failures. Each application
//! returns its trace line; kills and crashes are remembered for the durability check.

use crate::check::Loss;
use crate::env::NodeShared;
use crate::scenario::{Fault, FaultAction};
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A node's identity in the run.
pub struct NodeEntry {
    pub shared: Arc<NodeShared>,
    pub handle: NodeHandle,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub restarts: Arc<AtomicU32>,
}

/// Fault state the run accumulates.
#[derive(Default)]
pub struct FaultState {
    /// Links cut by partitions, to restore on `heal`.
    clogged: Vec<(NodeId, NodeId)>,
    /// Per node: when it lost its memory, and its last completed save then.
    pub losses: BTreeMap<String, Vec<Loss>>,
}

impl FaultState {
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
                for (_, n) in &targets {
                    n.restarts.fetch_add(1, Ordering::Relaxed);
                    handle.restart(n.handle.id());
                }
                String::new()
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
                        net.clog_link(a, other);
                        net.clog_link(other, a);
                        self.clogged.push((a, other));
                    }
                }
                if f.from.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", f.from.join(","))
                }
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
            FaultAction::DiskHeal => {
                let failed: u64 = targets.iter().map(|(_, n)| n.shared.disk.heal()).sum();
                let s = if failed == 1 { "" } else { "s" };
                format!(" ({failed} operation{s} had failed)")
            }
        };
        format!("{} {}{detail}", f.action.word(), f.nodes.join(","))
            .trim_end()
            .to_string()
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

    /// Removes every partition.
    pub fn heal_network(&mut self) {
        let net = NetSim::current();
        for (a, b) in self.clogged.drain(..) {
            net.unclog_link(a, b);
            net.unclog_link(b, a);
        }
    }
}
