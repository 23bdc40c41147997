/* core/store.h: generic persistence of resources described by a
 * `struct resource_def` (core/resource.h).
 *
 * The store builds prepared SQL from the attribute table: load by id, list
 * with filters, tag filters, sorting and marker pagination, insert, update
 * with revision bump, delete, and the tags of any resource.  Services call
 * it inside their transactions and add what is specific to them. */
#ifndef HADRON_STORE_H
#define HADRON_STORE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/resource.h"

struct db;
struct neutron_error;
struct op_ctx;

/* SQL text with its parameters, built piece by piece. */
struct sql_param {
    char *text;                 /* owned; NULL (and !is_int) binds NULL */
    bool is_int;
    int64_t i;
};

struct sql_buf {
    char *text;
    size_t len, cap;
    struct sql_param *params;
    size_t n_params, cap_params;
};

void sql_init(struct sql_buf *);
void sql_destroy(struct sql_buf *);
void sql_add(struct sql_buf *, const char *text);
void sql_addf(struct sql_buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sql_param(struct sql_buf *, const char *value);     /* copied */
void sql_param_int(struct sql_buf *, int64_t);
/* Binds 'v' as stored in a column of 'type' (bools as 0/1). */
void sql_param_value(struct sql_buf *, const struct value *v);
/* Appends "?, ?, ?" for 'n' values of an IN list and binds them (padded
 * as sql_in_pad() does). */
void sql_param_list(struct sql_buf *, char *const *values, size_t n);
/* Pads the IN list whose 'n' values were just appended and bound, with
 * copies of the last value, to 1, 4, 16 or 64 values, then the next power
 * of two.  The statement caches (db/db.c, and MariaDB's server-side
 * statements) key on the SQL text: unpadded, every list length was a
 * statement of its own, and the caches kept growing over a soak. */
void sql_in_pad(struct sql_buf *, size_t n);
/* Prepares and binds; NULL on failure (see db_errmsg()). */
struct db_stmt *sql_prepare(struct db *, const struct sql_buf *);

struct list_filter {
    int attr;                   /* index in the resource's attributes */
    char **values;              /* OR-ed, as given in the query */
    size_t n_values;
};

struct list_sort {
    int attr;
    bool desc;
};

struct list_query {
    struct list_filter *filters;
    size_t n_filters;
    struct list_sort *sorts;    /* "id" is always appended last */
    size_t n_sorts;
    size_t limit;               /* 0 = all */
    char *marker;               /* id of the last row seen, or NULL */
    bool page_reverse;
    /* Tag filters: each a list of tags. */
    char **tags, **tags_any, **not_tags, **not_tags_any;
    size_t n_tags, n_tags_any, n_not_tags, n_not_tags_any;
};

void list_query_destroy(struct list_query *);

struct res_list {
    struct res_obj **objs;
    size_t n;
    bool more;                  /* a limit cut the list short */
};

void res_list_destroy(struct res_list *);

/* Loads the resource 'id' visible to 'ctx' (NULL = no visibility check).
 * Returns NULL and stores it in '*out', or a 404 error of the resource's
 * not_found type. */
struct neutron_error *store_get(struct db *, const struct resource_def *,
                                const struct op_ctx *ctx, const char *id,
                                struct res_obj **out);

/* Lists resources visible to 'ctx' matching 'q' (may be NULL). */
struct neutron_error *store_list(struct db *, const struct resource_def *,
                                 const struct op_ctx *ctx,
                                 const struct list_query *q,
                                 struct res_list *out);

/* Counts rows of 'table' where 'column' = 'value' (any visibility). */
int store_count(struct db *, const char *table, const char *column,
                const char *value, int64_t *count);

/* Inserts every column attribute of 'obj' (unset ones as NULL). */
struct neutron_error *store_insert(struct db *, const struct res_obj *obj);

/* Writes the column attributes of 'obj' that 'changed' marks (indexed
 * like the attributes), sets updated_at and revision_number + 1 (in 'obj'
 * too). */
struct neutron_error *store_update(struct db *, struct res_obj *obj,
                                   const bool *changed);

/* Bumps revision_number and updated_at only (a child row changed). */
struct neutron_error *store_touch(struct db *, struct res_obj *obj);

/* Deletes row 'id' and its tags. */
struct neutron_error *store_delete(struct db *, const struct resource_def *,
                                   const char *id);

/* Fills the standard attributes of a new object: id (unless set),
 * created_at, updated_at, revision_number = 0, project_id/tenant_id from
 * the body or the caller, description "" and tags [].  Returns a 400 if
 * project_id and tenant_id disagree, 403 if a non-admin names another
 * project. */
struct neutron_error *store_fill_new(const struct op_ctx *,
                                     struct res_obj *obj);

/* A 412 unless 'if_match' is -1 or equals the object's revision. */
struct neutron_error *store_check_revision(const struct res_obj *obj,
                                           int64_t if_match);

/* Tags. */
struct neutron_error *store_tags_load(struct db *, struct res_obj **objs,
                                      size_t n);
struct neutron_error *store_tags_set(struct db *, const struct res_obj *obj,
                                     char *const *tags, size_t n);
struct neutron_error *store_tag_add(struct db *, const struct res_obj *obj,
                                    const char *tag);
/* Returns true in '*found' if the tag was there (and removes it). */
struct neutron_error *store_tag_remove(struct db *,
                                       const struct res_obj *obj,
                                       const char *tag, bool *found);

/* Maps a db failure to an error: DB_RETRY and DB_CONSTRAINT are passed up
 * by services that retry; anything else becomes a 500 with the message
 * logged. */
struct neutron_error *store_db_error(struct db *, int rc, const char *what);

#endif /* core/store.h */
