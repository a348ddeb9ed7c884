//! The SMTP command parser, AUTH exchanges, DATA/BDAT bodies and STARTTLS
//! fed arbitrary bytes in arbitrary chunks: never panics, never speaks after
//! closing, and returns its whole memory budget.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use decnet_templates::artifacts::Stored;
use decnet_templates::persona::Seed;
use decnet_templates::services::smtp::flavor::Mta;
use decnet_templates::services::smtp::{Budget, SmtpService, SmtpShared, StoreResult};
use decnet_templates::session::{Action, ConnInfo, Service as _, SideOutput};
use libfuzzer_sys::fuzz_target;

fn shared(mta: Mta, tls: bool) -> Arc<SmtpShared> {
    let tls = tls.then(|| {
        let ck = decnet_templates::tls::cert::generate(
            &Seed::from_spec(Some("f"), "f"),
            "mail.example.org",
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
        )
        .expect("cert");
        decnet_templates::tls::cert::server_config(&ck, &[]).expect("config")
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
        budget: Budget::new(1 << 20),
        auth_delay: Duration::ZERO,
        clock: || 1_790_000_000,
    })
}

static SHARED: OnceLock<Vec<Arc<SmtpShared>>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let all = SHARED.get_or_init(|| {
        vec![
            shared(Mta::Postfix, true),
            shared(Mta::new("exim", None).expect("exim"), false),
        ]
    });
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let sh = &all[usize::from(selector) % all.len()];
    let svc = SmtpService::with_shared(25, Arc::clone(sh));
    let conn = ConnInfo {
        peer: "192.0.2.1:1".parse().expect("addr"),
        local: "127.0.0.1:25".parse().expect("addr"),
        session_id: "f".into(),
    };
    {
        let mut session = svc.open(&conn);
        let _ = session.start();
        let mut closed = false;
        for piece in data.chunks(usize::from(selector >> 1).max(1)) {
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
    }
    assert_eq!(sh.budget.used(), 0, "budget leaked");
});
