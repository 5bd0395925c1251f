//! Live mode's observations, turned into the simulator's trace lines: every Sentinel's events
//! (a `PSUBSCRIBE *` connection, reopened when it breaks: `+sdown master mymaster 10.1.0.1 6379`
//! as the simulated Sentinels trace it), and every server's role, polled with ROLE (`ready` at
//! its first answer, then `role master` / `replicaof <ip>:<port>` when it changes). Addresses are
//! written as the simulator's (`crate::live_proc::to_sim`). Not seen live: the `~` lines the
//! simulated Sentinels add for the checks, and the servers' own events (syncs, loads, links).

use crate::client::{sleep_ms, Conn};
use crate::live_proc::to_sim;
use crate::trace::Trace;
use redsim::env::Env;
use redsim::resp::Frame;
use redsim::tokio_env::TokioEnv;
use std::net::SocketAddr;

/// Time between two ROLE readings of a server, and before a broken subscription is reopened.
const POLL_MS: u64 = 100;

/// Where the observations go: the trace, and the slot whose addresses are renamed.
#[derive(Clone)]
pub struct Observer {
    pub env: TokioEnv,
    pub trace: Trace,
    pub slot: u8,
}

impl Observer {
    fn record(&self, who: &str, event: &str) {
        let line = to_sim(self.slot, event);
        self.trace.record(self.env.mono_ms(), who, line);
    }

    /// Follows one Sentinel's events for as long as the task lives.
    pub async fn sentinel(self, name: String, addr: SocketAddr) {
        loop {
            if let Ok(mut c) = Conn::open(&self.env, addr).await {
                if c.send(&[b"PSUBSCRIBE", b"*"]).await.is_ok() {
                    while let Ok(frame) = c.next_frame().await {
                        if let Some(event) = event_of(&frame) {
                            self.record(&name, &event);
                        }
                    }
                }
            }
            sleep_ms(&self.env, POLL_MS).await;
        }
    }

    /// Follows one server's role for as long as the task lives.
    pub async fn server(self, name: String, addr: SocketAddr) {
        let mut last: Option<String> = None;
        loop {
            sleep_ms(&self.env, POLL_MS).await;
            let Some(role) = crate::sentinel::role_of(&self.env, addr).await else {
                continue;
            };
            let now = match role {
                None => "role master".to_string(),
                Some((host, port)) => format!("replicaof {host}:{port}"),
            };
            match &last {
                None => {
                    self.record(&name, "ready");
                    if now != "role master" {
                        self.record(&name, &now);
                    }
                }
                Some(before) if *before != now => self.record(&name, &now),
                Some(_) => {}
            }
            last = Some(now);
        }
    }
}

/// A `pmessage` push as a trace event: `<channel> <message>`.
fn event_of(frame: &Frame) -> Option<String> {
    let Frame::Array(items) = frame else {
        return None;
    };
    let [Frame::Bulk(kind), _, Frame::Bulk(channel), Frame::Bulk(message)] = items.as_slice()
    else {
        return None;
    };
    (kind.as_ref() == b"pmessage").then(|| {
        format!(
            "{} {}",
            String::from_utf8_lossy(channel),
            String::from_utf8_lossy(message)
        )
    })
}
