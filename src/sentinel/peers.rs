//! Links to other Sentinels, shared by every master both Sentinels watch (Redis' link sharing:
//! one connection and one PING cadence per peer, not per master). A peer's Sentinel instances
//! under each master lend the shared link while that master is handled (`lend`/`take_back`);
//! replies on it name the master they concern.

use super::instance::Master;
use super::link::{Channel, Expect, Link, LinkRef, Out, Who};
use super::Sentinel;
use crate::config::LogLevel;
use crate::core::{Action, ConnId, Now};
use crate::resp::Frame;

impl Sentinel {
    /// Moves the shared links of `m`'s Sentinels into their instances for the time `m` is
    /// handled; `take_back` returns them. Calling it twice is the same as lend then take back.
    pub(super) fn lend_peer_links(&mut self, m: &mut Master, now_ms: u64) {
        for (id, s) in m.sentinels.iter_mut() {
            let shared = match self.peers.get_mut(id) {
                Some(shared) => shared,
                None => self
                    .peers
                    .entry(id.clone())
                    .or_insert_with(|| Box::new(Link::new(now_ms))),
            };
            std::mem::swap(&mut s.link, shared);
        }
    }

    /// The link an instance talks through: its own, or the one shared with a peer Sentinel.
    pub fn link_of<'a>(&'a self, m: &'a Master, who: &Who) -> Option<&'a Link> {
        match who {
            Who::Sentinel(id) => self.peers.get(id).map(|l| &**l),
            _ => super::instance_ref(m, who).map(|i| &*i.link),
        }
    }

    /// How many masters share the link to Sentinel `id` (SENTINEL SENTINELS' link-refcount).
    pub fn peer_refcount(&self, id: &str) -> usize {
        self.masters
            .values()
            .filter(|m| m.sentinels.contains_key(id))
            .count()
    }

    pub(super) fn peer_connected(&mut self, id: &str, conn: ConnId, local_ip: String) {
        match self.peers.get_mut(id) {
            Some(link) => link.connected(&mut self.io, conn, local_ip),
            None => self.io.out.push_back(Out::Net(Action::Close { conn })),
        }
    }

    pub(super) fn peer_closed(&mut self, id: &str, conn: ConnId, chan: Channel) {
        if let Some(link) = self.peers.get_mut(id) {
            if link.chan_of(conn).is_some() {
                link.close(&mut self.io, chan);
            }
        }
    }

    /// Replies from a peer: PONGs update the shared link; votes and hello acknowledgements go
    /// to the master they were about.
    pub(super) fn peer_data(&mut self, id: &str, data: &[u8], now: Now) {
        let ms = now.mono_ms;
        let Some(link) = self.peers.get_mut(id) else {
            return;
        };
        let replies = match link.data(Channel::Cmd, data, ms) {
            Ok(v) => v,
            Err(e) => {
                link.close(&mut self.io, Channel::Cmd);
                let msg = format!("Closing link to sentinel {id}: protocol error: {e}");
                self.io.out.push_back(Out::Log {
                    level: LogLevel::Warning,
                    msg,
                });
                return;
            }
        };
        let who = Who::Sentinel(id.to_string());
        for (expect, frame) in replies {
            match expect {
                Expect::Ping => {
                    if let Some(link) = self.peers.get_mut(id) {
                        link.pong(&frame, ms);
                    }
                }
                Expect::IsMasterDown(master) => {
                    if let Some(mut m) = self.masters.remove(&master) {
                        self.master_down_reply(&mut m, &who, &frame, ms);
                        self.masters.insert(master, m);
                    }
                }
                Expect::Publish(master) => {
                    let ok = !matches!(frame, Frame::Error(_));
                    let s = self
                        .masters
                        .get_mut(&master)
                        .and_then(|m| m.sentinels.get_mut(id));
                    if let (Some(s), true) = (s, ok) {
                        s.last_pub_time_ms = ms;
                    }
                }
                Expect::Info | Expect::Discard => {}
            }
        }
    }

    /// Closes and forgets the link to `id` (its address changed, or no master shares it).
    pub(super) fn drop_peer_link(&mut self, id: &str) {
        if let Some(mut link) = self.peers.remove(id) {
            link.close_all(&mut self.io);
        }
    }

    /// Drops the links to Sentinels no monitored master knows any more.
    pub fn prune_peer_links(&mut self) {
        let stale: Vec<String> = self
            .peers
            .keys()
            .filter(|id| self.peer_refcount(id) == 0)
            .cloned()
            .collect();
        for id in stale {
            self.drop_peer_link(&id);
        }
    }

    /// Whether a connection belongs to a shared peer link.
    pub(super) fn is_peer_ref(r: &LinkRef) -> Option<&str> {
        match (&r.who, r.master.is_empty()) {
            (Who::Sentinel(id), true) => Some(id),
            _ => None,
        }
    }
}
