#!/bin/sh
# tests/clients/test_keystone_clients.sh SERVER_BIN KEYSTONE_SH: a tenant's
# story told with the real `openstack` command and openstacksdk through a
# real Keystone (contrib/keystone.sh): the clients log in to Keystone as
# member-of-A in project A and find Hadron in the catalog (service type
# network), exactly as against Neutron.  The admin makes the external
# network and the router flavor (openstackclient 6.0 has no `router create
# --flavor`: the flavor is used through openstacksdk, sdk_story.py).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
keystone_sh=$2

if ! command -v openstack >/dev/null 2>&1 || ! command -v keystone-manage >/dev/null 2>&1; then
    echo "FAIL: openstack or keystone-manage not installed (contrib/install-deps.sh)" >&2
    exit 1
fi

ks_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hadron_start "$1" "[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
auth_type = password
auth_url = http://127.0.0.1:$ks_port/v3
www_authenticate_uri = http://127.0.0.1:$ks_port
username = hadron
password = secret-hadron
project_name = service
user_domain_name = Default
project_domain_name = Default
http_connect_timeout = 10"
ks_dir=$HADRON_DIR/keystone
trap '"$keystone_sh" stop "$ks_dir" 2>/dev/null || true; kill -TERM "$HADRON_PID" 2>/dev/null || true' EXIT
t0=$(date +%s)
auth_url=$("$keystone_sh" start "$ks_dir" "$ks_port" "$HADRON_URL")
echo "Keystone set up and started in $(($(date +%s) - t0)) s"
log=$HADRON_DIR/cli.log

export OS_AUTH_URL="$auth_url" OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public \
    OS_REGION_NAME=RegionOne OS_USER_DOMAIN_NAME=Default \
    OS_PROJECT_DOMAIN_NAME=Default
unset OS_CLOUD OS_TOKEN OS_ENDPOINT OS_AUTH_TYPE 2>/dev/null || true

fail() {
    echo "FAIL: $*" >&2
    echo "--- last commands:" >&2
    tail -n 30 "$log" >&2
    exit 1
}

# as USER PROJECT ARGS...: runs the CLI as USER in PROJECT; prints stdout.
as() {
    user=$1 project=$2
    shift 2
    echo "+ ($user) openstack $*" >>"$log"
    if ! out=$(OS_USERNAME=$user OS_PASSWORD=secret-$user \
               OS_PROJECT_NAME=$project openstack "$@" 2>>"$log"); then
        fail "($user) openstack $*"
    fi
    echo "$out" >>"$log"
    [ -z "$out" ] || printf '%s\n' "$out"
}
a() { as member-of-A A "$@"; }
admin() { as admin admin "$@"; }

expect() {
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

project_a=$(admin project show A -f value -c id)

# The admin's external network.
pub=$(admin network create --external public -f value -c id)
admin subnet create --network public --no-dhcp \
    --subnet-range 172.24.4.0/24 public-sub -f value -c id >/dev/null

# The tenant's network, subnet, router, interface and gateway.
net=$(a network create net1 -f value -c id)
expect "network project" "$(a network show net1 -f value -c project_id)" \
    "$project_a"
sub=$(a subnet create --network net1 --subnet-range 10.0.0.0/24 sub1 \
      -f value -c id)
router=$(a router create r1 -f value -c id)
a router add subnet r1 sub1
a router set --external-gateway public r1
gw=$(a router show r1 -f json -c external_gateway_info)
case $gw in
*"\"network_id\": \"$pub\""*"172.24.4."*) ;;
*) fail "router gateway: $gw" ;;
esac

# A VM's port and a floating IP on it.
port=$(a port create --network net1 \
       --fixed-ip subnet=sub1,ip-address=10.0.0.10 vm1 -f value -c id)
fip=$(a floating ip create public -f value -c id)
a floating ip set --port vm1 "$fip"
expect "fip port" "$(a floating ip show "$fip" -f value -c port_id)" "$port"
expect "fip router" "$(a floating ip show "$fip" -f value -c router_id)" \
    "$router"

# Lists with filters, and what another tenant sees.
expect "fip by port/router" \
    "$(a floating ip list --port vm1 --router r1 -f value -c ID)" "$fip"
expect "networks by name" "$(a network list --name net1 -f value -c ID)" \
    "$net"
expect "subnets by network" \
    "$(a subnet list --network net1 -f value -c ID)" "$sub"
expect "routers" "$(a router list -f value -c Name)" r1
# As in Neutron, the gateway port belongs to no project: the tenant sees
# the interface only, the admin both.
expect "router ports" "$(a port list --router r1 -f value -c ID | wc -l)" 1
expect "router ports (admin)" \
    "$(admin port list --router r1 -f value -c ID | wc -l)" 2
expect "B sees no router" "$(as member-of-B B router list -f value)" ""
expect "B sees only the external network" \
    "$(as member-of-B B network list -f value -c Name)" public
if OS_USERNAME=reader-of-A OS_PASSWORD=secret-reader-of-A OS_PROJECT_NAME=A \
       openstack network create nope >>"$log" 2>&1; then
    fail "a reader created a network"
fi
expect "reader sees A's" \
    "$(as reader-of-A A network list --name net1 -f value -c ID)" "$net"

# Everything goes.
a floating ip unset --port "$fip"
a floating ip delete "$fip"
a router unset --external-gateway r1
a router remove subnet r1 sub1
a router delete r1
a port delete vm1
a subnet delete sub1
a network delete net1
expect "network list after delete" "$(a network list -f value -c ID)" "$pub"
for what in router port "floating ip"; do
    # shellcheck disable=SC2086
    expect "$what list after delete" "$(a $what list -f value -c ID)" ""
done

# The same story through openstacksdk, with a router flavor.
/usr/bin/python3 "$here/sdk_story.py" --keystone "$auth_url" >>"$log" 2>&1 \
    || fail "openstacksdk story"
admin subnet delete public-sub
admin network delete public

"$keystone_sh" stop "$ks_dir"
trap - EXIT
hadron_stop
echo "openstack CLI and SDK through Keystone OK"
