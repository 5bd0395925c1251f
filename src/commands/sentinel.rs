//! Sentinel mode's commands: SENTINEL and its subcommands (state queries, agreement, MONITOR /
//! REMOVE / RESET / FAILOVER), plus Sentinel's own ROLE and PUBLISH. SENTINEL SET, CONFIG, DEBUG,
//! HELP and INFO live in `sentinel_admin`.

use super::flags::*;
use super::{is, server, Call, CommandSpec};
use crate::core::{Now, Server};
use crate::resp::{parse_i64, Out};
use crate::sentinel::config::MAX_MASTERS;
use crate::sentinel::instance::{flags, Kind, Master};
use crate::sentinel::link::{Link, Who};
use crate::sentinel::{instance_ref, Sentinel, HELLO_CHANNEL};
use crate::text::glob_match;

pub const COMMANDS: &[CommandSpec] = &[
    server("sentinel", -2, ADMIN | LOADING | STALE, (0, 0, 0), sentinel),
    server(
        "role",
        1,
        FAST | LOADING | STALE | NOSCRIPT,
        (0, 0, 0),
        role,
    ),
    server(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        (0, 0, 0),
        publish,
    ),
    server(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        super::introspection::info::info,
    ),
];

/// Commands of the data server that Sentinel mode keeps as they are.
pub const SHARED: &[&str] = &[
    "acl",
    "ping",
    "auth",
    "hello",
    "client",
    "command",
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "shutdown",
];

/// SENTINEL's subcommands with their Redis arities.
pub(super) const SUBCOMMANDS: &[(&str, i32)] = &[
    ("ckquorum", 3),
    ("config", -4),
    ("debug", -2),
    ("failover", 3),
    ("flushconfig", 2),
    ("get-master-addr-by-name", 3),
    ("help", 2),
    ("info-cache", -3),
    ("is-master-down-by-addr", 6),
    ("master", 3),
    ("masters", 2),
    ("monitor", 6),
    ("myid", 2),
    ("pending-scripts", 2),
    ("remove", 3),
    ("replicas", 3),
    ("reset", 3),
    ("sentinels", 3),
    ("set", -5),
    ("simulate-failure", -3),
    ("slaves", 3),
];

/// Subcommands of the shared commands that Sentinel mode leaves out, as Redis 7.2 does.
const LEFT_OUT: &[(&str, &str)] = &[("client", "no-touch")];

/// True if Sentinel mode has `container`'s subcommand `sub` (both lowercase).
pub fn keeps(container: &str, sub: &str) -> bool {
    !LEFT_OUT.contains(&(container, sub))
}

fn sentinel(s: &mut Server, call: &Call) {
    #[cfg(feature = "bug-injection")]
    if call.args.len() == 3 && is(&call.args[1], "inject-bug") {
        return match sen(s).bugs.switch_on(&call.args[2]) {
            true => s.reply(call.id).ok(),
            false => s.reply(call.id).error("ERR unknown bug kind"),
        };
    }
    let Some(sub) = super::config::subcommand(s, call, SUBCOMMANDS) else {
        return;
    };
    match sub {
        "help" => super::sentinel_admin::help(s, call),
        "masters" => masters(s, call),
        "master" => with_master(s, call, |s, m, out, now| {
            reply_instance(s, m, &Who::Master, out, now)
        }),
        "replicas" | "slaves" => with_master(s, call, |s, m, out, now| {
            // Replicas whose INFO says replica_announced:0 are left out, as in Redis.
            let who: Vec<Who> = m
                .replicas
                .iter()
                .filter(|(_, r)| r.replica_announced)
                .map(|(k, _)| Who::Replica(k.clone()))
                .collect();
            reply_instances(s, m, &who, out, now)
        }),
        "sentinels" => with_master(s, call, |s, m, out, now| {
            let who: Vec<Who> = m
                .sentinels
                .keys()
                .map(|k| Who::Sentinel(k.clone()))
                .collect();
            reply_instances(s, m, &who, out, now)
        }),
        "myid" => {
            let id = sen(s).myid.clone();
            s.reply(call.id).bulk(id.as_bytes())
        }
        "is-master-down-by-addr" => is_master_down(s, call),
        "reset" => reset(s, call),
        "get-master-addr-by-name" => get_master_addr(s, call),
        "failover" => failover(s, call),
        "pending-scripts" => pending_scripts(s, call),
        "monitor" => monitor(s, call),
        "flushconfig" => s.sentinel_flush_config(Some(call.id)),
        "remove" => remove(s, call),
        "ckquorum" => ckquorum(s, call),
        "set" => super::sentinel_admin::set(s, call),
        "config" => super::sentinel_admin::config(s, call),
        "info-cache" => info_cache(s, call),
        "simulate-failure" => simulate_failure(s, call),
        _ => super::sentinel_admin::debug(s, call),
    }
}

/// The Sentinel of a server in sentinel mode (commands of this table exist only there).
pub(super) fn sen(s: &mut Server) -> &mut Sentinel {
    s.sentinel
        .as_mut()
        .expect("sentinel commands run in sentinel mode")
}

/// Runs `f` with the named master (temporarily taken out of the Sentinel), or replies Redis'
/// unknown-master error.
pub(super) fn with_master(
    s: &mut Server,
    call: &Call,
    f: impl FnOnce(&mut Sentinel, &mut Master, &mut Out, Now),
) {
    let name = String::from_utf8_lossy(&call.args[2]).into_owned();
    let Some(mut m) = sen(s).masters.remove(&name) else {
        return s.reply(call.id).error("ERR No such master with that name");
    };
    let mut sentinel = s.sentinel.take().expect("sentinel mode");
    let mut out = s.reply(call.id);
    f(&mut sentinel, &mut m, &mut out, call.now);
    sentinel.masters.insert(name, m);
    s.sentinel = Some(sentinel);
    s.sentinel_drain();
}

fn reply_instances(s: &mut Sentinel, m: &Master, who: &[Who], out: &mut Out, now: Now) {
    out.array(who.len());
    for w in who {
        reply_instance(s, m, w, out, now);
    }
}

/// One instance as a map (RESP2: a flat field/value list), in Redis' field order.
pub fn reply_instance(s: &mut Sentinel, m: &Master, who: &Who, out: &mut Out, now: Now) {
    let Some(i) = instance_ref(m, who) else {
        return out.map(0);
    };
    // A Sentinel learnt from a hello gets its shared link at the next timer tick; until then
    // it shows as Redis shows a link not connected yet.
    let unlinked;
    let link = match s.link_of(m, who) {
        Some(link) => link,
        None => {
            unlinked = Link::new(now.mono_ms);
            &unlinked
        }
    };
    // Links to Sentinels are shared by every master that knows them (+1: the one asked about).
    let refcount = match who {
        Who::Sentinel(id) => s.peer_refcount(id) + 1,
        _ => 1,
    };
    let ms = now.mono_ms;
    let ago = |t: u64| ms.saturating_sub(t).to_string();
    let mut f: Vec<(&str, String)> = vec![
        ("name", i.name.clone()),
        (
            "ip",
            s.io.shown_host(&i.host, s.settings.announce_hostnames)
                .to_string(),
        ),
        ("port", i.port.to_string()),
        ("runid", i.runid.clone().unwrap_or_default()),
        ("flags", i.flags_text(link.disconnected)),
        ("link-pending-commands", link.pending_commands.to_string()),
        ("link-refcount", refcount.to_string()),
    ];
    if i.kind == Kind::Master && i.has(flags::FAILOVER_IN_PROGRESS) {
        f.push(("failover-state", m.failover_state.name().into()));
    }
    let act = link.act_ping_time_ms;
    f.push((
        "last-ping-sent",
        if act == 0 { "0".into() } else { ago(act) },
    ));
    f.push(("last-ok-ping-reply", ago(link.last_avail_time_ms)));
    f.push(("last-ping-reply", ago(link.last_pong_time_ms)));
    if i.has(flags::S_DOWN) {
        f.push(("s-down-time", ago(i.s_down_since_ms)));
    }
    if i.has(flags::O_DOWN) {
        f.push(("o-down-time", ago(i.o_down_since_ms)));
    }
    f.push(("down-after-milliseconds", i.down_after_ms.to_string()));
    if i.kind != Kind::Sentinel {
        let refresh = if i.info_refresh_ms == 0 {
            "0".into()
        } else {
            ago(i.info_refresh_ms)
        };
        f.push(("info-refresh", refresh));
        f.push(("role-reported", i.role_reported.word().into()));
        f.push(("role-reported-time", ago(i.role_reported_time_ms)));
    }
    match i.kind {
        Kind::Master => {
            f.push(("config-epoch", i.config_epoch.to_string()));
            f.push(("num-slaves", m.replicas.len().to_string()));
            f.push(("num-other-sentinels", m.sentinels.len().to_string()));
            f.push(("quorum", m.quorum.to_string()));
            f.push(("failover-timeout", m.failover_timeout_ms.to_string()));
            f.push(("parallel-syncs", m.parallel_syncs.to_string()));
            if let Some(p) = &m.notification_script {
                f.push(("notification-script", p.clone()));
            }
            if let Some(p) = &m.client_reconfig_script {
                f.push(("client-reconfig-script", p.clone()));
            }
        }
        Kind::Replica => {
            f.push((
                "master-link-down-time",
                i.master_link_down_time_ms.to_string(),
            ));
            f.push((
                "master-link-status",
                if i.slave_master_link_up { "ok" } else { "err" }.into(),
            ));
            f.push((
                "master-host",
                i.slave_master_host.clone().unwrap_or_else(|| "?".into()),
            ));
            f.push(("master-port", i.slave_master_port.to_string()));
            f.push(("slave-priority", i.slave_priority.to_string()));
            f.push(("slave-repl-offset", i.slave_repl_offset.to_string()));
            f.push((
                "replica-announced",
                u8::from(i.replica_announced).to_string(),
            ));
        }
        Kind::Sentinel => {
            f.push(("last-hello-message", ago(i.last_hello_time_ms)));
            f.push((
                "voted-leader",
                i.leader.clone().unwrap_or_else(|| "?".into()),
            ));
            f.push(("voted-leader-epoch", i.leader_epoch.to_string()));
        }
    }
    out.map(f.len());
    for (k, v) in f {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

fn masters(s: &mut Server, call: &Call) {
    let mut sentinel = s.sentinel.take().expect("sentinel mode");
    let masters = std::mem::take(&mut sentinel.masters);
    let mut out = s.reply(call.id);
    out.array(masters.len());
    for m in masters.values() {
        reply_instance(&mut sentinel, m, &Who::Master, &mut out, call.now);
    }
    sentinel.masters = masters;
    s.sentinel = Some(sentinel);
}

fn get_master_addr(s: &mut Server, call: &Call) {
    let name = String::from_utf8_lossy(&call.args[2]).into_owned();
    let sn = sen(s);
    let addr = sn.masters.get(&name).map(|m| {
        let (host, port) = m.current_addr();
        let shown = sn.io.shown_host(&host, sn.settings.announce_hostnames);
        (shown.to_string(), port)
    });
    let mut out = s.reply(call.id);
    match addr {
        None => out.null_array(),
        Some((ip, port)) => {
            out.array(2);
            out.bulk(ip.as_bytes());
            out.bulk(port.to_string().as_bytes());
        }
    }
}

/// `SENTINEL is-master-down-by-addr <ip> <port> <epoch> <*|runid>`: our opinion, and our vote.
fn is_master_down(s: &mut Server, call: &Call) {
    let a = call.args;
    let (Some(port), Some(epoch)) = (parse_i64(&a[3]), parse_i64(&a[4])) else {
        return s
            .reply(call.id)
            .error("ERR value is not an integer or out of range");
    };
    let ip = String::from_utf8_lossy(&a[2]).into_owned();
    let runid = String::from_utf8_lossy(&a[5]).into_owned();
    let now = call.now;
    let sn = sen(s);
    let tilt = sn.tilt;
    let name = sn
        .masters
        .values()
        .find(|m| m.inst.host == ip && i64::from(m.inst.port) == port)
        .map(|m| m.name().to_string());
    let mut reply = (false, None, 0u64);
    if let Some(mut m) = name.as_ref().and_then(|n| sn.masters.remove(n)) {
        reply.0 = !tilt && m.inst.has(flags::S_DOWN);
        if runid != "*" {
            let (leader, e) = sn.vote_leader(
                &mut m,
                u64::try_from(epoch).unwrap_or(0),
                &runid,
                now.mono_ms,
            );
            reply.1 = leader;
            reply.2 = e;
        }
        sn.masters.insert(m.name().to_string(), m);
    }
    s.sentinel_drain();
    let mut out = s.reply(call.id);
    out.array(3);
    out.int(i64::from(reply.0));
    out.bulk(reply.1.as_deref().unwrap_or("*").as_bytes());
    out.int(i64::try_from(reply.2).unwrap_or(i64::MAX));
}

fn reset(s: &mut Server, call: &Call) {
    let pattern = call.args[2].clone();
    let names: Vec<String> = sen(s)
        .masters
        .keys()
        .filter(|n| glob_match(&pattern, n.as_bytes(), false))
        .cloned()
        .collect();
    for name in &names {
        let sn = sen(s);
        if let Some(mut m) = sn.masters.remove(name) {
            sn.reset_master(&mut m, false, call.now.mono_ms, true);
            sn.masters.insert(name.clone(), m);
        }
    }
    sen(s).prune_peer_links();
    sen(s).flush_config();
    s.sentinel_drain();
    s.reply(call.id).int(names.len() as i64);
}

fn failover(s: &mut Server, call: &Call) {
    with_master(s, call, |sn, m, out, now| {
        if m.inst.has(flags::FAILOVER_IN_PROGRESS) {
            return out.error("INPROG Failover already in progress");
        }
        if sn.select_replica(m, now.mono_ms).is_none() {
            return out.error("NOGOODSLAVE No suitable replica to promote");
        }
        sn.io.out.push_back(crate::sentinel::link::Out::Log {
            level: crate::config::LogLevel::Notice,
            msg: format!("Executing user requested FAILOVER of '{}'", m.name()),
        });
        sn.start_failover(m, now.mono_ms);
        m.inst.flags |= flags::FORCE_FAILOVER;
        out.ok();
    });
}

fn monitor(s: &mut Server, call: &Call) {
    let a = call.args;
    let Some(quorum) = parse_i64(&a[5]) else {
        return s.reply(call.id).error("ERR Invalid quorum");
    };
    let Some(port) = parse_i64(&a[4]) else {
        return s.reply(call.id).error("ERR Invalid port");
    };
    if quorum <= 0 {
        return s.reply(call.id).error("ERR Quorum must be 1 or greater.");
    }
    let host = String::from_utf8_lossy(&a[3]).into_owned();
    let resolve = sen(s).settings.resolve_hostnames;
    if !(resolve || host.parse::<std::net::IpAddr>().is_ok()) {
        return s
            .reply(call.id)
            .error("ERR Invalid IP address or hostname specified");
    }
    // Like Redis, any port in 0..=65535 is accepted (port 0 is never dialled).
    let Ok(port) = u16::try_from(port) else {
        return s.reply(call.id).error("ERR Invalid port number.");
    };
    let name = String::from_utf8_lossy(&a[2]).into_owned();
    let sn = sen(s);
    if sn.masters.contains_key(&name) {
        return s.reply(call.id).error("ERR Duplicate master name.");
    }
    // No more than a config file may list.
    if sn.masters.len() >= MAX_MASTERS {
        let e = format!("ERR Too many masters monitored (at most {MAX_MASTERS}).");
        return s.reply(call.id).error(&e);
    }
    let quorum = u32::try_from(quorum).unwrap_or(u32::MAX);
    let mut m = Master::new(&name, &host, port, quorum, call.now.mono_ms);
    // SENTINEL DEBUG can change the defaults a new master starts with.
    m.inst.down_after_ms = sn.timers.default_down_after_ms;
    m.failover_timeout_ms = sn.timers.default_failover_timeout_ms;
    sn.masters.insert(name.clone(), Box::new(m));
    sn.monitor_event(&name);
    s.sentinel_flush_config(Some(call.id));
    s.sentinel_drain();
}

fn remove(s: &mut Server, call: &Call) {
    let name = String::from_utf8_lossy(&call.args[2]).into_owned();
    if !sen(s).remove_master(&name, call.now.mono_ms) {
        return s.reply(call.id).error("ERR No such master with that name");
    }
    s.sentinel_drain();
    s.sentinel_flush_config(Some(call.id));
}

fn ckquorum(s: &mut Server, call: &Call) {
    with_master(s, call, |sn, m, out, _| {
        let (usable, voters) = sn.usable_sentinels(m);
        let no_quorum = usable < m.quorum as usize;
        let no_auth = usable < voters / 2 + 1;
        if !no_quorum && !no_auth {
            return out.simple(&format!(
                "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
            ));
        }
        let mut e = format!("NOQUORUM {usable} usable Sentinels. ");
        if no_quorum {
            e.push_str(
                "Not enough available Sentinels to reach the specified quorum for this master",
            );
        }
        if no_auth {
            if no_quorum {
                e.push_str(". ");
            }
            e.push_str(
                "Not enough available Sentinels to reach the majority and authorize a failover",
            );
        }
        out.error(&e);
    });
}

fn info_cache(s: &mut Server, call: &Call) {
    let now_ms = call.now.mono_ms;
    let wanted: Vec<String> = call.args[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let sn = s.sentinel.take().expect("sentinel mode");
    let chosen: Vec<&Master> = sn
        .masters
        .values()
        .map(|m| &**m)
        .filter(|m| wanted.is_empty() || wanted.iter().any(|w| w == m.name()))
        .collect();
    let mut out = s.reply(call.id);
    out.array(chosen.len() * 2);
    for m in chosen {
        out.bulk(m.name().as_bytes());
        out.array(m.replicas.len() + 1);
        for i in std::iter::once(&m.inst).chain(m.replicas.values()) {
            out.array(2);
            out.int(now_ms.saturating_sub(i.info_refresh_ms) as i64);
            if i.info.is_empty() {
                out.null();
            } else {
                out.bulk(i.info.as_bytes());
            }
        }
    }
    s.sentinel = Some(sn);
}

/// Each queued script run: argv, running or scheduled, its id, how long it ran or must wait,
/// and how many times it ran.
fn pending_scripts(s: &mut Server, call: &Call) {
    let now_ms = call.now.mono_ms;
    let jobs = sen(s).scripts.queue.clone();
    let mut out = s.reply(call.id);
    out.array(jobs.len());
    for j in jobs {
        out.map(5);
        out.bulk(b"argv");
        out.bulks(j.argv.iter().map(|a| a.as_bytes()));
        out.bulk(b"flags");
        out.bulk(if j.running {
            b"running" as &[u8]
        } else {
            b"scheduled"
        });
        out.bulk(b"pid");
        out.bulk(j.id.to_string().as_bytes());
        if j.running {
            out.bulk(b"run-time");
            out.bulk(
                now_ms
                    .saturating_sub(j.start_time_ms)
                    .to_string()
                    .as_bytes(),
            );
        } else {
            out.bulk(b"run-delay");
            out.bulk(
                j.start_time_ms
                    .saturating_sub(now_ms)
                    .to_string()
                    .as_bytes(),
            );
        }
        out.bulk(b"retry-num");
        out.bulk(j.retry_num.to_string().as_bytes());
    }
}

fn simulate_failure(s: &mut Server, call: &Call) {
    let mut flags_set = 0;
    for a in &call.args[2..] {
        if is(a, "crash-after-election") {
            flags_set |= crate::sentinel::SIMFAILURE_CRASH_AFTER_ELECTION;
        } else if is(a, "crash-after-promotion") {
            flags_set |= crate::sentinel::SIMFAILURE_CRASH_AFTER_PROMOTION;
        } else if is(a, "help") {
            return s
                .reply(call.id)
                .bulks(["crash-after-election", "crash-after-promotion"].into_iter());
        } else {
            return s
                .reply(call.id)
                .error("ERR Unknown failure simulation specified");
        }
    }
    sen(s).simfailure_flags = flags_set;
    s.reply(call.id).ok();
}

/// ROLE in sentinel mode: `sentinel` and the names of the monitored masters.
fn role(s: &mut Server, call: &Call) {
    let names: Vec<String> = sen(s).masters.keys().cloned().collect();
    let mut out = s.reply(call.id);
    out.array(2);
    out.bulk(b"sentinel");
    out.bulks(names.iter().map(|n| n.as_bytes()));
}

/// A Sentinel accepts PUBLISH only for hellos, which it processes as if received from a master.
fn publish(s: &mut Server, call: &Call) {
    if call.args[1].as_ref() != HELLO_CHANNEL.as_bytes() {
        return s
            .reply(call.id)
            .error("ERR Only HELLO messages are accepted by Sentinel instances.");
    }
    let payload = String::from_utf8_lossy(&call.args[2]).into_owned();
    s.with_sentinel(|sn| sn.process_hello(&payload, call.now));
    s.reply(call.id).int(1);
}

/// `master0:name=...,status=...,address=...,slaves=N,sentinels=N` lines of INFO sentinel.
pub fn masters_info(sn: &Sentinel) -> String {
    let mut text = String::new();
    for (idx, m) in sn.masters.values().enumerate() {
        let status = if m.inst.has(flags::O_DOWN) {
            "odown"
        } else if m.inst.has(flags::S_DOWN) {
            "sdown"
        } else {
            "ok"
        };
        let (ip, port) = m.current_addr();
        text.push_str(&format!(
            "master{idx}:name={},status={status},address={ip}:{port},slaves={},sentinels={}\r\n",
            m.name(),
            m.replicas.len(),
            m.sentinels.len() + 1
        ));
    }
    text
}

#[cfg(test)]
#[path = "sentinel_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sentinel_acl_tests.rs"]
mod acl_tests;
