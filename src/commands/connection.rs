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

/// Checks a password for the default user (the only user until ACLs exist).
fn check_password(
    s: &mut Server,
    id: crate::core::ConnId,
    user: Option<&[u8]>,
    pass: &[u8],
) -> bool {
    let ok = match &s.config.requirepass {
        None => user.is_none_or(|u| u == b"default"),
        Some(p) => user.is_none_or(|u| u == b"default") && p[..] == *pass,
    };
    if ok {
        if let Some(c) = s.clients.get_mut(&id) {
            c.authenticated = true;
        }
    }
    ok
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(s: &mut Server, call: &Call) {
    let (user, pass) = match call.args.len() {
        2 => (None, &call.args[1]),
        3 => (Some(&call.args[1][..]), &call.args[2]),
        _ => return s.reply(call.id).syntax(),
    };
    if user.is_none() && s.config.requirepass.is_none() {
        s.reply(call.id).error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        );
        return;
    }
    if check_password(s, call.id, user, pass) {
        s.reply(call.id).ok();
    } else {
        s.reply(call.id).error(WRONGPASS);
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 only; RESP3 is refused cleanly.
fn hello(s: &mut Server, call: &Call) {
    let args = call.args;
    if let Some(v) = args.get(1) {
        match crate::resp::parse_i64(v) {
            Some(2) => {}
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
    let mut name = None;
    while i < args.len() {
        if is(&args[i], "auth") && i + 2 < args.len() {
            if !check_password(s, call.id, Some(&args[i + 1]), &args[i + 2]) {
                return s.reply(call.id).error(WRONGPASS);
            }
            i += 3;
        } else if is(&args[i], "setname") && i + 1 < args.len() {
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
    if !s.clients[&call.id].authenticated {
        return s.reply(call.id).error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = name {
        if !super::client::valid_name(&n) {
            return s
                .reply(call.id)
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        s.clients.get_mut(&call.id).expect("caller").name = (!n.is_empty()).then_some(n);
    }
    let role = if s.config.replicaof.is_some() {
        "replica"
    } else {
        "master"
    };
    let id = call.id as i64;
    let mut out = s.reply(call.id);
    out.array(14);
    for (k, v) in [("server", "redis"), ("version", crate::REDIS_VERSION)] {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    out.bulk(b"proto");
    out.int(2);
    out.bulk(b"id");
    out.int(id);
    for (k, v) in [("mode", "standalone"), ("role", role)] {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
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

/// RESET: leave MULTI, unwatch, unsubscribe, select db 0, drop the name, deauthenticate.
fn reset(s: &mut Server, call: &Call) {
    super::multi::discard_state(s, call.id);
    super::pubsub::unsubscribe_all(s, call.id);
    let authed = s.config.requirepass.is_none();
    let c = s.clients.get_mut(&call.id).expect("caller");
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
    fn hello_2_works_and_3_is_refused() {
        let mut t = TestServer::new();
        let crate::resp::Frame::Array(items) = t.cmd(&["hello", "2"]) else {
            panic!()
        };
        assert_eq!(items[0], bulk("server"));
        assert_eq!(items[5], int(2));
        assert_eq!(
            t.cmd(&["hello", "3"]),
            err("NOPROTO unsupported protocol version")
        );
    }

    #[test]
    fn quit_closes_after_ok() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["quit"]), ok());
        assert!(t.closed(1));
    }
}
