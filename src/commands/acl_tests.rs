//! ACL as a client sees it: users created with ACL SETUSER log in with AUTH or HELLO, run what
//! their rules allow and get Redis' NOPERM errors for the rest.

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::Frame;

fn setuser(t: &mut TestServer, rules: &[&str]) {
    let mut args = vec!["acl", "setuser"];
    args.extend(rules);
    assert_eq!(t.cmd(&args), ok());
}

#[test]
fn a_user_logs_in_and_runs_only_what_its_rules_allow() {
    let mut t = TestServer::new();
    setuser(
        &mut t,
        &["alice", "on", ">secret", "~app:*", "+get", "+set"],
    );
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["auth", "alice", "wrong"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(t.cmd_as(2, &["auth", "alice", "secret"]), ok());
    assert_eq!(
        t.cmd_as(2, &["acl", "whoami"]),
        err("NOPERM User alice has no permissions to run the 'acl|whoami' command")
    );
    assert_eq!(t.cmd_as(2, &["set", "app:1", "v"]), ok());
    assert_eq!(t.cmd_as(2, &["get", "app:1"]), bulk("v"));
    assert_eq!(
        t.cmd_as(2, &["get", "other"]),
        err("NOPERM No permissions to access a key")
    );
    assert_eq!(
        t.cmd_as(2, &["incr", "app:1"]),
        err("NOPERM User alice has no permissions to run the 'incr' command")
    );
    assert_eq!(t.cmd(&["acl", "whoami"]), bulk("default"));
}

#[test]
fn getuser_and_list_describe_users_as_redis_does() {
    let mut t = TestServer::new();
    setuser(
        &mut t,
        &[
            "bob",
            "on",
            "nopass",
            "+@all",
            "-@dangerous",
            "%R~r*",
            "&news",
        ],
    );
    assert_eq!(
        t.cmd(&["acl", "list"]),
        arr(&[
            "user bob on nopass sanitize-payload %R~r* resetchannels &news +@all -@dangerous",
            "user default on nopass sanitize-payload ~* &* +@all",
        ])
    );
    let Frame::Array(fields) = t.cmd(&["acl", "getuser", "bob"]) else {
        panic!("not a map")
    };
    assert_eq!(fields[5], bulk("+@all -@dangerous"));
    assert_eq!(t.cmd(&["acl", "getuser", "nobody"]), Frame::Null);
    assert_eq!(t.cmd(&["acl", "users"]), arr(&["bob", "default"]));
}

#[test]
fn bad_rules_change_nothing_and_say_which_rule_failed() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["acl", "setuser", "carol", "on", "+nosuchcommand"]),
        err("ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL")
    );
    assert_eq!(t.cmd(&["acl", "getuser", "carol"]), Frame::Null);
    assert_eq!(
        t.cmd(&["acl", "setuser", "carol", "~*", "~more"]),
        err("ERR Error in ACL SETUSER modifier '~more': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    );
    assert_eq!(
        t.cmd(&["acl", "setuser", "carol", "(~x", "+get"]),
        err("ERR Unmatched parenthesis in acl selector starting at '(~x'.")
    );
    assert_eq!(
        t.cmd(&["acl", "deluser", "default"]),
        err("ERR The 'default' user cannot be removed")
    );
}

#[test]
fn deleting_a_user_disconnects_its_clients() {
    let mut t = TestServer::new();
    setuser(&mut t, &["dave", "on", ">pw", "+@all", "~*"]);
    t.connect(2);
    assert_eq!(t.cmd_as(2, &["auth", "dave", "pw"]), ok());
    assert_eq!(t.cmd(&["acl", "deluser", "dave", "nobody"]), int(1));
    assert!(t.closed(2));
}

#[test]
fn requirepass_is_the_default_users_password() {
    let config = Config {
        requirepass: Some("foo".into()),
        ..Config::default()
    };
    let mut t = TestServer::with_config(config);
    assert_eq!(t.cmd(&["auth", "default", "foo"]), ok());
    assert_eq!(t.cmd(&["config", "set", "requirepass", "bar"]), ok());
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["ping"]),
        err("NOAUTH Authentication required.")
    );
    assert_eq!(t.cmd_as(2, &["auth", "bar"]), ok());
}

#[test]
fn dryrun_names_the_key_and_log_records_refusals() {
    let mut t = TestServer::new();
    setuser(&mut t, &["erin", "on", "nopass", "+@all", "%W~w*"]);
    assert_eq!(
        t.cmd(&["acl", "dryrun", "erin", "lpush", "wlist", "1"]),
        ok()
    );
    assert_eq!(
        t.cmd(&["acl", "dryrun", "erin", "get", "wkey"]),
        bulk("User erin has no permissions to access the 'wkey' key")
    );
    t.connect(2);
    t.cmd_as(2, &["auth", "erin", "x"]);
    t.cmd_as(2, &["get", "wkey"]);
    let Frame::Array(entries) = t.cmd(&["acl", "log"]) else {
        panic!("not an array")
    };
    assert_eq!(entries.len(), 1);
    assert_eq!(t.cmd(&["acl", "log", "reset"]), ok());
    assert_eq!(t.cmd(&["acl", "log"]), Frame::Array(vec![]));
}

#[test]
fn acl_cat_lists_categories_and_their_commands() {
    let mut t = TestServer::new();
    let Frame::Array(cats) = t.cmd(&["acl", "cat"]) else {
        panic!("not an array")
    };
    assert_eq!(cats.len(), 21);
    let Frame::Array(cmds) = t.cmd(&["acl", "cat", "transaction"]) else {
        panic!("not an array")
    };
    assert!(cmds.contains(&bulk("multi")));
    assert_eq!(
        t.cmd(&["acl", "cat", "nope"]),
        err("ERR Unknown category 'nope'")
    );
}
