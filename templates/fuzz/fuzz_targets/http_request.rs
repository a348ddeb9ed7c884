//! The HTTP request path (head parser, body framing, routing, response
//! serialisation, and the TLS wrapper of https) fed arbitrary bytes in
//! arbitrary chunks never panics and says nothing after closing.
#![no_main]

use std::sync::{Arc, OnceLock};

use decnet_templates::persona::Persona;
use decnet_templates::services::ServiceContext;
use decnet_templates::services::http::HttpService;
use decnet_templates::services::http::request::{
    Body, BodyStep, Framing, HeadLimits, HeadParse, framing, parse_head,
};
use decnet_templates::session::{Action, ConnInfo, Service as _};
use decnet_templates::spec::DeckySpec;
use libfuzzer_sys::fuzz_target;

fn service(keys: &str, https: bool) -> HttpService {
    let name = if https { "https" } else { "http" };
    let spec = DeckySpec::parse(&format!(
        "name = \"f\"\nhostname = \"web.example.org\"\nbind = [\"127.0.0.1\"]\ndata_dir = \"/nonexistent\"\n[limits]\nmax_frame_bytes = 16384\n[services.{name}]\n{keys}"
    ))
    .expect("spec");
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    HttpService::from_config(&mut spec.services[name].clone(), &ctx, https).expect("service")
}

static SERVICES: OnceLock<Vec<HttpService>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let services = SERVICES.get_or_init(|| {
        vec![
            service(
                "server_header = \"nginx/1.22.1\"\nfake_app = \"wordpress\"",
                false,
            ),
            service(
                "server_header = \"Apache/2.4.62 (Debian)\"\nfake_app = \"phpmyadmin\"",
                false,
            ),
            service(
                "server_header = \"nginx\"\nfake_app = \"router\"\nresponse_code = 401",
                false,
            ),
            service(
                "server_header = \"Apache/2.4.62 (Debian)\"\nfake_app = \"jenkins\"",
                false,
            ),
            service(
                "server_header = \"nginx/1.22.1\"\nfake_app = \"tomcat\"",
                true,
            ),
        ]
    });
    let Some((&selector, data)) = data.split_first() else {
        return;
    };

    // The parsers alone.
    let limits = HeadLimits {
        line: 8192,
        header_line: 8192,
        total: 16384,
    };
    if let HeadParse::Done(head, used) = parse_head(data, limits) {
        assert!(used <= data.len());
        if let Ok(f) = framing(&head)
            && f != Framing::None
        {
            let mut body = Body::new(f);
            let mut rest = &data[used..];
            while let BodyStep::More(n) = body.step(rest) {
                assert!(n <= rest.len());
                if n == 0 {
                    break;
                }
                rest = &rest[n..];
            }
        }
    }

    let svc = &services[usize::from(selector) % services.len()];
    let conn = ConnInfo {
        peer: "192.0.2.1:1".parse().expect("addr"),
        local: "127.0.0.1:80".parse().expect("addr"),
        session_id: "f".into(),
    };
    let mut session = svc.open(&conn);
    let _ = session.start();
    let mut closed = false;
    for piece in data.chunks(usize::from(selector >> 3).max(1)) {
        let actions = session.feed(piece);
        if closed {
            assert!(actions.is_empty(), "spoke after closing");
        }
        closed |= actions.iter().any(|a| matches!(a, Action::Close));
        let _ = session.pending_bytes();
    }
    let _ = session.peer_closed();
});
