//! Unit tests of the Redis state machine, byte slices in, actions out.

use std::sync::Arc;

use super::*;
use crate::persona::Persona;
use crate::spec::DeckySpec;

fn service(extra: &str) -> RedisService {
    service_named("decky-01", extra)
}

fn service_named(name: &str, extra: &str) -> RedisService {
    let spec = DeckySpec::parse(&format!(
        "name = \"{name}\"\nhostname = \"cache-01\"\nbind = [\"127.0.0.1\"]\n[services.redis]\n{extra}"
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let mut cfg = spec.services["redis"].clone();
    let svc = RedisService::from_config(&mut cfg, &ctx).unwrap();
    cfg.table.finish().unwrap();
    svc
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "198.51.100.7:40000".parse().unwrap(),
        local: "127.77.0.1:6379".parse().unwrap(),
        session_id: "s".into(),
    }
}

/// What a batch of actions amounts to.
#[derive(Debug, Default)]
struct Out {
    bytes: Vec<u8>,
    events: Vec<Draft>,
    closed: bool,
}

fn run(session: &mut dyn Session, input: &[u8]) -> Out {
    let mut out = Out::default();
    for a in session.feed(input) {
        match a {
            Action::Send(b) => out.bytes.extend(b),
            Action::Emit(d) => out.events.push(d),
            Action::Close => out.closed = true,
            Action::Pause(_) => {}
        }
    }
    out
}

fn text(out: &Out) -> String {
    String::from_utf8_lossy(&out.bytes).into_owned()
}

#[test]
fn ping_echo_quit_like_redis() {
    let svc = service("version = \"7.0.15\"");
    let mut s = svc.open(&conn());
    let o = run(s.as_mut(), b"PING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n");
    assert_eq!(text(&o), "+PONG\r\n$5\r\nhello\r\n");
    assert_eq!(o.events.len(), 2);
    assert_eq!(o.events[0].get("cmd"), Some("PING"));
    assert_eq!(o.events[0].get("args"), Some("[]"));
    assert_eq!(o.events[1].get("args"), Some("[\"hello\"]"));
    assert_eq!(o.events[1].get("argc"), Some("1"));
    let q = run(s.as_mut(), b"QUIT\r\nPING\r\n");
    assert_eq!(text(&q), "+OK\r\n");
    assert!(q.closed);
    assert_eq!(q.events.len(), 1);
    assert!(run(s.as_mut(), b"PING\r\n").bytes.is_empty());
}

#[test]
fn byte_by_byte_equals_whole() {
    let svc = service("version = \"7.0.15\"");
    let input: &[u8] =
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nGET k\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    let mut whole = svc.open(&conn());
    let a = run(whole.as_mut(), input);
    let mut split = svc.open(&conn());
    let mut b = Out::default();
    for byte in input {
        let o = run(split.as_mut(), std::slice::from_ref(byte));
        b.bytes.extend(o.bytes);
        b.events.extend(o.events);
    }
    assert_eq!(text(&a), "+OK\r\n$2\r\nv1\r\n$2\r\nv1\r\n");
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.events, b.events);
    assert_eq!(split.pending_bytes(), 0);
}

#[test]
fn requirepass_auth_flow_and_credential_events() {
    let svc = service("version = \"7.0.15\"\nrequirepass = \"hunter2,s3cret\"");
    let mut s = svc.open(&conn());
    let o = run(s.as_mut(), b"GET k\r\nAUTH wrong\r\n");
    assert_eq!(
        text(&o),
        "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    let auth = &o.events[1];
    assert_eq!(auth.event_type, "auth");
    assert_eq!(auth.get("principal"), Some("default"));
    assert_eq!(auth.get("secret_kind"), Some("plaintext"));
    assert_eq!(auth.get("secret_printable"), Some("wrong"));
    assert_eq!(auth.get("secret_b64"), Some("d3Jvbmc="));
    assert_eq!(auth.get("outcome"), Some("failure"));
    // The password never shows up as a command.
    assert!(o.events.iter().all(|e| e.get("cmd") != Some("AUTH")));
    let ok = run(s.as_mut(), b"AUTH s3cret\r\nDBSIZE\r\n");
    assert!(text(&ok).starts_with("+OK\r\n:"), "{}", text(&ok));
    assert_eq!(ok.events[0].get("outcome"), Some("success"));
    // Unknown commands are checked before authentication, as in Redis.
    let mut fresh = svc.open(&conn());
    assert_eq!(
        text(&run(fresh.as_mut(), b"FOO bar\r\n")),
        "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"
    );
}

#[test]
fn auth_wording_follows_the_version() {
    for (v, expected) in [
        (
            "7.0.15",
            "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
        ),
        ("5.0.7", "-ERR Client sent AUTH, but no password is set\r\n"),
    ] {
        let svc = service(&format!("version = \"{v}\""));
        let mut s = svc.open(&conn());
        assert_eq!(text(&run(s.as_mut(), b"AUTH x\r\n")), expected, "{v}");
    }
    let svc = service("version = \"5.0.7\"\nrequirepass = \"p\"");
    let mut s = svc.open(&conn());
    assert_eq!(
        text(&run(s.as_mut(), b"AUTH x\r\nAUTH a b\r\nHELLO 3\r\n")),
        "-ERR invalid password\r\n-ERR wrong number of arguments for 'auth' command\r\n-ERR unknown command `HELLO`, with args beginning with: `3`, \r\n"
    );
}

#[test]
fn info_uses_spec_version_os_and_seed() {
    let svc = service("version = \"6.2.14\"\nos_string = \"Linux 5.15.0-91-generic x86_64\"");
    let mut s = svc.open(&conn());
    let info = text(&run(s.as_mut(), b"INFO server\r\n"));
    assert!(info.starts_with("$"));
    assert!(
        info.contains("\r\n# Server\r\nredis_version:6.2.14\r\n"),
        "{info}"
    );
    assert!(info.contains("os:Linux 5.15.0-91-generic x86_64\r\n"));
    assert!(!info.contains("# Clients"));
    let run_id = |svc: &RedisService| svc.shared().ids.run_id.clone();
    assert_eq!(run_id(&svc), run_id(&service("")));
    assert_ne!(run_id(&svc), run_id(&service_named("decky-02", "")));
    assert!(info.contains(&format!("run_id:{}\r\n", run_id(&svc))));
    let all = text(&run(s.as_mut(), b"INFO\r\n"));
    for section in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Keyspace",
    ] {
        assert!(all.contains(&format!("# {section}\r\n")), "{section}");
    }
    assert!(all.contains("connected_clients:1\r\n"));
    assert!(all.contains("db0:keys="));
}

#[test]
fn hello_3_switches_to_resp3() {
    let svc = service("version = \"7.0.15\"");
    let mut s = svc.open(&conn());
    let o = text(&run(
        s.as_mut(),
        b"HELLO 3\r\nGET nosuch\r\nINFO cluster\r\n",
    ));
    assert!(o.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"), "{o}");
    assert!(
        o.ends_with("_\r\n=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"),
        "{o}"
    );
    assert_eq!(
        text(&run(s.as_mut(), b"HELLO 4\r\n")),
        "-NOPROTO unsupported protocol version\r\n"
    );
}

#[test]
fn keyspace_commands() {
    let svc = service("version = \"7.0.15\"");
    let mut s = svc.open(&conn());
    let o = text(&run(
        s.as_mut(),
        b"SET a 1\r\nSET a 2 NX\r\nGET a\r\nINCR a\r\nTYPE a\r\nTTL a\r\nSET t v EX 100\r\nTTL t\r\nEXISTS a t nosuch\r\nDEL a t\r\nGET a\r\nTYPE config:app\r\nGET config:app\r\nSELECT 3\r\nDBSIZE\r\nSELECT 16\r\nKEYS *\r\nSET\r\n",
    ));
    assert_eq!(
        o,
        "+OK\r\n$-1\r\n$1\r\n1\r\n:2\r\n+string\r\n:-1\r\n+OK\r\n:100\r\n:2\r\n:2\r\n$-1\r\n+hash\r\n\
         -WRONGTYPE Operation against a key holding the wrong kind of value\r\n+OK\r\n:0\r\n\
         -ERR DB index is out of range\r\n*0\r\n-ERR wrong number of arguments for 'set' command\r\n"
    );
    let mut s0 = svc.open(&conn());
    let keys = text(&run(
        s0.as_mut(),
        b"KEYS user:*\r\nSCAN 0 MATCH session:* COUNT 1000\r\n",
    ));
    assert!(
        keys.starts_with('*') && keys.contains("\r\nuser:"),
        "{keys}"
    );
    assert!(keys.contains("*2\r\n$1\r\n0\r\n*"), "{keys}");
    assert_eq!(
        text(&run(s0.as_mut(), b"SCAN x\r\n")),
        "-ERR invalid cursor\r\n"
    );
}

#[test]
fn protocol_errors_reply_then_close() {
    let svc = service("version = \"7.0.15\"");
    for (input, reply) in [
        (
            &b"*1\r\n:4\r\n"[..],
            "-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"SET \"a\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*x\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
    ] {
        let mut s = svc.open(&conn());
        let o = run(s.as_mut(), input);
        assert_eq!(text(&o), reply);
        assert!(o.closed);
        assert_eq!(
            o.events.last().map(|e| e.event_type),
            Some("protocol_error")
        );
    }
    let locked = service("version = \"7.0.15\"\nrequirepass = \"p\"");
    let mut s = locked.open(&conn());
    assert_eq!(
        text(&run(s.as_mut(), b"*11\r\n")),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
}

#[test]
fn http_probes_are_answered_like_redis() {
    let svc = service("version = \"7.0.15\"");
    let mut s = svc.open(&conn());
    let o = run(s.as_mut(), b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        text(&o),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert!(!o.closed);
    let mut p = svc.open(&conn());
    let o = run(p.as_mut(), b"POST / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(o.bytes.is_empty() && o.closed);
}

#[test]
fn config_and_module_differ_by_version() {
    let v7 = service("version = \"7.0.15\"");
    let mut s = v7.open(&conn());
    assert_eq!(
        text(&run(s.as_mut(), b"CONFIG GET dir\r\nCONFIG SET dir /tmp\r\nCONFIG FOO\r\nCONFIG GET\r\nMODULE LOAD /tmp/x.so\r\n")),
        "*2\r\n$3\r\ndir\r\n$14\r\n/var/lib/redis\r\n\
         -ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n\
         -ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n\
         -ERR wrong number of arguments for 'config|get' command\r\n\
         -ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
    );
    let v6 = service("version = \"6.0.16\"");
    let mut s = v6.open(&conn());
    assert_eq!(
        text(&run(
            s.as_mut(),
            b"CONFIG SET dir /tmp\r\nCONFIG GET dir\r\nCONFIG FOO\r\nMODULE LOAD /tmp/x.so\r\n"
        )),
        "+OK\r\n*2\r\n$3\r\ndir\r\n$4\r\n/tmp\r\n\
         -ERR Unknown subcommand or wrong number of arguments for 'FOO'. Try CONFIG HELP.\r\n\
         -ERR Error loading the extension. Please check the server logs.\r\n"
    );
}

#[test]
fn oversized_requests_close_without_reply() {
    let svc = service("version = \"7.0.15\"");
    let mut s = svc.open(&conn());
    let header = format!("*2\r\n$3\r\nSET\r\n${}\r\n", 200 * 1024);
    assert!(run(s.as_mut(), header.as_bytes()).bytes.is_empty());
    let chunk = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..8 {
        let o = run(s.as_mut(), &chunk);
        closed |= o.closed;
    }
    // 256 KiB + 64 KiB of unfinished request is the default limit.
    assert!(closed);
    assert_eq!(s.pending_bytes(), 0);
}

#[test]
fn bad_spec_values_are_named() {
    let spec = DeckySpec::parse("name = \"d\"\nhostname = \"h\"\nbind = [\"127.0.0.1\"]\n[services.redis]\nversion = \"seven\"").unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let mut cfg = spec.services["redis"].clone();
    assert_eq!(
        RedisService::from_config(&mut cfg, &ctx)
            .unwrap_err()
            .to_string(),
        "services.redis.version: \"seven\" is not a Redis version like 7.0.15 (3.x to 8.x)"
    );
}

#[test]
fn hello_auth_is_a_credential_not_a_command_argument() {
    let svc = service("version = \"7.0.15\"\nrequirepass = \"p4ss\"");
    let mut s = svc.open(&conn());
    let o = run(
        s.as_mut(),
        b"HELLO 3\r\nHELLO 3 AUTH default p4ss SETNAME x\r\nCLIENT GETNAME\r\n",
    );
    let t = text(&o);
    assert!(t.starts_with("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used"), "{t}");
    assert!(t.contains("%7\r\n"), "{t}");
    assert!(t.ends_with("$1\r\nx\r\n"), "{t}");
    let shapes: Vec<(&str, Option<&str>)> = o
        .events
        .iter()
        .map(|e| (e.event_type, e.get("args")))
        .collect();
    assert_eq!(
        shapes,
        [
            ("command", Some("[\"3\"]")),
            ("command", Some("[\"3\"]")),
            ("auth", None),
            ("command", Some("[\"GETNAME\"]")),
        ]
    );
    assert_eq!(o.events[2].get("principal"), Some("default"));
    assert_eq!(o.events[2].get("outcome"), Some("success"));
}
