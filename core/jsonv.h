/* core/jsonv.h: small helpers over parsed JSON values (yajl trees), for
 * services that read request bodies, and thin helpers over yajl_gen that
 * write JSON, shared by the API, the L3 core and the drivers (core/ and
 * backends/ may not use api/). */
#ifndef HADRON_JSONV_H
#define HADRON_JSONV_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* The member 'key' of object 'obj', or NULL (also when 'obj' is not an
 * object). */
yajl_val jsonv_member(yajl_val obj, const char *key);

/* A short text for 'v' in messages, as Python's "%s" prints it (Neutron's
 * messages are Python's): strings as is (cut at 200 bytes), True, False,
 * None, "[]" and "{}" when empty, else "[...]" and "{...}". */
void jsonv_describe(yajl_val v, char *buf, size_t size);

/* Output.  A new generator, compact and without UTF-8 validation: every
 * string written comes from yajl's validated input, the server's
 * UTF-8-checked URL or our own database. */
yajl_gen json_gen_create(void);
/* Frees 'g' and returns the text it holds as a malloc'd NUL-terminated
 * string. */
char *json_gen_finish(yajl_gen g);
void json_str(yajl_gen, const char *s);          /* NULL writes null */
void json_key(yajl_gen, const char *key);
void json_kv_str(yajl_gen, const char *key, const char *value);
void json_kv_int(yajl_gen, const char *key, int64_t value);
void json_kv_bool(yajl_gen, const char *key, bool value);
void json_kv_null(yajl_gen, const char *key);
/* Writes 'v' (a parsed value; NULL writes null) as is. */
void json_value(yajl_gen, yajl_val v);
/* Writes the JSON text 'json' as a value, unchecked: it must be text we
 * produced ourselves (a column we wrote, a document we built). */
void json_raw(yajl_gen, const char *json);

#endif /* core/jsonv.h */
