#!/usr/bin/env bash
# Swarm end to end on one machine (run as root): a master, two enrolled agents with three
# deckies each and an attacker, each in its own network namespace. The attacker runs nmap,
# hydra, an ssh session, curl and redis-cli; sensor-01's mesh link is cut for 30 s,
# sensor-02's agent is SIGKILLed and restarted, PostgreSQL is restarted. The last line is
# JSON: {"hosts": 2, "deckies": 6, "events_expected": N, "events_stored": N, ...}.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/prereqs.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "swarm-demo.sh creates network namespaces: run it as root" >&2
    exit 1
fi
decnet_apt_install "${DECNET_BUILD_PACKAGES[@]}" iproute2 nmap hydra sshpass openssh-client curl redis-tools postgresql-client
decnet_rust

echo "==> building decnet-master, decnet-agent and decnet-swarm-demo"
cargo build --release --locked --bin decnet-master --bin decnet-agent --bin decnet-swarm-demo
target="${CARGO_TARGET_DIR:-target}/release"
exec "$target/decnet-swarm-demo" --bin-dir "$target" "$@"
