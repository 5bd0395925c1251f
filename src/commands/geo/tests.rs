//! What a client sees from the geo commands (expected values from Redis' own test suite).

use crate::core::testing::{arr, bulk, err, int, TestServer};
use crate::resp::Frame;

fn nyc() -> TestServer {
    let mut t = TestServer::new();
    t.cmd(&[
        "geoadd",
        "nyc",
        "-73.9454966",
        "40.747533",
        "lic market",
        "-73.9733487",
        "40.7648057",
        "central park n/q/r",
        "-73.9903085",
        "40.7362513",
        "union square",
        "-74.0131604",
        "40.7126674",
        "wtc one",
        "-73.7858139",
        "40.6428986",
        "jfk",
        "-73.9375699",
        "40.7498929",
        "q4",
        "-73.9564142",
        "40.7480973",
        "4545",
    ]);
    t
}

#[test]
fn geoadd_stores_redis_geohash_scores_and_replicates_as_zadd() {
    let mut t = nyc();
    assert_eq!(
        t.cmd(&["zscore", "nyc", "wtc one"]),
        bulk("1791873972053020")
    );
    assert_eq!(
        t.cmd(&["geoadd", "nyc", "xx", "nx", "1", "1", "m"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["geoadd", "nyc", "200", "100", "m"]),
        err("ERR invalid longitude,latitude pair 200.000000,100.000000")
    );
    assert_eq!(
        t.cmd(&["geoadd", "nyc", "ch", "xx", "-73.9", "40.7", "jfk"]),
        int(1)
    );
}

#[test]
fn georadius_and_geosearch_find_sort_and_measure_like_redis() {
    let mut t = nyc();
    assert_eq!(
        t.cmd(&[
            "georadius",
            "nyc",
            "-73.9798091",
            "40.7598464",
            "3",
            "km",
            "asc"
        ]),
        arr(&["central park n/q/r", "4545", "union square"])
    );
    assert_eq!(
        t.cmd(&[
            "geosearch",
            "nyc",
            "fromlonlat",
            "-73.9798091",
            "40.7598464",
            "bybox",
            "6",
            "6",
            "km",
            "asc"
        ]),
        arr(&["central park n/q/r", "4545", "union square", "lic market"])
    );
    assert_eq!(
        t.cmd(&[
            "georadius",
            "nyc",
            "-73.9798091",
            "40.7598464",
            "10",
            "km",
            "count",
            "3",
            "any"
        ]),
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
    assert_eq!(t.cmd(&["del", "x"]), int(0));
    assert_eq!(
        t.cmd(&[
            "geosearchstore",
            "d",
            "missing",
            "fromlonlat",
            "0",
            "0",
            "byradius",
            "1",
            "km"
        ]),
        int(0)
    );
    assert_eq!(t.cmd(&["exists", "d"]), int(0));
}

#[test]
fn geohash_geopos_and_geodist_answer_per_member() {
    let mut t = TestServer::new();
    t.cmd(&["geoadd", "points", "-5.6", "42.6", "test"]);
    assert_eq!(
        t.cmd(&["geohash", "points", "test", "nosuch"]),
        Frame::Array(vec![bulk("ezs42e44yx0"), Frame::Null])
    );
    t.cmd(&[
        "geoadd",
        "sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
    ]);
    assert_eq!(
        t.cmd(&["geopos", "sicily", "Palermo"]),
        Frame::Array(vec![arr(&["13.36138933897018433", "38.11555639549629859"])])
    );
    assert_eq!(
        t.cmd(&["geodist", "sicily", "Palermo", "Catania"]),
        bulk("166274.1516")
    );
    assert_eq!(
        t.cmd(&["geodist", "sicily", "Palermo", "Catania", "yd"]),
        err("ERR unsupported unit provided. please use M, KM, FT, MI")
    );
}

#[test]
fn search_options_are_checked_in_redis_order() {
    let mut t = nyc();
    assert_eq!(
        t.cmd(&["geosearch", "nyc", "bybox", "3", "3", "km", "asc"]),
        err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch")
    );
    assert_eq!(
        t.cmd(&["georadius", "nyc", "0", "0", "1", "km", "any"]),
        err("ERR the ANY argument requires COUNT argument")
    );
    assert_eq!(
        t.cmd(&["georadius", "nyc", "0", "0", "1", "km", "store", "x", "withdist"]),
        err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(
        t.cmd(&["georadius_ro", "nyc", "0", "0", "1", "km", "store", "x"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["georadiusbymember", "nyc", "nosuch", "1", "km"]),
        err("ERR could not decode requested zset member")
    );
}
