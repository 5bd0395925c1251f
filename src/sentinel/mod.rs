//! Redis Sentinel, sans-IO: monitoring, failure agreement and automatic failover of the masters
//! listed in sentinel.conf. A `Server` started in sentinel mode owns one `Sentinel` and drives it.
//!
//! # Calling protocol
//!
//! - `Sentinel::new(conf, port, seed, now)` builds the state from sentinel.conf (a missing myid
//!   is generated, and a config flush is queued so it is saved).
//! - `handle_timer(now)` is Redis' `sentinelTimer`; call it every `period_ms()` (hz is
//!   re-randomised to 10..19 after every tick, which desynchronises Sentinels).
//! - `handle_connected(now, conn, local)`, `handle_data(now, conn, bytes)` and
//!   `handle_closed(now, conn)` for connections this Sentinel opened (ids from
//!   `link::SENTINEL_CONN_BASE`; `is_sentinel_conn` tells them apart).
//! - Commands from clients reach it through `commands::sentinel` (`process_hello`, `vote`, ...).
//! - After each call, drain `poll_out()` and perform every `link::Out` in order.

#[cfg(test)]
mod bad_input_tests;
pub mod config;
mod detect;
mod failover;
mod hello;
mod info;
pub mod instance;
pub mod link;
mod monitor;
mod peers;
pub mod scripts;
mod state_conf;
#[cfg(test)]
mod tests;

use crate::config::LogLevel;
use crate::core::{Action, ConnId, Now};
use config::SentinelConf;
use instance::{flags, Kind, Master};
use link::{Io, Out, Who};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::BTreeMap;

pub use link::is_sentinel_conn;

pub const HELLO_CHANNEL: &str = "__sentinel__:hello";
pub use config::{DEFAULT_DOWN_AFTER_MS, DEFAULT_FAILOVER_TIMEOUT_MS};
/// Reconnection attempts and the PING cadence floor.
pub const PING_PERIOD_MS: u64 = 1000;
/// Largest random delay added to a failover start, so Sentinels do not all try at once.
pub const MAX_DESYNC_MS: u64 = 1000;
/// SIMULATE-FAILURE flags.
pub const SIMFAILURE_CRASH_AFTER_ELECTION: u32 = 1;
pub const SIMFAILURE_CRASH_AFTER_PROMOTION: u32 = 2;

/// The timers SENTINEL DEBUG can change (tests shrink them).
#[derive(Clone, Debug, PartialEq)]
pub struct Timers {
    pub info_period_ms: u64,
    pub ping_period_ms: u64,
    pub ask_period_ms: u64,
    pub publish_period_ms: u64,
    pub default_down_after_ms: u64,
    pub tilt_trigger_ms: u64,
    pub tilt_period_ms: u64,
    pub slave_reconf_timeout_ms: u64,
    pub min_link_reconnect_period_ms: u64,
    pub default_failover_timeout_ms: u64,
    pub election_timeout_ms: u64,
    pub script_max_runtime_ms: u64,
    pub script_retry_delay_ms: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            info_period_ms: 10_000,
            ping_period_ms: PING_PERIOD_MS,
            ask_period_ms: 1000,
            publish_period_ms: 2000,
            default_down_after_ms: DEFAULT_DOWN_AFTER_MS,
            tilt_trigger_ms: 2000,
            tilt_period_ms: 30_000,
            slave_reconf_timeout_ms: 10_000,
            min_link_reconnect_period_ms: 15_000,
            default_failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT_MS,
            election_timeout_ms: 10_000,
            script_max_runtime_ms: 60_000,
            script_retry_delay_ms: 30_000,
        }
    }
}

pub struct Sentinel {
    pub myid: String,
    pub current_epoch: u64,
    /// Boxed: a master is moved out of the map while it is handled, and moving a pointer is
    /// cheaper than moving the struct (and shifting its B-tree node).
    pub masters: BTreeMap<String, Box<Master>>,
    /// notification-script and client-reconfig-script runs (`scripts.rs`).
    pub scripts: scripts::Scripts,
    /// Links to other Sentinels by run id, shared by all masters (`peers.rs`).
    pub peers: BTreeMap<String, Box<link::Link>>,
    pub tilt: bool,
    pub tilt_start_ms: u64,
    /// The clocks at the previous tick (TILT compares them).
    previous: Option<Now>,
    /// The port this Sentinel listens on (announced in hellos unless announce-port is set).
    pub port: u16,
    /// announce-ip/port, hostnames, deny-scripts-reconfig, sentinel-user/pass.
    pub settings: config::Settings,
    pub simfailure_flags: u32,
    pub timers: Timers,
    pub hz: u64,
    pub io: Io,
    pub rng: ChaCha8Rng,
    /// Hellos received while their master was being handled, processed after it.
    deferred_hellos: Vec<String>,
    /// Changes not yet in the config file, and when it was last written.
    pub config_dirty: bool,
    pub config_flushed_ms: u64,
    /// SENTINEL SET calls waiting for the driver to check the scripts they name, by client.
    pub script_checks: BTreeMap<crate::core::ConnId, Vec<bytes::Bytes>>,
    /// SENTINEL INJECT-BUG: deliberate bugs switched on (tests of the simulator's checks).
    #[cfg(feature = "bug-injection")]
    pub bugs: crate::bugs::Bugs,
}

impl Sentinel {
    pub fn new(conf: &SentinelConf, port: u16, seed: u64, now: Now) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x05e4_71e1);
        let mut io = Io::new();
        let myid = conf.myid.clone().unwrap_or_else(|| {
            io.out.push_back(Out::FlushConfig);
            random_hex_id(&mut rng)
        });
        let mut s = Sentinel {
            myid,
            current_epoch: conf.current_epoch,
            masters: BTreeMap::new(),
            peers: BTreeMap::new(),
            scripts: Default::default(),
            tilt: false,
            tilt_start_ms: 0,
            previous: None,
            port,
            settings: conf.settings.clone(),
            simfailure_flags: 0,
            timers: Timers::default(),
            hz: 10,
            io,
            rng,
            deferred_hellos: Vec::new(),
            config_dirty: false,
            config_flushed_ms: 0,
            script_checks: BTreeMap::new(),
            #[cfg(feature = "bug-injection")]
            bugs: Default::default(),
        };
        for mc in &conf.masters {
            let m = state_conf::master_from_conf(mc, now.mono_ms);
            s.masters.insert(mc.name.clone(), Box::new(m));
        }
        s.io.out.push_back(Out::Log {
            level: LogLevel::Notice,
            msg: format!("Sentinel ID is {}", s.myid),
        });
        // What it starts from, for the simulator's epoch checks.
        let votes: Vec<String> = s
            .masters
            .iter()
            .map(|(name, m)| format!(" leader-epoch {name} {}", m.leader_epoch))
            .collect();
        let state = format!("~state myid {} current-epoch {}", s.myid, s.current_epoch);
        s.io.trace(state + &votes.concat());
        let names: Vec<String> = s.masters.keys().cloned().collect();
        for name in names {
            s.monitor_event(&name);
        }
        s
    }

    /// `+monitor master <name> <ip> <port> quorum <n>`.
    pub fn monitor_event(&mut self, name: &str) {
        if let Some(m) = self.masters.get(name) {
            let msg = format!("{} quorum {}", describe(m, &Who::Master), m.quorum);
            self.io
                .event(LogLevel::Warning, "+monitor", msg, Some(name));
        }
    }

    /// The state as sentinel.conf lines describe it (for the config rewrite).
    pub fn to_conf(&self) -> SentinelConf {
        state_conf::conf_from_state(self)
    }

    pub fn poll_out(&mut self) -> Option<Out> {
        self.io.out.pop_front()
    }

    /// Milliseconds between timer ticks.
    pub fn period_ms(&self) -> u64 {
        1000 / self.hz.max(1)
    }

    // ---- connections --------------------------------------------------------------------

    pub fn handle_connected(&mut self, _now: Now, conn: ConnId, local_ip: String) {
        let r = self.io.conns.get(&conn).cloned();
        if let Some(id) = r.as_deref().and_then(Self::is_peer_ref) {
            return self.peer_connected(id, conn, local_ip);
        }
        let inst = r.and_then(|r| instance_mut(self.masters.get_mut(&r.master)?, &r.who));
        match inst {
            Some(inst) => inst.link.connected(&mut self.io, conn, local_ip),
            // Closed while it was connecting: close it now that it exists.
            None => self.io.out.push_back(Out::Net(Action::Close { conn })),
        }
    }

    pub fn handle_data(&mut self, now: Now, conn: ConnId, data: &[u8]) {
        let Some(r) = self.io.conns.get(&conn).cloned() else {
            return;
        };
        if let Some(id) = Self::is_peer_ref(&r) {
            return self.peer_data(id, data, now);
        }
        let Some(mut m) = self.masters.remove(&r.master) else {
            return;
        };
        self.link_data(&mut m, &r, data, now);
        self.masters.insert(r.master.clone(), m);
        for hello in std::mem::take(&mut self.deferred_hellos) {
            self.process_hello(&hello, now);
        }
    }

    pub fn handle_closed(&mut self, _now: Now, conn: ConnId) {
        let Some(r) = self.io.conns.remove(&conn) else {
            return;
        };
        if let Some(id) = Self::is_peer_ref(&r) {
            return self.peer_closed(id, conn, r.chan);
        }
        let Some(m) = self.masters.get_mut(&r.master) else {
            return;
        };
        if let Some(inst) = instance_mut(m, &r.who) {
            if inst.link.chan_of(conn).is_some() {
                inst.link.close(&mut self.io, r.chan);
            }
        }
    }

    // ---- the timer ----------------------------------------------------------------------

    /// Redis' `sentinelTimer`.
    pub fn handle_timer(&mut self, now: Now) {
        self.check_tilt(now);
        let names: Vec<String> = self.masters.keys().cloned().collect();
        for name in names {
            let Some(mut m) = self.masters.remove(&name) else {
                continue;
            };
            self.handle_master(&mut m, now);
            let switch = m.failover_state == instance::FailoverState::UpdateConfig;
            self.masters.insert(name.clone(), m);
            if switch {
                self.switch_to_promoted(&name, now);
            }
            for hello in std::mem::take(&mut self.deferred_hellos) {
                self.process_hello(&hello, now);
            }
        }
        self.script_cron(now.mono_ms);
        self.hz = 10 + self.rng.next_u64() % 10;
    }

    /// TILT: the clock jumped backwards or more than the trigger forwards since the last tick
    /// (a paused process or a changed system clock): stop acting on what we measured.
    fn check_tilt(&mut self, now: Now) {
        if let Some(prev) = self.previous {
            let trigger = self.timers.tilt_trigger_ms as i64;
            let wall = now.unix_ms as i64 - prev.unix_ms as i64;
            let mono = now.mono_ms as i64 - prev.mono_ms as i64;
            if wall < 0 || wall > trigger || mono > trigger {
                self.tilt = true;
                self.tilt_start_ms = now.mono_ms;
                self.io.event(
                    LogLevel::Warning,
                    "+tilt",
                    "#tilt mode entered".into(),
                    None,
                );
            }
        }
        self.previous = Some(now);
    }

    /// Still in TILT after this instance's turn? (Leaving it is checked per instance, as Redis.)
    fn tilted(&mut self, now_ms: u64) -> bool {
        if !self.tilt {
            return false;
        }
        if now_ms.saturating_sub(self.tilt_start_ms) < self.timers.tilt_period_ms {
            return true;
        }
        self.tilt = false;
        self.io
            .event(LogLevel::Warning, "-tilt", "#tilt mode exited".into(), None);
        false
    }

    fn handle_master(&mut self, m: &mut Master, now: Now) {
        self.lend_peer_links(m, now.mono_ms);
        self.handle_instance(m, &Who::Master, now);
        let replicas: Vec<String> = m.replicas.keys().cloned().collect();
        for r in replicas {
            self.handle_instance(m, &Who::Replica(r), now);
        }
        let sentinels: Vec<String> = m.sentinels.keys().cloned().collect();
        for s in sentinels {
            self.handle_instance(m, &Who::Sentinel(s), now);
        }
        // Lending again gives the shared links back.
        self.lend_peer_links(m, now.mono_ms);
    }

    /// Redis' `sentinelHandleRedisInstance`.
    fn handle_instance(&mut self, m: &mut Master, who: &Who, now: Now) {
        let ms = now.mono_ms;
        self.reconnect(m, who, ms);
        self.send_periodic(m, who, ms);
        if self.tilted(ms) {
            return;
        }
        self.check_sdown(m, who, ms);
        if *who == Who::Master {
            self.check_odown(m, ms);
            if self.start_failover_if_needed(m, ms) {
                self.ask_master_state(m, true, ms);
            }
            self.failover_state_machine(m, now);
            self.ask_master_state(m, false, ms);
        }
    }

    /// Marks the config for a rewrite (done at most once a second, however many changes it
    /// covers).
    pub fn flush_config(&mut self) {
        self.config_dirty = true;
    }

    /// A rewrite that is durable before anything queued after it is sent: a vote must survive
    /// a crash, or a restarted Sentinel could vote again in the same epoch.
    pub fn flush_config_now(&mut self) {
        self.io.out.push_back(Out::FlushConfig);
    }

    /// An event about an instance of master `m` (`%@` is the instance description).
    fn event(&mut self, level: LogLevel, kind: &str, m: &Master, who: &Who, extra: &str) {
        let mut msg = describe(m, who);
        msg.push_str(extra);
        self.io.event(level, kind, msg, Some(m.name()));
    }

    pub fn random_below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    /// `+reset-master` and friends: forget replicas (and optionally sentinels) of a master.
    pub fn reset_master(&mut self, m: &mut Master, keep_sentinels: bool, now_ms: u64, event: bool) {
        for (_, mut r) in std::mem::take(&mut m.replicas) {
            r.link.close_all(&mut self.io);
        }
        if !keep_sentinels {
            // Their shared links go once no master knows them (`prune_peer_links`).
            m.sentinels.clear();
        }
        m.inst.link.close_all(&mut self.io);
        m.inst.flags = 0;
        m.leader = None;
        m.failover_state = instance::FailoverState::None;
        m.failover_state_change_time_ms = 0;
        m.failover_start_time_ms = 0;
        m.promoted = None;
        m.inst.runid = None;
        m.inst.slave_master_host = None;
        let link = &mut m.inst.link;
        link.act_ping_time_ms = now_ms;
        // Unlike Redis, dial the (maybe new) address at the next tick instead of up to a ping
        // period later: with a short down-after, that delay alone made a fresh master look down.
        link.last_reconn_time_ms = 0;
        link.last_ping_time_ms = 0;
        link.last_avail_time_ms = now_ms;
        link.last_pong_time_ms = now_ms;
        m.inst.role_reported_time_ms = now_ms;
        m.inst.role_reported = Kind::Master;
        if event {
            self.event(LogLevel::Warning, "+reset-master", m, &Who::Master, "");
        }
    }

    /// Removes a master and closes all its links (SENTINEL REMOVE).
    pub fn remove_master(&mut self, name: &str, now_ms: u64) -> bool {
        let Some(mut m) = self.masters.remove(name) else {
            return false;
        };
        self.reset_master(&mut m, false, now_ms, false);
        self.event(LogLevel::Warning, "-monitor", &m, &Who::Master, "");
        self.prune_peer_links();
        true
    }

    /// Peers that would vote: Sentinels of `m` not down, plus this one (for CKQUORUM). As in
    /// Redis, a peer whose link is being redialled still counts until it is SDOWN.
    pub fn usable_sentinels(&self, m: &Master) -> (usize, usize) {
        let voters = m.sentinels.len() + 1;
        let usable = 1 + m
            .sentinels
            .values()
            .filter(|s| !s.has(flags::S_DOWN | flags::O_DOWN))
            .count();
        (usable, voters)
    }
}

/// Redis' `%@`: `<kind> <name> <ip> <port>`, plus ` @ <master> <ip> <port>` below a master.
pub fn describe(m: &Master, who: &Who) -> String {
    let Some(inst) = instance_ref(m, who) else {
        return String::new();
    };
    let head = format!(
        "{} {} {} {}",
        inst.kind.word(),
        inst.name,
        inst.host,
        inst.port
    );
    match who {
        Who::Master => head,
        _ => format!("{head} @ {} {} {}", m.name(), m.inst.host, m.inst.port),
    }
}

pub fn instance_ref<'a>(m: &'a Master, who: &Who) -> Option<&'a instance::Instance> {
    match who {
        Who::Master => Some(&m.inst),
        Who::Replica(n) => m.replicas.get(n),
        Who::Sentinel(id) => m.sentinels.get(id),
    }
}

pub fn instance_mut<'a>(m: &'a mut Master, who: &Who) -> Option<&'a mut instance::Instance> {
    match who {
        Who::Master => Some(&mut m.inst),
        Who::Replica(n) => m.replicas.get_mut(n),
        Who::Sentinel(id) => m.sentinels.get_mut(id),
    }
}

/// 40 lowercase hex characters from the seeded generator (run ids, myid).
pub fn random_hex_id(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 20];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
