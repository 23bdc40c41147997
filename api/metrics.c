/* api/metrics.c: see metrics.h. */
#include "api/metrics.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/json.h"
#include "api/request.h"
#include "api/server.h"
#include "core/journal.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"

/* Latency buckets (upper bounds in microseconds); the last is +Inf. */
static const uint64_t bucket_usec[] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000,
};
#define N_BUCKETS (ARRAY_SIZE(bucket_usec) + 1)

/* The statuses the API answers; anything else counts as "other" (0). */
static const int statuses[] = {
    0, 200, 201, 202, 204, 300, 400, 401, 403, 404, 405, 406, 409, 412,
    413, 414, 415, 500, 501, 503,
};
#define N_STATUSES ARRAY_SIZE(statuses)

static const struct { unsigned int bit; const char *name; } methods[] = {
    { API_GET, "GET" }, { API_POST, "POST" }, { API_PUT, "PUT" },
    { API_DELETE, "DELETE" }, { API_HEAD, "HEAD" }, { API_PATCH, "PATCH" },
    { API_OTHER, "OTHER" },
};
#define N_METHODS ARRAY_SIZE(methods)

struct slot {
    uint64_t count;
    uint64_t sum_usec;
    uint64_t buckets[N_BUCKETS];    /* not cumulative */
};

/* Slot (route + 1) * N_METHODS * N_STATUSES + method * N_STATUSES + status;
 * route -1 (nothing matched, or a route registered after init) is row 0. */
static struct slot *slots;
static size_t n_route_rows;
static const struct api_server *server;

void
metrics_init(const struct api_server *srv)
{
    server = srv;
    if (!slots) {
        n_route_rows = api_routes_count() + 1;
        slots = xzalloc(n_route_rows * N_METHODS * N_STATUSES
                        * sizeof *slots);
    }
}

static size_t
status_index(int status)
{
    for (size_t i = 1; i < N_STATUSES; i++) {
        if (statuses[i] == status) {
            return i;
        }
    }
    return 0;
}

static size_t
method_index(unsigned int method)
{
    for (size_t i = 0; i < N_METHODS; i++) {
        if (methods[i].bit == method) {
            return i;
        }
    }
    return N_METHODS - 1;
}

void
metrics_observe(int route_index, unsigned int method, int status,
                uint64_t usec)
{
    if (!slots) {
        return;
    }
    size_t row = route_index >= 0 && (size_t) route_index + 1 < n_route_rows
                 ? (size_t) route_index + 1 : 0;
    struct slot *s = &slots[(row * N_METHODS + method_index(method))
                            * N_STATUSES + status_index(status)];
    size_t b = 0;

    while (b < ARRAY_SIZE(bucket_usec) && usec > bucket_usec[b]) {
        b++;
    }
    __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->sum_usec, usec, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->buckets[b], 1, __ATOMIC_RELAXED);
}

bool
metrics_path_is_public(const char *path)
{
    return path && (!strcmp(path, "/healthcheck") || !strcmp(path, "/metrics"));
}

/* A growing text buffer. */
struct text {
    char *s;
    size_t len, cap;
};

static void text_printf(struct text *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list args;
        va_start(args, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, args);
        va_end(args);
        if (n >= 0 && (size_t) n < t->cap - t->len) {
            t->len += n;
            return;
        }
        t->cap = t->cap * 2 + (n > 0 ? (size_t) n : 0) + 256;
        t->s = xrealloc(t->s, t->cap);
    }
}

/* Writes 's' as a Prometheus label value (escapes \ " and newline). */
static void
text_label(struct text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            text_printf(t, "\\%c", *s);
        } else if (*s == '\n') {
            text_printf(t, "\\n");
        } else {
            text_printf(t, "%c", *s);
        }
    }
}

static const char *
route_pattern(size_t row)
{
    return row ? api_route_at(row - 1)->pattern : "unmatched";
}

static void
write_labels(struct text *t, size_t row, size_t m, size_t st)
{
    text_printf(t, "{route=\"");
    text_label(t, route_pattern(row));
    text_printf(t, "\",method=\"%s\",status=\"", methods[m].name);
    if (statuses[st]) {
        text_printf(t, "%d\"", statuses[st]);
    } else {
        text_printf(t, "other\"");
    }
}

static void
write_requests(struct text *t)
{
    text_printf(t, "# HELP hadron_http_requests_total Requests answered, "
                "by route pattern, method and status.\n"
                "# TYPE hadron_http_requests_total counter\n");
    size_t n = slots ? n_route_rows * N_METHODS * N_STATUSES : 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t count = __atomic_load_n(&slots[i].count, __ATOMIC_RELAXED);
        if (count) {
            text_printf(t, "hadron_http_requests_total");
            write_labels(t, i / (N_METHODS * N_STATUSES),
                         i / N_STATUSES % N_METHODS, i % N_STATUSES);
            text_printf(t, "} %llu\n", (unsigned long long) count);
        }
    }

    text_printf(t, "# HELP hadron_http_request_duration_seconds Request "
                "latency, by route pattern, method and status.\n"
                "# TYPE hadron_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &slots[i];
        size_t row = i / (N_METHODS * N_STATUSES);
        size_t m = i / N_STATUSES % N_METHODS;
        size_t st = i % N_STATUSES;
        if (!__atomic_load_n(&s->count, __ATOMIC_RELAXED)) {
            continue;
        }
        /* Read the buckets first: count is then the sum of what we
         * report, so the series stays consistent under concurrent
         * requests. */
        uint64_t cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += __atomic_load_n(&s->buckets[b], __ATOMIC_RELAXED);
            text_printf(t, "hadron_http_request_duration_seconds_bucket");
            write_labels(t, row, m, st);
            if (b < ARRAY_SIZE(bucket_usec)) {
                text_printf(t, ",le=\"%g\"} %llu\n", bucket_usec[b] / 1e6,
                            (unsigned long long) cumulative);
            } else {
                text_printf(t, ",le=\"+Inf\"} %llu\n",
                            (unsigned long long) cumulative);
            }
        }
        text_printf(t, "hadron_http_request_duration_seconds_sum");
        write_labels(t, row, m, st);
        text_printf(t, "} %.6f\n",
                    __atomic_load_n(&s->sum_usec, __ATOMIC_RELAXED) / 1e6);
        text_printf(t, "hadron_http_request_duration_seconds_count");
        write_labels(t, row, m, st);
        text_printf(t, "} %llu\n", (unsigned long long) cumulative);
    }
}

static void
write_providers(struct text *t, struct db *db)
{
    size_t n = l3_provider_count();

    text_printf(t, "# HELP hadron_journal_pending Journal rows waiting for "
                "their driver.\n# TYPE hadron_journal_pending gauge\n");
    for (size_t pass = 0; pass < 2; pass++) {
        if (pass) {
            text_printf(t, "# HELP hadron_journal_oldest_age_seconds Age "
                        "of the oldest pending journal row.\n"
                        "# TYPE hadron_journal_oldest_age_seconds gauge\n");
        }
        for (size_t i = 0; i < n; i++) {
            const char *name = l3_provider_name(l3_provider_at(i));
            int64_t pending = 0, age = 0;
            struct neutron_error *e = db ? journal_depth(db, name, &pending,
                                                         &age)
                                         : NULL;
            neutron_error_destroy(e);
            text_printf(t, pass ? "hadron_journal_oldest_age_seconds"
                                  "{driver=\""
                                : "hadron_journal_pending{driver=\"");
            text_label(t, name);
            text_printf(t, "\"} %lld\n",
                        (long long) (pass ? age : pending));
        }
    }

    text_printf(t, "# HELP hadron_driver_up 1 if the L3 driver reported "
                "itself healthy at its last check (every [journal] "
                "health_interval_ms).\n# TYPE hadron_driver_up gauge\n");
    for (size_t i = 0; i < n; i++) {
        const struct l3_provider *p = l3_provider_at(i);
        bool up = l3_provider_was_healthy(p);
        text_printf(t, "hadron_driver_up{driver=\"");
        text_label(t, l3_provider_name(p));
        text_printf(t, "\",class=\"");
        text_label(t, l3_provider_driver_name(p));
        text_printf(t, "\"} %d\n", up ? 1 : 0);
    }

    static const char *const stat_names[] = {
        "validate_calls", "validate_refused", "apply_ok", "apply_retry",
        "apply_failed", "sync_calls", "sync_failed", "health_calls",
        "health_bad",
    };
    text_printf(t, "# HELP hadron_driver_ops_total Calls into the L3 "
                "drivers, by outcome.\n"
                "# TYPE hadron_driver_ops_total counter\n");
    for (size_t i = 0; i < n; i++) {
        const struct l3_provider *p = l3_provider_at(i);
        struct l3_provider_stats st;
        l3_provider_get_stats(p, &st);
        const uint64_t values[] = {
            st.validate_calls, st.validate_refused, st.apply_ok,
            st.apply_retry, st.apply_failed, st.sync_calls, st.sync_failed,
            st.health_calls, st.health_bad,
        };
        for (size_t k = 0; k < ARRAY_SIZE(values); k++) {
            text_printf(t, "hadron_driver_ops_total{driver=\"");
            text_label(t, l3_provider_name(p));
            text_printf(t, "\",op=\"%s\"} %llu\n", stat_names[k],
                        (unsigned long long) values[k]);
        }
    }
}

/* Figures to tell a leak from the allocator's fragmentation or a cache
 * still filling, when the RSS rises. */
static void
write_memory(struct text *t)
{
    struct db_stats st;
    struct mallinfo2 mi = mallinfo2();

    db_get_stats(&st);
    text_printf(t, "# HELP hadron_heap_in_use_bytes Bytes malloc has handed "
                "out and not got back (mallinfo2 uordblks + hblkhd).\n"
                "# TYPE hadron_heap_in_use_bytes gauge\n"
                "hadron_heap_in_use_bytes %zu\n"
                "# HELP hadron_db_statements_cached Prepared statements "
                "held by the database connections' caches.\n"
                "# TYPE hadron_db_statements_cached gauge\n"
                "hadron_db_statements_cached %ld\n"
                "# HELP hadron_db_statements_prepared_total Statements "
                "prepared (cache misses) since start.\n"
                "# TYPE hadron_db_statements_prepared_total counter\n"
                "hadron_db_statements_prepared_total %ld\n",
                mi.uordblks + mi.hblkhd, st.statements_cached,
                st.statements_prepared);
}

static struct neutron_error *
show_metrics(struct api_request *req, const void *aux)
{
    struct text t = { xmalloc(16384), 0, 16384 };

    write_requests(&t);
    write_providers(&t, req->db);
    write_memory(&t);
    if (server) {
        text_printf(&t, "# HELP hadron_db_connections Database "
                    "connections open (one per API worker).\n"
                    "# TYPE hadron_db_connections gauge\n"
                    "hadron_db_connections %d\n"
                    "# HELP hadron_db_connections_in_use Connections "
                    "serving a request now (this scrape included).\n"
                    "# TYPE hadron_db_connections_in_use gauge\n"
                    "hadron_db_connections_in_use %d\n",
                    api_server_db_connections(server),
                    api_server_in_flight(server));
    }
    req->text_body = t.s;
    req->text_len = t.len;
    req->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return NULL;
}

static struct neutron_error *
show_health(struct api_request *req, const void *aux)
{
    int version = 0;
    bool ok = req->db && db_schema_version(req->db, &version) == DB_OK;

    yajl_gen_map_open(req->out);
    json_kv_str(req->out, "status", ok ? "OK" : "DOWN");
    json_kv_str(req->out, "database",
                ok ? "OK" : req->db ? db_errmsg(req->db) : "not connected");
    yajl_gen_map_close(req->out);
    req->status = ok ? 200 : 503;
    return NULL;
}

static const struct api_route metrics_routes[] = {
    { "/healthcheck", API_GET | API_HEAD, show_health, NULL },
    { "/metrics", API_GET, show_metrics, NULL },
};

void
metrics_register_routes(void)
{
    api_routes_register(metrics_routes, ARRAY_SIZE(metrics_routes));
}
