//! The tokenizer: words with their quoting structure, operators and
//! redirections.

use super::{ParseError, Part, Redir, RedirOp, Word};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Word(Word, String),
    Op(&'static str),
    Redir(Redir),
    Newline,
}

const OPS: &[&str] = &["&&", "||", ";;", "|", ";", "&", "(", ")"];

pub(super) struct Lexer<'a> {
    pub(super) s: &'a [u8],
    pub(super) i: usize,
}

/// Finds the end of a `$(…)`-style group starting after the opening `(`,
/// honouring nested parentheses and quotes; returns the index of the `)`.
fn matching_paren(s: &[u8], mut i: usize) -> Result<usize, ParseError> {
    let mut depth = 1usize;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'\'' => {
                i += 1;
                while i < s.len() && s[i] != b'\'' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < s.len() && s[i] != b'"' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(ParseError::Incomplete)
}

pub(super) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn text(&self, a: usize, b: usize) -> String {
        String::from_utf8_lossy(&self.s[a..b]).into_owned()
    }

    /// `$…` at `self.i` (pointing at `$`).
    fn dollar(&mut self, quoted: bool) -> Result<Part, ParseError> {
        self.i += 1;
        match self.peek() {
            Some(b'(') if self.s.get(self.i + 1) == Some(&b'(') => {
                let inner = matching_paren(self.s, self.i + 2)?;
                if self.s.get(inner + 1) == Some(&b')') {
                    let src = self.text(self.i + 2, inner);
                    self.i = inner + 2;
                    return Ok(Part::Arith(src, quoted));
                }
                // `$( (…) … )`: a substitution whose first command is a subshell.
                let end = matching_paren(self.s, self.i + 1)?;
                let src = self.text(self.i + 1, end);
                self.i = end + 1;
                Ok(Part::Sub(src, quoted))
            }
            Some(b'(') => {
                let end = matching_paren(self.s, self.i + 1)?;
                let src = self.text(self.i + 1, end);
                self.i = end + 1;
                Ok(Part::Sub(src, quoted))
            }
            Some(b'{') => {
                let start = self.i + 1;
                let mut j = start;
                while j < self.s.len() && self.s[j] != b'}' {
                    j += 1;
                }
                if j >= self.s.len() {
                    return Err(ParseError::Incomplete);
                }
                self.i = j + 1;
                Ok(Part::Var(self.text(start, j), quoted))
            }
            Some(c) if b"?$#!@*-0123456789".contains(&c) => {
                self.i += 1;
                Ok(Part::Var((c as char).to_string(), quoted))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self.peek().is_some_and(is_name_byte) {
                    self.i += 1;
                }
                Ok(Part::Var(self.text(start, self.i), quoted))
            }
            _ => Ok(if quoted {
                Part::Quoted("$".into())
            } else {
                Part::Lit("$".into())
            }),
        }
    }

    fn backtick(&mut self, quoted: bool) -> Result<Part, ParseError> {
        let start = self.i + 1;
        let mut j = start;
        let mut src = Vec::new();
        while j < self.s.len() && self.s[j] != b'`' {
            if self.s[j] == b'\\' && j + 1 < self.s.len() && b"$`\\".contains(&self.s[j + 1]) {
                j += 1;
            }
            src.push(self.s[j]);
            j += 1;
        }
        if j >= self.s.len() {
            return Err(ParseError::Incomplete);
        }
        self.i = j + 1;
        Ok(Part::Sub(
            String::from_utf8_lossy(&src).into_owned(),
            quoted,
        ))
    }

    fn push_lit(parts: &mut Vec<Part>, c: char, quoted: bool) {
        match (parts.last_mut(), quoted) {
            (Some(Part::Lit(s)), false) | (Some(Part::Quoted(s)), true) => s.push(c),
            _ => parts.push(if quoted {
                Part::Quoted(c.to_string())
            } else {
                Part::Lit(c.to_string())
            }),
        }
    }

    /// Reads one word starting at `self.i`.
    fn word(&mut self) -> Result<(Word, String), ParseError> {
        let start = self.i;
        let mut parts = Vec::new();
        if self.peek() == Some(b'~') {
            let s = self.i + 1;
            let mut j = s;
            while j < self.s.len()
                && (is_name_byte(self.s[j]) || self.s[j] == b'-' || self.s[j] == b'.')
            {
                j += 1;
            }
            if j >= self.s.len()
                || self.s[j] == b'/'
                || self.s[j].is_ascii_whitespace()
                || b";|&)<>".contains(&self.s[j])
            {
                parts.push(Part::Tilde(self.text(s, j)));
                self.i = j;
            }
        }
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' | b'(' | b')' | b'<' | b'>' => break,
                b'\\' => {
                    match self.s.get(self.i + 1) {
                        None => return Err(ParseError::Incomplete),
                        Some(b'\n') => {}
                        Some(&n) => Self::push_lit(&mut parts, n as char, true),
                    }
                    self.i += 2;
                }
                b'\'' => {
                    let s = self.i + 1;
                    let mut j = s;
                    while j < self.s.len() && self.s[j] != b'\'' {
                        j += 1;
                    }
                    if j >= self.s.len() {
                        return Err(ParseError::Incomplete);
                    }
                    parts.push(Part::Quoted(self.text(s, j)));
                    self.i = j + 1;
                }
                b'"' => {
                    self.i += 1;
                    // An empty "" still makes a (empty) field.
                    parts.push(Part::Quoted(String::new()));
                    loop {
                        match self.peek() {
                            None => return Err(ParseError::Incomplete),
                            Some(b'"') => {
                                self.i += 1;
                                break;
                            }
                            Some(b'\\') => {
                                match self.s.get(self.i + 1) {
                                    Some(&n) if b"$`\"\\".contains(&n) => {
                                        Self::push_lit(&mut parts, n as char, true)
                                    }
                                    Some(b'\n') => {}
                                    Some(_) => Self::push_lit(&mut parts, '\\', true),
                                    None => return Err(ParseError::Incomplete),
                                }
                                self.i += if self
                                    .s
                                    .get(self.i + 1)
                                    .is_some_and(|n| b"$`\"\\\n".contains(n))
                                {
                                    2
                                } else {
                                    1
                                };
                            }
                            Some(b'$') => parts.push(self.dollar(true)?),
                            Some(b'`') => parts.push(self.backtick(true)?),
                            Some(_) => {
                                let ch = self.utf8_char();
                                Self::push_lit(&mut parts, ch, true);
                            }
                        }
                    }
                }
                b'$' => parts.push(self.dollar(false)?),
                b'`' => parts.push(self.backtick(false)?),
                _ => {
                    let ch = self.utf8_char();
                    Self::push_lit(&mut parts, ch, false);
                }
            }
        }
        Ok((Word { parts }, self.text(start, self.i)))
    }

    fn utf8_char(&mut self) -> char {
        let rest = &self.s[self.i..];
        let len = match rest.first() {
            Some(b) if *b < 0x80 => 1,
            Some(b) if *b >= 0xf0 => 4,
            Some(b) if *b >= 0xe0 => 3,
            Some(b) if *b >= 0xc0 => 2,
            _ => 1,
        };
        match rest.get(..len).and_then(|b| std::str::from_utf8(b).ok()) {
            Some(s) => {
                self.i += len;
                s.chars().next().unwrap_or('\u{fffd}')
            }
            None => {
                self.i += 1;
                '\u{fffd}'
            }
        }
    }

    pub(super) fn tokens(mut self) -> Result<Vec<Tok>, ParseError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    out.push(Tok::Newline);
                    self.i += 1;
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                b'<' | b'>' => out.push(Tok::Redir(self.redir(None)?)),
                b'&' if self.s.get(self.i + 1) == Some(&b'>') => {
                    self.i += 2;
                    let target = self.redir_target()?;
                    out.push(Tok::Redir(Redir {
                        fd: 1,
                        op: RedirOp::Both,
                        target,
                    }));
                }
                b'0'..=b'9' if matches!(self.s.get(self.i + 1), Some(b'<' | b'>')) => {
                    let fd = u32::from(c - b'0');
                    self.i += 1;
                    out.push(Tok::Redir(self.redir(Some(fd))?));
                }
                _ => {
                    if let Some(op) = OPS
                        .iter()
                        .find(|op| self.s[self.i..].starts_with(op.as_bytes()))
                    {
                        self.i += op.len();
                        out.push(Tok::Op(op));
                    } else {
                        let (w, raw) = self.word()?;
                        out.push(Tok::Word(w, raw));
                    }
                }
            }
        }
        Ok(out)
    }

    fn redir_target(&mut self) -> Result<Word, ParseError> {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        match self.peek() {
            None | Some(b'\n') => Err(ParseError::Unexpected("newline".into())),
            Some(c) if b";|&()<>".contains(&c) => {
                Err(ParseError::Unexpected((c as char).to_string()))
            }
            _ => Ok(self.word()?.0),
        }
    }

    fn redir(&mut self, fd: Option<u32>) -> Result<Redir, ParseError> {
        let c = self.peek().unwrap_or(b'>');
        self.i += 1;
        if c == b'<' {
            if self.peek() == Some(b'<') {
                return Err(ParseError::Unexpected("<<".into()));
            }
            let target = self.redir_target()?;
            return Ok(Redir {
                fd: fd.unwrap_or(0),
                op: RedirOp::In,
                target,
            });
        }
        let fd = fd.unwrap_or(1);
        if self.peek() == Some(b'>') {
            self.i += 1;
            let target = self.redir_target()?;
            return Ok(Redir {
                fd,
                op: RedirOp::Append,
                target,
            });
        }
        if self.peek() == Some(b'&') {
            self.i += 1;
            if let Some(d) = self.peek().filter(u8::is_ascii_digit) {
                self.i += 1;
                return Ok(Redir {
                    fd,
                    op: RedirOp::Dup(u32::from(d - b'0')),
                    target: Word::default(),
                });
            }
            let target = self.redir_target()?;
            return Ok(Redir {
                fd,
                op: RedirOp::Both,
                target,
            });
        }
        if self.peek() == Some(b'|') {
            self.i += 1;
        }
        let target = self.redir_target()?;
        Ok(Redir {
            fd,
            op: RedirOp::Out,
            target,
        })
    }
}
