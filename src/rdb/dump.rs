//! DUMP / RESTORE payloads: one value serialised as in an RDB file (type byte and value, in the
//! encoding Redis 7.2 holds it in), then the RDB version (2 bytes, little endian) and the CRC64
//! of everything before it (8 bytes, little endian). FUNCTION DUMP payloads share the footer.

use super::read::{value, Cursor};
use super::write::Native;
use super::{crc64, RdbWriter, WriteOptions, RDB_VERSION_7_2};
use crate::db::{EncodingLimits, Entry, Value};
use bytes::{BufMut, Bytes};

/// Why a payload cannot be restored (each is one of RESTORE's error replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, from a newer RDB version, or the checksum does not match.
    Footer,
    /// The value does not parse, or is an empty aggregate.
    BadData,
}

/// The DUMP payload of `entry`'s value; strings over 20 bytes are LZF-compressed when
/// `compress` (rdbcompression), as Redis does.
pub fn dump_payload(entry: &Entry, limits: &EncodingLimits, compress: bool) -> Bytes {
    let opts = WriteOptions {
        version: RDB_VERSION_7_2,
        compress,
        checksum: true,
    };
    let mut w = RdbWriter::bare(opts);
    let native = Native {
        encoding: entry.encoding(limits),
        list_size: limits.list_size,
    };
    w.value(&entry.value, Some(native));
    w.seal_payload()
}

/// The value of a DUMP payload.
pub fn read_dump_payload(bytes: &[u8]) -> Result<Value, PayloadError> {
    let body = payload_body(bytes).ok_or(PayloadError::Footer)?;
    let mut c = Cursor::new(body);
    let t = c.u8().map_err(|_| PayloadError::BadData)?;
    match value(&mut c, t, 0) {
        Ok(Some(v)) => Ok(v),
        _ => Err(PayloadError::BadData),
    }
}

/// The body of a payload whose footer checks out: a version Redis 7.2 reads, a matching CRC64.
pub(super) fn payload_body(bytes: &[u8]) -> Option<&[u8]> {
    let body_len = bytes.len().checked_sub(10)?;
    let version = u16::from_le_bytes([bytes[body_len], bytes[body_len + 1]]);
    let crc = u64::from_le_bytes(bytes[body_len + 2..].try_into().ok()?);
    (u32::from(version) <= RDB_VERSION_7_2 && crc64(0, &bytes[..body_len + 2]) == crc)
        .then(|| &bytes[..body_len])
}

impl RdbWriter {
    /// Ends a payload: the RDB version and the CRC64 of everything written.
    pub(super) fn seal_payload(mut self) -> Bytes {
        self.buf.put_u16_le(RDB_VERSION_7_2 as u16);
        let crc = crc64(0, &self.buf);
        self.buf.put_u64_le(crc);
        self.buf.freeze()
    }
}
