/* tests/bench/bench_memory.c: the memory of hadron-server with a large
 * database, idle, under load and over a soak.
 *
 * Starts a real hadron-server (SQLite; then MariaDB too when
 * HADRON_TEST_MYSQL_URL is set) with the noop flavor, fills it through the
 * API with bulk creates (--ports ports on --networks networks, --routers
 * routers), and prints the server's RSS (VmRSS and VmHWM of
 * /proc/PID/status):
 *   - idle, after the fill;
 *   - under load: 32 clients of mixed reads (show, paged lists) and writes
 *     (port create/update/delete, router create/update/delete) for
 *     --load-seconds;
 *   - after a warm-up: the same mix for --warmup-seconds, so that what
 *     fills up once (statement caches, buffers at their largest values,
 *     the journal's completed rows kept for completed_retention, pages
 *     in SQLite's caches) has filled;
 *   - over a soak: the same mix for --soak-seconds, RSS sampled every
 *     --sample-seconds; prints the samples, the growth from the mean of
 *     the first third of the samples to the mean of the last third, and
 *     the least-squares trend in MiB per minute; the same for the heap in
 *     use (/metrics hadron_heap_in_use_bytes, malloc's count: a leak
 *     shows there, an allocator's fragmentation only in the RSS), with the
 *     statements the connections' caches hold.
 * The server must stop cleanly at the end (under an ASan build that means
 * no leak report: run it so to check for leaks).
 *
 *   bench_memory [--ports N] [--routers N] [--networks N]
 *                [--load-seconds N] [--warmup-seconds N]
 *                [--soak-seconds N] [--sample-seconds N]
 *                [--clients N] [--engine sqlite|mariadb]
 * Without --engine it runs SQLite, then MariaDB when HADRON_TEST_MYSQL_URL
 * is set.  At 100,000 ports give contrib/mariadb.sh's server a larger
 * buffer pool (HADRON_MARIADB_OPTS=--innodb-buffer-pool-size=256M): its
 * 64M thrashed ("Could not free any blocks in the buffer pool"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/bench/benchlib.h"
#include "tests/lib/apitest.h"

#define PROJECT "f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4"
#define BULK 200
#define OWN_PORTS 16            /* ports a worker keeps before deleting */
#define OWN_ROUTERS 4

static long n_ports = 100000;
static long n_routers = 10000;
static long n_networks = 10;
static long load_seconds = 60;
static long warmup_seconds = 300;
static long soak_seconds = 600;
static long sample_seconds = 30;
static long n_clients = 32;
static const char *only_engine;  /* --engine: run this one alone */

/* What the fill made (ids shared read-only by the workers). */
struct fill {
    char (*nets)[UUID_STR_LEN];
    char (*ports)[UUID_STR_LEN];
    char (*routers)[UUID_STR_LEN];
    long n_ports, n_routers;
};

static void
die(const struct bench_client *c, const char *what)
{
    fprintf(stderr, "bench_memory: %s failed: %.500s\n", what,
            c ? c->buf : "");
    exit(1);
}

/* VmRSS and VmHWM of 'pid' in KiB. */
static void
read_rss(pid_t pid, long *rss_kb, long *hwm_kb)
{
    char path[64], line[256];

    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        die(NULL, "reading /proc/PID/status");
    }
    *rss_kb = *hwm_kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            *rss_kb = strtol(line + 6, NULL, 10);
        } else if (!strncmp(line, "VmHWM:", 6)) {
            *hwm_kb = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
}

static void
print_rss(const char *engine, const char *when, pid_t pid)
{
    long rss, hwm;

    read_rss(pid, &rss, &hwm);
    printf("memory (%s): %-28s VmRSS %7.1f MiB, VmHWM %7.1f MiB\n", engine,
           when, (double) rss / 1024.0, (double) hwm / 1024.0);
    fflush(stdout);
}

/* Collects the ids of a bulk answer into 'ids'. */
static void
bulk_ids(const struct bench_client *c, const char *plural,
         char (*ids)[UUID_STR_LEN], long n)
{
    yajl_val v = yajl_tree_parse(c->buf, NULL, 0);
    yajl_val list = jpath(v, plural);

    if (!YAJL_IS_ARRAY(list) || (long) list->u.array.len != n) {
        die(c, plural);
    }
    for (long i = 0; i < n; i++) {
        str_copy(ids[i], jstr(list->u.array.values[i], "id"), UUID_STR_LEN);
    }
    yajl_tree_free(v);
}

/* Bulk-creates 'n' objects of 'plural' ('item' writes the i'th into
 * 'buf'), their ids into 'ids'. */
typedef int item_fn(char *buf, size_t size, long i, const struct fill *);

static void
bulk_create(struct bench_client *c, const char *plural, long n,
            item_fn *item, const struct fill *fill,
            char (*ids)[UUID_STR_LEN])
{
    size_t cap = BULK * 400 + 64;
    char *body = xmalloc(cap);
    char path[64];

    snprintf(path, sizeof path, "/v2.0/%s", plural);
    for (long start = 0; start < n; start += BULK) {
        long k = n - start < BULK ? n - start : BULK;
        size_t len = (size_t) snprintf(body, cap, "{\"%s\": [", plural);
        for (long i = start; i < start + k; i++) {
            if (i > start) {
                body[len++] = ',';
            }
            len += (size_t) item(body + len, cap - len, i, fill);
        }
        snprintf(body + len, cap - len, "]}");
        if (bench_client_do(c, "POST", path, body) != 201) {
            die(c, plural);
        }
        bulk_ids(c, plural, &ids[start], k);
    }
    free(body);
}

static int
net_item(char *buf, size_t size, long i, const struct fill *fill)
{
    (void) fill;
    return snprintf(buf, size, "{\"name\": \"mem-%ld\"}", i);
}

static int
subnet_item(char *buf, size_t size, long i, const struct fill *fill)
{
    return snprintf(buf, size, "{\"network_id\": \"%s\", \"ip_version\": 4, "
                    "\"cidr\": \"10.%ld.0.0/16\"}", fill->nets[i], i);
}

static int
port_item(char *buf, size_t size, long i, const struct fill *fill)
{
    return snprintf(buf, size, "{\"network_id\": \"%s\", \"device_owner\": "
                    "\"compute:nova\", \"device_id\": \"vm-%ld\", "
                    "\"name\": \"p%ld\"}", fill->nets[i % n_networks], i, i);
}

static int
router_item(char *buf, size_t size, long i, const struct fill *fill)
{
    (void) fill;
    return snprintf(buf, size, "{\"name\": \"r%ld\"}", i);
}

/* ---- The mixed load ---- */

struct worker {
    const struct fill *fill;
    int port;
    unsigned int seed;
    uint64_t deadline_usec;
    long ops, failures;
    char own_ports[OWN_PORTS][UUID_STR_LEN];
    char own_routers[OWN_ROUTERS][UUID_STR_LEN];
    int n_own_ports, n_own_routers;
};

static bool
expect(struct bench_client *c, const char *method, const char *path,
       const char *body, long status, struct worker *w)
{
    long got = bench_client_do(c, method, path, body);
    w->ops++;
    if (got != status) {
        if (w->failures++ < 3) {
            fprintf(stderr, "bench_memory: %s %s: %ld %.300s\n", method,
                    path, got, c->buf);
        }
        return false;
    }
    return true;
}

/* One operation of the mix: 60% reads (40% a port, 15% a router, 5% a
 * page of ports or routers or the networks), 40% writes (port create,
 * update, delete; router create, update, delete), each worker keeping a
 * few objects of its own that it deletes again.  The pages are few: under
 * load a page of ports after a marker takes seconds with 100,000 ports. */
static void
one_op(struct bench_client *c, struct worker *w)
{
    const struct fill *f = w->fill;
    unsigned int r = (unsigned int) rand_r(&w->seed) % 100;
    char path[160], body[300];

    if (r < 40) {
        snprintf(path, sizeof path, "/v2.0/ports/%s",
                 f->ports[rand_r(&w->seed) % f->n_ports]);
        expect(c, "GET", path, NULL, 200, w);
    } else if (r < 55) {
        snprintf(path, sizeof path, "/v2.0/routers/%s",
                 f->routers[rand_r(&w->seed) % f->n_routers]);
        expect(c, "GET", path, NULL, 200, w);
    } else if (r < 58) {
        snprintf(path, sizeof path, "/v2.0/ports?limit=50&marker=%s",
                 f->ports[rand_r(&w->seed) % f->n_ports]);
        expect(c, "GET", path, NULL, 200, w);
    } else if (r < 59) {
        expect(c, "GET", "/v2.0/routers?limit=50", NULL, 200, w);
    } else if (r < 60) {
        expect(c, "GET", "/v2.0/networks", NULL, 200, w);
    } else if (r < 75) {
        if (w->n_own_ports == OWN_PORTS) {
            snprintf(path, sizeof path, "/v2.0/ports/%s", w->own_ports[0]);
            expect(c, "DELETE", path, NULL, 204, w);
            memmove(w->own_ports[0], w->own_ports[1],
                    (OWN_PORTS - 1) * sizeof w->own_ports[0]);
            w->n_own_ports--;
        }
        snprintf(body, sizeof body, "{\"port\": {\"network_id\": \"%s\", "
                 "\"name\": \"soak\"}}",
                 f->nets[rand_r(&w->seed) % n_networks]);
        if (expect(c, "POST", "/v2.0/ports", body, 201, w)
            && bench_answer_id(c, "port", w->own_ports[w->n_own_ports])) {
            w->n_own_ports++;
        }
    } else if (r < 88) {
        snprintf(path, sizeof path, "/v2.0/ports/%s",
                 w->n_own_ports ? w->own_ports[rand_r(&w->seed)
                                               % w->n_own_ports]
                 : f->ports[rand_r(&w->seed) % f->n_ports]);
        snprintf(body, sizeof body, "{\"port\": {\"name\": \"u%u\"}}",
                 (unsigned int) rand_r(&w->seed));
        expect(c, "PUT", path, body, 200, w);
    } else if (r < 94) {
        if (w->n_own_routers == OWN_ROUTERS) {
            snprintf(path, sizeof path, "/v2.0/routers/%s",
                     w->own_routers[0]);
            expect(c, "DELETE", path, NULL, 204, w);
            memmove(w->own_routers[0], w->own_routers[1],
                    (OWN_ROUTERS - 1) * sizeof w->own_routers[0]);
            w->n_own_routers--;
        }
        if (expect(c, "POST", "/v2.0/routers",
                   "{\"router\": {\"name\": \"soak\"}}", 201, w)
            && bench_answer_id(c, "router",
                               w->own_routers[w->n_own_routers])) {
            w->n_own_routers++;
        }
    } else {
        snprintf(path, sizeof path, "/v2.0/routers/%s",
                 f->routers[rand_r(&w->seed) % f->n_routers]);
        snprintf(body, sizeof body, "{\"router\": {\"name\": \"u%u\"}}",
                 (unsigned int) rand_r(&w->seed));
        expect(c, "PUT", path, body, 200, w);
    }
}

static void *
worker_main(void *w_)
{
    struct worker *w = w_;
    struct bench_client c;

    bench_client_init(&c, w->port, PROJECT);
    while (time_monotonic_usec() < w->deadline_usec) {
        one_op(&c, w);
    }
    /* Leave the database as the fill made it. */
    for (int i = 0; i < w->n_own_ports; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v2.0/ports/%s", w->own_ports[i]);
        expect(&c, "DELETE", path, NULL, 204, w);
    }
    for (int i = 0; i < w->n_own_routers; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v2.0/routers/%s", w->own_routers[i]);
        expect(&c, "DELETE", path, NULL, 204, w);
    }
    w->n_own_ports = w->n_own_routers = 0;
    bench_client_destroy(&c);
    return NULL;
}

/* Runs the mix with n_clients workers for 'seconds'; every
 * 'sample_every' seconds (0: never) calls 'sample'. */
static void
run_mix(const struct fill *fill, int port, long seconds, long sample_every,
        void (*sample)(long t, void *), void *aux, long *ops, long *failures)
{
    struct worker *ws = xcalloc((size_t) n_clients, sizeof *ws);
    pthread_t *threads = xcalloc((size_t) n_clients, sizeof *threads);
    uint64_t start = time_monotonic_usec();

    for (long i = 0; i < n_clients; i++) {
        ws[i].fill = fill;
        ws[i].port = port;
        ws[i].seed = (unsigned int) (i * 7919 + 17);
        ws[i].deadline_usec = start + (uint64_t) seconds * 1000000;
        pthread_create(&threads[i], NULL, worker_main, &ws[i]);
    }
    for (long t = sample_every; sample_every && t <= seconds;
         t += sample_every) {
        uint64_t at = start + (uint64_t) t * 1000000;
        uint64_t now = time_monotonic_usec();
        if (at > now) {
            struct timespec ts = { (time_t) ((at - now) / 1000000),
                                   (long) ((at - now) % 1000000) * 1000 };
            nanosleep(&ts, NULL);
        }
        sample(t, aux);
    }
    *ops = *failures = 0;
    for (long i = 0; i < n_clients; i++) {
        pthread_join(threads[i], NULL);
        *ops += ws[i].ops;
        *failures += ws[i].failures;
    }
    free(ws);
    free(threads);
}

struct samples {
    pid_t pid;
    const char *engine;
    const char *db_path;        /* SQLite: the database file, or NULL */
    long *rss_kb;
    size_t n;
    struct apitest_server *srv; /* for /metrics, or NULL */
    long *heap_kb;              /* hadron_heap_in_use_bytes per sample */
};

static double
file_mib(const char *path, const char *suffix)
{
    char name[PATH_MAX];
    struct stat st;

    snprintf(name, sizeof name, "%s%s", path, suffix);
    return stat(name, &st) ? 0.0 : (double) st.st_size / 1048576.0;
}

static void
take_sample(long t, void *aux)
{
    struct samples *s = aux;
    long rss, hwm;

    read_rss(s->pid, &rss, &hwm);
    s->rss_kb = xrealloc(s->rss_kb, (s->n + 1) * sizeof *s->rss_kb);
    s->rss_kb[s->n++] = rss;
    printf("memory (%s): soak t=%4lds VmRSS %7.1f MiB, VmHWM %7.1f MiB",
           s->engine, t, (double) rss / 1024.0, (double) hwm / 1024.0);
    if (s->srv) {
        /* The heap in use tells a leak from fragmentation; the statements
         * a cache still filling. */
        struct apitest_resp *m = api_get(s->srv, "/metrics");
        double heap = apitest_metric(m->body, "hadron_heap_in_use_bytes");
        s->heap_kb = xrealloc(s->heap_kb, s->n * sizeof *s->heap_kb);
        s->heap_kb[s->n - 1] = (long) (heap / 1024.0);
        printf(", heap in use %6.1f MiB, statements %4.0f cached, %5.0f "
               "prepared, journal %g pending", heap / 1048576.0,
               apitest_metric(m->body, "hadron_db_statements_cached"),
               apitest_metric(m->body, "hadron_db_statements_prepared_total"),
               apitest_metric(m->body, "hadron_journal_pending{driver="
                              "\"noop\"}"));
        apitest_resp_free(m);
    }
    if (s->db_path) {
        printf(", database %.1f MiB, WAL %.1f MiB", file_mib(s->db_path, ""),
               file_mib(s->db_path, "-wal"));
    }
    printf("\n");
    fflush(stdout);
}

/* Under load: keeps the highest VmRSS seen in the one sample of 'aux'. */
static void
take_sample_quiet(long t, void *aux)
{
    struct samples *s = aux;
    long rss, hwm;

    (void) t;
    read_rss(s->pid, &rss, &hwm);
    if (!s->n || rss > s->rss_kb[0]) {
        s->rss_kb = xrealloc(s->rss_kb, sizeof *s->rss_kb);
        s->rss_kb[0] = rss;
        s->n = 1;
    }
}

/* Least-squares slope of 'kb' (one sample every 'every' seconds) in MiB
 * per minute. */
static double
slope_mib_per_min(const long *kb, size_t n, long every)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;

    for (size_t i = 0; i < n; i++) {
        double x = (double) i * (double) every / 60.0;
        double y = (double) kb[i] / 1024.0;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    double d = (double) n * sxx - sx * sx;
    return n > 1 && d ? ((double) n * sxy - sx * sy) / d : 0.0;
}

static double
mean_mib(const long *kb, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double) kb[i];
    }
    return n ? sum / (double) n / 1024.0 : 0;
}

static void
run_engine(const char *engine)
{
    struct fill fill = { 0 };
    struct bench_client c;
    uint64_t t0 = time_monotonic_usec();

    setenv("HADRON_TEST_ENGINE", engine, 1);
    struct apitest_server *srv = apitest_server_start(
        "[DEFAULT]\ndebug = false\napi_workers = 4\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:noop:noop:default\n");
    print_rss(engine, "started, empty", srv->pid);

    bench_client_init(&c, srv->port, PROJECT);
    fill.nets = xcalloc((size_t) n_networks, sizeof *fill.nets);
    fill.ports = xcalloc((size_t) n_ports, sizeof *fill.ports);
    fill.routers = xcalloc((size_t) n_routers, sizeof *fill.routers);
    char (*subnets)[UUID_STR_LEN] = xcalloc((size_t) n_networks,
                                            sizeof *subnets);
    bulk_create(&c, "networks", n_networks, net_item, &fill, fill.nets);
    bulk_create(&c, "subnets", n_networks, subnet_item, &fill, subnets);
    bulk_create(&c, "ports", n_ports, port_item, &fill, fill.ports);
    bulk_create(&c, "routers", n_routers, router_item, &fill, fill.routers);
    fill.n_ports = n_ports;
    fill.n_routers = n_routers;
    bench_client_destroy(&c);
    free(subnets);
    printf("memory (%s): filled %ld ports on %ld networks and %ld routers "
           "in %.1f s\n", engine, n_ports, n_networks, n_routers,
           (double) (time_monotonic_usec() - t0) / 1e6);

    /* The fill leaves a journal entry per router, which the noop driver
     * applies into its own model of the routers: until they are all
     * applied its memory grows, and a soak would measure the backlog
     * (on MariaDB under load it drained for more than 10 minutes). */
    uint64_t drain0 = time_monotonic_usec();
    double pending;
    while ((pending = apitest_scrape(srv, "hadron_journal_pending{driver="
                                     "\"noop\"}")) > 0
           && time_monotonic_usec() - drain0 < 1800 * 1000000ull) {
        struct timespec tick = { 1, 0 };
        nanosleep(&tick, NULL);
    }
    printf("memory (%s): journal drained in %.1f s (%g entries left)\n",
           engine, (double) (time_monotonic_usec() - drain0) / 1e6,
           pending);
    struct timespec settle = { 2, 0 };
    nanosleep(&settle, NULL);
    print_rss(engine, "idle, filled", srv->pid);

    /* Single requests on the idle server, for scale. */
    bench_client_init(&c, srv->port, PROJECT);
    for (int i = 0; i < 2; i++) {
        char path[160];
        snprintf(path, sizeof path, "/v2.0/ports%s%s", i ? "?limit=50&marker="
                 : "/", fill.ports[n_ports / 2]);
        uint64_t start = time_monotonic_usec();
        long status = bench_client_do(&c, "GET", path, NULL);
        printf("memory (%s): idle GET /v2.0/ports%s: %ld in %.1f ms\n",
               engine, i ? "?limit=50&marker=ID" : "/ID", status,
               (double) (time_monotonic_usec() - start) / 1000.0);
    }
    bench_client_destroy(&c);

    long ops, failures;
    const char *sqlite = "sqlite:///";
    struct samples s = { srv->pid, engine,
                         strncmp(srv->db_url, sqlite, strlen(sqlite)) ? NULL
                         : srv->db_url + strlen(sqlite), NULL, 0, srv,
                         NULL };
    struct samples peak = { srv->pid, engine, NULL, NULL, 0, NULL, NULL };
    run_mix(&fill, srv->port, load_seconds, 1, take_sample_quiet, &peak,
            &ops, &failures);
    printf("memory (%s): under load (%ld clients, %ld s, %ld ops, %.0f "
           "ops/s, %ld failures): VmRSS peak %.1f MiB\n", engine, n_clients,
           load_seconds, ops, (double) ops / (double) load_seconds, failures,
           peak.n ? (double) peak.rss_kb[0] / 1024.0 : 0.0);
    free(peak.rss_kb);
    print_rss(engine, "after the load", srv->pid);
    if (warmup_seconds) {
        run_mix(&fill, srv->port, warmup_seconds, 0, NULL, NULL, &ops,
                &failures);
        printf("memory (%s): warm-up (%ld s, %.0f ops/s, %ld failures)\n",
               engine, warmup_seconds, (double) ops / (double) warmup_seconds,
               failures);
        print_rss(engine, "after the warm-up", srv->pid);
        if (failures) {
            exit(1);
        }
    }

    run_mix(&fill, srv->port, soak_seconds, sample_seconds, take_sample, &s,
            &ops, &failures);
    size_t third = s.n / 3 ? s.n / 3 : 1;
    double first = mean_mib(s.rss_kb, third);
    double last = mean_mib(s.rss_kb + s.n - third, third);
    printf("memory (%s): soak %ld s, %ld ops (%.0f ops/s), %ld failures, "
           "%zu samples: first third %.1f MiB, last third %.1f MiB, growth "
           "%+.1f MiB (%+.1f%%)\n", engine, soak_seconds, ops,
           (double) ops / (double) soak_seconds, failures, s.n, first, last,
           last - first, first ? 100.0 * (last - first) / first : 0.0);
    size_t half = s.n / 2;
    printf("memory (%s): soak trend: %+.3f MiB/min over all samples, "
           "%+.3f MiB/min over the second half\n", engine,
           slope_mib_per_min(s.rss_kb, s.n, sample_seconds),
           slope_mib_per_min(s.rss_kb + half, s.n - half, sample_seconds));
    printf("memory (%s): heap in use: first third %.1f MiB, last third "
           "%.1f MiB; trend %+.3f MiB/min over all samples, %+.3f MiB/min "
           "over the second half\n", engine, mean_mib(s.heap_kb, third),
           mean_mib(s.heap_kb + s.n - third, third),
           slope_mib_per_min(s.heap_kb, s.n, sample_seconds),
           slope_mib_per_min(s.heap_kb + half, s.n - half, sample_seconds));
    print_rss(engine, "after the soak", srv->pid);
    fflush(stdout);

    int status = apitest_server_stop(srv);
    printf("memory (%s): server stopped with status %d%s\n", engine, status,
           status ? "" : " (no error or sanitizer report in its log)");
    free(s.rss_kb);
    free(s.heap_kb);
    free(fill.nets);
    free(fill.ports);
    free(fill.routers);
    if (status || failures) {
        exit(1);
    }
}

static long
arg_long(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_memory: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return strtol(argv[++*i], NULL, 10);
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ports")) {
            n_ports = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--routers")) {
            n_routers = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--networks")) {
            n_networks = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--load-seconds")) {
            load_seconds = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--warmup-seconds")) {
            warmup_seconds = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--soak-seconds")) {
            soak_seconds = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--sample-seconds")) {
            sample_seconds = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--clients")) {
            n_clients = arg_long(argc, argv, &i);
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc
                   && (!strcmp(argv[i + 1], "sqlite")
                       || !strcmp(argv[i + 1], "mariadb"))) {
            only_engine = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_memory [--ports N] [--routers N] "
                    "[--networks N] [--load-seconds N] "
                    "[--warmup-seconds N] [--soak-seconds N] "
                    "[--sample-seconds N] [--clients N] "
                    "[--engine sqlite|mariadb]\n");
            return 2;
        }
    }
    if (n_ports < 1 || n_routers < 1 || n_networks < 1 || n_networks > 250
        || n_ports / n_networks > 65000 || load_seconds < 1
        || warmup_seconds < 0
        || soak_seconds < 1 || sample_seconds < 1 || n_clients < 1) {
        fprintf(stderr, "bench_memory: bad sizes (1-250 networks, at most "
                "65000 ports per network)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    if (only_engine && !strcmp(only_engine, "mariadb")
        && !getenv("HADRON_TEST_MYSQL_URL")) {
        fprintf(stderr, "bench_memory: --engine mariadb needs "
                "HADRON_TEST_MYSQL_URL\n");
        return 2;
    }
    if (!only_engine || !strcmp(only_engine, "sqlite")) {
        run_engine("sqlite");
    }
    if ((!only_engine || !strcmp(only_engine, "mariadb"))
        && getenv("HADRON_TEST_MYSQL_URL")) {
        run_engine("mariadb");
    }
    curl_global_cleanup();
    return 0;
}
