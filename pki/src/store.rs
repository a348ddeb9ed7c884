//! Files on disk: private directories, 0600 key files and crash-safe key/certificate pairs.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::error::PkiError;

/// Mode of private key files.
pub(crate) const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub(crate) const CERT_MODE: u32 = 0o644;
/// Mode of state directories.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Certificates and keys are a few KiB; refuse to slurp anything huge.
const MAX_FILE: u64 = 1024 * 1024;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and parents) as 0700, tightening an existing directory that others can enter.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), PkiError> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(io_err(dir))?;
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    if !meta.is_dir() {
        return Err(PkiError::BadFile {
            path: dir.to_path_buf(),
            what: "not a directory".into(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{mode:03o}"), "tightening state directory to 0700");
        fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(io_err(dir))?;
    }
    Ok(())
}

/// Whether `path` exists (without following a final symlink).
pub(crate) fn exists(path: &Path) -> Result<bool, PkiError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Replaces `path` with `contents` atomically; the file is created with `mode` from the start,
/// so a key is never readable by others, not even for an instant.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{:016x}", rand::rngs::OsRng.next_u64()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        file.write_all(contents).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) -> Result<(), PkiError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn read_limited(path: &Path, mut file: File) -> Result<String, PkiError> {
    let mut out = String::new();
    (&mut file)
        .take(MAX_FILE + 1)
        .read_to_string(&mut out)
        .map_err(io_err(path))?;
    if out.len() as u64 > MAX_FILE {
        return Err(PkiError::BadFile {
            path: path.to_path_buf(),
            what: "file is too large".into(),
        });
    }
    Ok(out)
}

/// Reads a private key file, refusing one that group or others can access.
pub(crate) fn read_private(path: &Path) -> Result<String, PkiError> {
    let file = File::open(path).map_err(io_err(path))?;
    // Check the opened handle, not the path, so a swapped file cannot slip past the check.
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(PkiError::BadFile {
            path: path.to_path_buf(),
            what: "not a regular file".into(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PkiError::InsecureKeyFile {
            path: path.to_path_buf(),
            mode,
        });
    }
    read_limited(path, file)
}

/// Reads a certificate file.
pub(crate) fn read_public(path: &Path) -> Result<String, PkiError> {
    let file = File::open(path).map_err(io_err(path))?;
    read_limited(path, file)
}

fn pending(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.new"))
}

/// Writes a key and its certificate so that a crash leaves either the old pair or the new one.
///
/// Both files are first written as `*.new`; the certificate's `.new` file appearing is the
/// commit point, after which [`recover_pair`] rolls the renames forward.
pub(crate) fn commit_pair(
    dir: &Path,
    key_name: &str,
    key_pem: &[u8],
    cert_name: &str,
    cert_pem: &[u8],
) -> Result<(), PkiError> {
    write_atomic(&pending(dir, key_name), key_pem, KEY_MODE)?;
    write_atomic(&pending(dir, cert_name), cert_pem, CERT_MODE)?;
    recover_pair(dir, key_name, cert_name)
}

/// Finishes a [`commit_pair`] interrupted by a crash, or discards one that never committed.
pub(crate) fn recover_pair(dir: &Path, key_name: &str, cert_name: &str) -> Result<(), PkiError> {
    let key_new = pending(dir, key_name);
    let cert_new = pending(dir, cert_name);
    if exists(&cert_new)? {
        if exists(&key_new)? {
            fs::rename(&key_new, dir.join(key_name)).map_err(io_err(&key_new))?;
        }
        fs::rename(&cert_new, dir.join(cert_name)).map_err(io_err(&cert_new))?;
        sync_dir(dir)?;
    } else if exists(&key_new)? {
        fs::remove_file(&key_new).map_err(io_err(&key_new))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_dir_is_0700_and_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
    }

    #[test]
    fn key_files_are_0600_and_loose_ones_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("k");
        write_atomic(&p, b"secret", KEY_MODE).unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(read_private(&p).unwrap(), "secret");
        for loose in [0o640, 0o604, 0o644] {
            fs::set_permissions(&p, Permissions::from_mode(loose)).unwrap();
            match read_private(&p) {
                Err(PkiError::InsecureKeyFile { mode, .. }) => assert_eq!(mode, loose),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c");
        write_atomic(&p, b"one", CERT_MODE).unwrap();
        write_atomic(&p, b"two", CERT_MODE).unwrap();
        assert_eq!(read_public(&p).unwrap(), "two");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn interrupted_pair_rolls_forward_after_commit_point() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        commit_pair(d, "k", b"k1", "c", b"c1").unwrap();
        // Crash after both pending files were written but before any rename.
        write_atomic(&pending(d, "k"), b"k2", KEY_MODE).unwrap();
        write_atomic(&pending(d, "c"), b"c2", CERT_MODE).unwrap();
        recover_pair(d, "k", "c").unwrap();
        assert_eq!(read_private(&d.join("k")).unwrap(), "k2");
        assert_eq!(read_public(&d.join("c")).unwrap(), "c2");
        // Crash after the key rename only.
        write_atomic(&pending(d, "c"), b"c3", CERT_MODE).unwrap();
        fs::write(d.join("k"), b"k3").unwrap();
        recover_pair(d, "k", "c").unwrap();
        assert_eq!(read_public(&d.join("c")).unwrap(), "c3");
    }

    #[test]
    fn interrupted_pair_before_commit_point_is_discarded() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        commit_pair(d, "k", b"k1", "c", b"c1").unwrap();
        write_atomic(&pending(d, "k"), b"k2", KEY_MODE).unwrap();
        recover_pair(d, "k", "c").unwrap();
        assert_eq!(read_private(&d.join("k")).unwrap(), "k1");
        assert!(!exists(&pending(d, "k")).unwrap());
    }
}
