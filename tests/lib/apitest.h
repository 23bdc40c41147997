/* tests/lib/apitest.h: API tests against a real hadron-server.
 *
 * apitest_server_start() writes a configuration (port 0, a fresh database
 * of the engine under test, a log file), starts the real binary and waits
 * for its "listening on" line to learn the port.  apitest_server_stop()
 * sends SIGTERM, waits, and fails the test if the server did not exit 0 or
 * its log holds an ERR line or a sanitizer report.  Requests go through
 * libcurl; answers come back parsed. */
#ifndef HADRON_APITEST_H
#define HADRON_APITEST_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

struct apitest_server {
    pid_t pid;
    int port;
    char dir[256];              /* private temporary directory */
    char conf_path[300];
    char log_path[300];
    char stderr_path[300];
    char *db_url;
    bool allow_errors;          /* ERR lines in the log do not fail stop */
    bool keep_db;               /* stop leaves the database (shared) */
    void *curl;
};

struct apitest_resp {
    long status;
    char *body;
    char *headers;              /* raw response headers */
    yajl_val json;              /* NULL if the body is not JSON */
    const char *error;          /* apitest_send(): NULL, or why no answer
                                 * came (status 0; libcurl's words) */
    uint64_t usec;              /* the exchange alone, without parsing */
};

/* Starts a server; 'extra_config' (may be NULL) is appended to the
 * generated configuration file, so it may override [DEFAULT] options or
 * add sections.  Fails the test on error. */
struct apitest_server *apitest_server_start(const char *extra_config);

/* Like apitest_server_start() but on an existing database URL.  Returns
 * NULL if the server exits before listening, leaving its exit status in
 * '*status' and, if 'output' is nonnull, its log and stderr in '*output'
 * (malloc'd). */
struct apitest_server *apitest_server_try_start(const char *db_url,
                                                const char *extra_config,
                                                int *status, char **output);

/* Stops the server and checks its log; frees 'srv'. Returns the exit
 * status. */
int apitest_server_stop(struct apitest_server *srv);

/* Sends one request.  'headers' is NULL or a "\n"-separated list of
 * "Name: value" lines.  'body' may be NULL. */
struct apitest_resp *apitest_request(struct apitest_server *,
                                     const char *method, const char *path,
                                     const char *headers, const char *body);
void apitest_resp_free(struct apitest_resp *);

/* The request under apitest_request() on a handle of the caller's:
 * 'curl' (a CURL *) to 127.0.0.1:'port', at most 'timeout_ms'.  For load
 * clients, one handle per thread (a curl handle is not thread-safe).  It
 * never fails the test, so that it may run on any thread and a test may
 * count a refused or reset connection: then 'status' is 0 and 'error'
 * says why. */
struct apitest_resp *apitest_send(void *curl, int port, const char *method,
                                  const char *path, const char *headers,
                                  const char *body, long timeout_ms);

/* Shorthands: as admin (no X-Project-Id) or as project 'project'. */
struct apitest_resp *api_get(struct apitest_server *, const char *path);
struct apitest_resp *api_call(struct apitest_server *, const char *method,
                              const char *path, const char *project,
                              const char *body);

/* Looks up "a/b/0/c" in a JSON tree (numbers index arrays).  NULL if
 * absent. */
yajl_val jpath(yajl_val root, const char *path);
const char *jstr(yajl_val root, const char *path);      /* NULL if absent */
long long jint(yajl_val root, const char *path);        /* -1 if absent */
size_t jlen(yajl_val root, const char *path);           /* array length */

/* The value of response header 'name' (any case), malloc'd, or NULL. */
char *apitest_resp_header(const struct apitest_resp *, const char *name);

/* The value of the /metrics sample line starting with 'prefix' (a metric
 * name with its labels) in 'text', or -1 if there is none. */
double apitest_metric(const char *text, const char *prefix);
/* The same sample from a GET /metrics of 'srv'. */
double apitest_scrape(struct apitest_server *, const char *prefix);

/* Asserts that 'resp' is a NeutronError with 'status' and 'type'. */
#define assert_neutron_error(RESP, STATUS, TYPE)                        \
    apitest_assert_error__(RESP, STATUS, TYPE, __FILE__, __LINE__)
void apitest_assert_error__(const struct apitest_resp *, long status,
                            const char *type, const char *file, int line);

/* Asserts a NeutronError with 'status', 'type' (if nonnull) and 'text'
 * (if nonnull) somewhere in its message. */
#define assert_error_text(RESP, STATUS, TYPE, TEXT)                     \
    apitest_assert_error_text__(RESP, STATUS, TYPE, TEXT, __FILE__, __LINE__)
void apitest_assert_error_text__(const struct apitest_resp *, long status,
                                 const char *type, const char *text,
                                 const char *file, int line);

/* Asserts the status, printing the body when it differs. */
#define assert_status(RESP, STATUS)                                     \
    apitest_assert_status__(RESP, STATUS, __FILE__, __LINE__)
void apitest_assert_status__(const struct apitest_resp *, long status,
                             const char *file, int line);

/* A new TCP connection to the server (a socket; fails the test if it
 * cannot connect). */
int apitest_connect(const struct apitest_server *);

/* Sends raw bytes on a new TCP connection and returns what came back
 * (malloc'd, NUL-terminated) after the server closed or 'timeout_ms'. */
char *apitest_raw(struct apitest_server *, const char *bytes, size_t len,
                  int timeout_ms);

/* Reads the whole server log (malloc'd). */
char *apitest_read_log(const struct apitest_server *);

#endif /* tests/lib/apitest.h */
