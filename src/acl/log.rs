//! ACL LOG: the most recent refused commands and failed AUTHs, newest first; a repeat of a
//! recent entry within 60 s bumps its count instead of adding one (as Redis groups them).

use super::Reason;
use std::collections::VecDeque;

/// Entries younger than this that match a new one are updated instead.
const GROUPING_MS: u64 = 60_000;
/// How many recent entries are compared with a new one.
const SCANNED: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    /// "toplevel" or "multi".
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub client_info: String,
    pub entry_id: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

#[derive(Debug, Default)]
pub struct AclLog {
    pub entries: VecDeque<Entry>,
    next_id: u64,
    /// INFO stats' acl_access_denied_* counters (CONFIG RESETSTAT zeroes them).
    pub denied: Denied,
}

#[derive(Debug, Default)]
pub struct Denied {
    pub auth: u64,
    pub command: u64,
    pub key: u64,
    pub channel: u64,
}

impl AclLog {
    /// Records a refusal at `now_ms`, keeping at most `max_len` entries.
    pub fn add(&mut self, mut e: Entry, now_ms: u64, max_len: usize) {
        *match e.reason {
            Reason::Auth => &mut self.denied.auth,
            Reason::Command => &mut self.denied.command,
            Reason::Key => &mut self.denied.key,
            Reason::Channel => &mut self.denied.channel,
        } += 1;
        let same = self.entries.iter().take(SCANNED).position(|old| {
            old.reason == e.reason
                && old.context == e.context
                && old.object == e.object
                && old.username == e.username
                && now_ms.saturating_sub(old.updated_ms) <= GROUPING_MS
        });
        if let Some(i) = same {
            let mut old = self.entries.remove(i).expect("found");
            old.count += 1;
            old.updated_ms = now_ms;
            old.client_info = e.client_info;
            self.entries.push_front(old);
            return;
        }
        e.entry_id = self.next_id;
        e.created_ms = now_ms;
        e.updated_ms = now_ms;
        self.next_id += 1;
        self.entries.push_front(e);
        self.entries.truncate(max_len);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

pub fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::Command => "command",
        Reason::Key => "key",
        Reason::Channel => "channel",
        Reason::Auth => "auth",
    }
}
