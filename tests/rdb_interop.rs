//! Golden tests of `redsim::rdb` against a real Redis (skipped with a notice when the tools are
//! missing, failing when `REDSIM_REQUIRE_INTEROP=1`):
//! - real -> us: a real `redis-server` is filled with every type in small (listpack, intset) and
//!   large (hashtable, skiplist, quicklist with plain nodes) encodings, with TTLs, SAVEs, and
//!   `read_rdb` must reproduce exactly that dataset;
//! - us -> real: files written by `RdbWriter` must pass `redis-check-rdb` and load into a real
//!   `redis-server` with the same contents and expiry times.

mod support;

use bytes::Bytes;
use redsim::db::{Entry, Value, ZSet};
use redsim::rdb::{read_rdb, Aux, RdbWriter, WriteOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use support::have;
use support::real_redis::{Conn, Norm, RealRedis, Reply, TempDir};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// One key of the dataset.
struct Key {
    db: usize,
    name: &'static str,
    value: Value,
    expire_at_ms: Option<u64>,
    /// What `OBJECT ENCODING` says in the real server (proves which RDB encoding is exercised).
    encoding: &'static str,
}

fn strs(items: &[&str]) -> Vec<Bytes> {
    items.iter().map(|s| b(s)).collect()
}

fn generate(n: usize, f: impl Fn(usize) -> String) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(f(i))).collect()
}

fn list(items: Vec<Bytes>) -> Value {
    Value::List(Box::new(items.into_iter().collect()))
}

fn set(items: Vec<Bytes>) -> Value {
    Value::Set(Box::new(items.into_iter().collect()))
}

/// A hash from alternating fields and values.
fn hash(items: Vec<Bytes>) -> Value {
    Value::Hash(Box::new(
        items
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
    ))
}

fn zset(pairs: &[(Bytes, f64)]) -> Value {
    let mut z = ZSet::default();
    for (m, s) in pairs {
        z.insert(m.clone(), *s);
    }
    Value::ZSet(Box::new(z))
}

/// Every type in small and large encodings, with TTLs an hour ahead, in databases 0 and 5.
fn dataset() -> Vec<Key> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let ttl = |i: u64| Some(now.as_millis() as u64 + 3_600_000 + i);
    let binary: Vec<u8> = (0..=255u8).rev().chain(*b"\r\n\0end").collect();
    let letters = generate(100, |i| {
        ((b'a' + (i * 7919 % 26) as u8) as char).to_string()
    })
    .concat();
    let letters = Bytes::from(letters);
    let numbered = generate(10_000, |i| match i % 3 {
        0 => i.to_string(),
        _ => format!("element-{i}"),
    });
    let plain = generate(10, |i| match i % 2 {
        0 => format!("{i}:{}", "P".repeat(2000)),
        _ => i.to_string(),
    });
    let big_hash = generate(1200, |i| match i % 2 {
        0 => format!("field:{}", i / 2),
        _ => format!("value-{}", i * 7),
    });
    let inf = f64::INFINITY;
    let small_zset = [
        (b("a"), 1.0),
        (b("b"), 2.5),
        (b("c"), -inf),
        (b("d"), inf),
        (b("e"), -0.125),
    ];
    let big_zset: Vec<(Bytes, f64)> = (0..200)
        .map(|i| (b(&format!("m{i}")), i as f64 * 0.1 - 7.0))
        .collect();
    let rows = [
        (
            0,
            "s:small",
            Value::Str(Into::into(b("hello"))),
            ttl(1),
            "embstr",
        ),
        (0, "s:int", Value::Str(Into::into(b("12345"))), None, "int"),
        (
            0,
            "s:negint",
            Value::Str(Into::into(b("-42"))),
            ttl(2),
            "int",
        ),
        (
            0,
            "s:bigint",
            Value::Str(Into::into(b("9876543210123"))),
            None,
            "int",
        ),
        (
            0,
            "s:empty",
            Value::Str(Into::into(Bytes::new())),
            None,
            "embstr",
        ),
        (
            0,
            "s:float",
            Value::Str(Into::into(b("3.14"))),
            None,
            "embstr",
        ),
        (
            0,
            "s:binary",
            Value::Str(Into::into(Bytes::from(binary))),
            None,
            "raw",
        ),
        (
            0,
            "s:lzf",
            Value::Str(Into::into(b(&"redis-".repeat(20)))),
            ttl(3),
            "raw",
        ),
        (
            0,
            "s:100",
            Value::Str(Into::into(letters.clone())),
            None,
            "raw",
        ),
        (
            0,
            "l:small",
            list(strs(&["a", "1", "-5", "300", "70000", "hello", ""])),
            ttl(4),
            "quicklist",
        ),
        (0, "l:big", list(numbered), None, "quicklist"),
        (0, "l:plain", list(plain), ttl(5), "quicklist"),
        (
            0,
            "h:small",
            hash(strs(&["f1", "v1", "n", "17", "neg", "-3", "", "empty"])),
            None,
            "listpack",
        ),
        (0, "h:big", hash(big_hash), ttl(6), "hashtable"),
        (
            0,
            "h:longvalue",
            hash(vec![b("f"), letters]),
            None,
            "hashtable",
        ),
        (
            0,
            "set:ints",
            set(strs(&["5", "1", "-5", "100000", "3000000000"])),
            ttl(7),
            "intset",
        ),
        (
            0,
            "set:strs",
            set(strs(&["a", "b", "c"])),
            None,
            "hashtable",
        ),
        (
            0,
            "set:big",
            set(generate(600, |i| format!("member-{i}"))),
            None,
            "hashtable",
        ),
        (
            0,
            "set:bigints",
            set(generate(600, |i| (i * 3).to_string())),
            ttl(8),
            "hashtable",
        ),
        (0, "z:small", zset(&small_zset), ttl(9), "listpack"),
        (0, "z:big", zset(&big_zset), None, "skiplist"),
        (
            5,
            "other-db",
            Value::Str(Into::into(b("in db 5"))),
            ttl(10),
            "embstr",
        ),
        (5, "other-list", list(strs(&["x", "y"])), None, "quicklist"),
    ];
    rows.into_iter()
        .map(|(db, name, value, expire_at_ms, encoding)| Key {
            db,
            name,
            value,
            expire_at_ms,
            encoding,
        })
        .collect()
}

/// Redis commands that create `k`.
fn commands(k: &Key) -> Vec<Vec<Vec<u8>>> {
    let with = |cmd: &str, rest: Vec<Vec<u8>>, chunk: usize| {
        rest.chunks(chunk)
            .map(|c| {
                [
                    vec![cmd.as_bytes().to_vec(), k.name.as_bytes().to_vec()],
                    c.to_vec(),
                ]
                .concat()
            })
            .collect::<Vec<_>>()
    };
    let v = |b: &Bytes| b.to_vec();
    let mut cmds = match &k.value {
        Value::Str(s) => vec![vec![b"SET".to_vec(), k.name.into(), s.to_vec()]],
        Value::List(l) => with("RPUSH", l.iter().map(v).collect(), 1000),
        Value::Set(s) => with("SADD", s.iter().map(v).collect(), 1000),
        Value::Hash(h) => with(
            "HSET",
            h.iter().flat_map(|(f, x)| [v(f), v(x)]).collect(),
            1000,
        ),
        Value::ZSet(z) => with(
            "ZADD",
            z.scores
                .iter()
                .flat_map(|(m, s)| [s.to_string().into_bytes(), v(m)])
                .collect(),
            1000,
        ),
        Value::Stream(_) => unreachable!("streams have their own test: tests/stream_interop.rs"),
    };
    if let Some(at) = k.expire_at_ms {
        cmds.push(vec![
            b"PEXPIREAT".to_vec(),
            k.name.into(),
            at.to_string().into_bytes(),
        ]);
    }
    cmds
}

/// `v` as the comparable form the real server's replies are read into.
fn norm(v: &Value) -> Norm {
    match v {
        Value::Str(s) => Norm::Str(s.to_vec()),
        Value::List(l) => Norm::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Hash(h) => Norm::Hash(h.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect()),
        Value::Set(s) => Norm::Set(s.iter().map(|e| e.to_vec()).collect()),
        Value::ZSet(z) => Norm::ZSet(
            z.scores
                .iter()
                .map(|(m, s)| (m.to_vec(), s.to_bits()))
                .collect(),
        ),
        Value::Stream(_) => unreachable!("streams have their own test: tests/stream_interop.rs"),
    }
}

type Expected = BTreeMap<(usize, Vec<u8>), (Norm, Option<u64>)>;

fn expected(keys: &[Key]) -> Expected {
    keys.iter()
        .map(|k| {
            (
                (k.db, k.name.as_bytes().to_vec()),
                (norm(&k.value), k.expire_at_ms),
            )
        })
        .collect()
}

fn tools_present() -> bool {
    have("redis-server") && have("redis-check-rdb")
}

#[test]
fn a_snapshot_saved_by_real_redis_loads_exactly() {
    if !tools_present() {
        return;
    }
    let dir = TempDir::new("from-redis");
    let mut redis = RealRedis::start(&dir.0, "dump.rdb");
    let c = &mut redis.conn;
    assert_eq!(
        c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]),
        Reply::Simple("OK".into())
    );
    let keys = dataset();
    for k in &keys {
        c.cmd(&["SELECT", &k.db.to_string()]);
        c.pipeline(&commands(k));
        let enc = c.cmd(&["OBJECT", "ENCODING", k.name]).bytes();
        assert_eq!(
            String::from_utf8_lossy(&enc),
            k.encoding,
            "encoding of {}",
            k.name
        );
    }
    assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    let file = std::fs::read(dir.0.join("dump.rdb")).unwrap();
    let loaded = read_rdb(&file).unwrap();
    assert_eq!(loaded.version, 10);
    assert!(loaded.aux.redis_ver.starts_with("7."), "{:?}", loaded.aux);
    assert_eq!(as_expected(&loaded), expected(&keys));
}

fn as_expected(loaded: &redsim::rdb::Loaded) -> Expected {
    loaded
        .dbs
        .iter()
        .flat_map(|(db, keys)| {
            keys.iter()
                .map(move |(k, e)| ((*db, k.to_vec()), (norm(&e.value), e.expire_at_ms)))
        })
        .collect()
}

/// Writes the dataset with `RdbWriter`, streaming it in chunks as a background save would.
fn write_dataset(keys: &[Key], opts: WriteOptions) -> Vec<u8> {
    let mut w = RdbWriter::new(&Aux::default(), opts);
    let mut out = w.take_chunk().to_vec();
    let dbs: BTreeSet<usize> = keys.iter().map(|k| k.db).collect();
    for db in dbs {
        let in_db: Vec<&Key> = keys.iter().filter(|k| k.db == db).collect();
        let expires = in_db.iter().filter(|k| k.expire_at_ms.is_some()).count();
        w.begin_db(db, in_db.len(), expires);
        for (i, k) in in_db.iter().enumerate() {
            let entry = Entry::new(k.value.clone(), k.expire_at_ms);
            w.entry(k.name.as_bytes(), &entry);
            if i % 3 == 0 {
                out.extend_from_slice(&w.take_chunk());
            }
        }
    }
    out.extend_from_slice(&w.finish());
    out
}

/// Reads every expected key back from a real server, with its absolute expiry time.
fn fetch_all(c: &mut Conn, want: &Expected) -> Expected {
    let mut got = Expected::new();
    for (db, name) in want.keys() {
        let key = std::str::from_utf8(name).unwrap();
        c.cmd(&["SELECT", &db.to_string()]);
        let value = c.value(name);
        let pttl = c.cmd(&["PTTL", key]).int();
        let at = c.cmd(&["PEXPIRETIME", key]).int();
        let expire = match want[&(*db, name.clone())].1 {
            Some(_) => {
                assert!(pttl > 0, "PTTL of {key} is {pttl}");
                Some(at as u64)
            }
            None => {
                assert_eq!((pttl, at), (-1, -1), "{key} should not expire");
                None
            }
        };
        got.insert((*db, name.clone()), (value, expire));
    }
    got
}

#[test]
fn snapshots_we_write_pass_redis_check_rdb_and_load_into_real_redis() {
    if !tools_present() {
        return;
    }
    let keys = dataset();
    let want = expected(&keys);
    let dir = TempDir::new("to-redis");
    let variants = [
        ("ours.rdb", WriteOptions::default()),
        (
            "plain.rdb",
            WriteOptions {
                compress: false,
                checksum: false,
                ..Default::default()
            },
        ),
    ];
    for (name, opts) in variants {
        let bytes = write_dataset(&keys, opts);
        let path = dir.0.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let check = Command::new("redis-check-rdb")
            .arg(&path)
            .output()
            .expect("run redis-check-rdb");
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success() && report.contains("RDB looks OK"),
            "{name}:\n{report}"
        );
        assert!(
            report.contains(&format!("{} keys read", keys.len())),
            "{report}"
        );
        let mut redis = RealRedis::start(&dir.0, name);
        let c = &mut redis.conn;
        for db in [0usize, 5] {
            c.cmd(&["SELECT", &db.to_string()]);
            let n = keys.iter().filter(|k| k.db == db).count() as i64;
            assert_eq!(c.cmd(&["DBSIZE"]).int(), n, "DBSIZE of db {db} ({name})");
        }
        assert_eq!(fetch_all(c, &want), want, "{name}");
        // What real Redis saves back from our data loads back to the same dataset too.
        assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
        let resaved = read_rdb(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(as_expected(&resaved), want, "{name} saved again by Redis");
    }
}
