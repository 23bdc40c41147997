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
#include <yajl/yajl_tree.h>

#include "core/util.h"
#include "db/db.h"
#include "tests/lib/apitest.h"
#include "tests/lib/dbcheck.h"
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

/* One object a client wrote.  'acked' once its create answered 201;
 * 'deleted' once its delete answered 204 (or 200 for an interface
 * removal); 'delete_sent' once a delete went out (answered or not). */
enum kind { K_NET, K_SUBNET, K_PORT, K_ROUTER, K_IFACE, K_FIP };
static const char *const kind_names[] = {
    "network", "subnet", "port", "router", "interface", "floatingip",
};
static const char *const kind_paths[] = {
    "networks", "subnets", "ports", "routers", "ports", "floatingips",
};

struct obj {
    enum kind kind;
    char id[40];                /* for K_IFACE: the interface port */
    char router[40];            /* K_IFACE: its router */
    bool delete_sent, deleted;
};

struct shared {
    int port;
    const char *ext_net;
    const char *odl_flavor;     /* routers of odd clients */
    volatile int stop;
    pthread_mutex_t mutex;
    struct obj *objs;
    size_t n_objs, alloc_objs;
    long writes;                /* acknowledged writes, all rounds */
    int unclean;
    char unclean_msg[600];
    int round;
};

struct answer {
    long status;                /* 0: no answer (connection failed) */
    yajl_val json;
    char *body;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
    char **buf = arg;
    size_t len = size * n, old = *buf ? strlen(*buf) : 0;

    *buf = xrealloc(*buf, old + len + 1);
    memcpy(*buf + old, ptr, len);
    (*buf)[old + len] = '\0';
    return len;
}

/* A request as the member of PROJECT that never fails the test: a
 * connection failure is status 0. */
static struct answer
req(CURL *c, int port, const char *method, const char *path,
    const char *body)
{
    struct answer a = { 0 };
    struct curl_slist *list = NULL;
    char url[512];

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        list = curl_slist_append(list, "Content-Type: application/json");
    }
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "X-Project-Id: " PROJECT);
    list = curl_slist_append(list, "X-Roles: member");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
        if (a.body) {
            a.json = yajl_tree_parse(a.body, NULL, 0);
        }
    }
    curl_slist_free_all(list);
    return a;
}

static void
answer_free(struct answer *a)
{
    yajl_tree_free(a->json);
    free(a->body);
}

static size_t
add_obj(struct shared *sh, enum kind kind, const char *id,
        const char *router)
{
    pthread_mutex_lock(&sh->mutex);
    if (sh->n_objs == sh->alloc_objs) {
        sh->alloc_objs = sh->alloc_objs ? sh->alloc_objs * 2 : 1024;
        sh->objs = xrealloc(sh->objs, sh->alloc_objs * sizeof *sh->objs);
    }
    size_t i = sh->n_objs++;
    struct obj *o = &sh->objs[i];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    str_copy(o->id, id, sizeof o->id);
    str_copy(o->router, router ? router : "", sizeof o->router);
    sh->writes++;
    pthread_mutex_unlock(&sh->mutex);
    return i;
}

static void
mark(struct shared *sh, size_t i, bool deleted)
{
    pthread_mutex_lock(&sh->mutex);
    sh->objs[i].delete_sent = true;
    if (deleted) {
        sh->objs[i].deleted = true;
        sh->writes++;
    }
    pthread_mutex_unlock(&sh->mutex);
}

/* Classifies an answer: true if 'expect'; false, with the client told to
 * stop, on no answer; an unclean answer (5xx other than 503, or an
 * unexpected code) is recorded. */
static bool
check(struct shared *sh, struct answer *a, long expect, const char *what)
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
                 a->body ? a->body : "");
    }
    pthread_mutex_unlock(&sh->mutex);
    return false;
}

struct client {
    struct shared *sh;
    int index;
};

/* POST that records the created object; returns its index or -1. */
static long
create(struct shared *sh, CURL *c, enum kind kind, const char *path,
       const char *body, const char *key)
{
    struct answer a = req(c, sh->port, "POST", path, body);
    long idx = -1;
    if (check(sh, &a, 201, path)) {
        const char *id = jstr(a.json, key);
        idx = (long) add_obj(sh, kind, id ? id : "?", NULL);
    }
    answer_free(&a);
    return idx;
}

static bool
delete(struct shared *sh, CURL *c, long idx)
{
    char path[128];
    struct obj o;

    if (idx < 0) {
        return true;
    }
    pthread_mutex_lock(&sh->mutex);
    o = sh->objs[idx];
    pthread_mutex_unlock(&sh->mutex);
    snprintf(path, sizeof path, "/v2.0/%s/%s", kind_paths[o.kind], o.id);
    mark(sh, idx, false);
    struct answer a = req(c, sh->port, "DELETE", path, NULL);
    bool ok = check(sh, &a, 204, path);
    if (ok) {
        mark(sh, idx, true);
    }
    answer_free(&a);
    return ok;
}

static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct shared *sh = cl->sh;
    CURL *c = curl_easy_init();
    unsigned int seed = (unsigned int) (cl->index * 7919 + sh->round * 31
                                        + time(NULL));
    char body[512], path[256];

    for (int iter = 0; !sh->stop; iter++) {
        long net = -1, sub = -1, port = -1, router = -1, iface = -1, fip = -1;
        char net_id[40] = "", sub_id[40] = "", port_id[40] = "";
        char router_id[40] = "";

        net = create(sh, c, K_NET, "/v2.0/networks",
                     "{\"network\": {\"name\": \"load\"}}", "network/id");
        if (net < 0) {
            break;
        }
        pthread_mutex_lock(&sh->mutex);
        str_copy(net_id, sh->objs[net].id, sizeof net_id);
        pthread_mutex_unlock(&sh->mutex);
        snprintf(body, sizeof body,
                 "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
                 "\"cidr\": \"10.%d.%d.0/24\"}}", net_id, cl->index,
                 (iter + sh->round * 50) % 256);
        sub = create(sh, c, K_SUBNET, "/v2.0/subnets", body, "subnet/id");
        if (sub < 0) {
            break;
        }
        pthread_mutex_lock(&sh->mutex);
        str_copy(sub_id, sh->objs[sub].id, sizeof sub_id);
        pthread_mutex_unlock(&sh->mutex);
        snprintf(body, sizeof body,
                 "{\"port\": {\"network_id\": \"%s\"}}", net_id);
        port = create(sh, c, K_PORT, "/v2.0/ports", body, "port/id");
        if (port < 0) {
            break;
        }
        pthread_mutex_lock(&sh->mutex);
        str_copy(port_id, sh->objs[port].id, sizeof port_id);
        pthread_mutex_unlock(&sh->mutex);
        char flavor_attr[80] = "";
        if (cl->index % 2) {
            snprintf(flavor_attr, sizeof flavor_attr,
                     ", \"flavor_id\": \"%s\"", sh->odl_flavor);
        }
        snprintf(body, sizeof body,
                 "{\"router\": {\"name\": \"load\", \"external_gateway_info\":"
                 " {\"network_id\": \"%s\"}%s}}", sh->ext_net, flavor_attr);
        router = create(sh, c, K_ROUTER, "/v2.0/routers", body, "router/id");
        if (router < 0) {
            break;
        }
        pthread_mutex_lock(&sh->mutex);
        str_copy(router_id, sh->objs[router].id, sizeof router_id);
        pthread_mutex_unlock(&sh->mutex);

        snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
                 router_id);
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub_id);
        struct answer a = req(c, sh->port, "PUT", path, body);
        if (check(sh, &a, 200, "add_router_interface")) {
            const char *pid = jstr(a.json, "port_id");
            iface = (long) add_obj(sh, K_IFACE, pid ? pid : "?", router_id);
        }
        answer_free(&a);
        if (iface < 0) {
            break;
        }
        snprintf(body, sizeof body,
                 "{\"floatingip\": {\"floating_network_id\": \"%s\", "
                 "\"port_id\": \"%s\"}}", sh->ext_net, port_id);
        fip = create(sh, c, K_FIP, "/v2.0/floatingips", body,
                     "floatingip/id");
        if (fip < 0) {
            break;
        }

        /* Half the time, take it all down again, in order. */
        if (rand_r(&seed) % 2) {
            continue;
        }
        if (!delete(sh, c, fip)) {
            break;
        }
        snprintf(path, sizeof path,
                 "/v2.0/routers/%s/remove_router_interface", router_id);
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", sub_id);
        mark(sh, (size_t) iface, false);
        a = req(c, sh->port, "PUT", path, body);
        bool ok = check(sh, &a, 200, "remove_router_interface");
        answer_free(&a);
        if (!ok) {
            break;
        }
        mark(sh, (size_t) iface, true);
        if (!delete(sh, c, router) || !delete(sh, c, port)
            || !delete(sh, c, sub) || !delete(sh, c, net)) {
            break;
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- Checks after a restart ---- */

/* The objects' expected presence against the API; returns the number of
 * losses (acknowledged and missing, or deleted and still there). */
static long
check_objects(struct shared *sh, struct apitest_server *srv)
{
    long lost = 0;

    for (size_t i = 0; i < sh->n_objs; i++) {
        struct obj *o = &sh->objs[i];
        char path[128];
        snprintf(path, sizeof path, "/v2.0/%s/%s", kind_paths[o->kind],
                 o->id);
        struct apitest_resp *r = api_get(srv, path);
        bool there = r->status == 200;
        if (o->kind == K_IFACE && there) {
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
               "objects, mismatches %ld\n", round, sh.n_objs, sh.writes, lost,
               half, odl_objects, mismatches);
        fflush(stdout);
    }
    printf("crash_load: rounds %d, writes %ld, lost %ld, half-there %ld, "
           "mismatches %ld (engine %s)\n", N_ROUNDS, sh.writes, lost, half,
           mismatches, testdb_engine());
    assert_int_equal(lost, 0);
    assert_int_equal(half, 0);
    assert_int_equal(mismatches, 0);

    db_close(db);
    assert_int_equal(apitest_server_stop(srv), 0);
    odlpeer_stop(peer);
    free(sh.objs);
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
