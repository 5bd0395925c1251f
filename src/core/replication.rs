//! Replication in the core, master side: the replication stream (backlog, offsets, replicas),
//! SYNC/PSYNC answers with an in-memory snapshot, REPLCONF, WAIT, min-replicas and the pings
//! of `replicationCron`. The replica side lives in `replica_side.rs`; the pure pieces (backlog,
//! PSYNC decision, handshake state machine) in `crate::repl`.
//!
//! Full resync takes the snapshot at the moment of `+FULLRESYNC`, so the payload and then the
//! stream bytes that follow it go down the same ordered connection: the replica is online at
//! once. (Redis forks and buffers the stream meanwhile; the bytes the replica sees are the same.)

use super::propagate::Feed;
use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use crate::repl::{
    count_acks, count_good_replicas, decide_sync, enough_good_replicas, fullresync_reply, replconf,
    Backlog, LogLine, PsyncDecision, ReplIds, ReplconfOutcome, ReplicaInfo, ReplicaState,
    SyncContext, SyncRequest,
};
use bytes::Bytes;
use rand_core::RngCore;
use std::collections::BTreeMap;

/// The internal client that executes the master's stream on a replica.
pub const MASTER_CLIENT_ID: ConnId = u64::MAX - 1;
/// Outbound connection ids start here, far above the ids the driver gives accepted sockets.
pub const OUTBOUND_BASE: ConnId = 1 << 48;
/// A client blocked in WAIT has this in `blocked_on`.
pub const WAIT_BLOCK: u64 = 0;

/// A client blocked in WAIT.
#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) conn: ConnId,
    offset: i64,
    replicas: usize,
    deadline_mono_ms: Option<u64>,
}

pub struct Replication {
    pub ids: ReplIds,
    /// master_repl_offset: bytes of stream this node has produced or proxied.
    pub offset: i64,
    pub backlog: Option<Backlog>,
    pub replicas: BTreeMap<ConnId, ReplicaInfo>,
    /// What a client told us with REPLCONF before it sent SYNC/PSYNC.
    handshakes: BTreeMap<ConnId, ReplicaInfo>,
    /// SELECT tracking of the stream a master generates.
    pub feed: Feed,
    /// The link to our master when we are a replica.
    pub link: Option<super::replica_side::Link>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub(super) waiters: Vec<Waiter>,
    /// A GETACK must go to replicas before the next sleep (WAIT is pending).
    getack_pending: bool,
    last_ping_mono_ms: u64,
    pub(crate) next_outbound: ConnId,
    /// True while executing the master's stream: effects go to the AOF only (the raw stream is
    /// proxied to sub-replicas instead).
    pub(crate) from_master: bool,
    /// Since when replicas wait for a diskless sync to start (`repl-diskless-sync-delay`).
    pub(crate) diskless_wait_since: Option<u64>,
    /// When waiting replicas last got a keepalive newline.
    last_newline_mono_ms: u64,
    /// When this replica last logged that it applies its master's writes although it cannot
    /// persist them (at most once per 10 s, as Redis).
    pub(crate) disk_error_warned_ms: Option<u64>,
    /// Full-sync payloads on their way at `rdb-key-save-delay`'s pace, and the next part's time.
    pub(crate) paced: BTreeMap<ConnId, super::paced_sync::PacedSync>,
    pub(crate) paced_next_ms: u64,
    /// The snapshot being produced for full syncs (Redis' RDB child), if any.
    pub(crate) child: Option<super::repl_child::ReplChild>,
}

impl Replication {
    pub fn new(rng: &mut impl RngCore) -> Self {
        Replication {
            ids: ReplIds::new(random_id(rng)),
            offset: 0,
            backlog: None,
            replicas: BTreeMap::new(),
            handshakes: BTreeMap::new(),
            feed: Feed::default(),
            link: None,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            waiters: Vec::new(),
            getack_pending: false,
            last_ping_mono_ms: 0,
            next_outbound: OUTBOUND_BASE,
            from_master: false,
            diskless_wait_since: None,
            last_newline_mono_ms: 0,
            disk_error_warned_ms: None,
            paced: BTreeMap::new(),
            paced_next_ms: 0,
            child: None,
        }
    }
}

pub(crate) fn random_id(rng: &mut impl RngCore) -> [u8; 20] {
    let mut b = [0u8; 20];
    rng.fill_bytes(&mut b);
    b
}

impl Server {
    pub(crate) fn log_lines(&mut self, lines: Vec<LogLine>) {
        for (level, msg) in lines {
            self.log(level, msg);
        }
    }

    pub fn is_replica(&self) -> bool {
        self.repl.link.is_some()
    }

    /// Whether commands reach a replication stream (a backlog or replicas of ours).
    pub(crate) fn repl_feeds(&self) -> bool {
        !self.repl.from_master
            && !self.is_replica()
            && (self.repl.backlog.is_some() || !self.repl.replicas.is_empty())
    }

    /// Effects a master generates: encoded (with SELECT) into the stream.
    pub(crate) fn repl_feed_command(&mut self, db: Option<usize>, cmd: &[Bytes]) {
        if !self.repl_feeds() {
            return;
        }
        self.repl.feed.push(db, cmd);
        let data = self.repl.feed.buf.split().freeze();
        self.repl_feed_bytes(&data);
    }

    /// Memory of the replication stream: (the backlog's history, every byte still held for the
    /// backlog or a replica). As in Redis 7, replicas share the backlog's buffer, so a replica
    /// that stops reading holds what it has not been sent beyond the backlog, and no more.
    pub fn repl_buffer_bytes(&self) -> (u64, u64) {
        let backlog = self
            .repl
            .backlog
            .as_ref()
            .map_or(0, |b| b.histlen().max(0) as u64);
        let unsent = self
            .repl
            .replicas
            .keys()
            .filter_map(|id| self.clients.get(id))
            .map(|c| c.unsent_bytes as u64)
            .max()
            .unwrap_or(0);
        (backlog, backlog.max(unsent))
    }

    /// Appends stream bytes to the backlog and to every online replica.
    pub(crate) fn repl_feed_bytes(&mut self, data: &[u8]) {
        if let Some(b) = self.repl.backlog.as_mut() {
            b.feed(data);
        }
        self.repl.offset += data.len() as i64;
        let online: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|(id, r)| r.state == ReplicaState::Online || self.repl.paced.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in online {
            // A replica being dropped gets nothing more (Redis stops writing to a client
            // flagged CLIENT_CLOSE_ASAP / CLOSE_AFTER_REPLY).
            let closing = self.clients.get(&id).is_none_or(|c| c.close_after_reply);
            if !closing && !self.paced_stream(id, data) {
                self.reply(id).raw(data);
            }
        }
    }

    /// REPLCONF from a (future) replica.
    pub fn replica_replconf(&mut self, id: ConnId, args: &[Bytes], now: Now) {
        let peer = self
            .clients
            .get(&id)
            .map(|c| c.peer.ip().to_string())
            .unwrap_or_default();
        let info = match self.repl.replicas.get_mut(&id) {
            Some(r) => r,
            None => self
                .repl
                .handshakes
                .entry(id)
                .or_insert_with(|| ReplicaInfo::new(id, &peer)),
        };
        match replconf(info, args, now.mono_ms) {
            ReplconfOutcome::Ok => self.reply(id).ok(),
            ReplconfOutcome::Error(e) => self.reply(id).error(&e),
            ReplconfOutcome::Ack => self.check_waiters(now),
            ReplconfOutcome::GetAck | ReplconfOutcome::Silent => {}
        }
    }

    /// SYNC / PSYNC: partial resync from the backlog, or a full one with a fresh snapshot.
    pub fn replica_sync(&mut self, id: ConnId, req: SyncRequest, now: Now) {
        if self.repl.replicas.contains_key(&id) {
            return;
        }
        if self.failover.state != crate::repl::FailoverState::None {
            return self
                .reply(id)
                .error("NOMASTERLINK Can't SYNC while failing over");
        }
        let peer = self
            .clients
            .get(&id)
            .map(|c| c.peer.ip().to_string())
            .unwrap_or_default();
        let mut info = self
            .repl
            .handshakes
            .remove(&id)
            .unwrap_or_else(|| ReplicaInfo::new(id, &peer));
        let link_down = self.repl.link.as_ref().is_some_and(|l| !l.is_up());
        let pending_output = self.clients.get(&id).is_some_and(|c| !c.out.is_empty());
        let decision = {
            let cx = SyncContext {
                ids: &self.repl.ids,
                master_repl_offset: self.repl.offset,
                backlog: self.repl.backlog.as_ref(),
                master_link_down: link_down,
                pending_output,
            };
            decide_sync(&cx, &info, req)
        };
        match decision {
            PsyncDecision::Refused { error, log } => {
                self.log_lines(log);
                self.reply(id).error(&error);
            }
            PsyncDecision::Continue {
                reply,
                mut bytes_to_send,
                log,
                ..
            } => {
                self.log_lines(log);
                if injected!(self.bugs, BacklogOffByOne) {
                    // The backlog sent from one byte after the offset asked for.
                    if let Some(first) = bytes_to_send.first_mut() {
                        *first = first.slice(1..);
                    }
                }
                self.repl.sync_partial_ok += 1;
                let mut out = self.reply(id);
                out.raw(&reply);
                for chunk in bytes_to_send {
                    out.raw(&chunk);
                }
                info.state = ReplicaState::Online;
                info.last_ack_ms = now.mono_ms; // no false timeout before its first ACK
                self.add_replica(id, info);
                self.trace(format!("+slave {peer} partial"));
            }
            PsyncDecision::FullResync {
                partial_err,
                pre_psync,
                log,
            } => {
                self.log_lines(log);
                self.repl.sync_full += 1;
                if partial_err {
                    self.repl.sync_partial_err += 1;
                }
                if self.diskless_for(&info) && self.diskless_delay_ms() > 0 {
                    return self.wait_for_diskless_sync(id, info, pre_psync, now);
                }
                self.full_sync(id, info, pre_psync, now);
            }
        }
    }

    /// Client `id` is now a replica: its output buffer is the replication stream.
    fn add_replica(&mut self, id: ConnId, info: ReplicaInfo) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.replica = true;
        }
        self.repl.replicas.insert(id, info);
    }

    /// Can this replica get a diskless (socket) transfer?
    fn diskless_for(&self, info: &ReplicaInfo) -> bool {
        info.capa_eof
            && self
                .config
                .noop
                .get("repl-diskless-sync")
                .is_none_or(|v| v == "yes")
    }

    /// The delay applies only when `repl-diskless-sync-delay` was set (config or CONFIG SET):
    /// a deliberate difference from Redis' 5 s default, which would slow every full sync of
    /// the simulations and the tools built on them.
    fn diskless_delay_ms(&self) -> u64 {
        let secs = self.config.noop.get("repl-diskless-sync-delay");
        secs.map_or(0, |v| v.parse().unwrap_or(0)) * 1000
    }

    /// Redis delays a diskless sync so more replicas can share it: the replica waits in
    /// `wait_bgsave` (getting a newline a second) until the delay passes or enough replicas
    /// (`repl-diskless-sync-max-replicas`) wait.
    fn wait_for_diskless_sync(
        &mut self,
        id: ConnId,
        mut info: ReplicaInfo,
        pre_psync: bool,
        now: Now,
    ) {
        info.state = ReplicaState::WaitBgsaveStart;
        info.pre_psync = pre_psync;
        self.add_replica(id, info);
        if self.repl.diskless_wait_since.is_none() {
            self.repl.diskless_wait_since = Some(now.mono_ms);
            self.log(
                LogLevel::Notice,
                format!(
                    "Delay next BGSAVE for diskless SYNC ({} secs)",
                    self.diskless_delay_ms() / 1000
                ),
            );
        }
        self.start_due_diskless_sync(now);
    }

    /// Starts the delayed diskless sync once its time has come; keeps the waiting replicas'
    /// connections alive meanwhile.
    fn start_due_diskless_sync(&mut self, now: Now) {
        let Some(since) = self.repl.diskless_wait_since else {
            return;
        };
        let waiting: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|(_, r)| r.state == ReplicaState::WaitBgsaveStart)
            .map(|(id, _)| *id)
            .collect();
        let max: usize = self
            .config
            .noop
            .get("repl-diskless-sync-max-replicas")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let enough = max > 0 && waiting.len() >= max;
        if !enough && now.mono_ms < since + self.diskless_delay_ms() {
            if now.mono_ms >= self.repl.last_newline_mono_ms + 1000 {
                self.repl.last_newline_mono_ms = now.mono_ms;
                for id in &waiting {
                    self.reply(*id).raw(b"\n");
                }
            }
            return;
        }
        self.repl.diskless_wait_since = None;
        for id in waiting {
            if let Some(info) = self.repl.replicas.remove(&id) {
                let pre_psync = info.pre_psync;
                self.full_sync(id, info, pre_psync, now);
            }
        }
    }

    fn full_sync(&mut self, id: ConnId, mut info: ReplicaInfo, pre_psync: bool, now: Now) {
        if self.repl.backlog.is_none() {
            let line = self
                .repl
                .ids
                .create_backlog_history(random_id(&mut self.rng));
            self.log_lines(vec![line]);
            self.repl.backlog = Some(Backlog::new(
                self.config.repl_backlog_size as usize,
                self.repl.offset,
            ));
        }
        // The snapshot is serialised in memory, so its length is known: `$<len>` framing serves
        // every replica (EOF-marker framing exists for masters that stream before knowing it).
        let diskless = self.diskless_for(&info);
        let target = if diskless { "replicas sockets" } else { "disk" };
        self.log(
            LogLevel::Notice,
            format!("Starting BGSAVE for SYNC with target: {target}"),
        );
        let rdb = self.serialize_all(now);
        let (replid, offset) = (self.repl.ids.replid.clone(), self.repl.offset);
        if !pre_psync {
            self.reply(id).raw(&fullresync_reply(&replid, offset));
        }
        let mut payload = bytes::BytesMut::from(format!("${}\r\n", rdb.len()).as_bytes());
        payload.extend_from_slice(&rdb);
        // The next command streamed to anyone starts with SELECT.
        self.repl.feed.forget_db();
        let online = self.send_payload(id, payload.freeze(), diskless, now);
        let duration_ms = self.snapshot_duration_ms();
        self.repl_child_join(id, diskless, duration_ms, now);
        info.state = match online {
            true => ReplicaState::Online,
            false => ReplicaState::WaitBgsaveEnd,
        };
        info.last_ack_ms = now.mono_ms; // no false timeout before its first ACK
        let name = info.name();
        self.add_replica(id, info);
        if online {
            self.replica_synced(&name);
        }
    }

    /// A replica's command produced a reply (the replication link carries none): Redis logs it
    /// and drops the replica; an error reply is also logged as a critical one.
    pub(crate) fn replica_replied(&mut self, id: ConnId, before: usize) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.out.len() <= before {
            return;
        }
        let reply = c.out.split_off(before);
        let (cmd, info) = (c.last_cmd.clone(), c.info_line(self.last_now.mono_ms));
        if let Some(err) = reply.strip_prefix(b"-") {
            let line = err.split(|b| *b == b'\r').next().unwrap_or_default();
            let shown = String::from_utf8_lossy(&line[..line.len().min(4096)]).into_owned();
            self.log(
                LogLevel::Warning,
                format!("== CRITICAL == This master is sending an error to its replica: '{shown}' after processing the command '{cmd}'"),
            );
            self.stats.unexpected_error_replies += 1;
        }
        self.log(
            LogLevel::Warning,
            format!("Replica generated a reply to command '{cmd}', disconnecting it: {info}"),
        );
        self.close_after_reply(id);
    }

    /// A replica connection went away (or, on a replica, the master client was killed).
    pub(crate) fn replica_gone(&mut self, id: ConnId) {
        if id == MASTER_CLIENT_ID {
            return self.master_client_freed();
        }
        self.repl.handshakes.remove(&id);
        self.repl.paced.remove(&id);
        self.repl_child_leave(id);
        self.lockstep_progress();
        if let Some(r) = self.repl.replicas.remove(&id) {
            self.log(
                LogLevel::Notice,
                format!("Connection with replica {} lost.", r.name()),
            );
            self.trace(format!("-slave {}", r.name()));
        }
        self.repl.waiters.retain(|w| w.conn != id);
    }

    /// Disconnects every replica (they reconnect and resync), as promotion and a new master do.
    /// Like Redis' freeClient, at once: stream bytes that were not sent yet are dropped and
    /// nothing more is fed to them, so no replica counts bytes of a history it will not keep.
    pub(crate) fn disconnect_replicas(&mut self) {
        let ids: Vec<ConnId> = self.repl.replicas.keys().copied().collect();
        for id in ids {
            self.replica_gone(id);
            if let Some(c) = self.clients.get_mut(&id) {
                c.out.clear();
                c.owed.clear();
            }
            self.close_after_reply(id);
        }
    }

    /// min-replicas-to-write: refuse writes without enough good replicas.
    pub(crate) fn noreplicas_refusal(&self, now: Now) -> bool {
        let min = self.config.min_replicas_to_write;
        if min == 0 || self.is_replica() {
            return false;
        }
        let lag = self.config.min_replicas_max_lag_s as i64;
        let good = count_good_replicas(self.repl.replicas.values(), now.mono_ms, lag);
        !enough_good_replicas(min as i64, lag, good)
    }

    pub(crate) fn good_replicas(&self, now: Now) -> usize {
        count_good_replicas(
            self.repl.replicas.values(),
            now.mono_ms,
            self.config.min_replicas_max_lag_s as i64,
        )
    }

    /// WAIT numreplicas timeout-ms. Inside EXEC it never blocks (as in Redis): it answers how
    /// many replicas acknowledged so far.
    pub fn wait_replicas(&mut self, id: ConnId, replicas: usize, timeout_ms: u64, now: Now) {
        let offset = self.repl.offset;
        let acked = count_acks(self.repl.replicas.values(), offset);
        let in_exec = self.exec_effects.is_some();
        if acked >= replicas || self.repl.replicas.is_empty() && replicas == 0 || in_exec {
            return self.reply(id).int(acked as i64);
        }
        let deadline_mono_ms = (timeout_ms > 0).then(|| now.mono_ms.saturating_add(timeout_ms));
        self.repl.waiters.push(Waiter {
            conn: id,
            offset,
            replicas,
            deadline_mono_ms,
        });
        self.repl.getack_pending = true;
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = Some(WAIT_BLOCK);
        }
    }

    /// Answers WAITs whose replicas acknowledged, or whose time is up.
    pub(crate) fn check_waiters(&mut self, now: Now) {
        let waiters = std::mem::take(&mut self.repl.waiters);
        for w in waiters {
            let acked = count_acks(self.repl.replicas.values(), w.offset);
            let expired = w.deadline_mono_ms.is_some_and(|d| now.mono_ms >= d);
            if acked >= w.replicas || expired {
                if let Some(c) = self.clients.get_mut(&w.conn) {
                    c.blocked_on = None;
                }
                self.reply(w.conn).int(acked as i64);
                self.process_input(w.conn, now);
            } else {
                self.repl.waiters.push(w);
            }
        }
    }

    /// Asks replicas for an acknowledgement now (a shutdown does, before it pauses replication).
    pub(crate) fn send_getack_now(&mut self) {
        self.repl.getack_pending = true;
        self.send_getack_if_needed();
    }

    /// Before the driver sleeps: ask replicas for acknowledgements when a WAIT is pending.
    pub(crate) fn send_getack_if_needed(&mut self) {
        // Paused replication traffic: the GETACK goes out after the pause.
        if self.pause.paused(super::pause::action::REPLICA) {
            return;
        }
        if std::mem::take(&mut self.repl.getack_pending) && !self.repl.replicas.is_empty() {
            let cmd = [
                Bytes::from_static(b"REPLCONF"),
                Bytes::from_static(b"GETACK"),
                Bytes::from_static(b"*"),
            ];
            let mut out = bytes::BytesMut::new();
            let mut w = crate::resp::Out::new(&mut out);
            w.array(3);
            for a in &cmd {
                w.bulk(a);
            }
            self.repl_feed_bytes(&out);
        }
    }

    /// replicationCron, master half: PING replicas every repl-ping-replica-period, drop replicas
    /// silent for longer than repl-timeout, expire WAITs.
    pub(crate) fn repl_master_cron(&mut self, now: Now) {
        self.failover_cron(now);
        self.start_due_diskless_sync(now);
        self.repl_child_cron(now);
        let period_ms = self.config.repl_ping_replica_period_s * 1000;
        // A failover with a timeout keeps the offset still for its replica to catch up.
        let failover_pause =
            self.failover.end_ms.is_some() && self.pause.paused(super::pause::action::REPLICA);
        if !self.is_replica()
            && !failover_pause
            && !self.repl.replicas.is_empty()
            && now.mono_ms.saturating_sub(self.repl.last_ping_mono_ms) >= period_ms
        {
            self.repl.last_ping_mono_ms = now.mono_ms;
            // Redis feeds its PING with no database: it never needs a SELECT of its own.
            self.repl_feed_bytes(&crate::resp::encode_command(&["PING"]));
        }
        let timed_out: Vec<(ConnId, LogLine)> = self
            .repl
            .replicas
            .iter()
            .filter_map(|(id, r)| {
                r.timed_out(now.mono_ms, self.config.repl_timeout_s as i64)
                    .map(|l| (*id, l))
            })
            .collect();
        for (id, line) in timed_out {
            self.log_lines(vec![line]);
            self.close_after_reply(id);
        }
        self.check_waiters(now);
    }
}
