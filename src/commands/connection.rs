//! Connection commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, RESET.

use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::Server;

pub const COMMANDS: &[CommandSpec] = &[
    // Not STALE in Redis: a replica without its master and with replica-serve-stale-data no
    // answers PING with MASTERDOWN (which Sentinel counts as alive).
    server("ping", -1, FAST | PUBSUB, (0, 0, 0), ping),
    server("echo", 2, FAST | STALE | LOADING, (0, 0, 0), echo),
    server(
        "auth",
        -2,
        FAST | NO_AUTH | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        auth,
    ),
    server(
        "hello",
        -1,
        FAST | NO_AUTH | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        hello,
    ),
    server("select", 2, FAST | LOADING | STALE, (0, 0, 0), select),
    server(
        "quit",
        -1,
        FAST | NO_AUTH | PUBSUB | STALE | LOADING,
        (0, 0, 0),
        quit,
    ),
    server(
        "reset",
        1,
        FAST | NO_AUTH | PUBSUB | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        reset,
    ),
];

fn ping(s: &mut Server, call: &Call) {
    if call.args.len() > 2 {
        s.reply(call.id)
            .error("ERR wrong number of arguments for 'ping' command");
        return;
    }
    let pubsub = s.clients[&call.id].in_pubsub_mode();
    let mut out = s.reply(call.id);
    match (pubsub, call.args.get(1)) {
        (true, msg) => {
            out.array(2);
            out.bulk(b"pong");
            out.bulk(msg.map_or(&b""[..], |m| &m[..]));
        }
        (false, Some(msg)) => out.bulk(msg),
        (false, None) => out.simple("PONG"),
    }
}

fn echo(s: &mut Server, call: &Call) {
    s.reply(call.id).bulk(&call.args[1]);
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(s: &mut Server, call: &Call) {
    let (user, pass) = match call.args.len() {
        2 => (None, &call.args[1]),
        3 => (Some(&call.args[1][..]), &call.args[2]),
        _ => return s.reply(call.id).syntax(),
    };
    if user.is_none() && s.acl.users.get("default").is_some_and(|u| u.nopass) {
        s.reply(call.id).error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        );
        return;
    }
    let user = String::from_utf8_lossy(user.unwrap_or(b"default")).into_owned();
    if s.log_in(call, &user, pass) {
        s.reply(call.id).ok();
    } else {
        s.reply(call.id).error(WRONGPASS);
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: switches to RESP2 or RESP3 and replies a
/// map describing the server.
fn hello(s: &mut Server, call: &Call) {
    let args = call.args;
    let mut resp = None;
    if let Some(v) = args.get(1) {
        match crate::resp::parse_i64(v) {
            Some(v @ 2..=3) => resp = Some(v as u8),
            Some(_) => {
                return s
                    .reply(call.id)
                    .error("NOPROTO unsupported protocol version")
            }
            None => {
                return s
                    .reply(call.id)
                    .error("ERR Protocol version is not an integer or out of range")
            }
        }
    }
    let mut i = 2;
    let (mut auth, mut name) = (None, None);
    while i < args.len() {
        if is(&args[i], "auth") && i + 2 < args.len() {
            auth = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if is(&args[i], "setname") && i + 1 < args.len() {
            if !super::client::valid_name(&args[i + 1]) {
                return s.reply(call.id).error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            let msg = format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            );
            return s.reply(call.id).error(&msg);
        }
    }
    if let Some((user, pass)) = auth {
        let user = String::from_utf8_lossy(user).into_owned();
        if !s.log_in(call, &user, pass) {
            return s.reply(call.id).error(WRONGPASS);
        }
    }
    if !s.clients[&call.id].authenticated {
        return s.reply(call.id).error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    let c = s.clients.get_mut(&call.id).expect("caller");
    if let Some(n) = name {
        c.name = (!n.is_empty()).then_some(n);
    }
    if let Some(v) = resp {
        c.resp = v;
    }
    let proto = c.resp as i64;
    let sentinel = s.config.sentinel_mode;
    let role = match (sentinel, s.config.replicaof.is_some()) {
        (true, _) => None,
        (false, true) => Some("replica"),
        (false, false) => Some("master"),
    };
    let mode = if sentinel { "sentinel" } else { "standalone" };
    let id = call.id as i64;
    let mut out = s.reply(call.id);
    out.map(6 + role.is_some() as usize);
    for (k, v) in [("server", "redis"), ("version", crate::REDIS_VERSION)] {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(mode.as_bytes());
    if let Some(role) = role {
        out.bulk(b"role");
        out.bulk(role.as_bytes());
    }
    out.bulk(b"modules");
    out.array(0);
}

fn select(s: &mut Server, call: &Call) {
    let Some(n) = crate::resp::parse_i64(&call.args[1]) else {
        return s
            .reply(call.id)
            .error("ERR value is not an integer or out of range");
    };
    if n < 0 || n as usize >= s.config.databases {
        return s.reply(call.id).error("ERR DB index is out of range");
    }
    s.clients.get_mut(&call.id).expect("caller").db = n as usize;
    s.reply(call.id).ok();
}

fn quit(s: &mut Server, call: &Call) {
    s.reply(call.id).ok();
    s.close_after_reply(call.id);
}

/// RESET: leave MULTI, unwatch, unsubscribe, stop tracking, select db 0, drop the name, deauthenticate.
fn reset(s: &mut Server, call: &Call) {
    super::multi::discard_state(s, call.id);
    super::pubsub::unsubscribe_all(s, call.id);
    s.disable_tracking(call.id);
    let authed = s.default_user_needs_no_auth();
    let c = s.clients.get_mut(&call.id).expect("caller");
    c.user = Some("default".into());
    c.db = 0;
    c.name = None;
    c.resp = 2;
    c.authenticated = authed;
    s.reply(call.id).simple("RESET");
}

/// Replies used across families.
impl crate::resp::Out<'_> {
    pub fn syntax(&mut self) {
        self.error("ERR syntax error");
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::core::testing::*;

    #[test]
    fn ping_echo_select() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["PING"]), crate::resp::Frame::Simple("PONG".into()));
        assert_eq!(t.cmd(&["ping", "hi"]), bulk("hi"));
        assert_eq!(t.cmd(&["echo", "x"]), bulk("x"));
        assert_eq!(t.cmd(&["select", "15"]), ok());
        assert_eq!(
            t.cmd(&["select", "16"]),
            err("ERR DB index is out of range")
        );
        assert_eq!(
            t.cmd(&["echo"]),
            err("ERR wrong number of arguments for 'echo' command")
        );
    }

    #[test]
    fn auth_gates_every_command_until_the_password_is_given() {
        let config = Config {
            requirepass: Some("secret".into()),
            ..Config::default()
        };
        let mut t = TestServer::with_config(config);
        assert_eq!(t.cmd(&["ping"]), err("NOAUTH Authentication required."));
        assert_eq!(
            t.cmd(&["auth", "wrong"]),
            err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(t.cmd(&["auth", "secret"]), ok());
        assert_eq!(t.cmd(&["ping"]), crate::resp::Frame::Simple("PONG".into()));
        let mut open = TestServer::new();
        assert!(
            matches!(open.cmd(&["auth", "x"]), crate::resp::Frame::Error(e) if e.starts_with("ERR AUTH <password> called without"))
        );
    }

    #[test]
    fn hello_3_switches_to_resp3_and_replies_a_map() {
        let mut t = TestServer::new();
        let version = crate::REDIS_VERSION;
        let head = format!(
            "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n${}\r\n{version}\r\n",
            version.len()
        );
        let tail = "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
                    $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
        assert_eq!(
            t.cmd_text(1, &["hello", "3"]),
            format!("%7\r\n{head}$5\r\nproto\r\n:3\r\n{tail}")
        );
        assert_eq!(t.cmd_text(1, &["get", "nothing"]), "_\r\n");
        // HELLO without a version keeps the protocol; HELLO 2 goes back to RESP2.
        assert!(t.cmd_text(1, &["hello"]).starts_with("%7\r\n"));
        assert_eq!(
            t.cmd_text(1, &["hello", "2"]),
            format!("*14\r\n{head}$5\r\nproto\r\n:2\r\n{tail}")
        );
        assert_eq!(t.cmd(&["get", "nothing"]), crate::resp::Frame::Null);
    }

    #[test]
    fn hello_refuses_unknown_protocols_and_bad_options() {
        let mut t = TestServer::new();
        for v in ["4", "1", "-1"] {
            assert_eq!(
                t.cmd(&["hello", v]),
                err("NOPROTO unsupported protocol version")
            );
        }
        assert_eq!(
            t.cmd(&["hello", "x"]),
            err("ERR Protocol version is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["hello", "3", "setname", "a b"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(
            t.cmd(&["hello", "3", "bogus"]),
            err("ERR Syntax error in HELLO option 'bogus'")
        );
        // Nothing changed: still RESP2.
        assert_eq!(t.cmd(&["get", "nothing"]), crate::resp::Frame::Null);
    }

    #[test]
    fn hello_auth_authenticates_and_switches_at_once() {
        let config = Config {
            requirepass: Some("secret".into()),
            ..Config::default()
        };
        let mut t = TestServer::with_config(config);
        assert!(t
            .cmd_text(1, &["hello", "3"])
            .starts_with("-NOAUTH HELLO must be called"));
        assert_eq!(
            t.cmd(&["hello", "3", "auth", "default", "wrong"]),
            err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        let reply = t.cmd_text(
            1,
            &["hello", "3", "auth", "default", "secret", "setname", "me"],
        );
        assert!(reply.starts_with("%7\r\n"), "{reply}");
        assert_eq!(t.cmd_text(1, &["client", "getname"]), "$2\r\nme\r\n");
    }

    #[test]
    fn reset_goes_back_to_resp2() {
        let mut t = TestServer::new();
        t.cmd_text(1, &["hello", "3"]);
        assert_eq!(t.cmd_text(1, &["reset"]), "+RESET\r\n");
        assert_eq!(t.cmd(&["get", "nothing"]), crate::resp::Frame::Null);
    }

    #[test]
    fn quit_closes_after_ok() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["quit"]), ok());
        assert!(t.closed(1));
    }
}
