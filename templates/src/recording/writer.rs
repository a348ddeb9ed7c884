//! The shard writer: one thread per recorder owning the day files, appending
//! lines and rotating by size.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

/// Lines queued before sessions start losing lines (≈ a few MB).
const QUEUE: usize = 8192;
/// Day files kept open at once.
const OPEN_FILES: usize = 4;

enum Msg {
    Line {
        prefix: String,
        day: String,
        line: String,
    },
    Flush(SyncSender<()>),
}

struct Running {
    tx: SyncSender<Msg>,
    thread: JoinHandle<()>,
}

/// Appends lines to day shards from a background thread.
pub(crate) struct Writer {
    dir: PathBuf,
    shard_max: u64,
    keep: usize,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// `{prefix}_{day}.jsonl` or, for rotation `n`, `{prefix}_{day}.{n}.jsonl`.
pub(crate) fn rotated(dir: &Path, prefix: &str, day: &str, n: usize) -> PathBuf {
    if n == 0 {
        dir.join(format!("{prefix}_{day}.jsonl"))
    } else {
        dir.join(format!("{prefix}_{day}.{n}.jsonl"))
    }
}

struct Shards {
    dir: PathBuf,
    shard_max: u64,
    keep: usize,
    open: HashMap<(String, String), (File, u64)>,
}

impl Shards {
    fn rotate(&mut self, prefix: &str, day: &str) {
        self.open.remove(&(prefix.to_owned(), day.to_owned()));
        // Oldest first: the one beyond `keep` goes, the others move up by one.
        let _ = std::fs::remove_file(rotated(&self.dir, prefix, day, self.keep));
        for n in (1..self.keep).rev() {
            let _ = std::fs::rename(
                rotated(&self.dir, prefix, day, n),
                rotated(&self.dir, prefix, day, n + 1),
            );
        }
        let live = rotated(&self.dir, prefix, day, 0);
        if self.keep == 0 {
            let _ = std::fs::remove_file(live);
        } else {
            let _ = std::fs::rename(live, rotated(&self.dir, prefix, day, 1));
        }
    }

    fn file(&mut self, prefix: &str, day: &str) -> std::io::Result<&mut (File, u64)> {
        let key = (prefix.to_owned(), day.to_owned());
        if !self.open.contains_key(&key) {
            if self.open.len() >= OPEN_FILES {
                self.open.clear();
            }
            std::fs::create_dir_all(&self.dir)?;
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o640)
                .open(rotated(&self.dir, prefix, day, 0))?;
            let size = f.metadata()?.len();
            self.open.insert(key.clone(), (f, size));
        }
        self.open
            .get_mut(&key)
            .ok_or_else(|| std::io::Error::other("shard vanished"))
    }

    fn append(&mut self, prefix: &str, day: &str, line: &str) {
        let len = line.len() as u64 + 1;
        let needs_rotation = match self.file(prefix, day) {
            Ok((_, size)) => *size > 0 && *size + len > self.shard_max,
            Err(_) => return,
        };
        if needs_rotation {
            self.rotate(prefix, day);
        }
        if let Ok((f, size)) = self.file(prefix, day) {
            let mut buf = Vec::with_capacity(line.len() + 1);
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            match f.write_all(&buf) {
                Ok(()) => *size += len,
                Err(e) => tracing::warn!(error = %e, "cannot append to a transcript shard"),
            }
        }
    }
}

fn run(rx: Receiver<Msg>, mut shards: Shards) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Line { prefix, day, line } => shards.append(&prefix, &day, &line),
            Msg::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

impl Writer {
    pub(crate) fn new(dir: PathBuf, shard_max: u64, keep: usize) -> Writer {
        Writer {
            dir,
            shard_max,
            keep,
            running: Mutex::new(None),
        }
    }

    fn sender(&self) -> Option<SyncSender<Msg>> {
        let mut guard = self.running.lock();
        if guard.is_none() {
            let (tx, rx) = sync_channel(QUEUE);
            let shards = Shards {
                dir: self.dir.clone(),
                shard_max: self.shard_max,
                keep: self.keep,
                open: HashMap::new(),
            };
            let thread = std::thread::Builder::new()
                .name("transcripts".into())
                .spawn(move || run(rx, shards))
                .ok()?;
            *guard = Some(Running { tx, thread });
        }
        guard.as_ref().map(|r| r.tx.clone())
    }

    /// Queues a line; `false` when it had to be dropped.
    pub(crate) fn append(&self, prefix: &str, day: &str, line: String) -> bool {
        let Some(tx) = self.sender() else {
            return false;
        };
        match tx.try_send(Msg::Line {
            prefix: prefix.to_owned(),
            day: day.to_owned(),
            line,
        }) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Waits until every line queued before the call is written.
    pub(crate) fn flush(&self) {
        let Some(tx) = self.sender() else { return };
        let (ack_tx, ack_rx) = sync_channel(1);
        if tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(10));
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(r) = self.running.lock().take() {
            drop(r.tx);
            // The queue is bounded, so this wait is too.
            let _ = r.thread.join();
        }
    }
}
