/* core/l3_mech.c: the ML2 mechanism driver "opendaylight_v2", which
 * journals the network, subnet and port changes a flavor driver that
 * wants the "l2" member of its router documents (HADRON_L3_CAP_L2_DOCUMENT,
 * a controller such as backends/odl) must see, as networking-odl's
 * mechanism driver of that name does for OpenDaylight.
 *
 * Enabled with [ml2] mechanism_drivers = ...,opendaylight_v2.  Without it
 * such a driver learns the networks, subnets and ports of its routers
 * only from the router documents of its L3 entries (and a full sync).
 *
 * What is journaled, and for whom
 * -------------------------------
 * For every provider P whose driver wants the l2 member, a change (create,
 * update, delete) of
 *   - a network N, of a subnet of N, of a port on N, while N is "touched"
 *     by P: a router of P has an interface or its gateway on N (a
 *     routerports row of one of P's routers is on a port of N);
 *   - a port that is itself an interface or gateway port of a router of P
 *     (device_owner network:router_*, device_id a router of P, before or
 *     after the change), whatever the rest of N: that is the moment N
 *     becomes touched or untouched (its first or last such port), whose
 *     entry lets the driver send or remove the whole network;
 * becomes one journal row for P in the change's own transaction (precommit,
 * where networking-odl records its journal rows too); so does a router of
 * P moving to another flavor: a "network" "update" row for each network
 * it has a port on (l3_mech_router_moved__, from the router's
 * transaction), since the network may no longer be touched.  A row has
 * resource "network", "subnet" or "port", the change's operation, the
 * resource's id and revision_number, data {"id", "network_id"}, and the
 * network's id as the ordering key (the row's router_id), so that the
 * rows of one network are applied in commit order (network, subnet, port
 * on creates; the reverse on deletes, as the API allows them).  On
 * MariaDB a port change locks its network's row first, so that it and a
 * concurrent first interface on the network see each other in commit
 * order.  A network touched only by routers of other flavors never yields
 * a row for P; routers of other flavors and their ports never reach P's
 * driver.  Postcommit wakes the dispatchers.
 *
 * The driver gets, as each such entry's document, the network as it is
 * when the entry is applied (journal hook l2_document, core/l3_doc.c):
 * whether P still touches it, and then the network, all its subnets and
 * the ports P must see.  Order across networks and routers therefore does
 * not matter for the result: every entry converges its network to the
 * database's state. */
#include "core/l3.h"
#include "core/l3-internal.h"

#include <stdio.h>
#include <string.h>

#include "core/context.h"
#include "core/journal.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"
#include "l2/driver_api.h"
#include "l2/l2-internal.h"

#define MECH_NAME "opendaylight_v2"

static bool journaled;

bool
l3_l2_journaled__(void)
{
    return journaled;
}

/* Attribute 'name' of 'obj' as a string, or NULL. */
static const char *
attr(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;

    return idx >= 0 ? value_str(&obj->v[idx]) : NULL;
}

static int64_t
attr_int(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;

    return idx >= 0 && obj->v[idx].kind == VALUE_INT ? obj->v[idx].i : 0;
}

/* The provider of the router whose interface or gateway 'port' is
 * (device_owner network:router_*, device_id the router), or NULL: not
 * such a port, or no such router (any more) on this server. */
static struct neutron_error *
router_port_provider(struct db *db, const struct res_obj *port,
                     const struct l3_provider **out)
{
    const char *owner = attr(port, "device_owner");
    const char *device = attr(port, "device_id");

    *out = NULL;
    if (!owner || !device || !*device
        || !str_starts_with(owner, "network:router_")) {
        return NULL;
    }
    struct neutron_error *error = l3_router_provider__(db, device, out);
    if (error && (error->kind == NE_NOT_FOUND
                  || error->kind == NE_UNAVAILABLE)) {
        neutron_error_destroy(error);
        error = NULL;
    }
    return error;
}

static struct neutron_error *
journal_change(const struct l2_mech_context *mc, const char *kind)
{
    const struct res_obj *obj = mc->cur ? mc->cur : mc->orig;
    const char *id = attr(obj, "id");
    const char *network_id = !strcmp(kind, "network")
                             ? id : attr(obj, "network_id");
    static const char *const ops[] = { "create", "update", "delete" };
    struct neutron_error *error = NULL;
    struct db *db = mc->ctx->db;

    if (!id || !network_id) {
        return NULL;
    }
    bool any = false;
    for (size_t i = 0; i < l3_provider_count(); i++) {
        any |= (l3_provider_capabilities(l3_provider_at(i))
                & HADRON_L3_CAP_L2_DOCUMENT) != 0;
    }
    if (!any) {
        return NULL;
    }
    if (!strcmp(kind, "port") && db_engine(db) == DB_ENGINE_MARIADB) {
        /* A port and the first router interface on its network (itself a
         * port) serialize here, so that the later of the two sees the
         * other committed: a VM port is never missed by the entry that
         * makes its network touched.  (A subnet create holds the row
         * already, l2/subnet.c; SQLite writers are serialized.) */
        struct db_stmt *stmt = db_prepare(db, "SELECT id FROM networks "
                                          "WHERE id = ? FOR UPDATE");
        if (!stmt) {
            return store_db_error(db, DB_ERROR, "locking a network");
        }
        db_bind_text(stmt, 1, network_id);
        int rc = db_step(stmt);
        db_reset(stmt);
        if (rc != DB_ROW && rc != DB_DONE) {
            return store_db_error(db, rc, "locking a network");
        }
    }
    const struct l3_provider *cur_owner = NULL, *orig_owner = NULL;
    if (!strcmp(kind, "port")) {
        error = router_port_provider(db, mc->cur, &cur_owner);
        if (!error) {
            error = router_port_provider(db, mc->orig, &orig_owner);
        }
    }
    for (size_t i = 0; !error && i < l3_provider_count(); i++) {
        const struct l3_provider *p = l3_provider_at(i);
        const char *name = l3_provider_name(p);
        if (!(l3_provider_capabilities(p) & HADRON_L3_CAP_L2_DOCUMENT)) {
            continue;
        }
        bool wanted = false;
        error = l3_network_touched__(db, network_id, name, &wanted);
        wanted |= p == cur_owner || p == orig_owner;
        if (!wanted || error) {
            continue;
        }
        char *data = xasprintf("{\"id\": \"%s\", \"network_id\": \"%s\"}",
                               id, network_id);
        error = journal_record(mc->ctx, name, kind, ops[mc->op], id,
                               network_id, attr_int(obj, "revision_number"),
                               data);
        free(data);
    }
    return error;
}

static struct neutron_error *
network_precommit(const struct l2_mech_context *mc)
{
    return journal_change(mc, "network");
}

static struct neutron_error *
subnet_precommit(const struct l2_mech_context *mc)
{
    return journal_change(mc, "subnet");
}

static struct neutron_error *
port_precommit(const struct l2_mech_context *mc)
{
    return journal_change(mc, "port");
}

static struct neutron_error *
wake(const struct l2_mech_context *mc)
{
    (void) mc;
    journal_wake();
    return NULL;
}

struct neutron_error *
l3_mech_router_moved__(const struct op_ctx *ctx, const char *router_id,
                       const struct l3_provider *old)
{
    struct db *db = ctx->db;
    char **nets = NULL;
    size_t n = 0;
    int rc;

    if (!journaled || !old
        || !(l3_provider_capabilities(old) & HADRON_L3_CAP_L2_DOCUMENT)) {
        return NULL;
    }
    struct db_stmt *stmt = db_prepare(db, "SELECT DISTINCT p.network_id "
                                      "FROM routerports rp JOIN ports p "
                                      "ON p.id = rp.port_id "
                                      "WHERE rp.router_id = ?");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "journaling an L2 change");
    }
    db_bind_text(stmt, 1, router_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        nets = xrealloc(nets, (n + 1) * sizeof *nets);
        nets[n++] = xstrdup(db_col_text(stmt, 0));
    }
    db_reset(stmt);
    struct neutron_error *error = rc == DB_DONE
        ? NULL : store_db_error(db, rc, "journaling an L2 change");
    for (size_t i = 0; i < n; i++) {
        if (!error) {
            char *data = xasprintf("{\"id\": \"%s\", \"network_id\": "
                                   "\"%s\"}", nets[i], nets[i]);
            error = journal_record(ctx, l3_provider_name(old), "network",
                                   "update", nets[i], nets[i], 0, data);
            free(data);
        }
        free(nets[i]);
    }
    free(nets);
    return error;
}

static char *
mech_init(const struct config *cfg)
{
    (void) cfg;
    journaled = true;
    return NULL;
}

static const struct l2_mech_class l3_mech_odl = {
    .name = MECH_NAME,
    .init = mech_init,
    .network_precommit = network_precommit,
    .network_postcommit = wake,
    .subnet_precommit = subnet_precommit,
    .subnet_postcommit = wake,
    .port_precommit = port_precommit,
    .port_postcommit = wake,
};

void
l3_mech_register(void)
{
    l2_mech_register__(&l3_mech_odl);
}
