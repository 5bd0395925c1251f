//! sentinel.conf's `sentinel ...` lines: what they configure (`SentinelConf`), how one line is
//! applied (Redis 7.2's rules, number parsing and messages), in which order a load applies them,
//! and the lines CONFIG REWRITE writes back (Redis' order, the old lines replaced in place).

use crate::text::{atoi, quote_arg, repr_arg, strtoull};
use std::net::IpAddr;

/// A master's `down-after-milliseconds` unless configured.
pub const DEFAULT_DOWN_AFTER_MS: u64 = 30_000;
/// A master's `failover-timeout` unless configured.
pub const DEFAULT_FAILOVER_TIMEOUT_MS: u64 = 180_000;
/// A master's `parallel-syncs` unless configured.
pub const DEFAULT_PARALLEL_SYNCS: u32 = 1;
/// Length of a Sentinel id (`myid`).
pub const ID_LEN: usize = 40;
/// Most masters one Sentinel monitors (Redis has no limit).
pub const MAX_MASTERS: usize = 1000;
/// Most known replicas, known sentinels or renamed commands per master (Redis has no limit).
pub const MAX_PER_MASTER: usize = 1000;

const UNRECOGNIZED: &str = "Unrecognized sentinel configuration statement.";
const NO_SUCH_MASTER: &str = "No such master with specified name.";
const BAD_TIME: &str = "negative or zero time parameter.";

/// What sentinel.conf's `sentinel ...` lines say.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SentinelConf {
    /// Exactly 40 characters when set (Redis checks the length only).
    pub myid: Option<String>,
    pub current_epoch: u64,
    pub settings: Settings,
    /// In the order they were monitored.
    pub masters: Vec<MasterConf>,
}

/// The Sentinel's own settings (not a master's): sentinel.conf and SENTINEL CONFIG SET set them.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub announce_ip: Option<String>,
    /// 0 = not set.
    pub announce_port: u16,
    pub announce_hostnames: bool,
    pub resolve_hostnames: bool,
    pub deny_scripts_reconfig: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            announce_ip: None,
            announce_port: 0,
            announce_hostnames: false,
            resolve_hostnames: false,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
        }
    }
}

/// One monitored master and what this Sentinel knows about it.
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
    /// 0 = off.
    pub master_reboot_down_after_period_ms: u64,
    pub known_replicas: Vec<(String, u16)>,
    pub known_sentinels: Vec<KnownSentinel>,
    /// (command, new name); an empty new name disables the command.
    pub rename_commands: Vec<(String, String)>,
}

/// Another Sentinel monitoring the same master.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownSentinel {
    pub host: String,
    pub port: u16,
    pub runid: String,
}

impl MasterConf {
    /// A master as `sentinel monitor` creates it: every option at its default.
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> Self {
        MasterConf {
            name: name.into(),
            host: host.into(),
            port,
            quorum,
            down_after_ms: DEFAULT_DOWN_AFTER_MS,
            failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT_MS,
            parallel_syncs: DEFAULT_PARALLEL_SYNCS,
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

/// When a load applies a line (args after "sentinel"): 0 for global options, 1 for `monitor`,
/// 2 for the per-master options, so that the order of the file does not matter.
pub fn load_pass(args: &[String]) -> u8 {
    const GLOBAL: &[&str] = &[
        "announce-ip",
        "announce-port",
        "deny-scripts-reconfig",
        "sentinel-user",
        "sentinel-pass",
        "current-epoch",
        "myid",
        "resolve-hostnames",
        "announce-hostnames",
    ];
    match args.first() {
        Some(a) if a.eq_ignore_ascii_case("monitor") => 1,
        Some(a) if GLOBAL.iter().any(|g| g.eq_ignore_ascii_case(a)) => 0,
        _ => 2,
    }
}

/// For a well-formed `notification-script` / `client-reconfig-script` line: the script's path and
/// Redis' message when it does not exist or cannot be executed (the loader checks the file).
pub fn script_of(args: &[String]) -> Option<(&str, &'static str)> {
    match args {
        [option, _, path] if option.eq_ignore_ascii_case("notification-script") => Some((
            path,
            "Notification script seems non existing or non executable.",
        )),
        [option, _, path] if option.eq_ignore_ascii_case("client-reconfig-script") => Some((
            path,
            "Client reconfiguration script seems non existing or non executable.",
        )),
        _ => None,
    }
}

/// Applies one `sentinel ...` line (args after the word "sentinel") with Redis'
/// sentinelHandleConfiguration rules: numbers read like C's atoi/strtoull, a wrong number of
/// arguments is an unrecognized statement, per-master options need the master monitored first.
pub fn apply_line(conf: &mut SentinelConf, args: &[String]) -> Result<(), String> {
    let Some((option, rest)) = args.split_first() else {
        return Err(UNRECOGNIZED.into());
    };
    let option = option.to_ascii_lowercase();
    let resolve = conf.settings.resolve_hostnames;
    match (option.as_str(), rest) {
        ("monitor", [name, host, port, quorum]) => monitor(conf, name, host, port, quorum)?,
        ("down-after-milliseconds", [m, ms]) => {
            let master = master(conf, m)?;
            master.down_after_ms = positive_ms(ms)?;
        }
        ("failover-timeout", [m, ms]) => {
            let master = master(conf, m)?;
            master.failover_timeout_ms = positive_ms(ms)?;
        }
        ("parallel-syncs", [m, n]) => {
            // Redis keeps a negative value, which (like 0) lets no replica resync at a time.
            master(conf, m)?.parallel_syncs = atoi(n).max(0) as u32;
        }
        ("notification-script", [m, path]) => {
            master(conf, m)?.notification_script = Some(path.clone());
        }
        ("client-reconfig-script", [m, path]) => {
            master(conf, m)?.client_reconfig_script = Some(path.clone());
        }
        ("auth-pass", [m, pass]) => master(conf, m)?.auth_pass = Some(pass.clone()),
        ("auth-user", [m, user]) => master(conf, m)?.auth_user = Some(user.clone()),
        ("current-epoch", [epoch]) => {
            conf.current_epoch = conf.current_epoch.max(strtoull(epoch));
        }
        ("myid", [id]) if id.len() != ID_LEN => {
            return Err("Malformed Sentinel id in myid option.".into())
        }
        ("myid", [id]) => conf.myid = Some(id.clone()),
        ("config-epoch", [m, epoch]) => {
            let epoch = strtoull(epoch);
            master(conf, m)?.config_epoch = epoch;
            conf.current_epoch = conf.current_epoch.max(epoch);
        }
        ("leader-epoch", [m, epoch]) => master(conf, m)?.leader_epoch = strtoull(epoch),
        ("known-slave" | "known-replica", [m, host, port]) => {
            let master = master(conf, m)?;
            let port = address(host, port, resolve)?;
            let key = host_key(host);
            if master
                .known_replicas
                .iter()
                .any(|(h, p)| *p == port && host_key(h) == key)
            {
                return Err("Duplicate hostname and port for replica.".into());
            }
            limit(master.known_replicas.len(), "known replicas")?;
            master.known_replicas.push((host.clone(), port));
        }
        // The old form without a run id is ignored, without even looking the master up.
        ("known-sentinel", [_, _, _]) => {}
        ("known-sentinel", [m, host, port, runid]) => {
            let master = master(conf, m)?;
            let port = address(host, port, resolve)?;
            if master.known_sentinels.iter().any(|s| s.runid == *runid) {
                return Err("Duplicate runid for sentinel.".into());
            }
            limit(master.known_sentinels.len(), "known sentinels")?;
            let (host, runid) = (host.clone(), runid.clone());
            master
                .known_sentinels
                .push(KnownSentinel { host, port, runid });
        }
        ("rename-command", [m, command, renamed]) => {
            let master = master(conf, m)?;
            if master
                .rename_commands
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(command))
            {
                return Err("Same command renamed multiple times with rename-command.".into());
            }
            limit(master.rename_commands.len(), "renamed commands")?;
            master
                .rename_commands
                .push((command.clone(), renamed.clone()));
        }
        ("announce-ip", [ip]) => set_unless_empty(&mut conf.settings.announce_ip, ip),
        ("announce-port", [port]) => {
            conf.settings.announce_port =
                u16::try_from(atoi(port)).map_err(|_| "Invalid port number.")?;
        }
        ("deny-scripts-reconfig", [v]) => {
            conf.settings.deny_scripts_reconfig = yes_no(v, "deny-scripts-reconfig options")?
        }
        ("sentinel-user", [user]) => set_unless_empty(&mut conf.settings.sentinel_user, user),
        ("sentinel-pass", [pass]) => set_unless_empty(&mut conf.settings.sentinel_pass, pass),
        ("resolve-hostnames", [v]) => {
            conf.settings.resolve_hostnames = yes_no(v, "resolve-hostnames option")?
        }
        ("announce-hostnames", [v]) => {
            conf.settings.announce_hostnames = yes_no(v, "announce-hostnames option")?
        }
        ("master-reboot-down-after-period", [m, ms]) => {
            let master = master(conf, m)?;
            master.master_reboot_down_after_period_ms =
                u64::try_from(atoi(ms)).map_err(|_| "negative time parameter.")?;
        }
        _ => return Err(UNRECOGNIZED.into()),
    }
    Ok(())
}

fn monitor(
    conf: &mut SentinelConf,
    name: &str,
    host: &str,
    port: &str,
    quorum: &str,
) -> Result<(), String> {
    let quorum = atoi(quorum);
    if quorum <= 0 {
        return Err("Quorum must be 1 or greater.".into());
    }
    let port = address(host, port, conf.settings.resolve_hostnames)?;
    if conf.masters.iter().any(|m| m.name == name) {
        return Err("Duplicate master name.".into());
    }
    if conf.masters.len() >= MAX_MASTERS {
        return Err(format!(
            "Too many masters monitored (at most {MAX_MASTERS})."
        ));
    }
    let master = MasterConf::new(name, host, port, quorum as u32);
    conf.masters.push(master);
    Ok(())
}

/// The monitored master with this name (case-sensitive, as in Redis).
fn master<'a>(conf: &'a mut SentinelConf, name: &str) -> Result<&'a mut MasterConf, String> {
    conf.masters
        .iter_mut()
        .find(|m| m.name == name)
        .ok_or_else(|| NO_SUCH_MASTER.into())
}

/// Checks an instance address as Redis does when creating one: the port within 0-65535, and the
/// host an IP address unless `resolve-hostnames` is on (then any name is kept, to be resolved
/// later). Returns the port.
fn address(host: &str, port: &str, resolve_hostnames: bool) -> Result<u16, String> {
    let port = u16::try_from(atoi(port)).map_err(|_| "Invalid port number.")?;
    if !resolve_hostnames && host.parse::<IpAddr>().is_err() {
        return Err("Can't resolve instance hostname.".into());
    }
    Ok(port)
}

/// What identifies a host among a master's replicas: an IP address in its canonical form.
fn host_key(host: &str) -> String {
    host.parse::<IpAddr>()
        .map_or_else(|_| host.to_string(), |ip| ip.to_string())
}

fn limit(len: usize, what: &str) -> Result<(), String> {
    if len >= MAX_PER_MASTER {
        return Err(format!(
            "Too many {what} for one master (at most {MAX_PER_MASTER})."
        ));
    }
    Ok(())
}

fn positive_ms(arg: &str) -> Result<u64, String> {
    match atoi(arg) {
        n if n > 0 => Ok(n as u64),
        _ => Err(BAD_TIME.into()),
    }
}

fn yes_no(arg: &str, what: &str) -> Result<bool, String> {
    match arg.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("Please specify yes or no for the {what}.")),
    }
}

/// An empty value leaves the option as it was.
fn set_unless_empty(option: &mut Option<String>, value: &str) {
    if !value.is_empty() {
        *option = Some(value.to_string());
    }
}

/// One line CONFIG REWRITE writes: the option it rewrites (the word after "sentinel"), the line,
/// and whether it is written even when the old file has no line for that option.
#[derive(Clone, Debug, PartialEq)]
pub struct RewriteLine {
    pub option: &'static str,
    pub line: String,
    pub force: bool,
}

/// Every line a rewrite considers, in Redis' order (rewriteConfigSentinelOption): myid, the
/// yes/no globals (forced only when not default), per master the monitor line, its non-default
/// options (auth-pass in clear text), config-epoch, leader-epoch, known replicas, known sentinels
/// and renamed commands, then current-epoch, announce-ip, announce-port, sentinel-user and
/// sentinel-pass.
pub fn rewrite_plan(conf: &SentinelConf) -> Vec<RewriteLine> {
    let mut plan = Vec::new();
    let mut add = |option: &'static str, args: &[&str], force: bool| {
        // Redis writes announce-ip always in quotes, the rest as they are.
        let quote = if option == "announce-ip" {
            repr_arg
        } else {
            quote_arg
        };
        let words: Vec<String> = args.iter().map(|a| quote(a.as_bytes())).collect();
        let line = format!("sentinel {option} {}", words.join(" "));
        plan.push(RewriteLine {
            option,
            line,
            force,
        });
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    if let Some(id) = &conf.myid {
        add("myid", &[id], true);
    }
    let deny = conf.settings.deny_scripts_reconfig;
    add("deny-scripts-reconfig", &[yes_no(deny)], !deny);
    let resolve = conf.settings.resolve_hostnames;
    add("resolve-hostnames", &[yes_no(resolve)], resolve);
    let announce = conf.settings.announce_hostnames;
    add("announce-hostnames", &[yes_no(announce)], announce);
    for m in &conf.masters {
        let name = m.name.as_str();
        let (port, quorum) = (m.port.to_string(), m.quorum.to_string());
        add("monitor", &[name, &m.host, &port, &quorum], true);
        let numbers = [
            (
                "down-after-milliseconds",
                m.down_after_ms,
                DEFAULT_DOWN_AFTER_MS,
            ),
            (
                "failover-timeout",
                m.failover_timeout_ms,
                DEFAULT_FAILOVER_TIMEOUT_MS,
            ),
            (
                "parallel-syncs",
                m.parallel_syncs.into(),
                DEFAULT_PARALLEL_SYNCS.into(),
            ),
        ];
        for (option, value, default) in numbers {
            if value != default {
                add(option, &[name, &value.to_string()], true);
            }
        }
        let texts = [
            ("notification-script", &m.notification_script),
            ("client-reconfig-script", &m.client_reconfig_script),
            ("auth-pass", &m.auth_pass),
            ("auth-user", &m.auth_user),
        ];
        for (option, value) in texts {
            if let Some(v) = value {
                add(option, &[name, v], true);
            }
        }
        let reboot_ms = m.master_reboot_down_after_period_ms;
        if reboot_ms != 0 {
            add(
                "master-reboot-down-after-period",
                &[name, &reboot_ms.to_string()],
                true,
            );
        }
        add("config-epoch", &[name, &m.config_epoch.to_string()], true);
        add("leader-epoch", &[name, &m.leader_epoch.to_string()], true);
        for (host, port) in &m.known_replicas {
            add("known-replica", &[name, host, &port.to_string()], true);
        }
        for s in &m.known_sentinels {
            add(
                "known-sentinel",
                &[name, &s.host, &s.port.to_string(), &s.runid],
                true,
            );
        }
        for (command, renamed) in &m.rename_commands {
            add("rename-command", &[name, command, renamed], true);
        }
    }
    add("current-epoch", &[&conf.current_epoch.to_string()], true);
    if let Some(ip) = &conf.settings.announce_ip {
        add("announce-ip", &[ip], true);
    }
    if conf.settings.announce_port != 0 {
        add(
            "announce-port",
            &[&conf.settings.announce_port.to_string()],
            true,
        );
    }
    if let Some(user) = &conf.settings.sentinel_user {
        add("sentinel-user", &[user], true);
    }
    if let Some(pass) = &conf.settings.sentinel_pass {
        add("sentinel-pass", &[pass], true);
    }
    plan
}

/// The `sentinel ...` lines a rewrite writes when the old file has none (the forced part of
/// `rewrite_plan`), in Redis' order.
pub fn rewrite_lines(conf: &SentinelConf) -> Vec<String> {
    rewrite_plan(conf)
        .into_iter()
        .filter(|l| l.force)
        .map(|l| l.line)
        .collect()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
