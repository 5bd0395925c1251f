//! The replica's reception of the master's snapshot (`readSyncBulkPayload`), and the line
//! reader the handshake shares with it.
//!
//! After `+FULLRESYNC` (or `SYNC`) the master sends bare `\n` keepalives while it prepares the
//! snapshot, then either `$<len>\r\n` and exactly `len` bytes (disk transfer), or
//! `$EOF:<40-byte mark>\r\n`, the RDB, and the same 40 bytes (diskless transfer). A first byte
//! `-` is the master aborting with an error. [`RdbReceiver::step`] consumes from the link's
//! input buffer and never holds more than `max_rdb_bytes` (+ the mark) of payload; the mark is
//! found wherever the reads split it. Bytes after the payload are left in the input buffer:
//! they are the beginning of the replication stream.

use super::{LogLine, RUN_ID_SIZE};
use crate::config::LogLevel::{Notice, Warning};
use crate::resp::parse_i64;
use bytes::{Buf, Bytes, BytesMut};

/// Redis reads the bulk header into a 1024-byte buffer (one byte for the terminator).
const HEADER_LINE_MAX: usize = 1023;

/// Takes one line from the front of `input` the way Redis' `syncReadLine` does with a buffer of
/// `max + 1` bytes: up to `\n` (one trailing `\r` removed), or `max` bytes if no `\n` comes
/// within them (the rest is then the next "line"). `None` when more bytes are needed. Like the
/// C string it becomes, the line ends at a NUL byte.
pub(crate) fn take_line(input: &mut BytesMut, max: usize) -> Option<Bytes> {
    let window = &input[..input.len().min(max)];
    let (mut line, consumed) = match window.iter().position(|&b| b == b'\n') {
        Some(nl) => (input.split_to(nl).freeze(), 1),
        None if input.len() >= max => (input.split_to(max).freeze(), 0),
        None => return None,
    };
    input.advance(consumed);
    if consumed == 1 && line.last() == Some(&b'\r') {
        line.truncate(line.len() - 1);
    }
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        line.truncate(nul);
    }
    Some(line)
}

/// A line as text for logs and comparisons.
pub(crate) fn text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

#[derive(Clone, Debug)]
enum Mode {
    /// Waiting for the `$` header line.
    Header,
    /// `$<len>`: exactly `len` bytes.
    Sized(usize),
    /// `$EOF:<mark>`: until the mark; `scanned` bytes of the payload are known not to start it.
    Marked {
        mark: [u8; RUN_ID_SIZE],
        scanned: usize,
    },
}

/// One step of the transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Everything available was consumed; wait for more bytes.
    NeedMore,
    /// An empty line before the header: the master is alive.
    Keepalive,
    /// The header was read; log this.
    Started(LogLine),
    /// The whole RDB; `eof_mark` tells it came from a diskless (marked) transfer.
    Done { rdb: Bytes, eof_mark: bool },
    /// The transfer cannot go on; log this.
    Failed(LogLine),
}

/// Receives one snapshot.
#[derive(Clone, Debug)]
pub(crate) struct RdbReceiver {
    mode: Mode,
    payload: BytesMut,
    read: usize,
    max_rdb_bytes: usize,
}

impl RdbReceiver {
    pub(crate) fn new(max_rdb_bytes: usize) -> RdbReceiver {
        RdbReceiver {
            mode: Mode::Header,
            payload: BytesMut::new(),
            read: 0,
            max_rdb_bytes,
        }
    }

    /// INFO `master_sync_total_bytes`: -1 before the header, 0 for a diskless transfer (its size
    /// is unknown), else the announced size.
    pub(crate) fn total_bytes(&self) -> i64 {
        match self.mode {
            Mode::Header => -1,
            Mode::Sized(len) => len as i64,
            Mode::Marked { .. } => 0,
        }
    }

    /// INFO `master_sync_read_bytes`: payload bytes received so far.
    pub(crate) fn read_bytes(&self) -> i64 {
        self.read as i64
    }

    /// The payload received so far (a diskless one may end with part of its mark).
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Consumes what it can from `input`; call again after anything but `NeedMore`.
    pub(crate) fn step(&mut self, input: &mut BytesMut) -> Step {
        match self.mode {
            Mode::Header => self.header(input),
            Mode::Sized(len) => {
                let n = (len - self.payload.len()).min(input.len());
                self.payload.extend_from_slice(&input.split_to(n));
                self.read += n;
                if self.payload.len() < len {
                    return Step::NeedMore;
                }
                self.done(false)
            }
            Mode::Marked { mark, scanned } => {
                if input.is_empty() {
                    return Step::NeedMore;
                }
                self.read += input.len();
                self.payload.extend_from_slice(&input.split());
                let from = scanned.saturating_sub(RUN_ID_SIZE - 1);
                let found = self.payload[from..]
                    .windows(RUN_ID_SIZE)
                    // The first byte rules out almost every position without a 40-byte compare.
                    .position(|w| w[0] == mark[0] && w == mark);
                let limit = self.max_rdb_bytes;
                if let Some(at) = found.map(|p| from + p).filter(|&at| at <= limit) {
                    // Anything after the mark is stream: give it back.
                    *input = self.payload.split_off(at + RUN_ID_SIZE);
                    self.read -= input.len();
                    self.payload.truncate(at);
                    return self.done(true);
                }
                if found.is_some() || self.payload.len() > limit + RUN_ID_SIZE {
                    return too_big(limit);
                }
                self.mode = Mode::Marked {
                    mark,
                    scanned: self.payload.len(),
                };
                Step::NeedMore
            }
        }
    }

    fn header(&mut self, input: &mut BytesMut) -> Step {
        let Some(line) = take_line(input, HEADER_LINE_MAX) else {
            return Step::NeedMore;
        };
        match line.first() {
            None => Step::Keepalive,
            Some(b'-') => Step::Failed((
                Warning,
                format!("MASTER aborted replication with an error: {}", text(&line[1..])),
            )),
            Some(b'$') => self.parse_header(&line[1..]),
            Some(_) => Step::Failed((
                Warning,
                format!(
                    "Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?",
                    text(&line)
                ),
            )),
        }
    }

    fn parse_header(&mut self, spec: &[u8]) -> Step {
        if let Some(mark) = spec
            .strip_prefix(b"EOF:")
            .and_then(|m| m.get(..RUN_ID_SIZE))
            .and_then(|m| <[u8; RUN_ID_SIZE]>::try_from(m).ok())
        {
            self.mode = Mode::Marked { mark, scanned: 0 };
            return Step::Started((
                Notice,
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
                    .to_string(),
            ));
        }
        // Redis would take any prefix number (strtol); a master that sends something else is
        // not one we can sync with.
        let len = match parse_i64(spec).map(usize::try_from) {
            Some(Ok(len)) => len,
            _ => {
                return Step::Failed((
                    Warning,
                    format!(
                        "Bad protocol from MASTER, invalid bulk length in '${}'",
                        text(spec)
                    ),
                ))
            }
        };
        if len > self.max_rdb_bytes {
            return too_big(self.max_rdb_bytes);
        }
        // The length was checked against max_rdb_bytes: receive without regrowing.
        self.payload.reserve(len);
        self.mode = Mode::Sized(len);
        Step::Started((
            Notice,
            format!("MASTER <-> REPLICA sync: receiving {len} bytes from master to disk"),
        ))
    }

    fn done(&mut self, eof_mark: bool) -> Step {
        Step::Done {
            rdb: std::mem::take(&mut self.payload).freeze(),
            eof_mark,
        }
    }
}

fn too_big(max: usize) -> Step {
    Step::Failed((
        Warning,
        format!("MASTER <-> REPLICA sync: the RDB from the master is larger than the limit of {max} bytes"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> (Vec<Bytes>, Vec<u8>) {
        let mut buf = BytesMut::from(input);
        let mut out = vec![];
        while let Some(l) = take_line(&mut buf, max) {
            out.push(l);
        }
        (out, buf.to_vec())
    }

    #[test]
    fn lines_are_read_like_sync_read_line() {
        let (got, rest) = lines(b"+PONG\r\n\n-ERR x\nabc", 255);
        assert_eq!(got, vec!["+PONG", "", "-ERR x"]);
        assert_eq!(rest, b"abc");
        // Only one trailing CR is removed; a lone CR line is empty.
        assert_eq!(lines(b"a\r\r\n\r\n", 255).0, vec!["a\r", ""]);
        // A NUL ends the C string.
        assert_eq!(lines(b"+OK\0junk\r\n", 255).0, vec!["+OK"]);
    }

    #[test]
    fn an_overlong_line_is_cut_and_its_rest_read_as_the_next_line() {
        let mut long = vec![b'+'; 300];
        long.extend_from_slice(b"\r\n");
        let (got, rest) = lines(&long, 255);
        assert_eq!(got[0].len(), 255);
        assert_eq!(got[1].len(), 45);
        assert!(rest.is_empty());
        // Exactly 255 chars then '\n': the newline is left for the next read (an empty line).
        let mut exact = vec![b'x'; 255];
        exact.push(b'\n');
        let (got, _) = lines(&exact, 255);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], "");
    }

    fn run(r: &mut RdbReceiver, input: &mut BytesMut) -> Vec<Step> {
        let mut steps = vec![];
        loop {
            let s = r.step(input);
            if s == Step::NeedMore {
                return steps;
            }
            let end = matches!(s, Step::Done { .. } | Step::Failed(_));
            steps.push(s);
            if end {
                return steps;
            }
        }
    }

    #[test]
    fn a_sized_payload_is_exact_and_leaves_the_stream_behind() {
        let mut r = RdbReceiver::new(1 << 20);
        let mut input = BytesMut::from(&b"\n\n$5\r\nREDIS*1\r\n"[..]);
        let steps = run(&mut r, &mut input);
        assert_eq!(steps[0], Step::Keepalive);
        assert_eq!(steps[1], Step::Keepalive);
        assert_eq!(
            steps[2],
            Step::Started((
                Notice,
                "MASTER <-> REPLICA sync: receiving 5 bytes from master to disk".into()
            ))
        );
        assert_eq!(
            steps[3],
            Step::Done {
                rdb: Bytes::from_static(b"REDIS"),
                eof_mark: false
            }
        );
        assert_eq!(&input[..], b"*1\r\n");
        assert_eq!((r.total_bytes(), r.read_bytes()), (5, 5));
    }

    #[test]
    fn an_empty_sized_payload_completes_at_once() {
        let mut r = RdbReceiver::new(10);
        let steps = run(&mut r, &mut BytesMut::from(&b"$0\r\n"[..]));
        assert!(matches!(&steps[1], Step::Done { rdb, .. } if rdb.is_empty()));
    }

    #[test]
    fn headers_that_are_not_bulk_lengths_fail() {
        for (input, want) in [
            (&b"-ERR no\r\n"[..], "MASTER aborted replication with an error: ERR no"),
            (b"+OK\r\n", "Bad protocol from MASTER, the first byte is not '$' (we received '+OK'), are you sure the host and port are right?"),
            (b"$abc\r\n", "Bad protocol from MASTER, invalid bulk length in '$abc'"),
            (b"$-1\r\n", "Bad protocol from MASTER, invalid bulk length in '$-1'"),
            (b"$EOF:short\r\n", "Bad protocol from MASTER, invalid bulk length in '$EOF:short'"),
            (b"$11\r\n", "MASTER <-> REPLICA sync: the RDB from the master is larger than the limit of 10 bytes"),
        ] {
            let mut r = RdbReceiver::new(10);
            let steps = run(&mut r, &mut BytesMut::from(input));
            assert_eq!(steps, vec![Step::Failed((Warning, want.to_string()))]);
        }
    }

    const MARK: &[u8; 40] = b"0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_marked_payload_ends_at_the_mark_wherever_reads_split() {
        let mut wire = b"$EOF:".to_vec();
        wire.extend_from_slice(MARK);
        wire.extend_from_slice(b"\r\n");
        let header = wire.len();
        let rdb: Vec<u8> = (0..100u8).collect();
        wire.extend_from_slice(&rdb);
        wire.extend_from_slice(MARK);
        wire.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        // Split the whole exchange in two at every position, and in three around the mark.
        let mark_at = header + rdb.len();
        let mut cuts: Vec<Vec<usize>> = (0..=wire.len()).map(|c| vec![c]).collect();
        for a in mark_at - 2..mark_at + 42 {
            cuts.push(vec![a, a + 1]);
            cuts.push(vec![a.min(mark_at + 20), a.max(mark_at + 20)]);
        }
        for cut in cuts {
            let mut r = RdbReceiver::new(1000);
            let mut input = BytesMut::new();
            let mut steps = vec![];
            let mut last = 0;
            for &c in cut.iter().chain([wire.len()].iter()) {
                input.extend_from_slice(&wire[last..c]);
                last = c;
                if !steps.iter().any(|s| matches!(s, Step::Done { .. })) {
                    steps.extend(run(&mut r, &mut input));
                }
            }
            let done = steps.iter().find(|s| matches!(s, Step::Done { .. }));
            assert_eq!(
                done,
                Some(&Step::Done {
                    rdb: Bytes::from(rdb.clone()),
                    eof_mark: true
                }),
                "cut {cut:?}"
            );
            assert_eq!(&input[..], b"*1\r\n$4\r\nPING\r\n", "cut {cut:?}");
            assert_eq!(r.total_bytes(), 0);
            assert_eq!(r.read_bytes(), 140);
        }
    }

    #[test]
    fn a_marked_payload_that_never_ends_is_bounded() {
        let mut r = RdbReceiver::new(100);
        let mut input = BytesMut::from(&b"$EOF:"[..]);
        input.extend_from_slice(MARK);
        input.extend_from_slice(b"\r\n");
        assert!(matches!(run(&mut r, &mut input)[..], [Step::Started(_)]));
        for _ in 0..14 {
            input.extend_from_slice(&[b'x'; 10]);
            assert!(run(&mut r, &mut input).is_empty());
        }
        input.extend_from_slice(&[b'x'; 10]);
        assert!(matches!(run(&mut r, &mut input)[..], [Step::Failed(_)]));
        assert!(r.payload.len() <= 100 + 40 + 10);
    }

    #[test]
    fn a_mark_found_past_the_limit_in_one_big_read_is_too_big() {
        let mut r = RdbReceiver::new(100);
        let mut input = BytesMut::from(&b"$EOF:"[..]);
        input.extend_from_slice(MARK);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&[b'x'; 101]);
        input.extend_from_slice(MARK);
        let steps = run(&mut r, &mut input);
        assert!(matches!(steps[..], [Step::Started(_), Step::Failed(_)]));
    }

    #[test]
    fn a_mark_right_at_the_limit_is_still_accepted() {
        let mut r = RdbReceiver::new(100);
        let mut input = BytesMut::from(&b"$EOF:"[..]);
        input.extend_from_slice(MARK);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(MARK);
        let steps = run(&mut r, &mut input);
        assert!(matches!(&steps[1], Step::Done { rdb, eof_mark: true } if rdb.len() == 100));
    }
}
