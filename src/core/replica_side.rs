//! Replication in the core, replica side: the link to the master (`crate::repl::MasterLink`
//! driven over an outbound connection), loading the master's snapshot, executing its stream
//! through the internal master client and proxying the same bytes to our own replicas, REPLCONF
//! ACKs, and turning into a master (REPLICAOF NO ONE) or a replica (REPLICAOF host port).

use super::replication::{random_id, MASTER_CLIENT_ID};
use super::{ConnId, Now, Server};
use crate::config::LogLevel;
use crate::db::ExpiryMode;
use crate::repl::{replconf_ack, Backlog, LinkConfig, LinkEvent, MasterLink, ReplState};
use crate::resp::{parse_request, Limits, Parsed};
use bytes::Bytes;

/// Delay between attempts to reach the master (Redis' replicationCron runs once a second).
const RECONNECT_MS: u64 = 1000;
/// Largest snapshot a replica accepts from its master.
const MAX_RDB_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// Our link to the master.
pub struct Link {
    pub link: MasterLink,
    pub conn: Option<ConnId>,
    next_connect_mono_ms: u64,
    /// +FULLRESYNC seen: the snapshot that follows belongs to this id and offset.
    pending_full: Option<(String, i64)>,
    /// A sync completed since the link last went down (for the `master link down` trace).
    synced: bool,
    last_ack_mono_ms: u64,
    /// The database the master's stream had selected when CLIENT KILL freed the master client:
    /// the stream goes on there after the partial resync.
    stream_db: usize,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.link.state() == ReplState::Connected
    }
}

impl Server {
    fn link_config(&self, host: &str, port: u16) -> LinkConfig {
        LinkConfig {
            master_host: host.to_string(),
            master_port: port,
            masterauth: self.config.masterauth.clone(),
            masteruser: self.config.masteruser.clone(),
            listening_port: if self.config.replica_announce_port != 0 {
                self.config.replica_announce_port
            } else {
                self.config.port
            },
            announce_ip: self.config.replica_announce_ip.clone(),
            max_rdb_bytes: MAX_RDB_BYTES,
        }
    }

    /// REPLICAOF host port (or `replicaof` at startup): start following that master. Our own
    /// history becomes the cached master so a partial resync is possible.
    pub fn become_replica_of(&mut self, host: &str, port: u16, now: Now) {
        if let Some(conn) = self.repl.link.take().and_then(|l| l.conn) {
            self.actions.push_back(super::Action::Close { conn });
        }
        self.config.replicaof = Some((host.to_string(), port));
        self.ks.mode = ExpiryMode::Hide;
        self.disconnect_all_blocked(now);
        self.log(LogLevel::Notice, "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.".into());
        let cached = Some((self.repl.ids.replid.clone(), self.repl.offset));
        let link = MasterLink::new(self.link_config(host, port), cached);
        self.repl.link = Some(Link {
            link,
            conn: None,
            next_connect_mono_ms: now.mono_ms,
            pending_full: None,
            synced: false,
            last_ack_mono_ms: 0,
            stream_db: 0,
        });
        self.add_internal_client(MASTER_CLIENT_ID, now);
        self.set_expiry_mode();
        self.trace(format!("replicaof {host}:{port}"));
    }

    /// REPLICAOF NO ONE (and a failover): stop following; new replication id, old one kept as
    /// replid2. The caller logs why.
    pub fn become_master(&mut self) {
        let Some(link) = self.repl.link.take() else {
            return;
        };
        if let Some(conn) = link.conn {
            self.actions.push_back(super::Action::Close { conn });
        }
        self.config.replicaof = None;
        self.set_expiry_mode();
        let line = self
            .repl
            .ids
            .shift_on_promotion(self.repl.offset, random_id(&mut self.rng));
        if injected!(self.bugs, PromotionKeepsReplid) {
            // The master's ID kept as ours, so its history and ours look like one.
            self.repl.ids.replid = self.repl.ids.replid2.clone();
        }
        self.log_lines(vec![line]);
        if self.repl.backlog.is_none() {
            self.repl.backlog = Some(Backlog::new(
                self.config.repl_backlog_size as usize,
                self.repl.offset,
            ));
        }
        self.disconnect_replicas();
        self.free_client(MASTER_CLIENT_ID);
        self.repl.feed.forget_db();
        self.trace("role master".into());
    }

    /// replicationCron, replica half: connect, time out, ACK once a second.
    pub(crate) fn repl_replica_cron(&mut self, now: Now) {
        let Some(l) = self.repl.link.as_mut() else {
            return;
        };
        let mut events = l.link.on_cron(now.mono_ms, self.config.repl_timeout_s);
        events.extend(self.connect_master_if_due(now));
        let l = self.repl.link.as_mut().expect("present");
        let loading = self.loading.is_some();
        if l.is_up() && !loading && now.mono_ms.saturating_sub(l.last_ack_mono_ms) >= 1000 {
            l.last_ack_mono_ms = now.mono_ms;
            events.push(LinkEvent::Send(replconf_ack(self.repl.offset, None)));
        }
        self.link_events(now, events);
    }

    /// Dials the master when the link waits to connect and its retry time has come.
    fn connect_master_if_due(&mut self, now: Now) -> Vec<LinkEvent> {
        let Some(l) = self.repl.link.as_mut() else {
            return vec![];
        };
        if l.link.state() != ReplState::Connect
            || l.conn.is_some()
            || now.mono_ms < l.next_connect_mono_ms
        {
            return vec![];
        }
        let events = l.link.start_connect(now.mono_ms);
        let conn = self.repl.next_outbound;
        self.repl.next_outbound += 1;
        l.conn = Some(conn);
        let (host, port) = (
            l.link.config().master_host.clone(),
            l.link.config().master_port,
        );
        self.actions
            .push_back(super::Action::Connect { conn, host, port });
        events
    }

    fn mark_synced(&mut self) {
        if let Some(l) = self.repl.link.as_mut() {
            l.synced = true;
        }
    }

    fn link_conn(&self) -> Option<ConnId> {
        self.repl.link.as_ref().and_then(|l| l.conn)
    }

    /// True if `conn` is our connection to the master.
    pub(crate) fn is_link_conn(&self, conn: ConnId) -> bool {
        self.link_conn() == Some(conn)
    }

    /// The driver connected an outbound connection.
    pub fn handle_connected(&mut self, now: Now, conn: ConnId, local: std::net::SocketAddr) {
        let local_ip = local.ip().to_string();
        if self.sentinel_conn_event(
            now,
            conn,
            super::sentinel_mode::LinkEvent::Connected(local_ip),
        ) {
            return;
        }
        if self.migrate_connected(conn) {
            return self.flush();
        }
        if !self.is_link_conn(conn) {
            self.actions.push_back(super::Action::Close { conn });
            return self.flush();
        }
        let events = self
            .repl
            .link
            .as_mut()
            .expect("link conn implies link")
            .link
            .on_connected(now.mono_ms);
        self.name_master_client(now, local);
        self.link_events(now, events);
        self.flush();
    }

    /// The master client shows the link's addresses, as Redis' does (so `CLIENT KILL
    /// <master ip:port>` on a replica drops the link).
    fn name_master_client(&mut self, now: Now, local: std::net::SocketAddr) {
        let Some(l) = self.repl.link.as_ref() else {
            return;
        };
        let (host, port) = (&l.link.config().master_host, l.link.config().master_port);
        let ip = match host.as_str() {
            "localhost" => Some(std::net::Ipv4Addr::LOCALHOST.into()),
            h => h.trim_matches(['[', ']']).parse().ok(),
        };
        let (db, fresh) = (l.stream_db, !self.clients.contains_key(&MASTER_CLIENT_ID));
        self.add_internal_client(MASTER_CLIENT_ID, now);
        let Some(c) = self.clients.get_mut(&MASTER_CLIENT_ID) else {
            return;
        };
        if fresh {
            c.db = db;
        }
        if let Some(ip) = ip {
            c.peer = std::net::SocketAddr::new(ip, port);
            c.local = local;
        }
    }

    /// The driver could not connect.
    pub fn handle_connect_failed(&mut self, now: Now, conn: ConnId, error: &str) {
        if self.sentinel_conn_event(now, conn, super::sentinel_mode::LinkEvent::Closed) {
            return;
        }
        if self.is_link_conn(conn) {
            self.link_lost(now, error);
        }
        self.migrate_lost(now, conn);
        self.flush();
    }

    /// Bytes from the master.
    pub(crate) fn link_data(&mut self, now: Now, data: &[u8]) {
        let events = self
            .repl
            .link
            .as_mut()
            .expect("link")
            .link
            .on_data(now.mono_ms, data);
        self.link_events(now, events);
        self.loading_from_socket();
        self.pace_socket_read(now);
    }

    /// The connection to the master closed or failed: cache our position for PSYNC, retry later.
    pub(crate) fn link_lost(&mut self, now: Now, error: &str) {
        let cached = Some((self.repl.ids.replid.clone(), self.repl.offset));
        if self.repl.link.is_some() && self.loading.is_none() {
            // A transfer loaded from the socket failed: the old data is served again.
            self.stop_loading();
        }
        let Some(l) = self.repl.link.as_mut() else {
            return;
        };
        let was_up = std::mem::take(&mut l.synced);
        l.conn = None;
        l.pending_full = None;
        l.next_connect_mono_ms = now.mono_ms + RECONNECT_MS;
        l.link.set_cached_master(cached);
        let events = l.link.on_closed(now.mono_ms, error);
        if was_up {
            self.trace("master link down".into());
        }
        if let Some(c) = self.clients.get_mut(&MASTER_CLIENT_ID) {
            c.qbuf.clear();
            c.multi = None;
        }
        self.link_events(now, events);
        if was_up {
            self.reconnect_at_once(now);
        }
    }

    /// An established link was lost: Redis 7 dials again at once rather than at the next
    /// replicationCron, so the backlog has the least time to move past our offset (and our own
    /// replicas, dropped when the master's id changes, find us synced again sooner).
    fn reconnect_at_once(&mut self, now: Now) {
        let Some(l) = self.repl.link.as_mut() else {
            return;
        };
        l.next_connect_mono_ms = now.mono_ms;
        let (host, port) = (
            l.link.config().master_host.clone(),
            l.link.config().master_port,
        );
        self.log(
            LogLevel::Notice,
            format!("Reconnecting to MASTER {host}:{port}"),
        );
        let events = self.connect_master_if_due(now);
        self.link_events(now, events);
    }

    /// The master client is being freed while we follow a master (CLIENT KILL TYPE master): as
    /// in Redis this drops the link, and the replica reconnects asking for a partial resync.
    pub(crate) fn master_client_freed(&mut self) {
        let db = self.clients.get(&MASTER_CLIENT_ID).map_or(0, |c| c.db);
        let Some(l) = self.repl.link.as_mut() else {
            return;
        };
        l.stream_db = db;
        if let Some(conn) = l.conn {
            self.actions.push_back(super::Action::Close { conn });
            self.link_lost(self.last_now, "Master client killed");
        }
    }

    fn link_events(&mut self, now: Now, events: Vec<LinkEvent>) {
        for e in events {
            match e {
                LinkEvent::Send(data) => {
                    if let Some(conn) = self.link_conn() {
                        self.actions.push_back(super::Action::Send { conn, data });
                    }
                }
                LinkEvent::Log(level, msg) => self.log(level, msg),
                LinkEvent::FullResync { replid, offset } => {
                    if let Some(l) = self.repl.link.as_mut() {
                        l.pending_full = Some((replid, offset));
                    }
                    self.failover_psync_accepted(now);
                }
                LinkEvent::RdbPayload { rdb, ack_now } => {
                    self.load_master_snapshot(now, &rdb, ack_now)
                }
                LinkEvent::Continue { new_replid } => {
                    if let Some(id) = new_replid {
                        self.repl.ids.continue_with(&id, self.repl.offset);
                        self.disconnect_replicas();
                    }
                    if self.repl.backlog.is_none() {
                        self.repl.backlog = Some(Backlog::new(
                            self.config.repl_backlog_size as usize,
                            self.repl.offset,
                        ));
                    }
                    // The link already logged Redis' "Master accepted a Partial
                    // Resynchronization." line.
                    self.trace("sync partial".into());
                    self.mark_synced();
                    self.failover_psync_accepted(now);
                }
                LinkEvent::FailoverRejected => {
                    self.abort_failover("Failover target rejected psync request", now)
                }
                LinkEvent::Stream(data) => self.apply_master_stream(now, &data),
                LinkEvent::Failed(reason) => {
                    if let Some(conn) = self.link_conn() {
                        self.actions.push_back(super::Action::Close { conn });
                    }
                    // As when the master closes the link: cache our position for PSYNC.
                    self.link_lost(now, &reason);
                }
            }
        }
    }

    /// Is the full sync in progress a new snapshot of the history this replica already has
    /// (Redis' condition for async loading)?
    pub(crate) fn same_history_sync(&self) -> bool {
        let pending = self
            .repl
            .link
            .as_ref()
            .and_then(|l| l.pending_full.as_ref());
        pending.is_some_and(|(replid, _)| *replid == self.repl.ids.replid)
    }

    /// A full sync's snapshot: parsed completely before the old data is dropped, so a bad payload
    /// leaves the replica as it was (and the link retries).
    fn load_master_snapshot(&mut self, now: Now, rdb: &[u8], ack_now: bool) {
        let Some((replid, offset)) = self.repl.link.as_mut().and_then(|l| l.pending_full.take())
        else {
            return;
        };
        let loaded = match crate::rdb::read_rdb(rdb) {
            Ok(l) => l,
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Failed trying to load the MASTER synchronization DB from socket: {e}"),
                );
                return self.link_events(now, vec![LinkEvent::Failed(e.to_string())]);
            }
        };
        // A load from the socket logged its start when the transfer began.
        let from_socket = self.persist.loading && self.loading.is_none();
        self.abandon_load();
        let swapdb = self.diskless_load_mode() == Some("swapdb");
        if !from_socket {
            self.log_sync_steps(&["Flushing old data", "Loading DB in memory"]);
        } else if swapdb {
            self.log_sync_steps(&[
                "Swapping active DB with loaded DB",
                "Discarding old DB in background",
            ]);
        }
        for db in &mut self.ks.dbs {
            db.clear();
        }
        // The new history is ours from now on, even while its keys are still going in: a link
        // lost meanwhile asks to continue it.
        self.repl.ids.adopt_master(&replid);
        self.repl.offset = offset;
        self.repl.backlog = Some(Backlog::new(self.config.repl_backlog_size as usize, offset));
        self.disconnect_replicas();
        let source = super::loading::Source::MasterSync { offset, ack_now };
        if let Err(e) = self.begin_load(now, source, loaded, rdb.len() as u64) {
            // The old data is gone: never offer the old history for a partial resync again.
            self.repl.ids = crate::repl::ReplIds::new(random_id(&mut self.rng));
            self.repl.offset = 0;
            self.repl.backlog = None;
            if let Some(l) = self.repl.link.as_mut() {
                l.link.set_cached_master(None);
            }
            self.log(
                LogLevel::Warning,
                format!("Failed trying to load the MASTER synchronization DB: {e}"),
            );
            return self.link_events(now, vec![LinkEvent::Failed(e)]);
        }
    }

    /// The master's snapshot is in the keyspace: the replica is in sync, and the stream that
    /// arrived meanwhile runs.
    pub(crate) fn master_snapshot_loaded(&mut self, now: Now, offset: i64, ack_now: bool) {
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Finished with success".into(),
        );
        self.trace("sync full".into());
        self.aof_rewrite_after_sync(now);
        self.mark_synced();
        if ack_now {
            self.link_events(now, vec![LinkEvent::Send(replconf_ack(offset, None))]);
        }
        if self.repl.link.as_ref().is_some_and(|l| l.conn.is_some()) {
            self.apply_master_stream(now, &[]);
        }
    }

    /// Executes the master's stream, then hands exactly the bytes applied to our backlog and
    /// sub-replicas. GETACK is answered with the offset before it, as Redis does. While a pause
    /// holds the master's next command, the bytes wait in the master client's query buffer.
    pub(crate) fn apply_master_stream(&mut self, now: Now, data: &[u8]) {
        if !self.clients.contains_key(&MASTER_CLIENT_ID) {
            let db = self.repl.link.as_ref().map_or(0, |l| l.stream_db);
            self.add_internal_client(MASTER_CLIENT_ID, now);
            if let Some(c) = self.clients.get_mut(&MASTER_CLIENT_ID) {
                c.db = db;
            }
        }
        let Some(c) = self.clients.get_mut(&MASTER_CLIENT_ID) else {
            return;
        };
        c.qbuf.extend_from_slice(data);
        if self.master_stream_held() || self.loading.is_some() {
            return;
        }
        let limits = Limits {
            proto_max_bulk_len: i64::MAX,
            authenticated: true,
        };
        loop {
            let c = self
                .clients
                .get_mut(&MASTER_CLIENT_ID)
                .expect("master client");
            let (args, n) = match parse_request(&c.qbuf, limits) {
                Ok(Parsed::Command(args, n)) => (args, n),
                Ok(Parsed::Empty(n)) => (Vec::new(), n),
                Ok(Parsed::Incomplete) => return,
                Err(e) => {
                    let msg = format!("Protocol error from master: {}", e.0);
                    self.log(LogLevel::Warning, msg.clone());
                    return self.link_events(now, vec![LinkEvent::Failed(msg)]);
                }
            };
            let held = self
                .command(args.first().map_or(&b""[..], |a| a))
                .is_some_and(|spec| self.pause_holds(MASTER_CLIENT_ID, spec));
            if held {
                return self.hold_master_stream();
            }
            let c = self
                .clients
                .get_mut(&MASTER_CLIENT_ID)
                .expect("master client");
            let raw = c.qbuf.split_to(n).freeze();
            let getack = args.len() >= 2
                && args[0].eq_ignore_ascii_case(b"replconf")
                && args[1].eq_ignore_ascii_case(b"getack");
            if getack {
                let ack = replconf_ack(self.repl.offset, None);
                self.link_events(now, vec![LinkEvent::Send(ack)]);
            } else if !args.is_empty() {
                self.repl.from_master = true;
                let mode = std::mem::replace(&mut self.ks.mode, ExpiryMode::Keep);
                self.call(MASTER_CLIENT_ID, args, now);
                self.ks.mode = mode;
                self.repl.from_master = false;
                self.master_stream_replied();
            }
            self.repl_feed_bytes(&raw);
        }
    }
}

impl Server {
    /// Replies to the master's stream are dropped; an error is logged as critical, as Redis
    /// does (the replica's data may have diverged from its master's).
    fn master_stream_replied(&mut self) {
        let Some(c) = self.clients.get_mut(&MASTER_CLIENT_ID) else {
            return;
        };
        let out = std::mem::take(&mut c.out);
        let Some(err) = out.strip_prefix(b"-") else {
            return;
        };
        let cmd = match c.last_cmd.as_ref() {
            "NULL" => "<unknown>".to_string(),
            name => name.to_string(),
        };
        let line = err.split(|b| *b == b'\r').next().unwrap_or_default();
        let shown = String::from_utf8_lossy(&line[..line.len().min(4096)]).into_owned();
        self.stats.unexpected_error_replies += 1;
        self.log(
            LogLevel::Warning,
            format!("== CRITICAL == This replica is sending an error to its master: '{shown}' after processing the command '{cmd}'"),
        );
    }
}

/// Parses REPLICAOF's port like Redis: a plain integer within 0..=65535.
pub fn parse_port(arg: &Bytes) -> Option<u16> {
    crate::resp::parse_i64(arg).and_then(|p| u16::try_from(p).ok())
}
