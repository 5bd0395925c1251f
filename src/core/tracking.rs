//! Client-side caching (CLIENT TRACKING, Redis' tracking.c). A tracking client is told when a
//! key it may hold in its cache changes: in the default mode, the keys its read commands used
//! (the tracking table, key → client ids, bounded by `tracking-table-max-keys`); in BCAST mode,
//! every key under the prefixes it subscribed to, batched until the server flushes its output.
//!
//! Messages go to the client itself in RESP3 (`>2 invalidate [keys]`), or to the client it
//! redirects to: RESP3 push, or for a RESP2 client in pub/sub mode a message on
//! `__redis__:invalidate`. A null key list means every key (a database was emptied). A message
//! for the client whose command is running follows that command's reply.

use super::{ConnId, Server};
use crate::commands::{flags, CommandSpec};
use crate::db::Change;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// The pub/sub channel a RESP2 redirect client hears invalidations on.
const CHANNEL: &[u8] = b"__redis__:invalidate";
/// Keys the table limit drops per round while it stays over the limit, times the rounds.
const EVICT_EFFORT: usize = 100;

/// One client's tracking mode (CLIENT TRACKING ON and its options).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientTracking {
    /// The client that receives this one's invalidations; 0: itself.
    pub redirect: ConnId,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) was given for the next command.
    pub caching: bool,
    /// The redirect client went away.
    pub broken_redirect: bool,
    /// BCAST mode's prefixes ("" for every key).
    pub prefixes: BTreeSet<Bytes>,
}

/// A BCAST prefix: its subscribers and the keys under it that changed since the last flush,
/// each with the client whose command changed it last (for NOLOOP).
#[derive(Debug, Default)]
struct Prefix {
    clients: BTreeSet<ConnId>,
    changed: BTreeMap<Bytes, Option<ConnId>>,
}

/// The server's tracking state.
#[derive(Debug, Default)]
pub struct Tracking {
    /// key → clients that may cache it. Ids of clients gone or no longer tracking are
    /// dropped lazily, when the key changes.
    table: BTreeMap<Bytes, BTreeSet<ConnId>>,
    /// Client ids across the table (INFO tracking_total_items).
    items: usize,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// Rounds in a row the table limit was not reached.
    over_limit_rounds: usize,
}

/// What an invalidation message says was invalidated.
enum Invalidated<'a> {
    Keys(&'a [Bytes]),
    All,
}

impl Tracking {
    /// INFO's tracking_total_keys, tracking_total_items and tracking_total_prefixes.
    pub fn totals(&self) -> (usize, usize, usize) {
        (self.table.len(), self.items, self.prefixes.len())
    }
}

impl Server {
    /// CLIENT TRACKING ON with `mode` (options already checked); BCAST prefixes add to the
    /// client's existing ones.
    pub(crate) fn enable_tracking(&mut self, id: ConnId, mode: ClientTracking) {
        for db in &mut self.ks.dbs {
            db.track_changes = true;
        }
        let c = self.clients.get_mut(&id).expect("caller");
        let mut prefixes = c.tracking.take().map(|t| t.prefixes).unwrap_or_default();
        if mode.bcast {
            // No PREFIX means every key: the empty prefix.
            if mode.prefixes.is_empty() {
                prefixes.insert(Bytes::new());
            }
            prefixes.extend(mode.prefixes.iter().cloned());
            for p in &prefixes {
                let entry = self.tracking.prefixes.entry(p.clone()).or_default();
                entry.clients.insert(id);
            }
        }
        c.tracking = Some(ClientTracking { prefixes, ..mode });
    }

    /// CLIENT TRACKING OFF (and a client going away): leaves its BCAST prefixes. Its ids in the
    /// table stay until their keys change.
    pub(crate) fn disable_tracking(&mut self, id: ConnId) {
        let Some(t) = self.clients.get_mut(&id).and_then(|c| c.tracking.take()) else {
            return;
        };
        for p in &t.prefixes {
            if let Some(state) = self.tracking.prefixes.get_mut(p) {
                state.clients.remove(&id);
                if state.clients.is_empty() {
                    self.tracking.prefixes.remove(p);
                }
            }
        }
    }

    /// After a read-only command: the keys it read join the table for the tracking client
    /// behind it (the script's caller for a command a script ran), unless OPTIN/OPTOUT and
    /// CLIENT CACHING say otherwise.
    pub(crate) fn remember_keys(&mut self, id: ConnId, spec: &CommandSpec, args: &[Bytes]) {
        let ro_script = ["eval_ro", "evalsha_ro", "fcall_ro"].contains(&spec.name);
        if spec.flags & flags::READONLY == 0 || spec.flags & flags::PUBSUB != 0 || ro_script {
            return;
        }
        let tracker = match id {
            crate::scripting::run::SCRIPT_CLIENT_ID => self.running.as_ref().map_or(id, |r| r.0),
            _ => id,
        };
        let Some(t) = self.clients.get(&tracker).and_then(|c| c.tracking.as_ref()) else {
            return;
        };
        if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
            return;
        }
        for (pos, _) in crate::acl::keys::keys(spec, args) {
            let ids = self.tracking.table.entry(args[pos].clone()).or_default();
            self.tracking.items += usize::from(ids.insert(tracker));
        }
    }

    /// Sends the invalidations for every change the databases noted: to the clients in the
    /// table for each changed key, and into the BCAST prefixes' batches.
    pub(crate) fn invalidate_changes(&mut self) {
        let running = self.running.as_ref().map(|r| r.0);
        // One FLUSHALL empties every database but is one flush to the clients.
        let mut flushed = false;
        for i in 0..self.ks.dbs.len() {
            if self.ks.dbs[i].changes.is_empty() {
                continue;
            }
            for change in std::mem::take(&mut self.ks.dbs[i].changes) {
                match change {
                    Change::Key { key, by_command } => {
                        self.batch_for_prefixes(&key, running.filter(|_| by_command));
                        self.invalidate_key(&key);
                    }
                    Change::Flush if !flushed => {
                        flushed = true;
                        self.invalidate_all();
                    }
                    Change::Flush => {}
                }
            }
        }
    }

    fn batch_for_prefixes(&mut self, key: &Bytes, by: Option<ConnId>) {
        for (prefix, state) in &mut self.tracking.prefixes {
            if key.starts_with(prefix) {
                state.changed.insert(key.clone(), by);
            }
        }
    }

    /// Tells the clients in the table for `key` that it changed, and forgets them for it.
    fn invalidate_key(&mut self, key: &Bytes) {
        let Some(ids) = self.tracking.table.remove(key) else {
            return;
        };
        self.tracking.items -= ids.len();
        let running = self.running.as_ref().map(|r| r.0);
        for id in ids {
            let Some(t) = self.clients.get(&id).and_then(|c| c.tracking.as_ref()) else {
                continue;
            };
            if t.bcast || (t.noloop && running == Some(id)) {
                continue;
            }
            self.send_invalidation(id, Invalidated::Keys(std::slice::from_ref(key)));
        }
    }

    /// A database was emptied: every tracking client hears that all keys are invalid, and the
    /// table starts over.
    fn invalidate_all(&mut self) {
        let tracking: Vec<ConnId> = self
            .clients
            .values()
            .filter(|c| c.tracking.is_some())
            .map(|c| c.id)
            .collect();
        for id in tracking {
            self.send_invalidation(id, Invalidated::All);
        }
        self.tracking.table.clear();
        self.tracking.items = 0;
    }

    /// Sends the BCAST batches to their prefixes' subscribers, one message per prefix; a
    /// NOLOOP client is not told of the keys its own commands changed.
    pub(crate) fn broadcast_invalidations(&mut self) {
        let batches: Vec<Prefix> = self
            .tracking
            .prefixes
            .values_mut()
            .filter(|p| !p.changed.is_empty())
            .map(|p| Prefix {
                clients: p.clients.clone(),
                changed: std::mem::take(&mut p.changed),
            })
            .collect();
        for Prefix { clients, changed } in batches {
            for id in clients {
                let Some(c) = self.clients.get(&id) else {
                    continue;
                };
                let noloop = c.tracking.as_ref().is_some_and(|t| t.noloop);
                let keys: Vec<Bytes> = changed
                    .iter()
                    .filter(|(_, by)| !noloop || **by != Some(id))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !keys.is_empty() {
                    self.send_invalidation(id, Invalidated::Keys(&keys));
                }
            }
        }
    }

    /// Keeps the table within `tracking-table-max-keys`: drops random keys, telling their
    /// clients as if the keys had changed, with more effort each round it stays over.
    pub(crate) fn limit_tracking_table(&mut self) {
        let max = self
            .config
            .noop
            .get("tracking-table-max-keys")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if max == 0 || self.tracking.table.len() <= max {
            self.tracking.over_limit_rounds = 0;
            return;
        }
        let effort = EVICT_EFFORT * (self.tracking.over_limit_rounds + 1);
        for _ in 0..effort {
            let n = self.tracking.table.len();
            let pick = (self.random_u64() % n as u64) as usize;
            let key = self
                .tracking
                .table
                .keys()
                .nth(pick)
                .expect("in range")
                .clone();
            self.invalidate_key(&key);
            if self.tracking.table.len() <= max {
                self.tracking.over_limit_rounds = 0;
                return;
            }
        }
        self.tracking.over_limit_rounds += 1;
    }

    /// Redis' sendTrackingMessage: to the client or its redirect, as a RESP3 push or, for a
    /// RESP2 redirect client in pub/sub mode, a message on `__redis__:invalidate`.
    fn send_invalidation(&mut self, id: ConnId, what: Invalidated) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        let redirect = c.tracking.as_ref().map_or(0, |t| t.redirect);
        // Redis writes the null of the tracking client's protocol, wherever it goes.
        let null: &[u8] = if c.resp > 2 { b"_\r\n" } else { b"$-1\r\n" };
        let mut to = id;
        if redirect != 0 {
            if !self.clients.contains_key(&redirect) {
                self.redirect_broken(id, redirect);
                return;
            }
            to = redirect;
        }
        let target = &self.clients[&to];
        let pubsub = to != id && target.subscribed();
        if target.resp < 3 && !pubsub {
            return;
        }
        let mut out = crate::commands::pubsub::push_to(self, to);
        if out.is_resp3() {
            out.push(2);
            out.bulk(b"invalidate");
        } else {
            out.push(3);
            out.bulk(b"message");
            out.bulk(CHANNEL);
        }
        match what {
            Invalidated::Keys(keys) => out.bulks(keys.iter()),
            Invalidated::All => out.raw(null),
        }
    }

    /// The redirect client is gone: the tracking client is flagged and, in RESP3, told.
    fn redirect_broken(&mut self, id: ConnId, redirect: ConnId) {
        let c = self.clients.get_mut(&id).expect("checked");
        if let Some(t) = c.tracking.as_mut() {
            t.broken_redirect = true;
        }
        if c.resp < 3 {
            return;
        }
        let mut out = crate::commands::pubsub::push_to(self, id);
        out.push(2);
        out.bulk(b"tracking-redir-broken");
        out.int(redirect as i64);
    }
}
