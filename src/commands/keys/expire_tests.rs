//! Stories for EXPIRE and friends: time passing (lazy and active expiry), NX/XX/GT/LT, overflow,
//! times in the past, and what gets propagated.

use super::tests::{direct, replaced};
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::db::{ExpiryMode, Keyspace};
use crate::resp::Frame;

const NOW: u64 = 1_700_000_000_000;

#[test]
fn a_key_with_a_ttl_reads_until_its_time_then_is_gone() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    assert_eq!(t.cmd(&["expire", "k", "10"]), int(1));
    assert_eq!(t.cmd(&["ttl", "k"]), int(10));
    assert_eq!(t.cmd(&["pttl", "k"]), int(10_000));
    t.advance_ms(9_999);
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
    assert_eq!(t.cmd(&["pttl", "k"]), int(1));
    t.advance_ms(1);
    assert_eq!(t.cmd(&["get", "k"]), Frame::Null);
    assert_eq!(t.cmd(&["ttl", "k"]), int(-2));
    assert_eq!(t.cmd(&["exists", "k"]), int(0));
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let mut t = TestServer::new();
    for i in 0..100 {
        t.cmd(&["set", &format!("k{i}"), "v", "PX", "100"]);
    }
    t.cmd(&["set", "forever", "v"]);
    t.advance_ms(50); // the cron runs now (hz 10), and next in 100 ms
    assert_eq!(t.cmd(&["dbsize"]), int(101));
    t.advance_ms(60); // past the TTL, before the next cron
    assert_eq!(
        t.cmd(&["dbsize"]),
        int(101),
        "DBSIZE counts keys not yet reclaimed"
    );
    assert_eq!(t.cmd(&["keys", "*"]), arr(&["forever"]), "KEYS hides them");
    t.advance_ms(40);
    assert_eq!(t.cmd(&["dbsize"]), int(1));
}

#[test]
fn ttl_family_reports_missing_persistent_and_rounded_values() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["ttl", "nope"]), int(-2));
    assert_eq!(t.cmd(&["pexpiretime", "nope"]), int(-2));
    t.cmd(&["set", "k", "v"]);
    assert_eq!(t.cmd(&["ttl", "k"]), int(-1));
    assert_eq!(t.cmd(&["expiretime", "k"]), int(-1));
    t.cmd(&["pexpire", "k", "1499"]);
    assert_eq!(t.cmd(&["ttl", "k"]), int(1));
    t.cmd(&["pexpire", "k", "1500"]);
    assert_eq!(t.cmd(&["ttl", "k"]), int(2));
    assert_eq!(t.cmd(&["pexpiretime", "k"]), int(NOW as i64 + 1500));
    assert_eq!(
        t.cmd(&["expiretime", "k"]),
        int((NOW as i64 + 1500 + 500) / 1000)
    );
    assert_eq!(t.cmd(&["expireat", "k", "2000000000"]), int(1));
    assert_eq!(t.cmd(&["expiretime", "k"]), int(2_000_000_000));
    assert_eq!(t.cmd(&["pexpireat", "k", "2000000000123"]), int(1));
    assert_eq!(t.cmd(&["pexpiretime", "k"]), int(2_000_000_000_123));
}

#[test]
fn persist_removes_a_ttl_once() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["persist", "nope"]), int(0));
    t.cmd(&["set", "k", "v", "EX", "5"]);
    assert_eq!(t.cmd(&["persist", "k"]), int(1));
    assert_eq!(t.cmd(&["persist", "k"]), int(0));
    t.advance_ms(10_000);
    assert_eq!(t.cmd(&["get", "k"]), bulk("v"));
}

#[test]
fn expire_conditions_nx_xx_gt_lt() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["expire", "nope", "10"]), int(0));
    t.cmd(&["set", "k", "v"]);
    assert_eq!(t.cmd(&["expire", "k", "10", "XX"]), int(0));
    assert_eq!(
        t.cmd(&["expire", "k", "10", "GT"]),
        int(0),
        "no TTL is infinite"
    );
    assert_eq!(t.cmd(&["expire", "k", "10", "LT"]), int(1));
    assert_eq!(t.cmd(&["expire", "k", "20", "NX"]), int(0));
    assert_eq!(t.cmd(&["expire", "k", "20", "xx", "gt"]), int(1));
    assert_eq!(t.cmd(&["ttl", "k"]), int(20));
    assert_eq!(t.cmd(&["expire", "k", "15", "GT"]), int(0));
    assert_eq!(t.cmd(&["expire", "k", "25", "LT"]), int(0));
    assert_eq!(t.cmd(&["expire", "k", "15", "LT"]), int(1));
    assert_eq!(t.cmd(&["ttl", "k"]), int(15));
    t.cmd(&["persist", "k"]);
    assert_eq!(t.cmd(&["expire", "k", "30", "NX"]), int(1));
}

#[test]
fn expire_option_and_overflow_errors() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    let nx = err("ERR NX and XX, GT or LT options at the same time are not compatible");
    assert_eq!(t.cmd(&["expire", "k", "10", "NX", "XX"]), nx);
    assert_eq!(t.cmd(&["expire", "k", "10", "GT", "NX"]), nx);
    assert_eq!(
        t.cmd(&["expire", "k", "10", "GT", "LT"]),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(
        t.cmd(&["expire", "k", "10", "XY"]),
        err("ERR Unsupported option XY")
    );
    assert_eq!(
        t.cmd(&["expire", "k", "ten", "XY"]),
        err("ERR Unsupported option XY")
    );
    assert_eq!(
        t.cmd(&["expire", "k", "ten"]),
        err("ERR value is not an integer or out of range")
    );
    let max = i64::MAX.to_string();
    assert_eq!(
        t.cmd(&["expire", "k", &max]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        t.cmd(&["pexpire", "k", &max]),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(
        t.cmd(&["expireat", "k", "-9223372036854776"]),
        err("ERR invalid expire time in 'expireat' command")
    );
    assert_eq!(
        t.cmd(&["pexpireat", "k", &max]),
        int(1),
        "no overflow for absolute ms"
    );
    assert_eq!(
        t.cmd(&["ttl", "k"]),
        int((i64::MAX - NOW as i64 + 500) / 1000)
    );
}

#[test]
fn a_time_in_the_past_deletes_the_key() {
    let mut t = TestServer::new();
    t.cmd(&["mset", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(t.cmd(&["expire", "a", "-1"]), int(1));
    assert_eq!(t.cmd(&["pexpireat", "b", &NOW.to_string()]), int(1));
    assert_eq!(t.cmd(&["expireat", "c", "0"]), int(1));
    assert_eq!(t.cmd(&["dbsize"]), int(0));
}

#[test]
fn expiry_propagates_as_absolute_pexpireat_or_del() {
    let mut ks = Keyspace::new(16);
    direct(&mut ks, NOW, &["set", "k", "v"]);
    let (reply, p, dirty) = direct(&mut ks, NOW, &["expire", "k", "10", "GT", "LT"]);
    assert!(matches!(reply, Frame::Error(_)));
    assert_eq!((p, dirty), (Propagate::AsIs, 0));
    let (reply, p, dirty) = direct(&mut ks, NOW, &["expire", "k", "10", "nx"]);
    assert_eq!((reply, dirty), (int(1), 1));
    assert_eq!(replaced(p), ["PEXPIREAT", "k", "1700000010000", "nx"]);
    let (_, p, _) = direct(&mut ks, NOW, &["pexpire", "k", "5"]);
    assert_eq!(replaced(p), ["PEXPIREAT", "k", "1700000000005"]);
    let (_, p, _) = direct(&mut ks, NOW, &["pexpireat", "k", "1800000000000"]);
    assert_eq!(p, Propagate::AsIs);
    let (_, p, dirty) = direct(&mut ks, NOW, &["persist", "k"]);
    assert_eq!((p, dirty), (Propagate::AsIs, 1));
    let (_, p, _) = direct(&mut ks, NOW, &["expire", "k", "0"]);
    assert_eq!(replaced(p), ["DEL", "k"]);
    assert_eq!(ks.dbs[0].len(), 0);
}

#[test]
fn a_replica_keeps_keys_given_a_past_time_until_its_master_deletes_them() {
    let mut ks = Keyspace::new(16);
    direct(&mut ks, NOW, &["set", "k", "v"]);
    ks.mode = ExpiryMode::Hide;
    let (reply, p, _) = direct(&mut ks, NOW, &["pexpireat", "k", "5"]);
    assert_eq!((reply, p), (int(1), Propagate::AsIs));
    assert_eq!(ks.dbs[0].len(), 1);
    let (reply, _, _) = direct(&mut ks, NOW, &["get", "k"]);
    assert_eq!(reply, Frame::Null, "hidden from readers");
}

#[test]
fn set_without_options_clears_a_ttl() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v", "EX", "1"]);
    assert_eq!(t.cmd(&["set", "k", "w"]), ok());
    t.advance_ms(2_000);
    assert_eq!(t.cmd(&["get", "k"]), bulk("w"));
}
