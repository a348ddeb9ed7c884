//! What the site serves: the product's default page or one of the fake
//! applications, with their login flows. Every login fails, the way the
//! real application words it.

use rand::Rng as _;
use rand::seq::SliceRandom as _;

use super::creds::{self, Credential};
use super::pages;
use super::product::{Product, Reply, Site, error_page, redirect_page};
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
}

mod logins;
