/* tests/unit/test_util.c: core helpers, the JSON decoder's limits, the
 * route table and noauth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/auth.h"
#include "api/json.h"
#include "core/jsonv.h"
#include "api/request.h"
#include "core/neutron_error.h"
#include "core/util.h"

static void
test_str_to_int64(void **state)
{
    int64_t v;

    assert_true(str_to_int64("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_true(str_to_int64("-5", -10, 10, &v));
    assert_int_equal(v, -5);
    assert_false(str_to_int64("101", 0, 100, &v));
    assert_false(str_to_int64("", 0, 100, &v));
    assert_false(str_to_int64("12x", 0, 100, &v));
    assert_false(str_to_int64(" 1", 0, 100, &v));
    assert_false(str_to_int64("99999999999999999999", INT64_MIN, INT64_MAX,
                              &v));
}

static void
test_str_to_bool(void **state)
{
    bool b;

    assert_true(str_to_bool("True", &b));
    assert_true(b);
    assert_true(str_to_bool("off", &b));
    assert_false(b);
    assert_false(str_to_bool("maybe", &b));
}

static void
test_str_copy(void **state)
{
    char buf[4];

    assert_true(str_copy(buf, "abc", sizeof buf));
    assert_string_equal(buf, "abc");
    assert_false(str_copy(buf, "abcdef", sizeof buf));
    assert_string_equal(buf, "abc");
}

static void
test_uuid(void **state)
{
    char a[UUID_STR_LEN], b[UUID_STR_LEN];

    uuid_new(a);
    uuid_new(b);
    assert_true(uuid_is_valid(a));
    assert_string_not_equal(a, b);
    assert_false(uuid_is_valid("not-a-uuid"));
    assert_false(uuid_is_valid("8b2d3c1e-0000-4000-8000-00000000000g"));
    assert_false(uuid_is_valid("8b2d3c1e-0000-4000-8000-0000000000001"));
    assert_true(uuid_is_valid("8B2D3C1E-0000-4000-8000-000000000000"));
}

static void
test_timestamp(void **state)
{
    char ts[TIMESTAMP_LEN];

    timestamp_now(ts);
    assert_int_equal(strlen(ts), 20);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], 'Z');
}

static void
test_json_parse_ok(void **state)
{
    const char *text = "{\"network\": {\"name\": \"n1\", \"mtu\": 1500}}";
    yajl_val v;

    assert_null(json_parse(text, strlen(text), 32, &v));
    yajl_val net = jsonv_member(v, "network");
    assert_string_equal(YAJL_GET_STRING(jsonv_member(net, "name")), "n1");
    assert_null(jsonv_member(v, "absent"));
    yajl_tree_free(v);
}

static void
test_json_parse_errors(void **state)
{
    static const char *const bad[] = {
        "{", "{\"a\": }", "[1, 2", "nul", "{\"a\": \"\xff\"}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        yajl_val v;
        struct neutron_error *e = json_parse(bad[i], strlen(bad[i]), 32, &v);
        assert_non_null(e);
        assert_null(v);
        assert_int_equal(neutron_error_http_status(e), 400);
        assert_string_equal(e->type, "MalformedRequestBody");
        neutron_error_destroy(e);
    }
}

/* Elements are objects, arrays, strings (keys too) and scalars; what is
 * inside a string does not count. */
static void
test_json_element_limit(void **state)
{
    const char *s = "{\"a\": \"[1, 2, {3}]\", \"b\": [true, -1.5e3]}";
    yajl_val v;

    /* {, "a", "...", "b", [, true, -1.5e3: 7 elements. */
    assert_null(json_parse_limited(s, strlen(s), 32, 7, &v));
    yajl_tree_free(v);
    struct neutron_error *e = json_parse_limited(s, strlen(s), 32, 6, &v);
    assert_non_null(e);
    assert_null(v);
    assert_int_equal(neutron_error_http_status(e), 413);
    neutron_error_destroy(e);
}

static void
test_json_depth_limit(void **state)
{
    char deep[200001];
    yajl_val v;

    /* 32 levels pass, 33 do not; brackets inside strings do not count. */
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    assert_null(json_parse(deep, 64, 32, &v));
    yajl_tree_free(v);
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    struct neutron_error *e = json_parse(deep, 66, 32, &v);
    assert_non_null(e);
    neutron_error_destroy(e);

    const char *s = "{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}";
    assert_null(json_parse(s, strlen(s), 2, &v));
    yajl_tree_free(v);

    /* 100,000 open brackets are refused without recursion. */
    memset(deep, '[', 100000);
    e = json_parse(deep, 100000, 32, &v);
    assert_non_null(e);
    neutron_error_destroy(e);
}

static void
test_error_body(void **state)
{
    struct neutron_error *e = neutron_error_create(
        NE_NOT_FOUND, "NetworkNotFound", "Network %s could not be found.",
        "x\"y");
    char *body = json_error_body(e);

    assert_string_equal(body, "{\"NeutronError\":{\"type\":\"NetworkNotFound\","
                        "\"message\":\"Network x\\\"y could not be found.\","
                        "\"detail\":\"\"}}");
    assert_int_equal(neutron_error_http_status(e), 404);
    free(body);
    neutron_error_destroy(e);
}

static struct neutron_error *
dummy_handler(struct api_request *req, const void *aux)
{
    return NULL;
}

static void
test_routes(void **state)
{
    static const struct api_route table[] = {
        { "/v2.0/networks", API_GET | API_POST, dummy_handler, "list" },
        { "/v2.0/networks/{}", API_GET, dummy_handler, "show" },
        { "/v2.0/networks/{}/tags/{}", API_PUT, dummy_handler, "tag" },
    };
    struct api_request req = { 0 };
    const struct api_route *r;
    unsigned int allowed;

    api_routes_clear();
    api_routes_register(table, ARRAY_SIZE(table));

    req.method = API_GET;
    req.path = xstrdup("/v2.0/networks/abc");
    r = api_routes_match(&req, &allowed);
    assert_non_null(r);
    assert_string_equal(r->aux, "show");
    assert_int_equal(req.n_path_params, 1);
    assert_string_equal(req.path_params[0], "abc");
    assert_string_equal(req.path, "/v2.0/networks/abc");

    free(req.path);
    req.method = API_PUT;
    req.path = xstrdup("/v2.0/networks/n1/tags/red");
    r = api_routes_match(&req, &allowed);
    assert_non_null(r);
    assert_string_equal(req.path_params[0], "n1");
    assert_string_equal(req.path_params[1], "red");

    /* Right path, wrong method: the allowed methods come back. */
    req.method = API_DELETE;
    assert_null(api_routes_match(&req, &allowed));
    assert_int_equal(allowed, API_PUT);

    /* Prefixes and empty segments do not match. */
    free(req.path);
    req.method = API_GET;
    req.path = xstrdup("/v2.0/networksX");
    assert_null(api_routes_match(&req, &allowed));
    assert_int_equal(allowed, 0);
    free(req.path);
    req.path = xstrdup("/v2.0/networks//tags/x");
    assert_null(api_routes_match(&req, &allowed));

    free(req.path);
    free(req.params_buf__);
    api_routes_clear();
}

struct fake_headers {
    const char *project, *roles;
};

static const char *
fake_header(void *aux, const char *name)
{
    struct fake_headers *h = aux;
    if (!strcmp(name, "X-Project-Id")) {
        return h->project;
    }
    if (!strcmp(name, "X-Roles")) {
        return h->roles;
    }
    return NULL;
}

static void
test_noauth(void **state)
{
    struct fake_headers h = { NULL, NULL };
    struct auth_context ctx;

    assert_null(auth_noauth(fake_header, &h, &ctx));
    assert_true(ctx.is_admin);
    assert_string_equal(ctx.project_id, "");

    h.project = "p1";
    h.roles = "member,reader";
    assert_null(auth_noauth(fake_header, &h, &ctx));
    assert_false(ctx.is_admin);
    assert_string_equal(ctx.project_id, "p1");

    h.roles = "reader, Admin";
    assert_null(auth_noauth(fake_header, &h, &ctx));
    assert_true(ctx.is_admin);

    h.roles = "administrator";
    assert_null(auth_noauth(fake_header, &h, &ctx));
    assert_false(ctx.is_admin);

    h.project = "bad project";
    struct neutron_error *e = auth_noauth(fake_header, &h, &ctx);
    assert_non_null(e);
    assert_int_equal(neutron_error_http_status(e), 400);
    neutron_error_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_to_int64),
        cmocka_unit_test(test_str_to_bool),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_json_parse_ok),
        cmocka_unit_test(test_json_parse_errors),
        cmocka_unit_test(test_json_depth_limit),
        cmocka_unit_test(test_json_element_limit),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_noauth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
