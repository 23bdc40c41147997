/* l2/type_flat.c: the "flat" network type (Neutron's FlatTypeDriver).
 *
 * A flat segment is a whole physical network, untagged: at most one per
 * physical network, which a row of ml2_flat_allocations (primary key
 * physical_network) holds while the segment exists.  Only provider
 * networks are flat; [ml2_type_flat] flat_networks names the physical
 * networks allowed ("*": any, empty: none). */
#include "l2/l2-types.h"

#include <stdbool.h>
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

static bool any_physnet;
static char **physnets;
static size_t n_physnets;

static char *
flat_init(const struct config *cfg)
{
    l2_free_list__(physnets, n_physnets);
    physnets = l2_split_list__(cfg->flat_networks, &n_physnets);
    any_physnet = false;
    for (size_t i = 0; i < n_physnets; i++) {
        if (!strcmp(physnets[i], "*")) {
            any_physnet = true;
        }
    }
    return NULL;
}

static struct neutron_error *
flat_validate(const struct l2_segment *seg)
{
    const char *physnet = seg->physical_network;
    bool known = any_physnet;

    if (!physnet[0]) {
        return resource_invalid_input("physical_network required for flat "
                                      "provider network");
    }
    if (!n_physnets) {
        return resource_invalid_input("Flat provider networks are disabled");
    }
    for (size_t i = 0; i < n_physnets && !known; i++) {
        known = !strcmp(physnets[i], physnet);
    }
    if (!known) {
        return resource_invalid_input("physical_network '%s' unknown for flat "
                                      "provider network", physnet);
    }
    if (seg->segmentation_id >= 0) {
        return resource_invalid_input("segmentation_id prohibited for flat "
                                      "provider network");
    }
    return NULL;
}

static struct neutron_error *
flat_reserve(const struct op_ctx *ctx, struct l2_segment *seg)
{
    struct sql_buf b;
    struct db_stmt *stmt;
    int rc = DB_ERROR;

    sql_init(&b);
    sql_add(&b, "INSERT INTO ml2_flat_allocations (physical_network) "
            "VALUES (?)");
    sql_param(&b, seg->physical_network);
    stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (stmt) {
        rc = db_step(stmt);
        db_reset(stmt);
    }
    if (rc == DB_CONSTRAINT) {
        return neutron_error_create(NE_CONFLICT, "FlatNetworkInUse",
                                    "Unable to create the flat network. "
                                    "Physical network %s is in use.",
                                    seg->physical_network);
    }
    if (rc != DB_DONE) {
        return store_db_error(ctx->db, rc, "reserving a flat network");
    }
    seg->segmentation_id = -1;
    return NULL;
}

static struct neutron_error *
flat_allocate(const struct op_ctx *ctx, struct l2_segment *seg)
{
    /* Tenant flat networks are not supported, as in Neutron. */
    (void) ctx;
    (void) seg;
    return l2_no_network_available__();
}

static struct neutron_error *
flat_release(const struct op_ctx *ctx, const struct l2_segment *seg)
{
    struct sql_buf b;
    struct db_stmt *stmt;
    int rc = DB_ERROR;

    sql_init(&b);
    sql_add(&b, "DELETE FROM ml2_flat_allocations WHERE physical_network = ?");
    sql_param(&b, seg->physical_network);
    stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (stmt) {
        rc = db_step(stmt);
        db_reset(stmt);
    }
    return rc == DB_DONE ? NULL
                         : store_db_error(ctx->db, rc,
                                          "releasing a flat network");
}

static int
flat_mtu(const struct l2_segment *seg)
{
    return l2_types_physnet_mtu__(seg->physical_network);
}

const struct l2_type_class l2_type_flat = {
    .type = "flat",
    .init = flat_init,
    .validate = flat_validate,
    .reserve = flat_reserve,
    .allocate = flat_allocate,
    .release = flat_release,
    .mtu = flat_mtu,
};
