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
    /// The files disk actions touch.
    pub disk: MemDisk,
    /// When set, disk operations wait in `held_disk` until `finish_disk` (a slow disk).
    pub hold_disk: bool,
    held_disk: Vec<(u64, crate::core::DiskOp)>,
    /// Clients that stopped reading: their output stays unwritten (the others' is written
    /// as soon as it is sent).
    pub stalled: std::collections::BTreeSet<ConnId>,
}

/// An in-memory disk for core tests; `fail` makes every write-like operation fail.
#[derive(Default)]
pub struct MemDisk {
    files: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    pub fail: std::sync::atomic::AtomicBool,
}

impl MemDisk {
    pub fn run(&self, op: &crate::core::DiskOp) -> Result<bytes::Bytes, String> {
        crate::env::run_disk_op(self, op).map_err(|e| e.to_string())
    }
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        self.files.lock().unwrap().get(path).cloned()
    }
    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(std::io::Error::other("No space left on device"));
        }
        Ok(())
    }
}

impl crate::env::Disk for MemDisk {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn write(&self, path: &str, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.files
            .lock()
            .unwrap()
            .insert(path.into(), data.to_vec());
        Ok(())
    }
    fn append(&self, path: &str, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.files
            .lock()
            .unwrap()
            .entry(path.into())
            .or_default()
            .extend_from_slice(data);
        Ok(())
    }
    fn fsync(&self, _path: &str) -> std::io::Result<()> {
        self.check()
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        let mut f = self.files.lock().unwrap();
        let data = f
            .remove(from)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        f.insert(to.into(), data);
        Ok(())
    }
    fn remove(&self, path: &str) -> std::io::Result<()> {
        self.files
            .lock()
            .unwrap()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn fsync_dir(&self, _path: &str) -> std::io::Result<()> {
        self.check()
    }
    fn create_dir(&self, _path: &str) -> std::io::Result<()> {
        self.check()
    }
}

impl TestServer {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        Self::with_disk(config, MemDisk::default())
    }

    /// A server in Sentinel mode (myid `aaa...a`) monitoring `mymaster` at 10.0.0.1:6379 with
    /// quorum 2; its sentinel.conf is `/sentinel.conf` on the in-memory disk.
    pub fn sentinel() -> Self {
        let mut config = Config::sentinel_defaults();
        config.config_file = Some("/sentinel.conf".into());
        let conf = config.sentinel.get_or_insert_with(Default::default);
        conf.myid = Some("a".repeat(40));
        conf.masters.push(crate::sentinel::config::MasterConf::new(
            "mymaster", "10.0.0.1", 6379, 2,
        ));
        Self::with_config(config)
    }

    /// A server starting on an existing disk (what a restart sees).
    pub fn with_disk(config: Config, disk: MemDisk) -> Self {
        Self::start(
            config,
            disk,
            Now {
                mono_ms: 1_000,
                unix_ms: 1_700_000_000_000,
            },
        )
    }

    fn start(config: Config, disk: MemDisk, now: Now) -> Self {
        let mut t = TestServer {
            server: Server::new(config, 42, None, now),
            now,
            other_actions: Vec::new(),
            pending: Default::default(),
            disk,
            hold_disk: false,
            held_disk: Vec::new(),
            stalled: Default::default(),
        };
        t.drain();
        t.connect(1);
        t
    }

    /// Stops this server and starts a new one on the same disk and config, `ms` later.
    pub fn restart(self, ms: u64) -> Self {
        let mut config = self.server.config.clone();
        config.pid += 1;
        let now = Now {
            mono_ms: self.now.mono_ms + ms,
            unix_ms: self.now.unix_ms + ms,
        };
        Self::start(config, self.disk, now)
    }

    /// Log messages so far, in order.
    pub fn logs(&self) -> Vec<&str> {
        self.other_actions
            .iter()
            .filter_map(|a| match a {
                Action::Log { msg, .. } => Some(msg.as_str()),
                _ => None,
            })
            .collect()
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

    /// The outbound connection the server asked for last (a replica's link to its master) is
    /// established; returns its id.
    pub fn accept_outbound(&mut self) -> Option<ConnId> {
        let conn = self.other_actions.iter().rev().find_map(|a| match a {
            Action::Connect { conn, .. } => Some(*conn),
            _ => None,
        })?;
        let local = "127.0.0.1:50000".parse().expect("addr");
        self.server.handle_connected(self.now, conn, local);
        self.drain();
        Some(conn)
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

    /// Runs one command with binary arguments as client 1 and returns its single reply.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Frame {
        self.cmd_as(1, args)
    }

    /// Runs one command as client `id` and returns its single reply.
    pub fn cmd_as<T: AsRef<[u8]>>(&mut self, id: ConnId, args: &[T]) -> Frame {
        self.send_raw(id, &encode_command(args));
        self.reply(id).unwrap_or_else(|| {
            let shown: Vec<_> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a.as_ref()))
                .collect();
            panic!("no reply to {shown:?}")
        })
    }

    /// Runs one command as client `id` and returns every byte sent back, as text (for
    /// replies the RESP2 `Frame` parser does not read, such as RESP3's).
    pub fn cmd_text(&mut self, id: ConnId, args: &[&str]) -> String {
        self.send_raw(id, &encode_command(args));
        String::from_utf8_lossy(&self.take_output(id)).into_owned()
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

    /// Lets the server's outbound connection `conn` (from an `Action::Connect`) succeed.
    pub fn outbound_connected(&mut self, conn: ConnId) {
        let local = "127.0.0.1:50000".parse().expect("addr");
        self.server.handle_connected(self.now, conn, local);
        self.drain();
    }

    /// Completes the disk operations `hold_disk` kept waiting, in order.
    pub fn finish_disk(&mut self) {
        for (token, op) in std::mem::take(&mut self.held_disk) {
            let result = self.disk.run(&op);
            self.server.handle_disk_done(self.now, token, result);
            self.drain();
        }
    }

    /// True if the server closed client `id`.
    pub fn closed(&self, id: ConnId) -> bool {
        !self.server.clients.contains_key(&id)
    }

    fn drain(&mut self) {
        while let Some(a) = self.server.poll_action() {
            match a {
                Action::Send { conn, data } => {
                    if !self.stalled.contains(&conn) {
                        self.server.handle_written(conn, data.len());
                    }
                    self.pending
                        .entry(conn)
                        .or_default()
                        .extend_from_slice(&data)
                }
                Action::Disk { token, op } if self.hold_disk => self.held_disk.push((token, op)),
                Action::Disk { token, op } => {
                    let result = self.disk.run(&op);
                    self.server.handle_disk_done(self.now, token, result);
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
