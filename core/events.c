/* core/events.c: see events.h. */
#include "core/events.h"

#include <string.h>

#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"

struct subscriber {
    int priority;
    event_fn *fn;
    void *aux;
};

struct subscriber_list {
    struct subscriber *subs;
    size_t n;
};

static struct subscriber_list registry[EV_N_RESOURCES][EV_N_TYPES];

void
events_subscribe(enum event_resource res, enum event_type type, int priority,
                 event_fn *fn, void *aux)
{
    struct subscriber_list *r = &registry[res][type];
    size_t i;

    r->subs = xrealloc(r->subs, (r->n + 1) * sizeof *r->subs);
    for (i = r->n; i > 0 && r->subs[i - 1].priority > priority; i--) {
        r->subs[i] = r->subs[i - 1];
    }
    r->subs[i] = (struct subscriber) { priority, fn, aux };
    r->n++;
}

struct neutron_error *
events_publish(const struct op_ctx *ctx, enum event_resource res,
               enum event_type type, const struct res_obj *cur,
               const struct res_obj *orig)
{
    const struct subscriber_list *r = &registry[res][type];
    struct event_payload p = { res, type, cur, orig };
    bool after = type == EV_AFTER_CREATE || type == EV_AFTER_UPDATE
                 || type == EV_AFTER_DELETE;

    for (size_t i = 0; i < r->n; i++) {
        struct neutron_error *error = r->subs[i].fn(ctx, &p, r->subs[i].aux);
        if (!error) {
            continue;
        }
        if (!after || neutron_error_is_retry(error)) {
            return error;
        }
        LOG_RL(LOG_LEVEL_WARN, "events", "%s: subscriber of event %d/%d "
               "failed: %s", ctx->request_id ? ctx->request_id : "-",
               (int) res, (int) type, error->message);
        neutron_error_destroy(error);
    }
    return NULL;
}

void
events_clear(void)
{
    for (int i = 0; i < EV_N_RESOURCES; i++) {
        for (int j = 0; j < EV_N_TYPES; j++) {
            free(registry[i][j].subs);
            registry[i][j].subs = NULL;
            registry[i][j].n = 0;
        }
    }
}
