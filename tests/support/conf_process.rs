//! A server process that runs from its own writable config file (so CONFIG REWRITE and a
//! sentinel's config flushes work), on a fixed free port: a redsim-server, or a real sentinel
//! (`redis-server <file> --sentinel`). It can be killed with SIGKILL and started again on the
//! same port with the same file, as an operator would restart it; killed on drop.

use super::free_port;
use super::real_redis::Conn;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct ConfProcess {
    pub port: u16,
    pub conf: PathBuf,
    log: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl ConfProcess {
    /// A redsim-server without persistence, logging to `dir/<name>.log`, with `lines` added to
    /// its config file.
    pub fn redsim(dir: &Path, name: &str, lines: &[String]) -> ConfProcess {
        let mut all = vec!["save \"\"".to_string(), "appendonly no".into()];
        all.extend_from_slice(lines);
        ConfProcess::start(
            dir,
            name,
            env!("CARGO_BIN_EXE_redsim-server").into(),
            &[],
            &all,
        )
    }

    /// A real sentinel with `lines` (its `sentinel monitor ...` and friends) in its config file.
    pub fn real_sentinel(dir: &Path, name: &str, lines: &[String]) -> ConfProcess {
        ConfProcess::start(dir, name, "redis-server".into(), &["--sentinel"], lines)
    }

    fn start(
        dir: &Path,
        name: &str,
        program: PathBuf,
        args: &[&str],
        lines: &[String],
    ) -> ConfProcess {
        let port = free_port();
        let conf = dir.join(format!("{name}.conf"));
        let log = dir.join(format!("{name}.log"));
        let data_dir = dir.join(name);
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        let mut text = format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\nloglevel verbose\n",
            data_dir.display(),
            log.display()
        );
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&conf, text).expect("write the config file");
        let mut p = ConfProcess {
            port,
            conf,
            log,
            program,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        p.restart();
        p
    }

    /// Starts the process again (same port, same config file, as it is now); returns once it
    /// answers PING.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name());
        let child = Command::new(&self.program)
            .arg(&self.conf)
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program.display()));
        self.child = Some(child);
        Conn::wait_ready(self.port, || self.log());
    }

    /// SIGKILL: no shutdown, no final save.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The config file as it is now.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.conf).expect("read the config file")
    }

    /// The whole log file.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The name and the end of the log file (for assertion messages).
    pub fn log(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        format!("--- {} (port {}) log:\n{tail}\n", self.name(), self.port)
    }

    fn name(&self) -> String {
        self.conf
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for ConfProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
