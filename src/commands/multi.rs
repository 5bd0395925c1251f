//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queued commands were already checked for existence and arity when queued (dispatch does it),
//! so EXEC only has to check WATCH and run them in order.

use super::{flags::*, server, Call, CommandSpec};
use crate::core::{ConnId, Multi, Server, Watch};

pub const COMMANDS: &[CommandSpec] = &[
    server(
        "multi",
        1,
        FAST | LOADING | STALE | NOSCRIPT,
        (0, 0, 0),
        multi,
    ),
    server("exec", 1, LOADING | STALE | NOSCRIPT, (0, 0, 0), exec),
    server(
        "discard",
        1,
        FAST | LOADING | STALE | NOSCRIPT,
        (0, 0, 0),
        discard,
    ),
    server(
        "watch",
        -2,
        FAST | LOADING | STALE | NOSCRIPT,
        (1, -1, 1),
        watch,
    ),
    server(
        "unwatch",
        1,
        FAST | LOADING | STALE | NOSCRIPT,
        (0, 0, 0),
        unwatch,
    ),
];

fn multi(s: &mut Server, call: &Call) {
    let c = s.clients.get_mut(&call.id).expect("caller");
    if c.multi.is_some() {
        return s.reply(call.id).error("ERR MULTI calls can not be nested");
    }
    c.multi = Some(Multi::default());
    s.reply(call.id).ok();
}

fn exec(s: &mut Server, call: &Call) {
    let c = s.clients.get_mut(&call.id).expect("caller");
    let Some(m) = c.multi.take() else {
        return s.reply(call.id).error("ERR EXEC without MULTI");
    };
    // A key watched while live whose time has passed since fails the transaction too.
    let now_ms = call.now.unix_ms;
    let dbs = &s.ks.dbs;
    let expired = |w: &Watch| !w.stale && dbs[w.db].is_stale(&w.key, now_ms);
    let dirty_cas = c.dirty_cas || c.watched.iter().any(expired);
    unwatch_all(s, call.id);
    if m.errored {
        return s
            .reply(call.id)
            .error("EXECABORT Transaction discarded because of previous errors.");
    }
    if dirty_cas {
        return s.reply(call.id).null_array();
    }
    s.reply(call.id).array(m.queued.len());
    s.begin_exec_effects();
    for args in m.queued {
        let Some(spec) = s.command(&args[0]) else {
            continue;
        };
        s.execute(call.id, spec, &args, call.now);
        if !s.clients.contains_key(&call.id) {
            break;
        }
    }
    s.end_exec_effects();
}

fn discard(s: &mut Server, call: &Call) {
    if s.clients[&call.id].multi.is_none() {
        return s.reply(call.id).error("ERR DISCARD without MULTI");
    }
    discard_state(s, call.id);
    s.reply(call.id).ok();
}

/// Leaves MULTI and forgets WATCHed keys (DISCARD, RESET).
pub fn discard_state(s: &mut Server, id: ConnId) {
    if let Some(c) = s.clients.get_mut(&id) {
        c.multi = None;
    }
    unwatch_all(s, id);
}

fn watch(s: &mut Server, call: &Call) {
    let c = s.clients.get_mut(&call.id).expect("caller");
    if c.multi.is_some() {
        return s
            .reply(call.id)
            .error("ERR WATCH inside MULTI is not allowed");
    }
    let db = c.db;
    for key in &call.args[1..] {
        let c = s.clients.get_mut(&call.id).expect("caller");
        if c.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let stale = s.ks.dbs[db].is_stale(key, call.now.unix_ms);
        let c = s.clients.get_mut(&call.id).expect("caller");
        c.watched.push(Watch {
            db,
            key: key.clone(),
            stale,
        });
        s.ks.dbs[db].watch(key.clone());
    }
    s.reply(call.id).ok();
}

fn unwatch(s: &mut Server, call: &Call) {
    unwatch_all(s, call.id);
    s.reply(call.id).ok();
}

fn unwatch_all(s: &mut Server, id: ConnId) {
    let Some(c) = s.clients.get_mut(&id) else {
        return;
    };
    c.dirty_cas = false;
    for w in std::mem::take(&mut c.watched) {
        s.ks.dbs[w.db].unwatch(&w.key);
    }
}

#[cfg(test)]
#[path = "multi_tests.rs"]
mod tests;
