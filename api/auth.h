/* api/auth.h: who is asking.
 *
 * The API layer turns each request into a `struct auth_context` before any
 * handler runs.  With auth_strategy = noauth (as in Neutron) the project and
 * roles come from the X-Project-Id (or X-Tenant-Id) and X-Roles headers, and
 * a request without a project is an admin request.  Keystone plugs in here
 * later, as another strategy filling the same struct. */
#ifndef HADRON_AUTH_H
#define HADRON_AUTH_H 1

#include <stdbool.h>

#include "core/context.h"

struct neutron_error;

/* Looks up a request header by name (case-insensitive); NULL if absent. */
typedef const char *auth_header_fn(void *aux, const char *name);

/* Fills 'ctx' for a request whose headers 'header(aux, name)' returns.
 * Returns NULL, or an error to answer with (a malformed header). */
struct neutron_error *auth_noauth(auth_header_fn *header, void *aux,
                                  struct auth_context *ctx);

#endif /* api/auth.h */
