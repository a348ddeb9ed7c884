//! `curl` and `nmap` against a real `decnet-decky` running the HTTP and HTTPS emulators.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;

use common::{Decky, run_client, session_of, shape};
use decnet_event::Event;
use sha2::Digest as _;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn curl(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let (status, out, err) = run_client(
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "-A", UA])
            .args(args),
        None,
    );
    println!("curl {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    (status, out, err)
}

/// The events of the only connection of `service`, once it has disconnected.
fn one_connection(decky: &Decky, service: &str) -> Vec<Event> {
    let events = decky.wait_for("a disconnect", |e| {
        e.iter()
            .any(|e| e.event_type == "disconnect" && e.service == service)
    });
    let sid = events
        .iter()
        .find(|e| e.service == service)
        .and_then(|e| e.session_id.clone())
        .unwrap();
    let conn: Vec<Event> = session_of(&events, &sid).into_iter().cloned().collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "connect" && e.service == service)
            .count(),
        1,
        "one connection expected: {events:#?}"
    );
    for e in &conn {
        assert_eq!(e.service, service);
        assert!(e.src_ip.is_loopback());
    }
    conn
}

fn refs(v: &[Event]) -> Vec<&Event> {
    v.iter().collect()
}

#[test]
fn curl_keep_alive_default_page_then_404() {
    let decky = Decky::start(
        "web-k1",
        "",
        "[services.http]\nserver_header = \"nginx/1.22.1\"",
    );
    let ip = decky.ip.to_string();
    let (status, out, _) = curl(&[
        "-i",
        &format!("http://{ip}/"),
        &format!("http://{ip}/admin/config.php"),
    ]);
    assert!(status.success());
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: "),
        "{out}"
    );
    assert!(out.contains("<title>Welcome to nginx!</title>"));
    assert!(out.contains("HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n"));
    assert!(out.contains("<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"));
    let conn = one_connection(&decky, "http");
    assert_eq!(
        shape(&refs(&conn), "status"),
        pairs(&[
            ("connect", ""),
            ("request", "200"),
            ("request", "404"),
            ("disconnect", "")
        ])
    );
    let first = &conn[1].fields;
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/");
    assert_eq!(first["version"], "HTTP/1.1");
    assert_eq!(first["user_agent"], UA);
    assert_eq!(
        first["headers"],
        format!("Host: {ip}\nUser-Agent: {UA}\nAccept: */*")
    );
    assert_eq!(first["body_len"], "0");
    assert_eq!(
        first["bytes_sent"],
        out.split("HTTP/1.1 404").next().unwrap().len().to_string()
    );
    assert_eq!(conn[2].fields["path"], "/admin/config.php");
    assert_eq!(conn[3].fields["reason"], "client_closed");
}

#[test]
fn wordpress_login_post_is_captured() {
    let decky = Decky::start(
        "blog-01",
        "",
        "[services.http]\nserver_header = \"nginx/1.22.1\"\nfake_app = \"wordpress\"",
    );
    let ip = decky.ip.to_string();
    let body =
        "log=admin&pwd=Winter2024%21&wp-submit=Log+In&redirect_to=%2Fwp-admin%2F&testcookie=1";
    let (status, out, _) = curl(&["-i", "-d", body, &format!("http://{ip}/wp-login.php")]);
    assert!(status.success());
    assert!(out.contains("Transfer-Encoding: chunked\r\n"));
    assert!(out.contains("<title>Log In &lsaquo; Blog 01 &#8212; WordPress</title>"));
    assert!(out.contains("<strong>Error:</strong> The password you entered for the username <strong>admin</strong> is incorrect."));
    let conn = one_connection(&decky, "http");
    assert_eq!(
        shape(&refs(&conn), "path"),
        pairs(&[
            ("connect", ""),
            ("request", "/wp-login.php"),
            ("auth", "/wp-login.php"),
            ("disconnect", "")
        ])
    );
    let req = &conn[1].fields;
    assert_eq!(req["method"], "POST");
    assert_eq!(req["status"], "200");
    assert_eq!(req["body_len"], body.len().to_string());
    assert_eq!(
        req["body_sha256"],
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
    assert_eq!(req["body"], body);
    assert_eq!(req["app"], "wordpress");
    let auth = &conn[2].fields;
    assert_eq!(auth["principal"], "admin");
    assert_eq!(auth["secret_printable"], "Winter2024!");
    assert_eq!(auth["secret_b64"], "V2ludGVyMjAyNCE=");
    assert_eq!(auth["secret_kind"], "plaintext");
    assert_eq!(auth["outcome"], "failure");
    assert_eq!(auth["auth_scheme"], "form");
}

#[test]
fn phpmyadmin_login_post_is_captured_by_apache() {
    let decky = Decky::start(
        "db-admin",
        "",
        "[services.http]\nserver_header = \"Apache/2.4.62 (Debian)\"\nfake_app = \"phpmyadmin\"",
    );
    let ip = decky.ip.to_string();
    let (_, page, _) = curl(&[&format!("http://{ip}/phpmyadmin/")]);
    assert!(page.contains("<title>phpMyAdmin</title>") && page.contains("name=\"pma_username\""));
    let (status, out, _) = curl(&[
        "-i",
        "--data-urlencode",
        "pma_username=root",
        "--data-urlencode",
        "pma_password=p@ss w0rd",
        "-d",
        "server=1&route=/",
        &format!("http://{ip}/phpmyadmin/index.php?route=/"),
    ]);
    assert!(status.success());
    assert!(out.starts_with("HTTP/1.1 200 OK\r\nDate: "));
    assert!(out.contains("\r\nServer: Apache/2.4.62 (Debian)\r\n"));
    assert!(out.contains(
        "Access denied for user &#039;root&#039;@&#039;localhost&#039; (using password: YES)"
    ));
    let events = decky.wait_for("two disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 2
    });
    let auths: Vec<&Event> = events.iter().filter(|e| e.event_type == "auth").collect();
    assert_eq!(auths.len(), 1, "{events:#?}");
    assert_eq!(auths[0].fields["principal"], "root");
    assert_eq!(auths[0].fields["secret_printable"], "p@ss w0rd");
    assert_eq!(auths[0].fields["app"], "phpmyadmin");
    let sid = auths[0].session_id.clone().unwrap();
    assert_eq!(
        shape(&session_of(&events, &sid), "status"),
        pairs(&[
            ("connect", ""),
            ("request", "200"),
            ("auth", ""),
            ("disconnect", "")
        ])
    );
}

#[test]
fn basic_auth_on_the_router_page_is_captured() {
    let decky = Decky::start(
        "gw-01",
        "",
        "[services.http]\nserver_header = \"nginx\"\nfake_app = \"router\"",
    );
    let ip = decky.ip.to_string();
    let (status, out, _) = curl(&[
        "-i",
        "-u",
        "admin:admin123",
        "-d",
        "username=admin&password=1234",
        &format!("http://{ip}/login.cgi"),
    ]);
    assert!(status.success());
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\nServer: nginx\r\n"),
        "{out}"
    );
    assert!(out.contains("Invalid username or password."));
    let conn = one_connection(&decky, "http");
    assert_eq!(
        shape(&refs(&conn), "auth_scheme"),
        pairs(&[
            ("connect", ""),
            ("request", ""),
            ("auth", "basic"),
            ("auth", "form"),
            ("disconnect", "")
        ])
    );
    assert_eq!(conn[2].fields["secret_printable"], "admin123");
    assert_eq!(conn[3].fields["secret_printable"], "1234");
}

#[test]
fn https_presents_the_seeded_certificate() {
    let decky = Decky::start(
        "intra-01",
        "",
        "[services.https]\nserver_header = \"Apache/2.4.62 (Debian)\"\ntls_cn = \"intranet.corp.example.com\"",
    );
    let ip = decky.ip.to_string();
    let (status, out, err) = curl(&[
        "-k",
        "-v",
        "--resolve",
        &format!("intranet.corp.example.com:443:{ip}"),
        "https://intranet.corp.example.com/",
    ]);
    assert!(status.success());
    assert!(out.contains("<title>Apache2 Debian Default Page: It works</title>"));
    assert!(
        err.contains("*  subject: CN=intranet.corp.example.com"),
        "{err}"
    );
    let issuer = err.lines().find(|l| l.contains("*  issuer: ")).unwrap();
    assert!(
        issuer.contains("CN=intranet.corp.example.com") || issuer.contains("CN=CORP-"),
        "{issuer}"
    );
    assert!(!err.to_lowercase().contains("decnet") && !err.to_lowercase().contains("honeypot"));
    let conn = one_connection(&decky, "https");
    assert_eq!(
        shape(&refs(&conn), "sni"),
        pairs(&[
            ("connect", ""),
            ("tls_handshake", "intranet.corp.example.com"),
            ("request", ""),
            ("disconnect", "")
        ])
    );
    assert_eq!(conn[2].fields["http_host"], "intranet.corp.example.com");
    assert_eq!(conn[2].fields["status"], "200");
    // Plain HTTP to the TLS port gets Apache's answer.
    let (_, out, _) = curl(&["-i", &format!("http://{ip}:443/")]);
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert!(out.contains("Reason: You're speaking plain HTTP to an SSL-enabled server port."));
}

#[test]
fn nmap_names_nginx_and_apache_over_tls() {
    let decky = Decky::start(
        "web-nm",
        "",
        "[services.http]\nserver_header = \"nginx/1.22.1\"\n[services.https]\nserver_header = \"Apache/2.4.62 (Debian)\"",
    );
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-n", "-p", "80,443", &decky.ip.to_string()]),
        None,
    );
    common::keep_log("nmap-http", &format!("{out}\n{err}"));
    assert!(status.success(), "nmap failed: {err}");
    let line = |p: &str| {
        out.lines()
            .find(|l| l.starts_with(p))
            .expect("port line")
            .to_owned()
    };
    let http = line("80/tcp");
    assert!(
        http.contains("open") && http.contains("http") && http.contains("nginx 1.22.1"),
        "{http}"
    );
    let https = line("443/tcp");
    assert!(
        https.contains("ssl/http") && https.contains("Apache httpd 2.4.62 ((Debian))"),
        "{https}"
    );
    assert!(!out.to_lowercase().contains("honeypot"));
    assert!(!out.contains("unrecognized"));
}
