//! The per-key access clock behind OBJECT IDLETIME / FREQ and LRU / LFU eviction, with Redis
//! 7.2's rules: every lookup that is not NOTOUCH records the access time; under an LFU policy it
//! also decays the key's 8-bit counter by one per `lfu-decay-time` minutes elapsed and increments
//! it logarithmically (`lfu-log-factor`), starting from LFU_INIT_VAL for a new key.
//!
//! The increment's coin flips come from a generator seeded from the server's seeded RNG, so a run
//! replays exactly; the core never reads a clock of its own (`now_ms` comes in).

use super::encoding::ObjMeta;

/// The counter a new key starts with (LFU_INIT_VAL).
pub const LFU_INIT_VAL: u8 = 5;

/// How lookups age keys: the policy's settings, shared by all databases.
#[derive(Clone, Debug)]
pub struct Access {
    /// An LFU maxmemory policy is selected: counters are kept.
    pub lfu: bool,
    pub log_factor: u64,
    pub decay_min: u64,
    /// New small integers are Redis' shared objects (not with maxmemory and an LRU/LFU policy).
    pub share_ints: bool,
    rng: u64,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            lfu: false,
            log_factor: 10,
            decay_min: 1,
            share_ints: true,
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Access {
    /// Seeds the counter's coin flips (from the server's seeded RNG).
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// Takes `settings`' policy values, keeping this generator's state.
    pub fn adopt(&mut self, settings: &Access) {
        *self = Access {
            rng: self.rng,
            ..settings.clone()
        };
    }

    /// A uniform number in [0, 1) (xorshift64*).
    fn unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A lookup found the key at `now_ms`.
    pub fn touch(&mut self, meta: &mut ObjMeta, now_ms: u64) {
        meta.access_ms = now_ms;
        if self.lfu {
            let counter = self.decayed(meta, now_ms);
            meta.lfu_count = self.log_incr(counter);
            meta.lfu_min = Some(unix_minute(now_ms));
        }
    }

    /// A command stored or changed the key at `now_ms`: a new key starts its clocks here (unless
    /// the command set its access time itself).
    pub fn written(&self, meta: &mut ObjMeta, now_ms: u64) {
        if !std::mem::take(&mut meta.keep_access) {
            meta.access_ms = now_ms;
        }
        meta.lfu_min.get_or_insert(unix_minute(now_ms));
        meta.shared_int = self.share_ints;
    }

    /// The counter after the decay due by `now_ms` (LFUDecrAndReturn), without storing it.
    pub fn decayed(&self, meta: &ObjMeta, now_ms: u64) -> u8 {
        let Some(since) = meta.lfu_min else {
            return meta.lfu_count;
        };
        let elapsed = (now_ms / 60_000).saturating_sub(since as u64);
        let periods = elapsed.checked_div(self.decay_min).unwrap_or(0);
        meta.lfu_count.saturating_sub(periods.min(255) as u8)
    }

    /// LFULogIncr: the higher the counter, the less likely it grows.
    fn log_incr(&mut self, counter: u8) -> u8 {
        if counter == u8::MAX {
            return counter;
        }
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * self.log_factor as f64 + 1.0);
        counter + u8::from(self.unit() < p)
    }
}

/// The unix minute of `now_ms`, as the LFU clock keeps it (a u32 lasts beyond the year 10000).
pub fn unix_minute(now_ms: u64) -> u32 {
    u32::try_from(now_ms / 60_000).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays_per_period() {
        let mut a = Access {
            lfu: true,
            ..Default::default()
        };
        let mut m = ObjMeta::default();
        a.written(&mut m, 0);
        assert_eq!(a.decayed(&m, 0), LFU_INIT_VAL);
        for _ in 0..100 {
            a.touch(&mut m, 1000);
        }
        let hot = m.lfu_count;
        assert!(
            (8..=14).contains(&hot),
            "100 hits with log factor 10: {hot}"
        );
        assert_eq!(a.decayed(&m, 1000 + 3 * 60_000), hot - 3);
        a.decay_min = 0;
        assert_eq!(
            a.decayed(&m, 1000 + 3 * 60_000),
            hot,
            "decay-time 0: no decay"
        );
    }
}
