//! Tests for INFO: section selection and order, field shapes.

use crate::core::testing::*;
use crate::resp::Frame;

fn info(t: &mut TestServer, args: &[&str]) -> String {
    let mut cmd = vec!["info"];
    cmd.extend(args);
    match t.cmd(&cmd) {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("INFO replied {other:?}"),
    }
}

fn headers(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("# ")).collect()
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
}

#[test]
fn default_info_lists_the_default_sections_in_redis_order() {
    let mut t = TestServer::new();
    let text = info(&mut t, &[]);
    let defaults = [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Modules",
        "# Errorstats",
        "# Cluster",
        "# Keyspace",
    ];
    assert_eq!(headers(&text), defaults);
    assert_eq!(headers(&info(&mut t, &["default"])), defaults);
    assert!(text.starts_with("# Server\r\nredis_version:7.2.6\r\n"));
    assert!(text.contains("\r\n\r\n# Clients\r\nconnected_clients:1\r\n"));
    assert!(text.ends_with("# Keyspace\r\n"));
    assert!(!text.contains("# Commandstats"));
    let all = info(&mut t, &["all"]);
    assert!(all.contains("# Commandstats") && all.contains("# Latencystats"));
    assert_eq!(headers(&info(&mut t, &["everything"])), headers(&all));
}

#[test]
fn info_sections_are_chosen_case_insensitively_and_printed_once() {
    let mut t = TestServer::new();
    assert_eq!(
        headers(&info(&mut t, &["KEYSPACE", "cpu", "cpu"])),
        ["# CPU", "# Keyspace"]
    );
    assert_eq!(headers(&info(&mut t, &["cpu", "default"])).len(), 11);
    assert_eq!(info(&mut t, &["nosuchsection"]), "");
    assert_eq!(headers(&info(&mut t, &["module_list"])), ["# Modules"]);
}

#[test]
fn server_section_has_the_run_id_and_clock_fields() {
    let mut t = TestServer::new();
    t.advance_ms(90_500);
    let text = info(&mut t, &["server"]);
    let run_id = field(&text, "run_id").unwrap();
    assert_eq!(run_id.len(), 40);
    assert!(run_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(run_id, t.server.run_id);
    assert_eq!(field(&text, "uptime_in_seconds"), Some("90"));
    assert_eq!(field(&text, "tcp_port"), Some("6379"));
    assert_eq!(field(&text, "server_time_usec"), Some("1700000090500000"));
    assert_eq!(field(&text, "process_id"), Some("0"));
    assert_eq!(
        field(&text, "listener0"),
        Some("name=tcp,bind=*,bind=-::*,port=6379")
    );
    let names: Vec<&str> = text
        .split("\r\n")
        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
        .collect();
    assert_eq!(
        &names[..6],
        [
            "redis_version",
            "redis_git_sha1",
            "redis_git_dirty",
            "redis_build_id",
            "redis_mode",
            "os"
        ]
    );
}

#[test]
fn replication_section_of_a_master() {
    let mut t = TestServer::new();
    let text = info(&mut t, &["replication"]);
    let replid = field(&text, "master_replid").unwrap().to_string();
    assert_eq!(replid.len(), 40);
    assert_ne!(replid, t.server.run_id);
    let expected = format!(
        "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
         master_replid:{replid}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n\
         master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n\
         repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n"
    );
    assert_eq!(text, expected);
}

#[test]
fn keyspace_and_stats_follow_the_data() {
    let mut t = TestServer::new();
    let db = &mut t.server.ks.dbs[0];
    db.insert("a".into(), crate::db::Value::Str("1".into()), None);
    db.insert(
        "b".into(),
        crate::db::Value::Str("2".into()),
        Some(1_800_000_000_000),
    );
    t.server.ks.dbs[3].insert("c".into(), crate::db::Value::Str("3".into()), None);
    t.server.ks.stats.hits = 7;
    let text = info(&mut t, &["keyspace", "stats"]);
    assert!(text.ends_with(
        "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
    ));
    assert_eq!(field(&text, "keyspace_hits"), Some("7"));
    assert_eq!(field(&text, "total_connections_received"), Some("1"));
}

#[test]
fn human_sizes_match_redis() {
    assert_eq!(super::human(100), "100B");
    assert_eq!(super::human(2048), "2.00K");
    assert_eq!(super::human(3 << 20), "3.00M");
}

#[test]
fn errorstats_count_error_replies_by_prefix_and_commandstats_split_failed_from_rejected() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k"]);
    t.cmd(&["lpush", "s", "a"]);
    t.cmd(&["get", "s"]);
    t.cmd(&["xgroup", "createconsumer", "nostream", "g", "c"]);
    t.cmd(&["nosuchcommand"]);
    let errors = info(&mut t, &["errorstats"]);
    assert_eq!(field(&errors, "errorstat_ERR"), Some("count=3"));
    assert_eq!(field(&errors, "errorstat_WRONGTYPE"), Some("count=1"));
    let stats = info(&mut t, &["commandstats"]);
    let set = field(&stats, "cmdstat_set").unwrap();
    assert!(set.starts_with("calls=0,") && set.ends_with("rejected_calls=1,failed_calls=0"));
    let get = field(&stats, "cmdstat_get").unwrap();
    assert!(get.starts_with("calls=1,") && get.ends_with("rejected_calls=0,failed_calls=1"));
    let sub = field(&stats, "cmdstat_xgroup|createconsumer").unwrap();
    assert!(sub.ends_with("failed_calls=1"), "{sub}");
    assert_eq!(
        field(&info(&mut t, &["stats"]), "total_error_replies"),
        Some("4")
    );
    assert_eq!(t.cmd(&["config", "resetstat"]), ok());
    assert_eq!(field(&info(&mut t, &["errorstats"]), "errorstat_ERR"), None);
}
