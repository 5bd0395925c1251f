//! The dense representation: 16384 registers of 6 bits packed little-endian-first into 12288
//! bytes after the header (register 0 in the low 6 bits of byte 0, register 1 in its top 2 bits
//! and the low 4 bits of byte 1, ...).

use super::estimate::Histogram;
use super::{BITS, REGISTERS, REGISTER_MAX};

/// Bytes the registers of a dense HLL take.
pub const REGISTERS_LEN: usize = (REGISTERS * BITS).div_ceil(8);

fn position(index: usize) -> (usize, u32) {
    (index * BITS / 8, (index * BITS % 8) as u32)
}

/// The value of register `index`.
pub fn get(regs: &[u8], index: usize) -> u8 {
    let (byte, shift) = position(index);
    let b0 = u16::from(regs[byte]);
    // The last register fits in its first byte; Redis reads the string's NUL terminator there.
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

/// Stores `value` (at most 63) in register `index`.
pub fn put(regs: &mut [u8], index: usize, value: u8) {
    let (byte, shift) = position(index);
    let wide = u16::from(value) << shift;
    let mask = u16::from(REGISTER_MAX) << shift;
    regs[byte] = (regs[byte] & !(mask as u8)) | wide as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (wide >> 8) as u8;
    }
}

/// Raises register `index` to `count`; true if it was lower.
pub fn raise(regs: &mut [u8], index: usize, count: u8) -> bool {
    let higher = count > get(regs, index);
    if higher {
        put(regs, index, count);
    }
    higher
}

pub fn histogram(regs: &[u8], hist: &mut Histogram) {
    for i in 0..REGISTERS {
        hist[usize::from(get(regs, i))] += 1;
    }
}

/// Raises `max[i]` to register i wherever it is higher.
pub fn merge_into(regs: &[u8], max: &mut [u8]) {
    for (i, m) in max.iter_mut().enumerate() {
        *m = (*m).max(get(regs, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_keep_their_values_without_touching_neighbours() {
        let mut regs = vec![0u8; REGISTERS_LEN];
        for i in 0..REGISTERS {
            put(&mut regs, i, (i * 7 % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(get(&regs, i), (i * 7 % 64) as u8, "register {i}");
        }
    }
}
