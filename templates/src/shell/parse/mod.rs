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

mod lex;

use self::lex::{Lexer, Tok, is_name_byte};

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
                Some(Tok::Word(..))
                    if self
                        .peek_word()
                        .is_some_and(|w| stops.contains(&w.as_str())) =>
                {
                    break;
                }
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
        Ok(AndOr {
            first,
            rest,
            background: false,
        })
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
                return Ok(Command::If {
                    branches,
                    otherwise,
                });
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
            Some(w) if RESERVED_END.contains(&w) => {
                return Err(ParseError::Unexpected(w.to_owned()));
            }
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
        Ok(Command::Simple {
            assigns,
            words,
            redirs,
        })
    }
}

/// Parses a complete script (one or more lines).
pub fn parse(src: &str) -> Result<Script, ParseError> {
    let toks = Lexer {
        s: src.as_bytes(),
        i: 0,
    }
    .tokens()?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let script = p.list(&[])?;
    if p.i < p.toks.len() {
        return Err(p.unexpected());
    }
    // A trailing `&&`, `||` or `|` was turned into Incomplete by the
    // parser reaching the end while wanting a command.
    Ok(script)
}

#[cfg(test)]
mod tests;
