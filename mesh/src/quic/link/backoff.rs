//! Reconnect delays: exponential with jitter for answered failures, flat for silence.
//!
//! Backoff protects a master that answers and refuses (TLS rejection, revocation, a close):
//! each such failure doubles the delay up to the cap. A dial that got no answer at all has
//! already waited `dial_timeout` and cost the master nothing, so it retries after the initial
//! delay without growing it; that keeps a link that comes back after a long partition
//! resuming within about one dial timeout instead of one capped backoff.

use std::time::Duration;

use rand::Rng;

/// What ended the previous attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The master answered and refused or closed.
    Answered,
    /// Nothing came back before the dial timeout.
    Silent,
    /// A connection was up for at least the stable period.
    AfterStableLink,
}

/// Jittered exponential backoff state.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    exponent: u32,
}

impl Backoff {
    /// Starts at `initial`, doubles per answered failure, never exceeds `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial: initial.max(Duration::from_millis(1)),
            max: max.max(initial),
            exponent: 0,
        }
    }

    /// The upper bound of the next delay, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.exponent).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt, after `failure`: uniformly within the upper half of
    /// the ceiling, so simultaneous agents spread out but never retry immediately.
    pub fn next_delay(&mut self, failure: Failure) -> Duration {
        let ceiling = match failure {
            Failure::AfterStableLink => {
                self.exponent = 0;
                self.initial
            }
            Failure::Silent => self.initial,
            Failure::Answered => {
                let ceiling = self.ceiling();
                if ceiling < self.max {
                    self.exponent += 1;
                }
                ceiling
            }
        };
        jitter(ceiling)
    }

    /// Forgets past failures.
    pub fn reset(&mut self) {
        self.exponent = 0;
    }
}

fn jitter(ceiling: Duration) -> Duration {
    let half = ceiling / 2;
    let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX);
    half + Duration::from_micros(rand::thread_rng().gen_range(0..=spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_failures_grow_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let ceiling = b.ceiling();
            let d = b.next_delay(Failure::Answered);
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d:?} outside {ceiling:?}"
            );
            ceilings.push(ceiling);
        }
        assert_eq!(ceilings[0], Duration::from_millis(100));
        assert_eq!(ceilings[1], Duration::from_millis(200));
        assert_eq!(ceilings[8], Duration::from_millis(25_600));
        assert_eq!(ceilings[9], Duration::from_secs(30));
        assert_eq!(ceilings[11], Duration::from_secs(30));
    }

    #[test]
    fn silence_does_not_grow_and_a_stable_link_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        for _ in 0..5 {
            b.next_delay(Failure::Answered);
        }
        assert_eq!(b.ceiling(), Duration::from_millis(3200));
        for _ in 0..10 {
            assert!(b.next_delay(Failure::Silent) <= Duration::from_millis(100));
        }
        assert_eq!(b.ceiling(), Duration::from_millis(3200));
        assert!(b.next_delay(Failure::AfterStableLink) <= Duration::from_millis(100));
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| b.next_delay(Failure::Answered)).collect();
        assert!(delays.len() > 10, "jitter should vary delays: {delays:?}");
    }
}
