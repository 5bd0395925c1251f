//! DUMP payloads as untrusted input: a body cut short or corrupted behind a valid footer is bad
//! data (or, by chance, some other valid value), never a panic; a footer that does not check out
//! is refused before the body is read.

use super::dump::{dump_payload, read_dump_payload, PayloadError};
use super::{crc64, RDB_VERSION_7_2};
use crate::db::{EncodingLimits, Entry, Value};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Payloads of every encoding: Redis 7.2.6's, and ours for a few values.
fn corpus() -> Vec<Vec<u8>> {
    let limits = EncodingLimits::default();
    let mut payloads: Vec<Vec<u8>> = [
        &include_bytes!("testdata/dump-7.2.6-list-quicklist.bin")[..],
        include_bytes!("testdata/dump-7.2.6-zset-skiplist.bin"),
        include_bytes!("testdata/dump-7.2.6-hash-hashtable.bin"),
        include_bytes!("testdata/dump-7.2.6-set-hashtable.bin"),
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    for (_, entry) in &super::tests::sample()[0].1 {
        payloads.push(dump_payload(entry, &limits, true).to_vec());
    }
    payloads
}

/// `body` with a footer that checks out.
fn sealed(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn body(payload: &[u8]) -> &[u8] {
    &payload[..payload.len() - 10]
}

#[test]
fn every_payload_of_the_corpus_loads() {
    for p in corpus() {
        assert!(read_dump_payload(&p).is_ok());
    }
}

#[test]
fn a_body_cut_short_behind_a_valid_footer_is_bad_data() {
    for p in corpus() {
        let b = body(&p);
        for cut in 0..b.len() {
            let got = read_dump_payload(&sealed(&b[..cut], RDB_VERSION_7_2 as u16));
            assert_eq!(got.err(), Some(PayloadError::BadData), "cut at {cut}");
        }
    }
}

#[test]
fn corrupted_bodies_behind_a_valid_footer_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xd0e);
    const INTERESTING: [u8; 9] = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc3, 0xff];
    for p in corpus() {
        for _ in 0..1000 {
            let mut b = body(&p).to_vec();
            for _ in 0..1 + rng.next_u32() % 4 {
                let i = rng.next_u32() as usize % b.len();
                b[i] = match rng.next_u32() % 2 {
                    0 => b[i] ^ 1 << (rng.next_u32() % 8),
                    _ => INTERESTING[rng.next_u32() as usize % INTERESTING.len()],
                };
            }
            if let Ok(v) = read_dump_payload(&sealed(&b, RDB_VERSION_7_2 as u16)) {
                assert!(!v.is_empty_aggregate());
                if let Value::ZSet(z) = &v {
                    assert_eq!(z.scores.len(), z.order.len());
                }
            }
        }
    }
}

#[test]
fn a_footer_that_does_not_check_out_is_refused_before_the_body() {
    let p = dump_payload(
        &Entry::new(Value::Str("v".into()), None),
        &EncodingLimits::default(),
        true,
    );
    assert_eq!(read_dump_payload(&p), Ok(Value::Str("v".into())));
    let newer = sealed(body(&p), RDB_VERSION_7_2 as u16 + 1);
    assert_eq!(read_dump_payload(&newer), Err(PayloadError::Footer));
    let older = sealed(body(&p), 9);
    assert!(read_dump_payload(&older).is_ok());
    let mut bad_crc = p.to_vec();
    *bad_crc.last_mut().unwrap() ^= 0x80;
    assert_eq!(read_dump_payload(&bad_crc), Err(PayloadError::Footer));
    for n in 0..10 {
        assert_eq!(read_dump_payload(&p[..n]), Err(PayloadError::Footer));
    }
    // Ten bytes are a footer around nothing: no type byte.
    assert_eq!(
        read_dump_payload(&sealed(b"", 11)),
        Err(PayloadError::BadData)
    );
}
