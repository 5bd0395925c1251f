//! Shared by the interop tests: locating real Redis tools (skip with a notice, or fail when
//! `REDSIM_REQUIRE_INTEROP=1`), picking free ports, and running redsim-server as a child process.
//! `real_redis` runs a real redis-server and holds the RESP client; `conf_process` runs a
//! redsim-server or a real sentinel from its own config file, to kill and restart it;
//! `sentinel_procs` runs Sentinels (redsim and real).
// Each test crate uses a different part of this shared module.
#![allow(dead_code)]

#[allow(dead_code)]
pub mod conf_process;
#[allow(dead_code)]
pub mod real_redis;
pub mod sentinel_procs;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Returns false (after printing a notice) when `tool` is missing and interop is optional.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("REDSIM_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{tool} is required (REDSIM_REQUIRE_INTEROP=1) but not installed");
        }
        println!("NOTICE: {tool} not installed; skipping this interop test");
    }
    found
}

/// True if python3 can import redis-py (same skip/fail rules as `have`).
pub fn have_redis_py() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import redis"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("REDSIM_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("redis-py is required (REDSIM_REQUIRE_INTEROP=1) but not importable");
        }
        println!("NOTICE: redis-py not installed; skipping this interop test");
    }
    ok
}

/// A port nobody listens on right now (never Redis' defaults).
pub fn free_port() -> u16 {
    // Tests in one binary run in parallel: never hand the same port out twice, or two servers
    // race for it (the OS may return a just-released port to the next bind).
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        if port != 6379 && port != 26379 && !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// True if something listens on `port`. A connect to a port nobody listens on can pick that same
/// port as its source and connect to itself (TCP simultaneous open): that does not count.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|s| s.local_addr().ok().map(|a| a.port()) != Some(port))
}

/// A redsim-server child process, killed on drop.
pub struct Server {
    pub port: u16,
    child: Child,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let port = free_port();
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_redsim-server"))
            .args(&args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start redsim-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listening(port) {
            assert!(
                Instant::now() < deadline,
                "redsim-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { port, child }
    }

    /// SHUTDOWN NOSAVE, then waits for a clean exit.
    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        real_redis::wait_exit(&mut self.child, || "redsim-server".into());
    }

    pub fn stop(mut self) {
        real_redis::Conn::wait_ready(self.port, String::new).shutdown_nosave();
        real_redis::wait_exit(&mut self.child, || "redsim-server".into());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs redis-cli against `port` with `args`, returning stdout (stdin from `input` if given).
pub fn cli(port: u16, args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("redis-cli output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
