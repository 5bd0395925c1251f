//! HyperLogLogs and geo sets against a real Redis (skipped with a notice when redis-server is
//! missing, failing when `REDSIM_REQUIRE_INTEROP=1`): the same PFADDs and GEOADDs give the same
//! bytes and scores in both servers, and an RDB file carries a sparse HLL, a dense HLL and a geo
//! set from redsim to real Redis and back with the same PFCOUNT, PFDEBUG ENCODING, GEOPOS and
//! GEOSEARCH answers.

mod support;

use support::real_redis::{Conn, RealRedis, Reply, TempDir};
use support::{have, Server};

/// The writes both servers get: a sparse HLL, a dense one (5000 elements), a merge, a geo set;
/// then PFCOUNT caches each estimate in its HLL.
fn fill(c: &mut Conn) {
    let dense: Vec<String> = (0..5000).map(|i| format!("element:{i}")).collect();
    let mut cmds: Vec<Vec<Vec<u8>>> = vec![
        args(&["PFADD", "hll:sparse", "a", "b", "c", "d", ""]),
        [args(&["PFADD", "hll:dense"]), strings(&dense)].concat(),
        args(&["PFMERGE", "hll:merged", "hll:sparse", "hll:dense"]),
        words(
            "GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania \
             -73.9454966 40.747533 lic:market 179.5 36 east -179.5 -36 west",
        ),
    ];
    for key in ["hll:sparse", "hll:dense", "hll:merged"] {
        cmds.push(args(&["PFCOUNT", key]));
    }
    c.pipeline(&cmds);
}

fn args(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// A command written as one line of space-separated words.
fn words(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace()
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

fn strings(items: &[String]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// What a client sees of the HLLs and the geo set, raw bytes included.
fn observe(c: &mut Conn) -> Vec<Reply> {
    let mut seen = Vec::new();
    for key in ["hll:sparse", "hll:dense", "hll:merged"] {
        seen.push(c.cmd(&["GET", key]));
        seen.push(c.cmd(&["PFDEBUG", "ENCODING", key]));
        seen.push(c.cmd(&["PFCOUNT", key]));
    }
    seen.push(c.cmd(&["PFCOUNT", "hll:sparse", "hll:dense"]));
    for line in [
        "ZRANGE geo 0 -1 WITHSCORES",
        "GEOPOS geo Palermo east west nosuch",
        "GEOHASH geo Palermo lic:market",
        "GEODIST geo Palermo Catania km",
        "GEOSEARCH geo FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHCOORD WITHHASH",
        "GEOSEARCH geo FROMLONLAT -180 0 BYBOX 600 9000 km ASC",
    ] {
        seen.push(c.cmd(&words(line)));
    }
    seen
}

fn redsim(dir: &TempDir) -> (Server, Conn) {
    let d = dir.0.to_str().unwrap();
    let server = Server::start(&["--save", "", "--dir", d, "--dbfilename", "dump.rdb"]);
    let conn = Conn::wait_ready(server.port, String::new);
    (server, conn)
}

#[test]
fn hlls_and_geo_sets_match_real_redis_and_move_between_them_by_rdb() {
    if !have("redis-server") {
        return;
    }
    // The same writes give the same bytes and answers in both servers.
    let from_redsim = TempDir::new("hll-geo-redsim");
    let (server, mut c) = redsim(&from_redsim);
    fill(&mut c);
    let seen = observe(&mut c);
    let real_dir = TempDir::new("hll-geo-real");
    let mut real = RealRedis::start(&real_dir.0, "dump.rdb");
    fill(&mut real.conn);
    assert_eq!(observe(&mut real.conn), seen, "same writes, same answers");
    let encodings: Vec<&Reply> = seen.iter().skip(1).step_by(3).take(3).collect();
    let simple = |s: &str| Reply::Simple(s.into());
    assert_eq!(
        encodings,
        [&simple("sparse"), &simple("dense"), &simple("dense")]
    );

    // redsim's RDB loads into real Redis.
    assert_eq!(c.cmd(&["SAVE"]), simple("OK"));
    server.stop();
    let mut loaded = RealRedis::start(&from_redsim.0, "dump.rdb");
    assert_eq!(
        observe(&mut loaded.conn),
        seen,
        "real Redis loading redsim's RDB"
    );
    loaded.stop();

    // Real Redis' RDB loads into redsim.
    assert_eq!(real.conn.cmd(&["SAVE"]), simple("OK"));
    real.stop();
    let (server, mut c) = redsim(&real_dir);
    assert_eq!(observe(&mut c), seen, "redsim loading real Redis' RDB");
    server.stop();
}
