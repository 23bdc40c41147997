#!/usr/bin/env bash
# Runs a private, real Keystone (Debian's `keystone` package) for tests.
#
#   contrib/keystone.sh start DIR PORT [HADRON_URL]
#   contrib/keystone.sh stop DIR [PORT]
#
# start: the first time, makes DIR: keystone.conf (SQLite database, fernet
# and credential keys, all in DIR), `keystone-manage db_sync`,
# `fernet_setup`, `credential_setup`, `bootstrap` (user admin in project
# admin with role admin, region RegionOne, identity endpoints), then the
# test cloud:
#
#   project service: user hadron (roles service and admin), Hadron's own
#                    account for validating tokens ([keystone_authtoken])
#   project A:       user member-of-A (member), user reader-of-A (reader)
#   project B:       user member-of-B (member)
#   service network (type network): public, internal and admin endpoints
#                    on HADRON_URL (only if given)
#
# Every user's password is "secret-<user name>" ("secret-admin" for admin).
# Then serves Keystone's public WSGI application (keystone-wsgi-public) on
# 127.0.0.1:PORT in the background, waits until it answers, and prints its
# URL (http://127.0.0.1:PORT/v3).  Running start again on an existing DIR
# (with another PORT, or after stop) serves the same database and keys, so
# tokens issued by one instance are valid on the others.
#
# With KEYSTONE_TOKEN_EXPIRATION=SECONDS in the environment, the instance
# started issues tokens that expire after SECONDS (default 3600): a
# short-lived one beside the main instance makes expired tokens.
#
# stop: kills every instance started on DIR (or only the one on PORT), by
# the PIDs it recorded, and waits for them to go.  DIR is left for the
# caller to remove (or to start again).
#
# Logs: DIR/keystone-PORT.log (the server), DIR/setup.log (keystone-manage).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR PORT [HADRON_URL] | stop DIR [PORT]" >&2
    exit 2
}

py=/usr/bin/python3

start() {
    local dir=$1 port=$2 hadron_url=${3:-}
    local conf=$dir/keystone-$port.conf
    local url=http://127.0.0.1:$port
    local t0=$SECONDS

    mkdir -p -- "$dir"
    dir=$(cd -- "$dir" && pwd -P)
    conf=$dir/keystone-$port.conf
    cat >"$conf" <<EOF
[DEFAULT]
log_file = $dir/keystone-$port.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
expiration = ${KEYSTONE_TOKEN_EXPIRATION:-3600}
[fernet_tokens]
key_repository = $dir/fernet-keys
[fernet_receipts]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
[identity]
# bcrypt's cheapest cost: each token request checks a password.
password_hash_rounds = 4
[oslo_policy]
policy_file = $dir/policy.yaml
EOF
    : >"$dir/policy.yaml"

    if [[ ! -f $dir/keystone.db ]]; then
        local manage=(keystone-manage --config-file "$conf")
        local owner=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")
        {
            "${manage[@]}" db_sync &&
            sqlite3 "$dir/keystone.db" 'PRAGMA journal_mode=WAL;' &&
            "${manage[@]}" fernet_setup "${owner[@]}" &&
            "${manage[@]}" credential_setup "${owner[@]}" &&
            "${manage[@]}" bootstrap --bootstrap-password secret-admin \
                --bootstrap-region-id RegionOne \
                --bootstrap-admin-url "$url/v3" \
                --bootstrap-public-url "$url/v3" \
                --bootstrap-internal-url "$url/v3"
        } >"$dir/setup.log" 2>&1 || {
            cat "$dir/setup.log" >&2
            echo "keystone.sh: setting up Keystone in $dir failed" >&2
            exit 1
        }
        touch "$dir/.needs-cloud"
    fi

    OS_KEYSTONE_CONFIG_DIR=$dir OS_KEYSTONE_CONFIG_FILES=keystone-$port.conf \
        setsid keystone-wsgi-public --host 127.0.0.1 --port "$port" \
        >"$dir/keystone-$port.out" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/keystone-$port.pid"

    local up=
    for _ in $(seq 1 600); do
        if "$py" - "$url/v3" 2>/dev/null <<'EOF'
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
EOF
        then
            up=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $up ]]; then
        cat "$dir/keystone-$port.out" >&2 || true
        tail -n 40 "$dir/keystone-$port.log" >&2 || true
        kill -- "$pid" 2>/dev/null || true
        echo "keystone.sh: Keystone on port $port did not come up" >&2
        exit 1
    fi

    if [[ -f $dir/.needs-cloud ]]; then
        make_cloud "$url/v3" "$hadron_url" >>"$dir/setup.log" 2>&1 || {
            tail -n 40 "$dir/setup.log" >&2
            echo "keystone.sh: creating the test cloud failed" >&2
            exit 1
        }
        rm -f -- "$dir/.needs-cloud"
    fi
    echo "keystone.sh: Keystone up on $url in $((SECONDS - t0)) s" >&2
    echo "$url/v3"
}

# make_cloud AUTH_URL HADRON_URL: the projects, users, roles and the network
# service above, through Keystone's API as admin (one Python process: the
# `openstack` command costs seconds per call).
make_cloud() {
    "$py" - "$1" "$2" <<'EOF'
import json, sys, urllib.request

auth_url, hadron_url = sys.argv[1], sys.argv[2]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(
        auth_url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"})
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
        return resp.headers, json.loads(text) if text else None


headers, _ = call("POST", "/auth/tokens", {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"},
        "password": "secret-admin"}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
tok = headers["X-Subject-Token"]


def create(kind, plural, body):
    return call("POST", "/" + plural, {kind: body}, tok)[1][kind]["id"]


roles = {r["name"]: r["id"]
         for r in call("GET", "/roles", token=tok)[1]["roles"]}
roles["service"] = create("role", "roles", {"name": "service"})
projects = {name: create("project", "projects",
                         {"name": name, "domain_id": "default"})
            for name in ("service", "A", "B")}
for user, project, role_names in (("hadron", "service", ("service", "admin")),
                                  ("member-of-A", "A", ("member",)),
                                  ("reader-of-A", "A", ("reader",)),
                                  ("member-of-B", "B", ("member",))):
    uid = create("user", "users", {"name": user, "domain_id": "default",
                                   "password": "secret-" + user})
    for role in role_names:
        call("PUT", "/projects/%s/users/%s/roles/%s"
             % (projects[project], uid, roles[role]), token=tok)
if hadron_url:
    sid = create("service", "services", {"type": "network",
                                         "name": "neutron"})
    for interface in ("public", "internal", "admin"):
        create("endpoint", "endpoints", {
            "service_id": sid, "interface": interface, "url": hadron_url,
            "region_id": "RegionOne"})
EOF
}

stop() {
    local dir=$1 port=${2:-*} pid
    shopt -s nullglob
    for f in "$dir"/keystone-$port.pid; do
        pid=$(cat -- "$f")
        kill -- "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "$pid" 2>/dev/null || true
        rm -f -- "$f"
    done
}

case ${1:-} in
start) (($# == 3 || $# == 4)) || usage; start "$2" "$3" "${4:-}" ;;
stop) (($# == 2 || $# == 3)) || usage; stop "$2" "${3:-}" ;;
*) usage ;;
esac
