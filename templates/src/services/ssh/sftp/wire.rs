//! SFTP v3 wire format: message numbers, status codes, readers and writers.

use crate::shell::vfs::{FsError, Kind, Node};

pub(super) const INIT: u8 = 1;
pub(super) const VERSION: u8 = 2;
pub(super) const OPEN: u8 = 3;
pub(super) const CLOSE: u8 = 4;
pub(super) const READ: u8 = 5;
pub(super) const WRITE: u8 = 6;
pub(super) const LSTAT: u8 = 7;
pub(super) const FSTAT: u8 = 8;
pub(super) const SETSTAT: u8 = 9;
pub(super) const FSETSTAT: u8 = 10;
pub(super) const OPENDIR: u8 = 11;
pub(super) const READDIR: u8 = 12;
pub(super) const REMOVE: u8 = 13;
pub(super) const MKDIR: u8 = 14;
pub(super) const RMDIR: u8 = 15;
pub(super) const REALPATH: u8 = 16;
pub(super) const STAT: u8 = 17;
pub(super) const RENAME: u8 = 18;
pub(super) const READLINK: u8 = 19;
pub(super) const SYMLINK: u8 = 20;
pub(super) const EXTENDED: u8 = 200;
pub(super) const STATUS: u8 = 101;
pub(super) const HANDLE: u8 = 102;
pub(super) const DATA: u8 = 103;
pub(super) const NAME: u8 = 104;
pub(super) const ATTRS: u8 = 105;
pub(super) const EXTENDED_REPLY: u8 = 201;

pub(super) const OK: u32 = 0;
pub(super) const EOF: u32 = 1;
pub(super) const NO_SUCH_FILE: u32 = 2;
pub(super) const PERMISSION_DENIED: u32 = 3;
pub(super) const FAILURE: u32 = 4;
pub(super) const BAD_MESSAGE: u32 = 5;
pub(super) const OP_UNSUPPORTED: u32 = 8;

pub(super) fn status_text(code: u32) -> &'static str {
    match code {
        OK => "Success",
        EOF => "End of file",
        NO_SUCH_FILE => "No such file",
        PERMISSION_DENIED => "Permission denied",
        BAD_MESSAGE => "Bad message",
        OP_UNSUPPORTED => "Operation unsupported",
        _ => "Failure",
    }
}

pub(super) fn errno_status(e: FsError) -> u32 {
    match e {
        FsError::NotFound | FsError::NotDir => NO_SUCH_FILE,
        FsError::Denied | FsError::NotPermitted => PERMISSION_DENIED,
        _ => FAILURE,
    }
}

pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn u8(&mut self) -> Option<u8> {
        let (&v, rest) = self.b.split_first()?;
        self.b = rest;
        Some(v)
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        let v = self.b.get(..4)?;
        self.b = &self.b[4..];
        Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from(self.u32()?) << 32 | u64::from(self.u32()?))
    }
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let v = self.b.get(..n)?;
        self.b = &self.b[n..];
        Some(v)
    }
    pub(super) fn string(&mut self) -> Option<String> {
        self.bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
    /// Attributes: only the permissions matter to us.
    pub(super) fn attrs(&mut self) -> Option<Option<u32>> {
        let flags = self.u32()?;
        if flags & 1 != 0 {
            self.u64()?;
        }
        if flags & 2 != 0 {
            self.u32()?;
            self.u32()?;
        }
        let perm = if flags & 4 != 0 {
            Some(self.u32()?)
        } else {
            None
        };
        if flags & 8 != 0 {
            self.u32()?;
            self.u32()?;
        }
        if flags & 0x8000_0000 != 0 {
            let n = self.u32()?;
            for _ in 0..n.min(64) {
                self.bytes()?;
                self.bytes()?;
            }
        }
        Some(perm)
    }
}

#[derive(Default)]
pub(super) struct Writer {
    pub(super) b: Vec<u8>,
}

impl Writer {
    pub(super) fn u8(&mut self, v: u8) -> &mut Self {
        self.b.push(v);
        self
    }
    pub(super) fn u32(&mut self, v: u32) -> &mut Self {
        self.b.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(super) fn u64(&mut self, v: u64) -> &mut Self {
        self.b.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(super) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.b.extend_from_slice(v);
        self
    }
    pub(super) fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    pub(super) fn attrs(&mut self, n: &Node) -> &mut Self {
        let kind = match n.kind {
            Kind::Dir => 0o040000,
            Kind::Symlink(_) => 0o120000,
            Kind::CharDev => 0o020000,
            Kind::File => 0o100000,
        };
        let t = n.mtime.max(0) as u32;
        self.u32(1 | 2 | 4 | 8)
            .u64(n.size())
            .u32(n.uid)
            .u32(n.gid)
            .u32(kind | n.mode)
            .u32(t)
            .u32(t)
    }
    pub(super) fn packet(self) -> Vec<u8> {
        let mut out = (self.b.len() as u32).to_be_bytes().to_vec();
        out.extend(self.b);
        out
    }
}
