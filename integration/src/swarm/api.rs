//! The master's REST API as seen from inside its namespace (`curl` run there).

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::netns::Node;

/// An authenticated API client.
#[derive(Debug)]
pub struct Api {
    node: Node,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client of `base` (e.g. `http://10.231.0.1:8080`) run inside `node`.
    pub fn new(node: Node, base: &str) -> Api {
        Api {
            node,
            base: base.to_owned(),
            token: None,
        }
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut cmd = self.node.command("curl");
        cmd.args(["-sS", "-m", "60", "-X", method, "-w", "\n%{http_code}"]);
        if let Some(token) = &self.token {
            cmd.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        if let Some(body) = body {
            cmd.args(["-H", "content-type: application/json", "--data-binary"])
                .arg(body.to_string());
        }
        cmd.arg(format!("{}/api/v1{path}", self.base));
        let out = cmd.output().context("cannot run curl")?;
        if !out.status.success() {
            bail!(
                "curl {method} {path}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        let status: u16 = status.trim().parse().context("curl printed no status")?;
        let json = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body)
                .with_context(|| format!("{method} {path}: not JSON: {body}"))?
        };
        Ok((status, json))
    }

    /// A body-less request whose answer is not JSON (e.g. a transcript): status and text.
    pub fn raw(&self, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
        let mut cmd = self.node.command("curl");
        cmd.args(["-sS", "-m", "60", "-X", method, "-w", "\n%{http_code}"]);
        if let Some(token) = &self.token {
            cmd.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        cmd.arg(format!("{}/api/v1{path}", self.base));
        let out = cmd.output().context("cannot run curl")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        Ok((
            status.trim().parse().context("curl printed no status")?,
            body.to_owned(),
        ))
    }

    /// A call that must answer `want`.
    pub fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, json) = self.call(method, path, body)?;
        if status != want {
            bail!("{method} {path}: {status} (wanted {want}): {json}");
        }
        Ok(json)
    }

    /// GET that must succeed.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.expect("GET", path, None, 200)
    }

    /// Logs in as admin with the one-time password, sets `new_password`, logs in again.
    pub fn bootstrap_admin(&mut self, one_time: &str, new_password: &str) -> anyhow::Result<()> {
        self.login(one_time)?;
        self.expect(
            "POST",
            "/auth/change-password",
            Some(&serde_json::json!({"current_password": one_time, "new_password": new_password})),
            200,
        )?;
        self.login(new_password)
    }

    fn login(&mut self, password: &str) -> anyhow::Result<()> {
        self.token = None;
        let resp = self.expect(
            "POST",
            "/auth/login",
            Some(&serde_json::json!({"username": "admin", "password": password})),
            200,
        )?;
        let token = resp["access_token"].as_str().context("no access_token")?;
        self.token = Some(token.to_owned());
        Ok(())
    }
}
