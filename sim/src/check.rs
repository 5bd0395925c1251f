//! The end-of-run check: reading acknowledged writes back, naming lost keys with how long before
//! the kill or crash that lost them they were acknowledged, and judging the scenario's
//! expectations, including RDB's promise (a kill or crash loses only writes acknowledged after the
//! snapshot point of the last completed save), `appendfsync everysec`'s (only writes
//! acknowledged in about the last second) and liveness (writes are acknowledged again soon after
//! the last fault). Every violation names its check, its nodes and a simulated time.

use crate::client::{Ack, Conn};
use crate::scenario::Expect;
use bytes::Bytes;
use redsim::resp::Frame;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;

/// Keys per MGET when checking.
const CHECK_BATCH: usize = 100;
/// Lost keys named per client in a violation.
const KEYS_NAMED: usize = 3;

/// A broken promise: the check (named after its expectation), the nodes, when, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub check: &'static str,
    pub nodes: Vec<String>,
    /// Simulated ms since the start.
    pub at_ms: u64,
    pub text: String,
}

impl Violation {
    pub fn new(check: &'static str, nodes: &[&str], at_ms: u64, text: impl Into<String>) -> Self {
        let mut nodes: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        nodes.sort();
        nodes.dedup();
        Violation {
            check,
            nodes,
            at_ms,
            text: text.into(),
        }
    }
}

impl fmt::Display for Violation {
    /// `lost_writes_max at 12.345s on c1, s1: expected at most 0 lost writes, got 2 (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.check, secs(self.at_ms))?;
        if !self.nodes.is_empty() {
            write!(f, " on {}", self.nodes.join(", "))?;
        }
        write!(f, ": {}", self.text)
    }
}

/// Reads a client made from a replica (`read_from`): how many, and how many were stale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaReads {
    pub server: String,
    pub reads: u64,
    pub stale: u64,
}

/// A node's saves as its trace events tell them: a BGSAVE's snapshot point is its start
/// (`+bgsave`), made durable by `bgsave ok`; a foreground save (`saved`) is its own snapshot point.
#[derive(Clone, Copy, Debug, Default)]
pub struct SaveWatch {
    started_ms: Option<u64>,
    /// Snapshot point of the last save that completed.
    pub last_ok_ms: Option<u64>,
}

impl SaveWatch {
    pub fn observe(&mut self, at_ms: u64, event: &str) {
        match event {
            "+bgsave" => self.started_ms = Some(at_ms),
            "bgsave ok" => {
                if let Some(start) = self.started_ms.take() {
                    self.last_ok_ms = Some(start);
                }
            }
            "saved" => self.last_ok_ms = Some(at_ms),
            e if e.starts_with("bgsave error") => self.started_ms = None,
            _ => {}
        }
    }
}

/// A moment a server lost its memory (kill or crash), and its last completed save then.
#[derive(Clone, Copy, Debug)]
pub struct Loss {
    /// `kill` or `crash`.
    pub how: &'static str,
    pub at_ms: u64,
    pub saved_from_ms: Option<u64>,
}

/// What the check found for one client.
pub struct ClientResult {
    pub name: String,
    pub server: String,
    pub acked: BTreeMap<Bytes, Ack>,
    pub failed: u64,
    pub write_errors: BTreeMap<String, u64>,
    /// Lost keys, or why the server could not be read.
    pub lost: Result<Vec<Bytes>, String>,
    /// Reads from a replica after each acknowledged write, if the client makes them.
    pub replica_reads: Option<ReplicaReads>,
}

impl ClientResult {
    /// Keys to count as lost (all of them when the server could not be read).
    pub fn lost_keys(&self) -> Vec<Bytes> {
        match &self.lost {
            Ok(lost) => lost.clone(),
            Err(_) => self.acked.keys().cloned().collect(),
        }
    }

    /// The client's line in the trace; `losses` are its server's kills and crashes.
    pub fn line(&self, losses: &[Loss]) -> String {
        let acked = self.acked.len();
        let errors: Vec<String> = self
            .write_errors
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect();
        let failed = if errors.is_empty() {
            format!("{} failed", self.failed)
        } else {
            format!("{} failed ({})", self.failed, errors.join(", "))
        };
        let line = match &self.lost {
            Ok(lost) if lost.is_empty() => format!("{acked} acked writes, 0 lost, {failed}"),
            Ok(lost) => {
                let mut detail = vec![key_ranges(lost)];
                detail.extend(self.loss_ages(losses));
                detail.retain(|d| !d.is_empty());
                format!(
                    "{acked} acked writes, {} lost ({}), {failed}",
                    lost.len(),
                    detail.join("; ")
                )
            }
            Err(e) => format!("{acked} acked writes, all lost: server unreachable ({e})"),
        };
        let reads = match &self.replica_reads {
            Some(r) => format!("; {} of {} reads from {} stale", r.stale, r.reads, r.server),
            None => String::new(),
        };
        format!("{}@{}: {line}{reads}", self.name, self.server)
    }

    /// `oldest acked 0.385s before the crash at 5.397s`, and how many lost writes no kill or
    /// crash explains.
    fn loss_ages(&self, losses: &[Loss]) -> Vec<String> {
        let lost = lost_writes(self, losses);
        let oldest = lost
            .iter()
            .filter_map(|w| Some((w.age_ms()?, w.loss?)))
            .max_by_key(|(age, _)| *age)
            .map(|(age, l)| {
                format!(
                    "oldest acked {} the {} at {}",
                    relative(age),
                    l.how,
                    secs(l.at_ms)
                )
            });
        let unexplained = lost.iter().filter(|w| w.loss.is_none()).count();
        let unexplained =
            (unexplained > 0).then(|| format!("{unexplained} with no kill or crash after them"));
        oldest.into_iter().chain(unexplained).collect()
    }
}

/// A lost acknowledged write and the kill or crash that lost it. The server executed the write
/// between sending and acknowledgement (a reply can still arrive after its server died), so it is
/// the first kill or crash at or after the write was sent; `None` if none came after it.
struct LostWrite<'a> {
    key: Bytes,
    ack: &'a Ack,
    loss: Option<&'a Loss>,
}

impl LostWrite<'_> {
    fn age_ms(&self) -> Option<i64> {
        self.loss.map(|l| age_ms(self.ack, l))
    }
}

/// How long before `loss` the write was acknowledged (negative: its reply came after).
fn age_ms(ack: &Ack, loss: &Loss) -> i64 {
    loss.at_ms as i64 - ack.at_ms as i64
}

fn lost_writes<'a>(r: &'a ClientResult, losses: &'a [Loss]) -> Vec<LostWrite<'a>> {
    r.lost_keys()
        .into_iter()
        .filter_map(|key| {
            let ack = r.acked.get(&key)?;
            let loss = losses.iter().find(|l| l.at_ms >= ack.sent_ms);
            Some(LostWrite { key, ack, loss })
        })
        .collect()
}

/// The largest `age_ms` of any lost write of `r` (the sweeps report it).
pub fn max_lost_age_ms(r: &ClientResult, losses: &[Loss]) -> Option<i64> {
    lost_writes(r, losses)
        .iter()
        .filter_map(LostWrite::age_ms)
        .max()
}

/// Per server: when each acknowledged write's reply arrived and whether it was lost, in time order.
pub fn ack_times(results: &[ClientResult]) -> BTreeMap<String, Vec<(u64, bool)>> {
    let mut out: BTreeMap<String, Vec<(u64, bool)>> = BTreeMap::new();
    for r in results {
        let lost: std::collections::BTreeSet<Bytes> = r.lost_keys().into_iter().collect();
        let list = out.entry(r.server.clone()).or_default();
        list.extend(r.acked.iter().map(|(k, a)| (a.at_ms, lost.contains(k))));
    }
    out.values_mut().for_each(|l| l.sort_unstable());
    out
}

/// A check's findings (check name, text) as violations of `nodes`, dated `at_ms`.
pub fn findings(found: Vec<(&'static str, String)>, nodes: &[&str], at_ms: u64) -> Vec<Violation> {
    found
        .into_iter()
        .map(|(check, t)| Violation::new(check, nodes, at_ms, t))
        .collect()
}

/// Over every client: (acknowledged, lost, failed) writes.
pub fn totals(results: &[ClientResult]) -> (u64, u64, u64) {
    let acked = results.iter().map(|r| r.acked.len() as u64).sum();
    let lost = results.iter().map(|r| r.lost_keys().len() as u64).sum();
    let failed = results.iter().map(|r| r.failed).sum();
    (acked, lost, failed)
}

/// The kills and crashes of `server`, in time order.
pub fn losses_of<'a>(all: &'a BTreeMap<String, Vec<Loss>>, server: &str) -> &'a [Loss] {
    all.get(server).map_or(&[], Vec::as_slice)
}

/// Reads back acknowledged writes; returns the keys that are missing or changed.
pub async fn find_lost<E: redsim::env::Env>(
    env: &E,
    addr: SocketAddr,
    password: Option<Bytes>,
    acked: &[(Bytes, Bytes)],
) -> Result<Vec<Bytes>, String> {
    let mut conn = Conn::open_as(env, addr, password.as_deref()).await?;
    let mut lost = Vec::new();
    for batch in acked.chunks(CHECK_BATCH) {
        let mut args: Vec<&[u8]> = vec![b"MGET"];
        args.extend(batch.iter().map(|(k, _)| &k[..]));
        let Frame::Array(values) = conn.call(&args).await? else {
            return Err("MGET did not return an array".into());
        };
        for ((k, v), got) in batch.iter().zip(values) {
            if got != Frame::Bulk(v.clone()) {
                lost.push(k.clone());
            }
        }
    }
    Ok(lost)
}

/// Every expectation the run missed, judged at `at_ms`: safety first (lost writes), then counts.
pub fn judge(
    e: &Expect,
    results: &[ClientResult],
    losses: &BTreeMap<String, Vec<Loss>>,
    trace: &str,
    at_ms: u64,
) -> Vec<Violation> {
    let acked: u64 = results.iter().map(|r| r.acked.len() as u64).sum();
    let lost: u64 = results.iter().map(|r| r.lost_keys().len() as u64).sum();
    let failed: u64 = results.iter().map(|r| r.failed).sum();
    let mut out: Vec<Violation> = Vec::new();
    for r in results {
        let losses = losses_of(losses, &r.server);
        if e.lost_only_after_last_save {
            out.extend(unexcused(
                r,
                losses,
                ("lost_only_after_last_save", at_ms),
                "lost writes acknowledged before the last save",
                |ack, l| match l.saved_from_ms {
                    // Strict on truncated ms: acked before `from` means executed before the snapshot.
                    Some(from) if ack.at_ms < from => Some(format!(
                        " although the save from {} had completed",
                        secs(from)
                    )),
                    _ => None,
                },
            ));
        }
        if let Some(window_s) = e.lost_only_acked_within_s_before_crash {
            let window_ms = (window_s * 1000.0).round() as i64;
            out.extend(unexcused(
                r,
                losses,
                ("lost_only_acked_within_s_before_crash", at_ms),
                &format!("lost writes acknowledged more than {window_s}s before the crash"),
                |ack, l| {
                    let age = age_ms(ack, l);
                    (age > window_ms)
                        .then(|| format!(", {} after its acknowledgement", secs(age as u64)))
                },
            ));
        }
    }
    let lossy: Vec<&ClientResult> = results
        .iter()
        .filter(|r| !r.lost_keys().is_empty())
        .collect();
    let bounds = [
        (
            e.lost_writes_min,
            "lost_writes_min",
            lost,
            true,
            "lost writes",
        ),
        (
            e.lost_writes_max,
            "lost_writes_max",
            lost,
            false,
            "lost writes",
        ),
        (
            e.acked_writes_min,
            "acked_writes_min",
            acked,
            true,
            "acked writes",
        ),
        (
            e.failed_writes_min,
            "failed_writes_min",
            failed,
            true,
            "failed writes",
        ),
    ];
    for (bound, check, got, is_min, what) in bounds {
        let Some(bound) = bound else { continue };
        if (is_min && got >= bound) || (!is_min && got <= bound) {
            continue;
        }
        let word = if is_min { "least" } else { "most" };
        let mut text = format!("expected at {word} {bound} {what}, got {got}");
        let mut nodes: Vec<&str> = Vec::new();
        if what == "lost writes" && !lossy.is_empty() {
            let per_client: Vec<String> = lossy
                .iter()
                .map(|r| format!("{}@{}: {}", r.name, r.server, lost_summary(r)))
                .collect();
            text.push_str(&format!(" ({})", per_client.join("; ")));
            nodes.extend(
                lossy
                    .iter()
                    .flat_map(|r| [r.name.as_str(), r.server.as_str()]),
            );
        }
        out.push(Violation::new(check, &nodes, at_ms, text));
    }
    out.extend(
        missing_in_order(trace, &e.trace_in_order)
            .map(|t| Violation::new("trace_in_order", &[], at_ms, t)),
    );
    out
}

/// Liveness (`writes_resume_within_s`): every client whose server ends the run as a master (in
/// `masters`) has a write acknowledged within the window after `heal_ms`, the last fault; a
/// violation is dated at the window's end.
pub fn writes_resumed(
    e: &Expect,
    results: &[ClientResult],
    masters: &BTreeSet<String>,
    heal_ms: u64,
) -> Vec<Violation> {
    let Some(window_s) = e.writes_resume_within_s else {
        return Vec::new();
    };
    let until_ms = heal_ms + (window_s * 1000.0).round() as u64;
    results
        .iter()
        .filter(|r| masters.contains(&r.server))
        .filter(|r| {
            !r.acked
                .values()
                .any(|a| (heal_ms..=until_ms).contains(&a.at_ms))
        })
        .map(|r| {
            let last = r.acked.values().map(|a| a.at_ms).max();
            let last = last.map_or("none at all".to_string(), |t| {
                format!("the last at {}", secs(t))
            });
            Violation::new(
                "writes_resume_within_s",
                &[&r.name, &r.server],
                until_ms,
                format!(
                    "no write acknowledged in {window_s}s after the last fault at {} ({last})",
                    secs(heal_ms)
                ),
            )
        })
        .collect()
}

/// A client's lost keys for a violation: `c1:3..c1:9, c1:12` (the first few ranges).
fn lost_summary(r: &ClientResult) -> String {
    match &r.lost {
        Err(e) => format!("all {} unreadable ({e})", r.acked.len()),
        Ok(lost) => {
            let ranges = key_ranges(lost);
            let parts: Vec<&str> = ranges.split(", ").collect();
            match parts.len() > KEYS_NAMED {
                true => format!("{}, …", parts[..KEYS_NAMED].join(", ")),
                false => ranges,
            }
        }
    }
}

/// The violation naming `r`'s lost writes that nothing excuses: a write lost with no kill or
/// crash after it, or one its loss does not excuse (`why` says why not, or `None` to excuse it).
/// It is dated by the first such write's loss (the check's time if none came after it).
fn unexcused(
    r: &ClientResult,
    losses: &[Loss],
    (check, at_ms): (&'static str, u64),
    title: &str,
    why: impl Fn(&Ack, &Loss) -> Option<String>,
) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut first_ms = None;
    for w in lost_writes(r, losses) {
        let why = match w.loss {
            None => "with no kill or crash after it".to_string(),
            Some(l) => match why(w.ack, l) {
                Some(why) => format!("in the {} at {}{why}", l.how, secs(l.at_ms)),
                None => continue,
            },
        };
        first_ms.get_or_insert(w.loss.map_or(at_ms, |l| l.at_ms));
        bad.push(format!(
            "{} acked at {} was lost {why}",
            String::from_utf8_lossy(&w.key),
            secs(w.ack.at_ms)
        ));
    }
    let n = bad.len();
    bad.truncate(KEYS_NAMED);
    first_ms.map(|t| {
        let text = format!("{title} ({n}): {}", bad.join("; "));
        Violation::new(check, &[&r.name, &r.server], t, text)
    })
}

/// The first expected trace fragment not found after the previous one.
fn missing_in_order(trace: &str, wanted: &[String]) -> Option<String> {
    let mut lines = trace.lines();
    let mut previous: Option<&String> = None;
    for w in wanted {
        if !lines.any(|l| l.contains(w.as_str())) {
            return Some(match previous {
                Some(p) => format!("no trace line with {w:?} after one with {p:?}"),
                None => format!("no trace line with {w:?}"),
            });
        }
        previous = Some(w);
    }
    None
}

/// `12.345s`.
pub(crate) fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// `1.234s before` / `0.003s after` for a time `ms` before (negative: after) some moment.
fn relative(ms: i64) -> String {
    let side = if ms < 0 { "after" } else { "before" };
    format!("{} {side}", secs(ms.unsigned_abs()))
}

/// Names lost keys compactly: `c1:1..c1:78, c1:90` for keys `<client>:<n>`.
fn key_ranges(keys: &[Bytes]) -> String {
    let mut nums: Vec<(String, u64)> = keys
        .iter()
        .filter_map(|k| {
            let k = String::from_utf8_lossy(k);
            let (c, n) = k.rsplit_once(':')?;
            Some((c.to_string(), n.parse().ok()?))
        })
        .collect();
    nums.sort();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        let mut j = i;
        while j + 1 < nums.len() && nums[j + 1].0 == nums[i].0 && nums[j + 1].1 == nums[j].1 + 1 {
            j += 1;
        }
        let (c, a) = &nums[i];
        parts.push(if i == j {
            format!("{c}:{a}")
        } else {
            format!("{c}:{a}..{c}:{}", nums[j].1)
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
