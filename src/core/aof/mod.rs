//! The append-only file in Redis 7's multi-part layout: `<dir>/<appenddirname>/` holds a manifest
//! (`<appendfilename>.manifest`), one base file (an RDB snapshot, `.N.base.rdb`) and incremental
//! files (`.N.incr.aof`) of effects in RESP.
//!
//! Writes: effects collected during an event (`Feed`) are appended before any reply leaves (see
//! `Server::flush`); with `appendfsync always` they are also fsynced and the replies wait for it,
//! so an acknowledged write is durable. `everysec` fsyncs from the cron.
//! Loading: manifest, base, then each incr file, commands replayed through a loader client;
//! a truncated tail of the last file is cut off when `aof-load-truncated` is on.
//! BGREWRITEAOF: opens a new incr file at once, writes a new base with the snapshot engine
//! (`persist.rs`), then commits a manifest naming only the new base and the new incr files.

mod load;
mod manifest;
#[cfg(test)]
mod tests;

pub use manifest::{AofFile, Manifest};

use super::persist::Step;
use super::propagate::Feed;
use super::{DiskOp, DiskWaiter, Now, Server};
use crate::config::{AppendFsync, LogLevel};
use bytes::Bytes;

/// The loader's client id (never a real connection).
pub const AOF_LOADER_ID: u64 = u64::MAX;

/// A disk step of the AOF.
#[derive(Clone, Copy, Debug)]
pub enum AofStep {
    ReadManifest,
    /// File `index` of the manifest's loading order was read.
    Load {
        index: usize,
    },
    /// Creating the files at first start, or cutting a truncated tail: failure is fatal.
    Setup,
    /// Effects appended or fsynced; under `always` a failure is fatal, and the step that
    /// `releases` lets the held replies go.
    Write {
        always: bool,
        releases: bool,
    },
    /// An fsync covering `bytes` written bytes: if it fails they are still not durable, so the
    /// cron tries again a second later (writes are refused meanwhile, as in Redis).
    Fsync {
        bytes: u64,
    },
    /// A rewrite opened its new incr file and manifest: failure abandons the rewrite only.
    RewriteOpen,
    /// The rewrite's new manifest is committed.
    RewriteManifest,
}

#[derive(Debug)]
pub struct Aof {
    pub feed: Feed,
    pub manifest: Manifest,
    /// Bytes written but not yet fsynced.
    pub unsynced_bytes: u64,
    pub last_fsync_mono_ms: u64,
    /// The last write or fsync error, until one succeeds (writes are refused meanwhile).
    pub write_error: Option<String>,
    /// Effects handed to the disk and not yet confirmed written: retried after a failure.
    unconfirmed: Bytes,
    pub current_size: u64,
    pub base_size: u64,
    pub rewrites: u64,
    pub last_rewrite_ok: bool,
    pub rewrite_scheduled: bool,
    /// Turned on at runtime, its first rewrite not committed yet (Redis' `AOF_WAIT_REWRITE`):
    /// the files do not hold the dataset yet.
    wait_rewrite: bool,
    /// Incr files opened since the running rewrite started (they survive it).
    rewrite_incrs: Option<Vec<AofFile>>,
    /// The manifest being committed by a finished rewrite.
    pending_manifest: Option<Manifest>,
    next_seq: u64,
    /// The client whose DEBUG LOADAOF waits for the reload.
    reloading_for: Option<crate::core::ConnId>,
}

impl Aof {
    fn new() -> Self {
        Aof {
            feed: Feed::default(),
            manifest: Manifest::default(),
            unsynced_bytes: 0,
            last_fsync_mono_ms: 0,
            write_error: None,
            unconfirmed: Bytes::new(),
            current_size: 0,
            base_size: 0,
            rewrites: 0,
            last_rewrite_ok: true,
            rewrite_scheduled: false,
            wait_rewrite: false,
            rewrite_incrs: None,
            pending_manifest: None,
            next_seq: 1,
            reloading_for: None,
        }
    }
}

impl Server {
    pub(crate) fn aof_dir(&self) -> String {
        format!(
            "{}/{}",
            self.config.dir.trim_end_matches('/'),
            self.config.appenddirname
        )
    }
    fn aof_path(&self, name: &str) -> String {
        format!("{}/{}", self.aof_dir(), name)
    }
    fn manifest_path(&self) -> String {
        self.aof_path(&format!("{}.manifest", self.config.appendfilename))
    }
    fn incr_path(&self) -> Option<String> {
        let aof = self.aof.as_ref()?;
        let last = aof.manifest.incrs.last()?;
        Some(self.aof_path(&last.name))
    }
    fn aof_step(&mut self, op: DiskOp, step: AofStep) {
        self.start_disk(op, DiskWaiter::Persist(Step::Aof(step)));
    }

    /// Startup with `appendonly yes`: read the manifest (the RDB file is not used).
    pub(crate) fn aof_start_loading(&mut self) {
        self.aof = Some(Aof::new());
        let path = self.manifest_path();
        self.aof_step(DiskOp::Read { path }, AofStep::ReadManifest);
    }

    pub(crate) fn aof_done(&mut self, now: Now, step: AofStep, result: Result<Bytes, String>) {
        match (step, result) {
            (AofStep::ReadManifest, Ok(text)) => {
                match Manifest::parse(&String::from_utf8_lossy(&text)) {
                    Ok(m) => {
                        let aof = self.aof.as_mut().expect("aof on");
                        aof.next_seq = m.files().iter().map(|f| f.seq).max().unwrap_or(0) + 1;
                        aof.manifest = m;
                        self.aof_load_next(0);
                    }
                    Err(e) => self.fatal(format!("Bad AOF manifest {}: {e}", self.manifest_path())),
                }
            }
            (AofStep::ReadManifest, Err(e)) if is_not_found(&e) => self.aof_create_on_start(now),
            (AofStep::Load { index }, Ok(data)) => self.aof_load_file(now, index, data),
            (AofStep::Write { releases, .. }, Ok(_)) => {
                if let Some(aof) = self.aof.as_mut() {
                    aof.write_error = None;
                    aof.unconfirmed = Bytes::new();
                }
                if releases {
                    self.release_gated();
                }
            }
            (AofStep::Write { always: true, .. }, Err(_)) => {
                self.log(LogLevel::Warning, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...".into());
                self.gated.clear();
                self.exit(1);
            }
            (AofStep::Write { .. } | AofStep::Fsync { .. }, Err(e)) => {
                self.log(
                    LogLevel::Warning,
                    format!("Error writing to the AOF file: {e}"),
                );
                if let Some(aof) = self.aof.as_mut() {
                    aof.write_error = Some(e);
                    if let AofStep::Fsync { bytes } = step {
                        // At least one byte: the retry must come even for an empty fsync.
                        aof.unsynced_bytes += bytes.max(1);
                    }
                    // Put the unwritten effects back in front of newer ones; the next flush retries.
                    let unwritten = std::mem::take(&mut aof.unconfirmed);
                    aof.current_size -= unwritten.len() as u64;
                    let mut retry = bytes::BytesMut::from(&unwritten[..]);
                    retry.extend_from_slice(&aof.feed.buf);
                    aof.feed.buf = retry;
                }
            }
            (AofStep::Fsync { .. }, Ok(_)) => {
                if let Some(aof) = self.aof.as_mut() {
                    aof.write_error = None;
                }
            }
            (AofStep::Setup | AofStep::RewriteOpen, Ok(_)) => {}
            (AofStep::RewriteOpen, Err(e)) => self.aof_rewrite_open_failed(&e),
            (AofStep::RewriteManifest, Ok(_)) => self.aof_rewrite_committed(now),
            (AofStep::RewriteManifest, Err(e)) => self.aof_rewrite_failed(&e),
            (step, Err(e)) => self.fatal(format!("AOF {step:?} failed: {e}")),
        }
    }

    fn fatal(&mut self, msg: String) {
        self.log(LogLevel::Warning, msg);
        self.exit(1);
    }

    /// First start with `appendonly yes` and no AOF: an empty base, an incr file, the manifest.
    fn aof_create_on_start(&mut self, now: Now) {
        let dir = self.aof_dir();
        self.aof_step(DiskOp::CreateDir { path: dir }, AofStep::Setup);
        let base = AofFile {
            name: format!("{}.1.base.rdb", self.config.appendfilename),
            seq: 1,
        };
        let incr = AofFile {
            name: format!("{}.1.incr.aof", self.config.appendfilename),
            seq: 1,
        };
        let data = self.serialize_all(now);
        let (base_path, incr_path) = (self.aof_path(&base.name), self.aof_path(&incr.name));
        self.aof_step(
            DiskOp::WriteAtomic {
                path: base_path,
                data: data.clone(),
            },
            AofStep::Setup,
        );
        self.log(
            LogLevel::Notice,
            format!("Creating AOF base file {} on server start", base.name),
        );
        self.aof_step(
            DiskOp::WriteAtomic {
                path: incr_path,
                data: Bytes::new(),
            },
            AofStep::Setup,
        );
        self.log(
            LogLevel::Notice,
            format!("Creating AOF incr file {} on server start", incr.name),
        );
        let manifest = Manifest {
            base: Some(base),
            incrs: vec![incr],
        };
        let path = self.manifest_path();
        self.aof_step(
            DiskOp::WriteAtomic {
                path,
                data: Bytes::from(manifest.format()),
            },
            AofStep::Setup,
        );
        let aof = self.aof.as_mut().expect("aof on");
        aof.manifest = manifest;
        aof.next_seq = 2;
        aof.base_size = data.len() as u64;
        aof.current_size = data.len() as u64;
        self.persist.loading = false;
        self.ready();
    }

    /// Called by `flush` before replies leave: writes pending effects. Returns true when the
    /// replies must wait for the write (appendfsync always). After a failed write, only the
    /// cron retries (`retry`), once per tick.
    pub(crate) fn aof_flush(&mut self, retry: bool) -> bool {
        let Some(path) = self.incr_path() else {
            return false;
        };
        let aof = self.aof.as_mut().expect("incr path implies aof");
        if aof.feed.buf.is_empty() || (aof.write_error.is_some() && !retry) {
            return false;
        }
        let data = aof.feed.buf.split().freeze();
        aof.current_size += data.len() as u64;
        aof.unconfirmed = data.clone();
        let always = self.config.appendfsync == AppendFsync::Always;
        if always {
            self.aof_step(
                DiskOp::Append {
                    path: path.clone(),
                    data,
                },
                AofStep::Write {
                    always,
                    releases: injected!(self.bugs, FsyncSkipped),
                },
            );
            if injected!(self.bugs, FsyncSkipped) {
                return always;
            }
            self.aof_step(
                DiskOp::Fsync { path },
                AofStep::Write {
                    always,
                    releases: true,
                },
            );
        } else {
            aof.unsynced_bytes += data.len() as u64;
            self.aof_step(
                DiskOp::Append { path, data },
                AofStep::Write {
                    always,
                    releases: false,
                },
            );
        }
        always
    }

    /// `appendfsync everysec`: one fsync a second when something was written.
    pub(crate) fn aof_cron(&mut self, now: Now) {
        let Some(path) = self.incr_path() else { return };
        if self.aof.as_ref().is_some_and(|a| a.write_error.is_some()) {
            self.aof_flush(true);
        }
        let aof = self.aof.as_mut().expect("incr path implies aof");
        let due = now.mono_ms.saturating_sub(aof.last_fsync_mono_ms) >= 1000;
        if self.config.appendfsync == AppendFsync::Everysec && aof.unsynced_bytes > 0 && due {
            let bytes = std::mem::take(&mut aof.unsynced_bytes);
            aof.last_fsync_mono_ms = now.mono_ms;
            self.aof_step(DiskOp::Fsync { path }, AofStep::Fsync { bytes });
        }
        let aof = self.aof.as_ref().expect("aof on");
        let growth_ok = aof.base_size > 0 && self.config.auto_aof_rewrite_percentage > 0;
        let grown = aof.current_size as i64 > self.config.auto_aof_rewrite_min_size
            && (aof.current_size - aof.base_size.min(aof.current_size)) * 100
                / aof.base_size.max(1)
                >= self.config.auto_aof_rewrite_percentage as u64;
        if growth_ok && grown && self.persist.bgsave.is_none() && aof.write_error.is_none() {
            self.log(
                LogLevel::Notice,
                format!(
                    "Starting automatic rewriting of AOF on {}% growth",
                    self.config.auto_aof_rewrite_percentage
                ),
            );
            self.aof_rewrite_start(now);
        }
    }

    /// CONFIG SET appendonly yes: start logging effects to a new incr file and write a base.
    pub fn aof_enable(&mut self, now: Now) {
        let mut aof = Aof::new();
        aof.next_seq = 1;
        aof.wait_rewrite = true;
        self.aof = Some(aof);
        let dir = self.aof_dir();
        self.aof_step(DiskOp::CreateDir { path: dir }, AofStep::Setup);
        // As Redis, the rewrite waits for another snapshot, or for the transaction to end.
        let why = match (self.persist.bgsave.is_some(), self.exec_effects.is_some()) {
            (true, _) => "AOF was enabled but there is already another background operation.",
            (false, true) => "AOF was enabled during a transaction.",
            (false, false) if self.aof_rewrite_start(now) => return,
            (false, false) => "",
        };
        self.aof.as_mut().expect("just set").rewrite_scheduled = true;
        if !why.is_empty() {
            let msg = format!("{why} An AOF background was scheduled to start when possible.");
            self.log(LogLevel::Notice, msg);
        }
    }

    /// Drops a running rewrite's snapshot (not a BGSAVE's).
    fn abort_aof_rewrite_snapshot(&mut self) {
        let rewriting = self
            .persist
            .bgsave
            .as_ref()
            .is_some_and(|b| b.target != super::persist::Target::Rdb);
        if rewriting {
            self.abort_snapshot();
        }
    }

    /// CONFIG SET appendonly no: stop writing the AOF (its files stay).
    pub fn aof_disable(&mut self) {
        self.aof = None;
        self.abort_aof_rewrite_snapshot();
    }

    /// A full sync replaced the dataset: as Redis restarts its AOF after a sync, a rewrite of the
    /// old data is dropped and a new one starts (or waits for a running BGSAVE), so the files hold
    /// the new dataset, not the old one with the master's stream on top.
    pub(crate) fn aof_rewrite_after_sync(&mut self, now: Now) {
        if self.aof.is_none() {
            return;
        }
        self.abort_aof_rewrite_snapshot();
        if !self.aof_rewrite_start(now) {
            self.aof.as_mut().expect("checked").rewrite_scheduled = true;
        }
    }

    /// Starts a rewrite that was waiting for another snapshot to finish.
    pub(crate) fn aof_run_scheduled(&mut self, now: Now) {
        if self.aof.as_ref().is_some_and(|a| a.rewrite_scheduled) && self.persist.bgsave.is_none() {
            self.aof.as_mut().expect("checked").rewrite_scheduled = false;
            self.aof_rewrite_start(now);
        }
    }

    /// The AOF was turned on at runtime and its first rewrite is not committed yet.
    pub(crate) fn aof_waiting_first_rewrite(&self) -> bool {
        self.aof.as_ref().is_some_and(|a| a.wait_rewrite)
    }

    /// Makes the file receiving writes durable now (at shutdown).
    pub(crate) fn aof_fsync_now(&mut self) {
        let Some(path) = self.incr_path() else { return };
        let aof = self.aof.as_mut().expect("incr path implies aof");
        let bytes = std::mem::take(&mut aof.unsynced_bytes);
        self.aof_step(DiskOp::Fsync { path }, AofStep::Fsync { bytes });
    }

    /// The error that refuses writes after a failed AOF write or fsync.
    pub fn aof_write_refusal(&self) -> Option<String> {
        let e = self.aof.as_ref()?.write_error.as_ref()?;
        Some(format!("MISCONF Errors writing to the AOF file: {e}"))
    }

    /// BGREWRITEAOF: a new incr file now, then a new base from a snapshot. False if busy.
    pub fn aof_rewrite_start(&mut self, now: Now) -> bool {
        if self.aof.is_none() || self.persist.bgsave.is_some() {
            return false;
        }
        // The current incr file stops receiving writes: make what it has durable first.
        if let Some(old) = self.incr_path() {
            let bytes = self.aof.as_ref().map_or(0, |a| a.unsynced_bytes);
            self.aof_step(DiskOp::Fsync { path: old }, AofStep::Fsync { bytes });
        }
        let aof = self.aof.as_mut().expect("checked");
        aof.unsynced_bytes = 0;
        let seq = aof.next_seq;
        aof.next_seq += 1;
        let incr = AofFile {
            name: format!("{}.{seq}.incr.aof", self.config.appendfilename),
            seq,
        };
        aof.manifest.incrs.push(incr.clone());
        aof.rewrite_incrs = Some(vec![incr.clone()]);
        aof.feed.forget_db();
        let manifest = aof.manifest.format();
        let path = self.aof_path(&incr.name);
        self.aof_step(
            DiskOp::WriteAtomic {
                path,
                data: Bytes::new(),
            },
            AofStep::RewriteOpen,
        );
        let mpath = self.manifest_path();
        self.aof_step(
            DiskOp::WriteAtomic {
                path: mpath,
                data: Bytes::from(manifest),
            },
            AofStep::RewriteOpen,
        );
        self.log(
            LogLevel::Notice,
            format!("Creating AOF incr file {} on background rewrite", incr.name),
        );
        self.snapshot_start(now, super::persist::Target::AofBase { seq });
        self.log(
            LogLevel::Notice,
            format!(
                "Background append only file rewriting started by pid {}",
                self.config.pid
            ),
        );
        true
    }

    /// The new incr file or manifest could not be written: roll back to the previous incr file
    /// and give up this rewrite (Redis keeps running too).
    fn aof_rewrite_open_failed(&mut self, err: &str) {
        let Some(aof) = self.aof.as_mut() else { return };
        let Some(opened) = aof.rewrite_incrs.take() else {
            return;
        };
        aof.manifest.incrs.retain(|f| !opened.contains(f));
        aof.feed.forget_db();
        self.abort_aof_rewrite_snapshot();
        self.aof_rewrite_failed(err);
    }

    /// Where the rewrite's base file goes.
    pub(crate) fn aof_base_path(&self, seq: u64) -> String {
        self.aof_path(&format!("{}.{seq}.base.rdb", self.config.appendfilename))
    }

    /// The new base is committed: commit a manifest of the new base and the new incr files.
    pub(crate) fn aof_rewrite_based(&mut self, seq: u64, base_size: u64) {
        let name = format!("{}.{seq}.base.rdb", self.config.appendfilename);
        let Some(aof) = self.aof.as_mut() else { return };
        let incrs = aof.rewrite_incrs.take().unwrap_or_default();
        let m = Manifest {
            base: Some(AofFile { name, seq }),
            incrs,
        };
        aof.base_size = base_size;
        let data = Bytes::from(m.format());
        aof.pending_manifest = Some(m);
        let path = self.manifest_path();
        self.aof_step(DiskOp::WriteAtomic { path, data }, AofStep::RewriteManifest);
    }

    fn aof_rewrite_committed(&mut self, _now: Now) {
        let Some(aof) = self.aof.as_mut() else { return };
        let Some(new) = aof.pending_manifest.take() else {
            return;
        };
        let old = std::mem::replace(&mut aof.manifest, new.clone());
        aof.current_size = aof.base_size;
        aof.rewrites += 1;
        aof.last_rewrite_ok = true;
        aof.wait_rewrite = false;
        for f in old.files().into_iter().filter(|f| !new.files().contains(f)) {
            let path = self.aof_path(&f.name);
            self.start_disk(DiskOp::Remove { path }, DiskWaiter::Persist(Step::Cleanup));
        }
        self.log(
            LogLevel::Notice,
            "Background AOF rewrite terminated with success".into(),
        );
        self.log(
            LogLevel::Notice,
            "Background AOF rewrite finished successfully".into(),
        );
        self.trace("aof rewrite ok".into());
    }

    pub(crate) fn aof_rewrite_failed(&mut self, err: &str) {
        if let Some(aof) = self.aof.as_mut() {
            aof.last_rewrite_ok = false;
            aof.rewrite_incrs = None;
            aof.pending_manifest = None;
        }
        self.log(
            LogLevel::Warning,
            format!("Background AOF rewrite terminated with error: {err}"),
        );
        self.trace(format!("aof rewrite error ({err})"));
    }
}

fn is_not_found(e: &str) -> bool {
    e.contains("No such file") || e.contains("not found") || e.contains("os error 2")
}
