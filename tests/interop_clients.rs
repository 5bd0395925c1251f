//! Real clients against a real redsim-server process: redis-cli and redis-py sessions.

mod support;

use support::{cli, have, have_redis_py, Server};

#[test]
fn redis_cli_session_set_get_incr_lists_keys_info_config_multi() {
    if !have("redis-cli") {
        return;
    }
    let s = Server::start(&[]);
    let p = s.port;
    assert_eq!(cli(p, &["SET", "greeting", "hello world"], None), "OK\n");
    assert_eq!(cli(p, &["GET", "greeting"], None), "hello world\n");
    assert_eq!(cli(p, &["INCR", "counter"], None), "1\n");
    assert_eq!(cli(p, &["INCR", "counter"], None), "2\n");
    assert_eq!(
        cli(p, &["RPUSH", "lst", "1", "3", "5", "7", "9"], None),
        "5\n"
    );
    assert_eq!(
        cli(p, &["LRANGE", "lst", "0", "-1"], None),
        "1\n3\n5\n7\n9\n"
    );
    let mut keys: Vec<String> = cli(p, &["KEYS", "*"], None)
        .lines()
        .map(String::from)
        .collect();
    keys.sort();
    assert_eq!(keys, ["counter", "greeting", "lst"]);
    let info = cli(p, &["INFO"], None);
    assert!(
        info.contains("# Server") && info.contains("redis_version:7.2.6"),
        "{info}"
    );
    assert!(info.contains("role:master"), "{info}");
    assert!(info.contains("db0:keys=3,expires=0"), "{info}");
    assert_eq!(
        cli(p, &["CONFIG", "GET", "port"], None),
        format!("port\n{p}\n")
    );
    let tx = cli(
        p,
        &[],
        Some("MULTI\nINCR counter\nSET greeting bye\nEXEC\n"),
    );
    assert_eq!(tx, "OK\nQUEUED\nQUEUED\n3\nOK\n");
    assert_eq!(
        cli(p, &["SET", "a"], None),
        "ERR wrong number of arguments for 'set' command\n\n"
    );
    assert_eq!(
        cli(p, &["LPUSH", "greeting", "x"], None),
        "WRONGTYPE Operation against a key holding the wrong kind of value\n\n"
    );
}

#[test]
fn redis_py_session_set_get_incr_lists_pipeline_transaction_pubsub() {
    if !have_redis_py() {
        return;
    }
    let s = Server::start(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/redis_py_session.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(s.port.to_string())
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "redis-py session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("redis-py session ok"), "{stdout}");
}

#[test]
fn requirepass_is_enforced_for_redis_cli() {
    if !have("redis-cli") {
        return;
    }
    let s = Server::start(&["--requirepass", "s3cret"]);
    assert_eq!(
        cli(s.port, &["PING"], None),
        "NOAUTH Authentication required.\n\n"
    );
    assert_eq!(
        cli(s.port, &["--no-auth-warning", "-a", "s3cret", "PING"], None),
        "PONG\n"
    );
}
