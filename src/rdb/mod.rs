//! Redis RDB snapshots: a byte-compatible reader and an incremental writer, as pure functions over
//! bytes (the core calls them; the driver does the disk and the sockets).
//!
//! Interfaces:
//! - [`RdbWriter`]: `RdbWriter::new(&aux, WriteOptions::default())` writes the `REDIS00NN` header
//!   and the AUX fields in Redis' order; then per database `begin_db(index, keys, expires)`
//!   (SELECTDB + RESIZEDB) and `entry(key, &entry)` per key; `take_chunk()` drains what was
//!   produced so far (a background save streams a few thousand keys per tick); `finish()` adds
//!   EOF and the CRC64 (computed incrementally across chunks) and returns the last chunk.
//!   Values use the legacy encodings every Redis 7.x loads (0 string, 1 list, 2 set, 4 hash,
//!   5 zset with binary doubles; streams as Redis' listpacks, type 19 in version 10 files and 21
//!   in version 11); strings are int-encoded or LZF-compressed exactly when Redis would.
//! - [`read_rdb`]: parses a whole file into [`Loaded`] (aux fields, keys per database, version).
//!   It accepts versions 1..=11 and every non-module value type Redis has written (legacy,
//!   zipmap, ziplist, intset, quicklist, listpack, streams 15/19/21) and function libraries
//!   (FUNCTION2); modules and module aux data are rejected with an error naming them.
//!   Expired keys are returned as they are (the caller decides), empty aggregates are dropped as
//!   Redis does, duplicate keys/members/fields are errors. Every length is checked against the
//!   input: corrupt input yields an [`RdbError`] with the offset, never a panic or a huge
//!   allocation.
//!
//! Files: `crc64` (checksum), `lzf` (string compression), `write` (writer), `read` (file
//! structure and values), `encodings` (ziplist, listpack, intset and zipmap blobs), `stream_lp`
//! (stream nodes as listpacks), `stream_read` and `stream_write` (stream values).

mod crc64;
mod dump;
mod encodings;
mod listpack;
mod lzf;
mod read;
mod stream_lp;
mod stream_read;
mod stream_write;
mod write;

#[cfg(test)]
mod blob_tests;
#[cfg(test)]
mod dump_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use std::collections::BTreeMap;

use crc64::crc64;
pub use dump::{dump_payload, read_dump_payload, PayloadError};
pub use listpack::lp_element_bytes;
pub use read::{count_whole_keys, read_function_payload, read_rdb};
pub use stream_lp::{stream_entry_bytes, stream_node_bytes};
pub use write::{function_payload, RdbWriter, WriteOptions};

/// The RDB version Redis 7.0 writes (and the newest it loads): what we emit by default so that
/// 7.0 replicas accept our snapshots.
pub const RDB_VERSION_7_0: u32 = 10;
/// The RDB version Redis 7.2 writes; the newest version `read_rdb` accepts.
pub const RDB_VERSION_7_2: u32 = 11;

/// Opcodes that may appear where a value type is expected.
mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Value type codes.
mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Special string encodings (a length byte `11xxxxxx`).
mod string_enc {
    pub const INT8: u8 = 0;
    pub const INT16: u8 = 1;
    pub const INT32: u8 = 2;
    pub const LZF: u8 = 3;
}

/// The replication fields of a snapshot made for (or by) a replication stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplAux {
    /// `repl-stream-db`: the database the master's replication stream had selected.
    pub stream_db: i64,
    /// `repl-id`: the 40-character replication id.
    pub id: String,
    /// `repl-offset`: the replication offset the snapshot corresponds to.
    pub offset: i64,
}

/// The AUX fields of a snapshot. `other` keeps the fields this module does not interpret (read)
/// and extra fields to write after the standard ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aux {
    pub redis_ver: String,
    pub redis_bits: u64,
    /// Creation time, unix seconds.
    pub ctime: u64,
    pub used_mem: u64,
    pub repl: Option<ReplAux>,
    pub aof_base: bool,
    pub other: BTreeMap<String, Bytes>,
}

impl Default for Aux {
    fn default() -> Self {
        Aux {
            redis_ver: crate::REDIS_VERSION.to_string(),
            redis_bits: 64,
            ctime: 0,
            used_mem: 0,
            repl: None,
            aof_base: false,
            other: BTreeMap::new(),
        }
    }
}

/// The keys of one database, in file order.
pub type DbKeys = Vec<(Bytes, crate::db::Entry)>;

/// A parsed snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub version: u32,
    pub aux: Aux,
    /// Databases that hold keys, by ascending index.
    pub dbs: Vec<(usize, DbKeys)>,
    /// Function library sources (FUNCTION2 records), in file order.
    pub functions: Vec<Bytes>,
}

/// Why a snapshot could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct RdbError {
    pub offset: usize,
    pub message: String,
}
