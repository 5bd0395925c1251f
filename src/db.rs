//! The keyspace: 16 (configurable) databases of typed values with absolute-time expiry.
//!
//! Keys live in a `BTreeMap` ordered by (fixed 64-bit hash, key bytes). That order is deterministic
//! across runs (KEYS, SCAN and RANDOMKEY reach the wire, and simulations must replay), looks as
//! unordered as Redis' dict, and gives SCAN a plain integer cursor (the hash to resume from) that
//! keeps Redis' guarantee: a key present during the whole scan is returned. A second index ordered by
//! expiry time drives active expiry without sampling.
//!
//! All mutation goes through `Db` methods so that WATCH sees every modified key (`touched`).

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A sorted set: member -> score, plus (score, member) order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    pub scores: IndexMap<Bytes, f64>,
    pub order: BTreeSet<(Score, Bytes)>,
}

/// A score with a total order (NaN never enters a sorted set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl ZSet {
    /// Inserts or updates; returns true when the member is new.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        match self.scores.insert(member.clone(), score) {
            Some(old) => {
                self.order.remove(&(Score(old), member.clone()));
                self.order.insert((Score(score), member));
                false
            }
            None => {
                self.order.insert((Score(score), member));
                true
            }
        }
    }
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.shift_remove(member) {
            Some(old) => {
                self.order
                    .remove(&(Score(old), Bytes::copy_from_slice(member)));
                true
            }
            None => false,
        }
    }
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Removes and returns the member with the highest (or lowest) score.
    pub fn pop_edge(&mut self, highest: bool) -> Option<(Bytes, f64)> {
        let (score, member) = if highest {
            self.order.pop_last()?
        } else {
            self.order.pop_first()?
        };
        self.scores.shift_remove(&member);
        Some((member, score.0))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Bytes),
    List(VecDeque<Bytes>),
    /// Insertion order, as Redis' listpack encoding shows it for small hashes.
    Hash(IndexMap<Bytes, Bytes>),
    Set(IndexSet<Bytes>),
    ZSet(ZSet),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }
    /// True for an aggregate with no elements: such keys must not exist.
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute unix time in ms (Redis keeps expiry on the wall clock).
    pub expire_at_ms: Option<u64>,
}

/// The fixed key hash: FNV-1a folded through a splitmix64 finaliser. Deterministic on purpose.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A key in hash order.
#[derive(Clone, Debug)]
pub struct HKey {
    pub hash: u64,
    pub key: Bytes,
}

impl HKey {
    pub fn new(key: Bytes) -> Self {
        HKey {
            hash: key_hash(&key),
            key,
        }
    }
}

/// Lets the maps be queried with a borrowed `(hash, &[u8])` without allocating.
trait KeyRef {
    fn parts(&self) -> (u64, &[u8]);
}
impl KeyRef for HKey {
    fn parts(&self) -> (u64, &[u8]) {
        (self.hash, &self.key)
    }
}
impl KeyRef for (u64, &[u8]) {
    fn parts(&self) -> (u64, &[u8]) {
        (self.0, self.1)
    }
}
impl<'a> Borrow<dyn KeyRef + 'a> for HKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}
impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, o: &Self) -> bool {
        self.parts() == o.parts()
    }
}
impl Eq for dyn KeyRef + '_ {}
impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, o: &Self) -> Ordering {
        self.parts().cmp(&o.parts())
    }
}
impl PartialEq for HKey {
    fn eq(&self, o: &Self) -> bool {
        self.parts() == o.parts()
    }
}
impl Eq for HKey {}
impl PartialOrd for HKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for HKey {
    fn cmp(&self, o: &Self) -> Ordering {
        self.parts().cmp(&o.parts())
    }
}

fn probe(key: &[u8]) -> (u64, &[u8]) {
    (key_hash(key), key)
}

/// Counters INFO reports, shared by all databases.
#[derive(Clone, Debug, Default)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
}

/// One database.
#[derive(Debug, Default)]
pub struct Db {
    map: BTreeMap<HKey, Entry>,
    expiry: BTreeSet<(u64, HKey)>,
    /// Keys some client WATCHes (with a count of watchers).
    watched: BTreeMap<Bytes, usize>,
    /// Watched keys modified since the server last drained them.
    pub touched: Vec<Bytes>,
    /// Keys removed by expiry since last drained (a master propagates them as DEL).
    pub expired: Vec<Bytes>,
}

/// How lookups treat keys whose time has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryMode {
    /// A master deletes them on access.
    Delete,
    /// A replica hides them from readers but waits for its master's DEL.
    Hide,
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

    /// Read lookup, applying lazy expiry. Does not count hits/misses.
    pub fn get(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<&Entry> {
        self.expire_if_needed(key, now_ms, mode);
        let e = self.map.get(&probe(key) as &dyn KeyRef)?;
        Self::live(e, now_ms).then_some(e)
    }

    /// Write lookup: lazy expiry, then a mutable entry. Marks the key touched for WATCH.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<&mut Entry> {
        self.expire_if_needed(key, now_ms, mode);
        self.touch(key);
        let e = self.map.get_mut(&probe(key) as &dyn KeyRef)?;
        Self::live(e, now_ms).then_some(e)
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

    /// Sets a key, replacing any value and expiry.
    pub fn insert(&mut self, key: Bytes, value: Value, expire_at_ms: Option<u64>) {
        self.touch(&key);
        let hk = HKey::new(key);
        if let Some(old) = self.map.get(&hk) {
            if let Some(t) = old.expire_at_ms {
                self.expiry.remove(&(t, hk.clone()));
            }
        }
        if let Some(t) = expire_at_ms {
            self.expiry.insert((t, hk.clone()));
        }
        self.map.insert(
            hk,
            Entry {
                value,
                expire_at_ms,
            },
        );
    }

    /// Removes a key if it exists (expired keys count as absent).
    pub fn remove(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<Entry> {
        self.expire_if_needed(key, now_ms, mode);
        let e = self.map.get(&probe(key) as &dyn KeyRef)?;
        if !Self::live(e, now_ms) {
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
        Some(e)
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
        let hk = HKey::new(Bytes::copy_from_slice(key));
        if let Some(t) = old {
            self.expiry.remove(&(t, hk.clone()));
        }
        if let Some(t) = at_ms {
            self.expiry.insert((t, hk));
        }
        true
    }

    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64, mode: ExpiryMode) {
        if mode == ExpiryMode::Hide {
            return;
        }
        let expired = self
            .map
            .get(&probe(key) as &dyn KeyRef)
            .is_some_and(|e| !Self::live(e, now_ms));
        if expired {
            self.touch(key);
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
            self.touch(&hk.key);
            self.remove_raw(&hk.key);
            self.expired.push(hk.key);
            n += 1;
        }
        n
    }

    /// Live keys in hash order (KEYS, FLUSH bookkeeping, digests).
    pub fn iter_live(&self, now_ms: u64) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.map
            .iter()
            .filter(move |(_, e)| Self::live(e, now_ms))
            .map(|(k, e)| (&k.key, e))
    }

    /// One SCAN step from `cursor`: at least `count` keys (all keys sharing the last hash are
    /// included so none is skipped) and the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, now_ms: u64) -> (u64, Vec<Bytes>) {
        let mut keys = Vec::new();
        let mut last_hash = None;
        let start = HKey {
            hash: cursor,
            key: Bytes::new(),
        };
        for (k, e) in self.map.range(start..) {
            if keys.len() >= count.max(1) && last_hash != Some(k.hash) {
                return (k.hash, keys);
            }
            last_hash = Some(k.hash);
            if Self::live(e, now_ms) {
                keys.push(k.key.clone());
            }
        }
        (0, keys)
    }

    /// A random live key chosen from `r` (a uniform u64 from the server's seeded RNG).
    pub fn random_key(&self, r: u64, now_ms: u64) -> Option<Bytes> {
        let start = HKey {
            hash: r,
            key: Bytes::new(),
        };
        self.map
            .range(start..)
            .chain(self.map.iter())
            .find(|(_, e)| Self::live(e, now_ms))
            .map(|(k, _)| k.key.clone())
    }

    /// Empties the database, touching every watched key.
    pub fn clear(&mut self) {
        let watched: Vec<Bytes> = self.watched.keys().cloned().collect();
        self.touched.extend(watched);
        self.map.clear();
        self.expiry.clear();
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

    fn touch(&mut self, key: &[u8]) {
        if !self.watched.is_empty() && self.watched.contains_key(key) {
            self.touched.push(Bytes::copy_from_slice(key));
        }
    }

    /// True if the key exists, including keys whose time passed but are not deleted yet
    /// (what WATCH compares against).
    pub fn contains_raw(&self, key: &[u8]) -> bool {
        self.map.contains_key(&probe(key) as &dyn KeyRef)
    }

    /// Typed read lookup (lazy expiry, no hit/miss counting): `Ok(None)` when the key is absent,
    /// `Err(WRONGTYPE)` when `pick` rejects its value.
    pub fn get_as<T: ?Sized>(
        &mut self,
        key: &[u8],
        now_ms: u64,
        mode: ExpiryMode,
        pick: impl FnOnce(&Value) -> Option<&T>,
    ) -> Result<Option<&T>, &'static str> {
        match self.get(key, now_ms, mode) {
            None => Ok(None),
            Some(e) => pick(&e.value).map(Some).ok_or(WRONGTYPE),
        }
    }

    /// Typed write lookup: like `get_as`, but mutable. The key is marked touched (for WATCH) only
    /// when it exists with the right type, as Redis signals only keys a command may modify.
    pub fn get_as_mut<T: ?Sized>(
        &mut self,
        key: &[u8],
        now_ms: u64,
        mode: ExpiryMode,
        pick: impl Fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<&mut T>, &'static str> {
        self.expire_if_needed(key, now_ms, mode);
        match self.map.get_mut(&probe(key) as &dyn KeyRef) {
            Some(e) if Self::live(e, now_ms) => {
                if pick(&mut e.value).is_none() {
                    return Err(WRONGTYPE);
                }
            }
            _ => return Ok(None),
        }
        self.touch(key);
        Ok(self
            .map
            .get_mut(&probe(key) as &dyn KeyRef)
            .and_then(|e| pick(&mut e.value)))
    }

    /// Typed write lookup that first creates the key as `make()` (no expiry) when it is absent.
    /// Callers must `remove_if_empty` afterwards if they may leave the new value empty.
    pub fn get_or_create_as<T: ?Sized>(
        &mut self,
        key: &Bytes,
        now_ms: u64,
        mode: ExpiryMode,
        make: impl FnOnce() -> Value,
        pick: impl Fn(&mut Value) -> Option<&mut T>,
    ) -> Result<&mut T, &'static str> {
        if self.get(key, now_ms, mode).is_none() {
            self.insert(key.clone(), make(), None);
        }
        // The key exists now, so `None` cannot happen; it maps to the type error for safety.
        self.get_as_mut(key, now_ms, mode, pick)?.ok_or(WRONGTYPE)
    }

    /// Side-effect free lookup of a live key (no lazy expiry, no touch): for commands that hold
    /// several values at once (SINTER, SUNION, ...) after looking each key up normally.
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.map
            .get(&probe(key) as &dyn KeyRef)
            .filter(|e| Self::live(e, now_ms))
    }

    /// SWAPDB: exchanges all keys and expiries with `other`. WATCH stays with the database
    /// number, so every watched key present on either side counts as modified.
    pub fn swap_contents(&mut self, other: &mut Db) {
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
    }
}

/// All databases plus the counters INFO shows.
#[derive(Debug)]
pub struct Keyspace {
    pub dbs: Vec<Db>,
    pub stats: KeyspaceStats,
    pub mode: ExpiryMode,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KeyspaceStats::default(),
            mode: ExpiryMode::Delete,
        }
    }
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Bytes::copy_from_slice(v.as_bytes()))
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
            let (next, keys) = db.scan(cursor, 10, 0);
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
