/* tests/api/test_keystone.c: auth_strategy = keystone against a real
 * Keystone (Debian's package, started by contrib/keystone.sh).
 *
 * One story, in order, since Keystone takes seconds to start:
 *   - tokens of admin, member of A, member of B, reader of A, an unscoped
 *     one, none, garbage: what each sees and may do;
 *   - revocation: an unseen revoked token is refused; a cached one stays
 *     valid until its cache entry ends (keystonemiddleware's semantics),
 *     shown on a second server with token_cache_time = 2;
 *   - expiry: tokens from a second Keystone instance on the same database
 *     and keys with [token] expiration = 20; once expired, refused, also
 *     when cached;
 *   - Hadron's own token revoked (the hadron user's password set again):
 *     it logs in again and goes on;
 *   - Keystone killed: 503 for uncached tokens within the timeout, cached
 *     ones still served; Keystone stopped (SIGSTOP): 503 within the
 *     timeout; Keystone back: works again, same server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/kstest.h"

extern char **environ;

#define TIMEOUT_S 10            /* [keystone_authtoken] http_connect_timeout:
                                 * Keystone serves one request at a time;
                                 * CI runs two tests at once on 2 cores */

static char ks_dir[] = "/tmp/hadron-keystone-XXXXXX";
static int ks_port;

/* The id of project or user 'name' ("projects" or "users"), as admin. */
static char *
id_of(const char *admin, const char *what, const char *name)
{
    struct buf b;
    char *path = xasprintf("/%s?name=%s", what, name);
    assert_int_equal(kstest_call(ks_port, "GET", path, admin, NULL, NULL, &b),
                     200);
    free(path);
    yajl_val root = yajl_tree_parse(b.data, NULL, 0);
    char key[64];
    snprintf(key, sizeof key, "%s/0/id", what);
    const char *id = jstr(root, key);
    assert_non_null(id);
    char *copy = xstrdup(id);
    yajl_tree_free(root);
    free(b.data);
    free(b.subject);
    return copy;
}

static void
ks_revoke(const char *admin, const char *token)
{
    struct buf b;
    assert_int_equal(kstest_call(ks_port, "DELETE", "/auth/tokens", admin, token,
                             NULL, &b), 204);
    free(b.data);
    free(b.subject);
}

/* A request to Hadron with 'token' (NULL: none). */
static struct apitest_resp *
call(struct apitest_server *srv, const char *method, const char *path,
     const char *token, const char *body)
{
    char *hdr = token ? xasprintf("X-Auth-Token: %s", token) : NULL;
    struct apitest_resp *r = apitest_request(srv, method, path, hdr, body);
    free(hdr);
    return r;
}

/* Asserts keystonemiddleware's 401. */
static void
assert_401(struct apitest_resp *r)
{
    char want[128];

    assert_status(r, 401);
    char *www = apitest_resp_header(r, "WWW-Authenticate");
    snprintf(want, sizeof want, "Keystone uri=\"http://127.0.0.1:%d\"",
             ks_port);
    assert_non_null(www);
    assert_string_equal(www, want);
    free(www);
    assert_int_equal(jint(r->json, "error/code"), 401);
    assert_string_equal(jstr(r->json, "error/title"), "Unauthorized");
}

static char *
config_text(int cache_time)
{
    return xasprintf(
        "[DEFAULT]\nauth_strategy = keystone\n"
        "[keystone_authtoken]\nauth_type = password\n"
        "auth_url = http://127.0.0.1:%d/v3\n"
        "www_authenticate_uri = http://127.0.0.1:%d\n"
        "username = hadron\npassword = secret-hadron\n"
        "project_name = service\nuser_domain_name = Default\n"
        "project_domain_name = Default\nhttp_connect_timeout = %d\n"
        "http_request_max_retries = 2\ntoken_cache_time = %d\n"
        "token_cache_size = 100\nregion_name = RegionOne\n",
        ks_port, ks_port, TIMEOUT_S, cache_time);
}

static void
expect(struct apitest_server *srv, const char *method, const char *path,
       const char *token, const char *body, long status)
{
    struct apitest_resp *r = call(srv, method, path, token, body);
    assert_status(r, status);
    apitest_resp_free(r);
}

static double
now_s(void)
{
    return time_monotonic_usec() / 1e6;
}

static void
test_keystone_story(void **state)
{
    (void) state;
    kstest_script = KEYSTONE_SH;
    assert_non_null(mkdtemp(ks_dir));
    ks_port = kstest_free_port();

    char *conf = config_text(300);
    struct apitest_server *srv = apitest_server_start(conf);
    free(conf);
    conf = config_text(2);
    struct apitest_server *short_cache = apitest_server_start(conf);
    free(conf);
    char hadron_url[64], port_s[16];
    snprintf(hadron_url, sizeof hadron_url, "http://127.0.0.1:%d",
             srv->port);
    snprintf(port_s, sizeof port_s, "%d", ks_port);

    double t0 = now_s();
    kstest_keystone_sh(NULL, "start", ks_dir, port_s, hadron_url, NULL);
    print_message("Keystone set up and started in %.1f s\n", now_s() - t0);

    char *admin = kstest_token(ks_port, "admin", "admin");
    char *mem_a = kstest_token(ks_port, "member-of-A", "A");
    char *mem_b = kstest_token(ks_port, "member-of-B", "B");
    char *read_a = kstest_token(ks_port, "reader-of-A", "A");
    char *unscoped = kstest_token(ks_port, "member-of-A", NULL);
    char *proj_a = id_of(admin, "projects", "A");
    char *proj_b = id_of(admin, "projects", "B");
    struct apitest_resp *r;

    /* Public: versions and health; everything else needs a token. */
    expect(srv, "GET", "/", NULL, NULL, 200);
    expect(srv, "GET", "/healthcheck", NULL, NULL, 200);
    r = call(srv, "GET", "/v2.0/networks", NULL, NULL);
    assert_401(r);
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0", NULL, NULL);
    assert_401(r);
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/networks", "not-a-token",
             "{\"network\": {}}");
    assert_401(r);
    apitest_resp_free(r);
    /* noauth's headers mean nothing here. */
    r = apitest_request(srv, "GET", "/v2.0/networks",
                        "X-Project-Id: x\nX-Roles: admin", NULL);
    assert_401(r);
    apitest_resp_free(r);

    /* Member of A creates; the network is A's. */
    r = call(srv, "POST", "/v2.0/networks", mem_a,
             "{\"network\": {\"name\": \"net-a\"}}");
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "network/project_id"), proj_a);
    char *net_a = xstrdup(jstr(r->json, "network/id"));
    apitest_resp_free(r);
    char *path_a = xasprintf("/v2.0/networks/%s", net_a);

    /* Member of B: A's network is not there for B. */
    expect(srv, "GET", path_a, mem_b, NULL, 404);
    expect(srv, "PUT", path_a, mem_b, "{\"network\": {\"name\": \"x\"}}",
           404);
    expect(srv, "DELETE", path_a, mem_b, NULL, 404);
    r = call(srv, "POST", "/v2.0/networks", mem_b,
             "{\"network\": {\"name\": \"net-b\"}}");
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "network/project_id"), proj_b);
    apitest_resp_free(r);
    r = call(srv, "GET", "/v2.0/networks", mem_b, NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 1);
    assert_string_equal(jstr(r->json, "networks/0/name"), "net-b");
    apitest_resp_free(r);
    /* B cannot make a network for A. */
    char *for_a = xasprintf("{\"network\": {\"name\": \"n\", "
                            "\"project_id\": \"%s\"}}", proj_a);
    r = call(srv, "POST", "/v2.0/networks", mem_b, for_a);
    assert_true(r->status == 403 || r->status == 400);
    apitest_resp_free(r);

    /* Reader of A: reads A's, changes nothing. */
    r = call(srv, "GET", path_a, read_a, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/name"), "net-a");
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/networks", read_a,
             "{\"network\": {\"name\": \"nope\"}}");
    assert_neutron_error(r, 403, NULL);
    apitest_resp_free(r);
    expect(srv, "PUT", path_a, read_a, "{\"network\": {\"name\": \"x\"}}",
           403);
    expect(srv, "DELETE", path_a, read_a, NULL, 403);

    /* Admin sees all, and acts for a project. */
    r = call(srv, "GET", "/v2.0/networks?fields=name&sort_key=name", admin,
             NULL);
    assert_status(r, 200);
    assert_int_equal(jlen(r->json, "networks"), 2);
    assert_string_equal(jstr(r->json, "networks/0/name"), "net-a");
    assert_string_equal(jstr(r->json, "networks/1/name"), "net-b");
    apitest_resp_free(r);
    r = call(srv, "POST", "/v2.0/networks", admin, for_a);
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "network/project_id"), proj_a);
    char *path_admin_made = xasprintf("/v2.0/networks/%s",
                                      jstr(r->json, "network/id"));
    apitest_resp_free(r);
    expect(srv, "DELETE", path_admin_made, mem_a, NULL, 204);

    /* A token without a project: Neutron's policies need one. */
    r = call(srv, "GET", "/v2.0/networks", unscoped, NULL);
    assert_neutron_error(r, 403, "PolicyNotAuthorized");
    apitest_resp_free(r);

    /* Revoked before Hadron saw it: refused. */
    char *rev1 = kstest_token(ks_port, "member-of-A", "A");
    ks_revoke(admin, rev1);
    r = call(srv, "GET", path_a, rev1, NULL);
    assert_401(r);
    apitest_resp_free(r);
    /* Revoked after: still accepted while cached (token_cache_time = 300
     * here), as keystonemiddleware's cache does; on the server with
     * token_cache_time = 2, refused once its entry has ended. */
    char *rev2 = kstest_token(ks_port, "member-of-A", "A");
    expect(srv, "GET", path_a, rev2, NULL, 200);
    expect(short_cache, "GET", "/v2.0/networks", rev2, NULL, 200);
    ks_revoke(admin, rev2);
    expect(srv, "GET", path_a, rev2, NULL, 200);
    sleep(3);
    r = call(short_cache, "GET", "/v2.0/networks", rev2, NULL);
    assert_401(r);
    apitest_resp_free(r);
    expect(srv, "GET", path_a, rev2, NULL, 200);

    /* Expired tokens, from a second instance (same database and keys)
     * whose tokens live 20 s: accepted while valid (one cached, one not),
     * refused once expired, also from the cache. */
    int short_port = kstest_free_port();
    char short_s[16];
    snprintf(short_s, sizeof short_s, "%d", short_port);
    kstest_keystone_sh("20", "start", ks_dir, short_s, NULL);
    char *exp1 = kstest_token(short_port, "member-of-A", "A");
    char *exp2 = kstest_token(short_port, "member-of-A", "A");
    double issued = now_s();
    kstest_keystone_sh(NULL, "stop", ks_dir, short_s, NULL);
    expect(srv, "GET", path_a, exp1, NULL, 200);
    if (now_s() - issued > 18) {
        fail_msg("too slow to test expiry: %.1f s", now_s() - issued);
    }
    while (now_s() - issued < 21.5) {
        usleep(100000);
    }
    r = call(srv, "GET", path_a, exp1, NULL);
    assert_401(r);
    apitest_resp_free(r);
    r = call(srv, "GET", path_a, exp2, NULL);
    assert_401(r);
    apitest_resp_free(r);

    /* Hadron's own token revoked (setting a user's password revokes its
     * tokens): Keystone answers 401, Hadron logs in again, once. */
    char *hadron_user = id_of(admin, "users", "hadron");
    char *user_path = xasprintf("/users/%s", hadron_user);
    struct buf b;
    assert_int_equal(kstest_call(ks_port, "PATCH", user_path, admin, NULL,
                             "{\"user\": {\"password\": \"secret-hadron\"}}",
                             &b), 200);
    free(b.data);
    free(b.subject);
    /* Keystone's revocation events have a resolution of one second: a
     * token issued in the second of the password change is revoked too.
     * Hadron logging in again within that second would get such a token
     * (it would log in again at the next request); wait the second out. */
    usleep(1100000);
    char *fresh = kstest_token(ks_port, "member-of-B", "B");
    expect(srv, "GET", "/v2.0/networks", fresh, NULL, 200);
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "Keystone refused Hadron's token"));
    free(log);

    /* Keystone gone: tokens Hadron has not seen get a 503 at once (the
     * connection is refused), cached ones are still served, no token is
     * still a 401. */
    char *unseen = kstest_token(ks_port, "member-of-A", "A");
    char *unseen2 = kstest_token(ks_port, "member-of-A", "A");
    kstest_keystone_sh(NULL, "stop", ks_dir, NULL);
    t0 = now_s();
    r = call(srv, "GET", path_a, unseen, NULL);
    assert_neutron_error(r, 503, "HTTPServiceUnavailable");
    apitest_resp_free(r);
    assert_true(now_s() - t0 < TIMEOUT_S + 1);
    expect(srv, "GET", path_a, mem_a, NULL, 200);
    r = call(srv, "GET", path_a, NULL, NULL);
    assert_401(r);
    apitest_resp_free(r);

    /* Keystone back, then frozen (SIGSTOP: connections open, no answer):
     * 503 within http_connect_timeout; thawed: served again. */
    kstest_keystone_sh(NULL, "start", ks_dir, port_s, NULL);
    char *pid_path = xasprintf("%s/keystone-%d.pid", ks_dir, ks_port);
    FILE *f = fopen(pid_path, "r");
    int ks_pid = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &ks_pid), 1);
    fclose(f);
    free(pid_path);
    assert_int_equal(kill(ks_pid, SIGSTOP), 0);
    t0 = now_s();
    r = call(srv, "GET", path_a, unseen2, NULL);
    double frozen_s = now_s() - t0;
    kill(ks_pid, SIGCONT);
    assert_neutron_error(r, 503, "HTTPServiceUnavailable");
    apitest_resp_free(r);
    print_message("frozen Keystone: 503 after %.2f s (timeout %d s)\n",
                  frozen_s, TIMEOUT_S);
    assert_true(frozen_s >= TIMEOUT_S - 0.5 && frozen_s < TIMEOUT_S + 1.5);
    r = call(srv, "GET", path_a, unseen, NULL);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "network/name"), "net-a");
    apitest_resp_free(r);
    expect(srv, "DELETE", path_a, mem_a, NULL, 204);

    kstest_keystone_sh(NULL, "stop", ks_dir, NULL);
    apitest_server_stop(short_cache);
    apitest_server_stop(srv);

    char *rm[] = { "rm", "-rf", ks_dir, NULL };
    pid_t pid;
    int status;
    assert_int_equal(posix_spawnp(&pid, "rm", NULL, NULL, rm, environ), 0);
    waitpid(pid, &status, 0);

    free(admin);
    free(mem_a);
    free(mem_b);
    free(read_a);
    free(unscoped);
    free(proj_a);
    free(proj_b);
    free(net_a);
    free(path_a);
    free(for_a);
    free(path_admin_made);
    free(rev1);
    free(rev2);
    free(exp1);
    free(exp2);
    free(hadron_user);
    free(user_path);
    free(fresh);
    free(unseen);
    free(unseen2);
}

/* After a failure too: no Keystone left running. */
static int
teardown(void **state)
{
    (void) state;
    if (!strstr(ks_dir, "XXXXXX")) {
        char *argv[] = { KEYSTONE_SH, "stop", ks_dir, NULL };
        pid_t pid;
        int status;
        if (!posix_spawn(&pid, KEYSTONE_SH, NULL, NULL, argv, environ)) {
            waitpid(pid, &status, 0);
        }
    }
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_keystone_story, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
