/* api/json.c: see json.h. */
#include "api/json.h"

#include <limits.h>
#include <string.h>

#include "core/neutron_error.h"
#include "core/util.h"

/* What one linear scan of a JSON text finds, outside strings: its
 * deepest nesting and how many tokens it holds (objects, arrays, strings
 * (keys too) and scalars). */
struct json_shape {
    int depth;
    long tokens;
};

/* Scans the JSON text 's' of 'len' bytes.  Stops early once 'max_depth'
 * or 'max_tokens' is exceeded (the result then exceeds it too). */
static void
json_scan(const char *s, size_t len, int max_depth, long max_tokens,
          struct json_shape *shape)
{
    bool in_string = false, in_scalar = false;
    int depth = 0;

    shape->depth = 0;
    shape->tokens = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        bool token = false;
        if (c == '"') {
            in_string = true;
            in_scalar = false;
            token = true;
        } else if (c == '{' || c == '[') {
            in_scalar = false;
            token = true;
            if (++depth > shape->depth) {
                shape->depth = depth;
                if (depth > max_depth) {
                    return;
                }
            }
        } else if (c == '}' || c == ']' || c == ',' || c == ':' || c == ' '
                   || c == '\t' || c == '\n' || c == '\r') {
            depth -= c == '}' || c == ']';
            in_scalar = false;
        } else if (!in_scalar) {
            in_scalar = true;   /* a number, true, false or null */
            token = true;
        }
        if (token && ++shape->tokens > max_tokens) {
            return;
        }
    }
}

struct neutron_error *
json_parse(const char *text, size_t len, int max_depth, yajl_val *out)
{
    return json_parse_limited(text, len, max_depth, LONG_MAX, out);
}

struct neutron_error *
json_parse_limited(const char *text, size_t len, int max_depth,
                   long max_tokens, yajl_val *out)
{
    struct json_shape shape;
    char errbuf[256];
    char *copy;

    *out = NULL;
    json_scan(text, len, max_depth, max_tokens, &shape);
    if (shape.depth > max_depth) {
        return neutron_error_create(NE_BAD_REQUEST, "MalformedRequestBody",
                                    "Malformed request body: JSON nested "
                                    "deeper than %d levels", max_depth);
    }
    if (shape.tokens > max_tokens) {
        return neutron_error_create(NE_TOO_LARGE, NULL,
                                    "Request body holds more than %ld JSON "
                                    "elements.", max_tokens);
    }
    if (memchr(text, '\0', len)) {
        return neutron_error_create(NE_BAD_REQUEST, "MalformedRequestBody",
                                    "Malformed request body: NUL byte");
    }
    copy = xstrndup(text, len);
    errbuf[0] = '\0';
    *out = yajl_tree_parse(copy, errbuf, sizeof errbuf);
    free(copy);
    if (!*out) {
        /* yajl's message spans lines; keep the first. */
        errbuf[strcspn(errbuf, "\n")] = '\0';
        return neutron_error_create(NE_BAD_REQUEST, "MalformedRequestBody",
                                    "Malformed request body: %s",
                                    *errbuf ? errbuf : "invalid JSON");
    }
    return NULL;
}

yajl_gen
json_gen_create(void)
{
    /* Strings reaching the generator come from yajl's validated input or
     * from the server's UTF-8-checked URL, so no second validation. */
    return yajl_gen_alloc(NULL);
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

char *
json_error_body(const struct neutron_error *e)
{
    yajl_gen g = json_gen_create();
    const unsigned char *buf;
    size_t len;
    char *body;

    yajl_gen_map_open(g);
    json_key(g, "NeutronError");
    yajl_gen_map_open(g);
    json_kv_str(g, "type", e->type);
    json_kv_str(g, "message", e->message);
    json_kv_str(g, "detail", "");
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_get_buf(g, &buf, &len);
    body = xstrndup((const char *) buf, len);
    yajl_gen_free(g);
    return body;
}
