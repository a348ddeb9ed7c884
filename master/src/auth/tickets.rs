//! Single-use, short-lived tickets that authenticate one live stream (`?ticket=`).
//!
//! Browsers' `EventSource` cannot send an Authorization header; a ticket keeps the
//! long-lived token out of URLs and logs. Only the ticket's SHA-256 is kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a ticket stays redeemable.
pub const TICKET_TTL: Duration = Duration::from_secs(60);
/// Outstanding tickets per user; the oldest is dropped past this.
const MAX_PER_USER: usize = 16;

/// Outstanding tickets.
#[derive(Debug, Default)]
pub struct Tickets {
    inner: Mutex<HashMap<[u8; 32], (Owner, Instant)>>,
}

/// Whom a ticket was issued to: the user and the token that asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The user.
    pub user: Uuid,
    /// `jti` of the requesting token, so a logout also voids its tickets.
    pub jti: Uuid,
}

fn digest(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.as_bytes()).into()
}

impl Tickets {
    /// A new ticket for `owner`, valid for [`TICKET_TTL`].
    pub fn issue(&self, owner: Owner) -> String {
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let ticket = URL_SAFE_NO_PAD.encode(raw);
        let now = Instant::now();
        let mut map = self.inner.lock();
        map.retain(|_, (_, expires)| *expires > now);
        let mut mine: Vec<([u8; 32], Instant)> = map
            .iter()
            .filter(|(_, (o, _))| o.user == owner.user)
            .map(|(k, (_, e))| (*k, *e))
            .collect();
        if mine.len() >= MAX_PER_USER {
            mine.sort_by_key(|(_, e)| *e);
            for (k, _) in mine.iter().take(mine.len() + 1 - MAX_PER_USER) {
                map.remove(k);
            }
        }
        map.insert(digest(&ticket), (owner, now + TICKET_TTL));
        ticket
    }

    /// Consumes a ticket: its owner, once, before it expires.
    pub fn redeem(&self, ticket: &str) -> Option<Owner> {
        if ticket.len() > 128 {
            return None;
        }
        let (owner, expires) = self.inner.lock().remove(&digest(ticket))?;
        (expires > Instant::now()).then_some(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use() {
        let t = Tickets::default();
        let u = Owner {
            user: Uuid::now_v7(),
            jti: Uuid::now_v7(),
        };
        let ticket = t.issue(u);
        assert_eq!(t.redeem(&ticket), Some(u));
        assert_eq!(t.redeem(&ticket), None);
        assert_eq!(t.redeem("made-up"), None);
    }

    #[test]
    fn outstanding_tickets_are_bounded_per_user() {
        let t = Tickets::default();
        let u = Owner {
            user: Uuid::now_v7(),
            jti: Uuid::now_v7(),
        };
        let first = t.issue(u);
        let rest: Vec<String> = (0..MAX_PER_USER).map(|_| t.issue(u)).collect();
        assert_eq!(t.redeem(&first), None, "oldest dropped");
        assert!(rest.iter().all(|r| t.redeem(r) == Some(u)));
    }
}
