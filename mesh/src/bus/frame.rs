//! The bus frame codec, free of I/O.
//!
//! A frame is a header line `VERB[ arg]\n` of at most [`MAX_HEADER_LEN`]
//! bytes (newline included), a `u32` big-endian body length and a body of at
//! most [`MAX_BODY_LEN`] bytes. [`FrameDecoder`] takes bytes in (copied with
//! [`FrameDecoder::feed`] or read straight into [`FrameDecoder::buffer_mut`])
//! and yields whole frames or a typed error; after an error it yields that
//! error forever, because the stream can no longer be resynchronised.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Longest header line, newline included.
pub const MAX_HEADER_LEN: usize = 4096;

/// Largest frame body.
pub const MAX_BODY_LEN: usize = 1024 * 1024;

/// Size of the body length field.
const LEN_FIELD: usize = 4;

/// What a frame asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Client → server: `HELLO <client-name>`, first frame of a connection.
    Hello,
    /// Client → server: `PUB <topic>`, body `{type, payload, traceparent?}`.
    Pub,
    /// Client → server: `SUB <pattern>`.
    Sub,
    /// Client → server: `UNSUB <pattern>`.
    Unsub,
    /// Server → client: `EVT <topic>`, body = envelope.
    Evt,
    /// `PING [token]`: the server answers a client's PING with the same frame,
    /// after every frame the client sent before it has been handled.
    Ping,
    /// Either side: `BYE`, the sender closes the connection.
    Bye,
}

/// Whether a verb takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    Required,
    Optional,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 7] = [
        Verb::Hello,
        Verb::Pub,
        Verb::Sub,
        Verb::Unsub,
        Verb::Evt,
        Verb::Ping,
        Verb::Bye,
    ];

    /// The verb as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Hello => "HELLO",
            Verb::Pub => "PUB",
            Verb::Sub => "SUB",
            Verb::Unsub => "UNSUB",
            Verb::Evt => "EVT",
            Verb::Ping => "PING",
            Verb::Bye => "BYE",
        }
    }

    fn parse(s: &[u8]) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str().as_bytes() == s)
    }

    fn arg(self) -> Arg {
        match self {
            Verb::Ping | Verb::Bye => Arg::Optional,
            _ => Arg::Required,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a byte stream is not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No newline within the first [`MAX_HEADER_LEN`] bytes.
    #[error("header line longer than {MAX_HEADER_LEN} bytes")]
    HeaderTooLong,
    /// The header line is not UTF-8.
    #[error("header line is not UTF-8")]
    NotUtf8,
    /// The verb is not one of HELLO, PUB, SUB, UNSUB, EVT, PING, BYE.
    #[error("unknown verb {0:?}")]
    BadVerb(String),
    /// A missing, unexpected or malformed argument.
    #[error("bad {verb} header: {reason}")]
    BadArg {
        /// The verb whose argument is wrong.
        verb: Verb,
        /// What is wrong.
        reason: &'static str,
    },
    /// The body length field exceeds [`MAX_BODY_LEN`].
    #[error("body of {0} bytes exceeds the {MAX_BODY_LEN} byte limit")]
    BodyTooLarge(u64),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({0} bytes buffered)")]
    Truncated(usize),
}

/// One decoded frame.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    verb: Verb,
    arg: Option<Bytes>,
    body: Bytes,
}

fn check_arg(verb: Verb, arg: Option<&[u8]>) -> Result<(), FrameError> {
    let bad = |reason| Err(FrameError::BadArg { verb, reason });
    match (verb.arg(), arg) {
        (Arg::Required, None) => bad("missing argument"),
        (_, Some([])) => bad("empty argument"),
        (_, Some(a)) if a.iter().any(|&b| b == b' ' || b.is_ascii_control()) => {
            bad("argument holds a space or control character")
        }
        _ => Ok(()),
    }
}

impl Frame {
    /// A frame; checks the argument rules and the size limits.
    pub fn new(verb: Verb, arg: Option<&str>, body: Bytes) -> Result<Frame, FrameError> {
        check_arg(verb, arg.map(str::as_bytes))?;
        let header = header_len(verb, arg);
        if header > MAX_HEADER_LEN {
            return Err(FrameError::HeaderTooLong);
        }
        if body.len() > MAX_BODY_LEN {
            return Err(FrameError::BodyTooLarge(body.len() as u64));
        }
        Ok(Frame {
            verb,
            arg: arg.map(|a| Bytes::copy_from_slice(a.as_bytes())),
            body,
        })
    }

    /// The verb.
    pub fn verb(&self) -> Verb {
        self.verb
    }

    /// The argument (topic, pattern, client name or token), if any.
    pub fn arg(&self) -> Option<&str> {
        // Validated as UTF-8 when the frame was built or decoded.
        self.arg
            .as_deref()
            .and_then(|a| std::str::from_utf8(a).ok())
    }

    /// The raw argument bytes, if any.
    pub fn arg_bytes(&self) -> Option<&[u8]> {
        self.arg.as_deref()
    }

    /// The body (CBOR, possibly empty).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Appends the encoded frame to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let at = begin(out, self.verb, self.arg.as_deref());
        out.put_slice(&self.body);
        end(out, at);
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("verb", &self.verb)
            .field("arg", &self.arg())
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn header_len(verb: Verb, arg: Option<&str>) -> usize {
    verb.as_str().len() + arg.map_or(0, |a| a.len() + 1) + 1
}

/// Writes a header line and a placeholder length; returns where the body starts.
/// The caller keeps the argument and body within the limits.
pub(crate) fn begin(out: &mut BytesMut, verb: Verb, arg: Option<&[u8]>) -> usize {
    out.put_slice(verb.as_str().as_bytes());
    if let Some(a) = arg {
        out.put_u8(b' ');
        out.put_slice(a);
    }
    out.put_u8(b'\n');
    out.put_u32(0);
    out.len()
}

/// Patches the length field written by [`begin`] once the body is written.
pub(crate) fn end(out: &mut BytesMut, body_start: usize) {
    let len = out.len() - body_start;
    debug_assert!(len <= MAX_BODY_LEN, "frame body of {len} bytes");
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    out[body_start - LEN_FIELD..body_start].copy_from_slice(&len);
}

/// Appends a frame with an empty body.
pub(crate) fn put_empty(out: &mut BytesMut, verb: Verb, arg: Option<&[u8]>) {
    let at = begin(out, verb, arg);
    end(out, at);
}

/// Appends a validated frame.
pub fn encode_frame(
    out: &mut BytesMut,
    verb: Verb,
    arg: Option<&str>,
    body: &[u8],
) -> Result<(), FrameError> {
    check_arg(verb, arg.map(str::as_bytes))?;
    if header_len(verb, arg) > MAX_HEADER_LEN {
        return Err(FrameError::HeaderTooLong);
    }
    if body.len() > MAX_BODY_LEN {
        return Err(FrameError::BodyTooLarge(body.len() as u64));
    }
    let at = begin(out, verb, arg.map(str::as_bytes));
    out.put_slice(body);
    end(out, at);
    Ok(())
}

/// The header of a frame whose body has not fully arrived.
#[derive(Debug)]
struct Pending {
    verb: Verb,
    arg: Option<Bytes>,
    len: usize,
}

/// Incremental frame decoder. See the module documentation.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    /// Bytes of the current header already searched for a newline.
    scanned: usize,
    pending: Option<Pending>,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder whose buffer starts with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        FrameDecoder {
            buf: BytesMut::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, to read into without an extra copy.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Call at end of stream: an error if it ended inside a frame.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buf.is_empty() && self.pending.is_none() {
            Ok(())
        } else {
            Err(FrameError::Truncated(self.buf.len()))
        }
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.step() {
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn step(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.pending.is_none() {
            match self.header()? {
                Some(p) => self.pending = Some(p),
                None => return Ok(None),
            }
        }
        let len = self.pending.as_ref().map_or(0, |p| p.len);
        if self.buf.len() < len {
            // Make room for the rest of the body in one allocation.
            self.buf.reserve(len - self.buf.len());
            return Ok(None);
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        let body = self.buf.split_to(len).freeze();
        Ok(Some(Frame {
            verb: p.verb,
            arg: p.arg,
            body,
        }))
    }

    fn header(&mut self) -> Result<Option<Pending>, FrameError> {
        let limit = self.buf.len().min(MAX_HEADER_LEN);
        let found = self.buf[self.scanned..limit]
            .iter()
            .position(|&b| b == b'\n');
        let Some(i) = found else {
            if self.buf.len() >= MAX_HEADER_LEN {
                return Err(FrameError::HeaderTooLong);
            }
            self.scanned = limit;
            return Ok(None);
        };
        let nl = self.scanned + i;
        self.scanned = nl;
        if self.buf.len() < nl + 1 + LEN_FIELD {
            return Ok(None);
        }
        let line = &self.buf[..nl];
        let text = std::str::from_utf8(line).map_err(|_| FrameError::NotUtf8)?;
        let (verb_text, arg_range) = match text.find(' ') {
            Some(sp) => (&text[..sp], Some(sp + 1..nl)),
            None => (text, None),
        };
        let verb = Verb::parse(verb_text.as_bytes())
            .ok_or_else(|| FrameError::BadVerb(verb_text.chars().take(32).collect()))?;
        check_arg(verb, arg_range.clone().map(|r| &line[r]))?;
        let mut len_field = [0u8; LEN_FIELD];
        len_field.copy_from_slice(&self.buf[nl + 1..nl + 1 + LEN_FIELD]);
        let len = u32::from_be_bytes(len_field);
        if len as usize > MAX_BODY_LEN {
            return Err(FrameError::BodyTooLarge(u64::from(len)));
        }
        let header = self.buf.split_to(nl + 1).freeze();
        self.buf.advance(LEN_FIELD);
        self.scanned = 0;
        Ok(Some(Pending {
            verb,
            arg: arg_range.map(|r| header.slice(r)),
            len: len as usize,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(verb: Verb, arg: Option<&str>, body: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        encode_frame(&mut out, verb, arg, body).unwrap();
        out
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
        let mut d = FrameDecoder::new();
        d.feed(bytes);
        let mut frames = Vec::new();
        while let Some(f) = d.next_frame()? {
            frames.push(f);
        }
        d.finish()?;
        Ok(frames)
    }

    #[test]
    fn wire_layout() {
        let out = encoded(Verb::Sub, Some("a.*"), b"");
        assert_eq!(&out[..], b"SUB a.*\n\0\0\0\0");
        let out = encoded(Verb::Ping, None, &[1, 2]);
        assert_eq!(&out[..], b"PING\n\0\0\0\x02\x01\x02");
    }

    #[test]
    fn header_limit_is_inclusive_of_the_newline() {
        // "PUB " + arg + "\n" == 4096 is fine, one more byte is not.
        let arg = "a".repeat(MAX_HEADER_LEN - 5);
        let ok = format!("PUB {arg}\n\0\0\0\0");
        assert_eq!(decode_all(ok.as_bytes()).unwrap().len(), 1);
        let long = format!("PUB {arg}a\n\0\0\0\0");
        assert_eq!(decode_all(long.as_bytes()), Err(FrameError::HeaderTooLong));
        // Detected before the newline ever arrives.
        let mut d = FrameDecoder::new();
        d.feed(&vec![b'A'; MAX_HEADER_LEN]);
        assert_eq!(d.next_frame(), Err(FrameError::HeaderTooLong));
        // And the encoder refuses to produce it.
        let mut out = BytesMut::new();
        assert_eq!(
            encode_frame(&mut out, Verb::Pub, Some(&format!("{arg}a")), b""),
            Err(FrameError::HeaderTooLong)
        );
    }

    #[test]
    fn body_limit() {
        let mut d = FrameDecoder::new();
        d.feed(b"PUB a\n");
        d.feed(&((MAX_BODY_LEN as u32) + 1).to_be_bytes());
        assert_eq!(
            d.next_frame(),
            Err(FrameError::BodyTooLarge(MAX_BODY_LEN as u64 + 1))
        );
        // Sticky: the stream cannot be trusted any more.
        assert!(d.next_frame().is_err());
        let max = vec![0u8; MAX_BODY_LEN];
        let frames = decode_all(&encoded(Verb::Pub, Some("a"), &max)).unwrap();
        assert_eq!(frames[0].body().len(), MAX_BODY_LEN);
        let mut out = BytesMut::new();
        assert!(matches!(
            encode_frame(&mut out, Verb::Pub, Some("a"), &vec![0u8; MAX_BODY_LEN + 1]),
            Err(FrameError::BodyTooLarge(_))
        ));
    }

    #[test]
    fn bad_headers() {
        assert!(matches!(
            decode_all(b"NOPE a\n\0\0\0\0"),
            Err(FrameError::BadVerb(v)) if v == "NOPE"
        ));
        assert!(matches!(
            decode_all(b"pub a\n\0\0\0\0"),
            Err(FrameError::BadVerb(_))
        ));
        assert_eq!(
            decode_all(b"PUB \xff\xfe\n\0\0\0\0"),
            Err(FrameError::NotUtf8)
        );
        for bad in [
            &b"PUB\n\0\0\0\0"[..],
            b"PUB \n\0\0\0\0",
            b"PUB a b\n\0\0\0\0",
            b"PUB a\r\n\0\0\0\0",
            b"SUB  a\n\0\0\0\0",
        ] {
            assert!(
                matches!(decode_all(bad), Err(FrameError::BadArg { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(decode_all(b"BYE\n\0\0\0\0").unwrap()[0].verb(), Verb::Bye);
        assert_eq!(decode_all(b"PING 7\n\0\0\0\0").unwrap()[0].arg(), Some("7"));
    }

    #[test]
    fn truncated_streams() {
        let full = encoded(Verb::Pub, Some("a.b"), b"\xa0");
        for cut in 1..full.len() {
            let mut d = FrameDecoder::new();
            d.feed(&full[..cut]);
            assert_eq!(d.next_frame(), Ok(None), "cut at {cut}");
            assert_eq!(d.finish(), Err(FrameError::Truncated(d.buffered())));
        }
        assert!(decode_all(&full).is_ok());
        assert_eq!(decode_all(b""), Ok(vec![]));
    }

    fn verb() -> impl Strategy<Value = Verb> {
        prop::sample::select(Verb::ALL.to_vec())
    }

    fn frame() -> impl Strategy<Value = Frame> {
        (
            verb(),
            prop::option::of("[a-z0-9.*>_-]{1,40}"),
            prop::collection::vec(any::<u8>(), 0..300),
        )
            .prop_filter_map("argument rules", |(v, a, b)| {
                let a = if v.arg() == Arg::Required && a.is_none() {
                    Some("x".to_owned())
                } else {
                    a
                };
                Frame::new(v, a.as_deref(), Bytes::from(b)).ok()
            })
    }

    proptest! {
        #[test]
        fn roundtrip_in_arbitrary_chunks(
            frames in prop::collection::vec(frame(), 0..12),
            cuts in prop::collection::vec(1usize..64, 1..40),
        ) {
            let mut wire = BytesMut::new();
            for f in &frames {
                f.encode(&mut wire);
            }
            let mut d = FrameDecoder::with_capacity(16);
            let mut got = Vec::new();
            let mut rest = &wire[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = cuts[i % cuts.len()].min(rest.len());
                d.feed(&rest[..n]);
                rest = &rest[n..];
                i += 1;
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            d.finish().unwrap();
            prop_assert_eq!(got, frames);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let mut d = FrameDecoder::new();
            d.feed(&bytes);
            for _ in 0..64 {
                match d.next_frame() {
                    Ok(Some(f)) => {
                        prop_assert!(f.body().len() <= MAX_BODY_LEN);
                        let mut out = BytesMut::new();
                        f.encode(&mut out);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
