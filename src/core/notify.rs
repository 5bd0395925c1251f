//! Keyspace notifications (`notify-keyspace-events`, Redis' notify.c): the events commands,
//! expiry and (later) eviction queue in `Keyspace::events`, published after each command as
//! `__keyspace@<db>__:<key>` → event and `__keyevent@<db>__:<event>` → key through PUBLISH's
//! delivery. Around a write this adds what every command does alike: `new` for the keys it
//! created, the events of `commands::events::fires`, and `del` for the keys it emptied.

use super::Server;
use crate::commands::events::{fires, Target};
use crate::commands::CommandSpec;
use crate::db::notify::{self, KeyEvent};
use bytes::Bytes;

/// A write's keys and whether each existed before it ran.
pub(crate) struct Before {
    keys: Vec<Bytes>,
    existed: Vec<bool>,
}

impl Server {
    /// Queues one event and publishes the queue: for code outside a command (eviction).
    pub fn notify_keyspace_event(
        &mut self,
        class: u32,
        event: &'static str,
        key: &[u8],
        db: usize,
    ) {
        self.ks.notify(class, event, key, db);
        self.publish_key_events();
    }

    /// Reads `notify-keyspace-events` into the keyspace's flags (at start and on CONFIG SET).
    pub(crate) fn refresh_notify_classes(&mut self) {
        let classes = self.config.noop.get("notify-keyspace-events");
        self.ks.notify = classes.and_then(|c| notify::parse_classes(c)).unwrap_or(0);
    }

    /// Publishes every queued event, oldest first.
    pub(crate) fn publish_key_events(&mut self) {
        for e in std::mem::take(&mut self.ks.events) {
            if self.ks.notify & notify::KEYSPACE != 0 {
                let mut channel = format!("__keyspace@{}__:", e.db).into_bytes();
                channel.extend_from_slice(&e.key);
                crate::commands::pubsub::publish_message(self, &channel.into(), e.event.as_bytes());
            }
            if self.ks.notify & notify::KEYEVENT != 0 {
                let channel = Bytes::from(format!("__keyevent@{}__:{}", e.db, e.event));
                crate::commands::pubsub::publish_message(self, &channel, &e.key);
            }
        }
    }

    /// Before a write: its keys and which exist, if any event would be published.
    pub(crate) fn before_write(
        &self,
        spec: &CommandSpec,
        args: &[Bytes],
        db: usize,
    ) -> Option<Before> {
        let any = !notify::KEYSPACE & !notify::KEYEVENT;
        if spec.flags & crate::commands::flags::WRITE == 0 || !self.ks.notifies(any) {
            return None;
        }
        let keys: Vec<Bytes> = crate::acl::keys::keys(spec, args)
            .into_iter()
            .map(|(pos, _)| args[pos].clone())
            .collect();
        let existed = keys.iter().map(|k| self.exists_now(db, k)).collect();
        Some(Before { keys, existed })
    }

    /// After a write that changed the dataset: `new` for created keys, then the events the
    /// command queued itself, its table events, and `del` for keys it emptied.
    pub(crate) fn after_write(
        &mut self,
        spec: &CommandSpec,
        args: &[Bytes],
        db: usize,
        before: Before,
        effects: &[Vec<Bytes>],
    ) {
        let own = std::mem::take(&mut self.ks.events);
        for (key, _) in before
            .keys
            .iter()
            .zip(&before.existed)
            .filter(|(_, e)| !**e)
        {
            if self.exists_now(db, key) {
                self.ks.notify(notify::NEW, "new", key, db);
            }
        }
        self.ks.events.extend(own.iter().cloned());
        let effect_key = effects.first().and_then(|c| c.get(1));
        self.queue_fires(spec, args, db, &before.keys, effect_key);
        for (key, _) in before.keys.iter().zip(&before.existed).filter(|(_, e)| **e) {
            let told = own.iter().any(|e: &KeyEvent| e.db == db && e.key == key);
            if !told && !self.exists_now(db, key) {
                self.ks.notify(notify::GENERIC, "del", key, db);
            }
        }
    }

    /// A blocked client's pop was served (`cmd` is its effect, LPOP/ZPOPMIN/LMOVE...): its
    /// events, and `del` for the source it emptied.
    pub(crate) fn after_served_pop(&mut self, db: usize, cmd: &[Bytes]) {
        let Some(spec) = self.command(&cmd[0]) else {
            return;
        };
        let keys: Vec<Bytes> = crate::acl::keys::keys(spec, cmd)
            .into_iter()
            .map(|(pos, _)| cmd[pos].clone())
            .collect();
        self.queue_fires(spec, cmd, db, &keys, None);
        if !self.exists_now(db, &cmd[1]) {
            self.ks.notify(notify::GENERIC, "del", &cmd[1], db);
        }
    }

    fn queue_fires(
        &mut self,
        spec: &CommandSpec,
        args: &[Bytes],
        db: usize,
        keys: &[Bytes],
        effect_key: Option<&Bytes>,
    ) {
        for fire in fires(spec, args) {
            let targets: Vec<&Bytes> = match fire.target {
                Target::Key(i) => keys.get(i).into_iter().collect(),
                Target::All => keys.iter().collect(),
                Target::Effect => effect_key.into_iter().collect(),
            };
            for key in targets {
                if !fire.live || self.exists_now(db, key) {
                    self.ks.notify(fire.class, fire.event, key, db);
                }
            }
        }
    }

    fn exists_now(&self, db: usize, key: &[u8]) -> bool {
        let (now_ms, mode) = (self.last_now.unix_ms, self.ks.mode);
        self.ks.dbs[db].peek(key, now_ms, mode).is_some()
    }
}
