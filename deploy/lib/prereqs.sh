# Shared by quickstart.sh and test.sh: install what is missing, skip what is present.
# Sourced, not executed.

decnet_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "error: need root (or sudo) to run: $*" >&2; return 1
    fi
}

# decnet_apt_install PKG... — installs only the Debian packages that are not installed yet.
decnet_apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then return 0; fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing packages ${missing[*]} and no apt-get; install them by hand" >&2
        return 1
    fi
    echo "==> installing ${missing[*]}"
    decnet_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        || { decnet_sudo apt-get update && decnet_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
}

# decnet_rust — makes sure cargo (with rustfmt and clippy) is on PATH.
decnet_rust() {
    [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v cargo >/dev/null 2>&1; then
        echo "==> installing the Rust toolchain with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
            --component rustfmt,clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if command -v rustup >/dev/null 2>&1; then
        rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
        rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
    fi
}

# Packages the product needs at build and run time.
DECNET_BUILD_PACKAGES=(build-essential pkg-config ca-certificates curl libpcap-dev postgresql)

# decnet_node — Node.js >= 20.19 with npm, needed to build and test web/.
# Debian's own `npm` package conflicts with NodeSource's nodejs, so npm is only
# installed from Debian when it is missing altogether.
decnet_node() {
    command -v npm >/dev/null 2>&1 || decnet_apt_install nodejs npm
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' || {
        echo "error: Node.js >= 20.19 is needed to build web/ (found $(node --version)); install it from NodeSource" >&2
        return 1
    }
}

# decnet_npm_install — installs web/ dependencies from package-lock.json.
# `npm ci` refuses the lock when an optional, platform-only dependency of Vite
# (napi-windows-process-start-time) is missing from the registry in use; plain
# `npm install` then installs the same locked versions and skips it.
decnet_npm_install() {
    npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save
}

# decnet_podman_api — a container engine serving the Docker Engine API for the docker
# driver: Podman from Debian with runc and cgroupfs (crun fails on setrlimit and on hybrid
# cgroups here), its API service on /run/podman/podman.sock. Exports DOCKER_HOST.
decnet_podman_api() {
    decnet_apt_install podman runc iputils-ping
    if [ ! -f /etc/containers/containers.conf ] || ! grep -q 'runtime = "runc"' /etc/containers/containers.conf; then
        echo "==> configuring Podman (runc, cgroupfs, no default ulimits)"
        decnet_sudo mkdir -p /etc/containers
        printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
            | decnet_sudo tee /etc/containers/containers.conf >/dev/null
    fi
    # The image-build test runs a registry on 127.0.0.1:45000 without TLS.
    if [ ! -f /etc/containers/registries.conf.d/50-decnet-tests.conf ]; then
        decnet_sudo mkdir -p /etc/containers/registries.conf.d
        printf '[[registry]]\nlocation = "127.0.0.1:45000"\ninsecure = true\n' \
            | decnet_sudo tee /etc/containers/registries.conf.d/50-decnet-tests.conf >/dev/null
    fi
    export DOCKER_HOST=unix:///run/podman/podman.sock
    if ! curl -fsS --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null 2>&1; then
        echo "==> starting Podman's Docker API on /run/podman/podman.sock"
        decnet_sudo mkdir -p /run/podman
        (decnet_sudo nohup podman system service --time=0 unix:///run/podman/podman.sock >/tmp/podman-api.log 2>&1 &)
        for _ in $(seq 1 50); do
            curl -fsS --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null 2>&1 && return 0
            sleep 0.2
        done
        echo "error: Podman's API did not come up; see /tmp/podman-api.log" >&2
        return 1
    fi
}

# decnet_test_base_rootfs — a Debian bookworm minbase root filesystem tarball for the image
# build test's registry (debootstrap; cached under /var/cache/decnet-tests).
decnet_test_base_rootfs() {
    decnet_apt_install debootstrap docker-registry
    local tarball=/var/cache/decnet-tests/bookworm-minbase.tar
    if [ ! -f "$tarball" ]; then
        echo "==> debootstrap bookworm (minbase) for the image build test"
        local root
        root=$(mktemp -d)
        decnet_sudo debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/tmp/debootstrap.log 2>&1 \
            || { echo "error: debootstrap failed; see /tmp/debootstrap.log" >&2; return 1; }
        decnet_sudo mkdir -p /var/cache/decnet-tests
        decnet_sudo tar -C "$root" -cf "$tarball" .
        decnet_sudo rm -rf "$root"
    fi
}
