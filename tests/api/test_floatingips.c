/* tests/api/test_floatingips.c: floating IPs as a client sees them:
 * create with or without an association, the floating port, addresses
 * chosen by an admin or from a subnet, every refusal with Neutron's code
 * and type, the router choice, update (associate, keep, move,
 * disassociate), delete, lists and visibility, port_details, status DOWN
 * until the driver has applied the entry then ACTIVE (and DOWN while
 * unassociated), and the journal rows each change writes for the driver
 * of the router concerned, including a move between routers of two
 * flavors (the old provider gets a delete, the new one a create).  Runs
 * on both engines against one server with three providers of the noop
 * driver: "noop" (default), "other", and "nofip" (no floating IPs). */
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
    "service_provider = L3_ROUTER_NAT:noop:noop:default\n"
    "service_provider = L3_ROUTER_NAT:other:noop\n"
    "service_provider = L3_ROUTER_NAT:nofip:noop\n"
    "[nofip]\n"
    "capabilities = snat,gateway,extra_routes,ipv6,admin_down\n";

struct env {
    struct apitest_server *srv;
    char *ext;                  /* external network */
    char *ext_subnet;           /* 172.24.4.0/24 */
    char *flavor_other;         /* flavor of provider "other" */
    char *flavor_nofip;         /* flavor of provider "nofip" */
};

/* ---- Helpers ---- */

/* POST /v2.0/floatingips as 'project' with 'attrs' (JSON members). */
static struct apitest_resp *
fip_create(struct apitest_server *srv, const char *project, const char *attrs)
{
    return topo_call(srv, "POST", "/v2.0/floatingips", project,
                     "{\"floatingip\": {%s}}", attrs);
}

static char *
make_fip(struct apitest_server *srv, const char *project, const char *ext,
         const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/floatingips", project, 201,
                          "floatingip/id", "{\"floatingip\": {"
                          "\"floating_network_id\": \"%s\"%s%s}}", ext,
                          extra ? ", " : "", extra ? extra : "");
}

/* Asserts that the journal of 'driver' holds exactly 'expected' for FIP
 * 'id' ("op:router\n" lines, "" for none). */
static void
assert_journal(struct apitest_server *srv, const char *driver,
               const char *id, const char *expected)
{
    char *got = topo_fip_journal(srv, driver, id);
    assert_string_equal(got, expected);
    free(got);
}

static char *
expect2(const char *op1, const char *r1, const char *op2, const char *r2)
{
    return xasprintf("%s:%s\n%s%s%s%s", op1, r1, op2 ? op2 : "",
                     op2 ? ":" : "", op2 ? r2 : "", op2 ? "\n" : "");
}

/* ---- Setup ---- */

static int
setup(void **state)
{
    struct env *env = xzalloc(sizeof *env);

    env->srv = apitest_server_start(server_config);
    env->ext = topo_net(env->srv, "admin", "\"router:external\": true");
    env->ext_subnet = topo_subnet(env->srv, "admin", env->ext,
                                  "172.24.4.0/24", NULL);
    env->flavor_other = topo_flavor(env->srv, "other");
    env->flavor_nofip = topo_flavor(env->srv, "nofip");
    *state = env;
    return 0;
}

static int
teardown(void **state)
{
    struct env *env = *state;

    apitest_server_stop(env->srv);
    free(env->ext);
    free(env->ext_subnet);
    free(env->flavor_other);
    free(env->flavor_nofip);
    free(env);
    return 0;
}

/* ---- Tests ---- */

static void
test_create_unassociated(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char path[256];

    r = fip_create(srv, P1, "\"floating_network_id\": \"0\"");
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);

    char *body = xasprintf("\"floating_network_id\": \"%s\", "
                           "\"description\": \"d\"", env->ext);
    r = fip_create(srv, P1, body);
    free(body);
    assert_status(r, 201);
    yajl_val f = jpath(r->json, "floatingip");
    char *id = xstrdup(jstr(f, "id"));
    assert_true(uuid_is_valid(id));
    assert_string_equal(jstr(f, "floating_network_id"), env->ext);
    assert_true(str_starts_with(jstr(f, "floating_ip_address"),
                                "172.24.4."));
    assert_string_equal(jstr(f, "project_id"), P1);
    assert_string_equal(jstr(f, "tenant_id"), P1);
    assert_string_equal(jstr(f, "description"), "d");
    assert_string_equal(jstr(f, "status"), "DOWN");
    assert_true(YAJL_IS_NULL(jpath(f, "router_id")));
    assert_true(YAJL_IS_NULL(jpath(f, "port_id")));
    assert_true(YAJL_IS_NULL(jpath(f, "fixed_ip_address")));
    assert_true(YAJL_IS_NULL(jpath(f, "port_details")));
    assert_null(jpath(f, "subnet_id"));
    assert_int_equal(jint(f, "revision_number"), 0);
    assert_int_equal(jlen(f, "tags"), 0);
    assert_int_equal(strlen(jstr(f, "created_at")), 20);
    char *address = xstrdup(jstr(f, "floating_ip_address"));
    apitest_resp_free(r);

    /* The floating port: network:floatingip, device_id the FIP, project
     * '', hidden from the project. */
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", id);
    r = api_get(srv, path);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "ports"), 1);
    assert_string_equal(jstr(r->json, "ports/0/device_owner"),
                        "network:floatingip");
    assert_string_equal(jstr(r->json, "ports/0/project_id"), "");
    assert_string_equal(jstr(r->json, "ports/0/network_id"), env->ext);
    assert_string_equal(jstr(r->json, "ports/0/fixed_ips/0/ip_address"),
                        address);
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "ports"), 0);
    apitest_resp_free(r);

    /* An unassociated FIP touches no driver and stays DOWN. */
    topo_wait_journal_idle(srv);
    assert_journal(srv, "noop", id, "");
    r = topo_get(srv, P1, "floatingips", id);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    assert_string_equal(jstr(r->json, "floatingip/floating_ip_address"),
                        address);
    assert_null(jpath(r->json, "floatingip/subnet_id"));
    apitest_resp_free(r);

    /* Another project does not see it. */
    r = topo_get(srv, P2, "floatingips", id);
    assert_neutron_error(r, 404, "FloatingIPNotFound");
    apitest_resp_free(r);
    r = topo_update(srv, P2, "floatingip", id, "\"description\": \"x\"");
    assert_neutron_error(r, 404, "FloatingIPNotFound");
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P2, "floatingips", id), 404);

    assert_int_equal(topo_delete(srv, P1, "floatingips", id), 204);
    assert_int_equal(topo_delete(srv, P1, "floatingips", id), 404);
    r = api_get(srv, path);
    assert_int_equal(jlen(r->json, "ports"), 0);
    apitest_resp_free(r);
    free(address);
    free(id);
}

static void
test_addresses(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char *body;

    /* Only an admin chooses the address. */
    body = xasprintf("\"floating_network_id\": \"%s\", "
                     "\"floating_ip_address\": \"172.24.4.200\"", env->ext);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    /* Giving it as null is not choosing (Neutron's policy: the default). */
    char *null_body = xasprintf("\"floating_network_id\": \"%s\", "
                                "\"floating_ip_address\": null", env->ext);
    r = fip_create(srv, P1, null_body);
    assert_status(r, 201);
    char *null_fip = xstrdup(jstr(r->json, "floatingip/id"));
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", null_fip), 204);
    free(null_fip);
    free(null_body);
    char *project_body = xasprintf("%s, \"project_id\": \"%s\"", body, P1);
    r = fip_create(srv, NULL, project_body);
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "floatingip/floating_ip_address"),
                        "172.24.4.200");
    assert_string_equal(jstr(r->json, "floatingip/project_id"), P1);
    char *chosen = xstrdup(jstr(r->json, "floatingip/id"));
    apitest_resp_free(r);

    /* Taken: 409; not in the network: 400. */
    r = fip_create(srv, NULL, project_body);
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated");
    apitest_resp_free(r);
    free(project_body);
    free(body);
    body = xasprintf("\"floating_network_id\": \"%s\", \"project_id\": "
                     "\"%s\", \"floating_ip_address\": \"10.99.0.1\"",
                     env->ext, P1);
    r = fip_create(srv, NULL, body);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    free(body);

    /* Freed by delete. */
    assert_int_equal(topo_delete(srv, P1, "floatingips", chosen), 204);
    free(chosen);
    chosen = make_fip(srv, NULL, env->ext, "\"project_id\": \"" P1 "\", "
                      "\"floating_ip_address\": \"172.24.4.200\"");
    assert_int_equal(topo_delete(srv, NULL, "floatingips", chosen), 204);
    free(chosen);

    /* From a given subnet, which the answer does not show. */
    char *ext2 = topo_net(srv, "admin", "\"router:external\": true");
    char *s1 = topo_subnet(srv, "admin", ext2, "172.25.1.0/24", NULL);
    char *s2 = topo_subnet(srv, "admin", ext2, "172.25.2.0/24", NULL);
    body = xasprintf("\"floating_network_id\": \"%s\", \"subnet_id\": \"%s\"",
                     ext2, s2);
    r = fip_create(srv, P1, body);
    free(body);
    assert_status(r, 201);
    assert_true(str_starts_with(jstr(r->json,
                                     "floatingip/floating_ip_address"),
                                "172.25.2."));
    assert_null(jpath(r->json, "floatingip/subnet_id"));
    char *fip = xstrdup(jstr(r->json, "floatingip/id"));
    apitest_resp_free(r);
    /* subnet_id is create-only. */
    r = topo_update(srv, P1, "floatingip", fip, "\"subnet_id\": \"%s\"", s1);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    /* floating_ip_address and floating_network_id too. */
    r = topo_update(srv, NULL, "floatingip", fip, "\"floating_ip_address\": "
                    "\"172.25.2.77\"");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    /* An address and a subnet that disagree. */
    body = xasprintf("\"floating_network_id\": \"%s\", \"subnet_id\": "
                     "\"%s\", \"floating_ip_address\": \"172.25.2.9\", "
                     "\"project_id\": \"%s\"", ext2, s1, P1);
    r = fip_create(srv, NULL, body);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    free(body);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(fip);
    free(s1);
    free(s2);
    free(ext2);
}

static void
test_network_refusals(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char *body;

    /* Not external. */
    char *net = topo_net(srv, P1, NULL);
    char *sub = topo_subnet(srv, P1, net, "10.20.0.0/24", NULL);
    body = xasprintf("\"floating_network_id\": \"%s\"", net);
    r = fip_create(srv, P1, body);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Network %s is not a valid "
                      "external network.", net);
    apitest_resp_free(r);
    free(body);

    /* External without an IPv4 subnet. */
    char *ext6 = topo_net(srv, "admin", "\"router:external\": true");
    char *sub6 = topo_subnet(srv, "admin", ext6, "2001:db8:5::/64", NULL);
    body = xasprintf("\"floating_network_id\": \"%s\"", ext6);
    r = fip_create(srv, P1, body);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Network %s does not contain any "
                      "IPv4 subnet.", ext6);
    apitest_resp_free(r);
    free(body);

    /* No such network; none given. */
    r = fip_create(srv, P1, "\"floating_network_id\": "
                   "\"6b9c1d4e-0d1f-4a55-9a43-5f54bd0b0a11\"");
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = fip_create(srv, P1, "\"description\": \"x\"");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);

    /* fixed_ip_address without port_id. */
    body = xasprintf("\"floating_network_id\": \"%s\", "
                     "\"fixed_ip_address\": \"10.20.0.5\"", env->ext);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 400, "BadRequest");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Bad floatingip request: fixed_ip_address cannot be "
                        "specified without a port_id.");
    apitest_resp_free(r);
    free(body);
    /* Read-only attributes. */
    body = xasprintf("\"floating_network_id\": \"%s\", \"status\": "
                     "\"ACTIVE\"", env->ext);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    free(body);
    body = xasprintf("\"floating_network_id\": \"%s\", \"router_id\": "
                     "\"%s\"", env->ext, net);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    free(body);

    /* Nothing was left behind by the refusals. */
    r = api_get(srv, "/v2.0/ports?device_owner=network:floatingip");
    assert_status(r, 200);
    size_t ports = jlen(r->json, "ports");
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/floatingips");
    assert_int_equal(jlen(r->json, "floatingips"), ports);
    apitest_resp_free(r);

    free(sub6);
    free(ext6);
    free(sub);
    free(net);
}

static void
test_associate_on_create(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct topo_l3 t;
    char *body;

    topo_l3_make(env->srv, P1, env->ext, "10.30.0.0/24", NULL, &t);
    char *port = topo_port(srv, P1, t.net, "\"name\": \"vm\", "
                           "\"device_id\": \"vm-1\", "
                           "\"device_owner\": \"compute:nova\"");
    body = xasprintf("\"floating_network_id\": \"%s\", \"port_id\": \"%s\"",
                     env->ext, port);
    struct apitest_resp *r = fip_create(srv, P1, body);
    free(body);
    assert_status(r, 201);
    yajl_val f = jpath(r->json, "floatingip");
    char *id = xstrdup(jstr(f, "id"));
    assert_string_equal(jstr(f, "port_id"), port);
    assert_string_equal(jstr(f, "router_id"), t.router);
    assert_true(str_starts_with(jstr(f, "fixed_ip_address"), "10.30.0."));
    assert_string_equal(jstr(f, "status"), "DOWN");
    assert_string_equal(jstr(f, "port_details/name"), "vm");
    assert_string_equal(jstr(f, "port_details/network_id"), t.net);
    assert_string_equal(jstr(f, "port_details/device_id"), "vm-1");
    assert_string_equal(jstr(f, "port_details/device_owner"),
                        "compute:nova");
    assert_string_equal(jstr(f, "port_details/status"), "DOWN");
    assert_true(YAJL_IS_TRUE(jpath(f, "port_details/admin_state_up")));
    assert_int_equal(strlen(jstr(f, "port_details/mac_address")), 17);
    apitest_resp_free(r);

    /* The router's driver applies it: ACTIVE. */
    topo_wait_status(srv, "floatingip", id, "ACTIVE");
    char *expected = expect2("create", t.router, NULL, NULL);
    assert_journal(srv, "noop", id, expected);
    free(expected);
    assert_journal(srv, "other", id, "");

    /* port_details follow the port. */
    char path[128];
    snprintf(path, sizeof path, "/v2.0/ports/%s", port);
    r = topo_call(srv, "PUT", path, P1, "{\"port\": {\"name\": \"vm2\"}}");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_get(srv, P1, "floatingips", id);
    assert_string_equal(jstr(r->json, "floatingip/port_details/name"), "vm2");
    apitest_resp_free(r);
    r = topo_call(srv, "GET", "/v2.0/floatingips?fields=port_details&fields=id",
             P1, NULL);
    assert_status(r, 200);
    bool seen = false;
    for (size_t i = 0; i < jlen(r->json, "floatingips"); i++) {
        char key[64];
        snprintf(key, sizeof key, "floatingips/%zu/id", i);
        if (!strcmp(jstr(r->json, key), id)) {
            snprintf(key, sizeof key, "floatingips/%zu/port_details/name", i);
            assert_string_equal(jstr(r->json, key), "vm2");
            seen = true;
        }
        snprintf(key, sizeof key, "floatingips/%zu/status", i);
        assert_null(jpath(r->json, key));
    }
    assert_true(seen);
    apitest_resp_free(r);

    /* Lists filter on the association. */
    snprintf(path, sizeof path, "/v2.0/floatingips?port_id=%s", port);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "floatingips"), 1);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/floatingips?router_id=%s", t.router);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "floatingips"), 1);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/floatingips?router_id=%s", t.router);
    r = api_call(srv, "GET", path, P2, NULL);
    assert_int_equal(jlen(r->json, "floatingips"), 0);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/floatingips?status=ACTIVE&id=%s", id);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "floatingips"), 1);
    apitest_resp_free(r);

    /* A second FIP for the same fixed IP on the same network: 409. */
    body = xasprintf("\"floating_network_id\": \"%s\", \"port_id\": \"%s\"",
                     env->ext, port);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 409, "FloatingIPPortAlreadyAssociated");
    apitest_resp_free(r);
    free(body);

    /* Deleting it tells the driver. */
    assert_int_equal(topo_delete(srv, P1, "floatingips", id), 204);
    topo_wait_journal_idle(srv);
    expected = expect2("create", t.router, "delete", t.router);
    assert_journal(srv, "noop", id, expected);
    free(expected);

    free(id);
    free(port);
    topo_l3_free(&t);
}

static void
test_association_refusals(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;
    char *body;

    /* The addresses this test asks for by name (.50, .51, .99) lie outside
     * the pool, so no port that got a random address can hold them. */
    t.net = topo_net(srv, P1, NULL);
    t.subnet = topo_create_id(srv, "POST", "/v2.0/subnets", NULL, 201,
                              "subnet/id", "{\"subnet\": {\"network_id\": "
                              "\"%s\", \"cidr\": \"10.40.0.0/24\", "
                              "\"ip_version\": 4, \"project_id\": \"%s\", "
                              "\"allocation_pools\": [{\"start\": "
                              "\"10.40.0.100\", \"end\": \"10.40.0.200\"}]}}",
                              t.net, P1);
    t.router = topo_router(srv, P1, env->ext, NULL);
    t.port = topo_add_interface(srv, P1, t.router, "subnet_id", t.subnet);
    char *fip = make_fip(srv, P1, env->ext, NULL);

    /* A port the caller cannot see: 404. */
    char *net2 = topo_net(srv, P2, NULL);
    char *sub2 = topo_subnet(srv, P2, net2, "10.41.0.0/24", NULL);
    char *port2 = topo_port(srv, P2, net2, NULL);
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", port2);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);

    /* Another project's port the caller sees (on its network): 400. */
    char *shared = topo_net(srv, P1, "\"shared\": true");
    char *shared_sub = topo_subnet(srv, P1, shared, "10.42.0.0/24", NULL);
    char *theirs = topo_port(srv, P2, shared, NULL);
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", theirs);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Cannot process floating IP "
                      "association with Port %s, since that port is owned by "
                      "a different tenant.", theirs);
    apitest_resp_free(r);

    /* A DHCP port: 400. */
    char *dhcp = topo_port(srv, NULL, t.net, "\"project_id\": \"" P1 "\", "
                           "\"device_owner\": \"network:dhcp\"");
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", dhcp);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Port %s is unable to be "
                      "assigned a floating IP.", dhcp);
    apitest_resp_free(r);

    /* No IPv4 address. */
    char *bare = topo_port(srv, P1, t.net, "\"fixed_ips\": []");
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", bare);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Cannot add floating IP to port "
                      "%s that has no fixed IPv4 addresses.", bare);
    apitest_resp_free(r);

    /* Two IPv4 addresses: fixed_ip_address is required. */
    char *two = topo_port(srv, P1, t.net, "\"fixed_ips\": [{\"ip_address\": "
                          "\"10.40.0.50\"}, {\"ip_address\": "
                          "\"10.40.0.51\"}]");
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", two);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Port %s has multiple fixed IPv4 "
                      "addresses.  Must provide a specific IPv4 address when "
                      "assigning a floating IP.", two);
    apitest_resp_free(r);
    /* ... one it has; not one it lacks; not IPv6. */
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": \"%s\", \"fixed_ip_address\": "
                    "\"10.40.0.99\"", two);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad floatingip request: Port %s does not have fixed ip "
                      "10.40.0.99.", two);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": \"%s\", \"fixed_ip_address\": "
                    "\"2001:db8::5\"", two);
    assert_neutron_error(r, 400, "BadRequest");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Bad floatingip request: Cannot process floating IP "
                        "association with 2001:db8::5, since that is not an "
                        "IPv4 address.");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": \"%s\", \"fixed_ip_address\": "
                    "\"10.40.0.51\"", two);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/fixed_ip_address"),
                        "10.40.0.51");
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.router);
    apitest_resp_free(r);

    /* The other address of the port may have a FIP too; the same one may
     * not. */
    body = xasprintf("\"floating_network_id\": \"%s\", \"port_id\": \"%s\", "
                     "\"fixed_ip_address\": \"10.40.0.51\"", env->ext, two);
    r = fip_create(srv, P1, body);
    assert_neutron_error(r, 409, "FloatingIPPortAlreadyAssociated");
    apitest_resp_free(r);
    free(body);
    body = xasprintf("\"fixed_ip_address\": \"10.40.0.50\", \"port_id\": "
                     "\"%s\"", two);
    char *fip2 = make_fip(srv, P1, env->ext, body);
    free(body);

    /* A port no router connects to the external network: 404. */
    char *lone_net = topo_net(srv, P1, NULL);
    char *lone_sub = topo_subnet(srv, P1, lone_net, "10.43.0.0/24", NULL);
    char *lone = topo_port(srv, P1, lone_net, NULL);
    r = topo_update(srv, P1, "floatingip", fip2, "\"port_id\": \"%s\"",
                    lone);
    topo_assert_error(r, 404, "ExternalGatewayForFloatingIPNotFound",
                      "External network %s is not reachable from subnet %s.  "
                      "Therefore, cannot associate Port %s with a Floating IP.",
                      env->ext, lone_sub, lone);
    apitest_resp_free(r);
    /* ... nor does a router without a gateway. */
    char *gwless = topo_router(srv, P1, NULL, NULL);
    free(topo_add_interface(srv, P1, gwless, "subnet_id", lone_sub));
    r = topo_update(srv, P1, "floatingip", fip2, "\"port_id\": \"%s\"",
                    lone);
    assert_neutron_error(r, 404, "ExternalGatewayForFloatingIPNotFound");
    apitest_resp_free(r);

    /* A refused update changed nothing. */
    r = topo_get(srv, P1, "floatingips", fip2);
    assert_string_equal(jstr(r->json, "floatingip/port_id"), two);
    assert_string_equal(jstr(r->json, "floatingip/fixed_ip_address"),
                        "10.40.0.50");
    assert_int_equal(jint(r->json, "floatingip/revision_number"), 0);
    apitest_resp_free(r);

    /* An admin may associate another project's port. */
    free(topo_add_interface(srv, P1, t.router, "subnet_id", shared_sub));
    r = topo_update(srv, NULL, "floatingip", fip2,
                    "\"port_id\": \"%s\"", theirs);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.router);
    assert_string_equal(jstr(r->json, "floatingip/project_id"), P1);
    apitest_resp_free(r);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip2), 204);
    free(fip);
    free(fip2);
    free(gwless);
    free(lone);
    free(lone_sub);
    free(lone_net);
    free(two);
    free(bare);
    free(dhcp);
    free(theirs);
    free(shared_sub);
    free(shared);
    free(port2);
    free(sub2);
    free(net2);
    topo_l3_free(&t);
}

static void
test_router_choice(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    char *body;

    /* Router A reaches the subnet through a port at .5: it serves the FIP.
     * Once router B holds the subnet's gateway address, B is preferred. */
    char *net = topo_net(srv, P1, NULL);
    char *sub = topo_subnet(srv, P1, net, "10.50.0.0/24", NULL);
    char *a = topo_router(srv, P1, env->ext, NULL);
    char *b = topo_router(srv, P1, env->ext, NULL);
    char *a_port = topo_port(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                             "\"10.50.0.5\"}]");
    free(topo_add_interface(srv, P1, a, "port_id", a_port));
    char *port = topo_port(srv, P1, net, NULL);
    body = xasprintf("\"port_id\": \"%s\"", port);
    char *fip = make_fip(srv, P1, env->ext, body);
    struct apitest_resp *r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), a);
    apitest_resp_free(r);
    free(topo_add_interface(srv, P1, b, "subnet_id", sub));

    /* Re-associating re-chooses: now B. */
    r = topo_update(srv, P1, "floatingip", fip, "%s", body);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), b);
    apitest_resp_free(r);
    free(body);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");
    char *expected = xasprintf("create:%s\ndelete:%s\ncreate:%s\n", a, a, b);
    assert_journal(srv, "noop", fip, expected);
    free(expected);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(fip);
    free(port);
    free(a_port);
    free(a);
    free(b);
    free(sub);
    free(net);
}

static void
test_update(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;
    char *expected;

    topo_l3_make(env->srv, P1, env->ext, "10.60.0.0/24", NULL, &t);
    char *port = topo_port(srv, P1, t.net, NULL);
    char *fip = make_fip(srv, P1, env->ext, NULL);

    /* Associate. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", port);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.router);
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    assert_int_equal(jint(r->json, "floatingip/revision_number"), 1);
    char *fixed = xstrdup(jstr(r->json, "floatingip/fixed_ip_address"));
    apitest_resp_free(r);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");

    /* Omitting port_id keeps the association; the driver hears of the
     * change. */
    r = topo_update(srv, P1, "floatingip", fip, "\"description\": \"web\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/port_id"), port);
    assert_string_equal(jstr(r->json, "floatingip/fixed_ip_address"), fixed);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.router);
    assert_string_equal(jstr(r->json, "floatingip/description"), "web");
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/status"), "ACTIVE");
    apitest_resp_free(r);

    /* fixed_ip_address alone: 400. */
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"fixed_ip_address\": \"%s\"", fixed);
    assert_neutron_error(r, 400, "BadRequest");
    apitest_resp_free(r);

    /* Disassociate: DOWN for good, the driver removes it. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": null");
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json, "floatingip/port_id")));
    assert_true(YAJL_IS_NULL(jpath(r->json, "floatingip/router_id")));
    assert_true(YAJL_IS_NULL(jpath(r->json, "floatingip/fixed_ip_address")));
    assert_true(YAJL_IS_NULL(jpath(r->json, "floatingip/port_details")));
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    apitest_resp_free(r);
    expected = xasprintf("create:%s\nupdate:%s\ndelete:%s\n", t.router,
                         t.router, t.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);

    /* Disassociating again, or changing an unassociated FIP, touches no
     * driver. */
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": null, \"description\": \"\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    expected = xasprintf("create:%s\nupdate:%s\ndelete:%s\n", t.router,
                         t.router, t.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);

    /* Associate on another fixed IP of the same router, then change the
     * fixed IP: an update for that router. */
    char *multi = topo_port(srv, P1, t.net, "\"fixed_ips\": [{\"ip_address\": "
                            "\"10.60.0.70\"}, {\"ip_address\": "
                            "\"10.60.0.71\"}]");
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": \"%s\", \"fixed_ip_address\": "
                    "\"10.60.0.70\"", multi);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "floatingip", fip,
                    "\"port_id\": \"%s\", \"fixed_ip_address\": "
                    "\"10.60.0.71\"", multi);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/fixed_ip_address"),
                        "10.60.0.71");
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    apitest_resp_free(r);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");
    expected = xasprintf("create:%s\nupdate:%s\ndelete:%s\ncreate:%s\n"
                         "update:%s\n", t.router, t.router, t.router,
                         t.router, t.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);

    /* If-Match. */
    char path[128];
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    struct apitest_resp *stale = apitest_request(
        srv, "PUT", path, "If-Match: revision_number=1",
        "{\"floatingip\": {\"description\": \"x\"}}");
    assert_neutron_error(stale, 412, "RevisionNumberConstraintFailed");
    apitest_resp_free(stale);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(multi);
    free(fixed);
    free(fip);
    free(port);
    topo_l3_free(&t);
}

static void
test_move_between_flavors(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 a, b;
    char *body;

    topo_l3_make(env->srv, P1, env->ext, "10.70.0.0/24", NULL, &a);
    topo_l3_make(env->srv, P1, env->ext, "10.71.0.0/24", env->flavor_other,
                 &b);
    char *pa = topo_port(srv, P1, a.net, NULL);
    char *pb = topo_port(srv, P1, b.net, NULL);

    body = xasprintf("\"port_id\": \"%s\"", pa);
    char *fip = make_fip(srv, P1, env->ext, body);
    free(body);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");

    /* Move to the router of flavor "other". */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", pb);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), b.router);
    assert_string_equal(jstr(r->json, "floatingip/port_id"), pb);
    assert_string_equal(jstr(r->json, "floatingip/status"), "DOWN");
    apitest_resp_free(r);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");
    topo_wait_journal_idle(srv);

    /* The old provider removed it, the new one added it. */
    char *expected = xasprintf("create:%s\ndelete:%s\n", a.router, a.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);
    expected = xasprintf("create:%s\n", b.router);
    assert_journal(srv, "other", fip, expected);
    free(expected);

    /* And back, then away. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", pa);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), a.router);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    topo_wait_journal_idle(srv);
    expected = xasprintf("create:%s\ndelete:%s\ncreate:%s\ndelete:%s\n",
                         a.router, a.router, a.router, a.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);
    expected = xasprintf("create:%s\ndelete:%s\n", b.router, b.router);
    assert_journal(srv, "other", fip, expected);
    free(expected);

    /* The applied entries left both drivers in the journal's order:
     * every row completed. */
    r = api_get(srv, "/v2.0/journal_entries?state=failed");
    assert_int_equal(jlen(r->json, "journal_entries"), 0);
    apitest_resp_free(r);

    free(fip);
    free(pa);
    free(pb);
    topo_l3_free(&a);
    topo_l3_free(&b);
}

/* Hadron's flavor change of a router (admin-down only) takes its FIPs
 * along: the old provider removes them, the new one adds them. */
static void
test_router_flavor_change(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;
    char path[128], *body;

    topo_l3_make(env->srv, P1, env->ext, "10.75.0.0/24", NULL, &t);
    char *port = topo_port(srv, P1, t.net, NULL);
    body = xasprintf("\"port_id\": \"%s\"", port);
    char *fip = make_fip(srv, P1, env->ext, body);
    free(body);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");
    r = topo_get(srv, P1, "floatingips", fip);
    long long revision = jint(r->json, "floatingip/revision_number");
    apitest_resp_free(r);

    /* To a flavor without floating IPs: refused, nothing changed. */
    snprintf(path, sizeof path, "/v2.0/routers/%s", t.router);
    r = topo_call(srv, "PUT", path, NULL, "{\"router\": {\"admin_state_up\": "
             "false, \"flavor_id\": \"%s\"}}", env->flavor_nofip);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/status"), "ACTIVE");
    assert_int_equal(jint(r->json, "floatingip/revision_number"), revision);
    apitest_resp_free(r);

    /* To "other". */
    r = topo_call(srv, "PUT", path, NULL, "{\"router\": {\"admin_state_up\": "
             "false, \"flavor_id\": \"%s\"}}", env->flavor_other);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_get(srv, P1, "floatingips", fip);
    assert_string_equal(jstr(r->json, "floatingip/router_id"), t.router);
    assert_string_equal(jstr(r->json, "floatingip/port_id"), port);
    assert_int_equal(jint(r->json, "floatingip/revision_number"),
                     revision + 1);
    apitest_resp_free(r);
    topo_wait_status(srv, "floatingip", fip, "ACTIVE");
    topo_wait_journal_idle(srv);
    char *expected = xasprintf("create:%s\ndelete:%s\n", t.router, t.router);
    assert_journal(srv, "noop", fip, expected);
    free(expected);
    expected = xasprintf("create:%s\n", t.router);
    assert_journal(srv, "other", fip, expected);
    free(expected);

    /* Its later changes go to the new provider only. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": null");
    assert_status(r, 200);
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    expected = xasprintf("create:%s\ndelete:%s\n", t.router, t.router);
    assert_journal(srv, "noop", fip, expected);
    assert_journal(srv, "other", fip, expected);
    free(expected);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(fip);
    free(port);
    topo_l3_free(&t);
}

static void
test_capability(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct topo_l3 t;
    char *body;

    topo_l3_make(env->srv, P1, env->ext, "10.80.0.0/24", env->flavor_nofip,
                 &t);
    char *port = topo_port(srv, P1, t.net, NULL);
    body = xasprintf("\"floating_network_id\": \"%s\", \"port_id\": \"%s\"",
                     env->ext, port);
    struct apitest_resp *r = fip_create(srv, P1, body);
    assert_int_equal(r->status, 400);
    const char *m = jstr(r->json, "NeutronError/message");
    assert_non_null(m);
    assert_true(strstr(m, "nofip") || strstr(m, env->flavor_nofip));
    apitest_resp_free(r);
    free(body);

    /* Nothing was created. */
    r = api_get(srv, "/v2.0/ports?device_owner=network:floatingip");
    size_t ports = jlen(r->json, "ports");
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/floatingips");
    assert_int_equal(jlen(r->json, "floatingips"), ports);
    apitest_resp_free(r);

    /* Unassociated, it is fine; associating it is not. */
    char *fip = make_fip(srv, P1, env->ext, NULL);
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": \"%s\"", port);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(fip);
    free(port);
    topo_l3_free(&t);
}

static void
test_router_rules(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;
    char path[160], *body;

    topo_l3_make(env->srv, P1, env->ext, "10.90.0.0/24", NULL, &t);
    char *port = topo_port(srv, P1, t.net, NULL);
    body = xasprintf("\"port_id\": \"%s\"", port);
    char *fip = make_fip(srv, P1, env->ext, body);
    free(body);

    /* The interface the FIP goes through cannot be removed. */
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             t.router);
    r = topo_call(srv, "PUT", path, P1, "{\"subnet_id\": \"%s\"}", t.subnet);
    topo_assert_error(r, 409, "RouterInterfaceInUseByFloatingIP",
                      "Router interface for subnet %s on router %s cannot be "
                      "deleted, as it is required by one or more floating "
                      "IPs.", t.subnet, t.router);
    apitest_resp_free(r);

    /* Nor its gateway be cleared. */
    snprintf(path, sizeof path, "/v2.0/routers/%s", t.router);
    r = topo_call(srv, "PUT", path, P1, "{\"router\": {\"external_gateway_info\": "
             "{}}}");
    topo_assert_error(r, 409, "RouterExternalGatewayInUseByFloatingIp",
                      "Gateway cannot be updated for router %s, since a "
                      "gateway to external network %s is required by one or "
                      "more floating IPs.", t.router, env->ext);
    apitest_resp_free(r);

    /* Once disassociated, both may go. */
    r = topo_update(srv, P1, "floatingip", fip, "\"port_id\": null");
    assert_status(r, 200);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             t.router);
    r = topo_call(srv, "PUT", path, P1, "{\"subnet_id\": \"%s\"}", t.subnet);
    assert_status(r, 200);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/routers/%s", t.router);
    r = topo_call(srv, "PUT", path, P1, "{\"router\": {\"external_gateway_info\": "
             "{}}}");
    assert_status(r, 200);
    apitest_resp_free(r);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    free(fip);
    free(port);
    topo_l3_free(&t);
}

static void
test_bulk(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;

    struct apitest_resp *r = topo_call(
        srv, "POST", "/v2.0/floatingips", P1, "{\"floatingips\": ["
        "{\"floating_network_id\": \"%s\"}, {\"floating_network_id\": "
        "\"%s\"}]}", env->ext, env->ext);
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "floatingips"), 2);
    char *a = xstrdup(jstr(r->json, "floatingips/0/id"));
    char *b = xstrdup(jstr(r->json, "floatingips/1/id"));
    assert_string_not_equal(jstr(r->json, "floatingips/0/floating_ip_address"),
                            jstr(r->json, "floatingips/1/floating_ip_address"));
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", a), 204);
    assert_int_equal(topo_delete(srv, P1, "floatingips", b), 204);
    free(a);
    free(b);

    /* Atomic: the second is refused, the first is not kept. */
    r = api_get(srv, "/v2.0/floatingips");
    size_t before = jlen(r->json, "floatingips");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/floatingips", P1, "{\"floatingips\": ["
             "{\"floating_network_id\": \"%s\"}, {\"floating_network_id\": "
             "\"%s\", \"fixed_ip_address\": \"10.0.0.1\"}]}", env->ext,
             env->ext);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/floatingips");
    assert_int_equal(jlen(r->json, "floatingips"), before);
    apitest_resp_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_unassociated),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_network_refusals),
        cmocka_unit_test(test_associate_on_create),
        cmocka_unit_test(test_association_refusals),
        cmocka_unit_test(test_router_choice),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_move_between_flavors),
        cmocka_unit_test(test_router_flavor_change),
        cmocka_unit_test(test_capability),
        cmocka_unit_test(test_router_rules),
        cmocka_unit_test(test_bulk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
