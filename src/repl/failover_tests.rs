//! FAILOVER's parsing, refusals and waiting, with Redis 7.2's errors and log lines.

use super::*;

fn args(words: &[&str]) -> Vec<Bytes> {
    words.iter().map(|w| Bytes::from(w.to_string())).collect()
}

fn replica(ip: &str, port: i64, ack_offset: i64) -> Candidate {
    Candidate {
        ip: ip.into(),
        port,
        online: true,
        ack_offset,
    }
}

fn start(f: &mut Failover, words: &[&str], replicas: &[Candidate]) -> Result<LogLine, String> {
    let req = parse_failover(&args(words))?;
    f.start(req, false, replicas, 1_000)
}

#[test]
fn arguments_are_parsed_like_redis() {
    assert_eq!(
        parse_failover(&args(&["ABORT"])),
        Ok(FailoverRequest::Abort)
    );
    assert_eq!(
        parse_failover(&args(&["to", "h", "7", "TIMEOUT", "50", "force"])),
        Ok(FailoverRequest::Start {
            to: Some(("h".into(), 7)),
            timeout_ms: Some(50),
            force: true
        })
    );
    let syntax = Err("ERR syntax error".to_string());
    assert_eq!(parse_failover(&args(&["abort", "timeout", "5"])), syntax);
    assert_eq!(parse_failover(&args(&["force", "force"])), syntax);
    assert_eq!(parse_failover(&args(&["to", "h"])), syntax);
    assert_eq!(
        parse_failover(&args(&["to", "h", "port"])),
        Err("ERR value is not an integer or out of range".into())
    );
    assert_eq!(
        parse_failover(&args(&["timeout", "0"])),
        Err("ERR FAILOVER timeout must be greater than 0".into())
    );
}

#[test]
fn a_failover_is_refused_with_redis_errors() {
    let r = [replica("10.0.0.2", 6380, 0)];
    let mut f = Failover::default();
    assert_eq!(
        start(&mut f, &[], &[]),
        Err("ERR FAILOVER requires connected replicas.".into())
    );
    assert_eq!(
        start(&mut f, &["force", "timeout", "100"], &r),
        Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into()
        )
    );
    assert_eq!(
        start(&mut f, &["to", "10.0.0.2", "6381"], &r),
        Err("ERR FAILOVER target HOST and PORT is not a replica.".into())
    );
    let req = parse_failover(&[]).unwrap();
    assert_eq!(
        f.start(req, true, &r, 0),
        Err("ERR FAILOVER is not valid when server is a replica.".into())
    );
    let offline = [Candidate {
        online: false,
        ..r[0].clone()
    }];
    assert_eq!(
        start(&mut f, &["to", "10.0.0.2", "6380"], &offline),
        Err("ERR FAILOVER target replica is not online.".into())
    );
    assert_eq!(f.state, FailoverState::None);
    assert!(start(&mut f, &["TO", "10.0.0.2", "6380"], &r).is_ok());
    assert_eq!(
        start(&mut f, &[], &r),
        Err("ERR FAILOVER already in progress.".into())
    );
}

#[test]
fn the_target_is_failed_over_to_once_it_acknowledged_everything() {
    let mut f = Failover::default();
    let line = start(
        &mut f,
        &["to", "10.0.0.2", "6380"],
        &[replica("10.0.0.2", 6380, 0)],
    );
    assert_eq!(
        line,
        Ok((Notice, "FAILOVER requested to 10.0.0.2:6380.".into()))
    );
    assert_eq!(f.state.name(), "waiting-for-sync");
    let behind = [
        replica("10.0.0.2", 6380, 90),
        replica("10.0.0.3", 6380, 100),
    ];
    assert_eq!(f.tick(2_000, &behind, 100), Decision::Wait);
    let synced = [replica("10.0.0.2", 6380, 100)];
    assert_eq!(
        f.tick(3_000, &synced, 100),
        Decision::FailOver((
            Notice,
            "Failover target 10.0.0.2:6380 is synced, failing over.".into()
        ))
    );
    assert_eq!(f.state.name(), "failover-in-progress");
}

#[test]
fn without_a_target_the_first_caught_up_replica_is_chosen() {
    let mut f = Failover::default();
    let r = [
        replica("10.0.0.2", 6380, 90),
        replica("10.0.0.3", 6381, 100),
    ];
    assert_eq!(
        start(&mut f, &[], &r),
        Ok((Notice, "FAILOVER requested to any replica.".into()))
    );
    assert!(matches!(f.tick(1_100, &r, 100), Decision::FailOver(_)));
    assert_eq!(f.target, Some(("10.0.0.3".into(), 6381)));
}

#[test]
fn a_timeout_aborts_unless_forced() {
    let r = [replica("10.0.0.2", 6380, 0)];
    let mut f = Failover::default();
    start(&mut f, &["to", "10.0.0.2", "6380", "timeout", "500"], &r).unwrap();
    assert_eq!(f.tick(1_499, &r, 100), Decision::Wait);
    assert_eq!(
        f.tick(1_500, &r, 100),
        Decision::Abort("Replica never caught up before timeout")
    );
    assert_eq!(
        f.abort("Replica never caught up before timeout"),
        (
            Notice,
            "FAILOVER to 10.0.0.2:6380 aborted: Replica never caught up before timeout".into()
        )
    );
    assert_eq!(f.state, FailoverState::None);
    start(
        &mut f,
        &["to", "10.0.0.2", "6380", "timeout", "500", "force"],
        &r,
    )
    .unwrap();
    assert_eq!(
        f.tick(1_500, &r, 100),
        Decision::FailOver((
            Notice,
            "FAILOVER to 10.0.0.2:6380 time out exceeded, failing over.".into()
        ))
    );
}
