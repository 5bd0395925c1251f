//! From query buffer to reply: frame parsing with limits, command lookup, the checks Redis makes
//! before running a command (arity, auth, commands refused in MULTI, pub/sub mode), MULTI queuing,
//! and execution.

use super::{ConnId, Now, Server};
use crate::commands::{flags, Call, CommandSpec, Cx, Handler, Propagate};
use crate::config::LogLevel;
use crate::resp::{self, Limits, Out, Parsed};
use bytes::Bytes;

impl Server {
    /// Parses and runs every complete command in the client's query buffer.
    pub(crate) fn process_input(&mut self, id: ConnId, now: Now) {
        loop {
            if self.is_busy() {
                return;
            }
            let Some(c) = self.clients.get_mut(&id) else {
                return;
            };
            if c.blocked_on.is_some() || c.close_after_reply || self.shutting_down {
                return;
            }
            let limits = Limits {
                proto_max_bulk_len: self.config.proto_max_bulk_len,
                authenticated: c.authenticated,
            };
            match resp::parse_request(&c.qbuf, limits) {
                Ok(Parsed::Incomplete) => {
                    if c.qbuf.len() as i64 > self.config.client_query_buffer_limit {
                        let line = c.info_line(now.mono_ms);
                        c.qbuf.clear();
                        self.log(
                            LogLevel::Warning,
                            format!("Closing client that reached max query buffer length: {line}"),
                        );
                        self.close_after_reply(id);
                    }
                    return;
                }
                Ok(Parsed::Empty(n)) => resp::consume(&mut c.qbuf, n),
                Ok(Parsed::Command(args, n)) => {
                    resp::consume(&mut c.qbuf, n);
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
                    return;
                }
            }
        }
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
    }

    /// Runs one command as Redis' `processCommand` does.
    fn process_command(&mut self, id: ConnId, args: Vec<Bytes>, now: Now) {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let spec = self.commands.get(&name).copied();
        let c = self.clients.get_mut(&id).expect("caller exists");
        c.last_cmd = spec.map_or_else(|| "NULL".into(), |s| s.name.to_string());
        c.skipping = std::mem::take(&mut c.skip_next);
        let in_multi = c.multi.is_some();
        let Some(spec) = spec else {
            let msg = unknown_command_error(&args);
            self.reject(id, &msg, in_multi);
            return;
        };
        if let Some(msg) = self.refusal(id, spec, &args, now, in_multi) {
            self.stats.commands.entry(spec.name).or_default().rejected += 1;
            self.reject(id, &msg, in_multi);
            return;
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
        if let Some(msg) = self.oom_refusal(id, spec, in_multi) {
            return Some(msg);
        }
        if self.repl.replicas.contains_key(&id)
            && spec.flags & (flags::READONLY | flags::WRITE) != 0
        {
            return Some("ERR Replica can't interact with the keyspace".into());
        }
        if let Some(msg) = self.disk_refusal(id, spec, now) {
            return Some(msg);
        }
        if let Some(msg) = self.replication_refusal(id, spec, now) {
            return Some(msg.into());
        }
        let internal = id == crate::core::replication::MASTER_CLIENT_ID || self.replaying;
        (self.persist.loading && !internal && spec.flags & flags::LOADING == 0)
            .then(|| crate::core::loading::LOADING_ERROR.into())
    }

    /// Redis refuses writes (and PING) while it cannot persist: a failed BGSAVE with
    /// stop-writes-on-bgsave-error, or a failed AOF write. A replica never refuses its master's
    /// stream (it would diverge silently): it stops, as Redis panics, unless
    /// `replica-ignore-disk-write-errors yes` lets it apply the stream anyway.
    fn disk_refusal(&mut self, id: ConnId, spec: &CommandSpec, now: Now) -> Option<String> {
        if self.replaying || (spec.flags & flags::WRITE == 0 && spec.name != "ping") {
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
        if spec.name != "ping" && ignore.is_none_or(|v| v != "yes") {
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
    fn replication_refusal(
        &self,
        id: ConnId,
        spec: &CommandSpec,
        now: Now,
    ) -> Option<&'static str> {
        if id == crate::core::replication::MASTER_CLIENT_ID || self.replaying {
            return None;
        }
        let write = spec.flags & flags::WRITE != 0;
        if let Some(link) = self.repl.link.as_ref() {
            if write && self.config.replica_read_only {
                return Some("READONLY You can't write against a read only replica.");
            }
            if !self.config.replica_serve_stale_data
                && !link.is_up()
                && spec.flags & flags::STALE == 0
            {
                return Some("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
            }
            return None;
        }
        (write && self.noreplicas_refusal(now)).then_some(crate::repl::NOREPLICAS_ERROR)
    }

    /// Replies an error for a command that could not run; inside MULTI it also dooms the EXEC.
    fn reject(&mut self, id: ConnId, msg: &str, in_multi: bool) {
        self.stats.total_error_replies += 1;
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
        self.run_handler(id, spec, args, now);
        let failed = self
            .clients
            .get(&id)
            .is_some_and(|c| c.out.get(before) == Some(&b'-'));
        let stat = self.stats.commands.entry(spec.name).or_default();
        stat.calls += 1;
        stat.failed += u64::from(failed);
        self.serve_ready(now);
    }

    fn run_handler(&mut self, id: ConnId, spec: &CommandSpec, args: &[Bytes], now: Now) {
        match spec.handler {
            Handler::Server(f) => f(self, &Call { id, args, now }),
            Handler::Data(f) => {
                let Some((db_index, (), dirty, effects)) = self.with_cx(id, now, |cx| f(cx, args))
                else {
                    return;
                };
                if dirty > 0 {
                    if spec.first_key == 0 && spec.movable_keys.is_none() {
                        self.signal_all_keys();
                    }
                    crate::commands::object::note_written(self, id, db_index, spec, args, now);
                    for key in crate::commands::object::keys_of(spec, args) {
                        self.signal_key(db_index, key);
                    }
                    let cmds = match effects {
                        Propagate::AsIs => vec![args.to_vec()],
                        Propagate::Replace(cmds) => cmds,
                    };
                    self.propagate(db_index, cmds);
                }
            }
        }
        self.drain_expired();
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
            out: Out::with_resp(buf, c.resp),
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

    /// Looks up a command spec by (case-insensitive) name.
    pub fn command(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.commands
            .get(&String::from_utf8_lossy(name).to_ascii_lowercase())
            .copied()
    }
}

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
