//! Tests of REPLCONF, the INFO replica lines, timeouts, good replicas and WAIT counting.

use super::*;

fn args(words: &[&str]) -> Vec<Bytes> {
    std::iter::once("REPLCONF")
        .chain(words.iter().copied())
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn replconf_on(r: &mut ReplicaInfo, words: &[&str]) -> ReplconfOutcome {
    replconf(r, &args(words), 5_000)
}

fn online(id: u64, ack_offset: i64, last_ack_ms: u64) -> ReplicaInfo {
    ReplicaInfo {
        state: ReplicaState::Online,
        ack_offset,
        last_ack_ms,
        listening_port: 6380 + id as i32,
        ..ReplicaInfo::new(id, "127.0.0.1")
    }
}

fn err(s: &str) -> ReplconfOutcome {
    ReplconfOutcome::Error(s.to_string())
}

#[test]
fn a_real_replica_handshake_configures_the_client() {
    let mut r = ReplicaInfo::new(3, "10.0.0.9");
    assert_eq!(
        replconf_on(&mut r, &["listening-port", "6380"]),
        ReplconfOutcome::Ok
    );
    assert_eq!(
        replconf_on(&mut r, &["ip-address", "10.1.2.3"]),
        ReplconfOutcome::Ok
    );
    assert_eq!(
        replconf_on(&mut r, &["capa", "eof", "capa", "psync2"]),
        ReplconfOutcome::Ok
    );
    assert_eq!(r.listening_port, 6380);
    assert_eq!(r.announce_ip.as_deref(), Some("10.1.2.3"));
    assert!(r.capa_eof && r.capa_psync2);
    assert_eq!(r.ip(), "10.1.2.3");
    assert_eq!(r.name(), "10.1.2.3:6380");
}

#[test]
fn options_and_capabilities_are_case_insensitive_and_unknown_capas_ignored() {
    let mut r = ReplicaInfo::new(1, "::1");
    assert_eq!(
        replconf_on(
            &mut r,
            &["LISTENING-PORT", "7000", "Capa", "EOF", "capa", "future"]
        ),
        ReplconfOutcome::Ok
    );
    assert!(r.capa_eof && !r.capa_psync2);
    assert_eq!(r.name(), "[::1]:7000");
}

#[test]
fn an_even_argument_count_is_a_syntax_error() {
    let mut r = ReplicaInfo::new(1, "h");
    assert_eq!(
        replconf_on(&mut r, &["listening-port"]),
        err("ERR syntax error")
    );
    assert_eq!(
        replconf_on(&mut r, &["capa", "eof", "capa"]),
        err("ERR syntax error")
    );
    assert!(!r.capa_eof, "nothing is applied");
    // REPLCONF alone has an odd count and does nothing.
    assert_eq!(replconf_on(&mut r, &[]), ReplconfOutcome::Ok);
}

#[test]
fn bad_values_are_errors_after_earlier_options_were_applied() {
    let mut r = ReplicaInfo::new(1, "h");
    assert_eq!(
        replconf_on(&mut r, &["capa", "eof", "listening-port", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert!(r.capa_eof);
    let long = "a".repeat(256);
    assert_eq!(
        replconf_on(&mut r, &["ip-address", &long]),
        err("ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes")
    );
    assert_eq!(
        replconf_on(&mut r, &["ip-address", &long[..255]]),
        ReplconfOutcome::Ok
    );
    assert_eq!(
        replconf_on(&mut r, &["nope", "1"]),
        err("ERR Unrecognized REPLCONF option: nope")
    );
    assert_eq!(
        replconf_on(&mut r, &["rdb-only", "2"]),
        err("ERR value is out of range, value must between 0 and 1")
    );
    assert_eq!(replconf_on(&mut r, &["rdb-only", "1"]), ReplconfOutcome::Ok);
    assert!(r.rdb_only);
}

#[test]
fn ports_are_kept_as_redis_keeps_them_in_an_int() {
    let mut r = ReplicaInfo::new(1, "h");
    assert_eq!(
        replconf_on(&mut r, &["listening-port", "4294967297"]),
        ReplconfOutcome::Ok
    );
    assert_eq!(r.listening_port, 1);
}

#[test]
fn acks_from_a_replica_move_its_offsets_forward_silently() {
    let mut r = online(1, 100, 0);
    assert_eq!(replconf_on(&mut r, &["ack", "150"]), ReplconfOutcome::Ack);
    assert_eq!((r.ack_offset, r.last_ack_ms), (150, 5_000));
    assert_eq!(
        replconf(&mut r, &args(&["ACK", "120"]), 6_000),
        ReplconfOutcome::Ack
    );
    assert_eq!(r.ack_offset, 150, "never backwards");
    assert_eq!(r.last_ack_ms, 6_000, "but the ack time is refreshed");
    assert_eq!(
        replconf_on(&mut r, &["ack", "200", "fack", "180"]),
        ReplconfOutcome::Ack
    );
    assert_eq!((r.ack_offset, r.aof_offset), (200, 180));
}

#[test]
fn acks_from_non_replicas_or_with_bad_offsets_are_ignored_without_reply() {
    let mut client = ReplicaInfo::new(1, "h");
    assert_eq!(
        replconf_on(&mut client, &["ack", "10"]),
        ReplconfOutcome::Silent
    );
    assert_eq!(client.ack_offset, 0);
    let mut r = online(1, 5, 0);
    assert_eq!(replconf_on(&mut r, &["ack", "x"]), ReplconfOutcome::Silent);
    assert_eq!(
        replconf_on(&mut r, &["ack", "9", "fack", "y"]),
        ReplconfOutcome::Silent
    );
    assert_eq!(
        r.ack_offset, 9,
        "the ack itself was recorded before the bad fack"
    );
    assert_eq!(r.last_ack_ms, 0);
}

#[test]
fn getack_asks_for_an_ack_without_reply() {
    let mut r = ReplicaInfo::new(1, "h");
    assert_eq!(
        replconf_on(&mut r, &["getack", "*"]),
        ReplconfOutcome::GetAck
    );
}

#[test]
fn info_lines_show_ip_port_state_offset_and_lag() {
    let mut r = online(0, 1234, 10_900);
    assert_eq!(
        r.info_line(0, 13_100).as_deref(),
        Some("slave0:ip=127.0.0.1,port=6380,state=online,offset=1234,lag=3")
    );
    r.state = ReplicaState::WaitBgsaveEnd;
    r.announce_ip = Some("10.9.9.9".into());
    assert_eq!(
        r.info_line(2, 99_000).as_deref(),
        Some("slave2:ip=10.9.9.9,port=6380,state=wait_bgsave,offset=1234,lag=0")
    );
    r.state = ReplicaState::SendBulk;
    assert!(r.info_line(0, 0).unwrap().contains("state=send_bulk"));
    r.state = ReplicaState::None;
    assert_eq!(r.info_line(0, 0), None);
}

#[test]
fn silent_online_replicas_time_out_but_old_sync_ones_do_not() {
    let mut r = online(0, 0, 1_000);
    assert_eq!(r.timed_out(61_999, 60), None);
    assert_eq!(
        r.timed_out(62_000, 60),
        Some((
            crate::config::LogLevel::Warning,
            "Disconnecting timedout replica (streaming sync): 127.0.0.1:6380".to_string()
        ))
    );
    r.pre_psync = true;
    assert_eq!(r.timed_out(1_000_000, 60), None);
    r.pre_psync = false;
    r.state = ReplicaState::WaitBgsaveStart;
    assert_eq!(r.timed_out(1_000_000, 60), None);
}

#[test]
fn good_replicas_are_online_with_a_recent_ack() {
    let mut slow = online(2, 0, 0);
    slow.last_ack_ms = 1_000;
    let mut syncing = online(3, 0, 20_000);
    syncing.state = ReplicaState::SendBulk;
    let all = [online(1, 0, 19_500), slow, syncing];
    assert_eq!(count_good_replicas(&all, 20_000, 10), 1);
    assert_eq!(count_good_replicas(&all, 11_999, 10), 2);
    assert!(enough_good_replicas(1, 10, 1));
    assert!(!enough_good_replicas(2, 10, 1));
    assert!(
        enough_good_replicas(0, 10, 0),
        "min-replicas-to-write 0 disables the check"
    );
    assert!(
        enough_good_replicas(3, 0, 0),
        "min-replicas-max-lag 0 disables the check"
    );
    assert_eq!(
        NOREPLICAS_ERROR,
        "NOREPLICAS Not enough good replicas to write."
    );
}

#[test]
fn wait_counts_online_replicas_that_acked_the_offset() {
    let mut behind = online(2, 90, 0);
    let mut loading = online(3, 500, 0);
    loading.state = ReplicaState::WaitBgsaveEnd;
    let all = [online(1, 100, 0), behind.clone(), loading.clone()];
    assert_eq!(count_acks(&all, 100), 1);
    assert_eq!(count_acks(&all, 90), 2);
    assert_eq!(count_acks(&all, 0), 2);
    behind.ack_offset = 100;
    loading.state = ReplicaState::Online;
    assert_eq!(count_acks(&[online(1, 100, 0), behind, loading], 100), 3);
}
