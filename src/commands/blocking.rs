//! Blocking pops: BLPOP, BRPOP, BLMPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX and BZMPOP.
//! Each tries at once;
//! with nothing to pop (and outside MULTI) the client blocks on its keys until a write makes
//! one of them non-empty, its timeout passes, or the server turns into a replica
//! (`core/blocking.rs` keeps the waiting clients). A served pop reaches replicas and the AOF as
//! its non-blocking form (LPOP, RPOPLPUSH, LMOVE, ZPOPMIN...), as Redis propagates it.

use super::lists::mpop_args;
use super::movable::numkeys_second;
use super::streams::read::StreamWait;
use super::{flags::*, is, server, Call, CommandSpec};
use crate::core::{ConnId, Server};
use crate::db::{Value, WRONGTYPE};
use crate::resp::Out;
use bytes::Bytes;

/// The blocking list commands (COMMAND DOCS group `list`).
pub const LIST_COMMANDS: &[CommandSpec] = &[
    server("blpop", -3, WRITE, (1, -2, 1), blpop),
    server("brpop", -3, WRITE, (1, -2, 1), brpop),
    server("brpoplpush", 4, WRITE | DENYOOM, (1, 2, 1), brpoplpush),
    server("blmove", 6, WRITE | DENYOOM, (1, 2, 1), blmove),
    server("blmpop", -5, WRITE, (0, 0, 0), blmpop).movable(numkeys_second),
];

/// The blocking sorted-set commands (group `sorted-set`).
pub const ZSET_COMMANDS: &[CommandSpec] = &[
    server("bzpopmin", -3, WRITE | FAST, (1, -2, 1), bzpopmin),
    server("bzpopmax", -3, WRITE | FAST, (1, -2, 1), bzpopmax),
    server("bzmpop", -5, WRITE, (0, 0, 0), bzmpop).movable(numkeys_second),
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
    /// BLPOP / BRPOP (`count` None: one element) or BLMPOP (up to `count`): from the first
    /// non-empty list of `keys`.
    List { end: End, count: Option<usize> },
    /// BLMOVE / BRPOPLPUSH: from `keys[0]` to `dest`; `rpoplpush` picks the propagated form.
    Move {
        from: End,
        to: End,
        dest: Bytes,
        rpoplpush: bool,
    },
    /// BZPOPMIN / BZPOPMAX (`count` None) or BZMPOP (up to `count`).
    Zset { max: bool, count: Option<usize> },
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
            Pop::List { .. } | Pop::Move { .. } => matches!(v, Some(Value::List(_))),
            Pop::Zset { .. } => matches!(v, Some(Value::ZSet(_))),
            Pop::Stream(w) => w.group || matches!(v, Some(Value::Stream(_))),
        }
    }

    /// True when serving one waiter may leave nothing for the next (pops consume).
    pub fn consumes(&self) -> bool {
        !matches!(self, Pop::Stream(_))
    }

    /// The reply a timed-out client gets (null array, or null bulk for the moves).
    pub fn timeout_reply(&self, out: &mut Out) {
        match self {
            Pop::Move { .. } => out.null(),
            _ => out.null_array(),
        }
    }
}

fn blpop(s: &mut Server, call: &Call) {
    let pop = Pop::List {
        end: End::Left,
        count: None,
    };
    start(s, call, pop, keys_before_timeout(call));
}

fn brpop(s: &mut Server, call: &Call) {
    let pop = Pop::List {
        end: End::Right,
        count: None,
    };
    start(s, call, pop, keys_before_timeout(call));
}

fn bzpopmin(s: &mut Server, call: &Call) {
    let pop = Pop::Zset {
        max: false,
        count: None,
    };
    start(s, call, pop, keys_before_timeout(call));
}

fn bzpopmax(s: &mut Server, call: &Call) {
    let pop = Pop::Zset {
        max: true,
        count: None,
    };
    start(s, call, pop, keys_before_timeout(call));
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn blmpop(s: &mut Server, call: &Call) {
    let pop = |right, count| Pop::List {
        end: if right { End::Right } else { End::Left },
        count: Some(count),
    };
    start_mpop(s, call, ["left", "right"], pop);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
fn bzmpop(s: &mut Server, call: &Call) {
    let pop = |max, count| Pop::Zset {
        max,
        count: Some(count),
    };
    start_mpop(s, call, ["min", "max"], pop);
}

/// The multi-key pops: the timeout first (as Redis checks it), then LMPOP's/ZMPOP's arguments.
fn start_mpop(s: &mut Server, call: &Call, sides: [&str; 2], pop: fn(bool, usize) -> Pop) {
    if timeout_ms(s, call.id, &call.args[1]).is_none() {
        return;
    }
    let Some((keys, second, count)) = mpop_args(&mut s.reply(call.id), &call.args[1..], sides)
    else {
        return;
    };
    let keys = keys.to_vec();
    start_at(s, call, pop(second, count), keys, &call.args[1]);
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
    start_at(s, call, pop, keys, &call.args[call.args.len() - 1]);
}

/// Pops at once or blocks; `timeout` is the call's timeout argument.
fn start_at(s: &mut Server, call: &Call, pop: Pop, keys: Vec<Bytes>, timeout: &[u8]) {
    let Some(timeout) = timeout_ms(s, call.id, timeout) else {
        return;
    };
    let db = s.clients.get(&call.id).map_or(0, |c| c.db);
    match attempt(s, call.id, db, &pop, &keys, false) {
        Attempt::Served | Attempt::Failed => {}
        // Inside MULTI (or a replayed stream) nothing can arrive meanwhile: the timeout reply.
        Attempt::Empty if s.in_transaction(call.id) => {
            pop.timeout_reply(&mut s.reply(call.id));
        }
        Attempt::Empty => {
            let deadline = timeout.map(|ms| call.now.mono_ms + ms);
            let name = s.command(&call.args[0]).map_or("blpop", |c| c.name);
            s.block_on_keys(call.id, db, keys, pop, deadline, name);
        }
    }
}

/// Tries the pop for client `id` now: replies and propagates when something was there. A key of
/// the wrong type is an error for the call itself, but a client already `serving` keeps waiting
/// (the key may hold the right type again later), as in Redis.
pub fn attempt(
    s: &mut Server,
    id: ConnId,
    db: usize,
    pop: &Pop,
    keys: &[Bytes],
    serving: bool,
) -> Attempt {
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
            (Value::List(_), Pop::List { .. } | Pop::Move { .. })
                | (Value::ZSet(_), Pop::Zset { .. })
        );
        if !fits && serving {
            return Attempt::Empty;
        }
        if !fits {
            s.reply(id).error(WRONGTYPE);
            return Attempt::Failed;
        }
        return match pop {
            Pop::List { end, count } => pop_list(s, id, db, key, *end, *count),
            Pop::Move { .. } => move_list(s, id, db, key, pop),
            Pop::Zset { max, count } => pop_zset(s, id, db, key, *max, *count),
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

/// The propagated pop: `NAME key`, or `NAME key n` for the multi-key forms.
fn pop_command(name: &'static str, key: &Bytes, count: Option<usize>, n: usize) -> Vec<Bytes> {
    let mut cmd = vec![word(name), key.clone()];
    if count.is_some() {
        cmd.push(Bytes::from(n.to_string()));
    }
    cmd
}

fn pop_list(
    s: &mut Server,
    id: ConnId,
    db: usize,
    key: &Bytes,
    end: End,
    count: Option<usize>,
) -> Attempt {
    let (now_ms, mode) = (s.last_now_ms(), s.ks.mode);
    let Some(e) = s.ks.dbs[db].get_mut(key, now_ms, mode) else {
        return Attempt::Empty;
    };
    let items: Vec<Bytes> = (0..count.unwrap_or(1))
        .map_while(|_| take_end(&mut e.value, end))
        .collect();
    if items.is_empty() {
        return Attempt::Empty;
    }
    s.ks.dbs[db].remove_if_empty(key);
    let name = if end == End::Left { "LPOP" } else { "RPOP" };
    s.popped(db, pop_command(name, key, count, items.len()), &[key]);
    let mut out = s.reply(id);
    out.array(2);
    out.bulk(key);
    match count {
        None => out.bulk(&items[0]),
        Some(_) => out.bulks(items.iter()),
    }
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

fn pop_zset(
    s: &mut Server,
    id: ConnId,
    db: usize,
    key: &Bytes,
    max: bool,
    count: Option<usize>,
) -> Attempt {
    let (now_ms, mode) = (s.last_now_ms(), s.ks.mode);
    let Some(e) = s.ks.dbs[db].get_mut(key, now_ms, mode) else {
        return Attempt::Empty;
    };
    let Value::ZSet(z) = &mut e.value else {
        return Attempt::Empty;
    };
    let popped: Vec<(Bytes, f64)> = (0..count.unwrap_or(1))
        .map_while(|_| z.pop_edge(max))
        .collect();
    if popped.is_empty() {
        return Attempt::Empty;
    }
    s.ks.dbs[db].remove_if_empty(key);
    let name = if max { "ZPOPMAX" } else { "ZPOPMIN" };
    s.popped(db, pop_command(name, key, count, popped.len()), &[key]);
    let mut out = s.reply(id);
    if count.is_none() {
        let (member, score) = &popped[0];
        out.array(3);
        out.bulk(key);
        out.bulk(member);
        out.double(*score);
        return Attempt::Served;
    }
    out.array(2);
    out.bulk(key);
    out.array(popped.len());
    for (member, score) in &popped {
        out.array(2);
        out.bulk(member);
        out.double(*score);
    }
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

    #[test]
    fn bzmpop_serves_keys_in_the_order_they_became_ready_with_up_to_count_members() {
        let mut t = TestServer::new();
        t.connect(2);
        t.send_raw(
            2,
            &encode_command(&["BZMPOP", "0", "2", "z{t}", "z2{t}", "MIN", "COUNT", "5"]),
        );
        assert_eq!(t.reply(2), None);
        t.cmd(&["MULTI"]);
        t.cmd(&["ZADD", "z{t}", "1", "a", "2", "b"]);
        t.cmd(&["ZADD", "z2{t}", "3", "c"]);
        t.cmd(&["EXEC"]);
        let pair = |m: &str, s: &str| arr(&[m, s]);
        let expected = Frame::Array(vec![
            bulk("z{t}"),
            Frame::Array(vec![pair("a", "1"), pair("b", "2")]),
        ]);
        assert_eq!(t.reply(2), Some(expected));
    }

    #[test]
    fn a_blocked_blmpop_is_not_woken_by_a_key_turned_into_another_type() {
        let mut t = TestServer::new();
        t.connect(2);
        t.send_raw(2, &encode_command(&["BLMPOP", "0", "1", "l", "LEFT"]));
        t.cmd(&["MULTI"]);
        t.cmd(&["RPUSH", "l", "x"]);
        t.cmd(&["DEL", "l"]);
        t.cmd(&["SET", "l", "s"]);
        t.cmd(&["EXEC"]);
        assert_eq!(t.reply(2), None);
        t.cmd(&["DEL", "l"]);
        t.cmd(&["RPUSH", "l", "y", "z"]);
        let expected = Frame::Array(vec![bulk("l"), arr(&["y"])]);
        assert_eq!(t.reply(2), Some(expected));
        assert_eq!(
            t.cmd(&["BLMPOP", "0", "1", "l", "UP"]),
            crate::core::testing::err("ERR syntax error")
        );
    }
}
