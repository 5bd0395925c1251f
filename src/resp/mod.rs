//! RESP on `bytes`: the request parser (multibulk and inline, incremental, with Redis' limits and
//! protocol-error strings), the reply writer used by every command (`out.rs`, RESP2 or RESP3 per
//! client), and a RESP2 frame parser for the client side (simulated clients, replica and Sentinel
//! links, which never ask for RESP3).
//!
//! Parsing follows the rule "check a frame is complete, then parse it": `parse_request` never
//! consumes a partial frame, so the caller simply appends more bytes and calls again.

use bytes::{Buf, Bytes, BytesMut};

mod out;
pub use out::Out;

/// Inline requests and `*`/`$` count lines may not be longer than this (Redis' PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Before authentication Redis refuses large multibulk counts and bulk lengths.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16 * 1024;

/// Limits the parser enforces; both come from the server config.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
    pub authenticated: bool,
}

/// A fatal protocol error: Redis replies `-ERR Protocol error: <msg>` and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub fn new(msg: &str) -> Self {
        ProtocolError(msg.to_string())
    }
}

/// Outcome of one parse attempt over a query buffer.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Not enough bytes yet; nothing was consumed.
    Incomplete,
    /// An empty request (`*0`, `*-1`, or a blank inline line); `n` bytes consumed.
    Empty(usize),
    /// A whole command: its arguments and the bytes it took.
    Command(Vec<Bytes>, usize),
}

/// Parses one request from the front of `buf` without consuming it; the caller advances by the
/// returned length. `buf` is frozen into `Bytes` slices only for complete frames.
pub fn parse_request(buf: &BytesMut, limits: Limits) -> Result<Parsed, ProtocolError> {
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk(buf, limits),
        Some(_) => parse_inline(buf),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let cr = at + buf.get(at..)?.iter().position(|&b| b == b'\r')?;
        if buf.get(cr + 1) == Some(&b'\n') {
            return Some(cr);
        }
        at = cr + 1;
    }
}

fn parse_multibulk(buf: &BytesMut, limits: Limits) -> Result<Parsed, ProtocolError> {
    let Some(eol) = find_crlf(buf, 1) else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(Parsed::Incomplete);
    };
    let count = match parse_i64(&buf[1..eol]) {
        Some(n) if n <= i32::MAX as i64 => n,
        _ => return Err(ProtocolError::new("invalid multibulk length")),
    };
    if !limits.authenticated && count > UNAUTH_MAX_MULTIBULK {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    let first = eol + 2;
    if count <= 0 {
        return Ok(Parsed::Empty(first));
    }
    // First pass: make sure the whole frame is here, validating headers as we go.
    let mut pos = first;
    for _ in 0..count {
        match bulk_at(buf, pos, limits)? {
            Some((_, end)) => pos = end + 2,
            None => return Ok(Parsed::Incomplete),
        }
    }
    // Second pass, over the frame's own copy: its arguments. Redis does not check the CRLF
    // after each bulk payload; neither do we.
    let frozen = Bytes::copy_from_slice(&buf[..pos]);
    let mut args = Vec::with_capacity(count as usize);
    let mut at = first;
    while let Ok(Some((start, end))) = bulk_at(&frozen, at, limits) {
        args.push(frozen.slice(start..end));
        at = end + 2;
    }
    Ok(Parsed::Command(args, pos))
}

/// The bulk string whose `$len` line starts at `pos`: the span of its payload, or `None` while
/// it has not all arrived.
fn bulk_at(
    buf: &[u8],
    pos: usize,
    limits: Limits,
) -> Result<Option<(usize, usize)>, ProtocolError> {
    let Some(&first) = buf.get(pos) else {
        return Ok(None);
    };
    if first != b'$' {
        return Err(ProtocolError(expected_dollar(first)));
    }
    let Some(eol) = find_crlf(buf, pos + 1) else {
        if buf.len() - pos > INLINE_MAX_BYTES {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        return Ok(None);
    };
    let len = match parse_i64(&buf[pos + 1..eol]) {
        Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n,
        _ => return Err(ProtocolError::new("invalid bulk length")),
    };
    if !limits.authenticated && len > UNAUTH_MAX_BULK {
        return Err(ProtocolError::new("unauthenticated bulk length"));
    }
    let start = eol + 2;
    let end = start + len as usize;
    match buf.len() < end + 2 {
        true => Ok(None),
        false => Ok(Some((start, end))),
    }
}

/// The length of the bulk argument an incomplete multibulk request in `buf` is waiting for,
/// once that argument's `$len` line has arrived (what Redis' parser state calls `bulklen`).
pub fn awaited_bulk_len(buf: &[u8]) -> Option<usize> {
    let eol = find_crlf(buf, 1).filter(|_| buf.first() == Some(&b'*'))?;
    let count = parse_i64(&buf[1..eol])?;
    let mut pos = eol + 2;
    for _ in 0..count {
        let eol = find_crlf(buf, pos + 1).filter(|_| buf.get(pos) == Some(&b'$'))?;
        let len = usize::try_from(parse_i64(&buf[pos + 1..eol])?).ok()?;
        pos = eol + 2 + len + 2;
        if buf.len() < pos {
            return Some(len);
        }
    }
    None
}

/// Redis names the offending byte in its message.
fn expected_dollar(got: u8) -> String {
    format!("expected '$', got '{}'", got as char)
}

fn parse_inline(buf: &BytesMut) -> Result<Parsed, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Parsed::Incomplete);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args =
        crate::text::split_args(line).ok_or(ProtocolError::new("unbalanced quotes in request"))?;
    if args.is_empty() {
        return Ok(Parsed::Empty(nl + 1));
    }
    Ok(Parsed::Command(
        args.into_iter().map(Bytes::from).collect(),
        nl + 1,
    ))
}

/// Strict signed integer parsing as Redis' `string2ll`: optional '-', digits, no '+', no spaces,
/// no leading zeros, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 20 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = (d - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Encodes a command as a RESP array of bulk strings (what clients and replicas send).
pub fn encode_command<T: AsRef<[u8]>>(args: &[T]) -> BytesMut {
    let mut buf = BytesMut::new();
    let mut out = Out::new(&mut buf);
    out.array(args.len());
    for a in args {
        out.bulk(a.as_ref());
    }
    buf
}

/// A RESP2 value as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Bytes),
    Null,
    Array(Vec<Frame>),
    NullArray,
}

/// Client-side: parses one reply frame from the front of `buf`. `Ok(None)` means incomplete.
/// Errors mean the peer is not speaking RESP; `max_bulk` bounds any single bulk length.
pub fn parse_frame(buf: &[u8], max_bulk: usize) -> Result<Option<(Frame, usize)>, ProtocolError> {
    parse_frame_at(buf, 0, max_bulk, 0)
}

fn parse_frame_at(
    buf: &[u8],
    pos: usize,
    max_bulk: usize,
    depth: usize,
) -> Result<Option<(Frame, usize)>, ProtocolError> {
    if depth > 64 {
        return Err(ProtocolError::new("nesting too deep"));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(eol) = find_crlf(buf, pos + 1) else {
        return if buf.len() - pos > INLINE_MAX_BYTES {
            Err(ProtocolError::new("line too long"))
        } else {
            Ok(None)
        };
    };
    let line = &buf[pos + 1..eol];
    let next = eol + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let num = || parse_i64(line).ok_or(ProtocolError::new("invalid number"));
    Ok(Some(match kind {
        b'+' => (Frame::Simple(text()), next),
        b'-' => (Frame::Error(text()), next),
        b':' => (Frame::Int(num()?), next),
        b'$' => {
            let len = num()?;
            if len < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            if len as u64 > max_bulk as u64 {
                return Err(ProtocolError::new("invalid bulk length"));
            }
            let end = next + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            (
                Frame::Bulk(Bytes::copy_from_slice(&buf[next..end])),
                end + 2,
            )
        }
        b'*' => {
            let len = num()?;
            if len < 0 {
                return Ok(Some((Frame::NullArray, next)));
            }
            let mut items = Vec::with_capacity((len as usize).min(1024));
            let mut at = next;
            for _ in 0..len {
                match parse_frame_at(buf, at, max_bulk, depth + 1)? {
                    Some((f, n)) => {
                        items.push(f);
                        at = n;
                    }
                    None => return Ok(None),
                }
            }
            (Frame::Array(items), at)
        }
        _ => return Err(ProtocolError::new("unknown reply type")),
    }))
}

/// Removes `n` bytes from the front of the query buffer.
pub fn consume(buf: &mut BytesMut, n: usize) {
    buf.advance(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHED: Limits = Limits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn parse(s: &[u8]) -> Result<Parsed, ProtocolError> {
        parse_request(&BytesMut::from(s), AUTHED)
    }

    #[test]
    fn multibulk_is_parsed_only_when_complete() {
        let full = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]), Ok(Parsed::Incomplete), "cut at {cut}");
        }
        let Ok(Parsed::Command(args, n)) = parse(full) else {
            panic!()
        };
        assert_eq!(args, vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(n, full.len());
    }

    #[test]
    fn inline_commands_split_like_redis() {
        let Ok(Parsed::Command(args, n)) = parse(b"set k \"a b\"\r\nPING\r\n") else {
            panic!()
        };
        assert_eq!(
            args,
            vec![Bytes::from("set"), Bytes::from("k"), Bytes::from("a b")]
        );
        assert_eq!(n, 13);
        assert_eq!(parse(b"\r\n"), Ok(Parsed::Empty(2)));
        assert_eq!(
            parse(b"set \"k\r\n"),
            Err(ProtocolError::new("unbalanced quotes in request"))
        );
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(
            parse(b"*x\r\n"),
            Err(ProtocolError::new("invalid multibulk length"))
        );
        assert_eq!(
            parse(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::new("invalid bulk length"))
        );
        assert_eq!(
            parse(b"*1\r\n:5\r\n"),
            Err(ProtocolError::new("expected '$', got ':'"))
        );
        let limits = Limits {
            proto_max_bulk_len: 10,
            authenticated: true,
        };
        assert_eq!(
            parse_request(&BytesMut::from(&b"*1\r\n$11\r\n"[..]), limits),
            Err(ProtocolError::new("invalid bulk length"))
        );
        let unauth = Limits {
            proto_max_bulk_len: 100,
            authenticated: false,
        };
        assert_eq!(
            parse_request(&BytesMut::from(&b"*11\r\n"[..]), unauth),
            Err(ProtocolError::new("unauthenticated multibulk length"))
        );
        let long = vec![b'a'; INLINE_MAX_BYTES + 1];
        assert_eq!(
            parse(&long),
            Err(ProtocolError::new("too big inline request"))
        );
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn frames_round_trip() {
        let (f, n) = parse_frame(b"*3\r\n+OK\r\n$-1\r\n:7\r\nrest", 100)
            .unwrap()
            .unwrap();
        assert_eq!(
            f,
            Frame::Array(vec![Frame::Simple("OK".into()), Frame::Null, Frame::Int(7)])
        );
        assert_eq!(n, 18);
        assert_eq!(parse_frame(b"$5\r\nab", 100).unwrap(), None);
    }
}
