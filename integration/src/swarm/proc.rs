//! Child processes whose output lines are collected while they run.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A running child; killed on drop.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut v) = sink.lock() {
                v.push(line);
            }
        }
    });
    lines
}

fn snapshot(lines: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    lines.lock().map(|v| v.clone()).unwrap_or_default()
}

impl Proc {
    /// Starts `cmd` as `name` (for messages).
    pub fn spawn(name: &str, mut cmd: Command) -> anyhow::Result<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let out = collect(child.stdout.take().context("no stdout")?);
        let err = collect(child.stderr.take().context("no stderr")?);
        Ok(Proc {
            name: name.to_owned(),
            child,
            out,
            err,
        })
    }

    /// Lines printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        snapshot(&self.out)
    }

    /// Lines printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        snapshot(&self.err)
    }

    /// Everything printed on stderr so far, as one text.
    pub fn stderr_text(&self) -> String {
        self.stderr().join("\n")
    }

    /// Waits for a stdout line starting with `prefix`.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
        self.wait_for(prefix, timeout, |l| l.starts_with(prefix))
    }

    /// Waits for a stdout line matching `pred` (`what` names it in the error).
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| pred(l)) {
                return Ok(line);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before printing {what:?}:\n{}",
                    self.name,
                    self.stderr().join("\n")
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} printed no {what:?} within {timeout:?}:\n{}",
                    self.name,
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, waiting up to `grace` before SIGKILL.
    pub fn terminate(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id())?);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                return Ok(self.child.wait()?);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGKILL, no grace: the crash fault.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.terminate(Duration::from_secs(10));
        }
    }
}
