//! The virtual file system: a shared read-only base tree per decky plus a
//! per-session overlay that receives every write, delete and chmod.
//!
//! Semantics follow Linux where attackers probe them: `ENOENT`/`ENOTDIR`/
//! `EISDIR` on the right paths, permission bits checked for non-root users,
//! and `/proc`/`/sys` refusing creation (`ENOENT`), removal (`EPERM`) and
//! writes (`EIO`) the way procfs and sysfs do.

use std::collections::BTreeMap;
use std::sync::Arc;

mod node;

pub use self::node::{Access, Cred, Data, FsError, Kind, Live, Node, Tree, normalize, split};

/// Longest path accepted (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed before `ELOOP`.
const MAX_LINKS: usize = 40;
/// Bytes a session may add to its overlay in total.
pub const OVERLAY_MAX_BYTES: usize = 64 * 1024 * 1024;

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
                Node::file(
                    data.to_vec(),
                    0o644,
                    cred.uid,
                    cred.gids.first().copied().unwrap_or(0),
                    now,
                )
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
    pub fn mkdir(
        &mut self,
        cwd: &str,
        path: &str,
        cred: &Cred,
        now: i64,
    ) -> Result<String, FsError> {
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
    pub fn remove(
        &mut self,
        cwd: &str,
        path: &str,
        recursive: bool,
        dir_ok: bool,
        cred: &Cred,
    ) -> Result<(), FsError> {
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
    pub fn chmod(
        &mut self,
        cwd: &str,
        path: &str,
        mode: impl Fn(u32, bool) -> u32,
        cred: &Cred,
    ) -> Result<(), FsError> {
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
mod tests;
