/* tests/bench/bench_l3.c: throughput and latency of the L3 API.
 *
 * Starts a real hadron-server (SQLite, or MariaDB when
 * HADRON_TEST_ENGINE=mariadb and HADRON_TEST_MYSQL_URL are set) with the
 * noop flavor driver and drives it with 1, 8 and 32 concurrent keep-alive
 * clients: router create, add interface (by subnet), set gateway, FIP
 * create, FIP associate; then the time from the API call to ACTIVE (the
 * journal has applied it with noop) for a router create and for a FIP
 * association.  The resources each phase needs (networks, subnets, VM
 * ports) are made beforehand with bulk requests and not timed.  Prints
 * ops/s, p50 and p99, and Neutron 21's figures on this machine (one
 * client) with the 100x target.
 *
 *   bench_l3 [--quick] [--clients N] [--only NAME]
 *     --quick       fewer operations (for CI smoke runs)
 *     --clients N   only the level of N clients
 *     --only NAME   only the phases whose name starts with NAME (for
 *                   profiling one; later phases need the earlier ones) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/bench/benchlib.h"
#include "tests/lib/apitest.h"

#define PROJECT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define BULK 100

static bool quick;
static const char *only;                /* phase name prefix, or NULL */
static unsigned int next_subnet;        /* 10.<hi>.<lo>.0/24 counter */

/* Everything one level (n clients) works on; object k of worker w is at
 * w * per + k. */
struct level {
    size_t n_workers, per;
    const char *ext;
    char (*nets)[UUID_STR_LEN];         /* one per router */
    char (*subnets)[UUID_STR_LEN];      /* one per router */
    char (*routers)[UUID_STR_LEN];
    char (*fips)[UUID_STR_LEN];
    char (*vms)[UUID_STR_LEN];          /* a VM port per FIP */
};

static void
fail_setup(const struct bench_client *c, const char *what)
{
    fprintf(stderr, "bench: %s failed: %.500s\n", what, c->buf);
    exit(1);
}

/* Collects the ids of a bulk answer {"<plural>": [{"id": ...}, ...]}. */
static void
bulk_ids(const struct bench_client *c, const char *plural,
         char (*ids)[UUID_STR_LEN], size_t n)
{
    yajl_val v = yajl_tree_parse(c->buf, NULL, 0);
    yajl_val list = jpath(v, plural);

    if (!YAJL_IS_ARRAY(list) || list->u.array.len != n) {
        fail_setup(c, plural);
    }
    for (size_t i = 0; i < n; i++) {
        str_copy(ids[i], jstr(list->u.array.values[i], "id"), UUID_STR_LEN);
    }
    yajl_tree_free(v);
}

/* Makes the networks, subnets and VM ports of a level (bulk, untimed). */
static void
level_setup(struct level *lv, int port)
{
    size_t total = lv->n_workers * lv->per;
    struct bench_client c;
    char *body = xmalloc(BULK * 300 + 64);

    bench_client_init(&c, port, PROJECT);
    lv->nets = xcalloc(total, sizeof *lv->nets);
    lv->subnets = xcalloc(total, sizeof *lv->subnets);
    lv->routers = xcalloc(total, sizeof *lv->routers);
    lv->fips = xcalloc(total, sizeof *lv->fips);
    lv->vms = xcalloc(total, sizeof *lv->vms);
    if (only && str_starts_with(only, "router create")) {
        /* Router creates need nothing else. */
        free(body);
        bench_client_destroy(&c);
        return;
    }
    /* A network per router, a subnet on each, a VM port on each, BULK
     * per request. */
    static const char *const plurals[] = { "networks", "subnets", "ports" };
    for (int kind = 0; kind < 3; kind++) {
        char path[64];
        snprintf(path, sizeof path, "/v2.0/%s", plurals[kind]);
        for (size_t start = 0; start < total; start += BULK) {
            size_t n = total - start < BULK ? total - start : BULK;
            size_t len = snprintf(body, 64, "{\"%s\": [", plurals[kind]);
            for (size_t i = start; i < start + n; i++) {
                const char *net = lv->nets[i];
                if (kind == 0) {
                    len += snprintf(body + len, 300, "%s{\"name\": "
                                    "\"bench-l3-%zu\"}", i > start ? "," : "",
                                    i);
                } else if (kind == 1) {
                    unsigned int k = next_subnet++;
                    len += snprintf(body + len, 300, "%s{\"network_id\": "
                                    "\"%s\", \"ip_version\": 4, \"cidr\": "
                                    "\"10.%u.%u.0/24\"}", i > start ? ","
                                                                    : "",
                                    net, k / 256, k % 256);
                } else {
                    len += snprintf(body + len, 300, "%s{\"network_id\": "
                                    "\"%s\", \"device_id\": \"vm-%zu\", "
                                    "\"fixed_ips\": [{\"subnet_id\": "
                                    "\"%s\"}]}", i > start ? "," : "", net,
                                    i, lv->subnets[i]);
                }
            }
            snprintf(body + len, 8, "]}");
            if (bench_client_do(&c, "POST", path, body) != 201) {
                fail_setup(&c, plurals[kind]);
            }
            bulk_ids(&c, plurals[kind],
                     kind == 0 ? &lv->nets[start]
                     : kind == 1 ? &lv->subnets[start] : &lv->vms[start], n);
        }
    }
    free(body);
    bench_client_destroy(&c);
}

static void
level_destroy(struct level *lv)
{
    free(lv->nets);
    free(lv->subnets);
    free(lv->routers);
    free(lv->fips);
    free(lv->vms);
}

/* ---- The timed operations ---- */

static bool
op_router_create(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    char body[128];

    snprintf(body, sizeof body, "{\"router\": {\"name\": \"b-%zu-%zu\"}}",
             w, i);
    return bench_client_do(c, "POST", "/v2.0/routers", body) == 201
           && bench_answer_id(c, "router", lv->routers[w * lv->per + i]);
}

static bool
op_add_interface(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    size_t k = w * lv->per + i;
    char path[160], body[128];

    snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
             lv->routers[k]);
    snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}", lv->subnets[k]);
    return bench_client_do(c, "PUT", path, body) == 200;
}

static bool
op_set_gateway(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    char path[128], body[200];

    snprintf(path, sizeof path, "/v2.0/routers/%s",
             lv->routers[w * lv->per + i]);
    snprintf(body, sizeof body, "{\"router\": {\"external_gateway_info\": "
             "{\"network_id\": \"%s\"}}}", lv->ext);
    return bench_client_do(c, "PUT", path, body) == 200;
}

static bool
op_fip_create(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    char body[160];

    snprintf(body, sizeof body, "{\"floatingip\": {\"floating_network_id\": "
             "\"%s\"}}", lv->ext);
    return bench_client_do(c, "POST", "/v2.0/floatingips", body) == 201
           && bench_answer_id(c, "floatingip", lv->fips[w * lv->per + i]);
}

static bool
op_fip_associate(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    size_t k = w * lv->per + i;
    char path[128], body[128];

    snprintf(path, sizeof path, "/v2.0/floatingips/%s", lv->fips[k]);
    snprintf(body, sizeof body, "{\"floatingip\": {\"port_id\": \"%s\"}}",
             lv->vms[k]);
    return bench_client_do(c, "PUT", path, body) == 200;
}

/* Polls 'path' until its answer holds "status":"ACTIVE" (10 s). */
static bool
poll_active(struct bench_client *c, const char *path)
{
    for (int n = 0; n < 100000; n++) {
        if (bench_client_do(c, "GET", path, NULL) != 200) {
            return false;
        }
        if (strstr(c->buf, "\"status\":\"ACTIVE\"")) {
            return true;
        }
        if (strstr(c->buf, "\"status\":\"ERROR\"")) {
            return false;
        }
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Router create, then wait until the driver has applied it. */
static bool
op_router_active(struct bench_client *c, size_t w, size_t i, void *aux)
{
    char body[128], id[UUID_STR_LEN], path[160];

    (void) aux;
    snprintf(body, sizeof body, "{\"router\": {\"name\": \"a-%zu-%zu\"}}",
             w, i);
    if (bench_client_do(c, "POST", "/v2.0/routers", body) != 201
        || !bench_answer_id(c, "router", id)) {
        return false;
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s?fields=status", id);
    return poll_active(c, path);
}

/* FIP associate (after a disassociate, untimed), then wait until the
 * driver has applied it. */
static bool
op_fip_active(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    size_t k = w * lv->per + i;
    char path[128], body[128];

    snprintf(path, sizeof path, "/v2.0/floatingips/%s", lv->fips[k]);
    snprintf(body, sizeof body, "{\"floatingip\": {\"port_id\": \"%s\"}}",
             lv->vms[k]);
    if (bench_client_do(c, "PUT", path, body) != 200) {
        return false;
    }
    snprintf(path, sizeof path, "/v2.0/floatingips/%s?fields=status",
             lv->fips[k]);
    return poll_active(c, path);
}

static bool
op_fip_disassociate(struct bench_client *c, size_t w, size_t i, void *aux)
{
    struct level *lv = aux;
    char path[128];

    snprintf(path, sizeof path, "/v2.0/floatingips/%s",
             lv->fips[w * lv->per + i]);
    return bench_client_do(c, "PUT", path, "{\"floatingip\": "
                           "{\"port_id\": null}}") == 200;
}

static void
phase(const char *name, int port, size_t n_workers, size_t per,
      bench_op_fn *fn, void *aux)
{
    if (!only || str_starts_with(name, only)) {
        bench_run(name, port, PROJECT, n_workers, per, fn, aux, NULL);
    }
}

static void
run_level(int port, const char *ext, size_t n_workers)
{
    size_t total = quick ? 200 : 2000;
    struct level lv = {
        .n_workers = n_workers,
        .per = total / n_workers + (total % n_workers != 0),
        .ext = ext,
    };

    level_setup(&lv, port);
    phase("router create", port, n_workers, lv.per, op_router_create, &lv);
    phase("add interface", port, n_workers, lv.per, op_add_interface, &lv);
    phase("set gateway", port, n_workers, lv.per, op_set_gateway, &lv);
    phase("FIP create", port, n_workers, lv.per, op_fip_create, &lv);
    phase("FIP associate", port, n_workers, lv.per, op_fip_associate, &lv);

    /* Time to ACTIVE: fewer operations, each waits for the journal. */
    size_t per = (quick ? 50 : 500) / n_workers + 1;
    per = per > lv.per ? lv.per : per;
    phase("router create->ACTIVE", port, n_workers, per, op_router_active,
          &lv);
    phase("(FIP disassociate)", port, n_workers, per, op_fip_disassociate,
          &lv);
    phase("FIP associate->ACTIVE", port, n_workers, per, op_fip_active,
          &lv);
    level_destroy(&lv);
}

int
main(int argc, char *argv[])
{
    size_t clients = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--clients") && i + 1 < argc) {
            clients = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_l3 [--quick] [--clients N] "
                    "[--only NAME]\n");
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_ALL);

    /* No debug logging: the benchmark measures the server, not its log. */
    /* HADRON_BENCH_CONFIG: more configuration, to compare settings. */
    char *config = xasprintf("[DEFAULT]\ndebug = false\napi_workers = 2\n%s",
                             getenv("HADRON_BENCH_CONFIG")
                             ? getenv("HADRON_BENCH_CONFIG") : "");
    struct apitest_server *srv = apitest_server_start(config);
    free(config);
    srv->allow_errors = true;
    printf("hadron-server on %s, %d API workers, noop flavor driver\n",
           getenv("HADRON_TEST_ENGINE") ? getenv("HADRON_TEST_ENGINE")
                                        : "sqlite", 2);
    printf("Neutron 21 here, 1 client: router create 31.6/s, add interface "
           "1.9/s (p50 467 ms), set gateway 1.6/s, FIP create 3.4/s, FIP "
           "associate 3.0/s; target 100x\n");

    struct bench_client c;
    char ext[UUID_STR_LEN];
    bench_client_init(&c, srv->port, NULL);
    if (bench_client_do(&c, "POST", "/v2.0/networks", "{\"network\": "
                        "{\"name\": \"bench-ext\", \"router:external\": "
                        "true, \"project_id\": \"admin\"}}") != 201
        || !bench_answer_id(&c, "network", ext)) {
        fail_setup(&c, "external network create");
    }
    char body[256];
    snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": \"%s\", "
             "\"ip_version\": 4, \"cidr\": \"100.64.0.0/14\", "
             "\"project_id\": \"admin\"}}", ext);
    if (bench_client_do(&c, "POST", "/v2.0/subnets", body) != 201) {
        fail_setup(&c, "external subnet create");
    }
    bench_client_destroy(&c);

    size_t levels[] = { 1, 8, 32 };
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
        if (!clients || clients == levels[i]) {
            run_level(srv->port, ext, levels[i]);
        }
    }

    apitest_server_stop(srv);
    curl_global_cleanup();
    return 0;
}
