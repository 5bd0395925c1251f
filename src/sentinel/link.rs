//! A Sentinel's links to one instance (Redis' `instanceLink`): a command connection and, for
//! masters and replicas, a pub/sub connection; the replies each one still owes, in order; and the
//! `Io` queue every Sentinel decision leaves its actions in.

use crate::config::LogLevel;
use crate::core::{Action, ConnId};
use crate::resp::{encode_command, parse_frame, Frame};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Connection ids of Sentinel links start here (accepted connections and the replication link
/// use lower ranges).
pub const SENTINEL_CONN_BASE: ConnId = 1 << 52;
/// Commands a link may have unanswered before periodic ones are skipped (Redis: 100).
pub const MAX_PENDING_COMMANDS: u32 = 100;
/// A reply larger than this ends the link (INFO replies are a few kB).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

pub fn is_sentinel_conn(conn: ConnId) -> bool {
    conn >= SENTINEL_CONN_BASE
}

/// What a reply on the command connection is for. Links to other Sentinels are shared by every
/// master both watch, so replies that concern one master name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Discard,
    Ping,
    Info,
    Publish(String),
    IsMasterDown(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Cmd,
    PubSub,
}

/// Which instance of which master a connection belongs to (for a link to another Sentinel,
/// shared by all masters, `master` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Master,
    Replica(String),
    Sentinel(String),
}

#[derive(Clone, Debug)]
pub struct LinkRef {
    pub master: String,
    pub who: Who,
    pub chan: Channel,
}

/// An action a Sentinel decision produced, for the server to carry out in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// A connection action (`Connect`, `Send`, `Close`), passed to the driver as it is.
    Net(Action),
    /// Log `"<kind> <msg>"`, publish `msg` on channel `kind` (unless debug), trace it, and run
    /// the master's notification script for warnings.
    Event {
        level: LogLevel,
        kind: String,
        msg: String,
        master: Option<String>,
    },
    Log {
        level: LogLevel,
        msg: String,
    },
    /// Trace only (Redis has no such event): what a decision was based on, for the simulator's
    /// checks (`~leader-votes`, `~odown-opinions`, `~candidates`, `~state`).
    Trace(String),
    /// Rewrite the config file now: it is durable before anything queued after it is sent (a
    /// vote). Other changes only mark the config dirty (`Sentinel::flush_config`).
    FlushConfig,
    /// Start script run `id` (`argv[0]` is the script); report its end with `handle_script_exit`.
    RunScript {
        id: u64,
        argv: Vec<String>,
    },
    /// Script run `id` overran: SIGKILL it.
    KillScript {
        id: u64,
    },
    /// SENTINEL SIMULATE-FAILURE reached its point: exit with this status.
    Exit {
        code: i32,
    },
}

/// The queue of actions, the connection registry (kept apart from the instances so both can
/// be borrowed at once), and the host names the driver resolved.
#[derive(Debug, Default)]
pub struct Io {
    pub out: VecDeque<Out>,
    /// Shared so that handling a connection's data can hold its owner without copying names.
    pub conns: BTreeMap<ConnId, Arc<LinkRef>>,
    next_conn: ConnId,
    /// Host name -> IP address, as the driver's resolver last answered (`Action::Resolve`);
    /// an empty string while a resolution is under way or after it failed.
    pub resolved: BTreeMap<String, String>,
}

impl Io {
    pub fn new() -> Self {
        Io {
            next_conn: SENTINEL_CONN_BASE,
            ..Default::default()
        }
    }

    /// A trace-only line (`Out::Trace`).
    pub fn trace(&mut self, line: String) {
        self.out.push_back(Out::Trace(line));
    }

    pub fn event(&mut self, level: LogLevel, kind: &str, msg: String, master: Option<&str>) {
        self.out.push_back(Out::Event {
            level,
            kind: kind.to_string(),
            msg,
            master: master.map(str::to_string),
        });
    }

    /// Opens a connection for `dial`'s instance; returns its id.
    fn open(&mut self, dial: &Dial, chan: Channel) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let owner = LinkRef {
            master: dial.master.clone(),
            who: dial.who.clone(),
            chan,
        };
        self.conns.insert(conn, Arc::new(owner));
        let name = dial.host.parse::<std::net::IpAddr>().is_err();
        if name && !self.resolved.contains_key(&dial.host) {
            self.resolved.insert(dial.host.clone(), String::new());
            self.out.push_back(Out::Net(Action::Resolve {
                host: dial.host.clone(),
            }));
        }
        self.out.push_back(Out::Net(Action::Connect {
            conn,
            host: dial.host.clone(),
            port: dial.port,
        }));
        conn
    }

    /// The address to show for `host`: the name itself with `announce_hostnames` (or when it
    /// is an address already or not resolved), else the IP address it resolved to.
    pub fn shown_host<'a>(&'a self, host: &'a str, announce_hostnames: bool) -> &'a str {
        match self.resolved.get(host) {
            Some(ip) if !announce_hostnames && !ip.is_empty() => ip,
            _ => host,
        }
    }

    fn close(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            self.out.push_back(Out::Net(Action::Close { conn }));
        }
    }
}

/// One connection of a link.
#[derive(Debug)]
pub struct Conn {
    pub id: ConnId,
    connected: bool,
    buf: BytesMut,
    expect: VecDeque<Expect>,
    /// Commands written before the TCP connection was up.
    queued: Vec<Bytes>,
}

impl Conn {
    fn new(id: ConnId) -> Self {
        Conn {
            id,
            connected: false,
            buf: BytesMut::new(),
            expect: VecDeque::new(),
            queued: Vec::new(),
        }
    }

    fn write(&mut self, io: &mut Io, data: Bytes) {
        if self.connected {
            io.out.push_back(Out::Net(Action::Send {
                conn: self.id,
                data,
            }));
        } else {
            self.queued.push(data);
        }
    }
}

/// What a PING was answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pong {
    Pong,
    /// LOADING or MASTERDOWN: alive, not ready.
    Alive,
    /// Running a script that does not yield.
    Busy,
    Other,
}

/// The two connections to an instance and their timers (Redis' `instanceLink`).
#[derive(Debug)]
pub struct Link {
    pub cc: Option<Conn>,
    pub pc: Option<Conn>,
    pub disconnected: bool,
    pub pending_commands: u32,
    pub cc_conn_time_ms: u64,
    pub pc_conn_time_ms: u64,
    pub pc_last_activity_ms: u64,
    pub last_reconn_time_ms: u64,
    /// When the oldest unanswered PING was sent (0 = none pending).
    pub act_ping_time_ms: u64,
    pub last_ping_time_ms: u64,
    pub last_avail_time_ms: u64,
    pub last_pong_time_ms: u64,
    /// Our address as the command connection sees it.
    pub local_ip: Option<String>,
}

/// Everything needed to (re)open an instance's connections.
pub struct Dial {
    pub master: String,
    pub who: Who,
    pub host: String,
    pub port: u16,
    /// Masters and replicas get a pub/sub connection too; Sentinels only a command one.
    pub pubsub: bool,
    /// `AUTH [user] pass` to send first.
    pub auth: Option<(Option<String>, String)>,
    /// `sentinel-<first 8 of myid>`; `-cmd` / `-pubsub` is added.
    pub client_name: String,
    /// rename-command of the master this instance belongs to.
    pub rename: BTreeMap<String, String>,
}

impl Dial {
    /// How `name` is spelled on this instance.
    pub fn cmd(&self, name: &str) -> String {
        map_command(&self.rename, name)
    }
}

/// A command's name after rename-command.
pub fn map_command(rename: &BTreeMap<String, String>, name: &str) -> String {
    if rename.is_empty() {
        return name.to_string();
    }
    rename
        .get(&name.to_ascii_lowercase())
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

impl Link {
    pub fn new(now_ms: u64) -> Self {
        Link {
            cc: None,
            pc: None,
            disconnected: true,
            pending_commands: 0,
            cc_conn_time_ms: 0,
            pc_conn_time_ms: 0,
            pc_last_activity_ms: 0,
            last_reconn_time_ms: 0,
            act_ping_time_ms: now_ms,
            last_ping_time_ms: 0,
            last_avail_time_ms: now_ms,
            last_pong_time_ms: now_ms,
            local_ip: None,
        }
    }

    /// Opens the missing connections (Redis' `sentinelReconnectInstance`); the caller spaces
    /// attempts a ping period apart.
    pub fn reconnect(&mut self, io: &mut Io, dial: &Dial, now_ms: u64) {
        if !self.disconnected || dial.port == 0 {
            return;
        }
        self.last_reconn_time_ms = now_ms;
        if self.cc.is_none() {
            self.cc = Some(Conn::new(io.open(dial, Channel::Cmd)));
            self.pending_commands = 0;
            self.cc_conn_time_ms = now_ms;
            self.announce(io, Channel::Cmd, dial);
            self.send_ping(io, &dial.cmd("PING"), now_ms);
        }
        if dial.pubsub && self.pc.is_none() {
            self.pc = Some(Conn::new(io.open(dial, Channel::PubSub)));
            self.pc_conn_time_ms = now_ms;
            self.announce(io, Channel::PubSub, dial);
            let sub = [dial.cmd("SUBSCRIBE"), super::HELLO_CHANNEL.to_string()];
            if let Some(pc) = self.pc.as_mut() {
                pc.write(io, encode_command(&sub).freeze());
            }
        }
        if self.cc.is_some() && (!dial.pubsub || self.pc.is_some()) {
            self.disconnected = false;
        }
    }

    /// AUTH (when configured) and CLIENT SETNAME on a fresh connection.
    fn announce(&mut self, io: &mut Io, chan: Channel, dial: &Dial) {
        if let Some((user, pass)) = &dial.auth {
            let mut args = vec![dial.cmd("AUTH")];
            args.extend(user.clone());
            args.push(pass.clone());
            self.command(io, chan, &args, Expect::Discard);
        }
        let suffix = match chan {
            Channel::Cmd => "cmd",
            Channel::PubSub => "pubsub",
        };
        let args = [
            dial.cmd("CLIENT"),
            "SETNAME".to_string(),
            format!("{}-{suffix}", dial.client_name),
        ];
        self.command(io, chan, &args, Expect::Discard);
    }

    /// Writes a command; `false` when the connection is not there.
    pub fn command<T: AsRef<[u8]>>(
        &mut self,
        io: &mut Io,
        chan: Channel,
        args: &[T],
        expect: Expect,
    ) -> bool {
        let conn = match chan {
            Channel::Cmd => self.cc.as_mut(),
            Channel::PubSub => self.pc.as_mut(),
        };
        let Some(conn) = conn else {
            return false;
        };
        conn.write(io, encode_command(args).freeze());
        // On the pub/sub connection only AUTH and CLIENT SETNAME are sent this way: their
        // replies are counted so they can be dropped.
        conn.expect.push_back(expect);
        if chan == Channel::Cmd {
            self.pending_commands += 1;
        }
        true
    }

    /// `ping` is the PING command's name on this instance.
    pub fn send_ping(&mut self, io: &mut Io, ping: &str, now_ms: u64) -> bool {
        if !self.command(io, Channel::Cmd, &[ping], Expect::Ping) {
            return false;
        }
        self.last_ping_time_ms = now_ms;
        if self.act_ping_time_ms == 0 {
            self.act_ping_time_ms = now_ms;
        }
        true
    }

    /// A PING's reply: PONG, LOADING and MASTERDOWN all mean "alive". Returns what it was.
    pub fn pong(&mut self, frame: &Frame, now_ms: u64) -> Pong {
        let text = match frame {
            Frame::Simple(s) | Frame::Error(s) => s.as_str(),
            _ => "",
        };
        self.last_pong_time_ms = now_ms;
        if ["PONG", "LOADING", "MASTERDOWN"]
            .iter()
            .any(|p| text.starts_with(p))
        {
            self.last_avail_time_ms = now_ms;
            self.act_ping_time_ms = 0;
            return if text.starts_with("PONG") {
                Pong::Pong
            } else {
                Pong::Alive
            };
        }
        if text.starts_with("BUSY") {
            Pong::Busy
        } else {
            Pong::Other
        }
    }

    /// The TCP connection `conn` is up: write what was queued. `local_ip` is our side's address
    /// (what hellos announce unless announce-ip is set).
    pub fn connected(&mut self, io: &mut Io, conn: ConnId, local_ip: String) {
        if self.cc.as_ref().is_some_and(|c| c.id == conn) {
            self.local_ip = Some(local_ip);
        }
        for c in [self.cc.as_mut(), self.pc.as_mut()].into_iter().flatten() {
            if c.id == conn {
                c.connected = true;
                for data in std::mem::take(&mut c.queued) {
                    io.out.push_back(Out::Net(Action::Send { conn, data }));
                }
            }
        }
    }

    /// Bytes arrived on `chan`: the complete replies, each with what it answers (pub/sub
    /// messages come as `Expect::Discard`). `Err` means the peer does not speak RESP.
    pub fn data(
        &mut self,
        chan: Channel,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Vec<(Expect, Frame)>, String> {
        let conn = match chan {
            Channel::Cmd => self.cc.as_mut(),
            Channel::PubSub => self.pc.as_mut(),
        };
        let Some(conn) = conn else {
            return Ok(Vec::new());
        };
        conn.buf.extend_from_slice(data);
        let mut replies = Vec::new();
        loop {
            match parse_frame(&conn.buf, MAX_REPLY_BYTES).map_err(|e| e.0)? {
                Some((frame, used)) => {
                    crate::resp::consume(&mut conn.buf, used);
                    let expect = match chan {
                        Channel::Cmd => {
                            self.pending_commands = self.pending_commands.saturating_sub(1);
                            conn.expect.pop_front().unwrap_or(Expect::Discard)
                        }
                        Channel::PubSub => {
                            self.pc_last_activity_ms = now_ms;
                            // A refused AUTH is no reason to drop the subscription (Redis
                            // discards these replies); an error to SUBSCRIBE is.
                            if conn.expect.pop_front().is_some() {
                                continue;
                            }
                            Expect::Discard
                        }
                    };
                    replies.push((expect, frame));
                }
                None if conn.buf.len() > MAX_REPLY_BYTES => return Err("reply too long".into()),
                None => return Ok(replies),
            }
        }
    }

    /// Drops connection `chan` (Redis' `instanceLinkCloseConnection`).
    pub fn close(&mut self, io: &mut Io, chan: Channel) {
        let conn = match chan {
            Channel::Cmd => {
                self.pending_commands = 0;
                self.cc.take()
            }
            Channel::PubSub => self.pc.take(),
        };
        if let Some(c) = conn {
            io.close(c.id);
            self.disconnected = true;
        }
    }

    /// Drops both connections (the instance is going away or is being reset).
    pub fn close_all(&mut self, io: &mut Io) {
        self.close(io, Channel::Cmd);
        self.close(io, Channel::PubSub);
    }

    pub fn chan_of(&self, conn: ConnId) -> Option<Channel> {
        if self.cc.as_ref().is_some_and(|c| c.id == conn) {
            Some(Channel::Cmd)
        } else if self.pc.as_ref().is_some_and(|c| c.id == conn) {
            Some(Channel::PubSub)
        } else {
            None
        }
    }
}
