//! Sentinels in simulation (their sentinel.conf is `crate::config_file`'s): finding the master
//! through them like redis-py's `Sentinel` does, and the end-of-run checks of a Sentinel-managed
//! group.
//!
//! ```toml
//! [[server]]
//! name = "x"
//! count = 3
//! sentinel = true
//! config = ["sentinel monitor mymaster s1 6379 2", "sentinel down-after-milliseconds mymaster 1000"]
//!
//! [[expect.sentinel]]
//! master = "mymaster"
//! servers = ["s1", "s2", "s3"]   # the group: after heal one master, the rest its replicas
//! final_master_not = "s1"        # optional
//! ```

use crate::client::Conn;
use redsim::env::Env;
use redsim::resp::Frame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelExpect {
    /// The monitored master's name.
    pub master: String,
    /// The servers of the group.
    pub servers: Vec<String>,
    /// The server that must not be the master at the end (the one that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_master_not: Option<String>,
    /// The server that must be the master at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_master: Option<String>,
    /// Least and most `+switch-master` events any one Sentinel may report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switches_min: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switches_max: Option<usize>,
}

/// Asks each Sentinel in turn for the master's address, and keeps the first answer whose
/// server confirms with ROLE that it is a master (redis-py's `Sentinel.discover_master`).
pub async fn discover_master<E: Env>(
    env: &E,
    sentinels: &[SocketAddr],
    master: &str,
) -> Option<SocketAddr> {
    for s in sentinels {
        let Some(addr) = ask_master_addr(env, *s, master).await else {
            continue;
        };
        let Ok(mut c) = Conn::open(env, addr).await else {
            continue;
        };
        if let Ok(Frame::Array(role)) = c.call(&[b"ROLE"]).await {
            if role.first() == Some(&Frame::Bulk("master".into())) {
                return Some(addr);
            }
        }
    }
    None
}

/// One Sentinel's `SENTINEL GET-MASTER-ADDR-BY-NAME`.
pub async fn ask_master_addr<E: Env>(
    env: &E,
    sentinel: SocketAddr,
    master: &str,
) -> Option<SocketAddr> {
    let mut c = Conn::open(env, sentinel).await.ok()?;
    let reply = c
        .call(&[b"SENTINEL", b"GET-MASTER-ADDR-BY-NAME", master.as_bytes()])
        .await
        .ok()?;
    let Frame::Array(items) = reply else {
        return None;
    };
    let [Frame::Bulk(ip), Frame::Bulk(port)] = items.as_slice() else {
        return None;
    };
    let ip: IpAddr = std::str::from_utf8(ip).ok()?.parse().ok()?;
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// A Sentinel's config epoch for `master` (`SENTINEL MASTER`'s config-epoch field).
async fn config_epoch<E: Env>(env: &E, sentinel: SocketAddr, master: &str) -> Option<String> {
    let mut c = Conn::open(env, sentinel).await.ok()?;
    let Frame::Array(fields) = c
        .call(&[b"SENTINEL", b"MASTER", master.as_bytes()])
        .await
        .ok()?
    else {
        return None;
    };
    let pos = fields
        .iter()
        .position(|f| *f == Frame::Bulk("config-epoch".into()))?;
    match fields.get(pos + 1)? {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A server's `ROLE`: `Some(None)` for a master, `Some(Some((host, port)))` for a replica.
pub async fn role_of<E: Env>(env: &E, addr: SocketAddr) -> Option<Option<(String, u16)>> {
    let mut c = Conn::open(env, addr).await.ok()?;
    let Frame::Array(role) = c.call(&[b"ROLE"]).await.ok()? else {
        return None;
    };
    match role.as_slice() {
        [Frame::Bulk(r), ..] if r.as_ref() == b"master" => Some(None),
        [Frame::Bulk(r), Frame::Bulk(host), Frame::Int(port), ..] if r.as_ref() == b"slave" => {
            let host = String::from_utf8_lossy(host).into_owned();
            Some(Some((host, u16::try_from(*port).ok()?)))
        }
        _ => None,
    }
}

/// After heal (each finding with its check's name): all Sentinels agree on the master and its
/// config epoch, exactly one server of the group is a master and it is the one they name, and
/// every other server replicates from it (directly, or through other replicas of it).
pub async fn final_check<E: Env>(
    env: &E,
    e: &SentinelExpect,
    sentinels: &[(String, SocketAddr)],
    nodes: &BTreeMap<String, SocketAddr>,
) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let name_of = |a: SocketAddr| {
        nodes
            .iter()
            .find(|(_, n)| **n == a)
            .map_or(a.to_string(), |(k, _)| k.clone())
    };
    let mut views = BTreeMap::new();
    for (sname, addr) in sentinels {
        let master = ask_master_addr(env, *addr, &e.master).await.map(name_of);
        let epoch = config_epoch(env, *addr, &e.master).await;
        views.insert(sname.clone(), (master, epoch));
    }
    let distinct: std::collections::BTreeSet<_> = views.values().collect();
    if distinct.len() != 1 {
        v.push((
            "sentinel.agreement",
            format!("sentinels disagree on {}: {views:?}", e.master),
        ));
    }
    let agreed = views.values().next().and_then(|(m, _)| m.clone());
    let mut masters = Vec::new();
    let mut upstream: BTreeMap<String, String> = BTreeMap::new();
    for s in &e.servers {
        let Some(&addr) = nodes.get(s) else { continue };
        match role_of(env, addr).await {
            Some(None) => masters.push(s.clone()),
            Some(Some((host, port))) => {
                // Configs name servers by name (`replicaof s1 6379`), Sentinels by address.
                let up = match host.parse::<IpAddr>() {
                    Ok(ip) => name_of(SocketAddr::new(ip, port)),
                    Err(_) => host,
                };
                upstream.insert(s.clone(), up);
            }
            None => v.push((
                "sentinel.roles",
                format!("{s} did not answer ROLE after heal"),
            )),
        }
    }
    // A replica of a replica of the master is allowed: a replica the Sentinels never learned
    // of (it was not connected to the master at its last INFO) keeps the master it has, and
    // Redis' Sentinels leave it so.
    for (s, up) in &upstream {
        let mut at = up;
        for _ in 0..upstream.len() {
            match upstream.get(at) {
                Some(next) if Some(at) != agreed.as_ref() => at = next,
                _ => break,
            }
        }
        if Some(at) != agreed.as_ref() {
            v.push((
                "sentinel.roles",
                format!("{s} replicates from {up}, not from the master {agreed:?}"),
            ));
        }
    }
    if masters.len() != 1 || masters.first() != agreed.as_ref() {
        v.push((
            "sentinel.roles",
            format!(
                "after heal the masters of {} are {masters:?}, sentinels say {agreed:?}",
                e.master
            ),
        ));
    }
    if let (Some(not), Some(m)) = (&e.final_master_not, &agreed) {
        if m == not {
            v.push((
                "sentinel.final_master",
                format!("{not} is still the master of {}", e.master),
            ));
        }
    }
    if let (Some(want), Some(m)) = (&e.final_master, &agreed) {
        if m != want {
            v.push((
                "sentinel.final_master",
                format!("the master of {} is {m}, expected {want}", e.master),
            ));
        }
    }
    v
}

/// Trace checks (each finding with its check's name): no Sentinel voted for two leaders in one epoch, and each Sentinel's number of
/// `+switch-master` events for `e.master` is within bounds.
pub fn trace_check(
    e: &SentinelExpect,
    sentinels: &[String],
    trace: &str,
) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let mut votes: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut switches: BTreeMap<String, usize> = sentinels.iter().map(|s| (s.clone(), 0)).collect();
    for line in trace.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [t, node, "+vote-for-leader", leader, epoch, ..] => {
                let key = (node.to_string(), epoch.to_string());
                if let Some(prev) = votes.insert(key, leader.to_string()) {
                    if prev != *leader {
                        v.push((
                            "sentinel.double_vote",
                            format!(
                                "{node} voted for {prev} and {leader} in epoch {epoch} (at {t})"
                            ),
                        ));
                    }
                }
            }
            [_, node, "+switch-master", m, ..] if *m == e.master => {
                if let Some(n) = switches.get_mut(*node) {
                    *n += 1;
                }
            }
            _ => {}
        }
    }
    let most = switches.values().copied().max().unwrap_or(0);
    let least = switches.values().copied().min().unwrap_or(0);
    if e.switches_min.is_some_and(|min| least < min) {
        v.push((
            "sentinel.switches",
            format!(
                "+switch-master counts {switches:?}, expected at least {:?}",
                e.switches_min
            ),
        ));
    }
    if e.switches_max.is_some_and(|max| most > max) {
        v.push((
            "sentinel.switches",
            format!(
                "+switch-master counts {switches:?}, expected at most {:?}",
                e.switches_max
            ),
        ));
    }
    v
}
