//! Stories for the nemesis: a seed alone gives the schedule, faults keep to their lanes and
//! windows, everything is healed when the quiet phase begins, and the schedule written out as a
//! file plays the same.

use super::*;
use crate::scenario::Scenario;

fn scenario(nemesis: &str) -> Result<Scenario, String> {
    Scenario::from_toml(&format!(
        "name = \"t\"\nseed = 1\nduration_s = 60\n\
         [[server]]\nname = \"s1\"\n\
         [[server]]\nname = \"s2\"\nconfig = [\"replicaof s1 6379\"]\n\
         [[server]]\nname = \"s3\"\nconfig = [\"replicaof s1 6379\"]\n\
         [[client]]\nname = \"c1\"\nserver = \"s1\"\nworkload = \"write-read\"\n\
         [nemesis]\n{nemesis}\n"
    ))
}

fn ms(f: &Fault) -> u64 {
    secs_to_ms(f.at_s.expect("explicit time"))
}

fn busy() -> Scenario {
    scenario("faults_per_min = 60\nquiet_s = 10\nmin_s = 0.5\nmax_s = 6").unwrap()
}

#[test]
fn the_seed_alone_gives_the_schedule_and_other_seeds_give_others() {
    let s = busy();
    let n = s.nemesis.clone().unwrap();
    assert_eq!(n.generate(&s, 5), n.generate(&s, 5));
    let distinct: std::collections::BTreeSet<String> = (0..20)
        .map(|seed| format!("{:?}", n.generate(&s, seed)))
        .collect();
    assert_eq!(distinct.len(), 20);
}

#[test]
fn faults_start_after_start_s_and_everything_heals_when_the_quiet_phase_begins() {
    let s = busy();
    for seed in 0..50 {
        let faults = s.nemesis.as_ref().unwrap().generate(&s, seed);
        assert!(
            faults.windows(2).all(|w| ms(&w[0]) <= ms(&w[1])),
            "in time order"
        );
        assert!(
            faults.iter().all(|f| (1000..=50_000).contains(&ms(f))),
            "{faults:?}"
        );
        let last: Vec<(u64, &str)> = faults[faults.len() - 5..]
            .iter()
            .map(|f| (ms(f), f.action.word()))
            .collect();
        let heal_all = ["heal", "latency", "disk-heal", "resume", "restart"].map(|w| (50_000, w));
        assert_eq!(last, heal_all, "seed {seed}");
        let restart_all = faults.last().unwrap();
        assert_eq!(restart_all.nodes, ["s1", "s2", "s3"]);
    }
}

#[test]
fn a_server_never_has_two_process_faults_at_once_and_each_one_ends() {
    use FaultAction as A;
    let s = busy();
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let faults = s.nemesis.as_ref().unwrap().generate(&s, seed);
        for server in ["s1", "s2", "s3"] {
            let mut down = false;
            for f in faults.iter().filter(|f| f.nodes == [server]) {
                match f.action {
                    A::Crash | A::Kill | A::Pause => {
                        assert!(!down, "seed {seed}: {server} struck twice: {faults:?}");
                        down = true;
                        kinds.insert(
                            f.action.word().to_string()
                                + if f.on_full_sync {
                                    " on a full sync"
                                } else {
                                    ""
                                },
                        );
                    }
                    A::Restart | A::Resume => down = false,
                    _ => {}
                }
            }
        }
        for f in faults.iter().filter(|f| f.on_full_sync) {
            assert_ne!(f.nodes, ["s1"], "only replicas get full syncs");
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["crash", "kill", "kill on a full sync", "pause"]
    );
}

#[test]
fn a_weight_of_zero_disables_a_kind() {
    let s = scenario(
        "faults_per_min = 60\nquiet_s = 10\nweights = { crash = 0, kill = 0, \
         kill_in_full_sync = 0, pause = 0, partition = 0, isolate = 0, one_way = 0, flap = 0, \
         clock_jump = 0, disk_fail = 0 }",
    )
    .unwrap();
    let faults = s.nemesis.as_ref().unwrap().generate(&s, 3);
    let words: std::collections::BTreeSet<&str> = faults.iter().map(|f| f.action.word()).collect();
    assert_eq!(
        words.into_iter().collect::<Vec<_>>(),
        ["latency", "restart"]
    );
    let spikes = faults.iter().filter_map(|f| f.latency_ms);
    assert!(spikes.clone().count() > 10);
    assert!(spikes
        .clone()
        .all(|[lo, hi]| lo == hi / 4 && (100..=1000).contains(&hi)));
}

#[test]
fn a_written_out_schedule_plays_the_same_faults_at_the_same_times() {
    let s = busy();
    let fixed = s.materialize(9);
    assert!(fixed.nemesis.is_none());
    let text = fixed.to_toml().unwrap();
    let back = Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.fault_schedule(1), s.fault_schedule(9));
    assert!(
        text.contains("[[fault]]") && !text.contains("[nemesis]"),
        "{text}"
    );
}

#[test]
fn bad_knobs_are_rejected_with_reasons() {
    let cases = [
        (
            "faults_per_min = 0\nquiet_s = 5",
            "nemesis: faults_per_min must be in (0, 600]",
        ),
        (
            "faults_per_min = 6\nquiet_s = 5\nmin_s = 3\nmax_s = 2",
            "nemesis: need 0 < min_s <= max_s, got 3 and 2",
        ),
        (
            "faults_per_min = 6\nquiet_s = 59",
            "nemesis: start_s 1 and quiet_s 59 leave no time for faults in 60s",
        ),
        (
            "faults_per_min = 6\nquiet_s = 5\nnodes = [\"s9\"]",
            "nemesis: nodes names unknown server s9",
        ),
        (
            "faults_per_min = 6\nquiet_s = 5\nweights = { crash = 0, kill = 0, \
             kill_in_full_sync = 0, pause = 0, partition = 0, isolate = 0, one_way = 0, \
             flap = 0, latency = 0, clock_jump = 0, disk_fail = 0 }",
            "nemesis: every weight is 0",
        ),
        (
            "faults_per_min = 6\nquiet_s = 5\nweights = { meteor = 1 }",
            "unknown field `meteor`",
        ),
    ];
    for (knobs, want) in cases {
        let err = scenario(knobs).unwrap_err();
        assert!(err.contains(want), "for {knobs:?}: {err}");
    }
}
