/* tests/lib/testdb.h: fresh, empty databases for tests.
 *
 * The engine comes from the environment: HADRON_TEST_ENGINE=sqlite (the
 * default) or mariadb.  For mariadb, HADRON_TEST_MYSQL_URL names a server
 * where the tests may create databases, e.g.
 * mysql://root@localhost/?unix_socket=/tmp/x/mysqld.sock (its database part
 * is ignored).  A test that cannot get the database it was asked for fails
 * loudly (message on stderr, exit status 1): it never skips. */
#ifndef HADRON_TESTDB_H
#define HADRON_TESTDB_H 1

/* "sqlite" or "mariadb". */
const char *testdb_engine(void);

/* Creates a new, empty database for the current engine and returns its URL
 * for db_open() (caller frees).  SQLite: a file in a new directory under
 * $TMPDIR or /tmp; MariaDB: database hadron_t_<pid>_<random>. */
char *testdb_create(void);

/* Removes the database created by testdb_create() for 'url'.  Accepts
 * NULL. */
void testdb_drop(const char *url);

#endif /* tests/lib/testdb.h */
