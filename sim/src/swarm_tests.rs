//! Stories for the swarm: the seed alone draws the topology, every value of every range comes
//! up over a few hundred seeds, and the materialised scenario replays the same topology.

use super::*;
use std::collections::BTreeSet;

/// The swarm scenario of the repository, whose ranges the tests below expect.
const BASE: &str = include_str!("../../scenarios/sentinel-swarm.toml");

fn base() -> Scenario {
    Scenario::from_toml(BASE).unwrap()
}

/// What a drawn scenario says: (Sentinels, quorum, replicas, down-after, failover-timeout,
/// parallel-syncs), read back from its config lines.
fn drawn(s: &Scenario) -> (usize, u64, usize, u64, u64, u64) {
    let x = s.servers.iter().find(|g| g.sentinel).unwrap();
    let value = |option: &str| -> u64 {
        let line = x.config.iter().find(|l| l.contains(option)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let replicas = s.servers.iter().filter(|g| !g.sentinel).count() - 1;
    (
        x.count.unwrap(),
        value("monitor"),
        replicas,
        value("down-after"),
        value("failover-timeout"),
        value("parallel-syncs"),
    )
}

#[test]
fn the_same_seed_draws_the_same_topology_and_other_seeds_others() {
    let b = base();
    let one = b.topology(7).to_toml().unwrap();
    assert_eq!(one, b.topology(7).to_toml().unwrap());
    let distinct: BTreeSet<String> = (0..50).map(|s| b.topology(s).to_toml().unwrap()).collect();
    assert!(distinct.len() > 45, "{} distinct of 50", distinct.len());
}

#[test]
fn over_many_seeds_every_value_of_every_range_is_drawn_and_none_outside() {
    let (b, w) = (base(), Swarm::default());
    let (mut sentinels, mut quorums, mut replicas) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut priorities, mut persistence, mut syncs) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut zero_weight, mut max_weight) = (false, false);
    for seed in 0..500 {
        let s = b.topology(seed);
        let (n, q, r, down_ms, timeout_ms, ps) = drawn(&s);
        assert!(
            (1..=n as u64).contains(&q),
            "seed {seed}: quorum {q} of {n}"
        );
        assert!((500..=3000).contains(&down_ms) && (2000..=6000).contains(&timeout_ms));
        sentinels.insert(n);
        quorums.insert((n, q));
        replicas.insert(r);
        syncs.insert(ps);
        for g in s.servers.iter().filter(|g| !g.sentinel) {
            let p = g
                .config
                .iter()
                .find_map(|l| l.strip_prefix("replica-priority "));
            priorities.insert(p.unwrap().parse::<u32>().unwrap());
            persistence.insert(
                g.config
                    .iter()
                    .filter(|l| !l.starts_with("replica"))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
        let n = s.nemesis.as_ref().unwrap();
        assert!((10.0..=30.0).contains(&n.faults_per_min));
        let w = n.weights;
        assert!(
            w.crash <= 1 && w.kill <= 2 && w.partition <= 2 && w.pause <= 1,
            "{w:?}"
        );
        zero_weight |= w.kill == 0;
        max_weight |= w.partition == 2;
        // The nemesis aims at every drawn node; the expectation names every drawn server.
        assert_eq!(n.nodes.len(), s.server_list().len());
        assert_eq!(s.expect.sentinel[0].servers.len(), r + 1);
        assert!(s.validate().is_ok(), "seed {seed}");
    }
    assert_eq!(sentinels, (1..=7).collect());
    assert_eq!(replicas, (1..=4).collect());
    assert_eq!(syncs, (1..=4).collect());
    assert_eq!(
        quorums.len(),
        (1..=7).sum::<usize>(),
        "every quorum of every size"
    );
    assert_eq!(priorities, w.priorities.iter().copied().collect());
    assert_eq!(persistence.len(), 4);
    assert!(zero_weight && max_weight);
}

#[test]
fn the_materialised_scenario_has_the_drawn_topology_and_plays_it_again() {
    let b = base();
    let m = b.materialize(11);
    assert!(m.swarm.is_none() && m.nemesis.is_none());
    assert_eq!(m.server_list(), b.topology(11).server_list());
    assert!(m.name.starts_with("sentinel swarm [swarm: "), "{}", m.name);
    // A shrunk or saved file is the materialised one: read back, it plays the same.
    let back = Scenario::from_toml(&m.to_toml().unwrap()).unwrap();
    assert_eq!(back.materialize(11).to_toml(), m.to_toml());
}

#[test]
fn bad_ranges_and_scenarios_the_swarm_cannot_vary_are_refused_with_reasons() {
    let with = |from: &str, to: &str| Scenario::from_toml(&BASE.replace(from, to)).unwrap_err();
    for (from, to, want) in [
        (
            "sentinels = [1, 7]",
            "sentinels = [0, 3]",
            "sentinels must be a range within 1..=15",
        ),
        (
            "replicas = [1, 4]",
            "replicas = [3, 2]",
            "replicas must be a range within 0..=15",
        ),
        (
            "down_after_ms = [500, 3000]",
            "down_after_ms = [0, 10]",
            "down_after_ms must be an ordered range from 1",
        ),
        (
            "priorities = [0, 1, 50, 100]",
            "priorities = []",
            "priorities and persistence need at least one value each",
        ),
        (
            "sentinel = true",
            "sentinel = false",
            "needs one Sentinel group, one [[expect.sentinel]] and a [nemesis]",
        ),
    ] {
        assert_eq!(with(from, to), format!("swarm: {want}"), "{to}");
    }
}
