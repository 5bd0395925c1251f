//! What a Sentinel knows about each monitored instance: masters, their replicas and the other
//! Sentinels watching them (Redis' `sentinelRedisInstance`), with the flags and failover states
//! named as in Redis.

use super::link::Link;
use std::collections::BTreeMap;

/// Instance flags (Redis' `SRI_*`), as SENTINEL MASTERS prints them.
pub mod flags {
    pub const S_DOWN: u32 = 1 << 0;
    pub const O_DOWN: u32 = 1 << 1;
    /// A peer Sentinel says the master is down (its is-master-down-by-addr reply).
    pub const MASTER_DOWN: u32 = 1 << 2;
    pub const FAILOVER_IN_PROGRESS: u32 = 1 << 3;
    pub const PROMOTED: u32 = 1 << 4;
    pub const RECONF_SENT: u32 = 1 << 5;
    pub const RECONF_INPROG: u32 = 1 << 6;
    pub const RECONF_DONE: u32 = 1 << 7;
    pub const FORCE_FAILOVER: u32 = 1 << 8;
    pub const SCRIPT_KILL_SENT: u32 = 1 << 9;
    pub const MASTER_REBOOT: u32 = 1 << 10;
}

/// What kind of instance this is (Redis' `SRI_MASTER|SRI_SLAVE|SRI_SENTINEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Master,
    Replica,
    Sentinel,
}

impl Kind {
    /// The word events and SENTINEL replies use.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// Redis' `SENTINEL_FAILOVER_STATE_*`, in order (comparisons rely on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum FailoverState {
    #[default]
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl FailoverState {
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// One instance: a master, a replica or a peer Sentinel.
#[derive(Debug)]
pub struct Instance {
    pub kind: Kind,
    /// A master's configured name; `ip:port` for a replica; the run id for a Sentinel.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub runid: Option<String>,
    pub flags: u32,
    /// Boxed: links to peer Sentinels are swapped in and out at every tick (`peers.rs`).
    pub link: Box<Link>,
    pub config_epoch: u64,
    pub last_pub_time_ms: u64,
    pub last_hello_time_ms: u64,
    pub last_master_down_reply_time_ms: u64,
    pub s_down_since_ms: u64,
    pub o_down_since_ms: u64,
    pub down_after_ms: u64,
    /// When INFO was last parsed (0 = never).
    pub info_refresh_ms: u64,
    pub info: String,
    pub role_reported: Kind,
    pub role_reported_time_ms: u64,
    /// From a replica's INFO.
    pub master_link_down_time_ms: u64,
    pub slave_priority: i64,
    pub replica_announced: bool,
    pub slave_reconf_sent_time_ms: u64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: u16,
    pub slave_master_link_up: bool,
    pub slave_repl_offset: u64,
    pub slave_conf_change_time_ms: u64,
    /// For a peer Sentinel: whom it voted for, in which epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
}

impl Instance {
    pub fn new(
        kind: Kind,
        name: String,
        host: &str,
        port: u16,
        down_after_ms: u64,
        now_ms: u64,
    ) -> Self {
        Instance {
            kind,
            name,
            host: host.to_string(),
            port,
            runid: None,
            flags: 0,
            link: Box::new(Link::new(now_ms)),
            config_epoch: 0,
            last_pub_time_ms: now_ms,
            last_hello_time_ms: now_ms,
            last_master_down_reply_time_ms: now_ms,
            s_down_since_ms: 0,
            o_down_since_ms: 0,
            down_after_ms,
            info_refresh_ms: 0,
            info: String::new(),
            role_reported: kind,
            role_reported_time_ms: now_ms,
            master_link_down_time_ms: 0,
            slave_priority: 100,
            replica_announced: true,
            slave_reconf_sent_time_ms: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            slave_conf_change_time_ms: now_ms,
            leader: None,
            leader_epoch: 0,
        }
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn addr(&self) -> (String, u16) {
        (self.host.clone(), self.port)
    }

    /// Neither SDOWN nor ODOWN started in the last `ms` (Redis' `sentinelRedisInstanceNoDownFor`).
    pub fn no_down_for(&self, ms: u64, now_ms: u64) -> bool {
        let most_recent = self.s_down_since_ms.max(self.o_down_since_ms);
        most_recent == 0 || now_ms.saturating_sub(most_recent) > ms
    }

    /// The flags as SENTINEL MASTERS prints them (`disconnected`: the state of the link it uses).
    pub fn flags_text(&self, disconnected: bool) -> String {
        use flags::*;
        let mut out: Vec<&str> = Vec::new();
        let table: [(bool, &str); 15] = [
            (self.has(S_DOWN), "s_down"),
            (self.has(O_DOWN), "o_down"),
            (self.kind == Kind::Master, "master"),
            (self.kind == Kind::Replica, "slave"),
            (self.kind == Kind::Sentinel, "sentinel"),
            (disconnected, "disconnected"),
            (self.has(MASTER_DOWN), "master_down"),
            (self.has(FAILOVER_IN_PROGRESS), "failover_in_progress"),
            (self.has(PROMOTED), "promoted"),
            (self.has(RECONF_SENT), "reconf_sent"),
            (self.has(RECONF_INPROG), "reconf_inprog"),
            (self.has(RECONF_DONE), "reconf_done"),
            (self.has(FORCE_FAILOVER), "force_failover"),
            (self.has(SCRIPT_KILL_SENT), "script_kill_sent"),
            (self.has(MASTER_REBOOT), "master_reboot"),
        ];
        for (on, word) in table {
            if on {
                out.push(word);
            }
        }
        out.join(",")
    }
}

/// A monitored master with everything hanging off it.
#[derive(Debug)]
pub struct Master {
    pub inst: Instance,
    pub quorum: u32,
    pub parallel_syncs: u32,
    pub failover_timeout_ms: u64,
    pub master_reboot_down_after_period_ms: u64,
    pub master_reboot_since_ms: u64,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    pub rename_commands: BTreeMap<String, String>,
    /// Replicas by `ip:port`.
    pub replicas: BTreeMap<String, Instance>,
    /// Other Sentinels by run id.
    pub sentinels: BTreeMap<String, Instance>,
    pub failover_state: FailoverState,
    pub failover_epoch: u64,
    pub failover_state_change_time_ms: u64,
    pub failover_start_time_ms: u64,
    pub failover_delay_logged: u64,
    /// The replica being promoted (its `ip:port` name).
    pub promoted: Option<String>,
    /// This Sentinel's vote for this master, and its epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
}

impl Master {
    pub fn new(name: &str, host: &str, port: u16, quorum: u32, now_ms: u64) -> Self {
        Master {
            inst: Instance::new(
                Kind::Master,
                name.to_string(),
                host,
                port,
                super::DEFAULT_DOWN_AFTER_MS,
                now_ms,
            ),
            quorum,
            parallel_syncs: 1,
            failover_timeout_ms: super::DEFAULT_FAILOVER_TIMEOUT_MS,
            master_reboot_down_after_period_ms: 0,
            master_reboot_since_ms: 0,
            auth_pass: None,
            auth_user: None,
            notification_script: None,
            client_reconfig_script: None,
            rename_commands: BTreeMap::new(),
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
            failover_state: FailoverState::None,
            failover_epoch: 0,
            failover_state_change_time_ms: 0,
            failover_start_time_ms: 0,
            failover_delay_logged: 0,
            promoted: None,
            leader: None,
            leader_epoch: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.inst.name
    }

    /// Where clients should find the master now: the promoted replica once it accepted the role.
    pub fn current_addr(&self) -> (String, u16) {
        if self.inst.has(flags::FAILOVER_IN_PROGRESS)
            && self.failover_state >= FailoverState::ReconfSlaves
        {
            if let Some(p) = self.promoted.as_ref().and_then(|n| self.replicas.get(n)) {
                return p.addr();
            }
        }
        self.inst.addr()
    }

    /// Redis' `sentinelMasterLooksSane`.
    pub fn looks_sane(&self, now_ms: u64, info_period_ms: u64) -> bool {
        self.inst.role_reported == Kind::Master
            && !self.inst.has(flags::S_DOWN | flags::O_DOWN)
            && now_ms.saturating_sub(self.inst.info_refresh_ms) < info_period_ms.saturating_mul(2)
    }

    /// The name a replica at `host:port` has.
    pub fn replica_name(host: &str, port: u16) -> String {
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}
