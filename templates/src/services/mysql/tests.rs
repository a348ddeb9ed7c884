//! Unit tests of the MySQL state machine, byte slices in, actions out.

use std::sync::Arc;

use super::packet::*;
use super::*;
use crate::persona::Persona;
use crate::spec::DeckySpec;

fn service(version: &str) -> MysqlService {
    configured(&format!("version = \"{version}\"")).unwrap()
}

fn configured(keys: &str) -> Result<MysqlService, SpecError> {
    let spec = DeckySpec::parse(&format!(
        "name = \"db-01\"\nhostname = \"db-01\"\nbind = [\"127.0.0.1\"]\n[services.mysql]\n{keys}"
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    MysqlService::from_config(&mut spec.services["mysql"].clone(), &ctx)
}

#[test]
fn mysql_version_is_an_alias_of_version() {
    let svc = configured("mysql_version = \"5.7.44\"").unwrap();
    assert_eq!(svc.flavor.version, "5.7.44");
    let both = configured("version = \"5.7.44\"\nmysql_version = \"8.0.36\"").unwrap_err();
    assert!(
        both.to_string().contains("services.mysql.mysql_version"),
        "{both}"
    );
    assert!(configured("mysql_version = \"eight\"").is_err());
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "198.51.100.7:40000".parse().unwrap(),
        local: "127.77.0.1:3306".parse().unwrap(),
        session_id: "s".into(),
    }
}

const SALT: [u8; 20] = *b"0123456789abcdefghij";

fn session(version: &str) -> MysqlSession {
    MysqlSession::new(Arc::new(Flavor::of(version).unwrap()), &conn(), 77, SALT)
}

fn login(user: &str, auth: &[u8], plugin: &str) -> Vec<u8> {
    let caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
    let mut p = caps.to_le_bytes().to_vec();
    p.extend_from_slice(&(1u32 << 24).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(auth.len() as u8);
    p.extend_from_slice(auth);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    frame(1, &p)
}

fn split(actions: Vec<Action>) -> (Vec<u8>, Vec<Draft>, bool) {
    let (mut bytes, mut events, mut closed) = (Vec::new(), Vec::new(), false);
    for a in actions {
        match a {
            Action::Send(b) => bytes.extend(b),
            Action::Emit(d) => events.push(d),
            Action::Close => closed = true,
            Action::Pause(_) => {}
        }
    }
    (bytes, events, closed)
}

#[test]
fn greeting_carries_version_id_salt_and_plugin() {
    let mut s = session("8.0.36");
    assert_eq!(s.connect_fields(), vec![("connection_id", "77".to_owned())]);
    let (g, _, _) = split(s.start());
    let p = &g[4..];
    assert!(p.starts_with(b"\x0a8.0.36\0\x4d\0\0\0"));
    assert!(p.ends_with(b"caching_sha2_password\0"));
    let caps = u32::from(u16::from_le_bytes([p[21], p[22]]))
        | u32::from(u16::from_le_bytes([p[26], p[27]])) << 16;
    assert_eq!(caps & CLIENT_SSL, 0, "no TLS is advertised");
    assert_eq!(caps >> 16, 0xdfff);
    let (g57, _, _) = split(session("5.7.44-log").start());
    assert!(g57.ends_with(b"mysql_native_password\0"));
}

#[test]
fn native_login_is_denied_with_1045_and_captured() {
    let mut s = session("5.7.44");
    let scramble = [0xaa; 20];
    let (bytes, events, closed) = split(s.feed(&login("root", &scramble, "mysql_native_password")));
    assert!(closed);
    let msg =
        b"\xff\x15\x04#28000Access denied for user 'root'@'198.51.100.7' (using password: YES)";
    assert_eq!(&bytes[4..], msg);
    assert_eq!(bytes[3], 2, "sequence id");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.event_type, "auth");
    assert_eq!(e.get("principal"), Some("root"));
    assert_eq!(e.get("secret_kind"), Some("mysql_native_password"));
    assert_eq!(e.get("secret_b64"), Some("qqqqqqqqqqqqqqqqqqqqqqqqqqo="));
    assert_eq!(e.get("outcome"), Some("failure"));
    assert_eq!(e.get("salt_hex"), Some(hex::encode(SALT).as_str()));
    assert!(s.feed(b"more").is_empty());
}

#[test]
fn empty_password_says_no() {
    let mut s = session("5.7.44");
    let (bytes, events, _) = split(s.feed(&login("admin", b"", "mysql_native_password")));
    assert!(
        String::from_utf8_lossy(&bytes).ends_with("'admin'@'198.51.100.7' (using password: NO)")
    );
    assert_eq!(events[0].get("secret_b64"), Some(""));
}

#[test]
fn other_plugin_gets_an_auth_switch_with_the_same_salt() {
    let mut s = session("8.0.36");
    let (bytes, events, closed) = split(s.feed(&login("root", &[1; 20], "mysql_native_password")));
    assert!(!closed && events.is_empty());
    assert_eq!(bytes, auth_switch(2, "caching_sha2_password", &SALT));
    let (bytes, events, closed) = split(s.feed(&frame(3, &[9; 32])));
    assert!(closed);
    assert_eq!(bytes[3], 4);
    assert_eq!(events[0].get("secret_kind"), Some("caching_sha2_password"));
    assert_eq!(events[0].get("auth_plugin"), Some("caching_sha2_password"));
}

#[test]
fn ssl_garbage_and_order_errors() {
    let mut ssl = (CLIENT_PROTOCOL_41 | CLIENT_SSL).to_le_bytes().to_vec();
    ssl.extend_from_slice(&[0; 28]);
    let mut s = session("8.0.36");
    let (bytes, events, closed) = split(s.feed(&frame(1, &ssl)));
    assert_eq!(bytes, err_packet(2, 1043, "08S01", "Bad handshake"));
    assert!(closed);
    assert_eq!(events[0].event_type, "protocol_error");

    let mut g = session("8.0.36");
    let (bytes, _, closed) = split(g.feed(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(closed);
    assert_eq!(&bytes[4..7], b"\xff\x81\x04");

    let mut o = session("8.0.36");
    let (bytes, _, _) = split(o.feed(&frame(5, b"x")));
    assert_eq!(bytes, err_packet(6, 1043, "08S01", "Bad handshake"));

    let mut partial = session("8.0.36");
    assert!(partial.feed(&[40, 0, 0, 1, 1, 2]).is_empty());
    assert_eq!(partial.pending_bytes(), 6);
    assert_eq!(partial.idle_timeout(), Some(CONNECT_TIMEOUT));
}

#[test]
fn salts_are_fresh_and_shaped_like_mysql() {
    let a = fresh_salt();
    let b = fresh_salt();
    assert_ne!(a, b);
    for s in [a, b] {
        assert!(s.iter().all(|&c| (1..=0x7f).contains(&c) && c != b'$'));
    }
    let svc = service("8.0.36");
    let (g1, _, _) = split(svc.open(&conn()).start());
    let (g2, _, _) = split(svc.open(&conn()).start());
    assert_ne!(g1[16..24], g2[16..24], "scramble differs per connection");
    let id = |g: &[u8]| u32::from_le_bytes([g[11], g[12], g[13], g[14]]);
    assert!(id(&g2) > id(&g1));
    assert!(id(&g2) < 1 << 24);
}

#[test]
fn flavors() {
    assert_eq!(
        Flavor::of("8.0.36").unwrap().auth_plugin,
        "caching_sha2_password"
    );
    assert_eq!(Flavor::of("8.0.22").unwrap().capabilities >> 16, 0xc7ff);
    let maria = Flavor::of("5.5.5-10.11.6-MariaDB-0+deb12u1").unwrap();
    assert_eq!(maria.capabilities & CLIENT_LONG_PASSWORD, 0);
    assert_eq!(maria.auth_plugin, "mysql_native_password");
    for bad in ["", "eight", "8.0", "4.1.22", "8.0.36 (evil)", "8.0.36\n"] {
        assert!(Flavor::of(bad).is_none(), "{bad:?}");
    }
}
