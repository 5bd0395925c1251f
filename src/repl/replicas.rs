//! The master's view of its replicas: per-client replication fields ([`ReplicaInfo`]), the
//! REPLCONF command ([`replconf`]), the INFO `slave<N>:` line, replica timeouts, good-replica
//! counting for `min-replicas-to-write` / `min-replicas-max-lag`, and WAIT acknowledgements.
//!
//! Times are kept in milliseconds but compared in whole seconds like Redis (`server.unixtime`),
//! so lags and timeouts match what Redis reports.

use super::{format_addr, LogLine};
use crate::config::LogLevel::Warning;
use crate::resp::parse_i64;
use bytes::Bytes;

/// Redis' `NET_HOST_STR_LEN`: REPLCONF ip-address must be shorter than this.
const HOST_STR_LEN: usize = 256;

/// The `-NOREPLICAS` error (without the '-') for writes refused by `min-replicas-to-write`.
pub const NOREPLICAS_ERROR: &str = "NOREPLICAS Not enough good replicas to write.";

/// Redis' `SLAVE_STATE_*` for a client that is (or is becoming) a replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not a replica (yet): a client that only sent REPLCONF.
    #[default]
    None,
    /// Needs a snapshot that has not started yet.
    WaitBgsaveStart,
    /// Its snapshot is being produced; the stream is accumulated for it meanwhile.
    WaitBgsaveEnd,
    /// The snapshot is being sent.
    SendBulk,
    /// Receives the replication stream.
    Online,
}

impl ReplicaState {
    /// The name INFO prints (`replstateToString`); empty for `None`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::None => "",
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// Replication fields of one client, as Redis keeps them in its `client` struct.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// The client ID.
    pub id: u64,
    /// The peer's IP address on the connection.
    pub addr: String,
    /// REPLCONF listening-port (0 = not told).
    pub listening_port: i32,
    /// REPLCONF ip-address (the replica's `replica-announce-ip`), preferred over `addr`.
    pub announce_ip: Option<String>,
    /// REPLCONF capa eof: can read a diskless (`$EOF:<mark>`) transfer.
    pub capa_eof: bool,
    /// REPLCONF capa psync2: understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
    /// REPLCONF rdb-only 1: wants the snapshot only, not the stream.
    pub rdb_only: bool,
    pub state: ReplicaState,
    /// Synchronized with old `SYNC`: sends no REPLCONF ACK, so it never times out on ACKs.
    pub pre_psync: bool,
    /// Highest offset acknowledged with REPLCONF ACK.
    pub ack_offset: i64,
    /// Highest offset reported as fsynced to its AOF (REPLCONF ACK ... FACK).
    pub aof_offset: i64,
    /// When the last ACK arrived (or when it went online).
    pub last_ack_ms: u64,
}

/// What the core does after REPLCONF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplconfOutcome {
    /// Reply `+OK`.
    Ok,
    /// Reply this error (without the leading '-'). Options before the bad one were applied.
    Error(String),
    /// An ACK was recorded; no reply. A replica waiting for its first ACK after a diskless
    /// transfer may now start receiving the stream.
    Ack,
    /// GETACK: no reply; if this node is a replica linked to its master, send it an ACK.
    GetAck,
    /// Nothing to do and no reply (an ACK from a non-replica or with a bad offset).
    Silent,
}

impl ReplicaInfo {
    /// A client's fields before any REPLCONF.
    pub fn new(id: u64, addr: &str) -> ReplicaInfo {
        ReplicaInfo {
            id,
            addr: addr.to_string(),
            ..ReplicaInfo::default()
        }
    }

    /// The IP shown in INFO and ROLE: the announced one if any, else the peer's.
    pub fn ip(&self) -> &str {
        self.announce_ip.as_deref().unwrap_or(&self.addr)
    }

    /// `replicationGetSlaveName`: `ip:port`, or `ip:<unknown-replica-port>`, as used in logs.
    pub fn name(&self) -> String {
        if self.listening_port != 0 {
            format_addr(self.ip(), i64::from(self.listening_port))
        } else {
            format!("{}:<unknown-replica-port>", self.ip())
        }
    }

    /// Whole seconds since the last ACK for an online replica, 0 otherwise (INFO `lag=`).
    pub fn lag_secs(&self, now_ms: u64) -> i64 {
        if self.state == ReplicaState::Online {
            secs(now_ms) - secs(self.last_ack_ms)
        } else {
            0
        }
    }

    /// The INFO line `slave<index>:ip=..,port=..,state=..,offset=..,lag=..` (without CRLF);
    /// `None` for a client that is not a replica (Redis skips it, not counting it in `index`).
    pub fn info_line(&self, index: usize, now_ms: u64) -> Option<String> {
        let state = self.state.as_str();
        if state.is_empty() {
            return None;
        }
        Some(format!(
            "slave{index}:ip={},port={},state={state},offset={},lag={}",
            self.ip(),
            self.listening_port,
            self.ack_offset,
            self.lag_secs(now_ms)
        ))
    }

    /// An online replica (not using old SYNC) whose last ACK is more than `repl_timeout_secs`
    /// old must be disconnected: the log line to write before closing it.
    pub fn timed_out(&self, now_ms: u64, repl_timeout_secs: i64) -> Option<LogLine> {
        (self.state == ReplicaState::Online
            && !self.pre_psync
            && secs(now_ms) - secs(self.last_ack_ms) > repl_timeout_secs)
            .then(|| {
                (
                    Warning,
                    format!(
                        "Disconnecting timedout replica (streaming sync): {}",
                        self.name()
                    ),
                )
            })
    }
}

fn secs(ms: u64) -> i64 {
    (ms / 1000) as i64
}

const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// `REPLCONF <option> <value> ...` (`args[0]` is the command name) from the client `r`.
pub fn replconf(r: &mut ReplicaInfo, args: &[Bytes], now_ms: u64) -> ReplconfOutcome {
    if args.len().is_multiple_of(2) {
        return ReplconfOutcome::Error("ERR syntax error".to_string());
    }
    let mut j = 1;
    while j + 1 < args.len() {
        let (opt, val) = (&args[j], &args[j + 1]);
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("listening-port") {
            let Some(port) = parse_i64(val) else {
                return ReplconfOutcome::Error(NOT_AN_INTEGER.to_string());
            };
            // Redis keeps the port in an int.
            r.listening_port = port as i32;
        } else if is("ip-address") {
            if val.len() >= HOST_STR_LEN {
                return ReplconfOutcome::Error(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    val.len()
                ));
            }
            r.announce_ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if is("capa") {
            if val.eq_ignore_ascii_case(b"eof") {
                r.capa_eof = true;
            } else if val.eq_ignore_ascii_case(b"psync2") {
                r.capa_psync2 = true;
            }
        } else if is("ack") {
            return record_ack(r, &args[j + 1..], now_ms);
        } else if is("getack") {
            return ReplconfOutcome::GetAck;
        } else if is("rdb-only") {
            match parse_i64(val) {
                None => return ReplconfOutcome::Error(NOT_AN_INTEGER.to_string()),
                Some(v @ 0..=1) => r.rdb_only = v == 1,
                Some(_) => {
                    return ReplconfOutcome::Error(
                        "ERR value is out of range, value must between 0 and 1".to_string(),
                    )
                }
            }
        } else {
            return ReplconfOutcome::Error(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            ));
        }
        j += 2;
    }
    ReplconfOutcome::Ok
}

/// `ack <offset> [fack <aofoffset>]` (`rest` starts at the offset). Offsets only move forward.
fn record_ack(r: &mut ReplicaInfo, rest: &[Bytes], now_ms: u64) -> ReplconfOutcome {
    if r.state == ReplicaState::None {
        return ReplconfOutcome::Silent;
    }
    let Some(offset) = rest.first().and_then(|v| parse_i64(v)) else {
        return ReplconfOutcome::Silent;
    };
    r.ack_offset = r.ack_offset.max(offset);
    if let [_, word, fack, ..] = rest {
        if word.eq_ignore_ascii_case(b"fack") {
            let Some(fack) = parse_i64(fack) else {
                return ReplconfOutcome::Silent;
            };
            r.aof_offset = r.aof_offset.max(fack);
        }
    }
    r.last_ack_ms = now_ms;
    ReplconfOutcome::Ack
}

/// Replicas that are online with a last ACK at most `max_lag_secs` old
/// (`repl_good_slaves_count`, INFO `min_slaves_good_slaves`).
pub fn count_good_replicas<'a>(
    replicas: impl IntoIterator<Item = &'a ReplicaInfo>,
    now_ms: u64,
    max_lag_secs: i64,
) -> usize {
    replicas
        .into_iter()
        .filter(|r| {
            r.state == ReplicaState::Online && secs(now_ms) - secs(r.last_ack_ms) <= max_lag_secs
        })
        .count()
}

/// `checkGoodReplicasStatus` for a master: writes are allowed unless both min-replicas options
/// are set and fewer than `min_to_write` replicas are good.
pub fn enough_good_replicas(min_to_write: i64, max_lag_secs: i64, good: usize) -> bool {
    min_to_write == 0 || max_lag_secs == 0 || good as i64 >= min_to_write
}

/// WAIT: online replicas that acknowledged at least `offset`.
pub fn count_acks<'a>(replicas: impl IntoIterator<Item = &'a ReplicaInfo>, offset: i64) -> usize {
    replicas
        .into_iter()
        .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
        .count()
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;
