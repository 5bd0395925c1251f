//! The run's trace: meaningful transitions from nodes, clients and the harness, stamped with
//! simulated time relative to the start, kept in the order they happened, printed as text (and
//! read back from it: the timeline picture is drawn from the text). The harness can wait for new
//! events (faults that strike on an event).

use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// One event: (simulated ms since the start, who, what).
pub type Event = (u64, String, String);

#[derive(Clone)]
pub struct Trace {
    events: Arc<Mutex<Vec<Event>>>,
    /// The number of events, for waiters.
    count: Arc<watch::Sender<usize>>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            events: Default::default(),
            count: Arc::new(watch::channel(0).0),
        }
    }
}

impl Trace {
    /// Records `event` by `who` at `at_ms` (simulated ms since the run started).
    pub fn record(&self, at_ms: u64, who: &str, event: impl Into<String>) {
        let n = {
            let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
            events.push((at_ms, who.to_string(), event.into()));
            events.len()
        };
        self.count.send_replace(n);
    }

    /// The events recorded after the first `from`, in the order they were recorded.
    pub fn since(&self, from: usize) -> Vec<Event> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.get(from..).unwrap_or_default().to_vec()
    }

    /// A receiver that changes whenever an event is recorded.
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// The trace as text: one line per event, sorted by time (stable for equal times).
    pub fn render(&self) -> String {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        events.sort_by_key(|e| e.0);
        events
            .iter()
            .map(|(t, who, e)| format!("{:>4}.{:03}s {who} {e}\n", t / 1000, t % 1000))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One rendered trace line read back: (ms, who, event); `None` for a line `render` did not make.
pub fn parse_line(line: &str) -> Option<(u64, &str, &str)> {
    let (time, rest) = line.trim_start().split_once(' ')?;
    let (secs, ms) = time.strip_suffix('s')?.split_once('.')?;
    let at_ms = secs.parse::<u64>().ok()? * 1000 + ms.parse::<u64>().ok()?;
    let (who, event) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((at_ms, who, event))
}

/// A 64-bit FNV-1a digest of a trace (determinism checks print it).
pub fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_line_reads_back_as_time_who_and_event() {
        let t = Trace::default();
        t.record(12_345, "harness", "crash s1 (0 unsynced bytes lost)");
        t.record(7, "s1", "ready");
        let text = t.render();
        let parsed: Vec<_> = text.lines().filter_map(parse_line).collect();
        assert_eq!(
            parsed,
            [
                (7, "s1", "ready"),
                (12_345, "harness", "crash s1 (0 unsynced bytes lost)")
            ]
        );
        assert_eq!(parse_line("not a trace line"), None);
    }
}
