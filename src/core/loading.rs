//! Loading a snapshot into the keyspace over time: Redis' `loading` state.
//!
//! The startup RDB file and a replica's full-sync payload are parsed whole, then their keys are
//! installed in slices from `handle_timeout`, paced by `key-load-delay` (Redis sleeps that many
//! microseconds per key; a negative value -N means 1/N µs per key). Between slices clients are
//! served: commands without the `loading` flag get `-LOADING`, INFO shows `loading:1` and the
//! `loading_*` fields. With no delay (the default) a snapshot is installed at once, as before.
//! Nothing here sleeps: the pace comes from the `now` the driver passes in.

use super::{Now, Server};
use crate::config::LogLevel;
use crate::db::Entry;
use bytes::Bytes;

/// Redis' reply to a command refused while loading.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";
/// Commands refused during async loading (Redis' `no-async-loading` flag); all others run
/// against the old data.
pub const NO_ASYNC_LOADING: &[&str] = &[
    "bgrewriteaof",
    "bgsave",
    "psync",
    "replicaof",
    "save",
    "slaveof",
    "sync",
];
/// Most keys one paced slice installs, so a slice never stalls clients for long.
const KEYS_PER_SLICE: usize = 10_000;

/// What a finished load goes on to do.
#[derive(Clone, Debug)]
pub enum Source {
    /// The RDB file at startup: then the server is ready.
    Startup,
    /// A master's full-sync payload: then the replica is in sync at `offset`.
    MasterSync { offset: i64, ack_now: bool },
    /// A one-shot install (DEBUG RELOAD, an AOF base): nothing follows.
    Inline,
}

/// A snapshot being installed.
pub struct Loading {
    pub source: Source,
    /// Keys still to install, in file order: (database, key, entry).
    keys: std::vec::IntoIter<(usize, Bytes, Entry)>,
    pub started: Now,
    pub total_bytes: u64,
    keys_total: u64,
    keys_done: u64,
    loaded: u64,
    expired: u64,
    /// `key-load-delay` when the load began.
    delay_us: i64,
}

impl Loading {
    /// Bytes of the snapshot processed so far (INFO `loading_loaded_bytes`), by key count.
    fn loaded_bytes(&self) -> u64 {
        match self.keys_total {
            0 => self.total_bytes,
            n => self.total_bytes * self.keys_done / n,
        }
    }

    /// The `loading_*` fields of INFO persistence (the ETA from the pace so far).
    pub fn info_fields(&self, now: Now) -> [(&'static str, String); 6] {
        let done = self.loaded_bytes();
        let perc = match self.total_bytes {
            0 => 0.0,
            total => done as f64 * 100.0 / total as f64,
        };
        let elapsed_s = now.unix_ms.saturating_sub(self.started.unix_ms) / 1000;
        let eta_s = match elapsed_s {
            0 => 1,
            e => e * self.total_bytes.saturating_sub(done) / (done + 1),
        };
        [
            (
                "loading_start_time",
                (self.started.unix_ms / 1000).to_string(),
            ),
            ("loading_total_bytes", self.total_bytes.to_string()),
            ("loading_rdb_used_mem", "0".into()),
            ("loading_loaded_bytes", done.to_string()),
            ("loading_loaded_perc", format!("{perc:.2}")),
            ("loading_eta_seconds", eta_s.to_string()),
        ]
    }

    /// How many keys should be installed by `now` at this pace.
    fn keys_due(&self, now: Now) -> u64 {
        keys_due(self.started.mono_ms, self.delay_us, now.mono_ms)
    }

    /// When the next key is due (monotonic ms).
    fn next_due_ms(&self) -> u64 {
        key_due_ms(self.started.mono_ms, self.delay_us, self.keys_done)
    }
}

/// How many keys a load that began at `started_ms`, paced `delay_us` per key, has installed by
/// `now_ms` (unbounded without a delay).
pub(crate) fn keys_due(started_ms: u64, delay_us: i64, now_ms: u64) -> u64 {
    let elapsed_us = now_ms.saturating_sub(started_ms) * 1000;
    match delay_us {
        d if d > 0 => elapsed_us / d as u64 + 1,
        d if d < 0 => (elapsed_us + 1).saturating_mul(d.unsigned_abs()),
        _ => u64::MAX,
    }
}

/// When key number `n` (from 0) of such a load is due (monotonic ms).
pub(crate) fn key_due_ms(started_ms: u64, delay_us: i64, n: u64) -> u64 {
    match delay_us {
        d if d > 0 => started_ms + (n * d as u64).div_ceil(1000),
        _ => started_ms,
    }
}

/// A hidden testing directive's integer value (0 when unset).
pub(crate) fn debug_delay_us(config: &crate::config::Config, name: &str) -> i64 {
    config
        .noop
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Server {
    /// Starts installing a parsed snapshot of `total_bytes`: replication info from its AUX
    /// fields first (a restarted master keeps its file's history as replid2), then its keys, at
    /// once or paced by `key-load-delay`. `Err` when the snapshot cannot be installed whole.
    pub(crate) fn begin_load(
        &mut self,
        now: Now,
        source: Source,
        loaded: crate::rdb::Loaded,
        total_bytes: u64,
    ) -> Result<(), String> {
        if let Some((idx, _)) = loaded.dbs.iter().find(|(i, _)| *i >= self.ks.dbs.len()) {
            return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases (it uses db {idx}).", self.config.databases));
        }
        if let (Some(r), true) = (&loaded.aux.repl, self.loading_own_file(&source)) {
            self.restore_repl_position(&r.id, r.offset);
        }
        self.log(
            LogLevel::Notice,
            format!("Loading RDB produced by version {}", loaded.aux.redis_ver),
        );
        // The snapshot's function libraries replace the current ones, as its keys do.
        self.scripting.flush_functions();
        self.scripting
            .load_libraries(&loaded.functions, false)
            .map_err(|e| format!("Failed loading library: {e}"))?;
        let keys: Vec<_> = loaded
            .dbs
            .into_iter()
            .flat_map(|(idx, keys)| keys.into_iter().map(move |(k, e)| (idx, k, e)))
            .collect();
        let (delay_us, started) = match source {
            Source::Inline => (0, now),
            Source::Startup => (self.paced_load_delay_us(), now),
            Source::MasterSync { .. } => (
                self.paced_load_delay_us(),
                self.end_socket_pace().unwrap_or(now),
            ),
        };
        // An inline install happens within one call (an AOF load keeps its own flag).
        if !matches!(source, Source::Inline) {
            self.persist.loading = true;
        }
        self.loading = Some(Loading {
            source,
            keys_total: keys.len() as u64,
            keys: keys.into_iter(),
            started,
            total_bytes,
            keys_done: 0,
            loaded: 0,
            expired: 0,
            delay_us,
        });
        self.load_slice(now);
        Ok(())
    }

    /// `key-load-delay` for a load starting now: none for an async load, which installs at once
    /// (the old data is served until the new one is whole).
    pub(crate) fn paced_load_delay_us(&self) -> i64 {
        match self.persist.async_loading {
            true => 0,
            false => debug_delay_us(&self.config, "key-load-delay"),
        }
    }

    /// Installs a parsed snapshot whole, now (DEBUG RELOAD, an AOF base).
    pub(crate) fn install_rdb(
        &mut self,
        now: Now,
        loaded: crate::rdb::Loaded,
    ) -> Result<(), String> {
        self.begin_load(now, Source::Inline, loaded, 0)
    }

    /// Only the startup RDB file restores this node's own replication position (an AOF's base
    /// is older than its incr files' last command, and Redis does not resume from it either).
    fn loading_own_file(&self, source: &Source) -> bool {
        matches!(source, Source::Startup) && !self.config.appendonly
    }

    /// A restarting node resumes its replication history from its own snapshot, as Redis 7
    /// does: a replica can PSYNC with it; a master keeps it only as replid2 under a new id, with
    /// a backlog starting there, so replicas exactly at the saved position continue partially.
    fn restore_repl_position(&mut self, replid: &str, offset: i64) {
        self.repl.ids.adopt_master(replid);
        self.repl.offset = offset;
        if self.config.replicaof.is_none() {
            let line = self
                .repl
                .ids
                .shift_on_promotion(offset, crate::core::replication::random_id(&mut self.rng));
            self.log_lines(vec![line]);
            self.repl.backlog = Some(crate::repl::Backlog::new(
                self.config.repl_backlog_size as usize,
                offset,
            ));
        }
        self.log(
            LogLevel::Notice,
            "Restored replication ID and offset from the RDB file.".into(),
        );
    }

    /// The load's next due keys go in; the last slice finishes it.
    pub(crate) fn load_slice(&mut self, now: Now) {
        let feed = (self.loading.as_ref()).is_some_and(|l| self.loading_own_file(&l.source));
        let master = self.config.replicaof.is_none();
        let Some(l) = self.loading.as_mut() else {
            return;
        };
        let due = l.keys_due(now).saturating_sub(l.keys_done);
        // Unpaced, a snapshot goes in at once, as Redis' blocking load does.
        let n = match l.delay_us {
            0 => usize::MAX,
            _ => due.min(KEYS_PER_SLICE as u64) as usize,
        };
        let (mut runs, mut dels) = (Vec::<(usize, Vec<_>)>::new(), Vec::new());
        for (idx, k, mut e) in l.keys.by_ref().take(n) {
            l.keys_done += 1;
            if master && e.expire_at_ms.is_some_and(|t| t <= now.unix_ms) {
                l.expired += 1;
                dels.push((idx, k));
                continue;
            }
            l.loaded += 1;
            e.meta.access_ms = now.unix_ms;
            match runs.last_mut() {
                Some((db, keys)) if *db == idx => keys.push((k, e)),
                _ => runs.push((idx, vec![(k, e)])),
            }
        }
        let finished = l.keys_done == l.keys_total;
        for (idx, keys) in runs {
            self.ks.dbs[idx].load(keys);
        }
        // A restarted master streams the keys that expired in its file as DELs (after the
        // restored offset), so replicas that continue partially drop them too.
        for (idx, k) in dels.into_iter().filter(|_| feed) {
            self.propagate(idx, vec![vec![Bytes::from_static(b"DEL"), k]]);
        }
        if finished {
            self.finish_load(now);
        }
    }

    /// Is a master's full-sync snapshot still going in? Then, as in Redis (whose link stays in
    /// its transfer state until the load ends), ROLE says `sync` and the link is not up.
    pub fn loading_master_snapshot(&self) -> bool {
        let source = self.loading.as_ref().map(|l| &l.source);
        matches!(source, Some(Source::MasterSync { .. }))
    }

    /// When the load in progress wants its next slice.
    pub(crate) fn loading_timeout(&self) -> Option<u64> {
        self.loading.as_ref().map(Loading::next_due_ms)
    }

    fn finish_load(&mut self, now: Now) {
        let Some(l) = self.loading.take() else {
            return;
        };
        if !matches!(l.source, Source::Inline) {
            self.stop_loading();
        }
        self.persist.keys_loaded = l.loaded;
        self.persist.keys_expired_on_load = l.expired;
        self.log(
            LogLevel::Notice,
            format!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                l.loaded, l.expired
            ),
        );
        self.trace(format!("loaded {} keys from RDB", l.loaded));
        match l.source {
            Source::Startup => self.loaded_from_disk(now),
            Source::MasterSync { offset, ack_now } => {
                self.master_snapshot_loaded(now, offset, ack_now)
            }
            Source::Inline => {}
        }
    }

    /// With `repl-diskless-load swapdb` (or `on-empty-db` and no keys) Redis loads the payload
    /// straight from the socket: it is loading from the transfer's start. Our old data stays
    /// until the whole payload parsed, as swapdb's backup does, so a failed transfer leaves it.
    /// Logged as Redis logs a load from the socket: when the transfer starts.
    pub(crate) fn loading_from_socket(&mut self) {
        let transfer = self
            .repl
            .link
            .as_ref()
            .is_some_and(|l| l.link.state() == crate::repl::ReplState::Transfer);
        let mode = self.diskless_load_mode();
        let swapdb = mode == Some("swapdb");
        let diskless = swapdb || (mode == Some("on-empty-db") && self.ks.total_keys() == 0);
        if !(transfer && diskless) || self.persist.loading {
            return;
        }
        self.persist.loading = true;
        self.persist.async_loading = swapdb && self.same_history_sync();
        self.trace("loading from socket".into());
        let flush: &[&str] = if swapdb { &[] } else { &["Flushing old data"] };
        self.log_sync_steps(flush);
        self.log_sync_steps(&["Loading DB in memory"]);
    }

    /// Logs a replica's full-sync steps as Redis words them (`MASTER <-> REPLICA sync: ...`).
    pub(crate) fn log_sync_steps(&mut self, steps: &[&str]) {
        for step in steps {
            self.log(LogLevel::Notice, format!("MASTER <-> REPLICA sync: {step}"));
        }
    }

    /// `repl-diskless-load`: `disabled`, `on-empty-db` or `swapdb`.
    pub(crate) fn diskless_load_mode(&self) -> Option<&str> {
        self.config
            .noop
            .get("repl-diskless-load")
            .map(String::as_str)
    }

    /// Ends the loading state (and async loading with it).
    pub(crate) fn stop_loading(&mut self) {
        self.persist.loading = false;
        self.persist.async_loading = false;
    }

    /// A new full sync replaced the payload being loaded: what was installed of it goes.
    pub(crate) fn abandon_load(&mut self) {
        if self.loading.take().is_some() {
            self.stop_loading();
        }
    }
}

#[cfg(test)]
#[path = "loading_tests.rs"]
mod tests;
