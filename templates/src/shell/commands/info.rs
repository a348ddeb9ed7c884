//! System information commands and `/proc` files, all rendered from the
//! host model (procps-ng 4 and util-linux formats).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::args;
use crate::shell::distro::Flavour;
use crate::shell::exec::Ctx;
use crate::shell::vfs::Live;
use crate::shell::{Entry, Shell, now};

fn dt(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn wday(d: &OffsetDateTime) -> String {
    d.weekday().to_string()[..3].to_owned()
}

fn mon(d: &OffsetDateTime) -> String {
    d.month().to_string()[..3].to_owned()
}

/// `Fri Nov 28 09:12:44 2026` (sshd's `Last login` format).
fn ctime(t: i64) -> String {
    let d = dt(t);
    format!("{} {} {:>2} {:02}:{:02}:{:02} {}", wday(&d), mon(&d), d.day(), d.hour(), d.minute(), d.second(), d.year())
}

/// The motd and `Last login` lines printed before the first prompt.
pub fn login_banner(sh: &Shell) -> String {
    let h = &sh.host;
    let mut s = String::new();
    let (last_t, last_ip) = h.last_login;
    match h.release.flavour {
        Flavour::Ubuntu => {
            let pretty = h.release.os_release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).unwrap_or("Ubuntu").trim_matches('"');
            let d = dt(now());
            let load = h.loadavg()[0];
            let mem = h.mem;
            let _ = write!(
                s,
                "Welcome to {pretty} (GNU/Linux {} x86_64)\n\n * Documentation:  https://help.ubuntu.com\n * Management:     https://landscape.canonical.com\n * Support:        https://ubuntu.com/pro\n\n System information as of {} {} {:>2} {:02}:{:02}:{:02} UTC {}\n\n  System load:  {:<17.2}Processes:             {}\n  Usage of /:   {:.1}% of {:.2}GB   Users logged in:       0\n  Memory usage: {}%                IPv4 address for eth0: {}\n  Swap usage:   0%\n\n",
                h.kernel,
                wday(&d),
                mon(&d),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.year(),
                load,
                h.procs.len() + 40,
                h.disk.1 as f64 * 100.0 / h.disk.0 as f64,
                h.disk.0 as f64 / 1024.0 / 1024.0,
                mem.used() * 100 / mem.total.max(1),
                sh.opts.local.ip(),
            );
        }
        Flavour::Debian => {
            let _ = write!(s, "Linux {} {} {} x86_64\n", h.hostname, h.kernel, h.kernel_version);
            s.push_str(crate::shell::fsgen::DEBIAN_MOTD);
        }
        Flavour::Alpine => s.push_str("Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to guides and general\ninformation about administrating Alpine systems.\nSee <https://wiki.alpinelinux.org/>.\n\n"),
        Flavour::Redhat => {}
    }
    match sh.opts.entry {
        Entry::TelnetLogin => {
            let d = dt(last_t);
            let _ = writeln!(s, "Last login: {} {} {:>2} {:02}:{:02}:{:02} UTC {} from {last_ip} on pts/0", wday(&d), mon(&d), d.day(), d.hour(), d.minute(), d.second(), d.year());
        }
        _ => {
            let _ = writeln!(s, "Last login: {} from {last_ip}", ctime(last_t));
        }
    }
    s
}

/// Contents of a generated `/proc` file.
pub fn live_file(sh: &Shell, what: Live) -> String {
    let h = &sh.host;
    let mut s = String::new();
    match what {
        Live::Cpuinfo => {
            let c = h.cpu;
            for i in 0..h.cores {
                let mhz = h.mhz.get(i as usize).copied().unwrap_or(c.mhz);
                let _ = write!(
                    s,
                    "processor\t: {i}\nvendor_id\t: {}\ncpu family\t: {}\nmodel\t\t: {}\nmodel name\t: {}\nstepping\t: {}\nmicrocode\t: {}\ncpu MHz\t\t: {mhz:.3}\ncache size\t: {} KB\nphysical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {i}\ncpu cores\t: {n}\napicid\t\t: {i}\ninitial apicid\t: {i}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\nwp\t\t: yes\nflags\t\t: {}\nbugs\t\t: {}\nbogomips\t: {:.2}\n{}clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: {}\npower management:\n\n",
                    c.vendor,
                    c.family,
                    c.model,
                    c.name,
                    c.stepping,
                    c.microcode,
                    c.cache_kb,
                    c.cpuid_level,
                    c.flags,
                    c.bugs,
                    c.mhz * 2.0,
                    if c.vendor == "AuthenticAMD" { "TLB size\t: 1024 4K pages\n" } else { "" },
                    c.address_sizes,
                    n = h.cores,
                );
            }
        }
        Live::Meminfo => {
            let m = h.mem;
            let anon = m.used() * 7 / 10;
            let rows: [(&str, u64); 24] = [
                ("MemTotal", m.total),
                ("MemFree", m.free),
                ("MemAvailable", m.available()),
                ("Buffers", m.buffers),
                ("Cached", m.cached),
                ("SwapCached", 0),
                ("Active", anon / 2 + m.cached / 3),
                ("Inactive", anon / 2 + m.cached * 2 / 3),
                ("Active(anon)", anon / 8),
                ("Inactive(anon)", anon * 7 / 8),
                ("Active(file)", m.cached / 3),
                ("Inactive(file)", m.cached * 2 / 3),
                ("Unevictable", 0),
                ("Mlocked", 0),
                ("SwapTotal", m.swap_total),
                ("SwapFree", m.swap_total),
                ("Dirty", 132),
                ("Writeback", 0),
                ("AnonPages", anon),
                ("Mapped", m.cached / 5),
                ("Shmem", m.shmem),
                ("KReclaimable", m.sreclaimable),
                ("Slab", m.sreclaimable * 3 / 2),
                ("SReclaimable", m.sreclaimable),
            ];
            for (k, v) in rows {
                let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
            }
            for (k, v) in [("SUnreclaim", m.sreclaimable / 2), ("KernelStack", 2400 + 800 * u64::from(h.cores)), ("PageTables", anon / 60), ("CommitLimit", m.total / 2 + m.swap_total), ("Committed_AS", anon * 3), ("VmallocTotal", 34_359_738_367), ("VmallocUsed", 13_000), ("Percpu", 600 * u64::from(h.cores)), ("HugePages_Total", 0), ("Hugepagesize", 2048)] {
                if k == "HugePages_Total" {
                    let _ = writeln!(s, "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0");
                } else {
                    let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
                }
            }
        }
        Live::Uptime => {
            let up = h.uptime().as_secs_f64();
            let _ = writeln!(s, "{up:.2} {:.2}", up * f64::from(h.cores) * 0.97);
        }
        Live::Loadavg => {
            let l = h.loadavg();
            let _ = writeln!(s, "{:.2} {:.2} {:.2} 1/{} {}", l[0], l[1], l[2], h.procs.len() + 30, sh.next_pid);
        }
        Live::Version => {
            let _ = writeln!(s, "Linux version {} {} {}", h.kernel, crate::shell::distro::kernel_builder(h.kernel), h.kernel_version);
        }
        Live::Mounts => {
            s.push_str("sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nudev /dev devtmpfs rw,nosuid,relatime,mode=755,inode64 0 0\ndevpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000 0 0\ntmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,mode=755,inode64 0 0\n/dev/vda1 / ext4 rw,relatime,discard,errors=remount-ro 0 0\ntmpfs /dev/shm tmpfs rw,nosuid,nodev,inode64 0 0\ntmpfs /run/lock tmpfs rw,nosuid,nodev,noexec,relatime,size=5120k,inode64 0 0\n");
        }
    }
    s
}

/// `uname [-asnrvmpio]`.
pub fn uname(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let h = &sh.host;
    if let Some(bad) = a.flags.iter().find(|c| !"asnrvmpio".contains(**c)) {
        ctx.eprint(format!("uname: invalid option -- '{bad}'\nTry 'uname --help' for more information.\n"));
        return 1;
    }
    if a.has('a') || a.long("all") {
        ctx.print(format!("{}\n", h.uname_a()));
        return 0;
    }
    let mut parts = Vec::new();
    let none = a.flags.is_empty() && a.long.is_empty();
    if none || a.has('s') {
        parts.push("Linux".to_owned());
    }
    if a.has('n') {
        parts.push(h.hostname.clone());
    }
    if a.has('r') {
        parts.push(h.kernel.to_owned());
    }
    if a.has('v') {
        parts.push(h.kernel_version.to_owned());
    }
    if a.has('m') {
        parts.push("x86_64".into());
    }
    if a.has('p') {
        parts.push("unknown".into());
    }
    if a.has('i') {
        parts.push("unknown".into());
    }
    if a.has('o') {
        parts.push("GNU/Linux".into());
    }
    ctx.print(format!("{}\n", parts.join(" ")));
    0
}

/// `id [-u|-g|-un|-gn] [USER]`.
pub fn id(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let user = match a.ops.first() {
        Some(n) => match sh.host.user(n) {
            Some(u) => u.clone(),
            None => {
                ctx.eprint(format!("id: ‘{n}’: no such user\n"));
                return 1;
            }
        },
        None => sh.user.clone(),
    };
    let groups = sh.host.groups_of(&user);
    if a.has('u') {
        ctx.print(if a.has('n') { format!("{}\n", user.name) } else { format!("{}\n", user.uid) });
    } else if a.has('g') {
        ctx.print(if a.has('n') { format!("{}\n", sh.host.group_name(user.gid)) } else { format!("{}\n", user.gid) });
    } else if a.has('G') {
        let g: Vec<String> = groups.iter().map(|g| if a.has('n') { g.name.clone() } else { g.gid.to_string() }).collect();
        ctx.print(format!("{}\n", g.join(" ")));
    } else {
        let g: Vec<String> = groups.iter().map(|g| format!("{}({})", g.gid, g.name)).collect();
        ctx.print(format!("uid={}({}) gid={}({}) groups={}\n", user.uid, user.name, user.gid, sh.host.group_name(user.gid), g.join(",")));
    }
    0
}

/// `whoami`.
pub fn whoami(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    ctx.print(format!("{}\n", sh.host.user_name(sh.cred.uid)));
    0
}

fn uptime_line(sh: &Shell) -> String {
    let d = dt(now());
    let up = sh.host.uptime().as_secs();
    let (days, hours, mins) = (up / 86_400, up % 86_400 / 3600, up % 3600 / 60);
    let mut s = format!(" {:02}:{:02}:{:02} up ", d.hour(), d.minute(), d.second());
    if days > 0 {
        let _ = write!(s, "{days} day{}, ", if days == 1 { "" } else { "s" });
    }
    if hours > 0 {
        let _ = write!(s, "{hours:2}:{mins:02}, ");
    } else {
        let _ = write!(s, "{mins} min, ");
    }
    let l = sh.host.loadavg();
    let _ = write!(s, " 1 user,  load average: {:.2}, {:.2}, {:.2}", l[0], l[1], l[2]);
    s
}

/// `uptime [-p]`.
pub fn uptime(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    if argv.iter().any(|a| a == "-p") {
        let up = sh.host.uptime().as_secs();
        let (w, d, h, m) = (up / 604_800, up % 604_800 / 86_400, up % 86_400 / 3600, up % 3600 / 60);
        let mut parts = Vec::new();
        for (n, unit) in [(w, "week"), (d, "day"), (h, "hour"), (m, "minute")] {
            if n > 0 {
                parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
            }
        }
        ctx.print(format!("up {}\n", parts.join(", ")));
        return 0;
    }
    ctx.print(format!("{}\n", uptime_line(sh)));
    0
}

fn who_row(sh: &Shell) -> (String, String, String) {
    let from = sh.opts.peer.ip().to_string();
    let login = dt(now() - sh.session_secs() as i64);
    (sh.user.name.clone(), from, format!("{:02}:{:02}", login.hour(), login.minute()))
}

/// `w`.
pub fn w(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let (user, from, at) = who_row(sh);
    if !argv.iter().any(|a| a == "-h") {
        ctx.print(format!("{}\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n", uptime_line(sh)));
    }
    ctx.print(format!("{user:<8} {:<8} {from:<16} {at}    0.00s  0.02s  0.00s w\n", sh.tty));
    0
}

/// `who`.
pub fn who(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    let (user, from, _) = who_row(sh);
    let d = dt(now() - sh.session_secs() as i64);
    ctx.print(format!("{user:<8} {:<12} {}-{:02}-{:02} {:02}:{:02} ({from})\n", sh.tty, d.year(), u8::from(d.month()), d.day(), d.hour(), d.minute()));
    0
}

/// `free [-bkmgh]`.
pub fn free(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let m = sh.host.mem;
    let conv = |kb: u64| -> String {
        if a.has('h') {
            if kb < 1024 {
                format!("{kb}Ki")
            } else {
                let v = kb as f64 / 1024.0;
                if v < 1024.0 { format!("{v:.0}Mi") } else { format!("{:.1}Gi", v / 1024.0) }
            }
        } else if a.has('b') {
            (kb * 1024).to_string()
        } else if a.has('m') {
            (kb / 1024).to_string()
        } else if a.has('g') {
            (kb / 1024 / 1024).to_string()
        } else {
            kb.to_string()
        }
    };
    let mut s = format!("{:>20}{:>12}{:>12}{:>12}{:>12}{:>12}\n", "total", "used", "free", "shared", "buff/cache", "available");
    let _ = writeln!(s, "{:<8}{:>12}{:>12}{:>12}{:>12}{:>12}{:>12}", "Mem:", conv(m.total), conv(m.used()), conv(m.free), conv(m.shmem), conv(m.buffers + m.cached + m.sreclaimable), conv(m.available()));
    let _ = writeln!(s, "{:<8}{:>12}{:>12}{:>12}", "Swap:", conv(m.swap_total), conv(0), conv(m.swap_total));
    ctx.print(s);
    0
}

fn ps_user(name: &str) -> String {
    if name.chars().count() > 8 {
        format!("{}+", name.chars().take(7).collect::<String>())
    } else {
        name.to_owned()
    }
}

/// `ps` (`aux`, `-ef`, or the bare form).
pub fn ps(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let flags: String = argv.iter().skip(1).map(|a| a.trim_start_matches('-')).collect();
    let h = sh.host.clone();
    let boot = h.boot_time();
    let now_t = now();
    let mem_total = h.mem.total.max(1);
    let mut procs = h.procs.clone();
    let session = now_t - boot - sh.session_secs() as i64;
    let me = sh.user.name.clone();
    let sshd_child = if sh.opts.entry == Entry::TelnetLogin { "login -- ".to_owned() + &me } else { format!("sshd: {me}@{}", sh.tty) };
    for (pid, user, cmd, rss, tty) in [
        (sh.pid - 2, "root".to_owned(), if sh.opts.entry == Entry::TelnetLogin { "telnetd".to_owned() } else { format!("sshd: {me} [priv]") }, 9_800, "?".to_owned()),
        (sh.pid - 1, me.clone(), sshd_child, 6_900, "?".to_owned()),
        (sh.pid, me.clone(), "-bash".to_owned(), 5_100, sh.tty.clone()),
        (sh.next_pid, me.clone(), argv.join(" "), 3_900, sh.tty.clone()),
    ] {
        procs.push(crate::shell::host::Proc { user, pid, ppid: 1, vsz: rss * 2, rss, tty, stat: "S".into(), started_after_boot: session.max(0) as u64, cpu_secs: 0, cmd });
    }
    let start_col = |after: u64| {
        let t = dt(boot + after as i64);
        let today = dt(now_t);
        if t.date() == today.date() {
            format!("{:02}:{:02}", t.hour(), t.minute())
        } else if t.year() == today.year() {
            format!("{}{:02}", mon(&t), t.day())
        } else {
            t.year().to_string()
        }
    };
    let cols = if ctx.out_tty { sh.opts.pty.as_ref().map(|p| p.cols as usize) } else { None };
    let mut out = String::new();
    let fit = |line: String, out: &mut String| {
        match cols {
            Some(c) if line.chars().count() > c => out.push_str(&line.chars().take(c).collect::<String>()),
            _ => out.push_str(&line),
        }
        out.push('\n');
    };
    if flags.contains('u') || flags.contains("aux") {
        fit("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND".into(), &mut out);
        for p in &procs {
            let age = (now_t - boot - p.started_after_boot as i64).max(1) as f64;
            let cpu = p.cpu_secs as f64 * 100.0 / age;
            let mem = p.rss as f64 * 100.0 / mem_total as f64;
            let time = format!("{}:{:02}", p.cpu_secs / 60, p.cpu_secs % 60);
            fit(format!("{:<8} {:>7} {cpu:>4.1} {mem:>4.1} {:>6} {:>5} {:<8} {:<4} {:>5} {time:>6} {}", ps_user(&p.user), p.pid, p.vsz, p.rss, p.tty, p.stat, start_col(p.started_after_boot), p.cmd), &mut out);
        }
    } else if flags.contains('e') || flags.contains('A') {
        fit("UID          PID    PPID  C STIME TTY          TIME CMD".into(), &mut out);
        for p in &procs {
            let time = format!("{:02}:{:02}:{:02}", p.cpu_secs / 3600, p.cpu_secs % 3600 / 60, p.cpu_secs % 60);
            fit(format!("{:<8} {:>7} {:>7}  0 {:>5} {:<8} {time} {}", ps_user(&p.user), p.pid, p.ppid, start_col(p.started_after_boot), p.tty, p.cmd), &mut out);
        }
    } else {
        fit("    PID TTY          TIME CMD".into(), &mut out);
        fit(format!("{:>7} {:<8} 00:00:00 bash", sh.pid, sh.tty), &mut out);
        fit(format!("{:>7} {:<8} 00:00:00 ps", sh.next_pid, sh.tty), &mut out);
    }
    sh.next_pid += 1;
    ctx.print(out);
    0
}

/// `hostname [-I|-i|-f]`.
pub fn hostname(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    match argv.get(1).map(String::as_str) {
        Some("-I") => ctx.print(format!("{} \n", sh.opts.local.ip())),
        Some("-i") => ctx.print("127.0.1.1\n"),
        Some(n) if !n.starts_with('-') => {
            ctx.eprint("hostname: you must be root to change the host name\n");
            return 1;
        }
        _ => ctx.print(format!("{}\n", sh.host.hostname)),
    }
    0
}

/// `nproc`.
pub fn nproc(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    ctx.print(format!("{}\n", sh.host.cores));
    0
}

/// `lscpu`.
pub fn lscpu(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    let h = &sh.host;
    let c = h.cpu;
    let n = h.cores;
    let mut s = String::new();
    let _ = write!(
        s,
        "Architecture:            x86_64\n  CPU op-mode(s):        32-bit, 64-bit\n  Address sizes:         {}\n  Byte Order:            Little Endian\nCPU(s):                  {n}\n  On-line CPU(s) list:   0{}\nVendor ID:               {}\n  Model name:            {}\n    CPU family:          {}\n    Model:               {}\n    Thread(s) per core:  1\n    Core(s) per socket:  {n}\n    Socket(s):           1\n    Stepping:            {}\n    BogoMIPS:            {:.2}\n    Flags:               {}\nVirtualization features: \n  Hypervisor vendor:     KVM\n  Virtualization type:   full\n",
        c.address_sizes,
        if n > 1 { format!("-{}", n - 1) } else { String::new() },
        c.vendor,
        c.name,
        c.family,
        c.model,
        c.stepping,
        c.mhz * 2.0,
        c.flags,
    );
    ctx.print(s);
    0
}

/// `df [-h] [-T]`.
pub fn df(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let h = &sh.host;
    let mem = h.mem.total;
    let (root_total, root_used) = h.disk;
    let rows: [(&str, u64, u64, &str); 6] = [
        ("udev", mem / 2 - 20_000, 0, "/dev"),
        ("tmpfs", mem / 10, 600 + u64::from(h.cores) * 100, "/run"),
        ("/dev/vda1", root_total, root_used, "/"),
        ("tmpfs", mem / 2, 0, "/dev/shm"),
        ("tmpfs", 5120, 0, "/run/lock"),
        ("tmpfs", mem / 10, 0, "/run/user/0"),
    ];
    let fmt = |kb: u64| if a.has('h') { super::fs::human(kb * 1024) } else { kb.to_string() };
    let mut s = if a.has('h') {
        "Filesystem      Size  Used Avail Use% Mounted on\n".to_owned()
    } else {
        "Filesystem     1K-blocks    Used Available Use% Mounted on\n".to_owned()
    };
    for (fs, total, used, mnt) in rows {
        let avail = if mnt == "/" { total.saturating_sub(used + total / 20) } else { total - used };
        let pct = if total == 0 { 0 } else { (used * 100).div_ceil(used + avail.max(1)) };
        if a.has('h') {
            let _ = writeln!(s, "{fs:<15} {:>4} {:>5} {:>5} {:>3}% {mnt}", fmt(total), fmt(used), fmt(avail), pct);
        } else {
            let _ = writeln!(s, "{fs:<14} {total:>9} {used:>7} {avail:>9} {pct:>3}% {mnt}");
        }
    }
    ctx.print(s);
    0
}

/// `date` (UTC, coreutils' default format).
pub fn date(_sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let d = dt(now());
    if let Some(f) = argv.get(1).and_then(|a| a.strip_prefix('+')) {
        let out = f
            .replace("%Y", &d.year().to_string())
            .replace("%m", &format!("{:02}", u8::from(d.month())))
            .replace("%d", &format!("{:02}", d.day()))
            .replace("%H", &format!("{:02}", d.hour()))
            .replace("%M", &format!("{:02}", d.minute()))
            .replace("%S", &format!("{:02}", d.second()))
            .replace("%s", &now().to_string());
        ctx.print(format!("{out}\n"));
        return 0;
    }
    ctx.print(format!("{} {} {:>2} {:02}:{:02}:{:02} UTC {}\n", wday(&d), mon(&d), d.day(), d.hour(), d.minute(), d.second(), d.year()));
    0
}

/// `last`.
pub fn last(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    let (t, ip) = sh.host.last_login;
    let d = dt(t);
    let me = dt(now() - sh.session_secs() as i64);
    ctx.print(format!(
        "{:<8} {:<12} {:<16} {} {} {:>2} {:02}:{:02}   still logged in\n{:<8} pts/0        {:<16} {} {} {:>2} {:02}:{:02} - {:02}:{:02}  (00:{:02})\n\nwtmp begins {} {} {:>2} {:02}:{:02}:{:02} {}\n",
        sh.user.name, sh.tty, sh.opts.peer.ip().to_string(), wday(&me), mon(&me), me.day(), me.hour(), me.minute(),
        "root", ip.to_string(), wday(&d), mon(&d), d.day(), d.hour(), d.minute(), d.hour(), (d.minute() + 7) % 60, 7,
        wday(&dt(sh.host.installed)), mon(&dt(sh.host.installed)), dt(sh.host.installed).day(), 9, 14, 2, dt(sh.host.installed).year(),
    ));
    0
}

/// `ip a|addr|r|route|link`.
pub fn ip(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let h = &sh.host;
    let mac = h.mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    let ip = sh.opts.local.ip();
    let gw = match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.1", o[0], o[1], o[2])
        }
        std::net::IpAddr::V6(_) => "fe80::1".into(),
    };
    match argv.get(1).map(String::as_str) {
        Some("r" | "route" | "ro") => ctx.print(format!("default via {gw} dev eth0 onlink \n{}/24 dev eth0 proto kernel scope link src {ip} \n", gw.trim_end_matches(".1").to_owned() + ".0")),
        Some("a" | "addr" | "address" | "link" | "l") => ctx.print(format!(
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n    inet6 ::1/128 scope host noprefixroute \n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether {mac} brd ff:ff:ff:ff:ff:ff\n    altname enp0s3\n    inet {ip}/24 brd {} scope global eth0\n       valid_lft forever preferred_lft forever\n",
            gw.trim_end_matches(".1").to_owned() + ".255"
        )),
        _ => {
            ctx.eprint("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n       ip [ -force ] -batch filename\nwhere  OBJECT := { address | addrlabel | fou | help | ila | ioam | l2tp | link |\n                   macsec | maddress | monitor | mptcp | mroute | mrule |\n                   neighbor | neighbour | netconf | netns | nexthop | ntable |\n                   ntbl | route | rule | sr | tap | tcpmetrics |\n                   token | tunnel | tuntap | vrf | xfrm }\n");
            return 255;
        }
    }
    0
}

/// `dmesg` (non-root is refused since kernel.dmesg_restrict=1).
pub fn dmesg(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    if sh.user.uid != 0 {
        ctx.eprint("dmesg: read kernel buffer failed: Operation not permitted\n");
        return 1;
    }
    ctx.print(format!("[    0.000000] Linux version {} {} {}\n[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-{} root=UUID={} ro quiet\n[    0.000000] BIOS-provided physical RAM map:\n[    0.000000] Hypervisor detected: KVM\n", sh.host.kernel, crate::shell::distro::kernel_builder(sh.host.kernel), sh.host.kernel_version, sh.host.kernel, sh.host.persona.seed().hex("host.rootfs_uuid", 32)));
    0
}

/// `top -bn1` style snapshot.
pub fn top(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    let m = sh.host.mem;
    let mut s = format!("top -{}\n", uptime_line(sh).trim_start().replacen(" up", " up", 1));
    let _ = write!(s, "Tasks: {} total,   1 running, {} sleeping,   0 stopped,   0 zombie\n%Cpu(s):  0.3 us,  0.2 sy,  0.0 ni, 99.5 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st\nMiB Mem : {:>8.1} total, {:>8.1} free, {:>8.1} used, {:>8.1} buff/cache\nMiB Swap: {:>8.1} total, {:>8.1} free, {:>8.1} used. {:>8.1} avail Mem\n",
        sh.host.procs.len() + 40, sh.host.procs.len() + 39,
        m.total as f64 / 1024.0, m.free as f64 / 1024.0, m.used() as f64 / 1024.0, (m.buffers + m.cached) as f64 / 1024.0,
        m.swap_total as f64 / 1024.0, m.swap_total as f64 / 1024.0, 0.0, m.available() as f64 / 1024.0);
    ctx.print(s);
    0
}
