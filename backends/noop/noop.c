/* backends/noop/noop.c: see noop.h. */
#include "backends/noop/noop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "core/jsonv.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "noop"
#define ALL_CAPS (HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY               \
                  | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES  \
                  | HADRON_L3_CAP_IPV6 | HADRON_L3_CAP_ADMIN_DOWN)

/* One thing held: (resource, router, id). */
struct item {
    char *key;                  /* "resource\n router_id\n id" */
    char *resource;
    char *router_id;
    char *id;
    int64_t revision;
    char *data;                 /* JSON as last applied */
    UT_hash_handle hh;
};

struct noop {
    pthread_mutex_t mutex;
    struct item *items;         /* uthash */
    unsigned int caps;
    int64_t fail_first;         /* RETRY answers still to give */
    char **fail_ids;            /* fail_permanently_resource_id */
    size_t n_fail_ids;
    char *refuse_name;
    bool lost_state;
    struct noop_l3_counts counts;
};

static const struct {
    const char *name;
    unsigned int bit;
} cap_names[] = {
    { "snat", HADRON_L3_CAP_SNAT },
    { "gateway", HADRON_L3_CAP_GATEWAY },
    { "floatingip", HADRON_L3_CAP_FLOATINGIP },
    { "extra_routes", HADRON_L3_CAP_EXTRA_ROUTES },
    { "ipv6", HADRON_L3_CAP_IPV6 },
    { "admin_down", HADRON_L3_CAP_ADMIN_DOWN },
};

static char *
make_key(const char *resource, const char *router_id, const char *id)
{
    return xasprintf("%s\n%s\n%s", resource, router_id, id);
}

static void
item_free(struct item *it)
{
    free(it->key);
    free(it->resource);
    free(it->router_id);
    free(it->id);
    free(it->data);
    free(it);
}

static void
clear_items(struct noop *n)
{
    struct item *it, *tmp;

    HASH_ITER(hh, n->items, it, tmp) {
        HASH_DEL(n->items, it);
        item_free(it);
    }
}

/* Stores (resource, router, id) unless what is held is newer. */
static void
put_item(struct noop *n, const char *resource, const char *router_id,
         const char *id, int64_t revision, const char *data)
{
    char *key = make_key(resource, router_id, id);
    struct item *it;

    HASH_FIND_STR(n->items, key, it);
    if (it) {
        free(key);
        if (it->revision > revision) {
            return;             /* a stale entry: keep the newer state */
        }
        it->revision = revision;
        free(it->data);
        it->data = xstrdup(data ? data : "null");
        return;
    }
    it = xzalloc(sizeof *it);
    it->key = key;
    it->resource = xstrdup(resource);
    it->router_id = xstrdup(router_id);
    it->id = xstrdup(id);
    it->revision = revision;
    it->data = xstrdup(data ? data : "null");
    HASH_ADD_KEYPTR(hh, n->items, it->key, strlen(it->key), it);
}

static void
del_item(struct noop *n, const char *resource, const char *router_id,
         const char *id)
{
    char *key = make_key(resource, router_id, id);
    struct item *it;

    HASH_FIND_STR(n->items, key, it);
    free(key);
    if (it) {
        HASH_DEL(n->items, it);
        item_free(it);
    }
    if (!strcmp(resource, "router")) {
        /* What the router held goes with it. */
        struct item *tmp;
        HASH_ITER(hh, n->items, it, tmp) {
            if (!strcmp(it->router_id, id)) {
                HASH_DEL(n->items, it);
                item_free(it);
            }
        }
    }
}

/* ---- Options ---- */

static int
parse_caps(const char *value, unsigned int *caps, char *err, size_t size)
{
    if (!strcmp(value, "all")) {
        *caps = ALL_CAPS;
        return 0;
    }
    *caps = 0;
    if (!strcmp(value, "none") || !*value) {
        return 0;
    }
    for (const char *p = value; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        bool found = false;
        for (size_t i = 0; len && i < ARRAY_SIZE(cap_names); i++) {
            if (strlen(cap_names[i].name) == len
                && !strncmp(cap_names[i].name, p, len)) {
                *caps |= cap_names[i].bit;
                found = true;
            }
        }
        if (len && !found) {
            snprintf(err, size, "[noop] capabilities: unknown capability "
                     "'%.*s'", (int) len, p);
            return EINVAL;
        }
        p += len;
    }
    return 0;
}

static void
parse_ids(struct noop *n, const char *value)
{
    for (const char *p = value; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (len) {
            n->fail_ids = xrealloc(n->fail_ids,
                                   (n->n_fail_ids + 1) * sizeof *n->fail_ids);
            n->fail_ids[n->n_fail_ids++] = xstrndup(p, len);
        }
        p += len;
    }
}

static void noop_destroy(void *state);

static int
noop_init(const struct hadron_l3_config *cfg, void **state, char *err,
          size_t err_size)
{
    struct noop *n = xzalloc(sizeof *n);
    int error = 0;

    pthread_mutex_init(&n->mutex, NULL);
    n->caps = ALL_CAPS;
    for (size_t i = 0; i < cfg->n_options && !error; i++) {
        const char *key = cfg->options[i].key;
        const char *value = cfg->options[i].value;
        if (!strcmp(key, "capabilities")) {
            error = parse_caps(value, &n->caps, err, err_size);
        } else if (!strcmp(key, "fail_first")) {
            if (!str_to_int64(value, 0, INT32_MAX, &n->fail_first)) {
                snprintf(err, err_size, "[noop] fail_first: '%s' is not a "
                         "count", value);
                error = EINVAL;
            }
        } else if (!strcmp(key, "fail_permanently_resource_id")) {
            parse_ids(n, value);
        } else if (!strcmp(key, "refuse_name")) {
            free(n->refuse_name);
            n->refuse_name = *value ? xstrdup(value) : NULL;
        } else {
            snprintf(err, err_size, "unknown option [noop] %s", key);
            error = EINVAL;
        }
    }
    if (error) {
        noop_destroy(n);
        return error;
    }
    *state = n;
    return 0;
}

static void
noop_destroy(void *state)
{
    struct noop *n = state;

    if (!n) {
        return;
    }
    clear_items(n);
    for (size_t i = 0; i < n->n_fail_ids; i++) {
        free(n->fail_ids[i]);
    }
    free(n->fail_ids);
    free(n->refuse_name);
    pthread_mutex_destroy(&n->mutex);
    free(n);
}

/* ---- Ops ---- */

static unsigned int
noop_capabilities(void *state)
{
    const struct noop *n = state;

    return n->caps;
}

static bool
noop_validate(void *state, const struct hadron_l3_entry *e, char *err,
              size_t err_size)
{
    const struct noop *n = state;
    static const char *name_path[] = { "name", NULL };
    bool ok = true;

    if (!n->refuse_name) {
        return true;
    }
    yajl_val data = yajl_tree_parse(e->data, NULL, 0);
    yajl_val name = data ? yajl_tree_get(data, name_path, yajl_t_string)
                         : NULL;
    if (name && !strcmp(name->u.string, n->refuse_name)) {
        snprintf(err, err_size, "noop: refused name %s", n->refuse_name);
        ok = false;
    }
    yajl_tree_free(data);
    return ok;
}

static bool
fails_permanently(const struct noop *n, const char *id)
{
    for (size_t i = 0; i < n->n_fail_ids; i++) {
        if (!strcmp(n->fail_ids[i], id)) {
            return true;
        }
    }
    return false;
}

static enum hadron_l3_result
noop_apply(void *state, const struct hadron_l3_entry *e, char *msg,
           size_t msg_size)
{
    struct noop *n = state;
    enum hadron_l3_result r = HADRON_L3_OK;

    pthread_mutex_lock(&n->mutex);
    n->counts.applies++;
    if (n->fail_first > 0) {
        n->fail_first--;
        n->counts.retried++;
        snprintf(msg, msg_size, "noop: injected failure (fail_first), %lld "
                 "left", (long long) n->fail_first);
        r = HADRON_L3_RETRY;
    } else if (fails_permanently(n, e->resource_id)) {
        n->counts.failed++;
        snprintf(msg, msg_size, "noop: injected permanent failure for %s",
                 e->resource_id);
        r = HADRON_L3_FAILED;
    } else if (!strcmp(e->operation, "delete")) {
        del_item(n, e->resource, e->router_id, e->resource_id);
    } else if (!strcmp(e->operation, "create")
               || !strcmp(e->operation, "update")) {
        put_item(n, e->resource, e->router_id, e->resource_id, e->revision,
                 e->data);
    } else {
        n->counts.failed++;
        snprintf(msg, msg_size, "noop: unknown operation '%s'",
                 e->operation);
        r = HADRON_L3_FAILED;
    }
    if (r == HADRON_L3_OK) {
        n->counts.ok++;
    }
    pthread_mutex_unlock(&n->mutex);

    if (r == HADRON_L3_OK) {
        LOG_INFO(MOD, "apply %lld %s %s %s", (long long) e->seq, e->resource,
                 e->operation, e->resource_id);
    } else {
        LOG_INFO(MOD, "%s %lld %s %s %s", r == HADRON_L3_RETRY ? "retry"
                                                               : "fail",
                 (long long) e->seq, e->resource, e->operation,
                 e->resource_id);
    }
    return r;
}

/* Adds what router document 'doc' holds. */
static bool
hold_document(struct noop *n, const char *text)
{
    static const char *id_path[] = { "id", NULL };
    static const char *ifaces_path[] = { "interfaces", NULL };
    static const char *port_path[] = { "port_id", NULL };
    static const char *fips_path[] = { "floatingips", NULL };
    yajl_val doc = yajl_tree_parse(text, NULL, 0);
    yajl_val id = doc ? yajl_tree_get(doc, id_path, yajl_t_string) : NULL;

    if (!id) {
        yajl_tree_free(doc);
        return false;
    }
    const char *rid = id->u.string;
    put_item(n, "router", rid, rid, 0, text);
    yajl_val list = yajl_tree_get(doc, ifaces_path, yajl_t_array);
    for (size_t i = 0; list && i < list->u.array.len; i++) {
        yajl_val port = yajl_tree_get(list->u.array.values[i], port_path,
                                      yajl_t_string);
        if (port) {
            put_item(n, "router_interface", rid, port->u.string, 0,
                     NULL);
        }
    }
    list = yajl_tree_get(doc, fips_path, yajl_t_array);
    for (size_t i = 0; list && i < list->u.array.len; i++) {
        yajl_val fip = yajl_tree_get(list->u.array.values[i], id_path,
                                     yajl_t_string);
        if (fip) {
            put_item(n, "floatingip", rid, fip->u.string, 0, NULL);
        }
    }
    yajl_tree_free(doc);
    return true;
}

static enum hadron_l3_result
noop_sync_all(void *state, const char *const *routers, size_t n_routers,
              char *msg, size_t msg_size)
{
    struct noop *n = state;
    enum hadron_l3_result r = HADRON_L3_OK;

    pthread_mutex_lock(&n->mutex);
    n->counts.syncs++;
    clear_items(n);
    for (size_t i = 0; i < n_routers; i++) {
        if (!hold_document(n, routers[i])) {
            snprintf(msg, msg_size, "noop: router document %zu is not an "
                     "object with an id", i);
            r = HADRON_L3_FAILED;
            break;
        }
    }
    if (r == HADRON_L3_OK) {
        n->lost_state = false;
    }
    pthread_mutex_unlock(&n->mutex);
    LOG_INFO(MOD, "sync_all %zu routers", n_routers);
    return r;
}

static bool
noop_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    struct noop *n = state;

    pthread_mutex_lock(&n->mutex);
    *lost_state = n->lost_state;
    pthread_mutex_unlock(&n->mutex);
    return true;
}

const struct hadron_l3_driver_class noop_l3_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "noop",
    .init = noop_init,
    .destroy = noop_destroy,
    .capabilities = noop_capabilities,
    .validate = noop_validate,
    .apply = noop_apply,
    .sync_all = noop_sync_all,
    .health = noop_health,
};

/* ---- Inspection ---- */

static int
by_key(const struct item *a, const struct item *b)
{
    return strcmp(a->key, b->key);
}

char *
noop_l3_dump(void *state)
{
    struct noop *n = state;
    yajl_gen g = json_gen_create();
    struct item *it;

    pthread_mutex_lock(&n->mutex);
    HASH_SORT(n->items, by_key);
    yajl_gen_array_open(g);
    for (it = n->items; it; it = it->hh.next) {
        yajl_gen_map_open(g);
        json_kv_str(g, "resource", it->resource);
        json_kv_str(g, "router_id", it->router_id);
        json_kv_str(g, "id", it->id);
        json_kv_int(g, "revision", it->revision);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    pthread_mutex_unlock(&n->mutex);
    return json_gen_finish(g);
}

bool
noop_l3_has(void *state, const char *resource, const char *router_id,
            const char *id)
{
    struct noop *n = state;
    struct item *it, *tmp;
    bool found = false;

    pthread_mutex_lock(&n->mutex);
    HASH_ITER(hh, n->items, it, tmp) {
        if (!strcmp(it->resource, resource) && !strcmp(it->id, id)
            && (!router_id || !strcmp(it->router_id, router_id))) {
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&n->mutex);
    return found;
}

void
noop_l3_get_counts(void *state, struct noop_l3_counts *c)
{
    struct noop *n = state;

    pthread_mutex_lock(&n->mutex);
    *c = n->counts;
    c->held = HASH_COUNT(n->items);
    pthread_mutex_unlock(&n->mutex);
}

void
noop_l3_simulate_loss(void *state)
{
    struct noop *n = state;

    pthread_mutex_lock(&n->mutex);
    clear_items(n);
    n->lost_state = true;
    pthread_mutex_unlock(&n->mutex);
    LOG_INFO(MOD, "simulated loss of state");
}
