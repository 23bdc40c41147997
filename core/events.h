/* core/events.h: cross-plugin events (Neutron's callback registry).
 *
 * A service publishes (resource, event) at fixed points of its operations;
 * subscribers registered at start run in priority order (lower first).
 *   BEFORE_*     before the transaction's writes; an error aborts the
 *                operation and is returned to the caller.
 *   PRECOMMIT_*  inside the transaction after the writes; an error rolls it
 *                back and is returned.
 *   AFTER_*      after the commit; errors are logged, never returned.
 * In-use checks belong in BEFORE_DELETE at a priority below any subscriber
 * that cleans up, so a refused delete leaves nothing half done.  The
 * registry is filled at start and read-only afterwards. */
#ifndef HADRON_EVENTS_H
#define HADRON_EVENTS_H 1

struct neutron_error;
struct op_ctx;
struct res_obj;

enum event_resource {
    EV_NETWORK,
    EV_SUBNET,
    EV_PORT,
    EV_SEGMENT,
    EV_ROUTER,
    EV_FLOATINGIP,
    EV_N_RESOURCES
};

enum event_type {
    EV_BEFORE_CREATE, EV_PRECOMMIT_CREATE, EV_AFTER_CREATE,
    EV_BEFORE_UPDATE, EV_PRECOMMIT_UPDATE, EV_AFTER_UPDATE,
    EV_BEFORE_DELETE, EV_PRECOMMIT_DELETE, EV_AFTER_DELETE,
    EV_N_TYPES
};

/* What a subscriber receives.  'cur' is the resource as it is (or will be)
 * after the operation, 'orig' as it was before (update, delete); either
 * may be NULL where it does not exist. */
struct event_payload {
    enum event_resource resource;
    enum event_type type;
    const struct res_obj *cur;
    const struct res_obj *orig;
};

typedef struct neutron_error *event_fn(const struct op_ctx *,
                                       const struct event_payload *,
                                       void *aux);

/* Registers 'fn' for (resource, type) at 'priority'.  Start-up only. */
void events_subscribe(enum event_resource, enum event_type, int priority,
                      event_fn *fn, void *aux);

/* Calls the subscribers in order.  For BEFORE_ and PRECOMMIT_ events
 * stops at and returns the first error; for AFTER_ events logs errors and
 * returns NULL. */
struct neutron_error *events_publish(const struct op_ctx *,
                                     enum event_resource, enum event_type,
                                     const struct res_obj *cur,
                                     const struct res_obj *orig);

/* Forgets every subscriber (tests). */
void events_clear(void);

#endif /* core/events.h */
