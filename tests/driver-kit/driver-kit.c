/* tests/driver-kit/driver-kit.c: see driver-kit.h.
 *
 * How it works.  The driver class under test is wrapped in a class named
 * "kit" that the kit registers with the flavor registry and configures as
 * the only provider; the wrapper passes every op through and adds what the
 * checks need: it applies each entry twice (comparing the driver's dump),
 * injects transient and permanent failures on request, and simulates a
 * backend that restarts empty (destroy + init, then health() reports a
 * lost state until sync_all()).  A small L3 model (routers, gateway,
 * routes, interfaces, floating IPs) builds the router documents of
 * flavors/driver.h and the 'data' of each entry, and plays the L3 core's
 * journal hooks.  Each step changes the model, records the entry with
 * journal_record() in a transaction as a service would, wakes the
 * journal, waits for it to drain and checks the rows, the statuses and,
 * when the driver can be inspected, what the backend holds. */
#include "tests/driver-kit/driver-kit.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "backends/dpdk/dpdk_driver.h"
#include "backends/noop/noop.h"
#include "core/config.h"
#include "core/context.h"
#include "core/journal.h"
#include "core/jsonv.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"
#include "tests/lib/testdb.h"

#define KIT "kit"               /* the wrapper class and provider name */
#define MAX_IFACES 8
#define MAX_FIPS 8
#define MAX_ROUTES 4
#define MAX_STATUSES 256

/* ---- The wrapper around the driver under test ---- */

static struct {
    pthread_mutex_t mutex;
    const struct hadron_l3_driver_class *real;
    struct driver_kit_probe probe;
    void *state;                    /* the real driver's */
    struct hadron_l3_option *options;   /* copies, for a re-init */
    size_t n_options;
    char *host;

    int inject_retry;               /* next N applies answer RETRY */
    char fail_id[64];               /* applies for this id answer FAILED */
    bool lost;                      /* simulated loss until sync_all() */
    int syncs;
    char problems[4096];            /* idempotency findings, this step */
} w = { .mutex = PTHREAD_MUTEX_INITIALIZER };

static struct hadron_l3_driver_class wrap_class;

static void problem(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
problem(const char *fmt, ...)
{
    size_t len = strlen(w.problems);
    va_list args;

    if (len + 2 >= sizeof w.problems) {
        return;
    }
    if (len) {
        w.problems[len++] = ';';
        w.problems[len++] = ' ';
        w.problems[len] = '\0';
    }
    va_start(args, fmt);
    vsnprintf(w.problems + len, sizeof w.problems - len, fmt, args);
    va_end(args);
}

static int
wrap_init(const struct hadron_l3_config *cfg, void **state, char *err,
          size_t err_size)
{
    w.n_options = cfg->n_options;
    w.options = xcalloc(cfg->n_options + 1, sizeof *w.options);
    for (size_t i = 0; i < cfg->n_options; i++) {
        w.options[i].key = xstrdup(cfg->options[i].key);
        w.options[i].value = xstrdup(cfg->options[i].value);
    }
    w.host = xstrdup(cfg->host ? cfg->host : "");
    *state = &w;
    return w.real->init ? w.real->init(cfg, &w.state, err, err_size) : 0;
}

static void
wrap_destroy(void *state)
{
    if (w.real->destroy && w.state) {
        w.real->destroy(w.state);
    }
    w.state = NULL;
    for (size_t i = 0; i < w.n_options; i++) {
        free((char *) w.options[i].key);
        free((char *) w.options[i].value);
    }
    free(w.options);
    w.options = NULL;
    w.n_options = 0;
    free(w.host);
    w.host = NULL;
}

static unsigned int
wrap_capabilities(void *state)
{
    return w.real->capabilities(w.state);
}

static bool
wrap_validate(void *state, const struct hadron_l3_entry *e, char *err,
              size_t err_size)
{
    return w.real->validate(w.state, e, err, err_size);
}

static enum hadron_l3_result
wrap_apply(void *state, const struct hadron_l3_entry *e, char *msg,
           size_t msg_size)
{
    enum hadron_l3_result r;

    pthread_mutex_lock(&w.mutex);
    if (w.inject_retry > 0) {
        w.inject_retry--;
        snprintf(msg, msg_size, "kit: injected transient failure");
        r = HADRON_L3_RETRY;
    } else if (!strcmp(w.fail_id, e->resource_id)) {
        snprintf(msg, msg_size, "kit: injected permanent failure");
        r = HADRON_L3_FAILED;
    } else {
        r = w.real->apply(w.state, e, msg, msg_size);
        if (r == HADRON_L3_OK) {
            /* At least once: the same entry again changes nothing. */
            char *before = w.probe.dump ? w.probe.dump(w.state) : NULL;
            char again[512] = "";
            enum hadron_l3_result r2 = w.real->apply(w.state, e, again,
                                                     sizeof again);
            if (r2 != HADRON_L3_OK) {
                problem("entry %" PRId64 " (%s %s) applied again answered "
                        "%s: %s", e->seq, e->resource, e->operation,
                        r2 == HADRON_L3_RETRY ? "RETRY" : "FAILED", again);
            } else if (before) {
                char *after = w.probe.dump(w.state);
                if (strcmp(before, after)) {
                    problem("entry %" PRId64 " (%s %s) applied again "
                            "changed the state", e->seq, e->resource,
                            e->operation);
                }
                free(after);
            }
            free(before);
        }
    }
    pthread_mutex_unlock(&w.mutex);
    return r;
}

static enum hadron_l3_result
wrap_sync_all(void *state, const char *const *routers, size_t n, char *msg,
              size_t msg_size)
{
    pthread_mutex_lock(&w.mutex);
    enum hadron_l3_result r = w.real->sync_all(w.state, routers, n, msg,
                                               msg_size);
    w.syncs++;
    if (r == HADRON_L3_OK) {
        w.lost = false;
    }
    pthread_mutex_unlock(&w.mutex);
    return r;
}

static bool
wrap_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    bool ok = true, lost = false;

    pthread_mutex_lock(&w.mutex);
    if (w.real->health) {
        ok = w.real->health(w.state, &lost, msg, msg_size);
    }
    *lost_state = lost || w.lost;
    pthread_mutex_unlock(&w.mutex);
    return ok;
}

/* Without a sync_all() of the driver's, the registry replays a create per
 * router through apply(): count those as syncs too. */
static enum hadron_l3_result
wrap_apply_counting(void *state, const struct hadron_l3_entry *e, char *msg,
                    size_t msg_size)
{
    enum hadron_l3_result r = wrap_apply(state, e, msg, msg_size);

    if (!e->seq) {
        pthread_mutex_lock(&w.mutex);
        w.syncs++;
        if (r == HADRON_L3_OK) {
            w.lost = false;
        }
        pthread_mutex_unlock(&w.mutex);
    }
    return r;
}

/* The backend restarts empty: a new instance, and health() says so. */
static char *
simulate_loss(void)
{
    struct hadron_l3_config cfg = {
        .host = w.host, .options = w.options, .n_options = w.n_options,
    };
    char err[512] = "";
    char *error = NULL;

    pthread_mutex_lock(&w.mutex);
    if (w.real->destroy && w.state) {
        w.real->destroy(w.state);
    }
    w.state = NULL;
    if (w.real->init && w.real->init(&cfg, &w.state, err, sizeof err)) {
        error = xasprintf("init() after the simulated loss failed: %s", err);
    }
    w.lost = true;
    pthread_mutex_unlock(&w.mutex);
    return error;
}

static bool
probe_has(const char *resource, const char *router_id, const char *id)
{
    pthread_mutex_lock(&w.mutex);
    bool has = w.probe.has(w.state, resource, router_id, id);
    pthread_mutex_unlock(&w.mutex);
    return has;
}

/* Loads the class to test: a built-in by name or a vendor object. */
static char *
load_driver(const char *driver, void **dl)
{
    *dl = NULL;
    if (!strcmp(driver, "noop")) {
        w.real = &noop_l3_class;
        w.probe.dump = noop_l3_dump;
        w.probe.has = noop_l3_has;
        return NULL;
    }
    if (!strcmp(driver, "dpdk")) {
        /* Needs a running hadron-dpdk: --option 'control_socket = PATH'. */
        w.real = &dpdk_l3_class;
        w.probe.dump = dpdk_l3_dump;
        w.probe.has = dpdk_l3_has;
        return NULL;
    }
    if (!strchr(driver, '/') && !str_ends_with(driver, ".so")) {
        return xasprintf("unknown built-in driver '%s' (the kit knows noop "
                         "and dpdk; "
                         "give a vendor driver as the path of its shared "
                         "object)", driver);
    }
    *dl = dlopen(driver, RTLD_NOW | RTLD_LOCAL);
    if (!*dl) {
        return xasprintf("cannot load %s: %s", driver, dlerror());
    }
    const struct hadron_l3_driver_class *const *sym
        = dlsym(*dl, HADRON_L3_DRIVER_SYMBOL);
    if (!sym || !*sym) {
        return xasprintf("%s does not export %s", driver,
                         HADRON_L3_DRIVER_SYMBOL);
    }
    w.real = *sym;
    *(void **) &w.probe.dump = dlsym(*dl, "hadron_l3_kit_dump");
    *(void **) &w.probe.has = dlsym(*dl, "hadron_l3_kit_has");
    if (w.real->api_version != HADRON_L3_DRIVER_API_VERSION) {
        return xasprintf("%s: built against driver API version %u, this "
                         "kit tests version %d", driver,
                         w.real->api_version, HADRON_L3_DRIVER_API_VERSION);
    }
    if (!w.real->name || !w.real->capabilities || !w.real->apply) {
        return xasprintf("%s: the class lacks a name, capabilities() or "
                         "apply()", driver);
    }
    return NULL;
}

/* ---- The L3 model ---- */

struct iface {
    char port_id[37];
    char subnet_id[37];
    char network_id[37];
    char ip[48];
    char cidr[48];
    char mac[18];
    bool present;
};

struct fip {
    char id[37];
    char address[48];
    char port_id[37];           /* "" = not associated */
    char fixed_ip[48];
    int64_t revision;
    bool present;               /* associated, so the driver holds it */
};

struct router {
    char id[37];
    char name[64];
    bool exists;
    bool admin_up;
    bool gateway;
    bool snat;
    int n_routes;
    struct { char destination[48], nexthop[48]; } routes[MAX_ROUTES];
    struct iface ifaces[MAX_IFACES];
    size_t n_ifaces;
    struct fip fips[MAX_FIPS];
    size_t n_fips;
    int64_t revision;
};

#define EXT_NET "e0000000-0000-4000-8000-000000000001"
#define EXT_SUBNET "e0000000-0000-4000-8000-000000000002"
#define PROJECT "d0000000000040008000000000000001"

static struct {
    pthread_mutex_t mutex;
    struct router routers[2];
    struct { char id[64]; char status[8]; int64_t revision; }
        statuses[MAX_STATUSES];
    size_t n_statuses;
} model = { .mutex = PTHREAD_MUTEX_INITIALIZER };

static void
gen_gateway(yajl_gen g, const struct router *r)
{
    char port_id[37];

    json_key(g, "external_gateway_info");
    if (!r->gateway) {
        yajl_gen_null(g);
        return;
    }
    snprintf(port_id, sizeof port_id, "%.35s9", r->id);
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", EXT_NET);
    json_kv_bool(g, "enable_snat", r->snat);
    json_key(g, "external_fixed_ips");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    json_kv_str(g, "subnet_id", EXT_SUBNET);
    json_kv_str(g, "ip_address", r == &model.routers[0] ? "203.0.113.10"
                                                         : "203.0.113.11");
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    json_key(g, "port");
    yajl_gen_map_open(g);
    json_kv_str(g, "id", port_id);
    /* MACs are unique on a network, as Neutron keeps them. */
    json_kv_str(g, "mac_address",
                r == &model.routers[0] ? "fa:16:3e:00:00:e1"
                                       : "fa:16:3e:00:00:e2");
    json_kv_str(g, "network_id", EXT_NET);
    json_key(g, "cidrs");
    yajl_gen_array_open(g);
    json_str(g, "203.0.113.0/24");
    yajl_gen_array_close(g);
    json_kv_str(g, "gateway_ip", "203.0.113.1");
    json_key(g, "vif_details");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void
gen_routes(yajl_gen g, const struct router *r)
{
    json_key(g, "routes");
    yajl_gen_array_open(g);
    for (int i = 0; i < r->n_routes; i++) {
        yajl_gen_map_open(g);
        json_kv_str(g, "destination", r->routes[i].destination);
        json_kv_str(g, "nexthop", r->routes[i].nexthop);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

static void
gen_iface(yajl_gen g, const struct router *r, const struct iface *i,
          bool as_data)
{
    yajl_gen_map_open(g);
    if (as_data) {
        json_kv_str(g, "id", i->port_id);
        json_kv_str(g, "router_id", r->id);
        json_kv_str(g, "project_id", PROJECT);
        json_key(g, "subnet_ids");
        yajl_gen_array_open(g);
        json_str(g, i->subnet_id);
        yajl_gen_array_close(g);
    }
    json_kv_str(g, "port_id", i->port_id);
    json_kv_str(g, "mac_address", i->mac);
    json_kv_str(g, "network_id", i->network_id);
    json_kv_str(g, "subnet_id", i->subnet_id);
    json_kv_str(g, "ip_address", i->ip);
    json_kv_str(g, "cidr", i->cidr);
    json_key(g, "vif_details");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    json_kv_str(g, "network_type", "vxlan");
    json_kv_int(g, "segmentation_id", 1000 + (i - r->ifaces));
    yajl_gen_map_close(g);
}

static void
gen_fip(yajl_gen g, const struct router *r, const struct fip *f,
        bool as_data)
{
    yajl_gen_map_open(g);
    json_kv_str(g, "id", f->id);
    json_kv_str(g, "floating_ip_address", f->address);
    json_kv_str(g, "fixed_ip_address", f->port_id[0] ? f->fixed_ip : NULL);
    json_kv_str(g, "port_id", f->port_id[0] ? f->port_id : NULL);
    json_kv_str(g, "floating_network_id", EXT_NET);
    if (as_data) {
        json_kv_str(g, "router_id", f->port_id[0] ? r->id : NULL);
        json_kv_str(g, "project_id", PROJECT);
        json_kv_str(g, "status", "DOWN");
        json_kv_int(g, "revision_number", f->revision);
    }
    yajl_gen_map_close(g);
}

/* The router as the API shows it ('data' of a router entry), or the whole
 * document of flavors/driver.h. */
static char *
router_json(const struct router *r, bool document)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_kv_str(g, "id", r->id);
    json_kv_str(g, "name", r->name);
    json_kv_str(g, "project_id", PROJECT);
    json_kv_bool(g, "admin_state_up", r->admin_up);
    json_kv_str(g, "flavor_id", NULL);
    gen_gateway(g, r);
    gen_routes(g, r);
    if (document) {
        json_key(g, "interfaces");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < r->n_ifaces; i++) {
            if (r->ifaces[i].present) {
                gen_iface(g, r, &r->ifaces[i], false);
            }
        }
        yajl_gen_array_close(g);
        json_key(g, "floatingips");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < r->n_fips; i++) {
            if (r->fips[i].present) {
                gen_fip(g, r, &r->fips[i], false);
            }
        }
        yajl_gen_array_close(g);
    } else {
        json_kv_str(g, "status", "DOWN");
        json_kv_int(g, "revision_number", r->revision);
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

static struct router *
find_router(const char *id)
{
    for (size_t i = 0; i < ARRAY_SIZE(model.routers); i++) {
        if (model.routers[i].exists && !strcmp(model.routers[i].id, id)) {
            return &model.routers[i];
        }
    }
    return NULL;
}

static char *
hook_router_document(struct db *db, const char *router_id)
{
    pthread_mutex_lock(&model.mutex);
    const struct router *r = find_router(router_id);
    char *doc = r ? router_json(r, true) : NULL;
    pthread_mutex_unlock(&model.mutex);
    return doc;
}

static struct neutron_error *
hook_set_status(struct db *db, const char *resource, const char *id,
                int64_t revision, const char *status)
{
    pthread_mutex_lock(&model.mutex);
    size_t i;
    for (i = 0; i < model.n_statuses; i++) {
        if (!strcmp(model.statuses[i].id, id)) {
            break;
        }
    }
    if (i < MAX_STATUSES) {
        if (i == model.n_statuses) {
            model.n_statuses++;
        }
        str_copy(model.statuses[i].id, id, sizeof model.statuses[i].id);
        str_copy(model.statuses[i].status, status,
                 sizeof model.statuses[i].status);
        model.statuses[i].revision = revision;
    }
    pthread_mutex_unlock(&model.mutex);
    return NULL;
}

static struct neutron_error *
hook_all_routers(struct db *db, const char *driver, char ***docs, size_t *n)
{
    pthread_mutex_lock(&model.mutex);
    *docs = xcalloc(ARRAY_SIZE(model.routers), sizeof **docs);
    *n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(model.routers); i++) {
        if (model.routers[i].exists) {
            (*docs)[(*n)++] = router_json(&model.routers[i], true);
        }
    }
    pthread_mutex_unlock(&model.mutex);
    return NULL;
}

static const char *
status_of(const char *id)
{
    const char *s = NULL;

    pthread_mutex_lock(&model.mutex);
    for (size_t i = 0; i < model.n_statuses; i++) {
        if (!strcmp(model.statuses[i].id, id)) {
            s = model.statuses[i].status;
        }
    }
    pthread_mutex_unlock(&model.mutex);
    return s;
}

/* ---- Running steps ---- */

struct kit {
    const struct driver_kit_options *opt;
    FILE *out;
    struct db *db;
    struct config *cfg;
    const struct l3_provider *provider;
    unsigned int caps;
    int n_checks;
    int n_failed;
    char why[2048];             /* failures of the current step */
    int64_t step_seqs[8];
    size_t n_step_seqs;
};

static void fail_check(struct kit *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_check(struct kit *k, const char *fmt, ...)
{
    size_t len = strlen(k->why);
    va_list args;

    if (len + 3 >= sizeof k->why) {
        return;
    }
    if (len) {
        memcpy(k->why + len, "; ", 3);
        len += 2;
    }
    va_start(args, fmt);
    vsnprintf(k->why + len, sizeof k->why - len, fmt, args);
    va_end(args);
}

static void
report(struct kit *k, const char *what)
{
    if (w.problems[0]) {
        fail_check(k, "not idempotent: %s", w.problems);
        w.problems[0] = '\0';
    }
    k->n_checks++;
    if (k->why[0]) {
        k->n_failed++;
        fprintf(k->out, "not ok %d - %s: %s\n", k->n_checks, what, k->why);
    } else {
        fprintf(k->out, "ok %d - %s\n", k->n_checks, what);
    }
    fflush(k->out);
    k->why[0] = '\0';
    k->n_step_seqs = 0;
}

static void
skip(struct kit *k, const char *what, const char *why)
{
    fprintf(k->out, "ok %d - %s # SKIP %s\n", ++k->n_checks, what, why);
}

/* Validates and records one entry as the L3 core would, in its own
 * transaction, and wakes the journal.  The model must already hold the
 * change. */
static void
record(struct kit *k, const char *resource, const char *operation,
       const char *resource_id, const struct router *r, int64_t revision,
       const char *data)
{
    struct op_ctx ctx = { .db = k->db, .cfg = k->cfg, .request_id = KIT };
    char err[512] = "";

    pthread_mutex_lock(&model.mutex);
    char *doc = r->exists ? router_json(r, true) : NULL;
    pthread_mutex_unlock(&model.mutex);
    const struct hadron_l3_entry e = {
        .seq = 0, .resource = resource, .operation = operation,
        .resource_id = resource_id, .router_id = r->id, .revision = revision,
        .data = data, .router = doc,
    };
    if (!l3_provider_validate(k->provider, &e, err, sizeof err)) {
        fail_check(k, "validate() refused %s %s: %s", operation, resource,
                   err);
    }
    free(doc);

    ctx.auth.is_admin = true;
    struct neutron_error *error = NULL;
    int rc = db_begin(k->db, true);
    if (!rc) {
        error = journal_record(&ctx, KIT, resource, operation, resource_id,
                               r->id, revision, data);
        rc = error ? DB_ERROR : db_commit(k->db);
    }
    if (rc) {
        fail_check(k, "cannot record the entry: %s",
                   error ? error->message : db_errmsg(k->db));
        db_rollback(k->db);
        neutron_error_destroy(error);
        return;
    }
    journal_wake();
    struct db_stmt *stmt = db_prepare(k->db, "SELECT MAX(seq) FROM journal");
    if (stmt && db_step(stmt) == DB_ROW
        && k->n_step_seqs < ARRAY_SIZE(k->step_seqs)) {
        k->step_seqs[k->n_step_seqs++] = db_col_int64(stmt, 0);
    }
    db_reset(stmt);
}

static void
record_router(struct kit *k, struct router *r, const char *operation)
{
    if (strcmp(operation, "create")) {
        r->revision++;
    }
    pthread_mutex_lock(&model.mutex);
    char *data = router_json(r, false);
    pthread_mutex_unlock(&model.mutex);
    record(k, "router", operation, r->id, r, r->revision, data);
    free(data);
}

static void
record_iface(struct kit *k, struct router *r, struct iface *i,
             const char *operation)
{
    yajl_gen g = json_gen_create();

    gen_iface(g, r, i, true);
    char *data = json_gen_finish(g);
    record(k, "router_interface", operation, i->port_id, r, 0, data);
    free(data);
}

static void
record_fip(struct kit *k, struct router *r, struct fip *f,
           const char *operation)
{
    f->revision++;
    yajl_gen g = json_gen_create();
    gen_fip(g, r, f, true);
    char *data = json_gen_finish(g);
    record(k, "floatingip", operation, f->id, r, f->revision, data);
    free(data);
}

/* Waits for the journal to drain and checks the step's rows ended in
 * 'state'. */
static void
settle(struct kit *k, enum journal_state state)
{
    if (!journal_wait_idle(k->db, NULL, k->opt->timeout * 1000)) {
        fail_check(k, "the journal did not drain within %d s",
                   k->opt->timeout);
        return;
    }
    for (size_t i = 0; i < k->n_step_seqs; i++) {
        struct journal_row row;
        struct neutron_error *error = journal_get(k->db, k->step_seqs[i],
                                                  &row);
        if (error) {
            fail_check(k, "%s", error->message);
            neutron_error_destroy(error);
            continue;
        }
        if (row.state != state) {
            fail_check(k, "entry %" PRId64 " (%s %s) is %s, not %s%s%s",
                       row.seq, row.operation, row.resource,
                       journal_state_name(row.state),
                       journal_state_name(state),
                       row.last_error[0] ? ": " : "", row.last_error);
        }
        journal_row_destroy(&row);
    }
}

static void
expect_status(struct kit *k, const char *id, const char *status)
{
    const char *s = status_of(id);

    if (!s || strcmp(s, status)) {
        fail_check(k, "%s is %s, not %s", id, s ? s : "without status",
                   status);
    }
}

/* Checks, if the driver can be inspected, that the backend holds exactly
 * what the model says of every router, interface and floating IP the
 * model ever had. */
static void
expect_held(struct kit *k)
{
    if (!w.probe.has) {
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(model.routers); i++) {
        const struct router *r = &model.routers[i];
        if (!r->id[0]) {
            continue;
        }
        bool has = probe_has("router", r->id, r->id);
        if (has != r->exists) {
            fail_check(k, "the backend %s router %s", has ? "still holds"
                                                          : "lacks", r->id);
        }
        for (size_t j = 0; j < r->n_ifaces; j++) {
            const struct iface *f = &r->ifaces[j];
            has = probe_has("router_interface", r->id, f->port_id);
            if (has != (r->exists && f->present)) {
                fail_check(k, "the backend %s interface %s of router %s",
                           has ? "still holds" : "lacks", f->port_id, r->id);
            }
        }
        for (size_t j = 0; j < r->n_fips; j++) {
            const struct fip *f = &r->fips[j];
            has = probe_has("floatingip", r->id, f->id);
            if (has != (r->exists && f->present)) {
                fail_check(k, "the backend %s floating IP %s of router %s",
                           has ? "still holds" : "lacks", f->id, r->id);
            }
        }
    }
}

static void
settle_ok(struct kit *k, const char *what, const char *active_id)
{
    settle(k, JOURNAL_COMPLETED);
    if (active_id) {
        expect_status(k, active_id, "ACTIVE");
    }
    expect_held(k);
    report(k, what);
}

static struct iface *
add_iface(struct router *r, int n, bool v6)
{
    struct iface *i = &r->ifaces[r->n_ifaces++];
    int rn = r == &model.routers[0] ? 1 : 2;

    snprintf(i->port_id, sizeof i->port_id,
             "a%07d-0000-4000-8000-%012d", rn, n);
    snprintf(i->subnet_id, sizeof i->subnet_id,
             "b%07d-0000-4000-8000-%012d", rn, n);
    snprintf(i->network_id, sizeof i->network_id,
             "c%07d-0000-4000-8000-%012d", rn, n);
    snprintf(i->mac, sizeof i->mac, "fa:16:3e:%02x:00:%02x", rn, n);
    if (v6) {
        snprintf(i->ip, sizeof i->ip, "2001:db8:%d:%d::1", rn, n);
        snprintf(i->cidr, sizeof i->cidr, "2001:db8:%d:%d::/64", rn, n);
    } else {
        snprintf(i->ip, sizeof i->ip, "10.%d.%d.1", rn, n);
        snprintf(i->cidr, sizeof i->cidr, "10.%d.%d.0/24", rn, n);
    }
    i->present = true;
    return i;
}

static struct fip *
add_fip(struct router *r, int n)
{
    struct fip *f = &r->fips[r->n_fips++];
    int rn = r == &model.routers[0] ? 1 : 2;

    snprintf(f->id, sizeof f->id, "f%07d-0000-4000-8000-%012d", rn, n);
    snprintf(f->address, sizeof f->address, "203.0.113.%d", 100 + 10 * rn
                                                              + n);
    return f;
}

static void
associate(struct fip *f, const struct iface *i, int host)
{
    snprintf(f->port_id, sizeof f->port_id, "%.30s%06d", i->port_id, host);
    snprintf(f->fixed_ip, sizeof f->fixed_ip, "%.*s%d",
             (int) (strrchr(i->ip, '.') - i->ip + 1), i->ip, host);
    f->present = true;
}

static bool
has_cap(const struct kit *k, unsigned int cap)
{
    return (k->caps & cap) == cap;
}

static void
run_steps(struct kit *k)
{
    struct router *r1 = &model.routers[0], *r2 = &model.routers[1];
    bool gw = has_cap(k, HADRON_L3_CAP_GATEWAY)
              || has_cap(k, HADRON_L3_CAP_SNAT);
    bool fips = has_cap(k, HADRON_L3_CAP_FLOATINGIP) && gw;
    struct iface *a, *b, *c;
    struct fip *f1 = NULL, *f2 = NULL;

    /* Routers. */
    pthread_mutex_lock(&model.mutex);
    str_copy(r1->id, "10000000-0000-4000-8000-000000000001", sizeof r1->id);
    str_copy(r1->name, "kit-router-1", sizeof r1->name);
    r1->exists = r1->admin_up = true;
    pthread_mutex_unlock(&model.mutex);
    record_router(k, r1, "create");
    settle_ok(k, "router create", r1->id);

    pthread_mutex_lock(&model.mutex);
    str_copy(r1->name, "kit-router-1-renamed", sizeof r1->name);
    pthread_mutex_unlock(&model.mutex);
    record_router(k, r1, "update");
    settle_ok(k, "router update (name)", r1->id);

    if (has_cap(k, HADRON_L3_CAP_ADMIN_DOWN)) {
        r1->admin_up = false;
        record_router(k, r1, "update");
        settle_ok(k, "router admin_state_up false", r1->id);
        r1->admin_up = true;
        record_router(k, r1, "update");
        settle_ok(k, "router admin_state_up true", r1->id);
    } else {
        skip(k, "router admin_state_up false/true", "no ADMIN_DOWN");
    }

    /* Gateway. */
    if (has_cap(k, HADRON_L3_CAP_SNAT)) {
        r1->gateway = r1->snat = true;
        record_router(k, r1, "update");
        settle_ok(k, "external gateway with SNAT", r1->id);
        if (has_cap(k, HADRON_L3_CAP_GATEWAY)) {
            r1->snat = false;
            record_router(k, r1, "update");
            settle_ok(k, "external gateway, SNAT off", r1->id);
        }
    } else if (has_cap(k, HADRON_L3_CAP_GATEWAY)) {
        r1->gateway = true;
        record_router(k, r1, "update");
        settle_ok(k, "external gateway without SNAT", r1->id);
    } else {
        skip(k, "external gateway", "no SNAT nor GATEWAY");
    }

    /* Interfaces. */
    pthread_mutex_lock(&model.mutex);
    a = add_iface(r1, 1, false);
    pthread_mutex_unlock(&model.mutex);
    record_iface(k, r1, a, "create");
    settle_ok(k, "add interface (IPv4)", a->port_id);
    pthread_mutex_lock(&model.mutex);
    b = add_iface(r1, 2, false);
    pthread_mutex_unlock(&model.mutex);
    record_iface(k, r1, b, "create");
    settle_ok(k, "add a second interface (IPv4)", b->port_id);
    if (has_cap(k, HADRON_L3_CAP_IPV6)) {
        pthread_mutex_lock(&model.mutex);
        c = add_iface(r1, 3, true);
        pthread_mutex_unlock(&model.mutex);
        record_iface(k, r1, c, "create");
        settle_ok(k, "add interface (IPv6)", c->port_id);
    } else {
        c = NULL;
        skip(k, "add interface (IPv6)", "no IPV6");
    }

    /* Routes. */
    if (has_cap(k, HADRON_L3_CAP_EXTRA_ROUTES)) {
        pthread_mutex_lock(&model.mutex);
        r1->n_routes = 2;
        str_copy(r1->routes[0].destination, "192.168.10.0/24", 48);
        str_copy(r1->routes[0].nexthop, "10.1.1.254", 48);
        str_copy(r1->routes[1].destination, "192.168.20.0/24", 48);
        str_copy(r1->routes[1].nexthop, "10.1.2.254", 48);
        pthread_mutex_unlock(&model.mutex);
        record_router(k, r1, "update");
        settle_ok(k, "extra routes set", r1->id);
        r1->n_routes = 1;
        record_router(k, r1, "update");
        settle_ok(k, "extra routes changed", r1->id);
    } else {
        skip(k, "extra routes", "no EXTRA_ROUTES");
    }

    /* Floating IPs. */
    if (fips) {
        pthread_mutex_lock(&model.mutex);
        f1 = add_fip(r1, 1);
        associate(f1, a, 5);
        pthread_mutex_unlock(&model.mutex);
        record_fip(k, r1, f1, "create");
        settle_ok(k, "floating IP associate", f1->id);
        pthread_mutex_lock(&model.mutex);
        associate(f1, b, 6);
        pthread_mutex_unlock(&model.mutex);
        record_fip(k, r1, f1, "update");
        settle_ok(k, "floating IP moved to another fixed IP", f1->id);
        pthread_mutex_lock(&model.mutex);
        f1->present = false;
        f1->port_id[0] = '\0';
        pthread_mutex_unlock(&model.mutex);
        record_fip(k, r1, f1, "delete");
        settle_ok(k, "floating IP disassociate", NULL);
    } else {
        skip(k, "floating IPs", "no FLOATINGIP (or no gateway)");
    }

    /* A second router with an interface and a FIP, for the full sync. */
    pthread_mutex_lock(&model.mutex);
    str_copy(r2->id, "20000000-0000-4000-8000-000000000002", sizeof r2->id);
    str_copy(r2->name, "kit-router-2", sizeof r2->name);
    r2->exists = r2->admin_up = true;
    r2->gateway = gw;
    r2->snat = has_cap(k, HADRON_L3_CAP_SNAT);
    pthread_mutex_unlock(&model.mutex);
    record_router(k, r2, "create");
    pthread_mutex_lock(&model.mutex);
    struct iface *d = add_iface(r2, 1, false);
    pthread_mutex_unlock(&model.mutex);
    record_iface(k, r2, d, "create");
    if (fips) {
        pthread_mutex_lock(&model.mutex);
        f2 = add_fip(r2, 1);
        associate(f2, d, 7);
        pthread_mutex_unlock(&model.mutex);
        record_fip(k, r2, f2, "create");
    }
    settle_ok(k, "second router with interface (and floating IP), in one "
              "burst", r2->id);

    /* A transient failure converges. */
    pthread_mutex_lock(&w.mutex);
    w.inject_retry = 3;
    pthread_mutex_unlock(&w.mutex);
    str_copy(r2->name, "kit-router-2-retried", sizeof r2->name);
    record_router(k, r2, "update");
    settle(k, JOURNAL_COMPLETED);
    if (k->n_step_seqs) {
        struct journal_row row;
        if (!journal_get(k->db, k->step_seqs[0], &row)) {
            if (row.attempts != 4) {
                fail_check(k, "the entry took %d attempts, not 4",
                           row.attempts);
            }
            journal_row_destroy(&row);
        }
    }
    expect_status(k, r2->id, "ACTIVE");
    expect_held(k);
    report(k, "transient failure (3 RETRY answers) converges");

    /* A permanent failure: ERROR, then the operator's retry. */
    str_copy(w.fail_id, d->port_id, sizeof w.fail_id);
    record_iface(k, r2, d, "update");
    settle(k, JOURNAL_FAILED);
    expect_status(k, d->port_id, "ERROR");
    int64_t failed_seq = k->n_step_seqs ? k->step_seqs[0] : 0;
    report(k, "permanent failure: entry failed, resource ERROR");
    pthread_mutex_lock(&w.mutex);
    w.fail_id[0] = '\0';
    pthread_mutex_unlock(&w.mutex);
    struct neutron_error *error = journal_retry(k->db, failed_seq);
    if (error) {
        fail_check(k, "journal_retry: %s", error->message);
        neutron_error_destroy(error);
    }
    k->step_seqs[k->n_step_seqs++] = failed_seq;
    settle_ok(k, "operator retry of the failed entry", d->port_id);

    /* The backend restarts empty: sync_all() rebuilds it. */
    int syncs = w.syncs;
    char *why = simulate_loss();
    if (why) {
        fail_check(k, "%s", why);
        free(why);
    } else {
        for (int i = 0; i < k->opt->timeout * 100 && w.syncs == syncs; i++) {
            usleep(10 * 1000);
        }
        if (w.syncs == syncs) {
            fail_check(k, "no sync_all() within %d s of a lost state",
                       k->opt->timeout);
        }
        settle(k, JOURNAL_COMPLETED);
        expect_held(k);
    }
    report(k, "lost backend state rebuilt by sync_all()");
    str_copy(r1->name, "kit-router-1-after-sync", sizeof r1->name);
    record_router(k, r1, "update");
    settle_ok(k, "router update after the sync", r1->id);

    /* Tear everything down. */
    if (f2) {
        f2->present = false;
        f2->port_id[0] = '\0';
        record_fip(k, r2, f2, "delete");
    }
    for (size_t i = 0; i < ARRAY_SIZE(model.routers); i++) {
        struct router *r = &model.routers[i];
        for (size_t j = 0; j < r->n_ifaces; j++) {
            if (r->ifaces[j].present) {
                pthread_mutex_lock(&model.mutex);
                r->ifaces[j].present = false;
                pthread_mutex_unlock(&model.mutex);
                record_iface(k, r, &r->ifaces[j], "delete");
            }
        }
    }
    settle_ok(k, "remove interfaces (and floating IP)", NULL);
    if (r1->gateway || r1->n_routes) {
        pthread_mutex_lock(&model.mutex);
        r1->gateway = false;
        r1->n_routes = 0;
        pthread_mutex_unlock(&model.mutex);
        record_router(k, r1, "update");
        settle_ok(k, "clear gateway and routes", r1->id);
    }
    for (size_t i = 0; i < ARRAY_SIZE(model.routers); i++) {
        struct router *r = &model.routers[i];
        pthread_mutex_lock(&model.mutex);
        r->exists = false;
        pthread_mutex_unlock(&model.mutex);
        record_router(k, r, "delete");
    }
    settle_ok(k, "router delete", NULL);
    if (w.probe.dump) {
        pthread_mutex_lock(&w.mutex);
        char *left = w.probe.dump(w.state);
        pthread_mutex_unlock(&w.mutex);
        char *empty = NULL;
        /* What a fresh instance holds is "nothing" for this driver. */
        struct hadron_l3_config cfg = {
            .host = w.host, .options = w.options, .n_options = w.n_options,
        };
        void *fresh = NULL;
        char err[256];
        if (!w.real->init || !w.real->init(&cfg, &fresh, err, sizeof err)) {
            empty = w.probe.dump(fresh);
            if (w.real->destroy) {
                w.real->destroy(fresh);
            }
        }
        if (empty && strcmp(left, empty)) {
            fail_check(k, "after deleting everything the backend holds %s",
                       left);
        }
        free(left);
        free(empty);
        report(k, "nothing left after the teardown");
    }
}

/* Writes the configuration: one provider "kit", the driver's options in
 * [kit], the journal tuned for a quick run. */
static char *
write_config(const struct driver_kit_options *opt, const char *url,
             char *path, size_t size)
{
    snprintf(path, size, "/tmp/driver-kit-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        return xstrdup("cannot create a configuration file");
    }
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[DEFAULT]\nhost = driver-kit\n[database]\nconnection = %s\n"
            "[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:" KIT ":" KIT ":default\n"
            "[journal]\ncompleted_retention = 3600\n"
            "retry_backoff_initial_ms = 20\nretry_backoff_max = 1\n"
            "poll_interval_ms = 50\nhealth_interval_ms = 50\n"
            "[" KIT "]\n", url);
    for (size_t i = 0; i < opt->n_options; i++) {
        fprintf(f, "%s\n", opt->options[i]);
    }
    fclose(f);
    return NULL;
}

int
driver_kit_run(const struct driver_kit_options *opt)
{
    struct kit k = { .opt = opt, .out = opt->out ? opt->out : stdout };
    char errbuf[512], conf[64] = "";
    char *url = NULL, *error = NULL;
    void *dl = NULL;
    bool registry = false, journal = false;

    error = load_driver(opt->driver, &dl);
    if (error) {
        goto out;
    }
    wrap_class = (struct hadron_l3_driver_class) {
        .api_version = HADRON_L3_DRIVER_API_VERSION,
        .name = KIT,
        .init = wrap_init,
        .destroy = wrap_destroy,
        .capabilities = wrap_capabilities,
        .validate = w.real->validate ? wrap_validate : NULL,
        .apply = w.real->sync_all ? wrap_apply : wrap_apply_counting,
        .sync_all = w.real->sync_all ? wrap_sync_all : NULL,
        .health = wrap_health,
    };

    url = opt->db_url ? xstrdup(opt->db_url) : testdb_create();
    if (db_open(url, &k.db, errbuf, sizeof errbuf)
        || db_upgrade(k.db, errbuf, sizeof errbuf)) {
        error = xasprintf("database %s: %s", url, errbuf);
        goto out;
    }
    error = write_config(opt, url, conf, sizeof conf);
    if (error) {
        goto out;
    }
    k.cfg = config_create();
    error = config_load_file(k.cfg, conf);
    if (error) {
        goto out;
    }
    int e = l3_registry_add_class(&wrap_class);
    if (e) {
        error = xasprintf("cannot register the driver: %s", strerror(e));
        goto out;
    }
    error = l3_registry_init(k.cfg);
    if (error) {
        goto out;
    }
    registry = true;
    k.provider = l3_provider_find(KIT);
    k.caps = l3_provider_capabilities(k.provider);
    fprintf(k.out, "# driver %s (class '%s'), capabilities 0x%x, on %s%s%s\n",
            opt->driver, w.real->name, k.caps, url,
            w.probe.dump ? ", with dump" : "",
            w.probe.has ? ", with has" : "");
    static const struct journal_hooks hooks = {
        .router_document = hook_router_document,
        .set_status = hook_set_status,
        .all_routers = hook_all_routers,
    };
    journal_set_hooks(&hooks);
    error = journal_start(k.cfg);
    if (error) {
        goto out;
    }
    journal = true;

    run_steps(&k);

out:
    if (error) {
        k.n_checks++;
        k.n_failed++;
        fprintf(k.out, "not ok %d - the driver runs: %s\n", k.n_checks,
                error);
        free(error);
    }
    if (journal) {
        journal_stop();
    }
    journal_set_hooks(NULL);
    if (registry) {
        l3_registry_destroy();
    }
    fprintf(k.out, "1..%d\n# %d of %d checks failed\n", k.n_checks,
            k.n_failed, k.n_checks);
    config_destroy(k.cfg);
    if (conf[0]) {
        unlink(conf);
    }
    db_close(k.db);
    if (url && !opt->db_url) {
        testdb_drop(url);
    }
    free(url);
    if (dl) {
        dlclose(dl);
    }
    return k.n_failed;
}
