//! DEBUG SLEEP without sleeping: the core marks itself busy until a deadline. Until then it
//! answers nobody, runs no cron and queues whatever the driver hands it (input, hang-ups) in
//! arrival order; at the deadline (`poll_timeout` asks for it) it replays them as if they had
//! just arrived, as Redis does after its blocking sleep. Deterministic in simulation: only the
//! driver's clock decides when the server wakes.

use super::{ConnId, Now, Server};
use std::collections::VecDeque;

/// Something the driver reported while the server was busy.
#[derive(Debug)]
enum Queued {
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
}

#[derive(Debug, Default)]
pub struct Busy {
    /// Monotonic ms until which the server is busy.
    until: Option<u64>,
    queued: VecDeque<Queued>,
    queued_bytes: usize,
}

impl Server {
    /// Makes the server busy for `ms` milliseconds from `now` (DEBUG SLEEP).
    pub(crate) fn sleep_for(&mut self, now: Now, ms: u64) {
        if ms > 0 {
            self.busy.until = Some(now.mono_ms + ms);
        }
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.busy.until.is_some()
    }

    pub(crate) fn busy_deadline(&self) -> Option<u64> {
        self.busy.until
    }

    /// Queues input that arrives while busy (true: queued). Input past the query buffer limit
    /// turns into a hang-up of that connection, as an unread socket would stall it.
    pub(crate) fn defer_data(&mut self, now: Now, conn: ConnId, data: &[u8]) -> bool {
        self.wake_if_due(now);
        if !self.is_busy() {
            return false;
        }
        let limit = self.config.client_query_buffer_limit.max(0) as usize;
        if self.busy.queued_bytes + data.len() > limit {
            self.busy.queued.push_back(Queued::Closed(conn));
        } else {
            self.busy.queued_bytes += data.len();
            self.busy
                .queued
                .push_back(Queued::Data(conn, data.to_vec()));
        }
        true
    }

    /// Queues a hang-up that arrives while busy (true: queued).
    pub(crate) fn defer_closed(&mut self, now: Now, conn: ConnId) -> bool {
        self.wake_if_due(now);
        if !self.is_busy() {
            return false;
        }
        self.busy.queued.push_back(Queued::Closed(conn));
        true
    }

    /// At the deadline: run what clients had left in their buffers, then what was queued.
    pub(crate) fn wake_if_due(&mut self, now: Now) {
        match self.busy.until {
            Some(t) if now.mono_ms >= t => self.busy.until = None,
            _ => return,
        }
        let waiting: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.qbuf.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.process_input(id, now);
        }
        self.flush();
        self.busy.queued_bytes = 0;
        while let Some(event) = self.busy.queued.pop_front() {
            match event {
                Queued::Data(conn, data) => self.handle_data(now, conn, &data),
                Queued::Closed(conn) => self.handle_closed(now, conn),
            }
            if self.is_busy() {
                // A replayed command slept again: the rest waits for that deadline.
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Allow, Config};
    use crate::core::testing::TestServer;
    use crate::resp::encode_command;

    #[test]
    fn debug_sleep_holds_the_reply_and_other_clients_until_the_deadline() {
        let mut t = TestServer::with_config(Config {
            enable_debug_command: Allow::Yes,
            ..Config::default()
        });
        t.connect(2);
        t.send_raw(1, &encode_command(&["DEBUG", "SLEEP", "2"]));
        t.send_raw(2, &encode_command(&["PING"]));
        assert!(t.take_output(1).is_empty());
        t.advance_ms(1999);
        assert!(t.take_output(2).is_empty(), "nobody is answered while busy");
        t.advance_ms(1);
        assert_eq!(t.take_output(1), b"+OK\r\n");
        assert_eq!(t.take_output(2), b"+PONG\r\n");
    }
}
