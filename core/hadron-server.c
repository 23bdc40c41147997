/* core/hadron-server.c: the daemon.
 *
 * Reads the configuration, brings the database schema up to date, starts
 * the HTTP workers and runs until SIGTERM/SIGINT, which stops accepting,
 * lets requests in flight finish (up to drain_timeout) and exits 0.  SIGHUP
 * reopens the log file. */
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "core/config.h"
#include "core/journal.h"
#include "core/l3.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"
#include "l2/l2.h"

struct daemon {
    struct event_base *base;
    struct api_server *server;
    const struct config *cfg;
    struct event *drain_timer;
    uint64_t drain_deadline;
    bool stopping;
    bool closing;               /* requests done, connections closing */
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hadron-server [--config-file FILE]...\n"
            "OpenStack Networking API v2.0 server with per-router flavors.\n"
            "\n"
            "  --config-file FILE  read FILE (INI, like neutron.conf); may be\n"
            "                      repeated, later files override earlier ones\n"
            "  --help              show this help and exit\n"
            "  --version           show the version and exit\n");
}

/* Loads every file given with --config-file into a new configuration.
 * Returns NULL after printing why on stderr. */
static struct config *
load_config(int argc, char *argv[], bool *exit_now)
{
    static const struct option longopts[] = {
        { "config-file", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct config *cfg = config_create();
    int c;

    *exit_now = false;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *error;
        switch (c) {
        case 'c':
            error = config_load_file(cfg, optarg);
            if (error) {
                fprintf(stderr, "hadron-server: %s\n", error);
                free(error);
                goto fail;
            }
            break;
        case 'h':
            usage(stdout);
            *exit_now = true;
            goto fail;
        case 'V':
            printf("hadron-server %s\n", HADRON_VERSION);
            *exit_now = true;
            goto fail;
        default:
            usage(stderr);
            goto fail;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hadron-server: unexpected argument '%s'\n",
                argv[optind]);
        goto fail;
    }
    char *error = config_validate(cfg);
    if (error) {
        fprintf(stderr, "hadron-server: %s\n", error);
        free(error);
        goto fail;
    }
    if (!*cfg->host) {
        char name[256] = "localhost";
        gethostname(name, sizeof name - 1);
        free(cfg->host);
        cfg->host = xstrdup(name);
    }
    return cfg;

fail:
    config_destroy(cfg);
    return NULL;
}

/* Brings the schema up to date (or checks it is).  Returns true if the
 * server may run on this database. */
static bool
prepare_database(const struct config *cfg)
{
    char errbuf[512];
    struct db *db;
    bool ok = false;
    int version;

    if (db_open(cfg->connection, &db, errbuf, sizeof errbuf)) {
        LOG_ERR("db", "cannot open the database: %s", errbuf);
        return false;
    }
    if (cfg->auto_upgrade) {
        if (db_upgrade(db, errbuf, sizeof errbuf)) {
            LOG_ERR("db", "schema upgrade failed: %s", errbuf);
            goto out;
        }
    }
    if (db_schema_version(db, &version)) {
        LOG_ERR("db", "cannot read the schema version: %s", db_errmsg(db));
        goto out;
    }
    if (version != db_schema_latest()) {
        LOG_ERR("db", "database schema is at version %d, this hadron needs "
                "%d: run 'hadron-manage db upgrade'%s", version,
                db_schema_latest(),
                version > db_schema_latest() ? " with a newer hadron" : "");
        goto out;
    }
    LOG_INFO("db", "%s database at schema version %d",
             db_engine_name(db_engine(db)), version);
    char *error = l2_sync_allocations(db, cfg);
    if (error) {
        LOG_ERR("l2", "%s", error);
        free(error);
        goto out;
    }
    ok = true;
out:
    db_close(db);
    return ok;
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    int n = api_server_in_flight(d->server);
    bool late = time_monotonic_usec() >= d->drain_deadline;

    if (!d->closing && (!n || late)) {
        if (n) {
            LOG_WARN("main", "drain timeout: %d requests still in flight", n);
        }
        /* Idle keep-alive connections go now; each closes on its own
         * worker thread. */
        api_server_close_connections(d->server);
        d->closing = true;
        d->drain_deadline = time_monotonic_usec() + 2000000;
    } else if (d->closing
               && (!api_server_open_connections(d->server) || late)) {
        event_base_loopbreak(d->base);
    }
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    struct timeval tick = { 0, 10000 };

    if (d->stopping) {
        return;
    }
    d->stopping = true;
    LOG_INFO("main", "signal %d: no new connections, draining requests",
             (int) sig);
    api_server_stop_accepting(d->server);
    d->drain_deadline = time_monotonic_usec()
                        + (uint64_t) d->cfg->drain_timeout * 1000000;
    d->drain_timer = event_new(d->base, -1, EV_PERSIST, drain_check, d);
    event_add(d->drain_timer, &tick);
}

static void
on_hup_signal(evutil_socket_t sig, short what, void *arg)
{
    int error = log_reopen();

    if (error) {
        LOG_ERR("main", "cannot reopen the log file: %s", strerror(error));
    } else {
        LOG_INFO("main", "log file reopened");
    }
}

int
main(int argc, char *argv[])
{
    struct daemon d = { 0 };
    struct db_checkpointer *checkpointer = NULL;
    struct config *cfg;
    bool exit_now;
    char *errmsg;
    int status = EXIT_FAILURE;

    cfg = load_config(argc, argv, &exit_now);
    if (!cfg) {
        return exit_now ? EXIT_SUCCESS : 2;
    }
    d.cfg = cfg;
    int error = log_open(cfg->log_file);
    if (error) {
        fprintf(stderr, "hadron-server: cannot open log file %s: %s\n",
                cfg->log_file, strerror(error));
        config_destroy(cfg);
        return 2;
    }
    log_set_debug(cfg->debug);
    for (size_t i = 0; i < cfg->warnings.n; i++) {
        LOG_WARN("config", "%s", cfg->warnings.items[i]);
    }
    LOG_INFO("main", "hadron-server %s starting", HADRON_VERSION);

    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    l3_mech_register();
    char *l2_error = l2_init(cfg);
    if (l2_error) {
        LOG_ERR("l2", "%s", l2_error);
        free(l2_error);
        goto out;
    }
    char *l3_error = l3_registry_init(cfg);
    if (l3_error) {
        LOG_ERR("flavors", "%s", l3_error);
        free(l3_error);
        goto out;
    }
    l3_error = l3_init(cfg);
    if (l3_error) {
        LOG_ERR("l3", "%s", l3_error);
        free(l3_error);
        goto out;
    }
    if (!prepare_database(cfg)) {
        goto out;
    }
    /* Before any worker or dispatcher opens its connection. */
    checkpointer = db_checkpointer_start(cfg->connection, 200);
    l3_error = journal_start(cfg);
    if (l3_error) {
        LOG_ERR("journal", "%s", l3_error);
        free(l3_error);
        goto out;
    }

    d.base = event_base_new();
    api_init();
    d.server = api_server_create(cfg, d.base, &errmsg);
    if (!d.server) {
        LOG_ERR("main", "%s", errmsg);
        free(errmsg);
        goto out;
    }
    struct event *sigterm = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
    struct event *sigint = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
    struct event *sighup = evsignal_new(d.base, SIGHUP, on_hup_signal, &d);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    event_add(sighup, NULL);

    LOG_INFO("main", "listening on http://%s:%d with %d workers",
             cfg->bind_host, api_server_port(d.server), cfg->api_workers);
    event_base_dispatch(d.base);

    api_server_destroy(d.server);
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    if (d.drain_timer) {
        event_free(d.drain_timer);
    }
    LOG_INFO("main", "stopped");
    status = EXIT_SUCCESS;
out:
    if (d.base) {
        event_base_free(d.base);
    }
    /* The HTTP server has drained, so no new rows: the dispatchers finish
     * the row they apply; what is left pending is replayed at start. */
    journal_stop();
    db_checkpointer_stop(checkpointer);
    l3_registry_destroy();
    config_destroy(cfg);
    return status;
}
