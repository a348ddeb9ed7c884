//! A MySQL session fed arbitrary bytes in arbitrary chunks never panics and
//! says nothing after closing.
#![no_main]

use std::sync::Arc;

use decnet_templates::services::mysql::{Flavor, MysqlSession};
use decnet_templates::session::{Action, ConnInfo, Session as _};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let version =
        ["8.0.36", "5.7.44", "5.5.5-10.11.6-MariaDB-0+deb12u1"][usize::from(selector) % 3];
    let flavor = Arc::new(Flavor::of(version).expect("flavor"));
    let conn = ConnInfo {
        peer: "[2001:db8::1]:1".parse().expect("addr"),
        local: "127.0.0.1:3306".parse().expect("addr"),
        session_id: "f".into(),
    };
    let mut session = MysqlSession::new(flavor, &conn, 7, *b"abcdefghijklmnopqrst");
    let _ = session.start();
    let mut closed = false;
    for piece in data.chunks(usize::from(selector >> 2).max(1)) {
        let actions = session.feed(piece);
        if closed {
            assert!(actions.is_empty(), "spoke after closing");
        }
        closed |= actions.iter().any(|a| matches!(a, Action::Close));
    }
});
