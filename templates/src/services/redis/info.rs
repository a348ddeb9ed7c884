//! The INFO reply: sections and fields in the claimed version's layout, every
//! value derived from the seed, the uptime and the live counters so that
//! repeated calls stay consistent (counters only grow, uptime advances).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::Shared;
use super::store::DATABASES;

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// The INFO text for the requested `sections` (empty = default sections).
pub fn render(shared: &Shared, sections: &[Vec<u8>], now: Instant) -> Vec<u8> {
    let v = shared.version;
    let v7 = v.modern_subcommands();
    let requested: Vec<String> = sections
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let all = requested.is_empty()
        || requested
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "everything" | "default"));
    let wanted = |name: &str| {
        if name == "modules" && !v7 || name == "errorstats" && !v.has_acl() {
            return false;
        }
        all || requested.iter().any(|s| s == name)
    };
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let up = shared.uptime().as_secs();
    let ids = &shared.ids;
    let background_cmds = (up as f64 * ids.ops_rate) as u64;
    let conns = shared.stats.connections.load(Ordering::Relaxed);
    let cmds = shared.stats.commands.load(Ordering::Relaxed);
    let (store_bytes, keyspace) = {
        let mut store = shared.store.lock();
        let counts: Vec<(usize, usize)> = (0..DATABASES).map(|db| store.counts(db, now)).collect();
        (store.bytes() as u64, counts)
    };
    let connected = shared.stats.connected.load(Ordering::Relaxed) as u64;
    let used_memory = 866_000 + store_bytes * 3 / 2 + connected * 21_000;
    let rss = (used_memory * 3).div_ceil(4096) * 4096 + 4096 * 1024;
    let peak = used_memory + (up % 7_919) * 97 + 143_000;
    let cpu = up as f64 * ids.cpu_rate;

    let mut out = String::with_capacity(4096);
    let mut section = |title: &str, body: String| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n{body}");
    };
    let kv = |s: &mut String, k: &str, val: &dyn std::fmt::Display| {
        let _ = write!(s, "{k}:{val}\r\n");
    };

    if wanted("server") {
        let mut s = String::new();
        kv(&mut s, "redis_version", &v);
        kv(&mut s, "redis_git_sha1", &"00000000");
        kv(&mut s, "redis_git_dirty", &0);
        kv(&mut s, "redis_build_id", &ids.build_id);
        kv(&mut s, "redis_mode", &"standalone");
        kv(&mut s, "os", &shared.os);
        kv(&mut s, "arch_bits", &64);
        if v7 {
            kv(&mut s, "monotonic_clock", &"POSIX clock_gettime");
        }
        kv(&mut s, "multiplexing_api", &"epoll");
        kv(&mut s, "atomicvar_api", &"c11-builtin");
        let gcc = match (v.major, v.minor) {
            (5, _) => "9.3.0",
            (6, 0) => "11.2.0",
            _ => "12.2.0",
        };
        kv(&mut s, "gcc_version", &gcc);
        kv(&mut s, "process_id", &ids.process_id);
        if v7 {
            kv(&mut s, "process_supervised", &"systemd");
        }
        kv(&mut s, "run_id", &ids.run_id);
        kv(&mut s, "tcp_port", &shared.port);
        kv(&mut s, "server_time_usec", &unix.as_micros());
        kv(&mut s, "uptime_in_seconds", &up);
        kv(&mut s, "uptime_in_days", &(up / 86_400));
        kv(&mut s, "hz", &10);
        kv(&mut s, "configured_hz", &10);
        kv(&mut s, "lru_clock", &(unix.as_secs() & 0xff_ffff));
        kv(&mut s, "executable", &"/usr/bin/redis-server");
        kv(&mut s, "config_file", &"/etc/redis/redis.conf");
        kv(&mut s, "io_threads_active", &0);
        section("Server", s);
    }
    if wanted("clients") {
        let mut s = String::new();
        kv(&mut s, "connected_clients", &connected);
        if v7 {
            kv(&mut s, "cluster_connections", &0);
            kv(&mut s, "maxclients", &10_000);
        }
        kv(&mut s, "client_recent_max_input_buffer", &20_480);
        kv(&mut s, "client_recent_max_output_buffer", &0);
        kv(&mut s, "blocked_clients", &0);
        kv(&mut s, "tracking_clients", &0);
        kv(&mut s, "clients_in_timeout_table", &0);
        section("Clients", s);
    }
    if wanted("memory") {
        let mut s = String::new();
        kv(&mut s, "used_memory", &used_memory);
        kv(&mut s, "used_memory_human", &human(used_memory));
        kv(&mut s, "used_memory_rss", &rss);
        kv(&mut s, "used_memory_rss_human", &human(rss));
        kv(&mut s, "used_memory_peak", &peak);
        kv(&mut s, "used_memory_peak_human", &human(peak));
        kv(
            &mut s,
            "used_memory_peak_perc",
            &format!("{:.2}%", used_memory as f64 * 100.0 / peak as f64),
        );
        kv(&mut s, "used_memory_overhead", &(used_memory - store_bytes));
        kv(&mut s, "used_memory_startup", &862_704);
        kv(&mut s, "used_memory_dataset", &store_bytes);
        kv(&mut s, "total_system_memory", &ids.system_memory);
        kv(
            &mut s,
            "total_system_memory_human",
            &human(ids.system_memory),
        );
        kv(&mut s, "used_memory_lua", &31_744);
        kv(&mut s, "used_memory_lua_human", &"31.00K");
        kv(&mut s, "maxmemory", &0);
        kv(&mut s, "maxmemory_human", &"0B");
        kv(&mut s, "maxmemory_policy", &"noeviction");
        kv(
            &mut s,
            "mem_fragmentation_ratio",
            &format!("{:.2}", rss as f64 / used_memory as f64),
        );
        let alloc = match v.major {
            5 => "jemalloc-5.1.0",
            6 => "jemalloc-5.2.1",
            _ => "jemalloc-5.3.0",
        };
        kv(&mut s, "mem_allocator", &alloc);
        kv(&mut s, "lazyfree_pending_objects", &0);
        section("Memory", s);
    }
    if wanted("persistence") {
        let mut s = String::new();
        kv(&mut s, "loading", &0);
        if v7 {
            kv(&mut s, "async_loading", &0);
        }
        kv(
            &mut s,
            "rdb_changes_since_last_save",
            &((ids.last_save_age as f64 * ids.ops_rate / 9.0) as u64),
        );
        kv(&mut s, "rdb_bgsave_in_progress", &0);
        kv(
            &mut s,
            "rdb_last_save_time",
            &(unix.as_secs() - ids.last_save_age),
        );
        kv(&mut s, "rdb_last_bgsave_status", &"ok");
        kv(&mut s, "rdb_last_bgsave_time_sec", &0);
        kv(&mut s, "rdb_current_bgsave_time_sec", &-1);
        kv(&mut s, "aof_enabled", &0);
        kv(&mut s, "aof_rewrite_in_progress", &0);
        kv(&mut s, "aof_rewrite_scheduled", &0);
        kv(&mut s, "aof_last_rewrite_time_sec", &-1);
        kv(&mut s, "aof_current_rewrite_time_sec", &-1);
        kv(&mut s, "aof_last_bgrewrite_status", &"ok");
        kv(&mut s, "aof_last_write_status", &"ok");
        section("Persistence", s);
    }
    if wanted("stats") {
        let mut s = String::new();
        kv(&mut s, "total_connections_received", &(up / 40 + conns));
        kv(
            &mut s,
            "total_commands_processed",
            &(background_cmds + cmds),
        );
        kv(&mut s, "instantaneous_ops_per_sec", &(ids.ops_rate as u64));
        kv(&mut s, "total_net_input_bytes", &(background_cmds * 41));
        kv(&mut s, "total_net_output_bytes", &(background_cmds * 187));
        kv(
            &mut s,
            "instantaneous_input_kbps",
            &format!("{:.2}", ids.ops_rate * 0.04),
        );
        kv(
            &mut s,
            "instantaneous_output_kbps",
            &format!("{:.2}", ids.ops_rate * 0.18),
        );
        kv(&mut s, "rejected_connections", &0);
        kv(&mut s, "sync_full", &0);
        kv(&mut s, "sync_partial_ok", &0);
        kv(&mut s, "sync_partial_err", &0);
        kv(&mut s, "expired_keys", &(background_cmds / 53));
        kv(&mut s, "evicted_keys", &0);
        kv(&mut s, "keyspace_hits", &(background_cmds * 3 / 5));
        kv(&mut s, "keyspace_misses", &(background_cmds / 9));
        kv(&mut s, "pubsub_channels", &0);
        kv(&mut s, "pubsub_patterns", &0);
        kv(&mut s, "latest_fork_usec", &(211 + ids.process_id % 300));
        if v.has_acl() {
            kv(&mut s, "total_error_replies", &(conns / 3));
        }
        section("Stats", s);
    }
    if wanted("replication") {
        let mut s = String::new();
        kv(&mut s, "role", &"master");
        kv(&mut s, "connected_slaves", &0);
        if v7 || (v.major, v.minor) >= (6, 2) {
            kv(&mut s, "master_failover_state", &"no-failover");
        }
        kv(&mut s, "master_replid", &ids.replid);
        kv(&mut s, "master_replid2", &"0".repeat(40));
        kv(&mut s, "master_repl_offset", &0);
        kv(&mut s, "second_repl_offset", &-1);
        kv(&mut s, "repl_backlog_active", &0);
        kv(&mut s, "repl_backlog_size", &1_048_576);
        kv(&mut s, "repl_backlog_first_byte_offset", &0);
        kv(&mut s, "repl_backlog_histlen", &0);
        section("Replication", s);
    }
    if wanted("cpu") {
        let mut s = String::new();
        kv(&mut s, "used_cpu_sys", &format!("{:.6}", cpu * 0.6));
        kv(&mut s, "used_cpu_user", &format!("{:.6}", cpu * 0.4));
        kv(
            &mut s,
            "used_cpu_sys_children",
            &format!("{:.6}", cpu * 0.002),
        );
        kv(
            &mut s,
            "used_cpu_user_children",
            &format!("{:.6}", cpu * 0.011),
        );
        if v7 {
            kv(
                &mut s,
                "used_cpu_sys_main_thread",
                &format!("{:.6}", cpu * 0.59),
            );
            kv(
                &mut s,
                "used_cpu_user_main_thread",
                &format!("{:.6}", cpu * 0.39),
            );
        }
        section("CPU", s);
    }
    if wanted("modules") {
        section("Modules", String::new());
    }
    if wanted("errorstats") {
        let mut s = String::new();
        if conns > 2 {
            kv(&mut s, "errorstat_ERR", &format!("count={}", conns / 3));
        }
        section("Errorstats", s);
    }
    if wanted("cluster") {
        section("Cluster", "cluster_enabled:0\r\n".to_owned());
    }
    if wanted("keyspace") {
        let mut s = String::new();
        for (db, (keys, expires)) in keyspace.iter().enumerate() {
            if *keys > 0 {
                let avg_ttl = if *expires > 0 {
                    600_000 + ids.process_id as u64 * 37
                } else {
                    0
                };
                let _ = write!(
                    s,
                    "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
                );
            }
        }
        section("Keyspace", s);
    }
    out.into_bytes()
}
