//! Topics (the concrete subject of one event) and patterns (what a subscriber
//! asks for, with NATS-style wildcards).
//!
//! Both are dot-separated tokens. A token is non-empty and holds no `.`, no
//! whitespace or control character and no wildcard character. In a pattern a
//! token may instead be exactly `*` (any one token) or, as the last token
//! only, `>` (one or more trailing tokens, so `a.>` does not match `a`).
//!
//! Call sites never spell topics out: they come from the builders in
//! [`catalogue`] (re-exported here by family: [`decky`], [`topology`], ...).
//! [`Topic::parse`] and [`Pattern::parse`] exist for text that arrives from the
//! wire.

pub mod catalogue;
pub(crate) mod pattern;

use std::fmt;
use std::sync::Arc;

pub use catalogue::{attacker, credential, decky, host, system, topology};
pub(crate) use pattern::matches;

/// Longest topic or pattern accepted, in bytes; keeps every `SUB`/`PUB` header
/// line well inside the 4 KiB frame header limit.
pub const MAX_TOPIC_LEN: usize = 1024;

/// Most tokens a topic or pattern may have.
pub const MAX_TOKENS: usize = 32;

/// The single-token wildcard.
pub const WILDCARD_ONE: &str = "*";

/// The one-or-more trailing tokens wildcard.
pub const WILDCARD_TAIL: &str = ">";

/// Why a string is not a valid topic, pattern or topic token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The whole string is empty.
    #[error("topic is empty")]
    Empty,
    /// Longer than [`MAX_TOPIC_LEN`].
    #[error("topic is {0} bytes long, the limit is {MAX_TOPIC_LEN}")]
    TooLong(usize),
    /// More than [`MAX_TOKENS`] tokens.
    #[error("topic has {0} tokens, the limit is {MAX_TOKENS}")]
    TooManyTokens(usize),
    /// Two dots in a row, or a leading or trailing dot.
    #[error("token {0} is empty")]
    EmptyToken(usize),
    /// A character no token may hold.
    #[error("token {index} holds the forbidden character {ch:?}")]
    ForbiddenChar {
        /// Zero-based token index.
        index: usize,
        /// The offending character.
        ch: char,
    },
    /// A wildcard where only a concrete topic is allowed.
    #[error("token {0} is a wildcard, but a concrete topic is required")]
    WildcardInTopic(usize),
    /// `>` anywhere but as the last token, or a wildcard mixed with other characters.
    #[error("token {0} misuses a wildcard (`*` must be a whole token, `>` the whole last token)")]
    MisplacedWildcard(usize),
    /// A builder was given an identifier that is not one valid token.
    #[error("{what} {value:?} is not a valid topic token: {reason}")]
    InvalidId {
        /// What the identifier names (`decky id`, `worker`, ...).
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: Box<TopicError>,
    },
}

/// What a token is allowed to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    Topic,
    Pattern,
}

fn check_char(index: usize, ch: char) -> Result<(), TopicError> {
    if ch == '.' || ch.is_whitespace() || ch.is_control() {
        return Err(TopicError::ForbiddenChar { index, ch });
    }
    Ok(())
}

/// Validates one token; `last` tells whether `>` is allowed here.
fn check_token(index: usize, token: &str, grammar: Grammar, last: bool) -> Result<(), TopicError> {
    if token.is_empty() {
        return Err(TopicError::EmptyToken(index));
    }
    if token == WILDCARD_ONE || token == WILDCARD_TAIL {
        return match grammar {
            Grammar::Topic => Err(TopicError::WildcardInTopic(index)),
            Grammar::Pattern if token == WILDCARD_TAIL && !last => {
                Err(TopicError::MisplacedWildcard(index))
            }
            Grammar::Pattern => Ok(()),
        };
    }
    for ch in token.chars() {
        if ch == '*' || ch == '>' {
            return Err(match grammar {
                Grammar::Topic => TopicError::ForbiddenChar { index, ch },
                Grammar::Pattern => TopicError::MisplacedWildcard(index),
            });
        }
        check_char(index, ch)?;
    }
    Ok(())
}

fn check(s: &str, grammar: Grammar) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong(s.len()));
    }
    let count = s.split('.').count();
    if count > MAX_TOKENS {
        return Err(TopicError::TooManyTokens(count));
    }
    for (index, token) in s.split('.').enumerate() {
        check_token(index, token, grammar, index + 1 == count)?;
    }
    Ok(())
}

/// Validates a single identifier that a builder places into one token.
pub(crate) fn check_id(what: &'static str, value: String) -> Result<String, TopicError> {
    let reason = if value.is_empty() {
        Some(TopicError::EmptyToken(0))
    } else {
        check_token(0, &value, Grammar::Topic, true).err()
    };
    match reason {
        None => Ok(value),
        Some(reason) => Err(TopicError::InvalidId {
            what,
            value,
            reason: Box::new(reason),
        }),
    }
}

/// A concrete topic: what one event is published on. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

impl Topic {
    /// Parses a topic received from the wire; call sites use the [`catalogue`] builders.
    pub fn parse(s: &str) -> Result<Topic, TopicError> {
        check(s, Grammar::Topic)?;
        Ok(Topic(Arc::from(s)))
    }

    /// Wraps a string the catalogue has just assembled from validated parts.
    pub(crate) fn assembled(s: String) -> Result<Topic, TopicError> {
        check(&s, Grammar::Topic)?;
        Ok(Topic(Arc::from(s)))
    }

    /// A fixed catalogue topic; the catalogue's tests parse every one of them.
    pub(crate) fn constant(s: &'static str) -> Topic {
        debug_assert!(check(s, Grammar::Topic).is_ok(), "{s}");
        Topic(Arc::from(s))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The topic's tokens, first to last.
    pub fn tokens(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", &self.0)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A subscription pattern: a topic whose tokens may be `*` or (last) `>`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(Arc<str>);

impl Pattern {
    /// Parses a pattern received from the wire; call sites use the [`catalogue`] builders.
    pub fn parse(s: &str) -> Result<Pattern, TopicError> {
        check(s, Grammar::Pattern)?;
        Ok(Pattern(Arc::from(s)))
    }

    /// Wraps a string the catalogue has just assembled from validated parts.
    pub(crate) fn assembled(s: String) -> Result<Pattern, TopicError> {
        check(&s, Grammar::Pattern)?;
        Ok(Pattern(Arc::from(s)))
    }

    /// A fixed catalogue pattern; the catalogue's tests parse every one of them.
    pub(crate) fn constant(s: &'static str) -> Pattern {
        debug_assert!(check(s, Grammar::Pattern).is_ok(), "{s}");
        Pattern(Arc::from(s))
    }

    /// The pattern that matches exactly one topic.
    pub fn exact(topic: &Topic) -> Pattern {
        Pattern(topic.0.clone())
    }

    /// The pattern that matches every topic (`>`), e.g. for a federation link.
    pub fn everything() -> Pattern {
        Pattern(Arc::from(WILDCARD_TAIL))
    }

    /// Whether `topic` is matched by this pattern.
    pub fn matches(&self, topic: &Topic) -> bool {
        matches(&self.0, &topic.0)
    }

    /// The pattern as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern holds any wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.0
            .split('.')
            .any(|t| t == WILDCARD_ONE || t == WILDCARD_TAIL)
    }
}

impl From<&Topic> for Pattern {
    fn from(topic: &Topic) -> Pattern {
        Pattern::exact(topic)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({})", &self.0)
    }
}

impl AsRef<str> for Pattern {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_topics_parse() {
        for s in ["a", "a.b", "decky.7f3a.state", "x-y_z.1:2"] {
            assert_eq!(Topic::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn invalid_topics_are_rejected_with_a_reason() {
        assert_eq!(Topic::parse(""), Err(TopicError::Empty));
        assert_eq!(Topic::parse("a..b"), Err(TopicError::EmptyToken(1)));
        assert_eq!(Topic::parse(".a"), Err(TopicError::EmptyToken(0)));
        assert_eq!(Topic::parse("a."), Err(TopicError::EmptyToken(1)));
        assert_eq!(Topic::parse("a.*"), Err(TopicError::WildcardInTopic(1)));
        assert_eq!(Topic::parse(">"), Err(TopicError::WildcardInTopic(0)));
        assert!(matches!(
            Topic::parse("a b"),
            Err(TopicError::ForbiddenChar { index: 0, ch: ' ' })
        ));
        assert!(matches!(
            Topic::parse("a.b\tc"),
            Err(TopicError::ForbiddenChar { index: 1, .. })
        ));
        assert!(matches!(
            Topic::parse("a.b*"),
            Err(TopicError::ForbiddenChar { index: 1, ch: '*' })
        ));
        let long = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(
            Topic::parse(&long),
            Err(TopicError::TooLong(MAX_TOPIC_LEN + 1))
        );
        let deep = vec!["a"; MAX_TOKENS + 1].join(".");
        assert_eq!(
            Topic::parse(&deep),
            Err(TopicError::TooManyTokens(MAX_TOKENS + 1))
        );
    }

    #[test]
    fn patterns_accept_wildcards_only_as_whole_tokens() {
        for s in ["*", ">", "a.*", "a.>", "*.b.>", "a.*.c"] {
            assert!(Pattern::parse(s).is_ok(), "{s}");
        }
        assert_eq!(
            Pattern::parse("a.>.b"),
            Err(TopicError::MisplacedWildcard(1))
        );
        assert_eq!(
            Pattern::parse("a.b*"),
            Err(TopicError::MisplacedWildcard(1))
        );
        assert_eq!(
            Pattern::parse("a.>>"),
            Err(TopicError::MisplacedWildcard(1))
        );
        assert_eq!(Pattern::parse("a..>"), Err(TopicError::EmptyToken(1)));
    }

    #[test]
    fn ids_must_be_one_token() {
        assert!(check_id("decky id", "abc".into()).is_ok());
        for bad in ["", "a.b", "*", ">", "a b", "x>"] {
            assert!(
                matches!(
                    check_id("decky id", bad.into()),
                    Err(TopicError::InvalidId { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
