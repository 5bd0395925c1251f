//! Shutdown as Redis 7.2 does it (`prepareForShutdown`, `finishShutdown`, `abortShutdown`).
//!
//! SHUTDOWN (without NOW) and SIGTERM/SIGINT first give lagging replicas up to `shutdown-timeout`
//! seconds to acknowledge the whole stream: client writes are paused, the replicas are asked for
//! an ACK, and the cron checks each tick whether every replica caught up or the time is up
//! (INFO's `shutdown_in_milliseconds` counts down meanwhile). Then the final steps: log the
//! lagging replicas, stop a background save or AOF rewrite (an initial AOF rewrite refuses the
//! exit unless FORCE), fsync the AOF, save the final RDB when save points exist or SAVE was asked,
//! and exit. A failed step cancels the shutdown: clients blocked in SHUTDOWN get
//! `-ERR Errors trying to SHUTDOWN. Check logs.` and the server goes on. SHUTDOWN ABORT cancels a
//! shutdown that is waiting for replicas.

use super::pause::{action, Purpose};
use super::{ConnId, Now, Server};
use crate::config::LogLevel;

/// The `blocked_on` mark of a client waiting in SHUTDOWN.
pub const SHUTDOWN_BLOCK: u64 = u64::MAX - 2;

/// SHUTDOWN's options, or those of `shutdown-on-sigterm` / `shutdown-on-sigint`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownFlags {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
}

impl ShutdownFlags {
    /// Parses `shutdown-on-sig*`'s value (`default` or a list of save/nosave/now/force).
    fn from_config(value: Option<&String>) -> ShutdownFlags {
        let words: Vec<&str> = value.map_or(vec![], |v| v.split(' ').collect());
        ShutdownFlags {
            save: words.contains(&"save"),
            nosave: words.contains(&"nosave"),
            now: words.contains(&"now"),
            force: words.contains(&"force"),
        }
    }
}

/// A shutdown in progress.
#[derive(Debug, Default)]
pub struct Shutdown {
    /// When the wait for replicas ends (Redis' `shutdown_mstime`); set while one is initiated.
    deadline_mono_ms: Option<u64>,
    flags: ShutdownFlags,
    /// Clients blocked in SHUTDOWN, in the order they asked.
    blocked: Vec<ConnId>,
    /// A signal asked for a shutdown that the cron has not started yet (Redis' `shutdown_asap`).
    asap: Option<ShutdownFlags>,
    /// The shutdown in progress was asked by a signal.
    signalled: bool,
}

impl Server {
    /// SIGTERM/SIGINT: the next cron tick shuts down with the flags `shutdown-on-sigterm` /
    /// `-sigint` give (SHUTDOWN ABORT before it cancels). A second SIGINT after a signal exits at
    /// once, as Redis does.
    pub fn handle_termination(&mut self, _now: Now, signal: &str) {
        if signal == "SIGINT" && self.shutdown.signalled {
            self.log(LogLevel::Warning, "You insist... exiting now.".into());
            return self.exit(1);
        }
        self.log(
            LogLevel::Warning,
            format!("Received {signal} scheduling shutdown..."),
        );
        let directive = if signal == "SIGINT" {
            "shutdown-on-sigint"
        } else {
            "shutdown-on-sigterm"
        };
        self.shutdown.signalled = true;
        self.shutdown.asap = Some(ShutdownFlags::from_config(self.config.noop.get(directive)));
    }

    /// SHUTDOWN / a signal: `conn` (the SHUTDOWN caller) stays blocked until the server exits
    /// or the shutdown fails.
    pub fn shutdown(&mut self, now: Now, conn: Option<ConnId>, mut flags: ShutdownFlags) {
        if let Some(c) = conn.and_then(|id| self.clients.get_mut(&id)) {
            c.blocked_on = Some(SHUTDOWN_BLOCK);
            self.shutdown.blocked.push(c.id);
        }
        if self.shutdown.deadline_mono_ms.is_some() {
            return;
        }
        if self.persist.loading || self.sentinel_mode() {
            (flags.save, flags.nosave) = (false, true);
        }
        self.shutdown.flags = flags;
        self.log(LogLevel::Notice, "User requested shutdown...".into());
        let timeout_s: u64 = self
            .config
            .noop
            .get("shutdown-timeout")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        if !flags.now && timeout_s != 0 && !self.replicas_caught_up() {
            self.shutdown.deadline_mono_ms = Some(now.mono_ms + timeout_s * 1000);
            if !self.pause.paused(action::REPLICA) {
                self.send_getack_now();
            }
            self.pause_actions(Purpose::Shutdown, u64::MAX, action::WRITE_SET, now);
            self.log(
                LogLevel::Notice,
                "Waiting for replicas before shutting down.".into(),
            );
            return;
        }
        self.finish_shutdown(now);
    }

    /// SHUTDOWN ABORT: false when no shutdown is in progress.
    pub fn abort_shutdown(&mut self, now: Now) -> bool {
        if self.shutdown.deadline_mono_ms.is_some() {
            self.cancel_shutdown(now);
        } else if self.shutdown.asap.take().is_some() {
            self.shutdown.signalled = false;
        } else {
            return false;
        }
        self.log(LogLevel::Notice, "Shutdown manually aborted.".into());
        true
    }

    /// INFO's `shutdown_in_milliseconds`, while waiting for replicas.
    pub fn shutdown_in_ms(&self, now: Now) -> Option<i64> {
        let deadline = self.shutdown.deadline_mono_ms?;
        Some(deadline as i64 - now.mono_ms as i64)
    }

    /// From the cron: the wait for replicas ends when they all caught up or the time is up.
    pub(crate) fn shutdown_cron(&mut self, now: Now) {
        if let Some(flags) = self.shutdown.asap.take() {
            return self.shutdown(now, None, flags);
        }
        let Some(deadline) = self.shutdown.deadline_mono_ms else {
            return;
        };
        if now.mono_ms >= deadline || self.replicas_caught_up() {
            self.finish_shutdown(now);
        }
    }

    /// A client blocked in SHUTDOWN went away.
    pub(crate) fn forget_shutdown_client(&mut self, id: ConnId) {
        self.shutdown.blocked.retain(|c| *c != id);
    }

    /// Redis' `isReadyToShutdown`: every replica acknowledged the whole stream.
    fn replicas_caught_up(&self) -> bool {
        let offset = self.repl.offset;
        self.repl.replicas.values().all(|r| r.ack_offset == offset)
    }

    /// Redis' `finishShutdown`, up to the final save (which completes in `shutdown_saved`).
    fn finish_shutdown(&mut self, now: Now) {
        self.log_lagging_replicas(now);
        let flags = self.shutdown.flags;
        if let Some(target) = self.persist.bgsave.as_ref().map(|b| b.target) {
            if target == super::persist::Target::Rdb {
                self.log(
                    LogLevel::Warning,
                    "There is a child saving an .rdb. Killing it!".into(),
                );
            } else if self.aof_waiting_first_rewrite() && !flags.force {
                self.log(LogLevel::Warning, "Writing initial AOF, can't exit.".into());
                return self.shutdown_failed(now);
            } else {
                if self.aof_waiting_first_rewrite() {
                    self.log(
                        LogLevel::Warning,
                        "Writing initial AOF. Exit anyway.".into(),
                    );
                }
                self.log(
                    LogLevel::Warning,
                    "There is a child rewriting the AOF. Killing it!".into(),
                );
            }
            self.abort_snapshot();
        }
        if self.aof.is_some() {
            self.log(LogLevel::Notice, "Calling fsync() on the AOF file.".into());
            self.aof_fsync_now();
        }
        self.sentinel_flush_if_dirty();
        if flags.save || (!flags.nosave && !self.config.save_points.is_empty()) {
            self.log(
                LogLevel::Notice,
                "Saving the final RDB snapshot before exiting.".into(),
            );
            return self.save(now, None, true);
        }
        self.exit_after_shutdown();
    }

    /// The final save ended: exit, or (unless FORCE) give up the shutdown.
    pub(crate) fn shutdown_saved(&mut self, now: Now, ok: bool) {
        if ok {
            return self.exit_after_shutdown();
        }
        if self.shutdown.flags.force {
            self.log(
                LogLevel::Warning,
                "Error trying to save the DB. Exit anyway.".into(),
            );
            return self.exit_after_shutdown();
        }
        self.log(
            LogLevel::Warning,
            "Error trying to save the DB, can't exit.".into(),
        );
        self.shutdown_failed(now);
    }

    fn exit_after_shutdown(&mut self) {
        let who = if self.sentinel_mode() {
            "Sentinel"
        } else {
            "Redis"
        };
        self.log(
            LogLevel::Warning,
            format!("{who} is now ready to exit, bye bye..."),
        );
        self.exit(0);
    }

    fn shutdown_failed(&mut self, now: Now) {
        self.log(
            LogLevel::Warning,
            "Errors trying to shut down the server. Check the logs for more information.".into(),
        );
        self.cancel_shutdown(now);
    }

    /// Redis' `cancelShutdown`: blocked SHUTDOWN callers get an error, writes resume.
    fn cancel_shutdown(&mut self, now: Now) {
        self.shutdown.deadline_mono_ms = None;
        self.shutdown.flags = ShutdownFlags::default();
        self.shutdown.signalled = false;
        for id in std::mem::take(&mut self.shutdown.blocked) {
            let Some(c) = self.clients.get_mut(&id) else {
                continue;
            };
            c.blocked_on = None;
            self.reply(id)
                .error("ERR Errors trying to SHUTDOWN. Check logs.");
            self.process_input(id, now);
        }
        self.unpause_actions(Purpose::Shutdown, now);
    }

    /// One line per replica that has not acknowledged the whole stream, then the tally.
    fn log_lagging_replicas(&mut self, now: Now) {
        let offset = self.repl.offset;
        let mut lines = Vec::new();
        for r in self.repl.replicas.values() {
            if r.ack_offset == offset {
                continue;
            }
            let online = r.state == crate::repl::ReplicaState::Online;
            let lag_s = if online {
                now.mono_ms.saturating_sub(r.last_ack_ms) / 1000
            } else {
                0
            };
            lines.push(format!(
                "Lagging replica {} reported offset {} behind master, lag={lag_s}, state={}.",
                r.name(),
                offset - r.ack_offset,
                r.state.as_str()
            ));
        }
        let total = self.repl.replicas.len();
        let in_sync = total - lines.len();
        for line in lines {
            self.log(LogLevel::Notice, line);
        }
        if total > 0 {
            self.log(
                LogLevel::Notice,
                format!("{in_sync} of {total} replicas are in sync when shutting down."),
            );
        }
    }
}
