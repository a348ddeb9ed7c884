//! `decnet-agent image build` with a registry: the base image is pulled, pinned by digest,
//! and the Dockerfile of `templates/images/decky` is built on it through the engine's
//! build API. The registry is a real one (Debian's `docker-registry`) on 127.0.0.1:45000,
//! holding a Debian bookworm base made with debootstrap (`deploy/test.sh` prepares the
//! tarball and marks the registry insecure for Podman). The offline path is exercised by
//! every other docker test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Proc, available, base_rootfs, sh};

const REGISTRY: &str = "127.0.0.1:45000";

#[test]
fn image_build_pins_the_pulled_base_by_digest_and_builds_the_dockerfile() {
    if !available() {
        return;
    }
    let Some(rootfs) = base_rootfs() else { return };
    let dir = common::tempdir();
    let config = dir.path().join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {REGISTRY}\n",
            dir.path().join("blobs").display()
        ),
    )
    .unwrap();
    let mut registry_cmd = std::process::Command::new("docker-registry");
    registry_cmd.arg("serve").arg(&config);
    let _registry = Proc::spawn("docker-registry", registry_cmd).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sh("curl", &["-fsS", &format!("http://{REGISTRY}/v2/")]).0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the registry did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("{REGISTRY}/debian:bookworm-slim");
    let (ok, out) = sh("podman", &["import", rootfs.to_str().unwrap(), &base]);
    assert!(ok, "podman import: {out}");
    let (ok, out) = sh("podman", &["push", "--tls-verify=false", &base]);
    assert!(ok, "podman push: {out}");
    // The build must pull it back from the registry, not find it locally.
    assert!(sh("podman", &["rmi", &base]).0);

    let state = dir.path().join("state");
    let mut build = common::command("decnet-agent");
    build
        .args(["image", "build", "--base", &base, "--state-dir"])
        .arg(&state);
    let out = common::run(build);
    assert!(out.ok, "image build failed:\n{}", out.stderr);
    assert!(out.stderr.contains("pulling base image"), "{}", out.stderr);
    assert!(
        out.stderr.contains("STEP"),
        "no Dockerfile build:\n{}",
        out.stderr
    );
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("docker").join("image.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["method"], "dockerfile", "{record}");
    let pinned = record["base"].as_str().unwrap();
    assert!(
        pinned.starts_with(&format!("{REGISTRY}/debian@sha256:")),
        "base not pinned by digest: {pinned}"
    );
    let id = record["id"].as_str().unwrap();
    let (_, inspected) = sh(
        "podman",
        &[
            "inspect",
            "--format",
            "{{.Id}} {{.Config.User}} {{json .Config.Entrypoint}}",
            id,
        ],
    );
    assert!(
        inspected.contains("10001:10001") && inspected.contains("/usr/local/bin/decnet-decky"),
        "{inspected}"
    );
    assert!(
        id.ends_with(inspected.split_whitespace().next().unwrap()),
        "{id} vs {inspected}"
    );
    // Leave no images behind (the built one stays if another test's container uses it).
    let _ = sh("podman", &["rmi", id]);
    let _ = sh("podman", &["rmi", "-f", pinned]);
}
