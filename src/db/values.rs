//! The typed values keys hold, and the entry (value + expiry) stored per key.

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::cmp::Ordering;
use std::collections::{BTreeSet, VecDeque};

/// A sorted set: member -> score, plus (score, member) order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    pub scores: IndexMap<Bytes, f64>,
    pub order: BTreeSet<(Score, Bytes)>,
}

/// A score with a total order (NaN never enters a sorted set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl ZSet {
    /// Inserts or updates; returns true when the member is new.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        match self.scores.insert(member.clone(), score) {
            Some(old) => {
                self.order.remove(&(Score(old), member.clone()));
                self.order.insert((Score(score), member));
                false
            }
            None => {
                self.order.insert((Score(score), member));
                true
            }
        }
    }
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.shift_remove(member) {
            Some(old) => {
                self.order
                    .remove(&(Score(old), Bytes::copy_from_slice(member)));
                true
            }
            None => false,
        }
    }
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Removes and returns the member with the highest (or lowest) score.
    pub fn pop_edge(&mut self, highest: bool) -> Option<(Bytes, f64)> {
        let (score, member) = if highest {
            self.order.pop_last()?
        } else {
            self.order.pop_first()?
        };
        self.scores.shift_remove(&member);
        Some((member, score.0))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(super::CompactBytes),
    List(Box<VecDeque<Bytes>>),
    /// Insertion order, as Redis' listpack encoding shows it for small hashes. The aggregates
    /// are boxed so that a string key's entry stays small (`bench/memory.sh`).
    Hash(Box<IndexMap<Bytes, Bytes>>),
    Set(Box<IndexSet<Bytes>>),
    ZSet(Box<ZSet>),
    Stream(Box<super::Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }
    /// True for an aggregate with no elements: such keys must not exist.
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) | Value::Stream(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute unix time in ms (Redis keeps expiry on the wall clock).
    pub expire_at_ms: Option<u64>,
    /// Encoding and access clock (see `encoding.rs`); ignored by equality.
    pub meta: super::encoding::ObjMeta,
}

impl Entry {
    /// A value just created at `now_ms`.
    pub fn new(value: Value, expire_at_ms: Option<u64>) -> Self {
        Entry {
            value,
            expire_at_ms,
            meta: Default::default(),
        }
    }
}
