//! Stories for the string commands: replies and errors as Redis 7.2 gives them, expiry over time,
//! WRONGTYPE against other families, limits, and what each write propagates.

use crate::commands::keys::tests::{direct, replaced, seed_list};
use crate::commands::Propagate;
use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::db::Keyspace;
use crate::resp::Frame;

const NOW: u64 = 1_700_000_000_000;
const SYNTAX: &str = "ERR syntax error";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn get_returns_what_set_stored_and_nil_for_missing_keys() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["get", "k"]), Frame::Null);
    assert_eq!(t.cmd(&["set", "k", "hello world"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("hello world"));
    assert_eq!(t.cmd(&["set", "k", ""]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk(""));
}

#[test]
fn set_nx_and_xx_decide_on_existence() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["set", "k", "1", "XX"]), Frame::Null);
    assert_eq!(t.cmd(&["set", "k", "1", "nx"]), ok());
    assert_eq!(t.cmd(&["set", "k", "2", "NX"]), Frame::Null);
    assert_eq!(t.cmd(&["set", "k", "3", "XX"]), ok());
    assert_eq!(t.cmd(&["get", "k"]), bulk("3"));
    assert_eq!(t.cmd(&["setnx", "k", "4"]), int(0));
    assert_eq!(t.cmd(&["setnx", "new", "4"]), int(1));
}

#[test]
fn set_get_returns_the_old_value_even_when_nx_stops_the_write() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["set", "k", "1", "GET"]), Frame::Null);
    assert_eq!(t.cmd(&["set", "k", "2", "GET"]), bulk("1"));
    assert_eq!(t.cmd(&["set", "k", "3", "NX", "GET"]), bulk("2"));
    assert_eq!(t.cmd(&["get", "k"]), bulk("2"));
    assert_eq!(t.cmd(&["set", "none", "x", "XX", "GET"]), Frame::Null);
    assert_eq!(t.cmd(&["exists", "none"]), int(0));
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["set", "l", "x", "GET"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["type", "l"]), Frame::Simple("list".into()));
    assert_eq!(
        t.cmd(&["set", "l", "x"]),
        ok(),
        "plain SET overwrites any type"
    );
}

#[test]
fn set_expiry_options_and_keepttl_over_time() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["set", "ex", "v", "EX", "10"]), ok());
    assert_eq!(t.cmd(&["set", "px", "v", "PX", "1500"]), ok());
    assert_eq!(
        t.cmd(&["set", "exat", "v", "EXAT", &(NOW / 1000 + 20).to_string()]),
        ok()
    );
    assert_eq!(
        t.cmd(&["set", "pxat", "v", "PXAT", &(NOW + 2500).to_string()]),
        ok()
    );
    assert_eq!(t.cmd(&["ttl", "ex"]), int(10));
    assert_eq!(t.cmd(&["pttl", "px"]), int(1500));
    assert_eq!(t.cmd(&["ttl", "exat"]), int(20));
    assert_eq!(t.cmd(&["pttl", "pxat"]), int(2500));
    assert_eq!(t.cmd(&["set", "pxat", "w", "KEEPTTL"]), ok());
    assert_eq!(t.cmd(&["pttl", "pxat"]), int(2500));
    t.advance_ms(1500);
    assert_eq!(t.cmd(&["get", "px"]), Frame::Null);
    assert_eq!(t.cmd(&["get", "pxat"]), bulk("w"));
    t.advance_ms(1000);
    assert_eq!(t.cmd(&["get", "pxat"]), Frame::Null);
    assert_eq!(t.cmd(&["get", "ex"]), bulk("v"));
    assert_eq!(t.cmd(&["set", "past", "v", "PXAT", "1"]), ok());
    assert_eq!(t.cmd(&["get", "past"]), Frame::Null);
}

#[test]
fn set_option_conflicts_are_syntax_errors() {
    let mut t = TestServer::new();
    for opts in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "100"],
        &["PX", "10", "EXAT", "100"],
        &["EX", "10", "KEEPTTL"],
        &["KEEPTTL", "PXAT", "10"],
        &["EX"],
        &["PERSIST"],
        &["FOO"],
    ] {
        let mut args = vec!["set", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(t.cmd(&args), err(SYNTAX), "{opts:?}");
    }
    assert_eq!(
        t.cmd(&["set", "k", "v", "EX", "1", "EX", "20", "NX", "NX"]),
        ok()
    );
    assert_eq!(
        t.cmd(&["ttl", "k"]),
        int(20),
        "a repeated EX takes the last value"
    );
}

#[test]
fn set_and_setex_reject_bad_expire_times() {
    let mut t = TestServer::new();
    let invalid = |cmd: &str| err(&format!("ERR invalid expire time in '{cmd}' command"));
    assert_eq!(t.cmd(&["set", "k", "v", "EX", "0"]), invalid("set"));
    assert_eq!(t.cmd(&["set", "k", "v", "PX", "-5"]), invalid("set"));
    assert_eq!(
        t.cmd(&["set", "k", "v", "EX", "9223372036854775"]),
        invalid("set")
    );
    assert_eq!(
        t.cmd(&["set", "k", "v", "PX", "9223372036854775807"]),
        invalid("set")
    );
    assert_eq!(t.cmd(&["set", "k", "v", "EX", "ten"]), err(NOT_INT));
    assert_eq!(t.cmd(&["setex", "k", "0", "v"]), invalid("setex"));
    assert_eq!(t.cmd(&["psetex", "k", "-1", "v"]), invalid("psetex"));
    assert_eq!(t.cmd(&["exists", "k"]), int(0));
    assert_eq!(t.cmd(&["setex", "k", "100", "v"]), ok());
    assert_eq!(t.cmd(&["ttl", "k"]), int(100));
    assert_eq!(t.cmd(&["psetex", "k", "100", "w"]), ok());
    assert_eq!(t.cmd(&["pttl", "k"]), int(100));
    assert_eq!(t.cmd(&["get", "k"]), bulk("w"));
}

#[test]
fn getset_getdel_and_getex() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["getset", "k", "1"]), Frame::Null);
    t.cmd(&["expire", "k", "100"]);
    assert_eq!(t.cmd(&["getset", "k", "2"]), bulk("1"));
    assert_eq!(t.cmd(&["ttl", "k"]), int(-1), "GETSET drops the TTL");
    assert_eq!(t.cmd(&["getdel", "k"]), bulk("2"));
    assert_eq!(t.cmd(&["getdel", "k"]), Frame::Null);
    t.cmd(&["set", "k", "v"]);
    assert_eq!(t.cmd(&["getex", "k"]), bulk("v"));
    assert_eq!(t.cmd(&["getex", "k", "EX", "100"]), bulk("v"));
    assert_eq!(t.cmd(&["ttl", "k"]), int(100));
    assert_eq!(t.cmd(&["getex", "k", "PERSIST"]), bulk("v"));
    assert_eq!(t.cmd(&["ttl", "k"]), int(-1));
    assert_eq!(
        t.cmd(&["getex", "k", "PXAT", &(NOW + 50).to_string()]),
        bulk("v")
    );
    assert_eq!(t.cmd(&["pttl", "k"]), int(50));
    assert_eq!(t.cmd(&["getex", "k", "EXAT", "1"]), bulk("v"));
    assert_eq!(
        t.cmd(&["exists", "k"]),
        int(0),
        "a past EXAT deletes the key"
    );
    assert_eq!(
        t.cmd(&["getex", "k", "EX", "0"]),
        Frame::Null,
        "missing key first"
    );
    t.cmd(&["set", "k", "v"]);
    assert_eq!(
        t.cmd(&["getex", "k", "EX", "0"]),
        err("ERR invalid expire time in 'getex' command")
    );
    for bad in [
        &["NX"][..],
        &["KEEPTTL"],
        &["EX", "1", "PERSIST"],
        &["PERSIST", "PX", "1"],
    ] {
        let mut args = vec!["getex", "k"];
        args.extend_from_slice(bad);
        assert_eq!(t.cmd(&args), err(SYNTAX), "{bad:?}");
    }
}

#[test]
fn mget_mset_and_msetnx() {
    let mut t = TestServer::new();
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["mset", "a", "1", "b", "2", "a", "3"]), ok());
    let Frame::Array(got) = t.cmd(&["mget", "a", "b", "l", "nope"]) else {
        panic!()
    };
    assert_eq!(got, vec![bulk("3"), bulk("2"), Frame::Null, Frame::Null]);
    assert_eq!(
        t.cmd(&["mset", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        t.cmd(&["msetnx", "a"]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(t.cmd(&["msetnx", "x", "1", "a", "9"]), int(0));
    assert_eq!(t.cmd(&["exists", "x"]), int(0));
    assert_eq!(t.cmd(&["msetnx", "x", "1", "y", "2"]), int(1));
    assert_eq!(t.cmd(&["mget", "x", "y"]), arr(&["1", "2"]));
}

#[test]
fn counters_count_keep_ttl_and_refuse_overflow() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["incr", "n"]), int(1));
    assert_eq!(t.cmd(&["incrby", "n", "10"]), int(11));
    assert_eq!(t.cmd(&["decr", "n"]), int(10));
    assert_eq!(t.cmd(&["decrby", "n", "-5"]), int(15));
    assert_eq!(t.cmd(&["get", "n"]), bulk("15"));
    t.cmd(&["expire", "n", "100"]);
    assert_eq!(t.cmd(&["incr", "n"]), int(16));
    assert_eq!(t.cmd(&["ttl", "n"]), int(100));
    t.cmd(&["set", "max", &i64::MAX.to_string()]);
    let overflow = err("ERR increment or decrement would overflow");
    assert_eq!(t.cmd(&["incr", "max"]), overflow);
    t.cmd(&["set", "min", &i64::MIN.to_string()]);
    assert_eq!(t.cmd(&["decr", "min"]), overflow);
    assert_eq!(t.cmd(&["incrby", "min", &i64::MIN.to_string()]), overflow);
    assert_eq!(
        t.cmd(&["decrby", "n", &i64::MIN.to_string()]),
        err("ERR decrement would overflow")
    );
    for bad in ["abc", " 1", "1 ", "01", "+1", "1.5", "99999999999999999999"] {
        t.cmd(&["set", "s", bad]);
        assert_eq!(t.cmd(&["incr", "s"]), err(NOT_INT), "{bad:?}");
    }
    assert_eq!(t.cmd(&["incrby", "n", "x"]), err(NOT_INT));
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["incr", "l"]), err(WRONGTYPE));
}

#[test]
fn incrbyfloat_uses_long_double_precision_and_keeps_ttl() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["incrbyfloat", "f", "10.5"]), bulk("10.5"));
    assert_eq!(t.cmd(&["incrbyfloat", "f", "0.1"]), bulk("10.6"));
    t.cmd(&["set", "g", "1000"]);
    t.cmd(&["pexpire", "g", "5000"]);
    assert_eq!(
        t.cmd(&["incrbyfloat", "g", "0.1"]),
        bulk("1000.09999999999999998")
    );
    assert_eq!(t.cmd(&["pttl", "g"]), int(5000));
    t.cmd(&["set", "e", "5.0e3"]);
    assert_eq!(t.cmd(&["incrbyfloat", "e", "2.0e2"]), bulk("5200"));
    assert_eq!(t.cmd(&["incrbyfloat", "e", "-5200"]), bulk("0"));
    let not_float = err("ERR value is not a valid float");
    assert_eq!(t.cmd(&["incrbyfloat", "e", "abc"]), not_float);
    t.cmd(&["set", "s", " 11"]);
    assert_eq!(t.cmd(&["incrbyfloat", "s", "1"]), not_float);
    assert_eq!(
        t.cmd(&["incrbyfloat", "e", "+inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["incrbyfloat", "l", "abc"]), err(WRONGTYPE));
}

#[test]
fn append_and_strlen() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["strlen", "k"]), int(0));
    assert_eq!(t.cmd(&["append", "k", "Hello"]), int(5));
    t.cmd(&["expire", "k", "100"]);
    assert_eq!(t.cmd(&["append", "k", " World"]), int(11));
    assert_eq!(t.cmd(&["get", "k"]), bulk("Hello World"));
    assert_eq!(t.cmd(&["strlen", "k"]), int(11));
    assert_eq!(t.cmd(&["ttl", "k"]), int(100));
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["append", "l", "x"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["strlen", "l"]), err(WRONGTYPE));
}

#[test]
fn getrange_and_substr_clamp_like_redis() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "This is a string"]);
    for (start, end, want) in [
        ("0", "3", "This"),
        ("-3", "-1", "ing"),
        ("0", "-1", "This is a string"),
        ("10", "100", "string"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("-100", "2", "Thi"),
        (
            "-9223372036854775808",
            "9223372036854775807",
            "This is a string",
        ),
    ] {
        assert_eq!(
            t.cmd(&["getrange", "k", start, end]),
            bulk(want),
            "{start} {end}"
        );
    }
    assert_eq!(t.cmd(&["substr", "k", "0", "3"]), bulk("This"));
    assert_eq!(t.cmd(&["getrange", "nope", "0", "-1"]), bulk(""));
    t.cmd(&["set", "e", ""]);
    assert_eq!(t.cmd(&["getrange", "e", "0", "-1"]), bulk(""));
    assert_eq!(t.cmd(&["getrange", "k", "a", "1"]), err(NOT_INT));
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["getrange", "l", "0", "1"]), err(WRONGTYPE));
}

#[test]
fn setrange_pads_with_zero_bytes_and_enforces_limits() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["setrange", "k", "0", ""]), int(0));
    assert_eq!(
        t.cmd(&["exists", "k"]),
        int(0),
        "an empty patch creates nothing"
    );
    assert_eq!(t.cmd(&["setrange", "k", "3", "ab"]), int(5));
    assert_eq!(t.cmd(&["get", "k"]), bulk("\0\0\0ab"));
    assert_eq!(t.cmd(&["setrange", "k", "1", "XYZW"]), int(5));
    assert_eq!(t.cmd(&["get", "k"]), bulk("\0XYZW"));
    assert_eq!(t.cmd(&["setrange", "k", "100", ""]), int(5));
    assert_eq!(
        t.cmd(&["setrange", "k", "-1", "x"]),
        err("ERR offset is out of range")
    );
    assert_eq!(t.cmd(&["setrange", "k", "x", "x"]), err(NOT_INT));
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(t.cmd(&["setrange", "k", "536870912", "x"]), too_big);
    assert_eq!(t.cmd(&["setrange", "n", "536870911", ""]), int(0));
    assert_eq!(
        t.cmd(&["setrange", "k", &i64::MAX.to_string(), "x"]),
        too_big
    );
    seed_list(&mut t, "l");
    assert_eq!(t.cmd(&["setrange", "l", "0", "x"]), err(WRONGTYPE));
    assert_eq!(t.cmd(&["setrange", "l", "0", ""]), err(WRONGTYPE));
}

#[test]
fn wrongtype_from_every_string_read() {
    let mut t = TestServer::new();
    seed_list(&mut t, "l");
    for cmd in [
        &["get", "l"][..],
        &["getset", "l", "v"],
        &["getdel", "l"],
        &["getex", "l", "PERSIST"],
        &["decrby", "l", "1"],
    ] {
        assert_eq!(t.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(t.cmd(&["type", "l"]), Frame::Simple("list".into()));
}

#[test]
fn writes_propagate_their_effects() {
    let mut ks = Keyspace::new(16);
    let (_, p, dirty) = direct(&mut ks, NOW, &["set", "k", "v"]);
    assert_eq!((p, dirty), (Propagate::AsIs, 1));
    let (_, p, _) = direct(&mut ks, NOW, &["set", "k", "v", "EX", "10", "GET"]);
    assert_eq!(replaced(p), ["SET", "k", "v", "PXAT", "1700000010000"]);
    let (_, p, _) = direct(&mut ks, NOW, &["set", "k", "v", "PXAT", "1800000000000"]);
    assert_eq!(p, Propagate::AsIs);
    let (_, p, _) = direct(&mut ks, NOW, &["set", "k", "w", "get", "XX", "GET"]);
    assert_eq!(replaced(p), ["set", "k", "w", "XX"]);
    let (_, p, dirty) = direct(&mut ks, NOW, &["set", "k", "v", "NX"]);
    assert_eq!((p, dirty), (Propagate::AsIs, 0), "nothing happened");
    let (_, p, _) = direct(&mut ks, NOW, &["setex", "k", "1", "v"]);
    assert_eq!(replaced(p), ["SET", "k", "v", "PXAT", "1700000001000"]);
    let (_, p, _) = direct(&mut ks, NOW, &["psetex", "k", "1", "v"]);
    assert_eq!(replaced(p), ["SET", "k", "v", "PXAT", "1700000000001"]);
    let (_, p, _) = direct(&mut ks, NOW, &["getset", "k", "1.5"]);
    assert_eq!(replaced(p), ["SET", "k", "1.5"]);
    let (_, p, _) = direct(&mut ks, NOW, &["incrbyfloat", "k", "1"]);
    assert_eq!(replaced(p), ["SET", "k", "2.5", "KEEPTTL"]);
    let (_, p, _) = direct(&mut ks, NOW, &["getex", "k", "EX", "5"]);
    assert_eq!(replaced(p), ["PEXPIREAT", "k", "1700000005000"]);
    let (_, p, _) = direct(&mut ks, NOW, &["getex", "k", "PERSIST"]);
    assert_eq!(replaced(p), ["PERSIST", "k"]);
    let (_, p, dirty) = direct(&mut ks, NOW, &["getex", "k", "PERSIST"]);
    assert_eq!((p, dirty), (Propagate::AsIs, 0), "no TTL to remove");
    let (_, p, _) = direct(&mut ks, NOW, &["getex", "k", "PXAT", "1"]);
    assert_eq!(replaced(p), ["DEL", "k"]);
    direct(&mut ks, NOW, &["set", "k", "v"]);
    let (_, p, _) = direct(&mut ks, NOW, &["getdel", "k"]);
    assert_eq!(replaced(p), ["DEL", "k"]);
    let (_, _, dirty) = direct(&mut ks, NOW, &["mset", "a", "1", "b", "2"]);
    assert_eq!(dirty, 2);
}
