//! The end-of-run check: reading acknowledged writes back, naming lost keys, and judging the
//! scenario's expectations, including RDB's promise that a kill or crash loses only writes
//! acknowledged after the snapshot point of the last completed save.

use crate::client::{Ack, Conn};
use crate::scenario::Expect;
use bytes::Bytes;
use redsim::resp::Frame;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Keys per MGET when checking.
const CHECK_BATCH: usize = 100;
/// Lost keys named per client in a violation.
const KEYS_NAMED: usize = 3;

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
}

impl ClientResult {
    /// Keys to count as lost (all of them when the server could not be read).
    pub fn lost_keys(&self) -> Vec<Bytes> {
        match &self.lost {
            Ok(lost) => lost.clone(),
            Err(_) => self.acked.keys().cloned().collect(),
        }
    }

    /// The client's line in the trace.
    pub fn line(&self) -> String {
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
            Ok(lost) => format!(
                "{acked} acked writes, {} lost{}, {failed}",
                lost.len(),
                key_ranges(lost)
            ),
            Err(e) => format!("{acked} acked writes, all lost: server unreachable ({e})"),
        };
        format!("{}@{}: {line}", self.name, self.server)
    }
}

/// Reads back acknowledged writes; returns the keys that are missing or changed.
pub async fn find_lost(
    addr: SocketAddr,
    password: Option<Bytes>,
    acked: &[(Bytes, Bytes)],
) -> Result<Vec<Bytes>, String> {
    let mut conn = Conn::open_as(addr, password.as_deref()).await?;
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

/// Every expectation the run missed.
pub fn judge(
    e: &Expect,
    results: &[ClientResult],
    losses: &BTreeMap<String, Vec<Loss>>,
    trace: &str,
) -> Vec<String> {
    let acked: u64 = results.iter().map(|r| r.acked.len() as u64).sum();
    let lost: u64 = results.iter().map(|r| r.lost_keys().len() as u64).sum();
    let failed: u64 = results.iter().map(|r| r.failed).sum();
    let bounds = [
        (e.lost_writes_min, lost, true, "lost writes"),
        (e.lost_writes_max, lost, false, "lost writes"),
        (e.acked_writes_min, acked, true, "acked writes"),
        (e.failed_writes_min, failed, true, "failed writes"),
    ];
    let mut out: Vec<String> = bounds
        .iter()
        .filter_map(|&(bound, got, is_min, what)| {
            let bound = bound?;
            let missed = if is_min { got < bound } else { got > bound };
            let word = if is_min { "least" } else { "most" };
            missed.then(|| format!("expected at {word} {bound} {what}, got {got}"))
        })
        .collect();
    if e.lost_only_after_last_save {
        for r in results {
            let none = Vec::new();
            out.extend(lost_before_save(r, losses.get(&r.server).unwrap_or(&none)));
        }
    }
    out.extend(missing_in_order(trace, &e.trace_in_order));
    out
}

/// Lost keys of `r` that its server's saves should have kept. The server executed a write
/// between sending and acknowledgement (a reply can still arrive after its server died), so a lost
/// key is judged by the first kill or crash at or after it was sent; that loss is excused unless
/// the write was acknowledged before the snapshot point of the last save completed before it.
fn lost_before_save(r: &ClientResult, losses: &[Loss]) -> Option<String> {
    let mut bad = Vec::new();
    for key in r.lost_keys() {
        let Some(ack) = r.acked.get(&key) else {
            continue;
        };
        let why = match losses.iter().find(|l| l.at_ms >= ack.sent_ms) {
            None => "with no kill or crash after it".to_string(),
            // Strict on truncated ms: acked before `from` means executed before the snapshot.
            Some(l) => match l.saved_from_ms {
                Some(from) if ack.at_ms < from => format!(
                    "in the {} at {} although the save from {} had completed",
                    l.how,
                    secs(l.at_ms),
                    secs(from)
                ),
                _ => continue,
            },
        };
        bad.push(format!(
            "{} acked at {} was lost {why}",
            String::from_utf8_lossy(&key),
            secs(ack.at_ms)
        ));
    }
    let n = bad.len();
    (n > 0).then(|| {
        bad.truncate(KEYS_NAMED);
        format!(
            "{}@{}: lost writes acknowledged before the last save ({n}): {}",
            r.name,
            r.server,
            bad.join("; ")
        )
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

/// Names lost keys compactly: ` (c1:1..c1:78, c1:90)` for keys `<client>:<n>`.
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
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(acks: &[(u64, u64)], lost: &[u64]) -> ClientResult {
        let key = |n: u64| Bytes::from(format!("c1:{n}"));
        ClientResult {
            name: "c1".into(),
            server: "s1".into(),
            acked: acks
                .iter()
                .map(|&(n, at_ms)| {
                    let value = Bytes::from(format!("v{n}"));
                    let sent_ms = at_ms.saturating_sub(5);
                    (
                        key(n),
                        Ack {
                            value,
                            sent_ms,
                            at_ms,
                        },
                    )
                })
                .collect(),
            failed: 0,
            write_errors: BTreeMap::new(),
            lost: Ok(lost.iter().map(|&n| key(n)).collect()),
        }
    }

    fn rdb_expect() -> Expect {
        Expect {
            lost_only_after_last_save: true,
            ..Expect::default()
        }
    }

    fn one_loss(at_ms: u64, saved_from_ms: Option<u64>) -> BTreeMap<String, Vec<Loss>> {
        BTreeMap::from([(
            "s1".to_string(),
            vec![Loss {
                how: "crash",
                at_ms,
                saved_from_ms,
            }],
        )])
    }

    #[test]
    fn a_bgsave_counts_from_its_start_and_only_once_it_succeeded() {
        let mut w = SaveWatch::default();
        w.observe(1000, "+bgsave");
        assert_eq!(w.last_ok_ms, None, "not durable before `bgsave ok`");
        w.observe(1001, "bgsave ok");
        assert_eq!(w.last_ok_ms, Some(1000));
        w.observe(2000, "+bgsave");
        w.observe(2001, "bgsave error (No space left on device)");
        w.observe(2500, "bgsave ok");
        assert_eq!(w.last_ok_ms, Some(1000), "a failed save changes nothing");
        w.observe(3000, "saved");
        assert_eq!(w.last_ok_ms, Some(3000));
    }

    #[test]
    fn losing_writes_acked_after_the_last_save_is_allowed() {
        let r = client(&[(1, 900), (2, 1000), (3, 1500)], &[2, 3]);
        let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "");
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn losing_a_write_acked_before_the_last_save_is_a_violation_naming_it() {
        let r = client(&[(1, 900), (2, 999), (3, 1500)], &[1, 2, 3]);
        let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "");
        assert_eq!(
            v,
            vec![
                "c1@s1: lost writes acknowledged before the last save (2): c1:1 acked at 0.900s \
                 was lost in the crash at 1.600s although the save from 1.000s had completed; \
                 c1:2 acked at 0.999s was lost in the crash at 1.600s although the save from \
                 1.000s had completed"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_write_lost_with_no_crash_after_it_is_a_violation_and_no_save_excuses_all() {
        let r = client(&[(1, 100), (2, 2000)], &[1, 2]);
        let v = judge(&rdb_expect(), &[r], &one_loss(1000, None), "");
        assert_eq!(v.len(), 1);
        assert!(
            v[0].contains("before the last save (1)")
                && v[0].contains("c1:2 acked at 2.000s was lost with no kill or crash after it"),
            "{v:?}"
        );
    }

    #[test]
    fn a_reply_arriving_after_the_crash_is_judged_by_that_crash() {
        // Sent at 1595, executed before the crash at 1600, acknowledged at 1601.
        let r = client(&[(1, 1601)], &[1]);
        let v = judge(&rdb_expect(), &[r], &one_loss(1600, Some(1000)), "");
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn an_unreachable_server_counts_every_acked_write_as_lost() {
        let mut r = client(&[(1, 100), (2, 200)], &[]);
        r.lost = Err("connect timeout".into());
        let e = Expect {
            lost_writes_max: Some(0),
            ..Expect::default()
        };
        let v = judge(&e, &[r], &BTreeMap::new(), "");
        assert_eq!(v, vec!["expected at most 0 lost writes, got 2".to_string()]);
    }

    #[test]
    fn trace_fragments_must_appear_in_order() {
        let trace = "1.000s s1 bgsave error (x)\n2.000s c1 -err MISCONF\n3.000s s1 bgsave ok\n";
        let e = |w: &[&str]| Expect {
            trace_in_order: w.iter().map(|s| s.to_string()).collect(),
            ..Expect::default()
        };
        assert!(judge(
            &e(&["bgsave error", "MISCONF", "bgsave ok"]),
            &[],
            &BTreeMap::new(),
            trace
        )
        .is_empty());
        assert_eq!(
            judge(
                &e(&["MISCONF", "bgsave error"]),
                &[],
                &BTreeMap::new(),
                trace
            ),
            vec!["no trace line with \"bgsave error\" after one with \"MISCONF\"".to_string()]
        );
    }

    #[test]
    fn key_ranges_compress_consecutive_numbers() {
        let keys: Vec<Bytes> = ["c1:3", "c1:1", "c1:2", "c1:7"]
            .iter()
            .map(|k| Bytes::from(*k))
            .collect();
        assert_eq!(key_ranges(&keys), " (c1:1..c1:3, c1:7)");
        assert_eq!(key_ranges(&[]), "");
    }
}
