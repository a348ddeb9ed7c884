//! Fails when a topic string is written by hand anywhere in the workspace
//! outside the catalogue (`mesh/src/topic/`): every topic must come from a
//! builder.
//!
//! A string literal is flagged when it starts with a catalogue root and a dot
//! (`"decky.`, `"system.`, ...) and could be a topic or pattern of that
//! family (`FAMILIES`; format placeholders such as `{id}` count as any
//! token). So `"decky.{}.state"`, `"credential.captured"` and `"decky.>"` are
//! flagged, while an XML-RPC method `"system.multicall"` or a seed label
//! `"host.hardware"` (two tokens, where those families put an id second) are not.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use decnet_mesh::topic::catalogue::{FAMILIES, ROOTS};
use decnet_mesh::topic::{attacker, credential, decky, system};

/// Paths (relative to the workspace root) allowed to spell topics out.
/// Keep this list minimal: only the catalogue itself.
const ALLOWED: &[&str] = &["mesh/src/topic/"];

/// Directories never scanned: build output and third-party trees.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "node_modules"];

/// The contents of every string literal in Rust source `src`, with its line.
/// Comments are skipped; char literals and lifetimes do not confuse it.
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '\'' => {
                // Char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                if at(i + 1) == '\\' {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            'r' | 'b' | 'c'
                if !at(i.wrapping_sub(1)).is_alphanumeric() && at(i.wrapping_sub(1)) != '_' =>
            {
                // Raw strings: r"..", r#".."#, br"..", cr#".."#.
                let mut j = i + 1;
                if c != 'r' && at(j) == 'r' {
                    j += 1;
                } else if c != 'r' {
                    i += 1;
                    continue;
                }
                let mut hashes = 0;
                while at(j) == '#' {
                    hashes += 1;
                    j += 1;
                }
                if at(j) != '"' {
                    i += 1;
                    continue;
                }
                let start_line = line;
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let body_start = j + 1;
                let mut k = body_start;
                let mut found = None;
                while k < chars.len() {
                    if chars[k] == '\n' {
                        line += 1;
                    }
                    let rest: String = chars[k..chars.len().min(k + close.len())].iter().collect();
                    if rest == close {
                        found = Some(k);
                        break;
                    }
                    k += 1;
                }
                let end = found.unwrap_or(chars.len());
                out.push((start_line, chars[body_start..end].iter().collect()));
                i = end + close.len();
            }
            '"' => {
                let start_line = line;
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        s.push(chars[i]);
                        i += 1;
                    }
                    if i < chars.len() {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                }
                i += 1;
                out.push((start_line, s));
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether some topic matches both patterns (`*` one token, `>` one or more).
fn overlap(a: &[&str], b: &[&str]) -> bool {
    match (a.split_first(), b.split_first()) {
        (None, None) => true,
        (Some((&">", _)), Some(_)) | (Some(_), Some((&">", _))) => true,
        (Some((x, ar)), Some((y, br))) => (*x == "*" || *y == "*" || x == y) && overlap(ar, br),
        _ => false,
    }
}

/// Whether a literal could be a topic or pattern of a catalogue family.
fn looks_like_topic(lit: &str) -> bool {
    let rooted = ROOTS.iter().any(|root| {
        lit.strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('.'))
    });
    if !rooted {
        return false;
    }
    let mut tokens = Vec::new();
    for t in lit.split('.') {
        if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return false;
        }
        tokens.push(if t.contains('{') { "*" } else { t });
    }
    FAMILIES.iter().any(|f| {
        let family: Vec<&str> = f.split('.').collect();
        overlap(&tokens, &family)
    })
}

/// String literals of `src` that look like a hand-written topic.
fn hand_written_topics(src: &str) -> Vec<(usize, String)> {
    string_literals(src)
        .into_iter()
        .filter(|(_, lit)| looks_like_topic(lit))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_ref()) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_hand_written_topics_in_the_workspace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("mesh/src/lib.rs")),
        "the walk found the workspace"
    );
    let mut offences = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap_or(file);
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        if ALLOWED.iter().any(|a| rel_text.starts_with(a)) {
            continue;
        }
        let Ok(src) = std::fs::read_to_string(file) else {
            continue;
        };
        for (line, lit) in hand_written_topics(&src) {
            offences.push(format!("{rel_text}:{line}: \"{lit}\""));
        }
    }
    assert!(
        offences.is_empty(),
        "topic strings written by hand (use the builders in decnet_mesh::topic):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_detector_catches_a_planted_topic() {
    let q = '"';
    let planted =
        format!("fn f() {{\n    let t = {q}decky.d1.traffic{q};\n    bus.publish(&t);\n}}\n");
    assert_eq!(
        hand_written_topics(&planted),
        vec![(2, decky::traffic("d1").unwrap().to_string())]
    );
    for root in ROOTS {
        let src = format!("let x = {q}{root}.some-id.anything{q};");
        assert_eq!(hand_written_topics(&src).len(), 1, "{root}");
        // A format string is a hand-written topic too.
        let src = format!("format!({q}{root}.{{}}.state{q}, id)");
        assert_eq!(hand_written_topics(&src).len(), 1, "{root}");
        let src = format!("let x = r#{q}{root}.raw.x{q}#;");
        assert_eq!(hand_written_topics(&src).len(), 1, "{root}");
        // Hand-written patterns too.
        let src = format!("let p = {q}{root}.>{q};");
        assert_eq!(hand_written_topics(&src).len(), 1, "{root}");
    }
    let real = [
        attacker::observed().to_string(),
        credential::captured().to_string(),
        system::log().to_string(),
        decky::all_traffic().to_string(),
    ];
    for topic in real {
        let src = format!("let x = {q}{topic}{q};");
        assert_eq!(hand_written_topics(&src).len(), 1, "{topic}");
    }
}

#[test]
fn the_detector_ignores_what_is_not_a_topic() {
    let q = '"';
    let cases = [
        format!("// see {q}decky.x.state{q} in the docs\n"),
        format!("/* {q}system.log{q} */ let a = 1;"),
        format!("let s = {q}systematic.thing{q};"),
        format!("let s = {q}decky{q};"),
        format!("let c = '{q}'; let d = 'a'; fn f<'a>(x: &'a str) {{}}"),
        format!("let s = {q}the decky.x.state topic{q};"),
        format!("let s = {q}escaped \\{q} quote{q};"),
        // Not topics of any family: an XML-RPC method, a seed label.
        format!("if body.contains({q}system.multicall{q}) {{}}"),
        format!("seed.rng({q}host.hardware{q})"),
        format!("let s = {q}system.{{}} failed{q};"),
    ];
    for src in &cases {
        assert!(hand_written_topics(src).is_empty(), "{src}");
    }
    // A quote inside a char literal must not swallow the next real literal.
    let src = format!("let c = '{q}'; let t = {q}host.h1.deploy{q};");
    assert_eq!(hand_written_topics(&src).len(), 1);
}
