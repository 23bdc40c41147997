/* flavors/registry.c: see registry.h.
 *
 * Driver classes: the built-ins from one static table, plus any a test
 * adds with l3_registry_add_class() before l3_registry_init().  Providers:
 * one per service_provider line (or the default line when there is none),
 * each with its class (a registered one, or the class a vendor shared
 * object exports) and the state its init() made.  Everything here is
 * written at start and read-only afterwards, except the statistics, which
 * the dispatcher threads update atomically. */
#include "flavors/registry.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "backends/dpdk/dpdk_driver.h"
#include "backends/netns/netns_driver.h"
#include "backends/noop/noop.h"
#include "backends/odl/odl_driver.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "flavors"
#define MAX_CLASSES 32
#define MAX_PROVIDERS 64

/* The built-in drivers. */
static const struct hadron_l3_driver_class *const builtin_classes[] = {
    &noop_l3_class,
    &netns_l3_class,
    &dpdk_l3_class,
    &odl_l3_class,
};

struct l3_provider {
    char *name;                 /* the service_provider's <name> */
    char *driver;               /* its <driver> as configured */
    bool is_default;
    const struct hadron_l3_driver_class *class;
    void *state;                /* from class->init() */
    void *dl;                   /* dlopen() handle of a vendor object */

    atomic_uint_fast64_t validate_calls, validate_refused;
    atomic_uint_fast64_t apply_ok, apply_retry, apply_failed;
    atomic_uint_fast64_t sync_calls, sync_failed;
    atomic_uint_fast64_t health_calls, health_bad;
    atomic_bool unhealthy;      /* last health() said no */
    atomic_bool in_op;          /* apply, sync_all or health running */
};

static const struct hadron_l3_driver_class *classes[MAX_CLASSES];
static size_t n_classes;
static struct l3_provider *providers[MAX_PROVIDERS];
static size_t n_providers;
static bool initialised;

static const struct hadron_l3_driver_class *
find_class(const char *name)
{
    for (size_t i = 0; i < n_classes; i++) {
        if (!strcmp(classes[i]->name, name)) {
            return classes[i];
        }
    }
    return NULL;
}

/* Checks what the core needs of a class.  Returns NULL or a malloc'd
 * reason. */
static char *
check_class(const struct hadron_l3_driver_class *class)
{
    if (class->api_version != HADRON_L3_DRIVER_API_VERSION) {
        return xasprintf("built against driver API version %u, this hadron "
                         "supports version %d", class->api_version,
                         HADRON_L3_DRIVER_API_VERSION);
    }
    if (!class->name || !*class->name) {
        return xstrdup("the driver class has no name");
    }
    if (!class->capabilities || !class->apply) {
        return xasprintf("driver '%s' lacks capabilities() or apply(), "
                         "which are required", class->name);
    }
    return NULL;
}

int
l3_registry_add_class(const struct hadron_l3_driver_class *class)
{
    if (!class) {
        return EINVAL;
    }
    char *why = check_class(class);
    if (why) {
        free(why);
        return class->api_version != HADRON_L3_DRIVER_API_VERSION
               ? EPROTO : EINVAL;
    }
    if (find_class(class->name)) {
        return EEXIST;
    }
    if (n_classes >= MAX_CLASSES) {
        return ENOSPC;
    }
    classes[n_classes++] = class;
    return 0;
}

/* ---- Parsing service_provider lines ---- */

/* l3_registry_load() in progress: parse and load, never init(). */
static bool check_only;

/* Copies the next ':'-separated field of '*p' without surrounding blanks
 * into a new string, and advances '*p' past it (to NULL after the last). */
static char *
next_field(const char **p)
{
    const char *s = *p;
    size_t len = strcspn(s, ":");

    *p = s[len] ? s + len + 1 : NULL;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    return xstrndup(s, len);
}

static bool
valid_name(const char *name)
{
    size_t len = strlen(name);

    if (!len || len > 64) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'
              || *p == '.')) {
            return false;
        }
    }
    return true;
}

static bool
is_shared_object(const char *driver)
{
    return strchr(driver, '/') || str_ends_with(driver, ".so");
}

static void
provider_free(struct l3_provider *p)
{
    if (!p) {
        return;
    }
    if (p->class && p->class->destroy && p->state) {
        p->class->destroy(p->state);
    }
    if (p->dl) {
        dlclose(p->dl);
    }
    free(p->name);
    free(p->driver);
    free(p);
}

/* Loads the vendor object 'path' into 'p'.  Returns NULL or a malloc'd
 * reason. */
static char *
load_shared_object(struct l3_provider *p, const char *path)
{
    const struct hadron_l3_driver_class *const *sym;
    const struct hadron_l3_driver_class *class;
    char *why;

    dlerror();
    p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *e = dlerror();
        return xasprintf("cannot load %s: %s", path, e ? e : "unknown error");
    }
    sym = dlsym(p->dl, HADRON_L3_DRIVER_SYMBOL);
    if (!sym || !*sym) {
        return xasprintf("%s does not export %s", path,
                         HADRON_L3_DRIVER_SYMBOL);
    }
    class = *sym;
    why = check_class(class);
    if (why) {
        char *msg = xasprintf("%s: %s", path, why);
        free(why);
        return msg;
    }
    const struct hadron_l3_driver_class *same = find_class(class->name);
    if (same && same != class) {
        return xasprintf("%s: driver name '%s' is already taken by another "
                         "driver", path, class->name);
    }
    for (size_t i = 0; i < n_providers; i++) {
        const struct hadron_l3_driver_class *other = providers[i]->class;
        if (other != class && !strcmp(other->name, class->name)) {
            return xasprintf("%s: driver name '%s' is already taken by %s",
                             path, class->name, providers[i]->driver);
        }
    }
    p->class = class;
    return NULL;
}

struct option_list {
    struct hadron_l3_option *items;
    size_t n;
};

static void
add_option(const char *key, const char *value, void *aux)
{
    struct option_list *l = aux;

    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = (struct hadron_l3_option) { key, value };
}

/* Makes the provider of one service_provider line.  Returns NULL and
 * stores it in '*out', or a malloc'd message. */
static char *
provider_create(const struct config *cfg, const char *line,
                struct l3_provider **out)
{
    struct l3_provider *p = xzalloc(sizeof *p);
    const char *cursor = line;
    char *type = NULL, *flag = NULL, *why = NULL;

    *out = NULL;
    type = next_field(&cursor);
    p->name = cursor ? next_field(&cursor) : NULL;
    p->driver = cursor ? next_field(&cursor) : NULL;
    flag = cursor ? next_field(&cursor) : NULL;
    if (!p->driver || cursor) {
        why = xstrdup("expected L3_ROUTER_NAT:<name>:<driver>[:default]");
        goto fail;
    }
    if (strcmp(type, "L3_ROUTER_NAT")) {
        why = xasprintf("service type '%s' is not supported (only "
                        "L3_ROUTER_NAT)", type);
        goto fail;
    }
    if (!valid_name(p->name)) {
        why = xasprintf("provider name '%s' is not 1 to 64 letters, digits, "
                        "'_', '-' or '.'", p->name);
        goto fail;
    }
    if (flag && strcmp(flag, "default")) {
        why = xasprintf("the last part must be 'default' or absent, not "
                        "'%s'", flag);
        goto fail;
    }
    p->is_default = flag != NULL;
    if (!*p->driver) {
        why = xstrdup("the driver is empty");
        goto fail;
    }
    if (is_shared_object(p->driver)) {
        why = load_shared_object(p, p->driver);
    } else {
        p->class = find_class(p->driver);
        if (!p->class) {
            char names[512] = "";
            size_t len = 0;
            for (size_t i = 0; i < n_classes && len < sizeof names; i++) {
                len += snprintf(names + len, sizeof names - len, "%s%s",
                                i ? ", " : "", classes[i]->name);
            }
            why = xasprintf("unknown driver '%s' (drivers: %s; a vendor "
                            "driver is the path of a shared object)",
                            p->driver, names);
        }
    }
    if (why) {
        goto fail;
    }

    if (p->class->init && !check_only) {
        struct option_list opts = { NULL, 0 };
        struct hadron_l3_config dcfg = { .host = cfg->host ? cfg->host : "" };
        char err[512] = "";
        /* [ml2_<driver>] first: the section the networking-* driver a
         * built-in replaces read its options from ([ml2_odl]). */
        char *ml2_section = xasprintf("ml2_%s", p->class->name);
        config_section_foreach(cfg, ml2_section, add_option, &opts);
        free(ml2_section);
        config_section_foreach(cfg, p->class->name, add_option, &opts);
        if (strcmp(p->name, p->class->name)) {
            config_section_foreach(cfg, p->name, add_option, &opts);
        }
        dcfg.options = opts.items;
        dcfg.n_options = opts.n;
        int error = p->class->init(&dcfg, &p->state, err, sizeof err);
        free(opts.items);
        if (error) {
            err[sizeof err - 1] = '\0';
            why = xasprintf("driver '%s' failed to start: %s", p->class->name,
                            *err ? err : strerror(error));
            p->state = NULL;
            goto fail;
        }
    }
    free(type);
    free(flag);
    *out = p;
    return NULL;

fail:
    {
        char *msg = xasprintf("[service_providers] service_provider = %s: "
                              "%s", line, why);
        free(why);
        free(type);
        free(flag);
        provider_free(p);
        return msg;
    }
}

char *
l3_registry_check(const struct config *cfg)
{
    if (initialised) {
        return xstrdup("the flavor driver registry is already initialised");
    }
    char *error = l3_registry_load(cfg);
    l3_registry_destroy();
    return error;
}

char *
l3_registry_load(const struct config *cfg)
{
    check_only = true;
    char *error = l3_registry_init(cfg);
    check_only = false;
    return error;
}

char *
l3_registry_init(const struct config *cfg)
{
    static const char *const default_line[] = {
        "L3_ROUTER_NAT:noop:noop:default"
    };
    const char *const *lines;
    size_t n_lines;
    char *error = NULL;

    if (initialised) {
        return xstrdup("the flavor driver registry is already initialised");
    }
    for (size_t i = 0; i < ARRAY_SIZE(builtin_classes); i++) {
        int e = l3_registry_add_class(builtin_classes[i]);
        if (e) {
            error = xasprintf("cannot register built-in driver '%s': %s",
                              builtin_classes[i]->name, strerror(e));
            goto fail;
        }
    }
    if (cfg->service_providers.n) {
        lines = (const char *const *) cfg->service_providers.items;
        n_lines = cfg->service_providers.n;
    } else {
        lines = default_line;
        n_lines = 1;
    }
    if (n_lines > MAX_PROVIDERS) {
        error = xasprintf("too many service providers (at most %d)",
                          MAX_PROVIDERS);
        goto fail;
    }
    initialised = true;
    for (size_t i = 0; i < n_lines; i++) {
        struct l3_provider *p;
        error = provider_create(cfg, lines[i], &p);
        if (error) {
            goto fail;
        }
        providers[n_providers++] = p;
        for (size_t j = 0; j + 1 < n_providers; j++) {
            if (!strcmp(providers[j]->name, p->name)) {
                error = xasprintf("[service_providers] service_provider = "
                                  "%s: provider name '%s' is used twice",
                                  lines[i], p->name);
                goto fail;
            }
            if (p->is_default && providers[j]->is_default) {
                error = xasprintf("[service_providers] service_provider = "
                                  "%s: multiple default providers for "
                                  "service L3_ROUTER_NAT ('%s' and '%s')",
                                  lines[i], providers[j]->name, p->name);
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < n_providers && !check_only; i++) {
        const struct l3_provider *p = providers[i];
        LOG_INFO(MOD, "provider %s: driver %s%s, capabilities 0x%x", p->name,
                 p->class->name, p->is_default ? " (default)" : "",
                 l3_provider_capabilities(p));
    }
    return NULL;

fail:
    l3_registry_destroy();
    return error;
}

void
l3_registry_destroy(void)
{
    /* Destroy in reverse order of creation. */
    while (n_providers) {
        provider_free(providers[--n_providers]);
        providers[n_providers] = NULL;
    }
    n_classes = 0;
    initialised = false;
}

size_t
l3_provider_count(void)
{
    return n_providers;
}

const struct l3_provider *
l3_provider_at(size_t i)
{
    return i < n_providers ? providers[i] : NULL;
}

const struct l3_provider *
l3_provider_find(const char *name)
{
    for (size_t i = 0; name && i < n_providers; i++) {
        if (!strcmp(providers[i]->name, name)) {
            return providers[i];
        }
    }
    return NULL;
}

const struct l3_provider *
l3_provider_find_driver(const char *driver)
{
    const struct l3_provider *p = l3_provider_find(driver);

    for (size_t i = 0; !p && driver && i < n_providers; i++) {
        if (!strcmp(providers[i]->class->name, driver)
            || !strcmp(providers[i]->driver, driver)) {
            p = providers[i];
        }
    }
    return p;
}

const struct l3_provider *
l3_provider_default(void)
{
    for (size_t i = 0; i < n_providers; i++) {
        if (providers[i]->is_default) {
            return providers[i];
        }
    }
    return NULL;
}

const char *
l3_provider_name(const struct l3_provider *p)
{
    return p ? p->name : NULL;
}

const char *
l3_provider_driver_name(const struct l3_provider *p)
{
    return p ? p->class->name : NULL;
}

bool
l3_provider_is_default(const struct l3_provider *p)
{
    return p && p->is_default;
}

void *
l3_provider_state(const struct l3_provider *p)
{
    return p ? p->state : NULL;
}

bool
l3_provider_was_healthy(const struct l3_provider *p)
{
    return p && !atomic_load(&p->unhealthy);
}

void
l3_provider_get_stats(const struct l3_provider *p,
                      struct l3_provider_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!p) {
        return;
    }
    s->validate_calls = atomic_load(&p->validate_calls);
    s->validate_refused = atomic_load(&p->validate_refused);
    s->apply_ok = atomic_load(&p->apply_ok);
    s->apply_retry = atomic_load(&p->apply_retry);
    s->apply_failed = atomic_load(&p->apply_failed);
    s->sync_calls = atomic_load(&p->sync_calls);
    s->sync_failed = atomic_load(&p->sync_failed);
    s->health_calls = atomic_load(&p->health_calls);
    s->health_bad = atomic_load(&p->health_bad);
}

/* ---- Wrappers of the driver ops ---- */

/* The counters are statistics: relaxed increments suffice. */
static void
count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static bool
entry_ok(const struct hadron_l3_entry *e)
{
    return e && e->resource && e->operation && e->resource_id
           && e->router_id && e->data;
}

unsigned int
l3_provider_capabilities(const struct l3_provider *p)
{
    if (!p || !p->class->capabilities) {
        return 0;
    }
    return p->class->capabilities(p->state);
}

bool
l3_provider_has_sync_all(const struct l3_provider *p)
{
    return p && p->class->sync_all;
}

bool
l3_provider_validate(const struct l3_provider *p_,
                     const struct hadron_l3_entry *e, char *err,
                     size_t err_size)
{
    struct l3_provider *p = (struct l3_provider *) p_;
    char local[256];

    if (!err || !err_size) {
        err = local;
        err_size = sizeof local;
    }
    err[0] = '\0';
    if (!p || !entry_ok(e)) {
        snprintf(err, err_size, "invalid request to the router driver");
        return false;
    }
    count(&p->validate_calls);
    if (!p->class->validate || p->class->validate(p->state, e, err,
                                                  err_size)) {
        return true;
    }
    count(&p->validate_refused);
    err[err_size - 1] = '\0';
    if (!*err) {
        snprintf(err, err_size, "refused by driver %s", p->class->name);
    }
    LOG_DBG(MOD, "provider %s: %s %s %s refused: %s", p->name, e->resource,
            e->operation, e->resource_id, err);
    return false;
}

/* A driver's apply(), sync_all() and health() never overlap (driver.h):
 * its state has no lock, and the odl client's one curl handle crashed
 * when /metrics called health() beside the dispatcher.  Another op while
 * one runs is a bug of the core: logged, and Debug builds stop on it. */
static void
op_enter(struct l3_provider *p, const char *op)
{
    bool busy = atomic_exchange(&p->in_op, true);

    if (busy) {
        LOG_ERR(MOD, "provider %s: %s() called while another op of the "
                "driver runs", p->name, op);
    }
    assert(!busy);
}

static void
op_leave(struct l3_provider *p)
{
    atomic_store(&p->in_op, false);
}

/* Calls apply() and accounts for the result. */
static enum hadron_l3_result
do_apply(struct l3_provider *p, const struct hadron_l3_entry *e, char *msg,
         size_t msg_size)
{
    enum hadron_l3_result r;

    msg[0] = '\0';
    if (!p->class->apply) {
        snprintf(msg, msg_size, "driver %s cannot apply entries",
                 p->class->name);
        r = HADRON_L3_FAILED;
    } else {
        op_enter(p, "apply");
        r = p->class->apply(p->state, e, msg, msg_size);
        op_leave(p);
        msg[msg_size - 1] = '\0';
    }
    switch (r) {
    case HADRON_L3_OK:
        count(&p->apply_ok);
        LOG_DBG(MOD, "provider %s: applied %lld %s %s %s", p->name,
                (long long) e->seq, e->resource, e->operation,
                e->resource_id);
        return r;
    case HADRON_L3_RETRY:
        count(&p->apply_retry);
        if (!*msg) {
            snprintf(msg, msg_size, "driver %s asked to retry",
                     p->class->name);
        }
        LOG_RL(LOG_LEVEL_WARN, MOD, "provider %s: %s %s %s (entry %lld): "
               "will retry: %s", p->name, e->resource, e->operation,
               e->resource_id, (long long) e->seq, msg);
        return r;
    case HADRON_L3_FAILED:
        break;
    default:
        snprintf(msg, msg_size, "driver %s returned an unknown result %d",
                 p->class->name, (int) r);
        break;
    }
    count(&p->apply_failed);
    if (!*msg) {
        snprintf(msg, msg_size, "driver %s failed", p->class->name);
    }
    LOG_RL(LOG_LEVEL_WARN, MOD, "provider %s: %s %s %s (entry %lld) "
           "failed: %s", p->name, e->resource, e->operation, e->resource_id,
           (long long) e->seq, msg);
    return HADRON_L3_FAILED;
}

enum hadron_l3_result
l3_provider_apply(const struct l3_provider *p_,
                  const struct hadron_l3_entry *e, char *msg,
                  size_t msg_size)
{
    struct l3_provider *p = (struct l3_provider *) p_;
    char local[256];

    if (!msg || !msg_size) {
        msg = local;
        msg_size = sizeof local;
    }
    msg[0] = '\0';
    if (!p || !entry_ok(e)) {
        snprintf(msg, msg_size, "invalid journal entry");
        return HADRON_L3_FAILED;
    }
    return do_apply(p, e, msg, msg_size);
}

/* sync_all() for a driver without one: a "router create" entry per router
 * carrying the whole document. */
static enum hadron_l3_result
replay_creates(struct l3_provider *p, const char *const *routers, size_t n,
               char *msg, size_t msg_size)
{
    for (size_t i = 0; i < n; i++) {
        yajl_val doc = yajl_tree_parse(routers[i], NULL, 0);
        static const char *id_path[] = { "id", NULL };
        static const char *rev_path[] = { "revision_number", NULL };
        yajl_val id = doc ? yajl_tree_get(doc, id_path, yajl_t_string)
                          : NULL;
        yajl_val rev = doc ? yajl_tree_get(doc, rev_path, yajl_t_number)
                           : NULL;
        if (!id) {
            yajl_tree_free(doc);
            snprintf(msg, msg_size, "router document %zu has no id", i);
            return HADRON_L3_FAILED;
        }
        struct hadron_l3_entry e = {
            .seq = 0,
            .resource = "router",
            .operation = "create",
            .resource_id = id->u.string,
            .router_id = id->u.string,
            .revision = rev && YAJL_IS_INTEGER(rev) ? YAJL_GET_INTEGER(rev)
                                                    : 0,
            .data = routers[i],
            .router = routers[i],
        };
        enum hadron_l3_result r = do_apply(p, &e, msg, msg_size);
        yajl_tree_free(doc);
        if (r != HADRON_L3_OK) {
            return r;
        }
    }
    return HADRON_L3_OK;
}

enum hadron_l3_result
l3_provider_sync_all(const struct l3_provider *p_,
                     const char *const *routers, size_t n, char *msg,
                     size_t msg_size)
{
    struct l3_provider *p = (struct l3_provider *) p_;
    enum hadron_l3_result r;
    char local[256];

    if (!msg || !msg_size) {
        msg = local;
        msg_size = sizeof local;
    }
    msg[0] = '\0';
    if (!p || (n && !routers)) {
        snprintf(msg, msg_size, "invalid full sync request");
        return HADRON_L3_FAILED;
    }
    for (size_t i = 0; i < n; i++) {
        if (!routers[i]) {
            snprintf(msg, msg_size, "router document %zu is missing", i);
            return HADRON_L3_FAILED;
        }
    }
    count(&p->sync_calls);
    if (p->class->sync_all) {
        op_enter(p, "sync_all");
        r = p->class->sync_all(p->state, routers, n, msg, msg_size);
        op_leave(p);
        msg[msg_size - 1] = '\0';
    } else {
        r = replay_creates(p, routers, n, msg, msg_size);
    }
    if (r == HADRON_L3_OK) {
        LOG_INFO(MOD, "provider %s: full sync of %zu routers done", p->name,
                 n);
        return r;
    }
    if (r != HADRON_L3_RETRY) {
        r = HADRON_L3_FAILED;
    }
    count(&p->sync_failed);
    if (!*msg) {
        snprintf(msg, msg_size, "driver %s could not sync", p->class->name);
    }
    LOG_RL(LOG_LEVEL_WARN, MOD, "provider %s: full sync of %zu routers "
           "%s: %s", p->name, n, r == HADRON_L3_RETRY ? "will retry"
                                                      : "failed", msg);
    return r;
}

bool
l3_provider_health(const struct l3_provider *p_, bool *lost_state,
                   char *msg, size_t msg_size)
{
    struct l3_provider *p = (struct l3_provider *) p_;
    bool lost = false, ok = true;
    char local[256];

    if (!msg || !msg_size) {
        msg = local;
        msg_size = sizeof local;
    }
    msg[0] = '\0';
    if (!p) {
        snprintf(msg, msg_size, "no provider");
        if (lost_state) {
            *lost_state = false;
        }
        return false;
    }
    count(&p->health_calls);
    if (p->class->health) {
        op_enter(p, "health");
        ok = p->class->health(p->state, &lost, msg, msg_size);
        op_leave(p);
        msg[msg_size - 1] = '\0';
    }
    if (lost_state) {
        *lost_state = lost;
    }
    if (!ok) {
        count(&p->health_bad);
    }
    bool was_bad = atomic_exchange(&p->unhealthy, !ok);
    if (!ok && !was_bad) {
        LOG_WARN(MOD, "provider %s: backend unhealthy: %s", p->name,
                 *msg ? msg : "no reason given");
    } else if (ok && was_bad) {
        LOG_INFO(MOD, "provider %s: backend healthy again", p->name);
    }
    if (lost) {
        LOG_WARN(MOD, "provider %s: backend lost its state: full sync "
                 "needed", p->name);
    }
    return ok;
}
