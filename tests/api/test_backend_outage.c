/* tests/api/test_backend_outage.c: a backend down under load.
 *
 * 16 clients drive routers of flavor odl (against the controller peer,
 * tests/odl-peer): each builds a network and subnet, a router with a
 * gateway, an interface, a VM port with a floating IP, then renames the
 * router, moves the floating IP off and back, and deletes every other
 * floating IP.  After a baseline the controller goes away
 * (SIGTERM; it comes back empty, so the journal must notice and resync) or,
 * in the second test, answers 503 to everything, for OUTAGE_MS.  Checks:
 *   - the API keeps answering as before: every answer is the normal one
 *     (no 5xx), and the p95 latency during the outage stays within
 *     P95_FACTOR times the baseline's p95 plus P95_SLACK_MS (the p99 is
 *     printed: of some 600 answers it is the 6th slowest, which a single
 *     stall of a 2-core machine decides);
 *   - the journal holds: a router created during the outage has its
 *     entry pending (or being retried) in GET /v2.0/journal_entries at
 *     the end of it (the depth of the odl journal is printed);
 *   - once the controller is back everything converges: the journal
 *     drains and the controller holds exactly what the database says the
 *     odl routers need (every router, port, floating IP, network and
 *     subnet; none missing, none extra, same attributes).
 * Prints the latencies before and during the outage, the journal depth
 * and the convergence time. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/loadclient.h"
#include "tests/lib/odlpeer.h"
#include "tests/lib/topo.h"

#define N_CLIENTS 16
#define BASELINE_MS 3000
#define OUTAGE_MS 4000
#define P95_FACTOR 3
#define P95_SLACK_MS 250
#define CONVERGE_MS 60000
#define PACE_MS 100
#define PROJECT "e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3"

enum phase { BEFORE, DURING, AFTER, N_PHASES };
static const char *const phase_names[] = { "before", "during", "after" };

struct latencies {
    double *ms;
    size_t n, cap;
};

struct shared {
    int port;
    const char *ext_net;
    const char *flavor;
    volatile int stop;
    volatile enum phase phase;
    pthread_mutex_t mutex;
    struct latencies lat[N_PHASES];
    int unclean;
    char unclean_msg[600];
};

struct client {
    struct shared *sh;
    int index;
};

/* The loadclient judge: every answer is timed into the latencies of the
 * phase, and anything but 'expect' is unclean. */
static bool
judge(void *sh_, const char *method, const char *path,
      const struct apitest_resp *a, long expect)
{
    struct shared *sh = sh_;
    double ms = (double) a->usec / 1000.0;

    pthread_mutex_lock(&sh->mutex);
    struct latencies *l = &sh->lat[sh->phase];
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->ms = xrealloc(l->ms, l->cap * sizeof *l->ms);
    }
    l->ms[l->n++] = ms;
    if (a->status != expect && !sh->unclean++) {
        snprintf(sh->unclean_msg, sizeof sh->unclean_msg,
                 "%s %s (%s): %ld: %.400s", method, path,
                 phase_names[sh->phase], a->status, a->body);
    }
    pthread_mutex_unlock(&sh->mutex);
    return a->status == expect;
}

/* One judged request; returns the id at 'key' (malloc'd) when it answers
 * 'expect' ("" if 'key' is NULL), NULL otherwise. */
static char *
call(struct loadclient *lc, const char *method, const char *path,
     long expect, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static char *
call(struct loadclient *lc, const char *method, const char *path,
     long expect, const char *key, const char *fmt, ...)
{
    struct apitest_resp *a;
    char *body = NULL, *id = NULL;

    if (fmt) {
        va_list args;
        va_start(args, fmt);
        if (vasprintf(&body, fmt, args) < 0) {
            abort();
        }
        va_end(args);
    }
    if (loadclient_call(lc, method, path, body, expect, &a)) {
        const char *got = key ? jstr(a->json, key) : "";
        id = xstrdup(got ? got : "?");
    }
    apitest_resp_free(a);
    free(body);
    return id;
}

/* Each client builds chains: a network and subnet, a router with a
 * gateway, an interface, a VM port and its floating IP; then works on the
 * chain: renames the router, moves the floating IP off its port and back,
 * and deletes it.  Router and interface deletes are left out: the odl
 * driver lists the whole controller for each (see the report of issue 9),
 * which no journal under this load keeps up with.  PACE_MS between
 * requests keeps the journal level before the outage. */
static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct shared *sh = cl->sh;
    struct loadclient lc;
    char path[160];

    loadclient_init(&lc, sh->port, PROJECT, 30000, judge, sh);
    for (int iter = 0; !sh->stop && !sh->unclean; iter++) {
        char *net = NULL, *sub = NULL, *router = NULL, *iface = NULL;
        char *vm = NULL, *fip = NULL, *done = NULL;

        net = call(&lc, "POST", "/v2.0/networks", 201, "network/id",
                   "{\"network\": {\"name\": \"b%d\"}}", cl->index);
        topo_sleep_ms(PACE_MS);
        sub = !net ? NULL : call(
            &lc, "POST", "/v2.0/subnets", 201, "subnet/id",
            "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
            "\"cidr\": \"10.%d.%d.0/24\"}}", net, cl->index, iter % 256);
        topo_sleep_ms(PACE_MS);
        router = !sub ? NULL : call(
            &lc, "POST", "/v2.0/routers", 201, "router/id",
            "{\"router\": {\"name\": \"b%d-%d\", \"flavor_id\": \"%s\", "
            "\"external_gateway_info\": {\"network_id\": \"%s\"}}}",
            cl->index, iter, sh->flavor, sh->ext_net);
        topo_sleep_ms(PACE_MS);
        if (router) {
            snprintf(path, sizeof path,
                     "/v2.0/routers/%s/add_router_interface", router);
            iface = call(&lc, "PUT", path, 200, "port_id",
                         "{\"subnet_id\": \"%s\"}", sub);
            topo_sleep_ms(PACE_MS);
        }
        vm = !iface ? NULL : call(
            &lc, "POST", "/v2.0/ports", 201, "port/id",
            "{\"port\": {\"network_id\": \"%s\", \"device_owner\": "
            "\"compute:nova\", \"device_id\": \"vm-%d-%d\"}}", net,
            cl->index, iter);
        topo_sleep_ms(PACE_MS);
        fip = !vm ? NULL : call(
            &lc, "POST", "/v2.0/floatingips", 201, "floatingip/id",
            "{\"floatingip\": {\"floating_network_id\": \"%s\", "
            "\"port_id\": \"%s\"}}", sh->ext_net, vm);
        topo_sleep_ms(PACE_MS);
        if (fip) {
            snprintf(path, sizeof path, "/v2.0/routers/%s", router);
            done = call(&lc, "PUT", path, 200, NULL,
                        "{\"router\": {\"name\": \"b%d-%d-renamed\"}}",
                        cl->index, iter);
            free(done);
            topo_sleep_ms(PACE_MS);
            snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
            done = call(&lc, "PUT", path, 200, NULL,
                        "{\"floatingip\": {\"port_id\": null}}");
            free(done);
            topo_sleep_ms(PACE_MS);
            done = call(&lc, "PUT", path, 200, NULL,
                        "{\"floatingip\": {\"port_id\": \"%s\"}}", vm);
            free(done);
            topo_sleep_ms(PACE_MS);
            if (iter % 2) {
                done = call(&lc, "DELETE", path, 204, NULL, NULL);
                free(done);
                topo_sleep_ms(PACE_MS);
            }
        }
        free(net);
        free(sub);
        free(router);
        free(iface);
        free(vm);
        free(fip);
    }
    loadclient_destroy(&lc);
    return NULL;
}

static int
compare_doubles(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

static double
percentile(struct latencies *l, double p)
{
    if (!l->n) {
        return 0;
    }
    qsort(l->ms, l->n, sizeof *l->ms, compare_doubles);
    size_t i = (size_t) (p * (double) (l->n - 1) + 0.5);
    return l->ms[i];
}

/* hadron_driver_up of the odl provider in /metrics. */
static double
driver_up(struct apitest_server *srv)
{
    return apitest_scrape(srv, "hadron_driver_up{driver=\"odl\","
                          "class=\"odl\"}");
}

/* Rows of the odl driver's journal in 'state'; with 'router' nonnull,
 * whether one of them is for that router (into '*found'). */
static size_t
journal_depth(struct apitest_server *srv, const char *state,
              const char *router, bool *found)
{
    char path[96];

    snprintf(path, sizeof path, "/v2.0/journal_entries?driver=odl&state=%s",
             state);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    size_t n = jlen(r->json, "journal_entries");
    yajl_val list = jpath(r->json, "journal_entries");
    for (size_t i = 0; router && i < n; i++) {
        const char *id = jstr(list->u.array.values[i], "router_id");
        *found = *found || (id && !strcmp(id, router));
    }
    apitest_resp_free(r);
    return n;
}

/* The outage: 'gone' stops the controller (it comes back empty);
 * otherwise it answers 503 for the while. */
static void
run_outage(bool gone)
{
    const char *what = gone ? "gone" : "503";
    struct shared sh = { .mutex = PTHREAD_MUTEX_INITIALIZER };
    struct odlpeer *peer = odlpeer_start();
    char *config = odlpeer_config(peer);
    struct apitest_server *srv = apitest_server_start(config);
    char *flavor = topo_flavor(srv, "odl");
    char *ext = topo_net(srv, PROJECT, "\"router:external\": true");

    free(topo_create_id(srv, "POST", "/v2.0/subnets", NULL, 201, "subnet/id",
                        "{\"subnet\": {\"tenant_id\": \"" PROJECT "\", "
                        "\"network_id\": \"%s\", \"ip_version\": 4, "
                        "\"cidr\": \"172.26.0.0/16\"}}", ext));
    sh.port = srv->port;
    sh.ext_net = ext;
    sh.flavor = flavor;
    sh.phase = BEFORE;

    pthread_t threads[N_CLIENTS];
    struct client clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = (struct client) { &sh, i };
        pthread_create(&threads[i], NULL, client_main, &clients[i]);
    }
    topo_sleep_ms(BASELINE_MS);

    size_t depth_start = journal_depth(srv, "pending&state=processing", NULL,
                                       NULL);
    if (gone) {
        odlpeer_go_away(peer);
    } else {
        odlpeer_mode(peer, "fail503");
    }
    pthread_mutex_lock(&sh.mutex);
    sh.phase = DURING;
    pthread_mutex_unlock(&sh.mutex);
    /* A router of our own, whatever the clients manage to send on a busy
     * machine: its entry must wait in the journal. */
    char *probe = topo_create_id(
        srv, "POST", "/v2.0/routers", PROJECT, 201, "router/id",
        "{\"router\": {\"name\": \"probe\", \"flavor_id\": \"%s\", "
        "\"external_gateway_info\": {\"network_id\": \"%s\"}}}", flavor,
        ext);
    topo_sleep_ms(OUTAGE_MS / 2);
    size_t depth_mid = journal_depth(srv, "pending&state=processing", NULL,
                                     NULL);
    double up_mid = driver_up(srv);
    topo_sleep_ms(OUTAGE_MS / 2);
    bool probe_held = false;
    size_t depth_end = journal_depth(srv, "pending&state=processing", probe,
                                     &probe_held);

    pthread_mutex_lock(&sh.mutex);
    sh.phase = AFTER;
    pthread_mutex_unlock(&sh.mutex);
    if (gone) {
        odlpeer_come_back(peer);
    } else {
        odlpeer_mode(peer, "normal");
    }
    uint64_t back = time_monotonic_usec();
    topo_sleep_ms(1000);
    sh.stop = 1;
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
    if (sh.unclean) {
        fail_msg("%d unclean answers, first: %s", sh.unclean,
                 sh.unclean_msg);
    }

    /* The journal drains, then the controller holds the database's
     * state. */
    size_t left;
    uint64_t deadline = back + (uint64_t) CONVERGE_MS * 1000;
    while ((left = journal_depth(srv, "pending&state=processing", NULL,
                                 NULL))
           && time_monotonic_usec() < deadline) {
        topo_sleep_ms(100);
    }
    long n_objects = 0;
    long diffs = odlpeer_wait_equal(peer, srv, flavor, 10000, stderr,
                                    &n_objects);
    double converge_s = (double) (time_monotonic_usec() - back) / 1e6;
    double up_after = driver_up(srv);

    /* For the diagnosis of a failure: the journal's and driver's
     * counters. */
    struct apitest_resp *m = api_get(srv, "/metrics");
    for (char *line = diffs || left ? m->body : NULL; line && *line; ) {
        char *end = strchr(line, '\n');
        if (end) {
            *end = '\0';
        }
        if (strstr(line, "driver=\"odl\"") && line[0] != '#') {
            printf("backend_outage (%s): %s\n", what, line);
        }
        line = end ? end + 1 : NULL;
    }
    apitest_resp_free(m);

    double p50[N_PHASES], p95[N_PHASES], p99[N_PHASES];
    for (int i = 0; i < N_PHASES; i++) {
        p50[i] = percentile(&sh.lat[i], 0.50);
        p95[i] = percentile(&sh.lat[i], 0.95);
        p99[i] = percentile(&sh.lat[i], 0.99);
        printf("backend_outage (%s): %-6s %5zu requests, p50 %6.1f ms, "
               "p95 %6.1f ms, p99 %6.1f ms\n", what, phase_names[i],
               sh.lat[i].n, p50[i], p95[i], p99[i]);
    }
    printf("backend_outage (%s): odl journal depth %zu at the start of the "
           "outage, %zu midway, %zu at the end (the probe router's entry "
           "%s); converged %.1f s after the "
           "controller came back: %ld objects on the controller, %ld "
           "mismatches, %zu entries left\n", what, depth_start, depth_mid,
           depth_end, probe_held ? "held" : "NOT held", converge_s,
           n_objects, diffs, left);
    printf("backend_outage (%s): hadron_driver_up %g midway, %g at the end\n",
           what, up_mid, up_after);
    fflush(stdout);

    assert_true(sh.lat[DURING].n > 0);
    assert_true(p95[DURING] <= P95_FACTOR * p95[BEFORE] + P95_SLACK_MS);
    assert_true(probe_held);
    assert_true(depth_end > 0);
    assert_int_equal(diffs, 0);
    assert_int_equal(left, 0);
    assert_true(n_objects > 0);
    /* /metrics shows what the dispatcher's health checks found (every
     * 200 ms here). */
    assert_true(up_mid == 0);
    assert_true(up_after == 1);

    assert_int_equal(apitest_server_stop(srv), 0);
    odlpeer_stop(peer);
    for (int i = 0; i < N_PHASES; i++) {
        free(sh.lat[i].ms);
    }
    free(probe);
    free(config);
    free(flavor);
    free(ext);
}

static void
test_backend_gone(void **state)
{
    (void) state;
    run_outage(true);
}

static void
test_backend_503(void **state)
{
    (void) state;
    run_outage(false);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_gone),
        cmocka_unit_test(test_backend_503),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
