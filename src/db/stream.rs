//! The stream value: entries in nodes laid out as Redis' radix tree of listpacks would hold them
//! (a node per `stream-node-max-bytes` / `stream-node-max-entries`, deleted entries flagged until
//! their node empties), so approximate trimming, XINFO and the RDB bytes match Redis; plus the
//! stream's counters and its consumer groups. Commands are in `commands/streams/`, the RDB codec
//! in `rdb/stream*.rs`.

use bytes::Bytes;
use std::collections::BTreeMap;

pub use super::stream_group::{Consumer, Group, Pending};

/// An entry id, `ms-seq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }
    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }
    /// The id right after this one (`None` past the maximum).
    pub fn next(&self) -> Option<StreamId> {
        match (self.seq.checked_add(1), self.ms.checked_add(1)) {
            (Some(seq), _) => Some(StreamId::new(self.ms, seq)),
            (None, Some(ms)) => Some(StreamId::new(ms, 0)),
            (None, None) => None,
        }
    }
    /// The id right before this one (`None` below 0-0).
    pub fn prev(&self) -> Option<StreamId> {
        match (self.seq.checked_sub(1), self.ms.checked_sub(1)) {
            (Some(seq), _) => Some(StreamId::new(self.ms, seq)),
            (None, Some(ms)) => Some(StreamId::new(ms, u64::MAX)),
            (None, None) => None,
        }
    }
    /// The 16 big-endian bytes Redis keys its radix trees with.
    pub fn to_be_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }
    pub fn from_be_bytes(b: &[u8; 16]) -> Self {
        let (ms, seq) = b.split_at(8);
        StreamId::new(
            u64::from_be_bytes(ms.try_into().unwrap_or_default()),
            u64::from_be_bytes(seq.try_into().unwrap_or_default()),
        )
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry of a node: its id, flat field/value pairs, and Redis' deleted flag.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeEntry {
    pub id: StreamId,
    pub fields: Vec<Bytes>,
    pub deleted: bool,
}

/// One listpack of the radix tree: the master entry's fields and every entry it holds.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StreamNode {
    pub master_fields: Vec<Bytes>,
    pub entries: Vec<NodeEntry>,
    /// Entries not flagged deleted.
    pub live: u64,
    /// Listpack bytes of the entries after the master entry (see `rdb::stream_lp`).
    pub body_bytes: usize,
}

impl StreamNode {
    pub fn deleted(&self) -> u64 {
        self.entries.len() as u64 - self.live
    }
    /// True when an entry with these fields is stored with Redis' SAMEFIELDS flag.
    pub fn same_fields(&self, fields: &[Bytes]) -> bool {
        fields.len() == self.master_fields.len() * 2
            && fields.iter().step_by(2).eq(self.master_fields.iter())
    }
}

/// Node limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = unlimited).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

/// Redis' cap on one listpack (and on an entry's total field/value bytes).
pub const LISTPACK_MAX_BYTES: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {
    /// Nodes by master entry id.
    pub nodes: BTreeMap<StreamId, StreamNode>,
    pub length: u64,
    pub last_id: StreamId,
    /// The first live entry's id (0-0 when empty), as Redis records it.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// Groups by name (a radix tree in Redis: byte order).
    pub groups: BTreeMap<Bytes, Group>,
}

/// How XADD / XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

impl Stream {
    /// Appends an entry with an id already checked to be above `last_id`.
    pub fn append(&mut self, id: StreamId, fields: Vec<Bytes>, limits: NodeLimits) {
        let total: u64 = fields.iter().map(|f| f.len() as u64).sum();
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_MAX_BYTES,
            n => n.min(LISTPACK_MAX_BYTES),
        };
        let full = self.nodes.last_key_value().is_none_or(|(_, n)| {
            crate::rdb::stream_node_bytes(n) as u64 + total >= max_bytes
                || (limits.max_entries > 0 && n.entries.len() as u64 >= limits.max_entries)
        });
        if full {
            let master_fields = fields.iter().step_by(2).cloned().collect();
            let node = StreamNode {
                master_fields,
                ..Default::default()
            };
            self.nodes.insert(id, node);
        }
        if let Some(mut last) = self.nodes.last_entry() {
            let master = *last.key();
            let node = last.get_mut();
            node.body_bytes += crate::rdb::stream_entry_bytes(master, node, id, &fields);
            node.entries.push(NodeEntry {
                id,
                fields,
                deleted: false,
            });
            node.live += 1;
        }
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// The live entry `id`, if any.
    pub fn get(&self, id: StreamId) -> Option<&NodeEntry> {
        let (_, node) = self.nodes.range(..=id).next_back()?;
        let i = node.entries.binary_search_by_key(&id, |e| e.id).ok()?;
        Some(&node.entries[i]).filter(|e| !e.deleted)
    }

    /// Live entries from `start` to `end` inclusive, at most `count` (0 = all), newest first when
    /// `rev`.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<&NodeEntry> {
        if start > end {
            return Vec::new();
        }
        let first = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        let nodes = self.nodes.range(first..=end).map(|(_, n)| n);
        let wanted = move |e: &&NodeEntry| !e.deleted && e.id >= start && e.id <= end;
        let limit = if count == 0 { usize::MAX } else { count };
        match rev {
            true => nodes
                .rev()
                .flat_map(|n| n.entries.iter().rev())
                .filter(wanted)
                .take(limit)
                .collect(),
            false => nodes
                .flat_map(|n| n.entries.iter())
                .filter(wanted)
                .take(limit)
                .collect(),
        }
    }

    /// XDEL of one id: true if a live entry was deleted.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Ok(i) = node.entries.binary_search_by_key(&id, |e| e.id) else {
            return false;
        };
        if node.entries[i].deleted {
            return false;
        }
        node.entries[i].deleted = true;
        node.live -= 1;
        if node.live == 0 {
            self.nodes.remove(&master);
        }
        self.length -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.first_live_id();
        }
        true
    }

    fn first_live_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, false, 1)
            .first()
            .map_or(StreamId::MIN, |e| e.id)
    }

    /// The last live entry's id (0-0 when empty).
    pub fn last_live_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, true, 1)
            .first()
            .map_or(StreamId::MIN, |e| e.id)
    }

    /// Redis' streamTrim: whole nodes from the oldest, then (unless `approx`) entries inside the
    /// first node left; at most `limit` entries (0 = no limit). Returns the entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0;
        while let Some(mut entry) = self.nodes.first_entry() {
            if matches!(how, Trim::MaxLen(max) if self.length <= max) {
                break;
            }
            let node = entry.get_mut();
            let live = node.live;
            if limit > 0 && deleted + live > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.length - live >= max,
                Trim::MinId(min) => node.entries.last().is_some_and(|e| e.id < min),
            };
            if remove_node {
                entry.remove();
                self.length -= live;
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            for e in node.entries.iter_mut() {
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted {
                    e.deleted = true;
                    node.live -= 1;
                    self.length -= 1;
                    deleted += 1;
                }
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_live_id();
        }
        deleted
    }

    /// Redis' streamRangeHasTombstones from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id
        {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// Redis' streamEstimateDistanceFromFirstEverEntry: the logical read counter of `id`, or
    /// `None` when it cannot be known.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            } else if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// A group's lag (XINFO), `None` when unknown.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g
            .entries_read
            .filter(|_| !self.has_tombstones_from(g.last_id))
        {
            return Some(self.entries_added.saturating_sub(read));
        }
        self.estimate_entries_read(g.last_id)
            .map(|read| self.entries_added.saturating_sub(read))
    }

    /// A group reads entry `id` (past its last id): its read counter and last id advance.
    pub fn group_advance(&self, g: &mut Group, id: StreamId) {
        match g.entries_read {
            Some(read) if !self.has_tombstones_from(id) => g.entries_read = Some(read + 1),
            _ if self.entries_added > 0 => g.entries_read = self.estimate_entries_read(id),
            _ => {}
        }
        g.last_id = id;
    }

    /// Radix tree node count for XINFO's radix-tree-nodes: a compressed trie of the node keys.
    pub fn rax_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        trie_nodes(&keys, 0)
    }
}

fn trie_nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
    if keys.is_empty() || depth == 16 {
        return 1;
    }
    let first = keys[0];
    let last = keys[keys.len() - 1];
    if first[depth] == last[depth] {
        let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
        return 1 + trie_nodes(keys, depth + common);
    }
    let mut total = 1;
    let mut start = 0;
    while start < keys.len() {
        let b = keys[start][depth];
        let end = start + keys[start..].iter().take_while(|k| k[depth] == b).count();
        total += trie_nodes(&keys[start..end], depth + 1);
        start = end;
    }
    total
}
