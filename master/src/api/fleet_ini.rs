//! Checking a deployment before it is dispatched: INI fleet files are parsed and validated
//! with the agents' own fleet parser (so a bad file is refused here, naming line and key),
//! and JSON specs are turned into the same INI form agents take.

use decnet_templates::fleet;
use serde_json::Value;

use super::ApiError;
use crate::store::deckies;

/// The decky names a fleet INI file deploys, in order; an error names the offending line.
pub fn decky_names(ini: &str) -> Result<Vec<String>, ApiError> {
    let plan = fleet::from_ini(ini).map_err(|e| ApiError::invalid(e.to_string()))?;
    plan.check_deployable()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(plan.deckies.iter().map(|d| d.name.clone()).collect())
}

/// One INI value from a JSON scalar or array of scalars.
fn ini_value(path: &str, v: &Value) -> Result<String, ApiError> {
    let scalar = |v: &Value| match v {
        Value::String(s) if !s.contains(['\n', '\r']) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ApiError::invalid(format!(
            "{path}: values are strings without line breaks, numbers or booleans"
        ))),
    };
    match v {
        Value::Array(items) => Ok(items
            .iter()
            .map(scalar)
            .collect::<Result<Vec<_>, _>>()?
            .join(", ")),
        other => scalar(other),
    }
}

fn ini_key(path: &str, key: &str) -> Result<(), ApiError> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ApiError::invalid(format!("{path}: invalid key {key:?}")));
    }
    Ok(())
}

/// Turns JSON decky specs (`[{"name", "ip"?, "services"?, "archetype"?, …, "config"?:
/// {"ssh": {"port": 2222}}}]`) into a fleet INI file with the same meaning.
pub fn json_to_ini(specs: &[Value]) -> Result<String, ApiError> {
    let mut out = String::new();
    for (i, spec) in specs.iter().enumerate() {
        let at = format!("deckies[{i}]");
        let obj = spec
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("{at} must be an object")))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid(format!("{at}.name is required")))?;
        if !deckies::is_valid_name(name) {
            return Err(ApiError::invalid(format!(
                "{at}.name must match ^[a-z0-9-]{{1,64}}$"
            )));
        }
        out.push_str(&format!("[{name}]\n"));
        let mut sections = String::new();
        for (key, value) in obj {
            let path = format!("{at}.{key}");
            match key.as_str() {
                "name" => {}
                "config" => {
                    let services = value.as_object().ok_or_else(|| {
                        ApiError::invalid(format!("{path} maps service names to their keys"))
                    })?;
                    for (service, keys) in services {
                        ini_key(&path, service)?;
                        let keys = keys.as_object().ok_or_else(|| {
                            ApiError::invalid(format!("{path}.{service} must be an object"))
                        })?;
                        sections.push_str(&format!("\n[{name}.{service}]\n"));
                        for (k, v) in keys {
                            ini_key(&path, k)?;
                            let text = ini_value(&format!("{path}.{service}.{k}"), v)?;
                            sections.push_str(&format!("{k} = {text}\n"));
                        }
                    }
                }
                _ => {
                    ini_key(&at, key)?;
                    out.push_str(&format!("{key} = {}\n", ini_value(&path, value)?));
                }
            }
        }
        out.push_str(&sections);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_specs_become_the_equivalent_ini() {
        let ini = json_to_ini(&[json!({
            "name": "web-03",
            "ip": "127.77.0.40",
            "services": ["ssh", "http"],
            "config": {"ssh": {"port": 2222, "users": "root:toor"}}
        })])
        .unwrap();
        assert_eq!(decky_names(&ini).unwrap(), ["web-03"]);
        let plan = fleet::from_ini(&ini).unwrap();
        let mut services = plan.deckies[0].service_names();
        services.sort();
        assert_eq!(services, ["http", "ssh"]);
    }

    #[test]
    fn injected_sections_and_bad_values_are_refused() {
        for bad in [
            json!({"name": "a", "ip": "1.2.3.4\n[evil]"}),
            json!({"name": "a", "x]": "1"}),
            json!({"name": "A"}),
            json!({"name": "a", "config": {"ssh": 1}}),
            json!({"ip": "1.2.3.4"}),
        ] {
            assert!(json_to_ini(std::slice::from_ref(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn ini_errors_name_the_line() {
        let err = decky_names("[web-01]\nservices = gopher\n").unwrap_err();
        assert!(format!("{err:?}").contains("line 2"), "{err:?}");
    }
}
