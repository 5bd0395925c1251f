//! Shrinking a failure end to end: a scenario whose expectation is too strict on purpose (no
//! acknowledged write may be lost although `appendfsync everysec` loses the last second in a
//! power loss) fails for some seed of its nemesis; `sim shrink` reduces the schedule, writes a
//! file with fewer faults and prints its replay command, and that file still fails the same check.

#[path = "common/shrink_cli.rs"]
mod shrink_cli;

use redsim_sim::run::run;
use redsim_sim::scenario::Scenario;

const TOO_STRICT: &str = r#"
name = "too strict: everysec under a nemesis, yet no acknowledged write may be lost"
seed = 1
duration_s = 20

[[server]]
name = "s1"
config = ["appendonly yes", "appendfsync everysec", 'save ""']

[[client]]
name = "c1"
server = "s1"
workload = "write-read"
interval_ms = 50

[nemesis]
faults_per_min = 40
max_s = 3
quiet_s = 4

[expect]
lost_writes_max = 0
"#;

#[test]
fn a_failing_seed_shrinks_to_fewer_faults_that_still_fail_and_replay_from_the_written_file() {
    let scenario = Scenario::from_toml(TOO_STRICT).expect("scenario");
    let seed = (1..=30)
        .find(|&seed| {
            let r = run(&scenario, seed);
            r.failed_checks().contains(&"lost_writes_max")
                && scenario.materialize(seed).faults.len() >= 6
        })
        .expect("some seed loses a write with enough faults to shrink");
    let before = scenario.materialize(seed).faults.len();
    let out = shrink_cli::shrink("too-strict", TOO_STRICT, seed);

    let text = std::fs::read_to_string(&out).expect("shrunk file");
    println!("{text}");
    assert!(
        text.contains("still fails the check `lost_writes_max`"),
        "{text}"
    );
    let shrunk = redsim_sim::load(&out).expect("the shrunk file loads");
    assert!(shrunk.nemesis.is_none(), "the schedule is explicit");
    assert_eq!(shrunk.seed, seed, "`sim run <file>` alone replays it too");
    assert!(
        shrunk.faults.len() < before,
        "{} faults, {before} before",
        shrunk.faults.len()
    );
    assert!(shrunk.duration_s <= scenario.duration_s);
    let again = run(&shrunk, seed);
    assert!(
        again.failed_checks().contains(&"lost_writes_max"),
        "the shrunk file passes: {}",
        again.verdict()
    );
    assert!(
        !again.verdict().contains("unreadable"),
        "the same failure, not a server left dead: {}",
        again.verdict()
    );
    // Nothing left can go: without any one of its windows the run passes that check.
    for window in redsim_sim::shrink::windows(&shrunk.faults) {
        let mut less = shrunk.clone();
        less.faults = (less.faults.into_iter().enumerate())
            .filter(|(i, _)| !window.contains(i))
            .map(|(_, f)| f)
            .collect();
        let r = run(&less, seed);
        assert!(
            !r.failed_checks().contains(&"lost_writes_max"),
            "faults {window:?} of the shrunk file were not needed"
        );
    }
    let _ = std::fs::remove_file(out);
}

#[test]
fn shrinking_a_passing_seed_says_so() {
    let scenario = Scenario::from_toml(&TOO_STRICT.replace("lost_writes_max = 0", "")).unwrap();
    let err = redsim_sim::shrink::shrink(&scenario, 3, 10, &mut |_| {}).err();
    assert_eq!(err.as_deref(), Some("seed 3 passes: nothing to shrink"));
}
