//! Sentinel's scripts (notification-script, client-reconfig-script): a bounded queue, at most 16
//! running, retries of exit status 1 or a signal with a doubling delay, `-script-error` and
//! `-script-timeout` (Redis' `sentinelScheduleScriptExecution`, `sentinelRunPendingScripts`,
//! `sentinelCollectTerminatedScripts`, `sentinelKillTimedoutScripts`). The driver runs a script
//! on `Out::RunScript`, kills it on `Out::KillScript`, and reports `handle_script_exit`.

use super::link::Out;
use super::Sentinel;
use crate::config::LogLevel;
use std::collections::VecDeque;

/// Jobs kept; scheduling one more drops the oldest that is not running.
pub const SCRIPT_MAX_QUEUE: usize = 256;
pub const SCRIPT_MAX_RUNNING: usize = 16;
/// Runs of one job, retries included.
pub const SCRIPT_MAX_RETRY: u32 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct ScriptJob {
    /// What the driver knows the run by (Redis shows the child's pid).
    pub id: u64,
    pub argv: Vec<String>,
    pub running: bool,
    /// When it started, or (not running) when it may run again; 0 = at once.
    pub start_time_ms: u64,
    pub retry_num: u32,
}

#[derive(Debug, Default)]
pub struct Scripts {
    pub queue: VecDeque<ScriptJob>,
    pub running: usize,
    next_id: u64,
}

impl Sentinel {
    /// Queues `path args...`.
    pub fn schedule_script(&mut self, path: &str, args: Vec<String>) {
        let s = &mut self.scripts;
        s.next_id += 1;
        let mut argv = vec![path.to_string()];
        argv.extend(args);
        s.queue.push_back(ScriptJob {
            id: s.next_id,
            argv,
            running: false,
            start_time_ms: 0,
            retry_num: 0,
        });
        if s.queue.len() > SCRIPT_MAX_QUEUE {
            if let Some(i) = s.queue.iter().position(|j| !j.running) {
                s.queue.remove(i);
            }
        }
    }

    /// A warning event about `master`: its notification-script, if any, gets `<event> <msg>`.
    pub fn schedule_notification(&mut self, master: &str, event: &str, msg: &str) {
        let path = self
            .masters
            .get(master)
            .and_then(|m| m.notification_script.clone());
        if let Some(path) = path {
            self.schedule_script(&path, vec![event.to_string(), msg.to_string()]);
        }
    }

    /// From the timer: start what may run, kill what ran too long.
    pub(super) fn script_cron(&mut self, now_ms: u64) {
        let max_runtime_ms = self.timers.script_max_runtime_ms;
        let Sentinel { scripts, io, .. } = self;
        for job in scripts.queue.iter_mut() {
            if scripts.running >= SCRIPT_MAX_RUNNING {
                break;
            }
            if job.running || (job.start_time_ms != 0 && job.start_time_ms > now_ms) {
                continue;
            }
            job.running = true;
            job.start_time_ms = now_ms;
            job.retry_num += 1;
            scripts.running += 1;
            io.out.push_back(Out::RunScript {
                id: job.id,
                argv: job.argv.clone(),
            });
        }
        let late: Vec<(u64, String)> = scripts
            .queue
            .iter()
            .filter(|j| j.running && now_ms.saturating_sub(j.start_time_ms) > max_runtime_ms)
            .map(|j| (j.id, j.argv[0].clone()))
            .collect();
        for (id, path) in late {
            self.io.event(
                LogLevel::Warning,
                "-script-timeout",
                format!("{path} {id}"),
                None,
            );
            self.io.out.push_back(Out::KillScript { id });
        }
    }

    /// The driver saw script run `id` end with `exit_code`, or by `signal` (0 = none).
    pub fn handle_script_exit(&mut self, now_ms: u64, id: u64, exit_code: i32, signal: i32) {
        let retry_delay_ms = self.timers.script_retry_delay_ms;
        let s = &mut self.scripts;
        let Some(i) = s.queue.iter().position(|j| j.running && j.id == id) else {
            return;
        };
        s.running = s.running.saturating_sub(1);
        let job = &mut s.queue[i];
        if (signal != 0 || exit_code == 1) && job.retry_num != SCRIPT_MAX_RETRY {
            job.running = false;
            let doublings = job.retry_num.saturating_sub(1).min(20);
            job.start_time_ms = now_ms + retry_delay_ms.saturating_mul(1 << doublings);
            return;
        }
        let path = job.argv[0].clone();
        s.queue.remove(i);
        if signal != 0 || exit_code != 0 {
            let msg = format!("{path} {signal} {exit_code}");
            self.io.event(LogLevel::Warning, "-script-error", msg, None);
        }
    }
}
