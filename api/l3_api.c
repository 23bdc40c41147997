/* api/l3_api.c: the L3 core in the API: the routers and floatingips
 * resources, the router actions
 *   PUT /v2.0/routers/{id}/add_router_interface      {"subnet_id"} or
 *   PUT /v2.0/routers/{id}/remove_router_interface   {"port_id"}, not
 *                                                    wrapped -> 200 with
 *                                                    the interface info
 *   PUT /v2.0/routers/{id}/add_extraroutes           {"router": {"routes":
 *   PUT /v2.0/routers/{id}/remove_extraroutes         [...]}} -> 200 with
 *                                                    the router
 * and the extensions router, ext-gw-mode, extraroute, extraroute-atomic,
 * l3-flavors and fip-port-details. */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include "api/request.h"
#include "api/resource_api.h"
#include "core/context.h"
#include "core/l3.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"

/* Names and descriptions as Neutron's (neutron-lib's API definitions). */
static const struct api_extension l3_extensions[] = {
    { "router", "Neutron L3 Router",
      "Router abstraction for basic L3 forwarding between L2 Neutron "
      "networks and access to external networks via a NAT gateway.",
      "2012-07-20T10:00:00-00:00" },
    { "ext-gw-mode", "Neutron L3 Configurable external gateway mode",
      "Extension of the router abstraction for specifying whether SNAT "
      "should occur on the external gateway", "2013-03-28T10:00:00-00:00" },
    { "extraroute", "Neutron Extra Route",
      "Extra routes configuration for L3 router",
      "2013-02-01T10:00:00-00:00" },
    { "extraroute-atomic", "Atomically add/remove extra routes",
      "Edit extra routes of a router on server side by atomically "
      "adding/removing extra routes", "2019-07-10T00:00:00+00:00" },
    { "l3-flavors", "Router Flavor Extension", "Flavor support for routers.",
      "2016-05-17T00:00:00-00:00" },
    { "fip-port-details", "Floating IP Port Details Extension",
      "Add port_details attribute to Floating IP resource",
      "2018-04-09T10:00:00-00:00" },
};

/* One router action: the core's action function. */
struct router_action {
    struct neutron_error *(*fn)(const struct op_ctx *, const char *router_id,
                                yajl_val body, char **answer);
    const char *name;           /* policy rule, e.g. "add_router_interface" */
};

struct reader_args {
    const char *id;
    struct res_obj **router;
};

static struct neutron_error *
load_router_txn(const struct op_ctx *ctx, void *args_)
{
    struct reader_args *a = args_;

    return store_get(ctx->db, &l3_router_def, ctx, a->id, a->router);
}

static const struct router_action add_interface = {
    l3_router_add_interface, "add_router_interface"
};
static const struct router_action remove_interface = {
    l3_router_remove_interface, "remove_router_interface"
};
static const struct router_action add_extraroutes = {
    l3_router_add_extraroutes, "add_extraroutes"
};
static const struct router_action remove_extraroutes = {
    l3_router_remove_extraroutes, "remove_extraroutes"
};

static struct neutron_error *
router_action(struct api_request *req, const void *aux)
{
    const struct router_action *action = aux;
    struct neutron_error *error;
    struct op_ctx ctx;
    char *answer = NULL;

    memset(&ctx, 0, sizeof ctx);
    ctx.auth = req->auth;
    ctx.db = req->db;
    ctx.cfg = req->cfg;
    ctx.request_id = req->request_id;
    if (!ctx.auth.has_member_role) {
        /* A reader: 404 for a router it cannot see, else 403. */
        struct res_obj *router = NULL;
        struct reader_args ra = { req->path_params[0], &router };
        error = txn_run(&ctx, false, load_router_txn, &ra);
        res_obj_destroy(router);
        return error ? error : neutron_error_create(
            NE_FORBIDDEN, "PolicyNotAuthorized",
            "(rule:%s) is disallowed by policy", action->name);
    }
    error = action->fn(&ctx, req->path_params[0], req->body, &answer);
    if (!error) {
        /* The core answers JSON text; yajl writes a "number" verbatim. */
        yajl_gen_number(req->out, answer, strlen(answer));
    }
    free(answer);
    return error;
}

static const struct api_route l3_routes[] = {
    { "/v2.0/routers/{}/add_router_interface", API_PUT, router_action,
      &add_interface },
    { "/v2.0/routers/{}/remove_router_interface", API_PUT, router_action,
      &remove_interface },
    { "/v2.0/routers/{}/add_extraroutes", API_PUT, router_action,
      &add_extraroutes },
    { "/v2.0/routers/{}/remove_extraroutes", API_PUT, router_action,
      &remove_extraroutes },
};

void
api_l3_register(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    api_routes_register(l3_routes, ARRAY_SIZE(l3_routes));
    api_resource_register(&l3_router_def);
    api_resource_register(&l3_floatingip_def);
    api_extensions_register(l3_extensions, ARRAY_SIZE(l3_extensions));
}
