//! Master/replica replication building blocks, pure and sans-IO: no clock (time comes in as
//! `now_ms`), no socket (bytes in, bytes out), no RNG (random bytes come in). The core owns the
//! connections, the keyspace and the configuration and drives these pieces; they follow Redis
//! 7.2.6 (`src/replication.c`) for states, decisions, replies and log lines.
//!
//! Pieces:
//! - [`backlog`]: [`Backlog`], the bounded replication backlog (`repl-backlog-size`) with
//!   `master_repl_offset`, `repl_backlog_first_byte_offset` and `repl_backlog_histlen`.
//! - [`psync`]: the master's answer to SYNC/PSYNC ([`decide_sync`] -> [`PsyncDecision`]) and the
//!   replication IDs ([`ReplIds`]: replid, replid2, second_repl_offset, promotion bookkeeping).
//! - [`replica`]: the replica's side of the link to its master as a state machine
//!   ([`MasterLink`], states named after Redis' `REPL_STATE_*`): handshake, PSYNC, RDB transfer
//!   (received by the private `transfer` module), then the raw replication stream.
//! - [`failover`]: the coordinated FAILOVER command's checks and waiting ([`Failover`]).
//! - [`replicas`]: the master's view of its replicas ([`ReplicaInfo`]): REPLCONF handling, the
//!   INFO `slave<N>:` lines, good-replica counting (min-replicas-*) and WAIT acknowledgements.
//!
//! Every log line is returned as a [`LogLine`] (level and Redis' exact wording); the core
//! writes it with `crate::log::format_line`.

pub mod backlog;
pub mod failover;
pub mod psync;
pub mod replica;
pub mod replicas;
mod transfer;

pub use backlog::Backlog;
pub use failover::{parse_failover, Candidate, Decision, Failover, FailoverRequest, FailoverState};
pub use psync::{
    decide_sync, fullresync_reply, new_replid, PsyncDecision, ReplIds, SyncContext, SyncRequest,
};
pub use replica::{replconf_ack, LinkConfig, LinkEvent, MasterLink, ReplState, TransferProgress};
pub use replicas::{
    count_acks, count_good_replicas, enough_good_replicas, replconf, ReplconfOutcome, ReplicaInfo,
    ReplicaState, NOREPLICAS_ERROR,
};

use crate::config::LogLevel;

/// One log line: its level and the message, worded as Redis 7.2 words it.
pub type LogLine = (LogLevel, String);

/// Redis' `CONFIG_RUN_ID_SIZE`: replication IDs and EOF marks are 40 characters.
pub const RUN_ID_SIZE: usize = 40;

/// Formats `host:port` as Redis' `formatAddr` does (IPv6 addresses in brackets).
pub fn format_addr(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Lenient integer prefix parsing like C's `strtoll(s, NULL, 10)`: leading spaces, an optional
/// sign, then as many digits as there are; no digits gives 0; overflow saturates.
pub(crate) fn strtoll(s: &[u8]) -> i64 {
    let s = match s.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(start) => &s[start..],
        None => return 0,
    };
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoll_reads_a_prefix_like_c() {
        assert_eq!(strtoll(b"123"), 123);
        assert_eq!(strtoll(b"  -42abc"), -42);
        assert_eq!(strtoll(b"+7"), 7);
        assert_eq!(strtoll(b"abc"), 0);
        assert_eq!(strtoll(b""), 0);
        assert_eq!(strtoll(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtoll(b"-99999999999999999999999"), i64::MIN);
    }

    #[test]
    fn addresses_are_formatted_like_redis() {
        assert_eq!(format_addr("10.0.0.1", 6380), "10.0.0.1:6380");
        assert_eq!(format_addr("::1", 6380), "[::1]:6380");
    }
}
