//! The server's memory as INFO memory and maxmemory see it, from byte counts the core keeps
//! (it never asks the allocator): the keyspace's (`db::memsize`), the clients' query and output
//! buffers, the replication backlog and the replicas' share of the replication buffer, the AOF
//! buffer. As in Redis 7.2, the replicas' buffers beyond the backlog and the AOF buffer are not
//! counted for eviction (`mem_not_counted_for_evict`): evicting makes DELs that would grow them.

use super::Server;

/// What a server holds before any data or client: redis-server 7.2.6 (libc) reports 957,056.
pub const STARTUP_BYTES: u64 = 957_056;
/// A client's own structures beside its buffers (the client struct, its argv and reply block).
const CLIENT_BYTES: u64 = 2_048;

/// What a client holds: its structures, query buffer and pending output.
pub fn client_bytes(c: &super::Client) -> u64 {
    CLIENT_BYTES + (c.qbuf.len() + c.out.len() + c.unsent_bytes) as u64
}

/// One reading of the server's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub used: u64,
    /// Everything but the keys and values: startup, clients, replication, AOF, dict overhead.
    pub overhead: u64,
    pub dataset: u64,
    pub clients_normal: u64,
    pub clients_replicas: u64,
    pub backlog: u64,
    /// The replication buffer shared by the backlog and the replicas.
    pub repl_buffers: u64,
    pub aof_buffer: u64,
    pub not_counted_for_evict: u64,
}

impl Server {
    /// The server's memory now: O(clients), the keyspace's part kept incrementally.
    pub fn memory(&self) -> Memory {
        let (mut normal, mut replicas) = (0, 0);
        for c in self.clients.values() {
            match self.repl.replicas.contains_key(&c.id) {
                true => replicas += client_bytes(c),
                false => normal += client_bytes(c),
            }
        }
        let (backlog, repl_buffers) = self.repl_buffer_bytes();
        let aof_buffer = self.aof.as_ref().map_or(0, |a| a.feed.buf.len() as u64);
        let replica_structs = replicas.saturating_sub(self.replica_output_bytes());
        let db_overhead: u64 = self.ks.dbs.iter().map(|d| d.overhead_bytes() as u64).sum();
        let data = self.ks.used_bytes() as u64;
        let overhead =
            STARTUP_BYTES + normal + replica_structs + repl_buffers + aof_buffer + db_overhead;
        let backlog_size = self.config.repl_backlog_size.max(0) as u64;
        Memory {
            used: overhead + data - db_overhead,
            overhead,
            dataset: data - db_overhead,
            clients_normal: normal,
            clients_replicas: replicas,
            backlog,
            repl_buffers,
            aof_buffer,
            not_counted_for_evict: repl_buffers.saturating_sub(backlog_size) + aof_buffer,
        }
    }

    /// The replicas' pending output (already inside the shared replication buffer).
    fn replica_output_bytes(&self) -> u64 {
        let replicas = self.repl.replicas.keys();
        let clients = replicas.filter_map(|id| self.clients.get(id));
        clients.map(|c| (c.out.len() + c.unsent_bytes) as u64).sum()
    }
}
