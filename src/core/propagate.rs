//! Effects of write commands on their way to the AOF (and, with replication, to replicas):
//! RESP arrays with SELECT inserted when the database changes, expired keys as DEL, and the
//! effects of a transaction wrapped in MULTI/EXEC.

use super::Server;
use crate::resp::Out;
use bytes::{Bytes, BytesMut};

/// One consumer's stream of effects, tracking the database it last selected.
#[derive(Debug, Default)]
pub struct Feed {
    selected_db: Option<usize>,
    pub buf: BytesMut,
}

impl Feed {
    /// Appends `cmd`, run in database `db` (`None`: in none, as MULTI and EXEC are, so they
    /// never make the stream SELECT; Redis propagates them with db -1).
    pub fn push(&mut self, db: Option<usize>, cmd: &[Bytes]) {
        let mut out = Out::new(&mut self.buf);
        if let Some(db) = db.filter(|db| self.selected_db != Some(*db)) {
            out.array(2);
            out.bulk(b"SELECT");
            out.bulk(db.to_string().as_bytes());
            self.selected_db = Some(db);
        }
        out.array(cmd.len());
        for a in cmd {
            out.bulk(a);
        }
    }

    /// The database the stream last selected, if any.
    pub fn selected(&self) -> Option<usize> {
        self.selected_db
    }

    /// The next effect starts with SELECT (a new file, a new replica stream).
    pub fn forget_db(&mut self) {
        self.selected_db = None;
    }
}

impl Server {
    /// Feeds a write's effects (already rewritten as effects by the command) to every consumer.
    pub(crate) fn propagate(&mut self, db: usize, cmds: Vec<Vec<Bytes>>) {
        if self.replaying {
            return;
        }
        if let Some(txn) = self.exec_effects.as_mut() {
            txn.extend(cmds.into_iter().map(|c| (db, c)));
            return;
        }
        for cmd in &cmds {
            self.feed_effect(Some(db), cmd);
        }
    }

    /// Whether `propagate` feeds anything: a transaction's effects, the AOF, or replication.
    pub(crate) fn propagates(&self) -> bool {
        !self.replaying && (self.exec_effects.is_some() || self.aof.is_some() || self.repl_feeds())
    }

    fn feed_effect(&mut self, db: Option<usize>, cmd: &[Bytes]) {
        if let Some(aof) = self.aof.as_mut() {
            aof.feed.push(db, cmd);
        }
        self.repl_feed_command(db, cmd);
    }

    /// EXEC starts collecting its commands' effects.
    pub(crate) fn begin_exec_effects(&mut self) {
        self.exec_effects = Some(Vec::new());
    }

    /// EXEC is over: its effects go out, wrapped in MULTI/EXEC when there are several.
    pub(crate) fn end_exec_effects(&mut self) {
        let Some(effects) = self.exec_effects.take() else {
            return;
        };
        let wrap = effects.len() > 1;
        if wrap {
            self.feed_effect(None, &[Bytes::from_static(b"MULTI")]);
        }
        for (db, cmd) in &effects {
            self.feed_effect(Some(*db), cmd);
        }
        if wrap {
            self.feed_effect(None, &[Bytes::from_static(b"EXEC")]);
        }
    }

    /// Keys removed by expiry (lazy or active) since the last call: counted, queued as `expired`
    /// events, and propagated as DEL.
    pub(crate) fn drain_expired(&mut self) {
        for idx in 0..self.ks.dbs.len() {
            if self.ks.dbs[idx].expired.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut self.ks.dbs[idx].expired);
            self.ks.stats.expired_keys += keys.len() as u64;
            // Expiry happened first: its events go before the ones the command queued.
            let queued = std::mem::take(&mut self.ks.events);
            for k in &keys {
                self.ks
                    .notify(crate::db::notify::EXPIRED, "expired", k, idx);
            }
            self.ks.events.extend(queued);
            let dels = keys
                .into_iter()
                .map(|k| vec![Bytes::from_static(b"DEL"), k])
                .collect();
            self.propagate(idx, dels);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_is_emitted_only_when_the_database_changes_and_never_for_multi() {
        let mut f = Feed::default();
        f.push(
            Some(0),
            &[Bytes::from("SET"), Bytes::from("k"), Bytes::from("v")],
        );
        f.push(Some(0), &[Bytes::from("DEL"), Bytes::from("k")]);
        f.push(None, &[Bytes::from("MULTI")]);
        f.push(Some(3), &[Bytes::from("DEL"), Bytes::from("k")]);
        assert_eq!(
            &f.buf[..],
            &b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n\
*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"[..]
        );
    }
}
