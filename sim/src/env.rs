//! `SimEnv`: the `Env` of a node inside the madsim simulator. Clocks are simulated (the wall
//! clock can be jumped per node), the network is madsim's, the disk is the harness-owned
//! `SimDisk`, and trace events and log lines go to the run's collectors.

use crate::check::SaveWatch;
use crate::disk::SimDisk;
use crate::repl_check::RoleWatch;
use crate::trace::Trace;
use madsim::net::{TcpListener, TcpStream};
use madsim::runtime::Handle;
use madsim::task::NodeId;
use madsim::time::Instant;
use redsim::env::{BoxFuture, Disk, Env, Listener, ScriptExit};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What the harness keeps about a node across its restarts.
pub struct NodeShared {
    pub name: String,
    pub disk: SimDisk,
    /// Added to the simulated wall clock (clock-jump faults).
    pub wall_offset_ms: AtomicI64,
    pub node_id: Mutex<Option<NodeId>>,
    /// Bounded log of this node's Redis-format lines (printed when a run fails).
    pub log: Mutex<std::collections::VecDeque<String>>,
    /// This node's saves, followed through its trace events (even when the trace is quiet).
    pub saves: Mutex<SaveWatch>,
    /// This node's roles over time, followed through its trace events.
    pub roles: Mutex<RoleWatch>,
}

/// Log lines kept per node.
const LOG_LINES_KEPT: usize = 200;

impl NodeShared {
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(NodeShared {
            name: name.to_string(),
            disk: SimDisk::default(),
            wall_offset_ms: AtomicI64::new(0),
            node_id: Mutex::new(None),
            log: Mutex::new(Default::default()),
            saves: Mutex::new(SaveWatch::default()),
            roles: Mutex::new(RoleWatch::default()),
        })
    }
}

#[derive(Clone)]
pub struct SimEnv {
    pub node: Arc<NodeShared>,
    origin: Instant,
    seed: u64,
    pid: u32,
    trace: Trace,
}

impl SimEnv {
    pub fn new(node: Arc<NodeShared>, origin: Instant, seed: u64, pid: u32, trace: Trace) -> Self {
        SimEnv {
            node,
            origin,
            seed,
            pid,
            trace,
        }
    }

    /// The env of a harness-side node (a client, the checker): its own clocks and network, no
    /// trace, no seed of its own.
    pub fn harness(name: &str, origin: Instant) -> Self {
        SimEnv::new(NodeShared::new(name), origin, 0, 0, Trace::default())
    }
}

pub struct SimListener(TcpListener);

impl Listener for SimListener {
    type Stream = TcpStream;
    fn accept(&self) -> BoxFuture<'_, io::Result<(TcpStream, SocketAddr, SocketAddr)>> {
        Box::pin(async move {
            let (s, peer) = self.0.accept().await?;
            let local = s.local_addr()?;
            Ok((s, peer, local))
        })
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Env for SimEnv {
    type Listener = SimListener;
    type Stream = TcpStream;

    fn mono_ms(&self) -> u64 {
        Instant::now().duration_since(self.origin).as_millis() as u64
    }
    fn unix_ms(&self) -> u64 {
        let t = madsim::time::TimeHandle::current().now_time();
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        (ms + self.node.wall_offset_ms.load(Ordering::Relaxed)).max(0) as u64
    }
    fn sleep_until(&self, deadline_ms: u64) -> BoxFuture<'static, ()> {
        Box::pin(madsim::time::sleep_until(
            self.origin + Duration::from_millis(deadline_ms),
        ))
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<SimListener>> {
        Box::pin(async move { Ok(SimListener(TcpListener::bind(addr).await?)) })
    }
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> BoxFuture<'static, io::Result<(TcpStream, SocketAddr)>> {
        Box::pin(async move {
            let s = TcpStream::connect((host.as_str(), port)).await?;
            let local = s.local_addr()?;
            Ok((s, local))
        })
    }
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<std::net::IpAddr>> {
        Box::pin(async move {
            let mut addrs = madsim::net::lookup_host((host.as_str(), 0)).await?;
            addrs
                .next()
                .map(|a| a.ip())
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        })
    }
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(madsim::task::spawn(task));
    }
    fn disk(&self) -> &dyn Disk {
        &self.node.disk
    }
    fn log_line(&self, line: &str) {
        let mut log = self.node.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= LOG_LINES_KEPT {
            log.pop_front();
        }
        log.push_back(line.to_string());
    }
    fn termination(&self) -> BoxFuture<'static, &'static str> {
        // Simulated processes are stopped by kill/crash faults, not signals.
        Box::pin(std::future::pending())
    }
    fn trace(&self, event: &str) {
        let now = self.mono_ms();
        self.node
            .saves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(now, event);
        self.node
            .roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(now, event);
        self.trace.record(now, &self.node.name, event);
    }
    fn exit(&self, code: i32) {
        self.trace(&format!("exit {code}"));
        if let Some(id) = *self.node.node_id.lock().unwrap_or_else(|p| p.into_inner()) {
            Handle::current().kill(id);
        }
    }
    fn pid(&self) -> u32 {
        self.pid
    }
    fn run_script(&self, _argv: Vec<String>, _kill: Arc<Notify>) -> BoxFuture<'static, ScriptExit> {
        Box::pin(async { ScriptExit { code: 0, signal: 0 } })
    }
}
