//! The simulator's own cost floor for a scenario's traffic: madsim nodes and TCP connections
//! carrying the same number of small messages per simulated second, and the same cron ticks,
//! with handlers that do nothing else. Whatever redsim does per message comes on top of this, so
//! the ratio printed bounds what any scenario with that much traffic can reach on madsim.
//!
//! `cargo run --release -p redsim-sim --example net_floor -- SERVERS SENTINELS MESSAGES_PER_S [SECONDS]`
//!
//! Each Sentinel holds two links (command and pub/sub) to every server and sends requests on
//! them from one timer, as a Sentinel does; servers answer each request. Servers tick at Redis'
//! hz 10, Sentinels at 15 (the middle of Sentinel's 10..19). `sim sweep` prints a scenario's
//! "messages / sim s"; `bench/sim.sh` feeds the 305-node scenario's figure to this probe.

use madsim::net::{TcpListener, TcpStream};
use madsim::runtime::{Handle, Runtime};
use madsim::time::sleep;
use redsim_sim::run::node_ip;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

const PORT: u16 = 6379;
const REQUEST: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const REPLY: &[u8] = b"+PONG\r\n";
const LINKS_PER_SERVER: usize = 2;
const SERVER_HZ: u64 = 10;
const SENTINEL_HZ: u64 = 15;

/// Messages delivered: requests read by servers plus replies read by Sentinels.
static DELIVERED: AtomicU64 = AtomicU64::new(0);

fn ip(group: u8, i: usize) -> IpAddr {
    IpAddr::V4(node_ip(group, i))
}

/// A timer that fires `hz` times a second and does nothing, like an idle server cron.
async fn cron(hz: u64) {
    loop {
        sleep(Duration::from_millis(1000 / hz)).await;
    }
}

/// Answers every read with one reply, like a server answering PINGs.
async fn serve(mut stream: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 || stream.write_all(REPLY).await.is_err() || stream.flush().await.is_err() {
            return;
        }
        DELIVERED.fetch_add(1, Ordering::Relaxed);
    }
}

async fn server(addr: SocketAddr) {
    madsim::task::spawn(cron(SERVER_HZ));
    let Ok(listener) = TcpListener::bind(addr).await else {
        return;
    };
    while let Ok((stream, _)) = listener.accept().await {
        madsim::task::spawn(serve(stream));
    }
}

/// Connects, retrying while the server does not listen yet.
async fn connect(addr: SocketAddr) -> TcpStream {
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn read_replies(mut rd: ReadHalf<TcpStream>) {
    let mut buf = vec![0u8; 16 * 1024];
    while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {
        DELIVERED.fetch_add(1, Ordering::Relaxed);
    }
}

/// One Sentinel: a single timer that sends a request on each link every `every_ticks` ticks,
/// spread so that each tick serves an equal share of the links.
async fn sentinel(servers: Vec<SocketAddr>, every_ticks: u64) {
    let mut links: Vec<WriteHalf<TcpStream>> = Vec::new();
    for addr in servers {
        for _ in 0..LINKS_PER_SERVER {
            let (rd, wr) = tokio::io::split(connect(addr).await);
            madsim::task::spawn(read_replies(rd));
            links.push(wr);
        }
    }
    for tick in 0u64.. {
        sleep(Duration::from_millis(1000 / SENTINEL_HZ)).await;
        for (j, wr) in links.iter_mut().enumerate() {
            if (tick + j as u64).is_multiple_of(every_ticks) {
                let _ = wr.write_all(REQUEST).await;
                let _ = wr.flush().await;
            }
        }
    }
}

fn arg(args: &[String], i: usize, default: u64) -> u64 {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (servers, sentinels) = (arg(&args, 0, 300) as usize, arg(&args, 1, 5) as usize);
    let (messages_per_s, seconds) = (arg(&args, 2, 10_000).max(1), arg(&args, 3, 60));
    let links = (servers * sentinels * LINKS_PER_SERVER) as f64;
    // A request and its reply are two messages: each link sends messages_per_s / 2 / links a
    // second, once every so many Sentinel ticks.
    let every_ticks =
        ((links * 2.0 * SENTINEL_HZ as f64 / messages_per_s as f64).round() as u64).max(1);
    let wall = std::time::Instant::now();
    Runtime::with_seed_and_config(1, madsim::Config::default()).block_on(async move {
        let handle = Handle::current();
        let addrs: Vec<SocketAddr> = (0..servers)
            .map(|i| SocketAddr::new(ip(1, i), PORT))
            .collect();
        // Nodes live as long as the runtime keeps their handles.
        let mut nodes = Vec::new();
        for &addr in &addrs {
            let node = handle
                .create_node()
                .ip(addr.ip())
                .init(move || server(addr));
            nodes.push(node.build());
        }
        for s in 0..sentinels {
            let addrs = addrs.clone();
            let node = handle.create_node().ip(ip(2, s)).init(move || {
                let addrs = addrs.clone();
                async move {
                    madsim::task::spawn(cron(SENTINEL_HZ));
                    sentinel(addrs, every_ticks).await
                }
            });
            nodes.push(node.build());
        }
        sleep(Duration::from_secs(seconds)).await;
        drop(nodes);
    });
    let wall_s = wall.elapsed().as_secs_f64();
    let delivered = DELIVERED.load(Ordering::Relaxed) / seconds.max(1);
    println!(
        "{} nodes, {links} links, {delivered} messages / sim s: {seconds} s simulated in \
         {wall_s:.2} s wall, {:.0}x",
        servers + sentinels,
        seconds as f64 / wall_s
    );
}
