//! The failover state machine (Redis' `sentinelFailoverStateMachine` and its steps): start,
//! election wait, replica selection, promotion, reconfiguring the other replicas, and switching
//! the monitored address; plus the MULTI/SLAVEOF/CONFIG REWRITE/CLIENT KILL/EXEC transaction.

use super::instance::{flags, FailoverState, Instance, Kind, Master};
use super::link::{Channel, Expect, Out, Who};
use super::{instance_mut, Sentinel, SIMFAILURE_CRASH_AFTER_ELECTION};
use crate::config::LogLevel;
use crate::core::Now;

impl Sentinel {
    /// Starts a failover when the master is ODOWN and no attempt ran in the last
    /// 2 x failover-timeout.
    pub(super) fn start_failover_if_needed(&mut self, m: &mut Master, now_ms: u64) -> bool {
        if !m.inst.has(flags::O_DOWN) || m.inst.has(flags::FAILOVER_IN_PROGRESS) {
            return false;
        }
        let next = m
            .failover_start_time_ms
            .saturating_add(m.failover_timeout_ms.saturating_mul(2));
        if m.failover_start_time_ms != 0 && now_ms < next {
            if m.failover_delay_logged != m.failover_start_time_ms {
                m.failover_delay_logged = m.failover_start_time_ms;
                let msg = format!(
                    "Next failover delay: I will not start a failover before {} ms from now",
                    next - now_ms
                );
                self.io.out.push_back(Out::Log {
                    level: LogLevel::Notice,
                    msg,
                });
            }
            return false;
        }
        self.start_failover(m, now_ms);
        true
    }

    /// A new epoch for this attempt; the leader election starts (or is skipped when forced).
    pub fn start_failover(&mut self, m: &mut Master, now_ms: u64) {
        m.failover_state = FailoverState::WaitStart;
        m.inst.flags |= flags::FAILOVER_IN_PROGRESS;
        // An epoch a peer pushed to u64::MAX wraps, as in Redis (never a panic).
        self.current_epoch = self.current_epoch.wrapping_add(1);
        m.failover_epoch = self.current_epoch;
        let e = self.current_epoch.to_string();
        self.io
            .event(LogLevel::Warning, "+new-epoch", e, Some(m.name()));
        self.event(LogLevel::Warning, "+try-failover", m, &Who::Master, "");
        m.failover_start_time_ms = now_ms + self.random_below(super::MAX_DESYNC_MS);
        m.failover_state_change_time_ms = now_ms;
    }

    pub(super) fn failover_state_machine(&mut self, m: &mut Master, now: Now) {
        if !m.inst.has(flags::FAILOVER_IN_PROGRESS) {
            return;
        }
        match m.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(m, now.mono_ms),
            FailoverState::SelectSlave => self.failover_select_slave(m, now.mono_ms),
            FailoverState::SendSlaveofNoone => self.failover_send_slaveof_noone(m, now.mono_ms),
            FailoverState::WaitPromotion => {
                if now.mono_ms.saturating_sub(m.failover_state_change_time_ms)
                    > m.failover_timeout_ms
                {
                    self.abort_failover(m, "-failover-abort-slave-timeout", now.mono_ms);
                }
            }
            FailoverState::ReconfSlaves => self.failover_reconf_next_slave(m, now.mono_ms),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn set_state(&mut self, m: &mut Master, state: FailoverState, now_ms: u64) {
        m.failover_state = state;
        m.failover_state_change_time_ms = now_ms;
    }

    fn failover_wait_start(&mut self, m: &mut Master, now_ms: u64) {
        let leader = self.get_leader(m, m.failover_epoch, now_ms);
        let won = leader.filter(|(id, _, _)| *id == self.myid);
        let votes = match won {
            Some((_, votes, voters)) => format!("votes {votes}/{voters} quorum {}", m.quorum),
            None if m.inst.has(flags::FORCE_FAILOVER) => "forced".to_string(),
            None => {
                let timeout = self.timers.election_timeout_ms.min(m.failover_timeout_ms);
                if now_ms.saturating_sub(m.failover_start_time_ms) > timeout {
                    self.abort_failover(m, "-failover-abort-not-elected", now_ms);
                }
                return;
            }
        };
        let line = format!(
            "~leader-votes {} epoch {} {votes}",
            m.name(),
            m.failover_epoch
        );
        self.io.trace(line);
        self.event(LogLevel::Warning, "+elected-leader", m, &Who::Master, "");
        if self.simfailure_flags & SIMFAILURE_CRASH_AFTER_ELECTION != 0 {
            self.simulated_crash();
        }
        self.set_state(m, FailoverState::SelectSlave, now_ms);
        self.event(
            LogLevel::Warning,
            "+failover-state-select-slave",
            m,
            &Who::Master,
            "",
        );
    }

    fn failover_select_slave(&mut self, m: &mut Master, now_ms: u64) {
        let candidates: Vec<String> = self
            .eligible_replicas(m, now_ms)
            .iter()
            .map(|r| {
                let runid = r.runid.as_deref().unwrap_or("-");
                let (prio, offset) = (r.slave_priority, r.slave_repl_offset);
                format!(" {}/{prio}/{offset}/{runid}", r.name)
            })
            .collect();
        let line = format!("~candidates {}{}", m.name(), candidates.concat());
        self.io.trace(line);
        let Some(name) = self.select_replica(m, now_ms) else {
            self.abort_failover(m, "-failover-abort-no-good-slave", now_ms);
            return;
        };
        let who = Who::Replica(name.clone());
        self.event(LogLevel::Warning, "+selected-slave", m, &who, "");
        if let Some(r) = m.replicas.get_mut(&name) {
            r.flags |= flags::PROMOTED;
        }
        m.promoted = Some(name);
        self.set_state(m, FailoverState::SendSlaveofNoone, now_ms);
        self.event(
            LogLevel::Notice,
            "+failover-state-send-slaveof-noone",
            m,
            &who,
            "",
        );
    }

    fn failover_send_slaveof_noone(&mut self, m: &mut Master, now_ms: u64) {
        let Some(name) = m.promoted.clone() else {
            return self.abort_failover(m, "-failover-abort-slave-timeout", now_ms);
        };
        let who = Who::Replica(name);
        let disconnected = super::instance_ref(m, &who).is_none_or(|r| r.link.disconnected);
        if disconnected {
            if now_ms.saturating_sub(m.failover_state_change_time_ms) > m.failover_timeout_ms {
                self.abort_failover(m, "-failover-abort-slave-timeout", now_ms);
            }
            return;
        }
        if !self.send_replicaof(m, &who, None) {
            return;
        }
        // Unlike Redis, which waits for the next 1 s INFO round, ask at once: the reply follows
        // EXEC's, so the promotion is seen as soon as it happened.
        let info = super::link::map_command(&m.rename_commands, "INFO");
        if let Some(r) = instance_mut(m, &who) {
            r.link
                .command(&mut self.io, Channel::Cmd, &[info], Expect::Info);
        }
        self.event(
            LogLevel::Notice,
            "+failover-state-wait-promotion",
            m,
            &who,
            "",
        );
        self.set_state(m, FailoverState::WaitPromotion, now_ms);
    }

    /// Redis' `sentinelSelectSlave`: the best reachable, fresh replica, or none.
    pub fn select_replica(&self, m: &Master, now_ms: u64) -> Option<String> {
        let lowest_offset = injected!(self.bugs, SelectLowestOffset);
        let mut candidates = self.eligible_replicas(m, now_ms);
        candidates.sort_by(|a, b| compare_for_promotion(a, b, lowest_offset));
        candidates.first().map(|r| r.name.clone())
    }

    /// The replicas that may be promoted: not down, connected, recently heard from, priority
    /// above 0, fresh INFO, and not cut off from the master for too long (in name order).
    fn eligible_replicas<'a>(&self, m: &'a Master, now_ms: u64) -> Vec<&'a Instance> {
        let t = &self.timers;
        let since = |t0: u64| now_ms.saturating_sub(t0);
        // Timers and timeouts may be set as high as i64::MAX: arithmetic on them saturates.
        let mut max_down = m.inst.down_after_ms.saturating_mul(10);
        if m.inst.has(flags::S_DOWN) {
            max_down = max_down.saturating_add(since(m.inst.s_down_since_ms));
        }
        let validity = if m.inst.has(flags::S_DOWN) {
            t.ping_period_ms.saturating_mul(5)
        } else {
            t.info_period_ms.saturating_mul(3)
        };
        let priority_zero_ok = injected!(self.bugs, SelectPriorityZero);
        m.replicas
            .values()
            .filter(|r| !r.has(flags::S_DOWN | flags::O_DOWN))
            .filter(|r| !r.link.disconnected)
            .filter(|r| since(r.link.last_avail_time_ms) <= t.ping_period_ms.saturating_mul(5))
            .filter(|r| r.slave_priority != 0 || priority_zero_ok)
            .filter(|r| since(r.info_refresh_ms) <= validity)
            .filter(|r| r.master_link_down_time_ms <= max_down)
            .collect()
    }

    fn failover_reconf_next_slave(&mut self, m: &mut Master, now_ms: u64) {
        let Some(promoted) = m.promoted.clone() else {
            return;
        };
        let target = m.replicas.get(&promoted).map(|p| p.addr());
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| r.has(flags::RECONF_SENT | flags::RECONF_INPROG))
            .count() as u32;
        let names: Vec<String> = m.replicas.keys().cloned().collect();
        for name in names {
            if in_progress >= m.parallel_syncs {
                break;
            }
            let who = Who::Replica(name.clone());
            let reconf_timeout = self.timers.slave_reconf_timeout_ms;
            let Some(r) = m.replicas.get_mut(&name) else {
                continue;
            };
            if r.has(flags::PROMOTED | flags::RECONF_DONE) {
                continue;
            }
            if r.has(flags::RECONF_SENT)
                && now_ms.saturating_sub(r.slave_reconf_sent_time_ms) > reconf_timeout
            {
                r.flags &= !flags::RECONF_SENT;
                r.flags |= flags::RECONF_DONE;
                self.event(LogLevel::Notice, "-slave-reconf-sent-timeout", m, &who, "");
                continue;
            }
            if r.has(flags::RECONF_SENT | flags::RECONF_INPROG) || r.link.disconnected {
                continue;
            }
            let Some((host, port)) = target.clone() else {
                continue;
            };
            if self.send_replicaof(m, &who, Some((&host, port))) {
                if let Some(r) = m.replicas.get_mut(&name) {
                    r.flags |= flags::RECONF_SENT;
                    r.slave_reconf_sent_time_ms = now_ms;
                }
                self.event(LogLevel::Notice, "+slave-reconf-sent", m, &who, "");
                in_progress += 1;
            }
        }
        self.failover_detect_end(m, now_ms);
    }

    fn failover_detect_end(&mut self, m: &mut Master, now_ms: u64) {
        let Some(promoted) = m.promoted.clone() else {
            return;
        };
        let Some(target) = m.replicas.get(&promoted) else {
            return;
        };
        if target.has(flags::S_DOWN) {
            return;
        }
        let target = target.addr();
        let mut not_reconfigured = m
            .replicas
            .values()
            .filter(|r| !r.has(flags::PROMOTED | flags::RECONF_DONE | flags::S_DOWN))
            .count();
        let timeout =
            now_ms.saturating_sub(m.failover_state_change_time_ms) > m.failover_timeout_ms;
        if timeout {
            not_reconfigured = 0;
            self.event(
                LogLevel::Warning,
                "+failover-end-for-timeout",
                m,
                &Who::Master,
                "",
            );
        }
        if not_reconfigured == 0 {
            self.event(LogLevel::Warning, "+failover-end", m, &Who::Master, "");
            self.set_state(m, FailoverState::UpdateConfig, now_ms);
        }
        if !timeout {
            return;
        }
        let names: Vec<String> = m.replicas.keys().cloned().collect();
        for name in names {
            let who = Who::Replica(name.clone());
            let skip = m.replicas.get(&name).is_none_or(|r| {
                r.has(flags::PROMOTED | flags::RECONF_DONE | flags::RECONF_SENT)
                    || r.link.disconnected
            });
            if !skip && self.send_replicaof(m, &who, Some((&target.0, target.1))) {
                self.event(LogLevel::Notice, "+slave-reconf-sent-be", m, &who, "");
                if let Some(r) = m.replicas.get_mut(&name) {
                    r.flags |= flags::RECONF_SENT;
                }
            }
        }
    }

    fn abort_failover(&mut self, m: &mut Master, event: &str, now_ms: u64) {
        self.event(LogLevel::Warning, event, m, &Who::Master, "");
        m.inst.flags &= !(flags::FAILOVER_IN_PROGRESS | flags::FORCE_FAILOVER);
        self.set_state(m, FailoverState::None, now_ms);
        if let Some(p) = m.promoted.take().and_then(|n| m.replicas.get_mut(&n)) {
            p.flags &= !flags::PROMOTED;
        }
    }

    /// The failover ended: monitor the promoted replica as the master from now on.
    pub(super) fn switch_to_promoted(&mut self, name: &str, now: Now) {
        let Some(mut m) = self.masters.remove(name) else {
            return;
        };
        let to = m
            .promoted
            .as_ref()
            .and_then(|p| m.replicas.get(p))
            .map_or(m.inst.addr(), |p| p.addr());
        let (old_ip, old_port) = m.inst.addr();
        let msg = format!("{name} {old_ip} {old_port} {} {}", to.0, to.1);
        self.io
            .event(LogLevel::Warning, "+switch-master", msg, Some(name));
        self.change_master_address(&mut m, &to.0, to.1, now.mono_ms);
        self.masters.insert(name.to_string(), m);
    }

    /// Redis' `sentinelResetMasterAndChangeAddress`: the old master and every other known
    /// replica become replicas of the new address.
    pub fn change_master_address(&mut self, m: &mut Master, host: &str, port: u16, now_ms: u64) {
        let new_name = Master::replica_name(host, port);
        let mut replicas: Vec<(String, u16)> = m
            .replicas
            .values()
            .filter(|r| r.name != new_name)
            .map(|r| r.addr())
            .collect();
        if (m.inst.host.as_str(), m.inst.port) != (host, port) {
            replicas.push(m.inst.addr());
        }
        self.reset_master(m, true, now_ms, false);
        // Peers' "down" opinions were about the old address; they must not count toward an
        // ODOWN of the new one (Redis keeps them until they age out, 5 ask periods later).
        for s in m.sentinels.values_mut() {
            s.flags &= !flags::MASTER_DOWN;
            s.leader = None;
        }
        m.inst.host = host.to_string();
        m.inst.port = port;
        m.inst.o_down_since_ms = 0;
        m.inst.s_down_since_ms = 0;
        for (h, p) in replicas {
            let name = Master::replica_name(&h, p);
            let r = Instance::new(
                Kind::Replica,
                name.clone(),
                &h,
                p,
                m.inst.down_after_ms,
                now_ms,
            );
            m.replicas.insert(name.clone(), r);
            self.event(LogLevel::Notice, "+slave", m, &Who::Replica(name), "");
        }
        self.flush_config();
    }

    /// Sends `MULTI; SLAVEOF host port|NO ONE; CONFIG REWRITE; CLIENT KILL TYPE normal;
    /// CLIENT KILL TYPE pubsub; EXEC` to an instance; `false` if its link is down.
    pub(super) fn send_replicaof(
        &mut self,
        m: &mut Master,
        who: &Who,
        to: Option<(&str, u16)>,
    ) -> bool {
        let rename = m.rename_commands.clone();
        let cmd = |n: &str| super::link::map_command(&rename, n);
        let Some(inst) = instance_mut(m, who) else {
            return false;
        };
        if inst.link.cc.is_none() {
            return false;
        }
        let (host, port) = to.map_or(("NO".to_string(), "ONE".to_string()), |(h, p)| {
            (h.to_string(), p.to_string())
        });
        let script: [Vec<String>; 6] = [
            vec![cmd("MULTI")],
            vec![cmd("SLAVEOF"), host, port],
            vec![cmd("CONFIG"), "REWRITE".into()],
            vec![cmd("CLIENT"), "KILL".into(), "TYPE".into(), "normal".into()],
            vec![cmd("CLIENT"), "KILL".into(), "TYPE".into(), "pubsub".into()],
            vec![cmd("EXEC")],
        ];
        for args in &script {
            inst.link
                .command(&mut self.io, Channel::Cmd, args, Expect::Discard);
        }
        true
    }

    /// Queues client-reconfig-script `<master> <role> start <from> <to>` (to = current address).
    pub(super) fn reconfig_script(&mut self, m: &Master, role: &str, from: (&str, u16)) {
        let Some(path) = m.client_reconfig_script.clone() else {
            return;
        };
        let (to_ip, to_port) = m.current_addr();
        let args = vec![
            m.name().to_string(),
            role.to_string(),
            "start".to_string(),
            from.0.to_string(),
            from.1.to_string(),
            to_ip,
            to_port.to_string(),
        ];
        self.schedule_script(&path, args);
    }

    pub(super) fn simulated_crash(&mut self) {
        self.io.out.push_back(Out::Log {
            level: LogLevel::Warning,
            msg: "Sentinel CRASH because of SENTINEL simulate-failure".into(),
        });
        self.io.out.push_back(Out::Exit { code: 99 });
    }
}

/// Lower priority first, then the larger replication offset (the smaller with the injected
/// `lowest_offset`), then the smaller run id (missing run ids last).
fn compare_for_promotion(a: &Instance, b: &Instance, lowest_offset: bool) -> std::cmp::Ordering {
    let offsets = b.slave_repl_offset.cmp(&a.slave_repl_offset);
    a.slave_priority
        .cmp(&b.slave_priority)
        .then(if lowest_offset {
            offsets.reverse()
        } else {
            offsets
        })
        .then_with(|| match (&a.runid, &b.runid) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        })
}
