//! A POSIX-shell subset parser: lists (`;`, `&`, newlines), `&&`/`||`,
//! pipelines, `!`, quoting (`'…'`, `"…"`, `\`), `$VAR`/`${VAR}`/`$?`,
//! command substitution (`$(…)` and backticks), `$((…))`, redirections
//! (`<`, `>`, `>>`, `2>`, `2>&1`, `&>`), subshells, `{ …; }`, `if`, `for`,
//! `while`/`until`. Here-documents are not supported.
//!
//! Pure and bounded: nesting is limited, so attacker input cannot overflow
//! the stack, and incomplete input (an open quote, a trailing `|`) is
//! reported as [`ParseError::Incomplete`] so an interactive shell can ask
//! for more with its `PS2` prompt, as bash does.

/// Deepest nesting of subshells, groups, compound commands and substitutions.
pub const MAX_DEPTH: usize = 48;

/// A piece of a word before expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Unquoted literal text (subject to globbing).
    Lit(String),
    /// Quoted literal text.
    Quoted(String),
    /// `$name` or `${name}`; the flag says whether it was inside double quotes.
    Var(String, bool),
    /// `$(…)` or backticks (source text), quoted flag.
    Sub(String, bool),
    /// `$((…))` (source text), quoted flag.
    Arith(String, bool),
    /// `~` or `~user` at the start of a word.
    Tilde(String),
}

/// One word: parts concatenated before field splitting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    /// Its parts in order.
    pub parts: Vec<Part>,
}

impl Word {
    /// The text of a word made of literal parts only (reserved words, names).
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }
}

/// Redirection operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirOp {
    /// `<`.
    In,
    /// `>`.
    Out,
    /// `>>`.
    Append,
    /// `N>&M`.
    Dup(u32),
    /// `&>` (stdout and stderr to a file).
    Both,
}

/// One redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redir {
    /// Redirected descriptor.
    pub fd: u32,
    /// Operator.
    pub op: RedirOp,
    /// File name (empty for `Dup`).
    pub target: Word,
}

/// A command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `VAR=x cmd args… redirs…`.
    Simple {
        /// Assignments before the command name.
        assigns: Vec<(String, Word)>,
        /// Command name and arguments.
        words: Vec<Word>,
        /// Redirections.
        redirs: Vec<Redir>,
    },
    /// `( list )`.
    Subshell(Script, Vec<Redir>),
    /// `{ list; }`.
    Group(Script, Vec<Redir>),
    /// `if c; then b; elif …; else …; fi`.
    If {
        /// Conditions with their bodies.
        branches: Vec<(Script, Script)>,
        /// `else` body.
        otherwise: Option<Script>,
    },
    /// `for v in words; do body; done`.
    For {
        /// Loop variable.
        var: String,
        /// Words (`None`: `"$@"`).
        words: Option<Vec<Word>>,
        /// Body.
        body: Script,
    },
    /// `while c; do b; done` (or `until`).
    While {
        /// Condition.
        cond: Script,
        /// Body.
        body: Script,
        /// `until` instead of `while`.
        until: bool,
    },
}

/// Commands joined by pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// `!` in front.
    pub negate: bool,
    /// The commands.
    pub cmds: Vec<Command>,
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// Pipelines joined by `&&`/`||`, possibly sent to the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    /// First pipeline.
    pub first: Pipeline,
    /// The rest with their connectors.
    pub rest: Vec<(Connector, Pipeline)>,
    /// Ended with `&`.
    pub background: bool,
}

/// A list of and-or lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// In order.
    pub items: Vec<AndOr>,
}

/// Why a line did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// More input is needed (open quote, trailing operator, open compound).
    #[error("unexpected end of file")]
    Incomplete,
    /// bash's `syntax error near unexpected token` with the token.
    #[error("syntax error near unexpected token `{0}'")]
    Unexpected(String),
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("maximum nesting level exceeded")]
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word, String),
    Op(&'static str),
    Redir(Redir),
    Newline,
}

const OPS: &[&str] = &["&&", "||", ";;", "|", ";", "&", "(", ")"];

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
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

fn is_name_byte(b: u8) -> bool {
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
        Ok(Part::Sub(String::from_utf8_lossy(&src).into_owned(), quoted))
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
            while j < self.s.len() && (is_name_byte(self.s[j]) || self.s[j] == b'-' || self.s[j] == b'.') {
                j += 1;
            }
            if j >= self.s.len() || self.s[j] == b'/' || self.s[j].is_ascii_whitespace() || b";|&)<>".contains(&self.s[j]) {
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
                                self.i += if self.s.get(self.i + 1).is_some_and(|n| b"$`\"\\\n".contains(n)) { 2 } else { 1 };
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

    fn tokens(mut self) -> Result<Vec<Tok>, ParseError> {
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
                    out.push(Tok::Redir(Redir { fd: 1, op: RedirOp::Both, target }));
                }
                b'0'..=b'9' if matches!(self.s.get(self.i + 1), Some(b'<' | b'>')) => {
                    let fd = u32::from(c - b'0');
                    self.i += 1;
                    out.push(Tok::Redir(self.redir(Some(fd))?));
                }
                _ => {
                    if let Some(op) = OPS.iter().find(|op| self.s[self.i..].starts_with(op.as_bytes())) {
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
            Some(c) if b";|&()<>".contains(&c) => Err(ParseError::Unexpected((c as char).to_string())),
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
            return Ok(Redir { fd: fd.unwrap_or(0), op: RedirOp::In, target });
        }
        let fd = fd.unwrap_or(1);
        if self.peek() == Some(b'>') {
            self.i += 1;
            let target = self.redir_target()?;
            return Ok(Redir { fd, op: RedirOp::Append, target });
        }
        if self.peek() == Some(b'&') {
            self.i += 1;
            if let Some(d) = self.peek().filter(u8::is_ascii_digit) {
                self.i += 1;
                return Ok(Redir { fd, op: RedirOp::Dup(u32::from(d - b'0')), target: Word::default() });
            }
            let target = self.redir_target()?;
            return Ok(Redir { fd, op: RedirOp::Both, target });
        }
        if self.peek() == Some(b'|') {
            self.i += 1;
        }
        let target = self.redir_target()?;
        Ok(Redir { fd, op: RedirOp::Out, target })
    }
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
    depth: usize,
}

const RESERVED_END: &[&str] = &["then", "elif", "else", "fi", "do", "done", "}"];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Tok::Word(w, _)) => w.literal(),
            _ => None,
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.i += 1;
        }
    }

    fn unexpected(&self) -> ParseError {
        match self.peek() {
            None => ParseError::Incomplete,
            Some(Tok::Op(o)) => ParseError::Unexpected((*o).to_owned()),
            Some(Tok::Newline) => ParseError::Unexpected("newline".into()),
            Some(Tok::Word(_, raw)) => ParseError::Unexpected(raw.clone()),
            Some(Tok::Redir(_)) => ParseError::Unexpected("redirection".into()),
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), ParseError> {
        self.skip_newlines();
        if self.peek_word().as_deref() == Some(w) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A list until one of `stops` (reserved word) or `)` or end.
    fn list(&mut self, stops: &[&str]) -> Result<Script, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None => break,
                Some(Tok::Op(")")) => break,
                Some(Tok::Word(..)) if self.peek_word().is_some_and(|w| stops.contains(&w.as_str())) => break,
                _ => {}
            }
            let mut ao = self.and_or()?;
            match self.peek() {
                Some(Tok::Op(";")) | Some(Tok::Newline) => self.i += 1,
                Some(Tok::Op("&")) => {
                    ao.background = true;
                    self.i += 1;
                }
                Some(Tok::Op(";;")) => return Err(ParseError::Unexpected(";;".into())),
                _ => {}
            }
            items.push(ao);
        }
        self.depth -= 1;
        Ok(Script { items })
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let c = match self.peek() {
                Some(Tok::Op("&&")) => Connector::And,
                Some(Tok::Op("||")) => Connector::Or,
                _ => break,
            };
            self.i += 1;
            self.skip_newlines();
            rest.push((c, self.pipeline()?));
        }
        Ok(AndOr { first, rest, background: false })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let negate = self.peek_word().as_deref() == Some("!");
        if negate {
            self.i += 1;
        }
        let mut cmds = vec![self.command()?];
        while self.peek() == Some(&Tok::Op("|")) {
            self.i += 1;
            self.skip_newlines();
            cmds.push(self.command()?);
        }
        Ok(Pipeline { negate, cmds })
    }

    fn redirs(&mut self) -> Vec<Redir> {
        let mut out = Vec::new();
        while let Some(Tok::Redir(r)) = self.peek() {
            out.push(r.clone());
            self.i += 1;
        }
        out
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        match self.peek() {
            None => return Err(ParseError::Incomplete),
            Some(Tok::Op("(")) => {
                self.i += 1;
                let body = self.list(&[])?;
                if self.peek() != Some(&Tok::Op(")")) {
                    return Err(self.unexpected());
                }
                self.i += 1;
                let r = self.redirs();
                return Ok(Command::Subshell(body, r));
            }
            Some(Tok::Op(_)) | Some(Tok::Newline) => return Err(self.unexpected()),
            _ => {}
        }
        match self.peek_word().as_deref() {
            Some("{") => {
                self.i += 1;
                let body = self.list(&["}"])?;
                self.expect_word("}")?;
                let r = self.redirs();
                return Ok(Command::Group(body, r));
            }
            Some("if") => {
                self.i += 1;
                let mut branches = Vec::new();
                let mut otherwise = None;
                loop {
                    let cond = self.list(&["then"])?;
                    self.expect_word("then")?;
                    let body = self.list(&["elif", "else", "fi"])?;
                    branches.push((cond, body));
                    self.skip_newlines();
                    match self.peek_word().as_deref() {
                        Some("elif") => self.i += 1,
                        Some("else") => {
                            self.i += 1;
                            otherwise = Some(self.list(&["fi"])?);
                            self.expect_word("fi")?;
                            break;
                        }
                        Some("fi") => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
                return Ok(Command::If { branches, otherwise });
            }
            Some(kw @ ("while" | "until")) => {
                let until = kw == "until";
                self.i += 1;
                let cond = self.list(&["do"])?;
                self.expect_word("do")?;
                let body = self.list(&["done"])?;
                self.expect_word("done")?;
                return Ok(Command::While { cond, body, until });
            }
            Some("for") => {
                self.i += 1;
                let var = match self.peek_word() {
                    Some(v) if !v.is_empty() && v.bytes().all(is_name_byte) => v,
                    _ => return Err(self.unexpected()),
                };
                self.i += 1;
                self.skip_newlines();
                let mut words = None;
                if self.peek_word().as_deref() == Some("in") {
                    self.i += 1;
                    let mut ws = Vec::new();
                    while let Some(Tok::Word(w, _)) = self.peek() {
                        ws.push(w.clone());
                        self.i += 1;
                    }
                    words = Some(ws);
                }
                if matches!(self.peek(), Some(Tok::Op(";")) | Some(Tok::Newline)) {
                    self.i += 1;
                }
                self.expect_word("do")?;
                let body = self.list(&["done"])?;
                self.expect_word("done")?;
                return Ok(Command::For { var, words, body });
            }
            Some(w) if RESERVED_END.contains(&w) => return Err(ParseError::Unexpected(w.to_owned())),
            _ => {}
        }
        let mut assigns = Vec::new();
        let mut words = Vec::new();
        let mut redirs = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::Word(w, _)) => {
                    let w = w.clone();
                    self.i += 1;
                    if words.is_empty()
                        && let Some(Part::Lit(first)) = w.parts.first()
                        && let Some(eq) = first.find('=')
                        && eq > 0
                        && first[..eq].bytes().all(is_name_byte)
                        && !first.as_bytes()[0].is_ascii_digit()
                    {
                        let name = first[..eq].to_owned();
                        let mut value = w.clone();
                        value.parts[0] = Part::Lit(first[eq + 1..].to_owned());
                        assigns.push((name, value));
                        continue;
                    }
                    words.push(w);
                }
                Some(Tok::Redir(r)) => {
                    redirs.push(r.clone());
                    self.i += 1;
                }
                Some(Tok::Op("(")) if words.len() == 1 => {
                    // `name() { …; }` function definitions are not supported.
                    return Err(ParseError::Unexpected("(".into()));
                }
                _ => break,
            }
        }
        Ok(Command::Simple { assigns, words, redirs })
    }
}

/// Parses a complete script (one or more lines).
pub fn parse(src: &str) -> Result<Script, ParseError> {
    let toks = Lexer { s: src.as_bytes(), i: 0 }.tokens()?;
    let mut p = Parser { toks, i: 0, depth: 0 };
    let script = p.list(&[])?;
    if p.i < p.toks.len() {
        return Err(p.unexpected());
    }
    // A trailing `&&`, `||` or `|` was turned into Incomplete by the
    // parser reaching the end while wanting a command.
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Word {
        Word { parts: vec![Part::Lit(s.into())] }
    }

    fn simple(script: &Script, i: usize) -> (Vec<Word>, Vec<Redir>) {
        match &script.items[i].first.cmds[0] {
            Command::Simple { words, redirs, .. } => (words.clone(), redirs.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_pipes_and_connectors() {
        let s = parse("uname -a; free -m|grep Mem && echo ok || echo no &").unwrap();
        assert_eq!(s.items.len(), 2);
        assert_eq!(simple(&s, 0).0, vec![lit("uname"), lit("-a")]);
        assert_eq!(s.items[1].first.cmds.len(), 2);
        assert_eq!(s.items[1].rest.len(), 2);
        assert!(s.items[1].background);
    }

    #[test]
    fn quotes_expansions_and_redirections() {
        let s = parse("echo 'a b' \"x $HOME $(id -u)\" `whoami` >/tmp/o 2>&1").unwrap();
        let (w, r) = simple(&s, 0);
        assert_eq!(w[1], Word { parts: vec![Part::Quoted("a b".into())] });
        assert_eq!(
            w[2].parts,
            vec![
                Part::Quoted("x ".into()),
                Part::Var("HOME".into(), true),
                Part::Quoted(" ".into()),
                Part::Sub("id -u".into(), true),
            ]
        );
        assert_eq!(w[3].parts, vec![Part::Sub("whoami".into(), false)]);
        assert_eq!(r[0].op, RedirOp::Out);
        assert_eq!(r[1], Redir { fd: 2, op: RedirOp::Dup(1), target: Word::default() });
    }

    #[test]
    fn compound_commands() {
        let s = parse("for i in 1 2; do echo $i; done; if true; then echo y; else echo n; fi").unwrap();
        assert!(matches!(s.items[0].first.cmds[0], Command::For { .. }));
        assert!(matches!(s.items[1].first.cmds[0], Command::If { .. }));
        assert!(matches!(parse("(cd /tmp; ls)").unwrap().items[0].first.cmds[0], Command::Subshell(..)));
    }

    #[test]
    fn errors_like_bash() {
        assert_eq!(parse("echo \"abc").unwrap_err(), ParseError::Incomplete);
        assert_eq!(parse("ls |").unwrap_err(), ParseError::Incomplete);
        assert_eq!(parse("if true; then").unwrap_err(), ParseError::Incomplete);
        assert_eq!(parse("echo a;;").unwrap_err(), ParseError::Unexpected(";;".into()));
        assert_eq!(parse("| ls").unwrap_err(), ParseError::Unexpected("|".into()));
        assert_eq!(parse("fi").unwrap_err(), ParseError::Unexpected("fi".into()));
        assert_eq!(parse(&"(".repeat(200)).unwrap_err(), ParseError::TooDeep);
        assert_eq!(parse("X=1 Y=2").unwrap().items.len(), 1);
    }
}
