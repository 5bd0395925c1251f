//! redsim-sim: the deterministic simulation harness. Scenarios (`scenarios/*.toml`) describe
//! servers, clients and faults; `run::run` plays one with one seed inside madsim and returns a
//! report with a relative-time trace and a verdict; `live` plays one on real processes; `sweep`
//! plays many seeds; `timeline` draws a
//! run as an HTML picture; `cli` is the `sim` command line.

#[cfg(not(madsim))]
compile_error!(
    "redsim-sim must be built with `--cfg madsim`. The repository's .cargo/config.toml sets it; \
     a RUSTFLAGS environment variable replaces that setting, so add `--cfg madsim` to it."
);

pub mod check;
pub mod cli;
pub mod client;
pub mod config_file;
pub mod disk;
pub mod env;
pub mod fault_spec;
pub mod faults;
pub mod live;
pub mod live_net;
pub mod live_proc;
pub mod live_run;
pub mod live_watch;
pub mod nemesis;
pub mod repl_check;
pub mod replication;
pub mod run;
pub mod scenario;
pub mod sentinel;
pub mod sentinel_check;
pub mod shrink;
pub mod swarm;
pub mod sweep;
pub mod timeline;
pub mod timeline_html;
pub mod trace;

use std::path::Path;

/// The seed to use: `SIM_SEED` if set, else the scenario's pinned seed.
pub fn seed_from_env(pinned: u64) -> u64 {
    std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(pinned)
}

/// Loads a scenario file.
pub fn load(path: &Path) -> Result<scenario::Scenario, String> {
    load_swarm(path, false)
}

/// Loads a scenario file; with `swarm` (`--swarm`), one without a `[swarm]` section gets the
/// default ranges (`swarm::Swarm::default`).
pub fn load_swarm(path: &Path, swarm: bool) -> Result<scenario::Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let at = |e: String| format!("{}: {e}", path.display());
    let mut s = scenario::Scenario::from_toml(&text).map_err(at)?;
    if swarm && s.swarm.is_none() {
        s.swarm = Some(swarm::Swarm::default());
        s.validate().map_err(at)?;
    }
    Ok(s)
}

/// How a seed is replayed: the options besides the file and the seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayFlags {
    /// For a seed that replayed differently.
    pub check_determinism: bool,
    /// The file was swept with `--swarm`.
    pub swarm: bool,
}

/// The one-line command that replays `seed` of the scenario at `path`.
pub fn replay_command(path: &Path, seed: u64, flags: ReplayFlags) -> String {
    format!(
        "cargo run --release -p redsim-sim -- replay {} {seed}{}{}",
        path.display(),
        if flags.check_determinism {
            " --check-determinism"
        } else {
            ""
        },
        if flags.swarm { " --swarm" } else { "" }
    )
}
