//! What a client sees from a Sentinel given bad input: wrong arity, non-numeric and out-of-range
//! arguments to SENTINEL subcommands, malformed hellos sent with PUBLISH. Every answer is Redis'
//! error (or Redis' silence), and nothing is changed by a refused command.

use crate::core::testing::{arr, bulk, err, int, ok, TestServer};
use crate::resp::Frame;

const PEER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn arity(sub: &str) -> Frame {
    err(&format!(
        "ERR wrong number of arguments for 'sentinel|{sub}' command"
    ))
}

/// `field` of SENTINEL MASTER mymaster.
fn master_field(t: &mut TestServer, field: &str) -> String {
    let Frame::Array(items) = t.cmd(&["SENTINEL", "MASTER", "mymaster"]) else {
        panic!("SENTINEL MASTER did not answer an array");
    };
    let text = |f: &Frame| match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk: {other:?}"),
    };
    let pos = items.iter().position(|f| text(f) == field);
    text(&items[pos.expect("field present") + 1])
}

fn count(t: &mut TestServer, sub: &str) -> usize {
    match t.cmd(&["SENTINEL", sub, "mymaster"]) {
        Frame::Array(items) => items.len(),
        other => panic!("SENTINEL {sub}: {other:?}"),
    }
}

#[test]
fn subcommands_with_too_few_or_too_many_arguments_get_redis_arity_errors() {
    let mut t = TestServer::sentinel();
    for (args, sub) in [
        (&["SENTINEL", "SET", "mymaster"][..], "set"),
        (&["SENTINEL", "SET", "mymaster", "quorum"], "set"),
        (&["SENTINEL", "INFO-CACHE"], "info-cache"),
        (&["SENTINEL", "SIMULATE-FAILURE"], "simulate-failure"),
        (
            &["SENTINEL", "MONITOR", "m", "127.0.0.1", "6390"],
            "monitor",
        ),
        (
            &["SENTINEL", "MONITOR", "m", "127.0.0.1", "6390", "2", "x"],
            "monitor",
        ),
        (
            &[
                "SENTINEL",
                "IS-MASTER-DOWN-BY-ADDR",
                "127.0.0.1",
                "6379",
                "0",
            ],
            "is-master-down-by-addr",
        ),
        (&["SENTINEL", "RESET"], "reset"),
        (&["SENTINEL", "CONFIG", "SET"], "config"),
        (&["SENTINEL", "MASTERS", "x"], "masters"),
    ] {
        assert_eq!(t.cmd(args), arity(sub), "{args:?}");
    }
    assert_eq!(
        t.cmd(&["SENTINEL"]),
        err("ERR wrong number of arguments for 'sentinel' command")
    );
    assert_eq!(master_field(&mut t, "quorum"), "2");
}

#[test]
fn monitor_checks_quorum_port_and_address_like_redis_and_accepts_port_zero() {
    let mut t = TestServer::sentinel();
    for (args, e) in [
        (["m", "127.0.0.1", "abc", "2"], "ERR Invalid port"),
        (["m", "127.0.0.1", "6390", "abc"], "ERR Invalid quorum"),
        (
            ["m", "127.0.0.1", "6390", "0"],
            "ERR Quorum must be 1 or greater.",
        ),
        (
            ["m", "127.0.0.1", "6390", "-1"],
            "ERR Quorum must be 1 or greater.",
        ),
        (["m", "127.0.0.1", "70000", "2"], "ERR Invalid port number."),
        (["m", "127.0.0.1", "-5", "2"], "ERR Invalid port number."),
        (
            ["m", "127.0.0.1", "99999999999999999999", "2"],
            "ERR Invalid port",
        ),
        (
            ["m", "not-an-ip", "6390", "2"],
            "ERR Invalid IP address or hostname specified",
        ),
        (
            ["mymaster", "127.0.0.1", "6390", "2"],
            "ERR Duplicate master name.",
        ),
    ] {
        let cmd = [&["SENTINEL", "MONITOR"][..], &args].concat();
        assert_eq!(t.cmd(&cmd), err(e), "{args:?}");
    }
    assert!(matches!(t.cmd(&["SENTINEL", "MASTERS"]), Frame::Array(m) if m.len() == 1));
    // Port 0 is a valid address to Redis; it is simply never dialled.
    assert_eq!(
        t.cmd(&["SENTINEL", "MONITOR", "m0", "127.0.0.1", "0", "1"]),
        ok()
    );
    assert_eq!(
        t.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m0"]),
        arr(&["127.0.0.1", "0"])
    );
    t.advance_ms(3000);
    let dialled_zero = t
        .other_actions
        .iter()
        .any(|a| matches!(a, crate::core::Action::Connect { port: 0, .. }));
    assert!(!dialled_zero, "port 0 was dialled");
}

#[test]
fn is_master_down_by_addr_refuses_non_numbers_and_answers_for_unknown_masters() {
    let mut t = TestServer::sentinel();
    let not_int = err("ERR value is not an integer or out of range");
    for args in [
        ["127.0.0.1", "x", "0", "*"],
        ["10.0.0.1", "6379", "x", "*"],
        ["10.0.0.1", "6379", "99999999999999999999", "*"],
        ["10.0.0.1", "6379", "1.5", PEER],
    ] {
        let cmd = [&["SENTINEL", "IS-MASTER-DOWN-BY-ADDR"][..], &args].concat();
        assert_eq!(t.cmd(&cmd), not_int, "{args:?}");
    }
    // An unknown address, or a negative epoch (which Redis would take as a huge unsigned one):
    // no opinion and no vote.
    let no_vote = Frame::Array(vec![int(0), bulk("*"), int(0)]);
    for args in [
        ["10.9.9.9", "6379", "5", PEER],
        ["10.0.0.1", "-1", "5", PEER],
        ["10.0.0.1", "6379", "-1", PEER],
    ] {
        let cmd = [&["SENTINEL", "IS-MASTER-DOWN-BY-ADDR"][..], &args].concat();
        assert_eq!(t.cmd(&cmd), no_vote, "{args:?}");
    }
    // A real request still gets a vote.
    let vote = [
        "SENTINEL",
        "IS-MASTER-DOWN-BY-ADDR",
        "10.0.0.1",
        "6379",
        "5",
        PEER,
    ];
    assert_eq!(t.cmd(&vote), Frame::Array(vec![int(0), bulk(PEER), int(5)]));
}

#[test]
fn sentinel_set_refuses_bad_values_and_keeps_and_saves_what_came_before_the_error() {
    let mut t = TestServer::sentinel();
    let set = |opt: &str, v: &str| -> Vec<String> {
        ["SENTINEL", "SET", "mymaster", opt, v]
            .map(String::from)
            .to_vec()
    };
    for (opt, v) in [
        ("quorum", "abc"),
        ("quorum", "0"),
        ("quorum", "-1"),
        ("down-after-milliseconds", "x"),
        ("down-after-milliseconds", "0"),
        ("failover-timeout", "99999999999999999999"),
        ("parallel-syncs", "1.5"),
        ("master-reboot-down-after-period", "-1"),
    ] {
        let args = set(opt, v);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = format!("ERR Invalid argument '{v}' for SENTINEL SET '{opt}'");
        assert_eq!(t.cmd(&args), err(&e), "{opt} {v}");
    }
    assert_eq!(
        t.cmd(&["SENTINEL", "SET", "mymaster", "No-Such", "1"]),
        err("ERR Unknown option or number of arguments for SENTINEL SET 'No-Such'")
    );
    assert_eq!(
        t.cmd(&["SENTINEL", "SET", "mymaster", "rename-command", "CONFIG"]),
        err("ERR Unknown option or number of arguments for SENTINEL SET 'rename-command'")
    );
    assert_eq!(
        t.cmd(&["SENTINEL", "SET", "nosuch", "quorum", "2"]),
        err("ERR No such master with that name")
    );
    assert_eq!(master_field(&mut t, "quorum"), "2");
    assert!(t.disk.file("/sentinel.conf").is_none(), "nothing to save");

    // quorum 3 is applied, then the unknown option stops the command: the change is saved.
    let args = ["SENTINEL", "SET", "mymaster", "quorum", "3", "bogus", "1"];
    assert_eq!(
        t.cmd(&args),
        err("ERR Unknown option or number of arguments for SENTINEL SET 'bogus'")
    );
    assert_eq!(master_field(&mut t, "quorum"), "3");
    let conf = String::from_utf8(t.disk.file("/sentinel.conf").expect("saved")).unwrap();
    assert!(
        conf.contains("sentinel monitor mymaster 10.0.0.1 6379 3"),
        "{conf}"
    );
}

#[test]
fn sentinel_debug_and_config_set_name_the_bad_argument_as_typed() {
    let mut t = TestServer::sentinel();
    for (args, e) in [
        (&["SENTINEL", "DEBUG", "No-Such", "1"][..], "ERR Unknown option or number of arguments for SENTINEL DEBUG 'No-Such'"),
        (&["SENTINEL", "DEBUG", "PING-PERIOD", "x"], "ERR Invalid argument 'x' for SENTINEL DEBUG 'PING-PERIOD'"),
        (&["SENTINEL", "DEBUG", "ping-period", "0"], "ERR Invalid argument '0' for SENTINEL DEBUG 'ping-period'"),
        (&["SENTINEL", "DEBUG", "info-period", "100", "ping-period"], "ERR Unknown option or number of arguments for SENTINEL DEBUG 'ping-period'"),
        (&["SENTINEL", "CONFIG", "SET", "announce-port", "x"], "ERR Invalid value 'x' to SENTINEL CONFIG SET 'announce-port'"),
        (&["SENTINEL", "CONFIG", "SET", "announce-port", "70000"], "ERR Invalid value '70000' to SENTINEL CONFIG SET 'announce-port'"),
        (&["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"], "ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'"),
        (&["SENTINEL", "CONFIG", "SET", "no-such", "1"], "ERR Invalid argument 'no-such' to SENTINEL CONFIG SET"),
        (&["SENTINEL", "CONFIG", "SET", "announce-ip", "1.2.3.4", "announce-port"], "ERR Missing argument 'announce-port' value"),
        (&["SENTINEL", "CONFIG", "SET", "announce-port", "1", "announce-port", "2"], "ERR Duplicate argument 'announce-port' to SENTINEL CONFIG SET"),
        (&["SENTINEL", "CONFIG", "FOO", "bar"], "ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...]/ SET <param> <value> [<param> <value> ...] are supported."),
    ] {
        assert_eq!(t.cmd(args), err(e), "{args:?}");
    }
    let debug = t.cmd(&["SENTINEL", "DEBUG"]);
    let Frame::Array(items) = debug else {
        panic!("SENTINEL DEBUG: {debug:?}")
    };
    assert_eq!(items[..2], [bulk("INFO-PERIOD"), bulk("10000")]);
    assert_eq!(
        t.cmd(&["SENTINEL", "CONFIG", "GET", "announce-*"]),
        arr(&[
            "announce-hostnames",
            "no",
            "announce-ip",
            "",
            "announce-port",
            "0"
        ])
    );
}

#[test]
fn malformed_hellos_published_to_a_sentinel_are_ignored_and_a_valid_one_is_learned() {
    let mut t = TestServer::sentinel();
    assert_eq!(
        t.cmd(&["PUBLISH", "news", "hello"]),
        err("ERR Only HELLO messages are accepted by Sentinel instances.")
    );
    let hello = |ip: &str, port: &str, epoch: &str, mip: &str, mport: &str| {
        format!("{ip},{port},{PEER},{epoch},mymaster,{mip},{mport},1")
    };
    let ignored = [
        String::new(),
        ",,,,,,,".into(),
        "a,b,c".into(),
        hello("10.0.0.9", "26379", "1", "10.0.0.1", "6379") + ",extra",
        hello("10.0.0.9", "x", "1", "10.0.0.1", "6379"),
        hello("10.0.0.9", "70000", "1", "10.0.0.1", "6379"),
        hello("10.0.0.9", "26379", "-1", "10.0.0.1", "6379"),
        hello("10.0.0.9", "26379", "1", "10.0.0.1", "x"),
        hello(
            "10.0.0.9",
            "26379",
            "99999999999999999999",
            "10.0.0.1",
            "6379",
        ),
        format!("10.0.0.9,26379,{PEER},1,nosuch,10.0.0.1,6379,1"),
        "10.0.0.9,26379,short-id,1,mymaster,10.0.0.1,6379,1".into(),
        format!(
            "10.0.0.9,26379,{},1,mymaster,10.0.0.1,6379,1",
            "a".repeat(40)
        ),
        "\u{fffd}\u{fffd}".repeat(1000),
    ];
    for h in &ignored {
        assert_eq!(
            t.cmd(&["PUBLISH", "__sentinel__:hello", h]),
            int(1),
            "{h:?}"
        );
    }
    assert_eq!(count(&mut t, "SENTINELS"), 0);
    assert_eq!(master_field(&mut t, "config-epoch"), "0");

    // Not an IP address (resolve-hostnames is off): the peer is not added, nor its master
    // address taken, but its epoch is, as in Redis.
    let bad_ip = hello("not-an-ip", "26379", "4", "10.0.0.2", "6380");
    assert_eq!(t.cmd(&["PUBLISH", "__sentinel__:hello", &bad_ip]), int(1));
    assert_eq!(count(&mut t, "SENTINELS"), 0);
    assert!(t.logs().contains(&"Failed to resolve hostname 'not-an-ip'"));
    // Config changes are saved at the end of the timer tick.
    t.advance_ms(200);
    let conf = String::from_utf8(t.disk.file("/sentinel.conf").expect("saved")).unwrap();
    assert!(conf.contains("sentinel current-epoch 4\n"), "{conf}");
    assert_eq!(
        t.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
        arr(&["10.0.0.1", "6379"])
    );
    let bad_master = hello("10.0.0.9", "26379", "5", "not-an-ip", "6380");
    assert_eq!(
        t.cmd(&["PUBLISH", "__sentinel__:hello", &bad_master]),
        int(1)
    );
    assert_eq!(count(&mut t, "SENTINELS"), 1);
    assert_eq!(
        t.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
        arr(&["10.0.0.1", "6379"])
    );

    // A well-formed hello with a newer configuration moves the master.
    let good = format!("10.0.0.9,26379,{PEER},6,mymaster,10.0.0.2,6380,2");
    assert_eq!(t.cmd(&["PUBLISH", "__sentinel__:hello", &good]), int(1));
    assert_eq!(
        t.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
        arr(&["10.0.0.2", "6380"])
    );
    assert_eq!(master_field(&mut t, "config-epoch"), "2");
    let info = t.cmd(&["INFO", "sentinel"]);
    let Frame::Bulk(info) = info else {
        panic!("INFO: {info:?}")
    };
    assert!(String::from_utf8_lossy(&info).contains("address=10.0.0.2:6380,slaves=1,sentinels=2"));
}

#[test]
fn a_sentinel_logs_with_role_x_and_info_shows_its_randomised_hz() {
    let mut t = TestServer::sentinel();
    let roles: Vec<char> = t
        .other_actions
        .iter()
        .filter_map(|a| match a {
            crate::core::Action::Log { role, .. } => Some(*role),
            _ => None,
        })
        .collect();
    assert!(
        !roles.is_empty() && roles.iter().all(|r| *r == 'X'),
        "{roles:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        t.advance_ms(100);
        let Frame::Bulk(info) = t.cmd(&["INFO", "server"]) else {
            panic!("INFO server is a bulk reply");
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let hz = info.lines().find_map(|l| l.strip_prefix("hz:"));
        seen.insert(hz.expect("hz line").parse::<u64>().expect("a number"));
        assert!(info.contains("configured_hz:10\r\n"));
    }
    assert!(seen.iter().all(|hz| (10..20).contains(hz)), "{seen:?}");
    assert!(seen.len() > 1, "hz never changed: {seen:?}");
}

#[test]
fn sentinel_help_lists_every_subcommand_in_redis_words() {
    let mut t = TestServer::sentinel();
    let Frame::Array(lines) = t.cmd(&["SENTINEL", "HELP"]) else {
        panic!("SENTINEL HELP is an array");
    };
    let simple = |s: &str| Frame::Simple(s.into());
    assert_eq!(lines.len(), 49);
    assert_eq!(
        lines[0],
        simple("SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    assert_eq!(lines[1], simple("CKQUORUM <master-name>"));
    assert_eq!(lines[46], simple("    Simulate a Sentinel crash."));
    assert_eq!(
        lines[47..],
        [simple("HELP"), simple("    Print this help.")]
    );
    assert_eq!(t.cmd(&["SENTINEL", "HELP", "x"]), arity("help"));
}

#[test]
fn names_and_passwords_with_spaces_quotes_and_newlines_are_saved_so_they_load_back() {
    let mut t = TestServer::sentinel();
    let name = "my \"odd\"\nmaster";
    let pass = "p a\\ss'\r";
    assert_eq!(
        t.cmd(&["SENTINEL", "MONITOR", name, "10.0.0.3", "6379", "1"]),
        ok()
    );
    assert_eq!(t.cmd(&["SENTINEL", "SET", name, "auth-pass", pass]), ok());
    let text = String::from_utf8(t.disk.file("/sentinel.conf").expect("saved")).unwrap();
    let mut back = crate::config::Config::sentinel_defaults();
    crate::config::file::apply_text(&mut back, &text).expect("the saved file loads");
    let conf = back.sentinel.expect("sentinel conf");
    let m = conf
        .masters
        .iter()
        .find(|m| m.name == name)
        .expect("master");
    assert_eq!(
        (m.host.as_str(), m.auth_pass.as_deref()),
        ("10.0.0.3", Some(pass))
    );
}

#[test]
fn monitor_and_rename_command_stop_at_what_a_config_file_may_list() {
    use crate::sentinel::config::{MAX_MASTERS, MAX_PER_MASTER};
    let mut t = TestServer::sentinel();
    let sn = t.server.sentinel.as_mut().expect("sentinel mode");
    for i in 1..MAX_MASTERS {
        let name = format!("m{i}");
        let m = crate::sentinel::instance::Master::new(&name, "10.0.0.4", 6379, 1, 0);
        sn.masters.insert(name, Box::new(m));
    }
    let e = format!("ERR Too many masters monitored (at most {MAX_MASTERS}).");
    let monitor = ["SENTINEL", "MONITOR", "one-more", "10.0.0.5", "6379", "1"];
    assert_eq!(t.cmd(&monitor), err(&e));
    assert_eq!(t.cmd(&["SENTINEL", "REMOVE", "m1"]), ok());
    assert_eq!(t.cmd(&monitor), ok());

    let names: Vec<String> = (0..MAX_PER_MASTER).map(|i| format!("cmd{i}")).collect();
    let mut args = vec!["SENTINEL", "SET", "mymaster"];
    for n in &names {
        args.extend(["rename-command", n.as_str(), "x"]);
    }
    assert_eq!(t.cmd(&args), ok());
    let e = format!("ERR Too many renamed commands for one master (at most {MAX_PER_MASTER}).");
    let set = ["SENTINEL", "SET", "mymaster", "rename-command"];
    assert_eq!(t.cmd(&[&set[..], &["one-more", "y"]].concat()), err(&e));
    let again = [&set[..], &["CMD7", "y"]].concat();
    assert_eq!(t.cmd(&again), ok(), "renaming a renamed command again");
}

#[test]
fn command_list_and_docs_show_only_sentinel_mode_commands() {
    let mut t = TestServer::sentinel();
    let Frame::Array(names) = t.cmd(&["command", "list"]) else {
        panic!()
    };
    for name in [
        "ping",
        "info",
        "subscribe",
        "client|setinfo",
        "sentinel|masters",
    ] {
        assert!(names.contains(&bulk(name)), "{name}");
    }
    for name in ["save", "blpop", "replicaof", "client|no-touch"] {
        assert!(!names.contains(&bulk(name)), "{name}");
        assert_eq!(t.cmd(&["command", "docs", name]), arr(&[]));
    }
    assert_ne!(t.cmd(&["command", "docs", "client|setinfo"]), arr(&[]));
    assert_eq!(
        t.cmd(&["client", "no-touch", "on"]),
        err("ERR unknown subcommand 'no-touch'. Try CLIENT HELP.")
    );
}

#[test]
fn a_sentinel_just_learnt_from_a_hello_shows_every_field_before_its_link_connects() {
    let mut t = TestServer::sentinel();
    let hello = format!("10.0.0.9,26379,{PEER},0,mymaster,10.0.0.1,6379,0");
    assert_eq!(t.cmd(&["PUBLISH", "__sentinel__:hello", &hello]), int(1));
    let Frame::Array(entries) = t.cmd(&["SENTINEL", "SENTINELS", "mymaster"]) else {
        panic!("SENTINEL SENTINELS did not answer an array");
    };
    let Some(Frame::Array(fields)) = entries.first() else {
        panic!("no Sentinel: {entries:?}");
    };
    let names: Vec<&Frame> = fields.iter().step_by(2).collect();
    assert_eq!(names.first(), Some(&&bulk("name")), "{fields:?}");
    assert!(names.contains(&&bulk("last-hello-message")), "{fields:?}");
    assert!(
        fields.contains(&bulk("sentinel,disconnected")),
        "{fields:?}"
    );
}
