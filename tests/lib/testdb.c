/* tests/lib/testdb.c: see testdb.h. */
#include "tests/lib/testdb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "db/db.h"

#define SQLITE_DB_FILE "test.db"

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
    va_list args;

    fputs("testdb: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

const char *
testdb_engine(void)
{
    const char *engine = getenv("HADRON_TEST_ENGINE");

    if (!engine || !engine[0]) {
        return "sqlite";
    }
    if (strcmp(engine, "sqlite") && strcmp(engine, "mariadb")) {
        fail("HADRON_TEST_ENGINE=%s: expected sqlite or mariadb", engine);
    }
    return engine;
}

static bool
is_mariadb(void)
{
    return !strcmp(testdb_engine(), "mariadb");
}

static const char *
server_url(void)
{
    const char *url = getenv("HADRON_TEST_MYSQL_URL");

    if (!url || !url[0]) {
        fail("HADRON_TEST_ENGINE=mariadb needs HADRON_TEST_MYSQL_URL, "
             "a server URL such as "
             "mysql://root@localhost/?unix_socket=/path/mysqld.sock "
             "(contrib/test.sh starts a private server and sets it)");
    }
    return url;
}

/* Returns 'url' with its database part replaced by 'dbname' (caller
 * frees). */
static char *
url_with_dbname(const char *url, const char *dbname)
{
    const char *sep = strstr(url, "://");
    const char *query, *at, *path;

    if (!sep) {
        fail("HADRON_TEST_MYSQL_URL is not a URL");
    }
    query = strchr(sep + 3, '?');
    if (!query) {
        query = sep + strlen(sep);
    }
    /* The user info may hold '/', so look for the path after it. */
    at = NULL;
    for (const char *p = sep + 3; p < query; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    const char *host = at ? at + 1 : sep + 3;
    path = memchr(host, '/', (size_t) (query - host));
    if (!path) {
        path = query;
    }
    return xasprintf("%.*s/%s%s", (int) (path - url), url, dbname, query);
}

/* Returns the database name in a mysql URL made by url_with_dbname(). */
static char *
url_dbname(const char *url)
{
    const char *query = strchr(url, '?');
    const char *end = query ? query : url + strlen(url);
    const char *p = end;

    while (p > url && p[-1] != '/') {
        p--;
    }
    return xstrndup(p, (size_t) (end - p));
}

static void
server_exec(const char *sql)
{
    char errbuf[512];
    struct db *db;

    if (db_open(server_url(), &db, errbuf, sizeof errbuf) != DB_OK) {
        fail("cannot connect to HADRON_TEST_MYSQL_URL: %s", errbuf);
    }
    if (db_exec(db, sql) != DB_OK) {
        fail("%s: %s", sql, db_errmsg(db));
    }
    db_close(db);
}

char *
testdb_create(void)
{
    if (is_mariadb()) {
        char uuid[UUID_STR_LEN];

        uuid_new(uuid);
        char *dbname = xasprintf("hadron_t_%ld_%.8s", (long) getpid(), uuid);
        char *sql = xasprintf("CREATE DATABASE %s CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_bin", dbname);
        server_exec(sql);
        free(sql);

        char *url = url_with_dbname(server_url(), dbname);
        free(dbname);
        return url;
    } else {
        const char *tmpdir = getenv("TMPDIR");
        char *dir = xasprintf("%s/hadron-testdb-XXXXXX",
                              tmpdir && tmpdir[0] ? tmpdir : "/tmp");

        if (!mkdtemp(dir)) {
            fail("mkdtemp %s failed", dir);
        }
        /* An absolute path: sqlite:/// + /tmp/... */
        char *url = xasprintf("sqlite:///%s/%s", dir, SQLITE_DB_FILE);
        free(dir);
        return url;
    }
}

void
testdb_drop(const char *url)
{
    if (!url) {
        return;
    }
    if (str_starts_with(url, "sqlite:///")) {
        static const char *const suffixes[] = { "", "-wal", "-shm",
                                                "-journal" };
        const char *path = url + strlen("sqlite:///");
        const char *slash = strrchr(path, '/');

        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
            char *file = xasprintf("%s%s", path, suffixes[i]);
            unlink(file);
            free(file);
        }
        if (slash && slash != path) {
            char *dir = xstrndup(path, (size_t) (slash - path));
            rmdir(dir);
            free(dir);
        }
    } else {
        char *dbname = url_dbname(url);
        if (!str_starts_with(dbname, "hadron_t_")) {
            fail("testdb_drop: %s was not made by testdb_create()", dbname);
        }
        char *sql = xasprintf("DROP DATABASE IF EXISTS %s", dbname);
        server_exec(sql);
        free(sql);
        free(dbname);
    }
}
