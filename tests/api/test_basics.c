/* tests/api/test_basics.c: the server as a client meets it: version
 * documents, extensions, errors for bad requests, logging, signals, and
 * start-up checks.  Runs on both database engines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/util.h"
#include "db/db.h"
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

static void
test_versions(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = api_get(srv, "/");

    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "versions/0/id"), "v2.0");
    assert_string_equal(jstr(r->json, "versions/0/status"), "CURRENT");
    char expect[128];
    snprintf(expect, sizeof expect, "http://127.0.0.1:%d/v2.0/", srv->port);
    assert_string_equal(jstr(r->json, "versions/0/links/0/href"), expect);
    assert_string_equal(jstr(r->json, "versions/0/links/0/rel"), "self");
    char *ct = apitest_resp_header(r, "Content-Type");
    assert_string_equal(ct, "application/json");
    free(ct);
    char *id = apitest_resp_header(r, "X-Openstack-Request-Id");
    assert_non_null(id);
    assert_true(str_starts_with(id, "req-"));
    free(id);
    apitest_resp_free(r);
}

static void
test_v2_resources(void **state)
{
    struct apitest_server *srv = *state;
    const char *paths[] = { "/v2.0", "/v2.0/", "/v2.0.json" };

    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        struct apitest_resp *r = api_get(srv, paths[i]);
        assert_status(r, 200);
        assert_true(YAJL_IS_ARRAY(jpath(r->json, "resources")));
        apitest_resp_free(r);
    }
}

static void
test_extensions(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = api_get(srv, "/v2.0/extensions");

    assert_status(r, 200);
    yajl_val exts = jpath(r->json, "extensions");
    assert_true(YAJL_IS_ARRAY(exts));
    /* Every listed extension can be shown by its alias. */
    for (size_t i = 0; i < jlen(r->json, "extensions"); i++) {
        char path[256];
        const char *alias = jstr(exts->u.array.values[i], "alias");
        assert_non_null(alias);
        snprintf(path, sizeof path, "/v2.0/extensions/%s", alias);
        struct apitest_resp *one = api_get(srv, path);
        assert_status(one, 200);
        assert_string_equal(jstr(one->json, "extension/alias"), alias);
        apitest_resp_free(one);
    }
    apitest_resp_free(r);

    r = api_get(srv, "/v2.0/extensions/no-such-extension");
    assert_neutron_error(r, 404, "HTTPNotFound");
    assert_non_null(strstr(jstr(r->json, "NeutronError/message"),
                           "no-such-extension"));
    apitest_resp_free(r);
}

static void
test_unknown_path(void **state)
{
    struct apitest_server *srv = *state;
    const char *paths[] = { "/v2.0/nosuch", "/v3", "/v2.0/extensionsX",
                            "/v2.0/extensions/a/b", "/%2e%2e/etc/passwd" };

    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        struct apitest_resp *r = api_get(srv, paths[i]);
        assert_neutron_error(r, 404, "HTTPNotFound");
        apitest_resp_free(r);
    }
}

static void
test_wrong_method(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = apitest_request(srv, "DELETE", "/v2.0", NULL,
                                             NULL);

    assert_neutron_error(r, 405, "HTTPMethodNotAllowed");
    char *allow = apitest_resp_header(r, "Allow");
    assert_string_equal(allow, "GET");
    free(allow);
    apitest_resp_free(r);

    r = apitest_request(srv, "POST", "/v2.0/extensions", NULL, "{}");
    assert_neutron_error(r, 405, "HTTPMethodNotAllowed");
    apitest_resp_free(r);
}

static void
test_malformed_json(void **state)
{
    struct apitest_server *srv = *state;
    const char *bodies[] = { "{", "{\"network\": }", "not json",
                             "{\"a\": 1} trailing" };

    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        struct apitest_resp *r = apitest_request(srv, "POST", "/v2.0", NULL,
                                                 bodies[i]);
        assert_neutron_error(r, 400, "MalformedRequestBody");
        apitest_resp_free(r);
    }
}

static void
test_json_too_deep(void **state)
{
    struct apitest_server *srv = *state;
    size_t n = 50000;
    char *body = xmalloc(2 * n + 1);

    memset(body, '[', n);
    memset(body + n, ']', n);
    body[2 * n] = '\0';
    struct apitest_resp *r = apitest_request(srv, "POST", "/v2.0", NULL,
                                             body);
    assert_neutron_error(r, 400, "MalformedRequestBody");
    assert_non_null(strstr(jstr(r->json, "NeutronError/message"), "deep"));
    apitest_resp_free(r);
    free(body);
}

static void
test_body_too_large(void **state)
{
    struct apitest_server *srv = *state;
    /* Just over the 1 MiB default, and far over it. */
    size_t sizes[] = { 1048576 + 10, 8 * 1048576 };

    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        char *body = xmalloc(sizes[i] + 1);
        memset(body, ' ', sizes[i]);
        body[0] = '{';
        body[sizes[i] - 1] = '}';
        body[sizes[i]] = '\0';
        struct apitest_resp *r = apitest_request(srv, "POST", "/v2.0", NULL,
                                                 body);
        assert_neutron_error(r, 413, "RequestEntityTooLarge");
        apitest_resp_free(r);
        free(body);
    }
    /* The server is unharmed. */
    struct apitest_resp *r = api_get(srv, "/");
    assert_status(r, 200);
    apitest_resp_free(r);
}

static void
test_wrong_content_type(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = apitest_request(
        srv, "POST", "/v2.0", "Content-Type: application/xml", "<a/>");

    assert_neutron_error(r, 415, "HTTPUnsupportedMediaType");
    apitest_resp_free(r);

    r = apitest_request(srv, "POST", "/v2.0",
                        "Content-Type: application/json; charset=UTF-8",
                        "{\"x\": 1}");
    assert_neutron_error(r, 405, "HTTPMethodNotAllowed");
    apitest_resp_free(r);
}

static void
test_malformed_http(void **state)
{
    struct apitest_server *srv = *state;
    const char *garbage[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v2.0?%ff%fe=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "\x00\x01\x02\x03",
    };

    for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
        size_t len = i == 4 ? 4 : strlen(garbage[i]);
        char *out = apitest_raw(srv, garbage[i], len, 2000);
        /* Either a 4xx answer or a closed connection; never a 2xx/5xx. */
        if (*out) {
            assert_true(str_starts_with(out, "HTTP/1.1 4"));
        }
        free(out);
    }
    struct apitest_resp *r = api_get(srv, "/");
    assert_status(r, 200);
    apitest_resp_free(r);
}

/* Sends 'n' headers "X-Filler-<i>: <vlen x 'v'>" in a GET and returns what
 * came back (malloc'd). */
static char *
get_with_headers(struct apitest_server *srv, int n, size_t vlen)
{
    char *value = xmalloc(vlen + 1);
    struct { char *s; size_t len, cap; } b;
    const char *head = "GET /v2.0 HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n";

    memset(value, 'v', vlen);
    value[vlen] = '\0';
    b.cap = strlen(head) + (size_t) n * (vlen + 32) + 3;
    b.s = xmalloc(b.cap);
    b.len = (size_t) snprintf(b.s, b.cap, "%s", head);
    for (int i = 0; i < n; i++) {
        b.len += (size_t) snprintf(b.s + b.len, b.cap - b.len,
                                   "X-Filler-%d: %s\r\n", i, value);
    }
    b.len += (size_t) snprintf(b.s + b.len, b.cap - b.len, "\r\n");
    char *out = apitest_raw(srv, b.s, b.len, 5000);
    free(b.s);
    free(value);
    return out;
}

static void
test_header_limits(void **state)
{
    struct apitest_server *srv = *state;
    char *out;

    /* Within the limits (100 headers, 64 KB): answered. */
    out = get_with_headers(srv, 90, 100);
    assert_true(str_starts_with(out, "HTTP/1.1 200"));
    free(out);

    /* Too many headers, or too large together: the connection is closed
     * (or refused with a 4xx), never answered 2xx, and the server does
     * not buffer them all. */
    int counts[] = { 150, 40, 5000 };
    size_t lens[] = { 10, 4000, 4000 };
    for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
        out = get_with_headers(srv, counts[i], lens[i]);
        if (*out) {
            assert_true(str_starts_with(out, "HTTP/1.1 4"));
        }
        free(out);
    }
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "request headers over"));
    free(log);

    struct apitest_resp *r = api_get(srv, "/v2.0");
    assert_status(r, 200);
    apitest_resp_free(r);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Slow-loris: clients that send part of a request and stop do not keep
 * workers from serving others, and are closed after client_socket_timeout
 * (as Neutron's option of that name). */
static void
test_slow_client_timeout(void **state)
{
    struct apitest_server *srv = apitest_server_start(
        "[DEFAULT]\nclient_socket_timeout = 1\napi_workers = 2\n");
    const char *partial = "GET /v2.0/networks HTTP/1.1\r\nHo";
    int fds[8];
    double start = now_s();

    for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
        fds[i] = apitest_connect(srv);
        assert_int_equal(send(fds[i], partial, strlen(partial), MSG_NOSIGNAL),
                         (ssize_t) strlen(partial));
    }
    /* More stalled clients than workers: others are still served. */
    for (int i = 0; i < 4; i++) {
        struct apitest_resp *r = api_get(srv, "/v2.0/networks");
        assert_status(r, 200);
        apitest_resp_free(r);
    }
    /* Each stalled connection is closed (EOF, no answer) after about 1 s. */
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
        struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
        char buf[256];
        double left = start + 5 - now_s();
        assert_true(poll(&pfd, 1, left > 0 ? (int) (left * 1000) : 0) == 1);
        ssize_t n = recv(fds[i], buf, sizeof buf, 0);
        assert_true(n <= 0);
        close(fds[i]);
    }
    double took = now_s() - start;
    assert_true(took >= 0.8 && took < 5);
    apitest_server_stop(srv);
}

static void
test_request_log_line(void **state)
{
    struct apitest_server *srv = *state;
    struct apitest_resp *r = apitest_request(srv, "GET", "/v2.0/nosuch",
                                             "X-Project-Id: p1", NULL);
    char *id = apitest_resp_header(r, "X-Openstack-Request-Id");
    char *log = apitest_read_log(srv);
    char *line = strstr(log, id);

    assert_non_null(line);
    assert_non_null(strstr(line, "GET /v2.0/nosuch 404"));
    assert_non_null(strstr(line, " ms project=p1"));
    free(log);
    free(id);
    apitest_resp_free(r);
}

static void
test_sighup_reopens_log(void **state)
{
    struct apitest_server *srv = *state;
    char rotated[400];

    snprintf(rotated, sizeof rotated, "%s.1", srv->log_path);
    assert_int_equal(rename(srv->log_path, rotated), 0);
    kill(srv->pid, SIGHUP);
    for (int i = 0; i < 500 && access(srv->log_path, F_OK); i++) {
        usleep(10000);
    }
    struct apitest_resp *r = api_get(srv, "/v2.0/extensions");
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "log file reopened"));
    assert_non_null(strstr(log, "GET /v2.0/extensions 200"));
    free(log);
    apitest_resp_free(r);
    unlink(rotated);
}

/* Starts a server, returns its log after a clean SIGTERM stop. */
static void
test_sigterm_exits_cleanly(void **state)
{
    struct apitest_server *srv = apitest_server_start(NULL);
    struct apitest_resp *r = api_get(srv, "/");
    char log_path[300];

    assert_status(r, 200);
    apitest_resp_free(r);
    str_copy(log_path, srv->log_path, sizeof log_path);
    kill(srv->pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
    srv->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "draining requests"));
    assert_non_null(strstr(log, "INFO main: stopped"));
    free(log);
    apitest_server_stop(srv);
}

static void
test_unknown_option_reported(void **state)
{
    struct apitest_server *srv = apitest_server_start(
        "[DEFAULT]\nno_such_option = 1\n");
    char *log = apitest_read_log(srv);

    assert_non_null(strstr(log, "WARN config: "));
    assert_non_null(strstr(log, "unknown option [DEFAULT] no_such_option"));
    free(log);
    apitest_server_stop(srv);
}

static void
test_bad_config_refused(void **state)
{
    char *url = testdb_create();
    char *output = NULL;
    int status;
    struct apitest_server *srv = apitest_server_try_start(
        url, "[DEFAULT]\napi_workers = many\n", &status, &output);

    assert_null(srv);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_non_null(strstr(output, "api_workers"));
    free(output);
    testdb_drop(url);
    free(url);
}

static void
test_newer_schema_refused(void **state)
{
    char *url = testdb_create();
    char errbuf[256];
    struct db *db;
    char *output = NULL;
    int status;

    assert_int_equal(db_open(url, &db, errbuf, sizeof errbuf), DB_OK);
    assert_int_equal(db_upgrade(db, errbuf, sizeof errbuf), DB_OK);
    assert_int_equal(db_exec(db, "INSERT INTO schema_version (version, "
                             "description, applied_at) VALUES (9999, "
                             "'from the future', '2099-01-01T00:00:00Z')"),
                     DB_OK);
    db_close(db);

    struct apitest_server *srv = apitest_server_try_start(url, NULL, &status,
                                                          &output);
    assert_null(srv);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(output, "newer"));
    free(output);
    testdb_drop(url);
    free(url);
}

/* hadron-manage db upgrade brings a fresh database to the latest schema;
 * a server with auto_upgrade off then runs on it. */
static void
test_manage_db_upgrade(void **state)
{
    char *url = testdb_create();
    char conf[] = "/tmp/hadron-manage-XXXXXX";
    int fd = mkstemp(conf);
    char cmd[1024];

    dprintf(fd, "[database]\nconnection = %s\n", url);
    close(fd);

    snprintf(cmd, sizeof cmd, "%s --config-file %s db version", HADRON_MANAGE_BIN,
             conf);
    FILE *p = popen(cmd, "r");
    char out[256] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "database: 0"));

    snprintf(cmd, sizeof cmd, "%s --config-file %s db upgrade >/dev/null",
             HADRON_MANAGE_BIN, conf);
    assert_int_equal(system(cmd), 0);

    int status;
    char *output = NULL;
    struct apitest_server *srv = apitest_server_try_start(
        url, "[database]\nauto_upgrade = false\n", &status, &output);
    if (!srv) {
        fail_msg("server refused the upgraded database: %s", output);
    }
    struct apitest_resp *r = api_get(srv, "/");
    assert_status(r, 200);
    apitest_resp_free(r);
    /* apitest_server_stop drops the database. */
    apitest_server_stop(srv);
    unlink(conf);
    free(url);
}

static void
test_stale_schema_refused_without_upgrade(void **state)
{
    char *url = testdb_create();
    char *output = NULL;
    int status;
    struct apitest_server *srv = apitest_server_try_start(
        url, "[database]\nauto_upgrade = false\n", &status, &output);

    assert_null(srv);
    assert_non_null(strstr(output, "hadron-manage db upgrade"));
    free(output);
    testdb_drop(url);
    free(url);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_too_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_content_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_limits, setup, teardown),
        cmocka_unit_test(test_slow_client_timeout),
        cmocka_unit_test_setup_teardown(test_request_log_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reopens_log, setup,
                                        teardown),
        cmocka_unit_test(test_sigterm_exits_cleanly),
        cmocka_unit_test(test_unknown_option_reported),
        cmocka_unit_test(test_bad_config_refused),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_manage_db_upgrade),
        cmocka_unit_test(test_stale_schema_refused_without_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
