//! The snapshot "child" that serves full syncs, as Redis' INFO and log show it.
//!
//! Redis forks a child to produce a full sync's RDB: to disk (then the file is sent) or, with
//! `repl-diskless-sync`, into a pipe the parent forwards to the replicas' sockets. While it runs
//! INFO says `rdb_bgsave_in_progress:1` and the replicas are in `wait_bgsave`. redsim serialises
//! the snapshot at once (see `full_sync`) and sends it at `rdb-key-save-delay`'s pace
//! (`paced_sync`), so the child here is bookkeeping over that: it lasts until the snapshot would
//! be produced and every replica still attached has its whole payload written to its socket.
//! It logs Redis' lines for the transfer's end, for the last replica dropping (the child is
//! killed), and drops a diskless replica whose socket took nothing for `repl-timeout`.

use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use std::collections::BTreeMap;

/// One replica the child is producing for (its payload ends at its client's `payload_end`).
struct Member {
    /// Written bytes and when they last grew (progress of the transfer).
    written: u64,
    progress_ms: u64,
}

/// The full sync snapshot in progress.
pub struct ReplChild {
    diskless: bool,
    /// When producing the snapshot ends at the configured pace.
    produced_ms: u64,
    members: BTreeMap<ConnId, Member>,
}

impl Server {
    /// A full sync's payload is on its way to replica `id`: the child starts (or the replica
    /// joins the one running) and runs at least `duration_ms`.
    pub(crate) fn repl_child_join(
        &mut self,
        id: ConnId,
        diskless: bool,
        duration_ms: u64,
        now: Now,
    ) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        let member = Member {
            written: c.written_bytes,
            progress_ms: now.mono_ms,
        };
        if self.repl.child.is_none() {
            self.stats.total_forks += 1;
        }
        let child = self.repl.child.get_or_insert_with(|| ReplChild {
            diskless,
            produced_ms: now.mono_ms,
            members: BTreeMap::new(),
        });
        child.produced_ms = child.produced_ms.max(now.mono_ms + duration_ms);
        child.members.insert(id, member);
        if diskless && child.members.len() == 1 {
            let pid = self.config.pid;
            self.log(
                LogLevel::Notice,
                format!("Background RDB transfer started by pid {pid}"),
            );
        }
    }

    /// Is a full sync snapshot being produced (INFO `rdb_bgsave_in_progress`)?
    pub fn repl_child_running(&self) -> bool {
        self.repl.child.is_some()
    }

    /// A replica left (or is being dropped): the child stops when nobody needs it any more
    /// (a disk snapshot is kept when `save` points make it useful, as Redis does).
    pub(crate) fn repl_child_leave(&mut self, id: ConnId) {
        let Some(child) = self.repl.child.as_mut() else {
            return;
        };
        if child.members.remove(&id).is_none() || !child.members.is_empty() {
            return;
        }
        if child.diskless {
            self.log(
                LogLevel::Warning,
                "Diskless rdb transfer, last replica dropped, killing fork child.".into(),
            );
            self.repl.child = None;
        } else if self.config.save_points.is_empty() {
            self.repl.child = None;
        }
    }

    /// replicationCron's part: time out stuck diskless transfers, end the child when done.
    pub(crate) fn repl_child_cron(&mut self, now: Now) {
        let Some(child) = self.repl.child.as_mut() else {
            return;
        };
        let timeout_ms = self.config.repl_timeout_s * 1000;
        let mut stuck = Vec::new();
        let mut pending = 0;
        for (id, m) in child.members.iter_mut() {
            let Some(c) = self.clients.get(id).filter(|c| !c.close_after_reply) else {
                continue;
            };
            // A replica that took all it was handed is not stuck (it may wait for a slower
            // one of its transfer): Redis times out only a write left partial.
            let unwritten = c.written_bytes < c.payload_end;
            if c.written_bytes != m.written || !unwritten {
                (m.written, m.progress_ms) = (c.written_bytes, now.mono_ms);
            }
            // Paced parts still to send, or sent ones not yet written.
            let paced = self.repl.paced.contains_key(id);
            if !paced && !unwritten {
                continue;
            }
            if child.diskless && now.mono_ms.saturating_sub(m.progress_ms) > timeout_ms {
                stuck.push(*id);
            } else {
                pending += 1;
            }
        }
        for id in stuck {
            let name = self
                .repl
                .replicas
                .get(&id)
                .map(|r| r.name())
                .unwrap_or_default();
            self.log(
                LogLevel::Warning,
                format!("Disconnecting timedout replica (full sync): {name}"),
            );
            self.close_after_reply(id);
            self.repl_child_leave(id);
        }
        self.repl_child_finish(now, pending);
    }

    /// The snapshot is produced and every payload written: the child exits.
    fn repl_child_finish(&mut self, now: Now, pending: usize) {
        let Some(child) = self.repl.child.as_ref() else {
            return;
        };
        if pending > 0 || now.mono_ms < child.produced_ms {
            return;
        }
        if child.diskless {
            let up = child
                .members
                .keys()
                .filter(|id| self.clients.get(id).is_some_and(|c| !c.close_after_reply))
                .count();
            self.log(
                LogLevel::Notice,
                format!("Diskless rdb transfer, done reading from pipe, {up} replicas still up."),
            );
            self.log(
                LogLevel::Notice,
                "Background RDB transfer terminated with success".into(),
            );
        }
        self.repl.child = None;
    }

    /// FLUSHALL (and anything else that makes the snapshot useless) kills the child; the
    /// replicas still waiting for it are dropped and sync again, as Redis' `killRDBChild` leads
    /// to (a replica already online has its whole snapshot, and the stream carries the flush).
    pub(crate) fn repl_child_kill(&mut self) {
        let Some(child) = self.repl.child.take() else {
            return;
        };
        for id in child.members.keys() {
            let online = self.repl.replicas.get(id).map(|r| r.state);
            if online != Some(crate::repl::ReplicaState::Online) {
                self.close_after_reply(*id);
            }
        }
    }

    /// The driver wrote to `conn`: a member's payload may be out now.
    pub(crate) fn repl_child_written(&mut self, conn: ConnId) {
        let member = self
            .repl
            .child
            .as_ref()
            .is_some_and(|c| c.members.contains_key(&conn));
        if member {
            self.lockstep_progress();
            self.repl_child_cron(self.last_now);
        }
    }
}

#[cfg(test)]
#[path = "repl_child_tests.rs"]
mod tests;
