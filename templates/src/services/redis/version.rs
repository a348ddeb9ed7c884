//! The claimed Redis version and the wording and limits that differ between versions.
//!
//! Error strings are fingerprints (Redis reworded "unknown command" three
//! times), so every reply whose text changed between releases is chosen here.

/// Versions of real distribution packages, used when the spec gives none:
/// Debian 12 and Ubuntu 24.04 (7.0.15), Ubuntu 22.04 (6.0.16), Ubuntu 20.04
/// (5.0.7), Debian 11 (6.0.16), upstream 7.2 and 6.2 builds.
pub const COMMON_VERSIONS: &[&str] = &["7.0.15", "7.0.15", "6.0.16", "7.2.4", "6.2.14", "5.0.7"];

/// A parsed `major.minor.patch` Redis version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RedisVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
}

impl std::fmt::Display for RedisVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl RedisVersion {
    /// Parses `7.0.15`; only versions from 3.0 on are accepted.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let mut next = || parts.next()?.parse::<u16>().ok();
        let v = RedisVersion {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        (parts.next().is_none() && (3..=8).contains(&v.major)).then_some(v)
    }

    fn at_least(self, major: u16, minor: u16, patch: u16) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// ACL users, `AUTH user pass`, `HELLO` and RESP3 exist from 6.0.
    pub fn has_acl(self) -> bool {
        self.at_least(6, 0, 0)
    }

    /// Container commands reject subcommands with 7.0's wording and `cmd|sub` arity errors.
    pub fn modern_subcommands(self) -> bool {
        self.at_least(7, 0, 0)
    }

    /// The CVE-2021-32675 fix (7.0, 6.2.6, 6.0.16, 5.0.14): before
    /// authentication a multibulk may have at most 10 elements and a bulk at
    /// most 16384 bytes.
    pub fn limits_unauthenticated(self) -> bool {
        match (self.major, self.minor) {
            (m, _) if m >= 7 => true,
            (6, 2) => self.patch >= 6,
            (6, 0) => self.patch >= 16,
            (5, 0) => self.patch >= 14,
            (6, n) => n > 2,
            _ => false,
        }
    }

    /// MODULE and DEBUG are refused unless enabled in the config file (7.0+).
    pub fn protects_module_command(self) -> bool {
        self.at_least(7, 0, 0)
    }

    /// The reply to an unknown command (without the leading `-`).
    pub fn unknown_command(self, name: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
        // Mirrors the C: `%s` stops at NUL, `%.Ns` truncates bytes, and args are
        // added while the args part is under 128 bytes.
        let cstr = |b: &[u8]| -> Vec<u8> { b.split(|&c| c == 0).next().unwrap_or(&[]).to_vec() };
        let mut out = b"ERR unknown command ".to_vec();
        if !self.at_least(4, 0, 11) {
            out.extend_from_slice(b"'");
            out.extend(cstr(name));
            out.extend_from_slice(b"'");
            return out;
        }
        let (quote, sep): (&[u8], &[u8]) = if self.at_least(7, 0, 0) {
            (b"'", b" ")
        } else {
            (b"`", b", ")
        };
        let mut name = cstr(name);
        if self.at_least(7, 0, 0) {
            name.truncate(128);
        }
        out.extend_from_slice(quote);
        out.extend(name);
        out.extend_from_slice(quote);
        out.extend_from_slice(b", with args beginning with: ");
        let mut part: Vec<u8> = Vec::new();
        for arg in args {
            if part.len() >= 128 {
                break;
            }
            let mut a = cstr(arg);
            a.truncate(128 - part.len());
            part.extend_from_slice(quote);
            part.extend(a);
            part.extend_from_slice(quote);
            part.extend_from_slice(sep);
        }
        out.extend(part);
        out
    }

    /// An unknown subcommand of container command `cmd` (upper case).
    pub fn unknown_subcommand(self, sub: &[u8], cmd: &str) -> Vec<u8> {
        let mut out = if self.modern_subcommands() {
            b"ERR unknown subcommand '".to_vec()
        } else {
            b"ERR Unknown subcommand or wrong number of arguments for '".to_vec()
        };
        let mut sub = sub.split(|&c| c == 0).next().unwrap_or(&[]).to_vec();
        sub.truncate(128);
        out.extend(sub);
        out.extend_from_slice(format!("'. Try {cmd} HELP.").as_bytes());
        out
    }

    /// Wrong argument count for `cmd` (lower case) or, 7.0+, `cmd|sub`.
    pub fn wrong_arity(self, cmd: &str, sub: Option<&str>, typed_sub: &[u8]) -> Vec<u8> {
        match sub {
            Some(s) if self.modern_subcommands() => {
                format!("ERR wrong number of arguments for '{cmd}|{s}' command").into_bytes()
            }
            Some(_) => self.unknown_subcommand(typed_sub, &cmd.to_ascii_uppercase()),
            None => format!("ERR wrong number of arguments for '{cmd}' command").into_bytes(),
        }
    }

    /// `AUTH` with a wrong password.
    pub fn wrong_password(self) -> &'static str {
        if self.at_least(6, 2, 0) {
            "WRONGPASS invalid username-password pair or user is disabled."
        } else if self.has_acl() {
            "WRONGPASS invalid username-password pair"
        } else {
            "ERR invalid password"
        }
    }

    /// `AUTH password` when no password is configured.
    pub fn auth_without_password(self) -> &'static str {
        if self.has_acl() {
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        } else {
            "ERR Client sent AUTH, but no password is set"
        }
    }

    /// `HELLO` before authentication, without the AUTH option.
    pub fn hello_noauth(self) -> &'static str {
        if self.at_least(7, 0, 0) {
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
        } else {
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
        }
    }

    /// `CONFIG SET` of a parameter that does not exist.
    pub fn config_set_unknown(self, name: &[u8]) -> Vec<u8> {
        let name = String::from_utf8_lossy(name);
        if self.modern_subcommands() {
            format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
                .into_bytes()
        } else {
            format!("ERR Unsupported CONFIG parameter: {name}").into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RedisVersion {
        RedisVersion::parse(s).unwrap()
    }

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn unknown_command_wording_per_version() {
        assert_eq!(
            v("7.0.15").unknown_command(b"FOO", &args(&["bar", "baz"])),
            b"ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "
        );
        assert_eq!(
            v("7.0.15").unknown_command(b"foo", &[]),
            b"ERR unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            v("6.0.16").unknown_command(b"FOO", &args(&["bar", "baz"])),
            b"ERR unknown command `FOO`, with args beginning with: `bar`, `baz`, "
        );
        assert_eq!(
            v("4.0.9").unknown_command(b"FOO", &args(&["x"])),
            b"ERR unknown command 'FOO'"
        );
        // The args part stops growing at 128 bytes and the last arg is cut.
        let long =
            v("7.2.4").unknown_command(b"X", &args(&[&"a".repeat(100), &"b".repeat(100), "c"]));
        let text = String::from_utf8(long).unwrap();
        let part = text.split_once("with: ").unwrap().1;
        // `'a…a' ` is 103 bytes, then the second arg gets the remaining 25.
        assert_eq!(part.len(), 103 + 1 + 25 + 2);
        assert!(!part.contains('c'));
    }

    #[test]
    fn version_gates() {
        assert!(v("6.2.6").limits_unauthenticated());
        assert!(!v("6.2.5").limits_unauthenticated());
        assert!(v("6.0.16").limits_unauthenticated());
        assert!(!v("5.0.7").limits_unauthenticated());
        assert_eq!(
            v("6.0.16").wrong_password(),
            "WRONGPASS invalid username-password pair"
        );
        assert_eq!(v("5.0.7").wrong_password(), "ERR invalid password");
        assert_eq!(
            v("7.0.15").wrong_arity("config", Some("get"), b"GET"),
            b"ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(
            v("6.2.14").wrong_arity("config", Some("get"), b"get"),
            b"ERR Unknown subcommand or wrong number of arguments for 'get'. Try CONFIG HELP."
        );
        assert!(RedisVersion::parse("7.0").is_none());
        assert!(RedisVersion::parse("2.8.4").is_none());
        assert!(RedisVersion::parse("7.0.15.1").is_none());
    }
}
