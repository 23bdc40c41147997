#!/bin/sh
# tests/clients/test_example_topology.sh SERVER_BIN MANAGE_BIN: the example
# that contrib/run.sh prints (contrib/example-topology.sh) works as printed:
# run against a real hadron-server after `hadron-manage flavor setup`, it
# leaves router1 ACTIVE with its gateway, the floating IP on vm1's port,
# and router2 of the first flavor.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

if ! command -v openstack >/dev/null 2>&1; then
    echo "openstack CLI not installed (contrib/install-deps.sh): skipped"
    exit 77
fi

hadron_start "$1" "[service_providers]
service_provider = L3_ROUTER_NAT:noop:noop:default
service_provider = L3_ROUTER_NAT:fast:noop"
trap 'kill -TERM "$HADRON_PID" 2>/dev/null || true' EXIT
log=$HADRON_DIR/example.log

fail() {
    echo "FAIL: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
}

"$2" --config-file "$HADRON_DIR/hadron.conf" flavor setup >>"$log" 2>&1 ||
    fail "hadron-manage flavor setup"
cat >"$HADRON_DIR/clouds.yaml" <<YAML
clouds:
  hadron:
    auth_type: none
    auth:
      endpoint: $HADRON_URL
    region_name: RegionOne
    network_api_version: 2
YAML
export OS_CLOUD=hadron OS_CLIENT_CONFIG_FILE=$HADRON_DIR/clouds.yaml
HADRON_URL=$HADRON_URL sh "$top/contrib/example-topology.sh" >>"$log" 2>&1 ||
    fail "contrib/example-topology.sh"

os() {
    openstack "$@" 2>>"$log" || fail "openstack $*"
}
status=
for _ in $(seq 1 100); do
    status=$(os router show router1 -f value -c status)
    [ "$status" = ACTIVE ] && break
    sleep 0.1
done
[ "$status" = ACTIVE ] || fail "router1 is $status"
pub=$(os network show public -f value -c id)
case $(os router show router1 -f json -c external_gateway_info) in
*"\"network_id\": \"$pub\""*"203.0.113."*) ;;
*) fail "router1 has no gateway on public" ;;
esac
port=$(os port show vm1 -f value -c id)
[ "$(os floating ip list --port "$port" -f value -c Port)" = "$port" ] ||
    fail "no floating IP on vm1"
first=$(os network flavor list -f value -c ID | head -n 1)
[ "$(os router show router2 -f value -c flavor_id)" = "$first" ] ||
    fail "router2 is not of flavor $first"

trap - EXIT
hadron_stop
echo "example topology OK"
