//! The fake applications' pages and login flows; every login fails the way
//! the real application words it.

use super::super::creds::{self, Credential};
use super::super::pages::{self, fill};
use super::super::product::{Reply, escape_html};
use super::{GETLIKE, RouteCtx, Site2};

impl Site2<'_> {
    pub(super) fn php_page(&self, status: u16, body: String) -> Reply {
        Reply::new(status, "text/html; charset=UTF-8", body.into_bytes()).dynamic()
    }

    pub(super) fn wordpress(
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

    pub(super) fn phpmyadmin(
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

    pub(super) fn router(
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

    pub(super) fn tomcat(&self, ctx: &RouteCtx<'_>, path: &str) -> Reply {
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

    pub(super) fn jenkins(
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
