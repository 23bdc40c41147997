/* l2/l2.c: start-up of the L2 core: drivers and allocation tables. */
#include "l2/l2.h"

#include <stdbool.h>

#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/txn.h"
#include "core/util.h"
#include "l2/l2-internal.h"

char *
l2_init(const struct config *cfg)
{
    char *error = l2_types_init__(cfg);

    if (!error) {
        error = l2_mech_init__(cfg);
    }
    return error;
}

static struct neutron_error *
sync_in_txn(const struct op_ctx *ctx, void *arg)
{
    return l2_types_sync__(ctx->db);
}

char *
l2_sync_allocations(struct db *db, const struct config *cfg)
{
    struct op_ctx ctx = { .db = db, .cfg = cfg, .request_id = "start" };
    struct neutron_error *error;

    ctx.auth.is_admin = true;
    error = txn_run(&ctx, true, sync_in_txn, NULL);
    if (error) {
        char *msg = xasprintf("segment allocations: %s", error->message);
        neutron_error_destroy(error);
        return msg;
    }
    return NULL;
}
