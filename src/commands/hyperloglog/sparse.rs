//! The sparse representation: run-length opcodes after the header, Redis' byte for byte.
//! ZERO `00xxxxxx` is 1..64 zero registers, XZERO `01xxxxxx yyyyyyyy` 1..16384 zero registers,
//! VAL `1vvvvvxx` 1..4 registers of value 1..32. A valid HLL's runs cover exactly 16384 registers.

use super::estimate::Histogram;
use super::{dense, HDR_LEN, REGISTERS};

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// One decoded opcode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    /// Decodes the opcode at `at` (a truncated XZERO reads 0 as Redis reads the NUL terminator).
    fn at(s: &[u8], at: usize) -> Op {
        let b = s[at];
        match b & 0xc0 {
            0x00 => Op::Zero(usize::from(b & 0x3f) + 1),
            0x40 => {
                let low = s.get(at + 1).copied().unwrap_or(0);
                Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1)
            }
            _ => Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1),
        }
    }
    fn len(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
    /// Appends the encoding of this opcode.
    fn encode(self, to: &mut Vec<u8>) {
        match self {
            Op::Zero(n) => to.push((n - 1) as u8),
            Op::XZero(n) => to.extend([((n - 1) >> 8) as u8 | 0x40, (n - 1) as u8]),
            Op::Val(v, n) => to.push(((v - 1) << 2) | (n - 1) as u8 | 0x80),
        }
    }
    /// The opcode for `n` zero registers, the short form when it fits.
    fn zeros(n: usize) -> Op {
        if n > ZERO_MAX_LEN {
            Op::XZero(n)
        } else {
            Op::Zero(n)
        }
    }
}

/// The opcodes of a sparse HLL string, each with its offset.
pub fn ops(s: &[u8]) -> impl Iterator<Item = (usize, Op)> + '_ {
    let mut at = HDR_LEN;
    std::iter::from_fn(move || {
        (at < s.len()).then(|| {
            let op = Op::at(s, at);
            let here = at;
            at += op.len();
            (here, op)
        })
    })
}

/// The empty sparse body: XZERO runs covering every register.
pub fn empty_body() -> Vec<u8> {
    let mut body = Vec::new();
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        Op::XZero(n).encode(&mut body);
        left -= n;
    }
    body
}

/// Calls `f(index, run, value)` for each VAL run; false if the runs do not cover exactly
/// 16384 registers (a VAL run past the end stops the walk, as in Redis).
fn walk_values(s: &[u8], mut f: impl FnMut(usize, usize, u8)) -> bool {
    let mut idx = 0;
    for (_, op) in ops(s) {
        if let Op::Val(v, n) = op {
            if idx + n > REGISTERS {
                return false;
            }
            f(idx, n, v);
        }
        idx += op.span();
    }
    idx == REGISTERS
}

/// The dense string with the same registers (header copied, encoding changed), or `None` for a
/// corrupted HLL.
pub fn to_dense(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = s[..HDR_LEN].to_vec();
    out[4] = super::DENSE;
    out.resize(HDR_LEN + dense::REGISTERS_LEN, 0);
    let regs = &mut out[HDR_LEN..];
    let valid = walk_values(s, |idx, n, v| {
        for i in idx..idx + n {
            dense::put(regs, i, v);
        }
    });
    valid.then_some(out)
}

/// Adds the register counts to `hist`; false for a corrupted HLL.
pub fn histogram(s: &[u8], hist: &mut Histogram) -> bool {
    let mut idx = 0;
    for (_, op) in ops(s) {
        let slot = match op {
            Op::Val(v, _) => usize::from(v),
            _ => 0,
        };
        hist[slot] += op.span() as u64;
        idx += op.span();
    }
    idx == REGISTERS
}

/// Raises `max[i]` to register i wherever it is higher; false for a corrupted HLL.
pub fn merge_into(s: &[u8], max: &mut [u8]) -> bool {
    walk_values(s, |idx, n, v| {
        for m in &mut max[idx..idx + n] {
            *m = (*m).max(v);
        }
    })
}

/// What setting a register did.
#[derive(Debug, PartialEq)]
pub enum Set {
    Unchanged,
    Updated,
    /// The HLL is corrupted.
    Invalid,
}

/// Raises register `index` to `count` in the sparse HLL `s`, promoting it to dense (in place)
/// when the value does not fit a VAL opcode or the string would pass `max_bytes`.
pub fn set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Set {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Find the opcode covering `index`, and the one before it.
    let (mut first, mut prev, mut found) = (0, None, None);
    for (at, op) in ops(s) {
        if index < first + op.span() {
            found = Some((at, op));
            break;
        }
        prev = Some(at);
        first += op.span();
    }
    let Some((at, op)) = found else {
        return Set::Invalid;
    };
    let last = first + op.span() - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Val(old, _) if old >= count => return Set::Unchanged,
        Op::Val(_, 1) | Op::Zero(1) => Op::Val(count, 1).encode(&mut seq),
        Op::Val(old, _) => {
            if index != first {
                Op::Val(old, index - first).encode(&mut seq);
            }
            Op::Val(count, 1).encode(&mut seq);
            if index != last {
                Op::Val(old, last - index).encode(&mut seq);
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                Op::zeros(index - first).encode(&mut seq);
            }
            Op::Val(count, 1).encode(&mut seq);
            if index != last {
                Op::zeros(last - index).encode(&mut seq);
            }
        }
    }
    if seq.len() > op.len() && s.len() + seq.len() - op.len() > max_bytes {
        return promote(s, index, count);
    }
    let end = (at + op.len()).min(s.len());
    s.splice(at..end, seq);
    merge_adjacent_values(s, prev.unwrap_or(HDR_LEN));
    super::invalidate_cache(s);
    Set::Updated
}

/// Joins neighbouring VAL opcodes of equal value among the five opcodes from `at`, as Redis does
/// after each update.
fn merge_adjacent_values(s: &mut Vec<u8>, mut at: usize) {
    for _ in 0..5 {
        if at >= s.len() {
            return;
        }
        let op = Op::at(s, at);
        let Op::Val(v1, n1) = op else {
            at += op.len();
            continue;
        };
        if let Some(Op::Val(v2, n2)) = (at + 1 < s.len()).then(|| Op::at(s, at + 1)) {
            if v1 == v2 && n1 + n2 <= VAL_MAX_LEN {
                let mut joined = Vec::with_capacity(1);
                Op::Val(v1, n1 + n2).encode(&mut joined);
                s.splice(at..at + 2, joined);
                continue;
            }
        }
        at += 1;
    }
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Set {
    let Some(mut d) = to_dense(s) else {
        return Set::Invalid;
    };
    dense::raise(&mut d[HDR_LEN..], index, count);
    *s = d;
    Set::Updated
}

/// PFDEBUG DECODE's text: `z:N`, `Z:N` and `v:VALUE,N` for each opcode.
pub fn decode(s: &[u8]) -> String {
    let words: Vec<String> = ops(s)
        .map(|(_, op)| match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(v, n) => format!("v:{v},{n}"),
        })
        .collect();
    words.join(" ")
}
