//! The service registry: which `[services.NAME]` tables this build can run.
//!
//! Adding a service: write `services/NAME/` with a [`Service`] whose
//! constructor reads its keys from the [`ServiceConfig`] (which rejects
//! unknown keys when finished), add it to [`IMPLEMENTED`] and to the match in
//! [`build`], and remove it from [`PLANNED`].

pub mod ftp;
pub mod http;
pub mod mysql;
pub mod redis;
pub mod smtp;
pub mod ssh;
pub mod telnet;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::persona::Persona;
use crate::session::Service;
use crate::spec::{Limits, ServiceConfig, SpecError};

/// Services this build emulates.
pub const IMPLEMENTED: &[&str] = &[
    "ftp", "http", "https", "mysql", "redis", "smtp", "ssh", "telnet",
];

/// Services of the predecessor that are not emulated yet: refused at start
/// with a message saying so, rather than as unknown names.
pub const PLANNED: &[&str] = &[
    "conpot",
    "dns",
    "docker_api",
    "elasticsearch",
    "imap",
    "k8s",
    "ldap",
    "llmnr",
    "mongodb",
    "mqtt",
    "mssql",
    "pop3",
    "postgres",
    "rdp",
    "sip",
    "smb",
    "smtp_relay",
    "snmp",
    "tftp",
    "vnc",
];

/// What a service constructor gets besides its own table.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The decky's persona (seeded values, uptime, kernel, hostname).
    pub persona: Arc<Persona>,
    /// The decky's limits (e.g. `max_frame_bytes` for parsers).
    pub limits: Limits,
}

/// Builds one configured service, or explains why it cannot run.
pub fn build(mut cfg: ServiceConfig, ctx: &ServiceContext) -> Result<Arc<dyn Service>, SpecError> {
    let key = format!("services.{}", cfg.name);
    let service: Arc<dyn Service> = match cfg.name.as_str() {
        "redis" => Arc::new(redis::RedisService::from_config(&mut cfg, ctx)?),
        "mysql" => Arc::new(mysql::MysqlService::from_config(&mut cfg, ctx)?),
        "ftp" => Arc::new(ftp::FtpService::from_config(&mut cfg, ctx)?),
        "http" => Arc::new(http::HttpService::from_config(&mut cfg, ctx, false)?),
        "smtp" => Arc::new(smtp::SmtpService::from_config(&mut cfg, ctx)?),
        "ssh" => Arc::new(ssh::SshService::from_config(&mut cfg, ctx)?),
        "telnet" => Arc::new(telnet::TelnetService::from_config(&mut cfg, ctx)?),
        "https" => Arc::new(http::HttpService::from_config(&mut cfg, ctx, true)?),
        name if PLANNED.contains(&name) => {
            return Err(SpecError::invalid(
                key,
                format!(
                    "service {name:?} is not implemented by this decnet-decky yet (implemented: {})",
                    IMPLEMENTED.join(", ")
                ),
            ));
        }
        name => {
            return Err(SpecError::invalid(
                key,
                format!(
                    "unknown service {name:?} (implemented: {})",
                    IMPLEMENTED.join(", ")
                ),
            ));
        }
    };
    cfg.table.finish()?;
    Ok(service)
}

/// Builds every service of a spec, refusing two services on one port.
pub fn build_all(
    services: &BTreeMap<String, ServiceConfig>,
    ctx: &ServiceContext,
) -> Result<Vec<Arc<dyn Service>>, SpecError> {
    let mut built: Vec<Arc<dyn Service>> = Vec::with_capacity(services.len());
    for (name, cfg) in services {
        let svc = build(cfg.clone(), ctx)?;
        if let Some(other) = built.iter().find(|s| s.port() == svc.port()) {
            return Err(SpecError::invalid(
                format!("services.{name}.port"),
                format!(
                    "port {} is already used by services.{}",
                    svc.port(),
                    other.name()
                ),
            ));
        }
        built.push(svc);
    }
    Ok(built)
}
