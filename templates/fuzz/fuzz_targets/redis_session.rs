//! A whole Redis session (parser, dispatch, keyspace, INFO) fed arbitrary
//! bytes in arbitrary chunks never panics, and says nothing after closing.
#![no_main]

use std::sync::{Arc, OnceLock};

use decnet_templates::persona::Persona;
use decnet_templates::services::ServiceContext;
use decnet_templates::services::redis::RedisService;
use decnet_templates::session::{Action, ConnInfo, Service as _};
use decnet_templates::spec::DeckySpec;
use libfuzzer_sys::fuzz_target;

fn service(version: &str, pass: bool) -> RedisService {
    let spec = DeckySpec::parse(&format!(
        "name = \"f\"\nhostname = \"f\"\nbind = [\"127.0.0.1\"]\n[limits]\nmax_frame_bytes = 4096\n[services.redis]\nversion = \"{version}\"\n{}",
        if pass { "requirepass = \"p\"" } else { "" }
    ))
    .expect("spec");
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    RedisService::from_config(&mut spec.services["redis"].clone(), &ctx).expect("service")
}

static SERVICES: OnceLock<Vec<RedisService>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let services = SERVICES.get_or_init(|| {
        vec![
            service("7.0.15", false),
            service("6.0.16", true),
            service("5.0.7", false),
        ]
    });
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let svc = &services[usize::from(selector) % services.len()];
    let conn = ConnInfo {
        peer: "192.0.2.1:1".parse().expect("addr"),
        local: "127.0.0.1:6379".parse().expect("addr"),
        session_id: "f".into(),
    };
    let mut session = svc.open(&conn);
    let mut closed = false;
    // The selector's high bits pick the chunk size, so splits are explored too.
    let chunk = usize::from(selector >> 2).max(1);
    for piece in data.chunks(chunk) {
        let actions = session.feed(piece);
        if closed {
            assert!(actions.is_empty(), "spoke after closing");
        }
        closed |= actions.iter().any(|a| matches!(a, Action::Close));
    }
});
