#!/usr/bin/env bash
# Installs what is missing and runs every check and test of DECNET:
# formatting, clippy, all Rust tests (unit and integration), and the web
# tests once web/ has them. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/prereqs.sh

# Real clients and peers used by the tests and benchmarks.
decnet_apt_install "${DECNET_BUILD_PACKAGES[@]}" nats-server redis-tools default-mysql-client nmap
decnet_rust
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "==> installing cargo-nextest"
    cargo install --locked cargo-nextest
fi

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo nextest (all Rust tests)"
cargo nextest run --workspace --locked --no-fail-fast
# nextest does not run doctests.
cargo test --workspace --locked --doc

if [ -f web/package.json ]; then
    echo "==> web tests"
    decnet_apt_install nodejs npm
    (cd web && npm ci && npm test)
fi

echo "==> all checks passed"
