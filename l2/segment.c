/* l2/segment.c: the "segments" resource (Neutron's segment extension)
 * and the rows of network_segments.
 *
 * Segments are what networks are made of (network.c creates the first
 * ones); through this resource an admin adds segments to an existing
 * network, renames them and removes them.  Neutron's default policy makes
 * every segment operation admin-only, reads included: other callers see
 * no segment at all (404 on show, update and delete; empty lists; 403 on
 * create).  Creating reserves the segment through its type driver (a
 * partial one gets its missing segmentation id allocated), deleting
 * releases it; a segment with subnets cannot be deleted (409
 * SegmentInUse).  Only name and description change. */
#include "l2/l2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/events.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/driver_api.h"
#include "l2/l2-internal.h"
#include "l2/l2-types.h"

enum {
    S_ID, S_NETWORK_ID, S_NAME, S_DESCRIPTION, S_NETWORK_TYPE, S_PHYSNET,
    S_SEG_ID, S_TENANT, S_CREATED, S_UPDATED, S_REVISION, N_SATTRS
};

static const struct attr_def attrs[N_SATTRS] = {
    [S_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [S_NETWORK_ID] = { "network_id", AT_UUID,
                       AF_POST | AF_REQUIRED | AF_FILTER | AF_SORT,
                       "network_id", NULL, 0, 0, NULL },
    [S_NAME] = { "name", AT_STRING,
                 AF_POST | AF_PUT | AF_FILTER | AF_SORT | AF_NULLABLE,
                 "name", "null", 0, 255, NULL },
    [S_DESCRIPTION] = { "description", AT_STRING,
                        AF_POST | AF_PUT | AF_FILTER, "description", "\"\"",
                        0, 255, NULL },
    [S_NETWORK_TYPE] = { "network_type", AT_STRING,
                         AF_POST | AF_REQUIRED | AF_FILTER | AF_SORT,
                         "network_type", NULL, 0, 32, NULL },
    [S_PHYSNET] = { "physical_network", AT_STRING,
                    AF_POST | AF_FILTER | AF_SORT | AF_NULLABLE,
                    "physical_network", "null", 0, 64, NULL },
    [S_SEG_ID] = { "segmentation_id", AT_INT,
                   AF_POST | AF_SORT | AF_NULLABLE, "segmentation_id",
                   "null", 0, 0, NULL },
    /* Accepted on create, as Neutron does, and never shown. */
    [S_TENANT] = { "tenant_id", AT_STRING, AF_POST, NULL, NULL, 0, 255,
                   NULL },
    [S_CREATED] = { "created_at", AT_STRING, 0, "created_at", NULL, 0, 0,
                    NULL },
    [S_UPDATED] = { "updated_at", AT_STRING, 0, "updated_at", NULL, 0, 0,
                    NULL },
    [S_REVISION] = { "revision_number", AT_INT, AF_FILTER | AF_SORT,
                     "revision_number", NULL, 0, 0, NULL },
};

static const struct resource_ops segment_ops;

const struct resource_def l2_segment_def = {
    .singular = "segment",
    .plural = "segments",
    .table = "network_segments",
    .not_found = "SegmentNotFound",
    .display = "Segment",
    .attrs = attrs,
    .n_attrs = N_SATTRS,
    /* Admin only: nobody else sees a segment. */
    .visible_sql = "1 = 0",
    .tags = false,
    .ops = &segment_ops,
};

/* Runs a statement that returns no rows. */
static struct neutron_error *
exec_sql(struct db *db, const struct sql_buf *b, const char *what)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc = DB_ERROR;

    if (stmt) {
        rc = db_step(stmt);
        db_reset(stmt);
    }
    return rc == DB_DONE ? NULL : store_db_error(db, rc, what);
}

struct neutron_error *
l2_segment_insert__(struct db *db, const char *network_id,
                    struct l2_segment *seg, int index, const char *name,
                    const char *description, const char *now)
{
    struct neutron_error *error;
    struct sql_buf b;

    if (!seg->id[0]) {
        uuid_new(seg->id);
    }
    sql_init(&b);
    sql_add(&b, "INSERT INTO network_segments (id, network_id, name, "
            "description, network_type, physical_network, segmentation_id, "
            "segment_index, created_at, updated_at, revision_number) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)");
    sql_param(&b, seg->id);
    sql_param(&b, network_id);
    sql_param(&b, name);
    sql_param(&b, description ? description : "");
    sql_param(&b, seg->network_type);
    sql_param(&b, seg->physical_network[0] ? seg->physical_network : NULL);
    if (seg->segmentation_id >= 0) {
        sql_param_int(&b, seg->segmentation_id);
    } else {
        sql_param(&b, NULL);
    }
    sql_param_int(&b, index);
    sql_param(&b, now);
    sql_param(&b, now);
    error = exec_sql(db, &b, "inserting a segment");
    sql_destroy(&b);
    return error;
}

/* The segment 'obj' describes. */
static void
segment_of(const struct res_obj *obj, struct l2_segment *seg)
{
    const struct value *v = obj->v;

    memset(seg, 0, sizeof *seg);
    str_copy(seg->id, value_str(&v[S_ID]) ? value_str(&v[S_ID]) : "",
             sizeof seg->id);
    str_copy(seg->network_type, value_str(&v[S_NETWORK_TYPE])
                                ? value_str(&v[S_NETWORK_TYPE]) : "",
             sizeof seg->network_type);
    str_copy(seg->physical_network, value_str(&v[S_PHYSNET])
                                    ? value_str(&v[S_PHYSNET]) : "",
             sizeof seg->physical_network);
    seg->segmentation_id = v[S_SEG_ID].kind == VALUE_INT
                           ? (v[S_SEG_ID].i < 0 ? 0 : v[S_SEG_ID].i) : -1;
}

/* Tells the mechanism drivers that network 'orig' changed into 'cur'
 * (a segment came or went), as ML2 does with update_network_precommit. */
static struct neutron_error *
network_changed(const struct op_ctx *ctx, const struct res_obj *orig,
                const struct res_obj *cur)
{
    struct l2_segment *segs = NULL;
    struct neutron_error *error;
    size_t n = 0;

    error = l2_network_segments__(ctx->db,
                                  value_str(&cur->v[resource_attr_index(
                                      cur->def, "id")]), &segs, &n);
    if (!error) {
        struct l2_mech_context mc = {
            .ctx = ctx, .op = L2_MECH_UPDATE, .cur = cur, .orig = orig,
            .network = cur, .segments = segs, .n_segments = n,
        };
        error = l2_mech_precommit__("network", &mc);
    }
    free(segs);
    return error;
}

static struct neutron_error *
segment_create(const struct op_ctx *ctx, const struct res_obj *body,
               struct res_obj **out)
{
    const char *network_id = value_str(&body->v[S_NETWORK_ID]);
    struct res_obj *net = NULL, *net_after = NULL, *obj = NULL;
    struct l2_segment *segs = NULL, seg;
    struct neutron_error *error;
    size_t n = 0;

    *out = NULL;
    if (!ctx->auth.is_admin) {
        return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                    "(rule:create_segment) is disallowed by "
                                    "policy");
    }
    error = l2_network_get__(NULL, ctx->db, network_id, &net);
    if (!error) {
        error = events_publish(ctx, EV_SEGMENT, EV_BEFORE_CREATE, body,
                               NULL);
    }
    if (!error) {
        segment_of(body, &seg);
        error = l2_type_validate__(&seg);
    }
    if (!error) {
        error = l2_type_reserve__(ctx, &seg);
    }
    if (!error) {
        error = l2_network_segments__(ctx->db, network_id, &segs, &n);
    }
    if (error) {
        goto out;
    }

    /* The network's MTU was fixed at creation: a segment that cannot carry
     * it is refused, as Neutron's _get_network_mtu(validate=True) does. */
    segs = xrealloc(segs, (n + 1) * sizeof *segs);
    segs[n] = seg;
    int max_mtu = l2_types_network_mtu__(segs, n + 1);
    int64_t net_mtu = net->v[resource_attr_index(net->def, "mtu")].i;
    if (net_mtu && max_mtu && max_mtu < net_mtu) {
        error = resource_invalid_input("Requested MTU is too big, maximum is "
                                       "%d", max_mtu);
        goto out;
    }

    /* The next index after the last one. */
    int index = 0;
    {
        struct sql_buf b;
        struct db_stmt *stmt;
        int rc = DB_ERROR;

        sql_init(&b);
        sql_add(&b, "SELECT MAX(segment_index) FROM network_segments WHERE "
                "network_id = ?");
        sql_param(&b, network_id);
        stmt = sql_prepare(ctx->db, &b);
        sql_destroy(&b);
        if (stmt) {
            rc = db_step(stmt);
            if (rc == DB_ROW) {
                index = db_col_is_null(stmt, 0) ? 0
                                                : db_col_int64(stmt, 0) + 1;
                rc = DB_DONE;
            }
            db_reset(stmt);
        }
        if (rc != DB_DONE) {
            error = store_db_error(ctx->db, rc, "reading segments");
            goto out;
        }
    }

    obj = res_obj_clone(body);
    value_clear(&obj->v[S_TENANT]);
    error = store_fill_new(ctx, obj);
    if (error) {
        goto out;
    }
    str_copy(seg.id, value_str(&obj->v[S_ID]), sizeof seg.id);
    value_set_str(&obj->v[S_PHYSNET], seg.physical_network[0]
                                      ? seg.physical_network : NULL);
    if (seg.segmentation_id >= 0) {
        value_set_int(&obj->v[S_SEG_ID], seg.segmentation_id);
    } else {
        value_set_null(&obj->v[S_SEG_ID]);
    }
    error = l2_segment_insert__(ctx->db, network_id, &seg, index,
                                value_str(&obj->v[S_NAME]),
                                value_str(&obj->v[S_DESCRIPTION]),
                                value_str(&obj->v[S_CREATED]));
    if (!error) {
        error = events_publish(ctx, EV_SEGMENT, EV_PRECOMMIT_CREATE, obj,
                               NULL);
    }
    if (!error) {
        error = l2_network_get__(NULL, ctx->db, network_id, &net_after);
    }
    if (!error) {
        error = network_changed(ctx, net, net_after);
    }
out:
    free(segs);
    res_obj_destroy(net);
    res_obj_destroy(net_after);
    if (error) {
        res_obj_destroy(obj);
        obj = NULL;
    }
    *out = obj;
    return error;
}

struct network_load {
    const char *id;
    struct res_obj *net;
    struct l2_segment *segs;
    size_t n;
};

static struct neutron_error *
network_load_in_txn(const struct op_ctx *ctx, void *arg)
{
    struct network_load *l = arg;
    struct neutron_error *error;

    res_obj_destroy(l->net);
    free(l->segs);
    l->net = NULL;
    l->segs = NULL;
    l->n = 0;
    error = l2_network_get__(NULL, ctx->db, l->id, &l->net);
    if (!error) {
        error = l2_network_segments__(ctx->db, l->id, &l->segs, &l->n);
    }
    return error;
}

/* After a segment came or went: the mechanism drivers' network update
 * postcommit, as ML2 runs it (errors are logged). */
static void
network_changed_postcommit(const struct op_ctx *ctx, const char *network_id)
{
    struct network_load l = { .id = network_id };
    struct neutron_error *error = txn_run(ctx, false, network_load_in_txn,
                                          &l);

    if (!error) {
        struct l2_mech_context mc = {
            .ctx = ctx, .op = L2_MECH_UPDATE, .cur = l.net, .orig = l.net,
            .network = l.net, .segments = l.segs, .n_segments = l.n,
        };
        error = l2_mech_postcommit__("network", &mc);
    }
    if (error) {
        LOG_RL(LOG_LEVEL_WARN, "l2", "%s: network %s: update postcommit "
               "after a segment change failed: %s", ctx->request_id,
               network_id, error->message);
        neutron_error_destroy(error);
    }
    res_obj_destroy(l.net);
    free(l.segs);
}

static struct neutron_error *
segment_after_create(const struct op_ctx *ctx, const struct res_obj *obj)
{
    neutron_error_destroy(events_publish(ctx, EV_SEGMENT, EV_AFTER_CREATE,
                                         obj, NULL));
    network_changed_postcommit(ctx, value_str(&obj->v[S_NETWORK_ID]));
    return NULL;
}

static struct neutron_error *
segment_update(const struct op_ctx *ctx, struct res_obj *cur,
               const struct res_obj *body, struct res_obj **out)
{
    struct res_obj *orig = res_obj_clone(cur);
    bool changed[N_SATTRS] = { false };
    struct neutron_error *error;

    *out = NULL;
    for (size_t i = 0; i < N_SATTRS; i++) {
        if (attrs[i].column && body->v[i].kind != VALUE_UNSET) {
            value_copy(&cur->v[i], &body->v[i]);
            changed[i] = true;
        }
    }
    error = events_publish(ctx, EV_SEGMENT, EV_BEFORE_UPDATE, cur, orig);
    if (!error) {
        error = store_update(ctx->db, cur, changed);
    }
    if (!error) {
        error = events_publish(ctx, EV_SEGMENT, EV_PRECOMMIT_UPDATE, cur,
                               orig);
    }
    if (!error) {
        *out = res_obj_clone(cur);
    }
    res_obj_destroy(orig);
    return error;
}

static struct neutron_error *
segment_after_update(const struct op_ctx *ctx, const struct res_obj *obj)
{
    neutron_error_destroy(events_publish(ctx, EV_SEGMENT, EV_AFTER_UPDATE,
                                         obj, NULL));
    return NULL;
}

/* 409 SegmentInUse if subnets are associated with segment 'id'. */
static struct neutron_error *
check_segment_unused(struct db *db, const char *id)
{
    struct sql_buf b, list;
    struct db_stmt *stmt;
    struct neutron_error *error = NULL;
    int rc;

    sql_init(&b);
    sql_add(&b, "SELECT id FROM subnets WHERE segment_id = ? ORDER BY id");
    sql_param(&b, id);
    stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading subnets");
    }
    sql_init(&list);            /* a plain string builder here */
    sql_add(&list, "");
    while ((rc = db_step(stmt)) == DB_ROW) {
        sql_addf(&list, "%s%s", list.len ? ", " : "", db_col_text(stmt, 0));
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(db, rc, "reading subnets");
    } else if (list.len) {
        error = neutron_error_create(NE_CONFLICT, "SegmentInUse",
                                     "Segment '%s' cannot be deleted: The "
                                     "segment is still associated with "
                                     "subnet(s) %s.", id, list.text);
    }
    sql_destroy(&list);
    return error;
}

static struct neutron_error *
segment_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = value_str(&cur->v[S_ID]);
    const char *network_id = value_str(&cur->v[S_NETWORK_ID]);
    struct res_obj *net = NULL, *net_after = NULL;
    struct neutron_error *error;
    struct l2_segment seg;

    error = events_publish(ctx, EV_SEGMENT, EV_BEFORE_DELETE, NULL, cur);
    if (!error) {
        error = check_segment_unused(ctx->db, id);
    }
    if (!error) {
        error = l2_network_get__(NULL, ctx->db, network_id, &net);
    }
    if (!error) {
        segment_of(cur, &seg);
        error = l2_type_release__(ctx, &seg);
    }
    if (!error) {
        error = store_delete(ctx->db, &l2_segment_def, id);
    }
    if (!error) {
        error = events_publish(ctx, EV_SEGMENT, EV_PRECOMMIT_DELETE, NULL,
                               cur);
    }
    if (!error) {
        error = l2_network_get__(NULL, ctx->db, network_id, &net_after);
    }
    if (!error) {
        error = network_changed(ctx, net, net_after);
    }
    res_obj_destroy(net);
    res_obj_destroy(net_after);
    return error;
}

static struct neutron_error *
segment_after_remove(const struct op_ctx *ctx, const struct res_obj *old)
{
    neutron_error_destroy(events_publish(ctx, EV_SEGMENT, EV_AFTER_DELETE,
                                         NULL, old));
    network_changed_postcommit(ctx, value_str(&old->v[S_NETWORK_ID]));
    return NULL;
}

static const struct resource_ops segment_ops = {
    .create = segment_create,
    .update = segment_update,
    .remove = segment_remove,
    .after_create = segment_after_create,
    .after_update = segment_after_update,
    .after_remove = segment_after_remove,
};
