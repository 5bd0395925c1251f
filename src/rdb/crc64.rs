//! CRC-64 as Redis computes it for RDB files: the Jones polynomial (0xad93d23594c935a9),
//! reflected input and output, initial value 0, no final xor. Table-driven, one byte at a time,
//! and resumable: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.

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

/// Continues the checksum `crc` over `data` (start with 0).
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    data.iter().fold(crc, |crc, &b| {
        TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc64;

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
