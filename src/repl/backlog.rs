//! The replication backlog: the last `repl-backlog-size` bytes of the replication stream, kept
//! so that a replica that lost its link can continue with PSYNC instead of a full resync.
//!
//! Offsets follow Redis: `master_repl_offset` is the offset of the last byte produced (a new
//! backlog created at offset N holds nothing and its first byte will be N+1), the backlog holds
//! `histlen` bytes ending at `master_repl_offset`, so its first byte is
//! `master_repl_offset - histlen + 1` (`repl_backlog_first_byte_offset`). A PSYNC may ask for
//! any offset from the first byte up to `master_repl_offset + 1` (nothing to send).
//!
//! Storage is a ring (`VecDeque`) whose allocation never exceeds the configured size, whatever
//! is fed: feeding more than the size keeps only the newest bytes. Redis keeps whole 16 KB
//! blocks, so its histlen may briefly exceed the size by a block; this one is exact.

use bytes::Bytes;
use std::collections::VecDeque;

/// Redis' `CONFIG_REPL_BACKLOG_MIN_SIZE`: a smaller `repl-backlog-size` is raised to this.
pub const MIN_SIZE: usize = 16 * 1024;

/// A bounded replication backlog with its offsets.
#[derive(Clone, Debug)]
pub struct Backlog {
    ring: VecDeque<u8>,
    size: usize,
    master_repl_offset: i64,
}

impl Backlog {
    /// A new, empty backlog of `size` bytes (at least [`MIN_SIZE`]) whose next byte will be at
    /// offset `master_repl_offset + 1`, as `createReplicationBacklog` does.
    pub fn new(size: usize, master_repl_offset: i64) -> Backlog {
        Backlog {
            ring: VecDeque::new(),
            size: size.max(MIN_SIZE),
            master_repl_offset,
        }
    }

    /// The configured size (`repl_backlog_size` in INFO).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Offset of the last byte fed (`master_repl_offset`).
    pub fn master_repl_offset(&self) -> i64 {
        self.master_repl_offset
    }

    /// How many bytes are held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> i64 {
        self.ring.len() as i64
    }

    /// Offset of the oldest byte held (`repl_backlog_first_byte_offset`); for an empty backlog,
    /// the offset the next byte will have.
    pub fn first_byte_offset(&self) -> i64 {
        self.master_repl_offset
            .saturating_sub(self.histlen())
            .saturating_add(1)
    }

    /// Appends replication stream bytes: the offset advances by `data.len()`, the oldest bytes
    /// beyond the size are dropped.
    pub fn feed(&mut self, data: &[u8]) {
        self.master_repl_offset = self.master_repl_offset.saturating_add(data.len() as i64);
        let kept = &data[data.len().saturating_sub(self.size)..];
        let overflow = (self.ring.len() + kept.len()).saturating_sub(self.size);
        self.ring.drain(..overflow);
        let needed = self.ring.len() + kept.len();
        if needed > self.ring.capacity() {
            // Grow geometrically but never past the configured size.
            let target = needed.max(self.ring.capacity() * 2).min(self.size);
            self.ring.reserve_exact(target - self.ring.len());
        }
        self.ring.extend(kept);
    }

    /// Changes the size (at least [`MIN_SIZE`]); shrinking keeps the newest bytes, so the first
    /// byte offset moves forward.
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(MIN_SIZE);
        let overflow = self.ring.len().saturating_sub(self.size);
        self.ring.drain(..overflow);
        self.ring.shrink_to(self.size);
    }

    /// Whether a PSYNC from `offset` can be served: `first_byte_offset <= offset <=
    /// first_byte_offset + histlen` (the upper bound means "nothing missing").
    pub fn covers(&self, offset: i64) -> bool {
        offset >= self.first_byte_offset() && offset <= self.master_repl_offset.saturating_add(1)
    }

    /// The bytes from `offset` to the end, as at most two chunks (empty when `offset` is
    /// `master_repl_offset + 1`), or `None` when the backlog no longer (or never) held them.
    pub fn copy_from(&self, offset: i64) -> Option<Vec<Bytes>> {
        if !self.covers(offset) {
            return None;
        }
        let mut skip = (offset - self.first_byte_offset()) as usize;
        let (a, b) = self.ring.as_slices();
        let mut chunks = Vec::new();
        for part in [a, b] {
            let from = skip.min(part.len());
            skip -= from;
            if from < part.len() {
                chunks.push(Bytes::copy_from_slice(&part[from..]));
            }
        }
        Some(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(chunks: Vec<Bytes>) -> Vec<u8> {
        chunks.concat()
    }

    /// A stream where byte `i` (1-based offset) is a function of its offset, to check positions.
    fn stream(from_offset: i64, len: usize) -> Vec<u8> {
        (0..len as i64)
            .map(|i| ((from_offset + i) % 251) as u8)
            .collect()
    }

    #[test]
    fn a_new_backlog_starts_after_the_current_offset() {
        let b = Backlog::new(1 << 20, 1000);
        assert_eq!(b.master_repl_offset(), 1000);
        assert_eq!(b.first_byte_offset(), 1001);
        assert_eq!(b.histlen(), 0);
        assert_eq!(b.copy_from(1001), Some(vec![]));
        assert_eq!(b.copy_from(1000), None);
        assert_eq!(b.copy_from(1002), None);
    }

    #[test]
    fn sizes_below_16k_are_raised_like_redis() {
        assert_eq!(Backlog::new(1, 0).size(), MIN_SIZE);
        let mut b = Backlog::new(1 << 20, 0);
        b.resize(100);
        assert_eq!(b.size(), MIN_SIZE);
    }

    #[test]
    fn feeding_advances_the_offset_and_keeps_the_bytes() {
        let mut b = Backlog::new(MIN_SIZE, 0);
        b.feed(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(b.master_repl_offset(), 14);
        assert_eq!(b.first_byte_offset(), 1);
        assert_eq!(b.histlen(), 14);
        assert_eq!(joined(b.copy_from(1).unwrap()), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(joined(b.copy_from(9).unwrap()), b"PING\r\n");
        assert_eq!(b.copy_from(15), Some(vec![]));
        assert_eq!(b.copy_from(16), None);
        assert_eq!(b.copy_from(0), None);
    }

    #[test]
    fn old_bytes_fall_off_when_the_ring_wraps() {
        let mut b = Backlog::new(MIN_SIZE, 0);
        let data = stream(1, MIN_SIZE * 3 + 123);
        for piece in data.chunks(1000) {
            b.feed(piece);
        }
        let end = data.len() as i64;
        assert_eq!(b.master_repl_offset(), end);
        assert_eq!(b.histlen(), MIN_SIZE as i64);
        assert_eq!(b.first_byte_offset(), end - MIN_SIZE as i64 + 1);
        assert!(b.copy_from(b.first_byte_offset() - 1).is_none());
        for offset in [b.first_byte_offset(), end - 5000, end, end + 1] {
            let got = joined(b.copy_from(offset).unwrap());
            assert_eq!(got, data[(offset - 1) as usize..]);
            assert!(b.copy_from(offset).unwrap().len() <= 2);
        }
    }

    #[test]
    fn a_feed_larger_than_the_backlog_keeps_only_its_tail() {
        let mut b = Backlog::new(MIN_SIZE, 10);
        b.feed(b"head");
        let big = stream(15, MIN_SIZE * 4 + 7);
        b.feed(&big);
        assert_eq!(b.master_repl_offset(), 14 + big.len() as i64);
        assert_eq!(b.histlen(), MIN_SIZE as i64);
        let got = joined(b.copy_from(b.first_byte_offset()).unwrap());
        assert_eq!(got, big[big.len() - MIN_SIZE..]);
        assert!(b.ring.capacity() <= MIN_SIZE);
    }

    #[test]
    fn memory_stays_bounded_whatever_is_fed() {
        let mut b = Backlog::new(MIN_SIZE * 2, 0);
        for n in [1, 7, 4096, MIN_SIZE - 1, MIN_SIZE + 1, 100_000, 3] {
            for _ in 0..5 {
                b.feed(&stream(0, n));
                assert!(b.histlen() as usize <= b.size());
                assert!(b.ring.capacity() <= b.size());
            }
        }
    }

    #[test]
    fn shrinking_keeps_the_newest_bytes_and_moves_the_first_offset() {
        let mut b = Backlog::new(MIN_SIZE * 4, 0);
        let data = stream(1, MIN_SIZE * 3);
        b.feed(&data);
        assert_eq!(b.first_byte_offset(), 1);
        b.resize(MIN_SIZE);
        assert_eq!(b.histlen(), MIN_SIZE as i64);
        assert_eq!(b.first_byte_offset(), (MIN_SIZE * 2 + 1) as i64);
        assert_eq!(b.master_repl_offset(), (MIN_SIZE * 3) as i64);
        assert_eq!(
            joined(b.copy_from(b.first_byte_offset()).unwrap()),
            data[MIN_SIZE * 2..]
        );
        assert!(b.ring.capacity() <= MIN_SIZE);
    }

    #[test]
    fn growing_keeps_everything_and_makes_room_for_more() {
        let mut b = Backlog::new(MIN_SIZE, 0);
        let data = stream(1, MIN_SIZE * 3);
        b.feed(&data[..MIN_SIZE]);
        b.resize(MIN_SIZE * 3);
        b.feed(&data[MIN_SIZE..]);
        assert_eq!(b.histlen(), (MIN_SIZE * 3) as i64);
        assert_eq!(joined(b.copy_from(1).unwrap()), data);
    }

    #[test]
    fn resizing_after_wraparound_keeps_positions_right() {
        let mut b = Backlog::new(MIN_SIZE * 2, 0);
        let data = stream(1, MIN_SIZE * 5 + 333);
        for piece in data.chunks(777) {
            b.feed(piece);
        }
        b.resize(MIN_SIZE + 10);
        let first = b.first_byte_offset();
        assert_eq!(b.histlen(), (MIN_SIZE + 10) as i64);
        assert_eq!(
            joined(b.copy_from(first).unwrap()),
            data[(first - 1) as usize..]
        );
        b.feed(b"more");
        let first = b.first_byte_offset();
        let mut all = data.clone();
        all.extend_from_slice(b"more");
        assert_eq!(
            joined(b.copy_from(first).unwrap()),
            all[(first - 1) as usize..]
        );
    }

    #[test]
    fn offsets_never_overflow() {
        let mut b = Backlog::new(MIN_SIZE, i64::MAX - 2);
        b.feed(b"abcdef");
        assert_eq!(b.master_repl_offset(), i64::MAX);
        assert!(b.copy_from(i64::MIN).is_none());
        let empty = Backlog::new(MIN_SIZE, i64::MAX);
        assert_eq!(empty.first_byte_offset(), i64::MAX);
        assert!(empty.copy_from(i64::MAX).is_some());
    }
}
