/* api/flavors_api.c: the flavor framework in the API: the flavors and
 * service_profiles resources, their association
 *   POST   /v2.0/flavors/{id}/service_profiles   {"service_profile":
 *                                                  {"id": ...}}  -> 201
 *   DELETE /v2.0/flavors/{id}/service_profiles/{profile_id}      -> 204
 * the configured providers
 *   GET    /v2.0/service-providers    [{"service_type", "name", "default"}]
 * and the extensions "flavors" and "service-type". */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "api/json.h"
#include "core/jsonv.h"
#include "api/request.h"
#include "api/resource_api.h"
#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/util.h"
#include "flavors/flavors.h"
#include "flavors/registry.h"

static const struct api_extension flavor_extensions[] = {
    { "flavors", "Neutron Service Flavors",
      "Flavor specification for Neutron advanced services.",
      "2015-09-17T10:00:00-00:00" },
    { "service-type", "Neutron Service Type Management",
      "API for retrieving service providers for Neutron advanced services",
      "2013-01-20T00:00:00-00:00" },
};

/* The body of an association: {"service_profile": {"id": ...}}, validated
 * like a resource (not registered as one). */
static const struct attr_def binding_attrs[] = {
    { "id", AT_UUID, AF_POST | AF_REQUIRED, NULL, NULL, 0, 0, NULL },
    { "project_id", AT_STRING, AF_POST | AF_PROJECT, NULL, NULL, 0, 255,
      NULL },
    { "tenant_id", AT_STRING, AF_POST | AF_PROJECT, NULL, NULL, 0, 255,
      NULL },
};

static const struct resource_def binding_def = {
    .singular = "service_profile",
    .plural = "service_profiles",
    .display = "Service Profile",
    .attrs = binding_attrs,
    .n_attrs = ARRAY_SIZE(binding_attrs),
};

static void
ctx_from_request(struct op_ctx *ctx, const struct api_request *req)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->auth = req->auth;
    ctx->db = req->db;
    ctx->cfg = req->cfg;
    ctx->request_id = req->request_id;
}

static struct neutron_error *
associate(struct api_request *req, const void *aux)
{
    struct res_obj *body = NULL;
    struct neutron_error *error;
    struct op_ctx ctx;

    ctx_from_request(&ctx, req);
    yajl_val given = jsonv_member(req->body, "service_profile");
    if (!given) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Unable to find 'service_profile' in "
                                    "request body");
    }
    error = resource_validate(&binding_def, given, true, ctx.auth.is_admin,
                              &body);
    if (error) {
        return error;
    }
    const char *profile_id = value_str(&body->v[0]);
    error = flavors_bind_profile(&ctx, req->path_params[0], profile_id);
    if (!error) {
        req->status = 201;
        yajl_gen_map_open(req->out);
        json_key(req->out, "service_profile");
        yajl_gen_map_open(req->out);
        json_kv_str(req->out, "id", profile_id);
        yajl_gen_map_close(req->out);
        yajl_gen_map_close(req->out);
    }
    res_obj_destroy(body);
    return error;
}

static struct neutron_error *
dissociate(struct api_request *req, const void *aux)
{
    struct neutron_error *error;
    struct op_ctx ctx;

    ctx_from_request(&ctx, req);
    error = flavors_unbind_profile(&ctx, req->path_params[0],
                                   req->path_params[1]);
    if (!error) {
        req->status = 204;
    }
    return error;
}

/* GET /v2.0/service-providers: every configured provider.  Filters on
 * service_type, name and default; 'fields' selects attributes. */
static bool
wanted(const struct api_request *req, const char *field)
{
    bool any = false;

    for (size_t i = 0; i < req->n_query; i++) {
        if (!strcmp(req->query[i].key, "fields")) {
            any = true;
            if (!strcmp(req->query[i].value, field)) {
                return true;
            }
        }
    }
    return !any;
}

static bool
matches(const struct api_request *req, const char *key, const char *value)
{
    bool any = false;

    for (size_t i = 0; i < req->n_query; i++) {
        if (!strcmp(req->query[i].key, key)) {
            any = true;
            if (!strcasecmp(req->query[i].value, value)) {
                return true;
            }
        }
    }
    return !any;
}

static struct neutron_error *
list_service_providers(struct api_request *req, const void *aux)
{
    yajl_gen g = req->out;

    yajl_gen_map_open(g);
    json_key(g, "service_providers");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < l3_provider_count(); i++) {
        const struct l3_provider *p = l3_provider_at(i);
        bool is_default = l3_provider_is_default(p);
        if (!matches(req, "service_type", FLAVORS_SERVICE_TYPE)
            || !matches(req, "name", l3_provider_name(p))
            || !matches(req, "default", is_default ? "true" : "false")) {
            continue;
        }
        yajl_gen_map_open(g);
        if (wanted(req, "service_type")) {
            json_kv_str(g, "service_type", FLAVORS_SERVICE_TYPE);
        }
        if (wanted(req, "name")) {
            json_kv_str(g, "name", l3_provider_name(p));
        }
        if (wanted(req, "default")) {
            json_kv_bool(g, "default", is_default);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return NULL;
}

static const struct api_route flavor_routes[] = {
    { "/v2.0/flavors/{}/service_profiles", API_POST, associate, NULL },
    { "/v2.0/flavors/{}/service_profiles/{}", API_DELETE, dissociate, NULL },
    { "/v2.0/service-providers", API_GET, list_service_providers, NULL },
};

void
api_flavors_register(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    api_resource_register(&l3_flavor_def);
    api_resource_register(&l3_service_profile_def);
    api_routes_register(flavor_routes, ARRAY_SIZE(flavor_routes));
    api_extensions_register(flavor_extensions,
                            ARRAY_SIZE(flavor_extensions));
}
