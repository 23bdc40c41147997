/* api/json.h: JSON in and out of the API, on yajl.
 *
 * Input: json_parse() refuses documents nested deeper than a limit, or
 * holding more elements than a limit, before yajl builds a tree, so hostile
 * nesting or bulk costs one linear scan.  Output:
 * the yajl_gen helpers of core/jsonv.h, included here, and the error body. */
#ifndef HADRON_JSON_H
#define HADRON_JSON_H 1

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "core/jsonv.h"

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

/* A NeutronError body for 'e' as a malloc'd string. */
char *json_error_body(const struct neutron_error *e);

#endif /* api/json.h */
