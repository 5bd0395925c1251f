//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX/XX/GT/LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME and PERSIST. Times are absolute unix milliseconds (`Cx::now_ms`).
//!
//! Every successful EXPIRE variant propagates as PEXPIREAT with the absolute time, or as DEL when
//! the time is already past (a master deletes the key at once).

use super::{already_expired, peek, propagate_as, remove, word};
use crate::commands::{int_arg, is, Cx};
use bytes::Bytes;

/// The NX/XX/GT/LT conditions of the EXPIRE family.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    /// Parses `args[3..]`, replying Redis' error for an unknown word or a bad combination.
    fn parse(cx: &mut Cx, args: &[Bytes]) -> Option<Self> {
        let mut c = Conditions::default();
        for a in &args[3..] {
            let flag = if is(a, "nx") {
                &mut c.nx
            } else if is(a, "xx") {
                &mut c.xx
            } else if is(a, "gt") {
                &mut c.gt
            } else if is(a, "lt") {
                &mut c.lt
            } else {
                let msg = format!("ERR Unsupported option {}", String::from_utf8_lossy(a));
                cx.out.error(&msg);
                return None;
            };
            *flag = true;
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            cx.out
                .error("ERR NX and XX, GT or LT options at the same time are not compatible");
            return None;
        }
        if c.gt && c.lt {
            cx.out
                .error("ERR GT and LT options at the same time are not compatible");
            return None;
        }
        Some(c)
    }

    /// Whether a key whose expiry is `current` may get `when`; no expiry counts as infinite.
    fn allow(&self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !self.xx && !self.gt,
            Some(cur) => !(self.nx || (self.gt && when <= cur) || (self.lt && when >= cur)),
        }
    }
}

/// How an EXPIRE variant reads its time argument.
struct Variant {
    name: &'static str,
    seconds: bool,
    relative: bool,
}

fn expire_generic(cx: &mut Cx, args: &[Bytes], v: Variant) {
    let Some(cond) = Conditions::parse(cx, args) else {
        return;
    };
    let Some(n) = int_arg(&mut cx.out, &args[2]) else {
        return;
    };
    let base = if v.relative { cx.now_ms() as i64 } else { 0 };
    let when = Some(n)
        .and_then(|n| {
            if v.seconds {
                n.checked_mul(1000)
            } else {
                Some(n)
            }
        })
        .and_then(|n| n.checked_add(base));
    let Some(when) = when else {
        let msg = format!("ERR invalid expire time in '{}' command", v.name);
        return cx.out.error(&msg);
    };
    let key = &args[1];
    let Some(current) = peek(cx, key).map(|e| e.expire_at_ms.map(|t| t as i64)) else {
        return cx.out.int(0);
    };
    if !cond.allow(current, when) {
        return cx.out.int(0);
    }
    if already_expired(cx, when) {
        remove(cx, key);
        propagate_as(cx, vec![word("DEL"), key.clone()]);
    } else {
        let (now, mode) = (cx.now_ms(), cx.mode());
        cx.db().set_expire(key, Some(when.max(0) as u64), now, mode);
        if v.name != "pexpireat" {
            let mut effect = args.to_vec();
            effect[0] = word("PEXPIREAT");
            effect[2] = Bytes::from(when.to_string());
            propagate_as(cx, effect);
        }
    }
    cx.dirty += 1;
    cx.out.int(1);
}

pub(super) fn expire(cx: &mut Cx, args: &[Bytes]) {
    let v = Variant {
        name: "expire",
        seconds: true,
        relative: true,
    };
    expire_generic(cx, args, v);
}

pub(super) fn pexpire(cx: &mut Cx, args: &[Bytes]) {
    let v = Variant {
        name: "pexpire",
        seconds: false,
        relative: true,
    };
    expire_generic(cx, args, v);
}

pub(super) fn expireat(cx: &mut Cx, args: &[Bytes]) {
    let v = Variant {
        name: "expireat",
        seconds: true,
        relative: false,
    };
    expire_generic(cx, args, v);
}

pub(super) fn pexpireat(cx: &mut Cx, args: &[Bytes]) {
    let v = Variant {
        name: "pexpireat",
        seconds: false,
        relative: false,
    };
    expire_generic(cx, args, v);
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for no expiry; seconds are
/// rounded to the nearest.
fn ttl_generic(cx: &mut Cx, key: &[u8], ms: bool, absolute: bool) {
    let now = cx.now_ms() as i64;
    let Some(entry) = cx.read(key) else {
        return cx.out.int(-2);
    };
    let Some(at) = entry.expire_at_ms else {
        return cx.out.int(-1);
    };
    let t = if absolute { at as i64 } else { at as i64 - now }.max(0);
    cx.out.int(if ms { t } else { (t + 500) / 1000 });
}

pub(super) fn ttl(cx: &mut Cx, args: &[Bytes]) {
    ttl_generic(cx, &args[1], false, false);
}

pub(super) fn pttl(cx: &mut Cx, args: &[Bytes]) {
    ttl_generic(cx, &args[1], true, false);
}

pub(super) fn expiretime(cx: &mut Cx, args: &[Bytes]) {
    ttl_generic(cx, &args[1], false, true);
}

pub(super) fn pexpiretime(cx: &mut Cx, args: &[Bytes]) {
    ttl_generic(cx, &args[1], true, true);
}

pub(super) fn persist(cx: &mut Cx, args: &[Bytes]) {
    let key = &args[1];
    if peek(cx, key).is_none_or(|e| e.expire_at_ms.is_none()) {
        return cx.out.int(0);
    }
    let (now, mode) = (cx.now_ms(), cx.mode());
    cx.db().set_expire(key, None, now, mode);
    cx.dirty += 1;
    cx.out.int(1);
}
