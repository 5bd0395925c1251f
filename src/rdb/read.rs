//! Reading a whole RDB file: the header, the opcode stream (AUX, SELECTDB, RESIZEDB, expiry,
//! LRU/LFU hints, function libraries, EOF and checksum), lengths, strings (plain, integer, LZF)
//! and every value type, turned into `db::Value`s. Blob encodings are decoded in `encodings`.

use super::encodings::{self, Elements};
use super::{crc64, lzf, opcode, rdb_type as ty, string_enc, Aux, DbKeys, Loaded, RdbError};
use super::{ReplAux, RDB_VERSION_7_2};
use crate::db::{Entry, Value, ZSet};
use crate::resp::parse_i64;
use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::{BTreeMap, VecDeque};

pub(super) type Result<T> = std::result::Result<T, RdbError>;

/// A length field: a plain length or the tag of a special string encoding.
enum Len {
    Plain(u64),
    Special(u8),
}

/// A bounds-checked position in the input.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pub(super) pos: usize,
}

pub(super) fn fail<T>(offset: usize, message: impl Into<String>) -> Result<T> {
    Err(RdbError {
        offset,
        message: message.into(),
    })
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => fail(self.pos, "Unexpected end of file"),
        }
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self) -> Result<Len> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Len::Plain((first & 0x3f) as u64),
            1 => Len::Plain(((first & 0x3f) as u64) << 8 | self.u8()? as u64),
            3 => Len::Special(first & 0x3f),
            _ => match first {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => {
                    return fail(
                        self.pos - 1,
                        format!("Unknown length encoding {first:#04x}"),
                    )
                }
            },
        })
    }

    /// A plain length (a string encoding here is corruption).
    pub(super) fn length(&mut self) -> Result<u64> {
        let at = self.pos;
        match self.len()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => fail(at, "Unexpected string encoding where a length was expected"),
        }
    }

    /// An element count: each element takes at least one byte, so a count beyond the remaining
    /// input is corrupt (this also bounds every pre-allocation).
    pub(super) fn count(&mut self) -> Result<usize> {
        let at = self.pos;
        let n = self.length()?;
        let remaining = self.buf.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= remaining => Ok(n),
            _ => fail(at, format!("Length {n} exceeds the remaining input")),
        }
    }

    pub(super) fn string(&mut self) -> Result<Bytes> {
        let at = self.pos;
        let int = |v: i64| Ok(Bytes::from(v.to_string()));
        match self.len()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).or_else(|_| fail(at, "String too long"))?;
                Ok(Bytes::copy_from_slice(self.take(n)?))
            }
            Len::Special(string_enc::INT8) => int(i8::from_le_bytes(self.array()?) as i64),
            Len::Special(string_enc::INT16) => int(i16::from_le_bytes(self.array()?) as i64),
            Len::Special(string_enc::INT32) => int(i32::from_le_bytes(self.array()?) as i64),
            Len::Special(string_enc::LZF) => {
                let compressed = self.length()?;
                let len = self.length()?;
                let (Ok(compressed), Ok(len)) = (usize::try_from(compressed), usize::try_from(len))
                else {
                    return fail(at, "LZF string too long");
                };
                let data = self.take(compressed)?;
                lzf::decompress(data, len)
                    .map(Bytes::from)
                    .or_else(|e| fail(at, e))
            }
            Len::Special(other) => fail(at, format!("Unknown string encoding {other}")),
        }
    }

    /// `count` then that many strings.
    fn strings(&mut self, per_item: usize) -> Result<Elements> {
        let n = self.count()?;
        (0..n * per_item).map(|_| self.string()).collect()
    }

    /// A string holding a blob, decoded by `decode`; errors point at the blob.
    fn blob(
        &mut self,
        decode: fn(&[u8]) -> std::result::Result<Elements, String>,
    ) -> Result<Elements> {
        let at = self.pos;
        let blob = self.string()?;
        decode(&blob).or_else(|e| fail(at, e))
    }

    /// A score of the old ZSET type: a length byte (253 NaN, 254 +inf, 255 -inf) and text.
    fn text_double(&mut self) -> Result<f64> {
        let at = self.pos;
        match self.u8()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let text = self.take(n as usize)?;
                crate::text::parse_f64(text).map_or_else(|| fail(at, "Invalid double score"), Ok)
            }
        }
    }
}

/// One unit of the opcode stream after the header.
enum Record {
    Eof,
    Expire(u64),
    Select(usize),
    Resize(u64),
    Aux(Bytes, Bytes),
    Function(Bytes),
    /// A key, with its value (`None`: an empty aggregate, skipped), read at `at`.
    Key {
        key: Bytes,
        value: Option<Value>,
        at: usize,
    },
    /// A hint without effect on the data (LRU idle time, LFU frequency).
    Hint,
}

/// Reads the next record of the opcode stream.
fn record(c: &mut Cursor) -> Result<Record> {
    let at = c.pos;
    Ok(match c.u8()? {
        opcode::EOF => Record::Eof,
        opcode::EXPIRETIME_MS => {
            let ms = i64::from_le_bytes(c.array()?);
            Record::Expire(u64::try_from(ms).unwrap_or(0))
        }
        opcode::EXPIRETIME => {
            let secs = i32::from_le_bytes(c.array()?);
            Record::Expire(u64::try_from(secs).unwrap_or(0) * 1000)
        }
        opcode::FREQ => {
            c.u8()?;
            Record::Hint
        }
        opcode::IDLE => {
            c.length()?;
            Record::Hint
        }
        opcode::SELECTDB => {
            let n = c.length()?;
            Record::Select(
                usize::try_from(n).or_else(|_| fail(at, format!("Bad database index {n}")))?,
            )
        }
        opcode::RESIZEDB => {
            let keys = c.length()?;
            c.length()?;
            Record::Resize(keys)
        }
        opcode::AUX => Record::Aux(c.string()?, c.string()?),
        opcode::FUNCTION2 => Record::Function(c.string()?),
        opcode::FUNCTION_PRE_GA => return fail(at, "Pre-release function format not supported"),
        opcode::MODULE_AUX => {
            return fail(at, "Module auxiliary data (MODULE_AUX) is not supported")
        }
        t => {
            let key = c.string()?;
            let value = value(c, t, at)?;
            Record::Key { key, value, at }
        }
    })
}

/// Counts the keys wholly present in the start of an RDB payload still arriving, from `from`
/// (0, or a position this returned before): the position after the last whole record, and how
/// many keys lay between. Anything that does not parse is taken for a record not yet whole;
/// the complete payload is judged by `read_rdb`.
pub fn count_whole_keys(partial: &[u8], from: usize) -> (usize, u64) {
    let mut c = Cursor {
        buf: partial,
        pos: from,
    };
    if from == 0 && header(&mut c).is_err() {
        return (0, 0);
    }
    let mut keys = 0;
    loop {
        let whole = c.pos;
        match record(&mut c) {
            Ok(Record::Key { .. }) => keys += 1,
            Ok(Record::Eof) | Err(_) => return (whole, keys),
            Ok(_) => {}
        }
    }
}

/// Parses a complete RDB file.
pub fn read_rdb(bytes: &[u8]) -> Result<Loaded> {
    let mut c = Cursor::new(bytes);
    let version = header(&mut c)?;
    let mut aux = Aux {
        redis_ver: String::new(),
        redis_bits: 0,
        ..Aux::default()
    };
    // Per database: the entries, and each key's hash with the offset it was read at.
    let mut dbs: BTreeMap<usize, (DbKeys, Vec<(u64, usize)>)> = BTreeMap::new();
    let mut db = 0usize;
    let mut expire_at_ms: Option<u64> = None;
    let mut functions = Vec::new();
    loop {
        match record(&mut c)? {
            Record::Eof => break,
            Record::Expire(ms) => expire_at_ms = Some(ms),
            Record::Hint => {}
            Record::Select(n) => db = n,
            Record::Resize(keys) => {
                // A size hint: reserve for it, bounded by what the remaining input could hold.
                let hint = usize::try_from(keys).unwrap_or(0).min(bytes.len() / 4);
                let (entries, hashes) = dbs.entry(db).or_default();
                entries.reserve(hint);
                hashes.reserve(hint);
            }
            Record::Aux(name, value) => apply_aux(&mut aux, &name, value),
            Record::Function(code) => functions.push(code),
            Record::Key { key, value, at } => {
                if let Some(value) = value {
                    let (keys, hashes) = dbs.entry(db).or_default();
                    hashes.push((crate::db::key_hash(&key), at));
                    keys.push((key, Entry::new(value, expire_at_ms)));
                }
                expire_at_ms = None;
            }
        }
    }
    if version >= 5 {
        let computed = crc64(0, &bytes[..c.pos]);
        let at = c.pos;
        let stored = u64::from_le_bytes(c.array()?);
        if stored != 0 && stored != computed {
            return fail(
                at,
                format!(
                    "Wrong RDB checksum expected: ({stored:x}) got ({computed:x}): RDB CRC error"
                ),
            );
        }
    }
    for (db, (keys, hashes)) in &dbs {
        if let Some(at) = first_duplicate(keys, hashes) {
            return fail(at, format!("Duplicated key found in RDB file (db {db})"));
        }
    }
    Ok(Loaded {
        version,
        aux,
        functions,
        dbs: dbs.into_iter().map(|(i, (keys, _))| (i, keys)).collect(),
    })
}

/// The offset of a key read twice, if any: keys are ordered by hash (cheaper than a hash set on
/// a million keys), and only equal hashes compare bytes.
fn first_duplicate(keys: &DbKeys, hashes: &[(u64, usize)]) -> Option<usize> {
    let mut order: Vec<(u64, usize)> = hashes
        .iter()
        .enumerate()
        .map(|(i, (h, _))| (*h, i))
        .collect();
    order.sort_unstable();
    order
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && keys[w[0].1].0 == keys[w[1].1].0)
        .map(|w| hashes[w[1].1].1)
        .min()
}

fn header(c: &mut Cursor) -> Result<u32> {
    let magic = c.take(9)?;
    if &magic[..5] != b"REDIS" {
        return fail(0, "Wrong signature trying to load DB from file");
    }
    let digits = &magic[5..];
    let version = std::str::from_utf8(digits)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok());
    match version {
        Some(v) if (1..=RDB_VERSION_7_2).contains(&v) => Ok(v),
        Some(v) => fail(5, format!("Can't handle RDB format version {v}")),
        None => fail(5, "Bad RDB format version"),
    }
}

fn repl(aux: &mut Aux) -> &mut ReplAux {
    aux.repl.get_or_insert_with(ReplAux::default)
}

fn apply_aux(aux: &mut Aux, name: &[u8], value: Bytes) {
    let text = || String::from_utf8_lossy(&value).into_owned();
    let int = parse_i64(&value);
    let uint = int.and_then(|v| u64::try_from(v).ok());
    match (name.to_ascii_lowercase().as_slice(), int, uint) {
        (b"redis-ver", _, _) => aux.redis_ver = text(),
        (b"redis-bits", _, Some(v)) => aux.redis_bits = v,
        (b"ctime", _, Some(v)) => aux.ctime = v,
        (b"used-mem", _, Some(v)) => aux.used_mem = v,
        (b"aof-base", Some(v), _) => aux.aof_base = v != 0,
        (b"repl-stream-db", Some(v), _) => repl(aux).stream_db = v,
        (b"repl-id", _, _) => repl(aux).id = text(),
        (b"repl-offset", Some(v), _) => repl(aux).offset = v,
        _ => {
            aux.other
                .insert(String::from_utf8_lossy(name).into_owned(), value);
        }
    }
}

/// Reads a value of type `t` (whose type byte was at `at`). `None` for an empty aggregate, which
/// Redis skips on load.
pub(super) fn value(c: &mut Cursor, t: u8, at: usize) -> Result<Option<Value>> {
    let start = c.pos;
    let built = match t {
        ty::STRING => return Ok(Some(Value::Str(c.string()?.into()))),
        ty::LIST => Ok(list(c.strings(1)?)),
        ty::LIST_ZIPLIST => Ok(list(c.blob(encodings::ziplist)?)),
        ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => Ok(list(quicklist(c, t)?)),
        ty::SET => set(c.strings(1)?),
        ty::SET_INTSET => set(c.blob(encodings::intset)?),
        ty::SET_LISTPACK => set(c.blob(encodings::listpack)?),
        ty::HASH => hash(c.strings(2)?),
        ty::HASH_ZIPMAP => hash(c.blob(encodings::zipmap)?),
        ty::HASH_ZIPLIST => hash(c.blob(encodings::ziplist)?),
        ty::HASH_LISTPACK => hash(c.blob(encodings::listpack)?),
        ty::ZSET | ty::ZSET_2 => {
            let n = c.count()?;
            let mut pairs = Vec::new();
            for _ in 0..n {
                let member = c.string()?;
                let score = if t == ty::ZSET_2 {
                    f64::from_le_bytes(c.array()?)
                } else {
                    c.text_double()?
                };
                pairs.push((member, score));
            }
            zset(pairs)
        }
        ty::ZSET_ZIPLIST => zset_flat(c.blob(encodings::ziplist)?),
        ty::ZSET_LISTPACK => zset_flat(c.blob(encodings::listpack)?),
        ty::STREAM_LISTPACKS | ty::STREAM_LISTPACKS_2 | ty::STREAM_LISTPACKS_3 => {
            return super::stream_read::stream(c, t).map(|s| Some(Value::Stream(Box::new(s))))
        }
        ty::MODULE_PRE_GA | ty::MODULE_2 => {
            return fail(at, format!("Modules are not supported (RDB type {t})"))
        }
        _ => return fail(at, format!("Unknown RDB value type {t}")),
    };
    built.or_else(|e| fail(start, e))
}

/// The elements of a quicklist: nodes that are ziplists (type 14) or, in type 18, a container
/// tag (1 a single plain element, 2 a listpack) and the node.
fn quicklist(c: &mut Cursor, t: u8) -> Result<Elements> {
    const PLAIN: u64 = 1;
    const PACKED: u64 = 2;
    let nodes = c.count()?;
    let mut out = Vec::new();
    for _ in 0..nodes {
        let at = c.pos;
        let container = if t == ty::LIST_QUICKLIST_2 {
            c.length()?
        } else {
            PACKED
        };
        let node = c.string()?;
        if node.is_empty() {
            return fail(at, "Quicklist node is empty");
        }
        match container {
            PLAIN => out.push(node),
            PACKED if t == ty::LIST_QUICKLIST_2 => {
                out.extend(encodings::listpack(&node).or_else(|e| fail(at, e))?)
            }
            PACKED => out.extend(encodings::ziplist(&node).or_else(|e| fail(at, e))?),
            _ => {
                return fail(
                    at,
                    format!("Quicklist integrity check failed: container {container}"),
                )
            }
        }
    }
    Ok(out)
}

type Built = std::result::Result<Option<Value>, String>;

fn list(elements: Elements) -> Option<Value> {
    (!elements.is_empty()).then(|| Value::List(Box::new(VecDeque::from(elements))))
}

fn set(elements: Elements) -> Built {
    let mut set = IndexSet::with_capacity(elements.len());
    for e in elements {
        if !set.insert(e) {
            return Err("Duplicate set members detected".into());
        }
    }
    Ok((!set.is_empty()).then_some(Value::Set(Box::new(set))))
}

/// A hash from alternating fields and values.
fn hash(elements: Elements) -> Built {
    if !elements.len().is_multiple_of(2) {
        return Err("Hash has an odd number of elements".into());
    }
    let mut map = IndexMap::with_capacity(elements.len() / 2);
    let mut it = elements.into_iter();
    while let (Some(field), Some(value)) = (it.next(), it.next()) {
        if map.insert(field, value).is_some() {
            return Err("Duplicate hash fields detected".into());
        }
    }
    Ok((!map.is_empty()).then_some(Value::Hash(Box::new(map))))
}

fn zset(pairs: Vec<(Bytes, f64)>) -> Built {
    let mut z = ZSet::default();
    for (member, score) in pairs {
        if score.is_nan() {
            return Err("Zset with NAN score detected".into());
        }
        if !z.insert(member, score) {
            return Err("Duplicate zset fields detected".into());
        }
    }
    Ok((!z.is_empty()).then_some(Value::ZSet(Box::new(z))))
}

/// A sorted set from alternating members and scores as text (ziplist and listpack encodings).
fn zset_flat(elements: Elements) -> Built {
    if !elements.len().is_multiple_of(2) {
        return Err("Zset has an odd number of elements".into());
    }
    let mut pairs = Vec::with_capacity(elements.len() / 2);
    let mut it = elements.into_iter();
    while let (Some(member), Some(score)) = (it.next(), it.next()) {
        let score = crate::text::parse_f64(&score).ok_or("Zset has an invalid score")?;
        pairs.push((member, score));
    }
    zset(pairs)
}

/// The library sources of a FUNCTION DUMP payload: FUNCTION2 records, then the RDB version (2
/// bytes) and the CRC64 of everything before it (8 bytes), as DUMP payloads end.
pub fn read_function_payload(bytes: &[u8]) -> std::result::Result<Vec<Bytes>, String> {
    let body = super::dump::payload_body(bytes)
        .ok_or_else(|| "DUMP payload version or checksum are wrong".to_string())?;
    let mut c = Cursor::new(body);
    let mut codes = Vec::new();
    while c.pos < body.len() {
        match c.u8() {
            Ok(opcode::FUNCTION2) => {}
            Ok(opcode::FUNCTION_PRE_GA) => {
                return Err("Pre-GA function format not supported".into())
            }
            Ok(_) => return Err("given type is not a function".into()),
            Err(_) => return Err("can not read data type".into()),
        }
        codes.push(
            c.string()
                .map_err(|_| "failed loading the given functions payload")?,
        );
    }
    Ok(codes)
}
