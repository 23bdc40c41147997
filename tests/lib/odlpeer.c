/* tests/lib/odlpeer.c: see odlpeer.h. */
#include "tests/lib/odlpeer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/topo.h"

extern char **environ;

#define LISTENING "listening on http://127.0.0.1:"
#define CANARY "bd8db3a8-2b30-4083-a8b3-b3fd46401142"

/* The whole of file 'path' ("" if it cannot be read), malloc'd. */
static char *
slurp(const char *path)
{
    size_t len = 0, cap = 1024;
    char *buf = xmalloc(cap);
    FILE *f = fopen(path, "r");

    while (f) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        if (!got) {
            break;
        }
        len += got;
    }
    if (f) {
        fclose(f);
    }
    buf[len] = '\0';
    return buf;
}

/* Spawns the peer on 'port' (0: a free one) and waits for it to listen. */
static void
spawn(struct odlpeer *p, int port)
{
    posix_spawn_file_actions_t fa;
    char port_arg[16];

    snprintf(port_arg, sizeof port_arg, "%d", port);
    unlink(p->out_path);
    char *argv[] = { (char *) ODL_PEER_BIN, (char *) "--port", port_arg,
                     NULL };
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, p->err_path,
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawn(&p->pid, ODL_PEER_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        fail_msg("cannot start %s: %s", ODL_PEER_BIN, strerror(rc));
    }
    for (int i = 0; i < 3000; i++) {
        char *out = slurp(p->out_path);
        const char *at = strstr(out, LISTENING);
        if (at) {
            p->port = atoi(at + strlen(LISTENING));
            free(out);
            return;
        }
        free(out);
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            fail_msg("hadron-odl-peer exited before listening: %s",
                     slurp(p->err_path));
        }
        topo_sleep_ms(10);
    }
    fail_msg("hadron-odl-peer did not listen within 30 s");
}

struct odlpeer *
odlpeer_start(void)
{
    struct odlpeer *p = xzalloc(sizeof *p);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

    snprintf(p->dir, sizeof p->dir, "%s/hadron-odlpeer-XXXXXX", tmp);
    if (!mkdtemp(p->dir)) {
        fail_msg("mkdtemp: %s", strerror(errno));
    }
    snprintf(p->out_path, sizeof p->out_path, "%s/out", p->dir);
    snprintf(p->err_path, sizeof p->err_path, "%s/err", p->dir);
    p->curl = curl_easy_init();
    spawn(p, 0);
    return p;
}

void
odlpeer_go_away(struct odlpeer *p)
{
    int status = 0;

    if (!p->pid) {
        return;
    }
    kill(p->pid, SIGTERM);
    if (waitpid(p->pid, &status, 0) != p->pid) {
        fail_msg("waitpid(hadron-odl-peer): %s", strerror(errno));
    }
    p->pid = 0;
    char *err = slurp(p->err_path);
    if (strstr(err, "Sanitizer") || strstr(err, "runtime error:")) {
        fail_msg("hadron-odl-peer: sanitizer report:\n%s", err);
    }
    free(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fail_msg("hadron-odl-peer exited with status %#x", status);
    }
}

void
odlpeer_come_back(struct odlpeer *p)
{
    int port = p->port;

    spawn(p, port);
    if (p->port != port) {
        fail_msg("hadron-odl-peer came back on port %d, not %d", p->port,
                 port);
    }
}

void
odlpeer_stop(struct odlpeer *p)
{
    odlpeer_go_away(p);
    curl_easy_cleanup(p->curl);
    unlink(p->out_path);
    unlink(p->err_path);
    rmdir(p->dir);
    free(p);
}

static size_t
append(char *ptr, size_t size, size_t n, void *arg)
{
    char **buf = arg;
    size_t len = size * n, old = strlen(*buf);

    *buf = xrealloc(*buf, old + len + 1);
    memcpy(*buf + old, ptr, len);
    (*buf)[old + len] = '\0';
    return len;
}

/* A request to the peer's control interface; returns the parsed answer
 * (NULL if none) and fails the test unless it answers 'expect'. */
static yajl_val
control(struct odlpeer *p, const char *method, const char *path,
        const char *body, long expect)
{
    char *data = xzalloc(1);
    char url[128];
    long status = 0;
    CURL *c = p->curl;
    struct curl_slist *h = curl_slist_append(
        NULL, "Content-Type: application/json");

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &data);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    if (status != expect) {
        fail_msg("peer %s %s: %ld (expected %ld): %s", method, path, status,
                 expect, data);
    }
    yajl_val tree = yajl_tree_parse(data, NULL, 0);
    free(data);
    return tree;
}

void
odlpeer_mode(struct odlpeer *p, const char *mode)
{
    char body[64];

    snprintf(body, sizeof body, "{\"mode\": \"%s\"}", mode);
    yajl_tree_free(control(p, "POST", "/_peer/mode", body, 200));
}

char *
odlpeer_config(const struct odlpeer *p)
{
    return xasprintf(
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:noop:noop:default\n"
        "service_provider = L3_ROUTER_NAT:odl:odl\n"
        "[ml2_odl]\n"
        "url = http://127.0.0.1:%d/controller/nb/v2/neutron\n"
        "username = admin\npassword = admin\n"
        "timeout = 2\nsync_timeout = 5\nretry_count = 0\n"
        "[journal]\n"
        "retry_backoff_initial_ms = 20\nretry_backoff_max = 1\n"
        "poll_interval_ms = 50\nhealth_interval_ms = 200\n", p->port);
}

/* ---- Comparing ---- */

/* One object as a controller sees it: "<plural> <id>" and a text of the
 * attributes compared. */
struct item {
    char *key;
    char *text;
};

struct items {
    struct item *v;
    size_t n, cap;
};

/* The attributes a controller acts on, per collection ('/' descends;
 * lists are compared as sorted "a>b" pairs). */
static const struct {
    const char *plural;
    const char *paths[7];
    const char *list, *list_a, *list_b;
} attrs[] = {
    { "networks", { "name", "router:external", "project_id" },
      NULL, NULL, NULL },
    { "subnets", { "network_id", "cidr", "gateway_ip", "project_id" },
      NULL, NULL, NULL },
    { "ports", { "network_id", "device_owner", "device_id", "mac_address",
                 "admin_state_up" },
      "fixed_ips", "subnet_id", "ip_address" },
    { "routers", { "name", "admin_state_up",
                   "external_gateway_info/network_id",
                   "external_gateway_info/enable_snat", "project_id" },
      "routes", "destination", "nexthop" },
    { "floatingips", { "router_id", "port_id", "fixed_ip_address",
                       "floating_ip_address", "floating_network_id",
                       "project_id" },
      NULL, NULL, NULL },
};

static void
put_value(FILE *s, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v)) {
        fputs("null", s);
    } else if (YAJL_IS_STRING(v)) {
        fputs(v->u.string, s);
    } else if (YAJL_IS_NUMBER(v)) {
        fputs(v->u.number.r, s);
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        fputs(YAJL_IS_TRUE(v) ? "true" : "false", s);
    } else {
        fputs("?", s);
    }
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
items_add(struct items *set, const char *plural, yajl_val obj)
{
    const char *id = jstr(obj, "id");
    char *text_buf = NULL;
    size_t text_len = 0;
    FILE *text = open_memstream(&text_buf, &text_len);

    for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
        if (strcmp(attrs[i].plural, plural)) {
            continue;
        }
        for (size_t k = 0; k < ARRAY_SIZE(attrs[i].paths)
                           && attrs[i].paths[k]; k++) {
            fprintf(text, " %s=", attrs[i].paths[k]);
            put_value(text, jpath(obj, attrs[i].paths[k]));
        }
        yajl_val list = attrs[i].list ? jpath(obj, attrs[i].list) : NULL;
        size_t n = YAJL_IS_ARRAY(list) ? list->u.array.len : 0;
        char **pairs = xcalloc(n + 1, sizeof *pairs);
        for (size_t k = 0; k < n; k++) {
            size_t len = 0;
            FILE *pair = open_memstream(&pairs[k], &len);
            put_value(pair, jpath(list->u.array.values[k], attrs[i].list_a));
            fputc('>', pair);
            put_value(pair, jpath(list->u.array.values[k], attrs[i].list_b));
            fclose(pair);
        }
        qsort(pairs, n, sizeof *pairs, compare_strings);
        if (attrs[i].list) {
            fprintf(text, " %s=[", attrs[i].list);
            for (size_t k = 0; k < n; k++) {
                fprintf(text, "%s%s", k ? "," : "", pairs[k]);
                free(pairs[k]);
            }
            fputc(']', text);
        }
        free(pairs);
    }
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 64;
        set->v = xrealloc(set->v, set->cap * sizeof *set->v);
    }
    set->v[set->n].key = xasprintf("%s %s", plural, id ? id : "?");
    fclose(text);
    set->v[set->n].text = text_buf;
    set->n++;
}

static int
compare_items(const void *a_, const void *b_)
{
    const struct item *a = a_, *b = b_;
    return strcmp(a->key, b->key);
}

/* Sorts 'set' by key and drops repeated keys. */
static void
items_finish(struct items *set)
{
    size_t n = 0;

    if (set->n) {
        qsort(set->v, set->n, sizeof *set->v, compare_items);
    }
    for (size_t i = 0; i < set->n; i++) {
        if (n && !strcmp(set->v[n - 1].key, set->v[i].key)) {
            free(set->v[i].key);
            free(set->v[i].text);
        } else {
            set->v[n++] = set->v[i];
        }
    }
    set->n = n;
}

static void
items_destroy(struct items *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].key);
        free(set->v[i].text);
    }
    free(set->v);
}

/* An API collection (admin view), indexed by id. */
struct collection {
    const char *plural;
    struct apitest_resp **resps;    /* the pages */
    size_t n_resps;
    yajl_val *objs;             /* sorted by id */
    size_t n;
};

static int
compare_ids(const void *a, const void *b)
{
    const char *x = jstr(*(const yajl_val *) a, "id");
    const char *y = jstr(*(const yajl_val *) b, "id");
    return strcmp(x ? x : "", y ? y : "");
}

/* Loads every page of the admin's list of 'plural' (following the "next"
 * links that [DEFAULT] pagination_max_limit adds, as clients do). */
static void
collection_load(struct collection *c, struct apitest_server *srv,
                const char *plural)
{
    char path[512], links[64];

    memset(c, 0, sizeof *c);
    c->plural = plural;
    snprintf(path, sizeof path, "/v2.0/%s", plural);
    snprintf(links, sizeof links, "%s_links", plural);
    for (;;) {
        struct apitest_resp *r = api_get(srv, path);
        if (r->status != 200) {
            fail_msg("GET %s: %ld %s", path, r->status, r->body);
        }
        c->resps = xrealloc(c->resps, (c->n_resps + 1) * sizeof *c->resps);
        c->resps[c->n_resps++] = r;
        yajl_val list = jpath(r->json, plural);
        size_t n = YAJL_IS_ARRAY(list) ? list->u.array.len : 0;
        c->objs = xrealloc(c->objs, (c->n + n + 1) * sizeof *c->objs);
        for (size_t i = 0; i < n; i++) {
            c->objs[c->n++] = list->u.array.values[i];
        }
        const char *next = NULL;
        yajl_val l = jpath(r->json, links);
        for (size_t i = 0; YAJL_IS_ARRAY(l) && i < l->u.array.len; i++) {
            const char *rel = jstr(l->u.array.values[i], "rel");
            if (rel && !strcmp(rel, "next")) {
                next = jstr(l->u.array.values[i], "href");
            }
        }
        const char *p = next ? strstr(next, "/v2.0/") : NULL;
        if (!p) {
            break;
        }
        snprintf(path, sizeof path, "%s", p);
    }
    qsort(c->objs, c->n, sizeof *c->objs, compare_ids);
}

static yajl_val
collection_find(const struct collection *c, const char *id)
{
    for (size_t lo = 0, hi = c->n; id && lo < hi; ) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(id, jstr(c->objs[mid], "id"));
        if (!cmp) {
            return c->objs[mid];
        } else if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

static void
collection_destroy(struct collection *c)
{
    for (size_t i = 0; i < c->n_resps; i++) {
        apitest_resp_free(c->resps[i]);
    }
    free(c->resps);
    free(c->objs);
}

enum { C_NET, C_SUBNET, C_PORT, C_ROUTER, C_FIP, N_C };
static const char *const plurals[N_C] = {
    "networks", "subnets", "ports", "routers", "floatingips",
};

/* Adds port 'id', its network and subnets to 'want'. */
static void
want_port(struct items *want, struct collection *cs, const char *id)
{
    yajl_val port = collection_find(&cs[C_PORT], id);
    if (!port) {
        return;
    }
    items_add(want, "ports", port);
    yajl_val net = collection_find(&cs[C_NET], jstr(port, "network_id"));
    if (net) {
        items_add(want, "networks", net);
    }
    yajl_val ips = jpath(port, "fixed_ips");
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        yajl_val subnet = collection_find(
            &cs[C_SUBNET], jstr(ips->u.array.values[i], "subnet_id"));
        if (subnet) {
            items_add(want, "subnets", subnet);
        }
    }
}

static bool
is_odl_router(const struct collection *routers, const char *id,
              const char *flavor_id)
{
    yajl_val r = collection_find(routers, id);
    const char *flavor = r ? jstr(r, "flavor_id") : NULL;
    return flavor && !strcmp(flavor, flavor_id);
}

long
odlpeer_compare(struct odlpeer *p, struct apitest_server *srv,
                const char *flavor_id, FILE *report, long *n_objects)
{
    struct collection cs[N_C];
    struct items want = { 0 }, have = { 0 };
    long diffs = 0;

    for (size_t i = 0; i < N_C; i++) {
        collection_load(&cs[i], srv, plurals[i]);
    }
    for (size_t i = 0; i < cs[C_ROUTER].n; i++) {
        yajl_val r = cs[C_ROUTER].objs[i];
        if (is_odl_router(&cs[C_ROUTER], jstr(r, "id"), flavor_id)) {
            items_add(&want, "routers", r);
        }
    }
    for (size_t i = 0; i < cs[C_PORT].n; i++) {
        yajl_val port = cs[C_PORT].objs[i];
        if (str_starts_with(jstr(port, "device_owner"), "network:router_")
            && is_odl_router(&cs[C_ROUTER], jstr(port, "device_id"),
                             flavor_id)) {
            want_port(&want, cs, jstr(port, "id"));
        }
    }
    for (size_t i = 0; i < cs[C_FIP].n; i++) {
        yajl_val fip = cs[C_FIP].objs[i];
        if (!is_odl_router(&cs[C_ROUTER], jstr(fip, "router_id"),
                           flavor_id)) {
            continue;
        }
        items_add(&want, "floatingips", fip);
        yajl_val net = collection_find(&cs[C_NET],
                                       jstr(fip, "floating_network_id"));
        if (net) {
            items_add(&want, "networks", net);
        }
        if (jstr(fip, "port_id")) {
            want_port(&want, cs, jstr(fip, "port_id"));
        }
    }

    yajl_val state = control(p, "GET", "/_peer/state", NULL, 200);
    for (size_t i = 0; i < N_C; i++) {
        yajl_val objs = jpath(state, plurals[i]);
        for (size_t j = 0; YAJL_IS_OBJECT(objs) && j < objs->u.object.len;
             j++) {
            if (strcmp(objs->u.object.keys[j], CANARY)) {
                items_add(&have, plurals[i], objs->u.object.values[j]);
            }
        }
    }
    yajl_tree_free(state);
    items_finish(&want);
    items_finish(&have);

    size_t a = 0, b = 0;
    while (a < want.n || b < have.n) {
        int cmp = (a == want.n ? 1 : b == have.n ? -1
                   : strcmp(want.v[a].key, have.v[b].key));
        if (cmp < 0) {
            if (report) {
                fprintf(report, "controller lacks %s:%s\n", want.v[a].key,
                        want.v[a].text);
            }
            diffs++;
            a++;
        } else if (cmp > 0) {
            if (report) {
                fprintf(report, "controller has extra %s:%s\n",
                        have.v[b].key, have.v[b].text);
            }
            diffs++;
            b++;
        } else {
            if (strcmp(want.v[a].text, have.v[b].text)) {
                if (report) {
                    fprintf(report, "controller differs on %s:\n  database:"
                            "%s\n  controller:%s\n", want.v[a].key,
                            want.v[a].text, have.v[b].text);
                }
                diffs++;
            }
            a++;
            b++;
        }
    }
    if (n_objects) {
        *n_objects = (long) want.n;
    }
    items_destroy(&want);
    items_destroy(&have);
    for (size_t i = 0; i < N_C; i++) {
        collection_destroy(&cs[i]);
    }
    return diffs;
}

long
odlpeer_wait_equal(struct odlpeer *p, struct apitest_server *srv,
                   const char *flavor_id, int timeout_ms, FILE *report,
                   long *n_objects)
{
    long long deadline = (long long) (time_monotonic_usec() / 1000)
                         + timeout_ms;

    for (;;) {
        bool last = (long long) (time_monotonic_usec() / 1000) >= deadline;
        long diffs = odlpeer_compare(p, srv, flavor_id, last ? report : NULL,
                                     n_objects);
        if (!diffs || last) {
            return diffs;
        }
        topo_sleep_ms(200);
    }
}
