//! Credentials in HTTP requests: `Authorization` headers, login forms and
//! WordPress XML-RPC calls.

use base64::Engine as _;

use super::request::Head;

/// One captured credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `basic`, `bearer`, `digest`, `form` or `xmlrpc`.
    pub scheme: &'static str,
    /// User name (empty for bearer tokens).
    pub principal: String,
    /// The universal `secret_kind`.
    pub kind: &'static str,
    /// The secret as sent.
    pub secret: Vec<u8>,
}

/// Most credentials taken from one request (a system.multicall can carry hundreds).
pub const MAX_PER_REQUEST: usize = 64;

/// Decodes `application/x-www-form-urlencoded` (or a query string).
pub fn parse_form(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .take(256)
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                percent_decode(v),
            )
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(s[i + 1]), hex(s[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

const USER_FIELDS: &[&str] = &[
    "log",
    "pma_username",
    "j_username",
    "username",
    "user",
    "login",
    "email",
    "uname",
    "user_name",
    "userid",
    "usr",
    "name",
];

const PASS_FIELDS: &[&str] = &[
    "pwd",
    "pma_password",
    "j_password",
    "password",
    "pass",
    "passwd",
    "pswd",
    "passw",
    "secret",
];

/// A user/password pair in a decoded form, by the field names login forms use.
pub fn form_credential(form: &[(String, Vec<u8>)]) -> Option<Credential> {
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            form.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        })
    };
    let secret = find(PASS_FIELDS)?;
    let user = find(USER_FIELDS).unwrap_or_default();
    Some(Credential {
        scheme: "form",
        principal: String::from_utf8_lossy(&user).into_owned(),
        kind: "plaintext",
        secret,
    })
}

/// The credential in an `Authorization` header, if any.
pub fn authorization(head: &Head) -> Option<Credential> {
    let value = head.header("Authorization")?;
    let text = String::from_utf8_lossy(value);
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.as_bytes())
                .ok()?;
            let (user, pass) = match decoded.iter().position(|&b| b == b':') {
                Some(i) => (&decoded[..i], &decoded[i + 1..]),
                None => (&decoded[..], &b""[..]),
            };
            Some(Credential {
                scheme: "basic",
                principal: String::from_utf8_lossy(user).into_owned(),
                kind: "plaintext",
                secret: pass.to_vec(),
            })
        }
        "bearer" => Some(Credential {
            scheme: "bearer",
            principal: String::new(),
            kind: "http_bearer",
            secret: rest.as_bytes().to_vec(),
        }),
        "digest" => {
            let param = |name: &str| digest_param(rest, name).unwrap_or_default();
            Some(Credential {
                scheme: "digest",
                principal: param("username"),
                kind: "http_digest_md5",
                secret: param("response").into_bytes(),
            })
        }
        _ => None,
    }
}

fn digest_param(params: &str, name: &str) -> Option<String> {
    for part in params.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// WordPress XML-RPC methods whose first two parameters are user and password.
const WP_METHODS: &[&str] = &[
    "wp.getUsersBlogs",
    "wp.getProfile",
    "wp.getOptions",
    "wp.getPosts",
    "wp.getUsers",
    "wp.getAuthors",
    "metaWeblog.getUsersBlogs",
    "blogger.getUsersBlogs",
];

/// The values of `<string>` elements (and bare `<value>`s) in order.
fn xml_strings(xml: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = xml[at..].find("<string>") {
        let start = at + i + "<string>".len();
        let Some(len) = xml[start..].find("</string>") else {
            break;
        };
        out.push((start, unescape_xml(&xml[start..start + len])));
        at = start + len;
        if out.len() > 4 * MAX_PER_REQUEST {
            break;
        }
    }
    out
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Credentials in a WordPress XML-RPC body (plain calls and system.multicall).
pub fn xmlrpc_credentials(body: &[u8]) -> Vec<Credential> {
    let xml = String::from_utf8_lossy(body);
    let strings = xml_strings(&xml);
    let mut out = Vec::new();
    // A plain call names its method in <methodName>; a multicall names each
    // as a <string> followed by its parameters.
    let mut starts: Vec<usize> = Vec::new();
    if let Some(i) = xml.find("<methodName>") {
        let name_start = i + "<methodName>".len();
        let name = xml[name_start..]
            .split("</methodName>")
            .next()
            .unwrap_or("")
            .trim();
        if WP_METHODS.contains(&name) {
            starts.push(name_start);
        }
    }
    for (pos, s) in &strings {
        if WP_METHODS.contains(&s.as_str()) {
            starts.push(*pos);
        }
    }
    for start in starts {
        let mut after = strings.iter().filter(|(p, _)| *p > start);
        // Plain calls may put the blog id first as an <int>, never as a string.
        if let (Some((_, user)), Some((_, pass))) = (after.next(), after.next()) {
            out.push(Credential {
                scheme: "xmlrpc",
                principal: user.clone(),
                kind: "plaintext",
                secret: pass.clone().into_bytes(),
            });
        }
        if out.len() >= MAX_PER_REQUEST {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_with(auth: &str) -> Head {
        Head {
            method: "GET".into(),
            target: "/".into(),
            minor: 1,
            headers: vec![("Authorization".into(), auth.as_bytes().to_vec())],
        }
    }

    #[test]
    fn authorization_schemes() {
        let b = authorization(&head_with("Basic YWRtaW46czNjcjN0OnRvbw==")).unwrap();
        assert_eq!(
            (b.principal.as_str(), b.secret.as_slice()),
            ("admin", &b"s3cr3t:too"[..])
        );
        let t = authorization(&head_with("Bearer abc.def")).unwrap();
        assert_eq!(
            (t.kind, t.secret.as_slice()),
            ("http_bearer", &b"abc.def"[..])
        );
        let d = authorization(&head_with(
            r#"Digest username="bob", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1""#,
        ))
        .unwrap();
        assert_eq!(d.principal, "bob");
        assert_eq!(d.secret, b"6629fae49393a05397450978507c4ef1");
        assert!(authorization(&head_with("Basic !!!")).is_none());
    }

    #[test]
    fn forms_are_decoded() {
        let f = parse_form(b"log=admin&pwd=p%40ss+word%&wp-submit=Log+In");
        let c = form_credential(&f).unwrap();
        assert_eq!(c.principal, "admin");
        assert_eq!(c.secret, b"p@ss word%");
        assert!(form_credential(&parse_form(b"q=search")).is_none());
    }

    #[test]
    fn xmlrpc_multicall_yields_every_attempt() {
        let body = r#"<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>
<value><struct><member><name>methodName</name><value><string>wp.getUsersBlogs</string></value></member><member><name>params</name><value><array><data><value><array><data><value><string>admin</string></value><value><string>123456</string></value></data></array></value></data></array></value></member></struct></value>
<value><struct><member><name>methodName</name><value><string>wp.getUsersBlogs</string></value></member><member><name>params</name><value><array><data><value><array><data><value><string>admin</string></value><value><string>a&amp;b</string></value></data></array></value></data></array></value></member></struct></value>
</data></array></value></param></params></methodCall>"#;
        let c = xmlrpc_credentials(body.as_bytes());
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].secret, b"a&b");
        let plain = "<methodCall><methodName>wp.getUsersBlogs</methodName><params><param><value><string>root</string></value></param><param><value><string>toor</string></value></param></params></methodCall>";
        let c = xmlrpc_credentials(plain.as_bytes());
        assert_eq!(
            (c[0].principal.as_str(), c[0].secret.as_slice()),
            ("root", &b"toor"[..])
        );
    }
}
