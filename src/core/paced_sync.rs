//! A full sync's payload sent over time when `rdb-key-save-delay` is set: Redis' testing knob
//! that slows the snapshot child by that many microseconds per key (a negative value -N means
//! 1/N µs per key). The payload is still serialised at once (a point-in-time snapshot); its
//! bytes leave at the pace the delay gives, the stream produced meanwhile waits behind them,
//! and the replica is `wait_bgsave` until the last payload byte is out, then online.

use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use crate::repl::ReplicaState;
use bytes::{Bytes, BytesMut};

/// How often a paced payload sends its next part.
const PACE_TICK_MS: u64 = 10;
/// Stream bytes a paced replica may accumulate before it is dropped (Redis' replica
/// client-output-buffer-limit hard limit, 256 MB).
const MAX_PENDING_STREAM_BYTES: usize = 256 * 1024 * 1024;

/// One replica's payload on its way.
pub struct PacedSync {
    payload: Bytes,
    sent: usize,
    started_ms: u64,
    duration_ms: u64,
    /// The stream produced since the snapshot, sent after the payload.
    stream: BytesMut,
}

impl PacedSync {
    /// Payload bytes not yet handed to the connection.
    pub(crate) fn unsent(&self) -> u64 {
        (self.payload.len() - self.sent) as u64
    }

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
    /// `rdb-key-save-delay` asks for it. True when the replica is online at once.
    pub(crate) fn send_payload(&mut self, id: ConnId, payload: Bytes, now: Now) -> bool {
        let duration_ms = self.snapshot_duration_ms();
        if duration_ms == 0 {
            self.reply(id).raw(&payload);
            return true;
        }
        let paced = PacedSync {
            payload,
            sent: 0,
            started_ms: now.mono_ms,
            duration_ms,
            stream: BytesMut::new(),
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

    /// Stream bytes reach a replica whose payload is still on its way: they wait behind it.
    /// False when the replica is not paced (it gets them directly).
    pub(crate) fn paced_stream(&mut self, id: ConnId, data: &[u8]) -> bool {
        let Some(p) = self.repl.paced.get_mut(&id) else {
            return false;
        };
        p.stream.extend_from_slice(data);
        if p.stream.len() > MAX_PENDING_STREAM_BYTES {
            self.log(
                LogLevel::Warning,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits.".into(),
            );
            self.repl.paced.remove(&id);
            self.close_after_reply(id);
        }
        true
    }

    /// Sends what is due of every paced payload; a finished one turns its replica online.
    pub(crate) fn paced_cron(&mut self, now: Now) {
        if self.repl.paced.is_empty() || now.mono_ms < self.repl.paced_next_ms {
            return;
        }
        self.repl.paced_next_ms = now.mono_ms + PACE_TICK_MS;
        let ids: Vec<ConnId> = self.repl.paced.keys().copied().collect();
        for id in ids {
            let Some(p) = self.repl.paced.get_mut(&id) else {
                continue;
            };
            let due = p.due(now.mono_ms);
            let part = p.payload.slice(p.sent..due);
            p.sent = due;
            let done = due == p.payload.len();
            self.reply(id).raw(&part);
            if !done {
                continue;
            }
            let p = self.repl.paced.remove(&id).expect("present");
            self.reply(id).raw(&p.stream);
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
