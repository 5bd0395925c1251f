//! The `main` shared by the redsim-server and redsim-sentinel binaries: redis-server's command
//! line (`[file.conf] [--directive value]... [--sentinel]`), the config file read from the real
//! file system, Sentinel mode's start-up checks, then the server on a tokio runtime.

use crate::config::file::{load, strerror, Files};
use crate::config::{Config, LogLevel};
use crate::env::Env;
use crate::tokio_env::TokioEnv;
use std::os::unix::fs::PermissionsExt;

/// The real file system, for loading the config.
struct OsFiles;

impl Files for OsFiles {
    fn read(&self, path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn executable(&self, path: &str) -> bool {
        executable(path)
    }
    fn change_dir(&self, path: &str) -> std::io::Result<Option<String>> {
        std::env::set_current_dir(path)?;
        let cwd = std::env::current_dir()?;
        Ok(Some(cwd.to_string_lossy().into_owned()))
    }
}

/// Whether `path` is a file someone may execute (a Sentinel script).
pub fn executable(path: &str) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the server with the process' arguments and exits. `sentinel` is true for the
/// redsim-sentinel binary (like redis-sentinel, Sentinel mode without `--sentinel`).
pub fn main(sentinel: bool) {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Redis server v={} sha=00000000:0 malloc=libc bits=64 build=redsim",
            crate::REDIS_VERSION
        );
        return;
    }
    // Like Redis, remember the config file by its absolute path (CONFIG REWRITE, INFO).
    if let Some(file) = args.first_mut().filter(|a| !a.starts_with('-')) {
        if let Ok(path) = std::path::absolute(&*file) {
            *file = path.to_string_lossy().into_owned();
        }
    }
    let (config, text) = match load(&args, sentinel, &OsFiles) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut config = config;
    config.log_to_tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut env = match TokioEnv::new(&config.logfile) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Can't open the log file: {e}");
            std::process::exit(1);
        }
    };
    // `bind-source-addr` takes effect at startup only (a CONFIG SET is remembered, not applied).
    if let Some(source) = config
        .noop
        .get("bind-source-addr")
        .filter(|a| !a.is_empty())
    {
        match source.parse() {
            Ok(ip) => env = env.with_source_ip(ip),
            Err(_) => {
                eprintln!("Invalid bind-source-addr {source:?}: an IP address");
                std::process::exit(1);
            }
        }
    }
    if let Err(msg) = sentinel_can_save(&config) {
        let line = crate::log::format_line(
            std::process::id(),
            'X',
            env.unix_ms(),
            LogLevel::Warning,
            &msg,
        );
        env.log_line(&line);
        std::process::exit(1);
    }
    // One thread, like Redis' event loop: connections that became readable together are served
    // in the order the kernel reported them, so a command sent before another on a different
    // connection runs first (Redis' tests rely on that).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(crate::shell::run_server(env.clone(), config, text));
    if let Err(e) = result {
        // Like Redis, the reasons go to the log (the test suite looks for them there).
        for msg in e.to_string().lines() {
            let line = crate::log::format_line(
                std::process::id(),
                'M',
                env.unix_ms(),
                LogLevel::Warning,
                msg,
            );
            env.log_line(&line);
        }
        std::process::exit(1);
    }
}

/// A Sentinel saves its state in its config file: it refuses to start without one it can write
/// (Redis' sentinelCheckConfigFile, with its messages).
fn sentinel_can_save(config: &Config) -> Result<(), String> {
    if !config.sentinel_mode {
        return Ok(());
    }
    let Some(path) = &config.config_file else {
        return Err("Sentinel needs config file on disk to save state. Exiting...".into());
    };
    // Opening for append writes nothing and succeeds exactly when writing is allowed.
    match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "Sentinel config file {path} is not writable: {}. Exiting...",
            strerror(&e)
        )),
    }
}
