//! Timeline tests over hand-written traces (no simulation): lanes, states, fault bands, sentinel
//! markers and failovers, write buckets, and the page's elements.

use super::*;
use crate::trace::Trace;

const SCENARIO: &str = r#"
name = "two servers, a sentinel and a client"
seed = 1
duration_s = 10
[[server]]
name = "s1"
[[server]]
name = "s2"
config = ["replicaof s1 6379"]
[[client]]
name = "c1"
server = "s1"
workload = "write-read"
"#;

fn report(trace: &Trace, acks: &[(u64, bool)]) -> Report {
    Report {
        scenario: "two servers, a sentinel and a client".into(),
        seed: 7,
        trace: trace.render(),
        acked_writes: acks.len() as u64,
        lost_writes: acks.iter().filter(|a| a.1).count() as u64,
        failed_writes: 0,
        max_lost_age_ms: None,
        replica_reads: 0,
        stale_replica_reads: 0,
        violations: vec![crate::check::Violation::new(
            "lost_writes_max",
            &["c1", "s1"],
            10_000,
            "c1@s1: 1 lost <write>",
        )],
        nodes: 3,
        sim_ms: 10_000,
        wall_ms: 5,
        messages: 0,
        logs: Default::default(),
        acks: [("s1".to_string(), acks.to_vec())].into_iter().collect(),
        sentinel_configs: Default::default(),
    }
}

/// A master crash while its replica is cut off, seen by a sentinel that fails over to s2.
fn story() -> Trace {
    let t = Trace::default();
    for (at, who, event) in [
        (2, "s1", "ready"),
        (2, "s2", "ready"),
        (2, "s2", "replicaof s1:6379"),
        (40, "s2", "sync full"),
        (100, "c1", "+link"),
        (1_000, "harness", "partition s2 from s1"),
        (1_500, "harness", "clock-jump s1 by -30s"),
        (2_000, "harness", "crash s1 (0 unsynced bytes lost)"),
        (2_000, "c1", "-link (closed)"),
        (2_100, "s2", "master link down"),
        (3_000, "sen1", "+sdown master mymaster 10.1.0.1 6379"),
        (
            3_100,
            "sen1",
            "+odown master mymaster 10.1.0.1 6379 #quorum 1/1",
        ),
        (3_200, "sen1", "+try-failover master mymaster 10.1.0.1 6379"),
        (4_000, "harness", "heal"),
        (4_500, "s2", "role master"),
        (4_500, "sen1", "+failover-end master mymaster 10.1.0.1 6379"),
        (
            4_600,
            "sen1",
            "+switch-master mymaster 10.1.0.1 6379 10.1.0.2 6379",
        ),
        (5_000, "harness", "restart s1"),
        (5_002, "s1", "ready"),
        (6_000, "harness", "disk-fail s2 (write: Input/output error)"),
        (7_000, "harness", "pause s2"),
        (8_000, "harness", "workload stopped; faults healed"),
        (9_000, "check", "c1@s1: 3 acked writes, 1 lost (c1:2)"),
    ] {
        t.record(at, who, event);
    }
    t
}

fn build(trace: &Trace) -> Timeline {
    let scenario = Scenario::from_toml(SCENARIO).expect("scenario");
    Timeline::build(
        &scenario,
        &report(trace, &[(150, false), (260, true), (2_010, false)]),
    )
}

fn lane<'a>(t: &'a Timeline, node: &str) -> &'a Lane {
    t.lanes.iter().find(|l| l.node == node).expect("lane")
}

fn states(l: &Lane) -> Vec<(u64, u64, &str)> {
    l.states
        .iter()
        .map(|s| (s.from_ms, s.to_ms, s.class))
        .collect()
}

#[test]
fn every_node_gets_a_lane_servers_first_then_sentinels_then_clients() {
    let t = build(&story());
    let lanes: Vec<(&str, LaneKind)> = t.lanes.iter().map(|l| (&l.node[..], l.kind)).collect();
    assert_eq!(
        lanes,
        [
            ("s1", LaneKind::Server),
            ("s2", LaneKind::Server),
            ("sen1", LaneKind::Sentinel),
            ("c1", LaneKind::Client)
        ]
    );
    assert_eq!(t.end_ms, 10_000);
}

#[test]
fn a_server_lane_shows_its_roles_and_the_time_it_was_down() {
    let t = build(&story());
    assert_eq!(
        states(lane(&t, "s1")),
        [
            (0, 2, "up"),
            (2, 2_000, "master"),
            (2_000, 5_000, "down"),
            (5_000, 5_002, "up"),
            (5_002, 10_000, "master")
        ]
    );
    assert_eq!(
        states(lane(&t, "s2")),
        [
            (0, 2, "up"),
            (2, 40, "replica-down"),
            (40, 2_100, "replica"),
            (2_100, 4_500, "replica-down"),
            (4_500, 10_000, "master")
        ]
    );
    assert_eq!(lane(&t, "s2").states[1].label, "replica of s1, syncing");
}

#[test]
fn faults_are_bands_from_their_start_to_what_ends_them() {
    let t = build(&story());
    let bands = |node| -> Vec<(u64, u64, &str)> {
        lane(&t, node)
            .faults
            .iter()
            .map(|f| (f.from_ms, f.to_ms, f.class))
            .collect()
    };
    assert_eq!(
        bands("s1"),
        [(1_500, 1_500, "clock-jump"), (2_000, 5_000, "crash")]
    );
    assert_eq!(
        bands("s2"),
        [
            (1_000, 4_000, "partition"),
            (6_000, 10_000, "disk-fail"),
            (7_000, 10_000, "pause")
        ]
    );
    assert_eq!(
        lane(&t, "s2").faults[0].label,
        "partition s2 from s1",
        "the band's label is the harness line"
    );
}

#[test]
fn a_client_lane_shows_its_link_and_stops_with_the_workload() {
    let t = build(&story());
    assert_eq!(
        states(lane(&t, "c1")),
        [
            (0, 100, "link-down"),
            (100, 2_000, "link-up"),
            (2_000, 8_000, "link-down"),
            (8_000, 10_000, "stopped")
        ]
    );
}

#[test]
fn sentinel_events_are_markers_and_switch_master_is_a_failover_naming_the_servers() {
    let t = build(&story());
    let sen = lane(&t, "sen1");
    let events: Vec<(&str, &str)> = sen
        .markers
        .iter()
        .map(|m| (&m.event[..], m.class))
        .collect();
    assert_eq!(
        events,
        [
            ("+sdown", "down"),
            ("+odown", "down"),
            ("+try-failover", "step"),
            ("+failover-end", "step"),
            ("+switch-master", "failover")
        ]
    );
    assert_eq!(
        states(sen),
        [
            (0, 3_000, "watching"),
            (3_000, 3_100, "sdown"),
            (3_100, 3_200, "odown"),
            (3_200, 4_500, "failover"),
            (4_500, 4_600, "odown"),
            (4_600, 10_000, "watching")
        ],
        "after the switch the sentinel watches the new master"
    );
    assert_eq!(t.failovers.len(), 1);
    assert_eq!(t.failovers[0].at_ms, 4_600);
    assert_eq!(t.failovers[0].label, "failover of mymaster: s1 -> s2");
}

#[test]
fn acknowledged_and_lost_writes_are_counted_per_bucket_on_their_server() {
    let t = build(&story());
    assert_eq!(t.bucket_ms, 100, "10 s in at most 150 buckets");
    let s1 = lane(&t, "s1");
    assert_eq!(s1.acked.len(), 100);
    assert_eq!((s1.acked[1], s1.lost[1]), (1, 0));
    assert_eq!((s1.acked[2], s1.lost[2]), (1, 1));
    assert_eq!((s1.acked[20], s1.lost[20]), (1, 0));
    assert_eq!(s1.acked.iter().sum::<u32>(), 3);
    assert!(lane(&t, "s2").acked.is_empty(), "s2 acknowledged nothing");
}

#[test]
fn the_page_has_a_lane_group_per_node_bands_markers_and_a_failover_and_fetches_nothing() {
    let html = crate::timeline_html::render(&build(&story()));
    for node in ["s1", "s2", "sen1", "c1"] {
        assert_eq!(
            html.matches(&format!("<g class=\"lane\" data-node=\"{node}\""))
                .count(),
            1,
            "{node}"
        );
    }
    assert_eq!(html.matches("<rect class=\"fault crash\"").count(), 1);
    assert_eq!(html.matches("<rect class=\"fault partition\"").count(), 1);
    assert_eq!(html.matches("<rect class=\"fault clock-jump\"").count(), 1);
    assert_eq!(html.matches("<g class=\"marker ").count(), 5);
    assert_eq!(html.matches("<g class=\"failover-line\"").count(), 1);
    assert_eq!(html.matches("<g class=\"marker failover\"").count(), 1);
    assert!(html.contains("data-event=\"+switch-master\""));
    assert!(html.contains("1 lost &lt;write&gt;"), "text is escaped");
    assert!(!html.contains("<write>"));
    for fetch in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(fetch), "the page must not load {fetch}");
    }
}

#[test]
fn a_quiet_trace_still_shows_faults_and_restarts() {
    let t = Trace::default();
    t.record(3_000, "harness", "kill s1,s2");
    t.record(4_000, "harness", "restart s1,s2");
    let tl = build(&t);
    for node in ["s1", "s2"] {
        assert_eq!(
            states(lane(&tl, node)),
            [
                (0, 3_000, "up"),
                (3_000, 4_000, "down"),
                (4_000, 10_000, "up")
            ]
        );
        assert_eq!(lane(&tl, node).faults[0].class, "kill");
    }
}
