/* l2/network.c: the "networks" resource, as ML2 serves it with the
 * provider, multi-provider, external-net, net-mtu and port-security
 * extensions.
 *
 * A network is a row of "networks" plus its segments (network_segments,
 * in segment_index order).  A network with one segment shows it as
 * provider:network_type / provider:physical_network /
 * provider:segmentation_id; with several, as "segments" instead.  Both are
 * admin-only.  A network created without them gets a tenant segment from
 * the type drivers ([ml2] tenant_network_types); the MTU is fixed at
 * creation from its segments.  "subnets" lists its subnets' ids.  Every
 * operation publishes the EV_NETWORK events and runs the mechanism
 * drivers' network precommit (in the transaction) and postcommit (after
 * it). */
#include "l2/l2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "core/context.h"
#include "core/events.h"
#include "core/jsonv.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/driver_api.h"
#include "l2/l2-internal.h"
#include "l2/l2-types.h"

enum {
    A_ID, A_NAME, A_PROJECT, A_TENANT, A_ADMIN_STATE_UP, A_STATUS, A_SHARED,
    A_SUBNETS, A_DESCRIPTION, A_CREATED, A_UPDATED, A_REVISION, A_TAGS,
    A_MTU, A_EXTERNAL, A_PORT_SECURITY, A_NET_TYPE, A_PHYSNET, A_SEG_ID,
    A_SEGMENTS, N_ATTRS
};

#define PROVIDER (AF_POST | AF_PUT | AF_FILTER | AF_ADMIN_READ           \
                  | AF_ADMIN_WRITE | AF_NULLABLE)

static attr_validate_fn validate_segments;

static const struct attr_def attrs[N_ATTRS] = {
    [A_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [A_NAME] = { "name", AT_STRING, AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                 "name", "\"\"", 0, 255, NULL },
    [A_PROJECT] = { "project_id", AT_STRING,
                    AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                    "project_id", NULL, 0, 255, NULL },
    [A_TENANT] = { "tenant_id", AT_STRING,
                   AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                   "project_id", NULL, 0, 255, NULL },
    [A_ADMIN_STATE_UP] = { "admin_state_up", AT_BOOL,
                           AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                           "admin_state_up", "true", 0, 0, NULL },
    [A_STATUS] = { "status", AT_STRING, AF_FILTER | AF_SORT, "status", NULL,
                   0, 16, NULL },
    [A_SHARED] = { "shared", AT_BOOL,
                   AF_POST | AF_PUT | AF_FILTER | AF_ADMIN_WRITE, "shared",
                   "false", 0, 0, NULL },
    [A_SUBNETS] = { "subnets", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [A_DESCRIPTION] = { "description", AT_STRING,
                        AF_POST | AF_PUT | AF_FILTER, "description", "\"\"",
                        0, 255, NULL },
    [A_CREATED] = { "created_at", AT_STRING, 0, "created_at", NULL, 0, 0,
                    NULL },
    [A_UPDATED] = { "updated_at", AT_STRING, 0, "updated_at", NULL, 0, 0,
                    NULL },
    [A_REVISION] = { "revision_number", AT_INT, AF_FILTER | AF_SORT,
                     "revision_number", NULL, 0, 0, NULL },
    [A_TAGS] = { "tags", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [A_MTU] = { "mtu", AT_INT, AF_FILTER | AF_SORT, "mtu", NULL, 0, 0,
                NULL },
    [A_EXTERNAL] = { "router:external", AT_BOOL,
                     AF_POST | AF_PUT | AF_FILTER | AF_ADMIN_WRITE,
                     "router_external", "false", 0, 0, NULL },
    [A_PORT_SECURITY] = { "port_security_enabled", AT_BOOL,
                          AF_POST | AF_PUT, "port_security_enabled", "true",
                          0, 0, NULL },
    [A_NET_TYPE] = { "provider:network_type", AT_STRING, PROVIDER, NULL,
                     NULL, 0, 32, NULL },
    [A_PHYSNET] = { "provider:physical_network", AT_STRING, PROVIDER, NULL,
                    NULL, 0, 64, NULL },
    [A_SEG_ID] = { "provider:segmentation_id", AT_INT, PROVIDER, NULL, NULL,
                   0, 0, NULL },
    [A_SEGMENTS] = { "segments", AT_JSON,
                     AF_POST | AF_PUT | AF_ADMIN_READ | AF_ADMIN_WRITE, NULL,
                     NULL, 0, 0, validate_segments },
};

static const struct resource_ops network_ops;

const struct resource_def l2_network_def = {
    .singular = "network",
    .plural = "networks",
    .table = "networks",
    .not_found = "NetworkNotFound",
    .display = "Network",
    .attrs = attrs,
    .n_attrs = N_ATTRS,
    .visible_sql = "t.project_id = ? OR t.shared = 1 OR t.router_external = 1",
    .tags = true,
    .ops = &network_ops,
};

/* ---- Provider attributes and segments ---- */

static const char *const provider_keys[] = {
    "provider:network_type", "provider:physical_network",
    "provider:segmentation_id",
};

/* Checks the "segments" attribute of a request: a list of objects with
 * only the provider keys, of the right types. */
static struct neutron_error *
validate_segments(const char *name, yajl_val v)
{
    if (!YAJL_IS_ARRAY(v)) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Invalid input for %s. Reason: the "
                                    "value is not a list.", name);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val s = v->u.array.values[i];
        if (!YAJL_IS_OBJECT(s)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "Invalid input for %s. Reason: "
                                        "segment %zu is not an object.",
                                        name, i);
        }
        for (size_t k = 0; k < s->u.object.len; k++) {
            const char *key = s->u.object.keys[k];
            yajl_val val = s->u.object.values[k];
            size_t which = ARRAY_SIZE(provider_keys);
            for (size_t j = 0; j < ARRAY_SIZE(provider_keys); j++) {
                if (!strcmp(key, provider_keys[j])) {
                    which = j;
                }
            }
            if (which == ARRAY_SIZE(provider_keys)) {
                return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                            "Unrecognized attribute(s) "
                                            "'%.200s'", key);
            }
            if (YAJL_IS_NULL(val)) {
                continue;
            }
            struct value tmp = { 0 };
            struct neutron_error *e = resource_convert(
                &attrs[A_NET_TYPE + which], val, &tmp);
            value_clear(&tmp);
            if (e) {
                return e;
            }
        }
    }
    return NULL;
}

/* A requested segment from its three provider values (each may be unset or
 * null).  Negative segmentation ids become 0, invalid for every type. */
static void
segment_from_values(const struct value *type, const struct value *physnet,
                    const struct value *segid, struct l2_segment *seg)
{
    memset(seg, 0, sizeof *seg);
    if (value_str(type)) {
        str_copy(seg->network_type, value_str(type),
                 sizeof seg->network_type);
    }
    if (value_str(physnet)) {
        str_copy(seg->physical_network, value_str(physnet),
                 sizeof seg->physical_network);
    }
    seg->segmentation_id = segid->kind == VALUE_INT
                           ? (segid->i < 0 ? 0 : segid->i) : -1;
}

/* True if the value is given and not null (Neutron's is_attr_set()). */
static bool
is_set(const struct value *v)
{
    return v->kind != VALUE_UNSET && v->kind != VALUE_NULL;
}

static bool
segment_is_partial(const struct l2_segment *s)
{
    return (!strcmp(s->network_type, "vlan") || !strcmp(s->network_type,
                                                         "vxlan")
            || !strcmp(s->network_type, "gre")
            || !strcmp(s->network_type, "geneve"))
           && s->segmentation_id < 0;
}

/* Reads the provider segments a create request asks for into '*segs'
 * (none: a tenant network) and validates them. */
static struct neutron_error *
requested_segments(const struct res_obj *body, struct l2_segment **segs,
                   size_t *n)
{
    const struct value *v = body->v;
    bool provider = is_set(&v[A_NET_TYPE]) || is_set(&v[A_PHYSNET])
                    || is_set(&v[A_SEG_ID]);
    struct neutron_error *error = NULL;

    *segs = NULL;
    *n = 0;
    if (provider && is_set(&v[A_SEGMENTS])) {
        return neutron_error_create(NE_BAD_REQUEST,
                                    "SegmentsSetInConjunctionWithProviders",
                                    "Segments and provider values cannot "
                                    "both be set.");
    }
    if (provider) {
        *segs = xzalloc(sizeof **segs);
        *n = 1;
        segment_from_values(&v[A_NET_TYPE], &v[A_PHYSNET], &v[A_SEG_ID],
                            *segs);
    } else if (v[A_SEGMENTS].kind == VALUE_TREE) {
        yajl_val list = v[A_SEGMENTS].tree;
        *n = list->u.array.len;
        *segs = xcalloc(*n ? *n : 1, sizeof **segs);
        for (size_t i = 0; i < *n && !error; i++) {
            struct value pv[3] = { { 0 } };
            yajl_val s = list->u.array.values[i];
            for (size_t k = 0; k < ARRAY_SIZE(pv) && !error; k++) {
                yajl_val val = yajl_tree_get(s, (const char *[]) {
                    provider_keys[k], NULL }, yajl_t_any);
                if (val && !YAJL_IS_NULL(val)) {
                    error = resource_convert(&attrs[A_NET_TYPE + k], val,
                                             &pv[k]);
                }
            }
            segment_from_values(&pv[0], &pv[1], &pv[2], &(*segs)[i]);
            for (size_t k = 0; k < ARRAY_SIZE(pv); k++) {
                value_clear(&pv[k]);
            }
        }
    }
    for (size_t i = 0; i < *n && !error; i++) {
        if (!(*segs)[i].network_type[0]) {
            error = resource_invalid_input("network_type required");
        } else {
            error = l2_type_validate__(&(*segs)[i]);
        }
    }
    for (size_t i = 0; i < *n && !error; i++) {
        for (size_t j = 0; j < i && !error; j++) {
            const struct l2_segment *a = &(*segs)[i], *b = &(*segs)[j];
            if (!segment_is_partial(a) && !segment_is_partial(b)
                && !strcmp(a->network_type, b->network_type)
                && !strcmp(a->physical_network, b->physical_network)
                && a->segmentation_id == b->segmentation_id) {
                error = neutron_error_create(NE_BAD_REQUEST,
                                             "SegmentsContainDuplicateEntry",
                                             "Duplicate segment entry in "
                                             "request.");
            }
        }
    }
    if (error) {
        free(*segs);
        *segs = NULL;
        *n = 0;
    }
    return error;
}

/* Sets the provider attributes (one segment, or none) or "segments"
 * (several) of 'net' from its segments. */
static void
set_provider_values(struct res_obj *net, const struct l2_segment *segs,
                    size_t n)
{
    struct value *v = net->v;

    value_clear(&v[A_NET_TYPE]);
    value_clear(&v[A_PHYSNET]);
    value_clear(&v[A_SEG_ID]);
    value_clear(&v[A_SEGMENTS]);
    if (n <= 1) {
        const struct l2_segment *s = n ? segs : NULL;
        value_set_str(&v[A_NET_TYPE], s ? s->network_type : NULL);
        value_set_str(&v[A_PHYSNET], s && s->physical_network[0]
                                     ? s->physical_network : NULL);
        if (s && s->segmentation_id >= 0) {
            value_set_int(&v[A_SEG_ID], s->segmentation_id);
        } else {
            value_set_null(&v[A_SEG_ID]);
        }
        return;
    }

    yajl_gen g = json_gen_create();

    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        const char *texts[] = { segs[i].network_type,
                                segs[i].physical_network };
        yajl_gen_map_open(g);
        for (size_t k = 0; k < ARRAY_SIZE(texts); k++) {
            json_kv_str(g, provider_keys[k], texts[k][0] ? texts[k] : NULL);
        }
        if (segs[i].segmentation_id >= 0) {
            json_kv_int(g, provider_keys[2], segs[i].segmentation_id);
        } else {
            json_kv_null(g, provider_keys[2]);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    value_take_raw(&v[A_SEGMENTS], json_gen_finish(g));
}

/* Rebuilds the segments of an expanded network object from its provider
 * attributes or "segments" (for postcommit, after the rows are gone). */
static void
segments_from_obj(const struct res_obj *net, struct l2_segment **segs,
                  size_t *n)
{
    const struct value *v = net->v;

    *segs = NULL;
    *n = 0;
    if (v[A_SEGMENTS].kind == VALUE_RAW) {
        yajl_val list = yajl_tree_parse(v[A_SEGMENTS].s, NULL, 0);
        size_t len = YAJL_IS_ARRAY(list) ? list->u.array.len : 0;
        *segs = xcalloc(len ? len : 1, sizeof **segs);
        for (size_t i = 0; i < len; i++) {
            yajl_val s = list->u.array.values[i];
            struct l2_segment *seg = &(*segs)[(*n)++];
            const char *type = YAJL_GET_STRING(yajl_tree_get(
                s, (const char *[]) { provider_keys[0], NULL },
                yajl_t_string));
            const char *physnet = YAJL_GET_STRING(yajl_tree_get(
                s, (const char *[]) { provider_keys[1], NULL },
                yajl_t_string));
            yajl_val id = yajl_tree_get(s, (const char *[]) {
                provider_keys[2], NULL }, yajl_t_number);
            seg->segmentation_id = YAJL_IS_INTEGER(id)
                                   ? YAJL_GET_INTEGER(id) : -1;
            str_copy(seg->network_type, type ? type : "",
                     sizeof seg->network_type);
            str_copy(seg->physical_network, physnet ? physnet : "",
                     sizeof seg->physical_network);
            seg->mtu = l2_type_mtu__(seg);
        }
        yajl_tree_free(list);
    } else if (value_str(&v[A_NET_TYPE])) {
        *segs = xzalloc(sizeof **segs);
        *n = 1;
        segment_from_values(&v[A_NET_TYPE], &v[A_PHYSNET], &v[A_SEG_ID],
                            *segs);
        (*segs)->mtu = l2_type_mtu__(*segs);
    }
}

/* ---- Loading segments and subnets for many networks ---- */

struct net_children {
    struct l2_segment *segs;
    size_t n_segs, cap_segs;
    char **subnets;
    size_t n_subnets, cap_subnets;
};

struct id_index {
    const char *id;
    size_t index;
};

static int
id_index_cmp(const void *a_, const void *b_)
{
    const struct id_index *a = a_, *b = b_;
    return strcmp(a->id, b->id);
}

/* The position in 'ids' (sorted) of 'id', or -1. */
static ssize_t
id_find(const struct id_index *ids, size_t n, const char *id)
{
    struct id_index key = { id, 0 };
    const struct id_index *found = id ? bsearch(&key, ids, n, sizeof *ids,
                                                id_index_cmp) : NULL;
    return found ? (ssize_t) found->index : -1;
}

static void
children_add_segment(struct net_children *c, struct db_stmt *stmt)
{
    if (c->n_segs == c->cap_segs) {
        c->cap_segs = c->cap_segs ? c->cap_segs * 2 : 2;
        c->segs = xrealloc(c->segs, c->cap_segs * sizeof *c->segs);
    }
    struct l2_segment *s = &c->segs[c->n_segs++];
    const char *physnet = db_col_text(stmt, 3);

    memset(s, 0, sizeof *s);
    str_copy(s->id, db_col_text(stmt, 1) ? db_col_text(stmt, 1) : "",
             sizeof s->id);
    str_copy(s->network_type, db_col_text(stmt, 2) ? db_col_text(stmt, 2)
                                                   : "",
             sizeof s->network_type);
    str_copy(s->physical_network, physnet ? physnet : "",
             sizeof s->physical_network);
    s->segmentation_id = db_col_is_null(stmt, 4) ? -1
                                                 : db_col_int64(stmt, 4);
    s->mtu = l2_type_mtu__(s);
}

static void
children_add_subnet(struct net_children *c, const char *id)
{
    if (c->n_subnets == c->cap_subnets) {
        c->cap_subnets = c->cap_subnets ? c->cap_subnets * 2 : 2;
        c->subnets = xrealloc(c->subnets,
                              c->cap_subnets * sizeof *c->subnets);
    }
    c->subnets[c->n_subnets++] = xstrdup(id);
}

static void
children_destroy(struct net_children *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].segs);
        for (size_t j = 0; j < c[i].n_subnets; j++) {
            free(c[i].subnets[j]);
        }
        free(c[i].subnets);
    }
    free(c);
}

/* Loads the segments (and, with 'subnets', the subnet ids) of the networks
 * 'ids' into 'out' (indexed like 'ids'): two queries per 500 networks. */
static struct neutron_error *
load_children(struct db *db, const char *const *ids, size_t n, bool subnets,
              struct net_children *out)
{
    struct id_index *sorted = xcalloc(n ? n : 1, sizeof *sorted);
    struct neutron_error *error = NULL;

    for (size_t i = 0; i < n; i++) {
        sorted[i] = (struct id_index) { ids[i], i };
    }
    qsort(sorted, n, sizeof *sorted, id_index_cmp);

    for (size_t start = 0; start < n && !error; start += 500) {
        size_t end = start + 500 < n ? start + 500 : n;
        for (int q = 0; q < (subnets ? 2 : 1) && !error; q++) {
            struct sql_buf b;
            int rc;

            sql_init(&b);
            sql_add(&b, q == 0
                    ? "SELECT network_id, id, network_type, physical_network,"
                      " segmentation_id FROM network_segments WHERE "
                      "network_id IN ("
                    : "SELECT network_id, id FROM subnets WHERE network_id "
                      "IN (");
            for (size_t i = start; i < end; i++) {
                sql_add(&b, i > start ? ", ?" : "?");
                sql_param(&b, ids[i]);
            }
            sql_in_pad(&b, end - start);
            sql_add(&b, q == 0 ? ") ORDER BY network_id, segment_index"
                               : ") ORDER BY network_id, id");
            struct db_stmt *stmt = sql_prepare(db, &b);
            sql_destroy(&b);
            if (!stmt) {
                error = store_db_error(db, DB_ERROR, "loading network "
                                       "segments");
                break;
            }
            while ((rc = db_step(stmt)) == DB_ROW) {
                ssize_t k = id_find(sorted, n, db_col_text(stmt, 0));
                if (k < 0) {
                    continue;
                }
                if (q == 0) {
                    children_add_segment(&out[k], stmt);
                } else if (db_col_text(stmt, 1)) {
                    children_add_subnet(&out[k], db_col_text(stmt, 1));
                }
            }
            db_reset(stmt);
            if (rc != DB_DONE) {
                error = store_db_error(db, rc, "loading network segments");
            }
        }
    }
    free(sorted);
    return error;
}

/* Sets "subnets" to the JSON list of 'ids'. */
static void
set_subnets(struct res_obj *net, char *const *ids, size_t n)
{
    yajl_gen g = json_gen_create();

    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        json_str(g, ids[i]);
    }
    yajl_gen_array_close(g);
    value_take_raw(&net->v[A_SUBNETS], json_gen_finish(g));
}

static struct neutron_error *
network_expand(struct db *db, struct res_obj **objs, size_t n)
{
    const char **ids = xcalloc(n ? n : 1, sizeof *ids);
    struct net_children *c = xcalloc(n ? n : 1, sizeof *c);
    struct neutron_error *error;

    for (size_t i = 0; i < n; i++) {
        ids[i] = value_str(&objs[i]->v[A_ID]);
    }
    error = load_children(db, ids, n, true, c);
    for (size_t i = 0; !error && i < n; i++) {
        set_provider_values(objs[i], c[i].segs, c[i].n_segs);
        set_subnets(objs[i], c[i].subnets, c[i].n_subnets);
    }
    children_destroy(c, n);
    free(ids);
    return error;
}

struct neutron_error *
l2_network_segments__(struct db *db, const char *id, struct l2_segment **segs,
                      size_t *n)
{
    struct net_children *c = xcalloc(1, sizeof *c);
    struct neutron_error *error;

    error = load_children(db, &id, 1, false, c);
    if (!error) {
        *segs = c->segs;
        *n = c->n_segs;
        c->segs = NULL;
        c->n_segs = 0;
    } else {
        *segs = NULL;
        *n = 0;
    }
    children_destroy(c, 1);
    return error;
}

struct neutron_error *
l2_network_get__(const struct op_ctx *visible_to, struct db *db,
                 const char *id, struct res_obj **out)
{
    return store_get(db, &l2_network_def, visible_to, id, out);
}

/* Filters on provider attributes: networks with a segment that matches. */
static bool
network_filter_sql(const struct attr_def *a, char *const *values,
                   size_t n_values, struct sql_buf *sql)
{
    const char *column = a == &attrs[A_NET_TYPE] ? "network_type"
                         : a == &attrs[A_PHYSNET] ? "physical_network"
                         : a == &attrs[A_SEG_ID] ? "segmentation_id" : NULL;

    if (!column) {
        return false;
    }
    sql_addf(sql, "EXISTS (SELECT 1 FROM network_segments fs WHERE "
             "fs.network_id = t.id AND fs.%s IN (", column);
    for (size_t i = 0; i < n_values; i++) {
        sql_add(sql, i ? ", ?" : "?");
        if (a == &attrs[A_SEG_ID]) {
            int64_t id;
            if (!str_to_int64(values[i], INT64_MIN, INT64_MAX, &id)) {
                return false;
            }
            sql_param_int(sql, id);
        } else {
            sql_param(sql, values[i]);
        }
    }
    sql_in_pad(sql, n_values);
    sql_add(sql, "))");
    return true;
}

/* ---- Create ---- */

static struct neutron_error *
mech_precommit(const struct op_ctx *ctx, enum l2_mech_op op,
               const struct res_obj *cur, const struct res_obj *orig,
               const struct l2_segment *segs, size_t n)
{
    struct l2_mech_context mc = {
        .ctx = ctx, .op = op, .cur = cur, .orig = orig,
        .network = cur ? cur : orig, .segments = segs, .n_segments = n,
    };
    return l2_mech_precommit__("network", &mc);
}

static struct neutron_error *
mech_postcommit(const struct op_ctx *ctx, enum l2_mech_op op,
                const struct res_obj *cur, const struct res_obj *orig)
{
    const struct res_obj *net = cur ? cur : orig;
    struct l2_segment *segs;
    size_t n;

    segments_from_obj(net, &segs, &n);
    struct l2_mech_context mc = {
        .ctx = ctx, .op = op, .cur = cur, .orig = orig, .network = net,
        .segments = segs, .n_segments = n,
    };
    struct neutron_error *error = l2_mech_postcommit__("network", &mc);
    free(segs);
    return error;
}

static struct neutron_error *
network_create(const struct op_ctx *ctx, const struct res_obj *body,
               struct res_obj **out)
{
    struct l2_segment *segs = NULL;
    struct res_obj *net = NULL;
    struct neutron_error *error;
    size_t n = 0;

    *out = NULL;
    error = requested_segments(body, &segs, &n);
    if (!error) {
        error = events_publish(ctx, EV_NETWORK, EV_BEFORE_CREATE, body,
                               NULL);
    }
    if (error) {
        goto out;
    }
    net = res_obj_clone(body);
    error = store_fill_new(ctx, net);
    if (error) {
        goto out;
    }
    value_set_str(&net->v[A_STATUS], "ACTIVE");

    if (n) {
        for (size_t i = 0; i < n && !error; i++) {
            error = l2_type_reserve__(ctx, &segs[i]);
        }
    } else {
        free(segs);
        segs = xzalloc(sizeof *segs);
        n = 1;
        error = l2_type_allocate_tenant__(ctx, segs);
    }
    if (error) {
        goto out;
    }
    value_set_int(&net->v[A_MTU], l2_types_network_mtu__(segs, n));
    set_provider_values(net, segs, n);
    set_subnets(net, NULL, 0);

    error = store_insert(ctx->db, net);
    for (size_t i = 0; i < n && !error; i++) {
        error = l2_segment_insert__(ctx->db, value_str(&net->v[A_ID]),
                                    &segs[i], i, NULL, "",
                                    value_str(&net->v[A_CREATED]));
    }
    if (!error) {
        error = events_publish(ctx, EV_NETWORK, EV_PRECOMMIT_CREATE, net,
                               NULL);
    }
    if (!error) {
        error = mech_precommit(ctx, L2_MECH_CREATE, net, NULL, segs, n);
    }
out:
    free(segs);
    if (error) {
        res_obj_destroy(net);
        net = NULL;
    }
    *out = net;
    return error;
}

static struct neutron_error *
network_after_create(const struct op_ctx *ctx, const struct res_obj *net)
{
    neutron_error_destroy(events_publish(ctx, EV_NETWORK, EV_AFTER_CREATE,
                                         net, NULL));
    return mech_postcommit(ctx, L2_MECH_CREATE, net, NULL);
}

/* ---- Update ---- */

/* Runs 'sql' with 'n' text parameters; '*count' gets the first column of
 * the first row (0 if none). */
static struct neutron_error *
query_count(struct db *db, const char *sql, const char *const *params,
            size_t n, int64_t *count)
{
    struct db_stmt *stmt = db_prepare(db, sql);
    int rc;

    *count = 0;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "counting rows");
    }
    for (size_t i = 0; i < n; i++) {
        db_bind_text(stmt, i + 1, params[i]);
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        *count = db_col_int64(stmt, 0);
        rc = DB_DONE;
    }
    db_reset(stmt);
    return rc == DB_DONE ? NULL : store_db_error(db, rc, "counting rows");
}

/* Neutron's _validate_shared_update(): a network other projects use
 * (their ports, other than the network's own, or subnets) cannot stop
 * being shared. */
static struct neutron_error *
check_unshare(const struct op_ctx *ctx, const struct res_obj *cur)
{
    const char *id = value_str(&cur->v[A_ID]);
    const char *owner = value_str(&cur->v[A_PROJECT]);
    const char *params[] = { id, owner, id, owner };
    struct neutron_error *error;
    int64_t count;

    error = query_count(ctx->db,
                        "SELECT (SELECT COUNT(*) FROM ports WHERE "
                        "network_id = ? AND project_id <> ? AND device_owner "
                        "NOT LIKE 'network:%') + (SELECT COUNT(*) FROM "
                        "subnets WHERE network_id = ? AND project_id <> ?)",
                        params, ARRAY_SIZE(params), &count);
    if (!error && count) {
        error = neutron_error_create(NE_CONFLICT, "InvalidSharedSetting",
                                     "Unable to reconfigure sharing settings "
                                     "for network %s. Multiple tenants are "
                                     "using it.",
                                     value_str(&cur->v[A_NAME]));
    }
    return error;
}

/* Neutron's _update_provider_network_attributes(): only the segmentation
 * id of a single VLAN segment may change, while no port is bound. */
static struct neutron_error *
update_provider(const struct op_ctx *ctx, const struct res_obj *cur,
                const struct res_obj *body, bool *changed)
{
    static const char not_supported[] =
        "Plugin does not support updating the following provider network "
        "attributes: %s";
    const struct value *v = body->v;
    const char *id = value_str(&cur->v[A_ID]);
    struct l2_segment *segs = NULL;
    struct neutron_error *error;
    size_t n = 0;

    *changed = false;
    if (v[A_SEGMENTS].kind != VALUE_UNSET) {
        return resource_invalid_input(not_supported, "segments");
    }
    for (int a = A_NET_TYPE; a <= A_PHYSNET; a++) {
        const char *given = value_str(&v[a]);
        const char *now = value_str(&cur->v[a]);
        if (given && (!now || strcmp(given, now))) {
            return resource_invalid_input(not_supported,
                                          "provider:network_type, "
                                          "provider:physical_network");
        }
    }
    if (v[A_SEG_ID].kind != VALUE_INT || !v[A_SEG_ID].i) {
        return NULL;
    }

    error = l2_network_segments__(ctx->db, id, &segs, &n);
    if (error) {
        return error;
    }
    if (n > 1) {
        error = resource_invalid_input("Provider network attributes can be "
                                       "updated only in provider networks "
                                       "with a single segment.");
    } else if (!n || strcmp(segs[0].network_type, "vlan")) {
        error = resource_invalid_input("Only VLAN type networks can be "
                                       "updated.");
    } else if (segs[0].segmentation_id != v[A_SEG_ID].i) {
        const char *params[] = { id };
        int64_t bound;
        error = query_count(ctx->db,
                            "SELECT COUNT(*) FROM ports WHERE network_id = ? "
                            "AND binding_vif_type NOT IN ('unbound', "
                            "'binding_failed')", params, 1, &bound);
        if (!error && bound) {
            error = resource_invalid_input("Provider network attribute "
                                           "provider:segmentation_id cannot "
                                           "be updated if any port in the "
                                           "network has not the following "
                                           "binding:vif_type: unbound, "
                                           "binding_failed");
        }
        struct l2_segment new = segs[0];
        new.segmentation_id = v[A_SEG_ID].i < 0 ? 0 : v[A_SEG_ID].i;
        if (!error) {
            error = l2_type_validate__(&new);
        }
        if (!error) {
            error = l2_type_reserve__(ctx, &new);
        }
        if (!error) {
            char now[TIMESTAMP_LEN];
            struct sql_buf b;
            struct db_stmt *stmt;
            int rc = DB_ERROR;

            timestamp_now(now);
            sql_init(&b);
            sql_add(&b, "UPDATE network_segments SET segmentation_id = ?, "
                    "updated_at = ?, revision_number = revision_number + 1 "
                    "WHERE id = ?");
            sql_param_int(&b, new.segmentation_id);
            sql_param(&b, now);
            sql_param(&b, segs[0].id);
            stmt = sql_prepare(ctx->db, &b);
            sql_destroy(&b);
            if (stmt) {
                rc = db_step(stmt);
                db_reset(stmt);
            }
            if (rc != DB_DONE) {
                error = store_db_error(ctx->db, rc, "updating a segment");
            }
        }
        if (!error) {
            error = l2_type_release__(ctx, &segs[0]);
        }
        *changed = !error;
    }
    free(segs);
    return error;
}

static struct neutron_error *
network_update(const struct op_ctx *ctx, struct res_obj *cur,
               const struct res_obj *body, struct res_obj **out)
{
    struct res_obj *orig = res_obj_clone(cur);
    bool changed[N_ATTRS] = { false };
    struct l2_segment *segs = NULL;
    struct neutron_error *error;
    bool provider_changed = false;
    size_t n = 0;

    *out = NULL;
    for (size_t i = 0; i < N_ATTRS; i++) {
        if (attrs[i].column && body->v[i].kind != VALUE_UNSET) {
            value_copy(&cur->v[i], &body->v[i]);
            changed[i] = true;
        }
    }
    if (body->v[A_SEG_ID].kind == VALUE_INT && body->v[A_SEG_ID].i
        && value_str(&cur->v[A_NET_TYPE])) {
        value_copy(&cur->v[A_SEG_ID], &body->v[A_SEG_ID]);
    }
    error = events_publish(ctx, EV_NETWORK, EV_BEFORE_UPDATE, cur, orig);
    if (!error && changed[A_SHARED] && orig->v[A_SHARED].b
        && !cur->v[A_SHARED].b) {
        error = check_unshare(ctx, orig);
    }
    if (!error) {
        error = update_provider(ctx, orig, body, &provider_changed);
    }
    if (!error) {
        error = store_update(ctx->db, cur, changed);
    }
    if (!error && provider_changed) {
        error = l2_network_segments__(ctx->db, value_str(&cur->v[A_ID]),
                                      &segs, &n);
        if (!error) {
            set_provider_values(cur, segs, n);
        }
    } else if (!error) {
        segments_from_obj(cur, &segs, &n);
    }
    if (!error) {
        error = events_publish(ctx, EV_NETWORK, EV_PRECOMMIT_UPDATE, cur,
                               orig);
    }
    if (!error) {
        error = mech_precommit(ctx, L2_MECH_UPDATE, cur, orig, segs, n);
    }
    if (!error) {
        *out = res_obj_clone(cur);
    }
    free(segs);
    res_obj_destroy(orig);
    return error;
}

static struct neutron_error *
network_after_update(const struct op_ctx *ctx, const struct res_obj *net)
{
    neutron_error_destroy(events_publish(ctx, EV_NETWORK, EV_AFTER_UPDATE,
                                         net, NULL));
    return mech_postcommit(ctx, L2_MECH_UPDATE, net, NULL);
}

/* ---- Delete ---- */

static struct neutron_error *
network_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = value_str(&cur->v[A_ID]);
    struct l2_segment *segs = NULL;
    struct neutron_error *error;
    size_t n = 0;

    /* BEFORE_DELETE comes before any change, so that a subscriber (the L3
     * core: an external network with router gateways) can refuse. */
    error = events_publish(ctx, EV_NETWORK, EV_BEFORE_DELETE, NULL, cur);
    if (!error) {
        error = l2_ports_check_network_delete__(ctx, id);
    }
    if (!error) {
        error = l2_subnets_delete_for_network__(ctx, id);
    }
    if (!error) {
        error = l2_network_segments__(ctx->db, id, &segs, &n);
    }
    if (!error) {
        error = events_publish(ctx, EV_NETWORK, EV_PRECOMMIT_DELETE, NULL,
                               cur);
    }
    if (!error) {
        error = mech_precommit(ctx, L2_MECH_DELETE, NULL, cur, segs, n);
    }
    for (size_t i = 0; i < n && !error; i++) {
        error = l2_type_release__(ctx, &segs[i]);
    }
    if (!error) {
        struct sql_buf b;
        struct db_stmt *stmt;
        int rc = DB_ERROR;

        sql_init(&b);
        sql_add(&b, "DELETE FROM network_segments WHERE network_id = ?");
        sql_param(&b, id);
        stmt = sql_prepare(ctx->db, &b);
        sql_destroy(&b);
        if (stmt) {
            rc = db_step(stmt);
            db_reset(stmt);
        }
        if (rc != DB_DONE) {
            error = store_db_error(ctx->db, rc, "deleting segments");
        }
    }
    if (!error) {
        error = store_delete(ctx->db, &l2_network_def, id);
    }
    free(segs);
    return error;
}

static struct neutron_error *
network_after_remove(const struct op_ctx *ctx, const struct res_obj *old)
{
    neutron_error_destroy(events_publish(ctx, EV_NETWORK, EV_AFTER_DELETE,
                                         NULL, old));
    return mech_postcommit(ctx, L2_MECH_DELETE, NULL, old);
}

static const struct resource_ops network_ops = {
    .create = network_create,
    .update = network_update,
    .remove = network_remove,
    .after_create = network_after_create,
    .after_update = network_after_update,
    .after_remove = network_after_remove,
    .expand = network_expand,
    .filter_sql = network_filter_sql,
};
