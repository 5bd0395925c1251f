//! The `sim` command line: `run`, `replay` and `sweep` read into options (a bad argument is a
//! message for the usage text, never a panic), and `run` / `replay` played and printed: the seed
//! first, the trace, a summary, the verdict, and on failure the nodes' last log lines and the
//! command that replays it.

use crate::sweep::{play, SweepOptions, Verdict};
use crate::timeline::Timeline;
use crate::{load_swarm, replay_command, seed_from_env, ReplayFlags};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: sim run <scenario.toml> [--seed N] [--check-determinism] [--timeline FILE] [--swarm]
       sim replay <scenario.toml> <seed> [--check-determinism] [--timeline FILE] [--swarm]
       sim sweep <scenario.toml> --seeds A..B [--jobs N] [--shard k/n] [--check-determinism]
                 [--timeline-dir DIR] [--swarm]
       sim shrink <scenario.toml> --seed N [--out FILE] [--max-runs N] [--swarm]
       sim live <scenario.toml> [--runs N] [--server-bin PATH] [--sentinel-bin PATH]
  run      plays one seed (--seed, else SIM_SEED, else the scenario's pinned seed)
  replay   plays one seed and prints every kept log line of every node on failure
  sweep    plays seeds A..B (B excluded; A..=B includes it) on N threads (default: one per core)
  --shard k/n           only seeds with seed % n == k-1 (splits a sweep over n CI jobs)
  --check-determinism   plays each seed twice; different trace hashes are a failure
  shrink   reduces a failing seed's fault schedule and writes it as a scenario file
  live     plays the scenario on real processes with real faults (`sim live --help`)
  --timeline FILE       writes the run as an HTML timeline (sweep: one per failing seed in DIR)
  --swarm               each seed also draws the topology (Sentinels, quorum, replicas, timeouts,
                        priorities, persistence, fault weights): the file's [swarm] ranges, or
                        the defaults for a file without one (see sim/src/swarm.rs)";

/// Log lines per node printed when `run` fails (`replay` prints all that were kept).
const RUN_LOG_LINES: usize = 10;

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(RunOptions),
    Sweep(SweepOptions),
    Help,
}

#[derive(Debug, PartialEq)]
pub struct RunOptions {
    pub scenario: PathBuf,
    pub seed: Option<u64>,
    pub check_determinism: bool,
    pub timeline: Option<PathBuf>,
    /// `replay`: the seed was given, and failures print every kept log line.
    pub replay: bool,
    /// `--swarm`: default `[swarm]` ranges for a file without them.
    pub swarm: bool,
}

/// Reads the words after `sim`.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "run" => parse_run(rest, false).map(Command::Run),
        "replay" => parse_run(rest, true).map(Command::Run),
        "sweep" => SweepOptions::parse(rest).map(Command::Sweep),
        other => return Err(format!("unknown command {other:?}")),
    }
    .map_err(|e| format!("{command}: {e}"))
}

fn parse_run(args: &[String], replay: bool) -> Result<RunOptions, String> {
    let seed_of = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("bad seed {s:?}: a number"))
    };
    let mut positional = Vec::new();
    let (mut seed, mut check, mut timeline, mut swarm) = (None, false, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--seed" if !replay => seed = Some(seed_of(value()?)?),
            "--check-determinism" => check = true,
            "--swarm" => swarm = true,
            "--timeline" => timeline = Some(PathBuf::from(value()?)),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => positional.push(s),
        }
    }
    let (scenario, given) = match (positional.as_slice(), replay) {
        ([scenario], false) => (scenario, seed),
        ([scenario, seed], true) => (scenario, Some(seed_of(seed)?)),
        ([], _) => return Err("needs a scenario file".into()),
        ([_], true) => return Err("needs a seed".into()),
        _ => {
            let extra = positional.last().copied().unwrap_or_default();
            return Err(format!("unexpected argument {extra:?}"));
        }
    };
    Ok(RunOptions {
        scenario: PathBuf::from(scenario),
        seed: given,
        check_determinism: check,
        timeline,
        replay,
        swarm,
    })
}

/// `sim run` / `sim replay`; returns the exit code (1: the run failed, 2: no scenario).
pub fn run_command(o: &RunOptions) -> i32 {
    let scenario = match load_swarm(&o.scenario, o.swarm) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let seed = o.seed.unwrap_or_else(|| seed_from_env(scenario.seed));
    println!("seed: {seed}");
    println!("scenario: {}", scenario.topology(seed).name);
    let outcome = play(&scenario, seed, o.check_determinism);
    let verdict = outcome.verdict();
    match &outcome.result {
        Ok(report) => {
            print!("{}", report.trace);
            println!("summary: {}", report.summary());
        }
        Err(panic) => println!("the simulation panicked: {panic}"),
    }
    if let Some((a, b)) = outcome.fingerprints {
        if a == b {
            println!("determinism: both runs gave trace hash {a:016x}");
        }
    }
    match &verdict {
        Verdict::Pass => println!("verdict: PASS"),
        Verdict::Fail(why) | Verdict::Nondeterministic(why) => println!("verdict: FAIL: {why}"),
    }
    let mut code = 0;
    if let (Some(path), Ok(report)) = (&o.timeline, &outcome.result) {
        match Timeline::write(&scenario, report, path) {
            Ok(()) => println!("timeline: {}", path.display()),
            Err(e) => {
                eprintln!("timeline not written: {e}");
                code = 1;
            }
        }
    }
    if verdict == Verdict::Pass {
        return code;
    }
    if let Ok(report) = &outcome.result {
        let keep = if o.replay { usize::MAX } else { RUN_LOG_LINES };
        for (node, lines) in &report.logs {
            for l in &lines[lines.len().saturating_sub(keep)..] {
                println!("  [{node}] {l}");
            }
        }
    }
    let flags = ReplayFlags {
        check_determinism: matches!(verdict, Verdict::Nondeterministic(_)),
        swarm: o.swarm,
    };
    println!("replay: {}", replay_command(&o.scenario, seed, flags));
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn run_and_replay_read_their_seed_and_options() {
        assert_eq!(
            parse(&words("run a.toml --seed 5 --timeline t.html")),
            Ok(Command::Run(RunOptions {
                scenario: "a.toml".into(),
                seed: Some(5),
                check_determinism: false,
                timeline: Some("t.html".into()),
                replay: false,
                swarm: false,
            }))
        );
        assert_eq!(
            parse(&words("replay a.toml 17 --check-determinism --swarm")),
            Ok(Command::Run(RunOptions {
                scenario: "a.toml".into(),
                seed: Some(17),
                check_determinism: true,
                timeline: None,
                replay: true,
                swarm: true,
            }))
        );
        assert_eq!(parse(&[]), Ok(Command::Help));
    }

    #[test]
    fn bad_command_lines_are_errors_with_reasons() {
        for (args, want) in [
            ("fly a.toml", "unknown command \"fly\""),
            ("run", "run: needs a scenario file"),
            ("run a.toml --seed", "run: --seed needs a value"),
            ("run a.toml --seed x", "run: bad seed \"x\": a number"),
            ("run a.toml --sed 3", "run: unknown option --sed"),
            ("run a.toml b.toml", "run: unexpected argument \"b.toml\""),
            ("replay a.toml", "replay: needs a seed"),
            ("replay a.toml 1 --seed 2", "replay: unknown option --seed"),
            ("run a.toml --timeline", "run: --timeline needs a value"),
        ] {
            assert_eq!(parse(&words(args)), Err(want.to_string()), "{args}");
        }
    }
}
