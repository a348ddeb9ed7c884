//! Word expansion: tilde, parameters, command substitution, arithmetic,
//! field splitting and pathname globbing, in bash's order.

use rand::Rng as _;

use super::Shell;
use super::arith::arith;
use super::parse::{Part, Word};
use super::vfs::normalize;

/// Deepest command-substitution nesting evaluated.
const MAX_SUBST_DEPTH: u32 = 8;
/// Most paths one glob may produce.
const MAX_GLOB: usize = 2048;

/// A field being built: text plus, per char, whether it may glob.
#[derive(Default, Clone)]
struct Field {
    text: String,
    globbable: Vec<bool>,
    has_quote: bool,
}

impl Field {
    fn push(&mut self, s: &str, glob: bool) {
        for c in s.chars() {
            self.text.push(c);
            self.globbable.push(glob);
        }
    }
}

/// Matches `name` against a glob pattern (`*`, `?`, `[...]`); `glob[i]` says
/// whether pattern char `i` is special.
pub fn glob_match(pat: &[char], special: &[bool], name: &[char]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while n < name.len() {
        if p < pat.len() && special.get(p) == Some(&true) && pat[p] == '*' {
            star = Some(p);
            mark = n;
            p += 1;
            continue;
        }
        if p < pat.len() {
            let sp = special.get(p) == Some(&true);
            if sp && pat[p] == '?' {
                p += 1;
                n += 1;
                continue;
            }
            if sp && pat[p] == '[' {
                if let Some(close) = pat[p + 1..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|i| p + 1 + i)
                {
                    let set = &pat[p + 1..close];
                    let (neg, set) = match set.first() {
                        Some('!') | Some('^') => (true, &set[1..]),
                        _ => (false, set),
                    };
                    let mut hit = false;
                    let mut i = 0;
                    while i < set.len() {
                        if i + 2 < set.len() && set[i + 1] == '-' {
                            hit |= set[i] <= name[n] && name[n] <= set[i + 2];
                            i += 3;
                        } else {
                            hit |= set[i] == name[n];
                            i += 1;
                        }
                    }
                    if hit != neg {
                        p = close + 1;
                        n += 1;
                        continue;
                    }
                }
            } else if pat[p] == name[n] {
                p += 1;
                n += 1;
                continue;
            }
        }
        match star {
            Some(s) => {
                p = s + 1;
                mark += 1;
                n = mark;
            }
            None => return false,
        }
    }
    while p < pat.len() && special.get(p) == Some(&true) && pat[p] == '*' {
        p += 1;
    }
    p == pat.len()
}

impl Shell {
    /// A variable's value as `$name` sees it.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        Some(match name {
            "?" => self.status.to_string(),
            "$" => self.pid.to_string(),
            "#" => "0".into(),
            "0" => {
                if self.interactive() {
                    "-bash".into()
                } else {
                    "bash".into()
                }
            }
            "!" => return None,
            "@" | "*" => String::new(),
            "-" => {
                if self.interactive() {
                    "himBHs".into()
                } else {
                    "hBc".into()
                }
            }
            "RANDOM" => rand::rngs::OsRng.gen_range(0..32768).to_string(),
            "UID" | "EUID" => self.user.uid.to_string(),
            "PPID" => (self.pid - 1).to_string(),
            "HOSTNAME" => self.host.hostname.clone(),
            "BASH_VERSION" => {
                self.host
                    .release
                    .bash
                    .trim_end_matches("-release")
                    .trim_end_matches("(1)")
                    .to_owned()
                    + "(1)-release"
            }
            "BASH" => "/usr/bin/bash".into(),
            "HOSTTYPE" => "x86_64".into(),
            "OSTYPE" => "linux-gnu".into(),
            "MACHTYPE" => "x86_64-pc-linux-gnu".into(),
            "SECONDS" => self.session_secs().to_string(),
            "IFS" => " \t\n".into(),
            "PS1" => self.prompt(),
            "HISTSIZE" => "500".into(),
            "PWD" => self.cwd.clone(),
            n if n.len() == 1 && n.as_bytes()[0].is_ascii_digit() => String::new(),
            n => return self.vars.get(n).map(|v| v.value.clone()),
        })
    }

    /// `${…}` forms: `name`, `#name`, `name:-w`, `name-w`, `name:=w`, `name:+w`.
    fn braced(&mut self, inner: &str) -> Result<String, String> {
        if let Some(n) = inner.strip_prefix('#')
            && !n.is_empty()
        {
            return Ok(self.var(n).unwrap_or_default().chars().count().to_string());
        }
        let name_len = inner
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
            .max(usize::from(
                inner.len() == 1 || inner.starts_with(['?', '$', '#', '@', '*']),
            ));
        let (name, op) = inner.split_at(name_len.min(inner.len()));
        if name.is_empty() {
            return Err(format!("${{{inner}}}: bad substitution"));
        }
        let val = self.var(name);
        let empty = val.as_deref().is_none_or(str::is_empty);
        let arg = |p: &str| op[p.len()..].to_owned();
        Ok(match op {
            "" => val.unwrap_or_default(),
            o if o.starts_with(":-") => {
                if empty {
                    arg(":-")
                } else {
                    val.unwrap_or_default()
                }
            }
            o if o.starts_with(":=") => {
                if empty {
                    self.set_var(name, &arg(":="));
                    arg(":=")
                } else {
                    val.unwrap_or_default()
                }
            }
            o if o.starts_with(":+") => {
                if empty {
                    String::new()
                } else {
                    arg(":+")
                }
            }
            o if o.starts_with('-') => val.unwrap_or_else(|| arg("-")),
            _ => return Err(format!("${{{inner}}}: bad substitution")),
        })
    }

    /// Sets a shell variable (keeps its export flag).
    pub(crate) fn set_var(&mut self, name: &str, value: &str) {
        if name == "PWD" {
            return;
        }
        let exported = self.vars.get(name).is_some_and(|v| v.exported);
        self.vars.insert(
            name.to_owned(),
            super::Var {
                value: value.to_owned(),
                exported,
            },
        );
    }

    /// Runs `src` with stdout captured, as `$(…)` does.
    pub(crate) fn substitute(&mut self, src: &str) -> String {
        if self.depth >= MAX_SUBST_DEPTH {
            return String::new();
        }
        self.depth += 1;
        let mut out = String::new();
        match super::parse::parse(src) {
            Ok(script) => {
                let mut pipe = super::exec::Pipe::capture();
                let saved = (self.cwd.clone(), self.status);
                self.run_script(&script, &mut pipe);
                self.status = saved.1;
                self.cwd = saved.0;
                out = String::from_utf8_lossy(&pipe.captured()).into_owned();
            }
            Err(e) => {
                let msg = format!("{}command substitution: line 1: {e}\n", self.err_prefix());
                self.queue.push(super::Out::Stderr(msg.into_bytes()));
            }
        }
        self.depth -= 1;
        while out.ends_with('\n') {
            out.pop();
        }
        out
    }

    /// Expands words into fields; `Err` carries a bash error message.
    pub(crate) fn expand_words(&mut self, words: &[Word]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for w in words {
            for f in self.expand_fields(w)? {
                self.glob_into(f, &mut out);
            }
        }
        Ok(out)
    }

    /// Expands one word without splitting or globbing (assignments, redirection targets).
    pub(crate) fn expand_one(&mut self, w: &Word) -> Result<String, String> {
        let fields = self.expand_fields(w)?;
        Ok(fields
            .into_iter()
            .map(|f| f.text)
            .collect::<Vec<_>>()
            .join(" "))
    }

    fn expand_fields(&mut self, w: &Word) -> Result<Vec<Field>, String> {
        let mut fields: Vec<Field> = vec![Field::default()];
        let mut produced = false;
        for part in &w.parts {
            let (text, quoted, splittable) = match part {
                Part::Lit(s) => {
                    if let Some(f) = fields.last_mut() {
                        f.push(s, true);
                    }
                    produced = true;
                    continue;
                }
                Part::Quoted(s) => {
                    if let Some(f) = fields.last_mut() {
                        f.push(s, false);
                        f.has_quote = true;
                    }
                    produced = true;
                    continue;
                }
                Part::Tilde(user) => {
                    let home = if user.is_empty() {
                        self.var("HOME").unwrap_or_default()
                    } else {
                        match self.host.user(user) {
                            Some(u) => u.home.clone(),
                            None => format!("~{user}"),
                        }
                    };
                    if let Some(f) = fields.last_mut() {
                        f.push(&home, false);
                    }
                    produced = true;
                    continue;
                }
                Part::Var(name, q) => {
                    let v = if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        || name.len() == 1
                    {
                        self.var(name).unwrap_or_default()
                    } else {
                        self.braced(name)?
                    };
                    (v, *q, !*q)
                }
                Part::Sub(src, q) => (self.substitute(src), *q, !*q),
                Part::Arith(src, q) => {
                    let expanded = self.expand_one(&Word {
                        parts: vec![Part::Quoted(src.clone())],
                    })?;
                    (arith(self, &expanded)?.to_string(), *q, false)
                }
            };
            if quoted {
                if let Some(f) = fields.last_mut() {
                    f.push(&text, false);
                    f.has_quote = true;
                }
                produced = true;
            } else if splittable {
                let mut pieces = text.split([' ', '\t', '\n']).peekable();
                let leading_ws = text.starts_with([' ', '\t', '\n']);
                let mut first = true;
                while let Some(p) = pieces.next() {
                    if p.is_empty() && pieces.peek().is_some() {
                        if first
                            && leading_ws
                            && fields
                                .last()
                                .is_some_and(|f| !f.text.is_empty() || f.has_quote)
                        {
                            fields.push(Field::default());
                        }
                        first = false;
                        continue;
                    }
                    if !first
                        && fields
                            .last()
                            .is_some_and(|f| !f.text.is_empty() || f.has_quote)
                    {
                        fields.push(Field::default());
                    }
                    if let Some(f) = fields.last_mut() {
                        f.push(p, true);
                    }
                    if !p.is_empty() {
                        produced = true;
                    }
                    first = false;
                }
            } else {
                if let Some(f) = fields.last_mut() {
                    f.push(&text, false);
                }
                produced = true;
            }
        }
        fields.retain(|f| !f.text.is_empty() || f.has_quote);
        if !produced {
            fields.clear();
        }
        Ok(fields)
    }

    fn glob_into(&self, f: Field, out: &mut Vec<String>) {
        let special = f
            .text
            .chars()
            .zip(&f.globbable)
            .any(|(c, g)| *g && matches!(c, '*' | '?' | '['));
        if !special {
            out.push(f.text);
            return;
        }
        let chars: Vec<char> = f.text.chars().collect();
        let absolute = f.text.starts_with('/');
        // Split the pattern into components, keeping the per-char flags.
        let mut comps: Vec<(Vec<char>, Vec<bool>)> = vec![(Vec::new(), Vec::new())];
        for (c, g) in chars.iter().zip(&f.globbable) {
            if *c == '/' {
                comps.push((Vec::new(), Vec::new()));
            } else if let Some(last) = comps.last_mut() {
                last.0.push(*c);
                last.1.push(*g);
            }
        }
        let mut bases: Vec<String> = vec![if absolute { "/".into() } else { String::new() }];
        for (pat, sp) in comps.iter().filter(|(p, _)| !p.is_empty()) {
            let mut next = Vec::new();
            let is_glob = pat
                .iter()
                .zip(sp)
                .any(|(c, g)| *g && matches!(c, '*' | '?' | '['));
            for b in &bases {
                let join = |n: &str| {
                    if b.is_empty() {
                        n.to_owned()
                    } else if b.ends_with('/') {
                        format!("{b}{n}")
                    } else {
                        format!("{b}/{n}")
                    }
                };
                if !is_glob {
                    next.push(join(&pat.iter().collect::<String>()));
                    continue;
                }
                let dir = normalize(&self.cwd, if b.is_empty() { "." } else { b });
                let Ok(canon) = self.vfs.resolve("/", &dir, true) else {
                    continue;
                };
                for (name, _) in self.vfs.list(&canon) {
                    if name.starts_with('.') && pat.first() != Some(&'.') {
                        continue;
                    }
                    let n: Vec<char> = name.chars().collect();
                    if glob_match(pat, sp, &n) {
                        next.push(join(&name));
                        if next.len() >= MAX_GLOB {
                            break;
                        }
                    }
                }
            }
            bases = next;
            if bases.is_empty() {
                break;
            }
        }
        let mut hits: Vec<String> = bases
            .into_iter()
            .filter(|p| self.vfs.stat(&self.cwd, p, false).is_ok())
            .collect();
        if hits.is_empty() {
            out.push(f.text);
        } else {
            hits.sort();
            out.extend(hits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        let pc: Vec<char> = p.chars().collect();
        let sp = vec![true; pc.len()];
        glob_match(&pc, &sp, &n.chars().collect::<Vec<_>>())
    }

    #[test]
    fn globbing() {
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "a.txz"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("*", ""));
    }
}
