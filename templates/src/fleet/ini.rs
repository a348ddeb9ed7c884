//! A small INI reader with line numbers, following Python `configparser`
//! defaults (the predecessor's fleet files were read with it): `[section]`
//! headers, `key = value` or `key: value`, whole-line `#` and `;` comments,
//! indented continuation lines, keys case-insensitive (lowercased), duplicate
//! sections and duplicate keys rejected. No crate was used because the ones
//! that exist (`rust-ini`, `configparser`) do not report line numbers, and
//! every error here must name its line.

/// One `key = value` with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Key, lowercased and trimmed.
    pub key: String,
    /// Value, trimmed; continuation lines are joined with `\n`.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

/// One `[section]` with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name between the brackets, trimmed.
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    /// Its entries.
    pub entries: Vec<Entry>,
}

impl Section {
    /// The entry for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A syntax error at a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct IniError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Reads INI text into sections, in file order.
pub fn parse(text: &str) -> Result<Vec<Section>, IniError> {
    let mut sections: Vec<Section> = Vec::new();
    // Whether the previous line was a key (so an indented line continues it).
    let mut in_value = false;
    for (idx, raw) in text.split('\n').enumerate() {
        let line = idx + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let err = |reason: String| IniError { line, reason };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            in_value = false;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented && in_value {
            if let Some(entry) = sections.last_mut().and_then(|s| s.entries.last_mut()) {
                entry.value.push('\n');
                entry.value.push_str(trimmed);
            }
            continue;
        }
        if let Some(inner) = trimmed.strip_prefix('[') {
            let Some(name) = inner.strip_suffix(']') else {
                return Err(err("section header is missing its closing `]`".to_owned()));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(err("empty section name".to_owned()));
            }
            if let Some(first) = sections.iter().find(|s| s.name == name) {
                return Err(err(format!(
                    "duplicate section [{name}] (first at line {})",
                    first.line
                )));
            }
            sections.push(Section {
                name: name.to_owned(),
                line,
                entries: Vec::new(),
            });
            in_value = false;
            continue;
        }
        let Some(pos) = trimmed.find(['=', ':']) else {
            return Err(err(format!(
                "expected `key = value`, a [section] header or a comment, got {:?}",
                truncate(trimmed)
            )));
        };
        let key = trimmed[..pos].trim().to_ascii_lowercase();
        let value = trimmed[pos + 1..].trim().to_owned();
        if key.is_empty() {
            return Err(err("empty key before `=`".to_owned()));
        }
        let Some(section) = sections.last_mut() else {
            return Err(err(format!(
                "key {key:?} comes before any [section] header"
            )));
        };
        if let Some(first) = section.get(&key) {
            return Err(err(format!(
                "duplicate key {key:?} in [{}] (first at line {})",
                section.name, first.line
            )));
        }
        section.entries.push(Entry { key, value, line });
        in_value = true;
    }
    Ok(sections)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}
