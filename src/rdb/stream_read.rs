//! Reading streams of RDB types 15 (Redis 5+), 19 (7.0: first id, max deleted id, entries added,
//! group read counters) and 21 (7.2: consumer active times), with Redis' consistency checks:
//! 16-byte node keys, non-empty nodes, unique groups, consumers and PEL ids, and every id a
//! consumer owns present in its group's PEL.

use super::rdb_type as ty;
use super::read::{fail, Cursor, Result};
use super::stream_lp::decode_node;
use crate::db::stream::{Consumer, Group, Pending};
use crate::db::{Stream, StreamId};

fn id(c: &mut Cursor) -> Result<StreamId> {
    Ok(StreamId::new(c.length()?, c.length()?))
}

fn raw_id(c: &mut Cursor) -> Result<StreamId> {
    Ok(StreamId::from_be_bytes(&c.array()?))
}

fn time_ms(c: &mut Cursor) -> Result<i64> {
    Ok(i64::from_le_bytes(c.array()?))
}

pub(super) fn stream(c: &mut Cursor, t: u8) -> Result<Stream> {
    let mut s = Stream::default();
    for _ in 0..c.count()? {
        let at = c.pos;
        let key = c.string()?;
        let Ok(key) = <[u8; 16]>::try_from(&key[..]) else {
            return fail(at, "Stream node key entry is not the size of a stream ID");
        };
        let master = StreamId::from_be_bytes(&key);
        let at = c.pos;
        let lp = c.string()?;
        let node = decode_node(master, &lp).or_else(|e| fail(at, e))?;
        if s.nodes
            .last_key_value()
            .is_some_and(|(k, n)| *k >= master || n.entries.last().is_some_and(|e| e.id >= master))
        {
            return fail(at, "Stream nodes are not in increasing id order");
        }
        s.nodes.insert(master, node);
    }
    let at = c.pos;
    s.length = c.length()?;
    if s.length != s.nodes.values().map(|n| n.live).sum::<u64>() {
        return fail(at, "Stream length does not match its entries");
    }
    s.last_id = id(c)?;
    if t >= ty::STREAM_LISTPACKS_2 {
        s.first_id = id(c)?;
        s.max_deleted_id = id(c)?;
        s.entries_added = c.length()?;
    } else {
        s.entries_added = s.length;
        s.first_id = s
            .range(StreamId::MIN, StreamId::MAX, false, 1)
            .first()
            .map_or(StreamId::MIN, |e| e.id);
    }
    for _ in 0..c.count()? {
        let at = c.pos;
        let name = c.string()?;
        let last_id = id(c)?;
        let entries_read = match t >= ty::STREAM_LISTPACKS_2 {
            true => Some(c.length()?).filter(|n| *n != u64::MAX),
            false => s.estimate_entries_read(last_id),
        };
        let mut g = Group::new(last_id, entries_read);
        pel(c, &mut g)?;
        if consumers(c, &mut g, t)? != g.pel.len() {
            return fail(at, "Stream PEL entry without a consumer");
        }
        if s.groups.insert(name, g).is_some() {
            return fail(at, "Duplicated consumer group name");
        }
    }
    Ok(s)
}

fn pel(c: &mut Cursor, g: &mut Group) -> Result<()> {
    for _ in 0..c.count()? {
        let at = c.pos;
        let id = raw_id(c)?;
        let delivery_time_ms = time_ms(c)? as u64;
        let delivery_count = c.length()?;
        let p = Pending {
            consumer: Default::default(),
            delivery_time_ms,
            delivery_count,
        };
        if g.pel.insert(id, p).is_some() {
            return fail(
                at,
                "Duplicated global PEL entry loading stream consumer group",
            );
        }
    }
    Ok(())
}

/// Reads the consumers; returns how many PEL entries they own.
fn consumers(c: &mut Cursor, g: &mut Group, t: u8) -> Result<usize> {
    let mut owned = std::collections::BTreeSet::new();
    for _ in 0..c.count()? {
        let at = c.pos;
        let name = c.string()?;
        let seen = time_ms(c)?;
        let active = match t >= ty::STREAM_LISTPACKS_3 {
            true => time_ms(c)?,
            false => seen,
        };
        let mut consumer = Consumer {
            seen_time_ms: seen as u64,
            active_time_ms: active,
            pel: Default::default(),
        };
        for _ in 0..c.count()? {
            let at = c.pos;
            let id = raw_id(c)?;
            match g.pel.get_mut(&id) {
                Some(p) if owned.insert(id) => p.consumer = name.clone(),
                _ => return fail(at, "Consumer entry not found in group global PEL"),
            }
            consumer.pel.insert(id);
        }
        if g.consumers.insert(name, consumer).is_some() {
            return fail(at, "Duplicated consumer name loading stream consumer group");
        }
    }
    Ok(owned.len())
}
