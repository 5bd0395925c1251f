//! The real Redis side of the interop tests: a scratch directory, a `redis-server` child process
//! on a free port (killed on drop), and a minimal binary-safe RESP2 client (for any server).

use super::free_port;
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
        let dir =
            std::env::temp_dir().join(format!("redsim-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real redis-server child process on a free port, killed on drop.
pub struct RealRedis {
    child: Child,
    pub port: u16,
    pub conn: Conn,
    log: PathBuf,
}

impl RealRedis {
    pub fn start(dir: &Path, dbfilename: &str) -> RealRedis {
        RealRedis::start_with(dir, dbfilename, &[])
    }

    /// Starts with more `--option value` arguments (they override the defaults above them).
    pub fn start_with(dir: &Path, dbfilename: &str, extra: &[&str]) -> RealRedis {
        let port = free_port();
        let log = dir.join(format!("{dbfilename}.log"));
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--enable-debug-command", "yes"])
            .arg("--dir")
            .arg(dir)
            .args(["--dbfilename", dbfilename])
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(20);
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        let mut conn = loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                break Conn::new(stream);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start:\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The server answers -LOADING until the file is loaded.
        while conn.cmd(&["PING"]) != Reply::Simple("PONG".into()) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not load:\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RealRedis {
            child,
            port,
            conn,
            log,
        }
    }

    /// What the server wrote to its log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// A minimal binary-safe RESP2 client with pipelining.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects to any server (real or redsim) on 127.0.0.1.
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

    fn send(&mut self, args: &[Vec<u8>]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line.trim_end_matches("\r\n").to_string()
    }

    /// Reads one reply (or one pushed message of a subscribed connection).
    pub fn reply(&mut self) -> Reply {
        let line = self.line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => match rest.parse::<i64>().unwrap() {
                -1 => Reply::Bulk(None),
                n => {
                    let mut buf = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut buf).unwrap();
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
            },
            "*" => Reply::Array(
                (0..rest.parse::<i64>().unwrap().max(0))
                    .map(|_| self.reply())
                    .collect(),
            ),
            _ => panic!("bad reply line {line:?}"),
        }
    }

    /// Sends one command (text or binary arguments) and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(&args.iter().map(|a| a.as_ref().to_vec()).collect::<Vec<_>>());
        self.reply()
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
}
