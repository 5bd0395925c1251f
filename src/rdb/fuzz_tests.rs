//! Fuzz-style tests of the reader: every truncation of valid files must be an error, and random
//! bit flips, byte overwrites, splices and garbage must give `Ok` or `Err` (never a panic or a
//! huge allocation). Files are written with the checksum off so that corruption reaches the
//! value decoders instead of stopping at the CRC.

use super::blob_tests::blob_file;
use super::tests::sample;
use super::*;
use crate::db::Value;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

fn corpus() -> Vec<Vec<u8>> {
    let mut dbs = sample();
    dbs[0].1.retain(|(k, _)| k.as_ref() != b"biglist");
    let unchecked = WriteOptions {
        checksum: false,
        ..WriteOptions::default()
    };
    let mut blobs = blob_file();
    let n = blobs.len();
    blobs[n - 8..].fill(0);
    vec![
        tests::write(&dbs, &Aux::default(), unchecked, false),
        tests::write(&dbs, &Aux::default(), WriteOptions::default(), false),
        blobs,
        include_bytes!("testdata/redis-7.0.15-small.rdb").to_vec(),
    ]
}

/// Reads `bytes`; a successful load must still respect the keyspace's invariants.
fn check(bytes: &[u8]) {
    if let Ok(loaded) = read_rdb(bytes) {
        for (_, keys) in &loaded.dbs {
            for (_, e) in keys {
                assert!(!e.value.is_empty_aggregate());
                if let Value::ZSet(z) = &e.value {
                    assert!(z.scores.values().all(|s| !s.is_nan()));
                    assert_eq!(z.scores.len(), z.order.len());
                }
            }
        }
    }
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    for file in corpus() {
        read_rdb(&file).unwrap();
        for cut in 0..file.len() {
            let e = read_rdb(&file[..cut]).unwrap_err();
            assert!(e.offset <= cut, "{e} for a cut at {cut}");
        }
    }
}

#[test]
fn random_bit_flips_and_overwrites_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    const INTERESTING: [u8; 9] = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc3, 0xff];
    for file in corpus() {
        for _ in 0..1500 {
            let mut f = file.clone();
            for _ in 0..1 + rng.next_u32() % 4 {
                let i = rng.next_u32() as usize % f.len();
                if rng.next_u32() % 2 == 0 {
                    f[i] ^= 1 << (rng.next_u32() % 8);
                } else {
                    f[i] = INTERESTING[rng.next_u32() as usize % INTERESTING.len()];
                }
            }
            check(&f);
        }
    }
}

#[test]
fn random_splices_and_garbage_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for file in corpus() {
        for _ in 0..500 {
            let mut f = file.clone();
            let at = rng.next_u32() as usize % f.len();
            let n = rng.next_u32() as usize % 16;
            if rng.next_u32() % 2 == 0 {
                f.drain(at..(at + n).min(f.len()));
            } else {
                let mut junk = vec![0u8; n];
                rng.fill_bytes(&mut junk);
                f.splice(at..at, junk);
            }
            check(&f);
        }
    }
    for _ in 0..3000 {
        let mut junk = vec![0u8; rng.next_u32() as usize % 300];
        rng.fill_bytes(&mut junk);
        if rng.next_u32() % 2 == 0 {
            junk.splice(0..0, *b"REDIS0010");
        }
        check(&junk);
    }
}
