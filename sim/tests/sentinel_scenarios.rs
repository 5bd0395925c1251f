//! Sentinel scenarios (`scenarios/sentinel-*.toml`) with their pinned seeds, traces snapshotted
//! into `snapshots/`: failover, agreement, the returning old master, config rewrites, TILT,
//! partitions with and without `min-replicas-to-write`. `SIM_SEED=<n>` replays any seed.

mod common;

use common::check;
use redsim_sim::run::Report;

/// Simulated seconds of a trace line (`  12.345s x1 ...`).
fn at_s(line: &str) -> f64 {
    line.trim()
        .split('s')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN)
}

fn lines_with<'a>(r: &'a Report, what: &str) -> Vec<&'a str> {
    r.trace.lines().filter(|l| l.contains(what)).collect()
}

#[test]
fn failover_master_killed_quorum_2_of_3_old_master_returns_as_replica_and_configs_are_rewritten() {
    let r = check(
        "sentinel-failover.toml",
        "failover_master_killed_quorum_2_of_3_old_master_returns_as_replica_and_configs_are_rewritten",
    );
    // The client found the new master through the Sentinels and kept writing.
    let kill = at_s(lines_with(&r, "harness kill s1")[0]);
    let relinked = lines_with(&r, "c1 +link")
        .into_iter()
        .map(at_s)
        .find(|t| *t > kill)
        .expect("the client reconnects after the kill");
    println!("client unavailable for {:.3}s", relinked - kill);
    assert!(
        relinked - kill < 5.0,
        "unavailable for {}s",
        relinked - kill
    );
    // Every Sentinel rewrote its config: the new master, the old one as a replica, its peers and
    // the epoch of the failover.
    assert_eq!(r.sentinel_configs.len(), 3);
    for (name, conf) in &r.sentinel_configs {
        println!("--- {name}\n{conf}");
        for line in [
            "sentinel monitor mymaster 10.1.0.2 6379 2",
            "sentinel down-after-milliseconds mymaster 1000",
            "sentinel config-epoch mymaster 1",
            "sentinel known-replica mymaster 10.1.0.1 6379",
            "sentinel known-replica mymaster 10.1.0.3 6379",
            "sentinel current-epoch 1",
            "sentinel myid ",
        ] {
            assert!(conf.contains(line), "{name} lacks {line:?}");
        }
        assert_eq!(
            conf.matches("sentinel known-sentinel mymaster").count(),
            2,
            "{name}"
        );
        assert!(
            !conf.contains("10.1.0.1 6379 2"),
            "{name} still monitors the old master"
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
        .bind(|| insta::assert_snapshot!("sentinel-failover-x1-config", r.sentinel_configs["x1"]));
}

#[test]
fn failover_a_single_sentinel_with_quorum_1() {
    check(
        "sentinel-quorum-one.toml",
        "failover_a_single_sentinel_with_quorum_1",
    );
}

#[test]
fn failover_the_leader_crashes_after_its_election_and_another_sentinel_completes_it() {
    let r = check(
        "sentinel-leader-crash.toml",
        "failover_the_leader_crashes_after_its_election_and_another_sentinel_completes_it",
    );
    let elections = lines_with(&r, "+elected-leader");
    assert!(elections.len() >= 2, "{elections:?}");
}

#[test]
fn manual_sentinel_failover_of_a_healthy_master() {
    check(
        "sentinel-manual-failover.toml",
        "manual_sentinel_failover_of_a_healthy_master",
    );
}

#[test]
fn tilt_after_a_clock_jump_no_sentinel_acts_until_tilt_ends() {
    let r = check(
        "sentinel-tilt.toml",
        "tilt_after_a_clock_jump_no_sentinel_acts_until_tilt_ends",
    );
    for x in ["x1", "x2", "x3"] {
        let exited = at_s(lines_with(&r, &format!("{x} -tilt"))[0]);
        for line in lines_with(&r, &format!("{x} +sdown")) {
            assert!(at_s(line) >= exited, "{x} acted during TILT: {line}");
        }
    }
}

#[test]
fn replica_priority_0_is_never_promoted() {
    check(
        "sentinel-priority-zero.toml",
        "replica_priority_0_is_never_promoted",
    );
}

#[test]
fn two_masters_watched_by_the_same_sentinels_fail_over_independently() {
    check(
        "sentinel-two-masters.toml",
        "two_masters_watched_by_the_same_sentinels_fail_over_independently",
    );
}

#[test]
fn jepsen_minority_partition_loses_acked_writes_and_min_replicas_to_write_shrinks_the_loss() {
    let open = check(
        "sentinel-partition-jepsen.toml",
        "jepsen_minority_partition_loses_acked_writes_and_min_replicas_to_write_shrinks_the_loss",
    );
    let guarded = check(
        "sentinel-partition-min-replicas.toml",
        "jepsen_minority_partition_loses_acked_writes_and_min_replicas_to_write_shrinks_the_loss",
    );
    let share = |r: &Report| r.lost_writes as f64 / r.acked_writes.max(1) as f64;
    println!(
        "acknowledged writes lost: {} of {} ({:.0}%) without, {} of {} ({:.0}%) with min-replicas-to-write 1",
        open.lost_writes,
        open.acked_writes,
        share(&open) * 100.0,
        guarded.lost_writes,
        guarded.acked_writes,
        share(&guarded) * 100.0
    );
    assert!(guarded.lost_writes * 4 < open.lost_writes);
    assert!(lines_with(&guarded, "c1 -err NOREPLICAS").len() == 1);
}

#[test]
fn random_kills_partitions_and_pauses_with_the_pinned_seed_end_with_one_agreed_master() {
    check(
        "sentinel-random-faults.toml",
        "random_kills_partitions_and_pauses_with_the_pinned_seed_end_with_one_agreed_master",
    );
}

#[test]
fn sentinels_under_the_nemesis_with_the_pinned_seed_keep_their_promises() {
    check(
        "sentinel-nemesis.toml",
        "sentinels_under_the_nemesis_with_the_pinned_seed_keep_their_promises",
    );
}

#[test]
fn a_swarm_topology_drawn_from_the_pinned_seed_keeps_the_promises_and_agrees() {
    let r = check(
        "sentinel-swarm.toml",
        "a_swarm_topology_drawn_from_the_pinned_seed_keeps_the_promises_and_agrees",
    );
    // The pinned seed draws four Sentinels with quorum 3 and three replicas.
    let monitors = r
        .trace
        .lines()
        .filter(|l| l.contains("+monitor master mymaster"));
    assert_eq!(monitors.count(), 4);
    assert!(r.trace.contains("quorum 3") && r.trace.contains("s4 ready"));
}

#[test]
fn scale_305_nodes_100_groups_five_sentinels_ten_failovers() {
    let r = check(
        "sentinel-three-hundred-nodes.toml",
        "scale_305_nodes_100_groups_five_sentinels_ten_failovers",
    );
    assert_eq!(r.nodes, 305);
    println!("{}", r.summary());
}
