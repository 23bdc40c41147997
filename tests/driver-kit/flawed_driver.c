/* tests/driver-kit/flawed_driver.c: a vendor-style driver (a shared object
 * built against flavors/driver.h alone) with one deliberate flaw, chosen
 * by its option 'flaw', for checking that the driver kit catches it:
 *   flaw = none              conforms (the kit must pass it)
 *   flaw = not_idempotent    a second apply() of an entry changes state
 *   flaw = forgets_on_sync   sync_all() drops the interfaces
 *   flaw = ignores_delete    delete entries are answered OK, not done
 * It exports the kit's optional hadron_l3_kit_dump/has. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flavors/driver.h"

#define MAX_ITEMS 256

struct item {
    char resource[32];
    char router_id[64];
    char id[64];
};

struct flawed {
    char flaw[32];
    struct item items[MAX_ITEMS];
    int n_items;
    long applies;
};

static int
find(const struct flawed *f, const char *resource, const char *router_id,
     const char *id)
{
    for (int i = 0; i < f->n_items; i++) {
        if (!strcmp(f->items[i].resource, resource)
            && (!router_id || !strcmp(f->items[i].router_id, router_id))
            && !strcmp(f->items[i].id, id)) {
            return i;
        }
    }
    return -1;
}

static void
put(struct flawed *f, const char *resource, const char *router_id,
    const char *id)
{
    if (find(f, resource, router_id, id) < 0 && f->n_items < MAX_ITEMS) {
        struct item *it = &f->items[f->n_items++];
        snprintf(it->resource, sizeof it->resource, "%s", resource);
        snprintf(it->router_id, sizeof it->router_id, "%s", router_id);
        snprintf(it->id, sizeof it->id, "%s", id);
    }
}

static void
drop(struct flawed *f, const char *resource, const char *router_id,
     const char *id)
{
    for (int i = f->n_items - 1; i >= 0; i--) {
        const struct item *it = &f->items[i];
        bool under_router = !strcmp(resource, "router")
                            && !strcmp(it->router_id, id);
        if (under_router || (!strcmp(it->resource, resource)
                             && !strcmp(it->router_id, router_id)
                             && !strcmp(it->id, id))) {
            f->items[i] = f->items[--f->n_items];
        }
    }
}

static int
flawed_init(const struct hadron_l3_config *cfg, void **state, char *err,
            size_t err_size)
{
    struct flawed *f = calloc(1, sizeof *f);

    if (!f) {
        return 12;
    }
    snprintf(f->flaw, sizeof f->flaw, "none");
    for (size_t i = 0; i < cfg->n_options; i++) {
        if (!strcmp(cfg->options[i].key, "flaw")) {
            snprintf(f->flaw, sizeof f->flaw, "%s", cfg->options[i].value);
        }
    }
    *state = f;
    return 0;
}

static void
flawed_destroy(void *state)
{
    free(state);
}

static unsigned int
flawed_capabilities(void *state)
{
    return HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY
           | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES;
}

static enum hadron_l3_result
flawed_apply(void *state, const struct hadron_l3_entry *e, char *msg,
             size_t msg_size)
{
    struct flawed *f = state;

    f->applies++;
    if (!strcmp(e->operation, "delete")) {
        if (strcmp(f->flaw, "ignores_delete")) {
            drop(f, e->resource, e->router_id, e->resource_id);
        }
    } else {
        put(f, e->resource, e->router_id, e->resource_id);
    }
    return HADRON_L3_OK;
}

/* Holds the routers of the documents, with their interfaces and floating
 * IPs (found by a crude scan: enough for the kit's documents). */
static enum hadron_l3_result
flawed_sync_all(void *state, const char *const *routers, size_t n,
                char *msg, size_t msg_size)
{
    struct flawed *f = state;

    f->n_items = 0;
    for (size_t i = 0; i < n; i++) {
        char rid[37];
        const char *p = strstr(routers[i], "\"id\":\"");
        if (!p) {
            snprintf(msg, msg_size, "no id");
            return HADRON_L3_FAILED;
        }
        snprintf(rid, sizeof rid, "%.36s", p + 6);
        put(f, "router", rid, rid);
        for (p = routers[i]; (p = strstr(p, "\"port_id\":\"")); p++) {
            char id[37];
            const char *fips = strstr(routers[i], "\"floatingips\"");
            snprintf(id, sizeof id, "%.36s", p + 11);
            if (fips && p < fips && strcmp(f->flaw, "forgets_on_sync")) {
                put(f, "router_interface", rid, id);
            }
        }
        const char *fips = strstr(routers[i], "\"floatingips\"");
        for (p = fips; p && (p = strstr(p, "{\"id\":\"")); p++) {
            char id[37];
            snprintf(id, sizeof id, "%.36s", p + 7);
            put(f, "floatingip", rid, id);
        }
    }
    return HADRON_L3_OK;
}

static const struct hadron_l3_driver_class flawed_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "flawed",
    .init = flawed_init,
    .destroy = flawed_destroy,
    .capabilities = flawed_capabilities,
    .apply = flawed_apply,
    .sync_all = flawed_sync_all,
};

const struct hadron_l3_driver_class *hadron_l3_driver = &flawed_class;

char *hadron_l3_kit_dump(void *state);
bool hadron_l3_kit_has(void *state, const char *resource,
                       const char *router_id, const char *id);

char *
hadron_l3_kit_dump(void *state)
{
    struct flawed *f = state;
    size_t size = 64 + (size_t) f->n_items * 200;
    char *text = malloc(size);
    size_t len;

    if (!text) {
        abort();
    }
    len = snprintf(text, size, "%ld:", !strcmp(f->flaw, "not_idempotent")
                                       ? f->applies : 0L);
    /* Order-independent enough for the kit: a count and a checksum. */
    unsigned long sum = 0;
    for (int i = 0; i < f->n_items; i++) {
        for (const char *p = f->items[i].id; *p; p++) {
            sum += (unsigned char) *p * (i + 1);
        }
    }
    snprintf(text + len, size - len, "%d:%lu", f->n_items, sum);
    return text;
}

bool
hadron_l3_kit_has(void *state, const char *resource, const char *router_id,
                  const char *id)
{
    return find(state, resource, router_id, id) >= 0;
}
