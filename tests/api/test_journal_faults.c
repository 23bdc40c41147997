/* tests/api/test_journal_faults.c: the journal through the real server,
 * when things go wrong.
 *
 *   - a driver that fails N times (noop's fail_first) converges: the
 *     router goes ACTIVE, its entry completed after N + 1 attempts;
 *   - a permanent failure makes the router ERROR and the entry failed
 *     (visible in the admin view), and an operator's `hadron-manage journal
 *     retry` makes it converge once the backend is fixed;
 *   - kill -9 of the server with entries pending, then a new server on the
 *     same database: every entry reaches the driver, in order per router,
 *     none lost (a vendor-style driver built here records each apply() in
 *     a file before a slow apply);
 *   - the admin-only view GET /v2.0/journal_entries[/{seq}]: filters,
 *     pagination, 404 for everyone else;
 *   - hadron-manage journal list/show/cancel and their refusals.
 * Runs on both engines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/topo.h"

extern char **environ;

#define FAST_JOURNAL \
    "[journal]\nretry_backoff_initial_ms = 10\nretry_backoff_max = 1\n" \
    "poll_interval_ms = 50\n"

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Creates a router named 'name' as project "p1"; returns its id
 * (malloc'd). */
static char *
create_router(struct apitest_server *srv, const char *name)
{
    char *body = xasprintf("{\"router\": {\"name\": \"%s\"}}", name);
    struct apitest_resp *r = api_call(srv, "POST", "/v2.0/routers", "p1",
                                      body);
    assert_status(r, 201);
    char *id = xstrdup(jstr(r->json, "router/id"));
    apitest_resp_free(r);
    free(body);
    return id;
}

static void
rename_router(struct apitest_server *srv, const char *id, const char *name)
{
    char *path = xasprintf("/v2.0/routers/%s", id);
    char *body = xasprintf("{\"router\": {\"name\": \"%s\"}}", name);
    struct apitest_resp *r = api_call(srv, "PUT", path, "p1", body);
    assert_status(r, 200);
    apitest_resp_free(r);
    free(body);
    free(path);
}

/* Waits until router 'id' shows 'status'. */
static void
wait_router_status(struct apitest_server *srv, const char *id,
                   const char *status)
{
    char *path = xasprintf("/v2.0/routers/%s", id);
    char last[32] = "";

    for (int i = 0; i < 2000; i++) {
        struct apitest_resp *r = api_get(srv, path);
        assert_status(r, 200);
        const char *s = jstr(r->json, "router/status");
        str_copy(last, s ? s : "?", sizeof last);
        apitest_resp_free(r);
        if (!strcmp(last, status)) {
            free(path);
            return;
        }
        sleep_ms(10);
    }
    fail_msg("router %s stayed %s, not %s", id, last, status);
}

/* The journal entries of 'resource_id' (all states), as the admin sees
 * them. */
static struct apitest_resp *
entries_of(struct apitest_server *srv, const char *query)
{
    char *path = xasprintf("/v2.0/journal_entries%s", query);
    struct apitest_resp *r = api_get(srv, path);

    assert_status(r, 200);
    free(path);
    return r;
}

static yajl_val
find_entry(yajl_val list, const char *resource_id, const char *operation)
{
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val e = list->u.array.values[i];
        if (!strcmp(jstr(e, "resource_id"), resource_id)
            && !strcmp(jstr(e, "operation"), operation)) {
            return e;
        }
    }
    return NULL;
}

/* Runs hadron-manage with 'args' (NULL-terminated) on the server's
 * configuration; returns its exit status and its output in '*out'. */
static int
manage(struct apitest_server *srv, char **out, ...)
{
    char *argv[16] = { (char *) HADRON_MANAGE_BIN, (char *) "--config-file",
                       srv->conf_path };
    int argc = 3;
    va_list args;
    va_start(args, out);
    for (char *a; argc < 15 && (a = va_arg(args, char *)); ) {
        argv[argc++] = a;
    }
    va_end(args);
    argv[argc] = NULL;

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, HADRON_MANAGE_BIN, &fa, NULL, argv,
                                 environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);

    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap);
    ssize_t n;
    while ((n = read(pipefd[0], buf + len, cap - len - 1)) > 0) {
        len += n;
        if (cap - len < 1024) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    buf[len] = '\0';
    close(pipefd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* noop's first 4 applies answer RETRY: the router still goes ACTIVE, its
 * create entry completed after 5 attempts. */
static void
test_fail_first_converges(void **state)
{
    struct apitest_server *srv = apitest_server_start(
        "[noop]\nfail_first = 4\n" FAST_JOURNAL);
    char *id = create_router(srv, "flaky");

    wait_router_status(srv, id, "ACTIVE");
    struct apitest_resp *r = entries_of(srv, "?state=completed");
    yajl_val e = find_entry(jpath(r->json, "journal_entries"), id, "create");
    assert_non_null(e);
    assert_int_equal(jint(e, "attempts"), 5);
    assert_string_equal(jstr(e, "resource"), "router");
    assert_string_equal(jstr(e, "driver"), "noop");
    assert_string_equal(jstr(e, "last_error"), "");
    apitest_resp_free(r);

    /* Later changes go straight through. */
    rename_router(srv, id, "steady");
    topo_wait_journal_idle(srv);
    wait_router_status(srv, id, "ACTIVE");
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "noop: injected failure (fail_first), 0 "
                                "left"));
    free(log);
    free(id);
    apitest_server_stop(srv);
}

/* A permanent failure: router ERROR, entry failed with the reason (admin
 * view, hadron-manage show); once the backend is fixed (a restart without
 * the fault) the operator retries it and the router goes ACTIVE. */
static void
test_failure_then_operator_retry(void **state)
{
    struct apitest_server *srv = apitest_server_start(FAST_JOURNAL);
    char *id = create_router(srv, "doomed");
    wait_router_status(srv, id, "ACTIVE");
    char *url = xstrdup(srv->db_url);
    srv->keep_db = true;
    apitest_server_stop(srv);

    /* The backend now refuses this router. */
    char *conf = xasprintf("[noop]\nfail_permanently_resource_id = %s\n"
                           FAST_JOURNAL, id);
    int status;
    char *output = NULL;
    srv = apitest_server_try_start(url, conf, &status, &output);
    if (!srv) {
        fail_msg("restart failed: %s", output);
    }
    rename_router(srv, id, "doomed-2");
    wait_router_status(srv, id, "ERROR");
    topo_wait_journal_idle(srv);

    struct apitest_resp *r = entries_of(srv, "?state=failed");
    assert_int_equal(jlen(r->json, "journal_entries"), 1);
    yajl_val e = jpath(r->json, "journal_entries/0");
    assert_string_equal(jstr(e, "resource_id"), id);
    assert_string_equal(jstr(e, "operation"), "update");
    assert_string_equal(jstr(e, "state"), "failed");
    assert_int_equal(jint(e, "attempts"), 1);
    assert_non_null(strstr(jstr(e, "last_error"), "injected permanent "
                                                  "failure"));
    assert_string_equal(jstr(e, "data/name"), "doomed-2");
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", jint(e, "seq"));
    apitest_resp_free(r);

    char *out;
    assert_int_equal(manage(srv, &out, "journal", "show", seq, NULL), 0);
    assert_non_null(strstr(out, "state:           failed"));
    assert_non_null(strstr(out, "injected permanent failure"));
    free(out);
    assert_int_equal(manage(srv, &out, "journal", "list", "--state",
                            "failed", NULL), 0);
    assert_non_null(strstr(out, id));
    free(out);

    /* The backend is fixed (restart without the fault); the operator
     * retries the entry from the command line; the server finds it. */
    srv->keep_db = true;
    apitest_server_stop(srv);
    srv = apitest_server_try_start(url, FAST_JOURNAL, &status, &output);
    if (!srv) {
        fail_msg("restart failed: %s", output);
    }
    wait_router_status(srv, id, "ERROR");
    assert_int_equal(manage(srv, &out, "journal", "retry", seq, NULL), 0);
    assert_non_null(strstr(out, "is pending again"));
    free(out);
    wait_router_status(srv, id, "ACTIVE");
    char *path = xasprintf("/v2.0/journal_entries/%s", seq);
    r = api_get(srv, path);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "journal_entry/state"), "completed");
    assert_int_equal(jint(r->json, "journal_entry/attempts"), 1);
    apitest_resp_free(r);
    free(path);

    /* Refusals: retry a completed entry, an unknown one, a bad number. */
    assert_int_equal(manage(srv, &out, "journal", "retry", seq, NULL), 1);
    assert_non_null(strstr(out, "is completed: it cannot be retried"));
    free(out);
    assert_int_equal(manage(srv, &out, "journal", "cancel", "999999", NULL),
                     1);
    assert_non_null(strstr(out, "Journal entry 999999 could not be found"));
    free(out);
    assert_int_equal(manage(srv, &out, "journal", "show", "x1", NULL), 2);
    free(out);
    assert_int_equal(manage(srv, &out, "journal", "list", "--state",
                            "bogus", NULL), 1);
    assert_non_null(strstr(out, "not a journal entry state"));
    free(out);

    apitest_server_stop(srv);
    free(conf);
    free(url);
    free(id);
}

/* One applied entry, as the fault driver recorded it. */
struct record {
    long long seq;
    char router_id[40];
};

static struct record *
read_records(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    struct record *recs = NULL;
    size_t cap = 0;
    char line[512];

    *n = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            recs = xrealloc(recs, cap * sizeof *recs);
        }
        struct record *r = &recs[*n];
        if (sscanf(line, "%lld %39s", &r->seq, r->router_id) == 2) {
            (*n)++;
        }
    }
    fclose(f);
    return recs;
}

/* kill -9 with entries pending, then a new server on the same database:
 * every entry reaches the driver, in commit order per router; the one in
 * flight may come twice (at least once), nothing else does. */
static void
test_kill9_replays_everything(void **state)
{
    enum { ROUTERS = 6, RENAMES = 5 };
    char record_path[] = "/tmp/journal-faults-XXXXXX";
    int fd = mkstemp(record_path);
    assert_true(fd >= 0);
    close(fd);

    char *conf = xasprintf(
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:faulty:%s:default\n"
        "[faulty]\nrecord_file = %s\napply_delay_ms = 40\n" FAST_JOURNAL,
        FAULT_DRIVER_SO, record_path);
    struct apitest_server *srv = apitest_server_start(conf);
    char *ids[ROUTERS];
    for (int i = 0; i < ROUTERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "k%d", i);
        ids[i] = create_router(srv, name);
    }
    for (int k = 0; k < RENAMES; k++) {
        for (int i = 0; i < ROUTERS; i++) {
            char name[32];
            snprintf(name, sizeof name, "k%d-%d", i, k);
            rename_router(srv, ids[i], name);
        }
    }
    sleep_ms(200);

    /* kill -9: no drain, no journal_stop. */
    assert_int_equal(kill(srv->pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
    assert_true(WIFSIGNALED(status));
    srv->pid = 0;
    size_t n_before;
    free(read_records(record_path, &n_before));
    assert_true(n_before > 0);
    assert_true(n_before < ROUTERS * (RENAMES + 1));
    char *url = xstrdup(srv->db_url);
    srv->keep_db = true;
    apitest_server_stop(srv);

    /* A new server, fast this time. */
    free(conf);
    conf = xasprintf(
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:faulty:%s:default\n"
        "[faulty]\nrecord_file = %s\n" FAST_JOURNAL,
        FAULT_DRIVER_SO, record_path);
    char *output = NULL;
    srv = apitest_server_try_start(url, conf, &status, &output);
    if (!srv) {
        fail_msg("restart failed: %s", output);
    }
    topo_wait_journal_idle(srv);
    for (int i = 0; i < ROUTERS; i++) {
        wait_router_status(srv, ids[i], "ACTIVE");
    }

    /* The journal: every entry completed. */
    struct apitest_resp *r = entries_of(srv, "");
    yajl_val list = jpath(r->json, "journal_entries");
    size_t n_entries = jlen(r->json, "journal_entries");
    assert_int_equal(n_entries, ROUTERS * (RENAMES + 1));

    /* The driver's record: per router, the entries' seqs in order, each
     * once, but for a repeat of the one in flight at the kill. */
    size_t n_recs;
    struct record *recs = read_records(record_path, &n_recs);
    size_t repeats = 0;
    for (int i = 0; i < ROUTERS; i++) {
        long long expect[RENAMES + 1];
        size_t n_expect = 0, got = 0;
        long long last = -1;
        for (size_t j = 0; j < n_entries; j++) {
            yajl_val e = list->u.array.values[j];
            if (!strcmp(jstr(e, "router_id"), ids[i])) {
                assert_string_equal(jstr(e, "state"), "completed");
                expect[n_expect++] = jint(e, "seq");
            }
        }
        assert_int_equal(n_expect, RENAMES + 1);
        for (size_t j = 0; j < n_recs; j++) {
            if (strcmp(recs[j].router_id, ids[i])) {
                continue;
            }
            if (recs[j].seq == last) {
                repeats++;
                continue;
            }
            assert_true(got < n_expect);
            assert_int_equal(recs[j].seq, expect[got]);
            got++;
            last = recs[j].seq;
        }
        assert_int_equal(got, n_expect);
    }
    assert_true(repeats <= 1);
    apitest_resp_free(r);
    free(recs);

    if (repeats) {
        /* The entry in flight was claimed when the server died. */
        char *log = apitest_read_log(srv);
        assert_non_null(strstr(log, "interrupted by a stop are pending "
                                    "again"));
        free(log);
    }
    apitest_server_stop(srv);
    for (int i = 0; i < ROUTERS; i++) {
        free(ids[i]);
    }
    unlink(record_path);
    free(output);
    free(conf);
    free(url);
}

/* The admin view: filters, one entry, pagination; 404 for non-admins. */
static void
test_admin_view(void **state)
{
    struct apitest_server *srv = apitest_server_start(FAST_JOURNAL);
    char *a = create_router(srv, "va");
    char *b = create_router(srv, "vb");
    rename_router(srv, a, "va2");
    topo_wait_journal_idle(srv);

    struct apitest_resp *r = entries_of(srv, "");
    assert_int_equal(jlen(r->json, "journal_entries"), 3);
    yajl_val e = jpath(r->json, "journal_entries/0");
    assert_string_equal(jstr(e, "resource_id"), a);
    assert_string_equal(jstr(e, "router_id"), a);
    assert_string_equal(jstr(e, "operation"), "create");
    assert_string_equal(jstr(e, "state"), "completed");
    assert_string_equal(jstr(e, "data/name"), "va");
    assert_int_equal(jint(e, "revision"), 0);
    assert_non_null(jstr(e, "created_at"));
    long long first = jint(e, "seq");
    assert_int_equal(jint(r->json, "journal_entries/2/revision"), 1);
    assert_null(jpath(r->json, "journal_entries_links"));
    apitest_resp_free(r);

    /* Pagination by seq. */
    r = entries_of(srv, "?limit=2");
    assert_int_equal(jlen(r->json, "journal_entries"), 2);
    assert_string_equal(jstr(r->json, "journal_entries/1/resource_id"), b);
    const char *next = jstr(r->json, "journal_entries_links/0/href");
    assert_non_null(next);
    assert_string_equal(jstr(r->json, "journal_entries_links/0/rel"), "next");
    const char *q = strstr(next, "/v2.0/journal_entries");
    assert_non_null(q);
    struct apitest_resp *r2 = api_get(srv, q);
    assert_status(r2, 200);
    assert_int_equal(jlen(r2->json, "journal_entries"), 1);
    assert_string_equal(jstr(r2->json, "journal_entries/0/resource_id"), a);
    assert_string_equal(jstr(r2->json, "journal_entries/0/operation"),
                        "update");
    assert_null(jpath(r2->json, "journal_entries_links"));
    apitest_resp_free(r2);
    apitest_resp_free(r);

    /* Filters. */
    r = entries_of(srv, "?state=pending");
    assert_int_equal(jlen(r->json, "journal_entries"), 0);
    apitest_resp_free(r);
    r = entries_of(srv, "?driver=noop&state=completed&state=failed");
    assert_int_equal(jlen(r->json, "journal_entries"), 3);
    apitest_resp_free(r);
    r = entries_of(srv, "?driver=nosuch");
    assert_int_equal(jlen(r->json, "journal_entries"), 0);
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/journal_entries?state=bogus");
    assert_neutron_error(r, 400, "InvalidInput");
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/journal_entries?colour=red");
    assert_neutron_error(r, 400, "HTTPBadRequest");
    apitest_resp_free(r);

    /* One entry. */
    char *path = xasprintf("/v2.0/journal_entries/%lld", first);
    r = api_get(srv, path);
    assert_status(r, 200);
    assert_int_equal(jint(r->json, "journal_entry/seq"), first);
    assert_string_equal(jstr(r->json, "journal_entry/data/id"), a);
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/journal_entries/999999");
    assert_neutron_error(r, 404, "JournalEntryNotFound");
    apitest_resp_free(r);
    r = api_get(srv, "/v2.0/journal_entries/abc");
    assert_neutron_error(r, 404, "JournalEntryNotFound");
    apitest_resp_free(r);

    /* Not there for anyone but an admin. */
    r = api_call(srv, "GET", "/v2.0/journal_entries", "p1", NULL);
    assert_neutron_error(r, 404, "HTTPNotFound");
    apitest_resp_free(r);
    r = api_call(srv, "GET", path, "p1", NULL);
    assert_neutron_error(r, 404, "HTTPNotFound");
    apitest_resp_free(r);
    free(path);

    free(a);
    free(b);
    apitest_server_stop(srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_first_converges),
        cmocka_unit_test(test_failure_then_operator_retry),
        cmocka_unit_test(test_kill9_replays_everything),
        cmocka_unit_test(test_admin_view),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
