/* tests/api/test_subnets.c: subnets as a client sees them: every
 * attribute and its default (gateway and pools for IPv4 and IPv6), each
 * invalid input with Neutron's status and error type, overlapping cidrs,
 * pools against the gateway, DNS server and host route limits, IPv6 modes,
 * the update rules, who sees and changes what, deletion with and without
 * addresses in use, auto-addresses, tags, filters and bulk creation.
 * Runs on both database engines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/testdb.h"

#define P1 "11111111111111111111111111111111"
#define P2 "22222222222222222222222222222222"
#define P3 "33333333333333333333333333333333"
#define NOSUCH "99999999-9999-4999-8999-999999999999"

static int
group_setup(void **state)
{
    *state = apitest_server_start(NULL);
    return 0;
}

static int
group_teardown(void **state)
{
    apitest_server_stop(*state);
    return 0;
}

static bool
has_key(yajl_val obj, const char *key)
{
    return jpath(obj, key) != NULL;
}

/* Creates a network owned by P1 (by the admin when 'extra' is given, for
 * admin-only attributes); returns its id (malloc'd). */
static char *
make_net(struct apitest_server *srv, const char *extra)
{
    char body[512];

    snprintf(body, sizeof body, "{\"network\": {\"tenant_id\": \"" P1 "\"%s"
             "%s}}", extra ? ", " : "", extra ? extra : "");
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", NULL,
                                      body);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    return id;
}

/* POSTs {"subnet": {"network_id": net, <fields>}} as 'project' (NULL:
 * admin). */
static struct apitest_resp *
post_subnet(struct apitest_server *srv, const char *project, const char *net,
            const char *fields)
{
    char *body = xasprintf("{\"subnet\": {\"network_id\": \"%s\"%s%s}}",
                           net, *fields ? ", " : "", fields);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/subnets", project,
                                      body);
    free(body);
    return r;
}

/* Creates a subnet that must succeed; returns its id (malloc'd). */
static char *
make_subnet(struct apitest_server *srv, const char *project, const char *net,
            const char *fields)
{
    struct apitest_resp *r = post_subnet(srv, project, net, fields);

    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "subnet/id"));
    apitest_resp_free(r);
    return id;
}

static struct apitest_resp *
subnet_call(struct apitest_server *srv, const char *method, const char *id,
            const char *project, const char *body)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/subnets/%s", id);
    return api_call(srv, method, path, project, body);
}

static struct apitest_resp *
put_subnet(struct apitest_server *srv, const char *id, const char *project,
           const char *fields)
{
    char *body = xasprintf("{\"subnet\": {%s}}", fields);
    struct apitest_resp *r = subnet_call(srv, "PUT", id, project, body);
    free(body);
    return r;
}

static void
delete_net(struct apitest_server *srv, const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/networks/%s", id);
    struct apitest_resp *r = api_call(srv, "DELETE", path, NULL, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
}

/* Creates a port (as the admin, for P1) with 'fields'; returns its id. */
static char *
make_port(struct apitest_server *srv, const char *net, const char *fields)
{
    char body[2048];

    snprintf(body, sizeof body, "{\"port\": {\"network_id\": \"%s\", "
             "\"tenant_id\": \"" P1 "\"%s%s}}", net, *fields ? ", " : "",
             fields);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/ports", NULL, body);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    return id;
}

static struct apitest_resp *
get_port(struct apitest_server *srv, const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/ports/%s", id);
    return api_call(srv, "GET", path, NULL, NULL);
}

static void
delete_port(struct apitest_server *srv, const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/ports/%s", id);
    struct apitest_resp *r = api_call(srv, "DELETE", path, NULL, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
}

/* Asserts that pool 'i' of 'subnet' is start-end. */
static void
assert_pool(yajl_val subnet, int i, const char *start, const char *end)
{
    char path[64];

    snprintf(path, sizeof path, "allocation_pools/%d/start", i);
    assert_string_equal(jstr(subnet, path), start);
    snprintf(path, sizeof path, "allocation_pools/%d/end", i);
    assert_string_equal(jstr(subnet, path), end);
}

/* ---- Attributes and defaults ---- */

static void
test_defaults_v4(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    struct apitest_resp *r = post_subnet(srv, P1, net, "\"ip_version\": 4, "
                                         "\"cidr\": \"10.0.0.0/24\"");

    assert_status(r, 201);
    yajl_val s = jpath(r->json, "subnet");
    char *id = xstrdup(jstr(s, "id"));
    assert_true(uuid_is_valid(id));
    assert_string_equal(jstr(s, "name"), "");
    assert_string_equal(jstr(s, "description"), "");
    assert_string_equal(jstr(s, "project_id"), P1);
    assert_string_equal(jstr(s, "tenant_id"), P1);
    assert_string_equal(jstr(s, "network_id"), net);
    assert_int_equal(jint(s, "ip_version"), 4);
    assert_string_equal(jstr(s, "cidr"), "10.0.0.0/24");
    assert_string_equal(jstr(s, "gateway_ip"), "10.0.0.1");
    assert_int_equal(jlen(s, "allocation_pools"), 1);
    assert_pool(s, 0, "10.0.0.2", "10.0.0.254");
    assert_true(YAJL_IS_ARRAY(jpath(s, "dns_nameservers")));
    assert_int_equal(jlen(s, "dns_nameservers"), 0);
    assert_true(YAJL_IS_ARRAY(jpath(s, "host_routes")));
    assert_int_equal(jlen(s, "host_routes"), 0);
    assert_true(YAJL_IS_TRUE(jpath(s, "enable_dhcp")));
    assert_true(YAJL_IS_NULL(jpath(s, "ipv6_ra_mode")));
    assert_true(YAJL_IS_NULL(jpath(s, "ipv6_address_mode")));
    assert_true(YAJL_IS_NULL(jpath(s, "subnetpool_id")));
    assert_true(YAJL_IS_ARRAY(jpath(s, "tags")));
    assert_int_equal(jlen(s, "tags"), 0);
    assert_int_equal(jint(s, "revision_number"), 0);
    assert_non_null(jstr(s, "created_at"));
    assert_non_null(jstr(s, "updated_at"));
    /* segment_id is the admin's; prefixlen is never shown. */
    assert_false(has_key(s, "segment_id"));
    assert_false(has_key(s, "prefixlen"));
    char *created = xstrdup(jstr(s, "created_at"));
    apitest_resp_free(r);

    /* Show and list say the same; the admin also sees segment_id. */
    r = subnet_call(srv, "GET", id, P1, NULL);
    assert_status(r, 200);
    s = jpath(r->json, "subnet");
    assert_string_equal(jstr(s, "cidr"), "10.0.0.0/24");
    assert_pool(s, 0, "10.0.0.2", "10.0.0.254");
    assert_string_equal(jstr(s, "created_at"), created);
    assert_false(has_key(s, "segment_id"));
    apitest_resp_free(r);
    r = subnet_call(srv, "GET", id, NULL, NULL);
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json, "subnet/segment_id")));
    apitest_resp_free(r);

    char path[200];
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s", net);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "subnets"), 1);
    assert_string_equal(jstr(r->json, "subnets/0/id"), id);
    assert_string_equal(jstr(r->json, "subnets/0/gateway_ip"), "10.0.0.1");
    assert_pool(jpath(r->json, "subnets/0"), 0, "10.0.0.2", "10.0.0.254");
    apitest_resp_free(r);

    /* The network lists it. */
    snprintf(path, sizeof path, "/v2.0/networks/%s", net);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "network/subnets"), 1);
    assert_string_equal(jstr(r->json, "network/subnets/0"), id);
    apitest_resp_free(r);

    delete_net(srv, net);
    r = subnet_call(srv, "GET", id, NULL, NULL);
    assert_error_text(r, 404, "SubnetNotFound", "could not be found");
    apitest_resp_free(r);
    free(created);
    free(id);
    free(net);
}

static void
test_all_attributes(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    struct apitest_resp *r = post_subnet(
        srv, P1, net, "\"ip_version\": \"4\", \"cidr\": \"192.168.7.0/24\", "
        "\"name\": \"sn\", \"description\": \"a subnet\", "
        "\"gateway_ip\": \"192.168.7.254\", \"enable_dhcp\": false, "
        "\"allocation_pools\": [{\"start\": \"192.168.7.100\", "
        "\"end\": \"192.168.7.120\"}, {\"start\": \"192.168.7.10\", "
        "\"end\": \"192.168.7.20\"}], "
        "\"dns_nameservers\": [\"8.8.8.8\", \"1.1.1.1\"], "
        "\"host_routes\": [{\"destination\": \"10.9.0.0/16\", "
        "\"nexthop\": \"192.168.7.5\"}], "
        "\"subnetpool_id\": null, \"tenant_id\": \"" P1 "\", "
        "\"project_id\": \"" P1 "\"");

    assert_status(r, 201);
    yajl_val s = jpath(r->json, "subnet");
    assert_string_equal(jstr(s, "name"), "sn");
    assert_string_equal(jstr(s, "description"), "a subnet");
    assert_int_equal(jint(s, "ip_version"), 4);
    assert_string_equal(jstr(s, "gateway_ip"), "192.168.7.254");
    assert_true(YAJL_IS_FALSE(jpath(s, "enable_dhcp")));
    assert_int_equal(jlen(s, "allocation_pools"), 2);
    assert_pool(s, 0, "192.168.7.10", "192.168.7.20");
    assert_pool(s, 1, "192.168.7.100", "192.168.7.120");
    assert_int_equal(jlen(s, "dns_nameservers"), 2);
    assert_string_equal(jstr(s, "dns_nameservers/0"), "8.8.8.8");
    assert_string_equal(jstr(s, "dns_nameservers/1"), "1.1.1.1");
    assert_int_equal(jlen(s, "host_routes"), 1);
    assert_string_equal(jstr(s, "host_routes/0/destination"), "10.9.0.0/16");
    assert_string_equal(jstr(s, "host_routes/0/nexthop"), "192.168.7.5");
    char *id = xstrdup(jstr(s, "id"));
    apitest_resp_free(r);

    /* Read back the same, in the same order. */
    r = subnet_call(srv, "GET", id, P1, NULL);
    s = jpath(r->json, "subnet");
    assert_pool(s, 0, "192.168.7.10", "192.168.7.20");
    assert_string_equal(jstr(s, "dns_nameservers/0"), "8.8.8.8");
    assert_string_equal(jstr(s, "dns_nameservers/1"), "1.1.1.1");
    assert_string_equal(jstr(s, "host_routes/0/nexthop"), "192.168.7.5");
    apitest_resp_free(r);

    /* An empty pool list means the default pools; null lists are empty. */
    r = post_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                    "\"192.168.8.0/24\", \"allocation_pools\": [], "
                    "\"dns_nameservers\": null, \"host_routes\": null, "
                    "\"enable_dhcp\": \"false\"");
    assert_status(r, 201);
    s = jpath(r->json, "subnet");
    assert_pool(s, 0, "192.168.8.2", "192.168.8.254");
    assert_int_equal(jlen(s, "dns_nameservers"), 0);
    assert_int_equal(jlen(s, "host_routes"), 0);
    assert_true(YAJL_IS_FALSE(jpath(s, "enable_dhcp")));
    apitest_resp_free(r);

    /* "prefix_delegation" with a cidr is an ordinary subnet. */
    r = post_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                    "\"2001:db8:77::/64\", \"subnetpool_id\": "
                    "\"prefix_delegation\"");
    assert_status(r, 201);
    assert_true(YAJL_IS_NULL(jpath(r->json, "subnet/subnetpool_id")));
    apitest_resp_free(r);

    delete_net(srv, net);
    free(id);
    free(net);
}

/* ---- Invalid input ---- */

struct bad_case {
    const char *fields;
    long status;
    const char *type;
    const char *text;
};

static void
run_bad_cases(struct apitest_server *srv, const char *project,
              const char *net, const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct apitest_resp *r = post_subnet(srv, project, net,
                                             cases[i].fields);
        if (r->status != cases[i].status) {
            fail_msg("case %zu (%s): status %ld, expected %ld: %s", i,
                     cases[i].fields, r->status, cases[i].status,
                     r->body ? r->body : "");
        }
        assert_error_text(r, cases[i].status, cases[i].type, cases[i].text);
        apitest_resp_free(r);
    }
}

/* What a subnet created with 'fields' shows. */
struct defaults_case {
    const char *fields;
    const char *cidr;           /* NULL: not checked */
    const char *gateway;        /* "null": none; NULL: not checked */
    size_t n_pools;             /* 0: not checked */
    const char *pools[2][2];    /* start and end of the first pools */
};

static void
test_cidr_and_gateway_defaults(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    static const struct defaults_case cases[] = {
        /* Host bits are cleared. */
        { "\"ip_version\": 4, \"cidr\": \"10.1.2.3/24\"", "10.1.2.0/24",
          "10.1.2.1", 0, { { NULL, NULL } } },
        /* IPv6: canonical text; the pool skips the subnet-router anycast
         * address and the gateway, up to the last address. */
        { "\"ip_version\": 6, \"cidr\": \"2001:DB8:0:0:0::1/64\"",
          "2001:db8::/64", "2001:db8::1", 1,
          { { "2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff" } } },
        /* No gateway: the pool starts right after the network address. */
        { "\"ip_version\": 4, \"cidr\": \"10.2.0.0/24\", "
          "\"gateway_ip\": null", NULL, "null", 0,
          { { "10.2.0.1", "10.2.0.254" } } },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8:1::/64\", "
          "\"gateway_ip\": null", NULL, NULL, 0,
          { { "2001:db8:1::1", "2001:db8:1:0:ffff:ffff:ffff:ffff" } } },
        /* A gateway in the middle splits the pool. */
        { "\"ip_version\": 4, \"cidr\": \"10.3.0.0/24\", "
          "\"gateway_ip\": \"10.3.0.100\"", NULL, NULL, 2,
          { { "10.3.0.1", "10.3.0.99" }, { "10.3.0.101", "10.3.0.254" } } },
        /* Neutron accepts a gateway outside the cidr. */
        { "\"ip_version\": 4, \"cidr\": \"10.4.0.0/24\", "
          "\"gateway_ip\": \"10.99.0.1\"", NULL, "10.99.0.1", 0,
          { { "10.4.0.1", "10.4.0.254" } } },
        /* An IPv6 gateway may be the subnet-router anycast address. */
        { "\"ip_version\": 6, \"cidr\": \"2001:db8:2::/64\", "
          "\"gateway_ip\": \"2001:db8:2::\"", NULL, NULL, 0,
          { { "2001:db8:2::1", "2001:db8:2:0:ffff:ffff:ffff:ffff" } } },
        /* Small prefixes: a /30 has one address left; /31 and /32 need
         * DHCP off (with_dhcp) and keep every address (RFC 3021). */
        { "\"ip_version\": 4, \"cidr\": \"10.5.0.0/30\"", NULL,
          "10.5.0.1", 0, { { "10.5.0.2", "10.5.0.2" } } },
        { "\"ip_version\": 4, \"cidr\": \"10.6.0.0/31\", "
          "\"enable_dhcp\": false", NULL, "10.6.0.1", 1,
          { { "10.6.0.0", "10.6.0.0" } } },
        { "\"ip_version\": 4, \"cidr\": \"10.7.0.9/32\", "
          "\"enable_dhcp\": false", "10.7.0.9/32", NULL, 0,
          { { "10.7.0.9", "10.7.0.9" } } },
    };
    static const struct bad_case with_dhcp[] = {
        { "\"ip_version\": 4, \"cidr\": \"10.6.0.0/31\"", 400,
          "InvalidInput", "Subnet has a prefix length that is incompatible "
          "with DHCP service enabled" },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8:3::/127\"", 400,
          "InvalidInput", "incompatible with DHCP" },
    };

    run_bad_cases(srv, P1, net, with_dhcp,
                  sizeof with_dhcp / sizeof with_dhcp[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct defaults_case *c = &cases[i];
        struct apitest_resp *r = post_subnet(srv, P1, net, c->fields);
        assert_status(r, 201);
        yajl_val s = jpath(r->json, "subnet");
        if (c->cidr) {
            assert_string_equal(jstr(s, "cidr"), c->cidr);
        }
        if (c->gateway && !strcmp(c->gateway, "null")) {
            assert_true(YAJL_IS_NULL(jpath(s, "gateway_ip")));
        } else if (c->gateway) {
            assert_string_equal(jstr(s, "gateway_ip"), c->gateway);
        }
        if (c->n_pools) {
            assert_int_equal(jlen(s, "allocation_pools"), c->n_pools);
        }
        for (int j = 0; j < 2 && c->pools[j][0]; j++) {
            assert_pool(s, j, c->pools[j][0], c->pools[j][1]);
        }
        apitest_resp_free(r);
    }
    delete_net(srv, net);
    free(net);
}

static void
test_invalid_create(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    const struct bad_case cases[] = {
        /* Required attributes and types. */
        { "\"cidr\": \"10.0.0.0/24\"", 400, "HTTPBadRequest",
          "Failed to parse request. Required attribute 'ip_version' not "
          "specified" },
        { "\"ip_version\": 4", 400, "BadRequest",
          "Bad subnets request: a subnetpool must be specified in the "
          "absence of a cidr." },
        { "\"ip_version\": 4, \"cidr\": null", 400, "BadRequest",
          "a subnetpool must be specified in the absence of a cidr" },
        { "\"ip_version\": 5, \"cidr\": \"10.0.0.0/24\"", 400,
          "HTTPBadRequest", "Invalid input for ip_version. Reason: 5 is not "
          "in valid_values." },
        { "\"ip_version\": \"four\", \"cidr\": \"10.0.0.0/24\"", 400,
          "InvalidInput", "'four' is not an integer" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/33\"", 400,
          "HTTPBadRequest", "Invalid input for cidr. Reason: '10.0.0.0/33' "
          "is not a valid IP subnet." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.5\"", 400, "HTTPBadRequest",
          "'10.0.0.5' isn't a recognized IP subnet cidr, '10.0.0.5/32' is "
          "recommended" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/024\"", 400,
          "HTTPBadRequest", "isn't a recognized IP subnet cidr, "
          "'10.0.0.0/24' is recommended" },
        { "\"ip_version\": 4, \"cidr\": 10", 400, "HTTPBadRequest",
          "'10' is not a valid IP subnet" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"foo\": 1", 400,
          "HTTPBadRequest", "Unrecognized attribute(s) 'foo'" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"id\": \""
          NOSUCH "\"", 400, "HTTPBadRequest", "'id' not allowed in POST" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"name\": 5", 400,
          "HTTPBadRequest", "Invalid input for name" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"enable_dhcp\": "
          "\"maybe\"", 400, "InvalidInput", "cannot be converted to boolean" },
        /* cidr and ip_version, DHCP-incompatible prefixes. */
        { "\"ip_version\": 4, \"cidr\": \"2001:db8::/64\"", 400,
          "InvalidInput", "Invalid input for operation: cidr "
          "'2001:db8::/64' does not match the ip_version '4'." },
        { "\"ip_version\": 6, \"cidr\": \"10.0.0.0/24\"", 400,
          "InvalidInput", "cidr '10.0.0.0/24' does not match the "
          "ip_version '6'" },
        { "\"ip_version\": 4, \"cidr\": \"0.0.0.0/0\"", 400, "InvalidInput",
          "First IP '0.0.0.0' of network is not supported if enable_dhcp is "
          "True." },
        { "\"ip_version\": 4, \"cidr\": \"0.0.0.0/0\", \"enable_dhcp\": "
          "false", 400, "InvalidInput",
          "0 is not allowed as CIDR prefix length" },
        { "\"ip_version\": 6, \"cidr\": \"::/0\", \"enable_dhcp\": false",
          400, "InvalidInput", "0 is not allowed as CIDR prefix length" },
        { "\"ip_version\": 4, \"cidr\": \"224.0.0.0/24\"", 400,
          "InvalidInput", "Multicast IP subnet is not supported if "
          "enable_dhcp is True" },
        { "\"ip_version\": 6, \"cidr\": \"ff05::/64\"", 400, "InvalidInput",
          "Multicast IP subnet is not supported" },
        { "\"ip_version\": 4, \"cidr\": \"127.0.0.0/24\"", 400,
          "InvalidInput", "Loopback IP subnet is not supported if "
          "enable_dhcp is True" },
        /* Subnet pools and prefixlen. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"prefixlen\": 24",
          400, "BadRequest", "Bad subnets request: cidr and prefixlen must "
          "not be supplied together." },
        { "\"ip_version\": 4, \"subnetpool_id\": \"" NOSUCH "\"", 404,
          "SubnetPoolNotFound", "Subnet pool " NOSUCH " could not be "
          "found." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"subnetpool_id\": "
          "\"pool\"", 400, "HTTPBadRequest", "Invalid input for "
          "subnetpool_id. Reason: 'pool' is not a valid UUID." },
        /* Gateway. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"10.0.0.256\"", 400, "HTTPBadRequest", "Invalid input for "
          "gateway_ip. Reason: '10.0.0.256' is not a valid IP address." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"010.0.0.1\"", 400, "HTTPBadRequest", "'010.0.0.1' is not an "
          "accepted IP address, '10.0.0.1' is recommended" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"10.0.0.0\"", 400, "InvalidInput", "Invalid input for "
          "operation: Gateway is not valid on subnet." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"10.0.0.255\"", 400, "InvalidInput",
          "Gateway is not valid on subnet" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"2001:db8::1\"", 400, "InvalidInput", "gateway_ip "
          "'2001:db8::1' does not match the ip_version '4'" },
        /* Allocation pools. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.2\", \"end\": "
          "\"10.0.1.5\"}]", 400, "OutOfBoundsAllocationPool",
          "The allocation pool 10.0.0.2-10.0.1.5 spans beyond the subnet "
          "cidr 10.0.0.0/24." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.0\", \"end\": "
          "\"10.0.0.5\"}]", 400, "OutOfBoundsAllocationPool", NULL },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.200\", \"end\": "
          "\"10.0.0.255\"}]", 400, "OutOfBoundsAllocationPool", NULL },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.20\", \"end\": "
          "\"10.0.0.10\"}]", 400, "InvalidAllocationPool",
          "The allocation pool {'start': '10.0.0.20', 'end': '10.0.0.10'} "
          "is not valid." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"2001:db8::2\", \"end\": "
          "\"2001:db8::9\"}]", 400, "InvalidAllocationPool",
          "The allocation pool 2001:db8::2-2001:db8::9 is not valid." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.2\", \"end\": "
          "\"10.0.0.50\"}, {\"start\": \"10.0.0.40\", \"end\": "
          "\"10.0.0.60\"}]", 409, "OverlappingAllocationPools",
          "Found overlapping allocation pools: 10.0.0.2-10.0.0.50 "
          "10.0.0.40-10.0.0.60 for subnet 10.0.0.0/24." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.1\", \"end\": "
          "\"10.0.0.50\"}]", 409, "GatewayConflictWithAllocationPools",
          "Gateway ip 10.0.0.1 conflicts with allocation pool "
          "10.0.0.1-10.0.0.50." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
          "\"10.0.0.30\", \"allocation_pools\": [{\"start\": \"10.0.0.2\", "
          "\"end\": \"10.0.0.50\"}]", 409,
          "GatewayConflictWithAllocationPools", "Gateway ip 10.0.0.30" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.2\"}]", 400,
          "HTTPBadRequest", "Invalid input for allocation_pools. Reason: "
          "Validation of dictionary's keys failed." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [{\"start\": \"10.0.0.2\", \"end\": "
          "\"x\"}]", 400, "HTTPBadRequest", "'x' is not a valid IP address" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": [\"10.0.0.2\"]", 400, "HTTPBadRequest",
          "Invalid input. '10.0.0.2' must be a dictionary with keys" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"allocation_pools\": null", 400, "HTTPBadRequest",
          "Invalid data format for IP pool: 'None'" },
        /* DNS servers. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"dns_nameservers\": "
          "[\"1.1.1.1\", \"1.1.1.2\", \"1.1.1.3\", \"1.1.1.4\", \"1.1.1.5\", "
          "\"1.1.1.6\"]", 400, "DNSNameServersExhausted",
          "Unable to complete operation for new subnet. The number of DNS "
          "nameservers exceeds the limit 5." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"dns_nameservers\": "
          "[\"8.8.8.8\", \"8.8.8.8\"]", 400, "HTTPBadRequest",
          "Invalid input for dns_nameservers. Reason: Duplicate nameserver "
          "'8.8.8.8'." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"dns_nameservers\": "
          "[\"dns.example.com\"]", 400, "HTTPBadRequest",
          "'dns.example.com' is not a valid nameserver. 'dns.example.com' is "
          "not a valid IP address" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"dns_nameservers\": "
          "\"8.8.8.8\"", 400, "HTTPBadRequest", "Invalid input for "
          "dns_nameservers" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"dns_nameservers\": "
          "[\"2001:db8::53\"]", 400, "InvalidInput", "dns_nameserver "
          "'2001:db8::53' does not match the ip_version '4'" },
        /* Host routes. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"10.1.0.0/16\"}]", 400, "HTTPBadRequest",
          "Invalid input for host_routes. Reason: Validation of "
          "dictionary's keys failed." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"10.1.0.0/99\", \"nexthop\": \"10.0.0.5\"}]",
          400, "HTTPBadRequest", "'10.1.0.0/99' is not a valid IP subnet" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"10.1.0.0/16\", \"nexthop\": \"10.0.0.x\"}]",
          400, "HTTPBadRequest", "'10.0.0.x' is not a valid IP address" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"10.1.0.0/16\", \"nexthop\": \"10.0.0.5\"}, "
          "{\"destination\": \"10.1.0.0/16\", \"nexthop\": \"10.0.0.5\"}]",
          400, "HTTPBadRequest", "Duplicate hostroute" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"10.1.0.0/16\", \"nexthop\": "
          "\"2001:db8::1\"}]", 400, "InvalidInput", "nexthop '2001:db8::1' "
          "does not match the ip_version '4'" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"host_routes\": "
          "[{\"destination\": \"2001:db8::/64\", \"nexthop\": "
          "\"10.0.0.9\"}]", 400, "InvalidInput", "destination "
          "'2001:db8::/64' does not match the ip_version '4'" },
        /* IPv6 modes. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"ipv6_ra_mode\": "
          "\"slaac\"", 400, "InvalidInput", "ipv6_ra_mode is not valid when "
          "ip_version is 4" },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", "
          "\"ipv6_address_mode\": \"slaac\"", 400, "InvalidInput",
          "ipv6_address_mode is not valid when ip_version is 4" },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8::/64\", \"ipv6_ra_mode\": "
          "\"auto\"", 400, "HTTPBadRequest", "Invalid input for "
          "ipv6_ra_mode. Reason: auto is not in valid_values." },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8::/64\", "
          "\"ipv6_ra_mode\": \"slaac\", \"ipv6_address_mode\": "
          "\"dhcpv6-stateful\"", 400, "InvalidInput", "ipv6_ra_mode set to "
          "'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not "
          "valid. If both attributes are set, they must be the same value" },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8::/64\", "
          "\"ipv6_address_mode\": \"slaac\", \"enable_dhcp\": false", 400,
          "InvalidInput", "ipv6_ra_mode or ipv6_address_mode cannot be set "
          "when enable_dhcp is set to False" },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8::/80\", "
          "\"ipv6_address_mode\": \"slaac\"", 400, "InvalidInput",
          "Invalid CIDR 2001:db8::/80 for IPv6 address mode. OpenStack uses "
          "the EUI-64 address format, which requires the prefix to be /64" },
        { "\"ip_version\": 6, \"cidr\": \"2001:db8::/80\", "
          "\"ipv6_ra_mode\": \"dhcpv6-stateless\"", 400, "InvalidInput",
          "requires the prefix to be /64" },
        /* Segments are the admin's. */
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"segment_id\": \""
          NOSUCH "\"", 403, "PolicyNotAuthorized",
          "(rule:create_subnet:segment_id) is disallowed by policy" },
    };

    run_bad_cases(srv, P1, net, cases, ARRAY_SIZE(cases));

    /* The network must exist (and be visible). */
    const struct bad_case nonet[] = {
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\"", 404,
          "NetworkNotFound", "Network " NOSUCH " could not be found." },
    };
    run_bad_cases(srv, P1, NOSUCH, nonet, 1);
    const struct bad_case badnet[] = {
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\"", 400,
          "HTTPBadRequest", "Invalid input for network_id. Reason: 'xyz' is "
          "not a valid UUID." },
    };
    run_bad_cases(srv, P1, "xyz", badnet, 1);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/subnets", P1,
                                      "{\"subnet\": {\"ip_version\": 4, "
                                      "\"cidr\": \"10.0.0.0/24\"}}");
    assert_error_text(r, 400, "HTTPBadRequest", "Required attribute 'network_id' "
                 "not specified");
    apitest_resp_free(r);

    /* Segments, as the admin. */
    const struct bad_case segs[] = {
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"tenant_id\": \""
          P1 "\", \"segment_id\": \"" NOSUCH "\"", 404, "SegmentNotFound", "Segment " NOSUCH " could "
          "not be found." },
        { "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"segment_id\": "
          "\"seg\"", 400, "HTTPBadRequest", "Invalid input for segment_id. "
          "Reason: 'seg' is not a valid UUID." },
    };
    run_bad_cases(srv, NULL, net, segs, ARRAY_SIZE(segs));

    /* Nothing was created. */
    char path[200];
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s", net);
    r = api_call(srv, "GET", path, NULL, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 0);
    apitest_resp_free(r);

    delete_net(srv, net);
    free(net);
}

static void
test_limits_configurable(void **state)
{
    (void) state;
    struct apitest_server *srv = apitest_server_start(
        "[DEFAULT]\nmax_dns_nameservers = 1\nmax_subnet_host_routes = 1\n");
    char *net = make_net(srv, NULL);
    struct apitest_resp *r;

    r = post_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                    "\"10.0.0.0/24\", \"dns_nameservers\": [\"1.1.1.1\", "
                    "\"1.1.1.2\"]");
    assert_error_text(r, 400, "DNSNameServersExhausted", "exceeds the limit 1.");
    apitest_resp_free(r);
    r = post_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                    "\"10.0.0.0/24\", \"host_routes\": [{\"destination\": "
                    "\"10.1.0.0/16\", \"nexthop\": \"10.0.0.5\"}, "
                    "{\"destination\": \"10.2.0.0/16\", \"nexthop\": "
                    "\"10.0.0.5\"}]");
    assert_error_text(r, 400, "HostRoutesExhausted", "Unable to complete "
                 "operation for new subnet. The number of host routes "
                 "exceeds the limit 1.");
    apitest_resp_free(r);
    char *id = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\", \"dns_nameservers\": "
                           "[\"1.1.1.1\"]");
    r = put_subnet(srv, id, P1, "\"dns_nameservers\": [\"1.1.1.1\", "
                   "\"1.1.1.2\"]");
    char text[200];
    snprintf(text, sizeof text, "Unable to complete operation for %s. The "
             "number of DNS nameservers exceeds the limit 1.", id);
    assert_error_text(r, 400, "DNSNameServersExhausted", text);
    apitest_resp_free(r);
    free(id);
    delete_net(srv, net);
    free(net);
    apitest_server_stop(srv);
}

static void
test_max_limits(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char fields[8192];
    size_t len;

    /* Exactly 5 DNS servers and 20 routes are fine; 21 routes are not. */
    len = snprintf(fields, sizeof fields, "\"ip_version\": 4, \"cidr\": "
                   "\"10.0.0.0/24\", \"dns_nameservers\": [\"1.1.1.1\", "
                   "\"1.1.1.2\", \"1.1.1.3\", \"1.1.1.4\", \"1.1.1.5\"], "
                   "\"host_routes\": [");
    for (int i = 0; i < 20; i++) {
        len += snprintf(fields + len, sizeof fields - len, "%s{\"destination"
                        "\": \"10.%d.0.0/16\", \"nexthop\": \"10.0.0.5\"}",
                        i ? ", " : "", 100 + i);
    }
    snprintf(fields + len, sizeof fields - len, "]");
    struct apitest_resp *r = post_subnet(srv, P1, net, fields);
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "subnet/dns_nameservers"), 5);
    assert_int_equal(jlen(r->json, "subnet/host_routes"), 20);
    apitest_resp_free(r);

    len = snprintf(fields, sizeof fields, "\"ip_version\": 4, \"cidr\": "
                   "\"10.1.0.0/24\", \"host_routes\": [");
    for (int i = 0; i < 21; i++) {
        len += snprintf(fields + len, sizeof fields - len, "%s{\"destination"
                        "\": \"10.%d.0.0/16\", \"nexthop\": \"10.1.0.5\"}",
                        i ? ", " : "", 100 + i);
    }
    snprintf(fields + len, sizeof fields - len, "]");
    r = post_subnet(srv, P1, net, fields);
    assert_error_text(r, 400, "HostRoutesExhausted", "exceeds the limit 20.");
    apitest_resp_free(r);
    delete_net(srv, net);
    free(net);
}

static void
test_overlapping_cidrs(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *net2 = make_net(srv, NULL);
    struct apitest_resp *r;
    char text[300];

    char *a = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.0.0/24\"");
    static const char *const overlapping[] = {
        "10.0.0.0/24", "10.0.0.128/25", "10.0.0.0/16", "10.0.0.77/32",
    };
    for (size_t i = 0; i < ARRAY_SIZE(overlapping); i++) {
        char fields[200];
        snprintf(fields, sizeof fields, "\"ip_version\": 4, \"cidr\": "
                 "\"%s\", \"enable_dhcp\": false", overlapping[i]);
        r = post_subnet(srv, P1, net, fields);
        snprintf(text, sizeof text, "Invalid input for operation: Requested "
                 "subnet with cidr: %s for network: %s overlaps with another "
                 "subnet.", overlapping[i], net);
        assert_error_text(r, 400, "InvalidInput", text);
        apitest_resp_free(r);
    }
    /* Next to it, on another network, or IPv6: fine. */
    char *b = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.1.0/24\"");
    char *c = make_subnet(srv, P1, net2, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.0.0/24\"");
    char *d = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                          "\"2001:db8::/64\"");
    r = post_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                    "\"2001:db8::/48\"");
    assert_error_text(r, 400, "InvalidInput", "overlaps with another subnet");
    apitest_resp_free(r);

    /* Deleting one frees its range. */
    r = subnet_call(srv, "DELETE", a, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    free(a);
    a = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                    "\"10.0.0.0/25\"");

    delete_net(srv, net);
    delete_net(srv, net2);
    free(a);
    free(b);
    free(c);
    free(d);
    free(net);
    free(net2);
}

static void
test_ipv6_modes(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    static const struct {
        const char *ra, *addr;
        const char *cidr;
    } ok[] = {
        { "slaac", "slaac", "2001:db8:1::/64" },
        { "dhcpv6-stateful", "dhcpv6-stateful", "2001:db8:2::/64" },
        { "dhcpv6-stateless", "dhcpv6-stateless", "2001:db8:3::/64" },
        { "slaac", NULL, "2001:db8:4::/64" },
        { NULL, "slaac", "2001:db8:5::/64" },
        { NULL, "dhcpv6-stateful", "2001:db8:6::/80" },
        { "dhcpv6-stateful", NULL, "2001:db8:7::/120" },
        { NULL, NULL, "2001:db8:8::/100" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        char fields[300];
        size_t len = snprintf(fields, sizeof fields, "\"ip_version\": 6, "
                              "\"cidr\": \"%s\"", ok[i].cidr);
        if (ok[i].ra) {
            len += snprintf(fields + len, sizeof fields - len,
                            ", \"ipv6_ra_mode\": \"%s\"", ok[i].ra);
        }
        if (ok[i].addr) {
            snprintf(fields + len, sizeof fields - len,
                     ", \"ipv6_address_mode\": \"%s\"", ok[i].addr);
        }
        struct apitest_resp *r = post_subnet(srv, P1, net, fields);
        assert_status(r, 201);
        yajl_val s = jpath(r->json, "subnet");
        if (ok[i].ra) {
            assert_string_equal(jstr(s, "ipv6_ra_mode"), ok[i].ra);
        } else {
            assert_true(YAJL_IS_NULL(jpath(s, "ipv6_ra_mode")));
        }
        if (ok[i].addr) {
            assert_string_equal(jstr(s, "ipv6_address_mode"), ok[i].addr);
        } else {
            assert_true(YAJL_IS_NULL(jpath(s, "ipv6_address_mode")));
        }
        assert_int_equal(jint(s, "ip_version"), 6);
        apitest_resp_free(r);
    }

    /* Filters on the modes. */
    char path[300];
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s&"
             "ipv6_address_mode=slaac", net);
    struct apitest_resp *r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "subnets"), 2);
    apitest_resp_free(r);
    delete_net(srv, net);
    free(net);
}

/* ---- Update ---- */

static void
test_update(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *id = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\", \"dns_nameservers\": "
                           "[\"8.8.8.8\"]");
    struct apitest_resp *r;
    yajl_val s;

    r = put_subnet(srv, id, P1, "\"name\": \"renamed\", \"description\": "
                   "\"d\", \"enable_dhcp\": false, \"dns_nameservers\": "
                   "[\"9.9.9.9\", \"8.8.4.4\"], \"host_routes\": "
                   "[{\"destination\": \"0.0.0.0/0\", \"nexthop\": "
                   "\"10.0.0.9\"}]");
    assert_status(r, 200);
    s = jpath(r->json, "subnet");
    assert_string_equal(jstr(s, "name"), "renamed");
    assert_string_equal(jstr(s, "description"), "d");
    assert_true(YAJL_IS_FALSE(jpath(s, "enable_dhcp")));
    assert_int_equal(jlen(s, "dns_nameservers"), 2);
    assert_string_equal(jstr(s, "dns_nameservers/0"), "9.9.9.9");
    assert_string_equal(jstr(s, "dns_nameservers/1"), "8.8.4.4");
    assert_string_equal(jstr(s, "host_routes/0/destination"), "0.0.0.0/0");
    assert_string_equal(jstr(s, "gateway_ip"), "10.0.0.1");
    assert_pool(s, 0, "10.0.0.2", "10.0.0.254");
    assert_int_equal(jint(s, "revision_number"), 1);
    apitest_resp_free(r);

    /* New pools, then a gateway outside them. */
    r = put_subnet(srv, id, P1, "\"allocation_pools\": [{\"start\": "
                   "\"10.0.0.10\", \"end\": \"10.0.0.20\"}, {\"start\": "
                   "\"10.0.0.100\", \"end\": \"10.0.0.110\"}]");
    assert_status(r, 200);
    s = jpath(r->json, "subnet");
    assert_int_equal(jlen(s, "allocation_pools"), 2);
    assert_pool(s, 0, "10.0.0.10", "10.0.0.20");
    assert_pool(s, 1, "10.0.0.100", "10.0.0.110");
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.254\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "subnet/gateway_ip"), "10.0.0.254");
    apitest_resp_free(r);

    /* The gateway may not move into a pool, nor a pool over it. */
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.15\"");
    assert_error_text(r, 409, "GatewayConflictWithAllocationPools",
                 "Gateway ip 10.0.0.15 conflicts with allocation pool "
                 "10.0.0.10-10.0.0.20.");
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"allocation_pools\": [{\"start\": "
                   "\"10.0.0.200\", \"end\": \"10.0.0.254\"}]");
    assert_error_text(r, 409, "GatewayConflictWithAllocationPools",
                 "Gateway ip 10.0.0.254 conflicts with allocation pool "
                 "10.0.0.200-10.0.0.254.");
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.50\", "
                   "\"allocation_pools\": [{\"start\": \"10.0.0.40\", "
                   "\"end\": \"10.0.0.60\"}]");
    assert_error_text(r, 409, "GatewayConflictWithAllocationPools", NULL);
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"allocation_pools\": [{\"start\": "
                   "\"10.0.0.2\", \"end\": \"10.0.1.2\"}]");
    assert_error_text(r, 400, "OutOfBoundsAllocationPool", NULL);
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"allocation_pools\": [{\"start\": "
                   "\"10.0.0.2\", \"end\": \"10.0.0.9\"}, {\"start\": "
                   "\"10.0.0.5\", \"end\": \"10.0.0.7\"}]");
    assert_error_text(r, 409, "OverlappingAllocationPools", NULL);
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"allocation_pools\": null");
    assert_error_text(r, 400, "HTTPBadRequest", "Invalid data format for IP "
                 "pool: 'None'");
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.255\"");
    assert_error_text(r, 400, "InvalidInput", "Gateway is not valid on subnet");
    apitest_resp_free(r);

    /* Both at once, consistent: fine.  A null gateway: fine. */
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.1\", "
                   "\"allocation_pools\": [{\"start\": \"10.0.0.2\", "
                   "\"end\": \"10.0.0.254\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": null");
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json, "subnet/gateway_ip")));
    assert_pool(jpath(r->json, "subnet"), 0, "10.0.0.2", "10.0.0.254");
    apitest_resp_free(r);

    /* Empty lists clear; an empty pool list leaves no pool. */
    r = put_subnet(srv, id, P1, "\"dns_nameservers\": [], \"host_routes\": "
                   "null, \"allocation_pools\": []");
    assert_status(r, 200);
    s = jpath(r->json, "subnet");
    assert_int_equal(jlen(s, "dns_nameservers"), 0);
    assert_int_equal(jlen(s, "host_routes"), 0);
    assert_int_equal(jlen(s, "allocation_pools"), 0);
    long long rev = jint(s, "revision_number");
    apitest_resp_free(r);

    /* What was stored is what a GET sees. */
    r = subnet_call(srv, "GET", id, P1, NULL);
    s = jpath(r->json, "subnet");
    assert_string_equal(jstr(s, "name"), "renamed");
    assert_true(YAJL_IS_NULL(jpath(s, "gateway_ip")));
    assert_int_equal(jlen(s, "allocation_pools"), 0);
    assert_int_equal(jlen(s, "dns_nameservers"), 0);
    assert_int_equal(jint(s, "revision_number"), rev);
    apitest_resp_free(r);

    /* Read-only attributes. */
    static const char *const ro[] = {
        "\"cidr\": \"10.0.0.0/25\"", "\"ip_version\": 6",
        "\"network_id\": \"" NOSUCH "\"", "\"ipv6_ra_mode\": \"slaac\"",
        "\"ipv6_address_mode\": \"slaac\"", "\"subnetpool_id\": null",
        "\"tenant_id\": \"" P2 "\"", "\"id\": \"" NOSUCH "\"",
        "\"segment_id\": null",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
        r = put_subnet(srv, id, NULL, ro[i]);
        assert_error_text(r, 400, "HTTPBadRequest", "Cannot update read-only "
                     "attribute");
        apitest_resp_free(r);
    }

    /* Turning DHCP on checks the prefix again. */
    char *small = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                              "\"10.9.0.0/31\", \"enable_dhcp\": false");
    r = put_subnet(srv, small, P1, "\"enable_dhcp\": true");
    assert_error_text(r, 400, "InvalidInput", "incompatible with DHCP");
    apitest_resp_free(r);
    r = put_subnet(srv, small, P1, "\"name\": \"still-small\"");
    assert_status(r, 200);
    apitest_resp_free(r);

    /* IPv6 modes need DHCP on. */
    char *v6 = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                           "\"2001:db8:9::/64\", \"ipv6_ra_mode\": "
                           "\"slaac\"");
    r = put_subnet(srv, v6, P1, "\"enable_dhcp\": false");
    assert_error_text(r, 400, "InvalidInput", "Cannot disable enable_dhcp with "
                 "ipv6 attributes set");
    apitest_resp_free(r);
    r = put_subnet(srv, v6, P1, "\"dns_nameservers\": [\"8.8.8.8\"]");
    assert_error_text(r, 400, "InvalidInput", "dns_nameserver '8.8.8.8' does "
                 "not match the ip_version '6'");
    apitest_resp_free(r);

    /* If-Match on the revision. */
    r = subnet_call(srv, "GET", id, P1, NULL);
    rev = jint(r->json, "subnet/revision_number");
    apitest_resp_free(r);
    char hdr[100];
    snprintf(hdr, sizeof hdr, "If-Match: revision_number=%lld", rev + 5);
    char path[200];
    snprintf(path, sizeof path, "/v2.0/subnets/%s", id);
    r = apitest_request(srv, "PUT", path, hdr,
                        "{\"subnet\": {\"name\": \"x\"}}");
    assert_neutron_error(r, 412, "RevisionNumberConstraintFailed");
    apitest_resp_free(r);
    snprintf(hdr, sizeof hdr, "If-Match: revision_number=%lld", rev);
    r = apitest_request(srv, "PUT", path, hdr,
                        "{\"subnet\": {\"name\": \"x\"}}");
    assert_status(r, 200);
    assert_int_equal(jint(r->json, "subnet/revision_number"), rev + 1);
    apitest_resp_free(r);

    /* Not found. */
    r = put_subnet(srv, NOSUCH, P1, "\"name\": \"x\"");
    assert_error_text(r, 404, "SubnetNotFound", "Subnet " NOSUCH " could not be "
                 "found.");
    apitest_resp_free(r);

    delete_net(srv, net);
    free(small);
    free(v6);
    free(id);
    free(net);
}

/* ---- Who sees and changes what ---- */

static void
test_visibility_and_policy(void **state)
{
    struct apitest_server *srv = *state;
    char *priv = make_net(srv, NULL);
    char *shared = make_net(srv, "\"shared\": true");
    char *ext = make_net(srv, "\"router:external\": true");
    struct apitest_resp *r;
    char path[300];

    char *sp = make_subnet(srv, P1, priv, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\"");
    char *ss = make_subnet(srv, P1, shared, "\"ip_version\": 4, \"cidr\": "
                           "\"10.1.0.0/24\"");
    char *se = make_subnet(srv, P1, ext, "\"ip_version\": 4, \"cidr\": "
                           "\"10.2.0.0/24\"");
    /* The admin puts a subnet of P3 on P1's shared network. */
    r = post_subnet(srv, NULL, shared, "\"ip_version\": 4, \"cidr\": "
                    "\"10.3.0.0/24\", \"tenant_id\": \"" P3 "\"");
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "subnet/project_id"), P3);
    char *s3 = xstrdup(jstr(r->json, "subnet/id"));
    apitest_resp_free(r);

    /* P2 sees the subnets of shared and external networks only. */
    r = subnet_call(srv, "GET", sp, P2, NULL);
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);
    r = subnet_call(srv, "GET", ss, P2, NULL);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = subnet_call(srv, "GET", se, P2, NULL);
    assert_status(r, 200);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s&network_id=%s"
             "&network_id=%s&fields=id", priv, shared, ext);
    r = api_call(srv, "GET", path, P2, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "subnets"), 3);
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 4);
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, NULL, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 4);
    apitest_resp_free(r);

    /* P2 cannot create on others' networks: 404 where it cannot see the
     * network, 403 where it can (create_subnet is admin or network
     * owner). */
    r = post_subnet(srv, P2, priv, "\"ip_version\": 4, \"cidr\": "
                    "\"10.9.0.0/24\"");
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);
    r = post_subnet(srv, P2, shared, "\"ip_version\": 4, \"cidr\": "
                    "\"10.9.0.0/24\"");
    assert_error_text(r, 403, "PolicyNotAuthorized",
                 "(rule:create_subnet) is disallowed by policy");
    apitest_resp_free(r);
    r = post_subnet(srv, P2, ext, "\"ip_version\": 4, \"cidr\": "
                    "\"10.9.0.0/24\"");
    assert_error_text(r, 403, "PolicyNotAuthorized", NULL);
    apitest_resp_free(r);
    /* Nor name another project. */
    r = post_subnet(srv, P2, shared, "\"ip_version\": 4, \"cidr\": "
                    "\"10.9.0.0/24\", \"tenant_id\": \"" P1 "\"");
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);

    /* P2 may neither change nor delete: 404 unseen, 403 seen. */
    r = put_subnet(srv, sp, P2, "\"name\": \"x\"");
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", sp, P2, NULL);
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);
    r = put_subnet(srv, ss, P2, "\"name\": \"x\"");
    assert_error_text(r, 403, "PolicyNotAuthorized",
                 "(rule:update_subnet) is disallowed by policy");
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", se, P2, NULL);
    assert_error_text(r, 403, "PolicyNotAuthorized",
                 "(rule:delete_subnet) is disallowed by policy");
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/subnets/%s/tags/t", ss);
    r = api_call(srv, "PUT", path, P2, NULL);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);

    /* The network owner may change and delete P3's subnet on it. */
    r = put_subnet(srv, s3, P1, "\"name\": \"by-network-owner\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "subnet/project_id"), P3);
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", s3, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);

    /* The admin may do anything. */
    r = put_subnet(srv, sp, NULL, "\"name\": \"admin\"");
    assert_status(r, 200);
    apitest_resp_free(r);

    delete_net(srv, priv);
    delete_net(srv, shared);
    delete_net(srv, ext);
    free(sp);
    free(ss);
    free(se);
    free(s3);
    free(priv);
    free(shared);
    free(ext);
}

/* ---- Delete ---- */

static void
test_delete_in_use(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *id = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\"");
    char *port = make_port(srv, net, "\"device_owner\": \"compute:nova\"");
    struct apitest_resp *r;
    char text[200];

    r = get_port(srv, port);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 1);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/subnet_id"), id);
    apitest_resp_free(r);

    r = subnet_call(srv, "DELETE", id, P1, NULL);
    snprintf(text, sizeof text, "Unable to complete operation on subnet %s: "
             "One or more ports have an IP allocation from this subnet.", id);
    assert_error_text(r, 409, "SubnetInUse", text);
    apitest_resp_free(r);

    /* A DHCP port does not hold the subnet: it loses its address. */
    delete_port(srv, port);
    char *dhcp = make_port(srv, net, "\"device_owner\": \"network:dhcp\"");
    r = get_port(srv, dhcp);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 1);
    long long rev = jint(r->json, "port/revision_number");
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", id, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = get_port(srv, dhcp);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 0);
    assert_true(jint(r->json, "port/revision_number") > rev);
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", id, P1, NULL);
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);

    /* A router interface holds even an auto-address subnet; other ports
     * only lose their auto-address. */
    char *v6 = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                           "\"2001:db8::/64\", \"ipv6_ra_mode\": \"slaac\", "
                           "\"ipv6_address_mode\": \"slaac\"");
    char *vm = make_port(srv, net, "\"device_owner\": \"compute:nova\", "
                         "\"mac_address\": \"fa:16:3e:aa:bb:cc\"");
    r = get_port(srv, vm);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 1);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "2001:db8::f816:3eff:feaa:bbcc");
    apitest_resp_free(r);
    char fields[300];
    snprintf(fields, sizeof fields, "\"device_owner\": "
             "\"network:router_interface\", \"device_id\": \"r1\", "
             "\"fixed_ips\": [{\"subnet_id\": \"%s\", \"ip_address\": "
             "\"2001:db8::1\"}]", v6);
    char *ri = make_port(srv, net, fields);
    r = subnet_call(srv, "DELETE", v6, P1, NULL);
    assert_error_text(r, 409, "SubnetInUse", NULL);
    apitest_resp_free(r);
    delete_port(srv, ri);
    r = subnet_call(srv, "DELETE", v6, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = get_port(srv, vm);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 0);
    apitest_resp_free(r);

    delete_port(srv, vm);
    delete_port(srv, dhcp);
    delete_net(srv, net);
    free(ri);
    free(vm);
    free(v6);
    free(dhcp);
    free(port);
    free(id);
    free(net);
}

static void
test_gateway_in_use(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *id = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\"");
    char fields[300];
    struct apitest_resp *r;

    snprintf(fields, sizeof fields, "\"device_owner\": "
             "\"network:router_interface\", \"device_id\": \"r1\", "
             "\"fixed_ips\": [{\"subnet_id\": \"%s\", \"ip_address\": "
             "\"10.0.0.1\"}]", id);
    char *ri = make_port(srv, net, fields);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.254\", "
                   "\"allocation_pools\": [{\"start\": \"10.0.0.2\", "
                   "\"end\": \"10.0.0.200\"}]");
    char text[200];
    snprintf(text, sizeof text, "Current gateway ip 10.0.0.1 already in use "
             "by port %s. Unable to update.", ri);
    assert_error_text(r, 409, "GatewayIpInUse", text);
    apitest_resp_free(r);
    /* The same gateway again is no change. */
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.1\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = subnet_call(srv, "DELETE", id, P1, NULL);
    assert_error_text(r, 409, "SubnetInUse", NULL);
    apitest_resp_free(r);
    delete_port(srv, ri);
    r = put_subnet(srv, id, P1, "\"gateway_ip\": \"10.0.0.254\", "
                   "\"allocation_pools\": [{\"start\": \"10.0.0.2\", "
                   "\"end\": \"10.0.0.200\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);

    /* Existing addresses outside new pools stay. */
    char *vm = make_port(srv, net, "\"fixed_ips\": [{\"ip_address\": "
                         "\"10.0.0.150\"}]");
    r = put_subnet(srv, id, P1, "\"allocation_pools\": [{\"start\": "
                   "\"10.0.0.2\", \"end\": \"10.0.0.100\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = get_port(srv, vm);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.0.0.150");
    apitest_resp_free(r);
    delete_port(srv, vm);
    delete_net(srv, net);
    free(vm);
    free(ri);
    free(id);
    free(net);
}

/* A new auto-address subnet gives existing ports their address. */
static void
test_auto_address_existing_ports(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *v4 = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                           "\"10.0.0.0/24\"");
    char *vm = make_port(srv, net, "\"mac_address\": \"fa:16:3e:01:02:03\"");
    struct apitest_resp *r = get_port(srv, vm);
    long long rev = jint(r->json, "port/revision_number");
    apitest_resp_free(r);

    char *v6 = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                           "\"2001:db8:5::/64\", \"ipv6_address_mode\": "
                           "\"dhcpv6-stateless\", \"ipv6_ra_mode\": "
                           "\"dhcpv6-stateless\"");
    r = get_port(srv, vm);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    bool found = false;
    for (int i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "port/fixed_ips/%d/ip_address", i);
        found |= !strcmp(jstr(r->json, p), "2001:db8:5:0:f816:3eff:fe01:203");
    }
    assert_true(found);
    assert_true(jint(r->json, "port/revision_number") > rev);
    apitest_resp_free(r);

    /* A new port gets both too. */
    char *vm2 = make_port(srv, net, "\"mac_address\": \"fa:16:3e:01:02:04\"");
    r = get_port(srv, vm2);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    apitest_resp_free(r);

    delete_port(srv, vm);
    delete_port(srv, vm2);
    delete_net(srv, net);
    free(vm);
    free(vm2);
    free(v4);
    free(v6);
    free(net);
}

static void
test_network_delete_takes_subnets(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *a = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.0.0/24\", \"dns_nameservers\": "
                          "[\"8.8.8.8\"], \"host_routes\": [{\"destination\":"
                          " \"10.5.0.0/16\", \"nexthop\": \"10.0.0.3\"}]");
    char *b = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                          "\"2001:db8::/64\"");
    char path[200];
    snprintf(path, sizeof path, "/v2.0/subnets/%s/tags/keep", a);
    struct apitest_resp *r = api_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);
    char *dhcp = make_port(srv, net, "\"device_owner\": \"network:dhcp\"");

    /* A user port holds the network. */
    char *vm = make_port(srv, net, "");
    snprintf(path, sizeof path, "/v2.0/networks/%s", net);
    r = api_call(srv, "DELETE", path, NULL, NULL);
    assert_error_text(r, 409, "NetworkInUse", NULL);
    apitest_resp_free(r);
    delete_port(srv, vm);

    delete_net(srv, net);
    r = subnet_call(srv, "GET", a, NULL, NULL);
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);
    r = subnet_call(srv, "GET", b, NULL, NULL);
    assert_error_text(r, 404, "SubnetNotFound", NULL);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/subnets?tags=keep", NULL, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 0);
    apitest_resp_free(r);
    free(vm);
    free(dhcp);
    free(a);
    free(b);
    free(net);
}

/* The segment of a network, for the admin. */
static char *
first_segment(struct apitest_server *srv, const char *net)
{
    char path[200];

    snprintf(path, sizeof path, "/v2.0/segments?network_id=%s", net);
    struct apitest_resp *r = api_call(srv, "GET", path, NULL, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "segments"), 1);
    char *id = xstrdup(jstr(r->json, "segments/0/id"));
    apitest_resp_free(r);
    return id;
}

static void
test_segments(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *other = make_net(srv, NULL);
    char *seg = first_segment(srv, net);
    char *oseg = first_segment(srv, other);
    char fields[400];
    struct apitest_resp *r;

    snprintf(fields, sizeof fields, "\"tenant_id\": \"" P1 "\", "
             "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"segment_id\": "
             "\"%s\"", oseg);
    r = post_subnet(srv, NULL, net, fields);
    char text[300];
    snprintf(text, sizeof text, "The subnet's network id, '%s', doesn't "
             "match the network_id of segment '%s'", net, oseg);
    assert_error_text(r, 400, "NetworkIdsDontMatch", text);
    apitest_resp_free(r);

    snprintf(fields, sizeof fields, "\"tenant_id\": \"" P1 "\", "
             "\"ip_version\": 4, \"cidr\": \"10.0.0.0/24\", \"segment_id\": "
             "\"%s\"", seg);
    r = post_subnet(srv, NULL, net, fields);
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "subnet/segment_id"), seg);
    char *id = xstrdup(jstr(r->json, "subnet/id"));
    apitest_resp_free(r);

    /* The project does not see it; the admin filters on it. */
    r = subnet_call(srv, "GET", id, P1, NULL);
    assert_status(r, 200);
    assert_false(has_key(jpath(r->json, "subnet"), "segment_id"));
    apitest_resp_free(r);
    char path[200];
    snprintf(path, sizeof path, "/v2.0/subnets?segment_id=%s", seg);
    r = api_call(srv, "GET", path, NULL, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 1);
    apitest_resp_free(r);

    /* All of a network's subnets are on segments, or none. */
    r = post_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                    "\"10.0.1.0/24\"");
    snprintf(text, sizeof text, "All of the subnets on network '%s' must "
             "either all be associated with segments or all not associated "
             "with any segment.", net);
    assert_error_text(r, 400, "SubnetsNotAllAssociatedWithSegments", text);
    apitest_resp_free(r);
    char *plain = make_subnet(srv, P1, other, "\"ip_version\": 4, \"cidr\": "
                              "\"10.0.1.0/24\"");
    snprintf(fields, sizeof fields, "\"tenant_id\": \"" P1 "\", "
             "\"ip_version\": 4, \"cidr\": \"10.0.2.0/24\", \"segment_id\": "
             "\"%s\"", oseg);
    r = post_subnet(srv, NULL, other, fields);
    assert_error_text(r, 400, "SubnetsNotAllAssociatedWithSegments", NULL);
    apitest_resp_free(r);

    /* A segment with subnets stays. */
    snprintf(path, sizeof path, "/v2.0/segments/%s", seg);
    r = api_call(srv, "DELETE", path, NULL, NULL);
    assert_neutron_error(r, 409, "SegmentInUse");
    apitest_resp_free(r);

    delete_net(srv, net);
    delete_net(srv, other);
    free(plain);
    free(id);
    free(seg);
    free(oseg);
    free(net);
    free(other);
}

/* ---- Tags, filters, bulk ---- */

static void
test_tags_and_filters(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char *a = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.0.0/24\", \"name\": \"a\"");
    char *b = make_subnet(srv, P1, net, "\"ip_version\": 4, \"cidr\": "
                          "\"10.0.1.0/24\", \"name\": \"b\", "
                          "\"enable_dhcp\": false");
    char *c = make_subnet(srv, P1, net, "\"ip_version\": 6, \"cidr\": "
                          "\"2001:db8::/64\", \"name\": \"c\"");
    char path[300];
    struct apitest_resp *r;

    snprintf(path, sizeof path, "/v2.0/subnets/%s/tags", a);
    r = api_call(srv, "PUT", path, P1, "{\"tags\": [\"red\", \"blue\"]}");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "tags"), 2);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/subnets/%s/tags/red", b);
    r = api_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);

    r = subnet_call(srv, "GET", a, P1, NULL);
    assert_int_equal(jlen(r->json, "subnet/tags"), 2);
    assert_int_equal(jint(r->json, "subnet/revision_number"), 1);
    apitest_resp_free(r);

    static const struct {
        const char *query;
        size_t n;
    } filters[] = {
        { "tags=red", 2 },
        { "tags=red,blue", 1 },
        { "not-tags=red", 1 },
        { "tags-any=blue,green", 1 },
        { "ip_version=6", 1 },
        { "ip_version=4", 2 },
        { "enable_dhcp=false", 1 },
        { "cidr=10.0.1.0/24", 1 },
        { "name=a&name=c", 2 },
        { "gateway_ip=10.0.0.1", 1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
        snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s&%s", net,
                 filters[i].query);
        r = api_call(srv, "GET", path, P1, NULL);
        assert_status(r, 200);
        if (jlen(r->json, "subnets") != filters[i].n) {
            fail_msg("%s: %zu subnets, expected %zu", filters[i].query,
                     jlen(r->json, "subnets"), filters[i].n);
        }
        apitest_resp_free(r);
    }

    /* Sorting, paging and fields. */
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s&sort_key=name"
             "&sort_dir=desc&limit=2&fields=name&fields=cidr", net);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "subnets"), 2);
    assert_string_equal(jstr(r->json, "subnets/0/name"), "c");
    assert_string_equal(jstr(r->json, "subnets/1/name"), "b");
    assert_false(has_key(jpath(r->json, "subnets/0"), "id"));
    assert_non_null(jstr(r->json, "subnets/0/cidr"));
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s&fields="
             "allocation_pools", net);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "subnets/0/allocation_pools"), 1);
    apitest_resp_free(r);

    /* Filters that do not exist or are the admin's. */
    r = api_call(srv, "GET", "/v2.0/subnets?segment_id=x", P1, NULL);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/subnets?dns_nameservers=8.8.8.8", P1,
                 NULL);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);

    delete_net(srv, net);
    free(a);
    free(b);
    free(c);
    free(net);
}

static void
test_bulk(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL);
    char body[2048], path[200];
    struct apitest_resp *r;

    snprintf(body, sizeof body, "{\"subnets\": ["
             "{\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": "
             "\"10.0.0.0/24\"}, "
             "{\"network_id\": \"%s\", \"ip_version\": 6, \"cidr\": "
             "\"2001:db8::/64\"}]}", net, net);
    r = api_call(srv, "POST", "/v2.0/subnets", P1, body);
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "subnets"), 2);
    assert_string_equal(jstr(r->json, "subnets/1/gateway_ip"),
                        "2001:db8::1");
    apitest_resp_free(r);

    /* Atomic: the second overlaps the first, nothing is created. */
    snprintf(body, sizeof body, "{\"subnets\": ["
             "{\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": "
             "\"10.1.0.0/24\"}, "
             "{\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": "
             "\"10.1.0.0/25\"}]}", net, net);
    r = api_call(srv, "POST", "/v2.0/subnets", P1, body);
    assert_error_text(r, 400, "InvalidInput", "overlaps with another subnet");
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/subnets?network_id=%s", net);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "subnets"), 2);
    apitest_resp_free(r);
    delete_net(srv, net);
    free(net);
}

int
main(void)
{
    const struct CMUnitTest shared_server[] = {
        cmocka_unit_test(test_defaults_v4),
        cmocka_unit_test(test_all_attributes),
        cmocka_unit_test(test_cidr_and_gateway_defaults),
        cmocka_unit_test(test_invalid_create),
        cmocka_unit_test(test_max_limits),
        cmocka_unit_test(test_overlapping_cidrs),
        cmocka_unit_test(test_ipv6_modes),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_visibility_and_policy),
        cmocka_unit_test(test_delete_in_use),
        cmocka_unit_test(test_gateway_in_use),
        cmocka_unit_test(test_auto_address_existing_ports),
        cmocka_unit_test(test_network_delete_takes_subnets),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_tags_and_filters),
        cmocka_unit_test(test_bulk),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_limits_configurable),
    };
    int failed = cmocka_run_group_tests(shared_server, group_setup,
                                        group_teardown);
    failed += cmocka_run_group_tests(own_server, NULL, NULL);
    return failed;
}
