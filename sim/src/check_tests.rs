//! Stories for the end-of-run check: which lost writes each durability promise excuses, and
//! what a client's check line says.

use super::*;

fn client(acks: &[(u64, u64)], lost: &[u64]) -> ClientResult {
    let key = |n: u64| Bytes::from(format!("c1:{n}"));
    ClientResult {
        name: "c1".into(),
        server: "s1".into(),
        acked: acks
            .iter()
            .map(|&(n, at_ms)| {
                let value = Bytes::from(format!("v{n}"));
                let sent_ms = at_ms.saturating_sub(5);
                (
                    key(n),
                    Ack {
                        value,
                        sent_ms,
                        at_ms,
                    },
                )
            })
            .collect(),
        failed: 0,
        write_errors: BTreeMap::new(),
        lost: Ok(lost.iter().map(|&n| key(n)).collect()),
        replica_reads: None,
    }
}

/// The check ends at this time in these stories.
const END_MS: u64 = 20_000;

/// Violations as they are printed.
fn shown(v: Vec<Violation>) -> Vec<String> {
    v.into_iter().map(|v| v.to_string()).collect()
}

fn rdb_expect() -> Expect {
    Expect {
        lost_only_after_last_save: true,
        ..Expect::default()
    }
}

fn one_loss(at_ms: u64, saved_from_ms: Option<u64>) -> BTreeMap<String, Vec<Loss>> {
    BTreeMap::from([(
        "s1".to_string(),
        vec![Loss {
            how: "crash",
            at_ms,
            saved_from_ms,
        }],
    )])
}

#[test]
fn a_bgsave_counts_from_its_start_and_only_once_it_succeeded() {
    let mut w = SaveWatch::default();
    w.observe(1000, "+bgsave");
    assert_eq!(w.last_ok_ms, None, "not durable before `bgsave ok`");
    w.observe(1001, "bgsave ok");
    assert_eq!(w.last_ok_ms, Some(1000));
    w.observe(2000, "+bgsave");
    w.observe(2001, "bgsave error (No space left on device)");
    w.observe(2500, "bgsave ok");
    assert_eq!(w.last_ok_ms, Some(1000), "a failed save changes nothing");
    w.observe(3000, "saved");
    assert_eq!(w.last_ok_ms, Some(3000));
}

#[test]
fn losing_writes_acked_after_the_last_save_is_allowed() {
    let r = client(&[(1, 900), (2, 1000), (3, 1500)], &[2, 3]);
    let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "", END_MS);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn losing_a_write_acked_before_the_last_save_is_a_violation_naming_it() {
    let r = client(&[(1, 900), (2, 999), (3, 1500)], &[1, 2, 3]);
    let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "", END_MS);
    assert_eq!(
        shown(v),
        [
            "lost_only_after_last_save at 1.600s on c1, s1: lost writes acknowledged before the \
          last save (2): c1:1 acked at 0.900s was lost in the crash at 1.600s although the save \
          from 1.000s had completed; c1:2 acked at 0.999s was lost in the crash at 1.600s \
          although the save from 1.000s had completed"
        ]
    );
}

#[test]
fn a_write_lost_with_no_crash_after_it_is_a_violation_and_no_save_excuses_all() {
    let r = client(&[(1, 100), (2, 2000)], &[1, 2]);
    let v = judge(&rdb_expect(), &[r], &one_loss(1000, None), "", END_MS);
    assert_eq!(v.len(), 1);
    assert!(
        v[0].text.contains("before the last save (1)")
            && v[0]
                .text
                .contains("c1:2 acked at 2.000s was lost with no kill or crash after it"),
        "{v:?}"
    );
    assert_eq!(v[0].at_ms, END_MS, "no crash dates it: the check does");
}

#[test]
fn a_reply_arriving_after_the_crash_is_judged_by_that_crash() {
    // Sent at 1595, executed before the crash at 1600, acknowledged at 1601.
    let r = client(&[(1, 1601)], &[1]);
    let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "", END_MS);
    assert!(v.is_empty(), "{v:?}");
}

fn everysec_expect() -> Expect {
    Expect {
        lost_only_acked_within_s_before_crash: Some(2.0),
        ..Expect::default()
    }
}

#[test]
fn everysec_may_lose_writes_acked_up_to_the_window_before_the_crash() {
    // Acked 2.000s before the crash is inside; a reply after the crash is too.
    let r = client(&[(1, 3000), (2, 4000), (3, 5001)], &[1, 2, 3]);
    let v = judge(&everysec_expect(), &[r], &one_loss(5000, None), "", END_MS);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn everysec_losing_an_older_write_is_a_violation_naming_its_age() {
    let r = client(&[(1, 2999), (2, 4000)], &[1, 2]);
    let v = judge(&everysec_expect(), &[r], &one_loss(5000, None), "", END_MS);
    assert_eq!(
        shown(v),
        [
            "lost_only_acked_within_s_before_crash at 5.000s on c1, s1: lost writes acknowledged \
          more than 2s before the crash (1): c1:1 acked at 2.999s was lost in the crash at \
          5.000s, 2.001s after its acknowledgement"
        ]
    );
}

#[test]
fn the_client_line_counts_lost_writes_and_the_oldest_ones_age() {
    let r = client(&[(1, 100), (2, 4600), (3, 4990), (4, 6000)], &[2, 3, 4]);
    let losses = &one_loss(5000, None)["s1"];
    assert_eq!(
        r.line(losses),
        "c1@s1: 4 acked writes, 3 lost (c1:2..c1:4; oldest acked 0.400s before the crash \
         at 5.000s; 1 with no kill or crash after them), 0 failed"
    );
    assert_eq!(max_lost_age_ms(&r, losses), Some(400));
    let late = client(&[(1, 5003)], &[1]);
    assert_eq!(
        late.line(losses),
        "c1@s1: 1 acked writes, 1 lost (c1:1; oldest acked 0.003s after the crash at \
         5.000s), 0 failed"
    );
    assert_eq!(
        client(&[(1, 100)], &[]).line(losses),
        "c1@s1: 1 acked writes, 0 lost, 0 failed"
    );
}

#[test]
fn an_unreachable_server_counts_every_acked_write_as_lost() {
    let mut r = client(&[(1, 100), (2, 200)], &[]);
    r.lost = Err("connect timeout".into());
    let e = Expect {
        lost_writes_max: Some(0),
        ..Expect::default()
    };
    let v = judge(&e, &[r], &BTreeMap::new(), "", END_MS);
    assert_eq!(
        shown(v),
        [
            "lost_writes_max at 20.000s on c1, s1: expected at most 0 lost writes, got 2 (c1@s1: \
          all 2 unreadable (connect timeout))"
        ]
    );
}

#[test]
fn trace_fragments_must_appear_in_order() {
    let trace = "1.000s s1 bgsave error (x)\n2.000s c1 -err MISCONF\n3.000s s1 bgsave ok\n";
    let e = |w: &[&str]| Expect {
        trace_in_order: w.iter().map(|s| s.to_string()).collect(),
        ..Expect::default()
    };
    assert!(judge(
        &e(&["bgsave error", "MISCONF", "bgsave ok"]),
        &[],
        &BTreeMap::new(),
        trace,
        END_MS
    )
    .is_empty());
    assert_eq!(
        judge(
            &e(&["MISCONF", "bgsave error"]),
            &[],
            &BTreeMap::new(),
            trace,
            END_MS
        ),
        vec![Violation::new(
            "trace_in_order",
            &[],
            END_MS,
            "no trace line with \"bgsave error\" after one with \"MISCONF\""
        )]
    );
}

#[test]
fn key_ranges_compress_consecutive_numbers() {
    let keys: Vec<Bytes> = ["c1:3", "c1:1", "c1:2", "c1:7"]
        .iter()
        .map(|k| Bytes::from(*k))
        .collect();
    assert_eq!(key_ranges(&keys), "c1:1..c1:3, c1:7");
    assert_eq!(key_ranges(&[]), "");
}

#[test]
fn lost_writes_beyond_the_bound_are_named_per_client() {
    let r = client(&[(1, 100), (2, 200), (3, 300), (4, 400)], &[2, 3]);
    let e = Expect {
        lost_writes_max: Some(0),
        ..Expect::default()
    };
    assert_eq!(
        shown(judge(&e, &[r], &BTreeMap::new(), "", END_MS)),
        [
            "lost_writes_max at 20.000s on c1, s1: expected at most 0 lost writes, got 2 (c1@s1: \
          c1:2..c1:3)"
        ]
    );
}

#[test]
fn liveness_needs_a_write_acknowledged_soon_after_the_last_fault_on_every_master() {
    let e = Expect {
        writes_resume_within_s: Some(5.0),
        ..Expect::default()
    };
    let masters = BTreeSet::from(["s1".to_string()]);
    let resumed = client(&[(1, 1000), (2, 14_000)], &[]);
    assert!(writes_resumed(&e, &[resumed], &masters, 10_000).is_empty());
    let stuck = client(&[(1, 1000), (2, 15_001)], &[]);
    assert_eq!(
        shown(writes_resumed(&e, &[stuck], &masters, 10_000)),
        [
            "writes_resume_within_s at 15.000s on c1, s1: no write acknowledged in 5s after the \
          last fault at 10.000s (the last at 15.001s)"
        ]
    );
    let on_a_replica = client(&[], &[]);
    assert!(writes_resumed(&e, &[on_a_replica], &BTreeSet::new(), 10_000).is_empty());
}

#[test]
fn the_client_line_counts_stale_reads_from_a_replica() {
    let mut r = client(&[(1, 100)], &[]);
    r.replica_reads = Some(ReplicaReads {
        server: "s2".into(),
        reads: 10,
        stale: 4,
    });
    assert_eq!(
        r.line(&[]),
        "c1@s1: 1 acked writes, 0 lost, 0 failed; 4 of 10 reads from s2 stale"
    );
}
