//! Replication commands: REPLICAOF/SLAVEOF, SYNC, PSYNC, REPLCONF, ROLE, WAIT, FAILOVER. The work
//! is in `core::replication` (master side), `core::replica_side` and `core::failover`.

use super::{flags::*, is, server, Call, CommandSpec};
use crate::config::LogLevel;
use crate::core::Server;
use crate::repl::{FailoverState, SyncRequest};

pub const COMMANDS: &[CommandSpec] = &[
    server(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE,
        (0, 0, 0),
        replicaof,
    ),
    server("slaveof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), replicaof),
    server("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), sync),
    server("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), psync),
    server(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        replconf,
    ),
    server(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        role,
    ),
    server("wait", 3, 0, (0, 0, 0), wait),
    server(
        "failover",
        -1,
        ADMIN | NOSCRIPT | STALE,
        (0, 0, 0),
        failover,
    ),
];

fn replicaof(s: &mut Server, call: &Call) {
    let (host, port) = (&call.args[1], &call.args[2]);
    let who = s
        .clients
        .get(&call.id)
        .map(|c| c.info_line(call.now.mono_ms))
        .unwrap_or_default();
    if s.failover.state != FailoverState::None {
        return s
            .reply(call.id)
            .error("ERR REPLICAOF not allowed while failing over.");
    }
    if is(host, "no") && is(port, "one") {
        if s.is_replica() {
            s.become_master();
            let line = format!("MASTER MODE enabled (user request from '{who}')");
            s.log(LogLevel::Notice, line);
        }
        return s.reply(call.id).ok();
    }
    let Some(port) = crate::core::parse_port(port) else {
        return s.reply(call.id).error("ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(host).into_owned();
    if s.config
        .replicaof
        .as_ref()
        .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && *p == port)
    {
        s.log(LogLevel::Notice, "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.".into());
        return s
            .reply(call.id)
            .simple("OK Already connected to specified master");
    }
    s.become_replica_of(&host, port, call.now);
    s.log(
        LogLevel::Notice,
        format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"),
    );
    s.reply(call.id).ok();
}

fn failover(s: &mut Server, call: &Call) {
    s.failover_command(call.id, &call.args[1..], call.now);
}

fn sync(s: &mut Server, call: &Call) {
    s.replica_sync(call.id, SyncRequest::Sync, call.now);
}

fn psync(s: &mut Server, call: &Call) {
    if s.repl.replicas.contains_key(&call.id) {
        return;
    }
    if call.args.len() > 3 && is(&call.args[3], "failover") {
        if let Some(e) = s.psync_failover_request(call.id, &call.args[1]) {
            return s.reply(call.id).error(&e);
        }
    }
    if crate::resp::parse_i64(&call.args[2]).is_none() {
        let ip = s.clients.get(&call.id).map(|c| c.peer.ip().to_string());
        let name = format!("{}:<unknown-replica-port>", ip.unwrap_or_default());
        s.log(
            crate::config::LogLevel::Warning,
            format!("Replica {name} asks for synchronization but with a wrong offset"),
        );
        return s
            .reply(call.id)
            .error("ERR value is not an integer or out of range");
    }
    let req = SyncRequest::Psync {
        replid: &call.args[1],
        offset: &call.args[2],
    };
    s.replica_sync(call.id, req, call.now);
}

fn replconf(s: &mut Server, call: &Call) {
    s.replica_replconf(call.id, call.args, call.now);
}

fn role(s: &mut Server, call: &Call) {
    if let Some(link) = s.repl.link.as_ref() {
        let (host, port) = (
            link.link.config().master_host.clone(),
            link.link.config().master_port,
        );
        let loading = s.loading_master_snapshot();
        let state = if loading {
            "sync"
        } else {
            link.link.state_name()
        };
        let offset = if link.is_up() && !loading {
            s.repl.offset
        } else {
            -1
        };
        let mut out = s.reply(call.id);
        out.array(5);
        out.bulk(b"slave");
        out.bulk(host.as_bytes());
        out.int(port as i64);
        out.bulk(state.as_bytes());
        out.int(offset);
        return;
    }
    let replicas: Vec<(String, String, String)> = s
        .repl
        .replicas
        .values()
        .filter(|r| r.state == crate::repl::ReplicaState::Online)
        .map(|r| {
            (
                r.announce_ip.clone().unwrap_or_else(|| r.ip().to_string()),
                r.listening_port.to_string(),
                r.ack_offset.to_string(),
            )
        })
        .collect();
    let offset = s.repl.offset;
    let mut out = s.reply(call.id);
    out.array(3);
    out.bulk(b"master");
    out.int(offset);
    out.array(replicas.len());
    for (ip, port, ack) in replicas {
        out.bulks([ip, port, ack].iter());
    }
}

fn wait(s: &mut Server, call: &Call) {
    if s.is_replica() {
        return s.reply(call.id).error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(n) = super::int_arg(&mut s.reply(call.id), &call.args[1]) else {
        return;
    };
    let Some(timeout_ms) =
        super::ms_timeout_arg(&mut s.reply(call.id), &call.args[2], call.now.unix_ms)
    else {
        return;
    };
    s.wait_replicas(call.id, n.max(0) as usize, timeout_ms, call.now);
}

#[cfg(test)]
#[path = "sentinel_facing_tests.rs"]
mod sentinel_facing_tests;
