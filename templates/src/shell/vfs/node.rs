//! The objects of the virtual file system: nodes, errors, the base tree,
//! credentials and path helpers.

use std::collections::BTreeMap;
use std::sync::Arc;

/// File contents that are computed when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// `/proc/cpuinfo`.
    Cpuinfo,
    /// `/proc/meminfo`.
    Meminfo,
    /// `/proc/uptime`.
    Uptime,
    /// `/proc/loadavg`.
    Loadavg,
    /// `/proc/version`.
    Version,
    /// `/proc/mounts`.
    Mounts,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub enum Data {
    /// Literal bytes.
    Bytes(Arc<[u8]>),
    /// An executable of this size (its bytes are generated, starting with an ELF header).
    Elf(u64),
    /// Generated from the host when read.
    Live(Live),
    /// Nothing (directories, devices).
    None,
}

/// Node type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link to the target.
    Symlink(String),
    /// A character device (`/dev/null`, ...).
    CharDev,
}

/// One file-system object.
#[derive(Debug, Clone)]
pub struct Node {
    /// Type.
    pub kind: Kind,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time (unix seconds).
    pub mtime: i64,
    /// Contents.
    pub data: Data,
}

impl Node {
    /// A directory.
    pub fn dir(mode: u32, uid: u32, gid: u32, mtime: i64) -> Node {
        Node {
            kind: Kind::Dir,
            mode,
            uid,
            gid,
            mtime,
            data: Data::None,
        }
    }

    /// A regular file with `bytes`.
    pub fn file(bytes: impl Into<Vec<u8>>, mode: u32, uid: u32, gid: u32, mtime: i64) -> Node {
        Node {
            kind: Kind::File,
            mode,
            uid,
            gid,
            mtime,
            data: Data::Bytes(bytes.into().into()),
        }
    }

    /// Size as `ls -l` shows it.
    pub fn size(&self) -> u64 {
        match (&self.kind, &self.data) {
            (Kind::Dir, _) => 4096,
            (Kind::Symlink(t), _) => t.len() as u64,
            (_, Data::Bytes(b)) => b.len() as u64,
            (_, Data::Elf(n)) => *n,
            _ => 0,
        }
    }

    /// Is it a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
}

/// Why a file operation failed; `Display` is the C library's `strerror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// ENOENT.
    #[error("No such file or directory")]
    NotFound,
    /// ENOTDIR.
    #[error("Not a directory")]
    NotDir,
    /// EISDIR.
    #[error("Is a directory")]
    IsDir,
    /// EACCES.
    #[error("Permission denied")]
    Denied,
    /// EPERM.
    #[error("Operation not permitted")]
    NotPermitted,
    /// EEXIST.
    #[error("File exists")]
    Exists,
    /// ENOTEMPTY.
    #[error("Directory not empty")]
    NotEmpty,
    /// EIO.
    #[error("Input/output error")]
    Io,
    /// ELOOP.
    #[error("Too many levels of symbolic links")]
    Loop,
    /// ENAMETOOLONG.
    #[error("File name too long")]
    NameTooLong,
    /// ENOSPC (the session's overlay budget is spent).
    #[error("No space left on device")]
    NoSpace,
    /// EINVAL (moving a directory into itself, ...).
    #[error("Invalid argument")]
    Invalid,
}

/// The shared base tree of a host.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// Adds (or replaces) a node at an absolute, normalised path.
    pub fn insert(&mut self, path: &str, node: Node) {
        self.nodes.insert(path.to_owned(), node);
    }

    /// The node at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Entries directly under `dir`.
    pub(super) fn children(&self, dir: &str) -> Vec<(&str, &Node)> {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.len() > prefix.len() && !k[prefix.len()..].contains('/'))
            .map(|(k, n)| (&k[prefix.len()..], n))
            .collect()
    }
}

/// Access wanted by an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Execute or search.
    Exec,
}

/// Who is asking: uid and the gids it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cred {
    /// User id.
    pub uid: u32,
    /// Group ids (primary first).
    pub gids: Vec<u32>,
}

impl Cred {
    /// Whether `cred` may access `node` as `want`.
    pub fn may(&self, node: &Node, want: Access) -> bool {
        let bit = match want {
            Access::Read => 4,
            Access::Write => 2,
            Access::Exec => 1,
        };
        if self.uid == 0 {
            // Root reads and writes anything, executes when any x bit is set.
            return want != Access::Exec || node.is_dir() || node.mode & 0o111 != 0;
        }
        let shift = if node.uid == self.uid {
            6
        } else if self.gids.contains(&node.gid) {
            3
        } else {
            0
        };
        (node.mode >> shift) & bit != 0
    }
}

/// Joins `path` onto `cwd` and removes `.`, `..` and repeated slashes (no symlinks).
pub fn normalize(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{cwd}/{path}")
    };
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The parent directory and last component of a normalised path.
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}
