#!/bin/sh
# tests/clients/test_openstack_cli.sh SERVER_BIN: a tenant's story told
# with the real `openstack` command (Debian's python3-openstackclient)
# through the noauth endpoint of a real hadron-server, then the same
# with openstacksdk (sdk_story.py).
#
# Without Keystone the CLI's requests carry no project, so they are admin
# requests, and creating needs --project (as Neutron's "Running without
# keystone AuthN requires that tenant_id is specified").  The CLI resolves
# --project through the identity API on the same endpoint; Hadron answers
# those look-ups 403 under noauth, which makes the CLI use the name as the
# ID.  openstackclient 6.0 has no `router create --flavor`: the flavor is
# set up with the CLI and used through openstacksdk.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if ! command -v openstack >/dev/null 2>&1; then
    echo "openstack CLI not installed (contrib/install-deps.sh): skipped"
    exit 77
fi

hadron_start "$1"
trap 'kill -TERM "$HADRON_PID" 2>/dev/null || true' EXIT
log=$HADRON_DIR/cli.log

fail() {
    echo "FAIL: $*" >&2
    echo "--- last commands:" >&2
    tail -n 30 "$log" >&2
    exit 1
}

# os ARGS...: runs the CLI, prints its stdout; fails the test on error.
os() {
    echo "+ openstack $*" >>"$log"
    if ! out=$(openstack --os-auth-type none --os-endpoint "$HADRON_URL" \
                   "$@" 2>>"$log"); then
        fail "openstack $*"
    fi
    echo "$out" >>"$log"
    [ -z "$out" ] || printf '%s\n' "$out"
}

# expect WHAT GOT WANT
expect() {
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# The tenant's network, and an external network the admin made.
net=$(os network create --project p1 net1 -f value -c id)
sub=$(os subnet create --project p1 --network net1 \
      --subnet-range 10.0.0.0/24 sub1 -f value -c id)
expect "subnet gateway" "$(os subnet show sub1 -f value -c gateway_ip)" \
    10.0.0.1
pub=$(os network create --project admin --external public -f value -c id)
os subnet create --project admin --network public --no-dhcp \
    --subnet-range 172.24.4.0/24 public-sub -f value -c id >/dev/null
expect "external" "$(os network show public -f value -c router:external)" \
    True

# A router flavor (used by the SDK below; the CLI cannot pass it).
os network flavor create --service-type L3_ROUTER_NAT fast -f value -c id \
    >/dev/null
profile=$(os network flavor profile create --driver noop -f value -c id)
os network flavor add profile fast "$profile"

# Router: interface, gateway.
router=$(os router create --project p1 r1 -f value -c id)
os router add subnet r1 sub1
os router set --external-gateway public r1
gw=$(os router show r1 -f json -c external_gateway_info)
case $gw in
*"\"network_id\": \"$pub\""*"172.24.4."*) ;;
*) fail "router gateway: $gw" ;;
esac
expect "router status" "$(os router show r1 -f value -c status)" ACTIVE

# A VM's port and a floating IP on it.
port=$(os port create --project p1 --network net1 \
       --fixed-ip subnet=sub1,ip-address=10.0.0.10 vm1 -f value -c id)
fip=$(os floating ip create --project p1 public -f value -c id)
os floating ip set --port vm1 "$fip"
expect "fip port" "$(os floating ip show "$fip" -f value -c port_id)" "$port"
expect "fip fixed" "$(os floating ip show "$fip" -f value -c fixed_ip_address)" \
    10.0.0.10
expect "fip router" "$(os floating ip show "$fip" -f value -c router_id)" \
    "$router"

# Lists with filters.
expect "fip by port/router" \
    "$(os floating ip list --port vm1 --router r1 -f value -c ID)" "$fip"
expect "fip by fixed address" \
    "$(os floating ip list --network public --fixed-ip-address 10.0.0.10 \
       -f value -c ID)" "$fip"
expect "fip by project" "$(os floating ip list --project p1 -f value -c ID)" \
    "$fip"
expect "external networks" "$(os network list --external -f value -c Name)" \
    public
expect "networks by project and name" \
    "$(os network list --project p1 --name net1 -f value -c ID)" "$net"
expect "subnets by network" \
    "$(os subnet list --network net1 --ip-version 4 -f value -c ID)" "$sub"
expect "routers by project" "$(os router list --project p1 -f value -c Name)" r1
expect "router interface" \
    "$(os port list --network net1 --device-owner network:router_interface \
       -f value -c Fixed\ IP\ Addresses | grep -c 10.0.0.1)" 1
expect "router ports" "$(os port list --router r1 -f value -c ID | wc -l)" 2
expect "port by name" "$(os port list --name vm1 -f value -c ID)" "$port"

# Everything goes.
os floating ip unset --port "$fip"
expect "fip unset" "$(os floating ip show "$fip" -f value -c port_id)" None
os floating ip delete "$fip"
os router unset --external-gateway r1
os router remove subnet r1 sub1
os router delete r1
os port delete vm1
os subnet delete sub1
os network delete net1
os subnet delete public-sub
os network delete public
os network flavor remove profile fast "$profile"
os network flavor delete fast
os network flavor profile delete "$profile"
for what in network subnet port router "floating ip"; do
    # shellcheck disable=SC2086
    expect "$what list after delete" "$(os $what list -f value)" ""
done

# The same story through openstacksdk, when it is there.
if /usr/bin/python3 -c 'import openstack' 2>/dev/null; then
    /usr/bin/python3 "$here/sdk_story.py" "$HADRON_URL" >>"$log" 2>&1 \
        || fail "openstacksdk story"
fi

trap - EXIT
hadron_stop
echo "openstack CLI story OK"
