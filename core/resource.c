/* core/resource.c: see resource.h.  Messages follow Neutron's wording so
 * that clients and people see what they would see there. */
#include "core/jsonv.h"
#include "core/resource.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/util.h"

int
resource_attr_index(const struct resource_def *def, const char *name)
{
    for (size_t i = 0; i < def->n_attrs; i++) {
        if (!strcmp(def->attrs[i].name, name)) {
            return i;
        }
    }
    return -1;
}

struct res_obj *
res_obj_create(const struct resource_def *def)
{
    struct res_obj *obj = xmalloc(sizeof *obj);

    obj->def = def;
    obj->v = xcalloc(def->n_attrs, sizeof *obj->v);
    obj->aux = NULL;
    obj->aux_free = NULL;
    return obj;
}

void
res_obj_destroy(struct res_obj *obj)
{
    if (obj) {
        for (size_t i = 0; i < obj->def->n_attrs; i++) {
            value_clear(&obj->v[i]);
        }
        free(obj->v);
        if (obj->aux_free) {
            obj->aux_free(obj->aux);
        }
        free(obj);
    }
}

struct res_obj *
res_obj_clone(const struct res_obj *obj)
{
    struct res_obj *copy = res_obj_create(obj->def);

    for (size_t i = 0; i < obj->def->n_attrs; i++) {
        value_copy(&copy->v[i], &obj->v[i]);
    }
    return copy;
}

void
value_clear(struct value *v)
{
    if (v->kind == VALUE_STRING || v->kind == VALUE_RAW) {
        free(v->s);
    }
    memset(v, 0, sizeof *v);
}

void
value_set_str(struct value *v, const char *s)
{
    char *copy = s ? xstrdup(s) : NULL;   /* 's' may point into 'v' */

    value_clear(v);
    if (copy) {
        v->kind = VALUE_STRING;
        v->s = copy;
    } else {
        v->kind = VALUE_NULL;
    }
}

void
value_set_int(struct value *v, int64_t i)
{
    value_clear(v);
    v->kind = VALUE_INT;
    v->i = i;
}

void
value_set_bool(struct value *v, bool b)
{
    value_clear(v);
    v->kind = VALUE_BOOL;
    v->b = b;
}

void
value_set_null(struct value *v)
{
    value_clear(v);
    v->kind = VALUE_NULL;
}

void
value_set_raw(struct value *v, const char *json)
{
    value_take_raw(v, xstrdup(json));
}

void
value_take_raw(struct value *v, char *json)
{
    value_clear(v);
    v->kind = VALUE_RAW;
    v->s = json;
}

void
value_copy(struct value *dst, const struct value *src)
{
    if (dst == src) {
        return;
    }
    value_clear(dst);
    *dst = *src;
    if (src->kind == VALUE_STRING || src->kind == VALUE_RAW) {
        dst->s = xstrdup(src->s);
    }
}

const char *
value_str(const struct value *v)
{
    return v->kind == VALUE_STRING ? v->s : NULL;
}

bool
value_is_set(const struct value *v)
{
    return v->kind != VALUE_UNSET;
}

struct neutron_error *
resource_invalid_input(const char *fmt, ...)
{
    char reason[600];
    va_list args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    return neutron_error_create(NE_BAD_REQUEST, "InvalidInput",
                                "Invalid input for operation: %s.", reason);
}

struct neutron_error *
resource_attr_error(const char *attr, const char *fmt, ...)
{
    char reason[600];
    va_list args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                "Invalid input for %s. Reason: %s.", attr,
                                reason);
}

struct neutron_error *
resource_validate_fixed_ips(const char *attr, yajl_val v)
{
    char what[256];

    if (!YAJL_IS_ARRAY(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr,
                                   "Invalid data format for fixed IP: '%s'",
                                   what);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val ip = v->u.array.values[i];
        struct ipaddr a;

        if (!YAJL_IS_OBJECT(ip)) {
            jsonv_describe(ip, what, sizeof what);
            return resource_attr_error(attr,
                                       "Invalid data format for fixed IP: "
                                       "'%s'", what);
        }
        for (size_t k = 0; k < ip->u.object.len; k++) {
            const char *key = ip->u.object.keys[k];
            yajl_val val = ip->u.object.values[k];
            if (!strcmp(key, "ip_address")) {
                if (!YAJL_IS_STRING(val) || !ipaddr_parse(val->u.string, &a)) {
                    jsonv_describe(val, what, sizeof what);
                    return resource_attr_error(attr, "'%s' is not a valid IP "
                                               "address", what);
                }
                for (size_t j = 0; j < i; j++) {
                    yajl_val other = v->u.array.values[j];
                    for (size_t m = 0; m < other->u.object.len; m++) {
                        yajl_val ov = other->u.object.values[m];
                        if (!strcmp(other->u.object.keys[m], "ip_address")
                            && !strcmp(ov->u.string, val->u.string)) {
                            return resource_attr_error(attr,
                                                       "Duplicate IP address "
                                                       "'%s'", val->u.string);
                        }
                    }
                }
            } else if (!strcmp(key, "subnet_id")) {
                if (!YAJL_IS_STRING(val) || !uuid_is_valid(val->u.string)) {
                    jsonv_describe(val, what, sizeof what);
                    return resource_attr_error(attr,
                                               "'%s' is not a valid UUID",
                                               what);
                }
            }
        }
    }
    return NULL;
}

struct neutron_error *
resource_convert_text(const struct attr_def *attr, const char *text,
                      struct value *out)
{
    int64_t i;
    bool b;

    value_clear(out);
    switch (attr->type) {
    case AT_BOOL:
        if (!strcasecmp(text, "true") || !strcmp(text, "1")) {
            b = true;
        } else if (!strcasecmp(text, "false") || !strcmp(text, "0")) {
            b = false;
        } else {
            return resource_invalid_input("'%s' cannot be converted to "
                                          "boolean", text);
        }
        value_set_bool(out, b);
        return NULL;
    case AT_INT:
        if (!str_to_int64(text, INT64_MIN, INT64_MAX, &i)) {
            return resource_invalid_input("'%s' is not an integer", text);
        }
        if ((attr->min || attr->max) && (i < attr->min || i > attr->max)) {
            return resource_invalid_input("'%s' is not in range %lld through "
                                          "%lld", text, (long long) attr->min,
                                          (long long) attr->max);
        }
        value_set_int(out, i);
        return NULL;
    case AT_UUID:
        if (!uuid_is_valid(text)) {
            return resource_invalid_input("'%s' is not a valid UUID", text);
        }
        {
            char lower[UUID_STR_LEN];
            for (int k = 0; k < UUID_STR_LEN; k++) {
                lower[k] = text[k] >= 'A' && text[k] <= 'F'
                           ? text[k] - 'A' + 'a' : text[k];
            }
            value_set_str(out, lower);
        }
        return NULL;
    case AT_IP: {
        struct ipaddr a;
        char s[IPADDR_STR_MAX];
        if (!ipaddr_parse(text, &a)) {
            return resource_invalid_input("'%s' is not a valid IP address",
                                          text);
        }
        ipaddr_format(&a, s);
        value_set_str(out, s);
        return NULL;
    }
    case AT_CIDR: {
        struct ipnet n;
        char s[IPNET_STR_MAX];
        if (!ipnet_parse(text, false, &n)) {
            return resource_invalid_input("'%s' is not a valid IP subnet",
                                          text);
        }
        ipnet_format(&n, s);
        value_set_str(out, s);
        return NULL;
    }
    case AT_MAC: {
        uint8_t mac[6];
        char s[18];
        if (!mac_parse(text, mac)) {
            return resource_invalid_input("'%s' is not a valid MAC address",
                                          text);
        }
        mac_format(mac, s);
        value_set_str(out, s);
        return NULL;
    }
    case AT_STRING: {
        int64_t max = attr->max ? attr->max : 255;
        if (utf8_length(text) > max) {
            char reason[400];
            /* Quote at most 200 bytes, cut between characters. */
            size_t quoted = strlen(text);
            if (quoted > 200) {
                quoted = 200;
                while (quoted && (text[quoted] & 0xc0) == 0x80) {
                    quoted--;
                }
            }
            snprintf(reason, sizeof reason,
                     "'%.*s' exceeds maximum length of %lld", (int) quoted,
                     text,
                     (long long) max);
            return resource_attr_error(attr->name, "%s", reason);
        }
        value_set_str(out, text);
        return NULL;
    }
    case AT_JSON:
        return resource_invalid_input("'%s' cannot be used as a filter",
                                      attr->name);
    }
    return neutron_error_internal("bad attribute type");
}

struct neutron_error *
resource_convert(const struct attr_def *attr, yajl_val v, struct value *out)
{
    char what[256];

    value_clear(out);
    if (!v || YAJL_IS_NULL(v)) {
        if (!(attr->flags & AF_NULLABLE)) {
            char reason[300];
            snprintf(reason, sizeof reason, "'None' is not a valid %s",
                     attr->type == AT_STRING ? "string" : "value");
            return resource_attr_error(attr->name, "%s", reason);
        }
        value_set_null(out);
        return NULL;
    }
    if (attr->validate) {
        struct neutron_error *e = attr->validate(attr->name, v);
        if (e) {
            return e;
        }
    }
    switch (attr->type) {
    case AT_BOOL:
        if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
            value_set_bool(out, YAJL_IS_TRUE(v));
            return NULL;
        }
        if (YAJL_IS_STRING(v)) {
            return resource_convert_text(attr, v->u.string, out);
        }
        if (YAJL_IS_INTEGER(v)
            && (YAJL_GET_INTEGER(v) == 0 || YAJL_GET_INTEGER(v) == 1)) {
            value_set_bool(out, YAJL_GET_INTEGER(v) == 1);
            return NULL;
        }
        jsonv_describe(v, what, sizeof what);
        return resource_invalid_input("'%s' cannot be converted to boolean",
                                      what);
    case AT_INT:
        if (YAJL_IS_INTEGER(v)) {
            snprintf(what, sizeof what, "%lld", YAJL_GET_INTEGER(v));
            return resource_convert_text(attr, what, out);
        }
        if (YAJL_IS_STRING(v)) {
            return resource_convert_text(attr, v->u.string, out);
        }
        jsonv_describe(v, what, sizeof what);
        return resource_invalid_input("'%s' is not an integer", what);
    case AT_JSON:
        if (!YAJL_IS_ARRAY(v) && !YAJL_IS_OBJECT(v)) {
            jsonv_describe(v, what, sizeof what);
            char reason[300];
            snprintf(reason, sizeof reason, "'%s' is not a list", what);
            return resource_attr_error(attr->name, "%s", reason);
        }
        out->kind = VALUE_TREE;
        out->tree = v;
        return NULL;
    case AT_STRING:
    case AT_UUID:
    case AT_IP:
    case AT_CIDR:
    case AT_MAC:
        if (!YAJL_IS_STRING(v)) {
            char reason[300];
            jsonv_describe(v, what, sizeof what);
            snprintf(reason, sizeof reason, "'%s' is not a valid %s", what,
                     attr->type == AT_STRING ? "string"
                     : attr->type == AT_UUID ? "UUID"
                     : attr->type == AT_MAC ? "MAC address"
                     : attr->type == AT_CIDR ? "IP subnet" : "IP address");
            return attr->type == AT_STRING
                   ? resource_attr_error(attr->name, "%s", reason)
                   : resource_invalid_input("%s", reason);
        }
        return resource_convert_text(attr, v->u.string, out);
    }
    return neutron_error_internal("bad attribute type");
}

/* Parses an attribute default written as JSON text. */
static void
set_default(const struct attr_def *attr, struct value *out)
{
    const char *d = attr->default_json;

    if (!strcmp(d, "null")) {
        value_set_null(out);
    } else if (!strcmp(d, "true") || !strcmp(d, "false")) {
        value_set_bool(out, d[0] == 't');
    } else if (d[0] == '"') {
        char *s = xstrndup(d + 1, strlen(d) - 2);
        value_set_str(out, s);
        free(s);
    } else if (d[0] == '[' || d[0] == '{') {
        value_set_raw(out, d);
    } else {
        int64_t i = 0;
        str_to_int64(d, INT64_MIN, INT64_MAX, &i);
        value_set_int(out, i);
    }
}

/* True if 'v' equals the attribute's default (scalars only). */
static bool
value_equals_default(const struct attr_def *attr, const struct value *v)
{
    struct value d = { 0 };
    bool equal = false;

    set_default(attr, &d);
    if (d.kind == v->kind) {
        switch (d.kind) {
        case VALUE_BOOL:
            equal = d.b == v->b;
            break;
        case VALUE_INT:
            equal = d.i == v->i;
            break;
        case VALUE_STRING:
            equal = !strcmp(d.s, v->s);
            break;
        case VALUE_NULL:
            equal = true;
            break;
        default:
            break;
        }
    }
    value_clear(&d);
    return equal;
}

struct neutron_error *
resource_validate(const struct resource_def *def, yajl_val given,
                  bool is_create, bool is_admin, struct res_obj **out)
{
    struct res_obj *obj = res_obj_create(def);
    struct neutron_error *error = NULL;

    *out = NULL;
    if (!YAJL_IS_OBJECT(given)) {
        error = neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                     "Body contains invalid data");
        goto fail;
    }
    /* Unknown attributes first, all named in one message. */
    char unknown[512] = "";
    size_t ulen = 0;
    for (size_t i = 0; i < given->u.object.len; i++) {
        const char *key = given->u.object.keys[i];
        if (resource_attr_index(def, key) < 0 && ulen < sizeof unknown) {
            ulen += snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                             ulen ? ", " : "", key);
        }
    }
    if (ulen) {
        error = neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                     "Unrecognized attribute(s) %s", unknown);
        goto fail;
    }
    for (size_t i = 0; i < given->u.object.len; i++) {
        const char *key = given->u.object.keys[i];
        int idx = resource_attr_index(def, key);
        const struct attr_def *attr = &def->attrs[idx];

        if (is_create && !(attr->flags & AF_POST)) {
            error = neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                         "Attribute '%s' not allowed in POST",
                                         key);
            goto fail;
        }
        if (!is_create && !(attr->flags & AF_PUT)) {
            error = neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                         "Cannot update read-only attribute "
                                         "%s", key);
            goto fail;
        }
        error = resource_convert(attr, given->u.object.values[i],
                                 &obj->v[idx]);
        if (error) {
            goto fail;
        }
        /* As Neutron's policy engine: on create, giving an admin-only
         * attribute its default value is not "setting" it. */
        if ((attr->flags & AF_ADMIN_WRITE) && !is_admin
            && !(is_create && attr->default_json
                 && value_equals_default(attr, &obj->v[idx]))) {
            error = neutron_error_create(
                NE_FORBIDDEN, "PolicyNotAuthorized",
                "(rule:%s_%s:%s) is disallowed by policy",
                is_create ? "create" : "update", def->singular, key);
            goto fail;
        }
    }
    if (is_create) {
        for (size_t i = 0; i < def->n_attrs; i++) {
            const struct attr_def *attr = &def->attrs[i];
            if (value_is_set(&obj->v[i]) || !(attr->flags & AF_POST)) {
                continue;
            }
            if (attr->flags & AF_REQUIRED) {
                error = neutron_error_create(
                    NE_BAD_REQUEST, "HTTPBadRequest",
                    "Failed to parse request. Required attribute '%s' not "
                    "specified", attr->name);
                goto fail;
            }
            if (attr->default_json) {
                set_default(attr, &obj->v[i]);
            }
        }
    }
    *out = obj;
    return NULL;

fail:
    res_obj_destroy(obj);
    return error;
}
