//! The real Redis side of the interop tests: a scratch directory, a `redis-server` child process
//! on a free port (killed on drop), a minimal binary-safe RESP2 client, and a whole-dataset dump
//! (every database, key, value and expiry time) to compare two servers.

use super::free_port;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("redsim-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills a child process that is dropped before being handed over.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A real redis-server child process on a free port, killed on drop.
pub struct RealRedis {
    child: Child,
    log: PathBuf,
    pub port: u16,
    pub conn: Conn,
}

impl RealRedis {
    /// Persistence off, loading `dir/dbfilename` if it exists.
    pub fn start(dir: &Path, dbfilename: &str) -> RealRedis {
        RealRedis::start_with(dir, dbfilename, &[])
    }

    /// Like `start`, with more command-line arguments (e.g. `--replicaof`).
    pub fn start_with(dir: &Path, dbfilename: &str, extra: &[&str]) -> RealRedis {
        let mut args = vec![
            "--appendonly",
            "no",
            "--enable-debug-command",
            "yes",
            "--dbfilename",
            dbfilename,
        ];
        args.extend_from_slice(extra);
        RealRedis::launch(dir, dbfilename, &args)
    }

    /// Runs in `dir` with `args`, logging to `dir/<tag>.log`; returns once it answers PING.
    pub fn launch(dir: &Path, tag: &str, args: &[&str]) -> RealRedis {
        RealRedis::launch_on(dir, tag, free_port(), args)
    }

    /// Like `launch`, on a given port (a restart where a killed server listened).
    pub fn launch_on(dir: &Path, tag: &str, port: u16, args: &[&str]) -> RealRedis {
        let log = dir.join(format!("{tag}.log"));
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        // Killed if it never becomes ready (the assertion in wait_ready unwinds through the guard).
        let mut guard = ChildGuard(Some(child));
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        let conn = Conn::wait_ready(port, || format!("redis-server log:\n{}", log_text()));
        let child = guard.0.take().expect("child");
        RealRedis {
            child,
            log,
            port,
            conn,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SHUTDOWN NOSAVE, then waits for a clean exit.
    pub fn stop(mut self) {
        self.conn.shutdown_nosave();
        let log = self.log();
        wait_exit(&mut self.child, || format!("redis-server log:\n{log}"));
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (at most 10 s) for `child` to exit with status 0.
pub fn wait_exit(child: &mut Child, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exited with {status}; {}", context());
            return;
        }
        assert!(Instant::now() < deadline, "did not exit; {}", context());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b,
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }
    pub fn array(self) -> Vec<Vec<u8>> {
        match self {
            Reply::Array(items) => items.into_iter().map(Reply::bytes).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }
    pub fn int(self) -> i64 {
        match self {
            Reply::Int(n) => n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }
}

/// A value in a form that compares equal regardless of hash/set iteration order
/// (scores as exact bit patterns).
#[derive(Debug, PartialEq)]
pub enum Norm {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, u64>),
}

/// Every key of every database: (db, key) -> (value, absolute expiry in ms).
pub type Dataset = BTreeMap<(usize, Vec<u8>), (Norm, Option<i64>)>;

/// A minimal binary-safe RESP2 client with pipelining.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects to `port` and waits (at most 20 s) until it answers PING (not -LOADING; -NOAUTH
    /// means it is up and wants a password). A
    /// connection refused or reset while the server starts is retried with a new connection, and
    /// a self-connection (see `support::listening`) is never taken for the server.
    pub fn wait_ready(port: u16, context: impl Fn() -> String) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let stream = TcpStream::connect(("127.0.0.1", port))
                .ok()
                .filter(|s| s.local_addr().ok().map(|a| a.port()) != Some(port));
            if let Some(stream) = stream {
                let mut conn = Conn::new(stream);
                loop {
                    match conn.try_ping() {
                        Ok(Reply::Simple(pong)) if pong == "PONG" => return conn,
                        Ok(Reply::Error(e)) if e.starts_with("NOAUTH") => return conn,
                        Ok(_) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(20))
                        }
                        _ => break,
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "not ready on port {port}; {}",
                context()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_ping(&mut self) -> std::io::Result<Reply> {
        self.writer.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        self.read_reply()
    }

    /// Connects to a server that is already up.
    pub fn connect(port: u16) -> Conn {
        Conn::new(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    fn new(stream: TcpStream) -> Conn {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).unwrap();
    }

    /// The next reply (a pub/sub message, a pipelined answer).
    pub fn reply(&mut self) -> Reply {
        self.read_reply().expect("read a reply")
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        Ok(match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => match rest.parse::<i64>().unwrap() {
                -1 => Reply::Bulk(None),
                n => {
                    let mut buf = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut buf)?;
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
            },
            "*" => Reply::Array(
                (0..rest.parse::<i64>().unwrap().max(0))
                    .map(|_| self.read_reply())
                    .collect::<std::io::Result<_>>()?,
            ),
            _ => panic!("bad reply line {line:?}"),
        })
    }

    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(args);
        self.reply()
    }

    /// As `cmd`, but a connection the server closed (CLIENT KILL) is an error, not a panic.
    pub fn try_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Reply> {
        self.send(args);
        self.read_reply()
    }

    /// Sends every command, then checks no reply is an error.
    pub fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) {
        for c in cmds {
            self.send(c);
        }
        for c in cmds {
            if let Reply::Error(e) = self.reply() {
                panic!("{e} for {:?}", String::from_utf8_lossy(&c[0]));
            }
        }
    }

    /// SHUTDOWN NOSAVE: the server closes the connection without replying.
    pub fn shutdown_nosave(&mut self) {
        self.send(&["SHUTDOWN", "NOSAVE"]);
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        assert!(
            rest.is_empty(),
            "SHUTDOWN replied {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// The value of `key` in the selected database, whatever its type.
    pub fn value(&mut self, key: &[u8]) -> Norm {
        let kind = match self.cmd(&[b"TYPE", key]) {
            Reply::Simple(t) => t,
            other => panic!("TYPE {key:?}: {other:?}"),
        };
        let flat_pairs = |flat: Vec<Vec<u8>>| {
            let mut items = flat.into_iter();
            std::iter::from_fn(move || Some((items.next()?, items.next()?)))
        };
        match kind.as_str() {
            "string" => Norm::Str(self.cmd(&[b"GET", key]).bytes()),
            "list" => Norm::List(self.cmd(&[&b"LRANGE"[..], key, b"0", b"-1"]).array()),
            "set" => Norm::Set(self.cmd(&[b"SMEMBERS", key]).array().into_iter().collect()),
            "hash" => Norm::Hash(flat_pairs(self.cmd(&[b"HGETALL", key]).array()).collect()),
            "zset" => {
                let flat = self
                    .cmd(&[&b"ZRANGE"[..], key, b"0", b"-1", b"WITHSCORES"])
                    .array();
                let score = |s: &[u8]| {
                    std::str::from_utf8(s)
                        .unwrap()
                        .parse::<f64>()
                        .unwrap()
                        .to_bits()
                };
                Norm::ZSet(flat_pairs(flat).map(|(m, s)| (m, score(&s))).collect())
            }
            other => panic!("{:?} has type {other}", String::from_utf8_lossy(key)),
        }
    }

    /// Every key of databases 0..16 with its value and PEXPIRETIME (SCAN, then one read each).
    pub fn dump(&mut self) -> Dataset {
        let mut all = Dataset::new();
        for db in 0..16 {
            let db_arg = db.to_string();
            assert_eq!(self.cmd(&["SELECT", &db_arg]), Reply::Simple("OK".into()));
            let mut cursor = b"0".to_vec();
            let mut keys = BTreeSet::new();
            loop {
                let Reply::Array(parts) = self.cmd(&[&b"SCAN"[..], &cursor, b"COUNT", b"100"])
                else {
                    panic!("SCAN did not answer an array");
                };
                let mut parts = parts.into_iter();
                cursor = parts.next().expect("cursor").bytes();
                keys.extend(parts.next().expect("keys").array());
                if cursor == b"0" {
                    break;
                }
            }
            for key in keys {
                let value = self.value(&key);
                let at = self.cmd(&[&b"PEXPIRETIME"[..], &key]).int();
                all.insert((db, key), (value, (at != -1).then_some(at)));
            }
        }
        assert_eq!(self.cmd(&["SELECT", "0"]), Reply::Simple("OK".into()));
        all
    }
}
