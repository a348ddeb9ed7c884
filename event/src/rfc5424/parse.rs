//! RFC 5424 line → [`SyslogLine`]. Total: any input yields a value or an error, never a panic.

use super::{BOM, SdElement, SyslogLine};

/// Why a line is not RFC 5424.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 5424 line: {what} at byte {at}")]
pub struct ParseError {
    /// What was expected or wrong.
    pub what: &'static str,
    /// Byte offset in the line.
    pub at: usize,
}

/// Parses one line (a trailing `\n` or `\r\n` is ignored).
///
/// Tolerated beyond the strict grammar: any PRI up to 191 and any version
/// number, NILVALUE in every header column, any SD-ID and any number of SD
/// elements, over-long names, 0–9 fractional second digits, a BOM before the
/// line or the message, and a message glued to the structured data.
pub fn parse(line: &str) -> Result<SyslogLine, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = if line.starts_with(BOM) {
        BOM.len_utf8()
    } else {
        0
    };
    let mut p = Parser {
        s: line,
        pos: start,
    };

    p.expect(b'<', "expected `<`")?;
    let pri_digits = p.take_while(|b| b.is_ascii_digit());
    let pri = match pri_digits.parse::<u16>() {
        Ok(v) if !pri_digits.is_empty() && pri_digits.len() <= 3 && v <= 191 => v as u8,
        _ => return Err(p.err("PRI must be 0..=191")),
    };
    p.expect(b'>', "expected `>`")?;
    let version_digits = p.take_while(|b| b.is_ascii_digit());
    let version = match version_digits.parse::<u16>() {
        Ok(v) if !version_digits.is_empty() && version_digits.len() <= 3 && v > 0 => v,
        _ => return Err(p.err("VERSION must be a number 1..=999")),
    };
    p.expect(b' ', "expected a space after VERSION")?;
    let ts_token = p.token("TIMESTAMP")?;
    let timestamp = match ts_token {
        "-" => None,
        t => Some(crate::timestamp::parse(t).map_err(|_| ParseError {
            what: "TIMESTAMP is not RFC 3339",
            at: p.pos - t.len(),
        })?),
    };
    p.expect(b' ', "expected a space after TIMESTAMP")?;
    let hostname = nil(p.token("HOSTNAME")?);
    p.expect(b' ', "expected a space after HOSTNAME")?;
    let app_name = nil(p.token("APP-NAME")?);
    p.expect(b' ', "expected a space after APP-NAME")?;
    let procid = nil(p.token("PROCID")?);
    p.expect(b' ', "expected a space after PROCID")?;
    let msgid = nil(p.token("MSGID")?);

    // Some emitters stop after MSGID; accept that as "no SD, no message".
    let mut structured_data = Vec::new();
    let mut msg = None;
    if p.at_end() {
        return Ok(SyslogLine {
            pri,
            version,
            timestamp,
            hostname,
            app_name,
            procid,
            msgid,
            structured_data,
            msg,
        });
    }
    p.expect(b' ', "expected a space after MSGID")?;
    match p.peek() {
        Some(b'-') => p.pos += 1,
        Some(b'[') => {
            while p.peek() == Some(b'[') {
                structured_data.push(p.sd_element()?);
            }
        }
        _ => return Err(p.err("expected `-` or `[` for STRUCTURED-DATA")),
    }
    if !p.at_end() {
        let rest = &p.s[p.pos..];
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        msg = Some(rest.strip_prefix(BOM).unwrap_or(rest).to_owned());
    }
    Ok(SyslogLine {
        pri,
        version,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        msg,
    })
}

/// Parses raw bytes; invalid UTF-8 is replaced (U+FFFD) first.
pub fn parse_bytes(line: &[u8]) -> Result<SyslogLine, ParseError> {
    parse(&String::from_utf8_lossy(line))
}

fn nil(token: &str) -> Option<String> {
    (token != "-").then(|| token.to_owned())
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &'static str) -> ParseError {
        ParseError { what, at: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// Consumes ASCII bytes matching `f`; stops on the first non-ASCII byte,
    /// so the returned slice always ends on a char boundary.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !b.is_ascii() || !f(b) {
                break;
            }
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A header column: one or more characters up to the next space.
    fn token(&mut self, what: &'static str) -> Result<&'a str, ParseError> {
        let start = self.pos;
        let len = self.s[start..].find(' ').unwrap_or(self.s.len() - start);
        if len == 0 {
            return Err(ParseError { what, at: start });
        }
        self.pos += len;
        Ok(&self.s[start..self.pos])
    }

    /// A name inside structured data: up to a space, `=`, `]` or `"`.
    fn sd_name(&mut self, what: &'static str) -> Result<String, ParseError> {
        let start = self.pos;
        let len = self.s[start..]
            .find([' ', '=', ']', '"'])
            .unwrap_or(self.s.len() - start);
        if len == 0 {
            return Err(ParseError { what, at: start });
        }
        self.pos += len;
        Ok(self.s[start..self.pos].to_owned())
    }

    fn sd_element(&mut self) -> Result<SdElement, ParseError> {
        self.expect(b'[', "expected `[`")?;
        let id = self.sd_name("empty SD-ID")?;
        let mut params = Vec::new();
        loop {
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(SdElement { id, params });
                }
                Some(b' ') => {
                    while self.peek() == Some(b' ') {
                        self.pos += 1;
                    }
                    if self.peek() == Some(b']') {
                        continue;
                    }
                    let name = self.sd_name("empty PARAM-NAME")?;
                    self.expect(b'=', "expected `=` after PARAM-NAME")?;
                    self.expect(b'"', "expected `\"` to open PARAM-VALUE")?;
                    let raw = self.raw_value()?;
                    params.push((name, raw));
                }
                None => return Err(self.err("unterminated SD-ELEMENT")),
                Some(_) => return Err(self.err("expected a space or `]` in SD-ELEMENT")),
            }
        }
    }

    /// The still-escaped text of a PARAM-VALUE; consumes the closing quote.
    fn raw_value(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Ok(self.s[start..i].to_owned());
                }
                _ => i += 1,
            }
        }
        Err(ParseError {
            what: "unterminated PARAM-VALUE",
            at: start,
        })
    }
}

/// RFC 5424 §6.3.3: only `\"`, `\\` and `\]` are escapes; any other backslash
/// is literal. `decnet` also decodes the `\n` and `\r` our renderer writes.
pub(super) fn unescape_value(raw: &str, decnet: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('"' | '\\' | ']')) => out.push(e),
            Some('n') if decnet => out.push('\n'),
            Some('r') if decnet => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Undoes the renderer's message escaping (`\\`, `\n`, `\r`) on DECNET lines.
pub(super) fn unescape_msg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_examples() {
        let l = parse(
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
             [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]\
             [examplePriority@32473 class=\"high\"] \u{feff}An application event",
        )
        .unwrap();
        assert_eq!(l.pri, 165);
        assert_eq!(l.hostname.as_deref(), Some("mymachine.example.com"));
        assert_eq!(l.app_name.as_deref(), Some("evntslog"));
        assert_eq!(l.procid, None);
        assert_eq!(l.msgid.as_deref(), Some("ID47"));
        assert_eq!(l.structured_data.len(), 2);
        assert_eq!(
            l.structured_data[0].params[2],
            ("eventID".into(), "1011".into())
        );
        assert_eq!(l.msg.as_deref(), Some("An application event"));

        let nil = parse("<13>1 - - - - - -").unwrap();
        assert_eq!((nil.timestamp, nil.hostname, nil.msg), (None, None, None));
        assert!(nil.structured_data.is_empty());

        let no_sd =
            parse("<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed\n")
                .unwrap();
        assert_eq!(no_sd.msg.as_deref(), Some("'su root' failed"));
    }

    #[test]
    fn rfc_escapes_only_for_foreign_lines() {
        assert_eq!(
            unescape_value(r#"a\"b\\c\]d\ne\x"#, false),
            "a\"b\\c]d\\ne\\x"
        );
        assert_eq!(unescape_value(r#"a\nb\rc\\n"#, true), "a\nb\rc\\n");
        assert_eq!(unescape_value("trailing\\", true), "trailing\\");
    }

    #[test]
    fn rejects_what_is_not_rfc5424_with_a_position() {
        for bad in [
            "",
            "hello",
            "<999>1 - - - - - -",
            "<13>0 - - - - - -",
            "<13>1 yesterday h a - m -",
            "<13>1 - h a - m [id x=\"unterminated",
            "<13>1 - h a - m [id x=1]",
            "<13>1 - h a - m {",
            "<13>1  h a - m -",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let e = parse("<13>1 - h a - m [id x=1]").unwrap_err();
        assert_eq!(e.at, 22);
    }
}
