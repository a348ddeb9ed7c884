//! The base file tree of a host, generated from the host model so that files
//! and commands agree (`/etc/hostname` is `hostname`, `/etc/passwd` is what
//! `id` and `ls -l` use, the host keys are the ones the SSH client saw).

use rand::Rng as _;
use rand::seq::SliceRandom as _;

use super::distro::Flavour;
use super::host::{Host, HostConfig};
use super::vfs::{Data, Kind, Live, Node, Tree};

/// Executables in `/usr/bin` with their sizes on Debian 12 amd64.
pub const USR_BIN: &[(&str, u64)] = &[
    ("apt", 18752),
    ("apt-get", 51592),
    ("base64", 48016),
    ("bash", 1265648),
    ("cat", 44016),
    ("chmod", 64496),
    ("chown", 72752),
    ("cp", 151152),
    ("crontab", 47704),
    ("curl", 280800),
    ("cut", 48112),
    ("dash", 125640),
    ("date", 121904),
    ("dd", 89240),
    ("df", 102200),
    ("diff", 155216),
    ("dmesg", 88656),
    ("dpkg", 318096),
    ("du", 175440),
    ("echo", 43856),
    ("env", 48536),
    ("false", 35664),
    ("file", 27120),
    ("find", 224848),
    ("free", 26936),
    ("grep", 203152),
    ("gzip", 98136),
    ("head", 48080),
    ("hostname", 22680),
    ("id", 48144),
    ("ip", 691016),
    ("journalctl", 76432),
    ("kill", 22840),
    ("last", 51520),
    ("less", 198960),
    ("ln", 72824),
    ("ls", 151344),
    ("lscpu", 129344),
    ("mawk", 158376),
    ("mkdir", 97552),
    ("more", 59712),
    ("mount", 59704),
    ("mv", 142968),
    ("nproc", 43920),
    ("passwd", 68248),
    ("perl", 3808560),
    ("ps", 146360),
    ("pwd", 43952),
    ("python3.11", 6831736),
    ("rm", 72752),
    ("rmdir", 56240),
    ("scp", 273024),
    ("sed", 126424),
    ("seq", 60336),
    ("sftp", 289376),
    ("sleep", 43888),
    ("sort", 118456),
    ("ss", 193680),
    ("ssh", 1129504),
    ("ssh-keygen", 661952),
    ("su", 72000),
    ("sudo", 277936),
    ("systemctl", 1353368),
    ("tail", 76944),
    ("tar", 531984),
    ("tee", 43984),
    ("top", 134736),
    ("touch", 109616),
    ("tr", 56208),
    ("true", 35664),
    ("uname", 43888),
    ("uniq", 48080),
    ("uptime", 14648),
    ("vim.basic", 3646968),
    ("w", 22840),
    ("wc", 52280),
    ("wget", 470384),
    ("whoami", 39792),
    ("xargs", 72136),
];

const USR_SBIN: &[(&str, u64)] = &[
    ("agetty", 64504),
    ("cron", 59888),
    ("ip", 691016),
    ("iptables", 80728),
    ("reboot", 1353368),
    ("rsyslogd", 756840),
    ("shutdown", 1353368),
    ("sshd", 1270208),
    ("useradd", 156096),
];

fn link(target: &str, t: i64) -> Node {
    Node {
        kind: Kind::Symlink(target.to_owned()),
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: t,
        data: Data::None,
    }
}

fn live(what: Live) -> Node {
    Node {
        kind: Kind::File,
        mode: 0o444,
        uid: 0,
        gid: 0,
        mtime: 0,
        data: Data::Live(what),
    }
}

fn exe(size: u64, t: i64) -> Node {
    Node {
        kind: Kind::File,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: t,
        data: Data::Elf(size),
    }
}

/// Commands an administrator of this kind of box plausibly typed.
const ADMIN_HISTORY: &[&str] = &[
    "apt update",
    "apt upgrade -y",
    "df -h",
    "free -m",
    "systemctl status ssh",
    "journalctl -xe",
    "ls -la",
    "cd /var/log",
    "tail -n 100 syslog",
    "ip a",
    "cat /etc/os-release",
    "vim /etc/ssh/sshd_config",
    "systemctl restart ssh",
    "crontab -e",
    "du -sh /var/*",
    "top",
    "reboot",
    "uptime",
    "ss -tlnp",
    "exit",
];

/// Builds the base tree of `host`.
pub fn build(host: &Host, cfg: &HostConfig) -> Tree {
    let mut t = Tree::default();
    let seed = host.persona.seed();
    let mut rng = seed.rng("host.fs");
    let inst = host.installed;
    let boot = host.boot_time();
    let d = |m: u32| Node::dir(m, 0, 0, inst);
    let f = |s: &str, m: u32| Node::file(s.as_bytes().to_vec(), m, 0, 0, inst);

    for p in [
        "/",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/media",
        "/mnt",
        "/opt",
        "/srv",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib/openssh",
        "/usr/local",
        "/usr/local/bin",
        "/usr/share",
        "/var",
        "/var/lib",
        "/var/cache",
        "/var/backups",
        "/var/spool",
        "/var/spool/cron",
        "/var/www",
        "/var/www/html",
        "/etc/ssh",
        "/etc/apt",
        "/etc/cron.d",
        "/etc/cron.daily",
        "/etc/default",
        "/etc/init.d",
        "/etc/systemd",
        "/etc/skel",
        "/etc/alternatives",
        "/boot/grub",
        "/var/mail",
        "/var/opt",
        "/run/sshd",
        "/usr/games",
    ] {
        t.insert(p, d(0o755));
    }
    t.insert("/lost+found", d(0o700));
    t.insert("/run", Node::dir(0o755, 0, 0, boot));
    t.insert(
        "/tmp",
        Node::dir(0o1777, 0, 0, boot + rng.gen_range(60..3600)),
    );
    t.insert("/var/tmp", Node::dir(0o1777, 0, 0, boot));
    t.insert("/var/log", Node::dir(0o755, 0, 0, boot));
    t.insert("/root", Node::dir(0o700, 0, 0, host.last_login.0));
    t.insert("/proc", Node::dir(0o555, 0, 0, boot));
    t.insert("/sys", Node::dir(0o555, 0, 0, boot));
    t.insert("/dev/shm", Node::dir(0o1777, 0, 0, boot));
    t.insert("/dev/pts", Node::dir(0o755, 0, 0, boot));
    for (p, target) in [
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
        ("/usr/bin/sh", "dash"),
        ("/usr/bin/python3", "python3.11"),
        ("/usr/bin/vi", "/etc/alternatives/vi"),
        ("/usr/bin/vim", "vim.basic"),
        ("/usr/bin/awk", "/etc/alternatives/awk"),
        ("/usr/bin/which", "/etc/alternatives/which"),
        ("/etc/os-release", "../usr/lib/os-release"),
        ("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
        ("/etc/mtab", "../proc/self/mounts"),
        ("/etc/alternatives/which", "/usr/bin/which.debianutils"),
        ("/etc/alternatives/vi", "/usr/bin/vim.basic"),
        ("/etc/alternatives/awk", "/usr/bin/mawk"),
    ] {
        t.insert(p, link(target, inst));
    }
    for (name, size) in USR_BIN {
        t.insert(&format!("/usr/bin/{name}"), exe(*size, inst));
    }
    for (name, size) in USR_SBIN {
        t.insert(&format!("/usr/sbin/{name}"), exe(*size, inst));
    }
    t.insert(
        "/usr/bin/which.debianutils",
        f("#! /bin/sh\nset -ef\n", 0o755),
    );
    t.insert("/usr/lib/openssh/sftp-server", exe(138_904, inst));
    for dev in ["null", "zero", "random", "urandom", "tty", "full"] {
        t.insert(
            &format!("/dev/{dev}"),
            Node {
                kind: Kind::CharDev,
                mode: 0o666,
                uid: 0,
                gid: 0,
                mtime: boot,
                data: Data::None,
            },
        );
    }

    // /boot: the kernel the host runs.
    let k = host.kernel;
    t.insert(
        &format!("/boot/vmlinuz-{k}"),
        Node::file(Vec::new(), 0o644, 0, 0, inst),
    );
    t.insert(
        &format!("/boot/initrd.img-{k}"),
        Node::file(Vec::new(), 0o644, 0, 0, inst),
    );
    t.insert(
        &format!("/boot/config-{k}"),
        f(
            "#\n# Automatically generated file; DO NOT EDIT.\n#\n",
            0o644,
        ),
    );

    // /etc.
    t.insert("/etc/hostname", f(&format!("{}\n", host.hostname), 0o644));
    t.insert(
        "/etc/hosts",
        f(
            &format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{h}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
                h = host.hostname
            ),
            0o644,
        ),
    );
    let passwd: String = host
        .users
        .iter()
        .map(|u| {
            format!(
                "{}:x:{}:{}:{}:{}:{}\n",
                u.name, u.uid, u.gid, u.gecos, u.home, u.shell
            )
        })
        .collect();
    t.insert("/etc/passwd", f(&passwd, 0o644));
    let group: String = host
        .groups
        .iter()
        .map(|g| format!("{}:x:{}:{}\n", g.name, g.gid, g.members.join(",")))
        .collect();
    t.insert("/etc/group", f(&group, 0o644));
    let days = host.installed / 86_400;
    let shadow: String = host
        .users
        .iter()
        .map(|u| {
            let hash = if u.uid == 0 || u.uid >= 1000 && u.uid < 65534 {
                format!(
                    "$y$j9T${}${}",
                    seed.hex(&format!("shadow.salt.{}", u.name), 22),
                    seed.hex(&format!("shadow.hash.{}", u.name), 43)
                )
            } else {
                "*".to_owned()
            };
            format!("{}:{hash}:{days}:0:99999:7:::\n", u.name)
        })
        .collect();
    t.insert(
        "/etc/shadow",
        Node::file(shadow.into_bytes(), 0o640, 0, 42, inst),
    );
    t.insert("/usr/lib/os-release", f(host.release.os_release, 0o644));
    if let Some(v) = host.release.debian_version {
        t.insert("/etc/debian_version", f(v, 0o644));
    }
    t.insert("/etc/issue", f(host.release.issue, 0o644));
    t.insert("/etc/issue.net", f(host.release.issue_net, 0o644));
    t.insert("/etc/motd", f(motd_file(host.release.flavour), 0o644));
    t.insert("/etc/timezone", f("Etc/UTC\n", 0o644));
    t.insert("/etc/shells", f("# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n", 0o644));
    t.insert(
        "/etc/machine-id",
        f(&format!("{}\n", seed.hex("host.machine_id", 32)), 0o444),
    );
    let ns = [
        "1.1.1.1",
        "8.8.8.8",
        "9.9.9.9",
        "10.0.0.2",
        "169.254.169.254",
    ];
    let ns = ns.choose(&mut rng).copied().unwrap_or("1.1.1.1");
    t.insert("/etc/resolv.conf", f(&format!("nameserver {ns}\n"), 0o644));
    t.insert(
        "/etc/fstab",
        f(
            &format!(
                "# /etc/fstab: static file system information.\n#\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\nUUID={} /               ext4    errors=remount-ro 0       1\n",
                uuid(&seed.hex("host.rootfs_uuid", 32))
            ),
            0o644,
        ),
    );
    t.insert("/etc/crontab", f("# /etc/crontab: system-wide crontab\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n# Example of job definition:\n# .---------------- minute (0 - 59)\n# |  .------------- hour (0 - 23)\n# |  |  .---------- day of month (1 - 31)\n# |  |  |  .------- month (1 - 12) OR jan,feb,mar,apr ...\n# |  |  |  |  .---- day of week (0 - 6) (Sunday=0 or 7) OR sun,mon,tue,wed,thu,fri,sat\n# |  |  |  |  |\n# *  *  *  *  * user-name command to be executed\n17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }\n52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }\n#\n", 0o644));
    t.insert("/etc/ssh/sshd_config", f("\n# This is the sshd server system-wide configuration file.  See\n# sshd_config(5) for more information.\n\nInclude /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n#PermitRootLogin prohibit-password\n#MaxAuthTries 6\n\nKbdInteractiveAuthentication no\n\nUsePAM yes\n\nX11Forwarding yes\nPrintMotd no\n\nAcceptEnv LANG LC_*\n\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\nPermitRootLogin yes\n", 0o644));
    t.insert(
        "/etc/ssh/ssh_config",
        f(
            "Host *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n",
            0o644,
        ),
    );
    for (name, line) in &cfg.ssh_host_keys {
        t.insert(&format!("/etc/ssh/{name}"), f(line, 0o644));
        let private = name.trim_end_matches(".pub");
        t.insert(
            &format!("/etc/ssh/{private}"),
            Node::file(Vec::new(), 0o600, 0, 0, inst),
        );
    }
    t.insert("/etc/profile", f("# /etc/profile: system-wide .profile file for the Bourne shell (sh(1))\n# and Bourne compatible shells (bash(1), ksh(1), ash(1), ...).\n\nif [ \"$(id -u)\" -eq 0 ]; then\n  PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\nelse\n  PATH=\"/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games\"\nfi\nexport PATH\n", 0o644));
    t.insert("/etc/apt/sources.list", f(sources(host), 0o644));
    t.insert(
        "/etc/sudoers",
        Node::file(
            b"Defaults\tenv_reset\nroot\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n".to_vec(),
            0o440,
            0,
            0,
            inst,
        ),
    );

    // Homes.
    let bashrc_root = "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# Note: PS1 and umask are already set in /etc/profile. You should not\n# need this unless you want different defaults for root.\n# PS1='${debian_chroot:+($debian_chroot)}\\h:\\w\\$ '\n# umask 022\n";
    t.insert("/root/.bashrc", f(bashrc_root, 0o644));
    t.insert("/root/.profile", f("# ~/.profile: executed by Bourne-compatible login shells.\n\nif [ \"$BASH\" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\nmesg n 2> /dev/null || true\n", 0o644));
    t.insert("/root/.ssh", Node::dir(0o700, 0, 0, inst + 3600));
    let mut hist: Vec<&str> = ADMIN_HISTORY.to_vec();
    hist.shuffle(&mut seed.rng("host.history"));
    hist.truncate(rng.gen_range(6..14));
    let hist: String = hist.iter().map(|l| format!("{l}\n")).collect();
    t.insert(
        "/root/.bash_history",
        Node::file(hist.into_bytes(), 0o600, 0, 0, host.last_login.0 + 600),
    );
    for u in host.users.iter().filter(|u| u.uid >= 1000 && u.uid < 65534) {
        let home = &u.home;
        t.insert(home, Node::dir(0o755, u.uid, u.gid, inst + 60));
        for (name, body) in [
            (
                ".bashrc",
                "# ~/.bashrc: executed by bash(1) for non-login shells.\n# see /usr/share/doc/bash/examples/startup-files (in the package bash-doc)\n# for examples\n",
            ),
            (
                ".profile",
                "# ~/.profile: executed by the command interpreter for login shells.\n",
            ),
            (
                ".bash_logout",
                "# ~/.bash_logout: executed by bash(1) when login shell exits.\n",
            ),
        ] {
            t.insert(
                &format!("{home}/{name}"),
                Node::file(body.as_bytes().to_vec(), 0o644, u.uid, u.gid, inst + 60),
            );
        }
    }

    // /proc and /sys.
    for (name, what) in [
        ("cpuinfo", Live::Cpuinfo),
        ("meminfo", Live::Meminfo),
        ("uptime", Live::Uptime),
        ("loadavg", Live::Loadavg),
        ("version", Live::Version),
        ("mounts", Live::Mounts),
    ] {
        t.insert(&format!("/proc/{name}"), live(what));
    }
    t.insert("/proc/self", link("1", boot));
    t.insert("/proc/1", Node::dir(0o555, 0, 0, boot));
    t.insert("/proc/1/mounts", live(Live::Mounts));
    for p in [
        "/proc/sys",
        "/proc/sys/kernel",
        "/sys/class",
        "/sys/kernel",
        "/sys/devices",
        "/sys/fs",
        "/sys/block",
    ] {
        t.insert(p, Node::dir(0o555, 0, 0, boot));
    }
    t.insert(
        "/proc/sys/kernel/hostname",
        Node::file(
            format!("{}\n", host.hostname).into_bytes(),
            0o644,
            0,
            0,
            boot,
        ),
    );
    t.insert(
        "/proc/sys/kernel/pid_max",
        Node::file(b"4194304\n".to_vec(), 0o644, 0, 0, boot),
    );
    t.insert(
        "/proc/sys/kernel/osrelease",
        Node::file(format!("{k}\n").into_bytes(), 0o444, 0, 0, boot),
    );

    // /var.
    t.insert(
        "/var/log/syslog",
        Node::file(Vec::new(), 0o640, 0, 4, boot + 30),
    );
    t.insert(
        "/var/log/auth.log",
        Node::file(Vec::new(), 0o640, 0, 4, host.last_login.0),
    );
    t.insert(
        "/var/log/dpkg.log",
        Node::file(Vec::new(), 0o644, 0, 0, inst + 86_400),
    );
    t.insert(
        "/var/log/wtmp",
        Node::file(Vec::new(), 0o664, 0, 43, host.last_login.0),
    );
    t.insert(
        "/var/www/html/index.html",
        f("<html><body><h1>It works!</h1></body></html>\n", 0o644),
    );
    t.insert("/var/spool/cron/crontabs", Node::dir(0o1730, 0, 0, inst));
    t
}

fn uuid(hex: &str) -> String {
    let h = |a: usize, b: usize| hex.get(a..b).unwrap_or("0");
    format!(
        "{}-{}-{}-{}-{}",
        h(0, 8),
        h(8, 12),
        h(12, 16),
        h(16, 20),
        h(20, 32)
    )
}

fn sources(host: &Host) -> &'static str {
    match (
        host.release.flavour,
        host.release.os_release.contains("bullseye"),
    ) {
        (Flavour::Debian, false) => {
            "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian-security/ bookworm-security main\ndeb http://deb.debian.org/debian bookworm-updates main\n"
        }
        (Flavour::Debian, true) => {
            "deb http://deb.debian.org/debian bullseye main\ndeb http://security.debian.org/debian-security bullseye-security main\ndeb http://deb.debian.org/debian bullseye-updates main\n"
        }
        (Flavour::Ubuntu, _) => {
            "# See http://help.ubuntu.com/community/UpgradeNotes for how to upgrade to\n# newer versions of the distribution.\ndeb http://archive.ubuntu.com/ubuntu/ jammy main restricted\ndeb http://archive.ubuntu.com/ubuntu/ jammy-updates main restricted\ndeb http://security.ubuntu.com/ubuntu/ jammy-security main restricted\n"
        }
        _ => "",
    }
}

/// The static `/etc/motd` of the distribution.
fn motd_file(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Debian => DEBIAN_MOTD,
        Flavour::Alpine => {
            "Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to guides and general\ninformation about administrating Alpine systems.\nSee <https://wiki.alpinelinux.org/>.\n\nYou can setup the system with the command: setup-alpine\n\nYou may change this message by editing /etc/motd.\n\n"
        }
        _ => "",
    }
}

/// Debian's `/etc/motd`.
pub const DEBIAN_MOTD: &str = "\nThe programs included with the Debian GNU/Linux system are free software;\nthe exact distribution terms for each program are described in the\nindividual files in /usr/share/doc/*/copyright.\n\nDebian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n";
