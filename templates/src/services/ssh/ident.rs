//! The identification exchange, done by us before russh starts, so that
//! malformed client banners get OpenSSH's exact replies (probed by
//! honeypot detectors: Cowrie answers `SSH-1337` with "bad version 1337",
//! OpenSSH with `Invalid SSH identification string.`).
//!
//! SANS-IO parser ([`parse_ident`]) plus a small stream adapter
//! ([`Replay`]) that gives russh the bytes we already consumed and swallows
//! the banner russh writes (we sent the identical bytes first).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};

/// Longest identification line sshd buffers (it does not enforce RFC 4253's
/// 255: a 300-character banner is accepted); beyond it sshd closes silently.
pub const MAX_IDENT: usize = 8192;

/// What the client's first line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A usable SSH-2 identification (without the line end).
    Ok(String),
    /// Reply with these bytes and close (text, line end included).
    Reject(&'static [u8], String),
    /// The line is not complete yet.
    Incomplete,
}

/// OpenSSH's reply to a banner it cannot parse.
pub const INVALID: &[u8] = b"Invalid SSH identification string.\r\n";
/// OpenSSH's reply to an SSH-1 (or other major version) banner.
pub const MAJOR_DIFFERS: &[u8] = b"Protocol major versions differ.\r\n";

/// Judges the bytes received so far the way sshd's `kex_exchange_identification` does.
pub fn parse_ident(buf: &[u8]) -> Verdict {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() >= MAX_IDENT {
            let shown = String::from_utf8_lossy(&buf[..256]).into_owned();
            return Verdict::Reject(b"", shown);
        }
        return Verdict::Incomplete;
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line).into_owned();
    if line.contains(&0) {
        return Verdict::Reject(INVALID, text);
    }
    let Some(rest) = text.strip_prefix("SSH-") else {
        return Verdict::Reject(INVALID, text);
    };
    // sscanf("SSH-%d.%d-%[^\n]"): digits, a dot, digits, a dash, something.
    let Some((proto, software)) = rest.split_once('-') else {
        return Verdict::Reject(INVALID, text);
    };
    let Some((major, minor)) = proto.split_once('.') else {
        return Verdict::Reject(INVALID, text);
    };
    let num = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !num(major) || !num(minor) || software.is_empty() {
        return Verdict::Reject(INVALID, text);
    }
    match (major, minor) {
        ("2", "0") | ("1", "99") => Verdict::Ok(text),
        _ => Verdict::Reject(MAJOR_DIFFERS, text),
    }
}

/// Result of [`exchange`].
#[derive(Debug)]
pub enum Exchange {
    /// Go on with russh; `consumed` must be replayed to it.
    Ok {
        /// The client's identification.
        client: String,
        /// Every byte read so far.
        consumed: Vec<u8>,
    },
    /// The banner was refused (reply already sent).
    Rejected(String),
    /// The peer closed or the read failed.
    Closed,
}

/// Sends `SSH-2.0-{version}\r\n` and reads the client's identification.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, version: &str) -> Exchange {
    if io
        .write_all(format!("SSH-2.0-{version}\r\n").as_bytes())
        .await
        .is_err()
    {
        return Exchange::Closed;
    }
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 512];
    loop {
        match parse_ident(&buf) {
            Verdict::Ok(client) => {
                return Exchange::Ok {
                    client,
                    consumed: buf,
                };
            }
            Verdict::Reject(reply, client) => {
                if !reply.is_empty() {
                    let _ = io.write_all(reply).await;
                }
                let _ = io.shutdown().await;
                return Exchange::Rejected(client);
            }
            Verdict::Incomplete => {}
        }
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return Exchange::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Hands `prefix` to the reader first and swallows the first `skip` written bytes.
#[derive(Debug)]
pub struct Replay<S> {
    inner: S,
    prefix: Vec<u8>,
    pos: usize,
    skip: usize,
}

impl<S> Replay<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, prefix: Vec<u8>, skip: usize) -> Self {
        Replay {
            inner,
            prefix,
            pos: 0,
            skip,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.skip > 0 && !buf.is_empty() {
            let n = this.skip.min(buf.len());
            this.skip -= n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_like_openssh() {
        assert_eq!(
            parse_ident(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n"),
            Verdict::Ok("SSH-2.0-OpenSSH_9.2p1 Debian".into())
        );
        assert_eq!(
            parse_ident(b"SSH-1.99-x\n"),
            Verdict::Ok("SSH-1.99-x".into())
        );
        assert_eq!(parse_ident(b"SSH-2.0-x"), Verdict::Incomplete);
        assert_eq!(parse_ident(b"SS"), Verdict::Incomplete);
        assert_eq!(parse_ident(b"G"), Verdict::Incomplete);
        assert!(matches!(
            parse_ident(b"SSH-2.0-a\x00b\r\n"),
            Verdict::Reject(INVALID, _)
        ));
        assert!(matches!(
            parse_ident(b"SSH-2.0-\r\n"),
            Verdict::Reject(INVALID, _)
        ));
        assert!(matches!(
            parse_ident(b"SSH-1337-OpenSSH_9.0\r\n"),
            Verdict::Reject(INVALID, _)
        ));
        assert!(matches!(
            parse_ident(b"SSH-1.5-OpenSSH_9.0\r\n"),
            Verdict::Reject(MAJOR_DIFFERS, _)
        ));
        assert!(matches!(
            parse_ident(b"GET / HTTP/1.0\r\n"),
            Verdict::Reject(INVALID, _)
        ));
        assert!(matches!(parse_ident(b"\r\n"), Verdict::Reject(INVALID, _)));
        assert_eq!(parse_ident(&[b'S'; 300]), Verdict::Incomplete);
        assert!(matches!(
            parse_ident(&[b'S'; MAX_IDENT]),
            Verdict::Reject(b"", _)
        ));
        let mut long = b"SSH-2.0-".to_vec();
        long.extend([b'a'; 300]);
        long.extend(b"\r\n");
        assert!(matches!(parse_ident(&long), Verdict::Ok(_)));
    }
}
