//! RFC 5424 lines on stdout (or any writer), one per event.
//!
//! Rendering and writing happen on a dedicated thread fed by a bounded queue,
//! so a slow reader of stdout can never stall a connection; the writer
//! flushes whenever the queue runs empty, so lines appear promptly.

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use decnet_event::{Event, rfc5424};

use super::{BoxFuture, EventSink};

/// Events queued before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 65_536;

/// A drained batch at least this large means the writer is busy.
const BUSY_BATCH: usize = 16;

/// How long a busy writer lets events accumulate.
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

enum Msg {
    Event(Box<Event>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Writes RFC 5424 lines from a background thread.
#[derive(Debug, Clone)]
pub struct LineSink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl LineSink {
    /// Lines on the process's stdout.
    pub fn stdout() -> std::io::Result<Self> {
        Self::with_writer(std::io::stdout())
    }

    /// Lines on `writer`.
    pub fn with_writer<W: Write + Send + 'static>(writer: W) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("decky-events".into())
            .spawn(move || write_loop(rx, writer))?;
        Ok(LineSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }
}

fn write_loop<W: Write>(rx: Receiver<Msg>, writer: W) {
    let mut out = BufWriter::with_capacity(64 * 1024, writer);
    let mut line = String::with_capacity(512);
    let mut broken = false;
    let mut handle = |msg: Msg, out: &mut BufWriter<W>, broken: &mut bool| match msg {
        Msg::Event(event) => {
            line.clear();
            rfc5424::render_into(&event, &mut line);
            line.push('\n');
            if !*broken && let Err(e) = out.write_all(line.as_bytes()) {
                tracing::error!(error = %e, "event output failed; further events are discarded");
                *broken = true;
            }
        }
        Msg::Flush(done) => {
            let _ = out.flush();
            let _ = done.send(());
        }
    };
    while let Ok(msg) = rx.recv() {
        handle(msg, &mut out, &mut broken);
        let mut batch = 1;
        while let Ok(more) = rx.try_recv() {
            handle(more, &mut out, &mut broken);
            batch += 1;
        }
        if !broken && let Err(e) = out.flush() {
            tracing::error!(error = %e, "event output failed; further events are discarded");
            broken = true;
        }
        // Under load, let events pile up for a millisecond instead of being
        // woken (a futex call on the emitting thread) for each one.
        if batch >= BUSY_BATCH {
            std::thread::sleep(BUSY_PAUSE);
        }
    }
    let _ = out.flush();
}

impl EventSink for LineSink {
    fn emit(&self, event: Event) {
        match self.tx.try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "event output overloaded; dropping events");
                }
            }
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        let tx = self.tx.clone();
        Box::pin(async move {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            // A full queue makes `send` block, so do it off the async threads.
            let sent =
                tokio::task::spawn_blocking(move || tx.send(Msg::Flush(done_tx)).is_ok()).await;
            if matches!(sent, Ok(true)) {
                let _ = done_rx.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn writes_one_parseable_line_per_event() {
        let buf = Shared::default();
        let sink = LineSink::with_writer(buf.clone()).unwrap();
        let e = Event::builder()
            .decky("d1")
            .service("redis")
            .event_type("command")
            .src("192.0.2.1:1234".parse().unwrap())
            .dst_port(6379)
            .field("args", "[\"a\\nb\"]\n]")
            .build()
            .unwrap();
        sink.emit(e.clone());
        sink.emit(e.clone());
        sink.flush().await;
        let text = String::from_utf8(buf.0.lock().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(rfc5424::parse(lines[1]).unwrap().to_event(), e);
        assert_eq!(sink.dropped(), 0);
    }
}
