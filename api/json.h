/* api/json.h: JSON in and out of the API, on yajl.
 *
 * Input: json_parse() refuses documents nested deeper than a limit, or
 * holding more elements than a limit, before yajl builds a tree, so hostile
 * nesting or bulk costs one linear scan.  Output:
 * thin helpers over yajl_gen that keep handlers short. */
#ifndef HADRON_JSON_H
#define HADRON_JSON_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct neutron_error;

/* Parses the 'len' bytes at 'text' (need not be NUL-terminated).  On
 * success stores the tree in '*out' (free with yajl_tree_free()) and returns
 * NULL; otherwise returns a MalformedRequestBody error. */
struct neutron_error *json_parse(const char *text, size_t len, int max_depth,
                                 yajl_val *out);

/* Like json_parse(), and also refuses with 413 a text of more than
 * 'max_tokens' elements (objects, arrays, strings (member keys too) and
 * scalars), before yajl allocates any of them. */
struct neutron_error *json_parse_limited(const char *text, size_t len,
                                         int max_depth, long max_tokens,
                                         yajl_val *out);


/* Output. */
yajl_gen json_gen_create(void);
void json_str(yajl_gen, const char *s);          /* NULL writes null */
void json_key(yajl_gen, const char *key);
void json_kv_str(yajl_gen, const char *key, const char *value);
void json_kv_int(yajl_gen, const char *key, int64_t value);
void json_kv_bool(yajl_gen, const char *key, bool value);
void json_kv_null(yajl_gen, const char *key);
/* Writes 'v' (a parsed value) as is. */
void json_value(yajl_gen, yajl_val v);

/* A NeutronError body for 'e' as a malloc'd string. */
char *json_error_body(const struct neutron_error *e);

#endif /* api/json.h */
