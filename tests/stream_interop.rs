//! Streams with consumer groups and pending entries move between a real Redis and redsim through
//! RDB files, both ways: a real `redis-server` builds streams (several nodes, deleted entries,
//! groups, consumers with and without pending entries, NOACK reads, claims, an empty stream with
//! a group) and saves; redsim loads the file and must show the same XINFO STREAM FULL and XRANGE;
//! redsim saves, `redis-check-rdb` accepts the file and a real `redis-server` loads the same
//! again. Skipped with a notice when the tools are missing (failing when
//! `REDSIM_REQUIRE_INTEROP=1`).

mod support;

use support::real_redis::{Conn, RealRedis, Reply, TempDir};
use support::{have, Server};

fn cmd(c: &mut Conn, line: &str) -> Reply {
    let args: Vec<&str> = line.split(' ').collect();
    let r = c.cmd(&args);
    assert!(!matches!(r, Reply::Error(_)), "{line}: {r:?}");
    r
}

/// Builds the streams on a real server.
fn fill(c: &mut Conn) {
    cmd(c, "CONFIG SET stream-node-max-entries 7");
    for i in 1..=40 {
        let line = match i % 5 {
            0 => format!("XADD s {i}-{i} f {i} other value-{i}"),
            1 => format!("XADD s {i}-0 f {} g -12", i * 1000),
            _ => format!("XADD s {i}-{i} f {i}"),
        };
        cmd(c, &line);
    }
    cmd(c, "XDEL s 5-5 6-6 40-40");
    cmd(c, "XGROUP CREATE s g1 0");
    cmd(c, "XGROUP CREATE s g2 $");
    cmd(c, "XGROUP CREATE s g3 10-10 ENTRIESREAD 9");
    cmd(c, "XREADGROUP GROUP g1 alice COUNT 5 STREAMS s >");
    cmd(c, "XREADGROUP GROUP g1 bob COUNT 3 NOACK STREAMS s >");
    cmd(c, "XREADGROUP GROUP g1 bob COUNT 2 STREAMS s >");
    cmd(c, "XCLAIM s g1 carol 0 2-2 3-3 RETRYCOUNT 4");
    cmd(c, "XGROUP CREATECONSUMER s g1 dave");
    cmd(c, "XREADGROUP GROUP g3 erin STREAMS s >");
    cmd(c, "XACK s g3 11-11 12-12");
    cmd(c, "XADD e MAXLEN 0 * a b");
    cmd(c, "XGROUP CREATE e eg $");
    cmd(c, "XGROUP CREATE empty eg $ MKSTREAM");
}

/// The reply without consumers' `active-time` (Redis 7.2 reports it, 7.0 does not).
fn without_active_time(r: Reply) -> Reply {
    let Reply::Array(items) = r else { return r };
    let mut out = Vec::new();
    let mut it = items.into_iter().peekable();
    while let Some(item) = it.next() {
        if item == Reply::Bulk(Some(b"active-time".to_vec())) {
            it.next();
            continue;
        }
        out.push(without_active_time(item));
    }
    Reply::Array(out)
}

/// What both servers must agree on.
fn view(c: &mut Conn) -> Vec<Reply> {
    let mut out = Vec::new();
    for key in ["s", "e", "empty"] {
        out.push(without_active_time(cmd(
            c,
            &format!("XINFO STREAM {key} FULL COUNT 0"),
        )));
        out.push(cmd(c, &format!("XRANGE {key} - +")));
        out.push(cmd(c, &format!("XINFO GROUPS {key}")));
    }
    out
}

#[test]
fn streams_with_groups_move_between_real_redis_and_redsim_both_ways() {
    if !(have("redis-server") && have("redis-check-rdb")) {
        return;
    }
    let dir = TempDir::new("stream-interop");
    let mut real = RealRedis::start(&dir.0, "real.rdb");
    fill(&mut real.conn);
    let expected = view(&mut real.conn);
    cmd(&mut real.conn, "SAVE");
    real.stop();

    let path = dir.0.to_string_lossy().to_string();
    let args = [
        "--dir",
        &path,
        "--dbfilename",
        "real.rdb",
        "--enable-protected-configs",
        "yes",
    ];
    let ours = Server::start(&args);
    let mut c = Conn::wait_ready(ours.port, String::new);
    assert_eq!(
        view(&mut c),
        expected,
        "redsim after loading real Redis' file"
    );
    cmd(&mut c, "CONFIG SET dbfilename ours.rdb");
    cmd(&mut c, "SAVE");
    ours.stop();

    let check = std::process::Command::new("redis-check-rdb")
        .arg(dir.0.join("ours.rdb"))
        .output()
        .expect("run redis-check-rdb");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("RDB looks OK"),
        "{report}"
    );
    let mut real = RealRedis::start(&dir.0, "ours.rdb");
    assert_eq!(
        view(&mut real.conn),
        expected,
        "real Redis after loading our file"
    );
    real.stop();
}
