/* tests/api/test_operator.c: the operator's view of a running server:
 * GET /healthcheck, the Prometheus GET /metrics and hadron-manage (db,
 * check-config, flavor).  Runs on both database engines. */
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

/* The healthcheck answers without credentials, even with a malformed
 * project header that any other path refuses. */
static void
test_healthcheck(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = apitest_request(srv, "GET", "/healthcheck",
                                             NULL, NULL);

    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "status"), "OK");
    assert_string_equal(jstr(r->json, "database"), "OK");
    char *ct = apitest_resp_header(r, "Content-Type");
    assert_string_equal(ct, "application/json");
    free(ct);
    apitest_resp_free(r);

    r = apitest_request(srv, "GET", "/healthcheck",
                        "X-Project-Id: not a project", NULL);
    assert_status(r, 200);
    apitest_resp_free(r);

    r = apitest_request(srv, "POST", "/healthcheck", NULL, "{}");
    assert_status(r, 405);
    apitest_resp_free(r);
}

static void
test_metrics(void **state)
{
    struct apitest_server *srv = *state;

    for (int i = 0; i < 3; i++) {
        struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks",
                                          "p1", "{\"network\": {}}");
        assert_status(r, 201);
        apitest_resp_free(r);
    }
    struct apitest_resp *r = api_get(srv, "/v2.0/networks/nope");
    assert_status(r, 404);
    apitest_resp_free(r);
    r = api_get(srv, "/no/such/path");
    assert_status(r, 404);
    apitest_resp_free(r);

    r = apitest_request(srv, "GET", "/metrics", NULL, NULL);
    assert_status(r, 200);
    char *ct = apitest_resp_header(r, "Content-Type");
    assert_non_null(ct);
    assert_true(str_starts_with(ct, "text/plain; version=0.0.4"));
    free(ct);
    const char *t = r->body;

    assert_non_null(strstr(t, "# TYPE hadron_http_requests_total counter"));
    assert_non_null(strstr(t, "# TYPE hadron_http_request_duration_seconds "
                              "histogram"));
    assert_true(apitest_metric(t, "hadron_http_requests_total{route="
                               "\"/v2.0/networks\",method=\"POST\","
                               "status=\"201\"}") == 3);
    assert_true(apitest_metric(t, "hadron_http_requests_total{route="
                               "\"/v2.0/networks/{}\",method=\"GET\","
                               "status=\"404\"}") == 1);
    assert_true(apitest_metric(t, "hadron_http_requests_total{route="
                               "\"unmatched\",method=\"GET\","
                               "status=\"404\"}") == 1);
    assert_true(apitest_metric(t, "hadron_http_request_duration_seconds_"
                               "count{route=\"/v2.0/networks\",method="
                               "\"POST\",status=\"201\"}") == 3);
    assert_true(apitest_metric(t, "hadron_http_request_duration_seconds_"
                               "bucket{route=\"/v2.0/networks\",method="
                               "\"POST\",status=\"201\",le=\"+Inf\"}")
                == 3);
    assert_true(apitest_metric(t, "hadron_http_request_duration_seconds_"
                               "sum{route=\"/v2.0/networks\",method="
                               "\"POST\",status=\"201\"}") > 0);

    /* The default provider (noop) is healthy with an empty journal. */
    assert_true(apitest_metric(t, "hadron_journal_pending{driver="
                               "\"noop\"}") == 0);
    assert_true(apitest_metric(t, "hadron_journal_oldest_age_seconds{"
                               "driver=\"noop\"}") == 0);
    assert_true(apitest_metric(t, "hadron_driver_up{driver=\"noop\","
                               "class=\"noop\"}") == 1);
    assert_non_null(strstr(t, "hadron_driver_ops_total{driver=\"noop\","
                              "op=\"apply_ok\"}"));
    assert_true(apitest_metric(t, "hadron_db_connections") >= 1);
    /* The requests above prepared statements; the caches keep those of
     * the connections still open (this scrape's at least). */
    double cached = apitest_metric(t, "hadron_db_statements_cached");
    double prepared = apitest_metric(t, "hadron_db_statements_prepared_"
                                     "total");
    if (!(cached >= 1 && prepared >= 5 && prepared >= cached)) {
        fail_msg("statements: %g cached, %g prepared", cached, prepared);
    }
    assert_true(apitest_metric(t, "hadron_heap_in_use_bytes") >= 0);
    assert_true(apitest_metric(t, "hadron_db_connections_in_use") >= 1);
    apitest_resp_free(r);

    /* The scrape itself is counted by the next one. */
    r = apitest_request(srv, "GET", "/metrics", NULL, NULL);
    assert_true(apitest_metric(r->body, "hadron_http_requests_total{route="
                               "\"/metrics\",method=\"GET\",status="
                               "\"200\"}") == 1);
    apitest_resp_free(r);

    /* A scrape reads what the dispatcher's last health check found: it
     * never calls the driver itself (its ops must not overlap, and a
     * scrape must not wait on a backend).  The dispatcher checks every
     * health_interval_ms (5 s), so 20 scrapes see at most one more. */
    static const char health_calls[] = "hadron_driver_ops_total{driver="
                                       "\"noop\",op=\"health_calls\"}";
    uint64_t start = time_monotonic_usec();
    r = apitest_request(srv, "GET", "/metrics", NULL, NULL);
    double before = apitest_metric(r->body, health_calls);
    apitest_resp_free(r);
    for (int i = 0; i < 20; i++) {
        r = apitest_request(srv, "GET", "/metrics", NULL, NULL);
        assert_true(apitest_metric(r->body, "hadron_driver_up{driver="
                                   "\"noop\",class=\"noop\"}") == 1);
        if (i == 19) {
            double after = apitest_metric(r->body, health_calls);
            double periods = (double) (time_monotonic_usec() - start) / 5e6;
            assert_true(before >= 1);
            assert_true(after - before <= periods + 1);
        }
        apitest_resp_free(r);
    }
}

/* Runs hadron-manage with the configuration file 'path' and the arguments
 * 'args'; stores stdout and stderr in '*output' (malloc'd) and returns the
 * exit status. */
static int
run_manage_file(const char *path, const char *args, char **output)
{
    char cmd[1024];
    char buf[4096];
    size_t len = 0;

    snprintf(cmd, sizeof cmd, "%s --config-file %s %s 2>&1",
             HADRON_MANAGE_BIN, path, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n;
    while ((n = fread(buf + len, 1, sizeof buf - 1 - len, p)) > 0) {
        len += n;
    }
    buf[len] = '\0';
    int status = pclose(p);
    *output = xstrdup(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The same with a configuration file holding 'conf'. */
static int
run_manage(const char *conf, const char *args, char **output)
{
    char path[] = "/tmp/hadron-operator-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_true(write(fd, conf, strlen(conf)) == (ssize_t) strlen(conf));
    close(fd);
    int rc = run_manage_file(path, args, output);
    unlink(path);
    return rc;
}

/* The id of the flavor named 'name' in a GET /v2.0/flavors answer, or
 * NULL. */
static const char *
flavor_id(const struct apitest_resp *r, const char *name)
{
    yajl_val list = jpath(r->json, "flavors");

    for (size_t i = 0; list && i < list->u.array.len; i++) {
        const char *n = jstr(list->u.array.values[i], "name");
        if (n && !strcmp(n, name)) {
            return jstr(list->u.array.values[i], "id");
        }
    }
    return NULL;
}

/* "flavor setup" gives each configured provider a flavor of its name that
 * tenants see and create routers with; run again it changes nothing; a
 * flavor of that name bound to another driver is left alone. */
static void
test_flavor_setup(void **state)
{
    static const char providers[] =
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:noop:noop:default\n"
        "service_provider = L3_ROUTER_NAT:fast:noop\n";
    struct apitest_server *srv = apitest_server_start(providers);
    struct apitest_resp *r;
    char *out;

    assert_int_equal(run_manage_file(srv->conf_path, "flavor setup", &out),
                     0);
    assert_non_null(strstr(out, "flavor noop"));
    assert_non_null(strstr(out, "flavor fast"));
    assert_non_null(strstr(out, "created"));
    free(out);

    r = api_call(srv, "GET", "/v2.0/flavors?sort_key=name", "p1", NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(jlen(r->json, "flavors"), 2);
    char *fast = xstrdup(flavor_id(r, "fast"));
    assert_non_null(flavor_id(r, "noop"));
    apitest_resp_free(r);

    /* A tenant's router of flavor fast. */
    char *body = xasprintf("{\"router\": {\"name\": \"r1\", "
                           "\"flavor_id\": \"%s\"}}", fast);
    r = api_call(srv, "POST", "/v2.0/routers", "p1", body);
    assert_int_equal(r->status, 201);
    assert_string_equal(jstr(r->json, "router/flavor_id"), fast);
    apitest_resp_free(r);
    free(body);

    /* Again: nothing new. */
    assert_int_equal(run_manage_file(srv->conf_path, "flavor setup", &out),
                     0);
    assert_null(strstr(out, "created"));
    assert_non_null(strstr(out, fast));
    free(out);
    r = api_call(srv, "GET", "/v2.0/service_profiles", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(jlen(r->json, "service_profiles"), 2);
    apitest_resp_free(r);

    assert_int_equal(run_manage_file(srv->conf_path, "flavor setup nope",
                                     &out), 1);
    assert_non_null(strstr(out, "'nope' is not a configured provider"));
    free(out);

    assert_int_equal(run_manage_file(srv->conf_path, "flavor list", &out), 0);
    assert_non_null(strstr(out, fast));
    assert_non_null(strstr(out, "configured"));
    assert_null(strstr(out, "NOT configured"));
    free(out);

    /* The operator made flavor "other" by hand, bound to driver noop; a
     * provider named "other" does not take it over. */
    r = api_call(srv, "POST", "/v2.0/flavors", NULL,
                 "{\"flavor\": {\"name\": \"other\", "
                 "\"service_type\": \"L3_ROUTER_NAT\"}}");
    assert_int_equal(r->status, 201);
    char *other = xstrdup(jstr(r->json, "flavor/id"));
    apitest_resp_free(r);
    r = api_call(srv, "POST", "/v2.0/service_profiles", NULL,
                 "{\"service_profile\": {\"driver\": \"noop\"}}");
    assert_int_equal(r->status, 201);
    char *path = xasprintf("/v2.0/flavors/%s/service_profiles", other);
    body = xasprintf("{\"service_profile\": {\"id\": \"%s\"}}",
                     jstr(r->json, "service_profile/id"));
    apitest_resp_free(r);
    r = api_call(srv, "POST", path, NULL, body);
    assert_int_equal(r->status, 201);
    apitest_resp_free(r);
    char *conf = xasprintf("[database]\nconnection = %s\n%s"
                           "service_provider = L3_ROUTER_NAT:other:noop\n",
                           srv->db_url, providers);
    assert_int_equal(run_manage(conf, "flavor setup other", &out), 1);
    assert_non_null(strstr(out, "driver 'noop', not 'other'"));
    free(out);
    assert_int_equal(run_manage(conf, "flavor list", &out), 0);
    assert_non_null(strstr(out, other));
    free(out);

    free(conf);
    free(path);
    free(body);
    free(other);
    free(fast);
    apitest_server_stop(srv);
}

/* "db current" is Neutron's name for "db version". */
static void
test_manage_db_current(void **state)
{
    char *url = testdb_create();
    char *conf = xasprintf("[database]\nconnection = %s\n", url);
    char *out;

    assert_int_equal(run_manage(conf, "db current", &out), 0);
    assert_non_null(strstr(out, "database: 0"));
    free(out);
    assert_int_equal(run_manage(conf, "db upgrade", &out), 0);
    free(out);
    assert_int_equal(run_manage(conf, "db current", &out), 0);
    assert_null(strstr(out, "database: 0"));
    char *version = NULL;
    assert_int_equal(run_manage(conf, "db version", &version), 0);
    assert_string_equal(out, version);
    free(version);
    free(out);
    free(conf);
    testdb_drop(url);
    free(url);
}

/* A good configuration passes; each kind of mistake fails with its
 * message.  Nothing is opened: the database URL points nowhere. */
static void
test_check_config(void **state)
{
    static const char base[] =
        "[DEFAULT]\n"
        "api_workers = 2\n"
        "[database]\n"
        "connection = sqlite:///nonexistent/dir/hadron.db\n"
        "[ml2]\n"
        "type_drivers = flat,vlan,vxlan\n"
        "tenant_network_types = vxlan\n"
        "[ml2_type_vlan]\n"
        "network_vlan_ranges = physnet1:100:200\n"
        "[ml2_type_vxlan]\n"
        "vni_ranges = 1:1000\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:fast:noop:default\n"
        "service_provider = L3_ROUTER_NAT:other:noop\n";
    static const struct {
        const char *extra;
        const char *expect;
    } bad[] = {
        { "[DEFAULT]\nno_such_option = 1\n", "no_such_option" },
        { "[no_such_section]\nx = 1\n", "no_such_section" },
        { "[DEFAULT]\napi_workers = many\n", "api_workers" },
        { "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:300:200\n",
          "network_vlan_ranges" },
        { "[ml2_type_vxlan]\nvni_ranges = 1:99999999\n", "vni_ranges" },
        { "[service_providers]\n"
          "service_provider = L3_ROUTER_NAT:x:no_such_driver\n",
          "unknown driver 'no_such_driver'" },
        { "[service_providers]\n"
          "service_provider = L3_ROUTER_NAT:y:noop:default\n",
          "multiple default providers" },
        { "[service_providers]\nservice_provider = FIREWALL:z:noop\n",
          "not supported" },
    };
    char *out;

    assert_int_equal(run_manage(base, "check-config", &out), 0);
    assert_non_null(strstr(out, "configuration OK"));
    free(out);

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *conf = xasprintf("%s%s", base, bad[i].extra);
        int rc = run_manage(conf, "check-config", &out);
        if (rc != 1 || !strstr(out, bad[i].expect)) {
            fail_msg("case %zu: exit %d, output: %s", i, rc, out);
        }
        free(out);
        free(conf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthcheck, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test(test_manage_db_current),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_flavor_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
