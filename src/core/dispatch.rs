//! From query buffer to reply: frame parsing with limits, command lookup, the checks Redis makes
//! before running a command (arity, auth, commands refused in MULTI, pub/sub mode), MULTI queuing,
//! and execution.

use super::{ConnId, Now, Server};
use crate::commands::{flags, Call, CommandSpec, Cx, Handler, Propagate};
use crate::config::LogLevel;
use crate::resp::{self, Limits, Out, Parsed};
use bytes::Bytes;
use std::borrow::Cow;

impl Server {
    /// Parses and runs every complete command in the client's query buffer.
    pub(crate) fn process_input(&mut self, id: ConnId, now: Now) {
        let last_big_arg = self.run_input(id, now);
        if let Some(c) = self.clients.get_mut(&id) {
            c.qbuf_ran = 0;
            c.note_parsed(last_big_arg);
        }
    }

    /// The parse-and-run loop of `process_input`; returns the length of the last command's
    /// last argument when it was a big one (the query buffer's size follows it).
    fn run_input(&mut self, id: ConnId, now: Now) -> Option<usize> {
        let mut last_big_arg = None;
        loop {
            if self.is_busy() {
                return last_big_arg;
            }
            let c = self.clients.get_mut(&id)?;
            if c.blocked_on.is_some() || c.close_after_reply || c.close_asap || self.shutting_down {
                return last_big_arg;
            }
            let limits = Limits {
                proto_max_bulk_len: self.config.proto_max_bulk_len,
                authenticated: c.authenticated,
            };
            match resp::parse_request(&c.qbuf, limits) {
                Ok(Parsed::Incomplete) => {
                    if c.qbuf.len() as i64 > self.config.client_query_buffer_limit {
                        self.query_buffer_overrun(id, now);
                    }
                    return last_big_arg;
                }
                Ok(Parsed::Empty(n)) => resp::consume(&mut c.qbuf, n),
                Ok(Parsed::Command(args, n)) => {
                    resp::consume(&mut c.qbuf, n);
                    c.qbuf_ran += n;
                    last_big_arg = args
                        .last()
                        .map(|a| a.len())
                        .filter(|n| *n >= super::querybuf::BIG_ARG_BYTES);
                    self.call(id, args, now);
                }
                Err(e) => {
                    c.qbuf.clear();
                    let peer = c.peer;
                    self.reply(id)
                        .error(&format!("ERR Protocol error: {}", e.0));
                    self.log(
                        LogLevel::Verbose,
                        format!("Protocol error ({}) from client: addr={peer}", e.0),
                    );
                    self.close_after_reply(id);
                    return last_big_arg;
                }
            }
        }
    }

    /// The query buffer outgrew `client-query-buffer-limit`: Redis' log line, then the client
    /// is closed at once.
    fn query_buffer_overrun(&mut self, id: ConnId, now: Now) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        let line = c.info_line(now.mono_ms);
        let head = crate::text::repr_arg(&c.qbuf[..c.qbuf.len().min(64)]);
        c.qbuf.clear();
        c.close_asap = true;
        self.pending.insert(id);
        self.log(
            LogLevel::Warning,
            format!("Closing client that reached max query buffer length: {line} (qbuf initial bytes: {head})"),
        );
    }

    /// Runs one command; a replica whose command produced a reply is disconnected instead
    /// (`replica_replied`).
    pub(crate) fn call(&mut self, id: ConnId, args: Vec<Bytes>, now: Now) {
        let replica_out = self
            .repl
            .replicas
            .contains_key(&id)
            .then(|| self.clients.get(&id).map_or(0, |c| c.out.len()));
        self.process_command(id, args, now);
        if let Some(before) = replica_out {
            self.replica_replied(id, before);
        }
        self.enforce_output_limit(id, false);
    }

    /// Runs one command as Redis' `processCommand` does.
    fn process_command(&mut self, id: ConnId, args: Vec<Bytes>, now: Now) {
        let spec = self.command(&args[0]);
        let c = self.clients.get_mut(&id).expect("caller exists");
        c.last_cmd = spec.map_or(Cow::Borrowed("NULL"), |s| full_name(s.name, &args));
        c.skipping = std::mem::take(&mut c.skip_next);
        let in_multi = c.multi.is_some();
        let Some(spec) = spec else {
            let msg = unknown_command_error(&args);
            self.reject(id, &msg, in_multi);
            return;
        };
        if let Some(msg) = self.refusal(id, spec, &args, now, in_multi) {
            let name = self.clients[&id].last_cmd.clone();
            self.stats.command(name).rejected += 1;
            if spec.name != "exec" {
                return self.reject(id, &msg, in_multi);
            }
            // A refused EXEC discards its transaction, as Redis' execCommandAbort (monitors
            // see the EXEC that ends the MULTI they saw).
            crate::commands::multi::discard_state(self, id);
            crate::commands::monitor::feed(self, id, spec, &args, now);
            let msg = format!("EXECABORT Transaction discarded because of: {msg}");
            return self.reject(id, &msg, false);
        }
        let c = &self.clients[&id];
        if c.in_pubsub_mode() && spec.flags & flags::PUBSUB == 0 {
            let msg = format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            );
            self.reply(id).error(&msg);
            return;
        }
        if self.pause_holds(id, spec) {
            return self.hold(id, args);
        }
        self.limit_tracking_table();
        if in_multi && !RUN_AT_ONCE_IN_MULTI.contains(&spec.name) {
            let c = self.clients.get_mut(&id).expect("caller exists");
            c.multi.as_mut().expect("in multi").queued.push(args);
            self.reply(id).simple("QUEUED");
            return;
        }
        self.running = Some((id, Default::default()));
        self.execute(id, spec, &args, now);
        if let Some((_, pushed)) = self.running.take().filter(|(_, p)| !p.is_empty()) {
            self.push(id).raw(&pushed);
        }
        // CLIENT CACHING applies to the next command (or transaction) only.
        let t = self.clients.get_mut(&id).and_then(|c| c.tracking.as_mut());
        if let Some(t) = t.filter(|_| spec.name != "client" && spec.name != "multi") {
            t.caching = false;
        }
    }

    /// The checks processCommand makes before running a known command; `Some` is the error.
    fn refusal(
        &mut self,
        id: ConnId,
        spec: &CommandSpec,
        args: &[Bytes],
        now: Now,
        in_multi: bool,
    ) -> Option<String> {
        if (spec.arity > 0 && args.len() as i32 != spec.arity) || (args.len() as i32) < -spec.arity
        {
            return Some(format!(
                "ERR wrong number of arguments for '{}' command",
                spec.name
            ));
        }
        if spec.name == "debug" && !crate::commands::debug::allowed(self, id) {
            return Some(crate::commands::debug::REFUSED.into());
        }
        let c = &self.clients[&id];
        if !c.authenticated && spec.flags & flags::NO_AUTH == 0 {
            return Some("NOAUTH Authentication required.".into());
        }
        if in_multi && spec.flags & flags::NO_MULTI != 0 {
            return Some("ERR Command not allowed inside a transaction".into());
        }
        if let Some(msg) = self.acl_refusal(id, spec, args, now, in_multi) {
            return Some(msg);
        }
        let judged = self.judged_flags(id, spec);
        if let Some(msg) = self.oom_refusal(id, spec.name, judged, in_multi) {
            return Some(msg);
        }
        if self.repl.replicas.contains_key(&id)
            && spec.flags & (flags::READONLY | flags::WRITE) != 0
        {
            return Some("ERR Replica can't interact with the keyspace".into());
        }
        if let Some(msg) = self.disk_refusal(id, spec.name, judged, now) {
            return Some(msg);
        }
        if let Some(msg) = self.replication_refusal(id, judged, now) {
            return Some(msg.into());
        }
        let internal = id == crate::core::replication::MASTER_CLIENT_ID || self.replaying;
        let refused = match self.persist.async_loading {
            true => crate::core::loading::NO_ASYNC_LOADING.contains(&spec.name),
            false => judged & flags::LOADING == 0,
        };
        (self.persist.loading && !internal && refused)
            .then(|| crate::core::loading::LOADING_ERROR.into())
    }

    /// The flags the checks judge a command by. EXEC's include its queued commands': it writes
    /// or may use memory if any of them does, and may run stale or while loading only if every
    /// one of them may (Redis' `mstate.cmd_flags` and `cmd_inv_flags`).
    fn judged_flags(&self, id: ConnId, spec: &CommandSpec) -> u32 {
        let multi = self.clients[&id]
            .multi
            .as_ref()
            .filter(|_| spec.name == "exec");
        let Some(m) = multi else {
            return spec.flags;
        };
        let queued = m.queued.iter().filter_map(|q| self.command(&q[0]));
        let (any, all) = queued.fold((0, u32::MAX), |(any, all), c| {
            (any | c.flags, all & c.flags)
        });
        let gained = any & (flags::WRITE | flags::DENYOOM);
        let lost = (flags::STALE | flags::LOADING) & !all;
        (spec.flags | gained) & !lost
    }

    /// Redis refuses writes (and PING) while it cannot persist: a failed BGSAVE with
    /// stop-writes-on-bgsave-error, or a failed AOF write. A replica never refuses its master's
    /// stream (it would diverge silently): it stops, as Redis panics, unless
    /// `replica-ignore-disk-write-errors yes` lets it apply the stream anyway.
    fn disk_refusal(&mut self, id: ConnId, name: &str, judged: u32, now: Now) -> Option<String> {
        if self.replaying || (judged & flags::WRITE == 0 && name != "ping") {
            return None;
        }
        let refusal = match self.writes_refused_misconf() {
            true => Some(crate::core::persist::MISCONF.to_string()),
            false => self.aof_write_refusal(),
        };
        if id != crate::core::replication::MASTER_CLIENT_ID || refusal.is_none() {
            return refusal;
        }
        let ignore = self.config.noop.get("replica-ignore-disk-write-errors");
        if name != "ping" && ignore.is_none_or(|v| v != "yes") {
            self.log(
                LogLevel::Warning,
                "Guru Meditation: Replica was unable to write command to disk. #server.c:4037"
                    .into(),
            );
            self.exit(1);
            return refusal;
        }
        let last = &mut self.repl.disk_error_warned_ms;
        if last.is_none_or(|t| now.mono_ms > t + 10_000) {
            *last = Some(now.mono_ms);
            self.log(
                LogLevel::Warning,
                "Replica is applying a command even though it is unable to write to disk.".into(),
            );
        }
        None
    }

    /// What replication forbids: writes on a read-only replica, anything but STALE commands
    /// while a replica that must not serve stale data has no master link, and writes without
    /// enough good replicas (min-replicas-to-write).
    fn replication_refusal(&self, id: ConnId, judged: u32, now: Now) -> Option<&'static str> {
        if id == crate::core::replication::MASTER_CLIENT_ID || self.replaying {
            return None;
        }
        let write = judged & flags::WRITE != 0;
        if let Some(link) = self.repl.link.as_ref() {
            if write && self.config.replica_read_only {
                return Some("READONLY You can't write against a read only replica.");
            }
            if !self.config.replica_serve_stale_data && !link.is_up() && judged & flags::STALE == 0
            {
                return Some("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
            }
            return None;
        }
        (write && self.noreplicas_refusal(now)).then_some(crate::repl::NOREPLICAS_ERROR)
    }

    /// Replies an error for a command that could not run; inside MULTI it also dooms the EXEC.
    fn reject(&mut self, id: ConnId, msg: &str, in_multi: bool) {
        self.stats.error_replied(msg.as_bytes());
        self.reply(id).error(msg);
        if in_multi {
            if let Some(m) = self.clients.get_mut(&id).and_then(|c| c.multi.as_mut()) {
                m.errored = true;
            }
        }
    }

    /// Runs a command that passed all checks (also used by EXEC for queued commands).
    pub(crate) fn execute(&mut self, id: ConnId, spec: &CommandSpec, args: &[Bytes], now: Now) {
        self.stats.total_commands_processed += 1;
        let before = self.clients.get(&id).map_or(0, |c| c.out.len());
        let busy_before = self.busy_deadline();
        let shown_before = crate::commands::monitor::shown_before(spec);
        if shown_before {
            crate::commands::monitor::feed(self, id, spec, args, now);
        }
        self.run_handler(id, spec, args, now);
        if !shown_before {
            crate::commands::monitor::feed(self, id, spec, args, now);
        }
        // What the command changed is invalidated before what it read is remembered.
        self.invalidate_changes();
        self.remember_keys(id, spec, args);
        // A command's duration is the time it keeps the server busy (DEBUG SLEEP).
        let duration_us = match self.busy_deadline() {
            Some(until) if busy_before != Some(until) => until.saturating_sub(now.mono_ms) * 1000,
            _ => 0,
        };
        crate::commands::slowlog::record(self, id, spec.name, args, duration_us, now);
        let error = self
            .clients
            .get(&id)
            .and_then(|c| c.out.get(before..).filter(|o| o.first() == Some(&b'-')))
            .map(|o| o[1..].to_vec());
        if let Some(msg) = &error {
            self.stats.error_replied(msg);
        }
        let stat = self.stats.command(full_name(spec.name, args));
        stat.calls += 1;
        stat.failed += u64::from(error.is_some());
        self.serve_ready(now);
        self.publish_key_events();
    }

    fn run_handler(&mut self, id: ConnId, spec: &CommandSpec, args: &[Bytes], now: Now) {
        match spec.handler {
            Handler::Server(f) => f(self, &Call { id, args, now }),
            Handler::Data(f) => {
                let db = self.clients.get(&id).map_or(0, |c| c.db);
                let before = self.before_write(spec, args, db);
                let Some((db_index, (), dirty, effects)) = self.with_cx(id, now, |cx| f(cx, args))
                else {
                    return;
                };
                // Keys the command found expired are deleted before its own effects, in the
                // stream as in the keyspace (a write to an expired key recreates it after).
                self.drain_expired();
                if dirty > 0 {
                    if spec.first_key == 0 && spec.movable_keys.is_none() {
                        self.signal_all_keys();
                    }
                    crate::commands::object::note_written(self, id, db_index, spec, args, now);
                    for key in crate::commands::object::keys_of(spec, args) {
                        self.signal_key(db_index, key);
                    }
                    // A command's own form is copied only for someone to see it.
                    let cmds = match effects {
                        Propagate::AsIs if before.is_none() && !self.propagates() => Vec::new(),
                        Propagate::AsIs => vec![args.to_vec()],
                        Propagate::Replace(cmds) => cmds,
                    };
                    if let Some(before) = before {
                        self.after_write(spec, args, db_index, before, &cmds);
                    }
                    self.propagate(db_index, cmds);
                }
                if spec.name == "flushall" {
                    // The snapshots being produced are of data that is gone.
                    self.repl_child_kill();
                    self.flushall_persist(now);
                }
            }
        }
        self.drain_expired();
        self.publish_key_events();
    }

    /// Runs `f` with client `id`'s data command context (its database, its reply buffer); returns
    /// the database, `f`'s result, the changes counted and how they propagate. The changes are
    /// added to the server's dirty counter; signalling and propagating are the caller's.
    pub(crate) fn with_cx<R>(
        &mut self,
        id: ConnId,
        now: Now,
        f: impl FnOnce(&mut Cx) -> R,
    ) -> Option<(usize, R, u64, Propagate)> {
        let stop_at = self.reply_room(id);
        let c = self.clients.get_mut(&id)?;
        let db_index = c.db;
        let buf = if c.silenced() {
            self.discard.clear();
            &mut self.discard
        } else {
            &mut c.out
        };
        let mut cx = Cx {
            now,
            ks: &mut self.ks,
            db_index,
            out: Out::with_resp(buf, c.resp).stopping_at(stop_at),
            rng: &mut self.rng,
            dirty: 0,
            propagate: Default::default(),
            config: &self.config,
            obey: id == crate::core::replication::MASTER_CLIENT_ID || self.replaying,
        };
        let r = f(&mut cx);
        let (dirty, effects) = (cx.dirty, cx.propagate);
        self.dirty += dirty;
        self.pending.insert(id);
        Some((db_index, r, dirty, effects))
    }

    /// Looks up a command spec by (case-insensitive) name, lowercased on the stack: no command
    /// name is longer than `NAME_MAX_BYTES`, nor anything but ASCII.
    pub fn command(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut lower = [0u8; NAME_MAX_BYTES];
        let lower = lower.get_mut(..name.len())?;
        for (l, b) in lower.iter_mut().zip(name) {
            *l = b.to_ascii_lowercase();
        }
        self.commands.get(std::str::from_utf8(lower).ok()?).copied()
    }
}

/// Redis' full name of a call (`cmd->fullname`): `container|subcommand` for a known
/// subcommand (CLIENT LIST's `cmd=`, the replica-reply log line, INFO commandstats), else the
/// command's name.
fn full_name(name: &'static str, args: &[Bytes]) -> Cow<'static, str> {
    let sub = args.get(1).and_then(|a| {
        let subs = crate::commands::subcommands_of(name);
        subs.iter()
            .find(|(s, _)| s.as_bytes().eq_ignore_ascii_case(a))
    });
    match sub {
        Some((s, _)) => Cow::Owned(format!("{name}|{s}")),
        None => Cow::Borrowed(name),
    }
}

/// Longer than any command's name.
const NAME_MAX_BYTES: usize = 32;

/// The commands that act at once inside MULTI instead of being queued (as in Redis).
const RUN_AT_ONCE_IN_MULTI: [&str; 6] = ["exec", "discard", "multi", "watch", "quit", "reset"];

/// Redis 7.2's message for an unknown command, quoting up to 128 bytes of arguments.
fn unknown_command_error(args: &[Bytes]) -> String {
    let name: String = String::from_utf8_lossy(&args[0])
        .chars()
        .take(128)
        .collect();
    let mut shown = String::new();
    for a in &args[1..] {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        let a = String::from_utf8_lossy(a);
        let a: String = a.chars().take(room).collect();
        shown.push_str(&format!("'{a}' "));
    }
    format!("ERR unknown command '{name}', with args beginning with: {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_message_matches_redis() {
        let args: Vec<Bytes> = ["foo", "a", "b"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(
            unknown_command_error(&args),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let args = vec![Bytes::from("foo")];
        assert_eq!(
            unknown_command_error(&args),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }
}
