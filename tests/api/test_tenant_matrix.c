/* tests/api/test_tenant_matrix.c: who sees and may do what, as Neutron's
 * 2023.1 default policies say, for admin, the owner (member of project
 * P1), another project (member of P2) and a reader (X-Roles: reader in
 * P1):
 *   - lists and shows: what one may not see is absent from lists and a 404
 *     on show, update and delete (never a 403);
 *   - writes: create, update, delete, router actions and FIP association
 *     need "member" (or admin): a reader gets 403 on what it sees;
 *   - admin-only attributes (provider:*, binding:*) never reach another
 *     role's answer; segments and service profiles are admin's;
 * and hostile strings (SQL injection, wildcards, backslashes, unicode) in
 * every filter and string attribute get clean 2xx/4xx answers and leave
 * the data intact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/topo.h"

#define ADMIN_P "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
#define P1 "11111111111111111111111111111111"
#define P2 "22222222222222222222222222222222"

static const char config[] =
    "[ml2]\ntype_drivers = vlan,flat\ntenant_network_types = vlan\n"
    "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:200\n"
    "[service_providers]\n"
    "service_provider = L3_ROUTER_NAT:noop:noop:default\n";

enum role { ADMIN, OWNER, OTHER, READER, N_ROLES };
static const char *const role_names[] = { "admin", "owner", "other",
                                          "reader" };

static struct apitest_resp *
as(struct apitest_server *srv, enum role role, const char *method,
   const char *path, const char *body)
{
    switch (role) {
    case ADMIN:
        return api_call(srv, method, path, NULL, body);
    case OWNER:
        return api_call(srv, method, path, P1, body);
    case OTHER:
        return api_call(srv, method, path, P2, body);
    case READER:
    case N_ROLES:
    default:
        return apitest_request(srv, method, path,
                               "X-Project-Id: " P1 "\nX-Roles: reader",
                               body);
    }
}

static struct apitest_resp *
asf(struct apitest_server *srv, enum role role, const char *method,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static struct apitest_resp *
asf(struct apitest_server *srv, enum role role, const char *method,
    const char *path, const char *fmt, ...)
{
    char *body = NULL;
    if (fmt) {
        va_list args;
        va_start(args, fmt);
        if (vasprintf(&body, fmt, args) < 0) {
            body = NULL;
        }
        va_end(args);
        assert_non_null(body);
    }
    struct apitest_resp *r = as(srv, role, method, path, body);
    free(body);
    return r;
}

static void
expect(struct apitest_resp *r, long status, enum role role, const char *what)
{
    if (r->status != status) {
        fail_msg("%s as %s: expected %ld, got %ld: %s", what,
                 role_names[role], status, r->status, r->body);
    }
    apitest_resp_free(r);
}

/* True if the array at 'plural' holds an object whose id is 'id'. */
static bool
listed(yajl_val root, const char *plural, const char *id)
{
    size_t n = jlen(root, plural);
    for (size_t i = 0; i < n; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%zu/id", plural, i);
        const char *got = jstr(root, path);
        if (got && !strcmp(got, id)) {
            return true;
        }
    }
    return false;
}

/* Fails if any key of the answer's text names an admin-only attribute. */
static void
no_admin_attrs(const struct apitest_resp *r, enum role role,
               const char *what)
{
    static const char *const attrs[] = {
        "\"provider:network_type\"", "\"provider:physical_network\"",
        "\"provider:segmentation_id\"", "\"binding:host_id\"",
        "\"binding:vif_type\"", "\"binding:vif_details\"",
        "\"binding:profile\"", "\"segments\"",
    };
    for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
        if (strstr(r->body, attrs[i])) {
            fail_msg("%s as %s shows %s: %s", what, role_names[role],
                     attrs[i], r->body);
        }
    }
}

struct world {
    struct apitest_server *srv;
    char *ext, *ext_subnet, *shared, *shared_subnet;
    char *net, *subnet, *port, *router, *iface_port, *fip, *seg;
    char *flavor, *profile;
};

static void
build(struct world *w)
{
    struct apitest_server *srv = w->srv;

    w->ext = topo_net(srv, ADMIN_P, "\"router:external\": true");
    w->ext_subnet = topo_create_id(
        srv, "POST", "/v2.0/subnets", NULL, 201, "subnet/id",
        "{\"subnet\": {\"tenant_id\": \"" ADMIN_P "\", \"network_id\": "
        "\"%s\", \"ip_version\": 4, \"cidr\": \"172.24.4.0/24\"}}", w->ext);
    w->shared = topo_net(srv, ADMIN_P, "\"shared\": true");
    w->shared_subnet = topo_create_id(
        srv, "POST", "/v2.0/subnets", NULL, 201, "subnet/id",
        "{\"subnet\": {\"tenant_id\": \"" ADMIN_P "\", \"network_id\": "
        "\"%s\", \"ip_version\": 4, \"cidr\": \"10.99.0.0/24\"}}",
        w->shared);
    w->net = topo_create_id(srv, "POST", "/v2.0/networks", P1, 201,
                            "network/id", "%s",
                            "{\"network\": {\"name\": \"n1\"}}");
    w->subnet = topo_create_id(
        srv, "POST", "/v2.0/subnets", P1, 201, "subnet/id",
        "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
        "\"cidr\": \"10.1.0.0/24\"}}", w->net);
    w->port = topo_create_id(srv, "POST", "/v2.0/ports", P1, 201, "port/id",
                             "{\"port\": {\"network_id\": \"%s\"}}", w->net);
    /* Binding attributes only admin sets and sees. */
    char *path = xasprintf("/v2.0/ports/%s", w->port);
    struct apitest_resp *r = topo_call(srv, "PUT", path, NULL,
                  "{\"port\": {\"binding:host_id\": \"host1\", "
                  "\"binding:profile\": {\"k\": \"v\"}}}");
    assert_status(r, 200);
    apitest_resp_free(r);
    free(path);
    w->router = topo_create_id(
        srv, "POST", "/v2.0/routers", P1, 201, "router/id",
        "{\"router\": {\"name\": \"r1\", \"external_gateway_info\": "
        "{\"network_id\": \"%s\"}}}", w->ext);
    path = xasprintf("/v2.0/routers/%s/add_router_interface", w->router);
    w->iface_port = topo_create_id(srv, "PUT", path, P1, 200, "port_id",
                                   "{\"subnet_id\": \"%s\"}", w->subnet);
    free(path);
    w->fip = topo_create_id(
        srv, "POST", "/v2.0/floatingips", P1, 201, "floatingip/id",
        "{\"floatingip\": {\"floating_network_id\": \"%s\", "
        "\"port_id\": \"%s\"}}", w->ext, w->port);
    r = api_get(srv, "/v2.0/segments");
    assert_status(r, 200);
    assert_true(jlen(r->json, "segments") >= 3);
    w->seg = xstrdup(jstr(r->json, "segments/0/id"));
    apitest_resp_free(r);
    w->flavor = topo_flavor(srv, "noop");
    r = api_get(srv, "/v2.0/service_profiles");
    assert_status(r, 200);
    w->profile = xstrdup(jstr(r->json, "service_profiles/0/id"));
    apitest_resp_free(r);
}

static void
world_free(struct world *w)
{
    free(w->ext); free(w->ext_subnet); free(w->shared);
    free(w->shared_subnet); free(w->net); free(w->subnet); free(w->port);
    free(w->router); free(w->iface_port); free(w->fip); free(w->seg);
    free(w->flavor); free(w->profile);
}

/* Show, list, update and delete of one P1 resource by every role. */
static void
check_resource(struct world *w, const char *plural, const char *singular,
               const char *id, const char *update_body, bool deletable)
{
    char path[256], list[128], what[320];

    snprintf(path, sizeof path, "/v2.0/%s/%s", plural, id);
    snprintf(list, sizeof list, "/v2.0/%s", plural);
    for (int role = 0; role < N_ROLES; role++) {
        bool sees = role != OTHER;
        struct apitest_resp *r = as(w->srv, role, "GET", path, NULL);
        snprintf(what, sizeof what, "GET %s", path);
        if (r->status != (sees ? 200 : 404)) {
            fail_msg("%s as %s: %ld %s", what, role_names[role], r->status,
                     r->body);
        }
        if (role != ADMIN) {
            no_admin_attrs(r, role, what);
        }
        apitest_resp_free(r);

        r = as(w->srv, role, "GET", list, NULL);
        assert_status(r, 200);
        if (listed(r->json, plural, id) != sees) {
            fail_msg("list %s as %s: %s %s listed", plural,
                     role_names[role], id, sees ? "not" : "");
        }
        if (role != ADMIN) {
            no_admin_attrs(r, role, list);
        }
        apitest_resp_free(r);

        /* Writes by those who may not: 404 if unseen, else 403. */
        if (role == OTHER || role == READER) {
            long code = role == OTHER ? 404 : 403;
            snprintf(what, sizeof what, "PUT %s", path);
            expect(as(w->srv, role, "PUT", path, update_body), code, role,
                   what);
            snprintf(what, sizeof what, "DELETE %s", path);
            expect(as(w->srv, role, "DELETE", path, NULL), code, role, what);
            char tag[300];
            snprintf(tag, sizeof tag, "%s/tags/t1", path);
            expect(as(w->srv, role, "PUT", tag, NULL), code, role, tag);
        }
    }
    /* The owner and admin may update. */
    snprintf(what, sizeof what, "PUT %s", path);
    expect(as(w->srv, OWNER, "PUT", path, update_body), 200, OWNER, what);
    expect(as(w->srv, ADMIN, "PUT", path, update_body), 200, ADMIN, what);
    (void) singular;
    (void) deletable;
}

static void
test_matrix(void **state)
{
    (void) state;
    struct world w = { .srv = apitest_server_start(config) };
    struct apitest_server *srv = w.srv;
    char path[256];

    build(&w);

    check_resource(&w, "networks", "network", w.net,
                   "{\"network\": {\"description\": \"d\"}}", true);
    check_resource(&w, "subnets", "subnet", w.subnet,
                   "{\"subnet\": {\"description\": \"d\"}}", true);
    check_resource(&w, "ports", "port", w.port,
                   "{\"port\": {\"description\": \"d\"}}", true);
    check_resource(&w, "routers", "router", w.router,
                   "{\"router\": {\"description\": \"d\"}}", true);
    check_resource(&w, "floatingips", "floatingip", w.fip,
                   "{\"floatingip\": {\"description\": \"d\"}}", true);

    /* Admin sees the admin-only attributes. */
    snprintf(path, sizeof path, "/v2.0/ports/%s", w.port);
    struct apitest_resp *r = api_get(srv, path);
    assert_string_equal(jstr(r->json, "port/binding:host_id"), "host1");
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/networks/%s", w.net);
    r = api_get(srv, path);
    assert_string_equal(jstr(r->json, "network/provider:network_type"),
                        "vlan");
    apitest_resp_free(r);

    /* Shared and external networks: every project sees them, without the
     * admin-only attributes; only admin changes them. */
    const char *nets[] = { w.shared, w.ext };
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v2.0/networks/%s", nets[i]);
        for (int role = OWNER; role < N_ROLES; role++) {
            r = as(srv, role, "GET", path, NULL);
            assert_status(r, 200);
            no_admin_attrs(r, role, path);
            apitest_resp_free(r);
            expect(as(srv, role, "PUT", path,
                      "{\"network\": {\"name\": \"x\"}}"), 403, role, path);
            expect(as(srv, role, "DELETE", path, NULL), 403, role, path);
        }
    }
    /* The subnets of a shared network are visible to all. */
    snprintf(path, sizeof path, "/v2.0/subnets/%s", w.shared_subnet);
    expect(as(srv, OTHER, "GET", path, NULL), 200, OTHER, path);

    /* Creates: a reader none; another project nothing on P1's things. */
    expect(as(srv, READER, "POST", "/v2.0/networks",
              "{\"network\": {\"name\": \"r\"}}"), 403, READER, "create net");
    expect(asf(srv, READER, "POST", "/v2.0/subnets",
               "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
               "\"cidr\": \"10.2.0.0/24\"}}", w.net), 403, READER,
           "create subnet");
    expect(asf(srv, READER, "POST", "/v2.0/ports",
               "{\"port\": {\"network_id\": \"%s\"}}", w.net), 403, READER,
           "create port");
    expect(as(srv, READER, "POST", "/v2.0/routers",
              "{\"router\": {\"name\": \"r\"}}"), 403, READER,
           "create router");
    expect(asf(srv, READER, "POST", "/v2.0/floatingips",
               "{\"floatingip\": {\"floating_network_id\": \"%s\"}}", w.ext),
           403, READER, "create fip");
    expect(asf(srv, OTHER, "POST", "/v2.0/subnets",
               "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
               "\"cidr\": \"10.2.0.0/24\"}}", w.net), 404, OTHER,
           "subnet on P1's network");
    expect(asf(srv, OTHER, "POST", "/v2.0/ports",
               "{\"port\": {\"network_id\": \"%s\"}}", w.net), 404, OTHER,
           "port on P1's network");
    char *p2port = topo_create_id(srv, "POST", "/v2.0/ports", P2, 201,
                                  "port/id",
                                  "{\"port\": {\"network_id\": \"%s\"}}",
                                  w.shared);
    expect(asf(srv, OTHER, "POST", "/v2.0/floatingips",
               "{\"floatingip\": {\"floating_network_id\": \"%s\", "
               "\"port_id\": \"%s\"}}", w.ext, w.port), 404, OTHER,
           "FIP on P1's port");

    /* Router actions: P2 on P1's router 404, reader 403; attaching
     * another project's subnet or port: 404. */
    const char *actions[] = { "add_router_interface",
                              "remove_router_interface", "add_extraroutes",
                              "remove_extraroutes" };
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
        snprintf(path, sizeof path, "/v2.0/routers/%s/%s", w.router,
                 actions[i]);
        char *body = i < 2 ? xasprintf("{\"subnet_id\": \"%s\"}", w.subnet)
            : xasprintf("%s", "{\"router\": {\"routes\": []}}");
        expect(as(srv, OTHER, "PUT", path, body), 404, OTHER, path);
        expect(as(srv, READER, "PUT", path, body), 403, READER, path);
        free(body);
    }
    char *r2 = topo_create_id(srv, "POST", "/v2.0/routers", P2, 201,
                              "router/id", "%s",
                              "{\"router\": {\"name\": \"r2\"}}");
    snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface", r2);
    expect(asf(srv, OTHER, "PUT", path, "{\"subnet_id\": \"%s\"}", w.subnet),
           404, OTHER, "attach P1's subnet");
    expect(asf(srv, OTHER, "PUT", path, "{\"port_id\": \"%s\"}", w.port),
           404, OTHER, "attach P1's port");

    /* Associate: P2 cannot point P1's FIP anywhere, nor its own at P1's
     * port; a reader cannot disassociate. */
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", w.fip);
    expect(asf(srv, OTHER, "PUT", path,
               "{\"floatingip\": {\"port_id\": \"%s\"}}", p2port), 404,
           OTHER, "associate P1's FIP");
    expect(as(srv, READER, "PUT", path,
              "{\"floatingip\": {\"port_id\": null}}"), 403, READER,
           "disassociate");

    /* Segments, flavors, service profiles. */
    snprintf(path, sizeof path, "/v2.0/segments/%s", w.seg);
    for (int role = OWNER; role < N_ROLES; role++) {
        expect(as(srv, role, "GET", path, NULL), 404, role, path);
        r = as(srv, role, "GET", "/v2.0/segments", NULL);
        assert_status(r, 200);
        assert_int_equal(jlen(r->json, "segments"), 0);
        apitest_resp_free(r);
        expect(asf(srv, role, "POST", "/v2.0/segments",
                   "{\"segment\": {\"network_id\": \"%s\", "
                   "\"network_type\": \"vlan\", \"physical_network\": "
                   "\"physnet1\", \"segmentation_id\": 150}}", w.net), 403,
               role, "create segment");

        char fpath[256];
        snprintf(fpath, sizeof fpath, "/v2.0/flavors/%s", w.flavor);
        expect(as(srv, role, "GET", fpath, NULL), 200, role, fpath);
        expect(as(srv, role, "PUT", fpath,
                  "{\"flavor\": {\"description\": \"x\"}}"), 403, role,
               fpath);
        expect(as(srv, role, "DELETE", fpath, NULL), 403, role, fpath);
        expect(as(srv, role, "POST", "/v2.0/flavors",
                  "{\"flavor\": {\"name\": \"f\", \"service_type\": "
                  "\"L3_ROUTER_NAT\"}}"), 403, role, "create flavor");
        snprintf(fpath, sizeof fpath, "/v2.0/service_profiles/%s",
                 w.profile);
        r = as(srv, role, "GET", fpath, NULL);
        assert_true(r->status == 404 || r->status == 403);
        apitest_resp_free(r);
        expect(as(srv, role, "POST", "/v2.0/service_profiles",
                  "{\"service_profile\": {\"driver\": \"noop\"}}"), 403,
               role, "create service profile");
    }

    /* Finally the owner may delete all of it, in order. */
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", w.fip);
    expect(as(srv, OWNER, "DELETE", path, NULL), 204, OWNER, path);
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             w.router);
    expect(asf(srv, OWNER, "PUT", path, "{\"subnet_id\": \"%s\"}", w.subnet),
           200, OWNER, path);
    assert_int_equal(topo_delete(srv, P1, "routers", w.router), 204);
    assert_int_equal(topo_delete(srv, P1, "ports", w.port), 204);
    assert_int_equal(topo_delete(srv, P1, "subnets", w.subnet), 204);
    assert_int_equal(topo_delete(srv, P1, "networks", w.net), 204);

    free(p2port);
    free(r2);
    world_free(&w);
    apitest_server_stop(srv);
}

/* ---- Hostile strings ---- */

static const char *const hostile[] = {
    "' OR 1=1 --", "\"; DROP TABLE networks; --", "%", "_", "\\", "\\\\'",
    "a%b_c", "') OR ('1'='1", "1; DELETE FROM ports",
    ("\xc3\xbc\xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x92\xa5"), "*", "' UNION SELECT * FROM ports --",
};

/* 'raw' as a JSON string body (escaped). */
static char *
json_string(const char *raw)
{
    size_t n = strlen(raw);
    char *out = xmalloc(n * 2 + 3), *p = out;
    *p++ = '"';
    for (const char *s = raw; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *p++ = '\\';
        }
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

static long
count(struct apitest_server *srv, const char *plural)
{
    char path[64];
    snprintf(path, sizeof path, "/v2.0/%s", plural);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    long n = (long) jlen(r->json, plural);
    apitest_resp_free(r);
    return n;
}

static void
test_injection(void **state)
{
    (void) state;
    struct world w = { .srv = apitest_server_start(config) };
    struct apitest_server *srv = w.srv;
    static const struct {
        const char *plural;
        const char *filters[12];
    } lists[] = {
        { "networks", { "name", "description", "id", "tenant_id",
                        "project_id", "status", "provider:network_type",
                        "provider:physical_network", "tags", "tags-any",
                        "not-tags", NULL } },
        { "subnets", { "name", "cidr", "network_id", "gateway_ip",
                       "ipv6_ra_mode", "subnetpool_id", "description",
                       "segment_id", NULL } },
        { "ports", { "name", "mac_address", "device_owner", "device_id",
                     "network_id", "fixed_ips", "binding:host_id", "status",
                     "description", NULL } },
        { "routers", { "name", "status", "description", "flavor_id",
                       NULL } },
        { "floatingips", { "floating_ip_address", "fixed_ip_address",
                           "port_id", "router_id", "floating_network_id",
                           "description", "status", NULL } },
        { "segments", { "name", "network_id", "physical_network",
                        "network_type", NULL } },
        { "flavors", { "name", "service_type", "description", NULL } },
        { "service_profiles", { "driver", "description", NULL } },
    };
    const char *params[] = { "sort_key", "sort_dir", "fields", "marker",
                             "limit" };

    build(&w);
    long before[ARRAY_SIZE(lists)];
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        before[i] = count(srv, lists[i].plural);
    }

    CURL *c = curl_easy_init();
    long answers = 0;
    for (size_t h = 0; h < ARRAY_SIZE(hostile); h++) {
        char *esc = curl_easy_escape(c, hostile[h], 0);
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
            for (size_t f = 0; f < ARRAY_SIZE(lists[i].filters)
                               && lists[i].filters[f]; f++) {
                for (int role = ADMIN; role <= OTHER; role++) {
                    char *path = xasprintf("/v2.0/%s?%s=%s", lists[i].plural,
                                           lists[i].filters[f], esc);
                    struct apitest_resp *r = as(srv, role, "GET", path,
                                                NULL);
                    if (r->status != 200 && r->status != 400) {
                        fail_msg("GET %s: %ld %s", path, r->status, r->body);
                    }
                    /* A literal match only: nothing matches these. */
                    if (r->status == 200
                        && strcmp(lists[i].filters[f], "not-tags")
                        && jlen(r->json, lists[i].plural)) {
                        fail_msg("GET %s matched: %s", path, r->body);
                    }
                    answers++;
                    apitest_resp_free(r);
                    free(path);
                }
            }
            for (size_t p = 0; p < ARRAY_SIZE(params); p++) {
                char *path = xasprintf("/v2.0/%s?%s=%s", lists[i].plural,
                                       params[p], esc);
                struct apitest_resp *r = api_get(srv, path);
                if (r->status >= 500 || r->status < 200) {
                    fail_msg("GET %s: %ld %s", path, r->status, r->body);
                }
                answers++;
                apitest_resp_free(r);
                free(path);
            }
            /* In the path, as an id. */
            char *path = xasprintf("/v2.0/%s/%s", lists[i].plural, esc);
            struct apitest_resp *r = api_get(srv, path);
            if (r->status != 404 && r->status != 400) {
                fail_msg("GET %s: %ld %s", path, r->status, r->body);
            }
            answers++;
            apitest_resp_free(r);
            free(path);
        }
        curl_free(esc);

        /* As string attributes: stored verbatim, or a clean 400. */
        char *js = json_string(hostile[h]);
        static const struct {
            const char *path, *plural;
        } creates[] = {
            { "/v2.0/networks", "network" },
            { "/v2.0/routers", "router" },
            { "/v2.0/ports", "port" },
        };
        for (size_t k = 0; k < ARRAY_SIZE(creates); k++) {
            char *body = k == 2
                ? xasprintf("{\"port\": {\"network_id\": \"%s\", "
                            "\"name\": %s, \"description\": %s, "
                            "\"device_owner\": \"x\"}}", w.shared, js, js)
                : xasprintf("{\"%s\": {\"name\": %s, \"description\": "
                            "%s}}", creates[k].plural, js, js);
            struct apitest_resp *r = api_call(srv, "POST", creates[k].path,
                                              P2, body);
            if (r->status == 201) {
                char name[64];
                snprintf(name, sizeof name, "%s/name", creates[k].plural);
                assert_string_equal(jstr(r->json, name), hostile[h]);
                snprintf(name, sizeof name, "%s/id", creates[k].plural);
                char *id = xstrdup(jstr(r->json, name));
                char *plural = xasprintf("%ss", creates[k].plural);
                char *get = xasprintf("/v2.0/%s/%s", plural, id);
                apitest_resp_free(r);
                r = api_call(srv, "GET", get, P2, NULL);
                assert_status(r, 200);
                snprintf(name, sizeof name, "%s/description",
                         creates[k].plural);
                assert_string_equal(jstr(r->json, name), hostile[h]);
                /* A rename to it and back. */
                char *put = xasprintf("{\"%s\": {\"name\": %s}}",
                                      creates[k].plural, js);
                apitest_resp_free(r);
                r = api_call(srv, "PUT", get, P2, put);
                assert_status(r, 200);
                assert_int_equal(topo_delete(srv, P2, plural, id), 204);
                free(put);
                free(get);
                free(plural);
                free(id);
            } else if (r->status != 400) {
                fail_msg("POST %s %s: %ld %s", creates[k].path, body,
                         r->status, r->body);
            }
            answers++;
            apitest_resp_free(r);
            free(body);
        }
        free(js);
    }
    curl_easy_cleanup(c);

    /* The data is intact. */
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        assert_int_equal(count(srv, lists[i].plural), before[i]);
    }
    char path[128];
    snprintf(path, sizeof path, "/v2.0/ports/%s", w.port);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "port/binding:host_id"), "host1");
    apitest_resp_free(r);
    printf("injection: %zu strings, %ld requests, all clean, data intact\n",
           ARRAY_SIZE(hostile), answers);
    world_free(&w);
    apitest_server_stop(srv);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_injection),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
