//! Listpacks and intsets as Redis builds them: each string becomes the element listpack.c would
//! store (canonical integers as integers, the smallest encoding that fits), so the blobs, their
//! sizes and the nodes they fill match Redis byte for byte. Decoding is in `encodings`.

use super::encodings::backlen;
use crate::resp::parse_i64;
use bytes::BufMut;

/// Header (total bytes u32, element count u16) and end marker.
pub(super) const LP_OVERHEAD: usize = 7;

/// One element as listpack.c would encode it.
pub(super) enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

pub(super) fn elem(s: &[u8]) -> Elem<'_> {
    match (s.len() <= 20).then(|| parse_i64(s)).flatten() {
        Some(v) => Elem::Int(v),
        None => Elem::Str(s),
    }
}

/// Appends the element's encoding and data (without the back length); returns its size.
fn encode(out: &mut Vec<u8>, e: &Elem) -> usize {
    let start = out.len();
    match *e {
        Elem::Int(v @ 0..=127) => out.push(v as u8),
        Elem::Int(v @ -4096..=4095) => {
            let u = (v as u16) & 0x1fff;
            out.push(0xc0 | (u >> 8) as u8);
            out.push(u as u8);
        }
        Elem::Int(v) if i16::try_from(v).is_ok() => {
            out.push(0xf1);
            out.put_i16_le(v as i16);
        }
        Elem::Int(v @ -8_388_608..=8_388_607) => {
            out.push(0xf2);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        Elem::Int(v) if i32::try_from(v).is_ok() => {
            out.push(0xf3);
            out.put_i32_le(v as i32);
        }
        Elem::Int(v) => {
            out.push(0xf4);
            out.put_i64_le(v);
        }
        Elem::Str(s) if s.len() < 64 => {
            out.push(0x80 | s.len() as u8);
            out.extend_from_slice(s);
        }
        Elem::Str(s) if s.len() < 4096 => {
            out.push(0xe0 | (s.len() >> 8) as u8);
            out.push(s.len() as u8);
            out.extend_from_slice(s);
        }
        Elem::Str(s) => {
            out.push(0xf0);
            out.put_u32_le(s.len() as u32);
            out.extend_from_slice(s);
        }
    }
    out.len() - start
}

/// The element's full size in the listpack (encoding, data, back length).
pub(super) fn size(e: &Elem) -> usize {
    let n = match *e {
        Elem::Int(0..=127) => 1,
        Elem::Int(-4096..=4095) => 2,
        Elem::Int(v) if i16::try_from(v).is_ok() => 3,
        Elem::Int(-8_388_608..=8_388_607) => 4,
        Elem::Int(v) if i32::try_from(v).is_ok() => 5,
        Elem::Int(_) => 9,
        Elem::Str(s) if s.len() < 64 => 1 + s.len(),
        Elem::Str(s) if s.len() < 4096 => 2 + s.len(),
        Elem::Str(s) => 5 + s.len(),
    };
    n + backlen(n).1
}

/// The bytes a string takes as one listpack element (integers encoded as integers).
pub fn lp_element_bytes(s: &[u8]) -> usize {
    size(&elem(s))
}

/// The listpack of `elems`: header, each element with its back length, end marker. The count
/// field saturates at 65535 (Redis' "unknown, walk to count").
pub(super) fn build(elems: &[Elem]) -> Vec<u8> {
    let mut out = vec![0u8; 6];
    for e in elems {
        let n = encode(&mut out, e);
        let (b, len) = backlen(n);
        out.extend_from_slice(&b[..len]);
    }
    out.push(0xff);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let count = elems.len().min(u16::MAX as usize) as u16;
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// The listpack of these strings.
pub(super) fn of_strings<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    build(&items.map(elem).collect::<Vec<_>>())
}

/// An intset of these canonical integers: the narrowest width holding all, values ascending.
pub(super) fn intset<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut values: Vec<i64> = items.filter_map(parse_i64).collect();
    values.sort_unstable();
    let fits = |lo: i64, hi: i64| values.iter().all(|v| (lo..=hi).contains(v));
    let width: usize = if fits(i16::MIN.into(), i16::MAX.into()) {
        2
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.put_u32_le(width as u32);
    out.put_u32_le(values.len() as u32);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}
