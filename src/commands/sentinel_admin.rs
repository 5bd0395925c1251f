//! Changing a running Sentinel: SENTINEL SET (per master), SENTINEL CONFIG SET/GET (global),
//! SENTINEL DEBUG (timers), SENTINEL HELP, and Sentinel's INFO.

use super::sentinel::{masters_info, sen, with_master};
use super::Call;
use crate::config::LogLevel;
use crate::core::{ConnId, DiskOp, DiskWaiter, Now, Server};
use crate::resp::parse_i64;
use crate::sentinel::config::MAX_PER_MASTER;
use crate::sentinel::instance::Master;
use crate::sentinel::link::Who;
use crate::sentinel::{Sentinel, Timers};
use crate::text::glob_match;
use std::fmt::Write;

/// SENTINEL SET <master> <option> <value> [<option> <value> ...]. Scripts it names must be
/// executable files: the driver checks them first, then the call is applied.
pub fn set(s: &mut Server, call: &Call) {
    let paths = scripts_named(s, call);
    if paths.is_empty() {
        return apply_set(s, call);
    }
    sen(s).script_checks.insert(call.id, call.args.to_vec());
    s.start_disk(
        DiskOp::CheckExecutable { paths },
        DiskWaiter::SentinelScripts(call.id),
    );
}

/// The script paths a SENTINEL SET for a known master would set (none when scripts may not
/// be reconfigured: that error comes from the call itself).
fn scripts_named(s: &mut Server, call: &Call) -> Vec<String> {
    let sn = sen(s);
    let name = String::from_utf8_lossy(&call.args[2]);
    if sn.settings.deny_scripts_reconfig || !sn.masters.contains_key(name.as_ref()) {
        return Vec::new();
    }
    call.args[3..]
        .windows(2)
        .filter(|w| is_script_option(&w[0]) && !w[1].is_empty())
        .map(|w| String::from_utf8_lossy(&w[1]).into_owned())
        .collect()
}

fn is_script_option(arg: &[u8]) -> bool {
    super::is(arg, "notification-script") || super::is(arg, "client-reconfig-script")
}

/// The driver checked the scripts of client `conn`'s SENTINEL SET: apply it, or reply which
/// script is missing.
pub(crate) fn scripts_checked(
    s: &mut Server,
    now: Now,
    conn: ConnId,
    result: Result<bytes::Bytes, String>,
) {
    let Some(args) = sen(s).script_checks.remove(&conn) else {
        return;
    };
    let Some(c) = s.clients.get_mut(&conn) else {
        return;
    };
    c.blocked_on = None;
    match result {
        Ok(_) => apply_set(
            s,
            &Call {
                id: conn,
                args: &args,
                now,
            },
        ),
        Err(path) => {
            let option = args[3..]
                .windows(2)
                .find(|w| is_script_option(&w[0]) && w[1] == path.as_bytes())
                .map(|w| w[0].to_ascii_lowercase());
            let msg = match option.as_deref() {
                Some(b"client-reconfig-script") => {
                    "ERR Client reconfiguration script seems non existing or non executable"
                }
                _ => "ERR Notification script seems non existing or non executable",
            };
            s.reply(conn).error(msg);
        }
    }
    s.process_input(conn, now);
}

fn apply_set(s: &mut Server, call: &Call) {
    let mut ok = false;
    // Options applied before a bad one stay applied and are saved, as in Redis.
    let mut changes = 0;
    with_master(s, call, |sn, m, out, _| {
        let a: Vec<String> = call.args[3..]
            .iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect();
        let mut j = 0;
        while j < a.len() {
            let opt = a[j].to_ascii_lowercase();
            let more = a.len() - 1 - j;
            let value = a.get(j + 1).cloned().unwrap_or_default();
            let positive = || parse_i64(value.as_bytes()).filter(|v| *v > 0);
            let bad = |out: &mut crate::resp::Out| {
                out.error(&format!(
                    "ERR Invalid argument '{value}' for SENTINEL SET '{}'",
                    a[j]
                ))
            };
            let scripts_denied = "ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration";
            let mut redacted = false;
            let used = match opt.as_str() {
                "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum"
                    if more > 0 =>
                {
                    let Some(v) = positive() else { return bad(out) };
                    let v = v as u64;
                    match opt.as_str() {
                        "down-after-milliseconds" => set_down_after(m, v),
                        "failover-timeout" => m.failover_timeout_ms = v,
                        "parallel-syncs" => m.parallel_syncs = v.min(u64::from(u32::MAX)) as u32,
                        _ => m.quorum = v.min(u64::from(u32::MAX)) as u32,
                    }
                    2
                }
                "master-reboot-down-after-period" if more > 0 => {
                    let Some(v) = parse_i64(value.as_bytes()).filter(|v| *v >= 0) else {
                        return bad(out);
                    };
                    m.master_reboot_down_after_period_ms = v as u64;
                    2
                }
                "notification-script" | "client-reconfig-script" if more > 0 => {
                    if sn.settings.deny_scripts_reconfig {
                        return out.error(scripts_denied);
                    }
                    let v = (!value.is_empty()).then(|| value.clone());
                    if opt == "notification-script" {
                        m.notification_script = v;
                    } else {
                        m.client_reconfig_script = v;
                    }
                    2
                }
                "auth-pass" | "auth-user" if more > 0 => {
                    let v = (!value.is_empty()).then(|| value.clone());
                    if opt == "auth-pass" {
                        m.auth_pass = v;
                        redacted = true;
                    } else {
                        m.auth_user = v;
                    }
                    drop_instance_links(sn, m);
                    2
                }
                "rename-command" if more > 1 => {
                    let (from, to) = (&a[j + 1], &a[j + 2]);
                    if from.is_empty() || to.is_empty() {
                        let arg = if to.is_empty() { to } else { from };
                        return out.error(&format!(
                            "ERR Invalid argument '{arg}' for SENTINEL SET '{}'",
                            a[j]
                        ));
                    }
                    let key = from.to_ascii_lowercase();
                    let full = m.rename_commands.len() >= MAX_PER_MASTER;
                    if full && !m.rename_commands.contains_key(&key) {
                        return out.error(&format!(
                            "ERR Too many renamed commands for one master (at most {MAX_PER_MASTER})."
                        ));
                    }
                    m.rename_commands.remove(&key);
                    if !from.eq_ignore_ascii_case(to) {
                        m.rename_commands.insert(key, to.clone());
                    }
                    3
                }
                _ => {
                    return out.error(&format!(
                        "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                        a[j]
                    ))
                }
            };
            let shown: Vec<&str> = a[j..j + used]
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    if k == 1 && redacted {
                        "******"
                    } else {
                        v.as_str()
                    }
                })
                .collect();
            let msg = format!(
                "{} {}",
                crate::sentinel::describe(m, &Who::Master),
                shown.join(" ")
            );
            sn.io.event(LogLevel::Warning, "+set", msg, Some(m.name()));
            j += used;
            changes += 1;
        }
        ok = true;
    });
    if ok {
        s.sentinel_flush_config(Some(call.id));
    } else if changes > 0 {
        s.sentinel_flush_config(None);
    }
}

fn set_down_after(m: &mut Master, v: u64) {
    m.inst.down_after_ms = v;
    for i in m.replicas.values_mut().chain(m.sentinels.values_mut()) {
        i.down_after_ms = v;
    }
}

/// New credentials: reconnect every link of the master.
fn drop_instance_links(sn: &mut Sentinel, m: &mut Master) {
    for i in std::iter::once(&mut m.inst).chain(m.replicas.values_mut()) {
        i.link.close_all(&mut sn.io);
    }
}

const CONFIG_OPTIONS: &[&str] = &[
    "resolve-hostnames",
    "announce-hostnames",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
    "loglevel",
];

/// SENTINEL CONFIG SET <param> <value> ... | GET <param> ...
pub fn config(s: &mut Server, call: &Call) {
    let a: Vec<String> = call.args[3..]
        .iter()
        .map(|x| String::from_utf8_lossy(x).into_owned())
        .collect();
    let sub = String::from_utf8_lossy(&call.args[2]).to_ascii_lowercase();
    match sub.as_str() {
        "set" if call.args.len() >= 5 => config_set(s, call, &a),
        "get" => config_get(s, call, &a),
        _ => s.reply(call.id).error("ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...]/ SET <param> <value> [<param> <value> ...] are supported."),
    }
}

fn config_set(s: &mut Server, call: &Call, a: &[String]) {
    let mut seen: Vec<String> = Vec::new();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < a.len() {
        let opt = a[i].to_ascii_lowercase();
        if !CONFIG_OPTIONS.contains(&opt.as_str()) {
            let e = format!("ERR Invalid argument '{}' to SENTINEL CONFIG SET", a[i]);
            return s.reply(call.id).error(&e);
        }
        if seen.contains(&opt) {
            let e = format!("ERR Duplicate argument '{}' to SENTINEL CONFIG SET", a[i]);
            return s.reply(call.id).error(&e);
        }
        seen.push(opt.clone());
        let Some(v) = a.get(i + 1) else {
            let e = format!("ERR Missing argument '{}' value", a[i]);
            return s.reply(call.id).error(&e);
        };
        let valid = match opt.as_str() {
            "resolve-hostnames" | "announce-hostnames" => yes_no(v).is_some(),
            "announce-port" => v.parse::<u16>().is_ok(),
            "loglevel" => LogLevel::parse(v).is_some(),
            _ => true,
        };
        if !valid {
            let e = format!("ERR Invalid value '{v}' to SENTINEL CONFIG SET '{}'", a[i]);
            return s.reply(call.id).error(&e);
        }
        pairs.push((opt, v.clone()));
        i += 2;
    }
    let mut drop_links = false;
    for (opt, v) in pairs {
        let sn = sen(s);
        let opt_str = (!v.is_empty()).then(|| v.clone());
        match opt.as_str() {
            "resolve-hostnames" => sn.settings.resolve_hostnames = yes_no(&v) == Some(true),
            "announce-hostnames" => sn.settings.announce_hostnames = yes_no(&v) == Some(true),
            "announce-ip" => sn.settings.announce_ip = opt_str,
            "announce-port" => sn.settings.announce_port = v.parse().unwrap_or(0),
            "sentinel-user" => (sn.settings.sentinel_user, drop_links) = (opt_str, true),
            "sentinel-pass" => (sn.settings.sentinel_pass, drop_links) = (opt_str, true),
            _ => s.config.loglevel = LogLevel::parse(&v).unwrap_or(s.config.loglevel),
        }
    }
    if drop_links {
        let sn = sen(s);
        for link in sn.peers.values_mut() {
            link.close_all(&mut sn.io);
        }
        s.sentinel_drain();
    }
    s.sentinel_flush_config(Some(call.id));
}

fn yes_no(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn config_get(s: &mut Server, call: &Call, patterns: &[String]) {
    let loglevel = s.config.loglevel.name().to_string();
    let sn = sen(s);
    let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
    let values: [(&str, String); 7] = [
        ("resolve-hostnames", yn(sn.settings.resolve_hostnames)),
        ("announce-hostnames", yn(sn.settings.announce_hostnames)),
        (
            "announce-ip",
            sn.settings.announce_ip.clone().unwrap_or_default(),
        ),
        ("announce-port", sn.settings.announce_port.to_string()),
        (
            "sentinel-user",
            sn.settings.sentinel_user.clone().unwrap_or_default(),
        ),
        (
            "sentinel-pass",
            sn.settings.sentinel_pass.clone().unwrap_or_default(),
        ),
        ("loglevel", loglevel),
    ];
    let mut found: Vec<&(&str, String)> = Vec::new();
    for p in patterns {
        for kv in &values {
            if glob_match(p.as_bytes(), kv.0.as_bytes(), true) && !found.iter().any(|f| f.0 == kv.0)
            {
                found.push(kv);
            }
        }
    }
    let mut out = s.reply(call.id);
    out.map(found.len());
    for (k, v) in found {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

/// The timers SENTINEL DEBUG shows and sets, in Redis' order.
fn timer_fields(t: &mut Timers) -> [(&'static str, &mut u64); 13] {
    [
        ("info-period", &mut t.info_period_ms),
        ("ping-period", &mut t.ping_period_ms),
        ("ask-period", &mut t.ask_period_ms),
        ("publish-period", &mut t.publish_period_ms),
        ("default-down-after", &mut t.default_down_after_ms),
        (
            "default-failover-timeout",
            &mut t.default_failover_timeout_ms,
        ),
        ("tilt-trigger", &mut t.tilt_trigger_ms),
        ("tilt-period", &mut t.tilt_period_ms),
        ("slave-reconf-timeout", &mut t.slave_reconf_timeout_ms),
        (
            "min-link-reconnect-period",
            &mut t.min_link_reconnect_period_ms,
        ),
        ("election-timeout", &mut t.election_timeout_ms),
        ("script-max-runtime", &mut t.script_max_runtime_ms),
        ("script-retry-delay", &mut t.script_retry_delay_ms),
    ]
}

/// SENTINEL DEBUG: shows the timers, or sets `<name> <ms>` pairs (all validated first).
pub fn debug(s: &mut Server, call: &Call) {
    let a = &call.args[2..];
    let mut timers = sen(s).timers.clone();
    if a.is_empty() {
        let mut out = s.reply(call.id);
        let fields = timer_fields(&mut timers);
        out.map(fields.len());
        for (name, v) in fields {
            out.bulk(name.to_ascii_uppercase().as_bytes());
            out.bulk(v.to_string().as_bytes());
        }
        return;
    }
    for pair in a.chunks(2) {
        // Errors name the option as typed.
        let name = String::from_utf8_lossy(&pair[0]);
        let mut fields = timer_fields(&mut timers);
        let Some((_, slot)) = fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            .filter(|_| pair.len() == 2)
        else {
            let e =
                format!("ERR Unknown option or number of arguments for SENTINEL DEBUG '{name}'");
            return s.reply(call.id).error(&e);
        };
        let Some(v) = parse_i64(&pair[1]).filter(|v| *v > 0) else {
            let e = format!(
                "ERR Invalid argument '{}' for SENTINEL DEBUG '{name}'",
                String::from_utf8_lossy(&pair[1])
            );
            return s.reply(call.id).error(&e);
        };
        **slot = v as u64;
    }
    sen(s).timers = timers;
    s.reply(call.id).ok();
}

/// The `# Sentinel` section.
pub fn sentinel_section(s: &Server, now: crate::core::Now, out: &mut String) {
    let Some(sn) = s.sentinel.as_ref() else {
        return;
    };
    let tilt_since = if sn.tilt {
        now.mono_ms.saturating_sub(sn.tilt_start_ms) / 1000
    } else {
        0
    };
    let _ = write!(
        out,
        "sentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_running_scripts:{}\r\nsentinel_scripts_queue_length:{}\r\nsentinel_simulate_failure_flags:{}\r\n",
        sn.masters.len(),
        u8::from(sn.tilt),
        if sn.tilt { tilt_since as i64 } else { -1 },
        sn.scripts.running,
        sn.scripts.queue.len(),
        sn.simfailure_flags
    );
    out.push_str(&masters_info(sn));
}

/// SENTINEL HELP, in Redis' words.
pub fn help(s: &mut Server, call: &Call) {
    const LINES: &[&str] = &[
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the quorum",
        "    needed to failover a master and the majority needed to authorize the",
        "    failover.",
        "CONFIG SET param value [param value ...]",
        "    Set a global Sentinel configuration parameter.",
        "CONFIG GET <param> [param param param ...]",
        "    Get global Sentinel configuration parameter.",
        "DEBUG [<param> <value> ...]",
        "    Show a list of configurable time parameters and their values (milliseconds).",
        "    Or update current configurable parameters values (one or more).",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "FAILOVER <master-name>",
        "    Manually failover a master node without asking for agreement from other",
        "    Sentinels",
        "FLUSHCONFIG",
        "    Force Sentinel to rewrite its configuration on disk, including the current",
        "    Sentinel state.",
        "INFO-CACHE <master-name>",
        "    Return last cached INFO output from masters and all its replicas.",
        "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
        "    Check if the master specified by ip:port is down from current Sentinel's",
        "    point of view.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MONITOR <name> <ip> <port> <quorum>",
        "    Start monitoring a new master with the specified name, ip, port and quorum.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "PENDING-SCRIPTS",
        "    Get pending scripts information.",
        "REMOVE <master-name>",
        "    Remove master from Sentinel's monitor list.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "RESET <pattern>",
        "    Reset masters for specific master name matching this pattern.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "SET <master-name> <option> <value> [<option> <value> ...]",
        "    Set configuration parameters for certain masters.",
        "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
        "    Simulate a Sentinel crash.",
    ];
    super::config::help(s, call.id, "SENTINEL", LINES);
}
