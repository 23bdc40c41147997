/* tests/api/test_networks.c: networks and segments as a client sees them:
 * defaults and every attribute, tenant segments from the type drivers
 * until they run out, provider and multi-provider networks (valid and
 * each invalid case), the segments resource, who sees and changes what,
 * segment release on delete, and MTUs per network type.  Runs on both
 * database engines. */
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

/* The server most tests share: tenant networks are VXLAN. */
static const char main_config[] =
    "[ml2]\n"
    "type_drivers = local,flat,vlan,vxlan,gre,geneve\n"
    "tenant_network_types = vxlan\n"
    "[ml2_type_flat]\n"
    "flat_networks = flat1,flat2,flat3\n"
    "[ml2_type_vlan]\n"
    "network_vlan_ranges = physnet1:100:199,physnet2\n"
    "[ml2_type_vxlan]\n"
    "vni_ranges = 1000:1999\n"
    "[ml2_type_gre]\n"
    "tunnel_id_ranges = 1:100\n"
    "[ml2_type_geneve]\n"
    "vni_ranges = 1:100\n";

static int
group_setup(void **state)
{
    *state = apitest_server_start(main_config);
    return 0;
}

static int
group_teardown(void **state)
{
    apitest_server_stop(*state);
    return 0;
}

/* POSTs {"network": {<fields>}} as 'project' (NULL: admin, for P1). */
static struct apitest_resp *
post_net(struct apitest_server *srv, const char *project, const char *fields)
{
    char body[2048];

    snprintf(body, sizeof body, "{\"network\": {%s%s%s}}",
             project ? "" : "\"tenant_id\": \"" P1 "\"",
             !project && *fields ? ", " : "", fields);
    return api_call(srv, "POST", "/v2.0/networks", project, body);
}

/* Creates a network that must succeed; returns its id (malloc'd). */
static char *
make_net(struct apitest_server *srv, const char *project, const char *fields)
{
    struct apitest_resp *r = post_net(srv, project, fields);

    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    return id;
}

static struct apitest_resp *
net_call(struct apitest_server *srv, const char *method, const char *id,
         const char *project, const char *body)
{
    char path[128];

    snprintf(path, sizeof path, "/v2.0/networks/%s", id);
    return api_call(srv, method, path, project, body);
}

static void
delete_net(struct apitest_server *srv, const char *id)
{
    struct apitest_resp *r = net_call(srv, "DELETE", id, NULL, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
}

static bool
has_key(yajl_val obj, const char *key)
{
    return jpath(obj, key) != NULL;
}

static void
test_defaults_and_attributes(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = post_net(srv, P1, "");

    assert_status(r, 201);
    yajl_val net = jpath(r->json, "network");
    char *id = xstrdup(jstr(net, "id"));
    assert_true(uuid_is_valid(id));
    assert_string_equal(jstr(net, "name"), "");
    assert_string_equal(jstr(net, "project_id"), P1);
    assert_string_equal(jstr(net, "tenant_id"), P1);
    assert_true(YAJL_IS_TRUE(jpath(net, "admin_state_up")));
    assert_string_equal(jstr(net, "status"), "ACTIVE");
    assert_true(YAJL_IS_FALSE(jpath(net, "shared")));
    assert_true(YAJL_IS_ARRAY(jpath(net, "subnets")));
    assert_int_equal(jlen(net, "subnets"), 0);
    assert_string_equal(jstr(net, "description"), "");
    assert_int_equal(jint(net, "revision_number"), 0);
    assert_int_equal(jlen(net, "tags"), 0);
    assert_non_null(jstr(net, "created_at"));
    assert_non_null(jstr(net, "updated_at"));
    assert_int_equal(jint(net, "mtu"), 1450);         /* VXLAN, IPv4 */
    assert_true(YAJL_IS_FALSE(jpath(net, "router:external")));
    assert_true(YAJL_IS_TRUE(jpath(net, "port_security_enabled")));
    /* Provider attributes are the admin's. */
    assert_false(has_key(net, "provider:network_type"));
    assert_false(has_key(net, "provider:physical_network"));
    assert_false(has_key(net, "provider:segmentation_id"));
    assert_false(has_key(net, "segments"));
    apitest_resp_free(r);

    /* The admin sees the tenant segment. */
    r = net_call(srv, "GET", id, NULL, NULL);
    assert_status(r, 200);
    net = jpath(r->json, "network");
    assert_string_equal(jstr(net, "provider:network_type"), "vxlan");
    assert_true(YAJL_IS_NULL(jpath(net, "provider:physical_network")));
    long long vni = jint(net, "provider:segmentation_id");
    assert_true(vni >= 1000 && vni <= 1999);
    assert_false(has_key(net, "segments"));
    apitest_resp_free(r);

    /* Every writable attribute on create. */
    r = post_net(srv, P1, "\"name\": \"full\", \"description\": \"d\", "
                 "\"admin_state_up\": false, "
                 "\"port_security_enabled\": false");
    assert_status(r, 201);
    net = jpath(r->json, "network");
    assert_string_equal(jstr(net, "name"), "full");
    assert_string_equal(jstr(net, "description"), "d");
    assert_true(YAJL_IS_FALSE(jpath(net, "admin_state_up")));
    assert_true(YAJL_IS_FALSE(jpath(net, "port_security_enabled")));
    char *id2 = xstrdup(jstr(net, "id"));
    apitest_resp_free(r);

    /* Admin-only ones, by the admin. */
    r = post_net(srv, NULL, "\"shared\": true, \"router:external\": true");
    assert_status(r, 201);
    assert_true(YAJL_IS_TRUE(jpath(r->json, "network/shared")));
    assert_true(YAJL_IS_TRUE(jpath(r->json, "network/router:external")));
    char *id3 = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);

    /* Read-only ones. */
    r = post_net(srv, P1, "\"mtu\": 1000");
    assert_error_text(r, 400, "HTTPBadRequest", "'mtu' not allowed in POST");
    apitest_resp_free(r);
    r = post_net(srv, P1, "\"status\": \"DOWN\"");
    assert_error_text(r, 400, "HTTPBadRequest", "not allowed in POST");
    apitest_resp_free(r);
    r = post_net(srv, P1, "\"subnets\": []");
    assert_error_text(r, 400, "HTTPBadRequest", "not allowed in POST");
    apitest_resp_free(r);
    r = net_call(srv, "PUT", id, P1, "{\"network\": {\"mtu\": 1000}}");
    assert_error_text(r, 400, "HTTPBadRequest",
                 "Cannot update read-only attribute mtu");
    apitest_resp_free(r);

    delete_net(srv, id);
    delete_net(srv, id2);
    delete_net(srv, id3);
    free(id);
    free(id2);
    free(id3);
}

static void
test_crud(void **state)
{
    struct apitest_server *srv = *state;
    char *id = make_net(srv, P1, "\"name\": \"crud\"");
    struct apitest_resp *r;

    r = net_call(srv, "GET", id, P1, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/name"), "crud");
    apitest_resp_free(r);

    r = api_call(srv, "GET", "/v2.0/networks?name=crud", P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 1);
    assert_string_equal(jstr(r->json, "networks/0/id"), id);
    assert_int_equal(jlen(r->json, "networks/0/subnets"), 0);
    apitest_resp_free(r);

    r = net_call(srv, "PUT", id, P1,
                 "{\"network\": {\"name\": \"crud2\", \"admin_state_up\": "
                 "false, \"port_security_enabled\": false, "
                 "\"description\": \"x\"}}");
    assert_status(r, 200);
    yajl_val net = jpath(r->json, "network");
    assert_string_equal(jstr(net, "name"), "crud2");
    assert_true(YAJL_IS_FALSE(jpath(net, "admin_state_up")));
    assert_true(YAJL_IS_FALSE(jpath(net, "port_security_enabled")));
    assert_string_equal(jstr(net, "description"), "x");
    assert_int_equal(jint(net, "revision_number"), 1);
    assert_int_equal(jint(net, "mtu"), 1450);
    apitest_resp_free(r);

    /* A non-admin owner cannot make it shared or external. */
    r = net_call(srv, "PUT", id, P1, "{\"network\": {\"shared\": true}}");
    assert_error_text(r, 403, "PolicyNotAuthorized", "update_network:shared");
    apitest_resp_free(r);
    r = net_call(srv, "PUT", id, P1,
                 "{\"network\": {\"router:external\": true}}");
    assert_error_text(r, 403, "PolicyNotAuthorized", NULL);
    apitest_resp_free(r);

    r = net_call(srv, "DELETE", id, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = net_call(srv, "GET", id, P1, NULL);
    char msg[128];
    snprintf(msg, sizeof msg, "Network %s could not be found.", id);
    assert_error_text(r, 404, "NetworkNotFound", msg);
    apitest_resp_free(r);
    r = net_call(srv, "DELETE", id, NULL, NULL);
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);
    free(id);
}

/* Tenant VLANs from a range of three, until they run out. */
static void
test_tenant_exhaustion(void **state)
{
    (void) state;
    struct apitest_server *srv = apitest_server_start(
        "[ml2]\ntype_drivers = local,vlan\ntenant_network_types = vlan\n"
        "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:102\n");
    /* The API logs every 5xx answer, 503 NoNetworkAvailable included, as
     * an ERR line. */
    srv->allow_errors = true;
    char *ids[3];
    bool seen[3] = { false };
    struct apitest_resp *r;

    for (int i = 0; i < 3; i++) {
        r = post_net(srv, NULL, "");
        assert_status(r, 201);
        yajl_val net = jpath(r->json, "network");
        assert_string_equal(jstr(net, "provider:network_type"), "vlan");
        assert_string_equal(jstr(net, "provider:physical_network"),
                            "physnet1");
        long long vlan = jint(net, "provider:segmentation_id");
        assert_true(vlan >= 100 && vlan <= 102);
        assert_false(seen[vlan - 100]);
        seen[vlan - 100] = true;
        assert_int_equal(jint(net, "mtu"), 1500);
        ids[i] = xstrdup(jstr(net, "id"));
        apitest_resp_free(r);
    }
    r = post_net(srv, P1, "");
    assert_error_text(r, 503, "NoNetworkAvailable",
                 "Unable to create the network. No tenant network is "
                 "available for allocation.");
    apitest_resp_free(r);

    /* Free one: the next network gets that VLAN back. */
    r = net_call(srv, "GET", ids[1], NULL, NULL);
    long long freed = jint(r->json, "network/provider:segmentation_id");
    apitest_resp_free(r);
    delete_net(srv, ids[1]);
    free(ids[1]);
    r = post_net(srv, NULL, "");
    assert_status(r, 201);
    assert_int_equal(jint(r->json, "network/provider:segmentation_id"),
                     freed);
    ids[1] = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);

    /* A bulk create that runs out half way creates nothing. */
    delete_net(srv, ids[0]);
    free(ids[0]);
    r = api_call(srv, "POST", "/v2.0/networks", P1,
                 "{\"networks\": [{\"name\": \"b1\"}, {\"name\": \"b2\"}]}");
    assert_error_text(r, 503, "NoNetworkAvailable", NULL);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?name=b1", NULL, NULL);
    assert_int_equal(jlen(r->json, "networks"), 0);
    apitest_resp_free(r);
    ids[0] = make_net(srv, NULL, "");

    /* Types without a driver in type_drivers are refused. */
    r = post_net(srv, NULL, "\"provider:network_type\": \"gre\", "
                 "\"provider:segmentation_id\": 5");
    assert_error_text(r, 400, "InvalidInput",
                 "network_type value 'gre' not supported");
    apitest_resp_free(r);
    for (int i = 0; i < 3; i++) {
        delete_net(srv, ids[i]);
        free(ids[i]);
    }
    apitest_server_stop(srv);
}

/* Creates a provider network and checks its segment and MTU; returns its
 * id.  'physnet' NULL: none; "*": any. */
static char *
check_provider(struct apitest_server *srv, const char *fields,
               const char *type, const char *physnet, long long segid_min,
               long long segid_max, long long mtu)
{
    struct apitest_resp *r = post_net(srv, NULL, fields);

    assert_status(r, 201);
    yajl_val net = jpath(r->json, "network");
    assert_string_equal(jstr(net, "provider:network_type"), type);
    if (physnet && !strcmp(physnet, "*")) {
        assert_non_null(jstr(net, "provider:physical_network"));
    } else if (physnet) {
        assert_string_equal(jstr(net, "provider:physical_network"), physnet);
    } else {
        assert_true(YAJL_IS_NULL(jpath(net, "provider:physical_network")));
    }
    if (segid_min < 0) {
        assert_true(YAJL_IS_NULL(jpath(net, "provider:segmentation_id")));
    } else {
        long long id = jint(net, "provider:segmentation_id");
        if (id < segid_min || id > segid_max) {
            fail_msg("%s: segmentation id %lld not in [%lld, %lld]", fields,
                     id, segid_min, segid_max);
        }
    }
    assert_int_equal(jint(net, "mtu"), mtu);
    char *id = xstrdup(jstr(net, "id"));
    apitest_resp_free(r);

    /* Shown the same way. */
    r = net_call(srv, "GET", id, NULL, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/provider:network_type"),
                        type);
    assert_false(has_key(jpath(r->json, "network"), "segments"));
    apitest_resp_free(r);
    return id;
}

static void
test_provider_networks(void **state)
{
    struct apitest_server *srv = *state;
    char *ids[16];
    size_t n = 0;

    ids[n++] = check_provider(srv, "\"provider:network_type\": \"flat\", "
                              "\"provider:physical_network\": \"flat1\"",
                              "flat", "flat1", -1, -1, 1500);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vlan\", "
                              "\"provider:physical_network\": \"physnet1\", "
                              "\"provider:segmentation_id\": 5",
                              "vlan", "physnet1", 5, 5, 1500);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vlan\", "
                              "\"provider:physical_network\": \"physnet1\", "
                              "\"provider:segmentation_id\": \"150\"",
                              "vlan", "physnet1", 150, 150, 1500);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vlan\", "
                              "\"provider:physical_network\": \"physnet2\", "
                              "\"provider:segmentation_id\": 4094",
                              "vlan", "physnet2", 4094, 4094, 1500);
    /* Partial VLAN segments get an id from the ranges. */
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vlan\", "
                              "\"provider:physical_network\": \"physnet1\"",
                              "vlan", "physnet1", 100, 199, 1500);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vlan\"",
                              "vlan", "*", 1, 4094, 1500);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vxlan\", "
                              "\"provider:segmentation_id\": 50000",
                              "vxlan", NULL, 50000, 50000, 1450);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"vxlan\"",
                              "vxlan", NULL, 1000, 1999, 1450);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"gre\", "
                              "\"provider:segmentation_id\": 4294967295",
                              "gre", NULL, 4294967295LL, 4294967295LL,
                              1458);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"geneve\", "
                              "\"provider:segmentation_id\": 7",
                              "geneve", NULL, 7, 7, 1450);
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"local\"",
                              "local", NULL, -1, -1, 1500);
    /* Null provider values count as not given. */
    ids[n++] = check_provider(srv, "\"provider:network_type\": \"local\", "
                              "\"provider:segmentation_id\": null, "
                              "\"provider:physical_network\": null",
                              "local", NULL, -1, -1, 1500);

    /* Filters on provider attributes. */
    struct apitest_resp *r = api_call(
        srv, "GET", "/v2.0/networks?provider:network_type=vlan"
        "&provider:physical_network=physnet1&provider:segmentation_id=5",
        NULL, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 1);
    assert_string_equal(jstr(r->json, "networks/0/id"), ids[1]);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?provider:network_type=flat"
                 "&provider:network_type=geneve", NULL, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 2);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?provider:segmentation_id=x",
                 NULL, NULL);
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    for (size_t i = 0; i < n; i++) {
        delete_net(srv, ids[i]);
        free(ids[i]);
    }
}

static void
test_provider_errors(void **state)
{
    struct apitest_server *srv = *state;
    static const struct {
        const char *fields;
        long status;
        const char *type, *text;
    } cases[] = {
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"physnet1\", \"provider:segmentation_id\": 4095",
          400, "InvalidInput", "Invalid input for operation: segmentation_id "
          "out of range (1 through 4094)." },
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"physnet1\", \"provider:segmentation_id\": 0",
          400, "InvalidInput", "segmentation_id out of range" },
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"physnet1\", \"provider:segmentation_id\": -3",
          400, "InvalidInput", "segmentation_id out of range" },
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"nope\", \"provider:segmentation_id\": 10",
          400, "InvalidInput", "physical_network 'nope' unknown for VLAN "
          "provider network" },
        { "\"provider:network_type\": \"vlan\", "
          "\"provider:segmentation_id\": 10",
          400, "InvalidInput", "segmentation_id requires physical_network "
          "for VLAN provider network" },
        { "\"provider:network_type\": \"flat\"",
          400, "InvalidInput", "physical_network required for flat provider "
          "network" },
        { "\"provider:network_type\": \"flat\", "
          "\"provider:physical_network\": \"physnet9\"",
          400, "InvalidInput", "physical_network 'physnet9' unknown for flat "
          "provider network" },
        { "\"provider:network_type\": \"flat\", "
          "\"provider:physical_network\": \"flat1\", "
          "\"provider:segmentation_id\": 3",
          400, "InvalidInput", "segmentation_id prohibited for flat provider "
          "network" },
        { "\"provider:network_type\": \"local\", "
          "\"provider:segmentation_id\": 3",
          400, "InvalidInput", "segmentation_id prohibited for local "
          "provider network" },
        { "\"provider:network_type\": \"local\", "
          "\"provider:physical_network\": \"physnet1\"",
          400, "InvalidInput", "physical_network prohibited for local "
          "provider network" },
        { "\"provider:network_type\": \"vxlan\", "
          "\"provider:physical_network\": \"physnet1\"",
          400, "InvalidInput", "provider:physical_network specified for "
          "vxlan network" },
        { "\"provider:network_type\": \"vxlan\", "
          "\"provider:segmentation_id\": 16777216",
          400, "InvalidInput", "segmentation_id out of range (1 through "
          "16777215)" },
        { "\"provider:network_type\": \"foo\"",
          400, "InvalidInput", "network_type value 'foo' not supported" },
        { "\"provider:physical_network\": \"physnet1\"",
          400, "InvalidInput", "network_type required" },
        { "\"provider:network_type\": \"vlan\", "
          "\"provider:physical_network\": \"physnet1\", "
          "\"provider:segmentation_id\": \"abc\"",
          400, "InvalidInput", "'abc' is not an integer" },
        { "\"provider:network_type\": \"vlan\", \"segments\": "
          "[{\"provider:network_type\": \"local\"}]",
          400, "SegmentsSetInConjunctionWithProviders",
          "Segments and provider values cannot both be set." },
        { "\"segments\": [{\"provider:network_type\": \"local\", "
          "\"foo\": 1}]",
          400, "HTTPBadRequest", "Unrecognized attribute(s) 'foo'" },
        { "\"segments\": [{\"provider:network_type\": \"vxlan\", "
          "\"provider:segmentation_id\": 77}, "
          "{\"provider:network_type\": \"vxlan\", "
          "\"provider:segmentation_id\": 77}]",
          400, "SegmentsContainDuplicateEntry",
          "Duplicate segment entry in request." },
        { "\"segments\": [{\"provider:network_type\": \"local\"}, "
          "{\"provider:physical_network\": \"physnet1\"}]",
          400, "InvalidInput", "network_type required" },
        { "\"segments\": {}", 400, "HTTPBadRequest", "segments" },
        { "\"provider:network_type\": 5", 400, "HTTPBadRequest",
          "provider:network_type" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct apitest_resp *r = post_net(srv, NULL, cases[i].fields);
        if (r->status != cases[i].status) {
            fail_msg("%s: status %ld, expected %ld: %s", cases[i].fields,
                     r->status, cases[i].status, r->body);
        }
        assert_error_text(r, cases[i].status, cases[i].type, cases[i].text);
        apitest_resp_free(r);
    }

    /* What someone else holds: 409. */
    static const struct {
        const char *fields, *type, *text;
    } taken[] = {
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"physnet1\", \"provider:segmentation_id\": 7", "VlanIdInUse",
          "Unable to create the network. The VLAN 7 on physical network "
          "physnet1 is in use." },
        { "\"provider:network_type\": \"vlan\", \"provider:physical_network\":"
          " \"physnet1\", \"provider:segmentation_id\": 170", "VlanIdInUse",
          "The VLAN 170 on physical network physnet1 is in use." },
        { "\"provider:network_type\": \"vxlan\", "
          "\"provider:segmentation_id\": 1500", "TunnelIdInUse",
          "Unable to create the network. The tunnel ID 1500 is in use." },
        { "\"provider:network_type\": \"gre\", "
          "\"provider:segmentation_id\": 200", "TunnelIdInUse",
          "The tunnel ID 200 is in use." },
        { "\"provider:network_type\": \"flat\", "
          "\"provider:physical_network\": \"flat2\"", "FlatNetworkInUse",
          "Unable to create the flat network. Physical network flat2 is in "
          "use." },
    };
    for (size_t i = 0; i < ARRAY_SIZE(taken); i++) {
        char *id = make_net(srv, NULL, taken[i].fields);
        struct apitest_resp *r = post_net(srv, NULL, taken[i].fields);
        assert_error_text(r, 409, taken[i].type, taken[i].text);
        apitest_resp_free(r);
        /* Also as one segment among several. */
        char fields[512];
        snprintf(fields, sizeof fields, "\"segments\": [{\"provider:"
                 "network_type\": \"local\"}, {%s}]", taken[i].fields);
        r = post_net(srv, NULL, fields);
        assert_error_text(r, 409, taken[i].type, NULL);
        apitest_resp_free(r);
        delete_net(srv, id);
        free(id);
    }
}

static void
test_multi_provider(void **state)
{
    struct apitest_server *srv = *state;
    static const char fields[] =
        "\"segments\": [{\"provider:network_type\": \"vlan\", "
        "\"provider:physical_network\": \"physnet2\", "
        "\"provider:segmentation_id\": 10}, "
        "{\"provider:network_type\": \"vxlan\"}, "
        "{\"provider:network_type\": \"flat\", "
        "\"provider:physical_network\": \"flat3\", "
        "\"provider:segmentation_id\": null}]";
    struct apitest_resp *r = post_net(srv, NULL, fields);

    assert_status(r, 201);
    yajl_val net = jpath(r->json, "network");
    char *id = xstrdup(jstr(net, "id"));
    assert_int_equal(jint(net, "mtu"), 1450);   /* the smallest */
    assert_false(has_key(net, "provider:network_type"));
    assert_int_equal(jlen(net, "segments"), 3);
    apitest_resp_free(r);

    r = net_call(srv, "GET", id, NULL, NULL);
    assert_status(r, 200);
    net = jpath(r->json, "network");
    assert_false(has_key(net, "provider:network_type"));
    assert_false(has_key(net, "provider:segmentation_id"));
    assert_int_equal(jlen(net, "segments"), 3);
    assert_string_equal(jstr(net, "segments/0/provider:network_type"),
                        "vlan");
    assert_string_equal(jstr(net, "segments/0/provider:physical_network"),
                        "physnet2");
    assert_int_equal(jint(net, "segments/0/provider:segmentation_id"), 10);
    assert_string_equal(jstr(net, "segments/1/provider:network_type"),
                        "vxlan");
    assert_true(YAJL_IS_NULL(jpath(net,
                                   "segments/1/provider:physical_network")));
    long long vni = jint(net, "segments/1/provider:segmentation_id");
    assert_true(vni >= 1000 && vni <= 1999);
    assert_string_equal(jstr(net, "segments/2/provider:network_type"),
                        "flat");
    assert_true(YAJL_IS_NULL(jpath(net,
                                   "segments/2/provider:segmentation_id")));
    apitest_resp_free(r);

    /* The owner does not see segments. */
    r = net_call(srv, "GET", id, P1, NULL);
    assert_status(r, 200);
    assert_false(has_key(jpath(r->json, "network"), "segments"));
    apitest_resp_free(r);

    /* Provider filters match any segment. */
    r = api_call(srv, "GET", "/v2.0/networks?provider:physical_network=flat3",
                 NULL, NULL);
    assert_int_equal(jlen(r->json, "networks"), 1);
    assert_string_equal(jstr(r->json, "networks/0/id"), id);
    apitest_resp_free(r);

    /* Provider attributes of a multi-segment network cannot change. */
    r = net_call(srv, "PUT", id, NULL,
                 "{\"network\": {\"provider:segmentation_id\": 11}}");
    assert_error_text(r, 400, "InvalidInput", "Provider network attributes can "
                 "be updated only in provider networks with a single "
                 "segment.");
    apitest_resp_free(r);
    r = net_call(srv, "PUT", id, NULL,
                 "{\"network\": {\"segments\": []}}");
    assert_error_text(r, 400, "InvalidInput", "Plugin does not support updating");
    apitest_resp_free(r);

    /* Deleting releases every segment: the same request works again. */
    delete_net(srv, id);
    free(id);
    id = make_net(srv, NULL, fields);
    delete_net(srv, id);
    free(id);

    /* An empty list is a tenant network. */
    r = post_net(srv, NULL, "\"segments\": []");
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "network/provider:network_type"),
                        "vxlan");
    id = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    delete_net(srv, id);
    free(id);
}

static void
test_update_provider(void **state)
{
    struct apitest_server *srv = *state;
    char *id = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                        "\"provider:physical_network\": \"physnet2\", "
                        "\"provider:segmentation_id\": 30");
    char *other = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                           "\"provider:physical_network\": \"physnet2\", "
                           "\"provider:segmentation_id\": 32");
    struct apitest_resp *r;

    r = net_call(srv, "PUT", id, NULL,
                 "{\"network\": {\"provider:segmentation_id\": 31}}");
    assert_status(r, 200);
    assert_int_equal(jint(r->json, "network/provider:segmentation_id"), 31);
    assert_string_equal(jstr(r->json, "network/provider:physical_network"),
                        "physnet2");
    apitest_resp_free(r);
    r = net_call(srv, "GET", id, NULL, NULL);
    assert_int_equal(jint(r->json, "network/provider:segmentation_id"), 31);
    apitest_resp_free(r);

    /* VLAN 30 is free again, 31 is taken. */
    char *again = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                           "\"provider:physical_network\": \"physnet2\", "
                           "\"provider:segmentation_id\": 30");
    r = post_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                 "\"provider:physical_network\": \"physnet2\", "
                 "\"provider:segmentation_id\": 31");
    assert_error_text(r, 409, "VlanIdInUse", NULL);
    apitest_resp_free(r);

    /* Same values: nothing to do. */
    r = net_call(srv, "PUT", id, NULL,
                 "{\"network\": {\"provider:segmentation_id\": 31, "
                 "\"provider:network_type\": \"vlan\", "
                 "\"provider:physical_network\": \"physnet2\"}}");
    assert_status(r, 200);
    apitest_resp_free(r);

    static const struct {
        const char *body;
        long status;
        const char *type, *text;
    } bad[] = {
        { "{\"network\": {\"provider:segmentation_id\": 32}}", 409,
          "VlanIdInUse", "The VLAN 32 on physical network physnet2 is in "
          "use." },
        { "{\"network\": {\"provider:segmentation_id\": 4095}}", 400,
          "InvalidInput", "segmentation_id out of range" },
        { "{\"network\": {\"provider:network_type\": \"vxlan\"}}", 400,
          "InvalidInput", "Plugin does not support updating the following "
          "provider network attributes" },
        { "{\"network\": {\"provider:physical_network\": \"physnet1\"}}",
          400, "InvalidInput", "Plugin does not support updating" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        r = net_call(srv, "PUT", id, NULL, bad[i].body);
        assert_error_text(r, bad[i].status, bad[i].type, bad[i].text);
        apitest_resp_free(r);
    }

    /* Only VLAN segmentation ids change. */
    char *vx = make_net(srv, NULL, "\"provider:network_type\": \"vxlan\", "
                        "\"provider:segmentation_id\": 1234");
    r = net_call(srv, "PUT", vx, NULL,
                 "{\"network\": {\"provider:segmentation_id\": 1235}}");
    assert_error_text(r, 400, "InvalidInput",
                 "Only VLAN type networks can be updated.");
    apitest_resp_free(r);

    /* Non-admins may not touch provider attributes at all. */
    r = net_call(srv, "PUT", id, P1,
                 "{\"network\": {\"provider:segmentation_id\": 33}}");
    assert_error_text(r, 403, "PolicyNotAuthorized",
                 "update_network:provider:segmentation_id");
    apitest_resp_free(r);

    delete_net(srv, id);
    delete_net(srv, other);
    delete_net(srv, again);
    delete_net(srv, vx);
    free(id);
    free(other);
    free(again);
    free(vx);
}

static void
test_provider_hidden_from_projects(void **state)
{
    struct apitest_server *srv = *state;
    static const char *const forbidden[] = {
        "\"provider:network_type\": \"local\"",
        "\"provider:physical_network\": \"physnet1\"",
        "\"provider:segmentation_id\": 5",
        "\"segments\": [{\"provider:network_type\": \"local\"}]",
        "\"shared\": true",
        "\"router:external\": true",
    };

    for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
        struct apitest_resp *r = post_net(srv, P1, forbidden[i]);
        assert_error_text(r, 403, "PolicyNotAuthorized", "create_network:");
        apitest_resp_free(r);
    }

    char *id = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                        "\"provider:physical_network\": \"physnet1\", "
                        "\"provider:segmentation_id\": 40");
    struct apitest_resp *r = api_call(srv, "GET", "/v2.0/networks", P1,
                                      NULL);
    assert_status(r, 200);
    yajl_val nets = jpath(r->json, "networks");
    for (size_t i = 0; i < nets->u.array.len; i++) {
        yajl_val net = nets->u.array.values[i];
        assert_false(has_key(net, "provider:network_type"));
        assert_false(has_key(net, "provider:segmentation_id"));
        assert_false(has_key(net, "segments"));
    }
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?fields=provider:network_type",
                 P1, NULL);
    assert_status(r, 200);
    assert_false(has_key(jpath(r->json, "networks/0"),
                         "provider:network_type"));
    apitest_resp_free(r);
    delete_net(srv, id);
    free(id);
}

static void
test_visibility(void **state)
{
    struct apitest_server *srv = *state;
    char *shared = make_net(srv, NULL, "\"name\": \"vis-shared\", "
                            "\"shared\": true");
    char *external = make_net(srv, NULL, "\"name\": \"vis-external\", "
                              "\"router:external\": true");
    char *private = make_net(srv, P1, "\"name\": \"vis-private\"");
    struct apitest_resp *r;

    /* P2 sees the shared and the external network, not the private one. */
    r = api_call(srv, "GET", "/v2.0/networks?sort_key=name", P2, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 2);
    assert_string_equal(jstr(r->json, "networks/0/name"), "vis-external");
    assert_string_equal(jstr(r->json, "networks/1/name"), "vis-shared");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?shared=true", P2, NULL);
    assert_int_equal(jlen(r->json, "networks"), 1);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?router:external=true", P2,
                 NULL);
    assert_int_equal(jlen(r->json, "networks"), 1);
    assert_string_equal(jstr(r->json, "networks/0/id"), external);
    apitest_resp_free(r);
    r = net_call(srv, "GET", shared, P2, NULL);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = net_call(srv, "GET", private, P2, NULL);
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);

    /* ... and may change none of them. */
    const char *visible[] = { shared, external };
    for (size_t i = 0; i < ARRAY_SIZE(visible); i++) {
        r = net_call(srv, "PUT", visible[i], P2,
                     "{\"network\": {\"name\": \"mine\"}}");
        assert_error_text(r, 403, "PolicyNotAuthorized", "update_network");
        apitest_resp_free(r);
        r = net_call(srv, "DELETE", visible[i], P2, NULL);
        assert_error_text(r, 403, "PolicyNotAuthorized", "delete_network");
        apitest_resp_free(r);
    }
    r = net_call(srv, "PUT", private, P2,
                 "{\"network\": {\"name\": \"mine\"}}");
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);
    r = net_call(srv, "DELETE", private, P2, NULL);
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);

    /* The owner may; un-sharing an unused network is fine. */
    r = net_call(srv, "PUT", shared, NULL,
                 "{\"network\": {\"shared\": false}}");
    assert_status(r, 200);
    assert_true(YAJL_IS_FALSE(jpath(r->json, "network/shared")));
    apitest_resp_free(r);
    r = net_call(srv, "GET", shared, P2, NULL);
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);

    delete_net(srv, shared);
    delete_net(srv, external);
    r = net_call(srv, "DELETE", private, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    free(shared);
    free(external);
    free(private);
}

static struct apitest_resp *
seg_call(struct apitest_server *srv, const char *method, const char *id,
         const char *project, const char *body)
{
    char path[128];

    snprintf(path, sizeof path, "/v2.0/segments%s%s", id ? "/" : "",
             id ? id : "");
    return api_call(srv, method, path, project, body);
}

static void
test_segments_resource(void **state)
{
    struct apitest_server *srv = *state;
    char *net = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                         "\"provider:physical_network\": \"physnet2\", "
                         "\"provider:segmentation_id\": 20");
    char body[512];
    struct apitest_resp *r;

    /* The network's own segment is listed. */
    snprintf(body, sizeof body, "/v2.0/segments?network_id=%s", net);
    r = api_call(srv, "GET", body, NULL, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "segments"), 1);
    yajl_val s = jpath(r->json, "segments/0");
    assert_string_equal(jstr(s, "network_id"), net);
    assert_string_equal(jstr(s, "network_type"), "vlan");
    assert_string_equal(jstr(s, "physical_network"), "physnet2");
    assert_int_equal(jint(s, "segmentation_id"), 20);
    assert_true(YAJL_IS_NULL(jpath(s, "name")));
    assert_string_equal(jstr(s, "description"), "");
    char *first = xstrdup(jstr(s, "id"));
    apitest_resp_free(r);

    /* Add a second one. */
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\", "
             "\"network_type\": \"vlan\", \"physical_network\": "
             "\"physnet2\", \"segmentation_id\": 21, \"name\": \"s2\", "
             "\"description\": \"second\"}}", net);
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_status(r, 201);
    s = jpath(r->json, "segment");
    assert_true(uuid_is_valid(jstr(s, "id")));
    assert_string_equal(jstr(s, "name"), "s2");
    assert_string_equal(jstr(s, "description"), "second");
    assert_int_equal(jint(s, "segmentation_id"), 21);
    assert_int_equal(jint(s, "revision_number"), 0);
    assert_non_null(jstr(s, "created_at"));
    assert_false(has_key(s, "tenant_id"));
    assert_false(has_key(s, "project_id"));
    char *second = xstrdup(jstr(s, "id"));
    apitest_resp_free(r);

    /* The network now shows both. */
    r = net_call(srv, "GET", net, NULL, NULL);
    assert_false(has_key(jpath(r->json, "network"),
                         "provider:network_type"));
    assert_int_equal(jlen(r->json, "network/segments"), 2);
    assert_int_equal(jint(r->json,
                          "network/segments/1/provider:segmentation_id"), 21);
    apitest_resp_free(r);

    /* Taken ids, bad types, a network that does not exist. */
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_error_text(r, 409, "VlanIdInUse", NULL);
    apitest_resp_free(r);
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\", "
             "\"network_type\": \"vlan\", \"physical_network\": "
             "\"nope\"}}", net);
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_error_text(r, 400, "InvalidInput", "unknown for VLAN provider network");
    apitest_resp_free(r);
    /* A VXLAN segment cannot carry the network's MTU of 1500. */
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\", "
             "\"network_type\": \"vxlan\"}}", net);
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_error_text(r, 400, "InvalidInput",
                 "Requested MTU is too big, maximum is 1450");
    apitest_resp_free(r);
    r = seg_call(srv, "POST", NULL, NULL, "{\"segment\": {\"network_id\": "
                 "\"8b2d3c1e-0000-4000-8000-000000000000\", "
                 "\"network_type\": \"local\"}}");
    assert_error_text(r, 404, "NetworkNotFound", NULL);
    apitest_resp_free(r);
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\"}}",
             net);
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_error_text(r, 400, "HTTPBadRequest", "network_type");
    apitest_resp_free(r);

    /* Update: name and description only. */
    r = seg_call(srv, "PUT", second, NULL,
                 "{\"segment\": {\"name\": \"renamed\", \"description\": "
                 "\"d2\"}}");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "segment/name"), "renamed");
    assert_string_equal(jstr(r->json, "segment/description"), "d2");
    assert_int_equal(jint(r->json, "segment/revision_number"), 1);
    assert_int_equal(jint(r->json, "segment/segmentation_id"), 21);
    apitest_resp_free(r);
    r = seg_call(srv, "PUT", second, NULL,
                 "{\"segment\": {\"segmentation_id\": 22}}");
    assert_error_text(r, 400, "HTTPBadRequest",
                 "Cannot update read-only attribute segmentation_id");
    apitest_resp_free(r);
    r = seg_call(srv, "GET", second, NULL, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "segment/name"), "renamed");
    apitest_resp_free(r);

    /* Nobody else sees segments. */
    r = seg_call(srv, "GET", second, P1, NULL);
    assert_int_equal(r->status, 404);
    apitest_resp_free(r);
    r = seg_call(srv, "GET", NULL, P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "segments"), 0);
    apitest_resp_free(r);
    r = seg_call(srv, "PUT", second, P1,
                 "{\"segment\": {\"name\": \"x\"}}");
    assert_int_equal(r->status, 404);
    apitest_resp_free(r);
    r = seg_call(srv, "DELETE", second, P1, NULL);
    assert_int_equal(r->status, 404);
    apitest_resp_free(r);
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\", "
             "\"network_type\": \"local\"}}", net);
    r = seg_call(srv, "POST", NULL, P1, body);
    assert_error_text(r, 403, "PolicyNotAuthorized", "create_segment");
    apitest_resp_free(r);

    /* Delete releases: VLAN 21 can be taken again. */
    r = seg_call(srv, "DELETE", second, NULL, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = seg_call(srv, "GET", second, NULL, NULL);
    assert_error_text(r, 404, "SegmentNotFound", NULL);
    apitest_resp_free(r);
    r = seg_call(srv, "DELETE", second, NULL, NULL);
    assert_error_text(r, 404, "SegmentNotFound", NULL);
    apitest_resp_free(r);
    r = net_call(srv, "GET", net, NULL, NULL);
    assert_int_equal(jint(r->json, "network/provider:segmentation_id"), 20);
    assert_false(has_key(jpath(r->json, "network"), "segments"));
    apitest_resp_free(r);
    char *vlan21 = make_net(srv, NULL, "\"provider:network_type\": \"vlan\", "
                            "\"provider:physical_network\": \"physnet2\", "
                            "\"provider:segmentation_id\": 21");

    /* A partial segment on a VXLAN network gets a VNI from the range. */
    char *vx = make_net(srv, NULL, "\"provider:network_type\": \"vxlan\"");
    snprintf(body, sizeof body, "{\"segment\": {\"network_id\": \"%s\", "
             "\"network_type\": \"vxlan\"}}", vx);
    r = seg_call(srv, "POST", NULL, NULL, body);
    assert_status(r, 201);
    long long vni = jint(r->json, "segment/segmentation_id");
    assert_true(vni >= 1000 && vni <= 1999);
    assert_true(YAJL_IS_NULL(jpath(r->json, "segment/physical_network")));
    apitest_resp_free(r);

    /* Deleting the network deletes its segments. */
    delete_net(srv, net);
    r = seg_call(srv, "GET", first, NULL, NULL);
    assert_error_text(r, 404, "SegmentNotFound", NULL);
    apitest_resp_free(r);
    delete_net(srv, vx);
    snprintf(body, sizeof body, "/v2.0/segments?network_id=%s", vx);
    r = api_call(srv, "GET", body, NULL, NULL);
    assert_int_equal(jlen(r->json, "segments"), 0);
    apitest_resp_free(r);

    delete_net(srv, vlan21);
    free(vlan21);
    free(vx);
    free(net);
    free(first);
    free(second);
}

static void
test_delete_releases(void **state)
{
    struct apitest_server *srv = *state;
    static const char *const provider[] = {
        /* inside the tenant range of physnet1, and outside it */
        "\"provider:network_type\": \"vlan\", \"provider:physical_network\": "
        "\"physnet1\", \"provider:segmentation_id\": 100",
        "\"provider:network_type\": \"vlan\", \"provider:physical_network\": "
        "\"physnet1\", \"provider:segmentation_id\": 3000",
        "\"provider:network_type\": \"vxlan\", "
        "\"provider:segmentation_id\": 1999",
        "\"provider:network_type\": \"geneve\", "
        "\"provider:segmentation_id\": 5000",
        "\"provider:network_type\": \"flat\", "
        "\"provider:physical_network\": \"flat1\"",
    };

    for (size_t i = 0; i < ARRAY_SIZE(provider); i++) {
        for (int round = 0; round < 2; round++) {
            char *id = make_net(srv, NULL, provider[i]);
            delete_net(srv, id);
            free(id);
        }
    }
}

/* MTUs per network type, with the defaults and with other options. */
static void
test_mtu(void **state)
{
    struct apitest_server *srv = *state;
    static const struct {
        const char *fields;
        long long mtu_default, mtu_custom;
    } cases[] = {
        { "\"provider:network_type\": \"flat\", "
          "\"provider:physical_network\": \"flat1\"", 1500, 1600 },
        { "\"provider:network_type\": \"vlan\", "
          "\"provider:physical_network\": \"physnet1\"", 1500, 9000 },
        { "\"provider:network_type\": \"vlan\", "
          "\"provider:physical_network\": \"physnet2\"", 1500, 1400 },
        { "\"provider:network_type\": \"vxlan\"", 1450, 8000 - 40 - 30 },
        { "\"provider:network_type\": \"gre\"", 1458, 8000 - 40 - 22 },
        { "\"provider:network_type\": \"geneve\"", 1450, 8000 - 40 - 38 },
        { "\"provider:network_type\": \"local\"", 1500, 9000 },
    };
    struct apitest_server *custom = apitest_server_start(
        "[DEFAULT]\nglobal_physnet_mtu = 9000\n"
        "[ml2]\ntype_drivers = local,flat,vlan,vxlan,gre,geneve\n"
        "tenant_network_types = local\npath_mtu = 8000\n"
        "overlay_ip_version = 6\n"
        "physical_network_mtus = flat1:1600, physnet2:1400\n"
        "[ml2_type_flat]\nflat_networks = *\n"
        "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:1:10,physnet2:1:10\n"
        "[ml2_type_vxlan]\nvni_ranges = 1:10\n"
        "[ml2_type_gre]\ntunnel_id_ranges = 1:10\n"
        "[ml2_type_geneve]\nvni_ranges = 1:10\nmax_header_size = 38\n");

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        for (int k = 0; k < 2; k++) {
            struct apitest_server *s = k ? custom : srv;
            struct apitest_resp *r = post_net(s, NULL, cases[i].fields);
            assert_status(r, 201);
            long long want = k ? cases[i].mtu_custom : cases[i].mtu_default;
            if (jint(r->json, "network/mtu") != want) {
                fail_msg("%s (%s options): mtu %lld, expected %lld",
                         cases[i].fields, k ? "custom" : "default",
                         jint(r->json, "network/mtu"), want);
            }
            char *id = xstrdup(jstr(r->json, "network/id"));
            apitest_resp_free(r);
            delete_net(s, id);
            free(id);
        }
    }

    /* A tenant network of the custom server: local, global MTU. */
    struct apitest_resp *r = post_net(custom, P1, "");
    assert_status(r, 201);
    assert_int_equal(jint(r->json, "network/mtu"), 9000);
    apitest_resp_free(r);
    apitest_server_stop(custom);
}

/* A server refuses to start with a bad [ml2*] configuration. */
static void
test_bad_config(void **state)
{
    (void) state;
    static const struct {
        const char *config, *text;
    } cases[] = {
        { "[ml2]\ntype_drivers = vlan,bogus\n", "unknown type driver" },
        { "[ml2]\ntype_drivers = local\ntenant_network_types = vlan\n",
          "no type driver for tenant network type 'vlan'" },
        { "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:10:5\n",
          "End of VLAN range is less than start of VLAN range" },
        { "[ml2_type_vxlan]\nvni_ranges = 1:99999999\n",
          "is not a valid vxlan identifier" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *url = testdb_create();
        int status;
        char *output = NULL;
        struct apitest_server *srv = apitest_server_try_start(
            url, cases[i].config, &status, &output);
        assert_null(srv);
        assert_int_not_equal(status, 0);
        if (!output || !strstr(output, cases[i].text)) {
            fail_msg("expected '%s' in: %s", cases[i].text,
                     output ? output : "(no output)");
        }
        free(output);
        testdb_drop(url);
        free(url);
    }
}

int
main(void)
{
    const struct CMUnitTest shared_server[] = {
        cmocka_unit_test(test_defaults_and_attributes),
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_provider_networks),
        cmocka_unit_test(test_provider_errors),
        cmocka_unit_test(test_multi_provider),
        cmocka_unit_test(test_update_provider),
        cmocka_unit_test(test_provider_hidden_from_projects),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_segments_resource),
        cmocka_unit_test(test_delete_releases),
        cmocka_unit_test(test_mtu),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_tenant_exhaustion),
        cmocka_unit_test(test_bad_config),
    };
    int failed = cmocka_run_group_tests(shared_server, group_setup,
                                        group_teardown);
    failed += cmocka_run_group_tests(own_server, NULL, NULL);
    return failed;
}
