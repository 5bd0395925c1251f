//! The reply writer every command writes through, in the client's protocol (RESP2 or RESP3).
//!
//! Commands state a reply's *shape* — a map, a set, a push message, a double, a boolean, a null —
//! and the writer emits the RESP3 type or its RESP2 form, so a RESP2 client sees exactly the bytes
//! it always saw: a map of `n` pairs is `*2n`, a set or push of `n` is `*n`, a double is a bulk
//! string, a boolean is `:1`/`:0`, nulls are `$-1` or `*-1`, verbatim text is a bulk string.

use bytes::BytesMut;

/// Appends replies to a client's output buffer; `resp` is the client's protocol version (2 or 3).
pub struct Out<'a> {
    pub buf: &'a mut BytesMut,
    pub resp: u8,
    /// The buffer length at which the client is over its output limit (`full`).
    stop_at: usize,
}

impl<'a> Out<'a> {
    /// A RESP2 writer (replication streams, the AOF, commands sent to other servers).
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Self::with_resp(buf, 2)
    }

    /// A writer in protocol version `resp`.
    pub fn with_resp(buf: &'a mut BytesMut, resp: u8) -> Self {
        Out {
            buf,
            resp,
            stop_at: usize::MAX,
        }
    }

    /// The writer reports `full` once the buffer reaches `len` bytes.
    pub fn stopping_at(mut self, len: usize) -> Self {
        self.stop_at = len;
        self
    }
}

impl Out<'_> {
    /// The client is over its output limit: a command producing a long reply stops here (it
    /// will be closed without the reply, as Redis stops a command on CLIENT_CLOSE_ASAP).
    pub fn full(&self) -> bool {
        self.buf.len() >= self.stop_at
    }
    pub fn is_resp3(&self) -> bool {
        self.resp >= 3
    }
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }
    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }
    /// An error reply; `msg` starts with the error code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, msg: &str) {
        // Newlines would break the framing: Redis replaces them with spaces.
        let clean: Vec<u8> = msg
            .bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        self.line(b'-', &clean);
    }
    pub fn int(&mut self, n: i64) {
        self.line_int(b':', n);
    }
    pub fn bulk(&mut self, b: &[u8]) {
        self.buf.reserve(b.len() + 16);
        self.line_int(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulk_opt(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => self.bulk(b),
            None => self.null(),
        }
    }
    /// A missing value: RESP3's `_`, RESP2's null bulk string `$-1`.
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.is_resp3() {
            b"_\r\n"
        } else {
            b"$-1\r\n"
        });
    }
    /// A missing aggregate: RESP3's `_`, RESP2's null array `*-1`.
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.is_resp3() {
            b"_\r\n"
        } else {
            b"*-1\r\n"
        });
    }
    pub fn array(&mut self, len: usize) {
        self.line_int(b'*', len as i64);
    }
    /// A map of `pairs` key/value pairs follows (RESP2: a flat array of twice that).
    pub fn map(&mut self, pairs: usize) {
        if self.is_resp3() {
            self.line_int(b'%', pairs as i64);
        } else {
            self.array(pairs * 2);
        }
    }
    /// A set of `len` elements follows (RESP2: an array).
    pub fn set(&mut self, len: usize) {
        let kind = if self.is_resp3() { b'~' } else { b'*' };
        self.line_int(kind, len as i64);
    }
    /// An out-of-band push message of `len` elements follows (pub/sub; RESP2: an array).
    pub fn push(&mut self, len: usize) {
        let kind = if self.is_resp3() { b'>' } else { b'*' };
        self.line_int(kind, len as i64);
    }
    /// RESP3's `#t`/`#f`; RESP2's `:1`/`:0`.
    pub fn boolean(&mut self, b: bool) {
        match (self.is_resp3(), b) {
            (true, true) => self.buf.extend_from_slice(b"#t\r\n"),
            (true, false) => self.buf.extend_from_slice(b"#f\r\n"),
            (false, b) => self.int(b as i64),
        }
    }
    /// A double as Redis formats it (`inf`, `-inf`, `nan`, integers without a dot): RESP3's
    /// `,` type, RESP2's bulk string.
    pub fn double(&mut self, d: f64) {
        let text = crate::text::fmt_double(d);
        if self.is_resp3() {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }
    /// An integer of any size given as its digits: RESP3's big number `(`, RESP2's bulk string.
    pub fn big_number(&mut self, digits: &str) {
        if self.is_resp3() {
            self.line(b'(', digits.as_bytes());
        } else {
            self.bulk(digits.as_bytes());
        }
    }
    /// RESP3 only: `pairs` key/value pairs of out-of-band information about the reply that
    /// follows them. RESP2 has no such thing: callers leave attributes out there.
    pub fn attribute(&mut self, pairs: usize) {
        debug_assert!(self.is_resp3(), "attributes exist only in RESP3");
        self.line_int(b'|', pairs as i64);
    }
    /// Plain text meant for humans (INFO, CLIENT LIST): RESP3's verbatim string `=` with the
    /// `txt` format, RESP2's bulk string.
    pub fn verbatim(&mut self, text: &[u8]) {
        if !self.is_resp3() {
            return self.bulk(text);
        }
        self.line_int(b'=', text.len() as i64 + 4);
        self.buf.extend_from_slice(b"txt:");
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }
    /// The outer array of a reply listing `n` members, each maybe with its score (ZRANGE ...
    /// WITHSCORES): RESP2 flattens member and score into `2n` elements, RESP3 has `n` pairs.
    /// Follow it with `n` calls to `scored`.
    pub fn scored_array(&mut self, n: usize, with_scores: bool) {
        let flat = with_scores && !self.is_resp3();
        self.array(if flat { n * 2 } else { n });
    }
    /// One element of a `scored_array`: the member, then its score if any (in RESP3 the two
    /// form a `[member, score]` array).
    pub fn scored(&mut self, member: &[u8], score: Option<f64>) {
        if score.is_some() && self.is_resp3() {
            self.array(2);
        }
        self.bulk(member);
        if let Some(s) = score {
            self.double(s);
        }
    }
    pub fn bulks<I, T>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.array(items.len());
        for i in items {
            self.bulk(i.as_ref());
        }
    }
    /// Like `bulks`, but the elements form a set (SMEMBERS, SINTER...).
    pub fn bulk_set<I, T>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.set(items.len());
        for i in items {
            self.bulk(i.as_ref());
        }
    }
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    fn line_int(&mut self, prefix: u8, n: i64) {
        self.line(prefix, Digits::new(n).as_bytes());
    }
    fn line(&mut self, prefix: u8, s: &[u8]) {
        self.buf.reserve(s.len() + 3);
        self.buf.extend_from_slice(&[prefix]);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// An integer's decimal digits, written on the stack.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn new(n: i64) -> Self {
        let mut d = Digits {
            buf: [0; 20],
            start: 20,
        };
        let mut v = n.unsigned_abs();
        loop {
            d.start -= 1;
            d.buf[d.start] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            d.start -= 1;
            d.buf[d.start] = b'-';
        }
        d
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `write` produces in RESP2 and in RESP3.
    fn both(write: impl Fn(&mut Out)) -> (String, String) {
        let run = |resp| {
            let mut buf = BytesMut::new();
            write(&mut Out::with_resp(&mut buf, resp));
            String::from_utf8(buf.to_vec()).unwrap()
        };
        (run(2), run(3))
    }

    #[test]
    fn resp2_clients_see_the_old_forms_of_every_resp3_type() {
        let (r2, r3) = both(|o| {
            o.map(1);
            o.bulk(b"k");
            o.set(1);
            o.boolean(true);
            o.push(2);
            o.null();
            o.null_array();
            o.big_number("12345678901234567890");
        });
        assert_eq!(
            r2,
            "*2\r\n$1\r\nk\r\n*1\r\n:1\r\n*2\r\n$-1\r\n*-1\r\n$20\r\n12345678901234567890\r\n"
        );
        assert_eq!(
            r3,
            "%1\r\n$1\r\nk\r\n~1\r\n#t\r\n>2\r\n_\r\n_\r\n(12345678901234567890\r\n"
        );
        assert_eq!(both(|o| o.boolean(false)).1, "#f\r\n");
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for n in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(both(|o| o.int(n)).0, format!(":{n}\r\n"));
        }
    }

    #[test]
    fn doubles_are_formatted_like_redis_in_both_protocols() {
        for (d, text) in [
            (1.5, "1.5"),
            (3.0, "3"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            let (r2, r3) = both(|o| o.double(d));
            assert_eq!(r2, format!("${}\r\n{text}\r\n", text.len()));
            assert_eq!(r3, format!(",{text}\r\n"));
        }
    }

    #[test]
    fn verbatim_text_carries_the_txt_format_in_resp3() {
        let (r2, r3) = both(|o| o.verbatim(b"a\r\nb"));
        assert_eq!(r2, "$4\r\na\r\nb\r\n");
        assert_eq!(r3, "=8\r\ntxt:a\r\nb\r\n");
    }

    #[test]
    fn scored_members_are_flat_in_resp2_and_pairs_in_resp3() {
        let write = |o: &mut Out| {
            o.scored_array(2, true);
            o.scored(b"a", Some(1.0));
            o.scored(b"b", Some(2.5));
        };
        let (r2, r3) = both(write);
        assert_eq!(r2, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
        assert_eq!(r3, "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
        let (r2, r3) = both(|o| {
            o.scored_array(1, false);
            o.scored(b"a", None);
        });
        assert_eq!(r2, "*1\r\n$1\r\na\r\n");
        assert_eq!(r3, r2);
    }
}
