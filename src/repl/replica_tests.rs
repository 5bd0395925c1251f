//! Tests of the replica's master link: handshake transcripts byte for byte (as captured from a
//! real redis-server 7.0.15 replica talking to a scripted master), PSYNC replies, transfers,
//! timeouts and disconnections.

use super::*;
use crate::config::LogLevel::{Notice, Warning};

pub(super) const MASTER_ID: &str = "0123456789abcdef0123456789abcdef01234567";
pub(super) const MARK: &str = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

pub(super) fn cfg() -> LinkConfig {
    LinkConfig {
        master_host: "127.0.0.1".into(),
        master_port: 6379,
        masterauth: None,
        masteruser: None,
        listening_port: 6380,
        announce_ip: None,
        max_rdb_bytes: 1 << 20,
    }
}

/// A link that is connected and waiting for the PONG.
pub(super) fn connected(cfg: LinkConfig, cached: Option<(String, i64)>) -> MasterLink {
    let mut link = MasterLink::new(cfg, cached);
    link.start_connect(0);
    link.on_connected(0);
    link
}

pub(super) fn sent(ev: &[LinkEvent]) -> Vec<u8> {
    ev.iter()
        .filter_map(|e| match e {
            LinkEvent::Send(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat()
}

pub(super) fn logs(ev: &[LinkEvent]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            LinkEvent::Log(_, m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn others(ev: &[LinkEvent]) -> Vec<LinkEvent> {
    ev.iter()
        .filter(|e| !matches!(e, LinkEvent::Log(..) | LinkEvent::Send(_)))
        .cloned()
        .collect()
}

pub(super) fn failed(ev: &[LinkEvent]) -> Option<String> {
    ev.iter().find_map(|e| match e {
        LinkEvent::Failed(m) => Some(m.clone()),
        _ => None,
    })
}

/// Drives a link without auth through PONG and the REPLCONF replies.
pub(super) fn to_psync_reply(cached: Option<(String, i64)>) -> MasterLink {
    let mut link = connected(cfg(), cached);
    link.on_data(1, b"+PONG\r\n+OK\r\n+OK\r\n");
    assert_eq!(link.state(), ReplState::ReceivePsyncReply);
    link
}

pub(super) fn diskless(rdb: &[u8]) -> Vec<u8> {
    [format!("$EOF:{MARK}\r\n").as_bytes(), rdb, MARK.as_bytes()].concat()
}

#[test]
fn full_sync_handshake_is_byte_for_byte_a_redis_replicas() {
    let mut link = MasterLink::new(cfg(), None);
    assert_eq!(link.state_name(), "connect");
    let mut ev = link.start_connect(0);
    assert_eq!(link.state_name(), "connecting");
    let out = link.on_connected(0);
    assert_eq!(sent(&out), b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(link.state_name(), "handshake");
    ev.extend(out);
    let out = link.on_data(1, b"+PONG\r\n");
    assert_eq!(
        sent(&out),
        b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n\
          *5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
    );
    ev.extend(out);
    let out = link.on_data(2, b"+OK\r\n");
    assert!(sent(&out).is_empty(), "PSYNC waits for the capa reply");
    let out = link.on_data(3, b"+OK\r\n");
    assert_eq!(sent(&out), b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
    ev.extend(out);
    let wire = [
        format!("\n+FULLRESYNC {MASTER_ID} 100\r\n\n").as_bytes(),
        &diskless(b"REDIS0010-rdb-bytes"),
    ]
    .concat();
    let out = link.on_data(4, &wire);
    assert_eq!(
        others(&out),
        vec![
            LinkEvent::FullResync {
                replid: MASTER_ID.into(),
                offset: 100
            },
            LinkEvent::RdbPayload {
                rdb: Bytes::from_static(b"REDIS0010-rdb-bytes"),
                ack_now: true
            },
        ]
    );
    ev.extend(out);
    assert_eq!(link.state(), ReplState::Connected);
    assert_eq!(link.state_name(), "connected");
    // The same lines, in the same order, as the real replica's log.
    assert_eq!(
        logs(&ev),
        [
            "Connecting to MASTER 127.0.0.1:6379",
            "MASTER <-> REPLICA sync started",
            "Non blocking connect for SYNC fired the event.",
            "Master replied to PING, replication can continue...",
            "Partial resynchronization not possible (no cached master)",
            &format!("Full resync from master: {MASTER_ID}:100"),
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
        ]
    );
    // What that replica sends next: its first ACK (captured: offset 100).
    assert_eq!(
        replconf_ack(100, None),
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n100\r\n"[..]
    );
}

#[test]
fn auth_user_and_announced_ip_are_sent_like_redis() {
    let cfg = LinkConfig {
        masterauth: Some(Bytes::from_static(b"s3cret")),
        masteruser: Some(Bytes::from_static(b"repl")),
        announce_ip: Some("10.1.2.3".into()),
        listening_port: 17002,
        ..cfg()
    };
    let mut link = connected(cfg, None);
    let out = link.on_data(1, b"+PONG\r\n");
    // Captured from redis-server 7.0.15 --masteruser repl --masterauth s3cret
    // --replica-announce-ip 10.1.2.3 --port 17002.
    assert_eq!(
        sent(&out),
        b"*3\r\n$4\r\nAUTH\r\n$4\r\nrepl\r\n$6\r\ns3cret\r\n\
          *3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$5\r\n17002\r\n\
          *3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.1.2.3\r\n\
          *5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
    );
    assert_eq!(link.state(), ReplState::ReceiveAuthReply);
    let out = link.on_data(2, b"+OK\r\n+OK\r\n-ERR unknown ip\r\n");
    assert_eq!(
        logs(&out),
        ["(Non critical) Master does not understand REPLCONF ip-address: -ERR unknown ip"]
    );
    assert_eq!(link.state(), ReplState::ReceiveCapaReply);
    let out = link.on_data(3, b"+OK\r\n");
    assert_eq!(sent(&out), b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
}

#[test]
fn auth_without_a_user_sends_the_password_alone() {
    let cfg = LinkConfig {
        masterauth: Some(Bytes::from_static(b"pw")),
        ..cfg()
    };
    let mut link = connected(cfg, None);
    let out = link.on_data(1, b"-NOAUTH Authentication required.\r\n");
    assert!(sent(&out).starts_with(b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n"));
}

#[test]
fn a_refused_auth_fails_the_link() {
    let cfg = LinkConfig {
        masterauth: Some(Bytes::from_static(b"bad")),
        ..cfg()
    };
    let mut link = connected(cfg, None);
    let out = link.on_data(
        1,
        b"+PONG\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n",
    );
    let msg =
        "Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair or user is disabled.";
    assert_eq!(failed(&out).as_deref(), Some(msg));
    assert!(out.contains(&LinkEvent::Log(Warning, msg.into())));
    assert_eq!(link.state(), ReplState::Connect);
    assert!(
        link.on_data(2, b"+OK\r\n").is_empty(),
        "a failed link ignores data"
    );
}

#[test]
fn ping_replies_that_only_mean_auth_is_needed_are_accepted() {
    for reply in [
        "+PONG",
        "+anything",
        "-NOAUTH Authentication required.",
        "-NOPERM this user has no permissions",
        "-ERR operation not permitted",
    ] {
        let mut link = connected(cfg(), None);
        link.on_data(1, format!("{reply}\r\n").as_bytes());
        assert_eq!(link.state(), ReplState::ReceivePortReply, "{reply}");
    }
    for reply in ["-ERR unknown command", "", "PONG", "$4"] {
        let mut link = connected(cfg(), None);
        let out = link.on_data(1, format!("{reply}\r\n").as_bytes());
        assert_eq!(
            failed(&out),
            Some(format!("Error reply to PING from master: '{reply}'"))
        );
    }
}

#[test]
fn replconf_errors_are_logged_and_ignored() {
    let mut link = connected(cfg(), None);
    let out = link.on_data(1, b"+PONG\r\n-ERR no port\r\n-ERR no capa\r\n");
    assert_eq!(
        logs(&out)[1..],
        [
            "(Non critical) Master does not understand REPLCONF listening-port: -ERR no port",
            "(Non critical) Master does not understand REPLCONF capa: -ERR no capa",
            "Partial resynchronization not possible (no cached master)",
        ]
    );
    assert_eq!(link.state(), ReplState::ReceivePsyncReply);
}

#[test]
fn a_cached_master_is_asked_for_the_next_byte() {
    let mut link = connected(cfg(), Some((MASTER_ID.into(), 1234)));
    let out = link.on_data(1, b"+PONG\r\n+OK\r\n+OK\r\n");
    assert!(sent(&out).ends_with(
        format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{MASTER_ID}\r\n$4\r\n1235\r\n").as_bytes()
    ));
    assert!(logs(&out).contains(&format!(
        "Trying a partial resynchronization (request {MASTER_ID}:1235)."
    )));
}

#[test]
fn continue_with_a_new_id_switches_and_streams_what_follows() {
    let new_id = "fedcba9876543210fedcba9876543210fedcba98";
    let mut link = to_psync_reply(Some((MASTER_ID.into(), 1234)));
    let out = link.on_data(
        5,
        format!("\n+CONTINUE {new_id}\r\n*1\r\n$4\r\nPING\r\n").as_bytes(),
    );
    assert_eq!(
        others(&out),
        vec![
            LinkEvent::Continue {
                new_replid: Some(new_id.into())
            },
            LinkEvent::Stream(Bytes::from_static(b"*1\r\n$4\r\nPING\r\n")),
        ]
    );
    assert_eq!(
        logs(&out),
        [
            "Successful partial resynchronization with master.",
            &format!("Master replication ID changed to {new_id}"),
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
        ]
    );
    assert_eq!(link.state(), ReplState::Connected);
    let out = link.on_data(6, b"*2\r\n$6\r\nSELECT\r\n");
    assert_eq!(
        out,
        vec![LinkEvent::Stream(Bytes::from_static(
            b"*2\r\n$6\r\nSELECT\r\n"
        ))]
    );
    assert_eq!(link.last_io_ms(), 6);
}

#[test]
fn continue_with_the_same_or_no_id_keeps_the_history() {
    for reply in [
        format!("+CONTINUE {MASTER_ID}"),
        "+CONTINUE".to_string(),
        "+CONTINUE short".into(),
    ] {
        let mut link = to_psync_reply(Some((MASTER_ID.into(), 7)));
        let out = link.on_data(5, format!("{reply}\r\n").as_bytes());
        assert_eq!(others(&out), vec![LinkEvent::Continue { new_replid: None }]);
        assert_eq!(logs(&out).len(), 2, "{reply}");
    }
}

#[test]
fn transient_psync_errors_fail_the_link_to_retry_later() {
    for reply in [
        "-NOMASTERLINK Can't SYNC while not connected with my master",
        "-LOADING Redis is loading the dataset in memory",
    ] {
        let mut link = to_psync_reply(None);
        let out = link.on_data(5, format!("{reply}\r\n").as_bytes());
        let msg =
            format!("Master is currently unable to PSYNC but should be in the future: {reply}");
        assert_eq!(
            out,
            vec![LinkEvent::Log(Notice, msg.clone()), LinkEvent::Failed(msg)]
        );
        assert_eq!(link.state(), ReplState::Connect);
    }
}

#[test]
fn an_old_master_gets_sync_and_sends_a_sized_payload() {
    let mut link = to_psync_reply(None);
    let out = link.on_data(5, b"-ERR unknown command 'PSYNC'\r\n");
    assert_eq!(sent(&out), b"SYNC\r\n");
    assert_eq!(
        logs(&out),
        [
            "Master does not support PSYNC or is in error state (reply: -ERR unknown command 'PSYNC')",
            "Retrying with SYNC...",
        ]
    );
    assert_eq!(link.state_name(), "sync");
    let out = link.on_data(6, b"\n$9\r\nREDIS0006*1\r\n$4\r\nPING\r\n");
    assert_eq!(
        others(&out),
        vec![
            LinkEvent::RdbPayload {
                rdb: Bytes::from_static(b"REDIS0006"),
                ack_now: false
            },
            LinkEvent::Stream(Bytes::from_static(b"*1\r\n$4\r\nPING\r\n")),
        ]
    );
    assert_eq!(
        logs(&out),
        ["MASTER <-> REPLICA sync: receiving 9 bytes from master to disk"]
    );
}

#[test]
fn unexpected_psync_replies_also_fall_back_to_sync() {
    // Including +CONTINUE when we never asked to continue anything.
    for reply in ["+WHAT", "+CONTINUE", ":1"] {
        let mut link = to_psync_reply(None);
        let out = link.on_data(5, format!("{reply}\r\n").as_bytes());
        assert_eq!(
            logs(&out)[0],
            format!("Unexpected reply to PSYNC from master: {reply}")
        );
        assert_eq!(sent(&out), b"SYNC\r\n");
        assert_eq!(link.state(), ReplState::Transfer);
    }
}

#[test]
fn a_malformed_fullresync_still_syncs_without_a_history() {
    for reply in [
        "+FULLRESYNC",
        "+FULLRESYNC abc 5",
        &format!("+FULLRESYNC {MASTER_ID}"),
    ] {
        let mut link = to_psync_reply(None);
        let out = link.on_data(5, format!("{reply}\r\n").as_bytes());
        assert_eq!(
            logs(&out),
            ["Master replied with wrong +FULLRESYNC syntax."]
        );
        assert_eq!(
            others(&out),
            vec![LinkEvent::FullResync {
                replid: String::new(),
                offset: -1
            }]
        );
        assert_eq!(link.state(), ReplState::Transfer);
    }
}

#[test]
fn acks_carry_the_aof_offset_when_known() {
    assert_eq!(
        replconf_ack(5, Some(3)),
        b"*5\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n5\r\n$4\r\nFACK\r\n$1\r\n3\r\n"[..]
    );
}

#[test]
fn an_overlong_reply_line_is_cut_like_redis_does() {
    // 300 '+' then CRLF: the first 255 bytes are the PING reply, the rest the next reply.
    let mut link = connected(cfg(), None);
    let mut wire = vec![b'+'; 300];
    wire.extend_from_slice(b"\r\n");
    link.on_data(1, &wire);
    assert_eq!(link.state(), ReplState::ReceiveCapaReply);
}
