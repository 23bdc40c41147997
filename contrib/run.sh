#!/usr/bin/env bash
# Installs what is missing, builds Hadron and runs it in the foreground on
# SQLite, listening on 127.0.0.1:9696.  Ctrl-C (or SIGTERM) stops it.
#
#   contrib/run.sh [--config-file FILE]... [OTHER hadron-server ARGS]
#
# The server reads contrib/hadron.conf, then each extra --config-file in
# order (a later file overrides an earlier one; a bare FILE argument is taken
# as --config-file FILE).  It runs from the repository top, where the sample
# configuration's database, sqlite:///var/hadron.db, lives.
set -euo pipefail

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)

# Resolve file arguments against the caller's directory before moving.
confs=("$top/contrib/hadron.conf")
args=()
abspath() {
    case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
    esac
}
while (($#)); do
    case $1 in
    --config-file)
        (($# >= 2)) || { echo "run.sh: --config-file needs a FILE" >&2; exit 2; }
        confs+=("$(abspath "$2")")
        shift 2
        ;;
    --config-file=*)
        confs+=("$(abspath "${1#--config-file=}")")
        shift
        ;;
    -*)
        args+=("$1")
        shift
        ;;
    *)
        if [[ -f $1 ]]; then
            confs+=("$(abspath "$1")")
        else
            args+=("$1")
        fi
        shift
        ;;
    esac
done
for conf in "${confs[@]}"; do
    [[ -r $conf ]] || { echo "run.sh: cannot read $conf" >&2; exit 1; }
done

cd -- "$top"
contrib/install-deps.sh

if [[ -f build/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' build/CMakeCache.txt; then
    rm -rf -- build/CMakeCache.txt build/CMakeFiles
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DHADRON_SANITIZE=OFF -DHADRON_TESTS=OFF >/dev/null
cmake --build build

mkdir -p var

# Where it will listen: the last bind_host/bind_port in [DEFAULT] across the
# configuration files, as the server itself reads them.
read -r host port < <(awk '
    BEGIN { host = "127.0.0.1"; port = 9696 }
    FNR == 1 { sect = "" }
    /^[[:space:]]*\[/ { sect = $0; gsub(/[][[:space:]]/, "", sect); next }
    sect == "DEFAULT" && /^[[:space:]]*bind_(host|port)[[:space:]]*[=:]/ {
        val = $0
        sub(/^[^=:]*[=:][[:space:]]*/, "", val)
        sub(/[[:space:]]*([;#].*)?$/, "", val)
        if ($0 ~ /bind_host/) host = val; else port = val
    }
    END { print host, port }' "${confs[@]}")
url="http://$host:$port"

conf_args=()
for conf in "${confs[@]}"; do
    conf_args+=(--config-file "$conf")
done

# The schema, and a router flavor for each configured provider (as an
# operator would with `openstack network flavor create` and friends).
if ! out=$(build/hadron-manage "${conf_args[@]}" db upgrade 2>&1); then
    echo "$out" >&2
    exit 1
fi
flavors=$(build/hadron-manage "${conf_args[@]}" flavor setup)

note=
if [[ $url != http://127.0.0.1:9696 ]]; then
    note=$'    (contrib/clouds.yaml points at http://127.0.0.1:9696: adjust its endpoint)\n'
fi

cat <<EOF

Hadron listens on $url (Ctrl-C stops it), with these router flavors:
$(sed 's/^/    /' <<<"$flavors")

Use it with the openstack CLI (apt-get install python3-openstackclient):

    export OS_CLOUD=hadron OS_CLIENT_CONFIG_FILE=$PWD/contrib/clouds.yaml
    openstack network list
${note}
A routed topology (contrib/example-topology.sh runs exactly these):

$(sed -e '1,/^# ---- commands ----$/d' -e 's/^/    /' contrib/example-topology.sh)

EOF

exec build/hadron-server "${conf_args[@]}" "${args[@]}"
