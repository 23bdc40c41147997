/* core/neutron_error.c: see neutron_error.h. */
#include "core/neutron_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"

static const struct {
    int status;
    const char *type;
} kinds[] = {
#define NE(KIND, STATUS, TYPE) [NE_##KIND] = { STATUS, TYPE },
    NEUTRON_ERROR_KINDS
#undef NE
};

struct neutron_error *
neutron_error_create(enum neutron_error_kind kind, const char *type,
                     const char *fmt, ...)
{
    struct neutron_error *e = xzalloc(sizeof *e);
    va_list args;

    e->kind = kind;
    e->type = xstrdup(type ? type : kinds[kind].type);
    va_start(args, fmt);
    if (vasprintf(&e->message, fmt, args) < 0) {
        e->message = xstrdup("(no message)");
    }
    va_end(args);
    return e;
}

void
neutron_error_destroy(struct neutron_error *e)
{
    if (e) {
        free(e->type);
        free(e->message);
        free(e);
    }
}

int
neutron_error_kind_status(enum neutron_error_kind kind)
{
    return kinds[kind].status;
}

const char *
neutron_error_kind_type(enum neutron_error_kind kind)
{
    return kinds[kind].type;
}

int
neutron_error_http_status(const struct neutron_error *e)
{
    return kinds[e->kind].status;
}
