//! The one async shell: drives a sans-IO `Server` over any `Env` (tokio in production, madsim in
//! simulation). It owns the sockets, the cron timer and the disk, and does exactly what the core's
//! actions say, in order.
//!
//! Each connection is one task that both reads and writes, so a reply needs no channel hop: after
//! feeding input to the core it writes its own outbox. Output for other connections (pub/sub
//! messages, CLIENT KILL) is appended to their outboxes and their task is woken. Like Redis, a
//! connection keeps being read while its output waits for the peer to read, and each partial
//! write is reported to the core, which measures and limits what a client holds (`core/obuf.rs`).

use crate::config::Config;
use crate::core::{Action, ConnId, Server};
use crate::env::{run_disk_op, Env, Listener};
use bytes::BytesMut;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// Bytes read from a socket per read call.
const READ_CHUNK_BYTES: usize = 16 * 1024;

#[derive(Default)]
struct Outbox {
    data: BytesMut,
    close: bool,
    /// Close at once: what was not written yet is dropped.
    drop_unsent: bool,
    /// The core asked not to read this connection for now.
    read_paused: bool,
}

#[derive(Default)]
struct Conn {
    out: Mutex<Outbox>,
    wake: Notify,
}

/// A running server node: the core behind a lock, plus the connection registry.
pub struct Node<E: Env> {
    env: E,
    core: Mutex<Server>,
    conns: Mutex<BTreeMap<ConnId, Arc<Conn>>>,
    next_conn: AtomicU64,
    /// Running Sentinel scripts, by run id: notify to kill.
    scripts: Mutex<BTreeMap<u64, Arc<Notify>>>,
    /// The deadline the cron timer sleeps until, and its wake-up when the core wants it sooner
    /// (a command started a background save, a load is paced faster than the cron).
    timer_deadline_ms: AtomicU64,
    timer_wake: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock is a bug already reported; keep serving the rest.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The addresses a `bind` config asks for; a leading `-` marks one that may fail.
fn bind_addrs(config: &Config) -> Vec<(SocketAddr, bool)> {
    config
        .bind
        .iter()
        .filter_map(|b| {
            let (optional, b) = b
                .strip_prefix('-')
                .map_or((false, b.as_str()), |r| (true, r));
            let ip: IpAddr = match b {
                "*" => Ipv4Addr::UNSPECIFIED.into(),
                "::*" => Ipv6Addr::UNSPECIFIED.into(),
                other => other.parse().ok()?,
            };
            Some((SocketAddr::new(ip, config.port), optional))
        })
        .collect()
}

/// Runs a server until it exits. Returns an error if it cannot listen.
pub async fn run_server<E: Env>(
    env: E,
    mut config: Config,
    config_text: Option<String>,
) -> io::Result<()> {
    config.pid = env.pid();
    let mut listeners = Vec::new();
    for (addr, optional) in bind_addrs(&config) {
        match env.bind(addr).await {
            Ok(l) => listeners.push(l),
            Err(_) if optional => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "Warning: Could not create server TCP listening socket {addr}: bind: {e}\n\
                         Failed listening on port {} (tcp), aborting.",
                        config.port
                    ),
                ))
            }
        }
    }
    if let Some(path) = config.unixsocket.clone() {
        match env.bind_unix(path, config.unixsocketperm).await {
            Ok(l) => listeners.push(l),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Failed opening Unix socket: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("Failed listening on port {} (tcp), aborting.", config.port),
        ));
    }
    let mut server = Server::new(config, env.seed(), config_text, env.now());
    let clock_env = env.clone();
    server.scripting.clock = Some(Arc::new(move || clock_env.mono_ms()));
    let node = Arc::new(Node {
        env: env.clone(),
        core: Mutex::new(server),
        conns: Mutex::new(BTreeMap::new()),
        next_conn: AtomicU64::new(3),
        scripts: Mutex::new(BTreeMap::new()),
        timer_deadline_ms: AtomicU64::new(u64::MAX),
        timer_wake: Notify::new(),
    });
    node.perform(&mut lock(&node.core));
    let last = listeners.pop().expect("at least one listener");
    for l in listeners {
        let node = node.clone();
        env.spawn(Box::pin(async move { node.accept_loop(l).await }));
    }
    let signal_node = node.clone();
    let signal_env = env.clone();
    env.spawn(Box::pin(async move {
        // Every signal counts: a SHUTDOWN ABORT may follow one, and a second SIGINT exits.
        loop {
            let name = signal_env.termination().await;
            signal_node.with_core(|core, now| core.handle_termination(now, name));
        }
    }));
    let timer_node = node.clone();
    env.spawn(Box::pin(async move { timer_node.cron_loop().await }));
    node.accept_loop(last).await;
    Ok(())
}

impl<E: Env> Node<E> {
    /// Runs `f` on the core, then performs the actions it produced.
    fn with_core(self: &Arc<Self>, f: impl FnOnce(&mut Server, crate::core::Now)) {
        let mut core = lock(&self.core);
        f(&mut core, self.env.now());
        self.perform(&mut core);
        let sooner = core
            .poll_timeout()
            .is_some_and(|t| t < self.timer_deadline_ms.load(Ordering::Relaxed));
        if sooner {
            self.timer_wake.notify_one();
        }
    }

    fn perform(self: &Arc<Self>, core: &mut Server) {
        while let Some(action) = core.poll_action() {
            match action {
                Action::Connect { conn, host, port } => self.connect(conn, host, port),
                Action::Send { conn, data } => {
                    self.enqueue(conn, |o| o.data.extend_from_slice(&data))
                }
                Action::Close { conn } => self.enqueue(conn, |o| o.close = true),
                Action::CloseNow { conn } => self.enqueue(conn, |o| {
                    o.data.clear();
                    o.close = true;
                    o.drop_unsent = true;
                }),
                Action::SetReading { conn, reading } => {
                    self.enqueue(conn, |o| o.read_paused = !reading)
                }
                Action::Disk { token, op } => {
                    let result = run_disk_op(self.env.disk(), &op).map_err(|e| e.to_string());
                    core.handle_disk_done(self.env.now(), token, result);
                }
                Action::Log { level, role, msg } => {
                    let line = crate::log::format_line(
                        self.env.pid(),
                        role,
                        self.env.unix_ms(),
                        level,
                        &msg,
                    );
                    self.env.log_line(&line);
                }
                Action::LogRaw(text) => self.env.log_line(&text),
                Action::Trace(event) => self.env.trace(&event),
                Action::Exit { code } => self.env.exit(code),
                Action::RunScript { id, argv } => self.run_script(id, argv),
                Action::Resolve { host } => self.resolve(host),
                Action::KillScript { id } => {
                    if let Some(kill) = lock(&self.scripts).get(&id) {
                        kill.notify_one();
                    }
                }
            }
        }
    }

    /// Runs a Sentinel script in its own task and reports its end to the core.
    fn run_script(self: &Arc<Self>, id: u64, argv: Vec<String>) {
        let kill = Arc::new(Notify::new());
        lock(&self.scripts).insert(id, kill.clone());
        let node = self.clone();
        let run = self.env.run_script(argv, kill);
        self.env.spawn(Box::pin(async move {
            let exit = run.await;
            lock(&node.scripts).remove(&id);
            node.with_core(|core, now| core.handle_script_exit(now, id, exit.code, exit.signal));
        }));
    }

    /// Resolves a host name in its own task and reports the address to the core.
    fn resolve(self: &Arc<Self>, host: String) {
        let node = self.clone();
        self.env.spawn(Box::pin(async move {
            let ip = node.env.resolve(host.clone()).await.ok();
            node.with_core(|core, _| core.handle_resolved(&host, ip));
        }));
    }

    /// Opens an outbound connection in its own task, then serves it like any other.
    fn connect(self: &Arc<Self>, id: ConnId, host: String, port: u16) {
        let node = self.clone();
        self.env.spawn(Box::pin(async move {
            match node.env.connect(host, port).await {
                Ok((stream, local)) => {
                    let conn = Arc::new(Conn::default());
                    lock(&node.conns).insert(id, conn.clone());
                    node.with_core(|core, now| core.handle_connected(now, id, local));
                    node.clone().serve(id, conn, stream).await;
                }
                Err(e) => {
                    node.with_core(|core, now| core.handle_connect_failed(now, id, &e.to_string()))
                }
            }
        }));
    }

    fn enqueue(&self, conn: ConnId, f: impl FnOnce(&mut Outbox)) {
        let Some(c) = lock(&self.conns).get(&conn).cloned() else {
            return;
        };
        f(&mut lock(&c.out));
        c.wake.notify_one();
    }

    async fn cron_loop(self: Arc<Self>) {
        loop {
            let Some(deadline) = lock(&self.core).poll_timeout() else {
                return;
            };
            self.timer_deadline_ms.store(deadline, Ordering::Relaxed);
            tokio::select! {
                biased;
                _ = self.timer_wake.notified() => continue,
                _ = self.env.sleep_until(deadline) => {}
            }
            // Awake: the loop reads the next deadline itself.
            self.timer_deadline_ms.store(0, Ordering::Relaxed);
            self.with_core(|core, now| core.handle_timeout(now));
        }
    }

    async fn accept_loop(self: Arc<Self>, listener: E::Listener) {
        loop {
            let (stream, peer, local) = match listener.accept().await {
                Ok(s) => s,
                // Accept errors (EMFILE, aborted handshakes) are transient; keep listening.
                Err(_) => continue,
            };
            let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
            let conn = Arc::new(Conn::default());
            lock(&self.conns).insert(id, conn.clone());
            self.with_core(|core, now| core.handle_accept(now, id, peer, local));
            let node = self.clone();
            self.env
                .spawn(Box::pin(async move { node.serve(id, conn, stream).await }));
        }
    }

    /// Reads and writes at once: a peer that does not read its replies is still read, so the
    /// core sees its output grow (and cuts it at its limit) as Redis does.
    async fn serve(self: Arc<Self>, id: ConnId, conn: Arc<Conn>, stream: E::Stream) {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut buf = vec![0u8; READ_CHUNK_BYTES];
        let mut writing = BytesMut::new();
        loop {
            let (close, read_paused) = {
                let mut o = lock(&conn.out);
                if o.drop_unsent {
                    writing.clear();
                }
                if writing.is_empty() {
                    writing = o.data.split();
                }
                (o.close, o.read_paused)
            };
            if close && writing.is_empty() {
                let _ = writer.shutdown().await;
                break;
            }
            tokio::select! {
                biased;
                _ = conn.wake.notified() => {}
                w = writer.write(&writing), if !writing.is_empty() => match w {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        // Buffered streams (the simulator's) send on flush.
                        if writer.flush().await.is_err() {
                            break;
                        }
                        let _ = writing.split_to(n);
                        self.with_core(|core, _| core.handle_written(id, n));
                    }
                },
                r = reader.read(&mut buf), if !close && !read_paused => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.with_core(|core, now| core.handle_data(now, id, &buf[..n])),
                },
            }
        }
        lock(&self.conns).remove(&id);
        self.with_core(|core, now| core.handle_closed(now, id));
    }
}
