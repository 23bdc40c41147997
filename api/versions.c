/* api/versions.c: GET /, GET /v2.0, GET /v2.0/extensions[/{alias}]. */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include "api/json.h"
#include "api/metrics.h"
#include "api/request.h"
#include "core/config.h"
#include "core/neutron_error.h"
#include "core/util.h"

static const struct api_extension **extensions;
static size_t n_extensions;
static const struct api_resource_link **resources;
static size_t n_resources;

void
api_extensions_register(const struct api_extension *table, size_t n)
{
    extensions = xrealloc(extensions,
                          (n_extensions + n) * sizeof *extensions);
    for (size_t i = 0; i < n; i++) {
        extensions[n_extensions++] = &table[i];
    }
}

void
api_resources_register(const struct api_resource_link *table, size_t n)
{
    resources = xrealloc(resources, (n_resources + n) * sizeof *resources);
    for (size_t i = 0; i < n; i++) {
        resources[n_resources++] = &table[i];
    }
}

static void
write_link(yajl_gen g, const char *href, const char *rel)
{
    yajl_gen_map_open(g);
    json_kv_str(g, "href", href);
    json_kv_str(g, "rel", rel);
    yajl_gen_map_close(g);
}

static struct neutron_error *
show_versions(struct api_request *req, const void *aux)
{
    yajl_gen g = req->out;
    char *href = xasprintf("%s/v2.0/", req->base_url);

    yajl_gen_map_open(g);
    json_key(g, "versions");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    json_kv_str(g, "id", "v2.0");
    json_kv_str(g, "status", "CURRENT");
    json_key(g, "links");
    yajl_gen_array_open(g);
    write_link(g, href, "self");
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    free(href);
    return NULL;
}

static struct neutron_error *
list_resources(struct api_request *req, const void *aux)
{
    yajl_gen g = req->out;

    yajl_gen_map_open(g);
    json_key(g, "resources");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n_resources; i++) {
        char *href = xasprintf("%s/v2.0/%s", req->base_url,
                               resources[i]->collection);
        yajl_gen_map_open(g);
        json_kv_str(g, "name", resources[i]->name);
        json_kv_str(g, "collection", resources[i]->collection);
        json_key(g, "links");
        yajl_gen_array_open(g);
        write_link(g, href, "self");
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        free(href);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return NULL;
}

static void
write_extension(yajl_gen g, const struct api_extension *ext)
{
    yajl_gen_map_open(g);
    json_kv_str(g, "alias", ext->alias);
    json_kv_str(g, "name", ext->name);
    json_kv_str(g, "description", ext->description);
    json_kv_str(g, "updated", ext->updated);
    json_key(g, "links");
    yajl_gen_array_open(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

static struct neutron_error *
list_extensions(struct api_request *req, const void *aux)
{
    yajl_gen g = req->out;

    yajl_gen_map_open(g);
    json_key(g, "extensions");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n_extensions; i++) {
        write_extension(g, extensions[i]);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return NULL;
}

static struct neutron_error *
show_extension(struct api_request *req, const void *aux)
{
    const char *alias = req->path_params[0];

    for (size_t i = 0; i < n_extensions; i++) {
        if (!strcmp(extensions[i]->alias, alias)) {
            yajl_gen_map_open(req->out);
            json_key(req->out, "extension");
            write_extension(req->out, extensions[i]);
            yajl_gen_map_close(req->out);
            return NULL;
        }
    }
    return neutron_error_create(NE_NOT_FOUND, "HTTPNotFound",
                                "Extension with alias %s does not exist",
                                alias);
}

/* GET /projects[/{id}] with auth_strategy = noauth: the identity look-up
 * that the openstack CLI makes for --project, sent to this endpoint since
 * there is no Keystone.  A 403 is what makes it take the name as the
 * project ID (openstackclient's _find_identity_resource); Neutron's 404
 * would leave "--project" unusable without Keystone. */
static struct neutron_error *
refuse_identity(struct api_request *req, const void *aux)
{
    if (strcmp(req->cfg->auth_strategy, "noauth")) {
        return neutron_error_create(NE_NOT_FOUND, "HTTPNotFound",
                                    "The resource could not be found.");
    }
    return neutron_error_create(NE_FORBIDDEN, "HTTPForbidden",
                                "No identity service here (auth_strategy = "
                                "noauth): project IDs are taken as given.");
}

static const struct api_route version_routes[] = {
    { "/", API_GET, show_versions, NULL },
    { "/v2.0", API_GET, list_resources, NULL },
    { "/v2.0/extensions", API_GET, list_extensions, NULL },
    { "/v2.0/extensions/{}", API_GET, show_extension, NULL },
    { "/projects", API_GET, refuse_identity, NULL },
    { "/projects/{}", API_GET, refuse_identity, NULL },
};

void
api_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    api_routes_register(version_routes, ARRAY_SIZE(version_routes));
    metrics_register_routes();
    api_l2_register();
    api_flavors_register();
    api_l3_register();
    api_journal_register();
}
