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

/// Compresses `input`; `None` when the result would exceed `max_out` bytes (not worth it).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    // A hash table sized to the input (at most 2^14 slots) of the last position of each 3-byte
    // prefix, offset by one so that 0 means empty.
    let bits = (usize::BITS - n.max(16).leading_zeros()).min(14);
    let mut table = vec![0usize; 1 << bits];
    let hash = |i: usize| {
        let v = (input[i] as u32) << 16 | (input[i + 1] as u32) << 8 | input[i + 2] as u32;
        (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
    };
    let mut out = Vec::with_capacity(max_out.min(n + n / MAX_LITERAL + 1));
    let mut literal_start = 0;
    let mut i = 0;
    while i + 2 < n {
        let h = hash(i);
        let candidate = table[h].checked_sub(1);
        table[h] = i + 1;
        let found =
            candidate.filter(|&c| i - c <= MAX_DISTANCE && input[c..c + 3] == input[i..i + 3]);
        let Some(c) = found else {
            i += 1;
            continue;
        };
        let limit = MAX_MATCH.min(n - i);
        let mut len = 3;
        while len < limit && input[c + len] == input[i + len] {
            len += 1;
        }
        push_literals(&mut out, &input[literal_start..i]);
        push_match(&mut out, len, i - c - 1);
        if out.len() > max_out {
            return None;
        }
        i += len;
        literal_start = i;
    }
    push_literals(&mut out, &input[literal_start..]);
    (out.len() <= max_out).then_some(out)
}

fn push_literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

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
        for len in [
            0usize, 1, 2, 3, 4, 31, 32, 33, 100, 8191, 8192, 8200, 20_000,
        ] {
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
