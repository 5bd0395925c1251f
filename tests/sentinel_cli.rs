//! Starting a Sentinel from the command line (`redsim-sentinel file.conf`, `redsim-server file.conf
//! --sentinel`): like Redis it refuses to start without a config file it can write, and reports
//! a bad `sentinel` line as a fatal config error. No Sentinel runs to completion here: every story
//! ends with the process exiting on its own.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::real_redis::TempDir;

const SERVER: &str = env!("CARGO_BIN_EXE_redsim-server");
const SENTINEL: &str = env!("CARGO_BIN_EXE_redsim-sentinel");

/// Runs a binary in `dir` and waits for it to exit by itself (10 s at most).
fn run(bin: &str, args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} {args:?} did not exit by itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts exit status 1 and one Redis warning log line `<pid>:X <date> # <msg>` on stdout.
fn assert_refused_with_log(out: &Output, msg: &str) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.ends_with(msg));
    let line = line.unwrap_or_else(|| panic!("no log line ending {msg:?} in {stdout:?}"));
    let (pid, rest) = line.split_once(':').expect("pid:role");
    assert!(
        pid.parse::<u32>().is_ok() && rest.starts_with("X "),
        "{line}"
    );
    assert!(line.contains(&format!(" # {msg}")), "{line}");
}

#[test]
fn a_sentinel_without_a_config_file_refuses_to_start() {
    let dir = TempDir::new("sentinel-no-conf");
    let msg = "Sentinel needs config file on disk to save state. Exiting...";
    assert_refused_with_log(&run(SENTINEL, &[], &dir.0), msg);
    assert_refused_with_log(&run(SENTINEL, &["--port", "0"], &dir.0), msg);
    assert_refused_with_log(&run(SERVER, &["--sentinel"], &dir.0), msg);
    assert_refused_with_log(&run(SERVER, &["--port", "0", "--sentinel"], &dir.0), msg);
}

/// A file nobody may write, root included (`chattr +i` when permissions do not stop root);
/// made writable again on drop.
struct Unwritable(PathBuf);

impl Unwritable {
    /// None (after a notice) if this system lets us write it whatever we do.
    fn new(path: PathBuf) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        let writable = |p: &Path| std::fs::OpenOptions::new().append(true).open(p).is_ok();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let file = Unwritable(path);
        if writable(&file.0) {
            let _ = Command::new("chattr").arg("+i").arg(&file.0).status();
        }
        if writable(&file.0) {
            println!("NOTICE: cannot make a file unwritable here; skipping that story");
            return None;
        }
        Some(file)
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn a_sentinel_whose_config_file_is_not_writable_refuses_to_start() {
    let dir = TempDir::new("sentinel-ro-conf");
    let path = dir.0.join("sentinel.conf");
    std::fs::write(&path, "sentinel monitor m 127.0.0.1 6379 2\n").unwrap();
    let Some(file) = Unwritable::new(path) else {
        return;
    };
    for (bin, args) in [
        (SENTINEL, &["sentinel.conf"][..]),
        (SERVER, &["sentinel.conf", "--sentinel"]),
    ] {
        let out = run(bin, args, &dir.0);
        let stdout = text(&out.stdout);
        // Like Redis: the absolute path, then strerror's text (EACCES or, for root, EPERM).
        let start = format!(
            "Sentinel config file {} is not writable: ",
            file.0.display()
        );
        let reason = ["Permission denied", "Operation not permitted"]
            .into_iter()
            .find(|r| stdout.contains(&format!("{start}{r}. Exiting...")))
            .unwrap_or_else(|| panic!("{bin}: no refusal in {stdout:?}"));
        assert_refused_with_log(&out, &format!("{start}{reason}. Exiting..."));
    }
}

#[test]
fn a_bad_sentinel_line_is_a_fatal_config_error() {
    let dir = TempDir::new("sentinel-bad-line");
    let conf = "port 26400\nsentinel monitor m 127.0.0.1 6379 0\n";
    std::fs::write(dir.0.join("s.conf"), conf).unwrap();
    let expected = "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.6) ***\n\
                    Reading the configuration file, at line 2\n\
                    >>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater.\n";
    for (bin, args) in [
        (SENTINEL, &["s.conf"][..]),
        (SERVER, &["s.conf", "--sentinel"]),
    ] {
        let out = run(bin, args, &dir.0);
        assert_eq!(out.status.code(), Some(1), "{bin}");
        assert_eq!(text(&out.stderr), expected, "{bin}");
    }
    // Without Sentinel mode the same file is refused for its `sentinel` line.
    let out = run(SERVER, &["s.conf"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with("\nsentinel directive while not in sentinel mode\n"));
}
