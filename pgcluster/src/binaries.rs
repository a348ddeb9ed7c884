//! Locating the PostgreSQL server binaries of the system.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The programs a usable bin directory must contain.
const REQUIRED: [&str; 3] = ["initdb", "postgres", "pg_ctl"];

/// Where Debian and Ubuntu install one bin directory per PostgreSQL major version.
const DEBIAN_LIB_ROOT: &str = "/usr/lib/postgresql";

/// A directory holding the PostgreSQL server programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// Finds the server binaries: `pg_config --bindir` first, else the highest `/usr/lib/postgresql/*/bin`.
    pub fn locate() -> Result<Self> {
        Self::locate_with(OsStr::new("pg_config"), Path::new(DEBIAN_LIB_ROOT))
    }

    /// Like [`PgBinaries::locate`] with an explicit `pg_config` program and versioned lib root.
    pub fn locate_with(pg_config: &OsStr, lib_root: &Path) -> Result<Self> {
        // pg_config may belong to libpq-dev without a server installed, so its answer is checked.
        if let Some(dir) = pg_config_bindir(pg_config)
            && let Ok(found) = Self::from_dir(&dir)
        {
            return Ok(found);
        }
        if let Some(dir) = highest_versioned_bindir(lib_root) {
            return Ok(Self { bindir: dir });
        }
        Err(Error::BinariesNotFound {
            searched: format!(
                "`{} --bindir`, {}/*/bin",
                pg_config.to_string_lossy(),
                lib_root.display()
            ),
        })
    }

    /// Uses an explicit bin directory, which must contain `initdb`, `postgres` and `pg_ctl`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        if has_server_programs(dir) {
            Ok(Self {
                bindir: dir.to_path_buf(),
            })
        } else {
            Err(Error::BinariesNotFound {
                searched: dir.display().to_string(),
            })
        }
    }

    /// The bin directory.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Path of one program of the bin directory, e.g. `initdb`.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn has_server_programs(dir: &Path) -> bool {
    REQUIRED.iter().all(|name| dir.join(name).is_file())
}

fn pg_config_bindir(pg_config: &OsStr) -> Option<PathBuf> {
    let output = Command::new(pg_config).arg("--bindir").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Picks the bin directory of the highest major version, comparing versions numerically (9.6 < 10 < 15).
fn highest_versioned_bindir(lib_root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(lib_root).ok()?;
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = parse_version(&entry.file_name().to_string_lossy())?;
            let bindir = entry.path().join("bin");
            has_server_programs(&bindir).then_some((version, bindir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, dir)| dir)
}

fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let mut versions = [
            parse_version("9.6").unwrap(),
            parse_version("15").unwrap(),
            parse_version("10").unwrap(),
        ];
        versions.sort();
        assert_eq!(versions.last().unwrap(), &vec![15]);
        assert_eq!(parse_version("main"), None);
    }
}
