//! Seeded fuzzing of the replica's master link: garbage, truncated, mutated and oversized
//! input from a "master", delivered in random pieces, must never panic, must keep every buffer
//! bounded, and a `Failed` link must be back in `Connect`.

use super::tests::{cfg, connected, MARK, MASTER_ID};
use super::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const MAX_RDB: usize = 4096;

fn valid_exchanges() -> Vec<Vec<u8>> {
    let full = format!(
        "+PONG\r\n+OK\r\n+OK\r\n\n+FULLRESYNC {MASTER_ID} 100\r\n\n$EOF:{MARK}\r\nREDIS0010rdb{MARK}*1\r\n$4\r\nPING\r\n"
    );
    let sized = format!("+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC {MASTER_ID} 5\r\n$5\r\nREDIS*1\r\n");
    let cont = format!("+PONG\r\n+OK\r\n+OK\r\n+CONTINUE {MASTER_ID}\r\n*1\r\n$4\r\nPING\r\n");
    let sync = "-NOAUTH\r\n+OK\r\n+OK\r\n-ERR unknown command\r\n\n$3\r\nabc".to_string();
    let captured: [&[u8]; 2] = [
        include_bytes!("testdata/redis-7.0.15-master-diskless.bin"),
        include_bytes!("testdata/redis-7.0.15-master-disk.bin"),
    ];
    [full, sized, cont, sync]
        .into_iter()
        .map(String::into_bytes)
        .chain(captured.map(<[u8]>::to_vec))
        .collect()
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u32() as usize) % n.max(1)
}

/// Random garbage biased towards protocol bytes, shorter than `max_len`.
fn garbage(rng: &mut ChaCha8Rng, max_len: usize) -> Vec<u8> {
    let len = below(rng, max_len);
    const ALPHABET: &[u8] = b"+-$*:\r\n\r\n0123456789EOF:FULLRESYNCCONTINUE \0\xff";
    (0..len)
        .map(|_| {
            if rng.next_u32().is_multiple_of(4) {
                rng.next_u32() as u8
            } else {
                ALPHABET[below(rng, ALPHABET.len())]
            }
        })
        .collect()
}

fn mutate(rng: &mut ChaCha8Rng, mut data: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + below(rng, 4) {
        let at = below(rng, data.len() + 1);
        match rng.next_u32() % 5 {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << (rng.next_u32() % 8);
            }
            1 => data.truncate(at),
            2 => {
                let g = garbage(rng, 40);
                data.splice(at..at, g);
            }
            3 => data
                .drain(at..(at + below(rng, 20)).min(data.len()))
                .for_each(drop),
            _ => {
                let big = vec![b'x'; below(rng, 3 * MAX_RDB)];
                data.splice(at..at, big);
            }
        }
    }
    data
}

/// Feeds `data` in random pieces and checks the link's invariants after each.
fn feed(rng: &mut ChaCha8Rng, link: &mut MasterLink, data: &[u8]) {
    let mut at = 0;
    let mut now = 1;
    while at < data.len() {
        let n = 1 + below(rng, 300);
        let piece = &data[at..(at + n).min(data.len())];
        at += piece.len();
        now += 10;
        let events = link.on_data(now, piece);
        check(link, &events);
        if rng.next_u32().is_multiple_of(50) {
            let mut later = link.clone();
            let events = later.on_cron(now + 61_000, 60);
            check(&later, &events);
        }
        if link.state() == ReplState::Connect {
            return;
        }
    }
}

fn check(link: &MasterLink, events: &[LinkEvent]) {
    if let Some(pos) = events
        .iter()
        .position(|e| matches!(e, LinkEvent::Failed(_)))
    {
        assert_eq!(pos, events.len() - 1, "Failed is the last event");
        assert!(
            matches!(&events[pos - 1], LinkEvent::Log(_, _)),
            "and it was logged"
        );
        assert_eq!(link.state(), ReplState::Connect);
    }
    let transfer = link.transfer.as_ref().map_or(0, |t| t.payload().len());
    assert!(
        transfer <= MAX_RDB + 40 + 300,
        "payload bounded: {transfer}"
    );
    assert!(
        link.input.len() < 1024,
        "input bounded: {}",
        link.input.len()
    );
    for e in events {
        if let LinkEvent::RdbPayload { rdb, .. } = e {
            assert!(rdb.len() <= MAX_RDB);
        }
    }
}

fn fuzz_link(cached: bool) -> MasterLink {
    let cached = cached.then(|| (MASTER_ID.to_string(), 10));
    let cfg = LinkConfig {
        max_rdb_bytes: MAX_RDB,
        masterauth: cached.as_ref().map(|_| Bytes::from_static(b"pw")),
        ..cfg()
    };
    connected(cfg, cached)
}

#[test]
fn pure_garbage_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9a5b);
    for i in 0..3000 {
        let mut link = fuzz_link(i % 2 == 0);
        let data = garbage(&mut rng, 2000);
        feed(&mut rng, &mut link, &data);
    }
}

#[test]
fn garbage_after_each_valid_prefix_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1ead);
    for wire in valid_exchanges() {
        for cut in 0..=wire.len() {
            for _ in 0..3 {
                let mut link = fuzz_link(cut % 2 == 0);
                let mut data = wire[..cut].to_vec();
                data.extend(garbage(&mut rng, 600));
                feed(&mut rng, &mut link, &data);
            }
        }
    }
}

#[test]
fn mutated_exchanges_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xf00d);
    let exchanges = valid_exchanges();
    for i in 0..5000 {
        let wire = exchanges[i % exchanges.len()].clone();
        let data = mutate(&mut rng, wire);
        let mut link = fuzz_link(i % 3 == 0);
        feed(&mut rng, &mut link, &data);
    }
}

#[test]
fn valid_exchanges_in_random_pieces_reach_the_connected_state() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xabc);
    for (k, wire) in valid_exchanges().into_iter().enumerate() {
        for _ in 0..200 {
            let mut link = connected(
                LinkConfig {
                    max_rdb_bytes: MAX_RDB,
                    ..cfg()
                },
                Some((MASTER_ID.into(), 3)),
            );
            feed(&mut rng, &mut link, &wire);
            assert_eq!(link.state(), ReplState::Connected, "exchange {k}");
        }
    }
}

#[test]
fn endless_keepalives_and_stream_do_not_grow_memory() {
    let mut link = fuzz_link(false);
    link.on_data(
        1,
        format!("+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes(),
    );
    for _ in 0..10_000 {
        let events = link.on_data(2, b"\n\n\n");
        check(&link, &events);
    }
    assert!(link.input.is_empty());
    link.on_data(3, b"$0\r\n");
    for _ in 0..1000 {
        let ev = link.on_data(4, &[b'*'; 4096]);
        assert_eq!(ev.len(), 1);
        assert!(link.input.is_empty());
    }
}
