//! `CompactBytes`: a byte string kept inline when short (up to 22 bytes: the whole value is 24)
//! and on the heap otherwise, in an exact-size box, or in a vector with spare room once APPEND or
//! SETRANGE grew it. Keys and string values are stored this way: no reference count, no request
//! buffer kept alive by a slice, no allocation at all for most keys (`bench/memory.sh`).

use bytes::Bytes;
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// The longest string stored inline.
const INLINE: usize = 22;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompactBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    Heap(Box<[u8]>),
    /// A string being grown in place (APPEND, SETRANGE): its vector keeps spare capacity so
    /// repeated appends stay amortized O(1), as Redis' sds does.
    Grown(Box<Vec<u8>>),
}

impl CompactBytes {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            let len = bytes.len() as u8;
            CompactBytes(Repr::Inline { len, buf })
        } else {
            CompactBytes(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        Self::slice_of(&self.0)
    }

    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_slice())
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        CompactBytes::new(b"")
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> Self {
        CompactBytes::new(b)
    }
}
impl From<&str> for CompactBytes {
    fn from(s: &str) -> Self {
        CompactBytes::new(s.as_bytes())
    }
}
impl From<Bytes> for CompactBytes {
    fn from(b: Bytes) -> Self {
        CompactBytes::new(&b)
    }
}
impl From<Vec<u8>> for CompactBytes {
    /// Takes over a long vector's allocation (shrunk to its length).
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            CompactBytes::new(&v)
        } else {
            CompactBytes(Repr::Heap(v.into_boxed_slice()))
        }
    }
}
impl CompactBytes {
    /// Keeps a long vector with its spare capacity, for a string that is being appended to.
    pub fn growable(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            CompactBytes::new(&v)
        } else {
            CompactBytes(Repr::Grown(Box::new(v)))
        }
    }
}

impl From<CompactBytes> for Vec<u8> {
    /// The bytes as a vector, reusing a heap allocation (and a grown one's capacity).
    fn from(c: CompactBytes) -> Self {
        match c.0 {
            Repr::Heap(b) => b.into_vec(),
            Repr::Grown(v) => *v,
            inline => CompactBytes::slice_of(&inline).to_vec(),
        }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes::copy_from_slice(self.as_slice()), f)
    }
}

// Equality and order are those of the bytes, whichever way they are stored.
impl PartialEq for Repr {
    fn eq(&self, o: &Self) -> bool {
        CompactBytes::slice_of(self) == CompactBytes::slice_of(o)
    }
}
impl Eq for Repr {}
impl PartialOrd for Repr {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Repr {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        CompactBytes::slice_of(self).cmp(CompactBytes::slice_of(o))
    }
}
impl std::hash::Hash for Repr {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        CompactBytes::slice_of(self).hash(h)
    }
}

impl CompactBytes {
    fn slice_of(r: &Repr) -> &[u8] {
        match r {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Heap(b) => b,
            Repr::Grown(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_strings_round_trip_and_compare_as_bytes() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        let short = CompactBytes::new(b"key:1");
        let edge = CompactBytes::new(&[7; INLINE]);
        let long = CompactBytes::new(&[7; INLINE + 1]);
        assert_eq!(&*short, b"key:1");
        assert!(matches!(edge.0, Repr::Inline { .. }));
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(long.len(), INLINE + 1);
        assert!(edge < long && CompactBytes::new(b"") < short);
        assert_eq!(CompactBytes::new(&[7; INLINE]), edge);
        assert_eq!(short.to_bytes(), Bytes::from_static(b"key:1"));
        let mut v = Vec::from(long.clone());
        v.reserve(100);
        let grown = CompactBytes::growable(v);
        assert_eq!(grown, long);
        assert!(Vec::from(grown).capacity() >= INLINE + 101);
    }
}
