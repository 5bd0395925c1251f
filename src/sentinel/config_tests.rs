//! Tests for the `sentinel ...` lines: each directive, Redis' messages, and the rewrite's lines.

use super::*;
use crate::text::split_args;
use proptest::prelude::*;

const ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn words(line: &str) -> Vec<String> {
    split_args(line.as_bytes())
        .expect("balanced quotes")
        .into_iter()
        .map(|w| String::from_utf8(w).unwrap())
        .collect()
}

/// Applies `sentinel ...` lines in the order given; the error names the failing line.
fn apply_all(conf: &mut SentinelConf, lines: &[&str]) -> Result<(), String> {
    for line in lines {
        let w = words(line);
        assert!(w[0].eq_ignore_ascii_case("sentinel"), "{line}");
        apply_line(conf, &w[1..]).map_err(|e| format!("{line}: {e}"))?;
    }
    Ok(())
}

fn parse(lines: &[&str]) -> SentinelConf {
    let mut conf = SentinelConf::default();
    apply_all(&mut conf, lines).unwrap();
    conf
}

/// The error of the last line, after the others applied.
fn error_of(lines: &[&str]) -> String {
    let (last, before) = lines.split_last().unwrap();
    let mut conf = parse(before);
    apply_line(&mut conf, &words(last)[1..]).unwrap_err()
}

#[test]
fn every_directive_sets_what_it_names() {
    let conf = parse(&[
        &format!("sentinel myid {ID}"),
        "sentinel current-epoch 7",
        "sentinel announce-ip 10.0.0.9",
        "sentinel announce-port 26400",
        "sentinel announce-hostnames yes",
        "sentinel resolve-hostnames YES",
        "sentinel deny-scripts-reconfig no",
        "sentinel sentinel-user watcher",
        "sentinel sentinel-pass s3cret",
        "SENTINEL MONITOR mymaster 127.0.0.1 6380 2",
        "sentinel down-after-milliseconds mymaster 5000",
        "sentinel failover-timeout mymaster 60000",
        "sentinel parallel-syncs mymaster 3",
        "sentinel notification-script mymaster /bin/notify.sh",
        "sentinel client-reconfig-script mymaster /bin/reconfig.sh",
        "sentinel auth-pass mymaster \"pass word\"",
        "sentinel auth-user mymaster admin",
        "sentinel config-epoch mymaster 5",
        "sentinel leader-epoch mymaster 6",
        "sentinel master-reboot-down-after-period mymaster 1000",
        "sentinel known-replica mymaster 127.0.0.1 6381",
        "sentinel known-slave mymaster 127.0.0.1 6382",
        "sentinel known-sentinel mymaster 127.0.0.1 26380 aaaa",
        "sentinel known-sentinel mymaster 127.0.0.1 26381",
        "sentinel rename-command mymaster CONFIG GUESSME",
    ]);
    let mut master = MasterConf::new("mymaster", "127.0.0.1", 6380, 2);
    master.down_after_ms = 5000;
    master.failover_timeout_ms = 60000;
    master.parallel_syncs = 3;
    master.notification_script = Some("/bin/notify.sh".into());
    master.client_reconfig_script = Some("/bin/reconfig.sh".into());
    master.auth_pass = Some("pass word".into());
    master.auth_user = Some("admin".into());
    master.config_epoch = 5;
    master.leader_epoch = 6;
    master.master_reboot_down_after_period_ms = 1000;
    master.known_replicas = vec![("127.0.0.1".into(), 6381), ("127.0.0.1".into(), 6382)];
    master.known_sentinels = vec![KnownSentinel {
        host: "127.0.0.1".into(),
        port: 26380,
        runid: "aaaa".into(),
    }];
    master.rename_commands = vec![("CONFIG".into(), "GUESSME".into())];
    let expected = SentinelConf {
        myid: Some(ID.into()),
        current_epoch: 7,
        settings: super::Settings {
            announce_ip: Some("10.0.0.9".into()),
            announce_port: 26400,
            announce_hostnames: true,
            resolve_hostnames: true,
            deny_scripts_reconfig: false,
            sentinel_user: Some("watcher".into()),
            sentinel_pass: Some("s3cret".into()),
        },
        masters: vec![master],
    };
    assert_eq!(conf, expected);
}

#[test]
fn defaults_are_redis_defaults() {
    let c = SentinelConf::default();
    assert!(
        c.settings.deny_scripts_reconfig
            && !c.settings.resolve_hostnames
            && !c.settings.announce_hostnames
    );
    assert_eq!(
        (c.myid, c.current_epoch, c.settings.announce_port),
        (None, 0, 0)
    );
    let m = MasterConf::new("m", "h", 1, 2);
    assert_eq!(
        (m.down_after_ms, m.failover_timeout_ms, m.parallel_syncs),
        (30000, 180000, 1)
    );
    assert_eq!(m.master_reboot_down_after_period_ms, 0);
}

#[test]
fn each_mistake_gets_redis_message() {
    let monitor = "sentinel monitor m 127.0.0.1 6379 2";
    let cases: &[(&[&str], &str)] = &[
        (
            &["sentinel bogus 1"],
            "Unrecognized sentinel configuration statement.",
        ),
        (
            &["sentinel monitor m 127.0.0.1 6379"],
            "Unrecognized sentinel configuration statement.",
        ),
        (
            &["sentinel current-epoch"],
            "Unrecognized sentinel configuration statement.",
        ),
        (
            &["sentinel monitor m 127.0.0.1 6379 0"],
            "Quorum must be 1 or greater.",
        ),
        (
            &["sentinel monitor m 127.0.0.1 6379 two"],
            "Quorum must be 1 or greater.",
        ),
        (
            &["sentinel monitor m 127.0.0.1 65536 2"],
            "Invalid port number.",
        ),
        (
            &["sentinel monitor m redis.example 6379 2"],
            "Can't resolve instance hostname.",
        ),
        (&[monitor, monitor], "Duplicate master name."),
        (
            &["sentinel down-after-milliseconds m 100"],
            "No such master with specified name.",
        ),
        (
            &[monitor, "sentinel down-after-milliseconds M 100"],
            "No such master with specified name.",
        ),
        (
            &[monitor, "sentinel down-after-milliseconds m 0"],
            "negative or zero time parameter.",
        ),
        (
            &[monitor, "sentinel failover-timeout m -5"],
            "negative or zero time parameter.",
        ),
        (
            &[monitor, "sentinel master-reboot-down-after-period m -1"],
            "negative time parameter.",
        ),
        (
            &["sentinel myid abc"],
            "Malformed Sentinel id in myid option.",
        ),
        (
            &["sentinel deny-scripts-reconfig maybe"],
            "Please specify yes or no for the deny-scripts-reconfig options.",
        ),
        (
            &["sentinel resolve-hostnames 1"],
            "Please specify yes or no for the resolve-hostnames option.",
        ),
        (
            &["sentinel announce-hostnames on"],
            "Please specify yes or no for the announce-hostnames option.",
        ),
        (
            &[
                monitor,
                "sentinel known-replica m 127.0.0.1 6380",
                "sentinel known-replica m 127.0.0.1 6380",
            ],
            "Duplicate hostname and port for replica.",
        ),
        (
            &[
                monitor,
                "sentinel known-sentinel m 127.0.0.1 1 x",
                "sentinel known-sentinel m 127.0.0.2 2 x",
            ],
            "Duplicate runid for sentinel.",
        ),
        (
            &[monitor, "sentinel known-sentinel m 127.0.0.1 -1 x"],
            "Invalid port number.",
        ),
        (
            &[
                monitor,
                "sentinel rename-command m config a",
                "sentinel rename-command m CONFIG b",
            ],
            "Same command renamed multiple times with rename-command.",
        ),
        (&["sentinel announce-port 70000"], "Invalid port number."),
    ];
    for (lines, expected) in cases {
        assert_eq!(error_of(lines), *expected, "{lines:?}");
    }
}

#[test]
fn a_master_line_checks_the_master_before_its_value() {
    let err = error_of(&["sentinel down-after-milliseconds nope 0"]);
    assert_eq!(err, "No such master with specified name.");
}

#[test]
fn numbers_are_read_like_c_atoi_and_strtoull() {
    let conf = parse(&[
        "sentinel monitor m 127.0.0.1 6379x 2abc",
        "sentinel down-after-milliseconds m 1500ms",
        "sentinel parallel-syncs m -3",
        "sentinel config-epoch m 12junk",
    ]);
    let m = &conf.masters[0];
    assert_eq!((m.port, m.quorum, m.down_after_ms), (6379, 2, 1500));
    // Redis keeps -3, which lets no replica resync at a time: so does 0.
    assert_eq!(m.parallel_syncs, 0);
    // A config epoch raises the current epoch.
    assert_eq!((m.config_epoch, conf.current_epoch), (12, 12));
    assert_eq!(
        parse(&["sentinel current-epoch -1"]).current_epoch,
        u64::MAX
    );
    assert_eq!(
        parse(&["sentinel current-epoch 99999999999999999999999"]).current_epoch,
        u64::MAX
    );
}

#[test]
fn current_epoch_only_grows() {
    let conf = parse(&["sentinel current-epoch 9", "sentinel current-epoch 4"]);
    assert_eq!(conf.current_epoch, 9);
}

#[test]
fn empty_values_leave_global_strings_unset() {
    let conf = parse(&[
        "sentinel announce-ip \"\"",
        "sentinel sentinel-user ''",
        "sentinel sentinel-pass \"\"",
    ]);
    assert_eq!(conf, SentinelConf::default());
}

#[test]
fn hostnames_are_kept_when_resolve_hostnames_is_on() {
    let conf = parse(&[
        "sentinel resolve-hostnames yes",
        "sentinel monitor m redis-1.example 6379 1",
        "sentinel known-replica m redis-2.example 6379",
    ]);
    assert_eq!(conf.masters[0].host, "redis-1.example");
    assert_eq!(
        conf.masters[0].known_replicas,
        vec![("redis-2.example".into(), 6379)]
    );
}

#[test]
fn ipv6_replicas_are_duplicates_in_any_spelling() {
    let err = error_of(&[
        "sentinel monitor m ::1 6379 1",
        "sentinel known-replica m 0:0:0:0:0:0:0:1 7000",
        "sentinel known-replica m ::1 7000",
    ]);
    assert_eq!(err, "Duplicate hostname and port for replica.");
}

#[test]
fn lists_per_master_are_bounded() {
    let mut conf = parse(&["sentinel monitor m 127.0.0.1 6379 1"]);
    for port in 0..MAX_PER_MASTER {
        let line = format!("sentinel known-replica m 127.0.0.1 {port}");
        apply_all(&mut conf, &[&line]).unwrap();
    }
    let last = words("sentinel known-replica m 127.0.0.2 1");
    let err = apply_line(&mut conf, &last[1..]).unwrap_err();
    assert_eq!(
        err,
        "Too many known replicas for one master (at most 1000)."
    );
    let mut conf = SentinelConf::default();
    for i in 0..MAX_MASTERS {
        apply_all(
            &mut conf,
            &[&format!("sentinel monitor m{i} 127.0.0.1 6379 1")],
        )
        .unwrap();
    }
    let err = apply_line(&mut conf, &words("monitor one-more 127.0.0.1 6379 1")).unwrap_err();
    assert_eq!(err, "Too many masters monitored (at most 1000).");
}

#[test]
fn load_passes_put_globals_then_monitor_then_the_rest() {
    let pass = |line: &str| load_pass(&words(line));
    assert_eq!(pass("myid x"), 0);
    assert_eq!(pass("RESOLVE-HOSTNAMES yes"), 0);
    assert_eq!(pass("monitor m h 1 1"), 1);
    assert_eq!(pass("known-sentinel m h 1 x"), 2);
    assert_eq!(pass("no-such-option"), 2);
}

#[test]
fn scripts_are_named_for_the_executable_check() {
    let (notify, reconfig) = (
        words("notification-script m /x.sh"),
        words("client-reconfig-script m /y.sh"),
    );
    assert_eq!(
        script_of(&notify),
        Some((
            "/x.sh",
            "Notification script seems non existing or non executable."
        ))
    );
    assert_eq!(
        script_of(&reconfig),
        Some((
            "/y.sh",
            "Client reconfiguration script seems non existing or non executable."
        ))
    );
    assert_eq!(script_of(&words("auth-pass m /x.sh")), None);
}

#[test]
fn rewrite_writes_redis_lines_in_redis_order() {
    let mut conf = parse(&[
        "sentinel announce-ip 10.0.0.9",
        "sentinel sentinel-pass pw",
        "sentinel monitor b 127.0.0.1 7000 1",
        "sentinel monitor a 127.0.0.1 6379 2",
        "sentinel auth-pass a \"p w\"",
        "sentinel master-reboot-down-after-period a 500",
        "sentinel failover-timeout a 1000",
        "sentinel known-sentinel a 127.0.0.1 26380 run1",
        "sentinel known-replica a 127.0.0.1 6380",
        "sentinel rename-command a config cfg",
    ]);
    conf.myid = Some(ID.into());
    conf.current_epoch = 3;
    let expected = [
        format!("sentinel myid {ID}"),
        "sentinel monitor b 127.0.0.1 7000 1".into(),
        "sentinel config-epoch b 0".into(),
        "sentinel leader-epoch b 0".into(),
        "sentinel monitor a 127.0.0.1 6379 2".into(),
        "sentinel failover-timeout a 1000".into(),
        "sentinel auth-pass a \"p w\"".into(),
        "sentinel master-reboot-down-after-period a 500".into(),
        "sentinel config-epoch a 0".into(),
        "sentinel leader-epoch a 0".into(),
        "sentinel known-replica a 127.0.0.1 6380".into(),
        "sentinel known-sentinel a 127.0.0.1 26380 run1".into(),
        "sentinel rename-command a config cfg".into(),
        "sentinel current-epoch 3".into(),
        "sentinel announce-ip \"10.0.0.9\"".into(),
        "sentinel sentinel-pass pw".into(),
    ];
    assert_eq!(rewrite_lines(&conf), expected);
}

#[test]
fn yes_no_globals_are_written_only_when_not_default_unless_already_in_the_file() {
    let plan = rewrite_plan(&SentinelConf::default());
    let lines: Vec<(&str, bool)> = plan.iter().map(|l| (l.line.as_str(), l.force)).collect();
    assert_eq!(
        lines,
        [
            ("sentinel deny-scripts-reconfig yes", false),
            ("sentinel resolve-hostnames no", false),
            ("sentinel announce-hostnames no", false),
            ("sentinel current-epoch 0", true),
        ]
    );
    let conf = parse(&[
        "sentinel deny-scripts-reconfig no",
        "sentinel announce-hostnames yes",
    ]);
    assert_eq!(
        rewrite_lines(&conf),
        [
            "sentinel deny-scripts-reconfig no",
            "sentinel announce-hostnames yes",
            "sentinel current-epoch 0"
        ]
    );
}

/// Names and secrets with what needs quoting: spaces, quotes, backslashes, `#`, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"'\\\\#$é-]{1,12}"
}

fn master_strategy() -> impl Strategy<Value = MasterConf> {
    (
        (text(), any::<u16>(), 1..100u32, 1..1_000_000u64, 0..5u32),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            any::<u64>(),
            any::<u64>(),
            0..100_000u64,
        ),
        (
            proptest::collection::btree_set(any::<u16>(), 0..4),
            proptest::collection::btree_map("[a-z0-9]{1,40}", any::<u16>(), 0..4),
            proptest::collection::btree_map("[a-z]{1,8}", text(), 0..3),
        ),
    )
        .prop_map(
            |(
                (name, port, quorum, down, syncs),
                (pass, user, ce, le, reboot),
                (reps, sents, renames),
            )| {
                let mut m = MasterConf::new(&name, "10.1.2.3", port, quorum);
                m.down_after_ms = down;
                m.parallel_syncs = syncs;
                (m.auth_pass, m.auth_user, m.config_epoch, m.leader_epoch) = (pass, user, ce, le);
                m.master_reboot_down_after_period_ms = reboot;
                m.known_replicas = reps
                    .into_iter()
                    .map(|p| ("10.0.0.1".to_string(), p))
                    .collect();
                m.known_sentinels = sents
                    .into_iter()
                    .map(|(runid, port)| KnownSentinel {
                        host: "::1".into(),
                        port,
                        runid,
                    })
                    .collect();
                m.rename_commands = renames.into_iter().collect();
                m
            },
        )
}

proptest! {
    /// Whatever a Sentinel knows, the lines its rewrite writes read back to the same knowledge.
    #[test]
    fn rewritten_lines_read_back_to_the_same_configuration(
        masters in proptest::collection::vec(master_strategy(), 0..3),
        epoch in any::<u64>(),
        announce_ip in proptest::option::of(text()),
        user in proptest::option::of(text()),
        flags in any::<(bool, bool, bool)>(),
    ) {
        let mut conf = SentinelConf {
            myid: Some(ID.into()),
            settings: super::Settings {
                announce_ip,
                sentinel_user: user,
                deny_scripts_reconfig: flags.0,
                resolve_hostnames: flags.1,
                announce_hostnames: flags.2,
                ..Default::default()
            },
            ..SentinelConf::default()
        };
        for m in masters {
            if conf.masters.iter().all(|o| o.name != m.name) {
                conf.masters.push(m);
            }
        }
        // Reading config epochs raises the current epoch: a saved state has it at least as high.
        conf.current_epoch = conf.masters.iter().map(|m| m.config_epoch).fold(epoch, u64::max);
        let lines = rewrite_lines(&conf);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut back = SentinelConf::default();
        apply_all(&mut back, &refs).unwrap();
        prop_assert_eq!(back, conf);
    }
}
