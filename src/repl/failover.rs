//! The coordinated failover of Redis 6.2+ (`FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT
//! ms]`), master side, as a pure state machine: parsing the command, the checks that refuse it,
//! and the cron's decision while waiting for a replica to catch up.
//!
//! The happy path: the master pauses writes and waits (`waiting-for-sync`) until the target (or,
//! without TO, any replica) has acknowledged the whole stream; then (`failover-in-progress`) it
//! becomes a replica of that target and sends it `PSYNC <replid> <offset> FAILOVER`, on which
//! the target promotes itself and answers `+CONTINUE`; the failover is over (`no-failover`) and
//! writes resume. Without a catch-up before TIMEOUT the failover aborts, or with FORCE goes on
//! anyway. A refused PSYNC aborts it: the old master becomes a master again. The core does the
//! pausing and the role changes (`crate::core::failover`).

use super::LogLine;
use crate::config::LogLevel::Notice;
use crate::resp::parse_i64;
use bytes::Bytes;

/// INFO replication's `master_failover_state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailoverState {
    #[default]
    None,
    WaitForSync,
    InProgress,
}

impl FailoverState {
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

/// What FAILOVER asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailoverRequest {
    Abort,
    Start {
        /// TO host port (the port as given: it is compared with replicas' listening ports).
        to: Option<(String, i64)>,
        /// TIMEOUT in ms, if given (always > 0).
        timeout_ms: Option<i64>,
        force: bool,
    },
}

/// Parses FAILOVER's arguments (after the command name) like `failoverCommand`.
pub fn parse_failover(args: &[Bytes]) -> Result<FailoverRequest, String> {
    if args.len() == 1 && args[0].eq_ignore_ascii_case(b"abort") {
        return Ok(FailoverRequest::Abort);
    }
    let not_int = || "ERR value is not an integer or out of range".to_string();
    let (mut to, mut timeout_ms, mut force) = (None, None, false);
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"timeout") && left >= 1 && timeout_ms.is_none() {
            let t = parse_i64(&args[i + 1]).ok_or_else(not_int)?;
            if t <= 0 {
                return Err("ERR FAILOVER timeout must be greater than 0".into());
            }
            timeout_ms = Some(t);
            i += 2;
        } else if a.eq_ignore_ascii_case(b"to") && left >= 2 && to.is_none() {
            let port = parse_i64(&args[i + 2]).ok_or_else(not_int)?;
            to = Some((String::from_utf8_lossy(&args[i + 1]).into_owned(), port));
            i += 3;
        } else if a.eq_ignore_ascii_case(b"force") && !force {
            force = true;
            i += 1;
        } else {
            return Err("ERR syntax error".into());
        }
    }
    Ok(FailoverRequest::Start {
        to,
        timeout_ms,
        force,
    })
}

/// A replica as FAILOVER sees it: its address (announced IP or peer IP), listening port, whether
/// it is online, and the offset it acknowledged.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub ip: String,
    pub port: i64,
    pub online: bool,
    pub ack_offset: i64,
}

/// The failover in progress (or none).
#[derive(Clone, Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica we fail over to, once known.
    pub target: Option<(String, u16)>,
    /// When waiting for sync gives up (monotonic ms).
    pub end_ms: Option<u64>,
    pub force: bool,
}

/// What the cron decided while waiting for sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Wait,
    /// Give up with this reason (`abort`).
    Abort(&'static str),
    /// Become a replica of the target now (state is already `InProgress`).
    FailOver(LogLine),
}

impl Failover {
    /// Checks a FAILOVER start against the server's state and, if accepted, starts waiting.
    /// `is_replica`: this server follows a master.
    pub fn start(
        &mut self,
        req: FailoverRequest,
        is_replica: bool,
        replicas: &[Candidate],
        now_ms: u64,
    ) -> Result<LogLine, String> {
        let FailoverRequest::Start {
            to,
            timeout_ms,
            force,
        } = req
        else {
            return Err("ERR syntax error".into());
        };
        let refuse = |m: &str| Err(format!("ERR {m}"));
        if self.state != FailoverState::None {
            return refuse("FAILOVER already in progress.");
        }
        if is_replica {
            return refuse("FAILOVER is not valid when server is a replica.");
        }
        if replicas.is_empty() {
            return refuse("FAILOVER requires connected replicas.");
        }
        if force && (timeout_ms.is_none() || to.is_none()) {
            return refuse(
                "FAILOVER with force option requires both a timeout and target HOST and IP.",
            );
        }
        let line = match &to {
            Some((host, port)) => {
                let Some(r) = find(replicas, host, *port) else {
                    return refuse("FAILOVER target HOST and PORT is not a replica.");
                };
                if !r.online {
                    return refuse("FAILOVER target replica is not online.");
                }
                format!("FAILOVER requested to {host}:{port}.")
            }
            None => "FAILOVER requested to any replica.".to_string(),
        };
        // A port that matched a replica's listening port fits in u16.
        self.target = to.map(|(h, p)| (h, p as u16));
        self.end_ms = timeout_ms.map(|t| now_ms.saturating_add(t as u64));
        self.force = force;
        self.state = FailoverState::WaitForSync;
        Ok((Notice, line))
    }

    /// The cron while waiting for sync: time out, or fail over once a replica has acknowledged
    /// `master_offset` (the target, or the first such replica).
    pub fn tick(&mut self, now_ms: u64, replicas: &[Candidate], master_offset: i64) -> Decision {
        if self.state != FailoverState::WaitForSync {
            return Decision::Wait;
        }
        if self.end_ms.is_some_and(|end| end <= now_ms) {
            if !self.force {
                return Decision::Abort("Replica never caught up before timeout");
            }
            self.state = FailoverState::InProgress;
            return Decision::FailOver((
                Notice,
                format!(
                    "FAILOVER to {} time out exceeded, failing over.",
                    self.target_name()
                ),
            ));
        }
        let synced = match &self.target {
            Some((host, port)) => find(replicas, host, i64::from(*port))
                .is_some_and(|r| r.ack_offset == master_offset),
            None => match replicas.iter().find(|r| r.ack_offset == master_offset) {
                Some(r) => {
                    self.target = Some((r.ip.clone(), r.port as u16));
                    true
                }
                None => false,
            },
        };
        if !synced {
            return Decision::Wait;
        }
        self.state = FailoverState::InProgress;
        Decision::FailOver((
            Notice,
            format!(
                "Failover target {} is synced, failing over.",
                self.target_name()
            ),
        ))
    }

    /// The log line of an abort; the failover is over.
    pub fn abort(&mut self, reason: &str) -> LogLine {
        let line = match &self.target {
            Some(_) => format!("FAILOVER to {} aborted: {reason}", self.target_name()),
            None => format!("FAILOVER to any replica aborted: {reason}"),
        };
        *self = Failover::default();
        (Notice, line)
    }

    fn target_name(&self) -> String {
        self.target
            .as_ref()
            .map(|(h, p)| format!("{h}:{p}"))
            .unwrap_or_default()
    }
}

/// Redis' `findReplica`: the host compared without case, the port with the listening port.
fn find<'a>(replicas: &'a [Candidate], host: &str, port: i64) -> Option<&'a Candidate> {
    replicas
        .iter()
        .find(|r| r.ip.eq_ignore_ascii_case(host) && r.port == port)
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
