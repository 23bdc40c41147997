/* l2/type_vlan.c: the "vlan" network type (Neutron's VlanTypeDriver).
 *
 * [ml2_type_vlan] network_vlan_ranges names the physical networks VLAN
 * segments may use and, for each, the VLAN ids tenant networks are given
 * ("physnet1:100:199"; a name alone: all of 1..4094).  Each physical
 * network is one allocation pool of ml2_vlan_allocations (see
 * l2-types.h); provider segments may take any id of 1..4094 on a
 * configured physical network. */
#include "l2/l2-types.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/driver_api.h"

#define VLAN_TABLE "ml2_vlan_allocations"

static struct l2_vlan_physnet *physnets;
static size_t n_physnets;
static const struct l2_ranges no_ranges;

static char *
vlan_init(const struct config *cfg)
{
    char *error;

    l2_vlan_physnets_destroy__(physnets, n_physnets);
    error = l2_vlan_ranges_parse__(cfg->network_vlan_ranges, &physnets,
                                   &n_physnets);
    if (error) {
        char *msg = xasprintf("[ml2_type_vlan] network_vlan_ranges: %s",
                              error);
        free(error);
        return msg;
    }
    return NULL;
}

static const struct l2_vlan_physnet *
find_physnet(const char *name)
{
    for (size_t i = 0; i < n_physnets; i++) {
        if (!strcmp(physnets[i].name, name)) {
            return &physnets[i];
        }
    }
    return NULL;
}

/* The pool of 'physnet' (with no ranges if it is not configured). */
static struct l2_pool
vlan_pool(const char *physnet)
{
    const struct l2_vlan_physnet *p = find_physnet(physnet);

    return (struct l2_pool) {
        .table = VLAN_TABLE,
        .id_column = "vlan_id",
        .physnet = physnet,
        .ranges = p ? &p->ranges : &no_ranges,
    };
}

static struct neutron_error *
vlan_sync(struct db *db)
{
    struct neutron_error *error = NULL;
    struct db_stmt *stmt;
    struct sql_buf b;
    int rc = DB_ERROR;

    /* Free rows of physical networks no longer configured go. */
    sql_init(&b);
    sql_add(&b, "DELETE FROM " VLAN_TABLE " WHERE allocated = 0");
    if (n_physnets) {
        sql_add(&b, " AND physical_network NOT IN (");
        for (size_t i = 0; i < n_physnets; i++) {
            sql_add(&b, i ? ", ?" : "?");
            sql_param(&b, physnets[i].name);
        }
        sql_in_pad(&b, n_physnets);
        sql_add(&b, ")");
    }
    stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (stmt) {
        rc = db_step(stmt);
        db_reset(stmt);
    }
    if (rc != DB_DONE) {
        return store_db_error(db, rc, "syncing " VLAN_TABLE);
    }
    for (size_t i = 0; i < n_physnets && !error; i++) {
        struct l2_pool pool = vlan_pool(physnets[i].name);
        error = l2_pool_sync__(db, &pool);
    }
    return error;
}

static struct neutron_error *
vlan_validate(const struct l2_segment *seg)
{
    if (seg->physical_network[0]) {
        if (!find_physnet(seg->physical_network)) {
            return resource_invalid_input("physical_network '%s' unknown for "
                                          "VLAN provider network",
                                          seg->physical_network);
        }
        if (seg->segmentation_id >= 0
            && (seg->segmentation_id < 1 || seg->segmentation_id > 4094)) {
            return resource_invalid_input("segmentation_id out of range (1 "
                                          "through 4094)");
        }
    } else if (seg->segmentation_id >= 0) {
        return resource_invalid_input("segmentation_id requires "
                                      "physical_network for VLAN provider "
                                      "network");
    }
    return NULL;
}

/* Allocates a free VLAN on 'physnet', or on the first configured physical
 * network with one when 'physnet' is "". */
static struct neutron_error *
vlan_allocate_on(const struct op_ctx *ctx, const char *physnet,
                 struct l2_segment *seg)
{
    for (size_t i = 0; i < n_physnets; i++) {
        if (physnet[0] && strcmp(physnet, physnets[i].name)) {
            continue;
        }
        struct l2_pool pool = vlan_pool(physnets[i].name);
        int64_t id;
        struct neutron_error *error = l2_pool_allocate__(ctx->db, &pool,
                                                         &id);
        if (error) {
            return error;
        }
        if (id >= 0) {
            str_copy(seg->network_type, "vlan", sizeof seg->network_type);
            str_copy(seg->physical_network, physnets[i].name,
                     sizeof seg->physical_network);
            seg->segmentation_id = id;
            return NULL;
        }
    }
    return l2_no_network_available__();
}

static struct neutron_error *
vlan_reserve(const struct op_ctx *ctx, struct l2_segment *seg)
{
    struct neutron_error *error;
    bool taken;

    if (seg->segmentation_id < 0) {
        return vlan_allocate_on(ctx, seg->physical_network, seg);
    }
    struct l2_pool pool = vlan_pool(seg->physical_network);
    error = l2_pool_reserve__(ctx->db, &pool, seg->segmentation_id, &taken);
    if (!error && taken) {
        error = neutron_error_create(NE_CONFLICT, "VlanIdInUse",
                                     "Unable to create the network. The "
                                     "VLAN %lld on physical network %s is "
                                     "in use.",
                                     (long long) seg->segmentation_id,
                                     seg->physical_network);
    }
    return error;
}

static struct neutron_error *
vlan_allocate(const struct op_ctx *ctx, struct l2_segment *seg)
{
    return vlan_allocate_on(ctx, "", seg);
}

static struct neutron_error *
vlan_release(const struct op_ctx *ctx, const struct l2_segment *seg)
{
    struct l2_pool pool = vlan_pool(seg->physical_network);

    return l2_pool_release__(ctx->db, &pool, seg->segmentation_id);
}

static int
vlan_mtu(const struct l2_segment *seg)
{
    return l2_types_physnet_mtu__(seg->physical_network);
}

const struct l2_type_class l2_type_vlan = {
    .type = "vlan",
    .init = vlan_init,
    .sync = vlan_sync,
    .validate = vlan_validate,
    .reserve = vlan_reserve,
    .allocate = vlan_allocate,
    .release = vlan_release,
    .mtu = vlan_mtu,
};
