//! What a real Redis Sentinel relies on in the servers it watches: its reconfiguration
//! transaction (MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL TYPE normal|pubsub, EXEC) with the
//! config file rewritten, the INFO replication fields it parses (role, master link, priority,
//! offsets, replica_announced, slaveN lines), the replica-priority / replica-announced
//! directives, hellos on `__sentinel__:hello`, and a repointed replica's partial resync.

use crate::config::Config;
use crate::core::testing::*;
use crate::core::Action;
use crate::resp::Frame;

const HELLO: &str = "__sentinel__:hello";

fn with_config_file(config: Config) -> TestServer {
    let mut config = config;
    config.config_file = Some("/redsim.conf".into());
    TestServer::with_config(config)
}

fn conf_file(t: &TestServer) -> String {
    String::from_utf8(t.disk.file("/redsim.conf").expect("config file written")).unwrap()
}

fn info_replication(t: &mut TestServer) -> String {
    match t.cmd(&["info", "replication"]) {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("INFO replied {other:?}"),
    }
}

/// The sentinel's transaction pointing this server at `target` ("NO ONE" to promote it).
fn reconfigure(t: &mut TestServer, target: [&str; 2]) -> Frame {
    assert_eq!(t.cmd(&["multi"]), ok());
    for cmd in [
        &["slaveof", target[0], target[1]][..],
        &["config", "rewrite"],
        &["client", "kill", "type", "normal"],
        &["client", "kill", "type", "pubsub"],
    ] {
        assert_eq!(t.cmd(cmd), Frame::Simple("QUEUED".into()), "{cmd:?}");
    }
    t.cmd(&["exec"])
}

#[test]
fn a_sentinel_transaction_demotes_then_promotes_a_server_and_its_config_file_follows() {
    let mut t = with_config_file(Config::default());
    assert_eq!(t.cmd(&["client", "setname", "sentinel-0123abcd-cmd"]), ok());
    t.connect(2);
    t.connect(3);
    t.cmd_as(3, &["subscribe", HELLO]);

    let replies = reconfigure(&mut t, ["10.0.0.9", "7000"]);
    assert_eq!(replies, Frame::Array(vec![ok(), ok(), int(1), int(1)]));
    assert!(t.closed(2) && t.closed(3), "other clients are disconnected");
    assert_eq!(
        t.cmd(&["role"]),
        Frame::Array(vec![
            bulk("slave"),
            bulk("10.0.0.9"),
            int(7000),
            bulk("connect"),
            int(-1)
        ])
    );
    assert!(
        conf_file(&t).contains("\nreplicaof 10.0.0.9 7000\n"),
        "{}",
        conf_file(&t)
    );
    let Frame::Bulk(list) = t.cmd(&["client", "list"]) else {
        panic!("CLIENT LIST replies a bulk string");
    };
    assert!(String::from_utf8_lossy(&list).contains(" name=sentinel-0123abcd-cmd "));

    let replies = reconfigure(&mut t, ["NO", "ONE"]);
    assert_eq!(replies, Frame::Array(vec![ok(), ok(), int(0), int(0)]));
    let Frame::Array(role) = t.cmd(&["role"]) else {
        panic!("ROLE replies an array");
    };
    assert_eq!(role[0], bulk("master"));
    assert!(!conf_file(&t).contains("replicaof"), "{}", conf_file(&t));
}

#[test]
fn a_replica_reports_the_fields_sentinel_parses_in_redis_order() {
    let mut t = with_config_file(Config {
        replicaof: Some(("10.0.0.9".into(), 7000)),
        ..Config::default()
    });
    assert_eq!(t.cmd(&["config", "set", "slave-priority", "7"]), ok());
    assert_eq!(t.cmd(&["config", "set", "replica-announced", "no"]), ok());
    let text = info_replication(&mut t);
    let expected = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.9\r\nmaster_port:7000\r\n\
        master_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\n\
        slave_read_repl_offset:0\r\nslave_repl_offset:0\r\nmaster_link_down_since_seconds:-1\r\n\
        slave_priority:7\r\nslave_read_only:1\r\nreplica_announced:0\r\nconnected_slaves:0\r\n";
    assert!(text.starts_with(expected), "{text}");
    assert_eq!(
        t.cmd(&["config", "get", "replica-priority"]),
        arr(&["replica-priority", "7"])
    );
    assert_eq!(t.cmd(&["config", "rewrite"]), ok());
    let conf = conf_file(&t);
    assert!(conf.contains("\nreplica-priority 7\n"), "{conf}");
    assert!(conf.contains("\nreplica-announced no\n"), "{conf}");
    assert_eq!(
        t.cmd(&["config", "set", "replica-priority", "-1"]),
        err("ERR CONFIG SET failed (possibly related to argument 'replica-priority') - argument must be between 0 and 2147483647 inclusive")
    );
}

#[test]
fn a_master_lists_each_synced_replica_with_its_announced_address() {
    let mut t = TestServer::new();
    t.connect(2);
    for cmd in [
        &["replconf", "listening-port", "7001"][..],
        &["replconf", "ip-address", "10.1.1.1"],
    ] {
        assert_eq!(t.cmd_as(2, cmd), ok());
    }
    t.send_raw(2, &crate::resp::encode_command(&["psync", "?", "-1"]));
    assert!(!t.take_output(2).is_empty(), "the full sync started");
    let text = info_replication(&mut t);
    assert!(
        text.contains(
            "\r\nconnected_slaves:1\r\nslave0:ip=10.1.1.1,port=7001,state=online,offset=0,lag=0\r\n"
        ),
        "{text}"
    );
}

#[test]
fn hellos_published_to_a_server_reach_every_subscribed_sentinel() {
    let mut t = TestServer::new();
    let hello = "127.0.0.1,26379,0123abcd,0,mymaster,127.0.0.1,6379,0";
    for id in [2, 3] {
        t.connect(id);
        assert_eq!(
            t.cmd_as(id, &["subscribe", HELLO]),
            Frame::Array(vec![bulk("subscribe"), bulk(HELLO), int(1)])
        );
    }
    assert_eq!(t.cmd(&["publish", HELLO, hello]), int(2));
    for id in [2, 3] {
        assert_eq!(
            t.reply(id),
            Some(Frame::Array(vec![
                bulk("message"),
                bulk(HELLO),
                bulk(hello)
            ]))
        );
    }
}

#[test]
fn a_replica_repointed_at_its_promoted_sibling_continues_and_says_so_once() {
    let mut t = TestServer::with_config(Config {
        replicaof: Some(("10.0.0.9".into(), 7000)),
        ..Config::default()
    });
    t.advance_ms(1000);
    let conn = t
        .other_actions
        .iter()
        .find_map(|a| match a {
            Action::Connect { conn, .. } => Some(*conn),
            _ => None,
        })
        .expect("the replica connects to its master");
    t.outbound_connected(conn);
    t.send_raw(conn, b"+PONG\r\n");
    t.send_raw(conn, b"+OK\r\n+OK\r\n");
    let sent = String::from_utf8(t.take_output(conn)).unwrap();
    assert!(sent.contains("PSYNC"), "{sent}");
    let new_id = "a".repeat(40);
    t.send_raw(conn, format!("+CONTINUE {new_id}\r\n").as_bytes());
    let accepted = "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.";
    assert_eq!(
        t.logs().iter().filter(|l| **l == accepted).count(),
        1,
        "{:?}",
        t.logs()
    );
    assert!(info_replication(&mut t).contains("\r\nmaster_link_status:up\r\n"));
}

#[test]
fn a_replica_that_serves_no_stale_data_still_takes_the_sentinel_commands() {
    let mut t = with_config_file(Config {
        replicaof: Some(("10.0.0.9".into(), 7000)),
        replica_serve_stale_data: false,
        ..Config::default()
    });
    let masterdown =
        err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    assert_eq!(t.cmd(&["get", "k"]), masterdown);
    assert_eq!(
        t.cmd(&["ping"]),
        masterdown,
        "as in Redis; Sentinel counts it as alive"
    );
    assert_eq!(t.cmd(&["echo", "x"]), bulk("x"));
    for cmd in [
        &["auth", "default", "nopass"][..],
        &["client", "setname", "sentinel-0123abcd-cmd"],
        &["info", "replication"],
        &["role"],
        &["publish", HELLO, "hello"],
    ] {
        assert!(
            !matches!(t.cmd(cmd), Frame::Error(e) if e.starts_with("MASTERDOWN")),
            "{cmd:?}"
        );
    }
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["subscribe", HELLO]),
        Frame::Array(vec![bulk("subscribe"), bulk(HELLO), int(1)])
    );
    let replies = reconfigure(&mut t, ["NO", "ONE"]);
    assert_eq!(replies, Frame::Array(vec![ok(), ok(), int(0), int(1)]));
}
