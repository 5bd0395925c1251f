//! Live mode's network faults on the loopback interface, all confined to one slot's addresses
//! (`crate::live_proc::Slot`): partitions are nftables rules in a table of our own
//! (`inet redsim_live_<k>`, an input-hook chain dropping packets between the two sides), and
//! latency is a `tc netem` delay on `lo` behind a prio qdisc with our own handle, filtered by the
//! slot's source addresses. Dropping `Net` removes both; `sweep` removes a dead run's.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The nftables table of slot `k`.
fn table(k: u8) -> String {
    format!("redsim_live_{k}")
}

/// The tc handle (major number, hex) of slot `k`'s root qdisc on `lo`.
fn qdisc_handle(k: u8) -> String {
    format!("{:x}:", 0x7e00 + k as u32)
}

/// Runs a program; its failure (with stderr) is the error.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<(), String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input
            .write_all(text.as_bytes())
            .map_err(|e| format!("{program}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(format!("{program} {}: {why}", args.join(" ")))
}

/// True if slot `k`'s qdisc is on `lo`.
fn has_qdisc(k: u8) -> bool {
    let out = Command::new("tc")
        .args(["qdisc", "show", "dev", "lo"])
        .output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let ours = format!("qdisc prio {} root", qdisc_handle(k));
    text.is_ok_and(|t| t.contains(&ours))
}

/// Removes slot `k`'s table and qdisc, if they are there.
pub fn sweep(k: u8) {
    let _ = run("nft", &["delete", "table", "inet", &table(k)], None);
    if has_qdisc(k) {
        let _ = run("tc", &["qdisc", "del", "dev", "lo", "root"], None);
    }
}

/// True if the slot's table or qdisc exists (tests assert nothing of ours is left).
pub fn leftovers(k: u8) -> bool {
    let listed = Command::new("nft")
        .args(["list", "table", "inet", &table(k)])
        .output();
    listed.is_ok_and(|o| o.status.success()) || has_qdisc(k)
}

/// What live faults need that may be missing: root, and the `nft` / `tc` programs.
pub fn missing_tools(nft: bool, tc: bool) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        out.push("root (nftables and tc change the loopback interface)".to_string());
    }
    for (needed, program) in [(nft, "nft"), (tc, "tc")] {
        let found = Command::new(program)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if needed && !found {
            out.push(format!("the `{program}` program"));
        }
    }
    out
}

/// The network faults of one slot.
pub struct Net {
    k: u8,
    /// The slot's address block, `127.<16k>.0.0/12`.
    block: String,
    table_made: bool,
    latency_on: bool,
}

impl Net {
    pub fn new(k: u8) -> Net {
        Net {
            k,
            block: format!("127.{}.0.0/12", 16 * k),
            table_made: false,
            latency_on: false,
        }
    }

    /// Drops what `inside` sends to `outside`, and (unless `one_way`) what they send back.
    pub fn partition(
        &mut self,
        inside: &[Ipv4Addr],
        outside: &[Ipv4Addr],
        one_way: bool,
    ) -> Result<(), String> {
        let set = |ips: &[Ipv4Addr]| {
            let words: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
            format!("{{ {} }}", words.join(", "))
        };
        let (a, b) = (set(inside), set(outside));
        let t = table(self.k);
        let mut script = String::new();
        if !self.table_made {
            script.push_str(&format!(
                "add table inet {t}\nadd chain inet {t} cut {{ type filter hook input priority 0; policy accept; }}\n"
            ));
        }
        script.push_str(&format!(
            "add rule inet {t} cut ip saddr {a} ip daddr {b} drop\n"
        ));
        if !one_way {
            script.push_str(&format!(
                "add rule inet {t} cut ip saddr {b} ip daddr {a} drop\n"
            ));
        }
        run("nft", &["-f", "-"], Some(&script))?;
        self.table_made = true;
        Ok(())
    }

    /// Removes every partition.
    pub fn heal(&mut self) -> Result<(), String> {
        if !self.table_made {
            return Ok(());
        }
        run(
            "nft",
            &["flush", "chain", "inet", &table(self.k), "cut"],
            None,
        )
    }

    /// Delays every packet the slot's addresses send by a time in `range_ms` (netem's mean and
    /// jitter); `None` removes the delay.
    pub fn latency(&mut self, range_ms: Option<[u64; 2]>) -> Result<(), String> {
        if self.latency_on {
            run("tc", &["qdisc", "del", "dev", "lo", "root"], None)?;
            self.latency_on = false;
        }
        let Some([lo, hi]) = range_ms else {
            return Ok(());
        };
        let handle = qdisc_handle(self.k);
        let major = handle.trim_end_matches(':');
        // A fourth band: the default priomap sends other traffic to bands 1..3 only.
        let (band, netem) = (format!("{major}:4"), format!("{major}4:"));
        let (mean, jitter) = (
            format!("{}ms", (lo + hi) / 2),
            format!("{}ms", (hi - lo) / 2),
        );
        let root = [
            "qdisc", "add", "dev", "lo", "root", "handle", &handle, "prio", "bands", "4",
        ];
        run("tc", &root, None)?;
        self.latency_on = true;
        let delay = [
            "qdisc", "add", "dev", "lo", "parent", &band, "handle", &netem, "netem", "delay",
            &mean, &jitter,
        ];
        run("tc", &delay, None)?;
        let filter = [
            "filter",
            "add",
            "dev",
            "lo",
            "parent",
            &handle,
            "protocol",
            "ip",
            "u32",
            "match",
            "ip",
            "src",
            &self.block,
            "flowid",
            &band,
        ];
        run("tc", &filter, None)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if self.table_made {
            let _ = run("nft", &["delete", "table", "inet", &table(self.k)], None);
        }
        if self.latency_on {
            let _ = run("tc", &["qdisc", "del", "dev", "lo", "root"], None);
        }
    }
}
