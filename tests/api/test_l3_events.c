/* tests/api/test_l3_events.c: the L3 rules the L2 API obeys (the L3
 * core's subscriptions to L2 events), each with its refusal and a check
 * that a refused operation left everything as it was:
 *   - router interface, router gateway and floating IP ports cannot be
 *     deleted through the port API (409 ServicePortInUse) nor re-owned;
 *   - a port's fixed IP that a floating IP points at cannot be changed
 *     away (400);
 *   - deleting a port disassociates its floating IPs in the same
 *     transaction and tells the old router's driver; a project cannot so
 *     undo another project's association (409 FipAssociated);
 *   - a subnet with a router interface cannot be deleted (409
 *     SubnetInUse);
 *   - an external network with router gateways or floating IPs cannot be
 *     deleted (409 NetworkInUse) nor made internal (409
 *     ExternalNetworkInUse).
 * Runs on both engines against one server with the noop driver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/topo.h"

#define P1 "11111111111111111111111111111111"
#define P2 "22222222222222222222222222222222"

static const char server_config[] =
    "[service_providers]\n"
    "service_provider = L3_ROUTER_NAT:noop:noop:default\n";

/* ---- Helpers ---- */

/* A floating IP of 'project' (created by an admin for it), associated
 * with 'port' if nonnull. */
static char *
make_fip(struct apitest_server *srv, const char *project, const char *ext,
         const char *port)
{
    char assoc[128] = "";

    if (port) {
        snprintf(assoc, sizeof assoc, ", \"port_id\": \"%s\"", port);
    }
    return topo_create_id(srv, "POST", "/v2.0/floatingips", NULL, 201,
                          "floatingip/id", "{\"floatingip\": "
                          "{\"floating_network_id\": \"%s\", \"project_id\": "
                          "\"%s\"%s}}", ext, project, assoc);
}

/* The JSON text of GET /v2.0/<plural>/<id> as admin (malloc'd), to compare
 * a resource before and after a refused operation. */
static char *
snapshot(struct apitest_server *srv, const char *plural, const char *id)
{
    struct apitest_resp *r = topo_get(srv, NULL, plural, id);
    assert_status(r, 200);
    char *text = xstrdup(r->body);
    apitest_resp_free(r);
    return text;
}

static void
assert_unchanged(struct apitest_server *srv, const char *plural,
                 const char *id, const char *before)
{
    char *now = snapshot(srv, plural, id);
    assert_string_equal(now, before);
    free(now);
}


/* An external network with a subnet, and a project network and subnet
 * routed by a router with a gateway on it. */
struct topo {
    char *ext, *ext_subnet;
    struct topo_l3 l3;
    char *gateway;              /* the router's gateway port */
};

static void
make_topo(struct apitest_server *srv, int n, struct topo *t)
{
    char cidr[32];

    t->ext = topo_net(srv, "admin", "\"router:external\": true");
    snprintf(cidr, sizeof cidr, "172.30.%d.0/24", n);
    t->ext_subnet = topo_subnet(srv, "admin", t->ext, cidr, NULL);
    snprintf(cidr, sizeof cidr, "10.%d.0.0/24", n);
    topo_l3_make(srv, P1, t->ext, cidr, NULL, &t->l3);

    char path[160];
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s&device_owner="
             "network:router_gateway", t->l3.router);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "ports"), 1);
    t->gateway = xstrdup(jstr(r->json, "ports/0/id"));
    apitest_resp_free(r);
}

static void
free_topo(struct topo *t)
{
    free(t->ext);
    free(t->ext_subnet);
    topo_l3_free(&t->l3);
    free(t->gateway);
}

/* ---- Setup ---- */

static int
setup(void **state)
{
    *state = apitest_server_start(server_config);
    return 0;
}

static int
teardown(void **state)
{
    apitest_server_stop(*state);
    return 0;
}

/* ---- Tests ---- */

static void
test_router_ports_not_deletable(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;

    make_topo(srv, 1, &t);
    char *port = topo_port(srv, P1, t.l3.net, NULL);
    char *fip = make_fip(srv, P1, t.ext, port);
    char *fip_port = NULL;
    char path[160];
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", fip);
    r = api_get(srv, path);
    fip_port = xstrdup(jstr(r->json, "ports/0/id"));
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);

    char *interface_before = snapshot(srv, "ports", t.l3.port);
    char *gateway_before = snapshot(srv, "ports", t.gateway);
    char *fip_port_before = snapshot(srv, "ports", fip_port);
    char *router_before = snapshot(srv, "routers", t.l3.router);
    char *fip_before = snapshot(srv, "floatingips", fip);

    /* A router interface, as its owner (the network's owner) and as an
     * admin. */
    r = topo_delete_resp(srv, P1, "ports", t.l3.port);
    topo_assert_error(r, 409, "ServicePortInUse",
                      "Port %s cannot be deleted directly via the port API: "
                      "has device owner network:router_interface.",
                      t.l3.port);
    apitest_resp_free(r);
    r = topo_delete_resp(srv, NULL, "ports", t.l3.port);
    assert_neutron_error(r, 409, "ServicePortInUse");
    apitest_resp_free(r);

    /* The router's gateway. */
    r = topo_delete_resp(srv, NULL, "ports", t.gateway);
    topo_assert_error(r, 409, "ServicePortInUse",
                      "Port %s cannot be deleted directly via the port API: "
                      "has device owner network:router_gateway.", t.gateway);
    apitest_resp_free(r);

    /* A floating IP's port. */
    r = topo_delete_resp(srv, NULL, "ports", fip_port);
    topo_assert_error(r, 409, "ServicePortInUse",
                      "Port %s cannot be deleted directly via the port API: "
                      "has device owner network:floatingip.", fip_port);
    apitest_resp_free(r);

    /* Everything is as it was. */
    assert_unchanged(srv, "ports", t.l3.port, interface_before);
    assert_unchanged(srv, "ports", t.gateway, gateway_before);
    assert_unchanged(srv, "ports", fip_port, fip_port_before);
    assert_unchanged(srv, "routers", t.l3.router, router_before);
    assert_unchanged(srv, "floatingips", fip, fip_before);

    /* Through the L3 API they go. */
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    r = topo_get(srv, NULL, "ports", fip_port);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             t.l3.router);
    r = topo_call(srv, "PUT", path, P1, "{\"subnet_id\": \"%s\"}",
                  t.l3.subnet);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_get(srv, NULL, "ports", t.l3.port);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "routers", t.l3.router), 204);
    r = topo_get(srv, NULL, "ports", t.gateway);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);

    /* A port that only claims to be a router's can go. */
    char *fake = topo_port(srv, NULL, t.l3.net, "\"project_id\": \"" P1 "\", "
                           "\"device_owner\": \"network:router_interface\", "
                           "\"device_id\": \"nothing\"");
    assert_int_equal(topo_delete(srv, P1, "ports", fake), 204);
    free(fake);

    free(interface_before);
    free(gateway_before);
    free(fip_port_before);
    free(router_before);
    free(fip_before);
    free(fip_port);
    free(fip);
    free(port);
    free_topo(&t);
}

static void
test_router_ports_not_reowned(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;

    make_topo(srv, 2, &t);
    char *before = snapshot(srv, "ports", t.l3.port);

    r = topo_update(srv, NULL, "port", t.l3.port,
                    "\"device_owner\": \"compute:nova\"");
    assert_neutron_error(r, 409, "ServicePortInUse");
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "port", t.l3.port, "\"device_id\": \"vm-1\"");
    assert_neutron_error(r, 409, "ServicePortInUse");
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "port", t.gateway, "\"device_id\": \"\"");
    assert_neutron_error(r, 409, "ServicePortInUse");
    apitest_resp_free(r);
    assert_unchanged(srv, "ports", t.l3.port, before);
    free(before);

    /* Other attributes may change. */
    r = topo_update(srv, NULL, "port", t.l3.port, "\"name\": \"up-link\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/name"), "up-link");
    apitest_resp_free(r);

    /* Setting the same owner again is no change. */
    r = topo_update(srv, NULL, "port", t.l3.port, "\"device_owner\": "
                    "\"network:router_interface\", \"device_id\": \"%s\"",
                    t.l3.router);
    assert_status(r, 200);
    apitest_resp_free(r);
    free_topo(&t);
}

static void
test_fixed_ip_of_fip(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;

    make_topo(srv, 3, &t);
    char *port = topo_port(srv, P1, t.l3.net,
                           "\"fixed_ips\": [{\"ip_address\": "
                           "\"10.3.0.10\"}]");
    char *fip = make_fip(srv, P1, t.ext, port);
    char *before = snapshot(srv, "ports", port);

    /* Dropping the address: 400, nothing changed. */
    r = topo_update(srv, P1, "port", port, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.3.0.11\"}]");
    topo_assert_error(r, 400, "BadRequest",
                      "Bad port request: Cannot update the fixed_ips of the "
                      "port %s, because its original fixed_ip has been "
                      "associated to a floating ip.", port);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "port", port, "\"fixed_ips\": []");
    assert_neutron_error(r, 400, "BadRequest");
    apitest_resp_free(r);
    assert_unchanged(srv, "ports", port, before);
    r = api_get(srv, "/v2.0/ports?fixed_ips=ip_address%3D10.3.0.11");
    assert_int_equal(jlen(r->json, "ports"), 0);
    apitest_resp_free(r);

    /* Keeping it while adding another is fine. */
    r = topo_update(srv, P1, "port", port, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.3.0.10\"}, {\"ip_address\": \"10.3.0.12\"}]");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    apitest_resp_free(r);

    /* Once disassociated, the address may go. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": null");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "port", port, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.3.0.11\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(before);
    free(fip);
    free(port);
    free_topo(&t);
}

static void
test_port_delete_disassociates(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;

    make_topo(srv, 4, &t);
    char *port = topo_port(srv, P1, t.l3.net, NULL);
    char *fip = make_fip(srv, P1, t.ext, port);
    topo_wait_journal_idle(srv);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/status"), "ACTIVE");
    int64_t revision = jint(r->json, "floatingip/revision_number");
    apitest_resp_free(r);

    assert_int_equal(topo_delete(srv, P1, "ports", port), 204);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_status(r, 200);
    yajl_val f = jpath(r->json, "floatingip");
    assert_true(YAJL_IS_NULL(jpath(f, "port_id")));
    assert_true(YAJL_IS_NULL(jpath(f, "fixed_ip_address")));
    assert_true(YAJL_IS_NULL(jpath(f, "router_id")));
    assert_true(YAJL_IS_NULL(jpath(f, "port_details")));
    assert_string_equal(jstr(f, "status"), "DOWN");
    assert_int_equal(jint(f, "revision_number"), revision + 1);
    apitest_resp_free(r);

    /* The old router's driver was told, and it stays DOWN. */
    topo_wait_journal_idle(srv);
    char *got = topo_fip_journal(srv, "noop", fip);
    char *expected = xasprintf("create:%s\ndelete:%s\n", t.l3.router,
                               t.l3.router);
    assert_string_equal(got, expected);
    free(got);
    free(expected);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    apitest_resp_free(r);

    /* The FIP can serve another port. */
    char *port2 = topo_port(srv, P1, t.l3.net, NULL);
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"",
                    port2);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.l3.router);
    apitest_resp_free(r);

    /* A project may not delete its port while it holds another project's
     * floating IP (made by an admin); an admin may. */
    char *fip2 = make_fip(srv, P2, t.ext, NULL);
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": null");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "floatingip", fip2, "\"port_id\": \"%s\"",
                    port2);
    assert_status(r, 200);
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    char *before = snapshot(srv, "ports", port2);
    char *fip2_before = snapshot(srv, "floatingips", fip2);
    r = topo_delete_resp(srv, P1, "ports", port2);
    assert_neutron_error(r, 409, "FipAssociated");
    apitest_resp_free(r);
    assert_unchanged(srv, "ports", port2, before);
    assert_unchanged(srv, "floatingips", fip2, fip2_before);
    assert_int_equal(topo_delete(srv, NULL, "ports", port2), 204);
    r = topo_get(srv, NULL, "floatingips", fip2);
    assert_true(YAJL_IS_NULL(jpath(r->json, "floatingip/port_id")));
    apitest_resp_free(r);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    assert_int_equal(topo_delete(srv, NULL, "floatingips", fip2), 204);
    free(before);
    free(fip2_before);
    free(fip2);
    free(port2);
    free(fip);
    free(port);
    free_topo(&t);
}

static void
test_subnet_with_interface(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;

    make_topo(srv, 5, &t);
    char *subnet_before = snapshot(srv, "subnets", t.l3.subnet);
    char *port_before = snapshot(srv, "ports", t.l3.port);

    r = topo_delete_resp(srv, P1, "subnets", t.l3.subnet);
    topo_assert_error(r, 409, "SubnetInUse",
                      "Unable to complete operation on subnet %s: One or more "
                      "ports have an IP allocation from this subnet.",
                      t.l3.subnet);
    apitest_resp_free(r);
    assert_unchanged(srv, "subnets", t.l3.subnet, subnet_before);
    assert_unchanged(srv, "ports", t.l3.port, port_before);

    /* The project's network cannot go either (it has the interface). */
    r = topo_delete_resp(srv, P1, "networks", t.l3.net);
    assert_int_equal(r->status, 409);
    apitest_resp_free(r);
    assert_unchanged(srv, "subnets", t.l3.subnet, subnet_before);

    /* Without the interface it can. */
    char path[160];
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             t.l3.router);
    r = topo_call(srv, "PUT", path, P1, "{\"subnet_id\": \"%s\"}",
                  t.l3.subnet);
    assert_status(r, 200);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "subnets", t.l3.subnet), 204);
    free(subnet_before);
    free(port_before);
    free_topo(&t);
}

static void
test_external_network_in_use(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    struct topo t;
    char path[160];

    make_topo(srv, 6, &t);
    char *net_before = snapshot(srv, "networks", t.ext);
    char *subnet_before = snapshot(srv, "subnets", t.ext_subnet);
    char *gateway_before = snapshot(srv, "ports", t.gateway);

    /* With a router gateway: neither deleted nor made internal. */
    r = topo_delete_resp(srv, NULL, "networks", t.ext);
    topo_assert_error(r, 409, "NetworkInUse",
                      "Unable to complete operation on network %s. There are "
                      "one or more ports still in use on the network.", t.ext);
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "network", t.ext, "\"router:external\": false");
    topo_assert_error(r, 409, "ExternalNetworkInUse",
                      "External network %s cannot be updated to be made "
                      "non-external, since it has existing gateway ports.",
                      t.ext);
    apitest_resp_free(r);
    assert_unchanged(srv, "networks", t.ext, net_before);
    assert_unchanged(srv, "subnets", t.ext_subnet, subnet_before);
    assert_unchanged(srv, "ports", t.gateway, gateway_before);

    /* Other updates of it are fine. */
    r = topo_update(srv, NULL, "network", t.ext, "\"name\": \"public\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    free(net_before);
    net_before = snapshot(srv, "networks", t.ext);

    /* With only a floating IP (no gateway any more): the same. */
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             t.l3.router);
    r = topo_call(srv, "PUT", path, P1, "{\"subnet_id\": \"%s\"}",
                  t.l3.subnet);
    assert_status(r, 200);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "routers", t.l3.router), 204);
    char *fip = make_fip(srv, P1, t.ext, NULL);
    char *fip_before = snapshot(srv, "floatingips", fip);
    r = topo_delete_resp(srv, NULL, "networks", t.ext);
    assert_neutron_error(r, 409, "NetworkInUse");
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "network", t.ext, "\"router:external\": false");
    topo_assert_error(r, 409, "ExternalNetworkInUse",
                      "External network %s cannot be updated to be made "
                      "non-external, since it has existing floating IPs.",
                      t.ext);
    apitest_resp_free(r);
    assert_unchanged(srv, "networks", t.ext, net_before);
    assert_unchanged(srv, "subnets", t.ext_subnet, subnet_before);
    assert_unchanged(srv, "floatingips", fip, fip_before);

    /* Without either: both allowed. */
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    r = topo_update(srv, NULL, "network", t.ext, "\"router:external\": false");
    assert_status(r, 200);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, NULL, "networks", t.ext), 204);

    free(fip);
    free(fip_before);
    free(net_before);
    free(subnet_before);
    free(gateway_before);
    free_topo(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_ports_not_deletable),
        cmocka_unit_test(test_router_ports_not_reowned),
        cmocka_unit_test(test_fixed_ip_of_fip),
        cmocka_unit_test(test_port_delete_disassociates),
        cmocka_unit_test(test_subnet_with_interface),
        cmocka_unit_test(test_external_network_in_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
