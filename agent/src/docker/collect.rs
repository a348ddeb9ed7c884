//! The collector: container stdout → events → the agent's sink (the durable outbox).
//!
//! Every DECNET container's stdout is followed through the engine's log API. Lines in
//! RFC 5424 form (decnet-decky's `--events-stdout`, or any BYOS service that logs the
//! predecessor's way) become [`Event`]s; other lines are ignored. Bursts of
//! connect/disconnect per (source, decky, service, type) within one second are collapsed
//! as the predecessor's collector did: the first passes, the rest are counted into a
//! `collapsed` field on the next one that passes. The engine keeps the log, so a restarted
//! agent resumes from its checkpoint (per container, by log timestamp) and loses nothing;
//! lines read twice (Podman stamps whole seconds) carry the same event id, which the
//! master stores once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::{ListContainersOptions, LogsOptions};
use decnet_event::Event;
use decnet_templates::emit::EventSink;
use futures::StreamExt as _;
use parking_lot::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use super::plan::{LABEL_DECKY, LABEL_HOST};

/// Event types whose bursts are collapsed.
pub const COLLAPSED_TYPES: [&str; 5] = ["connect", "disconnect", "connection", "accept", "close"];
/// The collapsing window.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Most keys remembered at once.
pub const MAX_KEYS: usize = 10_000;
/// Longest line accepted from a container; longer ones are cut there.
pub const MAX_LINE: usize = 256 * 1024;

type Key = (IpAddr, String, String, String);

/// Collapses bursts of connection events (pure; time is given).
#[derive(Debug, Default)]
pub struct Collapser {
    seen: HashMap<Key, (Instant, u64)>,
}

impl Collapser {
    /// The event to pass on, or `None` when it falls in a burst.
    pub fn admit(&mut self, mut event: Event, now: Instant) -> Option<Event> {
        if !COLLAPSED_TYPES.contains(&event.event_type.as_str()) {
            return Some(event);
        }
        let key = (
            event.src_ip,
            event.decky.clone(),
            event.service.clone(),
            event.event_type.clone(),
        );
        if let Some((last, suppressed)) = self.seen.get_mut(&key) {
            if now.duration_since(*last) < WINDOW {
                *suppressed += 1;
                return None;
            }
            if *suppressed > 0 {
                event
                    .fields
                    .insert("collapsed".to_owned(), suppressed.to_string());
            }
            *last = now;
            *suppressed = 0;
            return Some(event);
        }
        if self.seen.len() >= MAX_KEYS {
            self.seen
                .retain(|_, (last, n)| now.duration_since(*last) < WINDOW || *n > 0);
            if self.seen.len() >= MAX_KEYS {
                self.seen.clear();
            }
        }
        self.seen.insert(key, (now, 0));
        Some(event)
    }
}

/// One stdout line of container `decky` on agent `host` as an event, with the log
/// timestamp the engine prefixed it with. `None` for lines that are not RFC 5424.
pub fn line_to_event(
    line: &str,
    decky: &str,
    host: &str,
) -> Option<(Option<OffsetDateTime>, Event)> {
    let (stamp, rest) = match line.split_once(' ') {
        Some((s, rest)) if s.len() >= 20 && s.as_bytes()[4] == b'-' => {
            (OffsetDateTime::parse(s, &Rfc3339).ok(), rest)
        }
        _ => (None, line),
    };
    let parsed = decnet_event::rfc5424::parse(rest.trim_end_matches(['\r', '\n'])).ok()?;
    let mut event = parsed.to_event();
    if event.host.is_empty() {
        host.clone_into(&mut event.host);
    }
    if event.decky == "-" {
        decky.clone_into(&mut event.decky);
    }
    Some((stamp, event))
}

/// Log checkpoints per container id, persisted as JSON.
#[derive(Debug)]
struct Checkpoints {
    path: PathBuf,
    map: Mutex<BTreeMap<String, String>>,
    /// Changed since the last save.
    dirty: std::sync::atomic::AtomicBool,
}

impl Checkpoints {
    fn load(path: PathBuf) -> Self {
        let map = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Checkpoints {
            path,
            map: Mutex::new(map),
            dirty: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn get(&self, id: &str) -> Option<OffsetDateTime> {
        self.map
            .lock()
            .get(id)
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    }

    fn set(&self, id: &str, ts: OffsetDateTime) {
        if let Ok(s) = ts.format(&Rfc3339)
            && self.map.lock().insert(id.to_owned(), s.clone()).as_ref() != Some(&s)
        {
            self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn retain(&self, live: &HashSet<String>) {
        let mut map = self.map.lock();
        let before = map.len();
        map.retain(|id, _| live.contains(id));
        if map.len() != before {
            self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Writes the checkpoints when they changed since the last call.
    fn save(&self) {
        if !self.dirty.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let bytes = match serde_json::to_vec(&*self.map.lock()) {
            Ok(b) => b,
            Err(_) => return,
        };
        let tmp = self.path.with_extension("json.tmp");
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .is_err()
        {
            tracing::warn!(path = %self.path.display(), "cannot save collector checkpoints");
        }
    }
}

/// Follows every container of this host and hands their events to a sink.
pub struct Collector {
    docker: Docker,
    host: String,
    sink: Arc<dyn EventSink>,
    checkpoints: Arc<Checkpoints>,
    collapser: Arc<Mutex<Collapser>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("host", &self.host)
            .finish()
    }
}

impl Collector {
    /// A collector of `host`'s containers into `sink`; checkpoints in `state_root/docker`.
    pub fn new(
        docker: Docker,
        host: &str,
        sink: Arc<dyn EventSink>,
        state_root: &std::path::Path,
    ) -> Self {
        Collector {
            docker,
            host: host.to_owned(),
            sink,
            checkpoints: Arc::new(Checkpoints::load(
                state_root.join("docker").join("collector.json"),
            )),
            collapser: Arc::new(Mutex::new(Collapser::default())),
        }
    }

    /// Follows new containers every second until `cancel`; saves checkpoints once the
    /// sink has flushed what they cover.
    pub async fn run(self, cancel: CancellationToken) {
        let mut followed: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            followed.retain(|_, task| !task.is_finished());
            let filters = HashMap::from([
                (
                    "label".to_owned(),
                    vec![format!("{LABEL_HOST}={}", self.host)],
                ),
                ("status".to_owned(), vec!["running".to_owned()]),
            ]);
            let list = match self
                .docker
                .list_containers(Some(ListContainersOptions {
                    filters: Some(filters),
                    ..Default::default()
                }))
                .await
            {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "collector cannot list containers");
                    continue;
                }
            };
            let mut live = HashSet::new();
            for c in list {
                let (Some(id), Some(labels)) = (c.id, c.labels) else {
                    continue;
                };
                live.insert(id.clone());
                let Some(decky) = labels.get(LABEL_DECKY).cloned() else {
                    continue;
                };
                if followed.contains_key(&id) {
                    continue;
                }
                let follow = Follow {
                    from: self.checkpoints.get(&id),
                    id: id.clone(),
                    decky,
                    host: self.host.clone(),
                    sink: self.sink.clone(),
                    checkpoints: self.checkpoints.clone(),
                    collapser: self.collapser.clone(),
                };
                let task = tokio::spawn(follow.run(self.docker.clone(), cancel.clone()));
                followed.insert(id, task);
            }
            self.sink.flush().await;
            self.checkpoints
                .retain(&live.iter().chain(followed.keys()).cloned().collect());
            self.checkpoints.save();
        }
        for (_, task) in followed {
            let _ = task.await;
        }
        self.sink.flush().await;
        self.checkpoints.save();
    }
}

/// One container's log being followed.
struct Follow {
    id: String,
    decky: String,
    host: String,
    sink: Arc<dyn EventSink>,
    checkpoints: Arc<Checkpoints>,
    collapser: Arc<Mutex<Collapser>>,
    /// The checkpoint it resumed from.
    from: Option<OffsetDateTime>,
}

impl Follow {
    async fn run(self, docker: Docker, cancel: CancellationToken) {
        let since = self
            .from
            .map_or(0, |t| i32::try_from(t.unix_timestamp()).unwrap_or(0));
        let mut logs = docker
            .logs(
                &self.id,
                Some(LogsOptions {
                    follow: true,
                    stdout: true,
                    stderr: false,
                    timestamps: true,
                    since,
                    ..Default::default()
                }),
            )
            .boxed();
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = tokio::select! {
                () = cancel.cancelled() => return,
                c = logs.next() => c,
            };
            let bytes = match chunk {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => message,
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::debug!(container = %self.id, error = %e, "log stream ended");
                    return;
                }
                None => return,
            };
            pending.extend_from_slice(&bytes);
            while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=nl).collect();
                self.line(&line);
            }
            if pending.len() > MAX_LINE {
                let line = std::mem::take(&mut pending);
                self.line(&line);
            }
        }
    }

    fn line(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let Some((stamp, event)) = line_to_event(&text, &self.decky, &self.host) else {
            return;
        };
        // Podman stamps whole seconds: lines of the checkpoint's own second are read again;
        // they keep their event ids, so the master stores them once.
        if let (Some(stamp), Some(from)) = (stamp, self.from)
            && stamp < from
        {
            return;
        }
        if let Some(event) = self.collapser.lock().admit(event, Instant::now()) {
            self.sink.emit(event);
        }
        if let Some(stamp) = stamp {
            self.checkpoints.set(&self.id, stamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(kind: &str, ip: &str) -> Event {
        Event::builder()
            .decky("d1")
            .service("ssh")
            .event_type(kind)
            .src(format!("{ip}:4000").parse().unwrap())
            .dst_port(22)
            .build()
            .unwrap()
    }

    #[test]
    fn bursts_collapse_and_the_next_event_counts_them() {
        let mut c = Collapser::default();
        let t0 = Instant::now();
        assert!(c.admit(ev("connect", "192.0.2.1"), t0).is_some());
        for i in 1..=5 {
            assert!(
                c.admit(
                    ev("connect", "192.0.2.1"),
                    t0 + Duration::from_millis(i * 100)
                )
                .is_none()
            );
        }
        // Another source, another type, or a non-connection event pass.
        assert!(c.admit(ev("connect", "192.0.2.2"), t0).is_some());
        assert!(c.admit(ev("disconnect", "192.0.2.1"), t0).is_some());
        assert!(c.admit(ev("auth", "192.0.2.1"), t0).is_some());
        assert!(c.admit(ev("auth", "192.0.2.1"), t0).is_some());
        let next = c.admit(ev("connect", "192.0.2.1"), t0 + WINDOW).unwrap();
        assert_eq!(next.fields.get("collapsed").map(String::as_str), Some("5"));
        let after = c
            .admit(ev("connect", "192.0.2.1"), t0 + WINDOW * 3)
            .unwrap();
        assert!(!after.fields.contains_key("collapsed"));
    }

    #[test]
    fn rfc5424_lines_with_engine_timestamps_become_events() {
        let e = ev("auth", "198.51.100.4");
        let line = format!(
            "2026-11-29T18:08:23.604654123Z {}\n",
            decnet_event::rfc5424::render(&e)
        );
        let (stamp, got) = line_to_event(&line, "ignored", "sensor-a").unwrap();
        assert_eq!(stamp.unwrap().nanosecond(), 604_654_123);
        assert_eq!(got.id, e.id);
        assert_eq!(got.decky, "d1");
        assert_eq!(got.host, "sensor-a");
        assert_eq!(got.src_ip.to_string(), "198.51.100.4");
        assert!(line_to_event("2026-11-29T18:08:23Z just a log line\n", "d", "h").is_none());
        // Podman's whole-second stamps.
        let podman = format!("2026-11-29T18:18:54Z {}", decnet_event::rfc5424::render(&e));
        let (stamp, got) = line_to_event(&podman, "x", "h").unwrap();
        assert_eq!(stamp.unwrap().second(), 54);
        assert_eq!(got.id, e.id);
        assert!(line_to_event("", "d", "h").is_none());
    }

    proptest! {
        #[test]
        fn any_line_is_handled_without_panicking(line in ".{0,400}") {
            let _ = line_to_event(&line, "d", "h");
        }

        #[test]
        fn a_burst_emits_once_per_window(n in 1usize..200, gap_ms in 0u64..50) {
            let mut c = Collapser::default();
            let t0 = Instant::now();
            let passed = (0..n)
                .filter(|i| c.admit(ev("connect", "192.0.2.9"), t0 + Duration::from_millis(*i as u64 * gap_ms)).is_some())
                .count();
            let span = (n as u64 - 1) * gap_ms;
            prop_assert!(passed >= 1);
            prop_assert!(passed as u64 <= span / 1000 + 1);
        }
    }
}
