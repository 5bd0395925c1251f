//! Seed sweeps: every seed of a range, or one shard of it, played by worker threads (each seed on a
//! fresh simulation thread, as madsim needs), optionally twice to check determinism; the `sim
//! sweep` command around it: its options, the progress line and the summary table with one
//! replay command per failing seed.

use crate::run::{run, Report};
use crate::scenario::Scenario;
use crate::trace::digest;
use crate::{replay_command, ReplayFlags};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Failing seeds listed in the summary at most (all are counted).
const MAX_LISTED: usize = 1_000;
/// Worker threads at most.
const MAX_JOBS: usize = 1_024;
/// Characters of a failure's reason shown on its replay line.
const REASON_CHARS: usize = 120;
/// How often the progress line is redrawn on a terminal, and printed otherwise.
const REDRAW_TTY: Duration = Duration::from_millis(250);
const REDRAW_LOG: Duration = Duration::from_secs(5);

/// Seeds `first, first + step, …` (`count` of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub first: u64,
    pub step: u64,
    pub count: u64,
}

impl Seeds {
    /// Seeds `a..b` (`b` excluded) or `a..=b`; with a shard `k/n`, only those with
    /// `seed % n == k - 1`.
    pub fn parse(range: &str, shard: Option<&str>) -> Result<Seeds, String> {
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("bad seed range {range:?}: use A..B or A..=B"))
        };
        let (start, end) = match range.split_once("..") {
            Some((a, b)) => match b.strip_prefix('=') {
                Some(b) => (
                    num(a)?,
                    num(b)?.checked_add(1).ok_or("seed range too large")?,
                ),
                None => (num(a)?, num(b)?),
            },
            None => return Err(format!("bad seed range {range:?}: use A..B or A..=B")),
        };
        if start >= end {
            return Err(format!("seed range {range:?} is empty"));
        }
        let (k, n) = match shard {
            None => (1, 1),
            Some(s) => parse_shard(s)?,
        };
        // The first seed at or after `start` that is `k - 1` modulo `n`.
        let first = start.checked_add((k - 1 + n - start % n) % n);
        let (first, count) = match first {
            Some(first) if first < end => (first, (end - 1 - first) / n + 1),
            _ => (start, 0),
        };
        Ok(Seeds {
            first,
            step: n,
            count,
        })
    }

    pub fn nth(&self, i: u64) -> u64 {
        self.first + i * self.step
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.count).map(|i| self.nth(i))
    }
}

/// `k/n` with `1 <= k <= n`.
fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("bad shard {s:?}: use k/n with 1 <= k <= n (e.g. 2/4)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// What one seed gave.
pub struct Outcome {
    pub seed: u64,
    /// The report, or the panic that ended the simulation.
    pub result: Result<Report, String>,
    /// With a determinism check: the fingerprints of both runs.
    pub fingerprints: Option<(u64, u64)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Nondeterministic(String),
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        match (&self.fingerprints, &self.result) {
            (Some((a, b)), _) if a != b => Verdict::Nondeterministic(format!(
                "nondeterministic: trace hash {a:016x} then {b:016x}"
            )),
            (_, Err(panic)) => Verdict::Fail(format!("panicked: {panic}")),
            (_, Ok(r)) if !r.passed() => {
                Verdict::Fail(r.verdict().trim_start_matches("FAIL: ").to_string())
            }
            _ => Verdict::Pass,
        }
    }
}

/// The trace's digest, or the panic message's: equal for runs that behaved the same.
pub fn fingerprint(result: &Result<Report, String>) -> u64 {
    match result {
        Ok(r) => digest(&r.trace),
        Err(panic) => digest(&format!("panic: {panic}")),
    }
}

/// Plays `seed`, catching a panic; twice when `check_determinism`.
pub fn play(scenario: &Scenario, seed: u64, check_determinism: bool) -> Outcome {
    let once = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(scenario, seed))).map_err(
            |p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            },
        )
    };
    let result = once();
    let fingerprints = check_determinism.then(|| (fingerprint(&result), fingerprint(&once())));
    Outcome {
        seed,
        result,
        fingerprints,
    }
}

/// What `run_seeds` reports to its caller.
pub enum Event {
    Finished(Box<Outcome>),
    /// Nothing finished for a while (time to redraw a progress line).
    Waiting,
}

/// Plays `seeds` on `jobs` worker threads; calls `on` with each outcome as it finishes (in no
/// particular order), and with `Waiting` when nothing finished within `tick`.
pub fn run_seeds(
    scenario: &Scenario,
    seeds: Seeds,
    jobs: usize,
    check_determinism: bool,
    tick: Duration,
    mut on: impl FnMut(Event),
) {
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            let (tx, next) = (tx.clone(), &next);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= seeds.count {
                    break;
                }
                if tx
                    .send(play(scenario, seeds.nth(i), check_determinism))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        loop {
            match rx.recv_timeout(tick) {
                Ok(o) => on(Event::Finished(Box::new(o))),
                Err(mpsc::RecvTimeoutError::Timeout) => on(Event::Waiting),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
}

/// `sim sweep`'s options.
#[derive(Debug, PartialEq)]
pub struct SweepOptions {
    pub scenario: PathBuf,
    pub range: String,
    pub seeds: Seeds,
    pub jobs: usize,
    pub shard: Option<String>,
    pub check_determinism: bool,
    pub timeline_dir: Option<PathBuf>,
    /// `--swarm`: default `[swarm]` ranges for a file without them.
    pub swarm: bool,
}

impl SweepOptions {
    /// Reads `<scenario> --seeds A..B [--jobs N] [--shard k/n] [--check-determinism]
    /// [--timeline-dir DIR] [--swarm]` (the words after `sweep`).
    pub fn parse(args: &[String]) -> Result<SweepOptions, String> {
        let mut scenario = None;
        let (mut range, mut jobs, mut shard, mut dir) = (None, None, None, None);
        let (mut check, mut swarm) = (false, false);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{a} needs a value"))
            };
            match a.as_str() {
                "--seeds" => range = Some(value()?),
                "--jobs" => {
                    let v = value()?;
                    jobs = Some(
                        v.parse::<usize>()
                            .ok()
                            .filter(|n| (1..=MAX_JOBS).contains(n))
                            .ok_or_else(|| format!("bad --jobs {v:?}: 1 to {MAX_JOBS} threads"))?,
                    )
                }
                "--shard" => shard = Some(value()?),
                "--check-determinism" => check = true,
                "--swarm" => swarm = true,
                "--timeline-dir" => dir = Some(PathBuf::from(value()?)),
                s if s.starts_with("--") => return Err(format!("unknown option {s}")),
                s if scenario.is_none() => scenario = Some(PathBuf::from(s)),
                s => return Err(format!("unexpected argument {s:?}")),
            }
        }
        let scenario = scenario.ok_or("needs a scenario file")?;
        let range = range.ok_or("needs --seeds A..B")?;
        Ok(SweepOptions {
            seeds: Seeds::parse(&range, shard.as_deref())?,
            scenario,
            range,
            jobs: jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |p| p.get())),
            shard,
            check_determinism: check,
            timeline_dir: dir,
            swarm,
        })
    }
}

/// A failing seed, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failing {
    pub seed: u64,
    pub reason: String,
    pub nondeterministic: bool,
}

/// A sweep's counts so far.
#[derive(Debug, Default)]
pub struct Summary {
    pub seeds: u64,
    pub passed: u64,
    pub failed: u64,
    pub nondeterministic: u64,
    /// Simulated time of every run (both runs of a checked seed).
    pub sim_ms: u64,
    /// Network messages of every run.
    pub messages: u64,
    /// The lowest failing seeds (`MAX_LISTED` of them at most), by seed.
    pub failing: BTreeMap<u64, Failing>,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.seeds += 1;
        let runs = if o.fingerprints.is_some() { 2 } else { 1 };
        self.sim_ms += o.result.as_ref().map_or(0, |r| r.sim_ms) * runs;
        self.messages += o.result.as_ref().map_or(0, |r| r.messages) * runs;
        let (reason, nondeterministic) = match o.verdict() {
            Verdict::Pass => {
                self.passed += 1;
                return;
            }
            Verdict::Fail(r) => {
                self.failed += 1;
                (r, false)
            }
            Verdict::Nondeterministic(r) => {
                self.nondeterministic += 1;
                (r, true)
            }
        };
        let f = Failing {
            seed: o.seed,
            reason,
            nondeterministic,
        };
        self.failing.insert(o.seed, f);
        if self.failing.len() > MAX_LISTED {
            self.failing.pop_last();
        }
    }

    pub fn failures(&self) -> u64 {
        self.failed + self.nondeterministic
    }

    /// The table, then one replay line per listed failing seed (`swarm`: swept with `--swarm`).
    pub fn render(&self, path: &Path, swarm: bool, wall: Duration) -> String {
        let wall_s = wall.as_secs_f64();
        let rows = [
            ("seeds", self.seeds.to_string()),
            ("passed", self.passed.to_string()),
            ("failed", self.failed.to_string()),
            ("nondeterministic", self.nondeterministic.to_string()),
            ("wall time", format!("{wall_s:.1}s")),
            (
                "simulated time",
                format!("{:.1}s", self.sim_ms as f64 / 1000.0),
            ),
            (
                "simulated / wall",
                format!("{:.0}x", self.sim_ms as f64 / 1000.0 / wall_s.max(0.001)),
            ),
            (
                "messages / sim s",
                format!(
                    "{:.0}",
                    self.messages as f64 * 1000.0 / self.sim_ms.max(1) as f64
                ),
            ),
        ];
        let mut out: String = rows
            .iter()
            .map(|(k, v)| format!("{k:<18}{v:>12}\n"))
            .collect();
        for f in self.failing.values() {
            let mut reason: String = f.reason.chars().take(REASON_CHARS).collect();
            if reason.len() < f.reason.len() {
                reason.push('…');
            }
            out.push_str(&format!(
                "{}  # {reason}\n",
                replay_command(
                    path,
                    f.seed,
                    ReplayFlags {
                        check_determinism: f.nondeterministic,
                        swarm
                    }
                )
            ));
        }
        let unlisted = self.failures() - self.failing.len() as u64;
        if unlisted > 0 {
            out.push_str(&format!("… and {unlisted} more failing seeds\n"));
        }
        out
    }
}

/// `<scenario stem>-seed-<seed>.html`.
pub fn timeline_file(scenario: &Path, seed: u64) -> String {
    let stem = scenario
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy());
    format!("{stem}-seed-{seed}.html")
}

/// The progress line: `120/1000 seeds, 45.1 seeds/s, 2 failures, ETA 19s`.
pub fn progress_line(done: u64, total: u64, failures: u64, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if done == 0 {
        "?".to_string()
    } else {
        let left_s = (total - done) as f64 / rate;
        format!("{}s", left_s.ceil() as u64)
    };
    format!("{done}/{total} seeds, {rate:.1} seeds/s, {failures} failures, ETA {eta}")
}

/// `sim sweep`: prints the range and scenario, sweeps with a progress line on stderr, prints the
/// summary; returns the exit code (1 on any failure, 2 when the scenario cannot be read).
pub fn sweep_command(o: &SweepOptions) -> i32 {
    let scenario = match crate::load_swarm(&o.scenario, o.swarm) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if let Some(dir) = &o.timeline_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("{}: {e}", dir.display());
            return 2;
        }
    }
    let shard = o
        .shard
        .as_ref()
        .map_or(String::new(), |s| format!(", shard {s}"));
    println!(
        "seeds: {}{shard} ({} seeds, {} jobs{})",
        o.range,
        o.seeds.count,
        o.jobs,
        if o.check_determinism {
            ", each run twice"
        } else {
            ""
        }
    );
    println!("scenario: {} ({})", scenario.name, o.scenario.display());
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut summary = Summary::default();
    let mut last_draw = started;
    let mut timeline_errors = Vec::new();
    run_seeds(
        &scenario,
        o.seeds,
        o.jobs,
        o.check_determinism,
        REDRAW_TTY,
        |event| {
            if let Event::Finished(outcome) = event {
                summary.add(&outcome);
                if let (Some(dir), Ok(r)) = (&o.timeline_dir, &outcome.result) {
                    if outcome.verdict() != Verdict::Pass {
                        let path = dir.join(timeline_file(&o.scenario, outcome.seed));
                        if let Err(e) = crate::timeline::Timeline::write(&scenario, r, &path) {
                            timeline_errors.push(e);
                        }
                    }
                }
            }
            let every = if tty { REDRAW_TTY } else { REDRAW_LOG };
            if last_draw.elapsed() >= every {
                last_draw = Instant::now();
                let line = progress_line(
                    summary.seeds,
                    o.seeds.count,
                    summary.failures(),
                    started.elapsed(),
                );
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r\x1b[K{line}")
                } else {
                    writeln!(err, "{line}")
                };
                let _ = err.flush();
            }
        },
    );
    if tty {
        eprint!("\r\x1b[K");
    }
    print!(
        "{}",
        summary.render(&o.scenario, o.swarm, started.elapsed())
    );
    for e in &timeline_errors {
        eprintln!("timeline not written: {e}");
    }
    if let Some(dir) = o.timeline_dir.as_ref().filter(|_| summary.failures() > 0) {
        println!("timelines of failing seeds: {}", dir.display());
    }
    i32::from(summary.failures() > 0 || !timeline_errors.is_empty())
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
