//! Hello messages on `__sentinel__:hello`: how Sentinels find each other and spread the newest
//! master configuration (Redis' `sentinelSendHello`, `sentinelProcessHelloMessage`).
//!
//! Payload, 8 comma-separated fields: `ip,port,runid,current_epoch,master_name,master_ip,
//! master_port,master_config_epoch`.

use super::config::MAX_PER_MASTER;
use super::instance::{Instance, Kind, Master};
use super::link::Who;
use super::Sentinel;
use crate::config::LogLevel;
use crate::core::Now;
use crate::resp::Frame;

/// A parsed hello; `None` for anything malformed (ignored, as Redis does).
#[derive(Debug, PartialEq)]
pub struct HelloMsg<'a> {
    pub ip: &'a str,
    pub port: u16,
    pub runid: &'a str,
    pub current_epoch: u64,
    pub master: &'a str,
    pub master_ip: &'a str,
    pub master_port: u16,
    pub master_config_epoch: u64,
}

pub fn parse_hello(payload: &str) -> Option<HelloMsg<'_>> {
    let t: Vec<&str> = payload.split(',').collect();
    if t.len() != 8 {
        return None;
    }
    let port: u16 = t[1].parse().ok().filter(|p| *p != 0)?;
    let master_port: u16 = t[6].parse().ok().filter(|p| *p != 0)?;
    if t[2].len() != 40 || t[0].is_empty() || t[5].is_empty() {
        return None;
    }
    Some(HelloMsg {
        ip: t[0],
        port,
        runid: t[2],
        current_epoch: t[3].parse().ok()?,
        master: t[4],
        master_ip: t[5],
        master_port,
        master_config_epoch: t[7].parse().ok()?,
    })
}

impl Sentinel {
    /// Everything of our hello after the IP (which depends on the connection).
    pub(super) fn hello_payload(&self, m: &Master) -> String {
        let (mip, mport) = m.current_addr();
        let port = if self.settings.announce_port != 0 {
            self.settings.announce_port
        } else {
            self.port
        };
        format!(
            "{port},{},{},{},{mip},{mport},{}",
            self.myid,
            self.current_epoch,
            m.name(),
            m.inst.config_epoch
                - u64::from(injected!(self.bugs, HelloStaleEpoch) && m.inst.config_epoch > 0)
        )
    }

    /// A pub/sub push from a master or replica: keep hellos that are not our own.
    pub(super) fn hello_from_pubsub(&mut self, frame: &Frame) {
        let Frame::Array(items) = frame else {
            return;
        };
        let [Frame::Bulk(kind), Frame::Bulk(_), Frame::Bulk(payload)] = items.as_slice() else {
            return;
        };
        if kind.as_ref() != b"message" {
            return;
        }
        let payload = String::from_utf8_lossy(payload).into_owned();
        if !payload.contains(&self.myid) {
            self.deferred_hellos.push(payload);
        }
    }

    /// Learns a Sentinel and a master configuration from a hello (pub/sub or PUBLISH to us).
    pub fn process_hello(&mut self, payload: &str, now: Now) {
        let Some(h) = parse_hello(payload) else {
            return;
        };
        if h.runid == self.myid {
            return;
        }
        let ms = now.mono_ms;
        let Some(mut m) = self.masters.remove(h.master) else {
            return;
        };
        let known = m
            .sentinels
            .get(h.runid)
            .is_some_and(|s| s.host == h.ip && s.port == h.port);
        // Like Redis, a Sentinel at an address we could not dial is not added, and its hello
        // then only carries the epoch; so is one past the limit a config file may list.
        let room = m.sentinels.len() < MAX_PER_MASTER || m.sentinels.contains_key(h.runid);
        let usable = known || (room && self.usable_host(h.ip));
        if !known && usable {
            self.learn_sentinel(&mut m, &h, ms);
        }
        if h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
            self.flush_config();
            let e = self.current_epoch.to_string();
            self.io
                .event(LogLevel::Warning, "+new-epoch", e, Some(m.name()));
        }
        if usable && m.inst.config_epoch < h.master_config_epoch {
            m.inst.config_epoch = h.master_config_epoch;
            let moved = h.master_port != m.inst.port || h.master_ip != m.inst.host;
            if moved && self.usable_host(h.master_ip) {
                let who = Who::Sentinel(h.runid.to_string());
                self.event(LogLevel::Warning, "+config-update-from", &m, &who, "");
                let (old_ip, old_port) = m.inst.addr();
                let msg = format!(
                    "{} {old_ip} {old_port} {} {}",
                    m.name(),
                    h.master_ip,
                    h.master_port
                );
                self.io
                    .event(LogLevel::Warning, "+switch-master", msg, Some(m.name()));
                self.change_master_address(&mut m, h.master_ip, h.master_port, ms);
                self.reconfig_script(&m, "observer", (&old_ip, old_port));
            }
        }
        if let Some(s) = m.sentinels.get_mut(h.runid) {
            s.last_hello_time_ms = ms;
        }
        self.masters.insert(m.name().to_string(), m);
    }

    /// An address we may dial: an IP address, or any name with resolve-hostnames (as Redis
    /// checks when it creates an instance, logging the failure).
    fn usable_host(&mut self, host: &str) -> bool {
        let ok = self.settings.resolve_hostnames || host.parse::<std::net::IpAddr>().is_ok();
        if !ok {
            self.io.out.push_back(super::link::Out::Log {
                level: LogLevel::Warning,
                msg: format!("Failed to resolve hostname '{host}'"),
            });
        }
        ok
    }

    /// A hello from a Sentinel we do not know at this address: forget stale entries with the
    /// same run id (an address switch) or the same address (a restarted Sentinel with a new id),
    /// then add it.
    fn learn_sentinel(&mut self, m: &mut Master, h: &HelloMsg, ms: u64) {
        let removed = m.sentinels.remove(h.runid);
        if removed.is_some() {
            // The shared link dials the new address; every master learns it.
            self.drop_peer_link(h.runid);
            for other in self.masters.values_mut() {
                if let Some(s) = other.sentinels.get_mut(h.runid) {
                    (s.host, s.port) = (h.ip.to_string(), h.port);
                }
            }
            let msg = format!(
                "{} ip {} port {} for {}",
                super::describe(m, &Who::Master),
                h.ip,
                h.port,
                h.runid
            );
            self.io.event(
                LogLevel::Notice,
                "+sentinel-address-switch",
                msg,
                Some(m.name()),
            );
        } else {
            let stale = m
                .sentinels
                .iter()
                .find(|(_, s)| s.host == h.ip && s.port == h.port)
                .map(|(id, _)| id.clone());
            if let Some(stale) = stale {
                self.event(
                    LogLevel::Notice,
                    "+sentinel-invalid-addr",
                    m,
                    &Who::Sentinel(stale.clone()),
                    "",
                );
                self.forget_sentinel_everywhere(m, &stale);
            }
        }
        let mut s = Instance::new(
            Kind::Sentinel,
            h.runid.to_string(),
            h.ip,
            h.port,
            m.inst.down_after_ms,
            ms,
        );
        s.runid = Some(h.runid.to_string());
        m.sentinels.insert(h.runid.to_string(), s);
        if removed.is_none() {
            self.event(
                LogLevel::Notice,
                "+sentinel",
                m,
                &Who::Sentinel(h.runid.to_string()),
                "",
            );
        }
        self.flush_config();
    }

    /// Removes Sentinel `runid` from `m` and from every other master.
    fn forget_sentinel_everywhere(&mut self, m: &mut Master, runid: &str) {
        let others = self.masters.values_mut().map(|o| &mut o.sentinels);
        for sentinels in std::iter::once(&mut m.sentinels).chain(others) {
            sentinels.remove(runid);
        }
        self.drop_peer_link(runid);
    }

    /// Forces hellos to go out at the next tick (after a configuration change).
    pub(super) fn force_hello(&mut self, m: &mut Master) {
        let back = self.timers.publish_period_ms.saturating_add(1);
        let insts = std::iter::once(&mut m.inst)
            .chain(m.replicas.values_mut())
            .chain(m.sentinels.values_mut());
        for i in insts {
            i.last_pub_time_ms = i.last_pub_time_ms.saturating_sub(back);
        }
    }
}
