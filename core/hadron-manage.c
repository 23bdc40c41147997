/* core/hadron-manage.c: the operator's command line.
 *
 *   hadron-manage [--config-file FILE]... db upgrade
 *   hadron-manage [--config-file FILE]... db version
 *   hadron-manage [--config-file FILE]... db current   (Neutron's name)
 *   hadron-manage [--config-file FILE]... check-config
 *   hadron-manage [--config-file FILE]... journal list [--state S]
 *                                         [--driver D] [--limit N]
 *   hadron-manage [--config-file FILE]... journal show SEQ
 *   hadron-manage [--config-file FILE]... journal retry SEQ
 *   hadron-manage [--config-file FILE]... journal cancel SEQ
 *   hadron-manage [--config-file FILE]... flavor setup [PROVIDER...]
 *   hadron-manage [--config-file FILE]... flavor list
 *
 * The journal commands work on the database directly (core/journal.h); a
 * running server picks up a retried entry within [journal]
 * poll_interval_ms.  So do the flavor commands: `flavor setup` gives every
 * configured provider (or the ones named) a router flavor of its own name,
 * as an operator would with `openstack network flavor create` + `flavor
 * profile create --driver` + `flavor add profile`, idempotently. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/journal.h"
#include "core/l3.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "core/context.h"
#include "db/db.h"
#include "flavors/flavors.h"
#include "flavors/registry.h"
#include "l2/l2.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hadron-manage [--config-file FILE]... COMMAND\n"
            "\n"
            "Commands:\n"
            "  db upgrade    apply the schema migrations this hadron knows\n"
            "  db version    print the database's and this hadron's schema "
            "version\n"
            "  db current    the same (neutron-db-manage's name)\n"
            "  check-config  check the configuration files without starting "
            "anything:\n"
            "                unknown options, bad values, [service_providers] "
            "lines,\n"
            "                [ml2*] drivers and ranges (exit 0 if all is "
            "well, else 1)\n"
            "  journal list [--state S] [--driver D] [--limit N]\n"
            "                list journal entries (S: pending, processing,\n"
            "                completed, failed, cancelled; repeatable)\n"
            "  journal show SEQ    show one entry with its data\n"
            "  journal retry SEQ   put a failed or cancelled entry back to "
            "pending\n"
            "  journal cancel SEQ  cancel a pending or failed entry\n"
            "  flavor setup [PROVIDER...]\n"
            "                give each configured [service_providers] "
            "provider (or\n"
            "                each one named) a router flavor of its name, "
            "bound to a\n"
            "                service profile of that driver; idempotent\n"
            "  flavor list   the router flavors, their drivers, and whether "
            "each\n"
            "                driver is a configured provider\n");
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
    } else if (!strcmp(what, "version") || !strcmp(what, "current")) {
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

/* Prints 'error' and frees it; returns the exit status for it. */
static int
report(struct neutron_error *error)
{
    int rc = error->kind == NE_NOT_FOUND || error->kind == NE_CONFLICT
             || error->kind == NE_BAD_REQUEST ? 1 : 2;

    fprintf(stderr, "hadron-manage: %s\n", error->message);
    neutron_error_destroy(error);
    return rc;
}

static bool
parse_seq(const char *s, int64_t *seq)
{
    if (!str_to_int64(s, 1, INT64_MAX, seq)) {
        fprintf(stderr, "hadron-manage: '%s' is not a journal entry "
                "number\n", s);
        return false;
    }
    return true;
}

static int
journal_list_cmd(struct db *db, int argc, char *argv[])
{
    const char **states = xcalloc(argc + 1, sizeof *states);
    const char **drivers = xcalloc(argc + 1, sizeof *drivers);
    struct journal_filter f = { .states = states, .drivers = drivers };
    struct journal_row *rows = NULL;
    size_t n = 0;
    int rc = 2;

    for (int i = 0; i < argc; i++) {
        int64_t limit;
        if (i + 1 < argc && !strcmp(argv[i], "--state")) {
            states[f.n_states++] = argv[++i];
        } else if (i + 1 < argc && !strcmp(argv[i], "--driver")) {
            drivers[f.n_drivers++] = argv[++i];
        } else if (i + 1 < argc && !strcmp(argv[i], "--limit")
                   && str_to_int64(argv[i + 1], 0, INT32_MAX, &limit)) {
            f.limit = limit;
            i++;
        } else {
            usage(stderr);
            goto out;
        }
    }
    struct neutron_error *error = journal_query(db, &f, &rows, &n);
    if (error) {
        rc = report(error);
        goto out;
    }
    printf("%-8s %-10s %-12s %-16s %-9s %-36s %-36s %-3s %s\n", "SEQ", "STATE",
           "DRIVER", "RESOURCE", "OPERATION", "RESOURCE_ID", "ROUTER_ID",
           "TRY", "LAST_ERROR");
    for (size_t i = 0; i < n; i++) {
        const struct journal_row *r = &rows[i];
        printf("%-8" PRId64 " %-10s %-12s %-16s %-9s %-36s %-36s %-3d %s\n",
               r->seq, journal_state_name(r->state), r->driver, r->resource,
               r->operation, r->resource_id, r->router_id, r->attempts,
               r->last_error);
    }
    rc = 0;
out:
    journal_rows_free(rows, n);
    free(states);
    free(drivers);
    return rc;
}

static int
journal_show_cmd(struct db *db, int64_t seq)
{
    struct journal_row r;
    struct neutron_error *error = journal_get(db, seq, &r);

    if (error) {
        return report(error);
    }
    printf("seq:             %" PRId64 "\n"
           "state:           %s\n"
           "driver:          %s\n"
           "resource:        %s\n"
           "operation:       %s\n"
           "resource_id:     %s\n"
           "router_id:       %s\n"
           "revision:        %" PRId64 "\n"
           "attempts:        %d\n"
           "last_error:      %s\n"
           "next_attempt_ms: %" PRId64 "\n"
           "claimed_by:      %s\n"
           "created_at:      %s\n"
           "updated_at:      %s\n"
           "data:            %s\n",
           r.seq, journal_state_name(r.state), r.driver, r.resource,
           r.operation, r.resource_id, r.router_id, r.revision, r.attempts,
           r.last_error, r.next_attempt_ms, r.claimed_by, r.created_at,
           r.updated_at, r.data);
    journal_row_destroy(&r);
    return 0;
}

static int
cmd_journal(const struct config *cfg, int argc, char *argv[])
{
    char errbuf[512];
    struct db *db;
    int64_t seq;
    int rc = 2;

    if (!argc) {
        usage(stderr);
        return 2;
    }
    if (db_open(cfg->connection, &db, errbuf, sizeof errbuf)) {
        fprintf(stderr, "hadron-manage: cannot open the database: %s\n",
                errbuf);
        return 1;
    }
    const char *what = argv[0];
    if (!strcmp(what, "list")) {
        rc = journal_list_cmd(db, argc - 1, argv + 1);
    } else if (argc != 2) {
        usage(stderr);
    } else if (!strcmp(what, "show")) {
        rc = parse_seq(argv[1], &seq) ? journal_show_cmd(db, seq) : 2;
    } else if (!strcmp(what, "retry") || !strcmp(what, "cancel")) {
        if (parse_seq(argv[1], &seq)) {
            struct neutron_error *error = !strcmp(what, "retry")
                                          ? journal_retry(db, seq)
                                          : journal_cancel(db, seq);
            if (error) {
                rc = report(error);
            } else {
                printf("journal entry %" PRId64 " %s\n", seq,
                       !strcmp(what, "retry") ? "is pending again"
                                              : "cancelled");
                rc = 0;
            }
        }
    } else {
        usage(stderr);
    }
    db_close(db);
    return rc;
}

/* Opens the database of 'cfg' and checks that its schema is this
 * hadron's; NULL (after a message) if not. */
static struct db *
open_current_db(const struct config *cfg)
{
    char errbuf[512];
    struct db *db;
    int version = 0;

    if (db_open(cfg->connection, &db, errbuf, sizeof errbuf)) {
        fprintf(stderr, "hadron-manage: cannot open the database: %s\n",
                errbuf);
        return NULL;
    }
    if (db_schema_version(db, &version) || version != db_schema_latest()) {
        fprintf(stderr, "hadron-manage: the database schema is at version "
                "%d, this hadron's is %d: run `hadron-manage db upgrade` "
                "first\n", version, db_schema_latest());
        db_close(db);
        return NULL;
    }
    return db;
}

/* Loads the providers of 'cfg' without starting their drivers; false
 * (after a message) on a bad [service_providers] line. */
static bool
load_providers(const struct config *cfg)
{
    char *error = l3_registry_load(cfg);

    if (error) {
        fprintf(stderr, "hadron-manage: %s\n", error);
        free(error);
        return false;
    }
    return true;
}

static int
flavor_setup_cmd(const struct config *cfg, int argc, char *argv[])
{
    static const char *const result_names[] = {
        [FLAVORS_EXISTED] = "exists",
        [FLAVORS_BOUND] = "exists, profile bound",
        [FLAVORS_CREATED] = "created",
    };
    int rc = 0;

    if (!load_providers(cfg)) {
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        if (!l3_provider_find(argv[i])) {
            fprintf(stderr, "hadron-manage: '%s' is not a configured "
                    "provider ([service_providers] service_provider)\n",
                    argv[i]);
            l3_registry_destroy();
            return 1;
        }
    }
    struct db *db = open_current_db(cfg);
    if (!db) {
        l3_registry_destroy();
        return 1;
    }
    struct op_ctx ctx = {
        .auth = { .is_admin = true, .has_member_role = true },
        .db = db,
        .cfg = cfg,
        .request_id = "hadron-manage",
    };
    size_t n = argc ? (size_t) argc : l3_provider_count();
    for (size_t i = 0; i < n; i++) {
        const char *name = argc ? argv[i]
                                : l3_provider_name(l3_provider_at(i));
        enum flavors_ensure_result result;
        char id[UUID_STR_LEN];
        struct neutron_error *error = flavors_ensure(&ctx, name, name, id,
                                                     &result);
        if (error) {
            fprintf(stderr, "hadron-manage: flavor %s: %s\n", name,
                    error->message);
            neutron_error_destroy(error);
            rc = 1;
            continue;
        }
        printf("flavor %-12s %s  %s\n", name, id, result_names[result]);
    }
    db_close(db);
    l3_registry_destroy();
    return rc;
}

static int
flavor_list_cmd(const struct config *cfg)
{
    int rc = 1;

    if (!load_providers(cfg)) {
        return 1;
    }
    struct db *db = open_current_db(cfg);
    if (!db) {
        l3_registry_destroy();
        return 1;
    }
    struct db_stmt *stmt = db_prepare(
        db, "SELECT f.name, f.id, f.enabled, sp.driver, sp.enabled "
        "FROM flavors f LEFT JOIN flavorserviceprofilebindings fb "
        "ON fb.flavor_id = f.id LEFT JOIN serviceprofiles sp "
        "ON sp.id = fb.service_profile_id "
        "WHERE f.service_type = 'L3_ROUTER_NAT' ORDER BY f.name, f.id, "
        "sp.id");
    if (!stmt) {
        fprintf(stderr, "hadron-manage: %s\n", db_errmsg(db));
        goto out;
    }
    printf("%-20s %-36s %-8s %-20s %s\n", "FLAVOR", "ID", "ENABLED",
           "DRIVER", "PROVIDER");
    int step;
    while ((step = db_step(stmt)) == DB_ROW) {
        bool bound = !db_col_is_null(stmt, 3);
        const char *driver = bound ? db_col_text(stmt, 3) : "-";
        const char *state = !bound ? "no profile bound"
                            : !db_col_int64(stmt, 4) ? "profile disabled"
                            : l3_provider_find_driver(driver)
                            ? "configured" : "NOT configured";
        printf("%-20s %-36s %-8s %-20s %s\n", db_col_text(stmt, 0),
               db_col_text(stmt, 1),
               db_col_int64(stmt, 2) ? "yes" : "no", driver, state);
    }
    db_reset(stmt);
    if (step != DB_DONE) {
        fprintf(stderr, "hadron-manage: %s\n", db_errmsg(db));
        goto out;
    }
    rc = 0;
out:
    db_close(db);
    l3_registry_destroy();
    return rc;
}

static int
cmd_flavor(const struct config *cfg, int argc, char *argv[])
{
    if (argc >= 1 && !strcmp(argv[0], "setup")) {
        return flavor_setup_cmd(cfg, argc - 1, argv + 1);
    } else if (argc == 1 && !strcmp(argv[0], "list")) {
        return flavor_list_cmd(cfg);
    }
    usage(stderr);
    return 2;
}

/* check-config: everything the server checks before it opens anything.
 * 'load_error' is the first file's load failure, or NULL. */
static int
cmd_check_config(const struct config *cfg, const char *load_error)
{
    int problems = 0;

    if (load_error) {
        fprintf(stderr, "ERROR: %s\n", load_error);
        return 1;
    }
    for (size_t i = 0; i < cfg->files.n; i++) {
        printf("loaded %s\n", cfg->files.items[i]);
    }
    for (size_t i = 0; i < cfg->warnings.n; i++) {
        fprintf(stderr, "ERROR: %s\n", cfg->warnings.items[i]);
        problems++;
    }
    char *error = config_validate(cfg);
    if (error) {
        fprintf(stderr, "ERROR: %s\n", error);
        free(error);
        problems++;
    }
    l3_mech_register();
    error = l2_init(cfg);
    if (error) {
        fprintf(stderr, "ERROR: %s\n", error);
        free(error);
        problems++;
    }
    error = l3_registry_check(cfg);
    if (error) {
        fprintf(stderr, "ERROR: %s\n", error);
        free(error);
        problems++;
    }
    if (problems) {
        fprintf(stderr, "%d problem%s found\n", problems,
                problems == 1 ? "" : "s");
        return 1;
    }
    printf("configuration OK\n");
    return 0;
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
    char *load_error = NULL;
    int rc = 2;
    int c;

    while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        char *error;
        switch (c) {
        case 'c':
            error = config_load_file(cfg, optarg);
            if (error) {
                /* check-config reports it; other commands stop here. */
                if (optind < argc && !strcmp(argv[argc - 1], "check-config")
                    && !load_error) {
                    load_error = error;
                    break;
                }
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
    if (argc - optind == 1 && !strcmp(argv[optind], "check-config")) {
        rc = cmd_check_config(cfg, load_error);
        goto out;
    }
    if (load_error) {
        fprintf(stderr, "hadron-manage: %s\n", load_error);
        goto out;
    }
    for (size_t i = 0; i < cfg->warnings.n; i++) {
        fprintf(stderr, "hadron-manage: warning: %s\n", cfg->warnings.items[i]);
    }
    if (argc - optind == 2 && !strcmp(argv[optind], "db")) {
        rc = cmd_db(cfg, argv[optind + 1]);
    } else if (argc - optind >= 1 && !strcmp(argv[optind], "journal")) {
        rc = cmd_journal(cfg, argc - optind - 1, argv + optind + 1);
    } else if (argc - optind >= 1 && !strcmp(argv[optind], "flavor")) {
        rc = cmd_flavor(cfg, argc - optind - 1, argv + optind + 1);
    } else {
        usage(stderr);
    }
out:
    free(load_error);
    config_destroy(cfg);
    return rc;
}
