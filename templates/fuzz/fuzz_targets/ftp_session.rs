//! The FTP command parser and control state machine, with a data plane that
//! answers at once, fed arbitrary bytes in arbitrary chunks: never panics,
//! never speaks after closing.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use decnet_templates::persona::Seed;
use decnet_templates::services::ftp::data::InstantPlane;
use decnet_templates::services::ftp::flavor::Flavor;
use decnet_templates::services::ftp::fs::FakeFs;
use decnet_templates::services::ftp::{FtpService, FtpShared};
use decnet_templates::session::{Action, ConnInfo, Service as _};
use libfuzzer_sys::fuzz_target;

fn service(product: &str, refuse: bool) -> FtpService {
    FtpService::with_shared(
        21,
        Arc::new(FtpShared {
            flavor: Flavor::new(product, None).expect("flavor"),
            fs: FakeFs::generate(&Seed::from_spec(Some("f"), "f"), "files", 1_790_000_000),
            anonymous: true,
            users: vec![("bob".into(), "pw".into())],
            plane: Arc::new(InstantPlane {
                upload: b"x".to_vec(),
                refuse,
            }),
            clock: || 1_790_000_000,
        }),
    )
}

static SERVICES: OnceLock<Vec<FtpService>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let services = SERVICES.get_or_init(|| {
        vec![
            service("vsftpd", false),
            service("proftpd", false),
            service("vsftpd", true),
        ]
    });
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let svc = &services[usize::from(selector) % services.len()];
    let conn = ConnInfo {
        peer: "127.0.0.1:40000".parse().expect("addr"),
        local: "127.0.0.1:21".parse().expect("addr"),
        session_id: "f".into(),
    };
    let mut session = svc.open(&conn);
    let _ = session.start();
    let mut closed = false;
    for piece in data.chunks(usize::from(selector >> 2).max(1)) {
        let mut actions = session.feed(piece);
        loop {
            if closed {
                assert!(
                    actions.iter().all(|a| !matches!(a, Action::Send(_))),
                    "spoke after closing"
                );
            }
            closed |= actions.iter().any(|a| matches!(a, Action::Close));
            let Some(mut task) = session.take_side_task() else {
                break;
            };
            let Poll::Ready(out) = task.as_mut().poll(&mut Context::from_waker(Waker::noop()))
            else {
                break;
            };
            actions = session.side_done(out);
        }
    }
});
