//! Who and what is running: `uname`, `id`, `whoami`, `uptime`, `w`, `who`,
//! `free`, `ps`, rendered from the host model (procps-ng 4 formats).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::args;
use crate::shell::exec::Ctx;
use crate::shell::{Entry, Shell, now};

pub(crate) fn dt(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn wday(d: &OffsetDateTime) -> String {
    d.weekday().to_string()[..3].to_owned()
}

pub(crate) fn mon(d: &OffsetDateTime) -> String {
    d.month().to_string()[..3].to_owned()
}

/// `Fri Nov 28 09:12:44 2026` (sshd's `Last login` format).
pub(crate) fn ctime(t: i64) -> String {
    let d = dt(t);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        wday(&d),
        mon(&d),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    )
}

/// `uname [-asnrvmpio]`.
pub fn uname(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let h = &sh.host;
    if let Some(bad) = a.flags.iter().find(|c| !"asnrvmpio".contains(**c)) {
        ctx.eprint(format!(
            "uname: invalid option -- '{bad}'\nTry 'uname --help' for more information.\n"
        ));
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
        ctx.print(if a.has('n') {
            format!("{}\n", user.name)
        } else {
            format!("{}\n", user.uid)
        });
    } else if a.has('g') {
        ctx.print(if a.has('n') {
            format!("{}\n", sh.host.group_name(user.gid))
        } else {
            format!("{}\n", user.gid)
        });
    } else if a.has('G') {
        let g: Vec<String> = groups
            .iter()
            .map(|g| {
                if a.has('n') {
                    g.name.clone()
                } else {
                    g.gid.to_string()
                }
            })
            .collect();
        ctx.print(format!("{}\n", g.join(" ")));
    } else {
        let g: Vec<String> = groups
            .iter()
            .map(|g| format!("{}({})", g.gid, g.name))
            .collect();
        ctx.print(format!(
            "uid={}({}) gid={}({}) groups={}\n",
            user.uid,
            user.name,
            user.gid,
            sh.host.group_name(user.gid),
            g.join(",")
        ));
    }
    0
}

/// `whoami`.
pub fn whoami(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    ctx.print(format!("{}\n", sh.host.user_name(sh.cred.uid)));
    0
}

pub(crate) fn uptime_line(sh: &Shell) -> String {
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
    let _ = write!(
        s,
        " 1 user,  load average: {:.2}, {:.2}, {:.2}",
        l[0], l[1], l[2]
    );
    s
}

/// `uptime [-p]`.
pub fn uptime(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    if argv.iter().any(|a| a == "-s" || a == "--since") {
        // procps-ng: the boot time, local (UTC here) `%Y-%m-%d %H:%M:%S`.
        let b = dt(sh.host.boot_time());
        ctx.print(format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}\n",
            b.year(),
            u8::from(b.month()),
            b.day(),
            b.hour(),
            b.minute(),
            b.second()
        ));
        return 0;
    }
    if argv.iter().any(|a| a == "-p" || a == "--pretty") {
        let up = sh.host.uptime().as_secs();
        let (w, d, h, m) = (
            up / 604_800,
            up % 604_800 / 86_400,
            up % 86_400 / 3600,
            up % 3600 / 60,
        );
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
    (
        sh.user.name.clone(),
        from,
        format!("{:02}:{:02}", login.hour(), login.minute()),
    )
}

/// `w`.
pub fn w(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let (user, from, at) = who_row(sh);
    if !argv.iter().any(|a| a == "-h") {
        ctx.print(format!(
            "{}\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n",
            uptime_line(sh)
        ));
    }
    ctx.print(format!(
        "{user:<8} {:<8} {from:<16} {at}    0.00s  0.02s  0.00s w\n",
        sh.tty
    ));
    0
}

/// `who`.
pub fn who(sh: &mut Shell, ctx: &mut Ctx, _argv: &[String]) -> i32 {
    let (user, from, _) = who_row(sh);
    let d = dt(now() - sh.session_secs() as i64);
    ctx.print(format!(
        "{user:<8} {:<12} {}-{:02}-{:02} {:02}:{:02} ({from})\n",
        sh.tty,
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute()
    ));
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
                if v < 1024.0 {
                    format!("{v:.0}Mi")
                } else {
                    format!("{:.1}Gi", v / 1024.0)
                }
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
    let mut s = format!(
        "{:>20}{:>12}{:>12}{:>12}{:>12}{:>12}\n",
        "total", "used", "free", "shared", "buff/cache", "available"
    );
    let _ = writeln!(
        s,
        "{:<8}{:>12}{:>12}{:>12}{:>12}{:>12}{:>12}",
        "Mem:",
        conv(m.total),
        conv(m.used()),
        conv(m.free),
        conv(m.shmem),
        conv(m.buffers + m.cached + m.sreclaimable),
        conv(m.available())
    );
    let _ = writeln!(
        s,
        "{:<8}{:>12}{:>12}{:>12}",
        "Swap:",
        conv(m.swap_total),
        conv(0),
        conv(m.swap_total)
    );
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
    let flags: String = argv
        .iter()
        .skip(1)
        .map(|a| a.trim_start_matches('-'))
        .collect();
    let h = sh.host.clone();
    let boot = h.boot_time();
    let now_t = now();
    let mem_total = h.mem.total.max(1);
    let mut procs = h.procs.clone();
    let session = now_t - boot - sh.session_secs() as i64;
    let me = sh.user.name.clone();
    let sshd_child = if sh.opts.entry == Entry::TelnetLogin {
        "login -- ".to_owned() + &me
    } else {
        format!("sshd: {me}@{}", sh.tty)
    };
    for (pid, user, cmd, rss, tty) in [
        (
            sh.pid - 2,
            "root".to_owned(),
            if sh.opts.entry == Entry::TelnetLogin {
                "telnetd".to_owned()
            } else {
                format!("sshd: {me} [priv]")
            },
            9_800,
            "?".to_owned(),
        ),
        (sh.pid - 1, me.clone(), sshd_child, 6_900, "?".to_owned()),
        (
            sh.pid,
            me.clone(),
            "-bash".to_owned(),
            5_100,
            sh.tty.clone(),
        ),
        (
            sh.next_pid,
            me.clone(),
            argv.join(" "),
            3_900,
            sh.tty.clone(),
        ),
    ] {
        procs.push(crate::shell::host::Proc {
            user,
            pid,
            ppid: 1,
            vsz: rss * 2,
            rss,
            tty,
            stat: "S".into(),
            started_after_boot: session.max(0) as u64,
            cpu_secs: 0,
            cmd,
        });
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
    let cols = if ctx.out_tty {
        sh.opts.pty.as_ref().map(|p| p.cols as usize)
    } else {
        None
    };
    let mut out = String::new();
    let fit = |line: String, out: &mut String| {
        match cols {
            Some(c) if line.chars().count() > c => {
                out.push_str(&line.chars().take(c).collect::<String>())
            }
            _ => out.push_str(&line),
        }
        out.push('\n');
    };
    if flags.contains('u') || flags.contains("aux") {
        fit(
            "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND".into(),
            &mut out,
        );
        for p in &procs {
            let age = (now_t - boot - p.started_after_boot as i64).max(1) as f64;
            let cpu = p.cpu_secs as f64 * 100.0 / age;
            let mem = p.rss as f64 * 100.0 / mem_total as f64;
            let time = format!("{}:{:02}", p.cpu_secs / 60, p.cpu_secs % 60);
            fit(
                format!(
                    "{:<8} {:>7} {cpu:>4.1} {mem:>4.1} {:>6} {:>5} {:<8} {:<4} {:>5} {time:>6} {}",
                    ps_user(&p.user),
                    p.pid,
                    p.vsz,
                    p.rss,
                    p.tty,
                    p.stat,
                    start_col(p.started_after_boot),
                    p.cmd
                ),
                &mut out,
            );
        }
    } else if flags.contains('e') || flags.contains('A') {
        fit(
            "UID          PID    PPID  C STIME TTY          TIME CMD".into(),
            &mut out,
        );
        for p in &procs {
            let time = format!(
                "{:02}:{:02}:{:02}",
                p.cpu_secs / 3600,
                p.cpu_secs % 3600 / 60,
                p.cpu_secs % 60
            );
            fit(
                format!(
                    "{:<8} {:>7} {:>7}  0 {:>5} {:<8} {time} {}",
                    ps_user(&p.user),
                    p.pid,
                    p.ppid,
                    start_col(p.started_after_boot),
                    p.tty,
                    p.cmd
                ),
                &mut out,
            );
        }
    } else {
        fit("    PID TTY          TIME CMD".into(), &mut out);
        fit(
            format!("{:>7} {:<8} 00:00:00 bash", sh.pid, sh.tty),
            &mut out,
        );
        fit(
            format!("{:>7} {:<8} 00:00:00 ps", sh.next_pid, sh.tty),
            &mut out,
        );
    }
    sh.next_pid += 1;
    ctx.print(out);
    0
}
