//! Unit stories for the Sentinel core's pure decisions: hello and INFO parsing, votes and leader
//! election, replica selection, TILT. Whole-system behaviour is tested in the simulator.

use super::config::{MasterConf, SentinelConf};
use super::hello::parse_hello;
use super::info::parse_info;
use super::instance::{flags, Kind};
use super::link::{Out, Who};
use super::Sentinel;
use crate::core::Now;

pub(super) const PEER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const OTHER: &str = "cccccccccccccccccccccccccccccccccccccccc";

pub(super) fn at(ms: u64) -> Now {
    Now {
        mono_ms: ms,
        unix_ms: 1_700_000_000_000 + ms,
    }
}

pub(super) fn sentinel(quorum: u32) -> Sentinel {
    let mut conf = SentinelConf {
        myid: Some("a".repeat(40)),
        ..SentinelConf::default()
    };
    conf.masters
        .push(MasterConf::new("mymaster", "10.0.0.1", 6379, quorum));
    Sentinel::new(&conf, 26379, 7, at(0))
}

pub(super) fn events(s: &mut Sentinel) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(o) = s.poll_out() {
        if let Out::Event { kind, msg, .. } = o {
            v.push(format!("{kind} {msg}"));
        }
    }
    v
}

#[test]
fn hello_payload_with_eight_fields_parses_and_anything_else_is_ignored() {
    let ok = format!("10.0.0.9,26379,{PEER},3,mymaster,10.0.0.1,6379,2");
    let h = parse_hello(&ok).expect("valid hello");
    assert_eq!(
        (h.ip, h.port, h.current_epoch, h.master_config_epoch),
        ("10.0.0.9", 26379, 3, 2)
    );
    for bad in [
        "",
        "a,b,c",
        &format!("10.0.0.9,26379,{PEER},3,mymaster,10.0.0.1,6379"),
        &format!("10.0.0.9,notaport,{PEER},3,mymaster,10.0.0.1,6379,2"),
        "10.0.0.9,26379,short,3,mymaster,10.0.0.1,6379,2",
        &format!("10.0.0.9,26379,{PEER},-1,mymaster,10.0.0.1,6379,2"),
        &format!("10.0.0.9,0,{PEER},3,mymaster,10.0.0.1,6379,2"),
    ] {
        assert_eq!(parse_hello(bad), None, "{bad:?}");
    }
}

#[test]
fn info_parsing_finds_replicas_role_and_offsets_and_skips_garbage() {
    let text = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n\
                master_link_status:up\r\nslave_repl_offset:1234\r\nslave_priority:0\r\n\
                garbage line\r\n:\r\nslave0:ip=10.0.0.2,port=6380,state=online\r\n\
                slave1:ip=10.0.0.3,port=notaport\r\n";
    let p = parse_info(text);
    assert_eq!(p.role, Some(Kind::Replica));
    assert_eq!(p.master_port, Some(6379));
    assert_eq!(p.master_link_up, Some(true));
    assert_eq!(p.slave_repl_offset, Some(1234));
    assert_eq!(p.slave_priority, Some(0));
    assert_eq!(p.replicas, vec![("10.0.0.2".to_string(), 6380)]);
}

#[test]
fn a_sentinel_votes_once_per_epoch_and_adopts_a_newer_epoch() {
    let mut s = sentinel(2);
    let mut m = s.masters.remove("mymaster").unwrap();
    let (leader, epoch) = s.vote_leader(&mut m, 5, PEER, 100);
    assert_eq!((leader.as_deref(), epoch), (Some(PEER), 5));
    assert_eq!(s.current_epoch, 5);
    // A second candidate in the same epoch gets the same answer: the first vote stands.
    let (leader, epoch) = s.vote_leader(&mut m, 5, OTHER, 200);
    assert_eq!((leader.as_deref(), epoch), (Some(PEER), 5));
    // An older epoch never gets a vote.
    let (leader, _) = s.vote_leader(&mut m, 4, OTHER, 300);
    assert_eq!(leader.as_deref(), Some(PEER));
    let (leader, epoch) = s.vote_leader(&mut m, 6, OTHER, 400);
    assert_eq!((leader.as_deref(), epoch), (Some(OTHER), 6));
    let ev = events(&mut s);
    assert!(ev.contains(&format!("+vote-for-leader {PEER} 5")), "{ev:?}");
    assert!(
        ev.contains(&format!("+vote-for-leader {OTHER} 6")),
        "{ev:?}"
    );
    assert_eq!(
        ev.iter()
            .filter(|e| e.starts_with("+vote-for-leader"))
            .count(),
        2
    );
}

#[test]
fn leader_needs_a_majority_of_all_sentinels_and_the_quorum() {
    let mut s = sentinel(2);
    let mut m = s.masters.remove("mymaster").unwrap();
    for id in [PEER, OTHER] {
        let mut p =
            super::instance::Instance::new(Kind::Sentinel, id.into(), "10.0.0.9", 26379, 1000, 0);
        p.runid = Some(id.into());
        m.sentinels.insert(id.into(), p);
    }
    s.current_epoch = 1;
    // Only my own vote: 1 of 3 is no majority.
    assert_eq!(s.get_leader(&mut m, 1, 0), None);
    // A peer voted for me in this epoch: 2 of 3, quorum 2.
    let p = m.sentinels.get_mut(PEER).unwrap();
    p.leader = Some(s.myid.clone());
    p.leader_epoch = 1;
    assert_eq!(s.get_leader(&mut m, 1, 0), Some((s.myid.clone(), 2, 3)));
    // With quorum 3 the same two votes are not enough.
    m.quorum = 3;
    assert_eq!(s.get_leader(&mut m, 1, 0), None);
}

#[test]
fn replica_selection_prefers_priority_then_offset_and_never_priority_zero() {
    let mut s = sentinel(1);
    let mut m = s.masters.remove("mymaster").unwrap();
    let now = 50_000;
    for (name, prio, offset) in [
        ("r1", 100, 10),
        ("r2", 100, 50),
        ("r3", 0, 99),
        ("r4", 10, 1),
    ] {
        let mut r =
            super::instance::Instance::new(Kind::Replica, name.into(), "10.0.0.2", 6379, 1000, now);
        r.slave_priority = prio;
        r.slave_repl_offset = offset;
        r.link.disconnected = false;
        r.link.last_avail_time_ms = now;
        r.info_refresh_ms = now;
        m.replicas.insert(name.into(), r);
    }
    assert_eq!(s.select_replica(&m, now).as_deref(), Some("r4"));
    m.replicas.remove("r4");
    assert_eq!(s.select_replica(&m, now).as_deref(), Some("r2"));
    m.replicas.get_mut("r2").unwrap().flags |= flags::S_DOWN;
    assert_eq!(s.select_replica(&m, now).as_deref(), Some("r1"));
    m.replicas.remove("r1");
    m.replicas.remove("r2");
    assert_eq!(
        s.select_replica(&m, now),
        None,
        "priority 0 is never promoted"
    );
}

#[test]
fn a_clock_jump_enters_tilt_and_tilt_ends_after_the_period() {
    let mut s = sentinel(1);
    s.handle_timer(at(100));
    events(&mut s);
    let mut jumped = at(200);
    jumped.unix_ms += 60_000;
    s.handle_timer(jumped);
    assert!(s.tilt);
    assert!(events(&mut s).contains(&"+tilt #tilt mode entered".to_string()));
    let mut t = 200;
    while s.tilt {
        t += 100;
        let mut now = at(t);
        now.unix_ms += 60_000;
        s.handle_timer(now);
        assert!(t < 40_000, "tilt never ended");
    }
    assert!(t >= 30_000, "tilt lasts the tilt period");
    assert!(events(&mut s).contains(&"-tilt #tilt mode exited".to_string()));
}

#[test]
fn a_new_sentinel_monitoring_a_master_dials_it_and_announces_itself() {
    let mut s = sentinel(2);
    let ev = events(&mut Sentinel::new(
        &SentinelConf {
            masters: vec![MasterConf::new("mymaster", "10.0.0.1", 6379, 2)],
            ..SentinelConf::default()
        },
        26379,
        1,
        at(0),
    ));
    assert!(ev.contains(&"+monitor master mymaster 10.0.0.1 6379 quorum 2".to_string()));
    s.handle_timer(at(1500));
    let mut connects = 0;
    while let Some(o) = s.poll_out() {
        if let Out::Net(crate::core::Action::Connect { host, port, .. }) = o {
            assert_eq!((host.as_str(), port), ("10.0.0.1", 6379));
            connects += 1;
        }
    }
    assert_eq!(connects, 2, "a command and a pub/sub connection");
    let m = &s.masters["mymaster"];
    assert_eq!(
        super::describe(m, &Who::Master),
        "master mymaster 10.0.0.1 6379"
    );
}

fn script_runs(s: &mut Sentinel) -> Vec<(u64, Vec<String>)> {
    let mut v = Vec::new();
    while let Some(o) = s.poll_out() {
        if let Out::RunScript { id, argv } = o {
            v.push((id, argv));
        }
    }
    v
}

#[test]
fn a_script_exiting_1_is_retried_with_doubling_delays_then_reported() {
    let mut s = sentinel(2);
    s.schedule_script("/bin/notify", vec!["+sdown".into(), "master m".into()]);
    s.handle_timer(at(0));
    let runs = script_runs(&mut s);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1, ["/bin/notify", "+sdown", "master m"]);
    let mut now = 0;
    let mut delays = Vec::new();
    let mut id = runs[0].0;
    for _ in 1..super::scripts::SCRIPT_MAX_RETRY {
        s.handle_script_exit(now, id, 1, 0);
        let next = s.scripts.queue[0].start_time_ms;
        delays.push(next - now);
        now = next;
        s.handle_timer(at(now));
        id = script_runs(&mut s)[0].0;
    }
    assert_eq!(delays[..4], [30_000, 60_000, 120_000, 240_000]);
    // The tenth run fails too: no more retries, a -script-error event, the queue is empty.
    s.handle_script_exit(now, id, 1, 0);
    assert!(s.scripts.queue.is_empty());
    assert!(events(&mut s).contains(&"-script-error /bin/notify 0 1".to_string()));
}

#[test]
fn a_script_exiting_2_is_not_retried_and_one_running_too_long_is_killed() {
    let mut s = sentinel(2);
    s.schedule_script("/bin/a", vec![]);
    s.schedule_script("/bin/b", vec![]);
    s.handle_timer(at(0));
    let runs = script_runs(&mut s);
    assert_eq!(runs.len(), 2);
    s.handle_script_exit(10, runs[0].0, 2, 0);
    assert_eq!(s.scripts.queue.len(), 1, "exit 2 is final");
    assert!(events(&mut s).contains(&"-script-error /bin/a 0 2".to_string()));
    s.handle_timer(at(60_001));
    let mut killed = Vec::new();
    let mut evs = Vec::new();
    while let Some(o) = s.poll_out() {
        match o {
            Out::KillScript { id } => killed.push(id),
            Out::Event { kind, msg, .. } => evs.push(format!("{kind} {msg}")),
            _ => {}
        }
    }
    assert_eq!(killed, [runs[1].0]);
    assert!(evs.contains(&format!("-script-timeout /bin/b {}", runs[1].0)));
}

#[test]
fn the_script_queue_is_bounded_and_at_most_16_run_at_once() {
    let mut s = sentinel(2);
    for i in 0..300 {
        s.schedule_script("/bin/x", vec![i.to_string()]);
    }
    assert_eq!(s.scripts.queue.len(), super::scripts::SCRIPT_MAX_QUEUE);
    assert_eq!(s.scripts.queue[0].argv[1], "44", "the oldest were dropped");
    s.handle_timer(at(0));
    assert_eq!(
        script_runs(&mut s).len(),
        super::scripts::SCRIPT_MAX_RUNNING
    );
}
