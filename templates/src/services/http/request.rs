//! Incremental HTTP/1.x request reading: the head with `httparse`, the body
//! (Content-Length or chunked) streamed through SHA-256 with a bounded
//! prefix kept for credential parsing. Never panics, never buffers more than
//! the limits it is given.

use sha2::{Digest as _, Sha256};

/// Headers accepted per request (Apache's `LimitRequestFields`).
pub const MAX_HEADERS: usize = 100;

/// Body bytes kept for parsing forms; the rest is only hashed and counted.
pub const BODY_KEEP: usize = 64 * 1024;

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Method as sent.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first header called `name` as text (lossy).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Whether the client asked to keep the connection open.
    pub fn wants_keep_alive(&self) -> bool {
        let conn = self
            .header("Connection")
            .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
            .unwrap_or_default();
        if self.minor == 0 {
            conn.contains("keep-alive")
        } else {
            !conn.contains("close")
        }
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// Why a head was refused; each maps to a status the products answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP (400).
    Malformed(&'static str),
    /// Request line too long (414).
    LineTooLong,
    /// A header line too long, or the head too large (400 with the product's wording).
    HeaderTooLarge,
    /// More than [`MAX_HEADERS`] headers (400).
    TooManyHeaders,
}

/// Result of looking for a head at the start of a buffer.
#[derive(Debug)]
pub enum HeadParse {
    /// Need more bytes.
    Partial,
    /// A head of `used` bytes.
    Done(Head, usize),
    /// Refused.
    Error(HeadError),
}

/// Limits on the head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Longest request line.
    pub line: usize,
    /// Longest header line.
    pub header_line: usize,
    /// Largest head in total.
    pub total: usize,
}

/// Parses a request head at the start of `buf`.
pub fn parse_head(buf: &[u8], limits: HeadLimits) -> HeadParse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(used)) => {
            let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version)
            else {
                return HeadParse::Error(HeadError::Malformed("incomplete request line"));
            };
            if method.len() + target.len() + 10 > limits.line {
                return HeadParse::Error(HeadError::LineTooLong);
            }
            if req
                .headers
                .iter()
                .any(|h| h.name.len() + h.value.len() + 2 > limits.header_line)
            {
                return HeadParse::Error(HeadError::HeaderTooLarge);
            }
            let head = Head {
                method: method.to_owned(),
                target: target.to_owned(),
                minor,
                headers: req
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect(),
            };
            HeadParse::Done(head, used)
        }
        Ok(httparse::Status::Partial) => {
            // Judge what is there already, so a huge line fails early.
            let first_line = buf.iter().position(|&b| b == b'\n');
            match first_line {
                None if buf.len() > limits.line => HeadParse::Error(HeadError::LineTooLong),
                Some(n) if n > limits.line => HeadParse::Error(HeadError::LineTooLong),
                _ if buf.len() > limits.total => HeadParse::Error(HeadError::HeaderTooLarge),
                _ => {
                    let longest = buf
                        .split(|&b| b == b'\n')
                        .skip(1)
                        .map(<[u8]>::len)
                        .max()
                        .unwrap_or(0);
                    if longest > limits.header_line {
                        HeadParse::Error(HeadError::HeaderTooLarge)
                    } else {
                        HeadParse::Partial
                    }
                }
            }
        }
        Err(httparse::Error::TooManyHeaders) => HeadParse::Error(HeadError::TooManyHeaders),
        Err(httparse::Error::Version) => HeadParse::Error(HeadError::Malformed("bad version")),
        Err(httparse::Error::Token) => HeadParse::Error(HeadError::Malformed("bad method")),
        Err(_) => HeadParse::Error(HeadError::Malformed("malformed request")),
    }
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The framing a head announces, or `Err` for a malformed Content-Length.
pub fn framing(head: &Head) -> Result<Framing, &'static str> {
    if let Some(te) = head.header("Transfer-Encoding") {
        let te = String::from_utf8_lossy(te).to_ascii_lowercase();
        return if te.trim().ends_with("chunked") {
            Ok(Framing::Chunked)
        } else {
            Err("unsupported transfer-encoding")
        };
    }
    let mut lengths = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Content-Length"));
    match lengths.next() {
        None => Ok(Framing::None),
        Some((_, v)) => {
            if lengths.next().is_some() {
                return Err("duplicate content-length");
            }
            let s = std::str::from_utf8(v)
                .map_err(|_| "bad content-length")?
                .trim();
            if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err("bad content-length");
            }
            let n: u64 = s.parse().map_err(|_| "bad content-length")?;
            Ok(if n == 0 {
                Framing::None
            } else {
                Framing::Length(n)
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// A body being received.
#[derive(Debug)]
pub struct Body {
    framing: Framing,
    left: u64,
    chunk: Chunk,
    hasher: Sha256,
    /// Bytes received so far.
    pub len: u64,
    /// The first [`BODY_KEEP`] bytes.
    pub kept: Vec<u8>,
}

/// Progress of a body.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyStep {
    /// Consumed `n` bytes, need more.
    More(usize),
    /// Consumed `n` bytes; the body is complete.
    Done(usize),
    /// Malformed chunked encoding.
    Error(&'static str),
}

/// Longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

impl Body {
    /// A body with `framing` (not [`Framing::None`]).
    pub fn new(framing: Framing) -> Self {
        Body {
            framing,
            left: match framing {
                Framing::Length(n) => n,
                _ => 0,
            },
            chunk: Chunk::Size,
            hasher: Sha256::new(),
            len: 0,
            kept: Vec::new(),
        }
    }

    fn take(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.len += data.len() as u64;
        let room = BODY_KEEP.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Lowercase hex SHA-256 of the whole body.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Consumes what it can from `buf`.
    pub fn step(&mut self, buf: &[u8]) -> BodyStep {
        match self.framing {
            Framing::None => BodyStep::Done(0),
            Framing::Length(_) => {
                let n = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                self.take(&buf[..n]);
                self.left -= n as u64;
                if self.left == 0 {
                    BodyStep::Done(n)
                } else {
                    BodyStep::More(n)
                }
            }
            Framing::Chunked => self.step_chunked(buf),
        }
    }

    fn step_chunked(&mut self, buf: &[u8]) -> BodyStep {
        let mut used = 0;
        loop {
            let rest = &buf[used..];
            match self.chunk {
                Chunk::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        used += n;
                        self.chunk = if size == 0 {
                            Chunk::Trailers
                        } else {
                            Chunk::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => {
                        if rest.len() > MAX_CHUNK_LINE {
                            return BodyStep::Error("chunk size line too long");
                        }
                        return BodyStep::More(used);
                    }
                    Err(_) => return BodyStep::Error("bad chunk size"),
                },
                Chunk::Data(left) => {
                    if rest.is_empty() {
                        return BodyStep::More(used);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    self.take(&rest[..n]);
                    used += n;
                    let left = left - n as u64;
                    self.chunk = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                }
                Chunk::DataEnd => {
                    if rest.len() < 2 {
                        if rest.first().is_some_and(|&b| b != b'\r' && b != b'\n') {
                            return BodyStep::Error("missing CRLF after chunk");
                        }
                        if rest == b"\n" {
                            used += 1;
                            self.chunk = Chunk::Size;
                            continue;
                        }
                        return BodyStep::More(used);
                    }
                    if rest.starts_with(b"\r\n") {
                        used += 2;
                    } else if rest[0] == b'\n' {
                        used += 1;
                    } else {
                        return BodyStep::Error("missing CRLF after chunk");
                    }
                    self.chunk = Chunk::Size;
                }
                Chunk::Trailers => {
                    // Trailer lines until an empty one.
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        if rest.len() > MAX_CHUNK_LINE {
                            return BodyStep::Error("trailer too long");
                        }
                        return BodyStep::More(used);
                    };
                    let line = &rest[..nl];
                    used += nl + 1;
                    if line.is_empty() || line == b"\r" {
                        return BodyStep::Done(used);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        line: 8192,
        header_line: 8192,
        total: 32 * 1024,
    };

    fn head(raw: &str) -> Head {
        match parse_head(raw.as_bytes(), LIMITS) {
            HeadParse::Done(h, n) => {
                assert_eq!(n, raw.len());
                h
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn heads_keep_header_order_and_case() {
        let h = head(
            "POST /wp-login.php?x=1 HTTP/1.1\r\nHost: a\r\nuser-agent: curl/8\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(h.method, "POST");
        assert_eq!(h.path(), "/wp-login.php");
        assert_eq!(h.query(), Some("x=1"));
        assert_eq!(h.headers[1].0, "user-agent");
        assert_eq!(framing(&h), Ok(Framing::Length(3)));
        assert!(h.wants_keep_alive());
        assert!(!head("GET / HTTP/1.0\r\n\r\n").wants_keep_alive());
    }

    #[test]
    fn limits_and_errors() {
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nHost", LIMITS),
            HeadParse::Partial
        ));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        assert!(matches!(
            parse_head(long.as_bytes(), LIMITS),
            HeadParse::Error(HeadError::LineTooLong)
        ));
        assert!(matches!(
            parse_head(&long.as_bytes()[..8500], LIMITS),
            HeadParse::Error(HeadError::LineTooLong)
        ));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(9000));
        assert!(matches!(
            parse_head(big.as_bytes(), LIMITS),
            HeadParse::Error(HeadError::HeaderTooLarge)
        ));
        assert!(matches!(
            parse_head(b"OPTIONS / RTSP/1.0\r\n\r\n", LIMITS),
            HeadParse::Error(HeadError::Malformed(_))
        ));
        let many: String = (0..101).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(
            parse_head(many.as_bytes(), LIMITS),
            HeadParse::Error(HeadError::TooManyHeaders)
        ));
        let dup = head("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert!(framing(&dup).is_err());
        let neg = head("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
        assert!(framing(&neg).is_err());
    }

    #[test]
    fn chunked_bodies_in_pieces() {
        let raw = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for split in 1..raw.len() {
            let mut b = Body::new(Framing::Chunked);
            let mut buf = Vec::new();
            let mut done = false;
            for piece in [&raw[..split], &raw[split..]] {
                buf.extend_from_slice(piece);
                if done {
                    continue;
                }
                match b.step(&buf) {
                    BodyStep::More(n) => {
                        buf.drain(..n);
                    }
                    BodyStep::Done(n) => {
                        buf.drain(..n);
                        done = true;
                    }
                    BodyStep::Error(e) => panic!("{split}: {e}"),
                }
            }
            assert!(done, "split {split}");
            assert_eq!(b.kept, b"Wikipedia");
            assert_eq!(buf, b"NEXT");
            assert_eq!(b.sha256(), hex::encode(Sha256::digest(b"Wikipedia")));
        }
    }
}
