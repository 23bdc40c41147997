/* l2/mech.c: the mechanism driver manager (ML2's MechanismManager).
 *
 * A registry of driver classes (the built-ins, plus any a test adds) and
 * the ordered list that [ml2] mechanism_drivers loads from it.  Only the
 * wrappers here call driver ops: they pick the op for the resource kind,
 * skip NULL ops, keep the configured order (reverse for deletes) and apply
 * ML2's error rules:
 *   precommit            the first error stops the walk and is returned
 *                        (the caller's transaction rolls back);
 *   postcommit, create   the first error stops the walk and is returned
 *                        (the caller undoes the create);
 *   postcommit, update   every driver runs; errors are logged and dropped
 *   and delete           (the change is committed and cannot be refused).
 * The registry and the loaded list are written at start-up only and read
 * by every worker thread afterwards without locks.  Drivers of other
 * modules register before l2_init() (the L3 core's "opendaylight_v2",
 * core/l3_mech.c, through l3_mech_register()). */
#include "l2/l2-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"

#define MAX_MECH_DRIVERS 32

static const struct l2_mech_class *registry[MAX_MECH_DRIVERS] = {
    &l2_mech_logger__,
    &l2_mech_linuxbridge__,
};
static size_t n_registry = 2;

/* The drivers [ml2] mechanism_drivers names, in its order. */
static const struct l2_mech_class *loaded[MAX_MECH_DRIVERS];
static size_t n_loaded;

static const struct l2_mech_class *
find_registered(const char *name, size_t len)
{
    for (size_t i = 0; i < n_registry; i++) {
        if (strlen(registry[i]->name) == len
            && !strncmp(registry[i]->name, name, len)) {
            return registry[i];
        }
    }
    return NULL;
}

int
l2_mech_register__(const struct l2_mech_class *class)
{
    if (find_registered(class->name, strlen(class->name))) {
        return EEXIST;
    }
    if (n_registry >= MAX_MECH_DRIVERS) {
        return ENOSPC;
    }
    registry[n_registry++] = class;
    return 0;
}

char *
l2_mech_init__(const struct config *cfg)
{
    const char *list = cfg->ml2_mechanism_drivers ? cfg->ml2_mechanism_drivers
                                                  : "";
    const struct l2_mech_class *order[MAX_MECH_DRIVERS];
    size_t n = 0;
    char names[512] = "";
    size_t names_len = 0;

    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (!len) {
            continue;
        }
        const struct l2_mech_class *class = find_registered(p, len);
        if (!class) {
            return xasprintf("[ml2] mechanism_drivers: unknown mechanism "
                             "driver '%.*s'", (int) len, p);
        }
        for (size_t i = 0; i < n; i++) {
            if (order[i] == class) {
                return xasprintf("[ml2] mechanism_drivers: '%s' is listed "
                                 "twice", class->name);
            }
        }
        if (n >= MAX_MECH_DRIVERS) {
            return xstrdup("[ml2] mechanism_drivers: too many drivers");
        }
        order[n++] = class;
        if (names_len < sizeof names) {
            names_len += snprintf(names + names_len, sizeof names - names_len,
                                  "%s%s", n > 1 ? ", " : "", class->name);
        }
        p += strcspn(p, ",");
    }
    for (size_t i = 0; i < n; i++) {
        if (order[i]->init) {
            char *error = order[i]->init(cfg);
            if (error) {
                char *msg = xasprintf("mechanism driver '%s': %s",
                                      order[i]->name, error);
                free(error);
                return msg;
            }
        }
    }
    memcpy(loaded, order, n * sizeof *order);
    n_loaded = n;
    LOG_INFO("l2", "mechanism drivers: %s", n ? names : "(none)");
    return NULL;
}

typedef struct neutron_error *mech_op(const struct l2_mech_context *);

/* The precommit or postcommit op of 'class' for 'kind', or NULL. */
static mech_op *
op_for(const struct l2_mech_class *class, const char *kind, bool postcommit)
{
    if (!strcmp(kind, "network")) {
        return postcommit ? class->network_postcommit
                          : class->network_precommit;
    } else if (!strcmp(kind, "subnet")) {
        return postcommit ? class->subnet_postcommit
                          : class->subnet_precommit;
    } else if (!strcmp(kind, "port")) {
        return postcommit ? class->port_postcommit : class->port_precommit;
    }
    return NULL;
}

static const char *
op_name(enum l2_mech_op op)
{
    return op == L2_MECH_CREATE ? "create"
           : op == L2_MECH_UPDATE ? "update" : "delete";
}

bool
l2_mech_has_ops__(const char *kind, bool postcommit)
{
    for (size_t i = 0; i < n_loaded; i++) {
        if (op_for(loaded[i], kind, postcommit)) {
            return true;
        }
    }
    return false;
}

/* Calls the op of every loaded driver for 'kind' in order (reverse for a
 * delete).  With 'stop_on_error', returns the first error; otherwise logs
 * each error and returns NULL. */
static struct neutron_error *
call_drivers(const char *kind, bool postcommit,
             const struct l2_mech_context *mc, bool stop_on_error)
{
    bool reverse = mc->op == L2_MECH_DELETE;

    for (size_t k = 0; k < n_loaded; k++) {
        const struct l2_mech_class *class
            = loaded[reverse ? n_loaded - 1 - k : k];
        mech_op *op = op_for(class, kind, postcommit);
        if (!op) {
            continue;
        }
        struct neutron_error *error = op(mc);
        if (!error) {
            continue;
        }
        if (stop_on_error) {
            return error;
        }
        LOG_RL(LOG_LEVEL_WARN, "l2", "%s: mechanism driver '%s' failed in "
               "%s_%s_%s: %s", mc->ctx && mc->ctx->request_id
               ? mc->ctx->request_id : "-", class->name, op_name(mc->op),
               kind, postcommit ? "postcommit" : "precommit", error->message);
        neutron_error_destroy(error);
    }
    return NULL;
}

struct neutron_error *
l2_mech_precommit__(const char *kind, const struct l2_mech_context *mc)
{
    return call_drivers(kind, false, mc, true);
}

struct neutron_error *
l2_mech_postcommit__(const char *kind, const struct l2_mech_context *mc)
{
    return call_drivers(kind, true, mc, mc->op == L2_MECH_CREATE);
}

bool
l2_mech_bind_port__(const struct l2_mech_context *mc, const char *host,
                    const char *vnic_type, struct l2_binding *out,
                    const char **driver)
{
    for (size_t i = 0; i < n_loaded; i++) {
        const struct l2_mech_class *class = loaded[i];
        struct l2_binding b;

        if (!class->bind_port) {
            continue;
        }
        memset(&b, 0, sizeof b);
        if (class->bind_port(mc, host, vnic_type, &b)) {
            if (b.segment < 0 || (size_t) b.segment >= mc->n_segments) {
                LOG_RL(LOG_LEVEL_WARN, "l2", "mechanism driver '%s' bound "
                       "to segment %d of %zu: ignored", class->name,
                       b.segment, mc->n_segments);
                free(b.vif_details);
                continue;
            }
            *out = b;
            if (driver) {
                *driver = class->name;
            }
            return true;
        }
        free(b.vif_details);
    }
    return false;
}
