//! The keyspace: 16 (configurable) databases of typed values with absolute-time expiry.
//!
//! Keys live in a `BTreeMap` ordered by (fixed 64-bit hash, key bytes). That order is deterministic
//! across runs (KEYS, SCAN and RANDOMKEY reach the wire, and simulations must replay), looks as
//! unordered as Redis' dict, and gives SCAN a plain integer cursor (the hash to resume from) that
//! keeps Redis' guarantee: a key present during the whole scan is returned. Keys are stored inline
//! when short (`compact.rs`) and entries boxed, so a map slot stays 40 bytes. A second index ordered by
//! expiry time drives active expiry without sampling.
//!
//! All mutation goes through `Db` methods so that WATCH sees every modified key (`touched`), and
//! client-side caching every change (`changes`).

mod access;
mod compact;
mod encoding;
mod expiries;
mod keyref;
pub mod memsize;
pub mod notify;
mod sample;
mod snapshot;
pub mod stream;
mod stream_group;
mod typed;
mod values;

pub use access::{unix_minute, Access, LFU_INIT_VAL};
pub use compact::CompactBytes;
pub use encoding::{canonical_int, Encoding, EncodingLimits, ObjMeta};
pub use keyref::{key_hash, HKey};
pub use stream::{Stream, StreamId};
pub use values::{Entry, Score, Value, ZSet};

use bytes::Bytes;
use keyref::{probe, KeyRef};
use snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};

/// Most keys a writable replica tracks for expiring them itself.
const MAX_OWN_EXPIRES: usize = 1_000_000;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Counters INFO reports, shared by all databases.
#[derive(Clone, Debug, Default)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

/// One database.
#[derive(Debug, Default)]
pub struct Db {
    /// Entries are boxed: a map slot is a key and a pointer, whatever the value's type.
    map: BTreeMap<HKey, Box<Entry>>,
    expiry: expiries::Expiries,
    /// Keys some client WATCHes (with a count of watchers).
    watched: BTreeMap<Bytes, usize>,
    /// Watched keys modified since the server last drained them.
    pub touched: Vec<Bytes>,
    /// Keys removed by expiry since last drained (a master propagates them as DEL).
    pub expired: Vec<Bytes>,
    /// Client-side caching is in use: every change is noted in `changes`.
    pub track_changes: bool,
    /// Changes since the server last drained them (`core::tracking` invalidates them).
    pub changes: Vec<Change>,
    /// A point-in-time snapshot being written while the database keeps changing (BGSAVE).
    snap: Option<Snapshot>,
    /// On a writable replica: keys its own clients gave a time to live. The master never
    /// deletes them, so the replica expires them itself (Redis' slaveKeysWithExpire).
    own_expires: BTreeSet<Bytes>,
    /// What the entries cost (`memsize`), the sum of their cached `meta.bytes`.
    bytes: usize,
    /// How lookups age keys (the LRU clock and LFU counters), set by the server.
    pub access: Access,
}

/// A change client-side caching hears of.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A key changed; `by_command`: the running command changed it (not expiry or eviction),
    /// which NOLOOP clients are not told of.
    Key { key: Bytes, by_command: bool },
    /// The database was emptied.
    Flush,
}

/// How lookups treat keys whose time has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryMode {
    /// A master deletes them on access.
    Delete,
    /// A replica hides them from readers but waits for its master's DEL.
    Hide,
    /// A replica applying its master's stream: nothing has expired until the master's DEL
    /// says so (Redis' expireIfNeeded for the master client), so the master's writes and
    /// deletes reach the keys the master still has.
    Keep,
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn expires_len(&self) -> usize {
        self.expiry.len()
    }

    fn live(entry: &Entry, now_ms: u64) -> bool {
        entry.expire_at_ms.is_none_or(|t| t > now_ms)
    }

    /// Whether a lookup in `mode` sees the entry.
    fn visible(entry: &Entry, now_ms: u64, mode: ExpiryMode) -> bool {
        mode == ExpiryMode::Keep || Self::live(entry, now_ms)
    }

    /// Read lookup, applying lazy expiry and updating the key's access clock. Does not count
    /// hits/misses.
    pub fn get(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<&Entry> {
        self.expire_if_needed(key, now_ms, mode);
        let e = self.map.get_mut(&probe(key) as &dyn KeyRef)?;
        if !Self::visible(e, now_ms, mode) {
            return None;
        }
        self.access.touch(&mut e.meta, now_ms);
        Some(e)
    }

    /// The entry as stored, even if its time passed (DEBUG DIGEST-VALUE).
    pub fn raw(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(&probe(key) as &dyn KeyRef).map(|e| &**e)
    }

    /// After a command wrote `key`: records the encoding its value reached (one-way
    /// conversions), the access time, and what the entry costs now.
    pub fn written(&mut self, key: &[u8], now_ms: u64, limits: &EncodingLimits) {
        if let Some(e) = self.map.get_mut(&probe(key) as &dyn KeyRef) {
            e.settle_encoding(limits);
            self.access.written(&mut e.meta, now_ms);
            let bytes = memsize::entry_bytes(key, e);
            self.bytes = self.bytes - e.meta.bytes + bytes;
            e.meta.bytes = bytes;
        }
    }

    /// What this database holds in memory: its entries and, per key and per key with a time to
    /// live, a dict entry and bucket share.
    pub fn used_bytes(&self) -> usize {
        self.bytes + self.len() * memsize::DICT_SLOT + self.overhead_expires()
    }

    /// The dicts' own share of `used_bytes` (INFO's overhead.hashtable.main and .expires).
    pub fn overhead_bytes(&self) -> usize {
        self.len() * (memsize::DICT_ENTRY + memsize::DICT_SLOT) + self.overhead_expires()
    }

    fn overhead_expires(&self) -> usize {
        self.expires_len() * (memsize::DICT_ENTRY + memsize::DICT_SLOT)
    }

    /// Write lookup: lazy expiry, then a mutable entry. Marks the key touched for WATCH.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<&mut Entry> {
        self.expire_if_needed(key, now_ms, mode);
        self.touch(key);
        let e = self.map.get_mut(&probe(key) as &dyn KeyRef)?;
        if !Self::visible(e, now_ms, mode) {
            return None;
        }
        self.access.touch(&mut e.meta, now_ms);
        Some(e)
    }

    /// Existing entry or a new one made by `make` (with no expiry).
    pub fn get_or_insert_with(
        &mut self,
        key: &Bytes,
        now_ms: u64,
        mode: ExpiryMode,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        if self.get(key, now_ms, mode).is_none() {
            self.insert(key.clone(), make(), None);
        }
        self.touch(key);
        self.map
            .get_mut(&probe(key) as &dyn KeyRef)
            .expect("entry just ensured")
    }

    /// Sets a key, replacing any value and expiry. A replaced value passes its LRU/LFU clock
    /// on, as Redis' dbSetValue does.
    pub fn insert(&mut self, key: Bytes, value: Value, expire_at_ms: Option<u64>) {
        self.touch(&key);
        let hk = HKey::new(&key);
        let mut entry = Entry::new(value, expire_at_ms);
        if let Some(old) = self.map.get(&hk) {
            if let Some(t) = old.expire_at_ms {
                self.expiry.remove(&(t, hk.clone()));
            }
            self.bytes -= old.meta.bytes;
            let m = &mut entry.meta;
            (m.access_ms, m.lfu_count, m.lfu_min) =
                (old.meta.access_ms, old.meta.lfu_count, old.meta.lfu_min);
        }
        if let Some(t) = expire_at_ms {
            self.expiry.insert((t, hk.clone()));
        }
        entry.meta.bytes = memsize::entry_bytes(&hk.key, &entry);
        self.bytes += entry.meta.bytes;
        self.map.insert(hk, Box::new(entry));
    }

    /// `Entry::set_string_raw` on a key the caller has already looked up for writing.
    pub fn set_string_raw(&mut self, key: &[u8], raw: bool) {
        if let Some(e) = self.map.get_mut(&probe(key) as &dyn KeyRef) {
            e.set_string_raw(raw);
        }
    }

    /// Removes a key if it exists (expired keys count as absent).
    pub fn remove(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<Entry> {
        self.expire_if_needed(key, now_ms, mode);
        let e = self.map.get(&probe(key) as &dyn KeyRef)?;
        if !Self::visible(e, now_ms, mode) {
            return None;
        }
        self.touch(key);
        self.remove_raw(key)
    }

    fn remove_raw(&mut self, key: &[u8]) -> Option<Entry> {
        let (hk, e) = self.map.remove_entry(&probe(key) as &dyn KeyRef)?;
        if let Some(t) = e.expire_at_ms {
            self.expiry.remove(&(t, hk));
        }
        self.bytes -= e.meta.bytes;
        Some(*e)
    }

    /// Deletes the key if its aggregate became empty (after LPOP, SREM, ...).
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if self
            .map
            .get(&probe(key) as &dyn KeyRef)
            .is_some_and(|e| e.value.is_empty_aggregate())
        {
            self.remove_raw(key);
        }
    }

    /// Sets or clears the expiry of an existing live key. Returns false if the key is absent.
    pub fn set_expire(
        &mut self,
        key: &[u8],
        at_ms: Option<u64>,
        now_ms: u64,
        mode: ExpiryMode,
    ) -> bool {
        let Some(e) = self.get_mut(key, now_ms, mode) else {
            return false;
        };
        let old = std::mem::replace(&mut e.expire_at_ms, at_ms);
        let hk = HKey::new(key);
        if let Some(t) = old {
            self.expiry.remove(&(t, hk.clone()));
        }
        if let Some(t) = at_ms {
            self.expiry.insert((t, hk));
        }
        true
    }

    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) {
        if mode != ExpiryMode::Delete {
            return;
        }
        let expired = self
            .map
            .get(&probe(key) as &dyn KeyRef)
            .is_some_and(|e| !Self::live(e, now_ms));
        if expired {
            self.touch_as(key, false);
            self.remove_raw(key);
            self.expired.push(Bytes::copy_from_slice(key));
        }
    }

    /// Active expiry: deletes up to `budget` keys whose time has come. Returns how many it deleted.
    pub fn expire_cycle(&mut self, now_ms: u64, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            let Some((t, hk)) = self.expiry.first().cloned() else {
                break;
            };
            if t > now_ms {
                break;
            }
            self.touch_as(&hk.key, false);
            self.remove_raw(&hk.key);
            self.expired.push(hk.key.to_bytes());
            n += 1;
        }
        n
    }

    /// A writable replica's own client set an expiry on `key`.
    pub fn remember_own_expire(&mut self, key: &[u8]) {
        if self.own_expires.len() < MAX_OWN_EXPIRES {
            self.own_expires.insert(Bytes::copy_from_slice(key));
        }
    }

    /// Deletes the replica's own keys whose time has come, forgetting keys that no longer
    /// expire. Returns how many it deleted.
    pub fn expire_own_keys(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        for key in std::mem::take(&mut self.own_expires) {
            match self
                .map
                .get(&probe(&key) as &dyn KeyRef)
                .and_then(|e| e.expire_at_ms)
            {
                Some(t) if t <= now_ms => {
                    self.touch_as(&key, false);
                    self.remove_raw(&key);
                    n += 1;
                }
                Some(_) => {
                    self.own_expires.insert(key);
                }
                None => {}
            }
        }
        n
    }

    /// Live keys in hash order (KEYS, FLUSH bookkeeping, digests).
    pub fn iter_live(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map
            .iter()
            .filter(move |(_, e)| Self::live(e, now_ms))
            .map(|(k, e)| (&*k.key, &**e))
    }

    /// Adds loaded entries (a snapshot being loaded). An empty database is built in bulk from the
    /// sorted entries, much faster than key-by-key inserts; otherwise each entry is inserted.
    pub fn load(&mut self, entries: Vec<(Bytes, Entry)>) {
        if !self.map.is_empty() || self.snap.is_some() || !self.watched.is_empty() {
            for (k, e) in entries {
                self.insert(k, e.value, e.expire_at_ms);
            }
            return;
        }
        // `collect` sorts and builds the tree in bulk (a later duplicate replaces an earlier one).
        self.map = entries
            .into_iter()
            .map(|(k, mut e)| {
                e.meta.bytes = memsize::entry_bytes(&k, &e);
                (HKey::new(&k), Box::new(e))
            })
            .collect();
        self.bytes = self.map.values().map(|e| e.meta.bytes).sum();
        self.expiry = self
            .map
            .iter()
            .filter_map(|(k, e)| e.expire_at_ms.map(|t| (t, k.clone())))
            .collect();
    }

    /// Every entry in hash order, including keys whose time passed but are not deleted yet
    /// (what a save writes, as Redis does).
    pub fn iter_all(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|(k, e)| (&*k.key, &**e))
    }

    /// One SCAN step from `cursor`: at least `count` keys, expired ones too (all keys sharing the last hash are
    /// included so none is skipped) and the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        let mut keys = Vec::new();
        let mut last_hash = None;
        let start = HKey::first_at(cursor);
        for (k, _) in self.map.range(start..) {
            if keys.len() >= count.max(1) && last_hash != Some(k.hash) {
                return (k.hash, keys);
            }
            last_hash = Some(k.hash);
            keys.push(k.key.to_bytes());
        }
        (0, keys)
    }

    /// SCAN's check of a key it visited: lazy expiry (without touching the access clock), then
    /// whether a lookup in `mode` still sees the key.
    pub fn still_live(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> bool {
        self.expire_if_needed(key, now_ms, mode);
        self.map
            .get(&probe(key) as &dyn KeyRef)
            .is_some_and(|e| Self::visible(e, now_ms, mode))
    }

    /// A random live key chosen from `r` (a uniform u64 from the server's seeded RNG).
    pub fn random_key(&self, r: u64, now_ms: u64) -> Option<Bytes> {
        let start = HKey::first_at(r);
        self.map
            .range(start..)
            .chain(self.map.iter())
            .find(|(_, e)| Self::live(e, now_ms))
            .map(|(k, _)| k.key.to_bytes())
    }

    /// Empties the database, touching the watched keys it held.
    pub fn clear(&mut self) {
        self.detach_for_snapshot();
        let present = self.watched.keys().filter(|k| self.contains_raw(k));
        let watched: Vec<Bytes> = present.cloned().collect();
        self.touched.extend(watched);
        if self.track_changes {
            self.changes.push(Change::Flush);
        }
        self.map.clear();
        self.expiry.clear();
        self.bytes = 0;
    }

    pub fn watch(&mut self, key: Bytes) {
        *self.watched.entry(key).or_insert(0) += 1;
    }

    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(n) = self.watched.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// Called before any change to `key`: notes it for WATCH and, during a snapshot, captures
    /// its old entry if the snapshot has not written it yet.
    fn touch(&mut self, key: &[u8]) {
        self.touch_as(key, true);
    }

    /// `touch` for a change by the command running (`by_command`) or by the server itself.
    fn touch_as(&mut self, key: &[u8], by_command: bool) {
        if !self.watched.is_empty() && self.watched.contains_key(key) {
            self.touched.push(Bytes::copy_from_slice(key));
        }
        if self.track_changes {
            let key = Bytes::copy_from_slice(key);
            self.changes.push(Change::Key { key, by_command });
        }
        let Some(snap) = self.snap.as_mut().filter(|s| s.detached.is_none()) else {
            return;
        };
        let hk = HKey::new(key);
        if snap.cursor.as_ref().is_some_and(|c| &hk <= c) || snap.settled.contains(&hk) {
            return;
        }
        if let Some(e) = self.map.get(&hk) {
            snap.early.push((hk.key.to_bytes(), (**e).clone()));
        }
        snap.settled.insert(hk);
    }

    /// The key is stored but its time has passed (not deleted yet): Redis' `keyIsExpired`.
    pub fn is_stale(&self, key: &[u8], now_ms: u64) -> bool {
        self.raw(key).is_some_and(|e| !Self::live(e, now_ms))
    }

    /// True if the key exists, including keys whose time passed but are not deleted yet
    /// (what WATCH compares against).
    pub fn contains_raw(&self, key: &[u8]) -> bool {
        self.map.contains_key(&probe(key) as &dyn KeyRef)
    }

    /// SWAPDB: exchanges all keys and expiries with `other`. WATCH stays with the database
    /// number, so every watched key present on either side counts as modified.
    pub fn swap_contents(&mut self, other: &mut Db) {
        self.detach_for_snapshot();
        other.detach_for_snapshot();
        let present = |db: &Db, a: &Db, b: &Db| -> Vec<Bytes> {
            db.watched
                .keys()
                .filter(|k| a.contains_raw(k) || b.contains_raw(k))
                .cloned()
                .collect()
        };
        let mine = present(self, self, other);
        let theirs = present(other, self, other);
        self.touched.extend(mine);
        other.touched.extend(theirs);
        std::mem::swap(&mut self.map, &mut other.map);
        std::mem::swap(&mut self.expiry, &mut other.expiry);
        std::mem::swap(&mut self.bytes, &mut other.bytes);
    }
}

/// All databases plus the counters INFO shows.
#[derive(Debug)]
pub struct Keyspace {
    pub dbs: Vec<Db>,
    pub stats: KeyspaceStats,
    pub mode: ExpiryMode,
    /// The `notify-keyspace-events` classes (`notify::*` flags).
    pub notify: u32,
    /// Keyspace events queued by the running command, published after it.
    pub events: Vec<notify::KeyEvent>,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KeyspaceStats::default(),
            mode: ExpiryMode::Delete,
            notify: 0,
            events: Vec::new(),
        }
    }
    /// Whether events of `class` are published at all.
    pub fn notifies(&self, class: u32) -> bool {
        self.notify & class != 0 && self.notify & (notify::KEYSPACE | notify::KEYEVENT) != 0
    }
    /// Queues a keyspace event (Redis' notifyKeyspaceEvent) if its class is enabled.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8], db: usize) {
        if self.notifies(class) {
            let key = Bytes::copy_from_slice(key);
            self.events.push(notify::KeyEvent {
                class,
                event,
                key,
                db,
            });
        }
    }
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
    /// What all databases hold in memory (`Db::used_bytes`).
    pub fn used_bytes(&self) -> usize {
        self.dbs.iter().map(Db::used_bytes).sum()
    }
    /// Gives every database the same aging settings, keeping each one's coin-flip sequence.
    pub fn set_access(&mut self, settings: &Access) {
        for db in &mut self.dbs {
            db.access.adopt(settings);
        }
    }
    /// Seeds each database's LFU coin flips from `next` (the server's seeded RNG).
    pub fn seed_access(&mut self, mut next: impl FnMut() -> u64) {
        for db in &mut self.dbs {
            db.access.seed(next());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Into::into(Bytes::copy_from_slice(v.as_bytes())))
    }

    #[test]
    fn lazy_expiry_on_master_deletes_and_on_replica_hides() {
        let mut db = Db::default();
        db.insert(Bytes::from("k"), s("v"), Some(1000));
        assert!(db.get(b"k", 999, ExpiryMode::Delete).is_some());
        assert!(db.get(b"k", 1000, ExpiryMode::Hide).is_none());
        assert_eq!(db.len(), 1, "a replica waits for its master's DEL");
        assert!(db.get(b"k", 1000, ExpiryMode::Delete).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.expired, vec![Bytes::from("k")]);
    }

    #[test]
    fn active_expiry_removes_due_keys_in_time_order() {
        let mut db = Db::default();
        for i in 0..10u64 {
            db.insert(Bytes::from(format!("k{i}")), s("v"), Some(100 + i));
        }
        db.insert(Bytes::from("forever"), s("v"), None);
        assert_eq!(db.expire_cycle(104, 3), 3);
        assert_eq!(db.expire_cycle(104, 100), 2);
        assert_eq!(db.len(), 6);
        assert_eq!(db.expires_len(), 5);
    }

    #[test]
    fn scan_visits_every_key_once_despite_deletions() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.insert(Bytes::from(format!("key:{i}")), s("v"), None);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let (next, keys) = db.scan(cursor, 10);
            for k in keys {
                assert!(seen.insert(k), "duplicate");
            }
            // Delete a key that was already returned: nothing present throughout may be skipped.
            if round % 3 == 0 {
                if let Some(k) = seen.iter().next().cloned() {
                    db.remove(&k, 0, ExpiryMode::Delete);
                }
            }
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn watch_sees_writes_to_watched_keys_only() {
        let mut db = Db::default();
        db.watch(Bytes::from("w"));
        db.insert(Bytes::from("other"), s("1"), None);
        assert!(db.touched.is_empty());
        db.insert(Bytes::from("w"), s("1"), None);
        assert_eq!(db.touched, vec![Bytes::from("w")]);
    }
}
