//! Geo commands: GEOADD, GEOHASH, GEOPOS, GEODIST here; GEORADIUS[BYMEMBER][_RO], GEOSEARCH and
//! GEOSEARCHSTORE in `search`.
//!
//! A geo set is a sorted set whose scores are Redis' 52-bit interleaved geohashes (`hash`), so
//! every sorted set command, RDB and replication see it unchanged; GEOADD is ZADD with the
//! scores computed (and replicates as that ZADD). Which cells a search walks is in `area`.

mod area;
mod hash;
mod search;
#[cfg(test)]
mod tests;

use super::zsets::zadd;
use super::{data, flags::*, is, CommandSpec, Cx, Propagate};
use crate::db::{Entry, Keyspace, Value, ZSet};
use crate::resp::Out;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("geoadd", -5, WRITE | DENYOOM, (1, 1, 1), geoadd),
    data("geohash", -2, READONLY, (1, 1, 1), geohash),
    data("geopos", -2, READONLY, (1, 1, 1), geopos),
    data("geodist", -4, READONLY, (1, 1, 1), geodist),
    data(
        "georadius",
        -6,
        WRITE | DENYOOM,
        (1, 1, 1),
        search::georadius,
    ),
    data(
        "georadius_ro",
        -6,
        READONLY,
        (1, 1, 1),
        search::georadius_ro,
    ),
    data(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM,
        (1, 1, 1),
        search::georadiusbymember,
    ),
    data(
        "georadiusbymember_ro",
        -5,
        READONLY,
        (1, 1, 1),
        search::georadiusbymember_ro,
    ),
    data("geosearch", -7, READONLY, (1, 1, 1), search::geosearch),
    data(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        (1, 2, 1),
        search::geosearchstore,
    ),
];

/// Parses a float argument, replying `ERR <msg>` if it is not one.
fn float_or(out: &mut Out, arg: &[u8], msg: &str) -> Option<f64> {
    let v = crate::text::parse_f64(arg);
    if v.is_none() {
        out.error(&format!("ERR {msg}"));
    }
    v
}

/// A longitude and latitude within Redis' limits, or the error replied.
fn lon_lat(out: &mut Out, args: &[Bytes]) -> Option<(f64, f64)> {
    let lon = float_or(out, &args[0], "value is not a valid float")?;
    let lat = float_or(out, &args[1], "value is not a valid float")?;
    if !(hash::LON_MIN..=hash::LON_MAX).contains(&lon)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&lat)
    {
        out.error(&format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        ));
        return None;
    }
    Some((lon, lat))
}

/// Meters per unit for M, KM, FT and MI, or the error replied.
fn unit(out: &mut Out, arg: &[u8]) -> Option<f64> {
    let known = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    let found = known
        .iter()
        .find(|(name, _)| is(arg, name))
        .map(|(_, m)| *m);
    if found.is_none() {
        out.error("ERR unsupported unit provided. please use M, KM, FT, MI");
    }
    found
}

/// A distance reply: 4 decimals, rounded as Redis rounds them.
fn reply_distance(out: &mut Out, d: f64) {
    let scaled = (d * 10_000.0).round_ties_even() as i64;
    let (sign, v) = if scaled < 0 {
        ("-", -scaled)
    } else {
        ("", scaled)
    };
    out.bulk(format!("{sign}{}.{:04}", v / 10_000, v % 10_000).as_bytes());
}

/// A coordinate reply: up to 17 decimals without trailing zeroes (a double in RESP3).
fn reply_coordinate(out: &mut Out, d: f64) {
    let mut text = format!("{d:.17}");
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    if text == "-0" {
        text = "0".into();
    }
    if out.is_resp3() {
        out.raw(format!(",{text}\r\n").as_bytes());
    } else {
        out.bulk(text.as_bytes());
    }
}

/// The sorted set at `key` in database `db`, without side effects (after `read_set` checked
/// it). It borrows only the keyspace, so the reply buffer stays free for errors.
fn peek_set<'a>(ks: &'a Keyspace, db: usize, now_ms: u64, key: &[u8]) -> Option<&'a ZSet> {
    match ks.dbs[db].peek(key, now_ms, ks.mode) {
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Some(z),
        _ => None,
    }
}

/// Looks up `key` for a read command (counting the keyspace hit or miss): whether a sorted set
/// is there, `Err` once WRONGTYPE was replied.
fn read_set(cx: &mut Cx, key: &[u8]) -> Result<bool, ()> {
    match cx.read(key).map(|e| matches!(e.value, Value::ZSet(_))) {
        None => Ok(false),
        Some(true) => Ok(true),
        Some(false) => {
            cx.wrongtype();
            Err(())
        }
    }
}

/// The position of each named member (`None` for a missing member or key).
fn positions(cx: &mut Cx, key: &[u8], members: &[Bytes]) -> Result<Vec<Option<(f64, f64)>>, ()> {
    read_set(cx, key)?;
    let set = peek_set(cx.ks, cx.db_index, cx.now.unix_ms, key);
    Ok(members
        .iter()
        .map(|m| {
            set.and_then(|z| z.scores.get(m.as_ref()))
                .and_then(|&s| hash::decode_score(s))
        })
        .collect())
}

/// GEOADD key [NX|XX] [CH] lon lat member ...: ZADD with geohash scores.
fn geoadd(cx: &mut Cx, args: &[Bytes]) {
    let mut first = 2;
    let (mut nx, mut xx) = (false, false);
    while let Some(a) = args.get(first) {
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if !is(a, "ch") {
            break;
        }
        first += 1;
    }
    let triples = &args[first..];
    if !triples.len().is_multiple_of(3) || (nx && xx) {
        return cx.syntax_error();
    }
    let mut zadd_args: Vec<Bytes> = vec![Bytes::from_static(b"zadd")];
    zadd_args.extend_from_slice(&args[1..first]);
    for t in triples.chunks_exact(3) {
        let Some((lon, lat)) = lon_lat(&mut cx.out, &t[..2]) else {
            return;
        };
        let score = hash::encode_wgs84(lon, lat, hash::STEP_MAX).map_or(0, |c| c.align52());
        zadd_args.push(Bytes::from(score.to_string()));
        zadd_args.push(t[2].clone());
    }
    zadd(cx, &zadd_args);
    cx.propagate = Propagate::Replace(vec![zadd_args]);
}

/// GEOHASH key member ...: the standard 11-character geohash of each member.
fn geohash(cx: &mut Cx, args: &[Bytes]) {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let Ok(found) = positions(cx, &args[1], &args[2..]) else {
        return;
    };
    cx.out.array(found.len());
    for pos in found {
        // Standard geohashes use latitudes -90..90, not Redis' Mercator limits.
        let lat_range = hash::Range {
            min: -90.0,
            max: 90.0,
        };
        let cell = pos.and_then(|(lon, lat)| {
            hash::encode(hash::LON_RANGE, lat_range, lon, lat, hash::STEP_MAX)
        });
        match cell {
            None => cx.out.null(),
            Some(c) => {
                let text: Vec<u8> = (0..11)
                    .map(|i| match i {
                        10 => ALPHABET[0],
                        _ => ALPHABET[((c.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize],
                    })
                    .collect();
                cx.out.bulk(&text);
            }
        }
    }
}

fn geopos(cx: &mut Cx, args: &[Bytes]) {
    let Ok(found) = positions(cx, &args[1], &args[2..]) else {
        return;
    };
    cx.out.array(found.len());
    for pos in found {
        match pos {
            None => cx.out.null_array(),
            Some((lon, lat)) => {
                cx.out.array(2);
                reply_coordinate(&mut cx.out, lon);
                reply_coordinate(&mut cx.out, lat);
            }
        }
    }
}

/// GEODIST key member1 member2 [unit].
fn geodist(cx: &mut Cx, args: &[Bytes]) {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => match unit(&mut cx.out, &args[4]) {
            Some(u) => u,
            None => return,
        },
        _ => return cx.syntax_error(),
    };
    let Ok(found) = positions(cx, &args[1], &args[2..4]) else {
        return;
    };
    match (found[0], found[1]) {
        (Some((lon1, lat1)), Some((lon2, lat2))) => reply_distance(
            &mut cx.out,
            hash::distance(lon1, lat1, lon2, lat2) / to_meters,
        ),
        _ => cx.out.null(),
    }
}
