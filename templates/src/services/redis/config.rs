//! CONFIG GET/SET parameters, with the defaults of a Debian-packaged server.

use super::store::glob_match;
use super::version::RedisVersion;

/// How a parameter reacts to CONFIG SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Settable.
    Mutable,
    /// Only in the config file (`can't set immutable config`).
    Immutable,
    /// Needs `enable-protected-configs` (7.0+: `dir`, `dbfilename`).
    Protected,
}

/// Why CONFIG SET failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// No such parameter.
    Unknown(Vec<u8>),
    /// The parameter cannot be changed at run time.
    Refused {
        /// Parameter name.
        name: String,
        /// Redis's reason text.
        why: &'static str,
    },
}

/// The parameter table.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    params: Vec<(&'static str, String, Kind)>,
}

impl RedisConfig {
    /// Defaults for `version` listening on `port` with `requirepass`.
    pub fn new(version: RedisVersion, port: u16, requirepass: String) -> Self {
        use Kind::*;
        let modern = version.modern_subcommands();
        let protected = if modern { Protected } else { Mutable };
        let save = if modern {
            "3600 1 300 100 60 10000"
        } else {
            "900 1 300 10 60 10000"
        };
        let mut params = vec![
            ("dbfilename", "dump.rdb".to_owned(), protected),
            ("requirepass", requirepass, Mutable),
            ("masterauth", String::new(), Mutable),
            ("unixsocket", String::new(), Immutable),
            (
                "logfile",
                "/var/log/redis/redis-server.log".to_owned(),
                Immutable,
            ),
            (
                "pidfile",
                "/run/redis/redis-server.pid".to_owned(),
                Immutable,
            ),
            ("maxmemory", "0".to_owned(), Mutable),
            ("maxmemory-policy", "noeviction".to_owned(), Mutable),
            ("maxclients", "10000".to_owned(), Mutable),
            ("timeout", "0".to_owned(), Mutable),
            ("tcp-keepalive", "300".to_owned(), Mutable),
            ("tcp-backlog", "511".to_owned(), Immutable),
            ("databases", "16".to_owned(), Immutable),
            ("daemonize", "yes".to_owned(), Immutable),
            ("supervised", "systemd".to_owned(), Immutable),
            ("port", port.to_string(), Mutable),
            ("bind", "* -::*".to_owned(), Mutable),
            ("protected-mode", "no".to_owned(), Mutable),
            ("dir", "/var/lib/redis".to_owned(), protected),
            ("save", save.to_owned(), Mutable),
            ("appendonly", "no".to_owned(), Mutable),
            ("appendfilename", "appendonly.aof".to_owned(), Immutable),
            ("appendfsync", "everysec".to_owned(), Mutable),
            ("loglevel", "notice".to_owned(), Mutable),
            ("hz", "10".to_owned(), Mutable),
            ("lua-time-limit", "5000".to_owned(), Mutable),
            ("slowlog-log-slower-than", "10000".to_owned(), Mutable),
            ("slowlog-max-len", "128".to_owned(), Mutable),
            ("notify-keyspace-events", String::new(), Mutable),
            ("replica-read-only", "yes".to_owned(), Mutable),
            ("slave-read-only", "yes".to_owned(), Mutable),
            ("stop-writes-on-bgsave-error", "yes".to_owned(), Mutable),
            ("rdbcompression", "yes".to_owned(), Mutable),
            ("io-threads", "1".to_owned(), Immutable),
        ];
        if modern {
            params.extend([
                ("enable-protected-configs", "no".to_owned(), Immutable),
                ("enable-debug-command", "no".to_owned(), Immutable),
                ("enable-module-command", "no".to_owned(), Immutable),
            ]);
        }
        RedisConfig { params }
    }

    /// `(name, value)` of every parameter matching any of `patterns`, in table order.
    pub fn get(&self, patterns: &[Vec<u8>]) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter(|(name, _, _)| {
                patterns.iter().any(|p| {
                    let lower = p.to_ascii_lowercase();
                    glob_match(&lower, name.as_bytes())
                })
            })
            .map(|(n, v, _)| ((*n).to_owned(), v.clone()))
            .collect()
    }

    /// The value of one parameter.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v.as_str())
    }

    /// Sets one parameter, as CONFIG SET would.
    pub fn set(&mut self, name: &[u8], value: &[u8]) -> Result<(), SetError> {
        let lower = name.to_ascii_lowercase();
        let Some(param) = self
            .params
            .iter_mut()
            .find(|(n, _, _)| n.as_bytes() == lower)
        else {
            return Err(SetError::Unknown(name.to_vec()));
        };
        match param.2 {
            Kind::Immutable => Err(SetError::Refused {
                name: param.0.to_owned(),
                why: "can't set immutable config",
            }),
            Kind::Protected => Err(SetError::Refused {
                name: param.0.to_owned(),
                why: "can't set protected config",
            }),
            Kind::Mutable => {
                param.1 = String::from_utf8_lossy(value).into_owned();
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_and_refusals() {
        let v7 = RedisVersion::parse("7.0.15").unwrap();
        let mut c = RedisConfig::new(v7, 6379, String::new());
        assert_eq!(
            c.get(&[b"DIR".to_vec(), b"dbfile*".to_vec()]),
            vec![
                ("dbfilename".to_owned(), "dump.rdb".to_owned()),
                ("dir".to_owned(), "/var/lib/redis".to_owned())
            ]
        );
        assert_eq!(
            c.set(b"dir", b"/var/spool/cron"),
            Err(SetError::Refused {
                name: "dir".into(),
                why: "can't set protected config"
            })
        );
        assert_eq!(
            c.set(b"nosuch", b"1"),
            Err(SetError::Unknown(b"nosuch".to_vec()))
        );
        c.set(b"MaxMemory", b"100mb").unwrap();
        assert_eq!(c.value("maxmemory"), Some("100mb"));
        // Before 7.0 `dir` is settable: the classic cron/ssh-key write works.
        let mut c6 = RedisConfig::new(RedisVersion::parse("6.0.16").unwrap(), 6379, String::new());
        c6.set(b"dir", b"/root/.ssh").unwrap();
        assert_eq!(c6.value("dir"), Some("/root/.ssh"));
        assert!(c6.get(&[b"enable-*".to_vec()]).is_empty());
    }
}
