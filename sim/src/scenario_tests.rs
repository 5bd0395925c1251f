//! Stories for scenario files: fault times drawn from the seed, validation with reasons.

use super::*;
use crate::disk::FailOp;

fn with_fault(fault: &str) -> Result<Scenario, String> {
    Scenario::from_toml(&format!(
        "name = \"t\"\nseed = 1\nduration_s = 10\n[[server]]\nname = \"s1\"\n[[fault]]\n{fault}\n"
    ))
}

#[test]
fn a_range_time_is_drawn_from_the_seed_within_the_range_and_replays() {
    let s = with_fault("at_s_range = [2, 7]\naction = \"crash\"\nnodes = [\"s1\"]").unwrap();
    let times: Vec<u64> = (0..50).map(|seed| s.fault_schedule(seed)[0].0).collect();
    assert!(times.iter().all(|t| (2000..=7000).contains(t)), "{times:?}");
    assert!(
        times
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 40
    );
    assert_eq!(s.fault_schedule(17)[0].0, s.fault_schedule(17)[0].0);
}

#[test]
fn the_schedule_is_in_time_order() {
    let s = Scenario::from_toml(
        "name = \"t\"\nseed = 1\nduration_s = 10\n[[server]]\nname = \"s1\"\n\
         [[fault]]\nat_s = 9\naction = \"restart\"\nnodes = [\"s1\"]\n\
         [[fault]]\nat_s_range = [1, 8]\naction = \"crash\"\nnodes = [\"s1\"]\n",
    )
    .unwrap();
    let order: Vec<&str> = s
        .fault_schedule(3)
        .iter()
        .map(|(_, f)| f.action.word())
        .collect();
    assert_eq!(order, ["crash", "restart"]);
}

#[test]
fn bad_fault_times_and_options_are_rejected_with_reasons() {
    let cases = [
        (
            "at_s_range = [7, 2]\naction = \"crash\"",
            "fault 1 (crash): at_s_range [7, 2] is empty",
        ),
        (
            "at_s_range = [5, 20]\naction = \"crash\"",
            "fault 1 (crash) at [5, 20]s is outside the run (0..10s)",
        ),
        (
            "at_s_range = [-1, 2]\naction = \"crash\"",
            "fault 1 (crash) at [-1, 2]s is outside the run (0..10s)",
        ),
        (
            "at_s = 11\naction = \"kill\"",
            "fault 1 (kill) at 11s is outside the run (0..10s)",
        ),
        (
            "at_s = 1\nat_s_range = [1, 2]\naction = \"crash\"",
            "fault 1 (crash): give at_s or at_s_range, not both",
        ),
        (
            "action = \"crash\"",
            "fault 1 (crash): needs at_s or at_s_range",
        ),
        (
            "at_s = 1\naction = \"kill\"\ntorn = true",
            "fault 1 (kill): `torn` does not apply to this action",
        ),
        (
            "at_s = 1\naction = \"crash\"\nfail = [\"write\"]",
            "fault 1 (crash): `fail` does not apply to this action",
        ),
        (
            "at_s = 1\naction = \"disk-heal\"\nerror = \"io\"",
            "fault 1 (disk-heal): `error` does not apply to this action",
        ),
        (
            "at_s = 1\naction = \"crash\"\nnodes = [\"s9\"]",
            "fault 1 (crash) names unknown node s9",
        ),
    ];
    for (fault, want) in cases {
        assert_eq!(with_fault(fault).unwrap_err(), want, "for {fault:?}");
    }
}

#[test]
fn disk_fail_defaults_to_failing_writes_and_fsyncs_with_eio() {
    let s = with_fault("at_s = 1\naction = \"disk-fail\"\nnodes = [\"s1\"]").unwrap();
    assert_eq!(s.faults[0].fail_ops(), [FailOp::Write, FailOp::Fsync]);
    assert_eq!(s.faults[0].disk_error().message(), "Input/output error");
}
