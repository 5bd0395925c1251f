//! A Sentinel's own users (ACL SETUSER, AUTH as a user) and host names: with
//! `resolve-hostnames yes` the driver resolves them, and `announce-hostnames` picks whether
//! the name or its address is shown.

use crate::core::testing::*;
use crate::core::Action;

#[test]
fn a_sentinel_shows_a_resolved_address_unless_it_announces_host_names() {
    let mut t = TestServer::sentinel();
    let set = |t: &mut TestServer, k: &str, v: &str| t.cmd(&["SENTINEL", "CONFIG", "SET", k, v]);
    assert_eq!(set(&mut t, "resolve-hostnames", "yes"), ok());
    assert_eq!(set(&mut t, "announce-hostnames", "yes"), ok());
    let monitor = ["SENTINEL", "MONITOR", "named", "localhost", "7000", "1"];
    assert_eq!(t.cmd(&monitor), ok());
    t.advance_ms(200);
    let asked = t
        .other_actions
        .iter()
        .any(|a| matches!(a, Action::Resolve { host } if host == "localhost"));
    assert!(asked, "the driver was asked to resolve localhost");
    t.server
        .handle_resolved("localhost", Some([127, 0, 0, 1].into()));
    let addr = ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "named"];
    assert_eq!(t.cmd(&addr), arr(&["localhost", "7000"]));
    assert_eq!(set(&mut t, "announce-hostnames", "no"), ok());
    assert_eq!(t.cmd(&addr), arr(&["127.0.0.1", "7000"]));
}

#[test]
fn a_sentinel_has_users_of_its_own() {
    let mut t = TestServer::sentinel();
    assert_eq!(
        t.cmd(&["ACL", "SETUSER", "ops", "on", ">pw", "+@all"]),
        ok()
    );
    assert_eq!(t.cmd(&["ACL", "SETUSER", "default", "off"]), ok());
    t.connect(2);
    assert_eq!(
        t.cmd_as(2, &["PING"]),
        err("NOAUTH Authentication required.")
    );
    assert_eq!(t.cmd_as(2, &["AUTH", "ops", "pw"]), ok());
    assert_eq!(t.cmd_as(2, &["ACL", "WHOAMI"]), bulk("ops"));
    assert_eq!(t.cmd(&["SENTINEL", "FLUSHCONFIG"]), ok());
    let conf = String::from_utf8(t.disk.file("/sentinel.conf").expect("written")).unwrap();
    assert!(conf.contains("user ops on sanitize-payload #"), "{conf}");
}
