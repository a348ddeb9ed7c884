//! The tokenizer and parser of the search syntax.

use std::net::IpAddr;

use super::{Attacker, Column, MAX_LEN, Query, Term};

/// Why a search query was refused. Positions are 0-based character offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Longer than [`MAX_LEN`] characters.
    #[error("search is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Characters in the query.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A quote is opened and never closed.
    #[error("unterminated quote opened at position {at}")]
    UnterminatedQuote {
        /// Where the quote opens.
        at: usize,
    },
    /// A quote inside an unquoted word, or text right after a closing quote.
    #[error("unexpected quote at position {at}; quote the whole value instead")]
    UnexpectedQuote {
        /// Where the quote is.
        at: usize,
    },
    /// Text right after a closing quote, without a space.
    #[error("expected a space after the closing quote at position {at}")]
    MissingSpace {
        /// Where the extra text starts.
        at: usize,
    },
    /// A term starts with `:`.
    #[error("missing key before ':' at position {at}")]
    EmptyKey {
        /// Where the term starts.
        at: usize,
    },
    /// `key:` with nothing after it.
    #[error("missing value after '{key}:' at position {at}")]
    EmptyValue {
        /// The key.
        key: String,
        /// Where the value should start.
        at: usize,
    },
    /// `""` as a bare word.
    #[error("empty search word at position {at}")]
    EmptyWord {
        /// Where the word starts.
        at: usize,
    },
    /// A key that cannot be a field name.
    #[error("invalid field name {key:?} at position {at}")]
    BadKey {
        /// The key.
        key: String,
        /// Where the term starts.
        at: usize,
    },
    /// An `attacker:` value that is neither an address nor a CIDR block.
    #[error("invalid attacker address {value:?} at position {at}: expected an IP address or CIDR")]
    BadAttacker {
        /// The value.
        value: String,
        /// Where the value starts.
        at: usize,
    },
    /// A NUL character (the database cannot store it).
    #[error("NUL character at position {at}")]
    Nul {
        /// Where it is.
        at: usize,
    },
}

/// Keys naming something other than a field.
enum Key {
    Column(Column),
    Attacker,
}

fn special_key(key: &str) -> Option<Key> {
    Some(match key {
        "decky" => Key::Column(Column::Decky),
        "service" => Key::Column(Column::Service),
        "event" | "event_type" => Key::Column(Column::EventType),
        "host" => Key::Column(Column::Host),
        "session" | "session_id" => Key::Column(Column::Session),
        "attacker" | "src_ip" => Key::Attacker,
        _ => return None,
    })
}

/// Whether `key` parses as a field name (and not as a column or attacker key).
#[cfg(test)]
pub(crate) fn is_field_key(key: &str) -> bool {
    special_key(key).is_none() && !key.contains(':') && decnet_event::is_field_name(key)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// An unquoted run up to whitespace, the end, or (when `stop_at_colon`) the first `:`.
    fn unquoted(&mut self, stop_at_colon: bool) -> Result<String, ParseError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || (stop_at_colon && c == ':') {
                break;
            }
            if c == '"' {
                return Err(ParseError::UnexpectedQuote { at: self.pos });
            }
            out.push(c);
            self.pos += 1;
        }
        Ok(out)
    }

    /// A quoted string; the current character is the opening quote.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::UnterminatedQuote { at: open }),
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    match self.chars.get(self.pos + 1) {
                        Some(&c @ ('"' | '\\')) => {
                            out.push(c);
                            self.pos += 2;
                        }
                        // Any other backslash is literal, so Windows paths need no escaping.
                        _ => {
                            out.push('\\');
                            self.pos += 1;
                        }
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        match self.peek() {
            Some(c) if !c.is_whitespace() => Err(ParseError::MissingSpace { at: self.pos }),
            _ => Ok(out),
        }
    }

    /// A value after `key:`.
    fn value(&mut self, key: &str) -> Result<String, ParseError> {
        let at = self.pos;
        match self.peek() {
            Some('"') => self.quoted(),
            Some(c) if !c.is_whitespace() => self.unquoted(false),
            _ => Err(ParseError::EmptyValue {
                key: key.to_owned(),
                at,
            }),
        }
    }
}

pub(super) fn parse(input: &str) -> Result<Query, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    if chars.len() > MAX_LEN {
        return Err(ParseError::TooLong {
            len: chars.len(),
            max: MAX_LEN,
        });
    }
    if let Some(at) = chars.iter().position(|&c| c == '\0') {
        return Err(ParseError::Nul { at });
    }
    let mut lx = Lexer { chars, pos: 0 };
    let mut terms = Vec::new();
    loop {
        lx.skip_whitespace();
        let start = lx.pos;
        let Some(first) = lx.peek() else { break };
        if first == '"' {
            let word = lx.quoted()?;
            if word.is_empty() {
                return Err(ParseError::EmptyWord { at: start });
            }
            terms.push(Term::Word(word));
            continue;
        }
        let head = lx.unquoted(true)?;
        if lx.peek() != Some(':') {
            terms.push(Term::Word(head));
            continue;
        }
        if head.is_empty() {
            return Err(ParseError::EmptyKey { at: start });
        }
        lx.pos += 1;
        let value_at = lx.pos;
        let value = lx.value(&head)?;
        terms.push(match special_key(&head) {
            Some(Key::Column(column)) => Term::Column(column, value),
            Some(Key::Attacker) => {
                Term::Attacker(parse_attacker(&value).ok_or(ParseError::BadAttacker {
                    value,
                    at: value_at,
                })?)
            }
            None if decnet_event::is_field_name(&head) => Term::Field { key: head, value },
            None => {
                return Err(ParseError::BadKey {
                    key: head,
                    at: start,
                });
            }
        });
    }
    Ok(Query { terms })
}

fn parse_attacker(value: &str) -> Option<Attacker> {
    match value.split_once('/') {
        None => value.parse::<IpAddr>().ok().map(Attacker::Ip),
        Some((addr, len)) => {
            let addr: IpAddr = addr.parse().ok()?;
            // Digits only: `u8::from_str` would also take a leading '+'.
            if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let len: u8 = len.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            (len <= max).then_some(Attacker::Net(addr, len))
        }
    }
}
