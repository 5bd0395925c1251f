//! DEBUG DIGEST and DIGEST-VALUE: Redis' dataset signature, so a master and its replica (or a
//! server and a real Redis holding the same data) print the same hex string.
//!
//! The scheme (debug.c's): `xor` folds a SHA-1 into a digest (order-free: set members, hash
//! fields, keys); `mix` folds then re-hashes (order matters: list elements, a key then its value).

use super::sha1::sha1;
use crate::db::{Entry, Keyspace, StreamId, Value};
use crate::text::fmt_double;

pub type Digest = [u8; 20];

fn xor(digest: &mut Digest, data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

fn mix(digest: &mut Digest, data: &[u8]) {
    xor(digest, data);
    *digest = sha1(digest);
}

/// The type codes Redis mixes in first (OBJ_STRING .. OBJ_HASH).
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Folds one value (and whether it expires) into `digest`.
pub fn value_digest(digest: &mut Digest, entry: &Entry) {
    mix(digest, &type_code(&entry.value).to_be_bytes());
    match &entry.value {
        Value::Str(s) => mix(digest, s),
        Value::List(l) => l.iter().for_each(|e| mix(digest, e)),
        Value::Set(s) => s.iter().for_each(|m| xor(digest, m)),
        Value::ZSet(z) => {
            for (member, score) in &z.scores {
                let mut one = [0u8; 20];
                mix(&mut one, member);
                mix(&mut one, fmt_double(*score).as_bytes());
                xor(digest, &one);
            }
        }
        Value::Stream(st) => {
            for e in st.range(StreamId::MIN, StreamId::MAX, false, 0) {
                mix(digest, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                e.fields.iter().for_each(|f| mix(digest, f));
            }
        }
        Value::Hash(h) => {
            for (field, value) in h.iter() {
                let mut one = [0u8; 20];
                mix(&mut one, field);
                mix(&mut one, value);
                xor(digest, &one);
            }
        }
    }
    if entry.expire_at_ms.is_some() {
        xor(digest, b"!!expire!!");
    }
}

/// The signature of every key in every database (all zeros when empty). Keys whose time passed
/// but are not deleted yet count, as in Redis.
pub fn dataset_digest(ks: &Keyspace) -> Digest {
    let mut all = [0u8; 20];
    for (idx, db) in ks.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix(&mut all, &(idx as u32).to_be_bytes());
        for (key, entry) in db.iter_all() {
            let mut one = [0u8; 20];
            mix(&mut one, key);
            value_digest(&mut one, entry);
            xor(&mut all, &one);
        }
    }
    all
}

pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
