/* core/store.c: see store.h.  Every statement is prepared with '?'
 * parameters; attribute names never reach SQL unless they come from the
 * static attribute tables. */
#include "core/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"

void
sql_init(struct sql_buf *b)
{
    memset(b, 0, sizeof *b);
}

void
sql_destroy(struct sql_buf *b)
{
    for (size_t i = 0; i < b->n_params; i++) {
        free(b->params[i].text);
    }
    free(b->params);
    free(b->text);
    memset(b, 0, sizeof *b);
}

static void
sql_reserve(struct sql_buf *b, size_t more)
{
    if (b->len + more + 1 > b->cap) {
        b->cap = (b->len + more + 1) * 2;
        b->text = xrealloc(b->text, b->cap);
    }
}

void
sql_add(struct sql_buf *b, const char *text)
{
    size_t n = strlen(text);
    sql_reserve(b, n);
    memcpy(b->text + b->len, text, n + 1);
    b->len += n;
}

void
sql_addf(struct sql_buf *b, const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    if (vasprintf(&s, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    sql_add(b, s);
    free(s);
}

static struct sql_param *
sql_new_param(struct sql_buf *b)
{
    if (b->n_params == b->cap_params) {
        b->cap_params = b->cap_params ? b->cap_params * 2 : 8;
        b->params = xrealloc(b->params, b->cap_params * sizeof *b->params);
    }
    struct sql_param *p = &b->params[b->n_params++];
    memset(p, 0, sizeof *p);
    return p;
}

void
sql_param(struct sql_buf *b, const char *value)
{
    sql_new_param(b)->text = value ? xstrdup(value) : NULL;
}

void
sql_param_int(struct sql_buf *b, int64_t i)
{
    struct sql_param *p = sql_new_param(b);
    p->is_int = true;
    p->i = i;
}

void
sql_param_value(struct sql_buf *b, const struct value *v)
{
    switch (v->kind) {
    case VALUE_STRING:
    case VALUE_RAW:
        sql_param(b, v->s);
        break;
    case VALUE_INT:
        sql_param_int(b, v->i);
        break;
    case VALUE_BOOL:
        sql_param_int(b, v->b);
        break;
    case VALUE_UNSET:
    case VALUE_NULL:
    case VALUE_TREE:
        sql_param(b, NULL);
        break;
    }
}

/* 1, 4, 16 or 64 values, then the next power of two: page-sized lists
 * (the expand queries of a page of up to 50 rows) come in 4 lengths, not
 * 8, so a soak meets them all soon (MariaDB: each statement a connection
 * caches holds some 18 KB of Connector/C memory); large lists, read in
 * chunks of a few hundred, pad by at most half. */
static size_t
in_list_bucket(size_t n)
{
    size_t bucket = 128;

    if (n <= 64) {
        return n <= 1 ? n : n <= 4 ? 4 : n <= 16 ? 16 : 64;
    }
    while (bucket < n) {
        bucket *= 2;
    }
    return bucket;
}

void
sql_in_pad(struct sql_buf *b, size_t n)
{
    if (!n || n > b->n_params) {
        return;
    }
    struct sql_param last = b->params[b->n_params - 1];
    for (size_t i = n; i < in_list_bucket(n); i++) {
        sql_add(b, ", ?");
        if (last.is_int) {
            sql_param_int(b, last.i);
        } else {
            sql_param(b, last.text);
        }
    }
}

void
sql_param_list(struct sql_buf *b, char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sql_add(b, i ? ", ?" : "?");
        sql_param(b, values[i]);
    }
    sql_in_pad(b, n);
}

struct db_stmt *
sql_prepare(struct db *db, const struct sql_buf *b)
{
    struct db_stmt *stmt = db_prepare(db, b->text);

    if (!stmt) {
        return NULL;
    }
    for (size_t i = 0; i < b->n_params; i++) {
        if (b->params[i].is_int) {
            db_bind_int64(stmt, i + 1, b->params[i].i);
        } else {
            db_bind_text(stmt, i + 1, b->params[i].text);
        }
    }
    return stmt;
}

void
list_query_destroy(struct list_query *q)
{
    for (size_t i = 0; i < q->n_filters; i++) {
        for (size_t j = 0; j < q->filters[i].n_values; j++) {
            free(q->filters[i].values[j]);
        }
        free(q->filters[i].values);
    }
    free(q->filters);
    free(q->sorts);
    free(q->marker);
    char **lists[] = { q->tags, q->tags_any, q->not_tags, q->not_tags_any };
    size_t ns[] = { q->n_tags, q->n_tags_any, q->n_not_tags,
                    q->n_not_tags_any };
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < ns[i]; j++) {
            free(lists[i][j]);
        }
        free(lists[i]);
    }
    memset(q, 0, sizeof *q);
}

void
res_list_destroy(struct res_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        res_obj_destroy(l->objs[i]);
    }
    free(l->objs);
    memset(l, 0, sizeof *l);
}

struct neutron_error *
store_db_error(struct db *db, int rc, const char *what)
{
    /* A lost connection inside a transaction is worth one more run (it
     * reconnects at the next BEGIN); outside one, the server is away: 503
     * until it is back.  Callers that only kept "it failed" pass DB_ERROR,
     * so the connection tells. */
    if (rc == DB_RETRY || (db_connection_lost(db) && db_in_transaction(db))) {
        return neutron_error_create(NE_RETRY, NULL,
                                    "Database conflict while %s; retry.",
                                    what);
    }
    if (rc == DB_UNAVAILABLE || db_connection_lost(db)) {
        LOG_RL(LOG_LEVEL_WARN, "store", "%s: %s", what, db_errmsg(db));
        return neutron_error_create(NE_UNAVAILABLE, NULL,
                                    "The database is unavailable while %s; "
                                    "try again later.", what);
    }
    LOG_RL(LOG_LEVEL_ERR, "store", "%s: %s", what, db_errmsg(db));
    return neutron_error_internal("Request Failed: internal server error "
                                  "while %s.", what);
}

/* True if attribute 'i' is the first one stored in its column (project_id
 * and tenant_id share one). */
static bool
first_of_column(const struct resource_def *def, size_t i)
{
    if (!def->attrs[i].column) {
        return false;
    }
    for (size_t j = 0; j < i; j++) {
        if (def->attrs[j].column
            && !strcmp(def->attrs[j].column, def->attrs[i].column)) {
            return false;
        }
    }
    return true;
}

/* The position of attribute 'attr' among the columns add_select()
 * reads. */
static size_t
column_position(const struct resource_def *def, int attr)
{
    size_t pos = 0;

    for (int i = 0; i < attr; i++) {
        pos += def->attrs[i].column != NULL;
    }
    return pos;
}

/* "SELECT t.a, t.b ... FROM table t"; 'aliased' names the columns c0, c1
 * ... (a derived table may not repeat a name, and project_id is read for
 * tenant_id too). */
static void
add_select_columns(struct sql_buf *b, const struct resource_def *def,
                   bool aliased)
{
    size_t n = 0;

    sql_add(b, "SELECT ");
    for (size_t i = 0; i < def->n_attrs; i++) {
        if (def->attrs[i].column) {
            sql_addf(b, "%st.%s", n ? ", " : "", def->attrs[i].column);
            if (aliased) {
                sql_addf(b, " AS c%zu", n);
            }
            n++;
        }
    }
    sql_addf(b, " FROM %s t", def->table);
}

static void
add_select(struct sql_buf *b, const struct resource_def *def)
{
    add_select_columns(b, def, false);
}

/* Reads the current row of 'stmt', selected by add_select(). */
static struct res_obj *
row_to_obj(const struct resource_def *def, struct db_stmt *stmt)
{
    struct res_obj *obj = res_obj_create(def);
    int col = 0;

    for (size_t i = 0; i < def->n_attrs; i++) {
        const struct attr_def *a = &def->attrs[i];
        struct value *v = &obj->v[i];
        if (!a->column) {
            continue;
        }
        if (db_col_is_null(stmt, col)) {
            value_set_null(v);
        } else if (a->type == AT_BOOL) {
            value_set_bool(v, db_col_int64(stmt, col) != 0);
        } else if (a->type == AT_INT) {
            value_set_int(v, db_col_int64(stmt, col));
        } else if (a->type == AT_JSON) {
            value_set_raw(v, db_col_text(stmt, col));
        } else {
            value_set_str(v, db_col_text(stmt, col));
        }
        col++;
    }
    return obj;
}

/* Appends " AND (cond)", each "?" of 'cond' bound to the caller's
 * project. */
static void
add_condition(struct sql_buf *b, const char *cond, const struct op_ctx *ctx)
{
    sql_addf(b, " AND (%s)", cond);
    for (const char *p = cond; *p; p++) {
        if (*p == '?') {
            sql_param(b, ctx->auth.project_id);
        }
    }
}

static void
add_visibility(struct sql_buf *b, const struct resource_def *def,
               const struct op_ctx *ctx)
{
    if (!ctx || ctx->auth.is_admin) {
        return;
    }
    add_condition(b, def->visible_sql ? def->visible_sql
                                      : "t.project_id = ?", ctx);
}

/* Runs 'b' and collects the rows.  Returns NULL or an error. */
static struct neutron_error *
collect_rows(struct db *db, const struct resource_def *def,
             const struct sql_buf *b, struct res_list *out)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    size_t cap = 0;
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, "preparing a query");
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->objs = xrealloc(out->objs, cap * sizeof *out->objs);
        }
        out->objs[out->n++] = row_to_obj(def, stmt);
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        return store_db_error(db, rc, "reading rows");
    }
    return NULL;
}

/* Fills the computed attributes: tags here, the rest by the resource. */
static struct neutron_error *
expand(struct db *db, const struct resource_def *def, struct res_obj **objs,
       size_t n)
{
    struct neutron_error *error = NULL;

    if (!n) {
        return NULL;
    }
    if (def->tags) {
        error = store_tags_load(db, objs, n);
    }
    if (!error && def->ops && def->ops->expand) {
        error = def->ops->expand(db, objs, n);
    }
    return error;
}

struct neutron_error *
store_get(struct db *db, const struct resource_def *def,
          const struct op_ctx *ctx, const char *id, struct res_obj **out)
{
    struct res_list list = { 0 };
    struct neutron_error *error;
    struct sql_buf b;

    *out = NULL;
    sql_init(&b);
    add_select(&b, def);
    sql_add(&b, " WHERE t.id = ?");
    sql_param(&b, id);
    add_visibility(&b, def, ctx);
    error = collect_rows(db, def, &b, &list);
    sql_destroy(&b);
    if (!error && !list.n) {
        error = neutron_error_create(NE_NOT_FOUND, def->not_found,
                                     "%s %s could not be found.",
                                     def->display, id);
    }
    if (!error) {
        error = expand(db, def, list.objs, 1);
    }
    if (!error) {
        *out = list.objs[0];
        list.objs[0] = NULL;
        list.n = 0;
    }
    res_list_destroy(&list);
    return error;
}

static struct neutron_error *
add_filters(struct sql_buf *b, const struct resource_def *def,
            const struct list_query *q)
{
    for (size_t i = 0; i < q->n_filters; i++) {
        const struct list_filter *f = &q->filters[i];
        const struct attr_def *a = &def->attrs[f->attr];

        if (!a->column) {
            sql_add(b, " AND ");
            if (!def->ops || !def->ops->filter_sql
                || !def->ops->filter_sql(a, f->values, f->n_values, b)) {
                return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                            "[%s] is invalid attribute for "
                                            "filtering", a->name);
            }
            continue;
        }
        sql_addf(b, " AND t.%s IN (", a->column);
        for (size_t j = 0; j < f->n_values; j++) {
            struct value v = { 0 };
            sql_add(b, j ? ", ?" : "?");
            if (a->type == AT_BOOL || a->type == AT_INT) {
                struct neutron_error *e = resource_convert_text(
                    a, f->values[j], &v);
                if (e) {
                    return e;
                }
                sql_param_value(b, &v);
            } else {
                sql_param(b, f->values[j]);
            }
            value_clear(&v);
        }
        sql_in_pad(b, f->n_values);
        sql_add(b, ")");
    }
    return NULL;
}

static void
add_tag_filters(struct sql_buf *b, const struct list_query *q)
{
    static const char exists[] =
        "EXISTS (SELECT 1 FROM tags g WHERE g.resource_id = t.id AND g.tag";

    if (q->n_tags) {
        sql_add(b, " AND (1 = 1");
        for (size_t i = 0; i < q->n_tags; i++) {
            sql_addf(b, " AND %s = ?)", exists);
            sql_param(b, q->tags[i]);
        }
        sql_add(b, ")");
    }
    if (q->n_tags_any) {
        sql_addf(b, " AND %s IN (", exists);
        sql_param_list(b, q->tags_any, q->n_tags_any);
        sql_add(b, "))");
    }
    if (q->n_not_tags) {
        sql_add(b, " AND NOT (1 = 1");
        for (size_t i = 0; i < q->n_not_tags; i++) {
            sql_addf(b, " AND %s = ?)", exists);
            sql_param(b, q->not_tags[i]);
        }
        sql_add(b, ")");
    }
    if (q->n_not_tags_any) {
        sql_addf(b, " AND NOT %s IN (", exists);
        sql_param_list(b, q->not_tags_any, q->n_not_tags_any);
        sql_add(b, "))");
    }
}

/* The sort keys: the query's, then id. */
static size_t
sort_keys(const struct resource_def *def, const struct list_query *q,
          struct list_sort *keys)
{
    int id = resource_attr_index(def, "id");
    size_t n = 0;
    bool has_id = false;

    for (size_t i = 0; q && i < q->n_sorts && n < 8; i++) {
        keys[n++] = q->sorts[i];
        has_id |= q->sorts[i].attr == id;
    }
    if (!has_id) {
        keys[n].attr = id;
        keys[n].desc = n ? keys[0].desc : false;
        n++;
    }
    return n;
}

/* Loads the row of the marker into '*marker' (a list of one). */
static struct neutron_error *
load_marker(struct db *db, const struct resource_def *def,
            const struct list_query *q, struct res_list *marker)
{
    struct neutron_error *error;
    struct sql_buf mb;

    sql_init(&mb);
    add_select(&mb, def);
    sql_add(&mb, " WHERE t.id = ?");
    sql_param(&mb, q->marker);
    error = collect_rows(db, def, &mb, marker);
    sql_destroy(&mb);
    if (!error && !marker->n) {
        error = neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                     "Marker %s could not be found.",
                                     q->marker);
    }
    return error;
}

/* Rows after 'marker' in the order of 'keys'. */
static void
add_marker(struct sql_buf *b, const struct resource_def *def,
           const struct list_query *q, const struct list_sort *keys,
           size_t n_keys, const struct res_obj *marker)
{
    sql_add(b, " AND (");
    for (size_t i = 0; i < n_keys; i++) {
        sql_add(b, i ? " OR (" : "(");
        for (size_t j = 0; j < i; j++) {
            sql_addf(b, "t.%s = ? AND ", def->attrs[keys[j].attr].column);
            sql_param_value(b, &marker->v[keys[j].attr]);
        }
        bool desc = keys[i].desc != q->page_reverse;
        sql_addf(b, "t.%s %s ?)", def->attrs[keys[i].attr].column,
                 desc ? "<" : ">");
        sql_param_value(b, &marker->v[keys[i].attr]);
    }
    sql_add(b, ")");
}

/* " ORDER BY" the 'keys' (columns of alias "t", or the aliases of
 * add_select_columns()) and the LIMIT of 'q' (one more row, to tell
 * whether there is more). */
static void
add_order_limit(struct sql_buf *b, const struct resource_def *def,
                const struct list_query *q, const struct list_sort *keys,
                size_t n_keys, bool aliases)
{
    bool reverse = q && q->page_reverse;

    sql_add(b, " ORDER BY ");
    for (size_t i = 0; i < n_keys; i++) {
        if (aliases) {
            sql_addf(b, "%sc%zu", i ? ", " : "",
                     column_position(def, keys[i].attr));
        } else {
            sql_addf(b, "%st.%s", i ? ", " : "",
                     def->attrs[keys[i].attr].column);
        }
        sql_addf(b, " %s", keys[i].desc != reverse ? "DESC" : "ASC");
    }
    if (q && q->limit) {
        sql_add(b, " LIMIT ?");
        sql_param_int(b, q->limit + 1);
    }
}

/* One SELECT of a list: the rows of 'def' that meet 'cond' (NULL: the
 * caller's visibility) and the query's filters, after the marker. */
static struct neutron_error *
add_list_select(struct sql_buf *b, const struct resource_def *def,
                const struct op_ctx *ctx, const char *cond,
                const struct list_query *q, const struct list_sort *keys,
                size_t n_keys, const struct res_obj *marker)
{
    struct neutron_error *error = NULL;

    add_select_columns(b, def, cond != NULL);
    sql_add(b, " WHERE 1 = 1");
    if (cond) {
        add_condition(b, cond, ctx);
    } else {
        add_visibility(b, def, ctx);
    }
    if (q) {
        error = add_filters(b, def, q);
        if (!error) {
            add_tag_filters(b, q);
        }
        if (!error && marker) {
            add_marker(b, def, q, keys, n_keys, marker);
        }
    }
    return error;
}

struct neutron_error *
store_list(struct db *db, const struct resource_def *def,
           const struct op_ctx *ctx, const struct list_query *q,
           struct res_list *out)
{
    struct list_sort keys[9];
    size_t n_keys = sort_keys(def, q, keys);
    struct res_list marker = { 0 };
    struct neutron_error *error = NULL;
    struct sql_buf b;

    memset(out, 0, sizeof *out);
    sql_init(&b);
    if (q && q->marker) {
        error = load_marker(db, def, q, &marker);
        if (error) {
            goto out;
        }
    }
    const struct res_obj *mk = marker.n ? marker.objs[0] : NULL;
    if (ctx && !ctx->auth.is_admin && def->visible_parts && q && q->limit
        && !q->n_filters && !q->n_tags && !q->n_tags_any && !q->n_not_tags
        && !q->n_not_tags_any) {
        /* A page of what one may see through an OR of conditions: each
         * part is a page of its own, read in the order of an index, and
         * the page is the first rows of their union.  With the OR, the
         * database read and sorted every visible row for every page.  A
         * filtered list keeps the OR: with a part alone, SQLite (without
         * statistics) walked the part's index in order rather than the
         * filter's index (device_id: 0.13 ms became 9.7 ms). */
        for (size_t i = 0; def->visible_parts[i]; i++) {
            sql_add(&b, i ? " UNION ALL SELECT * FROM (" : "SELECT * FROM (");
            error = add_list_select(&b, def, ctx, def->visible_parts[i], q,
                                    keys, n_keys, mk);
            if (error) {
                goto out;
            }
            add_order_limit(&b, def, q, keys, n_keys, false);
            sql_addf(&b, ") u%zu", i);
        }
        add_order_limit(&b, def, q, keys, n_keys, true);
    } else {
        error = add_list_select(&b, def, ctx, NULL, q, keys, n_keys, mk);
        if (error) {
            goto out;
        }
        add_order_limit(&b, def, q, keys, n_keys, false);
    }
    error = collect_rows(db, def, &b, out);
    if (error) {
        goto out;
    }
    if (q && q->limit && out->n > q->limit) {
        res_obj_destroy(out->objs[--out->n]);
        out->more = true;
    }
    if (q && q->page_reverse) {
        for (size_t i = 0; i < out->n / 2; i++) {
            struct res_obj *tmp = out->objs[i];
            out->objs[i] = out->objs[out->n - 1 - i];
            out->objs[out->n - 1 - i] = tmp;
        }
    }
    error = expand(db, def, out->objs, out->n);
out:
    res_list_destroy(&marker);
    sql_destroy(&b);
    if (error) {
        res_list_destroy(out);
    }
    return error;
}

int
store_count(struct db *db, const char *table, const char *column,
            const char *value, int64_t *count)
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_addf(&b, "SELECT COUNT(*) FROM %s WHERE %s = ?", table, column);
    sql_param(&b, value);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        *count = db_col_int64(stmt, 0);
        rc = DB_OK;
    }
    db_reset(stmt);
    return rc;
}

static struct neutron_error *
run(struct db *db, const struct sql_buf *b, const char *what,
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
        return neutron_error_create(NE_CONFLICT, NULL,
                                    "Conflict while %s.", what);
    }
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, what);
    }
    return NULL;
}

struct neutron_error *
store_insert(struct db *db, const struct res_obj *obj)
{
    const struct resource_def *def = obj->def;
    struct neutron_error *error;
    struct sql_buf b;
    size_t n = 0;

    sql_init(&b);
    sql_addf(&b, "INSERT INTO %s (", def->table);
    for (size_t i = 0; i < def->n_attrs; i++) {
        if (first_of_column(def, i)) {
            sql_addf(&b, "%s%s", n++ ? ", " : "", def->attrs[i].column);
        }
    }
    sql_add(&b, ") VALUES (");
    n = 0;
    for (size_t i = 0; i < def->n_attrs; i++) {
        if (first_of_column(def, i)) {
            sql_add(&b, n++ ? ", ?" : "?");
            sql_param_value(&b, &obj->v[i]);
        }
    }
    sql_add(&b, ")");
    error = run(db, &b, "inserting a row", NULL);
    sql_destroy(&b);
    return error;
}

static void
bump_revision(struct res_obj *obj, char now[TIMESTAMP_LEN])
{
    int rev = resource_attr_index(obj->def, "revision_number");
    int upd = resource_attr_index(obj->def, "updated_at");

    timestamp_now(now);
    if (rev >= 0) {
        value_set_int(&obj->v[rev], obj->v[rev].kind == VALUE_INT
                                    ? obj->v[rev].i + 1 : 1);
    }
    if (upd >= 0) {
        value_set_str(&obj->v[upd], now);
    }
}

struct neutron_error *
store_update(struct db *db, struct res_obj *obj, const bool *changed)
{
    const struct resource_def *def = obj->def;
    int id = resource_attr_index(def, "id");
    struct neutron_error *error;
    char now[TIMESTAMP_LEN];
    struct sql_buf b;

    bump_revision(obj, now);
    sql_init(&b);
    sql_addf(&b, "UPDATE %s SET revision_number = revision_number + 1, "
             "updated_at = ?", def->table);
    sql_param(&b, now);
    for (size_t i = 0; i < def->n_attrs; i++) {
        if (changed && changed[i] && first_of_column(def, i)
            && strcmp(def->attrs[i].column, "revision_number")
            && strcmp(def->attrs[i].column, "updated_at")) {
            sql_addf(&b, ", %s = ?", def->attrs[i].column);
            sql_param_value(&b, &obj->v[i]);
        }
    }
    sql_add(&b, " WHERE id = ?");
    sql_param(&b, value_str(&obj->v[id]));
    error = run(db, &b, "updating a row", NULL);
    sql_destroy(&b);
    return error;
}

struct neutron_error *
store_touch(struct db *db, struct res_obj *obj)
{
    return store_update(db, obj, NULL);
}

struct neutron_error *
store_delete(struct db *db, const struct resource_def *def, const char *id)
{
    struct neutron_error *error = NULL;
    struct sql_buf b;

    if (def->tags) {
        sql_init(&b);
        sql_add(&b, "DELETE FROM tags WHERE resource_id = ?");
        sql_param(&b, id);
        error = run(db, &b, "deleting tags", NULL);
        sql_destroy(&b);
    }
    if (!error) {
        sql_init(&b);
        sql_addf(&b, "DELETE FROM %s WHERE id = ?", def->table);
        sql_param(&b, id);
        error = run(db, &b, "deleting a row", NULL);
        sql_destroy(&b);
    }
    return error;
}

struct neutron_error *
store_fill_new(const struct op_ctx *ctx, struct res_obj *obj)
{
    const struct resource_def *def = obj->def;
    int id = resource_attr_index(def, "id");
    int project = resource_attr_index(def, "project_id");
    int tenant = resource_attr_index(def, "tenant_id");
    char uuid[UUID_STR_LEN], now[TIMESTAMP_LEN];
    const char *owner = NULL;

    if (id >= 0 && !value_str(&obj->v[id])) {
        uuid_new(uuid);
        value_set_str(&obj->v[id], uuid);
    }
    if (project >= 0) {
        const char *p = value_str(&obj->v[project]);
        const char *t = tenant >= 0 ? value_str(&obj->v[tenant]) : NULL;
        if (p && t && strcmp(p, t)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'project_id' and 'tenant_id' do "
                                        "not match");
        }
        owner = p ? p : t;
        if (owner && !ctx->auth.is_admin
            && strcmp(owner, ctx->auth.project_id)) {
            return neutron_error_create(
                NE_BAD_REQUEST, "HTTPBadRequest",
                "Specifying 'project_id' or 'tenant_id' other than the "
                "authenticated project in request requires admin "
                "privileges");
        }
        if (!owner) {
            owner = ctx->auth.project_id;
        }
        if (!*owner) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "Running without keystone AuthN "
                                        "requires that tenant_id is "
                                        "specified");
        }
        char *copy = xstrdup(owner);
        value_set_str(&obj->v[project], copy);
        if (tenant >= 0) {
            value_set_str(&obj->v[tenant], copy);
        }
        free(copy);
    }
    timestamp_now(now);
    static const char *const stamps[] = { "created_at", "updated_at" };
    for (size_t i = 0; i < ARRAY_SIZE(stamps); i++) {
        int idx = resource_attr_index(def, stamps[i]);
        if (idx >= 0) {
            value_set_str(&obj->v[idx], now);
        }
    }
    int rev = resource_attr_index(def, "revision_number");
    if (rev >= 0) {
        value_set_int(&obj->v[rev], 0);
    }
    int desc = resource_attr_index(def, "description");
    if (desc >= 0 && !value_str(&obj->v[desc])) {
        value_set_str(&obj->v[desc], "");
    }
    int tags = resource_attr_index(def, "tags");
    if (tags >= 0) {
        value_set_raw(&obj->v[tags], "[]");
    }
    return NULL;
}

struct neutron_error *
store_check_revision(const struct res_obj *obj, int64_t if_match)
{
    int rev = resource_attr_index(obj->def, "revision_number");

    if (if_match < 0 || rev < 0 || obj->v[rev].i == if_match) {
        return NULL;
    }
    return neutron_error_create(NE_PRECONDITION_FAILED,
                                "RevisionNumberConstraintFailed",
                                "Constrained to %lld, but current revision "
                                "is %lld", (long long) if_match,
                                (long long) obj->v[rev].i);
}

/* Appends 's' to the JSON array text in 'buf'. */
static void
json_array_add(char **buf, size_t *len, const char *s)
{
    size_t need = strlen(s) * 6 + 4;
    *buf = xrealloc(*buf, *len + need + 2);
    char *p = *buf + *len;
    if (*len > 1) {
        *p++ = ',';
    }
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;
        } else if (c < 0x20) {
            p += snprintf(p, 7, "\\u%04x", c);
        } else {
            *p++ = c;
        }
    }
    *p++ = '"';
    *p = '\0';
    *len = p - *buf;
}

struct neutron_error *
store_tags_load(struct db *db, struct res_obj **objs, size_t n)
{
    const struct resource_def *def = objs[0]->def;
    int id = resource_attr_index(def, "id");
    int tags = resource_attr_index(def, "tags");

    for (size_t start = 0; start < n; start += 500) {
        size_t end = start + 500 < n ? start + 500 : n;
        char **bufs = xcalloc(end - start, sizeof *bufs);
        size_t *lens = xcalloc(end - start, sizeof *lens);
        struct sql_buf b;
        int rc;

        sql_init(&b);
        sql_add(&b, "SELECT resource_id, tag FROM tags WHERE resource_id IN (");
        for (size_t i = start; i < end; i++) {
            sql_add(&b, i > start ? ", ?" : "?");
            sql_param(&b, value_str(&objs[i]->v[id]));
            bufs[i - start] = xstrdup("[");
            lens[i - start] = 1;
        }
        sql_in_pad(&b, end - start);
        sql_add(&b, ") ORDER BY resource_id, tag");
        struct db_stmt *stmt = sql_prepare(db, &b);
        sql_destroy(&b);
        if (!stmt) {
            rc = DB_ERROR;
        } else {
            /* Rows come sorted by id; match them to objects by id. */
            while ((rc = db_step(stmt)) == DB_ROW) {
                const char *rid = db_col_text(stmt, 0);
                for (size_t i = start; i < end; i++) {
                    if (!strcmp(rid, value_str(&objs[i]->v[id]))) {
                        json_array_add(&bufs[i - start], &lens[i - start],
                                       db_col_text(stmt, 1));
                        break;
                    }
                }
            }
            db_reset(stmt);
        }
        for (size_t i = start; i < end; i++) {
            char *s = xasprintf("%s]", bufs[i - start]);
            value_take_raw(&objs[i]->v[tags], s);
            free(bufs[i - start]);
        }
        free(bufs);
        free(lens);
        if (rc != DB_DONE) {
            return store_db_error(db, rc, "loading tags");
        }
    }
    return NULL;
}

struct neutron_error *
store_tag_add(struct db *db, const struct res_obj *obj, const char *tag)
{
    int id = resource_attr_index(obj->def, "id");
    struct sql_buf b;
    struct neutron_error *error;
    int64_t count = 0;

    sql_init(&b);
    sql_add(&b, "SELECT COUNT(*) FROM tags WHERE resource_id = ? AND tag = ?");
    sql_param(&b, value_str(&obj->v[id]));
    sql_param(&b, tag);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading tags");
    }
    int rc = db_step(stmt);
    if (rc == DB_ROW) {
        count = db_col_int64(stmt, 0);
    }
    db_reset(stmt);
    if (rc != DB_ROW) {
        return store_db_error(db, rc, "reading tags");
    }
    if (count) {
        return NULL;
    }
    sql_init(&b);
    sql_add(&b, "INSERT INTO tags (resource_id, resource_type, tag) "
            "VALUES (?, ?, ?)");
    sql_param(&b, value_str(&obj->v[id]));
    sql_param(&b, obj->def->singular);
    sql_param(&b, tag);
    error = run(db, &b, "adding a tag", NULL);
    sql_destroy(&b);
    return error;
}

struct neutron_error *
store_tag_remove(struct db *db, const struct res_obj *obj, const char *tag,
                 bool *found)
{
    int id = resource_attr_index(obj->def, "id");
    struct neutron_error *error;
    struct sql_buf b;
    int64_t changes = 0;

    sql_init(&b);
    if (tag) {
        sql_add(&b, "DELETE FROM tags WHERE resource_id = ? AND tag = ?");
        sql_param(&b, value_str(&obj->v[id]));
        sql_param(&b, tag);
    } else {
        sql_add(&b, "DELETE FROM tags WHERE resource_id = ?");
        sql_param(&b, value_str(&obj->v[id]));
    }
    error = run(db, &b, "removing tags", &changes);
    sql_destroy(&b);
    if (found) {
        *found = changes > 0;
    }
    return error;
}

struct neutron_error *
store_tags_set(struct db *db, const struct res_obj *obj, char *const *tags,
               size_t n)
{
    struct neutron_error *error = store_tag_remove(db, obj, NULL, NULL);

    for (size_t i = 0; !error && i < n; i++) {
        error = store_tag_add(db, obj, tags[i]);
    }
    return error;
}
