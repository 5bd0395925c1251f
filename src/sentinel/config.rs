//! Placeholder for sentinel.conf parsing (being written on branch helper-sconf): the agreed types.

#[derive(Clone, Debug, PartialEq)]
pub struct SentinelConf {
    pub myid: Option<String>,
    pub current_epoch: u64,
    pub announce_ip: Option<String>,
    pub announce_port: u16,
    pub announce_hostnames: bool,
    pub resolve_hostnames: bool,
    pub deny_scripts_reconfig: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    pub masters: Vec<MasterConf>,
}

impl Default for SentinelConf {
    fn default() -> Self {
        SentinelConf {
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: 0,
            announce_hostnames: false,
            resolve_hostnames: false,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
            masters: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MasterConf {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub config_epoch: u64,
    pub leader_epoch: u64,
    pub master_reboot_down_after_period_ms: u64,
    pub known_replicas: Vec<(String, u16)>,
    pub known_sentinels: Vec<KnownSentinel>,
    pub rename_commands: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KnownSentinel {
    pub host: String,
    pub port: u16,
    pub runid: String,
}

impl MasterConf {
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> Self {
        MasterConf {
            name: name.into(),
            host: host.into(),
            port,
            quorum,
            down_after_ms: 30000,
            failover_timeout_ms: 180000,
            parallel_syncs: 1,
            notification_script: None,
            client_reconfig_script: None,
            auth_pass: None,
            auth_user: None,
            config_epoch: 0,
            leader_epoch: 0,
            master_reboot_down_after_period_ms: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
            rename_commands: Vec::new(),
        }
    }
}
