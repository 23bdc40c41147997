/* core/jsonv.c: see jsonv.h. */
#include "core/jsonv.h"

#include <stdio.h>
#include <string.h>

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
