/* core/resource.h: resources described as data.
 *
 * Each API resource (network, subnet, port, ...) is a `struct resource_def`:
 * its names, its SQL table, and a table of attributes saying, for each, its
 * type, whether POST/PUT may set it, its default, who may read and write
 * it, and whether lists may filter or sort on it.  Validation, policy,
 * field selection, filtering, sorting, pagination, rendering and the
 * generic SQL of core/store.c all read that one table (as Neutron's
 * attribute maps do), so a resource is mostly a table plus the service
 * functions in its `struct resource_ops`.
 *
 * A resource instance in memory is a `struct res_obj`: one `struct value`
 * per attribute, indexed like the attribute table.  A request body, once
 * validated, is a `struct res_obj` too, where VALUE_UNSET marks attributes
 * the caller did not give. */
#ifndef HADRON_RESOURCE_H
#define HADRON_RESOURCE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

struct db;
struct neutron_error;
struct op_ctx;
struct res_list;
struct list_query;
struct sql_buf;

enum attr_type {
    AT_STRING,          /* text up to max_len (0 = 255) */
    AT_UUID,            /* canonical UUID */
    AT_BOOL,            /* true/false; "true"/"false" strings accepted */
    AT_INT,             /* integer in [min, max]; numeric strings accepted */
    AT_IP,              /* IPv4 or IPv6 address, normalised */
    AT_CIDR,            /* prefix, normalised */
    AT_MAC,             /* MAC address, normalised to lower case */
    AT_JSON,            /* a list or object checked by 'validate' */
};

/* Attribute flags. */
enum {
    AF_POST = 1 << 0,           /* may be given on create */
    AF_PUT = 1 << 1,            /* may be given on update */
    AF_REQUIRED = 1 << 2,       /* must be given on create */
    AF_FILTER = 1 << 3,         /* lists may filter on it */
    AF_SORT = 1 << 4,           /* lists may sort on it */
    AF_ADMIN_READ = 1 << 5,     /* only admins see it */
    AF_ADMIN_WRITE = 1 << 6,    /* only admins may set it (else 403) */
    AF_NULLABLE = 1 << 7,       /* null is a valid value */
    AF_PROJECT = 1 << 8,        /* project_id / tenant_id */
};

typedef struct neutron_error *attr_validate_fn(const char *attr_name,
                                               yajl_val value);

struct attr_def {
    const char *name;
    enum attr_type type;
    unsigned int flags;
    const char *column;         /* column of the table, or NULL when the
                                 * service computes it (child tables) */
    const char *default_json;   /* JSON text of the create default, or NULL
                                 * for none (then unset unless required) */
    int64_t min, max;           /* AT_INT bounds; AT_STRING: max = length */
    attr_validate_fn *validate; /* extra checks, may be NULL */
};

enum value_kind {
    VALUE_UNSET = 0,            /* not given (input) / not loaded (output) */
    VALUE_NULL,
    VALUE_STRING,               /* s */
    VALUE_INT,                  /* i */
    VALUE_BOOL,                 /* b */
    VALUE_TREE,                 /* tree: a parsed list/object (input) */
    VALUE_RAW,                  /* s: JSON text written as is (output) */
};

struct value {
    enum value_kind kind;
    union {
        char *s;                /* owned by the value */
        int64_t i;
        bool b;
        yajl_val tree;          /* not owned: lives with the request */
    };
};

struct res_obj {
    const struct resource_def *def;
    struct value *v;            /* def->n_attrs values */
    /* Private to the resource's service: what its create/update/remove op
     * leaves for its after_* op (work to do after the commit).  NULL
     * unless the service sets it; res_obj_clone() does not copy it and
     * res_obj_destroy() passes it to 'aux_free' (if nonnull). */
    void *aux;
    void (*aux_free)(void *aux);
};

/* What a service does for a resource.  Each op gets the caller's context
 * and returns NULL or an error.  create, update and remove run inside the
 * transaction that the API layer opened (several creates share one for a
 * bulk request); update and remove get the current object, already checked
 * to be visible to and owned by the caller and at the If-Match revision.
 * The after_* ops run after the commit (ML2's postcommit): an error from
 * after_create removes the resource again and is returned; errors from the
 * others are logged.  A NULL create/update/remove makes the API answer
 * 405; NULL after_* and expand are skipped. */
struct resource_ops {
    /* 'body' holds the validated attributes (defaults filled in). */
    struct neutron_error *(*create)(const struct op_ctx *,
                                    const struct res_obj *body,
                                    struct res_obj **out);
    /* 'body' holds only the attributes given. 'cur' may be changed. */
    struct neutron_error *(*update)(const struct op_ctx *,
                                    struct res_obj *cur,
                                    const struct res_obj *body,
                                    struct res_obj **out);
    struct neutron_error *(*remove)(const struct op_ctx *,
                                    struct res_obj *cur);
    struct neutron_error *(*after_create)(const struct op_ctx *,
                                          const struct res_obj *obj);
    struct neutron_error *(*after_update)(const struct op_ctx *,
                                          const struct res_obj *obj);
    struct neutron_error *(*after_remove)(const struct op_ctx *,
                                          const struct res_obj *old);
    /* Fills the computed attributes (column == NULL) of 'n' objects loaded
     * by the store, in as few queries as it can.  May be NULL. */
    struct neutron_error *(*expand)(struct db *, struct res_obj **objs,
                                    size_t n);
    /* Adds SQL for a filter on a computed attribute: appends a condition
     * on table alias "t" to 'sql' (params bound in order) and returns true,
     * or returns false if the attribute cannot be filtered. May be NULL. */
    bool (*filter_sql)(const struct attr_def *, char *const *values,
                       size_t n_values, struct sql_buf *sql);
    /* May a non-admin caller who does not own 'obj' still change it?
     * NULL = no (403). */
    bool (*may_modify)(const struct op_ctx *, const struct res_obj *obj);
};

struct resource_def {
    const char *singular;       /* "network" */
    const char *plural;         /* "networks" */
    const char *table;          /* SQL table */
    const char *not_found;      /* "NetworkNotFound" */
    const char *display;        /* "Network", for messages */
    const struct attr_def *attrs;
    size_t n_attrs;
    /* Condition (on alias "t") a non-admin caller's rows must meet; each
     * "?" is bound to the caller's project id.  NULL = "t.project_id = ?". */
    const char *visible_sql;
    /* NULL, or 'visible_sql' as disjoint conditions (NULL-terminated),
     * each of which an index serves in the list's order: an unfiltered
     * page is read as the UNION ALL of a page of each. */
    const char *const *visible_parts;
    bool tags;                  /* has the /tags sub-resource */
    const struct resource_ops *ops;
};

/* Index of attribute 'name' in 'def', or -1. */
int resource_attr_index(const struct resource_def *, const char *name);

/* Objects. */
struct res_obj *res_obj_create(const struct resource_def *);
void res_obj_destroy(struct res_obj *);
struct res_obj *res_obj_clone(const struct res_obj *);

/* Value setters: free the old value, copy the new one. */
void value_clear(struct value *);
void value_set_str(struct value *, const char *s);   /* NULL sets null */
void value_set_int(struct value *, int64_t);
void value_set_bool(struct value *, bool);
void value_set_null(struct value *);
void value_set_raw(struct value *, const char *json);
void value_take_raw(struct value *, char *json);     /* takes ownership */
void value_copy(struct value *dst, const struct value *src);

/* Reads a string value: NULL unless VALUE_STRING. */
const char *value_str(const struct value *);
bool value_is_set(const struct value *);

/* Validates 'given' (a JSON object from a request) against 'def' for
 * create (is_create) or update, as Neutron does: unknown attributes, ones
 * POST/PUT may not set, wrong types and failed validators are refused with
 * 400, admin-only attributes with 403 for non-admins; on create, required
 * attributes must be present and defaults are filled in.  On success
 * stores a new object in '*out' (its VALUE_TREE values point into 'given'). */
struct neutron_error *resource_validate(const struct resource_def *def,
                                        yajl_val given, bool is_create,
                                        bool is_admin, struct res_obj **out);

/* neutron-lib's InvalidInput: "Invalid input for operation: REASON." (400,
 * InvalidInput). */
struct neutron_error *resource_invalid_input(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "Invalid input for ATTR. Reason: REASON.", as Neutron's API layer
 * refuses an attribute that fails validation (400, HTTPBadRequest). */
struct neutron_error *resource_attr_error(const char *attr,
                                          const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* neutron-lib's type:fixed_ips (a port's fixed_ips, a router gateway's
 * external_fixed_ips): a list of objects whose ip_address (no duplicates)
 * and subnet_id are valid when present.  Their meaning (which subnet, free
 * or not) is IPAM's to check. */
attr_validate_fn resource_validate_fixed_ips;

/* Converts one JSON value to an attribute's type (also used for filters,
 * where 'text' comes from a query string).  Returns NULL or a 400. */
struct neutron_error *resource_convert(const struct attr_def *, yajl_val,
                                       struct value *out);
struct neutron_error *resource_convert_text(const struct attr_def *,
                                            const char *text,
                                            struct value *out);

#endif /* core/resource.h */
