//! redsim-server as a process: SIGTERM saves the dataset when save points exist (as Redis does)
//! and the next start loads it.

mod support;

use support::real_redis::{Conn, Reply};
use support::Server;

#[test]
fn sigterm_saves_when_save_points_exist_and_the_restart_loads_it() {
    let dir = support::real_redis::TempDir::new("sigterm");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let s = Server::start(&["--dir", &dir_arg]);
    let mut c = Conn::connect(s.port);
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    s.terminate();
    assert!(dir.0.join("dump.rdb").exists(), "SIGTERM wrote dump.rdb");
    let s = Server::start(&["--dir", &dir_arg]);
    let mut c = Conn::wait_ready(s.port, String::new);
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(Some(b"v".to_vec())));
}

#[test]
fn sigterm_without_save_points_exits_without_saving() {
    let dir = support::real_redis::TempDir::new("sigterm-nosave");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let s = Server::start(&["--dir", &dir_arg, "--save", ""]);
    let mut c = Conn::connect(s.port);
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    s.terminate();
    assert!(!dir.0.join("dump.rdb").exists());
}
