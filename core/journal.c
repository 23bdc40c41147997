/* core/journal.c: the outbox between the services and the flavor drivers
 * (see journal.h for the contract).
 *
 * The module is one set of dispatchers per process: journal_start() makes a
 * `struct dispatcher` per provider of the registry, each a thread with its
 * own database connection.  A dispatcher loops:
 *
 *     every second: prune completed rows, take back stale claims
 *     every health_interval_ms: health(), maybe sync_all()
 *     claim a batch of rows, many routers, a chain of rows per router
 *         (one write transaction; see "Claiming" below)
 *     build each router's document (one read transaction)
 *     apply each row in order, record the results (one write
 *         transaction per batch, or per row for a slow driver)
 *     no row: sleep until journal_wake(), the poll interval, a backed-off
 *             row falling due, or the next maintenance
 *
 * Wake-ups go through one mutex and condition variable with a generation
 * counter, so a wake between a claim and the sleep is never lost.  The
 * operator functions (journal_list, journal_retry...) work on any
 * connection and need no dispatcher. */
#include "core/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"

#define MOD "journal"

/* Maintenance (pruning, stale claims) runs this often, in ms. */
#define MAINTENANCE_INTERVAL_MS 1000
/* Results are recorded as soon as the batch has spent this long (ms) in
 * apply(): at once for a slow driver, so that a crash repeats little. */
#define FLUSH_INTERVAL_MS 10
/* Attempts at a transaction of the dispatcher before it gives up on it. */
#define TXN_ATTEMPTS 10

static const char *const state_names[] = {
    [JOURNAL_PENDING] = "pending",
    [JOURNAL_PROCESSING] = "processing",
    [JOURNAL_COMPLETED] = "completed",
    [JOURNAL_FAILED] = "failed",
    [JOURNAL_CANCELLED] = "cancelled",
};

const char *
journal_state_name(enum journal_state state)
{
    return (unsigned int) state < ARRAY_SIZE(state_names)
           ? state_names[state] : "?";
}

bool
journal_state_from_name(const char *name, enum journal_state *state)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(state_names); i++) {
        if (!strcmp(name, state_names[i])) {
            *state = i;
            return true;
        }
    }
    return false;
}

void
journal_row_destroy(struct journal_row *row)
{
    if (row) {
        free(row->data);
        row->data = NULL;
    }
}

void
journal_rows_free(struct journal_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        journal_row_destroy(&rows[i]);
    }
    free(rows);
}

/* Time. */

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
    return (int64_t) (time_monotonic_usec() / 1000);
}

/* The timestamp (as journal rows store it) of 'seconds_ago' seconds ago. */
static void
timestamp_ago(char buf[TIMESTAMP_LEN], int64_t seconds_ago)
{
    time_t t = time(NULL) - seconds_ago;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses a stored timestamp into seconds since the epoch (0 if bad). */
static int64_t
timestamp_parse(const char *s)
{
    struct tm tm = { 0 };
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

    return end ? (int64_t) timegm(&tm) : 0;
}

/* Recording. */

struct neutron_error *
journal_record(const struct op_ctx *ctx, const char *driver,
               const char *resource, const char *operation,
               const char *resource_id, const char *router_id,
               int64_t revision, const char *data)
{
    static const char sql[] =
        "INSERT INTO journal (driver, resource, operation, resource_id, "
        "router_id, revision, data, state, attempts, last_error, "
        "next_attempt_ms, claimed_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, '', 0, '', ?, ?)";
    char now[TIMESTAMP_LEN];
    struct db_stmt *stmt = db_prepare(ctx->db, sql);

    if (!stmt) {
        return store_db_error(ctx->db, DB_ERROR, "recording a journal entry");
    }
    timestamp_now(now);
    db_bind_text(stmt, 1, driver);
    db_bind_text(stmt, 2, resource);
    db_bind_text(stmt, 3, operation);
    db_bind_text(stmt, 4, resource_id);
    db_bind_text(stmt, 5, router_id);
    db_bind_int64(stmt, 6, revision);
    db_bind_text(stmt, 7, data ? data : "{}");
    db_bind_text(stmt, 8, now);
    db_bind_text(stmt, 9, now);
    int rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_DONE) {
        return store_db_error(ctx->db, rc, "recording a journal entry");
    }
    return NULL;
}

/* The dispatchers. */

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;         /* on CLOCK_MONOTONIC; see cond_init */
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static uint64_t wake_gen;           /* bumped by journal_wake() */
static bool stopping;               /* journal_stop() in progress */

static struct journal_hooks hooks;

struct dispatcher {
    const struct l3_provider *provider;
    const char *name;               /* the provider's name = rows' driver */
    const struct config *cfg;
    struct db *db;
    pthread_t thread;
    bool started;

    bool need_sync;                 /* sync_all() owed to the driver */
    bool unhealthy;                 /* the last health() said bad */
    bool orphans;                   /* results could not be recorded */
    int64_t next_health_ms;         /* monotonic */
    int64_t next_maintenance_ms;    /* monotonic */
    int64_t next_due_ms;            /* wall: earliest RETRY we backed off */
};

static struct dispatcher *dispatchers;
static size_t n_dispatchers;
static bool running;

static void
cond_init(void)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attr);
    pthread_condattr_destroy(&attr);
}

void
journal_set_hooks(const struct journal_hooks *h)
{
    hooks = h ? *h : (struct journal_hooks) { 0 };
}

void
journal_wake(void)
{
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&mutex);
    wake_gen++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&mutex);
}

/* One claimed row, and what its apply() answered. */
struct claimed {
    int64_t seq;
    char *resource;
    char *operation;
    char *resource_id;
    char *router_id;
    int64_t revision;
    char *data;
    int attempts;               /* including this one */
    char *router_doc;           /* NULL: no hook, or no such router */

    bool applied;
    enum hadron_l3_result result;
    char msg[1024];
    int64_t due_ms;             /* RETRY: when it is due again (wall) */
    bool failed_now;            /* recorded as failed by this dispatcher */
};

static void
claimed_clear(struct claimed *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].resource);
        free(c[i].operation);
        free(c[i].resource_id);
        free(c[i].router_id);
        free(c[i].data);
        free(c[i].router_doc);
    }
}

/* Column 'col' of the current row, or 'def' if it is NULL. */
static const char *
col_str(struct db_stmt *stmt, int col, const char *def)
{
    const char *s = db_col_text(stmt, col);

    return s ? s : def;
}

static char *
col_dup(struct db_stmt *stmt, int col)
{
    return xstrdup(col_str(stmt, col, ""));
}

/* Claiming, in two steps (journal.h, "Ordering").
 *
 * First the candidates: pending rows of 'driver' that are due, of routers
 * with no processing row, oldest first.  For a router they form a chain of
 * consecutive rows, applied one after the other in order.  The scan must
 * follow (driver, state, seq): left to itself MariaDB walks the primary
 * key through every completed row.
 *
 * Then the blockers of those routers: processing rows, and pending rows
 * that are not due or of another driver.  A candidate of a router with a
 * processing row, or after a blocker of its router, is dropped.  (On
 * MariaDB each statement reads the latest commits: a row another
 * dispatcher claimed since the first step is processing by now.)
 * A RETRY gives the router's later pending rows its due time (see
 * defer_router()), so the candidates rarely hold blocked rows; a dropped
 * row behind a row that is not due gets its due time too.  Checking the
 * blockers once for all candidates, rather than "no earlier blocking row"
 * for each candidate in SQL, keeps a claim linear in the backlog of the
 * routers concerned (MariaDB cannot range-scan a correlated subquery). */
#define CLAIM_SELECT(HINT)                                                  \
    "SELECT j.seq, j.resource, j.operation, j.resource_id, j.router_id, "   \
    "j.revision, j.data, j.attempts FROM journal j " HINT " "               \
    "WHERE j.driver = ? AND j.state = 'pending' "                           \
    "AND j.next_attempt_ms <= ? "                                           \
    "AND NOT EXISTS (SELECT 1 FROM journal e "                              \
    "WHERE e.router_id = j.router_id AND e.state = 'processing') "          \
    "ORDER BY j.seq LIMIT ?"
static const char claim_select_sqlite[] =
    CLAIM_SELECT("INDEXED BY journal_driver_state");
static const char claim_select_mariadb[] =
    CLAIM_SELECT("FORCE INDEX (journal_driver_state)");

/* Appends " (?, ?, ...)" binding the seqs of the 'n' rows of 'c'. */
static void
sql_seq_list(struct sql_buf *b, const struct claimed *c, size_t n)
{
    sql_add(b, " (");
    for (size_t i = 0; i < n; i++) {
        sql_add(b, i ? ", ?" : "?");
        sql_param_int(b, c[i].seq);
    }
    sql_in_pad(b, n);
    sql_add(b, ")");
}

static int
run_sql_buf(struct db *db, const struct sql_buf *b)
{
    struct db_stmt *stmt = sql_prepare(db, b);

    if (!stmt) {
        return DB_ERROR;
    }
    int rc = db_step(stmt);
    db_reset(stmt);
    return rc == DB_DONE ? DB_OK : rc;
}

/* MariaDB: locks the rows of 'c' that no other claimer holds and that are
 * still pending (a locking read sees the latest committed state), and
 * keeps, of each router's chain, only the rows locked from its first one
 * on without a gap: a row whose predecessor in the chain another server
 * holds (or has done since our snapshot) is left to that server's order. */
static int
claim_lock(struct db *db, struct claimed *c, size_t *n)
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_add(&b, "SELECT seq FROM journal WHERE state = 'pending' AND seq IN");
    sql_seq_list(&b, c, *n);
    sql_add(&b, " FOR UPDATE SKIP LOCKED");
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return DB_ERROR;
    }

    bool *locked = xcalloc(*n, sizeof *locked);
    while ((rc = db_step(stmt)) == DB_ROW) {
        int64_t seq = db_col_int64(stmt, 0);
        for (size_t i = 0; i < *n; i++) {
            if (c[i].seq == seq) {
                locked[i] = true;
            }
        }
    }
    db_reset(stmt);
    if (rc == DB_DONE) {
        /* 'c' is in seq order: a row stays if it and every earlier row of
         * its router in 'c' are locked. */
        for (size_t i = 0; i < *n; i++) {
            for (size_t j = 0; locked[i] && j < i; j++) {
                if (!locked[j] && !strcmp(c[j].router_id, c[i].router_id)) {
                    locked[i] = false;
                }
            }
        }
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
            if (locked[i]) {
                c[k++] = c[i];
            } else {
                claimed_clear(&c[i], 1);
            }
        }
        *n = k;
        rc = DB_OK;
    }
    free(locked);
    return rc;
}

/* Drops from 'c' the candidates that come after a blocker of their
 * router (see above), giving those behind a row that is not due its due
 * time. */
static int
drop_blocked(struct dispatcher *d, struct claimed *c, size_t *n,
             int64_t now_ms)
{
    struct sql_buf b;
    size_t n_routers = 0;
    char **routers = xcalloc(*n, sizeof *routers);
    int rc;

    for (size_t i = 0; i < *n; i++) {
        size_t j;
        for (j = 0; j < n_routers && strcmp(routers[j], c[i].router_id);
             j++) {
            continue;
        }
        if (j == n_routers) {
            routers[n_routers++] = c[i].router_id;
        }
    }
    sql_init(&b);
    sql_add(&b, "SELECT router_id, seq, next_attempt_ms, state "
            "FROM journal WHERE state IN ('pending', 'processing') "
            "AND router_id IN (");
    sql_param_list(&b, routers, n_routers);
    sql_add(&b, ") AND (state = 'processing' OR next_attempt_ms > ? "
            "OR driver <> ?) ORDER BY seq");
    sql_param_int(&b, now_ms);
    sql_param(&b, d->name);
    struct db_stmt *stmt = sql_prepare(d->db, &b);
    sql_destroy(&b);
    free(routers);
    if (!stmt) {
        return DB_ERROR;
    }

    /* For each candidate: the first blocker of its router, if earlier. */
    int64_t *until = xcalloc(*n, sizeof *until);   /* due time to give */
    bool *blocked = xcalloc(*n, sizeof *blocked);
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *router = db_col_text(stmt, 0);
        int64_t seq = db_col_int64(stmt, 1);
        int64_t due = db_col_int64(stmt, 2);
        const char *state = db_col_text(stmt, 3);
        bool busy = state && !strcmp(state, "processing");
        for (size_t i = 0; router && i < *n; i++) {
            if (!blocked[i] && (busy || c[i].seq > seq)
                && !strcmp(c[i].router_id, router)) {
                blocked[i] = true;
                until[i] = due > now_ms ? due : 0;
            }
        }
    }
    db_reset(stmt);
    if (rc == DB_DONE) {
        rc = DB_OK;
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
            if (!blocked[i]) {
                c[k++] = c[i];
                continue;
            }
            if (until[i] && !rc) {
                stmt = db_prepare(d->db, "UPDATE journal "
                                  "SET next_attempt_ms = ? WHERE seq = ? "
                                  "AND state = 'pending'");
                if (!stmt) {
                    rc = DB_ERROR;
                } else {
                    db_bind_int64(stmt, 1, until[i]);
                    db_bind_int64(stmt, 2, c[i].seq);
                    rc = db_step(stmt) == DB_DONE ? DB_OK : DB_ERROR;
                    db_reset(stmt);
                }
            }
            claimed_clear(&c[i], 1);
        }
        *n = k;
    }
    free(until);
    free(blocked);
    return rc;
}

/* Claims up to 'max' rows into 'c' in one transaction.  Returns DB_OK and
 * the count in '*n', or a db_rc (nothing claimed). */
static int
claim_batch(struct dispatcher *d, struct claimed *c, size_t max, size_t *n)
{
    char now[TIMESTAMP_LEN];
    int rc;

    *n = 0;
    rc = db_begin(d->db, true);
    if (rc) {
        return rc;
    }
    struct db_stmt *stmt = db_prepare(d->db,
                                      db_engine(d->db) == DB_ENGINE_MARIADB
                                      ? claim_select_mariadb
                                      : claim_select_sqlite);
    if (!stmt) {
        rc = DB_ERROR;
        goto fail;
    }
    int64_t now_ms = wall_ms();
    db_bind_text(stmt, 1, d->name);
    db_bind_int64(stmt, 2, now_ms);
    db_bind_int64(stmt, 3, (int64_t) max);
    while ((rc = db_step(stmt)) == DB_ROW) {
        struct claimed *r = &c[(*n)++];
        *r = (struct claimed) {
            .seq = db_col_int64(stmt, 0),
            .resource = col_dup(stmt, 1),
            .operation = col_dup(stmt, 2),
            .resource_id = col_dup(stmt, 3),
            .router_id = col_dup(stmt, 4),
            .revision = db_col_int64(stmt, 5),
            .data = col_dup(stmt, 6),
            .attempts = (int) db_col_int64(stmt, 7) + 1,
        };
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        goto fail;
    }
    if (*n) {
        rc = drop_blocked(d, c, n, now_ms);
        if (rc) {
            goto fail;
        }
    }
    if (*n && db_engine(d->db) == DB_ENGINE_MARIADB) {
        rc = claim_lock(d->db, c, n);
        if (rc) {
            goto fail;
        }
    }
    if (*n) {
        struct sql_buf b;

        timestamp_now(now);
        sql_init(&b);
        sql_add(&b, "UPDATE journal SET state = 'processing', "
                "attempts = attempts + 1, claimed_by = ?, updated_at = ? "
                "WHERE seq IN");
        sql_param(&b, d->cfg->host);
        sql_param(&b, now);
        sql_seq_list(&b, c, *n);
        rc = run_sql_buf(d->db, &b);
        sql_destroy(&b);
        if (rc) {
            goto fail;
        }
    }
    rc = db_commit(d->db);
    if (rc) {
        goto fail;
    }
    return DB_OK;

fail:
    db_rollback(d->db);
    claimed_clear(c, *n);
    *n = 0;
    return rc;
}

/* True for a row an ML2 mechanism driver recorded (journal.h, "L2
 * rows"): its router_id is a network's id. */
static bool
is_l2_row(const struct claimed *c)
{
    return !strcmp(c->resource, "network") || !strcmp(c->resource, "subnet")
           || !strcmp(c->resource, "port");
}

/* Fills the router document of every row of 'c', in one read
 * transaction so that the documents are consistent. */
static void
build_documents(struct dispatcher *d, struct claimed *c, size_t n)
{
    if (!hooks.router_document || !n) {
        return;
    }
    bool in_txn = !db_begin(d->db, false);
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < i; j++) {
            if (!strcmp(c[j].router_id, c[i].router_id)) {
                break;
            }
        }
        if (j < i) {
            c[i].router_doc = c[j].router_doc ? xstrdup(c[j].router_doc)
                                              : NULL;
        } else if (is_l2_row(&c[i])) {
            c[i].router_doc = hooks.l2_document
                              ? hooks.l2_document(d->db, d->name,
                                                  c[i].router_id)
                              : NULL;
        } else {
            c[i].router_doc = hooks.router_document(d->db, c[i].router_id);
        }
    }
    if (in_txn) {
        db_commit(d->db);
        db_rollback(d->db);
    }
}

/* The back-off of a row after its 'attempts'th attempt answered RETRY. */
static int64_t
backoff_ms(const struct config *cfg, int attempts)
{
    int64_t max = (int64_t) cfg->journal_retry_backoff_max * 1000;
    int64_t ms = cfg->journal_retry_backoff_initial_ms;

    for (int i = 1; i < attempts && ms < max; i++) {
        ms *= 2;
    }
    return ms < max ? ms : max;
}

static bool
is_delete(const struct claimed *c)
{
    return !strcmp(c->operation, "delete");
}

/* After a RETRY, whether the row has used up its attempts. */
static bool
gives_up(const struct dispatcher *d, const struct claimed *c)
{
    return c->result == HADRON_L3_RETRY && d->cfg->journal_max_attempts
           && c->attempts >= d->cfg->journal_max_attempts;
}

/* Calls the set_status hook; a retry request is returned as DB_RETRY,
 * anything else but a 404 is logged.  The removal of an interface is a
 * change of its router, which must not stay DOWN when it was the router's
 * last entry (the interface is gone: the router is found by its id). */
static int
set_status(struct dispatcher *d, const struct claimed *c, const char *status)
{
    struct neutron_error *error;
    bool iface_delete = is_delete(c) && !strcmp(c->resource,
                                                "router_interface");

    if (!hooks.set_status || (is_delete(c) && !iface_delete)) {
        return DB_OK;
    }
    error = hooks.set_status(d->db, iface_delete ? "router" : c->resource,
                             iface_delete ? c->router_id : c->resource_id,
                             c->revision, status);
    if (!error) {
        return DB_OK;
    }
    int rc = DB_OK;
    if (neutron_error_is_retry(error)) {
        rc = DB_RETRY;
    } else if (error->kind != NE_NOT_FOUND) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "%s: entry %" PRId64 ": cannot set %s %s "
               "%s: %s", d->name, c->seq, c->resource, c->resource_id,
               status, error->message);
    }
    neutron_error_destroy(error);
    return rc;
}

/* Makes the pending rows of the router of 'c' that come after it due no
 * sooner than it, so that the claims skip them while it backs off. */
static int
defer_router(struct dispatcher *d, const struct claimed *c)
{
    struct db_stmt *stmt = db_prepare(
        d->db, "UPDATE journal SET next_attempt_ms = ? "
        "WHERE state = 'pending' AND router_id = ? AND seq > ? "
        "AND next_attempt_ms < ?");

    if (!stmt) {
        return DB_ERROR;
    }
    db_bind_int64(stmt, 1, c->due_ms);
    db_bind_text(stmt, 2, c->router_id);
    db_bind_int64(stmt, 3, c->seq);
    db_bind_int64(stmt, 4, c->due_ms);
    int rc = db_step(stmt);
    db_reset(stmt);
    return rc == DB_DONE ? DB_OK : rc;
}

/* Records, inside the open transaction, the rows of 'c' that applied OK
 * (one statement for all).  A row taken back meanwhile (a stale claim) is
 * left to its new owner, but its resource may still be set ACTIVE:
 * harmless, set_status() checks the revision. */
static int
record_completed(struct dispatcher *d, const struct claimed *c, size_t n,
                 const char *now)
{
    bool keep = d->cfg->journal_completed_retention > 0;
    struct sql_buf b;
    size_t n_ok = 0;
    int rc;

    sql_init(&b);
    if (keep) {
        sql_add(&b, "UPDATE journal SET state = 'completed', "
                "last_error = '', claimed_by = '', updated_at = ? ");
        sql_param(&b, now);
    } else {
        sql_add(&b, "DELETE FROM journal ");
    }
    sql_add(&b, "WHERE state = 'processing' AND claimed_by = ? AND seq IN (");
    sql_param(&b, d->cfg->host);
    for (size_t i = 0; i < n; i++) {
        if (c[i].applied && c[i].result == HADRON_L3_OK) {
            sql_add(&b, n_ok++ ? ", ?" : "?");
            sql_param_int(&b, c[i].seq);
        }
    }
    sql_in_pad(&b, n_ok);
    sql_add(&b, ")");
    rc = n_ok ? run_sql_buf(d->db, &b) : DB_OK;
    sql_destroy(&b);
    return rc;
}

/* Records the result of one row that did not apply OK inside the open
 * transaction (OK rows: record_completed()). */
static int
record_result(struct dispatcher *d, struct claimed *c, const char *now)
{
    static const char retry_sql[] =
        "UPDATE journal SET state = 'pending', last_error = ?, "
        "next_attempt_ms = ?, claimed_by = '', updated_at = ? "
        "WHERE seq = ? AND state = 'processing' AND claimed_by = ?";
    static const char failed_sql[] =
        "UPDATE journal SET state = 'failed', last_error = ?, "
        "claimed_by = '', updated_at = ? WHERE seq = ? "
        "AND state = 'processing' AND claimed_by = ?";
    static const char unclaim_sql[] =
        "UPDATE journal SET state = 'pending', attempts = attempts - 1, "
        "claimed_by = '', updated_at = ? WHERE seq = ? "
        "AND state = 'processing' AND claimed_by = ?";
    const char *host = d->cfg->host;
    struct db_stmt *stmt;
    char reason[1100];
    bool failed = c->applied && (c->result == HADRON_L3_FAILED
                                 || gives_up(d, c));

    if (c->applied && c->result == HADRON_L3_OK) {
        return DB_OK;
    } else if (!c->applied) {
        stmt = db_prepare(d->db, unclaim_sql);
        if (!stmt) {
            return DB_ERROR;
        }
        db_bind_text(stmt, 1, now);
        db_bind_int64(stmt, 2, c->seq);
        db_bind_text(stmt, 3, host);
    } else if (!failed) {
        stmt = db_prepare(d->db, retry_sql);
        if (!stmt) {
            return DB_ERROR;
        }
        db_bind_text(stmt, 1, c->msg);
        db_bind_int64(stmt, 2, c->due_ms);
        db_bind_text(stmt, 3, now);
        db_bind_int64(stmt, 4, c->seq);
        db_bind_text(stmt, 5, host);
    } else {
        if (c->result == HADRON_L3_RETRY) {
            snprintf(reason, sizeof reason, "gave up after %d attempts: %s",
                     c->attempts, c->msg);
        } else {
            snprintf(reason, sizeof reason, "%s", c->msg);
        }
        stmt = db_prepare(d->db, failed_sql);
        if (!stmt) {
            return DB_ERROR;
        }
        db_bind_text(stmt, 1, reason);
        db_bind_text(stmt, 2, now);
        db_bind_int64(stmt, 3, c->seq);
        db_bind_text(stmt, 4, host);
    }
    int rc = db_step(stmt);
    int64_t changed = db_changes(stmt);
    db_reset(stmt);
    if (rc != DB_DONE) {
        return rc;
    }
    /* Unless taken back meanwhile (a stale claim: its new owner reports). */
    c->failed_now = failed && changed;
    return DB_OK;
}

/* Logs what the driver answered, once the results are committed. */
static void
log_result(struct dispatcher *d, const struct claimed *c)
{
    if (!c->applied) {
        LOG_DBG(MOD, "%s: entry %" PRId64 " (%s %s %s) back to pending",
                d->name, c->seq, c->operation, c->resource, c->resource_id);
    } else if (c->result == HADRON_L3_OK) {
        LOG_DBG(MOD, "%s: entry %" PRId64 " (%s %s %s) applied", d->name,
                c->seq, c->operation, c->resource, c->resource_id);
    } else if (c->result == HADRON_L3_FAILED || gives_up(d, c)) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "%s: entry %" PRId64 " (%s %s %s of "
               "router %s) failed%s: %s", d->name, c->seq, c->operation,
               c->resource, c->resource_id, c->router_id,
               c->result == HADRON_L3_RETRY ? " after its last attempt" : "",
               c->msg[0] ? c->msg : "(no reason given)");
    } else {
        /* The registry's wrapper has logged the reason. */
        LOG_DBG(MOD, "%s: entry %" PRId64 " (%s %s %s): attempt %d will be "
                "retried in %" PRId64 " ms", d->name, c->seq, c->operation,
                c->resource, c->resource_id, c->attempts,
                backoff_ms(d->cfg, c->attempts));
    }
}

/* Records the results of 'c' in one transaction, retried on conflicts.
 * If that fails the rows stay processing: 'orphans' makes the next
 * maintenance take them back. */
static void
record_results(struct dispatcher *d, struct claimed *c, size_t n)
{
    char now[TIMESTAMP_LEN];
    int rc = DB_OK;

    if (!n) {
        return;
    }
    for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
        if (attempt) {
            struct timespec ts = { 0, 1000000L << (attempt < 6 ? attempt : 6) };
            nanosleep(&ts, NULL);
        }
        timestamp_now(now);
        rc = db_begin(d->db, true);
        rc = rc ? rc : record_completed(d, c, n, now);
        for (size_t i = 0; !rc && i < n; i++) {
            if (c[i].applied && c[i].result == HADRON_L3_RETRY) {
                c[i].due_ms = wall_ms() + backoff_ms(d->cfg, c[i].attempts);
            }
            rc = record_result(d, &c[i], now);
        }
        for (size_t i = 0; !rc && i < n; i++) {
            if (c[i].applied && c[i].result == HADRON_L3_RETRY
                && !gives_up(d, &c[i])) {
                rc = defer_router(d, &c[i]);
            }
        }
        /* The statuses, in commit order. */
        for (size_t i = 0; !rc && i < n; i++) {
            if (c[i].applied && c[i].result == HADRON_L3_OK) {
                rc = set_status(d, &c[i], "ACTIVE");
            } else if (c[i].failed_now) {
                rc = set_status(d, &c[i], "ERROR");
            }
        }
        if (!rc) {
            rc = db_commit(d->db);
        }
        if (!rc) {
            break;
        }
        db_rollback(d->db);
        if (rc != DB_RETRY) {
            break;
        }
    }
    if (rc) {
        /* The database going away is an outage, not a bug: the entries
         * are orphans, run again once it is back. */
        LOG_RL(db_connection_lost(d->db) ? LOG_LEVEL_WARN : LOG_LEVEL_ERR,
               MOD, "%s: cannot record the results of %zu entries: %s",
               d->name, n, db_errmsg(d->db));
        d->orphans = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        log_result(d, &c[i]);
        if (c[i].applied && c[i].result == HADRON_L3_RETRY
            && !gives_up(d, &c[i])) {
            if (!d->next_due_ms || c[i].due_ms < d->next_due_ms) {
                d->next_due_ms = c[i].due_ms;
            }
        }
    }
}

static bool
is_stopping(void)
{
    pthread_mutex_lock(&mutex);
    bool s = stopping;
    pthread_mutex_unlock(&mutex);
    return s;
}

/* True if an earlier row of the router of row 'i' in the batch answered
 * RETRY: the rest of the router's chain waits behind it. */
static bool
held_back(const struct dispatcher *d, const struct claimed *c, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (c[j].applied && c[j].result == HADRON_L3_RETRY
            && !gives_up(d, &c[j])
            && !strcmp(c[j].router_id, c[i].router_id)) {
            return true;
        }
    }
    return false;
}

/* Applies the claimed rows in order, recording results as it goes. */
static void
apply_batch(struct dispatcher *d, struct claimed *c, size_t n)
{
    int64_t last_flush = mono_ms();
    size_t flushed = 0;

    build_documents(d, c, n);
    for (size_t i = 0; i < n; i++) {
        if (is_stopping()) {
            break;              /* the rest go back to pending */
        }
        if (held_back(d, c, i)) {
            continue;           /* goes back to pending behind its RETRY */
        }
        const struct hadron_l3_entry entry = {
            .seq = c[i].seq,
            .resource = c[i].resource,
            .operation = c[i].operation,
            .resource_id = c[i].resource_id,
            .router_id = c[i].router_id,
            .revision = c[i].revision,
            .data = c[i].data,
            .router = c[i].router_doc,
        };
        c[i].msg[0] = '\0';
        c[i].result = l3_provider_apply(d->provider, &entry, c[i].msg,
                                        sizeof c[i].msg);
        c[i].applied = true;
        if (mono_ms() - last_flush >= FLUSH_INTERVAL_MS && i + 1 < n) {
            record_results(d, c + flushed, i + 1 - flushed);
            flushed = i + 1;
            last_flush = mono_ms();
        }
    }
    record_results(d, c + flushed, n - flushed);
}

/* The backend is back: makes the driver's backed-off pending rows (and
 * those deferred behind them) due now, so that the next claim takes
 * them. */
static void
wake_backed_off(struct dispatcher *d)
{
    struct db_stmt *stmt = db_prepare(d->db, "UPDATE journal "
                                      "SET next_attempt_ms = 0 "
                                      "WHERE driver = ? AND state = 'pending' "
                                      "AND next_attempt_ms > ?");

    if (!stmt) {
        return;
    }
    db_bind_text(stmt, 1, d->name);
    db_bind_int64(stmt, 2, wall_ms());
    if (db_step(stmt) == DB_DONE && db_changes(stmt)) {
        LOG_INFO(MOD, "%s: backend healthy again: %" PRId64 " backed-off "
                 "entries due now", d->name, db_changes(stmt));
    }
    db_reset(stmt);
    d->next_due_ms = 0;
}

/* Asks the driver's health() and, when it lost its state or a sync is
 * owed (the first one at start, for drivers with a sync_all()), gives it
 * every router through sync_all(). */
static void
check_health(struct dispatcher *d)
{
    char msg[1024] = "";
    bool lost = false;

    /* The registry's wrapper logs changes of health and a lost state. */
    bool healthy = l3_provider_health(d->provider, &lost, msg, sizeof msg);
    if (healthy && d->unhealthy) {
        wake_backed_off(d);
    }
    d->unhealthy = !healthy;
    if (lost) {
        d->need_sync = true;
    }
    if (!d->need_sync) {
        return;
    }
    if (!hooks.all_routers) {
        if (lost) {
            LOG_RL(LOG_LEVEL_WARN, MOD, "%s: no router list to sync from "
                   "(L3 core not loaded)", d->name);
        }
        d->need_sync = false;
        return;
    }

    char **docs = NULL;
    size_t n = 0;
    struct neutron_error *error = NULL;
    int rc = db_begin(d->db, false);
    if (!rc) {
        error = hooks.all_routers(d->db, d->name, &docs, &n);
        db_commit(d->db);
        db_rollback(d->db);
    }
    if (rc || error) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "%s: cannot read the routers to sync: %s",
               d->name, error ? error->message : db_errmsg(d->db));
        neutron_error_destroy(error);
        return;                 /* again at the next health check */
    }

    msg[0] = '\0';
    enum hadron_l3_result result = l3_provider_sync_all(
        d->provider, (const char *const *) docs, n, msg, sizeof msg);
    /* The wrapper logs the outcome.  RETRY: again at the next health
     * check, rows waiting; FAILED: rows go on. */
    if (result != HADRON_L3_RETRY) {
        d->need_sync = false;
    }
    for (size_t i = 0; i < n; i++) {
        free(docs[i]);
    }
    free(docs);
}

/* Deletes completed rows older than the retention (journal_state_updated
 * finds them), and takes back claims that no dispatcher will finish: ours
 * after a failure to record results, other servers' after
 * claim_timeout. */
static void
maintenance(struct dispatcher *d)
{
    char cutoff[TIMESTAMP_LEN], now[TIMESTAMP_LEN];
    const struct config *cfg = d->cfg;
    struct db_stmt *stmt;

    /* Pruning is for every driver, by the first dispatcher alone. */
    if (d == &dispatchers[0]) {
        timestamp_ago(cutoff, cfg->journal_completed_retention);
        stmt = db_prepare(d->db, "DELETE FROM journal "
                          "WHERE state = 'completed' AND updated_at < ?");
        if (stmt) {
            db_bind_text(stmt, 1, cutoff);
            if (db_step(stmt) == DB_DONE && db_changes(stmt)) {
                LOG_DBG(MOD, "pruned %" PRId64 " completed entries",
                        db_changes(stmt));
            }
            db_reset(stmt);
        }
    }

    timestamp_now(now);
    timestamp_ago(cutoff, cfg->journal_claim_timeout);
    stmt = db_prepare(d->db, "UPDATE journal SET state = 'pending', "
                      "claimed_by = '', updated_at = ? WHERE driver = ? "
                      "AND state = 'processing' AND (claimed_by = ? "
                      "OR (claimed_by <> ? AND updated_at < ?))");
    if (!stmt) {
        return;
    }
    /* Ours are orphans only after a failure to record: otherwise this
     * thread, which is not applying now, holds none. */
    db_bind_text(stmt, 1, now);
    db_bind_text(stmt, 2, d->name);
    db_bind_text(stmt, 3, d->orphans ? cfg->host : "");
    db_bind_text(stmt, 4, cfg->host);
    db_bind_text(stmt, 5, cutoff);
    int rc = db_step(stmt);
    int64_t changed = db_changes(stmt);
    db_reset(stmt);
    if (rc == DB_DONE) {
        d->orphans = false;
        if (changed) {
            LOG_WARN(MOD, "%s: %" PRId64 " entries claimed but never "
                     "finished are pending again", d->name, changed);
            journal_wake();
        }
    }
}

/* Sleeps until a wake-up newer than 'gen', stop, or 'ms' ms. */
static void
wait_for_work(uint64_t gen, int64_t ms)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mutex);
    while (!stopping && wake_gen == gen) {
        if (pthread_cond_timedwait(&cond, &mutex, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&mutex);
}

static void *
dispatcher_main(void *d_)
{
    struct dispatcher *d = d_;
    const struct config *cfg = d->cfg;
    size_t max = cfg->journal_batch_size;
    struct claimed *c = xcalloc(max, sizeof *c);
    char thread_name[16];

    snprintf(thread_name, sizeof thread_name, "jrnl-%s", d->name);
    pthread_setname_np(pthread_self(), thread_name);

    for (;;) {
        pthread_mutex_lock(&mutex);
        uint64_t gen = wake_gen;
        bool stop = stopping;
        pthread_mutex_unlock(&mutex);
        if (stop) {
            break;
        }

        int64_t now = mono_ms();
        if (now >= d->next_health_ms) {
            check_health(d);
            d->next_health_ms = now + cfg->journal_health_interval_ms;
        }
        if (now >= d->next_maintenance_ms) {
            maintenance(d);
            d->next_maintenance_ms = now + MAINTENANCE_INTERVAL_MS;
        }

        size_t n = 0;
        if (!d->need_sync) {
            if (d->next_due_ms && wall_ms() >= d->next_due_ms) {
                d->next_due_ms = 0;
            }
            int rc = claim_batch(d, c, max, &n);
            if (rc && rc != DB_RETRY) {
                LOG_RL(LOG_LEVEL_WARN, MOD, "%s: cannot claim entries: %s",
                       d->name, db_errmsg(d->db));
            }
        }
        if (n) {
            apply_batch(d, c, n);
            claimed_clear(c, n);
            continue;
        }

        int64_t timeout = cfg->journal_poll_interval_ms;
        now = mono_ms();
        if (d->next_health_ms - now < timeout) {
            timeout = d->next_health_ms - now;
        }
        if (d->next_maintenance_ms - now < timeout) {
            timeout = d->next_maintenance_ms - now;
        }
        if (d->next_due_ms && d->next_due_ms - wall_ms() < timeout) {
            timeout = d->next_due_ms - wall_ms();
        }
        if (timeout > 0) {
            wait_for_work(gen, timeout);
            /* Woken by a commit: let a few more commits land so that one
             * claim takes them together (on SQLite every claim is a write
             * that queues behind the API's writers). */
            if (cfg->journal_coalesce_us) {
                pthread_mutex_lock(&mutex);
                bool woken = wake_gen != gen;
                pthread_mutex_unlock(&mutex);
                if (woken) {
                    struct timespec ts = {
                        cfg->journal_coalesce_us / 1000000,
                        cfg->journal_coalesce_us % 1000000 * 1000L };
                    nanosleep(&ts, NULL);
                }
            }
        }
    }
    free(c);
    return NULL;
}

/* At start: takes back the rows a previous life of this server (or, on
 * MariaDB, a server gone for longer than claim_timeout) left processing,
 * and warns about rows of drivers that are not configured. */
static char *
reset_interrupted(const struct config *cfg)
{
    char errbuf[512], now[TIMESTAMP_LEN], cutoff[TIMESTAMP_LEN];
    struct db *db;
    struct db_stmt *stmt;
    char *error = NULL;
    int rc;

    if (db_open(cfg->connection, &db, errbuf, sizeof errbuf)) {
        return xasprintf("journal: cannot open the database: %s", errbuf);
    }
    timestamp_now(now);
    timestamp_ago(cutoff, cfg->journal_claim_timeout);
    if (db_engine(db) == DB_ENGINE_MARIADB) {
        stmt = db_prepare(db, "UPDATE journal SET state = 'pending', "
                          "claimed_by = '', updated_at = ? "
                          "WHERE state = 'processing' "
                          "AND (claimed_by = ? OR updated_at < ?)");
        if (stmt) {
            db_bind_text(stmt, 1, now);
            db_bind_text(stmt, 2, cfg->host);
            db_bind_text(stmt, 3, cutoff);
        }
    } else {
        stmt = db_prepare(db, "UPDATE journal SET state = 'pending', "
                          "claimed_by = '', updated_at = ? "
                          "WHERE state = 'processing'");
        if (stmt) {
            db_bind_text(stmt, 1, now);
        }
    }
    rc = stmt ? db_step(stmt) : DB_ERROR;
    if (rc != DB_DONE) {
        error = xasprintf("journal: cannot reset interrupted entries: %s",
                          db_errmsg(db));
        goto out;
    }
    if (db_changes(stmt)) {
        LOG_INFO(MOD, "%" PRId64 " entries interrupted by a stop are pending "
                 "again", db_changes(stmt));
    }
    db_reset(stmt);

    stmt = db_prepare(db, "SELECT driver, COUNT(*) FROM journal "
                      "WHERE state IN ('pending', 'processing') "
                      "GROUP BY driver");
    if (!stmt) {
        error = xasprintf("journal: cannot read the journal: %s",
                          db_errmsg(db));
        goto out;
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *driver = db_col_text(stmt, 0);
        if (driver && !l3_provider_find(driver)) {
            LOG_WARN(MOD, "%" PRId64 " entries wait for '%s', which is not a "
                     "configured service provider: their routers' later "
                     "entries wait too (hadron-manage journal cancel)",
                     db_col_int64(stmt, 1), driver);
        }
    }
    db_reset(stmt);

out:
    db_close(db);
    return error;
}

char *
journal_start(const struct config *cfg)
{
    char errbuf[512];
    char *error;

    pthread_once(&cond_once, cond_init);
    if (running) {
        return xstrdup("journal: already started");
    }
    error = reset_interrupted(cfg);
    if (error) {
        return error;
    }

    pthread_mutex_lock(&mutex);
    stopping = false;
    pthread_mutex_unlock(&mutex);

    n_dispatchers = l3_provider_count();
    dispatchers = xcalloc(n_dispatchers ? n_dispatchers : 1,
                          sizeof *dispatchers);
    running = true;
    for (size_t i = 0; i < n_dispatchers; i++) {
        struct dispatcher *d = &dispatchers[i];

        d->provider = l3_provider_at(i);
        d->name = l3_provider_name(d->provider);
        d->cfg = cfg;
        /* A driver with a sync_all() of its own has not compared its
         * backend with the database since it started: it gets a full sync
         * before any entry (a quiet one; a lost state later is a WARN). */
        d->need_sync = l3_provider_has_sync_all(d->provider);
        if (db_open(cfg->connection, &d->db, errbuf, sizeof errbuf)) {
            error = xasprintf("journal: %s: cannot open the database: %s",
                              d->name, errbuf);
            break;
        }
        int err = pthread_create(&d->thread, NULL, dispatcher_main, d);
        if (err) {
            error = xasprintf("journal: %s: cannot start a thread: %s",
                              d->name, strerror(err));
            break;
        }
        d->started = true;
    }
    if (error) {
        journal_stop();
        return error;
    }
    LOG_INFO(MOD, "dispatching to %zu service providers", n_dispatchers);
    return NULL;
}

void
journal_stop(void)
{
    if (!running) {
        return;
    }
    pthread_mutex_lock(&mutex);
    stopping = true;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&mutex);

    for (size_t i = 0; i < n_dispatchers; i++) {
        if (dispatchers[i].started) {
            pthread_join(dispatchers[i].thread, NULL);
        }
        db_close(dispatchers[i].db);
    }
    free(dispatchers);
    dispatchers = NULL;
    n_dispatchers = 0;
    running = false;
    pthread_mutex_lock(&mutex);
    stopping = false;
    pthread_mutex_unlock(&mutex);
}

/* Operator actions. */

static const char row_columns[] =
    "seq, driver, resource, operation, resource_id, router_id, revision, "
    "data, state, attempts, last_error, created_at, updated_at, "
    "next_attempt_ms, claimed_by";

static void
row_from_stmt(struct db_stmt *stmt, struct journal_row *row)
{
    const char *state = db_col_text(stmt, 8);

    memset(row, 0, sizeof *row);
    row->seq = db_col_int64(stmt, 0);
    str_copy(row->driver, col_str(stmt, 1, ""), sizeof row->driver);
    str_copy(row->resource, col_str(stmt, 2, ""), sizeof row->resource);
    str_copy(row->operation, col_str(stmt, 3, ""),
             sizeof row->operation);
    str_copy(row->resource_id, col_str(stmt, 4, ""),
             sizeof row->resource_id);
    str_copy(row->router_id, col_str(stmt, 5, ""),
             sizeof row->router_id);
    row->revision = db_col_int64(stmt, 6);
    row->data = xstrdup(col_str(stmt, 7, "{}"));
    if (!journal_state_from_name(state, &row->state)) {
        row->state = JOURNAL_FAILED;
    }
    row->attempts = (int) db_col_int64(stmt, 9);
    str_copy(row->last_error, col_str(stmt, 10, ""),
             sizeof row->last_error);
    str_copy(row->created_at, col_str(stmt, 11, ""),
             sizeof row->created_at);
    str_copy(row->updated_at, col_str(stmt, 12, ""),
             sizeof row->updated_at);
    row->next_attempt_ms = db_col_int64(stmt, 13);
    str_copy(row->claimed_by, col_str(stmt, 14, ""),
             sizeof row->claimed_by);
}

static struct neutron_error *
bad_state(const char *state)
{
    return neutron_error_invalid_input(
        "Invalid input for operation: '%s' is not a journal entry state "
        "(pending, processing, completed, failed, cancelled).", state);
}

struct neutron_error *
journal_query(struct db *db, const struct journal_filter *f,
              struct journal_row **rowsp, size_t *np)
{
    struct journal_row *rows = NULL;
    size_t n = 0, cap = 0;
    struct sql_buf b;
    struct neutron_error *error = NULL;
    enum journal_state st;
    int rc;

    *rowsp = NULL;
    *np = 0;
    for (size_t i = 0; i < f->n_states; i++) {
        if (!journal_state_from_name(f->states[i], &st)) {
            return bad_state(f->states[i]);
        }
    }
    sql_init(&b);
    sql_addf(&b, "SELECT %s FROM journal WHERE seq > ?", row_columns);
    sql_param_int(&b, f->after_seq);
    if (f->n_states) {
        sql_add(&b, " AND state IN (");
        sql_param_list(&b, (char *const *) f->states, f->n_states);
        sql_add(&b, ")");
    }
    if (f->n_drivers) {
        sql_add(&b, " AND driver IN (");
        sql_param_list(&b, (char *const *) f->drivers, f->n_drivers);
        sql_add(&b, ")");
    }
    sql_add(&b, " ORDER BY seq");
    if (f->limit) {
        sql_addf(&b, " LIMIT %zu", f->limit);
    }

    rc = db_begin(db, false);
    if (rc) {
        error = store_db_error(db, rc, "reading the journal");
        goto out;
    }
    struct db_stmt *stmt = sql_prepare(db, &b);
    if (!stmt) {
        db_rollback(db);
        error = store_db_error(db, DB_ERROR, "reading the journal");
        goto out;
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            rows = xrealloc(rows, cap * sizeof *rows);
        }
        row_from_stmt(stmt, &rows[n++]);
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(db, rc, "reading the journal");
        db_rollback(db);
        journal_rows_free(rows, n);
        goto out;
    }
    db_commit(db);
    db_rollback(db);
    *rowsp = rows;
    *np = n;
out:
    sql_destroy(&b);
    return error;
}

struct neutron_error *
journal_list(struct db *db, const char *state, const char *driver,
             size_t limit, struct journal_row **rows, size_t *n)
{
    const struct journal_filter f = {
        .states = &state,
        .n_states = state ? 1 : 0,
        .drivers = &driver,
        .n_drivers = driver ? 1 : 0,
        .limit = limit,
    };

    return journal_query(db, &f, rows, n);
}

static struct neutron_error *
not_found(int64_t seq)
{
    return neutron_error_create(NE_NOT_FOUND, "JournalEntryNotFound",
                                "Journal entry %" PRId64 " could not be "
                                "found.", seq);
}

struct neutron_error *
journal_get(struct db *db, int64_t seq, struct journal_row *row)
{
    char sql[512];
    struct neutron_error *error = NULL;

    memset(row, 0, sizeof *row);
    snprintf(sql, sizeof sql, "SELECT %s FROM journal WHERE seq = ?",
             row_columns);
    struct db_stmt *stmt = db_prepare(db, sql);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading the journal");
    }
    db_bind_int64(stmt, 1, seq);
    int rc = db_step(stmt);
    if (rc == DB_ROW) {
        row_from_stmt(stmt, row);
    } else if (rc == DB_DONE) {
        error = not_found(seq);
    } else {
        error = store_db_error(db, rc, "reading the journal");
    }
    db_reset(stmt);
    return error;
}

/* Runs 'update_sql' (binding 1: now, 2: 'seq') in its own transaction;
 * if it changes no row, answers 404 or a 409 saying the row cannot be
 * 'what'. */
static struct neutron_error *
change_state(struct db *db, int64_t seq, const char *update_sql,
             const char *what)
{
    char now[TIMESTAMP_LEN];
    struct journal_row row;
    struct neutron_error *error = NULL;

    for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
        neutron_error_destroy(error);
        error = NULL;
        int rc = db_begin(db, true);
        if (rc) {
            error = store_db_error(db, rc, "changing a journal entry");
            if (rc == DB_RETRY) {
                continue;
            }
            return error;
        }
        struct db_stmt *stmt = db_prepare(db, update_sql);
        if (!stmt) {
            db_rollback(db);
            return store_db_error(db, DB_ERROR, "changing a journal entry");
        }
        timestamp_now(now);
        db_bind_text(stmt, 1, now);
        db_bind_int64(stmt, 2, seq);
        rc = db_step(stmt);
        int64_t changed = db_changes(stmt);
        db_reset(stmt);
        if (rc == DB_DONE && !changed) {
            error = journal_get(db, seq, &row);
            if (!error) {
                error = neutron_error_create(
                    NE_CONFLICT, "JournalEntryConflict",
                    "Journal entry %" PRId64 " is %s: it cannot be %s.", seq,
                    journal_state_name(row.state), what);
                journal_row_destroy(&row);
            }
            db_rollback(db);
            return error;
        }
        if (rc == DB_DONE) {
            rc = db_commit(db);
        }
        if (!rc) {
            return NULL;
        }
        db_rollback(db);
        error = store_db_error(db, rc, "changing a journal entry");
        if (rc != DB_RETRY) {
            return error;
        }
    }
    return error;
}

struct neutron_error *
journal_retry(struct db *db, int64_t seq)
{
    struct neutron_error *error = change_state(
        db, seq,
        "UPDATE journal SET state = 'pending', attempts = 0, "
        "next_attempt_ms = 0, claimed_by = '', updated_at = ? "
        "WHERE seq = ? AND state IN ('failed', 'cancelled')",
        "retried (only failed and cancelled entries can)");

    if (!error) {
        LOG_INFO(MOD, "entry %" PRId64 " is pending again (retry)", seq);
        journal_wake();
    }
    return error;
}

struct neutron_error *
journal_cancel(struct db *db, int64_t seq)
{
    struct neutron_error *error = change_state(
        db, seq,
        "UPDATE journal SET state = 'cancelled', claimed_by = '', "
        "updated_at = ? WHERE seq = ? AND state IN ('pending', 'failed')",
        "cancelled (only pending and failed entries can)");

    if (!error) {
        /* The router's later rows waited for its back-off: not any more. */
        struct journal_row row;
        if (!journal_get(db, seq, &row)) {
            struct db_stmt *stmt = db_prepare(
                db, "UPDATE journal SET next_attempt_ms = 0 "
                "WHERE state = 'pending' AND router_id = ? AND seq > ?");
            if (stmt) {
                db_bind_text(stmt, 1, row.router_id);
                db_bind_int64(stmt, 2, seq);
                db_step(stmt);
                db_reset(stmt);
            }
            journal_row_destroy(&row);
        }
        LOG_INFO(MOD, "entry %" PRId64 " cancelled", seq);
        journal_wake();
    }
    return error;
}

struct neutron_error *
journal_depth(struct db *db, const char *driver, int64_t *pending,
              int64_t *oldest_age)
{
    struct db_stmt *stmt = db_prepare(
        db, driver
            ? "SELECT COUNT(*), MIN(created_at) FROM journal "
              "WHERE state = 'pending' AND driver = ?"
            : "SELECT COUNT(*), MIN(created_at) FROM journal "
              "WHERE state = 'pending'");

    *pending = 0;
    *oldest_age = 0;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading the journal");
    }
    if (driver) {
        db_bind_text(stmt, 1, driver);
    }
    int rc = db_step(stmt);
    if (rc == DB_ROW) {
        *pending = db_col_int64(stmt, 0);
        if (*pending) {
            int64_t oldest = timestamp_parse(db_col_text(stmt, 1));
            int64_t age = oldest ? (int64_t) time(NULL) - oldest : 0;
            *oldest_age = age > 0 ? age : 0;
        }
    }
    db_reset(stmt);
    if (rc != DB_ROW) {
        return store_db_error(db, rc, "reading the journal");
    }
    return NULL;
}

bool
journal_wait_idle(struct db *db, const char *driver, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    struct db_stmt *stmt;

    for (;;) {
        stmt = db_prepare(
            db, driver
                ? "SELECT COUNT(*) FROM journal WHERE state IN "
                  "('pending', 'processing') AND driver = ?"
                : "SELECT COUNT(*) FROM journal WHERE state IN "
                  "('pending', 'processing')");
        if (stmt) {
            if (driver) {
                db_bind_text(stmt, 1, driver);
            }
            int rc = db_step(stmt);
            int64_t count = rc == DB_ROW ? db_col_int64(stmt, 0) : -1;
            db_reset(stmt);
            if (!count) {
                return true;
            }
        }
        if (mono_ms() >= deadline) {
            return false;
        }
        struct timespec ts = { 0, 5 * 1000000 };
        nanosleep(&ts, NULL);
    }
}
