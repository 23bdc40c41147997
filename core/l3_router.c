/* core/l3_router.c: routers, their flavor binding, external gateway,
 * extra routes and interfaces (Neutron's L3 router half), each change
 * journaled for the driver of the router's flavor.
 *
 * A router is a row of "routers" plus: its provider (router_provider: the
 * flavor driver instance that realizes it, chosen from flavor_id at
 * create by flavors_resolve()), its ports (routerports: the gateway port
 * on an external network and the interface ports on internal subnets) and
 * its extra routes (routerroutes).  Every port is created, updated and
 * deleted through the L2 core's port operations (l2_port_def.ops), inside
 * the router operation's one transaction, so IPAM, MAC generation, the
 * port events and the mechanism drivers' precommit run as for any port;
 * their after-commit half (AFTER events, postcommit) runs once the router
 * operation has committed.  Router-owned ports are created as an admin
 * would: the gateway port belongs to no project (project_id ''), an
 * interface port to the router's project.
 *
 * The journal.  Each operation ends by recording what the driver must
 * realize (l3_journal__), after the provider's capabilities and its
 * validate() accepted it (a refusal is a 400 that names the provider):
 *   router create/update/delete   ("router", <op>, router id), data = the
 *                                 router document (l3_doc.c) as committed
 *                                 (as it was, for a delete);
 *   interface add/remove          ("router_interface", create/update/
 *                                 delete, port id), data = the interface;
 *                                 its revision is the router's, which
 *                                 every interface change bumps (taking the
 *                                 router's row lock first, so changes to
 *                                 one router serialize);
 *   flavor change                 the new provider's build (router,
 *                                 interfaces: creates), each FIP's move
 *                                 (old: delete, new: create), the old
 *                                 provider's teardown (interfaces, router:
 *                                 deletes), in the one transaction that
 *                                 moves the router.
 * After the commit, journal_wake().  A router is DOWN from its creation
 * until the journal's set_status hook marks it ACTIVE (or ERROR).
 *
 * Neutron's rules and texts are followed (neutron/db/l3_db.py,
 * extraroute_db.py, l3_gwmode_db.py); where Hadron differs it says so:
 * flavor_id may change while the router is administratively down. */
#include "core/l3.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "core/context.h"
#include "core/events.h"
#include "core/journal.h"
#include "core/jsonv.h"
#include "core/l3-internal.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/flavors.h"
#include "flavors/registry.h"
#include "l2/l2.h"

#define OWNER_INTF "network:router_interface"
#define OWNER_GW "network:router_gateway"
#define MAX_ROUTES 30                   /* Neutron's [DEFAULT] max_routes */
#define CHILD_CHUNK 500                 /* ids per IN (...) of expand */

/* ---- The attribute table ---- */

enum {
    R_ID, R_NAME, R_TENANT_ID, R_PROJECT_ID, R_ADMIN_STATE_UP, R_STATUS,
    R_GW_INFO, R_FLAVOR_ID, R_ROUTES, R_DESCRIPTION, R_TAGS, R_CREATED_AT,
    R_UPDATED_AT, R_REVISION, R_N_ATTRS
};

static attr_validate_fn validate_gw_info;
static attr_validate_fn validate_routes;

static const struct attr_def router_attrs[] = {
    [R_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [R_NAME] = { "name", AT_STRING, AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                 "name", "\"\"", 0, 255, NULL },
    [R_TENANT_ID] = { "tenant_id", AT_STRING,
                      AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                      "project_id", NULL, 0, 255, NULL },
    [R_PROJECT_ID] = { "project_id", AT_STRING,
                       AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                       "project_id", NULL, 0, 255, NULL },
    [R_ADMIN_STATE_UP] = { "admin_state_up", AT_BOOL,
                           AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                           "admin_state_up", "true", 0, 0, NULL },
    [R_STATUS] = { "status", AT_STRING, AF_SORT, "status", NULL, 0, 16,
                   NULL },
    [R_GW_INFO] = { "external_gateway_info", AT_JSON,
                    AF_POST | AF_PUT | AF_NULLABLE, NULL, "null", 0, 0,
                    validate_gw_info },
    /* l3-flavors: set on create; Hadron lets PUT change it while the
     * router is administratively down (Neutron: never). */
    [R_FLAVOR_ID] = { "flavor_id", AT_STRING,
                      AF_POST | AF_PUT | AF_SORT | AF_NULLABLE, "flavor_id",
                      NULL, 0, 36, NULL },
    /* extraroute: PUT only. */
    [R_ROUTES] = { "routes", AT_JSON, AF_PUT | AF_NULLABLE, NULL, NULL, 0, 0,
                   validate_routes },
    [R_DESCRIPTION] = { "description", AT_STRING,
                        AF_POST | AF_PUT | AF_FILTER | AF_SORT, "description",
                        "\"\"", 0, 255, NULL },
    [R_TAGS] = { "tags", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [R_CREATED_AT] = { "created_at", AT_STRING, AF_SORT, "created_at", NULL,
                       0, 0, NULL },
    [R_UPDATED_AT] = { "updated_at", AT_STRING, AF_SORT, "updated_at", NULL,
                       0, 0, NULL },
    [R_REVISION] = { "revision_number", AT_INT, AF_FILTER | AF_SORT,
                     "revision_number", NULL, 0, 0, NULL },
};

_Static_assert(ARRAY_SIZE(router_attrs) == R_N_ATTRS,
               "router attribute table");

static const struct resource_ops router_ops;

const struct resource_def l3_router_def = {
    .singular = "router",
    .plural = "routers",
    .table = "routers",
    .not_found = "RouterNotFound",
    .display = "Router",
    .attrs = router_attrs,
    .n_attrs = R_N_ATTRS,
    .visible_sql = NULL,
    .tags = true,
    .ops = &router_ops,
};

/* ---- Small helpers ---- */

static const char *
str_attr(const struct res_obj *obj, int idx)
{
    const char *s = value_str(&obj->v[idx]);
    return s ? s : "";
}

static const char *
str_named(const struct res_obj *obj, const char *name)
{
    int idx = resource_attr_index(obj->def, name);
    const char *s = idx >= 0 ? value_str(&obj->v[idx]) : NULL;
    return s ? s : "";
}

/* Neutron's BadRequest(resource='router'): "Bad router request: ...". */
static struct neutron_error *bad_router(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static struct neutron_error *
bad_router(const char *fmt, ...)
{
    char msg[700];
    va_list args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    return neutron_error_create(NE_BAD_REQUEST, "BadRequest",
                                "Bad router request: %s.", msg);
}

static struct neutron_error *
policy_refused(const char *action, const char *attr)
{
    return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                "(rule:%s_router:%s) is disallowed by policy",
                                action, attr);
}

/* ---- JSON ---- */

/* Writes the attribute value 'v'. */
static void
gen_value(yajl_gen g, const struct value *v)
{
    switch (v->kind) {
    case VALUE_UNSET:
    case VALUE_NULL:
        yajl_gen_null(g);
        break;
    case VALUE_STRING:
        json_str(g, v->s);
        break;
    case VALUE_INT:
        yajl_gen_integer(g, v->i);
        break;
    case VALUE_BOOL:
        yajl_gen_bool(g, v->b);
        break;
    case VALUE_TREE:
        json_value(g, v->tree);
        break;
    case VALUE_RAW:
        json_raw(g, v->s);
        break;
    }
}

/* {"router": {...}} as the API shows it to 'ctx'. */
static char *
render_router(const struct op_ctx *ctx, const struct res_obj *obj)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_key(g, "router");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < obj->def->n_attrs; i++) {
        const struct attr_def *a = &obj->def->attrs[i];
        if (obj->v[i].kind == VALUE_UNSET
            || ((a->flags & AF_ADMIN_READ) && !ctx->auth.is_admin)) {
            continue;
        }
        json_key(g, a->name);
        gen_value(g, &obj->v[i]);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

/* Runs a statement that returns no rows; '*changes' (if nonnull) gets the
 * rows it touched. */
static struct neutron_error *
exec_sql(struct db *db, const struct sql_buf *b, const char *what,
         int64_t *changes)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, what);
    }
    rc = db_step(stmt);
    if (changes) {
        *changes = db_changes(stmt);
    }
    db_reset(stmt);
    if (rc == DB_CONSTRAINT) {
        return neutron_error_create(NE_CONFLICT, NULL, "Conflict while %s.",
                                    what);
    }
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, what);
    }
    return NULL;
}

/* Runs "SQL with one text parameter" that returns no rows. */
static struct neutron_error *
exec1(struct db *db, const char *sql, const char *param, const char *what)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, sql);
    sql_param(&b, param);
    struct neutron_error *error = exec_sql(db, &b, what, NULL);
    sql_destroy(&b);
    return error;
}

/* Takes router 'id''s row lock for the rest of the transaction, so that
 * changes to one router serialize (MariaDB; a SQLite write transaction
 * holds the database already). */
static struct neutron_error *
lock_router(struct db *db, const char *id)
{
    if (db_engine(db) != DB_ENGINE_MARIADB) {
        return NULL;
    }
    return exec1(db, "UPDATE routers SET status = status WHERE id = ?", id,
                 "locking a router");
}

/* Appends the visibility condition of 'def' for 'ctx' (as the store
 * does), on alias "t". */
static void
add_visible(struct sql_buf *b, const struct resource_def *def,
            const struct op_ctx *ctx)
{
    if (!ctx || ctx->auth.is_admin) {
        return;
    }
    const char *cond = def->visible_sql ? def->visible_sql
                                        : "t.project_id = ?";
    sql_addf(b, " AND (%s)", cond);
    for (const char *p = cond; *p; p++) {
        if (*p == '?') {
            sql_param(b, ctx->auth.project_id);
        }
    }
}

/* ---- Validators (run on the request, before any transaction) ---- */

/* neutron-lib's _verify_dict_keys(expected, data, strict=False) for one
 * required key. */
static struct neutron_error *
require_key(const char *attr, yajl_val dict, const char *key)
{
    char provided[400];
    size_t len = 0;

    if (jsonv_member(dict, key)) {
        return NULL;
    }
    provided[0] = '\0';
    for (size_t i = 0; i < dict->u.object.len && len < sizeof provided;
         i++) {
        len += snprintf(provided + len, sizeof provided - len, "%s'%.60s'",
                        i ? ", " : "", dict->u.object.keys[i]);
    }
    return resource_attr_error(attr, "Validation of dictionary's keys failed. "
                               "Expected keys: {'%s'} Provided keys: %s%s%s",
                               key, len ? "{" : "", len ? provided : "set()",
                               len ? "}" : "");
}

static struct neutron_error *
check_uuid(const char *attr, yajl_val v)
{
    char what[256];

    if (YAJL_IS_STRING(v) && uuid_is_valid(v->u.string)) {
        return NULL;
    }
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "'%s' is not a valid UUID", what);
}

/* external_gateway_info: neutron-lib's type:dict_or_nodata with
 * network_id (required, a UUID), enable_snat (a boolean) and
 * external_fixed_ips (type:fixed_ips).  An empty dict (or list) is "no
 * data": no gateway. */
static struct neutron_error *
validate_gw_info(const char *attr, yajl_val v)
{
    char what[256];

    if ((YAJL_IS_OBJECT(v) && !v->u.object.len)
        || (YAJL_IS_ARRAY(v) && !v->u.array.len)) {
        return NULL;
    }
    if (!YAJL_IS_OBJECT(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr, "'%s' is not a dictionary", what);
    }
    struct neutron_error *error = require_key(attr, v, "network_id");
    if (error) {
        return error;
    }
    char unexpected[400];
    size_t len = 0;
    for (size_t i = 0; i < v->u.object.len && len < sizeof unexpected; i++) {
        const char *k = v->u.object.keys[i];
        if (strcmp(k, "network_id") && strcmp(k, "enable_snat")
            && strcmp(k, "external_fixed_ips")) {
            len += snprintf(unexpected + len, sizeof unexpected - len,
                            "%s%.60s", len ? ", " : "", k);
        }
    }
    if (len) {
        return resource_attr_error(attr, "Unexpected keys supplied: %s",
                                   unexpected);
    }
    error = check_uuid(attr, jsonv_member(v, "network_id"));
    if (error) {
        return error;
    }
    yajl_val snat = jsonv_member(v, "enable_snat");
    if (snat && !YAJL_IS_TRUE(snat) && !YAJL_IS_FALSE(snat)) {
        bool b;
        if (!YAJL_IS_STRING(snat) || !str_to_bool(snat->u.string, &b)) {
            jsonv_describe(snat, what, sizeof what);
            return resource_attr_error(attr,
                                       "'%s' cannot be converted to boolean",
                                       what);
        }
    }
    yajl_val ips = jsonv_member(v, "external_fixed_ips");
    if (ips && !YAJL_IS_NULL(ips)) {
        return resource_validate_fixed_ips(attr, ips);
    }
    return NULL;
}

/* neutron-lib's validate_route_cidr: NULL, or why 's' is not a routable
 * network address in CIDR notation. */
static bool
route_cidr_reason(yajl_val v, char *reason, size_t size)
{
    const char *s = YAJL_GET_STRING(v);
    char what[256];
    struct ipnet n;

    jsonv_describe(v, what, sizeof what);
    if (!s || strchr(s, ' ') || !ipnet_parse(s, true, &n)) {
        snprintf(reason, size, "'%s' is not a valid CIDR", what);
        return true;
    }
    if (!strchr(s, '/') || ipnet_has_host_bits(&n)) {
        char canon[IPNET_STR_MAX];
        ipnet_first(&n, &n.addr);
        ipnet_format(&n, canon);
        snprintf(reason, size, "'%s' is not a recognized CIDR, '%s' is "
                 "recommended", what, canon);
        return true;
    }
    struct ipnet loop4, loop6;
    ipnet_parse("127.0.0.0/8", false, &loop4);
    ipnet_parse("::1/128", false, &loop6);
    if ((n.addr.version == 4 && n.prefix >= 8 && ipnet_contains(&loop4,
                                                               &n.addr))
        || (n.addr.version == 6 && n.prefix == 128
            && ipnet_contains(&loop6, &n.addr))) {
        snprintf(reason, size, "'%s' is not a routable CIDR", what);
        return true;
    }
    return false;
}

/* One extra route, normalised. */
struct route {
    char destination[IPNET_STR_MAX];
    char nexthop[IPADDR_STR_MAX];
};

static void
route_normalise(yajl_val item, struct route *r)
{
    struct ipnet n;
    struct ipaddr a;

    ipnet_parse(jsonv_member(item, "destination")->u.string, true, &n);
    ipnet_format(&n, r->destination);
    ipaddr_parse(jsonv_member(item, "nexthop")->u.string, &a);
    ipaddr_format(&a, r->nexthop);
}

/* neutron-lib's type:hostroutes: a list of {destination, nexthop} (both
 * keys, no others), no duplicates. */
static struct neutron_error *
validate_routes(const char *attr, yajl_val v)
{
    char what[256];

    if (!YAJL_IS_ARRAY(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr,
                                   "Invalid data format for hostroute: '%s'",
                                   what);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val item = v->u.array.values[i];
        char reason[600];

        if (!YAJL_IS_OBJECT(item)) {
            jsonv_describe(item, what, sizeof what);
            return resource_attr_error(attr, "Invalid input. '%s' must be a "
                                       "dictionary with keys: "
                                       "['destination', 'nexthop']", what);
        }
        bool has_d = false, has_n = false, other = false;
        for (size_t k = 0; k < item->u.object.len; k++) {
            const char *key = item->u.object.keys[k];
            has_d |= !strcmp(key, "destination");
            has_n |= !strcmp(key, "nexthop");
            other |= strcmp(key, "destination") && strcmp(key, "nexthop");
        }
        if (!has_d || !has_n || other) {
            char provided[300];
            size_t len = 0;
            provided[0] = '\0';
            for (size_t k = 0; k < item->u.object.len
                 && len < sizeof provided; k++) {
                len += snprintf(provided + len, sizeof provided - len,
                                "%s'%.60s'", k ? ", " : "",
                                item->u.object.keys[k]);
            }
            return resource_attr_error(attr, "Validation of dictionary's keys "
                                       "failed. Expected keys: "
                                       "{'destination', 'nexthop'} "
                                       "Provided keys: {%s}", provided);
        }
        if (route_cidr_reason(jsonv_member(item, "destination"), reason,
                              sizeof reason)) {
            return resource_attr_error(attr, "%s", reason);
        }
        yajl_val nh = jsonv_member(item, "nexthop");
        struct ipaddr a;
        if (!YAJL_IS_STRING(nh) || !ipaddr_parse(nh->u.string, &a)) {
            jsonv_describe(nh, what, sizeof what);
            return resource_attr_error(attr, "'%s' is not a valid IP address",
                                       what);
        }
        struct route r, o;
        route_normalise(item, &r);
        for (size_t j = 0; j < i; j++) {
            route_normalise(v->u.array.values[j], &o);
            if (!strcmp(r.destination, o.destination)
                && !strcmp(r.nexthop, o.nexthop)) {
                return resource_attr_error(
                    attr, "Duplicate hostroute "
                    "'{'destination': '%s', 'nexthop': '%s'}'",
                    jsonv_member(item, "destination")->u.string, nh->u.string);
            }
        }
    }
    return NULL;
}

/* Parses a validated routes list (NULL or JSON null: none). */
static void
parse_routes(yajl_val v, struct route **routes, size_t *n)
{
    *routes = NULL;
    *n = 0;
    if (!YAJL_IS_ARRAY(v) || !v->u.array.len) {
        return;
    }
    *routes = xcalloc(v->u.array.len, sizeof **routes);
    for (size_t i = 0; i < v->u.array.len; i++) {
        route_normalise(v->u.array.values[i], &(*routes)[(*n)++]);
    }
}

/* The routes as Python prints a list of dicts, for InvalidRoutes. */
static void
format_routes(const struct route *routes, size_t n, char *buf, size_t size)
{
    size_t len = snprintf(buf, size, "[");
    for (size_t i = 0; i < n && len < size; i++) {
        len += snprintf(buf + len, size - len, "%s{'destination': '%s', "
                        "'nexthop': '%s'}", i ? ", " : "",
                        routes[i].destination, routes[i].nexthop);
    }
    if (len < size) {
        snprintf(buf + len, size - len, "]");
    }
}

/* ---- Work for after the commit ---- */

/* What an operation leaves to do once its transaction has committed: the
 * after-commit half of the L2 port operations it made (AFTER events and
 * mechanism drivers' postcommit), in order, and waking the journal.
 * Attached to the router object the op returns (res_obj.aux), or kept by
 * the action; a transaction that is retried or fails throws it away with
 * the object. */
enum port_after_op { PORT_CREATED, PORT_UPDATED, PORT_REMOVED };

struct port_after {
    enum port_after_op op;
    struct res_obj *port;
};

struct l3_after {
    struct port_after *ports;
    size_t n_ports;
    yajl_val *trees;            /* request trees the port objects use */
    size_t n_trees;
    bool wake;                  /* journal rows were recorded */
};

static void
after_destroy(void *after_)
{
    struct l3_after *after = after_;

    if (!after) {
        return;
    }
    for (size_t i = 0; i < after->n_ports; i++) {
        res_obj_destroy(after->ports[i].port);
    }
    free(after->ports);
    for (size_t i = 0; i < after->n_trees; i++) {
        yajl_tree_free(after->trees[i]);
    }
    free(after->trees);
    free(after);
}

static void
after_add_port(struct l3_after *after, enum port_after_op op,
               struct res_obj *port)
{
    after->ports = xrealloc(after->ports,
                            (after->n_ports + 1) * sizeof *after->ports);
    after->ports[after->n_ports++] = (struct port_after) { op, port };
}

static void
after_keep_tree(struct l3_after *after, yajl_val tree)
{
    after->trees = xrealloc(after->trees,
                            (after->n_trees + 1) * sizeof *after->trees);
    after->trees[after->n_trees++] = tree;
}

/* An admin version of 'ctx' for the L2 calls the L3 core makes on the
 * user's behalf (Neutron's context.elevated()). */
static void
elevate(struct op_ctx *admin, const struct op_ctx *ctx)
{
    *admin = *ctx;
    admin->auth.is_admin = true;
}

/* Runs the work of 'after' (after the commit).  Errors are logged: the
 * router operation has committed. */
static void
after_run(const struct op_ctx *ctx, const struct l3_after *after)
{
    const struct resource_ops *ops = l2_port_def.ops;
    struct op_ctx admin;

    if (!after) {
        return;
    }
    elevate(&admin, ctx);
    for (size_t i = 0; i < after->n_ports; i++) {
        const struct port_after *pa = &after->ports[i];
        struct neutron_error *error = NULL;
        switch (pa->op) {
        case PORT_CREATED:
            error = ops->after_create ? ops->after_create(&admin, pa->port)
                                      : NULL;
            break;
        case PORT_UPDATED:
            error = ops->after_update ? ops->after_update(&admin, pa->port)
                                      : NULL;
            break;
        case PORT_REMOVED:
            error = ops->after_remove ? ops->after_remove(&admin, pa->port)
                                      : NULL;
            break;
        }
        if (error) {
            LOG_RL(LOG_LEVEL_WARN, "l3", "%s: port %s: after commit: %s",
                   ctx->request_id ? ctx->request_id : "-",
                   str_named(pa->port, "id"), error->message);
            neutron_error_destroy(error);
        }
    }
    if (after->wake) {
        journal_wake();
    }
}

/* ---- Ports through the L2 core ---- */

/* Parses JSON we built ourselves. */
static yajl_val
parse_json(const char *text)
{
    char err[128];
    yajl_val tree = yajl_tree_parse(text, err, sizeof err);

    if (!tree) {
        LOG_ERR("l3", "internal JSON does not parse (%s): %s", err, text);
        abort();
    }
    return tree;
}

/* Creates a port from 'json' (a port object as a POST would give it) as
 * an admin, inside the caller's transaction.  The port is kept in 'after'
 * (for its after-commit work) and returned in '*out' (owned by 'after'). */
static struct neutron_error *
port_create(const struct op_ctx *ctx, const char *json,
            struct l3_after *after, struct res_obj **out)
{
    struct res_obj *body = NULL, *port = NULL;
    struct neutron_error *error;
    struct op_ctx admin;

    *out = NULL;
    elevate(&admin, ctx);
    yajl_val tree = parse_json(json);
    after_keep_tree(after, tree);
    error = resource_validate(&l2_port_def, tree, true, true, &body);
    if (!error) {
        error = l2_port_def.ops->create(&admin, body, &port);
    }
    res_obj_destroy(body);
    if (!error) {
        after_add_port(after, PORT_CREATED, port);
        *out = port;
    }
    return error;
}

/* Updates port 'cur' (loaded by the caller, which keeps it) with 'json' as
 * an admin.  The new port is kept in 'after' and returned in '*out'. */
static struct neutron_error *
port_update(const struct op_ctx *ctx, struct res_obj *cur, const char *json,
            struct l3_after *after, struct res_obj **out)
{
    struct res_obj *body = NULL, *port = NULL;
    struct neutron_error *error;
    struct op_ctx admin;

    *out = NULL;
    elevate(&admin, ctx);
    yajl_val tree = parse_json(json);
    after_keep_tree(after, tree);
    error = resource_validate(&l2_port_def, tree, false, true, &body);
    if (!error) {
        error = l2_port_def.ops->update(&admin, cur, body, &port);
    }
    res_obj_destroy(body);
    if (!error) {
        after_add_port(after, PORT_UPDATED, port);
        *out = port;
    }
    return error;
}

static struct neutron_error *
port_load(struct db *db, const char *port_id, struct res_obj **out)
{
    return store_get(db, &l2_port_def, NULL, port_id, out);
}

/* Deletes port 'port_id' as an admin (its routerports row must be gone
 * already: the L3 rules refuse to delete a router's port). */
static struct neutron_error *
port_delete(const struct op_ctx *ctx, const char *port_id,
            struct l3_after *after)
{
    struct res_obj *port = NULL;
    struct neutron_error *error;
    struct op_ctx admin;

    elevate(&admin, ctx);
    error = port_load(ctx->db, port_id, &port);
    if (!error) {
        error = l2_port_def.ops->remove(&admin, port);
    }
    if (error) {
        res_obj_destroy(port);
        return error;
    }
    after_add_port(after, PORT_REMOVED, port);
    return NULL;
}

static struct neutron_error *
routerport_insert(struct db *db, const char *router_id, const char *port_id,
                  const char *type)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "INSERT INTO routerports (router_id, port_id, port_type) "
            "VALUES (?, ?, ?)");
    sql_param(&b, router_id);
    sql_param(&b, port_id);
    sql_param(&b, type);
    struct neutron_error *error = exec_sql(db, &b, "adding a router port",
                                           NULL);
    sql_destroy(&b);
    return error;
}

static struct neutron_error *
routerport_delete(struct db *db, const char *port_id)
{
    return exec1(db, "DELETE FROM routerports WHERE port_id = ?", port_id,
                 "removing a router port");
}

/* ---- Providers, capabilities, the journal ---- */

struct neutron_error *
l3_router_provider__(struct db *db, const char *router_id,
                     const struct l3_provider **out)
{
    struct db_stmt *stmt;
    int rc;

    *out = NULL;
    stmt = db_prepare(db, "SELECT provider FROM router_provider "
                      "WHERE router_id = ?");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a router's provider");
    }
    db_bind_text(stmt, 1, router_id);
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        const char *name = db_col_text(stmt, 0);
        *out = name ? l3_provider_find(name) : NULL;
        if (!*out) {
            struct neutron_error *e = neutron_error_create(
                NE_UNAVAILABLE, "ServiceUnavailable", "The flavor provider "
                "%s of router %s is not configured on this server.",
                name ? name : "", router_id);
            db_reset(stmt);
            return e;
        }
        db_reset(stmt);
        return NULL;
    }
    db_reset(stmt);
    if (rc == DB_DONE) {
        return neutron_error_create(NE_NOT_FOUND, "RouterNotFound",
                                    "Router %s could not be found",
                                    router_id);
    }
    return store_db_error(db, rc, "reading a router's provider");
}

struct neutron_error *
l3_check_capability__(const struct l3_provider *provider, unsigned int cap,
                      const char *what)
{
    if ((l3_provider_capabilities(provider) & cap) == cap) {
        return NULL;
    }
    return neutron_error_create(NE_BAD_REQUEST, "FlavorCapabilityNotSupported",
                                "The router's flavor (provider %s, driver "
                                "%s) does not support %s.",
                                l3_provider_name(provider),
                                l3_provider_driver_name(provider), what);
}

struct neutron_error *
l3_journal__(const struct op_ctx *ctx, const struct l3_provider *provider,
             const char *resource, const char *operation,
             const char *resource_id, const char *router_id,
             int64_t revision, const char *data)
{
    struct neutron_error *error = NULL;

    /* A driver may refuse what it cannot build, never a removal. */
    if (strcmp(operation, "delete")) {
        char *doc = NULL;
        char err[512] = "";
        /* A router entry's data is the router document itself. */
        if (strcmp(resource, "router")) {
            error = l3_router_doc__(ctx->db, router_id, &doc);
            if (error) {
                return error;
            }
        }
        struct hadron_l3_entry entry = {
            .seq = 0,
            .resource = resource,
            .operation = operation,
            .resource_id = resource_id,
            .router_id = router_id,
            .revision = revision,
            .data = data,
            .router = doc ? doc : data,
        };
        if (!l3_provider_validate(provider, &entry, err, sizeof err)) {
            error = neutron_error_create(
                NE_BAD_REQUEST, "FlavorValidationFailed", "The router's "
                "flavor (provider %s, driver %s) refused the %s of %s %s: "
                "%s", l3_provider_name(provider),
                l3_provider_driver_name(provider), operation, resource,
                resource_id, *err ? err : "no reason given");
        }
        free(doc);
        if (error) {
            return error;
        }
    }
    return journal_record(ctx, l3_provider_name(provider), resource,
                          operation, resource_id, router_id, revision, data);
}

/* ---- What the operations read ---- */

/* Room for any project_id the API takes: 255 characters of UTF-8. */
#define PROJECT_ID_SIZE (255 * 4 + 1)

/* A router's own columns that its API object does not show, and its
 * provider. */
struct router_state {
    char id[UUID_STR_LEN];
    char project_id[PROJECT_ID_SIZE];
    char gw_port_id[UUID_STR_LEN];      /* "" = no gateway */
    char gw_network_id[UUID_STR_LEN];
    bool enable_snat;
    char provider_name[256];
    const struct l3_provider *provider;
};

static struct neutron_error *
state_load(struct db *db, const char *router_id, struct router_state *st)
{
    struct db_stmt *stmt;
    int rc;

    memset(st, 0, sizeof *st);
    stmt = db_prepare(db, "SELECT r.project_id, r.gw_port_id, r.enable_snat, "
                      "p.network_id, rp.provider FROM routers r "
                      "LEFT JOIN ports p ON p.id = r.gw_port_id "
                      "LEFT JOIN router_provider rp ON rp.router_id = r.id "
                      "WHERE r.id = ?");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a router");
    }
    db_bind_text(stmt, 1, router_id);
    rc = db_step(stmt);
    if (rc != DB_ROW) {
        db_reset(stmt);
        if (rc == DB_DONE) {
            return neutron_error_create(NE_NOT_FOUND, "RouterNotFound",
                                        "Router %s could not be found",
                                        router_id);
        }
        return store_db_error(db, rc, "reading a router");
    }
    str_copy(st->id, router_id, sizeof st->id);
    const char *s = db_col_text(stmt, 0);
    str_copy(st->project_id, s ? s : "", sizeof st->project_id);
    s = db_col_text(stmt, 1);
    str_copy(st->gw_port_id, s ? s : "", sizeof st->gw_port_id);
    st->enable_snat = db_col_int64(stmt, 2) != 0;
    s = db_col_text(stmt, 3);
    str_copy(st->gw_network_id, s ? s : "", sizeof st->gw_network_id);
    s = db_col_text(stmt, 4);
    str_copy(st->provider_name, s ? s : "", sizeof st->provider_name);
    db_reset(stmt);
    st->provider = l3_provider_find(st->provider_name);
    if (!st->provider) {
        return neutron_error_create(NE_UNAVAILABLE, "ServiceUnavailable",
                                    "The flavor provider %s of router %s is "
                                    "not configured on this server.",
                                    st->provider_name, router_id);
    }
    return NULL;
}

/* One fixed IP of one port of a router (a port without any has one item
 * with an empty subnet_id). */
struct rport {
    char port_id[UUID_STR_LEN];
    char type[40];
    char network_id[UUID_STR_LEN];
    char subnet_id[UUID_STR_LEN];
    char ip[IPADDR_STR_MAX];
    char cidr[IPNET_STR_MAX];
    int ip_version;
};

static struct neutron_error *
rports_load(struct db *db, const char *router_id, struct rport **out,
            size_t *n)
{
    struct db_stmt *stmt;
    int rc;

    *out = NULL;
    *n = 0;
    stmt = db_prepare(db, "SELECT rp.port_id, rp.port_type, p.network_id, "
                      "a.subnet_id, a.ip_address, s.cidr, s.ip_version "
                      "FROM routerports rp JOIN ports p ON p.id = rp.port_id "
                      "LEFT JOIN ipallocations a ON a.port_id = rp.port_id "
                      "LEFT JOIN subnets s ON s.id = a.subnet_id "
                      "WHERE rp.router_id = ? "
                      "ORDER BY rp.port_type, rp.port_id, a.ip_address");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a router's ports");
    }
    db_bind_text(stmt, 1, router_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        struct rport *r = &(*out)[(*n)++];
        const char *v;
        memset(r, 0, sizeof *r);
        str_copy(r->port_id, db_col_text(stmt, 0), sizeof r->port_id);
        v = db_col_text(stmt, 1);
        str_copy(r->type, v ? v : "", sizeof r->type);
        v = db_col_text(stmt, 2);
        str_copy(r->network_id, v ? v : "", sizeof r->network_id);
        v = db_col_text(stmt, 3);
        str_copy(r->subnet_id, v ? v : "", sizeof r->subnet_id);
        v = db_col_text(stmt, 4);
        str_copy(r->ip, v ? v : "", sizeof r->ip);
        v = db_col_text(stmt, 5);
        str_copy(r->cidr, v ? v : "", sizeof r->cidr);
        r->ip_version = (int) db_col_int64(stmt, 6);
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return store_db_error(db, rc, "reading a router's ports");
    }
    return NULL;
}

struct subnet_info {
    char id[UUID_STR_LEN];
    char network_id[UUID_STR_LEN];
    char project_id[PROJECT_ID_SIZE];
    int ip_version;
    char cidr[IPNET_STR_MAX];
    char gateway_ip[IPADDR_STR_MAX];    /* "" = none */
    bool has_ra_mode, has_address_mode;
};

static void
subnet_from_row(struct db_stmt *stmt, struct subnet_info *s)
{
    const char *v;

    memset(s, 0, sizeof *s);
    str_copy(s->id, db_col_text(stmt, 0), sizeof s->id);
    v = db_col_text(stmt, 1);
    str_copy(s->network_id, v ? v : "", sizeof s->network_id);
    v = db_col_text(stmt, 2);
    str_copy(s->project_id, v ? v : "", sizeof s->project_id);
    s->ip_version = (int) db_col_int64(stmt, 3);
    v = db_col_text(stmt, 4);
    str_copy(s->cidr, v ? v : "", sizeof s->cidr);
    v = db_col_text(stmt, 5);
    str_copy(s->gateway_ip, v ? v : "", sizeof s->gateway_ip);
    s->has_ra_mode = !db_col_is_null(stmt, 6);
    s->has_address_mode = !db_col_is_null(stmt, 7);
}

#define SUBNET_COLUMNS "t.id, t.network_id, t.project_id, t.ip_version, " \
    "t.cidr, t.gateway_ip, t.ipv6_ra_mode, t.ipv6_address_mode"

/* Loads subnets: those of network 'network_id' (when nonnull), else those
 * whose ids are in 'ids' ('n_ids'), visible to 'ctx' (NULL: all). */
static struct neutron_error *
subnets_load(struct db *db, const struct op_ctx *ctx, const char *network_id,
             char *const *ids, size_t n_ids, struct subnet_info **out,
             size_t *n)
{
    struct neutron_error *error = NULL;
    struct sql_buf b;
    int rc;

    *out = NULL;
    *n = 0;
    if (!network_id && !n_ids) {
        return NULL;
    }
    sql_init(&b);
    sql_add(&b, "SELECT " SUBNET_COLUMNS " FROM subnets t WHERE ");
    if (network_id) {
        sql_add(&b, "t.network_id = ?");
        sql_param(&b, network_id);
    } else {
        sql_add(&b, "t.id IN (");
        sql_param_list(&b, ids, n_ids);
        sql_add(&b, ")");
    }
    add_visible(&b, &l2_subnet_def, ctx);
    sql_add(&b, " ORDER BY t.id");
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading subnets");
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        subnet_from_row(stmt, &(*out)[(*n)++]);
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(db, rc, "reading subnets");
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return error;
}

static struct neutron_error *
subnet_not_found(const char *id)
{
    return neutron_error_create(NE_NOT_FOUND, "SubnetNotFound",
                                "Subnet %s could not be found.", id);
}

/* Loads subnet 'id' as visible to 'ctx' (NULL: any). */
static struct neutron_error *
subnet_get(struct db *db, const struct op_ctx *ctx, const char *id,
           struct subnet_info *out)
{
    struct subnet_info *list;
    size_t n;
    char *ids[1] = { (char *) id };

    struct neutron_error *error = subnets_load(db, ctx, NULL, ids, 1, &list,
                                               &n);
    if (!error && !n) {
        error = subnet_not_found(id);
    }
    if (!error) {
        *out = list[0];
    }
    free(list);
    return error;
}

/* Neutron's _validate_subnet_address_mode. */
static struct neutron_error *
check_address_mode(const struct subnet_info *s)
{
    if (s->ip_version == 6 && !s->has_ra_mode && s->has_address_mode) {
        return bad_router("IPv6 subnet %s configured to receive RAs from an "
                          "external router cannot be added to Neutron "
                          "Router.", s->id);
    }
    return NULL;
}

/* Neutron's _check_for_dup_router_subnets: none of 'new' ('n_new') may be
 * a subnet the router already has a port on, nor overlap one of its
 * interface subnets or one of the subnets of its gateway's network. */
static struct neutron_error *
check_dup_subnets(struct db *db, const struct router_state *st,
                  const struct rport *rp, size_t n_rp,
                  const struct subnet_info *new, size_t n_new)
{
    struct neutron_error *error = NULL;
    struct subnet_info *gw_subnets = NULL;
    size_t n_gw = 0;

    for (size_t i = 0; i < n_rp; i++) {
        for (size_t j = 0; j < n_new; j++) {
            if (*rp[i].subnet_id && !strcmp(rp[i].subnet_id, new[j].id)) {
                return bad_router("Router already has a port on subnet %s",
                                  new[j].id);
            }
        }
    }
    if (*st->gw_port_id && *st->gw_network_id) {
        error = subnets_load(db, NULL, st->gw_network_id, NULL, 0,
                             &gw_subnets, &n_gw);
        if (error) {
            return error;
        }
    }
    /* The router's subnets: its interfaces', then its gateway network's. */
    for (size_t i = 0; i < n_rp + n_gw && !error; i++) {
        const char *id, *cidr;
        if (i < n_rp) {
            if (!strcmp(rp[i].type, OWNER_GW) || !*rp[i].subnet_id) {
                continue;
            }
            id = rp[i].subnet_id;
            cidr = rp[i].cidr;
        } else {
            id = gw_subnets[i - n_rp].id;
            cidr = gw_subnets[i - n_rp].cidr;
        }
        struct ipnet a, b;
        if (!ipnet_parse(cidr, false, &a)) {
            continue;
        }
        for (size_t j = 0; j < n_new && !error; j++) {
            if (ipnet_parse(new[j].cidr, false, &b)
                && a.addr.version == b.addr.version
                && ipnet_overlaps(&a, &b)) {
                error = bad_router("Cidr %s of subnet %s overlaps with cidr "
                                   "%s of subnet %s", new[j].cidr, new[j].id,
                                   cidr, id);
            }
        }
    }
    free(gw_subnets);
    return error;
}

/* Neutron's _validate_one_router_ipv6_port_per_network. */
static struct neutron_error *
check_one_ipv6_port(const struct rport *rp, size_t n_rp, const char *port_id,
                    const char *network_id)
{
    for (size_t i = 0; i < n_rp; i++) {
        if (strcmp(rp[i].port_id, port_id)
            && !strcmp(rp[i].network_id, network_id)
            && rp[i].ip_version == 6) {
            return bad_router("Router already contains IPv6 port %s "
                              "belonging to network id %s. Only one IPv6 "
                              "port from the same network subnet can be "
                              "connected to a router.", rp[i].port_id,
                              network_id);
        }
    }
    return NULL;
}

/* ---- Extra routes ---- */

static struct neutron_error *
routes_load(struct db *db, const char *router_id, struct route **out,
            size_t *n)
{
    struct db_stmt *stmt;
    int rc;

    *out = NULL;
    *n = 0;
    stmt = db_prepare(db, "SELECT destination, nexthop FROM routerroutes "
                      "WHERE router_id = ? ORDER BY destination, nexthop");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading routes");
    }
    db_bind_text(stmt, 1, router_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        struct route *r = &(*out)[(*n)++];
        str_copy(r->destination, db_col_text(stmt, 0), sizeof r->destination);
        str_copy(r->nexthop, db_col_text(stmt, 1), sizeof r->nexthop);
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return store_db_error(db, rc, "reading routes");
    }
    return NULL;
}

/* Neutron's _validate_routes: at most MAX_ROUTES, each nexthop inside a
 * subnet the router is connected to (its interfaces' and its gateway
 * network's) and not one of the router's own addresses. */
static struct neutron_error *
routes_check(struct db *db, const struct router_state *st,
             const struct route *routes, size_t n)
{
    struct subnet_info *gw_subnets = NULL;
    struct neutron_error *error = NULL;
    struct rport *rp = NULL;
    size_t n_rp = 0, n_gw = 0;

    if (n > MAX_ROUTES) {
        return neutron_error_create(NE_BAD_REQUEST, "RoutesExhausted",
                                    "Unable to complete operation for %s. "
                                    "The number of routes exceeds the "
                                    "maximum %d.", st->id, MAX_ROUTES);
    }
    if (!n) {
        return NULL;
    }
    error = rports_load(db, st->id, &rp, &n_rp);
    if (!error && *st->gw_network_id) {
        error = subnets_load(db, NULL, st->gw_network_id, NULL, 0,
                             &gw_subnets, &n_gw);
    }
    for (size_t r = 0; r < n && !error; r++) {
        struct ipaddr nh;
        bool connected = false, used = false;

        ipaddr_parse(routes[r].nexthop, &nh);
        for (size_t i = 0; i < n_rp + n_gw; i++) {
            const char *cidr = i < n_rp ? rp[i].cidr
                                        : gw_subnets[i - n_rp].cidr;
            struct ipnet net;
            if (ipnet_parse(cidr, false, &net) && ipnet_contains(&net, &nh)) {
                connected = true;
            }
            if (i < n_rp && *rp[i].ip) {
                struct ipaddr a;
                used |= ipaddr_parse(rp[i].ip, &a) && !ipaddr_cmp(&a, &nh);
            }
        }
        if (!connected || used) {
            char list[2048];
            format_routes(routes, n, list, sizeof list);
            error = neutron_error_create(
                NE_BAD_REQUEST, "InvalidRoutes", "Invalid format for routes: "
                "%s, %s", list, !connected
                ? "the nexthop is not connected with router"
                : "the nexthop is used by router");
        }
    }
    free(rp);
    free(gw_subnets);
    return error;
}

/* Replaces the router's routes. */
static struct neutron_error *
routes_write(struct db *db, const char *router_id, const struct route *routes,
             size_t n)
{
    struct neutron_error *error;

    error = exec1(db, "DELETE FROM routerroutes WHERE router_id = ?",
                  router_id, "replacing routes");
    if (!error && n) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "INSERT INTO routerroutes (router_id, destination, "
                "nexthop) VALUES ");
        for (size_t i = 0; i < n; i++) {
            sql_add(&b, i ? ", (?, ?, ?)" : "(?, ?, ?)");
            sql_param(&b, router_id);
            sql_param(&b, routes[i].destination);
            sql_param(&b, routes[i].nexthop);
        }
        error = exec_sql(db, &b, "replacing routes", NULL);
        sql_destroy(&b);
    }
    return error;
}

/* ---- The external gateway ---- */

/* external_gateway_info as given (validated). */
struct gw_request {
    bool clear;                         /* null, {} or []: no gateway */
    char network_id[UUID_STR_LEN];
    bool snat_given;
    bool enable_snat;
    yajl_val ext_ips;                   /* nonempty list, or NULL */
};

static void
gw_parse(const struct value *v, struct gw_request *req)
{
    memset(req, 0, sizeof *req);
    req->enable_snat = true;            /* enable_snat_by_default */
    if (v->kind != VALUE_TREE || !YAJL_IS_OBJECT(v->tree)
        || !v->tree->u.object.len) {
        req->clear = true;
        return;
    }
    yajl_val net = jsonv_member(v->tree, "network_id");
    char lower[UUID_STR_LEN];
    for (size_t i = 0; i < UUID_STR_LEN; i++) {
        char c = net->u.string[i];
        lower[i] = c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c;
    }
    str_copy(req->network_id, lower, sizeof req->network_id);
    yajl_val snat = jsonv_member(v->tree, "enable_snat");
    if (snat) {
        req->snat_given = true;
        if (YAJL_IS_STRING(snat)) {
            str_to_bool(snat->u.string, &req->enable_snat);
        } else {
            req->enable_snat = YAJL_IS_TRUE(snat);
        }
    }
    yajl_val ips = jsonv_member(v->tree, "external_fixed_ips");
    if (YAJL_IS_ARRAY(ips) && ips->u.array.len) {
        req->ext_ips = ips;
    }
}

/* Neutron's policy on the admin-only keys of external_gateway_info. */
static struct neutron_error *
gw_check_policy(const struct op_ctx *ctx, const char *action,
                const struct value *v)
{
    static const char *const admin_only[] = {
        "enable_snat", "external_fixed_ips"
    };

    if (ctx->auth.is_admin || v->kind != VALUE_TREE) {
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(admin_only); i++) {
        if (jsonv_member(v->tree, admin_only[i])) {
            char attr[100];
            snprintf(attr, sizeof attr, "external_gateway_info:%s",
                     admin_only[i]);
            return policy_refused(action, attr);
        }
    }
    return NULL;
}

static struct neutron_error *
gw_write(struct db *db, const struct router_state *st)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "UPDATE routers SET gw_port_id = ?, enable_snat = ? "
            "WHERE id = ?");
    sql_param(&b, *st->gw_port_id ? st->gw_port_id : NULL);
    sql_param_int(&b, st->enable_snat);
    sql_param(&b, st->id);
    struct neutron_error *error = exec_sql(db, &b, "setting a gateway", NULL);
    sql_destroy(&b);
    return error;
}

/* Removes the gateway port (after the floating IP check). */
static struct neutron_error *
gw_remove(const struct op_ctx *ctx, struct router_state *st,
          struct l3_after *after)
{
    struct neutron_error *error;

    error = l3_fips_check_gateway_change__(ctx->db, st->id,
                                           st->gw_network_id);
    if (!error) {
        error = routerport_delete(ctx->db, st->gw_port_id);
    }
    char port_id[UUID_STR_LEN];
    str_copy(port_id, st->gw_port_id, sizeof port_id);
    st->gw_port_id[0] = '\0';
    st->gw_network_id[0] = '\0';
    if (!error) {
        error = gw_write(ctx->db, st);
    }
    if (!error) {
        error = port_delete(ctx, port_id, after);
    }
    return error;
}

/* Neutron's _check_for_external_ip_change: whether 'ext_ips' asks for
 * other subnets or addresses than gateway port 'port' has. */
static bool
gw_ips_changed(yajl_val ext_ips, const struct res_obj *port)
{
    int idx = resource_attr_index(port->def, "fixed_ips");
    const struct value *v = &port->v[idx];
    yajl_val cur = v->kind == VALUE_RAW ? yajl_tree_parse(v->s, NULL, 0)
                                        : NULL;
    bool changed = false;

    /* Set equality of the subnet ids given and the port's, then of the
     * addresses given and the port's. */
    static const char *const keys[] = { "subnet_id", "ip_address" };
    for (size_t k = 0; k < 2 && !changed; k++) {
        size_t n_cur = YAJL_IS_ARRAY(cur) ? cur->u.array.len : 0;
        for (size_t i = 0; i < ext_ips->u.array.len && !changed; i++) {
            yajl_val want = jsonv_member(ext_ips->u.array.values[i], keys[k]);
            bool found = false;
            if (!YAJL_IS_STRING(want)) {
                continue;
            }
            for (size_t j = 0; j < n_cur && !found; j++) {
                yajl_val have = jsonv_member(cur->u.array.values[j], keys[k]);
                found = YAJL_IS_STRING(have)
                        && !strcmp(have->u.string, want->u.string);
            }
            changed = !found;
        }
        for (size_t j = 0; j < n_cur && !changed; j++) {
            yajl_val have = jsonv_member(cur->u.array.values[j], keys[k]);
            bool found = false;
            for (size_t i = 0; i < ext_ips->u.array.len && !found; i++) {
                yajl_val want = jsonv_member(ext_ips->u.array.values[i],
                                             keys[k]);
                found = YAJL_IS_STRING(want) && YAJL_IS_STRING(have)
                        && !strcmp(have->u.string, want->u.string);
            }
            changed = !found;
        }
    }
    yajl_tree_free(cur);
    return changed;
}

/* Checks the external network: visible to the caller (else 404) and
 * external (else 400); no requested address may be a subnet's gateway. */
static struct neutron_error *
gw_check_network(const struct op_ctx *ctx, const struct gw_request *req,
                 struct subnet_info **subnets, size_t *n_subnets)
{
    struct neutron_error *error = NULL;
    struct sql_buf b;
    int rc;

    *subnets = NULL;
    *n_subnets = 0;
    sql_init(&b);
    sql_add(&b, "SELECT t.router_external FROM networks t WHERE t.id = ?");
    sql_param(&b, req->network_id);
    add_visible(&b, &l2_network_def, ctx);
    struct db_stmt *stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(ctx->db, DB_ERROR, "reading a network");
    }
    rc = db_step(stmt);
    bool external = rc == DB_ROW && db_col_int64(stmt, 0) != 0;
    db_reset(stmt);
    if (rc == DB_DONE) {
        return neutron_error_create(NE_NOT_FOUND, "NetworkNotFound",
                                    "Network %s could not be found.",
                                    req->network_id);
    } else if (rc != DB_ROW) {
        return store_db_error(ctx->db, rc, "reading a network");
    }
    if (!external) {
        return bad_router("Network %s is not an external network",
                          req->network_id);
    }
    error = subnets_load(ctx->db, NULL, req->network_id, NULL, 0, subnets,
                         n_subnets);
    for (size_t i = 0; req->ext_ips && !error
         && i < req->ext_ips->u.array.len; i++) {
        yajl_val ip = jsonv_member(req->ext_ips->u.array.values[i],
                                   "ip_address");
        struct ipaddr a, g;
        if (!YAJL_IS_STRING(ip) || !ipaddr_parse(ip->u.string, &a)) {
            continue;
        }
        for (size_t j = 0; j < *n_subnets && !error; j++) {
            if (*(*subnets)[j].gateway_ip
                && ipaddr_parse((*subnets)[j].gateway_ip, &g)
                && !ipaddr_cmp(&a, &g)) {
                error = bad_router("External IP %s is the same as the "
                                   "gateway IP", ip->u.string);
            }
        }
    }
    if (error) {
        free(*subnets);
        *subnets = NULL;
        *n_subnets = 0;
    }
    return error;
}

/* Creates the gateway port on req->network_id, a port of no project. */
static struct neutron_error *
gw_create_port(const struct op_ctx *ctx, struct router_state *st,
               const struct gw_request *req, struct l3_after *after)
{
    struct neutron_error *error;
    struct res_obj *port;

    yajl_gen g = json_gen_create();
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", req->network_id);
    json_kv_str(g, "project_id", st->project_id);
    json_kv_str(g, "device_id", st->id);
    json_kv_str(g, "device_owner", OWNER_GW);
    json_kv_str(g, "name", "");
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, true);
    if (req->ext_ips) {
        json_key(g, "fixed_ips");
        json_value(g, req->ext_ips);
    }
    yajl_gen_map_close(g);
    char *json = json_gen_finish(g);
    error = port_create(ctx, json, after, &port);
    free(json);
    if (error) {
        return error;
    }

    /* Neutron's gateway port belongs to no project: hidden from users. */
    const char *port_id = str_named(port, "id");
    error = exec1(ctx->db, "UPDATE ports SET project_id = '' WHERE id = ?",
                  port_id, "creating a gateway port");
    if (!error) {
        value_set_str(&port->v[resource_attr_index(port->def, "project_id")],
                      "");
        value_set_str(&port->v[resource_attr_index(port->def, "tenant_id")],
                      "");
        error = routerport_insert(ctx->db, st->id, port_id, OWNER_GW);
    }
    if (!error) {
        str_copy(st->gw_port_id, port_id, sizeof st->gw_port_id);
        str_copy(st->gw_network_id, req->network_id,
                 sizeof st->gw_network_id);
    }
    return error;
}

/* Applies external_gateway_info 'req' to the router (Neutron's
 * _update_router_gw_info), for its provider st->provider.  Sets
 * '*changed' when the gateway or SNAT changed. */
static struct neutron_error *
gw_apply(const struct op_ctx *ctx, struct router_state *st,
         const struct gw_request *req, struct l3_after *after, bool *changed)
{
    struct subnet_info *subnets = NULL;
    struct neutron_error *error;
    size_t n_subnets = 0;

    *changed = false;
    if (req->clear) {
        if (!*st->gw_port_id) {
            return NULL;
        }
        *changed = true;
        st->enable_snat = true;
        return gw_remove(ctx, st, after);
    }

    error = gw_check_network(ctx, req, &subnets, &n_subnets);
    if (!error) {
        error = req->enable_snat
                ? l3_check_capability__(st->provider, HADRON_L3_CAP_SNAT,
                                        "an external gateway with SNAT")
                : l3_check_capability__(st->provider, HADRON_L3_CAP_GATEWAY,
                                        "an external gateway without SNAT");
    }
    if (error) {
        goto out;
    }
    *changed = st->enable_snat != req->enable_snat;
    st->enable_snat = req->enable_snat;

    if (*st->gw_port_id && !strcmp(st->gw_network_id, req->network_id)) {
        /* Same network: new addresses, if any were asked for. */
        if (req->ext_ips) {
            struct res_obj *cur = NULL, *port = NULL;
            error = port_load(ctx->db, st->gw_port_id, &cur);
            if (!error && gw_ips_changed(req->ext_ips, cur)) {
                yajl_gen g = json_gen_create();
                yajl_gen_map_open(g);
                json_key(g, "fixed_ips");
                json_value(g, req->ext_ips);
                yajl_gen_map_close(g);
                char *json = json_gen_finish(g);
                error = port_update(ctx, cur, json, after, &port);
                free(json);
                *changed = true;
            }
            res_obj_destroy(cur);
        }
    } else {
        *changed = true;
        if (*st->gw_port_id) {
            error = gw_remove(ctx, st, after);
        }
        if (!error) {
            struct rport *rp = NULL;
            size_t n_rp = 0;
            error = rports_load(ctx->db, st->id, &rp, &n_rp);
            if (!error) {
                error = check_dup_subnets(ctx->db, st, rp, n_rp, subnets,
                                          n_subnets);
            }
            free(rp);
        }
        if (!error) {
            error = gw_create_port(ctx, st, req, after);
        }
    }
    if (!error) {
        error = gw_write(ctx->db, st);
    }
out:
    free(subnets);
    return error;
}

/* ---- Computed attributes ---- */

static int
cmp_obj_id(const void *a_, const void *b_)
{
    const struct res_obj *const *a = a_, *const *b = b_;
    return strcmp(str_attr(*a, R_ID), str_attr(*b, R_ID));
}

/* Finds the object of 'id' in 'sorted' from index '*k' on (rows come in
 * id order).  Returns its index or -1. */
static ssize_t
advance_to(struct res_obj **sorted, size_t end, size_t *k, const char *id)
{
    while (*k < end && strcmp(str_attr(sorted[*k], R_ID), id) < 0) {
        (*k)++;
    }
    return *k < end && !strcmp(str_attr(sorted[*k], R_ID), id) ? (ssize_t) *k
                                                              : -1;
}

/* Fills external_gateway_info and routes of 'n' routers: one query for
 * the gateways and one for the routes per CHILD_CHUNK routers. */
static struct neutron_error *
router_expand(struct db *db, struct res_obj **objs, size_t n)
{
    struct res_obj **sorted = xmalloc(n * sizeof *sorted);
    yajl_gen *gws = xcalloc(n, sizeof *gws);
    yajl_gen *routes = xcalloc(n, sizeof *routes);
    struct neutron_error *error = NULL;

    memcpy(sorted, objs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_obj_id);
    for (size_t start = 0; start < n && !error; start += CHILD_CHUNK) {
        size_t end = start + CHILD_CHUNK < n ? start + CHILD_CHUNK : n;
        for (int q = 0; q < 2 && !error; q++) {
            struct sql_buf b;
            int rc;

            sql_init(&b);
            sql_add(&b, q == 0
                    ? "SELECT r.id, r.enable_snat, p.network_id, "
                      "a.subnet_id, a.ip_address FROM routers r "
                      "JOIN ports p ON p.id = r.gw_port_id "
                      "LEFT JOIN ipallocations a ON a.port_id = p.id "
                      "WHERE r.id IN ("
                    : "SELECT router_id, destination, nexthop "
                      "FROM routerroutes WHERE router_id IN (");
            for (size_t i = start; i < end; i++) {
                sql_add(&b, i > start ? ", ?" : "?");
                sql_param(&b, str_attr(sorted[i], R_ID));
            }
            sql_in_pad(&b, end - start);
            sql_add(&b, q == 0 ? ") ORDER BY r.id, a.ip_address"
                               : ") ORDER BY router_id, destination, "
                                 "nexthop");
            struct db_stmt *stmt = sql_prepare(db, &b);
            sql_destroy(&b);
            if (!stmt) {
                error = store_db_error(db, DB_ERROR, "loading routers");
                break;
            }
            size_t k = start;
            while ((rc = db_step(stmt)) == DB_ROW) {
                ssize_t i = advance_to(sorted, end, &k, db_col_text(stmt, 0));
                if (i < 0) {
                    continue;
                }
                if (q == 0) {
                    if (!gws[i]) {
                        gws[i] = json_gen_create();
                        yajl_gen_map_open(gws[i]);
                        json_kv_str(gws[i], "network_id",
                                    db_col_text(stmt, 2));
                        json_key(gws[i], "enable_snat");
                        yajl_gen_bool(gws[i], db_col_int64(stmt, 1) != 0);
                        json_key(gws[i], "external_fixed_ips");
                        yajl_gen_array_open(gws[i]);
                    }
                    if (!db_col_is_null(stmt, 3)) {
                        yajl_gen_map_open(gws[i]);
                        json_kv_str(gws[i], "subnet_id", db_col_text(stmt, 3));
                        json_kv_str(gws[i], "ip_address",
                                    db_col_text(stmt, 4));
                        yajl_gen_map_close(gws[i]);
                    }
                } else {
                    if (!routes[i]) {
                        routes[i] = json_gen_create();
                        yajl_gen_array_open(routes[i]);
                    }
                    yajl_gen_map_open(routes[i]);
                    json_kv_str(routes[i], "destination",
                                db_col_text(stmt, 1));
                    json_kv_str(routes[i], "nexthop", db_col_text(stmt, 2));
                    yajl_gen_map_close(routes[i]);
                }
            }
            db_reset(stmt);
            if (rc != DB_DONE) {
                error = store_db_error(db, rc, "loading routers");
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (gws[i]) {
            yajl_gen_array_close(gws[i]);
            yajl_gen_map_close(gws[i]);
            char *text = json_gen_finish(gws[i]);
            if (!error) {
                value_take_raw(&sorted[i]->v[R_GW_INFO], text);
            } else {
                free(text);
            }
        } else if (!error) {
            value_set_null(&sorted[i]->v[R_GW_INFO]);
        }
        if (routes[i]) {
            yajl_gen_array_close(routes[i]);
            char *text = json_gen_finish(routes[i]);
            if (!error) {
                value_take_raw(&sorted[i]->v[R_ROUTES], text);
            } else {
                free(text);
            }
        } else if (!error) {
            value_set_raw(&sorted[i]->v[R_ROUTES], "[]");
        }
    }
    free(gws);
    free(routes);
    free(sorted);
    return error;
}

/* ---- Journal data ---- */

/* The interface 'port_id' of router 'router_id' as a journal entry's data:
 * {"id", "router_id", "port_id", "network_id", "mac_address",
 *  "fixed_ips": [{"subnet_id", "ip_address", "cidr"}]}. */
static struct neutron_error *
interface_data(struct db *db, const char *router_id, const char *port_id,
               char **out)
{
    struct db_stmt *stmt;
    int rc;

    *out = NULL;
    stmt = db_prepare(db, "SELECT p.network_id, p.mac_address, a.subnet_id, "
                      "a.ip_address, s.cidr FROM ports p "
                      "LEFT JOIN ipallocations a ON a.port_id = p.id "
                      "LEFT JOIN subnets s ON s.id = a.subnet_id "
                      "WHERE p.id = ? ORDER BY a.ip_address");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading an interface");
    }
    db_bind_text(stmt, 1, port_id);

    yajl_gen g = json_gen_create();
    bool first = true;
    yajl_gen_map_open(g);
    json_kv_str(g, "id", port_id);
    json_kv_str(g, "router_id", router_id);
    json_kv_str(g, "port_id", port_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        if (first) {
            json_kv_str(g, "network_id", db_col_text(stmt, 0));
            json_kv_str(g, "mac_address", db_col_text(stmt, 1));
            json_key(g, "fixed_ips");
            yajl_gen_array_open(g);
            first = false;
        }
        if (!db_col_is_null(stmt, 2)) {
            yajl_gen_map_open(g);
            json_kv_str(g, "subnet_id", db_col_text(stmt, 2));
            json_kv_str(g, "ip_address", db_col_text(stmt, 3));
            json_kv_str(g, "cidr", db_col_text(stmt, 4));
            yajl_gen_map_close(g);
        }
    }
    db_reset(stmt);
    if (first) {
        json_key(g, "fixed_ips");
        yajl_gen_array_open(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    char *text = json_gen_finish(g);
    if (rc != DB_DONE) {
        free(text);
        return store_db_error(db, rc, "reading an interface");
    }
    *out = text;
    return NULL;
}

static struct neutron_error *
journal_interface(const struct op_ctx *ctx, const struct l3_provider *p,
                  const char *operation, const char *router_id,
                  const char *port_id, int64_t revision, const char *data)
{
    return l3_journal__(ctx, p, "router_interface", operation, port_id,
                        router_id, revision, data);
}

static struct neutron_error *
journal_router(const struct op_ctx *ctx, const struct l3_provider *p,
               const char *operation, const char *router_id,
               int64_t revision)
{
    char *doc = NULL;
    struct neutron_error *error = l3_router_doc__(ctx->db, router_id, &doc);

    if (!error && !doc) {
        error = neutron_error_internal("router %s vanished", router_id);
    }
    if (!error) {
        error = l3_journal__(ctx, p, "router", operation, router_id,
                             router_id, revision, doc);
    }
    free(doc);
    return error;
}

/* ---- Capabilities of a whole router (flavor change) ---- */

static struct neutron_error *
check_router_capabilities(struct db *db, const struct router_state *st,
                          bool admin_up, bool has_routes)
{
    const struct l3_provider *p = st->provider;
    struct neutron_error *error = NULL;
    struct rport *rp = NULL;
    size_t n_rp = 0;

    if (*st->gw_port_id) {
        error = st->enable_snat
                ? l3_check_capability__(p, HADRON_L3_CAP_SNAT,
                                        "an external gateway with SNAT")
                : l3_check_capability__(p, HADRON_L3_CAP_GATEWAY,
                                        "an external gateway without SNAT");
    }
    if (!error && has_routes) {
        error = l3_check_capability__(p, HADRON_L3_CAP_EXTRA_ROUTES,
                                      "extra routes");
    }
    if (!error && !admin_up) {
        error = l3_check_capability__(p, HADRON_L3_CAP_ADMIN_DOWN,
                                      "admin_state_up false");
    }
    if (!error) {
        error = rports_load(db, st->id, &rp, &n_rp);
    }
    for (size_t i = 0; i < n_rp && !error; i++) {
        if (!strcmp(rp[i].type, OWNER_INTF) && rp[i].ip_version == 6) {
            error = l3_check_capability__(p, HADRON_L3_CAP_IPV6,
                                          "IPv6 interfaces");
        }
    }
    free(rp);
    if (!error) {
        int64_t n_fips = 0;
        int rc = store_count(db, "floatingips", "router_id", st->id, &n_fips);
        if (rc) {
            error = store_db_error(db, rc, "counting floating IPs");
        } else if (n_fips) {
            error = l3_check_capability__(p, HADRON_L3_CAP_FLOATINGIP,
                                          "floating IPs");
        }
    }
    return error;
}

/* The ids of the router's interface ports (caller frees). */
static struct neutron_error *
interface_ports(struct db *db, const char *router_id, char ***ids, size_t *n)
{
    struct rport *rp = NULL;
    size_t n_rp = 0;

    *ids = NULL;
    *n = 0;
    struct neutron_error *error = rports_load(db, router_id, &rp, &n_rp);
    for (size_t i = 0; i < n_rp && !error; i++) {
        if (strcmp(rp[i].type, OWNER_INTF)
            || (*n && !strcmp((*ids)[*n - 1], rp[i].port_id))) {
            continue;
        }
        *ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
        (*ids)[(*n)++] = xstrdup(rp[i].port_id);
    }
    free(rp);
    return error;
}

static void
free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
}

/* Moves the router from 'old' to st->provider (Hadron's flavor change):
 * the new driver builds it (the router, then its interfaces), each FIP
 * moves (removed by the old driver, added by the new), then the old driver
 * tears the rest down (interfaces, then the router), all recorded in this
 * transaction.  'old_doc' is the router as it was. */
static struct neutron_error *
migrate(const struct op_ctx *ctx, const struct router_state *st,
        const struct l3_provider *old, const char *old_doc, int64_t revision)
{
    struct neutron_error *error;
    char **ids = NULL, **data = NULL;
    size_t n = 0;

    error = exec1(ctx->db, "DELETE FROM router_provider WHERE router_id = ?",
                  st->id, "changing a router's flavor");
    if (!error) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "INSERT INTO router_provider (router_id, provider) "
                "VALUES (?, ?)");
        sql_param(&b, st->id);
        sql_param(&b, l3_provider_name(st->provider));
        error = exec_sql(ctx->db, &b, "changing a router's flavor", NULL);
        sql_destroy(&b);
    }
    if (!error) {
        error = interface_ports(ctx->db, st->id, &ids, &n);
    }
    if (!error) {
        data = xcalloc(n + 1, sizeof *data);
    }
    for (size_t i = 0; i < n && !error; i++) {
        error = interface_data(ctx->db, st->id, ids[i], &data[i]);
    }
    /* The new driver builds the router and its interfaces, each FIP moves
     * (the old driver removes it, the new one adds it), then the old
     * driver removes the interfaces and the router: each driver gets
     * dependents after what they depend on, and the journal applies one
     * router's rows in this order across drivers. */
    if (!error) {
        error = journal_router(ctx, st->provider, "create", st->id, revision);
    }
    for (size_t i = 0; i < n && !error; i++) {
        error = journal_interface(ctx, st->provider, "create", st->id, ids[i],
                                  revision, data[i]);
    }
    if (!error) {
        error = l3_fips_rejournal__(ctx, st->id, old, st->provider);
    }
    for (size_t i = 0; i < n && !error; i++) {
        error = journal_interface(ctx, old, "delete", st->id, ids[i],
                                  revision, data[i]);
    }
    if (!error) {
        error = l3_journal__(ctx, old, "router", "delete", st->id, st->id,
                             revision, old_doc);
    }
    if (!error) {
        /* Its networks may no longer be the old driver's (l3_mech.c). */
        error = l3_mech_router_moved__(ctx, st->id, old);
    }
    if (data) {
        free_ids(data, n);
    }
    free_ids(ids, n);
    return error;
}

/* ---- Create, update, delete ---- */

static void
attach_after(struct res_obj *obj, struct l3_after *after)
{
    if (obj->aux_free) {
        obj->aux_free(obj->aux);
    }
    obj->aux = after;
    obj->aux_free = after_destroy;
}

static struct neutron_error *
router_create(const struct op_ctx *ctx, const struct res_obj *body,
              struct res_obj **out)
{
    struct res_obj *router = res_obj_clone(body);
    struct l3_after *after = xzalloc(sizeof *after);
    struct neutron_error *error;
    struct router_state st;
    struct gw_request gw;
    char *doc = NULL;

    *out = NULL;
    memset(&st, 0, sizeof st);
    error = gw_check_policy(ctx, "create", &body->v[R_GW_INFO]);
    if (!error) {
        error = store_fill_new(ctx, router);
    }
    if (!error) {
        error = flavors_resolve(ctx->db, value_str(&router->v[R_FLAVOR_ID]),
                                &st.provider);
    }
    if (!error && !router->v[R_ADMIN_STATE_UP].b) {
        error = l3_check_capability__(st.provider, HADRON_L3_CAP_ADMIN_DOWN,
                                      "admin_state_up false");
    }
    if (error) {
        goto out;
    }
    if (!value_str(&router->v[R_FLAVOR_ID])) {
        value_set_null(&router->v[R_FLAVOR_ID]);
    }
    value_set_str(&router->v[R_STATUS], "DOWN");
    value_set_null(&router->v[R_GW_INFO]);
    value_set_raw(&router->v[R_ROUTES], "[]");
    error = events_publish(ctx, EV_ROUTER, EV_BEFORE_CREATE, router, NULL);
    if (!error) {
        error = store_insert(ctx->db, router);
    }
    str_copy(st.id, str_attr(router, R_ID), sizeof st.id);
    str_copy(st.project_id, str_attr(router, R_PROJECT_ID),
             sizeof st.project_id);
    str_copy(st.provider_name, l3_provider_name(st.provider),
             sizeof st.provider_name);
    st.enable_snat = true;
    if (!error) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "INSERT INTO router_provider (router_id, provider) "
                "VALUES (?, ?)");
        sql_param(&b, st.id);
        sql_param(&b, st.provider_name);
        error = exec_sql(ctx->db, &b, "binding a router to its flavor", NULL);
        sql_destroy(&b);
    }
    gw_parse(&body->v[R_GW_INFO], &gw);
    if (!error && !gw.clear) {
        bool changed;
        error = gw_apply(ctx, &st, &gw, after, &changed);
        if (!error) {
            error = router_expand(ctx->db, &router, 1);
        }
    }
    if (!error) {
        error = events_publish(ctx, EV_ROUTER, EV_PRECOMMIT_CREATE, router,
                               NULL);
    }
    if (!error && gw.clear) {
        doc = l3_router_doc_new__(st.id, str_attr(router, R_NAME),
                                  st.project_id,
                                  router->v[R_ADMIN_STATE_UP].b,
                                  value_str(&router->v[R_FLAVOR_ID]));
    } else if (!error) {
        error = l3_router_doc__(ctx->db, st.id, &doc);
    }
    if (!error) {
        error = l3_journal__(ctx, st.provider, "router", "create", st.id,
                             st.id, 0, doc);
    }
out:
    free(doc);
    if (error) {
        after_destroy(after);
        res_obj_destroy(router);
        return error;
    }
    after->wake = true;
    attach_after(router, after);
    *out = router;
    return NULL;
}

static struct neutron_error *
router_update(const struct op_ctx *ctx, struct res_obj *cur,
              const struct res_obj *body, struct res_obj **out)
{
    static const int plain[] = { R_NAME, R_DESCRIPTION, R_ADMIN_STATE_UP };
    struct res_obj *router = res_obj_clone(cur);
    struct l3_after *after = xzalloc(sizeof *after);
    const struct l3_provider *old_provider = NULL;
    bool changed[R_N_ATTRS] = { false };
    struct route *routes = NULL;
    struct neutron_error *error;
    struct router_state st;
    char *old_doc = NULL;
    size_t n_routes = 0;
    bool gw_changed = false;

    *out = NULL;
    error = gw_check_policy(ctx, "update", &body->v[R_GW_INFO]);
    if (!error) {
        error = lock_router(ctx->db, str_attr(cur, R_ID));
    }
    if (!error) {
        error = state_load(ctx->db, str_attr(cur, R_ID), &st);
    }
    if (error) {
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        if (value_is_set(&body->v[plain[i]])) {
            value_copy(&router->v[plain[i]], &body->v[plain[i]]);
            changed[plain[i]] = true;
        }
    }
    bool admin_up = router->v[R_ADMIN_STATE_UP].kind != VALUE_BOOL
                    || router->v[R_ADMIN_STATE_UP].b;

    /* Hadron's flavor change: only while administratively down. */
    if (value_is_set(&body->v[R_FLAVOR_ID])) {
        const char *want = value_str(&body->v[R_FLAVOR_ID]);
        const char *have = value_str(&cur->v[R_FLAVOR_ID]);
        if (strcmp(want ? want : "", have ? have : "")) {
            const struct l3_provider *p = NULL;
            if (admin_up) {
                error = bad_router("Cannot change the flavor of router %s "
                                   "while it is administratively up: set "
                                   "admin_state_up to false first",
                                   st.id);
                goto out;
            }
            error = flavors_resolve(ctx->db, want, &p);
            if (error) {
                goto out;
            }
            value_copy(&router->v[R_FLAVOR_ID], &body->v[R_FLAVOR_ID]);
            changed[R_FLAVOR_ID] = true;
            if (p != st.provider) {
                old_provider = st.provider;
                st.provider = p;
                str_copy(st.provider_name, l3_provider_name(p),
                         sizeof st.provider_name);
            }
        }
    }
    error = events_publish(ctx, EV_ROUTER, EV_BEFORE_UPDATE, router, cur);
    if (!error && old_provider) {
        error = l3_router_doc__(ctx->db, st.id, &old_doc);
    }
    if (!error && !admin_up && cur->v[R_ADMIN_STATE_UP].b) {
        error = l3_check_capability__(st.provider, HADRON_L3_CAP_ADMIN_DOWN,
                                      "admin_state_up false");
    }
    if (!error && value_is_set(&body->v[R_GW_INFO])) {
        struct gw_request gw;
        gw_parse(&body->v[R_GW_INFO], &gw);
        error = gw_apply(ctx, &st, &gw, after, &gw_changed);
    }
    if (!error && value_is_set(&body->v[R_ROUTES])) {
        const struct value *v = &body->v[R_ROUTES];
        parse_routes(v->kind == VALUE_TREE ? v->tree : NULL, &routes,
                     &n_routes);
        if (n_routes) {
            error = l3_check_capability__(st.provider,
                                          HADRON_L3_CAP_EXTRA_ROUTES,
                                          "extra routes");
        }
        if (!error) {
            error = routes_check(ctx->db, &st, routes, n_routes);
        }
        if (!error) {
            error = routes_write(ctx->db, st.id, routes, n_routes);
        }
    } else if (!error && (gw_changed || old_provider)) {
        /* The routes must still reach their nexthops through the new
         * gateway, and the new flavor must take them. */
        error = routes_load(ctx->db, st.id, &routes, &n_routes);
        if (!error && gw_changed) {
            error = routes_check(ctx->db, &st, routes, n_routes);
        }
    }
    if (!error) {
        error = store_update(ctx->db, router, changed);
    }
    if (!error && (gw_changed || value_is_set(&body->v[R_ROUTES]))) {
        error = router_expand(ctx->db, &router, 1);
    }
    if (!error) {
        error = events_publish(ctx, EV_ROUTER, EV_PRECOMMIT_UPDATE, router,
                               cur);
    }
    int64_t revision = router->v[R_REVISION].i;
    if (!error && old_provider) {
        error = check_router_capabilities(ctx->db, &st, admin_up,
                                          n_routes > 0);
        if (!error) {
            error = migrate(ctx, &st, old_provider, old_doc, revision);
        }
    } else if (!error) {
        error = journal_router(ctx, st.provider, "update", st.id, revision);
    }
out:
    free(routes);
    free(old_doc);
    if (error) {
        after_destroy(after);
        res_obj_destroy(router);
        return error;
    }
    after->wake = true;
    attach_after(router, after);
    *out = router;
    return NULL;
}

static struct neutron_error *
router_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    struct l3_after *after = xzalloc(sizeof *after);
    struct neutron_error *error;
    struct router_state st;
    struct rport *rp = NULL;
    char *old_doc = NULL;
    size_t n_rp = 0;

    error = events_publish(ctx, EV_ROUTER, EV_BEFORE_DELETE, NULL, cur);
    if (!error) {
        error = lock_router(ctx->db, str_attr(cur, R_ID));
    }
    if (!error) {
        error = state_load(ctx->db, str_attr(cur, R_ID), &st);
    }
    if (!error) {
        error = rports_load(ctx->db, st.id, &rp, &n_rp);
    }
    if (!error) {
        char attached[1024] = "";
        size_t len = 0;
        for (size_t i = 0; i < n_rp && len < sizeof attached; i++) {
            if (!strcmp(rp[i].type, OWNER_INTF)
                && (!i || strcmp(rp[i - 1].port_id, rp[i].port_id))) {
                len += snprintf(attached + len, sizeof attached - len,
                                "%s%s", len ? ", " : "", rp[i].port_id);
            }
        }
        if (len) {
            error = neutron_error_create(NE_CONFLICT, "RouterInUse",
                                         "Router %s has ports still "
                                         "attached: %s", st.id, attached);
        }
    }
    if (!error) {
        error = l3_router_doc__(ctx->db, st.id, &old_doc);
    }
    if (!error && *st.gw_port_id) {
        error = gw_remove(ctx, &st, after);
    }
    if (!error) {
        error = exec1(ctx->db, "DELETE FROM routerroutes WHERE router_id = ?",
                      st.id, "deleting a router");
    }
    if (!error) {
        error = exec1(ctx->db, "DELETE FROM router_provider "
                      "WHERE router_id = ?", st.id, "deleting a router");
    }
    if (!error) {
        error = store_delete(ctx->db, &l3_router_def, st.id);
    }
    if (!error) {
        error = events_publish(ctx, EV_ROUTER, EV_PRECOMMIT_DELETE, NULL,
                               cur);
    }
    if (!error) {
        error = l3_journal__(ctx, st.provider, "router", "delete", st.id,
                             st.id, cur->v[R_REVISION].i, old_doc);
    }
    free(rp);
    free(old_doc);
    if (error) {
        after_destroy(after);
        return error;
    }
    after->wake = true;
    attach_after(cur, after);
    return NULL;
}

static struct neutron_error *
router_after_create(const struct op_ctx *ctx, const struct res_obj *obj)
{
    after_run(ctx, obj->aux);
    neutron_error_destroy(events_publish(ctx, EV_ROUTER, EV_AFTER_CREATE, obj,
                                         NULL));
    return NULL;
}

static struct neutron_error *
router_after_update(const struct op_ctx *ctx, const struct res_obj *obj)
{
    after_run(ctx, obj->aux);
    return events_publish(ctx, EV_ROUTER, EV_AFTER_UPDATE, obj, NULL);
}

static struct neutron_error *
router_after_remove(const struct op_ctx *ctx, const struct res_obj *old)
{
    after_run(ctx, old->aux);
    return events_publish(ctx, EV_ROUTER, EV_AFTER_DELETE, NULL, old);
}

static const struct resource_ops router_ops = {
    .create = router_create,
    .update = router_update,
    .remove = router_remove,
    .after_create = router_after_create,
    .after_update = router_after_update,
    .after_remove = router_after_remove,
    .expand = router_expand,
};

/* ---- Interfaces ---- */

/* Neutron's _validate_interface_info: stores the ids given (lower case)
 * in 'port_id' and 'subnet_id' ("" when absent). */
static struct neutron_error *
interface_info(yajl_val body, bool for_removal,
               char port_id[UUID_STR_LEN], char subnet_id[UUID_STR_LEN])
{
    yajl_val port = jsonv_member(body, "port_id");
    yajl_val subnet = jsonv_member(body, "subnet_id");
    yajl_val given[2] = { port, subnet };
    char *out[2] = { port_id, subnet_id };

    port_id[0] = subnet_id[0] = '\0';
    if (!port && !subnet) {
        return bad_router("Either subnet_id or port_id must be specified");
    }
    for (size_t i = 0; i < 2; i++) {
        char what[256];
        if (!given[i]) {
            continue;
        }
        if (!YAJL_IS_STRING(given[i]) || !uuid_is_valid(given[i]->u.string)) {
            jsonv_describe(given[i], what, sizeof what);
            return bad_router("'%s' is not a valid UUID", what);
        }
        for (size_t k = 0; k < UUID_STR_LEN; k++) {
            char c = given[i]->u.string[k];
            out[i][k] = c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c;
        }
    }
    if (!for_removal && port && subnet) {
        return bad_router("Cannot specify both subnet-id and port-id");
    }
    return NULL;
}

/* The fixed IPs of a loaded port: its "fixed_ips" value parsed (caller
 * frees with yajl_tree_free). */
static yajl_val
port_fixed_ips(const struct res_obj *port)
{
    const struct value *v = &port->v[resource_attr_index(port->def,
                                                         "fixed_ips")];
    return v->kind == VALUE_RAW ? yajl_tree_parse(v->s, NULL, 0) : NULL;
}

/* Neutron's _validate_port_in_range_or_admin: a project may not attach a
 * port whose address lies outside the pools of a subnet it does not own. */
static struct neutron_error *
check_port_in_range(const struct op_ctx *ctx, const char *port_id,
                    yajl_val ips, const struct subnet_info *subnets,
                    size_t n_subnets)
{
    if (ctx->auth.is_admin) {
        return NULL;
    }
    for (size_t i = 0; i < ips->u.array.len; i++) {
        yajl_val ip = jsonv_member(ips->u.array.values[i], "ip_address");
        yajl_val sid = jsonv_member(ips->u.array.values[i], "subnet_id");
        const struct subnet_info *s = NULL;
        for (size_t j = 0; j < n_subnets; j++) {
            if (YAJL_IS_STRING(sid) && !strcmp(subnets[j].id, sid->u.string)) {
                s = &subnets[j];
            }
        }
        if (!s || !strcmp(s->project_id, ctx->auth.project_id)
            || !YAJL_IS_STRING(ip)) {
            continue;
        }
        struct db_stmt *stmt = db_prepare(ctx->db, "SELECT first_ip, last_ip "
                                          "FROM ipallocationpools "
                                          "WHERE subnet_id = ?");
        struct ipaddr a, first, last;
        bool inside = false;
        int rc;
        if (!stmt) {
            return store_db_error(ctx->db, DB_ERROR, "reading pools");
        }
        db_bind_text(stmt, 1, s->id);
        ipaddr_parse(ip->u.string, &a);
        while ((rc = db_step(stmt)) == DB_ROW) {
            if (ipaddr_parse(db_col_text(stmt, 0), &first)
                && ipaddr_parse(db_col_text(stmt, 1), &last)
                && ipaddr_cmp(&first, &a) <= 0 && ipaddr_cmp(&a, &last) <= 0) {
                inside = true;
            }
        }
        db_reset(stmt);
        if (rc != DB_DONE) {
            return store_db_error(ctx->db, rc, "reading pools");
        }
        if (!inside) {
            return bad_router("Cannot add interface to router because "
                              "specified port %s has an IP address out of "
                              "the allocation pool of subnet %s, which is "
                              "not owned by the project making the request",
                              port_id, s->id);
        }
    }
    return NULL;
}

/* What an interface operation did, for its journal entry and answer. */
struct iface_result {
    struct res_obj *port;               /* owned by the operation's
                                         * 'after' or by this struct */
    bool own_port;
    char operation[8];                  /* journal operation */
    char *data;                         /* journal data */
    char **subnet_ids;
    size_t n_subnet_ids;
};

static void
iface_result_destroy(struct iface_result *r)
{
    if (r->own_port) {
        res_obj_destroy(r->port);
    }
    free(r->data);
    free_ids(r->subnet_ids, r->n_subnet_ids);
    memset(r, 0, sizeof *r);
}

static void
iface_add_subnet(struct iface_result *r, const char *id)
{
    r->subnet_ids = xrealloc(r->subnet_ids,
                             (r->n_subnet_ids + 1) * sizeof *r->subnet_ids);
    r->subnet_ids[r->n_subnet_ids++] = xstrdup(id);
}

/* Neutron's add_router_interface by port. */
static struct neutron_error *
add_by_port(const struct op_ctx *ctx, const struct router_state *st,
            const struct rport *rp, size_t n_rp, const char *port_id,
            struct l3_after *after, struct iface_result *res)
{
    struct subnet_info *subnets = NULL;
    struct res_obj *port = NULL, *updated = NULL;
    struct neutron_error *error;
    size_t n_subnets = 0;
    char **ids = NULL;
    yajl_val ips = NULL;

    error = store_get(ctx->db, &l2_port_def, ctx, port_id, &port);
    if (error) {
        goto out;
    }
    const char *network_id = str_named(port, "network_id");
    if (*str_named(port, "device_id")) {
        error = neutron_error_create(NE_CONFLICT, "PortInUse",
                                     "Unable to complete operation on port "
                                     "%s for network %s. Port already has an "
                                     "attached device %s.", port_id,
                                     network_id, str_named(port, "device_id"));
        goto out;
    }
    ips = port_fixed_ips(port);
    if (!YAJL_IS_ARRAY(ips) || !ips->u.array.len) {
        error = bad_router("Router port must have at least one fixed IP");
        goto out;
    }
    ids = xcalloc(ips->u.array.len, sizeof *ids);
    for (size_t i = 0; i < ips->u.array.len; i++) {
        yajl_val sid = jsonv_member(ips->u.array.values[i], "subnet_id");
        ids[i] = (char *) (YAJL_IS_STRING(sid) ? sid->u.string : "");
    }
    error = subnets_load(ctx->db, ctx, NULL, ids, ips->u.array.len, &subnets,
                         &n_subnets);
    for (size_t i = 0; !error && i < ips->u.array.len; i++) {
        bool found = false;
        for (size_t j = 0; j < n_subnets; j++) {
            found |= !strcmp(subnets[j].id, ids[i]);
        }
        if (!found) {
            error = subnet_not_found(ids[i]);
        }
    }
    bool has_v6 = false;
    size_t n_v4 = 0;
    for (size_t i = 0; !error && i < n_subnets; i++) {
        error = check_address_mode(&subnets[i]);
        has_v6 |= subnets[i].ip_version == 6;
        n_v4 += subnets[i].ip_version == 4;
    }
    if (!error && has_v6) {
        error = check_one_ipv6_port(rp, n_rp, port_id, network_id);
    }
    if (!error) {
        error = check_dup_subnets(ctx->db, st, rp, n_rp, subnets, n_subnets);
    }
    if (!error && n_v4 > 1) {
        error = bad_router("Cannot have multiple IPv4 subnets on router "
                           "port");
    }
    if (!error) {
        error = check_port_in_range(ctx, port_id, ips, subnets, n_subnets);
    }
    if (!error && has_v6) {
        error = l3_check_capability__(st->provider, HADRON_L3_CAP_IPV6,
                                      "IPv6 interfaces");
    }
    if (!error) {
        char json[200];
        snprintf(json, sizeof json, "{\"device_id\": \"%s\", "
                 "\"device_owner\": \"" OWNER_INTF "\"}", st->id);
        error = port_update(ctx, port, json, after, &updated);
    }
    if (!error) {
        error = routerport_insert(ctx->db, st->id, port_id, OWNER_INTF);
    }
    if (!error) {
        res->port = updated;
        str_copy(res->operation, "create", sizeof res->operation);
        for (size_t i = 0; i < n_subnets; i++) {
            iface_add_subnet(res, subnets[i].id);
        }
    }
out:
    yajl_tree_free(ips);
    free(ids);
    free(subnets);
    res_obj_destroy(port);
    return error;
}

/* Neutron's add_router_interface by subnet: a new port with the subnet's
 * gateway IP, or (IPv6) the subnet added to the router's port on the same
 * network. */
static struct neutron_error *
add_by_subnet(const struct op_ctx *ctx, const struct router_state *st,
              const struct rport *rp, size_t n_rp, const char *subnet_id,
              struct l3_after *after, struct iface_result *res)
{
    struct neutron_error *error;
    struct subnet_info s;

    error = subnet_get(ctx->db, ctx, subnet_id, &s);
    if (error) {
        return error;
    }
    if (!*s.gateway_ip) {
        return bad_router("Subnet for router interface must have a gateway "
                          "IP");
    }
    if (!ctx->auth.is_admin && strcmp(s.project_id, ctx->auth.project_id)) {
        return bad_router("Cannot add interface to router because subnet %s "
                          "is not owned by project making the request",
                          subnet_id);
    }
    error = check_address_mode(&s);
    if (!error) {
        error = check_dup_subnets(ctx->db, st, rp, n_rp, &s, 1);
    }
    if (!error && s.ip_version == 6) {
        error = l3_check_capability__(st->provider, HADRON_L3_CAP_IPV6,
                                      "IPv6 interfaces");
    }
    if (error) {
        return error;
    }
    iface_add_subnet(res, s.id);

    /* IPv6: one router port per network carries all its IPv6 subnets. */
    const char *v6_port = NULL;
    for (size_t i = 0; s.ip_version == 6 && i < n_rp; i++) {
        if (!strcmp(rp[i].type, OWNER_INTF) && rp[i].ip_version == 6
            && !strcmp(rp[i].network_id, s.network_id)) {
            v6_port = rp[i].port_id;
            break;
        }
    }
    if (v6_port) {
        struct res_obj *cur = NULL, *updated = NULL;
        error = port_load(ctx->db, v6_port, &cur);
        if (!error) {
            yajl_val ips = port_fixed_ips(cur);
            yajl_gen g = json_gen_create();
            yajl_gen_map_open(g);
            json_key(g, "fixed_ips");
            yajl_gen_array_open(g);
            for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len;
                 i++) {
                json_value(g, ips->u.array.values[i]);
            }
            yajl_gen_map_open(g);
            json_kv_str(g, "subnet_id", s.id);
            json_kv_str(g, "ip_address", s.gateway_ip);
            yajl_gen_map_close(g);
            yajl_gen_array_close(g);
            yajl_gen_map_close(g);
            yajl_tree_free(ips);
            char *json = json_gen_finish(g);
            error = port_update(ctx, cur, json, after, &updated);
            free(json);
        }
        res_obj_destroy(cur);
        if (!error) {
            res->port = updated;
            str_copy(res->operation, "update", sizeof res->operation);
        }
        return error;
    }

    yajl_gen g = json_gen_create();
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", s.network_id);
    json_kv_str(g, "project_id", st->project_id);
    json_key(g, "fixed_ips");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    json_kv_str(g, "ip_address", s.gateway_ip);
    json_kv_str(g, "subnet_id", s.id);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    json_kv_str(g, "device_id", st->id);
    json_kv_str(g, "device_owner", OWNER_INTF);
    json_kv_str(g, "name", "");
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, true);
    yajl_gen_map_close(g);
    char *json = json_gen_finish(g);
    struct res_obj *port = NULL;
    error = port_create(ctx, json, after, &port);
    free(json);
    if (!error) {
        error = routerport_insert(ctx->db, st->id, str_named(port, "id"),
                                  OWNER_INTF);
    }
    if (!error) {
        res->port = port;
        str_copy(res->operation, "create", sizeof res->operation);
    }
    return error;
}

/* Neutron's _confirm_router_interface_not_in_use for one subnet: no
 * floating IP reaches a fixed IP on it through the router, no route has
 * its nexthop on it. */
static struct neutron_error *
check_interface_not_in_use(struct db *db, const char *router_id,
                           const char *subnet_id, const char *cidr)
{
    struct neutron_error *error;
    struct route *routes = NULL;
    size_t n = 0;
    struct ipnet net;

    error = l3_fips_check_interface_removal__(db, router_id, subnet_id);
    if (!error) {
        error = routes_load(db, router_id, &routes, &n);
    }
    for (size_t i = 0; !error && i < n && ipnet_parse(cidr, false, &net);
         i++) {
        struct ipaddr nh;
        if (ipaddr_parse(routes[i].nexthop, &nh)
            && ipnet_contains(&net, &nh)) {
            error = neutron_error_create(NE_CONFLICT,
                                         "RouterInterfaceInUseByRoute",
                                         "Router interface for subnet %s on "
                                         "router %s cannot be deleted, as it "
                                         "is required by one or more "
                                         "routes.", subnet_id, router_id);
        }
    }
    free(routes);
    return error;
}

/* Neutron's remove_router_interface by port (and subnet, if given). */
static struct neutron_error *
remove_by_port(const struct op_ctx *ctx, const struct router_state *st,
               const struct rport *rp, size_t n_rp, const char *port_id,
               const char *subnet_id, struct l3_after *after,
               struct iface_result *res)
{
    struct neutron_error *error = NULL;
    bool found = false, subnet_ok = !*subnet_id;

    for (size_t i = 0; i < n_rp; i++) {
        if (!strcmp(rp[i].port_id, port_id) && !strcmp(rp[i].type,
                                                        OWNER_INTF)) {
            found = true;
            if (*rp[i].subnet_id) {
                iface_add_subnet(res, rp[i].subnet_id);
                subnet_ok |= !strcmp(rp[i].subnet_id, subnet_id);
            }
        }
    }
    if (!found) {
        return neutron_error_create(NE_NOT_FOUND, "RouterInterfaceNotFound",
                                    "Router %s does not have an interface "
                                    "with id %s", st->id, port_id);
    }
    if (!subnet_ok) {
        return neutron_error_create(NE_BAD_REQUEST, "SubnetMismatchForPort",
                                    "Subnet on port %s does not match the "
                                    "requested subnet %s", port_id,
                                    subnet_id);
    }
    for (size_t i = 0; i < n_rp && !error; i++) {
        if (!strcmp(rp[i].port_id, port_id) && *rp[i].subnet_id) {
            error = check_interface_not_in_use(ctx->db, st->id,
                                               rp[i].subnet_id, rp[i].cidr);
        }
    }
    if (!error) {
        error = port_load(ctx->db, port_id, &res->port);
        res->own_port = true;
    }
    if (!error) {
        error = interface_data(ctx->db, st->id, port_id, &res->data);
    }
    if (!error) {
        error = routerport_delete(ctx->db, port_id);
    }
    if (!error) {
        error = port_delete(ctx, port_id, after);
    }
    str_copy(res->operation, "delete", sizeof res->operation);
    return error;
}

/* Neutron's remove_router_interface by subnet: the subnet leaves the
 * router's port on its network (the port goes when it was its only one). */
static struct neutron_error *
remove_by_subnet(const struct op_ctx *ctx, const struct router_state *st,
                 const struct rport *rp, size_t n_rp, const char *subnet_id,
                 struct l3_after *after, struct iface_result *res)
{
    struct neutron_error *error;
    struct subnet_info s;
    const char *port_id = NULL;
    size_t n_port_subnets = 0;

    error = subnet_get(ctx->db, ctx, subnet_id, &s);
    if (error) {
        return error;
    }
    bool on_network = false;
    for (size_t i = 0; i < n_rp; i++) {
        if (!strcmp(rp[i].type, OWNER_INTF)
            && !strcmp(rp[i].network_id, s.network_id)) {
            on_network = true;
            if (!port_id && !strcmp(rp[i].subnet_id, subnet_id)) {
                port_id = rp[i].port_id;
            }
        }
    }
    if (on_network) {
        error = check_interface_not_in_use(ctx->db, st->id, subnet_id,
                                           s.cidr);
        if (error) {
            return error;
        }
    }
    if (!port_id) {
        return neutron_error_create(NE_NOT_FOUND,
                                    "RouterInterfaceNotFoundForSubnet",
                                    "Router %s has no interface on subnet %s",
                                    st->id, subnet_id);
    }
    for (size_t i = 0; i < n_rp; i++) {
        n_port_subnets += !strcmp(rp[i].port_id, port_id)
                          && *rp[i].subnet_id;
    }
    iface_add_subnet(res, subnet_id);
    if (n_port_subnets > 1) {
        /* Several prefixes: only this one goes. */
        struct res_obj *cur = NULL, *updated = NULL;
        error = port_load(ctx->db, port_id, &cur);
        if (!error) {
            yajl_val ips = port_fixed_ips(cur);
            yajl_gen g = json_gen_create();
            yajl_gen_map_open(g);
            json_key(g, "fixed_ips");
            yajl_gen_array_open(g);
            for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len;
                 i++) {
                yajl_val sid = jsonv_member(ips->u.array.values[i],
                                            "subnet_id");
                if (!YAJL_IS_STRING(sid) || strcmp(sid->u.string, subnet_id)) {
                    json_value(g, ips->u.array.values[i]);
                }
            }
            yajl_gen_array_close(g);
            yajl_gen_map_close(g);
            yajl_tree_free(ips);
            char *json = json_gen_finish(g);
            error = port_update(ctx, cur, json, after, &updated);
            free(json);
        }
        res_obj_destroy(cur);
        if (!error) {
            res->port = updated;
            str_copy(res->operation, "update", sizeof res->operation);
        }
        return error;
    }
    error = port_load(ctx->db, port_id, &res->port);
    res->own_port = true;
    if (!error) {
        error = interface_data(ctx->db, st->id, port_id, &res->data);
    }
    if (!error) {
        error = routerport_delete(ctx->db, port_id);
    }
    if (!error) {
        error = port_delete(ctx, port_id, after);
    }
    str_copy(res->operation, "delete", sizeof res->operation);
    return error;
}

/* The answer of the interface actions: Neutron's router interface info. */
static char *
interface_answer(const char *router_id, const struct iface_result *res)
{
    const struct res_obj *port = res->port;
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_kv_str(g, "id", router_id);
    json_kv_str(g, "tenant_id", str_named(port, "project_id"));
    json_kv_str(g, "project_id", str_named(port, "project_id"));
    json_kv_str(g, "port_id", str_named(port, "id"));
    json_kv_str(g, "network_id", str_named(port, "network_id"));
    json_kv_str(g, "subnet_id", res->n_subnet_ids
                                ? res->subnet_ids[res->n_subnet_ids - 1]
                                : NULL);
    json_key(g, "subnet_ids");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < res->n_subnet_ids; i++) {
        json_str(g, res->subnet_ids[i]);
    }
    yajl_gen_array_close(g);
    json_key(g, "tags");
    const struct value *tags = &port->v[resource_attr_index(port->def,
                                                            "tags")];
    if (tags->kind == VALUE_RAW) {
        json_raw(g, tags->s);
    } else {
        yajl_gen_array_open(g);
        yajl_gen_array_close(g);
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

/* Finds router 'id' as visible to 'ctx' (else 404 RouterNotFound) and
 * bumps its revision (Neutron bumps a router's revision when its
 * interfaces change), which also takes its row lock: interface changes to
 * one router serialize.  Stores the new revision in '*revision'. */
static struct neutron_error *
router_touch(const struct op_ctx *ctx, const char *id, int64_t *revision)
{
    struct neutron_error *error = NULL;
    char now[TIMESTAMP_LEN];
    struct sql_buf b;
    int64_t changes = 0;

    timestamp_now(now);
    sql_init(&b);
    sql_add(&b, "UPDATE routers SET revision_number = revision_number + 1, "
            "updated_at = ? WHERE id = ?");
    sql_param(&b, now);
    sql_param(&b, id);
    if (!ctx->auth.is_admin) {
        sql_add(&b, " AND project_id = ?");
        sql_param(&b, ctx->auth.project_id);
    }
    error = exec_sql(ctx->db, &b, "updating a router", &changes);
    sql_destroy(&b);
    if (!error && !changes) {
        return neutron_error_create(NE_NOT_FOUND, "RouterNotFound",
                                    "Router %s could not be found", id);
    }
    struct db_stmt *stmt = error ? NULL
                           : db_prepare(ctx->db, "SELECT revision_number "
                                        "FROM routers WHERE id = ?");
    if (!error && !stmt) {
        error = store_db_error(ctx->db, DB_ERROR, "reading a router");
    }
    if (!error) {
        db_bind_text(stmt, 1, id);
        int rc = db_step(stmt);
        *revision = db_col_int64(stmt, 0);
        db_reset(stmt);
        if (rc != DB_ROW) {
            error = store_db_error(ctx->db, rc, "reading a router");
        }
    }
    return error;
}

struct iface_args {
    const char *router_id;
    bool add;
    char port_id[UUID_STR_LEN];
    char subnet_id[UUID_STR_LEN];
    struct l3_after *after;
    char *answer;
};

static struct neutron_error *
interface_txn(const struct op_ctx *ctx, void *args_)
{
    struct iface_args *a = args_;
    struct iface_result res;
    struct neutron_error *error;
    struct router_state st;
    struct rport *rp = NULL;
    int64_t revision = 0;
    size_t n_rp = 0;

    after_destroy(a->after);
    a->after = xzalloc(sizeof *a->after);
    free(a->answer);
    a->answer = NULL;
    memset(&res, 0, sizeof res);

    error = router_touch(ctx, a->router_id, &revision);
    if (!error) {
        error = state_load(ctx->db, a->router_id, &st);
    }
    if (!error) {
        error = rports_load(ctx->db, a->router_id, &rp, &n_rp);
    }
    if (!error) {
        if (a->add && *a->port_id) {
            error = add_by_port(ctx, &st, rp, n_rp, a->port_id, a->after,
                                &res);
        } else if (a->add) {
            error = add_by_subnet(ctx, &st, rp, n_rp, a->subnet_id, a->after,
                                  &res);
        } else if (*a->port_id) {
            error = remove_by_port(ctx, &st, rp, n_rp, a->port_id,
                                   a->subnet_id, a->after, &res);
        } else {
            error = remove_by_subnet(ctx, &st, rp, n_rp, a->subnet_id,
                                     a->after, &res);
        }
    }
    const char *port_id = !error ? str_named(res.port, "id") : "";
    if (!error && !res.data) {
        error = interface_data(ctx->db, st.id, port_id, &res.data);
    }
    if (!error) {
        error = journal_interface(ctx, st.provider, res.operation, st.id,
                                  port_id, revision, res.data);
    }
    if (!error) {
        a->after->wake = true;
        a->answer = interface_answer(st.id, &res);
    }
    iface_result_destroy(&res);
    free(rp);
    return error;
}

static struct neutron_error *
interface_action(const struct op_ctx *ctx, const char *router_id,
                 yajl_val body, bool add, char **answer)
{
    struct iface_args a = { .router_id = router_id, .add = add };
    struct neutron_error *error;

    *answer = NULL;
    error = interface_info(body, !add, a.port_id, a.subnet_id);
    if (!error) {
        error = txn_run(ctx, true, interface_txn, &a);
    }
    if (!error) {
        after_run(ctx, a.after);
        *answer = a.answer;
        a.answer = NULL;
    }
    after_destroy(a.after);
    free(a.answer);
    return error;
}

struct neutron_error *
l3_router_add_interface(const struct op_ctx *ctx, const char *router_id,
                        yajl_val body, char **answer)
{
    return interface_action(ctx, router_id, body, true, answer);
}

struct neutron_error *
l3_router_remove_interface(const struct op_ctx *ctx, const char *router_id,
                           yajl_val body, char **answer)
{
    return interface_action(ctx, router_id, body, false, answer);
}

/* ---- add_extraroutes / remove_extraroutes ---- */

struct routes_args {
    const char *router_id;
    const struct route *given;
    size_t n_given;
    bool add;
    struct res_obj *result;
};

static struct neutron_error *
extraroutes_txn(const struct op_ctx *ctx, void *args_)
{
    struct routes_args *a = args_;
    struct neutron_error *error;
    struct res_obj *cur = NULL, *body = NULL;
    struct route *old = NULL;
    size_t n_old = 0;
    yajl_val tree = NULL;

    res_obj_destroy(a->result);
    a->result = NULL;
    error = store_get(ctx->db, &l3_router_def, ctx, a->router_id, &cur);
    if (!error) {
        error = routes_load(ctx->db, a->router_id, &old, &n_old);
    }
    if (error) {
        goto out;
    }

    /* Neutron's _add_extra_routes / _remove_extra_routes: exact duplicates
     * merge, removing what is absent is no error. */
    yajl_gen g = json_gen_create();
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n_old + (a->add ? a->n_given : 0); i++) {
        const struct route *r = i < n_old ? &old[i] : &a->given[i - n_old];
        bool skip = false;
        for (size_t j = 0; j < i && !skip; j++) {
            const struct route *o = j < n_old ? &old[j] : &a->given[j - n_old];
            skip = !strcmp(r->destination, o->destination)
                   && !strcmp(r->nexthop, o->nexthop);
        }
        for (size_t j = 0; !a->add && j < a->n_given && !skip; j++) {
            skip = !strcmp(r->destination, a->given[j].destination)
                   && !strcmp(r->nexthop, a->given[j].nexthop);
        }
        if (!skip) {
            yajl_gen_map_open(g);
            json_kv_str(g, "destination", r->destination);
            json_kv_str(g, "nexthop", r->nexthop);
            yajl_gen_map_close(g);
        }
    }
    yajl_gen_array_close(g);
    char *json = json_gen_finish(g);
    tree = parse_json(json);
    free(json);

    body = res_obj_create(&l3_router_def);
    body->v[R_ROUTES].kind = VALUE_TREE;
    body->v[R_ROUTES].tree = tree;
    error = router_update(ctx, cur, body, &a->result);
out:
    if (body) {
        memset(&body->v[R_ROUTES], 0, sizeof body->v[R_ROUTES]);
    }
    res_obj_destroy(body);
    yajl_tree_free(tree);
    res_obj_destroy(cur);
    free(old);
    return error;
}

static struct neutron_error *
extraroutes_action(const struct op_ctx *ctx, const char *router_id,
                   yajl_val body, bool add, char **answer)
{
    struct routes_args a = { .router_id = router_id, .add = add };
    struct neutron_error *error;
    struct route *given = NULL;

    *answer = NULL;
    yajl_val r = jsonv_member(body, "router");
    if (!YAJL_IS_OBJECT(r)) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Unable to find 'router' in request "
                                    "body");
    }
    yajl_val routes = jsonv_member(r, "routes");
    error = validate_routes("routes", routes);
    if (error) {
        return error;
    }
    parse_routes(routes, &given, &a.n_given);
    a.given = given;
    error = txn_run(ctx, true, extraroutes_txn, &a);
    if (!error) {
        router_after_update(ctx, a.result);
        *answer = render_router(ctx, a.result);
    }
    res_obj_destroy(a.result);
    free(given);
    return error;
}

struct neutron_error *
l3_router_add_extraroutes(const struct op_ctx *ctx, const char *router_id,
                          yajl_val body, char **answer)
{
    return extraroutes_action(ctx, router_id, body, true, answer);
}

struct neutron_error *
l3_router_remove_extraroutes(const struct op_ctx *ctx, const char *router_id,
                             yajl_val body, char **answer)
{
    return extraroutes_action(ctx, router_id, body, false, answer);
}
