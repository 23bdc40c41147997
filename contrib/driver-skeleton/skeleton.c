/* skeleton.c: a vendor L3 flavor driver for Hadron, to copy and fill in.
 *
 * Built as a shared object against flavors/driver.h alone (see Makefile
 * and README.md).  It compiles and loads as it is: every entry is
 * accepted and "realized" into a small in-memory table, the way a real
 * driver would call its backend.  Replace the backend_*() functions with
 * calls to yours, keep the rest.
 *
 * Options (section [skeleton], or [<provider name>] of the service_provider
 * line that loads it):
 *   endpoint = URL        where the backend listens (required to be
 *                         non-empty only if you make it so)
 *   timeout_ms = N        bound of every backend call (default 5000)
 *   debug = true|false    one line on stderr per entry (default false) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flavors/driver.h"

#define SKELETON_MAX_ITEMS 4096

/* What the backend holds, as this sketch models it: (resource, id) pairs.
 * A real driver keeps no such table; its backend is the state. */
struct item {
    char resource[32];
    char id[40];
    long long revision;
};

struct skeleton {
    char endpoint[256];
    long timeout_ms;
    int debug;
    struct item items[SKELETON_MAX_ITEMS];
    size_t n_items;
};

/* ---- The backend: replace these ---- */

static struct item *
backend_find(struct skeleton *s, const char *resource, const char *id)
{
    for (size_t i = 0; i < s->n_items; i++) {
        if (!strcmp(s->items[i].resource, resource)
            && !strcmp(s->items[i].id, id)) {
            return &s->items[i];
        }
    }
    return NULL;
}

/* Creates or updates (an "upsert", so that a repeated entry changes
 * nothing).  Returns 0, EAGAIN for a passing failure, or another errno. */
static int
backend_put(struct skeleton *s, const struct hadron_l3_entry *e)
{
    struct item *it = backend_find(s, e->resource, e->resource_id);

    if (!it) {
        if (s->n_items >= SKELETON_MAX_ITEMS) {
            return ENOSPC;
        }
        it = &s->items[s->n_items++];
        snprintf(it->resource, sizeof it->resource, "%s", e->resource);
        snprintf(it->id, sizeof it->id, "%s", e->resource_id);
    } else if (it->revision > e->revision) {
        return 0;               /* older than what the backend has */
    }
    it->revision = e->revision;
    return 0;
}

/* Deletes; deleting what is not there succeeds (idempotent). */
static int
backend_delete(struct skeleton *s, const struct hadron_l3_entry *e)
{
    struct item *it = backend_find(s, e->resource, e->resource_id);

    if (it) {
        *it = s->items[--s->n_items];
    }
    return 0;
}

/* ---- The driver ---- */

static void skeleton_destroy(void *state);

static int
skeleton_init(const struct hadron_l3_config *cfg, void **state, char *err,
              size_t err_size)
{
    struct skeleton *s = calloc(1, sizeof *s);

    if (!s) {
        return ENOMEM;
    }
    s->timeout_ms = 5000;
    for (size_t i = 0; i < cfg->n_options; i++) {
        const char *key = cfg->options[i].key;
        const char *value = cfg->options[i].value;
        if (!strcmp(key, "endpoint")) {
            snprintf(s->endpoint, sizeof s->endpoint, "%s", value);
        } else if (!strcmp(key, "timeout_ms")) {
            char *end;
            s->timeout_ms = strtol(value, &end, 10);
            if (*end || s->timeout_ms <= 0) {
                snprintf(err, err_size, "timeout_ms: '%s' is not a positive "
                         "number", value);
                skeleton_destroy(s);
                return EINVAL;
            }
        } else if (!strcmp(key, "debug")) {
            s->debug = !strcmp(value, "true");
        } else {
            /* Refuse what you do not know: a typo must not pass. */
            snprintf(err, err_size, "unknown option %s", key);
            skeleton_destroy(s);
            return EINVAL;
        }
    }
    *state = s;
    return 0;
}

static void
skeleton_destroy(void *state)
{
    free(state);
}

static unsigned int
skeleton_capabilities(void *state)
{
    /* Claim only what the backend really does: the API refuses the rest
     * with a 400 that names the flavor. */
    return HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY
           | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES;
}

static bool
skeleton_validate(void *state, const struct hadron_l3_entry *e, char *err,
                  size_t err_size)
{
    /* Runs inside the API request: no I/O here.  Refuse what the backend
     * would certainly refuse (the user gets a 400 with 'err'). */
    if (strlen(e->resource_id) >= sizeof ((struct item *) 0)->id) {
        snprintf(err, err_size, "identifier too long for this backend");
        return false;
    }
    return true;
}

static enum hadron_l3_result
skeleton_apply(void *state, const struct hadron_l3_entry *e, char *msg,
               size_t msg_size)
{
    struct skeleton *s = state;
    int error;

    if (s->debug) {
        fprintf(stderr, "skeleton: apply %lld %s %s %s\n",
                (long long) e->seq, e->resource, e->operation,
                e->resource_id);
    }
    if (!strcmp(e->operation, "delete")) {
        error = backend_delete(s, e);
    } else {
        /* "create" and "update" are both an upsert of e->data; a driver
         * that converges whole routers would use e->router instead. */
        error = backend_put(s, e);
    }
    if (error == EAGAIN || error == ETIMEDOUT) {
        snprintf(msg, msg_size, "backend busy: %s", strerror(error));
        return HADRON_L3_RETRY;
    }
    if (error) {
        snprintf(msg, msg_size, "backend refused %s %s: %s", e->resource,
                 e->resource_id, strerror(error));
        return HADRON_L3_FAILED;
    }
    return HADRON_L3_OK;
}

static enum hadron_l3_result
skeleton_sync_all(void *state, const char *const *routers, size_t n,
                  char *msg, size_t msg_size)
{
    struct skeleton *s = state;

    /* Make the backend hold exactly 'routers': here, forget everything
     * and let the core's entries rebuild it; a real driver reads each
     * document (see flavors/driver.h), creates what is missing and
     * deletes what is not in the list. */
    s->n_items = 0;
    if (s->debug) {
        fprintf(stderr, "skeleton: sync_all %zu routers\n", n);
    }
    return HADRON_L3_OK;
}

static bool
skeleton_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    /* Ask the backend if it is up and whether it restarted empty. */
    *lost_state = false;
    return true;
}

static const struct hadron_l3_driver_class skeleton_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "skeleton",
    .init = skeleton_init,
    .destroy = skeleton_destroy,
    .capabilities = skeleton_capabilities,
    .validate = skeleton_validate,
    .apply = skeleton_apply,
    .sync_all = skeleton_sync_all,
    .health = skeleton_health,
};

/* The one symbol Hadron looks for. */
const struct hadron_l3_driver_class *const hadron_l3_driver = &skeleton_class;
