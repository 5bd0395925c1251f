//! PFDEBUG (GETREG, DECODE, ENCODING, TODENSE) and PFSELFTEST, Redis' tools for looking inside
//! an HLL and checking the register code and the estimator's error.

use super::{
    add, dense, empty, estimate, histogram, lookup, sparse, sparse_max_bytes, store, CORRUPTED,
    DENSE, HDR_LEN, REGISTERS, REGISTER_MAX, SPARSE,
};
use crate::commands::{is, Cx};
use bytes::Bytes;

pub(super) fn pfdebug(cx: &mut Cx, args: &[Bytes]) {
    let (sub, key) = (&args[1], &args[2]);
    let name = String::from_utf8_lossy(sub);
    let Ok(found) = lookup(cx, key, false) else {
        return;
    };
    let Some(s) = found else {
        return cx.out.error("ERR The specified key does not exist");
    };
    let known = ["getreg", "decode", "encoding", "todense"];
    if !known.iter().any(|k| is(sub, k)) {
        return cx
            .out
            .error(&format!("ERR Unknown PFDEBUG subcommand '{name}'"));
    }
    if is(sub, "getreg") {
        getreg(cx, key, s)
    } else if is(sub, "decode") {
        match s[4] {
            SPARSE => cx.out.bulk(sparse::decode(&s).as_bytes()),
            _ => cx.out.error("ERR HLL encoding is not sparse"),
        }
    } else if is(sub, "encoding") {
        cx.out
            .simple(if s[4] == DENSE { "dense" } else { "sparse" })
    } else if let Some((converted, _)) = to_dense_stored(cx, key, s) {
        cx.out.int(i64::from(converted))
    }
}

/// Turns a sparse HLL at `key` into dense (a change that replicates). Returns whether it was
/// sparse and the dense string, `None` once the corrupted-HLL error was replied.
fn to_dense_stored(cx: &mut Cx, key: &Bytes, s: Vec<u8>) -> Option<(bool, Vec<u8>)> {
    if s[4] == DENSE {
        return Some((false, s));
    }
    let Some(d) = sparse::to_dense(&s) else {
        cx.out.error(CORRUPTED);
        return None;
    };
    store(cx, key, d.clone());
    cx.dirty += 1;
    Some((true, d))
}

fn getreg(cx: &mut Cx, key: &Bytes, s: Vec<u8>) {
    let Some((_, d)) = to_dense_stored(cx, key, s) else {
        return;
    };
    cx.out.array(REGISTERS);
    for i in 0..REGISTERS {
        cx.out.int(i64::from(dense::get(&d[HDR_LEN..], i)));
    }
}

/// How many rounds of random register values the access test writes and reads back.
const REGISTER_ROUNDS: usize = 1000;
/// How many elements the error test adds.
const ERROR_TEST_ELEMENTS: u64 = 10_000_000;

pub(super) fn pfselftest(cx: &mut Cx, _args: &[Bytes]) {
    match selftest(cx) {
        Ok(()) => cx.out.ok(),
        Err(e) => cx.out.error(&e),
    }
}

fn selftest(cx: &mut Cx) -> Result<(), String> {
    let mut regs = vec![0u8; dense::REGISTERS_LEN];
    let mut want = vec![0u8; REGISTERS];
    for _ in 0..REGISTER_ROUNDS {
        for (i, w) in want.iter_mut().enumerate() {
            *w = (cx.random_u64() as u8) & REGISTER_MAX;
            dense::put(&mut regs, i, *w);
        }
        for (i, &w) in want.iter().enumerate() {
            let got = dense::get(&regs, i);
            if got != w {
                return Err(format!(
                    "TESTFAILED Register {i} should be {w} but is {got}"
                ));
            }
        }
    }
    // The same elements go into a dense and a sparse HLL; both must agree and stay close.
    let mut dense_hll = empty();
    dense_hll[4] = DENSE;
    dense_hll.truncate(HDR_LEN);
    dense_hll.resize(super::DENSE_LEN, 0);
    let mut sparse_hll = empty();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed = cx.random_u64();
    let mut checkpoint = 1;
    let count = |s: &[u8]| histogram(s).map_or(0, |h| estimate::estimate(&h));
    for j in 1..=ERROR_TEST_ELEMENTS {
        let element = (j ^ seed).to_le_bytes();
        add(&mut dense_hll, &element, sparse_max_bytes(cx.config));
        add(&mut sparse_hll, &element, sparse_max_bytes(cx.config));
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max_bytes(cx.config) / 2 && sparse_hll[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense_hll);
        if card != count(&sparse_hll) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        if card.abs_diff(checkpoint) > max_error {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{}",
                card.abs_diff(checkpoint)
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}
