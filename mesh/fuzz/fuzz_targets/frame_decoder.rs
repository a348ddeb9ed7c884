//! Arbitrary bytes into the frame decoder, fed in chunks whose sizes come
//! from the input itself, then every decoded body into the body decoders.
//! Nothing may panic, and every frame must respect the size limits.

#![no_main]

use bytes::BytesMut;
use decnet_mesh::bus::frame::{FrameDecoder, MAX_BODY_LEN, MAX_HEADER_LEN, Verb};
use decnet_mesh::bus::wire::{Interner, decode_envelope, decode_pub};
use decnet_mesh::envelope::Payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (chunk, data) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => (1, data),
    };
    let mut dec = FrameDecoder::new();
    let mut interner = Interner::default();
    for piece in data.chunks(chunk) {
        dec.feed(piece);
        loop {
            match dec.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.body().len() <= MAX_BODY_LEN);
                    if let Some(arg) = frame.arg() {
                        assert!(arg.len() < MAX_HEADER_LEN);
                    }
                    match frame.verb() {
                        Verb::Pub => {
                            if let Ok(body) = decode_pub(frame.body(), &mut interner) {
                                // What the server accepts must be valid CBOR.
                                assert!(Payload::from_cbor(body.payload.to_bytes()).is_ok());
                            }
                        }
                        Verb::Evt => {
                            let _ = decode_envelope(frame.body());
                        }
                        _ => {}
                    }
                    // Re-encoding a decoded frame decodes to the same frame.
                    let mut out = BytesMut::new();
                    frame.encode(&mut out);
                    let mut again = FrameDecoder::new();
                    again.feed(&out);
                    assert_eq!(again.next_frame().ok().flatten().as_ref(), Some(&frame));
                }
                Ok(None) => break,
                Err(_) => {
                    // Sticky: the stream cannot be resynchronised.
                    assert!(dec.next_frame().is_err());
                    return;
                }
            }
        }
    }
    let _ = dec.finish();
});
