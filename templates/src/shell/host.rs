//! The virtual host: one source of truth for everything a shell can observe
//! (kernel, distribution, CPU, memory, users, processes, uptime, file tree).
//!
//! Every value is derived from the persona's seed, so two sessions on one
//! decky see the same machine and two deckies never look alike. Command
//! output is rendered from this model, never canned per command: `uname -a`,
//! `/proc/version`, the login banner and `cat /etc/os-release` cannot
//! disagree.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use rand::seq::SliceRandom as _;

use super::distro::{self, Release};
use super::vfs::Tree;
use crate::persona::Persona;

/// A CPU model the persona can run on (a KVM guest's view of it).
#[derive(Debug)]
pub struct CpuModel {
    /// `vendor_id`.
    pub vendor: &'static str,
    /// `cpu family`.
    pub family: u32,
    /// `model`.
    pub model: u32,
    /// `model name`.
    pub name: &'static str,
    /// `stepping`.
    pub stepping: u32,
    /// `microcode`.
    pub microcode: &'static str,
    /// Nominal MHz.
    pub mhz: f64,
    /// `cache size` in KB.
    pub cache_kb: u32,
    /// `cpuid level`.
    pub cpuid_level: u32,
    /// `address sizes`.
    pub address_sizes: &'static str,
    /// `flags`.
    pub flags: &'static str,
    /// `bugs`.
    pub bugs: &'static str,
}

const INTEL_FLAGS_BDW: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq vmx ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single pti ssbd ibrs ibpb stibp tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm rdseed adx smap xsaveopt arat umip md_clear arch_capabilities";
const INTEL_FLAGS_CLX: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq vmx ssse3 fma cx16 pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat vnmi umip pku ospke avx512_vnni md_clear arch_capabilities";
const AMD_FLAGS_MILAN: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm rep_good nopl cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext perfctr_core invpcid_single ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero xsaveerptr wbnoinvd arat umip pku ospke vaes vpclmulqdq rdpid fsrm arch_capabilities";

/// CPUs common under cloud and hosting VMs.
pub const CPU_MODELS: &[CpuModel] = &[
    CpuModel {
        vendor: "GenuineIntel",
        family: 6,
        model: 79,
        name: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz",
        stepping: 1,
        microcode: "0xb000040",
        mhz: 2399.996,
        cache_kb: 35840,
        cpuid_level: 13,
        address_sizes: "46 bits physical, 48 bits virtual",
        flags: INTEL_FLAGS_BDW,
        bugs: "cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit mmio_stale_data",
    },
    CpuModel {
        vendor: "GenuineIntel",
        family: 6,
        model: 85,
        name: "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
        stepping: 7,
        microcode: "0x5003604",
        mhz: 2992.968,
        cache_kb: 36608,
        cpuid_level: 13,
        address_sizes: "46 bits physical, 48 bits virtual",
        flags: INTEL_FLAGS_CLX,
        bugs: "spectre_v1 spectre_v2 spec_store_bypass swapgs taa itlb_multihit mmio_stale_data retbleed eibrs_pbrsb gds bhi",
    },
    CpuModel {
        vendor: "AuthenticAMD",
        family: 25,
        model: 1,
        name: "AMD EPYC 7543 32-Core Processor",
        stepping: 1,
        microcode: "0xa0011d1",
        mhz: 2794.748,
        cache_kb: 512,
        cpuid_level: 16,
        address_sizes: "48 bits physical, 48 bits virtual",
        flags: AMD_FLAGS_MILAN,
        bugs: "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso",
    },
];

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

/// Memory figures in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Mem {
    /// MemTotal.
    pub total: u64,
    /// MemFree.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Cached.
    pub cached: u64,
    /// Shmem.
    pub shmem: u64,
    /// SReclaimable.
    pub sreclaimable: u64,
    /// SwapTotal.
    pub swap_total: u64,
}

impl Mem {
    /// MemAvailable as the kernel estimates it, near enough.
    pub fn available(&self) -> u64 {
        (self.free + self.cached + self.buffers + self.sreclaimable).min(self.total)
    }

    /// Used as `free` computes it.
    pub fn used(&self) -> u64 {
        self.total
            .saturating_sub(self.free + self.buffers + self.cached + self.sreclaimable)
    }
}

/// What the services add to the persona when building the host.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Login accounts (beyond root) that must exist, from the accepted credentials.
    pub accounts: Vec<String>,
    /// The SSH identification the sshd claims (for `ssh -V` and `ps`).
    pub ssh_version: Option<String>,
    /// `(file name, contents)` of `/etc/ssh/ssh_host_*_key.pub`.
    pub ssh_host_keys: Vec<(String, String)>,
}

/// The whole emulated machine.
#[derive(Debug)]
pub struct Host {
    /// The persona it is derived from.
    pub persona: Arc<Persona>,
    /// Host name (`hostname`, `/etc/hostname`, prompts).
    pub hostname: String,
    /// Distribution release.
    pub release: &'static Release,
    /// `uname -r`.
    pub kernel: &'static str,
    /// `uname -v`.
    pub kernel_version: &'static str,
    /// CPU model.
    pub cpu: &'static CpuModel,
    /// Number of vCPUs.
    pub cores: u32,
    /// Per-core MHz jitter.
    pub mhz: Vec<f64>,
    /// Memory.
    pub mem: Mem,
    /// `/etc/passwd`.
    pub users: Vec<User>,
    /// `/etc/group`.
    pub groups: Vec<Group>,
    /// Process table (without the attacker's own session).
    pub procs: Vec<Proc>,
    /// The SSH identification (no `SSH-2.0-`).
    pub ssh_version: String,
    /// MAC address of eth0.
    pub mac: [u8; 6],
    /// Root file-system size in 1K blocks, and used blocks.
    pub disk: (u64, u64),
    /// When the OS was installed (unix seconds).
    pub installed: i64,
    /// The previous login: (unix seconds, source address).
    pub last_login: (i64, IpAddr),
    /// Next pid handed to a new process.
    pub next_pid: u32,
    /// Base file tree.
    pub tree: Arc<Tree>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Host {
    /// Builds the machine of `persona`.
    pub fn new(persona: Arc<Persona>, cfg: &HostConfig) -> Host {
        let seed = persona.seed();
        let kernel = persona.kernel_release();
        let release = distro::release(&persona.distro, kernel);
        let mut rng = seed.rng("host.hardware");
        let cpu = CPU_MODELS.choose(&mut rng).unwrap_or(&CPU_MODELS[0]);
        let cores = *[1u32, 2, 2, 4, 4, 8].choose(&mut rng).unwrap_or(&2);
        let mhz = (0..cores)
            .map(|_| cpu.mhz + rng.gen_range(-0.02..0.02))
            .collect();
        let gib = match cores {
            1 => *[1u64, 2].choose(&mut rng).unwrap_or(&1),
            2 => *[2u64, 4].choose(&mut rng).unwrap_or(&2),
            4 => *[4u64, 8].choose(&mut rng).unwrap_or(&4),
            _ => *[8u64, 16, 32].choose(&mut rng).unwrap_or(&16),
        };
        let total = gib * 1024 * 1024 - rng.gen_range(90_000..190_000) * gib.min(4) / 2;
        let mem = Mem {
            total,
            free: total * rng.gen_range(18..55) / 100,
            buffers: total * rng.gen_range(1..4) / 100,
            cached: total * rng.gen_range(20..45) / 100,
            shmem: rng.gen_range(900..12_000),
            sreclaimable: total * rng.gen_range(2..6) / 100,
            swap_total: if rng.gen_bool(0.5) { 0 } else { 974 * 1024 + 1020 },
        };
        let mac = {
            // KVM/QEMU's OUI: what a VPS's virtio NIC shows.
            let mut m = [0x52, 0x54, 0x00, 0, 0, 0];
            rng.fill(&mut m[3..]);
            m
        };
        let disk_gib = *[20u64, 25, 40, 50, 80, 160].choose(&mut rng).unwrap_or(&40);
        let disk_total = disk_gib * 1024 * 1024 - disk_gib * 20_000;
        let disk = (disk_total, disk_total * rng.gen_range(8..46) / 100);
        let now = now_unix();
        let uptime = persona.uptime().as_secs() as i64;
        let installed = now - uptime - rng.gen_range(20..700) * 86_400;
        let last_login = (
            now - rng.gen_range(3_600..9 * 86_400),
            IpAddr::from([
                10,
                rng.gen_range(0..255),
                rng.gen_range(0..255),
                rng.gen_range(2..250),
            ]),
        );
        let (users, groups) = accounts(release, &cfg.accounts);
        let ssh_version = cfg
            .ssh_version
            .clone()
            .unwrap_or_else(|| release.ssh_version.to_owned());
        let (procs, next_pid) = processes(&mut seed.rng("host.procs"), cores, mem.total, uptime);
        let mut host = Host {
            hostname: persona.hostname.clone(),
            release,
            kernel,
            kernel_version: distro::kernel_version(kernel),
            cpu,
            cores,
            mhz,
            mem,
            users,
            groups,
            procs,
            ssh_version,
            mac,
            disk,
            installed,
            last_login,
            next_pid,
            tree: Arc::new(Tree::default()),
            persona,
        };
        host.tree = Arc::new(super::fsgen::build(&host, cfg));
        host
    }

    /// Seconds since boot, now.
    pub fn uptime(&self) -> Duration {
        self.persona.uptime()
    }

    /// Unix time of boot.
    pub fn boot_time(&self) -> i64 {
        now_unix() - self.uptime().as_secs() as i64
    }

    /// `uname -a`.
    pub fn uname_a(&self) -> String {
        format!(
            "Linux {} {} {} x86_64 GNU/Linux",
            self.hostname, self.kernel, self.kernel_version
        )
    }

    /// The passwd entry of `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The name of uid `uid`, or the number.
    pub fn user_name(&self, uid: u32) -> String {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map_or_else(|| uid.to_string(), |u| u.name.clone())
    }

    /// The name of gid `gid`, or the number.
    pub fn group_name(&self, gid: u32) -> String {
        self.groups
            .iter()
            .find(|g| g.gid == gid)
            .map_or_else(|| gid.to_string(), |g| g.name.clone())
    }

    /// Groups `user` belongs to: primary first, then supplementary.
    pub fn groups_of(&self, user: &User) -> Vec<&Group> {
        let mut out: Vec<&Group> = self.groups.iter().filter(|g| g.gid == user.gid).collect();
        out.extend(
            self.groups
                .iter()
                .filter(|g| g.gid != user.gid && g.members.iter().any(|m| *m == user.name)),
        );
        out
    }

    /// Load averages derived from the clock so they drift plausibly.
    pub fn loadavg(&self) -> [f64; 3] {
        let t = self.uptime().as_secs_f64();
        let base = 0.02 * f64::from(self.cores);
        let wave = |period: f64| ((t / period).sin() + 1.0) * 0.5;
        [
            base + 0.2 * wave(97.0),
            base + 0.12 * wave(611.0),
            base + 0.08 * wave(1777.0),
        ]
    }

    /// `ssh -V` (printed on stderr).
    pub fn ssh_dash_v(&self) -> String {
        format!("{}, {}", self.ssh_version, self.release.openssl)
    }
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
fn accounts(release: &Release, logins: &[String]) -> (Vec<User>, Vec<Group>) {
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
        let gecos = if release.flavour == super::distro::Flavour::Ubuntu {
            format!("{login},,,")
        } else {
            format!("{login},,,")
        };
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
                if ["cdrom", "floppy", "sudo", "audio", "dip", "video", "plugdev", "netdev"]
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
fn processes(rng: &mut impl rand::Rng, cores: u32, mem_total: u64, uptime: i64) -> (Vec<Proc>, u32) {
    let up = uptime.max(1) as u64;
    let mut out = Vec::new();
    let mut p = |user: &str, pid: u32, ppid: u32, vsz: u64, rss: u64, stat: &str, at: u64, cpu: u64, cmd: &str| {
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
    p("root", 1, 0, 167_716 + rng.gen_range(0..900), 12_000 + rng.gen_range(0..2000), "Ss", 0, up / 900, "/sbin/init");
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
        p("root", pid + 1, 2, 0, 0, "S", 0, 0, &format!("[migration/{c}]"));
        p("root", pid + 2, 2, 0, 0, "S", 0, up / 5000, &format!("[ksoftirqd/{c}]"));
        pid += 5;
    }
    p("root", pid, 2, 0, 0, "S", 0, 0, "[kdevtmpfs]");
    p("root", pid + 2, 2, 0, 0, "S", 0, 0, "[kauditd]");
    p("root", pid + 3, 2, 0, 0, "S", 0, 0, "[khungtaskd]");
    p("root", pid + 4, 2, 0, 0, "S", 0, 0, "[oom_reaper]");
    p("root", pid + 7, 2, 0, 0, "S", 0, up / 20_000, "[kcompactd0]");
    p("root", pid + 8, 2, 0, 0, "SN", 0, 0, "[ksmd]");
    p("root", pid + 9, 2, 0, 0, "SN", 0, 0, "[khugepaged]");
    p("root", pid + 30, 2, 0, 0, "S", 0, 0, "[kswapd0]");
    p("root", pid + 160, 2, 0, 0, "S", 1, up / 9000, "[jbd2/vda1-8]");
    let j = pid + 190 + rng.gen_range(0..20);
    p("root", j, 1, 48_000 + rng.gen_range(0..30_000), 14_000 + rng.gen_range(0..20_000), "Ss", 2, up / 2500, "/lib/systemd/systemd-journald");
    p("root", j + 31, 1, 26_000 + rng.gen_range(0..900), 6_900, "Ss", 2, up / 40_000, "/lib/systemd/systemd-udevd");
    let s = j + 300 + rng.gen_range(0..60);
    p("systemd+", s, 1, 90_000 + rng.gen_range(0..500), 6_600, "Ssl", 3, up / 90_000, "/lib/systemd/systemd-timesyncd");
    p("root", s + 62, 1, 6_600, 2_700, "Ss", 4, up / 30_000, "/usr/sbin/cron -f");
    p("message+", s + 63, 1, 9_000, 4_900, "Ss", 4, up / 60_000, "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only");
    p("root", s + 66, 1, 222_000 + rng.gen_range(0..900), 4_600, "Ssl", 4, up / 50_000, "/usr/sbin/rsyslogd -n -iNONE");
    p("root", s + 68, 1, 25_000 + rng.gen_range(0..800), 7_700, "Ss", 4, up / 80_000, "/lib/systemd/systemd-logind");
    p("root", s + 80, 1, 5_900, 1_000, "Ss+", 5, 0, "/sbin/agetty -o -p -- \\u --noclear - linux");
    p("root", s + 84, 1, 15_400 + rng.gen_range(0..300), 9_300, "Ss", 5, up / 70_000, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups");
    // Kernel workers come and go; the newest ones give the pid counter away.
    let churn = (up / 40).clamp(500, 3_500_000) as u32;
    let mut last = s + 120;
    for i in 0..(2 + cores as usize) {
        last = (last + churn / 3 + rng.gen_range(0..churn / 3 + 1)).min(4_000_000);
        let name = match i % 3 {
            0 => format!("[kworker/{}:{}-events]", i % cores as usize, rng.gen_range(0..3)),
            1 => format!("[kworker/u{}:{}-events_unbound]", cores * 2, rng.gen_range(0..4)),
            _ => format!("[kworker/{}:{}H-kblockd]", i % cores as usize, rng.gen_range(0..2)),
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
    let next = out.last().map_or(1000, |p| p.pid + 1 + rng.gen_range(10..300));
    (out, next)
}
