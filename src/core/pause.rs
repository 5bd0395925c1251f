//! Paused actions (Redis 7.2's `pauseActions`): CLIENT PAUSE and the write pause of a
//! coordinated FAILOVER. Each purpose pauses a set of actions until its end time; what is paused
//! is the union of the purposes still running.
//!
//! A paused client's command is held, not refused: the client is blocked with that command until
//! the pause gets less restrictive, then the command runs again from the start of `call` (it may
//! be held again). A write pause holds writes, commands that may replicate (PUBLISH) and an EXEC
//! with either queued; it also stops expiry (keys look expired but stay until the pause ends),
//! the GETACKs WAIT sends and, during a FAILOVER with a timeout, the pings to replicas, so that the
//! replication offset stands still. Replicas are never paused. On a replica, the stream from its
//! master is held like a client's command: it is read (INFO's `slave_read_repl_offset` grows) but
//! applied only after the pause.

use super::replication::MASTER_CLIENT_ID;
use super::{ConnId, Now, Server};
use crate::commands::{flags, CommandSpec};
use crate::db::ExpiryMode;
use bytes::Bytes;
use std::collections::VecDeque;

/// The actions a pause can stop (Redis' `PAUSE_ACTION_*`).
pub mod action {
    pub const CLIENT_WRITE: u8 = 1;
    pub const CLIENT_ALL: u8 = 1 << 1;
    pub const EXPIRE: u8 = 1 << 2;
    pub const EVICT: u8 = 1 << 3;
    pub const REPLICA: u8 = 1 << 4;
    /// CLIENT PAUSE ... WRITE and FAILOVER.
    pub const WRITE_SET: u8 = CLIENT_WRITE | EXPIRE | EVICT | REPLICA;
    /// CLIENT PAUSE ... [ALL].
    pub const ALL_SET: u8 = CLIENT_ALL | EXPIRE | EVICT | REPLICA;
}

/// Who paused (Redis' `pause_purpose`); each keeps its own end time and actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ClientCommand = 0,
    Failover = 1,
    /// Writes wait while a shutdown lets replicas catch up.
    Shutdown = 2,
}

/// A blocked client whose command waits for the pause to end.
#[derive(Debug)]
enum Held {
    Command(ConnId, Vec<Bytes>),
    /// The master's stream on a replica (its bytes wait in the master client's query buffer).
    MasterStream,
}

/// The `blocked_on` mark of a client held by a pause.
pub const PAUSE_BLOCK: u64 = u64::MAX;

#[derive(Debug, Default)]
pub struct Pause {
    /// Per purpose: (end in monotonic ms, actions).
    purposes: [(u64, u8); 3],
    /// The union of the actions of the purposes not yet over.
    actions: u8,
    /// Held clients in the order they were held; at most one entry per client.
    held: VecDeque<Held>,
}

impl Pause {
    /// The actions of `mask` that are paused now.
    pub fn paused(&self, mask: u8) -> bool {
        self.actions & mask != 0
    }

    /// When the next purpose's pause ends by itself, if one is running.
    pub fn next_end_ms(&self) -> Option<u64> {
        self.purposes
            .iter()
            .filter(|(end, actions)| *actions != 0 && *end != u64::MAX)
            .map(|(end, _)| *end)
            .min()
    }

    /// Starts (or replaces) a purpose's pause; a later end already set is kept.
    fn set(&mut self, purpose: Purpose, end_ms: u64, actions: u8) {
        let p = &mut self.purposes[purpose as usize];
        p.1 = actions;
        p.0 = p.0.max(end_ms);
    }

    /// Recomputes the paused actions at `now_ms`; true if clients are now paused less than
    /// before (the held ones must run again).
    fn update(&mut self, now_ms: u64) -> bool {
        let before = self.actions;
        self.actions = 0;
        for p in &mut self.purposes {
            if p.0 > now_ms {
                self.actions |= p.1;
            } else {
                *p = (0, 0);
            }
        }
        let clients = action::CLIENT_WRITE | action::CLIENT_ALL;
        self.actions & clients < before & clients
    }
}

impl Server {
    /// Pauses `actions` for `purpose` until `end_ms` (monotonic; `u64::MAX`: until unpaused).
    pub(crate) fn pause_actions(&mut self, purpose: Purpose, end_ms: u64, actions: u8, now: Now) {
        self.pause.set(purpose, end_ms, actions);
        self.pause_update(now);
    }

    /// CLIENT PAUSE: WRITE does not weaken a running pause of all clients.
    pub(crate) fn pause_clients(&mut self, end_ms: u64, all: bool, now: Now) {
        let running = self.pause.purposes[Purpose::ClientCommand as usize].1;
        let actions = if all || running & action::CLIENT_ALL != 0 {
            action::ALL_SET
        } else {
            action::WRITE_SET
        };
        self.pause_actions(Purpose::ClientCommand, end_ms, actions, now);
    }

    pub(crate) fn unpause_actions(&mut self, purpose: Purpose, now: Now) {
        self.pause.purposes[purpose as usize] = (0, 0);
        self.pause_update(now);
    }

    /// Ends the pauses whose time is up (from the cron and before the driver sleeps).
    pub(crate) fn pause_update(&mut self, now: Now) {
        let loosened = self.pause.update(now.mono_ms);
        self.set_expiry_mode();
        if loosened {
            self.release_held(now);
        }
    }

    /// A replica, or a master whose expiry is paused, lets keys look expired without deleting.
    pub(crate) fn set_expiry_mode(&mut self) {
        self.ks.mode = if self.is_replica() || self.pause.paused(action::EXPIRE) {
            ExpiryMode::Hide
        } else {
            ExpiryMode::Delete
        };
    }

    /// Whether the pause holds this command of `id` (Redis' check in `processCommand`).
    pub(crate) fn pause_holds(&self, id: ConnId, spec: &CommandSpec) -> bool {
        if self.repl.replicas.contains_key(&id) || self.replaying {
            return false;
        }
        self.pause.paused(action::CLIENT_ALL)
            || self.pause.paused(action::CLIENT_WRITE) && self.may_replicate(id, spec)
    }

    /// A write, a command that may replicate, or an EXEC of either.
    fn may_replicate(&self, id: ConnId, spec: &CommandSpec) -> bool {
        let replicates = |s: &CommandSpec| s.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0;
        if spec.name != "exec" {
            return replicates(spec);
        }
        let queued = self.clients.get(&id).and_then(|c| c.multi.as_ref());
        queued.is_some_and(|m| {
            m.queued
                .iter()
                .any(|args| self.command(&args[0]).is_some_and(replicates))
        })
    }

    /// Blocks `id` with its command until the pause ends.
    pub(crate) fn hold(&mut self, id: ConnId, args: Vec<Bytes>) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = Some(PAUSE_BLOCK);
            self.pause.held.push_back(Held::Command(id, args));
        }
    }

    /// The master's stream waits (its next command is held).
    pub(crate) fn hold_master_stream(&mut self) {
        if !self.master_stream_held() {
            self.pause.held.push_back(Held::MasterStream);
        }
    }

    pub(crate) fn master_stream_held(&self) -> bool {
        self.pause
            .held
            .iter()
            .any(|h| matches!(h, Held::MasterStream))
    }

    /// A held client went away.
    pub(crate) fn forget_held(&mut self, id: ConnId) {
        self.pause.held.retain(|h| match h {
            Held::Command(c, _) => *c != id,
            Held::MasterStream => id != MASTER_CLIENT_ID,
        });
    }

    /// Every held command runs again, in the order they were held (each may be held again).
    fn release_held(&mut self, now: Now) {
        for held in std::mem::take(&mut self.pause.held) {
            match held {
                Held::Command(id, args) => {
                    let Some(c) = self.clients.get_mut(&id) else {
                        continue;
                    };
                    c.blocked_on = None;
                    self.call(id, args, now);
                    self.process_input(id, now);
                }
                Held::MasterStream => self.apply_master_stream(now, &[]),
            }
        }
    }

    /// Clients held by a pause, blocked on keys, in WAIT or in SHUTDOWN (INFO's
    /// `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        let wait = self.clients.values().filter(|c| {
            c.blocked_on == Some(super::replication::WAIT_BLOCK)
                || c.blocked_on == Some(PAUSE_BLOCK)
                || c.blocked_on == Some(super::shutdown::SHUTDOWN_BLOCK)
        });
        wait.count()
    }
}

#[cfg(test)]
#[path = "pause_tests.rs"]
mod tests;
