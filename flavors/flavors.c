/* flavors/flavors.c: the "flavors" and "service_profiles" resources, their
 * association, and flavors_resolve() (see flavors.h).
 *
 * Tables: flavors, serviceprofiles, flavorserviceprofilebindings.  As in
 * Neutron, neither resource has standard attributes (no revision, time
 * stamps or tags) and neither shows an owner; "service_profiles" of a
 * flavor lists the bound profiles' ids.  Policy as Neutron's defaults:
 * only admins write; flavors are readable by everyone (non-admins see the
 * enabled ones only), service profiles by admins only (404 for others).
 *
 * Where we differ from Neutron, on purpose:
 *   - a profile naming a driver that is not a configured provider is a
 *     400 ServiceProfileDriverNotFound (Neutron: 404), as the issue asks;
 *   - a flavor used by routers cannot be deleted (409 FlavorInUse; Neutron
 *     relies on a foreign key it does not always have);
 *   - "service_profiles" given on create or update binds exactly those
 *     profiles (Neutron accepts the attribute and ignores it);
 *   - flavors_resolve() refuses a disabled flavor or another service type
 *     with a 400 (Neutron's router plugin forgets to check), and takes the
 *     first ENABLED bound profile instead of failing on a disabled first
 *     one. */
#include "flavors/flavors.h"

#include <stdio.h>
#include <string.h>

#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"

/* Rows per IN (...) list when loading the bindings of many flavors. */
#define IN_CHUNK 500

/* ---- Attribute tables ---- */

enum {
    F_ID, F_NAME, F_DESCRIPTION, F_SERVICE_TYPE, F_ENABLED, F_PROFILES,
    F_PROJECT, F_TENANT, F_N_ATTRS
};

enum {
    P_ID, P_DESCRIPTION, P_DRIVER, P_METAINFO, P_ENABLED, P_PROJECT,
    P_TENANT, P_N_ATTRS
};

#define RW_LISTED (AF_POST | AF_PUT | AF_FILTER | AF_SORT)

static attr_validate_fn validate_service_type;
static attr_validate_fn validate_uuid_list;

/* project_id / tenant_id: accepted on create as Neutron does, neither
 * stored nor shown (Neutron's flavor and profile views have no owner). */
static const struct attr_def flavor_attrs[F_N_ATTRS] = {
    [F_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [F_NAME] = { "name", AT_STRING, RW_LISTED, "name", "\"\"", 0, 255,
                 NULL },
    [F_DESCRIPTION] = { "description", AT_STRING, RW_LISTED | AF_NULLABLE,
                        "description", "\"\"", 0, 1024, NULL },
    [F_SERVICE_TYPE] = { "service_type", AT_STRING,
                         AF_POST | AF_REQUIRED | AF_FILTER | AF_SORT,
                         "service_type", NULL, 0, 36,
                         validate_service_type },
    [F_ENABLED] = { "enabled", AT_BOOL, RW_LISTED, "enabled", "true", 0, 0,
                    NULL },
    [F_PROFILES] = { "service_profiles", AT_JSON, AF_POST | AF_PUT, NULL,
                     "[]", 0, 0, validate_uuid_list },
    [F_PROJECT] = { "project_id", AT_STRING, AF_POST | AF_PROJECT, NULL,
                    NULL, 0, 255, NULL },
    [F_TENANT] = { "tenant_id", AT_STRING, AF_POST | AF_PROJECT, NULL, NULL,
                   0, 255, NULL },
};

static const struct attr_def profile_attrs[P_N_ATTRS] = {
    [P_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [P_DESCRIPTION] = { "description", AT_STRING, RW_LISTED | AF_NULLABLE,
                        "description", "\"\"", 0, 1024, NULL },
    [P_DRIVER] = { "driver", AT_STRING, RW_LISTED | AF_NULLABLE, "driver",
                   "\"\"", 0, 1024, NULL },
    [P_METAINFO] = { "metainfo", AT_STRING,
                     AF_POST | AF_PUT | AF_SORT | AF_NULLABLE, "metainfo",
                     "\"\"", 0, 4096, NULL },
    [P_ENABLED] = { "enabled", AT_BOOL, RW_LISTED, "enabled", "true", 0, 0,
                    NULL },
    [P_PROJECT] = { "project_id", AT_STRING, AF_POST | AF_PROJECT, NULL,
                    NULL, 0, 255, NULL },
    [P_TENANT] = { "tenant_id", AT_STRING, AF_POST | AF_PROJECT, NULL, NULL,
                   0, 255, NULL },
};

static const struct resource_ops flavor_ops;
static const struct resource_ops profile_ops;

const struct resource_def l3_flavor_def = {
    .singular = "flavor",
    .plural = "flavors",
    .table = "flavors",
    .not_found = "FlavorNotFound",
    .display = "Flavor",
    .attrs = flavor_attrs,
    .n_attrs = F_N_ATTRS,
    .visible_sql = "t.enabled = 1",
    .tags = false,
    .ops = &flavor_ops,
};

const struct resource_def l3_service_profile_def = {
    .singular = "service_profile",
    .plural = "service_profiles",
    .table = "serviceprofiles",
    .not_found = "ServiceProfileNotFound",
    .display = "Service Profile",
    .attrs = profile_attrs,
    .n_attrs = P_N_ATTRS,
    .visible_sql = "1 = 0",
    .tags = false,
    .ops = &profile_ops,
};

/* ---- Validators ---- */

static struct neutron_error *
validate_service_type(const char *name, yajl_val v)
{
    if (YAJL_IS_STRING(v) && strcmp(v->u.string, FLAVORS_SERVICE_TYPE)) {
        return neutron_error_create(NE_BAD_REQUEST,
                                    "InvalidFlavorServiceType",
                                    "Invalid service type %.100s.",
                                    v->u.string);
    }
    return NULL;
}

static struct neutron_error *
validate_uuid_list(const char *name, yajl_val v)
{
    if (!YAJL_IS_ARRAY(v)) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Invalid input for %s. Reason: the "
                                    "value is not a list.", name);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val item = v->u.array.values[i];
        if (!YAJL_IS_STRING(item) || !uuid_is_valid(item->u.string)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "Invalid input for %s. Reason: "
                                        "'%.100s' is not a valid UUID.",
                                        name, YAJL_IS_STRING(item)
                                              ? item->u.string : "...");
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcasecmp(v->u.array.values[j]->u.string,
                            item->u.string)) {
                return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                            "Invalid input for %s. Reason: "
                                            "Duplicate items in the list: "
                                            "'%s'.", name, item->u.string);
            }
        }
    }
    return NULL;
}

/* ---- Small SQL helpers ---- */

/* Runs a statement that returns no rows; 'changes' may be NULL.  A
 * constraint failure becomes 'conflict' (not freed) or a generic 409. */
static struct neutron_error *
exec_sql(struct db *db, const struct sql_buf *b, const char *what,
         int64_t *changes, struct neutron_error *conflict)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    if (!stmt) {
        neutron_error_destroy(conflict);
        return store_db_error(db, DB_ERROR, what);
    }
    rc = db_step(stmt);
    if (changes) {
        *changes = db_changes(stmt);
    }
    db_reset(stmt);
    if (rc == DB_CONSTRAINT) {
        return conflict ? conflict
                        : neutron_error_create(NE_CONFLICT, NULL,
                                               "Conflict while %s.", what);
    }
    neutron_error_destroy(conflict);
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, what);
    }
    return NULL;
}

static struct neutron_error *
count_rows(struct db *db, const char *table, const char *column,
           const char *value, int64_t *n)
{
    int rc = store_count(db, table, column, value, n);

    return rc == DB_OK ? NULL : store_db_error(db, rc, "counting rows");
}

/* Takes the row's write lock before an in-use check, so that a concurrent
 * writer that depends on the row (a router choosing this flavor, a
 * binding) either commits first and is seen, or waits for us. */
static struct neutron_error *
lock_row(struct db *db, const char *table, const char *id)
{
    struct sql_buf b;
    struct neutron_error *error;

    sql_init(&b);
    sql_addf(&b, "UPDATE %s SET enabled = enabled WHERE id = ?", table);
    sql_param(&b, id);
    error = exec_sql(db, &b, "locking a row", NULL, NULL);
    sql_destroy(&b);
    return error;
}

static struct neutron_error *
forbidden(const char *rule)
{
    return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                "(rule:%s) is disallowed by policy", rule);
}

/* A description or metainfo given as null is stored as "". */
static void
null_to_empty(struct value *v)
{
    if (v->kind == VALUE_NULL) {
        value_set_str(v, "");
    }
}

/* ---- Bindings ---- */

/* A growing JSON array of strings that need no escaping (UUIDs). */
struct id_array {
    char *text;
    size_t len;
};

static void
id_array_add(struct id_array *a, const char *id)
{
    size_t n = strlen(id);

    a->text = xrealloc(a->text, a->len + n + 5);
    a->len += snprintf(a->text + a->len, n + 5, "%s\"%s\"",
                       a->len ? "," : "[", id);
}

static char *
id_array_finish(struct id_array *a)
{
    if (!a->len) {
        return xstrdup("[]");
    }
    a->text = xrealloc(a->text, a->len + 2);
    a->text[a->len++] = ']';
    a->text[a->len] = '\0';
    return a->text;
}

/* Fills "service_profiles" of 'n' flavors: one query per IN_CHUNK. */
static struct neutron_error *
flavor_expand(struct db *db, struct res_obj **objs, size_t n)
{
    struct id_array *lists = xcalloc(n ? n : 1, sizeof *lists);
    struct neutron_error *error = NULL;

    for (size_t start = 0; start < n && !error; start += IN_CHUNK) {
        size_t end = start + IN_CHUNK < n ? start + IN_CHUNK : n;
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "SELECT flavor_id, service_profile_id FROM "
                "flavorserviceprofilebindings WHERE flavor_id IN (");
        for (size_t i = start; i < end; i++) {
            sql_add(&b, i > start ? ", ?" : "?");
            sql_param(&b, value_str(&objs[i]->v[F_ID]));
        }
        sql_add(&b, ") ORDER BY flavor_id, service_profile_id");
        struct db_stmt *stmt = sql_prepare(db, &b);
        sql_destroy(&b);
        if (!stmt) {
            error = store_db_error(db, DB_ERROR, "loading flavor bindings");
            break;
        }
        int rc;
        while ((rc = db_step(stmt)) == DB_ROW) {
            const char *fid = db_col_text(stmt, 0);
            for (size_t i = start; i < end; i++) {
                if (!strcmp(value_str(&objs[i]->v[F_ID]), fid)) {
                    id_array_add(&lists[i], db_col_text(stmt, 1));
                    break;
                }
            }
        }
        db_reset(stmt);
        if (rc != DB_DONE) {
            error = store_db_error(db, rc, "loading flavor bindings");
        }
    }
    for (size_t i = 0; i < n; i++) {
        char *json = id_array_finish(&lists[i]);
        if (!error) {
            value_take_raw(&objs[i]->v[F_PROFILES], json);
        } else {
            free(json);
        }
    }
    free(lists);
    return error;
}

static struct neutron_error *
profile_exists(struct db *db, const char *id)
{
    int64_t n = 0;
    struct neutron_error *error = count_rows(db, "serviceprofiles", "id",
                                             id, &n);

    if (!error && !n) {
        error = neutron_error_create(NE_NOT_FOUND, "ServiceProfileNotFound",
                                     "Service Profile %s could not be "
                                     "found.", id);
    }
    return error;
}

static struct neutron_error *
insert_binding(struct db *db, const char *flavor_id, const char *profile_id)
{
    struct sql_buf b;
    struct neutron_error *error;

    sql_init(&b);
    sql_add(&b, "INSERT INTO flavorserviceprofilebindings "
            "(flavor_id, service_profile_id) VALUES (?, ?)");
    sql_param(&b, flavor_id);
    sql_param(&b, profile_id);
    error = exec_sql(db, &b, "binding a service profile", NULL,
                     neutron_error_create(
                         NE_CONFLICT, "FlavorServiceProfileBindingExists",
                         "Service Profile %s is already associated with "
                         "flavor %s.", profile_id, flavor_id));
    sql_destroy(&b);
    return error;
}

static struct neutron_error *
delete_bindings(struct db *db, const char *column, const char *id)
{
    struct sql_buf b;
    struct neutron_error *error;

    sql_init(&b);
    sql_addf(&b, "DELETE FROM flavorserviceprofilebindings WHERE %s = ?",
             column);
    sql_param(&b, id);
    error = exec_sql(db, &b, "removing service profile bindings", NULL,
                     NULL);
    sql_destroy(&b);
    return error;
}

/* Binds flavor 'id' to exactly the profiles of 'list' (a validated list
 * of UUIDs), each of which must exist. */
static struct neutron_error *
set_bindings(struct db *db, const char *id, yajl_val list, bool replace)
{
    struct neutron_error *error = NULL;

    if (replace) {
        error = delete_bindings(db, "flavor_id", id);
    }
    for (size_t i = 0; !error && i < list->u.array.len; i++) {
        char sp[UUID_STR_LEN];
        const char *given = list->u.array.values[i]->u.string;
        for (int k = 0; k < UUID_STR_LEN; k++) {
            sp[k] = given[k] >= 'A' && given[k] <= 'F'
                    ? given[k] - 'A' + 'a' : given[k];
        }
        error = profile_exists(db, sp);
        if (!error) {
            error = insert_binding(db, id, sp);
        }
    }
    return error;
}

/* ---- Flavors ---- */

static void
hide_owner(struct res_obj *obj, int project, int tenant)
{
    value_clear(&obj->v[project]);
    value_clear(&obj->v[tenant]);
}

static struct neutron_error *
flavor_create(const struct op_ctx *ctx, const struct res_obj *body,
              struct res_obj **out)
{
    struct neutron_error *error;
    char id[UUID_STR_LEN];
    struct res_obj *obj;

    *out = NULL;
    if (!ctx->auth.is_admin) {
        return forbidden("create_flavor");
    }
    obj = res_obj_clone(body);
    hide_owner(obj, F_PROJECT, F_TENANT);
    uuid_new(id);
    value_set_str(&obj->v[F_ID], id);
    null_to_empty(&obj->v[F_DESCRIPTION]);
    error = store_insert(ctx->db, obj);
    if (!error && obj->v[F_PROFILES].kind == VALUE_TREE) {
        error = set_bindings(ctx->db, id, obj->v[F_PROFILES].tree, false);
    }
    if (!error) {
        error = flavor_expand(ctx->db, &obj, 1);
    }
    if (error) {
        res_obj_destroy(obj);
        return error;
    }
    *out = obj;
    return NULL;
}

static struct neutron_error *
flavor_update(const struct op_ctx *ctx, struct res_obj *cur,
              const struct res_obj *body, struct res_obj **out)
{
    static const int columns[] = { F_NAME, F_DESCRIPTION, F_ENABLED };
    struct neutron_error *error = NULL;
    const char *id = value_str(&cur->v[F_ID]);
    struct sql_buf b;
    size_t n = 0;

    *out = NULL;
    sql_init(&b);
    sql_add(&b, "UPDATE flavors SET ");
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        int a = columns[i];
        if (value_is_set(&body->v[a])) {
            value_copy(&cur->v[a], &body->v[a]);
            null_to_empty(&cur->v[a]);
            sql_addf(&b, "%s%s = ?", n++ ? ", " : "", flavor_attrs[a].column);
            sql_param_value(&b, &cur->v[a]);
        }
    }
    sql_add(&b, " WHERE id = ?");
    sql_param(&b, id);
    if (n) {
        error = exec_sql(ctx->db, &b, "updating a flavor", NULL, NULL);
    }
    sql_destroy(&b);
    if (!error && body->v[F_PROFILES].kind == VALUE_TREE) {
        error = set_bindings(ctx->db, id, body->v[F_PROFILES].tree, true);
    }
    if (!error) {
        error = flavor_expand(ctx->db, &cur, 1);
    }
    if (!error) {
        *out = res_obj_clone(cur);
    }
    return error;
}

static struct neutron_error *
flavor_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = value_str(&cur->v[F_ID]);
    struct neutron_error *error;
    int64_t routers = 0;

    error = lock_row(ctx->db, "flavors", id);
    if (!error) {
        error = count_rows(ctx->db, "routers", "flavor_id", id, &routers);
    }
    if (!error && routers) {
        error = neutron_error_create(NE_CONFLICT, "FlavorInUse",
                                     "Flavor %s is used by some service "
                                     "instance.", id);
    }
    if (!error) {
        error = delete_bindings(ctx->db, "flavor_id", id);
    }
    if (!error) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "DELETE FROM flavors WHERE id = ?");
        sql_param(&b, id);
        error = exec_sql(ctx->db, &b, "deleting a flavor", NULL,
                         neutron_error_create(NE_CONFLICT, "FlavorInUse",
                                              "Flavor %s is used by some "
                                              "service instance.", id));
        sql_destroy(&b);
    }
    return error;
}

static const struct resource_ops flavor_ops = {
    .create = flavor_create,
    .update = flavor_update,
    .remove = flavor_remove,
    .expand = flavor_expand,
};

/* ---- Service profiles ---- */

static struct neutron_error *
check_driver(const char *driver)
{
    if (driver && *driver && !l3_provider_find_driver(driver)) {
        return neutron_error_create(NE_BAD_REQUEST,
                                    "ServiceProfileDriverNotFound",
                                    "Service Profile driver %.200s could "
                                    "not be found.", driver);
    }
    return NULL;
}

static struct neutron_error *
profile_empty(void)
{
    return neutron_error_create(NE_BAD_REQUEST, "ServiceProfileEmpty",
                                "Service Profile needs either a driver or "
                                "metainfo.");
}

static bool
is_empty(const struct value *v)
{
    const char *s = value_str(v);

    return !s || !*s;
}

static struct neutron_error *
profile_in_use(const char *id)
{
    return neutron_error_create(NE_CONFLICT, "ServiceProfileInUse",
                                "Service Profile %s is used by some service "
                                "instance.", id);
}

static struct neutron_error *
profile_create(const struct op_ctx *ctx, const struct res_obj *body,
               struct res_obj **out)
{
    struct neutron_error *error;
    char id[UUID_STR_LEN];
    struct res_obj *obj;

    *out = NULL;
    if (!ctx->auth.is_admin) {
        return forbidden("create_service_profile");
    }
    if (!is_empty(&body->v[P_DRIVER])) {
        error = check_driver(value_str(&body->v[P_DRIVER]));
    } else {
        error = is_empty(&body->v[P_METAINFO]) ? profile_empty() : NULL;
    }
    if (error) {
        return error;
    }
    obj = res_obj_clone(body);
    hide_owner(obj, P_PROJECT, P_TENANT);
    uuid_new(id);
    value_set_str(&obj->v[P_ID], id);
    null_to_empty(&obj->v[P_DESCRIPTION]);
    null_to_empty(&obj->v[P_DRIVER]);
    null_to_empty(&obj->v[P_METAINFO]);
    error = store_insert(ctx->db, obj);
    if (error) {
        res_obj_destroy(obj);
        return error;
    }
    *out = obj;
    return NULL;
}

static struct neutron_error *
profile_update(const struct op_ctx *ctx, struct res_obj *cur,
               const struct res_obj *body, struct res_obj **out)
{
    static const int columns[] = {
        P_DESCRIPTION, P_DRIVER, P_METAINFO, P_ENABLED
    };
    const char *id = value_str(&cur->v[P_ID]);
    struct neutron_error *error;
    int64_t bound = 0;
    struct sql_buf b;
    size_t n = 0;

    *out = NULL;
    error = check_driver(value_str(&body->v[P_DRIVER]));
    if (!error) {
        error = lock_row(ctx->db, "serviceprofiles", id);
    }
    if (!error) {
        error = count_rows(ctx->db, "flavorserviceprofilebindings",
                           "service_profile_id", id, &bound);
    }
    if (!error && bound) {
        error = profile_in_use(id);
    }
    if (error) {
        return error;
    }
    sql_init(&b);
    sql_add(&b, "UPDATE serviceprofiles SET ");
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        int a = columns[i];
        if (value_is_set(&body->v[a])) {
            value_copy(&cur->v[a], &body->v[a]);
            null_to_empty(&cur->v[a]);
            sql_addf(&b, "%s%s = ?", n++ ? ", " : "",
                     profile_attrs[a].column);
            sql_param_value(&b, &cur->v[a]);
        }
    }
    sql_add(&b, " WHERE id = ?");
    sql_param(&b, id);
    if (is_empty(&cur->v[P_DRIVER]) && is_empty(&cur->v[P_METAINFO])) {
        error = profile_empty();
    } else if (n) {
        error = exec_sql(ctx->db, &b, "updating a service profile", NULL,
                         NULL);
    }
    sql_destroy(&b);
    if (!error) {
        *out = res_obj_clone(cur);
    }
    return error;
}

static struct neutron_error *
profile_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = value_str(&cur->v[P_ID]);
    struct neutron_error *error;
    int64_t bound = 0;

    error = lock_row(ctx->db, "serviceprofiles", id);
    if (!error) {
        error = count_rows(ctx->db, "flavorserviceprofilebindings",
                           "service_profile_id", id, &bound);
    }
    if (!error && bound) {
        error = profile_in_use(id);
    }
    if (!error) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "DELETE FROM serviceprofiles WHERE id = ?");
        sql_param(&b, id);
        error = exec_sql(ctx->db, &b, "deleting a service profile", NULL,
                         profile_in_use(id));
        sql_destroy(&b);
    }
    return error;
}

static const struct resource_ops profile_ops = {
    .create = profile_create,
    .update = profile_update,
    .remove = profile_remove,
};

/* ---- Association ---- */

struct binding_args {
    const char *flavor_id;
    const char *profile_id;
};

static struct neutron_error *
bind_in_txn(const struct op_ctx *ctx, void *args_)
{
    const struct binding_args *a = args_;
    struct neutron_error *error;
    int64_t n = 0;

    error = count_rows(ctx->db, "flavors", "id", a->flavor_id, &n);
    if (!error && !n) {
        return neutron_error_create(NE_NOT_FOUND, "FlavorNotFound",
                                    "Flavor %s could not be found.",
                                    a->flavor_id);
    }
    if (!error) {
        error = profile_exists(ctx->db, a->profile_id);
    }
    if (!error) {
        error = insert_binding(ctx->db, a->flavor_id, a->profile_id);
    }
    return error;
}

struct neutron_error *
flavors_bind_profile(const struct op_ctx *ctx, const char *flavor_id,
                     const char *profile_id)
{
    struct binding_args a = { flavor_id, profile_id };

    if (!ctx->auth.is_admin) {
        return forbidden("create_flavor_service_profile");
    }
    return txn_run(ctx, true, bind_in_txn, &a);
}

static struct neutron_error *
unbind_in_txn(const struct op_ctx *ctx, void *args_)
{
    const struct binding_args *a = args_;
    struct neutron_error *error;
    struct sql_buf b;
    int64_t changes = 0;

    sql_init(&b);
    sql_add(&b, "DELETE FROM flavorserviceprofilebindings "
            "WHERE flavor_id = ? AND service_profile_id = ?");
    sql_param(&b, a->flavor_id);
    sql_param(&b, a->profile_id);
    error = exec_sql(ctx->db, &b, "unbinding a service profile", &changes,
                     NULL);
    sql_destroy(&b);
    if (!error && !changes) {
        error = neutron_error_create(
            NE_NOT_FOUND, "FlavorServiceProfileBindingNotFound",
            "Service Profile %s is not associated with flavor %s.",
            a->profile_id, a->flavor_id);
    }
    return error;
}

struct neutron_error *
flavors_unbind_profile(const struct op_ctx *ctx, const char *flavor_id,
                       const char *profile_id)
{
    struct binding_args a = { flavor_id, profile_id };

    if (!ctx->auth.is_admin) {
        return forbidden("delete_flavor_service_profile");
    }
    return txn_run(ctx, true, unbind_in_txn, &a);
}

/* ---- The operator's set-up helper ---- */

struct ensure_args {
    const char *name;
    const char *provider;
    char flavor_id[UUID_STR_LEN];
    enum flavors_ensure_result result;
};

/* Runs 'b' and copies the first column of its first row, if any, into
 * 'out' (UUID_STR_LEN bytes); '*found' tells whether there was a row. */
static struct neutron_error *
query_first_id(struct db *db, const struct sql_buf *b, char *out,
               bool *found)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    *found = false;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading flavors");
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        str_copy(out, db_col_text(stmt, 0), UUID_STR_LEN);
        *found = true;
        rc = DB_DONE;
    }
    db_reset(stmt);
    return rc == DB_DONE ? NULL : store_db_error(db, rc, "reading flavors");
}

static struct neutron_error *
ensure_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct ensure_args *a = args_;
    struct neutron_error *error;
    char profile_id[UUID_STR_LEN];
    struct res_obj *obj;
    struct sql_buf b;
    bool found;

    a->result = FLAVORS_EXISTED;
    sql_init(&b);
    sql_add(&b, "SELECT id FROM flavors WHERE name = ? AND service_type = ? "
            "ORDER BY id");
    sql_param(&b, a->name);
    sql_param(&b, FLAVORS_SERVICE_TYPE);
    error = query_first_id(ctx->db, &b, a->flavor_id, &found);
    sql_destroy(&b);
    if (error) {
        return error;
    }
    if (!found) {
        obj = res_obj_create(&l3_flavor_def);
        uuid_new(a->flavor_id);
        value_set_str(&obj->v[F_ID], a->flavor_id);
        value_set_str(&obj->v[F_NAME], a->name);
        value_set_str(&obj->v[F_DESCRIPTION], "");
        value_set_str(&obj->v[F_SERVICE_TYPE], FLAVORS_SERVICE_TYPE);
        value_set_bool(&obj->v[F_ENABLED], true);
        error = store_insert(ctx->db, obj);
        res_obj_destroy(obj);
        if (error) {
            return error;
        }
        a->result = FLAVORS_CREATED;
    }

    /* Bound profiles: ours (the driver), or another driver's. */
    sql_init(&b);
    sql_add(&b, "SELECT sp.id, sp.driver FROM flavorserviceprofilebindings "
            "fb JOIN serviceprofiles sp ON sp.id = fb.service_profile_id "
            "WHERE fb.flavor_id = ? ORDER BY sp.driver = ? DESC, sp.id");
    sql_param(&b, a->flavor_id);
    sql_param(&b, a->provider);
    struct db_stmt *stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(ctx->db, DB_ERROR, "reading flavors");
    }
    int rc = db_step(stmt);
    char *other = NULL;
    if (rc == DB_ROW) {
        if (strcmp(db_col_text(stmt, 1), a->provider)) {
            other = xstrdup(db_col_text(stmt, 1));
        }
        found = true;
        rc = DB_DONE;
    } else {
        found = false;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        return store_db_error(ctx->db, rc, "reading flavors");
    }
    if (other) {
        error = neutron_error_create(NE_CONFLICT, NULL,
                                     "Flavor %s is bound to a service "
                                     "profile of driver '%s', not '%s': "
                                     "left as it is.", a->name, other,
                                     a->provider);
        free(other);
        return error;
    }
    if (found) {
        return NULL;
    }

    obj = res_obj_create(&l3_service_profile_def);
    uuid_new(profile_id);
    value_set_str(&obj->v[P_ID], profile_id);
    value_set_str(&obj->v[P_DESCRIPTION], "");
    value_set_str(&obj->v[P_DRIVER], a->provider);
    value_set_str(&obj->v[P_METAINFO], "");
    value_set_bool(&obj->v[P_ENABLED], true);
    error = store_insert(ctx->db, obj);
    res_obj_destroy(obj);
    if (!error) {
        error = insert_binding(ctx->db, a->flavor_id, profile_id);
    }
    if (!error && a->result == FLAVORS_EXISTED) {
        a->result = FLAVORS_BOUND;
    }
    return error;
}

struct neutron_error *
flavors_ensure(const struct op_ctx *ctx, const char *name,
               const char *provider, char flavor_id[UUID_STR_LEN],
               enum flavors_ensure_result *result)
{
    struct ensure_args a = { .name = name, .provider = provider };
    struct neutron_error *error;

    if (!ctx->auth.is_admin) {
        return forbidden("create_flavor");
    }
    error = check_driver(provider);
    if (!error) {
        error = txn_run(ctx, true, ensure_in_txn, &a);
    }
    if (!error) {
        str_copy(flavor_id, a.flavor_id, UUID_STR_LEN);
        *result = a.result;
    }
    return error;
}

/* ---- The router's provider ---- */

struct neutron_error *
flavors_resolve(struct db *db, const char *flavor_id,
                const struct l3_provider **out)
{
    struct neutron_error *error = NULL;
    bool found = false, bound = false, enabled = false;
    char *service_type = NULL, *driver = NULL;
    struct sql_buf b;
    int rc;

    *out = NULL;
    if (!flavor_id) {
        *out = l3_provider_default();
        if (!*out) {
            return neutron_error_create(
                NE_BAD_REQUEST, "DefaultServiceProviderNotFound",
                "Service type %s does not have a default service provider",
                FLAVORS_SERVICE_TYPE);
        }
        return NULL;
    }

    /* One query: the flavor and its bound profiles, enabled ones first.
     * On MariaDB the rows are share-locked until the commit, so that the
     * flavor cannot be deleted under a router being created with it. */
    sql_init(&b);
    sql_add(&b, "SELECT f.service_type, f.enabled, sp.id, sp.driver, "
            "sp.enabled FROM flavors f "
            "LEFT JOIN flavorserviceprofilebindings fb "
            "ON fb.flavor_id = f.id "
            "LEFT JOIN serviceprofiles sp ON sp.id = fb.service_profile_id "
            "WHERE f.id = ? ORDER BY sp.enabled DESC, sp.id");
    if (db_engine(db) == DB_ENGINE_MARIADB) {
        sql_add(&b, " LOCK IN SHARE MODE");
    }
    sql_param(&b, flavor_id);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a flavor");
    }
    if ((rc = db_step(stmt)) == DB_ROW) {
        found = true;
        service_type = xstrdup(db_col_text(stmt, 0));
        enabled = db_col_int64(stmt, 1) != 0;
        bound = !db_col_is_null(stmt, 2);
        if (bound && db_col_int64(stmt, 4)) {
            driver = xstrdup(db_col_text(stmt, 3));
        }
        rc = DB_DONE;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        return store_db_error(db, rc, "reading a flavor");
    }

    if (!found) {
        error = neutron_error_create(NE_NOT_FOUND, "FlavorNotFound",
                                     "Flavor %s could not be found.",
                                     flavor_id);
    } else if (strcmp(service_type, FLAVORS_SERVICE_TYPE)) {
        error = neutron_error_create(NE_BAD_REQUEST,
                                     "InvalidFlavorServiceType",
                                     "Invalid service type %s.",
                                     service_type);
    } else if (!enabled) {
        error = neutron_error_create(NE_BAD_REQUEST, "FlavorDisabled",
                                     "Flavor is not enabled.");
    } else if (!bound) {
        error = neutron_error_create(
            NE_NOT_FOUND, "FlavorServiceProfileBindingNotFound",
            "Service Profile  is not associated with flavor %s.", flavor_id);
    } else if (!driver) {
        error = neutron_error_create(NE_UNAVAILABLE, "ServiceProfileDisabled",
                                     "Service Profile is not enabled.");
    } else {
        *out = l3_provider_find_driver(driver);
        if (!*out) {
            error = neutron_error_create(NE_NOT_FOUND,
                                         "ServiceProfileDriverNotFound",
                                         "Service Profile driver %s could "
                                         "not be found.", driver);
        }
    }
    free(service_type);
    free(driver);
    return error;
}
