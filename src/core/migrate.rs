//! MIGRATE's side of the core: connections to target instances, cached per `host:port` for 10 s
//! of disuse (INFO's migrate_cached_sockets), and the migration in flight on each.
//!
//! Redis runs a migration with blocking socket calls; here the calling client waits (its reply
//! is owed, as for CONFIG REWRITE) while the request goes out on an outbound connection and the
//! target's replies come back: one for AUTH if given, one for SELECT unless the connection last
//! migrated to that database, one per RESTORE. Keys the target acknowledged are deleted unless
//! COPY, and replicated as one DEL. A target that does not answer in time, or a connection that
//! fails, ends the migration with IOERR and drops the connection from the cache.

use super::{Action, ConnId, Now, Server};
use crate::db::notify;
use crate::resp::{encode_command, parse_frame, Frame};
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;

/// Cached connections are closed after this long unused (MIGRATE_SOCKET_CACHE_TTL).
const CACHE_TTL_MS: u64 = 10_000;
/// At most this many cached connections (MIGRATE_SOCKET_CACHE_ITEMS).
const CACHE_ITEMS: usize = 64;

/// What MIGRATE asks the core to do once it has looked the keys up.
pub struct MigrateRequest {
    pub host: String,
    pub port: u16,
    pub db: i64,
    pub timeout_ms: u64,
    /// AUTH's arguments (password, or username and password).
    pub auth: Option<Vec<Bytes>>,
    /// Per key still live: its name and the RESTORE command carrying it.
    pub restores: Vec<(Bytes, Vec<Bytes>)>,
    pub copy: bool,
}

/// The cached connections by `host:port`.
#[derive(Default)]
pub struct Migrations {
    sockets: BTreeMap<String, Socket>,
}

impl Migrations {
    /// INFO's migrate_cached_sockets.
    pub fn cached(&self) -> usize {
        self.sockets.len()
    }

    fn by_conn(&self, conn: ConnId) -> Option<String> {
        self.sockets
            .iter()
            .find(|(_, s)| s.conn == conn)
            .map(|(name, _)| name.clone())
    }
}

struct Socket {
    conn: ConnId,
    connected: bool,
    /// The database the last successful migration selected (Redis' last_dbid).
    last_db: Option<i64>,
    last_use_ms: u64,
    input: BytesMut,
    job: Option<Job>,
}

/// A migration waiting for the target.
struct Job {
    client: ConnId,
    token: u64,
    /// The client's database, where acknowledged keys are deleted.
    db_index: usize,
    target_db: i64,
    keys: Vec<Bytes>,
    copy: bool,
    /// The request, held until the connection is up.
    request: Option<Bytes>,
    auth: bool,
    select: bool,
    replies: Vec<Frame>,
    deadline_ms: u64,
}

impl Job {
    fn expected(&self) -> usize {
        usize::from(self.auth) + usize::from(self.select) + self.keys.len()
    }
}

impl Server {
    /// Starts a migration for `client` (whose reply waits for its end).
    pub(crate) fn migrate(&mut self, now: Now, client: ConnId, req: MigrateRequest) {
        let name = format!("{}:{}", req.host, req.port);
        // Redis blocks while it migrates, so it never has two migrations on one connection.
        if self
            .migrate
            .sockets
            .get(&name)
            .is_some_and(|s| s.job.is_some())
        {
            return self
                .reply(client)
                .error("IOERR error or timeout connecting to the client");
        }
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let db_index = c.db;
        let token = self.next_disk_token;
        self.next_disk_token += 1;
        c.blocked_on = Some(token);
        c.owe(token);
        if !self.migrate.sockets.contains_key(&name) {
            self.migrate_open(&name, &req, now);
        }
        let socket = self
            .migrate
            .sockets
            .get_mut(&name)
            .expect("socket just ensured");
        socket.last_use_ms = now.mono_ms;
        let select = socket.last_db != Some(req.db);
        let mut request = BytesMut::new();
        if let Some(auth) = &req.auth {
            let mut cmd = vec![Bytes::from_static(b"AUTH")];
            cmd.extend(auth.iter().cloned());
            request.extend_from_slice(&encode_command(&cmd));
        }
        if select {
            request.extend_from_slice(&encode_command(&["SELECT", &req.db.to_string()]));
        }
        for (_, restore) in &req.restores {
            request.extend_from_slice(&encode_command(restore));
        }
        let job = Job {
            client,
            token,
            db_index,
            target_db: req.db,
            keys: req.restores.into_iter().map(|(k, _)| k).collect(),
            copy: req.copy,
            request: Some(request.freeze()),
            auth: req.auth.is_some(),
            select,
            replies: Vec::new(),
            deadline_ms: now.mono_ms + req.timeout_ms,
        };
        socket.job = Some(job);
        if socket.connected {
            self.migrate_send(&name);
        }
    }

    /// A new connection to `name`, making room in the cache by dropping the least recently
    /// used idle one.
    fn migrate_open(&mut self, name: &str, req: &MigrateRequest, now: Now) {
        if self.migrate.sockets.len() >= CACHE_ITEMS {
            let idle = self.migrate.sockets.iter().filter(|(_, s)| s.job.is_none());
            if let Some(oldest) = idle
                .min_by_key(|(_, s)| s.last_use_ms)
                .map(|(n, _)| n.clone())
            {
                self.migrate_drop(&oldest);
            }
        }
        let conn = self.repl.next_outbound;
        self.repl.next_outbound += 1;
        self.actions.push_back(Action::Connect {
            conn,
            host: req.host.clone(),
            port: req.port,
        });
        let socket = Socket {
            conn,
            connected: false,
            last_db: None,
            last_use_ms: now.mono_ms,
            input: BytesMut::new(),
            job: None,
        };
        self.migrate.sockets.insert(name.to_string(), socket);
    }

    fn migrate_send(&mut self, name: &str) {
        let Some(s) = self.migrate.sockets.get_mut(name) else {
            return;
        };
        if let Some(data) = s.job.as_mut().and_then(|j| j.request.take()) {
            self.actions.push_back(Action::Send { conn: s.conn, data });
        }
    }

    fn migrate_drop(&mut self, name: &str) {
        if let Some(s) = self.migrate.sockets.remove(name) {
            self.actions.push_back(Action::Close { conn: s.conn });
        }
    }

    /// An outbound connection came up; true if it was one of MIGRATE's.
    pub(crate) fn migrate_connected(&mut self, conn: ConnId) -> bool {
        let Some(name) = self.migrate.by_conn(conn) else {
            return false;
        };
        if let Some(s) = self.migrate.sockets.get_mut(&name) {
            s.connected = true;
        }
        self.migrate_send(&name);
        true
    }

    /// Bytes from a target; true if `conn` was one of MIGRATE's.
    pub(crate) fn migrate_data(&mut self, now: Now, conn: ConnId, data: &[u8]) -> bool {
        let Some(name) = self.migrate.by_conn(conn) else {
            return false;
        };
        let s = self.migrate.sockets.get_mut(&name).expect("found by conn");
        s.input.extend_from_slice(data);
        let mut done = false;
        while let Ok(Some((frame, n))) = parse_frame(&s.input, usize::MAX) {
            let _ = s.input.split_to(n);
            let Some(job) = s.job.as_mut() else {
                continue;
            };
            job.replies.push(frame);
            done = job.replies.len() >= job.expected();
            if done {
                break;
            }
        }
        if done {
            self.migrate_finish(now, &name, None);
        }
        true
    }

    /// A connection closed or failed; true if it was one of MIGRATE's.
    pub(crate) fn migrate_lost(&mut self, now: Now, conn: ConnId) -> bool {
        let Some(name) = self.migrate.by_conn(conn) else {
            return false;
        };
        let connected = self.migrate.sockets[&name].connected;
        self.migrate_finish(now, &name, Some(io_error(connected)));
        self.migrate.sockets.remove(&name);
        true
    }

    /// serverCron's part: migrations past their timeout fail, idle connections expire.
    pub(crate) fn migrate_cron(&mut self, now: Now) {
        let late: Vec<(String, bool)> = self
            .migrate
            .sockets
            .iter()
            .filter(|(_, s)| s.job.as_ref().is_some_and(|j| now.mono_ms >= j.deadline_ms))
            .map(|(n, s)| (n.clone(), s.connected))
            .collect();
        for (name, connected) in late {
            self.migrate_finish(now, &name, Some(io_error(connected)));
            self.migrate_drop(&name);
        }
        let idle: Vec<String> = self
            .migrate
            .sockets
            .iter()
            .filter(|(_, s)| s.job.is_none() && now.mono_ms - s.last_use_ms > CACHE_TTL_MS)
            .map(|(n, _)| n.clone())
            .collect();
        for name in idle {
            self.migrate_drop(&name);
        }
    }

    /// Ends the migration on `name` with the replies it got: keys the target acknowledged are
    /// deleted (unless COPY) and replicated as DEL; the client hears the target's first error,
    /// else `failure` (the connection broke or timed out), else OK.
    fn migrate_finish(&mut self, now: Now, name: &str, failure: Option<&str>) {
        let Some(s) = self.migrate.sockets.get_mut(name) else {
            return;
        };
        let Some(job) = s.job.take() else {
            return;
        };
        let mut replies = job.replies.into_iter();
        let auth = job.auth.then(|| replies.next()).flatten();
        let select = job.select.then(|| replies.next()).flatten();
        let setup_error = [auth, select].into_iter().flatten().find_map(error_text);
        let mut first_error = setup_error.clone();
        let mut deleted = Vec::new();
        for (key, reply) in job.keys.into_iter().zip(replies) {
            match error_text(reply).or_else(|| setup_error.clone()) {
                Some(e) => {
                    first_error.get_or_insert(e);
                }
                None if job.copy => {}
                None => deleted.push(key),
            }
        }
        s.last_db = match (&first_error, failure) {
            (None, None) => Some(job.target_db),
            _ => None,
        };
        self.migrate_delete(now, job.db_index, deleted);
        let reply = match (first_error, failure) {
            (Some(e), _) => format!("-ERR Target instance replied with error: {e}\r\n"),
            (None, Some(f)) => format!("-{f}\r\n"),
            (None, None) => "+OK\r\n".to_string(),
        };
        self.pay_owed(now, job.client, job.token, reply.as_bytes());
        self.flush();
    }

    fn migrate_delete(&mut self, now: Now, db: usize, keys: Vec<Bytes>) {
        if keys.is_empty() {
            return;
        }
        let mode = self.ks.mode;
        for key in &keys {
            self.ks.dbs[db].remove(key, now.unix_ms, mode);
            self.ks.notify(notify::GENERIC, "del", key, db);
            self.signal_key(db, key);
        }
        self.dirty += keys.len() as u64;
        let mut del = vec![Bytes::from_static(b"DEL")];
        del.extend(keys);
        self.propagate(db, vec![del]);
        self.publish_key_events();
    }
}

fn io_error(connected: bool) -> &'static str {
    match connected {
        true => "IOERR error or timeout reading to target instance",
        false => "IOERR error or timeout connecting to the client",
    }
}

fn error_text(f: Frame) -> Option<String> {
    match f {
        Frame::Error(e) => Some(e),
        _ => None,
    }
}
