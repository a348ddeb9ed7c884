//! SQL conditions for a [`Query`]: column names from a fixed allowlist, every value a parameter.

use std::net::IpAddr;

use super::{Attacker, Query, Term};

/// A parameter value of a generated condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A `text` value.
    Text(String),
    /// An `inet` value.
    Ip(IpAddr),
    /// A `jsonb` value.
    Json(serde_json::Value),
}

/// Conditions (to be AND-ed) and the parameters they reference.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// SQL boolean expressions over the `events` columns, referencing `$n` placeholders.
    pub clauses: Vec<String>,
    /// The values of the placeholders, in order from the first one given to [`filter`].
    pub params: Vec<Param>,
}

impl Filter {
    fn push(&mut self, next: &mut usize, value: Param) -> usize {
        self.params.push(value);
        let n = *next;
        *next += 1;
        n
    }
}

/// Conditions for `query` whose placeholders start at `$first`.
///
/// The SQL text depends only on the kinds of the terms, never on their values.
pub fn filter(query: &Query, first: usize) -> Filter {
    let mut out = Filter::default();
    let mut next = first;
    for term in &query.terms {
        let clause = match term {
            Term::Column(column, value) => {
                let n = out.push(&mut next, Param::Text(value.clone()));
                format!("{} = ${n}", column.sql_name())
            }
            Term::Attacker(Attacker::Ip(ip)) => {
                let n = out.push(&mut next, Param::Ip(*ip));
                format!("src_ip = ${n}")
            }
            Term::Attacker(net @ Attacker::Net(..)) => {
                // A range on the btree rather than `<<=`, whose index support needs a
                // constant and so is lost in generic plans. Stored addresses are host
                // addresses, which order by address within a family.
                let (low, high) = net.range();
                let lo = out.push(&mut next, Param::Ip(low));
                let hi = out.push(&mut next, Param::Ip(high));
                format!("src_ip BETWEEN ${lo} AND ${hi}")
            }
            Term::Field { key, value } => {
                let doc = serde_json::json!({ key: value });
                let n = out.push(&mut next, Param::Json(doc));
                format!("fields @> ${n}")
            }
            Term::Word(word) => {
                let m = out.push(&mut next, Param::Text(like_pattern(word)));
                // The fields are matched in their JSON text, where quotes, backslashes and controls
                // are escaped: escape the word the same way.
                let f = out.push(&mut next, Param::Text(like_pattern(&json_escaped(word))));
                format!("(msg ILIKE ${m} OR fields::text ILIKE ${f})")
            }
        };
        out.clauses.push(clause);
    }
    out
}

/// `%word%` with the LIKE metacharacters of `word` escaped (backslash is the default escape).
pub fn like_pattern(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `s` as it appears inside a JSON string.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}
