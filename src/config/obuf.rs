//! `client-output-buffer-limit`: a hard limit, a soft limit and the soft limit's seconds for each
//! client class (normal, replica, pub/sub), validated with Redis 7.2's messages and shown as
//! CONFIG GET prints them (`normal 0 0 0 slave 268435456 67108864 60 pubsub ...`).

use crate::resp::parse_i64;

/// One class's limits; a limit of 0 is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_s: u64,
}

/// Client classes in Redis' order (CONFIG GET prints them so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

const CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];

/// The limits of every class, indexed by `ClientClass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObufLimits(pub [ObufLimit; 3]);

impl Default for ObufLimits {
    /// Redis' defaults: normal unlimited, replica 256mb/64mb/60, pubsub 32mb/8mb/60.
    fn default() -> Self {
        let mb = 1 << 20;
        ObufLimits([
            ObufLimit::default(),
            ObufLimit {
                hard_bytes: 256 * mb,
                soft_bytes: 64 * mb,
                soft_s: 60,
            },
            ObufLimit {
                hard_bytes: 32 * mb,
                soft_bytes: 8 * mb,
                soft_s: 60,
            },
        ])
    }
}

impl ObufLimits {
    pub fn get(&self, class: ClientClass) -> ObufLimit {
        self.0[class as usize]
    }

    /// The canonical text CONFIG GET shows.
    pub fn show(&self) -> String {
        let shown: Vec<String> = CLASS_NAMES
            .iter()
            .zip(&self.0)
            .map(|(name, l)| format!("{name} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_s))
            .collect();
        shown.join(" ")
    }

    /// Reads back the canonical text (always `show`'s output).
    pub fn from_text(text: &str) -> Self {
        let mut limits = ObufLimits([ObufLimit::default(); 3]);
        let words: Vec<&str> = text.split(' ').collect();
        for (l, w) in limits.0.iter_mut().zip(words.chunks_exact(4)) {
            let n = |i: usize| w[i].parse().unwrap_or(0);
            *l = ObufLimit {
                hard_bytes: n(1),
                soft_bytes: n(2),
                soft_s: n(3),
            };
        }
        limits
    }
}

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`: updates the named classes
/// of `current` (canonical text) and returns the new canonical text.
pub fn validate(current: &str, args: &[String]) -> Result<String, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = ObufLimits::from_text(current);
    for group in args.chunks_exact(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => ClientClass::Normal,
            "slave" | "replica" => ClientClass::Replica,
            "pubsub" => ClientClass::Pubsub,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = super::table::memory(&group[1]).and_then(|n| u64::try_from(n).ok());
        let soft = super::table::memory(&group[2]).and_then(|n| u64::try_from(n).ok());
        let secs = parse_i64(group[3].as_bytes()).and_then(|s| u64::try_from(s).ok());
        let (Some(hard_bytes), Some(soft_bytes), Some(soft_s)) = (hard, soft, secs) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        limits.0[class as usize] = ObufLimit {
            hard_bytes,
            soft_bytes,
            soft_s,
        };
    }
    Ok(limits.show())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn setting_one_class_keeps_the_others_and_reads_back() {
        let current = ObufLimits::default().show();
        assert_eq!(
            current,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        let set = validate(&current, &args("replica 1gb 0 0")).unwrap();
        assert_eq!(
            set,
            "normal 0 0 0 slave 1073741824 0 0 pubsub 33554432 8388608 60"
        );
        let limits = ObufLimits::from_text(&set);
        assert_eq!(limits.get(ClientClass::Replica).hard_bytes, 1 << 30);
        assert_eq!(limits.get(ClientClass::Pubsub).soft_s, 60);
    }

    #[test]
    fn bad_limits_get_redis_messages() {
        let current = ObufLimits::default().show();
        let err = |s: &str| validate(&current, &args(s)).unwrap_err();
        assert!(err("wrong number").starts_with("Wrong number of arguments"));
        assert!(err("master 0 0 0").starts_with("Invalid client class"));
        assert!(err("normal 10mbs 10mb 60").starts_with("Error in hard, soft"));
        assert!(err("pubsub 10mb 10mb 60s").starts_with("Error in hard, soft"));
    }
}
