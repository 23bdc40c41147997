/* db/mariadb.c: the MariaDB engine of the storage interface (Connector/C).
 *
 * Each `struct db` owns one MYSQL connection: utf8mb4, autocommit outside
 * transactions, READ COMMITTED for write transactions, a short InnoDB lock
 * wait timeout and bounded connect/read/write timeouts, so that a request
 * never blocks forever.  Statements are server-side prepared statements;
 * every result set is buffered on the client (mysql_stmt_store_result()) so
 * that several statements can be iterated at once and COMMIT never meets
 * unread rows.  All columns are fetched as text into per-column buffers
 * that grow when a value does not fit.
 *
 * A lost connection makes the failing call return DB_RETRY and marks the
 * connection lost (db->lost); outside a transaction the next call
 * reconnects, or returns DB_UNAVAILABLE while the server cannot be reached,
 * and the cached statements are prepared again when they are next
 * executed.  A connection idle for a while is pinged before use, so that
 * one the server dropped (wait_timeout) is replaced without an error. */
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "db/db-provider.h"

#define MOD "db"

#define MDB_CONNECT_TIMEOUT_S 5
#define MDB_RW_TIMEOUT_S 30
#define MDB_LOCK_WAIT_TIMEOUT_S "10"
#define MDB_PING_IDLE_USEC (5 * 1000 * 1000)
#define MDB_COL_MIN_SIZE 128
#define MDB_MAX_PARAMS 65535

/* Server errors not in every version of mysqld_error.h. */
#define MDB_ER_CLIENT_INTERACTION_TIMEOUT 4031

/* The session: same rules on every connection, also after a reconnect.
 * sql_mode: strict for all tables, and "||" and double-quoted identifiers
 * as in SQLite so that more SQL runs unchanged on both engines. */
static const char *const session_setup[] = {
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET SESSION innodb_lock_wait_timeout = " MDB_LOCK_WAIT_TIMEOUT_S ", "
    "SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
    "PIPES_AS_CONCAT,ANSI_QUOTES', "
    "SESSION time_zone = '+00:00'",
};

/* Connection parameters from a mysql:// URL; all strings owned. */
struct mdb_url {
    char *user;                     /* NULL if absent */
    char *password;                 /* NULL if absent */
    char *host;                     /* never NULL */
    unsigned int port;              /* 0 = default */
    char *dbname;                   /* NULL if absent */
    char *unix_socket;              /* NULL if absent */
};

struct mdb_db {
    struct db up;
    MYSQL *conn;                    /* NULL if reconnecting failed */
    struct mdb_url url;
    uint64_t last_used;             /* time_monotonic_usec() of last use */
};

/* One parameter's value; MYSQL_BIND points into it. */
struct mdb_param {
    char *buf;                      /* text, owned */
    size_t cap;                     /* bytes allocated for 'buf' */
    unsigned long length;           /* text length */
    long long ival;                 /* integer value */
};

/* One result column's value; MYSQL_BIND points into it. */
struct mdb_col {
    char *buf;                      /* text, NUL-terminated after a fetch */
    unsigned long cap;              /* bytes allocated for 'buf' (> length) */
    unsigned long length;           /* length of the value */
    my_bool is_null;
    my_bool error;                  /* value truncated */
};

struct mdb_stmt {
    struct db_stmt up;
    MYSQL_STMT *handle;             /* NULL if not (or no longer) prepared */
    bool has_rows;                  /* a stored result is being fetched */
    bool rows_lost;                 /* reconnected while 'has_rows' */

    int n_params;                   /* -1 if not known yet */
    int params_cap;                 /* elements allocated below */
    int max_bound;                  /* highest index bound, 0 if none */
    MYSQL_BIND *pbinds;
    struct mdb_param *params;

    int n_cols;
    MYSQL_BIND *cbinds;
    struct mdb_col *cols;
};

static struct mdb_db *
mdb_db_cast(struct db *db)
{
    return CONTAINER_OF(db, struct mdb_db, up);
}

static struct mdb_stmt *
mdb_stmt_cast(struct db_stmt *stmt)
{
    return CONTAINER_OF(stmt, struct mdb_stmt, up);
}

/* mysql_library_init() is not thread-safe, and the HTTP workers open their
 * connections concurrently. */
static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

static void
library_init(void)
{
    library_rc = mysql_library_init(0, NULL, NULL);
}

/* URL parsing. */

static void
mdb_url_destroy(struct mdb_url *url)
{
    free(url->user);
    free(url->password);
    free(url->host);
    free(url->dbname);
    free(url->unix_socket);
    memset(url, 0, sizeof *url);
}

static int
hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    } else if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Returns a new string with the 'n' bytes at 's' %-decoded, or NULL if an
 * escape is malformed or decodes to NUL. */
static char *
percent_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hex_value((unsigned char) s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char) s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[j++] = (char) (hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* Parses "[user[:password]@]host[:port][/dbname][?key=value&...]" into
 * 'url'.  On failure writes a message that never contains the password into
 * 'errbuf' and returns false. */
static bool
mdb_url_parse(const char *rest, struct mdb_url *url,
              char *errbuf, size_t errbuf_size)
{
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    const char *hostpart = rest;
    const char *at = NULL;
    const char *msg = NULL;

    memset(url, 0, sizeof *url);

    /* The user info ends at the last '@' before the query, so that a
     * password may contain unescaped '@' and '/'. */
    for (const char *p = rest; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at) {
        const char *colon = memchr(rest, ':', (size_t) (at - rest));
        const char *user_end = colon ? colon : at;

        if (user_end > rest) {
            url->user = percent_decode(rest, (size_t) (user_end - rest));
            if (!url->user) {
                msg = "bad %-escape in the user name";
                goto error;
            }
        }
        if (colon) {
            url->password = percent_decode(colon + 1,
                                           (size_t) (at - colon - 1));
            if (!url->password) {
                msg = "bad %-escape in the password";
                goto error;
            }
        }
        hostpart = at + 1;
    }

    /* host[:port][/dbname] */
    const char *slash = memchr(hostpart, '/', (size_t) (end - hostpart));
    const char *host_end = slash ? slash : end;
    const char *port = NULL;
    const char *host = hostpart;
    size_t host_len;

    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t) (host_end - host));
        if (!close) {
            msg = "unterminated [IPv6 address]";
            goto error;
        }
        host++;
        host_len = (size_t) (close - host);
        if (close + 1 < host_end) {
            if (close[1] != ':') {
                msg = "junk after [IPv6 address]";
                goto error;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t) (host_end - host));
        host_len = (size_t) ((colon ? colon : host_end) - host);
        if (colon) {
            port = colon + 1;
        }
    }
    url->host = host_len ? xstrndup(host, host_len) : xstrdup("localhost");
    if (port) {
        char *port_s = xstrndup(port, (size_t) (host_end - port));
        int64_t value;
        bool ok = str_to_int64(port_s, 1, 65535, &value);

        free(port_s);
        if (!ok) {
            msg = "bad port number";
            goto error;
        }
        url->port = (unsigned int) value;
    }
    if (slash && slash + 1 < end) {
        url->dbname = percent_decode(slash + 1, (size_t) (end - slash - 1));
        if (!url->dbname) {
            msg = "bad %-escape in the database name";
            goto error;
        }
    }

    /* ?key=value&key=value */
    for (const char *p = query ? query + 1 : end; *p; ) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t key_len = eq ? (size_t) (eq - p) : len;
        char *value = eq ? percent_decode(eq + 1, len - key_len - 1) : NULL;

        if (len == 0) {
            /* empty parameter, e.g. "?&x" */
        } else if (!value) {
            msg = "bad URL parameter (expected key=value)";
            goto error;
        } else if (key_len == 11 && !strncmp(p, "unix_socket", 11)) {
            free(url->unix_socket);
            url->unix_socket = value;
            value = NULL;
        } else if (key_len == 7 && !strncmp(p, "charset", 7)) {
            /* Always utf8mb4. */
        } else {
            free(value);
            msg = "unknown URL parameter (known: unix_socket, charset)";
            goto error;
        }
        free(value);
        p += len;
        if (*p == '&') {
            p++;
        }
    }
    return true;

error:
    snprintf(errbuf, errbuf_size, "bad mysql URL: %s", msg);
    mdb_url_destroy(url);
    return false;
}

/* Errors. */

static bool
is_connection_lost(unsigned int err)
{
    switch (err) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case MDB_ER_CLIENT_INTERACTION_TIMEOUT:
        return true;
    default:
        return false;
    }
}

static int
map_errno(unsigned int err)
{
    switch (err) {
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_USER_LOCK_DEADLOCK:
        return DB_RETRY;
    case ER_DUP_ENTRY:
    case ER_DUP_KEY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_FOREIGN_DUPLICATE_KEY_WITH_CHILD_INFO:
    case ER_FOREIGN_DUPLICATE_KEY_WITHOUT_CHILD_INFO:
    case ER_ROW_IS_REFERENCED:
    case ER_NO_REFERENCED_ROW:
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW_2:
        return DB_CONSTRAINT;
    default:
        return is_connection_lost(err) ? DB_RETRY : DB_ERROR;
    }
}

/* Records error 'err' ('msg') of 'what' in db->errmsg, marks the connection
 * lost if it was, and returns the error mapped to enum db_rc. */
static int
mdb_fail(struct mdb_db *mdb, const char *what, unsigned int err,
         const char *msg)
{
    db_set_error__(&mdb->up, "mariadb: %s: %s (%u)", what, msg, err);
    if (is_connection_lost(err)) {
        mdb->up.lost = true;
    }
    return map_errno(err);
}

static int
conn_fail(struct mdb_db *mdb, const char *what)
{
    return mdb_fail(mdb, what, mysql_errno(mdb->conn),
                    mysql_error(mdb->conn));
}

static int
stmt_fail(struct mdb_stmt *mst, const char *what)
{
    return mdb_fail(mdb_db_cast(mst->up.db), what,
                    mysql_stmt_errno(mst->handle),
                    mysql_stmt_error(mst->handle));
}

/* Connections. */

/* Runs one statement that returns no rows on 'conn'.  Returns 0 or the
 * MySQL error number. */
static unsigned int
query_simple(MYSQL *conn, const char *sql)
{
    if (mysql_real_query(conn, sql, strlen(sql))) {
        return mysql_errno(conn);
    }
    MYSQL_RES *res = mysql_store_result(conn);
    mysql_free_result(res);
    return 0;
}

/* Opens a new connection for 'url' and sets up the session.  Returns the
 * connection, or NULL with a message in 'errbuf'. */
static MYSQL *
mdb_connect(const struct mdb_url *url, char *errbuf, size_t errbuf_size)
{
    unsigned int connect_timeout = MDB_CONNECT_TIMEOUT_S;
    unsigned int rw_timeout = MDB_RW_TIMEOUT_S;
    my_bool no = 0;
    MYSQL *conn;

    pthread_once(&library_once, library_init);
    if (library_rc) {
        snprintf(errbuf, errbuf_size, "mariadb: cannot initialise "
                 "the client library");
        return NULL;
    }
    conn = mysql_init(NULL);
    if (!conn) {
        snprintf(errbuf, errbuf_size, "mariadb: out of memory");
        return NULL;
    }
    mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(conn, MYSQL_OPT_RECONNECT, &no);
    mysql_options(conn, MYSQL_OPT_LOCAL_INFILE, &no);
    mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");

    /* CLIENT_FOUND_ROWS: UPDATE counts the rows it matched, as SQLite does,
     * not only those whose values changed. */
    if (!mysql_real_connect(conn, url->host, url->user, url->password,
                            url->dbname, url->port, url->unix_socket,
                            CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS)) {
        snprintf(errbuf, errbuf_size,
                 "mariadb: cannot connect to %s%s%s: %s (%u)",
                 url->unix_socket ? url->unix_socket : url->host,
                 url->dbname ? ", database " : "",
                 url->dbname ? url->dbname : "",
                 mysql_error(conn), mysql_errno(conn));
        mysql_close(conn);
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(session_setup); i++) {
        if (query_simple(conn, session_setup[i])) {
            snprintf(errbuf, errbuf_size, "mariadb: session setup: %s (%u)",
                     mysql_error(conn), mysql_errno(conn));
            mysql_close(conn);
            return NULL;
        }
    }
    return conn;
}

/* Replaces the lost connection of 'mdb' by a new one.  The cached statements
 * lose their handles and are prepared again on their next execution. */
static int
mdb_reconnect(struct mdb_db *mdb)
{
    struct db_stmt *stmt, *next;
    char errbuf[DB_ERRMSG_SIZE];

    /* mysql_close() detaches the statements, so that closing them afterwards
     * only frees memory instead of talking to a dead server. */
    mysql_close(mdb->conn);
    mdb->conn = NULL;
    HASH_ITER (hh, mdb->up.stmts, stmt, next) {
        struct mdb_stmt *mst = mdb_stmt_cast(stmt);

        if (mst->handle) {
            mysql_stmt_close(mst->handle);
            mst->handle = NULL;
        }
        mst->rows_lost = mst->has_rows;
        mst->has_rows = false;
    }

    /* While 'lost' stays true nothing but mdb_ensure() uses 'conn'. */
    mdb->conn = mdb_connect(&mdb->url, errbuf, sizeof errbuf);
    if (!mdb->conn) {
        db_set_error__(&mdb->up, "reconnecting: %s", errbuf);
        return DB_UNAVAILABLE;
    }
    mdb->up.lost = false;
    mdb->last_used = time_monotonic_usec();
    return DB_OK;
}

/* Makes sure the connection can be used for the next command: outside a
 * transaction reconnects a lost connection and pings one that was idle for
 * a while.  Returns DB_OK, DB_RETRY if the connection was lost inside the
 * transaction, or DB_UNAVAILABLE if reconnecting failed (the connection
 * stays lost; the next call tries again). */
static int
mdb_ensure(struct mdb_db *mdb)
{
    uint64_t now = time_monotonic_usec();
    bool idle_loss = false;

    if (mdb->up.in_txn) {
        if (mdb->up.lost) {
            db_set_error__(&mdb->up, "mariadb: connection lost during "
                           "the transaction");
            return DB_RETRY;
        }
    } else if (!mdb->up.lost && now - mdb->last_used > MDB_PING_IDLE_USEC
               && mysql_ping(mdb->conn)) {
        /* Typically the server's wait_timeout: routine. */
        LOG_DBG(MOD, "mariadb: idle connection is gone: %s",
                mysql_error(mdb->conn));
        mdb->up.lost = idle_loss = true;
    }
    if (mdb->up.lost) {
        int rc = mdb_reconnect(mdb);
        if (rc != DB_OK) {
            return rc;
        }
        if (!idle_loss) {
            LOG_RL(LOG_LEVEL_WARN, MOD, "mariadb: lost connection to %s "
                   "replaced", (mdb->url.unix_socket ? mdb->url.unix_socket
                                : mdb->url.host));
        }
    }
    mdb->last_used = now;
    return DB_OK;
}

static int
mdb_open(const char *rest, struct db **dbp, char *errbuf,
         size_t errbuf_size)
{
    struct mdb_db *mdb = xzalloc(sizeof *mdb);

    if (!mdb_url_parse(rest, &mdb->url, errbuf, errbuf_size)) {
        free(mdb);
        return DB_ERROR;
    }
    mdb->conn = mdb_connect(&mdb->url, errbuf, errbuf_size);
    if (!mdb->conn) {
        mdb_url_destroy(&mdb->url);
        free(mdb);
        return DB_ERROR;
    }
    mdb->last_used = time_monotonic_usec();
    LOG_DBG(MOD, "mariadb: connected to %s",
            mdb->url.unix_socket ? mdb->url.unix_socket : mdb->url.host);
    *dbp = &mdb->up;
    return DB_OK;
}

static void
mdb_close(struct db *db)
{
    struct mdb_db *mdb = mdb_db_cast(db);

    mysql_close(mdb->conn);
    mdb_url_destroy(&mdb->url);
    free(mdb);
}

/* Runs 'sql', which may hold several statements, discarding any rows. */
static int
mdb_exec_(struct mdb_db *mdb, const char *sql)
{
    int status;

    if (mysql_real_query(mdb->conn, sql, strlen(sql))) {
        return conn_fail(mdb, "exec");
    }
    do {
        MYSQL_RES *res = mysql_store_result(mdb->conn);
        if (res) {
            mysql_free_result(res);
        } else if (mysql_field_count(mdb->conn)) {
            return conn_fail(mdb, "exec");
        }
        status = mysql_next_result(mdb->conn);
    } while (status == 0);
    return status > 0 ? conn_fail(mdb, "exec") : DB_OK;
}

static int
mdb_exec(struct db *db, const char *sql)
{
    struct mdb_db *mdb = mdb_db_cast(db);
    int rc = mdb_ensure(mdb);

    return rc == DB_OK ? mdb_exec_(mdb, sql) : rc;
}

/* A write transaction runs READ COMMITTED (the session default); a read
 * transaction reads one consistent snapshot, as it does on SQLite. */
static int
mdb_begin(struct db *db, bool write)
{
    return mdb_exec(db, (write
                         ? "START TRANSACTION"
                         : "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;"
                           "START TRANSACTION READ ONLY, "
                           "WITH CONSISTENT SNAPSHOT"));
}

static int
mdb_commit(struct db *db)
{
    struct mdb_db *mdb = mdb_db_cast(db);

    if (mdb->up.lost) {
        db_set_error__(db, "mariadb: connection lost during the transaction");
        return DB_RETRY;
    }
    return mdb_exec_(mdb, "COMMIT");
}

static int
mdb_rollback(struct db *db)
{
    struct mdb_db *mdb = mdb_db_cast(db);

    /* The server rolls back a transaction whose connection is gone. */
    return mdb->up.lost ? DB_OK : mdb_exec_(mdb, "ROLLBACK");
}

/* Statements. */

/* Makes room for 'n' parameters, new ones bound to NULL. */
static void
params_reserve(struct mdb_stmt *mst, int n)
{
    if (n <= mst->params_cap) {
        return;
    }
    mst->pbinds = xrealloc(mst->pbinds, (size_t) n * sizeof *mst->pbinds);
    mst->params = xrealloc(mst->params, (size_t) n * sizeof *mst->params);
    for (int i = mst->params_cap; i < n; i++) {
        memset(&mst->pbinds[i], 0, sizeof mst->pbinds[i]);
        mst->pbinds[i].buffer_type = MYSQL_TYPE_NULL;
        memset(&mst->params[i], 0, sizeof mst->params[i]);
    }
    mst->params_cap = n;
}

/* Sizes the column arrays for 'n' result columns. */
static void
cols_resize(struct mdb_stmt *mst, int n)
{
    for (int i = n; i < mst->n_cols; i++) {
        free(mst->cols[i].buf);
    }
    mst->cbinds = xrealloc(mst->cbinds, (size_t) n * sizeof *mst->cbinds);
    mst->cols = xrealloc(mst->cols, (size_t) n * sizeof *mst->cols);
    for (int i = mst->n_cols; i < n; i++) {
        struct mdb_col *col = &mst->cols[i];

        memset(col, 0, sizeof *col);
        col->cap = MDB_COL_MIN_SIZE;
        col->buf = xmalloc(col->cap);
    }
    for (int i = 0; i < n; i++) {
        MYSQL_BIND *b = &mst->cbinds[i];
        struct mdb_col *col = &mst->cols[i];

        memset(b, 0, sizeof *b);
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = col->buf;
        b->buffer_length = col->cap - 1;     /* room for the NUL */
        b->length = &col->length;
        b->is_null = &col->is_null;
        b->error = &col->error;
    }
    mst->n_cols = n;
}

/* Prepares the statement's SQL on the current connection.  Keeps the
 * bindings.  Returns DB_OK or a mapped error. */
static int
stmt_prepare(struct mdb_stmt *mst)
{
    struct mdb_db *mdb = mdb_db_cast(mst->up.db);
    const char *sql = mst->up.sql;
    int n_params;

    mst->handle = mysql_stmt_init(mdb->conn);
    if (!mst->handle) {
        return conn_fail(mdb, "prepare");
    }
    if (mysql_stmt_prepare(mst->handle, sql, strlen(sql))) {
        int rc = stmt_fail(mst, "prepare");
        mysql_stmt_close(mst->handle);
        mst->handle = NULL;
        return rc;
    }
    mst->has_rows = false;

    n_params = (int) mysql_stmt_param_count(mst->handle);
    if (mst->max_bound > n_params) {
        db_set_error__(&mdb->up, "parameter %d out of range (statement "
                       "has %d): %s", mst->max_bound, n_params, sql);
        mysql_stmt_close(mst->handle);
        mst->handle = NULL;
        return DB_ERROR;
    }
    mst->n_params = n_params;
    params_reserve(mst, n_params);
    cols_resize(mst, (int) mysql_stmt_field_count(mst->handle));
    return DB_OK;
}

static struct db_stmt *
mdb_stmt_create(struct db *db, const char *sql)
{
    struct mdb_db *mdb = mdb_db_cast(db);
    struct mdb_stmt *mst = xzalloc(sizeof *mst);
    int rc;

    /* stmt_prepare() reads the SQL from the base statement, which db.c
     * fills in only after we return. */
    mst->up.db = db;
    mst->up.sql = (char *) sql;
    mst->n_params = -1;

    rc = mdb_ensure(mdb);
    if (rc == DB_OK) {
        rc = stmt_prepare(mst);
    }
    mst->up.sql = NULL;
    if ((rc == DB_RETRY || rc == DB_UNAVAILABLE) && mdb->up.lost) {
        /* Connection lost: hand out the statement unprepared, so that the
         * caller's db_step() reports DB_RETRY (the transaction is run
         * again) or DB_UNAVAILABLE (the server is still away). */
        return &mst->up;
    } else if (rc != DB_OK) {
        free(mst);
        return NULL;
    }
    return &mst->up;
}

static void
mdb_stmt_destroy(struct db_stmt *stmt)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);

    if (mst->handle) {
        mysql_stmt_close(mst->handle);
    }
    for (int i = 0; i < mst->params_cap; i++) {
        free(mst->params[i].buf);
    }
    free(mst->params);
    free(mst->pbinds);
    for (int i = 0; i < mst->n_cols; i++) {
        free(mst->cols[i].buf);
    }
    free(mst->cols);
    free(mst->cbinds);
    free(mst);
}

static void
mdb_stmt_reset(struct db_stmt *stmt, bool clear_bindings)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);

    if (mst->has_rows) {
        /* Frees the stored rows; no round trip to the server. */
        mysql_stmt_free_result(mst->handle);
        mst->has_rows = false;
    }
    mst->rows_lost = false;
    if (clear_bindings) {
        for (int i = 0; i < mst->params_cap; i++) {
            mst->pbinds[i].buffer_type = MYSQL_TYPE_NULL;
        }
        mst->max_bound = 0;
    }
}

static int
mdb_param_count(struct db_stmt *stmt)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);

    return mst->n_params >= 0 ? mst->n_params : MDB_MAX_PARAMS;
}

/* Returns the binding for parameter 'idx', after making room for it. */
static MYSQL_BIND *
param_bind(struct mdb_stmt *mst, int idx)
{
    if (mst->has_rows) {
        mysql_stmt_free_result(mst->handle);
        mst->has_rows = false;
    }
    mst->rows_lost = false;
    params_reserve(mst, idx);
    if (idx > mst->max_bound) {
        mst->max_bound = idx;
    }
    return &mst->pbinds[idx - 1];
}

static void
mdb_bind_text(struct db_stmt *stmt, int idx, const char *value)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);
    MYSQL_BIND *b = param_bind(mst, idx);
    struct mdb_param *p = &mst->params[idx - 1];
    size_t len = strlen(value);

    if (len + 1 > p->cap) {
        p->cap = len + 1;
        free(p->buf);
        p->buf = xmalloc(p->cap);
    }
    memcpy(p->buf, value, len + 1);
    p->length = len;

    memset(b, 0, sizeof *b);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = p->buf;
    b->buffer_length = len;
    b->length = &p->length;
}

static void
mdb_bind_int64(struct db_stmt *stmt, int idx, int64_t value)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);
    MYSQL_BIND *b = param_bind(mst, idx);
    struct mdb_param *p = &mst->params[idx - 1];

    p->ival = value;
    memset(b, 0, sizeof *b);
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &p->ival;
}

static void
mdb_bind_null(struct db_stmt *stmt, int idx)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);
    MYSQL_BIND *b = param_bind(mst, idx);

    memset(b, 0, sizeof *b);
    b->buffer_type = MYSQL_TYPE_NULL;
}

/* Returns true if 'sql' is a SELECT. */
static bool
is_select(const char *sql)
{
    sql += strspn(sql, " \t\r\n(");
    return !strncasecmp(sql, "SELECT", 6);
}

/* Executes the statement: prepares it again if the connection was
 * replaced, sends the bindings and buffers any result set. */
static int
stmt_execute(struct mdb_stmt *mst)
{
    struct mdb_db *mdb = mdb_db_cast(mst->up.db);
    int rc = mdb_ensure(mdb);
    bool reprepared = false;

    if (rc != DB_OK) {
        return rc;
    }

again:
    if (!mst->handle) {
        rc = stmt_prepare(mst);
        if (rc != DB_OK) {
            return rc;
        }
    }
    if (mst->n_params && mysql_stmt_bind_param(mst->handle, mst->pbinds)) {
        return stmt_fail(mst, "bind");
    }
    if (mysql_stmt_execute(mst->handle)) {
        unsigned int err = mysql_stmt_errno(mst->handle);

        if (err == ER_NEED_REPREPARE || err == CR_NEW_STMT_METADATA) {
            /* A table changed under the cached statement.  Prepare it
             * again: mysql_stmt_close() drops any rows in flight.  With
             * ER_NEED_REPREPARE the server did not run the statement; with
             * CR_NEW_STMT_METADATA (result columns changed) it did, so only
             * a SELECT may simply run again. */
            rc = stmt_fail(mst, "execute");
            mysql_stmt_close(mst->handle);
            mst->handle = NULL;
            if (!reprepared && (err == ER_NEED_REPREPARE
                                || is_select(mst->up.sql))) {
                reprepared = true;
                goto again;
            }
            return rc;
        }
        return stmt_fail(mst, "execute");
    }

    int n_cols = (int) mysql_stmt_field_count(mst->handle);
    if (!n_cols) {
        mst->up.changes = (int64_t) mysql_stmt_affected_rows(mst->handle);
        return DB_DONE;
    }
    if (n_cols != mst->n_cols) {
        cols_resize(mst, n_cols);
    }
    if (mysql_stmt_store_result(mst->handle)) {
        rc = stmt_fail(mst, "fetching rows");
        mysql_stmt_free_result(mst->handle);
        return rc;
    }
    mst->has_rows = true;
    mst->up.changes = (int64_t) mysql_stmt_affected_rows(mst->handle);
    if (mysql_stmt_bind_result(mst->handle, mst->cbinds)) {
        return stmt_fail(mst, "binding columns");
    }
    return DB_OK;
}

/* Fetches the next buffered row, growing the buffers of truncated
 * columns. */
static int
stmt_fetch(struct mdb_stmt *mst)
{
    int status = mysql_stmt_fetch(mst->handle);

    if (status == MYSQL_NO_DATA) {
        mysql_stmt_free_result(mst->handle);
        mst->has_rows = false;
        return DB_DONE;
    } else if (status == 1) {
        int rc = stmt_fail(mst, "fetch");
        mysql_stmt_free_result(mst->handle);
        mst->has_rows = false;
        return rc;
    }

    if (status == MYSQL_DATA_TRUNCATED) {
        for (int i = 0; i < mst->n_cols; i++) {
            struct mdb_col *col = &mst->cols[i];
            MYSQL_BIND *b = &mst->cbinds[i];

            if (col->is_null || col->length <= b->buffer_length) {
                continue;
            }
            free(col->buf);
            col->cap = col->length + 1;
            col->buf = xmalloc(col->cap);
            b->buffer = col->buf;
            b->buffer_length = col->cap - 1;
            if (mysql_stmt_fetch_column(mst->handle, b, (unsigned int) i,
                                        0)) {
                int rc = stmt_fail(mst, "fetch column");
                mysql_stmt_free_result(mst->handle);
                mst->has_rows = false;
                return rc;
            }
        }
        /* The bigger buffers serve the following rows too. */
        if (mysql_stmt_bind_result(mst->handle, mst->cbinds)) {
            int rc = stmt_fail(mst, "binding columns");
            mysql_stmt_free_result(mst->handle);
            mst->has_rows = false;
            return rc;
        }
    }
    for (int i = 0; i < mst->n_cols; i++) {
        struct mdb_col *col = &mst->cols[i];

        if (!col->is_null) {
            col->buf[col->length] = '\0';
        }
    }
    return DB_ROW;
}

static int
mdb_step(struct db_stmt *stmt)
{
    struct mdb_stmt *mst = mdb_stmt_cast(stmt);

    if (mst->rows_lost) {
        /* Do not start over silently in the middle of the rows. */
        mst->rows_lost = false;
        db_set_error__(stmt->db, "mariadb: connection lost while reading "
                       "rows");
        return DB_RETRY;
    }
    if (!mst->has_rows) {
        int rc = stmt_execute(mst);
        if (rc != DB_OK) {
            return rc;
        }
    }
    return stmt_fetch(mst);
}

static int
mdb_col_count(struct db_stmt *stmt)
{
    return mdb_stmt_cast(stmt)->n_cols;
}

static const char *
mdb_col_text(struct db_stmt *stmt, int col)
{
    struct mdb_col *c = &mdb_stmt_cast(stmt)->cols[col];

    return c->is_null ? NULL : c->buf;
}

static int64_t
mdb_col_int64(struct db_stmt *stmt, int col)
{
    struct mdb_col *c = &mdb_stmt_cast(stmt)->cols[col];

    return c->is_null ? 0 : strtoll(c->buf, NULL, 10);
}

static bool
mdb_col_is_null(struct db_stmt *stmt, int col)
{
    return mdb_stmt_cast(stmt)->cols[col].is_null;
}

const struct db_class mariadb_class = {
    .type = "mariadb",
    .engine = DB_ENGINE_MARIADB,
    .open = mdb_open,
    .close = mdb_close,
    .exec = mdb_exec,
    .begin = mdb_begin,
    .commit = mdb_commit,
    .rollback = mdb_rollback,
    .stmt_create = mdb_stmt_create,
    .stmt_destroy = mdb_stmt_destroy,
    .stmt_reset = mdb_stmt_reset,
    .param_count = mdb_param_count,
    .bind_text = mdb_bind_text,
    .bind_int64 = mdb_bind_int64,
    .bind_null = mdb_bind_null,
    .step = mdb_step,
    .col_count = mdb_col_count,
    .col_text = mdb_col_text,
    .col_int64 = mdb_col_int64,
    .col_is_null = mdb_col_is_null,
};
