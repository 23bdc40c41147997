/* tests/api/test_resources.c: what every resource does the same way, seen
 * through networks: standard attributes, validation messages, list filters,
 * fields, sorting, pagination, tags, If-Match, bulk create and the basic
 * project rules.  Runs on both database engines. */
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

static int
setup(void **state)
{
    *state = apitest_server_start(NULL);
    return 0;
}

static int
teardown(void **state)
{
    apitest_server_stop(*state);
    return 0;
}

/* Creates a network as 'project' (NULL: admin for P1) and returns its id
 * (malloc'd). */
static char *
make_net(struct apitest_server *srv, const char *project, const char *name,
         const char *extra)
{
    char body[512];
    snprintf(body, sizeof body, "{\"network\": {\"name\": \"%s\"%s%s%s}}",
             name, project ? "" : ", \"tenant_id\": \"" P1 "\"",
             extra ? ", " : "", extra ? extra : "");
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", project,
                                      body);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    return id;
}

static void
test_standard_attributes(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", P1,
                                      "{\"network\": {\"name\": \"n1\"}}");

    assert_status(r, 201);
    yajl_val net = jpath(r->json, "network");
    assert_true(uuid_is_valid(jstr(net, "id")));
    assert_string_equal(jstr(net, "project_id"), P1);
    assert_string_equal(jstr(net, "tenant_id"), P1);
    assert_string_equal(jstr(net, "description"), "");
    assert_int_equal(jint(net, "revision_number"), 0);
    assert_int_equal(jlen(net, "tags"), 0);
    assert_true(YAJL_IS_ARRAY(jpath(net, "tags")));
    const char *created = jstr(net, "created_at");
    assert_non_null(created);
    assert_int_equal(strlen(created), 20);
    assert_int_equal(created[19], 'Z');
    char path[128];
    snprintf(path, sizeof path, "/v2.0/networks/%s", jstr(net, "id"));
    apitest_resp_free(r);

    r = api_call(srv, "PUT", path, P1,
                 "{\"network\": {\"description\": \"d\"}}");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/description"), "d");
    assert_int_equal(jint(r->json, "network/revision_number"), 1);
    apitest_resp_free(r);

    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/description"), "d");
    assert_int_equal(jint(r->json, "network/revision_number"), 1);
    apitest_resp_free(r);
}

static void
test_validation_messages(void **state)
{
    struct apitest_server *srv = *state;
    static const struct {
        const char *method, *body, *message;
    } cases[] = {
        { "POST", "{\"network\": {\"foo\": 1}}",
          "Unrecognized attribute(s) 'foo'" },
        { "POST", "{\"network\": {\"id\": "
          "\"8b2d3c1e-0000-4000-8000-000000000000\"}}",
          "Attribute 'id' not allowed in POST" },
        { "POST", "{\"network\": {\"name\": 5}}", "Invalid input for name" },
        { "POST", "{\"network\": {\"admin_state_up\": \"maybe\"}}",
          "cannot be converted to boolean" },
        { "POST", "{\"networks\": {}}", "Unable to find 'network'" },
        { "POST", "{\"network\": [1]}", "Body contains invalid data" },
        { "POST", "[]", "Unable to find 'network'" },
    };
    char longname[300];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct apitest_resp *r = api_call(srv, cases[i].method,
                                          "/v2.0/networks", P1,
                                          cases[i].body);
        assert_neutron_error(r, 400, NULL);
        const char *msg = jstr(r->json, "NeutronError/message");
        if (!strstr(msg, cases[i].message)) {
            fail_msg("%s: expected '%s' in '%s'", cases[i].body,
                     cases[i].message, msg);
        }
        apitest_resp_free(r);
    }

    memset(longname, 'x', 256);
    longname[256] = '\0';
    char body[400];
    snprintf(body, sizeof body, "{\"network\": {\"name\": \"%s\"}}", longname);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", P1,
                                      body);
    assert_neutron_error(r, 400, NULL);
    assert_non_null(strstr(jstr(r->json, "NeutronError/message"),
                           "exceeds maximum length of 255"));
    apitest_resp_free(r);

    char *id = make_net(srv, P1, "v", NULL);
    char path[128];
    snprintf(path, sizeof path, "/v2.0/networks/%s", id);
    r = api_call(srv, "PUT", path, P1, "{\"network\": {\"id\": \"x\"}}");
    assert_neutron_error(r, 400, NULL);
    assert_non_null(strstr(jstr(r->json, "NeutronError/message"),
                           "Cannot update read-only attribute id"));
    apitest_resp_free(r);
    r = api_call(srv, "PUT", path, P1, "{\"network\": {\"tenant_id\": \"x\"}}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    free(id);

    /* Ids that do not exist, or are not even UUIDs: 404. */
    r = api_call(srv, "GET", "/v2.0/networks/"
                 "8b2d3c1e-0000-4000-8000-000000000000", P1, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "DELETE", "/v2.0/networks/not-a-uuid", P1, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
}

static void
test_project_rules(void **state)
{
    struct apitest_server *srv = *state;
    char *id = make_net(srv, P1, "mine", NULL);
    char path[128];

    snprintf(path, sizeof path, "/v2.0/networks/%s", id);

    /* Another project neither sees nor touches it: 404, not 403. */
    struct apitest_resp *r = api_call(srv, "GET", path, P2, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "PUT", path, P2, "{\"network\": {\"name\": \"x\"}}");
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "DELETE", path, P2, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks", P2, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 0);
    apitest_resp_free(r);

    /* The admin sees it. */
    r = api_get(srv, path);
    assert_status(r, 200);
    apitest_resp_free(r);

    /* A project may not create for another project. */
    r = api_call(srv, "POST", "/v2.0/networks", P2,
                 "{\"network\": {\"tenant_id\": \"" P1 "\"}}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = api_call(srv, "POST", "/v2.0/networks", NULL,
                 "{\"network\": {\"tenant_id\": \"" P1 "\", "
                 "\"project_id\": \"" P2 "\"}}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    /* The admin may, and then it is P2's. */
    r = api_call(srv, "POST", "/v2.0/networks", NULL,
                 "{\"network\": {\"project_id\": \"" P2 "\"}}");
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "network/tenant_id"), P2);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks", P2, NULL);
    assert_int_equal(jlen(r->json, "networks"), 1);
    apitest_resp_free(r);

    /* A shared network is visible to others but not theirs to change. */
    char *shared = make_net(srv, NULL, "shared", "\"shared\": true");
    snprintf(path, sizeof path, "/v2.0/networks/%s", shared);
    r = api_call(srv, "GET", path, P2, NULL);
    assert_status(r, 200);
    apitest_resp_free(r);
    r = api_call(srv, "PUT", path, P2, "{\"network\": {\"name\": \"x\"}}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = api_call(srv, "DELETE", path, P2, NULL);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    /* Only an admin shares; saying "not shared" is not sharing. */
    r = api_call(srv, "POST", "/v2.0/networks", P2,
                 "{\"network\": {\"shared\": true}}");
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);
    r = api_call(srv, "POST", "/v2.0/networks", P2,
                 "{\"network\": {\"shared\": false}}");
    assert_status(r, 201);
    apitest_resp_free(r);
    free(shared);
    free(id);
}

/* The names of the networks of a list answer, joined by ",". */
static void
names_of(const struct apitest_resp *r, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < jlen(r->json, "networks"); i++) {
        char p[64];
        snprintf(p, sizeof p, "networks/%zu/name", i);
        n += snprintf(buf + n, size - n, "%s%s", i ? "," : "",
                      jstr(r->json, p) ? jstr(r->json, p) : "?");
    }
}

static void
test_filters_fields_sorting(void **state)
{
    struct apitest_server *srv = *state;
    char names[512];
    const char *list[] = { "b", "d", "a", "c", "e" };

    for (size_t i = 0; i < ARRAY_SIZE(list); i++) {
        free(make_net(srv, P1, list[i],
                      i % 2 ? "\"admin_state_up\": false" : NULL));
    }

    struct apitest_resp *r = api_call(srv, "GET",
                                      "/v2.0/networks?sort_key=name", P1,
                                      NULL);
    assert_status(r, 200);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "a,b,c,d,e");
    apitest_resp_free(r);

    r = api_call(srv, "GET", "/v2.0/networks?sort_key=name&sort_dir=desc",
                 P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "e,d,c,b,a");
    apitest_resp_free(r);

    /* Same key twice: OR; different keys: AND. */
    r = api_call(srv, "GET", "/v2.0/networks?name=a&name=c&sort_key=name",
                 P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "a,c");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?admin_state_up=false"
                 "&sort_key=name", P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "c,d");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?admin_state_up=False&name=c",
                 P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "c");
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?admin_state_up=False&name=a",
                 P1, NULL);
    assert_int_equal(jlen(r->json, "networks"), 0);
    apitest_resp_free(r);

    /* fields= keeps only what is asked. */
    r = api_call(srv, "GET", "/v2.0/networks?fields=id&fields=name", P1,
                 NULL);
    assert_status(r, 200);
    yajl_val first = jpath(r->json, "networks/0");
    assert_int_equal(first->u.object.len, 2);
    assert_non_null(jstr(first, "id"));
    assert_non_null(jstr(first, "name"));
    apitest_resp_free(r);

    /* Bad filters and sort keys are refused (filter-validation). */
    const char *bad[] = {
        "/v2.0/networks?no_such=1", "/v2.0/networks?sort_key=no_such",
        "/v2.0/networks?sort_key=name&sort_dir=sideways",
        "/v2.0/networks?sort_key=name&sort_dir=asc&sort_dir=desc",
        "/v2.0/networks?limit=-1", "/v2.0/networks?limit=x",
        "/v2.0/networks?admin_state_up=perhaps",
        ("/v2.0/networks?limit=1&marker="
         "8b2d3c1e-0000-4000-8000-000000000000"),
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        r = api_call(srv, "GET", bad[i], P1, NULL);
        if (r->status != 400) {
            fail_msg("%s: expected 400, got %ld: %s", bad[i], r->status,
                     r->body);
        }
        assert_neutron_error(r, 400, NULL);
        apitest_resp_free(r);
    }
}

/* Follows a pagination link: strips scheme and host. */
static const char *
link_path(const char *href)
{
    const char *p = strstr(href, "://");
    return p ? strchr(p + 3, '/') : href;
}

static const char *
find_link(const struct apitest_resp *r, const char *rel)
{
    for (size_t i = 0; i < jlen(r->json, "networks_links"); i++) {
        char p[64];
        snprintf(p, sizeof p, "networks_links/%zu/rel", i);
        if (!strcmp(jstr(r->json, p), rel)) {
            snprintf(p, sizeof p, "networks_links/%zu/href", i);
            return jstr(r->json, p);
        }
    }
    return NULL;
}

static void
test_pagination(void **state)
{
    struct apitest_server *srv = *state;
    const char *list[] = { "p1", "p2", "p3", "p4", "p5" };
    char names[512], next[1024], prev[1024];

    for (size_t i = 0; i < ARRAY_SIZE(list); i++) {
        free(make_net(srv, P1, list[i], NULL));
    }
    struct apitest_resp *r = api_call(srv, "GET",
                                      "/v2.0/networks?limit=2&sort_key=name",
                                      P1, NULL);
    assert_status(r, 200);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "p1,p2");
    assert_non_null(find_link(r, "next"));
    assert_null(find_link(r, "previous"));
    str_copy(next, link_path(find_link(r, "next")), sizeof next);
    apitest_resp_free(r);

    r = api_call(srv, "GET", next, P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "p3,p4");
    assert_non_null(find_link(r, "previous"));
    str_copy(next, link_path(find_link(r, "next")), sizeof next);
    str_copy(prev, link_path(find_link(r, "previous")), sizeof prev);
    apitest_resp_free(r);

    r = api_call(srv, "GET", next, P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "p5");
    assert_null(find_link(r, "next"));
    apitest_resp_free(r);

    /* Going back from the second page gives the first. */
    r = api_call(srv, "GET", prev, P1, NULL);
    names_of(r, names, sizeof names);
    assert_string_equal(names, "p1,p2");
    apitest_resp_free(r);

    /* Without limit there are no links. */
    r = api_call(srv, "GET", "/v2.0/networks", P1, NULL);
    assert_null(jpath(r->json, "networks_links"));
    assert_int_equal(jlen(r->json, "networks"), 5);
    apitest_resp_free(r);
}

static void
test_tags(void **state)
{
    struct apitest_server *srv = *state;
    char *a = make_net(srv, P1, "ta", NULL);
    char *b = make_net(srv, P1, "tb", NULL);
    char path[256];
    struct apitest_resp *r;

    snprintf(path, sizeof path, "/v2.0/networks/%s/tags", a);
    r = api_call(srv, "PUT", path, P1, "{\"tags\": [\"red\", \"blue\"]}");
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "tags"), 2);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/networks/%s/tags/green", b);
    r = api_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/networks/%s/tags/red", b);
    r = api_call(srv, "PUT", path, P1, NULL);
    assert_status(r, 201);
    apitest_resp_free(r);

    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/networks/%s/tags/green", a);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_neutron_error(r, 404, "TagNotFound");
    apitest_resp_free(r);

    char names[256];
    struct { const char *query, *expect; } cases[] = {
        { "tags=red", "ta,tb" },
        { "tags=red,blue", "ta" },
        { "tags-any=blue,green", "ta,tb" },
        { "not-tags=red,blue", "tb" },
        { "not-tags-any=green", "ta" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        snprintf(path, sizeof path, "/v2.0/networks?%s&sort_key=name",
                 cases[i].query);
        r = api_call(srv, "GET", path, P1, NULL);
        names_of(r, names, sizeof names);
        if (strcmp(names, cases[i].expect)) {
            fail_msg("%s: expected %s, got %s", cases[i].query,
                     cases[i].expect, names);
        }
        apitest_resp_free(r);
    }

    /* Tags show on the resource and bump its revision. */
    snprintf(path, sizeof path, "/v2.0/networks/%s", a);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "network/tags"), 2);
    assert_true(jint(r->json, "network/revision_number") >= 1);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/networks/%s/tags/red", a);
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_neutron_error(r, 404, "TagNotFound");
    apitest_resp_free(r);
    snprintf(path, sizeof path, "/v2.0/networks/%s/tags", a);
    r = api_call(srv, "DELETE", path, P1, NULL);
    assert_status(r, 204);
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_int_equal(jlen(r->json, "tags"), 0);
    apitest_resp_free(r);

    /* Bad tags; another project cannot tag. */
    r = api_call(srv, "PUT", path, P1, "{\"tags\": \"red\"}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = api_call(srv, "PUT", path, P1, "{\"tags\": [1]}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = api_call(srv, "PUT", path, P2, "{\"tags\": [\"x\"]}");
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);

    /* At most 255 characters, as Neutron's tagging extension: 255 two-byte
     * characters (510 bytes) are one tag; one more is refused. */
    char tag[2 * 256 + 1] = "";
    for (int i = 0; i < 255; i++) {
        strcat(tag, "\xc3\xa9");
    }
    char *body = xasprintf("{\"tags\": [\"%s\"]}", tag);
    r = api_call(srv, "PUT", path, P1, body);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "tags/0"), tag);
    apitest_resp_free(r);
    free(body);
    strcat(tag, "\xc3\xa9");
    body = xasprintf("{\"tags\": [\"%s\"]}", tag);
    r = api_call(srv, "PUT", path, P1, body);
    assert_neutron_error(r, 400, "InvalidInput");
    apitest_resp_free(r);
    free(body);
    free(a);
    free(b);
}

static void
test_if_match(void **state)
{
    struct apitest_server *srv = *state;
    char *id = make_net(srv, P1, "im", NULL);
    char path[128];

    snprintf(path, sizeof path, "/v2.0/networks/%s", id);
    struct apitest_resp *r = apitest_request(
        srv, "PUT", path, "X-Project-Id: " P1 "\nIf-Match: revision_number=0",
        "{\"network\": {\"name\": \"im2\"}}");
    assert_status(r, 200);
    apitest_resp_free(r);

    r = apitest_request(srv, "PUT", path,
                        "X-Project-Id: " P1 "\nIf-Match: revision_number=0",
                        "{\"network\": {\"name\": \"im3\"}}");
    assert_neutron_error(r, 412, "RevisionNumberConstraintFailed");
    apitest_resp_free(r);

    r = apitest_request(srv, "DELETE", path,
                        "X-Project-Id: " P1 "\nIf-Match: revision_number=7",
                        NULL);
    assert_neutron_error(r, 412, "RevisionNumberConstraintFailed");
    apitest_resp_free(r);

    r = apitest_request(srv, "DELETE", path,
                        "X-Project-Id: " P1 "\nIf-Match: bogus", NULL);
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);

    r = apitest_request(srv, "DELETE", path,
                        "X-Project-Id: " P1 "\nIf-Match: revision_number=1",
                        NULL);
    assert_status(r, 204);
    assert_string_equal(r->body, "");
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_neutron_error(r, 404, "NetworkNotFound");
    apitest_resp_free(r);
    free(id);
}

static void
test_bulk_create(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = api_call(
        srv, "POST", "/v2.0/networks", P1,
        "{\"networks\": [{\"name\": \"bulk1\"}, {\"name\": \"bulk2\"}]}");

    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "networks"), 2);
    assert_string_equal(jstr(r->json, "networks/1/name"), "bulk2");
    apitest_resp_free(r);

    /* One bad item: nothing is created. */
    r = api_call(srv, "POST", "/v2.0/networks", P1,
                 "{\"networks\": [{\"name\": \"bulk3\"}, {\"bogus\": 1}]}");
    assert_neutron_error(r, 400, NULL);
    apitest_resp_free(r);
    r = api_call(srv, "GET", "/v2.0/networks?name=bulk3", P1, NULL);
    assert_int_equal(jlen(r->json, "networks"), 0);
    apitest_resp_free(r);
}

/* ---- Limits that hold (issue 9) ---- */

static int
setup_limits(void **state)
{
    *state = apitest_server_start("[DEFAULT]\n"
                                  "pagination_max_limit = 4\n"
                                  "max_query_params = 12\n"
                                  "max_filter_values = 3\n"
                                  "max_json_elements = 60\n"
                                  "max_bulk_items = 3\n");
    return 0;
}

/* GETs 'path' as P1, expects 200 and 'n' networks; returns the answer. */
static struct apitest_resp *
get_page(struct apitest_server *srv, const char *path, size_t n)
{
    struct apitest_resp *r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    if (jlen(r->json, "networks") != n) {
        fail_msg("GET %s: %zu networks, expected %zu: %s", path,
                 jlen(r->json, "networks"), n, r->body);
    }
    return r;
}

static void
test_limit_cap(void **state)
{
    struct apitest_server *srv = *state;
    char *ids[10];

    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        char name[16];
        snprintf(name, sizeof name, "c%zu", i);
        ids[i] = make_net(srv, P1, name, NULL);
    }

    /* No limit, limit=0 and a limit over the cap all give the cap and a
     * next link (Neutron's pagination_max_limit); a smaller one stands. */
    static const struct { const char *path; size_t n; } firsts[] = {
        { "/v2.0/networks", 4 }, { "/v2.0/networks?limit=0", 4 },
        { "/v2.0/networks?limit=100", 4 }, { "/v2.0/networks?limit=2", 2 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(firsts); i++) {
        struct apitest_resp *r = get_page(srv, firsts[i].path, firsts[i].n);
        assert_non_null(find_link(r, "next"));
        assert_null(find_link(r, "previous"));
        apitest_resp_free(r);
    }

    /* Following the links gives every network exactly once, in order,
     * also when sorted on another key. */
    static const char *const starts[] = {
        "/v2.0/networks", "/v2.0/networks?sort_key=name&sort_dir=desc",
    };
    for (size_t s = 0; s < ARRAY_SIZE(starts); s++) {
        char path[1024], seen[10] = { 0 }, last_name[16] = "";
        size_t total = 0, pages = 0;
        str_copy(path, starts[s], sizeof path);
        for (;;) {
            struct apitest_resp *r = api_call(srv, "GET", path, P1, NULL);
            assert_status(r, 200);
            pages++;
            for (size_t i = 0; i < jlen(r->json, "networks"); i++) {
                char p[64];
                snprintf(p, sizeof p, "networks/%zu/id", i);
                const char *id = jstr(r->json, p);
                size_t k = 0;
                while (k < ARRAY_SIZE(ids) && strcmp(ids[k], id)) {
                    k++;
                }
                assert_true(k < ARRAY_SIZE(ids));
                assert_int_equal(seen[k]++, 0);
                total++;
                snprintf(p, sizeof p, "networks/%zu/name", i);
                if (s == 1) {
                    /* Descending by name. */
                    assert_true(!*last_name
                                || strcmp(jstr(r->json, p), last_name) < 0);
                    str_copy(last_name, jstr(r->json, p), sizeof last_name);
                }
            }
            const char *next = find_link(r, "next");
            if (!next) {
                apitest_resp_free(r);
                break;
            }
            str_copy(path, link_path(next), sizeof path);
            apitest_resp_free(r);
            assert_true(pages < 10);
        }
        assert_int_equal(total, ARRAY_SIZE(ids));
        assert_int_equal(pages, 3);
    }

    /* An answer the cap did not cut has no links. */
    struct apitest_resp *r = get_page(srv, "/v2.0/networks?name=c3", 1);
    assert_null(jpath(r->json, "networks_links"));
    apitest_resp_free(r);

    /* Bad limits: Neutron's 400. */
    static const char *const bad[] = { "-1", "x", "1.5", "", "0x10" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char path[64], text[96];
        snprintf(path, sizeof path, "/v2.0/networks?limit=%s", bad[i]);
        snprintf(text, sizeof text, "Limit must be an integer 0 or greater "
                 "and not '%s'", bad[i]);
        r = api_call(srv, "GET", path, P1, NULL);
        assert_error_text(r, 400, NULL, text);
        apitest_resp_free(r);
    }
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        free(ids[i]);
    }
}

static void
test_query_caps(void **state)
{
    struct apitest_server *srv = *state;
    char path[512];
    struct apitest_resp *r;

    /* 12 query parameters pass, 13 do not. */
    str_copy(path, "/v2.0/networks?fields=id", sizeof path);
    for (int i = 1; i < 12; i++) {
        strncat(path, "&fields=name", sizeof path - strlen(path) - 1);
    }
    r = api_call(srv, "GET", path, P1, NULL);
    assert_status(r, 200);
    apitest_resp_free(r);
    strncat(path, "&fields=name", sizeof path - strlen(path) - 1);
    r = api_call(srv, "GET", path, P1, NULL);
    assert_error_text(r, 400, "HTTPBadRequest", "Too many query parameters");
    apitest_resp_free(r);

    /* 3 values of one filter pass, 4 do not; tag lists count alike. */
    static const struct { const char *path; long status; } cases[] = {
        { "/v2.0/networks?name=a&name=b&name=c", 200 },
        { "/v2.0/networks?name=a&name=b&name=c&name=d", 400 },
        { "/v2.0/networks?tags=a,b,c", 200 },
        { "/v2.0/networks?tags=a,b,c,d", 400 },
        { "/v2.0/networks?not-tags-any=a,b&not-tags-any=c,d", 400 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        r = api_call(srv, "GET", cases[i].path, P1, NULL);
        if (cases[i].status == 200) {
            assert_status(r, 200);
        } else {
            assert_error_text(r, 400, "HTTPBadRequest",
                              "Too many values for filter");
        }
        apitest_resp_free(r);
    }
}

static void
test_body_caps(void **state)
{
    struct apitest_server *srv = *state;
    char body[1024];
    size_t n;

    /* More than 60 JSON elements: 413 before anything is looked at. */
    n = snprintf(body, sizeof body, "{\"network\": {\"name\": \"big\", "
                 "\"bogus\": [");
    for (int i = 0; i < 60; i++) {
        n += snprintf(body + n, sizeof body - n, "%s1", i ? "," : "");
    }
    snprintf(body + n, sizeof body - n, "]}}");
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", P1,
                                      body);
    assert_error_text(r, 413, NULL, "more than 60 JSON elements");
    apitest_resp_free(r);

    /* A bulk create of 3 passes, of 4 is refused whole. */
    r = api_call(srv, "POST", "/v2.0/networks", P1,
                 "{\"networks\": [{\"name\": \"b1\"}, {\"name\": \"b2\"}, "
                 "{\"name\": \"b3\"}]}");
    assert_status(r, 201);
    assert_int_equal(jlen(r->json, "networks"), 3);
    apitest_resp_free(r);
    r = api_call(srv, "POST", "/v2.0/networks", P1,
                 "{\"networks\": [{\"name\": \"b4\"}, {\"name\": \"b4\"}, "
                 "{\"name\": \"b4\"}, {\"name\": \"b4\"}]}");
    assert_error_text(r, 413, NULL, "at most 3 networks, not 4");
    apitest_resp_free(r);
    r = get_page(srv, "/v2.0/networks?name=b4", 0);
    apitest_resp_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standard_attributes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_validation_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_project_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_fields_sorting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_cap, setup_limits,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_query_caps, setup_limits,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_caps, setup_limits,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
