/* l2/types.c: the type driver manager (Neutron's TypeManager), the [ml2]
 * options the drivers share, range parsing and the allocation pools.
 * See l2-types.h for the pool design. */
#include "l2/l2-types.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/l2-internal.h"

#define MOD "l2-types"

/* Attempts of a compare-and-swap (prefilled pools) or of a random insert
 * (lazy pools) before giving up on randomness. */
#define POOL_ATTEMPTS 8

/* Rows per INSERT when filling a pool. */
#define POOL_INSERT_BATCH 256

/* ---- Errors ---- */

struct neutron_error *
l2_no_network_available__(void)
{
    return neutron_error_create(NE_UNAVAILABLE, "NoNetworkAvailable",
                                "Unable to create the network. No tenant "
                                "network is available for allocation.");
}

bool
l2_is_no_network_available__(const struct neutron_error *e)
{
    return e && e->kind == NE_UNAVAILABLE
           && !strcmp(e->type, "NoNetworkAvailable");
}

/* ---- Randomness ---- */

static _Thread_local uint64_t rng_state;

uint64_t
l2_random__(uint64_t n)
{
    if (!rng_state) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t) ts.tv_nsec * 2654435761u
                   ^ (uint64_t) ts.tv_sec ^ (uint64_t) pthread_self();
        }
        rng_state = seed | 1;
    }
    /* splitmix64: fast, and plenty for spreading allocations. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return n ? z % n : 0;
}

/* ---- Lists and ranges ---- */

char **
l2_split_list__(const char *text, size_t *n)
{
    char **items = NULL;

    *n = 0;
    for (const char *p = text ? text : ""; *p; ) {
        size_t len = strcspn(p, ",");
        const char *s = p, *e = p + len;
        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (e > s) {
            items = xrealloc(items, (*n + 1) * sizeof *items);
            items[(*n)++] = xstrndup(s, e - s);
        }
        p += len;
        if (*p) {
            p++;
        }
    }
    return items;
}

void
l2_free_list__(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i]);
    }
    free(items);
}

void
l2_ranges_destroy__(struct l2_ranges *r)
{
    free(r->r);
    r->r = NULL;
    r->n = 0;
}

static int
range_cmp(const void *a_, const void *b_)
{
    const struct l2_range *a = a_, *b = b_;
    return a->min < b->min ? -1 : a->min > b->min;
}

void
l2_ranges_add__(struct l2_ranges *r, int64_t min, int64_t max)
{
    r->r = xrealloc(r->r, (r->n + 1) * sizeof *r->r);
    r->r[r->n++] = (struct l2_range) { min, max };
    qsort(r->r, r->n, sizeof *r->r, range_cmp);

    /* Merge overlapping and adjacent ranges. */
    size_t out = 0;
    for (size_t i = 1; i < r->n; i++) {
        if (r->r[i].min <= r->r[out].max + 1) {
            if (r->r[i].max > r->r[out].max) {
                r->r[out].max = r->r[i].max;
            }
        } else {
            r->r[++out] = r->r[i];
        }
    }
    r->n = out + 1;
}

bool
l2_ranges_contain__(const struct l2_ranges *r, int64_t id)
{
    for (size_t i = 0; i < r->n; i++) {
        if (id >= r->r[i].min && id <= r->r[i].max) {
            return true;
        }
    }
    return false;
}

uint64_t
l2_ranges_size__(const struct l2_ranges *r)
{
    uint64_t n = 0;

    for (size_t i = 0; i < r->n; i++) {
        n += (uint64_t) (r->r[i].max - r->r[i].min) + 1;
    }
    return n;
}

/* The k-th id of 'r' (k < size). */
static int64_t
ranges_nth(const struct l2_ranges *r, uint64_t k)
{
    for (size_t i = 0; i < r->n; i++) {
        uint64_t size = (uint64_t) (r->r[i].max - r->r[i].min) + 1;
        if (k < size) {
            return r->r[i].min + (int64_t) k;
        }
        k -= size;
    }
    return r->n ? r->r[r->n - 1].max : 0;
}

/* Parses a whole decimal integer, blanks around it allowed. */
static bool
parse_int(const char *s, size_t len, int64_t *out)
{
    char buf[32];

    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    if (!len || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return str_to_int64(buf, INT64_MIN, INT64_MAX, out);
}

char *
l2_tunnel_ranges_parse__(const char *text, const char *type, int64_t lo,
                         int64_t hi, struct l2_ranges *out)
{
    size_t n;
    char **items = l2_split_list__(text, &n);
    char *error = NULL;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n && !error; i++) {
        const char *entry = items[i];
        const char *colon = strchr(entry, ':');
        int64_t min, max;

        if (!colon || strchr(colon + 1, ':')) {
            error = xasprintf("Invalid network tunnel range: '%s' - need "
                              "exactly two values (min:max).", entry);
        } else if (!parse_int(entry, colon - entry, &min)
                   || !parse_int(colon + 1, strlen(colon + 1), &max)) {
            error = xasprintf("Invalid network tunnel range: '%s' - not an "
                              "integer.", entry);
        } else if (min < lo || min > hi || max < lo || max > hi) {
            error = xasprintf("Invalid network tunnel range: '%lld:%lld' - "
                              "%lld is not a valid %s identifier.",
                              (long long) min, (long long) max,
                              (long long) (min < lo || min > hi ? min : max),
                              type);
        } else if (max < min) {
            error = xasprintf("Invalid network tunnel range: '%lld:%lld' - "
                              "End of tunnel range is less than start of "
                              "tunnel range.", (long long) min,
                              (long long) max);
        } else {
            l2_ranges_add__(out, min, max);
        }
    }
    l2_free_list__(items, n);
    if (error) {
        l2_ranges_destroy__(out);
    }
    return error;
}

void
l2_vlan_physnets_destroy__(struct l2_vlan_physnet *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        l2_ranges_destroy__(&p[i].ranges);
    }
    free(p);
}

char *
l2_vlan_ranges_parse__(const char *text, struct l2_vlan_physnet **out,
                       size_t *n_out)
{
    struct l2_vlan_physnet *p = NULL;
    size_t np = 0, n;
    char **items = l2_split_list__(text, &n);
    char *error = NULL;

    for (size_t i = 0; i < n && !error; i++) {
        const char *entry = items[i];
        const char *c1 = strchr(entry, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        size_t name_len = c1 ? (size_t) (c1 - entry) : strlen(entry);
        int64_t min = 1, max = 4094;

        if (c1 && (!c2 || strchr(c2 + 1, ':'))) {
            error = xasprintf("Invalid network VLAN range: '%s' - 'Need "
                              "exactly two values for VLAN range'.", entry);
            break;
        }
        if (!name_len) {
            error = xstrdup("Empty physical network name.");
            break;
        }
        if (name_len > 64) {
            error = xasprintf("Invalid network VLAN range: '%s' - 'physical "
                              "network name longer than 64 characters'.",
                              entry);
            break;
        }
        if (c1) {
            if (!parse_int(c1 + 1, c2 - c1 - 1, &min)) {
                error = xasprintf("Invalid network VLAN range: '%s' - '%.*s "
                                  "is not a valid VLAN tag'.", entry,
                                  (int) (c2 - c1 - 1), c1 + 1);
                break;
            }
            if (!parse_int(c2 + 1, strlen(c2 + 1), &max)) {
                error = xasprintf("Invalid network VLAN range: '%s' - '%s is "
                                  "not a valid VLAN tag'.", entry, c2 + 1);
                break;
            }
            if (min < 1 || min > 4094 || max < 1 || max > 4094) {
                error = xasprintf("Invalid network VLAN range: '%lld:%lld' - "
                                  "'%lld is not a valid VLAN tag'.",
                                  (long long) min, (long long) max,
                                  (long long) (min < 1 || min > 4094
                                               ? min : max));
                break;
            }
            if (max < min) {
                error = xasprintf("Invalid network VLAN range: '%lld:%lld' - "
                                  "'End of VLAN range is less than start of "
                                  "VLAN range'.", (long long) min,
                                  (long long) max);
                break;
            }
        }

        struct l2_vlan_physnet *pn = NULL;
        for (size_t j = 0; j < np; j++) {
            if (strlen(p[j].name) == name_len
                && !strncmp(p[j].name, entry, name_len)) {
                pn = &p[j];
            }
        }
        if (!pn) {
            p = xrealloc(p, (np + 1) * sizeof *p);
            pn = &p[np++];
            pn->name = xstrndup(entry, name_len);
            memset(&pn->ranges, 0, sizeof pn->ranges);
        }
        /* A name alone stands for the whole VLAN range. */
        l2_ranges_add__(&pn->ranges, min, max);
    }
    l2_free_list__(items, n);
    if (error) {
        l2_vlan_physnets_destroy__(p, np);
        p = NULL;
        np = 0;
    }
    *out = p;
    *n_out = np;
    return error;
}

/* ---- MTUs ---- */

struct physnet_mtu {
    char *name;
    int mtu;
};

static int global_mtu = 1500;
static int path_mtu;
static int overlay_ip_version = 4;
static struct physnet_mtu *physnet_mtus;
static size_t n_physnet_mtus;

static void
physnet_mtus_clear(void)
{
    for (size_t i = 0; i < n_physnet_mtus; i++) {
        free(physnet_mtus[i].name);
    }
    free(physnet_mtus);
    physnet_mtus = NULL;
    n_physnet_mtus = 0;
}

/* Parses [ml2] physical_network_mtus ("physnet1:9000,physnet2:1500") as
 * neutron-lib's parse_mappings() does. */
static char *
physnet_mtus_parse(const char *text)
{
    size_t n;
    char **items = l2_split_list__(text, &n);
    char *error = NULL;

    for (size_t i = 0; i < n && !error; i++) {
        const char *colon = strchr(items[i], ':');
        int64_t mtu;

        if (!colon || strchr(colon + 1, ':')) {
            error = xasprintf("Invalid mapping: '%s'", items[i]);
        } else if (colon == items[i]) {
            error = xasprintf("Missing key in mapping: '%s'", items[i]);
        } else if (!colon[1]) {
            error = xasprintf("Missing value in mapping: '%s'", items[i]);
        } else if (!parse_int(colon + 1, strlen(colon + 1), &mtu)
                   || mtu < 68 || mtu > 65535) {
            error = xasprintf("Invalid MTU in mapping: '%s'", items[i]);
        } else {
            char *name = xstrndup(items[i], colon - items[i]);
            for (size_t j = 0; j < n_physnet_mtus && !error; j++) {
                if (!strcmp(physnet_mtus[j].name, name)) {
                    error = xasprintf("Key %s in mapping: '%s' not unique",
                                      name, items[i]);
                }
            }
            if (error) {
                free(name);
                break;
            }
            physnet_mtus = xrealloc(physnet_mtus, (n_physnet_mtus + 1)
                                                  * sizeof *physnet_mtus);
            physnet_mtus[n_physnet_mtus++] = (struct physnet_mtu) {
                name, (int) mtu };
        }
    }
    l2_free_list__(items, n);
    return error;
}

int
l2_types_physnet_mtu__(const char *physnet)
{
    int mtu = global_mtu > 0 ? global_mtu : 0;

    for (size_t i = 0; physnet && i < n_physnet_mtus; i++) {
        if (!strcmp(physnet_mtus[i].name, physnet)
            && (!mtu || physnet_mtus[i].mtu < mtu)) {
            mtu = physnet_mtus[i].mtu;
        }
    }
    return mtu;
}

int
l2_types_tunnel_mtu__(int overhead)
{
    int mtu = global_mtu > 0 ? global_mtu : 0;

    if (path_mtu > 0 && (!mtu || path_mtu < mtu)) {
        mtu = path_mtu;
    }
    if (!mtu) {
        return 0;
    }
    mtu -= overlay_ip_version == 6 ? 40 : 20;
    return mtu > overhead ? mtu - overhead : 0;
}

/* ---- The manager ---- */

static const struct l2_type_class *const builtin_types[] = {
    &l2_type_local, &l2_type_flat, &l2_type_vlan,
    &l2_type_gre, &l2_type_vxlan, &l2_type_geneve,
};

#define MAX_TYPES ARRAY_SIZE(builtin_types)

static const struct l2_type_class *enabled_types[MAX_TYPES];
static size_t n_enabled_types;
static const struct l2_type_class *tenant_types[MAX_TYPES];
static size_t n_tenant_types;

static const struct l2_type_class *
find_in(const struct l2_type_class *const *list, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(list[i]->type, type)) {
            return list[i];
        }
    }
    return NULL;
}

char *
l2_types_init__(const struct config *cfg)
{
    char **names;
    size_t n;
    char *error;

    n_enabled_types = n_tenant_types = 0;
    physnet_mtus_clear();
    global_mtu = cfg->global_physnet_mtu;
    path_mtu = cfg->ml2_path_mtu;
    overlay_ip_version = cfg->ml2_overlay_ip_version;
    error = physnet_mtus_parse(cfg->ml2_physical_network_mtus);
    if (error) {
        char *msg = xasprintf("[ml2] physical_network_mtus: %s", error);
        free(error);
        return msg;
    }

    names = l2_split_list__(cfg->ml2_type_drivers, &n);
    for (size_t i = 0; i < n && !error; i++) {
        const struct l2_type_class *t = find_in(builtin_types, MAX_TYPES,
                                                names[i]);
        if (!t) {
            error = xasprintf("[ml2] type_drivers: unknown type driver "
                              "'%s'", names[i]);
        } else if (find_in(enabled_types, n_enabled_types, names[i])) {
            LOG_WARN(MOD, "type driver '%s' listed twice in [ml2] "
                     "type_drivers", names[i]);
        } else {
            enabled_types[n_enabled_types++] = t;
        }
    }
    l2_free_list__(names, n);

    names = l2_split_list__(cfg->ml2_tenant_network_types, &n);
    for (size_t i = 0; i < n && !error; i++) {
        const struct l2_type_class *t = find_in(enabled_types,
                                                n_enabled_types, names[i]);
        if (!t) {
            error = xasprintf("[ml2] tenant_network_types: no type driver "
                              "for tenant network type '%s'", names[i]);
        } else if (!find_in(tenant_types, n_tenant_types, names[i])) {
            tenant_types[n_tenant_types++] = t;
        }
    }
    l2_free_list__(names, n);

    for (size_t i = 0; i < n_enabled_types && !error; i++) {
        if (enabled_types[i]->init) {
            error = enabled_types[i]->init(cfg);
        }
    }
    if (error) {
        n_enabled_types = n_tenant_types = 0;
    } else {
        LOG_INFO(MOD, "type drivers: %s; tenant network types: %s",
                 cfg->ml2_type_drivers, cfg->ml2_tenant_network_types);
    }
    return error;
}

const struct l2_type_class *
l2_type_find__(const char *type)
{
    return type ? find_in(enabled_types, n_enabled_types, type) : NULL;
}

const struct l2_type_class *const *
l2_types_enabled__(size_t *n)
{
    *n = n_enabled_types;
    return enabled_types;
}

const struct l2_type_class *const *
l2_types_tenant__(size_t *n)
{
    *n = n_tenant_types;
    return tenant_types;
}

struct neutron_error *
l2_types_sync__(struct db *db)
{
    for (size_t i = 0; i < n_enabled_types; i++) {
        if (enabled_types[i]->sync) {
            struct neutron_error *error = enabled_types[i]->sync(db);
            if (error) {
                return error;
            }
        }
    }
    return NULL;
}

struct neutron_error *
l2_type_validate__(const struct l2_segment *seg)
{
    const struct l2_type_class *t = l2_type_find__(seg->network_type);

    if (!t) {
        return resource_invalid_input("network_type value '%s' not supported",
                                      seg->network_type);
    }
    return t->validate ? t->validate(seg) : NULL;
}

struct neutron_error *
l2_type_reserve__(const struct op_ctx *ctx, struct l2_segment *seg)
{
    const struct l2_type_class *t = l2_type_find__(seg->network_type);
    struct neutron_error *error;

    if (!t) {
        return resource_invalid_input("network_type value '%s' not supported",
                                      seg->network_type);
    }
    error = t->reserve ? t->reserve(ctx, seg) : NULL;
    if (!error) {
        seg->mtu = t->mtu ? t->mtu(seg) : 0;
    }
    return error;
}

struct neutron_error *
l2_type_allocate_tenant__(const struct op_ctx *ctx, struct l2_segment *seg)
{
    for (size_t i = 0; i < n_tenant_types; i++) {
        const struct l2_type_class *t = tenant_types[i];
        struct neutron_error *error;

        if (!t->allocate) {
            continue;
        }
        memset(seg, 0, sizeof *seg);
        seg->segmentation_id = -1;
        error = t->allocate(ctx, seg);
        if (l2_is_no_network_available__(error)) {
            neutron_error_destroy(error);
            continue;
        }
        if (!error) {
            str_copy(seg->network_type, t->type, sizeof seg->network_type);
            seg->mtu = t->mtu ? t->mtu(seg) : 0;
        }
        return error;
    }
    return l2_no_network_available__();
}

struct neutron_error *
l2_type_release__(const struct op_ctx *ctx, const struct l2_segment *seg)
{
    const struct l2_type_class *t = l2_type_find__(seg->network_type);

    if (!t) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "%s: cannot release segment %s: network "
               "type '%s' has no type driver", ctx->request_id, seg->id,
               seg->network_type);
        return NULL;
    }
    return t->release ? t->release(ctx, seg) : NULL;
}

int
l2_type_mtu__(const struct l2_segment *seg)
{
    const struct l2_type_class *t = l2_type_find__(seg->network_type);

    return t && t->mtu ? t->mtu(seg) : 0;
}

int
l2_types_network_mtu__(const struct l2_segment *segs, size_t n)
{
    int mtu = 0;

    for (size_t i = 0; i < n; i++) {
        int m = l2_type_mtu__(&segs[i]);
        if (m > 0 && (!mtu || m < mtu)) {
            mtu = m;
        }
    }
    return mtu ? mtu : global_mtu;
}

/* ---- Allocation pools ---- */

bool
l2_pool_is_lazy__(const struct l2_pool *pool)
{
    return l2_ranges_size__(pool->ranges) > L2_POOL_PREFILL_MAX;
}

/* Starts "... WHERE " for 'pool': the physical network condition. */
static void
pool_where(struct sql_buf *b, const struct l2_pool *pool, const char *alias)
{
    sql_add(b, " WHERE ");
    if (pool->physnet) {
        sql_addf(b, "%sphysical_network = ? AND ", alias);
        sql_param(b, pool->physnet);
    }
}

/* Runs a statement that returns no rows.  Returns a db rc; '*changes'
 * (may be NULL) gets the rows changed. */
static int
pool_exec(struct db *db, const struct sql_buf *b, int64_t *changes)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (changes) {
        *changes = db_changes(stmt);
    }
    db_reset(stmt);
    return rc == DB_DONE || rc == DB_ROW ? DB_OK : rc;
}

/* Runs a query for one integer; '*found' tells whether a row came. */
static int
pool_query_int(struct db *db, const struct sql_buf *b, int64_t *value,
               bool *found)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    *found = false;
    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        *found = !db_col_is_null(stmt, 0);
        *value = db_col_int64(stmt, 0);
        rc = DB_OK;
    } else if (rc == DB_DONE) {
        rc = DB_OK;
    }
    db_reset(stmt);
    return rc;
}

static struct neutron_error *
pool_error(struct db *db, int rc, const struct l2_pool *pool,
           const char *what)
{
    char buf[160];

    if (rc == DB_CONSTRAINT) {
        /* A concurrent server wrote the same row: run it again. */
        rc = DB_RETRY;
    }
    snprintf(buf, sizeof buf, "%s %s", what, pool->table);
    return store_db_error(db, rc, buf);
}

/* Inserts a free row for each of the 'n' 'ids' (none exists yet). */
static int
pool_insert_free(struct db *db, const struct l2_pool *pool, int64_t *ids,
                 size_t n)
{
    for (size_t start = 0; start < n; start += POOL_INSERT_BATCH) {
        size_t end = start + POOL_INSERT_BATCH < n ? start + POOL_INSERT_BATCH
                                                   : n;
        struct sql_buf b;
        int rc;

        sql_init(&b);
        sql_addf(&b, "INSERT INTO %s (%s%s, allocated) VALUES ", pool->table,
                 pool->physnet ? "physical_network, " : "", pool->id_column);
        for (size_t i = start; i < end; i++) {
            sql_add(&b, i > start ? ", (" : "(");
            if (pool->physnet) {
                sql_add(&b, "?, ");
                sql_param(&b, pool->physnet);
            }
            sql_add(&b, "?, 0)");
            sql_param_int(&b, ids[i]);
        }
        rc = pool_exec(db, &b, NULL);
        sql_destroy(&b);
        if (rc) {
            return rc;
        }
    }
    return DB_OK;
}

/* Adds the rows missing in range 'r' of a prefilled pool. */
static int
pool_fill_range(struct db *db, const struct l2_pool *pool,
                const struct l2_range *r)
{
    int64_t size = r->max - r->min + 1, count = 0;
    struct sql_buf b;
    bool found;
    int rc;

    sql_init(&b);
    sql_addf(&b, "SELECT COUNT(*) FROM %s", pool->table);
    pool_where(&b, pool, "");
    sql_addf(&b, "%s BETWEEN ? AND ?", pool->id_column);
    sql_param_int(&b, r->min);
    sql_param_int(&b, r->max);
    rc = pool_query_int(db, &b, &count, &found);
    sql_destroy(&b);
    if (rc || count == size) {
        return rc;
    }

    /* Read the ids present, insert the others. */
    bool *present = xcalloc(size, sizeof *present);
    sql_init(&b);
    sql_addf(&b, "SELECT %s FROM %s", pool->id_column, pool->table);
    pool_where(&b, pool, "");
    sql_addf(&b, "%s BETWEEN ? AND ?", pool->id_column);
    sql_param_int(&b, r->min);
    sql_param_int(&b, r->max);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        free(present);
        return DB_ERROR;
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        int64_t id = db_col_int64(stmt, 0);
        if (id >= r->min && id <= r->max) {
            present[id - r->min] = true;
        }
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(present);
        return rc;
    }
    int64_t *missing = xmalloc(size * sizeof *missing);
    size_t n_missing = 0;
    for (int64_t i = 0; i < size; i++) {
        if (!present[i]) {
            missing[n_missing++] = r->min + i;
        }
    }
    free(present);
    rc = pool_insert_free(db, pool, missing, n_missing);
    free(missing);
    return rc;
}

struct neutron_error *
l2_pool_sync__(struct db *db, const struct l2_pool *pool)
{
    bool lazy = l2_pool_is_lazy__(pool);
    struct sql_buf b;
    int rc;

    /* Free rows outside the ranges go (a lazy pool keeps no free rows). */
    sql_init(&b);
    sql_addf(&b, "DELETE FROM %s", pool->table);
    pool_where(&b, pool, "");
    sql_add(&b, "allocated = 0");
    if (!lazy && pool->ranges->n) {
        sql_add(&b, " AND NOT (");
        for (size_t i = 0; i < pool->ranges->n; i++) {
            sql_addf(&b, "%s%s BETWEEN ? AND ?", i ? " OR " : "",
                     pool->id_column);
            sql_param_int(&b, pool->ranges->r[i].min);
            sql_param_int(&b, pool->ranges->r[i].max);
        }
        sql_add(&b, ")");
    }
    rc = pool_exec(db, &b, NULL);
    sql_destroy(&b);

    for (size_t i = 0; !rc && !lazy && i < pool->ranges->n; i++) {
        rc = pool_fill_range(db, pool, &pool->ranges->r[i]);
    }
    return rc ? pool_error(db, rc, pool, "syncing") : NULL;
}

/* Compare-and-swap: marks free row 'id' allocated.  '*won' tells whether
 * this call changed it. */
static int
pool_cas(struct db *db, const struct l2_pool *pool, int64_t id, bool *won)
{
    struct sql_buf b;
    int64_t changes = 0;
    int rc;

    sql_init(&b);
    sql_addf(&b, "UPDATE %s SET allocated = 1", pool->table);
    pool_where(&b, pool, "");
    sql_addf(&b, "%s = ? AND allocated = 0", pool->id_column);
    sql_param_int(&b, id);
    rc = pool_exec(db, &b, &changes);
    sql_destroy(&b);
    *won = !rc && changes == 1;
    return rc;
}

/* Inserts 'id' as allocated.  '*won' is false if its row exists. */
static int
pool_insert_allocated(struct db *db, const struct l2_pool *pool, int64_t id,
                      bool *won)
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_addf(&b, "INSERT INTO %s (%s%s, allocated) VALUES (%s?, 1)",
             pool->table, pool->physnet ? "physical_network, " : "",
             pool->id_column, pool->physnet ? "?, " : "");
    if (pool->physnet) {
        sql_param(&b, pool->physnet);
    }
    sql_param_int(&b, id);
    rc = pool_exec(db, &b, NULL);
    sql_destroy(&b);
    *won = !rc;
    return rc == DB_CONSTRAINT ? DB_OK : rc;
}

/* The first free row at or after 'from' (or before it, 'before'). */
static int
pool_next_free(struct db *db, const struct l2_pool *pool, int64_t from,
               bool before, int64_t *id, bool *found)
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_addf(&b, "SELECT %s FROM %s", pool->id_column, pool->table);
    pool_where(&b, pool, "");
    sql_addf(&b, "allocated = 0 AND %s %s ? ORDER BY %s LIMIT 1",
             pool->id_column, before ? "<" : ">=", pool->id_column);
    sql_param_int(&b, from);
    rc = pool_query_int(db, &b, id, found);
    sql_destroy(&b);
    return rc;
}

static struct neutron_error *
pool_allocate_prefilled(struct db *db, const struct l2_pool *pool,
                        int64_t *id)
{
    uint64_t size = l2_ranges_size__(pool->ranges);

    for (int attempt = 0; attempt < POOL_ATTEMPTS; attempt++) {
        int64_t pivot = size ? ranges_nth(pool->ranges, l2_random__(size))
                             : 0;
        bool found, won;
        int rc;

        rc = pool_next_free(db, pool, pivot, false, id, &found);
        if (!rc && !found) {
            rc = pool_next_free(db, pool, pivot, true, id, &found);
        }
        if (!rc && !found) {
            *id = -1;
            return NULL;
        }
        if (!rc) {
            rc = pool_cas(db, pool, *id, &won);
        }
        if (rc) {
            return pool_error(db, rc, pool, "allocating from");
        }
        if (won) {
            return NULL;
        }
        LOG_DBG(MOD, "%s: id %lld taken concurrently, trying another",
                pool->table, (long long) *id);
    }
    return neutron_error_create(NE_RETRY, NULL, "Concurrent allocations "
                                "from %s won every attempt; retry.",
                                pool->table);
}

/* A lazy pool: the first id of range 'r' without a row, if any. */
static int
pool_first_gap(struct db *db, const struct l2_pool *pool,
               const struct l2_range *r, int64_t *id, bool *found)
{
    struct sql_buf b;
    int64_t dummy;
    bool taken;
    int rc;

    sql_init(&b);
    sql_addf(&b, "SELECT %s FROM %s", pool->id_column, pool->table);
    pool_where(&b, pool, "");
    sql_addf(&b, "%s = ?", pool->id_column);
    sql_param_int(&b, r->min);
    rc = pool_query_int(db, &b, &dummy, &taken);
    sql_destroy(&b);
    if (rc || !taken) {
        *id = r->min;
        *found = !rc;
        return rc;
    }

    sql_init(&b);
    sql_addf(&b, "SELECT a.%s + 1 FROM %s a", pool->id_column, pool->table);
    pool_where(&b, pool, "a.");
    sql_addf(&b, "a.%s >= ? AND a.%s < ? AND NOT EXISTS (SELECT 1 FROM %s "
             "c WHERE ", pool->id_column, pool->id_column, pool->table);
    sql_param_int(&b, r->min);
    sql_param_int(&b, r->max);
    if (pool->physnet) {
        sql_add(&b, "c.physical_network = a.physical_network AND ");
    }
    sql_addf(&b, "c.%s = a.%s + 1) ORDER BY a.%s LIMIT 1", pool->id_column,
             pool->id_column, pool->id_column);
    rc = pool_query_int(db, &b, id, found);
    sql_destroy(&b);
    return rc;
}

static struct neutron_error *
pool_allocate_lazy(struct db *db, const struct l2_pool *pool, int64_t *id)
{
    uint64_t size = l2_ranges_size__(pool->ranges);
    bool won = false;
    int rc = DB_OK;

    for (int attempt = 0; !rc && !won && attempt < POOL_ATTEMPTS;
         attempt++) {
        *id = ranges_nth(pool->ranges, l2_random__(size));
        rc = pool_insert_allocated(db, pool, *id, &won);
    }
    for (size_t i = 0; !rc && !won && i < pool->ranges->n; i++) {
        bool found;
        rc = pool_first_gap(db, pool, &pool->ranges->r[i], id, &found);
        if (!rc && found) {
            rc = pool_insert_allocated(db, pool, *id, &won);
            if (!rc && !won) {
                return neutron_error_create(NE_RETRY, NULL, "Concurrent "
                                            "allocations from %s; retry.",
                                            pool->table);
            }
        }
    }
    if (rc) {
        return pool_error(db, rc, pool, "allocating from");
    }
    if (!won) {
        *id = -1;
    }
    return NULL;
}

struct neutron_error *
l2_pool_allocate__(struct db *db, const struct l2_pool *pool, int64_t *id)
{
    *id = -1;
    if (!pool->ranges->n) {
        return NULL;
    }
    return l2_pool_is_lazy__(pool) ? pool_allocate_lazy(db, pool, id)
                                   : pool_allocate_prefilled(db, pool, id);
}

struct neutron_error *
l2_pool_reserve__(struct db *db, const struct l2_pool *pool, int64_t id,
                  bool *taken)
{
    bool won = false;
    int rc;

    rc = pool_cas(db, pool, id, &won);
    if (!rc && !won) {
        rc = pool_insert_allocated(db, pool, id, &won);
    }
    if (rc) {
        return pool_error(db, rc, pool, "reserving in");
    }
    *taken = !won;
    return NULL;
}

struct neutron_error *
l2_pool_release__(struct db *db, const struct l2_pool *pool, int64_t id)
{
    bool keep = !l2_pool_is_lazy__(pool)
                && l2_ranges_contain__(pool->ranges, id);
    struct sql_buf b;
    int64_t changes = 0;
    int rc;

    sql_init(&b);
    if (keep) {
        sql_addf(&b, "UPDATE %s SET allocated = 0", pool->table);
    } else {
        sql_addf(&b, "DELETE FROM %s", pool->table);
    }
    pool_where(&b, pool, "");
    sql_addf(&b, "%s = ?", pool->id_column);
    sql_param_int(&b, id);
    rc = pool_exec(db, &b, &changes);
    sql_destroy(&b);
    if (rc) {
        return pool_error(db, rc, pool, "releasing in");
    }
    if (!changes) {
        LOG_RL(LOG_LEVEL_WARN, MOD, "%s: id %lld%s%s was not allocated",
               pool->table, (long long) id, pool->physnet ? " on " : "",
               pool->physnet ? pool->physnet : "");
    }
    return NULL;
}
