//! Session recording: asciinema v2 transcripts of interactive SSH and Telnet
//! sessions, and the reader that serves them back.
//!
//! # Storage
//!
//! One JSONL shard per (decky, service, UTC day) under
//! `data_dir/transcripts/`, named `{decky}_{service}_{YYYY-MM-DD}.jsonl`, so
//! the number of files grows with days, not sessions (a login loop cannot
//! exhaust inodes). Every line carries the session id (`sid`) because
//! concurrent sessions interleave:
//!
//! ```text
//! {"sid":"…","hdr":{"version":2,"width":80,"height":24,"timestamp":1764400000,"env":{"SHELL":"/bin/bash","TERM":"xterm"}}}
//! {"sid":"…","t":0.512331,"ch":"o","d":"root@web-01:~# "}
//! {"sid":"…","t":1.204118,"ch":"i","d":"l"}
//! {"sid":"…","t":3.000020,"ch":"r","d":"120x40"}
//! {"sid":"…","trunc":true}
//! ```
//!
//! `o` is output, `i` a keystroke batch (with its own timestamp, so keystroke
//! timing survives), `r` a resize. A session stops recording at
//! [`RecordingConfig::session_cap`] bytes (10 MB) with a `trunc` line; the
//! session itself goes on. Before a session starts, the free space of the
//! file system is checked ([`RecordingConfig::min_free`]); below it the
//! session is not recorded and a `session_skipped` event
//! (`reason=disk_pressure`) is emitted instead. Day shards rotate by size
//! ([`RecordingConfig::shard_max`]): the live file becomes `.1.jsonl`, `.1`
//! becomes `.2`, … and the oldest beyond [`RecordingConfig::keep`] is
//! deleted first (DEBT-033). A session always stays in the files of the day
//! it started.
//!
//! # Reading
//!
//! [`reader::read_session`] resolves a sid across the rotations of a day
//! (or of every day) and returns a [`reader::Cast`]: the asciinema header and
//! a page of events, renderable as a `.cast` file with
//! [`reader::Cast::to_asciicast`].
//!
//! # Writing
//!
//! Sessions never touch the disk themselves: [`SessionRecording`] hands
//! complete lines to one writer thread per (decky, service), which owns the
//! files, rotates them and appends with `O_APPEND`. A writer that falls
//! behind drops lines and the session is reported as truncated.

pub mod reader;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::session::Draft;
use crate::spec::{ConfigTable, SpecError};

pub use reader::{Cast, CastEvent, CastHeader, Page, ReadError, read_session};

/// Event emitted when a recorded session ends.
pub const SESSION_RECORDED: &str = "session_recorded";
/// Event emitted when a session is not recorded.
pub const SESSION_SKIPPED: &str = "session_skipped";

/// Recording limits; read from a service's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingConfig {
    /// Record interactive sessions at all.
    pub enabled: bool,
    /// Bytes one session may write before it is truncated.
    pub session_cap: u64,
    /// Size at which a day shard rotates.
    pub shard_max: u64,
    /// Rotated shards kept per day.
    pub keep: usize,
    /// Free bytes required on the file system to start a recording.
    pub min_free: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            enabled: true,
            session_cap: 10 * 1024 * 1024,
            shard_max: 500 * 1024 * 1024,
            keep: 4,
            min_free: 200 * 1024 * 1024,
        }
    }
}

const MB: u64 = 1024 * 1024;

impl RecordingConfig {
    /// Reads `record`, `transcript_session_cap_kb`, `transcript_shard_mb`,
    /// `transcript_rotations` and `transcript_min_free_mb` from a service table.
    pub fn from_table(t: &mut ConfigTable) -> Result<Self, SpecError> {
        let d = RecordingConfig::default();
        Ok(RecordingConfig {
            enabled: t.bool("record")?.unwrap_or(d.enabled),
            session_cap: t
                .uint("transcript_session_cap_kb", 1, 1024 * 1024)?
                .map_or(d.session_cap, |v| v * 1024),
            shard_max: t
                .uint("transcript_shard_mb", 1, 1024 * 1024)?
                .map_or(d.shard_max, |v| v * MB),
            keep: t
                .uint("transcript_rotations", 0, 1000)?
                .map_or(d.keep, |v| v as usize),
            min_free: t
                .uint("transcript_min_free_mb", 0, 1024 * 1024)?
                .map_or(d.min_free, |v| v * MB),
        })
    }
}

/// Whether a name can be part of a shard file name (decky, service, sid).
pub(crate) fn safe_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !s.starts_with('.')
}

/// The live shard of a day.
pub fn shard_path(dir: &Path, decky: &str, service: &str, day: &str) -> PathBuf {
    dir.join(format!("{decky}_{service}_{day}.jsonl"))
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn utc_day(unix: i64) -> String {
    let d =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The recorder of one service of one decky.
#[derive(Debug, Clone)]
pub struct Recorder {
    dir: PathBuf,
    decky: String,
    service: &'static str,
    cfg: RecordingConfig,
    writer: Arc<writer::Writer>,
}

/// What [`Recorder::start`] decided.
#[derive(Debug)]
pub enum Start {
    /// The session is being recorded.
    Recording(SessionRecording),
    /// Not recorded; emit this `session_skipped` event.
    Skipped(Draft),
    /// Recording is switched off.
    Disabled,
}

impl Recorder {
    /// A recorder writing to `data_dir/transcripts`.
    pub fn new(
        data_dir: &Path,
        decky: &str,
        service: &'static str,
        cfg: RecordingConfig,
    ) -> Recorder {
        let dir = data_dir.join("transcripts");
        Recorder {
            writer: Arc::new(writer::Writer::new(dir.clone(), cfg.shard_max, cfg.keep)),
            dir,
            decky: decky.to_owned(),
            service,
            cfg,
        }
    }

    /// The transcripts directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Blocks until every line queued so far is on disk (tests, shutdown).
    pub fn flush(&self) {
        self.writer.flush();
    }

    fn free_bytes(&self) -> Option<u64> {
        std::fs::create_dir_all(&self.dir).ok()?;
        let st = nix::sys::statvfs::statvfs(&self.dir).ok()?;
        Some(st.blocks_available() as u64 * st.fragment_size() as u64)
    }

    /// Starts recording session `sid` on a `width`×`height` terminal of type `term`.
    pub fn start(&self, sid: &str, width: u32, height: u32, term: &str) -> Start {
        if !self.cfg.enabled {
            return Start::Disabled;
        }
        let skipped = |reason: &str| {
            Start::Skipped(
                Draft::new(SESSION_SKIPPED)
                    .field("sid", sid.to_owned())
                    .field("reason", reason.to_owned()),
            )
        };
        if !safe_name(sid) || !safe_name(&self.decky) {
            return skipped("invalid_name");
        }
        match self.free_bytes() {
            None => return skipped("shard_open_failed"),
            Some(free) if free < self.cfg.min_free => return skipped("disk_pressure"),
            Some(_) => {}
        }
        let ts = unix_now();
        let day = utc_day(ts);
        let shard = shard_path(&self.dir, &self.decky, self.service, &day);
        let term: String = term.chars().filter(|c| !c.is_control()).take(64).collect();
        let mut rec = SessionRecording {
            sid: sid.to_owned(),
            started: Instant::now(),
            day,
            prefix: format!("{}_{}", self.decky, self.service),
            shard,
            bytes: 0,
            cap: self.cfg.session_cap,
            truncated: false,
            stopped: false,
            utf8_out: Vec::new(),
            utf8_in: Vec::new(),
            writer: Arc::clone(&self.writer),
        };
        let hdr = json!({
            "sid": sid,
            "hdr": {"version": 2, "width": width, "height": height, "timestamp": ts,
                    "env": {"SHELL": "/bin/bash", "TERM": term}},
        });
        rec.line(hdr.to_string());
        Start::Recording(rec)
    }
}

/// One session being recorded.
#[derive(Debug)]
pub struct SessionRecording {
    sid: String,
    started: Instant,
    day: String,
    prefix: String,
    shard: PathBuf,
    bytes: u64,
    cap: u64,
    truncated: bool,
    stopped: bool,
    utf8_out: Vec<u8>,
    utf8_in: Vec<u8>,
    writer: Arc<writer::Writer>,
}

/// Decodes `bytes` after a carried-over partial character; keeps a new partial tail.
fn decode(carry: &mut Vec<u8>, bytes: &[u8]) -> String {
    carry.extend_from_slice(bytes);
    let valid_up_to = match std::str::from_utf8(carry) {
        Ok(_) => carry.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => carry.len(),
    };
    let rest = carry.split_off(valid_up_to);
    let s = String::from_utf8_lossy(carry).into_owned();
    *carry = rest;
    s
}

impl SessionRecording {
    fn line(&mut self, line: String) {
        if self.stopped {
            return;
        }
        let len = line.len() as u64 + 1;
        if self.bytes + len > self.cap {
            self.stopped = true;
            self.truncated = true;
            let marker = json!({"sid": self.sid, "trunc": true}).to_string();
            self.bytes += marker.len() as u64 + 1;
            self.writer.append(&self.prefix, &self.day, marker);
            return;
        }
        self.bytes += len;
        if !self.writer.append(&self.prefix, &self.day, line) {
            // The writer is behind: what it dropped is gone, say so.
            self.truncated = true;
        }
    }

    fn event(&mut self, ch: &str, d: String) {
        if self.stopped || d.is_empty() {
            return;
        }
        let t = self.started.elapsed().as_secs_f64();
        let line =
            json!({"sid": self.sid, "t": (t * 1e6).round() / 1e6, "ch": ch, "d": d}).to_string();
        self.line(line);
    }

    /// Bytes the session printed.
    pub fn output(&mut self, bytes: &[u8]) {
        let s = decode(&mut self.utf8_out, bytes);
        self.event("o", s);
    }

    /// Keystrokes the attacker typed.
    pub fn input(&mut self, bytes: &[u8]) {
        let s = decode(&mut self.utf8_in, bytes);
        self.event("i", s);
    }

    /// The terminal was resized.
    pub fn resize(&mut self, cols: u32, rows: u32) {
        self.event("r", format!("{cols}x{rows}"));
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Ends the recording and returns its `session_recorded` event.
    pub fn finish(self) -> Draft {
        Draft::new(SESSION_RECORDED)
            .field("sid", self.sid.clone())
            .field(
                "duration_s",
                format!("{:.3}", self.started.elapsed().as_secs_f64()),
            )
            .field("bytes", self.bytes.to_string())
            .field("truncated", self.truncated.to_string())
            .field("shard_path", self.shard.display().to_string())
    }
}

#[cfg(test)]
mod tests;
