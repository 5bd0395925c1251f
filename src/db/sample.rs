//! What eviction looks at: a few neighbouring keys from a random place in a database (Redis'
//! dictGetSomeKeys), among all keys or among those with a time to live, and the deletion of the
//! key it chose.

use super::keyref::HKey;
use super::{Db, Entry};

impl Db {
    /// Up to `n` distinct keys with their entries, in hash order from the random point `r` on
    /// (wrapping), among all keys or among keys with a time to live.
    pub fn sample(&self, r: u64, n: usize, volatile: bool) -> Vec<(&[u8], &Entry)> {
        let start = HKey::first_at(r);
        if volatile {
            let keys = &self.expiry.by_hash;
            let from = keys.range(start..).chain(keys.iter());
            return from
                .take(n.min(keys.len()))
                .filter_map(|hk| self.map.get_key_value(hk))
                .map(|(k, e)| (&*k.key, &**e))
                .collect();
        }
        let from = self.map.range(start..).chain(self.map.iter());
        from.take(n.min(self.map.len()))
            .map(|(k, e)| (&*k.key, &**e))
            .collect()
    }

    /// Deletes a key chosen for eviction (WATCH sees it, a snapshot keeps its old value);
    /// returns the bytes that freed.
    pub fn evict(&mut self, key: &[u8]) -> usize {
        let before = self.used_bytes();
        self.touch_as(key, false);
        self.remove_raw(key);
        before - self.used_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Value;
    use bytes::Bytes;

    #[test]
    fn samples_are_distinct_and_volatile_ones_have_a_ttl() {
        let mut db = Db::default();
        for i in 0..20u64 {
            let ttl = (i % 2 == 0).then_some(1000 + i);
            db.insert(
                Bytes::from(format!("k{i}")),
                Value::Str(Into::into(Bytes::from("v"))),
                ttl,
            );
        }
        for r in [0, 7, u64::MAX / 3, u64::MAX] {
            let all = db.sample(r, 30, false);
            assert_eq!(all.len(), 20);
            let vol = db.sample(r, 5, true);
            assert_eq!(vol.len(), 5);
            assert!(vol.iter().all(|(_, e)| e.expire_at_ms.is_some()));
        }
        let before = db.used_bytes();
        let freed = db.evict(b"k3");
        assert_eq!(db.used_bytes(), before - freed);
        assert!(freed > 50 && db.len() == 19);
    }
}
