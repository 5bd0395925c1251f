//! RDB persistence in the core: loading at startup, SAVE, BGSAVE, save points, the final save of
//! a shutdown (`shutdown.rs`) and the MISCONF state after a failed background save.
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
    /// Redis' `async_loading`: a swapdb full sync of the same history keeps serving the old
    /// data; only commands flagged `no-async-loading` get `-LOADING` meanwhile.
    pub async_loading: bool,
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
        self.persist.async_loading = false;
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
        let parsed = read_rdb(&data).map_err(|e| e.to_string());
        let source = super::loading::Source::Startup;
        let size = data.len() as u64;
        if let Err(e) = parsed.and_then(|l| self.begin_load(now, source, l, size)) {
            let path = self.rdb_path();
            self.log(
                LogLevel::Warning,
                format!("Internal error in RDB reading {path}: {e}"),
            );
            self.log(
                LogLevel::Warning,
                "Terminating server after rdb file reading failure.".into(),
            );
            self.exit(1);
        }
    }

    /// The startup RDB file is in the keyspace: clients may come.
    pub(crate) fn loaded_from_disk(&mut self, now: Now) {
        self.persist.last_save_unix_s = now.unix_ms / 1000;
        self.log(
            LogLevel::Notice,
            "DB loaded from disk: 0.000 seconds".into(),
        );
        self.ready();
    }

    /// Fills the keyspace from RDB bytes (an AOF base, DEBUG RELOAD).
    pub(crate) fn load_rdb_bytes(&mut self, now: Now, data: &[u8]) -> Result<(), String> {
        let loaded = read_rdb(data).map_err(|e| e.to_string())?;
        self.install_rdb(now, loaded)
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
            (true, result, _) => self.shutdown_saved(now, result.is_ok()),
            (false, Ok(()), Some(id)) => self.reply(id).ok(),
            (false, Err(_), Some(id)) => self.reply(id).error("ERR"),
            (false, _, None) => {}
        }
        if let Some(id) = conn {
            self.process_input(id, now);
        }
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
