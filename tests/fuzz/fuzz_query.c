/* tests/fuzz/fuzz_query.c: query strings of list requests.
 *
 * The input is a raw query string (up to its first NUL): the server's
 * decoder api_parse_query(), then the list-query parser of every resource
 * (filters, fields, sort, paging, tags) under the default limits of
 * core/config.c, as admin and as a project, and the
 * conversion of each filter value to its attribute's type, as store_list()
 * does. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/request.h"
#include "api/resource_api.h"
#include "api/server.h"
#include "core/config.h"
#include "core/l3.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/util.h"
#include "flavors/flavors.h"
#include "l2/l2.h"
#include "tests/fuzz/fuzz.h"

static const struct resource_def *const defs[] = {
    &l2_network_def, &l2_subnet_def, &l2_port_def, &l2_segment_def,
    &l3_router_def, &l3_floatingip_def, &l3_flavor_def,
    &l3_service_profile_def,
};

static void
parse_for(struct api_request *req, const struct resource_def *def)
{
    for (int admin = 0; admin < 2; admin++) {
        req->auth.is_admin = admin;
        neutron_error_destroy(api_parse_list_query(req, def));
    }
    for (size_t i = 0; i < req->n_query; i++) {
        int idx = resource_attr_index(def, req->query[i].key);
        if (idx >= 0 && (def->attrs[idx].flags & AF_FILTER)) {
            struct value v = { 0 };
            neutron_error_destroy(resource_convert_text(
                &def->attrs[idx], req->query[i].value, &v));
            value_clear(&v);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_request req;
    char *raw = xstrndup((const char *) data, size);

    static struct config *cfg;      /* the defaults, kept for all runs */

    if (!cfg) {
        cfg = config_create();
    }
    memset(&req, 0, sizeof req);
    req.cfg = cfg;
    struct neutron_error *e = api_parse_query(&req, raw);
    if (!e) {
        for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
            parse_for(&req, defs[i]);
        }
    }
    neutron_error_destroy(e);
    for (size_t i = 0; i < req.n_query; i++) {
        free(req.query[i].key);
        free(req.query[i].value);
    }
    free(req.query);
    free(raw);
    return 0;
}
