//! Shell arithmetic (`$((…))`): integers, `+ - * / %`, comparisons,
//! parentheses and variables, bounded in depth.

use super::Shell;

/// Evaluates `$((…))`: integers, `+ - * / %`, comparisons, parentheses, variables.
pub(crate) fn arith(sh: &Shell, src: &str) -> Result<i64, String> {
    struct P<'a> {
        s: &'a [u8],
        i: usize,
        sh: &'a Shell,
        src: &'a str,
        depth: u32,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn err(&self) -> String {
            let rest = String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]).into_owned();
            format!(
                "{}: syntax error: operand expected (error token is \"{rest}\")",
                self.src.trim()
            )
        }
        fn atom(&mut self) -> Result<i64, String> {
            self.ws();
            self.depth += 1;
            if self.depth > 64 {
                return Err(self.err());
            }
            let r = match self.s.get(self.i) {
                Some(b'(') => {
                    self.i += 1;
                    let v = self.cmp()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b')') {
                        return Err(self.err());
                    }
                    self.i += 1;
                    Ok(v)
                }
                Some(b'-') => {
                    self.i += 1;
                    Ok(self.atom()?.wrapping_neg())
                }
                Some(b'+') => {
                    self.i += 1;
                    self.atom()
                }
                Some(b'!') => {
                    self.i += 1;
                    Ok(i64::from(self.atom()? == 0))
                }
                Some(c) if c.is_ascii_digit() => {
                    let st = self.i;
                    while self.s.get(self.i).is_some_and(u8::is_ascii_alphanumeric) {
                        self.i += 1;
                    }
                    let t = std::str::from_utf8(&self.s[st..self.i]).unwrap_or("0");
                    let v = if let Some(h) = t.strip_prefix("0x") {
                        i64::from_str_radix(h, 16)
                    } else if t.len() > 1 && t.starts_with('0') {
                        i64::from_str_radix(&t[1..], 8)
                    } else {
                        t.parse()
                    };
                    v.map_err(|_| format!("{t}: value too great for base (error token is \"{t}\")"))
                }
                Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                    let st = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    {
                        self.i += 1;
                    }
                    let name = std::str::from_utf8(&self.s[st..self.i]).unwrap_or("");
                    Ok(self
                        .sh
                        .var(name)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0))
                }
                _ => Err(self.err()),
            };
            self.depth -= 1;
            r
        }
        fn term(&mut self) -> Result<i64, String> {
            let mut v = self.atom()?;
            loop {
                self.ws();
                let op = match self.s.get(self.i) {
                    Some(c @ (b'*' | b'/' | b'%')) => *c,
                    _ => return Ok(v),
                };
                self.i += 1;
                let r = self.atom()?;
                v = match op {
                    b'*' => v.wrapping_mul(r),
                    _ if r == 0 => {
                        return Err(format!(
                            "{}: division by 0 (error token is \"{}\")",
                            self.src.trim(),
                            r
                        ));
                    }
                    b'/' => v.wrapping_div(r),
                    _ => v.wrapping_rem(r),
                };
            }
        }
        fn sum(&mut self) -> Result<i64, String> {
            let mut v = self.term()?;
            loop {
                self.ws();
                match self.s.get(self.i) {
                    Some(b'+') => {
                        self.i += 1;
                        v = v.wrapping_add(self.term()?);
                    }
                    Some(b'-') => {
                        self.i += 1;
                        v = v.wrapping_sub(self.term()?);
                    }
                    _ => return Ok(v),
                }
            }
        }
        fn cmp(&mut self) -> Result<i64, String> {
            let v = self.sum()?;
            self.ws();
            let rest = &self.s[self.i.min(self.s.len())..];
            for (op, f) in [
                ("==", (|a, b| a == b) as fn(i64, i64) -> bool),
                ("!=", |a, b| a != b),
                ("<=", |a, b| a <= b),
                (">=", |a, b| a >= b),
                ("<", |a, b| a < b),
                (">", |a, b| a > b),
            ] {
                if rest.starts_with(op.as_bytes()) {
                    self.i += op.len();
                    let r = self.sum()?;
                    return Ok(i64::from(f(v, r)));
                }
            }
            Ok(v)
        }
    }
    let mut p = P {
        s: src.as_bytes(),
        i: 0,
        sh,
        src,
        depth: 0,
    };
    if src.trim().is_empty() {
        return Ok(0);
    }
    let v = p.cmp()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err());
    }
    Ok(v)
}
