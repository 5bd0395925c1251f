//! Agreement: objective down from peers' opinions, asking peers (`SENTINEL is-master-down-by-addr`),
//! voting once per epoch, and counting votes for a leader (Redis' `sentinelCheckObjectivelyDown`,
//! `sentinelAskMasterStateToOtherSentinels`, `sentinelVoteLeader`, `sentinelGetLeader`).

use super::instance::{flags, FailoverState, Master};
use super::link::{Channel, Expect, Who};
use super::Sentinel;
use crate::config::LogLevel;
use crate::resp::Frame;
use std::collections::BTreeMap;

impl Sentinel {
    /// ODOWN: our SDOWN plus enough peers saying "down" to reach the quorum.
    pub(super) fn check_odown(&mut self, m: &mut Master, now_ms: u64) {
        let mut votes = 0u32;
        if m.inst.has(flags::S_DOWN) {
            votes = 1 + m
                .sentinels
                .values()
                .filter(|s| s.has(flags::MASTER_DOWN))
                .count() as u32;
        }
        let short = u32::from(injected!(self.bugs, OdownOneShort));
        let odown = m.inst.has(flags::S_DOWN) && votes + short >= m.quorum;
        if odown && !m.inst.has(flags::O_DOWN) {
            let opinions: Vec<&str> = m
                .sentinels
                .iter()
                .filter(|(_, s)| s.has(flags::MASTER_DOWN))
                .map(|(id, _)| id.as_str())
                .collect();
            let line = format!("~odown-opinions {} [{}]", m.name(), opinions.join(" "));
            self.io.trace(line);
            m.inst.flags |= flags::O_DOWN;
            m.inst.o_down_since_ms = now_ms;
            let extra = format!(" #quorum {votes}/{}", m.quorum);
            self.event(LogLevel::Warning, "+odown", m, &Who::Master, &extra);
        } else if !odown && m.inst.has(flags::O_DOWN) {
            m.inst.flags &= !flags::O_DOWN;
            self.event(LogLevel::Warning, "-odown", m, &Who::Master, "");
        }
    }

    /// Asks every connected peer whether the master is down (and, once we are failing over,
    /// for its vote). `forced` skips the ask period.
    pub(super) fn ask_master_state(&mut self, m: &mut Master, forced: bool, now_ms: u64) {
        let (ip, port) = m.inst.addr();
        let ask_period = self.timers.ask_period_ms;
        let runid = if m.failover_state > FailoverState::None {
            self.myid.clone()
        } else {
            "*".to_string()
        };
        let sdown = m.inst.has(flags::S_DOWN);
        for s in m.sentinels.values_mut() {
            let elapsed = now_ms.saturating_sub(s.last_master_down_reply_time_ms);
            if elapsed > ask_period.saturating_mul(5) {
                s.flags &= !flags::MASTER_DOWN;
                s.leader = None;
            }
            if !sdown || s.link.disconnected || (!forced && elapsed < ask_period) {
                continue;
            }
            let args = [
                "SENTINEL".to_string(),
                "is-master-down-by-addr".to_string(),
                ip.clone(),
                port.to_string(),
                self.current_epoch.to_string(),
                runid.clone(),
            ];
            s.link.command(
                &mut self.io,
                Channel::Cmd,
                &args,
                Expect::IsMasterDown(m.inst.name.clone()),
            );
        }
    }

    /// A peer's `*3 :down $leader :epoch` reply.
    pub(super) fn master_down_reply(
        &mut self,
        m: &mut Master,
        who: &Who,
        frame: &Frame,
        now_ms: u64,
    ) {
        let Who::Sentinel(id) = who else {
            return;
        };
        let Frame::Array(items) = frame else {
            return;
        };
        let [Frame::Int(down), Frame::Bulk(leader), Frame::Int(epoch)] = items.as_slice() else {
            return;
        };
        let Some(s) = m.sentinels.get_mut(id) else {
            return;
        };
        s.last_master_down_reply_time_ms = now_ms;
        if *down == 1 {
            s.flags |= flags::MASTER_DOWN;
        } else {
            s.flags &= !flags::MASTER_DOWN;
        }
        if leader.as_ref() != b"*" {
            let leader = String::from_utf8_lossy(leader).into_owned();
            let epoch = u64::try_from(*epoch).unwrap_or(0);
            if s.leader_epoch != epoch {
                let msg = format!("{} voted for {leader} {epoch}", s.name);
                self.io.out.push_back(super::link::Out::Log {
                    level: LogLevel::Notice,
                    msg,
                });
            }
            s.leader = Some(leader);
            s.leader_epoch = epoch;
        }
    }

    /// Grants our vote for `req_epoch` to `req_runid` unless we already voted in that epoch;
    /// returns whom we voted for and in which epoch.
    pub fn vote_leader(
        &mut self,
        m: &mut Master,
        req_epoch: u64,
        req_runid: &str,
        now_ms: u64,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.flush_config();
            let e = self.current_epoch.to_string();
            self.io
                .event(LogLevel::Warning, "+new-epoch", e, Some(m.name()));
        }
        if self.may_vote(m, req_epoch, req_runid) {
            m.leader = Some(req_runid.to_string());
            m.leader_epoch = self.current_epoch;
            match injected!(self.bugs, VoteNotDurable) {
                true => self.flush_config(),
                false => self.flush_config_now(),
            }
            let msg = format!("{req_runid} {}", m.leader_epoch);
            self.io
                .event(LogLevel::Warning, "+vote-for-leader", msg, Some(m.name()));
            if req_runid != self.myid {
                m.failover_start_time_ms = now_ms + self.random_below(super::MAX_DESYNC_MS);
            }
        }
        (m.leader.clone(), m.leader_epoch)
    }

    /// One vote per epoch: only for an epoch newer than our last vote, and not older than ours.
    fn may_vote(&self, m: &Master, req_epoch: u64, req_runid: &str) -> bool {
        let allowed = m.leader_epoch < req_epoch && self.current_epoch <= req_epoch;
        let again = m.leader_epoch == req_epoch && m.leader.as_deref() != Some(req_runid);
        allowed || (again && injected!(self.bugs, VoteTwice))
    }

    /// The leader for `epoch`, if one has a majority of all Sentinels and at least the quorum,
    /// with its votes and the number of Sentinels.
    pub(super) fn get_leader(
        &mut self,
        m: &mut Master,
        epoch: u64,
        now_ms: u64,
    ) -> Option<(String, u64, u64)> {
        let voters = m.sentinels.len() as u64 + 1;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for s in m.sentinels.values() {
            if let (Some(l), true) = (&s.leader, s.leader_epoch == self.current_epoch) {
                *counts.entry(l.clone()).or_default() += 1;
            }
        }
        // The most voted (ties: the smallest run id, deterministically).
        let mut winner: Option<(String, u64)> = None;
        for (id, n) in &counts {
            if winner.as_ref().is_none_or(|(_, best)| n > best) {
                winner = Some((id.clone(), *n));
            }
        }
        let candidate = winner.as_ref().map_or(self.myid.clone(), |w| w.0.clone());
        let (my_vote, my_epoch) = self.vote_leader(m, epoch, &candidate, now_ms);
        if let (Some(v), true) = (my_vote, my_epoch == epoch) {
            let n = counts.entry(v.clone()).or_default();
            *n += 1;
            if winner.as_ref().is_none_or(|(_, best)| *n > *best) {
                winner = Some((v, *n));
            }
        }
        let (id, votes) = winner?;
        let majority = votes > voters / 2 || injected!(self.bugs, LeaderNoMajority);
        (majority && votes >= u64::from(m.quorum)).then_some((id, votes, voters))
    }
}
