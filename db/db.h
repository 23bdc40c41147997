/* db/db.h: the one storage interface of Hadron.
 *
 * A `struct db` is one connection to one of two engines: SQLite (embedded,
 * WAL, the default) or MariaDB (Connector/C).  Every statement is a prepared
 * statement, cached per connection by its SQL text, so callers simply call
 * db_prepare() each time they need one.  A connection is used by one thread
 * at a time (each HTTP worker owns one).
 *
 * SQL given to db_prepare() must be valid on both engines, or the caller picks
 * the text by db_engine().  Placeholders are `?`, numbered from 1 in the
 * bind calls; result columns are numbered from 0.  To make more SQL portable
 * a MariaDB session runs with sql_mode ANSI_QUOTES ("x" is an identifier)
 * and PIPES_AS_CONCAT (|| concatenates), strict mode, time zone +00:00,
 * and UPDATE counts the rows it matched, as SQLite does.  Portability
 * traps: TEXT holds at most 64 KiB on MariaDB (use MEDIUMTEXT, valid on
 * both); write FOREIGN KEY as a table constraint (MariaDB ignores
 * REFERENCES on a column); MariaDB tables compare utf8mb4_bin (case
 * sensitive, as SQLite).
 *
 * Return codes: the db_* calls that can fail return one of enum db_rc.
 * DB_RETRY means the whole transaction should be run again (deadlock, lock
 * wait timeout, SQLITE_BUSY); DB_CONSTRAINT means a UNIQUE, PRIMARY KEY or
 * FOREIGN KEY constraint refused the write (NOT NULL and CHECK failures are
 * DB_ERROR); DB_ERROR is anything else, with a message from db_errmsg().
 * On MariaDB a lost connection is DB_RETRY and the next call outside a
 * transaction reconnects (a COMMIT whose connection was lost may have been
 * applied); while the server cannot be reached that call fails with
 * DB_UNAVAILABLE (and db_connection_lost() is true) and the one after
 * tries again, so a connection recovers by itself when the server is
 * back.  db_transact() runs a function in a transaction
 * and retries it on DB_RETRY. */
#ifndef HADRON_DB_H
#define HADRON_DB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum db_engine {
    DB_ENGINE_SQLITE,
    DB_ENGINE_MARIADB,
};

enum db_rc {
    DB_OK = 0,          /* success (also: db_step() done, no more rows) */
    DB_ROW = 1,         /* db_step(): a row is available */
    DB_DONE = 2,        /* db_step(): no (more) rows */
    DB_CONSTRAINT = 3,  /* a UNIQUE/PRIMARY KEY/FOREIGN KEY constraint failed */
    DB_RETRY = 4,       /* deadlock, lock timeout, busy: retry the transaction */
    DB_ERROR = 5,       /* anything else; see db_errmsg() */
    DB_UNAVAILABLE = 6, /* the database server cannot be reached */
};

/* Parses a connection URL and opens a connection.
 *   sqlite:///PATH        PATH relative to the working directory
 *   sqlite:////ABS/PATH   an absolute path (as in SQLAlchemy)
 *   sqlite://             in memory
 *   mysql://user:pass@host:port/dbname    (user, password, dbname
 *                                          %-decoded; dbname optional)
 *   mysql://user:pass@localhost/dbname?unix_socket=/path/to.sock
 *   mysql+DRIVER://... (e.g. mysql+pymysql) and mariadb://... are accepted
 *   as mysql://; ?charset=... is accepted and ignored (always utf8mb4).
 * On success stores a new connection in '*dbp' and returns DB_OK; on failure
 * returns DB_ERROR and, if 'errbuf' is nonnull, writes a message into it
 * (never containing the password). */
int db_open(const char *url, struct db **dbp, char *errbuf, size_t errbuf_size);

/* Closes 'db' and frees its cached statements.  Accepts NULL. */
void db_close(struct db *db);

enum db_engine db_engine(const struct db *db);
const char *db_engine_name(enum db_engine);

/* The message of the last failure on 'db' (never NULL). */
const char *db_errmsg(const struct db *db);

/* True while the connection is lost and not yet replaced (MariaDB; never
 * for SQLite).  Lets a caller that only kept "it failed" tell an outage
 * from a bug. */
bool db_connection_lost(const struct db *db);

/* Runs one or more statements without parameters (DDL, migrations),
 * discarding any rows.  Stops at the first failing statement; those before
 * it have run.  Use db_begin() and friends, not BEGIN/COMMIT here. */
int db_exec(struct db *db, const char *sql);

/* Transactions.  'write' = true starts a write transaction (SQLite:
 * BEGIN IMMEDIATE, so writers queue on the busy timeout instead of
 * deadlocking on lock upgrade; MariaDB: READ COMMITTED); false a read
 * transaction, which reads one consistent snapshot and must not write
 * (MariaDB refuses; SQLite may answer DB_RETRY).  db_begin() fails outside
 * the rules (already in a transaction) and resets the statements left with
 * unread rows.  If db_commit() fails the transaction is still open: call
 * db_rollback().  db_rollback() outside a transaction does nothing and
 * returns DB_OK; it always leaves the transaction. */
int db_begin(struct db *db, bool write);
int db_commit(struct db *db);
int db_rollback(struct db *db);
bool db_in_transaction(const struct db *db);

/* Runs 'fn(db, arg)' inside a write transaction and commits.  If 'fn' or the
 * commit returns DB_RETRY the transaction is rolled back and run again, up to
 * 'max_attempts' times in all, with a short randomised back-off.  Any other
 * nonzero return of 'fn' rolls back and is returned as is (so 'fn' may return
 * its own positive codes above DB_ERROR).  Returns DB_OK after a commit. */
typedef int db_txn_fn(struct db *db, void *arg);
int db_transact(struct db *db, db_txn_fn *fn, void *arg, int max_attempts);

/* Prepared statements.  db_prepare() returns a statement from the
 * connection's cache (compiled on first use); the statement stays owned by
 * the connection.  It comes back reset with no bindings.  Returns NULL on
 * failure (see db_errmsg()). */
struct db_stmt *db_prepare(struct db *db, const char *sql);

/* Process-wide statement figures (for /metrics): statements held in the
 * connections' caches now, and prepared since start (a count that keeps
 * rising under a steady load means ever new SQL texts). */
struct db_stats {
    long statements_cached;
    long statements_prepared;
};
void db_get_stats(struct db_stats *);

/* Bind parameter 'idx' (1-based).  Text is copied.  NULL text binds SQL NULL.
 * Unbound parameters are NULL.  An 'idx' out of range makes the next
 * db_step() fail with DB_ERROR.  Binding while rows are pending resets the
 * statement first. */
void db_bind_text(struct db_stmt *, int idx, const char *value);
void db_bind_int64(struct db_stmt *, int idx, int64_t value);
void db_bind_null(struct db_stmt *, int idx);

/* Executes or advances: DB_ROW when a row is ready, DB_DONE when finished,
 * or DB_CONSTRAINT / DB_RETRY / DB_ERROR.  After DB_DONE or an error the
 * next db_step() runs the statement again with the same bindings. */
int db_step(struct db_stmt *);

/* Column accessors for the current row (0-based).  db_col_text() returns
 * NULL for SQL NULL; the pointer is valid until the next db_step() or
 * db_reset() of this statement (or db_prepare() of its SQL, or the next
 * db_begin()/db_rollback() if rows were left unread).  Without a current
 * row or with 'col' out of range they read as NULL (NULL, 0, true).
 * db_col_count() is known as soon as the statement is prepared. */
int db_col_count(struct db_stmt *);
const char *db_col_text(struct db_stmt *, int col);
int64_t db_col_int64(struct db_stmt *, int col);
bool db_col_is_null(struct db_stmt *, int col);

/* Rows changed (for UPDATE: matched) by the last run of this statement, if
 * it is an INSERT/UPDATE/DELETE; set when db_step() returns DB_DONE. */
int64_t db_changes(struct db_stmt *);

/* Ends use of the statement (drops remaining rows and bindings) so it can be
 * prepared again.  Call it when you stop reading before DB_DONE: on SQLite
 * a statement with unread rows keeps its read snapshot (and blocks WAL
 * checkpoints) until it is reset.  Always safe to call; accepts NULL. */
void db_reset(struct db_stmt *);

/* Convenience: prepare, bind the 'n_params' text values in 'params' (a NULL
 * element binds SQL NULL), step to completion discarding rows, reset.
 * Returns DB_OK, or the failing code. */
int db_exec_params(struct db *db, const char *sql, const char *const *params,
                   size_t n_params);

/* SQLite only: checkpoints the WAL every 'interval_ms' from a background
 * thread with its own connection, and raises the automatic checkpoint
 * threshold of connections opened afterwards, so that request
 * transactions do not pay for checkpoints (they showed as the p99 of
 * writes).  Start it before the workers open their connections.  Returns
 * NULL for MariaDB (nothing to do) or when the database cannot be opened
 * (then checkpoints stay automatic). */
struct db_checkpointer;
struct db_checkpointer *db_checkpointer_start(const char *url,
                                              int interval_ms);
void db_checkpointer_stop(struct db_checkpointer *);

/* Schema migrations (db/migrations.c).  The schema is a numbered list of
 * steps recorded in table `schema_version`.
 *
 * db_schema_version() stores the highest applied version (0 if none).
 * db_schema_latest() is the highest version this build knows.
 * db_upgrade() applies the missing steps in order, serialised between
 * concurrent servers (MariaDB GET_LOCK / SQLite write transaction); it
 * refuses (DB_ERROR, with message in 'errbuf') a database whose version is
 * newer than this build knows.  Call it outside a transaction; 'errbuf' may
 * be NULL.  On MariaDB each step's DDL commits by itself, so a failed step
 * may be left half applied. */
int db_schema_version(struct db *db, int *version);
int db_schema_latest(void);
int db_upgrade(struct db *db, char *errbuf, size_t errbuf_size);

#endif /* db/db.h */
