//! The directive table: every config name the server knows, how its arguments are validated (with
//! Redis 7.2's messages), how CONFIG GET prints it, and how CONFIG REWRITE writes it back.
//!
//! Each directive validates its arguments into a canonical text (what CONFIG GET shows: `yes`/`no`,
//! memory in bytes, `save` as `3600 1 300 100`), then stores it either in a typed `Config` field
//! (directives listed in `fields.rs`) or, for directives accepted without effect, in
//! `Config::noop` (listed in `noop.rs`).

use super::Config;
use crate::resp::parse_i64;

/// CONFIG SET refuses it ("can't set immutable config").
pub const IMMUTABLE: u8 = 1;
/// CONFIG SET refuses it unless `enable-protected-configs` allows the client.
pub const PROTECTED: u8 = 1 << 1;
/// Takes several arguments: a single config-file argument holding spaces is split, and a
/// CONFIG SET value is split at spaces.
pub const MULTI_ARG: u8 = 1 << 2;
/// Repeated lines of one config load add up instead of replacing each other (`save`).
pub const APPEND: u8 = 1 << 3;
/// CONFIG REWRITE writes no line at all for an empty value (`replicaof` of a master).
pub const OMIT_EMPTY: u8 = 1 << 4;
/// Redis' testing knobs: CONFIG GET shows them only when named exactly, never for a pattern.
pub const HIDDEN: u8 = 1 << 5;

/// Redis' INT_MAX bound, common to many directives.
pub const INT_MAX: i64 = i32::MAX as i64;

/// How a directive's arguments are validated into its canonical text.
pub enum Kind {
    /// `yes` or `no`, case-insensitive.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// A memory amount (`64mb`, `1gb`, `100k`) within bounds, shown in bytes.
    Mem(i64, i64),
    /// One of these names, case-insensitive.
    Enum(&'static [&'static str]),
    /// Any single string.
    Str,
    /// Custom validation given the current value's text and the new arguments.
    Custom(fn(&str, &[String]) -> Result<String, String>),
}

/// Where a directive's value lives.
pub enum Store {
    /// A typed `Config` field; `set` receives the canonical text.
    Field {
        get: fn(&Config) -> String,
        set: fn(&mut Config, &str),
    },
    /// `Config::noop`, with this default.
    Noop { default: &'static str },
}

/// One directive.
pub struct Directive {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub store: Store,
    pub flags: u8,
}

impl Directive {
    /// The value as CONFIG GET shows it.
    pub fn get(&self, c: &Config) -> String {
        match &self.store {
            Store::Field { get, .. } => get(c),
            Store::Noop { default } => c
                .noop
                .get(self.name)
                .cloned()
                .unwrap_or_else(|| default.to_string()),
        }
    }

    /// Validates `args` (the words after the name) and stores the value, or returns Redis' reason.
    pub fn set(&self, c: &mut Config, args: &[String]) -> Result<(), String> {
        let value = self.kind.canonical(&self.get(c), args)?;
        match &self.store {
            Store::Field { set, .. } => set(c, &value),
            Store::Noop { .. } => {
                c.noop.insert(self.name.to_string(), value);
                c.encoding_limits = crate::commands::object::encoding_limits(&c.noop);
            }
        }
        Ok(())
    }

    /// True if the directive carries `flag` (`IMMUTABLE`, `MULTI_ARG`, ...).
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The config-file line CONFIG REWRITE writes for the current value, if any.
    pub fn rewrite_line(&self, c: &Config) -> Option<String> {
        let value = self.get(c);
        let shown = match self.kind {
            _ if value.is_empty() && self.has(OMIT_EMPTY) => return None,
            Kind::Mem(..) => value.parse().map_or(value, format_memory),
            _ if self.has(MULTI_ARG) && !value.is_empty() => value,
            _ => crate::text::quote_arg(value.as_bytes()),
        };
        Some(format!("{} {shown}", self.name))
    }
}

impl Kind {
    fn canonical(&self, current: &str, args: &[String]) -> Result<String, String> {
        if let Kind::Custom(f) = self {
            return f(current, args);
        }
        let arg = one(args)?;
        match *self {
            Kind::Bool => yes_no(arg).map(|b| if b { "yes" } else { "no" }.to_string()),
            Kind::Int(min, max) => {
                let n = parse_i64(arg.as_bytes())
                    .ok_or("argument couldn't be parsed into an integer")?;
                bounded(n, min, max)
            }
            Kind::Mem(min, max) => {
                let n = memory(arg).ok_or("argument must be a memory value")?;
                bounded(n, min, max)
            }
            Kind::Enum(names) => one_of(names, arg).map(str::to_string),
            // (Custom was handled above.)
            Kind::Str | Kind::Custom(_) => Ok(arg.to_string()),
        }
    }
}

pub(super) fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [a] => Ok(a),
        _ => Err("wrong number of arguments".into()),
    }
}

pub(super) fn yes_no(arg: &str) -> Result<bool, String> {
    match arg.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn bounded(n: i64, min: i64, max: i64) -> Result<String, String> {
    if (min..=max).contains(&n) {
        Ok(n.to_string())
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

/// The canonical spelling of `arg` among `names`, or Redis' enum error.
pub(super) fn one_of(names: &[&'static str], arg: &str) -> Result<&'static str, String> {
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(arg))
        .copied()
        .ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                names.join(", ")
            )
        })
}

/// Parses a memory amount as redis.conf does: digits and an optional unit `b`, `k` (1000),
/// `kb` (1024), `m`, `mb`, `g`, `gb`, any case.
pub fn memory(s: &str) -> Option<i64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(end);
    let mul: i64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    if digits.is_empty() {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(mul)
}

/// Bytes with the largest exact unit, as CONFIG REWRITE writes them (`64mb`).
fn format_memory(bytes: i64) -> String {
    for (unit, size) in [("gb", 1i64 << 30), ("mb", 1 << 20), ("kb", 1 << 10)] {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Every directive: those with an effect, then those accepted without one.
pub fn all() -> impl Iterator<Item = &'static Directive> {
    super::fields::FIELDS
        .iter()
        .chain(super::noop::NOOPS.iter())
}

/// Finds a directive by name or alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static Directive> {
    all().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}
