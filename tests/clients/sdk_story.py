#!/usr/bin/python3
"""tests/clients/sdk_story.py URL: a tenant's story through openstacksdk
against a noauth Hadron: a router with a flavor, an interface, a gateway, a
floating IP on a port, filtered lists, then everything deleted.

sdk_story.py --keystone AUTH_URL: the same through Keystone
(contrib/keystone.sh's cloud): the admin makes the flavor and the external
network, member-of-A the rest; Hadron is found in the catalog."""
import sys

import openstack

if sys.argv[1] == "--keystone":
    def login(user, project):
        return openstack.connection.Connection(
            auth_type="password", auth={
                "auth_url": sys.argv[2], "username": user,
                "password": "secret-" + user, "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default"},
            region_name="RegionOne", interface="public",
            network_api_version="2")
    net = login("member-of-A", "A").network
    admin_net = login("admin", "admin").network
    P = None
    ADMIN_P = None
else:
    conn = openstack.connection.Connection(
        auth_type="none", auth={"endpoint": sys.argv[1]},
        network_api_version="2")
    net = admin_net = conn.network
    P = "sdk-project"
    ADMIN_P = "admin"


def owned(project, **attrs):
    """attrs, with project_id when there is no Keystone to say whose."""
    if project:
        attrs["project_id"] = project
    return attrs


def check(cond, what):
    if not cond:
        sys.exit("FAIL (sdk): " + what)


flavor = admin_net.create_flavor(name="sdk-fast",
                                 service_type="L3_ROUTER_NAT")
profile = admin_net.create_service_profile(driver="noop")
admin_net.associate_flavor_with_service_profile(flavor, profile)

public = admin_net.create_network(**owned(ADMIN_P, name="sdk-public",
                                          is_router_external=True))
admin_net.create_subnet(**owned(ADMIN_P, network_id=public.id,
                                cidr="198.51.100.0/24", ip_version=4,
                                is_dhcp_enabled=False))
n1 = net.create_network(**owned(P, name="sdk-net"))
s1 = net.create_subnet(**owned(P, network_id=n1.id, cidr="10.9.0.0/24",
                               ip_version=4, name="sdk-sub"))
router = net.create_router(**owned(P, name="sdk-r", flavor_id=flavor.id))
check(router.flavor_id == flavor.id, "router flavor_id %r" % router.flavor_id)
net.add_interface_to_router(router, subnet_id=s1.id)
router = net.update_router(
    router, external_gateway_info={"network_id": public.id})
check(router.external_gateway_info["network_id"] == public.id, "gateway")
port = net.create_port(**owned(P, network_id=n1.id, name="sdk-vm"))
fip = net.create_ip(**owned(P, floating_network_id=public.id))
fip = net.update_ip(fip, port_id=port.id)
check(fip.port_id == port.id and fip.router_id == router.id,
      "fip association %r" % fip)
check(net.get_ip(fip.id).fixed_ip_address == port.fixed_ips[0]["ip_address"],
      "fip fixed address")
check([r.name for r in net.routers(**owned(P))] == ["sdk-r"], "routers")
check([f.id for f in net.ips(port_id=port.id)] == [fip.id], "ips by port")
check([n.name for n in net.networks(is_router_external=True)
       if n.name.startswith("sdk")] == ["sdk-public"], "external networks")
check(len(list(admin_net.ports(device_id=router.id))) == 2, "router ports")

net.update_ip(fip, port_id=None)
net.delete_ip(fip)
net.update_router(router, external_gateway_info={})
net.remove_interface_from_router(router, subnet_id=s1.id)
net.delete_router(router)
net.delete_port(port)
net.delete_network(n1)
admin_net.delete_network(public)
admin_net.disassociate_flavor_from_service_profile(flavor, profile)
admin_net.delete_flavor(flavor)
admin_net.delete_service_profile(profile)
check([n.name for n in admin_net.networks() if n.name.startswith("sdk")]
      == [] and list(net.ports()) == [], "all deleted")
print("sdk story OK")
