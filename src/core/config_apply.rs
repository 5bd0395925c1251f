//! What a CONFIG SET does to the running server beyond storing the new values: each directive
//! whose change must reach live state (the AOF, the replication backlog, the master link's
//! credentials, the default user's password, maxmemory and its policy) is applied here, after the whole set was accepted.

use super::{Now, Server};
use crate::config::Config;

impl Server {
    /// Applies the difference between `old` and the current `self.config`.
    pub fn config_changed(&mut self, old: &Config, now: Now) {
        if old.requirepass != self.config.requirepass {
            self.acl
                .set_default_password(self.config.requirepass.as_deref());
        }
        if let Some(l) = self.repl.link.as_mut() {
            l.link.set_auth(
                self.config.masterauth.clone(),
                self.config.masteruser.clone(),
            );
        }
        if old.repl_backlog_size != self.config.repl_backlog_size {
            if let Some(b) = self.repl.backlog.as_mut() {
                b.resize(self.config.repl_backlog_size as usize);
            }
        }
        self.refresh_notify_classes();
        self.apply_memory_config();
        if old.maxmemory != self.config.maxmemory {
            self.maxmemory_changed();
        }
        match (old.appendonly, self.config.appendonly) {
            (false, true) => self.aof_enable(now),
            (true, false) => self.aof_disable(),
            _ => {}
        }
    }
}
