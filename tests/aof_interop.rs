//! The multi-part AOF against a real Redis 7.0 (skipped with a notice when the tools are
//! missing, failing when `REDSIM_REQUIRE_INTEROP=1`). One script of writes (every type, small and
//! large encodings, TTLs, MULTI/EXEC, overwrites, deletes, effects rewritten for the log such as
//! INCRBYFLOAT or SPOP, several databases, FLUSHDB, SWAPDB) runs around a BGREWRITEAOF, so the
//! directory holds an RDB base and incr commands after it. Then:
//! - real -> us: an AOF directory written by real Redis (an RDB base with timestamp annotations
//!   and history entries in the manifest, or a base of commands) loads into redsim-server with the
//!   same dataset; redsim keeps appending to that directory and real Redis loads the result;
//! - us -> real: the directory redsim-server writes passes `redis-check-aof` and loads into real
//!   Redis with the same dataset.
//!
//! Datasets are compared whole: every key of every database, its value and its absolute expiry.

mod support;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::real_redis::{Conn, Dataset, RealRedis, Reply, TempDir};
use support::{have, Server};

fn tools_present() -> bool {
    have("redis-server") && have("redis-check-aof")
}

/// Runs each command, failing on an error reply.
fn run(c: &mut Conn, cmds: &[&[&str]]) {
    for cmd in cmds {
        if let Reply::Error(e) = c.cmd(cmd) {
            panic!("{e} for {cmd:?}");
        }
    }
}

/// `cmd key` followed by `items`, as one command.
fn with_items(cmd: &str, key: &str, items: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    [cmd.to_string(), key.to_string()]
        .into_iter()
        .chain(items)
        .map(String::into_bytes)
        .collect()
}

/// Big aggregates (quicklist, hashtable, skiplist encodings in the base) and a binary string.
fn big_values() -> Vec<Vec<Vec<u8>>> {
    let binary: Vec<u8> = (0..=255u8).rev().chain(*b"\r\n\0end").collect();
    vec![
        vec![b"SET".to_vec(), b"s:bin".to_vec(), binary],
        with_items(
            "RPUSH",
            "l:big",
            (0..1000).map(|i| match i % 3 {
                0 => i.to_string(),
                _ => format!("element-{i}"),
            }),
        ),
        with_items(
            "HSET",
            "h:big",
            (0..600).flat_map(|i| [format!("field:{i}"), format!("value-{}", i * 7)]),
        ),
        with_items("SADD", "set:big", (0..600).map(|i| format!("member-{i}"))),
        with_items(
            "ZADD",
            "z:big",
            (0..200).flat_map(|i| [format!("{}", i as f64 * 0.1 - 7.0), format!("m{i}")]),
        ),
    ]
}

/// The writes before the rewrite: they end up in the base.
fn before_rewrite(c: &mut Conn) {
    c.pipeline(&big_values());
    run(
        c,
        &[
            &["SET", "s:plain", "hello"],
            &["SET", "s:int", "12345"],
            &["SET", "s:ttl", "v", "EX", "3600"],
            &["SETEX", "s:setex", "3600", "v"],
            &["PSETEX", "s:psetex", "3600000", "v"],
            &["INCR", "n"],
            &["INCRBY", "n", "41"],
            &["DECR", "n"],
            &["INCRBYFLOAT", "f", "1.5"],
            &["INCRBYFLOAT", "f", "0.25"],
            &["APPEND", "s:app", "abc"],
            &["APPEND", "s:app", "def"],
            &["SETRANGE", "s:range", "5", "xyz"],
            &["RPUSH", "l:small", "a", "b", "c"],
            &["LPUSH", "l:small", "z"],
            &["LINSERT", "l:small", "BEFORE", "b", "mid"],
            &["EXPIRE", "l:small", "7200"],
            &["HSET", "h:small", "f1", "v1", "f2", "v2"],
            &["HINCRBY", "h:small", "n", "5"],
            &["HINCRBYFLOAT", "h:small", "fl", "2.5"],
            &["HSETNX", "h:small", "f1", "ignored"],
            &["SADD", "set:ints", "1", "2", "3", "-5"],
            &["SADD", "set:strs", "a", "b", "c", "d", "e"],
            &[
                "ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d",
            ],
            &["ZINCRBY", "z:small", "1.5", "a"],
            &["PEXPIRE", "h:big", "5000000"],
            &["SELECT", "3"],
            &["SET", "db3:s", "x"],
            &["RPUSH", "db3:l", "1", "2"],
            &["SELECT", "0"],
            &["MULTI"],
            &["SET", "tx:a", "1"],
            &["INCR", "tx:n"],
            &["RPUSH", "tx:l", "a"],
            &["EXPIRE", "tx:a", "3600"],
            &["EXEC"],
        ],
    );
}

/// The writes after the rewrite: they stay in the incr file. Ends with database 3 selected.
fn after_rewrite(c: &mut Conn) {
    run(
        c,
        &[
            &["SET", "s:plain", "world"],
            &["SET", "s:int", "999"],
            &["DEL", "s:bin"],
            &["UNLINK", "h:small"],
            &["SET", "z:small", "now a string"],
            &["RPUSH", "l:big", "tail1", "tail2"],
            &["LPOP", "l:big"],
            &["RPOP", "l:big"],
            &["LTRIM", "l:big", "0", "899"],
            &["LSET", "l:big", "0", "first"],
            &["HDEL", "h:big", "field:0"],
            &["HSET", "h:big", "field:1", "changed"],
            &["SREM", "set:ints", "2"],
            &["SPOP", "set:strs"],
            &["SMOVE", "set:ints", "set:strs", "3"],
            &["ZREM", "z:big", "m0"],
            &["ZPOPMIN", "z:big"],
            &["ZADD", "z:big", "XX", "100", "m5"],
            &["GETEX", "s:setex", "EX", "1800"],
            &["GETEX", "s:psetex", "PERSIST"],
            &["GETDEL", "s:app"],
            &["PERSIST", "s:ttl"],
            &["PEXPIRE", "s:int", "4000000"],
            &["SET", "s:past", "v"],
            &["EXPIRE", "s:past", "-1"],
            &["RENAME", "s:range", "s:renamed"],
            &["COPY", "s:renamed", "s:copied"],
            &["MOVE", "s:copied", "3"],
            &["SET", "gone", "v", "PX", "100"],
            &["SETNX", "s:plain", "ignored"],
            &["MULTI"],
            &["SET", "tx:b", "2"],
            &["LPUSH", "tx:l", "b"],
            &["HSET", "tx:h", "f", "v"],
            &["SADD", "tx:s", "m"],
            &["ZADD", "tx:z", "1", "m"],
            &["PEXPIRE", "tx:h", "3600000"],
            &["EXEC"],
            &["SELECT", "7"],
            &["SET", "tmp", "1"],
            &["FLUSHDB"],
            &["SET", "after-flush", "1"],
            &["SELECT", "5"],
            &["SET", "swapped", "from db 5"],
            &["SWAPDB", "5", "6"],
            &["SELECT", "3"],
            &["SET", "db3:last", "x"],
        ],
    );
    // `gone` expires (its deletion is logged by whichever server notices it).
    std::thread::sleep(Duration::from_millis(300));
}

/// The whole script, with a BGREWRITEAOF (waited for) in the middle.
fn write_script(c: &mut Conn) {
    before_rewrite(c);
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]),
        Reply::Simple("Background append only file rewriting started".into())
    );
    wait_rewrite_done(c);
    after_rewrite(c);
}

fn wait_rewrite_done(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = String::from_utf8(c.cmd(&["INFO", "persistence"]).bytes()).unwrap();
        let idle =
            info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0");
        if idle {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            return;
        }
        assert!(Instant::now() < deadline, "rewrite never finished:\n{info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the script must leave, checked on the dataset read back before stopping.
fn check_script_result(data: &Dataset) {
    let keys = |db: usize| -> Vec<String> {
        data.keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
            .collect()
    };
    for gone in ["s:bin", "h:small", "s:app", "s:past", "s:range", "gone"] {
        assert!(!keys(0).contains(&gone.to_string()), "{gone} survived");
    }
    assert_eq!(keys(0).len(), 23, "{:?}", keys(0));
    assert_eq!(keys(3), ["db3:l", "db3:last", "db3:s", "s:copied"]);
    assert_eq!(keys(5), Vec::<String>::new());
    assert_eq!(keys(6), ["swapped"]);
    assert_eq!(keys(7), ["after-flush"]);
    let expiring = data.values().filter(|(_, at)| at.is_some()).count();
    assert_eq!(expiring, 6, "s:setex s:int l:small h:big tx:a tx:h");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(data
        .values()
        .filter_map(|(_, at)| *at)
        .all(|at| at > now.as_millis() as i64));
}

fn manifest_path(dir: &Path) -> std::path::PathBuf {
    dir.join("appendonlydir/appendonly.aof.manifest")
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

fn redsim(dir: &Path) -> (Server, Conn) {
    let dir = dir.to_str().unwrap();
    let log = format!("{dir}/redsim.log");
    let server = Server::start(&[
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--dir",
        dir,
        "--logfile",
        &log,
    ]);
    let conn = Conn::wait_ready(server.port, || read(Path::new(&log)));
    (server, conn)
}

fn real_redis(dir: &Path, tag: &str, extra: &[&str]) -> RealRedis {
    let args = [&["--appendonly", "yes", "--appendfsync", "always"], extra].concat();
    RealRedis::launch(dir, tag, &args)
}

/// Real Redis configured with `extra` runs the script; redsim-server loads its directory, appends
/// to it, and real Redis loads the result. Returns real Redis' manifest and last incr file.
fn real_redis_then_redsim(tag: &str, extra: &[&str]) -> (String, String) {
    let dir = TempDir::new(tag);
    let mut redis = real_redis(&dir.0, "redis-writes", extra);
    write_script(&mut redis.conn);
    // Redis annotates the first write of each new second (with timestamps on): make one.
    let second = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let start = second(SystemTime::now());
    while second(SystemTime::now()) == start {
        std::thread::sleep(Duration::from_millis(20));
    }
    run(&mut redis.conn, &[&["SET", "db3:last", "stamped"]]);
    let want = redis.conn.dump();
    check_script_result(&want);
    redis.stop();
    let manifest = read(&manifest_path(&dir.0));
    let incr = read(&dir.0.join("appendonlydir/appendonly.aof.2.incr.aof"));

    let (server, mut c) = redsim(&dir.0);
    assert_eq!(c.dump(), want, "redsim loaded what real Redis wrote");
    run(
        &mut c,
        &[
            &["SET", "cont:0", "appended by redsim"],
            &["HSET", "cont:h", "f", "v"],
            &["SELECT", "9"],
            &["SET", "cont:9", "y", "EX", "3600"],
        ],
    );
    let grown = c.dump();
    assert_eq!(grown.len(), want.len() + 3);
    server.stop();

    let mut redis = real_redis(&dir.0, "redis-reads", &[]);
    assert_eq!(
        redis.conn.dump(),
        grown,
        "real Redis loaded what redsim appended"
    );
    (manifest, incr)
}

#[test]
fn an_aof_with_an_rdb_base_timestamps_and_history_written_by_real_redis_loads_into_redsim() {
    if !tools_present() {
        return;
    }
    let extra = [
        "--aof-timestamp-enabled",
        "yes",
        "--aof-disable-auto-gc",
        "yes",
    ];
    let (manifest, incr) = real_redis_then_redsim("aof-from-redis", &extra);
    assert!(
        manifest.contains("file appendonly.aof.2.base.rdb seq 2 type b\n")
            && manifest.contains("type h\n"),
        "a base after the rewrite, history kept:\n{manifest}"
    );
    assert!(incr.contains("\n#TS:"), "annotated: {incr:?}");
}

#[test]
fn an_aof_with_a_command_base_written_by_real_redis_loads_into_redsim() {
    if !tools_present() {
        return;
    }
    let extra = ["--aof-use-rdb-preamble", "no"];
    let (manifest, _) = real_redis_then_redsim("aof-from-redis-cmds", &extra);
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
}

#[test]
fn an_aof_directory_written_by_redsim_passes_redis_check_aof_and_loads_into_real_redis() {
    if !tools_present() {
        return;
    }
    let dir = TempDir::new("aof-to-redis");
    let (server, mut c) = redsim(&dir.0);
    write_script(&mut c);
    let want = c.dump();
    check_script_result(&want);
    server.stop();
    let manifest = read(&manifest_path(&dir.0));
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.0.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ],
        "the files of before the rewrite are gone"
    );

    let check = std::process::Command::new("redis-check-aof")
        .arg(manifest_path(&dir.0))
        .output()
        .expect("run redis-check-aof");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("All AOF files and manifest are valid"),
        "{report}"
    );
    assert!(report.contains("RDB preamble is OK"), "{report}");

    let mut redis = real_redis(&dir.0, "redis-reads", &[]);
    assert_eq!(
        redis.conn.dump(),
        want,
        "real Redis loaded what redsim wrote"
    );
}
