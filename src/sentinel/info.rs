//! What a Sentinel learns from an instance's INFO, and what it does about it: replica discovery,
//! `+reboot`, role changes, promotion progress, `+convert-to-slave` and `+fix-slave-config`
//! (Redis' `sentinelRefreshInstanceInfo`).

use super::config::MAX_PER_MASTER;
use super::instance::{flags, FailoverState, Instance, Kind, Master};
use super::link::Who;
use super::{instance_mut, Sentinel, SIMFAILURE_CRASH_AFTER_PROMOTION};
use crate::config::LogLevel;
use crate::core::Now;

/// Longest INFO text kept for SENTINEL INFO-CACHE.
const INFO_CACHE_MAX_BYTES: usize = 64 * 1024;

/// The fields of one INFO reply a Sentinel cares about.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub run_id: Option<String>,
    pub replicas: Vec<(String, u16)>,
    pub master_link_down_ms: u64,
    pub role: Option<Kind>,
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    pub master_link_up: Option<bool>,
    pub slave_priority: Option<i64>,
    pub slave_repl_offset: Option<u64>,
    pub replica_announced: Option<bool>,
}

/// Parses INFO text; malformed lines are skipped.
pub fn parse_info(text: &str) -> Parsed {
    let mut p = Parsed::default();
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            // The first 40 bytes, as Redis takes them (skipped if that splits a character).
            "run_id" => {
                if let Some(id) = value.get(..40) {
                    p.run_id = Some(id.to_string());
                }
            }
            "master_link_down_since_seconds" => {
                p.master_link_down_ms = value.parse::<u64>().unwrap_or(0).saturating_mul(1000)
            }
            "role" => {
                p.role = match value {
                    "master" => Some(Kind::Master),
                    "slave" => Some(Kind::Replica),
                    _ => p.role,
                }
            }
            _ => {}
        }
        if p.role == Some(Kind::Replica) {
            match key {
                "master_host" => p.master_host = Some(value.to_string()),
                "master_port" => p.master_port = value.parse().ok(),
                "master_link_status" => p.master_link_up = Some(value.eq_ignore_ascii_case("up")),
                "slave_priority" => p.slave_priority = value.parse().ok(),
                "slave_repl_offset" => p.slave_repl_offset = value.parse().ok(),
                "replica_announced" => p.replica_announced = Some(value != "0"),
                _ => {}
            }
        }
        if key.len() > 5 && key.starts_with("slave") && key[5..].bytes().all(|b| b.is_ascii_digit())
        {
            if let Some(addr) = replica_addr(value) {
                p.replicas.push(addr);
            }
        }
    }
    p
}

/// `ip=...,port=...,state=...` (or the old `ip,port,state`) from a `slaveN:` line.
fn replica_addr(value: &str) -> Option<(String, u16)> {
    let fields: Vec<&str> = value.split(',').collect();
    let (ip, port) = if value.contains("ip=") {
        let get = |k: &str| fields.iter().find_map(|f| f.strip_prefix(k));
        (get("ip=")?, get("port=")?)
    } else {
        (*fields.first()?, *fields.get(1)?)
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    (!ip.is_empty()).then(|| (ip.to_string(), port))
}

impl Sentinel {
    pub(super) fn refresh_info(&mut self, m: &mut Master, who: &Who, text: &str, now: Now) {
        let ms = now.mono_ms;
        let p = parse_info(text);
        let reboot_period = m.master_reboot_down_after_period_ms;
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        inst.info = text.chars().take(INFO_CACHE_MAX_BYTES).collect();
        inst.master_link_down_time_ms = p.master_link_down_ms;
        let mut rebooted = false;
        if let Some(id) = &p.run_id {
            match &inst.runid {
                Some(old) if old != id => rebooted = true,
                _ => {}
            }
            inst.runid = Some(id.clone());
        }
        if let Some(Kind::Replica) = p.role {
            update_replica_fields(inst, &p, ms);
        }
        inst.info_refresh_ms = ms;
        if rebooted {
            self.event(LogLevel::Notice, "+reboot", m, who, "");
            if *who == Who::Master && reboot_period != 0 {
                m.inst.flags |= flags::MASTER_REBOOT;
                m.master_reboot_since_ms = ms;
            }
        }
        if *who == Who::Master {
            self.discover_replicas(m, &p.replicas, ms);
        }
        let Some(role) = p.role else {
            return;
        };
        let inst = instance_mut(m, who).expect("instance still there");
        if role != inst.role_reported {
            inst.role_reported_time_ms = ms;
            inst.role_reported = role;
            if role == Kind::Replica {
                inst.slave_conf_change_time_ms = ms;
            }
            let kind = if inst.kind == role {
                "+role-change"
            } else {
                "-role-change"
            };
            let extra = format!(" new reported role is {}", role.word());
            self.event(LogLevel::Verbose, kind, m, who, &extra);
        }
        if self.tilt {
            return;
        }
        if let Who::Replica(name) = who {
            self.act_on_replica_info(m, name, role, now);
        }
    }

    /// New replicas listed by the master's INFO.
    fn discover_replicas(&mut self, m: &mut Master, listed: &[(String, u16)], ms: u64) {
        for (ip, port) in listed {
            let name = Master::replica_name(ip, *port);
            if m.replicas.contains_key(&name) || m.replicas.len() >= MAX_PER_MASTER {
                continue;
            }
            let r = Instance::new(
                Kind::Replica,
                name.clone(),
                ip,
                *port,
                m.inst.down_after_ms,
                ms,
            );
            m.replicas.insert(name.clone(), r);
            self.event(LogLevel::Notice, "+slave", m, &Who::Replica(name), "");
            self.flush_config();
        }
    }

    /// The acting half for a replica: promotion seen, demotion of a returning master, wrong
    /// master address, reconfiguration progress.
    fn act_on_replica_info(&mut self, m: &mut Master, name: &str, role: Kind, now: Now) {
        let ms = now.mono_ms;
        let who = Who::Replica(name.to_string());
        let sane = m.looks_sane(ms, self.timers.info_period_ms);
        let (mhost, mport) = m.inst.addr();
        let promoted_addr = m
            .promoted
            .as_ref()
            .and_then(|n| m.replicas.get(n))
            .map(|p| p.addr());
        let waiting_promotion = m.inst.has(flags::FAILOVER_IN_PROGRESS)
            && m.failover_state == FailoverState::WaitPromotion;
        let failover_timeout = m.failover_timeout_ms;
        let wait_ms = self.timers.publish_period_ms.saturating_mul(4);
        let r = m.replicas.get_mut(name).expect("replica");
        if role == Kind::Master {
            if r.has(flags::PROMOTED) && waiting_promotion {
                m.inst.config_epoch = m.failover_epoch;
                m.failover_state = FailoverState::ReconfSlaves;
                m.failover_state_change_time_ms = ms;
                self.flush_config();
                self.event(LogLevel::Warning, "+promoted-slave", m, &who, "");
                if self.simfailure_flags & SIMFAILURE_CRASH_AFTER_PROMOTION != 0 {
                    self.simulated_crash();
                }
                self.event(
                    LogLevel::Warning,
                    "+failover-state-reconf-slaves",
                    m,
                    &Who::Master,
                    "",
                );
                let from = m.inst.addr();
                self.reconfig_script(m, "leader", (&from.0, from.1));
                self.force_hello(m);
            } else if !r.has(flags::PROMOTED)
                && sane
                && r.no_down_for(wait_ms, ms)
                && ms.saturating_sub(r.role_reported_time_ms) > wait_ms
                && self.send_replicaof(m, &who, Some((&mhost, mport)))
            {
                self.event(LogLevel::Notice, "+convert-to-slave", m, &who, "");
            }
            return;
        }
        let wrong_master = r.slave_master_port != mport
            || !r
                .slave_master_host
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(&mhost));
        if wrong_master
            && sane
            && r.no_down_for(failover_timeout, ms)
            && ms.saturating_sub(r.slave_conf_change_time_ms) > failover_timeout
            && self.send_replicaof(m, &who, Some((&mhost, mport)))
        {
            self.event(LogLevel::Notice, "+fix-slave-config", m, &who, "");
        }
        let r = m.replicas.get_mut(name).expect("replica");
        if r.has(flags::RECONF_SENT) {
            let points_at_promoted = promoted_addr.as_ref().is_some_and(|(h, p)| {
                r.slave_master_port == *p
                    && r.slave_master_host
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(h))
            });
            if points_at_promoted {
                r.flags &= !flags::RECONF_SENT;
                r.flags |= flags::RECONF_INPROG;
                self.event(LogLevel::Notice, "+slave-reconf-inprog", m, &who, "");
            }
        }
        let r = m.replicas.get_mut(name).expect("replica");
        if r.has(flags::RECONF_INPROG) && r.slave_master_link_up {
            r.flags &= !flags::RECONF_INPROG;
            r.flags |= flags::RECONF_DONE;
            self.event(LogLevel::Notice, "+slave-reconf-done", m, &who, "");
        }
    }
}

fn update_replica_fields(inst: &mut Instance, p: &Parsed, ms: u64) {
    if let Some(h) = &p.master_host {
        if !inst
            .slave_master_host
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(h))
        {
            inst.slave_master_host = Some(h.clone());
            inst.slave_conf_change_time_ms = ms;
        }
    }
    if let Some(port) = p.master_port {
        if inst.slave_master_port != port {
            inst.slave_master_port = port;
            inst.slave_conf_change_time_ms = ms;
        }
    }
    if let Some(up) = p.master_link_up {
        inst.slave_master_link_up = up;
    }
    if let Some(prio) = p.slave_priority {
        inst.slave_priority = prio;
    }
    if let Some(off) = p.slave_repl_offset {
        inst.slave_repl_offset = off;
    }
    if let Some(a) = p.replica_announced {
        inst.replica_announced = a;
    }
}
