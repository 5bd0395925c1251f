//! The timeline picture: a real replication run's page has one lane per node and a band per fault;
//! in headless Chromium the page renders offline, its script runs (it counts what it finds), and
//! the lanes, bands, sentinel markers and failover are in the rendered DOM; a screenshot is taken.
//! Without chromium / chromium-browser / google-chrome the browser test prints a NOTICE and skips,
//! and fails when `REDSIM_REQUIRE_INTEROP=1`.

use redsim_sim::load;
use redsim_sim::run::{run, Report};
use redsim_sim::scenario::Scenario;
use redsim_sim::timeline::{LaneKind, Timeline};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for one Chromium run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `repl-random-faults.toml` with its pinned seed.
fn replication_run() -> (Scenario, Report) {
    let scenario = load(&root().join("scenarios/repl-random-faults.toml")).expect("scenario");
    let report = run(&scenario, scenario.seed);
    (scenario, report)
}

/// The seed documents' failover (`sentinel-failover.toml`) with its pinned seed.
fn sentinel_run() -> (Scenario, Report) {
    let scenario = load(&root().join("scenarios/sentinel-failover.toml")).expect("scenario");
    let report = run(&scenario, scenario.seed);
    (scenario, report)
}

fn write_page(name: &str, scenario: &Scenario, report: &Report) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    Timeline::write(scenario, report, &path).expect("timeline written");
    println!("timeline: {}", path.display());
    path
}

#[test]
fn a_replication_run_with_random_faults_draws_one_lane_per_node_and_a_band_per_fault() {
    let (scenario, report) = replication_run();
    let t = Timeline::build(&scenario, &report);
    let lanes: Vec<(&str, LaneKind)> = t.lanes.iter().map(|l| (&l.node[..], l.kind)).collect();
    use LaneKind::{Client, Server};
    assert_eq!(
        lanes,
        [
            ("s1", Server),
            ("s2", Server),
            ("s3", Server),
            ("s4", Server),
            ("c1", Client),
            ("c3", Client)
        ]
    );
    let bands = |node: &str| -> Vec<&str> {
        let lane = t.lanes.iter().find(|l| l.node == node).expect("lane");
        lane.faults.iter().map(|f| f.class).collect()
    };
    // The pinned seed pauses s1 and crashes it while paused.
    assert_eq!(bands("s1"), ["pause", "crash"]);
    assert_eq!(bands("s2"), ["clock-jump", "kill"]);
    assert_eq!(bands("s3"), ["crash"]);
    assert_eq!(bands("s4"), ["partition"]);
    let s1 = &t.lanes[0];
    assert!(
        s1.states.iter().any(|s| s.class == "down")
            && s1.states.iter().any(|s| s.class == "master"),
        "s1 is drawn as a master, then down"
    );
    let drawn = |f: fn(&redsim_sim::timeline::Lane) -> &Vec<u32>| -> u64 {
        t.lanes.iter().flat_map(f).map(|&n| n as u64).sum()
    };
    assert_eq!(drawn(|l| &l.acked), report.acked_writes);
    assert_eq!(drawn(|l| &l.lost), report.lost_writes);
    assert!(
        report.lost_writes > 0,
        "the pinned seed loses writes in the crash"
    );
    let html = std::fs::read_to_string(write_page("repl-random-faults.html", &scenario, &report))
        .expect("page");
    assert_eq!(html.matches("<g class=\"lane\" data-node=").count(), 6);
    assert_eq!(html.matches("<rect class=\"fault ").count(), 6);
}

/// The browser to use, or `None` (after a NOTICE) when none is installed and interop is optional.
fn browser() -> Option<String> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {b}"))
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        if std::env::var("REDSIM_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("chromium is required (REDSIM_REQUIRE_INTEROP=1) but not installed");
        }
        println!("NOTICE: chromium not installed; skipping the headless browser test");
    }
    found.map(String::from)
}

/// Runs headless `browser` with `args` on `page`; returns its stdout.
fn headless(browser: &str, args: &[&str], page: &Path) -> String {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "chromium-profile-{}",
        page.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let mut child = Command::new(browser)
        .args(["--headless", "--disable-gpu", "--no-sandbox"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(page)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the browser");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the browser") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{browser} {args:?} did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{browser} {args:?} failed: {status}");
    reader.join().expect("reader").expect("browser output")
}

#[test]
fn in_headless_chromium_the_timeline_shows_lanes_fault_bands_sentinel_markers_and_a_failover() {
    let Some(browser) = browser() else {
        return;
    };
    let (scenario, report) = replication_run();
    let page = write_page("browser-repl.html", &scenario, &report);
    let dom = headless(&browser, &["--dump-dom"], &page);
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "the page's script did not run"
    );
    assert!(
        dom.contains("6 lanes, 6 fault bands, 2 markers, 0 failovers"),
        "the script counted something else: {}",
        dom.lines()
            .find(|l| l.contains("id=\"stats\""))
            .unwrap_or("no stats line")
    );
    assert_eq!(dom.matches("<g class=\"lane\" data-node=").count(), 6);
    let shot = page.with_extension("png");
    headless(
        &browser,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,520",
        ],
        &page,
    );
    let size = std::fs::metadata(&shot).map_or(0, |m| m.len());
    assert!(
        size > 10_000,
        "screenshot {} has {size} bytes",
        shot.display()
    );
    println!("screenshot: {}", shot.display());

    let (scenario, report) = sentinel_run();
    let page = write_page("browser-sentinel.html", &scenario, &report);
    let dom = headless(&browser, &["--dump-dom"], &page);
    let stats = dom
        .lines()
        .find(|l| l.contains("id=\"stats\""))
        .unwrap_or("no stats line");
    // s1..s3, x1..x3 and c1; the kill of s1; each Sentinel draws its +switch-master.
    assert!(stats.contains("7 lanes, 1 fault bands,"), "{stats}");
    assert!(stats.contains(", 3 failovers"), "{stats}");
    for x in ["x1", "x2", "x3"] {
        assert!(dom.contains(&format!(
            "<g class=\"lane\" data-node=\"{x}\" data-kind=\"sentinel\""
        )));
    }
    assert!(dom.contains("data-event=\"+odown\""));
    assert!(dom.contains("<g class=\"marker failover\" data-event=\"+switch-master\""));
    assert!(dom.contains("failover of mymaster: s1 -&gt; s2"));
}
