//! Clients blocked on keys (BLPOP and friends, `commands/blocking.rs`): who waits on which key
//! in arrival order, their deadlines, and serving them when a write touches one of their keys.
//! Redis serves them after the command (or the whole EXEC) that made a key ready.

use super::{ConnId, Now, Server};
use crate::commands::blocking::{attempt, Attempt, Pop};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};

/// `blocked_on` of a client waiting on keys (disk tokens start at 1, WAIT uses 0).
pub const KEYS_BLOCK: u64 = u64::MAX;

#[derive(Debug)]
struct Waiting {
    db: usize,
    keys: Vec<Bytes>,
    pop: Pop,
    deadline_mono_ms: Option<u64>,
    /// The command's name, for its statistics.
    name: &'static str,
}

#[derive(Debug, Default)]
pub struct Blocking {
    clients: BTreeMap<ConnId, Waiting>,
    by_key: BTreeMap<(usize, Bytes), VecDeque<ConnId>>,
    /// Keys written since the last serving round that someone waits on, in the order they
    /// became ready (Redis serves them in that order).
    ready: VecDeque<(usize, Bytes)>,
}

impl Server {
    pub(crate) fn last_now_ms(&self) -> u64 {
        self.last_now.unix_ms
    }

    pub(crate) fn last_now(&self) -> Now {
        self.last_now
    }

    /// INFO's total_blocking_keys and total_blocking_keys_on_nokey (keys an XREADGROUP waits
    /// on, which its deletion also wakes).
    pub(crate) fn blocking_key_counts(&self) -> (usize, usize) {
        let on_nokey = self
            .blocking
            .by_key
            .values()
            .filter(|q| {
                q.iter().any(|id| {
                    self.blocking
                        .clients
                        .get(id)
                        .is_some_and(|w| matches!(&w.pop, Pop::Stream(s) if s.group))
                })
            })
            .count();
        (self.blocking.by_key.len(), on_nokey)
    }

    /// A write without key positions (FLUSHDB, FLUSHALL, SWAPDB) may have changed any key:
    /// every waiter checks again.
    pub(crate) fn signal_all_keys(&mut self) {
        let keys: Vec<_> = self.blocking.by_key.keys().cloned().collect();
        self.blocking.ready.extend(keys);
    }

    /// Inside MULTI/EXEC or a replayed stream nothing can arrive while waiting.
    pub(crate) fn in_transaction(&self, id: ConnId) -> bool {
        self.exec_effects.is_some()
            || self.replaying
            || self.clients.get(&id).is_some_and(|c| c.multi.is_some())
    }

    pub(crate) fn block_on_keys(
        &mut self,
        id: ConnId,
        db: usize,
        keys: Vec<Bytes>,
        pop: Pop,
        deadline_mono_ms: Option<u64>,
        name: &'static str,
    ) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        c.blocked_on = Some(KEYS_BLOCK);
        for k in &keys {
            let queue = self.blocking.by_key.entry((db, k.clone())).or_default();
            if !queue.contains(&id) {
                queue.push_back(id);
            }
        }
        let w = Waiting {
            db,
            keys,
            pop,
            deadline_mono_ms,
            name,
        };
        self.blocking.clients.insert(id, w);
    }

    /// A command wrote `key`: if someone waits on it, serve them after the command.
    pub(crate) fn signal_key(&mut self, db: usize, key: &Bytes) {
        if self.blocking.by_key.is_empty() {
            return;
        }
        let k = (db, key.clone());
        if self.blocking.by_key.contains_key(&k) && !self.blocking.ready.contains(&k) {
            self.blocking.ready.push_back(k);
        }
    }

    /// A served pop: counts as a change, reaches replicas and the AOF, wakes waiters of the
    /// keys it wrote.
    pub(crate) fn popped(&mut self, db: usize, cmd: Vec<Bytes>, keys: &[&Bytes]) {
        let limits = crate::commands::object::limits(&self.config);
        let now_ms = self.last_now.unix_ms;
        for k in keys {
            self.ks.dbs[db].written(k, now_ms, &limits);
            self.signal_key(db, k);
        }
        self.dirty += 1;
        self.after_served_pop(db, &cmd);
        self.propagate(db, vec![cmd]);
    }

    /// Serves clients waiting on keys that became ready, oldest first, until none is left.
    pub(crate) fn serve_ready(&mut self, now: Now) {
        if self.exec_effects.is_some() {
            return;
        }
        while let Some(k) = self.blocking.ready.pop_front() {
            let waiting: Vec<ConnId> = self
                .blocking
                .by_key
                .get(&k)
                .map(|q| q.iter().copied().collect())
                .unwrap_or_default();
            for id in waiting {
                let Some(w) = self.blocking.clients.get(&id) else {
                    continue;
                };
                let (pop, db) = (w.pop.clone(), w.db);
                let (now_ms, mode) = (now.unix_ms, self.ks.mode);
                let value = self.ks.dbs[db].peek(&k.1, now_ms, mode).map(|e| &e.value);
                if !pop.wakes(value) {
                    continue;
                }
                match attempt(self, id, db, &pop, std::slice::from_ref(&k.1), true) {
                    Attempt::Empty if pop.consumes() => break,
                    Attempt::Empty => {}
                    Attempt::Served => self.unblock(id, now, false),
                    Attempt::Failed => self.unblock(id, now, true),
                }
            }
        }
    }

    /// Ends a client's wait; its next commands run.
    fn unblock(&mut self, id: ConnId, now: Now, failed: bool) {
        let Some(w) = self.forget_blocked(id) else {
            return;
        };
        if failed {
            self.stats.command(w.name.into()).failed += 1;
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = None;
        }
        self.pending.insert(id);
        self.process_input(id, now);
    }

    fn forget_blocked(&mut self, id: ConnId) -> Option<Waiting> {
        let w = self.blocking.clients.remove(&id)?;
        for k in &w.keys {
            let key = (w.db, k.clone());
            if let Some(q) = self.blocking.by_key.get_mut(&key) {
                q.retain(|c| *c != id);
                if q.is_empty() {
                    self.blocking.by_key.remove(&key);
                }
            }
        }
        Some(w)
    }

    /// A disconnected client stops waiting.
    pub(crate) fn drop_blocked(&mut self, id: ConnId) {
        self.forget_blocked(id);
    }

    /// Deadlines that passed get the timeout reply (from the cron, like Redis' 100 ms checks).
    pub(crate) fn expire_blocked(&mut self, now: Now) {
        let due: Vec<ConnId> = self
            .blocking
            .clients
            .iter()
            .filter(|(_, w)| w.deadline_mono_ms.is_some_and(|t| t <= now.mono_ms))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(w) = self.blocking.clients.get(&id) {
                let pop = w.pop.clone();
                if self.clients.contains_key(&id) {
                    pop.timeout_reply(&mut self.reply(id));
                }
            }
            self.unblock(id, now, false);
        }
    }

    /// Turning into a replica (Redis' disconnectAllBlockedClients): clients blocked on keys and
    /// in WAIT would see only the master's writes, so they get Redis' UNBLOCKED error and are
    /// closed after it.
    pub(crate) fn disconnect_all_blocked(&mut self, now: Now) {
        const UNBLOCKED: &str = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
        let on_keys: Vec<ConnId> = self.blocking.clients.keys().copied().collect();
        for id in on_keys {
            if self.clients.contains_key(&id) {
                self.reply(id).error(UNBLOCKED);
                self.close_after_reply(id);
            }
            self.unblock(id, now, true);
        }
        for w in std::mem::take(&mut self.repl.waiters) {
            if let Some(c) = self.clients.get_mut(&w.conn) {
                c.blocked_on = None;
            }
            self.reply(w.conn).error(UNBLOCKED);
            self.close_after_reply(w.conn);
        }
    }
}
