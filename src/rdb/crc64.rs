//! CRC-64 as Redis computes it for RDB files: the Jones polynomial (0xad93d23594c935a9),
//! reflected input and output, initial value 0, no final xor. Table-driven, eight bytes at a time
//! (slice-by-8), and resumable: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.

/// The Jones polynomial, bit-reversed for the reflected algorithm.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
const TABLES: [[u64; 256]; 8] = {
    let mut t = [[0u64; 256]; 8];
    t[0] = TABLE;
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ TABLE[(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// Continues the checksum `crc` over `data` (start with 0).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    chunks.remainder().iter().fold(crc, |crc, &b| {
        TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc64;

    /// The byte-at-a-time definition, to check the fast path against.
    fn slow(crc: u64, data: &[u8]) -> u64 {
        data.iter().fold(crc, |crc, &b| {
            super::TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
        })
    }

    #[test]
    fn eight_bytes_at_a_time_equals_one_at_a_time_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), slow(0, &data[..len]), "len {len}");
        }
        for cut in 0..40 {
            assert_eq!(crc64(crc64(0, &data[..cut]), &data[cut..]), slow(0, &data));
        }
    }

    #[test]
    fn check_value_of_the_standard_test_string_matches_redis() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn checksum_can_be_computed_in_pieces() {
        let data = b"REDIS0010 some snapshot bytes \x00\xff";
        let whole = crc64(0, data);
        for split in 0..=data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64(crc64(0, a), b), whole);
        }
    }
}
