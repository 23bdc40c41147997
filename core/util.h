/* core/util.h: memory and string helpers used everywhere.
 *
 * The x* allocators abort on out-of-memory, so their results are never
 * checked.  String helpers never overflow: they truncate and say so. */
#ifndef HADRON_UTIL_H
#define HADRON_UTIL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof (a) / sizeof (a)[0])
/* The value of macro 'x' as a string literal. */
#define STRINGIFY(x) STRINGIFY__(x)
#define STRINGIFY__(x) #x

void *xmalloc(size_t);
void *xzalloc(size_t);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most 'size' - 1 bytes of 'src' into 'dst' and terminates it.
 * Returns true if 'src' fitted whole. */
bool str_copy(char *dst, const char *src, size_t size);

/* Case-sensitive prefix and suffix tests. */
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);

/* Parses a whole decimal integer in [min, max].  Returns true on success. */
bool str_to_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* The number of characters of the UTF-8 text 's' (its bytes other than
 * continuation bytes): Neutron's lengths count characters, as Python's
 * len() of a str. */
int64_t utf8_length(const char *s);

/* Parses "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off" (any case). */
bool str_to_bool(const char *s, bool *out);

/* A new random UUID (36 characters + NUL) in 'buf'. */
#define UUID_STR_LEN 37
void uuid_new(char buf[UUID_STR_LEN]);

/* True if 's' is a UUID in canonical 8-4-4-4-12 hex form. */
bool uuid_is_valid(const char *s);

/* Current UTC time as Neutron shows it: "2026-11-21T23:57:55Z". */
#define TIMESTAMP_LEN 21
void timestamp_now(char buf[TIMESTAMP_LEN]);

/* Monotonic clock in microseconds. */
uint64_t time_monotonic_usec(void);

#endif /* core/util.h */
