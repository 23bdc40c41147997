/* l2/type_local.c: the "local" network type (Neutron's LocalTypeDriver).
 *
 * A local segment connects what runs on one host only: it has neither a
 * physical network nor a segmentation id, takes nothing from the database
 * and sets no MTU of its own. */
#include "l2/l2-types.h"

#include <string.h>

#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/util.h"
#include "l2/driver_api.h"

static struct neutron_error *
local_validate(const struct l2_segment *seg)
{
    if (seg->physical_network[0]) {
        return resource_invalid_input("physical_network prohibited for local "
                                      "provider network");
    }
    if (seg->segmentation_id >= 0) {
        return resource_invalid_input("segmentation_id prohibited for local "
                                      "provider network");
    }
    return NULL;
}

static struct neutron_error *
local_allocate(const struct op_ctx *ctx, struct l2_segment *seg)
{
    (void) ctx;
    str_copy(seg->network_type, "local", sizeof seg->network_type);
    seg->physical_network[0] = '\0';
    seg->segmentation_id = -1;
    return NULL;
}

const struct l2_type_class l2_type_local = {
    .type = "local",
    .validate = local_validate,
    .allocate = local_allocate,
};
