/* core/jsonv.c: see jsonv.h. */
#include "core/jsonv.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

yajl_val
jsonv_member(yajl_val obj, const char *key)
{
    for (size_t i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++) {
        if (!strcmp(obj->u.object.keys[i], key)) {
            return obj->u.object.values[i];
        }
    }
    return NULL;
}

void
jsonv_describe(yajl_val v, char *buf, size_t size)
{
    if (YAJL_IS_STRING(v)) {
        snprintf(buf, size, "%.200s", v->u.string ? v->u.string : "");
    } else if (YAJL_IS_NUMBER(v)) {
        snprintf(buf, size, "%.60s", v->u.number.r);
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        snprintf(buf, size, "%s", YAJL_IS_TRUE(v) ? "True" : "False");
    } else if (!v || YAJL_IS_NULL(v)) {
        snprintf(buf, size, "None");
    } else if (YAJL_IS_ARRAY(v)) {
        snprintf(buf, size, v->u.array.len ? "[...]" : "[]");
    } else {
        snprintf(buf, size, v->u.object.len ? "{...}" : "{}");
    }
}

yajl_gen
json_gen_create(void)
{
    /* yajl_gen_validate_utf8 is off by default: see jsonv.h. */
    return yajl_gen_alloc(NULL);
}

char *
json_gen_finish(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_get_buf(g, &buf, &len);
    char *text = xstrndup((const char *) buf, len);
    yajl_gen_free(g);
    return text;
}

void
json_str(yajl_gen g, const char *s)
{
    if (s) {
        yajl_gen_string(g, (const unsigned char *) s, strlen(s));
    } else {
        yajl_gen_null(g);
    }
}

void
json_key(yajl_gen g, const char *key)
{
    yajl_gen_string(g, (const unsigned char *) key, strlen(key));
}

void
json_kv_str(yajl_gen g, const char *key, const char *value)
{
    json_key(g, key);
    json_str(g, value);
}

void
json_kv_int(yajl_gen g, const char *key, int64_t value)
{
    json_key(g, key);
    yajl_gen_integer(g, value);
}

void
json_kv_bool(yajl_gen g, const char *key, bool value)
{
    json_key(g, key);
    yajl_gen_bool(g, value);
}

void
json_kv_null(yajl_gen g, const char *key)
{
    json_key(g, key);
    yajl_gen_null(g);
}

void
json_value(yajl_gen g, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v)) {
        yajl_gen_null(g);
    } else if (YAJL_IS_STRING(v)) {
        json_str(g, v->u.string);
    } else if (YAJL_IS_INTEGER(v)) {
        yajl_gen_integer(g, YAJL_GET_INTEGER(v));
    } else if (YAJL_IS_NUMBER(v)) {
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    } else if (YAJL_IS_TRUE(v)) {
        yajl_gen_bool(g, 1);
    } else if (YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, 0);
    } else if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            json_key(g, v->u.object.keys[i]);
            json_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++) {
            json_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
    }
}

void
json_raw(yajl_gen g, const char *json)
{
    /* yajl_gen_number appends its text as is, which is what we want. */
    yajl_gen_number(g, json, strlen(json));
}
