//! The legacy scp protocol (`scp -O`, and clients older than OpenSSH 9.0):
//! the remote side runs `scp -t TARGET` (upload) or `scp -f PATH`
//! (download). SANS-IO over the session's virtual tree.

use super::upload::{Upload, XferOut, place, write_at};
use crate::shell::vfs::{Cred, Vfs, normalize};

/// Longest control line accepted.
const MAX_LINE: usize = 4096;

/// What `scp` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpMode {
    /// `-t`: receive into this target.
    Sink(String),
    /// `-f`: send these paths.
    Source(Vec<String>),
}

/// Parses an exec command that runs scp in server mode.
pub fn parse_command(cmd: &str) -> Option<ScpMode> {
    let mut words = cmd.split_whitespace();
    if words.next()?.rsplit('/').next()? != "scp" {
        return None;
    }
    let (mut sink, mut source) = (false, false);
    let mut paths = Vec::new();
    let mut opts_done = false;
    for w in words {
        if !opts_done && w == "--" {
            opts_done = true;
        } else if !opts_done && w.starts_with('-') && w.len() > 1 {
            sink |= w.contains('t');
            source |= w.contains('f');
        } else {
            paths.push(w.trim_matches(['\'', '"']).to_owned());
        }
    }
    match (sink, source) {
        (true, false) => Some(ScpMode::Sink(
            paths.first().cloned().unwrap_or_else(|| ".".into()),
        )),
        (false, true) if !paths.is_empty() => Some(ScpMode::Source(paths)),
        _ => None,
    }
}

#[derive(Debug)]
enum State {
    Control,
    Data {
        path: String,
        mode: u32,
        remaining: u64,
        data: Vec<u8>,
        received: u64,
    },
    Status {
        upload: Upload,
        mode: u32,
    },
    SourceWait {
        next: usize,
    },
    Done,
}

/// One scp server-side session.
#[derive(Debug)]
pub struct Scp {
    mode: ScpMode,
    cwd: String,
    cred: Cred,
    dirs: Vec<String>,
    buf: Vec<u8>,
    state: State,
    cap: usize,
    now: i64,
}

fn err(msg: String) -> XferOut {
    XferOut::Reply(format!("\x01scp: {msg}\n").into_bytes())
}

impl Scp {
    /// A session in `cwd` for `cred`, keeping at most `cap` bytes per file.
    pub fn new(mode: ScpMode, cwd: &str, cred: Cred, cap: usize, now: i64) -> Scp {
        Scp {
            mode,
            cwd: cwd.to_owned(),
            cred,
            dirs: Vec::new(),
            buf: Vec::new(),
            state: State::Control,
            cap,
            now,
        }
    }

    /// Whether the transfer is over (the channel can close).
    pub fn done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// What the server says first.
    pub fn start(&mut self) -> Vec<XferOut> {
        match self.mode {
            ScpMode::Sink(_) => vec![XferOut::Reply(vec![0])],
            ScpMode::Source(_) => {
                self.state = State::SourceWait { next: 0 };
                Vec::new()
            }
        }
    }

    fn base(&self, vfs: &Vfs, name: &str) -> Result<String, String> {
        if let Some(d) = self.dirs.last() {
            return Ok(normalize(d, name));
        }
        let ScpMode::Sink(target) = &self.mode else {
            return Err("protocol error".into());
        };
        match vfs.stat(&self.cwd, target, true) {
            Ok((p, n)) if n.is_dir() => Ok(normalize(&p, name)),
            Ok((p, _)) => Ok(p),
            Err(_) => Ok(normalize(&self.cwd, target)),
        }
    }

    /// Consumes client bytes.
    pub fn feed(&mut self, input: &[u8], vfs: &mut Vfs) -> Vec<XferOut> {
        self.buf.extend_from_slice(input);
        let mut out = Vec::new();
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return out,
                State::SourceWait { next } => {
                    if self.buf.is_empty() {
                        self.state = State::SourceWait { next };
                        return out;
                    }
                    self.buf.remove(0);
                    let ScpMode::Source(paths) = &self.mode else {
                        return out;
                    };
                    let Some(p) = paths.get(next).cloned() else {
                        return out;
                    };
                    let result = vfs.stat(&self.cwd, &p, true).map(|(c, n)| (c, n.clone()));
                    match result {
                        Ok((_, n)) if n.is_dir() => {
                            out.push(err(format!("{p}: not a regular file")))
                        }
                        Ok((_, n)) if !self.cred.may(&n, crate::shell::vfs::Access::Read) => {
                            out.push(err(format!("{p}: Permission denied")))
                        }
                        Ok((_, n)) => {
                            let body = vfs.read_static(&n);
                            let name = p.rsplit('/').next().unwrap_or("file");
                            out.push(XferOut::Reply(
                                format!("C{:04o} {} {name}\n", n.mode & 0o7777, body.len())
                                    .into_bytes(),
                            ));
                            let mut data = body;
                            data.push(0);
                            out.push(XferOut::Reply(data));
                        }
                        Err(e) => out.push(err(format!("{p}: {e}"))),
                    }
                    self.state = State::SourceWait { next: next + 1 };
                }
                State::Control => {
                    let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                        if self.buf.len() > MAX_LINE {
                            out.push(err("protocol error: line too long".into()));
                            return out;
                        }
                        self.state = State::Control;
                        return out;
                    };
                    let line: Vec<u8> = self.buf.drain(..=nl).collect();
                    let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    let kind = text.chars().next().unwrap_or(' ');
                    self.state = State::Control;
                    match kind {
                        'C' | 'D' => {
                            let mut it = text[1..].splitn(3, ' ');
                            let (mode, size, name) = (
                                it.next().unwrap_or(""),
                                it.next().unwrap_or(""),
                                it.next().unwrap_or(""),
                            );
                            let (Ok(mode), Ok(size)) =
                                (u32::from_str_radix(mode, 8), size.parse::<u64>())
                            else {
                                out.push(err("protocol error: bad mode".into()));
                                self.state = State::Done;
                                return out;
                            };
                            if name.is_empty() || name.contains('/') || name == ".." || name == "."
                            {
                                out.push(err(format!("error: unexpected filename: {name}")));
                                self.state = State::Done;
                                return out;
                            }
                            let path = match self.base(vfs, name) {
                                Ok(p) => p,
                                Err(e) => {
                                    out.push(err(e));
                                    self.state = State::Done;
                                    return out;
                                }
                            };
                            if kind == 'D' {
                                match vfs.mkdir("/", &path, &self.cred, self.now) {
                                    Ok(_) | Err(crate::shell::vfs::FsError::Exists) => {
                                        self.dirs.push(path);
                                        out.push(XferOut::Reply(vec![0]));
                                    }
                                    Err(e) => {
                                        out.push(err(format!("{path}: {e}")));
                                        self.state = State::Done;
                                        return out;
                                    }
                                }
                            } else {
                                let parent_ok = vfs
                                    .stat("/", crate::shell::vfs::split(&path).0, true)
                                    .is_ok_and(|(_, n)| n.is_dir());
                                if !parent_ok {
                                    out.push(err(format!("{path}: No such file or directory")));
                                    self.state = State::Done;
                                    return out;
                                }
                                out.push(XferOut::Reply(vec![0]));
                                self.state = State::Data {
                                    path,
                                    mode,
                                    remaining: size,
                                    data: Vec::new(),
                                    received: 0,
                                };
                            }
                        }
                        'E' => {
                            self.dirs.pop();
                            out.push(XferOut::Reply(vec![0]));
                        }
                        'T' => out.push(XferOut::Reply(vec![0])),
                        '\x01' | '\x02' => {}
                        _ => {
                            out.push(err("protocol error: expected control record".into()));
                            self.state = State::Done;
                            return out;
                        }
                    }
                }
                State::Data {
                    path,
                    mode,
                    remaining,
                    mut data,
                    received,
                } => {
                    let take = (remaining.min(self.buf.len() as u64)) as usize;
                    let chunk: Vec<u8> = self.buf.drain(..take).collect();
                    write_at(&mut data, received, &chunk, self.cap);
                    let received = received + take as u64;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Data {
                            path,
                            mode,
                            remaining,
                            data,
                            received,
                        };
                        return out;
                    }
                    self.state = State::Status {
                        upload: Upload {
                            path,
                            data,
                            received,
                        },
                        mode,
                    };
                }
                State::Status { upload, mode } => {
                    if self.buf.is_empty() {
                        self.state = State::Status { upload, mode };
                        return out;
                    }
                    self.buf.remove(0);
                    place(vfs, &self.cred, &upload.path, &upload.data, mode, self.now);
                    out.push(XferOut::Upload(upload));
                    out.push(XferOut::Reply(vec![0]));
                    self.state = State::Control;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::shell::vfs::{Node, Tree};

    fn vfs() -> Vfs {
        let mut t = Tree::default();
        t.insert("/", Node::dir(0o755, 0, 0, 0));
        t.insert("/tmp", Node::dir(0o1777, 0, 0, 0));
        t.insert("/root", Node::dir(0o700, 0, 0, 0));
        Vfs::new(Arc::new(t))
    }

    #[test]
    fn sink_receives_a_file_byte_by_byte() {
        assert_eq!(
            parse_command("scp -t /tmp/"),
            Some(ScpMode::Sink("/tmp/".into()))
        );
        assert_eq!(
            parse_command("scp -v -r -t -- /tmp"),
            Some(ScpMode::Sink("/tmp".into()))
        );
        assert_eq!(
            parse_command("scp -f /etc/passwd"),
            Some(ScpMode::Source(vec!["/etc/passwd".into()]))
        );
        assert_eq!(parse_command("ls -t"), None);
        let mut v = vfs();
        let mut s = Scp::new(
            ScpMode::Sink("/tmp/".into()),
            "/root",
            Cred {
                uid: 0,
                gids: vec![0],
            },
            4,
            0,
        );
        assert_eq!(s.start(), vec![XferOut::Reply(vec![0])]);
        let mut out = Vec::new();
        for b in b"C0755 6 x.sh\nabcdef\0" {
            out.extend(s.feed(&[*b], &mut v));
        }
        assert_eq!(out[0], XferOut::Reply(vec![0]));
        assert_eq!(
            out[1],
            XferOut::Upload(Upload {
                path: "/tmp/x.sh".into(),
                data: b"abcd".to_vec(),
                received: 6
            })
        );
        assert_eq!(out[2], XferOut::Reply(vec![0]));
        assert_eq!(v.get("/tmp/x.sh").unwrap().mode, 0o755);
        let bad = s.feed(b"C0644 1 ../x\n", &mut v);
        assert!(
            matches!(&bad[0], XferOut::Reply(b) if b.starts_with(b"\x01scp: error: unexpected filename"))
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut v = vfs();
        let mut s = Scp::new(
            ScpMode::Sink("/nope/x".into()),
            "/root",
            Cred {
                uid: 0,
                gids: vec![0],
            },
            10,
            0,
        );
        let _ = s.start();
        let _ = s.feed(
            b"C0644 99999999999999999999 a\n\x00\xff\nD7777 0 b\nE\nZ\n",
            &mut v,
        );
        let _ = s.feed(&[b'C'; 9000], &mut v);
    }
}
