/* tests/fuzz/fuzz_json.c: request bodies, as POST and PUT take them.
 *
 * The input is a JSON body: json_parse_limited() with the default depth and
 * element limits, then resource_validate() of its "<singular>" member (or
 * of each element of "<plural>", as a bulk create) against every resource
 * the API serves, for create and update, as admin and as a project. */
#include <stdbool.h>
#include <string.h>

#include "api/json.h"
#include "core/jsonv.h"
#include "core/l3.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "flavors/flavors.h"
#include "l2/l2.h"
#include "tests/fuzz/fuzz.h"

static const struct resource_def *const defs[] = {
    &l2_network_def, &l2_subnet_def, &l2_port_def, &l2_segment_def,
    &l3_router_def, &l3_floatingip_def, &l3_flavor_def,
    &l3_service_profile_def,
};

static void
validate(const struct resource_def *def, yajl_val given)
{
    for (int i = 0; i < 4; i++) {
        struct res_obj *obj = NULL;
        struct neutron_error *e = resource_validate(def, given, i & 1,
                                                    i & 2, &obj);
        neutron_error_destroy(e);
        if (obj) {
            res_obj_destroy(obj);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yajl_val body;
    struct neutron_error *e = json_parse_limited((const char *) data, size,
                                                 32, 100000, &body);
    if (e) {
        neutron_error_destroy(e);
        return 0;
    }
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
        yajl_val one = jsonv_member(body, defs[i]->singular);
        yajl_val many = jsonv_member(body, defs[i]->plural);
        if (one) {
            validate(defs[i], one);
        }
        if (YAJL_IS_ARRAY(many)) {
            for (size_t j = 0; j < many->u.array.len; j++) {
                validate(defs[i], many->u.array.values[j]);
            }
        }
        /* Bodies a fuzzer finds rarely name the resource: validate the
         * document itself too. */
        validate(defs[i], body);
    }
    yajl_tree_free(body);
    return 0;
}
