/* tests/api/test_crash_load.c: 32 clients creating and deleting networks,
 * subnets, ports, routers, interfaces and floating IPs against a real
 * hadron-server (noop flavor), kill -9 of the server at a random point,
 * restart on the same database, N rounds.  After each round:
 *   - every acknowledged create is there, unless an acknowledged delete
 *     followed (then it is gone); an unacknowledged write may or may not
 *     have happened, but never by halves;
 *   - nothing is half there: no port without its IP allocations on a
 *     network with subnets, no router interface or gateway port without
 *     its routerports row, no floating IP without its port, no router
 *     without its provider;
 *   - no allocation is duplicated or leaked: every ipallocations row
 *     belongs to a port, VLAN allocations match network_segments, MACs are
 *     unique per network;
 *   - the journal converges (no pending or processing rows after a wait);
 *   - each backend's state equals the database: half the clients make
 *     their routers of flavor odl, against the controller peer
 *     (tests/odl-peer), which must then hold exactly the routers, ports,
 *     floating IPs, networks and subnets the database says (none missing,
 *     none extra, same attributes), and every router the journal finished
 *     with is ACTIVE.
 * Prints rounds, writes, lost and mismatches (both must be 0). */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "db/db.h"
#include "tests/lib/apitest.h"
#include "tests/lib/dbcheck.h"
#include "tests/lib/loadclient.h"
#include "tests/lib/odlpeer.h"
#include "tests/lib/testdb.h"
#include "tests/lib/topo.h"

#define N_CLIENTS 32
#define N_ROUNDS 5
#define ADMIN_PROJECT "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
#define PROJECT "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

/* Followed by odlpeer_config() (the providers and the journal). */
static const char base_config[] =
    "[DEFAULT]\ndebug = false\napi_workers = 4\n"
    "[ml2]\ntype_drivers = vlan,flat\ntenant_network_types = vlan\n"
    "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:1:4000\n";

/* The objects' kinds as the messages name them. */
static const char *const kind_names[] = {
    [LC_NET] = "network", [LC_SUBNET] = "subnet", [LC_PORT] = "port",
    [LC_ROUTER] = "router", [LC_IFACE] = "interface",
    [LC_FIP] = "floatingip",
};

struct shared {
    int port;
    const char *ext_net;
    const char *odl_flavor;     /* routers of odd clients */
    volatile int stop;
    pthread_mutex_t mutex;      /* 'unclean' and its message */
    struct loadclient_objs objs; /* their 'acked': writes, all rounds */
    int unclean;
    char unclean_msg[600];
    int round;
};

/* Classifies an answer: true if 'expect'; false, with the clients told to
 * stop, on no answer (the server was killed); an unclean answer (5xx
 * other than 503, or an unexpected code) is recorded. */
static bool
check(struct shared *sh, const struct apitest_resp *a, long expect,
      const char *what)
{
    if (a->status == expect) {
        return true;
    }
    if (a->status == 0) {
        sh->stop = 1;
        return false;
    }
    pthread_mutex_lock(&sh->mutex);
    if (!sh->unclean++) {
        snprintf(sh->unclean_msg, sizeof sh->unclean_msg,
                 "round %d %s: HTTP %ld: %.400s", sh->round, what, a->status,
                 a->body);
    }
    pthread_mutex_unlock(&sh->mutex);
    return false;
}

/* The loadclient judge of creates and deletes: check() by their path. */
static bool
judge(void *sh, const char *method, const char *path,
      const struct apitest_resp *a, long expect)
{
    (void) method;
    return check(sh, a, expect, path);
}

struct client {
    struct shared *sh;
    int index;
};

static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct shared *sh = cl->sh;
    struct loadclient_objs *objs = &sh->objs;
    struct loadclient lc;
    unsigned int seed = (unsigned int) (cl->index * 7919 + sh->round * 31
                                        + time(NULL));
    char body[512], path[256];

    loadclient_init(&lc, sh->port, PROJECT, 30000, judge, sh);
    for (int iter = 0; !sh->stop; iter++) {
        long net = -1, sub = -1, port = -1, router = -1, iface = -1, fip = -1;
        char net_id[40] = "", sub_id[40] = "", port_id[40] = "";
        char router_id[40] = "";

        net = loadclient_create(&lc, objs, LC_NET,
                                "{\"network\": {\"name\": \"load\"}}",
                                "network/id", net_id);
        if (net < 0) {
            break;
        }
        snprintf(body, sizeof body,
                 "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
                 "\"cidr\": \"10.%d.%d.0/24\"}}", net_id, cl->index,
                 (iter + sh->round * 50) % 256);
        sub = loadclient_create(&lc, objs, LC_SUBNET, body, "subnet/id",
                                sub_id);
        if (sub < 0) {
            break;
        }
        snprintf(body, sizeof body,
                 "{\"port\": {\"network_id\": \"%s\"}}", net_id);
        port = loadclient_create(&lc, objs, LC_PORT, body, "port/id",
                                 port_id);
        if (port < 0) {
            break;
        }
        char flavor_attr[80] = "";
        if (cl->index % 2) {
            snprintf(flavor_attr, sizeof flavor_attr,
                     ", \"flavor_id\": \"%s\"", sh->odl_flavor);
        }
        snprintf(body, sizeof body,
                 "{\"router\": {\"name\": \"load\", \"external_gateway_info\":"
                 " {\"network_id\": \"%s\"}%s}}", sh->ext_net, flavor_attr);
        router = loadclient_create(&lc, objs, LC_ROUTER, body, "router/id",
                                   router_id);
        if (router < 0) {
            break;
        }

        /* The interface PUTs are check()ed by their operation's name. */
        snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
                 router_id);
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub_id);
        struct apitest_resp *a = loadclient_request(&lc, "PUT", path, body);
        if (check(sh, a, 200, "add_router_interface")) {
            iface = loadclient_objs_add(objs, LC_IFACE,
                                        jstr(a->json, "port_id"), router_id);
        }
        apitest_resp_free(a);
        if (iface < 0) {
            break;
        }
        snprintf(body, sizeof body,
                 "{\"floatingip\": {\"floating_network_id\": \"%s\", "
                 "\"port_id\": \"%s\"}}", sh->ext_net, port_id);
        fip = loadclient_create(&lc, objs, LC_FIP, body, "floatingip/id",
                                NULL);
        if (fip < 0) {
            break;
        }

        /* Half the time, take it all down again, in order. */
        if (rand_r(&seed) % 2) {
            continue;
        }
        if (!loadclient_delete(&lc, objs, fip)) {
            break;
        }
        snprintf(path, sizeof path,
                 "/v2.0/routers/%s/remove_router_interface", router_id);
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub_id);
        loadclient_objs_mark(objs, iface, false);
        a = loadclient_request(&lc, "PUT", path, body);
        bool ok = check(sh, a, 200, "remove_router_interface");
        apitest_resp_free(a);
        if (!ok) {
            break;
        }
        loadclient_objs_mark(objs, iface, true);
        if (!loadclient_delete(&lc, objs, router)
            || !loadclient_delete(&lc, objs, port)
            || !loadclient_delete(&lc, objs, sub)
            || !loadclient_delete(&lc, objs, net)) {
            break;
        }
    }
    loadclient_destroy(&lc);
    return NULL;
}

/* ---- Checks after a restart ---- */

/* The objects' expected presence against the API; returns the number of
 * losses (acknowledged and missing, or deleted and still there). */
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
            const char *owner = jstr(r->json, "port/device_owner");
            const char *dev = jstr(r->json, "port/device_id");
            there = owner && !strcmp(owner, "network:router_interface")
                    && dev && !strcmp(dev, o->router);
        }
        if (r->status != 200 && r->status != 404) {
            fail_msg("GET %s: %ld %s", path, r->status, r->body);
        }
        apitest_resp_free(r);
        if (o->deleted && there) {
            fprintf(stderr, "round %d: %s %s deleted (acknowledged) but "
                    "still there\n", sh->round, kind_names[o->kind], o->id);
            lost++;
        } else if (!o->delete_sent && !there) {
            fprintf(stderr, "round %d: %s %s created (acknowledged) but "
                    "missing\n", sh->round, kind_names[o->kind], o->id);
            lost++;
        }
        /* Deleted or not, from now on its state is what the database
         * says. */
        o->deleted = !there;
        o->delete_sent = !there;
    }
    return lost;
}

/* For the diagnosis: each router that is not ACTIVE, its provider and
 * its journal entries. */
static void
print_not_active(struct db *db)
{
    struct db_stmt *st = db_prepare(
        db, "SELECT r.id, r.status, v.provider, j.seq, j.resource, "
        "j.operation, j.state, j.attempts, j.last_error FROM routers r "
        "LEFT JOIN router_provider v ON v.router_id = r.id LEFT JOIN journal "
        "j ON j.router_id = r.id WHERE r.status <> 'ACTIVE' ORDER BY r.id, "
        "j.seq");
    while (st && db_step(st) == DB_ROW) {
        fprintf(stderr, "  router %s %s (%s): entry %s %s %s %s attempts %s"
                " %s\n", db_col_text(st, 0), db_col_text(st, 1),
                db_col_text(st, 2), db_col_text(st, 3), db_col_text(st, 4),
                db_col_text(st, 5), db_col_text(st, 6), db_col_text(st, 7),
                db_col_text(st, 8));
    }
    db_reset(st);
}

static void
test_crash_load(void **state)
{
    (void) state;
    struct shared sh = { .mutex = PTHREAD_MUTEX_INITIALIZER };
    char *url = testdb_create();
    char *output = NULL;
    int status;
    unsigned int seed = (unsigned int) time(NULL) ^ (unsigned int) getpid();
    long lost = 0, half = 0, mismatches = 0;
    struct odlpeer *peer = odlpeer_start();
    char *peer_config = odlpeer_config(peer);
    char *config = xasprintf("%s%s", base_config, peer_config);

    struct apitest_server *srv = apitest_server_try_start(url, config,
                                                          &status, &output);
    if (!srv) {
        fail_msg("server: %s", output);
    }
    char *odl_flavor = topo_flavor(srv, "odl");
    sh.odl_flavor = odl_flavor;
    char *ext = topo_net(srv, ADMIN_PROJECT, "\"router:external\": true");
    free(topo_create_id(srv, "POST", "/v2.0/subnets", NULL, 201, "subnet/id",
                        "{\"subnet\": {\"tenant_id\": \"" ADMIN_PROJECT "\", "
                        "\"network_id\": \"%s\", \"ip_version\": 4, "
                        "\"cidr\": \"172.24.0.0/16\"}}", ext));
    sh.ext_net = ext;
    loadclient_objs_init(&sh.objs);

    struct db *db;
    char err[256];
    if (db_open(url, &db, err, sizeof err)) {
        fail_msg("db_open: %s", err);
    }

    for (int round = 1; round <= N_ROUNDS; round++) {
        pthread_t threads[N_CLIENTS];
        struct client clients[N_CLIENTS];

        sh.round = round;
        sh.stop = 0;
        sh.port = srv->port;
        for (int i = 0; i < N_CLIENTS; i++) {
            clients[i] = (struct client) { &sh, i };
            pthread_create(&threads[i], NULL, client_main, &clients[i]);
        }
        topo_sleep_ms(500 + (int) (rand_r(&seed) % 2500));
        assert_int_equal(kill(srv->pid, SIGKILL), 0);
        assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
        srv->pid = 0;
        for (int i = 0; i < N_CLIENTS; i++) {
            pthread_join(threads[i], NULL);
        }
        srv->keep_db = true;
        srv->allow_errors = true;
        apitest_server_stop(srv);

        srv = apitest_server_try_start(url, config, &status, &output);
        if (!srv) {
            fail_msg("restart after round %d: %s", round, output);
        }
        if (sh.unclean) {
            fail_msg("%d unclean answers, first: %s", sh.unclean,
                     sh.unclean_msg);
        }
        topo_wait_journal_idle(srv);
        lost += check_objects(&sh, srv);
        char label[32];
        snprintf(label, sizeof label, "round %d", round);
        half += dbcheck_consistency(db, label);
        /* The routers the journal finished with are ACTIVE. */
        long long not_active = dbcheck_count(
            db, "SELECT COUNT(*) FROM routers WHERE status <> 'ACTIVE'");
        if (not_active) {
            fprintf(stderr, "round %d: %lld routers not ACTIVE after the "
                    "journal converged\n", round, not_active);
            print_not_active(db);
            half += not_active;
        }
        long odl_objects = 0;
        mismatches += odlpeer_wait_equal(peer, srv, odl_flavor, 30000, stderr,
                                         &odl_objects);
        printf("crash_load: round %d: %zu objects, %ld acknowledged writes "
               "so far, lost %ld, half-there %ld, odl controller %ld "
               "objects, mismatches %ld\n", round, sh.objs.n, sh.objs.acked,
               lost, half, odl_objects, mismatches);
        fflush(stdout);
    }
    printf("crash_load: rounds %d, writes %ld, lost %ld, half-there %ld, "
           "mismatches %ld (engine %s)\n", N_ROUNDS, sh.objs.acked, lost,
           half, mismatches, testdb_engine());
    assert_int_equal(lost, 0);
    assert_int_equal(half, 0);
    assert_int_equal(mismatches, 0);

    db_close(db);
    assert_int_equal(apitest_server_stop(srv), 0);
    odlpeer_stop(peer);
    loadclient_objs_destroy(&sh.objs);
    free(ext);
    free(odl_flavor);
    free(config);
    free(peer_config);
    free(url);
    free(output);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_load),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
