/* tests/bench/benchlib.h: what the API benchmarks share: a keep-alive
 * HTTP client (libcurl easy handle, one per thread) and a phase runner
 * that drives N concurrent clients through one operation and prints
 * ops/s, p50 and p99. */
#ifndef HADRON_BENCHLIB_H
#define HADRON_BENCHLIB_H 1

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

struct curl_slist;

struct bench_client {
    void *curl;                 /* CURL * */
    struct curl_slist *headers;
    char *buf;                  /* the last answer's body, NUL-terminated */
    size_t len, cap;
    int port;
};

/* A client of the server on 127.0.0.1:'port', as project 'project' with
 * the member role, or as an admin when 'project' is NULL.  A 'project'
 * with a ':' is a header line sent instead ("X-Auth-Token: ..."). */
void bench_client_init(struct bench_client *, int port, const char *project);
void bench_client_destroy(struct bench_client *);

/* One request ('body' may be NULL); returns the HTTP status (0 when the
 * request failed), the body in c->buf. */
long bench_client_do(struct bench_client *, const char *method,
                     const char *path, const char *body);

/* The "id" of the object under "<key>" in the last answer, copied into
 * 'id'.  Returns false if there is none. */
bool bench_answer_id(const struct bench_client *, const char *key,
                     char id[UUID_STR_LEN]);

/* One operation of a phase: worker 'worker' (0-based) runs its 'i'th
 * operation with its own client.  Returns true on success (a failure is
 * counted, and the first few print the answer). */
typedef bool bench_op_fn(struct bench_client *, size_t worker, size_t i,
                         void *aux);

struct bench_result {
    size_t ops;
    int failures;
    double ops_per_sec;
    double p50_ms, p99_ms;
};

/* Runs 'per_worker' operations on each of 'n_workers' threads at once
 * (each with a client as 'project') and prints one line named 'name'. */
void bench_run(const char *name, int port, const char *project,
               size_t n_workers, size_t per_worker, bench_op_fn *,
               void *aux, struct bench_result *);

/* Prints one line of figures for latencies measured elsewhere. */
void bench_print(const char *name, size_t n_workers, double *lat_ms,
                 size_t n, double secs, int failures,
                 struct bench_result *);

#endif /* tests/bench/benchlib.h */
