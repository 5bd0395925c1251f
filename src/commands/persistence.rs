//! Persistence commands: SAVE, BGSAVE [SCHEDULE], BGREWRITEAOF, LASTSAVE. The work is in
//! `core::persist` and `core::aof`.

use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::persist::Target;
use crate::core::Server;

pub const COMMANDS: &[CommandSpec] = &[
    server("save", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), save),
    server("bgsave", -1, ADMIN | NOSCRIPT, (0, 0, 0), bgsave),
    server("lastsave", 1, LOADING | STALE | FAST, (0, 0, 0), lastsave),
    server("bgrewriteaof", 1, ADMIN | NOSCRIPT, (0, 0, 0), bgrewriteaof),
];

fn save(s: &mut Server, call: &Call) {
    if s.persist.bgsave.is_some() {
        return s
            .reply(call.id)
            .error("ERR Background save already in progress");
    }
    s.save(call.now, Some(call.id), false);
}

fn bgsave(s: &mut Server, call: &Call) {
    let schedule = match call.args.get(1) {
        None => false,
        Some(a) if is(a, "schedule") && call.args.len() == 2 => true,
        Some(_) => return s.reply(call.id).syntax(),
    };
    if s.persist
        .bgsave
        .as_ref()
        .is_some_and(|b| b.target != Target::Rdb)
        && !schedule
    {
        return s.reply(call.id).error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    if s.persist.bgsave.is_some() {
        if schedule {
            s.persist.scheduled = true;
            return s.reply(call.id).simple("Background saving scheduled");
        }
        return s
            .reply(call.id)
            .error("ERR Background save already in progress");
    }
    s.bgsave_start(call.now);
    s.reply(call.id).simple("Background saving started");
}

fn bgrewriteaof(s: &mut Server, call: &Call) {
    let running = s.persist.bgsave.as_ref().map(|b| b.target);
    // Inside a transaction the rewrite waits for its end, as it waits for another snapshot.
    let in_exec = s.exec_effects.is_some();
    match (s.aof.as_mut(), running) {
        (None, _) => s.reply(call.id).error("ERR Background AOF rewrite needs appendonly yes (redsim keeps no AOF files while it is off)"),
        (Some(_), Some(Target::AofBase { .. })) => s.reply(call.id).error("ERR Background append only file rewriting already in progress"),
        (Some(aof), _) if in_exec || running.is_some() => {
            aof.rewrite_scheduled = true;
            s.reply(call.id).simple("Background append only file rewriting scheduled");
        }
        (Some(_), _) => {
            s.aof_rewrite_start(call.now);
            s.reply(call.id).simple("Background append only file rewriting started");
        }
    }
}

fn lastsave(s: &mut Server, call: &Call) {
    let t = s.persist.last_save_unix_s as i64;
    s.reply(call.id).int(t);
}

#[cfg(test)]
#[path = "persistence_tests.rs"]
mod tests;
