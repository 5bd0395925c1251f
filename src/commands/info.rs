//! INFO [section ...]: Redis 7.2's report, section by section, with its field names and order.
//! What redsim does not have (threads, forks, AOF, eviction, allocator statistics, CPU accounting)
//! reads as zero; memory is an estimate, since the core never asks the allocator.

use crate::commands::Call;
use crate::core::{Now, Server};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Writes `name:value\r\n` lines.
macro_rules! fields {
    ($out:expr, $($name:literal => $value:expr),* $(,)?) => {{
        $( let _ = write!($out, concat!($name, ":{}\r\n"), $value); )*
    }};
}

/// Writes `name:0\r\n` for each name (the many counters of features redsim does not have).
fn zeros(out: &mut String, names: &[&str]) {
    for n in names {
        let _ = write!(out, "{n}:0\r\n");
    }
}

type Section = fn(&Server, Now, &mut String);

/// Sections in output order: names that select each, whether it is a default one, its writer.
const SECTIONS: &[(&[&str], bool, &str, Section)] = &[
    (&["server"], true, "Server", server),
    (&["clients"], true, "Clients", clients),
    (&["memory"], true, "Memory", memory),
    (&["persistence"], true, "Persistence", persistence),
    (&["stats"], true, "Stats", stats),
    (&["replication"], true, "Replication", replication),
    (&["cpu"], true, "CPU", cpu),
    (&["module_list", "modules"], true, "Modules", nothing),
    (&["commandstats"], false, "Commandstats", commandstats),
    (&["errorstats"], true, "Errorstats", errorstats),
    (&["latencystats"], false, "Latencystats", nothing),
    (&["cluster"], true, "Cluster", cluster),
    (&["keyspace"], true, "Keyspace", keyspace),
    (
        &["sentinel"],
        true,
        "Sentinel",
        crate::commands::sentinel_admin::sentinel_section,
    ),
];

/// The sections a Sentinel has.
const SENTINEL_SECTIONS: &[&str] = &["server", "clients", "cpu", "stats", "sentinel"];

pub(crate) fn info(s: &mut Server, call: &Call) {
    let mut all = false;
    let mut wanted = BTreeSet::new();
    for arg in &call.args[1..] {
        match String::from_utf8_lossy(arg).to_ascii_lowercase().as_str() {
            "all" | "everything" => all = true,
            "default" => wanted.extend(default_sections()),
            other => {
                wanted.insert(other.to_string());
            }
        }
    }
    if call.args.len() == 1 {
        wanted.extend(default_sections());
    }
    let mut text = String::new();
    let sentinel = s.sentinel_mode();
    for (names, _, title, write_section) in SECTIONS {
        if SENTINEL_SECTIONS.contains(&names[0]) != sentinel && (sentinel || names[0] == "sentinel")
        {
            continue;
        }
        if all || names.iter().any(|n| wanted.contains(*n)) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let _ = write!(text, "# {title}\r\n");
            write_section(s, call.now, &mut text);
        }
    }
    // Sentinel's INFO is a plain bulk string even in RESP3.
    if sentinel {
        s.reply(call.id).bulk(text.as_bytes());
    } else {
        s.reply(call.id).verbatim(text.as_bytes());
    }
}

fn default_sections() -> impl Iterator<Item = String> {
    SECTIONS
        .iter()
        .filter(|(_, default, _, _)| *default)
        .map(|(names, ..)| names[0].to_string())
}

fn nothing(_: &Server, _: Now, _: &mut String) {}

/// Calls per command; redsim keeps no CPU time per call, so `usec` reads 0.
fn commandstats(s: &Server, _: Now, out: &mut String) {
    for (name, st) in &s.stats.commands {
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec=0,usec_per_call=0.00,rejected_calls={},failed_calls={}\r\n",
            st.calls, st.rejected, st.failed
        );
    }
}

/// Error replies by prefix (`ERR`, `WRONGTYPE`, ...).
fn errorstats(s: &Server, _: Now, out: &mut String) {
    for (prefix, n) in &s.stats.errors {
        let _ = write!(out, "errorstat_{prefix}:count={n}\r\n");
    }
}

fn server(s: &Server, now: Now, out: &mut String) {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        other => other,
    };
    let uptime = s.uptime_s(now);
    fields!(out,
        "redis_version" => crate::REDIS_VERSION,
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => "0000000000000000",
        "redis_mode" => if s.sentinel_mode() { "sentinel" } else { "standalone" },
        "os" => format_args!("{os} {}", std::env::consts::ARCH),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => if cfg!(target_os = "linux") { "epoll" } else { "kqueue" },
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => s.config.pid,
        "process_supervised" => "no",
        "run_id" => s.run_id,
        "tcp_port" => s.config.port,
        "server_time_usec" => now.unix_ms * 1000,
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86_400,
        "hz" => s.cron_hz(),
        "configured_hz" => s.config.hz,
        "lru_clock" => (now.unix_ms / 1000) & 0xFF_FFFF,
        "executable" => "",
        "config_file" => s.config.config_file.as_deref().unwrap_or(""),
        "io_threads_active" => 0,
    );
    if let Some(ms) = s.shutdown_in_ms(now) {
        fields!(out, "shutdown_in_milliseconds" => ms);
    }
    let binds: String = s.config.bind.iter().map(|b| format!(",bind={b}")).collect();
    let _ = write!(out, "listener0:name=tcp{binds},port={}\r\n", s.config.port);
}

fn clients(s: &Server, _: Now, out: &mut String) {
    let max_in = s.clients.values().map(|c| c.qbuf.len()).max().unwrap_or(0);
    let max_out = s.clients.values().map(|c| c.out.len()).max().unwrap_or(0);
    fields!(out,
        // Redis counts replicas under connected_slaves only.
        "connected_clients" => s.clients.len() - s.repl.replicas.len(),
        "cluster_connections" => 0,
        "maxclients" => s.config.maxclients,
        "client_recent_max_input_buffer" => max_in,
        "client_recent_max_output_buffer" => max_out,
        "blocked_clients" => s.blocked_clients(),
    );
    let tracking = s.clients.values().filter(|c| c.tracking.is_some()).count();
    fields!(out, "tracking_clients" => tracking);
    zeros(out, &["clients_in_timeout_table"]);
    let (keys, on_nokey) = s.blocking_key_counts();
    fields!(out,
        "total_blocking_keys" => keys,
        "total_blocking_keys_on_nokey" => on_nokey,
    );
}

/// Redis' `bytesToHuman`: 100B, 2.00K, 4.00M, ...
fn human(n: u64) -> String {
    let units = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut d = n as f64 / 1024.0;
    for unit in units {
        if d < 1024.0 {
            return format!("{d:.2}{unit}");
        }
        d /= 1024.0;
    }
    format!("{n}B")
}

fn memory(s: &Server, _: Now, out: &mut String) {
    let m = s.memory();
    let (used, overhead, dataset) = (m.used, m.overhead, m.dataset);
    let startup = crate::core::memory::STARTUP_BYTES;
    let dataset_perc = dataset as f64 * 100.0 / (used - startup).max(1) as f64;
    let maxmemory = s.config.maxmemory.max(0) as u64;
    let policy = s.config.noop.get("maxmemory-policy");
    fields!(out,
        "used_memory" => used,
        "used_memory_human" => human(used),
        "used_memory_rss" => used,
        "used_memory_rss_human" => human(used),
        "used_memory_peak" => used,
        "used_memory_peak_human" => human(used),
        "used_memory_peak_perc" => "100.00%",
        "used_memory_overhead" => overhead,
        "used_memory_startup" => startup,
        "used_memory_dataset" => dataset,
        "used_memory_dataset_perc" => format_args!("{dataset_perc:.2}%"),
        "allocator_allocated" => used,
        "allocator_active" => used,
        "allocator_resident" => used,
        "total_system_memory" => 0,
        "total_system_memory_human" => "0B",
        "used_memory_lua" => 0,
        "used_memory_vm_eval" => 0,
        "used_memory_lua_human" => "0B",
        "used_memory_scripts_eval" => 0,
        "number_of_cached_scripts" => 0,
        "number_of_functions" => 0,
        "number_of_libraries" => 0,
        "used_memory_vm_functions" => 0,
        "used_memory_vm_total" => 0,
        "used_memory_vm_total_human" => "0B",
        "used_memory_functions" => 0,
        "used_memory_scripts" => 0,
        "used_memory_scripts_human" => "0B",
        "maxmemory" => maxmemory,
        "maxmemory_human" => human(maxmemory),
        "maxmemory_policy" => policy.map_or("noeviction", String::as_str),
        "allocator_frag_ratio" => "1.00",
        "allocator_frag_bytes" => 0,
        "allocator_rss_ratio" => "1.00",
        "allocator_rss_bytes" => 0,
        "rss_overhead_ratio" => "1.00",
        "rss_overhead_bytes" => 0,
        "mem_fragmentation_ratio" => "1.00",
        "mem_fragmentation_bytes" => 0,
        "mem_not_counted_for_evict" => m.not_counted_for_evict,
        "mem_replication_backlog" => m.backlog,
        "mem_total_replication_buffers" => m.repl_buffers,
        "mem_clients_slaves" => m.clients_replicas,
        "mem_clients_normal" => m.clients_normal,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => m.aof_buffer,
        "mem_allocator" => "libc",
    );
    zeros(
        out,
        &[
            "active_defrag_running",
            "lazyfree_pending_objects",
            "lazyfreed_objects",
        ],
    );
}

fn persistence(s: &Server, now: Now, out: &mut String) {
    let p = &s.persist;
    let bg = p.bgsave.as_ref();
    let aof = s.aof.as_ref();
    let aof_rewriting = bg.is_some_and(|b| b.target != crate::core::persist::Target::Rdb);
    fields!(out,
        "loading" => u8::from(p.loading && !p.async_loading),
        "async_loading" => u8::from(p.loading && p.async_loading),
    );
    zeros(
        out,
        &[
            "current_cow_peak",
            "current_cow_size",
            "current_cow_size_age",
        ],
    );
    fields!(out,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => bg.map_or(0, |b| b.keys_done),
        "current_save_keys_total" => bg.map_or(0, |b| b.keys_total),
        "rdb_changes_since_last_save" => s.dirty,
        "rdb_bgsave_in_progress" => u8::from(bg.is_some() || s.repl_child_running()),
        "rdb_last_save_time" => p.last_save_unix_s,
        "rdb_last_bgsave_status" => if p.last_bgsave_ok { "ok" } else { "err" },
        "rdb_last_bgsave_time_sec" => p.last_bgsave_time_s.map_or(-1, |t| t as i64),
        "rdb_current_bgsave_time_sec" => bg.map_or(-1, |b| (now.mono_ms.saturating_sub(b.started.mono_ms) / 1000) as i64),
        "rdb_saves" => p.rdb_saves,
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => p.keys_expired_on_load,
        "rdb_last_load_keys_loaded" => p.keys_loaded,
        "aof_enabled" => u8::from(s.aof.is_some()),
        "aof_rewrite_in_progress" => u8::from(aof_rewriting),
        "aof_rewrite_scheduled" => u8::from(aof.is_some_and(|a| a.rewrite_scheduled)),
        "aof_last_rewrite_time_sec" => -1,
        "aof_current_rewrite_time_sec" => if aof_rewriting { bg.map_or(-1, |b| (now.mono_ms.saturating_sub(b.started.mono_ms) / 1000) as i64) } else { -1 },
        "aof_last_bgrewrite_status" => if aof.is_none_or(|a| a.last_rewrite_ok) { "ok" } else { "err" },
        "aof_rewrites" => aof.map_or(0, |a| a.rewrites),
        "aof_rewrites_consecutive_failures" => 0,
        "aof_last_write_status" => if aof.is_some_and(|a| a.write_error.is_some()) { "err" } else { "ok" },
        "aof_last_cow_size" => 0,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    if let Some(a) = aof {
        fields!(out,
            "aof_current_size" => a.current_size,
            "aof_base_size" => a.base_size,
            "aof_pending_rewrite" => u8::from(a.rewrite_scheduled),
            "aof_buffer_length" => a.feed.buf.len(),
            "aof_pending_bio_fsync" => 0,
            "aof_delayed_fsync" => 0,
        );
    }
    if let Some(l) = s.loading.as_ref() {
        for (name, value) in l.info_fields(now) {
            let _ = write!(out, "{name}:{value}\r\n");
        }
    }
}

fn stats(s: &Server, _: Now, out: &mut String) {
    let st = &s.stats;
    fields!(out,
        "total_connections_received" => st.total_connections_received,
        "total_commands_processed" => st.total_commands_processed,
        "instantaneous_ops_per_sec" => s.instantaneous_ops_per_sec(),
        "total_net_input_bytes" => st.net_input_bytes,
        "total_net_output_bytes" => st.net_output_bytes,
        "total_net_repl_input_bytes" => 0,
        "total_net_repl_output_bytes" => 0,
        "instantaneous_input_kbps" => "0.00",
        "instantaneous_output_kbps" => "0.00",
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => st.rejected_connections,
        "sync_full" => s.repl.sync_full,
        "sync_partial_ok" => s.repl.sync_partial_ok,
        "sync_partial_err" => s.repl.sync_partial_err,
        "expired_keys" => s.ks.stats.expired_keys,
        "expired_stale_perc" => "0.00",
        "expired_time_cap_reached_count" => 0,
        "expire_cycle_cpu_milliseconds" => 0,
        "evicted_keys" => s.ks.stats.evicted_keys,
        "evicted_clients" => st.evicted_clients,
    );
    zeros(
        out,
        &[
            "total_eviction_exceeded_time",
            "current_eviction_exceeded_time",
        ],
    );
    fields!(out,
        "keyspace_hits" => s.ks.stats.hits,
        "keyspace_misses" => s.ks.stats.misses,
        "pubsub_channels" => s.channels.len(),
        "pubsub_patterns" => s.patterns.len(),
    );
    zeros(out, &["pubsubshard_channels", "latest_fork_usec"]);
    fields!(out,
        "total_forks" => s.stats.total_forks,
        "migrate_cached_sockets" => s.migrate.cached(),
    );
    zeros(
        out,
        &[
            "slave_expires_tracked_keys",
            "active_defrag_hits",
            "active_defrag_misses",
            "active_defrag_key_hits",
            "active_defrag_key_misses",
            "total_active_defrag_time",
            "current_active_defrag_time",
        ],
    );
    let (keys, items, prefixes) = s.tracking.totals();
    fields!(out,
        "tracking_total_keys" => keys,
        "tracking_total_items" => items,
        "tracking_total_prefixes" => prefixes,
        "unexpected_error_replies" => st.unexpected_error_replies,
        "total_error_replies" => st.total_error_replies,
    );
    zeros(
        out,
        &[
            "dump_payload_sanitizations",
            "total_reads_processed",
            "total_writes_processed",
            "io_threaded_reads_processed",
            "io_threaded_writes_processed",
            "reply_buffer_shrinks",
            "reply_buffer_expands",
            "eventloop_cycles",
            "eventloop_duration_sum",
            "eventloop_duration_cmd_sum",
            "instantaneous_eventloop_cycles_per_sec",
            "instantaneous_eventloop_duration_usec",
        ],
    );
    let denied = &s.acl.log.denied;
    fields!(out,
        "acl_access_denied_auth" => denied.auth,
        "acl_access_denied_cmd" => denied.command,
        "acl_access_denied_key" => denied.key,
        "acl_access_denied_channel" => denied.channel,
    );
}

fn replication(s: &Server, now: Now, out: &mut String) {
    let c = &s.config;
    let r = &s.repl;
    match (&c.replicaof, r.link.as_ref()) {
        (Some((host, port)), Some(l)) => {
            let loading = s.loading_master_snapshot();
            let up = l.is_up() && !loading;
            let io_ago = |ms: u64| (now.mono_ms.saturating_sub(ms) / 1000) as i64;
            fields!(out,
                "role" => "slave",
                "master_host" => host,
                "master_port" => port,
                "master_link_status" => if up { "up" } else { "down" },
                "master_last_io_seconds_ago" => if l.conn.is_some() && l.link.last_io_ms() > 0 { io_ago(l.link.last_io_ms()) } else { -1 },
                "master_sync_in_progress" => u8::from(loading || l.link.state() == crate::repl::ReplState::Transfer),
                "slave_read_repl_offset" => r.offset + s.clients.get(&crate::core::replication::MASTER_CLIENT_ID).map_or(0, |c| c.qbuf.len() as i64),
                "slave_repl_offset" => r.offset,
            );
            if let Some(p) = l.link.transfer_progress() {
                let left = (p.total_bytes - p.read_bytes).max(0);
                let perc = if p.total_bytes > 0 {
                    p.read_bytes as f64 * 100.0 / p.total_bytes as f64
                } else {
                    0.0
                };
                fields!(out,
                    "master_sync_total_bytes" => p.total_bytes,
                    "master_sync_read_bytes" => p.read_bytes,
                    "master_sync_left_bytes" => left,
                    "master_sync_perc" => format!("{perc:.2}"),
                    "master_sync_last_io_seconds_ago" => io_ago(p.last_io_ms),
                );
            }
            if !up {
                let since = l.link.down_since_ms().map_or(-1, io_ago);
                fields!(out, "master_link_down_since_seconds" => since);
            }
            fields!(out,
                "slave_priority" => c.replica_priority,
                "slave_read_only" => u8::from(c.replica_read_only),
                "replica_announced" => u8::from(c.replica_announced),
            );
        }
        _ => fields!(out, "role" => "master"),
    }
    fields!(out, "connected_slaves" => r.replicas.len());
    if c.min_replicas_to_write > 0 && c.min_replicas_max_lag_s > 0 {
        fields!(out, "min_slaves_good_slaves" => s.good_replicas(now));
    }
    for (i, replica) in r.replicas.values().enumerate() {
        if let Some(line) = replica.info_line(i, now.mono_ms) {
            let _ = write!(out, "{line}\r\n");
        }
    }
    let backlog = r.backlog.as_ref();
    fields!(out,
        "master_failover_state" => s.failover.state.name(),
        "master_replid" => r.ids.replid,
        "master_replid2" => r.ids.replid2,
        "master_repl_offset" => r.offset,
        "second_repl_offset" => r.ids.second_repl_offset,
        "repl_backlog_active" => u8::from(backlog.is_some()),
        "repl_backlog_size" => backlog.map_or(c.repl_backlog_size, |b| b.size() as i64),
        "repl_backlog_first_byte_offset" => backlog.map_or(0, |b| b.first_byte_offset()),
        "repl_backlog_histlen" => backlog.map_or(0, |b| b.histlen()),
    );
}

fn cpu(_: &Server, _: Now, out: &mut String) {
    for name in [
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
    ] {
        let _ = write!(out, "{name}:0.000000\r\n");
    }
}

fn cluster(_: &Server, _: Now, out: &mut String) {
    fields!(out, "cluster_enabled" => 0);
}

fn keyspace(s: &Server, _: Now, out: &mut String) {
    for (i, db) in s.ks.dbs.iter().enumerate() {
        if !db.is_empty() || db.expires_len() > 0 {
            let _ = write!(
                out,
                "db{i}:keys={},expires={},avg_ttl=0\r\n",
                db.len(),
                db.expires_len()
            );
        }
    }
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
