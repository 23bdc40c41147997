/* core/context.h: who is asking, and on what connection.
 *
 * Every service call takes a `struct op_ctx`: the caller's identity (filled
 * by the API layer's authentication), this worker's database connection,
 * the configuration and the request id for log lines.  Services decide
 * visibility and ownership from it; they never see HTTP. */
#ifndef HADRON_CONTEXT_H
#define HADRON_CONTEXT_H 1

#include <stdbool.h>

struct config;
struct db;

#define AUTH_ID_MAX 256

struct auth_context {
    char project_id[AUTH_ID_MAX];   /* "" for an admin without a project */
    char user_id[AUTH_ID_MAX];
    bool is_admin;
    bool has_member_role;           /* "member" (or admin) among the roles */
};

struct op_ctx {
    struct auth_context auth;
    struct db *db;
    const struct config *cfg;
    const char *request_id;         /* "req-..." or a tool's name */
};

/* True if the caller may act on a resource owned by 'project_id'. */
static inline bool
op_ctx_owns(const struct op_ctx *ctx, const char *project_id)
{
    return ctx->auth.is_admin
           || (project_id && !__builtin_strcmp(ctx->auth.project_id,
                                                project_id));
}

#endif /* core/context.h */
