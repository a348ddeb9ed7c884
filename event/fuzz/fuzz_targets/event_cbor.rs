//! Decoding an event from arbitrary CBOR never panics, and what decodes re-encodes losslessly.
#![no_main]

use decnet_event::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = Event::from_cbor(data) {
        let bytes = event.to_cbor().expect("a decoded event encodes");
        assert_eq!(Event::from_cbor(&bytes).expect("re-decodes"), event);
    }
});
