//! Waiting for the operator to stop the process.

use tokio::signal::unix::{SignalKind, signal as unix_signal};

/// Resolves on SIGINT or SIGTERM and returns the signal's name.
///
/// If a handler cannot be installed (which only happens when the runtime has
/// no signal driver) the other signal still works; if neither can, it never
/// resolves rather than shutting down spuriously.
pub async fn signal() -> &'static str {
    let mut term = unix_signal(SignalKind::terminate()).ok();
    let mut int = unix_signal(SignalKind::interrupt()).ok();
    tokio::select! {
        Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => "SIGTERM",
        Some(()) = async { match int.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => "SIGINT",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[tokio::test]
    async fn resolves_on_sigterm() {
        let waiter = tokio::spawn(super::signal());
        // Give the handler time to register before raising the signal.
        tokio::time::sleep(Duration::from_millis(50)).await;
        nix_kill_self();
        let name = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("signal() resolves")
            .expect("task ran");
        assert_eq!(name, "SIGTERM");
    }

    fn nix_kill_self() {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}
