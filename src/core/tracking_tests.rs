//! Client-side caching as its clients see it: which invalidations arrive, where, and when
//! relative to replies; the tracking subcommands' replies and errors; INFO's counters.

use super::testing::{arr, bulk, err, int, ok, TestServer};
use crate::resp::Frame;

/// RESP3's push of one invalidated key.
fn invalidate(key: &str) -> String {
    format!(
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
        key.len()
    )
}

/// A server whose client 1 speaks RESP3 with tracking on (plus `options`), and client 2 to
/// change keys with.
fn resp3_tracking(options: &[&str]) -> TestServer {
    let mut t = TestServer::new();
    t.cmd_text(1, &["hello", "3"]);
    let mut args = vec!["client", "tracking", "on"];
    args.extend_from_slice(options);
    assert_eq!(t.cmd_text(1, &args), "+OK\r\n");
    t.connect(2);
    t
}

fn output(t: &mut TestServer, id: u64) -> String {
    String::from_utf8_lossy(&t.take_output(id)).into_owned()
}

#[test]
fn tracking_a_resp3_client_that_read_a_key_is_told_when_another_client_changes_it() {
    let mut t = resp3_tracking(&[]);
    t.cmd_as(2, &["set", "k", "1"]);
    t.cmd_as(2, &["set", "other", "1"]);
    assert_eq!(t.cmd_text(1, &["get", "k"]), "$1\r\n1\r\n");
    t.cmd_as(2, &["set", "other", "2"]);
    assert_eq!(output(&mut t, 1), "");
    t.cmd_as(2, &["incr", "k"]);
    assert_eq!(output(&mut t, 1), invalidate("k"));
    // Told once: the key must be read again to be tracked again.
    t.cmd_as(2, &["incr", "k"]);
    assert_eq!(output(&mut t, 1), "");
}

#[test]
fn tracking_a_resp2_client_redirects_its_invalidations_to_a_subscriber_of_redis_invalidate() {
    let mut t = TestServer::new();
    t.connect(2);
    t.connect(3);
    t.cmd_as(2, &["subscribe", "__redis__:invalidate"]);
    assert_eq!(t.cmd(&["client", "tracking", "on", "redirect", "2"]), ok());
    assert_eq!(t.cmd(&["client", "getredir"]), int(2));
    t.cmd(&["mget", "a", "b"]);
    t.cmd_as(3, &["del", "b"]);
    t.cmd_as(3, &["set", "b", "1"]);
    let message = Frame::Array(vec![
        bulk("message"),
        bulk("__redis__:invalidate"),
        arr(&["b"]),
    ]);
    assert_eq!(t.reply(2), Some(message));
    assert_eq!(t.reply(2), None);
    assert_eq!(t.reply(1), None);
}

#[test]
fn tracking_a_clients_own_change_is_told_after_the_reply_and_not_at_all_with_noloop() {
    let mut t = resp3_tracking(&[]);
    t.cmd_text(1, &["hset", "h", "f", "1"]);
    t.cmd_text(1, &["hget", "h", "f"]);
    assert_eq!(
        t.cmd_text(1, &["hdel", "h", "f"]),
        format!(":1\r\n{}", invalidate("h"))
    );

    let mut t = resp3_tracking(&["noloop"]);
    t.cmd_text(1, &["get", "k"]);
    assert_eq!(t.cmd_text(1, &["set", "k", "1"]), "+OK\r\n");
    t.cmd_text(1, &["get", "k"]);
    t.cmd_as(2, &["set", "k", "2"]);
    assert_eq!(output(&mut t, 1), invalidate("k"));
}

#[test]
fn tracking_a_transactions_invalidations_follow_the_exec_reply() {
    let mut t = resp3_tracking(&[]);
    t.cmd_text(1, &["mset", "a", "1", "b", "2"]);
    t.cmd_text(1, &["get", "a"]);
    t.cmd_text(1, &["multi"]);
    t.cmd_text(1, &["incr", "a"]);
    t.cmd_text(1, &["get", "b"]);
    assert_eq!(
        t.cmd_text(1, &["exec"]),
        format!("*2\r\n:2\r\n$1\r\n2\r\n{}", invalidate("a"))
    );
}

#[test]
fn tracking_a_read_after_a_change_in_the_same_transaction_stays_tracked_untold() {
    let mut t = resp3_tracking(&[]);
    t.cmd_text(1, &["multi"]);
    t.cmd_text(1, &["set", "y", "1"]);
    t.cmd_text(1, &["get", "y"]);
    assert_eq!(t.cmd_text(1, &["exec"]), "*2\r\n+OK\r\n$1\r\n1\r\n");
    t.cmd_as(2, &["set", "y", "2"]);
    assert_eq!(output(&mut t, 1), invalidate("y"));
}

#[test]
fn tracking_bcast_clients_hear_of_every_change_under_their_prefixes_one_message_per_prefix() {
    let mut t = resp3_tracking(&["bcast", "prefix", "a:", "prefix", "b:"]);
    t.cmd_as(2, &["mset", "a:1", "1", "b:1", "1", "c:1", "1", "a:2", "2"]);
    let a = ">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\na:1\r\n$3\r\na:2\r\n";
    assert_eq!(output(&mut t, 1), format!("{a}{}", invalidate("b:1")));
    assert_eq!(
        t.cmd(&["client", "tracking", "on", "bcast", "prefix", "a:x"]),
        err("ERR Prefix 'a:x' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap.")
    );
}

#[test]
fn tracking_bcast_with_noloop_leaves_out_the_keys_the_client_changed_itself() {
    let mut t = resp3_tracking(&["bcast", "noloop"]);
    t.cmd_text(1, &["set", "mine", "1"]);
    t.cmd_as(2, &["set", "theirs", "1"]);
    assert_eq!(output(&mut t, 1), invalidate("theirs"));
}

#[test]
fn tracking_a_flush_tells_every_tracking_client_once_with_a_null() {
    let mut t = resp3_tracking(&[]);
    t.cmd_text(1, &["get", "k"]);
    t.cmd_as(2, &["flushall"]);
    assert_eq!(output(&mut t, 1), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    let info = t.cmd_text(1, &["info", "stats"]);
    assert!(info.contains("tracking_total_keys:0\r\n"), "{info}");
}

#[test]
fn tracking_the_client_is_told_when_its_redirect_client_went_away() {
    let mut t = resp3_tracking(&[]);
    t.connect(3);
    t.cmd_text(1, &["client", "tracking", "on", "redirect", "3"]);
    t.cmd_text(1, &["get", "k"]);
    t.server.handle_closed(t.now, 3);
    t.cmd_as(2, &["set", "k", "1"]);
    assert_eq!(
        output(&mut t, 1),
        ">2\r\n$21\r\ntracking-redir-broken\r\n:3\r\n"
    );
    t.cmd_text(1, &["hello", "2"]);
    let info = t.cmd(&["client", "trackinginfo"]);
    let flags = Frame::Array(vec![bulk("on"), bulk("broken_redirect")]);
    let expected = Frame::Array(vec![
        bulk("flags"),
        flags,
        bulk("redirect"),
        int(3),
        bulk("prefixes"),
        arr(&[]),
    ]);
    assert_eq!(info, expected);
}

#[test]
fn tracking_optin_tracks_only_the_command_after_client_caching_yes() {
    let mut t = resp3_tracking(&["optin"]);
    t.cmd_text(1, &["get", "a"]);
    t.cmd_text(1, &["client", "caching", "yes"]);
    t.cmd_text(1, &["get", "b"]);
    t.cmd_text(1, &["get", "c"]);
    t.cmd_as(2, &["mset", "a", "1", "b", "1", "c", "1"]);
    assert_eq!(output(&mut t, 1), invalidate("b"));
    assert_eq!(
        t.cmd_text(1, &["client", "caching", "no"]),
        "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
}

#[test]
fn tracking_keys_the_table_limit_drops_are_told_as_invalidated() {
    let mut t = resp3_tracking(&[]);
    t.cmd_text(1, &["mget", "a", "b", "c"]);
    t.cmd(&["config", "set", "tracking-table-max-keys", "1"]);
    // The cron (or the next command) brings the table back within the limit.
    t.advance_ms(200);
    let told = output(&mut t, 1);
    assert_eq!(told.matches("invalidate").count(), 2, "{told}");
    let info = t.cmd_text(1, &["info", "stats"]);
    assert!(info.contains("tracking_total_keys:1\r\n"), "{info}");
}

#[test]
fn tracking_a_key_expiring_is_told_to_the_clients_caching_it() {
    let mut t = resp3_tracking(&[]);
    t.cmd_as(2, &["set", "k", "v", "px", "100"]);
    t.cmd_text(1, &["get", "k"]);
    t.advance_ms(300);
    assert_eq!(output(&mut t, 1), invalidate("k"));
}

#[test]
fn tracking_options_that_do_not_go_together_are_refused_with_redis_errors() {
    let mut t = TestServer::new();
    let refused = [
        (
            &["prefix", "a"][..],
            "ERR PREFIX option requires BCAST mode to be enabled",
        ),
        (
            &["bcast", "optin"],
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ),
        (
            &["optin", "optout"],
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ),
        (
            &["redirect", "99"],
            "ERR The client ID you want redirect to does not exist",
        ),
        (&["nosuch"], "ERR syntax error"),
        (
            &["bcast", "prefix", "ab", "prefix", "a"],
            "ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.",
        ),
    ];
    for (options, error) in refused {
        let mut args = vec!["client", "tracking", "on"];
        args.extend_from_slice(options);
        assert_eq!(t.cmd(&args), err(error), "{options:?}");
    }
    assert_eq!(t.cmd(&["client", "tracking", "on"]), ok());
    assert_eq!(
        t.cmd(&["client", "tracking", "on", "bcast"]),
        err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    assert_eq!(t.cmd(&["client", "tracking", "off"]), ok());
    assert_eq!(
        t.cmd(&["client", "caching", "yes"]),
        err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
    );
    assert_eq!(t.cmd(&["client", "getredir"]), int(-1));
}

#[test]
fn tracking_info_counts_tracking_clients_keys_items_and_prefixes() {
    let mut t = resp3_tracking(&[]);
    t.cmd_as(2, &["client", "tracking", "on", "bcast", "prefix", "p:"]);
    t.cmd_text(1, &["mget", "a", "b"]);
    t.cmd_as(2, &["get", "a"]);
    let info = t.cmd_text(1, &["info"]);
    for field in [
        "tracking_clients:2",
        "tracking_total_keys:2",
        "tracking_total_items:2",
        "tracking_total_prefixes:1",
    ] {
        assert!(info.contains(&format!("{field}\r\n")), "{field}");
    }
    let line = t.cmd_text(2, &["client", "info"]);
    assert!(
        line.contains(" flags=tB ") && line.contains(" redir=0 "),
        "{line}"
    );
}
