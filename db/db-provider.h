/* db/db-provider.h: the interface between db/db.c and the storage engines.
 *
 * Internal to the db module.  An engine is a `const struct db_class`
 * (db/sqlite.c, db/mariadb.c).  Only the wrappers in db/db.c call its ops:
 * they check arguments, keep the statement cache and the transaction flag,
 * and implement db_transact(), so the engines do not repeat that.
 *
 * An engine's connection embeds `struct db` as its first member and its
 * statement embeds `struct db_stmt` the same way; the engine converts with
 * CONTAINER_OF(). */
#ifndef HADRON_DB_PROVIDER_H
#define HADRON_DB_PROVIDER_H 1

#include <stdarg.h>
#include <stddef.h>

#include "core/util.h"
#include "db/db.h"

/* uthash allocates with the x* wrappers: out of memory aborts. */
#define uthash_malloc(sz) xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#define uthash_fatal(msg) abort()
#include <stdlib.h>
#include <uthash.h>

#define CONTAINER_OF(PTR, STRUCT, MEMBER) \
    ((STRUCT *) (void *) ((char *) (PTR) - offsetof(STRUCT, MEMBER)))

#define DB_ERRMSG_SIZE 512

/* One connection.  Owned by the caller of db_open(). */
struct db {
    const struct db_class *class;
    bool in_txn;                    /* inside db_begin() ... commit/rollback */
    bool lost;                      /* connection lost, not yet replaced */
    int n_active;                   /* statements with unread rows */
    struct db_stmt *stmts;          /* statement cache, uthash keyed by sql */
    char errmsg[DB_ERRMSG_SIZE];    /* last failure, "" if none yet */
};

/* One cached statement.  Owned by its connection. */
struct db_stmt {
    struct db *db;
    char *sql;                      /* hash key, owned */
    bool active;                    /* last db_step() returned DB_ROW */
    int bad_param;                  /* first out-of-range bind index, or 0 */
    int64_t changes;                /* rows changed by the last execution */
    UT_hash_handle hh;
};

/* A storage engine.  Every op is mandatory. */
struct db_class {
    const char *type;               /* "sqlite", "mariadb" */
    enum db_engine engine;

    /* Opens a connection to 'target' (the URL without its scheme: a path for
     * SQLite, the rest of a mysql URL for MariaDB).  On success stores the
     * new connection (with 'class' set, the rest of 'struct db' zeroed) in
     * '*dbp' and returns DB_OK; otherwise returns DB_ERROR with a message
     * (without the password) in 'errbuf'. */
    int (*open)(const char *target, struct db **dbp,
                char *errbuf, size_t errbuf_size);

    /* Frees the connection.  The cache is already empty. */
    void (*close)(struct db *);

    /* Runs one or more statements without parameters. */
    int (*exec)(struct db *, const char *sql);

    /* Transaction control.  Called only in the right state: begin outside a
     * transaction, commit and rollback inside one.  'rollback' must leave
     * the connection out of any transaction even when it returns an
     * error. */
    int (*begin)(struct db *, bool write);
    int (*commit)(struct db *);
    int (*rollback)(struct db *);

    /* Compiles 'sql' into a new statement ('db' and the other members of
     * 'struct db_stmt' are filled in by the caller).  Returns NULL, with the
     * error in db->errmsg, if the SQL is invalid. */
    struct db_stmt *(*stmt_create)(struct db *, const char *sql);
    void (*stmt_destroy)(struct db_stmt *);

    /* Drops remaining rows; with 'clear_bindings' also sets every
     * parameter to NULL. */
    void (*stmt_reset)(struct db_stmt *, bool clear_bindings);

    /* Number of '?' parameters of the statement. */
    int (*param_count)(struct db_stmt *);

    /* Bind parameter 'idx', already checked to be in 1...param_count().
     * 'value' is nonnull and is copied. */
    void (*bind_text)(struct db_stmt *, int idx, const char *value);
    void (*bind_int64)(struct db_stmt *, int idx, int64_t);
    void (*bind_null)(struct db_stmt *, int idx);

    /* As db_step().  On DB_DONE stores the rows changed in
     * 'stmt->changes'. */
    int (*step)(struct db_stmt *);

    /* Current-row accessors; 'col' is already checked against
     * col_count(). */
    int (*col_count)(struct db_stmt *);
    const char *(*col_text)(struct db_stmt *, int col);
    int64_t (*col_int64)(struct db_stmt *, int col);
    bool (*col_is_null)(struct db_stmt *, int col);
};

extern const struct db_class sqlite_class;

/* SQLite connections opened after this leave checkpoints to a background
 * thread (db_checkpointer_start), keeping only a high automatic threshold
 * as a safety net. */
void sqlite_set_background_checkpoints__(bool);
extern const struct db_class mariadb_class;

/* Sets db->errmsg. */
void db_set_error__(struct db *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* db/db-provider.h */
