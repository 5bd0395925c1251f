//! A replica loading its master's snapshot straight from the socket reads it only as fast as
//! it loads it, as Redis does (its load reads the socket key by key, so `key-load-delay` slows
//! the reads and the master's transfer to this replica stalls behind them).
//!
//! The payload is still parsed whole when it ends (`replica_side.rs`); meanwhile the keys that
//! have wholly arrived are counted, and whenever more have arrived than the pace would have
//! loaded by now, the master's connection stops being read (`Action::SetReading`) until the
//! pace catches up. The load that follows keeps the pace from the transfer's start, so it has
//! only the last keys left to install. Without a delay nothing here happens.

use super::{Action, ConnId, Now, Server};
use crate::repl::ReplState;

/// Keys due this far ahead may be read already: the timer that resumes reading wakes no more
/// often than this (so reads come in bursts, not one per key).
const READ_AHEAD_MS: u64 = 10;

/// The pace of a load from the socket.
pub struct SocketPace {
    started: Now,
    delay_us: i64,
    /// The payload's position after its last whole record counted, and the keys before it.
    counted_to: usize,
    keys: u64,
    /// Count again once the payload reaches this length: a record still incomplete is parsed
    /// again only after the bytes past it have doubled, so a huge one costs linear time.
    recount_at: usize,
    /// The connection not being read, while it is not.
    paused: Option<ConnId>,
}

impl Server {
    /// After input or a timer: stops or resumes reading the master's connection by the pace.
    pub(crate) fn pace_socket_read(&mut self, now: Now) {
        let delay_us = self.paced_load_delay_us();
        let link = self.repl.link.as_ref();
        let from_socket = self.persist.loading && self.loading.is_none();
        let transfer = link
            .filter(|l| l.link.state() == ReplState::Transfer && from_socket && delay_us != 0)
            .and_then(|l| Some((l.conn?, l.link.transfer_payload()?)));
        let Some((conn, payload)) = transfer else {
            self.end_socket_pace();
            return;
        };
        let pace = self.socket_pace.get_or_insert(SocketPace {
            started: now,
            delay_us,
            counted_to: 0,
            keys: 0,
            recount_at: 0,
            paused: None,
        });
        if payload.len() >= pace.recount_at {
            let (to, keys) = crate::rdb::count_whole_keys(payload, pace.counted_to);
            pace.counted_to = to;
            pace.keys += keys;
            pace.recount_at = payload.len() + (payload.len() - to) + 1;
        }
        let ahead_ms = now.mono_ms + READ_AHEAD_MS;
        let due = super::loading::keys_due(pace.started.mono_ms, pace.delay_us, ahead_ms);
        let ahead = pace.keys > due;
        let reading = match (ahead, pace.paused) {
            (true, None) => {
                pace.paused = Some(conn);
                false
            }
            (false, Some(_)) => {
                pace.paused = None;
                true
            }
            _ => return,
        };
        self.actions.push_back(Action::SetReading { conn, reading });
    }

    /// When a paused read is due to resume.
    pub(crate) fn socket_pace_timeout(&self) -> Option<u64> {
        let pace = self.socket_pace.as_ref().filter(|p| p.paused.is_some())?;
        let last = pace.keys.saturating_sub(1);
        let due_ms = super::loading::key_due_ms(pace.started.mono_ms, pace.delay_us, last);
        Some(due_ms.saturating_sub(READ_AHEAD_MS))
    }

    /// Ends the pace (the payload is whole, or the transfer ended): reading resumes. Returns
    /// when the load from the socket began.
    pub(crate) fn end_socket_pace(&mut self) -> Option<Now> {
        let pace = self.socket_pace.take()?;
        if let Some(conn) = pace.paused {
            self.actions.push_back(Action::SetReading {
                conn,
                reading: true,
            });
        }
        Some(pace.started)
    }
}
