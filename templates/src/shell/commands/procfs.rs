//! The login banner and the generated `/proc` files, rendered from the host model.

use std::fmt::Write as _;

use super::info::{ctime, dt, mon, wday};
use crate::shell::distro::Flavour;
use crate::shell::vfs::Live;
use crate::shell::{Entry, Shell, now};

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
            let _ = writeln!(s, "Linux {} {} {} x86_64", h.hostname, h.kernel, h.kernel_version);
            s.push_str(crate::shell::fsgen::DEBIAN_MOTD);
        }
        Flavour::Alpine => s.push_str("Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to guides and general\ninformation about administrating Alpine systems.\nSee <https://wiki.alpinelinux.org/>.\n\n"),
        Flavour::Redhat => {}
    }
    match sh.opts.entry {
        Entry::TelnetLogin => {
            let d = dt(last_t);
            let _ = writeln!(
                s,
                "Last login: {} {} {:>2} {:02}:{:02}:{:02} UTC {} from {last_ip} on pts/0",
                wday(&d),
                mon(&d),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.year()
            );
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
                    if c.vendor == "AuthenticAMD" {
                        "TLB size\t: 1024 4K pages\n"
                    } else {
                        ""
                    },
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
            for (k, v) in [
                ("SUnreclaim", m.sreclaimable / 2),
                ("KernelStack", 2400 + 800 * u64::from(h.cores)),
                ("PageTables", anon / 60),
                ("CommitLimit", m.total / 2 + m.swap_total),
                ("Committed_AS", anon * 3),
                ("VmallocTotal", 34_359_738_367),
                ("VmallocUsed", 13_000),
                ("Percpu", 600 * u64::from(h.cores)),
                ("HugePages_Total", 0),
                ("Hugepagesize", 2048),
            ] {
                if k == "HugePages_Total" {
                    let _ = writeln!(
                        s,
                        "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0"
                    );
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
            let _ = writeln!(
                s,
                "{:.2} {:.2} {:.2} 1/{} {}",
                l[0],
                l[1],
                l[2],
                h.procs.len() + 30,
                sh.next_pid
            );
        }
        Live::Version => {
            let _ = writeln!(
                s,
                "Linux version {} {} {}",
                h.kernel,
                crate::shell::distro::kernel_builder(h.kernel),
                h.kernel_version
            );
        }
        Live::Mounts => {
            s.push_str("sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nudev /dev devtmpfs rw,nosuid,relatime,mode=755,inode64 0 0\ndevpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000 0 0\ntmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,mode=755,inode64 0 0\n/dev/vda1 / ext4 rw,relatime,discard,errors=remount-ro 0 0\ntmpfs /dev/shm tmpfs rw,nosuid,nodev,inode64 0 0\ntmpfs /run/lock tmpfs rw,nosuid,nodev,noexec,relatime,size=5120k,inode64 0 0\n");
        }
    }
    s
}
