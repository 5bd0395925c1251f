//! DUMP and RESTORE: a key's value as a self-checking payload (see `rdb::dump_payload`) and back;
//! MIGRATE, which sends keys' payloads to another instance as RESTOREs (`core::migrate` runs the
//! connection).
//!
//! RESTORE replicates with its time to live made absolute (`... <unix ms> ... ABSTTL`), so that
//! replicas and the AOF give the key the same deadline; a deadline already past stores nothing
//! and, when REPLACE removed a key, replicates that as DEL (UNLINK under
//! lazyfree-lazy-server-del), as Redis 7.2 does.

use super::keys::{already_expired, peek, propagate_as, word};
use super::{data, flags::*, int_arg, is, object, server, Call, CommandSpec, Cx};
use crate::core::migrate::MigrateRequest;
use crate::core::Server;
use crate::db::notify;
use crate::rdb::{dump_payload, read_dump_payload, PayloadError};
use crate::resp::parse_i64;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("dump", 2, READONLY, (1, 1, 1), dump),
    data("restore", -4, WRITE | DENYOOM, (1, 1, 1), restore),
    server("migrate", -6, WRITE, (3, 3, 1), migrate).movable(migrate_keys),
];

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";

/// DUMP key: the payload of the key's value, nil if there is no such key.
fn dump(cx: &mut Cx, args: &[Bytes]) {
    let limits = object::limits(cx.config);
    let compress = cx.config.rdbcompression;
    let Some(e) = cx.read(&args[1]) else {
        return cx.out.null();
    };
    let payload = dump_payload(e, &limits, compress);
    cx.out.bulk(&payload);
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idle_secs: Option<i64>,
    freq: Option<u8>,
}

/// Parses the options in Redis' order of checks; `None` means the error reply was written.
/// IDLETIME and FREQ exclude each other (the second is a syntax error).
fn restore_options(cx: &mut Cx, args: &[Bytes]) -> Option<RestoreOptions> {
    let mut o = RestoreOptions::default();
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "replace") {
            o.replace = true;
        } else if is(&args[i], "absttl") {
            o.absttl = true;
        } else if is(&args[i], "idletime") && has_value && o.freq.is_none() {
            let idle = int_arg(&mut cx.out, &args[i + 1])?;
            if idle < 0 {
                cx.out.error("ERR Invalid IDLETIME value, must be >= 0");
                return None;
            }
            o.idle_secs = Some(idle);
            i += 1;
        } else if is(&args[i], "freq") && has_value && o.idle_secs.is_none() {
            let freq = int_arg(&mut cx.out, &args[i + 1])?;
            let Ok(freq) = u8::try_from(freq) else {
                cx.out
                    .error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                return None;
            };
            o.freq = Some(freq);
            i += 1;
        } else {
            cx.syntax_error();
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]: creates the key from a
/// DUMP payload, with a time to live in ms (0: none; with ABSTTL a unix time in ms).
fn restore(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    let Some(o) = restore_options(cx, &args[4..]) else {
        return;
    };
    if !o.replace && peek(cx, key).is_some() {
        return cx.out.error(BUSYKEY);
    }
    let Some(ttl) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    if ttl < 0 {
        return cx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let value = match read_dump_payload(&args[3]) {
        Ok(v) => v,
        Err(PayloadError::Footer) => {
            return cx
                .out
                .error("ERR DUMP payload version or checksum are wrong")
        }
        Err(PayloadError::BadData) => return cx.out.error("ERR Bad data format"),
    };
    let (now, mode) = (cx.now_ms(), cx.mode());
    let deleted = o.replace && cx.db().remove(key, now, mode).is_some();
    let at = match (ttl, o.absttl) {
        (0, _) => None,
        (t, true) => Some(t),
        (t, false) => Some(t.saturating_add(now as i64)),
    };
    if at.is_some_and(|at| already_expired(cx, at)) {
        if deleted {
            let lazy = cx
                .config
                .noop
                .get("lazyfree-lazy-server-del")
                .is_some_and(|v| v == "yes");
            propagate_as(
                cx,
                vec![word(if lazy { "UNLINK" } else { "DEL" }), key.clone()],
            );
            cx.notify(notify::GENERIC, "del", key);
            cx.dirty += 1;
        }
        return cx.out.ok();
    }
    let at = at.map(|t| t.max(0) as u64);
    cx.db().insert(key.clone(), value, at);
    if let (Some(at), false) = (at, o.absttl) {
        let mut absolute = args.to_vec();
        absolute[2] = Bytes::from(at.to_string());
        absolute.push(word("ABSTTL"));
        propagate_as(cx, absolute);
    }
    set_clock(cx, key, &o);
    cx.notify(notify::GENERIC, "restore", key);
    cx.dirty += 1;
    cx.out.ok();
}

/// IDLETIME sets the access time when the policy is not LFU, FREQ the counter when it is.
fn set_clock(cx: &mut Cx, key: &[u8], o: &RestoreOptions) {
    let now = cx.now_ms();
    let db = cx.db();
    let lfu = db.access.lfu;
    let Some(e) = db.get_mut(key, now, crate::db::ExpiryMode::Keep) else {
        return;
    };
    match (lfu, o.freq, o.idle_secs) {
        (true, Some(freq), _) => {
            e.meta.lfu_count = freq;
            e.meta.lfu_min = Some(crate::db::unix_minute(now));
        }
        (false, _, Some(idle)) => {
            e.meta.access_ms = now.saturating_sub((idle as u64).saturating_mul(1000));
            e.meta.keep_access = true;
        }
        _ => {}
    }
}

/// MIGRATE's keys: the key argument, or with an empty one, everything after KEYS.
fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    let keys_at = args.iter().skip(6).position(|a| is(a, "keys"));
    match keys_at {
        Some(at) if args[3].is_empty() => (7 + at..args.len()).collect(),
        _ => vec![3],
    }
}

/// MIGRATE's options after the timeout.
#[derive(Default)]
struct MigrateOptions {
    copy: bool,
    replace: bool,
    auth: Option<Vec<Bytes>>,
    /// Where the keys start (3: the key argument alone).
    first_key: usize,
}

fn migrate_options(args: &[Bytes]) -> Result<MigrateOptions, &'static str> {
    let mut o = MigrateOptions {
        first_key: 3,
        ..Default::default()
    };
    let mut i = 6;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "copy") {
            o.copy = true;
        } else if is(&args[i], "replace") {
            o.replace = true;
        } else if is(&args[i], "auth") && more >= 1 {
            o.auth = Some(vec![args[i + 1].clone()]);
            i += 1;
        } else if is(&args[i], "auth2") && more >= 2 {
            o.auth = Some(args[i + 1..i + 3].to_vec());
            i += 2;
        } else if is(&args[i], "keys") {
            if !args[3].is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
            }
            o.first_key = i + 1;
            return Ok(o);
        } else {
            return Err("ERR syntax error");
        }
        i += 1;
    }
    Ok(o)
}

/// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k...]:
/// moves (or copies) the keys that exist to database `db` of the target; NOKEY if none does.
fn migrate(s: &mut Server, call: &Call) {
    let args = call.args;
    let o = match migrate_options(args) {
        Ok(o) => o,
        Err(e) => return s.reply(call.id).error(e),
    };
    let (Some(timeout), Some(db)) = (parse_i64(&args[5]), parse_i64(&args[4])) else {
        return s
            .reply(call.id)
            .error("ERR value is not an integer or out of range");
    };
    let Some(port) = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|p| p.parse().ok())
    else {
        return s
            .reply(call.id)
            .error("IOERR error or timeout connecting to the client");
    };
    let db_index = s.clients.get(&call.id).map_or(0, |c| c.db);
    let (now, mode) = (call.now.unix_ms, s.ks.mode);
    let (limits, compress) = (object::limits(&s.config), s.config.rdbcompression);
    let keys = if o.first_key == 3 {
        &args[3..4]
    } else {
        &args[o.first_key..]
    };
    let mut restores = Vec::new();
    for key in keys {
        let Some(e) = s.ks.dbs[db_index].get(key, now, mode) else {
            continue;
        };
        let ttl = e.expire_at_ms.map_or(0, |at| at.saturating_sub(now).max(1));
        let mut restore = vec![word("RESTORE"), key.clone(), Bytes::from(ttl.to_string())];
        restore.push(dump_payload(e, &limits, compress));
        if o.replace {
            restore.push(word("REPLACE"));
        }
        restores.push((key.clone(), restore));
    }
    s.drain_expired();
    if restores.is_empty() {
        return s.reply(call.id).simple("NOKEY");
    }
    let req = MigrateRequest {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port,
        db,
        timeout_ms: if timeout <= 0 { 1000 } else { timeout as u64 },
        auth: o.auth,
        restores,
        copy: o.copy,
    };
    s.migrate(call.now, call.id, req);
}
