//! Replication IDs and the master's answer to SYNC / PSYNC.
//!
//! [`ReplIds`] is Redis' `replid`, `replid2` and `second_replid_offset` with the transitions
//! that change them (new history when the backlog is created or freed, promotion of a replica,
//! adoption of a master's ID after a full sync, a master's new ID announced by `+CONTINUE`).
//!
//! [`decide_sync`] is `syncCommand` + `masterTryPartialResynchronization` minus the snapshot
//! machinery: the core checks first that the client is not already a replica (SYNC is then
//! ignored), calls it, and acts on the [`PsyncDecision`]:
//! - `Refused`: reply the error, nothing else.
//! - `Continue`: the client becomes an online replica; write `reply` then `bytes_to_send`
//!   (the backlog from `from_offset`), count `sync_partial_ok`.
//! - `FullResync`: count `sync_full` (and `sync_partial_err` when `partial_err`), add the client
//!   as a replica waiting for a BGSAVE; if it is the only replica and there is no backlog, call
//!   [`ReplIds::create_backlog_history`] and create the backlog; when the snapshot starts write
//!   [`fullresync_reply`] (not for `pre_psync`, i.e. old `SYNC` clients).

use super::{Backlog, LogLine, ReplicaInfo, RUN_ID_SIZE};
use crate::config::LogLevel::{Notice, Warning};
use bytes::Bytes;

/// A new random replication ID: 40 lowercase hex characters from 20 random bytes.
pub fn new_replid(rng_bytes: [u8; 20]) -> String {
    rng_bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The master's replication IDs (INFO `master_replid`, `master_replid2`, `second_repl_offset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplIds {
    pub replid: String,
    /// The previous history's ID, valid for PSYNC up to `second_repl_offset`.
    pub replid2: String,
    pub second_repl_offset: i64,
}

impl ReplIds {
    /// A fresh history: a random ID and a cleared secondary ID (what a starting server has).
    pub fn new(rng_bytes: [u8; 20]) -> ReplIds {
        ReplIds {
            replid: new_replid(rng_bytes),
            replid2: "0".repeat(RUN_ID_SIZE),
            second_repl_offset: -1,
        }
    }

    /// `clearReplicationId2`: forty '0' characters, offset -1.
    pub fn clear_replid2(&mut self) {
        self.replid2 = "0".repeat(RUN_ID_SIZE);
        self.second_repl_offset = -1;
    }

    /// Promotion (`REPLICAOF NO ONE`): the current ID stays valid as replid2 up to
    /// `master_repl_offset + 1` (replicas ask for the first byte they miss) and a new ID starts.
    pub fn shift_on_promotion(&mut self, master_repl_offset: i64, rng_bytes: [u8; 20]) -> LogLine {
        self.replid2 = std::mem::replace(&mut self.replid, new_replid(rng_bytes));
        self.second_repl_offset = master_repl_offset.saturating_add(1);
        (
            Notice,
            format!(
                "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
                self.replid2, self.second_repl_offset, self.replid
            ),
        )
    }

    /// A master creates its backlog for its first replica: there is no valid past history, so a
    /// new ID and no secondary one.
    pub fn create_backlog_history(&mut self, rng_bytes: [u8; 20]) -> LogLine {
        self.new_history(rng_bytes);
        (
            Notice,
            format!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.replid, self.replid2
            ),
        )
    }

    /// A master without replicas frees its backlog after `repl-backlog-ttl` seconds: writes
    /// from now on are not counted, so the old ID must not be used for PSYNC any more.
    pub fn free_backlog_history(&mut self, rng_bytes: [u8; 20], ttl_secs: i64) -> LogLine {
        self.new_history(rng_bytes);
        (
            Notice,
            format!(
                "Replication backlog freed after {ttl_secs} seconds without connected replicas."
            ),
        )
    }

    /// After a full sync a replica takes its master's ID and starts a new history.
    pub fn adopt_master(&mut self, master_replid: &str) {
        self.replid = master_replid.to_string();
        self.clear_replid2();
    }

    /// `+CONTINUE <new id>` with a different ID: the old one stays valid as replid2 up to
    /// `master_repl_offset + 1` so that our own replicas can still PSYNC with us.
    pub fn continue_with(&mut self, new_replid: &str, master_repl_offset: i64) {
        self.replid2 = std::mem::replace(&mut self.replid, new_replid.to_string());
        self.second_repl_offset = master_repl_offset.saturating_add(1);
    }

    fn new_history(&mut self, rng_bytes: [u8; 20]) {
        self.replid = new_replid(rng_bytes);
        self.clear_replid2();
    }
}

/// The request: old-style `SYNC`, or `PSYNC <replid> <offset>` with its raw arguments.
#[derive(Clone, Copy, Debug)]
pub enum SyncRequest<'a> {
    Sync,
    Psync { replid: &'a [u8], offset: &'a [u8] },
}

/// What the master knows when a SYNC/PSYNC arrives.
#[derive(Clone, Copy, Debug)]
pub struct SyncContext<'a> {
    pub ids: &'a ReplIds,
    pub master_repl_offset: i64,
    pub backlog: Option<&'a Backlog>,
    /// This node is itself a replica whose link with its master is not `Connected`.
    pub master_link_down: bool,
    /// The requesting client still has replies waiting to be written.
    pub pending_output: bool,
}

/// The master's decision; see the module documentation for what the core does with each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PsyncDecision {
    /// Reply this error (without the leading '-').
    Refused { error: String, log: Vec<LogLine> },
    /// Partial resynchronization accepted.
    Continue {
        reply: Bytes,
        from_offset: i64,
        bytes_to_send: Vec<Bytes>,
        log: Vec<LogLine>,
    },
    /// A full resynchronization is needed.
    FullResync {
        /// A PSYNC that named a history (not `?`) failed: count `sync_partial_err`.
        partial_err: bool,
        /// Old `SYNC`: no `+FULLRESYNC` line, no REPLCONF ACKs expected.
        pre_psync: bool,
        log: Vec<LogLine>,
    },
}

/// `+FULLRESYNC <replid> <offset>\r\n`, written when the snapshot for this replica starts.
pub fn fullresync_reply(replid: &str, offset: i64) -> Bytes {
    Bytes::from(format!("+FULLRESYNC {replid} {offset}\r\n"))
}

/// Decides how to answer a SYNC or PSYNC from `replica` (see the module documentation).
pub fn decide_sync(cx: &SyncContext, replica: &ReplicaInfo, req: SyncRequest) -> PsyncDecision {
    let refused = |error: &str, log| PsyncDecision::Refused {
        error: error.to_string(),
        log,
    };
    if cx.master_link_down {
        return refused(
            "NOMASTERLINK Can't SYNC while not connected with my master",
            vec![],
        );
    }
    if cx.pending_output {
        return refused("ERR SYNC and PSYNC are invalid with pending output", vec![]);
    }
    let name = replica.name();
    let mut log = vec![(Notice, format!("Replica {name} asks for synchronization"))];
    let SyncRequest::Psync { replid, offset } = req else {
        return PsyncDecision::FullResync {
            partial_err: false,
            pre_psync: true,
            log,
        };
    };
    let Some(offset) = crate::resp::parse_i64(offset) else {
        log.push((
            Warning,
            format!("Replica {name} asks for synchronization but with a wrong offset"),
        ));
        return refused("ERR value is not an integer or out of range", log);
    };
    match try_partial(cx, replica, &name, replid, offset, &mut log) {
        Some((reply, bytes_to_send)) => PsyncDecision::Continue {
            reply,
            from_offset: offset,
            bytes_to_send,
            log,
        },
        None => PsyncDecision::FullResync {
            partial_err: replid.first() != Some(&b'?'),
            pre_psync: false,
            log,
        },
    }
}

/// `masterTryPartialResynchronization`: the `+CONTINUE` reply and the backlog bytes, or `None`
/// (with the reason logged) when a full resync is needed.
fn try_partial(
    cx: &SyncContext,
    replica: &ReplicaInfo,
    name: &str,
    replid: &[u8],
    offset: i64,
    log: &mut Vec<LogLine>,
) -> Option<(Bytes, Vec<Bytes>)> {
    let ids = cx.ids;
    let is_main = replid.eq_ignore_ascii_case(ids.replid.as_bytes());
    let is_second = replid.eq_ignore_ascii_case(ids.replid2.as_bytes());
    if !is_main && (!is_second || offset > ids.second_repl_offset) {
        let asked = String::from_utf8_lossy(replid);
        log.push((
            Notice,
            if replid.first() == Some(&b'?') {
                format!("Full resync requested by replica {name}")
            } else if !is_second {
                format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{}' and '{}')",
                    ids.replid, ids.replid2
                )
            } else {
                format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}",
                    ids.second_repl_offset
                )
            },
        ));
        return None;
    }
    let Some(bytes) = cx.backlog.and_then(|b| b.copy_from(offset)) else {
        log.push((
            Notice,
            format!("Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset})."),
        ));
        if offset > cx.master_repl_offset {
            log.push((
                Warning,
                format!("Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."),
            ));
        }
        return None;
    };
    let reply = if replica.capa_psync2 {
        Bytes::from(format!("+CONTINUE {}\r\n", ids.replid))
    } else {
        Bytes::from_static(b"+CONTINUE\r\n")
    };
    let len: usize = bytes.iter().map(Bytes::len).sum();
    log.push((
        Notice,
        format!("Partial resynchronization request from {name} accepted. Sending {len} bytes of backlog starting from offset {offset}."),
    ));
    Some((reply, bytes))
}

#[cfg(test)]
#[path = "psync_tests.rs"]
mod tests;
