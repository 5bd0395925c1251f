//! What a client sees from the geo commands (expected values from Redis' own test suite).

use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::resp::Frame;

/// Runs a command written as one line of space-separated words.
fn run(t: &mut TestServer, line: &str) -> Frame {
    t.cmd(&line.split(' ').collect::<Vec<_>>())
}

/// The places of Redis' geo test in `nyc`.
fn nyc() -> TestServer {
    let places = [
        ("-73.9454966", "40.747533", "lic market"),
        ("-73.9733487", "40.7648057", "central park n/q/r"),
        ("-73.9903085", "40.7362513", "union square"),
        ("-74.0131604", "40.7126674", "wtc one"),
        ("-73.7858139", "40.6428986", "jfk"),
        ("-73.9375699", "40.7498929", "q4"),
        ("-73.9564142", "40.7480973", "4545"),
    ];
    let mut args = vec!["geoadd", "nyc"];
    for (lon, lat, name) in places {
        args.extend([lon, lat, name]);
    }
    let mut t = TestServer::new();
    t.cmd(&args);
    t
}

#[test]
fn geoadd_stores_redis_geohash_scores_and_takes_zadd_options() {
    let mut t = nyc();
    assert_eq!(
        t.cmd(&["zscore", "nyc", "wtc one"]),
        bulk("1791873972053020")
    );
    assert_eq!(
        run(&mut t, "geoadd nyc xx nx 1 1 m"),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&mut t, "geoadd nyc 200 100 m"),
        err("ERR invalid longitude,latitude pair 200.000000,100.000000")
    );
    assert_eq!(run(&mut t, "geoadd nyc ch xx -73.9 40.7 jfk"), int(1));
}

#[test]
fn georadius_and_geosearch_find_sort_and_measure_like_redis() {
    let mut t = nyc();
    assert_eq!(
        run(&mut t, "georadius nyc -73.9798091 40.7598464 3 km asc"),
        arr(&["central park n/q/r", "4545", "union square"])
    );
    assert_eq!(
        run(
            &mut t,
            "geosearch nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc"
        ),
        arr(&["central park n/q/r", "4545", "union square", "lic market"])
    );
    assert_eq!(
        run(
            &mut t,
            "georadius nyc -73.9798091 40.7598464 10 km count 3 any"
        ),
        arr(&["wtc one", "union square", "central park n/q/r"])
    );
    let dist = |m: &str, d: &str| Frame::Array(vec![bulk(m), bulk(d)]);
    assert_eq!(
        t.cmd(&["georadiusbymember", "nyc", "wtc one", "7", "km", "withdist"]),
        Frame::Array(vec![
            dist("wtc one", "0.0000"),
            dist("union square", "3.2544"),
            dist("central park n/q/r", "6.7000"),
            dist("4545", "6.1975"),
            dist("lic market", "6.8969"),
        ])
    );
}

#[test]
fn geosearchstore_stores_distances_and_deletes_on_no_match() {
    let mut t = nyc();
    let search = |t: &mut TestServer, radius: &str| {
        t.cmd(&[
            "geosearchstore",
            "d",
            "nyc",
            "frommember",
            "wtc one",
            "byradius",
            radius,
            "km",
            "storedist",
        ])
    };
    assert_eq!(search(&mut t, "4"), int(2));
    assert_eq!(t.cmd(&["zscore", "d", "wtc one"]), bulk("0"));
    assert_eq!(
        run(
            &mut t,
            "geosearchstore d missing fromlonlat 0 0 byradius 1 km"
        ),
        int(0)
    );
    assert_eq!(run(&mut t, "exists d"), int(0));
}

#[test]
fn geohash_geopos_and_geodist_answer_per_member() {
    let mut t = TestServer::new();
    run(&mut t, "geoadd points -5.6 42.6 test");
    assert_eq!(
        run(&mut t, "geohash points test nosuch"),
        Frame::Array(vec![bulk("ezs42e44yx0"), Frame::Null])
    );
    run(
        &mut t,
        "geoadd sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    );
    assert_eq!(
        run(&mut t, "geopos sicily Palermo"),
        Frame::Array(vec![arr(&["13.36138933897018433", "38.11555639549629859"])])
    );
    assert_eq!(
        run(&mut t, "geodist sicily Palermo Catania"),
        bulk("166274.1516")
    );
    assert_eq!(
        run(&mut t, "geodist sicily Palermo Catania yd"),
        err("ERR unsupported unit provided. please use M, KM, FT, MI")
    );
}

#[test]
fn search_options_are_checked_in_redis_order() {
    let mut t = nyc();
    for (line, error) in [
        (
            "geosearch nyc bybox 3 3 km asc",
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch",
        ),
        (
            "georadius nyc 0 0 1 km any",
            "ERR the ANY argument requires COUNT argument",
        ),
        (
            "georadius nyc 0 0 1 km store x withdist",
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        ("georadius_ro nyc 0 0 1 km store x", "ERR syntax error"),
        (
            "georadiusbymember nyc nosuch 1 km",
            "ERR could not decode requested zset member",
        ),
    ] {
        assert_eq!(run(&mut t, line), err(error), "{line}");
    }
}
