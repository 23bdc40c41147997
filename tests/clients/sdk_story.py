#!/usr/bin/python3
"""tests/clients/sdk_story.py URL: a tenant's story through openstacksdk
against a noauth Hadron: a router with a flavor, an interface, a gateway, a
floating IP on a port, filtered lists, then everything deleted."""
import sys

import openstack

url = sys.argv[1]
conn = openstack.connection.Connection(
    auth_type="none", auth={"endpoint": url}, network_api_version="2")
net = conn.network
P = "sdk-project"


def check(cond, what):
    if not cond:
        sys.exit("FAIL (sdk): " + what)


flavor = net.create_flavor(name="sdk-fast", service_type="L3_ROUTER_NAT")
profile = net.create_service_profile(driver="noop")
net.associate_flavor_with_service_profile(flavor, profile)

public = net.create_network(name="sdk-public", is_router_external=True,
                            project_id="admin")
net.create_subnet(network_id=public.id, cidr="198.51.100.0/24",
                  ip_version=4, is_dhcp_enabled=False, project_id="admin")
n1 = net.create_network(name="sdk-net", project_id=P)
s1 = net.create_subnet(network_id=n1.id, cidr="10.9.0.0/24", ip_version=4,
                       name="sdk-sub", project_id=P)
router = net.create_router(name="sdk-r", flavor_id=flavor.id, project_id=P)
check(router.flavor_id == flavor.id, "router flavor_id %r" % router.flavor_id)
net.add_interface_to_router(router, subnet_id=s1.id)
router = net.update_router(
    router, external_gateway_info={"network_id": public.id})
check(router.external_gateway_info["network_id"] == public.id, "gateway")
port = net.create_port(network_id=n1.id, name="sdk-vm", project_id=P)
fip = net.create_ip(floating_network_id=public.id, project_id=P)
fip = net.update_ip(fip, port_id=port.id)
check(fip.port_id == port.id and fip.router_id == router.id,
      "fip association %r" % fip)
check(net.get_ip(fip.id).fixed_ip_address == port.fixed_ips[0]["ip_address"],
      "fip fixed address")
check([r.name for r in net.routers(project_id=P)] == ["sdk-r"], "routers")
check([f.id for f in net.ips(port_id=port.id)] == [fip.id], "ips by port")
check([n.name for n in net.networks(is_router_external=True)]
      == ["sdk-public"], "external networks")
check(len(list(net.ports(device_id=router.id))) == 2, "router ports")

net.update_ip(fip, port_id=None)
net.delete_ip(fip)
net.update_router(router, external_gateway_info={})
net.remove_interface_from_router(router, subnet_id=s1.id)
net.delete_router(router)
net.delete_port(port)
net.delete_network(n1)
net.delete_network(public)
net.disassociate_flavor_from_service_profile(flavor, profile)
net.delete_flavor(flavor)
net.delete_service_profile(profile)
check(list(net.networks()) == [] and list(net.ports()) == [], "all deleted")
print("sdk story OK")
