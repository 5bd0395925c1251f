//! The data side of the replication interop tests: filling a master with every type (small and
//! large encodings, binary and compressible values, TTLs, several databases), the writes made
//! while replicas follow (transactions, expiry, deletes, other databases, random effects), and
//! reading a whole server back in a form two servers can be compared by.

use crate::support::real_redis::{Conn, Reply};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Databases compared (Redis' default `databases 16`).
const DBS: usize = 16;

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// `parts` followed by `items`, as one command.
fn with_items(parts: &[&str], items: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    let mut cmd = args(parts);
    cmd.extend(items.into_iter().map(String::into_bytes));
    cmd
}

/// Every type, in small and large encodings, with TTLs, in databases 0, 3 and 15.
pub fn fill(c: &mut Conn) {
    let in_an_hour_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let binary: Vec<u8> = (0..=255u8).rev().chain(*b"\r\n\0end").collect();
    let cmds = vec![
        args(&["SET", "str:small", "hello"]),
        args(&["SET", "str:int", "123456"]),
        args(&[
            "SET",
            "str:big",
            &"compressible ".repeat(200),
            "PX",
            "3600000",
        ]),
        vec![b"SET".to_vec(), b"str:bin".to_vec(), binary.clone()],
        args(&["RPUSH", "list:small", "a", "1", "-7", ""]),
        with_items(
            &["RPUSH", "list:big"],
            (0..2000).map(|i| format!("{i}-{}", "v".repeat(i % 50))),
        ),
        vec![
            b"RPUSH".to_vec(),
            b"list:bin".to_vec(),
            binary.clone(),
            vec![0],
        ],
        args(&["HSET", "hash:small", "f1", "v1", "f2", "2"]),
        with_items(
            &["HSET", "hash:big"],
            (0..600).flat_map(|i| [format!("f{i}"), "w".repeat(i % 90)]),
        ),
        args(&["SADD", "set:ints", "1", "2", "3", "-5", "100000"]),
        args(&["SADD", "set:small", "a", "b", "c"]),
        with_items(&["SADD", "set:big"], (0..600).map(|i| format!("m{i}"))),
        args(&[
            "ZADD",
            "zset:small",
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
            "inf",
            "d",
        ]),
        with_items(
            &["ZADD", "zset:big"],
            (0..300).flat_map(|i| [format!("{}", i as f64 * 0.25), format!("m{i}")]),
        ),
        args(&["EXPIRE", "list:big", "7200"]),
        args(&["PEXPIRE", "hash:big", "5000000"]),
        args(&["EXPIREAT", "set:big", &in_an_hour_s.to_string()]),
        args(&["PEXPIRE", "zset:small", "4000000"]),
        args(&["SELECT", "3"]),
        args(&["SET", "db3:str", "three", "EX", "3600"]),
        args(&["RPUSH", "db3:list", "x", "y"]),
        args(&["SELECT", "15"]),
        args(&["HSET", "db15:hash", "f", "v"]),
        args(&["SELECT", "0"]),
    ];
    c.pipeline(&cmds);
}

/// Writes a master makes while replicas follow; `tag` makes the keys of each round distinct.
pub fn live_writes(c: &mut Conn, tag: &str) {
    let k = |name: &str| format!("{name}:{tag}");
    let cmds = vec![
        args(&["MULTI"]),
        args(&["SET", &k("tx"), "1"]),
        args(&["INCR", &k("tx")]),
        args(&["RPUSH", "list:small", tag]),
        args(&["HSET", "hash:small", tag, "v"]),
        args(&["EXEC"]),
        args(&["SET", &k("ex"), "v", "EX", "1000"]),
        args(&["SETEX", &k("setex"), "2000", "v"]),
        args(&["EXPIRE", "str:small", "5000"]),
        args(&["PERSIST", "str:big"]),
        args(&["DEL", "str:int", "set:small"]),
        args(&["INCRBYFLOAT", &k("float"), "1.5"]),
        args(&["SPOP", "set:big", "2"]),
        args(&["SET", &k("gone"), "v"]),
        args(&["EXPIRE", &k("gone"), "-1"]),
        args(&["GETEX", "str:bin", "PX", "999999"]),
        args(&["ZINCRBY", "zset:big", "0.5", "m1"]),
        args(&["LPOP", "list:big"]),
        args(&["SELECT", "9"]),
        args(&["SET", &k("db9"), "nine"]),
        args(&["ZADD", "db9:zset", "1", tag]),
        args(&["SELECT", "0"]),
    ];
    c.pipeline(&cmds);
}

/// One key as clients see it: type, value in a canonical order, absolute expiry (-1 = none).
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    ty: String,
    value: Vec<Vec<u8>>,
    expire_at_ms: i64,
}

pub type Dataset = BTreeMap<(usize, Vec<u8>), Seen>;

fn items(r: Reply) -> Vec<Vec<u8>> {
    r.array()
}

/// Pairs from a flat reply, sorted (hash fields), or with scores made canonical (zsets: Redis
/// 7.0 and 7.2 print doubles differently, so compare the numbers).
fn pairs(flat: Vec<Vec<u8>>, scores: bool) -> Vec<Vec<u8>> {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat
        .chunks(2)
        .map(|p| {
            let second = if scores {
                let text = String::from_utf8_lossy(&p[1]).to_string();
                let n: f64 = text.parse().expect("score");
                format!("{n:?}").into_bytes()
            } else {
                p[1].clone()
            };
            (p[0].clone(), second)
        })
        .collect();
    if !scores {
        pairs.sort();
    }
    pairs.into_iter().flat_map(|(a, b)| [a, b]).collect()
}

fn read_key(c: &mut Conn, key: &[u8]) -> Seen {
    let ty = match c.cmd(&[b"TYPE".as_slice(), key]) {
        Reply::Simple(t) => t,
        other => panic!("TYPE replied {other:?}"),
    };
    let value = match ty.as_str() {
        "string" => vec![c.cmd(&[b"GET".as_slice(), key]).bytes()],
        "list" => items(c.cmd(&[b"LRANGE".as_slice(), key, b"0", b"-1"])),
        "hash" => pairs(items(c.cmd(&[b"HGETALL".as_slice(), key])), false),
        "set" => {
            let mut m = items(c.cmd(&[b"SMEMBERS".as_slice(), key]));
            m.sort();
            m
        }
        "zset" => pairs(
            items(c.cmd(&[b"ZRANGE".as_slice(), key, b"0", b"-1", b"WITHSCORES"])),
            true,
        ),
        other => panic!("unexpected type {other}"),
    };
    let expire_at_ms = c.cmd(&[b"PEXPIRETIME".as_slice(), key]).int();
    Seen {
        ty,
        value,
        expire_at_ms,
    }
}

/// Every key of every database.
pub fn read_all(c: &mut Conn) -> Dataset {
    let mut all = Dataset::new();
    for db in 0..DBS {
        assert_eq!(
            c.cmd(&["SELECT", &db.to_string()]),
            Reply::Simple("OK".into())
        );
        for key in items(c.cmd(&["KEYS", "*"])) {
            let seen = read_key(c, &key);
            all.insert((db, key), seen);
        }
    }
    c.cmd(&["SELECT", "0"]);
    all
}

/// Waits (up to 10 s) until `replica` holds exactly what `master` holds, else fails naming the
/// first difference.
pub fn assert_converges(master: &mut Conn, replica: &mut Conn, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (m, r) = (read_all(master), read_all(replica));
        if m == r {
            assert!(m.len() > 10, "{what}: suspiciously small dataset {m:?}");
            return;
        }
        if Instant::now() > deadline {
            let diff = m
                .iter()
                .find(|(k, v)| r.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), Some(v.clone()), r.get(k).cloned()))
                .or_else(|| {
                    r.iter()
                        .find(|(k, _)| !m.contains_key(*k))
                        .map(|(k, v)| (k.clone(), None, Some(v.clone())))
                });
            let (key, on_master, on_replica) = diff.expect("a difference");
            panic!(
                "{what}: datasets differ at db {} key {:?}:\n master: {on_master:?}\nreplica: {on_replica:?}",
                key.0,
                String::from_utf8_lossy(&key.1)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
