//! What a client sees from the HyperLogLog commands: Redis' exact bytes, estimates and errors.

use crate::core::testing::{bulk, err, int, ok, TestServer};
use crate::resp::Frame;

fn hex(f: Frame) -> String {
    let Frame::Bulk(b) = f else {
        panic!("not a bulk: {f:?}")
    };
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn pfadd_writes_the_same_bytes_as_redis_and_pfcount_caches_the_estimate() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["pfadd", "h", "a", "b", "c"]), int(1));
    // Bytes taken from redis-server 7.0 for the same command.
    assert_eq!(
        hex(t.cmd(&["get", "h"])),
        "48594c4c01000000000000000000008060f38050b1844bfb80425a"
    );
    assert_eq!(
        t.cmd(&["pfdebug", "decode", "h"]),
        bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
    );
    assert_eq!(t.cmd(&["pfcount", "h"]), int(3));
    assert_eq!(
        hex(t.cmd(&["get", "h"])),
        "48594c4c01000000030000000000000060f38050b1844bfb80425a"
    );
    assert_eq!(t.cmd(&["pfadd", "h", "a"]), int(0));
}

#[test]
fn a_sparse_hll_turns_dense_past_hll_sparse_max_bytes() {
    let mut t = TestServer::new();
    for i in 1..=300 {
        t.cmd(&["pfadd", "h", &format!("e{i}")]);
    }
    assert_eq!(t.cmd(&["pfcount", "h"]), int(302));
    assert_eq!(t.cmd(&["strlen", "h"]), int(713));
    assert_eq!(t.cmd(&["pfdebug", "todense", "h"]), int(1));
    assert_eq!(
        t.cmd(&["pfdebug", "encoding", "h"]),
        Frame::Simple("dense".into())
    );
    assert_eq!(t.cmd(&["pfdebug", "todense", "h"]), int(0));
    assert_eq!(t.cmd(&["pfcount", "h"]), int(302));
    t.cmd(&["config", "set", "hll-sparse-max-bytes", "30"]);
    t.cmd(&[
        "pfadd", "small", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
    ]);
    assert_eq!(
        t.cmd(&["pfdebug", "encoding", "small"]),
        Frame::Simple("dense".into())
    );
    assert_eq!(
        t.cmd(&["pfdebug", "decode", "small"]),
        err("ERR HLL encoding is not sparse")
    );
}

#[test]
fn pfmerge_and_pfcount_of_several_keys_estimate_the_union() {
    let mut t = TestServer::new();
    t.cmd(&["pfadd", "a", "1", "2", "3"]);
    t.cmd(&["pfadd", "b", "3", "4", "5"]);
    assert_eq!(t.cmd(&["pfcount", "a", "b", "missing"]), int(5));
    assert_eq!(t.cmd(&["pfmerge", "m", "a", "b"]), ok());
    assert_eq!(t.cmd(&["pfcount", "m"]), int(5));
    assert_eq!(t.cmd(&["pfmerge", "empty", "missing"]), ok());
    assert_eq!(t.cmd(&["pfcount", "empty"]), int(0));
}

#[test]
fn strings_that_are_not_hlls_are_refused() {
    let mut t = TestServer::new();
    t.cmd(&["set", "s", "bar"]);
    let not_hll = err("WRONGTYPE Key is not a valid HyperLogLog string value.");
    assert_eq!(t.cmd(&["pfadd", "s", "x"]), not_hll);
    assert_eq!(t.cmd(&["pfcount", "s"]), not_hll);
    assert_eq!(t.cmd(&["pfmerge", "d", "s"]), not_hll);
    t.cmd(&["pfadd", "h", "a", "b", "c"]);
    t.cmd(&["append", "h", "hello"]);
    for (cmd, error) in [
        ("pfcount h", "INVALIDOBJ Corrupted HLL object detected"),
        (
            "pfdebug getreg nokey",
            "ERR The specified key does not exist",
        ),
        ("pfdebug foo h", "ERR Unknown PFDEBUG subcommand 'foo'"),
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        assert_eq!(t.cmd(&args), err(error), "{cmd}");
    }
}

#[test]
fn pfselftest_passes() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["pfselftest"]), ok());
}
