//! Between sentinel.conf's shape (`config::SentinelConf`) and the running state: what a Sentinel
//! starts from, and what every config rewrite saves (myid, epochs, known replicas and Sentinels).

use super::config::{KnownSentinel, MasterConf, SentinelConf};
use super::instance::{Instance, Kind, Master};
use super::Sentinel;

/// A monitored master as its config lines describe it, with its known replicas and Sentinels.
pub fn master_from_conf(c: &MasterConf, now_ms: u64) -> Master {
    let mut m = Master::new(&c.name, &c.host, c.port, c.quorum, now_ms);
    m.inst.down_after_ms = c.down_after_ms;
    m.inst.config_epoch = c.config_epoch;
    m.failover_timeout_ms = c.failover_timeout_ms;
    m.parallel_syncs = c.parallel_syncs;
    m.notification_script = c.notification_script.clone();
    m.client_reconfig_script = c.client_reconfig_script.clone();
    m.auth_pass = c.auth_pass.clone();
    m.auth_user = c.auth_user.clone();
    m.leader_epoch = c.leader_epoch;
    m.master_reboot_down_after_period_ms = c.master_reboot_down_after_period_ms;
    m.rename_commands = c
        .rename_commands
        .iter()
        .map(|(from, to)| (from.to_ascii_lowercase(), to.clone()))
        .collect();
    for (host, port) in &c.known_replicas {
        let name = Master::replica_name(host, *port);
        let r = Instance::new(
            Kind::Replica,
            name.clone(),
            host,
            *port,
            c.down_after_ms,
            now_ms,
        );
        m.replicas.insert(name, r);
    }
    for s in &c.known_sentinels {
        let mut i = Instance::new(
            Kind::Sentinel,
            s.runid.clone(),
            &s.host,
            s.port,
            c.down_after_ms,
            now_ms,
        );
        i.runid = Some(s.runid.clone());
        m.sentinels.insert(s.runid.clone(), i);
    }
    m
}

/// The state to save. During a failover the master address saved is the promoted replica's
/// once it accepted the role (Redis saves `sentinelGetCurrentMasterAddress`).
pub fn conf_from_state(s: &Sentinel) -> SentinelConf {
    SentinelConf {
        myid: Some(s.myid.clone()),
        current_epoch: match injected!(s.bugs, EpochNotSaved) {
            true => 0,
            false => s.current_epoch,
        },
        settings: s.settings.clone(),
        masters: s.masters.values().map(|m| master_conf(m)).collect(),
    }
}

fn master_conf(m: &Master) -> MasterConf {
    let (host, port) = m.current_addr();
    let mut c = MasterConf::new(m.name(), &host, port, m.quorum);
    c.down_after_ms = m.inst.down_after_ms;
    c.failover_timeout_ms = m.failover_timeout_ms;
    c.parallel_syncs = m.parallel_syncs;
    c.notification_script = m.notification_script.clone();
    c.client_reconfig_script = m.client_reconfig_script.clone();
    c.auth_pass = m.auth_pass.clone();
    c.auth_user = m.auth_user.clone();
    c.config_epoch = m.inst.config_epoch;
    c.leader_epoch = m.leader_epoch;
    c.master_reboot_down_after_period_ms = m.master_reboot_down_after_period_ms;
    c.rename_commands = m
        .rename_commands
        .iter()
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    // The promoted replica is the master now; the old master is listed as a replica.
    let promoted = (host.as_str(), port);
    c.known_replicas = m
        .replicas
        .values()
        .map(|r| r.addr())
        .filter(|(h, p)| (h.as_str(), *p) != promoted)
        .collect();
    if m.inst.addr() != (host.clone(), port) {
        c.known_replicas.push(m.inst.addr());
    }
    c.known_sentinels = m
        .sentinels
        .values()
        .map(|s| KnownSentinel {
            host: s.host.clone(),
            port: s.port,
            runid: s.runid.clone().unwrap_or_else(|| s.name.clone()),
        })
        .collect();
    c
}
