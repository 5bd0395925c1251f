//! The incremental RDB writer: header and AUX fields, then SELECTDB/RESIZEDB and entries per
//! database, drained in chunks as it goes, and finally EOF with the CRC64 of everything.

use super::listpack;
use super::{
    crc64, lzf, opcode, rdb_type as ty, string_enc, Aux, RDB_VERSION_7_0, RDB_VERSION_7_2,
};
use crate::db::{Encoding, Entry, Score, Value};
use crate::resp::parse_i64;
use bytes::{BufMut, Bytes, BytesMut};

/// How a snapshot is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// The header's format version, clamped to 8..=11 (binary zset scores need 8). Redis loads
    /// nothing newer than its own: 10 for 7.0 replicas, 11 is what 7.2 writes.
    pub version: u32,
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when that saves space.
    pub compress: bool,
    /// `rdbchecksum`: write the CRC64 (otherwise 8 zero bytes, which loaders do not check).
    pub checksum: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            version: RDB_VERSION_7_0,
            compress: true,
            checksum: true,
        }
    }
}

/// How DUMP lays a value out: as Redis holds it in `encoding`, a quicklist's nodes filled up to
/// `list-max-listpack-size` (`list_size`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Native {
    pub encoding: Encoding,
    pub list_size: i64,
}

/// A quicklist node holding a listpack (1 would be a single plain element).
const QUICKLIST_PACKED: u64 = 2;
/// quicklist.c's allowance for an element's encoding when it decides whether a node takes one
/// more (SIZE_ESTIMATE_OVERHEAD), and its cap on a node filled by count (SIZE_SAFETY_LIMIT).
const NODE_ESTIMATE_OVERHEAD: usize = 8;
const NODE_SAFETY_LIMIT: usize = 8192;

/// A list's elements split into quicklist nodes as pushing them one by one at the tail fills
/// them: a node takes an element while its listpack plus the element stays under the limit
/// (`fill` < 0: 4 KiB << (-fill - 1) bytes, at most 64 KiB; > 0: that many elements and at most
/// 8 KiB). `None`: one node (a list in the listpack encoding).
fn quicklist_nodes(
    items: &std::collections::VecDeque<Bytes>,
    fill: Option<i64>,
) -> Vec<Vec<&[u8]>> {
    let (max_bytes, max_count) = match fill {
        None => (usize::MAX, usize::MAX),
        Some(f) if f >= 0 => (NODE_SAFETY_LIMIT, f.max(1) as usize),
        Some(f) => (4096 << (f.unsigned_abs().min(5) - 1), usize::MAX),
    };
    let mut nodes: Vec<Vec<&[u8]>> = Vec::new();
    let mut node_bytes = 0;
    for item in items {
        let fits = nodes.last().is_some_and(|n| {
            n.len() < max_count && node_bytes + item.len() + NODE_ESTIMATE_OVERHEAD <= max_bytes
        });
        if !fits {
            nodes.push(Vec::new());
            node_bytes = listpack::LP_OVERHEAD;
        }
        node_bytes += listpack::lp_element_bytes(item);
        nodes.last_mut().expect("a node").push(item);
    }
    nodes
}

/// A score as a sorted set's listpack holds it: an integer when the double is one, else its
/// `d2string` text.
fn score_text(score: f64) -> String {
    let limit = (i64::MAX / 2) as f64;
    match (-limit..=limit).contains(&score) && score == score.trunc() {
        true => (score as i64).to_string(),
        false => crate::text::fmt_double(score),
    }
}

/// Produces a snapshot piece by piece; see the module documentation of `rdb` for the protocol.
pub struct RdbWriter {
    pub(super) buf: BytesMut,
    /// CRC64 of every byte already handed out by `take_chunk`.
    crc: u64,
    opts: WriteOptions,
}

impl RdbWriter {
    /// A writer with nothing written yet (payloads have no header).
    pub(super) fn bare(opts: WriteOptions) -> Self {
        RdbWriter {
            buf: BytesMut::with_capacity(4096),
            crc: 0,
            opts,
        }
    }

    /// Starts a snapshot: the header and the AUX fields in the order Redis writes them.
    pub fn new(aux: &Aux, opts: WriteOptions) -> Self {
        let mut w = Self::bare(opts);
        let version = opts.version.clamp(8, RDB_VERSION_7_2);
        w.buf.put_slice(format!("REDIS{version:04}").as_bytes());
        w.aux("redis-ver", aux.redis_ver.as_bytes());
        w.aux_int("redis-bits", aux.redis_bits);
        w.aux_int("ctime", aux.ctime);
        w.aux_int("used-mem", aux.used_mem);
        if let Some(repl) = &aux.repl {
            w.aux_int("repl-stream-db", repl.stream_db);
            w.aux("repl-id", repl.id.as_bytes());
            w.aux_int("repl-offset", repl.offset);
        }
        w.aux_int("aof-base", aux.aof_base as u8);
        for (name, value) in &aux.other {
            w.aux(name, value);
        }
        w
    }

    /// A function library's source (FUNCTION2), written after the AUX fields.
    pub fn function(&mut self, code: &[u8]) {
        self.buf.put_u8(opcode::FUNCTION2);
        self.string(code);
    }

    /// Starts a database: `keys` entries follow, `expires` of them with a time to live.
    pub fn begin_db(&mut self, index: usize, keys: usize, expires: usize) {
        self.buf.put_u8(opcode::SELECTDB);
        self.len(index as u64);
        self.buf.put_u8(opcode::RESIZEDB);
        self.len(keys as u64);
        self.len(expires as u64);
    }

    /// Writes one key with its value and expiry.
    pub fn entry(&mut self, key: &[u8], entry: &Entry) {
        if let Some(at) = entry.expire_at_ms {
            self.buf.put_u8(opcode::EXPIRETIME_MS);
            self.buf.put_u64_le(at);
        }
        let t = self.value_type(&entry.value, None);
        self.buf.put_u8(t);
        self.string(key);
        self.value_body(&entry.value, t, None);
    }

    /// A value's type byte and payload laid out as `native` says (see `value_type`).
    pub(super) fn value(&mut self, value: &Value, native: Option<Native>) {
        let t = self.value_type(value, native);
        self.buf.put_u8(t);
        self.value_body(value, t, native);
    }

    /// The type a value is written as: with `native`, the one Redis 7.2 uses for that encoding
    /// (listpacks, intsets, quicklists of listpacks); otherwise the legacy types every 7.x loads.
    fn value_type(&self, value: &Value, native: Option<Native>) -> u8 {
        let encoding = native.map(|n| n.encoding);
        match (value, encoding) {
            (Value::Str(_), _) => ty::STRING,
            (Value::List(_), Some(_)) => ty::LIST_QUICKLIST_2,
            (Value::List(_), None) => ty::LIST,
            (Value::Set(_), Some(Encoding::Intset)) => ty::SET_INTSET,
            (Value::Set(_), Some(Encoding::Listpack)) => ty::SET_LISTPACK,
            (Value::Set(_), _) => ty::SET,
            (Value::Hash(_), Some(Encoding::Listpack)) => ty::HASH_LISTPACK,
            (Value::Hash(_), _) => ty::HASH,
            (Value::ZSet(_), Some(Encoding::Listpack)) => ty::ZSET_LISTPACK,
            (Value::ZSet(_), _) => ty::ZSET_2,
            // Redis 7.0 (version 10) knows streams up to type 19, which has no consumer active
            // times; Redis 7.2 writes 21.
            (Value::Stream(_), _) if self.opts.version >= RDB_VERSION_7_2 => ty::STREAM_LISTPACKS_3,
            (Value::Stream(_), _) => ty::STREAM_LISTPACKS_2,
        }
    }

    fn value_body(&mut self, value: &Value, t: u8, native: Option<Native>) {
        match value {
            Value::Str(s) => self.string(s),
            Value::List(items) if t == ty::LIST_QUICKLIST_2 => {
                let fill = native.filter(|n| n.encoding == Encoding::Quicklist);
                let nodes = quicklist_nodes(items, fill.map(|n| n.list_size));
                self.len(nodes.len() as u64);
                for node in nodes {
                    self.len(QUICKLIST_PACKED);
                    self.string(&listpack::of_strings(node.into_iter()));
                }
            }
            Value::List(items) => self.strings(items.len(), items.iter()),
            Value::Set(items) => match t {
                ty::SET_INTSET => self.string(&listpack::intset(items.iter().map(|m| &m[..]))),
                ty::SET_LISTPACK => {
                    self.string(&listpack::of_strings(items.iter().map(|m| &m[..])))
                }
                _ => self.strings(items.len(), items.iter()),
            },
            Value::Hash(map) if t == ty::HASH_LISTPACK => {
                let flat = map.iter().flat_map(|(f, v)| [&f[..], &v[..]]);
                self.string(&listpack::of_strings(flat));
            }
            Value::Hash(map) => self.strings(map.len(), map.iter().flat_map(|(f, v)| [f, v])),
            Value::ZSet(z) if t == ty::ZSET_LISTPACK => {
                let texts: Vec<String> = z.order.iter().map(|(s, _)| score_text(s.0)).collect();
                let flat = z.order.iter().zip(&texts);
                let flat = flat.flat_map(|((_, m), text)| [&m[..], text.as_bytes()]);
                self.string(&listpack::of_strings(flat));
            }
            Value::ZSet(z) => {
                // Highest score first, as Redis walks its skiplist from the tail.
                self.len(z.len() as u64);
                for (Score(score), member) in z.order.iter().rev() {
                    self.string(member);
                    self.buf.put_f64_le(*score);
                }
            }
            Value::Stream(st) => self.stream(st, t == ty::STREAM_LISTPACKS_3),
        }
    }

    /// Hands out the bytes produced since the last call.
    pub fn take_chunk(&mut self) -> Bytes {
        let chunk = self.buf.split().freeze();
        if self.opts.checksum {
            self.crc = crc64(self.crc, &chunk);
        }
        chunk
    }

    /// Ends the snapshot (EOF and checksum) and returns the last chunk.
    pub fn finish(mut self) -> Bytes {
        self.buf.put_u8(opcode::EOF);
        let crc = if self.opts.checksum {
            crc64(self.crc, &self.buf)
        } else {
            0
        };
        self.buf.put_u64_le(crc);
        self.buf.freeze()
    }

    fn aux(&mut self, name: &str, value: &[u8]) {
        self.buf.put_u8(opcode::AUX);
        self.string(name.as_bytes());
        self.string(value);
    }

    fn aux_int(&mut self, name: &str, value: impl ToString) {
        self.aux(name, value.to_string().as_bytes());
    }

    pub(super) fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.put_u8(n as u8);
        } else if n < 1 << 14 {
            self.buf.put_u16(0x4000 | n as u16);
        } else if let Ok(n) = u32::try_from(n) {
            self.buf.put_u8(0x80);
            self.buf.put_u32(n);
        } else {
            self.buf.put_u8(0x81);
            self.buf.put_u64(n);
        }
    }

    /// `n` then the strings of `items` (`n` counts entries, not strings, for hashes).
    fn strings<'a>(&mut self, n: usize, items: impl Iterator<Item = &'a Bytes>) {
        self.len(n as u64);
        for item in items {
            self.string(item);
        }
    }

    /// A string as Redis saves it: short canonical integers that fit 32 bits as INT8/16/32,
    /// strings over 20 bytes LZF-compressed when enabled and at least 4 bytes shorter, else raw.
    pub(super) fn string(&mut self, s: &[u8]) {
        const SPECIAL: u8 = 0xc0;
        if let Some(v) = (s.len() <= 11).then(|| parse_i64(s)).flatten() {
            if let Ok(v) = i8::try_from(v) {
                self.buf.put_u8(SPECIAL | string_enc::INT8);
                self.buf.put_i8(v);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                self.buf.put_u8(SPECIAL | string_enc::INT16);
                self.buf.put_i16_le(v);
                return;
            } else if let Ok(v) = i32::try_from(v) {
                self.buf.put_u8(SPECIAL | string_enc::INT32);
                self.buf.put_i32_le(v);
                return;
            }
        }
        if self.opts.compress && s.len() > 20 {
            if let Some(packed) = lzf::compress(s, s.len() - 4) {
                self.buf.put_u8(SPECIAL | string_enc::LZF);
                self.len(packed.len() as u64);
                self.len(s.len() as u64);
                self.buf.put_slice(&packed);
                return;
            }
        }
        self.len(s.len() as u64);
        self.buf.put_slice(s);
    }
}

/// A FUNCTION DUMP payload: the libraries' FUNCTION2 records, the RDB version and the CRC64.
pub fn function_payload(codes: &[&[u8]]) -> Bytes {
    let mut w = RdbWriter::bare(WriteOptions::default());
    for code in codes {
        w.function(code);
    }
    w.seal_payload()
}
