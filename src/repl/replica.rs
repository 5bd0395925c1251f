//! The replica's link with its master (`syncWithMaster`, `slaveTryPartialResynchronization`,
//! `readSyncBulkPayload`) as a sans-IO state machine.
//!
//! Driving it (the core owns the socket and the timers):
//! 1. `MasterLink::new(cfg, cached)` is in `Connect`. `start_connect(now)` moves to
//!    `Connecting`: the core opens a TCP connection to `master_host:master_port`.
//! 2. `on_connected(now)` (or `on_closed` if the connect failed) sends PING. Every byte read
//!    goes to `on_data(now, bytes)`; the returned [`LinkEvent`]s are handled in order: `Send`
//!    writes, `Log` logs, `FullResync` remembers the master's ID and offset, `RdbPayload` loads
//!    the snapshot (log "MASTER <-> REPLICA sync: Flushing old data", "... Loading DB in
//!    memory", "... Finished with success"; then if `ack_now`, send [`replconf_ack`] at once),
//!    `Continue` resurrects the cached master, `Stream` is the replication stream to execute
//!    and count into the offset, `Failed` means the link is back in `Connect`: close the socket
//!    and call `start_connect` again later (its reason was already logged).
//! 3. `on_cron(now, repl_timeout_secs)` once a second detects timeouts; `on_closed(now, err)`
//!    when the connection drops; `reset(now)` when the core closes it itself (e.g. the RDB
//!    failed to load, or a new master is configured).
//!
//! The handshake is byte-for-byte Redis 7.2's: PING; then, written back to back, `AUTH [user]
//! pass` (with masterauth), REPLCONF listening-port, REPLCONF ip-address (with an announced IP),
//! REPLCONF capa eof capa psync2, whose replies are read one line at a time; then PSYNC
//! (`<cached replid> <cached offset + 1>`, or `? -1`), and `SYNC` if PSYNC is refused with an
//! error. During a coordinated failover (`set_failover`) the PSYNC carries `FAILOVER` and a
//! refusal is `FailoverRejected` instead of the SYNC fallback. Lines are at most 255 bytes like
//! Redis' 256-byte buffer; the snapshot is at most
//! `max_rdb_bytes`; anything unexpected fails the link, nothing panics. The reply handling of
//! the handshake lives in the child file `handshake.rs`.
//!
//! Left to the core, as Redis does them outside these functions: caching the master on
//! disconnection ("Caching the disconnected master state."), the loading log lines above,
//! sending `\n` to the master while loading, the periodic `REPLCONF ACK` (every second and on
//! `REPLCONF GETACK`), and the ID bookkeeping ([`super::ReplIds::adopt_master`] after a full
//! sync, [`super::ReplIds::continue_with`] on `Continue { new_replid: Some(..) }`).

use super::transfer::{take_line, RdbReceiver, Step};
use crate::config::LogLevel::{self, Notice, Warning};
use crate::resp::encode_command;
use bytes::{Bytes, BytesMut};

#[path = "handshake.rs"]
mod handshake;

/// Handshake replies are read into a 256-byte buffer (`receiveSynchronousResponse`).
const REPLY_LINE_MAX: usize = 255;

/// Redis' `REPL_STATE_*` (without `NONE`: a link only exists while a master is configured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplState {
    /// Must connect to the master.
    Connect,
    /// The TCP connection is being established.
    Connecting,
    ReceivePingReply,
    /// Passed through when the handshake commands are written.
    SendHandshake,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    /// Passed through when PSYNC is written.
    SendPsync,
    ReceivePsyncReply,
    /// Receiving the snapshot.
    Transfer,
    /// Receiving the replication stream.
    Connected,
}

impl ReplState {
    /// The state ROLE reports: `connect`, `connecting`, `handshake`, `sync` or `connected`.
    pub fn role_name(self) -> &'static str {
        match self {
            ReplState::Connect => "connect",
            ReplState::Connecting => "connecting",
            ReplState::Transfer => "sync",
            ReplState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// The handshake states (`slaveIsInHandshakeState`).
    pub fn is_handshake(self) -> bool {
        self.role_name() == "handshake"
    }
}

/// How to reach and talk to the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    pub master_host: String,
    pub master_port: u16,
    /// `masterauth`: sent with AUTH when set.
    pub masterauth: Option<Bytes>,
    /// `masteruser`: AUTH's user name when set (with masterauth).
    pub masteruser: Option<Bytes>,
    /// Sent with REPLCONF listening-port (`replica-announce-port`, else `port`).
    pub listening_port: u16,
    /// `replica-announce-ip`: sent with REPLCONF ip-address when set.
    pub announce_ip: Option<String>,
    /// Largest snapshot accepted; a bigger one fails the link.
    pub max_rdb_bytes: usize,
}

/// What the core must do; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// Write these bytes to the master.
    Send(Bytes),
    Log(LogLevel, String),
    /// `+FULLRESYNC`: the snapshot that follows is the master's history `replid` at `offset`.
    /// A malformed reply gives an empty `replid` and offset -1, as in Redis.
    FullResync {
        replid: String,
        offset: i64,
    },
    /// The complete snapshot. `ack_now`: it came by diskless transfer and the master waits for
    /// a first REPLCONF ACK before streaming.
    RdbPayload {
        rdb: Bytes,
        ack_now: bool,
    },
    /// `+CONTINUE`: partial resync accepted; `new_replid` when the master's ID changed (then
    /// `ReplIds::continue_with` and disconnect sub-replicas).
    Continue {
        new_replid: Option<String>,
    },
    /// Replication stream bytes.
    Stream(Bytes),
    /// A failover's `PSYNC ... FAILOVER` was refused (already logged): the link is back in
    /// `Connect`; the core aborts the failover.
    FailoverRejected,
    /// The link failed and is back in `Connect`: close the socket, retry later. Already logged.
    Failed(String),
}

/// Snapshot transfer progress for INFO's `master_sync_*` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferProgress {
    /// -1 until the size is known, 0 for a diskless transfer.
    pub total_bytes: i64,
    pub read_bytes: i64,
    pub last_io_ms: u64,
}

/// `REPLCONF ACK <offset>` (7.2 adds `FACK <aofoffset>` when AOF fsync offsets are known).
pub fn replconf_ack(offset: i64, fack: Option<i64>) -> Bytes {
    let offset = offset.to_string();
    match fack {
        Some(fack) => encode_command(&["REPLCONF", "ACK", &offset, "FACK", &fack.to_string()]),
        None => encode_command(&["REPLCONF", "ACK", &offset]),
    }
    .freeze()
}

/// The replica side of one master link; see the module documentation.
#[derive(Clone, Debug)]
pub struct MasterLink {
    cfg: LinkConfig,
    cached: Option<(String, i64)>,
    state: ReplState,
    input: BytesMut,
    transfer: Option<RdbReceiver>,
    last_io_ms: u64,
    down_since_ms: Option<u64>,
    /// The next PSYNC asks the master (our failover target) to take over: `PSYNC ... FAILOVER`.
    failover: bool,
}

impl MasterLink {
    /// CONFIG SET masterauth/masteruser: the next handshake authenticates with these.
    pub fn set_auth(&mut self, masterauth: Option<Bytes>, masteruser: Option<Bytes>) {
        self.cfg.masterauth = masterauth;
        self.cfg.masteruser = masteruser;
    }

    /// A link in `Connect`; `cached` is the cached master (replid, offset processed) to PSYNC
    /// from, if any.
    pub fn new(cfg: LinkConfig, cached: Option<(String, i64)>) -> MasterLink {
        MasterLink {
            cfg,
            cached,
            state: ReplState::Connect,
            input: BytesMut::new(),
            transfer: None,
            last_io_ms: 0,
            down_since_ms: None,
            failover: false,
        }
    }

    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// Makes the PSYNCs that follow carry (or no longer carry) the FAILOVER option.
    pub fn set_failover(&mut self, failover: bool) {
        self.failover = failover;
    }

    /// Replaces the cached master used by the next PSYNC.
    pub fn set_cached_master(&mut self, cached: Option<(String, i64)>) {
        self.cached = cached;
    }

    pub fn state(&self) -> ReplState {
        self.state
    }

    /// ROLE's name for the state.
    pub fn state_name(&self) -> &'static str {
        self.state.role_name()
    }

    /// Last time bytes came from the master (or the connection started).
    pub fn last_io_ms(&self) -> u64 {
        self.last_io_ms
    }

    /// When a `Connected` link went down (INFO `master_link_down_since_seconds`); `None` if
    /// it never was up or is up.
    pub fn down_since_ms(&self) -> Option<u64> {
        self.down_since_ms
    }

    /// Snapshot progress while in `Transfer`.
    pub fn transfer_progress(&self) -> Option<TransferProgress> {
        self.transfer.as_ref().map(|t| TransferProgress {
            total_bytes: t.total_bytes(),
            read_bytes: t.read_bytes(),
            last_io_ms: self.last_io_ms,
        })
    }

    /// The snapshot payload received so far while in `Transfer`.
    pub fn transfer_payload(&self) -> Option<&[u8]> {
        self.transfer.as_ref().map(|t| t.payload())
    }

    /// From `Connect`: the core now opens the connection. Does nothing in other states.
    pub fn start_connect(&mut self, now_ms: u64) -> Vec<LinkEvent> {
        if self.state != ReplState::Connect {
            return vec![];
        }
        self.state = ReplState::Connecting;
        self.last_io_ms = now_ms;
        vec![
            log(
                Notice,
                format!(
                    "Connecting to MASTER {}:{}",
                    self.cfg.master_host, self.cfg.master_port
                ),
            ),
            log(Notice, "MASTER <-> REPLICA sync started".to_string()),
        ]
    }

    /// The connection is established: send PING.
    pub fn on_connected(&mut self, now_ms: u64) -> Vec<LinkEvent> {
        if self.state != ReplState::Connecting {
            return vec![];
        }
        self.state = ReplState::ReceivePingReply;
        self.last_io_ms = now_ms;
        vec![
            log(
                Notice,
                "Non blocking connect for SYNC fired the event.".to_string(),
            ),
            LinkEvent::Send(encode_command(&["PING"]).freeze()),
        ]
    }

    /// Bytes from the master.
    pub fn on_data(&mut self, now_ms: u64, data: &[u8]) -> Vec<LinkEvent> {
        let mut ev = vec![];
        if matches!(self.state, ReplState::Connect | ReplState::Connecting) || data.is_empty() {
            return ev;
        }
        self.last_io_ms = now_ms;
        self.input.extend_from_slice(data);
        while self.advance(now_ms, &mut ev) {}
        ev
    }

    /// The connection failed or was closed by the master (`error`: the I/O error, or
    /// "connection lost").
    pub fn on_closed(&mut self, now_ms: u64, error: &str) -> Vec<LinkEvent> {
        let mut ev = vec![];
        let (level, msg) = match self.state {
            ReplState::Connect => return ev,
            ReplState::Connecting => (
                Warning,
                format!("Error condition on socket for SYNC: {error}"),
            ),
            ReplState::Transfer => (
                Warning,
                format!("I/O error trying to sync with MASTER: {error}"),
            ),
            ReplState::Connected => (Notice, "Connection with master lost.".to_string()),
            _ => {
                ev.push(log(
                    Warning,
                    format!("Failed to read response from the server: {error}"),
                ));
                (
                    Warning,
                    "Master did not respond to command during SYNC handshake".to_string(),
                )
            }
        };
        self.fail(now_ms, &mut ev, level, msg);
        ev
    }

    /// The core closed the connection itself: back to `Connect` without logging.
    pub fn reset(&mut self, now_ms: u64) {
        self.go_down(now_ms);
    }

    /// Once a second: fails the link when the master has been silent for longer than
    /// `repl_timeout_secs` (compared in whole seconds, as Redis does).
    pub fn on_cron(&mut self, now_ms: u64, repl_timeout_secs: u64) -> Vec<LinkEvent> {
        let mut ev = vec![];
        let silent = (now_ms / 1000).saturating_sub(self.last_io_ms / 1000) > repl_timeout_secs;
        if !silent {
            return ev;
        }
        let (level, msg) = match self.state {
            ReplState::Connect => return ev,
            ReplState::Transfer => (Warning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."),
            ReplState::Connected => {
                ev.push(log(Warning, "MASTER timeout: no data nor PING received...".to_string()));
                (Notice, "Connection with master lost.")
            }
            _ => (Warning, "Timeout connecting to the MASTER..."),
        };
        self.fail(now_ms, &mut ev, level, msg.to_string());
        ev
    }

    /// Handles what the input allows in the current state; `false` when it needs more bytes
    /// (or the link failed).
    fn advance(&mut self, now_ms: u64, ev: &mut Vec<LinkEvent>) -> bool {
        match self.state {
            ReplState::Connect | ReplState::Connecting => {
                self.input.clear();
                false
            }
            ReplState::Connected => {
                if !self.input.is_empty() {
                    ev.push(LinkEvent::Stream(self.input.split().freeze()));
                }
                false
            }
            ReplState::Transfer => self.advance_transfer(now_ms, ev),
            _ => match take_line(&mut self.input, REPLY_LINE_MAX) {
                Some(line) => {
                    self.handshake_reply(now_ms, &line, ev);
                    self.state != ReplState::Connect
                }
                None => false,
            },
        }
    }

    fn advance_transfer(&mut self, now_ms: u64, ev: &mut Vec<LinkEvent>) -> bool {
        let max = self.cfg.max_rdb_bytes;
        let t = self.transfer.get_or_insert_with(|| RdbReceiver::new(max));
        match t.step(&mut self.input) {
            Step::NeedMore => false,
            Step::Keepalive => true,
            Step::Started((level, msg)) => {
                ev.push(LinkEvent::Log(level, msg));
                true
            }
            Step::Done { rdb, eof_mark } => {
                ev.push(LinkEvent::RdbPayload {
                    rdb,
                    ack_now: eof_mark,
                });
                self.go_up();
                true
            }
            Step::Failed((level, msg)) => {
                self.fail(now_ms, ev, level, msg);
                false
            }
        }
    }

    pub(super) fn begin_transfer(&mut self) {
        self.transfer = Some(RdbReceiver::new(self.cfg.max_rdb_bytes));
        self.state = ReplState::Transfer;
    }

    /// The failover target refused our PSYNC: no SYNC fallback, the core aborts.
    pub(super) fn failover_rejected(&mut self, now_ms: u64, ev: &mut Vec<LinkEvent>) {
        ev.push(LinkEvent::FailoverRejected);
        self.go_down(now_ms);
    }

    pub(super) fn go_up(&mut self) {
        self.transfer = None;
        self.state = ReplState::Connected;
        self.down_since_ms = None;
    }

    fn go_down(&mut self, now_ms: u64) {
        if self.state == ReplState::Connected {
            self.down_since_ms = Some(now_ms);
        }
        self.state = ReplState::Connect;
        self.input = BytesMut::new();
        self.transfer = None;
    }

    pub(super) fn fail(
        &mut self,
        now_ms: u64,
        ev: &mut Vec<LinkEvent>,
        level: LogLevel,
        msg: String,
    ) {
        ev.push(LinkEvent::Log(level, msg.clone()));
        ev.push(LinkEvent::Failed(msg));
        self.go_down(now_ms);
    }
}

pub(super) fn log(level: LogLevel, msg: String) -> LinkEvent {
    LinkEvent::Log(level, msg)
}

#[cfg(test)]
#[path = "replica_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "replica_transfer_tests.rs"]
mod transfer_tests;

#[cfg(test)]
#[path = "replica_fuzz_tests.rs"]
mod fuzz_tests;
