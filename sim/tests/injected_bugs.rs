//! The checks catch a broken build: with the test-only feature `bug-injection`, each kind of
//! deliberate bug (`SENTINEL INJECT-BUG <kind>` or `DEBUG INJECT-BUG <kind>`, `src/bugs.rs`) is
//! switched on at the start of a scenario made to give it its chance; a sweep finds the first
//! seed in `1..=1000` whose run breaks a promise, `sim shrink` reduces that seed's schedule to a
//! scenario file, and running the file with the same seed fails the same check again. The test
//! prints the README's table (kind, seeds until caught, the check, faults left after shrinking).
//! `SIM_BUG_KINDS=a,b` runs only those kinds.

#[path = "common/shrink_cli.rs"]
mod shrink_cli;

use redsim_sim::run::{run, Report};
use redsim_sim::scenario::Scenario;
use redsim_sim::sweep::{run_seeds, Event, Seeds};
use std::time::Duration;

/// The most seeds a kind may take; sweep rounds start at two seeds and double up to 32.
const MOST_SEEDS: u64 = 1000;

/// One row of the table: the bug, the scenario that gives it its chance, the check that must
/// catch it (a prefix of the violation's text).
struct Case {
    kind: &'static str,
    scenario: String,
    check: &'static str,
}

/// `[[fault]]` switching `kind` on in `nodes` at 1 s (`SENTINEL` or `DEBUG` INJECT-BUG).
fn inject(command: &str, kind: &str, nodes: &[&str]) -> String {
    let nodes: Vec<String> = nodes.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "[[fault]]\nat_s = 1\naction = \"command\"\nnodes = [{}]\nargs = [\"{command}\", \"INJECT-BUG\", \"{kind}\"]\n",
        nodes.join(", ")
    )
}

fn fault(at: &str, action: &str, rest: &str) -> String {
    format!("[[fault]]\n{at}\naction = \"{action}\"\n{rest}\n")
}

/// A master, two replicas (`s2_config` extra lines for s2) and three Sentinels with `quorum`; a
/// client writes through the Sentinels. The master dies at 10–12 s and comes back at 20 s.
fn sentinel_group(name: &str, kind: &str, quorum: u32, s2_config: &str, faults: &str) -> String {
    format!(
        r#"name = "injected {kind}: {name}"
seed = 1
duration_s = 40

[[server]]
name = "s1"
config = ['save ""']

[[server]]
name = "s2"
config = ['save ""', "replicaof s1 6379"{s2_config}]

[[server]]
name = "s3"
config = ['save ""', "replicaof s1 6379"]

[[server]]
name = "x"
count = 3
sentinel = true
config = [
  "sentinel monitor mymaster s1 6379 {quorum}",
  "sentinel down-after-milliseconds mymaster 1000",
  "sentinel failover-timeout mymaster 3000",
]

[[client]]
name = "c1"
via_sentinels = "x"
master = "mymaster"
server = "s1"
workload = "write-read"
interval_ms = 100

{inject}
{faults}
[[expect.sentinel]]
master = "mymaster"
servers = ["s1", "s2", "s3"]
"#,
        inject = inject("SENTINEL", kind, &["x1", "x2", "x3"]),
    )
}

/// `node` killed at `kill_at` and restarted at `restart_at` (`at_s...` lines).
fn killed(node: &str, kill_at: &str, restart_at: &str) -> String {
    let nodes = format!("nodes = [\"{node}\"]");
    fault(kill_at, "kill", &nodes) + &fault(restart_at, "restart", &nodes)
}

/// The master is killed and restarted (the failover the Sentinels run).
fn master_dies() -> String {
    killed("s1", "at_s_range = [10, 12]", "at_s = 20")
}

/// A Sentinel cut off from everyone while the master is healthy.
fn isolated_sentinel(kind: &str, quorum: u32) -> String {
    let faults = fault("at_s_range = [5, 8]", "partition", "nodes = [\"x1\"]")
        + &fault("at_s_range = [14, 18]", "heal", "");
    sentinel_group("one Sentinel cut off", kind, quorum, "", &faults)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            kind: "leader-no-majority",
            scenario: isolated_sentinel("leader-no-majority", 1),
            check: "sentinel.leader_majority",
        },
        Case {
            kind: "odown-one-short",
            scenario: isolated_sentinel("odown-one-short", 2),
            check: "sentinel.odown_quorum",
        },
    ];
    let lagging = fault(
        "at_s_range = [7, 9]",
        "partition",
        "nodes = [\"s3\"]\nfrom = [\"s1\"]",
    ) + &fault("at_s = 16", "heal", "")
        + &master_dies();
    cases.push(Case {
        kind: "select-lowest-offset",
        scenario: sentinel_group("a replica lags", "select-lowest-offset", 2, "", &lagging),
        check: "sentinel.promotion_order",
    });
    cases.push(Case {
        kind: "select-priority-zero",
        scenario: sentinel_group(
            "s2 has priority 0",
            "select-priority-zero",
            2,
            ", \"replica-priority 0\"",
            &master_dies(),
        ),
        check: "sentinel.promotion_order",
    });
    let (kill_at, restart_at) = ("at_s_range = [11, 14]", "at_s_range = [14.5, 16]");
    let voters_die =
        master_dies() + &killed("x2", kill_at, restart_at) + &killed("x3", kill_at, restart_at);
    cases.push(Case {
        kind: "vote-not-durable",
        scenario: sentinel_group("voters killed", "vote-not-durable", 2, "", &voters_die),
        check: "sentinel.epochs_never_go_back",
    });
    let restart = master_dies() + &killed("x2", "at_s_range = [22, 25]", "at_s = 26");
    cases.push(Case {
        kind: "epoch-not-saved",
        scenario: sentinel_group("a Sentinel restarts", "epoch-not-saved", 2, "", &restart),
        check: "sentinel.epochs_never_go_back",
    });
    cases.push(Case {
        kind: "hello-stale-epoch",
        scenario: sentinel_group("failover", "hello-stale-epoch", 2, "", &master_dies()),
        check: "sentinel.agreement",
    });
    cases.push(Case {
        kind: "vote-twice",
        scenario: vote_twice(),
        check: "sentinel.double_vote",
    });
    cases.extend(server_cases());
    cases
}

/// Three Sentinels that vote twice; the master dies at a random moment and a Sentinel is cut
/// off and comes back, so that several of them try to get elected in the same epoch.
fn vote_twice() -> String {
    let faults = fault("at_s_range = [11, 14]", "partition", "nodes = [\"x1\"]")
        + &fault("at_s_range = [11, 16]", "kill", "nodes = [\"s1\"]")
        + &fault("at_s_range = [17, 20]", "heal", "")
        + &fault("at_s_range = [22, 26]", "restart", "nodes = [\"s1\"]");
    sentinel_group("votes in one epoch", "vote-twice", 2, "", &faults)
}

/// Servers with `lines` (DEBUG allowed), a client `c1` writing to s1 every `interval_ms`, the
/// bug switched on in `inject_into`, then `rest` (faults and expectations).
fn servers(kind: &str, servers: &[(&str, &str)], inject_into: &[&str], rest: &str) -> String {
    let mut text = format!("name = \"injected {kind}\"\nseed = 1\nduration_s = 14\n\n");
    for (name, lines) in servers {
        text += &format!(
            "[[server]]\nname = \"{name}\"\nconfig = ['save \"\"', \"enable-debug-command yes\"{lines}]\n\n"
        );
    }
    text + &inject("DEBUG", kind, inject_into) + rest
}

fn client(name: &str, server: &str, interval_ms: u32) -> String {
    format!("[[client]]\nname = \"{name}\"\nserver = \"{server}\"\nworkload = \"write-read\"\ninterval_ms = {interval_ms}\n\n")
}

fn server_cases() -> Vec<Case> {
    let repl = ", \"repl-timeout 2\", \"repl-ping-replica-period 1\"";
    let replica = ", \"replicaof s1 6379\", \"repl-timeout 2\", \"repl-ping-replica-period 1\"";
    // A replica cut off for a while continues with a partial resync from the backlog.
    let partial = client("c1", "s1", 50)
        + &fault("at_s_range = [3, 5]", "partition", "nodes = [\"s2\"]")
        + &fault("at_s_range = [6, 8]", "heal", "")
        + "[expect.replication]\n";
    // The replica is promoted while cut off from its master, which keeps taking writes, and
    // then follows it: its history diverged, so only a full sync is right.
    let split = client("c1", "s1", 50)
        + &client("c2", "s2", 20)
        + &fault(
            "at_s_range = [2, 4]",
            "partition",
            "nodes = [\"s1\"]\nfrom = [\"s2\"]",
        )
        + &fault(
            "at_s = 4.5",
            "replicaof",
            "nodes = [\"s2\"]\ntarget = \"no one\"",
        )
        + &fault("at_s = 8", "heal", "")
        + &fault("at_s = 9", "replicaof", "nodes = [\"s1\"]\ntarget = \"s2\"")
        + "[expect.replication]\n";
    // Power loss under `appendfsync always`: nothing acknowledged may be lost.
    let crash = client("c1", "s1", 50)
        + &fault(
            "at_s_range = [0.5, 7.5]",
            "crash",
            "nodes = [\"s1\"]\ntorn = true",
        )
        + &fault("at_s = 8", "restart", "nodes = [\"s1\"]")
        + "[expect]\nlost_writes_max = 0\n";
    let always = ", \"appendonly yes\", \"appendfsync always\"";
    vec![
        Case {
            kind: "backlog-off-by-one",
            scenario: servers(
                "backlog-off-by-one",
                &[("s1", repl), ("s2", replica)],
                &["s1"],
                &partial,
            ),
            check: "replication.",
        },
        Case {
            kind: "promotion-keeps-replid",
            scenario: servers(
                "promotion-keeps-replid",
                &[("s1", ""), ("s2", ", \"replicaof s1 6379\"")],
                &["s2"],
                &split,
            ),
            check: "replication.",
        },
        Case {
            kind: "fsync-skipped",
            scenario: servers("fsync-skipped", &[("s1", always)], &["s1"], &crash),
            check: "lost_writes_max",
        },
    ]
}

/// The first seed in `1..=1000` whose run fails, swept in growing rounds on every core.
fn first_failing_seed(scenario: &Scenario) -> Option<Report> {
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let (mut start, mut round) = (1, 2);
    while start <= MOST_SEEDS {
        let end = (start + round).min(MOST_SEEDS + 1);
        let seeds = Seeds::parse(&format!("{start}..{end}"), None).expect("seeds");
        (start, round) = (end, (round * 2).min(32));
        let mut failed: Vec<Report> = Vec::new();
        run_seeds(
            scenario,
            seeds,
            workers,
            false,
            Duration::from_secs(60),
            |e| {
                if let Event::Finished(o) = e {
                    if let Ok(r) = o.result {
                        if !r.passed() {
                            failed.push(r);
                        }
                    }
                }
            },
        );
        if let Some(r) = failed.into_iter().min_by_key(|r| r.seed) {
            return Some(r);
        }
    }
    None
}

/// Sweeps, shrinks and replays one case; its table row, or why it failed.
fn catch(case: &Case) -> Result<String, String> {
    let scenario = Scenario::from_toml(&case.scenario).map_err(|e| format!("scenario: {e}"))?;
    let caught = first_failing_seed(&scenario)
        .ok_or_else(|| format!("no seed of 1..={MOST_SEEDS} caught it"))?;
    let (seed, verdict) = (caught.seed, caught.verdict());
    println!("{}: seed {seed}: {verdict}", case.kind);
    if !verdict.contains(case.check) {
        return Err(format!("seed {seed} failed another check: {verdict}"));
    }
    let mut checks: Vec<&str> = caught.violations.iter().map(|v| v.check).collect();
    checks.dedup();
    let out = shrink_cli::shrink(&format!("bug-{}", case.kind), &case.scenario, seed);
    let shrunk = redsim_sim::load(&out)?;
    let _ = std::fs::remove_file(&out);
    if !shrunk
        .faults
        .iter()
        .any(|f| f.args.iter().any(|a| a == "INJECT-BUG"))
    {
        return Err("shrinking dropped the injection".into());
    }
    let again = run(&shrunk, seed).verdict();
    if !again.contains(case.check) {
        return Err(format!("the shrunk file replays differently: {again}"));
    }
    Ok(format!(
        "| `{}` | {seed} | `{}` | {} of {} |",
        case.kind,
        checks.join("`, `"),
        shrunk.faults.len(),
        scenario.materialize(seed).faults.len()
    ))
}

#[test]
fn every_injected_bug_is_caught_by_a_sweep_shrunk_and_replayed() {
    let only = std::env::var("SIM_BUG_KINDS").unwrap_or_default();
    let mut rows = vec![
        "| kind | seeds until caught | check | faults after shrinking |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    let todo: Vec<Case> = cases()
        .into_iter()
        .filter(|c| only.is_empty() || only.split(',').any(|k| k == c.kind))
        .collect();
    // Cases run side by side: shrinking is one process at a time, sweeps leave cores idle
    // between rounds.
    let results: Vec<std::sync::Mutex<Option<Result<String, String>>>> =
        todo.iter().map(|_| Default::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = todo.get(i) else { break };
                *results[i].lock().unwrap() = Some(catch(case));
            });
        }
    });
    let mut failures = Vec::new();
    for (case, result) in todo.iter().zip(results) {
        match result.into_inner().unwrap() {
            Some(Ok(row)) => rows.push(row),
            Some(Err(why)) => failures.push(format!("{}: {why}", case.kind)),
            None => failures.push(format!("{}: not run", case.kind)),
        }
    }
    println!("{}", rows.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
