//! The shell parser never panics or recurses without bound, whatever the line.
#![no_main]

use decnet_templates::shell::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse::parse(&text);
});
