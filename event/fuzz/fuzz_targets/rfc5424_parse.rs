//! The RFC 5424 parser and the line → event conversion never panic, and any
//! event the parser yields renders to a line that parses to the same event.
#![no_main]

use decnet_event::rfc5424;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = rfc5424::parse_bytes(data) else {
        return;
    };
    let event = line.to_event();
    if event.validate().is_ok() {
        let again = rfc5424::parse(&rfc5424::render(&event))
            .expect("a rendered valid event parses")
            .to_event();
        assert_eq!(again, event);
    }
});
