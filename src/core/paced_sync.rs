//! A full sync's payload sent over time when `rdb-key-save-delay` is set: Redis' testing knob
//! that slows the snapshot child by that many microseconds per key (a negative value -N means
//! 1/N µs per key). The payload is still serialised at once (a point-in-time snapshot); its
//! bytes leave at the pace the delay gives, the stream produced meanwhile waits behind them,
//! and the replica is `wait_bgsave` until the last payload byte is out, then online.

use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use crate::repl::ReplicaState;
use bytes::Bytes;

/// How often a paced payload sends its next part.
const PACE_TICK_MS: u64 = 10;
/// What a diskless transfer hands its replicas at a time: the next part goes out only once
/// every replica of the transfer has taken the last, as Redis' parent forwards its child's pipe
/// (so the slowest replica sets the pace of all).
const LOCKSTEP_PART_BYTES: usize = 64 * 1024;

/// One replica's payload on its way.
pub struct PacedSync {
    payload: Bytes,
    sent: usize,
    started_ms: u64,
    /// 0: not paced by time (only by the slowest replica of a diskless transfer).
    duration_ms: u64,
    /// A diskless transfer's payload: its parts go out in lockstep with the other replicas'.
    lockstep: bool,
}

impl PacedSync {
    /// Payload bytes due by `now_ms`.
    fn due(&self, now_ms: u64) -> usize {
        let elapsed_ms = now_ms.saturating_sub(self.started_ms);
        if elapsed_ms >= self.duration_ms {
            return self.payload.len();
        }
        (self.payload.len() as u128 * elapsed_ms as u128 / self.duration_ms as u128) as usize
    }
}

/// How long producing a snapshot of `keys` keys takes at `delay_us` per key.
fn duration_ms(keys: u64, delay_us: i64) -> u64 {
    match delay_us {
        d if d > 0 => keys.saturating_mul(d as u64) / 1000,
        d => keys / d.unsigned_abs().max(1) / 1000,
    }
}

impl Server {
    /// Sends a full sync's payload (`$len` line and snapshot) to replica `id`, paced when
    /// `rdb-key-save-delay` asks for it, and a `diskless` one longer than a part in lockstep
    /// with the transfer's other replicas. True when the replica is online at once.
    pub(crate) fn send_payload(
        &mut self,
        id: ConnId,
        payload: Bytes,
        diskless: bool,
        now: Now,
    ) -> bool {
        let duration_ms = self.snapshot_duration_ms();
        let lockstep = diskless && payload.len() > LOCKSTEP_PART_BYTES;
        if duration_ms == 0 && !lockstep {
            self.send_payload_part(id, &payload);
            return true;
        }
        let paced = PacedSync {
            payload,
            sent: 0,
            started_ms: now.mono_ms,
            duration_ms,
            lockstep,
        };
        self.repl.paced.insert(id, paced);
        self.repl.paced_next_ms = now.mono_ms;
        false
    }

    /// How long producing a snapshot of the dataset takes at `rdb-key-save-delay`'s pace.
    pub(crate) fn snapshot_duration_ms(&self) -> u64 {
        let delay_us = super::loading::debug_delay_us(&self.config, "rdb-key-save-delay");
        match delay_us {
            0 => 0,
            d => duration_ms(self.ks.total_keys() as u64, d),
        }
    }

    /// Payload bytes go to replica `id`; they do not count in its output buffer.
    fn send_payload_part(&mut self, id: ConnId, part: &[u8]) {
        self.reply(id).raw(part);
        if let Some(c) = self.clients.get_mut(&id) {
            c.payload_end = c.written_bytes + (c.unsent_bytes + c.out.len()) as u64;
        }
    }

    /// Stream bytes reach a replica whose payload is still on its way: they wait behind it
    /// (in its output buffer, under its limit). False when the replica is not paced.
    pub(crate) fn paced_stream(&mut self, id: ConnId, data: &[u8]) -> bool {
        if !self.repl.paced.contains_key(&id) {
            return false;
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.held.extend_from_slice(data);
            self.pending.insert(id);
        }
        true
    }

    /// The paced payloads' timer.
    pub(crate) fn paced_cron(&mut self, now: Now) {
        if self.repl.paced.is_empty() || now.mono_ms < self.repl.paced_next_ms {
            return;
        }
        self.repl.paced_next_ms = now.mono_ms + PACE_TICK_MS;
        self.paced_send(now);
    }

    /// Have all replicas of the diskless transfer written what they were handed?
    fn lockstep_ready(&self) -> bool {
        let mut lockstep = self.repl.paced.iter().filter(|(_, p)| p.lockstep);
        lockstep
            .all(|(id, _)| (self.clients.get(id)).is_none_or(|c| c.written_bytes >= c.payload_end))
    }

    /// A replica of a diskless transfer wrote or left: the next part may be due.
    pub(crate) fn lockstep_progress(&mut self) {
        if self.repl.paced.values().any(|p| p.lockstep) {
            self.paced_send(self.last_now);
        }
    }

    /// Sends what is due of every paced payload; a finished one turns its replica online.
    fn paced_send(&mut self, now: Now) {
        let ready = self.lockstep_ready();
        let ids: Vec<ConnId> = self.repl.paced.keys().copied().collect();
        for id in ids {
            let Some(p) = self.repl.paced.get_mut(&id) else {
                continue;
            };
            let mut due = p.due(now.mono_ms);
            if p.lockstep {
                due = due.min(p.sent + if ready { LOCKSTEP_PART_BYTES } else { 0 });
            }
            if due == p.sent {
                continue;
            }
            let part = p.payload.slice(p.sent..due);
            p.sent = due;
            let done = due == p.payload.len();
            self.send_payload_part(id, &part);
            if !done {
                continue;
            }
            self.repl.paced.remove(&id);
            let held = self
                .clients
                .get_mut(&id)
                .map(|c| std::mem::take(&mut c.held))
                .unwrap_or_default();
            self.reply(id).raw(&held);
            if let Some(r) = self.repl.replicas.get_mut(&id) {
                r.state = ReplicaState::Online;
                r.last_ack_ms = now.mono_ms;
                let name = r.name();
                self.replica_synced(&name);
            }
        }
    }

    /// When the next paced part is due.
    pub(crate) fn paced_timeout(&self) -> Option<u64> {
        (!self.repl.paced.is_empty()).then_some(self.repl.paced_next_ms)
    }

    /// A replica got its whole payload.
    pub(crate) fn replica_synced(&mut self, name: &str) {
        self.log(
            LogLevel::Notice,
            format!("Synchronization with replica {name} succeeded"),
        );
        self.trace(format!("+slave {name} full"));
    }
}
