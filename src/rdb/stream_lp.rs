//! Stream nodes as Redis' listpacks: the master entry (live count, deleted count, the master
//! fields, a 0 terminator) then per entry `flags, ms-delta, seq-delta, [num-fields, fields...]
//! values..., lp-count`, with SAMEFIELDS entries omitting the field names. Sizes are computed
//! the way listpack.c encodes (strings that are canonical integers become integers), so node
//! splits follow `stream-node-max-bytes` exactly as in Redis.

use super::listpack::{build, elem, size, Elem, LP_OVERHEAD};
use crate::db::stream::{NodeEntry, StreamNode};
use crate::db::StreamId;
use crate::resp::parse_i64;
use bytes::Bytes;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

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
    build(&elems)
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
