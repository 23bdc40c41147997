/* tests/api/test_db_outage.c: MariaDB restarted under load.
 *
 * Starts a MariaDB of its own (contrib/mariadb.sh in a directory of its
 * own), a hadron-server on it and 12 clients creating and deleting
 * networks, subnets, ports, routers (noop flavor), interfaces and floating
 * IPs.  Twice the database goes away under the load, once with
 * `contrib/mariadb.sh stop` and once with kill -9 of mysqld, and comes back
 * a few seconds later on the same data directory and socket.  Checks:
 *   - while it is away every answer is clean: the normal one or 503 with a
 *     NeutronError body, never 500, never a dropped connection, none
 *     slower than LATENCY_BOUND_MS; /healthcheck says 503;
 *   - once it is back, requests succeed within RECOVERY_BOUND_MS without
 *     restarting hadron-server, and /healthcheck says 200 again;
 *   - afterwards the data is consistent: every acknowledged create is
 *     there unless an acknowledged delete followed, nothing is half there,
 *     no allocation is duplicated or leaked (tests/lib/dbcheck.c), and the
 *     journal converges with every router ACTIVE.
 * Prints requests, 503s, the slowest answer and the recovery times. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "db/db.h"
#include "tests/lib/apitest.h"
#include "tests/lib/dbcheck.h"
#include "tests/lib/loadclient.h"
#include "tests/lib/testdb.h"
#include "tests/lib/topo.h"

extern char **environ;

#define N_CLIENTS 12
#define LATENCY_BOUND_MS 5000   /* no answer slower, database away or not */
#define RECOVERY_BOUND_MS 5000  /* from the database back to a 201 */
#define OUTAGE_MS 3000
#define PROJECT "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2"

static const char config[] =
    "[DEFAULT]\ndebug = false\napi_workers = 4\n"
    "[ml2]\ntype_drivers = vlan,flat\ntenant_network_types = vlan\n"
    "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:1:4000\n"
    "[service_providers]\n"
    "service_provider = L3_ROUTER_NAT:noop:noop:default\n"
    "[journal]\nretry_backoff_max = 1\n";

static char mdb_dir[128];     /* "" until the test made it */

/* Runs 'argv' and returns the first line of its standard output
 * (malloc'd); fails the test unless it exits 0 or '!must'. */
static char *
run(char *const argv[], bool must)
{
    char out_path[200];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    snprintf(out_path, sizeof out_path, "%s.out", mdb_dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc && must) {
        fail_msg("cannot run %s: %s", argv[0], strerror(rc));
    }
    if (!rc && (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)
                || WEXITSTATUS(status)) && must) {
        fail_msg("%s %s failed (status %#x)", argv[0], argv[1], status);
    }
    FILE *f = fopen(out_path, "r");
    char *out = xzalloc(1024);
    if (f) {
        size_t n = fread(out, 1, 1023, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(out_path);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static char *
mariadb(const char *cmd)
{
    char *argv[] = { (char *) MARIADB_SH, (char *) cmd, mdb_dir, NULL };
    return run(argv, true);
}

/* kill -9 of the mysqld of our directory. */
static void
mariadb_kill9(void)
{
    char path[200];
    snprintf(path, sizeof path, "%s/mysqld.pid", mdb_dir);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fail_msg("no mysqld pid in %s", path);
    }
    fclose(f);
    assert_int_equal(kill((pid_t) pid, SIGKILL), 0);
    /* It is not our child: wait until it is gone. */
    for (int i = 0; i < 500 && !kill((pid_t) pid, 0); i++) {
        topo_sleep_ms(10);
    }
}

/* ---- The clients ---- */

struct shared {
    int port;
    const char *ext_net;
    volatile int stop;
    pthread_mutex_t mutex;      /* the figures below */
    struct loadclient_objs objs;
    long requests, unavailable;
    long max_ms;                /* slowest answer */
    int unclean;
    char unclean_msg[600];
};

static void
record_unclean(struct shared *sh, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
record_unclean(struct shared *sh, const char *what, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->mutex);
    if (!sh->unclean++) {
        char detail[500];
        va_list args;
        va_start(args, fmt);
        vsnprintf(detail, sizeof detail, fmt, args);
        va_end(args);
        snprintf(sh->unclean_msg, sizeof sh->unclean_msg, "%s: %s", what,
                 detail);
    }
    pthread_mutex_unlock(&sh->mutex);
}

/* The loadclient judge: each answer is timed, and checked to be clean:
 * 'expect', or 503 with a NeutronError body.  Returns true on 'expect'. */
static bool
judge(void *sh_, const char *method, const char *path,
      const struct apitest_resp *a, long expect)
{
    struct shared *sh = sh_;
    long ms = (long) (a->usec / 1000);

    pthread_mutex_lock(&sh->mutex);
    sh->requests++;
    sh->max_ms = ms > sh->max_ms ? ms : sh->max_ms;
    if (a->status == 503) {
        sh->unavailable++;
    }
    pthread_mutex_unlock(&sh->mutex);

    if (ms > LATENCY_BOUND_MS) {
        record_unclean(sh, path, "%s answered %ld after %ld ms", method,
                       a->status, ms);
    }
    if (a->status == expect) {
        return true;
    } else if (a->error) {
        record_unclean(sh, path, "%s: no answer: %s", method, a->error);
    } else if (a->status == 503) {
        if (!jstr(a->json, "NeutronError/type")
            || !jstr(a->json, "NeutronError/message")) {
            record_unclean(sh, path, "503 without a NeutronError: %.300s",
                           a->body);
        }
    } else {
        record_unclean(sh, path, "%s: HTTP %ld: %.300s", method, a->status,
                       a->body);
    }
    return false;
}

struct client {
    struct shared *sh;
    int index;
};

/* Builds a chain network, subnet, port, router with gateway, interface,
 * floating IP; takes every other chain down again in order.  Any failure
 * (503 included) abandons the chain and starts a new one. */
static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct shared *sh = cl->sh;
    struct loadclient_objs *objs = &sh->objs;
    struct loadclient lc;
    char body[512], path[256];
    char net[40], sub[40], port[40], router[40], fip[40];

    loadclient_init(&lc, sh->port, PROJECT, 4L * LATENCY_BOUND_MS, judge,
                    sh);
    for (int iter = 0; !sh->stop; iter++) {
        long i_net, i_sub, i_port, i_router, i_iface = -1, i_fip;
        struct apitest_resp *a;

        i_net = loadclient_create(&lc, objs, LC_NET,
                                  "{\"network\": {\"name\": \"o\"}}",
                                  "network/id", net);
        if (i_net < 0) {
            topo_sleep_ms(50);
            continue;
        }
        snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": \"%s\", "
                 "\"ip_version\": 4, \"cidr\": \"10.%d.%d.0/24\"}}", net,
                 cl->index, iter % 256);
        i_sub = loadclient_create(&lc, objs, LC_SUBNET, body, "subnet/id",
                                  sub);
        snprintf(body, sizeof body, "{\"port\": {\"network_id\": \"%s\"}}",
                 net);
        i_port = i_sub < 0 ? -1 : loadclient_create(&lc, objs, LC_PORT, body,
                                                    "port/id", port);
        snprintf(body, sizeof body, "{\"router\": {\"name\": \"o\", "
                 "\"external_gateway_info\": {\"network_id\": \"%s\"}}}",
                 sh->ext_net);
        i_router = i_port < 0 ? -1 : loadclient_create(&lc, objs, LC_ROUTER,
                                                       body, "router/id",
                                                       router);
        if (i_router >= 0) {
            snprintf(path, sizeof path,
                     "/v2.0/routers/%s/add_router_interface", router);
            snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub);
            if (loadclient_call(&lc, "PUT", path, body, 200, &a)) {
                i_iface = loadclient_objs_add(objs, LC_IFACE,
                                              jstr(a->json, "port_id"),
                                              router);
            }
            apitest_resp_free(a);
        }
        snprintf(body, sizeof body, "{\"floatingip\": {\"floating_network_id"
                 "\": \"%s\", \"port_id\": \"%s\"}}", sh->ext_net, port);
        i_fip = i_iface < 0 ? -1 : loadclient_create(&lc, objs, LC_FIP, body,
                                                     "floatingip/id", fip);
        if (i_fip < 0 || iter % 2) {
            continue;
        }
        snprintf(path, sizeof path,
                 "/v2.0/routers/%s/remove_router_interface", router);
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub);
        if (loadclient_delete(&lc, objs, i_fip)
            && loadclient_remove(&lc, objs, i_iface, "PUT", path, body, 200)
            && loadclient_delete(&lc, objs, i_router)
            && loadclient_delete(&lc, objs, i_port)
            && loadclient_delete(&lc, objs, i_sub)) {
            loadclient_delete(&lc, objs, i_net);
        }
    }
    loadclient_destroy(&lc);
    return NULL;
}

/* ---- The checks ---- */

static long
health(struct apitest_server *srv)
{
    struct apitest_resp *r = api_get(srv, "/healthcheck");
    long status = r->status;
    apitest_resp_free(r);
    return status;
}

/* While the database is away: /healthcheck and a create answer 503 (a
 * NeutronError). */
static void
expect_down(struct apitest_server *srv)
{
    assert_int_equal(health(srv), 503);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/networks", PROJECT,
                                      "{\"network\": {\"name\": \"down\"}}");
    assert_neutron_error(r, 503, "ServiceUnavailable");
    apitest_resp_free(r);
}

/* From the database back until a create succeeds and /healthcheck says
 * 200: returns the milliseconds it took. */
static long
time_recovery(struct apitest_server *srv)
{
    uint64_t start = time_monotonic_usec();

    for (;;) {
        struct apitest_resp *r = api_call(
            srv, "POST", "/v2.0/networks", PROJECT,
            "{\"network\": {\"name\": \"back\"}}");
        long status = r->status;
        if (status != 201 && status != 503) {
            fail_msg("after the database came back: %ld %s", status,
                     r->body);
        }
        apitest_resp_free(r);
        long ms = (long) ((time_monotonic_usec() - start) / 1000);
        if (status == 201 && health(srv) == 200) {
            return ms;
        }
        if (ms > RECOVERY_BOUND_MS) {
            fail_msg("requests still fail %ld ms after the database came "
                     "back", ms);
        }
        topo_sleep_ms(50);
    }
}

static long
check_objects(struct shared *sh, struct apitest_server *srv)
{
    long lost = 0;

    for (size_t i = 0; i < sh->objs.n; i++) {
        struct loadclient_obj *o = &sh->objs.objs[i];
        char path[128];
        snprintf(path, sizeof path, "/v2.0/%s/%s", loadclient_paths[o->kind],
                 o->id);
        struct apitest_resp *r = api_get(srv, path);
        bool there = r->status == 200;
        if (o->kind == LC_IFACE && there) {
            const char *dev = jstr(r->json, "port/device_id");
            there = dev && !strcmp(dev, o->router);
        }
        if (r->status != 200 && r->status != 404) {
            fail_msg("GET %s: %ld %s", path, r->status, r->body);
        }
        apitest_resp_free(r);
        if (o->deleted && there) {
            fprintf(stderr, "%s %s deleted (acknowledged) but still there\n",
                    loadclient_paths[o->kind], o->id);
            lost++;
        } else if (!o->delete_sent && !there) {
            fprintf(stderr, "%s %s created (acknowledged) but missing\n",
                    loadclient_paths[o->kind], o->id);
            lost++;
        }
    }
    return lost;
}

static void
test_db_outage(void **state)
{
    (void) state;
    struct shared sh = { .mutex = PTHREAD_MUTEX_INITIALIZER };
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *output = NULL;
    int status;

    snprintf(mdb_dir, sizeof mdb_dir, "%s/hadron-dbout-XXXXXX", tmp);
    if (!mkdtemp(mdb_dir)) {
        mdb_dir[0] = '\0';
        fail_msg("mkdtemp failed");
    }
    char *server_url = mariadb("start");
    setenv("HADRON_TEST_ENGINE", "mariadb", 1);
    setenv("HADRON_TEST_MYSQL_URL", server_url, 1);
    char *url = testdb_create();

    struct apitest_server *srv = apitest_server_try_start(url, config,
                                                          &status, &output);
    if (!srv) {
        fail_msg("server: %s", output);
    }
    char *ext = topo_net(srv, PROJECT, "\"router:external\": true");
    free(topo_create_id(srv, "POST", "/v2.0/subnets", NULL, 201, "subnet/id",
                        "{\"subnet\": {\"tenant_id\": \"" PROJECT "\", "
                        "\"network_id\": \"%s\", \"ip_version\": 4, "
                        "\"cidr\": \"172.25.0.0/16\"}}", ext));
    sh.ext_net = ext;
    sh.port = srv->port;
    loadclient_objs_init(&sh.objs);

    pthread_t threads[N_CLIENTS];
    struct client clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = (struct client) { &sh, i };
        pthread_create(&threads[i], NULL, client_main, &clients[i]);
    }

    static const char *const ways[] = { "contrib/mariadb.sh stop",
                                        "kill -9 of mysqld" };
    long recovery_ms[2];
    for (int w = 0; w < 2; w++) {
        topo_sleep_ms(2000);
        long acked_before = sh.objs.acked;
        long unavailable_before = sh.unavailable;
        if (w == 0) {
            free(mariadb("stop"));
        } else {
            mariadb_kill9();
        }
        topo_sleep_ms(OUTAGE_MS / 2);
        expect_down(srv);
        topo_sleep_ms(OUTAGE_MS / 2);
        free(mariadb("start"));
        recovery_ms[w] = time_recovery(srv);
        printf("db_outage: %s: %ld acknowledged writes before, %ld answers "
               "503 during the outage, requests succeed again %ld ms after "
               "the database is back\n", ways[w], acked_before,
               sh.unavailable - unavailable_before, recovery_ms[w]);
        assert_true(sh.unavailable > unavailable_before);
    }
    topo_sleep_ms(2000);
    long acked_before_stop = sh.objs.acked;
    topo_sleep_ms(1000);
    assert_true(sh.objs.acked > acked_before_stop); /* the load runs again */
    sh.stop = 1;
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
    if (sh.unclean) {
        fail_msg("%d unclean answers, first: %s", sh.unclean,
                 sh.unclean_msg);
    }

    topo_wait_journal_idle(srv);
    long lost = check_objects(&sh, srv);
    struct db *db;
    char err[256];
    if (db_open(url, &db, err, sizeof err)) {
        fail_msg("db_open: %s", err);
    }
    long long half = dbcheck_consistency(db, "after the outages");
    long long not_active = dbcheck_count(
        db, "SELECT COUNT(*) FROM routers WHERE status <> 'ACTIVE'");
    db_close(db);
    printf("db_outage: %ld requests, %ld acknowledged writes, %ld answers "
           "503, slowest answer %ld ms (bound %d), lost %ld, half-there "
           "%lld, routers not ACTIVE %lld\n", sh.requests, sh.objs.acked,
           sh.unavailable, sh.max_ms, LATENCY_BOUND_MS, lost, half,
           not_active);
    assert_int_equal(lost, 0);
    assert_int_equal(half, 0);
    assert_int_equal(not_active, 0);
    assert_int_equal(health(srv), 200);

    assert_int_equal(apitest_server_stop(srv), 0);
    testdb_drop(url);
    loadclient_objs_destroy(&sh.objs);
    free(ext);
    free(url);
    free(server_url);
    free(output);
}

/* Also after a failure: no MariaDB left behind. */
static int
teardown(void **state)
{
    (void) state;
    if (mdb_dir[0]) {
        char *stop[] = { (char *) MARIADB_SH, (char *) "stop", mdb_dir,
                         NULL };
        char *rm[] = { (char *) "rm", (char *) "-rf", mdb_dir, NULL };
        free(run(stop, false));
        free(run(rm, false));
        mdb_dir[0] = '\0';
    }
    return 0;
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_db_outage, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
