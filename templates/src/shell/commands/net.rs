//! Network clients. Nothing leaves the decky: every attempt is recorded as a
//! `download_attempt` event and fails the way a host behind an egress
//! firewall fails (names do not resolve, addresses refuse).

use std::net::IpAddr;
use std::time::Duration;

use crate::session::Draft;
use crate::shell::exec::Ctx;
use crate::shell::{DOWNLOAD_ATTEMPT, Shell};

/// Longest URL recorded in an event.
const MAX_URL: usize = 2048;

/// Scheme, host and port of a URL the way wget/curl read it.
fn target(url: &str) -> (String, String, u16) {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_owned(), url),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let default = match scheme.as_str() {
        "https" => 443,
        "ftp" => 21,
        _ => 80,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']').unwrap_or((v6, ""));
        (
            h.to_owned(),
            p.trim_start_matches(':').parse().unwrap_or(default),
        )
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(default)),
            None => (hostport.to_owned(), default),
        }
    };
    (scheme, host, port)
}

fn record(sh: &mut Shell, tool: &str, url: &str, output: Option<&str>) {
    let url: String = url.chars().take(MAX_URL).collect();
    let mut d = Draft::new(DOWNLOAD_ATTEMPT)
        .field("url", url)
        .field("tool", tool.to_owned())
        .field("cwd", sh.cwd.clone());
    if let Some(o) = output {
        d = d.field("output", o.to_owned());
    }
    sh.emit(d);
}

fn jitter(ms: u64) -> Duration {
    use rand::Rng as _;
    Duration::from_millis(ms + rand::rngs::OsRng.gen_range(0..ms / 2 + 1))
}

/// `wget [-q] [-O FILE] URL…` (GNU Wget 1.21).
pub fn wget(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut quiet = false;
    let mut output = None;
    let mut urls = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-O" | "--output-document" => output = it.next().cloned(),
            "-q" | "--quiet" => quiet = true,
            "-qO-" | "-qO" => {
                quiet = true;
                output = Some(if a == "-qO-" {
                    "-".into()
                } else {
                    it.next().cloned().unwrap_or_default()
                });
            }
            "-P" | "-U" | "--user-agent" | "-t" | "-T" | "--tries" | "--timeout" | "--header" => {
                it.next();
            }
            s if s.starts_with("-O") => output = Some(s[2..].to_owned()),
            s if s.starts_with('-') => {}
            _ => urls.push(a.clone()),
        }
    }
    if urls.is_empty() {
        ctx.eprint("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n");
        return 1;
    }
    for url in &urls {
        record(sh, "wget", url, output.as_deref());
        let full = if url.contains("://") {
            url.clone()
        } else {
            format!("http://{url}")
        };
        let (_, host, port) = target(&full);
        let d = crate::shell::commands::info_now();
        if !quiet {
            ctx.eprint(format!("--{d}--  {full}\n"));
        }
        if host.parse::<IpAddr>().is_ok() {
            if !quiet {
                ctx.eprint(format!("Connecting to {host}:{port}... "));
            }
            sh.pause(ctx, jitter(900));
            if !quiet {
                ctx.eprint("failed: Connection refused.\n");
            }
        } else {
            if !quiet {
                ctx.eprint(format!("Resolving {host} ({host})... "));
            }
            sh.pause(ctx, jitter(2500));
            if !quiet {
                ctx.eprint(format!("failed: Temporary failure in name resolution.\nwget: unable to resolve host address ‘{host}’\n"));
            }
        }
    }
    4
}

/// `curl [-sSLOo FILE] URL…` (curl 7.88).
pub fn curl(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut silent = false;
    let mut show_error = false;
    let mut output = None;
    let mut urls = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" | "--output" => output = it.next().cloned(),
            "-O" | "--remote-name" => output = Some(String::new()),
            "-s" | "--silent" => silent = true,
            "-S" | "--show-error" => show_error = true,
            "-H" | "-A" | "-d" | "-X" | "-u" | "--user-agent" | "--data" | "--header" | "-m"
            | "--connect-timeout" | "-e" => {
                it.next();
            }
            "-V" | "--version" => {
                ctx.print("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.13 zlib/1.2.13 brotli/1.0.9 zstd/1.5.4 libidn2/2.3.3 libpsl/0.21.2 (+libidn2/2.3.3) libssh2/1.10.0 nghttp2/1.52.0 librtmp/2.3 OpenLDAP/2.5.13\nRelease-Date: 2023-02-20, security patched: 7.88.1-10+deb12u7\nProtocols: dict file ftp ftps gopher gophers http https imap imaps ldap ldaps mqtt pop3 pop3s rtmp rtsp scp sftp smb smbs smtp smtps telnet tftp\nFeatures: alt-svc AsynchDNS brotli GSS-API HSTS HTTP2 HTTPS-proxy IDN IPv6 Kerberos Largefile libz NTLM NTLM_WB PSL SPNEGO SSL threadsafe TLS-SRP UnixSockets zstd\n");
                return 0;
            }
            s if s.starts_with('-') && s.len() > 1 && !s.starts_with("--") => {
                silent |= s.contains('s');
                show_error |= s.contains('S');
                if s.ends_with('o') {
                    output = it.next().cloned();
                } else if s.contains('O') {
                    output = Some(String::new());
                }
            }
            s if s.starts_with('-') => {}
            _ => urls.push(a.clone()),
        }
    }
    if urls.is_empty() {
        ctx.eprint("curl: try 'curl --help' or 'curl --manual' for more information\n");
        return 2;
    }
    let meter = !silent && (output.is_some() || !ctx.out_tty);
    let mut st = 0;
    for url in &urls {
        let out_name = match &output {
            Some(o) if o.is_empty() => url.rsplit('/').next().map(str::to_owned),
            o => o.clone(),
        };
        record(sh, "curl", url, out_name.as_deref());
        let (scheme, host, port) = target(url);
        if ![
            "http", "https", "ftp", "ftps", "file", "scp", "sftp", "tftp", "telnet", "dict",
            "ldap", "gopher",
        ]
        .contains(&scheme.as_str())
        {
            if !silent || show_error {
                ctx.eprint(format!(
                    "curl: (1) Protocol \"{scheme}\" not supported or disabled in libcurl\n"
                ));
            }
            st = 1;
            continue;
        }
        if meter {
            ctx.eprint("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0");
        }
        let ip = host.parse::<IpAddr>().is_ok();
        let wait = if ip { jitter(900) } else { jitter(2500) };
        sh.pause(ctx, wait);
        if meter {
            ctx.eprint(if ip {
                "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0\n"
            } else {
                "\r  0     0    0     0    0     0      0      0 --:--:--  0:00:02 --:--:--     0\n"
            });
        }
        let (code, msg) = if ip {
            (
                7,
                format!(
                    "curl: (7) Failed to connect to {host} port {port} after {} ms: Couldn't connect to server\n",
                    wait.as_millis()
                ),
            )
        } else {
            (6, format!("curl: (6) Could not resolve host: {host}\n"))
        };
        if !silent || show_error {
            ctx.eprint(msg);
        }
        st = code;
    }
    st
}

/// `ssh -V`, and refused outbound connections.
pub fn ssh(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    if argv.iter().any(|a| a == "-V") {
        ctx.eprint(format!("{}\n", sh.host.ssh_dash_v()));
        return 0;
    }
    let Some(dest) = argv.iter().skip(1).find(|a| !a.starts_with('-')) else {
        ctx.eprint("usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]\n           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]\n           [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]\n           [-i identity_file] [-J destination] [-L address]\n           [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option]\n           [-P tag] [-p port] [-Q query_option] [-R address]\n           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]\n           destination [command [argument ...]]\n");
        return 255;
    };
    let host = dest.rsplit('@').next().unwrap_or(dest).to_owned();
    record(sh, "ssh", &format!("ssh://{dest}"), None);
    sh.pause(ctx, jitter(1500));
    if host.parse::<IpAddr>().is_ok() {
        ctx.eprint(format!(
            "ssh: connect to host {host} port 22: Connection refused\n"
        ));
    } else {
        ctx.eprint(format!(
            "ssh: Could not resolve hostname {host}: Temporary failure in name resolution\n"
        ));
    }
    255
}
