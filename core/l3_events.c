/* core/l3_events.c: the L3 rules that the L2 core's events enforce.
 *
 * The L2 core publishes BEFORE_* events before any write of an operation
 * and PRECOMMIT_* ones inside its transaction after the writes
 * (core/events.h).  The L3 core subscribes:
 *   port     BEFORE_DELETE     a port L3 still uses (a router interface or
 *                              gateway, a floating IP's port) cannot be
 *                              deleted through the port API: 409
 *                              ServicePortInUse; a non-admin cannot
 *                              delete a port holding another project's
 *                              floating IP: 409 FipAssociated;
 *            BEFORE_UPDATE     nor re-owned (device_owner or device_id
 *                              changed): 409 ServicePortInUse;
 *            PRECOMMIT_UPDATE  a fixed IP change that drops the address a
 *                              floating IP points at: 400;
 *            PRECOMMIT_DELETE  the port's floating IPs are disassociated
 *                              in the same transaction, journaled for
 *                              their routers' drivers;
 *            AFTER_DELETE      wakes the journal;
 *   subnet   BEFORE_DELETE     used by a router interface: 409 SubnetInUse;
 *   network  BEFORE_DELETE     carrying router gateways or floating IPs:
 *                              409 NetworkInUse;
 *            BEFORE_UPDATE     clearing router:external while it carries
 *                              them: 409 ExternalNetworkInUse.
 * The in-use checks run at a priority below any clean-up subscriber, so a
 * refused operation leaves nothing half done.
 *
 * "Still uses" is what the L3 tables say (a routerports row, a router's
 * gw_port_id, a floating IP's floating_port_id), not the port's
 * device_owner alone: the L3 core itself deletes such ports through the
 * port API once it has dropped its own reference (Neutron passes
 * l3_port_check=False instead). */
#include "core/l3-internal.h"

#include <string.h>

#include "core/context.h"
#include "core/events.h"
#include "core/journal.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "db/db.h"

#define PRIORITY_CHECK 10       /* in-use checks, before any clean-up */
#define PRIORITY_CLEANUP 50

static const char *const router_owners[] = {
    "network:router_interface",
    "network:router_gateway",
    "network:floatingip",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
};

static const char *
obj_str(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;
    return idx >= 0 ? value_str(&obj->v[idx]) : NULL;
}

/* The text of a string or raw JSON attribute, or NULL. */
static const char *
obj_text(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;
    if (idx < 0) {
        return NULL;
    }
    const struct value *v = &obj->v[idx];
    return v->kind == VALUE_STRING || v->kind == VALUE_RAW ? v->s : NULL;
}

static bool
obj_bool(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;
    return idx >= 0 && obj->v[idx].kind == VALUE_BOOL && obj->v[idx].b;
}

static bool
same(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

static bool
is_router_owner(const char *owner)
{
    for (size_t i = 0; owner && i < sizeof router_owners
                                    / sizeof router_owners[0]; i++) {
        if (!strcmp(owner, router_owners[i])) {
            return true;
        }
    }
    return false;
}

/* Runs query 'b' and tells whether it returned a row. */
static struct neutron_error *
exists(struct db *db, struct sql_buf *b, const char *what, bool *found)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    sql_destroy(b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, what);
    }
    rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_error(db, rc, what);
    }
    *found = rc == DB_ROW;
    return NULL;
}

/* Whether the L3 tables still refer to port 'port_id'. */
static struct neutron_error *
port_used_by_l3(struct db *db, const char *port_id, bool *used)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM routerports WHERE port_id = ? "
            "UNION ALL SELECT 1 FROM routers WHERE gw_port_id = ? "
            "UNION ALL SELECT 1 FROM floatingips WHERE floating_port_id = ?");
    sql_param(&b, port_id);
    sql_param(&b, port_id);
    sql_param(&b, port_id);
    return exists(db, &b, "checking router ports", used);
}

/* ---- Ports ---- */

static struct neutron_error *
port_before_delete(const struct op_ctx *ctx, const struct event_payload *p,
                   void *aux)
{
    const char *id = obj_str(p->orig, "id");
    const char *owner = obj_str(p->orig, "device_owner");
    struct neutron_error *error = NULL;
    bool used = false;
    struct sql_buf b;

    (void) aux;
    if (!id) {
        return NULL;
    }
    if (is_router_owner(owner)) {
        error = port_used_by_l3(ctx->db, id, &used);
        if (!error && used) {
            return neutron_error_create(
                NE_CONFLICT, "ServicePortInUse", "Port %s cannot be deleted "
                "directly via the port API: has device owner %s.", id, owner);
        }
    }
    if (!error && !ctx->auth.is_admin) {
        /* Neutron's disassociate_floatingips(): a project may not undo an
         * association it cannot see (made by an admin for another
         * project). */
        sql_init(&b);
        sql_add(&b, "SELECT 1 FROM floatingips WHERE fixed_port_id = ? AND "
                "project_id <> ?");
        sql_param(&b, id);
        sql_param(&b, ctx->auth.project_id);
        error = exists(ctx->db, &b, "checking floating IPs", &used);
        if (!error && used) {
            error = neutron_error_create(
                NE_CONFLICT, "FipAssociated", "Unable to complete the "
                "operation on port \"%s\" because the port still has an "
                "associated floating IP.", id);
        }
    }
    return error;
}

static struct neutron_error *
port_before_update(const struct op_ctx *ctx, const struct event_payload *p,
                   void *aux)
{
    const char *id = obj_str(p->orig, "id");
    const char *owner = obj_str(p->orig, "device_owner");
    struct neutron_error *error;
    bool used = false;

    (void) aux;
    if (!id || !p->cur || !is_router_owner(owner)
        || (same(owner, obj_str(p->cur, "device_owner"))
            && same(obj_str(p->orig, "device_id"),
                    obj_str(p->cur, "device_id")))) {
        return NULL;
    }
    error = port_used_by_l3(ctx->db, id, &used);
    if (!error && used) {
        error = neutron_error_create(
            NE_CONFLICT, "ServicePortInUse", "Port %s cannot be updated "
            "directly via the port API: has device owner %s, its "
            "device_owner and device_id cannot change.", id, owner);
    }
    return error;
}

static struct neutron_error *
port_precommit_update(const struct op_ctx *ctx,
                      const struct event_payload *p, void *aux)
{
    const char *after = obj_text(p->cur, "fixed_ips");

    (void) aux;
    if (!p->orig || !p->cur || same(obj_text(p->orig, "fixed_ips"), after)) {
        return NULL;
    }
    return l3_fips_check_port_ips__(ctx->db, obj_str(p->cur, "id"),
                                    after ? after : "[]");
}

static struct neutron_error *
port_precommit_delete(const struct op_ctx *ctx,
                      const struct event_payload *p, void *aux)
{
    const char *id = obj_str(p->orig, "id");

    (void) aux;
    return id ? l3_fips_disassociate_port__(ctx, id) : NULL;
}

static struct neutron_error *
port_after_delete(const struct op_ctx *ctx, const struct event_payload *p,
                  void *aux)
{
    (void) ctx;
    (void) p;
    (void) aux;
    journal_wake();
    return NULL;
}

/* ---- Subnets ---- */

static struct neutron_error *
subnet_before_delete(const struct op_ctx *ctx, const struct event_payload *p,
                     void *aux)
{
    const char *id = obj_str(p->orig, "id");
    struct neutron_error *error;
    bool used = false;
    struct sql_buf b;

    (void) aux;
    if (!id) {
        return NULL;
    }
    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM ipallocations a JOIN routerports rp ON "
            "rp.port_id = a.port_id JOIN ports p ON p.id = a.port_id "
            "WHERE a.subnet_id = ? AND p.device_owner IN "
            "('network:router_interface', "
            "'network:router_interface_distributed', "
            "'network:ha_router_replicated_interface')");
    sql_param(&b, id);
    error = exists(ctx->db, &b, "checking router interfaces", &used);
    if (!error && used) {
        error = neutron_error_create(NE_CONFLICT, "SubnetInUse", "Unable to "
                                     "complete operation on subnet %s: One "
                                     "or more ports have an IP allocation "
                                     "from this subnet.", id);
    }
    return error;
}

/* ---- Networks ---- */

/* Whether network 'id' carries router gateways or floating IPs. */
static struct neutron_error *
network_l3_use(struct db *db, const char *id, bool *gateways, bool *fips)
{
    struct neutron_error *error;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM routers r JOIN ports p ON p.id = r.gw_port_id "
            "WHERE p.network_id = ? UNION ALL SELECT 1 FROM ports WHERE "
            "network_id = ? AND device_owner = 'network:router_gateway'");
    sql_param(&b, id);
    sql_param(&b, id);
    error = exists(db, &b, "checking router gateways", gateways);
    if (!error) {
        sql_init(&b);
        sql_add(&b, "SELECT 1 FROM floatingips WHERE floating_network_id = ?");
        sql_param(&b, id);
        error = exists(db, &b, "checking floating IPs", fips);
    }
    return error;
}

static struct neutron_error *
network_before_delete(const struct op_ctx *ctx,
                      const struct event_payload *p, void *aux)
{
    const char *id = obj_str(p->orig, "id");
    bool gateways = false, fips = false;
    struct neutron_error *error;

    (void) aux;
    if (!id) {
        return NULL;
    }
    error = network_l3_use(ctx->db, id, &gateways, &fips);
    if (!error && (gateways || fips)) {
        error = neutron_error_create(NE_CONFLICT, "NetworkInUse", "Unable to "
                                     "complete operation on network %s. "
                                     "There are one or more ports still in "
                                     "use on the network.", id);
    }
    return error;
}

static struct neutron_error *
network_before_update(const struct op_ctx *ctx,
                      const struct event_payload *p, void *aux)
{
    const char *id = obj_str(p->orig, "id");
    bool gateways = false, fips = false;
    struct neutron_error *error;

    (void) aux;
    if (!id || !p->cur || !obj_bool(p->orig, "router:external")
        || obj_bool(p->cur, "router:external")) {
        return NULL;
    }
    error = network_l3_use(ctx->db, id, &gateways, &fips);
    if (!error && (gateways || fips)) {
        error = neutron_error_create(
            NE_CONFLICT, "ExternalNetworkInUse", "External network %s cannot "
            "be updated to be made non-external, since it has existing %s.",
            id, gateways ? "gateway ports" : "floating IPs");
    }
    return error;
}

void
l3_events_subscribe__(void)
{
    events_subscribe(EV_PORT, EV_BEFORE_DELETE, PRIORITY_CHECK,
                     port_before_delete, NULL);
    events_subscribe(EV_PORT, EV_BEFORE_UPDATE, PRIORITY_CHECK,
                     port_before_update, NULL);
    events_subscribe(EV_PORT, EV_PRECOMMIT_UPDATE, PRIORITY_CHECK,
                     port_precommit_update, NULL);
    events_subscribe(EV_PORT, EV_PRECOMMIT_DELETE, PRIORITY_CLEANUP,
                     port_precommit_delete, NULL);
    events_subscribe(EV_PORT, EV_AFTER_DELETE, PRIORITY_CLEANUP,
                     port_after_delete, NULL);
    events_subscribe(EV_SUBNET, EV_BEFORE_DELETE, PRIORITY_CHECK,
                     subnet_before_delete, NULL);
    events_subscribe(EV_NETWORK, EV_BEFORE_DELETE, PRIORITY_CHECK,
                     network_before_delete, NULL);
    events_subscribe(EV_NETWORK, EV_BEFORE_UPDATE, PRIORITY_CHECK,
                     network_before_update, NULL);
}
