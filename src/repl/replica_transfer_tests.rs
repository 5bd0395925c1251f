//! Tests of the replica's master link after the handshake: snapshot transfers (sizes, EOF
//! marks split anywhere, aborts, limits, progress), timeouts, disconnections and reconnection.

use super::tests::{
    cfg, connected, diskless, failed, logs, others, sent, to_psync_reply, MARK, MASTER_ID,
};
use super::*;
use crate::config::LogLevel::Notice;

#[test]
fn the_master_can_abort_the_transfer_with_an_error() {
    let mut link = to_psync_reply(None);
    let out = link.on_data(
        5,
        format!("+FULLRESYNC {MASTER_ID} 0\r\n\n\n-ERR BGSAVE failed\r\n").as_bytes(),
    );
    assert_eq!(
        failed(&out).as_deref(),
        Some("MASTER aborted replication with an error: ERR BGSAVE failed")
    );
    assert_eq!(link.state(), ReplState::Connect);
}

#[test]
fn a_snapshot_larger_than_allowed_fails_the_link() {
    let mut link = connected(
        LinkConfig {
            max_rdb_bytes: 100,
            ..cfg()
        },
        None,
    );
    link.on_data(
        1,
        format!("+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes(),
    );
    let out = link.on_data(2, b"$101\r\n");
    assert!(failed(&out).is_some());
    let mut link = to_psync_reply(None);
    link.on_data(
        2,
        format!("+FULLRESYNC {MASTER_ID} 0\r\n$EOF:{MARK}\r\n").as_bytes(),
    );
    let mut out = vec![];
    for _ in 0..200 {
        out.extend(link.on_data(3, &[b'x'; 8192]));
    }
    assert!(failed(&out).is_some(), "1 MB limit of cfg()");
}

#[test]
fn transfer_progress_is_reported_for_info() {
    let mut link = to_psync_reply(None);
    assert_eq!(link.transfer_progress(), None);
    link.on_data(5, format!("+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes());
    let p = link.transfer_progress().unwrap();
    assert_eq!((p.total_bytes, p.read_bytes), (-1, 0));
    link.on_data(6, b"$100\r\n0123456789");
    let p = link.transfer_progress().unwrap();
    assert_eq!((p.total_bytes, p.read_bytes, p.last_io_ms), (100, 10, 6));
    link.on_data(7, &[b'x'; 90]);
    assert_eq!(link.transfer_progress(), None);
    let mut link = to_psync_reply(None);
    link.on_data(
        5,
        format!("+FULLRESYNC {MASTER_ID} 0\r\n$EOF:{MARK}\r\nabc").as_bytes(),
    );
    let p = link.transfer_progress().unwrap();
    assert_eq!((p.total_bytes, p.read_bytes), (0, 3));
}

#[test]
fn the_eof_mark_is_found_when_the_exchange_is_split_anywhere() {
    let rdb: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    let wire = [
        format!("\n+FULLRESYNC {MASTER_ID} 42\r\n\n").as_bytes(),
        &diskless(&rdb),
        b"*1\r\n$4\r\nPING\r\n",
    ]
    .concat();
    let want = vec![
        LinkEvent::FullResync {
            replid: MASTER_ID.into(),
            offset: 42,
        },
        LinkEvent::RdbPayload {
            rdb: Bytes::from(rdb),
            ack_now: true,
        },
        LinkEvent::Stream(Bytes::from_static(b"*1\r\n$4\r\nPING\r\n")),
    ];
    for cut in 0..=wire.len() {
        let mut link = to_psync_reply(None);
        let mut out = link.on_data(5, &wire[..cut]);
        out.extend(link.on_data(6, &wire[cut..]));
        let mut got = others(&out);
        // The stream may come in two pieces; join them.
        if let [.., LinkEvent::Stream(a), LinkEvent::Stream(b)] = &got[..] {
            let joined = Bytes::from([a.clone(), b.clone()].concat());
            got.truncate(got.len() - 2);
            got.push(LinkEvent::Stream(joined));
        }
        assert_eq!(got, want, "cut at {cut}");
    }
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_events() {
    let wire = [
        b"+PONG\r\n+OK\r\n+OK\r\n".as_slice(),
        format!("+FULLRESYNC {MASTER_ID} 7\r\n$5\r\nREDIS*1\r\n$4\r\nPING\r\n").as_bytes(),
    ]
    .concat();
    let mut whole = connected(cfg(), None);
    let at_once = whole.on_data(1, &wire);
    let mut bytes = connected(cfg(), None);
    let mut one_by_one = vec![];
    for b in &wire {
        one_by_one.extend(bytes.on_data(1, std::slice::from_ref(b)));
    }
    assert_eq!(sent(&at_once), sent(&one_by_one));
    assert_eq!(logs(&at_once), logs(&one_by_one));
    let stream = |ev: &[LinkEvent]| -> Vec<u8> {
        ev.iter()
            .filter_map(|e| match e {
                LinkEvent::Stream(b) => Some(b.to_vec()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat()
    };
    assert_eq!(stream(&one_by_one), b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(stream(&at_once), stream(&one_by_one));
}

#[test]
fn timeouts_are_detected_in_every_waiting_state() {
    let mut link = MasterLink::new(cfg(), None);
    assert!(
        link.on_cron(1_000_000, 60).is_empty(),
        "nothing to time out in connect"
    );
    link.start_connect(1_000);
    assert!(link.on_cron(61_999, 60).is_empty());
    let out = link.on_cron(62_000, 60);
    assert_eq!(
        failed(&out).as_deref(),
        Some("Timeout connecting to the MASTER...")
    );

    let mut link = to_psync_reply(None);
    assert_eq!(
        failed(&link.on_cron(100_000, 60)).as_deref(),
        Some("Timeout connecting to the MASTER...")
    );

    let mut link = to_psync_reply(None);
    link.on_data(2_000, format!("+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes());
    link.on_data(30_000, b"\n");
    assert!(
        link.on_cron(90_999, 60).is_empty(),
        "keepalives count as traffic"
    );
    let out = link.on_cron(91_000, 60);
    assert!(failed(&out)
        .unwrap()
        .starts_with("Timeout receiving bulk data from MASTER..."));

    let mut link = to_psync_reply(Some((MASTER_ID.into(), 0)));
    link.on_data(5_000, b"+CONTINUE\r\n");
    let out = link.on_cron(66_000, 60);
    assert_eq!(
        logs(&out),
        [
            "MASTER timeout: no data nor PING received...",
            "Connection with master lost."
        ]
    );
    assert_eq!(link.down_since_ms(), Some(66_000));
}

#[test]
fn closed_connections_are_reported_in_each_states_words() {
    let mut link = MasterLink::new(cfg(), None);
    link.start_connect(0);
    let out = link.on_closed(1, "Connection refused");
    assert_eq!(
        failed(&out).as_deref(),
        Some("Error condition on socket for SYNC: Connection refused")
    );
    assert!(link.on_closed(2, "again").is_empty(), "already down");

    let mut link = connected(cfg(), None);
    let out = link.on_closed(1, "connection lost");
    assert_eq!(
        logs(&out),
        [
            "Failed to read response from the server: connection lost",
            "Master did not respond to command during SYNC handshake",
        ]
    );

    let mut link = to_psync_reply(None);
    link.on_data(
        2,
        format!("+FULLRESYNC {MASTER_ID} 0\r\n$10\r\nabc").as_bytes(),
    );
    let out = link.on_closed(3, "connection lost");
    assert_eq!(
        failed(&out).as_deref(),
        Some("I/O error trying to sync with MASTER: connection lost")
    );
    assert_eq!(link.down_since_ms(), None, "never was up");

    let mut link = to_psync_reply(Some((MASTER_ID.into(), 0)));
    link.on_data(2, b"+CONTINUE\r\n");
    let out = link.on_closed(9, "connection lost");
    assert_eq!(
        out,
        vec![
            LinkEvent::Log(Notice, "Connection with master lost.".into()),
            LinkEvent::Failed("Connection with master lost.".into()),
        ]
    );
    assert_eq!(link.down_since_ms(), Some(9));
    assert_eq!(link.state_name(), "connect");
}

#[test]
fn a_link_can_be_reset_and_reconnected_with_a_new_cached_master() {
    let mut link = to_psync_reply(None);
    link.on_data(
        2,
        format!("+FULLRESYNC {MASTER_ID} 10\r\n$0\r\n").as_bytes(),
    );
    assert_eq!(link.state(), ReplState::Connected);
    link.reset(50);
    assert_eq!(
        (link.state(), link.down_since_ms()),
        (ReplState::Connect, Some(50))
    );
    link.set_cached_master(Some((MASTER_ID.into(), 99)));
    link.start_connect(60);
    link.on_connected(61);
    let out = link.on_data(62, b"+PONG\r\n+OK\r\n+OK\r\n");
    assert!(sent(&out).ends_with(b"$3\r\n100\r\n"));
    let out = link.on_data(63, b"+CONTINUE\r\n");
    assert_eq!(others(&out), vec![LinkEvent::Continue { new_replid: None }]);
    assert_eq!(link.down_since_ms(), None);
}

/// What a real redis-server 7.0.15 master sent to a scripted replica (PING, REPLCONF
/// listening-port, REPLCONF capa eof capa psync2, PSYNC ? -1, then REPLCONF ACK 0 for the
/// diskless case), followed by `SET k2 v2` and pings: `(file, diskless)`.
const CAPTURES: [(&[u8], bool); 2] = [
    (
        include_bytes!("testdata/redis-7.0.15-master-diskless.bin"),
        true,
    ),
    (
        include_bytes!("testdata/redis-7.0.15-master-disk.bin"),
        false,
    ),
];

#[test]
fn a_real_redis_master_is_followed_to_the_stream_in_any_pieces() {
    for (wire, is_diskless) in CAPTURES {
        for piece in [wire.len(), 1, 7, 64] {
            let mut link = connected(cfg(), None);
            let mut out = vec![];
            for chunk in wire.chunks(piece) {
                out.extend(link.on_data(1, chunk));
            }
            assert_eq!(link.state(), ReplState::Connected);
            let mut ev = others(&out).into_iter();
            let Some(LinkEvent::FullResync { replid, offset: 0 }) = ev.next() else {
                panic!("no +FULLRESYNC");
            };
            let Some(LinkEvent::RdbPayload { rdb, ack_now }) = ev.next() else {
                panic!("no payload");
            };
            assert_eq!(ack_now, is_diskless);
            let loaded = crate::rdb::read_rdb(&rdb).expect("the payload is the master's RDB");
            let repl = loaded.aux.repl.expect("replication aux fields");
            assert_eq!((repl.id, repl.offset), (replid, 0));
            let stream: Vec<u8> = ev
                .map(|e| match e {
                    LinkEvent::Stream(b) => b.to_vec(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .concat();
            assert!(stream.starts_with(b"*1\r\n$4\r\nping\r\n"));
            let set =
                b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$2\r\nk2\r\n$2\r\nv2\r\n";
            assert!(stream.windows(set.len()).any(|w| w == set));
        }
    }
}
