/* tests/api/test_routers.c: routers as a client sees them: create, show,
 * list, update and delete; the flavor binding (the default provider, a
 * flavor's provider, each flavor error, a driver's validate() refusal);
 * Hadron's flavor change (refused while up, allowed while down, journaled
 * as the new provider's build, the FIPs' move, the old one's teardown); the external
 * gateway (SNAT default, admin-only keys, refusals, change and clear); the
 * interfaces by subnet and by port with every refusal, and their removal;
 * extra routes by PUT and by the atomic actions; RouterInUse; status DOWN
 * until the driver has applied the router then ACTIVE; the capability
 * refusals; and the journal rows each change writes.  Runs on both
 * engines against one server with three providers of the noop driver:
 * "noop" (default), "other" (refuses routers named "refused"), and
 * "limited" (an external gateway without SNAT and floating IPs only). */
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
#define NO_SUCH "6b9c1d4e-0d1f-4a55-9a43-5f54bd0b0a11"

static const char server_config[] =
    "[service_providers]\n"
    "service_provider = L3_ROUTER_NAT:noop:noop:default\n"
    "service_provider = L3_ROUTER_NAT:other:noop\n"
    "service_provider = L3_ROUTER_NAT:limited:noop\n"
    "[other]\n"
    "refuse_name = refused\n"
    "[limited]\n"
    "capabilities = gateway,floatingip\n";

struct env {
    struct apitest_server *srv;
    char *ext;                  /* external network, 172.24.4.0/24 */
    char *ext_subnet;
    char *ext2;                 /* another one, 172.25.0.0/24 */
    char *ext2_subnet;
    char *flavor_other;         /* flavor of provider "other" */
    char *flavor_limited;       /* flavor of provider "limited" */
};

/* ---- Helpers ---- */

static struct apitest_resp *router_action(struct apitest_server *,
                                          const char *project,
                                          const char *id, const char *action,
                                          const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* PUT /v2.0/routers/{id}/<action> with the body <fmt>. */
static struct apitest_resp *
router_action(struct apitest_server *srv, const char *project, const char *id,
              const char *action, const char *fmt, ...)
{
    char path[160], *body = NULL;
    va_list args;

    va_start(args, fmt);
    if (vasprintf(&body, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    snprintf(path, sizeof path, "/v2.0/routers/%s/%s", id, action);
    struct apitest_resp *r = api_call(srv, "PUT", path, project, body);
    free(body);
    return r;
}

static void
remove_interface(struct apitest_server *srv, const char *project,
                 const char *router, const char *key, const char *id)
{
    struct apitest_resp *r = router_action(srv, project, router,
                                           "remove_router_interface",
                                           "{\"%s\": \"%s\"}", key, id);
    assert_status(r, 200);
    apitest_resp_free(r);
}

/* The journal rows of router 'router' as "driver resource operation"
 * lines in seq order (malloc'd). */
static char *
journal_of(struct apitest_server *srv, const char *router)
{
    char *out = xstrdup("");

    struct apitest_resp *r = api_get(srv, "/v2.0/journal_entries");
    assert_status(r, 200);
    yajl_val list = jpath(r->json, "journal_entries");
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val e = list->u.array.values[i];
        if (strcmp(jstr(e, "router_id"), router)) {
            continue;
        }
        char *longer = xasprintf("%s%s %s %s\n", out, jstr(e, "driver"),
                                 jstr(e, "resource"), jstr(e, "operation"));
        free(out);
        out = longer;
    }
    apitest_resp_free(r);
    return out;
}

static void
assert_journal(struct apitest_server *srv, const char *router,
               const char *expected)
{
    char *got = journal_of(srv, router);
    assert_string_equal(got, expected);
    free(got);
}

/* Asserts the error's message. */
static void
assert_message(const struct apitest_resp *r, const char *expected)
{
    const char *msg = jstr(r->json, "NeutronError/message");
    assert_non_null(msg);
    assert_string_equal(msg, expected);
}

/* The number of ports with 'query' (admin). */
static size_t
count_ports(struct apitest_server *srv, const char *query)
{
    char path[256];
    snprintf(path, sizeof path, "/v2.0/ports?%s", query);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    size_t n = jlen(r->json, "ports");
    apitest_resp_free(r);
    return n;
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
    env->ext2 = topo_net(env->srv, "admin", "\"router:external\": true");
    env->ext2_subnet = topo_subnet(env->srv, "admin", env->ext2,
                                   "172.25.0.0/24", NULL);
    env->flavor_other = topo_flavor(env->srv, "other");
    env->flavor_limited = topo_flavor(env->srv, "limited");
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
    free(env->ext2);
    free(env->ext2_subnet);
    free(env->flavor_other);
    free(env->flavor_limited);
    free(env);
    return 0;
}

/* ---- Tests ---- */

static void
test_crud(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;

    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"name\": "
             "\"r1\", \"description\": \"d\"}}");
    assert_status(r, 201);
    yajl_val o = jpath(r->json, "router");
    char *id = xstrdup(jstr(o, "id"));
    assert_true(uuid_is_valid(id));
    assert_string_equal(jstr(o, "name"), "r1");
    assert_string_equal(jstr(o, "description"), "d");
    assert_string_equal(jstr(o, "project_id"), P1);
    assert_string_equal(jstr(o, "tenant_id"), P1);
    assert_true(YAJL_IS_TRUE(jpath(o, "admin_state_up")));
    assert_string_equal(jstr(o, "status"), "DOWN");
    assert_true(YAJL_IS_NULL(jpath(o, "external_gateway_info")));
    assert_true(YAJL_IS_NULL(jpath(o, "flavor_id")));
    assert_int_equal(jlen(o, "routes"), 0);
    assert_non_null(jpath(o, "routes"));
    assert_int_equal(jlen(o, "tags"), 0);
    assert_int_equal(jint(o, "revision_number"), 0);
    assert_int_equal(strlen(jstr(o, "created_at")), 20);
    apitest_resp_free(r);

    /* The driver applies it: ACTIVE. */
    topo_wait_status(srv, "router", id, "ACTIVE");
    assert_journal(srv, id, "noop router create\n");

    /* Show, list, visibility. */
    r = topo_get(srv, P1, "routers", id);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/name"), "r1");
    apitest_resp_free(r);
    r = topo_get(srv, P2, "routers", id);
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/routers?name=r1", P1, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "routers"), 1);
    assert_string_equal(jstr(r->json, "routers/0/id"), id);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/routers?name=r1", P2, NULL);
    assert_int_equal(jlen(r->json, "routers"), 0);
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/routers?name=r1&fields=id&fields=routes");
    assert_int_equal(jlen(r->json, "routers"), 1);
    assert_null(jpath(r->json, "routers/0/name"));
    assert_non_null(jpath(r->json, "routers/0/routes"));
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/routers?status=ACTIVE");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);

    /* Input refusals. */
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"routes\": "
             "[]}}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"status\": "
             "\"ACTIVE\"}}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"foo\": 1}}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    assert_message(r, "Unrecognized attribute(s) 'foo'");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"admin_state_up\": \"maybe\"}}");
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"project_id\": "
             "\"" P2 "\"}}");
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);

    /* Update. */
    r = topo_update(srv, P1, "router", id,
                    "\"name\": \"r1b\", \"description\": "
                    "\"e\"");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/name"), "r1b");
    assert_string_equal(jstr(r->json, "router/description"), "e");
    assert_int_equal(jint(r->json, "router/revision_number"), 1);
    apitest_resp_free(r);
    r = topo_update(srv, P2, "router", id, "\"name\": \"x\"");
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id, "\"tenant_id\": \"x\"");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    assert_journal(srv, id, "noop router create\nnoop router update\n");

    /* Tags and If-Match, as any resource. */
    char path[160];
    snprintf(path, sizeof path, "/v2.0/routers/%s/tags/blue", id);
    r = api_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);
    r = topo_get(srv, P1, "routers", id);
    assert_string_equal(jstr(r->json, "router/tags/0"), "blue");
    apitest_resp_free(r);

    /* Delete. */
    assert_int_equal(topo_delete(srv, P2, "routers", id), 404);
    assert_int_equal(topo_delete(srv, P1, "routers", id), 204);
    r = topo_get(srv, P1, "routers", id);
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "routers", id), 404);
    topo_wait_journal_idle(srv);
    assert_journal(srv, id, "noop router create\nnoop router update\n"
                   "noop router delete\n");

    /* Bulk create, one with a gateway: atomic, each journaled. */
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"routers\": [{\"name\": "
             "\"b1\"}, {\"name\": \"b2\", \"external_gateway_info\": "
             "{\"network_id\": \"%s\"}}]}", env->ext);
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "routers"), 2);
    assert_true(YAJL_IS_NULL(jpath(r->json,
                                   "routers/0/external_gateway_info")));
    assert_string_equal(jstr(r->json, "routers/1/external_gateway_info/"
                             "network_id"), env->ext);
    char *b1 = xstrdup(jstr(r->json, "routers/0/id"));
    char *b2 = xstrdup(jstr(r->json, "routers/1/id"));
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"routers\": [{\"name\": "
             "\"b3\"}, {\"name\": \"b4\", \"external_gateway_info\": "
             "{\"network_id\": \"" NO_SUCH "\"}}]}");
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/routers?name=b3", P1, NULL);
    assert_int_equal(jlen(r->json, "routers"), 0);
    apitest_resp_free(r);
    topo_wait_status(srv, "router", b1, "ACTIVE");
    topo_wait_status(srv, "router", b2, "ACTIVE");
    assert_journal(srv, b2, "noop router create\n");
    assert_int_equal(topo_delete(srv, P1, "routers", b1), 204);
    assert_int_equal(topo_delete(srv, P1, "routers", b2), 204);
    free(b1);
    free(b2);

    /* Admin-down routers are DOWN-capable on noop. */
    char *down = topo_router(srv, P1, NULL, "\"admin_state_up\": false");
    r = topo_get(srv, P1, "routers", down);
    assert_true(YAJL_IS_FALSE(jpath(r->json, "router/admin_state_up")));
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "routers", down), 204);
    free(down);
    free(id);
}

static void
test_flavor_binding(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char path[200];

    /* A flavor's provider gets the router. */
    char *body = xasprintf("\"flavor_id\": \"%s\"", env->flavor_other);
    char *id = topo_router(srv, P1, NULL, body);
    free(body);
    r = topo_get(srv, P1, "routers", id);
    assert_string_equal(jstr(r->json, "router/flavor_id"),
                        env->flavor_other);
    apitest_resp_free(r);
    topo_wait_status(srv, "router", id, "ACTIVE");
    assert_journal(srv, id, "other router create\n");
    assert_int_equal(topo_delete(srv, P1, "routers", id), 204);
    free(id);

    /* The driver's validate() refuses: 400, nothing created. */
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"name\": "
             "\"refused\", \"flavor_id\": \"%s\"}}", env->flavor_other);
    assert_neutron_error(r, 400, "FlavorValidationFailed");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/routers?name=refused", P1, NULL);
    assert_int_equal(jlen(r->json, "routers"), 0);
    apitest_resp_free(r);

    /* Each flavor error. */
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"flavor_id\": \"" NO_SUCH "\"}}");
    assert_neutron_error(r, 404, "FlavorNotFound");
    apitest_resp_free(r);

    char *unbound = topo_create_id(srv, "POST", "/v2.0/flavors", NULL, 201,
                              "flavor/id", "{\"flavor\": {\"name\": "
                              "\"unbound\", \"service_type\": "
                              "\"L3_ROUTER_NAT\"}}");
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"flavor_id\": \"%s\"}}", unbound);
    assert_neutron_error(r, 404, "FlavorServiceProfileBindingNotFound");
    apitest_resp_free(r);

    char *disabled = topo_flavor(srv, "other");
    snprintf(path, sizeof path, "/v2.0/flavors/%s", disabled);
    r = topo_call(srv, "PUT", path, NULL, "{\"flavor\": {\"enabled\": false}}");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"flavor_id\": \"%s\"}}", disabled);
    assert_int_equal(r->status, 400);
    apitest_resp_free(r);

    /* A flavor whose only profile is disabled: 503. */
    char *off = topo_create_id(srv, "POST", "/v2.0/flavors", NULL, 201,
                          "flavor/id", "{\"flavor\": {\"name\": \"off\", "
                          "\"service_type\": \"L3_ROUTER_NAT\"}}");
    char *profile = topo_create_id(srv, "POST", "/v2.0/service_profiles", NULL,
                              201, "service_profile/id",
                              "{\"service_profile\": {\"driver\": \"noop\", "
                              "\"enabled\": false}}");
    snprintf(path, sizeof path, "/v2.0/flavors/%s/service_profiles", off);
    r = topo_call(srv, "POST", path, NULL, "{\"service_profile\": {\"id\": "
             "\"%s\"}}", profile);
    assert_status(r, 201);
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"flavor_id\": \"%s\"}}", off);
    assert_neutron_error(r, 503, "ServiceProfileDisabled");
    apitest_resp_free(r);

    /* No refused create left a router or a journal row behind. */
    r = api_call(srv, "GET", "/v2.0/routers", P1, NULL);
    assert_int_equal(jlen(r->json, "routers"), 0);
    apitest_resp_free(r);

    free(profile);
    free(off);
    free(disabled);
    free(unbound);
}

/* Removes the interface and the router of 't' and frees 't'. */
static void
unroute(struct env *env, const char *project, struct topo_l3 *t)
{
    remove_interface(env->srv, project, t->router, "subnet_id", t->subnet);
    assert_int_equal(topo_delete(env->srv, project, "routers", t->router),
                     204);
    topo_l3_free(t);
}

static void
test_flavor_change(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;

    topo_l3_make(env->srv, P1, env->ext, "10.10.0.0/24", NULL, &t);
    r = topo_update(srv, P1, "router", t.router,
                    "\"routes\": [{\"destination\": "
                    "\"192.168.10.0/24\", \"nexthop\": \"10.10.0.9\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);
    char *vm = topo_port(srv, P1, t.net, NULL);
    char *fip = topo_create_id(srv, "POST", "/v2.0/floatingips", P1, 201,
                          "floatingip/id", "{\"floatingip\": "
                          "{\"floating_network_id\": \"%s\", \"port_id\": "
                          "\"%s\"}}", env->ext, vm);
    topo_wait_journal_idle(srv);

    /* Refused while up, even when it would not change the provider. */
    r = topo_update(srv, P1, "router", t.router, "\"flavor_id\": \"%s\"",
                    env->flavor_other);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: Cannot change the flavor of "
                      "router %s while it is administratively up: set "
                      "admin_state_up to false first.", t.router);
    apitest_resp_free(r);

    /* To a flavor that cannot hold the router: 400, nothing changes. */
    r = topo_update(srv, P1, "router", t.router, "\"admin_state_up\": false, "
                    "\"flavor_id\": \"%s\"", env->flavor_limited);
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);
    r = topo_get(srv, P1, "routers", t.router);
    assert_true(YAJL_IS_NULL(jpath(r->json, "router/flavor_id")));
    assert_true(YAJL_IS_TRUE(jpath(r->json, "router/admin_state_up")));
    apitest_resp_free(r);

    /* Down, then moved: the old provider tears down, the new builds. */
    r = topo_update(srv, P1, "router", t.router, "\"admin_state_up\": false");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", t.router, "\"flavor_id\": \"%s\"",
                    env->flavor_other);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/flavor_id"),
                        env->flavor_other);
    assert_int_equal(jlen(r->json, "router/routes"), 1);
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    assert_journal(srv, t.router,
                   "noop router create\n"
                   "noop router_interface create\n"
                   "noop router update\n"
                   "noop floatingip create\n"
                   "noop router update\n"
                   "other router create\n"
                   "other router_interface create\n"
                   "noop floatingip delete\n"
                   "other floatingip create\n"
                   "noop router_interface delete\n"
                   "noop router delete\n");
    topo_wait_status(srv, "router", t.router, "ACTIVE");

    /* Later changes go to the new provider only. */
    r = topo_update(srv, P1, "router", t.router, "\"name\": \"moved\"");
    assert_status(r, 200);
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    char *rows = journal_of(srv, t.router);
    assert_true(str_ends_with(rows, "noop router delete\n"
                              "other router update\n"));
    free(rows);

    /* Back to the default provider (flavor_id null), allowed while down. */
    r = topo_update(srv, P1, "router", t.router, "\"flavor_id\": null");
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json, "router/flavor_id")));
    apitest_resp_free(r);
    topo_wait_journal_idle(srv);
    rows = journal_of(srv, t.router);
    assert_true(str_ends_with(rows, "noop router create\n"
                              "noop router_interface create\n"
                              "other floatingip delete\n"
                              "noop floatingip create\n"
                              "other router_interface delete\n"
                              "other router delete\n"));
    free(rows);

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    r = topo_update(srv, P1, "router", t.router, "\"routes\": []");
    assert_status(r, 200);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "ports", vm), 204);
    unroute(env, P1, &t);
    free(fip);
    free(vm);
}

/* The gateway port of router 'router' (admin view): its JSON in '*r'. */
static struct apitest_resp *
gateway_ports(struct apitest_server *srv, const char *router)
{
    char path[200];
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s&device_owner="
             "network:router_gateway", router);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    return r;
}

static void
test_gateway(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char path[200];

    /* Set on create: SNAT on by default, an address on the network. */
    char *body = xasprintf("\"external_gateway_info\": {\"network_id\": "
                           "\"%s\"}", env->ext);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {%s}}", body);
    free(body);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "router/id"));
    yajl_val gw = jpath(r->json, "router/external_gateway_info");
    assert_string_equal(jstr(gw, "network_id"), env->ext);
    assert_true(YAJL_IS_TRUE(jpath(gw, "enable_snat")));
    assert_int_equal(jlen(gw, "external_fixed_ips"), 1);
    assert_string_equal(jstr(gw, "external_fixed_ips/0/subnet_id"),
                        env->ext_subnet);
    char *address = xstrdup(jstr(gw, "external_fixed_ips/0/ip_address"));
    assert_true(str_starts_with(address, "172.24.4."));
    apitest_resp_free(r);

    /* The gateway port: of no project, hidden from the router's. */
    r = gateway_ports(srv, id);
    assert_int_equal(jlen(r->json, "ports"), 1);
    assert_string_equal(jstr(r->json, "ports/0/project_id"), "");
    assert_string_equal(jstr(r->json, "ports/0/network_id"), env->ext);
    assert_string_equal(jstr(r->json, "ports/0/fixed_ips/0/ip_address"),
                        address);
    char *gw_port = xstrdup(jstr(r->json, "ports/0/id"));
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", id);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "ports"), 0);
    apitest_resp_free(r);
    /* It cannot be deleted through the port API. */
    assert_int_equal(topo_delete(srv, NULL, "ports", gw_port), 409);

    /* enable_snat and external_fixed_ips are an admin's to set. */
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\", \"enable_snat\": false}", env->ext);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\", \"external_fixed_ips\": [{\"ip_address\": "
                    "\"172.24.4.50\"}]}", env->ext);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": "
             "{\"external_gateway_info\": {\"network_id\": \"%s\", "
             "\"enable_snat\": true}}}", env->ext);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);

    r = topo_update(srv, NULL, "router", id, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"enable_snat\": false}",
                    env->ext);
    assert_status(r, 200);
    assert_true(YAJL_IS_FALSE(jpath(r->json, "router/external_gateway_info/"
                                   "enable_snat")));
    assert_string_equal(jstr(r->json, "router/external_gateway_info/"
                             "external_fixed_ips/0/ip_address"), address);
    apitest_resp_free(r);
    /* Without enable_snat, an update sets it back to the default. */
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\"}", env->ext);
    assert_status(r, 200);
    assert_true(YAJL_IS_TRUE(jpath(r->json, "router/external_gateway_info/"
                                  "enable_snat")));
    apitest_resp_free(r);

    /* An admin picks the address; the same port keeps it. */
    r = topo_update(srv, NULL, "router", id, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"external_fixed_ips\": "
                    "[{\"ip_address\": \"172.24.4.50\"}]}", env->ext);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/external_gateway_info/"
                             "external_fixed_ips/0/ip_address"),
                        "172.24.4.50");
    apitest_resp_free(r);
    r = gateway_ports(srv, id);
    assert_int_equal(jlen(r->json, "ports"), 1);
    assert_string_equal(jstr(r->json, "ports/0/id"), gw_port);
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "router", id, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"external_fixed_ips\": "
                    "[{\"ip_address\": \"172.24.4.1\"}]}", env->ext);
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: External IP 172.24.4.1 is the "
                   "same as the gateway IP.");
    apitest_resp_free(r);

    /* Refusals. */
    char *internal = topo_net(srv, P1, NULL);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\"}", internal);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: Network %s is not an "
                      "external network.", internal);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"" NO_SUCH "\"}");
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    char *hidden = topo_net(srv, P2, NULL);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\"}", hidden);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": "
                    "{\"enable_snat\": true}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    assert_message(r, "Invalid input for external_gateway_info. Reason: "
                   "Validation of dictionary's keys failed. Expected keys: "
                   "{'network_id'} Provided keys: {'enable_snat'}.");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"x\": 1}", env->ext);
    assert_neutron_error(r, 400, "HTTPBadRequest");
    assert_message(r, "Invalid input for external_gateway_info. Reason: "
                   "Unexpected keys supplied: x.");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": \"abc\"");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    /* external_fixed_ips is neutron-lib's type:fixed_ips, as a port's. */
    static const struct {
        const char *ips, *reason;
    } bad_ips[] = {
        { "{}", "Invalid data format for fixed IP: '{}'" },
        { "[1]", "Invalid data format for fixed IP: '1'" },
        { "[{\"ip_address\": \"172.24.4.300\"}]",
          "'172.24.4.300' is not a valid IP address" },
        { "[{\"ip_address\": \"172.24.4.50\"}, "
          "{\"ip_address\": \"172.24.4.50\"}]",
          "Duplicate IP address '172.24.4.50'" },
        { "[{\"subnet_id\": \"abc\"}]", "'abc' is not a valid UUID" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_ips); i++) {
        r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": "
                        "{\"network_id\": \"%s\", \"external_fixed_ips\": "
                        "%s}", env->ext, bad_ips[i].ips);
        topo_assert_error(r, 400, "HTTPBadRequest", "Invalid input for "
                          "external_gateway_info. Reason: %s.",
                          bad_ips[i].reason);
        apitest_resp_free(r);
    }
    r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": "
                    "{\"network_id\": \"abc\"}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);

    /* To another network: a new port there, the old one gone. */
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\"}", env->ext2);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/external_gateway_info/"
                             "network_id"), env->ext2);
    assert_true(str_starts_with(jstr(r->json, "router/external_gateway_info/"
                                     "external_fixed_ips/0/ip_address"),
                                "172.25.0."));
    apitest_resp_free(r);
    snprintf(path, sizeof path, "id=%s", gw_port);
    assert_int_equal(count_ports(srv, path), 0);
    r = gateway_ports(srv, id);
    assert_int_equal(jlen(r->json, "ports"), 1);
    assert_string_equal(jstr(r->json, "ports/0/network_id"), env->ext2);
    apitest_resp_free(r);

    /* Cleared by {} and by null. */
    r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": {}");
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json,
                                   "router/external_gateway_info")));
    apitest_resp_free(r);
    r = gateway_ports(srv, id);
    assert_int_equal(jlen(r->json, "ports"), 0);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id,
                    "\"external_gateway_info\": {\"network_id\":"
                    " \"%s\"}", env->ext);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", id, "\"external_gateway_info\": null");
    assert_status(r, 200);
    assert_true(YAJL_IS_NULL(jpath(r->json,
                                   "router/external_gateway_info")));
    apitest_resp_free(r);

    /* A gateway that floating IPs use cannot change or go. */
    struct topo_l3 t;
    topo_l3_make(env->srv, P1, env->ext, "10.11.0.0/24", NULL, &t);
    char *vm = topo_port(srv, P1, t.net, NULL);
    char *fip = topo_create_id(srv, "POST", "/v2.0/floatingips", P1, 201,
                          "floatingip/id", "{\"floatingip\": "
                          "{\"floating_network_id\": \"%s\", \"port_id\": "
                          "\"%s\"}}", env->ext, vm);
    r = topo_update(srv, P1, "router", t.router,
                    "\"external_gateway_info\": null");
    assert_neutron_error(r, 409, "RouterExternalGatewayInUseByFloatingIp");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", t.router, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\"}", env->ext2);
    assert_neutron_error(r, 409, "RouterExternalGatewayInUseByFloatingIp");
    apitest_resp_free(r);
    /* SNAT may change under them. */
    r = topo_update(srv, NULL, "router", t.router,
                    "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"enable_snat\": false}",
                    env->ext);
    assert_status(r, 200);
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    assert_int_equal(topo_delete(srv, P1, "ports", vm), 204);

    /* Deleting a router removes its gateway port. */
    r = gateway_ports(srv, t.router);
    char *gw2 = xstrdup(jstr(r->json, "ports/0/id"));
    apitest_resp_free(r);
    unroute(env, P1, &t);
    snprintf(path, sizeof path, "id=%s", gw2);
    assert_int_equal(count_ports(srv, path), 0);

    topo_wait_journal_idle(srv);
    topo_wait_status(srv, "router", id, "ACTIVE");
    assert_int_equal(topo_delete(srv, P1, "routers", id), 204);
    free(gw2);
    free(fip);
    free(vm);
    free(hidden);
    free(internal);
    free(gw_port);
    free(address);
    free(id);
}

static void
test_interfaces_add(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    char path[200];

    char *router = topo_router(srv, P1, NULL, NULL);
    char *net = topo_net(srv, P1, NULL);
    char *subnet = topo_subnet(srv, P1, net, "10.20.0.0/24", NULL);

    /* By subnet: a new port with the subnet's gateway IP. */
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", subnet);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "id"), router);
    assert_string_equal(jstr(r->json, "subnet_id"), subnet);
    assert_int_equal(jlen(r->json, "subnet_ids"), 1);
    assert_string_equal(jstr(r->json, "subnet_ids/0"), subnet);
    assert_string_equal(jstr(r->json, "network_id"), net);
    assert_string_equal(jstr(r->json, "project_id"), P1);
    assert_string_equal(jstr(r->json, "tenant_id"), P1);
    assert_int_equal(jlen(r->json, "tags"), 0);
    char *port = xstrdup(jstr(r->json, "port_id"));
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/ports/%s", port);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/device_owner"),
                        "network:router_interface");
    assert_string_equal(jstr(r->json, "port/device_id"), router);
    assert_string_equal(jstr(r->json, "port/project_id"), P1);
    assert_string_equal(jstr(r->json, "port/fixed_ips/0/ip_address"),
                        "10.20.0.1");
    apitest_resp_free(r);
    /* The router's ports cannot be deleted or re-owned directly. */
    assert_int_equal(topo_delete(srv, P1, "ports", port), 409);
    r = topo_call(srv, "PUT", path, NULL, "{\"port\": {\"device_id\": \"x\"}}");
    assert_int_equal(r->status, 409);
    apitest_resp_free(r);

    /* Refusals of the request itself. */
    r = router_action(srv, P1, router, "add_router_interface", "{}");
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: Either subnet_id or port_id must "
                   "be specified.");
    apitest_resp_free(r);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\", \"port_id\": \"%s\"}", subnet,
                      port);
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: Cannot specify both subnet-id "
                   "and port-id.");
    apitest_resp_free(r);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"nope\"}");
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: 'nope' is not a valid UUID.");
    apitest_resp_free(r);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"" NO_SUCH "\"}");
    assert_neutron_error(r, 404, "SubnetNotFound");
    apitest_resp_free(r);
    r = router_action(srv, P1, NO_SUCH, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", subnet);
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);
    r = router_action(srv, P2, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", subnet);
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);

    /* Already there; overlapping another interface. */
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", subnet);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: Router already has a port on "
                      "subnet %s.", subnet);
    apitest_resp_free(r);
    char *net2 = topo_net(srv, P1, NULL);
    char *wide = topo_subnet(srv, P1, net2, "10.20.0.0/16", NULL);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", wide);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: Cidr 10.20.0.0/16 of subnet %s "
                      "overlaps with cidr 10.20.0.0/24 of subnet %s.", wide,
                      subnet);
    apitest_resp_free(r);

    /* A subnet without a gateway; another project's shared subnet. */
    char *nogw = topo_subnet(srv, P1, net2, "10.21.0.0/24",
                             "\"gateway_ip\": null");
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", nogw);
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: Subnet for router interface must "
                   "have a gateway IP.");
    apitest_resp_free(r);
    char *shared = topo_net(srv, P2, "\"shared\": true");
    char *shared_subnet = topo_subnet(srv, P2, shared, "10.22.0.0/24", NULL);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", shared_subnet);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: Cannot add interface to router "
                      "because subnet %s is not owned by project making the "
                      "request.", shared_subnet);
    apitest_resp_free(r);
    /* An admin may. */
    char *shared_port = topo_add_interface(srv, NULL, router, "subnet_id",
                                           shared_subnet);

    /* An IPv6 subnet that takes its RAs from an external router. */
    char *ra = topo_subnet(srv, P1, net2, "2001:db8:ee::/64",
                           "\"ipv6_address_mode\": \"slaac\"");
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", ra);
    topo_assert_error(r, 400, "BadRequest",
                      "Bad router request: IPv6 subnet %s configured to "
                      "receive RAs from an external router cannot be added to "
                      "Neutron Router..", ra);
    apitest_resp_free(r);
    free(ra);

    /* By port. */
    char *net3 = topo_net(srv, P1, NULL);
    char *sub3 = topo_subnet(srv, P1, net3, "10.23.0.0/24", NULL);
    char *sub3b = topo_subnet(srv, P1, net3, "10.24.0.0/24", NULL);
    char *used = topo_port(srv, P1, net3, "\"device_id\": \"vm-1\"");
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"%s\"}", used);
    assert_neutron_error(r, 409, "PortInUse");
    apitest_resp_free(r);
    char *noip = topo_port(srv, P1, net3, "\"fixed_ips\": []");
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"%s\"}", noip);
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: Router port must have at least "
                   "one fixed IP.");
    apitest_resp_free(r);
    char *body = xasprintf("\"fixed_ips\": [{\"subnet_id\": \"%s\"}, "
                           "{\"subnet_id\": \"%s\"}]", sub3, sub3b);
    char *two = topo_port(srv, P1, net3, body);
    free(body);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"%s\"}", two);
    assert_neutron_error(r, 400, "BadRequest");
    assert_message(r, "Bad router request: Cannot have multiple IPv4 "
                   "subnets on router port.");
    apitest_resp_free(r);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"" NO_SUCH "\"}");
    assert_neutron_error(r, 404, "PortNotFound");
    apitest_resp_free(r);
    body = xasprintf("\"fixed_ips\": [{\"subnet_id\": \"%s\"}]", wide);
    char *wide_port = topo_port(srv, P1, net2, body);
    free(body);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"%s\"}", wide_port);
    assert_neutron_error(r, 400, "BadRequest");
    apitest_resp_free(r);
    /* None of these refusals changed the ports. */
    snprintf(path, sizeof path, "/v2.0/ports/%s", wide_port);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_string_equal(jstr(r->json, "port/device_id"), "");
    assert_string_equal(jstr(r->json, "port/device_owner"), "");
    apitest_resp_free(r);

    body = xasprintf("\"fixed_ips\": [{\"subnet_id\": \"%s\"}]", sub3b);
    char *free_port = topo_port(srv, P1, net3, body);
    free(body);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"port_id\": \"%s\"}", free_port);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port_id"), free_port);
    assert_string_equal(jstr(r->json, "subnet_id"), sub3b);
    assert_string_equal(jstr(r->json, "network_id"), net3);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/ports/%s", free_port);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_string_equal(jstr(r->json, "port/device_id"), router);
    assert_string_equal(jstr(r->json, "port/device_owner"),
                        "network:router_interface");
    apitest_resp_free(r);
    /* Its subnet is now the router's. */
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", sub3b);
    assert_neutron_error(r, 400, "BadRequest");
    apitest_resp_free(r);

    /* IPv6: the second subnet of a network joins the same port. */
    char *net6 = topo_net(srv, P1, NULL);
    char *v6a = topo_subnet(srv, P1, net6, "2001:db8:a::/64", NULL);
    char *v6b = topo_subnet(srv, P1, net6, "2001:db8:b::/64", NULL);
    char *p6 = topo_add_interface(srv, P1, router, "subnet_id", v6a);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", v6b);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port_id"), p6);
    assert_string_equal(jstr(r->json, "subnet_id"), v6b);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/ports/%s", p6);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "port/fixed_ips"), 2);
    apitest_resp_free(r);

    /* The journal: one row per interface change, then the router shows
     * them all in its document. */
    topo_wait_journal_idle(srv);
    assert_journal(srv, router,
                   "noop router create\n"
                   "noop router_interface create\n"
                   "noop router_interface create\n"
                   "noop router_interface create\n"
                   "noop router_interface create\n"
                   "noop router_interface update\n");
    r = api_get(srv, "/v2.0/journal_entries");
    yajl_val list = jpath(r->json, "journal_entries");
    yajl_val last = list->u.array.values[list->u.array.len - 1];
    assert_string_equal(jstr(last, "resource_id"), p6);
    assert_int_equal(jlen(last, "data/fixed_ips"), 2);
    apitest_resp_free(r);
    topo_wait_status(srv, "router", router, "ACTIVE");
    r = topo_get(srv, P1, "routers", router);
    assert_int_equal(jint(r->json, "router/revision_number"), 5);
    apitest_resp_free(r);

    /* RouterInUse while interfaces remain. */
    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_neutron_error(r, 409, "RouterInUse");
    apitest_resp_free(r);

    remove_interface(srv, P1, router, "subnet_id", v6a);
    remove_interface(srv, P1, router, "subnet_id", v6b);
    remove_interface(srv, P1, router, "port_id", free_port);
    remove_interface(srv, P1, router, "port_id", port);
    remove_interface(srv, NULL, router, "subnet_id", shared_subnet);
    assert_int_equal(topo_delete(srv, P1, "routers", router), 204);

    free(p6);
    free(v6a);
    free(v6b);
    free(net6);
    free(free_port);
    free(wide_port);
    free(two);
    free(noip);
    free(used);
    free(sub3b);
    free(sub3);
    free(net3);
    free(shared_port);
    free(shared_subnet);
    free(shared);
    free(nogw);
    free(wide);
    free(net2);
    free(port);
    free(subnet);
    free(net);
    free(router);
}

static void
test_interfaces_remove(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;

    topo_l3_make(env->srv, P1, env->ext, "10.30.0.0/24", NULL, &t);
    char *other_net = topo_net(srv, P1, NULL);
    char *other_subnet = topo_subnet(srv, P1, other_net, "10.31.0.0/24",
                                     NULL);
    char *loose = topo_port(srv, P1, other_net, NULL);

    /* Not interfaces of the router. */
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"port_id\": \"%s\"}", loose);
    topo_assert_error(r, 404, "RouterInterfaceNotFound",
                      "Router %s does not have an interface with id %s",
                      t.router, loose);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"subnet_id\": \"%s\"}", other_subnet);
    topo_assert_error(r, 404, "RouterInterfaceNotFoundForSubnet",
                      "Router %s has no interface on subnet %s", t.router,
                      other_subnet);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"port_id\": \"%s\", \"subnet_id\": \"%s\"}", t.port,
                      other_subnet);
    assert_neutron_error(r, 400, "SubnetMismatchForPort");
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface", "{}");
    assert_neutron_error(r, 400, "BadRequest");
    apitest_resp_free(r);
    r = router_action(srv, P2, t.router, "remove_router_interface",
                      "{\"port_id\": \"%s\"}", t.port);
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"subnet_id\": \"" NO_SUCH "\"}");
    assert_neutron_error(r, 404, "SubnetNotFound");
    apitest_resp_free(r);

    /* Needed by a route. */
    r = topo_update(srv, P1, "router", t.router,
                    "\"routes\": [{\"destination\": "
                    "\"192.168.30.0/24\", \"nexthop\": \"10.30.0.20\"}]");
    assert_status(r, 200);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"subnet_id\": \"%s\"}", t.subnet);
    topo_assert_error(r, 409, "RouterInterfaceInUseByRoute",
                      "Router interface for subnet %s on router %s cannot be "
                      "deleted, as it is required by one or more routes.",
                      t.subnet, t.router);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"port_id\": \"%s\"}", t.port);
    assert_neutron_error(r, 409, "RouterInterfaceInUseByRoute");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", t.router, "\"routes\": null");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "router/routes"), 0);
    apitest_resp_free(r);

    /* Needed by a floating IP. */
    char *vm = topo_port(srv, P1, t.net, NULL);
    char *fip = topo_create_id(srv, "POST", "/v2.0/floatingips", P1, 201,
                          "floatingip/id", "{\"floatingip\": "
                          "{\"floating_network_id\": \"%s\", \"port_id\": "
                          "\"%s\"}}", env->ext, vm);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"subnet_id\": \"%s\"}", t.subnet);
    assert_neutron_error(r, 409, "RouterInterfaceInUseByFloatingIP");
    apitest_resp_free(r);
    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    assert_int_equal(topo_delete(srv, P1, "ports", vm), 204);

    /* By port: the answer, then the port is gone. */
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"port_id\": \"%s\"}", t.port);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "id"), t.router);
    assert_string_equal(jstr(r->json, "port_id"), t.port);
    assert_string_equal(jstr(r->json, "subnet_id"), t.subnet);
    assert_string_equal(jstr(r->json, "network_id"), t.net);
    assert_string_equal(jstr(r->json, "project_id"), P1);
    apitest_resp_free(r);
    char query[100];
    snprintf(query, sizeof query, "id=%s", t.port);
    assert_int_equal(count_ports(srv, query), 0);

    /* By subnet, for an interface added by port: that port goes too. */
    char *p2 = topo_add_interface(srv, P1, t.router, "port_id", loose);
    assert_string_equal(p2, loose);
    r = router_action(srv, P1, t.router, "remove_router_interface",
                      "{\"subnet_id\": \"%s\"}", other_subnet);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port_id"), loose);
    assert_string_equal(jstr(r->json, "subnet_ids/0"), other_subnet);
    apitest_resp_free(r);
    snprintf(query, sizeof query, "id=%s", loose);
    assert_int_equal(count_ports(srv, query), 0);

    /* The subnets are free again: deletable, re-addable. */
    free(t.port);
    t.port = topo_add_interface(srv, P1, t.router, "subnet_id", t.subnet);
    topo_wait_journal_idle(srv);
    char *rows = journal_of(srv, t.router);
    assert_true(str_ends_with(rows, "noop router_interface delete\n"
                              "noop router_interface create\n"
                              "noop router_interface delete\n"
                              "noop router_interface create\n"));
    free(rows);
    assert_int_equal(topo_delete(srv, P1, "subnets", other_subnet), 204);
    unroute(env, P1, &t);
    free(p2);
    free(fip);
    free(vm);
    free(loose);
    free(other_subnet);
    free(other_net);
}

static void
test_routes(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;
    struct topo_l3 t;

    topo_l3_make(env->srv, P1, env->ext, "10.40.0.0/24", NULL, &t);

    /* Set by PUT; nexthops inside a connected subnet (also the gateway's
     * network). */
    r = topo_update(srv, P1, "router", t.router,
                    "\"routes\": [{\"destination\": "
                    "\"192.168.1.0/24\", \"nexthop\": \"10.40.0.10\"}, "
                    "{\"destination\": \"198.51.100.0/24\", \"nexthop\": "
                    "\"172.24.4.99\"}]");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "router/routes"), 2);
    assert_string_equal(jstr(r->json, "router/routes/0/destination"),
                        "192.168.1.0/24");
    assert_string_equal(jstr(r->json, "router/routes/0/nexthop"),
                        "10.40.0.10");
    apitest_resp_free(r);

    /* Refusals: nexthop not connected, nexthop the router's own; bad
     * formats. */
    static const struct {
        const char *routes;     /* the "routes" value */
        const char *type;
        const char *message;    /* NULL: not checked */
    } refusals[] = {
        { "[{\"destination\": \"192.168.2.0/24\", \"nexthop\": "
          "\"10.99.0.1\"}]", "InvalidRoutes",
          "Invalid format for routes: [{'destination': '192.168.2.0/24', "
          "'nexthop': '10.99.0.1'}], the nexthop is not connected with "
          "router" },
        { "[{\"destination\": \"192.168.2.0/24\", \"nexthop\": "
          "\"10.40.0.1\"}]", "InvalidRoutes",
          "Invalid format for routes: [{'destination': '192.168.2.0/24', "
          "'nexthop': '10.40.0.1'}], the nexthop is used by router" },
        { "[{\"destination\": \"192.168.2.0/24\"}]", "HTTPBadRequest",
          NULL },
        { "[{\"destination\": \"192.168.2.1/24\", \"nexthop\": "
          "\"10.40.0.3\"}]", "HTTPBadRequest",
          "Invalid input for routes. Reason: '192.168.2.1/24' is not a "
          "recognized CIDR, '192.168.2.0/24' is recommended." },
        { "[{\"destination\": \"192.168.2.0/24\", \"nexthop\": \"x\"}]",
          "HTTPBadRequest", NULL },
        { "\"x\"", "HTTPBadRequest", NULL },
        { "[{\"destination\": \"192.168.2.0/24\", \"nexthop\": "
          "\"10.40.0.3\"}, {\"destination\": \"192.168.2.0/24\", "
          "\"nexthop\": \"10.40.0.3\"}]", "HTTPBadRequest", NULL },
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        r = topo_update(srv, P1, "router", t.router, "\"routes\": %s",
                        refusals[i].routes);
        assert_neutron_error(r, 400, refusals[i].type);
        if (refusals[i].message) {
            assert_message(r, refusals[i].message);
        }
        apitest_resp_free(r);
    }

    /* At most 30. */
    char *many = xstrdup("");
    for (int i = 0; i < 31; i++) {
        char *longer = xasprintf("%s%s{\"destination\": \"10.200.%d.0/24\", "
                                 "\"nexthop\": \"10.40.0.5\"}", many,
                                 i ? ", " : "", i);
        free(many);
        many = longer;
    }
    r = topo_update(srv, P1, "router", t.router, "\"routes\": [%s]", many);
    topo_assert_error(r, 400, "RoutesExhausted",
                      "Unable to complete operation for %s. The number "
                      "of routes exceeds the maximum 30.", t.router);
    apitest_resp_free(r);
    free(many);

    /* The refusals left the routes alone. */
    r = topo_get(srv, P1, "routers", t.router);
    assert_int_equal(jlen(r->json, "router/routes"), 2);
    apitest_resp_free(r);

    /* Atomic add: duplicates merge; atomic remove: absent ones ignored. */
    r = router_action(srv, P1, t.router, "add_extraroutes",
                      "{\"router\": {\"routes\": [{\"destination\": "
                      "\"192.168.1.0/24\", \"nexthop\": \"10.40.0.10\"}, "
                      "{\"destination\": \"192.168.1.0/24\", \"nexthop\": "
                      "\"10.40.0.11\"}]}}");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "router/id"), t.router);
    assert_int_equal(jlen(r->json, "router/routes"), 3);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "remove_extraroutes",
                      "{\"router\": {\"routes\": [{\"destination\": "
                      "\"192.168.1.0/24\", \"nexthop\": \"10.40.0.10\"}, "
                      "{\"destination\": \"10.0.0.0/8\", \"nexthop\": "
                      "\"10.40.0.10\"}]}}");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "router/routes"), 2);
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "add_extraroutes",
                      "{\"router\": {\"routes\": [{\"destination\": "
                      "\"192.168.3.0/24\", \"nexthop\": \"10.77.0.1\"}]}}");
    assert_neutron_error(r, 400, "InvalidRoutes");
    apitest_resp_free(r);
    r = router_action(srv, P1, t.router, "add_extraroutes", "{\"routes\": "
                      "[]}");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);
    r = router_action(srv, P2, t.router, "add_extraroutes",
                      "{\"router\": {\"routes\": []}}");
    assert_neutron_error(r, 404, "RouterNotFound");
    apitest_resp_free(r);

    /* A route through the gateway keeps the gateway. */
    r = topo_update(srv, P1, "router", t.router,
                    "\"external_gateway_info\": null");
    assert_neutron_error(r, 400, "InvalidRoutes");
    apitest_resp_free(r);

    /* Each change is a router update for the driver. */
    topo_wait_journal_idle(srv);
    assert_journal(srv, t.router,
                   "noop router create\n"
                   "noop router_interface create\n"
                   "noop router update\n"
                   "noop router update\n"
                   "noop router update\n");
    r = api_get(srv, "/v2.0/journal_entries");
    yajl_val list = jpath(r->json, "journal_entries");
    yajl_val last = list->u.array.values[list->u.array.len - 1];
    assert_int_equal(jlen(last, "data/routes"), 2);
    assert_int_equal(jlen(last, "data/interfaces"), 1);
    apitest_resp_free(r);

    r = topo_update(srv, P1, "router", t.router, "\"routes\": []");
    assert_status(r, 200);
    apitest_resp_free(r);
    unroute(env, P1, &t);
}

static void
test_capabilities(void **state)
{
    struct env *env = *state;
    struct apitest_server *srv = env->srv;
    struct apitest_resp *r;

    /* "limited": a gateway without SNAT and floating IPs, nothing else. */
    char *body = xasprintf("\"flavor_id\": \"%s\"", env->flavor_limited);
    char *router = topo_router(srv, P1, NULL, body);
    free(body);

    r = topo_update(srv, P1, "router", router, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\"}", env->ext);
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    assert_message(r, "The router's flavor (provider limited, driver noop) "
                   "does not support an external gateway with SNAT.");
    apitest_resp_free(r);
    r = topo_update(srv, NULL, "router", router, "\"external_gateway_info\": "
                    "{\"network_id\": \"%s\", \"enable_snat\": false}",
                    env->ext);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", router, "\"admin_state_up\": false");
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);
    r = topo_call(srv, "POST", "/v2.0/routers", P1, "{\"router\": {\"flavor_id\": "
             "\"%s\", \"admin_state_up\": false}}", env->flavor_limited);
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);

    char *net = topo_net(srv, P1, NULL);
    char *v4 = topo_subnet(srv, P1, net, "10.50.0.0/24", NULL);
    char *v6 = topo_subnet(srv, P1, net, "2001:db8:50::/64", NULL);
    char *port = topo_add_interface(srv, P1, router, "subnet_id", v4);
    r = router_action(srv, P1, router, "add_router_interface",
                      "{\"subnet_id\": \"%s\"}", v6);
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);
    r = topo_update(srv, P1, "router", router,
                    "\"routes\": [{\"destination\": "
                    "\"192.168.50.0/24\", \"nexthop\": \"10.50.0.7\"}]");
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);
    r = router_action(srv, P1, router, "add_extraroutes",
                      "{\"router\": {\"routes\": [{\"destination\": "
                      "\"192.168.50.0/24\", \"nexthop\": \"10.50.0.7\"}]}}");
    assert_neutron_error(r, 400, "FlavorCapabilityNotSupported");
    apitest_resp_free(r);
    /* Emptying them is fine. */
    r = topo_update(srv, P1, "router", router, "\"routes\": []");
    assert_status(r, 200);
    apitest_resp_free(r);

    /* A floating IP through it is. */
    char *vm = topo_port(srv, P1, net, NULL);
    char *fip = topo_create_id(srv, "POST", "/v2.0/floatingips", P1, 201,
                          "floatingip/id", "{\"floatingip\": "
                          "{\"floating_network_id\": \"%s\", \"port_id\": "
                          "\"%s\"}}", env->ext, vm);
    topo_wait_journal_idle(srv);
    topo_wait_status(srv, "router", router, "ACTIVE");
    assert_journal(srv, router,
                   "limited router create\n"
                   "limited router update\n"
                   "limited router_interface create\n"
                   "limited router update\n"
                   "limited floatingip create\n");

    assert_int_equal(topo_delete(srv, P1, "floatingips", fip), 204);
    assert_int_equal(topo_delete(srv, P1, "ports", vm), 204);
    remove_interface(srv, P1, router, "subnet_id", v4);
    assert_int_equal(topo_delete(srv, P1, "routers", router), 204);
    free(fip);
    free(vm);
    free(port);
    free(v6);
    free(v4);
    free(net);
    free(router);
}

static void
test_extensions(void **state)
{
    struct env *env = *state;
    static const char *const aliases[] = {
        "router", "ext-gw-mode", "extraroute", "extraroute-atomic",
        "l3-flavors", "fip-port-details",
    };

    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
        char path[100];
        snprintf(path, sizeof path, "/v2.0/extensions/%s", aliases[i]);
        struct apitest_resp *r = api_get(env->srv, path);
        assert_status(r, 200);
        assert_string_equal(jstr(r->json, "extension/alias"), aliases[i]);
        apitest_resp_free(r);
    }
    struct apitest_resp *r = api_get(env->srv, "/v2.0/extensions/router");
    assert_string_equal(jstr(r->json, "extension/name"), "Neutron L3 Router");
    apitest_resp_free(r);
    r = api_get(env->srv, "/v2.0");
    bool found = false;
    for (size_t i = 0; i < jlen(r->json, "resources"); i++) {
        char key[64];
        snprintf(key, sizeof key, "resources/%zu/collection", i);
        found |= !strcmp(jstr(r->json, key), "routers");
    }
    assert_true(found);
    apitest_resp_free(r);
}

/* A change that leaves the driver nothing to do (a tag) bumps the
 * revision but must not keep the router from going ACTIVE when the
 * driver, slowed by retries, finally applies the create. */
static void
test_status_after_tag(void **state)
{
    struct apitest_server *srv = apitest_server_start(
        "[journal]\nretry_backoff_initial_ms = 300\n"
        "[noop]\nfail_first = 2\n");
    struct apitest_resp *r = topo_call(srv, "POST", "/v2.0/routers", P1,
                                       "{\"router\": {\"name\": \"t\"}}");
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "router/id"));
    apitest_resp_free(r);

    char path[160];
    snprintf(path, sizeof path, "/v2.0/routers/%s/tags/late", id);
    r = topo_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);
    r = topo_get(srv, NULL, "routers", id);
    assert_string_equal(jstr(r->json, "router/status"), "DOWN");
    assert_int_equal(jint(r->json, "router/revision_number"), 1);
    apitest_resp_free(r);

    topo_wait_status(srv, "router", id, "ACTIVE");
    free(id);
    apitest_server_stop(srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_flavor_binding),
        cmocka_unit_test(test_flavor_change),
        cmocka_unit_test(test_gateway),
        cmocka_unit_test(test_interfaces_add),
        cmocka_unit_test(test_interfaces_remove),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_status_after_tag),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
