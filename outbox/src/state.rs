//! The persisted acknowledgement position, replaced atomically (tmp file, fsync, rename, directory fsync).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

const FILE_NAME: &str = "ack.state";
const TMP_NAME: &str = "ack.state.tmp";
const MAGIC: &[u8; 8] = b"DNOBXAK1";
const LEN: usize = 8 + 8 + 8 + 4;

/// What survives a restart besides the segments themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AckState {
    /// Every record up to and including this sequence number was acknowledged.
    pub acked: u64,
    /// Lifetime count of unacknowledged records dropped by the size cap.
    pub dropped_records: u64,
}

impl AckState {
    fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&self.acked.to_le_bytes());
        out[16..24].copy_from_slice(&self.dropped_records.to_le_bytes());
        let crc = crc32fast::hash(&out[..24]);
        out[24..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(buf: &[u8]) -> Option<AckState> {
        let buf: &[u8; LEN] = buf.try_into().ok()?;
        if &buf[..8] != MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(buf[24..].try_into().ok()?);
        if crc32fast::hash(&buf[..24]) != crc {
            return None;
        }
        Some(AckState {
            acked: u64::from_le_bytes(buf[8..16].try_into().ok()?),
            dropped_records: u64::from_le_bytes(buf[16..24].try_into().ok()?),
        })
    }
}

/// Reads the state file; a missing or unreadable one yields the zero state (redelivery, never loss).
pub(crate) fn load(dir: &Path) -> io::Result<AckState> {
    let path = dir.join(FILE_NAME);
    match fs::read(&path) {
        Ok(bytes) => match AckState::decode(&bytes) {
            Some(state) => Ok(state),
            None => {
                tracing::error!(
                    path = %path.display(),
                    "outbox ack state is corrupt; every record still on disk will be delivered again"
                );
                Ok(AckState::default())
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(AckState::default()),
        Err(e) => Err(e),
    }
}

/// Replaces the state file so that a crash leaves either the old or the new content.
pub(crate) fn store(dir: &Path, state: &AckState) -> io::Result<()> {
    let tmp = dir.join(TMP_NAME);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&state.encode())?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(FILE_NAME))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        // A leftover tmp file would waste the very space a full disk lacks.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes a tmp file left by a crash between create and rename.
pub(crate) fn remove_leftovers(dir: &Path) {
    let _ = fs::remove_file(dir.join(TMP_NAME));
}

/// Makes creations, renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load_roundtrips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), AckState::default());
        let state = AckState {
            acked: 12345,
            dropped_records: 7,
        };
        store(dir.path(), &state).unwrap();
        assert_eq!(load(dir.path()).unwrap(), state);
        assert!(!dir.path().join(TMP_NAME).exists());
    }

    #[test]
    fn corrupt_state_falls_back_to_zero() {
        let dir = tempfile::tempdir().unwrap();
        store(
            dir.path(),
            &AckState {
                acked: 99,
                dropped_records: 1,
            },
        )
        .unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut bytes = fs::read(&path).unwrap();
        bytes[10] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(load(dir.path()).unwrap(), AckState::default());
        fs::write(&path, b"short").unwrap();
        assert_eq!(load(dir.path()).unwrap(), AckState::default());
    }
}
