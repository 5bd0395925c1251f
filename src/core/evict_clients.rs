//! Client eviction (`maxmemory-clients`, Redis 7.2's evictClients): before each command, while
//! the normal and pub/sub clients together hold more than the limit, the largest of them are
//! disconnected, except clients that set CLIENT NO-EVICT ON, the master link and replicas.

use super::memory::client_bytes;
use super::{ConnId, Server};
use crate::config::{Config, LogLevel};

/// The smallest limit Redis applies, so that a bad setting still lets clients talk (128 KiB).
const MIN_LIMIT_BYTES: u64 = 128 * 1024;

/// The limit in bytes: absolute, or a percentage of maxmemory; 0 means no client eviction.
pub(crate) fn clients_limit(c: &Config) -> u64 {
    let text = c.noop.get("maxmemory-clients").map_or("0", String::as_str);
    let limit = match text.strip_suffix('%') {
        Some(p) => p.parse::<u64>().unwrap_or(0) * c.maxmemory.max(0) as u64 / 100,
        None => crate::text::parse_memory(text).unwrap_or(0).max(0) as u64,
    };
    match limit {
        0 => 0,
        n => n.max(MIN_LIMIT_BYTES),
    }
}

impl Server {
    /// Disconnects the largest evictable clients until the clients' memory is under the limit.
    pub(crate) fn evict_clients(&mut self) {
        let limit = self.evict.clients_limit;
        if limit == 0 {
            return;
        }
        let master = super::replication::MASTER_CLIENT_ID;
        let counted = self.clients.values().filter(|c| {
            !self.repl.replicas.contains_key(&c.id) && c.id != master && !c.close_after_reply
        });
        let mut total = 0;
        let mut candidates: Vec<(u64, ConnId)> = Vec::new();
        for c in counted {
            total += client_bytes(c);
            if !c.no_evict {
                candidates.push((client_bytes(c), c.id));
            }
        }
        candidates.sort_by(|a, b| b.cmp(a));
        for (bytes, id) in candidates {
            if total < limit {
                break;
            }
            total -= bytes;
            let c = self.clients.get_mut(&id).expect("listed client");
            let line = c.info_line(self.last_now.mono_ms);
            c.qbuf.clear();
            c.out.clear();
            self.log(LogLevel::Notice, format!("Evicting client: {line}"));
            self.close_after_reply(id);
            self.stats.evicted_clients += 1;
        }
    }
}
