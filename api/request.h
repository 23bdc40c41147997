/* api/request.h: one API request as its handler sees it, and the route
 * table that picks the handler.
 *
 * The server (api/server.c) decodes the URL, checks the body, authenticates
 * and then calls the handler of the first route whose pattern matches the
 * path and whose methods include the request's.  A path that matches no
 * pattern is a 404; one that matches only with other methods is a 405.
 *
 * A handler writes its answer into 'out' (a yajl generator) and sets
 * 'status', or returns an error that the server renders as a NeutronError
 * body (and then 'out' is discarded).  Everything reachable from the
 * request lives until the reply is sent. */
#ifndef HADRON_REQUEST_H
#define HADRON_REQUEST_H 1

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "api/auth.h"

struct config;
struct db;
struct neutron_error;

enum api_method {
    API_GET = 1 << 0,
    API_POST = 1 << 1,
    API_PUT = 1 << 2,
    API_DELETE = 1 << 3,
    API_HEAD = 1 << 4,
    API_PATCH = 1 << 5,
    API_OTHER = 1 << 6,
};

struct api_param {
    char *key;
    char *value;
};

#define API_MAX_PATH_PARAMS 4

struct api_request {
    enum api_method method;
    const char *method_name;
    char *path;                     /* decoded, no query, no ".json" */
    struct api_param *query;        /* decoded, in order, repeats kept */
    size_t n_query;
    const char *path_params[API_MAX_PATH_PARAMS];   /* the "{}" segments */
    size_t n_path_params;
    yajl_val body;                  /* NULL when the request had none */
    char *base_url;                 /* "http://host:port", for links */
    char request_id[48];            /* "req-<uuid>" */
    struct auth_context auth;

    struct db *db;                  /* this worker's connection */
    const struct config *cfg;

    /* Answer. */
    int status;                     /* 200 unless the handler changes it */
    yajl_gen out;
    /* A handler answering other than JSON sets these instead of 'out':
     * 'text_body' (malloc'd, freed by the server), its length, and the
     * Content-Type. */
    char *text_body;
    size_t text_len;
    const char *content_type;
    int route_index;                /* set by api_routes_match(), or -1 */

    char *params_buf__;             /* holds what path_params point to */
    void *server_private__;
};

/* The value of request header 'name' (any case), or NULL. */
const char *api_request_header(const struct api_request *, const char *name);

/* Adds a response header (both strings copied). */
void api_request_add_header(struct api_request *, const char *name,
                            const char *value);

typedef struct neutron_error *api_handler(struct api_request *,
                                          const void *aux);

struct api_route {
    const char *pattern;            /* "/v2.0/networks/{}": "{}" = any one
                                     * segment, kept in path_params */
    unsigned int methods;           /* API_GET | API_POST | ... */
    api_handler *handler;
    const void *aux;                /* passed to the handler */
};

/* Adds 'n' routes (kept by pointer; must outlive the server).  Called at
 * start, before the server runs. */
void api_routes_register(const struct api_route *routes, size_t n);

/* Finds the route for 'method' and 'path', filling req->path_params.
 * Returns the route, or NULL with '*allowed' set to the methods that would
 * have matched the path (0: no pattern matched). */
const struct api_route *api_routes_match(struct api_request *req,
                                         unsigned int *allowed);

/* The registered routes, in order (route_index counts in the same). */
size_t api_routes_count(void);
const struct api_route *api_route_at(size_t i);

/* Forgets all routes (tests). */
void api_routes_clear(void);

#endif /* api/request.h */
