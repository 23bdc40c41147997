/* tests/bench/bench_keystone.c: what auth_strategy = keystone costs once a
 * token is cached.
 *
 * Starts a real Keystone (contrib/keystone.sh) and two servers, one with
 * auth_strategy = noauth and one with keystone; then GETs one network on
 * each with 1 and 8 keep-alive clients (the keystone server's token seen
 * once before, so cached) and prints both, and the cache's hits.
 *
 *   bench_keystone [--quick] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/util.h"
#include "tests/bench/benchlib.h"
#include "tests/lib/apitest.h"
#include "tests/lib/kstest.h"

static char path[128];

static bool
get_network(struct bench_client *c, size_t worker, size_t i, void *aux)
{
    (void) worker;
    (void) i;
    (void) aux;
    return bench_client_do(c, "GET", path, NULL) == 200;
}

/* Creates a network through 'who' on 'port'; its path into 'path'. */
static void
make_network(int port, const char *who)
{
    struct bench_client c;
    char id[UUID_STR_LEN];

    bench_client_init(&c, port, who);
    assert_int_equal(bench_client_do(&c, "POST", "/v2.0/networks",
                                     "{\"network\": {\"name\": \"b\"}}"),
                     201);
    assert_true(bench_answer_id(&c, "network", id));
    snprintf(path, sizeof path, "/v2.0/networks/%s", id);
    bench_client_destroy(&c);
}

static bool quick;

static void
bench(void **state)
{
    (void) state;
    char dir[] = "/tmp/hadron-bench-keystone-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int ks_port = kstest_free_port();
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", ks_port);
    char *conf = xasprintf(
        "[DEFAULT]\nauth_strategy = keystone\n"
        "[keystone_authtoken]\nauth_url = http://127.0.0.1:%d/v3\n"
        "username = hadron\npassword = secret-hadron\n"
        "project_name = service\n", ks_port);
    struct apitest_server *ks_srv = apitest_server_start(conf);
    struct apitest_server *noauth = apitest_server_start(NULL);
    free(conf);

    uint64_t t0 = time_monotonic_usec();
    kstest_keystone_sh(NULL, "start", dir, port_s, NULL);
    printf("Keystone set up and started in %.1f s\n",
           (time_monotonic_usec() - t0) / 1e6);

    char *token = kstest_token(ks_port, "member-of-A", "A");
    char *header = xasprintf("X-Auth-Token: %s", token);
    size_t n = quick ? 200 : 5000;
    struct bench_result r;

    make_network(noauth->port, "bench-project");
    for (size_t workers = 1; workers <= 8; workers *= 8) {
        bench_run("GET network, noauth", noauth->port, "bench-project",
                  workers, n / workers, get_network, NULL, &r);
        assert_int_equal(r.failures, 0);
    }
    make_network(ks_srv->port, header);     /* validates, then cached */
    for (size_t workers = 1; workers <= 8; workers *= 8) {
        bench_run("GET network, keystone (cached token)", ks_srv->port,
                  header, workers, n / workers, get_network, NULL, &r);
        assert_int_equal(r.failures, 0);
    }

    kstest_keystone_sh(NULL, "stop", dir, NULL);
    char *log = apitest_read_log(ks_srv);
    assert_null(strstr(log, "WARN keystone"));
    free(log);
    apitest_server_stop(ks_srv);
    apitest_server_stop(noauth);
    char *rm[] = { "rm", "-rf", dir, NULL };
    pid_t pid;
    int status;
    extern char **environ;
    assert_int_equal(posix_spawnp(&pid, "rm", NULL, NULL, rm, environ), 0);
    waitpid(pid, &status, 0);
    free(token);
    free(header);
}

int
main(int argc, char *argv[])
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(bench) };

    quick = argc > 1 && !strcmp(argv[1], "--quick");
    kstest_script = KEYSTONE_SH;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
