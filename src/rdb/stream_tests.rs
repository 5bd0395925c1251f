//! Stream values in RDB files: what Redis 5 (type 15) and 7.0 (type 19) wrote loads with the
//! counters Redis derives, our type-21 output reads back identically, and corrupt input is an
//! error, never a panic.

use super::tests::{file, kv, only_value, write};
use super::*;
use crate::db::stream::NodeLimits;
use crate::db::{Entry, Stream, StreamId, Value};

/// The payloads (type byte and DUMP footer removed) of Redis' own legacy-loading tests: a
/// Redis 5 stream 1-0..6-0 with 3-0 deleted, groups g1 (c11 read 4) and g2, trimmed to 2.
const REDIS5_STREAM: &[u8] = b"\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xc3\x40\x4a\x40\x57\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03\x01\x00\x20\x01\x03\x81\x61\x02\x04\x20\x0a\x00\x01\x40\x0a\x00\x62\x60\x0a\x00\x02\x40\x0a\x00\x63\x60\x0a\x40\x22\x01\x81\x64\x20\x0a\x40\x39\x20\x0a\x00\x65\x60\x0a\x00\x05\x40\x0a\x00\x66\x20\x0a\x00\xff\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3e\xf7\x83\x43\x7a\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02\x67\x32\x00\x00\x00\x00";
/// A Redis 7.0 stream: group g, consumer Alice read 1-1.
const REDIS7_0_STREAM: &[u8] = b"\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x1d\x1d\x00\x00\x00\x0a\x00\x01\x01\x00\x01\x01\x01\x81\x66\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81\x76\x02\x04\x01\xff\x01\x01\x01\x01\x01\x00\x00\x01\x01\x01\x67\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\xf5\x5a\x71\xc7\x84\x01\x00\x00\x01\x01\x05\x41\x6c\x69\x63\x65\xf5\x5a\x71\xc7\x84\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01";

fn stream_of(e: Entry) -> Stream {
    match e.value {
        Value::Stream(s) => *s,
        other => panic!("not a stream: {other:?}"),
    }
}

#[test]
fn a_redis_5_stream_loads_with_estimated_read_counters() {
    let s = stream_of(only_value(&file(9, &kv(15, REDIS5_STREAM))));
    assert_eq!(s.length, 2);
    assert_eq!(s.entries_added, 2);
    assert_eq!(s.max_deleted_id, StreamId::MIN);
    assert_eq!(s.first_id, StreamId::new(5, 0));
    let g1 = &s.groups[&b"g1"[..]];
    let g2 = &s.groups[&b"g2"[..]];
    assert_eq!((g1.entries_read, s.lag(g1)), (Some(1), Some(1)));
    assert_eq!((g2.entries_read, s.lag(g2)), (Some(0), Some(2)));
    assert_eq!(g1.pel.len(), 4);
    assert_eq!(g1.consumers[&b"c11"[..]].pel.len(), 4);
}

#[test]
fn a_redis_7_0_stream_loads_with_active_time_equal_to_seen_time() {
    let s = stream_of(only_value(&file(10, &kv(19, REDIS7_0_STREAM))));
    let alice = &s.groups[&b"g"[..]].consumers[&b"Alice"[..]];
    assert_eq!(alice.active_time_ms, alice.seen_time_ms as i64);
    assert_eq!(alice.pel.len(), 1);
}

fn sample() -> Stream {
    let mut s = Stream::default();
    let limits = NodeLimits {
        max_bytes: 4096,
        max_entries: 3,
    };
    for i in 1..=10u64 {
        let mut fields = vec![Bytes::from("f"), Bytes::from(i.to_string())];
        if i % 4 == 0 {
            fields.extend([Bytes::from("other"), Bytes::from("x".repeat(70))]);
        }
        s.append(StreamId::new(1000 + i, i * 3), fields, limits);
    }
    s.delete(StreamId::new(1002, 6));
    let mut g = crate::db::stream::Group::new(StreamId::new(1005, 15), Some(5));
    g.consumer(&Bytes::from("alice"), 77);
    g.consumer(&Bytes::from("idle"), 78);
    g.assign(StreamId::new(1004, 12), &Bytes::from("alice"), 99, 2);
    s.groups.insert(Bytes::from("g"), g);
    s
}

#[test]
fn a_stream_with_groups_reads_back_as_written() {
    let s = sample();
    assert_eq!(s.nodes.len(), 4);
    let dbs = vec![(
        0,
        vec![(
            Bytes::from("k"),
            Entry::new(Value::Stream(Box::new(s.clone())), None),
        )],
    )];
    for compress in [false, true] {
        let opts = WriteOptions {
            compress,
            version: RDB_VERSION_7_2,
            ..Default::default()
        };
        let bytes = write(&dbs, &Aux::default(), opts, false);
        assert_eq!(stream_of(only_value(&bytes)), s);
    }
    // Redis 7.0's format keeps everything but the consumers' active times.
    let bytes = write(&dbs, &Aux::default(), WriteOptions::default(), false);
    let mut loaded = stream_of(only_value(&bytes));
    for c in loaded
        .groups
        .values_mut()
        .flat_map(|g| g.consumers.values_mut())
    {
        assert_eq!(c.active_time_ms, c.seen_time_ms as i64);
        c.active_time_ms = -1;
    }
    assert_eq!(loaded, s);
}

#[test]
fn a_truncated_stream_is_an_error_at_every_length() {
    let dbs = vec![(
        0,
        vec![(
            Bytes::from("k"),
            Entry::new(Value::Stream(Box::new(sample())), None),
        )],
    )];
    let opts = WriteOptions {
        compress: false,
        checksum: false,
        version: RDB_VERSION_7_2,
    };
    let bytes = write(&dbs, &Aux::default(), opts, false);
    for cut in (20..bytes.len() - 9).step_by(7) {
        let mut broken = bytes[..cut].to_vec();
        broken.push(0xff);
        broken.extend_from_slice(&[0; 8]);
        assert!(read_rdb(&broken).is_err(), "cut at {cut}");
    }
}
