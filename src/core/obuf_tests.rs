//! Output buffer limits as a user sees them: who is cut off, when, with which log line, and
//! what CLIENT LIST shows meanwhile.

use crate::core::testing::{ok, TestServer};
use crate::core::Action;
use crate::resp::Frame;

fn limit(t: &mut TestServer, class_limits: &str) {
    let mut args = vec!["config", "set", "client-output-buffer-limit"];
    args.push(class_limits);
    assert_eq!(t.cmd(&args), ok());
}

fn cut_off(t: &TestServer, id: u64) -> bool {
    t.closed(id)
        && t.other_actions
            .iter()
            .any(|a| *a == Action::CloseNow { conn: id })
}

/// Client 2 subscribes to `foo` and stops reading; client 1 publishes `messages` of 1 KB
/// (fewer if client 2 is cut off first); returns how many it published.
fn stalled_subscriber(t: &mut TestServer, messages: usize) -> usize {
    t.connect(2);
    t.cmd_as(2, &["subscribe", "foo"]);
    t.stalled.insert(2);
    let message = "x".repeat(1000);
    let mut published = 0;
    while !t.closed(2) && published < messages {
        t.cmd(&["publish", "foo", &message]);
        published += 1;
    }
    published
}

fn over_limit_logged(t: &TestServer) -> bool {
    t.logs()
        .iter()
        .any(|l| l.ends_with("for overcoming of output buffer limits."))
}

#[test]
fn a_subscriber_that_stops_reading_is_cut_at_the_pubsub_hard_limit() {
    let mut t = TestServer::new();
    limit(&mut t, "pubsub 100000 0 0");
    let published = stalled_subscriber(&mut t, 1000);
    assert!(cut_off(&t, 2), "still attached after {published} messages");
    // The fifth 20,504-byte block passes 100,000: beyond the 16 KB static buffer that is
    // about 98 KB of ~1,030-byte messages.
    assert!((90..100).contains(&published), "cut after {published}");
    assert!(over_limit_logged(&t));
}

#[test]
fn a_subscriber_that_reads_is_never_cut() {
    let mut t = TestServer::new();
    limit(&mut t, "pubsub 100000 0 0");
    t.connect(2);
    t.cmd_as(2, &["subscribe", "foo"]);
    let message = "x".repeat(1000);
    for _ in 0..500 {
        t.cmd(&["publish", "foo", &message]);
    }
    assert!(!t.closed(2));
}

#[test]
fn the_soft_limit_cuts_only_after_its_seconds_even_without_traffic() {
    let mut t = TestServer::new();
    limit(&mut t, "pubsub 0 100000 3");
    stalled_subscriber(&mut t, 200);
    assert!(!t.closed(2), "over the soft limit, but not for 3 s yet");
    t.advance_ms(3000);
    assert!(!t.closed(2), "3 s is not more than 3 s");
    for _ in 0..11 {
        t.advance_ms(100);
    }
    assert!(cut_off(&t, 2));
    assert!(t
        .logs()
        .iter()
        .any(|l| l.contains(" closed for overcoming")));
}

#[test]
fn a_reply_over_the_normal_limit_is_never_sent() {
    let mut t = TestServer::new();
    limit(&mut t, "normal 100000 0 0");
    let item = "x".repeat(1000);
    for _ in 0..150 {
        t.cmd(&["rpush", "mylist", &item]);
    }
    t.connect(2);
    t.send_raw(
        2,
        &crate::resp::encode_command(&["lrange", "mylist", "0", "-1"]),
    );
    assert!(cut_off(&t, 2));
    assert!(t.take_output(2).is_empty(), "nothing of the reply went out");
}

#[test]
fn pipelined_commands_after_the_limit_do_not_run() {
    let mut t = TestServer::new();
    limit(&mut t, "normal 100000 0 0");
    t.cmd(&["set", "big", &"x".repeat(50_000)]);
    t.connect(2);
    let mut pipeline = Vec::new();
    for _ in 0..5 {
        pipeline.extend(crate::resp::encode_command(&["get", "big"]));
    }
    pipeline.extend(crate::resp::encode_command(&["set", "after", "1"]));
    t.send_raw(2, &pipeline);
    assert!(cut_off(&t, 2));
    assert_eq!(t.cmd(&["exists", "after"]), Frame::Int(0));
}

#[test]
fn a_huge_random_reply_stops_at_the_limit_instead_of_filling_memory() {
    let mut t = TestServer::new();
    limit(&mut t, "normal 1000000 0 0");
    t.cmd(&["hset", "h", "a", "b"]);
    t.connect(2);
    t.send_raw(
        2,
        &crate::resp::encode_command(&["hrandfield", "h", "-999999999"]),
    );
    assert!(cut_off(&t, 2));
}

#[test]
fn client_list_shows_the_blocks_a_stalled_client_holds() {
    let mut t = TestServer::new();
    stalled_subscriber(&mut t, 50);
    let Frame::Bulk(list) = t.cmd(&["client", "list"]) else {
        panic!("CLIENT LIST is a bulk string");
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    let line = list
        .lines()
        .find(|l| l.contains("id=2 "))
        .expect("client 2");
    // ~52 KB pending: 16 KB in the static buffer, the rest in two 20,464-byte blocks.
    assert!(line.contains("obl=16384 oll=2 omem=41008 "), "{line}");
    assert!(line.contains("flags=P "), "{line}");
}
