//! The one boundary between node logic and the world: clocks, network, tasks, disk and seed.
//!
//! `TokioEnv` (in `tokio_env.rs`) implements it for real processes; `SimEnv` (in the `sim/` crate)
//! implements it over madsim with a disk that loses unsynced bytes on a crash. The shell in
//! `shell.rs` is written once against this trait and runs unchanged on both.

use crate::core::{DiskOp, Now};
use bytes::Bytes;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a script run ended: its exit status, or the signal that ended it (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptExit {
    pub code: i32,
    pub signal: i32,
}

/// A listening socket.
pub trait Listener: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The next connection: stream, peer address, local address.
    fn accept(&self) -> BoxFuture<'_, io::Result<(Self::Stream, SocketAddr, SocketAddr)>>;
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// Everything a node may touch outside its own memory.
pub trait Env: Clone + Send + Sync + 'static {
    type Listener: Listener<Stream = Self::Stream>;
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Monotonic milliseconds since an arbitrary origin; never goes back.
    fn mono_ms(&self) -> u64;
    /// Wall-clock unix milliseconds; may jump (in simulation, on purpose).
    fn unix_ms(&self) -> u64;
    /// Both clocks, read together.
    fn now(&self) -> Now {
        Now {
            mono_ms: self.mono_ms(),
            unix_ms: self.unix_ms(),
        }
    }
    /// Completes once `mono_ms()` has reached `deadline_ms`.
    fn sleep_until(&self, deadline_ms: u64) -> BoxFuture<'static, ()>;
    /// This node's seed: every random choice the node makes derives from it.
    fn seed(&self) -> u64;

    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Listener>>;
    /// Listens on a Unix domain socket at `path` (replacing a stale one), with permission bits
    /// `perm` (0: as created). Its connections come with a loopback peer address. Drivers
    /// without Unix sockets (the simulator) refuse.
    fn bind_unix(&self, path: String, perm: u32) -> BoxFuture<'static, io::Result<Self::Listener>> {
        let _ = (path, perm);
        Box::pin(async {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix domain sockets are not available in this environment",
            ))
        })
    }
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> BoxFuture<'static, io::Result<(Self::Stream, SocketAddr)>>;
    /// Resolves a host name to one of its addresses (the OS resolver; the simulator's own
    /// names in simulation).
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<std::net::IpAddr>>;
    fn spawn(&self, task: BoxFuture<'static, ()>);

    fn disk(&self) -> &dyn Disk;
    /// Writes a finished log line (stdout or the configured logfile in production).
    fn log_line(&self, line: &str);
    /// Completes when the process is asked to terminate (SIGTERM or SIGINT), with its name.
    fn termination(&self) -> BoxFuture<'static, &'static str>;
    /// Records a meaningful transition (simulation traces); production drivers may ignore it.
    fn trace(&self, event: &str);
    /// Stops this node's process with `code` (SHUTDOWN, fatal errors).
    fn exit(&self, code: i32);
    /// This process's id as logs show it.
    fn pid(&self) -> u32;
    /// Runs a Sentinel script (`argv[0]` is its path) until it exits, or until `kill` is
    /// notified (then SIGKILL). Simulation drivers only pretend: the core traced the run, and
    /// it succeeds at once.
    fn run_script(&self, argv: Vec<String>, kill: Arc<Notify>) -> BoxFuture<'static, ScriptExit>;
}

/// Named files on this node's disk. Synchronous like Redis' own disk I/O in its main thread.
/// Bytes are durable only after `fsync` (and a rename or new name only after `fsync_dir`).
pub trait Disk: Send + Sync {
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Creates or truncates `path` and writes `data`.
    fn write(&self, path: &str, data: &[u8]) -> io::Result<()>;
    fn append(&self, path: &str, data: &[u8]) -> io::Result<()>;
    fn fsync(&self, path: &str) -> io::Result<()>;
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    fn remove(&self, path: &str) -> io::Result<()>;
    /// Makes renames, creations and removals in the directory of `path` durable.
    fn fsync_dir(&self, path: &str) -> io::Result<()>;
    /// Creates a directory and its parents if missing.
    fn create_dir(&self, path: &str) -> io::Result<()>;
    /// Fails unless `path` is an executable file (a Sentinel script set at run time). Disks
    /// without programs (the simulator's, whose scripts only pretend to run) accept any path.
    fn check_executable(&self, path: &str) -> io::Result<()> {
        let _ = path;
        Ok(())
    }
}

/// Write a temp file, fsync it, rename it over `path`, fsync the directory: Redis' way of
/// replacing a file so a crash leaves either the old or the new content.
pub fn write_atomic(disk: &dyn Disk, path: &str, data: &[u8]) -> io::Result<()> {
    let tmp = format!("{path}.tmp-redsim");
    disk.write(&tmp, data)?;
    disk.fsync(&tmp)?;
    disk.rename(&tmp, path)?;
    disk.fsync_dir(path)
}

/// Performs one of the core's disk operations on `disk`; reads return the file's bytes.
pub fn run_disk_op(disk: &dyn Disk, op: &DiskOp) -> io::Result<Bytes> {
    match op {
        DiskOp::Read { path } => return disk.read(path).map(Bytes::from),
        DiskOp::Write { path, data } => disk.write(path, data)?,
        DiskOp::Append { path, data } => disk.append(path, data)?,
        DiskOp::Fsync { path } => disk.fsync(path)?,
        DiskOp::Commit { tmp, path } => {
            disk.fsync(tmp)?;
            disk.rename(tmp, path)?;
            disk.fsync_dir(path)?;
        }
        DiskOp::Remove { path } => disk.remove(path)?,
        DiskOp::WriteAtomic { path, data } => write_atomic(disk, path, data)?,
        DiskOp::CreateDir { path } => disk.create_dir(path)?,
        DiskOp::CheckExecutable { paths } => {
            for p in paths {
                disk.check_executable(p)
                    .map_err(|_| io::Error::new(io::ErrorKind::NotFound, p.clone()))?;
            }
        }
    }
    Ok(Bytes::new())
}
