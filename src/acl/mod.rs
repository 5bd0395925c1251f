//! Redis 7.2's ACL: users, their rules (ACL SETUSER), authentication, the permission check
//! every command passes before it runs, and the ACL LOG of refusals. Pure state: the commands
//! that show and change it are in `commands::acl`; dispatch calls `check`.

pub mod categories;
mod file;
pub mod keys;
pub mod log;
pub mod selector;
pub mod user;

use crate::commands::{flags, CommandSpec};
use bytes::Bytes;
pub use selector::Registry;
use std::collections::BTreeMap;
pub use user::User;

/// Why a rule was refused (Redis' errno cases of ACLSetUser).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    Syntax,
    Unknown,
    KeysAfterStar,
    ChannelsAfterStar,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl SetError {
    pub fn message(self) -> &'static str {
        match self {
            SetError::Syntax => "Syntax error",
            SetError::Unknown => "Unknown command or category name in ACL",
            SetError::KeysAfterStar => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            SetError::ChannelsAfterStar => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            SetError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            SetError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            SetError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What a refused call ran into, in Redis' order of relevance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Command,
    Key,
    Auth,
    Channel,
}

/// A refused call: why, and the argument at fault (0 for the command itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub reason: Reason,
    pub pos: usize,
}

pub struct Acl {
    pub registry: Registry,
    pub users: BTreeMap<String, User>,
    pub log: log::AclLog,
}

impl Acl {
    /// The ACL of a server whose command table has these names: just the default user.
    pub fn new<'a>(commands: impl Iterator<Item = &'a str>) -> Self {
        let registry = Registry::new(commands);
        let default = User::default_user(&registry);
        Acl {
            users: BTreeMap::from([("default".to_string(), default)]),
            registry,
            log: log::AclLog::default(),
        }
    }

    /// ACL SETUSER's rules applied all or nothing to a new or existing user; the error is
    /// Redis' reply text.
    pub fn set_user(&mut self, name: &str, ops: &[Bytes]) -> Result<(), String> {
        self.apply(name, ops).map_err(|e| match e {
            RuleError::Unmatched(arg) => {
                format!("Unmatched parenthesis in acl selector starting at '{arg}'.")
            }
            RuleError::Rule(op, e) => {
                format!("Error in ACL SETUSER modifier '{op}': {}", e.message())
            }
        })
    }

    fn apply(&mut self, name: &str, ops: &[Bytes]) -> Result<(), RuleError> {
        let ops = merge_selectors(ops)?;
        let mut user = self
            .users
            .get(name)
            .cloned()
            .unwrap_or_else(|| User::new(name, &self.registry));
        for op in &ops {
            if let Err(e) = user.set(&self.registry, op) {
                return Err(RuleError::Rule(String::from_utf8_lossy(op).into_owned(), e));
            }
        }
        self.users.insert(name.to_string(), user);
        Ok(())
    }

    /// The users of `user` config lines (the default user's line starts from `reset`).
    pub fn load_config_users(&mut self, lines: &[Vec<String>]) -> Result<(), String> {
        for line in lines {
            let mut rules: Vec<Bytes> = line[1..].iter().map(|a| Bytes::from(a.clone())).collect();
            if line[0] == "default" {
                rules.insert(0, "reset".into());
            }
            self.set_user(&line[0], &rules)?;
        }
        Ok(())
    }

    /// The users as `user` config lines (name, then its description).
    pub fn config_lines(&self) -> Vec<Vec<String>> {
        self.users
            .values()
            .map(|u| vec![u.name.clone(), u.describe()])
            .collect()
    }

    /// `requirepass` is the default user's password (empty: nopass).
    pub fn set_default_password(&mut self, pass: Option<&[u8]>) {
        let ops: Vec<Bytes> = match pass.filter(|p| !p.is_empty()) {
            Some(p) => vec!["resetpass".into(), [b">", p].concat().into()],
            None => vec!["nopass".into()],
        };
        self.set_user("default", &ops).expect("valid rules");
    }

    /// The user `name` if it exists, is on and takes `pass`.
    pub fn authenticate(&self, name: &str, pass: &[u8]) -> bool {
        self.users.get(name).is_some_and(|u| u.accepts(pass))
    }

    /// Redis' ACLCheckAllUserCommandPerm: some selector of `user` must allow the command, its
    /// keys and its channels; otherwise the most relevant refusal is returned.
    pub fn check(&self, user: &str, spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denied> {
        let Some(user) = self.users.get(user) else {
            return Err(Denied {
                reason: Reason::Command,
                pos: 0,
            });
        };
        if user.selectors.iter().any(|s| s.unrestricted()) {
            return Ok(());
        }
        let id = self.registry.target(spec.name, args);
        let keys = keys::keys(spec, args);
        let channels = keys::channels(spec.name, args);
        let mut worst = Denied {
            reason: Reason::Command,
            pos: 0,
        };
        for s in &user.selectors {
            let command_ok = spec.flags & flags::NO_AUTH != 0
                || id.is_some_and(|id| s.allows_command(&self.registry, id, args));
            let refusal = if !command_ok {
                Some(worst)
            } else if let Some(&(pos, _)) = keys
                .iter()
                .find(|(pos, needed)| !s.allows_key(&args[*pos], *needed))
            {
                Some(Denied {
                    reason: Reason::Key,
                    pos,
                })
            } else {
                channels
                    .iter()
                    .find(|(pos, literal)| !s.allows_channel(&args[*pos], *literal))
                    .map(|&(pos, _)| Denied {
                        reason: Reason::Channel,
                        pos,
                    })
            };
            match refusal {
                None => return Ok(()),
                Some(d) if (d.reason, d.pos) > (worst.reason, worst.pos) => worst = d,
                Some(_) => {}
            }
        }
        Err(worst)
    }

    /// Redis' NOPERM text for a refusal (without the `NOPERM ` prefix).
    /// Without `verbose` (a refused command's error) keys and channels are not named.
    pub fn denied_message(
        &self,
        user: &str,
        spec_name: &str,
        args: &[Bytes],
        d: Denied,
        verbose: bool,
    ) -> String {
        let object = String::from_utf8_lossy(&args[d.pos]);
        match d.reason {
            Reason::Key if !verbose => "No permissions to access a key".into(),
            Reason::Channel if !verbose => "No permissions to access a channel".into(),
            Reason::Command => {
                let name = self
                    .registry
                    .target(spec_name, args)
                    .map_or(spec_name, |id| self.registry.name(id));
                format!("User {user} has no permissions to run the '{name}' command")
            }
            Reason::Key => format!("User {user} has no permissions to access the '{object}' key"),
            Reason::Channel => {
                format!("User {user} has no permissions to access the '{object}' channel")
            }
            Reason::Auth => String::new(),
        }
    }
}

/// Checks a `user <name> <rules...>` config line against the data server's commands; the error
/// is Redis' "Error in user declaration" text.
pub fn validate_user_line(args: &[String]) -> Result<(), String> {
    let mut acl = Acl::new(crate::commands::all().map(|c| c.name));
    let rules: Vec<Bytes> = args[1..].iter().map(|a| Bytes::from(a.clone())).collect();
    if !user::valid_name(&args[0]) {
        return Err(format!(
            "Error in user declaration '{}': Usernames can't contain spaces or null characters",
            args[0]
        ));
    }
    acl.apply(&args[0], &rules).map_err(|e| match e {
        RuleError::Unmatched(arg) => format!("Error in user declaration '{arg}': Syntax error"),
        RuleError::Rule(op, e) => format!("Error in user declaration '{op}': {}", e.message()),
    })
}

/// A rule that could not be applied, or a selector never closed.
enum RuleError {
    Unmatched(String),
    Rule(String, SetError),
}

/// Joins `(` ... `)` selector arguments that were split across several arguments.
fn merge_selectors(ops: &[Bytes]) -> Result<Vec<Bytes>, RuleError> {
    let mut merged = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, op) in ops.iter().enumerate() {
        match open.as_mut() {
            Some((_, acc)) => {
                acc.push(b' ');
                acc.extend_from_slice(op);
                if op.ends_with(b")") {
                    merged.push(Bytes::from(open.take().expect("open").1));
                }
            }
            None if op.starts_with(b"(") && !op.ends_with(b")") => open = Some((i, op.to_vec())),
            None => merged.push(op.clone()),
        }
    }
    match open {
        Some((i, _)) => Err(RuleError::Unmatched(
            String::from_utf8_lossy(&ops[i]).into_owned(),
        )),
        None => Ok(merged),
    }
}
