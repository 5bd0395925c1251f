//! Every scenario in `scenarios/` runs with its pinned seed; its trace is snapshotted into
//! `snapshots/`. `SIM_SEED=<n>` replays any seed (snapshots are compared only for pinned seeds).

mod common;

use common::{check, root};
use redsim_sim::load;
use redsim_sim::run::run;

#[test]
fn single_server_crash_and_restart_without_persistence_loses_earlier_writes() {
    check(
        "single-server-crash-restart.toml",
        "single_server_crash_and_restart_without_persistence_loses_earlier_writes",
    );
}

#[test]
fn scale_fifty_servers_with_clients_for_sixty_seconds() {
    let r = check(
        "fifty-servers.toml",
        "scale_fifty_servers_with_clients_for_sixty_seconds",
    );
    assert_eq!(r.nodes, 100);
}

#[test]
fn rdb_save_points_power_loss_at_a_random_moment_loses_only_writes_after_the_last_save() {
    check(
        "rdb-save-points-crash.toml",
        "rdb_save_points_power_loss_at_a_random_moment_loses_only_writes_after_the_last_save",
    );
}

#[test]
fn bgsave_disk_failure_refuses_writes_with_misconf_until_a_save_succeeds() {
    let r = check(
        "bgsave-disk-failure.toml",
        "bgsave_disk_failure_refuses_writes_with_misconf_until_a_save_succeeds",
    );
    assert_eq!(
        r.trace.matches("c1 -err MISCONF").count(),
        2,
        "one error line per refusal episode, not one per refused write"
    );
}

#[test]
fn aof_always_power_loss_at_a_random_moment_loses_no_acknowledged_write() {
    let r = check(
        "aof-always-crash.toml",
        "aof_always_power_loss_at_a_random_moment_loses_no_acknowledged_write",
    );
    assert!(
        r.trace.contains("no unsynced appends to tear"),
        "{}",
        r.trace
    );
}

#[test]
fn aof_everysec_power_loss_mid_write_back_loses_only_the_last_second_of_writes() {
    let r = check(
        "aof-everysec-crash.toml",
        "aof_everysec_power_loss_mid_write_back_loses_only_the_last_second_of_writes",
    );
    assert!(r.lost_writes > 0, "the pinned seed shows the window");
    assert!(
        r.logs["s1"]
            .iter()
            .any(|l| l.contains("Truncating the AOF")),
        "the pinned seed tears a command that loading cuts off"
    );
}

#[test]
fn aof_rewrite_while_the_disk_fails_writes_is_rolled_back_and_writes_resume_after_the_heal() {
    check(
        "aof-rewrite-disk-failure.toml",
        "aof_rewrite_while_the_disk_fails_writes_is_rolled_back_and_writes_resume_after_the_heal",
    );
}

#[test]
fn every_scenario_file_has_a_test() {
    let listed = [
        include_str!("scenarios.rs"),
        include_str!("sentinel_scenarios.rs"),
    ]
    .concat();
    for entry in std::fs::read_dir(root().join("scenarios")).expect("scenarios dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            listed.contains(&format!("\"{name}\"")),
            "scenario {name} is not run by any test"
        );
    }
}

#[test]
fn same_seed_gives_identical_traces_and_other_seeds_differ() {
    let scenario =
        load(&root().join("scenarios/single-server-crash-restart.toml")).expect("scenario");
    let a = run(&scenario, 1234);
    let b = run(&scenario, 1234);
    assert_eq!(a.trace, b.trace, "seed 1234 replayed differently");
    let digests: std::collections::BTreeSet<u64> = (1..=5)
        .map(|seed| redsim_sim::trace::digest(&run(&scenario, seed).trace))
        .collect();
    println!("trace digests for seeds 1..=5: {digests:x?}");
    assert!(digests.len() > 1, "five seeds all produced the same trace");
}

#[test]
fn replication_one_master_two_replicas_writes_are_visible_on_the_replicas() {
    let r = check(
        "repl-master-two-replicas.toml",
        "replication_one_master_two_replicas_writes_are_visible_on_the_replicas",
    );
    assert!(
        r.trace.contains("check c2@s2: 0 acked writes"),
        "the replica took no write"
    );
}

#[test]
fn replication_master_killed_replicas_keep_their_data_then_resync_after_its_restart() {
    check(
        "repl-master-restart.toml",
        "replication_master_killed_replicas_keep_their_data_then_resync_after_its_restart",
    );
}

#[test]
fn replication_a_replica_restarted_without_replicaof_is_a_master_with_its_data_then_rejoins() {
    check(
        "repl-replica-restart-as-master.toml",
        "replication_a_replica_restarted_without_replicaof_is_a_master_with_its_data_then_rejoins",
    );
}

#[test]
fn replication_cascade_proxies_the_stream_and_resumes_partially_after_a_partition() {
    check(
        "repl-cascade.toml",
        "replication_cascade_proxies_the_stream_and_resumes_partially_after_a_partition",
    );
}

#[test]
fn replication_replicaof_no_one_and_the_other_replica_follows_it_with_a_partial_resync() {
    check(
        "repl-promote-replica.toml",
        "replication_replicaof_no_one_and_the_other_replica_follows_it_with_a_partial_resync",
    );
}

#[test]
fn replication_failover_hands_the_master_role_to_the_caught_up_replica_without_losing_a_write() {
    check(
        "repl-coordinated-failover.toml",
        "replication_failover_hands_the_master_role_to_the_caught_up_replica_without_losing_a_write",
    );
}

#[test]
fn replication_a_wrong_masterauth_keeps_retrying_and_never_syncs() {
    let r = check(
        "repl-wrong-masterauth.toml",
        "replication_a_wrong_masterauth_keeps_retrying_and_never_syncs",
    );
    assert!(
        !r.trace.contains("s2 sync"),
        "s2 synced with a wrong password"
    );
    let refusals = r.logs["s2"]
        .iter()
        .filter(|l| l.contains("Unable to AUTH to MASTER"))
        .count();
    assert!(refusals >= 5, "only {refusals} attempts to AUTH");
}

#[test]
fn replication_short_partition_of_a_replica_ends_with_a_partial_resync() {
    check(
        "repl-partition-partial.toml",
        "replication_short_partition_of_a_replica_ends_with_a_partial_resync",
    );
}

#[test]
fn replication_long_partition_beyond_a_small_backlog_ends_with_a_full_resync() {
    let r = check(
        "repl-partition-full.toml",
        "replication_long_partition_beyond_a_small_backlog_ends_with_a_full_resync",
    );
    assert!(
        r.logs["s1"]
            .iter()
            .any(|l| l.contains("for lack of backlog")),
        "the full resync was not for lack of backlog"
    );
}

#[test]
fn replication_eight_replicas_reconnect_at_once_after_a_master_restart() {
    let r = check(
        "repl-many-replicas.toml",
        "replication_eight_replicas_reconnect_at_once_after_a_master_restart",
    );
    assert_eq!(
        r.trace.matches(" sync full").count(),
        16,
        "two full syncs per replica"
    );
}

#[test]
fn replication_random_faults_with_the_pinned_seed_replay_identically() {
    let file = "repl-random-faults.toml";
    let r = check(
        file,
        "replication_random_faults_with_the_pinned_seed_replay_identically",
    );
    let scenario = load(&root().join("scenarios").join(file)).expect("scenario");
    assert_eq!(
        run(&scenario, r.seed).trace,
        r.trace,
        "the harness's polling changed the replay"
    );
}

#[test]
fn replication_under_a_nemesis_with_the_pinned_seed_kills_a_replica_in_its_full_sync_and_converges()
{
    let r = check(
        "repl-nemesis.toml",
        "replication_under_a_nemesis_with_the_pinned_seed_kills_a_replica_in_its_full_sync_and_converges",
    );
    for fault in [
        "as a full sync to it began",
        "harness crash s1",
        "harness disk-fail",
        "(one way: what they send)",
    ] {
        assert!(r.trace.contains(fault), "the pinned seed has no {fault:?}");
    }
    assert!(
        r.replica_reads > 0 && r.stale_replica_reads > 0,
        "reads from s2 right after a write are sometimes stale"
    );
}
