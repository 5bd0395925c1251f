//! Typed lookups for the aggregate commands: the WRONGTYPE check folded into the lookup.

use super::keyref::{probe, KeyRef};
use super::{Db, Entry, ExpiryMode, Value, WRONGTYPE};
use bytes::Bytes;

impl Db {
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
            Some(e) if Self::visible(e, now_ms, mode) => {
                self.access.touch(&mut e.meta, now_ms);
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
    pub fn peek(&self, key: &[u8], now_ms: u64, mode: ExpiryMode) -> Option<&Entry> {
        self.map
            .get(&probe(key) as &dyn KeyRef)
            .map(|e| &**e)
            .filter(|e| Self::visible(e, now_ms, mode))
    }
}
