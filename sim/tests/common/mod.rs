//! What the scenario test files share: where the repository is, and running one scenario file
//! with its pinned seed, asserting its expectations and snapshotting its trace.

use redsim_sim::run::{run, Report};
use redsim_sim::{load, seed_from_env};
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a scenario file, asserts its expectations and snapshots its trace.
pub fn check(file: &str, test_name: &str) -> Report {
    let path = root().join("scenarios").join(file);
    let scenario = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let seed = seed_from_env(scenario.seed);
    println!("seed: {seed}");
    let report = run(&scenario, seed);
    println!("{}", report.trace);
    println!("{}: {}", scenario.name, report.summary());
    assert!(
        report.passed(),
        "{}\n{:#?}\nreplay: SIM_SEED={seed} cargo test -p redsim-sim --test {} -- {test_name} --exact",
        report.verdict(),
        report.logs,
        env!("CARGO_CRATE_NAME"),
    );
    if seed == scenario.seed {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(scenario.name.clone());
        settings.set_omit_expression(true);
        let stem = file.trim_end_matches(".toml").to_string();
        settings.bind(|| insta::assert_snapshot!(stem, report.trace));
    }
    report
}
