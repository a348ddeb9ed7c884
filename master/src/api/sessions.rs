//! `GET /sessions/{sid}/cast`: a recorded session as an asciinema v2 cast, in pages.
//!
//! Recordings are JSONL shards, one per (decky, service, UTC day), each line tagged with
//! its session id: `{"sid", "hdr": {...}}` header, `{"sid", "t", "ch": "o"|"i"|"r", "d"}`
//! events, `{"sid", "trunc": true}` when the 10 MB cap was hit. Each page is a complete
//! cast (header line, then `[t, ch, d]` lines), so any page plays on its own.

use std::io::{BufRead, BufReader};
use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::extract::{Path, Query, Viewer};
use super::{ApiError, AppState};
use crate::store::sessions;

/// Default events per page.
pub const DEFAULT_LIMIT: usize = 500;
/// Most events per page.
pub const MAX_LIMIT: usize = 5000;
/// Content type of asciinema v2 casts.
pub const CAST_TYPE: &str = "application/x-asciicast";

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cast))
}

/// Page of `GET /sessions/{sid}/cast`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CastParams {
    /// Events to skip (default 0).
    pub offset: Option<usize>,
    /// Events per page, 1 to 5000 (default 500).
    pub limit: Option<usize>,
}

#[derive(Deserialize)]
struct Line {
    sid: String,
    hdr: Option<Value>,
    t: Option<f64>,
    ch: Option<String>,
    d: Option<String>,
    #[serde(default)]
    trunc: bool,
}

/// What a scan of the shard found for one session.
#[derive(Debug, Default)]
struct Scan {
    header: Option<Value>,
    events: Vec<Value>,
    total: usize,
    truncated: bool,
}

fn check_sid(sid: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&sid.len())
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "sid must be 1-128 letters, digits, '-' or '_'",
        ))
    }
}

/// The shard path, if it is one this master may read: absolute, no `..`, a shard file
/// name, and below `recordings_dir` when that is configured.
fn shard_path(shard: &str, root: Option<&FsPath>) -> Option<PathBuf> {
    let path = PathBuf::from(shard);
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return None;
    }
    // Only day shards are served: `sessions-*.jsonl`, or the decky writer's
    // `DECKY_SERVICE_DAY[.N].jsonl` inside a `transcripts` directory.
    let is_shard = |p: &FsPath| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let in_transcripts = p
            .parent()
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "transcripts");
        name.ends_with(".jsonl") && (name.starts_with("sessions-") || in_transcripts)
    };
    // Checked on the resolved path too, so a symlink cannot point elsewhere.
    let real = std::fs::canonicalize(&path).ok()?;
    if !is_shard(&path) || !is_shard(&real) || !real.is_file() {
        return None;
    }
    if let Some(root) = root {
        let root = std::fs::canonicalize(root).ok()?;
        if !real.starts_with(root) {
            return None;
        }
    }
    Some(real)
}

fn scan(path: &FsPath, sid: &str, offset: usize, limit: usize) -> std::io::Result<Scan> {
    let file = std::fs::File::open(path)?;
    let mut out = Scan::default();
    let needle = format!("\"{sid}\"");
    for line in BufReader::new(file).lines() {
        let line = line?;
        // Cheap pre-filter: a shard holds many sessions.
        if !line.contains(&needle) {
            continue;
        }
        let Ok(l) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        if l.sid != sid {
            continue;
        }
        if l.trunc {
            out.truncated = true;
        } else if let Some(h) = l.hdr {
            out.header.get_or_insert(h);
        } else if let (Some(t), Some(ch), Some(d)) = (l.t, l.ch, l.d) {
            if out.total >= offset && out.events.len() < limit {
                out.events.push(json!([t, ch, d]));
            }
            out.total += 1;
        }
    }
    Ok(out)
}

/// A recorded session as an asciinema v2 cast, one page of events at a time.
#[utoipa::path(
    get, path = "/sessions/{sid}/cast", tag = "sessions",
    security(("bearer" = [])),
    params(("sid" = String, Path, description = "Session id"), CastParams),
    responses(
        (status = 200, description = "An asciinema v2 cast: a header line then `[t, ch, d]` lines. \
            Headers: `X-Total-Count` (events in the recording), `X-Next-Offset` (absent on the last page), \
            `X-Recording-Truncated: true` when the 10 MB cap was hit", content_type = "application/x-asciicast", body = String),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "No such session, or no recording on this master", body = ErrorBody),
        (status = 422, description = "Invalid sid, offset or limit", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn cast(
    State(state): State<AppState>,
    _: Viewer,
    Path(sid): Path<String>,
    Query(p): Query<CastParams>,
) -> Result<Response, ApiError> {
    check_sid(&sid)?;
    let offset = p.offset.unwrap_or(0);
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let session = sessions::get(&state.store, &sid)
        .await?
        .ok_or_else(|| ApiError::not_found("no such session"))?;
    let location = session
        .transcript_location
        .ok_or_else(|| ApiError::not_found("this session has no recording"))?;
    let root = state.settings.recordings_dir.clone();
    let tag = location.sid.clone();
    let shard = location.shard.clone();
    let found = tokio::task::spawn_blocking(move || {
        let Some(path) = shard_path(&shard, root.as_deref()) else {
            return Ok(None);
        };
        scan(&path, &tag, offset, limit).map(Some)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let Some(scan) = found else {
        tracing::info!(%sid, shard = %location.shard, "recording not readable on this master");
        return Err(ApiError::not_found(
            "the recording is not stored on this master",
        ));
    };
    let header = scan
        .header
        .unwrap_or_else(|| json!({"version": 2, "width": 80, "height": 24}));
    let mut body = header.to_string();
    body.push('\n');
    for e in &scan.events {
        body.push_str(&e.to_string());
        body.push('\n');
    }
    let mut response = ([(header::CONTENT_TYPE, CAST_TYPE)], body).into_response();
    let h = response.headers_mut();
    h.insert(
        HeaderName::from_static("x-total-count"),
        HeaderValue::from(scan.total),
    );
    let next = offset.saturating_add(scan.events.len());
    if next < scan.total {
        h.insert(
            HeaderName::from_static("x-next-offset"),
            HeaderValue::from(next),
        );
    }
    if scan.truncated || session.truncated {
        h.insert(
            HeaderName::from_static("x-recording-truncated"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn scans_one_session_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions-2026-04-24.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(
            f,
            r#"{{"sid":"a","hdr":{{"version":2,"width":100,"height":30}}}}"#
        )
        .unwrap();
        writeln!(
            f,
            r#"{{"sid":"b","hdr":{{"version":2,"width":80,"height":24}}}}"#
        )
        .unwrap();
        for i in 0..5 {
            writeln!(f, r#"{{"sid":"a","t":{i}.5,"ch":"o","d":"line {i}\r\n"}}"#).unwrap();
            writeln!(f, r#"{{"sid":"b","t":{i}.0,"ch":"i","d":"x"}}"#).unwrap();
        }
        writeln!(f, "not json with \"a\" in it").unwrap();
        writeln!(f, r#"{{"sid":"a","trunc":true}}"#).unwrap();
        drop(f);
        let s = scan(&path, "a", 1, 2).unwrap();
        assert_eq!(s.header.unwrap()["width"], 100);
        assert_eq!(s.total, 5);
        assert!(s.truncated);
        assert_eq!(
            s.events,
            vec![
                json!([1.5, "o", "line 1\r\n"]),
                json!([2.5, "o", "line 2\r\n"])
            ]
        );
        let b = scan(&path, "b", 0, 100).unwrap();
        assert_eq!((b.total, b.truncated), (5, false));
    }

    #[test]
    fn only_shard_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("sessions-2026-04-24.jsonl");
        std::fs::write(&good, "").unwrap();
        let other = dir.path().join("passwd");
        std::fs::write(&other, "").unwrap();
        assert!(shard_path(good.to_str().unwrap(), None).is_some());
        assert!(shard_path(good.to_str().unwrap(), Some(dir.path())).is_some());
        assert!(shard_path(good.to_str().unwrap(), Some(FsPath::new("/nonexistent"))).is_none());
        assert!(shard_path(other.to_str().unwrap(), None).is_none());
        assert!(
            shard_path("sessions-2026-04-24.jsonl", None).is_none(),
            "relative"
        );
        let dotted = format!(
            "{}/../{}/sessions-2026-04-24.jsonl",
            dir.path().display(),
            dir.path().file_name().unwrap().to_str().unwrap()
        );
        assert!(shard_path(&dotted, None).is_none());
        // The decky writer's names are served from a transcripts directory only.
        let transcripts = dir.path().join("transcripts");
        std::fs::create_dir(&transcripts).unwrap();
        let decky_shard = transcripts.join("web-01_ssh_2026-04-24.jsonl");
        std::fs::write(&decky_shard, "").unwrap();
        assert!(shard_path(decky_shard.to_str().unwrap(), None).is_some());
        let loose = dir.path().join("web-01_ssh_2026-04-24.jsonl");
        std::fs::write(&loose, "").unwrap();
        assert!(shard_path(loose.to_str().unwrap(), None).is_none());
        assert!(check_sid("../etc").is_err() && check_sid("3f2a-b_c").is_ok());
    }
}
