//! Login throttling: at most N attempts per window per client IP and per username.
//!
//! An attempt holds a slot from the moment it starts, so a burst of parallel guesses
//! is bounded too; a successful login gives its slot back, so only failures (and
//! attempts still in flight) count against the limit.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Attempts allowed per key and window.
pub const LOGIN_ATTEMPTS: usize = 10;
/// The sliding window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);
/// Keys tracked before stale entries are swept (bounds memory under a spray of IPs/names).
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Window<K> {
    hits: HashMap<K, VecDeque<Instant>>,
}

impl<K: Hash + Eq + Clone> Window<K> {
    fn new() -> Self {
        Self {
            hits: HashMap::new(),
        }
    }

    fn expire(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            q.pop_front();
        }
    }

    /// How long until a slot frees up for `key`, or `None` if one is free now.
    fn wait(&mut self, key: &K, now: Instant, limit: usize, window: Duration) -> Option<Duration> {
        let q = self.hits.get_mut(key)?;
        Self::expire(q, now, window);
        if q.len() < limit {
            return None;
        }
        q.front()
            .map(|oldest| window.saturating_sub(now.saturating_duration_since(*oldest)))
    }

    fn push(&mut self, key: K, at: Instant, window: Duration) {
        if self.hits.len() >= SWEEP_AT {
            self.hits.retain(|_, q| {
                Self::expire(q, at, window);
                !q.is_empty()
            });
        }
        self.hits.entry(key).or_default().push_back(at);
    }

    fn release(&mut self, key: &K, at: Instant) {
        if let Some(q) = self.hits.get_mut(key) {
            if let Some(i) = q.iter().position(|t| *t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                self.hits.remove(key);
            }
        }
    }
}

#[derive(Debug)]
struct Windows {
    by_ip: Window<IpAddr>,
    by_user: Window<String>,
}

/// The login limiter, shared by every request.
#[derive(Debug)]
pub struct LoginLimiter {
    limit: usize,
    window: Duration,
    inner: Mutex<Windows>,
}

/// A started attempt; [`Attempt::succeeded`] gives its slot back.
#[derive(Debug)]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    ip: IpAddr,
    user: String,
    at: Instant,
}

impl Attempt<'_> {
    /// The login succeeded: it no longer counts against the limits.
    pub fn succeeded(self) {
        let mut w = self.limiter.inner.lock();
        w.by_ip.release(&self.ip, self.at);
        w.by_user.release(&self.user, self.at);
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LOGIN_ATTEMPTS, LOGIN_WINDOW)
    }
}

impl LoginLimiter {
    /// A limiter of `limit` attempts per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            inner: Mutex::new(Windows {
                by_ip: Window::new(),
                by_user: Window::new(),
            }),
        }
    }

    /// Starts an attempt, or says how long to wait (the longer of the IP and user waits).
    pub fn begin(&self, ip: IpAddr, username: &str) -> Result<Attempt<'_>, Duration> {
        let user: String = username.chars().take(64).collect();
        let now = Instant::now();
        let mut w = self.inner.lock();
        let wait_ip = w.by_ip.wait(&ip, now, self.limit, self.window);
        let wait_user = w.by_user.wait(&user, now, self.limit, self.window);
        if let Some(wait) = wait_ip.max(wait_user) {
            return Err(wait.max(Duration::from_secs(1)));
        }
        w.by_ip.push(ip, now, self.window);
        w.by_user.push(user.clone(), now, self.window);
        Ok(Attempt {
            limiter: self,
            ip,
            user,
            at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn limits_per_ip_and_per_user() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for i in 0..3 {
            drop(l.begin(A, &format!("u{i}")).unwrap());
        }
        let wait = l.begin(A, "fresh").unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        for _ in 0..2 {
            drop(l.begin(B, "u0").unwrap());
        }
        assert!(l.begin(B, "u0").is_err(), "u0 had 3 attempts from two IPs");
        assert!(l.begin(B, "u9").is_ok());
    }

    #[test]
    fn successes_give_their_slot_back() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        for _ in 0..10 {
            l.begin(A, "admin").unwrap().succeeded();
        }
        drop(l.begin(A, "admin").unwrap());
        drop(l.begin(A, "admin").unwrap());
        assert!(l.begin(A, "admin").is_err());
    }

    #[test]
    fn window_slides() {
        let l = LoginLimiter::new(1, Duration::from_millis(30));
        drop(l.begin(A, "x").unwrap());
        assert!(l.begin(A, "x").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.begin(A, "x").is_ok());
    }
}
