//! DUMP and RESTORE: a key's value as a self-checking payload (see `rdb::dump_payload`) and back.
//!
//! RESTORE replicates with its time to live made absolute (`... <unix ms> ... ABSTTL`), so that
//! replicas and the AOF give the key the same deadline; a deadline already past stores nothing
//! and, when REPLACE removed a key, replicates that as DEL (UNLINK under
//! lazyfree-lazy-server-del), as Redis 7.2 does.

use super::keys::{already_expired, peek, propagate_as, word};
use super::{data, flags::*, int_arg, is, object, CommandSpec, Cx};
use crate::db::notify;
use crate::rdb::{dump_payload, read_dump_payload, PayloadError};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("dump", 2, READONLY, (1, 1, 1), dump),
    data("restore", -4, WRITE | DENYOOM, (1, 1, 1), restore),
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
            e.meta.lfu_min = Some(now / 60_000);
        }
        (false, _, Some(idle)) => {
            e.meta.access_ms = now.saturating_sub((idle as u64).saturating_mul(1000));
            e.meta.keep_access = true;
        }
        _ => {}
    }
}
