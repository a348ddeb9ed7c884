//! What the site serves: the product's default page or one of the fake
//! applications, with their login flows. Every login fails, the way the
//! real application words it.

use rand::Rng as _;
use rand::seq::SliceRandom as _;

use super::creds::{self, Credential};
use super::pages::{self, fill};
use super::product::{Product, Reply, Site, error_page, escape_html, redirect_page};
use super::request::Head;
use crate::persona::Persona;

/// The `fake_app` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeApp {
    /// The product's default page.
    None,
    /// WordPress (`/wp-login.php`, `/wp-admin/`, `/xmlrpc.php`).
    WordPress,
    /// phpMyAdmin at `/` and `/phpmyadmin/`.
    PhpMyAdmin,
    /// A home router's web login.
    Router,
    /// Tomcat's ROOT page and the Basic-auth manager.
    Tomcat,
    /// Jenkins's sign-in page.
    Jenkins,
}

impl FakeApp {
    /// Parses the spec value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" | "" => FakeApp::None,
            "wordpress" => FakeApp::WordPress,
            "phpmyadmin" => FakeApp::PhpMyAdmin,
            "router" => FakeApp::Router,
            "tomcat" => FakeApp::Tomcat,
            "jenkins" => FakeApp::Jenkins,
            _ => return None,
        })
    }

    /// The spec spelling, also the `app` field of events.
    pub fn as_str(self) -> &'static str {
        match self {
            FakeApp::None => "none",
            FakeApp::WordPress => "wordpress",
            FakeApp::PhpMyAdmin => "phpmyadmin",
            FakeApp::Router => "router",
            FakeApp::Tomcat => "tomcat",
            FakeApp::Jenkins => "jenkins",
        }
    }
}

/// Per-decky values of the site, drawn from the seed.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Which application.
    pub app: FakeApp,
    /// Status of the landing page.
    pub response_code: u16,
    /// Replaces the landing page body.
    pub custom_body: Option<Vec<u8>>,
    /// Mtime of static files (Last-Modified, ETag).
    pub mtime: i64,
    /// Site title (WordPress).
    pub site_title: String,
    /// Application version.
    pub version: String,
    /// Router vendor and model.
    pub router: (&'static str, &'static str),
    /// WordPress accounts that "exist" (the rest are "not registered").
    pub wp_users: Vec<String>,
    /// Jenkins static resource hash.
    pub res_hash: String,
}

impl AppConfig {
    /// Seeded values for `app`.
    pub fn new(
        app: FakeApp,
        persona: &Persona,
        response_code: u16,
        custom_body: Option<Vec<u8>>,
    ) -> Self {
        let seed = persona.seed();
        let mut rng = seed.rng("http.app");
        // Package file dates: a few months to two years before 2025-06.
        let mtime = 1_748_736_000 - rng.gen_range(90..730) * 86_400 - rng.gen_range(0..86_400);
        let version = match app {
            FakeApp::WordPress => ["6.4.3", "6.5.5", "6.6.2", "6.7.1", "6.8.1"]
                .choose(&mut rng)
                .copied()
                .unwrap_or("6.6.2")
                .to_owned(),
            FakeApp::PhpMyAdmin => match persona.distro.as_str() {
                "ubuntu" => "5.1.1deb5ubuntu1".to_owned(),
                _ => "5.2.1deb3".to_owned(),
            },
            FakeApp::Tomcat => ["9.0.70", "9.0.85", "10.1.6", "10.1.24"]
                .choose(&mut rng)
                .copied()
                .unwrap_or("9.0.85")
                .to_owned(),
            FakeApp::Jenkins => ["2.426.3", "2.440.3", "2.452.2", "2.462.1"]
                .choose(&mut rng)
                .copied()
                .unwrap_or("2.440.3")
                .to_owned(),
            FakeApp::Router => format!(
                "{}.{}.{} Build {}",
                rng.gen_range(1..4),
                rng.gen_range(0..10),
                rng.gen_range(0..30),
                rng.gen_range(180_000..240_000)
            ),
            FakeApp::None => String::new(),
        };
        let router = *[
            ("TP-Link", "Archer C7"),
            ("TP-Link", "Archer A7"),
            ("NETGEAR", "R7000"),
            ("ASUS", "RT-AC68U"),
            ("Linksys", "EA6350"),
            ("D-Link", "DIR-842"),
        ]
        .choose(&mut rng)
        .unwrap_or(&("NETGEAR", "R7000"));
        let first = persona.hostname.split('.').next().unwrap_or("site");
        let site_title = first
            .split(['-', '_'])
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ");
        AppConfig {
            app,
            response_code,
            custom_body,
            mtime,
            site_title,
            version,
            router,
            wp_users: vec!["admin".to_owned()],
            res_hash: seed.hex("http.jenkins.res", 8),
        }
    }
}

/// What a route needs to know about the request.
#[derive(Debug)]
pub struct RouteCtx<'a> {
    /// The request head.
    pub head: &'a Head,
    /// The body (the kept prefix).
    pub body: &'a [u8],
    /// `scheme://host[:port]` as the client addressed us.
    pub base: String,
    /// Host and port for Apache's signature line.
    pub site: Site,
    /// A fresh random token for this response (session ids, CSRF tokens).
    pub token: String,
}

/// A routed request: the response and the credentials it carried.
#[derive(Debug)]
pub struct Routed {
    /// The response.
    pub reply: Reply,
    /// Credentials found (headers, forms, XML-RPC).
    pub creds: Vec<Credential>,
}

/// Serves requests for one configured site.
#[derive(Debug, Clone)]
pub struct Site2<'a> {
    /// Per-decky values.
    pub cfg: &'a AppConfig,
    /// The product.
    pub product: &'a Product,
    /// The Server header value.
    pub server: &'a str,
}

const GETLIKE: &[&str] = &["GET", "HEAD"];

/// Methods Apache knows; others get 501 there.
const KNOWN_METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];

impl Site2<'_> {
    /// The product's error page for `status`.
    pub fn error(&self, status: u16, ctx: &RouteCtx<'_>) -> Reply {
        let ct = match self.product {
            Product::Nginx { .. } => "text/html",
            Product::Apache => "text/html; charset=iso-8859-1",
        };
        let body = error_page(
            self.product,
            self.server,
            status,
            &ctx.head.method,
            &ctx.site,
        );
        let mut r = Reply::new(status, ct, body);
        r.error_page = true;
        r
    }

    /// The product's own redirect (mod_dir, `rewrite ... permanent`).
    fn redirect(&self, ctx: &RouteCtx<'_>, status: u16, location: &str) -> Reply {
        let mut r = self.error(status, ctx);
        r.body = redirect_page(self.product, self.server, status, location, &ctx.site);
        r.headers.push(("Location".into(), location.to_owned()));
        r
    }

    /// A static file, with the product's method rules.
    fn static_file(&self, ctx: &RouteCtx<'_>, status: u16, body: Vec<u8>) -> Reply {
        let m = ctx.head.method.as_str();
        match self.product {
            Product::Nginx { .. } if !GETLIKE.contains(&m) => return self.error(405, ctx),
            Product::Apache if m == "OPTIONS" => {
                let mut r = Reply::new(200, "text/html", Vec::new());
                r.headers
                    .push(("Allow".into(), "POST,OPTIONS,HEAD,GET".into()));
                return r;
            }
            Product::Apache if !KNOWN_METHODS.contains(&m) => return self.error(501, ctx),
            Product::Apache if !matches!(m, "GET" | "HEAD" | "POST") => {
                let mut r = self.error(405, ctx);
                r.headers
                    .push(("Allow".into(), "POST,OPTIONS,HEAD,GET".into()));
                return r;
            }
            _ => {}
        }
        if status != 200 && self.cfg.custom_body.is_none() {
            let mut r = self.error(status, ctx);
            if status == 401 {
                r.headers.push((
                    "WWW-Authenticate".into(),
                    "Basic realm=\"Restricted\"".into(),
                ));
            }
            return r;
        }
        let mut r = Reply::new(status, "text/html", body);
        r.file_mtime = Some(self.cfg.mtime);
        if status == 401 {
            r.headers.push((
                "WWW-Authenticate".into(),
                "Basic realm=\"Restricted\"".into(),
            ));
        }
        r
    }

    fn landing_body(&self) -> Vec<u8> {
        if let Some(b) = &self.cfg.custom_body {
            return b.clone();
        }
        match self.product {
            Product::Nginx { .. } => pages::NGINX_DEFAULT.as_bytes().to_vec(),
            Product::Apache => pages::APACHE_DEFAULT.as_bytes().to_vec(),
        }
    }

    /// Routes one request.
    pub fn route(&self, ctx: &RouteCtx<'_>) -> Routed {
        let mut creds: Vec<Credential> = creds::authorization(ctx.head).into_iter().collect();
        let path = ctx.head.path();
        let is_form = ctx
            .head
            .header("Content-Type")
            .is_some_and(|v| v.starts_with(b"application/x-www-form-urlencoded"));
        let form = if is_form {
            creds::parse_form(ctx.body)
        } else {
            Vec::new()
        };
        let reply = match self.cfg.app {
            FakeApp::None => self.default_site(ctx, path),
            FakeApp::WordPress => self.wordpress(ctx, path, &form, &mut creds),
            FakeApp::PhpMyAdmin => self.phpmyadmin(ctx, path, &form, &mut creds),
            FakeApp::Router => self.router(ctx, path, &form, &mut creds),
            FakeApp::Tomcat => self.tomcat(ctx, path),
            FakeApp::Jenkins => self.jenkins(ctx, path, &form, &mut creds),
        };
        // A login form posted anywhere else is still a credential.
        if creds.iter().all(|c| c.scheme != "form")
            && ctx.head.method == "POST"
            && let Some(c) = creds::form_credential(&form)
        {
            creds.push(c);
        }
        creds.truncate(creds::MAX_PER_REQUEST);
        Routed { reply, creds }
    }

    fn default_site(&self, ctx: &RouteCtx<'_>, path: &str) -> Reply {
        let index = match self.product {
            Product::Nginx { .. } => "/index.nginx-debian.html",
            Product::Apache => "/index.html",
        };
        if path == "/" || path == index {
            return self.static_file(ctx, self.cfg.response_code, self.landing_body());
        }
        if matches!(self.product, Product::Apache)
            && (path.starts_with("/server-status") || path.starts_with("/.ht"))
        {
            return self.error(403, ctx);
        }
        self.error(404, ctx)
    }

    fn php_page(&self, status: u16, body: String) -> Reply {
        Reply::new(status, "text/html; charset=UTF-8", body.into_bytes()).dynamic()
    }

    fn wordpress(
        &self,
        ctx: &RouteCtx<'_>,
        path: &str,
        form: &[(String, Vec<u8>)],
        creds: &mut Vec<Credential>,
    ) -> Reply {
        let base = ctx.base.as_str();
        let site = escape_html(&self.cfg.site_title);
        let ver = self.cfg.version.as_str();
        match path {
            "/" | "/index.php" => {
                if ctx.head.method == "POST" || GETLIKE.contains(&ctx.head.method.as_str()) {
                    let body = fill(
                        pages::WP_HOME,
                        &[("site", &site), ("base", base), ("ver", ver)],
                    );
                    return self.php_page(200, body).header(
                        "Link",
                        format!("<{base}/wp-json/>; rel=\"https://api.w.org/\""),
                    );
                }
                self.error(405, ctx)
            }
            "/wp-login.php" => {
                let mut error = String::new();
                let mut user = String::new();
                let mut invalid = "";
                if ctx.head.method == "POST"
                    && let Some(c) = creds::form_credential(form)
                {
                    {
                        user = c.principal.clone();
                        let shown = escape_html(&c.principal);
                        let lost = format!("{base}/wp-login.php?action=lostpassword");
                        error = if c.principal.is_empty() || c.secret.is_empty() {
                            let mut e = String::from(
                                "<div id=\"login_error\" class=\"notice notice-error\">",
                            );
                            if c.principal.is_empty() {
                                e.push_str(
                                    "<strong>Error:</strong> The username field is empty.<br />",
                                );
                            }
                            if c.secret.is_empty() {
                                e.push_str(
                                    "<strong>Error:</strong> The password field is empty.<br />",
                                );
                            }
                            e.push_str("</div>");
                            e
                        } else if self
                            .cfg
                            .wp_users
                            .iter()
                            .any(|u| u.eq_ignore_ascii_case(&c.principal))
                        {
                            format!(
                                "<div id=\"login_error\" class=\"notice notice-error\"><p><strong>Error:</strong> The password you entered for the username <strong>{shown}</strong> is incorrect. <a href=\"{lost}\">Lost your password?</a></p></div>"
                            )
                        } else {
                            format!(
                                "<div id=\"login_error\" class=\"notice notice-error\"><p><strong>Error:</strong> The username <strong>{shown}</strong> is not registered on this site. If you are unsure of your username, try your email address instead.</p></div>"
                            )
                        };
                        invalid = " aria-describedby=\"login_error\"";
                        creds.push(c);
                    }
                }
                let body = fill(
                    pages::WP_LOGIN,
                    &[
                        ("site", &site),
                        ("base", base),
                        ("ver", ver),
                        ("error", &error),
                        ("user", &escape_html(&user)),
                        ("invalid", invalid),
                    ],
                );
                self.php_page(200, body)
                    .header("Expires", "Wed, 11 Jan 1984 05:00:00 GMT")
                    .header(
                        "Cache-Control",
                        "no-cache, must-revalidate, max-age=0, no-store, private",
                    )
                    .header(
                        "Set-Cookie",
                        "wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly",
                    )
                    .header("X-Frame-Options", "SAMEORIGIN")
            }
            "/wp-admin" | "/wp-admin/" | "/wp-admin/index.php" => {
                let to = format!(
                    "{base}/wp-login.php?redirect_to={}&reauth=1",
                    url_encode(&format!("{base}/wp-admin/"))
                );
                let mut r = self.php_page(302, String::new());
                r.headers
                    .push(("Expires".into(), "Wed, 11 Jan 1984 05:00:00 GMT".into()));
                r.headers.push((
                    "Cache-Control".into(),
                    "no-cache, must-revalidate, max-age=0, no-store, private".into(),
                ));
                r.headers.push(("X-Redirect-By".into(), "WordPress".into()));
                r.headers.push(("Location".into(), to));
                r
            }
            "/xmlrpc.php" => {
                if ctx.head.method != "POST" {
                    return self
                        .php_page(405, "XML-RPC server accepts POST requests only.".into())
                        .header("Allow", "POST");
                }
                let found = creds::xmlrpc_credentials(ctx.body);
                let n = found.len().max(1);
                creds.extend(found);
                let fault = "<value><struct>\n  <member><name>faultCode</name><value><int>403</int></value></member>\n  <member><name>faultString</name><value><string>Incorrect username or password.</string></value></member>\n</struct></value>";
                let body = if String::from_utf8_lossy(ctx.body).contains("system.multicall") {
                    let items: String = (0..n).map(|_| format!("  {fault}\n")).collect();
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse>\n  <params>\n    <param>\n      <value>\n      <array><data>\n{items}</data></array>\n      </value>\n    </param>\n  </params>\n</methodResponse>\n"
                    )
                } else {
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse>\n  <fault>\n    {fault}\n  </fault>\n</methodResponse>\n"
                    )
                };
                Reply::new(200, "text/xml; charset=UTF-8", body.into_bytes()).dynamic()
            }
            _ if path.ends_with(".php") => {
                // WordPress's own 404 page would need the theme; PHP files that
                // do not exist are nginx's / Apache's 404 (try_files / no script).
                self.error(404, ctx)
            }
            _ => self.error(404, ctx),
        }
    }

    fn phpmyadmin(
        &self,
        ctx: &RouteCtx<'_>,
        path: &str,
        form: &[(String, Vec<u8>)],
        creds: &mut Vec<Credential>,
    ) -> Reply {
        let root = match path {
            "/" | "/index.php" => "/",
            "/phpmyadmin/" | "/phpmyadmin/index.php" => "/phpmyadmin/",
            "/phpmyadmin" => return self.redirect(ctx, 301, &format!("{}/phpmyadmin/", ctx.base)),
            _ => return self.error(404, ctx),
        };
        let mut error = String::new();
        let mut user = String::new();
        if ctx.head.method == "POST"
            && let Some(c) = creds::form_credential(form)
        {
            user = c.principal.clone();
            let using = if c.secret.is_empty() { "NO" } else { "YES" };
            let shown = escape_html(&c.principal).replace('\'', "&#039;");
            error = format!(
                "<div class=\"alert alert-danger\" role=\"alert\">\n  <img src=\"themes/dot.gif\" title=\"\" alt=\"\" class=\"icon ic_s_error\"> mysqli::real_connect(): (HY000/1045): Access denied for user &#039;{shown}&#039;@&#039;localhost&#039; (using password: {using})\n</div>\n<div class=\"alert alert-danger\" role=\"alert\">\n  <img src=\"themes/dot.gif\" title=\"\" alt=\"\" class=\"icon ic_s_error\"> Cannot log in to the MySQL server\n</div>\n"
            );
            creds.push(c);
        }
        let token: String = ctx.token.chars().take(32).collect();
        let session: String = ctx.token.chars().rev().take(26).collect();
        let body = fill(
            pages::PMA_LOGIN,
            &[
                (
                    "ver",
                    self.cfg.version.split("deb").next().unwrap_or("5.2.1"),
                ),
                ("token", &token),
                ("session", &session),
                ("error", &error),
                ("user", &escape_html(&user)),
            ],
        );
        self.php_page(200, body)
            .header("Set-Cookie", format!("phpMyAdmin={session}; path={root}; HttpOnly"))
            .header("X-Ob_Mode", "1")
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "no-referrer")
            .header("Content-Security-Policy", "default-src 'self' ;script-src 'self' 'unsafe-inline' 'unsafe-eval' ;style-src 'self' 'unsafe-inline' ;img-src 'self' data:  *.tile.openstreetmap.org;object-src 'none';")
            .header("X-Content-Type-Options", "nosniff")
            .header("X-XSS-Protection", "1; mode=block")
            .header("X-Robots-Tag", "noindex, nofollow")
            .header("Expires", "Sat, 01 Jan 2000 00:00:00 GMT")
            .header("Cache-Control", "no-store, no-cache, must-revalidate,  pre-check=0, post-check=0, max-age=0")
            .header("Pragma", "no-cache")
    }

    fn router(
        &self,
        ctx: &RouteCtx<'_>,
        path: &str,
        form: &[(String, Vec<u8>)],
        creds: &mut Vec<Credential>,
    ) -> Reply {
        let (vendor, model) = self.cfg.router;
        let render = |error: &str, user: &str| {
            fill(
                pages::ROUTER_LOGIN,
                &[
                    ("vendor", vendor),
                    ("model", model),
                    ("fw", &self.cfg.version),
                    ("error", error),
                    ("user", &escape_html(user)),
                ],
            )
        };
        match path {
            "/" | "/index.html" | "/login.html" => {
                Reply::new(200, "text/html", render("", "").into_bytes()).dynamic()
            }
            "/login.cgi" if ctx.head.method == "POST" => {
                let user = creds::form_credential(form).map(|c| {
                    let u = c.principal.clone();
                    creds.push(c);
                    u
                });
                let err = "<div class=\"error\">Invalid username or password.</div>";
                Reply::new(
                    200,
                    "text/html",
                    render(err, &user.unwrap_or_default()).into_bytes(),
                )
                .dynamic()
            }
            _ => self.error(404, ctx),
        }
    }

    fn tomcat(&self, ctx: &RouteCtx<'_>, path: &str) -> Reply {
        let ver = self.cfg.version.as_str();
        if path.starts_with("/manager/") || path.starts_with("/host-manager/") {
            let realm = if path.starts_with("/host-manager/") {
                "Tomcat Host Manager Application"
            } else {
                "Tomcat Manager Application"
            };
            return Reply::new(
                401,
                "text/html;charset=utf-8",
                fill(pages::TOMCAT_401, &[("ver", ver)]).into_bytes(),
            )
            .header("Cache-Control", "private")
            .header("WWW-Authenticate", format!("Basic realm=\"{realm}\""))
            .header("Content-Language", "en");
        }
        if path == "/" || path == "/index.jsp" {
            let year = if ver.starts_with("10.1.2") {
                "2024"
            } else {
                "2023"
            };
            return Reply::new(
                200,
                "text/html;charset=UTF-8",
                fill(pages::TOMCAT_HOME, &[("ver", ver), ("year", year)]).into_bytes(),
            )
            .dynamic();
        }
        self.error(404, ctx)
    }

    fn jenkins(
        &self,
        ctx: &RouteCtx<'_>,
        path: &str,
        form: &[(String, Vec<u8>)],
        creds: &mut Vec<Credential>,
    ) -> Reply {
        let with_headers = |r: Reply| {
            r.header("X-Content-Type-Options", "nosniff")
                .header("X-Jenkins", self.cfg.version.clone())
                .header(
                    "X-Jenkins-Session",
                    ctx.token.chars().take(8).collect::<String>(),
                )
        };
        match path {
            "/login" => {
                let error = if ctx.head.query().is_some_and(|q| q.contains("error")) {
                    "<div class=\"app-sign-in-register__error\">Invalid username or password</div>"
                } else {
                    ""
                };
                let body = fill(
                    pages::JENKINS_LOGIN,
                    &[("res", &self.cfg.res_hash), ("error", error)],
                );
                with_headers(
                    Reply::new(200, "text/html;charset=utf-8", body.into_bytes()).dynamic(),
                )
                .header("Cache-Control", "no-cache,no-store,must-revalidate")
            }
            "/j_spring_security_check" | "/j_acegi_security_check" if ctx.head.method == "POST" => {
                if let Some(c) = creds::form_credential(form) {
                    creds.push(c);
                }
                let mut r = Reply::new(302, "text/html", Vec::new()).dynamic();
                r.headers
                    .push(("Location".into(), format!("{}/loginError", ctx.base)));
                r
            }
            "/loginError" => {
                let mut r = Reply::new(302, "text/html", Vec::new()).dynamic();
                r.headers
                    .push(("Location".into(), format!("{}/login?error", ctx.base)));
                r
            }
            _ => {
                let body = format!(
                    "<html><head><meta http-equiv='refresh' content='1;url=/login?from=%2F{}'/><script id='redirect' data-redirect-url='/login?from=%2F{}' src='/static/{}/scripts/redirect.js'></script></head><body style='background-color:white; color:white;'>\nAuthentication required\n<!--\n-->\n\n</body></html>",
                    url_encode(path.trim_start_matches('/')),
                    url_encode(path.trim_start_matches('/')),
                    self.cfg.res_hash
                );
                with_headers(Reply::new(403, "text/html;charset=utf-8", body.into_bytes()).dynamic())
                    .header("X-Hudson", "1.395")
                    .header("X-You-Are-Authenticated-As", "anonymous")
                    .header("X-You-Are-In-Group-Disabled", "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose")
                    .header("X-Required-Permission", "hudson.model.Hudson.Read")
                    .header("X-Permission-Implied-By", "hudson.security.Permission.GenericRead")
            }
        }
    }
}

/// Percent-encodes for a query value.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
