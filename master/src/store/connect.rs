//! Start-up retry with exponential backoff; every failure is logged (seed DEBT-017).

use std::future::Future;
use std::time::Duration;

use super::StoreError;
use crate::config::DatabaseConfig;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, at least 1.
    pub attempts: u32,
    /// Wait after the first failure.
    pub initial_backoff: Duration,
    /// Upper bound of any wait.
    pub max_backoff: Duration,
}

impl From<&DatabaseConfig> for RetryPolicy {
    fn from(c: &DatabaseConfig) -> Self {
        Self {
            attempts: c.connect_attempts.max(1),
            initial_backoff: c.connect_backoff,
            max_backoff: c.connect_max_backoff,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// Runs `op` until it succeeds or the attempts are used up.
    pub async fn run<F, Fut, T>(&self, what: &str, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let attempts = self.attempts.max(1);
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(value) => {
                    if attempt > 1 {
                        tracing::info!(attempt, "{what} succeeded after retrying");
                    }
                    return Ok(value);
                }
                Err(error) if attempt < attempts => {
                    let wait = self.backoff(attempt);
                    tracing::warn!(
                        attempt,
                        attempts,
                        %error,
                        retry_in = ?wait,
                        "{what} attempt {attempt}/{attempts} failed: {error}"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(
                        attempts,
                        %error,
                        "{what} attempt {attempt}/{attempts} failed: {error}; giving up"
                    );
                    return Err(StoreError::GaveUp {
                        attempts,
                        last_error: error.to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy(10);
        let waits: Vec<u128> = (1..=5).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, [1, 2, 4, 4, 4]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(4));
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let value = policy(5)
            .run("test", || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(StoreError::Unavailable("down".into()))
                } else {
                    Ok(42)
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 42);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let err = policy(3)
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(StoreError::Unavailable("down".into()))
            })
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(
            matches!(err, StoreError::GaveUp { attempts: 3, .. }),
            "{err}"
        );
    }
}
