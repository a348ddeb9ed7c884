//! Checking a fleet INI file before it is dispatched: `[general]`, `[<decky>]`,
//! `[<decky>.<service>]` and `[custom-…]` sections of `key = value` lines.
//!
//! Only the structure and the decky names are checked here; the agent validates the
//! values when it builds the deckies.

use super::ApiError;
use crate::store::deckies;

/// The decky names a fleet INI file deploys, in order; an error names the offending line.
pub fn decky_names(ini: &str) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = Vec::new();
    let mut in_section = false;
    for (n, raw) in ini.lines().enumerate() {
        let line = raw.trim();
        let at = n + 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let section = inner
                .strip_suffix(']')
                .ok_or_else(|| {
                    ApiError::invalid(format!("line {at}: unterminated section header"))
                })?
                .trim();
            in_section = true;
            let decky = section.split('.').next().unwrap_or("");
            if section == "general" || section.starts_with("custom-") {
                continue;
            }
            if !deckies::is_valid_name(decky) {
                return Err(ApiError::invalid(format!(
                    "line {at}: section [{section}]: decky names match ^[a-z0-9-]{{1,64}}$"
                )));
            }
            if section.split('.').count() > 2 {
                return Err(ApiError::invalid(format!(
                    "line {at}: section [{section}] is not [decky] or [decky.service]"
                )));
            }
            if !names.iter().any(|x| x == decky) {
                names.push(decky.to_owned());
            }
            continue;
        }
        if !in_section {
            return Err(ApiError::invalid(format!(
                "line {at}: key outside of a section"
            )));
        }
        match line.split_once('=') {
            Some((k, _)) if !k.trim().is_empty() => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "line {at}: expected key = value"
                )));
            }
        }
    }
    if names.is_empty() {
        return Err(ApiError::invalid("the file defines no decky section"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_order_once() {
        let ini = "# fleet\n[general]\nnet = 10.0.0.0/24\n\n[web-01]\nservices = http,ssh\n\
                   [web-01.ssh]\nversion = 9\n[db-1]\nservices=redis\n[custom-x]\na=b\n";
        assert_eq!(decky_names(ini).unwrap(), ["web-01", "db-1"]);
    }

    #[test]
    fn bad_files_name_the_line() {
        for (ini, line) in [
            ("[Bad Name]\nx=1\n", "line 1"),
            ("[ok]\nnovalue\n", "line 2"),
            ("x=1\n[ok]\n", "line 1"),
            ("[ok\n", "line 1"),
            ("[a.b.c]\n", "line 1"),
        ] {
            let e = decky_names(ini).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            assert!(format!("{e:?}").contains(line), "{ini:?}: {e:?}");
        }
        assert!(decky_names("[general]\na=b\n").is_err());
    }
}
