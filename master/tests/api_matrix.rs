//! Every route of the OpenAPI document × {anonymous, must-change-password, viewer, admin}.
//!
//! The route list comes from the served document itself: a route without an entry in
//! [`cases`] fails the test, and so does an entry for a route that is not documented.
//! Every status observed must be one the document declares for that operation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_support;

use std::collections::{BTreeMap, BTreeSet};

use api_support::{Api, PASSWORD, Seeded};
use decnet_master::store::users::Role;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No authentication.
    Open,
    /// Any valid token, even with a password change pending.
    Auth,
    /// Viewer or admin, no password change pending.
    Viewer,
    /// Admin, no password change pending.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    MustChange,
    Viewer,
    Admin,
}

const EVERYONE: [Who; 4] = [Who::Anonymous, Who::MustChange, Who::Viewer, Who::Admin];

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Text(&'static str),
}

struct Case {
    access: Access,
    /// Concrete path (under /api/v1) to call.
    path: String,
    body: Body,
    /// Status when access is granted.
    ok: u16,
    /// Log in afresh for this call (the call revokes its token).
    fresh_token: bool,
}

fn case(access: Access, path: impl Into<String>, ok: u16) -> Case {
    Case {
        access,
        path: path.into(),
        body: Body::None,
        ok,
        fresh_token: false,
    }
}

impl Case {
    fn json(mut self, v: Value) -> Self {
        self.body = Body::Json(v);
        self
    }
    fn text(mut self, t: &'static str) -> Self {
        self.body = Body::Text(t);
        self
    }
    fn fresh(mut self) -> Self {
        self.fresh_token = true;
        self
    }
}

/// The matrix: one entry per documented `METHOD /api/v1/path`.
fn cases(s: &Seeded, attacker: &str, tracking: &str) -> BTreeMap<String, Case> {
    use Access::*;
    let sid = &s.sid;
    let entries = vec![
        (
            "POST /api/v1/auth/login",
            case(Open, "/auth/login", 200)
                .json(json!({"username": "loginuser", "password": PASSWORD})),
        ),
        (
            "POST /api/v1/auth/logout",
            case(Auth, "/auth/logout", 204).fresh(),
        ),
        (
            "POST /api/v1/auth/change-password",
            case(Auth, "/auth/change-password", 422)
                .json(json!({"current_password": PASSWORD, "new_password": "short"})),
        ),
        ("GET /api/v1/auth/me", case(Auth, "/auth/me", 200)),
        (
            "POST /api/v1/auth/sse-ticket",
            case(Viewer, "/auth/sse-ticket", 200),
        ),
        ("GET /api/v1/users", case(Admin, "/users", 200)),
        (
            "POST /api/v1/users",
            case(Admin, "/users", 201)
                .json(json!({"username": "created-by-matrix", "role": "viewer"})),
        ),
        (
            "DELETE /api/v1/users/{username}",
            case(Admin, "/users/victim", 204),
        ),
        (
            "PUT /api/v1/users/{username}/role",
            case(Admin, "/users/promoted/role", 200).json(json!({"role": "admin"})),
        ),
        (
            "POST /api/v1/users/{username}/reset-password",
            case(Admin, "/users/promoted/reset-password", 200).json(json!({})),
        ),
        ("GET /api/v1/hosts", case(Viewer, "/hosts", 200)),
        (
            "GET /api/v1/hosts/{name}",
            case(Viewer, format!("/hosts/{}", s.host), 200),
        ),
        (
            "POST /api/v1/hosts/enroll-token",
            case(Admin, "/hosts/enroll-token", 201)
                .json(json!({"name": "sensor-9", "ttl_seconds": 600})),
        ),
        (
            "POST /api/v1/hosts/{name}/revoke",
            case(Admin, format!("/hosts/{}/revoke", s.spare_host), 200),
        ),
        (
            "POST /api/v1/hosts/{name}/workers/{worker}",
            // The matrix's master has no mesh: an authorised call is answered 503.
            case(Admin, format!("/hosts/{}/workers/deckies", s.host), 503)
                .json(json!({"action": "stop"})),
        ),
        ("GET /api/v1/deckies", case(Viewer, "/deckies", 200)),
        (
            "GET /api/v1/deckies/{name}",
            case(Viewer, format!("/deckies/{}", s.decky), 200),
        ),
        (
            "DELETE /api/v1/deckies/{name}",
            case(Admin, format!("/deckies/{}", s.decky), 202),
        ),
        (
            "POST /api/v1/deckies/deploy",
            case(Admin, "/deckies/deploy", 202).text("[web-02]\nservices = ssh\n"),
        ),
        (
            "GET /api/v1/deckies/deployments/{id}",
            case(Viewer, format!("/deckies/deployments/{tracking}"), 200),
        ),
        (
            "GET /api/v1/events",
            case(
                Viewer,
                "/events?search=service:ssh%20event:auth&limit=10",
                200,
            ),
        ),
        (
            "GET /api/v1/events/histogram",
            case(Viewer, "/events/histogram?search=decky:web-01", 200),
        ),
        (
            "GET /api/v1/attackers",
            case(Viewer, "/attackers?sort=active", 200),
        ),
        (
            "GET /api/v1/attackers/{id}",
            case(Viewer, format!("/attackers/{attacker}"), 200),
        ),
        (
            "GET /api/v1/attackers/{id}/stream",
            case(Viewer, format!("/attackers/{attacker}/stream"), 200),
        ),
        (
            "GET /api/v1/sessions/{sid}/cast",
            case(Viewer, format!("/sessions/{sid}/cast"), 200),
        ),
        ("GET /api/v1/credentials", case(Viewer, "/credentials", 200)),
        ("GET /api/v1/stats", case(Viewer, "/stats", 200)),
        ("GET /api/v1/stream", case(Viewer, "/stream", 200)),
        ("GET /api/v1/health", case(Open, "/health", 200)),
        ("GET /api/v1/openapi.json", case(Open, "/openapi.json", 200)),
    ];
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        assert!(map.insert(k.to_owned(), v).is_none(), "duplicate entry {k}");
    }
    map
}

fn expected(access: Access, who: Who, ok: u16) -> u16 {
    match (access, who) {
        (Access::Open, _) => ok,
        (_, Who::Anonymous) => 401,
        (Access::Auth, _) => ok,
        (_, Who::MustChange) => 403,
        (Access::Admin, Who::Viewer) => 403,
        _ => ok,
    }
}

/// Every `METHOD path` of the document with its declared status codes.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<u16>> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let codes = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            out.insert(format!("{} {path}", method.to_uppercase()), codes);
        }
    }
    out
}

#[tokio::test]
async fn every_documented_route_by_every_role() {
    let api = Api::start().await;
    let seeded = api.seed().await;
    api.user("root", Role::Admin, false).await;
    api.user("vera", Role::Viewer, false).await;
    api.user("newbie", Role::Admin, true).await;
    api.user("victim", Role::Viewer, false).await;
    api.user("promoted", Role::Viewer, false).await;
    api.user("loginuser", Role::Viewer, false).await;
    let admin = api.token("root").await;

    let doc: Value = api
        .http
        .get(api.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let declared = documented(&doc);

    let attackers: Value = api.get("/attackers", &admin).await.json().await.unwrap();
    let attacker = attackers["attackers"][0]["id"].as_str().unwrap().to_owned();
    let deploy = api
        .http
        .post(api.url("/deckies/deploy"))
        .bearer_auth(&admin)
        .json(&json!({"deckies": [{"name": "web-03", "services": ["ssh"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(deploy.status(), 202);
    let tracking = deploy.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let matrix = cases(&seeded, &attacker, &tracking);
    let routes: BTreeSet<&String> = declared.keys().collect();
    let entries: BTreeSet<&String> = matrix.keys().collect();
    let missing: Vec<_> = routes.difference(&entries).collect();
    let stale: Vec<_> = entries.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "documented routes without a matrix entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix entries for undocumented routes: {stale:?}"
    );

    let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
    tokens.insert("mcp", api.token("newbie").await);
    tokens.insert("viewer", api.token("vera").await);
    tokens.insert("admin", admin.clone());

    let mut failures = Vec::new();
    let mut calls = 0;
    for (route, c) in &matrix {
        let method: reqwest::Method = route.split(' ').next().unwrap().parse().unwrap();
        for who in EVERYONE {
            let user = match who {
                Who::Anonymous => None,
                Who::MustChange => Some(("mcp", "newbie")),
                Who::Viewer => Some(("viewer", "vera")),
                Who::Admin => Some(("admin", "root")),
            };
            let token = match user {
                None => None,
                Some((_, name)) if c.fresh_token => Some(api.token(name).await),
                Some((key, _)) => Some(tokens[key].clone()),
            };
            let mut req = api.http.request(method.clone(), api.url(&c.path));
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            req = match &c.body {
                Body::None => req,
                Body::Json(v) => {
                    // Unique names where the route creates something.
                    let mut v = v.clone();
                    if route == "POST /api/v1/users" || route == "POST /api/v1/hosts/enroll-token" {
                        let key = if route.contains("users") {
                            "username"
                        } else {
                            "name"
                        };
                        v[key] = json!(format!("{}-{calls}", v[key].as_str().unwrap()));
                    }
                    req.json(&v)
                }
                Body::Text(t) => req.header("content-type", "text/plain").body(*t),
            };
            calls += 1;
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let want = expected(c.access, who, c.ok);
            let is_stream = resp
                .headers()
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
            if !is_stream && status >= 400 {
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if body["error"]["code"].as_str().is_none()
                    || body["error"]["id"].as_str().is_none()
                {
                    failures.push(format!(
                        "{route} as {who:?}: error body not in the API shape: {body}"
                    ));
                }
            } else {
                drop(resp);
            }
            if status != want {
                failures.push(format!("{route} as {who:?}: got {status}, expected {want}"));
            }
            if !declared[route].contains(&status) {
                failures.push(format!(
                    "{route} as {who:?}: status {status} is not declared ({:?})",
                    declared[route]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(calls, matrix.len() * 4);
}
