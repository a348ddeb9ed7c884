//! What the file-transfer state machines (scp, SFTP) hand to the channel
//! task: bytes for the client and completed uploads to store as artifacts.

use crate::shell::vfs::{Cred, Data, Kind, Node, Vfs};

/// Bytes of an upload kept in the session's file tree (the artifact keeps up
/// to the service's cap; the tree only needs enough for `cat`, `file` and
/// executing the upload).
pub const TREE_COPY_MAX: usize = 1024 * 1024;

/// A file the client finished sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Absolute path in the virtual tree.
    pub path: String,
    /// Content kept (at most the cap).
    pub data: Vec<u8>,
    /// Bytes the client sent, including any beyond the cap.
    pub received: u64,
}

/// Output of a transfer state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XferOut {
    /// Bytes for the client.
    Reply(Vec<u8>),
    /// A completed upload.
    Upload(Upload),
}

/// Puts a completed upload into the tree with `mode`.
pub fn place(vfs: &mut Vfs, cred: &Cred, path: &str, data: &[u8], mode: u32, now: i64) -> bool {
    let keep = &data[..data.len().min(TREE_COPY_MAX)];
    let node = Node {
        kind: Kind::File,
        mode: mode & 0o7777,
        uid: cred.uid,
        gid: cred.gids.first().copied().unwrap_or(0),
        mtime: now,
        data: Data::Bytes(keep.to_vec().into()),
    };
    vfs.put(path, node).is_ok()
}

/// Appends `bytes` at `offset` of `buf`, keeping at most `cap` bytes.
pub fn write_at(buf: &mut Vec<u8>, offset: u64, bytes: &[u8], cap: usize) {
    let Ok(off) = usize::try_from(offset) else {
        return;
    };
    if off >= cap {
        return;
    }
    let end = off.saturating_add(bytes.len()).min(cap);
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[off..end].copy_from_slice(&bytes[..end - off]);
}
