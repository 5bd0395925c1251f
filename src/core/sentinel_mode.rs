//! A server started in sentinel mode: no dataset and no persistence, Sentinel's own command
//! table, its links routed to the `Sentinel` core, its timer run from the cron, and its actions
//! (events, config flushes, scripts) carried out here.

use super::{Action, ConnId, DiskOp, DiskWaiter, Now, Server};
use crate::config::LogLevel;
use crate::sentinel::link::Out;
use crate::sentinel::Sentinel;
use bytes::Bytes;

/// Changes other than votes reach the config file at most this often.
const CONFIG_FLUSH_PERIOD_MS: u64 = 1000;

impl Server {
    /// Replaces loading: builds the Sentinel from sentinel.conf and is ready at once.
    pub(crate) fn start_sentinel(&mut self, now: Now) {
        self.config.save_points.clear();
        self.config.appendonly = false;
        self.persist.loading = false;
        let conf = self.config.sentinel.clone().unwrap_or_default();
        let sentinel = Sentinel::new(&conf, self.config.port, self.random_u64(), now);
        self.sentinel = Some(Box::new(sentinel));
        self.log(LogLevel::Notice, "Running mode=sentinel".into());
        self.sentinel_drain();
        self.ready();
    }

    pub fn sentinel_mode(&self) -> bool {
        self.sentinel.is_some()
    }

    /// Runs `f` on the Sentinel (if this is one), then carries out what it asked for.
    pub(crate) fn with_sentinel<T>(&mut self, f: impl FnOnce(&mut Sentinel) -> T) -> Option<T> {
        let result = f(self.sentinel.as_mut()?);
        self.sentinel_drain();
        Some(result)
    }

    /// Connection events for Sentinel links; `true` if `conn` was one.
    pub(crate) fn sentinel_conn_event(&mut self, now: Now, conn: ConnId, ev: LinkEvent) -> bool {
        if !crate::sentinel::is_sentinel_conn(conn) || self.sentinel.is_none() {
            return false;
        }
        self.with_sentinel(|s| match ev {
            LinkEvent::Connected(local) => s.handle_connected(now, conn, local),
            LinkEvent::Data(bytes) => s.handle_data(now, conn, bytes),
            LinkEvent::Closed => s.handle_closed(now, conn),
        });
        self.flush();
        true
    }

    /// The Sentinel timer, from the cron; then the config flush its changes need, at most once
    /// a second (votes are flushed at once).
    pub(crate) fn sentinel_cron(&mut self, now: Now) {
        self.with_sentinel(|s| s.handle_timer(now));
        let due = self.sentinel.as_ref().is_some_and(|s| {
            now.mono_ms.saturating_sub(s.config_flushed_ms) >= CONFIG_FLUSH_PERIOD_MS
        });
        if due {
            self.sentinel_flush_if_dirty();
        }
    }

    /// Writes the config if changes are pending (also on SHUTDOWN).
    pub(crate) fn sentinel_flush_if_dirty(&mut self) {
        if self.sentinel.as_ref().is_some_and(|s| s.config_dirty) {
            self.sentinel_flush_config(None);
        }
    }

    /// The cron's frequency: a Sentinel re-randomises it every tick (10..19) to desynchronise.
    pub(crate) fn cron_hz(&self) -> u64 {
        match &self.sentinel {
            Some(s) => s.hz,
            None => u64::from(self.config.hz),
        }
    }

    /// Carries out the Sentinel's queued actions in order.
    pub(crate) fn sentinel_drain(&mut self) {
        while let Some(out) = self.sentinel.as_mut().and_then(|s| s.poll_out()) {
            match out {
                Out::Net(action) => self.actions.push_back(action),
                Out::Event {
                    level,
                    kind,
                    msg,
                    master,
                } => self.sentinel_event(level, &kind, &msg, master.as_deref()),
                Out::Log { level, msg } => self.log(level, msg),
                Out::Trace(line) => self.trace(line),
                Out::FlushConfig => self.sentinel_flush_config(None),
                Out::RunScript { id, argv } => {
                    self.trace(format!("script {}", argv.join(" ")));
                    self.actions.push_back(Action::RunScript { id, argv });
                }
                Out::KillScript { id } => self.actions.push_back(Action::KillScript { id }),
                Out::Exit { code } => {
                    self.sentinel = None;
                    return self.exit(code);
                }
            }
        }
    }

    /// Logs, publishes (unless debug) and traces an event; warnings run the notification script.
    fn sentinel_event(&mut self, level: LogLevel, kind: &str, msg: &str, master: Option<&str>) {
        self.log(level, format!("{kind} {msg}"));
        if level != LogLevel::Debug {
            let channel = Bytes::copy_from_slice(kind.as_bytes());
            crate::commands::pubsub::publish_message(self, &channel, msg.as_bytes());
            self.trace(format!("{kind} {msg}"));
        }
        if let (LogLevel::Warning, Some(master), Some(s)) = (level, master, self.sentinel.as_mut())
        {
            s.schedule_notification(master, kind, msg);
        }
    }

    /// The driver resolved `host` (`Action::Resolve`) to `ip`, or could not (`None`).
    pub fn handle_resolved(&mut self, host: &str, ip: Option<std::net::IpAddr>) {
        if let Some(sen) = self.sentinel.as_mut() {
            let ip = ip.map_or_else(String::new, |ip| ip.to_string());
            sen.io.resolved.insert(host.to_string(), ip);
        }
    }

    /// The driver saw script run `id` end (`signal` 0: it exited with `exit_code`).
    pub fn handle_script_exit(&mut self, now: Now, id: u64, exit_code: i32, signal: i32) {
        self.with_sentinel(|s| s.handle_script_exit(now.mono_ms, id, exit_code, signal));
        self.flush();
    }

    /// Rewrites the config file with the Sentinel's state; `conn` (SENTINEL FLUSHCONFIG, SET...)
    /// gets `+OK` or the error once it is written.
    pub(crate) fn sentinel_flush_config(&mut self, conn: Option<ConnId>) {
        let Some(s) = self.sentinel.as_mut() else {
            return;
        };
        s.config_dirty = false;
        s.config_flushed_ms = self.last_now.mono_ms;
        self.config.sentinel = Some(s.to_conf());
        self.config.users = self.acl_config_lines();
        let Some(path) = self.config.config_file.clone() else {
            return;
        };
        let text = crate::config::file::rewrite(self.config_text.as_deref(), &self.config);
        self.config_text = Some(text.clone());
        self.start_disk(
            DiskOp::WriteAtomic {
                path,
                data: Bytes::from(text),
            },
            DiskWaiter::SentinelConfig(conn),
        );
    }

    /// The flush finished.
    pub(crate) fn sentinel_config_written(
        &mut self,
        now: Now,
        conn: Option<ConnId>,
        result: Result<Bytes, String>,
    ) {
        if let Err(e) = &result {
            self.log(
                LogLevel::Warning,
                format!(
                    "WARNING: Sentinel was not able to save the new configuration on disk!!!: {e}"
                ),
            );
        }
        let Some(id) = conn.filter(|id| self.clients.contains_key(id)) else {
            return;
        };
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = None;
        }
        match result {
            Ok(_) => self.reply(id).ok(),
            Err(_) => self
                .reply(id)
                .error("ERR Failed to save config file. Check server logs."),
        }
        self.process_input(id, now);
    }
}

/// What happened on a Sentinel link connection.
pub(crate) enum LinkEvent<'a> {
    Connected(String),
    Data(&'a [u8]),
    Closed,
}
