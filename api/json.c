/* api/json.c: see json.h. */
#include "api/json.h"

#include <limits.h>
#include <stdbool.h>
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

char *
json_error_body(const struct neutron_error *e)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_key(g, "NeutronError");
    yajl_gen_map_open(g);
    json_kv_str(g, "type", e->type);
    json_kv_str(g, "message", e->message);
    json_kv_str(g, "detail", "");
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}
