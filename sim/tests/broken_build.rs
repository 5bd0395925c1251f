//! The checks catch a broken Sentinel: with the test-only feature `bug-injection`, `SENTINEL
//! INJECT-BUG vote-twice` lets a Sentinel grant a second vote in an epoch it already voted in.
//! A sweep of a randomized failover scenario finds a seed where that happens within 1000 seeds,
//! `sim shrink` reduces its fault schedule to a scenario file, and the printed command replays
//! the same failure from that file.

#[path = "common/shrink_cli.rs"]
mod shrink_cli;

use redsim_sim::run::{run, Report};
use redsim_sim::scenario::Scenario;
use redsim_sim::sweep::{run_seeds, Event, Seeds};
use std::time::Duration;

/// Three Sentinels that vote twice; the master dies at a random moment and Sentinels are cut
/// off and come back, so that several of them try to get elected in the same epoch.
const BROKEN: &str = r#"
name = "broken build: Sentinels that vote twice in one epoch"
seed = 1
duration_s = 40

[[server]]
name = "s1"
config = ['save ""']

[[server]]
name = "s2"
config = ['save ""', "replicaof s1 6379"]

[[server]]
name = "x"
count = 3
sentinel = true
config = [
  "sentinel monitor mymaster s1 6379 2",
  "sentinel down-after-milliseconds mymaster 1000",
  "sentinel failover-timeout mymaster 3000",
]

[[fault]]
at_s = 1
action = "command"
nodes = ["x1", "x2", "x3"]
args = ["SENTINEL", "INJECT-BUG", "vote-twice"]

[[fault]]
at_s_range = [11, 14]
action = "partition"
nodes = ["x1"]

[[fault]]
at_s_range = [11, 16]
action = "kill"
nodes = ["s1"]

[[fault]]
at_s_range = [17, 20]
action = "heal"

[[fault]]
at_s_range = [22, 26]
action = "restart"
nodes = ["s1"]

[[expect.sentinel]]
master = "mymaster"
servers = ["s1", "s2"]
"#;

/// The first seed in `1..=1000` whose run fails, swept 100 seeds at a time on every core.
fn first_failing_seed(scenario: &Scenario) -> Option<Report> {
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    for start in (1..=1000u64).step_by(100) {
        let seeds = Seeds::parse(&format!("{start}..{}", start + 100), None).expect("seeds");
        let mut failed: Vec<Report> = Vec::new();
        run_seeds(
            scenario,
            seeds,
            workers,
            false,
            Duration::from_secs(5),
            |e| {
                if let Event::Finished(o) = e {
                    if let Ok(r) = o.result {
                        if !r.passed() {
                            failed.push(r);
                        }
                    }
                }
            },
        );
        if let Some(r) = failed.into_iter().min_by_key(|r| r.seed) {
            return Some(r);
        }
    }
    None
}

#[test]
fn a_sentinel_that_votes_twice_is_caught_by_a_sweep_shrunk_and_replayed() {
    let scenario = Scenario::from_toml(BROKEN).expect("scenario");
    let caught =
        first_failing_seed(&scenario).expect("a sweep of 1000 seeds catches the double vote");
    let seed = caught.seed;
    println!("seed {seed}: {}", caught.verdict());
    assert!(
        caught.verdict().contains("voted for"),
        "the failure is the double vote: {}",
        caught.verdict()
    );

    let out = shrink_cli::shrink("broken-vote-twice", BROKEN, seed);
    let shrunk = redsim_sim::load(&out).expect("the shrunk file loads");
    println!("{}", std::fs::read_to_string(&out).unwrap_or_default());
    assert!(shrunk.faults.len() <= scenario.faults.len());
    assert!(
        shrunk
            .faults
            .iter()
            .any(|f| f.args.iter().any(|a| a == "INJECT-BUG")),
        "the bug is what makes it fail, so shrinking keeps it"
    );
    let again = run(&shrunk, seed);
    assert!(
        again.verdict().contains("voted for"),
        "the shrunk file replays the double vote: {}",
        again.verdict()
    );
    let _ = std::fs::remove_file(out);
}
