//! The query buffer's size as Redis 7.2 manages it (networking.c readQueryFromClient and
//! processMultibulkBuffer, server.c clientsCronResizeQueryBuffer), so CLIENT LIST's
//! `qbuf-free` and `tot-mem` show what Redis would hold: each read makes room for 16 KiB (without
//! over-allocating while the buffer is small, doubling once it is not), a bulk argument of 32 KiB
//! or more gets a buffer of exactly its size, and the cron gives back space a client does not use:
//! all of it after 2 s idle, or down to the recent peak when the buffer is twice that.

use super::{Client, Now, Server};

/// Redis' PROTO_IOBUF_LEN: the room made for one read.
const READ_BYTES: usize = 16 * 1024;
/// Redis' PROTO_MBULK_BIG_ARG: a bulk argument this large gets a buffer of its own size.
pub const BIG_ARG_BYTES: usize = 32 * 1024;
/// Redis' PROTO_RESIZE_THRESHOLD: buffers above this shrink to their peak.
const RESIZE_THRESHOLD_BYTES: usize = 32 * 1024;
/// Free space below this is never worth giving back.
const MIN_WASTE_BYTES: usize = 4 * 1024;
/// sds' greedy growth doubles up to this, then adds this much.
const SDS_MAX_PREALLOC: usize = 1024 * 1024;
/// Idle seconds after which the cron frees all unused space.
const IDLE_RESIZE_S: u64 = 2;

impl Client {
    /// A read of `n` bytes is about to be appended to the query buffer.
    pub(crate) fn note_read(&mut self, n: usize) {
        let len = self.qbuf.len();
        let big = self.awaited_big_arg();
        if big.is_some() || self.qbuf_alloc < READ_BYTES {
            // Non-greedy: exactly the room this read (or the big argument) needs.
            let want = big.map_or(len + READ_BYTES, |b| b.max(len));
            self.qbuf_alloc = self.qbuf_alloc.max(want);
            self.qbuf_peak = self.qbuf_peak.max(want);
        } else if self.qbuf_alloc - len < READ_BYTES {
            let want = len + READ_BYTES;
            self.qbuf_alloc = match want < SDS_MAX_PREALLOC {
                true => want * 2,
                false => want + SDS_MAX_PREALLOC,
            };
        }
        self.qbuf_alloc = self.qbuf_alloc.max(len + n);
        self.qbuf_peak = self.qbuf_peak.max(len + n);
    }

    /// The buffer an incomplete request's big bulk argument needs (its length and CRLF).
    fn awaited_big_arg(&self) -> Option<usize> {
        crate::resp::awaited_bulk_len(&self.qbuf)
            .filter(|n| *n >= BIG_ARG_BYTES)
            .map(|n| n + 2)
    }

    /// After a parse pass: a request waiting for a big argument holds a buffer its size; a
    /// request whose last argument was big left Redis with a fresh buffer of that size.
    pub(crate) fn note_parsed(&mut self, last_big_arg: Option<usize>) {
        if let Some(b) = self.awaited_big_arg() {
            self.qbuf_alloc = self.qbuf_alloc.max(b);
            self.qbuf_peak = self.qbuf_peak.max(b);
        } else if let Some(b) = last_big_arg.filter(|_| self.qbuf.is_empty()) {
            self.qbuf_alloc = b + 2;
        }
    }

    /// clientsCronResizeQueryBuffer for this client.
    fn resize_query_buffer(&mut self, now_s: u64) {
        let len = self.qbuf.len();
        let idle_s = now_s.saturating_sub(self.last_interaction_ms / 1000);
        let big = self.awaited_big_arg();
        if self.qbuf_alloc.saturating_sub(len) > MIN_WASTE_BYTES {
            if idle_s > IDLE_RESIZE_S {
                self.qbuf_alloc = len;
            } else if self.qbuf_alloc > RESIZE_THRESHOLD_BYTES
                && self.qbuf_alloc / 2 > self.qbuf_peak
            {
                self.qbuf_alloc = len.max(self.qbuf_peak).max(big.unwrap_or(0));
            }
        }
        self.qbuf_peak = len.max(big.unwrap_or(0));
    }
}

impl Server {
    /// The cron resizes every client's query buffer.
    pub(crate) fn cron_query_buffers(&mut self, now: Now) {
        let now_s = now.mono_ms / 1000;
        for c in self.clients.values_mut() {
            c.resize_query_buffer(now_s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let addr = "127.0.0.1:1".parse().expect("addr");
        Client::new(1, addr, addr, true, 0)
    }

    fn read(c: &mut Client, data: &[u8]) {
        c.note_read(data.len());
        c.qbuf.extend_from_slice(data);
    }

    #[test]
    fn a_new_client_gets_one_read_of_room_and_gives_it_back_when_idle() {
        let mut c = client();
        read(&mut c, b"*1\r\n$4\r\nPING\r\n");
        c.qbuf.clear();
        c.note_parsed(None);
        assert_eq!(c.qbuf_alloc, READ_BYTES);
        c.resize_query_buffer(2);
        assert_eq!(c.qbuf_alloc, READ_BYTES, "not idle long enough");
        c.resize_query_buffer(3);
        assert_eq!(c.qbuf_alloc, 0);
    }

    #[test]
    fn a_big_argument_gets_a_buffer_of_its_size_until_the_client_idles() {
        let mut c = client();
        read(&mut c, b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1000000\r\n");
        c.note_parsed(None);
        assert_eq!(c.qbuf_alloc, 1_000_002);
        c.resize_query_buffer(1);
        assert_eq!(c.qbuf_alloc, 1_000_002, "the argument is still coming");
        c.resize_query_buffer(3);
        assert_eq!(c.qbuf_alloc, c.qbuf.len());
    }

    #[test]
    fn a_large_buffer_shrinks_to_the_recent_peak() {
        let mut c = client();
        // Just after a 400 KB argument: the buffer and its peak are that big.
        c.qbuf_alloc = 400_002;
        c.qbuf_peak = 400_002;
        c.resize_query_buffer(0);
        assert_eq!(c.qbuf_alloc, 400_002, "the peak is recent");
        read(&mut c, &[b'x'; 130]);
        c.resize_query_buffer(0);
        assert_eq!(c.qbuf_alloc, 130);
    }
}
