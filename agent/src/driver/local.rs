//! The `local` driver: every decky runs inside this process, its services
//! bound to the decky's own loopback address (127.77.0.0/16 by default; all
//! of 127.0.0.0/8 reaches `lo` on Linux, so no interface is configured).
//!
//! No privilege is needed except for ports below 1024: binding them needs
//! root or `CAP_NET_BIND_SERVICE` (`setcap cap_net_bind_service=+ep
//! decnet-agent`); without it the deploy fails with
//! [`LocalError::PrivilegedPort`] and nothing is left running. Give the
//! services high ports (`port =` in `[decky.svc]`) to run unprivileged.
//!
//! Start is all or nothing: when one decky cannot start, the ones already
//! started are stopped before the error is returned.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use decnet_templates::decky::{self, RunningDecky, StartError};
use decnet_templates::emit::EventSink;
use decnet_templates::spec::DeckySpec;
use tokio::task::JoinSet;

/// Why a local fleet cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A decky address is not a loopback address.
    #[error(
        "decky {decky}: {ip} is not a loopback address; the local driver binds deckies to 127.0.0.0/8 (default subnet 127.77.0.0/16)"
    )]
    NotLoopback {
        /// Decky name.
        decky: String,
        /// The address.
        ip: IpAddr,
    },
    /// A port below 1024 without the privilege to bind it.
    #[error(
        "decky {decky}: services.{service}: cannot listen on {addr}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on decnet-agent), or set a port above 1023 in [{decky}.{service}]"
    )]
    PrivilegedPort {
        /// Decky name.
        decky: String,
        /// Service name.
        service: String,
        /// Address and port.
        addr: SocketAddr,
    },
    /// The decky's data directory cannot be created.
    #[error("decky {decky}: cannot create {path}: {source}")]
    DataDir {
        /// Decky name.
        decky: String,
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The decky failed to start for another reason.
    #[error("decky {decky}: {source}")]
    Start {
        /// Decky name.
        decky: String,
        /// What went wrong.
        source: StartError,
    },
    /// Two deckies have the same name.
    #[error("decky {0} is defined twice")]
    Duplicate(String),
}

impl LocalError {
    fn from_start(decky: &str, e: StartError) -> Self {
        match e {
            StartError::Bind {
                service,
                addr,
                source,
            } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                LocalError::PrivilegedPort {
                    decky: decky.to_owned(),
                    service,
                    addr,
                }
            }
            source => LocalError::Start {
                decky: decky.to_owned(),
                source,
            },
        }
    }
}

/// One running local decky.
#[derive(Debug)]
pub struct LocalDecky {
    /// Decky name.
    pub name: String,
    /// Its (first) address.
    pub ip: IpAddr,
    /// Its services, in spec (name) order.
    pub services: Vec<String>,
    running: RunningDecky,
}

impl LocalDecky {
    /// `(service, address)` of every listening socket.
    pub fn listening(&self) -> &[(&'static str, SocketAddr)] {
        self.running.listening()
    }

    /// The `NAME IP service,service,…` line `deploy --foreground` prints.
    pub fn summary_line(&self) -> String {
        summary_line(&self.name, self.ip, &self.services)
    }
}

/// `NAME IP service,service,…`: how a running decky is announced on stdout.
pub fn summary_line(name: &str, ip: IpAddr, services: &[String]) -> String {
    format!("{name} {ip} {}", services.join(","))
}

/// A fleet of in-process deckies; [`LocalFleet::stop`] ends them all.
#[derive(Debug)]
pub struct LocalFleet {
    deckies: Vec<LocalDecky>,
}

/// The local driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalDriver;

/// Starts one decky in this process (its data directory created first), with errors that
/// name the fix (privileged ports, data directory). Used for fleets and by `run`'s worker,
/// which binds whatever addresses the sensor's fleet names.
pub async fn start_one(
    spec: &DeckySpec,
    sink: Arc<dyn EventSink>,
) -> Result<RunningDecky, LocalError> {
    std::fs::create_dir_all(&spec.data_dir).map_err(|source| LocalError::DataDir {
        decky: spec.name.clone(),
        path: spec.data_dir.clone(),
        source,
    })?;
    decky::start(spec, sink)
        .await
        .map_err(|e| LocalError::from_start(&spec.name, e))
}

impl LocalDriver {
    /// Starts every decky of `specs` (concurrently), all or nothing, events to `sink`.
    pub async fn deploy(
        specs: Vec<DeckySpec>,
        sink: Arc<dyn EventSink>,
    ) -> Result<LocalFleet, LocalError> {
        let mut names = std::collections::BTreeSet::new();
        for spec in &specs {
            if !names.insert(spec.name.clone()) {
                return Err(LocalError::Duplicate(spec.name.clone()));
            }
            if let Some(ip) = spec.bind.iter().find(|ip| !ip.is_loopback()) {
                return Err(LocalError::NotLoopback {
                    decky: spec.name.clone(),
                    ip: *ip,
                });
            }
        }
        let mut tasks = JoinSet::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let sink = Arc::clone(&sink);
            tasks.spawn(async move {
                let result = start_one(&spec, sink).await;
                (index, spec, result)
            });
        }
        let mut started: Vec<(usize, LocalDecky)> = Vec::new();
        let mut first_error: Option<(usize, LocalError)> = None;
        while let Some(joined) = tasks.join_next().await {
            let (index, spec, result) = match joined {
                Ok(v) => v,
                Err(e) => {
                    let err = LocalError::Start {
                        decky: "?".to_owned(),
                        source: StartError::Spec(decnet_templates::spec::SpecError::invalid(
                            "start",
                            format!("start task failed: {e}"),
                        )),
                    };
                    first_error.get_or_insert((usize::MAX, err));
                    continue;
                }
            };
            match result {
                Ok(running) => started.push((
                    index,
                    LocalDecky {
                        ip: spec
                            .bind
                            .first()
                            .copied()
                            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
                        services: spec.services.keys().cloned().collect(),
                        name: spec.name,
                        running,
                    },
                )),
                Err(err) => {
                    // Report the failure of the earliest decky in plan order.
                    if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                        first_error = Some((index, err));
                    }
                }
            }
        }
        started.sort_by_key(|(i, _)| *i);
        let fleet = LocalFleet {
            deckies: started.into_iter().map(|(_, d)| d).collect(),
        };
        if let Some((_, err)) = first_error {
            fleet.stop(Duration::from_secs(1)).await;
            return Err(err);
        }
        Ok(fleet)
    }
}

impl LocalFleet {
    /// The running deckies, in plan order.
    pub fn deckies(&self) -> &[LocalDecky] {
        &self.deckies
    }

    /// Stops every decky concurrently, each waiting up to `grace` for its connections.
    pub async fn stop(self, grace: Duration) {
        let mut tasks = JoinSet::new();
        for d in self.deckies {
            tasks.spawn(d.running.stop(grace));
        }
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decnet_templates::emit::memory::MemorySink;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn spec(name: &str, ip: &str, extra: &str) -> DeckySpec {
        let dir = std::env::temp_dir()
            .join("decnet-local-driver-tests")
            .join(name);
        DeckySpec::parse(&format!(
            "name = \"{name}\"\nhostname = \"h-{name}\"\nbind = [\"{ip}\"]\ndata_dir = \"{}\"\n{extra}",
            dir.display()
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn deckies_answer_on_their_own_address_and_stop() {
        let sink = Arc::new(MemorySink::new());
        let fleet = LocalDriver::deploy(
            vec![
                spec("ld-a", "127.77.250.1", "[services.redis]\nport = 26379"),
                spec("ld-b", "127.77.250.2", "[services.redis]\nport = 26379"),
            ],
            sink.clone(),
        )
        .await
        .unwrap();
        let lines: Vec<String> = fleet
            .deckies()
            .iter()
            .map(LocalDecky::summary_line)
            .collect();
        assert_eq!(
            lines,
            ["ld-a 127.77.250.1 redis", "ld-b 127.77.250.2 redis"]
        );
        let mut conn = tokio::net::TcpStream::connect("127.77.250.2:26379")
            .await
            .unwrap();
        conn.write_all(b"PING\r\n").await.unwrap();
        let mut buf = [0u8; 7];
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"+PONG\r\n");
        drop(conn);
        fleet.stop(Duration::from_secs(2)).await;
        assert!(
            sink.events()
                .iter()
                .any(|e| e.decky == "ld-b" && e.service == "redis")
        );
        assert!(
            tokio::net::TcpStream::connect("127.77.250.2:26379")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn one_failure_stops_everything() {
        let sink: Arc<dyn EventSink> = Arc::new(MemorySink::new());
        let err = LocalDriver::deploy(
            vec![
                spec("lf-a", "127.77.251.1", "[services.redis]\nport = 26380"),
                spec("lf-b", "127.77.251.2", "[services.redis]\ncolour = 1"),
            ],
            sink,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "decky lf-b: services.redis.colour: unknown key"
        );
        // lf-a was started then stopped: its port is free again.
        let again = std::net::TcpListener::bind("127.77.251.1:26380");
        assert!(again.is_ok());
    }

    #[tokio::test]
    async fn refuses_non_loopback_addresses() {
        let sink: Arc<dyn EventSink> = Arc::new(MemorySink::new());
        let err = LocalDriver::deploy(vec![spec("lnl", "10.9.9.9", "[services.redis]")], sink)
            .await
            .unwrap_err();
        assert!(matches!(err, LocalError::NotLoopback { .. }), "{err}");
    }

    #[test]
    fn permission_denied_names_the_fix() {
        let err = LocalError::from_start(
            "web-01",
            StartError::Bind {
                service: "ssh".into(),
                addr: "127.77.0.10:22".parse().unwrap(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
        );
        assert_eq!(
            err.to_string(),
            "decky web-01: services.ssh: cannot listen on 127.77.0.10:22: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on decnet-agent), or set a port above 1023 in [web-01.ssh]"
        );
    }
}
