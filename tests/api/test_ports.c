/* tests/api/test_ports.c: ports as a client sees them: defaults, every
 * attribute, fixed IPs, MAC addresses, filters, allowed address pairs,
 * port security, binding with the logger and linuxbridge drivers, the
 * policy between projects, delete, network deletion and bulk create.
 * Runs on both database engines, against one server configured with
 * [DEFAULT] host, a base_mac of our own, the logger and linuxbridge
 * mechanism drivers and one mapped physical network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"

#define P1 "11111111111111111111111111111111"
#define P2 "22222222222222222222222222222222"
#define HOST "compute-test-1"

static const char server_config[] =
    "[DEFAULT]\n"
    "host = " HOST "\n"
    "base_mac = fa:16:3f:00:00:00\n"
    "[ml2]\n"
    "mechanism_drivers = logger,linuxbridge\n"
    "[ml2_type_flat]\n"
    "flat_networks = *\n"
    "[ml2_type_vlan]\n"
    "network_vlan_ranges = physnet1:100:199\n"
    "[linux_bridge]\n"
    "physical_interface_mappings = physnet1:eth1\n";

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

/* ---- Helpers ---- */

/* Sends 'method' 'path' with a printf-formatted body as 'project' (NULL:
 * admin). */
static struct apitest_resp *call(struct apitest_server *, const char *method,
                                 const char *path, const char *project,
                                 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static struct apitest_resp *
call(struct apitest_server *srv, const char *method, const char *path,
     const char *project, const char *fmt, ...)
{
    char *body = NULL;

    if (fmt) {
        va_list args;
        va_start(args, fmt);
        if (vasprintf(&body, fmt, args) < 0) {
            abort();
        }
        va_end(args);
    }
    struct apitest_resp *r = api_call(srv, method, path, project, body);
    free(body);
    return r;
}

/* Creates a network owned by 'owner' (as that project, or as admin when
 * 'as_admin') with 'extra' attributes and returns its id (malloc'd). */
static char *
make_net(struct apitest_server *srv, const char *owner, bool as_admin,
         const char *extra)
{
    struct apitest_resp *r = call(srv, "POST", "/v2.0/networks",
                                  as_admin ? NULL : owner,
                                  "{\"network\": {\"name\": \"n\", "
                                  "\"project_id\": \"%s\"%s%s}}", owner,
                                  extra ? ", " : "", extra ? extra : "");
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    return id;
}

static char *
make_subnet(struct apitest_server *srv, const char *owner, const char *net,
            const char *cidr)
{
    struct apitest_resp *r = call(srv, "POST", "/v2.0/subnets", NULL,
                                  "{\"subnet\": {\"network_id\": \"%s\", "
                                  "\"cidr\": \"%s\", \"ip_version\": 4, "
                                  "\"project_id\": \"%s\"}}", net, cidr,
                                  owner);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "subnet/id"));
    apitest_resp_free(r);
    return id;
}

/* Creates a port on 'net' as 'project' with 'extra' attributes; asserts
 * 201 and returns the response. */
static struct apitest_resp *
make_port(struct apitest_server *srv, const char *project, const char *net,
          const char *extra)
{
    struct apitest_resp *r = call(srv, "POST", "/v2.0/ports", project,
                                  "{\"port\": {\"network_id\": \"%s\"%s%s}}",
                                  net, extra ? ", " : "", extra ? extra : "");
    assert_status(r, 201);
    return r;
}

static char *
make_port_id(struct apitest_server *srv, const char *project, const char *net,
             const char *extra)
{
    struct apitest_resp *r = make_port(srv, project, net, extra);
    char *id = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    return id;
}

static struct apitest_resp *
port_create(struct apitest_server *srv, const char *project, const char *net,
            const char *extra)
{
    return call(srv, "POST", "/v2.0/ports", project,
                "{\"port\": {\"network_id\": \"%s\"%s%s}}", net,
                extra ? ", " : "", extra ? extra : "");
}

static struct apitest_resp *
port_update(struct apitest_server *srv, const char *project, const char *id,
            const char *attrs)
{
    char path[128];
    snprintf(path, sizeof path, "/v2.0/ports/%s", id);
    return call(srv, "PUT", path, project, "{\"port\": {%s}}", attrs);
}

static struct apitest_resp *
port_get(struct apitest_server *srv, const char *project, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v2.0/ports/%s", id);
    return api_call(srv, "GET", path, project, NULL);
}

static long
port_delete(struct apitest_server *srv, const char *project, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v2.0/ports/%s", id);
    struct apitest_resp *r = api_call(srv, "DELETE", path, project, NULL);
    long status = r->status;
    apitest_resp_free(r);
    return status;
}

/* The number of ports a list as 'project' returns for query 'query'. */
static size_t
count_ports(struct apitest_server *srv, const char *project,
            const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/v2.0/ports?%s", query);
    struct apitest_resp *r = api_call(srv, "GET", path, project, NULL);
    assert_status(r, 200);
    size_t n = jlen(r->json, "ports");
    apitest_resp_free(r);
    return n;
}

static bool
is_hex2(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    return s[0] && s[1] && strchr(hex, s[0]) && strchr(hex, s[1]);
}

/* ---- Tests ---- */

static void
test_create_defaults(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    char *sub = make_subnet(srv, P1, net, "10.1.0.0/24");
    struct apitest_resp *r = make_port(srv, P1, net, NULL);
    yajl_val p = jpath(r->json, "port");

    assert_true(uuid_is_valid(jstr(p, "id")));
    assert_string_equal(jstr(p, "network_id"), net);
    assert_string_equal(jstr(p, "project_id"), P1);
    assert_string_equal(jstr(p, "tenant_id"), P1);
    assert_string_equal(jstr(p, "name"), "");
    assert_string_equal(jstr(p, "description"), "");
    assert_string_equal(jstr(p, "device_id"), "");
    assert_string_equal(jstr(p, "device_owner"), "");
    assert_string_equal(jstr(p, "status"), "DOWN");
    assert_true(YAJL_IS_TRUE(jpath(p, "admin_state_up")));
    assert_true(YAJL_IS_TRUE(jpath(p, "port_security_enabled")));
    assert_string_equal(jstr(p, "binding:vnic_type"), "normal");
    assert_int_equal(jint(p, "revision_number"), 0);
    assert_true(YAJL_IS_ARRAY(jpath(p, "tags")));
    assert_int_equal(jlen(p, "tags"), 0);
    assert_true(YAJL_IS_ARRAY(jpath(p, "allowed_address_pairs")));
    assert_int_equal(jlen(p, "allowed_address_pairs"), 0);
    assert_int_equal(strlen(jstr(p, "created_at")), 20);

    /* MAC: base_mac's first three octets, the rest random. */
    char mac[18];
    str_copy(mac, jstr(p, "mac_address"), sizeof mac);
    assert_int_equal(strlen(mac), 17);
    assert_true(str_starts_with(mac, "fa:16:3f:"));
    for (int i = 0; i < 6; i++) {
        assert_true(is_hex2(mac + 3 * i));
        assert_true(i == 5 || mac[3 * i + 2] == ':');
    }

    /* One address from the subnet. */
    assert_int_equal(jlen(p, "fixed_ips"), 1);
    assert_string_equal(jstr(p, "fixed_ips/0/subnet_id"), sub);
    assert_true(str_starts_with(jstr(p, "fixed_ips/0/ip_address"),
                                "10.1.0."));

    /* Binding attributes are the admin's to read. */
    assert_null(jpath(p, "binding:host_id"));
    assert_null(jpath(p, "binding:vif_type"));
    assert_null(jpath(p, "binding:vif_details"));
    assert_null(jpath(p, "binding:profile"));
    char *id = xstrdup(jstr(p, "id"));
    apitest_resp_free(r);

    r = port_get(srv, NULL, id);
    assert_status(r, 200);
    p = jpath(r->json, "port");
    assert_string_equal(jstr(p, "binding:host_id"), "");
    assert_string_equal(jstr(p, "binding:vif_type"), "unbound");
    assert_true(YAJL_IS_OBJECT(jpath(p, "binding:vif_details")));
    assert_true(YAJL_IS_OBJECT(jpath(p, "binding:profile")));
    assert_int_equal(jlen(p, "fixed_ips"), 1);
    apitest_resp_free(r);

    /* Two ports get different MACs and addresses. */
    r = make_port(srv, P1, net, NULL);
    assert_string_not_equal(jstr(r->json, "port/mac_address"), mac);
    apitest_resp_free(r);

    /* A network without subnets gives ports without addresses; a network
     * that does not exist is a 404; network_id is required. */
    char *net2 = make_net(srv, P1, false, NULL);
    r = make_port(srv, P1, net2, NULL);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 0);
    apitest_resp_free(r);
    r = port_create(srv, P1, "8b2d3c1e-0000-4000-8000-000000000000", NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/ports", P1, "{\"port\": {\"name\": \"x\"}}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = port_get(srv, P1, "8b2d3c1e-0000-4000-8000-000000000000");
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    free(id);
    free(sub);
    free(net);
    free(net2);
}

static void
test_every_attribute(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    char *sub = make_subnet(srv, P1, net, "10.2.0.0/24");
    struct apitest_resp *r = make_port(
        srv, P1, net,
        "\"name\": \"web\", \"description\": \"the web port\", "
        "\"admin_state_up\": false, \"device_id\": \"vm-1\", "
        "\"device_owner\": \"compute:nova\", "
        "\"mac_address\": \"FA:16:3E:AA:BB:CC\", "
        "\"binding:vnic_type\": \"direct\", "
        "\"port_security_enabled\": false, "
        "\"fixed_ips\": [{\"ip_address\": \"10.2.0.40\"}]");
    yajl_val p = jpath(r->json, "port");

    assert_string_equal(jstr(p, "name"), "web");
    assert_string_equal(jstr(p, "description"), "the web port");
    assert_true(YAJL_IS_FALSE(jpath(p, "admin_state_up")));
    assert_string_equal(jstr(p, "device_id"), "vm-1");
    assert_string_equal(jstr(p, "device_owner"), "compute:nova");
    assert_string_equal(jstr(p, "mac_address"), "fa:16:3e:aa:bb:cc");
    assert_string_equal(jstr(p, "binding:vnic_type"), "direct");
    assert_true(YAJL_IS_FALSE(jpath(p, "port_security_enabled")));
    assert_string_equal(jstr(p, "fixed_ips/0/ip_address"), "10.2.0.40");
    assert_string_equal(jstr(p, "fixed_ips/0/subnet_id"), sub);
    assert_string_equal(jstr(p, "status"), "DOWN");
    char *id = xstrdup(jstr(p, "id"));
    apitest_resp_free(r);

    /* Every writable attribute can change. */
    r = port_update(srv, P1, id,
                    "\"name\": \"web2\", \"description\": \"\", "
                    "\"admin_state_up\": true, \"device_id\": \"vm-2\", "
                    "\"device_owner\": \"compute:az2\", "
                    "\"binding:vnic_type\": \"normal\", "
                    "\"port_security_enabled\": true");
    assert_status(r, 200);
    p = jpath(r->json, "port");
    assert_string_equal(jstr(p, "name"), "web2");
    assert_string_equal(jstr(p, "description"), "");
    assert_true(YAJL_IS_TRUE(jpath(p, "admin_state_up")));
    assert_string_equal(jstr(p, "device_id"), "vm-2");
    assert_string_equal(jstr(p, "device_owner"), "compute:az2");
    assert_string_equal(jstr(p, "binding:vnic_type"), "normal");
    assert_true(YAJL_IS_TRUE(jpath(p, "port_security_enabled")));
    assert_int_equal(jint(p, "revision_number"), 1);
    assert_string_equal(jstr(p, "fixed_ips/0/ip_address"), "10.2.0.40");
    apitest_resp_free(r);

    /* What may not change, and bad values. */
    static const char *const bad[] = {
        "\"network_id\": \"8b2d3c1e-0000-4000-8000-000000000000\"",
        "\"status\": \"ACTIVE\"",
        "\"binding:vif_type\": \"ovs\"",
        "\"binding:vnic_type\": \"fast\"",
        "\"admin_state_up\": \"maybe\"",
        "\"mac_address\": \"00:00:00:00:00:00\"",
        "\"fixed_ips\": \"10.2.0.5\"",
        "\"fixed_ips\": [{\"ip_address\": \"10.2.0.500\"}]",
        "\"fixed_ips\": [{\"subnet_id\": \"nope\"}]",
        ("\"fixed_ips\": [{\"ip_address\": \"10.2.0.7\"}, "
         "{\"ip_address\": \"10.2.0.7\"}]"),
        "\"device_id\": 5",
        "\"foo\": 1",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        r = port_update(srv, NULL, id, bad[i]);
        if (r->status != 400) {
            fail_msg("%s: expected 400, got %ld: %s", bad[i], r->status,
                     r->body);
        }
        assert_neutron_error(r, 400, NULL);
        apitest_resp_free(r);
    }
    r = port_update(srv, NULL, id, "\"binding:vnic_type\": \"fast\"");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Invalid input for binding:vnic_type. Reason: "
                        "'fast' is not in ['normal', 'direct', 'macvtap', "
                        "'baremetal', 'direct-physical', 'virtio-forwarder', "
                        "'smart-nic', 'vdpa', 'accelerator-direct', "
                        "'accelerator-direct-physical', 'remote-managed'].");
    apitest_resp_free(r);
    r = port_update(srv, NULL, id, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.2.0.7\"}, {\"ip_address\": \"10.2.0.7\"}]");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Invalid input for fixed_ips. Reason: Duplicate IP "
                        "address '10.2.0.7'.");
    apitest_resp_free(r);

    /* Show with fields. */
    char path[200];
    snprintf(path, sizeof path, "/v2.0/ports/%s?fields=id&fields=fixed_ips",
             id);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jpath(r->json, "port")->u.object.len, 2);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.2.0.40");
    apitest_resp_free(r);
    free(id);
    free(sub);
    free(net);
}

static void
test_fixed_ips_requests(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    char *sub = make_subnet(srv, P1, net, "10.3.0.0/24");
    char *tiny = make_subnet(srv, P1, net, "10.3.1.0/30");
    char body[300];
    struct apitest_resp *r;

    /* A given address. */
    r = make_port(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                  "\"10.3.0.50\"}]");
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.3.0.50");
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/subnet_id"), sub);
    apitest_resp_free(r);

    /* A subnet only. */
    snprintf(body, sizeof body, "\"fixed_ips\": [{\"subnet_id\": \"%s\"}]",
             tiny);
    r = make_port(srv, P1, net, body);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 1);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/subnet_id"), tiny);
    assert_true(str_starts_with(jstr(r->json, "port/fixed_ips/0/ip_address"),
                                "10.3.1."));
    apitest_resp_free(r);

    /* Both, and an address and a subnet that match. */
    snprintf(body, sizeof body, "\"fixed_ips\": [{\"subnet_id\": \"%s\", "
             "\"ip_address\": \"10.3.0.51\"}]", sub);
    r = make_port(srv, P1, net, body);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.3.0.51");
    apitest_resp_free(r);

    /* Taken: 409; outside every subnet: 400; the /30 is full: 409. */
    r = port_create(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.3.0.50\"}]");
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated");
    apitest_resp_free(r);
    r = port_create(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.9.0.5\"}]");
    assert_neutron_error(r, 400, "InvalidIpForNetwork");
    apitest_resp_free(r);
    snprintf(body, sizeof body, "\"fixed_ips\": [{\"subnet_id\": \"%s\"}]",
             tiny);
    r = port_create(srv, P1, net, body);
    assert_neutron_error(r, 409, "IpAddressGenerationFailure");
    apitest_resp_free(r);

    /* An empty list: no address. */
    r = make_port(srv, P1, net, "\"fixed_ips\": []");
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 0);
    apitest_resp_free(r);

    /* Refused requests leave nothing behind: 4 ports. */
    snprintf(body, sizeof body, "network_id=%s", net);
    assert_int_equal(count_ports(srv, P1, body), 4);
    free(tiny);
    free(sub);
    free(net);
}

static void
test_update_fixed_ips(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    char *sub = make_subnet(srv, P1, net, "10.4.0.0/24");
    char *id = make_port_id(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                            "\"10.4.0.10\"}]");
    struct apitest_resp *r;

    r = port_update(srv, P1, id, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.4.0.11\"}, {\"ip_address\": \"10.4.0.12\"}]");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.4.0.11");
    assert_string_equal(jstr(r->json, "port/fixed_ips/1/ip_address"),
                        "10.4.0.12");
    assert_int_equal(jint(r->json, "port/revision_number"), 1);
    apitest_resp_free(r);

    /* The old address is free again; the new ones are taken. */
    r = make_port(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                  "\"10.4.0.10\"}]");
    char *other = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    r = port_create(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.4.0.12\"}]");
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated");
    apitest_resp_free(r);

    /* A failed update changes nothing (atomic). */
    r = port_update(srv, P1, id, "\"fixed_ips\": [{\"ip_address\": "
                    "\"10.4.0.13\"}, {\"ip_address\": \"10.4.0.10\"}]");
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated");
    apitest_resp_free(r);
    r = port_get(srv, P1, id);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.4.0.11");
    assert_int_equal(jint(r->json, "port/revision_number"), 1);
    apitest_resp_free(r);
    r = make_port(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                  "\"10.4.0.13\"}]");
    apitest_resp_free(r);

    /* Dropping every address. */
    r = port_update(srv, P1, id, "\"fixed_ips\": []");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 0);
    apitest_resp_free(r);
    free(other);
    free(id);
    free(sub);
    free(net);
}

static void
test_mac_addresses(void **state)
{
    struct apitest_server *srv = *state;
    char *net1 = make_net(srv, P1, false, NULL);
    char *net2 = make_net(srv, P1, false, NULL);
    struct apitest_resp *r;

    char *a = make_port_id(srv, P1, net1,
                           "\"mac_address\": \"fa:16:3e:00:00:01\"");
    r = port_create(srv, P1, net1, "\"mac_address\": \"FA-16-3E-00-00-01\"");
    assert_neutron_error(r, 409, "MacAddressInUse");
    char expect[200];
    snprintf(expect, sizeof expect, "Unable to complete operation for "
             "network %s. The mac address fa:16:3e:00:00:01 is in use.", net1);
    assert_string_equal(jstr(r->json, "NeutronError/message"), expect);
    apitest_resp_free(r);

    /* The same MAC on another network is fine. */
    char *b = make_port_id(srv, P1, net2,
                           "\"mac_address\": \"fa:16:3e:00:00:01\"");
    r = port_create(srv, P1, net1, "\"mac_address\": \"fa:16:3e:00:00\"");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    /* Only an admin changes a MAC, and not to one in use. */
    char *c = make_port_id(srv, P1, net1, NULL);
    r = port_update(srv, P1, c, "\"mac_address\": \"fa:16:3e:00:00:02\"");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, NULL, c, "\"mac_address\": \"fa:16:3e:00:00:01\"");
    assert_neutron_error(r, 409, "MacAddressInUse");
    apitest_resp_free(r);
    r = port_update(srv, NULL, c, "\"mac_address\": \"fa:16:3e:00:00:02\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/mac_address"),
                        "fa:16:3e:00:00:02");
    apitest_resp_free(r);

    /* Filter by MAC. */
    char q[200];
    snprintf(q, sizeof q, "mac_address=fa:16:3e:00:00:01&network_id=%s",
             net1);
    assert_int_equal(count_ports(srv, P1, q), 1);
    assert_int_equal(count_ports(srv, P1, "mac_address=fa:16:3e:00:00:01"),
                     2);
    free(a);
    free(b);
    free(c);
    free(net1);
    free(net2);
}

static void
test_filters(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P2, false, NULL);
    char *sub = make_subnet(srv, P2, net, "10.5.0.0/24");
    char *sub6 = make_subnet(srv, P2, net, "10.5.1.0/24");
    char q[300];
    char *ids[4];

    ids[0] = make_port_id(srv, P2, net, "\"device_id\": \"vm-a\", "
                          "\"device_owner\": \"compute:nova\", "
                          "\"fixed_ips\": [{\"ip_address\": \"10.5.0.5\"}]");
    ids[1] = make_port_id(srv, P2, net, "\"device_id\": \"vm-b\", "
                          "\"fixed_ips\": [{\"ip_address\": \"10.5.0.55\"}]");
    ids[2] = make_port_id(srv, P2, net, "\"fixed_ips\": [{\"ip_address\": "
                          "\"10.5.1.5\"}]");
    ids[3] = make_port_id(srv, P2, net, "\"fixed_ips\": []");

    /* Filters on the port's own attributes; fixed_ips filters:
     * ip_address, ip_address_substr (subnet_id below). */
    static const struct {
        const char *query;
        size_t n;
    } filters[] = {
        { "", 4 },
        { "device_id=vm-a", 1 },
        { "device_id=vm-a&device_id=vm-b", 2 },
        { "device_id=", 2 },
        { "device_owner=compute:nova", 1 },
        { "device_id=vm-a&device_owner=", 0 },
        { "fixed_ips=ip_address%3D10.5.0.5", 1 },
        { "fixed_ips=ip_address=10.5.0.5&fixed_ips=ip_address=10.5.1.5", 2 },
        { "fixed_ips=ip_address_substr=10.5.0.5", 2 },
        { "fixed_ips=ip_address_substr=.5", 3 },
        { "fixed_ips=ip_address_substr=%25", 0 },
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        size_t n = count_ports(srv, P2, filters[i].query);
        if (n != filters[i].n) {
            fail_msg("?%s: %zu ports, expected %zu", filters[i].query, n,
                     filters[i].n);
        }
    }
    snprintf(q, sizeof q, "fixed_ips=subnet_id=%s", sub);
    assert_int_equal(count_ports(srv, P2, q), 2);
    snprintf(q, sizeof q, "fixed_ips=subnet_id=%s&"
             "fixed_ips=ip_address=10.5.1.5", sub);
    assert_int_equal(count_ports(srv, P2, q), 0);
    snprintf(q, sizeof q, "fixed_ips=subnet_id=%s&"
             "fixed_ips=ip_address=10.5.0.55", sub);
    assert_int_equal(count_ports(srv, P2, q), 1);

    struct apitest_resp *r = api_call(srv, "GET",
                                      "/v2.0/ports?fixed_ips=mac%3Dx", P2,
                                      NULL);
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/ports?binding:host_id=x", P2, NULL);
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    /* One query loads the children of a whole page, in order. */
    snprintf(q, sizeof q, "/v2.0/ports?network_id=%s&sort_key=device_id&"
             "sort_dir=desc&limit=2", net);
    r = api_call(srv, "GET", q, P2, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "ports"), 2);
    assert_string_equal(jstr(r->json, "ports/0/device_id"), "vm-b");
    assert_string_equal(jstr(r->json, "ports/0/fixed_ips/0/ip_address"),
                        "10.5.0.55");
    assert_string_equal(jstr(r->json, "ports/1/fixed_ips/0/ip_address"),
                        "10.5.0.5");
    assert_int_equal(jlen(r->json, "ports_links"), 1);
    apitest_resp_free(r);
    for (int i = 0; i < 4; i++) {
        free(ids[i]);
    }
    free(sub);
    free(sub6);
    free(net);
}

static void
test_allowed_address_pairs(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    struct apitest_resp *r;

    r = make_port(srv, P1, net, "\"mac_address\": \"fa:16:3e:00:01:01\", "
                  "\"allowed_address_pairs\": [{\"ip_address\": "
                  "\"10.6.0.9\"}, {\"ip_address\": \"10.6.1.0/24\", "
                  "\"mac_address\": \"fa:16:3e:00:01:02\"}]");
    yajl_val p = jpath(r->json, "port");
    assert_int_equal(jlen(p, "allowed_address_pairs"), 2);
    assert_string_equal(jstr(p, "allowed_address_pairs/0/ip_address"),
                        "10.6.0.9");
    assert_string_equal(jstr(p, "allowed_address_pairs/0/mac_address"),
                        "fa:16:3e:00:01:01");
    assert_string_equal(jstr(p, "allowed_address_pairs/1/ip_address"),
                        "10.6.1.0/24");
    assert_string_equal(jstr(p, "allowed_address_pairs/1/mac_address"),
                        "fa:16:3e:00:01:02");
    char *id = xstrdup(jstr(p, "id"));
    apitest_resp_free(r);
    r = port_get(srv, P1, id);
    assert_int_equal(jlen(r->json, "port/allowed_address_pairs"), 2);
    assert_string_equal(jstr(r->json,
                             "port/allowed_address_pairs/1/mac_address"),
                        "fa:16:3e:00:01:02");
    apitest_resp_free(r);

    /* Replace, then clear with null and with []. */
    r = port_update(srv, P1, id, "\"allowed_address_pairs\": "
                    "[{\"ip_address\": \"2001:db8::1\"}]");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/allowed_address_pairs"), 1);
    assert_string_equal(jstr(r->json,
                             "port/allowed_address_pairs/0/ip_address"),
                        "2001:db8::1");
    apitest_resp_free(r);
    r = port_update(srv, P1, id, "\"allowed_address_pairs\": null");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/allowed_address_pairs"), 0);
    apitest_resp_free(r);
    r = port_update(srv, P1, id, "\"allowed_address_pairs\": "
                    "[{\"ip_address\": \"10.6.0.1\"}]");
    apitest_resp_free(r);
    r = port_update(srv, P1, id, "\"allowed_address_pairs\": []");
    assert_int_equal(jlen(r->json, "port/allowed_address_pairs"), 0);
    apitest_resp_free(r);

    static const struct {
        const char *pairs, *type, *message;
    } bad[] = {
        { "[{\"mac_address\": \"fa:16:3e:00:00:01\"}]",
          "AllowedAddressPairsMissingIP",
          "AllowedAddressPair must contain ip_address" },
        { "[{\"ip_address\": \"10.0.0.300\"}]", "HTTPBadRequest",
          "'10.0.0.300' is not a valid IP address" },
        { "[{\"ip_address\": \"10.0.0.0/33\"}]", "HTTPBadRequest",
          "'10.0.0.0/33' is not a valid IP subnet" },
        { "[{\"ip_address\": \"10.0.0.1\", \"mac_address\": \"zz\"}]",
          "HTTPBadRequest", "'zz' is not a valid MAC address" },
        { "[{\"ip_address\": \"10.0.0.1\", \"foo\": 1}]", "HTTPBadRequest",
          "Unrecognized attribute(s) 'foo'" },
        { "[{\"ip_address\": \"10.0.0.1\"}, {\"ip_address\": \"10.0.0.1\"}]",
          "DuplicateAddressPairInRequest",
          "Request contains duplicate address pair: mac_address None "
          "ip_address 10.0.0.1." },
        { "[{\"ip_address\": \"224.0.0.5\"}]", "HTTPBadRequest", NULL },
        { "{\"ip_address\": \"10.0.0.1\"}", "HTTPBadRequest",
          "Allowed address pairs must be a list." },
        { "[{\"ip_address\": \"10.0.0.1\"}, {\"ip_address\": \"10.0.0.2\"}, "
          "{\"ip_address\": \"10.0.0.3\"}, {\"ip_address\": \"10.0.0.4\"}, "
          "{\"ip_address\": \"10.0.0.5\"}, {\"ip_address\": \"10.0.0.6\"}, "
          "{\"ip_address\": \"10.0.0.7\"}, {\"ip_address\": \"10.0.0.8\"}, "
          "{\"ip_address\": \"10.0.0.9\"}, {\"ip_address\": \"10.0.0.10\"}, "
          "{\"ip_address\": \"10.0.0.11\"}]", "AllowedAddressPairExhausted",
          "The number of allowed address pair exceeds the maximum 10." },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char attrs[1024];
        snprintf(attrs, sizeof attrs, "\"allowed_address_pairs\": %s",
                 bad[i].pairs);
        r = port_create(srv, P1, net, attrs);
        if (r->status != 400) {
            fail_msg("%s: expected 400, got %ld: %s", bad[i].pairs,
                     r->status, r->body);
        }
        assert_neutron_error(r, 400, bad[i].type);
        if (bad[i].message) {
            assert_string_equal(jstr(r->json, "NeutronError/message"),
                                bad[i].message);
        }
        apitest_resp_free(r);
    }
    /* A pair equal to another once the port's MAC fills it in. */
    r = port_create(srv, P1, net, "\"mac_address\": \"fa:16:3e:00:01:05\", "
                    "\"allowed_address_pairs\": [{\"ip_address\": "
                    "\"10.0.0.1\"}, {\"ip_address\": \"10.0.0.1\", "
                    "\"mac_address\": \"fa:16:3e:00:01:05\"}]");
    assert_neutron_error(r, 400, "DuplicateAddressPairInRequest");
    apitest_resp_free(r);
    free(id);
    free(net);
}

static void
test_port_security(void **state)
{
    struct apitest_server *srv = *state;
    char *open_net = make_net(srv, P1, false,
                              "\"port_security_enabled\": false");
    char *net = make_net(srv, P1, false, NULL);
    struct apitest_resp *r;

    /* Ports default to their network's setting. */
    r = make_port(srv, P1, open_net, NULL);
    assert_true(YAJL_IS_FALSE(jpath(r->json, "port/port_security_enabled")));
    apitest_resp_free(r);
    r = make_port(srv, P1, open_net, "\"port_security_enabled\": true");
    assert_true(YAJL_IS_TRUE(jpath(r->json, "port/port_security_enabled")));
    apitest_resp_free(r);

    /* Address pairs need port security. */
    static const char pair[] = "\"allowed_address_pairs\": "
                               "[{\"ip_address\": \"10.7.0.1\"}]";
    r = port_create(srv, P1, open_net, pair);
    assert_neutron_error(r, 409, "AddressPairAndPortSecurityRequired");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Port Security must be enabled in order to have "
                        "allowed address pairs on a port.");
    apitest_resp_free(r);
    r = port_create(srv, P1, net, "\"port_security_enabled\": false, "
                    "\"allowed_address_pairs\": [{\"ip_address\": "
                    "\"10.7.0.1\"}]");
    assert_neutron_error(r, 409, "AddressPairAndPortSecurityRequired");
    apitest_resp_free(r);

    char *id = make_port_id(srv, P1, net, pair);
    r = port_update(srv, P1, id, "\"port_security_enabled\": false");
    assert_neutron_error(r, 409, "AddressPairAndPortSecurityRequired");
    apitest_resp_free(r);
    r = port_update(srv, P1, id, "\"port_security_enabled\": false, "
                    "\"allowed_address_pairs\": []");
    assert_status(r, 200);
    assert_true(YAJL_IS_FALSE(jpath(r->json, "port/port_security_enabled")));
    apitest_resp_free(r);
    r = port_update(srv, P1, id, pair);
    assert_neutron_error(r, 409, "AddressPairAndPortSecurityRequired");
    apitest_resp_free(r);
    r = port_update(srv, P1, id, "\"port_security_enabled\": true, "
                    "\"allowed_address_pairs\": [{\"ip_address\": "
                    "\"10.7.0.1\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);
    free(id);
    free(net);
    free(open_net);
}

static void
test_binding(void **state)
{
    struct apitest_server *srv = *state;
    char *vlan = make_net(srv, P1, true,
                          "\"provider:network_type\": \"vlan\", "
                          "\"provider:physical_network\": \"physnet1\", "
                          "\"provider:segmentation_id\": 150");
    char *unmapped = make_net(srv, P1, true,
                              "\"provider:network_type\": \"flat\", "
                              "\"provider:physical_network\": \"physnet9\"");
    char bridge[32];
    struct apitest_resp *r;

    snprintf(bridge, sizeof bridge, "brq%.11s", vlan);

    /* Bound at create on our host: bridge, ACTIVE. */
    r = make_port(srv, NULL, vlan, "\"project_id\": \"" P1 "\", "
                  "\"device_owner\": \"compute:nova\", "
                  "\"binding:host_id\": \"" HOST "\", "
                  "\"binding:profile\": {\"pci_slot\": \"0000:01:00.1\", "
                  "\"n\": [1, 2.5, true, null]}");
    yajl_val p = jpath(r->json, "port");
    assert_string_equal(jstr(p, "binding:host_id"), HOST);
    assert_string_equal(jstr(p, "binding:vif_type"), "bridge");
    assert_string_equal(jstr(p, "binding:vif_details/bridge_name"), bridge);
    assert_true(YAJL_IS_TRUE(jpath(p, "binding:vif_details/port_filter")));
    assert_string_equal(jstr(p, "binding:vif_details/connectivity"), "l2");
    assert_string_equal(jstr(p, "binding:profile/pci_slot"),
                        "0000:01:00.1");
    assert_int_equal(jlen(p, "binding:profile/n"), 4);
    assert_string_equal(jstr(p, "status"), "ACTIVE");
    char *bound = xstrdup(jstr(p, "id"));
    apitest_resp_free(r);

    /* The owner sees the status, not the binding. */
    r = port_get(srv, P1, bound);
    assert_status(r, 200);
    p = jpath(r->json, "port");
    assert_string_equal(jstr(p, "status"), "ACTIVE");
    assert_null(jpath(p, "binding:host_id"));
    assert_null(jpath(p, "binding:vif_type"));
    assert_null(jpath(p, "binding:vif_details"));
    assert_null(jpath(p, "binding:profile"));
    assert_string_equal(jstr(p, "binding:vnic_type"), "normal");
    apitest_resp_free(r);

    /* A bound port's vnic_type and MAC do not change; admin down is
     * DOWN. */
    r = port_update(srv, P1, bound, "\"binding:vnic_type\": \"direct\"");
    assert_neutron_error(r, 409, "PortInUse");
    apitest_resp_free(r);
    r = port_update(srv, NULL, bound,
                    "\"mac_address\": \"fa:16:3e:0a:0b:0c\"");
    assert_neutron_error(r, 409, "PortBound");
    apitest_resp_free(r);
    r = port_update(srv, P1, bound, "\"admin_state_up\": false");
    assert_string_equal(jstr(r->json, "port/status"), "DOWN");
    apitest_resp_free(r);
    r = port_update(srv, P1, bound, "\"admin_state_up\": true");
    assert_string_equal(jstr(r->json, "port/status"), "ACTIVE");
    apitest_resp_free(r);

    /* Admins filter by host. */
    assert_int_equal(count_ports(srv, NULL, "binding:host_id=" HOST), 1);

    /* An unknown host, an unmappable segment: binding_failed, DOWN. */
    r = make_port(srv, NULL, vlan, "\"project_id\": \"" P1 "\", "
                  "\"binding:host_id\": \"elsewhere\"");
    assert_string_equal(jstr(r->json, "port/binding:vif_type"),
                        "binding_failed");
    assert_string_equal(jstr(r->json, "port/status"), "DOWN");
    char *moved = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    r = make_port(srv, NULL, unmapped, "\"project_id\": \"" P1 "\", "
                  "\"binding:host_id\": \"" HOST "\"");
    assert_string_equal(jstr(r->json, "port/binding:vif_type"),
                        "binding_failed");
    apitest_resp_free(r);

    /* Moving it to our host binds it; clearing the host unbinds it. */
    r = port_update(srv, NULL, moved, "\"binding:host_id\": \"" HOST "\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/binding:vif_type"), "bridge");
    assert_string_equal(jstr(r->json, "port/status"), "ACTIVE");
    apitest_resp_free(r);
    r = port_update(srv, NULL, moved, "\"binding:host_id\": \"\"");
    assert_string_equal(jstr(r->json, "port/binding:vif_type"), "unbound");
    assert_string_equal(jstr(r->json, "port/status"), "DOWN");
    apitest_resp_free(r);

    /* vnic_type direct: linuxbridge does not bind it. */
    r = port_update(srv, P1, moved, "\"binding:vnic_type\": \"direct\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/binding:vnic_type"), "direct");
    apitest_resp_free(r);
    r = port_update(srv, NULL, moved, "\"binding:host_id\": \"" HOST "\"");
    assert_string_equal(jstr(r->json, "port/binding:vif_type"),
                        "binding_failed");
    apitest_resp_free(r);
    r = port_update(srv, P1, moved, "\"binding:vnic_type\": \"normal\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = port_get(srv, NULL, moved);
    assert_string_equal(jstr(r->json, "port/binding:vif_type"), "bridge");
    apitest_resp_free(r);

    /* Non-admins may not set the host or the profile. */
    r = make_port(srv, P1, vlan, NULL);
    char *mine = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    r = port_create(srv, P1, vlan, "\"binding:host_id\": \"" HOST "\"");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, P1, mine, "\"binding:host_id\": \"" HOST "\"");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, P1, mine, "\"binding:profile\": {}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, P1, mine, "\"binding:vnic_type\": \"macvtap\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/binding:vnic_type"), "macvtap");
    apitest_resp_free(r);
    r = port_update(srv, NULL, mine, "\"binding:profile\": [1]");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    /* The logger driver saw it all, in order. */
    char *log = apitest_read_log(srv);
    char line[200];
    snprintf(line, sizeof line, "logger: create_port_precommit %s\n", bound);
    const char *pre = strstr(log, line);
    assert_non_null(pre);
    snprintf(line, sizeof line, "logger: create_port_postcommit %s\n", bound);
    const char *post = strstr(log, line);
    assert_non_null(post);
    assert_true(pre < post);
    snprintf(line, sizeof line, "logger: bind_port %s host " HOST
             " vnic_type normal\n", bound);
    assert_non_null(strstr(log, line));
    snprintf(line, sizeof line, "logger: update_port_precommit %s\n", moved);
    assert_non_null(strstr(log, line));
    snprintf(line, sizeof line, "logger: update_port_postcommit %s\n", moved);
    assert_non_null(strstr(log, line));
    snprintf(line, sizeof line, "logger: create_network_precommit %s\n",
             vlan);
    assert_non_null(strstr(log, line));
    free(log);

    assert_int_equal(port_delete(srv, P1, bound), 204);
    log = apitest_read_log(srv);
    snprintf(line, sizeof line, "logger: delete_port_precommit %s\n", bound);
    assert_non_null(strstr(log, line));
    snprintf(line, sizeof line, "logger: delete_port_postcommit %s\n", bound);
    assert_non_null(strstr(log, line));
    free(log);
    free(mine);
    free(moved);
    free(bound);
    free(unmapped);
    free(vlan);
}

static void
test_two_projects(void **state)
{
    struct apitest_server *srv = *state;
    char *private = make_net(srv, P1, false, NULL);
    char *shared = make_net(srv, P1, true, "\"shared\": true");
    char *external = make_net(srv, P1, true, "\"router:external\": true");
    char *sub = make_subnet(srv, P1, shared, "10.8.0.0/24");
    char body[300];
    struct apitest_resp *r;

    /* P2 cannot see P1's private network: 404; may use the shared one. */
    r = port_create(srv, P2, private, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = port_create(srv, P2, external, NULL);
    assert_neutron_error(r, 403, "HTTPForbidden");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Tenant " P2 " not allowed to create port on this "
                        "network");
    apitest_resp_free(r);
    snprintf(body, sizeof body, "\"fixed_ips\": [{\"subnet_id\": \"%s\"}]",
             sub);
    r = make_port(srv, P2, shared, body);
    assert_string_equal(jstr(r->json, "port/project_id"), P2);
    assert_true(str_starts_with(jstr(r->json, "port/fixed_ips/0/ip_address"),
                                "10.8.0."));
    char *theirs = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);

    /* What only the network's owner may choose. */
    static const char *const owner_only[] = {
        "\"mac_address\": \"fa:16:3e:00:08:01\"",
        "\"fixed_ips\": [{\"ip_address\": \"10.8.0.77\"}]",
        "\"port_security_enabled\": true",
        "\"allowed_address_pairs\": []",
        "\"device_owner\": \"network:dhcp\"",
    };
    for (size_t i = 0; i < ARRAY_SIZE(owner_only); i++) {
        r = port_create(srv, P2, shared, owner_only[i]);
        if (r->status != 403) {
            fail_msg("%s: expected 403, got %ld: %s", owner_only[i],
                     r->status, r->body);
        }
        assert_neutron_error(r, 403, "PolicyNotAuthorized");
        apitest_resp_free(r);
    }
    r = port_update(srv, P2, theirs, "\"fixed_ips\": []");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, P2, theirs, "\"device_owner\": \"network:dhcp\"");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = port_update(srv, P2, theirs, "\"name\": \"mine\", "
                    "\"device_owner\": \"compute:nova\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    /* The owner may, on its own network; and a project may not create
     * for another one. */
    r = make_port(srv, P1, shared, owner_only[1]);
    apitest_resp_free(r);
    r = port_create(srv, P2, shared, "\"project_id\": \"" P1 "\"");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    /* Visibility: P1 does not see P2's port on its own private network
     * (there is none), P2 never sees P1's ports; P1 owns the shared
     * network and so sees P2's port on it. */
    char *p1port = make_port_id(srv, P1, private, NULL);
    r = port_get(srv, P2, p1port);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    r = port_update(srv, P2, p1port, "\"name\": \"x\"");
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    assert_int_equal(port_delete(srv, P2, p1port), 404);
    snprintf(body, sizeof body, "network_id=%s", private);
    assert_int_equal(count_ports(srv, P2, body), 0);
    snprintf(body, sizeof body, "network_id=%s", shared);
    assert_int_equal(count_ports(srv, P2, body), 1);
    assert_int_equal(count_ports(srv, P1, body), 2);
    r = port_get(srv, P1, theirs);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/name"), "mine");
    apitest_resp_free(r);

    /* The network's owner may delete, not update, the other's port. */
    r = port_update(srv, P1, theirs, "\"name\": \"x\"");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    assert_int_equal(port_delete(srv, P1, theirs), 204);
    free(theirs);
    free(p1port);
    free(sub);
    free(shared);
    free(external);
    free(private);
}

/* Pages of ports as a network's owner: its own ports and other projects'
 * ports on its networks (projects ordered before and after it), in every
 * page size and order, with markers and page_reverse, are exactly the
 * ports it may see, each once, in order.  The server reads such a page as
 * a union of index ranges (l2_port_def.visible_parts); the expected list
 * here is the admin's list filtered by Neutron's rule. */
/* Projects of this test alone: its lists need no filter (a filtered list
 * is read otherwise). */
#define Q1 "44444444444444444444444444444444"
#define Q2 "55555555555555555555555555555555"
#define Q3 "66666666666666666666666666666666"

struct seen_port {
    char id[40], name[16], project_id[40], network_id[40];
};

static int sort_desc_name;

static int
cmp_seen(const void *a_, const void *b_)
{
    const struct seen_port *a = a_, *b = b_;
    int c = sort_desc_name ? -strcmp(a->name, b->name) : 0;
    return c ? c : (sort_desc_name ? -1 : 1) * strcmp(a->id, b->id);
}

/* GET 'path' as 'project' (NULL: admin): the ports into 'out'. */
static size_t
list_seen(struct apitest_server *srv, const char *project, const char *path,
          struct seen_port *out, size_t cap)
{
    static const char *const fields[] = {
        "id", "name", "project_id", "network_id",
    };
    struct apitest_resp *r = api_call(srv, "GET", path, project, NULL);
    assert_status(r, 200);
    size_t n = jlen(r->json, "ports");
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char *dst[] = { out[i].id, out[i].name, out[i].project_id,
                        out[i].network_id };
        size_t size[] = { sizeof out[i].id, sizeof out[i].name,
                          sizeof out[i].project_id,
                          sizeof out[i].network_id };
        for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
            char p[40];
            snprintf(p, sizeof p, "ports/%zu/%s", i, fields[f]);
            str_copy(dst[f], jstr(r->json, p), size[f]);
        }
    }
    apitest_resp_free(r);
    return n;
}

static void
test_paged_visibility(void **state)
{
    struct apitest_server *srv = *state;
    /* Q2 owns net2, Q1 and Q3 have ports on it; Q1 owns net1, Q2 and Q3
     * have ports on it. */
    char *net1 = make_net(srv, Q1, true, "\"shared\": true");
    char *net2 = make_net(srv, Q2, true, "\"shared\": true");
    static const struct {
        const char *project;
        int net;
        int n;
    } plan[] = {
        { Q1, 1, 4 }, { Q2, 1, 3 }, { Q3, 1, 2 },
        { Q2, 2, 3 }, { Q1, 2, 2 }, { Q3, 2, 1 },
    };
    int k = 0;
    for (size_t i = 0; i < ARRAY_SIZE(plan); i++) {
        for (int j = 0; j < plan[i].n; j++, k++) {
            char extra[64];
            /* Names repeat so that the id breaks ties. */
            snprintf(extra, sizeof extra, "\"name\": \"n%d\"", (k * 7) % 5);
            free(make_port_id(srv, plan[i].project,
                              plan[i].net == 1 ? net1 : net2, extra));
        }
    }
    /* The admin sees the other tests' ports too. */
    char nets[160], path[400];
    snprintf(nets, sizeof nets, "network_id=%s&network_id=%s", net1, net2);
    struct seen_port all[32], want[32], got[32];
    snprintf(path, sizeof path, "/v2.0/ports?%s", nets);
    size_t n_all = list_seen(srv, NULL, path, all, ARRAY_SIZE(all));
    assert_int_equal(n_all, 15);

    static const char *const viewers[] = { Q1, Q2 };
    for (size_t v = 0; v < ARRAY_SIZE(viewers); v++) {
        const char *my_net = v == 0 ? net1 : net2;
        for (sort_desc_name = 0; sort_desc_name < 2; sort_desc_name++) {
            /* Expected: the viewer's own ports and those on its network. */
            size_t n_want = 0;
            for (size_t i = 0; i < n_all; i++) {
                if (!strcmp(all[i].project_id, viewers[v])
                    || !strcmp(all[i].network_id, my_net)) {
                    want[n_want++] = all[i];
                }
            }
            qsort(want, n_want, sizeof *want, cmp_seen);
            assert_int_equal(n_want, v == 0 ? 11 : 9);
            const char *order = sort_desc_name
                                ? "&sort_key=name&sort_dir=desc&sort_key=id"
                                  "&sort_dir=desc" : "";
            for (size_t limit = 1; limit <= 5; limit++) {
                size_t n_got = 0;
                char marker[48] = "";
                for (;;) {
                    snprintf(path, sizeof path, "/v2.0/ports?limit=%zu%s%s%s",
                             limit, order, *marker ? "&marker=" : "",
                             marker);
                    size_t n = list_seen(srv, viewers[v], path,
                                         got + n_got,
                                         ARRAY_SIZE(got) - n_got);
                    assert_true(n <= limit);
                    n_got += n;
                    if (n < limit) {
                        break;
                    }
                    snprintf(marker, sizeof marker, "%s", got[n_got - 1].id);
                }
                assert_int_equal(n_got, n_want);
                for (size_t i = 0; i < n_want; i++) {
                    assert_string_equal(got[i].id, want[i].id);
                }
            }
            /* The page before the 6th: the 3rd to the 5th, in order. */
            snprintf(path, sizeof path, "/v2.0/ports?limit=3%s&marker=%s"
                     "&page_reverse=True", order, want[5].id);
            assert_int_equal(list_seen(srv, viewers[v], path, got,
                                       ARRAY_SIZE(got)), 3);
            for (size_t i = 0; i < 3; i++) {
                assert_string_equal(got[i].id, want[2 + i].id);
            }
        }
    }
    free(net1);
    free(net2);
}

static void
test_delete(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P1, false, NULL);
    char *sub = make_subnet(srv, P1, net, "10.9.0.0/24");
    char *id = make_port_id(srv, P1, net, "\"fixed_ips\": [{\"ip_address\": "
                            "\"10.9.0.20\"}], \"allowed_address_pairs\": "
                            "[{\"ip_address\": \"10.9.9.9\"}]");
    char path[128];
    struct apitest_resp *r;

    assert_int_equal(port_delete(srv, P1, id), 204);
    r = port_get(srv, P1, id);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    assert_int_equal(port_delete(srv, P1, id), 404);

    /* Its address is free again. */
    char *again = make_port_id(srv, P1, net, "\"fixed_ips\": "
                               "[{\"ip_address\": \"10.9.0.20\"}]");

    /* A network with ports cannot go; one with only DHCP ports can. */
    snprintf(path, sizeof path, "/v2.0/networks/%s", net);
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_neutron_error(r, 409, "NetworkInUse");
    char expect[200];
    snprintf(expect, sizeof expect, "Unable to complete operation on network "
             "%s. There are one or more ports still in use on the network.",
             net);
    assert_string_equal(jstr(r->json, "NeutronError/message"), expect);
    apitest_resp_free(r);
    assert_int_equal(port_delete(srv, P1, again), 204);
    char *dhcp = make_port_id(srv, P1, net, "\"device_owner\": "
                              "\"network:dhcp\"");
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = port_get(srv, NULL, dhcp);
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    free(dhcp);
    free(again);
    free(id);
    free(sub);
    free(net);
}

static void
test_bulk_create(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, P2, false, NULL);
    char *sub = make_subnet(srv, P2, net, "10.10.0.0/24");
    char q[100];
    struct apitest_resp *r;

    snprintf(q, sizeof q, "network_id=%s", net);

    /* One bad item: none is created. */
    r = call(srv, "POST", "/v2.0/ports", P2,
             "{\"ports\": [{\"network_id\": \"%s\", \"name\": \"a\"}, "
             "{\"network_id\": \"%s\", \"fixed_ips\": [{\"ip_address\": "
             "\"10.11.0.1\"}]}]}", net, net);
    assert_neutron_error(r, 400, "InvalidIpForNetwork");
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/ports", P2,
             "{\"ports\": [{\"network_id\": \"%s\", \"fixed_ips\": "
             "[{\"ip_address\": \"10.10.0.9\"}]}, {\"network_id\": \"%s\", "
             "\"fixed_ips\": [{\"ip_address\": \"10.10.0.9\"}]}]}", net, net);
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated");
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/ports", P2,
             "{\"ports\": [{\"network_id\": \"%s\"}, {\"network_id\": \"%s\", "
             "\"mac_address\": 5}]}", net, net);
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    assert_int_equal(count_ports(srv, P2, q), 0);

    /* All good: all created, in order. */
    r = call(srv, "POST", "/v2.0/ports", P2,
             "{\"ports\": [{\"network_id\": \"%s\", \"name\": \"a\"}, "
             "{\"network_id\": \"%s\", \"name\": \"b\"}, "
             "{\"network_id\": \"%s\", \"name\": \"c\"}]}", net, net, net);
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "ports"), 3);
    assert_string_equal(jstr(r->json, "ports/0/name"), "a");
    assert_string_equal(jstr(r->json, "ports/2/name"), "c");
    assert_int_equal(jlen(r->json, "ports/1/fixed_ips"), 1);
    apitest_resp_free(r);
    assert_int_equal(count_ports(srv, P2, q), 3);
    free(sub);
    free(net);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_defaults),
        cmocka_unit_test(test_every_attribute),
        cmocka_unit_test(test_fixed_ips_requests),
        cmocka_unit_test(test_update_fixed_ips),
        cmocka_unit_test(test_mac_addresses),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_allowed_address_pairs),
        cmocka_unit_test(test_port_security),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_two_projects),
        cmocka_unit_test(test_paged_visibility),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_bulk_create),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
