/* l2/type_tunnel.c: the tunnel network types "vxlan", "gre" and "geneve"
 * (Neutron's _TunnelTypeDriverBase and its three drivers).
 *
 * A tunnel segment has a segmentation id (VNI, GRE key) and no physical
 * network.  [ml2_type_vxlan] vni_ranges, [ml2_type_gre] tunnel_id_ranges
 * and [ml2_type_geneve] vni_ranges give the ids tenant networks are
 * allocated from, one allocation pool each (see l2-types.h: a range of
 * more than L2_POOL_PREFILL_MAX ids, such as a whole 24-bit VNI space, is
 * allocated lazily instead of being written out row by row).  The MTU is
 * the underlay's minus the outer IP header and the tunnel header: 30 bytes
 * for VXLAN, 22 for GRE, [ml2_type_geneve] max_header_size for Geneve. */
#include "l2/l2-types.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/util.h"
#include "l2/driver_api.h"

struct tunnel_type {
    const char *type;
    const char *table;
    const char *id_column;
    const char *option;             /* for messages */
    int64_t min_id, max_id;         /* valid segmentation ids */
    int overhead;                   /* tunnel header bytes */
    struct l2_ranges ranges;        /* configured */
};

static struct tunnel_type vxlan = {
    "vxlan", "ml2_vxlan_allocations", "vxlan_vni",
    "[ml2_type_vxlan] vni_ranges", 1, (1 << 24) - 1, 30, { NULL, 0 },
};

static struct tunnel_type gre = {
    "gre", "ml2_gre_allocations", "gre_id",
    "[ml2_type_gre] tunnel_id_ranges", 1, INT64_C(4294967295), 22,
    { NULL, 0 },
};

static struct tunnel_type geneve = {
    "geneve", "ml2_geneve_allocations", "geneve_vni",
    "[ml2_type_geneve] vni_ranges", 1, (1 << 24) - 1, 30, { NULL, 0 },
};

static struct l2_pool
tunnel_pool(const struct tunnel_type *t)
{
    return (struct l2_pool) {
        .table = t->table,
        .id_column = t->id_column,
        .physnet = NULL,
        .ranges = &t->ranges,
    };
}

static char *
tunnel_init(struct tunnel_type *t, const char *text)
{
    char *error;

    l2_ranges_destroy__(&t->ranges);
    error = l2_tunnel_ranges_parse__(text, t->type, t->min_id, t->max_id,
                                     &t->ranges);
    if (error) {
        char *msg = xasprintf("%s: %s", t->option, error);
        free(error);
        return msg;
    }
    return NULL;
}

static struct neutron_error *
tunnel_sync(struct tunnel_type *t, struct db *db)
{
    struct l2_pool pool = tunnel_pool(t);

    return l2_pool_sync__(db, &pool);
}

static struct neutron_error *
tunnel_validate(const struct tunnel_type *t, const struct l2_segment *seg)
{
    if (seg->physical_network[0]) {
        return resource_invalid_input("provider:physical_network specified "
                                      "for %s network", t->type);
    }
    if (seg->segmentation_id >= 0
        && (seg->segmentation_id < t->min_id
            || seg->segmentation_id > t->max_id)) {
        return resource_invalid_input("segmentation_id out of range (%lld "
                                      "through %lld)", (long long) t->min_id,
                                      (long long) t->max_id);
    }
    return NULL;
}

static struct neutron_error *
tunnel_allocate(const struct tunnel_type *t, const struct op_ctx *ctx,
                struct l2_segment *seg)
{
    struct l2_pool pool = tunnel_pool(t);
    int64_t id;
    struct neutron_error *error = l2_pool_allocate__(ctx->db, &pool, &id);

    if (error) {
        return error;
    }
    if (id < 0) {
        return l2_no_network_available__();
    }
    str_copy(seg->network_type, t->type, sizeof seg->network_type);
    seg->physical_network[0] = '\0';
    seg->segmentation_id = id;
    return NULL;
}

static struct neutron_error *
tunnel_reserve(const struct tunnel_type *t, const struct op_ctx *ctx,
               struct l2_segment *seg)
{
    struct l2_pool pool = tunnel_pool(t);
    struct neutron_error *error;
    bool taken;

    if (seg->segmentation_id < 0) {
        return tunnel_allocate(t, ctx, seg);
    }
    error = l2_pool_reserve__(ctx->db, &pool, seg->segmentation_id, &taken);
    if (!error && taken) {
        error = neutron_error_create(NE_CONFLICT, "TunnelIdInUse",
                                     "Unable to create the network. The "
                                     "tunnel ID %lld is in use.",
                                     (long long) seg->segmentation_id);
    }
    return error;
}

static struct neutron_error *
tunnel_release(const struct tunnel_type *t, const struct op_ctx *ctx,
               const struct l2_segment *seg)
{
    struct l2_pool pool = tunnel_pool(t);

    return l2_pool_release__(ctx->db, &pool, seg->segmentation_id);
}

/* The class of each tunnel type: thin functions that name their type. */
#define TUNNEL_CLASS(NAME, INIT_TEXT)                                       \
    static char *                                                           \
    NAME##_init(const struct config *cfg)                                   \
    {                                                                       \
        return tunnel_init(&NAME, INIT_TEXT);                               \
    }                                                                       \
    static struct neutron_error *                                           \
    NAME##_sync(struct db *db)                                              \
    {                                                                       \
        return tunnel_sync(&NAME, db);                                      \
    }                                                                       \
    static struct neutron_error *                                           \
    NAME##_validate(const struct l2_segment *seg)                           \
    {                                                                       \
        return tunnel_validate(&NAME, seg);                                 \
    }                                                                       \
    static struct neutron_error *                                           \
    NAME##_reserve(const struct op_ctx *ctx, struct l2_segment *seg)        \
    {                                                                       \
        return tunnel_reserve(&NAME, ctx, seg);                             \
    }                                                                       \
    static struct neutron_error *                                           \
    NAME##_allocate(const struct op_ctx *ctx, struct l2_segment *seg)       \
    {                                                                       \
        return tunnel_allocate(&NAME, ctx, seg);                            \
    }                                                                       \
    static struct neutron_error *                                           \
    NAME##_release(const struct op_ctx *ctx, const struct l2_segment *seg)  \
    {                                                                       \
        return tunnel_release(&NAME, ctx, seg);                             \
    }                                                                       \
    static int                                                              \
    NAME##_mtu(const struct l2_segment *seg)                                \
    {                                                                       \
        (void) seg;                                                         \
        return l2_types_tunnel_mtu__(NAME.overhead);                        \
    }                                                                       \
    const struct l2_type_class l2_type_##NAME = {                           \
        .type = #NAME,                                                      \
        .init = NAME##_init,                                                \
        .sync = NAME##_sync,                                                \
        .validate = NAME##_validate,                                        \
        .reserve = NAME##_reserve,                                          \
        .allocate = NAME##_allocate,                                        \
        .release = NAME##_release,                                          \
        .mtu = NAME##_mtu,                                                  \
    };

TUNNEL_CLASS(vxlan, cfg->vxlan_vni_ranges)
TUNNEL_CLASS(gre, cfg->gre_tunnel_id_ranges)
TUNNEL_CLASS(geneve, (geneve.overhead = cfg->geneve_max_header_size,
                      cfg->geneve_vni_ranges))
