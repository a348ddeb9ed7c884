//! State on disk: CA directory and agent state directory, modes and reloads.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{DAY, Deployment};
use decnet_pki::{
    AGENT_CERT_FILE, AGENT_KEY_FILE, AgentIdentity, CA_CERT_FILE, CA_KEY_FILE,
    CertificateAuthority, PkiError,
};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn ca_is_created_once_with_private_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state/ca");
    let ca = CertificateAuthority::load_or_create(&dir, "prod").unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);
    let pem = fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap();
    assert_eq!(pem, ca.cert_pem());
    assert!(
        fs::read_to_string(dir.join(CA_KEY_FILE))
            .unwrap()
            .contains("PRIVATE KEY")
    );
    // Only the two files: no temporary or pending leftovers.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec![CA_CERT_FILE, CA_KEY_FILE]);

    let again = CertificateAuthority::load_or_create(&dir, "ignored").unwrap();
    assert_eq!(again.fingerprint(), ca.fingerprint());
    assert_eq!(
        CertificateAuthority::load(&dir).unwrap().fingerprint(),
        ca.fingerprint()
    );
}

#[test]
fn ca_key_readable_by_others_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    CertificateAuthority::load_or_create(&dir, "t").unwrap();
    for loose in [0o640, 0o644, 0o604] {
        chmod(&dir.join(CA_KEY_FILE), loose);
        let err = CertificateAuthority::load_or_create(&dir, "t").unwrap_err();
        match &err {
            PkiError::InsecureKeyFile { path, mode } => {
                assert_eq!(*mode, loose);
                assert!(path.ends_with(CA_KEY_FILE));
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    chmod(&dir.join(CA_KEY_FILE), 0o400);
    CertificateAuthority::load_or_create(&dir, "t").unwrap();
}

#[test]
fn half_a_ca_is_an_error_not_a_new_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    CertificateAuthority::load_or_create(&dir, "t").unwrap();
    fs::remove_file(dir.join(CA_CERT_FILE)).unwrap();
    assert!(matches!(
        CertificateAuthority::load_or_create(&dir, "t"),
        Err(PkiError::IncompleteState {
            missing: "ca.crt",
            ..
        })
    ));
    // The key is still there, untouched.
    assert!(dir.join(CA_KEY_FILE).exists());
}

#[test]
fn mismatched_ca_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    CertificateAuthority::load_or_create(&a, "t").unwrap();
    CertificateAuthority::load_or_create(&b, "t").unwrap();
    fs::copy(b.join(CA_CERT_FILE), a.join(CA_CERT_FILE)).unwrap();
    let err = CertificateAuthority::load(&a).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn agent_identity_store_and_load() {
    let d = Deployment::new("t");
    let id = d.enroll("sensor-01");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("agent");
    id.store(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(AGENT_KEY_FILE)), 0o600);
    assert!(dir.join(AGENT_CERT_FILE).exists());
    assert!(dir.join(CA_CERT_FILE).exists());

    let loaded = AgentIdentity::load(&dir).unwrap();
    assert_eq!(loaded.host(), id.host());
    assert_eq!(loaded.fingerprint(), id.fingerprint());
    assert_eq!(loaded.ca_fingerprint(), d.ca.fingerprint());
    assert_eq!(loaded.key().public_key_der(), id.key().public_key_der());

    chmod(&dir.join(AGENT_KEY_FILE), 0o644);
    assert!(matches!(
        AgentIdentity::load(&dir),
        Err(PkiError::InsecureKeyFile { .. })
    ));
}

#[test]
fn renewed_identity_replaces_the_stored_one() {
    let d = Deployment::new("t");
    let old = d.enroll("sensor-01");
    let tmp = tempfile::tempdir().unwrap();
    old.store(tmp.path()).unwrap();
    let request = old.renewal_request().unwrap();
    let issued = d.ca.renew(&request.csr_pem, old.cert_der(), DAY).unwrap();
    let new = old.renewed(request, &issued.pem).unwrap();
    new.store(tmp.path()).unwrap();
    let loaded = AgentIdentity::load(tmp.path()).unwrap();
    assert_eq!(loaded.fingerprint(), new.fingerprint());
    assert_ne!(loaded.fingerprint(), old.fingerprint());
    assert_eq!(mode(&tmp.path().join(AGENT_KEY_FILE)), 0o600);
}

#[test]
fn mismatched_agent_files_are_refused() {
    let d = Deployment::new("t");
    let a = d.enroll("sensor-01");
    let b = d.enroll("sensor-02");
    let tmp = tempfile::tempdir().unwrap();
    a.store(&tmp.path().join("a")).unwrap();
    b.store(&tmp.path().join("b")).unwrap();
    fs::copy(
        tmp.path().join("b").join(AGENT_CERT_FILE),
        tmp.path().join("a").join(AGENT_CERT_FILE),
    )
    .unwrap();
    let err = AgentIdentity::load(&tmp.path().join("a")).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}
