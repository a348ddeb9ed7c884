//! Who lives on the machine: the distribution's system accounts plus the
//! configured logins, and a systemd server's process table.

use super::distro::Release;

/// A `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Numeric uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// GECOS.
    pub gecos: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// A `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Numeric gid.
    pub gid: u32,
    /// Supplementary members.
    pub members: Vec<String>,
}

/// A process in the process table.
#[derive(Debug, Clone)]
pub struct Proc {
    /// Owner.
    pub user: String,
    /// Process id.
    pub pid: u32,
    /// Parent.
    pub ppid: u32,
    /// Virtual size, KiB.
    pub vsz: u64,
    /// Resident size, KiB.
    pub rss: u64,
    /// Controlling terminal or `?`.
    pub tty: String,
    /// `STAT` column.
    pub stat: String,
    /// Seconds after boot it started.
    pub started_after_boot: u64,
    /// CPU seconds used.
    pub cpu_secs: u64,
    /// Full command line (`[kthreadd]` for kernel threads).
    pub cmd: String,
}

fn passwd_line(name: &str, uid: u32, gid: u32, gecos: &str, home: &str, shell: &str) -> User {
    User {
        name: name.to_owned(),
        uid,
        gid,
        gecos: gecos.to_owned(),
        home: home.to_owned(),
        shell: shell.to_owned(),
    }
}

/// The distribution's system accounts plus the configured login accounts.
pub(crate) fn accounts(_release: &Release, logins: &[String]) -> (Vec<User>, Vec<Group>) {
    const NOLOGIN: &str = "/usr/sbin/nologin";
    let mut users = vec![
        passwd_line("root", 0, 0, "root", "/root", "/bin/bash"),
        passwd_line("daemon", 1, 1, "daemon", "/usr/sbin", NOLOGIN),
        passwd_line("bin", 2, 2, "bin", "/bin", NOLOGIN),
        passwd_line("sys", 3, 3, "sys", "/dev", NOLOGIN),
        passwd_line("sync", 4, 65534, "sync", "/bin", "/bin/sync"),
        passwd_line("games", 5, 60, "games", "/usr/games", NOLOGIN),
        passwd_line("man", 6, 12, "man", "/var/cache/man", NOLOGIN),
        passwd_line("lp", 7, 7, "lp", "/var/spool/lpd", NOLOGIN),
        passwd_line("mail", 8, 8, "mail", "/var/mail", NOLOGIN),
        passwd_line("news", 9, 9, "news", "/var/spool/news", NOLOGIN),
        passwd_line("uucp", 10, 10, "uucp", "/var/spool/uucp", NOLOGIN),
        passwd_line("proxy", 13, 13, "proxy", "/bin", NOLOGIN),
        passwd_line("www-data", 33, 33, "www-data", "/var/www", NOLOGIN),
        passwd_line("backup", 34, 34, "backup", "/var/backups", NOLOGIN),
        passwd_line("list", 38, 38, "Mailing List Manager", "/var/list", NOLOGIN),
        passwd_line("irc", 39, 39, "ircd", "/run/ircd", NOLOGIN),
        passwd_line("_apt", 42, 65534, "", "/nonexistent", NOLOGIN),
        passwd_line("nobody", 65534, 65534, "nobody", "/nonexistent", NOLOGIN),
        passwd_line(
            "systemd-network",
            998,
            998,
            "systemd Network Management",
            "/",
            NOLOGIN,
        ),
        passwd_line(
            "systemd-timesync",
            997,
            997,
            "systemd Time Synchronization",
            "/",
            NOLOGIN,
        ),
        passwd_line("messagebus", 100, 107, "", "/nonexistent", NOLOGIN),
        passwd_line("sshd", 101, 65534, "", "/run/sshd", NOLOGIN),
    ];
    let names = [
        ("root", 0),
        ("daemon", 1),
        ("bin", 2),
        ("sys", 3),
        ("adm", 4),
        ("tty", 5),
        ("disk", 6),
        ("lp", 7),
        ("mail", 8),
        ("news", 9),
        ("uucp", 10),
        ("man", 12),
        ("proxy", 13),
        ("kmem", 15),
        ("dialout", 20),
        ("fax", 21),
        ("voice", 22),
        ("cdrom", 24),
        ("floppy", 25),
        ("tape", 26),
        ("sudo", 27),
        ("audio", 29),
        ("dip", 30),
        ("www-data", 33),
        ("backup", 34),
        ("operator", 37),
        ("list", 38),
        ("irc", 39),
        ("src", 40),
        ("shadow", 42),
        ("utmp", 43),
        ("video", 44),
        ("sasl", 45),
        ("plugdev", 46),
        ("staff", 50),
        ("games", 60),
        ("users", 100),
        ("nogroup", 65534),
        ("systemd-journal", 999),
        ("systemd-network", 998),
        ("systemd-timesync", 997),
        ("netdev", 106),
        ("messagebus", 107),
        ("_ssh", 108),
    ];
    let mut groups: Vec<Group> = names
        .iter()
        .map(|(n, g)| Group {
            name: (*n).to_owned(),
            gid: *g,
            members: Vec::new(),
        })
        .collect();
    let mut next = 1000;
    for login in logins {
        if login == "root" || users.iter().any(|u| u.name == *login) {
            continue;
        }
        let gecos = format!("{login},,,");
        users.push(passwd_line(
            login,
            next,
            next,
            &gecos,
            &format!("/home/{login}"),
            "/bin/bash",
        ));
        groups.push(Group {
            name: login.clone(),
            gid: next,
            members: Vec::new(),
        });
        // The first human account is the admin, as an installer makes it.
        if next == 1000 {
            for g in groups.iter_mut() {
                if [
                    "cdrom", "floppy", "sudo", "audio", "dip", "video", "plugdev", "netdev",
                ]
                .contains(&g.name.as_str())
                {
                    g.members.push(login.clone());
                }
            }
        }
        next += 1;
    }
    (users, groups)
}

/// A systemd server's process table; pids grow with uptime like a real one.
pub(crate) fn processes(
    rng: &mut impl rand::Rng,
    cores: u32,
    mem_total: u64,
    uptime: i64,
) -> (Vec<Proc>, u32) {
    let up = uptime.max(1) as u64;
    let mut out = Vec::new();
    let mut p = |user: &str,
                 pid: u32,
                 ppid: u32,
                 vsz: u64,
                 rss: u64,
                 stat: &str,
                 at: u64,
                 cpu: u64,
                 cmd: &str| {
        out.push(Proc {
            user: user.to_owned(),
            pid,
            ppid,
            vsz,
            rss,
            tty: "?".to_owned(),
            stat: stat.to_owned(),
            started_after_boot: at,
            cpu_secs: cpu,
            cmd: cmd.to_owned(),
        });
    };
    p(
        "root",
        1,
        0,
        167_716 + rng.gen_range(0..900),
        12_000 + rng.gen_range(0..2000),
        "Ss",
        0,
        up / 900,
        "/sbin/init",
    );
    p("root", 2, 0, 0, 0, "S", 0, 0, "[kthreadd]");
    p("root", 3, 2, 0, 0, "I<", 0, 0, "[rcu_gp]");
    p("root", 4, 2, 0, 0, "I<", 0, 0, "[rcu_par_gp]");
    p("root", 5, 2, 0, 0, "I<", 0, 0, "[slub_flushwq]");
    p("root", 6, 2, 0, 0, "I<", 0, 0, "[netns]");
    p("root", 10, 2, 0, 0, "I<", 0, 0, "[mm_percpu_wq]");
    p("root", 11, 2, 0, 0, "I", 0, 0, "[rcu_tasks_kthread]");
    p("root", 14, 2, 0, 0, "S", 0, up / 4000, "[ksoftirqd/0]");
    p("root", 15, 2, 0, 0, "I", 0, up / 700, "[rcu_preempt]");
    p("root", 16, 2, 0, 0, "S", 0, 0, "[migration/0]");
    p("root", 18, 2, 0, 0, "S", 0, 0, "[cpuhp/0]");
    let mut pid = 19;
    for c in 1..cores {
        p("root", pid, 2, 0, 0, "S", 0, 0, &format!("[cpuhp/{c}]"));
        p(
            "root",
            pid + 1,
            2,
            0,
            0,
            "S",
            0,
            0,
            &format!("[migration/{c}]"),
        );
        p(
            "root",
            pid + 2,
            2,
            0,
            0,
            "S",
            0,
            up / 5000,
            &format!("[ksoftirqd/{c}]"),
        );
        pid += 5;
    }
    p("root", pid, 2, 0, 0, "S", 0, 0, "[kdevtmpfs]");
    p("root", pid + 2, 2, 0, 0, "S", 0, 0, "[kauditd]");
    p("root", pid + 3, 2, 0, 0, "S", 0, 0, "[khungtaskd]");
    p("root", pid + 4, 2, 0, 0, "S", 0, 0, "[oom_reaper]");
    p(
        "root",
        pid + 7,
        2,
        0,
        0,
        "S",
        0,
        up / 20_000,
        "[kcompactd0]",
    );
    p("root", pid + 8, 2, 0, 0, "SN", 0, 0, "[ksmd]");
    p("root", pid + 9, 2, 0, 0, "SN", 0, 0, "[khugepaged]");
    p("root", pid + 30, 2, 0, 0, "S", 0, 0, "[kswapd0]");
    p(
        "root",
        pid + 160,
        2,
        0,
        0,
        "S",
        1,
        up / 9000,
        "[jbd2/vda1-8]",
    );
    let j = pid + 190 + rng.gen_range(0..20);
    p(
        "root",
        j,
        1,
        48_000 + rng.gen_range(0..30_000),
        14_000 + rng.gen_range(0..20_000),
        "Ss",
        2,
        up / 2500,
        "/lib/systemd/systemd-journald",
    );
    p(
        "root",
        j + 31,
        1,
        26_000 + rng.gen_range(0..900),
        6_900,
        "Ss",
        2,
        up / 40_000,
        "/lib/systemd/systemd-udevd",
    );
    let s = j + 300 + rng.gen_range(0..60);
    p(
        "systemd-timesync",
        s,
        1,
        90_000 + rng.gen_range(0..500),
        6_600,
        "Ssl",
        3,
        up / 90_000,
        "/lib/systemd/systemd-timesyncd",
    );
    p(
        "root",
        s + 62,
        1,
        6_600,
        2_700,
        "Ss",
        4,
        up / 30_000,
        "/usr/sbin/cron -f",
    );
    p(
        "messagebus",
        s + 63,
        1,
        9_000,
        4_900,
        "Ss",
        4,
        up / 60_000,
        "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only",
    );
    p(
        "root",
        s + 66,
        1,
        222_000 + rng.gen_range(0..900),
        4_600,
        "Ssl",
        4,
        up / 50_000,
        "/usr/sbin/rsyslogd -n -iNONE",
    );
    p(
        "root",
        s + 68,
        1,
        25_000 + rng.gen_range(0..800),
        7_700,
        "Ss",
        4,
        up / 80_000,
        "/lib/systemd/systemd-logind",
    );
    p(
        "root",
        s + 80,
        1,
        5_900,
        1_000,
        "Ss+",
        5,
        0,
        "/sbin/agetty -o -p -- \\u --noclear - linux",
    );
    p(
        "root",
        s + 84,
        1,
        15_400 + rng.gen_range(0..300),
        9_300,
        "Ss",
        5,
        up / 70_000,
        "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    );
    // Kernel workers come and go; the newest ones give the pid counter away.
    let churn = (up / 40).clamp(500, 3_500_000) as u32;
    let mut last = s + 120;
    for i in 0..(2 + cores as usize) {
        last = (last + churn / 3 + rng.gen_range(0..churn / 3 + 1)).min(4_000_000);
        let name = match i % 3 {
            0 => format!(
                "[kworker/{}:{}-events]",
                i % cores as usize,
                rng.gen_range(0..3)
            ),
            1 => format!(
                "[kworker/u{}:{}-events_unbound]",
                cores * 2,
                rng.gen_range(0..4)
            ),
            _ => format!(
                "[kworker/{}:{}H-kblockd]",
                i % cores as usize,
                rng.gen_range(0..2)
            ),
        };
        let at = up * u64::from(last.min(churn * 3)) / u64::from(churn * 3 + 1);
        out.push(Proc {
            user: "root".into(),
            pid: last,
            ppid: 2,
            vsz: 0,
            rss: 0,
            tty: "?".into(),
            stat: "I".into(),
            started_after_boot: at,
            cpu_secs: 0,
            cmd: name,
        });
    }
    let _ = mem_total;
    out.sort_by_key(|p| p.pid);
    let next = out
        .last()
        .map_or(1000, |p| p.pid + 1 + rng.gen_range(10..300));
    (out, next)
}
