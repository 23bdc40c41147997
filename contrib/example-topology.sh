#!/bin/sh
# contrib/example-topology.sh: a routed topology on a Hadron started by
# contrib/run.sh, built with the `openstack` command (noauth, so creates name
# their project): an external network, a tenant network behind a router
# with an external gateway (SNAT), a VM's port and a floating IP on it.
# contrib/run.sh prints the commands below the marker; running this file
# runs them (tests/clients/test_example_topology.sh does, against a test
# server).  Optional: HADRON_URL (default http://127.0.0.1:9696).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${OS_CLOUD:=hadron}" "${OS_CLIENT_CONFIG_FILE:=$top/contrib/clouds.yaml}"
export OS_CLOUD OS_CLIENT_CONFIG_FILE
set -x
# ---- commands ----
# The admin's external network, and a tenant's private network.
openstack network create --project admin --external public
openstack subnet create --project admin --network public --no-dhcp \
    --subnet-range 203.0.113.0/24 public-subnet
openstack network create --project demo private
openstack subnet create --project demo --network private \
    --subnet-range 10.0.0.0/24 private-subnet
# A router (the default flavor) with an interface and a gateway (SNAT).
openstack router create --project demo router1
openstack router add subnet router1 private-subnet
openstack router set --external-gateway public router1
# A VM's port and a floating IP on it.
openstack port create --project demo --network private vm1
openstack floating ip create --project demo --port vm1 public
openstack router show router1 -c status -c external_gateway_info
openstack floating ip list --port vm1 -c "Floating IP Address" -c "Fixed IP Address"
# The flavors `hadron-manage flavor setup` made, one per provider.
# openstackclient 6.0 has no `router create --flavor`: the API takes one.
openstack network flavor list
flavor=$(openstack network flavor list -f value -c ID | head -n 1)
curl -sf -X POST "${HADRON_URL:-http://127.0.0.1:9696}/v2.0/routers" -H 'Content-Type: application/json' \
    -d '{"router": {"name": "router2", "project_id": "demo", "flavor_id": "'"$flavor"'"}}'
