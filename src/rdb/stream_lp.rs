//! Stream nodes as Redis' listpacks: the master entry (live count, deleted count, the master
//! fields, a 0 terminator) then per entry `flags, ms-delta, seq-delta, [num-fields, fields...]
//! values..., lp-count`, with SAMEFIELDS entries omitting the field names. Sizes are computed
//! the way listpack.c encodes (strings that are canonical integers become integers), so node
//! splits follow `stream-node-max-bytes` exactly as in Redis.

use super::encodings::backlen;
use crate::db::stream::{NodeEntry, StreamNode};
use crate::db::StreamId;
use crate::resp::parse_i64;
use bytes::{BufMut, Bytes};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// Header (total bytes u32, element count u16) and end marker.
const LP_OVERHEAD: usize = 7;

/// One element as listpack.c would encode it.
enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

fn elem(s: &[u8]) -> Elem<'_> {
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
fn size(e: &Elem) -> usize {
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

/// The elements of one entry in `node` (whose master entry id is `master`).
fn entry_elems<'a>(master: StreamId, node: &StreamNode, e: &'a NodeEntry) -> Vec<Elem<'a>> {
    let same = node.same_fields(&e.fields);
    let flags = i64::from(e.deleted) * FLAG_DELETED + i64::from(same) * FLAG_SAMEFIELDS;
    let mut out = vec![
        Elem::Int(flags),
        Elem::Int(e.id.ms.wrapping_sub(master.ms) as i64),
        Elem::Int(e.id.seq.wrapping_sub(master.seq) as i64),
    ];
    let pairs = e.fields.len() / 2;
    if !same {
        out.push(Elem::Int(pairs as i64));
    }
    for pair in e.fields.chunks(2) {
        if !same {
            out.push(elem(&pair[0]));
        }
        out.push(elem(&pair[1]));
    }
    let lp_count = if same { pairs + 3 } else { 2 * pairs + 4 };
    out.push(Elem::Int(lp_count as i64));
    out
}

fn header_elems(node: &StreamNode) -> Vec<Elem<'_>> {
    let mut out = vec![
        Elem::Int(node.live as i64),
        Elem::Int(node.deleted() as i64),
        Elem::Int(node.master_fields.len() as i64),
    ];
    out.extend(node.master_fields.iter().map(|f| elem(f)));
    out.push(Elem::Int(0));
    out
}

/// Listpack bytes entry `id` with `fields` adds to `node` (as a live entry).
pub fn stream_entry_bytes(
    master: StreamId,
    node: &StreamNode,
    id: StreamId,
    fields: &[Bytes],
) -> usize {
    let e = NodeEntry {
        id,
        fields: fields.to_vec(),
        deleted: false,
    };
    entry_elems(master, node, &e).iter().map(size).sum()
}

/// The node's listpack size (Redis' lpBytes).
pub fn stream_node_bytes(node: &StreamNode) -> usize {
    LP_OVERHEAD + header_elems(node).iter().map(size).sum::<usize>() + node.body_bytes
}

/// The node's listpack as Redis stores it.
pub fn encode_node(master: StreamId, node: &StreamNode) -> Vec<u8> {
    let mut elems = header_elems(node);
    for e in &node.entries {
        elems.extend(entry_elems(master, node, e));
    }
    let mut out = vec![0u8; 6];
    for e in &elems {
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

/// Decodes a node's listpack (its master id is the radix tree key), checking Redis' invariants.
pub fn decode_node(master: StreamId, lp: &[u8]) -> Result<StreamNode, String> {
    let mut elems = super::encodings::listpack(lp)?.into_iter();
    let mut take = |what: &str| {
        elems
            .next()
            .ok_or_else(|| format!("stream node ends in its {what}"))
    };
    let int = |b: Bytes, what: &str| {
        parse_i64(&b).ok_or_else(|| format!("stream node {what} is not an integer"))
    };
    let live = int(take("count")?, "count")?;
    let deleted = int(take("deleted count")?, "deleted count")?;
    let nfields = int(take("master entry")?, "master field count")?;
    if live < 0 || deleted < 0 || nfields < 0 || live == 0 && deleted == 0 {
        return Err("empty or negative stream node".into());
    }
    let master_fields = (0..nfields)
        .map(|_| take("master fields"))
        .collect::<Result<Vec<_>, _>>()?;
    if int(take("master entry")?, "terminator")? != 0 {
        return Err("stream master entry lacks its 0 terminator".into());
    }
    let mut node = StreamNode {
        master_fields,
        ..Default::default()
    };
    for _ in 0..live + deleted {
        let flags = int(take("entry")?, "flags")?;
        let ms = master
            .ms
            .wrapping_add(int(take("entry")?, "ms delta")? as u64);
        let seq = master
            .seq
            .wrapping_add(int(take("entry")?, "seq delta")? as u64);
        let same = flags & FLAG_SAMEFIELDS != 0;
        let pairs = match same {
            true => node.master_fields.len(),
            false => usize::try_from(int(take("entry")?, "field count")?)
                .map_err(|_| "negative field count")?,
        };
        let mut fields = Vec::with_capacity(pairs.min(lp.len()) * 2);
        for i in 0..pairs {
            let field = match same {
                true => node.master_fields[i].clone(),
                false => take("entry fields")?,
            };
            fields.push(field);
            fields.push(take("entry values")?);
        }
        let expected = if same { pairs + 3 } else { 2 * pairs + 4 };
        if int(take("entry")?, "lp-count")? != expected as i64 {
            return Err("stream entry has a wrong lp-count".into());
        }
        let id = StreamId::new(ms, seq);
        if node.entries.last().is_some_and(|e| e.id >= id) || id < master {
            return Err("stream node ids are not increasing".into());
        }
        let deleted = flags & FLAG_DELETED != 0;
        node.live += u64::from(!deleted);
        node.entries.push(NodeEntry {
            id,
            fields,
            deleted,
        });
    }
    if take("end").is_ok() {
        return Err("stream node has trailing elements".into());
    }
    if node.live != live as u64 {
        return Err("stream node count does not match its entries".into());
    }
    let header: usize = header_elems(&node).iter().map(size).sum();
    node.body_bytes = lp.len().saturating_sub(LP_OVERHEAD + header);
    Ok(node)
}
