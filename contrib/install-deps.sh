#!/usr/bin/env bash
# Installs the Debian packages Hadron needs to build, run and test.
#
# Does nothing (and prints nothing) when every package is already installed;
# otherwise runs apt-get update and installs only the missing ones.  Runs as
# root, or through sudo when started by another user.
#
# Add new dependencies to HADRON_DEPS below, and nowhere else.
set -euo pipefail

HADRON_DEPS=(
    # build
    cmake ninja-build pkg-config gcc clang libclang-rt-14-dev
    # libraries
    libevent-dev libevhtp-dev libyajl-dev libmariadb-dev libsqlite3-dev
    libinih-dev uuid-dev uthash-dev libbsd-dev
    # databases
    mariadb-server mariadb-client sqlite3
    # tests
    libcmocka-dev libcurl4-openssl-dev curl wrk socat
    # dataplane: netns driver (netlink, nftables) and tests that ping
    iproute2 nftables libmnl-dev libnftables-dev iputils-ping
    # dataplane: DPDK driver (dpdk-doc: l3fwd sources for the comparison)
    libdpdk-dev dpdk dpdk-doc
    # real clients: the `openstack` command and openstacksdk (tests/clients)
    python3-openstackclient python3-openstacksdk
    # auth_strategy = keystone: SHA-256 of the token cache (libcrypto), and
    # a real Keystone for the tests (contrib/keystone.sh)
    libssl-dev keystone python3-keystone
)

# One dpkg-query for all: "ii " = wanted install, installed, no error.
declare -A installed=()
while read -r pkg status; do
    [[ $status == ii* ]] && installed[${pkg%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' \
    "${HADRON_DEPS[@]}" 2>/dev/null || true)

missing=()
for pkg in "${HADRON_DEPS[@]}"; do
    [[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2

sudo=()
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: not root and sudo is not available; install as root:" >&2
        echo "  apt-get install ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
