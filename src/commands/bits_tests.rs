//! What a client sees from the bitmap commands.

use crate::commands::lists::tests::run_direct;
use crate::core::testing::{bulk, err, int, TestServer};
use crate::db::WRONGTYPE;
use crate::resp::Frame;

fn ints(items: &[Option<i64>]) -> Frame {
    Frame::Array(items.iter().map(|i| i.map_or(Frame::Null, int)).collect())
}

#[test]
fn setbit_pads_with_zeros_and_returns_the_old_bit() {
    let mut t = TestServer::new();
    assert_eq!(t.cmd(&["setbit", "k", "9", "1"]), int(0));
    assert_eq!(t.cmd(&["get", "k"]), bulk("\0@"));
    assert_eq!(t.cmd(&["setbit", "k", "9", "0"]), int(1));
    assert_eq!(t.cmd(&["getbit", "k", "9"]), int(0));
    assert_eq!(t.cmd(&["getbit", "k", "100000"]), int(0));
    let (_, dirty) = run_direct(&mut t, &["setbit", "k", "9", "0"]);
    assert_eq!(dirty, 0, "an unchanged bit is not a change");
}

#[test]
fn bit_offsets_stop_below_four_billion() {
    let mut t = TestServer::new();
    let bad = err("ERR bit offset is not an integer or out of range");
    assert_eq!(t.cmd(&["setbit", "k", "4294967296", "1"]), bad);
    assert_eq!(t.cmd(&["setbit", "k", "-1", "1"]), bad);
    assert_eq!(t.cmd(&["getbit", "k", "x"]), bad);
    assert_eq!(
        t.cmd(&["setbit", "k", "0", "2"]),
        err("ERR bit is not an integer or out of range")
    );
    t.cmd(&["lpush", "l", "a"]);
    assert_eq!(t.cmd(&["setbit", "l", "0", "1"]), err(WRONGTYPE));
}

#[test]
fn bitcount_counts_byte_and_bit_ranges() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "foobar"]);
    assert_eq!(t.cmd(&["bitcount", "k"]), int(26));
    assert_eq!(t.cmd(&["bitcount", "k", "1", "1"]), int(6));
    assert_eq!(t.cmd(&["bitcount", "k", "5", "30", "bit"]), int(17));
    assert_eq!(t.cmd(&["bitcount", "k", "-1", "-2"]), int(0));
    assert_eq!(t.cmd(&["bitcount", "k", "0"]), err("ERR syntax error"));
    assert_eq!(t.cmd(&["bitcount", "missing", "x", "y"]), int(0));
}

#[test]
fn bitpos_finds_the_first_set_or_clear_bit() {
    let mut t = TestServer::new();
    t.cmd(&[
        "bitfield", "k", "set", "u8", "0", "255", "set", "u16", "8", "61440",
    ]);
    assert_eq!(t.cmd(&["bitpos", "k", "0"]), int(12));
    assert_eq!(t.cmd(&["bitpos", "k", "1", "2"]), int(-1));
    assert_eq!(t.cmd(&["bitpos", "k", "1", "7", "15", "bit"]), int(7));
    t.cmd(&["setrange", "ones", "0", "\u{7f}"]);
    t.cmd(&["setbit", "ones", "0", "1"]);
    assert_eq!(
        t.cmd(&["bitpos", "ones", "0"]),
        int(8),
        "the padding past the end"
    );
    assert_eq!(t.cmd(&["bitpos", "ones", "0", "0", "-1"]), int(-1));
    assert_eq!(t.cmd(&["bitpos", "missing", "0"]), int(0));
    assert_eq!(
        t.cmd(&["bitpos", "k", "2"]),
        err("ERR The bit argument must be 1 or 0.")
    );
}

#[test]
fn bitop_combines_zero_padded_inputs() {
    let mut t = TestServer::new();
    t.cmd(&["set", "a", "\u{0f}\u{0f}"]);
    t.cmd(&["set", "b", "\u{01}"]);
    assert_eq!(t.cmd(&["bitop", "or", "d", "a", "b"]), int(2));
    assert_eq!(t.cmd(&["get", "d"]), bulk("\u{0f}\u{0f}"));
    assert_eq!(t.cmd(&["bitop", "and", "d", "a", "missing"]), int(2));
    assert_eq!(t.cmd(&["get", "d"]), bulk("\0\0"));
    assert_eq!(t.cmd(&["bitop", "not", "d", "missing"]), int(0));
    assert_eq!(
        t.cmd(&["exists", "d"]),
        int(0),
        "an empty result deletes the target"
    );
    assert_eq!(
        t.cmd(&["bitop", "not", "d", "a", "b"]),
        err("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(t.cmd(&["bitop", "nand", "d", "a"]), err("ERR syntax error"));
}

#[test]
fn bitfield_sets_gets_and_increments_with_overflow_rules() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["bitfield", "k", "set", "u8", "#1", "255", "get", "u8", "8", "get", "i8", "8"]),
        ints(&[Some(0), Some(255), Some(-1)])
    );
    assert_eq!(
        t.cmd(&[
            "bitfield", "k", "incrby", "u8", "8", "10", "overflow", "sat", "incrby", "u8", "8",
            "300"
        ]),
        ints(&[Some(9), Some(255)])
    );
    assert_eq!(
        t.cmd(&["bitfield", "k", "overflow", "fail", "incrby", "i8", "0", "200", "get", "i8", "0"]),
        ints(&[None, Some(0)])
    );
    assert_eq!(
        t.cmd(&["bitfield", "n", "set", "i64", "0", "-1", "incrby", "i64", "0", "1"]),
        ints(&[Some(0), Some(0)])
    );
}

#[test]
fn bitfield_counts_changes_and_ro_refuses_writes() {
    let mut t = TestServer::new();
    let (_, dirty) = run_direct(
        &mut t,
        &[
            "bitfield", "k", "set", "u4", "0", "3", "set", "u4", "4", "0",
        ],
    );
    assert_eq!(dirty, 2, "a new string counts every write");
    let (_, dirty) = run_direct(
        &mut t,
        &[
            "bitfield", "k", "set", "u4", "0", "3", "set", "u4", "4", "1",
        ],
    );
    assert_eq!(dirty, 1, "then only writes that change a value");
    assert_eq!(
        t.cmd(&["bitfield_ro", "k", "get", "u4", "0"]),
        ints(&[Some(3)])
    );
    assert_eq!(
        t.cmd(&["bitfield_ro", "k", "set", "u4", "0", "1"]),
        err("ERR BITFIELD_RO only supports the GET subcommand")
    );
    assert_eq!(
        t.cmd(&["bitfield", "k", "get", "u64", "0"]),
        err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    );
    assert_eq!(
        t.cmd(&["bitfield", "k", "overflow", "maybe"]),
        err("ERR Invalid OVERFLOW type specified")
    );
    assert_eq!(
        t.cmd(&["bitfield", "k", "get", "u8"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["bitfield", "missing", "get", "u8", "0"]),
        ints(&[Some(0)])
    );
}
