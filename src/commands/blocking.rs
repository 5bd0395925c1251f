//! Blocking pops: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN and BZPOPMAX. Each tries at once;
//! with nothing to pop (and outside MULTI) the client blocks on its keys until a write makes
//! one of them non-empty, its timeout passes, or the server turns into a replica
//! (`core/blocking.rs` keeps the waiting clients). A served pop reaches replicas and the AOF as
//! its non-blocking form (LPOP, RPOPLPUSH, LMOVE, ZPOPMIN...), as Redis propagates it.

use super::streams::read::StreamWait;
use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::{ConnId, Server};
use crate::db::{Value, WRONGTYPE};
use crate::text::fmt_double;
use bytes::Bytes;

/// The blocking list commands (COMMAND DOCS group `list`).
pub const LIST_COMMANDS: &[CommandSpec] = &[
    server("blpop", -3, WRITE, (1, -2, 1), blpop),
    server("brpop", -3, WRITE, (1, -2, 1), brpop),
    server(
        "brpoplpush",
        4,
        WRITE | DENYOOM,
        (1, 2, 1),
        brpoplpush,
    ),
    server("blmove", 6, WRITE | DENYOOM, (1, 2, 1), blmove),
];

/// The blocking sorted-set commands (group `sorted-set`).
pub const ZSET_COMMANDS: &[CommandSpec] = &[
    server(
        "bzpopmin",
        -3,
        WRITE | FAST,
        (1, -2, 1),
        bzpopmin,
    ),
    server(
        "bzpopmax",
        -3,
        WRITE | FAST,
        (1, -2, 1),
        bzpopmax,
    ),
];

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

/// What a blocked client waits to do.
#[derive(Clone, Debug)]
pub enum Pop {
    /// BLPOP / BRPOP: the first non-empty list of `keys`.
    List(End),
    /// BLMOVE / BRPOPLPUSH: from `keys[0]` to `dest`; `rpoplpush` picks the propagated form.
    Move {
        from: End,
        to: End,
        dest: Bytes,
        rpoplpush: bool,
    },
    /// BZPOPMIN / BZPOPMAX.
    Zset { max: bool },
    /// XREAD / XREADGROUP (`commands/streams/read.rs`).
    Stream(StreamWait),
}

/// The outcome of one attempt.
pub enum Attempt {
    Served,
    Empty,
    /// An error reply was written.
    Failed,
}

impl Pop {
    /// Whether a write that left `v` at one of the waiting client's keys should wake it (Redis:
    /// the key holds the type it waits for; XREADGROUP also on deletion or any other type).
    pub fn wakes(&self, v: Option<&Value>) -> bool {
        match self {
            Pop::List(_) | Pop::Move { .. } => matches!(v, Some(Value::List(_))),
            Pop::Zset { .. } => matches!(v, Some(Value::ZSet(_))),
            Pop::Stream(w) => w.group || matches!(v, Some(Value::Stream(_))),
        }
    }

    /// True when serving one waiter may leave nothing for the next (pops consume).
    pub fn consumes(&self) -> bool {
        !matches!(self, Pop::Stream(_))
    }

    /// The reply a timed-out client gets (null array, or null bulk for the moves).
    pub fn timeout_reply(&self) -> &'static [u8] {
        match self {
            Pop::Move { .. } => b"$-1\r\n",
            _ => b"*-1\r\n",
        }
    }
}

fn blpop(s: &mut Server, call: &Call) {
    start(s, call, Pop::List(End::Left), keys_before_timeout(call));
}

fn brpop(s: &mut Server, call: &Call) {
    start(s, call, Pop::List(End::Right), keys_before_timeout(call));
}

fn bzpopmin(s: &mut Server, call: &Call) {
    start(s, call, Pop::Zset { max: false }, keys_before_timeout(call));
}

fn bzpopmax(s: &mut Server, call: &Call) {
    start(s, call, Pop::Zset { max: true }, keys_before_timeout(call));
}

fn brpoplpush(s: &mut Server, call: &Call) {
    let pop = Pop::Move {
        from: End::Right,
        to: End::Left,
        dest: call.args[2].clone(),
        rpoplpush: true,
    };
    start(s, call, pop, vec![call.args[1].clone()]);
}

fn blmove(s: &mut Server, call: &Call) {
    let end = |a: &[u8]| match () {
        _ if is(a, "left") => Some(End::Left),
        _ if is(a, "right") => Some(End::Right),
        _ => None,
    };
    let (Some(from), Some(to)) = (end(&call.args[3]), end(&call.args[4])) else {
        return s.reply(call.id).error("ERR syntax error");
    };
    let pop = Pop::Move {
        from,
        to,
        dest: call.args[2].clone(),
        rpoplpush: false,
    };
    start(s, call, pop, vec![call.args[1].clone()]);
}

fn keys_before_timeout(call: &Call) -> Vec<Bytes> {
    call.args[1..call.args.len() - 1].to_vec()
}

/// Redis' timeout argument: seconds, decimals allowed, 0 = forever; `None` = error written.
fn timeout_ms(s: &mut Server, id: ConnId, arg: &[u8]) -> Option<Option<u64>> {
    let Some(secs) = crate::text::parse_f64(arg).filter(|v| v.is_finite()) else {
        s.reply(id)
            .error("ERR timeout is not a float or out of range");
        return None;
    };
    if secs < 0.0 {
        s.reply(id).error("ERR timeout is negative");
        return None;
    }
    Some((secs > 0.0).then(|| (secs * 1000.0).round().max(1.0) as u64))
}

fn start(s: &mut Server, call: &Call, pop: Pop, keys: Vec<Bytes>) {
    let Some(timeout) = timeout_ms(s, call.id, &call.args[call.args.len() - 1]) else {
        return;
    };
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    match attempt(s, call.id, db, &pop, &keys) {
        Attempt::Served | Attempt::Failed => {}
        // Inside MULTI (or a replayed stream) nothing can arrive meanwhile: the timeout reply.
        Attempt::Empty if s.in_transaction(call.id) => {
            s.reply(call.id).raw(pop.timeout_reply());
        }
        Attempt::Empty => {
            let deadline = timeout.map(|ms| call.now.mono_ms + ms);
            let name = s.command(&call.args[0]).map_or("blpop", |c| c.name);
            s.block_on_keys(call.id, db, keys, pop, deadline, name);
        }
    }
}

/// Tries the pop for client `id` now: replies and propagates when something was there.
pub fn attempt(s: &mut Server, id: ConnId, db: usize, pop: &Pop, keys: &[Bytes]) -> Attempt {
    if let Pop::Stream(wait) = pop {
        return super::streams::read::resume(s, id, wait);
    }
    let now_ms = s.last_now_ms();
    let mode = s.ks.mode;
    for key in keys {
        let Some(e) = s.ks.dbs[db].get(key, now_ms, mode) else {
            continue;
        };
        let fits = matches!(
            (&e.value, pop),
            (Value::List(_), Pop::List(_) | Pop::Move { .. }) | (Value::ZSet(_), Pop::Zset { .. })
        );
        if !fits {
            s.reply(id).error(WRONGTYPE);
            return Attempt::Failed;
        }
        return match pop {
            Pop::List(end) => pop_list(s, id, db, key, *end),
            Pop::Move { .. } => move_list(s, id, db, key, pop),
            Pop::Zset { max } => pop_zset(s, id, db, key, *max),
            Pop::Stream(_) => Attempt::Empty,
        };
    }
    Attempt::Empty
}

fn take_end(v: &mut Value, end: End) -> Option<Bytes> {
    let Value::List(l) = v else { return None };
    match end {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    }
}

fn word(w: &'static str) -> Bytes {
    Bytes::from_static(w.as_bytes())
}

fn end_word(end: End) -> Bytes {
    match end {
        End::Left => word("LEFT"),
        End::Right => word("RIGHT"),
    }
}

fn pop_list(s: &mut Server, id: ConnId, db: usize, key: &Bytes, end: End) -> Attempt {
    let (now_ms, mode) = (s.last_now_ms(), s.ks.mode);
    let Some(e) = s.ks.dbs[db].get_mut(key, now_ms, mode) else {
        return Attempt::Empty;
    };
    let Some(item) = take_end(&mut e.value, end) else {
        return Attempt::Empty;
    };
    s.ks.dbs[db].remove_if_empty(key);
    let cmd = if end == End::Left { "LPOP" } else { "RPOP" };
    s.popped(db, vec![word(cmd), key.clone()], &[key]);
    let mut out = s.reply(id);
    out.array(2);
    out.bulk(key);
    out.bulk(&item);
    Attempt::Served
}

fn move_list(s: &mut Server, id: ConnId, db: usize, key: &Bytes, pop: &Pop) -> Attempt {
    let Pop::Move {
        from,
        to,
        dest,
        rpoplpush,
    } = pop
    else {
        return Attempt::Empty;
    };
    let (now_ms, mode) = (s.last_now_ms(), s.ks.mode);
    let dest_ok = s.ks.dbs[db]
        .get(dest, now_ms, mode)
        .is_none_or(|e| matches!(e.value, Value::List(_)));
    if !dest_ok {
        s.reply(id).error(WRONGTYPE);
        return Attempt::Failed;
    }
    let Some(e) = s.ks.dbs[db].get_mut(key, now_ms, mode) else {
        return Attempt::Empty;
    };
    let Some(item) = take_end(&mut e.value, *from) else {
        return Attempt::Empty;
    };
    s.ks.dbs[db].remove_if_empty(key);
    let target =
        s.ks.dbs[db].get_or_insert_with(dest, now_ms, mode, || Value::List(Default::default()));
    if let Value::List(l) = &mut target.value {
        match to {
            End::Left => l.push_front(item.clone()),
            End::Right => l.push_back(item.clone()),
        }
    }
    let cmd = match rpoplpush {
        true => vec![word("RPOPLPUSH"), key.clone(), dest.clone()],
        false => vec![
            word("LMOVE"),
            key.clone(),
            dest.clone(),
            end_word(*from),
            end_word(*to),
        ],
    };
    s.popped(db, cmd, &[key, dest]);
    s.reply(id).bulk(&item);
    Attempt::Served
}

fn pop_zset(s: &mut Server, id: ConnId, db: usize, key: &Bytes, max: bool) -> Attempt {
    let (now_ms, mode) = (s.last_now_ms(), s.ks.mode);
    let Some(e) = s.ks.dbs[db].get_mut(key, now_ms, mode) else {
        return Attempt::Empty;
    };
    let Value::ZSet(z) = &mut e.value else {
        return Attempt::Empty;
    };
    let Some((member, score)) = z.pop_edge(max) else {
        return Attempt::Empty;
    };
    s.ks.dbs[db].remove_if_empty(key);
    let cmd = if max { "ZPOPMAX" } else { "ZPOPMIN" };
    s.popped(db, vec![word(cmd), key.clone()], &[key]);
    let mut out = s.reply(id);
    out.array(3);
    out.bulk(key);
    out.bulk(&member);
    out.bulk(fmt_double(score).as_bytes());
    Attempt::Served
}

#[cfg(test)]
mod tests {
    use crate::core::testing::{arr, bulk, TestServer};
    use crate::resp::{encode_command, Frame};

    #[test]
    fn blpop_waits_for_a_push_and_returns_key_and_element() {
        let mut t = TestServer::new();
        t.connect(2);
        t.send_raw(2, &encode_command(&["BLPOP", "q", "0"]));
        assert_eq!(t.reply(2), None);
        t.cmd(&["RPUSH", "q", "job"]);
        assert_eq!(t.reply(2), Some(arr(&["q", "job"])));
        assert_eq!(t.cmd(&["EXISTS", "q"]), Frame::Int(0));
    }

    #[test]
    fn a_blocked_pop_times_out_with_a_null_reply() {
        let mut t = TestServer::new();
        t.connect(2);
        t.send_raw(2, &encode_command(&["BZPOPMIN", "z", "0.5"]));
        t.advance_ms(400);
        assert_eq!(t.reply(2), None);
        t.advance_ms(200);
        assert_eq!(t.reply(2), Some(Frame::NullArray));
    }

    #[test]
    fn brpoplpush_moves_at_once_when_the_list_has_elements() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "src", "a", "b"]);
        assert_eq!(t.cmd(&["BRPOPLPUSH", "src", "dst", "1"]), bulk("b"));
        assert_eq!(t.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["b"]));
        assert_eq!(
            t.cmd(&["BLPOP", "src", "-1"]),
            crate::core::testing::err("ERR timeout is negative")
        );
    }
}
