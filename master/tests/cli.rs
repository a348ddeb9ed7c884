//! Command line and configuration handling of the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{command, empty_config, run, traversable_tempdir};

const GOOD_SECRET: &str = "4f6c1d0e9b2a83f57c6e1d2b9a0f8e7d6c5b4a39281706f5";

fn stderr_has_key_line(stderr: &str, key: &str) -> bool {
    stderr.lines().any(|l| l.starts_with(&format!("{key}: ")))
}

#[test]
fn help_and_version() {
    let out = run(command(&["--help"]));
    assert!(out.status.success());
    for sub in ["up", "serve", "migrate", "config"] {
        assert!(out.stdout.contains(sub), "{sub} in {}", out.stdout);
    }
    let out = run(command(&["up", "--help"]));
    assert!(out.status.success());
    assert!(out.stdout.contains("--data-dir") && out.stdout.contains("--listen"));
    let out = run(command(&["--version"]));
    assert!(out.status.success());
    assert_eq!(
        out.stdout.trim(),
        format!("decnet-master {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_listen_address_is_refused_naming_the_key() {
    let tmp = traversable_tempdir();
    let mut cmd = command(&["up", "--data-dir", tmp.path().join("var").to_str().unwrap()]);
    cmd.args(["--config", empty_config(tmp.path()).to_str().unwrap()]);
    cmd.env("DECNET_API__LISTEN", "notanaddr");
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(
        stderr_has_key_line(&out.stderr, "api.listen"),
        "{}",
        out.stderr
    );
    assert!(
        !tmp.path().join("var").exists(),
        "refused before touching the data dir"
    );
}

#[test]
fn short_or_placeholder_jwt_secret_is_refused() {
    let tmp = traversable_tempdir();
    for bad in ["tooshort", "changeme"] {
        let mut cmd = command(&["serve", "--database-url", "postgres://u@localhost/db"]);
        cmd.args(["--config", empty_config(tmp.path()).to_str().unwrap()]);
        cmd.env("DECNET_JWT_SECRET", bad);
        let out = run(cmd);
        assert!(!out.status.success());
        assert!(
            stderr_has_key_line(&out.stderr, "jwt_secret"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains(bad),
            "the secret is not echoed: {}",
            out.stderr
        );
    }
}

#[test]
fn serve_requires_a_database_and_a_secret() {
    let tmp = traversable_tempdir();
    let mut cmd = command(&["serve"]);
    cmd.args(["--config", empty_config(tmp.path()).to_str().unwrap()]);
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(
        stderr_has_key_line(&out.stderr, "database_url"),
        "{}",
        out.stderr
    );
    assert!(
        stderr_has_key_line(&out.stderr, "jwt_secret"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_values_in_the_file_name_their_key() {
    let tmp = traversable_tempdir();
    let path = tmp.path().join("master.toml");
    std::fs::write(&path, "[database]\npool_size = \"many\"\n").unwrap();
    let out = run(command(&[
        "config",
        "check",
        "--config",
        path.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(
        stderr_has_key_line(&out.stderr, "database.pool_size"),
        "{}",
        out.stderr
    );

    std::fs::write(&path, "[database]\nconnect_backoff = \"soon\"\n").unwrap();
    let out = run(command(&[
        "config",
        "check",
        "--config",
        path.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(
        stderr_has_key_line(&out.stderr, "database.connect_backoff"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_explicit_config_file_is_an_error() {
    let out = run(command(&[
        "config",
        "check",
        "--config",
        "/nonexistent/master.toml",
    ]));
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("/nonexistent/master.toml"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_check_prints_effective_config_with_secrets_redacted() {
    let tmp = traversable_tempdir();
    let path = tmp.path().join("master.toml");
    std::fs::write(
        &path,
        "[api]\nlisten = \"127.0.0.1:9000\"\n[database]\npool_size = 4\n",
    )
    .unwrap();
    let mut cmd = command(&["config", "check", "--config", path.to_str().unwrap()]);
    cmd.env("DECNET_JWT_SECRET", GOOD_SECRET);
    cmd.env(
        "DECNET_DATABASE_URL",
        "postgres://decnet:hunter2hunter2@db.example/decnet",
    );
    cmd.env("DECNET_API__LISTEN", "127.0.0.1:9001");
    let out = run(cmd);
    assert!(out.status.success(), "{}", out.stderr);
    let effective: toml::Value = toml::from_str(&out.stdout).unwrap();
    assert_eq!(effective["jwt_secret"].as_str(), Some("<redacted>"));
    assert_eq!(effective["database_url"].as_str(), Some("<redacted>"));
    assert_eq!(
        effective["api"]["listen"].as_str(),
        Some("127.0.0.1:9001"),
        "env overrides the file"
    );
    assert_eq!(effective["database"]["pool_size"].as_integer(), Some(4));
    for leaked in [GOOD_SECRET, "hunter2"] {
        assert!(!out.stdout.contains(leaked) && !out.stderr.contains(leaked));
    }
}
