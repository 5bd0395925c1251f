//! Tests of the compact encodings: small independent encoders build ziplists, listpacks, intsets
//! and zipmaps in every entry width; each RDB type that embeds them must load the same values,
//! corrupt blobs must be rejected, and a file saved by a real Redis 7.0.15 must load exactly.

use super::tests::{b, error, file, kv, len, only_value, raw};
use super::*;
use crate::db::{Entry, Value, ZSet};
use indexmap::{IndexMap, IndexSet};

#[derive(Clone, Copy)]
enum It<'a> {
    S(&'a [u8]),
    I(i64),
}
use It::{I, S};

fn fits(v: i64, bits: u32) -> bool {
    (-(1i64 << (bits - 1))..(1i64 << (bits - 1))).contains(&v)
}

fn listpack(items: &[It]) -> Vec<u8> {
    let mut body = Vec::new();
    for it in items {
        let mut e = Vec::new();
        match *it {
            I(v) if (0..=127).contains(&v) => e.push(v as u8),
            I(v) if fits(v, 13) => {
                let u = (v as u16) & 0x1fff;
                e.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
            }
            I(v) if fits(v, 16) => e.extend([&[0xf1][..], &(v as i16).to_le_bytes()].concat()),
            I(v) if fits(v, 24) => e.extend([&[0xf2][..], &(v as i32).to_le_bytes()[..3]].concat()),
            I(v) if fits(v, 32) => e.extend([&[0xf3][..], &(v as i32).to_le_bytes()].concat()),
            I(v) => e.extend([&[0xf4][..], &v.to_le_bytes()].concat()),
            S(s) if s.len() < 64 => e.push(0x80 | s.len() as u8),
            S(s) if s.len() < 4096 => {
                e.extend_from_slice(&[0xe0 | (s.len() >> 8) as u8, s.len() as u8])
            }
            S(s) => e.extend([&[0xf0][..], &(s.len() as u32).to_le_bytes()].concat()),
        }
        if let S(s) = *it {
            e.extend_from_slice(s);
        }
        let l = e.len();
        let back = if l <= 127 {
            vec![l as u8]
        } else if l < 16383 {
            vec![(l >> 7) as u8, (l & 127) as u8 | 128]
        } else {
            vec![
                (l >> 14) as u8,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]
        };
        body.extend(e);
        body.extend(back);
    }
    let total = (6 + body.len() + 1) as u32;
    [
        &total.to_le_bytes()[..],
        &(items.len() as u16).to_le_bytes(),
        &body,
        &[0xff],
    ]
    .concat()
}

fn ziplist(items: &[It]) -> Vec<u8> {
    let (mut body, mut prev, mut tail) = (Vec::new(), 0usize, 10usize);
    for it in items {
        let mut e = if prev < 254 {
            vec![prev as u8]
        } else {
            [&[0xfe][..], &(prev as u32).to_le_bytes()].concat()
        };
        match *it {
            I(v) if (0..=12).contains(&v) => e.push(0xf1 + v as u8),
            I(v) if fits(v, 8) => e.extend_from_slice(&[0xfe, v as u8]),
            I(v) if fits(v, 16) => e.extend([&[0xc0][..], &(v as i16).to_le_bytes()].concat()),
            I(v) if fits(v, 24) => e.extend([&[0xf0][..], &(v as i32).to_le_bytes()[..3]].concat()),
            I(v) if fits(v, 32) => e.extend([&[0xd0][..], &(v as i32).to_le_bytes()].concat()),
            I(v) => e.extend([&[0xe0][..], &v.to_le_bytes()].concat()),
            S(s) if s.len() < 64 => e.push(s.len() as u8),
            S(s) if s.len() < 16384 => {
                e.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8])
            }
            S(s) => e.extend([&[0x80][..], &(s.len() as u32).to_be_bytes()].concat()),
        }
        if let S(s) = *it {
            e.extend_from_slice(s);
        }
        tail = 10 + body.len();
        prev = e.len();
        body.extend(e);
    }
    let total = (10 + body.len() + 1) as u32;
    let header = [
        &total.to_le_bytes()[..],
        &(tail as u32).to_le_bytes(),
        &(items.len() as u16).to_le_bytes(),
    ]
    .concat();
    [&header[..], &body, &[0xff]].concat()
}

fn intset(width: usize, values: &[i64]) -> Vec<u8> {
    let mut out = [
        (width as u32).to_le_bytes(),
        (values.len() as u32).to_le_bytes(),
    ]
    .concat();
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

fn zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let len = |n: usize| {
        if n < 254 {
            vec![n as u8]
        } else {
            [&[254u8][..], &(n as u32).to_le_bytes()].concat()
        }
    };
    let mut out = vec![pairs.len() as u8];
    for (k, v) in pairs {
        out.extend(
            [
                len(k.len()),
                k.to_vec(),
                len(v.len()),
                vec![2],
                v.to_vec(),
                vec![0, 0],
            ]
            .concat(),
        );
    }
    out.push(0xff);
    out
}

/// Loads a one-key file whose value is type `t` holding the blob as an RDB string.
fn load_blob(t: u8, blob: &[u8]) -> Value {
    only_value(&file(10, &kv(t, &raw(blob)))).value
}

fn texts(items: &[&str]) -> Vec<Bytes> {
    items.iter().map(|s| b(s)).collect()
}

#[test]
fn ziplist_and_listpack_lists_decode_every_entry_width() {
    let s300 = [b'x'; 300];
    let s5000 = [b'y'; 5000];
    let s20000 = [b'z'; 20000];
    let items = [
        S(b"a"),
        I(5),
        I(12),
        I(-1),
        I(-200),
        I(100),
        I(30000),
        I(-5_000_000),
        I(100_000_000),
        I(1 << 40),
        I(i64::MIN),
        S(b""),
        S(&s300),
        S(&s5000),
        S(&s20000),
    ];
    let expected: Vec<Bytes> = [
        "a",
        "5",
        "12",
        "-1",
        "-200",
        "100",
        "30000",
        "-5000000",
        "100000000",
        "1099511627776",
        &i64::MIN.to_string(),
        "",
    ]
    .iter()
    .map(|s| b(s))
    .chain([&s300[..], &s5000, &s20000].map(Bytes::copy_from_slice))
    .collect();
    let as_list = Value::List(
        expected
            .iter()
            .cloned()
            .collect::<std::collections::VecDeque<_>>()
            .into(),
    );
    assert_eq!(load_blob(10, &ziplist(&items)), as_list);
    // Quicklists: nodes of ziplists (14), or container-tagged listpacks and plain nodes (18).
    let (head, rest) = items.split_at(4);
    let ql = [&[2u8][..], &raw(&ziplist(head)), &raw(&ziplist(rest))].concat();
    assert_eq!(only_value(&file(10, &kv(14, &ql))).value, as_list);
    let ql2 = [
        &[3u8, 2][..],
        &raw(&listpack(head)),
        &[1],
        &raw(b"-200"),
        &[2],
        &raw(&listpack(&rest[1..])),
    ]
    .concat();
    assert_eq!(only_value(&file(10, &kv(18, &ql2))).value, as_list);
    // An LZF-compressed blob, as Redis stores blobs over 20 bytes.
    let blob = listpack(&items);
    let packed = lzf::compress(&blob, blob.len()).unwrap();
    let lzf_string = [&[0xc3u8][..], &len(packed.len()), &len(blob.len()), &packed].concat();
    let body = [&[18u8][..], &raw(b"k"), &[1, 2], &lzf_string].concat();
    assert_eq!(only_value(&file(10, &body)).value, as_list);
}

#[test]
fn sets_load_from_intsets_and_listpacks() {
    let values = [-70000i64, -3, 0, 7, 40000];
    for width in [4usize, 8] {
        let set: IndexSet<Bytes> = values.iter().map(|v| Bytes::from(v.to_string())).collect();
        assert_eq!(
            load_blob(11, &intset(width, &values)),
            Value::Set(Box::new(set))
        );
    }
    assert_eq!(
        load_blob(11, &intset(2, &[-3, 0, 7])),
        Value::Set(Box::new(texts(&["-3", "0", "7"]).into_iter().collect()))
    );
    assert_eq!(
        load_blob(20, &listpack(&[S(b"a"), I(1), S(b"bb")])),
        Value::Set(Box::new(texts(&["a", "1", "bb"]).into_iter().collect()))
    );
}

#[test]
fn hashes_load_from_zipmaps_ziplists_and_listpacks() {
    let big = [b'v'; 300];
    let expected: IndexMap<Bytes, Bytes> = [
        (b("f"), b("v")),
        (b("n"), b("12")),
        (b("big"), Bytes::copy_from_slice(&big)),
    ]
    .into_iter()
    .collect();
    let items = [S(b"f"), S(b"v"), S(b"n"), I(12), S(b"big"), S(&big)];
    assert_eq!(
        load_blob(13, &ziplist(&items)),
        Value::Hash(Box::new(expected.clone()))
    );
    assert_eq!(
        load_blob(16, &listpack(&items)),
        Value::Hash(Box::new(expected.clone()))
    );
    assert_eq!(
        load_blob(9, &zipmap(&[(b"f", b"v"), (b"n", b"12"), (b"big", &big)])),
        Value::Hash(Box::new(expected))
    );
}

#[test]
fn sorted_sets_load_from_ziplists_and_listpacks() {
    let items = [S(b"a"), S(b"1.5"), S(b"b"), I(-3), S(b"c"), S(b"inf")];
    let mut z = ZSet::default();
    for (m, s) in [("a", 1.5), ("b", -3.0), ("c", f64::INFINITY)] {
        z.insert(b(m), s);
    }
    assert_eq!(
        load_blob(12, &ziplist(&items)),
        Value::ZSet(Box::new(z.clone()))
    );
    assert_eq!(load_blob(17, &listpack(&items)), Value::ZSet(Box::new(z)));
    assert_eq!(
        error(&file(10, &kv(17, &raw(&listpack(&[S(b"a"), S(b"x")]))))).message,
        "Zset has an invalid score"
    );
    assert_eq!(
        error(&file(10, &kv(17, &raw(&listpack(&[S(b"a")]))))).message,
        "Zset has an odd number of elements"
    );
}

#[test]
fn corrupt_blobs_are_rejected_with_the_blob_offset() {
    let check = |t: u8, blob: Vec<u8>, want: &str| {
        let e = error(&file(10, &kv(t, &raw(&blob))));
        assert!(e.message.contains(want), "{e} (wanted {want})");
        assert_eq!(e.offset, 12, "{e}");
    };
    let good = listpack(&[S(b"a"), I(1)]);
    let mut lp = good.clone();
    lp[4] = 3;
    check(20, lp, "header says 3 entries");
    let mut lp = good.clone();
    lp[8] = 9;
    check(20, lp, "wrong back length");
    let mut lp = good.clone();
    lp[0] += 1;
    check(20, lp, "header says");
    let mut lp = good.clone();
    lp[6] = 0xf7;
    check(20, lp, "bad encoding");
    check(20, listpack(&[S(b"a"), S(b"a")]), "Duplicate set members");
    let good = ziplist(&[S(b"a"), I(1)]);
    let mut zl = good.clone();
    zl[13] = 5;
    check(10, zl, "wrong prevlen");
    let mut zl = good.clone();
    zl[4] = 0;
    check(10, zl, "tail offset");
    let mut zl = good.clone();
    zl[14] = 0xc1;
    check(10, zl, "bad encoding");
    check(11, intset(2, &[3, 1]), "strictly ascending");
    check(11, intset(3, &[1]), "bad encoding");
    let mut is = intset(4, &[1, 2]);
    is.pop();
    check(11, is, "length does not match");
    let mut zm = zipmap(&[(b"k", b"v")]);
    zm[0] = 2;
    check(9, zm, "header says 2 pairs");
    check(16, listpack(&[S(b"f")]), "odd number");
    check(
        16,
        listpack(&[S(b"f"), S(b"1"), S(b"f"), S(b"2")]),
        "Duplicate hash fields",
    );
    let bad_container = [&[1u8, 3][..], &raw(&listpack(&[I(1)]))].concat();
    assert!(error(&file(10, &kv(18, &bad_container)))
        .message
        .contains("container 3"));
    let empty_node = [&[1u8, 2][..], &raw(b"")].concat();
    assert!(error(&file(10, &kv(18, &empty_node)))
        .message
        .contains("empty"));
}

#[test]
fn empty_blobs_drop_the_key() {
    let empties = [
        kv(16, &raw(&listpack(&[]))),
        kv(11, &raw(&intset(2, &[]))),
        kv(10, &raw(&ziplist(&[]))),
    ]
    .concat();
    assert!(read_rdb(&file(10, &empties)).unwrap().dbs.is_empty());
}

#[test]
fn a_file_saved_by_redis_7_0_loads_exactly() {
    let loaded = read_rdb(include_bytes!("testdata/redis-7.0.15-small.rdb")).unwrap();
    assert_eq!(loaded.version, 10);
    assert_eq!(loaded.aux.redis_ver, "7.0.15");
    assert_eq!(loaded.aux.redis_bits, 64);
    assert!(loaded.aux.ctime > 1_600_000_000 && loaded.aux.used_mem > 0);
    assert!(!loaded.aux.aof_base && loaded.aux.repl.is_none() && loaded.aux.other.is_empty());
    let mut zs = ZSet::default();
    for (m, s) in [("a", 1.0), ("b", 2.5), ("c", f64::NEG_INFINITY)] {
        zs.insert(b(m), s);
    }
    let mut want: Vec<(Bytes, Entry)> = vec![
        (
            b("s"),
            Entry::new(Value::Str(Into::into(b("hello"))), Some(4_102_444_800_000)),
        ),
        (b("n"), Value::Str(Into::into(b("1234"))).into_entry()),
        (
            b("big"),
            Value::Str(Into::into(b("9876543210"))).into_entry(),
        ),
        (
            b("z"),
            Value::Str(Into::into(b(&"x".repeat(40)))).into_entry(),
        ),
        (
            b("l"),
            Value::List(
                texts(&["a", "1", "-5", "300", "70000", "hello"])
                    .into_iter()
                    .collect::<std::collections::VecDeque<_>>()
                    .into(),
            )
            .into_entry(),
        ),
        (
            b("h"),
            Value::Hash(Box::new(
                [(b("f1"), b("v1")), (b("f2"), b("2"))]
                    .into_iter()
                    .collect(),
            ))
            .into_entry(),
        ),
        (
            b("si"),
            Value::Set(Box::new(
                texts(&["-100000", "1", "2", "3"]).into_iter().collect(),
            ))
            .into_entry(),
        ),
        (
            b("ss"),
            Value::Set(Box::new(texts(&["a", "b"]).into_iter().collect())).into_entry(),
        ),
        (b("zs"), Value::ZSet(Box::new(zs)).into_entry()),
    ];
    let (db0, mut got) = loaded.dbs[0].clone();
    assert_eq!(db0, 0);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    assert_eq!(
        loaded.dbs[1],
        (
            2,
            vec![(b("other"), Value::Str(Into::into(b("x"))).into_entry())]
        )
    );
}

trait IntoEntry {
    fn into_entry(self) -> Entry;
}
impl IntoEntry for Value {
    fn into_entry(self) -> Entry {
        Entry::new(self, None)
    }
}

/// A file with one key of every blob-encoded type (also the fuzz tests' corpus).
pub(super) fn blob_file() -> Vec<u8> {
    let big = [b'q'; 300];
    let items = [S(b"a"), I(7), I(-300), I(70000), I(1 << 35), S(&big)];
    let pairs = [S(b"m"), S(b"1.5"), S(b"n"), I(2), S(b"o"), S(&big[..3])];
    let one = |t: u8, key: &[u8], value: Vec<u8>| [vec![t], raw(key), value].concat();
    let quicklist = [vec![2u8], raw(&ziplist(&items)), raw(&ziplist(&items[..2]))].concat();
    let quicklist2 = [vec![2u8, 2], raw(&listpack(&items)), vec![1], raw(&big)].concat();
    let body = [
        one(9, b"zipmap", raw(&zipmap(&[(b"f", b"v"), (b"g", &big)]))),
        one(10, b"ziplist", raw(&ziplist(&items))),
        one(11, b"intset", raw(&intset(4, &[-5, 1, 70000]))),
        one(12, b"zset-ziplist", raw(&ziplist(&pairs[..4]))),
        one(13, b"hash-ziplist", raw(&ziplist(&pairs))),
        one(14, b"quicklist", quicklist),
        one(16, b"hash-listpack", raw(&listpack(&pairs))),
        one(17, b"zset-listpack", raw(&listpack(&pairs[..4]))),
        one(18, b"quicklist2", quicklist2),
        one(20, b"set-listpack", raw(&listpack(&items))),
    ]
    .concat();
    file(10, &body)
}

#[test]
fn the_blob_file_loads_every_key() {
    let loaded = read_rdb(&blob_file()).unwrap();
    assert_eq!(loaded.dbs[0].1.len(), 10);
}
