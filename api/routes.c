/* api/routes.c: the route table (see request.h).  Patterns are compared
 * segment by segment; "{}" takes any one non-empty segment. */
#include "api/request.h"

#include <string.h>

#include "core/util.h"

static const struct api_route **routes;
static size_t n_routes;

void
api_routes_register(const struct api_route *table, size_t n)
{
    routes = xrealloc(routes, (n_routes + n) * sizeof *routes);
    for (size_t i = 0; i < n; i++) {
        routes[n_routes++] = &table[i];
    }
}

size_t
api_routes_count(void)
{
    return n_routes;
}

const struct api_route *
api_route_at(size_t i)
{
    return i < n_routes ? routes[i] : NULL;
}

void
api_routes_clear(void)
{
    free(routes);
    routes = NULL;
    n_routes = 0;
}

/* Matches 'path' against 'pattern'.  On success stores the offsets of the
 * "{}" segments in 'offs' and returns true. */
static bool
pattern_match(const char *pattern, const char *path, size_t *offs,
              size_t *n_offs)
{
    const char *p = path;
    const char *q = pattern;
    size_t n = 0;

    while (*q && *p) {
        if (*q != '/' || *p != '/') {
            return false;
        }
        q++;
        p++;
        size_t qlen = strcspn(q, "/");
        size_t plen = strcspn(p, "/");

        if (qlen == 2 && !strncmp(q, "{}", 2)) {
            if (!plen || n >= API_MAX_PATH_PARAMS) {
                return false;
            }
            offs[n++] = p - path;
        } else if (qlen != plen || strncmp(q, p, qlen)) {
            return false;
        }
        q += qlen;
        p += plen;
    }
    if (*q || *p) {
        return false;
    }
    *n_offs = n;
    return true;
}

const struct api_route *
api_routes_match(struct api_request *req, unsigned int *allowed)
{
    *allowed = 0;
    for (size_t i = 0; i < n_routes; i++) {
        size_t offs[API_MAX_PATH_PARAMS];
        size_t n_offs;

        if (!pattern_match(routes[i]->pattern, req->path, offs, &n_offs)) {
            continue;
        }
        if (!(routes[i]->methods & req->method)) {
            *allowed |= routes[i]->methods;
            continue;
        }
        free(req->params_buf__);
        req->params_buf__ = xstrdup(req->path);
        for (size_t j = 0; j < n_offs; j++) {
            char *seg = req->params_buf__ + offs[j];
            seg[strcspn(seg, "/")] = '\0';
            req->path_params[j] = seg;
        }
        req->n_path_params = n_offs;
        req->route_index = (int) i;
        return routes[i];
    }
    return NULL;
}
