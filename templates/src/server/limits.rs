//! Connection caps per decky and per source address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The key a source is counted under: the address, or its /64 for IPv6,
/// since one IPv6 attacker usually controls a whole /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_source: HashMap<IpAddr, usize>,
}

/// Admits connections while the decky-wide and per-source caps allow.
#[derive(Debug, Clone)]
pub struct ConnLimiter {
    max_total: usize,
    max_per_source: usize,
    counts: Arc<Mutex<Counts>>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The decky has `max_connections` open.
    DeckyFull,
    /// This source has `max_connections_per_ip` open.
    SourceFull,
}

impl ConnLimiter {
    /// A limiter with the given caps.
    pub fn new(max_total: usize, max_per_source: usize) -> Self {
        ConnLimiter {
            max_total,
            max_per_source,
            counts: Arc::default(),
        }
    }

    /// Admits a connection from `ip`, or says which cap is reached.
    pub fn try_acquire(&self, ip: IpAddr) -> Result<ConnPermit, Refusal> {
        let key = source_key(ip);
        let mut c = self.counts.lock();
        if c.total >= self.max_total {
            return Err(Refusal::DeckyFull);
        }
        let n = c.per_source.entry(key).or_insert(0);
        if *n >= self.max_per_source {
            return Err(Refusal::SourceFull);
        }
        *n += 1;
        c.total += 1;
        Ok(ConnPermit {
            key,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.counts.lock().total
    }
}

/// One admitted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct ConnPermit {
    key: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut c = self.counts.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_source.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.per_source.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_source_and_total_and_frees_on_drop() {
        let l = ConnLimiter::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).unwrap_err(), Refusal::SourceFull);
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).unwrap_err(), Refusal::DeckyFull);
        drop(p1);
        assert_eq!(l.open(), 2);
        let _p4 = l.try_acquire(a).unwrap();
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_v4_as_v4() {
        let l = ConnLimiter::new(10, 1);
        let _p = l.try_acquire("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert_eq!(
            l.try_acquire("2001:db8:1:2:ffff::9".parse().unwrap())
                .unwrap_err(),
            Refusal::SourceFull
        );
        let _q = l.try_acquire("2001:db8:1:3::1".parse().unwrap()).unwrap();
        let _r = l.try_acquire("192.0.2.9".parse().unwrap()).unwrap();
        assert_eq!(
            l.try_acquire("::ffff:192.0.2.9".parse().unwrap())
                .unwrap_err(),
            Refusal::SourceFull
        );
    }
}
