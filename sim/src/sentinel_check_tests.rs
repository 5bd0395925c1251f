use super::*;

const A: &str = "aaaa";
const B: &str = "bbbb";
const C: &str = "cccc";
const MASTER: &str = "master mymaster 10.1.0.1 6379";

/// Three Sentinels x1..x3 (run ids aaaa, bbbb, cccc) starting from epoch 0, then `lines`.
fn trace(lines: &[&str]) -> String {
    let mut t: Vec<String> = [("x1", A), ("x2", B), ("x3", C)]
        .iter()
        .map(|(n, id)| {
            format!("   0.001s {n} ~state myid {id} current-epoch 0 leader-epoch mymaster 0")
        })
        .collect();
    t.extend(lines.iter().map(|l| l.to_string()));
    t.join("\n")
}

fn checks(lines: &[&str]) -> Vec<String> {
    check(&trace(lines)).iter().map(|v| v.to_string()).collect()
}

/// A healthy failover of epoch 1: every Sentinel has the master down, x1 wins all votes and
/// promotes the best replica.
fn healthy() -> Vec<String> {
    vec![
        format!("  13.052s x2 +sdown {MASTER}"),
        format!("  13.082s x3 +sdown {MASTER}"),
        format!("  13.087s x1 +sdown {MASTER}"),
        "  13.142s x1 ~odown-opinions mymaster [bbbb cccc]".into(),
        format!("  13.142s x1 +odown {MASTER} #quorum 3/2"),
        "  13.142s x1 +new-epoch 1".into(),
        "  13.142s x1 +vote-for-leader aaaa 1".into(),
        "  13.145s x2 +new-epoch 1".into(),
        "  13.145s x2 +vote-for-leader aaaa 1".into(),
        "  13.145s x3 +vote-for-leader aaaa 1".into(),
        "  13.197s x1 ~leader-votes mymaster epoch 1 votes 3/3 quorum 2".into(),
        "  13.259s x1 ~candidates mymaster 10.1.0.2:6379/100/500/r2 10.1.0.3:6379/100/400/r3"
            .into(),
        "  13.259s x1 +selected-slave slave 10.1.0.2:6379 10.1.0.2 6379 @ mymaster 10.1.0.1 6379"
            .into(),
    ]
}

fn with(replace: &[(usize, &str)], extra: &[&str]) -> Vec<String> {
    let mut lines = healthy();
    for (i, l) in replace {
        lines[*i] = l.to_string();
    }
    lines.extend(extra.iter().map(|l| l.to_string()));
    lines
}

fn run(lines: &[String]) -> Vec<String> {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    checks(&refs)
}

#[test]
fn a_healthy_failover_keeps_every_promise() {
    assert_eq!(run(&healthy()), Vec::<String>::new());
}

#[test]
fn two_leaders_in_one_epoch_are_caught() {
    let v = run(&with(
        &[],
        &[
            "  13.300s x2 +vote-for-leader bbbb 1",
            "  13.300s x3 +vote-for-leader bbbb 1",
            "  13.400s x2 ~leader-votes mymaster epoch 1 votes 2/3 quorum 2",
        ],
    ));
    assert!(
        v.iter().any(|v| v.starts_with(
            "sentinel.one_leader_per_epoch at 13.400s on x1, x2: x1 and x2 both started"
        )),
        "{v:?}"
    );
}

#[test]
fn a_leader_without_a_majority_of_votes_is_caught_even_if_it_claims_one() {
    // Only x1 itself voted for x1, though it says it counted three votes.
    let v = run(&with(
        &[
            (8, "  13.145s x2 +vote-for-leader cccc 1"),
            (9, "  13.145s x3 +vote-for-leader cccc 1"),
        ],
        &[],
    ));
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].starts_with("sentinel.leader_majority at 13.197s on x1: x1 led the failover of mymaster in epoch 1 counting 3 of 3 Sentinels (quorum 2), and only 1 voted for it (x1); it needs 2"), "{v:?}");
    let claimed = run(&with(
        &[(
            10,
            "  13.197s x1 ~leader-votes mymaster epoch 1 votes 1/3 quorum 1",
        )],
        &[],
    ));
    assert!(
        claimed[0].contains("counting 1 of 3 Sentinels (quorum 1)"),
        "{claimed:?}"
    );
}

#[test]
fn an_odown_one_opinion_short_of_the_quorum_is_caught() {
    let v = run(&with(
        &[
            (3, "  13.142s x1 ~odown-opinions mymaster []"),
            (4, &format!("  13.142s x1 +odown {MASTER} #quorum 1/2")),
        ],
        &[],
    ));
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].starts_with("sentinel.odown_quorum at 13.142s on x1: x1 declared master mymaster 10.1.0.1 6379 ODOWN with #quorum 1/2"), "{v:?}");
}

#[test]
fn an_odown_counting_a_peer_that_never_had_the_master_down_is_caught() {
    // x2's "down" opinion is counted, but x2 only had the master down ten seconds earlier.
    let v = run(&with(
        &[
            (0, &format!("   2.000s x2 +sdown {MASTER}")),
            (1, &format!("   3.000s x2 -sdown {MASTER}")),
            (3, "  13.142s x1 ~odown-opinions mymaster [bbbb]"),
            (4, &format!("  13.142s x1 +odown {MASTER} #quorum 2/2")),
        ],
        &[],
    ));
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("but only itself and 0 other Sentinels () had it down within 6.000s"),
        "{v:?}"
    );
}

#[test]
fn promoting_a_replica_with_a_smaller_offset_is_caught() {
    let v = run(&with(
        &[(
            12,
            "  13.259s x1 +selected-slave slave 10.1.0.3:6379 10.1.0.3 6379 @ mymaster 10.1.0.1 6379",
        )],
        &[],
    ));
    assert_eq!(v, ["sentinel.promotion_order at 13.259s on x1: x1 selected 10.1.0.3:6379 for promotion, but 10.1.0.2:6379 comes first by priority, offset and run id; candidates: 10.1.0.2:6379 (priority 100, offset 500, run id r2), 10.1.0.3:6379 (priority 100, offset 400, run id r3)"]);
}

#[test]
fn promoting_a_replica_with_priority_zero_is_caught() {
    let v = run(&with(
        &[(
            11,
            "  13.259s x1 ~candidates mymaster 10.1.0.2:6379/0/500/r2 10.1.0.3:6379/100/400/r3",
        )],
        &[],
    ));
    assert!(
        v[0].contains("but 10.1.0.2:6379 has replica-priority 0"),
        "{v:?}"
    );
}

#[test]
fn a_sentinel_that_restarts_without_its_vote_is_caught() {
    let v = run(&with(
        &[],
        &["  15.000s x2 ~state myid bbbb current-epoch 0 leader-epoch mymaster 0"],
    ));
    assert_eq!(v, ["sentinel.epochs_never_go_back at 15.000s on x2: x2 started with current epoch 0 and last vote in epoch 0 after voting in epoch 1 (current epoch was 1)"]);
}

#[test]
fn an_epoch_that_goes_back_is_caught() {
    let v = run(&with(
        &[],
        &["  15.000s x3 +new-epoch 3", "  16.000s x3 +new-epoch 2"],
    ));
    assert_eq!(
        v,
        ["sentinel.epochs_never_go_back at 16.000s on x3: x3 went from epoch 3 to 2"]
    );
    let votes = run(&with(
        &[],
        &[
            "  15.000s x3 +vote-for-leader bbbb 4",
            "  16.000s x3 +vote-for-leader cccc 3",
        ],
    ));
    assert!(
        votes[0].contains("x3 voted in epoch 3 after voting in epoch 4"),
        "{votes:?}"
    );
}

#[test]
fn a_vote_given_while_the_disk_failed_or_before_the_disk_was_replaced_may_be_forgotten() {
    let restart = "  15.000s x2 ~state myid bbbb current-epoch 0 leader-epoch mymaster 0";
    let failing = with(
        &[(
            7,
            "  13.140s harness disk-fail x2 (write: No space left on device)",
        )],
        &[
            "  14.000s harness disk-heal x1,x2 (1 operations had failed)",
            restart,
        ],
    );
    assert_eq!(run(&failing), Vec::<String>::new());
    let replaced = with(
        &[],
        &["  14.000s harness disk-loss x2 (3 files gone)", restart],
    );
    assert_eq!(run(&replaced), Vec::<String>::new());
}

/// x2 had the master down at its old address, then switched to the new one at `switch_s`; x1
/// declares the new address ODOWN at 13.142 s counting x2's (late) reply.
fn odown_after_a_peer_switched_at(switch_s: &str) -> Vec<String> {
    let new_master = "master mymaster 10.1.0.2 6379";
    run(&with(
        &[
            (0, &format!("   2.000s x2 +sdown {MASTER}")),
            (
                1,
                &format!("{switch_s} x2 +switch-master mymaster 10.1.0.1 6379 10.1.0.2 6379"),
            ),
            (3, "  13.142s x1 ~odown-opinions mymaster [bbbb]"),
            (4, &format!("  13.142s x1 +odown {new_master} #quorum 2/2")),
        ],
        &[],
    ))
}

#[test]
fn an_odown_counting_a_late_reply_about_the_masters_old_address_is_redis_behaviour() {
    let v = odown_after_a_peer_switched_at("  10.000s");
    assert!(
        v.iter().all(|v| !v.starts_with("sentinel.odown_quorum")),
        "{v:?}"
    );
}

#[test]
fn an_odown_counting_a_peer_that_switched_long_before_is_caught() {
    let v = odown_after_a_peer_switched_at("   3.000s");
    assert!(
        v.iter().any(|v| v.starts_with("sentinel.odown_quorum")),
        "{v:?}"
    );
}
