//! The internal representation Redis would use for a value (OBJECT ENCODING, DEBUG OBJECT), with
//! Redis 7.2's thresholds and conversion rules, plus the per-key access clock (OBJECT IDLETIME).
//!
//! Values here are ordinary Rust collections; what is tracked is the encoding Redis would be in.
//! Small aggregates start compact (listpack, intset) and convert once a threshold is crossed;
//! sets, hashes and sorted sets never convert back, lists return to a listpack when they shrink to
//! half the limit (7.2's `listTypeTryConvertQuicklist`). Strings follow their content.

use super::values::{Entry, Value};
use bytes::Bytes;

/// Redis' encodings, with the names OBJECT ENCODING prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    Int,
    Embstr,
    Raw,
    Intset,
    Listpack,
    Quicklist,
    Hashtable,
    Skiplist,
    Stream,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Int => "int",
            Encoding::Embstr => "embstr",
            Encoding::Raw => "raw",
            Encoding::Intset => "intset",
            Encoding::Listpack => "listpack",
            Encoding::Quicklist => "quicklist",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
            Encoding::Stream => "stream",
        }
    }
}

/// The `*-max-listpack-*`, `set-max-intset-entries` and `list-max-listpack-size` settings.
#[derive(Clone, Copy, Debug)]
pub struct EncodingLimits {
    pub hash_entries: u64,
    pub hash_value: u64,
    pub set_intset_entries: u64,
    pub set_entries: u64,
    pub set_value: u64,
    pub zset_entries: u64,
    pub zset_value: u64,
    /// Positive: entries per listpack; -1..-5: 4 KiB..64 KiB per listpack.
    pub list_size: i64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            set_entries: 128,
            set_value: 64,
            zset_entries: 128,
            zset_value: 64,
            list_size: -2,
        }
    }
}

/// What Redis keeps per object besides the value: its encoding, its access clock and LFU
/// counter (`access.rs`), and what the entry costs in memory (`memsize.rs`, cached here so that
/// the keyspace's total changes by what a write changed).
/// Not part of a value's identity: two entries with equal values and expiry are equal.
#[derive(Clone, Copy, Debug)]
pub struct ObjMeta {
    /// The aggregate encoding reached so far (`None`: not settled yet, follow the content).
    pub encoding: Option<Encoding>,
    /// Unix ms of the last access (OBJECT IDLETIME, LRU eviction).
    pub access_ms: u64,
    /// The LFU counter and the unix minute it was last decremented or incremented at
    /// (`None`: the key was just made).
    pub lfu_count: u8,
    pub lfu_min: Option<u32>,
    /// A small integer value is one of Redis' shared objects (OBJECT REFCOUNT).
    pub shared_int: bool,
    /// RESTORE ... IDLETIME set `access_ms` in the past: the write that follows keeps it, once.
    pub keep_access: bool,
    /// The entry's bytes as last estimated (`memsize::entry_bytes`), counted in its database.
    pub bytes: usize,
}

impl Default for ObjMeta {
    fn default() -> Self {
        ObjMeta {
            encoding: None,
            access_ms: 0,
            lfu_count: super::access::LFU_INIT_VAL,
            lfu_min: None,
            shared_int: true,
            keep_access: false,
            bytes: 0,
        }
    }
}

impl PartialEq for ObjMeta {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Longest string Redis embeds in its object header (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
const EMBSTR_MAX: usize = 44;
/// Bytes a listpack spends beyond its elements: header and end mark.
const LISTPACK_OVERHEAD: usize = 7;

/// Redis' string2ll: a canonical decimal i64 (no sign-plus, no leading zeros, no spaces).
pub fn canonical_int(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 20 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(s) else {
        return false;
    };
    text.parse::<i64>().is_ok_and(|n| n.to_string() == text)
}

fn string_encoding(s: &[u8]) -> Encoding {
    if canonical_int(s) {
        Encoding::Int
    } else if s.len() <= EMBSTR_MAX {
        Encoding::Embstr
    } else {
        Encoding::Raw
    }
}

/// Does a list fit one listpack under `list-max-listpack-size` (scaled by `share`: 1 or 1/2)?
fn list_fits(items: &std::collections::VecDeque<Bytes>, limit: i64, halve: bool) -> bool {
    let div = if halve { 2 } else { 1 };
    if limit > 0 {
        return items.len() as u64 <= limit as u64 / div;
    }
    let level = limit.clamp(-5, -1).unsigned_abs() - 1;
    let max_bytes = (4096usize << level) / div as usize;
    let bytes: usize = items.iter().map(|e| e.len() + 2).sum();
    bytes + LISTPACK_OVERHEAD <= max_bytes
}

fn all_short<'a>(mut items: impl Iterator<Item = &'a Bytes>, max: u64) -> bool {
    items.all(|b| b.len() as u64 <= max)
}

/// The encoding a set's content requires, coming from `from` (conversions only go up).
fn set_encoding(set: &indexmap::IndexSet<Bytes>, l: &EncodingLimits, from: Encoding) -> Encoding {
    let n = set.len() as u64;
    let ints = from == Encoding::Intset && set.iter().all(|m| canonical_int(m));
    if ints {
        return match n <= l.set_intset_entries {
            true => Encoding::Intset,
            false => Encoding::Hashtable,
        };
    }
    if from <= Encoding::Listpack && n <= l.set_entries && all_short(set.iter(), l.set_value) {
        Encoding::Listpack
    } else {
        Encoding::Hashtable
    }
}

impl Entry {
    /// The encoding Redis would report for this value now.
    pub fn encoding(&self, limits: &EncodingLimits) -> Encoding {
        let from = self
            .meta
            .encoding
            .unwrap_or_else(|| self.created_encoding());
        self.next_encoding(from, limits)
    }

    /// A string's encoding: its content's, unless an in-place edit left it raw (`meta.encoding`
    /// is `Raw`), as Redis leaves a string after APPEND, SETRANGE, SETBIT or PFADD.
    fn str_encoding(&self, s: &[u8]) -> Encoding {
        match self.meta.encoding {
            Some(Encoding::Raw) => Encoding::Raw,
            _ => string_encoding(s),
        }
    }

    /// Marks a string raw after an in-place edit (`raw`), or lets its content decide again.
    pub fn set_string_raw(&mut self, raw: bool) {
        self.meta.encoding = raw.then_some(Encoding::Raw);
    }

    /// The encoding recorded so far, or the one the value starts in (no config needed).
    pub(crate) fn stored_encoding(&self) -> Encoding {
        match &self.value {
            Value::Str(s) => self.str_encoding(s),
            _ => self
                .meta
                .encoding
                .unwrap_or_else(|| self.created_encoding()),
        }
    }

    /// Records the encoding after a change (called once per written key).
    pub fn settle_encoding(&mut self, limits: &EncodingLimits) {
        if !matches!(self.value, Value::Str(_)) {
            self.meta.encoding = Some(self.encoding(limits));
        }
    }

    /// The most compact encoding a value of this type starts in.
    fn created_encoding(&self) -> Encoding {
        match &self.value {
            Value::Str(s) => self.str_encoding(s),
            Value::List(_) => Encoding::Listpack,
            Value::Set(s) if s.iter().all(|m| canonical_int(m)) => Encoding::Intset,
            Value::Set(_) | Value::Hash(_) | Value::ZSet(_) => Encoding::Listpack,
            Value::Stream(_) => Encoding::Stream,
        }
    }

    fn next_encoding(&self, from: Encoding, l: &EncodingLimits) -> Encoding {
        match &self.value {
            Value::Str(s) => self.str_encoding(s),
            Value::Stream(_) => Encoding::Stream,
            Value::List(items) => {
                let quick = from == Encoding::Quicklist;
                match list_fits(items, l.list_size, quick) {
                    true => Encoding::Listpack,
                    false => Encoding::Quicklist,
                }
            }
            Value::Set(s) => set_encoding(s, l, from),
            Value::Hash(h) => {
                let small = h.len() as u64 <= l.hash_entries
                    && all_short(h.keys().chain(h.values()), l.hash_value);
                match from == Encoding::Listpack && small {
                    true => Encoding::Listpack,
                    false => Encoding::Hashtable,
                }
            }
            Value::ZSet(z) => {
                let small =
                    z.len() as u64 <= l.zset_entries && all_short(z.scores.keys(), l.zset_value);
                match from == Encoding::Listpack && small {
                    true => Encoding::Listpack,
                    false => Encoding::Skiplist,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::{IndexMap, IndexSet};

    fn entry(value: Value) -> Entry {
        Entry {
            value,
            expire_at_ms: None,
            meta: ObjMeta::default(),
        }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn strings_are_int_embstr_or_raw_by_content() {
        let l = EncodingLimits::default();
        assert_eq!(
            entry(Value::Str(Into::into(b("12345")))).encoding(&l),
            Encoding::Int
        );
        assert_eq!(
            entry(Value::Str(Into::into(b("012")))).encoding(&l),
            Encoding::Embstr
        );
        assert_eq!(
            entry(Value::Str(Into::into(b(&"x".repeat(44))))).encoding(&l),
            Encoding::Embstr
        );
        assert_eq!(
            entry(Value::Str(Into::into(b(&"x".repeat(45))))).encoding(&l),
            Encoding::Raw
        );
    }

    #[test]
    fn a_set_goes_from_intset_to_listpack_to_hashtable_and_never_back() {
        let l = EncodingLimits::default();
        let mut e = entry(Value::Set(Box::new(IndexSet::from([b("1"), b("2")]))));
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Intset);
        if let Value::Set(s) = &mut e.value {
            s.insert(b("abc"));
        }
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Listpack);
        if let Value::Set(s) = &mut e.value {
            s.insert(b(&"y".repeat(65)));
        }
        e.settle_encoding(&l);
        if let Value::Set(s) = &mut e.value {
            s.clear();
            s.insert(b("1"));
        }
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Hashtable);
    }

    #[test]
    fn a_hash_converts_past_its_entry_limit() {
        let l = EncodingLimits {
            hash_entries: 2,
            ..Default::default()
        };
        let mut h = IndexMap::new();
        h.insert(b("a"), b("1"));
        let mut e = entry(Value::Hash(Box::new(h)));
        assert_eq!(e.encoding(&l), Encoding::Listpack);
        if let Value::Hash(h) = &mut e.value {
            h.insert(b("b"), b("2"));
            h.insert(b("c"), b("3"));
        }
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Hashtable);
    }

    #[test]
    fn a_list_returns_to_listpack_only_below_half_the_limit() {
        let l = EncodingLimits {
            list_size: 4,
            ..Default::default()
        };
        let mut e = entry(Value::List(
            (0..5)
                .map(|i| b(&i.to_string()))
                .collect::<std::collections::VecDeque<_>>()
                .into(),
        ));
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Quicklist);
        if let Value::List(items) = &mut e.value {
            items.truncate(3);
        }
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Quicklist);
        if let Value::List(items) = &mut e.value {
            items.truncate(2);
        }
        e.settle_encoding(&l);
        assert_eq!(e.encoding(&l), Encoding::Listpack);
    }
}
