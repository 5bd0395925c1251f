//! String commands: GET/SET and their variants (SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX) and
//! MGET/MSET/MSETNX here; the counters and byte-level edits (INCR..., APPEND, GETRANGE, SETRANGE)
//! in `edit`; LCS in `lcs`.
//!
//! Read commands look keys up through `Cx::read` (counting keyspace hits and misses), write commands
//! through `keys::peek` (not counted), as Redis does. Where the effect differs from the call
//! (relative expiry, GETSET, GETDEL, GETEX, INCRBYFLOAT) `cx.propagate` carries the effect.

mod edit;
pub(crate) use edit::rewrite_string;
mod lcs;
mod long_double;
#[cfg(test)]
mod tests;

use super::keys::{already_expired, peek, propagate_as, word};
use super::{data, flags::*, int_arg, is, CommandSpec, Cx};
use crate::db::{notify, CompactBytes, Entry, Value};
use crate::resp::Out;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("get", 2, READONLY | FAST, (1, 1, 1), get),
    data("set", -3, WRITE | DENYOOM, (1, 1, 1), set),
    data("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), setnx),
    data("setex", 4, WRITE | DENYOOM, (1, 1, 1), setex),
    data("psetex", 4, WRITE | DENYOOM, (1, 1, 1), psetex),
    data("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), getset),
    data("getdel", 2, WRITE | FAST, (1, 1, 1), getdel),
    data("getex", -2, WRITE | FAST, (1, 1, 1), getex),
    data("mget", -2, READONLY | FAST, (1, -1, 1), mget),
    data("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset),
    data("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx),
    data("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), edit::incr),
    data("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), edit::decr),
    data("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), edit::incrby),
    data("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), edit::decrby),
    data(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        edit::incrbyfloat,
    ),
    data("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), edit::append),
    data("strlen", 2, READONLY | FAST, (1, 1, 1), edit::strlen),
    data("getrange", 4, READONLY, (1, 1, 1), edit::getrange),
    data("substr", 4, READONLY, (1, 1, 1), edit::getrange),
    data("setrange", 4, WRITE | DENYOOM, (1, 1, 1), edit::setrange),
    data("lcs", -3, READONLY, (1, 2, 1), lcs::lcs),
];

/// An error reply (WRONGTYPE, syntax, ...) has already been written.
struct Replied;

/// The string value of a looked-up entry; `Err` for another type.
fn as_string(entry: Option<&Entry>) -> Result<Option<Bytes>, Replied> {
    match entry.map(|e| &e.value) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_bytes())),
        Some(_) => Err(Replied),
    }
}

/// Passes a lookup result through, replying WRONGTYPE if it found another type.
fn reply_wrongtype_on_err<T>(cx: &mut Cx, r: Result<T, Replied>) -> Result<T, Replied> {
    if r.is_err() {
        cx.wrongtype();
    }
    r
}

/// Looks up a string and hands it, borrowed, to `f` with the client's output, so the value is
/// not copied: `counted` for a read command (keyspace hits/misses), else a write's lookup.
/// Replies WRONGTYPE for another type.
fn with_string<T>(
    cx: &mut Cx,
    key: &[u8],
    counted: bool,
    f: impl FnOnce(&mut Out, Option<&[u8]>) -> T,
) -> Result<T, Replied> {
    if counted {
        cx.count_read(key);
    } else {
        peek(cx, key);
    }
    let (now, mode) = (cx.now.unix_ms, cx.ks.mode);
    match cx.ks.dbs[cx.db_index]
        .peek(key, now, mode)
        .map(|e| &e.value)
    {
        None => Ok(f(&mut cx.out, None)),
        Some(Value::Str(s)) => Ok(f(&mut cx.out, Some(s))),
        Some(_) => {
            cx.wrongtype();
            Err(Replied)
        }
    }
}

/// Looks up a string for a read command (counted in keyspace hits/misses).
fn read_string(cx: &mut Cx, key: &[u8]) -> Result<Option<Bytes>, Replied> {
    let r = as_string(cx.read(key));
    reply_wrongtype_on_err(cx, r)
}

/// Looks up a string for a write command (not counted).
fn peek_string(cx: &mut Cx, key: &[u8]) -> Result<Option<Bytes>, Replied> {
    let r = as_string(peek(cx, key));
    reply_wrongtype_on_err(cx, r)
}

fn number(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

// ---- SET and GETEX options -----------------------------------------------------------------

/// The four ways to give an expiry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireKind {
    fn parse(arg: &[u8]) -> Option<Self> {
        [
            ("ex", Self::Ex),
            ("px", Self::Px),
            ("exat", Self::ExAt),
            ("pxat", Self::PxAt),
        ]
        .into_iter()
        .find(|(w, _)| is(arg, w))
        .map(|(_, k)| k)
    }
    fn in_seconds(self) -> bool {
        matches!(self, Self::Ex | Self::ExAt)
    }
    fn relative(self) -> bool {
        matches!(self, Self::Ex | Self::Px)
    }
}

/// Options of SET (NX, XX, GET, KEEPTTL, EX...) or GETEX (PERSIST, EX...).
#[derive(Default)]
struct StringOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireKind, &'a Bytes)>,
}

/// Parses options from `args[start..]`; `None` means Redis' syntax error (unknown word, missing
/// value, or a combination Redis refuses such as NX with XX or EX with PX).
fn parse_opts(args: &[Bytes], start: usize, for_set: bool) -> Option<StringOpts<'_>> {
    let mut o = StringOpts::default();
    let mut i = start;
    while i < args.len() {
        let a = &args[i];
        if for_set && is(a, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && is(a, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && is(a, "get") {
            o.get = true;
        } else if for_set && is(a, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !for_set && is(a, "persist") && o.expire.is_none() {
            o.persist = true;
        } else {
            let kind = ExpireKind::parse(a)?;
            let value = args.get(i + 1)?;
            let clash = o.keepttl || o.persist || o.expire.is_some_and(|(k, _)| k != kind);
            if clash {
                return None;
            }
            o.expire = Some((kind, value));
            i += 1;
        }
        i += 1;
    }
    Some(o)
}

/// The absolute expiry time (ms) an EX/PX/EXAT/PXAT argument asks for, or Redis' error.
fn resolve_expire(cx: &mut Cx, kind: ExpireKind, arg: &[u8], cmd: &str) -> Result<i64, Replied> {
    let v = int_arg(&mut cx.out, arg).ok_or(Replied)?;
    let now = cx.now_ms() as i64;
    let ms = Some(v)
        .filter(|&v| v > 0)
        .and_then(|v| match kind.in_seconds() {
            true => v.checked_mul(1000),
            false => Some(v),
        })
        .and_then(|v| match kind.relative() {
            true => v.checked_add(now),
            false => Some(v),
        });
    ms.ok_or_else(|| {
        cx.out
            .error(&format!("ERR invalid expire time in '{cmd}' command"));
        Replied
    })
}

// ---- GET / SET family ----------------------------------------------------------------------

fn get(cx: &mut Cx, args: &[Bytes]) {
    let _ = with_string(cx, &args[1], true, |out, v| out.bulk_opt(v));
}

/// How a SET-like command answers when it sets, and when NX/XX stops it.
#[derive(Clone, Copy)]
enum SetReply {
    /// `+OK` / nil (SET, SETEX, PSETEX).
    Ok,
    /// `:1` / `:0` (SETNX).
    Flag,
}

/// The shared body of SET, SETNX, SETEX and PSETEX.
fn set_generic(
    cx: &mut Cx,
    args: &[Bytes],
    (key, val): (&Bytes, &Bytes),
    o: &StringOpts,
    cmd: &str,
    style: SetReply,
) {
    let expire = match o.expire {
        Some((kind, arg)) => match resolve_expire(cx, kind, arg, cmd) {
            Ok(ms) => Some((kind, ms)),
            Err(Replied) => return,
        },
        None => None,
    };
    if o.get {
        match read_string(cx, key) {
            Ok(old) => cx.out.bulk_opt(old.as_deref()),
            Err(Replied) => return,
        }
    }
    let existing = peek(cx, key).map(|e| e.expire_at_ms);
    if (o.nx && existing.is_some()) || (o.xx && existing.is_none()) {
        match (o.get, style) {
            (true, _) => {}
            (false, SetReply::Ok) => cx.out.null(),
            (false, SetReply::Flag) => cx.out.int(0),
        }
        return;
    }
    let ttl = match expire {
        Some((_, ms)) => Some(ms as u64),
        None if o.keepttl => existing.flatten(),
        None => None,
    };
    cx.db()
        .insert(key.clone(), Value::Str(CompactBytes::new(val)), ttl);
    cx.dirty += 1;
    cx.notify(notify::STRING, "set", key);
    if expire.is_some() {
        cx.notify(notify::GENERIC, "expire", key);
    }
    match (o.get, style) {
        (true, _) => {}
        (false, SetReply::Ok) => cx.out.ok(),
        (false, SetReply::Flag) => cx.out.int(1),
    }
    match expire {
        Some((kind, ms)) if kind != ExpireKind::PxAt => {
            let effect = vec![
                word("SET"),
                key.clone(),
                val.clone(),
                word("PXAT"),
                number(ms),
            ];
            propagate_as(cx, effect);
        }
        None if o.get => {
            let without_get = args
                .iter()
                .enumerate()
                .filter(|(i, a)| *i < 3 || !is(a, "get"))
                .map(|(_, a)| a.clone())
                .collect();
            propagate_as(cx, without_get);
        }
        _ => {}
    }
}

fn set(cx: &mut Cx, args: &[Bytes]) {
    let Some(o) = parse_opts(args, 3, true) else {
        return cx.syntax_error();
    };
    set_generic(cx, args, (&args[1], &args[2]), &o, "set", SetReply::Ok);
}

fn setnx(cx: &mut Cx, args: &[Bytes]) {
    let o = StringOpts {
        nx: true,
        ..Default::default()
    };
    set_generic(cx, args, (&args[1], &args[2]), &o, "setnx", SetReply::Flag);
}

/// SETEX and PSETEX: `key ttl value`.
fn set_with_ttl(cx: &mut Cx, args: &[Bytes], kind: ExpireKind, cmd: &str) {
    let o = StringOpts {
        expire: Some((kind, &args[2])),
        ..Default::default()
    };
    set_generic(cx, args, (&args[1], &args[3]), &o, cmd, SetReply::Ok);
}

fn setex(cx: &mut Cx, args: &[Bytes]) {
    set_with_ttl(cx, args, ExpireKind::Ex, "setex");
}

fn psetex(cx: &mut Cx, args: &[Bytes]) {
    set_with_ttl(cx, args, ExpireKind::Px, "psetex");
}

fn getset(cx: &mut Cx, args: &[Bytes]) {
    let (key, val) = (&args[1], &args[2]);
    let Ok(old) = read_string(cx, key) else {
        return;
    };
    cx.out.bulk_opt(old.as_deref());
    cx.db()
        .insert(key.clone(), Value::Str(CompactBytes::new(val)), None);
    cx.dirty += 1;
    propagate_as(cx, vec![word("SET"), key.clone(), val.clone()]);
}

fn getdel(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    let Ok(old) = read_string(cx, key) else {
        return;
    };
    cx.out.bulk_opt(old.as_deref());
    if old.is_some() {
        let (now, mode) = (cx.now_ms(), cx.mode());
        cx.db().remove(key, now, mode);
        cx.dirty += 1;
        propagate_as(cx, vec![word("DEL"), key.clone()]);
    }
}

fn getex(cx: &mut Cx, args: &[Bytes]) {
    let Some(o) = parse_opts(args, 2, false) else {
        return cx.syntax_error();
    };
    let key = &args[1];
    let val = match read_string(cx, key) {
        Ok(Some(v)) => v,
        Ok(None) => return cx.out.null(),
        Err(Replied) => return,
    };
    let expire = match o.expire {
        Some((kind, arg)) => match resolve_expire(cx, kind, arg, "getex") {
            Ok(ms) => Some((kind, ms)),
            Err(Replied) => return,
        },
        None => None,
    };
    cx.out.bulk(&val);
    let (now, mode) = (cx.now_ms(), cx.mode());
    match expire {
        Some((kind, ms)) if !kind.relative() && already_expired(cx, ms) => {
            cx.db().remove(key, now, mode);
            propagate_as(cx, vec![word("DEL"), key.clone()]);
        }
        Some((_, ms)) => {
            cx.db().set_expire(key, Some(ms as u64), now, mode);
            cx.notify(notify::GENERIC, "expire", key);
            propagate_as(cx, vec![word("PEXPIREAT"), key.clone(), number(ms)]);
        }
        None if o.persist && peek(cx, key).is_some_and(|e| e.expire_at_ms.is_some()) => {
            cx.db().set_expire(key, None, now, mode);
            cx.notify(notify::GENERIC, "persist", key);
            propagate_as(cx, vec![word("PERSIST"), key.clone()]);
        }
        None => return,
    }
    cx.dirty += 1;
}

// ---- multi-key -----------------------------------------------------------------------------

fn mget(cx: &mut Cx, args: &[Bytes]) {
    cx.out.array(args.len() - 1);
    for key in &args[1..] {
        let v = as_string(cx.read(key)).ok().flatten();
        cx.out.bulk_opt(v.as_deref());
    }
}

/// MSET and MSETNX: set every pair (with no TTL); MSETNX sets nothing if any key exists.
fn mset_generic(cx: &mut Cx, args: &[Bytes], nx: bool) {
    if args.len().is_multiple_of(2) {
        let name = if nx { "msetnx" } else { "mset" };
        return cx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    if nx && args[1..].iter().step_by(2).any(|k| peek(cx, k).is_some()) {
        return cx.out.int(0);
    }
    for pair in args[1..].chunks_exact(2) {
        cx.db().insert(
            pair[0].clone(),
            Value::Str(CompactBytes::new(&pair[1])),
            None,
        );
    }
    cx.dirty += (args.len() / 2) as u64;
    if nx {
        cx.out.int(1);
    } else {
        cx.out.ok();
    }
}

fn mset(cx: &mut Cx, args: &[Bytes]) {
    mset_generic(cx, args, false);
}

fn msetnx(cx: &mut Cx, args: &[Bytes]) {
    mset_generic(cx, args, true);
}
