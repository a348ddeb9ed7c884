//! HTTP and HTTPS emulators: an nginx or Apache front with a default page or
//! a fake application whose logins are captured.
//!
//! Spec keys (`[services.http]`, `[services.https]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 80 / 443 |
//! | `server_header` | the `Server` header; must name nginx (`nginx/1.22.1`, `nginx`) or Apache (`Apache/2.4.62 (Debian)`), which also decides header order, error pages and keep-alive policy | a seeded current build for the persona's distro |
//! | `response_code` | status of the landing page (`200`, `401`, `403`, `404`, `500`, `502`, `503`) | 200 |
//! | `fake_app` | `none`, `wordpress`, `phpmyadmin`, `router`, `tomcat`, `jenkins` | `none` |
//! | `extra_headers` | added to non-error responses: a JSON object (`{"X-Powered-By": "PHP/8.2.7"}`) or `Name: value` lines | none |
//! | `custom_body` | replaces the landing page body | the product's default page |
//! | `http_versions` | accepted for compatibility; only `http/1.1` is served | `http/1.1` |
//! | `tls_cn` | (https) the certificate's name | the decky's hostname |
//! | `tls_cert`, `tls_key` | (https) PEM files to present instead of the seeded certificate | none |
//!
//! Request handling is a [`crate::session::Session`] over `httparse`:
//! pipelining and keep-alive with the product's limits (nginx: 1000 requests,
//! 75 s; Apache: 100 requests counted down in `Keep-Alive: max=`, 5 s),
//! `Expect: 100-continue`, Content-Length and chunked bodies streamed through
//! SHA-256 (only the first 64 KiB are kept, for forms), the product's limits
//! on request line, header size and count (414 / 400 with its wording) and
//! on bodies (nginx's 1 MiB `client_max_body_size` → 413). HTTP/1.1 without
//! `Host` is a 400 as on both servers. HTTPS wraps the same session in
//! [`crate::tls::layer::TlsSession`]; plaintext sent to the TLS port gets the
//! product's "plain HTTP request was sent to HTTPS port" 400 page.
//!
//! Events: `request` per request (`method`, `path`, `version`, `http_host`,
//! `user_agent`, `headers` — every header in order as `Name: value` lines —
//! `body_len`, `body_sha256` and `body` (first 512 bytes) when there is a
//! body, `status`, `bytes_sent`, `app`); `auth` per credential found in
//! `Authorization` (Basic: `plaintext`, Bearer: `http_bearer`, Digest:
//! `http_digest_md5` with the response as secret), in a posted login form or
//! in a WordPress XML-RPC call, with `auth_scheme`, `method`, `path`, `app`;
//! `protocol_error` (`error`, `status`) for requests refused unparsed;
//! `tls_handshake` (`sni`, `tls_version`, `cipher`) on https.
//!
//! Known gaps: no HTTP/2 (ALPN offers `http/1.1` only, like nginx without
//! `http2`); the Apache default page is a reconstruction, not byte-identical
//! to Debian's; no compression; the fake applications serve their login
//! flows and landing pages, not their assets (those are 404s).

pub mod apps;
pub mod creds;
pub mod pages;
pub mod product;
pub mod request;
pub mod session;

use std::sync::Arc;

use rand::seq::SliceRandom as _;

use self::apps::{AppConfig, FakeApp};
use self::product::{Persistence, Product, Reply, Site, error_page, http_date, serialize};
use self::request::HeadLimits;
use self::session::HttpSession;
use super::ServiceContext;
use crate::session::event_types::PROTOCOL_ERROR;
use crate::session::{Action, ConnInfo, Draft, Service, Session};
use crate::spec::{ServiceConfig, SpecError};
use crate::tls::layer::{PlaintextAnswer, TlsSession};
use crate::tls::{TlsIdentity, identity_from_config};

/// Event type of one HTTP request.
pub const REQUEST: &str = "request";

/// Unix seconds now; a plain function so tests and fuzzing can pin it.
pub type Clock = fn() -> i64;

fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What every connection of one HTTP service shares.
#[derive(Debug)]
pub struct HttpShared {
    /// The product claimed.
    pub product: Product,
    /// The `Server` header.
    pub server: String,
    /// `extra_headers`.
    pub extra_headers: Vec<(String, String)>,
    /// The site.
    pub app: AppConfig,
    /// Request head limits.
    pub head_limits: HeadLimits,
    /// Served over TLS.
    pub https: bool,
    /// The clock for `Date`.
    pub clock: Clock,
}

/// A configured `http` or `https` service.
pub struct HttpService {
    name: &'static str,
    port: u16,
    shared: Arc<HttpShared>,
    tls: Option<TlsIdentity>,
    plaintext: Option<Arc<PlaintextAnswer>>,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService")
            .field("name", &self.name)
            .field("port", &self.port)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// Builds common to the persona's distribution, newest first.
fn default_server(distro: &str, rng: &mut rand_chacha::ChaCha20Rng) -> &'static str {
    let choices: &[&str] = match distro {
        "ubuntu" => &[
            "nginx/1.24.0 (Ubuntu)",
            "nginx/1.18.0 (Ubuntu)",
            "Apache/2.4.58 (Ubuntu)",
            "Apache/2.4.52 (Ubuntu)",
        ],
        "centos" | "rhel" | "rocky" | "almalinux" => &[
            "nginx/1.20.1",
            "Apache/2.4.57 (Rocky Linux)",
            "Apache/2.4.37 (centos)",
        ],
        _ => &[
            "nginx/1.22.1",
            "Apache/2.4.62 (Debian)",
            "nginx/1.18.0",
            "Apache/2.4.59 (Debian)",
        ],
    };
    choices.choose(rng).copied().unwrap_or("nginx/1.22.1")
}

fn parse_extra_headers(raw: &str) -> Result<Vec<(String, String)>, String> {
    let raw = raw.trim();
    let pairs: Vec<(String, String)> = if raw.starts_with('{') {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(raw).map_err(|e| format!("not a JSON object: {e}"))?;
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect()
    } else {
        raw.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .ok_or_else(|| format!("{l:?} is not a `Name: value` line"))
            })
            .collect::<Result<_, _>>()?
    };
    for (k, v) in &pairs {
        let name_ok = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !name_ok || v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("{k:?}: invalid header"));
        }
        if [
            "server",
            "date",
            "content-length",
            "transfer-encoding",
            "connection",
        ]
        .contains(&k.to_ascii_lowercase().as_str())
        {
            return Err(format!("{k:?} is set by the server itself"));
        }
    }
    Ok(pairs)
}

impl HttpService {
    /// Reads `[services.http]` (or `https` when `https` is true).
    pub fn from_config(
        cfg: &mut ServiceConfig,
        ctx: &ServiceContext,
        https: bool,
    ) -> Result<Self, SpecError> {
        let port = cfg.port(if https { 443 } else { 80 })?;
        let t = &mut cfg.table;
        let persona = &ctx.persona;
        let server = match t.str("server_header")? {
            Some(s) => s,
            None => {
                default_server(&persona.distro, &mut persona.seed().rng("http.server")).to_owned()
            }
        };
        if server.is_empty() || server.len() > 200 || server.bytes().any(|b| b.is_ascii_control()) {
            return Err(SpecError::invalid(
                t.key_path("server_header"),
                "must be one printable line",
            ));
        }
        let product = Product::of(&server).ok_or_else(|| {
            SpecError::invalid(
                t.key_path("server_header"),
                format!("{server:?} names neither nginx nor Apache; error pages and header order are product-specific, so only those two can be claimed"),
            )
        })?;
        let response_code = t.uint("response_code", 100, 599)?.unwrap_or(200) as u16;
        if ![200, 401, 403, 404, 500, 502, 503].contains(&response_code) {
            return Err(SpecError::invalid(
                t.key_path("response_code"),
                format!("{response_code} is not one of 200, 401, 403, 404, 500, 502, 503"),
            ));
        }
        let app_name = t.str("fake_app")?.unwrap_or_else(|| "none".to_owned());
        let app = FakeApp::parse(&app_name).ok_or_else(|| {
            SpecError::invalid(
                t.key_path("fake_app"),
                format!("{app_name:?} is not one of none, wordpress, phpmyadmin, router, tomcat, jenkins"),
            )
        })?;
        let extra_headers = match t.str("extra_headers")? {
            None => Vec::new(),
            Some(raw) => parse_extra_headers(&raw)
                .map_err(|e| SpecError::invalid(t.key_path("extra_headers"), e))?,
        };
        let custom_body = t.str("custom_body")?.map(String::into_bytes);
        if let Some(v) = t
            .str_list("http_versions")?
            .unwrap_or_default()
            .into_iter()
            .find(|v| !v.eq_ignore_ascii_case("http/1.1"))
        {
            return Err(SpecError::invalid(
                t.key_path("http_versions"),
                format!("{v:?} is not served by this emulator (only http/1.1)"),
            ));
        }
        let tls = if https {
            Some(identity_from_config(
                t,
                persona,
                &persona.hostname,
                &[b"http/1.1"],
            )?)
        } else {
            None
        };
        let frame = ctx.limits.max_frame_bytes;
        let shared = Arc::new(HttpShared {
            product,
            server,
            extra_headers,
            app: AppConfig::new(app, persona, response_code, custom_body),
            head_limits: HeadLimits {
                line: 8192.min(frame),
                header_line: 8192.min(frame),
                total: (4 * 8192).min(frame),
            },
            https,
            clock: system_clock,
        });
        let plaintext = https.then(|| plaintext_answer(Arc::clone(&shared)));
        Ok(HttpService {
            name: if https { "https" } else { "http" },
            port,
            shared,
            tls,
            plaintext,
        })
    }

    /// The shared state (tests, fuzzing).
    pub fn shared(&self) -> &Arc<HttpShared> {
        &self.shared
    }
}

/// The answer to plain HTTP on the TLS port: the product's 400 page, then close.
fn plaintext_answer(shared: Arc<HttpShared>) -> Arc<PlaintextAnswer> {
    Arc::new(Box::new(move |input: &[u8]| {
        let ct = match shared.product {
            Product::Nginx { .. } => "text/html",
            Product::Apache => "text/html; charset=iso-8859-1",
        };
        let site = plaintext_site(input);
        let mut reply = Reply::new(
            400,
            ct,
            error_page(&shared.product, &shared.server, 497, "GET", &site),
        );
        reply.error_page = true;
        let bytes = serialize(
            &shared.product,
            &shared.server,
            &http_date((shared.clock)()),
            &reply,
            &[],
            Persistence {
                keep_alive: false,
                remaining: 0,
                http10: false,
            },
            false,
        );
        vec![
            Action::Emit(
                Draft::new(PROTOCOL_ERROR)
                    .field("error", "plain HTTP request sent to the TLS port")
                    .field("status", "400"),
            ),
            Action::Send(bytes),
            Action::Close,
        ]
    }))
}

/// Host and port named by a plaintext request's `Host` header (Apache prints them).
fn plaintext_site(input: &[u8]) -> Site {
    let text = String::from_utf8_lossy(&input[..input.len().min(8192)]);
    let host = text
        .split('\n')
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("host")
                .then(|| v.trim().to_owned())
        })
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    let (host, port) = match host.as_deref().and_then(|h| h.rsplit_once(':')) {
        Some((h, p)) if !h.ends_with(':') => (h.to_owned(), p.parse().unwrap_or(443)),
        _ => (host.unwrap_or_else(|| "localhost".to_owned()), 443),
    };
    Site { host, port }
}

/// A session that only closes (a TLS connection rustls refused to create).
struct Refused;

impl Session for Refused {
    fn start(&mut self) -> Vec<Action> {
        vec![Action::Close]
    }

    fn feed(&mut self, _input: &[u8]) -> Vec<Action> {
        Vec::new()
    }
}

impl Service for HttpService {
    fn name(&self) -> &'static str {
        self.name
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        let inner = Box::new(HttpSession::new(Arc::clone(&self.shared), conn.local));
        match &self.tls {
            None => inner,
            Some(tls) => {
                match TlsSession::new(Arc::clone(&tls.config), inner, self.plaintext.clone()) {
                    Ok(s) => Box::new(s),
                    Err(_) => Box::new(Refused),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
