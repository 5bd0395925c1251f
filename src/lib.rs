//! redsim: a Redis-compatible server (and, later, replication and Sentinel) whose logic is
//! written sans-IO (`core`) and driven by one async shell (`shell`) over an `Env` boundary:
//! `TokioEnv` for real processes, `SimEnv` (crate `redsim-sim`) for deterministic simulation.

pub mod acl;
#[cfg(feature = "bug-injection")]
pub mod bugs;
/// `injected!(bugs, Kind)`: whether `bugs` (a `bugs::Bugs`) has that deliberate bug on; `false`
/// (and `bugs` not evaluated) without the test-only `bug-injection` feature.
#[cfg(feature = "bug-injection")]
macro_rules! injected {
    ($bugs:expr, $kind:ident) => {
        $bugs.has($crate::bugs::Bug::$kind)
    };
}
#[cfg(not(feature = "bug-injection"))]
macro_rules! injected {
    ($bugs:expr, $kind:ident) => {
        false
    };
}
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod db;
pub mod env;
pub mod log;
pub mod rdb;
pub mod repl;
pub mod resp;
pub mod scripting;
pub mod sentinel;
pub mod shell;
pub mod text;
pub mod tokio_env;

/// The Redis version this server reports and whose behaviour it follows.
pub const REDIS_VERSION: &str = "7.2.6";
