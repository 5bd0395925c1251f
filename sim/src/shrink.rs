//! Shrinking a failing run: given a scenario and a seed whose run fails a check, the schedule is
//! first materialised (the nemesis's faults and drawn times written out as explicit faults), then
//! reduced while the same check still fails with the same seed — fault windows (a fault and the
//! one ending it) dropped (halves, then smaller chunks, then one at a time), windows shortened,
//! clients and servers nobody needs removed, the run shortened — and the result is written as a
//! scenario file that replays the failure with `sim run <file> --seed N`.
//! `sim shrink <scenario> --seed N [--out FILE]`.

use crate::fault_spec::FULL_SYNC_WAIT_MS;
use crate::run::{run, Report};
use crate::scenario::{secs_to_ms, Fault, FaultAction, Scenario};
use std::path::{Path, PathBuf};

/// Runs a shrink may make, unless told otherwise.
pub const DEFAULT_MAX_RUNS: usize = 400;
/// A fault window is not shortened below this.
const MIN_WINDOW_MS: u64 = 100;
/// The run is not shortened to less than this after its last fault.
const MIN_TAIL_MS: u64 = 1_000;

/// The smallest failing scenario found.
pub struct Shrunk {
    /// Explicit faults only; its pinned seed is the failing seed.
    pub scenario: Scenario,
    pub seed: u64,
    /// The check that failed at first and still fails.
    pub check: &'static str,
    /// Faults in the materialised schedule before shrinking.
    pub faults_before: usize,
    /// Simulations run, the first ones included.
    pub runs: usize,
    /// The run of `scenario` with `seed`.
    pub report: Report,
}

struct Search<'a> {
    seed: u64,
    check: &'static str,
    runs: usize,
    max_runs: usize,
    progress: &'a mut dyn FnMut(&str),
}

impl Search<'_> {
    /// Runs `candidate` if it is a valid scenario and the budget allows; its report if the check
    /// still fails.
    fn fails(&mut self, candidate: &Scenario) -> Option<Report> {
        if self.runs >= self.max_runs || candidate.validate().is_err() {
            return None;
        }
        self.runs += 1;
        let r = run(candidate, self.seed);
        r.violations
            .iter()
            .any(|v| v.check == self.check)
            .then_some(r)
    }

    /// Tries each candidate edit of `cur` in turn, keeping the first that still fails.
    fn first_failing(&mut self, cur: &mut Shrinking, edits: Vec<(String, Scenario)>) -> bool {
        for (what, candidate) in edits {
            if let Some(r) = self.fails(&candidate) {
                (self.progress)(&format!(
                    "run {}: {what}: still fails ({} faults)",
                    self.runs,
                    candidate.faults.len()
                ));
                *cur = Shrinking {
                    scenario: candidate,
                    report: r,
                };
                return true;
            }
        }
        false
    }
}

struct Shrinking {
    scenario: Scenario,
    report: Report,
}

/// Shrinks `scenario`'s failure with `seed` within `max_runs` simulations; `progress` hears of
/// each step. Fails if the seed passes, or if its materialised schedule does not fail the same
/// check (which would be a determinism bug).
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    max_runs: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk, String> {
    let first = run(scenario, seed);
    let Some(check) = first.violations.first().map(|v| v.check) else {
        return Err(format!("seed {seed} passes: nothing to shrink"));
    };
    progress(&format!("run 1: fails {}", first.violations[0]));
    let mut fixed = scenario.materialize(seed);
    fixed.seed = seed;
    let faults_before = fixed.faults.len();
    let mut s = Search {
        seed,
        check,
        runs: 1,
        max_runs,
        progress,
    };
    let Some(report) = s.fails(&fixed) else {
        return Err(format!(
            "the materialised schedule of seed {seed} does not fail {check}: the run is not \
             deterministic"
        ));
    };
    (s.progress)(&format!(
        "run 2: materialised: {faults_before} faults, still fails"
    ));
    let mut cur = Shrinking {
        scenario: fixed,
        report,
    };
    loop {
        let progressed = drop_faults(&mut s, &mut cur)
            | repeat(&mut s, &mut cur, shorter_windows)
            | repeat(&mut s, &mut cur, fewer_clients)
            | repeat(&mut s, &mut cur, fewer_servers)
            | repeat(&mut s, &mut cur, shorter_run);
        if !progressed || s.runs >= s.max_runs {
            break;
        }
    }
    Ok(Shrunk {
        scenario: cur.scenario,
        seed,
        check,
        faults_before,
        runs: s.runs,
        report: cur.report,
    })
}

/// Applies `edits` until none of its candidates fails any more; true if one did.
fn repeat(
    s: &mut Search<'_>,
    cur: &mut Shrinking,
    edits: fn(&Scenario) -> Vec<(String, Scenario)>,
) -> bool {
    let mut any = false;
    while s.runs < s.max_runs && s.first_failing(cur, edits(&cur.scenario)) {
        any = true;
    }
    any
}

/// Drops chunks of windows (a fault with the one ending it, or a fault alone), halves first,
/// then ever smaller chunks down to single windows. A fault is never dropped without the one
/// ending its window, or the other way round: a crash left without its restart would fail
/// differently (its server unreadable at the end).
fn drop_faults(s: &mut Search<'_>, cur: &mut Shrinking) -> bool {
    let mut any = false;
    let mut chunks = 2;
    loop {
        let units = windows(&cur.scenario.faults);
        let n = units.len();
        if n == 0 || s.runs >= s.max_runs {
            break;
        }
        let size = n.div_ceil(chunks.min(n));
        let edits = (0..n)
            .step_by(size)
            .map(|from| {
                let to = (from + size).min(n);
                let gone: Vec<usize> = units[from..to].concat();
                let mut c = cur.scenario.clone();
                c.faults = (c.faults.into_iter().enumerate())
                    .filter(|(i, _)| !gone.contains(i))
                    .map(|(_, f)| f)
                    .collect();
                (format!("dropped windows {}..{to} of {n}", from + 1), c)
            })
            .collect();
        if s.first_failing(cur, edits) {
            any = true;
            chunks = (chunks - 1).max(2);
        } else if size == 1 {
            break;
        } else {
            chunks = (chunks * 2).min(n);
        }
    }
    any
}

/// The faults grouped into windows, in time order: each fault with the later one that ends it
/// (a restart after a crash, a heal after a partition, ...), or alone.
pub fn windows(faults: &[Fault]) -> Vec<Vec<usize>> {
    let mut claimed = vec![false; faults.len()];
    let mut out = Vec::new();
    for i in 0..faults.len() {
        if claimed[i] {
            continue;
        }
        claimed[i] = true;
        match window_end(faults, i).filter(|&j| !claimed[j]) {
            Some(j) => {
                claimed[j] = true;
                out.push(vec![i, j]);
            }
            None => out.push(vec![i]),
        }
    }
    out
}

/// The fault that ends the window `faults[i]` opens: the first later one undoing it.
fn window_end(faults: &[Fault], i: usize) -> Option<usize> {
    use FaultAction as A;
    let f = &faults[i];
    let ends = |e: &Fault| match (f.action, e.action) {
        (A::Crash | A::Kill, A::Restart) | (A::Pause, A::Resume) | (A::DiskFail, A::DiskHeal) => {
            e.nodes == f.nodes
        }
        (A::Partition, A::Heal) => true,
        (A::Latency, A::Latency) => f.latency_ms.is_some() && e.latency_ms.is_none(),
        _ => false,
    };
    (i + 1..faults.len()).find(|&j| ends(&faults[j]))
}

fn at_ms(f: &Fault) -> u64 {
    secs_to_ms(f.at_s.unwrap_or(0.0))
}

/// Each window halved (its end moved halfway to its start), faults kept in time order.
fn shorter_windows(sc: &Scenario) -> Vec<(String, Scenario)> {
    (0..sc.faults.len())
        .filter_map(|i| {
            let j = window_end(&sc.faults, i)?;
            let (a, b) = (at_ms(&sc.faults[i]), at_ms(&sc.faults[j]));
            let mid = a + (b - a) / 2;
            (mid >= a + MIN_WINDOW_MS && mid < b).then(|| {
                let mut c = sc.clone();
                c.faults[j].at_s = Some(mid as f64 / 1000.0);
                c.faults.sort_by_key(at_ms);
                let f = &sc.faults[i];
                let what = format!(
                    "{} {} window {}ms",
                    f.action.word(),
                    f.nodes.join(","),
                    mid - a
                );
                (what, c)
            })
        })
        .collect()
}

/// Each client group with fewer clients (half as many), or gone.
fn fewer_clients(sc: &Scenario) -> Vec<(String, Scenario)> {
    (0..sc.clients.len())
        .map(|i| {
            let mut c = sc.clone();
            let g = &mut c.clients[i];
            let what = match g.count {
                Some(n) if n > 1 => {
                    g.count = Some(n / 2);
                    format!("{} clients {} instead of {n}", g.name, n / 2)
                }
                _ => {
                    let name = c.clients.remove(i).name;
                    let members: Vec<String> = sc
                        .client_list()
                        .into_iter()
                        .map(|e| e.name)
                        .filter(|n| !c.client_list().iter().any(|e| &e.name == n))
                        .collect();
                    forget_nodes(&mut c, &members);
                    format!("without client {name}")
                }
            };
            (what, c)
        })
        .collect()
}

/// Each server nothing else names (no client, other server's config, role or REPLICAOF
/// target), gone.
fn fewer_servers(sc: &Scenario) -> Vec<(String, Scenario)> {
    let named_elsewhere = |name: &str, i: usize| {
        let word = |text: &str| text.split_whitespace().any(|w| w == name);
        sc.servers
            .iter()
            .enumerate()
            .any(|(j, g)| j != i && g.config.iter().any(|l| word(l)))
            || sc
                .client_list()
                .iter()
                .any(|c| c.server == name || c.read_from.as_deref() == Some(name))
            || sc.faults.iter().any(|f| f.target.as_deref() == Some(name))
            || sc
                .expect
                .replication
                .as_ref()
                .is_some_and(|r| r.roles.iter().any(|(k, v)| k == name || word(v)))
    };
    (0..sc.servers.len())
        .filter(|&i| sc.servers[i].count.is_none() && !named_elsewhere(&sc.servers[i].name, i))
        .map(|i| {
            let mut c = sc.clone();
            let name = c.servers.remove(i).name;
            forget_nodes(&mut c, std::slice::from_ref(&name));
            (format!("without server {name}"), c)
        })
        .collect()
}

/// Removes `gone` nodes from the faults; a fault left without the nodes it needs is dropped.
fn forget_nodes(sc: &mut Scenario, gone: &[String]) {
    sc.faults.retain_mut(|f| {
        let (nodes, from) = (f.nodes.len(), f.from.len());
        f.nodes.retain(|n| !gone.contains(n));
        f.from.retain(|n| !gone.contains(n));
        let needs_nodes = !matches!(f.action, FaultAction::Heal | FaultAction::Latency);
        let lost_nodes = needs_nodes && f.nodes.is_empty() && nodes > 0;
        let lost_from = from > 0 && f.from.is_empty();
        !(lost_nodes || lost_from)
    });
}

/// The run's time after its last fault halved (a fault waiting for a full sync keeps its wait).
fn shorter_run(sc: &Scenario) -> Vec<(String, Scenario)> {
    let last = sc
        .faults
        .iter()
        .map(|f| at_ms(f) + if f.on_full_sync { FULL_SYNC_WAIT_MS } else { 0 })
        .max()
        .unwrap_or(0);
    let end = secs_to_ms(sc.duration_s);
    let shorter = last + (end.saturating_sub(last)) / 2;
    if shorter < last + MIN_TAIL_MS || shorter >= end {
        return Vec::new();
    }
    let mut c = sc.clone();
    c.duration_s = shorter as f64 / 1000.0;
    vec![(format!("run of {}s", c.duration_s), c)]
}

/// The shrunk scenario as a file, with a header saying where it came from and how to replay it.
pub fn to_file_text(shrunk: &Shrunk, from: &Path, out: &Path) -> Result<String, String> {
    let mut sc = shrunk.scenario.clone();
    sc.name = format!("{} (shrunk, seed {})", sc.name, shrunk.seed);
    let failing: Vec<String> = shrunk
        .report
        .violations
        .iter()
        .filter(|v| v.check == shrunk.check)
        .map(|v| format!("#   {v}"))
        .collect();
    Ok(format!(
        "# Shrunk by `sim shrink {} --seed {seed}`: {} of {} faults left after {} runs.\n\
         # With seed {seed} it still fails the check `{}`:\n{}\n# Replay: {}\n{}",
        from.display(),
        sc.faults.len(),
        shrunk.faults_before,
        shrunk.runs,
        shrunk.check,
        failing.join("\n"),
        replay(out, shrunk.seed),
        sc.to_toml()?,
        seed = shrunk.seed,
    ))
}

/// The command that replays a shrunk file.
pub fn replay(path: &Path, seed: u64) -> String {
    format!(
        "cargo run --release -p redsim-sim -- run {} --seed {seed}",
        path.display()
    )
}

/// `sim shrink <scenario.toml> --seed N [--out FILE] [--max-runs N] [--swarm]`: shrinks and writes the
/// file (default `<name>-seed<N>-shrunk.toml` here); prints progress, the result and the replay
/// command. Returns the exit status.
pub fn cli(args: &[String]) -> i32 {
    const USAGE: &str =
        "usage: sim shrink <scenario.toml> --seed N [--out FILE] [--max-runs N] [--swarm]";
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).cloned()
    };
    let (Some(path), Some(Ok(seed))) = (args.first(), value("--seed").map(|s| s.parse::<u64>()))
    else {
        eprintln!("{USAGE}");
        return 2;
    };
    let max_runs = match value("--max-runs").map(|s| s.parse::<usize>()) {
        None => DEFAULT_MAX_RUNS,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let path = PathBuf::from(path);
    let out = value("--out").map(PathBuf::from).unwrap_or_else(|| {
        let stem = path
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy());
        PathBuf::from(format!("{stem}-seed{seed}-shrunk.toml"))
    });
    let swarm = args.iter().any(|a| a == "--swarm");
    let scenario = match crate::load_swarm(&path, swarm) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let shrunk = match shrink(&scenario, seed, max_runs, &mut |line| println!("{line}")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let written = to_file_text(&shrunk, &path, &out)
        .and_then(|text| std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display())));
    if let Err(e) = written {
        eprintln!("{e}");
        return 1;
    }
    println!(
        "shrunk: {} of {} faults, {} servers, {} clients, {}s, in {} runs; still fails {}",
        shrunk.scenario.faults.len(),
        shrunk.faults_before,
        shrunk.scenario.server_list().len(),
        shrunk.scenario.client_list().len(),
        shrunk.scenario.duration_s,
        shrunk.runs,
        shrunk.check
    );
    println!("wrote: {}", out.display());
    println!("replay: {}", replay(&out, seed));
    0
}
