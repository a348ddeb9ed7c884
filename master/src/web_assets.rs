//! The dashboard: `web/dist` (built by `npm run build` in `web/`) served at `/`.
//!
//! Release builds embed the files in the binary; debug builds read them from
//! `web/dist` at run time (rust-embed's behaviour), so a rebuilt dashboard shows
//! without recompiling. When `web/dist` does not exist the binary still builds
//! and `/` answers a small page saying the dashboard was not built.
//!
//! Paths that are not files fall back to `index.html` (client-side routes such as
//! `/attackers/…`); `/api` and everything under it never do. Hashed files under
//! `/assets/` are cached for a year; `index.html` is revalidated on every load.
//! Every answer carries a strict Content-Security-Policy: scripts and styles only
//! from this origin (no inline code), WebAssembly for the terminal player, and
//! network access only to this origin.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::api::ApiError;

#[derive(Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../web/dist/"]
#[allow_missing = true]
struct Dist;

/// The dashboard's Content-Security-Policy.
///
/// `'wasm-unsafe-eval'` lets the session player compile its WebAssembly terminal
/// emulator; it does not allow `eval` of JavaScript.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'; object-src 'none'";

/// Cache policy of content-hashed files (`/assets/*`): they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else (`index.html`, favicon): revalidate by ETag.
const REVALIDATE: &str = "no-cache";

const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>DECNET</title></head><body>\n<h1>DECNET</h1>\n\
<p>The web dashboard was not built into this binary. Build it with \
<code>(cd web &amp;&amp; npm ci &amp;&amp; npm run build)</code> and rebuild <code>decnet-master</code> \
(<code>./deploy/quickstart.sh</code> does both).</p>\n\
<p>The API is available under <code>/api/v1</code>.</p>\n</body></html>\n";

/// Serves the dashboard for every path the API router does not handle.
///
/// Mount it as the API router's fallback: `.fallback(crate::web_assets::serve)`.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api_path(path) {
        return ApiError::not_found_endpoint().into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(name) = asset_name(path) else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let response = match Dist::get(&name) {
        Some(file) => file_response(&name, &file, &headers),
        None if name == "index.html" => not_built(),
        None if name.starts_with("assets/") || looks_like_file(&name) => {
            plain(StatusCode::NOT_FOUND, "not found\n")
        }
        // A client-side route: the application decides what to show.
        None => match Dist::get("index.html") {
            Some(index) => file_response("index.html", &index, &headers),
            None => not_built(),
        },
    };
    if method == Method::HEAD {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    response
}

/// Whether the path belongs to the API (answered with a JSON 404, never the dashboard).
fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Maps a request path to a file name in `dist`; `None` for paths that cannot be a file.
fn asset_name(path: &str) -> Option<String> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return Some("index.html".to_owned());
    }
    let safe = rel
        .split('/')
        .all(|segment| !segment.is_empty() && !segment.starts_with('.') && !segment.contains('\\'));
    safe.then(|| rel.to_owned())
}

/// Whether the last path segment has an extension (a file, not a client route).
fn looks_like_file(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// Content type by file extension (the files are ours: the list is closed).
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn cache_control(name: &str) -> &'static str {
    if name.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

fn etag(file: &rust_embed::EmbeddedFile) -> String {
    let hash: String = file
        .metadata
        .sha256_hash()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hash}\"")
}

fn file_response(name: &str, file: &rust_embed::EmbeddedFile, request: &HeaderMap) -> Response {
    let tag = etag(file);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, file.data.clone().into_owned()).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(name)),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    security_headers(headers);
    response
}

fn not_built() -> Response {
    let mut response = (StatusCode::OK, NOT_BUILT).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(headers);
    response
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(headers);
    response
}

fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(path: &str) -> Response {
        serve(Method::GET, path.parse().unwrap(), HeaderMap::new()).await
    }

    fn header(response: &Response, name: HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn api_paths_never_fall_back_to_the_dashboard() {
        for path in ["/api", "/api/", "/api/v2/x", "/api/v1/nope"] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(
                header(&response, header::CONTENT_TYPE).starts_with("application/json"),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn client_routes_get_the_application_or_the_not_built_page() {
        for path in ["/", "/fleet", "/attackers/abc", "/sessions/x%2Fy"] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(
                header(&response, header::CONTENT_SECURITY_POLICY),
                CONTENT_SECURITY_POLICY
            );
            assert_ne!(header(&response, header::CACHE_CONTROL), IMMUTABLE);
        }
    }

    #[tokio::test]
    async fn missing_files_are_404_not_html() {
        for path in ["/assets/nope-123.js", "/nope.png", "/.env", "/a/../b"] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn writes_are_refused() {
        let response = serve(Method::POST, "/fleet".parse().unwrap(), HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn built_assets_are_served_with_type_cache_and_etag() {
        let Some(asset) = Dist::iter().find(|n| n.starts_with("assets/") && n.ends_with(".js"))
        else {
            return; // web/dist was not built: nothing to serve
        };
        let response = get(&format!("/{asset}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&response, header::CACHE_CONTROL), IMMUTABLE);
        let tag = header(&response, header::ETAG).to_owned();
        let mut conditional = HeaderMap::new();
        conditional.insert(header::IF_NONE_MATCH, tag.parse().unwrap());
        let again = serve(
            Method::GET,
            format!("/{asset}").parse().unwrap(),
            conditional,
        )
        .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/a-1.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("x.wasm"), "application/wasm");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn asset_names() {
        assert_eq!(asset_name("/").as_deref(), Some("index.html"));
        assert_eq!(asset_name("/assets/a.js").as_deref(), Some("assets/a.js"));
        assert_eq!(asset_name("/a//b"), None);
        assert_eq!(asset_name("/.git/config"), None);
        assert_eq!(asset_name("/a/../b"), None);
    }
}
