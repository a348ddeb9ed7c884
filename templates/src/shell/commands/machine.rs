//! The machine around the shell: `hostname`, `nproc`, `lscpu`, `df`, `date`,
//! `last`, `ip`, `dmesg`, `top`.

use std::fmt::Write as _;

use super::args;
use super::info::{dt, mon, uptime_line, wday};
use crate::shell::exec::Ctx;
use crate::shell::{Shell, now};

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
        if n > 1 {
            format!("-{}", n - 1)
        } else {
            String::new()
        },
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
    let fmt = |kb: u64| {
        if a.has('h') {
            super::fs::human(kb * 1024)
        } else {
            kb.to_string()
        }
    };
    let mut s = if a.has('h') {
        "Filesystem      Size  Used Avail Use% Mounted on\n".to_owned()
    } else {
        "Filesystem     1K-blocks    Used Available Use% Mounted on\n".to_owned()
    };
    for (fs, total, used, mnt) in rows {
        let avail = if mnt == "/" {
            total.saturating_sub(used + total / 20)
        } else {
            total - used
        };
        let pct = if total == 0 {
            0
        } else {
            (used * 100).div_ceil(used + avail.max(1))
        };
        if a.has('h') {
            let _ = writeln!(
                s,
                "{fs:<15} {:>4} {:>5} {:>5} {:>3}% {mnt}",
                fmt(total),
                fmt(used),
                fmt(avail),
                pct
            );
        } else {
            let _ = writeln!(
                s,
                "{fs:<14} {total:>9} {used:>7} {avail:>9} {pct:>3}% {mnt}"
            );
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
    ctx.print(format!(
        "{} {} {:>2} {:02}:{:02}:{:02} UTC {}\n",
        wday(&d),
        mon(&d),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    ));
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
    let mac = h
        .mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
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
    let mut s = format!("top -{}\n", uptime_line(sh).trim_start());
    let _ = write!(
        s,
        "Tasks: {} total,   1 running, {} sleeping,   0 stopped,   0 zombie\n%Cpu(s):  0.3 us,  0.2 sy,  0.0 ni, 99.5 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st\nMiB Mem : {:>8.1} total, {:>8.1} free, {:>8.1} used, {:>8.1} buff/cache\nMiB Swap: {:>8.1} total, {:>8.1} free, {:>8.1} used. {:>8.1} avail Mem\n",
        sh.host.procs.len() + 40,
        sh.host.procs.len() + 39,
        m.total as f64 / 1024.0,
        m.free as f64 / 1024.0,
        m.used() as f64 / 1024.0,
        (m.buffers + m.cached) as f64 / 1024.0,
        m.swap_total as f64 / 1024.0,
        m.swap_total as f64 / 1024.0,
        0.0,
        m.available() as f64 / 1024.0
    );
    ctx.print(s);
    0
}
