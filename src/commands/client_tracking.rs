//! CLIENT's client-side caching subcommands: TRACKING, CACHING, GETREDIR, TRACKINGINFO (the
//! tracking itself is `core::tracking`).

use super::{is, Call};
use crate::core::tracking::ClientTracking;
use crate::core::Server;
use bytes::Bytes;

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
pub(super) fn tracking(s: &mut Server, call: &Call) {
    let Some((mut mode, prefixes)) = parse_options(s, call) else {
        return;
    };
    if is(&call.args[2], "on") {
        if let Some(msg) = refusal(s, call, &mode, &prefixes) {
            return s.reply(call.id).error(&msg);
        }
        mode.prefixes = prefixes.into_iter().collect();
        s.enable_tracking(call.id, mode);
    } else if is(&call.args[2], "off") {
        s.disable_tracking(call.id);
    } else {
        return s.reply(call.id).syntax();
    }
    s.reply(call.id).ok();
}

/// The options after ON|OFF and the PREFIX arguments in order, or `None` once the error is
/// replied.
fn parse_options(s: &mut Server, call: &Call) -> Option<(ClientTracking, Vec<Bytes>)> {
    let mut mode = ClientTracking::default();
    let mut prefixes = Vec::new();
    let mut opts = call.args[3..].iter();
    while let Some(opt) = opts.next() {
        let more = opts.len() > 0;
        if is(opt, "redirect") && more {
            let arg = opts.next().expect("more");
            if mode.redirect != 0 {
                s.reply(call.id)
                    .error("ERR A client can only redirect to a single other client");
                return None;
            }
            let id = super::int_arg(&mut s.reply(call.id), arg)?;
            if id <= 0 || !s.clients.contains_key(&(id as u64)) {
                s.reply(call.id)
                    .error("ERR The client ID you want redirect to does not exist");
                return None;
            }
            mode.redirect = id as u64;
        } else if is(opt, "bcast") {
            mode.bcast = true;
        } else if is(opt, "optin") {
            mode.optin = true;
        } else if is(opt, "optout") {
            mode.optout = true;
        } else if is(opt, "noloop") {
            mode.noloop = true;
        } else if is(opt, "prefix") && more {
            prefixes.push(opts.next().expect("more").clone());
        } else {
            s.reply(call.id).syntax();
            return None;
        }
    }
    Some((mode, prefixes))
}

/// Why CLIENT TRACKING ON with `mode` and `prefixes` is refused, given the client's current
/// mode.
fn refusal(s: &Server, call: &Call, mode: &ClientTracking, prefixes: &[Bytes]) -> Option<String> {
    let now = s.clients[&call.id].tracking.as_ref();
    let switch = |what: &str| {
        Some(format!("ERR You can't switch {what} before disabling tracking for this client, and then re-enabling it with a different mode."))
    };
    if !mode.bcast && !prefixes.is_empty() {
        return Some("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if now.is_some_and(|t| t.bcast != mode.bcast) {
        return switch("BCAST mode on/off");
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Some("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if mode.optin && mode.optout {
        return Some("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if now.is_some_and(|t| (mode.optin && t.optout) || (mode.optout && t.optin)) {
        return switch("OPTIN/OPTOUT mode");
    }
    prefix_collision(prefixes, now.map(|t| &t.prefixes))
}

/// Redis' rule: no two prefixes of one client may both match a key (one starts the other).
fn prefix_collision(
    given: &[Bytes],
    mine: Option<&std::collections::BTreeSet<Bytes>>,
) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in given.iter().enumerate() {
        if let Some(old) = mine.into_iter().flatten().find(|old| overlap(p, old)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(old)
            ));
        }
        if let Some(other) = given[i + 1..].iter().find(|o| overlap(p, o)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(other)
            ));
        }
    }
    None
}

/// CLIENT CACHING YES|NO: OPTIN's YES or OPTOUT's NO for the next command.
pub(super) fn caching(s: &mut Server, call: &Call) {
    let c = s.clients.get_mut(&call.id).expect("caller");
    let Some(t) = c.tracking.as_mut() else {
        return s.reply(call.id).error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
    };
    let opt = &call.args[2];
    if is(opt, "yes") && !t.optin {
        return s
            .reply(call.id)
            .error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    }
    if is(opt, "no") && !t.optout {
        return s
            .reply(call.id)
            .error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    }
    if !is(opt, "yes") && !is(opt, "no") {
        return s.reply(call.id).syntax();
    }
    t.caching = true;
    s.reply(call.id).ok();
}

/// CLIENT GETREDIR: the redirect client's id, 0 for none, -1 when not tracking.
pub(super) fn getredir(s: &mut Server, call: &Call) {
    let redirect = redirect_of(s, call);
    s.reply(call.id).int(redirect);
}

fn redirect_of(s: &Server, call: &Call) -> i64 {
    let t = s.clients[&call.id].tracking.as_ref();
    t.map_or(-1, |t| t.redirect as i64)
}

/// CLIENT TRACKINGINFO: the mode's flags, redirect and prefixes.
pub(super) fn trackinginfo(s: &mut Server, call: &Call) {
    let redirect = redirect_of(s, call);
    let t = s.clients[&call.id].tracking.clone();
    let mut flags = vec![if t.is_some() { "on" } else { "off" }];
    let mut prefixes = Vec::new();
    if let Some(t) = t {
        let caching = |name| Some(name).filter(|_| t.caching);
        let optional = [
            (t.bcast, Some("bcast")),
            (t.optin, Some("optin")),
            (t.optin, caching("caching-yes")),
            (t.optout, Some("optout")),
            (t.optout, caching("caching-no")),
            (t.noloop, Some("noloop")),
            (t.broken_redirect, Some("broken_redirect")),
        ];
        flags.extend(
            optional
                .into_iter()
                .filter(|(on, _)| *on)
                .flat_map(|(_, f)| f),
        );
        prefixes = t.prefixes.into_iter().collect();
    }
    let mut out = s.reply(call.id);
    out.map(3);
    out.bulk(b"flags");
    out.bulk_set(flags.iter());
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    out.bulks(prefixes.iter());
}
