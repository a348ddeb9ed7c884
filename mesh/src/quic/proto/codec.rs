//! Frames: a `u32` big-endian length, then one CBOR item of at most [`MAX_FRAME_LEN`] bytes.
//!
//! [`next_frame`] and [`decode`] are sans-I/O: they take bytes and never panic on any input
//! (see the property tests), so a peer's malformed frame becomes a [`ProtoError`] that closes
//! only that stream. [`FrameReader`] drives them from a QUIC receive stream.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use quinn::{RecvStream, SendStream};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest frame body accepted: one durable batch or one bus envelope with room to spare.
pub const MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

const HEADER_LEN: usize = 4;
/// Largest chunk taken from QUIC per read; bounds the copy per wake-up.
const READ_CHUNK: usize = 256 * 1024;

/// Why a frame could not be read, written or understood.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The length prefix announces more than [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge(usize),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame")]
    Truncated,
    /// The body is not the CBOR message expected.
    #[error("undecodable frame: {0}")]
    Decode(String),
    /// A message could not be encoded.
    #[error("unencodable message: {0}")]
    Encode(String),
    /// A valid message that has no business at this point of the protocol.
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// Reading from the QUIC stream failed.
    #[error("read: {0}")]
    Read(#[from] quinn::ReadError),
    /// Writing to the QUIC stream failed.
    #[error("write: {0}")]
    Write(#[from] quinn::WriteError),
    /// The peer ended the stream before sending the expected message.
    #[error("stream closed by the peer")]
    Closed,
}

/// Appends one frame holding `msg`.
pub fn encode<T: Serialize + ?Sized>(msg: &T, out: &mut BytesMut) -> Result<(), ProtoError> {
    let at = out.len();
    out.put_u32(0);
    let mut writer = out.writer();
    let result = ciborium::into_writer(msg, &mut writer);
    let out = writer.into_inner();
    if let Err(e) = result {
        out.truncate(at);
        return Err(ProtoError::Encode(e.to_string()));
    }
    let len = out.len() - at - HEADER_LEN;
    let Ok(len32) = u32::try_from(len) else {
        out.truncate(at);
        return Err(ProtoError::TooLarge(len));
    };
    if len > MAX_FRAME_LEN {
        out.truncate(at);
        return Err(ProtoError::TooLarge(len));
    }
    out[at..at + HEADER_LEN].copy_from_slice(&len32.to_be_bytes());
    Ok(())
}

/// One frame holding `msg`, ready to write.
pub fn encode_one<T: Serialize + ?Sized>(msg: &T) -> Result<Bytes, ProtoError> {
    let mut out = BytesMut::with_capacity(128);
    encode(msg, &mut out)?;
    Ok(out.freeze())
}

/// Splits the next complete frame body off the front of `buf`, if there is one.
///
/// An oversized length prefix is an error before anything is buffered for it.
pub fn next_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, ProtoError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut len_bytes = [0u8; HEADER_LEN];
    len_bytes.copy_from_slice(header);
    let len = u32::from_be_bytes(len_bytes) as usize;
    if len > MAX_FRAME_LEN {
        return Err(ProtoError::TooLarge(len));
    }
    if buf.len() < HEADER_LEN + len {
        buf.reserve(HEADER_LEN + len - buf.len());
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Decodes a frame body as exactly one `T`, rejecting trailing bytes.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    let mut rest = body;
    let value = ciborium::from_reader(&mut rest).map_err(|e| ProtoError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ProtoError::Decode(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

/// Reads frames from a QUIC receive stream.
#[derive(Debug)]
pub struct FrameReader {
    recv: RecvStream,
    buf: BytesMut,
}

impl FrameReader {
    /// Wraps a receive stream.
    pub fn new(recv: RecvStream) -> Self {
        FrameReader {
            recv,
            buf: BytesMut::with_capacity(16 * 1024),
        }
    }

    /// The next frame body; `None` when the peer finished the stream between frames.
    /// Cancel-safe: a frame partly received stays buffered.
    pub async fn next(&mut self) -> Result<Option<Bytes>, ProtoError> {
        loop {
            if let Some(frame) = next_frame(&mut self.buf)? {
                return Ok(Some(frame));
            }
            match self.recv.read_chunk(READ_CHUNK, true).await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk.bytes),
                None if self.buf.is_empty() => return Ok(None),
                None => return Err(ProtoError::Truncated),
            }
        }
    }

    /// The next frame decoded as `T`; the end of the stream is [`ProtoError::Closed`].
    pub async fn message<T: DeserializeOwned>(&mut self) -> Result<T, ProtoError> {
        match self.next().await? {
            Some(body) => decode(&body),
            None => Err(ProtoError::Closed),
        }
    }

    /// Tells the peer to stop sending on this stream.
    pub fn stop(&mut self, code: quinn::VarInt) {
        // Already finished or reset: nothing left to stop.
        let _ = self.recv.stop(code);
    }
}

/// Encodes `msg` and writes it as one frame.
pub async fn write_message<T: Serialize + ?Sized>(
    send: &mut SendStream,
    msg: &T,
) -> Result<(), ProtoError> {
    let frame = encode_one(msg)?;
    send.write_chunk(frame).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Msg {
        A(u64),
        B { text: String, blob: Bytes },
    }

    #[test]
    fn round_trip_in_pieces() {
        let msgs = vec![
            Msg::A(7),
            Msg::B {
                text: "x".into(),
                blob: Bytes::from_static(b"\x00\x01\xff"),
            },
        ];
        let mut wire = BytesMut::new();
        for m in &msgs {
            encode(m, &mut wire).unwrap();
        }
        // Feed one byte at a time: frames appear only once complete.
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(body) = next_frame(&mut buf).unwrap() {
                got.push(decode::<Msg>(&body).unwrap());
            }
        }
        assert_eq!(got, msgs);
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_prefix_is_refused_before_buffering() {
        let mut buf = BytesMut::new();
        buf.put_u32(u32::try_from(MAX_FRAME_LEN + 1).unwrap());
        assert!(matches!(next_frame(&mut buf), Err(ProtoError::TooLarge(_))));
    }

    #[test]
    fn trailing_bytes_and_garbage_are_errors() {
        let mut body = BytesMut::new();
        ciborium::into_writer(&Msg::A(1), (&mut body).writer()).unwrap();
        body.put_u8(0);
        assert!(matches!(decode::<Msg>(&body), Err(ProtoError::Decode(_))));
        assert!(decode::<Msg>(&[0xff, 0xff]).is_err());
        assert!(decode::<Msg>(&[]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(body)) = next_frame(&mut buf) {
                let _ = decode::<Msg>(&body);
                let _ = decode::<crate::quic::proto::Open>(&body);
                let _ = decode::<crate::quic::proto::ToAgent>(&body);
                let _ = decode::<crate::quic::proto::Batch>(&body);
            }
            let _ = decode::<crate::quic::proto::Open>(&data);
            let _ = decode::<crate::quic::proto::RpcReply>(&data);
        }
    }
}
