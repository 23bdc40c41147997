/* tests/lib/kstest.h: a real Keystone for tests (contrib/keystone.sh) and
 * a few calls to it.  The cloud contrib/keystone.sh makes: users admin,
 * hadron, member-of-A, reader-of-A, member-of-B, each with the password
 * "secret-<user>".  Failures fail the (cmocka) test. */
#ifndef HADRON_KSTEST_H
#define HADRON_KSTEST_H 1

#include <stddef.h>

/* Path of contrib/keystone.sh (set by the program before use). */
extern const char *kstest_script;

/* A TCP port free right now on 127.0.0.1. */
int kstest_free_port(void);

/* Runs contrib/keystone.sh with the arguments that follow (NULL-ended),
 * with KEYSTONE_TOKEN_EXPIRATION='expiration' if nonnull; fails the test
 * unless it exits 0. */
void kstest_keystone_sh(const char *expiration, ...);

/* An answer of Keystone. */
struct buf {
    char *data;                 /* body, NUL-terminated */
    size_t len;
    char *subject;              /* X-Subject-Token, or NULL */
};

/* One request to the Keystone on 127.0.0.1:'port' ('path' after "/v3"),
 * with X-Auth-Token 'token' and X-Subject-Token 'subject' if nonnull.
 * Returns the status (0: no answer); the answer in '*b' (caller frees its
 * members). */
long kstest_call(int port, const char *method, const char *path,
                 const char *token, const char *subject, const char *body,
                 struct buf *b);

/* A token of 'user' scoped to 'project' (NULL: unscoped), malloc'd. */
char *kstest_token(int port, const char *user, const char *project);

#endif /* tests/lib/kstest.h */
