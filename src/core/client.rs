//! One connected client as the core sees it: buffers, selected db, auth, MULTI/WATCH state,
//! pub/sub subscriptions, and what CLIENT LIST prints about it.

use bytes::{Bytes, BytesMut};
use std::collections::BTreeSet;
use std::net::SocketAddr;

pub type ConnId = u64;

/// What CLIENT LIST adds to a client's buffers for the client structure itself (`tot-mem`).
const CLIENT_STRUCT_BYTES: usize = 1024;

/// A queued MULTI transaction.
#[derive(Debug, Default)]
pub struct Multi {
    pub queued: Vec<Vec<Bytes>>,
    /// A command failed to queue: EXEC must abort.
    pub errored: bool,
}

/// A WATCHed key. `stale`: its time had passed (but it was not deleted yet) when watched, or
/// later; Redis' `expired` flag, which keeps the key's deletion from counting as a change.
#[derive(Debug, Clone)]
pub struct Watch {
    pub db: usize,
    pub key: Bytes,
    pub stale: bool,
}

#[derive(Debug)]
pub struct Client {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub name: Option<Bytes>,
    pub db: usize,
    pub authenticated: bool,
    /// The ACL user this client runs as; `None` for internal clients (the master's stream, the
    /// AOF loader), which may run anything.
    pub user: Option<String>,
    pub resp: u8,
    pub qbuf: BytesMut,
    pub out: BytesMut,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    pub multi: Option<Multi>,
    /// The keys this client WATCHes.
    pub watched: Vec<Watch>,
    /// A watched key changed: the next EXEC fails.
    pub dirty_cas: bool,
    pub channels: BTreeSet<Bytes>,
    pub patterns: BTreeSet<Bytes>,
    /// Shard channels (SSUBSCRIBE).
    pub shard_channels: BTreeSet<Bytes>,
    /// Close once the pending output is sent (QUIT, protocol errors, CLIENT KILL).
    pub close_after_reply: bool,
    /// Waiting for a disk operation (token) before its reply; input is not processed meanwhile.
    pub blocked_on: Option<u64>,
    /// Replies disk operations still owe, in output order: (disk token, offset in `out` where
    /// the reply goes). Output from the first one on is held back until it is paid, so a
    /// CONFIG REWRITE inside EXEC keeps its place among the other replies.
    pub owed: Vec<(u64, usize)>,
    pub last_cmd: std::borrow::Cow<'static, str>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// CLIENT REPLY OFF: no replies, only push messages.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was sent: the next command's reply is dropped.
    pub skip_next: bool,
    /// The running command's reply is dropped (it follows CLIENT REPLY SKIP).
    pub skipping: bool,
    /// Output handed to the driver that it has not yet reported written to the socket
    /// (`handle_written`): what a client that stops reading holds in memory.
    pub unsent_bytes: usize,
    /// Bytes the driver reported written, in all.
    pub written_bytes: u64,
    /// A replica: where (in `written_bytes` terms) its last full-sync payload ends. Payload
    /// bytes are not part of its output buffer, as Redis sends the snapshot from a file or pipe.
    pub payload_end: u64,
    /// A replica whose paced payload is still on its way: the stream waiting behind it.
    pub held: BytesMut,
    /// A replica of ours (Redis' CLIENT_SLAVE): its output buffer is the replication stream.
    pub replica: bool,
    /// In MONITOR mode: sees every command the server runs.
    pub monitor: bool,
    /// Over its output buffer limit: closed before anything more is sent (CLIENT_CLOSE_ASAP).
    pub close_asap: bool,
    /// Since when (monotonic seconds) the output has been over the soft limit.
    pub soft_limit_since_s: Option<u64>,
    /// Redis' query buffer allocation and its recent peak (`qbuf-free`, `querybuf.rs`).
    pub qbuf_alloc: usize,
    pub qbuf_peak: usize,
    /// Bytes of the query buffer already run in the current pass (Redis trims them after
    /// the pass, so CLIENT LIST still counts them).
    pub qbuf_ran: usize,
    /// CLIENT NO-EVICT ON: client eviction (maxmemory-clients) passes this client by.
    pub no_evict: bool,
    /// CLIENT TRACKING ON: its client-side caching mode.
    pub tracking: Option<super::tracking::ClientTracking>,
}

impl Client {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
        authenticated: bool,
        now_ms: u64,
    ) -> Self {
        Client {
            id,
            peer,
            local,
            name: None,
            db: 0,
            authenticated,
            user: Some("default".into()),
            resp: 2,
            qbuf: BytesMut::new(),
            out: BytesMut::new(),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            multi: None,
            watched: Vec::new(),
            dirty_cas: false,
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            shard_channels: BTreeSet::new(),
            close_after_reply: false,
            blocked_on: None,
            owed: Vec::new(),
            last_cmd: "NULL".into(),
            lib_name: None,
            lib_ver: None,
            reply_off: false,
            skip_next: false,
            skipping: false,
            unsent_bytes: 0,
            written_bytes: 0,
            payload_end: 0,
            held: BytesMut::new(),
            replica: false,
            monitor: false,
            close_asap: false,
            soft_limit_since_s: None,
            qbuf_alloc: 0,
            qbuf_peak: 0,
            qbuf_ran: 0,
            no_evict: false,
            tracking: None,
        }
    }

    /// Leaves room at the end of the output for the reply disk operation `token` owes.
    pub fn owe(&mut self, token: u64) {
        self.owed.push((token, self.out.len()));
    }

    /// Puts the reply disk operation `token` owed in its place in the output.
    pub fn pay(&mut self, token: u64, reply: &[u8]) {
        let Some(i) = self.owed.iter().position(|o| o.0 == token) else {
            return;
        };
        let (_, at) = self.owed.remove(i);
        let tail = self.out.split_off(at);
        self.out.extend_from_slice(reply);
        self.out.unsplit(tail);
        for later in &mut self.owed[i..] {
            later.1 += reply.len();
        }
    }

    /// Takes the output that may be sent now: everything before the first owed reply.
    pub fn take_sendable(&mut self) -> Bytes {
        let ready = self.owed.first().map_or(self.out.len(), |o| o.1);
        for o in &mut self.owed {
            o.1 -= ready;
        }
        self.out.split_to(ready).freeze()
    }

    /// Replies to this client are dropped (CLIENT REPLY OFF or SKIP, or it is being closed
    /// over its output limit); push messages are not, unless it is being closed.
    pub fn silenced(&self) -> bool {
        self.reply_off || self.skipping || self.close_asap
    }

    /// In RESP2 a client with subscriptions may only run pub/sub commands.
    pub fn in_pubsub_mode(&self) -> bool {
        self.resp == 2 && self.subscribed()
    }

    /// Channels and patterns (what SUBSCRIBE and PSUBSCRIBE replies count).
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Any subscription, shard channels included.
    pub fn subscribed(&self) -> bool {
        self.subscriptions() + self.shard_channels.len() > 0
    }

    /// Redis' CLIENT LIST `flags` field, letters in Redis' order.
    pub fn flags(&self) -> String {
        let letters = [
            (self.replica, 'S'),
            (self.monitor, 'O'),
            (self.subscribed(), 'P'),
            (self.multi.is_some(), 'x'),
            (self.blocked_on.is_some(), 'b'),
            (self.tracking.is_some(), 't'),
            (
                self.tracking.as_ref().is_some_and(|t| t.broken_redirect),
                'R',
            ),
            (self.tracking.as_ref().is_some_and(|t| t.bcast), 'B'),
            (self.dirty_cas, 'd'),
            (self.close_after_reply, 'c'),
            (self.no_evict, 'e'),
            (self.close_asap, 'A'),
        ];
        let f: String = letters
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, l)| *l)
            .collect();
        if f.is_empty() {
            return "N".into();
        }
        f
    }

    /// One CLIENT LIST / CLIENT INFO line, fields in Redis 7.2's order.
    pub fn info_line(&self, now_ms: u64) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib = |v: &Option<Bytes>| {
            v.as_ref()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default()
        };
        let (multi, qbuf) = (
            self.multi.as_ref().map_or(-1, |m| m.queued.len() as i64),
            self.qbuf.len() + self.qbuf_ran,
        );
        let omem = self.output_memory();
        // Accepted sockets have small ids; the internal clients (the master's stream on a
        // replica, the AOF loader) have ids near u64::MAX and no socket of their own: fd=-1.
        let fd = if self.id < super::replication::OUTBOUND_BASE {
            self.id as i64 + 7
        } else {
            -1
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll={} omem={} tot-mem={} events=r \
             cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.peer,
            self.local,
            fd,
            name,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            self.flags(),
            self.db,
            self.channels.len(),
            self.patterns.len(),
            self.shard_channels.len(),
            multi,
            qbuf,
            self.qbuf_alloc.saturating_sub(qbuf),
            self.static_reply_bytes(),
            self.reply_blocks(),
            omem,
            omem + self.qbuf_alloc.max(qbuf) + super::obuf::STATIC_REPLY_BYTES + CLIENT_STRUCT_BYTES,
            self.last_cmd,
            self.user.as_deref().unwrap_or("(superuser)"),
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            self.resp,
            lib(&self.lib_name),
            lib(&self.lib_ver),
        )
    }
}
