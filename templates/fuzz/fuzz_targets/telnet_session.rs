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

/// A Linux telnet client's whole answer to inetutils-telnetd's negotiation.
const NEGOTIATION: &[&[u8]] = &[
    b"\xff\xfd%\xff\xfd&\xff\xfa&\x01\xff\xf0\xff\xfb\x18\xff\xfb \xff\xfc#\xff\xfb'\xff\xfc$",
    b"\xff\xfa \x0038400,38400\xff\xf0\xff\xfa'\x00\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0",
    b"\xff\xfd\x03\xff\xfc\x01\xff\xfb\"\xff\xfa\"\x03\x01\x00\x00\x03b\x03\x04\x02\x0f\x05\x00\x00\x07b\x1c\x08\x02\x04\tB\x1a\n\x02\x7f\x0b\x02\x15\x0c\x02\x17\r\x02\x12\x0e\x02\x16\x0f\x02\x11\x10\x02\x13\x11\x00\x00\x12\x00\x00\xff\xf0\xff\xfb\x1f\xff\xfa\x1f\x00\x00\x00\x00\xff\xf0\xff\xfd\x05\xff\xfb!",
    b"\xff\xfa\"\x01\x07\xff\xf0",
];

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
    // Odd selectors first answer the negotiation like Linux telnet and log
    // in, so /bin/login and the shell get the arbitrary bytes too.
    if selector & 1 == 1 {
        for piece in NEGOTIATION
            .iter()
            .chain([&b"root\r"[..], &b"toor\r"[..]].iter())
        {
            closed |= session
                .feed(piece)
                .iter()
                .any(|a| matches!(a, Action::Close));
        }
    }
    for piece in data.chunks(usize::from(selector >> 1).max(1)) {
        let actions = session.feed(piece);
        if closed {
            assert!(actions.is_empty(), "spoke after closing");
        }
        closed |= actions.iter().any(|a| matches!(a, Action::Close));
    }
    let _ = session.closed("client_closed");
});
