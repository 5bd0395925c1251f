//! Client output buffer limits, measured and enforced as Redis 7.2 does (networking.c's
//! getClientOutputBufferMemoryUsage, checkClientOutputBufferLimits and
//! closeClientOnOutputBufferLimitReached).
//!
//! A client's output buffer is what it was sent but has not read yet: bytes the core holds plus
//! bytes the driver holds until it reports them written (`handle_written`). Redis keeps the first
//! 16 KiB of a reply in a static buffer and the rest in a list of blocks, and counts only the
//! blocks (20,464 usable bytes each: a 16 KiB chunk lands in jemalloc's 20 KiB class) with their
//! headers; a replica's buffer is its share of the replication buffer (the stream it has not read,
//! never the snapshot payload). A client over its class's hard limit, or over its soft limit for
//! longer than the soft limit's seconds, is closed before anything more is sent, with Redis' log
//! line; a command producing a huge reply stops once the reply reaches the hard limit. Beyond the
//! configured limits, `OUTPUT_CEILING_BYTES` bounds every client, even in a class without limits.

use super::{ConnId, Server};
use crate::config::obuf::ClientClass;
use crate::config::LogLevel;

/// Redis' per-client static reply buffer (PROTO_REPLY_CHUNK_BYTES).
pub const STATIC_REPLY_BYTES: usize = 16 * 1024;
/// Usable bytes of one reply-list block, and what Redis adds per block (listNode + header).
const REPLY_BLOCK_BYTES: usize = 20480 - 16;
const REPLY_BLOCK_OVERHEAD: usize = 40;
/// The same for replication buffer blocks (their header is 40 bytes).
const REPL_BLOCK_BYTES: usize = 20480 - 40;
const REPL_BLOCK_OVERHEAD: usize = 64;
/// Output pending for one client beyond this closes it whatever its class's limits (a class
/// without a hard limit would otherwise let one reply take the machine's memory).
pub const OUTPUT_CEILING_BYTES: usize = 1 << 30;

impl super::Client {
    /// Output not yet written to the socket.
    pub fn pending_output(&self) -> usize {
        self.out.len() + self.unsent_bytes + self.held.len()
    }

    /// A replica's pending stream: its pending output but the snapshot payload.
    fn pending_stream(&self) -> usize {
        let payload = self.payload_end.saturating_sub(self.written_bytes) as usize;
        self.pending_output().saturating_sub(payload)
    }

    /// Bytes in Redis' static reply buffer (CLIENT LIST `obl`).
    pub fn static_reply_bytes(&self) -> usize {
        match self.replica {
            true => 0,
            false => self.pending_output().min(STATIC_REPLY_BYTES),
        }
    }

    /// Reply-list (or, for a replica, replication buffer) blocks held (CLIENT LIST `oll`).
    pub fn reply_blocks(&self) -> usize {
        match self.replica {
            true => self.pending_stream().div_ceil(REPL_BLOCK_BYTES),
            false => (self.pending_output().saturating_sub(STATIC_REPLY_BYTES))
                .div_ceil(REPLY_BLOCK_BYTES),
        }
    }

    /// The output buffer memory Redis reports and limits (CLIENT LIST `omem`).
    pub fn output_memory(&self) -> usize {
        let block = match self.replica {
            true => REPL_BLOCK_BYTES + REPL_BLOCK_OVERHEAD,
            false => REPLY_BLOCK_BYTES + REPLY_BLOCK_OVERHEAD,
        };
        self.reply_blocks() * block
    }

    /// The class whose limits apply (Redis' getClientType; the master counts as normal).
    pub fn class(&self) -> ClientClass {
        match (self.replica, self.subscriptions() > 0) {
            (true, _) => ClientClass::Replica,
            (false, true) => ClientClass::Pubsub,
            (false, false) => ClientClass::Normal,
        }
    }
}

impl Server {
    /// The hard limit that applies to a client of `class`: a replica's is never below the
    /// backlog size (Redis ignores a lower one, as the replica shares the backlog anyway).
    fn hard_limit_bytes(&self, class: ClientClass) -> usize {
        let hard = self.config.client_obuf_limits.get(class).hard_bytes as usize;
        match class {
            ClientClass::Replica if hard > 0 => hard.max(self.config.repl_backlog_size as usize),
            _ => hard,
        }
    }

    /// How long client `id`'s reply buffer may grow before the client is over its hard limit
    /// (or the ceiling): the `Out` writer's stop point for commands that stop mid-run.
    pub(crate) fn reply_room(&self, id: ConnId) -> usize {
        let Some(c) = self.clients.get(&id) else {
            return usize::MAX;
        };
        let hard = match self.hard_limit_bytes(c.class()) {
            0 => OUTPUT_CEILING_BYTES,
            h => (h + STATIC_REPLY_BYTES).min(OUTPUT_CEILING_BYTES),
        };
        c.out.len() + hard.saturating_sub(c.pending_output())
    }

    /// Checks client `id` against its class's limits, keeping the soft limit's clock.
    fn over_output_limit(&mut self, id: ConnId) -> bool {
        let now_s = self.last_now.mono_ms / 1000;
        let Some(c) = self.clients.get(&id) else {
            return false;
        };
        let (class, used) = (c.class(), c.output_memory());
        let hard = self.hard_limit_bytes(class);
        let limit = self.config.client_obuf_limits.get(class);
        let over_hard = (hard > 0 && used >= hard) || c.pending_output() >= OUTPUT_CEILING_BYTES;
        let over_soft = limit.soft_bytes > 0 && used as u64 >= limit.soft_bytes;
        let c = self.clients.get_mut(&id).expect("checked above");
        if !over_soft {
            c.soft_limit_since_s = None;
            return over_hard;
        }
        let since = *c.soft_limit_since_s.get_or_insert(now_s);
        over_hard || now_s - since > limit.soft_s
    }

    /// Redis' closeClientOnOutputBufferLimitReached: a client over its limits is closed before
    /// more of its output goes out (`cron`: from the cron, with the cron's log line).
    pub(crate) fn enforce_output_limit(&mut self, id: ConnId, cron: bool) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        let internal = id >= super::replication::OUTBOUND_BASE;
        let idle = c.output_memory() == 0 && !c.replica;
        if internal || c.close_asap || idle || !self.over_output_limit(id) {
            return;
        }
        let c = self.clients.get_mut(&id).expect("checked above");
        c.close_asap = true;
        let info = c.info_line(self.last_now.mono_ms);
        let how = match cron {
            true => "closed",
            false => "scheduled to be closed ASAP",
        };
        self.log(
            LogLevel::Warning,
            format!("Client {info} {how} for overcoming of output buffer limits."),
        );
        self.pending.insert(id);
    }

    /// clientsCron's share: soft limits run out even when no output is added.
    pub(crate) fn cron_output_limits(&mut self) {
        let ids: Vec<ConnId> = self.clients.keys().copied().collect();
        for id in ids {
            self.enforce_output_limit(id, true);
        }
    }
}

#[cfg(test)]
#[path = "obuf_tests.rs"]
mod tests;
