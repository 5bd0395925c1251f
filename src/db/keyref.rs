//! Key order: keys are stored by (fixed 64-bit hash, bytes), and maps can be queried with a
//! borrowed `(hash, &[u8])` without allocating.

use super::compact::CompactBytes;
use std::borrow::Borrow;
use std::cmp::Ordering;

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
    pub key: CompactBytes,
}

impl HKey {
    pub fn new(key: &[u8]) -> Self {
        HKey {
            hash: key_hash(key),
            key: CompactBytes::new(key),
        }
    }
    /// The first key of hash order at `hash` (a range bound).
    pub fn first_at(hash: u64) -> Self {
        HKey {
            hash,
            key: CompactBytes::new(b""),
        }
    }
}

/// Lets the maps be queried with a borrowed `(hash, &[u8])` without allocating.
pub(super) trait KeyRef {
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

pub(super) fn probe(key: &[u8]) -> (u64, &[u8]) {
    (key_hash(key), key)
}
