//! The coordinated FAILOVER in the core: the command, its write pause, the cron that waits for a
//! replica to catch up (every tick, as Redis runs `replicationCron` at 10 Hz during a failover),
//! becoming a replica of the target with `PSYNC ... FAILOVER`, and the target's side of that
//! PSYNC. The decisions are in `crate::repl::failover`.

use super::pause::{action, Purpose};
use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use crate::repl::{parse_failover, Candidate, Decision, FailoverRequest, FailoverState};
use crate::repl::{LogLine, ReplicaState};
use bytes::Bytes;

impl Server {
    /// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms].
    pub fn failover_command(&mut self, id: ConnId, args: &[Bytes], now: Now) {
        let req = match parse_failover(args) {
            Ok(req) => req,
            Err(e) => return self.reply(id).error(&e),
        };
        if req == FailoverRequest::Abort {
            if self.failover.state == FailoverState::None {
                return self.reply(id).error("ERR No failover in progress.");
            }
            self.abort_failover("Failover manually aborted", now);
            return self.reply(id).ok();
        }
        let candidates = self.failover_candidates();
        let is_replica = self.is_replica();
        match self
            .failover
            .start(req, is_replica, &candidates, now.mono_ms)
        {
            Ok(line) => {
                self.log_lines(vec![line]);
                self.pause_actions(Purpose::Failover, u64::MAX, action::WRITE_SET, now);
                self.reply(id).ok();
            }
            Err(e) => self.reply(id).error(&e),
        }
    }

    fn failover_candidates(&self) -> Vec<Candidate> {
        let replicas = self.repl.replicas.values();
        replicas
            .map(|r| Candidate {
                ip: r.ip().to_string(),
                port: i64::from(r.listening_port),
                online: r.state == ReplicaState::Online,
                ack_offset: r.ack_offset,
            })
            .collect()
    }

    /// replicationCron's `updateFailoverStatus`.
    pub(crate) fn failover_cron(&mut self, now: Now) {
        if self.failover.state != FailoverState::WaitForSync {
            return;
        }
        let candidates = self.failover_candidates();
        match self
            .failover
            .tick(now.mono_ms, &candidates, self.repl.offset)
        {
            Decision::Wait => {}
            Decision::Abort(reason) => self.abort_failover(reason, now),
            Decision::FailOver(line) => self.fail_over_to_target(line, now),
        }
    }

    /// Becomes a replica of the target; the link's PSYNC carries FAILOVER.
    fn fail_over_to_target(&mut self, line: LogLine, now: Now) {
        self.log_lines(vec![line]);
        let Some((host, port)) = self.failover.target.clone() else {
            return;
        };
        self.become_replica_of(&host, port, now);
        if let Some(l) = self.repl.link.as_mut() {
            l.link.set_failover(true);
        }
    }

    /// Redis' `abortFailover`: back to master if we already turned into a replica.
    pub(crate) fn abort_failover(&mut self, reason: &str, now: Now) {
        if self.failover.state == FailoverState::None {
            return;
        }
        let in_progress = self.failover.state == FailoverState::InProgress;
        let line = self.failover.abort(reason);
        self.log_lines(vec![line]);
        if in_progress {
            self.become_master();
        }
        self.unpause_actions(Purpose::Failover, now);
    }

    /// The target accepted our PSYNC (partial or full): the failover is done; the writes that
    /// waited now meet a replica.
    pub(crate) fn failover_psync_accepted(&mut self, now: Now) {
        if self.failover.state != FailoverState::InProgress {
            return;
        }
        self.failover = Default::default();
        if let Some(l) = self.repl.link.as_mut() {
            l.link.set_failover(false);
        }
        self.unpause_actions(Purpose::Failover, now);
    }

    /// The target's side: `PSYNC <replid> <offset> FAILOVER` from our master makes us a master
    /// first, if it names our replication ID. Returns the error to reply instead of syncing.
    pub(crate) fn psync_failover_request(&mut self, id: ConnId, replid: &[u8]) -> Option<String> {
        let shown = String::from_utf8_lossy(replid).into_owned();
        self.log(
            LogLevel::Notice,
            format!("Failover request received for replid {shown}."),
        );
        if !self.is_replica() {
            return Some("ERR PSYNC FAILOVER can't be sent to a master.".into());
        }
        if !replid.eq_ignore_ascii_case(self.repl.ids.replid.as_bytes()) {
            return Some("ERR PSYNC FAILOVER replid must match my replid.".into());
        }
        let who = self
            .clients
            .get(&id)
            .map(|c| c.info_line(self.last_now.mono_ms))
            .unwrap_or_default();
        self.become_master();
        self.log(
            LogLevel::Notice,
            format!("MASTER MODE enabled (failover request from '{who}')"),
        );
        None
    }
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
