//! `TokioEnv`: the production `Env` over tokio, std::fs and the system clocks.

use crate::env::{BoxFuture, Disk, Env, Listener, ScriptExit};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct TokioEnv {
    origin: Instant,
    seed: u64,
    logfile: Option<Arc<std::sync::Mutex<File>>>,
    /// The local address outgoing connections are bound to (the OS picks when `None`).
    source_ip: Option<IpAddr>,
}

impl TokioEnv {
    /// `logfile` empty = stdout. The seed comes from the OS: production runs need no replay.
    pub fn new(logfile: &str) -> io::Result<Self> {
        let logfile = if logfile.is_empty() {
            None
        } else {
            Some(Arc::new(std::sync::Mutex::new(
                OpenOptions::new().create(true).append(true).open(logfile)?,
            )))
        };
        let mut seed = [0u8; 8];
        getrandom(&mut seed);
        Ok(TokioEnv {
            origin: Instant::now(),
            seed: u64::from_le_bytes(seed),
            logfile,
            source_ip: None,
        })
    }

    /// The same Env, with outgoing connections made from `ip` (a live-mode client on its own
    /// loopback address, so that a partition can cut it off).
    pub fn with_source_ip(self, ip: IpAddr) -> Self {
        TokioEnv {
            source_ip: Some(ip),
            ..self
        }
    }
}

/// OS entropy for the production seed, read from /dev/urandom (falling back to the clock).
fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    let ok = File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_ok();
    if !ok {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        buf.copy_from_slice(&(t ^ std::process::id() as u64).to_le_bytes()[..buf.len()]);
    }
}

/// A TCP or Unix domain socket listener.
pub enum TokioListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// A connection over TCP or a Unix domain socket.
pub enum TokioStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Unix socket peers have no IP address: they show as loopback (they are local).
const UNIX_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl Listener for TokioListener {
    type Stream = TokioStream;
    fn accept(&self) -> BoxFuture<'_, io::Result<(TokioStream, SocketAddr, SocketAddr)>> {
        Box::pin(async move {
            match self {
                TokioListener::Tcp(l) => {
                    let (s, peer) = l.accept().await?;
                    s.set_nodelay(true)?;
                    let local = s.local_addr()?;
                    Ok((TokioStream::Tcp(s), peer, local))
                }
                TokioListener::Unix(l) => {
                    let (s, _) = l.accept().await?;
                    Ok((TokioStream::Unix(s), UNIX_PEER, UNIX_PEER))
                }
            }
        })
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            TokioListener::Tcp(l) => l.local_addr(),
            TokioListener::Unix(_) => Ok(UNIX_PEER),
        }
    }
}

impl AsyncRead for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            TokioStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TokioStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            TokioStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            TokioStream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            TokioStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl Env for TokioEnv {
    type Listener = TokioListener;
    type Stream = TokioStream;

    fn mono_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
    fn unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
    }
    fn sleep_until(&self, deadline_ms: u64) -> BoxFuture<'static, ()> {
        let at = self.origin + Duration::from_millis(deadline_ms);
        Box::pin(tokio::time::sleep_until(at.into()))
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<TokioListener>> {
        Box::pin(async move {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            Ok(TokioListener::Tcp(socket.listen(511)?))
        })
    }
    fn bind_unix(&self, path: String, perm: u32) -> BoxFuture<'static, io::Result<TokioListener>> {
        Box::pin(async move {
            use std::os::unix::fs::PermissionsExt;
            // Like Redis, a socket file left by an earlier run is replaced.
            let _ = fs::remove_file(&path);
            let listener = UnixListener::bind(&path)?;
            if perm != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(perm))?;
            }
            Ok(TokioListener::Unix(listener))
        })
    }
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> BoxFuture<'static, io::Result<(TokioStream, SocketAddr)>> {
        let source_ip = self.source_ip;
        Box::pin(async move {
            let s = match source_ip {
                None => TcpStream::connect((host.as_str(), port)).await?,
                Some(ip) => {
                    let to = tokio::net::lookup_host((host.as_str(), port))
                        .await?
                        .next()
                        .ok_or(io::ErrorKind::NotFound)?;
                    let socket = match ip {
                        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
                    };
                    socket.bind(SocketAddr::new(ip, 0))?;
                    socket.connect(to).await?
                }
            };
            s.set_nodelay(true)?;
            let local = s.local_addr()?;
            Ok((TokioStream::Tcp(s), local))
        })
    }
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<std::net::IpAddr>> {
        Box::pin(async move {
            let mut addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            addrs
                .next()
                .map(|a| a.ip())
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        })
    }
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
    fn disk(&self) -> &dyn Disk {
        &FsDisk
    }
    fn log_line(&self, line: &str) {
        match &self.logfile {
            Some(f) => {
                let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
                let _ = writeln!(f, "{line}");
            }
            // A closed stdout (the reader went away) must not take the server down: like
            // Redis, the line is dropped.
            None => {
                let _ = writeln!(io::stdout().lock(), "{line}");
            }
        }
    }
    fn termination(&self) -> BoxFuture<'static, &'static str> {
        Box::pin(async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return std::future::pending().await;
            };
            tokio::select! {
                biased;
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        })
    }
    fn trace(&self, _event: &str) {}
    fn exit(&self, code: i32) {
        let _ = io::stdout().flush();
        std::process::exit(code);
    }
    fn pid(&self) -> u32 {
        std::process::id()
    }
    fn run_script(&self, argv: Vec<String>, kill: Arc<Notify>) -> BoxFuture<'static, ScriptExit> {
        Box::pin(async move {
            use std::os::unix::process::ExitStatusExt;
            let Some((path, args)) = argv.split_first() else {
                return ScriptExit { code: 2, signal: 0 };
            };
            // Redis' child exits with 2 when execve fails: not retried.
            let Ok(mut child) = tokio::process::Command::new(path).args(args).spawn() else {
                return ScriptExit { code: 2, signal: 0 };
            };
            let status = tokio::select! {
                biased;
                status = child.wait() => status,
                _ = kill.notified() => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            match status {
                Ok(s) => ScriptExit {
                    code: s.code().unwrap_or(0),
                    signal: s.signal().unwrap_or(0),
                },
                Err(_) => ScriptExit { code: 2, signal: 0 },
            }
        })
    }
}

/// The real filesystem.
pub struct FsDisk;

impl Disk for FsDisk {
    fn check_executable(&self, path: &str) -> io::Result<()> {
        match crate::cli::executable(path) {
            true => Ok(()),
            false => Err(io::ErrorKind::PermissionDenied.into()),
        }
    }
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        fs::read(path)
    }
    fn write(&self, path: &str, data: &[u8]) -> io::Result<()> {
        fs::write(path, data)
    }
    fn append(&self, path: &str, data: &[u8]) -> io::Result<()> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(data)
    }
    fn fsync(&self, path: &str) -> io::Result<()> {
        OpenOptions::new().write(true).open(path)?.sync_all()
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove(&self, path: &str) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn create_dir(&self, path: &str) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn fsync_dir(&self, path: &str) -> io::Result<()> {
        let dir = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
}
