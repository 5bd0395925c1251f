//! Writer and file-structure tests: every value type with TTLs survives writer -> reader, chunked
//! output equals one-shot output, strings are encoded exactly as Redis encodes them, and the
//! reader handles (or rejects, with the offset) each opcode, version and checksum case.

use super::*;
use crate::db::{Entry, Value, ZSet};
use indexmap::{IndexMap, IndexSet};
use std::collections::VecDeque;

pub(super) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn entry(value: Value, ttl: Option<u64>) -> Entry {
    Entry::new(value, ttl)
}

fn list(items: &[&str]) -> Value {
    Value::List(
        items
            .iter()
            .map(|s| b(s))
            .collect::<std::collections::VecDeque<_>>()
            .into(),
    )
}

fn zset(pairs: &[(&str, f64)]) -> Value {
    let mut z = ZSet::default();
    for (m, s) in pairs {
        z.insert(b(m), *s);
    }
    Value::ZSet(Box::new(z))
}

/// Every value type in several encodings-to-be, with and without TTLs, in three databases.
pub(super) fn sample() -> Vec<(usize, DbKeys)> {
    let long = "abc".repeat(40);
    let noise: Vec<u8> = (0..100u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let strings = [
        ("str", "hello"),
        ("int", "12345"),
        ("neg", "-129"),
        ("bigint", "12345678901234"),
        ("leading-zero", "007"),
        ("empty", ""),
        ("long", long.as_str()),
    ];
    let mut db0: DbKeys = strings
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            (
                b(k),
                entry(
                    Value::Str(Into::into(b(v))),
                    (i % 2 == 0).then_some(1_700_000_000_000 + i as u64),
                ),
            )
        })
        .collect();
    let big_list: VecDeque<Bytes> = (0..1000)
        .map(|i| Bytes::from(format!("item-{i}")))
        .collect();
    let hash: IndexMap<Bytes, Bytes> = [
        ("f", "v"),
        ("n", "1"),
        ("long", long.as_str()),
        ("", "empty field"),
    ]
    .iter()
    .map(|(f, v)| (b(f), b(v)))
    .collect();
    let set: IndexSet<Bytes> = ["a", "b", "1", "-7", long.as_str()]
        .iter()
        .map(|s| b(s))
        .collect();
    db0.extend([
        (
            b("binary"),
            entry(Value::Str(Into::into(Bytes::from(noise))), None),
        ),
        (
            b("list"),
            entry(
                list(&["a", "1", "", long.as_str()]),
                Some(1_800_000_000_000),
            ),
        ),
        (b("biglist"), entry(Value::List(Box::new(big_list)), None)),
        (
            b("set"),
            entry(Value::Set(Box::new(set)), Some(1_800_000_000_001)),
        ),
        (b("hash"), entry(Value::Hash(Box::new(hash)), None)),
        (
            b("zset"),
            entry(
                zset(&[
                    ("a", 1.5),
                    ("b", f64::NEG_INFINITY),
                    ("c", f64::INFINITY),
                    ("d", 0.0),
                    ("e", -2.25e-10),
                    ("f", 1e300),
                ]),
                Some(1),
            ),
        ),
    ]);
    vec![
        (0, db0),
        (
            3,
            vec![(
                b("k"),
                entry(Value::Str(Into::into(b("v"))), Some(2_000_000_000_000)),
            )],
        ),
        (15, vec![(b("123"), entry(list(&["x"]), None))]),
    ]
}

pub(super) fn write(
    dbs: &[(usize, DbKeys)],
    aux: &Aux,
    opts: WriteOptions,
    chunked: bool,
) -> Vec<u8> {
    let mut w = RdbWriter::new(aux, opts);
    let mut out = Vec::new();
    for (index, keys) in dbs {
        let expires = keys
            .iter()
            .filter(|(_, e)| e.expire_at_ms.is_some())
            .count();
        w.begin_db(*index, keys.len(), expires);
        for (key, e) in keys {
            w.entry(key, e);
            if chunked {
                out.extend_from_slice(&w.take_chunk());
            }
        }
    }
    out.extend_from_slice(&w.finish());
    out
}

#[test]
fn every_type_with_ttls_survives_a_round_trip() {
    let dbs = sample();
    for opts in [
        WriteOptions::default(),
        WriteOptions {
            compress: false,
            ..Default::default()
        },
        WriteOptions {
            version: RDB_VERSION_7_2,
            ..Default::default()
        },
    ] {
        let bytes = write(&dbs, &Aux::default(), opts, true);
        let loaded = read_rdb(&bytes).unwrap();
        assert_eq!(loaded.version, opts.version);
        assert_eq!(loaded.dbs, dbs);
    }
}

#[test]
fn chunked_output_is_identical_to_one_shot_output() {
    let dbs = sample();
    let aux = Aux::default();
    let one = write(&dbs, &aux, WriteOptions::default(), false);
    assert_eq!(write(&dbs, &aux, WriteOptions::default(), true), one);
    assert_eq!(&one[..9], b"REDIS0010");
    let crc = u64::from_le_bytes(one[one.len() - 8..].try_into().unwrap());
    assert_eq!(crc, crc64(0, &one[..one.len() - 8]));
}

#[test]
fn a_payload_cut_anywhere_counts_exactly_the_keys_wholly_before_the_cut() {
    // Where each key's record ends, from the writer's chunk after each key.
    let mut w = RdbWriter::new(&Aux::default(), WriteOptions::default());
    let (mut bytes, mut key_ends) = (Vec::new(), Vec::new());
    for (index, keys) in sample() {
        w.begin_db(index, keys.len(), 0);
        for (key, e) in &keys {
            w.entry(key, e);
            bytes.extend_from_slice(&w.take_chunk());
            key_ends.push(bytes.len());
        }
    }
    bytes.extend_from_slice(&w.finish());
    let (mut from, mut counted) = (0, 0);
    for cut in 0..=bytes.len() {
        let whole = key_ends.iter().filter(|end| **end <= cut).count() as u64;
        assert_eq!(count_whole_keys(&bytes[..cut], 0).1, whole, "cut at {cut}");
        // Counting on from where the last count stopped gives the same total.
        let (to, keys) = count_whole_keys(&bytes[..cut], from);
        (from, counted) = (to, counted + keys);
        assert_eq!(counted, whole, "cut at {cut}, counting on");
    }
}

#[test]
fn checksum_off_writes_zeros_which_the_reader_accepts() {
    let opts = WriteOptions {
        checksum: false,
        ..Default::default()
    };
    let bytes = write(&sample(), &Aux::default(), opts, true);
    assert_eq!(&bytes[bytes.len() - 9..], &[0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(read_rdb(&bytes).unwrap().dbs, sample());
}

#[test]
fn aux_fields_round_trip_including_replication_and_unknown_ones() {
    let mut aux = Aux {
        ctime: 1_700_000_000,
        used_mem: 5_000_000_000,
        repl: Some(ReplAux {
            stream_db: 3,
            id: "a".repeat(40),
            offset: 123_456_789_012,
        }),
        aof_base: true,
        ..Aux::default()
    };
    aux.other.insert("x-extra".into(), b("value"));
    let loaded = read_rdb(&write(&[], &aux, WriteOptions::default(), false)).unwrap();
    assert_eq!(loaded.aux, aux);
    assert!(loaded.dbs.is_empty());
}

/// The bytes `entry` produces for `key` -> `value` (after the header and AUX fields).
fn entry_bytes(opts: WriteOptions, e: &Entry) -> Vec<u8> {
    let mut w = RdbWriter::new(&Aux::default(), opts);
    w.take_chunk();
    w.entry(b"k", e);
    w.take_chunk().to_vec()
}

fn string_bytes(s: &[u8], compress: bool) -> Vec<u8> {
    let opts = WriteOptions {
        compress,
        ..Default::default()
    };
    let out = entry_bytes(
        opts,
        &entry(Value::Str(Into::into(Bytes::copy_from_slice(s))), None),
    );
    assert_eq!(&out[..3], &[0, 1, b'k']);
    out[3..].to_vec()
}

#[test]
fn strings_are_encoded_as_redis_encodes_them() {
    assert_eq!(string_bytes(b"123", true), [0xc0, 123]);
    assert_eq!(string_bytes(b"-129", true), [0xc1, 0x7f, 0xff]);
    assert_eq!(string_bytes(b"70000", true), [0xc2, 0x70, 0x11, 0x01, 0x00]);
    assert_eq!(
        string_bytes(b"2147483648", true),
        [&[10u8][..], b"2147483648"].concat()
    );
    assert_eq!(string_bytes(b"007", true), [3, b'0', b'0', b'7']);
    assert_eq!(string_bytes(b"-0", true), [2, b'-', b'0']);
    let long = vec![b'a'; 100];
    assert_eq!(
        string_bytes(&long, false),
        [&[0x40, 100][..], &long].concat()
    );
    let packed = string_bytes(&long, true);
    assert_eq!(packed[0], 0xc3);
    assert!(packed.len() < 20, "{packed:?}");
    // Twenty bytes are never compressed; incompressible text is stored raw.
    assert_eq!(string_bytes(&[b'a'; 20], true)[0], 20);
    let noise: Vec<u8> = (0..=255u8).collect();
    assert_eq!(string_bytes(&noise, true)[..3], [0x41, 0x00, b'\0']);
    let big = vec![7u8; 20_000];
    assert_eq!(string_bytes(&big, false)[..5], [0x80, 0, 0, 0x4e, 0x20]);
}

#[test]
fn expiry_precedes_the_type_as_an_eight_byte_little_endian_time() {
    let out = entry_bytes(
        WriteOptions::default(),
        &entry(Value::Str(Into::into(b("v"))), Some(0x0102_0304_0506)),
    );
    assert_eq!(out, [0xfc, 6, 5, 4, 3, 2, 1, 0, 0, 0, 1, b'k', 1, b'v']);
}

// ---- Hand-made files ----

/// An RDB length (6, 14 or 32 bits).
pub(super) fn len(n: usize) -> Vec<u8> {
    match n {
        0..=63 => vec![n as u8],
        64..=16383 => vec![0x40 | (n >> 8) as u8, n as u8],
        _ => [&[0x80u8][..], &(n as u32).to_be_bytes()].concat(),
    }
}

/// A length-prefixed RDB string.
pub(super) fn raw(s: &[u8]) -> Vec<u8> {
    [len(s.len()), s.to_vec()].concat()
}

/// A complete file: header, `body`, EOF and (from version 5) the checksum.
pub(super) fn file(version: u32, body: &[u8]) -> Vec<u8> {
    let mut f = format!("REDIS{version:04}").into_bytes();
    f.extend_from_slice(body);
    f.push(0xff);
    if version >= 5 {
        let crc = crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
    }
    f
}

/// `type key value` with key "k".
pub(super) fn kv(t: u8, value: &[u8]) -> Vec<u8> {
    [&[t][..], &raw(b"k"), value].concat()
}

pub(super) fn only_value(bytes: &[u8]) -> Entry {
    let mut loaded = read_rdb(bytes).unwrap();
    assert_eq!(loaded.dbs.len(), 1, "{:?}", loaded.dbs);
    let (_, mut keys) = loaded.dbs.remove(0);
    assert_eq!(keys.len(), 1);
    keys.remove(0).1
}

pub(super) fn error(bytes: &[u8]) -> RdbError {
    read_rdb(bytes).unwrap_err()
}

#[test]
fn old_versions_load_without_checksum_and_with_second_expiry() {
    let body = [&[0xfd, 0x10, 0, 0, 0][..], &kv(0, &raw(b"v"))].concat();
    let e = only_value(&file(3, &body));
    assert_eq!(e, entry(Value::Str(Into::into(b("v"))), Some(16_000)));
    // Negative times (before 1970) load as already expired.
    let body = [&[0xfc][..], &(-5i64).to_le_bytes(), &kv(0, &raw(b"v"))].concat();
    assert_eq!(only_value(&file(9, &body)).expire_at_ms, Some(0));
}

#[test]
fn header_errors_name_the_problem() {
    assert_eq!(
        error(&file(12, &[])).to_string(),
        "Can't handle RDB format version 12 at offset 5"
    );
    assert_eq!(
        error(&file(0, &[])).message,
        "Can't handle RDB format version 0"
    );
    assert!(error(b"RADIS0010\xff")
        .message
        .starts_with("Wrong signature"));
    assert_eq!(error(b"REDIS00").message, "Unexpected end of file");
    assert!(error(b"REDIS00x1\xff").message.contains("version"));
}

#[test]
fn checksum_mismatch_is_detected_and_zero_means_unchecked() {
    let mut f = file(10, &kv(0, &raw(b"v")));
    let n = f.len();
    f[n - 1] ^= 1;
    let e = error(&f);
    assert!(e.message.starts_with("Wrong RDB checksum"), "{e}");
    assert_eq!(e.offset, n - 8);
    f[n - 8..].fill(0);
    assert_eq!(only_value(&f).value, Value::Str(Into::into(b("v"))));
    // Trailing garbage after the checksum is ignored, as Redis does.
    let mut f = file(10, &kv(0, &raw(b"v")));
    f.extend_from_slice(b"junk");
    assert!(read_rdb(&f).is_ok());
}

#[test]
fn hints_resize_and_function_libraries_are_skipped() {
    let body = [
        &[0xf5][..],
        &raw(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
        &[0xfe, 0x02, 0xfb, 0x01, 0x00],
        &[0xf8, 0x40, 0x80, 0xf9, 0x07],
        &kv(0, &raw(b"v")),
    ]
    .concat();
    let loaded = read_rdb(&file(10, &body)).unwrap();
    assert_eq!(
        loaded.dbs,
        vec![(
            2,
            vec![(b("k"), entry(Value::Str(Into::into(b("v"))), None))]
        )]
    );
}

#[test]
fn modules_and_module_aux_are_rejected_by_name() {
    for t in [6u8, 7] {
        assert_eq!(
            error(&file(10, &kv(t, &[0]))).message,
            format!("Modules are not supported (RDB type {t})")
        );
    }
    assert!(error(&file(10, &[0xf7, 1, 2, 0]))
        .message
        .contains("MODULE_AUX"));
    assert!(error(&file(10, &[0xf6])).message.contains("function"));
    assert_eq!(
        error(&file(10, &kv(8, &[0]))).message,
        "Unknown RDB value type 8"
    );
}

#[test]
fn legacy_zset_scores_as_text_and_corrupt_scores() {
    let body = [
        &[3u8][..],
        &raw(b"a"),
        &[3],
        b"1.5",
        &raw(b"b"),
        &[255],
        &raw(b"c"),
        &[254],
    ]
    .concat();
    let e = only_value(&file(7, &kv(3, &body)));
    assert_eq!(
        e.value,
        zset(&[("a", 1.5), ("b", f64::NEG_INFINITY), ("c", f64::INFINITY)])
    );
    let nan = [&[1u8][..], &raw(b"a"), &[253]].concat();
    assert_eq!(
        error(&file(7, &kv(3, &nan))).message,
        "Zset with NAN score detected"
    );
    let bin_nan = [&[1u8][..], &raw(b"a"), &f64::NAN.to_le_bytes()].concat();
    assert_eq!(
        error(&file(9, &kv(5, &bin_nan))).message,
        "Zset with NAN score detected"
    );
    let garbage = [&[1u8][..], &raw(b"a"), &[2], b"zz"].concat();
    assert_eq!(
        error(&file(7, &kv(3, &garbage))).message,
        "Invalid double score"
    );
}

#[test]
fn duplicates_are_errors_and_empty_aggregates_are_dropped() {
    let two = [kv(0, &raw(b"v")), kv(0, &raw(b"w"))].concat();
    assert!(error(&file(10, &two)).message.starts_with("Duplicated key"));
    let dup_set = [&[2u8][..], &raw(b"a"), &raw(b"a")].concat();
    assert_eq!(
        error(&file(10, &kv(2, &dup_set))).message,
        "Duplicate set members detected"
    );
    let dup_hash = [&[2u8][..], &raw(b"f"), &raw(b"1"), &raw(b"f"), &raw(b"2")].concat();
    assert_eq!(
        error(&file(10, &kv(4, &dup_hash))).message,
        "Duplicate hash fields detected"
    );
    let empties = [kv(1, &[0]), kv(2, &[0]), kv(4, &[0]), kv(5, &[0])].concat();
    assert!(read_rdb(&file(10, &empties)).unwrap().dbs.is_empty());
}

#[test]
fn every_length_width_and_integer_string_loads() {
    let long_len = [&[0x81u8][..], &5u64.to_be_bytes(), b"hello"].concat();
    assert_eq!(
        only_value(&file(10, &kv(0, &long_len))).value,
        Value::Str(Into::into(b("hello")))
    );
    let mid_len = [&[0x80u8][..], &5u32.to_be_bytes(), b"hello"].concat();
    assert_eq!(
        only_value(&file(10, &kv(0, &mid_len))).value,
        Value::Str(Into::into(b("hello")))
    );
    for (enc, text) in [
        (&[0xc0u8, 0x80][..], "-128"),
        (&[0xc1, 0x00, 0x80], "-32768"),
        (&[0xc2, 0xff, 0xff, 0xff, 0x7f], "2147483647"),
    ] {
        assert_eq!(
            only_value(&file(10, &kv(0, enc))).value,
            Value::Str(Into::into(b(text)))
        );
    }
    assert_eq!(
        error(&file(10, &kv(0, &[0xc4]))).message,
        "Unknown string encoding 4"
    );
    assert_eq!(
        error(&file(10, &kv(1, &[0xc0, 1]))).message,
        "Unexpected string encoding where a length was expected"
    );
}

#[test]
fn absurd_lengths_fail_fast_without_allocating() {
    let huge_list = [&[0x81u8][..], &u64::MAX.to_be_bytes()].concat();
    assert!(error(&file(10, &kv(1, &huge_list)))
        .message
        .starts_with("Length"));
    let huge_string = [&[0x81u8][..], &(u64::MAX / 2).to_be_bytes()].concat();
    assert_eq!(
        error(&file(10, &kv(0, &huge_string))).message,
        "Unexpected end of file"
    );
    let huge_lzf = [
        &[0xc3u8, 2][..],
        &[0x81],
        &(1u64 << 40).to_be_bytes(),
        &[0, b'a'],
    ]
    .concat();
    assert!(error(&file(10, &kv(0, &huge_lzf)))
        .message
        .starts_with("LZF length"));
}
