/* tests/bench/bench_journal.c: rows per second through the journal with
 * the noop driver, without the API or the router core (no router
 * documents), on the engine of HADRON_TEST_ENGINE.
 *
 *   bench_journal [ROUTERS [ROWS_PER_ROUTER [RETENTION]]]
 *
 * Records ROUTERS x ROWS_PER_ROUTER rows (defaults 1000 x 5) in
 * transactions of 100 before starting the journal, then times the
 * dispatcher draining them: many routers go in batches, the rows of one
 * router one claim after the other.  Then the same for one router alone
 * (its rows strictly one at a time).  RETENTION is [journal]
 * completed_retention (default 600; 0 deletes rows as they complete). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/context.h"
#include "core/journal.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"
#include "tests/lib/testdb.h"

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench_journal: %s: %s\n", what, why);
    exit(1);
}

static void
record_rows(struct db *db, const struct config *cfg, int routers, int rows)
{
    struct op_ctx ctx = { .db = db, .cfg = cfg, .request_id = "bench" };
    char router[40], id[64];
    int n = 0;

    for (int k = 0; k < rows; k++) {
        for (int r = 0; r < routers; r++) {
            if (!(n % 100) && db_begin(db, true)) {
                die("begin", db_errmsg(db));
            }
            snprintf(router, sizeof router, "router-%06d", r);
            snprintf(id, sizeof id, "%s-%d", router, k);
            struct neutron_error *e = journal_record(
                &ctx, "noop", k ? "floatingip" : "router",
                k ? "update" : "create", k ? id : router, router, k,
                "{\"name\": \"bench\"}");
            if (e) {
                die("record", e->message);
            }
            if (!(++n % 100) && db_commit(db)) {
                die("commit", db_errmsg(db));
            }
        }
    }
    if (n % 100 && db_commit(db)) {
        die("commit", db_errmsg(db));
    }
}

static double
drain(struct db *db, const struct config *cfg)
{
    uint64_t t0 = time_monotonic_usec();
    char *error = journal_start(cfg);

    if (error) {
        die("start", error);
    }
    if (!journal_wait_idle(db, NULL, 600000)) {
        die("drain", "not idle after 600 s");
    }
    double s = (time_monotonic_usec() - t0) / 1e6;
    journal_stop();
    return s;
}

int
main(int argc, char *argv[])
{
    int routers = argc > 1 ? atoi(argv[1]) : 1000;
    int rows = argc > 2 ? atoi(argv[2]) : 5;
    int retention = argc > 3 ? atoi(argv[3]) : 600;
    char errbuf[512], path[] = "/tmp/bench_journal-XXXXXX";
    char *url = testdb_create();
    struct db *db;

    log_open("/dev/null");
    if (db_open(url, &db, errbuf, sizeof errbuf)
        || db_upgrade(db, errbuf, sizeof errbuf)) {
        die(url, errbuf);
    }
    int fd = mkstemp(path);
    dprintf(fd, "[database]\nconnection = %s\n[journal]\n"
            "completed_retention = %d\n", url, retention);
    close(fd);
    struct config *cfg = config_create();
    char *error = config_load_file(cfg, path);
    unlink(path);
    if (error || (error = l3_registry_init(cfg))) {
        die("configuration", error);
    }

    record_rows(db, cfg, routers, rows);
    double s = drain(db, cfg);
    printf("%s: %d routers x %d rows: %d rows in %.2f s = %.0f rows/s "
           "(retention %d)\n", testdb_engine(), routers, rows,
           routers * rows, s, routers * rows / s, retention);

    int chain = 2000;
    record_rows(db, cfg, 1, chain);
    s = drain(db, cfg);
    printf("%s: 1 router x %d rows: %.2f s = %.0f rows/s\n", testdb_engine(),
           chain, s, chain / s);

    l3_registry_destroy();
    config_destroy(cfg);
    db_close(db);
    testdb_drop(url);
    free(url);
    return 0;
}
