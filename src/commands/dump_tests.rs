//! Stories for DUMP and RESTORE: payloads compared byte for byte with Redis 7.2.6's (made by its
//! DUMP on the keys each case builds), loaded back, refused with Redis' errors, and replicated
//! as Redis 7.2 replicates them.

use super::keys::tests::{direct, replaced};
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::db::Keyspace;
use crate::resp::Frame;

/// Per key: the commands that build it on Redis 7.2.6 and the payload its DUMP returned there.
type Case = (
    &'static str,
    &'static [&'static [&'static str]],
    &'static [u8],
);

const REDIS_7_2_6: &[Case] = &[
    (
        "s1",
        &[&["set", "s1", "hello world"]],
        b"\x00\x0bhello world\x0b\x00b#\xf4\xca[XI\xbd",
    ),
    (
        "s2",
        &[&["set", "s2", "12345"]],
        b"\x00\xc190\x0b\x00\xf4KWTnc\xe10",
    ),
    (
        "s3",
        &[&["set", "s3", "12345678901"]],
        b"\x00\x0b12345678901\x0b\x00Y\x91\xef\xa4\xda\x88\x8c\x99",
    ),
    (
        "s4",
        &[&["set", "s4", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]],
        b"\x00\xc3\x09@d\x01aa\xe0W\x00\x01aa\x0b\x00\x81|\x08tM\xf2\x1b\xf8",
    ),
    (
        "s5",
        &[&["set", "s5", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!@"]],
        b"\x00@@abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!@\x0b\x00\x1a\x88\x90\xdd~\x05\x8b\x18",
    ),
    (
        "l1",
        &[&["rpush", "l1", "a", "b", "1", "-7", "300", "70000", "1234567890123", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]],
        b"\x12\x01\x02\xc3.@m\x1fm\x00\x00\x00\x08\x00\x81a\x02\x81b\x02\x01\x01\xdf\xf9\x02\xc1,\x02\xf2p\x11\x01\x04\xf4\xcb\x04\xfbq\x1f\x01\x05\x00\x00\x09\xe0Fx\xe0<\x00\x01H\xff\x0b\x00HY\xaa\x0a\x93\x0f\xad\xb6",
    ),
    (
        "l3",
        &[&["config", "set", "list-max-listpack-size", "5"], &["rpush", "l3", "0", "1", "4", "9", "16", "25", "36", "49", "64", "81", "100", "121", "144", "169", "196", "225", "256", "289", "324", "361", "400", "441", "484"]],
        b"\x12\x05\x02\x11\x11\x00\x00\x00\x05\x00\x00\x01\x01\x01\x04\x01\x09\x01\x10\x01\xff\x02\x11\x11\x00\x00\x00\x05\x00\x19\x01$\x011\x01@\x01Q\x01\xff\x02\x14\x14\x00\x00\x00\x05\x00d\x01y\x01\xc0\x90\x02\xc0\xa9\x02\xc0\xc4\x02\xff\x02\x16\x16\x00\x00\x00\x05\x00\xc0\xe1\x02\xc1\x00\x02\xc1!\x02\xc1D\x02\xc1i\x02\xff\x02\x10\x10\x00\x00\x00\x03\x00\xc1\x90\x02\xc1\xb9\x02\xc1\xe4\x02\xff\x0b\x00Z_\xfb\xc7\x1f\x95'\xd5",
    ),
    (
        "t1",
        &[&["sadd", "t1", "5", "-3", "100000", "7"]],
        b"\x0b\x18\x04\x00\x00\x00\x04\x00\x00\x00\xfd\xff\xff\xff\x05\x00\x00\x00\x07\x00\x00\x00\xa0\x86\x01\x00\x0b\x00)\x8cWyR\x1b.>",
    ),
    (
        "t2",
        &[&["sadd", "t2", "5", "-3", "10000000000"]],
        b"\x0b \x08\x00\x00\x00\x03\x00\x00\x00\xfd\xff\xff\xff\xff\xff\xff\xff\x05\x00\x00\x00\x00\x00\x00\x00\x00\xe4\x0bT\x02\x00\x00\x00\x0b\x00\xd2d\x03c:\x8f\xff\x1f",
    ),
    (
        "t3",
        &[&["sadd", "t3", "b", "a", "12", "c"]],
        b"\x14\x12\x12\x00\x00\x00\x04\x00\x81b\x02\x81a\x02\x0c\x01\x81c\x02\xff\x0b\x00\xeb\x14\xcb!\xd6\x9b\xeb\xf0",
    ),
    (
        "h1",
        &[&["hset", "h1", "f1", "v1", "n", "42", "long", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"]],
        b"\x10\xc3\x22@X\x1aX\x00\x00\x00\x06\x00\x82f1\x03\x82v1\x03\x81n\x02*\x01\x84long\x05\xbcy\xe02\x00\x01=\xff\x0b\x00\xac\x1b\xf3v\x93\xb5\xfb\xec",
    ),
    (
        "z1",
        &[&["zadd", "z1", "1.5", "a", "2", "b", "-3.25", "c", "1e100", "d", "0.1", "e"]],
        b"\x1111\x00\x00\x00\x0a\x00\x81c\x02\x85-3.25\x06\x81e\x02\x830.1\x04\x81a\x02\x831.5\x04\x81b\x02\x02\x01\x81d\x02\x861e+100\x07\xff\x0b\x00$\xd79\x9b\xb4f=}",
    ),
    (
        "x1",
        &[&["xadd", "x1", "1-1", "f", "v", "n", "1"], &["xadd", "x1", "2-0", "f", "w", "n", "2"], &["xadd", "x1", "3-5", "other", "z"], &["xdel", "x1", "2-0"], &["xgroup", "create", "x1", "g", "0"]],
        b"\x15\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01@DD\x00\x00\x00\x19\x00\x02\x01\x01\x01\x02\x01\x81f\x02\x81n\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\x01\x01\x05\x01\x03\x01\x01\x01\xdf\xff\x02\x81w\x02\x02\x01\x05\x01\x00\x01\x02\x01\x04\x01\x01\x01\x85other\x06\x81z\x02\x06\x01\xff\x02\x03\x05\x01\x01\x02\x00\x03\x01\x01g\x00\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x0b\x00\x89h\xe8J\x96\xcd\xbd\xda",
    ),

];

/// Payloads too long to spell out, from the same Redis: 1500 `element-N` pushed to a list (a
/// quicklist of listpacks), 200 members `mN` scored N/2 (a skiplist).
const QUICKLIST: &[u8] = include_bytes!("../rdb/testdata/dump-7.2.6-list-quicklist.bin");
const SKIPLIST: &[u8] = include_bytes!("../rdb/testdata/dump-7.2.6-zset-skiplist.bin");
/// Hashtable encodings, whose order depends on Redis' random hash seed: a hash of 600
/// `field:N value:N` and a set of 200 `member:N`.
const HASHTABLE_HASH: &[u8] = include_bytes!("../rdb/testdata/dump-7.2.6-hash-hashtable.bin");
const HASHTABLE_SET: &[u8] = include_bytes!("../rdb/testdata/dump-7.2.6-set-hashtable.bin");

fn payload(f: Frame) -> Vec<u8> {
    match f {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("expected a payload, got {other:?}"),
    }
}

fn restore(t: &mut TestServer, key: &str, p: &[u8], extra: &[&str]) -> Frame {
    let mut args: Vec<&[u8]> = vec![b"restore", key.as_bytes(), b"0", p];
    args.extend(extra.iter().map(|a| a.as_bytes()));
    t.cmd_bytes(&args)
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn dump_gives_the_bytes_redis_7_2_6_gives_for_every_encoding() {
    let mut t = TestServer::new();
    for (key, setup, expected) in REDIS_7_2_6 {
        for cmd in *setup {
            t.cmd(cmd);
        }
        assert!(payload(t.cmd(&["dump", key])) == *expected, "DUMP {key}");
    }
    // l3 was made with list-max-listpack-size 5.
    t.cmd(&["config", "set", "list-max-listpack-size", "-2"]);
    let items: Vec<String> = (0..1500).map(|i| format!("element-{i}")).collect();
    let mut rpush = vec!["rpush", "big-list"];
    rpush.extend(items.iter().map(String::as_str));
    t.cmd(&rpush);
    assert!(payload(t.cmd(&["dump", "big-list"])) == QUICKLIST);
    let pairs: Vec<String> = (0..200)
        .flat_map(|i| [format!("{}", i as f64 * 0.5), format!("m{i}")])
        .collect();
    let mut zadd = vec!["zadd", "big-zset"];
    zadd.extend(pairs.iter().map(String::as_str));
    t.cmd(&zadd);
    assert!(payload(t.cmd(&["dump", "big-zset"])) == SKIPLIST);
}

#[test]
fn restore_loads_redis_7_2_6_payloads_into_the_same_values() {
    let mut t = TestServer::new();
    for (key, _, p) in REDIS_7_2_6.iter().chain(&[
        ("big-list", &[][..], QUICKLIST),
        ("big-zset", &[][..], SKIPLIST),
    ]) {
        let copy = format!("{key}-copy");
        assert_eq!(restore(&mut t, &copy, p, &[]), ok(), "RESTORE {key}");
        // A restored quicklist keeps its nodes in Redis; here they follow the current fill, so
        // l3 (made with a fill of 5) comes back as one listpack.
        if *key != "l3" {
            let again = payload(t.cmd(&["dump", &copy]));
            assert!(again == *p, "DUMP of the restored {key}");
        }
    }
    assert_eq!(t.cmd(&["lrange", "l1-copy", "2", "3"]), arr(&["1", "-7"]));
    assert_eq!(
        t.cmd(&["lindex", "big-list-copy", "1499"]),
        bulk("element-1499")
    );
    assert_eq!(t.cmd(&["zscore", "z1-copy", "d"]), bulk("1e+100"));
    assert_eq!(t.cmd(&["xlen", "x1-copy"]), int(2));
    assert_eq!(
        t.cmd(&["object", "encoding", "big-zset-copy"]),
        bulk("skiplist")
    );
}

#[test]
fn restore_loads_hashtable_payloads_whatever_their_order() {
    let mut t = TestServer::new();
    assert_eq!(restore(&mut t, "h", HASHTABLE_HASH, &[]), ok());
    assert_eq!(t.cmd(&["hlen", "h"]), int(600));
    assert_eq!(t.cmd(&["hget", "h", "field:599"]), bulk("value:599"));
    assert_eq!(t.cmd(&["object", "encoding", "h"]), bulk("hashtable"));
    assert_eq!(restore(&mut t, "s", HASHTABLE_SET, &[]), ok());
    assert_eq!(t.cmd(&["scard", "s"]), int(200));
    assert_eq!(t.cmd(&["sismember", "s", "member:0"]), int(1));
    // And what we dump of them loads back the same.
    let again = payload(t.cmd(&["dump", "h"]));
    assert_eq!(restore(&mut t, "h2", &again, &[]), ok());
    assert_eq!(t.cmd(&["hget", "h2", "field:17"]), bulk("value:17"));
}

#[test]
fn dump_of_a_missing_key_is_nil() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["dump", "nothing"]), Frame::Null);
}

#[test]
fn restore_refuses_what_redis_refuses_with_its_errors() {
    let mut t = TestServer::new();
    let good = REDIS_7_2_6[0].2;
    t.cmd(&["set", "k", "v"]);
    assert_eq!(
        restore(&mut t, "k", good, &[]),
        err("BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        restore(&mut t, "k", good, &["bogus"]),
        err("ERR syntax error")
    );
    assert_eq!(
        restore(&mut t, "n", good, &["idletime", "1", "freq", "1"]),
        err("ERR syntax error")
    );
    assert_eq!(
        restore(&mut t, "n", good, &["idletime"]),
        err("ERR syntax error")
    );
    assert_eq!(
        restore(&mut t, "n", good, &["idletime", "-1"]),
        err("ERR Invalid IDLETIME value, must be >= 0")
    );
    assert_eq!(
        restore(&mut t, "n", good, &["freq", "256"]),
        err("ERR Invalid FREQ value, must be >= 0 and <= 255")
    );
    assert_eq!(
        restore(&mut t, "n", good, &["freq", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        t.cmd_bytes(&[b"restore", b"n", b"-1", good]),
        err("ERR Invalid TTL value, must be >= 0")
    );
    assert_eq!(
        t.cmd_bytes(&[b"restore", b"n", b"soon", good]),
        err("ERR value is not an integer or out of range")
    );
    let wrong = "ERR DUMP payload version or checksum are wrong";
    let mut flipped = good.to_vec();
    flipped[3] ^= 1;
    assert_eq!(restore(&mut t, "n", &flipped, &[]), err(wrong));
    assert_eq!(restore(&mut t, "n", &good[..9], &[]), err(wrong));
    assert_eq!(restore(&mut t, "n", b"...", &[]), err(wrong));
    assert_eq!(t.cmd(&["exists", "n"]), int(0));
}

#[test]
fn restore_replace_overwrites_and_keeps_no_old_ttl() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "old"]);
    t.cmd(&["expire", "k", "100"]);
    assert_eq!(restore(&mut t, "k", REDIS_7_2_6[0].2, &["replace"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("hello world"));
    assert_eq!(t.cmd(&["ttl", "k"]), int(-1));
}

#[test]
fn restore_sets_relative_and_absolute_ttls() {
    let mut t = TestServer::new();
    let p = REDIS_7_2_6[0].2;
    assert_eq!(t.cmd_bytes(&[b"restore", b"a", b"5000", p]), ok());
    assert_eq!(t.cmd(&["pttl", "a"]), int(5000));
    let at = (t.now.unix_ms + 3000).to_string();
    assert_eq!(
        t.cmd_bytes(&[b"restore", b"b", at.as_bytes(), p, b"absttl"]),
        ok()
    );
    assert_eq!(t.cmd(&["pttl", "b"]), int(3000));
    let past = (t.now.unix_ms - 1).to_string();
    assert_eq!(
        t.cmd_bytes(&[b"restore", b"c", past.as_bytes(), p, b"ABSTTL"]),
        ok()
    );
    assert_eq!(t.cmd(&["exists", "c"]), int(0));
}

#[test]
fn restore_idletime_and_freq_set_the_access_clock_of_the_policy_in_use() {
    let mut t = TestServer::new();
    let p = REDIS_7_2_6[0].2;
    assert_eq!(restore(&mut t, "idle", p, &["idletime", "1000"]), ok());
    assert_eq!(t.cmd(&["object", "idletime", "idle"]), int(1000));
    t.cmd(&["config", "set", "maxmemory-policy", "allkeys-lfu"]);
    assert_eq!(restore(&mut t, "hot", p, &["freq", "100"]), ok());
    assert_eq!(t.cmd(&["object", "freq", "hot"]), int(100));
}

#[test]
fn restore_replicates_its_ttl_as_an_absolute_time() {
    let mut ks = Keyspace::new(16);
    let p = REDIS_7_2_6[0].2;
    let args: [&[u8]; 5] = [b"restore", b"k", b"5000", p, b"replace"];
    let (reply, propagated, dirty) = direct(&mut ks, 1_000_000, &args);
    assert_eq!((reply, dirty), (ok(), 1));
    let Propagate::Replace(cmds) = propagated else {
        panic!("expected a rewritten RESTORE");
    };
    let expected: Vec<&[u8]> = vec![b"restore", b"k", b"1005000", p, b"replace", b"ABSTTL"];
    assert_eq!(
        cmds,
        vec![expected
            .into_iter()
            .map(bytes::Bytes::copy_from_slice)
            .collect::<Vec<_>>()]
    );
    let (_, propagated, _) = direct(&mut ks, 1_000_000, &[b"restore", b"j" as &[u8], b"0", p]);
    assert_eq!(propagated, Propagate::AsIs);
}

#[test]
fn restore_of_an_expired_payload_over_a_key_replicates_a_delete() {
    let mut ks = Keyspace::new(16);
    let p = REDIS_7_2_6[0].2;
    direct(&mut ks, 1_000, &["set", "k", "v"]);
    let expired: [&[u8]; 6] = [b"restore", b"k", b"500", p, b"replace", b"absttl"];
    let (reply, propagated, dirty) = direct(&mut ks, 1_000, &expired);
    assert_eq!((reply, dirty), (ok(), 1));
    assert_eq!(replaced(propagated), owned(&["DEL", "k"]));
    let (reply, _, dirty) = direct(&mut ks, 1_000, &expired);
    assert_eq!((reply, dirty), (ok(), 0), "nothing was there to delete");
}
