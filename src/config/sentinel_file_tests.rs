//! Tests for sentinel.conf as a whole file: Sentinel mode from the command line, the held-back
//! `sentinel` lines, the server directives a Sentinel accepts, and CONFIG REWRITE of the file.

use super::tests::{args, files, Disk};
use super::*;
use crate::sentinel::config::KnownSentinel;

const ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// A sentinel.conf as people write it, with the per-master lines before the monitor line they
/// need and global lines last.
const SHUFFLED: &str = "# my sentinel
port 26400
sentinel down-after-milliseconds mymaster 5000
sentinel known-sentinel mymaster 127.0.0.1 26380 aaaa
# the master
sentinel monitor mymaster 127.0.0.1 6380 2
sentinel config-epoch mymaster 4
sentinel resolve-hostnames yes
sentinel monitor other redis.example 7000 1
sentinel myid 0123456789abcdef0123456789abcdef01234567
";

fn load_sentinel(text: &str, extra: &[&str]) -> Result<Config, String> {
    let mut a = vec!["s.conf"];
    a.extend_from_slice(extra);
    load(&args(&a), true, &files(&[("s.conf", text)]))
        .map(|(c, _)| c)
        .map_err(|e| e.0)
}

fn sentinel_of(c: &Config) -> &SentinelConf {
    c.sentinel
        .as_ref()
        .expect("Sentinel mode has a SentinelConf")
}

#[test]
fn sentinel_flag_anywhere_turns_sentinel_mode_on() {
    for a in [
        &["s.conf", "--sentinel"][..],
        &["s.conf", "--sentinel", "--loglevel", "verbose"],
        &["s.conf", "--loglevel", "verbose", "--sentinel"],
        &["--sentinel", "--loglevel", "verbose"],
    ] {
        let (c, _) = load(&args(a), false, &files(&[("s.conf", "")])).unwrap();
        assert!(c.sentinel_mode, "{a:?}");
        assert_eq!(c.sentinel.as_ref(), Some(&SentinelConf::default()));
        // Sentinel's own defaults: port 26379, reachable from everywhere.
        assert_eq!((c.port, c.protected_mode), (26379, false), "{a:?}");
        assert_eq!(c.loglevel == crate::config::LogLevel::Verbose, a.len() > 2);
    }
    let (c, _) = load(&args(&["s.conf"]), false, &files(&[("s.conf", "")])).unwrap();
    assert!(!c.sentinel_mode && c.sentinel.is_none());
    assert_eq!(c.port, 6379);
}

#[test]
fn sentinel_lines_can_come_in_any_order() {
    let c = load_sentinel(SHUFFLED, &[]).unwrap();
    let s = sentinel_of(&c);
    assert_eq!(c.port, 26400);
    assert_eq!(s.myid.as_deref(), Some(ID));
    assert_eq!(s.current_epoch, 4);
    // `resolve-hostnames yes` came after the monitor line that needs it.
    let names: Vec<&str> = s.masters.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["mymaster", "other"]);
    let m = &s.masters[0];
    assert_eq!((m.down_after_ms, m.config_epoch), (5000, 4));
    assert_eq!(m.known_sentinels[0].runid, "aaaa");
}

#[test]
fn a_bad_sentinel_line_is_reported_with_its_own_line_number() {
    let text = "port 26400\nsentinel monitor m 127.0.0.1 6379 2\nsentinel parallel-syncs x 2\n";
    let err = load_sentinel(text, &[]).unwrap_err();
    assert_eq!(
        err,
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.6) ***\nReading the configuration file, at line 3\n\
         >>> 'sentinel parallel-syncs x 2'\nNo such master with specified name."
    );
    let err = load_sentinel(
        "",
        &["--sentinel", "monitor", "m", "127.0.0.1", "6379", "0"],
    );
    assert!(err.unwrap_err().ends_with("\nQuorum must be 1 or greater."));
}

#[test]
fn a_sentinel_line_outside_sentinel_mode_is_a_fatal_error() {
    let text = "port 7000\nsentinel monitor m 127.0.0.1 6379 2\n";
    let err = load(&args(&["r.conf"]), false, &files(&[("r.conf", text)])).unwrap_err();
    assert!(err.0.ends_with(
        "at line 2\n>>> 'sentinel monitor m 127.0.0.1 6379 2'\nsentinel directive while not in sentinel mode"
    ));
    // A bare `sentinel` is ignored, as `--sentinel` turns into one.
    load(
        &args(&["r.conf"]),
        false,
        &files(&[("r.conf", "sentinel\n")]),
    )
    .unwrap();
}

#[test]
fn scripts_must_exist_and_be_executable() {
    let text = "sentinel monitor m 127.0.0.1 6379 2\nsentinel notification-script m /bin/n.sh\n\
                sentinel client-reconfig-script m /bin/r.sh\n";
    let mut disk: Disk = files(&[("s.conf", text)]);
    let err = load(&args(&["s.conf"]), true, &disk).unwrap_err().0;
    assert!(err.ends_with(
        "at line 2\n>>> 'sentinel notification-script m /bin/n.sh'\n\
         Notification script seems non existing or non executable."
    ));
    disk.executables.push("/bin/n.sh".into());
    let err = load(&args(&["s.conf"]), true, &disk).unwrap_err().0;
    assert!(err.ends_with("Client reconfiguration script seems non existing or non executable."));
    disk.executables.push("/bin/r.sh".into());
    let (c, _) = load(&args(&["s.conf"]), true, &disk).unwrap();
    let m = &sentinel_of(&c).masters[0];
    assert_eq!(m.notification_script.as_deref(), Some("/bin/n.sh"));
    assert_eq!(m.client_reconfig_script.as_deref(), Some("/bin/r.sh"));
}

#[test]
fn server_directives_common_in_sentinel_confs_load() {
    let text = "daemonize no\npidfile /var/run/redis-sentinel.pid\nlogfile \"\"\ndir /tmp\n\
                protected-mode no\nsave 60 1\nappendonly no\nreplicaof 127.0.0.1 6379\n\
                sentinel monitor m 127.0.0.1 6379 2\n";
    let c = load_sentinel(text, &[]).unwrap();
    assert_eq!(c.dir, "/tmp");
    assert_eq!(sentinel_of(&c).masters.len(), 1);
}

#[test]
fn apply_text_holds_sentinel_lines_back_in_sentinel_mode() {
    let mut c = Config::sentinel_defaults();
    apply_text(
        &mut c,
        "sentinel config-epoch m 3\nsentinel monitor m 10.0.0.1 6379 1\n",
    )
    .unwrap();
    assert_eq!(sentinel_of(&c).masters[0].config_epoch, 3);
    let err = apply_text(&mut c, "sentinel notification-script m /x.sh\n").unwrap_err();
    assert!(err
        .0
        .ends_with("Notification script seems non existing or non executable."));
}

#[test]
fn rewrite_replaces_sentinel_lines_in_place_and_keeps_the_rest() {
    let mut c = load_sentinel(SHUFFLED, &[]).unwrap();
    let s = c.sentinel.as_mut().unwrap();
    // What a running Sentinel learns: a failover moved the master, peers and replicas appeared.
    s.current_epoch = 5;
    let m = &mut s.masters[0];
    (m.host, m.port, m.config_epoch) = ("127.0.0.1".into(), 6381, 5);
    m.known_replicas.push(("127.0.0.1".into(), 6380));
    m.known_sentinels.push(KnownSentinel {
        host: "127.0.0.1".into(),
        port: 26381,
        runid: "bbbb".into(),
    });
    s.masters.pop();
    let text = rewrite(Some(SHUFFLED), &c);
    assert_eq!(
        text,
        "# my sentinel
port 26400
sentinel down-after-milliseconds mymaster 5000
sentinel known-sentinel mymaster 127.0.0.1 26380 aaaa
# the master
sentinel monitor mymaster 127.0.0.1 6381 2
sentinel config-epoch mymaster 5
sentinel resolve-hostnames yes
sentinel myid 0123456789abcdef0123456789abcdef01234567
# Generated by CONFIG REWRITE
protected-mode no
sentinel leader-epoch mymaster 0
sentinel known-replica mymaster 127.0.0.1 6380
sentinel known-sentinel mymaster 127.0.0.1 26381 bbbb
sentinel current-epoch 5
"
    );
    let (back, _) = load(&args(&["s.conf"]), true, &files(&[("s.conf", &text)])).unwrap();
    assert_eq!(back.sentinel, c.sentinel);
    // Nothing changed: the file stays as it is.
    assert_eq!(rewrite(Some(&text), &back), text);
}

#[test]
fn old_known_slave_lines_become_known_replica_lines() {
    let text = "sentinel monitor m 127.0.0.1 6379 2\nsentinel known-slave m 127.0.0.1 6380\n\
                sentinel known-slave m 127.0.0.1 6381\n";
    let mut c = load_sentinel(text, &[]).unwrap();
    let m = &mut c.sentinel.as_mut().unwrap().masters[0];
    m.known_replicas.remove(0);
    let out = rewrite(Some(text), &c);
    let kept: Vec<&str> = out.lines().filter(|l| l.contains("known")).collect();
    assert_eq!(kept, ["sentinel known-replica m 127.0.0.1 6381"]);
}

#[test]
fn a_sentinel_rewrite_writes_its_port_and_no_save_points() {
    let text = "save 60 1\nsentinel monitor m 127.0.0.1 6379 2\n";
    let mut c = load_sentinel(text, &[]).unwrap();
    c.sentinel.as_mut().unwrap().myid = Some(ID.into());
    let out = rewrite(Some(text), &c);
    assert_eq!(
        out,
        format!(
            "sentinel monitor m 127.0.0.1 6379 2\n# Generated by CONFIG REWRITE\nport 26379\n\
             protected-mode no\nsentinel myid {ID}\nsentinel config-epoch m 0\n\
             sentinel leader-epoch m 0\nsentinel current-epoch 0\n"
        )
    );
    // Every master removed: its lines go.
    c.sentinel.as_mut().unwrap().masters.clear();
    let out = rewrite(Some(text), &c);
    assert!(!out.contains("monitor") && out.contains("sentinel current-epoch 0"));
}
