/* api/keystone.h: auth_strategy = keystone, as keystonemiddleware's
 * auth_token does it.
 *
 * Every request but the public ones ("/", /healthcheck, /metrics) carries
 * the caller's token in X-Auth-Token.  keystone_authenticate() asks Keystone
 * v3 about it (GET {auth_url}/v3/auth/tokens, X-Subject-Token: the user's
 * token, X-Auth-Token: Hadron's own) and fills a `struct auth_context`:
 *
 *   token.project.id       -> project_id
 *   token.user.id          -> user_id
 *   role "admin"           -> is_admin
 *   role "admin"/"member"  -> has_member_role (may create and change;
 *                             "reader" alone, or no role Hadron knows, reads)
 *
 * Hadron's own token comes from POST /v3/auth/tokens with the password of
 * [keystone_authtoken] username in project_name; it is fetched on first use,
 * fetched again shortly before it expires, and once more when Keystone
 * answers a validation with 401 (the token was revoked).
 *
 * Answers, as keystonemiddleware (with delay_auth_decision = false):
 *   - no token, or one Keystone does not know (invalid, expired, revoked):
 *     401, body {"error": {"code": 401, "title": "Unauthorized", "message":
 *     ...}}, WWW-Authenticate: Keystone uri="<www_authenticate_uri>";
 *   - Keystone unreachable, timing out, answering 5xx or refusing Hadron's
 *     own credentials: 503 (a NeutronError body, "HTTPServiceUnavailable").
 *     Never a request let through; never a wait longer than
 *     http_connect_timeout seconds in all (retries included);
 *   - a valid token without a project scope (unscoped, domain- or
 *     system-scoped): 403 "PolicyNotAuthorized".  Neutron's policies all
 *     need the caller's project_id, so such a token can do nothing there
 *     either; Hadron says so at once.
 *
 * Valid tokens are cached, as keystonemiddleware's in-process cache:
 * until min(expires_at, now + token_cache_time), so an expired token is
 * never accepted, and a token revoked at Keystone stays accepted until its
 * cache entry ends (at most token_cache_time seconds; -1 = no cache).  The
 * cache holds token_cache_size tokens at most (least recently used goes
 * first) and keys them by their SHA-256: a token itself is never kept.
 * Invalid tokens are not cached. */
#ifndef HADRON_KEYSTONE_H
#define HADRON_KEYSTONE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/context.h"

struct config;
struct neutron_error;

/* The Keystone client: options, Hadron's own token, the token cache.
 * Shared by the API worker threads. */
struct keystone *keystone_create(const struct config *);
void keystone_destroy(struct keystone *);

/* Fills 'ctx' for 'token' (the X-Auth-Token header, NULL if absent).
 * Returns NULL, or the error to answer (kind NE_UNAUTHORIZED, NE_FORBIDDEN
 * or NE_UNAVAILABLE as above).  May block on Keystone, for at most
 * http_connect_timeout seconds.  Thread-safe. */
struct neutron_error *keystone_authenticate(struct keystone *,
                                            const char *token,
                                            struct auth_context *ctx);

/* The WWW-Authenticate value of a 401: 'Keystone uri="..."'. */
const char *keystone_www_authenticate(const struct keystone *);

/* The body of a 401, as keystonemiddleware writes it (malloc'd). */
char *keystone_unauthorized_body(void);

/* Frees what the calling thread kept (its HTTP connection to Keystone).
 * API workers call it when they exit. */
void keystone_thread_exit(void);

/* Counters, for tests and benchmarks. */
struct keystone_stats {
    unsigned long long cache_hits;
    unsigned long long validations;     /* answers from Keystone */
    unsigned long long service_logins;  /* tokens Hadron fetched */
};
void keystone_get_stats(const struct keystone *, struct keystone_stats *);

/* The token cache on its own (keystone.c uses one; exposed for tests).
 * Thread-safe; 'now' is wall-clock time (expires_at is). */
struct token_cache *token_cache_create(size_t capacity);
void token_cache_destroy(struct token_cache *);
/* True, with the identity in '*ctx', if 'token' is cached and valid at
 * 'now' (an entry found stale is dropped). */
bool token_cache_get(struct token_cache *, const char *token, time_t now,
                     struct auth_context *ctx);
/* Caches 'ctx' for 'token' until 'until' (exclusive), evicting the least
 * recently used entry when full. */
void token_cache_put(struct token_cache *, const char *token,
                     const struct auth_context *ctx, time_t until);
size_t token_cache_count(struct token_cache *);

#endif /* api/keystone.h */
