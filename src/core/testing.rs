//! Test support: drives a `Server` directly through its calling protocol, one client at a time,
//! and decodes replies into `Frame`s. Used by the unit tests of every command family.

use super::{Action, ConnId, Now, Server};
use crate::config::Config;
use crate::resp::{encode_command, parse_frame, Frame};

pub struct TestServer {
    pub server: Server,
    pub now: Now,
    /// Actions other than `Send` to the calling client (logs, traces, disk ops, exits).
    pub other_actions: Vec<Action>,
    /// Bytes sent to each client and not yet read by `reply`/`take_output`.
    pending: std::collections::BTreeMap<ConnId, Vec<u8>>,
}

impl TestServer {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        let now = Now {
            mono_ms: 1_000,
            unix_ms: 1_700_000_000_000,
        };
        let mut t = TestServer {
            server: Server::new(config, 42, None, now),
            now,
            other_actions: Vec::new(),
            pending: Default::default(),
        };
        t.connect(1);
        t
    }

    /// Opens client `id` (client 1 exists from the start).
    pub fn connect(&mut self, id: ConnId) {
        let peer = format!("127.0.0.1:{}", 40000 + id).parse().expect("addr");
        let local = "127.0.0.1:6379".parse().expect("addr");
        self.server.handle_accept(self.now, id, peer, local);
        self.drain();
    }

    /// Moves both clocks forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now.mono_ms += ms;
        self.now.unix_ms += ms;
        self.server.handle_timeout(self.now);
        self.drain();
    }

    /// Sends raw bytes as client `id`.
    pub fn send_raw(&mut self, id: ConnId, bytes: &[u8]) {
        self.server.handle_data(self.now, id, bytes);
        self.drain();
    }

    /// Runs one command as client 1 and returns its single reply.
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        self.cmd_as(1, args)
    }

    /// Runs one command as client `id` and returns its single reply.
    pub fn cmd_as(&mut self, id: ConnId, args: &[&str]) -> Frame {
        self.send_raw(id, &encode_command(args));
        self.reply(id)
            .unwrap_or_else(|| panic!("no reply to {args:?}"))
    }

    /// The next complete reply frame sent to `id`, if any.
    pub fn reply(&mut self, id: ConnId) -> Option<Frame> {
        let buf = self.pending.entry(id).or_default();
        let (frame, n) = parse_frame(buf, usize::MAX).expect("server sent valid RESP")?;
        buf.drain(..n);
        Some(frame)
    }

    /// All bytes sent to `id` and not yet read.
    pub fn take_output(&mut self, id: ConnId) -> Vec<u8> {
        std::mem::take(self.pending.entry(id).or_default())
    }

    /// True if the server closed client `id`.
    pub fn closed(&self, id: ConnId) -> bool {
        !self.server.clients.contains_key(&id)
    }

    fn drain(&mut self) {
        while let Some(a) = self.server.poll_action() {
            match a {
                Action::Send { conn, data } => self
                    .pending
                    .entry(conn)
                    .or_default()
                    .extend_from_slice(&data),
                Action::Disk { token, .. } => {
                    self.server.handle_disk_done(self.now, token, Ok(()));
                }
                other => self.other_actions.push(other),
            }
        }
    }
}

impl Default for TestServer {
    fn default() -> Self {
        Self::new()
    }
}

/// Shorthands for expected replies.
pub fn ok() -> Frame {
    Frame::Simple("OK".into())
}
pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}
pub fn int(n: i64) -> Frame {
    Frame::Int(n)
}
pub fn err(s: &str) -> Frame {
    Frame::Error(s.into())
}
pub fn arr(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}
