//! Stories of a server loading its snapshot slowly (key-load-delay) and of a master that
//! restarts from a file with keys that expired while it was down.

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::Frame;

fn info(t: &mut TestServer, section: &str) -> String {
    match t.cmd(&["info", section]) {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("INFO replied {other:?}"),
    }
}

fn field(info: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    let line = info.lines().find(|l| l.starts_with(&prefix));
    line.map(|l| l[prefix.len()..].to_string())
        .unwrap_or_else(|| panic!("no {name} in {info}"))
}

/// A server without save points that saved `keys` keys (each with `ttl_ms`, if any).
fn saved_with(keys: usize, ttl_ms: Option<u64>) -> TestServer {
    let mut t = TestServer::with_config(Config {
        save_points: vec![],
        ..Config::default()
    });
    for i in 0..keys {
        let k = format!("k{i}");
        match ttl_ms {
            Some(ms) => t.cmd(&["set", &k, "v", "px", &ms.to_string()]),
            None => t.cmd(&["set", &k, "v"]),
        };
    }
    assert_eq!(t.cmd(&["save"]), ok());
    t
}

#[test]
fn a_slow_load_answers_loading_until_the_last_key_is_in() {
    let mut t = saved_with(100, None);
    t.cmd(&["config", "set", "key-load-delay", "1000"]);
    let mut t = t.restart(1000);
    assert_eq!(
        t.cmd(&["ping"]),
        err("LOADING Redis is loading the dataset in memory")
    );
    assert_eq!(
        t.cmd(&["get", "k1"]),
        err("LOADING Redis is loading the dataset in memory")
    );
    let during = info(&mut t, "persistence");
    assert_eq!(field(&during, "loading"), "1");
    assert!(
        field(&during, "loading_total_bytes")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    for _ in 0..20 {
        t.advance_ms(10);
    }
    assert_eq!(t.cmd(&["ping"]), Frame::Simple("PONG".into()));
    assert_eq!(t.cmd(&["dbsize"]), int(100));
    let after = info(&mut t, "persistence");
    assert_eq!(field(&after, "loading"), "0");
    assert!(!after.contains("loading_total_bytes"));
    assert_eq!(field(&after, "rdb_last_load_keys_loaded"), "100");
}

#[test]
fn without_a_delay_the_file_is_in_before_the_first_command() {
    let t = saved_with(50_000, None);
    let mut t = t.restart(1000);
    assert_eq!(t.cmd(&["dbsize"]), int(50_000));
}

#[test]
fn a_restarted_master_streams_the_keys_that_expired_in_its_file_as_dels() {
    let t = saved_with(10, Some(500));
    let mut t = t.restart(1000);
    let repl = info(&mut t, "replication");
    let histlen: i64 = field(&repl, "repl_backlog_histlen").parse().unwrap();
    // SELECT 0 then ten `DEL k<i>` commands follow the file's offset.
    let select = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".len() as i64;
    let dels = (0..10).map(|i| format!("*2\r\n$3\r\nDEL\r\n$2\r\nk{i}\r\n").len() as i64);
    assert_eq!(histlen, select + dels.sum::<i64>());
    // The file was saved at offset 0: the stream goes on from there.
    assert_eq!(field(&repl, "master_repl_offset"), histlen.to_string());
    assert_eq!(field(&repl, "second_repl_offset"), "1");
    assert_eq!(field(&repl, "repl_backlog_first_byte_offset"), "1");
    let persistence = info(&mut t, "persistence");
    assert_eq!(field(&persistence, "rdb_last_load_keys_expired"), "10");
    assert_eq!(t.cmd(&["dbsize"]), int(0));
}
