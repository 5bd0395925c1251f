//! The index of keys with a time to live: by expiry time (active expiry takes the earliest) and
//! by hash (eviction's volatile policies sample it uniformly, as Redis samples its expires dict).

use super::keyref::HKey;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Expiries {
    by_time: BTreeSet<(u64, HKey)>,
    pub(super) by_hash: BTreeSet<HKey>,
}

impl Expiries {
    pub fn insert(&mut self, (t, hk): (u64, HKey)) {
        self.by_hash.insert(hk.clone());
        self.by_time.insert((t, hk));
    }
    pub fn remove(&mut self, item: &(u64, HKey)) {
        if self.by_time.remove(item) {
            self.by_hash.remove(&item.1);
        }
    }
    /// The key expiring first.
    pub fn first(&self) -> Option<&(u64, HKey)> {
        self.by_time.first()
    }
    pub fn len(&self) -> usize {
        self.by_time.len()
    }
    pub fn clear(&mut self) {
        self.by_time.clear();
        self.by_hash.clear();
    }
}

impl FromIterator<(u64, HKey)> for Expiries {
    fn from_iter<I: IntoIterator<Item = (u64, HKey)>>(items: I) -> Self {
        let by_time: BTreeSet<(u64, HKey)> = items.into_iter().collect();
        let by_hash = by_time.iter().map(|(_, hk)| hk.clone()).collect();
        Expiries { by_time, by_hash }
    }
}
