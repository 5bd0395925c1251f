//! Scenario files (`scenarios/*.toml`): topology, workload, fault schedule, run length and
//! expectations, as data.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The pinned seed tests and snapshots use; `--seed` / `SIM_SEED` override it.
    pub seed: u64,
    pub duration_s: f64,
    #[serde(default, rename = "server")]
    pub servers: Vec<ServerGroup>,
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientGroup>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub expect: Expect,
    /// Trace only the harness, client and check lines, not every node transition (large runs).
    #[serde(default)]
    pub quiet_trace: bool,
}

/// One server, or `count` servers named `<name>1..<name>N`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGroup {
    pub name: String,
    #[serde(default)]
    pub count: Option<usize>,
    /// redis.conf lines.
    #[serde(default)]
    pub config: Vec<String>,
}

/// One client, or `count` clients; client i targets server i of the `servers` group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroup {
    pub name: String,
    #[serde(default)]
    pub count: Option<usize>,
    /// A server name, or a group name when `count` is set.
    pub server: String,
    pub workload: Workload,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_interval_ms() -> u64 {
    100
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// SET a new key each interval, then GET it back; every acknowledged write is checked at the end.
    WriteRead,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub at_s: f64,
    pub action: FaultAction,
    /// Nodes the action applies to (for `partition`: the side cut off from everyone else).
    #[serde(default)]
    pub nodes: Vec<String>,
    /// For `clock-jump`: how far the wall clock moves (may be negative).
    #[serde(default)]
    pub jump_s: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// The process dies (kill -9); the OS keeps what it had written.
    Kill,
    /// The machine loses power: the process dies and unsynced disk writes are lost.
    Crash,
    /// Start a killed or crashed node again.
    Restart,
    /// Cut `nodes` off from every other node, both directions.
    Partition,
    /// Remove every partition.
    Heal,
    /// SIGSTOP / SIGCONT.
    Pause,
    Resume,
    /// Move the nodes' wall clocks by `jump_s`.
    ClockJump,
}

/// What the run must show; every field is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub lost_writes_min: Option<u64>,
    pub lost_writes_max: Option<u64>,
    pub acked_writes_min: Option<u64>,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    /// Every server as (name, config lines), groups expanded.
    pub fn server_list(&self) -> Vec<(String, Vec<String>)> {
        expand(
            &self.servers,
            |g| (&g.name, g.count),
            |g, name| (name, g.config.clone()),
        )
    }

    /// Every client as (name, target server, workload, interval), groups expanded.
    pub fn client_list(&self) -> Vec<(String, String, Workload, u64)> {
        expand(
            &self.clients,
            |g| (&g.name, g.count),
            |g, name| {
                let i = name[g.name.len()..].to_string();
                let server = if g.count.is_some() {
                    format!("{}{i}", g.server)
                } else {
                    g.server.clone()
                };
                (name, server, g.workload, g.interval_ms)
            },
        )
    }

    fn validate(&self) -> Result<(), String> {
        let servers: Vec<String> = self.server_list().into_iter().map(|s| s.0).collect();
        let clients = self.client_list();
        for (c, server, ..) in &clients {
            if !servers.contains(server) {
                return Err(format!("client {c} targets unknown server {server}"));
            }
        }
        for f in &self.faults {
            for n in &f.nodes {
                if !servers.contains(n) && !clients.iter().any(|c| &c.0 == n) {
                    return Err(format!("fault at {}s names unknown node {n}", f.at_s));
                }
            }
            if f.at_s < 0.0 || f.at_s > self.duration_s {
                return Err(format!(
                    "fault at {}s is outside the run (0..{}s)",
                    f.at_s, self.duration_s
                ));
            }
        }
        Ok(())
    }
}

fn expand<G, T>(
    groups: &[G],
    head: impl Fn(&G) -> (&String, Option<usize>),
    make: impl Fn(&G, String) -> T,
) -> Vec<T> {
    let mut out = Vec::new();
    for g in groups {
        match head(g) {
            (name, None) => out.push(make(g, name.clone())),
            (name, Some(n)) => out.extend((1..=n).map(|i| make(g, format!("{name}{i}")))),
        }
    }
    out
}
