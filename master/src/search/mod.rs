//! The events search syntax (the predecessor's), parsed without I/O.
//!
//! A query is whitespace-separated terms, all of which must match (AND):
//!
//! * `decky:NAME`, `service:NAME`, `event:TYPE` (alias `event_type:`), `host:NAME`,
//!   `session:SID` (alias `session_id:`) — equality on the event's own columns;
//! * `attacker:IP` or `attacker:CIDR` (alias `src_ip:`) — the source address;
//! * any other `key:value` — the field `key` equals `value` (jsonb containment);
//! * a bare word — a case-insensitive substring of the message or of the fields.
//!
//! A value or a bare word may be quoted (`k:"a b"`, `"two words"`); inside quotes `\"` is a
//! quote and `\\` a backslash, any other backslash is literal. A term is split at its first
//! `:`, so the value may contain more (`attacker:2001:db8::1`). Queries are at most
//! [`MAX_LEN`] characters. [`Query`]'s `Display` renders a query that parses back to the
//! same terms; [`sql::filter`] turns it into SQL conditions with parameters only.

mod parse;
pub mod sql;

use std::fmt;
use std::net::IpAddr;

pub use parse::ParseError;

/// Longest accepted query, in characters (seed DEBT-016).
pub const MAX_LEN: usize = 512;

/// A parsed search: every term must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The terms, in input order.
    pub terms: Vec<Term>,
}

/// One condition of a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Equality on one of the event's own text columns.
    Column(Column, String),
    /// The source address.
    Attacker(Attacker),
    /// A field equals a value.
    Field {
        /// Field name.
        key: String,
        /// Exact value.
        value: String,
    },
    /// A case-insensitive substring of the message or of the fields.
    Word(String),
}

/// The event columns a `key:` term can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// `decky:`
    Decky,
    /// `service:`
    Service,
    /// `event:` / `event_type:`
    EventType,
    /// `host:`
    Host,
    /// `session:` / `session_id:`
    Session,
}

impl Column {
    /// Every column, for tests and documentation.
    pub const ALL: [Column; 5] = [
        Column::Decky,
        Column::Service,
        Column::EventType,
        Column::Host,
        Column::Session,
    ];

    /// The canonical search key.
    pub fn key(self) -> &'static str {
        match self {
            Column::Decky => "decky",
            Column::Service => "service",
            Column::EventType => "event",
            Column::Host => "host",
            Column::Session => "session",
        }
    }

    /// The SQL column; a fixed allowlist, never user text.
    pub fn sql_name(self) -> &'static str {
        match self {
            Column::Decky => "decky",
            Column::Service => "service",
            Column::EventType => "event_type",
            Column::Host => "host",
            Column::Session => "session_id",
        }
    }
}

/// What an `attacker:` term matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attacker {
    /// Exactly this address.
    Ip(IpAddr),
    /// Any address in `addr/prefix` (the address is kept as written).
    Net(IpAddr, u8),
}

impl Attacker {
    /// The lowest and highest address matched, inclusive.
    pub fn range(self) -> (IpAddr, IpAddr) {
        match self {
            Attacker::Ip(ip) => (ip, ip),
            Attacker::Net(IpAddr::V4(a), len) => {
                let bits = u32::from(a);
                let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                (
                    IpAddr::V4((bits & !host).into()),
                    IpAddr::V4((bits | host).into()),
                )
            }
            Attacker::Net(IpAddr::V6(a), len) => {
                let bits = u128::from(a);
                let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                (
                    IpAddr::V6((bits & !host).into()),
                    IpAddr::V6((bits | host).into()),
                )
            }
        }
    }
}

impl fmt::Display for Attacker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attacker::Ip(ip) => write!(f, "{ip}"),
            Attacker::Net(ip, len) => write!(f, "{ip}/{len}"),
        }
    }
}

impl Query {
    /// Parses `input`; see the module documentation for the syntax.
    pub fn parse(input: &str) -> Result<Query, ParseError> {
        parse::parse(input)
    }

    /// Whether there is no term (everything matches).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

impl std::str::FromStr for Query {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Query::parse(s)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{term}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Column(column, value) => {
                write!(f, "{}:", column.key())?;
                write_value(f, value, false)
            }
            Term::Attacker(a) => write!(f, "attacker:{a}"),
            Term::Field { key, value } => {
                write!(f, "{key}:")?;
                write_value(f, value, false)
            }
            Term::Word(word) => write_value(f, word, true),
        }
    }
}

/// Writes `value`, quoted only when it would not parse back unquoted.
fn write_value(f: &mut fmt::Formatter<'_>, value: &str, bare_word: bool) -> fmt::Result {
    let needs_quotes = value.is_empty()
        || value.chars().any(|c| c.is_whitespace() || c == '"')
        || (bare_word && value.contains(':'));
    if !needs_quotes {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        // A backslash needs escaping only where the parser would read it as an escape:
        // before a quote, a backslash, or the closing quote.
        let escape =
            c == '"' || (c == '\\' && matches!(chars.peek(), None | Some('"') | Some('\\')));
        if escape {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests;
