#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn rec(dir: &Path, cfg: RecordingConfig) -> Recorder {
    Recorder::new(dir, "decky-01", "ssh", cfg)
}

fn started(r: &Recorder, sid: &str) -> SessionRecording {
    match r.start(sid, 80, 24, "xterm-256color") {
        Start::Recording(s) => s,
        other => panic!("not recording: {other:?}"),
    }
}

fn free_cfg() -> RecordingConfig {
    RecordingConfig {
        min_free: 0,
        ..RecordingConfig::default()
    }
}

#[test]
fn records_and_reads_back_with_pages() {
    let dir = tempfile::tempdir().unwrap();
    let r = rec(dir.path(), free_cfg());
    let mut a = started(&r, "aaaa1111");
    let mut b = started(&r, "bbbb2222");
    a.output(b"root@web-01:~# ");
    b.output(b"other session");
    a.input(b"l");
    a.input(b"s\r");
    // A character split across two writes is kept whole.
    a.output(&"é".as_bytes()[..1]);
    a.output(&"é".as_bytes()[1..]);
    a.resize(120, 40);
    let done = a.finish();
    r.flush();
    assert_eq!(done.event_type, SESSION_RECORDED);
    assert_eq!(done.get("sid"), Some("aaaa1111"));
    assert_eq!(done.get("truncated"), Some("false"));
    let shard = done.get("shard_path").unwrap().to_owned();
    assert!(shard.contains("transcripts/decky-01_ssh_20"), "{shard}");
    let on_disk = std::fs::read_to_string(&shard).unwrap();
    assert_eq!(
        done.get("bytes").unwrap().parse::<usize>().unwrap(),
        on_disk
            .lines()
            .filter(|l| l.contains("aaaa1111"))
            .map(|l| l.len() + 1)
            .sum::<usize>()
    );
    let cast = read_session(
        r.dir(),
        "decky-01",
        "ssh",
        None,
        "aaaa1111",
        Page::default(),
    )
    .unwrap();
    assert_eq!(cast.header.version, 2);
    assert_eq!((cast.header.width, cast.header.height), (80, 24));
    assert_eq!(cast.header.env["TERM"], "xterm-256color");
    let kinds: Vec<(&str, &str)> = cast
        .events
        .iter()
        .map(|e| (e.1.as_str(), e.2.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("o", "root@web-01:~# "),
            ("i", "l"),
            ("i", "s\r"),
            ("o", "é"),
            ("r", "120x40")
        ]
    );
    assert!(
        cast.events.windows(2).all(|w| w[0].0 <= w[1].0),
        "timestamps are ordered"
    );
    assert_eq!(
        (cast.total, cast.has_more, cast.truncated),
        (5, false, false)
    );
    let page = read_session(
        r.dir(),
        "decky-01",
        "ssh",
        Some(&cast.day),
        "aaaa1111",
        Page {
            offset: 1,
            limit: 2,
        },
    )
    .unwrap();
    assert_eq!(page.events, cast.events[1..3]);
    assert!(page.has_more);
    let text = cast.to_asciicast();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["version"], 2);
    let second: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second[1], "o");
    assert!(matches!(
        read_session(r.dir(), "decky-01", "ssh", None, "nope", Page::default()),
        Err(ReadError::NotFound)
    ));
    assert!(matches!(
        read_session(r.dir(), "../etc", "ssh", None, "x", Page::default()),
        Err(ReadError::InvalidName("decky"))
    ));
    assert!(matches!(
        read_session(
            r.dir(),
            "decky-01",
            "ssh",
            Some("../../x"),
            "x",
            Page::default()
        ),
        Err(ReadError::InvalidName("day"))
    ));
    drop(b);
}

#[test]
fn session_cap_truncates_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let r = rec(
        dir.path(),
        RecordingConfig {
            session_cap: 600,
            ..free_cfg()
        },
    );
    let mut s = started(&r, "cccc3333");
    for _ in 0..20 {
        s.output(&[b'x'; 50]);
    }
    let done = s.finish();
    r.flush();
    assert_eq!(done.get("truncated"), Some("true"));
    let cast = read_session(
        r.dir(),
        "decky-01",
        "ssh",
        None,
        "cccc3333",
        Page::default(),
    )
    .unwrap();
    assert!(cast.truncated);
    assert!(cast.total > 0 && cast.total < 20, "{}", cast.total);
    let bytes: u64 = done.get("bytes").unwrap().parse().unwrap();
    assert!(bytes <= 600 + 40, "{bytes}");
}

#[test]
fn disk_pressure_skips_recording() {
    let dir = tempfile::tempdir().unwrap();
    let r = rec(
        dir.path(),
        RecordingConfig {
            min_free: u64::MAX,
            ..RecordingConfig::default()
        },
    );
    match r.start("dddd4444", 80, 24, "xterm") {
        Start::Skipped(d) => {
            assert_eq!(d.event_type, SESSION_SKIPPED);
            assert_eq!(d.get("reason"), Some("disk_pressure"));
            assert_eq!(d.get("sid"), Some("dddd4444"));
        }
        other => panic!("{other:?}"),
    }
    let off = rec(
        dir.path(),
        RecordingConfig {
            enabled: false,
            ..RecordingConfig::default()
        },
    );
    assert!(matches!(off.start("x", 80, 24, "xterm"), Start::Disabled));
}

#[test]
fn rotation_keeps_n_and_the_reader_follows_a_sid_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let r = rec(
        dir.path(),
        RecordingConfig {
            shard_max: 1024,
            keep: 2,
            ..free_cfg()
        },
    );
    let mut long = started(&r, "eeee5555");
    for i in 0..30 {
        long.output(format!("line {i:03} {}", "y".repeat(60)).as_bytes());
        if i % 10 == 9 {
            r.flush();
        }
    }
    let done = long.finish();
    r.flush();
    let day = read_session(
        r.dir(),
        "decky-01",
        "ssh",
        None,
        "eeee5555",
        Page {
            offset: 0,
            limit: 1,
        },
    )
    .map(|c| c.day);
    // The header was in the oldest rotation, which was dropped: the session is gone.
    assert!(matches!(day, Err(ReadError::NotFound)), "{day:?}");
    let files: Vec<String> = std::fs::read_dir(r.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 3, "live + 2 rotations: {files:?}");
    assert!(
        files.iter().any(|f| f.ends_with(".2.jsonl"))
            && files.iter().any(|f| f.ends_with(".1.jsonl"))
    );
    assert_eq!(done.get("truncated"), Some("false"));

    // A session that spans a rotation is read back whole.
    let dir = tempfile::tempdir().unwrap();
    let r = rec(
        dir.path(),
        RecordingConfig {
            shard_max: 2048,
            keep: 4,
            ..free_cfg()
        },
    );
    let mut s = started(&r, "ffff6666");
    for i in 0..20 {
        s.output(format!("chunk {i:02} {}", "z".repeat(60)).as_bytes());
    }
    let _ = s.finish();
    r.flush();
    let shards = reader::day_shards(r.dir(), "decky-01", "ssh", &utc_day(unix_now()));
    assert!(shards.len() >= 2, "{shards:?}");
    let cast = read_session(
        r.dir(),
        "decky-01",
        "ssh",
        None,
        "ffff6666",
        Page {
            offset: 0,
            limit: 5000,
        },
    )
    .unwrap();
    assert_eq!(cast.total, 20);
    assert_eq!(cast.events[0].2, format!("chunk 00 {}", "z".repeat(60)));
    assert_eq!(cast.events[19].2, format!("chunk 19 {}", "z".repeat(60)));
}
