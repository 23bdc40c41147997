/* api/resource_api.c: see resource_api.h. */
#include "api/resource_api.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/json.h"
#include "core/jsonv.h"
#include "api/request.h"
#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"

#define MAX_TAGS 50
#define MAX_TAG_LEN 255

static void
ctx_init(struct op_ctx *ctx, const struct api_request *req)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->auth = req->auth;
    ctx->db = req->db;
    ctx->cfg = req->cfg;
    ctx->request_id = req->request_id;
}

/* ---- Rendering ---- */

/* The 'fields' the caller asked for (NULL, 0: all). */
struct field_sel {
    const char **names;
    size_t n;
};

static bool
field_selected(const struct field_sel *sel, const char *name)
{
    if (!sel || !sel->n) {
        return true;
    }
    for (size_t i = 0; i < sel->n; i++) {
        if (!strcmp(sel->names[i], name)) {
            return true;
        }
    }
    return false;
}

static void
render_value(yajl_gen g, const struct value *v)
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
        /* Stored JSON text goes out as is: yajl writes a "number" verbatim. */
        yajl_gen_number(g, v->s, strlen(v->s));
        break;
    }
}

static void
render_obj(yajl_gen g, const struct res_obj *obj, const struct op_ctx *ctx,
           const struct field_sel *sel)
{
    const struct resource_def *def = obj->def;

    yajl_gen_map_open(g);
    for (size_t i = 0; i < def->n_attrs; i++) {
        const struct attr_def *a = &def->attrs[i];
        if (obj->v[i].kind == VALUE_UNSET
            || ((a->flags & AF_ADMIN_READ) && !ctx->auth.is_admin)
            || !field_selected(sel, a->name)) {
            continue;
        }
        json_key(g, a->name);
        render_value(g, &obj->v[i]);
    }
    yajl_gen_map_close(g);
}

static void
render_one(struct api_request *req, const struct op_ctx *ctx,
           const struct res_obj *obj, const struct field_sel *sel)
{
    yajl_gen_map_open(req->out);
    json_key(req->out, obj->def->singular);
    render_obj(req->out, obj, ctx, sel);
    yajl_gen_map_close(req->out);
}

/* ---- Query strings ---- */

static struct neutron_error *
bad_request(const char *fmt, const char *arg)
    __attribute__((format(printf, 1, 0)));

static struct neutron_error *
bad_request(const char *fmt, const char *arg)
{
    char msg[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, arg);
#pragma GCC diagnostic pop
    return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest", "%s", msg);
}

/* Splits a comma-separated list into new strings appended to '*list'.
 * Returns false, leaving the list at 'max' strings, if it would grow past
 * 'max'. */
static bool
split_commas(const char *s, char ***list, size_t *n, size_t max)
{
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && *n >= max) {
            return false;
        }
        if (len) {
            *list = xrealloc(*list, (*n + 1) * sizeof **list);
            (*list)[(*n)++] = xstrndup(p, len);
        }
        p += len;
        if (*p) {
            p++;
        }
    }
    return true;
}

static struct neutron_error *
too_many_values(const char *filter, size_t max)
{
    return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                "Too many values for filter %.100s: at most "
                                "%zu are allowed.", filter, max);
}

static struct list_filter *
find_filter(struct list_query *q, int attr)
{
    for (size_t i = 0; i < q->n_filters; i++) {
        if (q->filters[i].attr == attr) {
            return &q->filters[i];
        }
    }
    q->filters = xrealloc(q->filters, (q->n_filters + 1) * sizeof *q->filters);
    struct list_filter *f = &q->filters[q->n_filters++];
    memset(f, 0, sizeof *f);
    f->attr = attr;
    return f;
}

static struct neutron_error *
parse_list_query(const struct api_request *req, const struct resource_def *def,
                 struct list_query *q, struct field_sel *sel)
{
    size_t n_keys = 0, n_dirs = 0;
    bool is_admin = req->auth.is_admin;
    size_t max_values = req->cfg ? (size_t) req->cfg->max_filter_values
                                 : SIZE_MAX;
    int max_limit = req->cfg ? req->cfg->pagination_max_limit : -1;

    memset(q, 0, sizeof *q);
    memset(sel, 0, sizeof *sel);
    q->sorts = xcalloc(req->n_query + 1, sizeof *q->sorts);
    sel->names = xcalloc(req->n_query + 1, sizeof *sel->names);
    for (size_t i = 0; i < req->n_query; i++) {
        const char *k = req->query[i].key;
        const char *v = req->query[i].value;
        int idx;

        if (!strcmp(k, "fields")) {
            if (*v) {
                sel->names[sel->n++] = v;
            }
        } else if (!strcmp(k, "limit")) {
            int64_t limit;
            if (!str_to_int64(v, 0, INT32_MAX, &limit)) {
                return bad_request("Bad limit request: Limit must be an "
                                   "integer 0 or greater and not '%s'", v);
            }
            q->limit = limit;
        } else if (!strcmp(k, "marker")) {
            free(q->marker);
            q->marker = xstrdup(v);
        } else if (!strcmp(k, "page_reverse")) {
            if (!str_to_bool(v, &q->page_reverse)) {
                return bad_request("Invalid value for page_reverse: %s", v);
            }
        } else if (!strcmp(k, "sort_key")) {
            idx = resource_attr_index(def, v);
            if (idx < 0 || !(def->attrs[idx].flags & AF_SORT)
                || !def->attrs[idx].column
                || ((def->attrs[idx].flags & AF_ADMIN_READ) && !is_admin)) {
                return bad_request("[%s] is invalid attribute for sort_keys",
                                   v);
            }
            q->sorts[n_keys++].attr = idx;
        } else if (!strcmp(k, "sort_dir")) {
            if (strcasecmp(v, "asc") && strcasecmp(v, "desc")) {
                return bad_request("Sort direction '%s' is not supported: "
                                   "use 'asc' or 'desc'", v);
            }
            q->sorts[n_dirs++].desc = !strcasecmp(v, "desc");
        } else if (!strcmp(k, "tags")) {
            if (!split_commas(v, &q->tags, &q->n_tags, max_values)) {
                return too_many_values(k, max_values);
            }
        } else if (!strcmp(k, "tags-any")) {
            if (!split_commas(v, &q->tags_any, &q->n_tags_any, max_values)) {
                return too_many_values(k, max_values);
            }
        } else if (!strcmp(k, "not-tags")) {
            if (!split_commas(v, &q->not_tags, &q->n_not_tags, max_values)) {
                return too_many_values(k, max_values);
            }
        } else if (!strcmp(k, "not-tags-any")) {
            if (!split_commas(v, &q->not_tags_any, &q->n_not_tags_any, max_values)) {
                return too_many_values(k, max_values);
            }
        } else {
            idx = resource_attr_index(def, k);
            if (idx < 0 || !(def->attrs[idx].flags & AF_FILTER)
                || ((def->attrs[idx].flags & AF_ADMIN_READ) && !is_admin)) {
                return bad_request("[%s] is invalid attribute for filtering",
                                   k);
            }
            struct list_filter *f = find_filter(q, idx);
            if (f->n_values >= max_values) {
                return too_many_values(k, max_values);
            }
            f->values = xrealloc(f->values,
                                 (f->n_values + 1) * sizeof *f->values);
            f->values[f->n_values++] = xstrdup(v);
        }
    }
    if (n_dirs && n_dirs != n_keys) {
        return bad_request("%s", "The number of sort_keys and sort_dirs "
                           "must be same");
    }
    q->n_sorts = n_keys;
    /* As Neutron's pagination_max_limit: no limit, limit=0 or one over the
     * cap all mean the cap; the answer then links to the next page. */
    if (max_limit > 0 && (!q->limit || q->limit > (size_t) max_limit)) {
        q->limit = max_limit;
    }
    return NULL;
}

struct neutron_error *
api_parse_list_query(const struct api_request *req,
                     const struct resource_def *def)
{
    struct list_query q;
    struct field_sel sel;
    struct neutron_error *error = parse_list_query(req, def, &q, &sel);

    list_query_destroy(&q);
    free(sel.names);
    return error;
}

static void
add_link(yajl_gen g, struct api_request *req, const struct resource_def *def,
         const char *rel, const char *marker, bool reverse)
{
    struct sql_buf url;         /* used as a plain string builder */

    sql_init(&url);
    sql_addf(&url, "%s/v2.0/%s?", req->base_url, def->plural);
    for (size_t i = 0; i < req->n_query; i++) {
        const char *k = req->query[i].key;
        if (!strcmp(k, "marker") || !strcmp(k, "page_reverse")) {
            continue;
        }
        char *ek = evhttp_encode_uri(k);
        char *ev = evhttp_encode_uri(req->query[i].value);
        sql_addf(&url, "%s=%s&", ek, ev);
        free(ek);
        free(ev);
    }
    sql_addf(&url, "marker=%s", marker);
    if (reverse) {
        sql_add(&url, "&page_reverse=True");
    }
    yajl_gen_map_open(g);
    json_kv_str(g, "href", url.text);
    json_kv_str(g, "rel", rel);
    yajl_gen_map_close(g);
    sql_destroy(&url);
}

/* True if the query of 'req' asks for pages: a limit other than 0. */
static bool
limit_given(const struct api_request *req)
{
    for (size_t i = 0; i < req->n_query; i++) {
        if (!strcmp(req->query[i].key, "limit")
            && strcmp(req->query[i].value, "0")) {
            return true;
        }
    }
    return false;
}

/* ---- Handlers ---- */

struct read_args {
    const struct resource_def *def;
    const struct list_query *q;     /* list */
    struct res_list *list;
    const char *id;                 /* show */
    struct res_obj *obj;
};

static struct neutron_error *
read_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct read_args *a = args_;

    if (a->id) {
        res_obj_destroy(a->obj);
        a->obj = NULL;
        return store_get(ctx->db, a->def, ctx, a->id, &a->obj);
    }
    res_list_destroy(a->list);
    return store_list(ctx->db, a->def, ctx, a->q, a->list);
}

static struct neutron_error *
handle_list(struct api_request *req, const struct resource_def *def)
{
    struct op_ctx ctx;
    struct list_query q;
    struct field_sel sel;
    struct res_list list = { 0 };
    struct neutron_error *error;

    ctx_init(&ctx, req);
    error = parse_list_query(req, def, &q, &sel);
    if (!error) {
        struct read_args a = { .def = def, .q = &q, .list = &list };
        error = txn_run(&ctx, false, read_in_txn, &a);
    }
    if (error) {
        goto out;
    }

    yajl_gen g = req->out;
    yajl_gen_map_open(g);
    json_key(g, def->plural);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < list.n; i++) {
        render_obj(g, list.objs[i], &ctx, &sel);
    }
    yajl_gen_array_close(g);
    if (q.limit) {
        /* Forward: "next" when rows remain, "previous" when a marker was
         * given; backward the other way round. */
        bool more_after = q.page_reverse ? q.marker != NULL : list.more;
        bool more_before = q.page_reverse ? list.more : q.marker != NULL;
        int id = resource_attr_index(def, "id");
        char key[128];

        more_after &= list.n > 0;
        more_before &= list.n > 0;
        /* A client that asked for pages always gets the links array; one
         * cut only by pagination_max_limit gets it when there is more. */
        if (limit_given(req) || more_after || more_before) {
            snprintf(key, sizeof key, "%s_links", def->plural);
            json_key(g, key);
            yajl_gen_array_open(g);
            if (more_after) {
                add_link(g, req, def, "next",
                         value_str(&list.objs[list.n - 1]->v[id]), false);
            }
            if (more_before) {
                add_link(g, req, def, "previous",
                         value_str(&list.objs[0]->v[id]), true);
            }
            yajl_gen_array_close(g);
        }
    }
    yajl_gen_map_close(g);
out:
    res_list_destroy(&list);
    list_query_destroy(&q);
    free(sel.names);
    return error;
}

static struct neutron_error *
load_visible(const struct op_ctx *ctx, const struct resource_def *def,
             const char *id, struct res_obj **out)
{
    return store_get(ctx->db, def, ctx, id, out);
}

static struct neutron_error *
handle_show(struct api_request *req, const struct resource_def *def)
{
    struct op_ctx ctx;
    struct res_obj *obj = NULL;
    struct field_sel sel = { 0 };
    struct neutron_error *error;

    ctx_init(&ctx, req);
    for (size_t i = 0; i < req->n_query; i++) {
        if (strcmp(req->query[i].key, "fields")) {
            continue;
        }
        sel.names = xrealloc(sel.names, (sel.n + 1) * sizeof *sel.names);
        sel.names[sel.n++] = req->query[i].value;
    }
    struct read_args a = { .def = def, .id = req->path_params[0] };
    error = txn_run(&ctx, false, read_in_txn, &a);
    obj = a.obj;
    if (!error) {
        render_one(req, &ctx, obj, &sel);
    }
    res_obj_destroy(obj);
    free(sel.names);
    return error;
}

/* If-Match: "revision_number=N" (several, comma-separated, must all hold;
 * we take the last).  -1 when absent. */
static struct neutron_error *
parse_if_match(const struct api_request *req, int64_t *rev)
{
    const char *h = api_request_header(req, "If-Match");

    *rev = -1;
    if (!h) {
        return NULL;
    }
    const char *p = strstr(h, "revision_number=");
    if (!p) {
        return bad_request("%s", "If-Match header must be "
                           "'revision_number=<number>'");
    }
    char num[32];
    size_t len = strcspn(p + 16, ", ");
    if (len >= sizeof num) {
        return bad_request("Invalid If-Match header: %s", h);
    }
    memcpy(num, p + 16, len);
    num[len] = '\0';
    if (!str_to_int64(num, 0, INT64_MAX, rev)) {
        return bad_request("Invalid If-Match header: %s", h);
    }
    return NULL;
}

struct create_args {
    const struct resource_def *def;
    struct res_obj **bodies;
    struct res_obj **results;
    size_t n;
};

static struct neutron_error *
create_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct create_args *a = args_;

    for (size_t i = 0; i < a->n; i++) {
        res_obj_destroy(a->results[i]);
        a->results[i] = NULL;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct neutron_error *error = a->def->ops->create(ctx, a->bodies[i],
                                                         &a->results[i]);
        if (error) {
            return error;
        }
    }
    return NULL;
}

struct remove_args {
    const struct resource_def *def;
    const char *id;
    int64_t if_match;
    struct res_obj *old;
};

static struct neutron_error *
check_modifiable(const struct op_ctx *ctx, const struct res_obj *obj,
                 const char *action)
{
    int project = resource_attr_index(obj->def, "project_id");
    const char *owner = project >= 0 ? value_str(&obj->v[project]) : NULL;

    /* Neutron 2023.1 defaults: writes need "member" (or admin); a reader
     * sees what it may see but changes nothing. */
    if (ctx->auth.has_member_role
        && (op_ctx_owns(ctx, owner)
        || (obj->def->ops->may_modify
            && obj->def->ops->may_modify(ctx, obj)))) {
        return NULL;
    }
    return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                "(rule:%s_%s) is disallowed by policy",
                                action, obj->def->singular);
}

static struct neutron_error *
remove_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct remove_args *a = args_;
    struct neutron_error *error;

    res_obj_destroy(a->old);
    a->old = NULL;
    error = load_visible(ctx, a->def, a->id, &a->old);
    if (!error) {
        error = check_modifiable(ctx, a->old, "delete");
    }
    if (!error) {
        error = store_check_revision(a->old, a->if_match);
    }
    if (!error) {
        error = a->def->ops->remove(ctx, a->old);
    }
    return error;
}

static void
run_after(const struct op_ctx *ctx, const char *what,
          struct neutron_error *error)
{
    if (error) {
        LOG_RL(LOG_LEVEL_WARN, "api", "%s: %s failed: %s", ctx->request_id,
               what, error->message);
        neutron_error_destroy(error);
    }
}

static struct neutron_error *
handle_create(struct api_request *req, const struct resource_def *def)
{
    struct create_args a = { .def = def };
    struct neutron_error *error = NULL;
    struct op_ctx ctx;
    yajl_val items = NULL;
    bool bulk = false;

    if (!def->ops || !def->ops->create) {
        return neutron_error_create(NE_METHOD_NOT_ALLOWED, NULL,
                                    "The method POST is not allowed for "
                                    "this resource.");
    }
    ctx_init(&ctx, req);
    if (!ctx.auth.has_member_role) {
        /* A reader (no "member", no "admin" role) creates nothing. */
        return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                    "(rule:create_%s) is disallowed by "
                                    "policy", def->singular);
    }
    if (!req->body) {
        return bad_request("%s", "Resource body required");
    }
    yajl_val one = jsonv_member(req->body, def->singular);
    yajl_val many = jsonv_member(req->body, def->plural);
    if (one) {
        items = one;
    } else if (YAJL_IS_ARRAY(many)) {
        items = many;
        bulk = true;
    } else {
        return bad_request("Unable to find '%s' in request body",
                           def->singular);
    }
    a.n = bulk ? items->u.array.len : 1;
    if (bulk && !a.n) {
        return bad_request("%s", "Resources required");
    }
    if (a.n > (size_t) req->cfg->max_bulk_items) {
        return neutron_error_create(NE_TOO_LARGE, NULL,
                                    "A bulk request may create at most %d "
                                    "%s, not %zu.", req->cfg->max_bulk_items,
                                    def->plural, a.n);
    }
    a.bodies = xcalloc(a.n, sizeof *a.bodies);
    a.results = xcalloc(a.n, sizeof *a.results);
    for (size_t i = 0; i < a.n && !error; i++) {
        error = resource_validate(def, bulk ? items->u.array.values[i] : items,
                                  true, ctx.auth.is_admin, &a.bodies[i]);
    }
    if (!error) {
        error = txn_run(&ctx, true, create_in_txn, &a);
    }
    if (!error && def->ops->after_create) {
        for (size_t i = 0; i < a.n && !error; i++) {
            error = def->ops->after_create(&ctx, a.results[i]);
        }
        if (error) {
            /* As ML2: a failed postcommit on create undoes the create. */
            for (size_t i = 0; i < a.n; i++) {
                struct remove_args r = {
                    .def = def,
                    .id = value_str(&a.results[i]->v[
                        resource_attr_index(def, "id")]),
                    .if_match = -1,
                };
                struct op_ctx admin = ctx;
                admin.auth.is_admin = true;
                run_after(&ctx, "undoing a create",
                          txn_run(&admin, true, remove_in_txn, &r));
                res_obj_destroy(r.old);
            }
            struct neutron_error *e = neutron_error_internal(
                "%s", error->message);
            neutron_error_destroy(error);
            error = e;
        }
    }
    if (!error) {
        req->status = 201;
        if (bulk) {
            yajl_gen_map_open(req->out);
            json_key(req->out, def->plural);
            yajl_gen_array_open(req->out);
            for (size_t i = 0; i < a.n; i++) {
                render_obj(req->out, a.results[i], &ctx, NULL);
            }
            yajl_gen_array_close(req->out);
            yajl_gen_map_close(req->out);
        } else {
            render_one(req, &ctx, a.results[0], NULL);
        }
    }
    for (size_t i = 0; i < a.n; i++) {
        res_obj_destroy(a.bodies[i]);
        res_obj_destroy(a.results[i]);
    }
    free(a.bodies);
    free(a.results);
    return error;
}

struct update_args {
    const struct resource_def *def;
    const char *id;
    const struct res_obj *body;
    int64_t if_match;
    struct res_obj *result;
};

static struct neutron_error *
update_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct update_args *a = args_;
    struct res_obj *cur = NULL;
    struct neutron_error *error;

    res_obj_destroy(a->result);
    a->result = NULL;
    error = load_visible(ctx, a->def, a->id, &cur);
    if (!error) {
        error = check_modifiable(ctx, cur, "update");
    }
    if (!error) {
        error = store_check_revision(cur, a->if_match);
    }
    if (!error) {
        error = a->def->ops->update(ctx, cur, a->body, &a->result);
    }
    res_obj_destroy(cur);
    return error;
}

static struct neutron_error *
handle_update(struct api_request *req, const struct resource_def *def)
{
    struct update_args a = { .def = def, .id = req->path_params[0] };
    struct res_obj *body = NULL;
    struct neutron_error *error;
    struct op_ctx ctx;

    if (!def->ops || !def->ops->update) {
        return neutron_error_create(NE_METHOD_NOT_ALLOWED, NULL,
                                    "The method PUT is not allowed for this "
                                    "resource.");
    }
    ctx_init(&ctx, req);
    error = parse_if_match(req, &a.if_match);
    if (error) {
        return error;
    }
    yajl_val given = jsonv_member(req->body, def->singular);
    if (!given) {
        return bad_request("Unable to find '%s' in request body",
                           def->singular);
    }
    error = resource_validate(def, given, false, ctx.auth.is_admin, &body);
    if (error) {
        return error;
    }
    a.body = body;
    error = txn_run(&ctx, true, update_in_txn, &a);
    if (!error && def->ops->after_update) {
        run_after(&ctx, "after update", def->ops->after_update(&ctx,
                                                               a.result));
    }
    if (!error) {
        render_one(req, &ctx, a.result, NULL);
    }
    res_obj_destroy(a.result);
    res_obj_destroy(body);
    return error;
}

static struct neutron_error *
handle_delete(struct api_request *req, const struct resource_def *def)
{
    struct remove_args a = { .def = def, .id = req->path_params[0] };
    struct neutron_error *error;
    struct op_ctx ctx;

    if (!def->ops || !def->ops->remove) {
        return neutron_error_create(NE_METHOD_NOT_ALLOWED, NULL,
                                    "The method DELETE is not allowed for "
                                    "this resource.");
    }
    ctx_init(&ctx, req);
    error = parse_if_match(req, &a.if_match);
    if (!error) {
        error = txn_run(&ctx, true, remove_in_txn, &a);
    }
    if (!error && def->ops->after_remove) {
        run_after(&ctx, "after delete", def->ops->after_remove(&ctx, a.old));
    }
    if (!error) {
        req->status = 204;
    }
    res_obj_destroy(a.old);
    return error;
}

/* ---- Tags ---- */

static struct neutron_error *
check_tag(const char *tag)
{
    /* Neutron's tagging extension: at most MAX_TAG_LEN characters. */
    if (!*tag || utf8_length(tag) > MAX_TAG_LEN || strchr(tag, ',')) {
        return neutron_error_create(NE_BAD_REQUEST, "InvalidInput",
                                    "Invalid input for operation: '%.300s' "
                                    "is not a valid tag.", tag);
    }
    return NULL;
}

struct tags_args {
    const struct resource_def *def;
    const char *id;
    const char *tag;            /* one tag, or NULL */
    char **tags;                /* replace all, or NULL */
    size_t n_tags;
    bool remove;
    bool found;
    struct res_obj *obj;        /* out: the resource, tags loaded */
};

static struct neutron_error *
tags_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct tags_args *a = args_;
    struct neutron_error *error;

    res_obj_destroy(a->obj);
    a->obj = NULL;
    error = load_visible(ctx, a->def, a->id, &a->obj);
    if (!error) {
        error = check_modifiable(ctx, a->obj, "update");
    }
    if (error) {
        return error;
    }
    if (a->remove) {
        error = store_tag_remove(ctx->db, a->obj, a->tag, &a->found);
        if (!error && a->tag && !a->found) {
            return neutron_error_create(NE_NOT_FOUND, "TagNotFound",
                                        "Tag %s could not be found.", a->tag);
        }
    } else if (a->tag) {
        error = store_tag_add(ctx->db, a->obj, a->tag);
    } else {
        error = store_tags_set(ctx->db, a->obj, a->tags, a->n_tags);
    }
    if (!error && (!a->remove || a->found)) {
        error = store_touch(ctx->db, a->obj);
    }
    if (!error) {
        error = store_tags_load(ctx->db, &a->obj, 1);
    }
    return error;
}

static struct neutron_error *
handle_tags(struct api_request *req, const struct resource_def *def)
{
    struct tags_args a = { .def = def, .id = req->path_params[0] };
    const char *tag = req->n_path_params > 1 ? req->path_params[1] : NULL;
    struct neutron_error *error = NULL;
    struct op_ctx ctx;

    ctx_init(&ctx, req);
    if (req->method == API_GET) {
        struct read_args r = { .def = def, .id = a.id };
        error = txn_run(&ctx, false, read_in_txn, &r);
        struct res_obj *obj = r.obj;
        if (!error && tag) {
            int idx = resource_attr_index(def, "tags");
            yajl_val list = yajl_tree_parse(obj->v[idx].s, NULL, 0);
            bool has = false;
            for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len;
                 i++) {
                const char *t = YAJL_GET_STRING(list->u.array.values[i]);
                has |= t && !strcmp(t, tag);
            }
            yajl_tree_free(list);
            if (has) {
                req->status = 204;
            } else {
                error = neutron_error_create(NE_NOT_FOUND, "TagNotFound",
                                             "Tag %s could not be found.",
                                             tag);
            }
        } else if (!error) {
            int idx = resource_attr_index(def, "tags");
            yajl_gen_map_open(req->out);
            json_key(req->out, "tags");
            render_value(req->out, &obj->v[idx]);
            yajl_gen_map_close(req->out);
        }
        res_obj_destroy(obj);
        return error;
    }

    if (req->method == API_PUT && tag) {
        error = check_tag(tag);
        a.tag = tag;
    } else if (req->method == API_PUT) {
        yajl_val tags = jsonv_member(req->body, "tags");
        if (!YAJL_IS_ARRAY(tags)) {
            return bad_request("%s", "Invalid input for tags. Reason: "
                               "a list of tags is required.");
        }
        if (tags->u.array.len > MAX_TAGS) {
            return bad_request("%s", "Invalid input for tags. Reason: "
                               "too many tags (at most 50).");
        }
        a.tags = xcalloc(tags->u.array.len + 1, sizeof *a.tags);
        for (size_t i = 0; i < tags->u.array.len && !error; i++) {
            yajl_val t = tags->u.array.values[i];
            if (!YAJL_IS_STRING(t)) {
                error = bad_request("%s", "Invalid input for tags. Reason: "
                                    "tags must be strings.");
                break;
            }
            error = check_tag(t->u.string);
            a.tags[a.n_tags++] = t->u.string;
        }
    } else {
        a.remove = true;
        a.tag = tag;
    }
    if (!error) {
        error = txn_run(&ctx, true, tags_in_txn, &a);
    }
    if (!error) {
        if (a.remove) {
            req->status = 204;
        } else if (a.tag) {
            req->status = 201;
        } else {
            int idx = resource_attr_index(def, "tags");
            yajl_gen_map_open(req->out);
            json_key(req->out, "tags");
            render_value(req->out, &a.obj->v[idx]);
            yajl_gen_map_close(req->out);
        }
    }
    free(a.tags);
    res_obj_destroy(a.obj);
    return error;
}

/* ---- Routes ---- */

static struct neutron_error *
collection_handler(struct api_request *req, const void *aux)
{
    return req->method == API_GET ? handle_list(req, aux)
                                  : handle_create(req, aux);
}

static struct neutron_error *
member_handler(struct api_request *req, const void *aux)
{
    switch (req->method) {
    case API_GET:
        return handle_show(req, aux);
    case API_PUT:
        return handle_update(req, aux);
    default:
        return handle_delete(req, aux);
    }
}

static struct neutron_error *
tags_handler(struct api_request *req, const void *aux)
{
    return handle_tags(req, aux);
}

void
api_resource_register(const struct resource_def *def)
{
    struct api_route *routes = xcalloc(4, sizeof *routes);
    struct api_resource_link *link = xzalloc(sizeof *link);
    size_t n = 0;

    routes[n++] = (struct api_route) {
        xasprintf("/v2.0/%s", def->plural), API_GET | API_POST,
        collection_handler, def };
    routes[n++] = (struct api_route) {
        xasprintf("/v2.0/%s/{}", def->plural), API_GET | API_PUT | API_DELETE,
        member_handler, def };
    if (def->tags) {
        routes[n++] = (struct api_route) {
            xasprintf("/v2.0/%s/{}/tags", def->plural),
            API_GET | API_PUT | API_DELETE, tags_handler, def };
        routes[n++] = (struct api_route) {
            xasprintf("/v2.0/%s/{}/tags/{}", def->plural),
            API_GET | API_PUT | API_DELETE, tags_handler, def };
    }
    api_routes_register(routes, n);
    link->name = def->singular;
    link->collection = def->plural;
    api_resources_register(link, 1);
}
