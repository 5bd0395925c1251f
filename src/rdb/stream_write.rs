//! Writing a stream as Redis 7.2 does (RDB_TYPE_STREAM_LISTPACKS_3), or as 7.0 does (type 19,
//! the same without consumers' active times): the nodes (radix tree key, listpack), the length,
//! last / first / max-deleted ids and entries-added, then each group with its last id, read
//! counter, PEL (raw ids, delivery time and count) and consumers (name, seen and active times,
//! the ids they own).

use super::stream_lp::encode_node;
use super::RdbWriter;
use crate::db::{Stream, StreamId};
use bytes::BufMut;

impl RdbWriter {
    /// `active_times`: type 21 (else 19).
    pub(super) fn stream(&mut self, s: &Stream, active_times: bool) {
        self.len(s.nodes.len() as u64);
        for (master, node) in &s.nodes {
            self.string(&master.to_be_bytes());
            self.string(&encode_node(*master, node));
        }
        self.len(s.length);
        for id in [s.last_id, s.first_id, s.max_deleted_id] {
            self.id(id);
        }
        self.len(s.entries_added);
        self.len(s.groups.len() as u64);
        for (name, g) in &s.groups {
            self.string(name);
            self.id(g.last_id);
            self.len(g.entries_read.unwrap_or(u64::MAX));
            self.len(g.pel.len() as u64);
            for (id, p) in &g.pel {
                self.buf.put_slice(&id.to_be_bytes());
                self.buf.put_u64_le(p.delivery_time_ms);
                self.len(p.delivery_count);
            }
            self.len(g.consumers.len() as u64);
            for (name, c) in &g.consumers {
                self.string(name);
                self.buf.put_u64_le(c.seen_time_ms);
                if active_times {
                    self.buf.put_i64_le(c.active_time_ms);
                }
                self.len(c.pel.len() as u64);
                for id in &c.pel {
                    self.buf.put_slice(&id.to_be_bytes());
                }
            }
        }
    }

    fn id(&mut self, id: StreamId) {
        self.len(id.ms);
        self.len(id.seq);
    }
}
