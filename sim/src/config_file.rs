//! A node's config file on its simulated disk, kept as a real redis-server or redis-sentinel
//! keeps it: written from the scenario's lines when the node first starts, rewritten by the node
//! itself (CONFIG REWRITE, which Sentinel sends with every REPLICAOF; a Sentinel's state
//! flushes), and read back at each restart. So a server Sentinel reconfigured restarts as what
//! Sentinel made it, not as the scenario first said. A disk that lost the file (`disk-loss`)
//! gets the scenario's lines again, like a reinstalled host.

use redsim::config::{file::apply_text, Config};
use redsim::env::{write_atomic, Disk};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The file's name on the node's disk.
pub fn file_name(sentinel: bool) -> &'static str {
    if sentinel {
        "sentinel.conf"
    } else {
        "redis.conf"
    }
}

/// A node's initial config text from its scenario lines, and the config it gives (so it is
/// checked before the node starts). `sentinel monitor` may name a
/// server (`s1`) as the master's host; it is replaced by the server's address, since Sentinel
/// takes IP addresses.
pub fn initial_text(
    sentinel: bool,
    lines: &[String],
    ips: &BTreeMap<String, IpAddr>,
) -> Result<(Config, String), String> {
    let text: String = lines
        .iter()
        .map(|l| {
            let mut words: Vec<String> = l.split(' ').map(str::to_string).collect();
            if sentinel && words.len() > 3 && words[0] == "sentinel" && words[1] == "monitor" {
                if let Some(ip) = ips.get(&words[3]) {
                    words[3] = ip.to_string();
                }
            }
            words.join(" ") + "\n"
        })
        .collect();
    Ok((parse(sentinel, &text)?, text))
}

/// A node's config from config-file text (it knows its file, so CONFIG REWRITE works).
pub fn parse(sentinel: bool, text: &str) -> Result<Config, String> {
    let defaults = if sentinel {
        Config::sentinel_defaults()
    } else {
        Config::default()
    };
    let mut config = Config {
        config_file: Some(file_name(sentinel).to_string()),
        ..defaults
    };
    apply_text(&mut config, text).map_err(|e| e.0.trim().to_string())?;
    Ok(config)
}

/// The config file the node left on its disk, if any.
pub fn saved(disk: &dyn Disk, sentinel: bool) -> Option<String> {
    let text = String::from_utf8(disk.read(file_name(sentinel)).ok()?).ok()?;
    (!text.is_empty()).then_some(text)
}

/// The config a (re)starting node reads: its file if it has one, else `initial` (checked by
/// `initial_text`), which becomes its file.
pub fn startup(disk: &dyn Disk, sentinel: bool, initial: &str) -> (Config, String) {
    if let Some(text) = saved(disk, sentinel) {
        if let Ok(c) = parse(sentinel, &text) {
            return (c, text);
        }
    }
    // A disk failing writes (`disk-fail`) leaves no file; the node's next rewrite makes one.
    let _ = write_atomic(disk, file_name(sentinel), initial.as_bytes());
    (
        parse(sentinel, initial).unwrap_or_default(),
        initial.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::SimDisk;

    fn lines(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_server_starts_from_the_scenario_lines_then_from_what_it_rewrote() {
        let disk = SimDisk::default();
        let initial = initial_text(false, &lines(&["replicaof s1 6379"]), &BTreeMap::new());
        let (_, initial) = initial.unwrap();
        let (c, _) = startup(&disk, false, &initial);
        assert_eq!(c.replicaof, Some(("s1".into(), 6379)));
        assert_eq!(c.config_file.as_deref(), Some("redis.conf"));
        assert_eq!(saved(&disk, false).as_deref(), Some(initial.as_str()));
        // As CONFIG REWRITE after REPLICAOF NO ONE leaves it.
        write_atomic(&disk, "redis.conf", b"save \"\"\n").unwrap();
        let (c, text) = startup(&disk, false, &initial);
        assert_eq!(c.replicaof, None);
        assert_eq!(text, "save \"\"\n");
        // Power loss keeps it: the rewrite was fsynced.
        disk.crash(None);
        assert_eq!(startup(&disk, false, &initial).0.replicaof, None);
        disk.wipe();
        assert_eq!(startup(&disk, false, &initial).0.replicaof.unwrap().0, "s1");
    }

    #[test]
    fn a_sentinel_monitor_line_gets_the_servers_address_and_bad_lines_are_refused() {
        let ips = BTreeMap::from([("s1".to_string(), "10.1.0.1".parse().unwrap())]);
        let (_, text) =
            initial_text(true, &lines(&["sentinel monitor m s1 6379 2"]), &ips).unwrap();
        assert_eq!(text, "sentinel monitor m 10.1.0.1 6379 2\n");
        assert!(initial_text(false, &lines(&["no-such-directive 1"]), &ips).is_err());
    }
}
