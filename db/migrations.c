/* db/migrations.c: the database schema, as a numbered list of steps.
 *
 * db_upgrade() brings a database to the newest version this build knows,
 * recording each applied step in table `schema_version`.  Concurrent
 * upgraders (several servers starting at once, hadron-manage) are
 * serialised: on MariaDB by a named lock (GET_LOCK), on SQLite by running
 * the whole upgrade in one write transaction. */
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define MOD "db"

/* One step of the schema.
 *
 * 'sql' holds one or more statements separated by ';' and is run with
 * db_exec().  It is written once for both engines with types valid on both
 * (VARCHAR(n) for keys and short strings, TEXT for longer ones -- at most
 * 64 KiB on MariaDB, MEDIUMTEXT beyond -- INTEGER, BIGINT) and these
 * tokens, replaced before running:
 *
 *   @TABLE_OPTIONS@  after the closing parenthesis of every CREATE TABLE:
 *                    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
 *                    COLLATE=utf8mb4_bin" on MariaDB, nothing on SQLite.
 *   @NOW@            the current UTC time as a quoted string literal,
 *                    e.g. '2026-11-21T23:57:55Z'.
 *
 * 'sql_mariadb', if nonnull, replaces 'sql' on MariaDB for what cannot be
 * written once.
 *
 * On MariaDB every DDL statement commits by itself, so a step that fails
 * halfway stays half applied: write steps that can simply be run again
 * (IF NOT EXISTS, IF EXISTS) where possible. */
struct migration {
    int version;
    const char *description;    /* at most 255 bytes */
    const char *sql;
    const char *sql_mariadb;    /* NULL = same as 'sql' */
};

/* The schema.  To change it, append ONE entry with the next version number
 * (and, in the same change, the code that uses it).  Never edit, reorder or
 * remove an entry that has been released: databases out there have applied
 * it already. */
static const struct migration migrations[] = {
    {
        1, "hadron_meta: facts about this database",
        "CREATE TABLE IF NOT EXISTS hadron_meta (\n"
        "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
        "    value VARCHAR(255)\n"
        ") @TABLE_OPTIONS@;\n"
        "INSERT INTO hadron_meta (name, value)\n"
        "    VALUES ('created_at', @NOW@);\n",
        NULL,
    },
};

#define SCHEMA_VERSION_TABLE                            \
    "CREATE TABLE IF NOT EXISTS schema_version (\n"     \
    "    version INTEGER NOT NULL PRIMARY KEY,\n"       \
    "    description VARCHAR(255),\n"                   \
    "    applied_at VARCHAR(32)\n"                      \
    ") @TABLE_OPTIONS@"

/* MariaDB: the upgrade lock is named after the database, so that upgrades
 * of different databases on one server do not wait for each other (lock
 * names are limited to 64 characters).  GET_LOCK waits in slices shorter
 * than the connection's read timeout, up to LOCK_WAIT_SLICES * 5 s. */
#define LOCK_NAME \
    "LEFT(CONCAT('hadron_schema.', COALESCE(DATABASE(), '')), 64)"
#define LOCK_WAIT_SLICES 12

int
db_schema_latest(void)
{
    return migrations[ARRAY_SIZE(migrations) - 1].version;
}

/* Returns a new string: 'sql' with the tokens replaced for 'engine'. */
static char *
expand_sql(const char *sql, enum db_engine engine)
{
    static const char table_options_token[] = "@TABLE_OPTIONS@";
    static const char now_token[] = "@NOW@";
    char ts[TIMESTAMP_LEN];
    char now[TIMESTAMP_LEN + 2];
    const char *table_options = (engine == DB_ENGINE_MARIADB
                                 ? "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                                   "COLLATE=utf8mb4_bin"
                                 : "");
    size_t cap = strlen(sql) + 1;
    size_t len = 0;
    char *out;

    timestamp_now(ts);
    snprintf(now, sizeof now, "'%s'", ts);

    out = xmalloc(cap);
    while (*sql) {
        const char *value = NULL;
        size_t skip = 1;

        if (!strncmp(sql, table_options_token,
                     sizeof table_options_token - 1)) {
            value = table_options;
            skip = sizeof table_options_token - 1;
        } else if (!strncmp(sql, now_token, sizeof now_token - 1)) {
            value = now;
            skip = sizeof now_token - 1;
        }

        size_t n = value ? strlen(value) : 1;
        if (len + n + 1 > cap) {
            cap = 2 * cap + n;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, value ? value : sql, n);
        len += n;
        sql += skip;
    }
    out[len] = '\0';
    return out;
}

/* Runs a one-row, one-column query and stores its integer in '*value'
 * (0 for SQL NULL). */
static int
query_int(struct db *db, const char *sql, int64_t *value)
{
    struct db_stmt *stmt = db_prepare(db, sql);
    int rc;

    *value = 0;
    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        *value = db_col_int64(stmt, 0);
        rc = DB_OK;
    } else if (rc == DB_DONE) {
        rc = DB_OK;
    }
    db_reset(stmt);
    return rc;
}

int
db_schema_version(struct db *db, int *version)
{
    int64_t value;
    int rc;

    *version = 0;
    rc = query_int(db, (db_engine(db) == DB_ENGINE_MARIADB
                        ? "SELECT COUNT(*) FROM information_schema.tables "
                          "WHERE table_schema = DATABASE() "
                          "AND table_name = 'schema_version'"
                        : "SELECT COUNT(*) FROM sqlite_master "
                          "WHERE type = 'table' "
                          "AND name = 'schema_version'"),
                   &value);
    if (rc != DB_OK || !value) {
        return rc;
    }
    rc = query_int(db, "SELECT MAX(version) FROM schema_version", &value);
    if (rc == DB_OK) {
        *version = (int) value;
    }
    return rc;
}

/* Takes the MariaDB upgrade lock.  Returns DB_OK, or DB_ERROR with a
 * message in 'errbuf'. */
static int
lock_schema(struct db *db, char *errbuf, size_t errbuf_size)
{
    for (int i = 0; i < LOCK_WAIT_SLICES; i++) {
        struct db_stmt *stmt = db_prepare(db, "SELECT GET_LOCK(" LOCK_NAME
                                          ", 5)");
        int rc = stmt ? db_step(stmt) : DB_ERROR;

        if (rc != DB_ROW || db_col_is_null(stmt, 0)) {
            snprintf(errbuf, errbuf_size, "schema upgrade: taking the "
                     "upgrade lock: %s", db_errmsg(db));
            db_reset(stmt);
            return DB_ERROR;
        }
        bool locked = db_col_int64(stmt, 0) == 1;
        db_reset(stmt);
        if (locked) {
            return DB_OK;
        }
        LOG_INFO(MOD, "schema upgrade: waiting for another upgrade to "
                 "finish");
    }
    snprintf(errbuf, errbuf_size, "schema upgrade: another upgrade of this "
             "database has been running for %d s; try again later",
             LOCK_WAIT_SLICES * 5);
    return DB_ERROR;
}

static void
unlock_schema(struct db *db)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT RELEASE_LOCK(" LOCK_NAME
                                      ")");
    if (stmt) {
        db_step(stmt);
        db_reset(stmt);
    }
}

/* Applies 'm' and records it.  On failure writes a message to 'errbuf'. */
static int
apply_step(struct db *db, const struct migration *m, char *errbuf,
           size_t errbuf_size)
{
    enum db_engine engine = db_engine(db);
    const char *text = (engine == DB_ENGINE_MARIADB && m->sql_mariadb
                        ? m->sql_mariadb : m->sql);
    char *sql = expand_sql(text, engine);
    char version[16];
    char applied_at[TIMESTAMP_LEN];
    int rc;

    rc = db_exec(db, sql);
    free(sql);
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: step %d (%s) "
                 "failed: %s", m->version, m->description, db_errmsg(db));
        return rc;
    }

    snprintf(version, sizeof version, "%d", m->version);
    timestamp_now(applied_at);
    const char *params[] = { version, m->description, applied_at };
    rc = db_exec_params(db, "INSERT INTO schema_version "
                        "(version, description, applied_at) "
                        "VALUES (?, ?, ?)", params, ARRAY_SIZE(params));
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: recording step %d: "
                 "%s", m->version, db_errmsg(db));
    }
    return rc;
}

int
db_upgrade(struct db *db, char *errbuf, size_t errbuf_size)
{
    bool mariadb = db_engine(db) == DB_ENGINE_MARIADB;
    char scratch[1];
    bool locked = false;
    int version = 0;
    int latest = db_schema_latest();
    int rc;

    if (!errbuf) {
        errbuf = scratch;
        errbuf_size = sizeof scratch;
    }
    errbuf[0] = '\0';
    if (db_in_transaction(db)) {
        snprintf(errbuf, errbuf_size, "schema upgrade: called inside a "
                 "transaction");
        return DB_ERROR;
    }

    if (mariadb) {
        rc = lock_schema(db, errbuf, errbuf_size);
        if (rc != DB_OK) {
            return rc;
        }
        locked = true;
    } else {
        rc = db_begin(db, true);
        if (rc != DB_OK) {
            snprintf(errbuf, errbuf_size, "schema upgrade: %s",
                     db_errmsg(db));
            goto out;
        }
    }

    char *sql = expand_sql(SCHEMA_VERSION_TABLE, db_engine(db));
    rc = db_exec(db, sql);
    free(sql);
    if (rc == DB_OK) {
        rc = db_schema_version(db, &version);
    }
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: reading the schema "
                 "version: %s", db_errmsg(db));
        goto out;
    }
    if (version > latest) {
        snprintf(errbuf, errbuf_size, "database schema version %d is newer "
                 "than this hadron (knows up to %d); upgrade hadron",
                 version, latest);
        rc = DB_ERROR;
        goto out;
    }

    for (size_t i = 0; i < ARRAY_SIZE(migrations); i++) {
        const struct migration *m = &migrations[i];

        if (m->version != (int) i + 1) {
            snprintf(errbuf, errbuf_size, "schema upgrade: step %zu has "
                     "version %d (bug: versions must be 1, 2, 3...)",
                     i + 1, m->version);
            rc = DB_ERROR;
            goto out;
        }
        if (m->version > version) {
            rc = apply_step(db, m, errbuf, errbuf_size);
            if (rc != DB_OK) {
                goto out;
            }
            LOG_INFO(MOD, "schema upgrade: applied step %d (%s)",
                     m->version, m->description);
        }
    }

    if (db_in_transaction(db)) {
        rc = db_commit(db);
        if (rc != DB_OK) {
            snprintf(errbuf, errbuf_size, "schema upgrade: commit: %s",
                     db_errmsg(db));
        }
    }

out:
    if (db_in_transaction(db)) {
        db_rollback(db);
    }
    if (locked) {
        unlock_schema(db);
    }
    return rc;
}
