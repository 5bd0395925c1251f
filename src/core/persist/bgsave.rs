//! The background snapshot engine behind BGSAVE and BGREWRITEAOF: a point-in-time snapshot of
//! the live keyspace (`db/snapshot.rs`) serialised a slice at a time from the cron, appended to a
//! temporary file with an fsync every few MB, then committed (fsync, rename, directory fsync)
//! only after every slice succeeded.

use super::{Step, Target};
use crate::config::LogLevel;
use crate::core::{DiskOp, DiskWaiter, Now, Server};
use crate::rdb::RdbWriter;

/// Keys serialised per BGSAVE slice; between slices clients are served.
const BGSAVE_KEYS_PER_SLICE: usize = 2_000;
/// A background save fsyncs its file every this many bytes, so the final commit's fsync is
/// short (Redis' rdb-save-incremental-fsync does the same at 4 MB).
const BGSAVE_FSYNC_EVERY_BYTES: u64 = 4 * 1024 * 1024;
/// A background snapshot in progress.
pub struct Bgsave {
    pub target: Target,
    writer: Option<RdbWriter>,
    /// Bytes handed to the disk so far.
    bytes: u64,
    /// Bytes written since the last incremental fsync.
    unsynced: u64,
    /// Database the iterator is in; `written_db` is the one the file last selected.
    db: usize,
    written_db: Option<usize>,
    pub started: Now,
    dirty_at_start: u64,
    first_slice: bool,
    /// A slice is being written: the next waits for it.
    in_flight: bool,
    pub keys_done: u64,
    pub keys_total: u64,
}

impl Server {
    /// BGSAVE: starts a background save; false if a snapshot is already running.
    pub fn bgsave_start(&mut self, now: Now) -> bool {
        if self.persist.bgsave.is_some() {
            return false;
        }
        self.snapshot_start(now, Target::Rdb);
        self.log(
            LogLevel::Notice,
            format!("Background saving started by pid {}", self.config.pid),
        );
        self.trace("+bgsave".into());
        true
    }

    /// Starts a point-in-time snapshot of every database, written a slice at a time.
    pub(crate) fn snapshot_start(&mut self, now: Now, target: Target) {
        let mut keys_total = 0;
        for db in &mut self.ks.dbs {
            db.snapshot_begin();
            keys_total += db.len() as u64;
        }
        let mut aux = self.rdb_aux(now);
        aux.aof_base = matches!(target, Target::AofBase { .. });
        let writer = self.rdb_writer(&aux);
        self.stats.total_forks += 1;
        self.persist.last_attempt_mono_ms = now.mono_ms;
        self.persist.bgsave = Some(Bgsave {
            target,
            writer: Some(writer),
            bytes: 0,
            unsynced: 0,
            db: 0,
            written_db: None,
            started: now,
            dirty_at_start: self.dirty,
            first_slice: true,
            in_flight: false,
            keys_done: 0,
            keys_total,
        });
    }

    /// True while a background save wants slices (the cron runs again at once).
    pub(crate) fn bgsave_busy(&self) -> bool {
        self.persist
            .bgsave
            .as_ref()
            .is_some_and(|b| !b.in_flight && b.writer.is_some())
    }

    /// Keys the next slice may serialise. `rdb-key-save-delay` (microseconds per key, the knob
    /// Redis' tests slow saves with) lets through only as many keys as the time since the
    /// snapshot started pays for; with it at 0 or below, a full slice.
    fn slice_budget(&self, b: &Bgsave) -> usize {
        let delay_us = crate::core::loading::debug_delay_us(&self.config, "rdb-key-save-delay");
        if delay_us <= 0 || b.keys_done >= b.keys_total {
            return BGSAVE_KEYS_PER_SLICE;
        }
        let elapsed_us = self.last_now.mono_ms.saturating_sub(b.started.mono_ms) * 1000;
        let paid_for = (elapsed_us / delay_us as u64).saturating_sub(b.keys_done);
        paid_for.min(BGSAVE_KEYS_PER_SLICE as u64) as usize
    }

    /// Serialises one slice and hands it to the disk; commits after the last one.
    pub(crate) fn bgsave_slice(&mut self) {
        let Some(mut b) = self.persist.bgsave.take() else {
            return;
        };
        if b.in_flight || b.writer.is_none() {
            self.persist.bgsave = Some(b);
            return;
        }
        let mut budget = self.slice_budget(&b);
        if budget == 0 {
            self.persist.bgsave = Some(b);
            return;
        }
        let w = b.writer.as_mut().expect("checked above");
        // Entries captured before their first change since the last slice, in any database.
        for idx in 0..self.ks.dbs.len() {
            for (k, e) in self.ks.dbs[idx].snapshot_take_early() {
                select(w, &mut b.written_db, idx, (0, 0));
                w.entry(&k, &e);
                b.keys_done += 1;
            }
        }
        while budget > 0 && b.db < self.ks.dbs.len() {
            let db = &mut self.ks.dbs[b.db];
            let len = db.snapshot_len();
            let mut n = 0;
            let done = db.snapshot_step(budget, |k, e| {
                if b.written_db != Some(b.db) {
                    select(w, &mut b.written_db, b.db, len);
                }
                w.entry(k, e);
                n += 1;
            });
            b.keys_done += n;
            budget = budget.saturating_sub(n.max(1) as usize);
            if done {
                b.db += 1;
            }
        }
        let path = self.snapshot_tmp_path(b.target);
        let last = b.db >= self.ks.dbs.len();
        let data = if last {
            // Pick up changes captured during the final slice, then stop capturing.
            for idx in 0..self.ks.dbs.len() {
                for (k, e) in self.ks.dbs[idx].snapshot_take_early() {
                    select(w, &mut b.written_db, idx, (0, 0));
                    w.entry(&k, &e);
                }
                self.ks.dbs[idx].snapshot_end();
            }
            b.writer.take().expect("present").finish()
        } else {
            w.take_chunk()
        };
        let first = std::mem::replace(&mut b.first_slice, false);
        b.in_flight = true;
        b.bytes += data.len() as u64;
        b.unsynced += data.len() as u64;
        let sync_now = !last && b.unsynced >= BGSAVE_FSYNC_EVERY_BYTES;
        if sync_now {
            b.unsynced = 0;
        }
        self.persist.bgsave = Some(b);
        let op = if first {
            DiskOp::Write {
                path: path.clone(),
                data,
            }
        } else {
            DiskOp::Append {
                path: path.clone(),
                data,
            }
        };
        if sync_now {
            self.start_disk(op, DiskWaiter::Persist(Step::BgsaveWrite));
            self.start_disk(
                DiskOp::Fsync { path },
                DiskWaiter::Persist(Step::BgsaveSlice),
            );
        } else {
            self.start_disk(op, DiskWaiter::Persist(Step::BgsaveSlice));
        }
    }

    /// A slice is on disk: after the last one, commit the file (only now, so a failed write is
    /// never renamed into place).
    pub(super) fn bgsave_slice_written(&mut self) {
        let Some(b) = self.persist.bgsave.as_mut() else {
            return;
        };
        b.in_flight = false;
        if b.writer.is_none() {
            b.in_flight = true;
            let target = b.target;
            let tmp = self.snapshot_tmp_path(target);
            let path = match target {
                Target::Rdb => self.rdb_path(),
                Target::AofBase { seq } => self.aof_base_path(seq),
            };
            self.start_disk(
                DiskOp::Commit { tmp, path },
                DiskWaiter::Persist(Step::BgsaveCommit),
            );
        }
    }

    pub(super) fn snapshot_tmp_path(&self, target: Target) -> String {
        match target {
            Target::Rdb => format!(
                "{}/temp-{}.rdb",
                self.config.dir.trim_end_matches('/'),
                self.config.pid
            ),
            Target::AofBase { .. } => format!(
                "{}/temp-rewriteaof-bg-{}.aof",
                self.aof_dir(),
                self.config.pid
            ),
        }
    }

    pub(super) fn bgsave_succeeded(&mut self, now: Now) {
        let Some(b) = self.persist.bgsave.take() else {
            return;
        };
        if let Target::AofBase { seq } = b.target {
            return self.aof_rewrite_based(seq, b.bytes);
        }
        self.dirty = self.dirty.saturating_sub(b.dirty_at_start);
        self.persist.last_save_unix_s = now.unix_ms / 1000;
        self.persist.last_bgsave_ok = true;
        self.persist.rdb_saves += 1;
        self.persist.last_bgsave_time_s =
            Some(now.mono_ms.saturating_sub(b.started.mono_ms) / 1000);
        self.log(LogLevel::Notice, "DB saved on disk".into());
        self.log(
            LogLevel::Notice,
            "Background saving terminated with success".into(),
        );
        self.trace("bgsave ok".into());
        if std::mem::take(&mut self.persist.scheduled) {
            self.bgsave_start(now);
        }
    }

    pub(super) fn bgsave_failed(&mut self, err: &str) {
        let Some(target) = self.persist.bgsave.as_ref().map(|b| b.target) else {
            return;
        };
        self.abort_snapshot();
        if target != Target::Rdb {
            return self.aof_rewrite_failed(err);
        }
        self.persist.last_bgsave_ok = false;
        self.persist.last_bgsave_time_s = Some(0);
        self.log(
            LogLevel::Warning,
            format!("Write error saving DB on disk: {err}"),
        );
        self.log(LogLevel::Warning, "Background saving error".into());
        self.trace(format!("bgsave error ({err})"));
    }

    /// Drops an in-progress background save and its temporary file.
    /// FLUSHALL kills a BGSAVE in progress (of data that is gone; the change counter stays, as
    /// after a failed save) and, with save points, saves the empty dataset at once, as Redis does.
    pub(crate) fn flushall_persist(&mut self, now: Now) {
        let saving_rdb = (self.persist.bgsave.as_ref()).is_some_and(|b| b.target == Target::Rdb);
        if saving_rdb {
            self.abort_snapshot();
            self.log(
                LogLevel::Warning,
                "Background saving terminated by signal 10".into(),
            );
        }
        if !self.config.save_points.is_empty() && self.persist.bgsave.is_none() {
            self.save(now, None, false);
        }
    }

    pub(crate) fn abort_snapshot(&mut self) {
        let Some(b) = self.persist.bgsave.take() else {
            return;
        };
        for db in &mut self.ks.dbs {
            db.snapshot_end();
        }
        let path = self.snapshot_tmp_path(b.target);
        self.start_disk(DiskOp::Remove { path }, DiskWaiter::Persist(Step::Cleanup));
    }
}

/// Emits SELECTDB (and RESIZEDB) when the file is not already in database `idx`.
fn select(w: &mut RdbWriter, written: &mut Option<usize>, idx: usize, len: (usize, usize)) {
    if *written != Some(idx) {
        w.begin_db(idx, len.0, len.1);
        *written = Some(idx);
    }
}
