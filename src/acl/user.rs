//! One ACL user: on/off, passwords (kept as SHA-256 hex, as Redis keeps them), `nopass`, and its
//! selectors (the root one first), with ACL SETUSER's rules and ACL LIST's description.

use super::selector::{has_spaces, Registry, Selector};
use super::SetError;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    pub skip_sanitize: bool,
    /// SHA-256 hex digests, in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector, then those added with `(...)`.
    pub selectors: Vec<Selector>,
}

/// Redis' hash of a password: SHA-256 in lowercase hex.
pub fn hash_password(pass: &[u8]) -> String {
    Sha256::digest(pass)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl User {
    /// A new user: off, no passwords, no permissions (channels as `acl-pubsub-default`
    /// resetchannels leaves them).
    pub fn new(name: &str, reg: &Registry) -> Self {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(reg, true)],
        }
    }

    /// The default user: on, nopass, every command, key and channel.
    pub fn default_user(reg: &Registry) -> Self {
        let mut u = User::new("default", reg);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            u.set(reg, op.as_bytes()).expect("valid rule");
        }
        u
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Applies one rule (Redis' ACLSetUser); binary only for passwords.
    pub fn set(&mut self, reg: &Registry, op: &[u8]) -> Result<(), SetError> {
        if op.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(op);
        match text.to_ascii_lowercase().as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "skip-sanitize-payload" => self.skip_sanitize = true,
            "sanitize-payload" => self.skip_sanitize = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "clearselectors" => self.selectors.truncate(1),
            "reset" => {
                for op in ["resetpass", "resetkeys", "resetchannels", "off"] {
                    self.set(reg, op.as_bytes())?;
                }
                if reg.all_channels_by_default {
                    self.set(reg, b"allchannels")?;
                }
                self.skip_sanitize = false;
                self.selectors.truncate(1);
                self.selectors[0].set(reg, "-@all")?;
            }
            _ => match op[0] {
                b'>' | b'#' => {
                    let hash = password_hash(op)?;
                    if !self.passwords.contains(&hash) {
                        self.passwords.push(hash);
                    }
                    self.nopass = false;
                }
                b'<' | b'!' => {
                    let hash = password_hash(op)?;
                    let at = self.passwords.iter().position(|p| *p == hash);
                    self.passwords.remove(at.ok_or(SetError::NoSuchPassword)?);
                }
                b'(' if op.ends_with(b")") => {
                    let mut s = Selector::new(reg, false);
                    for part in text[1..text.len() - 1].split_ascii_whitespace() {
                        s.set(reg, part)?;
                    }
                    self.selectors.push(s);
                }
                _ => self.selectors[0].set(reg, &text)?,
            },
        }
        Ok(())
    }

    /// Whether `pass` lets a client log in as this user.
    pub fn accepts(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        self.nopass || self.passwords.contains(&hash_password(pass))
    }

    /// The user's flags as ACL GETUSER lists them.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        flags.push(match self.skip_sanitize {
            true => "skip-sanitize-payload",
            false => "sanitize-payload",
        });
        flags
    }

    /// The user as ACL LIST and ACL files show it: `user <name> <description>`.
    pub fn line(&self) -> String {
        format!("user {} {}", self.name, self.describe())
    }

    /// The user's rules as ACL LIST and config files describe them, without `user <name>`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for f in self.flags() {
            out.push_str(f);
            out.push(' ');
        }
        for p in &self.passwords {
            out.push_str(&format!("#{p} "));
        }
        out.push_str(&self.selectors[0].describe());
        for s in &self.selectors[1..] {
            out.push_str(&format!(" ({})", s.describe()));
        }
        out
    }
}

/// The hash a `>pass`, `<pass`, `#hash` or `!hash` rule names.
fn password_hash(op: &[u8]) -> Result<String, SetError> {
    let rest = &op[1..];
    if matches!(op[0], b'>' | b'<') {
        return Ok(hash_password(rest));
    }
    let valid = rest.len() == 64 && rest.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match valid {
        true => Ok(String::from_utf8_lossy(rest).into_owned()),
        false => Err(SetError::BadHash),
    }
}

/// Whether a name can be a user name.
pub fn valid_name(name: &str) -> bool {
    !has_spaces(name)
}
