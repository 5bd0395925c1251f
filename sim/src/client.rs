//! The simulated workload client: what an application does to a Redis server, with the
//! bookkeeping a checker needs (which writes were acknowledged, and when; how many reads from a
//! replica were stale) and transitions in the trace: `+link` / `-link (why)`, and `-err CODE` /
//! `+ok` when writes start being refused with an error reply / are acknowledged again.
//!
//! It runs over any `Env`: `SimEnv` inside the simulator, `TokioEnv` in live mode (`crate::live`).

use crate::trace::Trace;
use bytes::{Bytes, BytesMut};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use redsim::env::Env;
use redsim::resp::{encode_command, parse_frame, Frame};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a client waits to connect or for a reply before it gives up on the connection.
const REPLY_TIMEOUT_MS: u64 = 1_000;
/// Largest reply a client accepts.
const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;
/// Acknowledged keys waiting to be read from the replica (more are not read).
const REPLICA_READ_QUEUE: usize = 64;

/// A write the server acknowledged with +OK.
#[derive(Debug, Clone)]
pub struct Ack {
    pub value: Bytes,
    /// When the request was sent (simulated ms since the run started).
    pub sent_ms: u64,
    /// When the reply arrived.
    pub at_ms: u64,
}

/// What one client saw, read by the checker at the end.
#[derive(Debug, Default)]
pub struct ClientLog {
    /// key -> every write the server acknowledged with +OK.
    pub acked: BTreeMap<Bytes, Ack>,
    /// Writes that got an error reply or no reply (outcome unknown).
    pub failed_writes: u64,
    /// Error replies to writes, by error code (`MISCONF`, `ERR`, ...).
    pub write_errors: BTreeMap<String, u64>,
    /// Reads of a key just written that did not return the written value.
    pub stale_reads: u64,
    /// Reads of a key just acknowledged from the `read_from` replica, and how many were stale.
    pub replica_reads: u64,
    pub replica_stale_reads: u64,
}

pub struct ClientSpec<E: Env> {
    /// The client's clocks and network; its `mono_ms` is the run's time.
    pub env: E,
    pub name: String,
    pub server: SocketAddr,
    pub interval_ms: u64,
    pub seed: u64,
    pub trace: Trace,
    pub log: Arc<Mutex<ClientLog>>,
    /// The server's `requirepass`, sent with AUTH on every new connection.
    pub password: Option<Bytes>,
    /// Find the master through these Sentinels, by this master name, on every new connection.
    pub discover: Option<(Vec<SocketAddr>, String)>,
    /// A replica to read each acknowledged key back from, and its `requirepass`.
    pub read_from: Option<(SocketAddr, Option<Bytes>)>,
}

/// `fut`'s output, or `None` if `ms` pass first.
pub async fn within<E: Env, T>(env: &E, ms: u64, fut: impl Future<Output = T>) -> Option<T> {
    let deadline = env.sleep_until(env.mono_ms() + ms);
    tokio::select! {
        biased;
        out = fut => Some(out),
        () = deadline => None,
    }
}

/// Sleeps `ms` on the env's clock.
pub async fn sleep_ms<E: Env>(env: &E, ms: u64) {
    env.sleep_until(env.mono_ms() + ms).await
}

/// One open connection with its read buffer.
pub struct Conn<E: Env> {
    env: E,
    stream: E::Stream,
    buf: BytesMut,
}

impl<E: Env> Conn<E> {
    pub async fn open(env: &E, addr: SocketAddr) -> Result<Conn<E>, String> {
        let connect = env.connect(addr.ip().to_string(), addr.port());
        match within(env, REPLY_TIMEOUT_MS, connect).await {
            Some(Ok((stream, _))) => Ok(Conn {
                env: env.clone(),
                stream,
                buf: BytesMut::new(),
            }),
            Some(Err(e)) => Err(format!("{:?}", e.kind())),
            None => Err("connect timeout".into()),
        }
    }

    /// Opens a connection and, given a password, authenticates it.
    pub async fn open_as(
        env: &E,
        addr: SocketAddr,
        password: Option<&[u8]>,
    ) -> Result<Conn<E>, String> {
        let mut conn = Conn::open(env, addr).await?;
        if let Some(p) = password {
            match conn.call(&[b"AUTH", p]).await? {
                Frame::Simple(_) => {}
                Frame::Error(e) => return Err(e),
                other => return Err(format!("AUTH answered {other:?}")),
            }
        }
        Ok(conn)
    }

    /// Sends one command and waits for its reply.
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Frame, String> {
        let req = encode_command(args);
        let env = self.env.clone();
        within(&env, REPLY_TIMEOUT_MS, self.round_trip(&req))
            .await
            .unwrap_or_else(|| Err("timeout".into()))
    }

    /// Sends one command without waiting for a reply (SUBSCRIBE-style streams).
    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let req = encode_command(args);
        self.stream
            .write_all(&req)
            .await
            .map_err(|e| format!("{:?}", e.kind()))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("{:?}", e.kind()))
    }

    /// The next frame the server sends, however long it takes.
    pub async fn next_frame(&mut self) -> Result<Frame, String> {
        loop {
            if let Some((frame, n)) = parse_frame(&self.buf, MAX_REPLY_BYTES).map_err(|e| e.0)? {
                let _ = self.buf.split_to(n);
                return Ok(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("{:?}", e.kind()))?;
            if n == 0 {
                return Err("closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn round_trip(&mut self, req: &[u8]) -> Result<Frame, String> {
        self.stream
            .write_all(req)
            .await
            .map_err(|e| format!("{:?}", e.kind()))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("{:?}", e.kind()))?;
        self.next_frame().await
    }
}

/// Connects to the client's server, or to the master its Sentinels name.
async fn open_target<E: Env>(spec: &ClientSpec<E>) -> Result<Conn<E>, String> {
    let addr = match &spec.discover {
        None => spec.server,
        Some((sentinels, master)) => crate::sentinel::discover_master(&spec.env, sentinels, master)
            .await
            .ok_or("no master from sentinels")?,
    };
    Conn::open_as(&spec.env, addr, spec.password.as_deref()).await
}

/// Runs the write-read workload forever (the harness kills the node to stop it).
pub async fn run_write_read<E: Env>(spec: ClientSpec<E>) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut conn: Option<Conn<E>> = None;
    // Replica reads run beside the writes, so a replica that is down never slows them.
    let to_replica = spec.read_from.clone().map(|target| {
        let (tx, rx) = tokio::sync::mpsc::channel(REPLICA_READ_QUEUE);
        spec.env.spawn(Box::pin(read_from_replica(
            spec.env.clone(),
            target,
            rx,
            spec.log.clone(),
        )));
        tx
    });
    let mut link_up = false;
    // Writes are being answered with error replies.
    let mut refused = false;
    let mut n: u64 = 0;
    let at = |spec: &ClientSpec<E>| spec.env.mono_ms();
    loop {
        // Jitter keeps clients from marching in lockstep; it comes from the seed.
        let jitter = rng.next_u64() % (spec.interval_ms / 10 + 1);
        sleep_ms(&spec.env, spec.interval_ms + jitter).await;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match open_target(&spec).await {
                Ok(c) => {
                    if !link_up {
                        spec.trace.record(at(&spec), &spec.name, "+link");
                        link_up = true;
                    }
                    conn.insert(c)
                }
                Err(e) => {
                    if link_up {
                        spec.trace
                            .record(at(&spec), &spec.name, format!("-link ({e})"));
                        link_up = false;
                    }
                    continue;
                }
            },
        };
        n += 1;
        let key = format!("{}:{n}", spec.name);
        let value = format!("v{n}");
        let sent_ms = at(&spec);
        let outcome = c.call(&[b"SET", key.as_bytes(), value.as_bytes()]).await;
        let now = at(&spec);
        let acked = matches!(&outcome, Ok(Frame::Simple(s)) if s == "OK");
        let error = match &outcome {
            Ok(Frame::Error(e)) => Some(e.split(' ').next().unwrap_or_default().to_string()),
            _ => None,
        };
        {
            let mut log = spec.log.lock().unwrap_or_else(|p| p.into_inner());
            if acked {
                log.acked.insert(
                    Bytes::from(key.clone()),
                    Ack {
                        value: Bytes::from(value.clone()),
                        sent_ms,
                        at_ms: now,
                    },
                );
            } else {
                log.failed_writes += 1;
            }
            if let Some(code) = &error {
                *log.write_errors.entry(code.clone()).or_default() += 1;
            }
        }
        match (&error, refused, acked) {
            (Some(code), false, _) => spec.trace.record(now, &spec.name, format!("-err {code}")),
            (None, true, true) => spec.trace.record(now, &spec.name, "+ok"),
            _ => {}
        }
        if error.as_deref() == Some("READONLY") && spec.discover.is_some() {
            // A demoted master: ask the Sentinels again.
            conn = None;
            continue;
        }
        if error.is_some() {
            refused = true;
        } else if acked {
            refused = false;
        }
        if let Err(e) = outcome {
            spec.trace.record(now, &spec.name, format!("-link ({e})"));
            link_up = false;
            conn = None;
            continue;
        }
        if !acked {
            continue;
        }
        if let Some(tx) = &to_replica {
            let _ = tx.try_send((key.clone(), value.clone()));
        }
        let read = c.call(&[b"GET", key.as_bytes()]).await;
        match read {
            Ok(Frame::Bulk(v)) if v == value.as_bytes() => {}
            Ok(_) => {
                spec.log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .stale_reads += 1
            }
            Err(e) => {
                spec.trace
                    .record(at(&spec), &spec.name, format!("-link ({e})"));
                link_up = false;
                conn = None;
            }
        }
    }
}

/// Reads each acknowledged key from the replica as it comes (connecting when needed) and counts
/// the reads, and the stale ones; a failed read drops the connection and counts nothing.
async fn read_from_replica<E: Env>(
    env: E,
    (addr, password): (SocketAddr, Option<Bytes>),
    mut keys: tokio::sync::mpsc::Receiver<(String, String)>,
    log: Arc<Mutex<ClientLog>>,
) {
    let mut replica: Option<Conn<E>> = None;
    while let Some((key, value)) = keys.recv().await {
        if replica.is_none() {
            replica = Conn::open_as(&env, addr, password.as_deref()).await.ok();
        }
        let Some(conn) = replica.as_mut() else {
            continue;
        };
        match conn.call(&[b"GET", key.as_bytes()]).await {
            Ok(frame) => {
                let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                log.replica_reads += 1;
                if frame != Frame::Bulk(Bytes::from(value)) {
                    log.replica_stale_reads += 1;
                }
            }
            Err(_) => replica = None,
        }
    }
}
