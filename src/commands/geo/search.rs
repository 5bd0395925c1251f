//! GEORADIUS, GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH and GEOSEARCHSTORE: one
//! parser and one search in Redis' order (the centre cell, then its neighbours, each walked by
//! score), then sorting, COUNT [ANY], and the reply or the stored result.

use super::area::{cells_to_search, Kind, Shape};
use super::{float_or, hash, lon_lat, peek_set, read_set, reply_coordinate, reply_distance, unit};
use crate::commands::{int_arg, is, Cx};
use crate::db::{notify, Score, Value, ZSet};
use crate::resp::Out;
use bytes::Bytes;

/// Which command is parsing: where the centre and shape come from, and whether it may store.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Radius { store: bool },
    ByMember { store: bool },
    Search,
    SearchStore,
}

pub(super) fn georadius(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::Radius { store: true });
}
pub(super) fn georadius_ro(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::Radius { store: false });
}
pub(super) fn georadiusbymember(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::ByMember { store: true });
}
pub(super) fn georadiusbymember_ro(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::ByMember { store: false });
}
pub(super) fn geosearch(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::Search);
}
pub(super) fn geosearchstore(cx: &mut Cx, args: &[Bytes]) {
    run(cx, args, Variant::SearchStore);
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search.
struct Query {
    centre: Option<(f64, f64)>,
    to_meters: f64,
    kind: Option<Kind>,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    sort: Sort,
    any: bool,
    /// 0 = unlimited.
    count: usize,
    store: Option<Bytes>,
    store_dist: bool,
}

/// One match.
struct Point {
    lon: f64,
    lat: f64,
    /// In meters until the reply converts it to the query's unit.
    dist: f64,
    score: f64,
    member: Bytes,
}

/// The position of `member` in `set`, or Redis' error replied.
fn member_position(out: &mut Out, set: &ZSet, member: &[u8]) -> Option<(f64, f64)> {
    let found = set.scores.get(member).and_then(|&s| hash::decode_score(s));
    if found.is_none() {
        out.error("ERR could not decode requested zset member");
    }
    found
}

/// A radius and unit, or the error replied.
fn radius(out: &mut Out, args: &[Bytes]) -> Option<(f64, Kind)> {
    let r = float_or(out, &args[0], "need numeric radius")?;
    if r < 0.0 {
        out.error("ERR radius cannot be negative");
        return None;
    }
    Some((unit(out, &args[1])?, Kind::Radius(r)))
}

/// A box width, height and unit, or the error replied.
fn bbox(out: &mut Out, args: &[Bytes]) -> Option<(f64, Kind)> {
    let width = float_or(out, &args[0], "need numeric width")?;
    let height = float_or(out, &args[1], "need numeric height")?;
    if height < 0.0 || width < 0.0 {
        out.error("ERR height or width cannot be negative");
        return None;
    }
    Some((unit(out, &args[2])?, Kind::Box { width, height }))
}

/// Parses the fixed arguments and the options, in Redis' order of checks and errors.
fn parse(out: &mut Out, set: Option<&ZSet>, args: &[Bytes], v: Variant) -> Option<Query> {
    let mut q = Query {
        centre: None,
        to_meters: 1.0,
        kind: None,
        with_dist: false,
        with_hash: false,
        with_coord: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store: None,
        store_dist: false,
    };
    let base = match v {
        Variant::Radius { .. } => {
            q.centre = Some(lon_lat(out, &args[2..4])?);
            (q.to_meters, q.kind) = radius(out, &args[4..6]).map(|(u, k)| (u, Some(k)))?;
            6
        }
        Variant::ByMember { .. } => {
            if let Some(z) = set {
                q.centre = Some(member_position(out, z, &args[2])?);
                (q.to_meters, q.kind) = radius(out, &args[3..5]).map(|(u, k)| (u, Some(k)))?;
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            q.store = Some(args[1].clone());
            3
        }
    };
    let searching = matches!(v, Variant::Search | Variant::SearchStore);
    let may_store = matches!(
        v,
        Variant::Radius { store: true } | Variant::ByMember { store: true }
    );
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let opts = &args[base..];
    let mut i = 0;
    while i < opts.len() {
        let (a, left) = (&opts[i], opts.len() - i - 1);
        if is(a, "withdist") {
            q.with_dist = true;
        } else if is(a, "withhash") {
            q.with_hash = true;
        } else if is(a, "withcoord") {
            q.with_coord = true;
        } else if is(a, "any") {
            q.any = true;
        } else if is(a, "asc") {
            q.sort = Sort::Asc;
        } else if is(a, "desc") {
            q.sort = Sort::Desc;
        } else if is(a, "count") && left >= 1 {
            let n = int_arg(out, &opts[i + 1])?;
            if n <= 0 {
                out.error("ERR COUNT must be > 0");
                return None;
            }
            q.count = n as usize;
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && left >= 1 && may_store {
            q.store = Some(opts[i + 1].clone());
            q.store_dist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && v == Variant::SearchStore {
            q.store_dist = true;
        } else if is(a, "frommember") && left >= 1 && searching && !from_lonlat {
            if let Some(z) = set {
                q.centre = Some(member_position(out, z, &opts[i + 1])?);
            }
            from_member = true;
            i += 1;
        } else if is(a, "fromlonlat") && left >= 2 && searching && !from_member {
            q.centre = Some(lon_lat(out, &opts[i + 1..i + 3])?);
            from_lonlat = true;
            i += 2;
        } else if is(a, "byradius") && left >= 2 && searching && !by_box {
            (q.to_meters, q.kind) = radius(out, &opts[i + 1..i + 3]).map(|(u, k)| (u, Some(k)))?;
            by_radius = true;
            i += 2;
        } else if is(a, "bybox") && left >= 3 && searching && !by_radius {
            (q.to_meters, q.kind) = bbox(out, &opts[i + 1..i + 4]).map(|(u, k)| (u, Some(k)))?;
            by_box = true;
            i += 3;
        } else {
            out.error("ERR syntax error");
            return None;
        }
        i += 1;
    }
    let name = String::from_utf8_lossy(&args[0]);
    let problem = if q.store.is_some() && (q.with_dist || q.with_hash || q.with_coord) {
        let what = match v {
            Variant::SearchStore => "GEOSEARCHSTORE",
            _ => "STORE option in GEORADIUS",
        };
        Some(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ))
    } else if searching && !(from_member || from_lonlat) {
        Some(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ))
    } else if searching && !(by_radius || by_box) {
        Some(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ))
    } else if q.any && q.count == 0 {
        Some("ERR the ANY argument requires COUNT argument".into())
    } else {
        None
    };
    if let Some(p) = problem {
        out.error(&p);
        return None;
    }
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    Some(q)
}

/// The members inside `shape`, cell by cell in Redis' order; stops at `limit` (0 = none).
fn find(set: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let mut found = Vec::new();
    let cells = cells_to_search(shape);
    let full = |found: &Vec<Point>| limit != 0 && found.len() >= limit;
    let mut last = 0;
    for (i, &cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Redis compares a cell with the last one searched, but never with the centre.
        if last != 0 && cell == cells[last] {
            continue;
        }
        if full(&found) {
            break;
        }
        let min = cell.align52() as f64;
        let next = hash::Cell {
            bits: cell.bits + 1,
            step: cell.step,
        };
        let max = next.align52() as f64;
        let from = (Score(min), Bytes::new());
        for (score, member) in set.order.range(from..) {
            if score.0 >= max {
                break;
            }
            if let Some((lon, lat)) = hash::decode_score(score.0) {
                if let Some(dist) = shape.distance_within(lon, lat) {
                    let (score, member) = (score.0, member.clone());
                    found.push(Point {
                        lon,
                        lat,
                        dist,
                        score,
                        member,
                    });
                }
            }
            if full(&found) {
                break;
            }
        }
        last = i;
    }
    found
}

fn run(cx: &mut Cx, args: &[Bytes], v: Variant) {
    let src = if v == Variant::SearchStore {
        &args[2]
    } else {
        &args[1]
    };
    let Ok(exists) = read_set(cx, src) else {
        return;
    };
    // The set stays borrowed from the keyspace while the reply buffer takes errors.
    let set = match exists {
        true => peek_set(cx.ks, cx.db_index, cx.now.unix_ms, src),
        false => None,
    };
    let Some(q) = parse(&mut cx.out, set, args, v) else {
        return;
    };
    let (Some(set), Some((lon, lat)), Some(kind)) = (set, q.centre, q.kind) else {
        return match &q.store {
            Some(dest) => {
                delete(cx, dest);
                cx.out.int(0)
            }
            None => cx.out.array(0),
        };
    };
    let shape = Shape {
        lon,
        lat,
        to_meters: q.to_meters,
        kind,
    };
    let mut found = find(set, &shape, if q.any { q.count } else { 0 });
    match q.sort {
        Sort::None => {}
        Sort::Asc => found.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => found.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
    }
    if q.count != 0 {
        found.truncate(q.count);
    }
    for p in &mut found {
        p.dist /= q.to_meters;
    }
    match &q.store {
        None => reply(&mut cx.out, &q, &found),
        Some(dest) => {
            let event = match v {
                Variant::SearchStore => "geosearchstore",
                _ => "georadiusstore",
            };
            store(cx, dest, &found, (q.store_dist, event))
        }
    }
}

fn reply(out: &mut Out, q: &Query, found: &[Point]) {
    let extras = usize::from(q.with_dist) + usize::from(q.with_hash) + usize::from(q.with_coord);
    out.array(found.len());
    for p in found {
        if extras > 0 {
            out.array(extras + 1);
        }
        out.bulk(&p.member);
        if q.with_dist {
            reply_distance(out, p.dist);
        }
        if q.with_hash {
            out.int(p.score as i64);
        }
        if q.with_coord {
            out.array(2);
            reply_coordinate(out, p.lon);
            reply_coordinate(out, p.lat);
        }
    }
}

/// Deletes `dest` (a search with no result stores nothing).
fn delete(cx: &mut Cx, dest: &[u8]) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    if cx.db().remove(dest, now, mode).is_some() {
        cx.dirty += 1;
        cx.notify(notify::GENERIC, "del", dest);
    }
}

/// Stores the matches at `dest` as a sorted set scored by geohash or by distance.
fn store(cx: &mut Cx, dest: &Bytes, found: &[Point], (by_distance, event): (bool, &'static str)) {
    if found.is_empty() {
        delete(cx, dest);
    } else {
        let mut z = ZSet::default();
        for p in found {
            z.insert(p.member.clone(), if by_distance { p.dist } else { p.score });
        }
        let (now, mode) = (cx.now_ms(), cx.mode());
        cx.db().remove(dest, now, mode);
        cx.db().insert(dest.clone(), Value::ZSet(Box::new(z)), None);
        cx.dirty += found.len() as u64;
        cx.notify(notify::ZSET, event, dest);
    }
    cx.out.int(found.len() as i64);
}
