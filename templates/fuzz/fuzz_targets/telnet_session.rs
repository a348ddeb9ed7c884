//! A whole Telnet session (negotiation, /bin/login, the shell) fed arbitrary
//! bytes never panics and says nothing after closing.
#![no_main]

use std::sync::{Arc, OnceLock};

use decnet_templates::persona::Persona;
use decnet_templates::services::ServiceContext;
use decnet_templates::services::telnet::TelnetService;
use decnet_templates::session::{Action, ConnInfo, Service as _};
use decnet_templates::spec::DeckySpec;
use libfuzzer_sys::fuzz_target;

static SERVICE: OnceLock<TelnetService> = OnceLock::new();

fn service() -> &'static TelnetService {
    SERVICE.get_or_init(|| {
        let spec = DeckySpec::parse(
            "name = \"f\"\nhostname = \"f\"\nbind = [\"127.0.0.1\"]\ndata_dir = \"/nonexistent/decnet-fuzz\"\n[services.telnet]\nusers = \"root:toor\"\nrecord = false",
        )
        .expect("spec");
        let ctx = ServiceContext {
            persona: Arc::new(Persona::new(&spec)),
            limits: spec.limits.clone(),
        };
        TelnetService::from_config(&mut spec.services["telnet"].clone(), &ctx).expect("service")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let conn = ConnInfo {
        peer: "192.0.2.1:1".parse().expect("addr"),
        local: "127.0.0.1:23".parse().expect("addr"),
        session_id: "f".into(),
    };
    let mut session = service().open(&conn);
    let mut closed = session.start().iter().any(|a| matches!(a, Action::Close));
    for piece in data.chunks(usize::from(selector).max(1)) {
        let actions = session.feed(piece);
        if closed {
            assert!(actions.is_empty(), "spoke after closing");
        }
        closed |= actions.iter().any(|a| matches!(a, Action::Close));
    }
    let _ = session.closed("client_closed");
});
