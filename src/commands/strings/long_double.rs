//! INCRBYFLOAT's arithmetic: x87 80-bit extended precision ("long double" on x86-64), emulated
//! in software so replies carry the same digits as Redis (`1000 + 0.1` is
//! `1000.09999999999999998` there, not what `f64` would give).
//!
//! Three exact steps, each rounding once to nearest-even like the hardware and libc do:
//! parse as `strtold` (decimal and hex forms, `inf`), add with a 64-bit significand, and print as
//! `%.17Lf` with trailing zeros removed (Redis' "human friendly" long double format).

use std::cmp::Ordering;

/// Redis refuses float strings this long or longer (MAX_LONG_DOUBLE_CHARS).
const MAX_CHARS: usize = 5 * 1024;
/// Largest binary exponent of a finite value `mant * 2^exp` (mant normalised to 64 bits).
const MAX_EXP: i64 = 16383 - 63;
/// Below this the value is under the smallest subnormal and reads as zero (an underflow error).
const MIN_EXP: i64 = -16445 - 64;

#[derive(Debug, PartialEq, Eq)]
pub enum AddError {
    /// An operand is not a number `strtold` accepts in full (or over/underflows).
    NotAFloat,
    /// The sum is infinite or NaN.
    NotFinite,
}

/// `value + incr` formatted as Redis stores and replies it.
pub fn add(value: &[u8], incr: &[u8]) -> Result<String, AddError> {
    let a = parse(value).ok_or(AddError::NotAFloat)?;
    let b = parse(incr).ok_or(AddError::NotAFloat)?;
    match (a, b) {
        (Num::Finite(a), Num::Finite(b)) => sum(a, b).map(format).ok_or(AddError::NotFinite),
        _ => Err(AddError::NotFinite),
    }
}

/// A finite extended value `(-1)^neg * mant * 2^exp`; `mant` has its top bit set unless zero.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ext {
    neg: bool,
    mant: u64,
    exp: i64,
}

enum Num {
    Finite(Ext),
    Inf,
}

// ---- parsing -------------------------------------------------------------------------------

/// Parses like Redis' `string2ld`: the whole string must be a `strtold` number, no leading space,
/// no NaN, and no overflow or underflow to zero.
fn parse(s: &[u8]) -> Option<Num> {
    if s.is_empty() || s.len() >= MAX_CHARS {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Num::Inf);
    }
    let ext = match body {
        [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex)?,
        _ => parse_decimal(body)?,
    };
    Some(Num::Finite(Ext { neg, ..ext }))
}

/// Splits `digits[.digits]` off the front; returns (integer part, fraction part, rest).
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8], &[u8])> {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let (int, rest) = s.split_at(int_len);
    let (frac, rest) = match rest.strip_prefix(b".") {
        Some(r) => r.split_at(r.iter().take_while(|c| is_digit(c)).count()),
        None => (&rest[..0], rest),
    };
    (!int.is_empty() || !frac.is_empty()).then_some((int, frac, rest))
}

/// Parses an exponent suffix (`e-7`, `p+3`): an empty suffix is 0; a malformed one is `None`.
/// Huge exponents saturate (the value then over- or underflows anyway).
fn parse_exponent(s: &[u8], marker: u8) -> Option<i64> {
    let Some((&m, rest)) = s.split_first() else {
        return Some(0);
    };
    if m.to_ascii_lowercase() != marker {
        return None;
    }
    let (neg, digits) = match rest.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, d| (v * 10 + (d - b'0') as i64).min(1 << 40));
    Some(if neg { -v } else { v })
}

fn parse_decimal(s: &[u8]) -> Option<Ext> {
    let (int, frac, rest) = split_mantissa(s, u8::is_ascii_digit)?;
    let exp10 = parse_exponent(rest, b'e')? - frac.len() as i64;
    let mut n = Big::default();
    for &d in int.iter().chain(frac) {
        n.mul_add(10, (d - b'0') as u32);
    }
    // Leave out magnitudes that certainly overflow or underflow before doing big arithmetic.
    let digits = n.decimal_digits_upper_bound();
    if n.is_zero() {
        return Some(Ext::ZERO);
    }
    if exp10 + digits as i64 > 4940 || exp10 + (digits as i64) < -4960 {
        return None;
    }
    round_ratio(n, exp10, exp10)
}

fn parse_hex(s: &[u8]) -> Option<Ext> {
    let (int, frac, rest) = split_mantissa(s, u8::is_ascii_hexdigit)?;
    let exp2 = parse_exponent(rest, b'p')? - 4 * frac.len() as i64;
    let mut n = Big::default();
    for &d in int.iter().chain(frac) {
        n.mul_add(16, (d as char).to_digit(16).unwrap_or(0));
    }
    if n.is_zero() {
        return Some(Ext::ZERO);
    }
    let bits = n.bits() as i64;
    if exp2 + bits > MAX_EXP + 65 || exp2 + bits < MIN_EXP {
        return None;
    }
    round_ratio(n, 0, exp2)
}

/// Rounds `n * 5^exp5 * 2^exp2` (`n` not zero) to the nearest extended value; `None` on
/// overflow or underflow to zero, which `strtold` reports as a range error.
fn round_ratio(mut num: Big, exp5: i64, exp2: i64) -> Option<Ext> {
    let mut den = Big::from_u64(1);
    if exp5 >= 0 {
        num.mul_pow5(exp5 as u32);
    } else {
        den.mul_pow5((-exp5) as u32);
    }
    // Scale so the quotient has 66..68 bits: 64 for the significand plus rounding bits.
    let scale = 67 - (num.bits() as i64 - den.bits() as i64);
    if scale >= 0 {
        num.shl(scale as usize);
    } else {
        den.shl((-scale) as usize);
    }
    let (q, inexact) = num.div_small_quotient(&den);
    round(false, q, exp2 - scale, inexact).filter(|v| v.mant != 0)
}

// ---- arithmetic ----------------------------------------------------------------------------

impl Ext {
    const ZERO: Ext = Ext {
        neg: false,
        mant: 0,
        exp: 0,
    };
}

/// Rounds `(-1)^neg * (q + sticky) * 2^exp` to a 64-bit significand, nearest-even; `sticky`
/// says bits below `q` were lost (only possible when `q` has more than 64 bits). `None` on
/// overflow; values under the subnormal range become zero.
fn round(neg: bool, q: u128, exp: i64, sticky: bool) -> Option<Ext> {
    if q == 0 {
        return Some(Ext { neg, ..Ext::ZERO });
    }
    let width = 128 - q.leading_zeros() as i64;
    let (mant, exp) = if width <= 64 {
        ((q << (64 - width)) as u64, exp - (64 - width))
    } else {
        let extra = (width - 64) as u32;
        let low = q & ((1u128 << extra) - 1);
        let half = 1u128 << (extra - 1);
        let mut mant = (q >> extra) as u64;
        let mut exp = exp + extra as i64;
        let up = low > half || (low == half && (sticky || mant & 1 == 1));
        if up {
            mant = match mant.checked_add(1) {
                Some(m) => m,
                None => {
                    exp += 1;
                    1 << 63
                }
            };
        }
        (mant, exp)
    };
    if exp > MAX_EXP {
        return None;
    }
    if exp < MIN_EXP {
        return Some(Ext { neg, ..Ext::ZERO });
    }
    Some(Ext { neg, mant, exp })
}

/// `a + b` rounded once; `None` if it overflows to infinity.
fn sum(a: Ext, b: Ext) -> Option<Ext> {
    if a.mant == 0 {
        return Some(b);
    }
    if b.mant == 0 {
        return Some(a);
    }
    let (hi, lo) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    // 62 guard bits below the larger significand; the smaller one is shifted into place and
    // `lost` remembers whether any of its bits fell off the end.
    let base = hi.exp - 62;
    let x = (hi.mant as u128) << 62;
    let shift = lo.exp - base;
    let (y, lost) = if shift >= 0 {
        ((lo.mant as u128) << shift, false)
    } else if -shift >= 128 {
        (0, true)
    } else {
        let s = (-shift) as u32;
        let y = (lo.mant as u128) >> s;
        (y, y << s != lo.mant as u128)
    };
    // The exact sum lies strictly between `mag` and `mag + 1` when bits were lost.
    let (neg, mag) = if hi.neg == lo.neg {
        (hi.neg, x + y)
    } else if x >= y {
        (hi.neg, x - y - u128::from(lost))
    } else {
        (lo.neg, y - x)
    };
    round(neg, mag, base, lost)
}

// ---- printing ------------------------------------------------------------------------------

/// `%.17Lf`, then trailing zeros (and a bare '.') removed, and "-0" printed as "0".
fn format(v: Ext) -> String {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17
    let (int, frac) = if v.exp >= 0 {
        let mut n = Big::from_u64(v.mant);
        n.shl(v.exp as usize);
        (n, 0)
    } else {
        let f = (-v.exp) as u32;
        let (int, low) = if f >= 64 {
            (0, v.mant as u128)
        } else {
            (v.mant >> f, (v.mant & ((1u64 << f) - 1)) as u128)
        };
        let scaled = low * SCALE; // < 2^121
        let (mut digits, up) = if f > 121 {
            (0, false)
        } else {
            let digits = scaled >> f;
            let rem = scaled & ((1u128 << f) - 1);
            let half = 1u128 << (f - 1);
            (digits, rem > half || (rem == half && digits & 1 == 1))
        };
        let mut int = int;
        if up {
            digits += 1;
            if digits == SCALE {
                digits = 0;
                int += 1;
            }
        }
        (Big::from_u64(int), digits)
    };
    let mut s = String::new();
    if v.neg {
        s.push('-');
    }
    s.push_str(&int.to_decimal());
    if frac != 0 {
        let f = format!("{frac:017}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

// ---- a minimal unsigned big integer (little-endian u32 limbs) ------------------------------

#[derive(Clone, Debug, Default)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u64(v: u64) -> Self {
        let mut b = Big {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }
    fn bits(&self) -> usize {
        self.limbs
            .last()
            .map_or(0, |t| self.limbs.len() * 32 - t.leading_zeros() as usize)
    }
    /// An upper bound on the number of decimal digits.
    fn decimal_digits_upper_bound(&self) -> usize {
        self.bits() * 30103 / 100000 + 1
    }
    /// `self = self * m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for l in &mut self.limbs {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }
    fn mul_pow5(&mut self, mut n: u32) {
        const POW5_13: u32 = 1_220_703_125;
        while n >= 13 {
            self.mul_add(POW5_13, 0);
            n -= 13;
        }
        self.mul_add(5u32.pow(n), 0);
    }
    fn shl(&mut self, n: usize) {
        let (words, bits) = (n / 32, (n % 32) as u32);
        if bits != 0 {
            let mut carry = 0u32;
            for l in &mut self.limbs {
                let v = (*l << bits) | carry;
                carry = *l >> (32 - bits);
                *l = v;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, words));
    }
    fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.limbs.iter_mut().rev() {
            let v = (*l >> 1) | carry;
            carry = *l << 31;
            *l = v;
        }
        self.trim();
    }
    fn cmp(&self, o: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&o.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(o.limbs.iter().rev()))
    }
    /// `self -= o`, requiring `self >= o`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, l) in self.limbs.iter_mut().enumerate() {
            let v = *l as i64 - o.limbs.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = i64::from(v < 0);
            *l = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }
    /// `self / den` for a quotient known to fit in 128 bits, and whether a remainder was left.
    fn div_small_quotient(mut self, den: &Big) -> (u128, bool) {
        let shift = self.bits().saturating_sub(den.bits());
        let mut d = den.clone();
        d.shl(shift);
        let mut q = 0u128;
        for _ in 0..=shift {
            q <<= 1;
            if self.cmp(&d) != Ordering::Less {
                self.sub(&d);
                q |= 1;
            }
            d.shr1();
        }
        (q, !self.is_zero())
    }
    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 1_000_000_000;
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for l in n.limbs.iter_mut().rev() {
                let v = (rem << 32) | *l as u64;
                *l = (v / CHUNK) as u32;
                rem = v % CHUNK;
            }
            n.trim();
            chunks.push(rem);
        }
        let mut s = chunks.pop().map_or("0".into(), |c| c.to_string());
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(a: &str, b: &str) -> String {
        add(a.as_bytes(), b.as_bytes()).expect("valid")
    }

    #[test]
    fn sums_show_extended_precision_digits_like_redis_on_x86_64() {
        assert_eq!(ok("10.5", "0.1"), "10.6");
        assert_eq!(ok("0.1", "0.2"), "0.3");
        assert_eq!(ok("1000", "0.1"), "1000.09999999999999998");
        assert_eq!(ok("10.6", "12345.678"), "12356.27799999999999958");
        assert_eq!(ok("17179869184", "1.5"), "17179869185.5");
        assert_eq!(ok("5.0e3", "2.0e2"), "5200");
        assert_eq!(ok("1", "-1.1"), "-0.1");
        assert_eq!(ok("0", "1e-20"), "0");
        assert_eq!(ok("0", "-1e-20"), "0");
        assert_eq!(ok("0", "0x10"), "16");
        assert_eq!(ok("0", "0x1.8p1"), "3");
        assert!(ok("0", "1e300").starts_with("1000000000000000000008997324079559193870"));
    }

    #[test]
    fn strtold_rejections_are_not_a_float() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "1e+", ".", "nan", "0x", "1\u{0}2", "1e-5000", "1e5000",
        ] {
            assert_eq!(
                add(b"0", bad.as_bytes()),
                Err(AddError::NotAFloat),
                "{bad:?}"
            );
        }
        assert_eq!(add(b"0", b"+inf"), Err(AddError::NotFinite));
        assert_eq!(add(b"1e4932", b"1e4932"), Err(AddError::NotFinite));
    }
}
