/* tests/odl-peer/odl-peer.c: a stand-in for OpenDaylight's Neutron
 * Northbound REST API, for the tests of the 'odl' router flavor.
 *
 * hadron-odl-peer listens on 127.0.0.1, prints "listening on
 * http://127.0.0.1:PORT" and serves
 *
 *   /controller/nb/v2/neutron/{networks,subnets,ports,routers,floatingips}
 *
 * with HTTP basic auth, the way OpenDaylight's neutron northbound bundle
 * answers them (PROTOCOL.md gives every request and answer and the ODL or
 * networking-odl source each one comes from).  It keeps the objects it
 * receives in memory, by id, as received; refuses what depends on an object
 * it does not have; and records every Northbound request in order.
 *
 * Tests drive it through a control interface under /_peer/ (no auth):
 * the request log, the stored state, a reset ("the controller restarted
 * empty") and failure modes (answer 503, or hold every answer N ms).
 * SIGTERM or SIGINT stops it; with --state-file it keeps its objects across
 * a restart, like a controller with a persistent datastore.
 *
 * Single-threaded: one libevent loop and one evhtp without worker threads,
 * so nothing here needs a lock. */

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <evhtp/evhtp.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "core/util.h"

#define NB_BASE "/controller/nb/v2/neutron"
#define CONTROL_BASE "/_peer"
#define ODL_REALM "opendaylight"
#define UNUSED __attribute__((__unused__))

/* OpenDaylight's answer to a create or update whose dependencies are not
 * there (AbstractNeutronNorthbound.HTTP_MISSING_DEPENDENCY, NEUTRON-158). */
#define ODL_MISSING_DEPENDENCY 442

/* The Northbound resources we serve. */
enum res_type {
    RES_NETWORK,
    RES_SUBNET,
    RES_PORT,
    RES_ROUTER,
    RES_FLOATINGIP,
    N_RES_TYPES
};

struct res_class {
    const char *plural;         /* URL segment and collection key */
    const char *singular;       /* key of one object in a body */
    const char *name;           /* as ODL names it in its messages */
};

static const struct res_class res_classes[N_RES_TYPES] = {
    [RES_NETWORK] = { "networks", "network", "Network" },
    [RES_SUBNET] = { "subnets", "subnet", "Subnet" },
    [RES_PORT] = { "ports", "port", "Port" },
    [RES_ROUTER] = { "routers", "router", "Router" },
    [RES_FLOATINGIP] = { "floatingips", "floatingip", "Floating IP" },
};

/* A reference from one object to another, by id.  'path' leads from the
 * object to the id string; with 'each', path[0] names an array and path[1]
 * the id inside each of its elements.  A create or update whose reference
 * names an object we do not have is refused; with 'blocks_delete', so is
 * deleting the object while something still refers to it. */
struct res_ref {
    enum res_type from;
    const char *path[2];
    bool each;
    enum res_type to;
    bool blocks_delete;
};

static const struct res_ref res_refs[] = {
    { RES_SUBNET, { "network_id", NULL }, false, RES_NETWORK, true },
    { RES_PORT, { "network_id", NULL }, false, RES_NETWORK, true },
    { RES_PORT, { "fixed_ips", "subnet_id" }, true, RES_SUBNET, false },
    { RES_ROUTER, { "external_gateway_info", "network_id" }, false,
      RES_NETWORK, true },
    { RES_FLOATINGIP, { "floating_network_id", NULL }, false, RES_NETWORK,
      true },
    { RES_FLOATINGIP, { "port_id", NULL }, false, RES_PORT, false },
    { RES_FLOATINGIP, { "router_id", NULL }, false, RES_ROUTER, false },
};

/* One stored object. */
struct resource {
    char *id;
    yajl_val obj;               /* owned; the object as received */
    UT_hash_handle hh;          /* by id; iteration is insertion order */
};

/* One Northbound request as received, with the status we answered. */
struct log_entry {
    uint64_t seq;               /* 1, 2, ... since start or reset */
    uint64_t time_ms;           /* since the peer started */
    char *method;
    char *path;
    char *query;                /* NULL if the URL had none */
    char *body;                 /* raw; "" if none */
    int status;
};

enum peer_mode {
    MODE_NORMAL,                /* answer as ODL does */
    MODE_FAIL503,               /* answer every Northbound request 503 */
    MODE_STALL,                 /* hold every Northbound answer stall_ms */
    MODE_FAIL500,               /* answer every Northbound request 500 */
    MODE_FAIL503_LISTS,         /* answer GETs of collections 503 */
};

static const char *const mode_names[] = {
    [MODE_NORMAL] = "normal",
    [MODE_FAIL503] = "fail503",
    [MODE_STALL] = "stall",
    [MODE_FAIL500] = "fail500",
    [MODE_FAIL503_LISTS] = "fail503_lists",
};

struct peer;

/* An answer held back in stall mode. */
struct stall {
    struct peer *peer;
    evhtp_request_t *req;       /* paused; reply already in buffer_out */
    struct event *timer;
    int status;
    struct stall *prev, *next;
};

/* An open client connection, so that shutdown can close it. */
struct conn {
    struct peer *peer;
    evhtp_connection_t *ec;
    struct conn *prev, *next;
};

struct peer {
    struct resource *tables[N_RES_TYPES];

    struct log_entry *log;
    size_t n_log, log_cap;
    uint64_t next_seq;

    enum peer_mode mode;
    unsigned int stall_ms;
    int dependency_status;
    int duplicate_status;

    char *auth_token;           /* base64("user:password") */
    const char *state_file;     /* NULL: state dies with the process */
    bool verbose;
    uint64_t start_usec;

    struct event_base *base;
    evhtp_t *htp;
    struct stall *stalls;
    struct conn *conns;
};

/* An answer: status, optional JSON body, optional basic-auth challenge. */
struct reply {
    int status;
    char *body;                 /* owned JSON text, or NULL for no body */
    bool challenge;
};

static void __attribute__((format(printf, 1, 2), noreturn))
fatal(const char *fmt, ...)
{
    va_list args;

    fputs("hadron-odl-peer: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(EXIT_FAILURE);
}

/* JSON helpers. */

static yajl_gen
gen_new(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (!g) {
        fatal("out of memory");
    }
    return g;
}

/* Frees 'g' and returns what it generated, as an owned string. */
static char *
gen_finish(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_get_buf(g, &buf, &len);
    char *s = xstrndup((const char *) buf, len);
    yajl_gen_free(g);
    return s;
}

static void
gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}

static void
gen_value(yajl_gen g, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v)) {
        yajl_gen_null(g);
    } else if (YAJL_IS_STRING(v)) {
        gen_str(g, v->u.string);
    } else if (YAJL_IS_NUMBER(v)) {
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    } else if (YAJL_IS_TRUE(v)) {
        yajl_gen_bool(g, 1);
    } else if (YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, 0);
    } else if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            gen_str(g, v->u.object.keys[i]);
            gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++) {
            gen_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
    }
}

/* Parses 'text'.  Returns an owned tree, or NULL with a message in 'err'. */
static yajl_val
json_parse(const char *text, char *err, size_t err_size)
{
    yajl_val v = yajl_tree_parse(text, err, err_size);
    if (!v && !err[0]) {
        str_copy(err, "parse error", err_size);
    }
    if (!v) {
        for (char *nl = strchr(err, '\n'); nl; nl = strchr(nl, '\n')) {
            *nl = ' ';
        }
    }
    return v;
}

/* The member 'key' of object 'obj', or NULL. */
static yajl_val
json_get(yajl_val obj, const char *key)
{
    if (obj && YAJL_IS_OBJECT(obj)) {
        for (size_t i = 0; i < obj->u.object.len; i++) {
            if (!strcmp(obj->u.object.keys[i], key)) {
                return obj->u.object.values[i];
            }
        }
    }
    return NULL;
}

static const char *
json_get_string(yajl_val obj, const char *key)
{
    yajl_val v = json_get(obj, key);
    return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

/* A copy of object 'obj' that owns itself, with member "id" set to 'id'
 * (replaced where it is, or added last) unless 'id' is NULL. */
static yajl_val
json_copy_object(yajl_val obj, const char *id)
{
    yajl_gen g = gen_new();
    bool has_id = false;
    char err[128] = "";

    yajl_gen_map_open(g);
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *key = obj->u.object.keys[i];
        gen_str(g, key);
        if (id && !strcmp(key, "id")) {
            gen_str(g, id);
            has_id = true;
        } else {
            gen_value(g, obj->u.object.values[i]);
        }
    }
    if (id && !has_id) {
        gen_str(g, "id");
        gen_str(g, id);
    }
    yajl_gen_map_close(g);

    char *text = gen_finish(g);
    yajl_val copy = json_parse(text, err, sizeof err);
    free(text);
    if (!copy) {
        fatal("cannot reparse generated JSON: %s", err);
    }
    return copy;
}

/* Answers. */

static void
reply_json(struct reply *r, int status, char *body)
{
    free(r->body);
    r->status = status;
    r->body = body;
}

/* Sets 'r' to an error: {"error": {"status", "type", "message"}} plus, for
 * a missing dependency, "missing": {"type", "id"}. */
static void __attribute__((format(printf, 6, 7)))
reply_error_full(struct reply *r, int status, const char *type,
                 const char *missing_type, const char *missing_id,
                 const char *fmt, ...)
{
    yajl_gen g = gen_new();
    va_list args;
    char *msg;

    va_start(args, fmt);
    if (vasprintf(&msg, fmt, args) < 0) {
        fatal("out of memory");
    }
    va_end(args);

    yajl_gen_map_open(g);
    gen_str(g, "error");
    yajl_gen_map_open(g);
    gen_str(g, "status");
    yajl_gen_integer(g, status);
    gen_str(g, "type");
    gen_str(g, type);
    gen_str(g, "message");
    gen_str(g, msg);
    if (missing_type) {
        gen_str(g, "missing");
        yajl_gen_map_open(g);
        gen_str(g, "type");
        gen_str(g, missing_type);
        gen_str(g, "id");
        gen_str(g, missing_id);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    free(msg);

    reply_json(r, status, gen_finish(g));
}

#define reply_error(r, status, type, ...) \
    reply_error_full(r, status, type, NULL, NULL, __VA_ARGS__)

/* Sets 'r' to {key: v}. */
static void
reply_wrapped(struct reply *r, int status, const char *key, yajl_val v)
{
    yajl_gen g = gen_new();

    yajl_gen_map_open(g);
    gen_str(g, key);
    gen_value(g, v);
    yajl_gen_map_close(g);
    reply_json(r, status, gen_finish(g));
}

/* Storage. */

static struct resource *
res_find(const struct peer *peer, enum res_type t, const char *id)
{
    struct resource *res;

    HASH_FIND_STR(peer->tables[t], id, res);
    return res;
}

/* Stores 'obj' (taking it) as object 'id' of type 't', replacing any
 * earlier one in place. */
static void
res_put(struct peer *peer, enum res_type t, const char *id, yajl_val obj)
{
    struct resource *res = res_find(peer, t, id);

    if (res) {
        yajl_tree_free(res->obj);
        res->obj = obj;
        return;
    }
    res = xzalloc(sizeof *res);
    res->id = xstrdup(id);
    res->obj = obj;
    HASH_ADD_KEYPTR(hh, peer->tables[t], res->id, strlen(res->id), res);
}

static void
res_remove(struct peer *peer, enum res_type t, struct resource *res)
{
    HASH_DEL(peer->tables[t], res);
    yajl_tree_free(res->obj);
    free(res->id);
    free(res);
}

static void
res_clear(struct peer *peer)
{
    for (int t = 0; t < N_RES_TYPES; t++) {
        struct resource *res, *next;
        HASH_ITER(hh, peer->tables[t], res, next) {
            res_remove(peer, t, res);
        }
    }
}

/* Number of id slots 'ref' has in 'obj': the array's length for an 'each'
 * reference, else 1. */
static size_t
ref_count(const struct res_ref *ref, yajl_val obj)
{
    if (ref->each) {
        yajl_val arr = json_get(obj, ref->path[0]);
        return arr && YAJL_IS_ARRAY(arr) ? arr->u.array.len : 0;
    }
    return 1;
}

/* The id in slot 'i' of 'ref' in 'obj', or NULL if that slot has none
 * (absent or null: no dependency). */
static const char *
ref_get(const struct res_ref *ref, yajl_val obj, size_t i)
{
    if (ref->each) {
        yajl_val arr = json_get(obj, ref->path[0]);
        return json_get_string(arr->u.array.values[i], ref->path[1]);
    } else if (ref->path[1]) {
        return json_get_string(json_get(obj, ref->path[0]), ref->path[1]);
    } else {
        return json_get_string(obj, ref->path[0]);
    }
}

/* Checks that everything object 'obj' of type 't' refers to is stored.
 * Returns true if so; otherwise sets 'r' to the dependency error. */
static bool
check_dependencies(const struct peer *peer, enum res_type t, yajl_val obj,
                   const char *id, struct reply *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(res_refs); i++) {
        const struct res_ref *ref = &res_refs[i];
        if (ref->from != t) {
            continue;
        }
        size_t n = ref_count(ref, obj);
        for (size_t j = 0; j < n; j++) {
            const char *dep = ref_get(ref, obj, j);
            if (dep && !res_find(peer, ref->to, dep)) {
                const struct res_class *to = &res_classes[ref->to];
                reply_error_full(r, peer->dependency_status,
                                 "DependencyMissing", to->singular, dep,
                                 "%s %s refers to %s %s (%s%s%s), "
                                 "which does not exist",
                                 res_classes[t].singular, id, to->singular,
                                 dep, ref->path[0], ref->each ? "[]." : "",
                                 ref->each ? ref->path[1] : "");
                return false;
            }
        }
    }
    return true;
}

/* Checks that nothing stored still refers to object 'id' of type 't' in a
 * way that blocks its deletion.  Returns true if so; otherwise sets 'r'. */
static bool
check_unused(const struct peer *peer, enum res_type t, const char *id,
             struct reply *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(res_refs); i++) {
        const struct res_ref *ref = &res_refs[i];
        if (ref->to != t || !ref->blocks_delete) {
            continue;
        }
        struct resource *res, *next;
        HASH_ITER(hh, peer->tables[ref->from], res, next) {
            size_t n = ref_count(ref, res->obj);
            for (size_t j = 0; j < n; j++) {
                const char *dep = ref_get(ref, res->obj, j);
                if (dep && !strcmp(dep, id)) {
                    reply_error(r, 409, "InUse",
                                "%s %s is in use by %s %s",
                                res_classes[t].singular, id,
                                res_classes[ref->from].singular, res->id);
                    return false;
                }
            }
        }
    }
    return true;
}

/* The stored state as {"networks": {id: obj, ...}, ...}. */
static char *
state_to_json(const struct peer *peer)
{
    yajl_gen g = gen_new();

    yajl_gen_map_open(g);
    for (int t = 0; t < N_RES_TYPES; t++) {
        struct resource *res, *next;
        gen_str(g, res_classes[t].plural);
        yajl_gen_map_open(g);
        HASH_ITER(hh, peer->tables[t], res, next) {
            gen_str(g, res->id);
            gen_value(g, res->obj);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    return gen_finish(g);
}

/* Writes the state to --state-file, if any, atomically. */
static void
state_save(const struct peer *peer)
{
    if (!peer->state_file) {
        return;
    }

    char *json = state_to_json(peer);
    char *tmp = xasprintf("%s.tmp", peer->state_file);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(json, f) >= 0;
    if (f && fclose(f)) {
        ok = false;
    }
    if (!ok || rename(tmp, peer->state_file)) {
        fprintf(stderr, "hadron-odl-peer: %s: cannot save state: %s\n",
                peer->state_file, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(json);
}

/* Loads --state-file, if it exists.  Exits on a malformed file. */
static void
state_load(struct peer *peer)
{
    FILE *f = fopen(peer->state_file, "r");
    char err[256] = "";

    if (!f) {
        if (errno != ENOENT) {
            fatal("%s: %s", peer->state_file, strerror(errno));
        }
        return;
    }

    size_t len = 0, cap = 4096;
    char *text = xmalloc(cap);
    for (;;) {
        len += fread(text + len, 1, cap - len - 1, f);
        if (len < cap - 1) {
            break;
        }
        cap *= 2;
        text = xrealloc(text, cap);
    }
    text[len] = '\0';
    fclose(f);

    yajl_val doc = json_parse(text, err, sizeof err);
    free(text);
    if (!doc || !YAJL_IS_OBJECT(doc)) {
        fatal("%s: not a JSON object: %s", peer->state_file, err);
    }
    for (size_t i = 0; i < doc->u.object.len; i++) {
        const char *key = doc->u.object.keys[i];
        yajl_val objs = doc->u.object.values[i];
        int t;
        for (t = 0; t < N_RES_TYPES; t++) {
            if (!strcmp(key, res_classes[t].plural)) {
                break;
            }
        }
        if (t == N_RES_TYPES || !YAJL_IS_OBJECT(objs)) {
            fatal("%s: unexpected member \"%s\"", peer->state_file, key);
        }
        for (size_t j = 0; j < objs->u.object.len; j++) {
            yajl_val obj = objs->u.object.values[j];
            if (!YAJL_IS_OBJECT(obj)) {
                fatal("%s: %s %s is not an object", peer->state_file, key,
                      objs->u.object.keys[j]);
            }
            res_put(peer, t, objs->u.object.keys[j],
                    json_copy_object(obj, NULL));
        }
    }
    yajl_tree_free(doc);
}

/* The request log. */

static void
log_clear(struct peer *peer)
{
    for (size_t i = 0; i < peer->n_log; i++) {
        struct log_entry *e = &peer->log[i];
        free(e->method);
        free(e->path);
        free(e->query);
        free(e->body);
    }
    free(peer->log);
    peer->log = NULL;
    peer->n_log = peer->log_cap = 0;
    peer->next_seq = 1;
}

static void
log_append(struct peer *peer, const char *method, const char *path,
           const char *query, const char *body, int status)
{
    if (peer->n_log == peer->log_cap) {
        peer->log_cap = peer->log_cap ? 2 * peer->log_cap : 64;
        peer->log = xrealloc(peer->log, peer->log_cap * sizeof *peer->log);
    }
    struct log_entry *e = &peer->log[peer->n_log++];
    e->seq = peer->next_seq++;
    e->time_ms = (time_monotonic_usec() - peer->start_usec) / 1000;
    e->method = xstrdup(method);
    e->path = xstrdup(path);
    e->query = query && query[0] ? xstrdup(query) : NULL;
    e->body = xstrdup(body);
    e->status = status;
}

/* The log entries after sequence number 'since', as {"requests": [...]}.
 * A body that is JSON is shown as JSON, any other as a string, none as
 * null. */
static char *
log_to_json(const struct peer *peer, uint64_t since)
{
    yajl_gen g = gen_new();

    yajl_gen_map_open(g);
    gen_str(g, "requests");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < peer->n_log; i++) {
        const struct log_entry *e = &peer->log[i];
        if (e->seq <= since) {
            continue;
        }
        yajl_gen_map_open(g);
        gen_str(g, "seq");
        yajl_gen_integer(g, (long long) e->seq);
        gen_str(g, "time_ms");
        yajl_gen_integer(g, (long long) e->time_ms);
        gen_str(g, "method");
        gen_str(g, e->method);
        gen_str(g, "path");
        gen_str(g, e->path);
        gen_str(g, "query");
        if (e->query) {
            gen_str(g, e->query);
        } else {
            yajl_gen_null(g);
        }
        gen_str(g, "body");
        if (!e->body[0]) {
            yajl_gen_null(g);
        } else {
            char err[64] = "";
            yajl_val v = json_parse(e->body, err, sizeof err);
            if (v) {
                gen_value(g, v);
                yajl_tree_free(v);
            } else {
                gen_str(g, e->body);
            }
        }
        gen_str(g, "status");
        yajl_gen_integer(g, e->status);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return gen_finish(g);
}

/* Northbound. */

static char *
base64_encode(const char *in)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in);
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    char *p = out;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) (uint8_t) in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t) (uint8_t) in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (uint8_t) in[i + 2];
        }
        *p++ = digits[(v >> 18) & 63];
        *p++ = digits[(v >> 12) & 63];
        *p++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? digits[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* True if 'authz' (an Authorization header, may be NULL) carries our
 * user and password. */
static bool
auth_ok(const struct peer *peer, const char *authz)
{
    if (!authz) {
        return false;
    }
    authz += strspn(authz, " \t");
    if (strncasecmp(authz, "Basic", 5) || (authz[5] != ' '
                                           && authz[5] != '\t')) {
        return false;
    }
    authz += 5;
    authz += strspn(authz, " \t");
    size_t n = strcspn(authz, " \t\r\n");
    return n == strlen(peer->auth_token)
           && !strncmp(authz, peer->auth_token, n)
           && !authz[n + strspn(authz + n, " \t\r\n")];
}

/* Parses 'body' as a JSON object.  Returns an owned tree, or NULL after
 * setting 'r' to 400. */
static yajl_val
parse_body(const char *body, struct reply *r)
{
    char err[256] = "";
    yajl_val doc = json_parse(body, err, sizeof err);

    if (!doc) {
        reply_error(r, 400, "BadRequest", "malformed JSON body: %s", err);
        return NULL;
    }
    if (!YAJL_IS_OBJECT(doc)) {
        reply_error(r, 400, "BadRequest", "body is not a JSON object");
        yajl_tree_free(doc);
        return NULL;
    }
    return doc;
}

/* GET {base}/{plural}: 200 {plural: [obj, ...]}. */
static void
nb_list(struct peer *peer, enum res_type t, struct reply *r)
{
    yajl_gen g = gen_new();
    struct resource *res, *next;

    yajl_gen_map_open(g);
    gen_str(g, res_classes[t].plural);
    yajl_gen_array_open(g);
    HASH_ITER(hh, peer->tables[t], res, next) {
        gen_value(g, res->obj);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    reply_json(r, 200, gen_finish(g));
}

/* GET {base}/{plural}/{id}: 200 {singular: obj}, or 404. */
static void
nb_show(struct peer *peer, enum res_type t, const char *id, struct reply *r)
{
    struct resource *res = res_find(peer, t, id);

    if (!res) {
        reply_error(r, 404, "NotFound", "%s UUID does not exist.",
                    res_classes[t].name);
        return;
    }
    reply_wrapped(r, 200, res_classes[t].singular, res->obj);
}

/* POST {base}/{plural} with {singular: obj} or {plural: [obj, ...]}:
 * 201 echoing the body.  Objects are added in order; the first refused
 * one ends the request (those before it stay), as in ODL. */
static void
nb_create(struct peer *peer, enum res_type t, const char *body,
          struct reply *r)
{
    const struct res_class *rc = &res_classes[t];
    yajl_val doc = parse_body(body, r);
    yajl_val *items;
    size_t n_items;
    bool changed = false;

    if (!doc) {
        return;
    }

    yajl_val one = json_get(doc, rc->singular);
    yajl_val many = json_get(doc, rc->plural);
    if (one && YAJL_IS_OBJECT(one)) {
        items = &one;
        n_items = 1;
    } else if (many && YAJL_IS_ARRAY(many)) {
        items = many->u.array.values;
        n_items = many->u.array.len;
    } else {
        reply_error(r, 400, "BadRequest", "Invalid requests: expected "
                    "{\"%s\": {...}} or {\"%s\": [...]}", rc->singular,
                    rc->plural);
        goto out;
    }

    for (size_t i = 0; i < n_items; i++) {
        yajl_val obj = items[i];
        const char *id = json_get_string(obj, "id");
        if (!YAJL_IS_OBJECT(obj) || !id || !id[0]) {
            reply_error(r, 400, "BadRequest",
                        "%s without a string \"id\"", rc->singular);
            goto out;
        }
        if (!check_dependencies(peer, t, obj, id, r)) {
            goto out;
        }
        if (res_find(peer, t, id)) {
            if (peer->duplicate_status / 100 == 2) {
                continue;       /* ODL ignores it: the stored copy stays */
            }
            reply_error(r, peer->duplicate_status, "AlreadyExists",
                        "%s UUID already exists.", rc->name);
            goto out;
        }
        res_put(peer, t, id, json_copy_object(obj, NULL));
        changed = true;
    }

    yajl_gen g = gen_new();
    gen_value(g, doc);
    reply_json(r, 201, gen_finish(g));

out:
    if (changed) {
        state_save(peer);
    }
    yajl_tree_free(doc);
}

/* PUT {base}/{plural}/{id} with {singular: obj}: the stored object becomes
 * 'obj' (with "id" forced to the URL's) and the answer is 200 {singular:
 * stored}.  If both carry a "revision_number" and the stored one is
 * greater, nothing changes and the answer is 200 without a body. */
static void
nb_update(struct peer *peer, enum res_type t, const char *id,
          const char *body, struct reply *r)
{
    const struct res_class *rc = &res_classes[t];
    yajl_val doc = parse_body(body, r);

    if (!doc) {
        return;
    }

    yajl_val delta = json_get(doc, rc->singular);
    if (!delta || !YAJL_IS_OBJECT(delta)) {
        reply_error(r, 400, "BadRequest", "Only singleton edit supported");
        goto out;
    }
    struct resource *res = res_find(peer, t, id);
    if (!res) {
        reply_error(r, 404, "NotFound", "%s UUID does not exist.", rc->name);
        goto out;
    }

    yajl_val old_rev = json_get(res->obj, "revision_number");
    yajl_val new_rev = json_get(delta, "revision_number");
    if (old_rev && new_rev && YAJL_IS_INTEGER(old_rev)
        && YAJL_IS_INTEGER(new_rev)
        && YAJL_GET_INTEGER(old_rev) > YAJL_GET_INTEGER(new_rev)) {
        reply_json(r, 200, NULL);
        goto out;
    }
    if (!check_dependencies(peer, t, delta, id, r)) {
        goto out;
    }
    res_put(peer, t, id, json_copy_object(delta, id));
    state_save(peer);
    reply_wrapped(r, 200, rc->singular, res_find(peer, t, id)->obj);

out:
    yajl_tree_free(doc);
}

/* DELETE {base}/{plural}/{id}: 204, 404 if missing, 409 if in use. */
static void
nb_delete(struct peer *peer, enum res_type t, const char *id,
          struct reply *r)
{
    struct resource *res = res_find(peer, t, id);

    if (!res) {
        reply_error(r, 404, "NotFound", "%s UUID does not exist.",
                    res_classes[t].name);
        return;
    }
    if (!check_unused(peer, t, id, r)) {
        return;
    }
    res_remove(peer, t, res);
    state_save(peer);
    reply_json(r, 204, NULL);
}

/* PUT {base}/routers/{id}/{add,remove}_router_interface: ODL keeps these
 * for compatibility and does nothing: 200 echoing the body. */
static void
nb_router_interface(const char *body, struct reply *r)
{
    yajl_val doc = parse_body(body, r);

    if (doc) {
        yajl_gen g = gen_new();
        gen_value(g, doc);
        reply_json(r, 200, gen_finish(g));
        yajl_tree_free(doc);
    }
}

/* Splits 'path' (after a leading '/', without a trailing one) into at most
 * 'max' segments in place.  Returns the number of segments, or max + 1 if
 * there are more. */
static size_t
split_path(char *path, char **segs, size_t max)
{
    size_t n = 0;
    size_t len = strlen(path);

    if (len && path[len - 1] == '/') {
        path[len - 1] = '\0';
    }
    if (*path == '/') {
        path++;
    }
    if (!*path) {
        return 0;
    }
    for (char *save = NULL, *seg = strtok_r(path, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (n == max) {
            return max + 1;
        }
        segs[n++] = seg;
    }
    return n;
}

/* Answers one Northbound request. */
static void
nb_handle(struct peer *peer, htp_method method, const char *path,
          const char *body, const char *authz, struct reply *r)
{
    char *segs[3];
    char *copy = NULL;
    size_t n;
    int t;

    if (!auth_ok(peer, authz)) {
        reply_error(r, 401, "NotAuthorized",
                    "missing or wrong basic-auth credentials");
        r->challenge = true;
        return;
    }
    if (peer->mode == MODE_FAIL503) {
        reply_error(r, 503, "ServiceUnavailable",
                    "CRUD Interface Service Unavailable (peer in fail503 "
                    "mode)");
        return;
    }
    if (peer->mode == MODE_FAIL500) {
        reply_error(r, 500, "InternalServerError",
                    "Internal Server Error (peer in fail500 mode)");
        return;
    }
    if (strncmp(path, NB_BASE, strlen(NB_BASE))
        || (path[strlen(NB_BASE)] && path[strlen(NB_BASE)] != '/')) {
        reply_error(r, 404, "NotFound", "no such resource: %s", path);
        return;
    }

    copy = xstrdup(path + strlen(NB_BASE));
    n = split_path(copy, segs, ARRAY_SIZE(segs));
    if (n == 0 || n > ARRAY_SIZE(segs)) {
        goto not_found;
    }
    for (t = 0; t < N_RES_TYPES; t++) {
        if (!strcmp(segs[0], res_classes[t].plural)) {
            break;
        }
    }
    if (t == N_RES_TYPES) {
        goto not_found;
    }

    if (n == 1) {
        if (method == htp_method_GET && peer->mode == MODE_FAIL503_LISTS) {
            reply_error(r, 503, "ServiceUnavailable",
                        "CRUD Interface Service Unavailable (peer in "
                        "fail503_lists mode)");
        } else if (method == htp_method_GET) {
            nb_list(peer, t, r);
        } else if (method == htp_method_POST) {
            nb_create(peer, t, body, r);
        } else {
            goto not_allowed;
        }
    } else if (n == 2) {
        if (method == htp_method_GET) {
            nb_show(peer, t, segs[1], r);
        } else if (method == htp_method_PUT) {
            nb_update(peer, t, segs[1], body, r);
        } else if (method == htp_method_DELETE) {
            nb_delete(peer, t, segs[1], r);
        } else {
            goto not_allowed;
        }
    } else if (t == RES_ROUTER
               && (!strcmp(segs[2], "add_router_interface")
                   || !strcmp(segs[2], "remove_router_interface"))) {
        if (method == htp_method_PUT) {
            nb_router_interface(body, r);
        } else {
            goto not_allowed;
        }
    } else {
        goto not_found;
    }
    free(copy);
    return;

not_found:
    reply_error(r, 404, "NotFound", "no such resource: %s", path);
    free(copy);
    return;

not_allowed:
    reply_error(r, 405, "MethodNotAllowed", "%s not allowed on %s",
                htparser_get_methodstr_m(method), path);
    free(copy);
}

/* Control interface. */

static char *
mode_to_json(const struct peer *peer)
{
    yajl_gen g = gen_new();

    yajl_gen_map_open(g);
    gen_str(g, "mode");
    gen_str(g, mode_names[peer->mode]);
    gen_str(g, "stall_ms");
    yajl_gen_integer(g, peer->stall_ms);
    gen_str(g, "dependency_status");
    yajl_gen_integer(g, peer->dependency_status);
    gen_str(g, "duplicate_status");
    yajl_gen_integer(g, peer->duplicate_status);
    yajl_gen_map_close(g);
    return gen_finish(g);
}

/* True if 'v' is an integer in [min, max]; stores it in '*out'. */
static bool
json_int_in(yajl_val v, long long min, long long max, long long *out)
{
    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min
        || YAJL_GET_INTEGER(v) > max) {
        return false;
    }
    *out = YAJL_GET_INTEGER(v);
    return true;
}

/* POST /_peer/mode {"mode", "stall_ms", "dependency_status",
 * "duplicate_status"}, every member optional: 200 with the new settings,
 * or 400 (and no change) for anything unknown or out of range. */
static void
control_set_mode(struct peer *peer, const char *body, struct reply *r)
{
    yajl_val doc = parse_body(body, r);
    enum peer_mode mode = peer->mode;
    long long stall_ms = peer->stall_ms;
    long long dep = peer->dependency_status;
    long long dup = peer->duplicate_status;

    if (!doc) {
        return;
    }
    for (size_t i = 0; i < doc->u.object.len; i++) {
        const char *key = doc->u.object.keys[i];
        yajl_val v = doc->u.object.values[i];
        bool ok;

        if (!strcmp(key, "mode")) {
            size_t m;
            for (m = 0; m < ARRAY_SIZE(mode_names); m++) {
                if (YAJL_IS_STRING(v) && !strcmp(v->u.string, mode_names[m])) {
                    break;
                }
            }
            ok = m < ARRAY_SIZE(mode_names);
            if (ok) {
                mode = m;
            }
        } else if (!strcmp(key, "stall_ms")) {
            ok = json_int_in(v, 0, 3600 * 1000, &stall_ms);
        } else if (!strcmp(key, "dependency_status")) {
            ok = json_int_in(v, 100, 599, &dep);
        } else if (!strcmp(key, "duplicate_status")) {
            ok = json_int_in(v, 100, 599, &dup);
        } else {
            ok = false;
        }
        if (!ok) {
            reply_error(r, 400, "BadRequest", "bad or unknown member \"%s\"",
                        key);
            yajl_tree_free(doc);
            return;
        }
    }
    yajl_tree_free(doc);

    peer->mode = mode;
    peer->stall_ms = stall_ms;
    peer->dependency_status = dep;
    peer->duplicate_status = dup;
    reply_json(r, 200, mode_to_json(peer));
}

/* The value of 'since' in query string 'query', or 0. */
static uint64_t
query_since(const char *query)
{
    int64_t since = 0;

    for (const char *p = query; p && *p; p += strcspn(p, "&"),
         p += *p == '&') {
        if (!strncmp(p, "since=", 6)) {
            char *v = xstrndup(p + 6, strcspn(p + 6, "&"));
            if (!str_to_int64(v, 0, INT64_MAX, &since)) {
                since = 0;
            }
            free(v);
        }
    }
    return since;
}

/* Answers one request under /_peer/. */
static void
control_handle(struct peer *peer, htp_method method, const char *path,
               const char *query, const char *body, struct reply *r)
{
    const char *what = path + strlen(CONTROL_BASE);

    if (!strcmp(what, "/requests") && method == htp_method_GET) {
        reply_json(r, 200, log_to_json(peer, query_since(query)));
    } else if (!strcmp(what, "/requests") && method == htp_method_DELETE) {
        log_clear(peer);
        reply_json(r, 204, NULL);
    } else if (!strcmp(what, "/reset") && method == htp_method_POST) {
        res_clear(peer);
        log_clear(peer);
        state_save(peer);
        reply_json(r, 204, NULL);
    } else if (!strcmp(what, "/mode") && method == htp_method_GET) {
        reply_json(r, 200, mode_to_json(peer));
    } else if (!strcmp(what, "/mode") && method == htp_method_POST) {
        control_set_mode(peer, body, r);
    } else if (!strcmp(what, "/state") && method == htp_method_GET) {
        reply_json(r, 200, state_to_json(peer));
    } else {
        reply_error(r, 404, "NotFound", "no such control request: %s %s",
                    htparser_get_methodstr_m(method), path);
    }
}

/* HTTP glue. */

static void
reply_prepare(evhtp_request_t *req, const struct reply *r)
{
    if (r->body) {
        evbuffer_add(req->buffer_out, r->body, strlen(r->body));
        evhtp_headers_add_header(req->headers_out,
                                 evhtp_header_new("Content-Type",
                                                  "application/json", 0, 0));
    }
    if (r->challenge) {
        evhtp_headers_add_header(req->headers_out,
                                 evhtp_header_new("WWW-Authenticate",
                                                  "Basic realm=\""
                                                  ODL_REALM "\"", 0, 0));
    }
}

static void
stall_destroy(struct stall *s)
{
    DL_DELETE(s->peer->stalls, s);
    event_free(s->timer);
    free(s);
}

/* Called if evhtp frees a held request before its timer fires. */
static evhtp_res
stall_request_fini(evhtp_request_t *req UNUSED, void *s_)
{
    stall_destroy(s_);
    return EVHTP_RES_OK;
}

static void
stall_timer_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *s_)
{
    struct stall *s = s_;
    evhtp_request_t *req = s->req;
    int status = s->status;

    evhtp_request_unset_hook(req, evhtp_hook_on_request_fini);
    stall_destroy(s);
    evhtp_request_resume(req);
    evhtp_send_reply(req, status);
}

/* Holds the answer 'r' to 'req' for stall_ms, then sends it. */
static void
stall_reply(struct peer *peer, evhtp_request_t *req, const struct reply *r)
{
    struct stall *s = xzalloc(sizeof *s);
    struct timeval tv = {
        .tv_sec = peer->stall_ms / 1000,
        .tv_usec = (peer->stall_ms % 1000) * 1000,
    };

    s->peer = peer;
    s->req = req;
    s->status = r->status;
    s->timer = evtimer_new(peer->base, stall_timer_cb, s);
    if (!s->timer) {
        fatal("out of memory");
    }
    DL_APPEND(peer->stalls, s);

    reply_prepare(req, r);
    evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
                           (evhtp_hook) stall_request_fini, s);
    evhtp_request_pause(req);
    evtimer_add(s->timer, &tv);
}

static char *
request_body(evhtp_request_t *req)
{
    size_t len = evbuffer_get_length(req->buffer_in);
    char *body = xmalloc(len + 1);

    evbuffer_copyout(req->buffer_in, body, len);
    body[len] = '\0';
    return body;
}

static void
peer_request_cb(evhtp_request_t *req, void *peer_)
{
    struct peer *peer = peer_;
    htp_method method = evhtp_request_get_method(req);
    const char *methodstr = htparser_get_methodstr_m(method);
    const char *path = (req->uri && req->uri->path && req->uri->path->full
                        ? req->uri->path->full : "/");
    const char *query = (req->uri && req->uri->query_raw
                         ? (const char *) req->uri->query_raw : NULL);
    char *body = request_body(req);
    struct reply r = { .status = 500 };

    /* For a form-encoded body evhtp puts the body in query_raw. */
    if (query && body[0] && !strcmp(query, body)) {
        query = NULL;
    }
    bool control = (!strncmp(path, CONTROL_BASE, strlen(CONTROL_BASE))
                    && (!path[strlen(CONTROL_BASE)]
                        || path[strlen(CONTROL_BASE)] == '/'));

    if (control) {
        control_handle(peer, method, path, query, body, &r);
    } else {
        nb_handle(peer, method, path, body,
                  evhtp_header_find(req->headers_in, "Authorization"), &r);
        log_append(peer, methodstr, path, query, body, r.status);
    }
    if (peer->verbose) {
        fprintf(stderr, "hadron-odl-peer: %s %s -> %d\n", methodstr, path,
                r.status);
    }

    if (!control && peer->mode == MODE_STALL && peer->stall_ms) {
        stall_reply(peer, req, &r);
    } else {
        reply_prepare(req, &r);
        evhtp_send_reply(req, r.status);
    }
    free(r.body);
    free(body);
}

static evhtp_res
conn_fini(evhtp_connection_t *ec UNUSED, void *c_)
{
    struct conn *c = c_;

    DL_DELETE(c->peer->conns, c);
    free(c);
    return EVHTP_RES_OK;
}

static evhtp_res
conn_accepted(evhtp_connection_t *ec, void *peer_)
{
    struct peer *peer = peer_;
    struct conn *c = xzalloc(sizeof *c);

    c->peer = peer;
    c->ec = ec;
    DL_APPEND(peer->conns, c);
    evhtp_connection_set_hook(ec, evhtp_hook_on_connection_fini,
                              (evhtp_hook) conn_fini, c);
    return EVHTP_RES_OK;
}

/* Closes every client connection, and with them any held answers. */
static void
conns_close(struct peer *peer)
{
    while (peer->conns) {
        struct conn *c = peer->conns;
        evhtp_connection_t *ec = c->ec;

        evhtp_connection_unset_hook(ec, evhtp_hook_on_connection_fini);
        DL_DELETE(peer->conns, c);
        free(c);
        evhtp_connection_free(ec);
    }
}

/* A listening TCP socket on 127.0.0.1:'port' with SO_REUSEADDR, so that a
 * restarted peer can take the same port at once. */
static int
listen_socket(int port)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        fatal("socket: %s", strerror(errno));
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)
        || bind(fd, (struct sockaddr *) &sin, sizeof sin)) {
        fatal("127.0.0.1:%d: %s", port, strerror(errno));
    }
    return fd;
}

static int
bound_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    if (getsockname(fd, (struct sockaddr *) &sin, &len)) {
        fatal("getsockname: %s", strerror(errno));
    }
    return ntohs(sin.sin_port);
}

static void
on_signal(evutil_socket_t sig UNUSED, short what UNUSED, void *base)
{
    event_base_loopbreak(base);
}

static void
usage(void)
{
    printf("usage: hadron-odl-peer [OPTIONS]\n"
           "A test stand-in for OpenDaylight's Neutron Northbound API "
           "(see PROTOCOL.md).\n"
           "  --port P                listen on 127.0.0.1:P (0: any; "
           "default 0)\n"
           "  --user U                basic-auth user (default admin)\n"
           "  --password P            basic-auth password (default admin)\n"
           "  --state-file F          load state from F, save it there on "
           "every change\n"
           "  --dependency-status N   answer to a missing dependency "
           "(default 442, as ODL)\n"
           "  --duplicate-status N    answer to a create of an existing id "
           "(default 201:\n"
           "                          accepted and ignored, as ODL)\n"
           "  --verbose               one line per request on stderr\n");
}

static int
parse_status(const char *arg, const char *what)
{
    int64_t v;

    if (!str_to_int64(arg, 100, 599, &v)) {
        fatal("%s: \"%s\" is not an HTTP status", what, arg);
    }
    return v;
}

int
main(int argc, char *argv[])
{
    enum {
        OPT_PORT = 256, OPT_USER, OPT_PASSWORD, OPT_STATE_FILE,
        OPT_DEPENDENCY_STATUS, OPT_DUPLICATE_STATUS, OPT_VERBOSE, OPT_HELP,
    };
    static const struct option options[] = {
        { "port", required_argument, NULL, OPT_PORT },
        { "user", required_argument, NULL, OPT_USER },
        { "password", required_argument, NULL, OPT_PASSWORD },
        { "state-file", required_argument, NULL, OPT_STATE_FILE },
        { "dependency-status", required_argument, NULL,
          OPT_DEPENDENCY_STATUS },
        { "duplicate-status", required_argument, NULL, OPT_DUPLICATE_STATUS },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct peer peer = {
        .next_seq = 1,
        .mode = MODE_NORMAL,
        .stall_ms = 1000,
        .dependency_status = ODL_MISSING_DEPENDENCY,
        .duplicate_status = 201,
    };
    const char *user = "admin";
    const char *password = "admin";
    int64_t port = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            if (!str_to_int64(optarg, 0, 65535, &port)) {
                fatal("--port: \"%s\" is not a port", optarg);
            }
            break;
        case OPT_USER:
            user = optarg;
            break;
        case OPT_PASSWORD:
            password = optarg;
            break;
        case OPT_STATE_FILE:
            peer.state_file = optarg;
            break;
        case OPT_DEPENDENCY_STATUS:
            peer.dependency_status = parse_status(optarg,
                                                  "--dependency-status");
            break;
        case OPT_DUPLICATE_STATUS:
            peer.duplicate_status = parse_status(optarg,
                                                 "--duplicate-status");
            break;
        case OPT_VERBOSE:
            peer.verbose = true;
            break;
        case OPT_HELP:
            usage();
            return EXIT_SUCCESS;
        default:
            usage();
            return EXIT_FAILURE;
        }
    }
    if (optind != argc) {
        fatal("unexpected argument \"%s\"", argv[optind]);
    }

    char *userpass = xasprintf("%s:%s", user, password);
    peer.auth_token = base64_encode(userpass);
    free(userpass);
    peer.start_usec = time_monotonic_usec();
    if (peer.state_file) {
        state_load(&peer);
    }
    signal(SIGPIPE, SIG_IGN);

    peer.base = event_base_new();
    peer.htp = peer.base ? evhtp_new(peer.base, NULL) : NULL;
    if (!peer.htp) {
        fatal("cannot set up the event loop");
    }
    evhtp_set_gencb(peer.htp, peer_request_cb, &peer);
    evhtp_set_post_accept_cb(peer.htp, conn_accepted, &peer);
    int fd = listen_socket(port);
    if (evhtp_accept_socket(peer.htp, fd, 128)) {
        fatal("127.0.0.1:%d: cannot listen", (int) port);
    }
    printf("listening on http://127.0.0.1:%d\n", bound_port(fd));
    fflush(stdout);

    struct event *sigterm = evsignal_new(peer.base, SIGTERM, on_signal,
                                         peer.base);
    struct event *sigint = evsignal_new(peer.base, SIGINT, on_signal,
                                        peer.base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL)
        || evsignal_add(sigint, NULL)) {
        fatal("cannot catch signals");
    }

    event_base_dispatch(peer.base);

    /* Stop accepting, close every connection (which frees held answers
     * too), then let the loop run what that left pending: a freed
     * bufferevent is only released by its deferred callbacks. */
    evhtp_unbind_socket(peer.htp);
    conns_close(&peer);
    while (peer.stalls) {
        evhtp_request_unset_hook(peer.stalls->req,
                                 evhtp_hook_on_request_fini);
        stall_destroy(peer.stalls);
    }
    event_free(sigterm);
    event_free(sigint);
    event_base_loop(peer.base, EVLOOP_NONBLOCK);
    evhtp_free(peer.htp);
    event_base_free(peer.base);
    res_clear(&peer);
    log_clear(&peer);
    free(peer.auth_token);
    return EXIT_SUCCESS;
}
