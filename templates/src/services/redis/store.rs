//! The fake keyspace: 16 databases, seeded with plausible application data,
//! shared by every connection of the decky like a real server's.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use rand_chacha::ChaCha20Rng;

/// Number of databases (`databases 16`).
pub const DATABASES: usize = 16;
/// Keys the store accepts in total before answering OOM.
pub const MAX_KEYS: usize = 10_000;
/// Bytes of values the store accepts in total before answering OOM.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// A stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Str(Vec<u8>),
    /// A list.
    List(VecDeque<Vec<u8>>),
    /// A hash, in insertion order.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A set.
    Set(BTreeSet<Vec<u8>>),
}

impl Value {
    /// The `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
        }
    }

    fn size(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::List(l) => l.iter().map(Vec::len).sum(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len()).sum(),
            Value::Set(s) => s.iter().map(Vec::len).sum(),
        }
    }
}

/// When a key expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// At this instant.
    At(Instant),
    /// Seeded keys an "application" keeps refreshing: the TTL cycles through
    /// `period` forever, so bait never disappears.
    Rolling {
        /// Cycle length.
        period: Duration,
        /// Offset within the cycle at start.
        origin: Instant,
    },
}

impl Expiry {
    /// Time left, or `None` if already expired.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        match *self {
            Expiry::At(t) => t.checked_duration_since(now).filter(|d| !d.is_zero()),
            Expiry::Rolling { period, origin } => {
                let since = now.saturating_duration_since(origin).as_millis();
                let period_ms = period.as_millis().max(1);
                let left = period_ms - since % period_ms;
                Some(Duration::from_millis(left as u64))
            }
        }
    }
}

/// One key's value and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Expiry, if any.
    pub expiry: Option<Expiry>,
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// All databases.
#[derive(Debug)]
pub struct Store {
    dbs: Vec<HashMap<Vec<u8>, Entry>>,
    bytes: usize,
    keys: usize,
}

impl Store {
    /// An empty store.
    pub fn empty() -> Self {
        Store {
            dbs: (0..DATABASES).map(|_| HashMap::new()).collect(),
            bytes: 0,
            keys: 0,
        }
    }

    /// A store whose db0 looks like a web application's cache.
    pub fn seeded(rng: &mut ChaCha20Rng, now: Instant) -> Self {
        let mut s = Store::empty();
        for (key, entry) in seed_entries(rng, now) {
            // Seeded content is far below the caps.
            let _ = s.insert(0, key, entry);
        }
        s
    }

    fn expire_if_due(&mut self, db: usize, key: &[u8], now: Instant) {
        let due = self.dbs[db]
            .get(key)
            .and_then(|e| e.expiry)
            .is_some_and(|x| x.remaining(now).is_none());
        if due {
            self.remove(db, key);
        }
    }

    /// The live entry of `key`.
    pub fn get(&mut self, db: usize, key: &[u8], now: Instant) -> Option<&Entry> {
        self.expire_if_due(db, key, now);
        self.dbs[db].get(key)
    }

    /// Stores `entry`, replacing any value.
    pub fn insert(&mut self, db: usize, key: Vec<u8>, entry: Entry) -> Result<(), OutOfMemory> {
        let add = key.len() + entry.value.size();
        let old = self.dbs[db].get(&key).map(|e| key.len() + e.value.size());
        let new_bytes = self.bytes - old.unwrap_or(0) + add;
        let new_keys = self.keys + usize::from(old.is_none());
        if new_bytes > MAX_BYTES || new_keys > MAX_KEYS {
            return Err(OutOfMemory);
        }
        self.bytes = new_bytes;
        self.keys = new_keys;
        self.dbs[db].insert(key, entry);
        Ok(())
    }

    /// Removes `key`; whether it existed.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> bool {
        match self.dbs[db].remove(key) {
            Some(e) => {
                self.bytes -= key.len() + e.value.size();
                self.keys -= 1;
                true
            }
            None => false,
        }
    }

    /// Sets or clears the expiry of an existing key; whether it existed.
    pub fn set_expiry(
        &mut self,
        db: usize,
        key: &[u8],
        expiry: Option<Expiry>,
        now: Instant,
    ) -> bool {
        self.expire_if_due(db, key, now);
        match self.dbs[db].get_mut(key) {
            Some(e) => {
                e.expiry = expiry;
                true
            }
            None => false,
        }
    }

    /// Live keys of `db` in table order (which, as in Redis, looks random).
    pub fn keys(&mut self, db: usize, now: Instant) -> Vec<Vec<u8>> {
        self.purge(db, now);
        self.dbs[db].keys().cloned().collect()
    }

    fn purge(&mut self, db: usize, now: Instant) {
        let due: Vec<Vec<u8>> = self.dbs[db]
            .iter()
            .filter(|(_, e)| e.expiry.is_some_and(|x| x.remaining(now).is_none()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.remove(db, &k);
        }
    }

    /// `(keys, keys with an expiry)` of `db`.
    pub fn counts(&mut self, db: usize, now: Instant) -> (usize, usize) {
        self.purge(db, now);
        let keys = self.dbs[db].len();
        let expires = self.dbs[db].values().filter(|e| e.expiry.is_some()).count();
        (keys, expires)
    }

    /// Empties one database.
    pub fn flush_db(&mut self, db: usize) {
        let keys: Vec<Vec<u8>> = self.dbs[db].keys().cloned().collect();
        for k in keys {
            self.remove(db, &k);
        }
    }

    /// Empties every database.
    pub fn flush_all(&mut self) {
        for db in 0..DATABASES {
            self.flush_db(db);
        }
    }

    /// Approximate bytes held, for INFO.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// One element of a glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// `*`.
    Star,
    /// `?`.
    Any,
    /// A literal byte (also `\x`).
    Lit(u8),
    /// `[...]`: ranges and bytes, negated with `^`.
    Class {
        /// Negated.
        not: bool,
        /// Inclusive ranges (a single byte is `(b, b)`).
        ranges: Vec<(u8, u8)>,
    },
}

fn tokens(p: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star);
                }
            }
            b'?' => out.push(Tok::Any),
            b'\\' if i + 1 < p.len() => {
                i += 1;
                out.push(Tok::Lit(p[i]));
            }
            b'[' => {
                i += 1;
                let not = p.get(i) == Some(&b'^');
                if not {
                    i += 1;
                }
                let mut ranges = Vec::new();
                // As in Redis, an unterminated class runs to the end of the pattern.
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        i += 1;
                        ranges.push((p[i], p[i]));
                    } else if i + 2 < p.len() && p[i + 1] == b'-' {
                        let (a, b) = (p[i], p[i + 2]);
                        ranges.push((a.min(b), a.max(b)));
                        i += 2;
                    } else {
                        ranges.push((p[i], p[i]));
                    }
                    i += 1;
                }
                out.push(Tok::Class { not, ranges });
            }
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

fn single(t: &Tok, c: u8) -> bool {
    match t {
        Tok::Star => false,
        Tok::Any => true,
        Tok::Lit(l) => *l == c,
        Tok::Class { not, ranges } => ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *not,
    }
}

/// Redis's `stringmatchlen` (`*`, `?`, `[...]` with `^` and ranges, `\` escapes),
/// matched with single-star backtracking so a hostile pattern costs at most
/// O(pattern × key) instead of exponential time.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    let toks = tokens(pattern);
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match toks.get(p) {
            Some(Tok::Star) => {
                star = Some((p, i));
                p += 1;
            }
            Some(t) if single(t, s[i]) => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    star = Some((sp, si + 1));
                    p = sp + 1;
                    i = si + 1;
                }
                None => return false,
            },
        }
    }
    toks[p.min(toks.len())..].iter().all(|t| *t == Tok::Star)
}

fn seed_entries(rng: &mut ChaCha20Rng, now: Instant) -> Vec<(Vec<u8>, Entry)> {
    const FIRST: &[&str] = &[
        "james", "maria", "chen", "fatima", "lukas", "sofia", "dmitri", "aisha", "pedro", "emma",
    ];
    const DOMAINS: &[&str] = &["gmail.com", "outlook.com", "yahoo.com", "protonmail.com"];
    const PAGES: &[&str] = &[
        "home",
        "pricing",
        "about",
        "blog:index",
        "products:list",
        "faq",
    ];
    let mut out = Vec::new();
    let hex = |rng: &mut ChaCha20Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect()
    };
    let rolling = |rng: &mut ChaCha20Rng, min: u64, max: u64| {
        let period = Duration::from_secs(rng.gen_range(min..max));
        let phase = Duration::from_millis(rng.gen_range(0..period.as_millis() as u64));
        Some(Expiry::Rolling {
            period,
            origin: now.checked_sub(phase).unwrap_or(now),
        })
    };
    for _ in 0..rng.gen_range(4..14) {
        let sid = hex(rng, 32);
        let uid = rng.gen_range(1000..99_999);
        let csrf = hex(rng, 40);
        let value = format!("{{\"user_id\":{uid},\"csrf\":\"{csrf}\",\"remember\":false}}");
        let expiry = rolling(rng, 1800, 86_400);
        out.push((
            format!("session:{sid}"),
            Value::Str(value.into_bytes()),
            expiry,
        ));
    }
    for _ in 0..rng.gen_range(3..10) {
        let uid = rng.gen_range(1000..99_999);
        let name = *FIRST.choose(rng).unwrap_or(&"admin");
        let domain = *DOMAINS.choose(rng).unwrap_or(&"gmail.com");
        let hash = format!("$2y$10${}", hex(rng, 53));
        let fields = vec![
            (b"name".to_vec(), name.as_bytes().to_vec()),
            (
                b"email".to_vec(),
                format!("{name}.{uid}@{domain}").into_bytes(),
            ),
            (b"password".to_vec(), hash.into_bytes()),
            (
                b"role".to_vec(),
                if rng.gen_bool(0.1) {
                    b"admin".to_vec()
                } else {
                    b"user".to_vec()
                },
            ),
        ];
        out.push((format!("user:{uid}"), Value::Hash(fields), None));
    }
    for page in PAGES {
        if !rng.gen_bool(0.6) {
            continue;
        }
        let len = rng.gen_range(200..2000);
        let body = format!("<!-- cached {} -->{}", hex(rng, 8), "x".repeat(len));
        out.push((
            format!("cache:page:{page}"),
            Value::Str(body.into_bytes()),
            rolling(rng, 300, 3600),
        ));
    }
    let jobs: VecDeque<Vec<u8>> = (0..rng.gen_range(0..6))
        .map(|_| {
            format!(
                "{{\"job\":\"SendWelcomeEmail\",\"id\":\"{}\"}}",
                hex(rng, 12)
            )
            .into_bytes()
        })
        .collect();
    if !jobs.is_empty() {
        out.push(("queue:mail".to_owned(), Value::List(jobs), None));
    }
    let db_pass = hex(rng, 16);
    out.push((
        "config:app".to_owned(),
        Value::Hash(vec![
            (b"db_host".to_vec(), b"10.0.12.5".to_vec()),
            (b"db_user".to_vec(), b"app".to_vec()),
            (b"db_password".to_vec(), db_pass.into_bytes()),
            (b"smtp_host".to_vec(), b"mail.internal".to_vec()),
        ]),
        None,
    ));
    let online: BTreeSet<Vec<u8>> = (0..rng.gen_range(1..8))
        .map(|_| rng.gen_range(1000..99_999).to_string().into_bytes())
        .collect();
    out.push((
        "users:online".to_owned(),
        Value::Set(online),
        rolling(rng, 60, 600),
    ));
    out.push((
        "stats:visits".to_owned(),
        Value::Str(rng.gen_range(10_000..9_000_000).to_string().into_bytes()),
        None,
    ));
    out.into_iter()
        .map(|(k, value, expiry)| (k.into_bytes(), Entry { value, expiry }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn glob_matches_like_redis() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes());
        assert!(m("*", "anything"));
        assert!(m("session:*", "session:ab12"));
        assert!(!m("session:*", "user:1"));
        assert!(m("h?llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("*:*:*", "cache:page:home"));
        assert!(!m("a", ""));
        assert!(m("*a*b", "xxaxxb"));
        assert!(!m("*a*b", "xxaxxbx"));
        assert!(m("a*", "a"));
        assert!(m("[abc", "b"), "an unterminated class runs to the end");
        // Exponential for naive backtracking; must finish instantly here.
        let evil = format!("{}b", "*a".repeat(30));
        let started = std::time::Instant::now();
        assert!(!glob_match(evil.as_bytes(), "a".repeat(5000).as_bytes()));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn seeded_store_is_deterministic_and_expiry_rolls() {
        let now = Instant::now();
        let mut a = Store::seeded(&mut ChaCha20Rng::from_seed([1; 32]), now);
        let mut b = Store::seeded(&mut ChaCha20Rng::from_seed([1; 32]), now);
        let mut ka = a.keys(0, now);
        let mut kb = b.keys(0, now);
        ka.sort();
        kb.sort();
        assert_eq!(ka, kb);
        assert!(ka.len() >= 10);
        let later = now + Duration::from_secs(10 * 86_400);
        assert_eq!(
            a.keys(0, later).len(),
            ka.len(),
            "rolling keys never expire"
        );
    }

    #[test]
    fn caps_and_expiry() {
        let now = Instant::now();
        let mut s = Store::empty();
        let e = |v: &[u8], x| Entry {
            value: Value::Str(v.to_vec()),
            expiry: x,
        };
        s.insert(
            1,
            b"k".to_vec(),
            e(b"v", Some(Expiry::At(now + Duration::from_secs(5)))),
        )
        .unwrap();
        assert!(s.get(1, b"k", now).is_some());
        assert!(s.get(1, b"k", now + Duration::from_secs(6)).is_none());
        assert_eq!(s.counts(1, now), (0, 0));
        let big = vec![0u8; MAX_BYTES];
        assert_eq!(
            s.insert(0, b"big".to_vec(), e(&big, None)),
            Err(OutOfMemory)
        );
        assert_eq!(s.bytes(), 0);
    }
}
