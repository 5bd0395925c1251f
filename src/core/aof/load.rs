//! Loading the AOF at startup (and again for DEBUG LOADAOF): each file of the manifest in order,
//! an RDB base or RESP commands replayed through the loader client, with `aof-load-truncated`
//! semantics for a torn tail.

use super::{AofStep, AOF_LOADER_ID};
use crate::config::LogLevel;
use crate::core::{DiskOp, Now, Server};
use bytes::Bytes;

/// `blocked_on` of a client whose DEBUG LOADAOF waits for the reload.
const RELOAD_BLOCK: u64 = u64::MAX - 3;

impl Server {
    pub(super) fn aof_load_next(&mut self, index: usize) {
        let files = self.aof.as_ref().expect("aof on").manifest.files();
        match files.get(index) {
            Some(f) => {
                let path = self.aof_path(&f.name);
                self.aof_step(DiskOp::Read { path }, AofStep::Load { index });
            }
            None => {
                self.persist.loading = false;
                self.log(
                    LogLevel::Notice,
                    "DB loaded from append only file: 0.000 seconds".into(),
                );
                self.trace(format!("loaded {} keys from AOF", self.ks.total_keys()));
                match self.aof.as_mut().and_then(|a| a.reloading_for.take()) {
                    Some(id) => self.aof_debug_reloaded(id),
                    None => self.ready(),
                }
            }
        }
    }

    /// DEBUG LOADAOF: flushes the AOF buffer, empties every database and loads the manifest's
    /// files again; client `id` waits for the load. False when the AOF is off.
    pub(crate) fn aof_debug_reload(&mut self, id: crate::core::ConnId) -> bool {
        if self.aof.as_ref().is_none_or(|a| a.wait_rewrite) {
            return false;
        }
        self.aof_flush(false);
        for db in &mut self.ks.dbs {
            db.clear();
        }
        let aof = self.aof.as_mut().expect("checked");
        (aof.current_size, aof.base_size) = (0, 0);
        aof.reloading_for = Some(id);
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked_on = Some(RELOAD_BLOCK);
        }
        self.persist.loading = true;
        self.aof_load_next(0);
        true
    }

    fn aof_debug_reloaded(&mut self, id: crate::core::ConnId) {
        self.dirty = 0;
        self.log(
            LogLevel::Notice,
            "Append Only File loaded by DEBUG LOADAOF".into(),
        );
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        c.blocked_on = None;
        self.reply(id).ok();
        self.pending.insert(id);
        self.process_input(id, self.last_now);
    }

    /// Replays one file: an RDB base, or RESP commands.
    pub(super) fn aof_load_file(&mut self, now: Now, index: usize, data: Bytes) {
        let files = self.aof.as_ref().expect("aof on").manifest.files();
        let file = files[index].clone();
        let last = index + 1 == files.len();
        let size = data.len() as u64;
        if data.starts_with(b"REDIS") {
            if let Err(e) = self.load_rdb_bytes(now, &data) {
                return self.fatal(format!(
                    "Bad file format reading the append only file {}: {e}",
                    file.name
                ));
            }
        } else {
            match self.replay_commands(now, &data) {
                Replay::Complete => {}
                Replay::Truncated { valid_up_to } if last && self.config.aof_load_truncated => {
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "!!! Warning: short read while loading the AOF file {}!!!",
                            file.name
                        ),
                    );
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "!!! Truncating the AOF {} at offset {valid_up_to} !!!",
                            file.name
                        ),
                    );
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "AOF {} loaded anyway because aof-load-truncated is enabled",
                            file.name
                        ),
                    );
                    let path = self.aof_path(&file.name);
                    let kept = data.slice(..valid_up_to);
                    self.aof_step(
                        DiskOp::Write {
                            path: path.clone(),
                            data: kept,
                        },
                        AofStep::Setup,
                    );
                    self.aof_step(DiskOp::Fsync { path }, AofStep::Setup);
                }
                Replay::Truncated { .. } => {
                    return self.fatal(format!("Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", file.name));
                }
                Replay::BadFormat { at } => {
                    self.log(
                        LogLevel::Warning,
                        format!("AOF {}: not a valid command at offset {at}", file.name),
                    );
                    return self.fatal(format!("Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", file.name));
                }
            }
        }
        let aof = self.aof.as_mut().expect("aof on");
        aof.current_size += size;
        if index == 0 && aof.manifest.base.is_some() {
            aof.base_size = size;
        }
        self.aof_load_next(index + 1);
    }
}

/// How replaying a file of commands ended.
enum Replay {
    Complete,
    /// The file ends inside a command (or an open MULTI): bytes before this offset are whole.
    Truncated {
        valid_up_to: usize,
    },
    /// Not RESP commands: the offset of the first bad byte.
    BadFormat {
        at: usize,
    },
}

impl Server {
    /// Replays RESP commands through the loader client (no replies, no propagation).
    fn replay_commands(&mut self, now: Now, data: &Bytes) -> Replay {
        use crate::resp::{parse_request, Limits, Parsed};
        let limits = Limits {
            proto_max_bulk_len: i64::MAX,
            authenticated: true,
        };
        self.add_internal_client(AOF_LOADER_ID, now);
        self.replaying = true;
        let mut buf = bytes::BytesMut::from(&data[..]);
        let (mut pos, mut before_multi) = (0, 0);
        let outcome = loop {
            if buf.is_empty() {
                break if self.clients[&AOF_LOADER_ID].multi.is_some() {
                    Replay::Truncated {
                        valid_up_to: before_multi,
                    }
                } else {
                    Replay::Complete
                };
            }
            if buf[0] == b'#' {
                // An annotation line (`aof-timestamp-enabled` writes `#TS:<unix>`): skipped.
                let n = buf
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(buf.len(), |i| i + 1);
                let _ = buf.split_to(n);
                pos += n;
                continue;
            }
            if buf[0] != b'*' {
                break Replay::BadFormat { at: pos };
            }
            match parse_request(&buf, limits) {
                Ok(Parsed::Command(args, n)) => {
                    let _ = buf.split_to(n);
                    if args[0].eq_ignore_ascii_case(b"multi") {
                        before_multi = pos;
                    }
                    pos += n;
                    self.call(AOF_LOADER_ID, args, now);
                    if let Some(c) = self.clients.get_mut(&AOF_LOADER_ID) {
                        c.out.clear();
                    }
                }
                Ok(Parsed::Empty(n)) => {
                    let _ = buf.split_to(n);
                    pos += n;
                }
                Ok(Parsed::Incomplete) => {
                    let multi = self.clients[&AOF_LOADER_ID].multi.is_some();
                    break Replay::Truncated {
                        valid_up_to: if multi { before_multi } else { pos },
                    };
                }
                Err(_) => break Replay::BadFormat { at: pos },
            }
        };
        self.replaying = false;
        self.free_client(AOF_LOADER_ID);
        outcome
    }
}
