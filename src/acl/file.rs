//! The `aclfile`: `user <name> <rules...>` lines, loaded all or nothing (ACL LOAD, start-up)
//! with Redis' error texts, and written back by ACL SAVE.

use super::{merge_selectors, Acl, User};
use bytes::Bytes;
use std::collections::BTreeMap;

impl Acl {
    /// Replaces the users with those of an ACL file's `text` (`name` is how errors cite it);
    /// nothing changes when a line is wrong. A file without `default` gets the stock one.
    pub fn load_file(&mut self, name: &str, text: &str) -> Result<(), String> {
        let mut users: BTreeMap<String, User> = BTreeMap::new();
        let mut errors = String::new();
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            let line = line.trim_matches([' ', '\t', '\r', '\n']);
            let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                continue;
            }
            if words[0] != "user" || words.len() < 2 {
                errors.push_str(&format!(
                    "{name}:{n} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let uname = words[1];
            if !super::user::valid_name(uname) {
                errors.push_str(&format!(
                    "'{name}:{n}: username '{uname}' contains invalid characters. "
                ));
                continue;
            }
            if users.contains_key(uname) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{uname}' found on line {n}. "
                ));
                continue;
            }
            let rules: Vec<Bytes> = words[2..]
                .iter()
                .map(|w| Bytes::from(w.to_string()))
                .collect();
            let Ok(rules) = merge_selectors(&rules) else {
                errors.push_str(&format!(
                    "{name}:{n}: Unmatched parenthesis in selector definition."
                ));
                continue;
            };
            let mut user = User::new(uname, &self.registry);
            for rule in &rules {
                if let Err(e) = user.set(&self.registry, rule) {
                    let shown = String::from_utf8_lossy(rule);
                    errors.push_str(&match e {
                        super::SetError::Unknown => format!(
                            "{name}:{n}: Error in applying operation '{shown}': {}. ",
                            e.message()
                        ),
                        _ => format!("{name}:{n}: {}. ", e.message()),
                    });
                    break;
                }
            }
            users.insert(uname.to_string(), user);
        }
        if !errors.is_empty() {
            return Err(errors.trim_end().to_string());
        }
        users
            .entry("default".into())
            .or_insert_with(|| User::default_user(&self.registry));
        self.users = users;
        Ok(())
    }

    /// The ACL file ACL SAVE writes: one `user` line per user.
    pub fn file_text(&self) -> String {
        self.users.values().map(|u| u.line() + "\n").collect()
    }
}
