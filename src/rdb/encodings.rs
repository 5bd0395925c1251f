//! Decoders for the compact blobs RDB values embed as strings: ziplist (Redis <= 6.2 small
//! lists, hashes and sorted sets, and quicklist nodes), listpack (7.x), intset and the ancient
//! zipmap. Each turns a blob into its elements in order (integers as their decimal text) and
//! validates it completely: header sizes and counts, every entry's bounds, the back-links that
//! let Redis walk them backwards, and the end marker. Errors name the blob and the byte inside it.

use bytes::Bytes;

/// Elements of a blob, in order.
pub type Elements = Vec<Bytes>;

fn bytes_at(b: &[u8], at: usize, n: usize) -> Result<&[u8], String> {
    at.checked_add(n)
        .and_then(|end| b.get(at..end))
        .ok_or_else(|| format!("entry at byte {at} runs past the end"))
}

fn byte_at(b: &[u8], at: usize) -> Result<u8, String> {
    Ok(bytes_at(b, at, 1)?[0])
}

fn u32_le(b: &[u8], at: usize) -> Result<u32, String> {
    let s = bytes_at(b, at, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A little-endian two's complement integer of 1..=8 bytes.
fn signed_le(bytes: &[u8]) -> i64 {
    let v = bytes.iter().rev().fold(0u64, |v, &b| (v << 8) | b as u64);
    let shift = 64 - 8 * bytes.len() as u32;
    ((v << shift) as i64) >> shift
}

fn int_text(v: i64) -> Bytes {
    Bytes::from(v.to_string())
}

fn size_u32(b: &[u8], what: &str) -> Result<(), String> {
    match u32_le(b, 0) {
        Ok(n) if n as usize == b.len() => Ok(()),
        Ok(n) => Err(format!(
            "{what} header says {n} bytes but the blob has {}",
            b.len()
        )),
        Err(_) => Err(format!("{what} is too short")),
    }
}

/// Checks the end marker is the last byte and the header's count (unless "unknown").
fn check_end(what: &str, b: &[u8], end: usize, count: usize, got: usize) -> Result<(), String> {
    if end + 1 != b.len() {
        return Err(format!(
            "{what} end marker at byte {end} is not the last byte"
        ));
    }
    if count != u16::MAX as usize && count != got {
        return Err(format!("{what} header says {count} entries, found {got}"));
    }
    Ok(())
}

/// Decodes a ziplist: `zlbytes u32, zltail u32, zllen u16, entries, 0xff`, each entry
/// `prevlen (1 or 0xfe + 4 bytes), encoding, data`.
pub fn ziplist(b: &[u8]) -> Result<Elements, String> {
    ziplist_inner(b).map_err(|e| format!("Ziplist integrity check failed: {e}"))
}

fn ziplist_inner(b: &[u8]) -> Result<Elements, String> {
    const HEADER: usize = 10;
    if b.len() <= HEADER {
        return Err("too short".into());
    }
    size_u32(b, "ziplist")?;
    let tail = u32_le(b, 4)? as usize;
    let count = u16::from_le_bytes([b[8], b[9]]) as usize;
    let (mut p, mut prev_size, mut last) = (HEADER, 0, HEADER);
    let mut out = Vec::new();
    loop {
        let first = byte_at(b, p)?;
        if first == 0xff {
            break;
        }
        let start = p;
        let prevlen = if first < 0xfe {
            p += 1;
            first as usize
        } else {
            p += 5;
            u32_le(b, start + 1)? as usize
        };
        if prevlen != prev_size {
            return Err(format!("entry at byte {start} has a wrong prevlen"));
        }
        let enc = byte_at(b, p)?;
        let (header, len) = match enc >> 6 {
            0 => (1, (enc & 0x3f) as usize),
            1 => (
                2,
                ((enc & 0x3f) as usize) << 8 | byte_at(b, p + 1)? as usize,
            ),
            2 => {
                let s = bytes_at(b, p + 1, 4)?;
                (5, u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
            }
            _ => {
                let (value, size) = match enc {
                    0xc0 => (signed_le(bytes_at(b, p + 1, 2)?), 3),
                    0xd0 => (signed_le(bytes_at(b, p + 1, 4)?), 5),
                    0xe0 => (signed_le(bytes_at(b, p + 1, 8)?), 9),
                    0xf0 => (signed_le(bytes_at(b, p + 1, 3)?), 4),
                    0xfe => (signed_le(bytes_at(b, p + 1, 1)?), 2),
                    0xf1..=0xfd => ((enc & 0x0f) as i64 - 1, 1),
                    _ => return Err(format!("entry at byte {start} has a bad encoding")),
                };
                out.push(int_text(value));
                p += size;
                (prev_size, last) = (p - start, start);
                continue;
            }
        };
        out.push(Bytes::copy_from_slice(bytes_at(b, p + header, len)?));
        p += header + len;
        (prev_size, last) = (p - start, start);
    }
    if tail != last {
        return Err(format!(
            "tail offset {tail} does not point at the last entry"
        ));
    }
    check_end("ziplist", b, p, count, out.len())?;
    Ok(out)
}

/// The bytes a listpack entry of `size` bytes (encoding + data) ends with: its size, 7 bits per
/// byte, most significant group first, continuation bit on all but the first byte.
pub(super) fn backlen(size: usize) -> ([u8; 5], usize) {
    let n = match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    let mut out = [0u8; 5];
    for (i, slot) in out.iter_mut().take(n).enumerate() {
        let group = ((size >> (7 * (n - 1 - i))) & 0x7f) as u8;
        *slot = if i == 0 { group } else { group | 0x80 };
    }
    (out, n)
}

/// Decodes a listpack: `total bytes u32, count u16, entries, 0xff`, each entry
/// `encoding, data, backlen`.
pub fn listpack(b: &[u8]) -> Result<Elements, String> {
    listpack_inner(b).map_err(|e| format!("Listpack integrity check failed: {e}"))
}

fn listpack_inner(b: &[u8]) -> Result<Elements, String> {
    const HEADER: usize = 6;
    if b.len() <= HEADER {
        return Err("too short".into());
    }
    size_u32(b, "listpack")?;
    let count = u16::from_le_bytes([b[4], b[5]]) as usize;
    let mut p = HEADER;
    let mut out = Vec::new();
    loop {
        let enc = byte_at(b, p)?;
        if enc == 0xff {
            break;
        }
        let start = p;
        let int = |n: usize| Ok::<_, String>((int_text(signed_le(bytes_at(b, p + 1, n)?)), 1 + n));
        let string = |header: usize, len: usize| {
            Ok::<_, String>((
                Bytes::copy_from_slice(bytes_at(b, p + header, len)?),
                header + len,
            ))
        };
        let (elem, size) = match enc {
            0x00..=0x7f => (int_text(enc as i64), 1),
            0x80..=0xbf => string(1, (enc & 0x3f) as usize)?,
            0xc0..=0xdf => {
                let v = ((enc & 0x1f) as i64) << 8 | byte_at(b, p + 1)? as i64;
                (int_text(if v >= 1 << 12 { v - (1 << 13) } else { v }), 2)
            }
            0xe0..=0xef => string(
                2,
                ((enc & 0x0f) as usize) << 8 | byte_at(b, p + 1)? as usize,
            )?,
            0xf0 => string(5, u32_le(b, p + 1)? as usize)?,
            0xf1 => int(2)?,
            0xf2 => int(3)?,
            0xf3 => int(4)?,
            0xf4 => int(8)?,
            _ => return Err(format!("entry at byte {start} has a bad encoding")),
        };
        let (expected, n) = backlen(size);
        if bytes_at(b, start + size, n)? != &expected[..n] {
            return Err(format!("entry at byte {start} has a wrong back length"));
        }
        out.push(elem);
        p = start + size + n;
    }
    check_end("listpack", b, p, count, out.len())?;
    Ok(out)
}

/// Decodes an intset: `encoding u32 (2, 4 or 8), length u32, sorted little-endian integers`.
pub fn intset(b: &[u8]) -> Result<Elements, String> {
    let fail = |what: &str| format!("Intset integrity check failed: {what}");
    let (Ok(width), Ok(len)) = (u32_le(b, 0), u32_le(b, 4)) else {
        return Err(fail("too short"));
    };
    let width = width as usize;
    if ![2, 4, 8].contains(&width) {
        return Err(fail("bad encoding"));
    }
    if (len as usize)
        .checked_mul(width)
        .and_then(|n| n.checked_add(8))
        != Some(b.len())
    {
        return Err(fail("length does not match the blob size"));
    }
    let values: Vec<i64> = b[8..].chunks(width).map(signed_le).collect();
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(fail("integers are not strictly ascending"));
    }
    Ok(values.into_iter().map(int_text).collect())
}

/// Decodes a zipmap (Redis <= 2.4 small hashes) into alternating fields and values:
/// `count u8, (len key len free value padding)*, 0xff` where a length is one byte below 254 or
/// 254 followed by a little-endian u32.
pub fn zipmap(b: &[u8]) -> Result<Elements, String> {
    zipmap_inner(b).map_err(|e| format!("Zipmap integrity check failed: {e}"))
}

fn zipmap_inner(b: &[u8]) -> Result<Elements, String> {
    let count = byte_at(b, 0)? as usize;
    let mut p = 1;
    let mut out = Vec::new();
    let len_at = |p: &mut usize| -> Result<usize, String> {
        let first = byte_at(b, *p)?;
        match first {
            0..=253 => {
                *p += 1;
                Ok(first as usize)
            }
            254 => {
                let n = u32_le(b, *p + 1)? as usize;
                *p += 5;
                Ok(n)
            }
            _ => Err(format!("unexpected end marker at byte {p}")),
        }
    };
    while byte_at(b, p)? != 0xff {
        let key_len = len_at(&mut p)?;
        out.push(Bytes::copy_from_slice(bytes_at(b, p, key_len)?));
        p += key_len;
        let value_len = len_at(&mut p)?;
        let free = byte_at(b, p)? as usize;
        out.push(Bytes::copy_from_slice(bytes_at(b, p + 1, value_len)?));
        bytes_at(b, p + 1 + value_len, free)?;
        p += 1 + value_len + free;
    }
    let pairs = out.len() / 2;
    if p + 1 != b.len() {
        return Err(format!("end marker at byte {p} is not the last byte"));
    }
    if count < 254 && count != pairs {
        return Err(format!("header says {count} pairs, found {pairs}"));
    }
    Ok(out)
}
