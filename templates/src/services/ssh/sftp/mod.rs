//! An SFTP version 3 server (what OpenSSH's `sftp-server` speaks, and what
//! `scp` uses by default since OpenSSH 9.0) over the session's virtual tree.
//! SANS-IO: packets in, replies and completed uploads out.

use std::collections::HashMap;

use super::upload::{Upload, XferOut, place, write_at};
use crate::session::Draft;
use crate::session::event_types::COMMAND;
use crate::shell::vfs::{Access, Cred, FsError, Kind, Node, Vfs, normalize};

mod wire;

use self::wire::*;

/// OpenSSH's `SFTP_MAX_MSG_LENGTH`.
pub const MAX_PACKET: usize = 256 * 1024;
/// Open handles per session.
const MAX_HANDLES: usize = 64;
/// Uploads being written at once (each buffers up to the cap).
const MAX_WRITERS: usize = 4;

enum Handle {
    Read {
        data: Vec<u8>,
        node: Node,
    },
    Write {
        path: String,
        data: Vec<u8>,
        received: u64,
        mode: u32,
    },
    Dir {
        entries: Vec<(String, Node)>,
        sent: bool,
    },
}

/// One SFTP session.
pub struct Sftp {
    home: String,
    cred: Cred,
    owner: (String, String),
    buf: Vec<u8>,
    handles: HashMap<u32, Handle>,
    next: u32,
    cap: usize,
    now: i64,
    closed: bool,
}

impl std::fmt::Debug for Sftp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sftp")
            .field("home", &self.home)
            .field("handles", &self.handles.len())
            .finish_non_exhaustive()
    }
}

/// An SFTP output: transfer output or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpOut {
    /// Bytes or an upload.
    Xfer(XferOut),
    /// An event (`command` for gets, puts, removals).
    Emit(Draft),
}

impl Sftp {
    /// A session rooted at `home` for `cred` (`owner`: user and group names for long listings).
    pub fn new(home: &str, cred: Cred, owner: (String, String), cap: usize, now: i64) -> Sftp {
        Sftp {
            home: home.to_owned(),
            cred,
            owner,
            buf: Vec::new(),
            handles: HashMap::new(),
            next: 0,
            cap,
            now,
            closed: false,
        }
    }

    /// Whether the client broke the protocol and the channel must close.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Bytes of an incomplete packet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Uploads still open when the channel ends (stored as received).
    pub fn abandoned(&mut self) -> Vec<Upload> {
        self.handles
            .drain()
            .filter_map(|(_, h)| match h {
                Handle::Write {
                    path,
                    data,
                    received,
                    ..
                } if received > 0 => Some(Upload {
                    path,
                    data,
                    received,
                }),
                _ => None,
            })
            .collect()
    }

    fn status(id: u32, code: u32) -> SftpOut {
        let mut w = Writer::default();
        w.u8(STATUS)
            .u32(id)
            .u32(code)
            .str(status_text(code))
            .str("");
        SftpOut::Xfer(XferOut::Reply(w.packet()))
    }

    fn reply(w: Writer) -> SftpOut {
        SftpOut::Xfer(XferOut::Reply(w.packet()))
    }

    fn path(&self, p: &str) -> String {
        normalize(&self.home, p)
    }

    fn cmd(&self, what: &str, path: &str) -> SftpOut {
        SftpOut::Emit(
            Draft::new(COMMAND)
                .field("cmd", format!("sftp {what} {path}"))
                .field("cwd", self.home.clone())
                .field("user", self.owner.0.clone())
                .field("uid", self.cred.uid.to_string()),
        )
    }

    fn longname(&self, name: &str, n: &Node) -> String {
        let user = if n.uid == self.cred.uid {
            self.owner.0.clone()
        } else if n.uid == 0 {
            "root".into()
        } else {
            n.uid.to_string()
        };
        let group = if n.gid == 0 {
            "root".to_owned()
        } else if self.cred.gids.first() == Some(&n.gid) {
            self.owner.1.clone()
        } else {
            n.gid.to_string()
        };
        format!(
            "{} {:>3} {user:<8} {group:<8} {:>8} {} {name}",
            crate::shell::commands::fs::mode_string(n),
            1,
            n.size(),
            crate::shell::commands::fs::ls_date(n.mtime)
        )
    }

    fn new_handle(&mut self, h: Handle) -> Option<Vec<u8>> {
        if self.handles.len() >= MAX_HANDLES {
            return None;
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.handles.insert(id, h);
        Some(id.to_be_bytes().to_vec())
    }

    fn handle_id(raw: &[u8]) -> Option<u32> {
        (raw.len() == 4).then(|| u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
    }

    /// Consumes client bytes.
    pub fn feed(&mut self, input: &[u8], vfs: &mut Vfs) -> Vec<SftpOut> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        self.buf.extend_from_slice(input);
        while let Some(len) = self
            .buf
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        {
            if len == 0 || len > MAX_PACKET {
                self.closed = true;
                self.buf.clear();
                break;
            }
            if self.buf.len() < 4 + len {
                break;
            }
            let pkt: Vec<u8> = self.buf.drain(..4 + len).skip(4).collect();
            self.packet(&pkt, vfs, &mut out);
        }
        out
    }

    fn packet(&mut self, pkt: &[u8], vfs: &mut Vfs, out: &mut Vec<SftpOut>) {
        let mut r = Reader { b: pkt };
        let Some(kind) = r.u8() else { return };
        if kind == INIT {
            let mut w = Writer::default();
            w.u8(VERSION).u32(3);
            for (name, data) in [
                ("posix-rename@openssh.com", "1"),
                ("statvfs@openssh.com", "2"),
                ("fstatvfs@openssh.com", "2"),
                ("hardlink@openssh.com", "1"),
                ("fsync@openssh.com", "1"),
                ("lsetstat@openssh.com", "1"),
                ("limits@openssh.com", "1"),
                ("expand-path@openssh.com", "1"),
                ("copy-data", "1"),
            ] {
                w.str(name).str(data);
            }
            out.push(Self::reply(w));
            return;
        }
        let Some(id) = r.u32() else {
            self.closed = true;
            return;
        };
        if self.handle_request(kind, id, &mut r, vfs, out).is_none() {
            out.push(Self::status(id, BAD_MESSAGE));
        }
    }

    fn stat_reply(&self, id: u32, vfs: &Vfs, path: &str, follow: bool) -> SftpOut {
        match vfs.stat("/", &self.path(path), follow) {
            Ok((_, n)) => {
                let mut w = Writer::default();
                w.u8(ATTRS).u32(id).attrs(n);
                Self::reply(w)
            }
            Err(e) => Self::status(id, errno_status(e)),
        }
    }

    fn handle_request(
        &mut self,
        kind: u8,
        id: u32,
        r: &mut Reader<'_>,
        vfs: &mut Vfs,
        out: &mut Vec<SftpOut>,
    ) -> Option<()> {
        match kind {
            REALPATH => {
                let p = r.string()?;
                let abs = self.path(if p.is_empty() { "." } else { &p });
                let mut w = Writer::default();
                w.u8(NAME).u32(id).u32(1).str(&abs).str(&abs).u32(0);
                out.push(Self::reply(w));
            }
            STAT | LSTAT => {
                let p = r.string()?;
                out.push(self.stat_reply(id, vfs, &p, kind == STAT));
            }
            FSTAT => {
                let h = Self::handle_id(r.bytes()?)?;
                let reply = match self.handles.get(&h) {
                    Some(Handle::Write { path, .. }) => {
                        self.stat_reply(id, vfs, &path.clone(), true)
                    }
                    Some(Handle::Read { node, .. }) => {
                        let mut w = Writer::default();
                        w.u8(ATTRS).u32(id).attrs(node);
                        Self::reply(w)
                    }
                    _ => Self::status(id, FAILURE),
                };
                out.push(reply);
            }
            OPEN => {
                let p = r.string()?;
                let flags = r.u32()?;
                let perm = r.attrs().flatten();
                let path = self.path(&p);
                if flags & 2 != 0 {
                    let writers = self
                        .handles
                        .values()
                        .filter(|h| matches!(h, Handle::Write { .. }))
                        .count();
                    let parent = vfs
                        .stat("/", crate::shell::vfs::split(&path).0, true)
                        .map(|(_, n)| n.clone());
                    let existing = vfs.get(&path).cloned();
                    let code = match (&parent, &existing) {
                        (Err(e), _) => Some(errno_status(*e)),
                        (Ok(p), _) if !p.is_dir() => Some(NO_SUCH_FILE),
                        (_, Some(n)) if n.is_dir() => Some(FAILURE),
                        (_, Some(n)) if !self.cred.may(n, Access::Write) => Some(PERMISSION_DENIED),
                        (Ok(p), None) if !self.cred.may(p, Access::Write) => {
                            Some(PERMISSION_DENIED)
                        }
                        _ if path.starts_with("/proc") || path.starts_with("/sys") => {
                            Some(PERMISSION_DENIED)
                        }
                        _ if writers >= MAX_WRITERS => Some(FAILURE),
                        _ => None,
                    };
                    if let Some(c) = code {
                        out.push(Self::status(id, c));
                        return Some(());
                    }
                    let mode = perm.unwrap_or(0o644) & 0o777 & !0o022;
                    out.push(self.cmd("put", &path));
                    let h = self.new_handle(Handle::Write {
                        path,
                        data: Vec::new(),
                        received: 0,
                        mode,
                    });
                    out.push(match h {
                        Some(h) => {
                            let mut w = Writer::default();
                            w.u8(HANDLE).u32(id).bytes(&h);
                            Self::reply(w)
                        }
                        None => Self::status(id, FAILURE),
                    });
                } else {
                    let reply = match vfs.stat("/", &path, true).map(|(_, n)| n.clone()) {
                        Ok(n) if n.is_dir() => Self::status(id, FAILURE),
                        Ok(n) if !self.cred.may(&n, Access::Read) => {
                            Self::status(id, PERMISSION_DENIED)
                        }
                        Ok(n) => {
                            out.push(self.cmd("get", &path));
                            let data = vfs.read_static(&n);
                            match self.new_handle(Handle::Read {
                                data,
                                node: n.clone(),
                            }) {
                                Some(h) => {
                                    let mut w = Writer::default();
                                    w.u8(HANDLE).u32(id).bytes(&h);
                                    Self::reply(w)
                                }
                                None => Self::status(id, FAILURE),
                            }
                        }
                        Err(e) => Self::status(id, errno_status(e)),
                    };
                    out.push(reply);
                }
            }
            WRITE => {
                let h = Self::handle_id(r.bytes()?)?;
                let off = r.u64()?;
                let data = r.bytes()?;
                let cap = self.cap;
                let code = match self.handles.get_mut(&h) {
                    Some(Handle::Write {
                        data: buf,
                        received,
                        ..
                    }) => {
                        write_at(buf, off, data, cap);
                        *received += data.len() as u64;
                        OK
                    }
                    _ => FAILURE,
                };
                out.push(Self::status(id, code));
            }
            READ => {
                let h = Self::handle_id(r.bytes()?)?;
                let off = r.u64()?;
                let len = (r.u32()? as usize).min(MAX_PACKET - 1024);
                let reply = match self.handles.get(&h) {
                    Some(Handle::Read { data, .. }) => {
                        let start = usize::try_from(off).unwrap_or(usize::MAX);
                        if start >= data.len() {
                            Self::status(id, EOF)
                        } else {
                            let end = data.len().min(start + len);
                            let mut w = Writer::default();
                            w.u8(DATA).u32(id).bytes(&data[start..end]);
                            Self::reply(w)
                        }
                    }
                    _ => Self::status(id, FAILURE),
                };
                out.push(reply);
            }
            CLOSE => {
                let h = Self::handle_id(r.bytes()?)?;
                match self.handles.remove(&h) {
                    Some(Handle::Write {
                        path,
                        data,
                        received,
                        mode,
                    }) => {
                        place(vfs, &self.cred, &path, &data, mode, self.now);
                        out.push(SftpOut::Xfer(XferOut::Upload(Upload {
                            path,
                            data,
                            received,
                        })));
                        out.push(Self::status(id, OK));
                    }
                    Some(_) => out.push(Self::status(id, OK)),
                    None => out.push(Self::status(id, FAILURE)),
                }
            }
            OPENDIR => {
                let p = r.string()?;
                let path = self.path(&p);
                let reply = match vfs.stat("/", &path, true).map(|(c, n)| (c, n.clone())) {
                    Ok((_, n)) if !n.is_dir() => Self::status(id, FAILURE),
                    Ok((_, n)) if !self.cred.may(&n, Access::Read) => {
                        Self::status(id, PERMISSION_DENIED)
                    }
                    Ok((canon, n)) => {
                        let mut entries: Vec<(String, Node)> = vec![(".".into(), n.clone())];
                        if let Some(up) = vfs.get(crate::shell::vfs::split(&canon).0) {
                            entries.push(("..".into(), up.clone()));
                        }
                        entries.extend(vfs.list(&canon).into_iter().map(|(k, v)| (k, v.clone())));
                        match self.new_handle(Handle::Dir {
                            entries,
                            sent: false,
                        }) {
                            Some(h) => {
                                let mut w = Writer::default();
                                w.u8(HANDLE).u32(id).bytes(&h);
                                Self::reply(w)
                            }
                            None => Self::status(id, FAILURE),
                        }
                    }
                    Err(e) => Self::status(id, errno_status(e)),
                };
                out.push(reply);
            }
            READDIR => {
                let h = Self::handle_id(r.bytes()?)?;
                let entries = match self.handles.get_mut(&h) {
                    Some(Handle::Dir { entries, sent }) if !*sent => {
                        *sent = true;
                        Some(entries.clone())
                    }
                    Some(Handle::Dir { .. }) => None,
                    _ => {
                        out.push(Self::status(id, FAILURE));
                        return Some(());
                    }
                };
                match entries {
                    Some(entries) => {
                        let mut w = Writer::default();
                        w.u8(NAME).u32(id).u32(entries.len() as u32);
                        for (name, n) in &entries {
                            let long = self.longname(name, n);
                            w.str(name).str(&long).attrs(n);
                        }
                        out.push(Self::reply(w));
                    }
                    None => out.push(Self::status(id, EOF)),
                }
            }
            REMOVE | RMDIR => {
                let p = self.path(&r.string()?);
                out.push(self.cmd(if kind == REMOVE { "rm" } else { "rmdir" }, &p));
                let res = match vfs.stat("/", &p, false) {
                    Ok((_, n)) if (kind == REMOVE) == n.is_dir() => Err(FsError::Io),
                    Ok(_) => vfs.remove("/", &p, false, kind == RMDIR, &self.cred),
                    Err(e) => Err(e),
                };
                out.push(Self::status(id, res.map_or_else(errno_status, |()| OK)));
            }
            MKDIR => {
                let p = self.path(&r.string()?);
                out.push(self.cmd("mkdir", &p));
                let res = vfs.mkdir("/", &p, &self.cred, self.now);
                out.push(Self::status(id, res.map_or_else(errno_status, |_| OK)));
            }
            RENAME => {
                let from = self.path(&r.string()?);
                let to = self.path(&r.string()?);
                out.push(self.cmd("rename", &format!("{from} {to}")));
                let res = vfs.rename("/", &from, &to, &self.cred);
                out.push(Self::status(id, res.map_or_else(errno_status, |()| OK)));
            }
            SETSTAT | FSETSTAT => {
                let target = if kind == SETSTAT {
                    Some(self.path(&r.string()?))
                } else {
                    let h = Self::handle_id(r.bytes()?)?;
                    match self.handles.get(&h) {
                        Some(Handle::Write { path, .. }) => Some(path.clone()),
                        _ => None,
                    }
                };
                let perm = r.attrs()?;
                if let (Some(p), Some(m)) = (target, perm)
                    && vfs.get(&p).is_some()
                {
                    let _ = vfs.chmod("/", &p, |_, _| m & 0o7777, &self.cred);
                }
                out.push(Self::status(id, OK));
            }
            READLINK => {
                let p = self.path(&r.string()?);
                let reply = match vfs.get(&p) {
                    Some(Node {
                        kind: Kind::Symlink(t),
                        ..
                    }) => {
                        let mut w = Writer::default();
                        w.u8(NAME).u32(id).u32(1).str(t).str(t).u32(0);
                        Self::reply(w)
                    }
                    Some(_) => Self::status(id, FAILURE),
                    None => Self::status(id, NO_SUCH_FILE),
                };
                out.push(reply);
            }
            SYMLINK => {
                r.string()?;
                r.string()?;
                out.push(Self::status(id, PERMISSION_DENIED));
            }
            EXTENDED => {
                let name = r.string()?;
                match name.as_str() {
                    "limits@openssh.com" => {
                        let mut w = Writer::default();
                        w.u8(EXTENDED_REPLY)
                            .u32(id)
                            .u64(MAX_PACKET as u64)
                            .u64((MAX_PACKET - 1024) as u64)
                            .u64((MAX_PACKET - 1024) as u64)
                            .u64(1019);
                        out.push(Self::reply(w));
                    }
                    "expand-path@openssh.com" => {
                        let p = r.string()?;
                        let p = if p == "~" || p.is_empty() {
                            self.home.clone()
                        } else if let Some(rest) = p.strip_prefix("~/") {
                            normalize(&self.home, rest)
                        } else {
                            self.path(&p)
                        };
                        let mut w = Writer::default();
                        w.u8(NAME).u32(id).u32(1).str(&p).str(&p).u32(0);
                        out.push(Self::reply(w));
                    }
                    "statvfs@openssh.com" | "fstatvfs@openssh.com" => {
                        let mut w = Writer::default();
                        w.u8(EXTENDED_REPLY).u32(id);
                        for v in [
                            4096u64,
                            4096,
                            10_255_082,
                            7_860_041,
                            7_335_710,
                            2_621_440,
                            2_493_861,
                            2_493_861,
                            0x2d1c_5e43_1b9a_6f07,
                            0,
                            255,
                        ] {
                            w.u64(v);
                        }
                        out.push(Self::reply(w));
                    }
                    "posix-rename@openssh.com" => {
                        let from = self.path(&r.string()?);
                        let to = self.path(&r.string()?);
                        let res = vfs.rename("/", &from, &to, &self.cred);
                        out.push(Self::status(id, res.map_or_else(errno_status, |()| OK)));
                    }
                    "fsync@openssh.com" => out.push(Self::status(id, OK)),
                    _ => out.push(Self::status(id, OP_UNSUPPORTED)),
                }
            }
            _ => out.push(Self::status(id, OP_UNSUPPORTED)),
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
