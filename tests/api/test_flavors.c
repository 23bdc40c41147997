/* tests/api/test_flavors.c: flavors, service profiles, their association
 * and the service providers, as an admin and as a project sees them:
 * every attribute and default, each bad input, the policy (admin-only
 * writes, enabled flavors for everyone, profiles for admins only), the
 * in-use rules, and the provider configuration (default, bad lines, the
 * drivers' own sections).  Runs on both database engines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/testdb.h"

#define P1 "11111111111111111111111111111111"
#define NO_SUCH "0a0a0a0a-0000-4000-8000-000000000000"

/* Two providers of the noop driver; "basic" with fewer capabilities. */
static const char main_config[] =
    "[service_providers]\n"
    "service_provider = L3_ROUTER_NAT:fast:noop:default\n"
    "service_provider = L3_ROUTER_NAT:basic:noop\n"
    "[basic]\n"
    "capabilities = gateway\n";

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

/* Sends and asserts the status; returns the response. */
static struct apitest_resp *
call(struct apitest_server *srv, const char *method, const char *path,
     const char *project, const char *body, long status)
{
    struct apitest_resp *r = api_call(srv, method, path, project, body);

    assert_status(r, status);
    return r;
}

static void
expect_error(struct apitest_server *srv, const char *method,
             const char *path, const char *project, const char *body,
             long status, const char *type)
{
    struct apitest_resp *r = api_call(srv, method, path, project, body);

    assert_neutron_error(r, status, type);
    apitest_resp_free(r);
}

/* Creates a flavor as admin; returns its id (malloc'd). */
static char *
make_flavor(struct apitest_server *srv, const char *name, bool enabled)
{
    char body[512];

    snprintf(body, sizeof body, "{\"flavor\": {\"name\": \"%s\", "
             "\"service_type\": \"L3_ROUTER_NAT\", \"enabled\": %s}}", name,
             enabled ? "true" : "false");
    struct apitest_resp *r = call(srv, "POST", "/v2.0/flavors", NULL, body,
                                  201);
    char *id = xstrdup(jstr(r->json, "flavor/id"));
    apitest_resp_free(r);
    return id;
}

/* Creates a service profile as admin with 'fields' (JSON members). */
static char *
make_profile(struct apitest_server *srv, const char *fields)
{
    char body[512];

    snprintf(body, sizeof body, "{\"service_profile\": {%s}}", fields);
    struct apitest_resp *r = call(srv, "POST", "/v2.0/service_profiles",
                                  NULL, body, 201);
    char *id = xstrdup(jstr(r->json, "service_profile/id"));
    apitest_resp_free(r);
    return id;
}

static void
bind(struct apitest_server *srv, const char *flavor, const char *profile,
     long status, const char *type)
{
    char path[256], body[256];

    snprintf(path, sizeof path, "/v2.0/flavors/%s/service_profiles", flavor);
    snprintf(body, sizeof body, "{\"service_profile\": {\"id\": \"%s\"}}",
             profile);
    struct apitest_resp *r = api_call(srv, "POST", path, NULL, body);
    if (type) {
        assert_neutron_error(r, status, type);
    } else {
        assert_status(r, status);
        assert_string_equal(jstr(r->json, "service_profile/id"), profile);
    }
    apitest_resp_free(r);
}

static void
delete_ok(struct apitest_server *srv, const char *collection,
          const char *id)
{
    char path[256];

    snprintf(path, sizeof path, "/v2.0/%s/%s", collection, id);
    apitest_resp_free(call(srv, "DELETE", path, NULL, NULL, 204));
}

/* True if list 'v' (of objects) has one with "id" 'id'. */
static bool
has_id(yajl_val v, const char *id)
{
    for (size_t i = 0; YAJL_IS_ARRAY(v) && i < v->u.array.len; i++) {
        const char *got = jstr(v->u.array.values[i], "id");
        if (got && !strcmp(got, id)) {
            return true;
        }
    }
    return false;
}

/* True if 'v' is an array of strings holding 's'. */
static bool
has_str(yajl_val v, const char *s)
{
    for (size_t i = 0; YAJL_IS_ARRAY(v) && i < v->u.array.len; i++) {
        const char *got = YAJL_GET_STRING(v->u.array.values[i]);
        if (got && !strcmp(got, s)) {
            return true;
        }
    }
    return false;
}

/* ---- Extensions and service providers ---- */

static void
test_extensions(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;

    r = call(srv, "GET", "/v2.0/extensions/flavors", P1, NULL, 200);
    assert_string_equal(jstr(r->json, "extension/name"),
                        "Neutron Service Flavors");
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/extensions/service-type", P1, NULL, 200);
    assert_string_equal(jstr(r->json, "extension/name"),
                        "Neutron Service Type Management");
    apitest_resp_free(r);
}

static void
test_service_providers(void **state)
{
    struct apitest_server *srv = *state;
    const char *who[] = { NULL, P1 };

    for (size_t i = 0; i < ARRAY_SIZE(who); i++) {
        struct apitest_resp *r = call(srv, "GET", "/v2.0/service-providers",
                                      who[i], NULL, 200);
        assert_int_equal(jlen(r->json, "service_providers"), 2);
        assert_string_equal(jstr(r->json, "service_providers/0/name"),
                            "fast");
        assert_string_equal(jstr(r->json,
                                 "service_providers/0/service_type"),
                            "L3_ROUTER_NAT");
        assert_true(YAJL_IS_TRUE(jpath(r->json,
                                       "service_providers/0/default")));
        assert_string_equal(jstr(r->json, "service_providers/1/name"),
                            "basic");
        assert_true(YAJL_IS_FALSE(jpath(r->json,
                                        "service_providers/1/default")));
        apitest_resp_free(r);
    }

    struct apitest_resp *r = call(srv, "GET",
                                  "/v2.0/service-providers?name=basic"
                                  "&fields=name", NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "service_providers"), 1);
    assert_string_equal(jstr(r->json, "service_providers/0/name"), "basic");
    assert_null(jpath(r->json, "service_providers/0/default"));
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/service-providers?default=true", NULL, NULL,
             200);
    assert_int_equal(jlen(r->json, "service_providers"), 1);
    assert_string_equal(jstr(r->json, "service_providers/0/name"), "fast");
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/service-providers?service_type=FIREWALL",
             NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "service_providers"), 0);
    apitest_resp_free(r);
}

/* ---- Flavors ---- */

static void
test_flavor_crud(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    char path[256];

    r = call(srv, "POST", "/v2.0/flavors", NULL,
             "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\"}}", 201);
    char *id = xstrdup(jstr(r->json, "flavor/id"));
    assert_string_equal(jstr(r->json, "flavor/name"), "");
    assert_string_equal(jstr(r->json, "flavor/description"), "");
    assert_string_equal(jstr(r->json, "flavor/service_type"),
                        "L3_ROUTER_NAT");
    assert_true(YAJL_IS_TRUE(jpath(r->json, "flavor/enabled")));
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 0);
    assert_true(YAJL_IS_ARRAY(jpath(r->json, "flavor/service_profiles")));
    /* No owner and no standard attributes, as Neutron. */
    assert_null(jpath(r->json, "flavor/tenant_id"));
    assert_null(jpath(r->json, "flavor/project_id"));
    assert_null(jpath(r->json, "flavor/revision_number"));
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/flavors/%s", id);
    r = call(srv, "PUT", path, NULL,
             "{\"flavor\": {\"name\": \"gold\", \"description\": \"fast "
             "routers\", \"enabled\": false}}", 200);
    assert_string_equal(jstr(r->json, "flavor/name"), "gold");
    assert_string_equal(jstr(r->json, "flavor/description"), "fast routers");
    assert_true(YAJL_IS_FALSE(jpath(r->json, "flavor/enabled")));
    apitest_resp_free(r);

    r = call(srv, "GET", path, NULL, NULL, 200);
    assert_string_equal(jstr(r->json, "flavor/id"), id);
    assert_string_equal(jstr(r->json, "flavor/name"), "gold");
    assert_true(YAJL_IS_FALSE(jpath(r->json, "flavor/enabled")));
    apitest_resp_free(r);

    r = call(srv, "PUT", path, NULL,
             "{\"flavor\": {\"description\": null, \"enabled\": \"true\"}}",
             200);
    assert_string_equal(jstr(r->json, "flavor/description"), "");
    assert_true(YAJL_IS_TRUE(jpath(r->json, "flavor/enabled")));
    apitest_resp_free(r);

    r = call(srv, "GET", "/v2.0/flavors?name=gold&fields=id&fields=name",
             NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "flavors"), 1);
    assert_string_equal(jstr(r->json, "flavors/0/id"), id);
    assert_null(jpath(r->json, "flavors/0/enabled"));
    apitest_resp_free(r);

    delete_ok(srv, "flavors", id);
    r = api_call(srv, "GET", path, NULL, NULL);
    assert_neutron_error(r, 404, "FlavorNotFound");
    char msg[128];
    snprintf(msg, sizeof msg, "Flavor %s could not be found.", id);
    assert_string_equal(jstr(r->json, "NeutronError/message"), msg);
    apitest_resp_free(r);
    expect_error(srv, "DELETE", path, NULL, NULL, 404, "FlavorNotFound");
    expect_error(srv, "PUT", path, NULL, "{\"flavor\": {\"name\": \"x\"}}",
                 404, "FlavorNotFound");
    free(id);
}

static void
test_flavor_bad_input(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;

    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"name\": \"x\"}}", 400, "HTTPBadRequest");
    r = api_call(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"LOADBALANCERV2\"}}");
    assert_neutron_error(r, 400, "InvalidFlavorServiceType");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Invalid service type LOADBALANCERV2.");
    apitest_resp_free(r);
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": 7}}", 400,
                 "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"bogus\": 1}}", 400, "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"id\": \"" NO_SUCH "\"}}", 400, "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"enabled\": \"maybe\"}}", 400, "InvalidInput");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"service_profiles\": [\"not-a-uuid\"]}}", 400,
                 "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"service_profiles\": \"" NO_SUCH "\"}}", 400,
                 "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\", "
                 "\"service_profiles\": [\"" NO_SUCH "\"]}}", 404,
                 "ServiceProfileNotFound");
    char name[300];
    memset(name, 'n', 256);
    name[256] = '\0';
    char body[512];
    snprintf(body, sizeof body, "{\"flavor\": {\"service_type\": "
             "\"L3_ROUTER_NAT\", \"name\": \"%s\"}}", name);
    expect_error(srv, "POST", "/v2.0/flavors", NULL, body, 400,
                 "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/flavors", NULL, "{\"flavors\": 1}",
                 400, "HTTPBadRequest");

    char *id = make_flavor(srv, "bad-input", true);
    char path[256];
    snprintf(path, sizeof path, "/v2.0/flavors/%s", id);
    expect_error(srv, "PUT", path, NULL,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\"}}", 400,
                 "HTTPBadRequest");
    expect_error(srv, "PUT", path, NULL, "{\"flavor\": {\"id\": \"x\"}}",
                 400, "HTTPBadRequest");
    expect_error(srv, "PUT", path, NULL,
                 "{\"flavor\": {\"enabled\": null}}", 400, "HTTPBadRequest");
    /* A failed create leaves nothing behind. */
    r = call(srv, "GET", "/v2.0/flavors?service_type=LOADBALANCERV2", NULL,
             NULL, 200);
    assert_int_equal(jlen(r->json, "flavors"), 0);
    apitest_resp_free(r);
    delete_ok(srv, "flavors", id);
    free(id);
}

static void
test_flavor_policy(void **state)
{
    struct apitest_server *srv = *state;
    char *on = make_flavor(srv, "policy-on", true);
    char *off = make_flavor(srv, "policy-off", false);
    char on_path[256], off_path[256];
    struct apitest_resp *r;

    snprintf(on_path, sizeof on_path, "/v2.0/flavors/%s", on);
    snprintf(off_path, sizeof off_path, "/v2.0/flavors/%s", off);

    /* Writes are the admin's. */
    r = api_call(srv, "POST", "/v2.0/flavors", P1,
                 "{\"flavor\": {\"service_type\": \"L3_ROUTER_NAT\"}}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "(rule:create_flavor) is disallowed by policy");
    apitest_resp_free(r);
    r = api_call(srv, "PUT", on_path, P1, "{\"flavor\": {\"name\": \"x\"}}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "(rule:update_flavor) is disallowed by policy");
    apitest_resp_free(r);
    expect_error(srv, "DELETE", on_path, P1, NULL, 403,
                 "PolicyNotAuthorized");

    /* Everyone reads the enabled flavors; a disabled one is the admin's
     * alone (404 for others, never 403). */
    r = call(srv, "GET", "/v2.0/flavors", P1, NULL, 200);
    assert_true(has_id(jpath(r->json, "flavors"), on));
    assert_false(has_id(jpath(r->json, "flavors"), off));
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/flavors?enabled=false", P1, NULL, 200);
    assert_int_equal(jlen(r->json, "flavors"), 0);
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/flavors", NULL, NULL, 200);
    assert_true(has_id(jpath(r->json, "flavors"), on));
    assert_true(has_id(jpath(r->json, "flavors"), off));
    apitest_resp_free(r);
    r = call(srv, "GET", on_path, P1, NULL, 200);
    assert_string_equal(jstr(r->json, "flavor/name"), "policy-on");
    apitest_resp_free(r);
    expect_error(srv, "GET", off_path, P1, NULL, 404, "FlavorNotFound");
    expect_error(srv, "PUT", off_path, P1, "{\"flavor\": {\"name\": \"x\"}}",
                 404, "FlavorNotFound");
    expect_error(srv, "DELETE", off_path, P1, NULL, 404, "FlavorNotFound");

    /* Nothing changed. */
    r = call(srv, "GET", on_path, NULL, NULL, 200);
    assert_string_equal(jstr(r->json, "flavor/name"), "policy-on");
    apitest_resp_free(r);
    delete_ok(srv, "flavors", on);
    delete_ok(srv, "flavors", off);
    free(on);
    free(off);
}

static void
test_flavor_list_paging(void **state)
{
    struct apitest_server *srv = *state;
    char *a = make_flavor(srv, "page-a", true);
    char *b = make_flavor(srv, "page-b", true);
    struct apitest_resp *r;

    r = call(srv, "GET", "/v2.0/flavors?name=page-a&name=page-b"
             "&sort_key=name&sort_dir=desc", P1, NULL, 200);
    assert_int_equal(jlen(r->json, "flavors"), 2);
    assert_string_equal(jstr(r->json, "flavors/0/name"), "page-b");
    assert_string_equal(jstr(r->json, "flavors/1/name"), "page-a");
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/flavors?name=page-a&name=page-b"
             "&sort_key=name&limit=1", NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "flavors"), 1);
    assert_string_equal(jstr(r->json, "flavors/0/name"), "page-a");
    assert_string_equal(jstr(r->json, "flavors_links/0/rel"), "next");
    apitest_resp_free(r);
    expect_error(srv, "GET", "/v2.0/flavors?service_profiles=x", NULL, NULL,
                 400, "HTTPBadRequest");
    delete_ok(srv, "flavors", a);
    delete_ok(srv, "flavors", b);
    free(a);
    free(b);
}

/* ---- Service profiles ---- */

static void
test_profile_crud(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r;
    char path[256];

    /* The driver names a provider by its driver name or its own name. */
    r = call(srv, "POST", "/v2.0/service_profiles", NULL,
             "{\"service_profile\": {\"driver\": \"noop\", "
             "\"description\": \"d\"}}", 201);
    char *id = xstrdup(jstr(r->json, "service_profile/id"));
    assert_string_equal(jstr(r->json, "service_profile/driver"), "noop");
    assert_string_equal(jstr(r->json, "service_profile/description"), "d");
    assert_string_equal(jstr(r->json, "service_profile/metainfo"), "");
    assert_true(YAJL_IS_TRUE(jpath(r->json, "service_profile/enabled")));
    assert_null(jpath(r->json, "service_profile/tenant_id"));
    apitest_resp_free(r);
    char *by_name = make_profile(srv, "\"driver\": \"basic\"");
    char *meta = make_profile(srv, "\"metainfo\": \"{\\\"k\\\": 1}\", "
                              "\"enabled\": false");

    r = api_call(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"driver\": \"nosuch\"}}");
    assert_neutron_error(r, 400, "ServiceProfileDriverNotFound");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Service Profile driver nosuch could not be found.");
    apitest_resp_free(r);
    r = api_call(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"description\": \"none\"}}");
    assert_neutron_error(r, 400, "ServiceProfileEmpty");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "Service Profile needs either a driver or "
                        "metainfo.");
    apitest_resp_free(r);
    expect_error(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"driver\": \"\", "
                 "\"metainfo\": \"\"}}", 400, "ServiceProfileEmpty");
    expect_error(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"driver\": \"noop\", "
                 "\"flavors\": []}}", 400, "HTTPBadRequest");
    expect_error(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"metainfo\": {\"k\": 1}}}", 400,
                 "HTTPBadRequest");

    snprintf(path, sizeof path, "/v2.0/service_profiles/%s", id);
    r = call(srv, "PUT", path, NULL,
             "{\"service_profile\": {\"driver\": \"fast\", "
             "\"enabled\": false, \"metainfo\": \"m\"}}", 200);
    assert_string_equal(jstr(r->json, "service_profile/driver"), "fast");
    assert_string_equal(jstr(r->json, "service_profile/metainfo"), "m");
    assert_true(YAJL_IS_FALSE(jpath(r->json, "service_profile/enabled")));
    apitest_resp_free(r);
    expect_error(srv, "PUT", path, NULL,
                 "{\"service_profile\": {\"driver\": \"nosuch\"}}", 400,
                 "ServiceProfileDriverNotFound");
    expect_error(srv, "PUT", path, NULL,
                 "{\"service_profile\": {\"driver\": \"\", "
                 "\"metainfo\": \"\"}}", 400, "ServiceProfileEmpty");
    r = call(srv, "GET", path, NULL, NULL, 200);
    assert_string_equal(jstr(r->json, "service_profile/driver"), "fast");
    apitest_resp_free(r);

    r = call(srv, "GET", "/v2.0/service_profiles?driver=basic", NULL, NULL,
             200);
    assert_int_equal(jlen(r->json, "service_profiles"), 1);
    assert_string_equal(jstr(r->json, "service_profiles/0/id"), by_name);
    apitest_resp_free(r);

    delete_ok(srv, "service_profiles", id);
    delete_ok(srv, "service_profiles", by_name);
    delete_ok(srv, "service_profiles", meta);
    r = api_call(srv, "GET", path, NULL, NULL);
    assert_neutron_error(r, 404, "ServiceProfileNotFound");
    char msg[128];
    snprintf(msg, sizeof msg, "Service Profile %s could not be found.", id);
    assert_string_equal(jstr(r->json, "NeutronError/message"), msg);
    apitest_resp_free(r);
    expect_error(srv, "DELETE", path, NULL, NULL, 404,
                 "ServiceProfileNotFound");
    free(id);
    free(by_name);
    free(meta);
}

static void
test_profile_policy(void **state)
{
    struct apitest_server *srv = *state;
    char *id = make_profile(srv, "\"driver\": \"noop\"");
    char path[256];
    struct apitest_resp *r;

    snprintf(path, sizeof path, "/v2.0/service_profiles/%s", id);
    r = api_call(srv, "POST", "/v2.0/service_profiles", P1,
                 "{\"service_profile\": {\"driver\": \"noop\"}}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "(rule:create_service_profile) is disallowed by "
                        "policy");
    apitest_resp_free(r);
    /* Profiles are invisible to projects. */
    r = call(srv, "GET", "/v2.0/service_profiles", P1, NULL, 200);
    assert_int_equal(jlen(r->json, "service_profiles"), 0);
    apitest_resp_free(r);
    expect_error(srv, "GET", path, P1, NULL, 404, "ServiceProfileNotFound");
    expect_error(srv, "PUT", path, P1,
                 "{\"service_profile\": {\"enabled\": false}}", 404,
                 "ServiceProfileNotFound");
    expect_error(srv, "DELETE", path, P1, NULL, 404,
                 "ServiceProfileNotFound");
    r = call(srv, "GET", "/v2.0/service_profiles", NULL, NULL, 200);
    assert_true(has_id(jpath(r->json, "service_profiles"), id));
    apitest_resp_free(r);
    r = call(srv, "GET", path, NULL, NULL, 200);
    assert_true(YAJL_IS_TRUE(jpath(r->json, "service_profile/enabled")));
    apitest_resp_free(r);
    delete_ok(srv, "service_profiles", id);
    free(id);
}

/* ---- Association ---- */

static void
test_association(void **state)
{
    struct apitest_server *srv = *state;
    char *fl = make_flavor(srv, "assoc", true);
    char *sp = make_profile(srv, "\"driver\": \"noop\"");
    char *sp2 = make_profile(srv, "\"driver\": \"basic\"");
    char fl_path[256], sp_path[256], assoc[256], one[300];
    struct apitest_resp *r;

    snprintf(fl_path, sizeof fl_path, "/v2.0/flavors/%s", fl);
    snprintf(sp_path, sizeof sp_path, "/v2.0/service_profiles/%s", sp);
    snprintf(assoc, sizeof assoc, "/v2.0/flavors/%s/service_profiles", fl);
    snprintf(one, sizeof one, "%s/%s", assoc, sp);

    bind(srv, fl, sp, 201, NULL);
    bind(srv, fl, sp2, 201, NULL);
    r = call(srv, "GET", fl_path, P1, NULL, 200);
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 2);
    assert_true(has_str(jpath(r->json, "flavor/service_profiles"), sp));
    assert_true(has_str(jpath(r->json, "flavor/service_profiles"), sp2));
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/flavors?name=assoc", NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "flavors/0/service_profiles"), 2);
    apitest_resp_free(r);

    /* Refusals. */
    bind(srv, fl, sp, 409, "FlavorServiceProfileBindingExists");
    bind(srv, fl, NO_SUCH, 404, "ServiceProfileNotFound");
    bind(srv, NO_SUCH, sp, 404, "FlavorNotFound");
    expect_error(srv, "POST", assoc, NULL, "{\"service_profile\": {}}", 400,
                 "HTTPBadRequest");
    expect_error(srv, "POST", assoc, NULL,
                 "{\"service_profile\": {\"id\": \"x\"}}", 400,
                 "InvalidInput");
    expect_error(srv, "POST", assoc, NULL, "{\"id\": \"" NO_SUCH "\"}", 400,
                 "HTTPBadRequest");
    char body[256];
    snprintf(body, sizeof body, "{\"service_profile\": {\"id\": \"%s\"}}",
             sp);
    r = api_call(srv, "POST", assoc, P1, body);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    assert_string_equal(jstr(r->json, "NeutronError/message"),
                        "(rule:create_flavor_service_profile) is disallowed "
                        "by policy");
    apitest_resp_free(r);
    expect_error(srv, "DELETE", one, P1, NULL, 403, "PolicyNotAuthorized");

    /* A bound profile can be neither changed nor deleted. */
    expect_error(srv, "DELETE", sp_path, NULL, NULL, 409,
                 "ServiceProfileInUse");
    expect_error(srv, "PUT", sp_path, NULL,
                 "{\"service_profile\": {\"enabled\": false}}", 409,
                 "ServiceProfileInUse");

    /* Dissociate. */
    apitest_resp_free(call(srv, "DELETE", one, NULL, NULL, 204));
    r = api_call(srv, "DELETE", one, NULL, NULL);
    assert_neutron_error(r, 404, "FlavorServiceProfileBindingNotFound");
    char msg[200];
    snprintf(msg, sizeof msg, "Service Profile %s is not associated with "
             "flavor %s.", sp, fl);
    assert_string_equal(jstr(r->json, "NeutronError/message"), msg);
    apitest_resp_free(r);
    r = call(srv, "GET", fl_path, NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 1);
    assert_string_equal(jstr(r->json, "flavor/service_profiles/0"), sp2);
    apitest_resp_free(r);
    delete_ok(srv, "service_profiles", sp);

    /* Deleting a flavor drops its bindings: its profiles are free. */
    delete_ok(srv, "flavors", fl);
    delete_ok(srv, "service_profiles", sp2);
    free(fl);
    free(sp);
    free(sp2);
}

static void
test_flavor_profiles_attribute(void **state)
{
    struct apitest_server *srv = *state;
    char *sp = make_profile(srv, "\"driver\": \"noop\"");
    char *sp2 = make_profile(srv, "\"driver\": \"fast\"");
    char body[512], path[256];
    struct apitest_resp *r;

    snprintf(body, sizeof body, "{\"flavor\": {\"service_type\": "
             "\"L3_ROUTER_NAT\", \"service_profiles\": [\"%s\"]}}", sp);
    r = call(srv, "POST", "/v2.0/flavors", NULL, body, 201);
    char *fl = xstrdup(jstr(r->json, "flavor/id"));
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 1);
    assert_string_equal(jstr(r->json, "flavor/service_profiles/0"), sp);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/flavors/%s", fl);
    snprintf(body, sizeof body, "{\"flavor\": {\"service_profiles\": "
             "[\"%s\"]}}", sp2);
    r = call(srv, "PUT", path, NULL, body, 200);
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 1);
    assert_string_equal(jstr(r->json, "flavor/service_profiles/0"), sp2);
    apitest_resp_free(r);
    expect_error(srv, "PUT", path, NULL,
                 "{\"flavor\": {\"service_profiles\": [\"" NO_SUCH "\"]}}",
                 404, "ServiceProfileNotFound");
    /* The refused update changed nothing. */
    r = call(srv, "GET", path, NULL, NULL, 200);
    assert_string_equal(jstr(r->json, "flavor/service_profiles/0"), sp2);
    apitest_resp_free(r);
    r = call(srv, "PUT", path, NULL,
             "{\"flavor\": {\"service_profiles\": []}}", 200);
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 0);
    apitest_resp_free(r);

    delete_ok(srv, "service_profiles", sp);
    delete_ok(srv, "service_profiles", sp2);
    delete_ok(srv, "flavors", fl);
    free(fl);
    free(sp);
    free(sp2);
}

/* Creates a router with 'flavor' as 'project' (NULL: admin for P1);
 * returns the response. */
static struct apitest_resp *
post_router(struct apitest_server *srv, const char *project,
            const char *flavor)
{
    char body[256];

    snprintf(body, sizeof body, "{\"router\": {\"name\": \"r\", "
             "%s\"flavor_id\": \"%s\"}}",
             project ? "" : "\"tenant_id\": \"" P1 "\", ", flavor);
    return api_call(srv, "POST", "/v2.0/routers", project, body);
}

static void
make_router(struct apitest_server *srv, const char *flavor, char *id_out)
{
    struct apitest_resp *r = post_router(srv, NULL, flavor);

    assert_status(r, 201);
    str_copy(id_out, jstr(r->json, "router/id"), UUID_STR_LEN);
    assert_string_equal(jstr(r->json, "router/flavor_id"), flavor);
    apitest_resp_free(r);
}

static void
test_flavor_in_use(void **state)
{
    struct apitest_server *srv = *state;
    char *fl = make_flavor(srv, "in-use", true);
    char *sp = make_profile(srv, "\"driver\": \"noop\"");
    char router[UUID_STR_LEN], path[256];
    struct apitest_resp *r;

    bind(srv, fl, sp, 201, NULL);
    make_router(srv, fl, router);
    snprintf(path, sizeof path, "/v2.0/flavors/%s", fl);
    r = api_call(srv, "DELETE", path, NULL, NULL);
    assert_neutron_error(r, 409, "FlavorInUse");
    char msg[128];
    snprintf(msg, sizeof msg, "Flavor %s is used by some service instance.",
             fl);
    assert_string_equal(jstr(r->json, "NeutronError/message"), msg);
    apitest_resp_free(r);
    /* Neutron lets a flavor in use be updated. */
    apitest_resp_free(call(srv, "PUT", path, NULL,
                           "{\"flavor\": {\"name\": \"renamed\"}}", 200));
    r = call(srv, "GET", path, NULL, NULL, 200);
    assert_int_equal(jlen(r->json, "flavor/service_profiles"), 1);
    apitest_resp_free(r);

    delete_ok(srv, "routers", router);
    delete_ok(srv, "flavors", fl);
    delete_ok(srv, "service_profiles", sp);
    free(fl);
    free(sp);
}

/* Waits up to 10 s for a log line holding 'a' and ending with 'b'. */
static bool
log_has(struct apitest_server *srv, const char *a, const char *b)
{
    for (int i = 0; i < 1000; i++) {
        char *log = apitest_read_log(srv);
        bool found = false;
        for (char *line = strtok(log, "\n"); line && !found;
             line = strtok(NULL, "\n")) {
            size_t len = strlen(line), blen = strlen(b);
            found = strstr(line, a) && len >= blen
                    && !strcmp(line + len - blen, b);
        }
        free(log);
        if (found) {
            return true;
        }
        usleep(10000);
    }
    return false;
}

/* A router's flavor decides its provider, with Neutron's errors and the
 * checks Neutron forgets. */
static void
test_router_flavor(void **state)
{
    struct apitest_server *srv = *state;
    char *off = make_flavor(srv, "r-off", false);
    char *empty = make_flavor(srv, "r-empty", true);
    char *spoff = make_flavor(srv, "r-spoff", true);
    char *good = make_flavor(srv, "r-good", true);
    char *sp_off = make_profile(srv, "\"driver\": \"noop\", "
                                "\"enabled\": false");
    char *sp = make_profile(srv, "\"driver\": \"basic\"");
    char router[UUID_STR_LEN];
    struct apitest_resp *r;

    bind(srv, off, sp, 201, NULL);
    bind(srv, spoff, sp_off, 201, NULL);
    bind(srv, good, sp_off, 201, NULL);
    bind(srv, good, sp, 201, NULL);

    const char *who[] = { NULL, P1 };
    for (size_t i = 0; i < ARRAY_SIZE(who); i++) {
        r = post_router(srv, who[i], NO_SUCH);
        assert_neutron_error(r, 404, "FlavorNotFound");
        apitest_resp_free(r);
        r = post_router(srv, who[i], off);
        assert_neutron_error(r, 400, "FlavorDisabled");
        apitest_resp_free(r);
        r = post_router(srv, who[i], empty);
        assert_neutron_error(r, 404, "FlavorServiceProfileBindingNotFound");
        apitest_resp_free(r);
        r = post_router(srv, who[i], spoff);
        assert_neutron_error(r, 503, "ServiceProfileDisabled");
        assert_string_equal(jstr(r->json, "NeutronError/message"),
                            "Service Profile is not enabled.");
        apitest_resp_free(r);
        /* The first enabled profile decides. */
        r = post_router(srv, who[i], good);
        assert_status(r, 201);
        assert_string_equal(jstr(r->json, "router/flavor_id"), good);
        str_copy(router, jstr(r->json, "router/id"), sizeof router);
        apitest_resp_free(r);
        /* The noop driver says what it applied. */
        char line[128];
        snprintf(line, sizeof line, " router create %s", router);
        assert_true(log_has(srv, " INFO noop: apply ", line));
        char path[256];
        snprintf(path, sizeof path, "/v2.0/routers/%s", router);
        apitest_resp_free(call(srv, "DELETE", path, who[i], NULL, 204));
    }

    delete_ok(srv, "flavors", off);
    delete_ok(srv, "flavors", empty);
    delete_ok(srv, "flavors", spoff);
    delete_ok(srv, "flavors", good);
    delete_ok(srv, "service_profiles", sp_off);
    delete_ok(srv, "service_profiles", sp);
    free(off);
    free(empty);
    free(spoff);
    free(good);
    free(sp_off);
    free(sp);
}

/* ---- Provider configuration ---- */

static void
test_default_provider(void **state)
{
    /* No service_provider line: one default noop provider, and the
     * [noop] section is the driver's, not an unknown one. */
    struct apitest_server *srv = apitest_server_start("[noop]\n"
                                                      "fail_first = 0\n");
    struct apitest_resp *r = call(srv, "GET", "/v2.0/service-providers", P1,
                                  NULL, 200);

    assert_int_equal(jlen(r->json, "service_providers"), 1);
    assert_string_equal(jstr(r->json, "service_providers/0/name"), "noop");
    assert_true(YAJL_IS_TRUE(jpath(r->json, "service_providers/0/default")));
    apitest_resp_free(r);
    /* A profile may name it. */
    char *sp = make_profile(srv, "\"driver\": \"noop\"");
    delete_ok(srv, "service_profiles", sp);
    free(sp);

    char *log = apitest_read_log(srv);
    assert_null(strstr(log, "unknown option [noop]"));
    assert_non_null(strstr(log, "provider noop: driver noop (default)"));
    free(log);
    apitest_server_stop(srv);
}

static void
test_no_default_provider(void **state)
{
    struct apitest_server *srv = apitest_server_start(
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:only:noop\n"
        "[elsewhere]\n"
        "x = 1\n");
    struct apitest_resp *r = call(srv, "GET", "/v2.0/service-providers",
                                  NULL, NULL, 200);

    assert_int_equal(jlen(r->json, "service_providers"), 1);
    assert_string_equal(jstr(r->json, "service_providers/0/name"), "only");
    assert_true(YAJL_IS_FALSE(jpath(r->json, "service_providers/0/default")));
    apitest_resp_free(r);
    /* "noop" is not a provider here, but the driver of one. */
    char *sp = make_profile(srv, "\"driver\": \"noop\"");
    delete_ok(srv, "service_profiles", sp);
    free(sp);
    expect_error(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"driver\": \"fast\"}}", 400,
                 "ServiceProfileDriverNotFound");
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "unknown option [elsewhere] x"));
    free(log);
    apitest_server_stop(srv);
}

/* The server refuses to start on a bad service_provider configuration and
 * says why. */
static void
expect_refused(const char *config, const char *why)
{
    char *url = testdb_create();
    char *output = NULL;
    int status;
    struct apitest_server *srv = apitest_server_try_start(url, config,
                                                          &status, &output);

    assert_null(srv);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    if (!strstr(output, why)) {
        fprintf(stderr, "expected '%s' in:\n%s\n", why, output);
        fail();
    }
    free(output);
    testdb_drop(url);
    free(url);
}

static void
test_bad_provider_config(void **state)
{
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:x:nosuch\n",
                   "unknown driver 'nosuch'");
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:a:noop:default\n"
                   "service_provider = L3_ROUTER_NAT:b:noop:default\n",
                   "multiple default providers");
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:a:noop\n"
                   "service_provider = L3_ROUTER_NAT:a:noop\n",
                   "provider name 'a' is used twice");
    expect_refused("[service_providers]\n"
                   "service_provider = LOADBALANCERV2:lb:noop\n",
                   "service type 'LOADBALANCERV2' is not supported");
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:noop\n",
                   "expected L3_ROUTER_NAT:<name>:<driver>[:default]");
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:a:noop:yes\n",
                   "must be 'default' or absent");
    expect_refused("[service_providers]\n"
                   "service_provider = L3_ROUTER_NAT:a:/nonexistent/x.so\n",
                   "cannot load /nonexistent/x.so");
    expect_refused("[noop]\ncapabilities = teleport\n",
                   "unknown capability 'teleport'");
    expect_refused("[noop]\nfail_frist = 1\n", "unknown option [noop] "
                   "fail_frist");
}

int
main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_service_providers),
        cmocka_unit_test(test_flavor_crud),
        cmocka_unit_test(test_flavor_bad_input),
        cmocka_unit_test(test_flavor_policy),
        cmocka_unit_test(test_flavor_list_paging),
        cmocka_unit_test(test_profile_crud),
        cmocka_unit_test(test_profile_policy),
        cmocka_unit_test(test_association),
        cmocka_unit_test(test_flavor_profiles_attribute),
        cmocka_unit_test(test_flavor_in_use),
        cmocka_unit_test(test_router_flavor),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_default_provider),
        cmocka_unit_test(test_no_default_provider),
        cmocka_unit_test(test_bad_provider_config),
    };
    int failed = cmocka_run_group_tests(shared, group_setup, group_teardown);
    failed += cmocka_run_group_tests(own, NULL, NULL);
    return failed;
}
