//! The RESP request parser never panics and never claims more bytes than it was given.
#![no_main]

use decnet_templates::services::redis::resp::{ParseLimits, Parsed, parse_request, split_args};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for unauthenticated in [false, true] {
        let limits = ParseLimits {
            max_bulk: 4096,
            unauthenticated,
        };
        let mut rest = data;
        loop {
            match parse_request(rest, limits) {
                Parsed::Command(args, used) => {
                    assert!(used > 0 && used <= rest.len());
                    assert!(!args.is_empty());
                    rest = &rest[used..];
                }
                Parsed::Empty(used) => {
                    assert!(used > 0 && used <= rest.len());
                    rest = &rest[used..];
                }
                Parsed::Incomplete | Parsed::Error(_) => break,
            }
        }
    }
    let _ = split_args(data);
});
