/* db/sqlite.c: the SQLite engine of the storage interface.
 *
 * One sqlite3 connection per `struct db`, opened in multi-thread mode
 * (SQLITE_OPEN_NOMUTEX: a connection is used by one thread at a time) with
 * WAL, synchronous=NORMAL, foreign keys on and a 10 s busy timeout.  Write
 * transactions start with BEGIN IMMEDIATE so that writers queue on the busy
 * timeout instead of failing on a lock upgrade. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "db/db-provider.h"

#define MOD "db"
#define SQLITE_BUSY_TIMEOUT_MS 10000

struct sqlite_db {
    struct db up;
    sqlite3 *conn;
    uint64_t busy_since;        /* when the current wait for a lock began */
};

struct sqlite_stmt {
    struct db_stmt up;
    sqlite3_stmt *stmt;
};

/* Waits for a lock another connection holds.  SQLite's own handler
 * (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, ... ms between tries, so a
 * writer queued behind a transaction of a few hundred microseconds waits
 * milliseconds; this one sleeps 20 us, doubling up to 1.28 ms, and gives
 * up after the same SQLITE_BUSY_TIMEOUT_MS in all. */
static int
busy_handler(void *sdb_, int count)
{
    struct sqlite_db *sdb = sdb_;
    uint64_t now = time_monotonic_usec();

    if (!count) {
        sdb->busy_since = now;
    } else if (now - sdb->busy_since >= SQLITE_BUSY_TIMEOUT_MS * 1000ull) {
        return 0;
    }
    usleep(20u << (count < 6 ? count : 6));
    return 1;
}

static struct sqlite_db *
sqlite_db_cast(struct db *db)
{
    return CONTAINER_OF(db, struct sqlite_db, up);
}

static struct sqlite_stmt *
sqlite_stmt_cast(struct db_stmt *stmt)
{
    return CONTAINER_OF(stmt, struct sqlite_stmt, up);
}

/* Maps an SQLite result code to enum db_rc.  Only UNIQUE, PRIMARY KEY and
 * FOREIGN KEY violations are DB_CONSTRAINT, as on MariaDB; NOT NULL and
 * CHECK failures are DB_ERROR there too. */
static int
map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
        return DB_OK;
    case SQLITE_ROW:
        return DB_ROW;
    case SQLITE_DONE:
        return DB_DONE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return DB_RETRY;
    case SQLITE_CONSTRAINT:
        switch (rc) {
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_DATATYPE:
            return DB_ERROR;
        default:
            return DB_CONSTRAINT;
        }
    default:
        return DB_ERROR;
    }
}

/* Records the connection's last error in db->errmsg and returns 'rc'
 * mapped. */
static int
sqlite_error(struct sqlite_db *sdb, int rc, const char *what)
{
    db_set_error__(&sdb->up, "sqlite: %s: %s", what,
                   sqlite3_errmsg(sdb->conn));
    return map_rc(rc);
}

static int
sqlite_exec_(struct sqlite_db *sdb, const char *sql)
{
    char *errmsg = NULL;
    int rc = sqlite3_exec(sdb->conn, sql, NULL, NULL, &errmsg);

    if (rc != SQLITE_OK) {
        db_set_error__(&sdb->up, "sqlite: %s",
                       errmsg ? errmsg : sqlite3_errstr(rc));
        sqlite3_free(errmsg);
        return map_rc(sqlite3_extended_errcode(sdb->conn));
    }
    return DB_OK;
}

static bool background_checkpoints;    /* atomic */

void
sqlite_set_background_checkpoints__(bool on)
{
    __atomic_store_n(&background_checkpoints, on, __ATOMIC_SEQ_CST);
}

static int
sqlite_open(const char *path, struct db **dbp, char *errbuf,
            size_t errbuf_size)
{
    static const char *const pragmas[] = {
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",
        /* A WAL that once grew is cut back to 64 MiB when it starts over
         * (otherwise SQLite keeps the file at its largest). */
        "PRAGMA journal_size_limit = 67108864",
    };
    struct sqlite_db *sdb = xzalloc(sizeof *sdb);
    char *journal_mode = NULL;
    int rc;

    rc = sqlite3_open_v2(path, &sdb->conn,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(errbuf, errbuf_size, "sqlite: %s: %s", path,
                 sdb->conn ? sqlite3_errmsg(sdb->conn) : sqlite3_errstr(rc));
        goto error;
    }
    sqlite3_extended_result_codes(sdb->conn, 1);
    sqlite3_busy_handler(sdb->conn, busy_handler, sdb);

    /* journal_mode returns the mode in effect: "wal", or "memory" for an
     * in-memory database. */
    sqlite3_stmt *stmt;
    rc = sqlite3_prepare_v2(sdb->conn, "PRAGMA journal_mode = WAL", -1,
                            &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const unsigned char *mode = sqlite3_column_text(stmt, 0);

            journal_mode = xstrdup(mode ? (const char *) mode : "");
            rc = SQLITE_OK;
        }
        sqlite3_finalize(stmt);
    }
    if (rc != SQLITE_OK) {
        snprintf(errbuf, errbuf_size, "sqlite: %s: enabling WAL: %s", path,
                 sqlite3_errmsg(sdb->conn));
        goto error;
    }
    if (strcmp(journal_mode, "wal") && strcmp(journal_mode, "memory")) {
        snprintf(errbuf, errbuf_size, "sqlite: %s: cannot enable WAL "
                 "(journal mode is %s)", path, journal_mode);
        goto error;
    }

    for (size_t i = 0; i < ARRAY_SIZE(pragmas); i++) {
        if (sqlite_exec_(sdb, pragmas[i]) != DB_OK) {
            snprintf(errbuf, errbuf_size, "sqlite: %s: %s", path,
                     sdb->up.errmsg);
            goto error;
        }
    }
    /* About 80 MB of WAL before a request would checkpoint itself. */
    if (__atomic_load_n(&background_checkpoints, __ATOMIC_SEQ_CST)
        && sqlite_exec_(sdb, "PRAGMA wal_autocheckpoint = 20000") != DB_OK) {
        snprintf(errbuf, errbuf_size, "sqlite: %s: %s", path, sdb->up.errmsg);
        goto error;
    }
    LOG_DBG(MOD, "sqlite: opened %s", path);
    free(journal_mode);
    *dbp = &sdb->up;
    return DB_OK;

error:
    free(journal_mode);
    sqlite3_close_v2(sdb->conn);
    free(sdb);
    return DB_ERROR;
}

static void
sqlite_close(struct db *db)
{
    struct sqlite_db *sdb = sqlite_db_cast(db);

    sqlite3_close_v2(sdb->conn);
    free(sdb);
}

static int
sqlite_exec(struct db *db, const char *sql)
{
    return sqlite_exec_(sqlite_db_cast(db), sql);
}

static int
sqlite_begin(struct db *db, bool write)
{
    return sqlite_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int
sqlite_commit(struct db *db)
{
    return sqlite_exec(db, "COMMIT");
}

static int
sqlite_rollback(struct db *db)
{
    struct sqlite_db *sdb = sqlite_db_cast(db);
    int rc = DB_OK;

    /* SQLite may already have rolled back on its own (e.g. SQLITE_FULL). */
    if (!sqlite3_get_autocommit(sdb->conn)) {
        rc = sqlite_exec(db, "ROLLBACK");
    }
    return rc;
}

static struct db_stmt *
sqlite_stmt_create(struct db *db, const char *sql)
{
    struct sqlite_db *sdb = sqlite_db_cast(db);
    sqlite3_stmt *stmt;
    const char *tail;
    int rc;

    rc = sqlite3_prepare_v3(sdb->conn, sql, -1, SQLITE_PREPARE_PERSISTENT,
                            &stmt, &tail);
    if (rc != SQLITE_OK) {
        sqlite_error(sdb, rc, "prepare");
        return NULL;
    }
    if (!stmt) {
        db_set_error__(db, "sqlite: prepare: empty statement");
        return NULL;
    }
    tail += strspn(tail, " \t\r\n;");
    if (*tail) {
        sqlite3_finalize(stmt);
        db_set_error__(db, "sqlite: prepare: more than one statement");
        return NULL;
    }

    struct sqlite_stmt *sst = xzalloc(sizeof *sst);
    sst->stmt = stmt;
    return &sst->up;
}

static void
sqlite_stmt_destroy(struct db_stmt *stmt)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);

    sqlite3_finalize(sst->stmt);
    free(sst);
}

static void
sqlite_stmt_reset(struct db_stmt *stmt, bool clear_bindings)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);

    sqlite3_reset(sst->stmt);
    if (clear_bindings) {
        sqlite3_clear_bindings(sst->stmt);
    }
}

static int
sqlite_param_count(struct db_stmt *stmt)
{
    return sqlite3_bind_parameter_count(sqlite_stmt_cast(stmt)->stmt);
}

/* Binding needs a reset statement (after DB_DONE too, SQLite says
 * SQLITE_MISUSE otherwise); sqlite3_reset() keeps the other bindings and is
 * cheap on a statement already reset.  With the index checked by db.c and
 * text copied (SQLITE_TRANSIENT) the bind calls cannot fail. */
static void
sqlite_prepare_bind(struct sqlite_stmt *sst)
{
    sqlite3_reset(sst->stmt);
}

static void
sqlite_bind_text(struct db_stmt *stmt, int idx, const char *value)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);

    sqlite_prepare_bind(sst);
    sqlite3_bind_text(sst->stmt, idx, value, -1, SQLITE_TRANSIENT);
}

static void
sqlite_bind_int64(struct db_stmt *stmt, int idx, int64_t value)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);

    sqlite_prepare_bind(sst);
    sqlite3_bind_int64(sst->stmt, idx, value);
}

static void
sqlite_bind_null(struct db_stmt *stmt, int idx)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);

    sqlite_prepare_bind(sst);
    sqlite3_bind_null(sst->stmt, idx);
}

static int
sqlite_step(struct db_stmt *stmt)
{
    struct sqlite_stmt *sst = sqlite_stmt_cast(stmt);
    struct sqlite_db *sdb = sqlite_db_cast(stmt->db);
    int rc = sqlite3_step(sst->stmt);

    if (rc == SQLITE_ROW) {
        return DB_ROW;
    } else if (rc == SQLITE_DONE) {
        stmt->changes = (sqlite3_stmt_readonly(sst->stmt)
                         ? 0 : sqlite3_changes64(sdb->conn));
        return DB_DONE;
    }
    rc = sqlite_error(sdb, sqlite3_extended_errcode(sdb->conn), "step");
    sqlite3_reset(sst->stmt);
    return rc;
}

static int
sqlite_col_count(struct db_stmt *stmt)
{
    return sqlite3_column_count(sqlite_stmt_cast(stmt)->stmt);
}

static const char *
sqlite_col_text(struct db_stmt *stmt, int col)
{
    return (const char *) sqlite3_column_text(sqlite_stmt_cast(stmt)->stmt,
                                              col);
}

static int64_t
sqlite_col_int64(struct db_stmt *stmt, int col)
{
    return sqlite3_column_int64(sqlite_stmt_cast(stmt)->stmt, col);
}

static bool
sqlite_col_is_null(struct db_stmt *stmt, int col)
{
    return sqlite3_column_type(sqlite_stmt_cast(stmt)->stmt, col)
           == SQLITE_NULL;
}

const struct db_class sqlite_class = {
    .type = "sqlite",
    .engine = DB_ENGINE_SQLITE,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .stmt_create = sqlite_stmt_create,
    .stmt_destroy = sqlite_stmt_destroy,
    .stmt_reset = sqlite_stmt_reset,
    .param_count = sqlite_param_count,
    .bind_text = sqlite_bind_text,
    .bind_int64 = sqlite_bind_int64,
    .bind_null = sqlite_bind_null,
    .step = sqlite_step,
    .col_count = sqlite_col_count,
    .col_text = sqlite_col_text,
    .col_int64 = sqlite_col_int64,
    .col_is_null = sqlite_col_is_null,
};
