//! The Telnet IAC parser and the inetutils-telnetd negotiation never panic
//! and never buffer more than their caps, whatever the bytes and splits.
#![no_main]

use decnet_templates::services::telnet::iac::{Item, MAX_SB, Parser};
use decnet_templates::services::telnet::negotiate::Negotiation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let mut parser = Parser::default();
    let mut neg = Negotiation::default();
    for piece in data.chunks(usize::from(selector).max(1)) {
        for item in parser.feed(piece) {
            match item {
                Item::Negotiate(v, o) => {
                    let _ = neg.negotiate(v, o);
                }
                Item::Sub(o, p) => {
                    assert!(p.len() <= MAX_SB);
                    let _ = neg.subnegotiation(o, &p);
                }
                Item::Data(_) | Item::Command(_) => {}
            }
        }
        assert!(parser.pending() <= MAX_SB + 1);
    }
});
