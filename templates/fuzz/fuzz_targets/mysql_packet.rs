//! MySQL packet framing and HandshakeResponse parsing never panic.
#![no_main]

use decnet_templates::services::mysql::packet::{Frame, next_packet, parse_client_hello};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_client_hello(data);
    if let Frame::Packet { payload, used, .. } = next_packet(data, 1 << 16) {
        assert!(used <= data.len() && payload.len() + 4 == used);
        let _ = parse_client_hello(payload);
    }
});
