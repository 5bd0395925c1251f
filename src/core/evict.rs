//! maxmemory (Redis 7.2's evict.c): before each command, when the memory counted for eviction
//! (`memory.rs`) is over `maxmemory`, keys are evicted by `maxmemory-policy` until it is not, and
//! a command flagged `denyoom` gets the OOM error if nothing more can go.
//!
//! The LRU, LFU and TTL policies use Redis' approximation: each round samples
//! `maxmemory-samples` keys from every database into a pool of the 16 best candidates seen so far
//! (kept across calls) and evicts the best one still present; the random policies take a random
//! key of the next database in turn. Randomness comes from the server's seeded RNG. A run stops
//! after a budget set by `maxmemory-eviction-tenacity` (Redis' time limit, counted here in keys:
//! one key per microsecond of Redis' limit) and the eviction timer goes on with the rest, as it
//! does after CONFIG SET lowers maxmemory. Evicted keys reach replicas and the AOF as DEL.
//! Replicas leave eviction to their master (`replica-ignore-maxmemory yes`).

use super::pause::action;
use super::{Now, Server};
use crate::config::{Config, LogLevel};
use bytes::Bytes;
use rand_core::RngCore;

pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// Candidates the pool keeps (EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Policy {
    #[default]
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    fn parse(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }
    fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }
    fn lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }
    fn lru(self) -> bool {
        matches!(self, Policy::AllKeysLru | Policy::VolatileLru)
    }
    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

/// What a run of evictions achieved (Redis' EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Running,
    Fail,
}

#[derive(Clone, Debug)]
struct Candidate {
    idle: u64,
    db: usize,
    key: Bytes,
}

/// The eviction settings and pool.
#[derive(Debug, Default)]
pub struct Eviction {
    policy: Policy,
    maxmemory: u64,
    samples: usize,
    budget_keys: u64,
    ignore_on_replica: bool,
    /// maxmemory-clients in bytes (0: no client eviction).
    pub(crate) clients_limit: u64,
    /// Candidates by ascending idleness (the best last).
    pool: Vec<Candidate>,
    next_db: usize,
    /// The eviction timer runs (Redis' evictionTimeProc) until memory is under the limit.
    pub running: bool,
}

fn noop_num(c: &Config, name: &str, default: u64) -> u64 {
    c.noop
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Redis' evictionTimeLimitUs for a tenacity, as keys a run may evict.
fn budget_keys(tenacity: u64) -> u64 {
    match tenacity {
        0..=10 => (50 * tenacity).max(16),
        11..=99 => (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        _ => u64::MAX,
    }
}

impl Server {
    /// Takes the maxmemory settings from the config (at start and after CONFIG SET).
    pub(crate) fn apply_memory_config(&mut self) {
        let c = &self.config;
        let policy = Policy::parse(c.noop.get("maxmemory-policy").map_or("", String::as_str));
        let e = &mut self.evict;
        e.policy = policy;
        e.maxmemory = c.maxmemory.max(0) as u64;
        e.samples = noop_num(c, "maxmemory-samples", 5).clamp(1, 64) as usize;
        e.budget_keys = budget_keys(noop_num(c, "maxmemory-eviction-tenacity", 10));
        e.clients_limit = super::evict_clients::clients_limit(c);
        e.ignore_on_replica = c
            .noop
            .get("replica-ignore-maxmemory")
            .is_none_or(|v| v == "yes");
        let mut access = crate::db::Access::default();
        access.lfu = policy.lfu();
        access.log_factor = noop_num(c, "lfu-log-factor", 10);
        access.decay_min = noop_num(c, "lfu-decay-time", 1);
        access.share_ints = e.maxmemory == 0 || !(policy.lfu() || policy.lru());
        self.ks.set_access(&access);
    }

    /// CONFIG SET changed maxmemory: warn when already over it and start the eviction timer.
    pub(crate) fn maxmemory_changed(&mut self) {
        if self.evict.maxmemory == 0 {
            return;
        }
        let m = self.memory();
        let used = m.used - m.not_counted_for_evict;
        if self.evict.maxmemory < used {
            self.log(LogLevel::Warning, format!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", self.evict.maxmemory));
        }
        self.evict.running = true;
    }

    /// Before a command: evicts clients and keys as needed; `Some` is the OOM error when the
    /// command may not run.
    pub(crate) fn oom_refusal(
        &mut self,
        id: super::ConnId,
        name: &str,
        judged: u32,
        in_multi: bool,
    ) -> Option<String> {
        use crate::commands::flags::DENYOOM;
        self.evict_clients();
        if self.evict.maxmemory == 0 {
            return None;
        }
        let out_of_memory = self.perform_evictions() == Outcome::Fail;
        // Clients caching an evicted key hear of it before the reply of the command to come.
        self.invalidate_changes();
        let obey = id == super::replication::MASTER_CLIENT_ID || self.replaying;
        if !out_of_memory || obey {
            return None;
        }
        let queuing = in_multi && !["exec", "discard", "quit", "reset"].contains(&name);
        (judged & DENYOOM != 0 || queuing).then(|| OOM_ERROR.into())
    }

    /// The eviction timer's tick: one more run while memory stays over the limit.
    pub(crate) fn eviction_timer(&mut self, _now: Now) {
        if self.evict.running && self.perform_evictions() != Outcome::Running {
            self.evict.running = false;
        }
    }

    fn safe_to_evict(&self) -> bool {
        let replica_ignores = self.is_replica() && self.evict.ignore_on_replica;
        !(replica_ignores || self.persist.loading || self.pause.paused(action::EVICT))
    }

    /// Redis' performEvictions: frees what is over the limit, or as much as the budget allows.
    pub(crate) fn perform_evictions(&mut self) -> Outcome {
        if self.evict.maxmemory == 0 || !self.safe_to_evict() {
            return Outcome::Ok;
        }
        let m = self.memory();
        let used = m.used - m.not_counted_for_evict;
        if used <= self.evict.maxmemory {
            return Outcome::Ok;
        }
        if self.evict.policy == Policy::NoEviction {
            return Outcome::Fail;
        }
        let to_free = used - self.evict.maxmemory;
        let (mut freed, mut keys) = (0u64, 0u64);
        while freed < to_free {
            let Some((db, key)) = self.victim() else {
                return Outcome::Fail;
            };
            freed += self.ks.dbs[db].evict(&key) as u64;
            self.ks.stats.evicted_keys += 1;
            self.notify_keyspace_event(crate::db::notify::EVICTED, "evicted", &key, db);
            self.propagate(db, vec![vec![Bytes::from_static(b"DEL"), key]]);
            keys += 1;
            if keys % 16 == 0 && keys >= self.evict.budget_keys {
                self.evict.running = true;
                break;
            }
        }
        match self.evict.running {
            true => Outcome::Running,
            false => Outcome::Ok,
        }
    }

    /// The key to evict next and its database, `None` when no key qualifies.
    fn victim(&mut self) -> Option<(usize, Bytes)> {
        let volatile = self.evict.policy.volatile();
        if self.evict.policy.random() {
            let n = self.ks.dbs.len();
            for _ in 0..n {
                let j = (self.evict.next_db + 1) % n;
                self.evict.next_db = j;
                let r = self.rng.next_u64();
                if let Some((k, _)) = self.ks.dbs[j].sample(r, 1, volatile).first() {
                    return Some((j, Bytes::copy_from_slice(k)));
                }
            }
            return None;
        }
        loop {
            let mut total = 0;
            for i in 0..self.ks.dbs.len() {
                let db = &self.ks.dbs[i];
                let n = if volatile { db.expires_len() } else { db.len() };
                if n > 0 {
                    total += n;
                    self.populate_pool(i);
                }
            }
            if total == 0 {
                return None;
            }
            while let Some(c) = self.evict.pool.pop() {
                let e = self.ks.dbs[c.db].raw(&c.key);
                if e.is_some_and(|e| !volatile || e.expire_at_ms.is_some()) {
                    return Some((c.db, c.key));
                }
            }
        }
    }

    /// evictionPoolPopulate: samples database `db` and offers each key to the pool.
    fn populate_pool(&mut self, db: usize) {
        let (policy, now_ms) = (self.evict.policy, self.last_now.unix_ms);
        let r = self.rng.next_u64();
        let d = &self.ks.dbs[db];
        let sampled: Vec<Candidate> = d
            .sample(r, self.evict.samples, policy.volatile())
            .into_iter()
            .map(|(key, e)| Candidate {
                idle: match policy {
                    Policy::AllKeysLfu | Policy::VolatileLfu => {
                        255 - d.access.decayed(&e.meta, now_ms) as u64
                    }
                    Policy::VolatileTtl => u64::MAX - e.expire_at_ms.unwrap_or(0),
                    _ => now_ms.saturating_sub(e.meta.access_ms),
                },
                db,
                key: Bytes::copy_from_slice(key),
            })
            .collect();
        for c in sampled {
            offer(&mut self.evict.pool, c);
        }
    }
}

/// Puts a candidate in its place in the pool; a full pool drops its worst entry for a better one.
fn offer(pool: &mut Vec<Candidate>, c: Candidate) {
    if let Some(i) = pool.iter().position(|p| p.db == c.db && p.key == c.key) {
        pool.remove(i);
    }
    let k = pool.partition_point(|p| p.idle < c.idle);
    if pool.len() < POOL_SIZE {
        pool.insert(k, c);
    } else if k > 0 {
        pool.remove(0);
        pool.insert(k - 1, c);
    }
}
