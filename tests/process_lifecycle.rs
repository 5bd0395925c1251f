//! redsim-server as a process: SIGTERM saves the dataset when save points exist (as Redis does)
//! and the next start loads it; without save points it exits without saving. The stories run one
//! after the other so their processes never overlap.

mod support;

use support::real_redis::{Conn, Reply, TempDir};
use support::Server;

/// Starts redsim-server with `args` and returns it with a connection that answered PING.
fn start(args: &[&str]) -> (Server, Conn) {
    let s = Server::start(args);
    let c = Conn::wait_ready(s.port, || "redsim-server".into());
    (s, c)
}

#[test]
fn sigterm_saves_only_when_save_points_exist() {
    let dir = TempDir::new("sigterm");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let (s, mut c) = start(&["--dir", &dir_arg]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    s.terminate();
    assert!(dir.0.join("dump.rdb").exists(), "SIGTERM wrote dump.rdb");
    let (_s, mut c) = start(&["--dir", &dir_arg]);
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(Some(b"v".to_vec())));

    let dir = TempDir::new("sigterm-nosave");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let (s, mut c) = start(&["--dir", &dir_arg, "--save", ""]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    s.terminate();
    assert!(
        !dir.0.join("dump.rdb").exists(),
        "no save points, no dump.rdb"
    );
}
