/* tests/unit/test_journal.c: the journal (core/journal.c) against a real
 * database of the engine named by HADRON_TEST_ENGINE.
 *
 * A fake driver class ("fake"), registered with l3_registry_add_class(),
 * records every apply() and answers as each test scripts it (RETRY n
 * times, FAILED, slow); fake hooks stand in for the L3 core (router
 * documents, statuses, the router list for sync_all).  Each test records
 * rows as a service would (journal_record() in a transaction), starts the
 * dispatchers with its own [journal] options and asserts what the driver
 * saw and what the rows became: per-router order, other routers going on,
 * back-off, failure to ERROR, replay after a crash, pruning, operator
 * retry/cancel, full sync on a lost state, and, on MariaDB, two server
 * processes sharing the journal without applying a row twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/context.h"
#include "core/journal.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"
#include "tests/lib/testdb.h"

#define HOST "test-host"

/* ---- The fake driver ---- */

#define MAX_APPLIES 4096
#define MAX_SCRIPTS 64

struct applied {
    int64_t seq;
    char provider[16];
    char resource[33];
    char operation[17];
    char resource_id[64];
    char router_id[64];
    int64_t ms;                 /* monotonic, when apply() ran */
    bool had_router_doc;
};

struct script {
    char resource_id[64];
    int retries;                /* RETRY answers still to give; -1 = all */
    bool fail;                  /* FAILED every time */
};

struct status_set {
    char resource[33];
    char id[64];
    int64_t revision;
    char status[8];
};

static struct {
    pthread_mutex_t mutex;
    struct applied applies[MAX_APPLIES];
    size_t n_applies;
    struct script scripts[MAX_SCRIPTS];
    size_t n_scripts;
    int delay_ms;
    bool lost_state;
    bool unhealthy;             /* health() answers false */
    int syncs;
    size_t synced_routers;
    int64_t sync_ms;
    int in_flight;              /* apply() calls running now, all fakes */
    bool overlap;               /* two applies of one router ran at once */
    char running_router[8][64]; /* routers being applied, per provider */
    struct status_set statuses[MAX_APPLIES];
    size_t n_statuses;
    int docs;                   /* router_document() calls */
    char **all;                 /* router ids all_routers() returns */
    size_t n_all;
    int record_fd;              /* two-process test: append applies here */
} fake = { .mutex = PTHREAD_MUTEX_INITIALIZER, .record_fd = -1 };

static int64_t
now_ms(void)
{
    return (int64_t) (time_monotonic_usec() / 1000);
}

static void
fake_reset(void)
{
    pthread_mutex_lock(&fake.mutex);
    for (size_t i = 0; i < fake.n_all; i++) {
        free(fake.all[i]);
    }
    free(fake.all);
    memset(fake.applies, 0, sizeof fake.applies);
    fake.n_applies = 0;
    fake.n_scripts = 0;
    fake.delay_ms = 0;
    fake.lost_state = false;
    fake.unhealthy = false;
    fake.syncs = 0;
    fake.synced_routers = 0;
    fake.sync_ms = 0;
    fake.in_flight = 0;
    fake.overlap = false;
    memset(fake.running_router, 0, sizeof fake.running_router);
    fake.n_statuses = 0;
    fake.docs = 0;
    fake.all = NULL;
    fake.n_all = 0;
    pthread_mutex_unlock(&fake.mutex);
}

static void
fake_script(const char *resource_id, int retries, bool fail)
{
    pthread_mutex_lock(&fake.mutex);
    struct script *s = &fake.scripts[fake.n_scripts++];
    str_copy(s->resource_id, resource_id, sizeof s->resource_id);
    s->retries = retries;
    s->fail = fail;
    pthread_mutex_unlock(&fake.mutex);
}

/* A provider's index for running_router: its name's last character. */
struct fake_state {
    int index;
};

static int
fake_init(const struct hadron_l3_config *cfg, void **state, char *err,
          size_t err_size)
{
    static int next;
    struct fake_state *s = xzalloc(sizeof *s);

    s->index = next++ % 8;
    *state = s;
    return 0;
}

static void
fake_destroy(void *state)
{
    free(state);
}

static unsigned int
fake_capabilities(void *state)
{
    return ~0u;
}

static enum hadron_l3_result
fake_apply(void *state_, const struct hadron_l3_entry *e, char *msg,
           size_t msg_size)
{
    struct fake_state *state = state_;
    enum hadron_l3_result result = HADRON_L3_OK;
    int delay;

    pthread_mutex_lock(&fake.mutex);
    for (int i = 0; i < 8; i++) {
        if (i != state->index && !strcmp(fake.running_router[i],
                                         e->router_id)) {
            fake.overlap = true;
        }
    }
    str_copy(fake.running_router[state->index], e->router_id,
             sizeof fake.running_router[0]);
    if (fake.n_applies < MAX_APPLIES) {
        struct applied *a = &fake.applies[fake.n_applies++];
        a->seq = e->seq;
        snprintf(a->provider, sizeof a->provider, "%d", state->index);
        str_copy(a->resource, e->resource, sizeof a->resource);
        str_copy(a->operation, e->operation, sizeof a->operation);
        str_copy(a->resource_id, e->resource_id, sizeof a->resource_id);
        str_copy(a->router_id, e->router_id, sizeof a->router_id);
        a->ms = now_ms();
        a->had_router_doc = e->router != NULL;
    }
    for (size_t i = 0; i < fake.n_scripts; i++) {
        struct script *s = &fake.scripts[i];
        if (strcmp(s->resource_id, e->resource_id)) {
            continue;
        }
        if (s->fail) {
            snprintf(msg, msg_size, "fake: %s is broken", e->resource_id);
            result = HADRON_L3_FAILED;
        } else if (s->retries) {
            if (s->retries > 0) {
                s->retries--;
            }
            snprintf(msg, msg_size, "fake: %s not yet", e->resource_id);
            result = HADRON_L3_RETRY;
        }
    }
    delay = fake.delay_ms;
    if (fake.record_fd >= 0) {
        char line[160];
        int len = snprintf(line, sizeof line, "%" PRId64 " %s %d\n", e->seq,
                           e->router_id, (int) getpid());
        if (write(fake.record_fd, line, len) != len) {
            abort();
        }
    }
    pthread_mutex_unlock(&fake.mutex);

    if (delay) {
        struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&fake.mutex);
    fake.running_router[state->index][0] = '\0';
    pthread_mutex_unlock(&fake.mutex);
    return result;
}

static enum hadron_l3_result
fake_sync_all(void *state, const char *const *routers, size_t n, char *msg,
              size_t msg_size)
{
    pthread_mutex_lock(&fake.mutex);
    fake.syncs++;
    fake.synced_routers = n;
    fake.sync_ms = now_ms();
    fake.lost_state = false;
    pthread_mutex_unlock(&fake.mutex);
    return HADRON_L3_OK;
}

static bool
fake_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    pthread_mutex_lock(&fake.mutex);
    *lost_state = fake.lost_state;
    bool healthy = !fake.unhealthy;
    pthread_mutex_unlock(&fake.mutex);
    return healthy;
}

static const struct hadron_l3_driver_class fake_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "fake",
    .init = fake_init,
    .destroy = fake_destroy,
    .capabilities = fake_capabilities,
    .apply = fake_apply,
    .sync_all = fake_sync_all,
    .health = fake_health,
};

/* ---- Fake hooks (the L3 core's part) ---- */

static char *
hook_router_document(struct db *db, const char *router_id)
{
    pthread_mutex_lock(&fake.mutex);
    fake.docs++;
    pthread_mutex_unlock(&fake.mutex);
    return xasprintf("{\"id\": \"%s\"}", router_id);
}

static struct neutron_error *
hook_set_status(struct db *db, const char *resource, const char *id,
                int64_t revision, const char *status)
{
    assert_true(db_in_transaction(db));
    pthread_mutex_lock(&fake.mutex);
    if (fake.n_statuses < MAX_APPLIES) {
        struct status_set *s = &fake.statuses[fake.n_statuses++];
        str_copy(s->resource, resource, sizeof s->resource);
        str_copy(s->id, id, sizeof s->id);
        s->revision = revision;
        str_copy(s->status, status, sizeof s->status);
    }
    pthread_mutex_unlock(&fake.mutex);
    return NULL;
}

static struct neutron_error *
hook_all_routers(struct db *db, const char *driver, char ***docs, size_t *n)
{
    pthread_mutex_lock(&fake.mutex);
    *docs = xcalloc(fake.n_all + 1, sizeof **docs);
    for (size_t i = 0; i < fake.n_all; i++) {
        (*docs)[i] = xasprintf("{\"id\": \"%s\"}", fake.all[i]);
    }
    *n = fake.n_all;
    pthread_mutex_unlock(&fake.mutex);
    return NULL;
}

static const struct journal_hooks fake_hooks = {
    .router_document = hook_router_document,
    .set_status = hook_set_status,
    .all_routers = hook_all_routers,
};

/* ---- Fixture ---- */

struct fixture {
    char *url;
    struct db *db;
    struct config *cfg;
    char conf_path[64];
    bool started;
};

static bool
is_mariadb(void)
{
    return !strcmp(testdb_engine(), "mariadb");
}

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);
    char errbuf[256] = "";

    fake_reset();
    f->url = testdb_create();
    if (db_open(f->url, &f->db, errbuf, sizeof errbuf) != DB_OK
        || db_upgrade(f->db, errbuf, sizeof errbuf) != DB_OK) {
        print_error("database %s: %s\n", f->url, errbuf);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    journal_stop();
    journal_set_hooks(NULL);
    if (f->started) {
        l3_registry_destroy();
    }
    config_destroy(f->cfg);
    if (f->conf_path[0]) {
        unlink(f->conf_path);
    }
    db_close(f->db);
    testdb_drop(f->url);
    free(f->url);
    free(f);
    fake_reset();
    return 0;
}

/* Loads a configuration for the fixture's database: 'providers' is the
 * list of service_provider lines, 'journal' extra [journal] lines. */
static struct config *
make_config(struct fixture *f, const char *host, const char *providers,
            const char *journal)
{
    struct config *cfg = config_create();
    char path[64] = "/tmp/test_journal-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fprintf(file, "[DEFAULT]\nhost = %s\n[database]\nconnection = %s\n"
            "[service_providers]\n%s\n[journal]\n%s\n", host, f->url,
            providers, journal ? journal : "");
    fclose(file);
    char *error = config_load_file(cfg, path);
    if (error) {
        print_error("%s\n", error);
        free(error);
        fail();
    }
    unlink(path);
    return cfg;
}

#define ONE_PROVIDER "service_provider = L3_ROUTER_NAT:fake:fake:default"

/* Registers the fake class, loads the providers, sets the hooks and
 * starts the journal with 'journal' options. */
static void
start(struct fixture *f, const char *providers, const char *journal)
{
    f->cfg = make_config(f, HOST, providers ? providers : ONE_PROVIDER,
                         journal);
    assert_int_equal(l3_registry_add_class(&fake_class), 0);
    char *error = l3_registry_init(f->cfg);
    if (error) {
        print_error("%s\n", error);
        free(error);
        fail();
    }
    f->started = true;
    journal_set_hooks(&fake_hooks);
    error = journal_start(f->cfg);
    if (error) {
        print_error("%s\n", error);
        free(error);
        fail();
    }
}

/* Records one row in its own transaction, as a service would. */
static int64_t
record(struct fixture *f, const char *driver, const char *resource,
       const char *operation, const char *resource_id, const char *router_id,
       int64_t revision)
{
    struct op_ctx ctx = { .db = f->db, .cfg = f->cfg, .request_id = "t" };
    char *data = xasprintf("{\"id\": \"%s\"}", resource_id);

    ctx.auth.is_admin = true;
    assert_int_equal(db_begin(f->db, true), DB_OK);
    struct neutron_error *error = journal_record(&ctx, driver, resource,
                                                 operation, resource_id,
                                                 router_id, revision, data);
    if (error) {
        print_error("%s\n", error->message);
        fail();
    }
    assert_int_equal(db_commit(f->db), DB_OK);
    free(data);
    journal_wake();

    struct db_stmt *stmt = db_prepare(f->db, "SELECT MAX(seq) FROM journal");
    assert_int_equal(db_step(stmt), DB_ROW);
    int64_t seq = db_col_int64(stmt, 0);
    db_reset(stmt);
    return seq;
}

static void
sql(struct fixture *f, const char *text)
{
    if (db_exec(f->db, text)) {
        print_error("%s: %s\n", text, db_errmsg(f->db));
        fail();
    }
}

static int64_t
count_rows(struct fixture *f, const char *where)
{
    char *text = xasprintf("SELECT COUNT(*) FROM journal WHERE %s", where);
    struct db_stmt *stmt = db_prepare(f->db, text);

    assert_non_null(stmt);
    assert_int_equal(db_step(stmt), DB_ROW);
    int64_t n = db_col_int64(stmt, 0);
    db_reset(stmt);
    free(text);
    return n;
}

static struct journal_row
get_row(struct fixture *f, int64_t seq)
{
    struct journal_row row;
    struct neutron_error *error = journal_get(f->db, seq, &row);

    if (error) {
        print_error("%s\n", error->message);
        fail();
    }
    return row;
}

static enum journal_state
row_state(struct fixture *f, int64_t seq)
{
    struct journal_row row = get_row(f, seq);

    journal_row_destroy(&row);
    return row.state;
}

static void
wait_idle(struct fixture *f)
{
    assert_true(journal_wait_idle(f->db, NULL, 20000));
}

/* Waits until row 'seq' is in 'state'. */
static void
wait_state(struct fixture *f, int64_t seq, enum journal_state state)
{
    for (int i = 0; i < 4000; i++) {
        if (row_state(f, seq) == state) {
            return;
        }
        usleep(5000);
    }
    print_error("entry %" PRId64 " never became %s (is %s)\n", seq,
                journal_state_name(state),
                journal_state_name(row_state(f, seq)));
    fail();
}

/* Index in fake.applies of the first apply of 'seq', or -1. */
static int
applied_at(int64_t seq)
{
    for (size_t i = 0; i < fake.n_applies; i++) {
        if (fake.applies[i].seq == seq) {
            return i;
        }
    }
    return -1;
}

static int
times_applied(int64_t seq)
{
    int n = 0;

    for (size_t i = 0; i < fake.n_applies; i++) {
        n += fake.applies[i].seq == seq;
    }
    return n;
}

static const struct status_set *
status_of(const char *id)
{
    const struct status_set *last = NULL;

    for (size_t i = 0; i < fake.n_statuses; i++) {
        if (!strcmp(fake.statuses[i].id, id)) {
            last = &fake.statuses[i];
        }
    }
    return last;
}

static void
router_name(char *buf, size_t size, int i)
{
    snprintf(buf, size, "router-%02d", i);
}

/* ---- Tests ---- */

/* Rows of one router are applied once each, in commit order, each with
 * the router document; every router's resources go ACTIVE with the
 * revision of their entry; the rows end completed. */
static void
test_order_per_router(void **state)
{
    struct fixture *f = *state;
    enum { ROUTERS = 5, PER_ROUTER = 12 };
    int64_t seqs[ROUTERS][PER_ROUTER];
    char router[32], id[64];

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    for (int k = 0; k < PER_ROUTER; k++) {
        for (int r = 0; r < ROUTERS; r++) {
            router_name(router, sizeof router, r);
            snprintf(id, sizeof id, "%s-res-%02d", router, k);
            seqs[r][k] = record(f, "fake", k ? "floatingip" : "router",
                                k == PER_ROUTER - 1 ? "delete" : "create",
                                k ? id : router, router, k);
        }
    }
    config_destroy(f->cfg);
    start(f, NULL, NULL);
    wait_idle(f);

    assert_int_equal(fake.n_applies, ROUTERS * PER_ROUTER);
    for (int r = 0; r < ROUTERS; r++) {
        for (int k = 0; k < PER_ROUTER; k++) {
            assert_int_equal(times_applied(seqs[r][k]), 1);
            if (k) {
                assert_true(applied_at(seqs[r][k - 1])
                            < applied_at(seqs[r][k]));
            }
            assert_int_equal(row_state(f, seqs[r][k]), JOURNAL_COMPLETED);
        }
    }
    for (size_t i = 0; i < fake.n_applies; i++) {
        assert_true(fake.applies[i].had_router_doc);
    }
    assert_false(fake.overlap);

    /* ACTIVE for each non-delete entry, with its revision. */
    router_name(router, sizeof router, 3);
    const struct status_set *s = status_of(router);
    assert_non_null(s);
    assert_string_equal(s->status, "ACTIVE");
    assert_string_equal(s->resource, "router");
    assert_int_equal(s->revision, 0);
    snprintf(id, sizeof id, "%s-res-%02d", router, 4);
    s = status_of(id);
    assert_non_null(s);
    assert_int_equal(s->revision, 4);
    snprintf(id, sizeof id, "%s-res-%02d", router, PER_ROUTER - 1);
    assert_null(status_of(id));     /* a delete sets no status */
}

/* A router whose row backs off does not hold up the others; its own later
 * rows wait behind it. */
static void
test_parallel_routers(void **state)
{
    struct fixture *f = *state;
    int64_t a1, a2, b[6];
    char id[64];

    start(f, NULL, "retry_backoff_initial_ms = 300\npoll_interval_ms = 50\n");
    fake_script("a-1", 1, false);
    a1 = record(f, "fake", "router", "create", "a-1", "router-a", 0);
    a2 = record(f, "fake", "router", "update", "a-2", "router-a", 1);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "b-%d", i);
        b[i] = record(f, "fake", "router", "update", id, "router-b", i);
    }
    wait_idle(f);

    /* a-1 answered RETRY, then OK after its back-off; b's six rows all
     * went in between; a-2 only after a-1. */
    assert_int_equal(times_applied(a1), 2);
    assert_int_equal(times_applied(a2), 1);
    int second_a1 = -1;
    for (size_t i = 0; i < fake.n_applies; i++) {
        if (fake.applies[i].seq == a1 && (int) i != applied_at(a1)) {
            second_a1 = i;
        }
    }
    assert_true(second_a1 > 0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(times_applied(b[i]), 1);
        assert_true(applied_at(b[i]) < second_a1);
    }
    assert_true(applied_at(a2) > second_a1);
    assert_true(fake.applies[applied_at(a2)].ms
                - fake.applies[applied_at(a1)].ms >= 280);
}

/* The rows of one router claimed together are applied in order; a RETRY
 * in the middle sends the rest back behind it (their attempt undone), and
 * a row committed while it backs off waits too, made due with it. */
static void
test_chain_retry_mid_batch(void **state)
{
    struct fixture *f = *state;
    int64_t s[6];
    char id[16];

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "c%d", i);
        s[i] = record(f, "fake", "floatingip", "update", id, "chain", i);
    }
    config_destroy(f->cfg);
    fake_script("c2", 1, false);
    start(f, NULL, "retry_backoff_initial_ms = 400\npoll_interval_ms = 20\n");
    wait_state(f, s[1], JOURNAL_COMPLETED);
    for (int i = 0; i < 200 && (!times_applied(s[2])
                                || row_state(f, s[2]) != JOURNAL_PENDING);
         i++) {
        usleep(2000);
    }
    /* c2 backs off; c3 and c4 went back to pending, due with it. */
    struct journal_row r2 = get_row(f, s[2]), r3 = get_row(f, s[3]);
    assert_int_equal(r2.state, JOURNAL_PENDING);
    assert_int_equal(r3.state, JOURNAL_PENDING);
    assert_int_equal(r3.attempts, 0);
    assert_true(r2.next_attempt_ms > 0);
    assert_int_equal(r3.next_attempt_ms, r2.next_attempt_ms);
    /* A row committed meanwhile waits behind c2 as well. */
    s[5] = record(f, "fake", "floatingip", "update", "c5", "chain", 5);
    usleep(100 * 1000);
    assert_int_equal(row_state(f, s[5]), JOURNAL_PENDING);
    assert_int_equal(times_applied(s[5]), 0);
    struct journal_row r5 = get_row(f, s[5]);
    assert_int_equal(r5.next_attempt_ms, r2.next_attempt_ms);
    journal_row_destroy(&r2);
    journal_row_destroy(&r3);
    journal_row_destroy(&r5);

    wait_idle(f);
    int order[6];
    for (int i = 0; i < 6; i++) {
        order[i] = applied_at(s[i]);
        assert_int_equal(times_applied(s[i]), i == 2 ? 2 : 1);
    }
    for (int i = 0; i < 5; i++) {
        assert_true(order[i] < order[i + 1]);
    }
    int second_c2 = -1;
    for (size_t i = 0; i < fake.n_applies; i++) {
        if (fake.applies[i].seq == s[2]) {
            second_c2 = i;
        }
    }
    assert_true(second_c2 < order[3]);
    struct journal_row r4 = get_row(f, s[4]);
    assert_int_equal(r4.attempts, 1);
    journal_row_destroy(&r4);
}

/* RETRY backs off exponentially (initial, x2, x4...) then succeeds; the
 * resource goes ACTIVE once, at the end. */
static void
test_retry_backoff(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "retry_backoff_initial_ms = 60\nretry_backoff_max = 60\n"
          "poll_interval_ms = 1000\n");
    fake_script("fip-1", 3, false);
    int64_t seq = record(f, "fake", "floatingip", "update", "fip-1",
                         "router-1", 7);
    wait_idle(f);

    assert_int_equal(times_applied(seq), 4);
    int64_t t[4];
    int k = 0;
    for (size_t i = 0; i < fake.n_applies; i++) {
        if (fake.applies[i].seq == seq) {
            t[k++] = fake.applies[i].ms;
        }
    }
    assert_true(t[1] - t[0] >= 55);
    assert_true(t[2] - t[1] >= 115);
    assert_true(t[3] - t[2] >= 235);
    /* ... and no slower than the back-off plus scheduling. */
    assert_true(t[3] - t[0] < 60 + 120 + 240 + 600);

    struct journal_row row = get_row(f, seq);
    assert_int_equal(row.state, JOURNAL_COMPLETED);
    assert_int_equal(row.attempts, 4);
    assert_string_equal(row.last_error, "");
    journal_row_destroy(&row);
    assert_int_equal(fake.n_statuses, 1);
    assert_string_equal(fake.statuses[0].status, "ACTIVE");
    assert_int_equal(fake.statuses[0].revision, 7);
}

/* A row backed off for a minute while health() said bad is applied as
 * soon as health() says good again, and so is the row queued behind it;
 * a row of the same driver backed off while health() stays good keeps its
 * back-off. */
static void
test_health_wakes_backoff(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "retry_backoff_initial_ms = 60000\n"
          "retry_backoff_max = 120\nhealth_interval_ms = 50\n"
          "poll_interval_ms = 1000\n");
    pthread_mutex_lock(&fake.mutex);
    fake.unhealthy = true;
    pthread_mutex_unlock(&fake.mutex);
    fake_script("fip-h", 1, false);
    int64_t seq = record(f, "fake", "floatingip", "update", "fip-h",
                         "router-h", 1);
    int64_t behind = record(f, "fake", "floatingip", "update", "fip-h2",
                            "router-h", 2);
    journal_wake();
    for (int i = 0; i < 500 && times_applied(seq) < 1; i++) {
        usleep(10 * 1000);
    }
    assert_int_equal(times_applied(seq), 1);
    usleep(200 * 1000);         /* health() asked while bad */
    assert_int_equal(times_applied(seq), 1);
    assert_int_equal(times_applied(behind), 0);

    pthread_mutex_lock(&fake.mutex);
    fake.unhealthy = false;
    pthread_mutex_unlock(&fake.mutex);
    int64_t back = now_ms();
    wait_idle(f);
    int64_t took = fake.applies[applied_at(behind)].ms - back;
    print_message("applied %" PRId64 " ms after health() turned good "
                  "(back-off 60 s, health interval 50 ms)\n", took);
    assert_true(took < 1000);
    assert_int_equal(times_applied(seq), 2);
    struct journal_row row = get_row(f, seq);
    assert_int_equal(row.state, JOURNAL_COMPLETED);
    journal_row_destroy(&row);

    /* Healthy all along: the back-off holds. */
    fake_script("fip-k", 1, false);
    seq = record(f, "fake", "floatingip", "update", "fip-k", "router-k", 1);
    journal_wake();
    for (int i = 0; i < 500 && times_applied(seq) < 1; i++) {
        usleep(10 * 1000);
    }
    usleep(300 * 1000);
    assert_int_equal(times_applied(seq), 1);
    assert_int_equal(row_state(f, seq), JOURNAL_PENDING);
}

/* FAILED: the row fails with the driver's reason, the resource goes ERROR,
 * and the router's later rows go on.  A row that keeps answering RETRY
 * fails after max_attempts. */
static void
test_permanent_failure(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "max_attempts = 3\nretry_backoff_initial_ms = 10\n");
    fake_script("if-bad", 0, true);
    fake_script("if-stuck", -1, false);
    int64_t bad = record(f, "fake", "router_interface", "create", "if-bad",
                         "router-1", 2);
    int64_t later = record(f, "fake", "router", "update", "router-1",
                           "router-1", 3);
    int64_t stuck = record(f, "fake", "router_interface", "create",
                           "if-stuck", "router-2", 5);
    wait_idle(f);

    struct journal_row row = get_row(f, bad);
    assert_int_equal(row.state, JOURNAL_FAILED);
    assert_int_equal(row.attempts, 1);
    assert_string_equal(row.last_error, "fake: if-bad is broken");
    journal_row_destroy(&row);
    const struct status_set *s = status_of("if-bad");
    assert_non_null(s);
    assert_string_equal(s->status, "ERROR");
    assert_string_equal(s->resource, "router_interface");
    assert_int_equal(s->revision, 2);

    assert_int_equal(row_state(f, later), JOURNAL_COMPLETED);
    assert_true(applied_at(later) > applied_at(bad));

    row = get_row(f, stuck);
    assert_int_equal(row.state, JOURNAL_FAILED);
    assert_int_equal(row.attempts, 3);
    assert_string_equal(row.last_error,
                        "gave up after 3 attempts: fake: if-stuck not yet");
    journal_row_destroy(&row);
    assert_int_equal(times_applied(stuck), 3);
    assert_string_equal(status_of("if-stuck")->status, "ERROR");
}

/* Rows a crash left processing are replayed at start (on MariaDB: those of
 * this host and stale ones of other hosts; a live server's fresh claim is
 * left alone). */
static void
test_replay_after_crash(void **state)
{
    struct fixture *f = *state;
    char text[512], now[TIMESTAMP_LEN];

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    int64_t s1 = record(f, "fake", "router", "create", "r1", "r1", 0);
    int64_t s2 = record(f, "fake", "router", "update", "r1", "r1", 1);
    int64_t s3 = record(f, "fake", "router", "create", "r2", "r2", 0);
    int64_t s4 = record(f, "fake", "router", "create", "r3", "r3", 0);
    int64_t s5 = record(f, "fake", "router", "create", "r4", "r4", 0);
    config_destroy(f->cfg);
    f->cfg = NULL;

    /* The crash: s1 and s3 were being applied by this host, s4 by another
     * server long ago, s5 by another server just now. */
    timestamp_now(now);
    snprintf(text, sizeof text, "UPDATE journal SET state = 'processing', "
             "attempts = 1, claimed_by = '" HOST "', updated_at = '%s' "
             "WHERE seq IN (%" PRId64 ", %" PRId64 ")", now, s1, s3);
    sql(f, text);
    snprintf(text, sizeof text, "UPDATE journal SET state = 'processing', "
             "attempts = 1, claimed_by = 'other', "
             "updated_at = '2001-01-01T00:00:00Z' WHERE seq = %" PRId64, s4);
    sql(f, text);
    snprintf(text, sizeof text, "UPDATE journal SET state = 'processing', "
             "attempts = 1, claimed_by = 'other', updated_at = '%s' "
             "WHERE seq = %" PRId64, now, s5);
    sql(f, text);

    start(f, NULL, NULL);
    wait_state(f, s4, JOURNAL_COMPLETED);
    wait_state(f, s2, JOURNAL_COMPLETED);
    wait_state(f, s3, JOURNAL_COMPLETED);
    assert_int_equal(row_state(f, s1), JOURNAL_COMPLETED);
    assert_true(applied_at(s1) < applied_at(s2));
    struct journal_row row = get_row(f, s1);
    assert_int_equal(row.attempts, 2);
    journal_row_destroy(&row);

    if (is_mariadb()) {
        /* Another live server's claim stays its own. */
        usleep(300 * 1000);
        assert_int_equal(row_state(f, s5), JOURNAL_PROCESSING);
        assert_int_equal(times_applied(s5), 0);
    } else {
        /* SQLite: one server per database, every claim was ours. */
        wait_state(f, s5, JOURNAL_COMPLETED);
    }
}

/* A claim older than claim_timeout, of a server that died, is taken back
 * while running (the multi-server case; the same rule on SQLite). */
static void
test_stale_claim_taken_back(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "claim_timeout = 1\n");
    /* Another server claimed this row long ago and died. */
    sql(f, "INSERT INTO journal (driver, resource, operation, resource_id, "
        "router_id, revision, data, state, attempts, claimed_by, "
        "created_at, updated_at) VALUES ('fake', 'router', 'create', 'r9', "
        "'r9', 0, '{}', 'processing', 1, 'dead', '2001-01-01T00:00:00Z', "
        "'2001-01-01T00:00:00Z')");
    int64_t seq = count_rows(f, "1 = 1");
    wait_state(f, seq, JOURNAL_COMPLETED);
    assert_int_equal(times_applied(seq), 1);
    struct journal_row row = get_row(f, seq);
    assert_int_equal(row.attempts, 2);
    assert_string_equal(row.claimed_by, "");
    journal_row_destroy(&row);
}

/* Completed rows are pruned after completed_retention; with 0 they are
 * deleted as they complete.  Failed rows stay. */
static void
test_pruning(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "completed_retention = 1\n");
    fake_script("broken", 0, true);
    int64_t s1 = record(f, "fake", "router", "create", "p1", "p1", 0);
    int64_t s2 = record(f, "fake", "router", "create", "broken", "p2", 0);
    wait_idle(f);
    assert_int_equal(row_state(f, s1), JOURNAL_COMPLETED);
    for (int i = 0; i < 100 && count_rows(f, "state = 'completed'"); i++) {
        usleep(50 * 1000);
    }
    assert_int_equal(count_rows(f, "state = 'completed'"), 0);
    assert_int_equal(row_state(f, s2), JOURNAL_FAILED);

    journal_stop();
    l3_registry_destroy();
    config_destroy(f->cfg);
    f->started = false;
    start(f, NULL, "completed_retention = 0\n");
    int64_t s3 = record(f, "fake", "router", "update", "p1", "p1", 1);
    wait_idle(f);
    assert_int_equal(times_applied(s3), 1);
    assert_int_equal(count_rows(f, "state = 'completed'"), 0);
    char where[64];
    snprintf(where, sizeof where, "seq = %" PRId64, s3);
    assert_int_equal(count_rows(f, where), 0);
    assert_string_equal(status_of("p1")->status, "ACTIVE");
}

/* The operator's retry and cancel, and their refusals. */
static void
test_cancel_retry(void **state)
{
    struct fixture *f = *state;
    struct neutron_error *error;

    start(f, NULL, "retry_backoff_initial_ms = 60000\n");
    fake_script("gw-1", 0, true);
    int64_t failed = record(f, "fake", "router", "update", "gw-1", "r1", 1);
    wait_state(f, failed, JOURNAL_FAILED);

    /* Retry: pending again, applied again (now it works). */
    pthread_mutex_lock(&fake.mutex);
    fake.n_scripts = 0;
    pthread_mutex_unlock(&fake.mutex);
    assert_null(journal_retry(f->db, failed));
    wait_state(f, failed, JOURNAL_COMPLETED);
    assert_int_equal(times_applied(failed), 2);
    assert_string_equal(status_of("gw-1")->status, "ACTIVE");

    /* Cancel: a row stuck in back-off stops blocking its router. */
    fake_script("stuck", -1, false);
    int64_t stuck = record(f, "fake", "router", "update", "stuck", "r2", 1);
    int64_t behind = record(f, "fake", "router", "update", "r2", "r2", 2);
    for (int i = 0; i < 400 && !times_applied(stuck); i++) {
        usleep(5000);
    }
    usleep(100 * 1000);
    assert_int_equal(row_state(f, behind), JOURNAL_PENDING);
    assert_int_equal(times_applied(behind), 0);
    assert_null(journal_cancel(f->db, stuck));
    wait_state(f, behind, JOURNAL_COMPLETED);
    assert_int_equal(row_state(f, stuck), JOURNAL_CANCELLED);

    /* Refusals. */
    error = journal_cancel(f->db, behind);
    assert_non_null(error);
    assert_int_equal(error->kind, NE_CONFLICT);
    assert_string_equal(error->type, "JournalEntryConflict");
    neutron_error_destroy(error);
    error = journal_retry(f->db, behind);
    assert_int_equal(error->kind, NE_CONFLICT);
    neutron_error_destroy(error);
    error = journal_retry(f->db, 999999);
    assert_int_equal(error->kind, NE_NOT_FOUND);
    assert_string_equal(error->type, "JournalEntryNotFound");
    neutron_error_destroy(error);
    error = journal_cancel(f->db, 999999);
    assert_int_equal(error->kind, NE_NOT_FOUND);
    neutron_error_destroy(error);

    /* A cancelled row can be retried. */
    pthread_mutex_lock(&fake.mutex);
    fake.n_scripts = 0;
    pthread_mutex_unlock(&fake.mutex);
    assert_null(journal_retry(f->db, stuck));
    wait_state(f, stuck, JOURNAL_COMPLETED);
}

/* Listing with filters and a marker, one row, the depth. */
static void
test_list_and_depth(void **state)
{
    struct fixture *f = *state;
    struct journal_row *rows;
    size_t n;
    int64_t pending, age;

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    int64_t s1 = record(f, "fake", "router", "create", "l1", "l1", 0);
    int64_t s2 = record(f, "other", "router", "create", "l2", "l2", 0);
    int64_t s3 = record(f, "fake", "floatingip", "update", "fip", "l1", 4);
    sql(f, "UPDATE journal SET created_at = '2001-01-01T00:00:00Z'");

    assert_null(journal_list(f->db, NULL, NULL, 0, &rows, &n));
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].seq, s1);
    assert_int_equal(rows[2].seq, s3);
    assert_string_equal(rows[2].resource, "floatingip");
    assert_string_equal(rows[2].operation, "update");
    assert_string_equal(rows[2].resource_id, "fip");
    assert_string_equal(rows[2].router_id, "l1");
    assert_int_equal(rows[2].revision, 4);
    assert_string_equal(rows[2].data, "{\"id\": \"fip\"}");
    assert_int_equal(rows[2].state, JOURNAL_PENDING);
    journal_rows_free(rows, n);

    assert_null(journal_list(f->db, "pending", "other", 0, &rows, &n));
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].seq, s2);
    journal_rows_free(rows, n);

    assert_null(journal_list(f->db, "failed", NULL, 0, &rows, &n));
    assert_int_equal(n, 0);
    journal_rows_free(rows, n);

    const char *drivers[] = { "fake" };
    struct journal_filter filter = {
        .drivers = drivers, .n_drivers = 1, .after_seq = s1, .limit = 5,
    };
    assert_null(journal_query(f->db, &filter, &rows, &n));
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].seq, s3);
    journal_rows_free(rows, n);

    struct neutron_error *error = journal_list(f->db, "bogus", NULL, 0,
                                               &rows, &n);
    assert_non_null(error);
    assert_int_equal(error->kind, NE_BAD_REQUEST);
    neutron_error_destroy(error);

    assert_null(journal_depth(f->db, "fake", &pending, &age));
    assert_int_equal(pending, 2);
    assert_true(age > 86400 * 365);
    assert_null(journal_depth(f->db, NULL, &pending, &age));
    assert_int_equal(pending, 3);
    assert_false(journal_wait_idle(f->db, NULL, 20));
}

/* A lost backend state gets sync_all() (with the all_routers hook's
 * documents) before any row at start, and again when health() reports it
 * while running. */
static void
test_lost_state_sync(void **state)
{
    struct fixture *f = *state;

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    int64_t seq = record(f, "fake", "router", "create", "s1", "s1", 0);
    config_destroy(f->cfg);
    fake.all = xcalloc(2, sizeof *fake.all);
    fake.all[0] = xstrdup("s1");
    fake.all[1] = xstrdup("s2");
    fake.n_all = 2;
    fake.lost_state = true;

    start(f, NULL, "health_interval_ms = 50\n");
    wait_idle(f);
    assert_int_equal(fake.syncs, 1);
    assert_int_equal(fake.synced_routers, 2);
    assert_true(fake.sync_ms <= fake.applies[applied_at(seq)].ms);

    pthread_mutex_lock(&fake.mutex);
    fake.lost_state = true;
    pthread_mutex_unlock(&fake.mutex);
    for (int i = 0; i < 200 && fake.syncs < 2; i++) {
        usleep(10 * 1000);
    }
    assert_int_equal(fake.syncs, 2);
}

/* A driver with a sync_all() gets one at start before any row, also when
 * its health() reports no lost state (it has not compared its backend
 * with the database since it started). */
static void
test_initial_sync(void **state)
{
    struct fixture *f = *state;

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    int64_t seq = record(f, "fake", "router", "create", "i1", "i1", 0);
    config_destroy(f->cfg);
    fake.lost_state = false;

    start(f, NULL, "health_interval_ms = 600000\n");
    wait_idle(f);
    assert_int_equal(fake.syncs, 1);
    assert_true(fake.sync_ms <= fake.applies[applied_at(seq)].ms);
}

/* journal_wake() makes a committed row go at once, without waiting for
 * the poll; a row committed by another process (no wake) is found by the
 * poll. */
static void
test_wake_and_poll(void **state)
{
    struct fixture *f = *state;

    start(f, NULL, "poll_interval_ms = 60000\nhealth_interval_ms = 600000\n");
    usleep(100 * 1000);          /* the dispatcher is asleep */
    int64_t t0 = now_ms();
    int64_t seq = record(f, "fake", "router", "create", "w1", "w1", 0);
    wait_state(f, seq, JOURNAL_COMPLETED);
    assert_true(now_ms() - t0 < 300);     /* not the 1 s maintenance tick */

    journal_stop();
    l3_registry_destroy();
    config_destroy(f->cfg);
    f->started = false;
    start(f, NULL, "poll_interval_ms = 100\nhealth_interval_ms = 600000\n");
    usleep(100 * 1000);
    /* A row from "another server": inserted without a wake-up. */
    sql(f, "INSERT INTO journal (driver, resource, operation, resource_id, "
        "router_id, revision, data, state, created_at, updated_at) VALUES "
        "('fake', 'router', 'create', 'w2', 'w2', 0, '{}', 'pending', "
        "'2001-01-01T00:00:00Z', '2001-01-01T00:00:00Z')");
    t0 = now_ms();
    assert_true(journal_wait_idle(f->db, "fake", 5000));
    assert_true(now_ms() - t0 < 600);
}

/* Stopping finishes the row being applied; the rows claimed with it but
 * not applied go back to pending with their attempt undone. */
static void
test_stop_unclaims(void **state)
{
    struct fixture *f = *state;
    char id[32];

    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "u%d", i);
        record(f, "fake", "router", "create", id, id, 0);
    }
    config_destroy(f->cfg);
    fake.delay_ms = 100;
    start(f, NULL, NULL);
    usleep(250 * 1000);
    journal_stop();

    int64_t done = count_rows(f, "state = 'completed'");
    assert_true(done >= 1 && done < 10);
    assert_int_equal(count_rows(f, "state = 'processing'"), 0);
    assert_int_equal(count_rows(f, "state = 'pending' AND attempts = 0"),
                     10 - done);
    assert_int_equal(fake.n_applies, done);
}

/* Rows of one router for two providers (a flavor change): the new
 * driver's create waits for the old driver's teardown. */
static void
test_order_across_providers(void **state)
{
    struct fixture *f = *state;

    start(f, "service_provider = L3_ROUTER_NAT:old:fake:default\n"
          "service_provider = L3_ROUTER_NAT:new:fake\n",
          "retry_backoff_initial_ms = 100\n");
    fake_script("teardown", 2, false);
    int64_t s1 = record(f, "old", "router", "delete", "teardown", "mig", 3);
    int64_t s2 = record(f, "new", "router", "create", "mig", "mig", 3);
    int64_t s3 = record(f, "new", "router", "create", "x", "x", 0);
    wait_idle(f);

    assert_int_equal(times_applied(s1), 3);
    assert_int_equal(times_applied(s2), 1);
    int last_s1 = -1;
    for (size_t i = 0; i < fake.n_applies; i++) {
        if (fake.applies[i].seq == s1) {
            last_s1 = i;
        }
    }
    assert_true(applied_at(s2) > last_s1);
    assert_true(applied_at(s3) < last_s1);   /* another router went on */
    assert_false(fake.overlap);
    assert_string_equal(fake.applies[applied_at(s1)].provider,
                        fake.applies[last_s1].provider);
    assert_string_not_equal(fake.applies[applied_at(s1)].provider,
                            fake.applies[applied_at(s2)].provider);
}

/* Two server processes on one MariaDB (distinct [DEFAULT] host) share the
 * work: every row is applied exactly once, and a router's rows in order.
 * On SQLite (one server per database file) there is nothing to test. */
static void
test_two_servers(void **state)
{
    struct fixture *f = *state;
    enum { ROUTERS = 16, PER_ROUTER = 25 };
    char router[32], id[64];
    char path[64] = "/tmp/test_journal-rec-XXXXXX";

    if (!is_mariadb()) {
        return;
    }
    f->cfg = make_config(f, HOST, ONE_PROVIDER, NULL);
    for (int k = 0; k < PER_ROUTER; k++) {
        for (int r = 0; r < ROUTERS; r++) {
            router_name(router, sizeof router, r);
            snprintf(id, sizeof id, "%s-%d", router, k);
            record(f, "fake", "floatingip", "update", id, router, k);
        }
    }
    config_destroy(f->cfg);
    f->cfg = NULL;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);

    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (!pids[i]) {
            /* A server: its own connection, registry and dispatcher. */
            struct config *cfg = make_config(f, i ? "server-b" : "server-a",
                                             ONE_PROVIDER,
                                             "batch_size = 8\n"
                                             "poll_interval_ms = 20\n");
            struct db *db;
            char errbuf[256];
            fake.record_fd = fd;
            fake.delay_ms = 1;
            if (l3_registry_add_class(&fake_class)
                || l3_registry_init(cfg)) {
                _exit(3);
            }
            journal_set_hooks(&fake_hooks);
            if (db_open(f->url, &db, errbuf, sizeof errbuf)) {
                _exit(4);
            }
            char *error = journal_start(cfg);
            if (error) {
                fprintf(stderr, "%s\n", error);
                _exit(5);
            }
            bool idle = journal_wait_idle(db, NULL, 60000);
            journal_stop();
            l3_registry_destroy();
            db_close(db);
            config_destroy(cfg);
            _exit(idle ? 0 : 6);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    /* Every row once; per router in seq order; both servers worked. */
    FILE *file = fdopen(fd, "r");
    rewind(file);
    static int64_t seen[ROUTERS * PER_ROUTER + 1];
    int64_t last[ROUTERS] = { 0 };
    int by_pid[2] = { 0 };
    int64_t seq;
    int pid, lines = 0;
    char r_id[64];
    memset(seen, 0, sizeof seen);
    while (fscanf(file, "%" SCNd64 " %63s %d", &seq, r_id, &pid) == 3) {
        int r = atoi(r_id + strlen("router-"));
        assert_true(seq >= 1 && seq <= ROUTERS * PER_ROUTER);
        assert_int_equal(seen[seq]++, 0);
        assert_true(seq > last[r]);
        last[r] = seq;
        by_pid[pid == pids[1]]++;
        lines++;
    }
    fclose(file);
    unlink(path);
    assert_int_equal(lines, ROUTERS * PER_ROUTER);
    assert_true(by_pid[0] > 0);
    assert_true(by_pid[1] > 0);
    assert_int_equal(count_rows(f, "state <> 'completed'"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(test_order_per_router),
        T(test_parallel_routers),
        T(test_chain_retry_mid_batch),
        T(test_retry_backoff),
        T(test_health_wakes_backoff),
        T(test_permanent_failure),
        T(test_replay_after_crash),
        T(test_stale_claim_taken_back),
        T(test_pruning),
        T(test_cancel_retry),
        T(test_list_and_depth),
        T(test_lost_state_sync),
        T(test_initial_sync),
        T(test_wake_and_poll),
        T(test_stop_unclaims),
        T(test_order_across_providers),
        T(test_two_servers),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
