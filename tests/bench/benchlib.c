/* tests/bench/benchlib.c: see benchlib.h. */
#include "tests/bench/benchlib.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
    struct bench_client *c = arg;
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

void
bench_client_init(struct bench_client *c, int port, const char *project)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (project && strchr(project, ':')) {
        c->headers = curl_slist_append(c->headers, project);
    } else if (project) {
        char h[300];
        snprintf(h, sizeof h, "X-Project-Id: %s", project);
        c->headers = curl_slist_append(c->headers, h);
        c->headers = curl_slist_append(c->headers, "X-Roles: member");
    }
    c->headers = curl_slist_append(c->headers, "Expect:");
    c->buf = xstrdup("");
    c->cap = 1;
}

void
bench_client_destroy(struct bench_client *c)
{
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->curl);
    free(c->buf);
}

long
bench_client_do(struct bench_client *c, const char *method, const char *path,
                const char *body)
{
    char url[512];
    long status = 0;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    c->len = 0;
    c->buf[0] = '\0';
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

bool
bench_answer_id(const struct bench_client *c, const char *key,
                char id[UUID_STR_LEN])
{
    char quoted[64];

    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(c->buf, quoted);
    p = p ? strstr(p, "\"id\":\"") : NULL;
    if (!p || strlen(p + 6) < 36) {
        return false;
    }
    memcpy(id, p + 6, 36);
    id[36] = '\0';
    return true;
}

struct worker {
    pthread_t thread;
    struct bench_client c;
    size_t index, n;
    bench_op_fn *fn;
    void *aux;
    double *lat_ms;
    int failures;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    for (size_t i = 0; i < w->n; i++) {
        uint64_t start = time_monotonic_usec();
        bool ok = w->fn(&w->c, w->index, i, w->aux);
        w->lat_ms[i] = (time_monotonic_usec() - start) / 1000.0;
        if (!ok && w->failures++ < 3) {
            fprintf(stderr, "bench: worker %zu op %zu failed: %.300s\n",
                    w->index, i, w->c.buf);
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

void
bench_print(const char *name, size_t n_workers, double *lat_ms, size_t n,
            double secs, int failures, struct bench_result *out)
{
    struct bench_result res = { .ops = n, .failures = failures };

    qsort(lat_ms, n, sizeof *lat_ms, cmp_double);
    res.ops_per_sec = secs > 0 ? n / secs : 0;
    res.p50_ms = n ? lat_ms[n / 2] : 0;
    res.p99_ms = n ? lat_ms[(size_t) (n * 0.99)] : 0;
    printf("%-22s %3zu clients %7zu ops %9.0f ops/s  p50 %8.3f ms  p99 "
           "%8.3f ms%s\n", name, n_workers, n, res.ops_per_sec, res.p50_ms,
           res.p99_ms, failures ? "  (FAILURES)" : "");
    fflush(stdout);
    if (out) {
        *out = res;
    }
}

void
bench_run(const char *name, int port, const char *project, size_t n_workers,
          size_t per_worker, bench_op_fn *fn, void *aux,
          struct bench_result *out)
{
    struct worker *ws = xcalloc(n_workers, sizeof *ws);
    int failures = 0;

    for (size_t i = 0; i < n_workers; i++) {
        bench_client_init(&ws[i].c, port, project);
        ws[i].index = i;
        ws[i].n = per_worker;
        ws[i].fn = fn;
        ws[i].aux = aux;
        ws[i].lat_ms = xcalloc(per_worker + 1, sizeof *ws[i].lat_ms);
    }
    uint64_t start = time_monotonic_usec();
    for (size_t i = 0; i < n_workers; i++) {
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    }
    for (size_t i = 0; i < n_workers; i++) {
        pthread_join(ws[i].thread, NULL);
        failures += ws[i].failures;
    }
    double secs = (time_monotonic_usec() - start) / 1e6;
    size_t total = n_workers * per_worker;
    double *all = xcalloc(total + 1, sizeof *all);
    for (size_t i = 0; i < n_workers; i++) {
        memcpy(all + i * per_worker, ws[i].lat_ms,
               per_worker * sizeof *all);
        bench_client_destroy(&ws[i].c);
        free(ws[i].lat_ms);
    }
    bench_print(name, n_workers, all, total, secs, failures, out);
    free(all);
    free(ws);
}
