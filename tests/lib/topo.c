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

/* vasprintf() that aborts on failure; NULL for a NULL 'fmt'. */
static char *vformat(const char *fmt, va_list args)
    __attribute__((format(printf, 1, 0)));

static char *
vformat(const char *fmt, va_list args)
{
    char *s = NULL;

    if (fmt && vasprintf(&s, fmt, args) < 0) {
        abort();
    }
    return s;
}

/* topo_call() with the body's arguments in 'args'. */
static struct apitest_resp *vcall(struct apitest_server *, const char *method,
                                  const char *path, const char *project,
                                  const char *fmt, va_list args)
    __attribute__((format(printf, 5, 0)));

static struct apitest_resp *
vcall(struct apitest_server *srv, const char *method, const char *path,
      const char *project, const char *fmt, va_list args)
{
    char *body = vformat(fmt, args);
    struct apitest_resp *r = api_call(srv, method, path, project, body);
    free(body);
    return r;
}

struct apitest_resp *
topo_call(struct apitest_server *srv, const char *method, const char *path,
          const char *project, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    struct apitest_resp *r = vcall(srv, method, path, project, fmt, args);
    va_end(args);
    return r;
}

char *
topo_create_id(struct apitest_server *srv, const char *method,
               const char *path, const char *project, long status,
               const char *key, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    struct apitest_resp *r = vcall(srv, method, path, project, fmt, args);
    va_end(args);
    assert_status(r, status);
    const char *id = jstr(r->json, key);
    assert_non_null(id);
    char *copy = xstrdup(id);
    apitest_resp_free(r);
    return copy;
}

struct apitest_resp *
topo_get(struct apitest_server *srv, const char *project, const char *plural,
         const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/%s/%s", plural, id);
    return api_call(srv, "GET", path, project, NULL);
}

struct apitest_resp *
topo_update(struct apitest_server *srv, const char *project,
            const char *singular, const char *id, const char *fmt, ...)
{
    char path[160];
    va_list args;

    va_start(args, fmt);
    char *attrs = vformat(fmt, args);
    va_end(args);
    snprintf(path, sizeof path, "/v2.0/%ss/%s", singular, id);
    struct apitest_resp *r = topo_call(srv, "PUT", path, project,
                                       "{\"%s\": {%s}}", singular, attrs);
    free(attrs);
    return r;
}

struct apitest_resp *
topo_delete_resp(struct apitest_server *srv, const char *project,
                 const char *plural, const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/%s/%s", plural, id);
    return api_call(srv, "DELETE", path, project, NULL);
}

long
topo_delete(struct apitest_server *srv, const char *project,
            const char *plural, const char *id)
{
    struct apitest_resp *r = topo_delete_resp(srv, project, plural, id);
    long status = r->status;
    apitest_resp_free(r);
    return status;
}

/* ", <extra>" for a body's extra members, "" without. */
#define EXTRA(extra) (extra) ? ", " : "", (extra) ? (extra) : ""

char *
topo_net(struct apitest_server *srv, const char *project, const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/networks", NULL, 201,
                          "network/id", "{\"network\": {\"name\": \"n\", "
                          "\"project_id\": \"%s\"%s%s}}", project,
                          EXTRA(extra));
}

char *
topo_subnet(struct apitest_server *srv, const char *project, const char *net,
            const char *cidr, const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/subnets", NULL, 201,
                          "subnet/id", "{\"subnet\": {\"network_id\": \"%s\", "
                          "\"cidr\": \"%s\", \"ip_version\": %d, "
                          "\"project_id\": \"%s\"%s%s}}", net, cidr,
                          strchr(cidr, ':') ? 6 : 4, project, EXTRA(extra));
}

char *
topo_port(struct apitest_server *srv, const char *project, const char *net,
          const char *extra)
{
    return topo_create_id(srv, "POST", "/v2.0/ports", project, 201,
                          "port/id", "{\"port\": {\"network_id\": "
                          "\"%s\"%s%s}}", net, EXTRA(extra));
}

char *
topo_router(struct apitest_server *srv, const char *project, const char *ext,
            const char *extra)
{
    char gw[128] = "";

    if (ext) {
        snprintf(gw, sizeof gw, ", \"external_gateway_info\": "
                 "{\"network_id\": \"%s\"}", ext);
    }
    return topo_create_id(srv, "POST", "/v2.0/routers", project, 201,
                          "router/id", "{\"router\": {\"name\": \"r\"%s%s%s}}",
                          gw, EXTRA(extra));
}

char *
topo_add_interface(struct apitest_server *srv, const char *project,
                   const char *router, const char *key, const char *id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
             router);
    return topo_create_id(srv, "PUT", path, project, 200, "port_id",
                          "{\"%s\": \"%s\"}", key, id);
}

char *
topo_flavor(struct apitest_server *srv, const char *provider)
{
    char *flavor = topo_create_id(srv, "POST", "/v2.0/flavors", NULL, 201,
                                  "flavor/id", "{\"flavor\": {\"name\": "
                                  "\"%s\", \"service_type\": "
                                  "\"L3_ROUTER_NAT\"}}", provider);
    char *profile = topo_create_id(srv, "POST", "/v2.0/service_profiles",
                                   NULL, 201, "service_profile/id",
                                   "{\"service_profile\": {\"driver\": "
                                   "\"%s\"}}", provider);
    char path[160];
    snprintf(path, sizeof path, "/v2.0/flavors/%s/service_profiles", flavor);
    struct apitest_resp *r = topo_call(srv, "POST", path, NULL,
                                       "{\"service_profile\": {\"id\": "
                                       "\"%s\"}}", profile);
    assert_status(r, 201);
    apitest_resp_free(r);
    free(profile);
    return flavor;
}

void
topo_l3_make(struct apitest_server *srv, const char *project, const char *ext,
             const char *cidr, const char *flavor, struct topo_l3 *t)
{
    char *extra = flavor ? xasprintf("\"flavor_id\": \"%s\"", flavor) : NULL;

    t->net = topo_net(srv, project, NULL);
    t->subnet = topo_subnet(srv, project, t->net, cidr, NULL);
    t->router = topo_router(srv, project, ext, extra);
    t->port = topo_add_interface(srv, project, t->router, "subnet_id",
                                 t->subnet);
    free(extra);
}

void
topo_l3_free(struct topo_l3 *t)
{
    free(t->net);
    free(t->subnet);
    free(t->router);
    free(t->port);
}

void
topo_wait_status(struct apitest_server *srv, const char *singular,
                 const char *id, const char *status)
{
    char plural[64], key[64], last[32] = "";

    snprintf(plural, sizeof plural, "%ss", singular);
    snprintf(key, sizeof key, "%s/status", singular);
    for (int i = 0; i < 1000; i++) {
        struct apitest_resp *r = topo_get(srv, NULL, plural, id);
        assert_status(r, 200);
        const char *s = jstr(r->json, key);
        str_copy(last, s ? s : "?", sizeof last);
        apitest_resp_free(r);
        if (!strcmp(last, status)) {
            return;
        }
        topo_sleep_ms(10);
    }
    fail_msg("%s %s stayed %s, not %s", singular, id, last, status);
}

void
topo_wait_journal_idle_within(struct apitest_server *srv, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        struct apitest_resp *r = api_get(srv, "/v2.0/journal_entries?"
                                         "state=pending&state=processing");
        assert_status(r, 200);
        size_t n = jlen(r->json, "journal_entries");
        apitest_resp_free(r);
        if (!n) {
            return;
        }
        topo_sleep_ms(10);
    }
    fail_msg("the journal did not drain within %d ms", timeout_ms);
}

void
topo_wait_journal_idle(struct apitest_server *srv)
{
    topo_wait_journal_idle_within(srv, 30000);
}

char *
topo_fip_journal(struct apitest_server *srv, const char *driver,
                 const char *id)
{
    char path[160];
    char *out = xstrdup("");

    snprintf(path, sizeof path, "/v2.0/journal_entries?driver=%s", driver);
    struct apitest_resp *r = api_get(srv, path);
    assert_status(r, 200);
    yajl_val list = jpath(r->json, "journal_entries");
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val e = list->u.array.values[i];
        if (strcmp(jstr(e, "resource"), "floatingip")
            || strcmp(jstr(e, "resource_id"), id)) {
            continue;
        }
        char *longer = xasprintf("%s%s:%s\n", out, jstr(e, "operation"),
                                 jstr(e, "router_id"));
        free(out);
        out = longer;
    }
    apitest_resp_free(r);
    return out;
}

void
topo_assert_error__(const struct apitest_resp *resp, long status,
                    const char *type, const char *file, int line,
                    const char *fmt, ...)
{
    va_list args;

    apitest_assert_error__(resp, status, type, file, line);
    va_start(args, fmt);
    char *want = vformat(fmt, args);
    va_end(args);
    const char *msg = jstr(resp->json, "NeutronError/message");
    if (!msg || strcmp(msg, want)) {
        fail_msg("%s:%d: message '%s', expected '%s'", file, line,
                 msg ? msg : "(none)", want);
    }
    free(want);
}

void
topo_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}
