/* core/neutron_error.h: the error a user or operator reads.
 *
 * Every failure that reaches an API answer is a `struct neutron_error`: a
 * kind (the family, which fixes the HTTP status), Neutron's error type name
 * ("NetworkNotFound") and a message.  NULL means success.  Whoever receives
 * one does exactly one thing with it: handles it, returns it (possibly
 * wrapped), or renders/logs it and frees it. */
#ifndef HADRON_NEUTRON_ERROR_H
#define HADRON_NEUTRON_ERROR_H 1

#include <stdbool.h>

/* kind, HTTP status, default type name */
#define NEUTRON_ERROR_KINDS                                          \
    NE(BAD_REQUEST, 400, "BadRequest")                               \
    NE(UNAUTHORIZED, 401, "Unauthorized")                            \
    NE(FORBIDDEN, 403, "PolicyNotAuthorized")                        \
    NE(NOT_FOUND, 404, "NotFound")                                   \
    NE(METHOD_NOT_ALLOWED, 405, "HTTPMethodNotAllowed")              \
    NE(CONFLICT, 409, "Conflict")                                    \
    NE(PRECONDITION_FAILED, 412, "PreconditionFailed")               \
    NE(TOO_LARGE, 413, "RequestEntityTooLarge")                      \
    NE(UNSUPPORTED_MEDIA, 415, "HTTPUnsupportedMediaType")           \
    NE(INTERNAL, 500, "InternalServerError")                         \
    NE(NOT_IMPLEMENTED, 501, "NotImplemented")                       \
    NE(UNAVAILABLE, 503, "ServiceUnavailable")                       \
    NE(RETRY, 503, "DBDeadlock")

enum neutron_error_kind {
#define NE(KIND, STATUS, TYPE) NE_##KIND,
    NEUTRON_ERROR_KINDS
#undef NE
};

struct neutron_error {
    enum neutron_error_kind kind;
    char *type;                 /* Neutron's exception name */
    char *message;              /* human-readable text */
};

/* Creates an error.  'type' NULL = the kind's default type name. */
struct neutron_error *neutron_error_create(enum neutron_error_kind,
                                           const char *type,
                                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shorthands for the most common families. */
#define neutron_error_bad_request(...) \
    neutron_error_create(NE_BAD_REQUEST, NULL, __VA_ARGS__)
#define neutron_error_invalid_input(...) \
    neutron_error_create(NE_BAD_REQUEST, "InvalidInput", __VA_ARGS__)
#define neutron_error_internal(...) \
    neutron_error_create(NE_INTERNAL, NULL, __VA_ARGS__)

void neutron_error_destroy(struct neutron_error *);

/* True if 'e' asks for its transaction to be run again (NE_RETRY: a
 * deadlock, a lock timeout, or an allocation that lost a race). */
static inline bool
neutron_error_is_retry(const struct neutron_error *e)
{
    return e && e->kind == NE_RETRY;
}

int neutron_error_http_status(const struct neutron_error *);
int neutron_error_kind_status(enum neutron_error_kind);
const char *neutron_error_kind_type(enum neutron_error_kind);

#endif /* core/neutron_error.h */
