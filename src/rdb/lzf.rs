//! LZF, the byte-oriented LZ77 variant RDB files use for long strings.
//!
//! The stream is a sequence of tokens: a control byte below 32 starts a literal run of
//! `ctrl + 1` bytes; otherwise its top 3 bits are a match length minus 2 (7 means "add the next
//! byte"), its low 5 bits and the following byte form a 13-bit distance minus 1 back into the
//! output. Matches may overlap the bytes they produce (run-length style).

/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// Longest match: 2 + 7 + 255.
const MAX_MATCH: usize = 264;
/// Farthest a match may reach back.
const MAX_DISTANCE: usize = 1 << 13;
/// The best expansion a stream can achieve (a 3-byte token producing `MAX_MATCH` bytes): bounds
/// how much a declared length may exceed the compressed size before it is plainly corrupt.
pub const MAX_RATIO: usize = MAX_MATCH / 3;

/// Slots of the compressor's table of recent 3-byte sequences (liblzf's HLOG 16).
const TABLE_BITS: u32 = 16;

/// The table of earlier positions by slot, kept between calls so that a short string does not
/// pay for clearing 64 Ki slots: a slot counts only if stamped by the current call.
struct Table {
    stamp: u32,
    stamps: Vec<u32>,
    positions: Vec<usize>,
}

impl Table {
    /// Starts a call: every slot reads as empty.
    fn begin(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.stamps.fill(0);
            self.stamp = 1;
        }
    }

    /// The position last entered in slot `h`, replacing it with `pos`.
    fn swap(&mut self, h: usize, pos: usize) -> Option<usize> {
        let old = (self.stamps[h] == self.stamp).then_some(self.positions[h]);
        self.stamps[h] = self.stamp;
        self.positions[h] = pos;
        old
    }
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = std::cell::RefCell::new(Table {
        stamp: 0,
        stamps: vec![0; 1 << TABLE_BITS],
        positions: vec![0; 1 << TABLE_BITS],
    });
}

/// The table slot of the 3 bytes at `p` (liblzf's VERY_FAST hash).
fn slot(input: &[u8], p: usize) -> usize {
    let h = u32::from(input[p]) << 16 | u32::from(input[p + 1]) << 8 | u32::from(input[p + 2]);
    ((h >> 8).wrapping_sub(h.wrapping_mul(5)) & ((1 << TABLE_BITS) - 1)) as usize
}

/// Compresses `input` as Redis' liblzf does (same table, same greedy choices, so the same
/// bytes); `None` when the result would not fit `max_out` bytes (not worth it).
///
/// Each position's 3 bytes are looked up in a one-slot-per-hash table of earlier positions; a
/// hit within reach (never position 0) becomes a match as long as the bytes agree, stopping
/// 2 bytes before the end; after a match the two positions before its end are entered.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 {
        return None;
    }
    TABLE.with(|t| {
        let mut table = t.borrow_mut();
        table.begin();
        compress_with(&mut table, input, max_out)
    })
}

fn compress_with(table: &mut Table, input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    // `out` always ends with the current literal run's bytes, after its reserved control byte.
    let mut out = Vec::with_capacity(max_out);
    out.push(0);
    let mut lit = 0usize;
    let mut i = 0;
    while i + 2 < n {
        let candidate = table.swap(slot(input, i), i);
        let found = candidate
            .filter(|&r| r > 0 && r < i && i - r - 1 < MAX_DISTANCE)
            .filter(|&r| input[r..r + 3] == input[i..i + 3]);
        let Some(r) = found else {
            if out.len() >= max_out {
                return None;
            }
            push_literal(&mut out, &mut lit, input[i]);
            i += 1;
            continue;
        };
        if out.len() - usize::from(lit == 0) + 4 >= max_out {
            return None;
        }
        close_run(&mut out, lit);
        let len = match_len(input, r, i, (n - i - 2).min(MAX_MATCH));
        push_match(&mut out, len, i - r - 1);
        out.push(0);
        lit = 0;
        i += len;
        if i + 2 >= n {
            break;
        }
        for p in [i - 2, i - 1] {
            table.swap(slot(input, p), p);
        }
    }
    if out.len() + 3 > max_out {
        return None;
    }
    for &b in &input[i..] {
        push_literal(&mut out, &mut lit, b);
    }
    close_run(&mut out, lit);
    (out.len() <= max_out).then_some(out)
}

/// How far the bytes at `r` and `i` agree (at least the 3 known to), checked the way liblzf
/// steps: up to 16 bytes at a time without the `max` bound when `max` exceeds 16, then one by
/// one while below `max`.
fn match_len(input: &[u8], r: usize, i: usize, max: usize) -> usize {
    let mut len = 2;
    if max > 16 {
        for _ in 0..16 {
            len += 1;
            if input[r + len] != input[i + len] {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if len >= max || input[r + len] != input[i + len] {
            return len;
        }
    }
}

/// Appends a literal to the open run, closing it at 32 bytes and opening the next.
fn push_literal(out: &mut Vec<u8>, lit: &mut usize, b: u8) {
    out.push(b);
    *lit += 1;
    if *lit == MAX_LITERAL {
        close_run(out, *lit);
        out.push(0);
        *lit = 0;
    }
}

/// Ends the open literal run: its control byte says `lit` bytes, or it goes if it has none.
fn close_run(out: &mut Vec<u8>, lit: usize) {
    let at = out.len() - lit - 1;
    match lit {
        0 => {
            out.pop();
        }
        _ => out[at] = (lit - 1) as u8,
    }
}

/// Appends a match token: `len` bytes copied from `distance + 1` back.
fn push_match(out: &mut Vec<u8>, len: usize, distance: usize) {
    let l = len - 2;
    let high = (distance >> 8) as u8;
    if l < 7 {
        out.push((l as u8) << 5 | high);
    } else {
        out.push(7 << 5 | high);
        out.push((l - 7) as u8);
    }
    out.push(distance as u8);
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, String> {
    if out_len > input.len().saturating_mul(MAX_RATIO) {
        return Err(format!(
            "LZF length {out_len} impossible for {} compressed bytes",
            input.len()
        ));
    }
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    let byte = |ip: &mut usize| {
        let b = input.get(*ip).copied();
        *ip += 1;
        b.ok_or_else(|| "LZF stream ends inside a token".to_string())
    };
    while ip < input.len() {
        let ctrl = byte(&mut ip)? as usize;
        if ctrl < 32 {
            let run = input
                .get(ip..ip + ctrl + 1)
                .ok_or("LZF literal run past the end of the input")?;
            if out.len() + run.len() > out_len {
                return Err("LZF output longer than declared".into());
            }
            out.extend_from_slice(run);
            ip += run.len();
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += byte(&mut ip)? as usize;
        }
        let distance = ((ctrl & 0x1f) << 8 | byte(&mut ip)? as usize) + 1;
        let Some(start) = out.len().checked_sub(distance) else {
            return Err("LZF back-reference before the start of the output".into());
        };
        if out.len() + len + 2 > out_len {
            return Err("LZF output longer than declared".into());
        }
        for k in 0..len + 2 {
            out.push(out[start + k]);
        }
    }
    if out.len() != out_len {
        return Err(format!(
            "LZF output is {} bytes, declared {out_len}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    fn round_trip(data: &[u8]) -> Option<usize> {
        let c = compress(data, data.len() + data.len() / 32 + 2)?;
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        Some(c.len())
    }

    #[test]
    fn repetitive_text_shrinks_and_comes_back_intact() {
        let text = b"hello hello hello hello hello hello hello hello world".repeat(40);
        let size = round_trip(&text).unwrap();
        assert!(size < text.len() / 10, "{size}");
        let zeros = vec![0u8; 100_000];
        let size = round_trip(&zeros).unwrap();
        assert!(size < 100_000 / 80, "{size}");
    }

    #[test]
    fn random_and_tiny_inputs_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // Like liblzf, nothing comes of empty input, and the end needs room for 3 more bytes.
        assert_eq!(compress(b"", 10), None);
        assert_eq!(compress(b"x", 3), None);
        assert!(compress(b"x", 4).is_some());
        for len in [2usize, 3, 4, 31, 32, 33, 100, 8191, 8192, 8200, 20_000] {
            let mut data = vec![0u8; len];
            rng.fill_bytes(&mut data);
            // Mix in repeats at random distances, including far ones.
            for _ in 0..len / 50 {
                let from = rng.next_u32() as usize % len;
                let to = rng.next_u32() as usize % len;
                let n = (rng.next_u32() as usize % 300).min(len - from.max(to));
                data.copy_within(from..from + n, to);
            }
            round_trip(&data).unwrap();
        }
    }

    #[test]
    fn compression_gives_up_past_the_budget() {
        let mut data = vec![0u8; 200];
        ChaCha8Rng::seed_from_u64(1).fill_bytes(&mut data);
        assert_eq!(compress(&data, 196), None);
    }

    #[test]
    fn malformed_streams_are_rejected() {
        // A back-reference with nothing before it.
        assert!(decompress(&[0x20, 0x00], 3).is_err());
        // A back-reference reaching before the start of the output.
        assert!(decompress(&[0x00, b'a', 0x20, 0x05], 4).is_err());
        // A literal run longer than the input.
        assert!(decompress(&[0x05, b'a'], 6).is_err());
        // Truncated long match.
        assert!(decompress(&[0x00, b'a', 0xe0], 20).is_err());
        // Declared length mismatches.
        assert!(decompress(&[0x01, b'a', b'b'], 3).is_err());
        assert!(decompress(&[0x01, b'a', b'b'], 1).is_err());
        // Absurd declared length.
        assert!(decompress(&[0x00, b'a'], usize::MAX).is_err());
        // A valid overlapping match: "a" then 4 copies of distance 1.
        assert_eq!(decompress(&[0x00, b'a', 0x40, 0x00], 5).unwrap(), b"aaaaa");
    }
}
