//! Sweep tests: seed ranges and shards, `sim sweep`'s options, the summary table and replay lines,
//! the progress line, and small real sweeps (a one-second scenario).

use super::*;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn a_range_excludes_its_end_unless_written_with_an_equals_sign() {
    let all = |r| Seeds::parse(r, None).unwrap().iter().collect::<Vec<_>>();
    assert_eq!(all("3..7"), [3, 4, 5, 6]);
    assert_eq!(all("3..=7"), [3, 4, 5, 6, 7]);
    assert_eq!(all("0..1"), [0]);
}

#[test]
fn shards_split_a_range_into_disjoint_parts_that_cover_it() {
    let mut seen = Vec::new();
    for k in 1..=3 {
        let shard = Seeds::parse("10..=30", Some(&format!("{k}/3"))).unwrap();
        assert!(shard.iter().all(|s| s % 3 == k - 1), "shard {k}/3");
        seen.extend(shard.iter());
    }
    seen.sort();
    assert_eq!(seen, (10..=30).collect::<Vec<u64>>());
    assert_eq!(
        Seeds::parse("5..6", Some("1/4")).unwrap().count,
        0,
        "a shard may be empty"
    );
    let top = format!("{}..{}", u64::MAX - 1, u64::MAX);
    assert_eq!(Seeds::parse(&top, Some("1/4")).unwrap().count, 0);
    assert_eq!(
        Seeds::parse(&top, None).unwrap().iter().collect::<Vec<_>>(),
        [u64::MAX - 1]
    );
}

#[test]
fn bad_ranges_and_shards_are_errors_with_reasons() {
    for (range, shard, want) in [
        ("7", None, "bad seed range \"7\": use A..B or A..=B"),
        ("a..3", None, "bad seed range \"a..3\": use A..B or A..=B"),
        ("5..5", None, "seed range \"5..5\" is empty"),
        ("1..=18446744073709551615", None, "seed range too large"),
        (
            "1..10",
            Some("0/3"),
            "bad shard \"0/3\": use k/n with 1 <= k <= n (e.g. 2/4)",
        ),
        (
            "1..10",
            Some("4/3"),
            "bad shard \"4/3\": use k/n with 1 <= k <= n (e.g. 2/4)",
        ),
        (
            "1..10",
            Some("x"),
            "bad shard \"x\": use k/n with 1 <= k <= n (e.g. 2/4)",
        ),
    ] {
        assert_eq!(Seeds::parse(range, shard), Err(want.to_string()), "{range}");
    }
}

#[test]
fn sweep_options_are_read_in_any_order_and_bad_ones_rejected() {
    let o = SweepOptions::parse(&words(
        "--shard 2/4 a.toml --seeds 1..101 --jobs 3 --check-determinism --timeline-dir out",
    ))
    .unwrap();
    assert_eq!(o.scenario, PathBuf::from("a.toml"));
    assert_eq!(o.seeds.count, 25);
    assert_eq!((o.seeds.first, o.seeds.step), (1, 4));
    assert_eq!(o.jobs, 3);
    assert!(o.check_determinism);
    assert_eq!(o.timeline_dir, Some(PathBuf::from("out")));
    for (args, want) in [
        ("a.toml", "needs --seeds A..B"),
        ("--seeds 1..3", "needs a scenario file"),
        ("a.toml --seeds", "--seeds needs a value"),
        (
            "a.toml --seeds 1..3 --jobs 0",
            "bad --jobs \"0\": 1 to 1024 threads",
        ),
        (
            "a.toml --seeds 1..3 --jobs 5000",
            "bad --jobs \"5000\": 1 to 1024 threads",
        ),
        ("a.toml --seeds 1..3 --fast", "unknown option --fast"),
        (
            "a.toml b.toml --seeds 1..3",
            "unexpected argument \"b.toml\"",
        ),
    ] {
        assert_eq!(
            SweepOptions::parse(&words(args)),
            Err(want.to_string()),
            "{args}"
        );
    }
}

#[test]
fn the_progress_line_shows_done_rate_failures_and_time_left() {
    assert_eq!(
        progress_line(50, 200, 2, Duration::from_secs(10)),
        "50/200 seeds, 5.0 seeds/s, 2 failures, ETA 30s"
    );
    assert_eq!(
        progress_line(0, 10, 0, Duration::from_secs(1)),
        "0/10 seeds, 0.0 seeds/s, 0 failures, ETA ?"
    );
}

#[test]
fn the_summary_counts_and_lists_one_replay_line_per_failing_seed_in_seed_order() {
    let mut s = Summary {
        seeds: 10,
        passed: 7,
        failed: 2,
        nondeterministic: 1,
        sim_ms: 120_000,
        messages: 600_000,
        failing: Default::default(),
    };
    for (seed, reason, nondeterministic) in [
        (
            9,
            "expected at most 0 lost writes, got 3".to_string(),
            false,
        ),
        (4, "nondeterministic: trace hash 1 then 2".to_string(), true),
        (6, "x".repeat(300), false),
    ] {
        let f = Failing {
            seed,
            reason,
            nondeterministic,
        };
        s.failing.insert(seed, f);
    }
    let text = s.render(Path::new("scenarios/a.toml"), false, Duration::from_secs(2));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "seeds                       10",
            "passed                       7",
            "failed                       2",
            "nondeterministic             1",
            "wall time                 2.0s",
            "simulated time          120.0s",
            "simulated / wall           60x",
            "messages / sim s          5000",
        ]
    );
    assert_eq!(
        lines[8],
        "cargo run --release -p redsim-sim -- replay scenarios/a.toml 4 --check-determinism  \
         # nondeterministic: trace hash 1 then 2"
    );
    assert!(lines[9]
        .starts_with("cargo run --release -p redsim-sim -- replay scenarios/a.toml 6  # xxx"));
    assert!(
        lines[9].ends_with("x…") && lines[9].len() < 220,
        "long reasons are cut"
    );
    assert!(
        lines[10].ends_with("replay scenarios/a.toml 9  # expected at most 0 lost writes, got 3")
    );
    assert_eq!(lines.len(), 11);
}

/// One server, one client, one second.
fn tiny(expect: &str) -> Scenario {
    Scenario::from_toml(&format!(
        "name = \"tiny\"\nseed = 1\nduration_s = 1\n[[server]]\nname = \"s1\"\n\
         [[client]]\nname = \"c1\"\nserver = \"s1\"\nworkload = \"write-read\"\n{expect}"
    ))
    .unwrap()
}

fn sweep_all(scenario: &Scenario, range: &str, check: bool) -> Summary {
    let seeds = Seeds::parse(range, None).unwrap();
    let mut summary = Summary::default();
    let mut seen = Vec::new();
    run_seeds(scenario, seeds, 2, check, Duration::from_millis(50), |e| {
        if let Event::Finished(o) = e {
            seen.push(o.seed);
            summary.add(&o);
        }
    });
    seen.sort();
    assert_eq!(seen, seeds.iter().collect::<Vec<_>>(), "every seed once");
    summary
}

#[test]
fn a_sweep_plays_every_seed_once_and_a_determinism_check_passes_on_a_deterministic_run() {
    let s = sweep_all(&tiny(""), "1..=4", true);
    assert_eq!(
        (s.seeds, s.passed, s.failed, s.nondeterministic),
        (4, 4, 0, 0)
    );
    assert!(s.sim_ms >= 2 * 4 * 1_000, "both runs of each seed count");
}

#[test]
fn a_sweep_counts_seeds_that_miss_their_expectations_as_failures() {
    let s = sweep_all(&tiny("[expect]\nacked_writes_min = 1000000"), "5..8", false);
    assert_eq!((s.seeds, s.passed, s.failed), (3, 0, 3));
    assert_eq!(s.failing.keys().copied().collect::<Vec<_>>(), [5, 6, 7]);
    let reason = &s.failing[&5].reason;
    assert!(reason.starts_with("acked_writes_min at "), "{reason}");
    assert!(
        reason.contains("expected at least 1000000 acked writes, got "),
        "{reason}"
    );
}

#[test]
fn different_fingerprints_make_a_seed_nondeterministic_naming_both_hashes() {
    let o = Outcome {
        seed: 3,
        result: Err("boom".into()),
        fingerprints: Some((0xab, 0xcd)),
    };
    assert_eq!(
        o.verdict(),
        Verdict::Nondeterministic(
            "nondeterministic: trace hash 00000000000000ab then 00000000000000cd".into()
        )
    );
    let same = Outcome {
        fingerprints: Some((1, 1)),
        ..o
    };
    assert_eq!(same.verdict(), Verdict::Fail("panicked: boom".into()));
}

#[test]
fn a_sweep_with_more_failures_than_it_lists_keeps_the_lowest_seeds_and_counts_the_rest() {
    let mut s = Summary::default();
    for seed in (0..MAX_LISTED as u64 + 5).rev() {
        s.add(&Outcome {
            seed,
            result: Err("boom".into()),
            fingerprints: None,
        });
    }
    assert_eq!(s.failed, MAX_LISTED as u64 + 5);
    assert_eq!(s.failing.len(), MAX_LISTED);
    assert_eq!(s.failing.keys().next_back(), Some(&(MAX_LISTED as u64 - 1)));
    let text = s.render(Path::new("a.toml"), false, Duration::from_secs(1));
    assert!(text.contains("replay a.toml 0  # panicked: boom\n"));
    assert!(text.ends_with("… and 5 more failing seeds\n"), "{text}");
}
