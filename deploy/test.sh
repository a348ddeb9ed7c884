#!/usr/bin/env bash
# Installs what is missing and runs every check and test of DECNET:
# formatting, clippy, all Rust tests (unit and integration), and the web
# tests once web/ has them. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/prereqs.sh

# Real clients and peers used by the tests and benchmarks.
decnet_apt_install "${DECNET_BUILD_PACKAGES[@]}" nats-server redis-tools default-mysql-client nmap curl lftp swaks openssh-client sshpass telnet openssl hydra iproute2 postgresql-client
decnet_rust
# The docker driver's tests and benchmarks run against Podman's Docker API, and must.
decnet_podman_api
decnet_test_base_rootfs
export DECNET_REQUIRE_ENGINE=1
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

echo "==> web unit tests (type checks, eslint, vitest)"
decnet_node
(cd web && decnet_npm_install && npm test && npm run build)

echo "==> dashboard end-to-end tests (Debian Chromium, real decnet-master up)"
decnet_apt_install chromium
# Debug builds of decnet-master read web/dist at run time, so the binary the
# Rust tests just built serves the dashboard that was built above. `up` runs
# the demo fleet on the decnet-agent binary next to it, so build both.
cargo build --locked --bin decnet-master --bin decnet-agent
(cd web && DECNET_MASTER_BIN="${CARGO_TARGET_DIR:-$PWD/../target}/debug/decnet-master" npm run e2e)

echo "==> all checks passed"
