#!/usr/bin/env bash
# Sets up and runs DECNET on a fresh Debian/Ubuntu machine: installs what is
# missing, builds release binaries and starts the embedded all-in-one master
# (private PostgreSQL under ./var/decnet, API and dashboard on 127.0.0.1:8080).
# Extra arguments go to `decnet-master up`, e.g. --listen 127.0.0.1:9090.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/prereqs.sh

decnet_apt_install "${DECNET_BUILD_PACKAGES[@]}"
decnet_rust

echo "==> building the web dashboard"
decnet_node
(cd web && decnet_npm_install && npm run build)

echo "==> building release binaries"
cargo build --release --locked --bin decnet-master --bin decnet-agent --bin decnet-decky

echo "==> starting decnet-master up (Ctrl-C stops everything)"
exec "${CARGO_TARGET_DIR:-target}/release/decnet-master" up "$@"
