//! Unit stories for what a Sentinel does with bad input from the instances it watches: garbage
//! INFO text, replies of the wrong type, bytes that are not RESP, malformed pub/sub hellos and
//! is-master-down-by-addr replies, and an epoch pushed to the top of its range. The answer is
//! always to skip what cannot be used (as Redis does), close a link that does not speak RESP, and
//! never panic.

use super::instance::{flags, Instance, Kind};
use super::link::{Out, Who};
use super::tests::{at, events, sentinel, PEER};
use super::Sentinel;
use crate::core::ConnId;
use crate::resp::Frame;
use bytes::Bytes;

/// A Sentinel whose links to its master are up: (sentinel, command conn, pub/sub conn). The
/// command connection owes replies to CLIENT SETNAME, PING and INFO, in that order.
fn linked() -> (Sentinel, ConnId, ConnId) {
    let mut s = sentinel(2);
    s.handle_timer(at(1500));
    let mut conns = Vec::new();
    while let Some(o) = s.poll_out() {
        if let Out::Net(crate::core::Action::Connect { conn, .. }) = o {
            conns.push(conn);
        }
    }
    let [cc, pc] = conns[..] else {
        panic!("expected two connections, got {conns:?}");
    };
    for c in [cc, pc] {
        s.handle_connected(at(1500), c, "10.0.0.100".into());
    }
    while s.poll_out().is_some() {}
    (s, cc, pc)
}

fn bulk_reply(text: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", text.len()).into_bytes();
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
    out
}

fn closed(s: &mut Sentinel, conn: ConnId) -> bool {
    let mut closed = false;
    while let Some(o) = s.poll_out() {
        closed |= o == Out::Net(crate::core::Action::Close { conn });
    }
    closed
}

#[test]
fn garbage_info_lines_are_skipped_and_the_good_ones_still_count() {
    let (mut s, cc, _) = linked();
    let mut info = b"# Replication\r\nrole:master\r\nrun_id:".to_vec();
    // 39 ASCII bytes then a two-byte character: the 40-byte run id would split it.
    info.extend_from_slice(&[b'a'; 39]);
    info.extend_from_slice("é rest\r\n".as_bytes());
    info.extend_from_slice(b"\xff\xfe\r\nno colon here\r\n:\r\nrole:\r\nrole:chief\r\n");
    info.extend_from_slice(b"master_link_down_since_seconds:-5\r\nslave0:ip=,port=0\r\n");
    info.extend_from_slice(b"slave1:garbage\r\nslave2:ip=10.0.0.5,port=70000\r\nslave:x\r\n");
    info.extend_from_slice(b"slave3:10.0.0.6\r\nslave99999999999999999999:ip=1,port=x\r\n");
    info.extend_from_slice(b"slave4:ip=10.0.0.7,port=6380,state=online\r\n");
    let mut data = b"+OK\r\n+PONG\r\n".to_vec();
    data.extend(bulk_reply(&info));
    s.handle_data(at(1600), cc, &data);

    let m = &s.masters["mymaster"];
    assert!(
        !m.inst.info.is_empty(),
        "the INFO reply was not taken as INFO"
    );
    assert_eq!(m.inst.runid, None);
    assert_eq!(m.inst.role_reported, Kind::Master);
    let replicas: Vec<&String> = m.replicas.keys().collect();
    assert_eq!(replicas, ["10.0.0.7:6380"]);
    assert!(!closed(&mut s, cc));
}

#[test]
fn replies_of_the_wrong_type_change_nothing_and_keep_the_link() {
    let (mut s, cc, _) = linked();
    let avail = s.masters["mymaster"].inst.link.last_avail_time_ms;
    // SETNAME answered by an array, PING by a bulk "PONG", INFO by an error.
    s.handle_data(
        at(1600),
        cc,
        b"*1\r\n:1\r\n$4\r\nPONG\r\n-ERR no INFO for you\r\n",
    );
    // More replies than commands sent.
    s.handle_data(at(1700), cc, b":7\r\n*-1\r\n$-1\r\n");
    let m = &s.masters["mymaster"];
    assert_eq!(
        m.inst.link.last_avail_time_ms, avail,
        "a bulk PONG is no PONG"
    );
    assert!(m.inst.info.is_empty());
    assert_eq!(m.inst.link.pending_commands, 0);
    assert!(!closed(&mut s, cc));
}

#[test]
fn bytes_that_are_not_resp_close_the_link_with_a_log_line() {
    let (mut s, cc, pc) = linked();
    s.handle_data(at(1600), pc, b"!!! not resp\r\n");
    let mut logged = false;
    let mut pc_closed = false;
    while let Some(o) = s.poll_out() {
        pc_closed |= o == Out::Net(crate::core::Action::Close { conn: pc });
        if let Out::Log { msg, .. } = o {
            logged |=
                msg.starts_with("Closing link to master mymaster 10.0.0.1 6379: protocol error");
        }
    }
    assert!(pc_closed && logged);
    s.handle_data(at(1600), cc, b"$five\r\n");
    assert!(closed(&mut s, cc));
    assert!(s.masters["mymaster"].inst.link.disconnected);
    // Data for a connection that is gone is dropped.
    s.handle_data(at(1700), cc, b"+PONG\r\n");
    assert!(s.poll_out().is_none());
}

#[test]
fn malformed_hello_messages_on_the_pubsub_link_are_ignored() {
    let (mut s, _, pc) = linked();
    let message = |channel: &str, payload: &[u8]| {
        let mut out = b"*3\r\n".to_vec();
        out.extend(bulk_reply(b"message"));
        out.extend(bulk_reply(channel.as_bytes()));
        out.extend(bulk_reply(payload));
        out
    };
    let good = format!("10.0.0.9,26379,{PEER},3,mymaster,10.0.0.1,6379,0");
    let mut data = Vec::new();
    for bad in [
        &b"hello"[..],
        b"\xff,\xfe,,,,,,",
        format!("10.0.0.9,26379,{PEER},3,mymaster,10.0.0.1,6379").as_bytes(),
        format!("10.0.0.9,26379,{PEER},3,mymaster,10.0.0.1,99999,0").as_bytes(),
        format!("10.0.0.9,26379,{PEER},x,mymaster,10.0.0.1,6379,0").as_bytes(),
    ] {
        data.extend(message("__sentinel__:hello", bad));
    }
    data.extend(b"*2\r\n:1\r\n:2\r\n*3\r\n$7\r\nmessage\r\n:1\r\n:2\r\n");
    data.extend(b"*3\r\n$9\r\nsubscribe\r\n$18\r\n__sentinel__:hello\r\n:1\r\n");
    s.handle_data(at(1600), pc, &data);
    assert!(s.masters["mymaster"].sentinels.is_empty());
    assert_eq!(s.current_epoch, 0);
    // The same link still delivers a good hello afterwards.
    s.handle_data(
        at(1700),
        pc,
        &message("__sentinel__:hello", good.as_bytes()),
    );
    assert!(s.masters["mymaster"].sentinels.contains_key(PEER));
    assert_eq!(s.current_epoch, 3);
}

#[test]
fn malformed_is_master_down_replies_are_ignored() {
    let mut s = sentinel(2);
    let mut m = s.masters.remove("mymaster").unwrap();
    let mut peer = Instance::new(Kind::Sentinel, PEER.into(), "10.0.0.9", 26379, 1000, 0);
    peer.runid = Some(PEER.into());
    m.sentinels.insert(PEER.into(), peer);
    let who = Who::Sentinel(PEER.into());
    let b = |t: &[u8]| Frame::Bulk(Bytes::copy_from_slice(t));
    for bad in [
        Frame::Int(1),
        Frame::Array(vec![]),
        Frame::Array(vec![Frame::Int(1), b(b"*")]),
        Frame::Array(vec![b(b"1"), b(b"*"), Frame::Int(0)]),
        Frame::Array(vec![Frame::Int(1), Frame::Int(0), Frame::Int(0)]),
        Frame::Array(vec![Frame::Int(1), b(b"*"), Frame::Int(0), Frame::Int(0)]),
    ] {
        s.master_down_reply(&mut m, &who, &bad, 100);
        assert!(!m.sentinels[PEER].has(flags::MASTER_DOWN), "{bad:?}");
    }
    // Odd but well-formed: down is only ever 1; a negative epoch counts as 0.
    let odd = Frame::Array(vec![Frame::Int(7), b(b"\xff\xfe"), Frame::Int(-3)]);
    s.master_down_reply(&mut m, &who, &odd, 200);
    let p = &m.sentinels[PEER];
    assert!(!p.has(flags::MASTER_DOWN));
    assert_eq!(
        (p.leader.as_deref(), p.leader_epoch),
        (Some("\u{fffd}\u{fffd}"), 0)
    );
    let yes = Frame::Array(vec![Frame::Int(1), b(PEER.as_bytes()), Frame::Int(4)]);
    s.master_down_reply(&mut m, &who, &yes, 300);
    assert!(m.sentinels[PEER].has(flags::MASTER_DOWN));
}

#[test]
fn an_epoch_pushed_to_the_maximum_by_a_hello_wraps_at_the_next_failover_without_panicking() {
    let mut s = sentinel(2);
    let top = u64::MAX;
    let hello = format!("10.0.0.9,26379,{PEER},{top},mymaster,10.0.0.1,6379,0");
    s.process_hello(&hello, at(100));
    assert_eq!(s.current_epoch, top);
    events(&mut s);
    let mut m = s.masters.remove("mymaster").unwrap();
    s.start_failover(&mut m, 200);
    assert_eq!((s.current_epoch, m.failover_epoch), (0, 0));
    assert!(events(&mut s).contains(&"+new-epoch 0".to_string()));
}

#[test]
fn timers_and_timeouts_set_to_their_maximum_never_overflow() {
    // SENTINEL DEBUG and SENTINEL SET accept any positive 64-bit signed number.
    let max = i64::MAX as u64;
    let mut s = sentinel(2);
    let t = &mut s.timers;
    for v in [
        &mut t.info_period_ms,
        &mut t.ping_period_ms,
        &mut t.ask_period_ms,
        &mut t.publish_period_ms,
        &mut t.tilt_trigger_ms,
        &mut t.tilt_period_ms,
        &mut t.slave_reconf_timeout_ms,
        &mut t.election_timeout_ms,
    ] {
        *v = max;
    }
    t.min_link_reconnect_period_ms = 1;
    let m = s.masters.get_mut("mymaster").unwrap();
    m.failover_timeout_ms = max;
    m.inst.down_after_ms = max;
    m.inst.role_reported = Kind::Replica;
    let mut peer = Instance::new(Kind::Sentinel, PEER.into(), "10.0.0.9", 26379, max, 0);
    peer.runid = Some(PEER.into());
    m.sentinels.insert(PEER.into(), peer);
    let replica = Instance::new(
        Kind::Replica,
        "10.0.0.2:6380".into(),
        "10.0.0.2",
        6380,
        max,
        0,
    );
    m.replicas.insert(replica.name.clone(), replica);
    for tick in 1..=50 {
        s.handle_timer(at(tick * 100));
    }
    let mut m = s.masters.remove("mymaster").unwrap();
    m.inst.flags |= flags::S_DOWN | flags::O_DOWN;
    m.inst.s_down_since_ms = 1;
    m.failover_start_time_ms = 1;
    assert!(
        !s.start_failover_if_needed(&mut m, 6000),
        "the next attempt is far away"
    );
    // With timers that large every replica still counts as fresh.
    let chosen = s.select_replica(&m, 6000);
    assert_eq!(chosen.as_deref(), Some("10.0.0.2:6380"));
    let replica = Who::Replica("10.0.0.2:6380".into());
    s.refresh_info(&mut m, &replica, "role:master\r\n", at(6000));
    assert_eq!(m.replicas["10.0.0.2:6380"].role_reported, Kind::Master);
}

#[test]
fn hellos_and_info_lines_beyond_what_a_config_file_may_list_are_ignored() {
    use super::config::MAX_PER_MASTER;
    let mut s = sentinel(2);
    let id = |i: usize| format!("{i:040x}");
    for i in 1..=MAX_PER_MASTER + 1 {
        let hello = format!(
            "10.0.1.1,{},{},1,mymaster,10.0.0.1,6379,0",
            20000 + i,
            id(i)
        );
        s.process_hello(&hello, at(100));
    }
    let m = &s.masters["mymaster"];
    assert_eq!(m.sentinels.len(), MAX_PER_MASTER);
    assert!(!m.sentinels.contains_key(&id(MAX_PER_MASTER + 1)));
    // A known one still moves the master.
    let hello = format!("10.0.1.1,20001,{},2,mymaster,10.0.0.2,6380,1", id(1));
    s.process_hello(&hello, at(200));
    assert_eq!(
        s.masters["mymaster"].inst.addr(),
        ("10.0.0.2".to_string(), 6380)
    );

    let mut m = s.masters.remove("mymaster").unwrap();
    let info: String = (0..=MAX_PER_MASTER)
        .map(|i| format!("slave{i}:ip=10.0.2.1,port={},state=online\r\n", 10000 + i))
        .collect();
    s.refresh_info(
        &mut m,
        &Who::Master,
        &format!("role:master\r\n{info}"),
        at(300),
    );
    assert_eq!(m.replicas.len(), MAX_PER_MASTER);
    s.masters.insert("mymaster".into(), m);
    let conf = s.to_conf();
    assert_eq!(conf.masters[0].known_sentinels.len(), MAX_PER_MASTER);
    assert_eq!(conf.masters[0].known_replicas.len(), MAX_PER_MASTER);
}
