//! The 48-bit linear congruential generator behind Redis' `math.random` (the drand48 family):
//! the same seed gives scripts the same numbers as on Redis, on every platform. It starts from
//! drand48's fixed state, so it needs no entropy, and `math.randomseed` resets it.

pub struct Rand48 {
    x: u64,
}

const MASK: u64 = (1 << 48) - 1;
const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 {
            x: 0x1234_ABCD_330E,
        }
    }
}

impl Rand48 {
    /// The largest value `next` may return (Redis' REDIS_LRAND48_MAX).
    pub const MAX: u32 = i32::MAX as u32;

    /// The next 31-bit value (lrand48).
    pub fn next(&mut self) -> u32 {
        self.x = (A.wrapping_mul(self.x).wrapping_add(C)) & MASK;
        (self.x >> 17) as u32
    }

    /// srand48: the seed's 32 bits above drand48's constant low word.
    pub fn seed(&mut self, seed: i32) {
        self.x = (u64::from(seed as u32) << 16) | 0x330E;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_sequence_matches_lrand48() {
        // srand48(0); lrand48() twice, as glibc computes them.
        let mut r = Rand48::default();
        r.seed(0);
        assert_eq!([r.next(), r.next()], [366_850_414, 1_610_402_240]);
    }
}
