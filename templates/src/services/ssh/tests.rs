#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::persona::Persona;
use crate::spec::DeckySpec;

fn build(name: &str, table: &str) -> Result<SshService, SpecError> {
    let dir = tempfile::tempdir().unwrap();
    let spec = DeckySpec::parse(&format!(
        "name = \"{name}\"\nhostname = \"h\"\nbind = [\"127.0.0.1\"]\ndata_dir = \"{}\"\n[services.ssh]\n{table}",
        dir.path().display()
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let mut cfg = spec.services["ssh"].clone();
    let svc = SshService::from_config(&mut cfg, &ctx)?;
    cfg.table.finish()?;
    Ok(svc)
}

#[test]
fn version_defaults_to_the_distribution_build_and_refuses_honeypot_banners() {
    let svc = build(
        "d1",
        "ssh_version = \"OpenSSH_9.2p1 Debian-2+deb12u3\"\nusers = \"root:toor\"",
    )
    .unwrap();
    let s = svc.shared();
    assert_eq!(s.version, "OpenSSH_9.2p1 Debian-2+deb12u3");
    assert_eq!(s.max_auth_tries, 6);
    assert_eq!(s.login_grace, Duration::from_secs(120));
    assert!(s.creds.accepts("root", b"toor"));
    assert_eq!(s.host.ssh_version, s.version);
    assert_eq!(
        build("d2", "ssh_version = \"OpenSSH_8.9p1 Ubuntu 2ubuntu0.10\"")
            .unwrap_err()
            .to_string(),
        "services.ssh.ssh_version: \"OpenSSH_8.9p1 Ubuntu 2ubuntu0.10\" is a known honeypot default"
    );
    assert_eq!(
        build("d3", "ssh_version = \"a\\r\\nb\"")
            .unwrap_err()
            .to_string(),
        "services.ssh.ssh_version: \"a\\r\\nb\" is not an SSH software version like OpenSSH_9.2p1 Debian-2+deb12u3"
    );
    assert_eq!(
        build("d4", "users = \"root\"").unwrap_err().to_string(),
        "services.ssh.users: \"root\" is not user:password"
    );
    assert_eq!(
        build("d5", "colour = 1").unwrap_err().to_string(),
        "services.ssh.colour: unknown key"
    );
}
