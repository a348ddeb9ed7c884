use std::sync::Arc;

use super::*;
use crate::persona::Persona;
use crate::session::{Action, ConnInfo, Draft};
use crate::spec::DeckySpec;

fn service(keys: &str) -> HttpService {
    let spec = DeckySpec::parse(&format!(
        "name = \"t\"\nhostname = \"web-01\"\nbind = [\"127.0.0.1\"]\n[services.http]\n{keys}"
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let mut cfg = spec.services["http"].clone();
    let mut svc = HttpService::from_config(&mut cfg, &ctx, false).unwrap();
    cfg.table.finish().unwrap();
    Arc::get_mut(&mut svc.shared).unwrap().clock = || 1_700_000_000;
    svc
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "192.0.2.7:40000".parse().unwrap(),
        local: "198.51.100.1:80".parse().unwrap(),
        session_id: "s".into(),
    }
}

fn run(svc: &HttpService, input: &[u8]) -> (String, Vec<Draft>, bool) {
    let mut s = svc.open(&conn());
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut closed = false;
    for a in s.feed(input) {
        match a {
            Action::Send(b) => out.extend(b),
            Action::Emit(d) => events.push(d),
            Action::Close => closed = true,
            Action::Pause(_) => {}
        }
    }
    for d in &events {
        for (k, _) in &d.fields {
            assert!(
                !decnet_event::RESERVED_FIELDS.contains(k),
                "reserved field {k}"
            );
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), events, closed)
}

#[test]
fn nginx_default_page_headers_in_order() {
    let svc = service("server_header = \"nginx/1.22.1\"");
    let (out, ev, closed) = run(
        &svc,
        b"GET / HTTP/1.1\r\nHost: web-01\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    );
    let mtime = svc.shared().app.mtime;
    let expected_head = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nContent-Type: text/html\r\nContent-Length: 615\r\nLast-Modified: {}\r\nConnection: keep-alive\r\nETag: \"{mtime:x}-267\"\r\nAccept-Ranges: bytes\r\n\r\n",
        product::http_date(mtime)
    );
    assert!(out.starts_with(&expected_head), "{out}");
    assert!(out.ends_with("</html>\n"));
    assert_eq!(pages::NGINX_DEFAULT.len(), 615);
    assert!(!closed);
    assert_eq!(ev.len(), 1);
    let r = &ev[0];
    assert_eq!(r.event_type, REQUEST);
    assert_eq!(r.get("method"), Some("GET"));
    assert_eq!(r.get("path"), Some("/"));
    assert_eq!(r.get("user_agent"), Some("curl/7.88.1"));
    assert_eq!(
        r.get("headers"),
        Some("Host: web-01\nUser-Agent: curl/7.88.1\nAccept: */*")
    );
    assert_eq!(r.get("status"), Some("200"));
    assert_eq!(r.get("body_len"), Some("0"));
    assert_eq!(r.get("body_sha256"), None);
}

#[test]
fn pipelined_requests_and_errors_per_product() {
    let svc = service("server_header = \"Apache/2.4.62 (Debian)\"");
    let (out, ev, closed) = run(
        &svc,
        b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\nDELETE / HTTP/1.1\r\nHost: a\r\n\r\nFOO / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<_> = ev
        .iter()
        .map(|d| d.get("status").unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["404", "405", "501"]);
    assert!(out.contains("Keep-Alive: timeout=5, max=99\r\n"));
    assert!(out.contains("Keep-Alive: timeout=5, max=98\r\n"));
    assert!(out.contains("<address>Apache/2.4.62 (Debian) Server at a Port 80</address>"));
    assert!(out.contains("<p>The requested method DELETE is not allowed for this URL.</p>"));
    assert!(out.contains("<p>FOO not supported for current URL.<br />\n</p>"));
    assert!(closed);
    let nginx = service("server_header = \"nginx/1.22.1\"");
    let (out, ev, _) = run(
        &nginx,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert!(out.starts_with("HTTP/1.1 405 Not Allowed\r\n"), "{out}");
    assert_eq!(
        ev[0].get("body_sha256"),
        Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(ev[0].get("body"), Some("abc"));
}

#[test]
fn malformed_requests_get_the_product_400_and_close() {
    let svc = service("server_header = \"nginx/1.22.1\"");
    let (out, ev, closed) = run(&svc, b"OPTIONS / RTSP/1.0\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n"),
        "{out}"
    );
    assert!(out.contains("Connection: close\r\n"));
    assert!(closed);
    assert_eq!(ev[0].event_type, PROTOCOL_ERROR);
    let (out, _, _) = run(&svc, b"GET / HTTP/1.1\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "no Host: {out}"
    );
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
    let (out, _, closed) = run(&svc, long.as_bytes());
    assert!(
        out.starts_with("HTTP/1.1 414 Request-URI Too Large\r\n"),
        "{out}"
    );
    assert!(closed);
    let (out, _, _) = run(
        &svc,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 413 Request Entity Too Large\r\n"),
        "{out}"
    );
}

#[test]
fn slow_requests_count_as_pending() {
    let svc = service("");
    let mut s = svc.open(&conn());
    assert_eq!(s.pending_bytes(), 0);
    assert!(s.feed(b"GET / HT").is_empty());
    assert_eq!(s.pending_bytes(), 8);
    let a = s.feed(b"TP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
    assert!(a.is_empty());
    assert!(s.pending_bytes() > 0);
    let a = s.feed(b"cde");
    assert!(a.iter().any(|a| matches!(a, Action::Send(_))));
    assert_eq!(s.pending_bytes(), 0);
}

#[test]
fn wordpress_login_is_captured_and_refused_like_wordpress() {
    let svc = service("server_header = \"nginx/1.22.1\"\nfake_app = \"wordpress\"");
    let body = b"log=admin&pwd=hunter2&wp-submit=Log+In&redirect_to=%2Fwp-admin%2F&testcookie=1";
    let req = format!(
        "POST /wp-login.php HTTP/1.1\r\nHost: blog.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut raw = req.into_bytes();
    raw.extend_from_slice(body);
    let (out, ev, _) = run(&svc, &raw);
    assert!(out.contains("Transfer-Encoding: chunked\r\n"));
    assert!(
        out.contains("Set-Cookie: wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly\r\n")
    );
    assert!(out.contains("<strong>Error:</strong> The password you entered for the username <strong>admin</strong> is incorrect."));
    let types: Vec<_> = ev.iter().map(|d| d.event_type).collect();
    assert_eq!(types, [REQUEST, "auth"]);
    let a = &ev[1];
    assert_eq!(a.get("principal"), Some("admin"));
    assert_eq!(a.get("secret_printable"), Some("hunter2"));
    assert_eq!(a.get("secret_kind"), Some("plaintext"));
    assert_eq!(a.get("outcome"), Some("failure"));
    assert_eq!(a.get("auth_scheme"), Some("form"));
    assert_eq!(a.get("app"), Some("wordpress"));
}

#[test]
fn basic_auth_is_captured_anywhere() {
    let svc = service("response_code = 401");
    let (out, ev, _) = run(
        &svc,
        b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic cm9vdDp0b29y\r\n\r\n",
    );
    assert!(out.contains(" 401 "), "{out}");
    assert!(out.contains("WWW-Authenticate: Basic realm=\"Restricted\"\r\n"));
    assert_eq!(ev[1].get("principal"), Some("root"));
    assert_eq!(ev[1].get("secret_printable"), Some("toor"));
    assert_eq!(ev[1].get("auth_scheme"), Some("basic"));
}

#[test]
fn extra_headers_and_custom_body() {
    let svc = service(
        "server_header = \"nginx/1.22.1\"\nextra_headers = '{\"X-Powered-By\": \"PHP/8.2.7\"}'\ncustom_body = \"<h1>hi</h1>\"",
    );
    let (out, _, _) = run(&svc, b"GET / HTTP/1.0\r\n\r\n");
    assert!(out.contains("ETag: \""), "{out}");
    assert!(
        out.contains("X-Powered-By: PHP/8.2.7\r\nAccept-Ranges: bytes\r\n\r\n<h1>hi</h1>"),
        "{out}"
    );
    assert!(out.contains("Connection: close\r\n"));
}

#[test]
fn bad_configs_name_the_key() {
    let spec = DeckySpec::parse("name = \"t\"\nhostname = \"h\"\nbind = [\"127.0.0.1\"]\n[services.http]\nserver_header = \"Microsoft-IIS/10.0\"").unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let err =
        HttpService::from_config(&mut spec.services["http"].clone(), &ctx, false).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "services.http.server_header: \"Microsoft-IIS/10.0\" names neither nginx nor Apache"
        ),
        "{err}"
    );
    assert!(parse_extra_headers("X-A: 1\nBad Line").is_err());
    assert!(parse_extra_headers("Server: x").is_err());
    assert_eq!(parse_extra_headers("X-A: 1\r\nX-B: 2").unwrap().len(), 2);
}
