//! Just enough CBOR (RFC 8949) to walk envelopes without building a value
//! tree: a zero-copy reader over a byte slice (headers parsed by
//! `ciborium-ll`) and an infallible header writer for `BytesMut`.
//!
//! The envelope's payload is kept as the raw bytes of one CBOR item, so the
//! broker never decodes or re-encodes what publishers send.

use std::ops::Range;

use bytes::{BufMut, BytesMut};
use ciborium_ll::{Decoder, Header};

/// Deepest nesting of arrays, maps and tags accepted in a payload.
pub const MAX_DEPTH: usize = 64;

/// Why a byte string is not the CBOR that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ended inside an item.
    #[error("CBOR input is truncated")]
    Truncated,
    /// The bytes are not well-formed CBOR.
    #[error("malformed CBOR at byte {0}")]
    Malformed(usize),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("CBOR nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Well-formed, but not the shape the protocol expects here.
    #[error("unexpected CBOR: expected {0}")]
    Unexpected(&'static str),
    /// A text string that is not UTF-8.
    #[error("CBOR text is not UTF-8")]
    NotUtf8,
    /// Bytes left over after the item.
    #[error("{0} trailing bytes after the CBOR item")]
    Trailing(usize),
}

const BREAK: u8 = 0xff;

/// A cursor over a CBOR byte slice.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `input`.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Reads the next item header.
    pub(crate) fn header(&mut self) -> Result<Header, CborError> {
        let rest = self.input.get(self.pos..).ok_or(CborError::Truncated)?;
        let mut dec = Decoder::from(rest);
        let header = dec.pull().map_err(|e| match e {
            ciborium_ll::Error::Io(_) => CborError::Truncated,
            ciborium_ll::Error::Syntax(at) => CborError::Malformed(self.pos + at),
        })?;
        self.pos += dec.offset();
        Ok(header)
    }

    /// Takes the next `len` raw bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(len).ok_or(CborError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn peek_break(&mut self) -> Result<bool, CborError> {
        match self.input.get(self.pos) {
            None => Err(CborError::Truncated),
            Some(&BREAK) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// Reads a definite-length text string.
    pub(crate) fn text(&mut self) -> Result<&'a str, CborError> {
        match self.header()? {
            Header::Text(Some(len)) => {
                std::str::from_utf8(self.take(len)?).map_err(|_| CborError::NotUtf8)
            }
            _ => Err(CborError::Unexpected("a definite-length text string")),
        }
    }

    /// Reads an integer that fits an `i64`.
    pub(crate) fn int(&mut self) -> Result<i64, CborError> {
        match self.header()? {
            Header::Positive(n) => i64::try_from(n).map_err(|_| CborError::Unexpected("an i64")),
            Header::Negative(n) => i64::try_from(n)
                .map(|n| -1 - n)
                .map_err(|_| CborError::Unexpected("an i64")),
            _ => Err(CborError::Unexpected("an integer")),
        }
    }

    /// Reads a definite-length map header and returns its entry count.
    pub(crate) fn map(&mut self) -> Result<usize, CborError> {
        match self.header()? {
            Header::Map(Some(n)) => Ok(n),
            _ => Err(CborError::Unexpected("a definite-length map")),
        }
    }

    /// Whether the next byte is `null` (consumed if so).
    pub(crate) fn null(&mut self) -> Result<bool, CborError> {
        match self.input.get(self.pos) {
            None => Err(CborError::Truncated),
            Some(0xf6) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// Skips one well-formed item and returns the byte range it occupied.
    pub(crate) fn item(&mut self) -> Result<Range<usize>, CborError> {
        let start = self.pos;
        self.skip(0)?;
        Ok(start..self.pos)
    }

    fn skip(&mut self, depth: usize) -> Result<(), CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        match self.header()? {
            Header::Positive(_) | Header::Negative(_) | Header::Float(_) | Header::Simple(_) => {
                Ok(())
            }
            Header::Break => Err(CborError::Malformed(self.pos - 1)),
            Header::Tag(_) => self.skip(depth + 1),
            Header::Bytes(Some(len)) => self.take(len).map(drop),
            Header::Text(Some(len)) => self.take(len).and_then(|t| {
                std::str::from_utf8(t)
                    .map(drop)
                    .map_err(|_| CborError::NotUtf8)
            }),
            Header::Bytes(None) => self.chunks(false),
            Header::Text(None) => self.chunks(true),
            Header::Array(Some(n)) => self.items(n, depth),
            Header::Map(Some(n)) => {
                self.items(n.checked_mul(2).ok_or(CborError::Truncated)?, depth)
            }
            Header::Array(None) => self.items_until_break(1, depth),
            Header::Map(None) => self.items_until_break(2, depth),
        }
    }

    fn items(&mut self, n: usize, depth: usize) -> Result<(), CborError> {
        // Every item takes at least one byte: refuse absurd counts before looping.
        if n > self.remaining() {
            return Err(CborError::Truncated);
        }
        for _ in 0..n {
            self.skip(depth + 1)?;
        }
        Ok(())
    }

    fn items_until_break(&mut self, per_entry: usize, depth: usize) -> Result<(), CborError> {
        while !self.peek_break()? {
            for _ in 0..per_entry {
                self.skip(depth + 1)?;
            }
        }
        Ok(())
    }

    fn chunks(&mut self, text: bool) -> Result<(), CborError> {
        while !self.peek_break()? {
            let at = self.pos;
            match (self.header()?, text) {
                (Header::Bytes(Some(len)), false) => {
                    self.take(len)?;
                }
                (Header::Text(Some(len)), true) => {
                    let t = self.take(len)?;
                    std::str::from_utf8(t).map_err(|_| CborError::NotUtf8)?;
                }
                _ => return Err(CborError::Malformed(at)),
            }
        }
        Ok(())
    }
}

/// Checks that `input` is exactly one well-formed CBOR item.
pub fn validate_item(input: &[u8]) -> Result<(), CborError> {
    let mut r = Reader::new(input);
    r.item()?;
    match r.remaining() {
        0 => Ok(()),
        n => Err(CborError::Trailing(n)),
    }
}

/// Writes an item header: major type and argument, in the shortest form.
pub(crate) fn put_header(out: &mut BytesMut, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.put_u8(m | arg as u8);
    } else if let Ok(a) = u8::try_from(arg) {
        out.put_u8(m | 24);
        out.put_u8(a);
    } else if let Ok(a) = u16::try_from(arg) {
        out.put_u8(m | 25);
        out.put_u16(a);
    } else if let Ok(a) = u32::try_from(arg) {
        out.put_u8(m | 26);
        out.put_u32(a);
    } else {
        out.put_u8(m | 27);
        out.put_u64(arg);
    }
}

/// Major type of unsigned integers.
pub(crate) const MAJOR_UINT: u8 = 0;
/// Major type of negative integers.
pub(crate) const MAJOR_NINT: u8 = 1;
/// Major type of text strings.
pub(crate) const MAJOR_TEXT: u8 = 3;
/// Major type of maps.
pub(crate) const MAJOR_MAP: u8 = 5;

/// Writes a definite-length text string.
pub(crate) fn put_text(out: &mut BytesMut, s: &str) {
    put_header(out, MAJOR_TEXT, s.len() as u64);
    out.put_slice(s.as_bytes());
}

/// Writes a signed integer.
pub(crate) fn put_int(out: &mut BytesMut, v: i64) {
    if v >= 0 {
        put_header(out, MAJOR_UINT, v.unsigned_abs());
    } else {
        put_header(out, MAJOR_NINT, (-1 - v).unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(v: &ciborium::Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    #[test]
    fn headers_match_ciborium() {
        for n in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut ours = BytesMut::new();
            put_header(&mut ours, MAJOR_UINT, n);
            assert_eq!(&ours[..], &encode(&ciborium::Value::Integer(n.into()))[..]);
        }
        for v in [-1i64, -24, -25, -256, -257, i64::MIN, 0, 1, i64::MAX] {
            let mut ours = BytesMut::new();
            put_int(&mut ours, v);
            assert_eq!(&ours[..], &encode(&ciborium::Value::Integer(v.into()))[..]);
            assert_eq!(Reader::new(&ours).int().unwrap(), v);
        }
        let mut ours = BytesMut::new();
        put_text(&mut ours, "héllo");
        assert_eq!(
            &ours[..],
            &encode(&ciborium::Value::Text("héllo".into()))[..]
        );
    }

    #[test]
    fn rejects_broken_items() {
        assert_eq!(validate_item(&[]), Err(CborError::Truncated));
        assert_eq!(validate_item(&[0x62, b'a']), Err(CborError::Truncated));
        assert_eq!(validate_item(&[0x61, 0xff]), Err(CborError::NotUtf8));
        assert_eq!(validate_item(&[0xff]), Err(CborError::Malformed(0)));
        assert_eq!(validate_item(&[0x1c]), Err(CborError::Malformed(0)));
        assert_eq!(validate_item(&[0x01, 0x02]), Err(CborError::Trailing(1)));
        // Array claiming 2^32 items with nothing behind it.
        assert_eq!(
            validate_item(&[0x9a, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        let deep = vec![0x81u8; MAX_DEPTH + 2];
        assert_eq!(validate_item(&deep), Err(CborError::TooDeep));
        // Indefinite byte string holding a text chunk.
        assert_eq!(
            validate_item(&[0x5f, 0x61, b'a', 0xff]),
            Err(CborError::Malformed(1))
        );
        // Indefinite forms are well-formed.
        assert_eq!(validate_item(&[0x5f, 0x41, 0, 0xff]), Ok(()));
        assert_eq!(validate_item(&[0x9f, 0x01, 0x9f, 0xff, 0xff]), Ok(()));
        assert_eq!(validate_item(&[0xbf, 0x01, 0x02, 0xff]), Ok(()));
    }

    fn value() -> impl Strategy<Value = ciborium::Value> {
        use ciborium::Value;
        let leaf = prop_oneof![
            any::<i64>().prop_map(|i| Value::Integer(i.into())),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            any::<f64>().prop_map(Value::Float),
            ".{0,20}".prop_map(Value::Text),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner.clone()), 0..8).prop_map(Value::Map),
                (0u64..1000, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    proptest! {
        #[test]
        fn skips_exactly_what_ciborium_wrote(v in value(), tail in prop::collection::vec(any::<u8>(), 0..4)) {
            let mut bytes = encode(&v);
            let len = bytes.len();
            prop_assert_eq!(validate_item(&bytes), Ok(()));
            bytes.extend_from_slice(&tail);
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.item(), Ok(0..len));
        }

        #[test]
        fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = validate_item(&bytes);
        }
    }
}
