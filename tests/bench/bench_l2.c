/* tests/bench/bench_l2.c: throughput and latency of the L2 API.
 *
 * Starts a real hadron-server (SQLite, or MariaDB when
 * HADRON_TEST_ENGINE=mariadb and HADRON_TEST_MYSQL_URL are set) and drives
 * it with 1, 8 and 32 concurrent keep-alive clients: create, show, update,
 * list and delete of networks, subnets and ports; then lists with 10,000
 * ports present (all, filtered by device_id, fields=id; the pages that
 * [DEFAULT] pagination_max_limit cuts are followed by their "next" links,
 * as clients do); then GET of one network against a trivial libevhtp
 * handler on the same machine, which is the ceiling an API server can
 * reach here.  Prints ops/s, p50 and p99.
 *
 *   bench_l2 [--quick]    --quick: fewer operations (for CI smoke runs) */
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <evhtp/evhtp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "core/util.h"
#include "tests/lib/apitest.h"

#define PROJECT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static bool quick;

struct client {
    CURL *curl;
    struct curl_slist *headers;
    char *buf;
    size_t len, cap;
    int port;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
    struct client *c = arg;
    size_t len = size * n;

    if (c->len + len + 1 > c->cap) {
        c->cap = (c->len + len + 1) * 2;
        c->buf = xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, p, len);
    c->len += len;
    c->buf[c->len] = '\0';
    return len;
}

static void
client_init(struct client *c, int port)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "X-Project-Id: " PROJECT);
    c->headers = curl_slist_append(c->headers, "X-Roles: member");
    c->headers = curl_slist_append(c->headers, "Expect:");
}

static void
client_destroy(struct client *c)
{
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->curl);
    free(c->buf);
}

/* One request; returns the HTTP status, the body in c->buf. */
static long
client_do(struct client *c, const char *method, const char *path,
          const char *body)
{
    char url[512];
    long status = 0;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    c->len = 0;
    if (c->buf) {
        c->buf[0] = '\0';
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
                     body ? (long) strlen(body) : 0L);
    if (curl_easy_perform(c->curl) == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    return status;
}

/* The id in a {"<kind>": {"id": ...}} answer, copied into 'id'. */
static bool
answer_id(const struct client *c, const char *kind, char id[UUID_STR_LEN])
{
    const char *p = strstr(c->buf ? c->buf : "", kind);
    p = p ? strstr(p, "\"id\":\"") : NULL;
    if (!p) {
        return false;
    }
    memcpy(id, p + 6, 36);
    id[36] = '\0';
    return true;
}

/* ---- Phases: each thread runs 'n' operations of one kind ---- */

enum op {
    OP_NET_CREATE, OP_NET_SHOW, OP_NET_UPDATE, OP_NET_LIST, OP_NET_DELETE,
    OP_SUBNET_CREATE, OP_SUBNET_SHOW, OP_SUBNET_UPDATE, OP_SUBNET_DELETE,
    OP_PORT_CREATE, OP_PORT_SHOW, OP_PORT_UPDATE, OP_PORT_DELETE,
    OP_GET_ONE,
};

static const char *const op_names[] = {
    "network create", "network show", "network update", "network list",
    "network delete", "subnet create", "subnet show", "subnet update",
    "subnet delete", "port create", "port show", "port update",
    "port delete", "GET one network",
};

struct worker {
    pthread_t thread;
    struct client c;
    int index;
    enum op op;
    size_t n;
    char (*ids)[UUID_STR_LEN];  /* this worker's objects */
    size_t n_ids;
    const char *net_id;         /* shared network for subnets/ports */
    char (*subnet_nets)[UUID_STR_LEN];  /* one per 8 subnets */
    double *lat_ms;             /* one per operation */
    int failures;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char path[256], body[512];

    for (size_t i = 0; i < w->n; i++) {
        uint64_t start = time_monotonic_usec();
        long status = 0, want = 200;
        switch (w->op) {
        case OP_NET_CREATE:
            snprintf(body, sizeof body, "{\"network\": {\"name\": "
                     "\"bench-%d-%zu\"}}", w->index, i);
            status = client_do(&w->c, "POST", "/v2.0/networks", body);
            want = 201;
            if (status == 201 && answer_id(&w->c, "network",
                                           w->ids[w->n_ids])) {
                w->n_ids++;
            }
            break;
        case OP_SUBNET_CREATE:
            /* Eight subnets per network, as tenants have a few: the
             * overlap check reads the network's other subnets. */
            snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": "
                     "\"%s\", \"ip_version\": 4, \"cidr\": "
                     "\"10.%d.%zu.%zu/28\"}}", w->subnet_nets[i / 8],
                     100 + w->index, i / 16 % 256, i % 16 * 16);
            status = client_do(&w->c, "POST", "/v2.0/subnets", body);
            want = 201;
            if (status == 201 && answer_id(&w->c, "subnet",
                                           w->ids[w->n_ids])) {
                w->n_ids++;
            }
            break;
        case OP_PORT_CREATE:
            snprintf(body, sizeof body, "{\"port\": {\"network_id\": \"%s\", "
                     "\"device_id\": \"dev-%d-%zu\"}}", w->net_id, w->index,
                     i);
            status = client_do(&w->c, "POST", "/v2.0/ports", body);
            want = 201;
            if (status == 201 && answer_id(&w->c, "port",
                                           w->ids[w->n_ids])) {
                w->n_ids++;
            }
            break;
        case OP_NET_SHOW:
        case OP_GET_ONE:
        case OP_SUBNET_SHOW:
        case OP_PORT_SHOW:
            snprintf(path, sizeof path, "/v2.0/%s/%s",
                     w->op == OP_SUBNET_SHOW ? "subnets"
                     : w->op == OP_PORT_SHOW ? "ports" : "networks",
                     w->ids[i % w->n_ids]);
            status = client_do(&w->c, "GET", path, NULL);
            break;
        case OP_NET_UPDATE:
        case OP_SUBNET_UPDATE:
        case OP_PORT_UPDATE: {
            const char *kind = w->op == OP_NET_UPDATE ? "network"
                               : w->op == OP_SUBNET_UPDATE ? "subnet"
                               : "port";
            snprintf(path, sizeof path, "/v2.0/%ss/%s", kind,
                     w->ids[i % w->n_ids]);
            snprintf(body, sizeof body, "{\"%s\": {\"name\": \"u%zu\"}}",
                     kind, i);
            status = client_do(&w->c, "PUT", path, body);
            break;
        }
        case OP_NET_LIST:
            status = client_do(&w->c, "GET", "/v2.0/networks?limit=50", NULL);
            break;
        case OP_NET_DELETE:
        case OP_SUBNET_DELETE:
        case OP_PORT_DELETE:
            if (i >= w->n_ids) {
                w->n = i;
                break;
            }
            snprintf(path, sizeof path, "/v2.0/%s/%s",
                     w->op == OP_NET_DELETE ? "networks"
                     : w->op == OP_SUBNET_DELETE ? "subnets" : "ports",
                     w->ids[i]);
            status = client_do(&w->c, "DELETE", path, NULL);
            want = 204;
            break;
        }
        if (i >= w->n) {
            break;
        }
        w->lat_ms[i] = (time_monotonic_usec() - start) / 1000.0;
        if (status != want) {
            if (w->failures++ < 3) {
                fprintf(stderr, "bench: %s: HTTP %ld: %.300s\n",
                        op_names[w->op], status, w->c.buf ? w->c.buf : "");
            }
        }
    }
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Runs 'op' on every worker at once and prints one line. */
static void
run_phase(struct worker *ws, size_t n_workers, enum op op, size_t per_worker)
{
    size_t total = 0;
    int failures = 0;

    for (size_t i = 0; i < n_workers; i++) {
        ws[i].op = op;
        ws[i].n = per_worker;
        ws[i].failures = 0;
        free(ws[i].lat_ms);
        ws[i].lat_ms = xcalloc(per_worker + 1, sizeof *ws[i].lat_ms);
    }
    uint64_t start = time_monotonic_usec();
    for (size_t i = 0; i < n_workers; i++) {
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    }
    for (size_t i = 0; i < n_workers; i++) {
        pthread_join(ws[i].thread, NULL);
        total += ws[i].n;
        failures += ws[i].failures;
    }
    double secs = (time_monotonic_usec() - start) / 1e6;
    double *all = xcalloc(total + 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < n_workers; i++) {
        memcpy(all + k, ws[i].lat_ms, ws[i].n * sizeof *all);
        k += ws[i].n;
    }
    qsort(all, total, sizeof *all, cmp_double);
    printf("%-18s %3zu clients %7zu ops %9.0f ops/s  p50 %7.3f ms  p99 "
           "%7.3f ms%s\n", op_names[op], n_workers, total,
           secs > 0 ? total / secs : 0, total ? all[total / 2] : 0,
           total ? all[(size_t) (total * 0.99)] : 0,
           failures ? "  (FAILURES)" : "");
    fflush(stdout);
    free(all);
}

/* Untimed set-up: the networks the subnet phase puts its subnets on. */
static void
make_subnet_networks(struct worker *w, size_t per)
{
    size_t n = per / 8 + 1;

    w->subnet_nets = xcalloc(n, sizeof *w->subnet_nets);
    for (size_t i = 0; i < n; i++) {
        client_do(&w->c, "POST", "/v2.0/networks",
                  "{\"network\": {\"name\": \"bench-subnets\"}}");
        answer_id(&w->c, "network", w->subnet_nets[i]);
    }
}

static void
run_level(int port, size_t n_workers, const char *net_id)
{
    size_t per = (quick ? 200 : 2000) / n_workers + 1;
    struct worker *ws = xcalloc(n_workers, sizeof *ws);

    for (size_t i = 0; i < n_workers; i++) {
        client_init(&ws[i].c, port);
        ws[i].index = i;
        ws[i].ids = xcalloc(per + 1, sizeof *ws[i].ids);
        ws[i].net_id = net_id;
        make_subnet_networks(&ws[i], per);
    }
    static const enum op seqs[][4] = {
        { OP_NET_CREATE, OP_NET_SHOW, OP_NET_UPDATE, OP_NET_DELETE },
        { OP_SUBNET_CREATE, OP_SUBNET_SHOW, OP_SUBNET_UPDATE,
          OP_SUBNET_DELETE },
        { OP_PORT_CREATE, OP_PORT_SHOW, OP_PORT_UPDATE, OP_PORT_DELETE },
    };
    for (size_t s = 0; s < ARRAY_SIZE(seqs); s++) {
        for (size_t i = 0; i < n_workers; i++) {
            ws[i].n_ids = 0;
        }
        for (size_t j = 0; j < 4; j++) {
            if (seqs[s][j] == OP_NET_DELETE) {
                run_phase(ws, n_workers, OP_NET_LIST, per);
            }
            run_phase(ws, n_workers, seqs[s][j], per);
        }
    }
    for (size_t i = 0; i < n_workers; i++) {
        client_destroy(&ws[i].c);
        free(ws[i].ids);
        free(ws[i].lat_ms);
        free(ws[i].subnet_nets);
    }
    free(ws);
}

/* The path of the "next" link of a ports list answer (malloc'd), or NULL
 * on its last page. */
static char *
next_path(yajl_val v)
{
    for (size_t i = 0; i < jlen(v, "ports_links"); i++) {
        char p[64];
        snprintf(p, sizeof p, "ports_links/%zu/rel", i);
        const char *rel = jstr(v, p);
        snprintf(p, sizeof p, "ports_links/%zu/href", i);
        const char *href = jstr(v, p);
        const char *host = href ? strstr(href, "://") : NULL;
        if (rel && !strcmp(rel, "next") && host && strchr(host + 3, '/')) {
            return xstrdup(strchr(host + 3, '/'));
        }
    }
    return NULL;
}

/* The best of 'reps' times to list 'path' whole, following the "next"
 * links (as openstacksdk does) when [DEFAULT] pagination_max_limit cuts
 * the answer; '*count' gets the ports, '*pages' the requests of one. */
static double
time_get(struct client *c, const char *path, int reps, size_t *count,
         size_t *pages)
{
    double best = 1e9;

    for (int i = 0; i < reps; i++) {
        uint64_t start = time_monotonic_usec();
        char *page = xstrdup(path);
        *count = *pages = 0;
        while (page) {
            long status = client_do(c, "GET", page, NULL);
            if (status != 200) {
                fprintf(stderr, "bench: GET %s: HTTP %ld\n", page, status);
            }
            free(page);
            yajl_val v = yajl_tree_parse(c->buf ? c->buf : "", NULL, 0);
            *count += jlen(v, "ports");
            (*pages)++;
            page = status == 200 ? next_path(v) : NULL;
            yajl_tree_free(v);
        }
        double ms = (time_monotonic_usec() - start) / 1000.0;
        best = ms < best ? ms : best;
    }
    return best;
}

static void
list_10k_ports(int port, const char *net_id)
{
    size_t target = quick ? 1000 : 10000;
    struct client c;
    char *body = xmalloc(64 * 1024);

    client_init(&c, port);
    uint64_t start = time_monotonic_usec();
    for (size_t made = 0; made < target; made += 100) {
        size_t n = 0;
        n += snprintf(body + n, 64 * 1024 - n, "{\"ports\": [");
        for (size_t i = 0; i < 100; i++) {
            n += snprintf(body + n, 64 * 1024 - n, "%s{\"network_id\": "
                          "\"%s\", \"device_id\": \"vm-%zu\"}", i ? "," : "",
                          net_id, made + i);
        }
        snprintf(body + n, 64 * 1024 - n, "]}");
        long status = client_do(&c, "POST", "/v2.0/ports", body);
        if (status != 201) {
            fprintf(stderr, "bench: bulk port create: HTTP %ld: %.300s\n",
                    status, c.buf);
            break;
        }
    }
    double secs = (time_monotonic_usec() - start) / 1e6;
    printf("bulk port create    %zu ports in %.2f s (%.0f ports/s, 100 per "
           "request)\n", target, secs, target / secs);

    size_t count, pages;
    double ms = time_get(&c, "/v2.0/ports", 3, &count, &pages);
    printf("list all ports      %5zu ports   %9.2f ms (%zu pages)\n", count,
           ms, pages);
    ms = time_get(&c, "/v2.0/ports?device_id=vm-4242", 20, &count, &pages);
    printf("list by device_id   %5zu ports   %9.3f ms\n", count, ms);
    ms = time_get(&c, "/v2.0/ports?fields=id", 3, &count, &pages);
    printf("list fields=id      %5zu ports   %9.2f ms (%zu pages)\n", count,
           ms, pages);
    client_destroy(&c);
    free(body);
}

/* ---- The ceiling: a trivial libevhtp handler ---- */

static const char trivial_body[] =
    "{\"network\": {\"id\": \"8b2d3c1e-0000-4000-8000-000000000000\", "
    "\"name\": \"trivial\", \"status\": \"ACTIVE\"}}";

static void
trivial_cb(evhtp_request_t *r, void *arg)
{
    evbuffer_add(r->buffer_out, trivial_body, sizeof trivial_body - 1);
    evhtp_headers_add_header(r->headers_out, evhtp_header_new(
        "Content-Type", "application/json", 0, 0));
    evhtp_send_reply(r, 200);
}

struct trivial {
    pthread_t thread;
    struct event_base *base;
    evhtp_t *htp;
    int port;
};

static void *
trivial_main(void *arg)
{
    struct trivial *t = arg;
    event_base_dispatch(t->base);
    return NULL;
}

static void
trivial_start(struct trivial *t)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    evthread_use_pthreads();
    t->base = event_base_new();
    t->htp = evhtp_new(t->base, NULL);
    evhtp_set_gencb(t->htp, trivial_cb, NULL);
    evhtp_use_threads_wexit(t->htp, NULL, NULL, 2, NULL);
    evhtp_bind_socket(t->htp, "ipv4:127.0.0.1", 0, 1024);
    getsockname(evconnlistener_get_fd(t->htp->server),
                (struct sockaddr *) &sin, &len);
    t->port = ntohs(sin.sin_port);
    pthread_create(&t->thread, NULL, trivial_main, t);
}

static void
trivial_stop(struct trivial *t)
{
    event_base_loopbreak(t->base);
    pthread_join(t->thread, NULL);
    evhtp_unbind_socket(t->htp);
    evhtp_free(t->htp);
    event_base_free(t->base);
}

static void
compare_get_one(int port, const char *net_id)
{
    struct trivial t;
    size_t n_workers = 32, per = quick ? 100 : 2000;

    trivial_start(&t);
    for (int pass = 0; pass < 2; pass++) {
        struct worker *ws = xcalloc(n_workers, sizeof *ws);
        for (size_t i = 0; i < n_workers; i++) {
            client_init(&ws[i].c, pass ? t.port : port);
            ws[i].ids = xcalloc(1, sizeof *ws[i].ids);
            str_copy(ws[i].ids[0], net_id, UUID_STR_LEN);
            ws[i].n_ids = 1;
        }
        printf("%s: ", pass ? "trivial libevhtp handler" : "hadron-server");
        run_phase(ws, n_workers, OP_GET_ONE, per);
        for (size_t i = 0; i < n_workers; i++) {
            client_destroy(&ws[i].c);
            free(ws[i].ids);
            free(ws[i].lat_ms);
        }
        free(ws);
    }
    trivial_stop(&t);
}

int
main(int argc, char *argv[])
{
    quick = argc > 1 && !strcmp(argv[1], "--quick");
    curl_global_init(CURL_GLOBAL_ALL);

    /* No debug logging: the benchmark measures the server, not its log. */
    struct apitest_server *srv = apitest_server_start(
        "[DEFAULT]\ndebug = false\napi_workers = 2\n");
    srv->allow_errors = true;
    printf("hadron-server on %s, %d API workers\n",
           getenv("HADRON_TEST_ENGINE") ? getenv("HADRON_TEST_ENGINE")
                                        : "sqlite", 2);

    struct client c;
    char net_id[UUID_STR_LEN];
    client_init(&c, srv->port);
    client_do(&c, "POST", "/v2.0/networks",
              "{\"network\": {\"name\": \"bench-ports\"}}");
    answer_id(&c, "network", net_id);
    char body[256];
    snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": \"%s\", "
             "\"ip_version\": 4, \"cidr\": \"10.0.0.0/8\"}}", net_id);
    if (client_do(&c, "POST", "/v2.0/subnets", body) != 201) {
        fprintf(stderr, "bench: cannot create the port subnet: %s\n", c.buf);
    }
    client_destroy(&c);

    size_t levels[] = { 1, 8, 32 };
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
        run_level(srv->port, levels[i], net_id);
    }
    list_10k_ports(srv->port, net_id);
    compare_get_one(srv->port, net_id);

    apitest_server_stop(srv);
    curl_global_cleanup();
    return 0;
}
