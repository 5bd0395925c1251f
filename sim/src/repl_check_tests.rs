use super::*;
use crate::client::Ack;

fn scenario(body: &str) -> Result<Scenario, String> {
    Scenario::from_toml(&format!(
        "name = \"t\"\nseed = 1\nduration_s = 10\n\
         [[server]]\nname = \"s1\"\n\
         [[server]]\nname = \"s2\"\nconfig = [\"replicaof s1 6379\"]\n\
         [[server]]\nname = \"s3\"\nconfig = [\"replicaof s1 6379\"]\n\
         [[client]]\nname = \"c1\"\nserver = \"s1\"\nworkload = \"write-read\"\n{body}"
    ))
}

fn replica(of: &str, up: bool) -> Role {
    Role::Replica { of: of.into(), up }
}

#[test]
fn expected_roles_follow_configs_then_replicaof_faults_restarts_and_overrides() {
    let s = scenario(
        "[[fault]]\nat_s = 1\naction = \"replicaof\"\nnodes = [\"s2\"]\ntarget = \"no one\"\n\
         [[fault]]\nat_s = 2\naction = \"replicaof\"\nnodes = [\"s3\"]\ntarget = \"s2\"\n\
         [[fault]]\nat_s = 3\naction = \"kill\"\nnodes = [\"s3\"]\n\
         [[fault]]\nat_s = 4\naction = \"restart\"\nnodes = [\"s3\"]\n\
         [expect.replication]\nroles = { s1 = \"s3 down\" }\n",
    )
    .unwrap();
    let e = s.expect.replication.clone().unwrap();
    let roles = expected_roles(&s, 1, &e);
    assert_eq!(roles["s1"], replica("s3", false), "overridden");
    assert_eq!(roles["s2"], Role::Master, "REPLICAOF NO ONE");
    assert_eq!(
        roles["s3"],
        replica("s1", true),
        "a restart goes back to the config's replicaof"
    );
}

#[test]
fn replication_options_are_validated_with_reasons() {
    let cases = [
        (
            "[[fault]]\nat_s = 1\naction = \"replicaof\"\nnodes = [\"s2\"]",
            "fault 1 (replicaof): needs a `target` (a server name or \"no one\")",
        ),
        (
            "[[fault]]\nat_s = 1\naction = \"replicaof\"\nnodes = [\"s2\"]\ntarget = \"s9\"",
            "fault 1 (replicaof): target s9 is not a server",
        ),
        (
            "[[fault]]\nat_s = 1\naction = \"replicaof\"\nnodes = [\"c1\"]\ntarget = \"s1\"",
            "fault 1 (replicaof): c1 is not a server",
        ),
        (
            "[[fault]]\nat_s = 1\naction = \"kill\"\nnodes = [\"s2\"]\ntarget = \"s1\"",
            "fault 1 (kill): `target` does not apply to this action",
        ),
        (
            "[[fault]]\nat_s = 1\naction = \"partition\"\nnodes = [\"s2\"]\nfrom = [\"s7\"]",
            "fault 1 (partition): `from` names unknown node s7",
        ),
        (
            "[[fault]]\nat_s = 1\naction = \"heal\"\nfrom = [\"s1\"]",
            "fault 1 (heal): `from` does not apply to this action",
        ),
        (
            "[expect.replication]\nroles = { s9 = \"master\" }",
            "expect.replication.roles names unknown server s9",
        ),
        (
            "[expect.replication]\nroles = { s2 = \"s1 up\" }",
            "bad role \"s1 up\": use \"master\", \"<server>\" or \"<server> down\"",
        ),
        (
            "[expect.replication]\nroles = { s2 = \"s8\" }",
            "expect.replication.roles: s2 follows unknown server s8",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(scenario(body).unwrap_err(), want, "for {body:?}");
    }
    let ok = "[[fault]]\nat_s = 1\naction = \"replicaof\"\nnodes = [\"s2\", \"s3\"]\ntarget = \"NO ONE\"";
    assert!(scenario(ok).is_ok());
}

#[test]
fn a_server_is_a_replica_throughout_only_strictly_between_its_role_changes() {
    let mut w = RoleWatch::default();
    w.observe(100, "ready");
    w.observe(100, "replicaof s1:6379");
    w.observe(100, "sync full");
    w.observe(5000, "role master");
    w.observe(7000, "ready");
    w.observe(7000, "replicaof s1:6379");
    assert!(w.replica_throughout(101, 4999));
    assert!(!w.replica_throughout(100, 200), "it was a master at 100 ms");
    assert!(!w.replica_throughout(4000, 5000), "promoted at 5000 ms");
    assert!(!w.replica_throughout(5500, 6000), "a master then");
    assert!(w.replica_throughout(7001, 9000));
    assert!(
        !w.replica_throughout(0, 50),
        "nothing known before it started"
    );
}

fn client(server: &str, acks: &[(u64, u64)]) -> ClientResult {
    ClientResult {
        name: "c2".into(),
        server: server.into(),
        acked: acks
            .iter()
            .enumerate()
            .map(|(i, &(sent_ms, at_ms))| {
                let ack = Ack {
                    value: "v".into(),
                    sent_ms,
                    at_ms,
                };
                (Bytes::from(format!("c2:{}", i + 1)), ack)
            })
            .collect(),
        failed: 0,
        write_errors: BTreeMap::new(),
        lost: Ok(vec![]),
        replica_reads: None,
    }
}

/// Violations as they are printed.
fn shown(v: impl IntoIterator<Item = Violation>) -> Vec<String> {
    v.into_iter().map(|v| v.to_string()).collect()
}

#[test]
fn a_write_acknowledged_while_its_server_was_a_replica_is_a_violation() {
    let mut w = RoleWatch::default();
    w.observe(0, "ready");
    w.observe(0, "replicaof s1:6379");
    w.observe(3000, "role master");
    let roles = BTreeMap::from([("s2".to_string(), w)]);
    let ok = client("s2", &[(2990, 3005), (4000, 4010)]);
    assert!(replica_acks(&[ok], &roles).is_empty());
    let bad = client("s2", &[(1000, 1010), (2000, 2010), (4000, 4010)]);
    assert_eq!(
        shown(replica_acks(&[bad], &roles)),
        ["replication.replica_acked_write at 1.010s on c2, s2: a replica acknowledged 2 writes: \
          c2:1 at 1.010s, c2:2 at 2.010s"]
    );
}

const INFO: &str = "# Server\r\nredis_version:7.2.6\r\nrun_id:abc\r\n\r\n# Replication\r\n\
    role:slave\r\nmaster_host:s1\r\nmaster_port:6379\r\nmaster_link_status:up\r\n\
    master_replid:r1\r\nmaster_repl_offset:1234\r\n\r\n# Keyspace\r\n\
    db0:keys=17,expires=0,avg_ttl=0\r\n";

#[test]
fn info_readings_give_role_link_position_and_key_count() {
    let s = Sample::parse(500, INFO).unwrap();
    assert_eq!(
        s,
        Sample {
            at_ms: 500,
            run_id: "abc".into(),
            role: "slave".into(),
            replid: "r1".into(),
            offset: 1234,
            master_host: "s1".into(),
            link_up: true,
            keys: 17,
        }
    );
    assert!(s.shows(&replica("s1", true)));
    assert!(!s.shows(&replica("s1", false)) && !s.shows(&Role::Master));
    assert_eq!(
        shown(role_mismatch("s2", &replica("s3", true), Some(&s), 12_000)),
        [
            "replication.roles at 12.000s on s2: expected replica of s3 with its link up, found \
          replica of s1 with its link up"
        ]
    );
    assert_eq!(
        shown(role_mismatch("s2", &Role::Master, None, 12_000)),
        ["replication.roles at 12.000s on s2: expected master, but it did not answer INFO"]
    );
    assert_eq!(Sample::parse(0, "role:master\r\n"), None);
}

fn sample(at_ms: u64, run_id: &str, replid: &str, offset: i64) -> Sample {
    Sample {
        at_ms,
        run_id: run_id.into(),
        role: "slave".into(),
        replid: replid.into(),
        offset,
        master_host: "s1".into(),
        link_up: true,
        keys: 0,
    }
}

#[test]
fn an_offset_going_back_within_one_replid_in_one_process_is_a_violation() {
    let fine = BTreeMap::from([(
        "s2".to_string(),
        vec![
            sample(500, "p1", "A", 100),
            sample(1000, "p1", "A", 150),
            // A full sync from a restarted master: another replication ID.
            sample(1500, "p1", "B", 20),
            // Restarted from an older dump: another process.
            sample(2000, "p2", "A", 120),
        ],
    )]);
    assert!(offsets_backwards(&fine).is_empty());
    let bad = BTreeMap::from([(
        "s2".to_string(),
        vec![
            sample(500, "p1", "A", 100),
            sample(1000, "p1", "B", 5),
            sample(1500, "p1", "A", 90),
        ],
    )]);
    assert_eq!(
        shown(offsets_backwards(&bad)),
        [
            "replication.offsets at 1.500s on s2: master_repl_offset went back 1 times: 100 at \
          0.500s -> 90 at 1.500s (replid A)"
        ]
    );
}

#[test]
fn a_replica_keeps_its_dataset_while_its_link_is_down() {
    let down = |at_ms, offset, keys| Sample {
        link_up: false,
        keys,
        ..sample(at_ms, "p1", "A", offset)
    };
    let samples = BTreeMap::from([(
        "s2".to_string(),
        vec![
            down(500, 10, 5),
            down(1000, 10, 5),
            sample(1500, "p1", "A", 20),
            down(2000, 20, 7),
            down(2500, 20, 3),
        ],
    )]);
    let (lines, violations) = link_down_spans(&samples);
    assert_eq!(
        lines,
        [
            "s2 link down 0.500s..1.000s: 5 keys kept",
            "s2 link down 2.000s..2.500s: 7 keys, then 3"
        ]
    );
    assert_eq!(
        shown(violations),
        ["replication.link_down_dataset at 2.500s on s2: its dataset changed while its link was \
          down (7 keys at 2.000s, 3 at 2.500s)"]
    );
}

#[test]
fn dataset_differences_name_missing_extra_and_changed_keys() {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<Bytes, Bytes> {
        pairs
            .iter()
            .map(|(k, v)| (Bytes::from(k.to_string()), Bytes::from(v.to_string())))
            .collect()
    };
    let master = map(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")]);
    assert_eq!(dataset_diff(&master.clone(), &master), None);
    let replica = map(&[("c", "3"), ("d", "x"), ("z", "9")]);
    assert_eq!(
        dataset_diff(&replica, &master).unwrap(),
        "3 keys missing (a, b, e), 1 keys extra (z), 1 keys with other values (d)"
    );
    let few = map(&[]);
    assert_eq!(
        dataset_diff(&few, &master).unwrap(),
        "5 keys missing (a, b, c, … 2 more)"
    );
}

#[test]
fn after_the_heal_only_the_expected_master_may_say_it_is_a_master() {
    let expected = BTreeMap::from([
        ("s1".to_string(), Role::Master),
        ("s2".to_string(), replica("s1", true)),
        ("s3".to_string(), replica("s1", true)),
    ]);
    let master = |at_ms| Sample {
        role: "master".into(),
        ..sample(at_ms, "p1", "A", 10)
    };
    let good = BTreeMap::from([
        ("s1".to_string(), master(30_000)),
        ("s2".to_string(), sample(30_000, "p2", "A", 10)),
    ]);
    assert_eq!(single_master(&expected, &good, 30_000), None);
    let two = BTreeMap::from([
        ("s1".to_string(), master(30_000)),
        ("s3".to_string(), master(30_000)),
    ]);
    assert_eq!(
        shown(single_master(&expected, &two, 30_000)),
        [
            "replication.single_master at 30.000s on s1, s3: expected s1 as the only master after \
          the heal, found masters: s1, s3"
        ]
    );
    assert_eq!(
        shown(single_master(&expected, &BTreeMap::new(), 30_000)),
        [
            "replication.single_master at 30.000s on s1: expected s1 as the only master after the \
          heal, found masters: none"
        ]
    );
}
