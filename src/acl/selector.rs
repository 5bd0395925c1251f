//! One ACL selector: which commands (by category, command, subcommand or first argument), keys
//! (`~pat`, `%R~pat`, `%W~pat`) and channels (`&pat`) it allows, kept as Redis keeps them: an
//! allowed bit per command plus the ordered rule string that ACL GETUSER and ACL LIST show.

use super::categories;
use super::SetError;
use crate::text::glob_match;
use std::collections::BTreeMap;

/// Key pattern permissions.
pub const KEY_READ: u8 = 1;
pub const KEY_WRITE: u8 = 2;
const KEY_ALL: u8 = KEY_READ | KEY_WRITE;

/// The commands ACL rules can name: every command of this server's table and the subcommands
/// of its containers, each with its categories.
#[derive(Debug, Default)]
pub struct Registry {
    names: Vec<String>,
    cats: Vec<u32>,
    subs: Vec<Vec<usize>>,
    parent: Vec<Option<usize>>,
    index: BTreeMap<String, usize>,
    /// `acl-pubsub-default allchannels`: new selectors (and `reset`) allow every channel.
    pub all_channels_by_default: bool,
}

impl Registry {
    pub fn new<'a>(commands: impl Iterator<Item = &'a str>) -> Self {
        let mut r = Registry::default();
        for name in commands {
            let id = r.add(name.to_string(), None);
            for sub in categories::subcommands(name) {
                let sub_id = r.add(format!("{name}|{sub}"), Some(id));
                r.subs[id].push(sub_id);
            }
        }
        r
    }

    fn add(&mut self, name: String, parent: Option<usize>) -> usize {
        let id = self.names.len();
        self.cats.push(categories::of(&name));
        self.index.insert(name.clone(), id);
        self.names.push(name);
        self.subs.push(Vec::new());
        self.parent.push(parent);
        id
    }

    /// A command or `container|subcommand` by name, any case.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The id ACL checks for a call: the subcommand's when the command is a container.
    pub fn target(&self, command: &str, args: &[bytes::Bytes]) -> Option<usize> {
        let id = self.lookup(command)?;
        if self.subs[id].is_empty() {
            return Some(id);
        }
        let sub = String::from_utf8_lossy(args.get(1)?);
        self.lookup(&format!("{command}|{sub}"))
    }

    pub fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    pub fn has_parent(&self, id: usize) -> bool {
        self.parent[id].is_some()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Every command (subcommands after their container) in `category`.
    pub fn in_category(&self, category: u32) -> impl Iterator<Item = &str> {
        (0..self.len())
            .filter(move |&i| self.cats[i] & category != 0)
            .map(|i| self.names[i].as_str())
    }

    pub fn categories(&self, id: usize) -> u32 {
        self.cats[id]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// The user's own permissions (outside parentheses).
    pub root: bool,
    /// The last `+@all`/`-@all` was `+@all`: commands added later would be allowed.
    future: bool,
    /// Every command is allowed (nothing removed since `+@all`).
    all_commands: bool,
    allowed: Vec<bool>,
    /// First arguments allowed for a command that is otherwise not (`+select|0`).
    first_args: BTreeMap<usize, Vec<String>>,
    /// The command rules since the last `+@all`/`-@all`, as shown.
    rules: String,
    pub all_keys: bool,
    pub patterns: Vec<(String, u8)>,
    pub all_channels: bool,
    pub channels: Vec<String>,
}

impl Selector {
    pub fn new(registry: &Registry, root: bool) -> Self {
        Selector {
            root,
            future: false,
            all_commands: false,
            allowed: vec![false; registry.len()],
            first_args: BTreeMap::new(),
            rules: String::new(),
            all_keys: false,
            patterns: Vec::new(),
            all_channels: registry.all_channels_by_default,
            channels: Vec::new(),
        }
    }

    /// Applies one rule (Redis' ACLSetSelector).
    pub fn set(&mut self, reg: &Registry, op: &str) -> Result<(), SetError> {
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "allkeys" | "~*" => {
                self.all_keys = true;
                self.patterns.clear();
            }
            "resetkeys" => {
                self.all_keys = false;
                self.patterns.clear();
            }
            "allchannels" | "&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            "allcommands" | "+@all" => self.reset_commands(true),
            "nocommands" | "-@all" => self.reset_commands(false),
            _ if op.starts_with('~') || op.starts_with('%') => self.add_key_pattern(op)?,
            _ if op.starts_with('&') => self.add_channel(&op[1..])?,
            _ if op.starts_with("+@") || op.starts_with("-@") => {
                let bits = categories::by_name(&op[2..]).ok_or(SetError::Unknown)?;
                self.update_rules(&lower, op.starts_with('+'));
                for id in 0..reg.len() {
                    if reg.cats[id] & bits != 0 {
                        self.change(reg, id, op.starts_with('+'));
                    }
                }
            }
            _ if op.starts_with('+') => self.allow(reg, &lower[1..])?,
            _ if op.starts_with('-') => {
                let id = reg.lookup(&lower[1..]).ok_or(SetError::Unknown)?;
                self.change(reg, id, false);
                self.update_rules(&format!("-{}", reg.names[id]), false);
            }
            _ => return Err(SetError::Syntax),
        }
        Ok(())
    }

    fn reset_commands(&mut self, allow: bool) {
        self.allowed.iter_mut().for_each(|a| *a = allow);
        self.future = allow;
        self.all_commands = allow;
        self.rules.clear();
        self.first_args.clear();
    }

    /// `+command`, `+container|sub`, or `+command|first-arg`.
    fn allow(&mut self, reg: &Registry, name: &str) -> Result<(), SetError> {
        let Some((cmd, sub)) = name.rsplit_once('|') else {
            let id = reg.lookup(name).ok_or(SetError::Unknown)?;
            self.change(reg, id, true);
            self.update_rules(&format!("+{}", reg.names[id]), true);
            return Ok(());
        };
        let id = reg.lookup(cmd).ok_or(SetError::Unknown)?;
        if reg.parent[id].is_some() {
            return Err(SetError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(SetError::Syntax);
        }
        if reg.subs[id].is_empty() {
            let args = self.first_args.entry(id).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_string());
            }
        } else {
            let sub_id = reg.lookup(name).ok_or(SetError::Unknown)?;
            self.change(reg, sub_id, true);
        }
        self.update_rules(&format!("+{name}"), true);
        Ok(())
    }

    /// Sets a command's bit, and its subcommands' for a container.
    fn change(&mut self, reg: &Registry, id: usize, allow: bool) {
        self.allowed[id] = allow;
        self.all_commands &= allow;
        self.first_args.remove(&id);
        for &sub in &reg.subs[id] {
            self.allowed[sub] = allow;
        }
    }

    /// Keeps the rule string free of rules the new one overrides (Redis' ACLUpdateCommandRules).
    fn update_rules(&mut self, rule: &str, allow: bool) {
        let name = &rule[1..];
        let kept: Vec<&str> = self
            .rules
            .split(' ')
            .filter(|r| !r.is_empty())
            .filter(|r| {
                let existing = &r[1..];
                existing != name
                    && !(existing.len() > name.len()
                        && existing.starts_with(name)
                        && existing.as_bytes()[name.len()] == b'|')
            })
            .collect();
        let mut rules = kept.join(" ");
        if !rules.is_empty() {
            rules.push(' ');
        }
        rules.push(if allow { '+' } else { '-' });
        rules.push_str(name);
        self.rules = rules;
    }

    fn add_key_pattern(&mut self, op: &str) -> Result<(), SetError> {
        if self.all_keys {
            return Err(SetError::KeysAfterStar);
        }
        let (flags, pattern) = match op.strip_prefix('%') {
            None => (KEY_ALL, &op[1..]),
            Some(rest) => {
                let (perms, pattern) = rest.split_once('~').ok_or(SetError::Syntax)?;
                let mut flags = 0;
                for c in perms.chars() {
                    let bit = match c.to_ascii_uppercase() {
                        'R' => KEY_READ,
                        'W' => KEY_WRITE,
                        _ => return Err(SetError::Syntax),
                    };
                    if flags & bit != 0 {
                        return Err(SetError::Syntax);
                    }
                    flags |= bit;
                }
                if flags == 0 {
                    return Err(SetError::Syntax);
                }
                (flags, pattern)
            }
        };
        if has_spaces(pattern) {
            return Err(SetError::Syntax);
        }
        match self.patterns.iter_mut().find(|(p, _)| p == pattern) {
            Some((_, f)) => *f |= flags,
            None => self.patterns.push((pattern.to_string(), flags)),
        }
        Ok(())
    }

    fn add_channel(&mut self, pattern: &str) -> Result<(), SetError> {
        if self.all_channels {
            return Err(SetError::ChannelsAfterStar);
        }
        if has_spaces(pattern) {
            return Err(SetError::Syntax);
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(pattern.to_string());
        }
        Ok(())
    }

    /// Every command, key and channel is allowed (the default user's case, checked first).
    pub fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Whether the command `id` may run with these arguments (its first argument counts for
    /// `+command|arg` rules). Commands anyone may run before AUTH always pass.
    pub fn allows_command(&self, reg: &Registry, id: usize, args: &[bytes::Bytes]) -> bool {
        if self.all_commands || self.allowed[id] {
            return true;
        }
        let first = if reg.parent[id].is_some() { 2 } else { 1 };
        let (Some(allowed), Some(arg)) = (self.first_args.get(&id), args.get(first)) else {
            return false;
        };
        allowed
            .iter()
            .any(|a| a.as_bytes().eq_ignore_ascii_case(arg))
    }

    /// Whether `key` may be accessed with the `needed` permissions.
    pub fn allows_key(&self, key: &[u8], needed: u8) -> bool {
        self.all_keys
            || self
                .patterns
                .iter()
                .any(|(p, f)| f & needed == needed && glob_match(p.as_bytes(), key, false))
    }

    /// Whether every key may be accessed with `needed` (`~*` or `%R~*` and the like).
    pub fn allows_all_keys(&self, needed: u8) -> bool {
        self.all_keys
            || self
                .patterns
                .iter()
                .any(|(p, f)| f & needed == needed && p == "*")
    }

    /// Whether a channel (or, for PSUBSCRIBE, a pattern taken literally) is allowed.
    pub fn allows_channel(&self, channel: &[u8], literal: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| match literal {
                true => p.as_bytes() == channel,
                false => glob_match(p.as_bytes(), channel, false),
            })
    }

    /// The command rules as ACL GETUSER shows them: `+@all` or `-@all`, then the rules.
    pub fn describe_commands(&self) -> String {
        let start = if self.future { "+@all" } else { "-@all" };
        match self.rules.is_empty() {
            true => start.to_string(),
            false => format!("{start} {}", self.rules),
        }
    }

    /// The key patterns as ACL GETUSER shows them.
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let shown: Vec<String> = self.patterns.iter().map(pattern_text).collect();
        shown.join(" ")
    }

    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let shown: Vec<String> = self.channels.iter().map(|c| format!("&{c}")).collect();
        shown.join(" ")
    }

    /// The whole selector as ACL LIST shows it (Redis' ACLDescribeSelector).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if self.all_keys {
            out.push_str("~* ");
        } else {
            for p in &self.patterns {
                out.push_str(&pattern_text(p));
                out.push(' ');
            }
        }
        if self.all_channels {
            out.push_str("&* ");
        } else {
            out.push_str("resetchannels ");
            for c in &self.channels {
                out.push_str(&format!("&{c} "));
            }
        }
        out.push_str(&self.describe_commands());
        out
    }
}

fn pattern_text((pattern, flags): &(String, u8)) -> String {
    let prefix = match *flags {
        KEY_READ => "%R~",
        KEY_WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{pattern}")
}

/// Patterns and user names may not contain whitespace or NUL.
pub fn has_spaces(s: &str) -> bool {
    s.bytes()
        .any(|b| b.is_ascii_whitespace() || b == 0 || b == 0x0b)
}
