//! What a key and its value cost in memory, modelled on Redis 7.2 built with libc malloc (the
//! reference build): each allocation rounded up to malloc's usable size, the structures Redis
//! would use for the value's encoding (robj, sds, listpack, dict, skiplist, intset, quicklist).
//!
//! One estimator serves MEMORY USAGE and the keyspace's byte count behind INFO `used_memory` and
//! maxmemory: an entry's cost is computed when it is stored or written and cached in its
//! `ObjMeta`, so keeping the totals costs the size of what a command changed, never the dataset.
//! Calibrated against redis-server 7.2.6 (libc): `SET key:N x` is 72 bytes in MEMORY USAGE and
//! about 85 per key in `used_memory` (the dict's bucket array adds the rest).

use super::encoding::Encoding;
use super::values::{Entry, Value};
use crate::rdb::{lp_element_bytes, stream_node_bytes};
use bytes::Bytes;

/// A dict entry (key, value, next pointers).
pub const DICT_ENTRY: usize = 24;
/// A dict's bucket array per element: 8-byte pointers, the table between one and two times the
/// element count (about 1.5 on average, linear so that no single write jumps by a rehash).
pub const DICT_SLOT: usize = 12;
/// Redis' object header (robj).
const ROBJ: usize = 16;
/// A dict's own header.
const DICT: usize = 56;
/// A listpack's header and end byte.
const LP_OVERHEAD: usize = 7;
/// A skiplist node with its average 1.33 levels, beside the member's dict entry.
const SKIPLIST_NODE: usize = 56;
/// The skiplist and zset headers (with the skiplist's 32-level head node).
const SKIPLIST: usize = 600;
/// A quicklist's header and each node's; listpack bytes per quicklist node (8 KiB default).
const QUICKLIST: usize = 40;
const QUICKLIST_NODE: usize = 40;
const QUICKLIST_NODE_BYTES: usize = 8 * 1024;
/// A stream's header and the radix tree's cost per node.
const STREAM: usize = 96;
const RAX_NODE: usize = 64;

/// What malloc hands out for a request of `n` bytes (glibc: 16-byte chunks, 8 bytes of header,
/// at least 24 usable).
pub fn alloc(n: usize) -> usize {
    ((n + 8 + 15) & !15).max(32) - 8
}

/// An sds string of `len` bytes: header by length class, the bytes, the terminator.
pub fn sds(len: usize) -> usize {
    let header = match len {
        0..32 => 1,
        32..256 => 3,
        256..65536 => 5,
        _ => 9,
    };
    alloc(header + len + 1)
}

/// MEMORY USAGE: the key's sds, its dict entry and the value.
pub fn entry_bytes(key: &[u8], e: &Entry) -> usize {
    sds(key.len()) + DICT_ENTRY + value_bytes(e)
}

fn listpack<'a>(items: impl Iterator<Item = &'a Bytes>) -> usize {
    alloc(LP_OVERHEAD + items.map(|b| lp_element_bytes(b)).sum::<usize>())
}

fn hashtable(n: usize, per_item: usize) -> usize {
    alloc(DICT) + n * (DICT_ENTRY + DICT_SLOT) + per_item
}

/// The value's bytes in the encoding it has now.
fn value_bytes(e: &Entry) -> usize {
    let enc = e.stored_encoding();
    ROBJ + match &e.value {
        Value::Str(_) if enc == Encoding::Int => 0,
        Value::Str(s) if enc == Encoding::Embstr => alloc(ROBJ + 3 + s.len() + 1) - ROBJ,
        Value::Str(s) => sds(s.len()),
        Value::List(l) if enc == Encoding::Listpack => listpack(l.iter()),
        Value::List(l) => {
            let lp = LP_OVERHEAD + l.iter().map(|b| lp_element_bytes(b)).sum::<usize>();
            let nodes = lp.div_ceil(QUICKLIST_NODE_BYTES).max(1);
            alloc(QUICKLIST) + nodes * (alloc(QUICKLIST_NODE) + LP_OVERHEAD) + lp
        }
        Value::Hash(h) if enc == Encoding::Listpack => listpack(h.iter().flat_map(|(f, v)| [f, v])),
        Value::Hash(h) => hashtable(
            h.len(),
            h.iter().map(|(f, v)| sds(f.len()) + sds(v.len())).sum(),
        ),
        Value::Set(s) if enc == Encoding::Intset => alloc(8 + s.len() * intset_width(s)),
        Value::Set(s) if enc == Encoding::Listpack => listpack(s.iter()),
        Value::Set(s) => hashtable(s.len(), s.iter().map(|m| sds(m.len())).sum()),
        Value::ZSet(z) if enc == Encoding::Listpack => {
            let scores: usize = z.scores.values().map(|v| score_bytes(*v)).sum();
            alloc(
                LP_OVERHEAD + scores + z.scores.keys().map(|m| lp_element_bytes(m)).sum::<usize>(),
            )
        }
        Value::ZSet(z) => {
            let members: usize = z.scores.keys().map(|m| sds(m.len()) + SKIPLIST_NODE).sum();
            SKIPLIST + hashtable(z.len(), members)
        }
        Value::Stream(st) => {
            let nodes: usize = st.nodes.values().map(stream_node_bytes).sum();
            STREAM + nodes + st.nodes.len() * RAX_NODE
        }
    }
}

/// A score as a listpack element: integers as integers, others as their shortest text.
fn score_bytes(v: f64) -> usize {
    lp_element_bytes(crate::text::fmt_double(v).as_bytes())
}

/// Bytes per element of an intset: the width its largest member needs.
fn intset_width(s: &indexmap::IndexSet<Bytes>) -> usize {
    let wide = |m: &Bytes| {
        let v = crate::resp::parse_i64(m).unwrap_or(0);
        match (i16::try_from(v).is_ok(), i32::try_from(v).is_ok()) {
            (true, _) => 2,
            (_, true) => 4,
            _ => 8,
        }
    };
    s.iter().map(wide).max().unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_entry(v: &str) -> Entry {
        Entry::new(
            Value::Str(Into::into(Bytes::copy_from_slice(v.as_bytes()))),
            None,
        )
    }

    #[test]
    fn string_keys_cost_what_redis_memory_usage_reports() {
        // Figures from redis-server 7.2.6 (libc malloc), MEMORY USAGE k after SET k <value>.
        for (len, redis) in [
            (1, 72),
            (10, 88),
            (30, 104),
            (44, 120),
            (45, 120),
            (60, 136),
            (100, 168),
            (200, 280),
            (1000, 1080),
        ] {
            let e = str_entry(&"a".repeat(len));
            assert_eq!(entry_bytes(b"k", &e), redis, "value of {len} bytes");
        }
        assert_eq!(entry_bytes(b"i", &str_entry("12345678")), 64);
        assert_eq!(entry_bytes(b"key:1234", &str_entry("x")), 72);
    }

    #[test]
    fn a_collection_costs_more_as_it_grows_and_converts() {
        let items = |n: usize| (0..n).map(|i| Bytes::from(format!("member:{i}")));
        let small = Entry::new(Value::Set(Box::new(items(10).collect())), None);
        let mut big = Entry::new(Value::Set(Box::new(items(1000).collect())), None);
        big.meta.encoding = Some(Encoding::Hashtable);
        let (s, b) = (entry_bytes(b"s", &small), entry_bytes(b"s", &big));
        assert!(s > 100 && s < 300, "10 members in a listpack: {s}");
        assert!(b > 1000 * 60, "1000 members in a hashtable: {b}");
    }
}
