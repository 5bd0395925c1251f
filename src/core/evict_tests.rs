//! Stories of maxmemory as a client sees them: used_memory following the data, the OOM error,
//! what each policy keeps, evictions reaching the AOF as DEL, CONFIG SET lowering the limit.

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::Frame;

const INCR1: &str = "./appendonlydir/appendonly.aof.1.incr.aof";
const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn info_field(t: &mut TestServer, name: &str) -> u64 {
    let Frame::Bulk(text) = t.cmd(&["info", "all"]) else {
        panic!("INFO replies a bulk string");
    };
    let text = String::from_utf8(text.to_vec()).unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{name}:")));
    line.and_then(|l| l[name.len() + 1..].parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// A server with `policy` whose limit is 20 KB above what it uses empty.
fn limited(policy: &str) -> (TestServer, u64) {
    let mut t = TestServer::new();
    let limit = info_field(&mut t, "used_memory") + 20_000;
    t.cmd(&["config", "set", "maxmemory-policy", policy]);
    t.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
    (t, limit)
}

fn exists(t: &mut TestServer, key: &str) -> bool {
    t.cmd(&["exists", key]) == int(1)
}

#[test]
fn used_memory_follows_the_data_like_redis_does() {
    let mut t = TestServer::new();
    let empty = info_field(&mut t, "used_memory");
    for i in 0..1000 {
        t.cmd(&["set", &format!("key:{i}"), "x"]);
    }
    let per_key = (info_field(&mut t, "used_memory") - empty) / 1000;
    // redis-server 7.2.6 (libc): about 85 bytes per key for SET key:N x.
    assert!((80..=90).contains(&per_key), "{per_key} bytes per key");
    assert_eq!(t.cmd(&["memory", "usage", "key:1"]), int(72));
    t.cmd(&["setrange", "key:1", "100000", "x"]);
    let big = info_field(&mut t, "used_memory");
    assert!(big - empty > 100_000 + 1000 * 80);
    t.cmd(&["flushall"]);
    assert_eq!(info_field(&mut t, "used_memory"), empty);
}

#[test]
fn maxmemory_noeviction_refuses_writes_with_the_oom_error_but_serves_reads_and_deletes() {
    let (mut t, _) = limited("noeviction");
    let mut i = 0;
    let refused = loop {
        match t.cmd(&["set", &format!("k{i}"), "value"]) {
            Frame::Error(e) => break e,
            _ => i += 1,
        }
    };
    assert_eq!(refused, OOM);
    assert!(i > 100, "{i} keys fit in 20 KB");
    assert_eq!(t.cmd(&["get", "k0"]), bulk("value"));
    assert_eq!(t.cmd(&["multi"]), ok());
    assert_eq!(t.cmd(&["get", "k0"]), err(OOM), "queuing is refused too");
    assert_eq!(t.cmd(&["discard"]), ok());
    assert_eq!(t.cmd(&["del", "k0", "k1", "k2"]), int(3));
    assert_eq!(t.cmd(&["set", "again", "v"]), ok());
    assert_eq!(info_field(&mut t, "evicted_keys"), 0);
}

#[test]
fn maxmemory_allkeys_lru_keeps_the_recently_read_keys() {
    let (mut t, limit) = limited("allkeys-lru");
    for i in 0..50 {
        t.cmd(&["set", &format!("hot{i}"), "v"]);
    }
    t.advance_ms(5_000);
    for i in 0..1000 {
        for h in 0..50 {
            if i % 50 == 0 {
                t.cmd(&["get", &format!("hot{h}")]);
            }
        }
        t.cmd(&["set", &format!("cold{i}"), "v"]);
        t.advance_ms(10);
    }
    assert!(info_field(&mut t, "used_memory") <= limit + 200);
    assert!(info_field(&mut t, "evicted_keys") > 500);
    let kept = (0..50)
        .filter(|h| exists(&mut t, &format!("hot{h}")))
        .count();
    assert!(kept >= 45, "{kept} of 50 recently read keys kept");
}

#[test]
fn maxmemory_allkeys_lfu_keeps_the_often_read_keys_and_object_freq_shows_it() {
    let (mut t, _) = limited("allkeys-lfu");
    t.cmd(&["set", "new", "v"]);
    assert_eq!(t.cmd(&["object", "freq", "new"]), int(5));
    for i in 0..20 {
        t.cmd(&["set", &format!("hot{i}"), "v"]);
        for _ in 0..100 {
            t.cmd(&["get", &format!("hot{i}")]);
        }
    }
    let Frame::Int(freq) = t.cmd(&["object", "freq", "hot0"]) else {
        panic!("OBJECT FREQ replies an integer");
    };
    assert!(freq >= 8, "100 reads: freq {freq}");
    for i in 0..1000 {
        t.cmd(&["set", &format!("cold{i}"), "v"]);
    }
    let kept = (0..20)
        .filter(|h| exists(&mut t, &format!("hot{h}")))
        .count();
    assert_eq!(kept, 20, "the often read keys stay");
    assert!(info_field(&mut t, "evicted_keys") > 500);
}

#[test]
fn maxmemory_allkeys_random_stays_under_the_limit() {
    let (mut t, limit) = limited("allkeys-random");
    for i in 0..2000 {
        assert_eq!(t.cmd(&["set", &format!("k{i}"), "value"]), ok());
    }
    assert!(info_field(&mut t, "used_memory") <= limit + 200);
    let keys = info_field(&mut t, "evicted_keys");
    assert!(keys > 1000, "{keys} evicted");
}

#[test]
fn maxmemory_volatile_policies_evict_only_keys_with_a_ttl_then_refuse() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let (mut t, _) = limited(policy);
        for i in 0..100 {
            t.cmd(&["set", &format!("keep{i}"), "v"]);
        }
        let mut refused = None;
        for i in 0..2000 {
            if let Frame::Error(e) = t.cmd(&["setex", &format!("tmp{i}"), "1000", "v"]) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, None, "{policy}: volatile keys make room");
        let kept = (0..100)
            .filter(|i| exists(&mut t, &format!("keep{i}")))
            .count();
        assert_eq!(kept, 100, "{policy}: keys without a TTL stay");
        t.cmd(&["flushall"]);
        let refused = (0..2000).find_map(|i| match t.cmd(&["set", &format!("k{i}"), "v"]) {
            Frame::Error(e) => Some(e),
            _ => None,
        });
        assert_eq!(
            refused.as_deref(),
            Some(OOM),
            "{policy}: nothing volatile to evict"
        );
    }
}

#[test]
fn maxmemory_volatile_ttl_evicts_the_keys_expiring_soonest() {
    let (mut t, _) = limited("volatile-ttl");
    for i in 0..100 {
        t.cmd(&["setex", &format!("late{i}"), "100000", "v"]);
    }
    for i in 0..1000 {
        t.cmd(&["setex", &format!("soon{i}"), &(100 + i).to_string(), "v"]);
    }
    let kept = (0..100)
        .filter(|i| exists(&mut t, &format!("late{i}")))
        .count();
    assert!(kept >= 95, "{kept} of 100 late keys kept");
}

#[test]
fn maxmemory_lowered_by_config_set_evicts_at_once_and_the_aof_gets_dels() {
    let mut t = TestServer::with_config(Config {
        appendonly: true,
        save_points: vec![],
        ..Config::default()
    });
    for k in ["a", "b", "c"] {
        t.cmd(&["set", k, "1"]);
    }
    t.cmd(&["config", "set", "maxmemory-policy", "allkeys-lru"]);
    assert_eq!(t.cmd(&["config", "set", "maxmemory", "1"]), ok());
    t.advance_ms(1);
    assert_eq!(t.cmd(&["dbsize"]), int(0));
    assert_eq!(info_field(&mut t, "evicted_keys"), 3);
    let aof = String::from_utf8(t.disk.file(INCR1).unwrap()).unwrap();
    assert_eq!(aof.matches("$3\r\nDEL\r\n").count(), 3, "{aof}");
    assert!(t
        .logs()
        .iter()
        .any(|l| l.contains("is smaller than the current memory usage")));
}

#[test]
fn maxmemory_with_an_lru_policy_stops_sharing_small_integers() {
    let mut t = TestServer::new();
    t.cmd(&["set", "a", "1"]);
    assert_eq!(t.cmd(&["object", "refcount", "a"]), int(i32::MAX as i64));
    t.cmd(&["config", "set", "maxmemory", "1gb"]);
    t.cmd(&["config", "set", "maxmemory-policy", "allkeys-lru"]);
    t.cmd(&["set", "b", "1"]);
    assert_eq!(t.cmd(&["object", "refcount", "b"]), int(1));
    t.cmd(&["config", "set", "maxmemory-policy", "allkeys-random"]);
    t.cmd(&["set", "c", "1"]);
    assert_eq!(t.cmd(&["object", "refcount", "c"]), int(i32::MAX as i64));
}

#[test]
fn maxmemory_clients_disconnects_the_largest_client_but_not_a_no_evict_one() {
    let mut t = TestServer::new();
    t.cmd(&["client", "no-evict", "on"]);
    assert_eq!(
        t.cmd(&["config", "set", "maxmemory-clients", "300kb"]),
        ok()
    );
    for id in [2, 3, 4] {
        t.connect(id);
    }
    let partial = |n: usize| format!("*2\r\n$3\r\nset\r\n$300000\r\n{}", "x".repeat(n));
    t.send_raw(1, partial(250_000).as_bytes());
    t.send_raw(2, partial(150_000).as_bytes());
    t.send_raw(3, b"*2\r\n$3\r\nget\r\n");
    assert_eq!(t.cmd_as(4, &["ping"]), Frame::Simple("PONG".into()));
    assert!(t.closed(2), "the evictable client holding 150 KB goes");
    assert!(!t.closed(1), "CLIENT NO-EVICT ON protects");
    assert!(!t.closed(3), "eviction stops once under the limit");
    let Frame::Bulk(stats) = t.cmd_as(4, &["info", "stats"]) else {
        panic!("INFO replies a bulk string");
    };
    assert!(String::from_utf8_lossy(&stats).contains("evicted_clients:1\r\n"));
}
