/* tests/lib/loadclient.c: see loadclient.h. */
#include "tests/lib/loadclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/lib/apitest.h"

void
loadclient_init(struct loadclient *lc, int port, const char *project,
                long timeout_ms, loadclient_judge_fn *judge, void *aux)
{
    memset(lc, 0, sizeof *lc);
    lc->curl = curl_easy_init();
    lc->port = port;
    lc->timeout_ms = timeout_ms;
    snprintf(lc->headers, sizeof lc->headers,
             "X-Project-Id: %s\nX-Roles: member", project);
    lc->judge = judge;
    lc->aux = aux;
}

void
loadclient_destroy(struct loadclient *lc)
{
    if (lc && lc->curl) {
        curl_easy_cleanup(lc->curl);
        lc->curl = NULL;
    }
}

struct apitest_resp *
loadclient_request(struct loadclient *lc, const char *method,
                   const char *path, const char *body)
{
    return apitest_send(lc->curl, lc->port, method, path, lc->headers, body,
                        lc->timeout_ms);
}

bool
loadclient_call(struct loadclient *lc, const char *method, const char *path,
                const char *body, long expect, struct apitest_resp **answer)
{
    struct apitest_resp *a = loadclient_request(lc, method, path, body);
    bool ok = lc->judge(lc->aux, method, path, a, expect);

    if (answer) {
        *answer = a;
    } else {
        apitest_resp_free(a);
    }
    return ok;
}

const char *const loadclient_paths[] = {
    [LC_NET] = "networks", [LC_SUBNET] = "subnets", [LC_PORT] = "ports",
    [LC_ROUTER] = "routers", [LC_IFACE] = "ports",
    [LC_FIP] = "floatingips",
};

void
loadclient_objs_init(struct loadclient_objs *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->mutex, NULL);
}

void
loadclient_objs_destroy(struct loadclient_objs *o)
{
    if (o) {
        pthread_mutex_destroy(&o->mutex);
        free(o->objs);
        o->objs = NULL;
        o->n = o->alloc = 0;
    }
}

long
loadclient_objs_add(struct loadclient_objs *o, enum loadclient_kind kind,
                    const char *id, const char *router)
{
    pthread_mutex_lock(&o->mutex);
    if (o->n == o->alloc) {
        o->alloc = o->alloc ? o->alloc * 2 : 1024;
        o->objs = xrealloc(o->objs, o->alloc * sizeof *o->objs);
    }
    long i = (long) o->n++;
    struct loadclient_obj *obj = &o->objs[i];
    memset(obj, 0, sizeof *obj);
    obj->kind = kind;
    str_copy(obj->id, id ? id : "?", sizeof obj->id);
    str_copy(obj->router, router ? router : "", sizeof obj->router);
    o->acked++;
    pthread_mutex_unlock(&o->mutex);
    return i;
}

void
loadclient_objs_mark(struct loadclient_objs *o, long idx, bool deleted)
{
    pthread_mutex_lock(&o->mutex);
    o->objs[idx].delete_sent = true;
    if (deleted) {
        o->objs[idx].deleted = true;
        o->acked++;
    }
    pthread_mutex_unlock(&o->mutex);
}

long
loadclient_create(struct loadclient *lc, struct loadclient_objs *o,
                  enum loadclient_kind kind, const char *body,
                  const char *key, char id[LOADCLIENT_ID_LEN])
{
    char path[64];
    struct apitest_resp *a;
    long idx = -1;

    snprintf(path, sizeof path, "/v2.0/%s", loadclient_paths[kind]);
    if (loadclient_call(lc, "POST", path, body, 201, &a)) {
        const char *got = jstr(a->json, key);
        idx = loadclient_objs_add(o, kind, got, NULL);
        if (id) {
            str_copy(id, got ? got : "?", LOADCLIENT_ID_LEN);
        }
    }
    apitest_resp_free(a);
    return idx;
}

bool
loadclient_remove(struct loadclient *lc, struct loadclient_objs *o,
                  long idx, const char *method, const char *path,
                  const char *body, long expect)
{
    loadclient_objs_mark(o, idx, false);
    bool ok = loadclient_call(lc, method, path, body, expect, NULL);
    if (ok) {
        loadclient_objs_mark(o, idx, true);
    }
    return ok;
}

bool
loadclient_delete(struct loadclient *lc, struct loadclient_objs *o, long idx)
{
    char path[128];

    /* Another client may grow the array meanwhile: copy under the lock. */
    pthread_mutex_lock(&o->mutex);
    snprintf(path, sizeof path, "/v2.0/%s/%s",
             loadclient_paths[o->objs[idx].kind], o->objs[idx].id);
    pthread_mutex_unlock(&o->mutex);
    return loadclient_remove(lc, o, idx, "DELETE", path, NULL, 204);
}
