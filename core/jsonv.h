/* core/jsonv.h: small helpers over parsed JSON values (yajl trees), for
 * services that read request bodies. */
#ifndef HADRON_JSONV_H
#define HADRON_JSONV_H 1

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* The member 'key' of object 'obj', or NULL (also when 'obj' is not an
 * object). */
yajl_val jsonv_member(yajl_val obj, const char *key);

/* A short text for 'v' in messages, as Python's "%s" prints it (Neutron's
 * messages are Python's): strings as is (cut at 200 bytes), True, False,
 * None, "[]" and "{}" when empty, else "[...]" and "{...}". */
void jsonv_describe(yajl_val v, char *buf, size_t size);

#endif /* core/jsonv.h */
