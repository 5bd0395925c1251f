//! Live mode's processes and what they leave behind. A live run claims a slot (one of 15) under
//! `/tmp/redsim-live/slot-<k>`: its directory holds the nodes' directories, config files and
//! logs, the harness's pid (`owner`) and every child's pid (`pids`). The slot also gives the run
//! its loopback block (`127.<16k>.0.0/12`), nftables table and tc handle, so runs side by side
//! (parallel tests) never meet. A slot whose owner is dead (a harness killed with SIGKILL) is
//! swept before any slot is claimed: its processes killed by pid (checked against their command
//! line), its table and qdisc removed (`crate::live_net`), its directory deleted.

use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where live runs keep their slots.
pub const BASE_DIR: &str = "/tmp/redsim-live";
/// Slots 1..=MAX_SLOTS (the second octet of a slot's addresses is 16k..16k+15).
const MAX_SLOTS: u8 = 15;

/// A claimed slot; dropping it deletes its directory (the run's processes and rules go first:
/// see `crate::live::Run`'s field order).
pub struct Slot {
    pub k: u8,
    pub dir: PathBuf,
}

/// The process start time of `pid` (field 22 of /proc/pid/stat), if it is alive.
fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(19).map(str::to_string)
}

/// True if the process named in a slot's `owner` file ("pid start-time") still runs.
fn owner_alive(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("owner")) else {
        return false;
    };
    let mut words = text.split_whitespace();
    let (Some(pid), Some(started)) = (words.next(), words.next()) else {
        return false;
    };
    pid.parse().ok().and_then(start_time).as_deref() == Some(started)
}

impl Slot {
    /// Sweeps the slots of dead harnesses, then claims a free slot.
    pub fn claim() -> Result<Slot, String> {
        let base = Path::new(BASE_DIR);
        fs::create_dir_all(base).map_err(|e| format!("{BASE_DIR}: {e}"))?;
        let me = std::process::id();
        let owner = format!("{me} {}\n", start_time(me).unwrap_or_default());
        for k in 1..=MAX_SLOTS {
            let dir = slot_dir(k);
            if dir.exists() {
                if owner_alive(&dir) {
                    continue;
                }
                sweep(k, &dir);
            }
            // The slot appears whole (with its owner) or not at all.
            let fresh = base.join(format!(".new-{me}-{k}"));
            let _ = fs::remove_dir_all(&fresh);
            fs::create_dir(&fresh).map_err(|e| format!("{}: {e}", fresh.display()))?;
            fs::write(fresh.join("owner"), &owner).map_err(|e| e.to_string())?;
            if fs::rename(&fresh, &dir).is_ok() {
                return Ok(Slot { k, dir });
            }
            let _ = fs::remove_dir_all(&fresh);
        }
        Err(format!(
            "all {MAX_SLOTS} live slots under {BASE_DIR} are in use"
        ))
    }

    /// The loopback address of node `i` of `kind` (1 servers, 2 clients, 3 the harness): the
    /// simulator's `10.<kind>.x.y` moved into this slot's block.
    pub fn ip(&self, kind: u8, i: usize) -> Ipv4Addr {
        let sim = crate::run::node_ip(kind, i).octets();
        Ipv4Addr::new(127, 16 * self.k + kind, sim[2], sim[3])
    }

    /// Remembers a child's pid, for the sweep after a crash of the harness.
    fn record_pid(&self, pid: u32) {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("pids"));
        if let Ok(mut f) = file {
            let _ = writeln!(f, "{pid}");
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `text` with slot `k`'s addresses written as the simulator's (`127.17.0.1` -> `10.1.0.1`), so
/// live and simulated traces read alike and the same expectations match.
pub fn to_sim(k: u8, text: &str) -> String {
    (1..=3u8).fold(text.to_string(), |t, kind| {
        t.replace(&format!("127.{}.", 16 * k + kind), &format!("10.{kind}."))
    })
}

/// The directory of slot `k`.
pub fn slot_dir(k: u8) -> PathBuf {
    Path::new(BASE_DIR).join(format!("slot-{k}"))
}

/// The pids of running processes whose command line names slot `k`'s directory.
pub fn processes_of(k: u8) -> Vec<u32> {
    let marker = format!("{}/", slot_dir(k).display());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(&marker)
        })
        .collect()
}

/// Removes what a dead harness left in slot `k`.
fn sweep(k: u8, dir: &Path) {
    let pids = fs::read_to_string(dir.join("pids")).unwrap_or_default();
    let marker = dir.to_string_lossy().into_owned();
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&marker) {
            // SAFETY: kill(2) on a pid whose command line names this slot's directory.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    crate::live_net::sweep(k);
    let _ = fs::remove_dir_all(dir);
}

/// One node's process: its command line, and the child while it runs.
pub struct Proc {
    argv: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl Proc {
    pub fn new(argv: Vec<String>, dir: PathBuf) -> Proc {
        Proc {
            argv,
            dir,
            child: None,
        }
    }

    /// True while the process runs (stopped counts as running).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the process (again) with the same command line; output goes to `stdout.log`.
    pub fn start(&mut self, slot: &Slot) -> Result<(), String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stdout.log"))
            .map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl in the child before exec: it dies with the thread that started it (the
        // harness's), even when the harness is killed with SIGKILL.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("{}: {e}", self.argv[0]))?;
        slot.record_pid(child.id());
        self.child = Some(child);
        Ok(())
    }

    /// Sends `signal` to the running process.
    pub fn signal(&mut self, signal: i32) {
        if let Some(c) = self.child.as_ref().filter(|_| signal != libc::SIGKILL) {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, signal) };
            return;
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}
