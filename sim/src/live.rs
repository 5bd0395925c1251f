//! `sim live <scenario.toml>`: the scenario on real processes (`crate::live_run`), once or
//! `--runs N` times, each run's trace (the first) or summary, its verdict from the simulator's
//! checks, and over several runs the spread (median, p90, max) of each figure: time from the
//! first fault to the first `+switch-master`, to the first write acknowledged after the
//! promotion (a writable new master), acknowledged and lost writes.
//!
//! Refused with exit code 2: faults live mode cannot play (`clock-jump`, the disk faults,
//! `on_full_sync`), and partitions or latency without root, `nft` or `tc`.

use crate::live_run::{Binaries, Run};
use crate::run::Report;
use crate::scenario::{FaultAction, Scenario};
use crate::timeline::Timeline;
use crate::trace::parse_line;
use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
usage: sim live <scenario.toml> [--runs N] [--seed N] [--server-bin PATH] [--sentinel-bin PATH]
                [--timeline FILE]
  plays the scenario on real processes on loopback addresses (127.<16k>.0.0/12) with real
  faults: kill/crash = SIGKILL, pause/resume = SIGSTOP/SIGCONT, partition = nftables,
  latency = tc netem (these two need root). Default binaries: redsim-server and redsim-sentinel
  next to this program.";

#[derive(Debug, PartialEq)]
pub struct LiveOptions {
    pub scenario: PathBuf,
    pub runs: usize,
    pub seed: Option<u64>,
    pub bins: Binaries,
    pub timeline: Option<PathBuf>,
}

/// The redsim binaries beside the running program (`target/release/`).
fn default_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(Path::new("."));
    // Test binaries live one level down, in target/<profile>/deps.
    let dir = match dir.file_name().and_then(|n| n.to_str()) {
        Some("deps") => dir.parent().unwrap_or(dir),
        _ => dir,
    };
    dir.join(name)
}

impl LiveOptions {
    pub fn parse(args: &[String]) -> Result<LiveOptions, String> {
        let mut o = LiveOptions {
            scenario: PathBuf::new(),
            runs: 1,
            seed: None,
            bins: Binaries {
                server: default_bin("redsim-server"),
                sentinel: default_bin("redsim-sentinel"),
            },
            timeline: None,
        };
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            let number = |v: &str| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
            match a.as_str() {
                "--runs" => o.runs = number(value()?)?.max(1) as usize,
                "--seed" => o.seed = Some(number(value()?)?),
                "--server-bin" => o.bins.server = PathBuf::from(value()?),
                "--sentinel-bin" => o.bins.sentinel = PathBuf::from(value()?),
                "--timeline" => o.timeline = Some(PathBuf::from(value()?)),
                "--help" | "-h" => return Err(String::new()),
                s if s.starts_with("--") => return Err(format!("unknown option {s}")),
                s => positional.push(s),
            }
        }
        match positional.as_slice() {
            [s] => o.scenario = PathBuf::from(s),
            [] => return Err("needs a scenario file".into()),
            [_, extra, ..] => return Err(format!("unexpected argument {extra:?}")),
        }
        Ok(o)
    }
}

/// Why live mode cannot play `scenario` (materialized), if it cannot.
pub fn refusal(scenario: &Scenario) -> Option<String> {
    let mut nft = false;
    let mut tc = false;
    for f in &scenario.faults {
        let why = match f.action {
            FaultAction::ClockJump => "clock-jump needs libfaketime, which live mode does not use",
            FaultAction::DiskFail | FaultAction::DiskHeal | FaultAction::DiskLoss => {
                "disk faults exist only in the simulator's disk"
            }
            _ if f.on_full_sync => "on_full_sync needs the servers' own trace events",
            FaultAction::Partition | FaultAction::Heal => {
                nft = true;
                continue;
            }
            FaultAction::Latency => {
                tc = true;
                continue;
            }
            _ => continue,
        };
        return Some(format!("{} cannot run live: {why}", f.action.word()));
    }
    let missing = crate::live_net::missing_tools(nft, tc);
    if (nft || tc) && !missing.is_empty() {
        return Some(format!(
            "this scenario's network faults need {}",
            missing.join(", ")
        ));
    }
    None
}

/// Plays one live run (a materialized scenario); `Err` if it could not start. Also returns the
/// slot it ran in (`crate::live_proc`), all of whose processes, rules and files are gone.
pub async fn play(scenario: &Scenario, seed: u64, bins: &Binaries) -> Result<(Report, u8), String> {
    let schedule = scenario.fault_schedule(seed);
    let last_fault_ms = schedule.last().map_or(0, |(ms, _)| *ms);
    let mut run = Run::start(scenario, bins)?;
    run.start_workload(scenario, seed);
    for (ms, f) in schedule {
        run.sleep_until(ms).await;
        run.apply(&f).await;
    }
    run.sleep_until((scenario.duration_s * 1000.0) as u64).await;
    let slot = run.slot();
    Ok((run.finish(scenario, seed, last_fault_ms).await, slot))
}

/// The run's figures: (first fault -> first `+switch-master`, -> first write acknowledged after
/// the first `+promoted-slave`: a writable new master), in ms; `None` where the run has no such
/// moment. The second counts any client's write: in a partition, the old master's on the
/// minority side may answer first.
pub fn failover_times(report: &Report) -> (Option<u64>, Option<u64>) {
    let events: Vec<(u64, &str, &str)> = report.trace.lines().filter_map(parse_line).collect();
    let fault = events
        .iter()
        .find(|(_, who, e)| *who == "harness" && !e.starts_with("command"))
        .map(|e| e.0);
    let Some(fault) = fault else {
        return (None, None);
    };
    let switch = events
        .iter()
        .find(|(t, _, e)| *t >= fault && e.starts_with("+switch-master"))
        .map(|e| e.0);
    let promoted = events
        .iter()
        .find(|(t, _, e)| *t >= fault && e.starts_with("+promoted-slave"))
        .map(|e| e.0);
    let writable = promoted.and_then(|p| {
        let replies = report.acks.values().flatten().map(|a| a.0);
        replies.filter(|at| *at >= p).min()
    });
    (switch.map(|s| s - fault), writable.map(|w| w - fault))
}

/// Median, p90 and max of `values` (nearest rank), as text.
pub fn spread(values: &[u64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!(
        "median {} / p90 {} / max {}",
        rank(0.5),
        rank(0.9),
        v[v.len() - 1]
    )
}

/// `sim live ...`; the exit code (0 all runs passed, 1 a run failed, 2 could not run).
pub fn cli(args: &[String]) -> i32 {
    let o = match LiveOptions::parse(args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("sim live: {e}\n{USAGE}");
            return 2;
        }
    };
    let scenario = match crate::load(&o.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let seed = o
        .seed
        .unwrap_or_else(|| crate::seed_from_env(scenario.seed));
    let scenario = scenario.materialize(seed);
    if let Some(why) = refusal(&scenario) {
        eprintln!("sim live: {why}");
        return 2;
    }
    for bin in [&o.bins.server, &o.bins.sentinel] {
        if !bin.is_file() {
            eprintln!(
                "sim live: {} not found (build it or give --server-bin/--sentinel-bin)",
                bin.display()
            );
            return 2;
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sim live: no runtime: {e}");
            return 2;
        }
    };
    println!("seed: {seed}");
    println!("scenario: {}", scenario.name);
    println!(
        "binaries: {} / {}",
        o.bins.server.display(),
        o.bins.sentinel.display()
    );
    if scenario
        .faults
        .iter()
        .any(|f| f.action == FaultAction::Crash)
    {
        println!("note: a live crash is SIGKILL: unsynced page-cache data survives it (the simulator's crash loses it)");
    }
    rt.block_on(runs(&o, &scenario, seed))
}

async fn runs(o: &LiveOptions, scenario: &Scenario, seed: u64) -> i32 {
    let (mut code, mut switches, mut writable, mut acked, mut lost) =
        (0, Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 1..=o.runs {
        let report = tokio::select! {
            biased;
            _ = interrupted() => {
                eprintln!("sim live: interrupted; processes, rules and files removed");
                return 130;
            }
            r = play(scenario, seed, &o.bins) => r,
        };
        let report = match report {
            Ok((r, _)) => r,
            Err(e) => {
                eprintln!("sim live: {e}");
                return 2;
            }
        };
        if i == 1 {
            print!("{}", report.trace);
            if let Some(path) = &o.timeline {
                match Timeline::write(scenario, &report, path) {
                    Ok(()) => println!("timeline: {}", path.display()),
                    Err(e) => eprintln!("timeline not written: {e}"),
                }
            }
        }
        let (s, w) = failover_times(&report);
        switches.extend(s);
        writable.extend(w);
        acked.push(report.acked_writes);
        lost.push(report.lost_writes);
        let ms = |t: Option<u64>| t.map_or("-".to_string(), |t| format!("{t} ms"));
        println!(
            "run {i}: {} acked writes, {} lost, {} failed; fault -> +switch-master {}, -> writable new master {}; verdict: {}",
            report.acked_writes,
            report.lost_writes,
            report.failed_writes,
            ms(s),
            ms(w),
            report.verdict()
        );
        if !report.passed() {
            code = 1;
            for (node, lines) in &report.logs {
                for l in &lines[lines.len().saturating_sub(5)..] {
                    println!("  [{node}] {l}");
                }
            }
        }
    }
    if o.runs > 1 {
        println!("fault -> +switch-master (ms): {}", spread(&switches));
        println!("fault -> writable new master (ms): {}", spread(&writable));
        println!("acked writes: {}", spread(&acked));
        println!("lost writes: {}", spread(&lost));
    }
    code
}

/// Completes on SIGINT or SIGTERM.
async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        biased;
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
