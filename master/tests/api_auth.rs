//! Authentication flows against a real server: login, logout, password change, role
//! changes, rate limiting, token tampering, query-string tokens, hardening headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_support;

use api_support::{Api, Options, PASSWORD, SECRET};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use decnet_master::store::users::Role;
use serde_json::{Value, json};

fn forge(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let body = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let id = &body["error"]["id"];
    assert!(id.is_string(), "error bodies carry an id: {body}");
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn login_me_logout() {
    let api = Api::start().await;
    api.user("alice", Role::Viewer, false).await;
    let resp = api.login_as("alice", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["must_change_password"], false);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let c = claims_of(&token);
    assert_eq!(
        (c["iss"].as_str(), c["aud"].as_str(), c["typ"].as_str()),
        (Some("decnet"), Some("decnet-dashboard"), Some("access"))
    );

    let me: Value = api.get("/auth/me", &token).await.json().await.unwrap();
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("alice"), Some("viewer"))
    );

    let other = api.token("alice").await;
    let resp = api
        .http
        .post(api.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        error_code(api.get("/auth/me", &token).await).await,
        (401, "unauthenticated".into())
    );
    assert_eq!(
        api.get("/auth/me", &other).await.status(),
        200,
        "only that token is revoked"
    );

    for (user, pw) in [("alice", "wrong-password!"), ("nobody", PASSWORD)] {
        let (status, code) = error_code(api.login_as(user, pw).await).await;
        assert_eq!((status, code.as_str()), (401, "unauthenticated"), "{user}");
    }
}

#[tokio::test]
async fn password_change_revokes_older_tokens_and_lifts_the_flag() {
    let api = Api::start().await;
    api.user("bob", Role::Admin, true).await;
    let old = api.token("bob").await;
    let older = api.token("bob").await;
    // Pending change: everything but me/logout/change-password is refused.
    assert_eq!(
        error_code(api.get("/events", &old).await).await,
        (403, "password_change_required".into())
    );
    assert_eq!(api.get("/auth/me", &old).await.status(), 200);

    let change = |current: &str, new: &str| {
        api.http
            .post(api.url("/auth/change-password"))
            .bearer_auth(&old)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_eq!(change(PASSWORD, "short").await.unwrap().status(), 422);
    assert_eq!(
        error_code(
            change("not-the-password", "a-new-long-password")
                .await
                .unwrap()
        )
        .await,
        (403, "wrong_password".into())
    );
    let resp = change(PASSWORD, "a-new-long-password").await.unwrap();
    assert_eq!(resp.status(), 200);
    let fresh = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    for t in [&old, &older] {
        assert_eq!(
            api.get("/auth/me", t).await.status(),
            401,
            "older tokens revoked"
        );
    }
    assert_eq!(
        api.get("/events", &fresh).await.status(),
        200,
        "flag lifted"
    );
    assert_eq!(api.login_as("bob", PASSWORD).await.status(), 401);
    let relogin = api.login_as("bob", "a-new-long-password").await;
    assert_eq!(relogin.status(), 200);
    let t: Value = relogin.json().await.unwrap();
    assert_eq!(t["must_change_password"], false);
    assert_eq!(
        api.get("/stats", t["access_token"].as_str().unwrap())
            .await
            .status(),
        200,
        "a token minted right after the change is valid"
    );
}

#[tokio::test]
async fn role_changes_and_deletion_apply_to_the_next_request() {
    let api = Api::start().await;
    api.user("root", Role::Admin, false).await;
    api.user("carol", Role::Admin, false).await;
    let root = api.token("root").await;
    let carol = api.token("carol").await;
    assert_eq!(api.get("/users", &carol).await.status(), 200);

    let demote = api
        .http
        .put(api.url("/users/carol/role"))
        .bearer_auth(&root)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demote.status(), 200);
    assert_eq!(
        error_code(api.get("/users", &carol).await).await,
        (403, "forbidden".into())
    );
    assert_eq!(api.get("/events", &carol).await.status(), 200);

    // The last administrator can be neither demoted nor deleted.
    let self_demote = api
        .http
        .put(api.url("/users/root/role"))
        .bearer_auth(&root)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(self_demote.status(), 409);

    let reset = api
        .http
        .post(api.url("/users/carol/reset-password"))
        .bearer_auth(&root)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let issued: Value = reset.json().await.unwrap();
    let generated = issued["password"].as_str().unwrap().to_owned();
    assert_eq!(issued["user"]["must_change_password"], true);
    assert_eq!(
        api.get("/auth/me", &carol).await.status(),
        401,
        "reset revokes tokens"
    );
    let after = api
        .login_as("carol", &generated)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(after["must_change_password"], true);
    let carol = after["access_token"].as_str().unwrap().to_owned();

    let del = api
        .http
        .delete(api.url("/users/carol"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(
        api.get("/auth/me", &carol).await.status(),
        401,
        "deleted user's token refused"
    );
    let again = api
        .http
        .delete(api.url("/users/carol"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn login_is_rate_limited_per_username_and_ip() {
    let api = Api::start().await;
    api.user("dave", Role::Viewer, false).await;
    for _ in 0..10 {
        assert_eq!(api.login_as("dave", "wrong-password!").await.status(), 401);
    }
    let limited = api.login_as("dave", PASSWORD).await;
    assert_eq!(limited.status(), 429, "even the right password waits");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(error_code(limited).await.1, "rate_limited");
    // The IP has used its 10 attempts too: another name from the same address is limited.
    api.user("erin", Role::Viewer, false).await;
    assert_eq!(api.login_as("erin", PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_refused() {
    let api = Api::start().await;
    api.user("frank", Role::Admin, false).await;
    let good = api.token("frank").await;
    let base = claims_of(&good);
    assert_eq!(
        api.get("/users", &forge(&base, SECRET)).await.status(),
        200,
        "a faithful re-signing works"
    );

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    for (k, v) in [
        ("aud", json!("someone-else")),
        ("iss", json!("evil")),
        ("typ", json!("refresh")),
        ("exp", json!(now - 5)),
        ("sub", json!(uuid::Uuid::now_v7())),
    ] {
        let mut c = base.clone();
        c[k] = v;
        cases.push((k, c));
    }
    for (what, claims) in &cases {
        let status = api.get("/auth/me", &forge(claims, SECRET)).await.status();
        assert_eq!(status, 401, "{what}");
    }
    let wrong_key = forge(&base, "another-secret-that-is-long-enough-0123456789");
    assert_eq!(api.get("/auth/me", &wrong_key).await.status(), 401);
    // Tampered payload with the original signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut body = base.clone();
    body["sub"] = json!(uuid::Uuid::now_v7());
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap());
    assert_eq!(api.get("/auth/me", &parts.join(".")).await.status(), 401);
    // alg=none.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(api.get("/auth/me", &none).await.status(), 401);
    for header in ["Basic Zm9vOmJhcg==", "Bearer", "garbage"] {
        let r = api
            .http
            .get(api.url("/auth/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header}");
        assert!(r.headers().contains_key("www-authenticate"));
    }
}

#[tokio::test]
async fn tokens_in_the_query_string_are_refused() {
    let api = Api::start().await;
    api.user("gina", Role::Admin, false).await;
    let token = api.token("gina").await;
    for query in [
        format!("token={token}"),
        format!("access_token={token}"),
        format!("search={token}"),
    ] {
        let url = format!("{}?{query}", api.url("/events"));
        let resp = api.http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{query}");
        let resp = api.http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{query} without header");
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_validate_input() {
    let api = Api::start().await;
    api.user("hank", Role::Admin, false).await;
    let token = api.token("hank").await;
    let resp = api.get("/events", &token).await;
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        !h.contains_key("access-control-allow-origin"),
        "no CORS without an allowlist"
    );

    for path in [
        format!("/events?search={}", "x".repeat(513)),
        "/events?limit=1001".into(),
        "/events?limit=0".into(),
        "/events?since=yesterday".into(),
        "/events?nonsense=1".into(),
        "/deckies/Bad_Name".into(),
        "/attackers/not-a-uuid".into(),
    ] {
        let (status, code) = error_code(api.get(&path, &token).await).await;
        assert_eq!((status, code.as_str()), (422, "invalid_request"), "{path}");
    }
    assert_eq!(
        api.get(&format!("/events?search={}", "x".repeat(512)), &token)
            .await
            .status(),
        200
    );
    let (status, code) = error_code(api.get("/no/such/route", &token).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    let big = "x".repeat(2 * 1024 * 1024);
    let resp = api
        .http
        .post(api.url("/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn cors_answers_only_listed_origins() {
    let mut opts = Options::default();
    opts.api.cors_allowed_origins = vec!["https://dash.example.org".into()];
    let api = Api::start_with(opts).await;
    let preflight = |origin: &'static str| {
        api.http
            .request(reqwest::Method::OPTIONS, api.url("/events"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://dash.example.org").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://dash.example.org"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}
