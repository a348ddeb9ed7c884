//! Reading a session back from the day shards, across rotations.
//!
//! This is the API the master calls to serve `GET /sessions/{sid}/cast`:
//!
//! ```no_run
//! use decnet_templates::recording::{Page, read_session};
//! # fn main() -> Result<(), decnet_templates::recording::ReadError> {
//! let dir = std::path::Path::new("/var/lib/decnet/deckies/decky-01/transcripts");
//! let cast = read_session(dir, "decky-01", "ssh", None, "3f2a9c0d1e4b5a6f", Page::default())?;
//! let body = cast.to_asciicast(); // an asciinema v2 .cast file
//! # let _ = body; Ok(()) }
//! ```
//!
//! A sid is looked up in the shards of `day` (or, without a day, of every
//! day, newest first), oldest rotation first so events come out in order.
//! Each shard's sid → line offsets index is cached by (path, size, mtime),
//! so paging through a long session does not rescan the shard; rotation
//! renames files, which changes the key and drops stale entries.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::safe_name;
use super::writer::rotated;

/// Longest page a caller may ask for.
pub const MAX_LIMIT: usize = 5000;
/// Page size when none is given.
pub const DEFAULT_LIMIT: usize = 500;
/// Rotations looked at per day (beyond any sane `keep`).
const MAX_ROTATIONS: usize = 1000;
/// Longest line read (a line is at most one output chunk plus escaping).
const MAX_LINE: usize = 4 * 1024 * 1024;
/// Shard indexes kept in memory.
const CACHE_SHARDS: usize = 32;

/// Why a session cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A name contains characters that cannot be in a shard name (path traversal, ...).
    #[error("invalid {0}")]
    InvalidName(&'static str),
    /// No shard holds this sid.
    #[error("session not found")]
    NotFound,
    /// The shards cannot be read.
    #[error("cannot read transcripts: {0}")]
    Io(#[from] std::io::Error),
}

/// Which events to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Events to skip.
    pub offset: usize,
    /// Events to return (capped at [`MAX_LIMIT`]).
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// The asciinema v2 header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastHeader {
    /// Always 2.
    pub version: u32,
    /// Terminal columns.
    pub width: u32,
    /// Terminal rows.
    pub height: u32,
    /// Unix time the session started.
    pub timestamp: i64,
    /// `SHELL` and `TERM`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// One event: seconds since start, `o`/`i`/`r`, data (serialised as `[t, ch, d]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastEvent(pub f64, pub String, pub String);

/// A page of one recorded session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cast {
    /// Session id.
    pub sid: String,
    /// Decky.
    pub decky: String,
    /// Service (`ssh`, `telnet`).
    pub service: String,
    /// UTC day of the shard.
    pub day: String,
    /// Header.
    pub header: CastHeader,
    /// The requested events.
    pub events: Vec<CastEvent>,
    /// Offset of the first returned event.
    pub offset: usize,
    /// Limit applied.
    pub limit: usize,
    /// Events the session has in total.
    pub total: usize,
    /// More events after this page.
    pub has_more: bool,
    /// The recording hit its size cap.
    pub truncated: bool,
}

impl Cast {
    /// This page as an asciinema v2 `.cast` file (header line, then one array per event).
    pub fn to_asciicast(&self) -> String {
        let mut out = serde_json::to_string(&self.header).unwrap_or_default();
        out.push('\n');
        for e in &self.events {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

#[derive(Deserialize)]
struct Line {
    sid: String,
    #[serde(default)]
    hdr: Option<CastHeader>,
    #[serde(default)]
    t: Option<f64>,
    #[serde(default)]
    ch: Option<String>,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    trunc: bool,
}

#[derive(Deserialize)]
struct SidOnly<'a> {
    #[serde(borrow)]
    sid: std::borrow::Cow<'a, str>,
}

type Index = HashMap<String, Vec<u64>>;
/// Cached indexes, keyed by (path, size, mtime).
type Cache = Mutex<Vec<((PathBuf, u64, SystemTime), Arc<Index>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// sid → byte offsets of its lines in `path`.
fn index(path: &Path) -> Result<Arc<Index>, ReadError> {
    let meta = std::fs::metadata(path)?;
    let key = (
        path.to_owned(),
        meta.len(),
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    );
    if let Some((_, idx)) = cache().lock().iter().find(|(k, _)| *k == key) {
        return Ok(Arc::clone(idx));
    }
    let mut idx: Index = HashMap::new();
    let mut r = BufReader::new(File::open(path)?);
    let mut pos = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = r
            .by_ref()
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if let Ok(l) = serde_json::from_slice::<SidOnly>(&buf) {
            idx.entry(l.sid.into_owned()).or_default().push(pos);
        }
        pos += n as u64;
    }
    let idx = Arc::new(idx);
    let mut c = cache().lock();
    c.retain(|(k, _)| k.0 != key.0);
    if c.len() >= CACHE_SHARDS {
        c.remove(0);
    }
    c.push((key, Arc::clone(&idx)));
    Ok(idx)
}

fn is_day(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// Shards of one day, oldest rotation first, live shard last.
pub fn day_shards(dir: &Path, decky: &str, service: &str, day: &str) -> Vec<PathBuf> {
    let prefix = format!("{decky}_{service}");
    let mut out: Vec<PathBuf> = (1..MAX_ROTATIONS)
        .map(|n| rotated(dir, &prefix, day, n))
        .take_while(|p| p.exists())
        .collect();
    out.reverse();
    let live = rotated(dir, &prefix, day, 0);
    if live.exists() {
        out.push(live);
    }
    out
}

/// Days that have shards for (decky, service), newest first.
pub fn days(dir: &Path, decky: &str, service: &str) -> Result<Vec<String>, ReadError> {
    let prefix = format!("{decky}_{service}_");
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // No transcripts yet is "no such session", not an I/O failure.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut days: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            let rest = n.strip_prefix(&prefix)?;
            let day = rest.get(..10)?;
            (is_day(day) && rest[10..].ends_with(".jsonl")).then(|| day.to_owned())
        })
        .collect();
    days.sort();
    days.dedup();
    days.reverse();
    Ok(days)
}

/// Reads a page of session `sid` of (decky, service) from `transcripts_dir`,
/// looking in `day` (`YYYY-MM-DD`) or in every day when `None`.
pub fn read_session(
    transcripts_dir: &Path,
    decky: &str,
    service: &str,
    day: Option<&str>,
    sid: &str,
    page: Page,
) -> Result<Cast, ReadError> {
    if !safe_name(decky) {
        return Err(ReadError::InvalidName("decky"));
    }
    if !safe_name(service) || service.contains('.') {
        return Err(ReadError::InvalidName("service"));
    }
    if !safe_name(sid) {
        return Err(ReadError::InvalidName("sid"));
    }
    let days = match day {
        Some(d) if is_day(d) => vec![d.to_owned()],
        Some(_) => return Err(ReadError::InvalidName("day")),
        None => days(transcripts_dir, decky, service)?,
    };
    let limit = page.limit.clamp(1, MAX_LIMIT);
    for day in days {
        let shards = day_shards(transcripts_dir, decky, service, &day);
        let mut hits = Vec::new();
        for shard in &shards {
            let idx = index(shard)?;
            if let Some(offsets) = idx.get(sid) {
                hits.push((shard.clone(), offsets.clone()));
            }
        }
        if hits.is_empty() {
            continue;
        }
        let mut header = None;
        let mut events = Vec::new();
        let mut total = 0usize;
        let mut truncated = false;
        for (shard, offsets) in hits {
            let mut f = File::open(&shard)?;
            for off in offsets {
                f.seek(SeekFrom::Start(off))?;
                let mut buf = Vec::new();
                BufReader::new((&mut f).take(MAX_LINE as u64)).read_until(b'\n', &mut buf)?;
                let Ok(l) = serde_json::from_slice::<Line>(&buf) else {
                    continue;
                };
                if l.sid != sid {
                    continue;
                }
                if let Some(h) = l.hdr {
                    header.get_or_insert(h);
                } else if l.trunc {
                    truncated = true;
                } else if let (Some(t), Some(ch), Some(d)) = (l.t, l.ch, l.d) {
                    if total >= page.offset && events.len() < limit {
                        events.push(CastEvent(t, ch, d));
                    }
                    total += 1;
                }
            }
        }
        let Some(header) = header else { continue };
        return Ok(Cast {
            sid: sid.to_owned(),
            decky: decky.to_owned(),
            service: service.to_owned(),
            day,
            header,
            has_more: page.offset.saturating_add(events.len()) < total,
            events,
            offset: page.offset,
            limit,
            total,
            truncated,
        });
    }
    Err(ReadError::NotFound)
}
