//! Sentinel processes for the interop stories: redsim-sentinel and real `redis-server
//! --sentinel` children (killed on drop), each with its own writable sentinel.conf watching
//! `mymaster` (down-after 1000 ms, failover-timeout 5000 ms), and the SENTINEL queries the
//! stories poll with a deadline.

use super::free_port;
use super::real_redis::{Conn, Reply};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MASTER: &str = "mymaster";

/// Which program runs a Sentinel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Redsim,
    Real,
}

pub struct SentinelProc {
    pub kind: Kind,
    pub port: u16,
    pub conf: PathBuf,
    log: PathBuf,
    child: Child,
}

impl SentinelProc {
    /// Writes `dir/<tag>.conf` monitoring `127.0.0.1:master_port` with quorum 2 and starts it.
    pub fn start(dir: &Path, tag: &str, kind: Kind, master_port: u16) -> SentinelProc {
        let port = free_port();
        let conf = dir.join(format!("{tag}.conf"));
        let text = format!(
            "port {port}\nbind 127.0.0.1\n\
             sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 5000\n"
        );
        std::fs::write(&conf, text).expect("write sentinel.conf");
        let log = dir.join(format!("{tag}.log"));
        let out = std::fs::File::create(&log).expect("create log");
        let mut cmd = match kind {
            Kind::Redsim => Command::new(env!("CARGO_BIN_EXE_redsim-sentinel")),
            Kind::Real => Command::new("redis-server"),
        };
        cmd.arg(&conf);
        if kind == Kind::Real {
            cmd.arg("--sentinel");
        }
        let child = cmd
            .current_dir(dir)
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("start a sentinel");
        let s = SentinelProc {
            kind,
            port,
            conf,
            log,
            child,
        };
        Conn::wait_ready(port, || format!("{kind:?} sentinel log:\n{}", s.log()));
        s
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn conf_text(&self) -> String {
        std::fs::read_to_string(&self.conf).unwrap_or_default()
    }

    pub fn cmd(&self, args: &[&str]) -> Reply {
        Conn::connect(self.port).cmd(args)
    }

    /// SENTINEL GET-MASTER-ADDR-BY-NAME mymaster.
    pub fn master_addr(&self) -> Option<(String, u16)> {
        match self.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER]) {
            Reply::Array(a) if a.len() == 2 => {
                let mut a = a.into_iter().map(|r| text(&r.bytes()));
                let ip = a.next()?;
                Some((ip, a.next()?.parse().ok()?))
            }
            _ => None,
        }
    }

    /// `SENTINEL <sub> mymaster` as field/value pairs (MASTER) or a list of them.
    pub fn fields(&self, sub: &str) -> Vec<Vec<(String, String)>> {
        match self.cmd(&["SENTINEL", sub, MASTER]) {
            Reply::Array(items) if matches!(items.first(), Some(Reply::Array(_))) => {
                items.into_iter().map(pairs).collect()
            }
            other => vec![pairs(other)],
        }
    }

    pub fn master_field(&self, name: &str) -> String {
        field(&self.fields("MASTER")[0], name)
    }
}

impl Drop for SentinelProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one Sentinel of each kind listed, all watching `master_port`.
pub fn start_all(dir: &Path, kinds: &[Kind], master_port: u16) -> Vec<SentinelProc> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| SentinelProc::start(dir, &format!("sentinel{i}"), *k, master_port))
        .collect()
}

/// Waits until every Sentinel knows all the others and `replicas` replicas, with its links to
/// the others up (CKQUORUM counts them all as usable).
pub fn wait_discovered(sentinels: &[SentinelProc], replicas: usize) {
    let usable = Reply::Simple(format!(
        "OK {} usable Sentinels. Quorum and failover authorization can be reached",
        sentinels.len()
    ));
    let what = "the Sentinels to discover each other and the replicas";
    wait_for(what, 20, sentinels, || {
        sentinels.iter().all(|s| {
            s.fields("SENTINELS").len() == sentinels.len() - 1
                && s.fields("REPLICAS").len() == replicas
                && s.cmd(&["SENTINEL", "CKQUORUM", MASTER]) == usable
        })
    });
}

/// The master every Sentinel names, once they all name the same one.
pub fn agreed_master(sentinels: &[SentinelProc]) -> Option<(String, u16)> {
    let first = sentinels.first()?.master_addr()?;
    sentinels[1..]
        .iter()
        .all(|s| s.master_addr().as_ref() == Some(&first))
        .then_some(first)
}

/// Polls `f` every 100 ms for up to `secs`; on timeout fails with every Sentinel's log and
/// config.
pub fn wait_for(what: &str, secs: u64, sentinels: &[SentinelProc], mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        if Instant::now() > deadline {
            let logs: Vec<String> = sentinels
                .iter()
                .map(|s| {
                    let (kind, port) = (s.kind, s.port);
                    format!("--- {kind:?} sentinel on {port}, log:\n{}", s.log())
                        + &format!("--- its config:\n{}", s.conf_text())
                })
                .collect();
            panic!("timed out waiting for {what}\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A flat field/value array as pairs.
pub fn pairs(r: Reply) -> Vec<(String, String)> {
    let Reply::Array(items) = r else {
        panic!("expected a field/value array, got {r:?}");
    };
    let flat: Vec<String> = items.into_iter().map(|i| text(&i.bytes())).collect();
    flat.chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {name} in {pairs:?}"))
}

/// ROLE of the server on `port`: (role, master port for a replica, link state for a replica).
pub fn role(port: u16) -> (String, Option<u16>, Option<String>) {
    let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return ("down".into(), None, None);
    };
    drop(stream);
    match Conn::connect(port).cmd(&["ROLE"]) {
        Reply::Array(items) => {
            let word = |i: usize| match items.get(i) {
                Some(Reply::Bulk(Some(b))) => Some(text(b)),
                _ => None,
            };
            let port = match items.get(2) {
                Some(Reply::Int(p)) => u16::try_from(*p).ok(),
                _ => None,
            };
            (word(0).unwrap_or_default(), port, word(3))
        }
        other => (format!("{other:?}"), None, None),
    }
}
