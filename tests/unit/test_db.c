/* tests/unit/test_db.c: the storage interface (db/db.h), on the engine named
 * by HADRON_TEST_ENGINE (sqlite or mariadb; see tests/lib/testdb.h).
 *
 * Every test gets a fresh, empty database and asserts what a caller of
 * db.h observes.  Tests that only make sense on one engine (the kind of
 * write conflict, reconnecting, MariaDB session settings) are chosen at
 * run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "tests/lib/testdb.h"

struct fixture {
    char *url;
    struct db *db;
};

static bool
is_mariadb(void)
{
    return !strcmp(testdb_engine(), "mariadb");
}

static struct db *
open_db(const char *url)
{
    char errbuf[256] = "";
    struct db *db = NULL;
    int rc = db_open(url, &db, errbuf, sizeof errbuf);

    if (rc != DB_OK) {
        print_error("db_open(%s): %s\n", url, errbuf);
    }
    assert_int_equal(rc, DB_OK);
    assert_non_null(db);
    return db;
}

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);

    f->url = testdb_create();
    f->db = open_db(f->url);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    db_close(f->db);
    testdb_drop(f->url);
    free(f->url);
    free(f);
    return 0;
}

/* Asserts that 'EXPR' returns 'RC', showing db_errmsg(DB) if not. */
#define assert_rc(DB, EXPR, RC)                                         \
    do {                                                                \
        int rc_ = (EXPR);                                               \
        if (rc_ != (RC)) {                                              \
            print_error("%s: rc %d: %s\n", #EXPR, rc_, db_errmsg(DB));  \
        }                                                               \
        assert_int_equal(rc_, (RC));                                    \
    } while (0)
#define assert_ok(DB, EXPR) assert_rc(DB, EXPR, DB_OK)

static struct db_stmt *
prepare(struct db *db, const char *sql)
{
    struct db_stmt *stmt = db_prepare(db, sql);

    if (!stmt) {
        print_error("db_prepare(%s): %s\n", sql, db_errmsg(db));
    }
    assert_non_null(stmt);
    return stmt;
}

/* Returns the integer in the first column of the one row of 'sql'. */
static int64_t
query_int(struct db *db, const char *sql)
{
    struct db_stmt *stmt = prepare(db, sql);
    int64_t value;

    assert_rc(db, db_step(stmt), DB_ROW);
    value = db_col_int64(stmt, 0);
    assert_rc(db, db_step(stmt), DB_DONE);
    return value;
}

/* Runs 'sql' with text parameters given as a NULL-terminated list. */
static int
exec_v(struct db *db, const char *sql, ...)
{
    const char *params[16];
    size_t n = 0;
    va_list args;

    va_start(args, sql);
    for (const char *p; (p = va_arg(args, const char *)) != NULL; ) {
        assert_true(n < ARRAY_SIZE(params));
        params[n++] = p;
    }
    va_end(args);
    return db_exec_params(db, sql, params, n);
}

/* Opening and closing. */

static void
test_open_close(void **state)
{
    struct fixture *f = *state;
    struct db *db = open_db(f->url);

    assert_int_equal(db_engine(db), is_mariadb() ? DB_ENGINE_MARIADB
                                                 : DB_ENGINE_SQLITE);
    assert_string_equal(db_engine_name(db_engine(db)), testdb_engine());
    assert_non_null(db_errmsg(db));
    assert_false(db_in_transaction(db));
    db_close(db);
    db_close(NULL);
}

static void
test_bad_urls(void **state)
{
    static const char *const urls[] = {
        "",
        "s3cr3t",
        "postgresql://u:s3cr3t@localhost/db",
        "sqlite:",
        "sqlite://host/path.db",
        "sqlite:///",
        "sqlite:////nonexistent-hadron-dir/sub/x.db",
        "mysql://u:s3cr3t@127.0.0.1:1/db",
        "mysql+pymysql://u:s3cr3t@127.0.0.1:1/db",
        "mariadb://u:s3cr3t@127.0.0.1:1/db",
        "mysql+://u:s3cr3t@127.0.0.1:1/db",
        "mysql://u:s3cr3t@localhost:99999/db",
        "mysql://u:s3cr3t@localhost:12ab/db",
        "mysql://u:s3cr3t@[::1/db",
        "mysql://u:s3cr3t%zz@localhost/db",
        "mysql://u:s3cr3t%00@localhost/db",
        "mysql://u:s3cr3t@localhost/db?bogus=1",
        "mysql://u:s3cr3t@localhost/db?unix_socket",
        "mysql://u:s3cr3t@localhost/db?unix_socket=/nonexistent/hadron.sock",
    };

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
        char errbuf[256] = "";
        struct db *db = (struct db *) &errbuf;  /* must be overwritten */

        if (db_open(urls[i], &db, errbuf, sizeof errbuf) != DB_ERROR) {
            fail_msg("db_open(%s) did not fail", urls[i]);
        }
        assert_null(db);
        assert_true(errbuf[0]);
        if (strstr(errbuf, "s3cr")) {
            fail_msg("db_open(%s): message shows the password: %s",
                     urls[i], errbuf);
        }
        /* No error buffer is fine too. */
        assert_int_equal(db_open(urls[i], &db, NULL, 0), DB_ERROR);
    }

    struct db *db;
    char errbuf[256];
    assert_int_equal(db_open(NULL, &db, errbuf, sizeof errbuf), DB_ERROR);

    /* The alternative schemes reach the MariaDB engine. */
    db_open("mariadb://u:s3cr3t@127.0.0.1:1/db", &db, errbuf, sizeof errbuf);
    assert_non_null(strstr(errbuf, "127.0.0.1"));
    db_open("mysql+pymysql://u:s3cr3t@127.0.0.1:1/db", &db, errbuf,
            sizeof errbuf);
    assert_non_null(strstr(errbuf, "127.0.0.1"));
}

/* Returns 'url' (a mysql URL) with its user info replaced by 'userinfo'. */
static char *
url_with_userinfo(const char *url, const char *userinfo)
{
    const char *start = strstr(url, "://") + 3;
    const char *query = strchr(start, '?');
    const char *end = query ? query : start + strlen(start);
    const char *at = NULL;

    for (const char *p = start; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    return xasprintf("%.*s%s@%s", (int) (start - url), url, userinfo,
                     at ? at + 1 : start);
}

static void
test_mariadb_bad_password(void **state)
{
    struct fixture *f = *state;
    char *url = url_with_userinfo(f->url, "root:s3cr3tpw");
    char errbuf[256] = "";
    struct db *db;

    assert_int_equal(db_open(url, &db, errbuf, sizeof errbuf), DB_ERROR);
    assert_null(db);
    assert_non_null(strstr(errbuf, "Access denied"));
    assert_null(strstr(errbuf, "s3cr"));
    free(url);
}

/* A user whose password needs %-encoding connects with the encoded URL;
 * '@' and '/' also work unencoded. */
static void
test_mariadb_url_decoding(void **state)
{
    struct fixture *f = *state;
    char user[64];
    char *sql, *userinfo, *url;
    struct db *db;

    snprintf(user, sizeof user, "hadron_t_%ld", (long) getpid());
    sql = xasprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY "
                    "'p@ss:w/rd%%?&x';"
                    "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY "
                    "'p@ss:w/rd%%?&x';"
                    "GRANT ALL ON *.* TO '%s'@'localhost';"
                    "GRANT ALL ON *.* TO '%s'@'127.0.0.1'",
                    user, user, user, user);
    assert_ok(f->db, db_exec(f->db, sql));
    free(sql);

    userinfo = xasprintf("%s:p%%40ss%%3Aw%%2Frd%%25%%3F%%26x", user);
    url = url_with_userinfo(f->url, userinfo);
    db = open_db(url);
    assert_int_equal(query_int(db, "SELECT 7"), 7);
    db_close(db);
    free(url);
    free(userinfo);

    /* The same password with a wrong escape is refused by the server. */
    userinfo = xasprintf("%s:p%%40ss%%3Aw%%2Frd%%25%%3F%%26y", user);
    url = url_with_userinfo(f->url, userinfo);
    char errbuf[256];
    assert_int_equal(db_open(url, &db, errbuf, sizeof errbuf), DB_ERROR);
    assert_null(strstr(errbuf, "p@ss"));
    free(url);
    free(userinfo);

    sql = xasprintf("DROP USER '%s'@'localhost'; DROP USER '%s'@'127.0.0.1'",
                    user, user);
    assert_ok(f->db, db_exec(f->db, sql));
    free(sql);
}

/* sqlite:// is in memory; sqlite:///rel is relative to the working
 * directory; sqlite:////abs is absolute.  Works whatever the engine under
 * test, since SQLite is always there. */
static void
test_sqlite_urls(void **state)
{
    char template[] = "/tmp/hadron-test-urls-XXXXXX";
    char cwd[4096];
    struct db *db;
    char *url;

    (void) state;
    db = open_db("sqlite://");
    assert_ok(db, db_exec(db, "CREATE TABLE t (x INTEGER); "
                          "INSERT INTO t VALUES (5)"));
    assert_int_equal(query_int(db, "SELECT x FROM t"), 5);
    db_close(db);

    assert_non_null(mkdtemp(template));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(template), 0);
    db = open_db("sqlite:///rel.db");
    db_close(db);
    assert_int_equal(access("rel.db", F_OK), 0);
    assert_int_equal(chdir(cwd), 0);

    url = xasprintf("sqlite:///%s/abs.db", template);
    db = open_db(url);
    db_close(db);
    free(url);

    char *path = xasprintf("%s/abs.db", template);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    free(path);
    path = xasprintf("%s/rel.db", template);
    unlink(path);
    free(path);
    assert_int_equal(rmdir(template), 0);
}

/* db_exec(). */

static void
test_exec(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;

    assert_ok(db, db_exec(db, "CREATE TABLE t (\n"
                          "    id INTEGER NOT NULL PRIMARY KEY,\n"
                          "    name VARCHAR(64)\n"
                          ");\n"
                          "INSERT INTO t VALUES (1, 'a');\n"
                          "INSERT INTO t VALUES (2, 'b');\n"));
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 2);

    /* Rows are discarded. */
    assert_ok(db, db_exec(db, "SELECT * FROM t"));

    assert_int_equal(db_exec(db, "CREATE TABLE t (x INTEGER)"), DB_ERROR);
    assert_true(db_errmsg(db)[0]);
    assert_int_equal(db_exec(db, "THIS IS NOT SQL"), DB_ERROR);

    /* Statements before a failing one have run (and committed). */
    assert_int_equal(db_exec(db, "INSERT INTO t VALUES (3, 'c');\n"
                             "INSERT INTO nosuch VALUES (1);\n"
                             "INSERT INTO t VALUES (4, 'd');\n"),
                     DB_ERROR);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 3);

    /* Double-quoted identifiers and || work on both engines. */
    struct db_stmt *stmt = prepare(db, "SELECT \"name\" || '!' FROM t "
                                   "WHERE id = 1");
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_string_equal(db_col_text(stmt, 0), "a!");
    db_reset(stmt);
}

/* Prepared statements. */

static void
create_t(struct db *db)
{
    assert_ok(db, db_exec(db, "CREATE TABLE t (\n"
                          "    id BIGINT NOT NULL PRIMARY KEY,\n"
                          "    name VARCHAR(64) NOT NULL,\n"
                          "    note TEXT,\n"
                          "    n INTEGER\n"
                          ")"));
}

static void
test_bind_columns(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    create_t(db);
    stmt = prepare(db, "INSERT INTO t (id, name, note, n) "
                   "VALUES (?, ?, ?, ?)");
    db_bind_int64(stmt, 1, 1);
    db_bind_text(stmt, 2, "one");
    db_bind_text(stmt, 3, NULL);
    db_bind_int64(stmt, 4, 10);
    assert_rc(db, db_step(stmt), DB_DONE);

    stmt = prepare(db, "INSERT INTO t (id, name, note, n) "
                   "VALUES (?, ?, ?, ?)");
    db_bind_int64(stmt, 1, 2);
    db_bind_text(stmt, 2, "Zürich ☃ 🚀");
    db_bind_text(stmt, 3, "");
    db_bind_null(stmt, 4);
    assert_rc(db, db_step(stmt), DB_DONE);

    /* An unbound parameter is NULL. */
    stmt = prepare(db, "INSERT INTO t (id, name, note) VALUES (?, ?, ?)");
    db_bind_int64(stmt, 1, 3);
    db_bind_text(stmt, 2, "three");
    assert_rc(db, db_step(stmt), DB_DONE);

    stmt = prepare(db, "SELECT id, name, note, n FROM t ORDER BY id");
    assert_int_equal(db_col_count(stmt), 4);

    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 1);
    assert_string_equal(db_col_text(stmt, 0), "1");
    assert_string_equal(db_col_text(stmt, 1), "one");
    assert_null(db_col_text(stmt, 2));
    assert_true(db_col_is_null(stmt, 2));
    assert_int_equal(db_col_int64(stmt, 2), 0);
    assert_int_equal(db_col_int64(stmt, 3), 10);
    assert_false(db_col_is_null(stmt, 3));
    /* Out of range columns read as NULL. */
    assert_null(db_col_text(stmt, 4));
    assert_null(db_col_text(stmt, -1));
    assert_true(db_col_is_null(stmt, 4));
    assert_int_equal(db_col_int64(stmt, 4), 0);

    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 2);
    assert_string_equal(db_col_text(stmt, 1), "Zürich ☃ 🚀");
    assert_string_equal(db_col_text(stmt, 2), "");
    assert_false(db_col_is_null(stmt, 2));
    assert_null(db_col_text(stmt, 3));
    assert_true(db_col_is_null(stmt, 3));

    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 3);
    assert_null(db_col_text(stmt, 2));

    assert_rc(db, db_step(stmt), DB_DONE);
    /* No row: accessors read NULL. */
    assert_null(db_col_text(stmt, 0));

    /* Stepping after DB_DONE runs the statement again. */
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 1);
    db_reset(stmt);

    /* db_exec_params(): NULL is SQL NULL. */
    assert_ok(db, exec_v(db, "INSERT INTO t (id, name, note) "
                         "VALUES (?, ?, ?)", "4", "four", NULL, NULL));
    assert_ok(db, exec_v(db, "UPDATE t SET n = ? WHERE id = ?", "44", "4",
                         NULL));
    assert_int_equal(query_int(db, "SELECT n FROM t WHERE id = 4"), 44);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t "
                               "WHERE id = 4 AND note IS NULL"), 1);
}

static void
test_bind_errors(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    create_t(db);
    assert_null(db_prepare(db, "SELECT nosuch FROM t"));
    assert_true(db_errmsg(db)[0]);
    assert_null(db_prepare(db, "NOT SQL AT ALL"));

    stmt = prepare(db, "INSERT INTO t (id, name) VALUES (?, ?)");
    db_bind_int64(stmt, 1, 1);
    db_bind_text(stmt, 2, "x");
    db_bind_text(stmt, 3, "out of range");
    assert_int_equal(db_step(stmt), DB_ERROR);
    assert_non_null(strstr(db_errmsg(db), "parameter 3"));

    stmt = prepare(db, "INSERT INTO t (id, name) VALUES (?, ?)");
    db_bind_int64(stmt, 0, 1);
    assert_int_equal(db_step(stmt), DB_ERROR);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);

    /* Preparing again forgets the bad binding. */
    stmt = prepare(db, "INSERT INTO t (id, name) VALUES (?, ?)");
    db_bind_int64(stmt, 1, 1);
    db_bind_text(stmt, 2, "x");
    assert_rc(db, db_step(stmt), DB_DONE);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1);
}

static char *
make_text(size_t len, int seed)
{
    char *s = xmalloc(len + 1);

    for (size_t i = 0; i < len; i++) {
        s[i] = (char) ('a' + (i * 7 + (size_t) seed) % 26);
    }
    s[len] = '\0';
    return s;
}

static void
test_long_text(void **state)
{
    static const size_t sizes[] = { 10, 70000, 300000, 5, 100000, 127, 128,
                                    129, 0, 65536 };
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    /* MEDIUMTEXT (16 MiB on MariaDB, TEXT affinity on SQLite); plain TEXT
     * holds at most 64 KiB on MariaDB. */
    assert_ok(db, db_exec(db, "CREATE TABLE big (id INTEGER NOT NULL "
                          "PRIMARY KEY, body MEDIUMTEXT NOT NULL)"));
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        char *text = make_text(sizes[i], (int) i);

        stmt = prepare(db, "INSERT INTO big (id, body) VALUES (?, ?)");
        db_bind_int64(stmt, 1, (int64_t) i);
        db_bind_text(stmt, 2, text);
        assert_rc(db, db_step(stmt), DB_DONE);
        free(text);
    }

    /* Twice: the second pass reads into the buffers grown by the first. */
    for (int pass = 0; pass < 2; pass++) {
        stmt = prepare(db, "SELECT id, body, id FROM big ORDER BY id");
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
            char *text = make_text(sizes[i], (int) i);

            assert_rc(db, db_step(stmt), DB_ROW);
            assert_int_equal(db_col_int64(stmt, 0), i);
            assert_int_equal(strlen(db_col_text(stmt, 1)), sizes[i]);
            assert_string_equal(db_col_text(stmt, 1), text);
            assert_int_equal(db_col_int64(stmt, 2), i);
            free(text);
        }
        assert_rc(db, db_step(stmt), DB_DONE);
    }

    /* A long text also comes back from an expression. */
    char *text = make_text(200000, 3);
    stmt = prepare(db, "SELECT ?");
    db_bind_text(stmt, 1, text);
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_string_equal(db_col_text(stmt, 0), text);
    db_reset(stmt);
    free(text);
}

static void
test_mariadb_text_limit(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    char *text = make_text(70000, 1);

    assert_ok(db, db_exec(db, "CREATE TABLE small (body TEXT)"));
    assert_int_equal(exec_v(db, "INSERT INTO small VALUES (?)", text, NULL),
                     DB_ERROR);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM small"), 0);
    free(text);
}

static void
test_int64(void **state)
{
    static const int64_t values[] = { INT64_MIN, INT64_MIN + 1, -1, 0, 1,
                                      (int64_t) 1 << 40, INT64_MAX };
    static const char *const texts[] = {
        "-9223372036854775808", "-9223372036854775807", "-1", "0", "1",
        "1099511627776", "9223372036854775807",
    };
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    assert_ok(db, db_exec(db, "CREATE TABLE nums (k INTEGER NOT NULL "
                          "PRIMARY KEY, v BIGINT)"));
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        stmt = prepare(db, "INSERT INTO nums (k, v) VALUES (?, ?)");
        db_bind_int64(stmt, 1, (int64_t) i);
        db_bind_int64(stmt, 2, values[i]);
        assert_rc(db, db_step(stmt), DB_DONE);
    }
    stmt = prepare(db, "SELECT v FROM nums ORDER BY k");
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        assert_rc(db, db_step(stmt), DB_ROW);
        assert_true(db_col_int64(stmt, 0) == values[i]);
        assert_string_equal(db_col_text(stmt, 0), texts[i]);
    }
    assert_rc(db, db_step(stmt), DB_DONE);

    /* Selecting by a bound int64, and a number bound as text. */
    stmt = prepare(db, "SELECT k FROM nums WHERE v = ?");
    db_bind_int64(stmt, 1, INT64_MIN);
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 0);
    db_reset(stmt);
    assert_ok(db, exec_v(db, "INSERT INTO nums (k, v) VALUES (?, ?)",
                         "100", "-42", NULL));
    assert_int_equal(query_int(db, "SELECT v FROM nums WHERE k = 100"), -42);
}

static void
test_stmt_cache(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *a, *b, *c;

    create_t(db);
    assert_ok(db, db_exec(db, "INSERT INTO t (id, name) VALUES (1, 'a');"
                          "INSERT INTO t (id, name) VALUES (2, 'b');"
                          "INSERT INTO t (id, name) VALUES (3, 'c')"));

    /* The same SQL gives the same statement, different SQL another. */
    a = prepare(db, "SELECT id FROM t ORDER BY id");
    b = prepare(db, "SELECT id FROM t ORDER BY id");
    c = prepare(db, "SELECT id FROM t ORDER BY id DESC");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);

    /* It comes back reset: iteration starts over. */
    assert_rc(db, db_step(a), DB_ROW);
    assert_rc(db, db_step(a), DB_ROW);
    assert_int_equal(db_col_int64(a, 0), 2);
    b = prepare(db, "SELECT id FROM t ORDER BY id");
    assert_ptr_equal(a, b);
    assert_rc(db, db_step(b), DB_ROW);
    assert_int_equal(db_col_int64(b, 0), 1);
    db_reset(b);
    db_reset(NULL);

    /* ... and without bindings. */
    a = prepare(db, "SELECT name FROM t WHERE id = ? OR ? IS NULL "
                "ORDER BY id");
    db_bind_int64(a, 1, 3);
    db_bind_int64(a, 2, 3);
    assert_rc(db, db_step(a), DB_ROW);
    assert_string_equal(db_col_text(a, 0), "c");
    assert_rc(db, db_step(a), DB_DONE);
    a = prepare(db, "SELECT name FROM t WHERE id = ? OR ? IS NULL "
                "ORDER BY id");
    assert_rc(db, db_step(a), DB_ROW);
    assert_string_equal(db_col_text(a, 0), "a");
    db_reset(a);

    /* Rebinding while rows are pending restarts the statement. */
    a = prepare(db, "SELECT name FROM t WHERE id >= ? ORDER BY id");
    db_bind_int64(a, 1, 1);
    assert_rc(db, db_step(a), DB_ROW);
    db_bind_int64(a, 1, 2);
    assert_rc(db, db_step(a), DB_ROW);
    assert_string_equal(db_col_text(a, 0), "b");
    db_reset(a);

    /* A statement left with unread rows is reset by db_begin(). */
    a = prepare(db, "SELECT id FROM t ORDER BY id");
    assert_rc(db, db_step(a), DB_ROW);
    assert_rc(db, db_step(a), DB_ROW);
    assert_ok(db, db_begin(db, false));
    assert_rc(db, db_step(a), DB_ROW);
    assert_int_equal(db_col_int64(a, 0), 1);
    assert_ok(db, db_commit(db));
    db_reset(a);

    /* Many statements at once. */
    for (int i = 0; i < 200; i++) {
        char sql[64];

        snprintf(sql, sizeof sql, "SELECT %d", i);
        assert_int_equal(query_int(db, sql), i);
    }
}

/* A cached statement follows a change of the table under it. */
/* IN lists (core/store.h): padded with copies of their last value to 1,
 * 4, 16, 64 or a power of two, they select the same rows as unpadded, and
 * 600 lengths make 8 statements instead of 600. */
static void
test_in_list_padding(void **state)
{
    struct fixture *f = *state;
    char *texts[16];
    size_t n_texts = 0;

    create_t(f->db);
    assert_ok(f->db, db_begin(f->db, true));
    for (int i = 0; i < 600; i++) {
        char id[16], name[16];
        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "n%d", i);
        assert_ok(f->db, exec_v(f->db, "INSERT INTO t (id, name) "
                                "VALUES (?, ?)", id, name, NULL));
    }
    assert_ok(f->db, db_commit(f->db));

    for (size_t n = 1; n <= 600; n++) {
        for (int by_name = 0; by_name < 2; by_name++) {
            struct sql_buf b;
            sql_init(&b);
            sql_add(&b, by_name ? "SELECT COUNT(*), MAX(id) FROM t WHERE "
                    "name IN (" : "SELECT COUNT(*), MAX(id) FROM t WHERE "
                    "id IN (");
            for (size_t i = 0; i < n; i++) {
                char name[16];
                sql_add(&b, i ? ", ?" : "?");
                if (by_name) {
                    snprintf(name, sizeof name, "n%zu", i);
                    sql_param(&b, name);
                } else {
                    sql_param_int(&b, (int64_t) i);
                }
            }
            sql_in_pad(&b, n);
            sql_add(&b, ")");
            size_t want = n <= 1 ? n : n <= 4 ? 4 : n <= 16 ? 16 : n <= 64
                          ? 64 : n <= 128 ? 128 : n <= 256 ? 256 : n <= 512
                          ? 512 : 1024;
            assert_int_equal(b.n_params, want);

            struct db_stmt *stmt = sql_prepare(f->db, &b);
            assert_non_null(stmt);
            assert_rc(f->db, db_step(stmt), DB_ROW);
            assert_int_equal(db_col_int64(stmt, 0), (int64_t) n);
            assert_int_equal(db_col_int64(stmt, 1), (int64_t) n - 1);
            db_reset(stmt);

            if (!by_name) {
                bool seen = false;
                for (size_t i = 0; i < n_texts && !seen; i++) {
                    seen = !strcmp(texts[i], b.text);
                }
                if (!seen) {
                    assert_true(n_texts < ARRAY_SIZE(texts));
                    texts[n_texts++] = xstrdup(b.text);
                }
            }
            sql_destroy(&b);
        }
    }
    assert_int_equal(n_texts, 8);   /* 1, 4, 16, 64, 128 ... 1024 */
    for (size_t i = 0; i < n_texts; i++) {
        free(texts[i]);
    }
}

static void
test_schema_change(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    assert_ok(db, db_exec(db, "CREATE TABLE s (a INTEGER);"
                          "INSERT INTO s VALUES (1)"));
    stmt = prepare(db, "SELECT * FROM s");
    assert_int_equal(db_col_count(stmt), 1);
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 1);
    db_reset(stmt);

    assert_ok(db, db_exec(db, "DROP TABLE s;"
                          "CREATE TABLE s (a INTEGER, b VARCHAR(8));"
                          "INSERT INTO s VALUES (2, 'two')"));
    stmt = prepare(db, "SELECT * FROM s");
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_count(stmt), 2);
    assert_int_equal(db_col_int64(stmt, 0), 2);
    assert_string_equal(db_col_text(stmt, 1), "two");
    assert_rc(db, db_step(stmt), DB_DONE);

    assert_ok(db, db_exec(db, "ALTER TABLE s ADD COLUMN c INTEGER"));
    stmt = prepare(db, "SELECT * FROM s");
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_count(stmt), 3);
    assert_string_equal(db_col_text(stmt, 1), "two");
    assert_true(db_col_is_null(stmt, 2));
    db_reset(stmt);
}

static void
test_two_statements(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;

    assert_ok(db, db_exec(db, "CREATE TABLE a (id INTEGER NOT NULL "
                          "PRIMARY KEY, name VARCHAR(16));"
                          "CREATE TABLE b (a_id INTEGER NOT NULL, "
                          "x INTEGER NOT NULL, seen INTEGER)"));
    for (int i = 1; i <= 3; i++) {
        char id[8], name[16];

        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "name-%d", i);
        assert_ok(db, exec_v(db, "INSERT INTO a VALUES (?, ?)", id, name,
                             NULL));
        assert_ok(db, exec_v(db, "INSERT INTO b (a_id, x) VALUES (?, 10)",
                             id, NULL));
        assert_ok(db, exec_v(db, "INSERT INTO b (a_id, x) VALUES (?, 20)",
                             id, NULL));
    }

    for (int in_txn = 0; in_txn < 2; in_txn++) {
        struct db_stmt *outer, *inner, *update;
        int64_t sum = 0;
        int n = 0;

        if (in_txn) {
            assert_ok(db, db_begin(db, true));
        }
        outer = prepare(db, "SELECT id, name FROM a ORDER BY id");
        while (db_step(outer) == DB_ROW) {
            const char *name = db_col_text(outer, 1);
            char expected[16];

            n++;
            inner = prepare(db, "SELECT x FROM b WHERE a_id = ? ORDER BY x");
            db_bind_int64(inner, 1, db_col_int64(outer, 0));
            while (db_step(inner) == DB_ROW) {
                sum += db_col_int64(inner, 0);

                update = prepare(db, "UPDATE b SET seen = ? "
                                 "WHERE a_id = ? AND x = ?");
                db_bind_int64(update, 1, in_txn + 1);
                db_bind_int64(update, 2, db_col_int64(outer, 0));
                db_bind_int64(update, 3, db_col_int64(inner, 0));
                assert_rc(db, db_step(update), DB_DONE);
                assert_int_equal(db_changes(update), 1);
            }
            /* The outer row is untouched by the other statements. */
            snprintf(expected, sizeof expected, "name-%d", n);
            assert_string_equal(name, expected);
            assert_string_equal(db_col_text(outer, 1), expected);
        }
        assert_int_equal(n, 3);
        assert_int_equal(sum, 90);
        if (in_txn) {
            assert_ok(db, db_commit(db));
        }
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM b WHERE seen = %d",
                 in_txn + 1);
        assert_int_equal(query_int(db, sql), 6);
    }
}

static void
test_changes(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *ins, *upd, *del;

    create_t(db);
    for (int i = 1; i <= 5; i++) {
        ins = prepare(db, "INSERT INTO t (id, name) VALUES (?, 'x')");
        db_bind_int64(ins, 1, i);
        assert_rc(db, db_step(ins), DB_DONE);
        assert_int_equal(db_changes(ins), 1);
    }

    upd = prepare(db, "UPDATE t SET name = ? WHERE id <= ?");
    db_bind_text(upd, 1, "y");
    db_bind_int64(upd, 2, 3);
    assert_rc(db, db_step(upd), DB_DONE);
    assert_int_equal(db_changes(upd), 3);

    /* Rows matched count even when the values do not change. */
    upd = prepare(db, "UPDATE t SET name = ? WHERE id <= ?");
    db_bind_text(upd, 1, "y");
    db_bind_int64(upd, 2, 3);
    assert_rc(db, db_step(upd), DB_DONE);
    assert_int_equal(db_changes(upd), 3);

    del = prepare(db, "DELETE FROM t WHERE id > ?");
    db_bind_int64(del, 1, 3);
    assert_rc(db, db_step(del), DB_DONE);
    assert_int_equal(db_changes(del), 2);

    /* Per statement: the UPDATE still says 3. */
    assert_int_equal(db_changes(upd), 3);

    upd = prepare(db, "UPDATE t SET name = 'z' WHERE id = ?");
    db_bind_int64(upd, 1, 99);
    assert_rc(db, db_step(upd), DB_DONE);
    assert_int_equal(db_changes(upd), 0);
}

/* Constraints and transactions. */

static void
create_parent_child(struct db *db)
{
    /* Table-level FOREIGN KEY: MariaDB ignores REFERENCES on a column. */
    assert_ok(db, db_exec(db,
        "CREATE TABLE parent (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    name VARCHAR(64) NOT NULL UNIQUE\n"
        ");\n"
        "CREATE TABLE child (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    parent_id VARCHAR(36) NOT NULL,\n"
        "    FOREIGN KEY (parent_id) REFERENCES parent (id)\n"
        ")"));
}

static void
test_constraints(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;

    create_parent_child(db);
    assert_ok(db, db_begin(db, true));
    assert_true(db_in_transaction(db));
    assert_ok(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p1", "a",
                         NULL));
    /* UNIQUE, PRIMARY KEY, FOREIGN KEY. */
    assert_rc(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p2", "a",
                         NULL), DB_CONSTRAINT);
    assert_rc(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p1", "b",
                         NULL), DB_CONSTRAINT);
    assert_rc(db, exec_v(db, "INSERT INTO child VALUES (?, ?)", "c1", "p9",
                         NULL), DB_CONSTRAINT);
    /* The transaction goes on. */
    assert_true(db_in_transaction(db));
    assert_ok(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p3", "c",
                         NULL));
    assert_ok(db, exec_v(db, "INSERT INTO child VALUES (?, ?)", "c1", "p1",
                         NULL));
    assert_ok(db, db_commit(db));
    assert_false(db_in_transaction(db));
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM parent"), 2);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM child"), 1);

    /* A referenced row cannot go; outside a transaction too. */
    assert_rc(db, exec_v(db, "DELETE FROM parent WHERE id = ?", "p1", NULL),
              DB_CONSTRAINT);
    struct db_stmt *stmt = prepare(db, "UPDATE parent SET name = ? "
                                   "WHERE id = ?");
    db_bind_text(stmt, 1, "c");
    db_bind_text(stmt, 2, "p1");
    assert_rc(db, db_step(stmt), DB_CONSTRAINT);

    /* NOT NULL is not a constraint conflict but an error. */
    assert_rc(db, exec_v(db, "INSERT INTO child VALUES (?, ?)", "c2", NULL,
                         NULL), DB_ERROR);

    /* After a failure, roll back and go on. */
    assert_ok(db, db_begin(db, true));
    assert_ok(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p4", "d",
                         NULL));
    assert_rc(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p4", "e",
                         NULL), DB_CONSTRAINT);
    assert_ok(db, db_rollback(db));
    assert_false(db_in_transaction(db));
    assert_ok(db, db_begin(db, true));
    assert_ok(db, exec_v(db, "INSERT INTO parent VALUES (?, ?)", "p5", "f",
                         NULL));
    assert_ok(db, db_commit(db));
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM parent"), 3);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM parent "
                               "WHERE id = 'p4'"), 0);
}

static void
test_txn_state(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;

    assert_int_equal(db_commit(db), DB_ERROR);
    assert_ok(db, db_rollback(db));
    assert_ok(db, db_begin(db, true));
    assert_int_equal(db_begin(db, true), DB_ERROR);
    assert_true(db_in_transaction(db));
    assert_ok(db, db_rollback(db));
    assert_false(db_in_transaction(db));
    assert_ok(db, db_begin(db, false));
    assert_int_equal(query_int(db, "SELECT 1"), 1);
    assert_ok(db, db_commit(db));

    /* Closing with a transaction open rolls it back. */
    create_t(db);
    struct db *db2 = open_db(f->url);
    assert_ok(db2, db_begin(db2, true));
    assert_ok(db2, exec_v(db2, "INSERT INTO t (id, name) VALUES (1, 'x')",
                          NULL));
    db_close(db2);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);
}

static void
test_visibility(void **state)
{
    struct fixture *f = *state;
    struct db *a = f->db;
    struct db *b;

    create_t(a);
    b = open_db(f->url);

    assert_ok(a, db_begin(a, true));
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (1, 'x')", NULL));
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 0);
    assert_ok(a, db_commit(a));
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 1);

    assert_ok(a, db_begin(a, true));
    assert_ok(a, exec_v(a, "DELETE FROM t", NULL));
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM t"), 0);
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 1);
    assert_ok(a, db_rollback(a));
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 1);

    /* A read transaction reads one snapshot. */
    assert_ok(b, db_begin(b, false));
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 1);
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (2, 'y')", NULL));
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 1);
    assert_ok(b, db_commit(b));
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 2);

    db_close(b);
}

/* db_transact(). */

struct txn_ctx {
    int calls;
    int retries;            /* return DB_RETRY this many times */
    int result;             /* then this */
};

static int
txn_insert(struct db *db, void *ctx_)
{
    struct txn_ctx *ctx = ctx_;
    char id[16];
    int rc;

    ctx->calls++;
    snprintf(id, sizeof id, "%d", ctx->calls);
    rc = exec_v(db, "INSERT INTO t (id, name) VALUES (?, 'txn')", id, NULL);
    if (rc != DB_OK) {
        return rc;
    }
    return ctx->calls <= ctx->retries ? DB_RETRY : ctx->result;
}

static void
test_transact(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct txn_ctx ctx;

    create_t(db);

    /* Retried twice, then committed once. */
    ctx = (struct txn_ctx) { .retries = 2, .result = DB_OK };
    assert_ok(db, db_transact(db, txn_insert, &ctx, 5));
    assert_int_equal(ctx.calls, 3);
    assert_false(db_in_transaction(db));
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(query_int(db, "SELECT id FROM t"), 3);
    assert_ok(db, exec_v(db, "DELETE FROM t", NULL));

    /* Giving up. */
    ctx = (struct txn_ctx) { .retries = 100, .result = DB_OK };
    assert_int_equal(db_transact(db, txn_insert, &ctx, 3), DB_RETRY);
    assert_int_equal(ctx.calls, 3);
    assert_false(db_in_transaction(db));
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);

    /* The function's own code rolls back and comes back as is. */
    ctx = (struct txn_ctx) { .retries = 0, .result = 42 };
    assert_int_equal(db_transact(db, txn_insert, &ctx, 3), 42);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);

    /* A constraint failure too. */
    assert_ok(db, exec_v(db, "INSERT INTO t (id, name) VALUES (1, 'x')",
                         NULL));
    ctx = (struct txn_ctx) { .retries = 0, .result = DB_OK };
    assert_int_equal(db_transact(db, txn_insert, &ctx, 3), DB_CONSTRAINT);
    assert_int_equal(ctx.calls, 1);
    assert_false(db_in_transaction(db));

    /* At least one attempt. */
    ctx = (struct txn_ctx) { .retries = 0, .result = DB_OK, .calls = 1 };
    assert_ok(db, db_transact(db, txn_insert, &ctx, 0));
    assert_int_equal(ctx.calls, 2);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 2);

    /* Not inside a transaction. */
    assert_ok(db, db_begin(db, true));
    ctx = (struct txn_ctx) { .retries = 0, .result = DB_OK, .calls = 10 };
    assert_int_equal(db_transact(db, txn_insert, &ctx, 3), DB_ERROR);
    assert_int_equal(ctx.calls, 10);
    assert_ok(db, db_rollback(db));
}

/* Write conflicts between connections. */

struct delayed_commit {
    struct db *db;
    int delay_ms;
    int rc;
};

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static void *
delayed_commit_main(void *arg)
{
    struct delayed_commit *dc = arg;

    sleep_ms(dc->delay_ms);
    dc->rc = db_commit(dc->db);
    return NULL;
}

/* SQLite: a second writer waits on the busy timeout, then gets DB_RETRY;
 * db_transact() runs it again until the first writer is done. */
static void
test_sqlite_busy(void **state)
{
    struct fixture *f = *state;
    struct db *a = f->db;
    struct db *b;
    struct txn_ctx ctx;

    create_t(a);
    b = open_db(f->url);
    /* Shorten the 10 s busy timeout so that the test sees DB_RETRY. */
    assert_ok(b, db_exec(b, "PRAGMA busy_timeout = 20"));

    assert_ok(a, db_begin(a, true));
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (100, 'a')",
                        NULL));

    ctx = (struct txn_ctx) { .result = DB_OK };
    assert_int_equal(db_transact(b, txn_insert, &ctx, 1), DB_RETRY);
    assert_int_equal(ctx.calls, 0);
    assert_false(db_in_transaction(b));

    /* 'a' commits after 200 ms; 'b' keeps retrying meanwhile. */
    struct delayed_commit dc = { .db = a, .delay_ms = 200 };
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, delayed_commit_main, &dc),
                     0);
    assert_ok(b, db_transact(b, txn_insert, &ctx, 100));
    pthread_join(thread, NULL);
    assert_ok(a, dc.rc);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(query_int(b, "SELECT COUNT(*) FROM t"), 2);
    db_close(b);
}

/* SQLite: readers that never pause together must not keep the WAL from
 * starting over.  Three readers keep read transactions open in turns, so
 * that one always holds a snapshot, while a writer rewrites 4 KB rows
 * 60,000 times (about 235 MiB of WAL frames).  With only PASSIVE
 * checkpoints the WAL file took all of it.  The background checkpointer
 * starts it over past 16 MiB; this writer, far faster than requests, adds
 * more while a checkpoint copies (30-55 MiB seen), so the bound is
 * 100 MiB. */
struct wal_reader {
    const char *url;
    bool *stop;                 /* atomic */
    int offset_ms;
    long reads;
};

static void *
wal_reader_main(void *arg)
{
    struct wal_reader *r = arg;
    struct db *db = open_db(r->url);

    sleep_ms(r->offset_ms);
    while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        if (db_begin(db, false) != DB_OK) {
            continue;
        }
        struct db_stmt *stmt = db_prepare(db, "SELECT COUNT(*) FROM t");
        if (stmt && db_step(stmt) == DB_ROW) {
            r->reads++;
        }
        db_reset(stmt);
        sleep_ms(3);            /* the others start theirs meanwhile */
        db_commit(db);
    }
    db_close(db);
    return NULL;
}

static long long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? 0 : (long long) st.st_size;
}

static void
test_sqlite_wal_bounded(void **state)
{
    struct fixture *f = *state;
    enum { READERS = 3, ROWS = 64, WRITES = 60000 };
    const long long limit = 100ll << 20;
    struct wal_reader readers[READERS];
    pthread_t threads[READERS];
    bool stop = false;
    char *wal = xasprintf("%s-wal", f->url + strlen("sqlite:///"));
    char note[4001];

    create_t(f->db);
    memset(note, 'x', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    for (int i = 0; i < ROWS; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        assert_ok(f->db, exec_v(f->db, "INSERT INTO t (id, name, note) "
                                "VALUES (?, 'w', ?)", id, note, NULL));
    }
    struct db_checkpointer *cp = db_checkpointer_start(f->url, 20);
    assert_non_null(cp);
    for (int i = 0; i < READERS; i++) {
        readers[i] = (struct wal_reader) { .url = f->url, .stop = &stop,
                                           .offset_ms = i };
        assert_int_equal(pthread_create(&threads[i], NULL, wal_reader_main,
                                        &readers[i]), 0);
    }

    long long largest = 0;
    for (int i = 0; i < WRITES; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i % ROWS);
        note[i % 4000] = (char) ('a' + i % 26);
        assert_ok(f->db, exec_v(f->db, "UPDATE t SET note = ? WHERE id = ?",
                                note, id, NULL));
        if (i % 500 == 0) {
            long long size = file_size(wal);
            largest = size > largest ? size : largest;
        }
    }
    __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
    long reads = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(threads[i], NULL);
        reads += readers[i].reads;
    }
    db_checkpointer_stop(cp);
    print_message("wal: %d writes under %ld reads, largest WAL %.1f MiB\n",
                  WRITES, reads, (double) largest / 1048576.0);
    assert_true(reads > 0);
    assert_true(largest > 0);
    assert_true(largest <= limit);
    free(wal);
}

/* MariaDB: two transactions lock two rows in opposite orders; InnoDB kills
 * one with a deadlock and db_transact() runs it again. */
struct deadlock_ctx {
    struct db *db;
    pthread_barrier_t *barrier;
    const char *first, *second;
    int calls;
    int rc;
};

static int
deadlock_fn(struct db *db, void *ctx_)
{
    struct deadlock_ctx *ctx = ctx_;
    int rc;

    ctx->calls++;
    rc = exec_v(db, "UPDATE acct SET n = n + 1 WHERE id = ?", ctx->first,
                NULL);
    if (rc != DB_OK) {
        return rc;
    }
    if (ctx->calls == 1) {
        pthread_barrier_wait(ctx->barrier);
    }
    return exec_v(db, "UPDATE acct SET n = n + 1 WHERE id = ?", ctx->second,
                  NULL);
}

static void *
deadlock_main(void *arg)
{
    struct deadlock_ctx *ctx = arg;

    ctx->rc = db_transact(ctx->db, deadlock_fn, ctx, 10);
    return NULL;
}

static void
test_mariadb_deadlock(void **state)
{
    struct fixture *f = *state;
    pthread_barrier_t barrier;
    struct deadlock_ctx ctx[2] = {
        { .db = open_db(f->url), .barrier = &barrier,
          .first = "r1", .second = "r2" },
        { .db = open_db(f->url), .barrier = &barrier,
          .first = "r2", .second = "r1" },
    };
    pthread_t threads[2];

    assert_ok(f->db, db_exec(f->db, "CREATE TABLE acct (id VARCHAR(8) NOT "
                             "NULL PRIMARY KEY, n INTEGER NOT NULL);"
                             "INSERT INTO acct VALUES ('r1', 0);"
                             "INSERT INTO acct VALUES ('r2', 0)"));
    pthread_barrier_init(&barrier, NULL, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, deadlock_main,
                                        &ctx[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_barrier_destroy(&barrier);

    for (int i = 0; i < 2; i++) {
        assert_rc(ctx[i].db, ctx[i].rc, DB_OK);
        db_close(ctx[i].db);
    }
    /* One of them ran twice. */
    assert_int_equal(ctx[0].calls + ctx[1].calls, 3);
    assert_int_equal(query_int(f->db, "SELECT n FROM acct WHERE id = 'r1'"),
                     2);
    assert_int_equal(query_int(f->db, "SELECT n FROM acct WHERE id = 'r2'"),
                     2);
}

/* MariaDB: a lock wait that times out is DB_RETRY too. */
static void
test_mariadb_lock_wait(void **state)
{
    struct fixture *f = *state;
    struct db *a = f->db;
    struct db *b = open_db(f->url);

    create_t(a);
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (1, 'x')", NULL));
    assert_ok(b, db_exec(b, "SET SESSION innodb_lock_wait_timeout = 1"));
    assert_ok(a, db_begin(a, true));
    assert_ok(a, exec_v(a, "UPDATE t SET name = 'a' WHERE id = 1", NULL));
    assert_ok(b, db_begin(b, true));
    assert_rc(b, exec_v(b, "UPDATE t SET name = 'b' WHERE id = 1", NULL),
              DB_RETRY);
    assert_ok(b, db_rollback(b));
    assert_ok(a, db_commit(a));
    db_close(b);
}

/* MariaDB: a lost connection is DB_RETRY, and the next call reconnects and
 * prepares the cached statements again. */
static void
kill_connection(struct db *victim, struct db *killer)
{
    char sql[64];

    snprintf(sql, sizeof sql, "KILL %lld",
             (long long) query_int(victim, "SELECT CONNECTION_ID()"));
    assert_ok(killer, db_exec(killer, sql));
}

static int
txn_count(struct db *db, void *ctx_)
{
    struct txn_ctx *ctx = ctx_;
    struct db_stmt *stmt;
    int rc;

    ctx->calls++;
    stmt = db_prepare(db, "SELECT COUNT(*) FROM t");
    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        ctx->result = (int) db_col_int64(stmt, 0);
        rc = DB_OK;
    }
    db_reset(stmt);
    return rc;
}

static void
test_mariadb_reconnect(void **state)
{
    struct fixture *f = *state;
    struct db *a = f->db;
    struct db *killer = open_db(f->url);
    struct db_stmt *stmt;
    struct txn_ctx ctx;
    int64_t id1, id2;

    create_t(a);
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (1, 'x')", NULL));
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM t"), 1);
    id1 = query_int(a, "SELECT CONNECTION_ID()");

    /* Outside a transaction: this call fails, the next one works. */
    kill_connection(a, killer);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_RETRY);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 1);
    db_reset(stmt);
    id2 = query_int(a, "SELECT CONNECTION_ID()");
    assert_true(id1 != id2);

    /* Session settings survive. */
    stmt = prepare(a, "SELECT @@tx_isolation");
    assert_rc(a, db_step(stmt), DB_ROW);
    assert_string_equal(db_col_text(stmt, 0), "READ-COMMITTED");
    db_reset(stmt);

    /* db_transact() hides it. */
    kill_connection(a, killer);
    ctx = (struct txn_ctx) { 0 };
    assert_ok(a, db_transact(a, txn_count, &ctx, 3));
    assert_int_equal(ctx.result, 1);

    /* Lost inside a transaction: DB_RETRY until rolled back. */
    assert_ok(a, db_begin(a, true));
    kill_connection(a, killer);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_RETRY);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_RETRY);
    assert_rc(a, db_commit(a), DB_RETRY);
    assert_ok(a, db_rollback(a));
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM t"), 1);

    /* A statement never prepared before, on a lost connection inside a
     * transaction, also reports DB_RETRY. */
    assert_ok(a, db_begin(a, true));
    kill_connection(a, killer);
    assert_rc(a, db_exec(a, "DO 1"), DB_RETRY);
    stmt = prepare(a, "SELECT COUNT(*) + ? FROM t");
    db_bind_int64(stmt, 1, 10);
    assert_rc(a, db_step(stmt), DB_RETRY);
    assert_ok(a, db_rollback(a));
    stmt = prepare(a, "SELECT COUNT(*) + ? FROM t");
    db_bind_int64(stmt, 1, 10);
    assert_rc(a, db_step(stmt), DB_ROW);
    assert_int_equal(db_col_int64(stmt, 0), 11);
    db_reset(stmt);

    /* A statement in the middle of its rows does not silently start over
     * on the new connection. */
    assert_ok(a, exec_v(a, "INSERT INTO t (id, name) VALUES (2, 'y')", NULL));
    struct db_stmt *rows = prepare(a, "SELECT id FROM t ORDER BY id");
    assert_rc(a, db_step(rows), DB_ROW);
    assert_int_equal(db_col_int64(rows, 0), 1);
    kill_connection(a, killer);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_RETRY);
    stmt = prepare(a, "SELECT COUNT(*) FROM t");
    assert_rc(a, db_step(stmt), DB_ROW);
    db_reset(stmt);
    assert_rc(a, db_step(rows), DB_RETRY);
    rows = prepare(a, "SELECT id FROM t ORDER BY id");
    assert_rc(a, db_step(rows), DB_ROW);
    assert_int_equal(db_col_int64(rows, 0), 1);
    db_reset(rows);

    db_close(killer);
}

/* A connection that the server dropped while idle (wait_timeout) is
 * replaced before use, without an error. */
static void
test_mariadb_idle_timeout(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    int64_t id1, id2;

    create_t(db);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);
    id1 = query_int(db, "SELECT CONNECTION_ID()");
    assert_ok(db, db_exec(db, "SET SESSION wait_timeout = 1"));
    sleep_ms(6000);     /* beyond wait_timeout and the 5 s ping interval */

    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 0);
    id2 = query_int(db, "SELECT CONNECTION_ID()");
    assert_true(id1 != id2);
}

static void
test_mariadb_session(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *stmt;

    stmt = prepare(db, "SELECT @@tx_isolation, @@innodb_lock_wait_timeout, "
                   "@@character_set_client, @@autocommit, @@time_zone");
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_string_equal(db_col_text(stmt, 0), "READ-COMMITTED");
    assert_int_equal(db_col_int64(stmt, 1), 10);
    assert_string_equal(db_col_text(stmt, 2), "utf8mb4");
    assert_int_equal(db_col_int64(stmt, 3), 1);
    assert_string_equal(db_col_text(stmt, 4), "+00:00");
    db_reset(stmt);
}

/* Migrations. */

static void
test_upgrade_fresh(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    char errbuf[256] = "";
    int version = -1;
    struct db_stmt *stmt;

    assert_true(db_schema_latest() >= 1);
    assert_ok(db, db_schema_version(db, &version));
    assert_int_equal(version, 0);

    if (db_upgrade(db, errbuf, sizeof errbuf) != DB_OK) {
        fail_msg("db_upgrade: %s", errbuf);
    }
    assert_ok(db, db_schema_version(db, &version));
    assert_int_equal(version, db_schema_latest());
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM schema_version"),
                     db_schema_latest());

    stmt = prepare(db, "SELECT value FROM hadron_meta "
                   "WHERE name = 'created_at'");
    assert_rc(db, db_step(stmt), DB_ROW);
    char *created_at = xstrdup(db_col_text(stmt, 0));
    db_reset(stmt);
    assert_int_equal(strlen(created_at), 20);

    stmt = prepare(db, "SELECT version, description, applied_at "
                   "FROM schema_version ORDER BY version");
    for (int v = 1; v <= db_schema_latest(); v++) {
        assert_rc(db, db_step(stmt), DB_ROW);
        assert_int_equal(db_col_int64(stmt, 0), v);
        assert_true(db_col_text(stmt, 1)[0]);
        assert_int_equal(strlen(db_col_text(stmt, 2)), 20);
    }
    assert_rc(db, db_step(stmt), DB_DONE);

    /* Again: nothing to do, nothing changes. */
    assert_ok(db, db_upgrade(db, NULL, 0));
    assert_ok(db, db_schema_version(db, &version));
    assert_int_equal(version, db_schema_latest());
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM schema_version"),
                     db_schema_latest());
    stmt = prepare(db, "SELECT value FROM hadron_meta "
                   "WHERE name = 'created_at'");
    assert_rc(db, db_step(stmt), DB_ROW);
    assert_string_equal(db_col_text(stmt, 0), created_at);
    db_reset(stmt);
    free(created_at);

    /* From another connection too. */
    struct db *db2 = open_db(f->url);
    assert_ok(db2, db_schema_version(db2, &version));
    assert_int_equal(version, db_schema_latest());
    assert_ok(db2, db_upgrade(db2, errbuf, sizeof errbuf));
    db_close(db2);
}

static void
test_upgrade_newer_refused(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    char errbuf[256] = "";
    char expected[128];
    char version_s[16];
    int version;

    assert_ok(db, db_upgrade(db, errbuf, sizeof errbuf));
    snprintf(version_s, sizeof version_s, "%d", db_schema_latest() + 1);
    assert_ok(db, exec_v(db, "INSERT INTO schema_version VALUES (?, ?, ?)",
                         version_s, "from the future",
                         "2099-01-01T00:00:00Z", NULL));

    assert_int_equal(db_upgrade(db, errbuf, sizeof errbuf), DB_ERROR);
    snprintf(expected, sizeof expected, "database schema version %d is "
             "newer than this hadron (knows up to %d); upgrade hadron",
             db_schema_latest() + 1, db_schema_latest());
    assert_string_equal(errbuf, expected);
    assert_false(db_in_transaction(db));
    assert_ok(db, db_schema_version(db, &version));
    assert_int_equal(version, db_schema_latest() + 1);

    /* The lock was released: another connection gets the same answer
     * instead of waiting. */
    struct db *db2 = open_db(f->url);
    assert_int_equal(db_upgrade(db2, errbuf, sizeof errbuf), DB_ERROR);
    assert_string_equal(errbuf, expected);
    db_close(db2);
}

struct upgrader {
    const char *url;
    int rc;
    char errbuf[256];
};

static void *
upgrader_main(void *arg)
{
    struct upgrader *u = arg;
    struct db *db;

    u->rc = db_open(u->url, &db, u->errbuf, sizeof u->errbuf);
    if (u->rc == DB_OK) {
        u->rc = db_upgrade(db, u->errbuf, sizeof u->errbuf);
        db_close(db);
    }
    return NULL;
}

static void
test_upgrade_concurrent(void **state)
{
    struct fixture *f = *state;
    struct upgrader u[4];
    pthread_t threads[ARRAY_SIZE(u)];
    int version;

    for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
        u[i] = (struct upgrader) { .url = f->url };
        assert_int_equal(pthread_create(&threads[i], NULL, upgrader_main,
                                        &u[i]), 0);
    }
    for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
        pthread_join(threads[i], NULL);
        if (u[i].rc != DB_OK) {
            fail_msg("upgrader %zu: %s", i, u[i].errbuf);
        }
    }
    assert_ok(f->db, db_schema_version(f->db, &version));
    assert_int_equal(version, db_schema_latest());
    assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM schema_version"),
                     db_schema_latest());
    assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM hadron_meta"),
                     1);
}

#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    static const struct CMUnitTest common[] = {
        TEST(test_open_close),
        TEST(test_bad_urls),
        TEST(test_sqlite_urls),
        TEST(test_exec),
        TEST(test_bind_columns),
        TEST(test_bind_errors),
        TEST(test_long_text),
        TEST(test_int64),
        TEST(test_stmt_cache),
        TEST(test_in_list_padding),
        TEST(test_schema_change),
        TEST(test_two_statements),
        TEST(test_changes),
        TEST(test_constraints),
        TEST(test_txn_state),
        TEST(test_visibility),
        TEST(test_transact),
        TEST(test_upgrade_fresh),
        TEST(test_upgrade_newer_refused),
        TEST(test_upgrade_concurrent),
    };
    static const struct CMUnitTest sqlite_only[] = {
        TEST(test_sqlite_busy),
        TEST(test_sqlite_wal_bounded),
    };
    static const struct CMUnitTest mariadb_only[] = {
        TEST(test_mariadb_bad_password),
        TEST(test_mariadb_url_decoding),
        TEST(test_mariadb_text_limit),
        TEST(test_mariadb_deadlock),
        TEST(test_mariadb_lock_wait),
        TEST(test_mariadb_reconnect),
        TEST(test_mariadb_session),
        TEST(test_mariadb_idle_timeout),
    };
    int failures;

    fprintf(stderr, "test_db: engine %s\n", testdb_engine());
    failures = cmocka_run_group_tests_name("db", common, NULL, NULL);
    if (is_mariadb()) {
        failures += cmocka_run_group_tests_name("db.mariadb", mariadb_only,
                                                NULL, NULL);
    } else {
        failures += cmocka_run_group_tests_name("db.sqlite", sqlite_only,
                                                NULL, NULL);
    }
    return failures ? 1 : 0;
}
