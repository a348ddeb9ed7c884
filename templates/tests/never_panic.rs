//! Property tests: every protocol parser and every service session, fed
//! arbitrary bytes in arbitrary chunks, never panics, never buffers without
//! bound and never speaks after it closed. They mirror the cargo-fuzz
//! targets in `templates/fuzz` (which explore far more inputs) so that a
//! plain `cargo test` exercises each parser too.
//!
//! Inputs are sequences of pieces, each either raw bytes or a token of the
//! protocol under test, so the generated sessions reach states beyond the
//! first line (a login, a DATA body, a RESP bulk string, an IAC SB ...).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use decnet_templates::artifacts::Stored;
use decnet_templates::persona::{Persona, Seed};
use decnet_templates::services::ftp::data::InstantPlane;
use decnet_templates::services::ftp::flavor::Flavor as FtpFlavor;
use decnet_templates::services::ftp::fs::FakeFs;
use decnet_templates::services::ftp::{FtpService, FtpShared};
use decnet_templates::services::http::request::{
    Body, BodyStep, Framing, HeadLimits, HeadParse, framing, parse_head,
};
use decnet_templates::services::mysql::packet::{Frame, next_packet, parse_client_hello};
use decnet_templates::services::mysql::{Flavor as MysqlFlavor, MysqlSession};
use decnet_templates::services::redis::resp::{ParseLimits, Parsed, parse_request, split_args};
use decnet_templates::services::smtp::flavor::Mta;
use decnet_templates::services::smtp::{SmtpService, SmtpShared, StoreResult};
use decnet_templates::services::ssh::ident::parse_ident;
use decnet_templates::services::ssh::scp::{Scp, ScpMode};
use decnet_templates::services::ssh::sftp::{MAX_PACKET, Sftp};
use decnet_templates::services::telnet::iac::{Item, MAX_SB, Parser};
use decnet_templates::services::telnet::negotiate::Negotiation;
use decnet_templates::services::{ServiceContext, build};
use decnet_templates::session::{Action, ConnInfo, Service, Session, SideOutput};
use decnet_templates::shell::host::{Host, HostConfig};
use decnet_templates::shell::vfs::{Cred, Vfs};
use decnet_templates::shell::{Entry, Pty, Shell, ShellOptions, parse};
use decnet_templates::spec::DeckySpec;
use proptest::prelude::*;
use tokens::*;

mod tokens;

const FRAME: usize = 4096;

/// A decky spec with one service table, and its context.
fn context(service: &str, keys: &str) -> (DeckySpec, ServiceContext) {
    let spec = DeckySpec::parse(&format!(
        "name = \"p\"\nhostname = \"web.example.org\"\nbind = [\"127.0.0.1\"]\n\
         data_dir = \"/nonexistent/decnet-proptest\"\n[limits]\nmax_frame_bytes = {FRAME}\n\
         [services.{service}]\n{keys}"
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    (spec, ctx)
}

/// A service built from its configuration the way `decnet-decky` builds it.
fn configured(service: &str, keys: &str) -> Arc<dyn Service> {
    let (spec, ctx) = context(service, keys);
    build(spec.services[service].clone(), &ctx).unwrap()
}

fn conn(port: u16) -> ConnInfo {
    ConnInfo {
        peer: "192.0.2.1:40000".parse().unwrap(),
        local: format!("127.0.0.1:{port}").parse().unwrap(),
        session_id: "p".into(),
    }
}

/// Feeds `pieces` to a fresh session of `svc`, completing side tasks that are
/// ready at once. Checks that nothing is sent after `Close` and that the
/// buffered bytes stay under the frame limit (plus one read's worth).
fn drive(svc: &dyn Service, port: u16, pieces: &[Vec<u8>]) -> Vec<&'static str> {
    // Timers in side tasks need a runtime; they stay pending and are dropped.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _rt = rt.enter();
    let mut emitted = Vec::new();
    let mut session = svc.open(&conn(port));
    let mut closed = false;
    let check = |actions: &[Action], session: &dyn Session, closed: &mut bool| {
        if *closed {
            assert!(
                !actions.iter().any(|a| matches!(a, Action::Send(_))),
                "{} spoke after closing: {actions:?}",
                svc.name()
            );
        }
        *closed |= actions.iter().any(|a| matches!(a, Action::Close));
        assert!(
            session.pending_bytes() <= 2 * FRAME + 64 * 1024,
            "{} buffers {} bytes",
            svc.name(),
            session.pending_bytes()
        );
    };
    let start = session.start();
    check(&start, &*session, &mut closed);
    for piece in pieces {
        let mut actions = session.feed(piece);
        loop {
            check(&actions, &*session, &mut closed);
            emitted.extend(actions.iter().filter_map(|a| match a {
                Action::Emit(d) => Some(d.event_type),
                _ => None,
            }));
            let Some(mut task) = session.take_side_task() else {
                break;
            };
            let Poll::Ready(out) = task.as_mut().poll(&mut Context::from_waker(Waker::noop()))
            else {
                break;
            };
            actions = session.side_done(out);
        }
        if closed {
            break;
        }
    }
    let _ = session.peer_closed();
    let _ = session.closed("client_closed");
    emitted
}

/// Raw bytes or protocol tokens, re-chunked: one session's input.
fn input(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let piece = prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..64),
        3 => prop::sample::select(tokens).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(32u8..127, 0..300),
    ];
    (prop::collection::vec(piece, 0..40), 1usize..97).prop_map(|(pieces, chunk)| {
        let all: Vec<u8> = pieces.concat();
        all.chunks(chunk).map(<[u8]>::to_vec).collect()
    })
}

fn host() -> Arc<Host> {
    static HOST: OnceLock<Arc<Host>> = OnceLock::new();
    Arc::clone(HOST.get_or_init(|| {
        let (spec, _) = context("redis", "");
        Arc::new(Host::new(
            Arc::new(Persona::new(&spec)),
            &HostConfig {
                accounts: vec!["admin".into()],
                ..HostConfig::default()
            },
        ))
    }))
}

fn redis_services() -> &'static [Arc<dyn Service>] {
    static S: OnceLock<Vec<Arc<dyn Service>>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            configured("redis", "version = \"7.0.15\""),
            configured("redis", "version = \"6.0.16\"\nrequirepass = \"p\""),
            configured("redis", "version = \"5.0.7\""),
        ]
    })
}

fn http_services() -> &'static [Arc<dyn Service>] {
    static S: OnceLock<Vec<Arc<dyn Service>>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            configured(
                "http",
                "server_header = \"nginx/1.22.1\"\nfake_app = \"wordpress\"",
            ),
            configured(
                "http",
                "server_header = \"Apache/2.4.62 (Debian)\"\nfake_app = \"phpmyadmin\"",
            ),
            configured(
                "http",
                "server_header = \"nginx\"\nfake_app = \"router\"\nresponse_code = 401",
            ),
            configured("https", "server_header = \"nginx/1.22.1\""),
        ]
    })
}

fn ftp_services() -> &'static [FtpService] {
    static S: OnceLock<Vec<FtpService>> = OnceLock::new();
    S.get_or_init(|| {
        let make = |product: &str, refuse: bool| {
            FtpService::with_shared(
                21,
                Arc::new(FtpShared {
                    flavor: FtpFlavor::new(product, None).unwrap(),
                    fs: FakeFs::generate(&Seed::from_spec(Some("p"), "p"), "files", 1_790_000_000),
                    anonymous: true,
                    users: vec![("bob".into(), "pw".into())],
                    plane: Arc::new(InstantPlane {
                        upload: b"payload".to_vec(),
                        refuse,
                    }),
                    clock: || 1_790_000_000,
                }),
            )
        };
        vec![
            make("vsftpd", false),
            make("proftpd", false),
            make("vsftpd", true),
        ]
    })
}

fn smtp_shared() -> &'static [Arc<SmtpShared>] {
    static S: OnceLock<Vec<Arc<SmtpShared>>> = OnceLock::new();
    S.get_or_init(|| {
        let make = |mta: Mta, tls: bool| {
            let tls = tls.then(|| {
                let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
                let ck = decnet_templates::tls::cert::generate(
                    &Seed::from_spec(Some("p"), "p"),
                    "mail.example.org",
                    now,
                )
                .unwrap();
                decnet_templates::tls::cert::server_config(&ck, &[]).unwrap()
            });
            Arc::new(SmtpShared {
                size_limit: 4096,
                mta,
                host: "mail.example.org".into(),
                banner: None,
                store_cap: 1024,
                tls,
                store: Arc::new(|eml: Vec<u8>| {
                    let r: StoreResult = Ok(Stored {
                        sha256: String::new(),
                        size: eml.len() as u64,
                        received: eml.len() as u64,
                        truncated: false,
                        path: "/x.eml".into(),
                    });
                    Box::pin(std::future::ready(Box::new(r) as SideOutput))
                }),
                budget: decnet_templates::services::smtp::Budget::new(1 << 20),
                auth_delay: Duration::ZERO,
                clock: || 1_790_000_000,
            })
        };
        vec![
            make(Mta::Postfix, true),
            make(Mta::new("exim", None).unwrap(), false),
        ]
    })
}

fn telnet_service() -> &'static Arc<dyn Service> {
    static S: OnceLock<Arc<dyn Service>> = OnceLock::new();
    S.get_or_init(|| configured("telnet", "users = \"root:toor\"\nrecord = false"))
}

fn mysql_session(which: usize) -> MysqlSession {
    let version = ["8.0.36", "5.7.44", "5.5.5-10.11.6-MariaDB-0+deb12u1"][which % 3];
    let flavor = Arc::new(MysqlFlavor::of(version).unwrap());
    MysqlSession::new(flavor, &conn(3306), 7, *b"abcdefghijklmnopqrst")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn resp_parser_consumes_within_bounds(pieces in input(REDIS), unauth in any::<bool>()) {
        let data = pieces.concat();
        let mut rest = &data[..];
        loop {
            match parse_request(rest, ParseLimits { max_bulk: FRAME, unauthenticated: unauth }) {
                Parsed::Command(args, used) => {
                    prop_assert!(used > 0 && used <= rest.len() && !args.is_empty());
                    rest = &rest[used..];
                }
                Parsed::Empty(used) => {
                    prop_assert!(used > 0 && used <= rest.len());
                    rest = &rest[used..];
                }
                Parsed::Incomplete | Parsed::Error(_) => break,
            }
        }
        let _ = split_args(&data);
    }

    #[test]
    fn redis_sessions_never_panic(pieces in input(REDIS), which in 0usize..3) {
        let _ = drive(&*redis_services()[which], 6379, &pieces);
    }

    #[test]
    fn mysql_packets_parse_within_bounds(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_client_hello(&data);
        if let Frame::Packet { payload, used, .. } = next_packet(&data, 1 << 16) {
            prop_assert!(used <= data.len() && payload.len() + 4 == used);
            let _ = parse_client_hello(payload);
        }
    }

    #[test]
    fn mysql_sessions_never_panic(pieces in input(MYSQL), which in 0usize..3) {
        let mut session = mysql_session(which);
        let _ = session.start();
        let mut closed = false;
        for piece in &pieces {
            let actions = session.feed(piece);
            prop_assert!(!closed || actions.is_empty(), "spoke after closing");
            closed |= actions.iter().any(|a| matches!(a, Action::Close));
        }
    }

    #[test]
    fn http_head_and_body_parsers_stay_in_bounds(pieces in input(HTTP)) {
        let data = pieces.concat();
        let limits = HeadLimits { line: 8192, header_line: 8192, total: 16384 };
        if let HeadParse::Done(head, used) = parse_head(&data, limits) {
            prop_assert!(used <= data.len());
            if let Ok(f) = framing(&head) && f != Framing::None {
                let mut body = Body::new(f);
                let mut rest = &data[used..];
                while let BodyStep::More(n) = body.step(rest) {
                    prop_assert!(n <= rest.len());
                    if n == 0 {
                        break;
                    }
                    rest = &rest[n..];
                }
            }
        }
    }

    #[test]
    fn http_and_https_sessions_never_panic(pieces in input(HTTP), which in 0usize..4) {
        let _ = drive(&*http_services()[which], 80, &pieces);
    }

    #[test]
    fn ftp_sessions_never_panic(pieces in input(FTP), which in 0usize..3) {
        let _ = drive(&ftp_services()[which], 21, &pieces);
    }

    #[test]
    fn smtp_sessions_never_panic_nor_leak_budget(pieces in input(SMTP), which in 0usize..2) {
        let shared = &smtp_shared()[which];
        let _ = drive(&SmtpService::with_shared(25, Arc::clone(shared)), 25, &pieces);
        prop_assert_eq!(shared.budget.used(), 0, "memory budget leaked");
    }

    #[test]
    fn telnet_iac_parser_stays_bounded(pieces in input(TELNET)) {
        let mut parser = Parser::default();
        let mut neg = Negotiation::default();
        for piece in &pieces {
            for item in parser.feed(piece) {
                match item {
                    Item::Negotiate(v, o) => {
                        let _ = neg.negotiate(v, o);
                    }
                    Item::Sub(o, p) => {
                        prop_assert!(p.len() <= MAX_SB);
                        let _ = neg.subnegotiation(o, &p);
                    }
                    Item::Data(_) | Item::Command(_) => {}
                }
            }
            prop_assert!(parser.pending() <= MAX_SB + 1);
        }
    }

    #[test]
    fn telnet_sessions_never_panic(pieces in input(TELNET), negotiated in any::<bool>()) {
        // Half the sessions first answer the negotiation like Linux telnet,
        // so the login and the shell see the arbitrary bytes too.
        let mut all = Vec::new();
        if negotiated {
            all.extend(NEGOTIATION.iter().map(|b| b.to_vec()));
        }
        all.extend(pieces);
        let _ = drive(&**telnet_service(), 23, &all);
    }

    #[test]
    fn telnet_login_reaches_the_shell_through_noise(noise in input(SHELL)) {
        // Not only no panic: a session that logs in keeps working after noise.
        let mut all: Vec<Vec<u8>> = NEGOTIATION.iter().map(|b| b.to_vec()).collect();
        all.extend([b"root\r".to_vec(), b"toor\r".to_vec()]);
        all.extend(noise);
        let emitted = drive(&**telnet_service(), 23, &all);
        prop_assert!(emitted.contains(&"auth"), "{emitted:?}");
    }

    #[test]
    fn ssh_identification_parser_never_panics(pieces in input(SSH_IDENT)) {
        let data = pieces.concat();
        let _ = parse_ident(&data);
        for piece in &pieces {
            let _ = parse_ident(piece);
        }
    }

    #[test]
    fn sftp_server_never_panics_nor_overbuffers(pieces in input(SFTP)) {
        let root = Cred { uid: 0, gids: vec![0] };
        let mut vfs = Vfs::new(Arc::clone(&host().tree));
        let mut s = Sftp::new("/root", root, ("root".into(), "root".into()), 4096, 0);
        for piece in &pieces {
            let _ = s.feed(piece, &mut vfs);
            prop_assert!(s.pending() <= MAX_PACKET + 4);
        }
        let _ = s.abandoned();
    }

    #[test]
    fn scp_sink_and_source_never_panic(pieces in input(SCP), sink in any::<bool>()) {
        let root = Cred { uid: 0, gids: vec![0] };
        let mut vfs = Vfs::new(Arc::clone(&host().tree));
        let mode = if sink {
            ScpMode::Sink("/tmp".into())
        } else {
            ScpMode::Source(vec!["/etc/passwd".into(), "/nope".into(), "/etc".into()])
        };
        let mut s = Scp::new(mode, "/root", root, 4096, 0);
        let _ = s.start();
        for piece in &pieces {
            let _ = s.feed(piece, &mut vfs);
        }
    }

    #[test]
    fn shell_parser_never_panics(pieces in input(SHELL)) {
        let _ = parse::parse(&String::from_utf8_lossy(&pieces.concat()));
    }

    #[test]
    fn shell_sessions_never_panic(pieces in input(SHELL), interactive in any::<bool>(), root in any::<bool>()) {
        let mut sh = Shell::new(
            host(),
            ShellOptions {
                user: if root { "root".into() } else { "admin".into() },
                entry: if interactive { Entry::SshLogin } else { Entry::Exec },
                pty: interactive.then(|| Pty { term: "xterm".into(), cols: 80, rows: 24 }),
                peer: "192.0.2.1:1".parse().unwrap(),
                local: "127.0.0.1:22".parse().unwrap(),
                env: Vec::new(),
                tty: None,
            },
        );
        let _ = sh.start();
        for piece in &pieces {
            if interactive {
                let _ = sh.input(piece);
            } else {
                let _ = sh.run(&String::from_utf8_lossy(piece));
            }
            if sh.exited().is_some() {
                break;
            }
        }
    }
}
