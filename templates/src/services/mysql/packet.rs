//! MySQL client/server protocol packets of the connection phase: framing,
//! the v10 greeting, HandshakeResponse41/320, SSLRequest and ERR.

/// `CLIENT_LONG_PASSWORD` (cleared by MariaDB servers to mark themselves).
pub const CLIENT_LONG_PASSWORD: u32 = 0x0000_0001;
/// `CLIENT_CONNECT_WITH_DB`.
pub const CLIENT_CONNECT_WITH_DB: u32 = 0x0000_0008;
/// `CLIENT_PROTOCOL_41`.
pub const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
/// `CLIENT_SSL`.
pub const CLIENT_SSL: u32 = 0x0000_0800;
/// `CLIENT_SECURE_CONNECTION` (a.k.a. `CLIENT_RESERVED2`).
pub const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
/// `CLIENT_PLUGIN_AUTH`.
pub const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;
/// `CLIENT_CONNECT_ATTRS`.
pub const CLIENT_CONNECT_ATTRS: u32 = 0x0010_0000;
/// `CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA`.
pub const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x0020_0000;

/// `SERVER_STATUS_AUTOCOMMIT`.
pub const STATUS_AUTOCOMMIT: u16 = 0x0002;

/// One framed packet at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete packet and the bytes it used (header included).
    Packet {
        /// Sequence id.
        seq: u8,
        /// Payload.
        payload: &'a [u8],
        /// Bytes consumed.
        used: usize,
    },
    /// More bytes are needed.
    Incomplete,
    /// The header announces a payload longer than allowed.
    TooLarge(usize),
}

/// Splits the first packet off `buf`, refusing payloads over `max`.
pub fn next_packet(buf: &[u8], max: usize) -> Frame<'_> {
    if buf.len() < 4 {
        return Frame::Incomplete;
    }
    let len = usize::from(buf[0]) | usize::from(buf[1]) << 8 | usize::from(buf[2]) << 16;
    if len > max {
        return Frame::TooLarge(len);
    }
    if buf.len() < 4 + len {
        return Frame::Incomplete;
    }
    Frame::Packet {
        seq: buf[3],
        payload: &buf[4..4 + len],
        used: 4 + len,
    }
}

/// Frames `payload` (at most 16 MiB - 1 bytes) with sequence id `seq`.
pub fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(0xff_ffff);
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
    out.push(seq);
    out.extend_from_slice(&payload[..len]);
    out
}

/// An ERR packet (protocol 4.1 form, with SQL state).
pub fn err_packet(seq: u8, code: u16, sql_state: &str, message: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(9 + message.len());
    p.push(0xff);
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(sql_state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    frame(seq, &p)
}

/// The server's first packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting<'a> {
    /// `server_version`.
    pub version: &'a str,
    /// Connection (thread) id.
    pub connection_id: u32,
    /// The 20-byte scramble.
    pub salt: &'a [u8; 20],
    /// Capability flags.
    pub capabilities: u32,
    /// Default collation id.
    pub charset: u8,
    /// Status flags.
    pub status: u16,
    /// Default authentication plugin.
    pub auth_plugin: &'a str,
    /// MariaDB extended capabilities (in the reserved bytes); 0 for MySQL.
    pub mariadb_caps: u32,
}

impl Greeting<'_> {
    /// The framed packet (sequence id 0).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(96);
        p.push(10);
        p.extend_from_slice(self.version.as_bytes());
        p.push(0);
        p.extend_from_slice(&self.connection_id.to_le_bytes());
        p.extend_from_slice(&self.salt[..8]);
        p.push(0);
        p.extend_from_slice(&(self.capabilities as u16).to_le_bytes());
        p.push(self.charset);
        p.extend_from_slice(&self.status.to_le_bytes());
        p.extend_from_slice(&((self.capabilities >> 16) as u16).to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 6]);
        p.extend_from_slice(&self.mariadb_caps.to_le_bytes());
        p.extend_from_slice(&self.salt[8..]);
        p.push(0);
        p.extend_from_slice(self.auth_plugin.as_bytes());
        p.push(0);
        frame(0, &p)
    }
}

/// What the client sent after the greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHello {
    /// A 32-byte SSLRequest: the client wants TLS.
    SslRequest {
        /// Its capability flags.
        capabilities: u32,
    },
    /// A login request.
    Login(HandshakeResponse),
}

/// A HandshakeResponse41 (or 320).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandshakeResponse {
    /// Client capability flags.
    pub capabilities: u32,
    /// Client collation id (0 for protocol 320).
    pub charset: u8,
    /// User name.
    pub user: Vec<u8>,
    /// Authentication response (the scramble).
    pub auth_response: Vec<u8>,
    /// Initial database.
    pub database: Option<Vec<u8>>,
    /// Client authentication plugin.
    pub auth_plugin: Option<String>,
    /// Connection attributes (`_client_name`, `_os`, ...), at most 64 pairs.
    pub attributes: Vec<(String, String)>,
}

/// Why a client packet is malformed ("Bad handshake" to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed handshake response: {0}")]
pub struct Malformed(pub &'static str);

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }

    fn cstr(&mut self) -> Option<&'a [u8]> {
        let rest = self.b.get(self.pos..)?;
        let nul = rest.iter().position(|&c| c == 0)?;
        self.pos += nul + 1;
        Some(&rest[..nul])
    }

    /// A NUL-terminated string, or the rest of the packet when the NUL is missing.
    fn cstr_or_rest(&mut self) -> &'a [u8] {
        match self.cstr() {
            Some(s) => s,
            None => {
                let rest = self.b.get(self.pos..).unwrap_or(&[]);
                self.pos = self.b.len();
                rest
            }
        }
    }

    fn lenenc(&mut self) -> Option<u64> {
        match self.u8()? {
            n @ 0..=0xfa => Some(u64::from(n)),
            0xfc => self
                .take(2)
                .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]]))),
            0xfd => self
                .take(3)
                .map(|s| u64::from(s[0]) | u64::from(s[1]) << 8 | u64::from(s[2]) << 16),
            0xfe => self.take(8).map(|s| {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                u64::from_le_bytes(a)
            }),
            _ => None,
        }
    }

    fn lenenc_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.lenenc()?).ok()?;
        self.take(n)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }
}

/// Parses the client's reply to the greeting.
pub fn parse_client_hello(payload: &[u8]) -> Result<ClientHello, Malformed> {
    let mut r = Reader { b: payload, pos: 0 };
    if payload.len() < 4 {
        return Err(Malformed("shorter than the capability flags"));
    }
    let low = r.take(2).ok_or(Malformed("truncated"))?;
    let low = u32::from(u16::from_le_bytes([low[0], low[1]]));
    if low & CLIENT_PROTOCOL_41 == 0 {
        // HandshakeResponse320: 2-byte flags, 3-byte max packet, user, password.
        r.take(3).ok_or(Malformed("truncated max packet size"))?;
        let user = r
            .cstr()
            .ok_or(Malformed("unterminated user name"))?
            .to_vec();
        let auth = r.cstr_or_rest().to_vec();
        return Ok(ClientHello::Login(HandshakeResponse {
            capabilities: low,
            user,
            auth_response: auth,
            ..HandshakeResponse::default()
        }));
    }
    let high = r.take(2).ok_or(Malformed("truncated"))?;
    let caps = low | u32::from(u16::from_le_bytes([high[0], high[1]])) << 16;
    r.take(4).ok_or(Malformed("truncated max packet size"))?;
    let charset = r.u8().ok_or(Malformed("truncated character set"))?;
    r.take(23).ok_or(Malformed("truncated filler"))?;
    if caps & CLIENT_SSL != 0 && r.at_end() {
        return Ok(ClientHello::SslRequest { capabilities: caps });
    }
    let user = r
        .cstr()
        .ok_or(Malformed("unterminated user name"))?
        .to_vec();
    let auth_response = if caps & CLIENT_PLUGIN_AUTH_LENENC != 0 {
        r.lenenc_bytes()
            .ok_or(Malformed("truncated auth response"))?
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        let n = r.u8().ok_or(Malformed("truncated auth response length"))?;
        r.take(usize::from(n))
            .ok_or(Malformed("truncated auth response"))?
    } else {
        r.cstr_or_rest()
    }
    .to_vec();
    let database =
        (caps & CLIENT_CONNECT_WITH_DB != 0 && !r.at_end()).then(|| r.cstr_or_rest().to_vec());
    let auth_plugin = (caps & CLIENT_PLUGIN_AUTH != 0 && !r.at_end())
        .then(|| String::from_utf8_lossy(r.cstr_or_rest()).into_owned());
    let mut attributes = Vec::new();
    if caps & CLIENT_CONNECT_ATTRS != 0
        && !r.at_end()
        && let Some(block) = r.lenenc_bytes()
    {
        let mut a = Reader { b: block, pos: 0 };
        while !a.at_end() && attributes.len() < 64 {
            let (Some(k), Some(v)) = (a.lenenc_bytes(), a.lenenc_bytes()) else {
                break;
            };
            attributes.push((
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ));
        }
    }
    Ok(ClientHello::Login(HandshakeResponse {
        capabilities: caps,
        charset,
        user,
        auth_response,
        database,
        auth_plugin,
        attributes,
    }))
}

/// An AuthSwitchRequest asking the client to use `plugin` with `salt`.
pub fn auth_switch(seq: u8, plugin: &str, salt: &[u8; 20]) -> Vec<u8> {
    let mut p = Vec::with_capacity(2 + plugin.len() + 21);
    p.push(0xfe);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    p.extend_from_slice(salt);
    p.push(0);
    frame(seq, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A HandshakeResponse41 as the MariaDB 10.11 client sends it.
    fn login41(user: &[u8], auth: &[u8], db: Option<&[u8]>, plugin: &str) -> Vec<u8> {
        let mut caps = CLIENT_PROTOCOL_41
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH
            | CLIENT_CONNECT_ATTRS
            | CLIENT_PLUGIN_AUTH_LENENC;
        if db.is_some() {
            caps |= CLIENT_CONNECT_WITH_DB;
        }
        let mut p = caps.to_le_bytes().to_vec();
        p.extend_from_slice(&16_777_216u32.to_le_bytes());
        p.push(45);
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(user);
        p.push(0);
        p.push(auth.len() as u8);
        p.extend_from_slice(auth);
        if let Some(db) = db {
            p.extend_from_slice(db);
            p.push(0);
        }
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        let attrs = [
            ("_client_name", "libmariadb"),
            ("_client_version", "3.3.14"),
        ];
        let mut block = Vec::new();
        for (k, v) in attrs {
            block.push(k.len() as u8);
            block.extend_from_slice(k.as_bytes());
            block.push(v.len() as u8);
            block.extend_from_slice(v.as_bytes());
        }
        p.push(block.len() as u8);
        p.extend(block);
        p
    }

    #[test]
    fn parses_a_full_login() {
        let scramble = [7u8; 20];
        let hello = parse_client_hello(&login41(
            b"root",
            &scramble,
            Some(b"mysql"),
            "mysql_native_password",
        ))
        .unwrap();
        let ClientHello::Login(l) = hello else {
            panic!("{hello:?}")
        };
        assert_eq!(l.user, b"root");
        assert_eq!(l.auth_response, scramble);
        assert_eq!(l.database.as_deref(), Some(&b"mysql"[..]));
        assert_eq!(l.auth_plugin.as_deref(), Some("mysql_native_password"));
        assert_eq!(
            l.attributes[0],
            ("_client_name".into(), "libmariadb".into())
        );
        assert_eq!(l.charset, 45);
    }

    #[test]
    fn ssl_request_320_and_garbage() {
        let mut ssl = (CLIENT_PROTOCOL_41 | CLIENT_SSL).to_le_bytes().to_vec();
        ssl.extend_from_slice(&[0; 28]);
        assert!(matches!(
            parse_client_hello(&ssl),
            Ok(ClientHello::SslRequest { .. })
        ));
        let old = [0x85, 0x24, 0, 0, 0, b'b', b'o', b'b', 0, b'x', b'y'];
        let ClientHello::Login(l) = parse_client_hello(&old).unwrap() else {
            panic!()
        };
        assert_eq!(
            (l.user.as_slice(), l.auth_response.as_slice()),
            (&b"bob"[..], &b"xy"[..])
        );
        assert!(parse_client_hello(b"GE").is_err());
        let mut no_nul = login41(b"root", b"", None, "p");
        no_nul.truncate(36);
        assert_eq!(
            parse_client_hello(&no_nul),
            Err(Malformed("unterminated user name"))
        );
    }

    #[test]
    fn framing() {
        let f = frame(3, b"abc");
        assert_eq!(f, [3, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(
            next_packet(&f, 10),
            Frame::Packet {
                seq: 3,
                payload: b"abc",
                used: 7
            }
        );
        assert_eq!(next_packet(&f[..6], 10), Frame::Incomplete);
        assert_eq!(
            next_packet(b"GET / HTTP/1.0\r\n", 65_536),
            Frame::TooLarge(0x54_4547)
        );
        let e = err_packet(2, 1045, "28000", "Access denied");
        assert_eq!(&e[4..], b"\xff\x15\x04#28000Access denied");
    }

    #[test]
    fn greeting_layout() {
        let salt = *b"abcdefghijklmnopqrst";
        let g = Greeting {
            version: "8.0.36",
            connection_id: 0x0001_0203,
            salt: &salt,
            capabilities: 0xdfff_f7ff,
            charset: 255,
            status: STATUS_AUTOCOMMIT,
            auth_plugin: "caching_sha2_password",
            mariadb_caps: 0,
        }
        .encode();
        let payload = &g[4..];
        assert_eq!(payload[0], 10);
        assert!(
            payload[1..]
                .starts_with(b"8.0.36\0\x03\x02\x01\0abcdefgh\0\xff\xf7\xff\x02\0\xff\xdf\x15")
        );
        assert!(payload.ends_with(b"ijklmnopqrst\0caching_sha2_password\0"));
        assert_eq!(g[..3], (payload.len() as u32).to_le_bytes()[..3]);
    }
}
