//! The conformance runner's judge (`conformance/report.py`) on fixture logs shaped like Redis'
//! suites print them: it counts per unit, and it fails the run for an unlisted failure, a unit that
//! stopped early, or a listed test that passes — so the expectations file can never go stale.

mod support;

use std::path::PathBuf;
use std::process::Command;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Runs the judge on `runs` (KIND:UNIT:fixture) with `expect`'s lines; returns (exit code, stdout).
fn judge(expect: &str, runs: &[&str]) -> (i32, String) {
    let dir = conformance_dir();
    let tmp = support::real_redis::TempDir::new("conformance-report");
    let expect_file = tmp.0.join("expect.txt");
    std::fs::write(&expect_file, expect).unwrap();
    let runs: Vec<String> = runs
        .iter()
        .map(|r| {
            let (head, file) = r.rsplit_once(':').unwrap();
            format!("{head}:{}", dir.join("testdata").join(file).display())
        })
        .collect();
    let out = Command::new("python3")
        .arg(dir.join("report.py"))
        .args(["--target", "redsim", "--expect"])
        .arg(&expect_file)
        .args(&runs)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

const LISTED: &str = "\
redsim | integration/demo | Digest matches after sync | fixture
redsim, reference | sentinel/01-demo | Failover happens | fixture
";

#[test]
fn conformance_report_every_failure_listed_passes_with_per_unit_counts() {
    if !support::have("python3") {
        return;
    }
    let (code, out) = judge(LISTED, &["main:integration/demo:main-done.log"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("integration/demo                                   2       1       1"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "2 passed, 1 failed"), "{out}");
}

#[test]
fn conformance_report_unlisted_failure_and_unfinished_unit_fail_the_run() {
    if !support::have("python3") {
        return;
    }
    let (code, out) = judge(
        LISTED,
        &[
            "main:integration/demo2:main-aborted.log",
            "sentinel:sentinel:sentinel.log",
        ],
    );
    assert_eq!(code, 1, "{out}");
    for line in [
        "  integration/demo2 | (error outside a test)",
        "  integration/demo2 | (unit did not finish)",
        "  sentinel/02-demo | Config is rewritten",
        "  sentinel/02-demo | (unit did not finish)",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in {out}");
    }
    // Sentinel verdicts printed after the test's own output still count as passes.
    assert!(
        out.contains("sentinel/00-demo                                   3       0       0"),
        "{out}"
    );
}

#[test]
fn conformance_report_listed_test_that_passes_fails_the_run() {
    if !support::have("python3") {
        return;
    }
    let expect = format!("{LISTED}redsim | sentinel/00-demo | Kill the master | fixture\n");
    let (code, out) = judge(&expect, &["sentinel:sentinel:sentinel.log"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("listed as failing but passing now (1)"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l == "  sentinel/00-demo | Kill the master"),
        "{out}"
    );
}
