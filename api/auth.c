/* api/auth.c: see auth.h. */
#include "api/auth.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/neutron_error.h"
#include "core/util.h"

/* True if the comma-separated 'list' contains 'role' (any case, spaces
 * around items ignored). */
static bool
role_in_list(const char *list, const char *role)
{
    size_t rlen = strlen(role);
    const char *p = list;

    while (*p) {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *end = p;
        while (*end && *end != ',') {
            end++;
        }
        const char *last = end;
        while (last > p && last[-1] == ' ') {
            last--;
        }
        if ((size_t) (last - p) == rlen && !strncasecmp(p, role, rlen)) {
            return true;
        }
        p = end;
    }
    return false;
}

static bool
id_is_printable(const char *s)
{
    for (; *s; s++) {
        if (!isgraph((unsigned char) *s)) {
            return false;
        }
    }
    return true;
}

struct neutron_error *
auth_noauth(auth_header_fn *header, void *aux, struct auth_context *ctx)
{
    const char *project = header(aux, "X-Project-Id");
    const char *roles = header(aux, "X-Roles");
    const char *user = header(aux, "X-User-Id");

    memset(ctx, 0, sizeof *ctx);
    if (!project) {
        project = header(aux, "X-Tenant-Id");
    }
    if (project && (strlen(project) >= AUTH_ID_MAX
                    || !id_is_printable(project))) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Invalid X-Project-Id header");
    }
    if (user && (strlen(user) >= AUTH_ID_MAX || !id_is_printable(user))) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Invalid X-User-Id header");
    }
    if (project && *project) {
        str_copy(ctx->project_id, project, sizeof ctx->project_id);
        ctx->is_admin = roles && role_in_list(roles, "admin");
    } else {
        ctx->is_admin = true;
    }
    ctx->has_member_role = ctx->is_admin || !roles
                           || role_in_list(roles, "member");
    if (user) {
        str_copy(ctx->user_id, user, sizeof ctx->user_id);
    }
    return NULL;
}
