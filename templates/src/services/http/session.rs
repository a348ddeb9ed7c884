//! One HTTP/1.x connection: pipelined requests, keep-alive, bounded buffers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use decnet_event::Outcome;
use rand::RngCore as _;

use super::apps::{FakeApp, RouteCtx, Site2};
use super::product::{Persistence, Product, Reply, Site, http_date, serialize};
use super::request::{Body, BodyStep, Framing, Head, HeadError, HeadParse, framing, parse_head};
use super::{HttpShared, REQUEST};
use crate::session::event_types::{AUTH, PROTOCOL_ERROR};
use crate::session::{Action, Draft, Session};

/// Body bytes shown in the `request` event.
const BODY_SHOWN: usize = 512;
/// Longest `headers` field.
const HEADERS_SHOWN: usize = 8 * 1024;

#[derive(Debug)]
enum State {
    Head,
    Body(Box<(Head, Body)>),
    Closed,
}

/// One HTTP connection's state machine.
#[derive(Debug)]
pub struct HttpSession {
    shared: Arc<HttpShared>,
    local: SocketAddr,
    buf: Vec<u8>,
    state: State,
    served: u32,
    date: (i64, String),
}

impl HttpSession {
    /// A session for a connection that arrived at `local`.
    pub fn new(shared: Arc<HttpShared>, local: SocketAddr) -> Self {
        HttpSession {
            shared,
            local,
            buf: Vec::new(),
            state: State::Head,
            served: 0,
            date: (i64::MIN, String::new()),
        }
    }

    fn date(&mut self) -> String {
        let now = (self.shared.clock)();
        if self.date.0 != now {
            self.date = (now, http_date(now));
        }
        self.date.1.clone()
    }

    /// `Host` as the client sent it, if it is a plausible host[:port].
    fn host(head: &Head) -> Option<String> {
        let h = head.header_str("Host")?;
        let h = h.trim();
        let ok = !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
        ok.then(|| h.to_owned())
    }

    fn site(&self, head: Option<&Head>) -> Site {
        let local_host = match self.local.ip() {
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            },
            ip => ip.to_string(),
        };
        let Some(host) = head.and_then(Self::host) else {
            return Site {
                host: local_host,
                port: self.local.port(),
            };
        };
        // host, host:port, [v6]:port
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => {
                (n.to_owned(), p.parse().unwrap_or(self.local.port()))
            }
            _ => (host.clone(), self.local.port()),
        };
        Site { host: name, port }
    }

    fn base(&self, head: &Head) -> String {
        let scheme = if self.shared.https { "https" } else { "http" };
        let host = Self::host(head).unwrap_or_else(|| {
            let s = self.site(None);
            let default = if self.shared.https { 443 } else { 80 };
            if s.port == default {
                s.host
            } else {
                format!("{}:{}", s.host, s.port)
            }
        });
        format!("{scheme}://{host}")
    }

    fn site_router(&self) -> Site2<'_> {
        Site2 {
            cfg: &self.shared.app,
            product: &self.shared.product,
            server: &self.shared.server,
        }
    }

    /// Answers a request that could not be parsed, then closes.
    fn refuse(
        &mut self,
        status: u16,
        page_status: u16,
        error: &str,
        head: Option<&Head>,
    ) -> Vec<Action> {
        let method = head.map_or("GET", |h| h.method.as_str()).to_owned();
        let site = self.site(head);
        let date = self.date();
        let shared = Arc::clone(&self.shared);
        let ct = match shared.product {
            Product::Nginx { .. } => "text/html",
            Product::Apache => "text/html; charset=iso-8859-1",
        };
        let body = super::product::error_page(
            &shared.product,
            &shared.server,
            page_status,
            &method,
            &site,
        );
        let mut reply = Reply::new(status, ct, body);
        reply.error_page = true;
        let bytes = serialize(
            &shared.product,
            &shared.server,
            &date,
            &reply,
            &[],
            Persistence {
                keep_alive: false,
                remaining: 0,
                http10: false,
            },
            false,
        );
        self.state = State::Closed;
        self.buf = Vec::new();
        vec![
            Action::Emit(
                Draft::new(PROTOCOL_ERROR)
                    .field("error", error)
                    .field("status", status.to_string()),
            ),
            Action::Send(bytes),
            Action::Close,
        ]
    }

    fn head_error(&mut self, e: HeadError) -> Vec<Action> {
        let nginx = matches!(self.shared.product, Product::Nginx { .. });
        match e {
            HeadError::Malformed(why) => self.refuse(400, 400, why, None),
            HeadError::LineTooLong => self.refuse(414, 414, "request line too long", None),
            HeadError::HeaderTooLarge if nginx => {
                self.refuse(400, 494, "request header too large", None)
            }
            HeadError::HeaderTooLarge => self.refuse(400, 494, "request header too large", None),
            HeadError::TooManyHeaders => self.refuse(400, 400, "too many headers", None),
        }
    }

    fn dispatch(&mut self, head: Head, body: Option<Body>) -> Vec<Action> {
        if head.minor == 1 && head.header("Host").is_none() {
            return self.refuse(400, 400, "HTTP/1.1 request without Host", Some(&head));
        }
        // Only the applications with session ids use a token: no getrandom per request otherwise.
        let token = if matches!(self.shared.app.app, FakeApp::PhpMyAdmin | FakeApp::Jenkins) {
            let mut t = [0u8; 20];
            rand::rngs::OsRng.fill_bytes(&mut t);
            hex::encode(t)
        } else {
            String::new()
        };
        let kept: &[u8] = body.as_ref().map_or(&[], |b| b.kept.as_slice());
        let ctx = RouteCtx {
            head: &head,
            body: kept,
            base: self.base(&head),
            site: self.site(Some(&head)),
            token,
        };
        let routed = self.site_router().route(&ctx);
        let max = self.shared.product.max_requests();
        self.served += 1;
        let keep_alive = head.wants_keep_alive() && !routed.reply.close && self.served < max;
        let date = self.date();
        let bytes = serialize(
            &self.shared.product,
            &self.shared.server,
            &date,
            &routed.reply,
            &self.shared.extra_headers,
            Persistence {
                keep_alive,
                remaining: max.saturating_sub(self.served),
                http10: head.minor == 0,
            },
            head.method == "HEAD",
        );
        // nginx closes HTTP/1.0 clients after a generated page it sent without a length.
        let keep_alive = keep_alive
            && !(matches!(self.shared.product, Product::Nginx { .. })
                && routed.reply.dynamic
                && head.minor == 0);

        let mut actions = Vec::with_capacity(4);
        actions.push(Action::Emit(self.request_event(
            &head,
            body.as_ref(),
            &routed.reply,
            bytes.len(),
        )));
        for c in &routed.creds {
            actions.push(Action::Emit(
                Draft::new(AUTH)
                    .credential(&c.principal, c.kind, &c.secret, Outcome::Failure)
                    .field("auth_scheme", c.scheme)
                    .field("method", head.method.as_str())
                    .field("path", head.target.as_str())
                    .field("app", self.shared.app.app.as_str()),
            ));
        }
        actions.push(Action::Send(bytes));
        if !keep_alive {
            self.state = State::Closed;
            self.buf = Vec::new();
            actions.push(Action::Close);
        }
        actions
    }

    fn request_event(&self, head: &Head, body: Option<&Body>, reply: &Reply, sent: usize) -> Draft {
        let mut headers = String::new();
        for (k, v) in &head.headers {
            if headers.len() >= HEADERS_SHOWN {
                break;
            }
            if !headers.is_empty() {
                headers.push('\n');
            }
            headers.push_str(k);
            headers.push_str(": ");
            headers.push_str(&String::from_utf8_lossy(v));
        }
        if headers.len() > HEADERS_SHOWN {
            let mut cut = HEADERS_SHOWN;
            while !headers.is_char_boundary(cut) {
                cut -= 1;
            }
            headers.truncate(cut);
        }
        let mut d = Draft::new(REQUEST)
            .field("method", head.method.as_str())
            .field("path", head.target.as_str())
            .field("version", format!("HTTP/1.{}", head.minor))
            .field("http_host", head.header_str("Host").unwrap_or_default())
            .field(
                "user_agent",
                head.header_str("User-Agent").unwrap_or_default(),
            )
            .field("headers", headers)
            .field("body_len", body.map_or(0, |b| b.len).to_string());
        if let Some(b) = body.filter(|b| b.len > 0) {
            d = d.field("body_sha256", b.sha256()).field(
                "body",
                String::from_utf8_lossy(&b.kept[..b.kept.len().min(BODY_SHOWN)]).into_owned(),
            );
        }
        d.field("status", reply.status.to_string())
            .field("bytes_sent", sent.to_string())
            .field("app", self.shared.app.app.as_str())
    }

    fn step(&mut self, actions: &mut Vec<Action>) -> bool {
        match std::mem::replace(&mut self.state, State::Head) {
            State::Closed => {
                self.state = State::Closed;
                false
            }
            State::Head => {
                // Empty lines before a request line are ignored, as both servers do.
                let skip = self
                    .buf
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count();
                self.buf.drain(..skip);
                if self.buf.is_empty() {
                    return false;
                }
                match parse_head(&self.buf, self.shared.head_limits) {
                    HeadParse::Partial => false,
                    HeadParse::Error(e) => {
                        actions.extend(self.head_error(e));
                        false
                    }
                    HeadParse::Done(head, used) => {
                        self.buf.drain(..used);
                        match framing(&head) {
                            Err(why) => {
                                actions.extend(self.refuse(400, 400, why, Some(&head)));
                                false
                            }
                            Ok(Framing::None) => {
                                actions.extend(self.dispatch(head, None));
                                true
                            }
                            Ok(f) => {
                                if let (Framing::Length(n), Some(max)) =
                                    (f, self.shared.product.max_body())
                                    && n > max
                                {
                                    actions.extend(self.refuse(
                                        413,
                                        413,
                                        "request body too large",
                                        Some(&head),
                                    ));
                                    return false;
                                }
                                let expects = head
                                    .header("Expect")
                                    .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
                                if expects && head.minor == 1 && self.buf.is_empty() {
                                    actions.push(Action::Send(
                                        b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
                                    ));
                                }
                                self.state = State::Body(Box::new((head, Body::new(f))));
                                true
                            }
                        }
                    }
                }
            }
            State::Body(mut pending) => {
                let (head, body) = &mut *pending;
                match body.step(&self.buf) {
                    BodyStep::More(n) => {
                        self.buf.drain(..n);
                        if let (Some(max), Framing::Chunked) = (
                            self.shared.product.max_body(),
                            framing(head).unwrap_or(Framing::None),
                        ) && body.len > max
                        {
                            let head = head.clone();
                            actions.extend(self.refuse(
                                413,
                                413,
                                "request body too large",
                                Some(&head),
                            ));
                            return false;
                        }
                        self.state = State::Body(pending);
                        false
                    }
                    BodyStep::Done(n) => {
                        self.buf.drain(..n);
                        let (head, body) = *pending;
                        actions.extend(self.dispatch(head, Some(body)));
                        true
                    }
                    BodyStep::Error(why) => {
                        let head = head.clone();
                        actions.extend(self.refuse(400, 400, why, Some(&head)));
                        false
                    }
                }
            }
        }
    }
}

impl Session for HttpSession {
    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        if matches!(self.state, State::Closed) {
            return Vec::new();
        }
        self.buf.extend_from_slice(input);
        let mut actions = Vec::new();
        while self.step(&mut actions) {}
        actions
    }

    fn pending_bytes(&self) -> usize {
        match self.state {
            State::Head => self.buf.len(),
            State::Body(_) => self.buf.len().max(1),
            State::Closed => 0,
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        Some(if self.served == 0 {
            self.shared.product.first_request_timeout()
        } else {
            self.shared.product.keepalive_timeout()
        })
    }
}
