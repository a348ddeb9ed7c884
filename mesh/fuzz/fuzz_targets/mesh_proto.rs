//! Arbitrary bytes as QUIC mesh stream data: split into length-prefixed frames, then every
//! body decoded as each message a peer may send (stream opener, hello, control, durable
//! batches and acks, renewals, enrollment). Nothing may panic and frames respect the cap.

#![no_main]

use bytes::BytesMut;
use decnet_mesh::enroll::{EnrollReply, EnrollRequest};
use decnet_mesh::quic::proto::{
    Batch, DurableAck, DurableOpen, Hello, MAX_FRAME_LEN, Open, RenewReply, RenewRequest,
    RpcReply, RpcRequest, ToAgent, ToMaster, Welcome, decode, next_frame,
};
use libfuzzer_sys::fuzz_target;

fn decode_all(body: &[u8]) {
    let _ = decode::<Open>(body);
    let _ = decode::<Hello>(body);
    let _ = decode::<Welcome>(body);
    let _ = decode::<ToAgent>(body);
    let _ = decode::<ToMaster>(body);
    let _ = decode::<RpcRequest>(body);
    let _ = decode::<RpcReply>(body);
    let _ = decode::<RenewRequest>(body);
    let _ = decode::<RenewReply>(body);
    let _ = decode::<DurableOpen>(body);
    let _ = decode::<Batch>(body);
    let _ = decode::<DurableAck>(body);
    let _ = decode::<EnrollRequest>(body);
    let _ = decode::<EnrollReply>(body);
}

fuzz_target!(|data: &[u8]| {
    // The body decoders see the raw input too, not only what survives framing.
    decode_all(data);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = next_frame(&mut buf) {
        assert!(frame.len() <= MAX_FRAME_LEN);
        decode_all(&frame);
    }
});
