//! Seed sweeps: crash scenarios (RDB save points, AOF `always`, AOF `everysec`) and replication under
//! random faults, over many seeds (`redsim_sim::sweep`: each a fresh simulation on its own thread,
//! spread over the machine's cores), every seed's expectations asserted, with a summary and, for each
//! failing seed, the one-line command that replays it. `SIM_SWEEP_SEEDS=<n>` changes the count.

use redsim_sim::run::Report;
use redsim_sim::sweep::{run_seeds, Event, Seeds};
use redsim_sim::{load, replay_command};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Seeds swept when `SIM_SWEEP_SEEDS` is not set.
const DEFAULT_SEEDS: u64 = 200;

fn scenario_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
        .join(file)
}

/// Seeds of the (longer) Sentinel nemesis and swarm sweeps when `SIM_SWEEP_SEEDS` is not set:
/// about 1.3 s of CPU per seed in the debug test build, so some 3.5 min on 2 cores for both
/// (500 each would be 11 min, too much beside the conformance run in CI; `bench/` runs 10,000).
const SENTINEL_NEMESIS_SEEDS: u64 = 150;

/// Runs `file` with seeds `1..=n`, in parallel; reports come back in seed order.
fn sweep(file: &str) -> Vec<Report> {
    sweep_seeds(file, DEFAULT_SEEDS)
}

/// `sweep` with `default_seeds` unless `SIM_SWEEP_SEEDS` is set.
fn sweep_seeds(file: &str, default_seeds: u64) -> Vec<Report> {
    let path = scenario_path(file);
    let scenario = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let n: u64 = std::env::var("SIM_SWEEP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seeds);
    let seeds = Seeds::parse(&format!("1..={n}"), None).unwrap_or_else(|e| panic!("{e}"));
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let mut reports = Vec::new();
    run_seeds(
        &scenario,
        seeds,
        workers,
        false,
        Duration::from_secs(1),
        |e| {
            if let Event::Finished(o) = e {
                let seed = o.seed;
                reports.push(o.result.unwrap_or_else(|p| panic!("seed {seed}: {p}")));
            }
        },
    );
    reports.sort_by_key(|r| r.seed);
    reports
}

/// Sweeps `file`: prints a summary (seeds, acked, lost, max lost, the oldest lost write's age)
/// and each failing seed's replay command, asserts every seed passed and that the seeds really
/// moved the crash around.
fn sweep_and_judge(file: &str) -> Vec<Report> {
    let wall = Instant::now();
    let reports = sweep(file);
    assert_all_passed(file, &reports, wall);
    let crash_times: std::collections::BTreeSet<String> = reports
        .iter()
        .filter_map(|r| r.trace.lines().find(|l| l.contains("harness crash")))
        .map(|l| l.trim().split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert!(
        crash_times.len() * 10 >= reports.len() * 9,
        "only {} distinct crash times over {} seeds",
        crash_times.len(),
        reports.len()
    );
    reports
}

/// Prints the sweep's summary (seeds, acked, lost, max lost, the oldest lost write's age) and
/// each failing seed's verdict and replay command; asserts that every seed passed.
fn assert_all_passed(file: &str, reports: &[Report], wall: Instant) {
    let acked: u64 = reports.iter().map(|r| r.acked_writes).sum();
    let lost: u64 = reports.iter().map(|r| r.lost_writes).sum();
    let worst = reports
        .iter()
        .max_by_key(|r| (r.lost_writes, std::cmp::Reverse(r.seed)))
        .expect("at least one seed");
    let oldest = reports
        .iter()
        .filter_map(|r| Some((r.max_lost_age_ms?, r.seed)))
        .max_by_key(|&(age, seed)| (age, std::cmp::Reverse(seed)))
        .map_or("no lost write".to_string(), |(age, seed)| {
            format!("oldest lost write acked {age} ms before its crash (seed {seed})")
        });
    let failures: Vec<&Report> = reports.iter().filter(|r| !r.passed()).collect();
    println!(
        "{file}: {} seeds in {:.1}s wall; {acked} acked writes, {lost} lost; max lost {} (seed {}); \
         {oldest}; {} failed",
        reports.len(),
        wall.elapsed().as_secs_f64(),
        worst.lost_writes,
        worst.seed,
        failures.len()
    );
    for r in &failures {
        println!("seed {}: {}", r.seed, r.verdict());
        let shown = Path::new("scenarios").join(file);
        println!(
            "  replay: {}",
            replay_command(&shown, r.seed, Default::default())
        );
    }
    assert!(failures.is_empty(), "{} seeds failed", failures.len());
}

/// Seeds whose reports satisfy `f`.
fn seeds_where(reports: &[Report], f: impl Fn(&Report) -> bool) -> Vec<u64> {
    reports.iter().filter(|r| f(r)).map(|r| r.seed).collect()
}

#[test]
fn rdb_crash_at_random_moments_over_many_seeds_loses_only_writes_after_the_last_save() {
    sweep_and_judge("rdb-save-points-crash.toml");
}

#[test]
fn aof_always_crash_at_random_moments_over_many_seeds_loses_no_acknowledged_write() {
    let reports = sweep_and_judge("aof-always-crash.toml");
    let lossy = seeds_where(&reports, |r| r.lost_writes > 0);
    assert!(lossy.is_empty(), "seeds that lost acked writes: {lossy:?}");
    let torn = seeds_where(&reports, |r| {
        !r.trace.contains("no unsynced appends to tear")
    });
    assert!(
        torn.is_empty(),
        "seeds with unsynced appends at the crash: {torn:?}"
    );
}

#[test]
fn aof_everysec_crash_at_random_moments_over_many_seeds_loses_only_the_last_seconds_writes() {
    let reports = sweep_and_judge("aof-everysec-crash.toml");
    let lossy = seeds_where(&reports, |r| r.lost_writes > 0);
    let cut = seeds_where(&reports, |r| {
        r.logs["s1"]
            .iter()
            .any(|l| l.contains("Truncating the AOF"))
    });
    println!(
        "aof-everysec-crash.toml: {} seeds lost writes; a torn command was cut off on loading in {}",
        lossy.len(),
        cut.len()
    );
    // The window is really exercised: most crashes find unsynced writes, and most tears end
    // inside a command.
    assert!(
        lossy.len() * 2 > reports.len(),
        "only seeds {lossy:?} lost writes"
    );
    assert!(
        cut.len() * 2 > reports.len(),
        "only seeds {cut:?} cut a torn tail"
    );
}

#[test]
fn replication_under_crashes_kills_and_partitions_at_random_moments_converges_over_many_seeds() {
    let file = "repl-random-faults.toml";
    let wall = Instant::now();
    let reports = sweep(file);
    assert_all_passed(file, &reports, wall);
    // The seeds really reorder the faults.
    let orders: std::collections::BTreeSet<Vec<String>> = reports
        .iter()
        .map(|r| {
            r.trace
                .lines()
                .filter_map(|l| l.split_once(" harness ").map(|(_, what)| what))
                .map(|what| what.split(" (").next().unwrap_or_default().to_string())
                .collect()
        })
        .collect();
    println!("{} distinct fault orders", orders.len());
    assert!(
        orders.len() >= (reports.len() / 5).clamp(1, 50),
        "only {} distinct fault orders over {} seeds",
        orders.len(),
        reports.len()
    );
}

#[test]
fn replication_under_a_seeded_nemesis_loses_no_acknowledged_write_and_converges_over_many_seeds() {
    let file = "repl-nemesis.toml";
    let wall = Instant::now();
    let reports = sweep(file);
    let reads: u64 = reports.iter().map(|r| r.replica_reads).sum();
    let stale: u64 = reports.iter().map(|r| r.stale_replica_reads).sum();
    println!("{file}: {stale} of {reads} reads from a replica right after the write were stale");
    // What the nemesis did, by the words of the harness's trace lines.
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &reports {
        for what in r
            .trace
            .lines()
            .filter_map(|l| l.split_once(" harness ").map(|x| x.1))
        {
            let word = match what {
                w if w.contains("as a full sync to it began") => "kill on a full sync",
                w if w.contains("no full sync to it began") => "kill when no full sync began",
                w if w.contains("(one way") => "one-way partition",
                w => w.split(' ').next().unwrap_or_default(),
            };
            *kinds.entry(word.to_string()).or_default() += 1;
        }
    }
    println!("{file}: faults applied over all seeds: {kinds:?}");
    assert_all_passed(file, &reports, wall);
    for kind in [
        "crash",
        "kill",
        "kill on a full sync",
        "pause",
        "partition",
        "one-way partition",
        "latency",
        "clock-jump",
        "disk-fail",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) * 20 >= reports.len().min(20),
            "the nemesis rarely did {kind:?}: {kinds:?}"
        );
    }
}

#[test]
fn sentinel_under_random_kills_partitions_and_pauses_agrees_on_one_master_over_many_seeds() {
    let file = "sentinel-random-faults.toml";
    let wall = Instant::now();
    let reports = sweep(file);
    // Every seed: after heal one master that all Sentinels name with one config epoch, the other
    // servers replicate from it, and no Sentinel voted twice in an epoch (the scenario's checks).
    assert_all_passed(file, &reports, wall);
    assert_most_seeds(file, &reports, "+switch-master", "failed over");
}

#[test]
fn sentinels_under_a_seeded_nemesis_keep_their_promises_and_agree_over_many_seeds() {
    let file = "sentinel-nemesis.toml";
    let reports = sentinel_sweep(file);
    assert_most_seeds(file, &reports, "+elected-leader", "elected a leader");
}

#[test]
fn sentinel_swarm_topologies_keep_their_promises_and_agree_over_many_seeds() {
    // Every seed draws its own topology (1-7 Sentinels, any quorum, 1-4 replicas, ...).
    let reports = sentinel_sweep("sentinel-swarm.toml");
    let topologies: std::collections::BTreeSet<&str> =
        reports.iter().map(|r| r.scenario.as_str()).collect();
    assert_eq!(
        topologies.len(),
        reports.len(),
        "each seed its own topology"
    );
}

/// Sweeps a Sentinel scenario over `SENTINEL_NEMESIS_SEEDS` and asserts every seed passed: the
/// Sentinel promise checks hold throughout, and after the heal one master that all Sentinels
/// name, the other servers replicating from it.
fn sentinel_sweep(file: &str) -> Vec<Report> {
    let wall = Instant::now();
    let reports = sweep_seeds(file, SENTINEL_NEMESIS_SEEDS);
    assert_all_passed(file, &reports, wall);
    reports
}

/// More than half the seeds' traces contain `event` (`what` they did); prints how many.
fn assert_most_seeds(file: &str, reports: &[Report], event: &str, what: &str) {
    let seeds = seeds_where(reports, |r| r.trace.contains(event));
    println!("{file}: {} of {} seeds {what}", seeds.len(), reports.len());
    assert!(
        seeds.len() * 2 > reports.len(),
        "few seeds {what}: {seeds:?}"
    );
}
