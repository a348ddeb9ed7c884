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
pub use super::hardware::{CPU_MODELS, CpuModel, Mem};
pub use super::population::{Group, Proc, User};
use super::population::{accounts, processes};
use super::vfs::Tree;
use crate::persona::Persona;

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
            swap_total: if rng.gen_bool(0.5) {
                0
            } else {
                974 * 1024 + 1020
            },
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
                .filter(|g| g.gid != user.gid && g.members.contains(&user.name)),
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
