//! RESP request parsing (multibulk and inline) and reply encoding (RESP2 and RESP3).
//!
//! The parser follows `networking.c` of real Redis step by step, because
//! the exact point where it accepts, waits or fails is observable: e.g. the
//! two bytes after a bulk are skipped unchecked, a count line needs `\r\n`
//! but only the `\r` is searched for, and inline lines split like `sdssplitargs`.

/// Longest inline request or count line (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// What the parser found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A command and the bytes it used.
    Command(Vec<Vec<u8>>, usize),
    /// Nothing to execute (blank inline line, `*0`, `*-1`) and the bytes it used.
    Empty(usize),
    /// More bytes are needed.
    Incomplete,
    /// A protocol error; the text follows `ERR Protocol error: `.
    Error(Vec<u8>),
}

/// Per-request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// `proto-max-bulk-len` as far as this decky buffers.
    pub max_bulk: usize,
    /// Apply the pre-authentication caps (10 elements, 16384-byte bulks).
    pub unauthenticated: bool,
}

/// Parses one request from the start of `buf`.
pub fn parse_request(buf: &[u8], limits: ParseLimits) -> Parsed {
    match buf.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_multibulk(buf, limits),
        Some(_) => parse_inline(buf),
    }
}

fn find(buf: &[u8], from: usize, byte: u8) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|i| from + i)
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, no overflow.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(v).ok()
    }
}

fn parse_multibulk(buf: &[u8], limits: ParseLimits) -> Parsed {
    let Some(cr) = find(buf, 0, b'\r') else {
        if buf.len() > INLINE_MAX {
            return Parsed::Error(b"too big mbulk count string".to_vec());
        }
        return Parsed::Incomplete;
    };
    if cr + 2 > buf.len() {
        return Parsed::Incomplete;
    }
    let count = match string2ll(&buf[1..cr]) {
        Some(n) if n <= i64::from(i32::MAX) => n,
        _ => return Parsed::Error(b"invalid multibulk length".to_vec()),
    };
    if limits.unauthenticated && count > 10 {
        return Parsed::Error(b"invalid multibulk length".to_vec());
    }
    let mut pos = cr + 2;
    if count <= 0 {
        return Parsed::Empty(pos);
    }
    let mut args = Vec::new();
    for _ in 0..count {
        if pos >= buf.len() {
            return Parsed::Incomplete;
        }
        let Some(cr) = find(buf, pos, b'\r') else {
            if buf.len() - pos > INLINE_MAX {
                return Parsed::Error(b"too big bulk count string".to_vec());
            }
            return Parsed::Incomplete;
        };
        if cr + 2 > buf.len() {
            return Parsed::Incomplete;
        }
        if buf[pos] != b'$' {
            let mut e = b"expected '$', got '".to_vec();
            e.push(buf[pos]);
            e.push(b'\'');
            return Parsed::Error(e);
        }
        let len = match string2ll(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && (n as u64) <= limits.max_bulk as u64 => n as usize,
            _ => return Parsed::Error(b"invalid bulk length".to_vec()),
        };
        if limits.unauthenticated && len > 16_384 {
            return Parsed::Error(b"invalid bulk length".to_vec());
        }
        pos = cr + 2;
        if buf.len() - pos < len + 2 {
            return Parsed::Incomplete;
        }
        args.push(buf[pos..pos + len].to_vec());
        pos += len + 2;
    }
    Parsed::Command(args, pos)
}

fn parse_inline(buf: &[u8]) -> Parsed {
    let Some(nl) = find(buf, 0, b'\n') else {
        if buf.len() > INLINE_MAX {
            return Parsed::Error(b"too big inline request".to_vec());
        }
        return Parsed::Incomplete;
    };
    let mut line = &buf[..nl];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    match split_args(line) {
        None => Parsed::Error(b"unbalanced quotes in request".to_vec()),
        Some(args) if args.is_empty() => Parsed::Empty(nl + 1),
        Some(args) => Parsed::Command(args, nl + 1),
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `sdssplitargs`: the line is a C string, so it ends at the first NUL.
/// Returns `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = line.split(|&b| b == 0).next().unwrap_or(&[]);
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let (mut inq, mut insq) = (false, false);
        let mut cur = Vec::new();
        loop {
            let c = at(p);
            if inq {
                if c == 0 {
                    return None;
                }
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3)))
                {
                    cur.push(h * 16 + l);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or the end.
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == 0 {
                    return None;
                }
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            p += 1;
        }
        args.push(cur);
    }
}

/// The protocol a connection speaks (`HELLO 3` switches to RESP3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// RESP2, the default.
    Resp2,
    /// RESP3.
    Resp3,
}

/// A reply, encoded per [`Proto`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text`.
    Simple(&'static str),
    /// `-text` (text includes the error code, e.g. `ERR ...`).
    Error(Vec<u8>),
    /// `:n`.
    Int(i64),
    /// `$len` bulk string.
    Bulk(Vec<u8>),
    /// Null bulk (`$-1` / `_`).
    Null,
    /// Null array (`*-1` / `_`).
    NullArray,
    /// `*n` array.
    Array(Vec<Reply>),
    /// `%n` map in RESP3, flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// `~n` set in RESP3, array in RESP2.
    Set(Vec<Reply>),
    /// `=len` verbatim text (`txt`) in RESP3, bulk in RESP2.
    Verbatim(Vec<u8>),
}

impl Reply {
    /// `-ERR`-style error from text; CR and LF become spaces so the reply stays one line.
    pub fn err(text: impl Into<Vec<u8>>) -> Self {
        let mut t = text.into();
        for b in &mut t {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        Reply::Error(t)
    }

    /// A bulk string from text.
    pub fn bulk(text: impl Into<Vec<u8>>) -> Self {
        Reply::Bulk(text.into())
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, proto: Proto, out: &mut Vec<u8>) {
        let r3 = proto == Proto::Resp3;
        let header = |out: &mut Vec<u8>, tag: u8, n: usize| {
            out.push(tag);
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        match self {
            Reply::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error(e) => {
                out.push(b'-');
                out.extend_from_slice(e);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Int(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Bulk(b) => {
                header(out, b'$', b.len());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Null if r3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if r3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                header(out, b'*', items.len());
                items.iter().for_each(|i| i.encode(proto, out));
            }
            Reply::Set(items) => {
                header(out, if r3 { b'~' } else { b'*' }, items.len());
                items.iter().for_each(|i| i.encode(proto, out));
            }
            Reply::Map(pairs) => {
                if r3 {
                    header(out, b'%', pairs.len());
                } else {
                    header(out, b'*', pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Verbatim(text) if r3 => {
                header(out, b'=', text.len() + 4);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Verbatim(text) => Reply::Bulk(text.clone()).encode(proto, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ParseLimits = ParseLimits {
        max_bulk: 1 << 20,
        unauthenticated: false,
    };

    fn cmd(list: &[&str], used: usize) -> Parsed {
        Parsed::Command(list.iter().map(|a| a.as_bytes().to_vec()).collect(), used)
    }

    #[test]
    fn multibulk_complete_partial_and_pipelined() {
        let req = b"*2\r\n$4\r\nECHO\r\n$3\r\nhi!\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(parse_request(req, L), cmd(&["ECHO", "hi!"], 23));
        assert_eq!(parse_request(&req[23..], L), cmd(&["PING"], 14));
        for cut in 0..23 {
            assert_eq!(
                parse_request(&req[..cut], L),
                Parsed::Incomplete,
                "cut {cut}"
            );
        }
        assert_eq!(parse_request(b"*0\r\n", L), Parsed::Empty(4));
        assert_eq!(parse_request(b"*-1\r\n", L), Parsed::Empty(5));
        // Like Redis, the two bytes after a bulk are not checked.
        assert_eq!(parse_request(b"*1\r\n$4\r\nPINGxx", L), cmd(&["PING"], 14));
    }

    #[test]
    fn multibulk_errors_match_redis() {
        let e = |s: &[u8]| match parse_request(s, L) {
            Parsed::Error(e) => String::from_utf8(e).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(e(b"*x\r\n"), "invalid multibulk length");
        assert_eq!(e(b"*01\r\n"), "invalid multibulk length");
        assert_eq!(e(b"*3000000000\r\n"), "invalid multibulk length");
        assert_eq!(e(b"*1\r\n:4\r\n"), "expected '$', got ':'");
        assert_eq!(e(b"*1\r\n$-1\r\n"), "invalid bulk length");
        assert_eq!(e(b"*1\r\n$99999999\r\n"), "invalid bulk length");
        let unauth = ParseLimits {
            unauthenticated: true,
            ..L
        };
        assert_eq!(
            parse_request(b"*11\r\n", unauth),
            Parsed::Error(b"invalid multibulk length".to_vec())
        );
        assert_eq!(
            parse_request(b"*1\r\n$16385\r\n", unauth),
            Parsed::Error(b"invalid bulk length".to_vec())
        );
        assert_eq!(parse_request(b"*10\r\n", unauth), Parsed::Incomplete);
        let big = vec![b'*'; INLINE_MAX + 1];
        assert_eq!(
            parse_request(&big, L),
            Parsed::Error(b"too big mbulk count string".to_vec())
        );
    }

    #[test]
    fn inline_splits_like_sdssplitargs() {
        assert_eq!(parse_request(b"PING\r\n", L), cmd(&["PING"], 6));
        assert_eq!(
            parse_request(b"  set a  b\n", L),
            cmd(&["set", "a", "b"], 11)
        );
        assert_eq!(parse_request(b"\r\n", L), Parsed::Empty(2));
        assert_eq!(
            parse_request(b"SET k \"a\\x41\\n\\\"q\" 'it\\'s'\r\n", L),
            cmd(&["SET", "k", "aA\n\"q", "it's"], 28)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.0\r\n", L),
            cmd(&["GET", "/", "HTTP/1.0"], 16)
        );
        assert_eq!(parse_request(b"a\0b c\r\n", L), cmd(&["a"], 7));
        for bad in [
            &b"SET \"a\r\n"[..],
            b"SET \"a\"b\r\n",
            b"SET 'a\r\n",
            b"x 'a'b\n",
        ] {
            assert_eq!(
                parse_request(bad, L),
                Parsed::Error(b"unbalanced quotes in request".to_vec())
            );
        }
        assert_eq!(parse_request(b"PING", L), Parsed::Incomplete);
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(
            parse_request(&big, L),
            Parsed::Error(b"too big inline request".to_vec())
        );
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"+1",
            b"01",
            b" 1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn replies_encode_per_protocol() {
        let r = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        let (mut two, mut three) = (Vec::new(), Vec::new());
        r.encode(Proto::Resp2, &mut two);
        r.encode(Proto::Resp3, &mut three);
        assert_eq!(two, b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(three, b"%1\r\n$1\r\na\r\n:1\r\n");
        let mut v = Vec::new();
        Reply::Verbatim(b"x".to_vec()).encode(Proto::Resp3, &mut v);
        Reply::Null.encode(Proto::Resp3, &mut v);
        Reply::Null.encode(Proto::Resp2, &mut v);
        Reply::err("ERR a\r\nb").encode(Proto::Resp2, &mut v);
        assert_eq!(v, b"=5\r\ntxt:x\r\n_\r\n$-1\r\n-ERR a  b\r\n");
    }
}
