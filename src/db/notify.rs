//! Keyspace notification classes (`notify-keyspace-events`) and the events a command queues for
//! publishing once it is done (Redis' `notifyKeyspaceEvent`, `core::notify` publishes them).

use bytes::Bytes;

/// `K`: `__keyspace@<db>__:<key>` channels.
pub const KEYSPACE: u32 = 1;
/// `E`: `__keyevent@<db>__:<event>` channels.
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
/// `m`: reads of missing keys (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 14;

/// The class letters (`A` stands for all of the first ten).
const LETTERS: [(char, u32); 14] = [
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
    ('K', KEYSPACE),
    ('E', KEYEVENT),
    ('m', KEY_MISS),
];
const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The flags of a `notify-keyspace-events` value; `None` for a character that is no class.
pub fn parse_classes(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |flags, c| match c {
        'A' => Some(flags | ALL),
        _ => LETTERS
            .iter()
            .find(|(l, _)| *l == c)
            .map(|(_, f)| flags | f),
    })
}

/// One event waiting to be published: its class, Redis' event name, the key and its database.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub key: Bytes,
    pub db: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_like_redis() {
        assert_eq!(parse_classes("KA"), Some(KEYSPACE | ALL));
        assert_eq!(parse_classes("Egx"), Some(KEYEVENT | GENERIC | EXPIRED));
        assert_eq!(parse_classes("An").map(|f| f & NEW), Some(NEW));
        assert_eq!(parse_classes("A").map(|f| f & (NEW | KEY_MISS)), Some(0));
        assert_eq!(parse_classes(""), Some(0));
        assert_eq!(parse_classes("Kq"), None);
    }
}
