/* db/db.c: the engine-independent half of the storage interface.
 *
 * Parses the URL scheme and picks the engine (db/sqlite.c, db/mariadb.c),
 * keeps the per-connection statement cache and transaction state, checks
 * arguments before calling the engine's ops, and implements db_transact()
 * and db_exec_params().  See db/db.h for the contracts. */
#include "db/db.h"


#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "db/db-provider.h"

#define MOD "db"

/* Back-off between db_transact() attempts: attempt n waits a random time
 * in [base/2, base] with base = 2^n ms, at most DB_BACKOFF_MAX_MS. */
#define DB_BACKOFF_MAX_MS 100

void
db_set_error__(struct db *db, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(db->errmsg, sizeof db->errmsg, fmt, args);
    va_end(args);
}

static void
set_errbuf(char *errbuf, size_t errbuf_size, const char *msg)
{
    if (errbuf && errbuf_size) {
        str_copy(errbuf, msg, errbuf_size);
    }
}

/* Returns the text after "scheme://" if 'url' starts with it. */
static const char *
skip_scheme(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);

    if (!strncmp(url, scheme, n) && !strncmp(url + n, "://", 3)) {
        return url + n + 3;
    }
    return NULL;
}

/* Returns the text after "mysql://", "mysql+DRIVER://" or "mariadb://". */
static const char *
skip_mysql_scheme(const char *url)
{
    const char *rest = skip_scheme(url, "mysql");

    if (!rest) {
        rest = skip_scheme(url, "mariadb");
    }
    if (!rest && str_starts_with(url, "mysql+")) {
        const char *sep = strstr(url, "://");
        size_t driver_len = sep ? (size_t) (sep - url) - strlen("mysql+") : 0;

        if (driver_len && strspn(url + strlen("mysql+"),
                                 "abcdefghijklmnopqrstuvwxyz0123456789_")
                          == driver_len) {
            rest = sep + 3;
        }
    }
    return rest;
}

int
db_open(const char *url, struct db **dbp, char *errbuf, size_t errbuf_size)
{
    const struct db_class *class;
    const char *target;
    int rc;

    *dbp = NULL;
    if (!errbuf) {
        errbuf_size = 0;
    }
    if (!url) {
        set_errbuf(errbuf, errbuf_size, "no database URL given");
        return DB_ERROR;
    }

    if ((target = skip_scheme(url, "sqlite")) != NULL) {
        class = &sqlite_class;
        if (!target[0]) {
            target = ":memory:";
        } else if (target[0] == '/' && target[1]) {
            target++;
        } else {
            set_errbuf(errbuf, errbuf_size, "bad sqlite URL: expected "
                       "sqlite:///PATH, sqlite:////ABSOLUTE/PATH or "
                       "sqlite://");
            return DB_ERROR;
        }
    } else if ((target = skip_mysql_scheme(url)) != NULL) {
        class = &mariadb_class;
    } else {
        set_errbuf(errbuf, errbuf_size, "unsupported database URL: "
                   "expected sqlite://... or mysql://...");
        return DB_ERROR;
    }

    rc = class->open(target, dbp, errbuf, errbuf_size);
    if (rc != DB_OK) {
        *dbp = NULL;
        return DB_ERROR;
    }
    (*dbp)->class = class;
    return DB_OK;
}

/* Resets 'stmt' through its engine and updates the active count. */
static void
stmt_reset(struct db_stmt *stmt, bool clear_bindings)
{
    if (stmt->active) {
        stmt->active = false;
        stmt->db->n_active--;
    }
    if (clear_bindings) {
        stmt->bad_param = 0;
    }
    stmt->db->class->stmt_reset(stmt, clear_bindings);
}

/* Resets every statement that still has unread rows. */
static void
reset_active_stmts(struct db *db)
{
    struct db_stmt *stmt, *next;

    if (!db->n_active) {
        return;
    }
    HASH_ITER (hh, db->stmts, stmt, next) {
        if (stmt->active) {
            stmt_reset(stmt, false);
        }
    }
}

/* Generated SQL (filters, IN lists of varying length) makes the set of
 * statements open-ended, and MariaDB caps prepared statements per server:
 * past DB_STMT_CACHE_MAX the oldest half is dropped.  Only called between
 * transactions, when no caller holds a statement. */
#define DB_STMT_CACHE_MAX 512

/* Process-wide, for /metrics: statements in all caches, and prepared. */
static atomic_long stmts_cached, stmts_prepared;

void
db_get_stats(struct db_stats *s)
{
    s->statements_cached = atomic_load(&stmts_cached);
    s->statements_prepared = atomic_load(&stmts_prepared);
}

static void
uncache_stmt(struct db *db, struct db_stmt *stmt)
{
    HASH_DEL(db->stmts, stmt);
    free(stmt->sql);
    db->class->stmt_destroy(stmt);
    atomic_fetch_sub(&stmts_cached, 1);
}

static void
trim_stmt_cache(struct db *db)
{
    struct db_stmt *stmt, *next;
    unsigned int n = HASH_COUNT(db->stmts);

    if (n <= DB_STMT_CACHE_MAX) {
        return;
    }
    n -= DB_STMT_CACHE_MAX / 2;
    HASH_ITER (hh, db->stmts, stmt, next) {
        if (!n--) {
            break;
        }
        uncache_stmt(db, stmt);
    }
}

void
db_close(struct db *db)
{
    struct db_stmt *stmt, *next;

    if (!db) {
        return;
    }
    HASH_ITER (hh, db->stmts, stmt, next) {
        uncache_stmt(db, stmt);
    }
    db->class->close(db);
}

enum db_engine
db_engine(const struct db *db)
{
    return db->class->engine;
}

const char *
db_engine_name(enum db_engine engine)
{
    switch (engine) {
    case DB_ENGINE_SQLITE:
        return "sqlite";
    case DB_ENGINE_MARIADB:
        return "mariadb";
    }
    return "unknown";
}

const char *
db_errmsg(const struct db *db)
{
    return db->errmsg;
}

bool
db_connection_lost(const struct db *db)
{
    return db->lost;
}

int
db_exec(struct db *db, const char *sql)
{
    return db->class->exec(db, sql);
}

int
db_begin(struct db *db, bool write)
{
    int rc;

    if (db->in_txn) {
        db_set_error__(db, "db_begin: already in a transaction");
        return DB_ERROR;
    }
    /* A statement left with unread rows would keep an old snapshot (SQLite)
     * or result set alive into the new transaction. */
    reset_active_stmts(db);
    trim_stmt_cache(db);
    rc = db->class->begin(db, write);
    if (rc == DB_OK) {
        db->in_txn = true;
    }
    return rc;
}

int
db_commit(struct db *db)
{
    int rc;

    if (!db->in_txn) {
        db_set_error__(db, "db_commit: not in a transaction");
        return DB_ERROR;
    }
    rc = db->class->commit(db);
    if (rc == DB_OK) {
        db->in_txn = false;
    }
    return rc;
}

int
db_rollback(struct db *db)
{
    if (!db->in_txn) {
        return DB_OK;
    }
    reset_active_stmts(db);
    db->in_txn = false;
    return db->class->rollback(db);
}

bool
db_in_transaction(const struct db *db)
{
    return db->in_txn;
}

/* Sleeps before attempt 'attempt' + 1 of a transaction. */
static void
backoff(int attempt)
{
    static _Thread_local unsigned int seed;
    unsigned int base_ms = attempt < 7 ? 1u << attempt : DB_BACKOFF_MAX_MS;
    unsigned int usec;

    if (!seed) {
        seed = ((unsigned int) time_monotonic_usec()
                ^ (unsigned int) (uintptr_t) &seed);
    }
    if (base_ms > DB_BACKOFF_MAX_MS) {
        base_ms = DB_BACKOFF_MAX_MS;
    }
    usec = base_ms * 500 + (unsigned int) rand_r(&seed) % (base_ms * 500 + 1);

    struct timespec ts = {
        .tv_sec = usec / 1000000,
        .tv_nsec = (long) (usec % 1000000) * 1000,
    };
    while (nanosleep(&ts, &ts)) {
        continue;
    }
}

static const char *
retry_reason(const struct db *db)
{
    return db->errmsg[0] ? db->errmsg : "the transaction asked to retry";
}

int
db_transact(struct db *db, db_txn_fn *fn, void *arg, int max_attempts)
{
    int attempt;
    int rc = DB_RETRY;

    if (db->in_txn) {
        db_set_error__(db, "db_transact: already in a transaction");
        return DB_ERROR;
    }
    if (max_attempts < 1) {
        max_attempts = 1;
    }
    for (attempt = 1; attempt <= max_attempts; attempt++) {
        if (attempt > 1) {
            LOG_DBG(MOD, "transaction: retrying (attempt %d of %d): %s",
                    attempt, max_attempts, retry_reason(db));
            backoff(attempt - 1);
        }
        /* So that a DB_RETRY of 'fn' itself is not blamed on an old
         * error. */
        db->errmsg[0] = '\0';

        rc = db_begin(db, true);
        if (rc == DB_RETRY) {
            continue;
        } else if (rc != DB_OK) {
            return rc;
        }

        rc = fn(db, arg);
        if (rc == DB_OK) {
            rc = db_commit(db);
            if (rc == DB_OK) {
                return DB_OK;
            }
        }

        /* Keep the message of the failure, not of the rollback. */
        char errmsg[DB_ERRMSG_SIZE];
        str_copy(errmsg, db->errmsg, sizeof errmsg);
        db_rollback(db);
        str_copy(db->errmsg, errmsg, sizeof db->errmsg);
        if (rc != DB_RETRY) {
            return rc;
        }
    }
    LOG_WARN(MOD, "transaction: giving up after %d attempts: %s",
             max_attempts, retry_reason(db));
    return rc;
}

struct db_stmt *
db_prepare(struct db *db, const char *sql)
{
    struct db_stmt *stmt;

    HASH_FIND_STR(db->stmts, sql, stmt);
    if (stmt) {
        stmt_reset(stmt, true);
        return stmt;
    }

    stmt = db->class->stmt_create(db, sql);
    if (!stmt) {
        return NULL;
    }
    stmt->db = db;
    stmt->sql = xstrdup(sql);
    stmt->active = false;
    stmt->bad_param = 0;
    stmt->changes = 0;
    HASH_ADD_KEYPTR(hh, db->stmts, stmt->sql, strlen(stmt->sql), stmt);
    atomic_fetch_add(&stmts_cached, 1);
    long n = atomic_fetch_add(&stmts_prepared, 1) + 1;
    /* Which SQL keeps making new statements, when the count rises. */
    LOG_DBG(MOD, "statement %ld prepared: %.300s", n, sql);
    return stmt;
}

/* Returns true if 'idx' names a parameter of 'stmt'; otherwise remembers
 * the bad index for db_step() to report. */
static bool
check_param(struct db_stmt *stmt, int idx)
{
    if (stmt->active) {
        stmt_reset(stmt, false);
    }
    if (idx >= 1 && idx <= stmt->db->class->param_count(stmt)) {
        return true;
    }
    if (!stmt->bad_param) {
        stmt->bad_param = idx ? idx : -1;
    }
    return false;
}

void
db_bind_text(struct db_stmt *stmt, int idx, const char *value)
{
    if (check_param(stmt, idx)) {
        if (value) {
            stmt->db->class->bind_text(stmt, idx, value);
        } else {
            stmt->db->class->bind_null(stmt, idx);
        }
    }
}

void
db_bind_int64(struct db_stmt *stmt, int idx, int64_t value)
{
    if (check_param(stmt, idx)) {
        stmt->db->class->bind_int64(stmt, idx, value);
    }
}

void
db_bind_null(struct db_stmt *stmt, int idx)
{
    if (check_param(stmt, idx)) {
        stmt->db->class->bind_null(stmt, idx);
    }
}

int
db_step(struct db_stmt *stmt)
{
    struct db *db = stmt->db;
    int rc;

    if (stmt->bad_param) {
        db_set_error__(db, "parameter %d out of range (statement has %d): %s",
                       stmt->bad_param, db->class->param_count(stmt),
                       stmt->sql);
        return DB_ERROR;
    }
    rc = db->class->step(stmt);
    if (rc == DB_ROW) {
        if (!stmt->active) {
            stmt->active = true;
            db->n_active++;
        }
    } else if (stmt->active) {
        stmt->active = false;
        db->n_active--;
    }
    return rc;
}

int
db_col_count(struct db_stmt *stmt)
{
    return stmt->db->class->col_count(stmt);
}

static bool
col_valid(struct db_stmt *stmt, int col)
{
    return stmt->active && col >= 0 && col < db_col_count(stmt);
}

const char *
db_col_text(struct db_stmt *stmt, int col)
{
    return col_valid(stmt, col) ? stmt->db->class->col_text(stmt, col) : NULL;
}

int64_t
db_col_int64(struct db_stmt *stmt, int col)
{
    return col_valid(stmt, col) ? stmt->db->class->col_int64(stmt, col) : 0;
}

bool
db_col_is_null(struct db_stmt *stmt, int col)
{
    return col_valid(stmt, col) ? stmt->db->class->col_is_null(stmt, col)
                                : true;
}

int64_t
db_changes(struct db_stmt *stmt)
{
    return stmt->changes;
}

void
db_reset(struct db_stmt *stmt)
{
    if (stmt) {
        stmt_reset(stmt, true);
    }
}

int
db_exec_params(struct db *db, const char *sql, const char *const *params,
               size_t n_params)
{
    struct db_stmt *stmt = db_prepare(db, sql);
    int rc;

    if (!stmt) {
        return DB_ERROR;
    }
    for (size_t i = 0; i < n_params; i++) {
        db_bind_text(stmt, (int) i + 1, params[i]);
    }
    do {
        rc = db_step(stmt);
    } while (rc == DB_ROW);
    db_reset(stmt);
    return rc == DB_DONE ? DB_OK : rc;
}

/* ---- Background WAL checkpoints (SQLite) ---- */

struct db_checkpointer {
    struct db *db;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool stop;
    int interval_ms;
};

/* Runs 'sql', a "PRAGMA wal_checkpoint(MODE)"; stores the frames in the
 * WAL into '*log_frames' and returns DB_OK when the checkpoint went
 * through, DB_RETRY when readers or writers kept it from finishing. */
static int
wal_checkpoint(struct db *db, const char *sql, int64_t *log_frames)
{
    struct db_stmt *stmt = db_prepare(db, sql);
    int rc;

    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        /* (busy, frames in the WAL, frames checkpointed) */
        rc = db_col_int64(stmt, 0) ? DB_RETRY : DB_OK;
        *log_frames = db_col_int64(stmt, 1);
    }
    db_reset(stmt);
    return rc;
}

/* PASSIVE checkpoints never wait, but they cannot start the WAL over: only
 * a writer can, once every frame is checkpointed and no reader still uses
 * the log.  Requests that read without pause always leave such a reader,
 * and the WAL then grew without end (4.5 GB in 80 s of bench_memory's
 * mix, its index growing the server's RSS with it).  Past
 * DB_WAL_RESTART_FRAMES a RESTART checkpoint holds writers back while the
 * readers of the old log finish (new readers read the database file), for
 * at most DB_WAL_RESTART_WAIT_MS, so that the next writer starts it over. */
#define DB_WAL_RESTART_FRAMES 4096        /* 16 MiB of 4 KiB pages */
#define DB_WAL_RESTART_WAIT_MS 250

static void
checkpoint_once(struct db *db)
{
    int64_t frames = 0;
    int rc = wal_checkpoint(db, "PRAGMA wal_checkpoint(PASSIVE)", &frames);

    /* A busy PASSIVE checkpoint (readers on the last frames) is normal. */
    if (rc == DB_OK || rc == DB_RETRY) {
        if (frames <= DB_WAL_RESTART_FRAMES) {
            return;
        }
        rc = wal_checkpoint(db, "PRAGMA wal_checkpoint(RESTART)", &frames);
        if (rc == DB_RETRY) {
            LOG_RL(LOG_LEVEL_WARN, MOD, "background checkpoint: readers "
                   "kept the WAL (%" PRId64 " frames) from starting over "
                   "for %d ms", frames, DB_WAL_RESTART_WAIT_MS);
        }
    }
    if (rc != DB_OK && rc != DB_RETRY) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "background checkpoint: %s",
               db_errmsg(db));
    }
}

static void *
checkpointer_main(void *arg)
{
    struct db_checkpointer *cp = arg;

    pthread_mutex_lock(&cp->mutex);
    while (!cp->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += (long) cp->interval_ms * 1000000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&cp->cond, &cp->mutex, &deadline);
        if (cp->stop) {
            break;
        }
        pthread_mutex_unlock(&cp->mutex);
        checkpoint_once(cp->db);
        pthread_mutex_lock(&cp->mutex);
    }
    pthread_mutex_unlock(&cp->mutex);
    return NULL;
}

struct db_checkpointer *
db_checkpointer_start(const char *url, int interval_ms)
{
    char errbuf[256];
    struct db *db;

    if (db_open(url, &db, errbuf, sizeof errbuf)) {
        LOG_WARN(MOD, "background checkpoints off: %s", errbuf);
        return NULL;
    }
    if (db_engine(db) != DB_ENGINE_SQLITE) {
        db_close(db);
        return NULL;
    }
    /* Bounds how long a RESTART holds writers back (sqlite3_busy_timeout
     * replaces the 10 s busy handler of this connection only). */
    if (db_exec(db, "PRAGMA busy_timeout = "
                STRINGIFY(DB_WAL_RESTART_WAIT_MS)) != DB_OK) {
        LOG_WARN(MOD, "background checkpoints off: %s", db_errmsg(db));
        db_close(db);
        return NULL;
    }
    struct db_checkpointer *cp = xzalloc(sizeof *cp);
    cp->db = db;
    cp->interval_ms = interval_ms > 0 ? interval_ms : 200;
    pthread_mutex_init(&cp->mutex, NULL);
    pthread_cond_init(&cp->cond, NULL);
    sqlite_set_background_checkpoints__(true);
    pthread_create(&cp->thread, NULL, checkpointer_main, cp);
    return cp;
}

void
db_checkpointer_stop(struct db_checkpointer *cp)
{
    if (!cp) {
        return;
    }
    pthread_mutex_lock(&cp->mutex);
    cp->stop = true;
    pthread_cond_signal(&cp->cond);
    pthread_mutex_unlock(&cp->mutex);
    pthread_join(cp->thread, NULL);
    db_exec(cp->db, "PRAGMA wal_checkpoint(PASSIVE)");
    db_close(cp->db);
    pthread_cond_destroy(&cp->cond);
    pthread_mutex_destroy(&cp->mutex);
    free(cp);
}
