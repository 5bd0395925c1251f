//! Point-in-time snapshots of a live database (BGSAVE, full sync) without copying it.
//!
//! Copy-on-write at key granularity: the snapshot iterator walks keys in order; a key it has not
//! reached yet gets its old entry captured (`early`) right before its first modification (see
//! `Db::touch`), and a key created after the snapshot started is skipped. FLUSHDB and SWAPDB
//! keep the whole old map for the snapshot.

use super::{Db, Entry, HKey};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

#[derive(Debug, Default)]
pub(super) struct Snapshot {
    /// Last key the iterator emitted: keys up to it are written.
    pub(super) cursor: Option<HKey>,
    /// Keys already dealt with out of order: captured early, or created after the start.
    pub(super) settled: BTreeSet<HKey>,
    /// Pre-modification entries waiting to be written.
    pub(super) early: Vec<(Bytes, Entry)>,
    /// The map as it was, when the database was emptied or swapped mid-snapshot.
    pub(super) detached: Option<BTreeMap<HKey, Box<Entry>>>,
    /// Keys and expires when the snapshot started (RESIZEDB hint).
    start_len: (usize, usize),
}

impl Db {
    /// Keeps the current map for an in-progress snapshot before the whole database changes.
    pub(super) fn detach_for_snapshot(&mut self) {
        if let Some(snap) = self.snap.as_mut().filter(|s| s.detached.is_none()) {
            snap.detached = Some(self.map.clone());
        }
    }

    /// Starts a point-in-time snapshot of this database.
    pub fn snapshot_begin(&mut self) {
        self.snap = Some(Snapshot {
            start_len: (self.map.len(), self.expiry.len()),
            ..Default::default()
        });
    }

    /// Keys and expires at the start of the snapshot.
    pub fn snapshot_len(&self) -> (usize, usize) {
        self.snap.as_ref().map_or((0, 0), |s| s.start_len)
    }

    /// Entries captured before their first modification since the last call.
    pub fn snapshot_take_early(&mut self) -> Vec<(Bytes, Entry)> {
        self.snap
            .as_mut()
            .map(|s| std::mem::take(&mut s.early))
            .unwrap_or_default()
    }

    /// Emits up to `budget` snapshot entries in key order. Returns true once every key is written
    /// (early captures excepted: take them with `snapshot_take_early`).
    pub fn snapshot_step(&mut self, budget: usize, mut emit: impl FnMut(&[u8], &Entry)) -> bool {
        let Db { map, snap, .. } = self;
        let Some(snap) = snap.as_mut() else {
            return true;
        };
        let source = snap.detached.as_ref().unwrap_or(map);
        let range = match &snap.cursor {
            Some(c) => source.range((Bound::Excluded(c.clone()), Bound::Unbounded)),
            None => source.range::<HKey, _>(..),
        };
        let mut last = None;
        for (k, e) in range.take(budget.max(1)) {
            if !snap.settled.contains(k) {
                emit(&k.key, e);
            }
            last = Some(k);
        }
        match last {
            Some(k) => {
                snap.cursor = Some(k.clone());
                false
            }
            None => true,
        }
    }

    /// Ends (or abandons) the snapshot.
    pub fn snapshot_end(&mut self) {
        self.snap = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExpiryMode, Value};
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Into::into(Bytes::copy_from_slice(v.as_bytes())))
    }

    /// Runs a snapshot to the end in `step`-sized slices, calling `between` after each slice.
    fn snapshot(
        db: &mut Db,
        step: usize,
        mut between: impl FnMut(&mut Db, usize),
    ) -> BTreeMap<Bytes, Value> {
        let mut out = BTreeMap::new();
        let mut put = |k: Bytes, v: Value| assert!(out.insert(k, v).is_none(), "written twice");
        db.snapshot_begin();
        let mut i = 0;
        while !db.snapshot_step(step, |k, e| put(Bytes::copy_from_slice(k), e.value.clone())) {
            db.snapshot_take_early()
                .into_iter()
                .for_each(|(k, e)| put(k, e.value));
            between(db, i);
            i += 1;
        }
        db.snapshot_take_early()
            .into_iter()
            .for_each(|(k, e)| put(k, e.value));
        db.snapshot_end();
        out
    }

    #[test]
    fn snapshot_is_point_in_time_while_writes_continue() {
        let mut db = Db::default();
        for i in 0..500 {
            db.insert(Bytes::from(format!("k{i}")), s("old"), None);
        }
        let before: BTreeMap<Bytes, Value> = db
            .iter_live(0)
            .map(|(k, e)| (Bytes::copy_from_slice(k), e.value.clone()))
            .collect();
        let snap = snapshot(&mut db, 7, |db, i| {
            db.insert(Bytes::from(format!("k{}", i * 13 % 500)), s("new"), None);
            db.remove(
                format!("k{}", i * 7 % 500).as_bytes(),
                0,
                ExpiryMode::Delete,
            );
            db.insert(Bytes::from(format!("fresh{i}")), s("new"), None);
        });
        assert_eq!(snap, before);
        assert!(db.iter_live(0).any(|(_, e)| e.value == s("new")));
    }

    #[test]
    fn snapshot_survives_flush_midway() {
        let mut db = Db::default();
        for i in 0..100 {
            db.insert(Bytes::from(format!("k{i}")), s("v"), None);
        }
        let snap = snapshot(&mut db, 10, |db, i| {
            if i == 3 {
                db.clear();
                db.insert(Bytes::from("after"), s("x"), None);
            }
        });
        assert_eq!(snap.len(), 100);
        assert_eq!(db.len(), 1);
    }
}
