//! The virtual file system: a shared read-only base tree per decky plus a
//! per-session overlay that receives every write, delete and chmod.
//!
//! Semantics follow Linux where attackers probe them: `ENOENT`/`ENOTDIR`/
//! `EISDIR` on the right paths, permission bits checked for non-root users,
//! and `/proc`/`/sys` refusing creation (`ENOENT`), removal (`EPERM`) and
//! writes (`EIO`) the way procfs and sysfs do.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest path accepted (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed before `ELOOP`.
const MAX_LINKS: usize = 40;
/// Bytes a session may add to its overlay in total.
pub const OVERLAY_MAX_BYTES: usize = 64 * 1024 * 1024;

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
    fn children(&self, dir: &str) -> Vec<(&str, &Node)> {
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

fn is_pseudo(path: &str) -> bool {
    path == "/proc" || path.starts_with("/proc/") || path == "/sys" || path.starts_with("/sys/")
}

/// A session's view: the base tree plus its own changes.
#[derive(Debug, Clone)]
pub struct Vfs {
    base: Arc<Tree>,
    overlay: BTreeMap<String, Option<Node>>,
    overlay_bytes: usize,
}

impl Vfs {
    /// A fresh view of `base`.
    pub fn new(base: Arc<Tree>) -> Vfs {
        Vfs {
            base,
            overlay: BTreeMap::new(),
            overlay_bytes: 0,
        }
    }

    /// The node at a canonical path, without following a final symlink.
    pub fn get(&self, path: &str) -> Option<&Node> {
        match self.overlay.get(path) {
            Some(n) => n.as_ref(),
            None => self.base.get(path),
        }
    }

    /// Resolves `path` against `cwd`, following symlinks (the last one only
    /// when `follow`). Returns the canonical path, which may not exist yet
    /// when only its last component is missing (`Ok` with `None` node).
    pub fn resolve(&self, cwd: &str, path: &str, follow: bool) -> Result<String, FsError> {
        if path.len() >= PATH_MAX {
            return Err(FsError::NameTooLong);
        }
        let mut pending: Vec<String> = normalize(cwd, path)
            .split('/')
            .filter(|s| !s.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut cur = String::from("/");
        let mut links = 0;
        while let Some(comp) = pending.pop() {
            if comp == ".." {
                cur = split(&cur).0.to_owned();
                continue;
            }
            if comp == "." {
                continue;
            }
            match self.get(&cur) {
                Some(n) if n.is_dir() => {}
                Some(_) => return Err(FsError::NotDir),
                None => return Err(FsError::NotFound),
            }
            let next = if cur == "/" {
                format!("/{comp}")
            } else {
                format!("{cur}/{comp}")
            };
            let last = pending.is_empty();
            match self.get(&next) {
                Some(Node {
                    kind: Kind::Symlink(target),
                    ..
                }) if !last || follow => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(FsError::Loop);
                    }
                    if target.starts_with('/') {
                        cur = "/".to_owned();
                    }
                    for c in target.split('/').filter(|s| !s.is_empty()).rev() {
                        pending.push(c.to_owned());
                    }
                }
                Some(_) => cur = next,
                None if last => return Ok(next),
                None => return Err(FsError::NotFound),
            }
        }
        Ok(cur)
    }

    /// Resolves and requires the node to exist.
    pub fn stat(&self, cwd: &str, path: &str, follow: bool) -> Result<(String, &Node), FsError> {
        let p = self.resolve(cwd, path, follow)?;
        match self.get(&p) {
            Some(n) => Ok((p, n)),
            None => Err(FsError::NotFound),
        }
    }

    /// Entries of the directory at canonical `dir`, sorted by name.
    pub fn list(&self, dir: &str) -> Vec<(String, &Node)> {
        let mut out: BTreeMap<String, &Node> = self
            .base
            .children(dir)
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        for (k, v) in self.overlay.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            let name = &k[prefix.len()..];
            if name.is_empty() || name.contains('/') {
                continue;
            }
            match v {
                Some(n) => {
                    out.insert(name.to_owned(), n);
                }
                None => {
                    out.remove(name);
                }
            }
        }
        out.into_iter().collect()
    }

    fn charge(&mut self, bytes: usize) -> Result<(), FsError> {
        if self.overlay_bytes + bytes > OVERLAY_MAX_BYTES {
            return Err(FsError::NoSpace);
        }
        self.overlay_bytes += bytes;
        Ok(())
    }

    fn parent_writable(&self, path: &str, cred: &Cred) -> Result<(), FsError> {
        let (parent, _) = split(path);
        match self.get(parent) {
            Some(p) if !p.is_dir() => Err(FsError::NotDir),
            Some(p) if !cred.may(p, Access::Write) || !cred.may(p, Access::Exec) => {
                Err(FsError::Denied)
            }
            Some(_) => Ok(()),
            None => Err(FsError::NotFound),
        }
    }

    /// Writes (or appends to) the file at `path`, creating it as `cred`.
    pub fn write(
        &mut self,
        cwd: &str,
        path: &str,
        data: &[u8],
        append: bool,
        cred: &Cred,
        now: i64,
    ) -> Result<String, FsError> {
        let p = self.resolve(cwd, path, true)?;
        if is_pseudo(&p) {
            return match self.get(&p) {
                Some(n) if n.is_dir() => Err(FsError::IsDir),
                Some(_) => Err(FsError::Io),
                None => Err(FsError::NotFound),
            };
        }
        let node = match self.get(&p) {
            Some(n) if n.is_dir() => return Err(FsError::IsDir),
            Some(n) if n.kind == Kind::CharDev => return Ok(p),
            Some(n) => {
                if !cred.may(n, Access::Write) {
                    return Err(FsError::Denied);
                }
                let mut n = n.clone();
                let mut bytes = if append {
                    self.read_static(&n)
                } else {
                    Vec::new()
                };
                bytes.extend_from_slice(data);
                n.data = Data::Bytes(bytes.into());
                n.mtime = now;
                n
            }
            None => {
                self.parent_writable(&p, cred)?;
                Node::file(data.to_vec(), 0o644, cred.uid, cred.gids.first().copied().unwrap_or(0), now)
            }
        };
        self.charge(data.len())?;
        self.overlay.insert(p.clone(), Some(node));
        Ok(p)
    }

    /// Puts a node at a canonical path (uploads), replacing what was there.
    pub fn put(&mut self, path: &str, node: Node) -> Result<(), FsError> {
        if is_pseudo(path) {
            return Err(FsError::NotFound);
        }
        self.charge(node.size() as usize)?;
        self.overlay.insert(path.to_owned(), Some(node));
        Ok(())
    }

    /// Creates a directory.
    pub fn mkdir(&mut self, cwd: &str, path: &str, cred: &Cred, now: i64) -> Result<String, FsError> {
        let p = self.resolve(cwd, path, false)?;
        if self.get(&p).is_some() {
            return Err(FsError::Exists);
        }
        if is_pseudo(&p) {
            return Err(FsError::NotFound);
        }
        self.parent_writable(&p, cred)?;
        self.charge(64)?;
        let gid = cred.gids.first().copied().unwrap_or(0);
        self.overlay
            .insert(p.clone(), Some(Node::dir(0o755, cred.uid, gid, now)));
        Ok(p)
    }

    /// Removes the object at `path` (a directory only when `dir_ok`, recursively when `recursive`).
    pub fn remove(&mut self, cwd: &str, path: &str, recursive: bool, dir_ok: bool, cred: &Cred) -> Result<(), FsError> {
        let p = self.resolve(cwd, path, false)?;
        let node = self.get(&p).ok_or(FsError::NotFound)?;
        if is_pseudo(&p) || p == "/" {
            return Err(FsError::NotPermitted);
        }
        if node.is_dir() {
            if !dir_ok {
                return Err(FsError::IsDir);
            }
            let children: Vec<String> = self.list(&p).into_iter().map(|(n, _)| n).collect();
            if !children.is_empty() && !recursive {
                return Err(FsError::NotEmpty);
            }
            for c in children {
                self.remove(&p, &c, true, true, cred)?;
            }
        }
        self.parent_writable(&p, cred)?;
        self.overlay.insert(p, None);
        Ok(())
    }

    /// Changes permission bits.
    pub fn chmod(&mut self, cwd: &str, path: &str, mode: impl Fn(u32, bool) -> u32, cred: &Cred) -> Result<(), FsError> {
        let p = self.resolve(cwd, path, true)?;
        let node = self.get(&p).ok_or(FsError::NotFound)?;
        if is_pseudo(&p) || (cred.uid != 0 && node.uid != cred.uid) {
            return Err(FsError::NotPermitted);
        }
        let mut n = node.clone();
        n.mode = mode(n.mode, n.is_dir()) & 0o7777;
        self.overlay.insert(p, Some(n));
        Ok(())
    }

    /// Updates a file's time, creating it empty when missing (`touch`).
    pub fn touch(&mut self, cwd: &str, path: &str, cred: &Cred, now: i64) -> Result<(), FsError> {
        let p = self.resolve(cwd, path, true)?;
        match self.get(&p) {
            Some(n) => {
                if is_pseudo(&p) {
                    return Ok(());
                }
                let mut n = n.clone();
                n.mtime = now;
                self.overlay.insert(p, Some(n));
                Ok(())
            }
            None if is_pseudo(&p) => Err(FsError::NotFound),
            None => self.write(cwd, &p, b"", false, cred, now).map(|_| ()),
        }
    }

    /// Moves `from` to `to` (both canonical-able paths).
    pub fn rename(&mut self, cwd: &str, from: &str, to: &str, cred: &Cred) -> Result<(), FsError> {
        let src = self.resolve(cwd, from, false)?;
        let node = self.get(&src).cloned().ok_or(FsError::NotFound)?;
        if is_pseudo(&src) {
            return Err(FsError::NotPermitted);
        }
        let mut dst = self.resolve(cwd, to, true)?;
        if self.get(&dst).is_some_and(Node::is_dir) {
            dst = normalize(&dst, split(&src).1);
        }
        if dst.starts_with(&format!("{src}/")) {
            return Err(FsError::Invalid);
        }
        if is_pseudo(&dst) {
            return Err(FsError::NotFound);
        }
        self.parent_writable(&src, cred)?;
        self.parent_writable(&dst, cred)?;
        if node.is_dir() {
            let children: Vec<String> = self.list(&src).into_iter().map(|(n, _)| n).collect();
            self.overlay.insert(dst.clone(), Some(node));
            for c in children {
                self.rename("/", &format!("{src}/{c}"), &format!("{dst}/{c}"), cred)?;
            }
        } else {
            self.overlay.insert(dst, Some(node));
        }
        self.overlay.insert(src, None);
        Ok(())
    }

    /// The bytes of a node that holds literal or generated-binary content.
    pub fn read_static(&self, node: &Node) -> Vec<u8> {
        match &node.data {
            Data::Bytes(b) => b.to_vec(),
            Data::Elf(n) => elf_bytes(*n),
            Data::Live(_) | Data::None => Vec::new(),
        }
    }
}

/// Plausible bytes for an executable of `size`: an x86-64 ELF header then padding.
pub fn elf_bytes(size: u64) -> Vec<u8> {
    const HEADER: [u8; 24] = [
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0, 1, 0, 0, 0,
    ];
    let len = usize::try_from(size.min(64 * 1024)).unwrap_or(0);
    let mut v = vec![0u8; len.max(HEADER.len())];
    v[..HEADER.len()].copy_from_slice(&HEADER);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Arc<Tree> {
        let mut t = Tree::default();
        t.insert("/", Node::dir(0o755, 0, 0, 0));
        t.insert("/usr", Node::dir(0o755, 0, 0, 0));
        t.insert("/usr/bin", Node::dir(0o755, 0, 0, 0));
        t.insert(
            "/bin",
            Node {
                kind: Kind::Symlink("usr/bin".into()),
                mode: 0o777,
                uid: 0,
                gid: 0,
                mtime: 0,
                data: Data::None,
            },
        );
        t.insert("/usr/bin/ls", Node { kind: Kind::File, mode: 0o755, uid: 0, gid: 0, mtime: 0, data: Data::Elf(100) });
        t.insert("/etc", Node::dir(0o755, 0, 0, 0));
        t.insert("/etc/shadow", Node::file("root:*:1::::::\n", 0o640, 0, 42, 0));
        t.insert("/proc", Node::dir(0o555, 0, 0, 0));
        t.insert("/proc/cpuinfo", Node { kind: Kind::File, mode: 0o444, uid: 0, gid: 0, mtime: 0, data: Data::Live(Live::Cpuinfo) });
        t.insert("/tmp", Node::dir(0o1777, 0, 0, 0));
        Arc::new(t)
    }

    #[test]
    fn resolution_follows_links_and_reports_errno() {
        let v = Vfs::new(tree());
        assert_eq!(v.resolve("/", "/bin/ls", true).unwrap(), "/usr/bin/ls");
        assert_eq!(v.resolve("/etc", "../bin/../etc/./shadow", true).unwrap(), "/etc/shadow");
        assert_eq!(v.resolve("/", "/etc/shadow/x", true).unwrap_err(), FsError::NotDir);
        assert_eq!(v.resolve("/", "/nope/x", true).unwrap_err(), FsError::NotFound);
        assert_eq!(v.resolve("/", "/bin", false).unwrap(), "/bin");
        assert_eq!(v.list("/").len(), 5);
    }

    #[test]
    fn overlay_writes_and_pseudo_fs_rules() {
        let mut v = Vfs::new(tree());
        let root = Cred { uid: 0, gids: vec![0] };
        let user = Cred { uid: 1000, gids: vec![1000] };
        v.write("/tmp", "x", b"hi", false, &user, 5).unwrap();
        v.write("/tmp", "x", b"!", true, &user, 6).unwrap();
        assert_eq!(v.read_static(v.get("/tmp/x").unwrap()), b"hi!");
        assert_eq!(v.write("/", "/etc/new", b"", false, &user, 0).unwrap_err(), FsError::Denied);
        assert!(!user.may(v.get("/etc/shadow").unwrap(), Access::Read));
        assert_eq!(v.write("/", "/proc/cpuinfo", b"x", false, &root, 0).unwrap_err(), FsError::Io);
        assert_eq!(v.write("/", "/proc/new", b"x", false, &root, 0).unwrap_err(), FsError::NotFound);
        assert_eq!(v.remove("/", "/proc/cpuinfo", false, false, &root).unwrap_err(), FsError::NotPermitted);
        assert_eq!(v.remove("/", "/etc", false, false, &root).unwrap_err(), FsError::IsDir);
        assert_eq!(v.remove("/", "/nope", false, false, &root).unwrap_err(), FsError::NotFound);
        v.remove("/", "/etc", true, true, &root).unwrap();
        assert!(v.get("/etc/shadow").is_none());
        assert_eq!(v.mkdir("/", "/tmp", &root, 0).unwrap_err(), FsError::Exists);
        v.rename("/tmp", "x", "/y", &root).unwrap();
        assert!(v.get("/y").is_some() && v.get("/tmp/x").is_none());
    }
}
