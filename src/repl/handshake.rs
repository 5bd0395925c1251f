//! The handshake half of [`MasterLink`]: the replies to PING, AUTH and the REPLCONFs, the
//! PSYNC request and its reply (`+FULLRESYNC`, `+CONTINUE`, transient errors, or the fallback
//! to `SYNC`), with Redis' log lines.

use super::{log, LinkEvent, MasterLink, ReplState};
use crate::config::LogLevel::{Notice, Warning};
use crate::repl::transfer::text;
use crate::repl::RUN_ID_SIZE;
use crate::resp::encode_command;
use bytes::Bytes;

impl MasterLink {
    /// One reply line during the handshake.
    pub(super) fn handshake_reply(&mut self, now_ms: u64, line: &[u8], ev: &mut Vec<LinkEvent>) {
        let is_err = line.first() == Some(&b'-');
        match self.state {
            ReplState::ReceivePingReply => {
                let accepted = line.first() == Some(&b'+')
                    || line.starts_with(b"-NOAUTH")
                    || line.starts_with(b"-NOPERM")
                    || line.starts_with(b"-ERR operation not permitted");
                if !accepted {
                    let msg = format!("Error reply to PING from master: '{}'", text(line));
                    return self.fail(now_ms, ev, Warning, msg);
                }
                ev.push(log(
                    Notice,
                    "Master replied to PING, replication can continue...".to_string(),
                ));
                self.send_handshake(ev);
            }
            ReplState::ReceiveAuthReply => {
                if is_err {
                    let msg = format!("Unable to AUTH to MASTER: {}", text(line));
                    return self.fail(now_ms, ev, Warning, msg);
                }
                self.state = ReplState::ReceivePortReply;
            }
            ReplState::ReceivePortReply
            | ReplState::ReceiveIpReply
            | ReplState::ReceiveCapaReply => {
                let (what, next) = match self.state {
                    ReplState::ReceivePortReply if self.cfg.announce_ip.is_some() => {
                        ("listening-port", ReplState::ReceiveIpReply)
                    }
                    ReplState::ReceivePortReply => ("listening-port", ReplState::ReceiveCapaReply),
                    ReplState::ReceiveIpReply => ("ip-address", ReplState::ReceiveCapaReply),
                    _ => ("capa", ReplState::SendPsync),
                };
                if is_err {
                    ev.push(log(
                        Notice,
                        format!(
                            "(Non critical) Master does not understand REPLCONF {what}: {}",
                            text(line)
                        ),
                    ));
                }
                self.state = next;
                if next == ReplState::SendPsync {
                    self.send_psync(ev);
                }
            }
            _ => self.psync_reply(now_ms, line, ev),
        }
    }

    /// Writes AUTH and the REPLCONFs back to back.
    fn send_handshake(&mut self, ev: &mut Vec<LinkEvent>) {
        self.state = ReplState::SendHandshake;
        let cfg = &self.cfg;
        if let Some(pass) = &cfg.masterauth {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            args.extend(cfg.masteruser.as_deref());
            args.push(pass);
            ev.push(LinkEvent::Send(encode_command(&args).freeze()));
        }
        let port = cfg.listening_port.to_string();
        ev.push(send(&["REPLCONF", "listening-port", &port]));
        if let Some(ip) = &cfg.announce_ip {
            ev.push(send(&["REPLCONF", "ip-address", ip]));
        }
        ev.push(send(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
        self.state = if cfg.masterauth.is_some() {
            ReplState::ReceiveAuthReply
        } else {
            ReplState::ReceivePortReply
        };
    }

    fn send_psync(&mut self, ev: &mut Vec<LinkEvent>) {
        let (replid, offset) = match &self.cached {
            Some((replid, offset)) => {
                let offset = offset.saturating_add(1).to_string();
                ev.push(log(
                    Notice,
                    format!("Trying a partial resynchronization (request {replid}:{offset})."),
                ));
                (replid.clone(), offset)
            }
            None => {
                ev.push(log(
                    Notice,
                    "Partial resynchronization not possible (no cached master)".to_string(),
                ));
                ("?".to_string(), "-1".to_string())
            }
        };
        if self.failover {
            ev.push(send(&["PSYNC", &replid, &offset, "FAILOVER"]));
        } else {
            ev.push(send(&["PSYNC", &replid, &offset]));
        }
        self.state = ReplState::ReceivePsyncReply;
    }

    /// The reply to PSYNC.
    fn psync_reply(&mut self, now_ms: u64, line: &[u8], ev: &mut Vec<LinkEvent>) {
        if line.is_empty() {
            return; // keepalive while the master prepares
        }
        if line.starts_with(b"+FULLRESYNC") {
            let (replid, offset) = parse_fullresync(line);
            ev.push(match &replid {
                Some(id) => log(Notice, format!("Full resync from master: {id}:{offset}")),
                None => log(
                    Warning,
                    "Master replied with wrong +FULLRESYNC syntax.".to_string(),
                ),
            });
            ev.push(LinkEvent::FullResync {
                replid: replid.unwrap_or_default(),
                offset,
            });
            return self.begin_transfer();
        }
        if line.starts_with(b"+CONTINUE") {
            if let Some((cached_id, _)) = &self.cached {
                return self.continue_accepted(line, cached_id.clone(), ev);
            }
        }
        let reply = text(line);
        if line.starts_with(b"-NOMASTERLINK") || line.starts_with(b"-LOADING") {
            let msg =
                format!("Master is currently unable to PSYNC but should be in the future: {reply}");
            if self.failover {
                ev.push(log(Notice, msg));
                return self.failover_rejected(now_ms, ev);
            }
            return self.fail(now_ms, ev, Notice, msg);
        }
        ev.push(if line.starts_with(b"-ERR") {
            log(
                Notice,
                format!("Master does not support PSYNC or is in error state (reply: {reply})"),
            )
        } else {
            log(
                Warning,
                format!("Unexpected reply to PSYNC from master: {reply}"),
            )
        });
        if self.failover {
            return self.failover_rejected(now_ms, ev);
        }
        ev.push(log(Notice, "Retrying with SYNC...".to_string()));
        ev.push(LinkEvent::Send(Bytes::from_static(b"SYNC\r\n")));
        self.begin_transfer();
    }

    fn continue_accepted(&mut self, line: &[u8], cached_id: String, ev: &mut Vec<LinkEvent>) {
        ev.push(log(
            Notice,
            "Successful partial resynchronization with master.".to_string(),
        ));
        // `+CONTINUE <id>`: Redis takes the 40 bytes after "+CONTINUE " if that is all there is.
        let new_replid = line
            .get(10..)
            .filter(|id| id.len() == RUN_ID_SIZE)
            .map(text)
            .filter(|id| *id != cached_id);
        if let Some(id) = &new_replid {
            ev.push(log(
                Notice,
                format!("Master replication ID changed to {id}"),
            ));
            self.cached = Some((id.clone(), self.cached.as_ref().map_or(0, |c| c.1)));
        }
        ev.push(LinkEvent::Continue { new_replid });
        ev.push(log(
            Notice,
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.".to_string(),
        ));
        self.go_up();
    }
}

fn send(args: &[&str]) -> LinkEvent {
    LinkEvent::Send(encode_command(args).freeze())
}

/// `+FULLRESYNC <replid> <offset>`: the ID must be exactly 40 bytes between the first two
/// spaces (Redis' check), the offset is read like `strtoll`. `(None, -1)` when malformed.
fn parse_fullresync(line: &[u8]) -> (Option<String>, i64) {
    let mut parts = line.splitn(3, |&b| b == b' ').skip(1);
    match (parts.next(), parts.next()) {
        (Some(id), Some(offset)) if id.len() == RUN_ID_SIZE => {
            (Some(text(id)), crate::repl::strtoll(offset))
        }
        _ => (None, -1),
    }
}
