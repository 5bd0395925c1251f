//! Watching one instance: (re)connecting its links, the periodic PING / INFO / hello commands,
//! routing the replies, and the subjective-down check (Redis' `sentinelReconnectInstance`,
//! `sentinelSendPeriodicCommands`, `sentinelPingReplyCallback`, `sentinelCheckSubjectivelyDown`).

use super::instance::{flags, Kind, Master};
use super::link::{Channel, Dial, Expect, LinkRef, Pong, Who, MAX_PENDING_COMMANDS};
use super::{describe, instance_mut, instance_ref, Sentinel};
use crate::config::LogLevel;
use crate::core::Now;
use crate::resp::Frame;

impl Sentinel {
    fn dial(&self, m: &Master, who: &Who) -> Dial {
        let inst = instance_ref(m, who).expect("instance exists");
        let auth = match who {
            Who::Sentinel(_) => self
                .settings
                .sentinel_pass
                .clone()
                .map(|p| (self.settings.sentinel_user.clone(), p)),
            _ => m.auth_pass.clone().map(|p| (m.auth_user.clone(), p)),
        };
        Dial {
            // Links to Sentinels are shared by all masters.
            master: match who {
                Who::Sentinel(_) => String::new(),
                _ => m.name().to_string(),
            },
            who: who.clone(),
            host: inst.host.clone(),
            port: inst.port,
            pubsub: inst.kind != Kind::Sentinel,
            auth,
            client_name: format!("sentinel-{}", &self.myid[..8]),
            rename: match who {
                Who::Sentinel(_) => Default::default(),
                _ => m.rename_commands.clone(),
            },
        }
    }

    pub(super) fn reconnect(&mut self, m: &mut Master, who: &Who, now_ms: u64) {
        let Some(inst) = instance_ref(m, who) else {
            return;
        };
        let link = &inst.link;
        let too_soon = link.last_reconn_time_ms != 0
            && now_ms.saturating_sub(link.last_reconn_time_ms) < self.timers.ping_period_ms;
        if !link.disconnected || too_soon {
            return;
        }
        let dial = self.dial(m, who);
        if let Some(inst) = instance_mut(m, who) {
            inst.link.reconnect(&mut self.io, &dial, now_ms);
        }
    }

    /// PING, INFO and hello, each on its own period. Visited for every instance at every tick,
    /// so nothing is built unless a command is due.
    pub(super) fn send_periodic(&mut self, m: &mut Master, who: &Who, now_ms: u64) {
        let master_busy = m.inst.has(flags::O_DOWN | flags::FAILOVER_IN_PROGRESS);
        let t = &self.timers;
        // A link shared by every master may owe as many replies as they all together.
        let sharing = match who {
            Who::Sentinel(_) => self.masters.len() as u32 + 1,
            _ => 1,
        };
        let Some(inst) = instance_ref(m, who) else {
            return;
        };
        let link = &inst.link;
        if link.disconnected || link.pending_commands >= MAX_PENDING_COMMANDS * sharing {
            return;
        }
        let info_period =
            if inst.kind == Kind::Replica && (master_busy || inst.master_link_down_time_ms != 0) {
                1000
            } else {
                t.info_period_ms
            };
        let ping_period = inst.down_after_ms.min(t.ping_period_ms);
        let info_due = inst.kind != Kind::Sentinel
            && (inst.info_refresh_ms == 0
                || now_ms.saturating_sub(inst.info_refresh_ms) > info_period);
        let ping_due = now_ms.saturating_sub(link.last_pong_time_ms) > ping_period
            && now_ms.saturating_sub(link.last_ping_time_ms) > ping_period / 2;
        let hello_ip = (now_ms.saturating_sub(inst.last_pub_time_ms) > t.publish_period_ms)
            .then(|| {
                self.settings
                    .announce_ip
                    .as_ref()
                    .or(link.local_ip.as_ref())
            })
            .flatten()
            .cloned();
        if !info_due && !ping_due && hello_ip.is_none() {
            return;
        }
        let hello = hello_ip.map(|ip| format!("{ip},{}", self.hello_payload(m)));
        let rename = match who {
            Who::Sentinel(_) => Default::default(),
            _ => m.rename_commands.clone(),
        };
        let cmd = |n: &str| super::link::map_command(&rename, n);
        let master_name = m.name().to_string();
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        if info_due {
            inst.link
                .command(&mut self.io, Channel::Cmd, &[cmd("INFO")], Expect::Info);
        }
        if ping_due {
            inst.link.send_ping(&mut self.io, &cmd("PING"), now_ms);
        }
        if let Some(payload) = hello {
            let args = [cmd("PUBLISH"), super::HELLO_CHANNEL.to_string(), payload];
            let expect = Expect::Publish(master_name);
            inst.link.command(&mut self.io, Channel::Cmd, &args, expect);
        }
    }

    /// Replies arrived on one of `r`'s connections.
    pub(super) fn link_data(&mut self, m: &mut Master, r: &LinkRef, data: &[u8], now: Now) {
        let ms = now.mono_ms;
        let Some(inst) = instance_mut(m, &r.who) else {
            return;
        };
        let replies = match inst.link.data(r.chan, data, ms) {
            Ok(v) => v,
            Err(e) => {
                inst.link.close(&mut self.io, r.chan);
                let msg = format!(
                    "Closing link to {}: protocol error: {e}",
                    describe(m, &r.who)
                );
                self.io.out.push_back(super::link::Out::Log {
                    level: LogLevel::Warning,
                    msg,
                });
                return;
            }
        };
        for (expect, frame) in replies {
            match (r.chan, expect) {
                // An error on the subscribed link (NOAUTH from a server that now requires a
                // password) makes hiredis drop that connection in Redis: the link shows as
                // disconnected and is dialled again on the next tick.
                (Channel::PubSub, _) if matches!(frame, Frame::Error(_)) => {
                    if let Some(inst) = instance_mut(m, &r.who) {
                        inst.link.close(&mut self.io, Channel::PubSub);
                    }
                    return;
                }
                (Channel::PubSub, _) => self.hello_from_pubsub(&frame),
                (Channel::Cmd, Expect::Ping) => self.ping_reply(m, &r.who, &frame, ms),
                (Channel::Cmd, Expect::Info) => {
                    if let Frame::Bulk(b) = &frame {
                        self.refresh_info(m, &r.who, &String::from_utf8_lossy(b), now);
                    }
                }
                (Channel::Cmd, Expect::Publish(_)) => {
                    if let (Some(inst), false) =
                        (instance_mut(m, &r.who), matches!(frame, Frame::Error(_)))
                    {
                        inst.last_pub_time_ms = ms;
                    }
                }
                (Channel::Cmd, Expect::IsMasterDown(_)) => {
                    self.master_down_reply(m, &r.who, &frame, ms)
                }
                (Channel::Cmd, Expect::Discard) => {}
            }
        }
    }

    /// PONG clears a reboot mark; BUSY in SDOWN gets one SCRIPT KILL.
    fn ping_reply(&mut self, m: &mut Master, who: &Who, frame: &Frame, now_ms: u64) {
        let script_kill = super::link::map_command(&m.rename_commands, "SCRIPT");
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        match inst.link.pong(frame, now_ms) {
            Pong::Pong => inst.flags &= !flags::MASTER_REBOOT,
            Pong::Busy if inst.has(flags::S_DOWN) && !inst.has(flags::SCRIPT_KILL_SENT) => {
                let args = [script_kill.as_str(), "KILL"];
                inst.link
                    .command(&mut self.io, Channel::Cmd, &args, Expect::Discard);
                inst.flags |= flags::SCRIPT_KILL_SENT;
            }
            _ => {}
        }
    }

    /// Redis' `sentinelCheckSubjectivelyDown`, including closing links that look stuck.
    pub(super) fn check_sdown(&mut self, m: &mut Master, who: &Who, now_ms: u64) {
        let t = self.timers.clone();
        let reboot_expired = m.master_reboot_down_after_period_ms != 0
            && now_ms.saturating_sub(m.master_reboot_since_ms)
                > m.master_reboot_down_after_period_ms;
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        let link = &inst.link;
        let since = |t0: u64| now_ms.saturating_sub(t0);
        let elapsed = if link.act_ping_time_ms != 0 {
            since(link.act_ping_time_ms)
        } else if link.disconnected {
            since(link.last_avail_time_ms)
        } else {
            0
        };
        let half = inst.down_after_ms / 2;
        if link.cc.is_some()
            && since(link.cc_conn_time_ms) > t.min_link_reconnect_period_ms
            && link.act_ping_time_ms != 0
            && since(link.act_ping_time_ms) > half
            && since(link.last_pong_time_ms) > half
        {
            inst.link.close(&mut self.io, Channel::Cmd);
        }
        let link = &inst.link;
        if link.pc.is_some()
            && since(link.pc_conn_time_ms) > t.min_link_reconnect_period_ms
            && since(link.pc_last_activity_ms) > t.publish_period_ms.saturating_mul(3)
        {
            inst.link.close(&mut self.io, Channel::PubSub);
        }
        let down = elapsed > inst.down_after_ms
            || (inst.kind == Kind::Master
                && inst.role_reported == Kind::Replica
                && since(inst.role_reported_time_ms)
                    > inst
                        .down_after_ms
                        .saturating_add(t.info_period_ms.saturating_mul(2)))
            || (inst.has(flags::MASTER_REBOOT) && reboot_expired);
        if down && !inst.has(flags::S_DOWN) {
            inst.s_down_since_ms = now_ms;
            inst.flags |= flags::S_DOWN;
            self.event(LogLevel::Warning, "+sdown", m, who, "");
        } else if !down && inst.has(flags::S_DOWN) {
            inst.flags &= !(flags::S_DOWN | flags::SCRIPT_KILL_SENT);
            self.event(LogLevel::Warning, "-sdown", m, who, "");
        }
    }
}
