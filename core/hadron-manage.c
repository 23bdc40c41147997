/* core/hadron-manage.c: the operator's command line.
 *
 *   hadron-manage [--config-file FILE]... db upgrade
 *   hadron-manage [--config-file FILE]... db version
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"
#include "db/db.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hadron-manage [--config-file FILE]... COMMAND\n"
            "\n"
            "Commands:\n"
            "  db upgrade    apply the schema migrations this hadron knows\n"
            "  db version    print the database's and this hadron's schema "
            "version\n");
}

static int
cmd_db(const struct config *cfg, const char *what)
{
    char errbuf[512];
    struct db *db;
    int version = 0;
    int rc = 1;

    if (db_open(cfg->connection, &db, errbuf, sizeof errbuf)) {
        fprintf(stderr, "hadron-manage: cannot open the database: %s\n",
                errbuf);
        return 1;
    }
    if (!strcmp(what, "upgrade")) {
        if (db_upgrade(db, errbuf, sizeof errbuf)) {
            fprintf(stderr, "hadron-manage: upgrade failed: %s\n", errbuf);
            goto out;
        }
        db_schema_version(db, &version);
        printf("database schema at version %d\n", version);
        rc = 0;
    } else if (!strcmp(what, "version")) {
        if (db_schema_version(db, &version)) {
            fprintf(stderr, "hadron-manage: %s\n", db_errmsg(db));
            goto out;
        }
        printf("database: %d\nhadron: %d\n", version, db_schema_latest());
        rc = 0;
    } else {
        usage(stderr);
        rc = 2;
    }
out:
    db_close(db);
    return rc;
}

int
main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        { "config-file", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct config *cfg = config_create();
    int rc = 2;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *error;
        switch (c) {
        case 'c':
            error = config_load_file(cfg, optarg);
            if (error) {
                fprintf(stderr, "hadron-manage: %s\n", error);
                free(error);
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    for (size_t i = 0; i < cfg->warnings.n; i++) {
        fprintf(stderr, "hadron-manage: warning: %s\n", cfg->warnings.items[i]);
    }
    if (argc - optind == 2 && !strcmp(argv[optind], "db")) {
        rc = cmd_db(cfg, argv[optind + 1]);
    } else {
        usage(stderr);
    }
out:
    config_destroy(cfg);
    return rc;
}
