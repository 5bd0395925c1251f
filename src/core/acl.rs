//! The server's side of ACL: checking each command against its client's user (NOPERM), logging
//! refusals and failed logins in ACL LOG, logging in, and disconnecting a user's clients.

use super::{ConnId, Now, Server};
use crate::acl::log::Entry;
use crate::acl::{Denied, Reason};
use crate::commands::CommandSpec;
use crate::config::LogLevel;
use crate::core::{DiskOp, DiskWaiter};
use bytes::Bytes;

/// ACL LOG's length when `acllog-max-len` is not set.
const ACLLOG_MAX_LEN: usize = 128;

impl Server {
    /// NOPERM when the client's user may not run this call (internal clients run anything).
    pub(crate) fn acl_refusal(
        &mut self,
        id: ConnId,
        spec: &CommandSpec,
        args: &[Bytes],
        now: Now,
        in_multi: bool,
    ) -> Option<String> {
        let user = self.clients[&id].user.as_deref()?;
        let denied = self.acl.check(user, spec, args).err()?;
        let user = user.to_string();
        let msg = self
            .acl
            .denied_message(&user, spec.name, args, denied, false);
        let object = match denied.reason {
            Reason::Command => self
                .acl
                .registry
                .target(spec.name, args)
                .map_or(spec.name.to_string(), |t| self.acl.registry.name(t).into()),
            _ => String::from_utf8_lossy(&args[denied.pos]).into_owned(),
        };
        self.acl_log(id, denied, object, user, in_multi, now);
        Some(format!("NOPERM {msg}"))
    }

    /// Adds an ACL LOG entry about client `id`.
    pub(crate) fn acl_log(
        &mut self,
        id: ConnId,
        denied: Denied,
        object: String,
        username: String,
        in_multi: bool,
        now: Now,
    ) {
        let client_info = self
            .clients
            .get(&id)
            .map_or_else(String::new, |c| c.info_line(now.mono_ms));
        let max_len = self
            .config
            .noop
            .get("acllog-max-len")
            .and_then(|v| v.parse().ok())
            .unwrap_or(ACLLOG_MAX_LEN);
        let entry = Entry {
            count: 1,
            reason: denied.reason,
            context: if in_multi { "multi" } else { "toplevel" },
            object,
            username,
            client_info,
            entry_id: 0,
            created_ms: 0,
            updated_ms: 0,
        };
        self.acl.log.add(entry, now.unix_ms, max_len);
    }

    /// AUTH and HELLO AUTH (`call.args[0]`, as the client wrote it): logs client `call.id` in
    /// as `user` if the password fits; a failure is logged in ACL LOG.
    pub(crate) fn log_in(&mut self, call: &crate::commands::Call, user: &str, pass: &[u8]) -> bool {
        let (id, now) = (call.id, call.now);
        if self.acl.authenticate(user, pass) {
            if let Some(c) = self.clients.get_mut(&id) {
                c.authenticated = true;
                c.user = Some(user.to_string());
            }
            return true;
        }
        let in_multi = self.clients.get(&id).is_some_and(|c| c.multi.is_some());
        let denied = Denied {
            reason: Reason::Auth,
            pos: 0,
        };
        let object = String::from_utf8_lossy(&call.args[0]).into_owned();
        self.acl_log(id, denied, object, user.to_string(), in_multi, now);
        false
    }

    /// The `user` lines CONFIG REWRITE writes: none when users live in an aclfile.
    pub(crate) fn acl_config_lines(&self) -> Vec<Vec<String>> {
        match self.config.aclfile.is_empty() {
            true => self.acl.config_lines(),
            false => Vec::new(),
        }
    }

    /// `acl-pubsub-default allchannels`.
    pub(crate) fn pubsub_default_all(&self) -> bool {
        self.config
            .noop
            .get("acl-pubsub-default")
            .is_some_and(|v| v == "allchannels")
    }

    /// The aclfile's path (relative to `dir`).
    fn aclfile_path(&self) -> String {
        let file = &self.config.aclfile;
        match file.starts_with('/') {
            true => file.clone(),
            false => format!("{}/{file}", self.config.dir.trim_end_matches('/')),
        }
    }

    /// Reads the aclfile: at start-up (`conn` None) or for a client's ACL LOAD.
    pub(crate) fn load_aclfile(&mut self, conn: Option<ConnId>) {
        let path = self.aclfile_path();
        self.start_disk(DiskOp::Read { path }, DiskWaiter::AclLoad(conn));
    }

    /// The aclfile was read: its users replace the current ones (whose clients are
    /// disconnected, the default user's excepted), or nothing changes and the error is told.
    pub(crate) fn aclfile_loaded(
        &mut self,
        now: Now,
        conn: Option<ConnId>,
        read: Result<Bytes, String>,
    ) {
        self.acl.registry.all_channels_by_default = self.pubsub_default_all();
        let file = self.config.aclfile.clone();
        let loaded = match read {
            Ok(text) => self.acl.load_file(&file, &String::from_utf8_lossy(&text)),
            Err(e) => {
                let e = e
                    .find(" (os error")
                    .map_or(e.as_str(), |i| &e[..i])
                    .to_string();
                Err(format!("Error loading ACLs, opening file '{file}': {e}"))
            }
        };
        let Some(id) = conn else {
            if let Err(e) = loaded {
                self.log(
                    LogLevel::Warning,
                    format!("Aborting Redis startup because of ACL errors: {e}"),
                );
                self.exit(1);
            }
            return;
        };
        if loaded.is_ok() {
            let replaced: std::collections::BTreeSet<String> = self
                .clients
                .values()
                .filter_map(|c| c.user.clone())
                .filter(|u| u != "default")
                .collect();
            for user in &replaced {
                self.disconnect_user(user);
            }
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = None;
        }
        match loaded {
            Ok(()) => self.reply(id).ok(),
            Err(e) => self.reply(id).error(&format!("ERR {e}")),
        }
        self.process_input(id, now);
    }

    /// ACL SAVE: writes every user to the aclfile; the reply waits for the write.
    pub(crate) fn save_aclfile(&mut self, conn: ConnId) {
        let path = self.aclfile_path();
        let data = Bytes::from(self.acl.file_text());
        self.start_disk(
            DiskOp::WriteAtomic { path, data },
            DiskWaiter::AclSave(conn),
        );
    }

    pub(crate) fn aclfile_saved(&mut self, now: Now, conn: ConnId, written: Result<Bytes, String>) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.blocked_on = None;
        }
        match written {
            Ok(_) => self.reply(conn).ok(),
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Opening temp ACL file for ACL SAVE: {e}"),
                );
                self.reply(conn).error("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
            }
        }
        self.process_input(conn, now);
    }

    /// New and reset connections are logged in as the default user when it needs no password.
    pub(crate) fn default_user_needs_no_auth(&self) -> bool {
        self.acl
            .users
            .get("default")
            .is_some_and(|u| u.nopass && u.enabled)
    }

    /// Disconnects the clients of `user` subscribed to a channel or pattern its rules no longer
    /// allow (Redis' ACLKillPubsubClientsIfNeeded).
    pub(crate) fn disconnect_revoked_subscribers(&mut self, user: &str) {
        let Some(u) = self.acl.users.get(user) else {
            return;
        };
        let allowed =
            |ch: &[u8], literal: bool| u.selectors.iter().any(|s| s.allows_channel(ch, literal));
        let ids: Vec<ConnId> = self
            .clients
            .values()
            .filter(|c| c.user.as_deref() == Some(user))
            .filter(|c| {
                c.channels.iter().any(|ch| !allowed(ch, false))
                    || c.patterns.iter().any(|p| !allowed(p, true))
            })
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.drop_client(id);
        }
    }

    /// Closes a client at once, as Redis frees it; the one whose command is running (or whose
    /// reply waits for a disk operation, as ACL LOAD's) is closed after its reply.
    fn drop_client(&mut self, id: ConnId) {
        let replying = self
            .running
            .as_ref()
            .is_some_and(|(caller, _)| *caller == id)
            || self
                .clients
                .get(&id)
                .is_some_and(|c| c.blocked_on.is_some());
        if replying {
            return self.close_after_reply(id);
        }
        self.actions.push_back(super::Action::Close { conn: id });
        self.free_client(id);
    }

    /// Disconnects every client logged in as `user` (its deletion).
    pub(crate) fn disconnect_user(&mut self, user: &str) {
        let ids: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.user.as_deref() == Some(user))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(c) = self.clients.get_mut(&id) {
                c.user = Some("default".into());
                c.authenticated = false;
            }
            self.drop_client(id);
        }
    }
}
