//! OS families and the network-stack profile that makes each look right to
//! `nmap -O` and to TTL-based guesses (`decnet/os_fingerprint.py` of the predecessor).

use serde::Serialize;

use crate::persona::OsFamily;

/// Every OS family, in spec spelling order.
pub const OS_FAMILIES: &[OsFamily] = &[
    OsFamily::Linux,
    OsFamily::Windows,
    OsFamily::WindowsServer,
    OsFamily::Bsd,
    OsFamily::Embedded,
    OsFamily::Cisco,
];

/// The kernel network-stack settings of one OS family (applied as per-namespace sysctls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NetworkProfile {
    /// `net.ipv4.ip_default_ttl`: initial TTL of replies.
    pub ttl: u8,
    /// `net.ipv4.tcp_syn_retries`.
    pub tcp_syn_retries: u8,
    /// `net.ipv4.tcp_timestamps`.
    pub tcp_timestamps: bool,
    /// `net.ipv4.tcp_window_scaling`.
    pub tcp_window_scaling: bool,
    /// `net.ipv4.tcp_sack`.
    pub tcp_sack: bool,
    /// `net.ipv4.tcp_ecn` (0 off, 1 request, 2 accept only).
    pub tcp_ecn: u8,
    /// `net.ipv4.ip_no_pmtu_disc` (true: path-MTU discovery off).
    pub ip_no_pmtu_disc: bool,
    /// `net.ipv4.tcp_fin_timeout` in seconds.
    pub tcp_fin_timeout: u16,
    /// `net.ipv4.icmp_ratelimit` in milliseconds (0: unlimited).
    pub icmp_ratelimit: u16,
    /// `net.ipv4.icmp_ratemask`.
    pub icmp_ratemask: u32,
    /// `net.ipv4.tcp_rmem` (min, default, max receive buffer in bytes).
    pub tcp_rmem: [u32; 3],
    /// `net.ipv4.tcp_wmem` (min, default, max send buffer in bytes).
    pub tcp_wmem: [u32; 3],
}

const LINUX_RMEM: [u32; 3] = [4096, 131_072, 6_291_456];
const LINUX_WMEM: [u32; 3] = [4096, 16_384, 4_194_304];
const DEFAULT_RATEMASK: u32 = 6168;

const LINUX: NetworkProfile = NetworkProfile {
    ttl: 64,
    tcp_syn_retries: 6,
    tcp_timestamps: true,
    tcp_window_scaling: true,
    tcp_sack: true,
    tcp_ecn: 2,
    ip_no_pmtu_disc: false,
    tcp_fin_timeout: 60,
    icmp_ratelimit: 1000,
    icmp_ratemask: DEFAULT_RATEMASK,
    tcp_rmem: LINUX_RMEM,
    tcp_wmem: LINUX_WMEM,
};

// Windows advertises a 64 KiB window that autotunes up to 8 MiB.
const WINDOWS: NetworkProfile = NetworkProfile {
    ttl: 128,
    tcp_syn_retries: 2,
    tcp_timestamps: true,
    tcp_window_scaling: true,
    tcp_sack: true,
    tcp_ecn: 0,
    ip_no_pmtu_disc: false,
    tcp_fin_timeout: 30,
    icmp_ratelimit: 0,
    icmp_ratemask: DEFAULT_RATEMASK,
    tcp_rmem: [4096, 65_535, 8_388_608],
    tcp_wmem: [4096, 65_535, 8_388_608],
};

const BSD: NetworkProfile = NetworkProfile {
    tcp_ecn: 0,
    icmp_ratelimit: 250,
    tcp_rmem: [4096, 65_536, 2_097_152],
    tcp_wmem: [4096, 32_768, 2_097_152],
    ..LINUX
};

// Small stacks: no timestamps, window scaling or SACK, no PMTU discovery.
const EMBEDDED: NetworkProfile = NetworkProfile {
    ttl: 255,
    tcp_syn_retries: 3,
    tcp_timestamps: false,
    tcp_window_scaling: false,
    tcp_sack: false,
    tcp_ecn: 0,
    ip_no_pmtu_disc: true,
    tcp_fin_timeout: 15,
    icmp_ratelimit: 1000,
    icmp_ratemask: DEFAULT_RATEMASK,
    tcp_rmem: [4096, 16_384, 65_535],
    tcp_wmem: [4096, 16_384, 65_535],
};

/// The network-stack profile of `os`.
pub fn network_profile(os: OsFamily) -> &'static NetworkProfile {
    match os {
        OsFamily::Linux => &LINUX,
        OsFamily::Windows => &WINDOWS,
        OsFamily::WindowsServer => &WINDOWS_SERVER,
        OsFamily::Bsd => &BSD,
        OsFamily::Embedded => &EMBEDDED,
        OsFamily::Cisco => &CISCO,
    }
}

const WINDOWS_SERVER: NetworkProfile = NetworkProfile {
    tcp_ecn: 1,
    ..WINDOWS
};

const CISCO: NetworkProfile = NetworkProfile {
    tcp_syn_retries: 2,
    ..EMBEDDED
};

impl NetworkProfile {
    /// The profile as `(sysctl name, value)` pairs, ready for a container's sysctls.
    pub fn sysctls(&self) -> Vec<(&'static str, String)> {
        let b = |v: bool| u8::from(v).to_string();
        let triple = |t: [u32; 3]| format!("{} {} {}", t[0], t[1], t[2]);
        vec![
            ("net.ipv4.ip_default_ttl", self.ttl.to_string()),
            ("net.ipv4.tcp_syn_retries", self.tcp_syn_retries.to_string()),
            ("net.ipv4.tcp_timestamps", b(self.tcp_timestamps)),
            ("net.ipv4.tcp_window_scaling", b(self.tcp_window_scaling)),
            ("net.ipv4.tcp_sack", b(self.tcp_sack)),
            ("net.ipv4.tcp_ecn", self.tcp_ecn.to_string()),
            ("net.ipv4.ip_no_pmtu_disc", b(self.ip_no_pmtu_disc)),
            ("net.ipv4.tcp_fin_timeout", self.tcp_fin_timeout.to_string()),
            ("net.ipv4.icmp_ratelimit", self.icmp_ratelimit.to_string()),
            ("net.ipv4.icmp_ratemask", self.icmp_ratemask.to_string()),
            ("net.ipv4.tcp_rmem", triple(self.tcp_rmem)),
            ("net.ipv4.tcp_wmem", triple(self.tcp_wmem)),
        ]
    }
}
