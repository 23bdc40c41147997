/* backends/odl/driver.c: the `odl` flavor driver (see odl_driver.h).
 *
 * Layout: options and the instance; the driver's memory of the controller
 * ("known": what it last sent or read, per object); JSON helpers; the
 * bodies built from the router document; requests and what their answers
 * mean; the steps an entry is made of (ensure a dependency, send the
 * resource, collect what nothing refers to any more); the ops.
 *
 * Every op runs on the driver's dispatcher thread, never two at a time
 * (flavors/driver.h), so the instance needs no lock. */
#include "backends/odl/odl_driver.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "backends/odl/client.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "odl"
#define ODL_CAPS (HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY               \
                  | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES  \
                  | HADRON_L3_CAP_IPV6 | HADRON_L3_CAP_ADMIN_DOWN          \
                  | HADRON_L3_CAP_L2_DOCUMENT)
#define DEFAULT_URL "http://127.0.0.1:8080/controller/nb/v2/neutron"
#define OWNER_INTERFACE "network:router_interface"
#define OWNER_GATEWAY "network:router_gateway"

/* The controller's collections, in dependency order. */
enum odl_type { ODL_NETWORK, ODL_SUBNET, ODL_ROUTER, ODL_PORT, ODL_FIP,
                ODL_N_TYPES };

static const struct {
    const char *singular;
    const char *plural;
} types[ODL_N_TYPES] = {
    [ODL_NETWORK] = { "network", "networks" },
    [ODL_SUBNET] = { "subnet", "subnets" },
    [ODL_ROUTER] = { "router", "routers" },
    [ODL_PORT] = { "port", "ports" },
    [ODL_FIP] = { "floatingip", "floatingips" },
};

/* What the driver believes the controller holds: the inner JSON of an
 * object as last sent with success or read back. */
struct known {
    char *key;                  /* "<plural>/<id>" */
    char *inner;
    UT_hash_handle hh;
};

/* Server errors met by one entry, for retry_count. */
struct attempt {
    int64_t seq;
    int server_errors;
    UT_hash_handle hh;
};

struct candidates;

struct odl {
    struct odl_client *client;
    int timeout_ms;
    int sync_timeout_ms;
    int retry_count;
    struct known *known;        /* uthash */
    struct attempt *attempts;   /* uthash */
    /* Networks, subnets and ports come with L2 entries of their own (a
     * document said "journaled"): they are not collected after L3
     * removals, the L2 entries remove them. */
    bool journaled;
    /* What a collect() could not finish (the controller failed it, so
     * the entry is retried): collected first thing after the next
     * entry, because a retried delete finds its object already gone and
     * no longer knows what it left without referrers. */
    struct candidates *leftover;
};

/* ---- Options ---- */

/* networking-odl [ml2_odl] options that have no meaning here. */
static const char *const ignored_options[] = {
    "port_binding_controller", "odl_features", "odl_features_json",
    "enable_dhcp_service", "enable_websocket_pseudo_agentdb",
    "enable_full_sync", "session_timeout", "maintenance_interval",
    "completed_rows_retention", "processing_timeout",
    "restconf_poll_interval", "websocket_connect_timeout",
    "enable_lightweight_testing",
};

static bool
parse_seconds(const char *value, int *ms)
{
    char *end;
    double s = strtod(value, &end);

    if (end == value || *end || !(s > 0) || s > 3600) {
        return false;
    }
    *ms = (int) ceil(s * 1000);
    return true;
}

static void odl_destroy(void *state);
static void leftover_clear(struct odl *o);

static int
odl_init(const struct hadron_l3_config *cfg, void **state, char *err,
         size_t err_size)
{
    struct odl_client_options copt = { .url = DEFAULT_URL };
    struct odl *o = xzalloc(sizeof *o);
    int error = 0;

    o->timeout_ms = 10000;
    o->sync_timeout_ms = 10000;
    o->retry_count = 5;
    for (size_t i = 0; i < cfg->n_options && !error; i++) {
        const char *key = cfg->options[i].key;
        const char *value = cfg->options[i].value;
        int64_t n;
        bool ignored = false;

        for (size_t j = 0; j < ARRAY_SIZE(ignored_options); j++) {
            ignored |= !strcmp(key, ignored_options[j]);
        }
        if (ignored) {
            LOG_INFO(MOD, "option %s has no meaning for this driver "
                     "(ignored)", key);
        } else if (!strcmp(key, "url")) {
            copt.url = value;
        } else if (!strcmp(key, "username")) {
            copt.username = value;
        } else if (!strcmp(key, "password")) {
            copt.password = value;
        } else if (!strcmp(key, "ca_file")) {
            copt.ca_file = value;
        } else if (!strcmp(key, "timeout")) {
            if (!parse_seconds(value, &o->timeout_ms)) {
                snprintf(err, err_size, "timeout: '%s' is not a number of "
                         "seconds in (0, 3600]", value);
                error = EINVAL;
            }
        } else if (!strcmp(key, "sync_timeout")) {
            if (!parse_seconds(value, &o->sync_timeout_ms)) {
                snprintf(err, err_size, "sync_timeout: '%s' is not a number "
                         "of seconds in (0, 3600]", value);
                error = EINVAL;
            }
        } else if (!strcmp(key, "retry_count")) {
            if (!str_to_int64(value, 0, 1000000, &n)) {
                snprintf(err, err_size, "retry_count: '%s' is not an "
                         "integer in [0, 1000000]", value);
                error = EINVAL;
            }
            o->retry_count = (int) n;
        } else {
            snprintf(err, err_size, "unknown option '%s' (options: url, "
                     "username, password, timeout, sync_timeout, "
                     "retry_count, ca_file)", key);
            error = EINVAL;
        }
    }
    if (!error) {
        copt.connect_timeout_ms = o->timeout_ms;
        o->client = odl_client_create(&copt, err, err_size);
        if (!o->client) {
            error = EINVAL;
        }
    }
    if (error) {
        odl_destroy(o);
        return error;
    }
    LOG_INFO(MOD, "controller %s, timeout %d ms, sync_timeout %d ms, "
             "retry_count %d", odl_client_url(o->client), o->timeout_ms,
             o->sync_timeout_ms, o->retry_count);
    *state = o;
    return 0;
}

static void
known_clear(struct odl *o)
{
    struct known *k, *tmp;

    HASH_ITER(hh, o->known, k, tmp) {
        HASH_DEL(o->known, k);
        free(k->key);
        free(k->inner);
        free(k);
    }
}

static void
attempts_clear(struct odl *o)
{
    struct attempt *a, *tmp;

    HASH_ITER(hh, o->attempts, a, tmp) {
        HASH_DEL(o->attempts, a);
        free(a);
    }
}

static void
odl_destroy(void *state)
{
    struct odl *o = state;

    if (!o) {
        return;
    }
    known_clear(o);
    attempts_clear(o);
    leftover_clear(o);
    odl_client_destroy(o->client);
    free(o);
}

static unsigned int
odl_capabilities(void *state)
{
    return ODL_CAPS;
}

/* ---- The driver's memory of the controller ---- */

static struct known *
known_find(struct odl *o, enum odl_type t, const char *id)
{
    char *key = xasprintf("%s/%s", types[t].plural, id);
    struct known *k;

    HASH_FIND_STR(o->known, key, k);
    free(key);
    return k;
}

static void
known_set(struct odl *o, enum odl_type t, const char *id, const char *inner)
{
    struct known *k = known_find(o, t, id);

    if (!k) {
        k = xzalloc(sizeof *k);
        k->key = xasprintf("%s/%s", types[t].plural, id);
        HASH_ADD_KEYPTR(hh, o->known, k->key, strlen(k->key), k);
    }
    free(k->inner);
    k->inner = xstrdup(inner);
}

static void
known_del(struct odl *o, enum odl_type t, const char *id)
{
    struct known *k = known_find(o, t, id);

    if (k) {
        HASH_DEL(o->known, k);
        free(k->key);
        free(k->inner);
        free(k);
    }
}

/* ---- JSON helpers ---- */

static const char *
jstr(yajl_val obj, const char *key)
{
    yajl_val v = jsonv_member(obj, key);
    return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static bool
str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static bool
number_eq(yajl_val a, yajl_val b)
{
    if (!strcmp(a->u.number.r, b->u.number.r)) {
        return true;
    }
    return YAJL_IS_DOUBLE(a) && YAJL_IS_DOUBLE(b)
           && a->u.number.d == b->u.number.d;
}

static bool json_covers__(yajl_val theirs, yajl_val mine, bool top);

/* True if 'theirs' holds everything 'mine' says: every member of an
 * object (a null member may also be absent), arrays element by element,
 * scalars equal.  The controller may keep more than it was sent.  The
 * objects' own revision_number is not compared: a change of revision
 * alone (a router's, when an interface is added) is no change for the
 * controller. */
static bool
json_covers(yajl_val theirs, yajl_val mine)
{
    return json_covers__(theirs, mine, true);
}

static bool
json_covers__(yajl_val theirs, yajl_val mine, bool top)
{
    if (!mine || YAJL_IS_NULL(mine)) {
        return !theirs || YAJL_IS_NULL(theirs);
    }
    if (!theirs) {
        return false;
    }
    if (YAJL_IS_OBJECT(mine)) {
        if (!YAJL_IS_OBJECT(theirs)) {
            return false;
        }
        for (size_t i = 0; i < mine->u.object.len; i++) {
            const char *key = mine->u.object.keys[i];
            if (top && !strcmp(key, "revision_number")) {
                continue;
            }
            if (!json_covers__(jsonv_member(theirs, key),
                               mine->u.object.values[i], false)) {
                return false;
            }
        }
        return true;
    }
    if (YAJL_IS_ARRAY(mine)) {
        if (!YAJL_IS_ARRAY(theirs)
            || theirs->u.array.len != mine->u.array.len) {
            return false;
        }
        for (size_t i = 0; i < mine->u.array.len; i++) {
            if (!json_covers__(theirs->u.array.values[i],
                               mine->u.array.values[i], false)) {
                return false;
            }
        }
        return true;
    }
    if (YAJL_IS_STRING(mine)) {
        return YAJL_IS_STRING(theirs)
               && str_eq(mine->u.string, theirs->u.string);
    }
    if (YAJL_IS_NUMBER(mine)) {
        return YAJL_IS_NUMBER(theirs) && number_eq(mine, theirs);
    }
    return theirs->type == mine->type;      /* true, false */
}

/* Same, with 'mine' as JSON text. */
static bool
json_covers_text(yajl_val theirs, const char *mine_text)
{
    yajl_val mine = yajl_tree_parse(mine_text, NULL, 0);
    bool covers = mine && json_covers(theirs, mine);

    yajl_tree_free(mine);
    return covers;
}

/* The element of array 'list' whose "id" is 'id', or NULL. */
static yajl_val
find_by_id(yajl_val list, const char *id)
{
    for (size_t i = 0; id && YAJL_IS_ARRAY(list) && i < list->u.array.len;
         i++) {
        if (str_eq(jstr(list->u.array.values[i], "id"), id)) {
            return list->u.array.values[i];
        }
    }
    return NULL;
}

/* The router document's "l2" list 'which' ("networks", "subnets",
 * "ports"). */
static yajl_val
l2_list(yajl_val doc, const char *which)
{
    return jsonv_member(jsonv_member(doc, "l2"), which);
}

/* ---- Bodies (the inner object of {"<singular>": ...}) ---- */

/* A network, subnet or port from the document's "l2" member: Neutron's
 * dict as the document has it, with tenant_id after project_id. */
static char *
l2_inner(yajl_val item)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    for (size_t i = 0; i < item->u.object.len; i++) {
        const char *key = item->u.object.keys[i];
        json_key(g, key);
        json_value(g, item->u.object.values[i]);
        if (!strcmp(key, "project_id")) {
            json_key(g, "tenant_id");
            json_value(g, item->u.object.values[i]);
        }
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

static void
gen_copy(yajl_gen g, yajl_val obj, const char *key)
{
    json_key(g, key);
    json_value(g, jsonv_member(obj, key));
}

/* A router from its document. */
static char *
router_inner(yajl_val doc)
{
    yajl_val gw = jsonv_member(doc, "external_gateway_info");
    yajl_val rev = jsonv_member(doc, "revision_number");
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    gen_copy(g, doc, "id");
    gen_copy(g, doc, "name");
    gen_copy(g, doc, "project_id");
    json_key(g, "tenant_id");
    json_value(g, jsonv_member(doc, "project_id"));
    gen_copy(g, doc, "admin_state_up");
    json_key(g, "external_gateway_info");
    if (YAJL_IS_OBJECT(gw)) {
        yajl_gen_map_open(g);
        gen_copy(g, gw, "network_id");
        gen_copy(g, gw, "enable_snat");
        gen_copy(g, gw, "external_fixed_ips");
        yajl_gen_map_close(g);
        json_key(g, "gw_port_id");
        json_str(g, jstr(jsonv_member(gw, "port"), "id"));
    } else {
        yajl_gen_null(g);
    }
    json_key(g, "routes");
    if (YAJL_IS_ARRAY(jsonv_member(doc, "routes"))) {
        json_value(g, jsonv_member(doc, "routes"));
    } else {
        yajl_gen_array_open(g);
        yajl_gen_array_close(g);
    }
    if (YAJL_IS_NUMBER(rev)) {
        json_key(g, "revision_number");
        json_value(g, rev);
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

/* A floating IP from its item in the document of router 'router_id'. */
static char *
fip_inner(yajl_val fip, const char *router_id)
{
    yajl_val rev = jsonv_member(fip, "revision_number");
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    gen_copy(g, fip, "id");
    if (jsonv_member(fip, "project_id")) {
        gen_copy(g, fip, "project_id");
        json_key(g, "tenant_id");
        json_value(g, jsonv_member(fip, "project_id"));
    }
    gen_copy(g, fip, "floating_network_id");
    gen_copy(g, fip, "floating_ip_address");
    json_key(g, "router_id");
    json_str(g, router_id);
    gen_copy(g, fip, "port_id");
    gen_copy(g, fip, "fixed_ip_address");
    if (YAJL_IS_NUMBER(rev)) {
        json_key(g, "revision_number");
        json_value(g, rev);
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

static const char canary_inner[] =
    "{\"id\": \"" ODL_CANARY_NETWORK_ID "\", "
    "\"name\": \"Sync Canary Network\", "
    "\"tenant_id\": \"bd8db3a82b304083a8b3b3fd46401142\", "
    "\"project_id\": \"bd8db3a82b304083a8b3b3fd46401142\", "
    "\"admin_state_up\": false}";

/* ---- Requests ---- */

/* One apply(), sync_all() or health(): where its outcome goes. */
struct run {
    struct odl *o;
    int timeout_ms;
    enum hadron_l3_result result;   /* OK until something fails */
    bool server_error;              /* a 5xx other than 503 was met */
    bool trusted_memory;            /* a step relied on 'known' */
    bool dependency;                /* the controller missed a dependency */
    char *msg;
    size_t msg_size;
};

static void
run_fail(struct run *r, enum hadron_l3_result result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
run_fail(struct run *r, enum hadron_l3_result result, const char *fmt, ...)
{
    if (r->result != HADRON_L3_OK) {
        return;                 /* the first failure is the reason */
    }
    r->result = result;
    va_list args;
    va_start(args, fmt);
    vsnprintf(r->msg, r->msg_size, fmt, args);
    va_end(args);
}

/* Sends one request.  Returns true with '*resp' when the controller
 * answered; false (the run failed with RETRY) when it did not. */
static bool
call(struct run *r, const char *method, const char *path, const char *body,
     struct odl_response *resp)
{
    char err[512] = "";
    uint64_t start = time_monotonic_usec();
    bool answered = odl_client_request(r->o->client, method, path, body,
                                       r->timeout_ms, resp, err, sizeof err);

    LOG_DBG(MOD, "%s %s -> %ld (%" PRIu64 " ms)", method, path,
            resp->status, (time_monotonic_usec() - start) / 1000);
    if (!answered) {
        run_fail(r, HADRON_L3_RETRY, "controller %s unreachable: %s",
                 odl_client_url(r->o->client), err);
    }
    return answered;
}

/* Fails the run for an answer that is not a success: 5xx RETRY, any
 * other FAILED, with the answer as the reason. */
static void
fail_answer(struct run *r, const char *method, const char *path,
            const struct odl_response *resp)
{
    char excerpt[256];
    size_t j = 0;

    for (size_t i = 0; resp->body && resp->body[i] && j + 1 < sizeof excerpt;
         i++) {
        char c = resp->body[i];
        excerpt[j++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
    }
    excerpt[j] = '\0';
    if (resp->status == 442 || strstr(excerpt, "DependencyMissing")) {
        r->dependency = true;
    }
    if (resp->status >= 500) {
        if (resp->status != 503) {
            r->server_error = true;
        }
        run_fail(r, HADRON_L3_RETRY, "%s %s: controller answered %ld%s%s",
                 method, path, resp->status, *excerpt ? ": " : "", excerpt);
    } else {
        run_fail(r, HADRON_L3_FAILED, "%s %s: controller refused with "
                 "%ld%s%s", method, path, resp->status, *excerpt ? ": " : "",
                 excerpt);
    }
}

static bool
is_success(long status)
{
    return status >= 200 && status < 300;
}

/* GETs object 't' 'id'.  Returns 1 with the parsed answer in '*tree' and
 * the object in '*obj' (the caller frees '*tree'), 0 if the controller
 * has none, -1 if the run failed. */
static int
get_object(struct run *r, enum odl_type t, const char *id, yajl_val *tree,
           yajl_val *obj)
{
    struct odl_response resp;
    char *path = xasprintf("%s/%s", types[t].plural, id);
    int found = -1;

    *tree = *obj = NULL;
    if (call(r, "GET", path, NULL, &resp)) {
        if (resp.status == 404) {
            found = 0;
        } else if (!is_success(resp.status)) {
            fail_answer(r, "GET", path, &resp);
        } else {
            *tree = yajl_tree_parse(resp.body, NULL, 0);
            *obj = jsonv_member(*tree, types[t].singular);
            if (YAJL_IS_OBJECT(*obj)) {
                found = 1;
            } else {
                run_fail(r, HADRON_L3_RETRY, "GET %s: the controller's "
                         "answer is not {\"%s\": {...}}", path,
                         types[t].singular);
                yajl_tree_free(*tree);
                *tree = *obj = NULL;
            }
        }
    }
    odl_response_destroy(&resp);
    free(path);
    return found;
}

/* GETs collection 't'.  Returns true with the parsed answer in '*tree'
 * and the array in '*list' (the caller frees '*tree'). */
static bool
get_list(struct run *r, enum odl_type t, yajl_val *tree, yajl_val *list)
{
    struct odl_response resp;
    bool ok = false;

    *tree = *list = NULL;
    if (call(r, "GET", types[t].plural, NULL, &resp)) {
        if (!is_success(resp.status)) {
            fail_answer(r, "GET", types[t].plural, &resp);
        } else {
            *tree = yajl_tree_parse(resp.body, NULL, 0);
            *list = jsonv_member(*tree, types[t].plural);
            ok = YAJL_IS_ARRAY(*list);
            if (!ok) {
                run_fail(r, HADRON_L3_RETRY, "GET %s: the controller's "
                         "answer is not {\"%s\": [...]}", types[t].plural,
                         types[t].plural);
                yajl_tree_free(*tree);
                *tree = *list = NULL;
            }
        }
    }
    odl_response_destroy(&resp);
    return ok;
}

enum send_how { VIA_POST, VIA_PUT };

/* Makes the controller hold 'inner' as object 't' 'id': POST (an
 * "already exists" 409 is followed by a PUT) or PUT (a 404 is followed by
 * a POST).  Returns true on success. */
static bool
send_object(struct run *r, enum odl_type t, const char *id,
            const char *inner, enum send_how how)
{
    char *body = xasprintf("{\"%s\": %s}", types[t].singular, inner);
    char *item_path = xasprintf("%s/%s", types[t].plural, id);
    bool ok = false;

    for (int step = 0; step < 2; step++) {
        struct odl_response resp;
        bool post = how == VIA_POST;
        const char *method = post ? "POST" : "PUT";
        const char *path = post ? types[t].plural : item_path;

        if (!call(r, method, path, body, &resp)) {
            odl_response_destroy(&resp);
            break;
        }
        long status = resp.status;
        if (is_success(status)) {
            ok = true;
        } else if (step == 0 && ((post && status == 409)
                                 || (!post && status == 404))) {
            how = post ? VIA_PUT : VIA_POST;
            odl_response_destroy(&resp);
            continue;
        } else {
            fail_answer(r, method, path, &resp);
        }
        odl_response_destroy(&resp);
        break;
    }
    if (ok) {
        known_set(r->o, t, id, inner);
    }
    free(body);
    free(item_path);
    return ok;
}

/* DELETEs object 't' 'id' (a 404 is success).  When 'in_use' is nonnull,
 * a 409 (the controller says something still refers to it) sets it and is
 * not a failure. */
static bool
delete_object(struct run *r, enum odl_type t, const char *id, bool *in_use)
{
    struct odl_response resp;
    char *path = xasprintf("%s/%s", types[t].plural, id);
    bool ok = false;

    if (call(r, "DELETE", path, NULL, &resp)) {
        if (is_success(resp.status) || resp.status == 404) {
            ok = true;
            known_del(r->o, t, id);
        } else if (resp.status == 409 && in_use) {
            *in_use = true;
            ok = true;
        } else {
            fail_answer(r, "DELETE", path, &resp);
        }
    }
    odl_response_destroy(&resp);
    free(path);
    return ok;
}

/* Makes sure the controller holds 'inner' as 't' 'id', sending it only
 * when the driver does not know the controller to hold it already. */
static bool
ensure(struct run *r, enum odl_type t, const char *id, const char *inner)
{
    struct known *k = known_find(r->o, t, id);

    if (k) {
        r->trusted_memory = true;
        if (!strcmp(k->inner, inner)) {
            return true;
        }
        yajl_val held = yajl_tree_parse(k->inner, NULL, 0);
        bool same = held && json_covers_text(held, inner);
        yajl_tree_free(held);
        return same || send_object(r, t, id, inner, VIA_PUT);
    }

    yajl_val tree, obj;
    int found = get_object(r, t, id, &tree, &obj);
    bool ok;
    if (found < 0) {
        return false;
    } else if (!found) {
        ok = send_object(r, t, id, inner, VIA_POST);
    } else if (json_covers_text(obj, inner)) {
        known_set(r->o, t, id, inner);
        ok = true;
    } else {
        ok = send_object(r, t, id, inner, VIA_PUT);
    }
    yajl_tree_free(tree);
    return ok;
}

/* Ensures the "l2" item 'which' 'id' of 'doc'. */
static bool
ensure_l2(struct run *r, yajl_val doc, enum odl_type t, const char *id)
{
    yajl_val item = find_by_id(l2_list(doc, types[t].plural), id);

    if (!YAJL_IS_OBJECT(item)) {
        run_fail(r, HADRON_L3_FAILED, "the router document has no %s %s "
                 "(its \"l2\" member lacks it)", types[t].singular,
                 id ? id : "(null)");
        return false;
    }
    char *inner = l2_inner(item);
    bool ok = ensure(r, t, id, inner);
    free(inner);
    return ok;
}

/* Ensures what port 'port_id' of 'doc' depends on: its network, then the
 * subnets of its addresses.  Stores the port's item in '*port'. */
static bool
ensure_port_deps(struct run *r, yajl_val doc, const char *port_id,
                 yajl_val *port)
{
    *port = find_by_id(l2_list(doc, "ports"), port_id);
    if (!YAJL_IS_OBJECT(*port)) {
        run_fail(r, HADRON_L3_FAILED, "the router document has no port %s "
                 "(its \"l2\" member lacks it)", port_id);
        return false;
    }
    if (!ensure_l2(r, doc, ODL_NETWORK, jstr(*port, "network_id"))) {
        return false;
    }
    yajl_val ips = jsonv_member(*port, "fixed_ips");
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        const char *subnet_id = jstr(ips->u.array.values[i], "subnet_id");
        if (subnet_id && !ensure_l2(r, doc, ODL_SUBNET, subnet_id)) {
            return false;
        }
    }
    return true;
}

/* Sends port 'port_id' of 'doc' after its dependencies: POSTed when
 * 'create' (the port an entry creates), else ensured. */
static bool
send_port(struct run *r, yajl_val doc, const char *port_id, bool create)
{
    yajl_val port;

    if (!ensure_port_deps(r, doc, port_id, &port)) {
        return false;
    }
    char *inner = l2_inner(port);
    bool ok = create ? send_object(r, ODL_PORT, port_id, inner, VIA_POST)
                     : ensure(r, ODL_PORT, port_id, inner);
    free(inner);
    return ok;
}

static const char *gw_port_id_of(yajl_val router_inner_or_doc);

/* Ensures what the router of 'doc' depends on: the external network and
 * the subnets of its gateway port's addresses. */
static bool
ensure_router_deps(struct run *r, yajl_val doc)
{
    yajl_val gw = jsonv_member(doc, "external_gateway_info");
    const char *gw_port = gw_port_id_of(doc);
    yajl_val port;

    if (!YAJL_IS_OBJECT(gw)) {
        return true;
    }
    return gw_port ? ensure_port_deps(r, doc, gw_port, &port)
                   : ensure_l2(r, doc, ODL_NETWORK, jstr(gw, "network_id"));
}

/* Ensures the router of 'doc', after its dependencies, and then its
 * gateway port. */
static bool
ensure_router(struct run *r, yajl_val doc)
{
    const char *gw_port = gw_port_id_of(doc);

    if (!ensure_router_deps(r, doc)) {
        return false;
    }
    char *inner = router_inner(doc);
    bool ok = ensure(r, ODL_ROUTER, jstr(doc, "id"), inner);
    free(inner);
    return ok && (!gw_port || send_port(r, doc, gw_port, false));
}

/* ---- Collecting what nothing refers to ---- */

struct idset {
    char **ids;
    size_t n;
};

static bool
idset_has(const struct idset *s, const char *id)
{
    for (size_t i = 0; id && i < s->n; i++) {
        if (!strcmp(s->ids[i], id)) {
            return true;
        }
    }
    return false;
}

static void
idset_add(struct idset *s, const char *id)
{
    if (id && *id && !idset_has(s, id)) {
        s->ids = xrealloc(s->ids, (s->n + 1) * sizeof *s->ids);
        s->ids[s->n++] = xstrdup(id);
    }
}

static void
idset_destroy(struct idset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->ids[i]);
    }
    free(s->ids);
    s->ids = NULL;
    s->n = 0;
}

/* What a removal may have left without referrers. */
struct candidates {
    struct idset ports;         /* ports floating IPs pointed at */
    struct idset subnets;
    struct idset networks;
};

static void
candidates_destroy(struct candidates *c)
{
    idset_destroy(&c->ports);
    idset_destroy(&c->subnets);
    idset_destroy(&c->networks);
}

/* Adds every id of 'from' to 'to'. */
static void
candidates_merge(struct candidates *to, const struct candidates *from)
{
    for (size_t i = 0; i < from->ports.n; i++) {
        idset_add(&to->ports, from->ports.ids[i]);
    }
    for (size_t i = 0; i < from->subnets.n; i++) {
        idset_add(&to->subnets, from->subnets.ids[i]);
    }
    for (size_t i = 0; i < from->networks.n; i++) {
        idset_add(&to->networks, from->networks.ids[i]);
    }
}

/* Forgets the driver's leftover candidates. */
static void
leftover_clear(struct odl *o)
{
    if (o->leftover) {
        candidates_destroy(o->leftover);
        free(o->leftover);
        o->leftover = NULL;
    }
}

/* Adds port 'port' (a controller or document object)'s network and
 * subnets to 'c'. */
static void
candidates_add_port_deps(struct candidates *c, yajl_val port)
{
    idset_add(&c->networks, jstr(port, "network_id"));
    yajl_val ips = jsonv_member(port, "fixed_ips");
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        idset_add(&c->subnets, jstr(ips->u.array.values[i], "subnet_id"));
    }
}

static bool
port_has_subnet(yajl_val port, const char *subnet_id)
{
    yajl_val ips = jsonv_member(port, "fixed_ips");
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        if (str_eq(jstr(ips->u.array.values[i], "subnet_id"), subnet_id)) {
            return true;
        }
    }
    return false;
}

static bool
is_router_owned(yajl_val port)
{
    const char *owner = jstr(port, "device_owner");
    return owner && str_starts_with(owner, "network:router_");
}

/* Removes from the controller the candidates nothing on it refers to any
 * more: a port no floating IP points at (never a router's own port), a
 * subnet no port has an address on, a network no port, router gateway or
 * floating IP is on (with its remaining subnets).  The controller's lists
 * are read once, after the removals that made the candidates. */
static bool
collect(struct run *r, struct candidates *c)
{
    yajl_val trees[ODL_N_TYPES] = { NULL };
    yajl_val lists[ODL_N_TYPES] = { NULL };
    struct idset gone_ports = { NULL, 0 }, gone_subnets = { NULL, 0 };
    bool ok = true;

    if (r->o->leftover) {
        candidates_merge(c, r->o->leftover);
        leftover_clear(r->o);
    }
    if (r->o->journaled || (!c->ports.n && !c->subnets.n
                             && !c->networks.n)) {
        return true;
    }
    static const enum odl_type needed[] = {
        ODL_FIP, ODL_PORT, ODL_ROUTER, ODL_SUBNET,
    };
    for (size_t i = 0; ok && i < ARRAY_SIZE(needed); i++) {
        ok = get_list(r, needed[i], &trees[needed[i]], &lists[needed[i]]);
    }
    yajl_val fips = lists[ODL_FIP], ports = lists[ODL_PORT];
    yajl_val routers = lists[ODL_ROUTER], subnets = lists[ODL_SUBNET];

    /* Ports floating IPs pointed at. */
    for (size_t i = 0; ok && i < c->ports.n; i++) {
        const char *id = c->ports.ids[i];
        yajl_val port = find_by_id(ports, id);
        bool used = !port || is_router_owned(port);
        for (size_t j = 0; !used && j < fips->u.array.len; j++) {
            used = str_eq(jstr(fips->u.array.values[j], "port_id"), id);
        }
        if (!used) {
            ok = delete_object(r, ODL_PORT, id, NULL);
            idset_add(&gone_ports, id);
            candidates_add_port_deps(c, port);
        }
    }

    /* Subnets. */
    for (size_t i = 0; ok && i < c->subnets.n; i++) {
        const char *id = c->subnets.ids[i];
        yajl_val subnet = find_by_id(subnets, id);
        bool used = !subnet;
        for (size_t j = 0; !used && j < ports->u.array.len; j++) {
            yajl_val p = ports->u.array.values[j];
            used = !idset_has(&gone_ports, jstr(p, "id"))
                   && port_has_subnet(p, id);
        }
        if (!used) {
            bool in_use = false;
            ok = delete_object(r, ODL_SUBNET, id, &in_use);
            if (!in_use) {
                idset_add(&gone_subnets, id);
            }
            idset_add(&c->networks, jstr(subnet, "network_id"));
        }
    }

    /* Networks. */
    for (size_t i = 0; ok && i < c->networks.n; i++) {
        const char *id = c->networks.ids[i];
        bool used = !strcmp(id, ODL_CANARY_NETWORK_ID);
        for (size_t j = 0; !used && j < ports->u.array.len; j++) {
            yajl_val p = ports->u.array.values[j];
            used = !idset_has(&gone_ports, jstr(p, "id"))
                   && str_eq(jstr(p, "network_id"), id);
        }
        for (size_t j = 0; !used && j < routers->u.array.len; j++) {
            yajl_val gw = jsonv_member(routers->u.array.values[j],
                                       "external_gateway_info");
            used = str_eq(jstr(gw, "network_id"), id);
        }
        for (size_t j = 0; !used && j < fips->u.array.len; j++) {
            used = str_eq(jstr(fips->u.array.values[j],
                               "floating_network_id"), id);
        }
        if (used) {
            continue;
        }
        for (size_t j = 0; ok && j < subnets->u.array.len; j++) {
            yajl_val s = subnets->u.array.values[j];
            const char *sid = jstr(s, "id");
            if (str_eq(jstr(s, "network_id"), id) && sid
                && !idset_has(&gone_subnets, sid)) {
                bool in_use = false;
                ok = delete_object(r, ODL_SUBNET, sid, &in_use);
                idset_add(&gone_subnets, sid);
            }
        }
        bool in_use = false;
        if (ok) {
            ok = delete_object(r, ODL_NETWORK, id, &in_use);
        }
    }

    for (size_t i = 0; i < ODL_N_TYPES; i++) {
        yajl_tree_free(trees[i]);
    }
    idset_destroy(&gone_ports);
    idset_destroy(&gone_subnets);
    if (!ok) {
        r->o->leftover = xzalloc(sizeof *r->o->leftover);
        candidates_merge(r->o->leftover, c);
    }
    return ok;
}

/* ---- Entries ---- */

/* The router's own ports of kind 'owner' (NULL: both kinds) on the
 * controller, but 'keep', are deleted; their networks and subnets become
 * candidates. */
static bool
delete_router_ports(struct run *r, const char *router_id, const char *owner,
                    const char *keep, struct candidates *c)
{
    yajl_val tree, list;
    bool ok = get_list(r, ODL_PORT, &tree, &list);

    for (size_t i = 0; ok && i < list->u.array.len; i++) {
        yajl_val p = list->u.array.values[i];
        const char *id = jstr(p, "id");
        if (!id || !str_eq(jstr(p, "device_id"), router_id)
            || !is_router_owned(p) || str_eq(id, keep)
            || (owner && !str_eq(jstr(p, "device_owner"), owner))) {
            continue;
        }
        ok = delete_object(r, ODL_PORT, id, NULL);
        candidates_add_port_deps(c, p);
    }
    yajl_tree_free(tree);
    return ok;
}

static const char *
gw_port_id_of(yajl_val router_inner_or_doc)
{
    const char *id = jstr(router_inner_or_doc, "gw_port_id");
    if (!id) {
        yajl_val gw = jsonv_member(router_inner_or_doc,
                                   "external_gateway_info");
        id = jstr(jsonv_member(gw, "port"), "id");
    }
    return id;
}

static void
apply_router(struct run *r, const struct hadron_l3_entry *e, yajl_val data,
             yajl_val now)
{
    struct candidates c = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    const char *id = e->resource_id;

    if (!strcmp(e->operation, "delete")) {
        /* Its ports and floating IPs left on the controller (a flavor
         * change tears down a router that still has them), the router,
         * then what nothing refers to. */
        bool ok = delete_router_ports(r, id, NULL, NULL, &c);
        yajl_val tree = NULL, fips = NULL;
        if (ok) {
            ok = get_list(r, ODL_FIP, &tree, &fips);
        }
        for (size_t i = 0; ok && i < fips->u.array.len; i++) {
            yajl_val f = fips->u.array.values[i];
            if (str_eq(jstr(f, "router_id"), id) && jstr(f, "id")) {
                ok = delete_object(r, ODL_FIP, jstr(f, "id"), NULL);
                idset_add(&c.ports, jstr(f, "port_id"));
                idset_add(&c.networks, jstr(f, "floating_network_id"));
            }
        }
        yajl_tree_free(tree);
        if (ok) {
            ok = delete_object(r, ODL_ROUTER, id, NULL);
        }
        idset_add(&c.networks, jstr(jsonv_member(data,
                                                 "external_gateway_info"),
                                    "network_id"));
        if (ok) {
            collect(r, &c);
        }
        candidates_destroy(&c);
        return;
    }

    if (!now) {
        return;                 /* gone: its delete follows */
    }
    /* The gateway port the controller holds, if the driver knows. */
    char *old_gw = NULL;
    bool old_known = false;
    struct known *k = known_find(r->o, ODL_ROUTER, id);
    if (k) {
        yajl_val old = yajl_tree_parse(k->inner, NULL, 0);
        const char *s = gw_port_id_of(old);
        old_gw = s ? xstrdup(s) : NULL;
        old_known = old != NULL;
        yajl_tree_free(old);
    }

    const char *gw_port = gw_port_id_of(now);
    bool ok = ensure_router_deps(r, now);
    if (ok) {
        char *inner = router_inner(now);
        ok = send_object(r, ODL_ROUTER, id, inner,
                         !strcmp(e->operation, "create") ? VIA_POST
                                                         : VIA_PUT);
        free(inner);
    }
    if (ok && gw_port) {
        ok = send_port(r, now, gw_port, false);
    }
    /* A gateway port the router no longer has (cleared or changed). */
    if (ok && strcmp(e->operation, "create")
        && (!old_known || !str_eq(old_gw, gw_port))) {
        ok = delete_router_ports(r, id, OWNER_GATEWAY, gw_port, &c);
        if (ok) {
            collect(r, &c);
        }
    }
    free(old_gw);
    candidates_destroy(&c);
}

static void
apply_interface(struct run *r, const struct hadron_l3_entry *e,
                yajl_val data, yajl_val now)
{
    const char *port_id = e->resource_id;

    if (!strcmp(e->operation, "delete")) {
        struct candidates c = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
        if (delete_object(r, ODL_PORT, port_id, NULL)) {
            candidates_add_port_deps(&c, data);
            collect(r, &c);
        }
        candidates_destroy(&c);
        return;
    }
    if (!now || !find_by_id(l2_list(now, "ports"), port_id)) {
        return;                 /* gone: its delete follows */
    }
    yajl_val port;
    if (!ensure_port_deps(r, now, port_id, &port) || !ensure_router(r, now)) {
        return;
    }
    char *inner = l2_inner(port);
    if (r->o->journaled) {
        /* Its network's L2 entry may have sent it already. */
        ensure(r, ODL_PORT, port_id, inner);
    } else {
        send_object(r, ODL_PORT, port_id, inner,
                    !strcmp(e->operation, "create") ? VIA_POST : VIA_PUT);
    }
    free(inner);
}

static void
apply_fip(struct run *r, const struct hadron_l3_entry *e, yajl_val data,
          yajl_val now)
{
    struct candidates c = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    const char *id = e->resource_id;
    yajl_val tree = NULL, stored = NULL;
    char *old_port = NULL;
    bool ok = true;

    /* The controller's copy, from memory or asked for. */
    struct known *k = known_find(r->o, ODL_FIP, id);
    if (k) {
        tree = yajl_tree_parse(k->inner, NULL, 0);
        stored = tree;
    } else if (get_object(r, ODL_FIP, id, &tree, &stored) < 0) {
        return;
    }
    if (stored && jstr(stored, "port_id")) {
        old_port = xstrdup(jstr(stored, "port_id"));
    }

    if (!strcmp(e->operation, "delete")) {
        /* Unless it moved to another router meanwhile (that router's
         * entries own it now). */
        if (stored && str_eq(jstr(stored, "router_id"), e->router_id)) {
            ok = delete_object(r, ODL_FIP, id, NULL);
            idset_add(&c.ports, old_port);
            idset_add(&c.networks, jstr(stored, "floating_network_id"));
            if (ok) {
                collect(r, &c);
            }
        }
        goto out;
    }

    yajl_val fip = now ? find_by_id(jsonv_member(now, "floatingips"), id)
                       : NULL;
    if (!fip) {
        goto out;               /* left this router: its delete follows */
    }
    const char *port_id = jstr(fip, "port_id");
    ok = ensure_l2(r, now, ODL_NETWORK, jstr(fip, "floating_network_id"));
    if (ok && port_id) {
        ok = send_port(r, now, port_id, false);
    }
    if (ok) {
        ok = ensure_router(r, now);
    }
    if (ok) {
        char *inner = fip_inner(fip, jstr(now, "id"));
        if (k) {
            r->trusted_memory = true;
        }
        if (stored && json_covers_text(stored, inner)) {
            known_set(r->o, ODL_FIP, id, inner);
        } else {
            ok = send_object(r, ODL_FIP, id, inner,
                             stored ? VIA_PUT : VIA_POST);
        }
        free(inner);
    }
    if (ok && old_port && !str_eq(old_port, port_id)) {
        idset_add(&c.ports, old_port);
        collect(r, &c);
    }

out:
    yajl_tree_free(tree);
    free(old_port);
    candidates_destroy(&c);
}

/* True if the controller holds router 'id' (from memory, or asked). */
static bool
has_router(struct run *r, const char *id, bool *has)
{
    yajl_val tree, obj;

    *has = known_find(r->o, ODL_ROUTER, id) != NULL;
    if (!*has) {
        int found = get_object(r, ODL_ROUTER, id, &tree, &obj);
        yajl_tree_free(tree);
        if (found < 0) {
            return false;
        }
        *has = found > 0;
    }
    return true;
}

/* Ensures every network and subnet of the "l2" member of 'doc' (or,
 * with 'ports', every port), in that order.  A router's port waits for
 * its router to be on the controller (the router's own entries send it
 * after the router: network, subnet, router, port). */
static bool
ensure_all_l2(struct run *r, yajl_val doc, bool ports)
{
    static const enum odl_type deps[] = { ODL_NETWORK, ODL_SUBNET };
    static const enum odl_type port[] = { ODL_PORT };
    const enum odl_type *ts = ports ? port : deps;
    size_t n_ts = ports ? ARRAY_SIZE(port) : ARRAY_SIZE(deps);

    for (size_t k = 0; k < n_ts; k++) {
        yajl_val list = l2_list(doc, types[ts[k]].plural);
        for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len;
             i++) {
            yajl_val item = list->u.array.values[i];
            const char *id = jstr(item, "id");
            if (!id) {
                continue;
            }
            const char *owner = jstr(item, "device_owner");
            const char *device = jstr(item, "device_id");
            if (ports && owner && device
                && str_starts_with(owner, "network:router_")) {
                bool has;
                if (!has_router(r, device, &has)) {
                    return false;
                }
                if (!has) {
                    continue;
                }
            }
            char *inner = l2_inner(item);
            bool ok = ensure(r, ts[k], id, inner);
            free(inner);
            if (!ok) {
                return false;
            }
        }
    }
    return true;
}

/* Removes network 'id' from the controller with its ports and subnets, if
 * it holds it.  Routers or floating IPs still on it (their own entries
 * remove them) make it a RETRY. */
static void
remove_network(struct run *r, const char *id)
{
    static const enum odl_type order[] = { ODL_PORT, ODL_SUBNET };
    yajl_val tree, obj;

    if (!known_find(r->o, ODL_NETWORK, id)) {
        int found = get_object(r, ODL_NETWORK, id, &tree, &obj);
        yajl_tree_free(tree);
        if (found <= 0) {
            return;         /* not there (or no answer: RETRY) */
        }
    }
    for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
        yajl_val list;
        if (!get_list(r, order[k], &tree, &list)) {
            return;
        }
        bool ok = true;
        for (size_t i = 0; ok && i < list->u.array.len; i++) {
            yajl_val item = list->u.array.values[i];
            if (str_eq(jstr(item, "network_id"), id) && jstr(item, "id")) {
                ok = delete_object(r, order[k], jstr(item, "id"), NULL);
            }
        }
        yajl_tree_free(tree);
        if (!ok) {
            return;
        }
    }
    bool in_use = false;
    if (delete_object(r, ODL_NETWORK, id, &in_use) && in_use) {
        run_fail(r, HADRON_L3_RETRY, "network %s is still in use on the "
                 "controller (routers or floating IPs on it wait for their "
                 "own entries)", id);
    }
}

/* An L2 entry (resource "network", "subnet" or "port" of the network
 * 'e->router_id', journaled by core/l3_mech.c).  'now' is the network as
 * the driver must see it now: while a router of ours touches it, the
 * controller gets the network, all its subnets and ports (each sent only
 * if it differs from what the controller holds); once none does, the
 * network leaves the controller with its subnets and ports.  A deleted
 * port or subnet is removed first. */
static void
apply_l2(struct run *r, const struct hadron_l3_entry *e, yajl_val now)
{
    const char *network_id = e->router_id;
    yajl_val touched = jsonv_member(now, "touched");

    r->o->journaled = true;
    if (!strcmp(e->operation, "delete")
        && strcmp(e->resource, "network")) {
        enum odl_type t = !strcmp(e->resource, "port") ? ODL_PORT
                                                       : ODL_SUBNET;
        if (!delete_object(r, t, e->resource_id, NULL)) {
            return;
        }
    }
    if (YAJL_IS_TRUE(touched)) {
        /* A VM port or a subnet of a network the controller has: that one
         * object (and what it depends on); else the whole network. */
        enum odl_type t = !strcmp(e->resource, "port") ? ODL_PORT
                          : !strcmp(e->resource, "subnet") ? ODL_SUBNET
                          : ODL_NETWORK;
        yajl_val item = find_by_id(l2_list(now, types[t].plural),
                                   e->resource_id);
        const char *owner = jstr(item, "device_owner");
        if (t != ODL_NETWORK && known_find(r->o, ODL_NETWORK, network_id)
            && !(owner && str_starts_with(owner, "network:router_"))) {
            if (!item) {
                return;         /* gone since: its delete follows */
            }
            yajl_val port;
            if (t == ODL_PORT && ensure_port_deps(r, now, e->resource_id,
                                                  &port)) {
                char *inner = l2_inner(port);
                ensure(r, ODL_PORT, e->resource_id, inner);
                free(inner);
            } else if (t == ODL_SUBNET
                       && ensure_l2(r, now, ODL_NETWORK, network_id)) {
                ensure_l2(r, now, ODL_SUBNET, e->resource_id);
            }
        } else if (ensure_all_l2(r, now, false)) {
            ensure_all_l2(r, now, true);
        }
    } else {
        remove_network(r, network_id);
    }
}

static bool
is_l2_entry(const struct hadron_l3_entry *e)
{
    return !strcmp(e->resource, "network") || !strcmp(e->resource, "subnet")
           || !strcmp(e->resource, "port");
}

/* True if 'doc' (a router document) says the L2 objects have entries of
 * their own. */
static bool
doc_journaled(yajl_val doc)
{
    return YAJL_IS_TRUE(jsonv_member(jsonv_member(doc, "l2"), "journaled"));
}

static void
apply_entry(struct run *r, const struct hadron_l3_entry *e, yajl_val data,
            yajl_val now)
{
    /* With L2 entries, a router entry also brings the whole networks the
     * router touches (the first interface or gateway on a network makes
     * it the controller's): networks and subnets before the resource,
     * ports after. */
    bool whole = r->o->journaled && now && strcmp(e->operation, "delete");

    if (whole && !ensure_all_l2(r, now, false)) {
        return;
    }
    if (!strcmp(e->resource, "router")) {
        apply_router(r, e, data, now);
    } else if (!strcmp(e->resource, "router_interface")) {
        apply_interface(r, e, data, now);
    } else if (!strcmp(e->resource, "floatingip")) {
        apply_fip(r, e, data, now);
    } else {
        run_fail(r, HADRON_L3_FAILED, "unknown resource '%s'", e->resource);
    }
    if (whole && r->result == HADRON_L3_OK) {
        ensure_all_l2(r, now, true);
    }
}

static enum hadron_l3_result
odl_apply(void *state, const struct hadron_l3_entry *e, char *msg,
          size_t msg_size)
{
    struct odl *o = state;
    char errbuf[256] = "";
    yajl_val data = yajl_tree_parse(e->data, errbuf, sizeof errbuf);
    yajl_val now = e->router ? yajl_tree_parse(e->router, NULL, 0) : NULL;

    if (!YAJL_IS_OBJECT(data) || (e->router && !YAJL_IS_OBJECT(now))) {
        snprintf(msg, msg_size, "entry %" PRId64 ": data or router is not "
                 "a JSON object", e->seq);
        yajl_tree_free(data);
        yajl_tree_free(now);
        return HADRON_L3_FAILED;
    }

    struct run r = { .o = o, .timeout_ms = o->timeout_ms, .msg = msg,
                     .msg_size = msg_size };
    o->journaled |= doc_journaled(now) || doc_journaled(data);
    if (is_l2_entry(e)) {
        apply_l2(&r, e, now);
    } else {
        apply_entry(&r, e, data, now);
    }
    if (r.result == HADRON_L3_FAILED && r.trusted_memory) {
        /* Refused after trusting memory: the controller may have lost
         * what the driver believed it held.  Once more, asking it. */
        LOG_DBG(MOD, "entry %" PRId64 ": %s; again without memory", e->seq,
                msg);
        known_clear(o);
        bool server_error = r.server_error;
        r = (struct run) { .o = o, .timeout_ms = o->timeout_ms, .msg = msg,
                           .msg_size = msg_size,
                           .server_error = server_error };
        msg[0] = '\0';
        if (is_l2_entry(e)) {
            apply_l2(&r, e, now);
        } else {
            apply_entry(&r, e, data, now);
        }
    }
    if (r.result == HADRON_L3_OK && o->leftover) {
        struct candidates none = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
        collect(&r, &none);
        candidates_destroy(&none);
    }
    yajl_tree_free(data);
    yajl_tree_free(now);

    /* retry_count: server errors per entry. */
    struct attempt *a;
    HASH_FIND(hh, o->attempts, &e->seq, sizeof e->seq, a);
    if (r.result == HADRON_L3_RETRY && r.server_error && o->retry_count) {
        if (!a) {
            a = xzalloc(sizeof *a);
            a->seq = e->seq;
            HASH_ADD(hh, o->attempts, seq, sizeof a->seq, a);
        }
        /* networking-odl's count: the row is retried retry_count times
         * and fails at the next server error. */
        if (++a->server_errors > o->retry_count) {
            size_t len = strlen(msg);
            snprintf(msg + len, msg_size - len, " (server error %d, "
                     "after retry_count %d retries: giving up)",
                     a->server_errors, o->retry_count);
            r.result = HADRON_L3_FAILED;
        }
    }
    if (a && r.result != HADRON_L3_RETRY) {
        HASH_DEL(o->attempts, a);
        free(a);
    }
    if (r.result != HADRON_L3_OK && r.dependency) {
        /* The controller lacked a dependency even after asking it: it
         * may have restarted empty; health() will tell. */
        known_clear(o);
    }
    return r.result;
}

/* ---- Full sync ---- */

/* What the controller must hold: per type, id -> inner JSON. */
struct want {
    char *id;
    char *inner;
    UT_hash_handle hh;
};

static void
want_add(struct want **set, const char *id, char *inner_nocopy)
{
    struct want *w;

    if (!id) {
        free(inner_nocopy);
        return;
    }
    HASH_FIND_STR(*set, id, w);
    if (w) {
        free(inner_nocopy);     /* the same object from another router */
        return;
    }
    w = xzalloc(sizeof *w);
    w->id = xstrdup(id);
    w->inner = inner_nocopy;
    HASH_ADD_KEYPTR(hh, *set, w->id, strlen(w->id), w);
}

static void
want_clear(struct want **set)
{
    struct want *w, *tmp;

    HASH_ITER(hh, *set, w, tmp) {
        HASH_DEL(*set, w);
        free(w->id);
        free(w->inner);
        free(w);
    }
}

/* Adds what router document 'doc' needs to 'want'. */
static void
want_router(struct want *want[ODL_N_TYPES], yajl_val doc)
{
    static const enum odl_type l2_types[] = {
        ODL_NETWORK, ODL_SUBNET, ODL_PORT,
    };
    const char *router_id = jstr(doc, "id");

    for (size_t t = 0; t < ARRAY_SIZE(l2_types); t++) {
        yajl_val list = l2_list(doc, types[l2_types[t]].plural);
        for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len;
             i++) {
            yajl_val item = list->u.array.values[i];
            if (YAJL_IS_OBJECT(item)) {
                want_add(&want[l2_types[t]], jstr(item, "id"),
                         l2_inner(item));
            }
        }
    }
    want_add(&want[ODL_ROUTER], router_id, router_inner(doc));
    yajl_val fips = jsonv_member(doc, "floatingips");
    for (size_t i = 0; YAJL_IS_ARRAY(fips) && i < fips->u.array.len; i++) {
        yajl_val f = fips->u.array.values[i];
        want_add(&want[ODL_FIP], jstr(f, "id"), fip_inner(f, router_id));
    }
}

static enum hadron_l3_result
odl_sync_all(void *state, const char *const *routers, size_t n, char *msg,
             size_t msg_size)
{
    struct odl *o = state;
    struct want *want[ODL_N_TYPES] = { NULL };
    yajl_val trees[ODL_N_TYPES] = { NULL };
    yajl_val lists[ODL_N_TYPES] = { NULL };
    struct run r = { .o = o, .timeout_ms = o->sync_timeout_ms, .msg = msg,
                     .msg_size = msg_size };
    char first_refusal[512] = "";
    size_t sent = 0, removed = 0, refused = 0;
    bool ok = true;

    for (size_t i = 0; i < n; i++) {
        yajl_val doc = yajl_tree_parse(routers[i], NULL, 0);
        if (YAJL_IS_OBJECT(doc)) {
            o->journaled |= doc_journaled(doc);
            want_router(want, doc);
        } else {
            LOG_WARN(MOD, "sync: a router document is not a JSON object");
        }
        yajl_tree_free(doc);
    }
    for (int t = 0; ok && t < ODL_N_TYPES; t++) {
        ok = get_list(&r, t, &trees[t], &lists[t]);
    }

    /* The controller's copy is one step away from ours: a refusal of one
     * object is noted and the sync goes on; no answer or a 5xx stops it
     * (RETRY: the core syncs again later). */
#define SYNC_STEP(EXPR)                                                     \
    do {                                                                    \
        r.result = HADRON_L3_OK;                                            \
        r.msg[0] = '\0';                                                    \
        bool step_ok__ = (EXPR);                                            \
        if (!step_ok__ && r.result == HADRON_L3_FAILED) {                   \
            if (!refused++) {                                               \
                str_copy(first_refusal, r.msg, sizeof first_refusal);       \
            }                                                               \
        } else if (!step_ok__) {                                            \
            ok = false;                                                     \
        }                                                                   \
    } while (0)

    /* Creates and updates, in dependency order. */
    for (int t = 0; ok && t < ODL_N_TYPES; t++) {
        struct want *w, *tmp;
        HASH_ITER(hh, want[t], w, tmp) {
            yajl_val stored = find_by_id(lists[t], w->id);
            if (stored && json_covers_text(stored, w->inner)) {
                known_set(o, t, w->id, w->inner);
                continue;
            }
            SYNC_STEP(send_object(&r, t, w->id, w->inner,
                                  stored ? VIA_PUT : VIA_POST));
            sent++;
            if (!ok) {
                break;
            }
        }
    }
    /* Removals, in reverse order. */
    for (int t = ODL_N_TYPES - 1; ok && t >= 0; t--) {
        for (size_t i = 0; ok && i < lists[t]->u.array.len; i++) {
            const char *id = jstr(lists[t]->u.array.values[i], "id");
            struct want *w = NULL;
            if (!id || (t == ODL_NETWORK
                        && !strcmp(id, ODL_CANARY_NETWORK_ID))) {
                continue;
            }
            HASH_FIND_STR(want[t], id, w);
            if (!w) {
                bool in_use = false;
                SYNC_STEP(delete_object(&r, t, id, &in_use));
                removed++;
            }
        }
    }
    /* The canary last: its presence says the sync finished. */
    if (ok && !find_by_id(lists[ODL_NETWORK], ODL_CANARY_NETWORK_ID)) {
        SYNC_STEP(send_object(&r, ODL_NETWORK, ODL_CANARY_NETWORK_ID,
                              canary_inner, VIA_POST));
    }
#undef SYNC_STEP

    for (int t = 0; t < ODL_N_TYPES; t++) {
        yajl_tree_free(trees[t]);
        want_clear(&want[t]);
    }
    if (!ok) {
        known_clear(o);
        return r.result == HADRON_L3_OK ? HADRON_L3_RETRY : r.result;
    }
    LOG_INFO(MOD, "full sync of %zu routers: %zu objects sent, %zu removed"
             "%s", n, sent, removed, refused ? ", some refused" : "");
    if (refused) {
        snprintf(msg, msg_size, "%zu objects refused by the controller, "
                 "the first: %s", refused, first_refusal);
        return HADRON_L3_FAILED;
    }
    return HADRON_L3_OK;
}

/* ---- Health ---- */

static bool
odl_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    struct odl *o = state;
    struct run r = { .o = o, .timeout_ms = o->sync_timeout_ms, .msg = msg,
                     .msg_size = msg_size };
    yajl_val tree, obj;

    *lost_state = false;
    int found = get_object(&r, ODL_NETWORK, ODL_CANARY_NETWORK_ID, &tree,
                           &obj);
    yajl_tree_free(tree);
    if (found < 0) {
        return false;
    }
    if (!found) {
        /* No canary: lost state, if the controller answers at all. */
        yajl_val list;
        if (!get_list(&r, ODL_NETWORK, &tree, &list)) {
            return false;
        }
        yajl_tree_free(tree);
        known_clear(o);
        *lost_state = true;
        snprintf(msg, msg_size, "controller %s lacks the canary network: "
                 "it lost its state (or was never synced)",
                 odl_client_url(o->client));
    }
    return true;
}

const struct hadron_l3_driver_class odl_l3_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "odl",
    .init = odl_init,
    .destroy = odl_destroy,
    .capabilities = odl_capabilities,
    .validate = NULL,
    .apply = odl_apply,
    .sync_all = odl_sync_all,
    .health = odl_health,
};
