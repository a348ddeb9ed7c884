//! Files attackers hand a decky (uploads, mail): stored under
//! `data_dir/artifacts/`, named by the SHA-256 of their content.
//!
//! Writing is synchronous `std::fs`: callers run it off the async workers
//! (`tokio::task::spawn_blocking`), never inside a session's `feed`.
//! Every artifact is capped at [`ArtifactStore::max_bytes`]; bytes beyond the
//! cap are counted, not stored, and the result says it was truncated. A
//! store refuses new artifacts while the file system has less than
//! [`MIN_FREE_BYTES`] available, so an attacker cannot fill the sensor's disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// Default per-artifact cap (the predecessor's file-capture limit).
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// Free space below which nothing more is stored.
pub const MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;

/// Where a decky keeps captured files.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    dir: PathBuf,
    max_bytes: u64,
    min_free: u64,
}

/// One stored artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// Bytes stored (at most the cap).
    pub size: u64,
    /// Bytes received, including any beyond the cap.
    pub received: u64,
    /// Whether bytes beyond the cap were dropped.
    pub truncated: bool,
    /// Where the file is.
    pub path: PathBuf,
}

impl ArtifactStore {
    /// A store in `data_dir/artifacts` with a per-artifact cap.
    pub fn new(data_dir: &Path, max_bytes: u64) -> Self {
        ArtifactStore {
            dir: data_dir.join("artifacts"),
            max_bytes,
            min_free: MIN_FREE_BYTES,
        }
    }

    /// The same store with another free-space floor (tests use 0).
    pub fn with_min_free(mut self, min_free: u64) -> Self {
        self.min_free = min_free;
        self
    }

    /// The directory artifacts go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The per-artifact cap.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Starts a streamed artifact whose file name ends in `.ext` (`None`: no extension).
    pub fn writer(&self, ext: Option<&str>) -> io::Result<ArtifactWriter> {
        std::fs::create_dir_all(&self.dir)?;
        if self.min_free > 0 {
            let st = nix::sys::statvfs::statvfs(&self.dir).map_err(io::Error::from)?;
            let free = st.blocks_available() as u64 * st.fragment_size() as u64;
            if free < self.min_free {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("{free} bytes free, below the {} floor", self.min_free),
                ));
            }
        }
        let tmp = self
            .dir
            .join(format!(".partial-{:016x}", rand::rngs::OsRng.next_u64()));
        // Attacker files are never executable and never readable by others.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        Ok(ArtifactWriter {
            file: Some(file),
            tmp,
            dir: self.dir.clone(),
            ext: ext.map(str::to_owned),
            hasher: Sha256::new(),
            size: 0,
            received: 0,
            max: self.max_bytes,
        })
    }

    /// Stores `bytes` in one go.
    pub fn store(&self, bytes: &[u8], ext: Option<&str>) -> io::Result<Stored> {
        let mut w = self.writer(ext)?;
        w.write(bytes)?;
        w.finish()
    }
}

/// An artifact being written; dropped without [`ArtifactWriter::finish`] it leaves nothing behind.
#[derive(Debug)]
pub struct ArtifactWriter {
    file: Option<File>,
    tmp: PathBuf,
    dir: PathBuf,
    ext: Option<String>,
    hasher: Sha256,
    size: u64,
    received: u64,
    max: u64,
}

impl ArtifactWriter {
    /// Appends bytes; those beyond the cap are only counted.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.received += bytes.len() as u64;
        let room = self.max.saturating_sub(self.size);
        let take = &bytes[..bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        if take.is_empty() {
            return Ok(());
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(take)?;
        }
        self.hasher.update(take);
        self.size += take.len() as u64;
        Ok(())
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Moves the file to its content name; an identical artifact is kept once.
    pub fn finish(mut self) -> io::Result<Stored> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let name = match &self.ext {
            Some(ext) => format!("{sha256}.{ext}"),
            None => sha256.clone(),
        };
        let path = self.dir.join(name);
        if path.exists() {
            std::fs::remove_file(&self.tmp)?;
        } else {
            std::fs::rename(&self.tmp, &path)?;
        }
        // Nothing left for Drop to clean.
        self.tmp = PathBuf::new();
        Ok(Stored {
            sha256,
            size: self.size,
            received: self.received,
            truncated: self.received > self.size,
            path,
        })
    }
}

impl Drop for ArtifactWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_hash_caps_and_dedups() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path(), 4).with_min_free(0);
        let a = store.store(b"abcdef", None).unwrap();
        assert_eq!(a.size, 4);
        assert_eq!(a.received, 6);
        assert!(a.truncated);
        assert_eq!(
            a.sha256,
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
        assert_eq!(std::fs::read(&a.path).unwrap(), b"abcd");
        let b = store.store(b"abcd", Some("eml")).unwrap();
        assert!(!b.truncated);
        assert!(b.path.to_string_lossy().ends_with(".eml"));
        let again = store.store(b"abcd", None).unwrap();
        assert_eq!(again.path, a.path);
        let mut names: Vec<_> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn an_abandoned_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path(), 100).with_min_free(0);
        let mut w = store.writer(None).unwrap();
        w.write(b"half").unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_when_the_disk_is_nearly_full() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path(), 100).with_min_free(u64::MAX);
        let err = store.store(b"x", None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}
