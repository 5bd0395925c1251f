//! Tests of the master's SYNC/PSYNC decision and of the replication ID bookkeeping.

use super::*;
use crate::repl::backlog::MIN_SIZE;

const ID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const ID_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const ZEROS: &str = "0000000000000000000000000000000000000000";

fn ids() -> ReplIds {
    ReplIds {
        replid: ID_A.into(),
        replid2: ID_B.into(),
        second_repl_offset: 501,
    }
}

fn replica(psync2: bool) -> ReplicaInfo {
    ReplicaInfo {
        listening_port: 6380,
        capa_eof: true,
        capa_psync2: psync2,
        ..ReplicaInfo::new(7, "10.0.0.2")
    }
}

/// A backlog holding offsets 1001..=1000+len, byte at offset o being `o % 256`.
fn backlog(len: usize) -> Backlog {
    let mut b = Backlog::new(MIN_SIZE, 1000);
    let data: Vec<u8> = (1001..1001 + len as i64).map(|o| o as u8).collect();
    b.feed(&data);
    b
}

fn decide(ids: &ReplIds, backlog: Option<&Backlog>, replid: &str, offset: &str) -> PsyncDecision {
    let master_repl_offset = backlog.map_or(1000, Backlog::master_repl_offset);
    let cx = SyncContext {
        ids,
        master_repl_offset,
        backlog,
        master_link_down: false,
        pending_output: false,
    };
    let req = SyncRequest::Psync {
        replid: replid.as_bytes(),
        offset: offset.as_bytes(),
    };
    decide_sync(&cx, &replica(true), req)
}

fn logs(d: &PsyncDecision) -> Vec<String> {
    let log = match d {
        PsyncDecision::Refused { log, .. }
        | PsyncDecision::Continue { log, .. }
        | PsyncDecision::FullResync { log, .. } => log,
    };
    log.iter().map(|(_, m)| m.clone()).collect()
}

fn continued_bytes(d: &PsyncDecision) -> Option<(Bytes, i64, Vec<u8>)> {
    match d {
        PsyncDecision::Continue {
            reply,
            from_offset,
            bytes_to_send,
            ..
        } => Some((reply.clone(), *from_offset, bytes_to_send.concat())),
        _ => None,
    }
}

#[test]
fn new_replids_are_forty_lowercase_hex_characters() {
    let id = new_replid([0xab; 20]);
    assert_eq!(id, "ab".repeat(20));
    let id = new_replid(core::array::from_fn(|i| i as u8 * 13));
    assert_eq!(id.len(), 40);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(id.starts_with("000d1a27"));
}

#[test]
fn a_fresh_history_has_no_secondary_id() {
    let ids = ReplIds::new([1; 20]);
    assert_eq!(ids.replid, "01".repeat(20));
    assert_eq!(ids.replid2, ZEROS);
    assert_eq!(ids.second_repl_offset, -1);
}

#[test]
fn promotion_keeps_the_old_history_valid_up_to_the_next_byte() {
    let mut ids = ReplIds::new([1; 20]);
    let old = ids.replid.clone();
    let (level, msg) = ids.shift_on_promotion(1234, [2; 20]);
    assert_eq!(ids.replid2, old);
    assert_eq!(ids.second_repl_offset, 1235);
    assert_eq!(ids.replid, "02".repeat(20));
    assert_eq!(level, crate::config::LogLevel::Notice);
    assert_eq!(
        msg,
        format!("Setting secondary replication ID to {old}, valid up to offset: 1235. New replication ID is {}", ids.replid)
    );
    ids.clear_replid2();
    assert_eq!((ids.replid2.as_str(), ids.second_repl_offset), (ZEROS, -1));
}

#[test]
fn backlog_creation_and_freeing_start_new_histories() {
    let mut ids = ids();
    let (_, msg) = ids.create_backlog_history([3; 20]);
    assert_eq!(ids.replid, "03".repeat(20));
    assert_eq!((ids.replid2.as_str(), ids.second_repl_offset), (ZEROS, -1));
    assert_eq!(
        msg,
        format!(
            "Replication backlog created, my new replication IDs are '{}' and '{ZEROS}'",
            ids.replid
        )
    );
    let (_, msg) = ids.free_backlog_history([4; 20], 3600);
    assert_eq!(ids.replid, "04".repeat(20));
    assert_eq!(
        msg,
        "Replication backlog freed after 3600 seconds without connected replicas."
    );
}

#[test]
fn a_replica_adopts_its_masters_history() {
    let mut ids = ids();
    ids.adopt_master(ID_B);
    assert_eq!(ids.replid, ID_B);
    assert_eq!((ids.replid2.as_str(), ids.second_repl_offset), (ZEROS, -1));
    ids.continue_with(ID_A, 700);
    assert_eq!((ids.replid.as_str(), ids.replid2.as_str()), (ID_A, ID_B));
    assert_eq!(ids.second_repl_offset, 701);
}

#[test]
fn psync_with_my_id_inside_the_backlog_continues() {
    let b = backlog(100);
    let d = decide(&ids(), Some(&b), ID_A, "1051");
    let (reply, from, bytes) = continued_bytes(&d).unwrap();
    assert_eq!(reply, format!("+CONTINUE {ID_A}\r\n"));
    assert_eq!(from, 1051);
    assert_eq!(
        bytes,
        (1051..=1100).map(|o: i64| o as u8).collect::<Vec<_>>()
    );
    assert_eq!(
        logs(&d),
        [
            "Replica 10.0.0.2:6380 asks for synchronization",
            "Partial resynchronization request from 10.0.0.2:6380 accepted. Sending 50 bytes of backlog starting from offset 1051.",
        ]
    );
}

#[test]
fn psync_at_both_edges_of_the_backlog_continues() {
    let b = backlog(100);
    // First byte held: everything is sent.
    let (_, _, bytes) = continued_bytes(&decide(&ids(), Some(&b), ID_A, "1001")).unwrap();
    assert_eq!(bytes.len(), 100);
    // One past the last byte: nothing missing, nothing sent.
    let d = decide(&ids(), Some(&b), ID_A, "1101");
    assert_eq!(continued_bytes(&d).unwrap().2, Vec::<u8>::new());
    assert!(logs(&d)[1].contains("Sending 0 bytes of backlog starting from offset 1101."));
}

#[test]
fn psync_just_outside_the_backlog_needs_a_full_resync() {
    let b = backlog(100);
    for (offset, beyond_master) in [("1000", false), ("1102", true)] {
        let d = decide(&ids(), Some(&b), ID_A, offset);
        assert!(matches!(
            d,
            PsyncDecision::FullResync {
                partial_err: true,
                pre_psync: false,
                ..
            }
        ));
        let mut want = vec![
            "Replica 10.0.0.2:6380 asks for synchronization".to_string(),
            format!("Unable to partial resync with replica 10.0.0.2:6380 for lack of backlog (Replica request was: {offset})."),
        ];
        if beyond_master {
            want.push("Warning: replica 10.0.0.2:6380 tried to PSYNC with an offset that is greater than the master replication offset.".into());
        }
        assert_eq!(logs(&d), want);
    }
}

#[test]
fn psync_after_the_backlog_wrapped_needs_a_full_resync_for_old_offsets() {
    let b = backlog(MIN_SIZE * 2);
    let first = b.first_byte_offset();
    assert!(continued_bytes(&decide(&ids(), Some(&b), ID_A, &first.to_string())).is_some());
    let d = decide(&ids(), Some(&b), ID_A, &(first - 1).to_string());
    assert!(matches!(d, PsyncDecision::FullResync { .. }));
}

#[test]
fn psync_without_a_backlog_needs_a_full_resync() {
    let d = decide(&ids(), None, ID_A, "1000");
    assert!(logs(&d)[1]
        .starts_with("Unable to partial resync with replica 10.0.0.2:6380 for lack of backlog"));
    assert_eq!(logs(&d).len(), 2);
}

#[test]
fn psync_with_an_unknown_id_is_a_mismatch() {
    let b = backlog(100);
    let d = decide(
        &ids(),
        Some(&b),
        "cccccccccccccccccccccccccccccccccccccccc",
        "1051",
    );
    assert_eq!(
        logs(&d)[1],
        format!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for 'cccccccccccccccccccccccccccccccccccccccc', my replication IDs are '{ID_A}' and '{ID_B}')")
    );
    assert!(matches!(
        d,
        PsyncDecision::FullResync {
            partial_err: true,
            ..
        }
    ));
}

#[test]
fn psync_with_the_previous_id_is_accepted_up_to_the_switch_offset() {
    let b = backlog(100);
    // replid2 is valid up to 501 but the backlog only starts at 1001.
    let d = decide(&ids(), Some(&b), ID_B, "501");
    assert!(logs(&d)[1].starts_with("Unable to partial resync"));
    let ids2 = ReplIds {
        second_repl_offset: 1060,
        ..ids()
    };
    let (reply, _, bytes) = continued_bytes(&decide(&ids2, Some(&b), ID_B, "1060")).unwrap();
    assert_eq!(
        reply,
        format!("+CONTINUE {ID_A}\r\n"),
        "the reply names the new id"
    );
    assert_eq!(bytes.len(), 41);
    let d = decide(&ids2, Some(&b), ID_B, "1061");
    assert_eq!(
        logs(&d)[1],
        "Partial resynchronization not accepted: Requested offset for second ID was 1061, but I can reply up to 1060"
    );
}

#[test]
fn replication_ids_are_compared_case_insensitively() {
    let b = backlog(10);
    let upper = ID_A.to_uppercase();
    assert!(continued_bytes(&decide(&ids(), Some(&b), &upper, "1001")).is_some());
}

#[test]
fn psync_question_mark_asks_for_a_full_resync_without_counting_an_error() {
    let b = backlog(10);
    let d = decide(&ids(), Some(&b), "?", "-1");
    assert!(matches!(
        d,
        PsyncDecision::FullResync {
            partial_err: false,
            pre_psync: false,
            ..
        }
    ));
    assert_eq!(
        logs(&d)[1],
        "Full resync requested by replica 10.0.0.2:6380"
    );
}

#[test]
fn old_replicas_get_a_bare_continue() {
    let b = backlog(10);
    let cx = SyncContext {
        ids: &ids(),
        master_repl_offset: b.master_repl_offset(),
        backlog: Some(&b),
        master_link_down: false,
        pending_output: false,
    };
    let req = SyncRequest::Psync {
        replid: ID_A.as_bytes(),
        offset: b"1005",
    };
    let (reply, _, bytes) = continued_bytes(&decide_sync(&cx, &replica(false), req)).unwrap();
    assert_eq!(reply, "+CONTINUE\r\n");
    assert_eq!(bytes.len(), 6);
}

#[test]
fn sync_is_always_a_full_resync_for_a_pre_psync_replica() {
    let b = backlog(10);
    let cx = SyncContext {
        ids: &ids(),
        master_repl_offset: 1010,
        backlog: Some(&b),
        master_link_down: false,
        pending_output: false,
    };
    let mut r = replica(true);
    r.listening_port = 0;
    let d = decide_sync(&cx, &r, SyncRequest::Sync);
    assert_eq!(
        d,
        PsyncDecision::FullResync {
            partial_err: false,
            pre_psync: true,
            log: vec![(
                crate::config::LogLevel::Notice,
                "Replica 10.0.0.2:<unknown-replica-port> asks for synchronization".into()
            )],
        }
    );
}

#[test]
fn sync_is_refused_when_my_own_master_link_is_down_or_output_is_pending() {
    let ids = ids();
    let mut cx = SyncContext {
        ids: &ids,
        master_repl_offset: 0,
        backlog: None,
        master_link_down: true,
        pending_output: false,
    };
    let refused = |cx: &SyncContext| match decide_sync(cx, &replica(true), SyncRequest::Sync) {
        PsyncDecision::Refused { error, .. } => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(&cx),
        "NOMASTERLINK Can't SYNC while not connected with my master"
    );
    cx.master_link_down = false;
    cx.pending_output = true;
    assert_eq!(
        refused(&cx),
        "ERR SYNC and PSYNC are invalid with pending output"
    );
}

#[test]
fn a_bad_psync_offset_is_an_integer_error() {
    let b = backlog(10);
    for offset in ["abc", "", "1.5", "99999999999999999999"] {
        let d = decide(&ids(), Some(&b), ID_A, offset);
        let PsyncDecision::Refused { error, log } = &d else {
            panic!("{d:?}");
        };
        assert_eq!(error, "ERR value is not an integer or out of range");
        assert_eq!(
            log[1].1,
            "Replica 10.0.0.2:6380 asks for synchronization but with a wrong offset"
        );
    }
}

#[test]
fn extreme_offsets_do_not_panic() {
    let b = backlog(10);
    for offset in [i64::MIN, i64::MAX, -1, 0] {
        let d = decide(&ids(), Some(&b), ID_A, &offset.to_string());
        assert!(matches!(d, PsyncDecision::FullResync { .. }));
    }
    let ids2 = ReplIds {
        second_repl_offset: i64::MAX,
        ..ids()
    };
    assert!(matches!(
        decide(&ids2, None, ID_B, &i64::MAX.to_string()),
        PsyncDecision::FullResync { .. }
    ));
}

#[test]
fn the_fullresync_line_names_the_history_and_offset() {
    assert_eq!(
        fullresync_reply(ID_A, 0),
        format!("+FULLRESYNC {ID_A} 0\r\n")
    );
}
