//! The server's side of ACL: checking each command against its client's user (NOPERM), logging
//! refusals and failed logins in ACL LOG, logging in, and disconnecting a user's clients.

use super::{ConnId, Now, Server};
use crate::acl::log::Entry;
use crate::acl::{Denied, Reason};
use crate::commands::CommandSpec;
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
        let user = self.clients[&id].user.clone()?;
        let denied = self.acl.check(&user, spec, args).err()?;
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
        let allowed = |ch: &[u8], literal: bool| u.selectors.iter().any(|s| s.allows_channel(ch, literal));
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
            self.close_after_reply(id);
        }
    }

    /// Disconnects every client logged in as `user` (its deletion); the caller's own
    /// connection is closed after its reply.
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
            self.close_after_reply(id);
        }
    }
}
