//! Consumer groups of a stream: the group's last delivered id and read counter, its pending
//! entries list (PEL) and its consumers, each with the ids it owns.

use super::stream::StreamId;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// A delivered, not yet acknowledged entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub consumer: Bytes,
    pub delivery_time_ms: u64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Consumer {
    /// Last time the consumer was seen (any group command naming it).
    pub seen_time_ms: u64,
    /// Last time it read or claimed something; -1 = never.
    pub active_time_ms: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read (Redis' entries_read); `None` when unknown.
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name, in byte order as Redis' radix tree keeps them.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        Group {
            last_id,
            entries_read,
            ..Default::default()
        }
    }

    /// The consumer `name`, created (seen now, never active) if absent; true when created.
    pub fn consumer(&mut self, name: &Bytes, now_ms: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self.consumers.entry(name.clone()).or_insert(Consumer {
            seen_time_ms: now_ms,
            active_time_ms: -1,
            pel: BTreeSet::new(),
        });
        (c, created)
    }

    /// Gives pending entry `id` to `consumer` (creating the PEL entry when new), delivered at
    /// `now_ms` with `count` deliveries.
    pub fn assign(&mut self, id: StreamId, consumer: &Bytes, now_ms: u64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if let Some(c) = self.consumers.get_mut(&old.consumer) {
                c.pel.remove(&id);
            }
        }
        self.pel.insert(
            id,
            Pending {
                consumer: consumer.clone(),
                delivery_time_ms: now_ms,
                delivery_count: count,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// XACK of one id: true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}
