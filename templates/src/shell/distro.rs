//! Distribution releases a Linux persona can be: the texts and versions that
//! must agree with each other (`/etc/os-release`, the SSH banner, `ssh -V`,
//! the kernel's `uname -v`, the login banner).
//!
//! The release is derived from the persona's kernel, never chosen separately:
//! a 5.10 kernel under a Debian 12 `/etc/os-release` is exactly the kind of
//! inconsistency that gives a honeypot away.

/// One distribution release.
#[derive(Debug)]
pub struct Release {
    /// `ID` of os-release (`debian`, `ubuntu`, ...).
    pub id: &'static str,
    /// Full `/usr/lib/os-release` text.
    pub os_release: &'static str,
    /// `/etc/issue` (with getty escapes, as on disk).
    pub issue: &'static str,
    /// `/etc/issue.net`.
    pub issue_net: &'static str,
    /// `/etc/debian_version`, for Debian-family releases.
    pub debian_version: Option<&'static str>,
    /// Default SSH identification (after `SSH-2.0-`), a real, common build.
    pub ssh_version: &'static str,
    /// What `ssh -V` adds after the version: the OpenSSL the package links.
    pub openssl: &'static str,
    /// `bash --version` first line's version.
    pub bash: &'static str,
    /// Style of the login banner and prompt.
    pub flavour: Flavour,
}

/// Family-level differences in login texts and prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Debian: plain `root@host:~#` prompt, the Debian motd.
    Debian,
    /// Ubuntu: coloured prompt with a title escape, the landscape motd.
    Ubuntu,
    /// RHEL and clones: `[root@host ~]#`, empty motd.
    Redhat,
    /// Alpine: busybox-like `host:~#`, Alpine motd.
    Alpine,
}

const DEBIAN_12: Release = Release {
    id: "debian",
    os_release: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n",
    issue: "Debian GNU/Linux 12 \\n \\l\n\n",
    issue_net: "Debian GNU/Linux 12\n",
    debian_version: Some("12.6\n"),
    ssh_version: "OpenSSH_9.2p1 Debian-2+deb12u3",
    openssl: "OpenSSL 3.0.13 30 Jan 2024",
    bash: "5.2.15(1)-release",
    flavour: Flavour::Debian,
};

const DEBIAN_11: Release = Release {
    id: "debian",
    os_release: "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"11\"\nVERSION=\"11 (bullseye)\"\nVERSION_CODENAME=bullseye\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n",
    issue: "Debian GNU/Linux 11 \\n \\l\n\n",
    issue_net: "Debian GNU/Linux 11\n",
    debian_version: Some("11.9\n"),
    ssh_version: "OpenSSH_8.4p1 Debian-5+deb11u3",
    openssl: "OpenSSL 1.1.1w  11 Sep 2023",
    bash: "5.1.4(1)-release",
    flavour: Flavour::Debian,
};

const UBUNTU_2204: Release = Release {
    id: "ubuntu",
    os_release: "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nHOME_URL=\"https://www.ubuntu.com/\"\nSUPPORT_URL=\"https://help.ubuntu.com/\"\nBUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\nPRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/privacy-policy\"\nUBUNTU_CODENAME=jammy\n",
    issue: "Ubuntu 22.04.4 LTS \\n \\l\n\n",
    issue_net: "Ubuntu 22.04.4 LTS\n",
    debian_version: Some("bookworm/sid\n"),
    ssh_version: "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
    openssl: "OpenSSL 3.0.2 15 Mar 2022",
    bash: "5.1.16(1)-release",
    flavour: Flavour::Ubuntu,
};

const UBUNTU_2404: Release = Release {
    id: "ubuntu",
    os_release: "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nHOME_URL=\"https://www.ubuntu.com/\"\nSUPPORT_URL=\"https://help.ubuntu.com/\"\nBUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\nPRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/privacy-policy\"\nUBUNTU_CODENAME=noble\nLOGO=ubuntu-logo\n",
    issue: "Ubuntu 24.04.1 LTS \\n \\l\n\n",
    issue_net: "Ubuntu 24.04.1 LTS\n",
    debian_version: Some("trixie/sid\n"),
    ssh_version: "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
    openssl: "OpenSSL 3.0.13 30 Jan 2024",
    bash: "5.2.21(1)-release",
    flavour: Flavour::Ubuntu,
};

const ROCKY_9: Release = Release {
    id: "rocky",
    os_release: "NAME=\"Rocky Linux\"\nVERSION=\"9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\nANSI_COLOR=\"0;32\"\nLOGO=\"fedora-logo-icon\"\nCPE_NAME=\"cpe:/o:rocky:rocky:9::baseos\"\nHOME_URL=\"https://rockylinux.org/\"\nBUG_REPORT_URL=\"https://bugs.rockylinux.org/\"\nSUPPORT_END=\"2032-05-31\"\nROCKY_SUPPORT_PRODUCT=\"Rocky-Linux-9\"\nROCKY_SUPPORT_PRODUCT_VERSION=\"9.4\"\nREDHAT_SUPPORT_PRODUCT=\"Rocky Linux\"\nREDHAT_SUPPORT_PRODUCT_VERSION=\"9.4\"\n",
    issue: "\\S\nKernel \\r on an \\m\n\n",
    issue_net: "\\S\nKernel \\r on an \\m\n",
    debian_version: None,
    ssh_version: "OpenSSH_8.7",
    openssl: "OpenSSL 3.0.7 1 Nov 2022",
    bash: "5.1.8(1)-release",
    flavour: Flavour::Redhat,
};

const ROCKY_8: Release = Release {
    id: "rocky",
    os_release: "NAME=\"Rocky Linux\"\nVERSION=\"8.9 (Green Obsidian)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"\nPLATFORM_ID=\"platform:el8\"\nPRETTY_NAME=\"Rocky Linux 8.9 (Green Obsidian)\"\nANSI_COLOR=\"0;32\"\nLOGO=\"fedora-logo-icon\"\nCPE_NAME=\"cpe:/o:rocky:rocky:8:GA\"\nHOME_URL=\"https://rockylinux.org/\"\nBUG_REPORT_URL=\"https://bugs.rockylinux.org/\"\nSUPPORT_END=\"2029-05-31\"\nROCKY_SUPPORT_PRODUCT=\"Rocky-Linux-8\"\nROCKY_SUPPORT_PRODUCT_VERSION=\"8.9\"\nREDHAT_SUPPORT_PRODUCT=\"Rocky Linux\"\nREDHAT_SUPPORT_PRODUCT_VERSION=\"8.9\"\n",
    issue: "\\S\nKernel \\r on an \\m\n\n",
    issue_net: "\\S\nKernel \\r on an \\m\n",
    debian_version: None,
    ssh_version: "OpenSSH_8.0",
    openssl: "OpenSSL 1.1.1k  FIPS 25 Mar 2021",
    bash: "4.4.20(1)-release",
    flavour: Flavour::Redhat,
};

const ALPINE_320: Release = Release {
    id: "alpine",
    os_release: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\nHOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n",
    issue: "Welcome to Alpine Linux 3.20\nKernel \\r on an \\m (\\l)\n\n",
    issue_net: "Welcome to Alpine Linux 3.20\n",
    debian_version: None,
    ssh_version: "OpenSSH_9.7",
    openssl: "OpenSSL 3.3.2 3 Sep 2024",
    bash: "5.2.26(1)-release",
    flavour: Flavour::Alpine,
};

/// The release a persona runs, from its distribution and kernel release.
pub fn release(distro: &str, kernel: &str) -> &'static Release {
    match distro {
        "ubuntu" if kernel.starts_with("5.") => &UBUNTU_2204,
        "ubuntu" => &UBUNTU_2404,
        "centos" | "rhel" | "rocky" | "almalinux" if kernel.starts_with("4.") => &ROCKY_8,
        "centos" | "rhel" | "rocky" | "almalinux" => &ROCKY_9,
        "alpine" => &ALPINE_320,
        _ if kernel.starts_with("5.10.") => &DEBIAN_11,
        _ => &DEBIAN_12,
    }
}

/// `uname -v` for the kernel releases the persona module picks from, copied
/// from the distributions' builds of those releases.
pub fn kernel_version(release: &str) -> &'static str {
    match release {
        "6.1.0-18-amd64" => "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        "6.1.0-21-amd64" => "#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)",
        "6.1.0-25-amd64" => "#1 SMP PREEMPT_DYNAMIC Debian 6.1.106-3 (2024-08-26)",
        "6.1.0-28-amd64" => "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
        "5.10.0-28-amd64" => "#1 SMP Debian 5.10.209-2 (2024-01-31)",
        "5.15.0-91-generic" => "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
        "5.15.0-105-generic" => "#115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024",
        "5.15.0-119-generic" => "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024",
        "6.8.0-45-generic" => "#45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024",
        "6.8.0-51-generic" => "#52-Ubuntu SMP PREEMPT_DYNAMIC Thu Dec 5 13:09:44 UTC 2024",
        "4.18.0-513.24.1.el8_9.x86_64" => "#1 SMP Thu Apr 4 18:13:02 UTC 2024",
        "5.14.0-362.24.1.el9_3.x86_64" => "#1 SMP PREEMPT_DYNAMIC Thu Apr 4 22:31:43 UTC 2024",
        "5.14.0-427.22.1.el9_4.x86_64" => "#1 SMP PREEMPT_DYNAMIC Mon Jun 17 13:47:24 UTC 2024",
        "6.6.31-0-lts" => "#1-Alpine SMP PREEMPT_DYNAMIC Fri, 17 May 2024 11:47:02 +0000",
        "6.6.58-0-lts" => "#1-Alpine SMP PREEMPT_DYNAMIC Mon, 28 Oct 2024 09:12:47 +0000",
        _ => "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
    }
}

/// The compiler line of `/proc/version` for a kernel release.
pub fn kernel_builder(release: &str) -> &'static str {
    if release.ends_with("-amd64") && release.starts_with("6.1.") {
        "(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40)"
    } else if release.ends_with("-amd64") {
        "(debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2)"
    } else if release.starts_with("5.15.") {
        "(buildd@lcy02-amd64-001) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38)"
    } else if release.ends_with("-generic") {
        "(buildd@lcy02-amd64-075) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42)"
    } else if release.contains(".el8") {
        "(mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-20) (GCC))"
    } else if release.contains(".el9") {
        "(mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3), GNU ld version 2.35.2-43.el9)"
    } else {
        "(buildozer@build-3-20-x86_64) (gcc (Alpine 13.2.1_git20240309) 13.2.1 20240309, GNU ld (GNU Binutils) 2.42)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_follows_the_kernel() {
        assert_eq!(
            release("debian", "6.1.0-18-amd64").ssh_version,
            "OpenSSH_9.2p1 Debian-2+deb12u3"
        );
        assert!(
            release("debian", "5.10.0-28-amd64")
                .os_release
                .contains("bullseye")
        );
        assert_eq!(
            release("ubuntu", "5.15.0-91-generic").ssh_version,
            "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
        );
        assert!(
            release("ubuntu", "6.8.0-45-generic")
                .os_release
                .contains("24.04")
        );
        assert!(kernel_version("6.1.0-25-amd64").contains("6.1.106-3"));
    }
}
