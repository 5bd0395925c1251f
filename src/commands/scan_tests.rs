//! Stories for SSCAN, HSCAN and ZSCAN, and for SCAN's lazy expiry.

use crate::core::testing::{arr, err, int, TestServer};
use crate::resp::Frame;

/// Runs `command... cursor opts...` to completion (`command` is `scan` or e.g. `sscan key`):
/// every word of the replies, and the rounds taken.
pub(in crate::commands) fn scan_to_end(
    t: &mut TestServer,
    command: &[&str],
    opts: &[&str],
) -> (Vec<String>, usize) {
    let (mut cursor, mut seen, mut rounds) = ("0".to_string(), Vec::new(), 0);
    loop {
        let mut args = command.to_vec();
        args.push(cursor.as_str());
        args.extend_from_slice(opts);
        let Frame::Array(parts) = t.cmd(&args) else {
            panic!("{command:?} reply");
        };
        let [Frame::Bulk(next), Frame::Array(words)] = &parts[..] else {
            panic!("{command:?} shape {parts:?}");
        };
        for w in words {
            let Frame::Bulk(w) = w else { panic!() };
            seen.push(String::from_utf8_lossy(w).into_owned());
        }
        rounds += 1;
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            return (seen, rounds);
        }
    }
}

/// `cmd k cursor opts...` to completion.
fn scan_all(t: &mut TestServer, cmd: &str, opts: &[&str]) -> (Vec<String>, usize) {
    scan_to_end(t, &[cmd, "k"], opts)
}

#[test]
fn sscan_of_a_big_set_pages_through_every_member_exactly_once() {
    let mut t = TestServer::new();
    let members: Vec<String> = (0..300).map(|i| format!("ele:{i}")).collect();
    let mut args = vec!["sadd", "k"];
    args.extend(members.iter().map(String::as_str));
    t.cmd(&args);
    let (mut seen, rounds) = scan_all(&mut t, "sscan", &["count", "10"]);
    assert!(
        rounds > 10,
        "a hashtable set is paged, took {rounds} rounds"
    );
    seen.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(seen, expected);
}

#[test]
fn a_small_hash_comes_back_whole_with_fields_and_values() {
    let mut t = TestServer::new();
    t.cmd(&["hset", "k", "a", "1", "b", "2"]);
    assert_eq!(
        t.cmd(&["hscan", "k", "0"]),
        Frame::Array(vec![Frame::Bulk("0".into()), arr(&["a", "1", "b", "2"])])
    );
    assert_eq!(scan_all(&mut t, "hscan", &["match", "b"]).0, ["b", "2"]);
}

#[test]
fn zscan_replies_members_with_scores_and_missing_keys_are_empty() {
    let mut t = TestServer::new();
    t.cmd(&["zadd", "k", "1.5", "a", "2", "b"]);
    assert_eq!(scan_all(&mut t, "zscan", &[]).0, ["a", "1.5", "b", "2"]);
    assert_eq!(
        t.cmd(&["zscan", "nosuch", "0"]),
        Frame::Array(vec![Frame::Bulk("0".into()), arr(&[])])
    );
}

#[test]
fn element_scans_refuse_other_types_bad_cursors_and_the_type_option() {
    let mut t = TestServer::new();
    t.cmd(&["set", "k", "v"]);
    assert_eq!(
        t.cmd(&["sscan", "k", "0"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    t.cmd(&["del", "k"]);
    t.cmd(&["sadd", "k", "x"]);
    assert_eq!(t.cmd(&["sscan", "k", "x"]), err("ERR invalid cursor"));
    assert_eq!(
        t.cmd(&["sscan", "k", "0", "type", "set"]),
        err("ERR syntax error")
    );
    assert_eq!(
        t.cmd(&["sscan", "k", "0", "count", "0"]),
        err("ERR syntax error")
    );
}

#[test]
fn scan_deletes_the_expired_keys_it_visits() {
    let mut t = TestServer::new();
    t.cmd(&["debug", "set-active-expire", "0"]);
    t.cmd(&["set", "live", "v"]);
    t.cmd(&["set", "gone", "v", "px", "1"]);
    t.advance_ms(10);
    let Frame::Array(parts) = t.cmd(&["scan", "0", "type", "string1"]) else {
        panic!("scan reply");
    };
    assert_eq!(parts[1], arr(&[]));
    assert_eq!(t.cmd(&["dbsize"]), int(1));
}
