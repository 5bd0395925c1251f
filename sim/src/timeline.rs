//! The timeline picture's model, read from a run's trace and report: one lane per node over
//! simulated time with its states (a server's role or down, a client's link, a sentinel's view of
//! its master), fault bands (crash, kill, partition, pause, clock jump, disk failure), sentinel
//! events as markers (`+switch-master` also as a failover across every lane), and each server's
//! acknowledged and lost writes per time bucket. `crate::timeline_html` draws it as one
//! self-contained HTML page.

use crate::run::{node_ip, Report};
use crate::scenario::{FaultAction, Scenario};
use crate::trace::parse_line;
use serde::de::value::StrDeserializer;
use serde::de::IntoDeserializer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Markers drawn at most; later ones are counted, not drawn.
const MAX_MARKERS: usize = 5_000;
/// Write buckets per lane at most.
const MAX_BUCKETS: u64 = 150;
/// Bucket widths to choose from (the first giving at most `MAX_BUCKETS`).
const BUCKET_MS: [u64; 10] = [
    50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneKind {
    Server,
    Sentinel,
    Client,
    /// A node the scenario does not name that traces no sentinel events.
    Other,
}

impl LaneKind {
    pub fn word(self) -> &'static str {
        match self {
            LaneKind::Server => "server",
            LaneKind::Sentinel => "sentinel",
            LaneKind::Client => "client",
            LaneKind::Other => "other",
        }
    }
}

/// A stretch of time on one lane: a state or a fault band (`to_ms == from_ms`: a moment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
    /// CSS class: `master`, `replica`, `down`, ... or the fault's name.
    pub class: &'static str,
    pub label: String,
}

/// One event drawn at a moment on a lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub at_ms: u64,
    pub node: String,
    /// The event's name (`+sdown`, `+switch-master`, `replicaof`).
    pub event: String,
    /// CSS class: `down`, `up`, `step`, `failover` or `action`.
    pub class: &'static str,
    pub label: String,
}

pub struct Lane {
    pub node: String,
    pub kind: LaneKind,
    pub states: Vec<Span>,
    pub faults: Vec<Span>,
    pub markers: Vec<Marker>,
    /// Writes acknowledged by this server per bucket, and how many of them were lost.
    pub acked: Vec<u32>,
    pub lost: Vec<u32>,
}

pub struct Timeline {
    pub title: String,
    pub seed: u64,
    pub end_ms: u64,
    pub bucket_ms: u64,
    pub lanes: Vec<Lane>,
    /// `+switch-master` events, drawn across every lane.
    pub failovers: Vec<Marker>,
    pub markers_left_out: usize,
    pub verdict: String,
    pub summary: String,
    pub trace: String,
}

/// What a lane's events have told so far.
struct LaneBuilder {
    lane: Lane,
    /// The state now: (since, class, label).
    state: Option<(u64, &'static str, String)>,
    open_faults: BTreeMap<&'static str, (u64, String)>,
    /// A server's master, from its last `replicaof` event.
    master: String,
    /// A sentinel's view of its master: subjectively down, objectively down, failing over, TILT.
    sdown: bool,
    odown: bool,
    failover: bool,
    tilt: bool,
}

impl LaneBuilder {
    fn new(node: &str, kind: LaneKind) -> Self {
        let (class, label) = match kind {
            LaneKind::Client => ("link-down", "connecting"),
            LaneKind::Sentinel => ("watching", "monitoring"),
            LaneKind::Server | LaneKind::Other => ("up", "up, no role traced"),
        };
        LaneBuilder {
            lane: Lane {
                node: node.to_string(),
                kind,
                states: Vec::new(),
                faults: Vec::new(),
                markers: Vec::new(),
                acked: Vec::new(),
                lost: Vec::new(),
            },
            state: Some((0, class, label.to_string())),
            open_faults: BTreeMap::new(),
            master: String::new(),
            sdown: false,
            odown: false,
            failover: false,
            tilt: false,
        }
    }

    /// The state from `at_ms` on (a state that lasted no time is replaced).
    fn set(&mut self, at_ms: u64, class: &'static str, label: String) {
        match self.state.take() {
            Some((since, c, l)) if (c, l.as_str()) == (class, label.as_str()) => {
                self.state = Some((since, c, l));
                return;
            }
            Some((since, c, l)) if since < at_ms => self.lane.states.push(Span {
                from_ms: since,
                to_ms: at_ms,
                class: c,
                label: l,
            }),
            _ => {}
        }
        self.state = Some((at_ms, class, label));
    }

    fn open(&mut self, class: &'static str, at_ms: u64, label: &str) {
        self.open_faults
            .entry(class)
            .or_insert((at_ms, label.to_string()));
    }

    fn close(&mut self, class: &'static str, at_ms: u64) {
        if let Some((from_ms, label)) = self.open_faults.remove(class) {
            self.lane.faults.push(Span {
                from_ms,
                to_ms: at_ms,
                class,
                label,
            });
        }
    }

    fn server_event(&mut self, at_ms: u64, event: &str) {
        let master = self.master.clone();
        match event {
            "ready" | "role master" => self.set(at_ms, "master", "master".into()),
            "sync full" | "sync partial" => {
                self.set(at_ms, "replica", format!("replica of {master}"))
            }
            "master link down" => self.set(
                at_ms,
                "replica-down",
                format!("replica of {master}, link down"),
            ),
            e => {
                if let Some(addr) = e.strip_prefix("replicaof ") {
                    self.master = addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_string();
                    let label = format!("replica of {}, syncing", self.master);
                    self.set(at_ms, "replica-down", label);
                }
            }
        }
    }

    fn client_event(&mut self, at_ms: u64, event: &str) {
        if event == "+link" || event == "+ok" {
            self.set(at_ms, "link-up", "connected".into());
        } else if let Some(why) = event.strip_prefix("-link") {
            self.set(at_ms, "link-down", format!("disconnected{why}"));
        } else if let Some(code) = event.strip_prefix("-err ") {
            self.set(at_ms, "refused", format!("writes refused ({code})"));
        }
    }

    /// Updates a sentinel's view from one of its events; returns the marker's class.
    fn sentinel_event(&mut self, at_ms: u64, name: &str, about_master: bool) -> &'static str {
        match (name, about_master) {
            ("+sdown", true) => self.sdown = true,
            ("-sdown", true) => self.sdown = false,
            ("+odown", true) => self.odown = true,
            ("-odown", true) => self.odown = false,
            ("+try-failover", _) => self.failover = true,
            ("+failover-end" | "+failover-end-for-timeout", _) => self.failover = false,
            (n, _) if n.starts_with("-failover-abort") => self.failover = false,
            // The sentinel now monitors the new master.
            ("+switch-master", _) => (self.sdown, self.odown) = (false, false),
            ("+tilt", _) => self.tilt = true,
            ("-tilt", _) => self.tilt = false,
            _ => {}
        }
        let (class, label) = if self.tilt {
            ("tilt", "TILT mode")
        } else if self.failover {
            ("failover", "failing over")
        } else if self.odown {
            ("odown", "master objectively down")
        } else if self.sdown {
            ("sdown", "master subjectively down")
        } else {
            ("watching", "monitoring")
        };
        self.set(at_ms, class, label.into());
        match name {
            "+switch-master" => "failover",
            "+sdown" | "+odown" | "+tilt" => "down",
            "-sdown" | "-odown" | "-tilt" => "up",
            _ => "step",
        }
    }

    fn finish(mut self, end_ms: u64) -> Lane {
        self.set(end_ms, "end", String::new());
        let open: Vec<&'static str> = self.open_faults.keys().copied().collect();
        for class in open {
            self.close(class, end_ms);
        }
        self.lane.faults.sort_by_key(|f| f.from_ms);
        self.lane
    }
}

impl Timeline {
    /// The picture of `report`, a run of `scenario`.
    pub fn build(scenario: &Scenario, report: &Report) -> Timeline {
        let scenario = &scenario.topology(report.seed);
        let sentinels = scenario.sentinel_names();
        let servers: Vec<String> = scenario
            .server_list()
            .into_iter()
            .map(|s| s.0)
            .filter(|s| !sentinels.contains(s))
            .collect();
        let clients: Vec<String> = scenario.client_list().into_iter().map(|c| c.name).collect();
        let events: Vec<(u64, &str, &str)> = report.trace.lines().filter_map(parse_line).collect();
        let end_ms = events
            .iter()
            .map(|e| e.0)
            .fold(report.sim_ms, u64::max)
            .max(1);
        let mut lanes = lanes_in_order(&servers, &clients, &events);
        let index: BTreeMap<String, usize> = lanes
            .iter()
            .enumerate()
            .map(|(i, l)| (l.lane.node.clone(), i))
            .collect();
        let addresses: BTreeMap<String, String> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (node_ip(1, i).to_string(), s.clone()))
            .collect();
        let (mut failovers, mut markers, mut left_out) = (Vec::new(), 0, 0);
        for &(at_ms, who, event) in &events {
            if who == "harness" {
                harness_event(&mut lanes, &index, at_ms, event);
                continue;
            }
            let Some(lane) = index.get(who).map(|&i| &mut lanes[i]) else {
                continue;
            };
            if event == "shutdown" || event.starts_with("exit ") || event.starts_with("failed") {
                lane.set(at_ms, "down", event.to_string());
                continue;
            }
            match lane.lane.kind {
                LaneKind::Server => lane.server_event(at_ms, event),
                LaneKind::Client => lane.client_event(at_ms, event),
                LaneKind::Other => {}
                LaneKind::Sentinel => {
                    let mut words = event.split(' ');
                    let name = words.next().unwrap_or_default();
                    if !name.starts_with(['+', '-']) {
                        continue;
                    }
                    let class = lane.sentinel_event(at_ms, name, words.next() == Some("master"));
                    let marker = Marker {
                        at_ms,
                        node: who.to_string(),
                        event: name.to_string(),
                        class,
                        label: event.to_string(),
                    };
                    if class == "failover" {
                        failovers.push(Marker {
                            label: failover_label(event, &addresses),
                            ..marker.clone()
                        });
                    }
                    if markers < MAX_MARKERS {
                        lane.lane.markers.push(marker);
                        markers += 1;
                    } else {
                        left_out += 1;
                    }
                }
            }
        }
        let bucket_ms = BUCKET_MS
            .iter()
            .copied()
            .find(|b| end_ms.div_ceil(*b) <= MAX_BUCKETS)
            .unwrap_or(end_ms.div_ceil(MAX_BUCKETS));
        let buckets = end_ms.div_ceil(bucket_ms) as usize;
        let lanes = lanes
            .into_iter()
            .map(|b| {
                let mut lane = b.finish(end_ms);
                if let Some(acks) = report.acks.get(&lane.node) {
                    lane.acked = vec![0; buckets];
                    lane.lost = vec![0; buckets];
                    for &(at_ms, lost) in acks {
                        let i = ((at_ms / bucket_ms) as usize).min(buckets - 1);
                        lane.acked[i] += 1;
                        lane.lost[i] += lost as u32;
                    }
                }
                lane
            })
            .collect();
        Timeline {
            title: report.scenario.clone(),
            seed: report.seed,
            end_ms,
            bucket_ms,
            lanes,
            failovers,
            markers_left_out: left_out,
            verdict: report.verdict(),
            summary: report.summary(),
            trace: report.trace.clone(),
        }
    }

    /// Writes the picture of `report` to `path` as a self-contained HTML file.
    pub fn write(scenario: &Scenario, report: &Report, path: &Path) -> Result<(), String> {
        let html = crate::timeline_html::render(&Timeline::build(scenario, report));
        std::fs::write(path, html).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Servers in scenario order, then other traced nodes (sentinels) by name, then clients.
fn lanes_in_order(
    servers: &[String],
    clients: &[String],
    events: &[(u64, &str, &str)],
) -> Vec<LaneBuilder> {
    let mut others: BTreeMap<&str, LaneKind> = BTreeMap::new();
    for &(_, who, event) in events {
        if ["harness", "check"].contains(&who) || servers.iter().chain(clients).any(|n| n == who) {
            continue;
        }
        let kind = others.entry(who).or_insert(LaneKind::Other);
        if event.starts_with(['+', '-']) {
            *kind = LaneKind::Sentinel;
        }
    }
    let servers = servers
        .iter()
        .map(|s| LaneBuilder::new(s, LaneKind::Server));
    let others = others.into_iter().map(|(n, k)| LaneBuilder::new(n, k));
    let clients = clients
        .iter()
        .map(|c| LaneBuilder::new(c, LaneKind::Client));
    servers.chain(others).chain(clients).collect()
}

/// Applies a harness line (`crash s1,s2 (…)`, `heal`, `workload stopped; faults healed`).
fn harness_event(
    lanes: &mut [LaneBuilder],
    index: &BTreeMap<String, usize>,
    at_ms: u64,
    line: &str,
) {
    let mut words = line.split(' ');
    let word = words.next().unwrap_or_default();
    let as_action: StrDeserializer<'_, serde::de::value::Error> = word.into_deserializer();
    let Ok(action) = FaultAction::deserialize(as_action) else {
        if line.starts_with("workload stopped") {
            for lane in lanes.iter_mut() {
                lane.close("partition", at_ms);
                if lane.lane.kind == LaneKind::Client {
                    lane.set(at_ms, "stopped", "stopped".into());
                }
            }
        }
        return;
    };
    if action == FaultAction::Heal {
        lanes.iter_mut().for_each(|l| l.close("partition", at_ms));
        return;
    }
    let nodes = words.next().unwrap_or_default().split(',');
    for &i in nodes.filter_map(|n| index.get(n)) {
        let lane = &mut lanes[i];
        match action {
            FaultAction::Kill | FaultAction::Crash => {
                lane.open(action.word(), at_ms, line);
                lane.set(at_ms, "down", format!("down ({word})"));
                (lane.sdown, lane.odown, lane.failover, lane.tilt) = (false, false, false, false);
            }
            FaultAction::Restart => {
                lane.close("kill", at_ms);
                lane.close("crash", at_ms);
                lane.set(at_ms, "up", "restarting".into());
            }
            FaultAction::Partition
            | FaultAction::Pause
            | FaultAction::DiskFail
            | FaultAction::DiskLoss => lane.open(action.word(), at_ms, line),
            FaultAction::Resume => lane.close("pause", at_ms),
            FaultAction::DiskHeal => lane.close("disk-fail", at_ms),
            FaultAction::ClockJump => lane.lane.faults.push(Span {
                from_ms: at_ms,
                to_ms: at_ms,
                class: "clock-jump",
                label: line.to_string(),
            }),
            FaultAction::Replicaof | FaultAction::Command => lane.lane.markers.push(Marker {
                at_ms,
                node: lane.lane.node.clone(),
                event: action.word().into(),
                class: "action",
                label: line.to_string(),
            }),
            FaultAction::Heal | FaultAction::Latency => {}
        }
    }
}

/// `+switch-master mymaster 10.1.0.1 6379 10.1.0.2 6379` as `failover of mymaster: s1 -> s2`
/// (servers named where their address is known).
fn failover_label(event: &str, addresses: &BTreeMap<String, String>) -> String {
    let w: Vec<&str> = event.split(' ').collect();
    let name = |ip: &str, port: &str| {
        addresses
            .get(ip)
            .cloned()
            .unwrap_or_else(|| format!("{ip}:{port}"))
    };
    match w.as_slice() {
        [_, master, old_ip, old_port, new_ip, new_port, ..] => format!(
            "failover of {master}: {} -> {}",
            name(old_ip, old_port),
            name(new_ip, new_port)
        ),
        _ => event.to_string(),
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
