/* tests/api/test_limits.c: limits that hold (issue 9).
 *
 * - String lengths as Neutron's attribute maps set them: the test reads
 *   Neutron's API definitions (NEUTRON_API_DEFS, a JSON dump of neutron-lib's
 *   attribute maps, path given by CMake) at run time and, for every
 *   resource and every string attribute with a maximum length that POST or
 *   PUT may set, sends a value one character over the maximum (400) and one
 *   of exactly the maximum (accepted), in ASCII and in 2- and 4-byte UTF-8
 *   characters (Neutron counts characters, not bytes).  Attributes with
 *   other validation are skipped with a listed reason, printed.
 * - Slow clients: 64 connections that trickle their request headers one
 *   byte at a time are closed within client_header_timeout, while a normal
 *   client is served fast all along and an idle keep-alive connection is
 *   not cut. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/topo.h"

#define P1 "11111111111111111111111111111111"

/* ---- String lengths from Neutron's attribute maps ---- */

/* Attributes whose value must pass other validation than its length, so
 * that no string of exactly the maximum is valid: tested neither way. */
static const struct {
    const char *collection, *attr, *reason;
} skips[] = {
    { "networks", "provider:network_type",
      "must name a loaded type driver (local, flat, vlan, ...)" },
    { "segments", "network_type",
      "must name a loaded type driver (local, flat, vlan, ...)" },
    { "service_profiles", "driver",
      "must name a configured service provider or its driver" },
};

/* PUTs that Neutron's map allows but its plugin refuses anyway. */
static const struct {
    const char *collection, *attr, *reason;
} put_skips[] = {
    { "networks", "provider:physical_network",
      "ML2 refuses updates of provider attributes (Neutron too)" },
};

/* Collections of the dump that Hadron does not serve. */
static const struct {
    const char *collection, *reason;
} absent[] = {
    { "trunks", "Hadron has no trunk service" },
};

struct len_attr {
    char collection[64];
    char singular[64];
    char attr[64];
    long max;
    bool post, put;
};

struct len_env {
    struct apitest_server *srv;
    char *net;                  /* a network of P1 */
    char *ext_net;              /* an external network with a subnet */
    int serial;                 /* makes CIDRs and physnets unique */
    struct len_attr *attrs;
    size_t n_attrs;
    char *failures;             /* one line per mismatch */
    size_t n_checks;
};

static char *
read_whole(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fail_msg("%s: cannot open Neutron's API definitions", path);
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (len + 4096 + 1) * 2;
            text = xrealloc(text, cap);
        }
        size_t n = fread(text + len, 1, 4096, f);
        if (!n) {
            break;
        }
        len += n;
    }
    fclose(f);
    text[len] = '\0';
    return text;
}

static bool
is_absent(const char *collection)
{
    for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
        if (!strcmp(absent[i].collection, collection)) {
            return true;
        }
    }
    return false;
}

/* Adds (or merges into) the attribute 'attr' of 'collection'. */
static void
add_attr(struct len_env *env, const char *collection, const char *attr,
         long max, bool post, bool put)
{
    for (size_t i = 0; i < env->n_attrs; i++) {
        struct len_attr *a = &env->attrs[i];
        if (!strcmp(a->collection, collection) && !strcmp(a->attr, attr)) {
            a->max = max;
            a->post |= post;
            a->put |= put;
            return;
        }
    }
    env->attrs = xrealloc(env->attrs, (env->n_attrs + 1) * sizeof *env->attrs);
    struct len_attr *a = &env->attrs[env->n_attrs++];
    memset(a, 0, sizeof *a);
    snprintf(a->collection, sizeof a->collection, "%s", collection);
    snprintf(a->singular, sizeof a->singular, "%.*s",
             (int) strlen(collection) - 1, collection);
    snprintf(a->attr, sizeof a->attr, "%s", attr);
    a->max = max;
    a->post = post;
    a->put = put;
}

/* Collects from the dump every attribute validated as "type:string" or
 * "type:string_or_none" with a maximum length that POST or PUT may set,
 * plus the standard attribute "description" (255, neutron-lib's
 * DESCRIPTION_FIELD_SIZE; the dump leaves standard attributes out) of
 * every collection that does not list its own. */
static void
load_attrs(struct len_env *env)
{
    char *text = read_whole(NEUTRON_API_DEFS);
    char err[256];
    yajl_val root = yajl_tree_parse(text, err, sizeof err);

    free(text);
    if (!YAJL_IS_OBJECT(root)) {
        fail_msg("%s: %s", NEUTRON_API_DEFS, err);
    }
    for (size_t m = 0; m < root->u.object.len; m++) {
        yajl_val maps = jpath(root->u.object.values[m],
                              "resource_attribute_map");
        for (size_t c = 0; YAJL_IS_OBJECT(maps) && c < maps->u.object.len;
             c++) {
            const char *collection = maps->u.object.keys[c];
            yajl_val attrs = maps->u.object.values[c];
            bool described = false;
            for (size_t a = 0; YAJL_IS_OBJECT(attrs)
                               && a < attrs->u.object.len; a++) {
                const char *name = attrs->u.object.keys[a];
                yajl_val spec = attrs->u.object.values[a];
                yajl_val v = jpath(spec, "validate");
                yajl_val max = jpath(v, "type:string");
                max = max ? max : jpath(v, "type:string_or_none");
                bool post = YAJL_IS_TRUE(jpath(spec, "allow_post"));
                bool put = YAJL_IS_TRUE(jpath(spec, "allow_put"));
                described |= !strcmp(name, "description");
                if (YAJL_IS_INTEGER(max) && (post || put)) {
                    add_attr(env, collection, name, YAJL_GET_INTEGER(max),
                             post, put);
                }
            }
            if (!described && YAJL_IS_OBJECT(attrs)
                && jpath(attrs, "id") && jpath(attrs, "tenant_id")) {
                add_attr(env, collection, "description", 255, true, true);
            }
        }
    }
    yajl_tree_free(root);
}

/* 'n' characters: 'a', U+00E9 (2 bytes) or U+1F600 (4 bytes). */
static char *
make_string(int width, long n)
{
    static const char *const chars[] = { "", "a", "\xc3\xa9", "",
                                         "\xf0\x9f\x98\x80" };
    const char *ch = chars[width];
    char *s = xmalloc(n * width + 1);

    for (long i = 0; i < n; i++) {
        memcpy(s + i * width, ch, width);
    }
    s[n * width] = '\0';
    return s;
}

/* The members of a create body for 'collection' other than 'attr'. */
static char *
base_members(struct len_env *env, const char *collection, const char *attr)
{
    int k = ++env->serial;
    bool tenant = strcmp(attr, "tenant_id") && strcmp(attr, "project_id");
    const char *t = tenant ? "\"tenant_id\": \"" P1 "\"" : NULL;
    char *extra;

    if (!strcmp(collection, "subnets")) {
        extra = xasprintf("\"network_id\": \"%s\", \"ip_version\": 4, "
                          "\"cidr\": \"10.%d.%d.0/24\"", env->net,
                          k / 256, k % 256);
    } else if (!strcmp(collection, "ports")) {
        extra = xasprintf("\"network_id\": \"%s\"", env->net);
    } else if (!strcmp(collection, "segments")) {
        extra = strcmp(attr, "physical_network")
                ? xasprintf("\"network_id\": \"%s\", \"network_type\": "
                            "\"flat\", \"physical_network\": \"pn%d\"",
                            env->net, k)
                : xasprintf("\"network_id\": \"%s\", \"network_type\": "
                            "\"flat\"", env->net);
        t = NULL;               /* a segment has no owner of its own */
    } else if (!strcmp(collection, "floatingips")) {
        extra = xasprintf("\"floating_network_id\": \"%s\"", env->ext_net);
    } else if (!strcmp(collection, "flavors")) {
        extra = xstrdup("\"service_type\": \"L3_ROUTER_NAT\"");
    } else if (!strcmp(collection, "service_profiles")) {
        extra = xstrdup("\"driver\": \"noop\"");
    } else if (!strcmp(collection, "networks")
               && !strcmp(attr, "provider:physical_network")) {
        extra = xstrdup("\"provider:network_type\": \"flat\"");
    } else {
        extra = xstrdup("");
    }
    char *members = xasprintf("%s%s%s", extra, *extra && t ? ", " : "",
                              t ? t : "");
    free(extra);
    return members;
}

static void
record(struct len_env *env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
record(struct len_env *env, const char *fmt, ...)
{
    va_list args;
    char line[700];
    size_t old = env->failures ? strlen(env->failures) : 0;

    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    env->failures = xrealloc(env->failures, old + strlen(line) + 2);
    memcpy(env->failures + old, line, strlen(line));
    memcpy(env->failures + old + strlen(line), "\n", 2);
}

/* Sends 'value' for 'a' by POST (or by PUT on 'id') and checks the answer:
 * a success if 'ok', else 400. */
static void
check_one(struct len_env *env, const struct len_attr *a, const char *id,
          const char *value, bool ok, const char *what)
{
    char path[256];
    char *body;

    if (id) {
        snprintf(path, sizeof path, "/v2.0/%s/%s", a->collection, id);
        body = xasprintf("{\"%s\": {\"%s\": \"%s\"}}", a->singular, a->attr,
                         value);
    } else {
        snprintf(path, sizeof path, "/v2.0/%s", a->collection);
        char *base = base_members(env, a->collection, a->attr);
        body = xasprintf("{\"%s\": {%s%s\"%s\": \"%s\"}}", a->singular, base,
                         *base ? ", " : "", a->attr, value);
        free(base);
    }
    struct apitest_resp *r = api_call(env->srv, id ? "PUT" : "POST", path,
                                      NULL, body);
    long want = ok ? (id ? 200 : 201) : 400;
    env->n_checks++;
    if (r->status != want) {
        record(env, "%s %s.%s (max %ld), %s: expected %ld, got %ld: %.300s",
               id ? "PUT" : "POST", a->collection, a->attr, a->max, what,
               want, r->status, r->body);
    } else if (!ok && !strstr(r->body, "exceeds maximum length")) {
        record(env, "%s %s.%s (max %ld), %s: 400 for another reason: %.300s",
               id ? "PUT" : "POST", a->collection, a->attr, a->max, what,
               r->body);
    } else if (!id && ok) {
        /* Created: deleted again, so that the next value (a physical
         * network, say) does not meet it. */
        char key[128];
        snprintf(key, sizeof key, "%s/id", a->singular);
        assert_int_equal(topo_delete(env->srv, NULL, a->collection,
                                     jstr(r->json, key)), 204);
    }
    apitest_resp_free(r);
    free(body);
}

static const char *
skip_reason(const struct len_attr *a, bool put)
{
    for (size_t i = 0; i < ARRAY_SIZE(skips); i++) {
        if (!strcmp(skips[i].collection, a->collection)
            && !strcmp(skips[i].attr, a->attr)) {
            return skips[i].reason;
        }
    }
    for (size_t i = 0; put && i < ARRAY_SIZE(put_skips); i++) {
        if (!strcmp(put_skips[i].collection, a->collection)
            && !strcmp(put_skips[i].attr, a->attr)) {
            return put_skips[i].reason;
        }
    }
    return NULL;
}

/* Creates one object of 'a's collection to PUT on; returns its id. */
static char *
object_for_put(struct len_env *env, const struct len_attr *a)
{
    char path[128];
    char *base = base_members(env, a->collection, "");

    snprintf(path, sizeof path, "/v2.0/%s", a->collection);
    struct apitest_resp *r = topo_call(env->srv, "POST", path, NULL,
                                       "{\"%s\": {%s}}", a->singular, base);
    free(base);
    char key[128];
    snprintf(key, sizeof key, "%s/id", a->singular);
    if (r->status != 201) {
        fail_msg("POST %s: %ld %s", path, r->status, r->body);
    }
    char *id = xstrdup(jstr(r->json, key));
    apitest_resp_free(r);
    return id;
}

static void
test_string_lengths(void **state)
{
    struct len_env env = { .srv = apitest_server_start(NULL) };

    load_attrs(&env);
    assert_true(env.n_attrs >= 20);
    env.net = topo_net(env.srv, P1, NULL);
    env.ext_net = topo_net(env.srv, P1, "\"router:external\": true");
    free(topo_create_id(env.srv, "POST", "/v2.0/subnets", NULL, 201,
                        "subnet/id", "{\"subnet\": {\"network_id\": \"%s\", "
                        "\"ip_version\": 4, \"cidr\": \"203.0.113.0/24\", "
                        "\"tenant_id\": \"" P1 "\"}}", env.ext_net));

    for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
        printf("skipped: %s: %s\n", absent[i].collection, absent[i].reason);
    }
    size_t tested = 0;
    for (size_t i = 0; i < env.n_attrs; i++) {
        const struct len_attr *a = &env.attrs[i];
        if (is_absent(a->collection)) {
            continue;
        }
        for (int put = 0; put < 2; put++) {
            const char *why = skip_reason(a, put);
            if (!(put ? a->put : a->post)) {
                continue;
            }
            if (why) {
                printf("skipped: %s %s.%s (max %ld): %s\n",
                       put ? "PUT" : "POST", a->collection, a->attr, a->max,
                       why);
                continue;
            }
            char *id = put ? object_for_put(&env, a) : NULL;
            static const int widths[] = { 1, 2, 4 };
            for (size_t w = 0; w < ARRAY_SIZE(widths); w++) {
                char what[64];
                char *exact = make_string(widths[w], a->max);
                char *over = make_string(widths[w], a->max + 1);
                snprintf(what, sizeof what, "%ld characters of %d bytes",
                         a->max, widths[w]);
                check_one(&env, a, id, exact, true, what);
                snprintf(what, sizeof what, "%ld characters of %d bytes",
                         a->max + 1, widths[w]);
                check_one(&env, a, id, over, false, what);
                free(exact);
                free(over);
            }
            free(id);
            tested++;
        }
    }
    printf("string lengths: %zu attribute/method pairs, %zu requests\n",
           tested, env.n_checks);
    apitest_server_stop(env.srv);
    free(env.net);
    free(env.ext_net);
    free(env.attrs);
    if (env.failures) {
        fprintf(stderr, "differences from Neutron's attribute maps:\n%s",
                env.failures);
        free(env.failures);
        fail_msg("%s", "string lengths differ from Neutron's (above)");
    }
}

/* ---- Slow clients ---- */

#define N_TRICKLERS 64
#define HEADER_TIMEOUT 2        /* s, the server's client_header_timeout */

/* Sends all of 's' on 'fd' and reads one answer (up to its body's first
 * bytes); returns its status line's code, or -1. */
static int
raw_request(int fd, const char *s)
{
    char buf[8192];
    size_t len = 0;

    if (send(fd, s, strlen(s), MSG_NOSIGNAL) != (ssize_t) strlen(s)) {
        return -1;
    }
    while (len < sizeof buf - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 5000) <= 0) {
            return -1;
        }
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) {
            return -1;
        }
        len += n;
        buf[len] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl && strlen(end + 4) >= (size_t) atoi(cl + 15)) {
            break;
        }
    }
    return strncmp(buf, "HTTP/1.1 ", 9) ? -1 : atoi(buf + 9);
}

static void
test_slow_loris(void **state)
{
    char conf[128];
    snprintf(conf, sizeof conf, "[DEFAULT]\nclient_header_timeout = %d\n",
             HEADER_TIMEOUT);
    struct apitest_server *srv = apitest_server_start(conf);
    static const char head[] = "GET /v2.0/networks HTTP/1.1\r\n"
                               "Host: x\r\nX-Slow: ";
    int fds[N_TRICKLERS];
    double closed_at[N_TRICKLERS];
    double max_ms = 0;
    int served = 0;

    /* A keep-alive connection that answers, then idles past the deadline
     * (the idle timeout's business, not the header deadline's). */
    int idle = apitest_connect(srv);
    static const char get[] = "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(raw_request(idle, get), 200);

    uint64_t start = time_monotonic_usec();
    for (int i = 0; i < N_TRICKLERS; i++) {
        fds[i] = apitest_connect(srv);
        closed_at[i] = -1;
        assert_int_equal(send(fds[i], head, sizeof head - 1, MSG_NOSIGNAL),
                         (ssize_t) sizeof head - 1);
    }
    int open = N_TRICKLERS;
    uint64_t next_byte = start, next_get = start;
    while (open && time_monotonic_usec() - start < 4 * HEADER_TIMEOUT
                                                   * 1000000ULL) {
        uint64_t now = time_monotonic_usec();
        if (now >= next_byte) {
            /* One more header byte from each trickler, every 250 ms. */
            for (int i = 0; i < N_TRICKLERS; i++) {
                if (closed_at[i] < 0) {
                    send(fds[i], "a", 1, MSG_NOSIGNAL);
                }
            }
            next_byte = now + 250000;
        }
        if (now >= next_get) {
            uint64_t t0 = time_monotonic_usec();
            struct apitest_resp *r = api_get(srv, "/v2.0/networks");
            double ms = (time_monotonic_usec() - t0) / 1000.0;
            assert_status(r, 200);
            apitest_resp_free(r);
            max_ms = ms > max_ms ? ms : max_ms;
            served++;
            next_get = time_monotonic_usec() + 100000;
        }
        struct pollfd pfds[N_TRICKLERS];
        for (int i = 0; i < N_TRICKLERS; i++) {
            pfds[i] = (struct pollfd) { .fd = closed_at[i] < 0 ? fds[i] : -1,
                                        .events = POLLIN };
        }
        poll(pfds, N_TRICKLERS, 20);
        for (int i = 0; i < N_TRICKLERS; i++) {
            char buf[256];
            if (closed_at[i] < 0 && pfds[i].revents
                && recv(fds[i], buf, sizeof buf, MSG_DONTWAIT) <= 0) {
                closed_at[i] = (time_monotonic_usec() - start) / 1e6;
                open--;
            }
        }
    }
    double first = 1e9, last = 0;
    for (int i = 0; i < N_TRICKLERS; i++) {
        close(fds[i]);
        if (closed_at[i] < 0) {
            fail_msg("trickler %d still open after %d s", i,
                     4 * HEADER_TIMEOUT);
        }
        first = closed_at[i] < first ? closed_at[i] : first;
        last = closed_at[i] > last ? closed_at[i] : last;
    }
    printf("slow loris: %d tricklers closed between %.2f and %.2f s "
           "(client_header_timeout %d s); %d normal requests meanwhile, "
           "slowest %.1f ms\n", N_TRICKLERS, first, last, HEADER_TIMEOUT,
           served, max_ms);
    /* Not before the deadline, and within 9/8 of it plus scheduling. */
    assert_true(first >= HEADER_TIMEOUT - 0.05);
    assert_true(last <= HEADER_TIMEOUT * 9.0 / 8 + 1.5);
    assert_true(served >= 5);
    assert_true(max_ms < 1000);

    /* The idle keep-alive connection still answers. */
    assert_int_equal(raw_request(idle, get), 200);
    close(idle);
    char *log = apitest_read_log(srv);
    assert_non_null(strstr(log, "client_header_timeout"));
    free(log);
    apitest_server_stop(srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_lengths),
        cmocka_unit_test(test_slow_loris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
