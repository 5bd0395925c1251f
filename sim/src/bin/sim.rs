//! `sim run <scenario.toml> [--seed N]`: plays a scenario in the simulator, printing the seed
//! first, then the trace, a summary and the verdict; exits 1 with a replay command on failure.
//! `sim shrink <scenario.toml> --seed N [--out FILE]`: see `redsim_sim::shrink`.

use redsim_sim::{load, replay_command, run::run, seed_from_env};
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str =
    "usage: sim run <scenario.toml> [--seed N] | sim shrink <scenario.toml> --seed N [--out FILE]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("shrink") {
        exit(redsim_sim::shrink::cli(&args[1..]));
    }
    let (Some("run"), Some(path)) = (args.first().map(String::as_str), args.get(1)) else {
        eprintln!("{USAGE}");
        exit(2);
    };
    let path = PathBuf::from(path);
    let scenario = load(&path).unwrap_or_else(|e| {
        eprintln!("{e}");
        exit(2)
    });
    let seed = match args.iter().position(|a| a == "--seed") {
        Some(i) => args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("{USAGE}");
                exit(2)
            }),
        None => seed_from_env(scenario.seed),
    };
    println!("seed: {seed}");
    println!("scenario: {}", scenario.name);
    let report = run(&scenario, seed);
    print!("{}", report.trace);
    println!("summary: {}", report.summary());
    println!("verdict: {}", report.verdict());
    if !report.passed() {
        for (node, lines) in &report.logs {
            for l in lines.iter().rev().take(10).rev() {
                println!("  [{node}] {l}");
            }
        }
        println!("replay: {}", replay_command(&path, seed));
        exit(1);
    }
}
