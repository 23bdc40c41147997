/* tests/lib/topo.c: see topo.h. */
#include "tests/lib/topo.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"

struct apitest_resp *
topo_call(struct apitest_server *srv, const char *method, const char *path,
     const char *project, const char *fmt, ...)
{
    char *body = NULL;

    if (fmt) {
        va_list args;
        va_start(args, fmt);
        if (vasprintf(&body, fmt, args) < 0) {
            abort();
        }
        va_end(args);
    }
    struct apitest_resp *r = api_call(srv, method, path, project, body);
    free(body);
    return r;
}

char *
topo_create_id(struct apitest_server *srv, const char *method, const char *path,
          const char *project, long status, const char *key,
          const char *fmt, ...)
{
    char *body = NULL;
    va_list args;

    va_start(args, fmt);
    if (vasprintf(&body, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    struct apitest_resp *r = api_call(srv, method, path, project, body);
    free(body);
    assert_status(r, status);
    const char *id = jstr(r->json, key);
    assert_non_null(id);
    char *copy = xstrdup(id);
    apitest_resp_free(r);
    return copy;
}

char *
topo_net(struct apitest_server *srv, const char *project, const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/networks", NULL, 201, "network/id",
                     "{\"network\": {\"name\": \"n\", \"project_id\": \"%s\""
                     "%s%s}}", project, extra ? ", " : "",
                     extra ? extra : "");
}

char *
topo_port(struct apitest_server *srv, const char *project, const char *net,
          const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/ports", project, 201, "port/id",
                     "{\"port\": {\"network_id\": \"%s\"%s%s}}", net,
                     extra ? ", " : "", extra ? extra : "");
}

char *
topo_flavor(struct apitest_server *srv, const char *provider)
{
    char *flavor = topo_create_id(srv, "POST", "/v2.0/flavors", NULL, 201,
                             "flavor/id", "{\"flavor\": {\"name\": \"%s\", "
                             "\"service_type\": \"L3_ROUTER_NAT\"}}",
                             provider);
    char *profile = topo_create_id(srv, "POST", "/v2.0/service_profiles", NULL,
                              201, "service_profile/id",
                              "{\"service_profile\": {\"driver\": \"%s\"}}",
                              provider);
    char path[160];
    snprintf(path, sizeof path, "/v2.0/flavors/%s/service_profiles", flavor);
    struct apitest_resp *r = topo_call(srv, "POST", path, NULL,
                                  "{\"service_profile\": {\"id\": \"%s\"}}",
                                  profile);
    assert_status(r, 201);
    apitest_resp_free(r);
    free(profile);
    return flavor;
}

void
topo_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

long
topo_delete(struct apitest_server *srv, const char *project, const char *plural,
       const char *id)
{
    char path[160];
    snprintf(path, sizeof path, "/v2.0/%s/%s", plural, id);
    struct apitest_resp *r = api_call(srv, "DELETE", path, project, NULL);
    long status = r->status;
    apitest_resp_free(r);
    return status;
}
