//! RDB persistence in the core: loading at startup, SAVE, BGSAVE, save points, SHUTDOWN's final
//! save and the MISCONF state after a failed background save.
//!
//! There is no fork: BGSAVE is a point-in-time snapshot of the live keyspace (key-level
//! copy-on-write, see `db/snapshot.rs`) serialised a slice at a time from the cron, so clients keep
//! being served while it runs. Each slice is appended to a temporary file; the last one is
//! followed by a commit (fsync, rename over `dbfilename`, fsync the directory). Every disk step
//! waits for the previous one to succeed, so a failed write can never be renamed into place.

mod bgsave;

pub use bgsave::Bgsave;

use super::{ConnId, DiskOp, DiskWaiter, Now, Server};
use crate::config::LogLevel;
use crate::rdb::{read_rdb, Aux, RdbWriter, WriteOptions};
use bytes::Bytes;

/// After a failed background save, save points wait this long before trying again (Redis: 5 s).
const BGSAVE_RETRY_DELAY_MS: u64 = 5_000;
/// RDB version written: 10 is what Redis 7.0 writes and the newest it loads.
pub const RDB_VERSION: u32 = 10;

pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. \
Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if \
RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// A disk step persistence is waiting for.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Reading dbfilename at startup.
    Load,
    /// SAVE by a client (None: SHUTDOWN or a signal, then exit).
    Save {
        conn: Option<ConnId>,
        then_exit: bool,
    },
    /// A BGSAVE slice was written (and synced, when the slice ended with an fsync).
    BgsaveSlice,
    /// A slice was written; its fsync follows.
    BgsaveWrite,
    /// The BGSAVE file was committed.
    BgsaveCommit,
    /// Removing a temporary file; the outcome does not matter.
    Cleanup,
    Aof(super::aof::AofStep),
}

/// What a background snapshot produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// BGSAVE: `dbfilename`.
    Rdb,
    /// BGREWRITEAOF: the new AOF base file with this sequence number.
    AofBase { seq: u64 },
}

impl Step {
    /// The client blocked while this step runs, if any.
    pub fn client(self) -> Option<ConnId> {
        match self {
            Step::Save { conn, .. } => conn,
            _ => None,
        }
    }
}

/// Persistence state INFO persistence reports.
#[derive(Default)]
pub struct Persistence {
    pub last_save_unix_s: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_time_s: Option<u64>,
    pub rdb_saves: u64,
    pub loading: bool,
    pub keys_loaded: u64,
    pub keys_expired_on_load: u64,
    pub bgsave: Option<Bgsave>,
    /// BGSAVE SCHEDULE asked while one was running.
    pub scheduled: bool,
    /// When the last background save attempt started (monotonic).
    last_attempt_mono_ms: u64,
}

impl Persistence {
    /// State at startup: nothing saved since `now`, no failed save.
    pub fn new(now: Now) -> Self {
        Persistence {
            last_save_unix_s: now.unix_ms / 1000,
            last_bgsave_ok: true,
            ..Default::default()
        }
    }
}

impl Server {
    pub(super) fn rdb_path(&self) -> String {
        format!(
            "{}/{}",
            self.config.dir.trim_end_matches('/'),
            self.config.dbfilename
        )
    }

    /// AUX fields of a snapshot, with the replication position so a restarted replica can PSYNC.
    /// A snapshot writer past its header: the AUX fields, then the function libraries.
    pub(super) fn rdb_writer(&self, aux: &Aux) -> RdbWriter {
        let mut w = RdbWriter::new(aux, self.write_options());
        for code in self.scripting.library_codes() {
            w.function(&code);
        }
        w
    }

    pub(super) fn rdb_aux(&self, now: Now) -> Aux {
        let repl = crate::rdb::ReplAux {
            stream_db: self.repl.feed.selected().unwrap_or(0) as i64,
            id: self.repl.ids.replid.clone(),
            offset: self.repl.offset,
        };
        Aux {
            ctime: now.unix_ms / 1000,
            repl: Some(repl),
            ..Aux::default()
        }
    }

    pub(super) fn write_options(&self) -> WriteOptions {
        WriteOptions {
            version: RDB_VERSION,
            compress: self.config.rdbcompression,
            checksum: self.config.rdbchecksum,
        }
    }

    /// Startup: read the AOF when enabled, else the RDB file (the core asks; the driver reads).
    pub(crate) fn start_loading(&mut self) {
        self.persist.loading = true;
        if self.config.appendonly {
            return self.aof_start_loading();
        }
        let path = self.rdb_path();
        self.start_disk(DiskOp::Read { path }, DiskWaiter::Persist(Step::Load));
    }

    /// Routes a finished disk step.
    pub(crate) fn persist_done(&mut self, now: Now, step: Step, result: Result<Bytes, String>) {
        match step {
            Step::Load => self.loaded(now, result),
            Step::Save { conn, then_exit } => self.saved(now, conn, then_exit, result.map(|_| ())),
            Step::BgsaveWrite => {
                if let Err(e) = result {
                    self.bgsave_failed(&e);
                }
            }
            Step::BgsaveSlice => match result {
                Ok(_) => self.bgsave_slice_written(),
                Err(e) => self.bgsave_failed(&e),
            },
            Step::BgsaveCommit => match result {
                Ok(_) => self.bgsave_succeeded(now),
                Err(e) => self.bgsave_failed(&e),
            },
            Step::Cleanup => {}
            Step::Aof(step) => self.aof_done(now, step, result),
        }
    }

    fn loaded(&mut self, now: Now, result: Result<Bytes, String>) {
        let data = match result {
            Ok(d) => d,
            Err(e)
                if e.contains("No such file")
                    || e.contains("not found")
                    || e.contains("os error 2") =>
            {
                self.persist.loading = false;
                return self.ready();
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error loading the DB: {e}. Exiting."),
                );
                return self.exit(1);
            }
        };
        if let Err(e) = self.load_rdb_bytes(now, &data) {
            let path = self.rdb_path();
            self.log(
                LogLevel::Warning,
                format!("Internal error in RDB reading {path}: {e}"),
            );
            self.log(
                LogLevel::Warning,
                "Terminating server after rdb file reading failure.".into(),
            );
            return self.exit(1);
        }
        self.persist.loading = false;
        self.persist.last_save_unix_s = now.unix_ms / 1000;
        self.log(
            LogLevel::Notice,
            "DB loaded from disk: 0.000 seconds".into(),
        );
        self.ready();
    }

    /// Fills the keyspace from RDB bytes (dbfilename, an AOF base, a master's payload).
    pub(crate) fn load_rdb_bytes(&mut self, now: Now, data: &[u8]) -> Result<(), String> {
        let loaded = read_rdb(data).map_err(|e| e.to_string())?;
        self.install_rdb(now, loaded)
    }

    /// Puts a parsed snapshot into the keyspace (expired keys dropped on a master).
    pub(crate) fn install_rdb(
        &mut self,
        now: Now,
        loaded: crate::rdb::Loaded,
    ) -> Result<(), String> {
        // A restarting node resumes its replication history from its own snapshot, as Redis 7
        // does: a replica can PSYNC with it; a master keeps it only as replid2 under a new id, so
        // replicas exactly at the saved position continue partially and nothing diverges silently.
        // Only from an RDB file: an AOF's base is older than its incr files' last command, and
        // Redis does not resume from it either.
        let from_rdb_file = self.persist.loading && !self.config.appendonly;
        if let (Some(r), true) = (&loaded.aux.repl, from_rdb_file) {
            self.repl.ids.adopt_master(&r.id);
            self.repl.offset = r.offset;
            if self.config.replicaof.is_none() {
                let line = self.repl.ids.shift_on_promotion(
                    r.offset,
                    crate::core::replication::random_id(&mut self.rng),
                );
                self.log_lines(vec![line]);
                self.repl.backlog = Some(crate::repl::Backlog::new(
                    self.config.repl_backlog_size as usize,
                    r.offset,
                ));
            }
            self.log(
                LogLevel::Notice,
                "Restored replication ID and offset from the RDB file.".into(),
            );
        }
        self.log(
            LogLevel::Notice,
            format!("Loading RDB produced by version {}", loaded.aux.redis_ver),
        );
        // Check every database index first: nothing is installed from a snapshot that cannot be
        // installed whole.
        if let Some((idx, _)) = loaded.dbs.iter().find(|(i, _)| *i >= self.ks.dbs.len()) {
            return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases (it uses db {idx}).", self.config.databases));
        }
        // The snapshot's function libraries replace the current ones, as its keys do.
        self.scripting.flush_functions();
        self.scripting
            .load_libraries(&loaded.functions, false)
            .map_err(|e| format!("Failed loading library: {e}"))?;
        let (mut n, mut expired) = (0, 0);
        let master = self.config.replicaof.is_none();
        for (idx, keys) in loaded.dbs {
            let Some(db) = self.ks.dbs.get_mut(idx) else {
                return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases.", self.config.databases));
            };
            let before = keys.len();
            let live = keys
                .into_iter()
                .filter(|(_, e)| !(master && e.expire_at_ms.is_some_and(|t| t <= now.unix_ms)));
            let live: Vec<_> = live
                .map(|(k, mut e)| {
                    e.meta.access_ms = now.unix_ms;
                    (k, e)
                })
                .collect();
            expired += (before - live.len()) as u64;
            n += live.len() as u64;
            db.load(live);
        }
        self.persist.keys_loaded = n;
        self.persist.keys_expired_on_load = expired;
        self.log(
            LogLevel::Notice,
            format!("Done loading RDB, keys loaded: {n}, keys expired: {expired}."),
        );
        self.trace(format!("loaded {n} keys from RDB"));
        Ok(())
    }

    /// The whole dataset as one RDB file (SAVE, SHUTDOWN).
    pub(crate) fn serialize_all(&mut self, now: Now) -> Bytes {
        let mut w = self.rdb_writer(&self.rdb_aux(now));
        for (idx, db) in self.ks.dbs.iter().enumerate() {
            if db.is_empty() {
                continue;
            }
            w.begin_db(idx, db.len(), db.expires_len());
            for (k, e) in db.iter_all() {
                w.entry(k, e);
            }
        }
        w.finish()
    }

    /// A foreground save. `conn` gets the reply; `then_exit` stops the server after it.
    pub fn save(&mut self, now: Now, conn: Option<ConnId>, then_exit: bool) {
        let data = self.serialize_all(now);
        let path = self.rdb_path();
        self.persist.rdb_saves += 1;
        self.start_disk(
            DiskOp::WriteAtomic { path, data },
            DiskWaiter::Persist(Step::Save { conn, then_exit }),
        );
    }

    fn saved(
        &mut self,
        now: Now,
        conn: Option<ConnId>,
        then_exit: bool,
        result: Result<(), String>,
    ) {
        match &result {
            Ok(()) => {
                self.log(LogLevel::Notice, "DB saved on disk".into());
                self.dirty = 0;
                self.persist.last_save_unix_s = now.unix_ms / 1000;
                self.persist.last_bgsave_ok = true;
                self.trace("saved".into());
            }
            Err(e) => self.log(LogLevel::Warning, format!("Failed opening the temp RDB file temp-{}.rdb (in server root dir) for saving: {e}", self.config.pid)),
        }
        if let Some(c) = conn.and_then(|id| self.clients.get_mut(&id)) {
            c.blocked_on = None;
        }
        match (then_exit, result, conn) {
            (true, Ok(()), _) => self.finish_shutdown(),
            (true, Err(_), Some(id)) => {
                self.log(
                    LogLevel::Warning,
                    "Error trying to save the DB, can't exit.".into(),
                );
                self.reply(id)
                    .error("ERR Errors trying to SHUTDOWN. Check logs.");
            }
            (true, Err(_), None) => {
                self.log(
                    LogLevel::Warning,
                    "Error trying to save the DB, can't exit.".into(),
                );
            }
            (false, Ok(()), Some(id)) => self.reply(id).ok(),
            (false, Err(_), Some(id)) => self.reply(id).error("ERR"),
            (false, _, None) => {}
        }
        if let Some(id) = conn {
            self.process_input(id, now);
        }
    }

    /// SIGTERM/SIGINT: shut down like SHUTDOWN with no arguments.
    pub fn handle_termination(&mut self, now: Now, signal: &str) {
        self.log(
            LogLevel::Warning,
            format!("Received {signal} scheduling shutdown..."),
        );
        self.shutdown(now, None, None);
        self.flush();
    }

    /// SHUTDOWN / SIGTERM: save when asked (or when save points exist), then exit.
    pub fn shutdown(&mut self, now: Now, conn: Option<ConnId>, save: Option<bool>) {
        self.log(LogLevel::Warning, "User requested shutdown...".into());
        self.abort_snapshot();
        self.sentinel_flush_if_dirty();
        if save.unwrap_or(!self.config.save_points.is_empty()) {
            self.log(
                LogLevel::Notice,
                "Saving the final RDB snapshot before exiting.".into(),
            );
            self.save(now, conn, true);
        } else {
            self.finish_shutdown();
        }
    }

    fn finish_shutdown(&mut self) {
        self.log(
            LogLevel::Warning,
            "Redis is now ready to exit, bye bye...".into(),
        );
        self.exit(0);
    }

    /// Save points (`save <seconds> <changes>`), checked from the cron.
    pub(crate) fn cron_save_points(&mut self, now: Now) {
        if self.persist.bgsave.is_some() || self.persist.loading {
            return;
        }
        let since_save_s = (now.unix_ms / 1000).saturating_sub(self.persist.last_save_unix_s);
        let retry_ok = self.persist.last_bgsave_ok
            || now
                .mono_ms
                .saturating_sub(self.persist.last_attempt_mono_ms)
                > BGSAVE_RETRY_DELAY_MS;
        let due = self
            .config
            .save_points
            .iter()
            .find(|(secs, changes)| self.dirty >= *changes && since_save_s >= *secs);
        if let (Some(&(secs, _)), true) = (due, retry_ok) {
            self.log(
                LogLevel::Notice,
                format!("{} changes in {secs} seconds. Saving...", self.dirty),
            );
            self.bgsave_start(now);
        }
    }

    /// True when writes must be refused with MISCONF.
    pub fn writes_refused_misconf(&self) -> bool {
        self.config.stop_writes_on_bgsave_error
            && !self.config.save_points.is_empty()
            && !self.persist.last_bgsave_ok
    }
}
