/* api/server.c: see server.h.
 *
 * One general callback receives every request; routing is our own table
 * (request.h), because evhtp's own callbacks match by prefix.  The path of
 * a request: decode URL -> check size, type, JSON -> authenticate -> route
 * -> handler -> render -> one access-log line. */
#include "api/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <evhtp/evhtp.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/json.h"
#include "api/keystone.h"
#include "api/metrics.h"
#include "api/request.h"
#include "core/config.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"

struct api_server {
    const struct config *cfg;
    struct keystone *keystone;      /* auth_strategy = keystone, or NULL */
    evhtp_t *htp;
    int port;
    bool listening;
    int in_flight;                  /* atomic */
    int db_open;                    /* atomic: workers with a connection */
    bool draining;                  /* atomic */

    /* Open connections, so that shutdown can close idle keep-alive ones
     * on their own threads instead of leaking them. */
    pthread_mutex_t conns_mutex;
    evhtp_connection_t **conns;
    size_t n_conns, cap_conns;
};

struct worker {
    struct db *db;
    char db_error[256];
};

static __thread struct worker *this_worker;

static void
worker_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
    struct api_server *srv = arg;
    struct worker *w = xzalloc(sizeof *w);

    if (db_open(srv->cfg->connection, &w->db, w->db_error,
                sizeof w->db_error)) {
        LOG_ERR("api", "worker cannot open the database: %s", w->db_error);
        w->db = NULL;
    } else {
        __atomic_add_fetch(&srv->db_open, 1, __ATOMIC_RELAXED);
    }
    evthr_set_aux(thr, w);
    this_worker = w;
}

static void
worker_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
    struct worker *w = evthr_get_aux(thr);

    if (w) {
        if (w->db) {
            struct api_server *srv = arg;
            __atomic_sub_fetch(&srv->db_open, 1, __ATOMIC_RELAXED);
        }
        db_close(w->db);
        free(w);
    }
    keystone_thread_exit();
    this_worker = NULL;
}

static enum api_method
method_from_htp(htp_method m)
{
    switch (m) {
    case htp_method_GET: return API_GET;
    case htp_method_POST: return API_POST;
    case htp_method_PUT: return API_PUT;
    case htp_method_DELETE: return API_DELETE;
    case htp_method_HEAD: return API_HEAD;
    case htp_method_PATCH: return API_PATCH;
    default: return API_OTHER;
    }
}

static const char *
method_name(htp_method m)
{
    static const char *const names[] = {
        "GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE",
        "OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "TRACE",
        "CONNECT", "PATCH",
    };
    return m < ARRAY_SIZE(names) ? names[m] : "UNKNOWN";
}

/* True if 's' (length 'len') is valid UTF-8 without NUL or control
 * characters other than tab. */
static bool
text_is_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        int extra;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t') {
                return false;
            }
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
            extra = 1;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
        } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
            extra = 3;
        } else {
            return false;
        }
        for (int k = 1; k <= extra; k++) {
            if (i + k >= len || (p[i + k] & 0xc0) != 0x80) {
                return false;
            }
        }
        i += extra + 1;
    }
    return true;
}

/* Decodes a %-encoded URL part.  Returns NULL if it does not decode to
 * clean text. */
char *
api_url_decode(const char *s, size_t len, bool plus_is_space)
{
    char *raw = xstrndup(s, len);
    size_t out_len;
    char *out = evhttp_uridecode(raw, plus_is_space, &out_len);

    free(raw);
    if (!out) {
        return NULL;
    }
    if (!text_is_clean(out, out_len)) {
        free(out);
        return NULL;
    }
    return out;
}

struct neutron_error *
api_parse_query(struct api_request *req, const char *raw)
{
    const char *p = raw;

    while (p && *p) {
        size_t len = strcspn(p, "&;");
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t) (eq - p) : len;
            char *key = api_url_decode(p, klen, true);
            char *value = eq ? api_url_decode(eq + 1, len - klen - 1, true)
                             : xstrdup("");
            if (!key || !value || !*key) {
                free(key);
                free(value);
                return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                            "Malformed query string");
            }
            if (req->cfg && req->n_query
                            >= (size_t) req->cfg->max_query_params) {
                free(key);
                free(value);
                return neutron_error_create(
                    NE_BAD_REQUEST, "HTTPBadRequest", "Too many query "
                    "parameters: at most %d are allowed in one request.",
                    req->cfg->max_query_params);
            }
            req->query = xrealloc(req->query,
                                  (req->n_query + 1) * sizeof *req->query);
            req->query[req->n_query].key = key;
            req->query[req->n_query].value = value;
            req->n_query++;
        }
        p += len;
        if (*p) {
            p++;
        }
    }
    return NULL;
}

struct header_lookup {
    evhtp_headers_t *headers;
    const char *name;
    const char *found;
};

static int
header_iter(evhtp_kv_t *kv, void *arg)
{
    struct header_lookup *hl = arg;

    if (kv->key && !strcasecmp(kv->key, hl->name)) {
        hl->found = kv->val;
        return 1;
    }
    return 0;
}

static const char *
find_header(evhtp_headers_t *headers, const char *name)
{
    struct header_lookup hl = { .headers = headers, .name = name };

    evhtp_kvs_for_each(headers, header_iter, &hl);
    return hl.found;
}

const char *
api_request_header(const struct api_request *req, const char *name)
{
    evhtp_request_t *r = req->server_private__;
    return find_header(r->headers_in, name);
}

void
api_request_add_header(struct api_request *req, const char *name,
                       const char *value)
{
    evhtp_request_t *r = req->server_private__;
    evhtp_headers_add_header(r->headers_out,
                             evhtp_header_new(name, value, 1, 1));
}

static const char *
auth_header(void *aux, const char *name)
{
    return api_request_header(aux, name);
}

static bool
content_type_is_json(const char *ct)
{
    size_t len = strcspn(ct, ";");
    while (len && isspace((unsigned char) ct[len - 1])) {
        len--;
    }
    return len == strlen("application/json")
           && !strncasecmp(ct, "application/json", len);
}

/* Everything before the handler.  Returns NULL or the error to answer. */
static struct neutron_error *
prepare_request(struct api_server *srv, evhtp_request_t *r,
                struct api_request *req)
{
    const char *raw_path = r->uri && r->uri->path && r->uri->path->full
                           ? r->uri->path->full : "/";
    struct evbuffer *in = r->buffer_in;
    size_t body_len = in ? evbuffer_get_length(in) : 0;
    const char *host = find_header(r->headers_in, "Host");
    struct neutron_error *error;

    req->base_url = host && text_is_clean(host, strlen(host))
                    && !strpbrk(host, "\"\\ /")
                    ? xasprintf("http://%s", host)
                    : xasprintf("http://%s:%d", srv->cfg->bind_host,
                                srv->port);

    req->path = api_url_decode(raw_path, strlen(raw_path), false);
    if (!req->path) {
        req->path = xstrdup("/");
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Malformed request URL");
    }
    size_t plen = strlen(req->path);
    if (plen > 1 && req->path[plen - 1] == '/') {
        req->path[--plen] = '\0';
    }
    if (str_ends_with(req->path, ".json")) {
        req->path[plen - 5] = '\0';
    }
    /* Health checks and scrapes carry no credentials; their handlers
     * cope without a database.  Under Keystone the versions document
     * ("/") is public too, as in Neutron's paste pipeline, and the token
     * is checked before anything else is looked at, as keystonemiddleware
     * sits in front of Neutron. */
    bool public = metrics_path_is_public(req->path)
                  || (srv->keystone && !strcmp(req->path, "/"));
    if (!public && srv->keystone) {
        error = keystone_authenticate(srv->keystone,
                                      find_header(r->headers_in,
                                                  "X-Auth-Token"),
                                      &req->auth);
        if (error) {
            return error;
        }
    }
    if (r->uri && r->uri->query_raw) {
        error = api_parse_query(req, (const char *) r->uri->query_raw);
        if (error) {
            return error;
        }
    }

    if (body_len > (size_t) srv->cfg->max_request_body_size
        || evhtp_request_content_len(r)
           > (uint64_t) srv->cfg->max_request_body_size) {
        evhtp_request_set_keepalive(r, 0);
        return neutron_error_create(NE_TOO_LARGE, NULL,
                                    "Request is too large.");
    }
    if (body_len) {
        const char *ct = find_header(r->headers_in, "Content-Type");
        if (ct && !content_type_is_json(ct)) {
            return neutron_error_create(NE_UNSUPPORTED_MEDIA, NULL,
                                        "Unsupported Content-Type");
        }
        const char *text = (const char *) evbuffer_pullup(in, -1);
        size_t skip = 0;
        while (skip < body_len && isspace((unsigned char) text[skip])) {
            skip++;
        }
        if (skip < body_len) {
            error = json_parse_limited(text, body_len,
                                       srv->cfg->max_json_depth,
                                       srv->cfg->max_json_elements,
                                       &req->body);
            if (error) {
                return error;
            }
        }
    }

    if (!public && !srv->keystone) {
        error = auth_noauth(auth_header, req, &req->auth);
        if (error) {
            return error;
        }
    }
    if (!public && !req->db) {
        return neutron_error_create(NE_UNAVAILABLE, NULL,
                                    "The database is not available.");
    }
    return NULL;
}

static void
method_list(unsigned int methods, char *buf, size_t size)
{
    static const struct { unsigned int m; const char *name; } names[] = {
        { API_GET, "GET" }, { API_POST, "POST" }, { API_PUT, "PUT" },
        { API_DELETE, "DELETE" }, { API_HEAD, "HEAD" }, { API_PATCH, "PATCH" },
    };
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (methods & names[i].m) {
            n += snprintf(buf + n, n < size ? size - n : 0, "%s%s",
                          n ? ", " : "", names[i].name);
        }
    }
}

static struct neutron_error *
dispatch(struct api_request *req, evhtp_request_t *r)
{
    unsigned int allowed;
    const struct api_route *route = api_routes_match(req, &allowed);

    if (route) {
        return route->handler(req, route->aux);
    }
    if (allowed) {
        char methods[64];
        method_list(allowed, methods, sizeof methods);
        api_request_add_header(req, "Allow", methods);
        return neutron_error_create(NE_METHOD_NOT_ALLOWED, NULL,
                                    "The method %s is not allowed for "
                                    "this resource.", req->method_name);
    }
    return neutron_error_create(NE_NOT_FOUND, "HTTPNotFound",
                                "The resource could not be found.");
}

static void
free_request(struct api_request *req)
{
    for (size_t i = 0; i < req->n_query; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    free(req->query);
    free(req->path);
    free(req->params_buf__);
    free(req->base_url);
    free(req->text_body);
    yajl_tree_free(req->body);
    yajl_gen_free(req->out);
}

static void
handle_request(evhtp_request_t *r, void *arg)
{
    struct api_server *srv = arg;
    struct api_request req = {
        .cfg = srv->cfg,
        .db = this_worker ? this_worker->db : NULL,
        .status = 200,
        .route_index = -1,
        .server_private__ = r,
    };
    uint64_t start = time_monotonic_usec();
    struct neutron_error *error;
    char uuid[UUID_STR_LEN];

    __atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
    uuid_new(uuid);
    snprintf(req.request_id, sizeof req.request_id, "req-%s", uuid);
    req.method = method_from_htp(r->method);
    req.method_name = method_name(r->method);
    req.out = json_gen_create();

    error = prepare_request(srv, r, &req);
    if (!error) {
        error = dispatch(&req, r);
    }

    evhtp_headers_t *out = r->headers_out;
    if (error) {
        bool unauthenticated = srv->keystone
                               && error->kind == NE_UNAUTHORIZED;
        char *body = unauthenticated ? keystone_unauthorized_body()
                                     : json_error_body(error);
        req.status = neutron_error_http_status(error);
        if (unauthenticated) {
            /* As keystonemiddleware: where to get a token. */
            evhtp_headers_add_header(out, evhtp_header_new(
                "WWW-Authenticate", keystone_www_authenticate(srv->keystone),
                0, 1));
        }
        /* An internal error is the operator's business; a 503 (no free
         * segment, database busy) is the service working as designed. */
        if (req.status >= 500) {
            LOG_RL(req.status == 503 ? LOG_LEVEL_WARN : LOG_LEVEL_ERR, "api",
                   "%s %s %s: %s: %s", req.request_id, req.method_name,
                   req.path ? req.path : "?", error->type, error->message);
        }
        evbuffer_add(r->buffer_out, body, strlen(body));
        free(body);
        neutron_error_destroy(error);
    } else if (req.text_body) {
        if (req.method != API_HEAD) {
            evbuffer_add(r->buffer_out, req.text_body, req.text_len);
        }
    } else if (req.status != 204 && req.method != API_HEAD) {
        const unsigned char *buf;
        size_t len;
        yajl_gen_get_buf(req.out, &buf, &len);
        evbuffer_add(r->buffer_out, buf, len);
    }
    if (req.status != 204) {
        evhtp_headers_add_header(out, evhtp_header_new(
            "Content-Type", !error && req.text_body && req.content_type
                            ? req.content_type : "application/json", 0, 0));
    }
    evhtp_headers_add_header(out, evhtp_header_new(
        "X-Openstack-Request-Id", req.request_id, 0, 1));
    if (__atomic_load_n(&srv->draining, __ATOMIC_SEQ_CST)) {
        evhtp_request_set_keepalive(r, 0);
    }
    evhtp_send_reply(r, req.status);

    uint64_t usec = time_monotonic_usec() - start;
    double ms = usec / 1000.0;
    metrics_observe(req.route_index, req.method, req.status, usec);
    LOG_INFO("api", "%s %s %s %d %.3f ms project=%s", req.request_id,
             req.method_name, req.path ? req.path : "?", req.status, ms,
             req.auth.project_id[0] ? req.auth.project_id : "-");
    free_request(&req);
    __atomic_sub_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
}

/* A request's line and headers must all arrive within
 * client_header_timeout seconds of its first byte (nginx's
 * client_header_timeout): the idle timeout alone never cuts a client that
 * sends one byte a second.  Each connection has a guard whose timer ticks
 * every eighth of the deadline and watches the request being read, so a
 * trickling client is closed within 9/8 of the deadline.  evhtp allocates
 * c->request at a request's first byte and frees it after the answer (or
 * with the connection); on_headers marks the request whose headers are
 * all in, on_request_fini forgets it. */
struct conn_guard {
    struct api_server *srv;
    evhtp_connection_t *conn;
    struct event *tick;             /* NULL: no deadline */
    evhtp_request_t *watched;       /* request seen being read, or NULL */
    uint64_t watched_since;         /* when first seen (monotonic usec) */
    evhtp_request_t *headers_done;  /* request whose headers are all in */
};

static void
guard_tick(evutil_socket_t fd, short what, void *guard_)
{
    struct conn_guard *g = guard_;
    evhtp_request_t *r = g->conn->request;
    uint64_t now = time_monotonic_usec();

    if (!r || r == g->headers_done) {
        g->watched = NULL;
    } else if (r != g->watched) {
        g->watched = r;
        g->watched_since = now;
    } else if (now - g->watched_since
               >= (uint64_t) g->srv->cfg->client_header_timeout * 1000000) {
        LOG_RL(LOG_LEVEL_WARN, "api", "closing a connection: request "
               "headers not complete after %d s (client_header_timeout)",
               g->srv->cfg->client_header_timeout);
        evhtp_connection_free(g->conn);     /* frees 'g' (on_conn_fini) */
    }
}

static struct conn_guard *
guard_create(struct api_server *srv, evhtp_connection_t *c)
{
    struct conn_guard *g = xzalloc(sizeof *g);
    int timeout = srv->cfg->client_header_timeout;

    g->srv = srv;
    g->conn = c;
    if (timeout > 0) {
        uint64_t usec = (uint64_t) timeout * 1000000 / 8;
        struct timeval tv = { .tv_sec = usec / 1000000,
                              .tv_usec = usec % 1000000 };
        g->tick = event_new(c->evbase, -1, EV_PERSIST, guard_tick, g);
        event_add(g->tick, &tv);
    }
    return g;
}

static void
guard_destroy(struct conn_guard *g)
{
    if (g) {
        /* evhtp frees the connection's request after its fini hook: that
         * request's fini must not reach 'g'. */
        evhtp_connection_unset_hook(g->conn, evhtp_hook_on_request_fini);
        if (g->tick) {
            event_free(g->tick);
        }
        free(g);
    }
}

static evhtp_res
on_request_fini(evhtp_request_t *r, void *guard_)
{
    struct conn_guard *g = guard_;

    if (g->headers_done == r) {
        g->headers_done = NULL;
    }
    if (g->watched == r) {
        g->watched = NULL;
    }
    return EVHTP_RES_OK;
}

/* Discards a refused request body as it arrives. */
static evhtp_res
drain_body(evhtp_request_t *r, struct evbuffer *buf, void *arg)
{
    evbuffer_drain(buf, evbuffer_get_length(buf));
    return EVHTP_RES_OK;
}

/* A body announced over the limit is read and thrown away (up to a cap)
 * so that the client, which is still sending, gets a clean 413 instead of
 * a reset connection; handle_request() answers it. */
#define REFUSED_BODY_CAP (64 * 1024 * 1024)

static evhtp_res
check_content_length(evhtp_request_t *r, evhtp_headers_t *hdr, void *guard_)
{
    struct conn_guard *g = guard_;
    struct api_server *srv = g->srv;
    uint64_t len = evhtp_request_content_len(r);

    g->headers_done = r;

    if (len > (uint64_t) srv->cfg->max_request_body_size) {
        evhtp_request_set_hook(r, evhtp_hook_on_read, (evhtp_hook) drain_body,
                               NULL);
        evhtp_request_set_max_body_size(r, REFUSED_BODY_CAP);
    }
    return EVHTP_RES_OK;
}

/* Request headers are capped in number and in total size: the HTTP parser
 * caps each header line (8 KB), not how many come, so without this a
 * client could grow one request's headers without bound. */
#define MAX_HEADERS 100
#define MAX_HEADERS_SIZE (64 * 1024)

/* evhtp_hook_on_header: runs once a header has been parsed and added to
 * r->headers_in.  Refusing one makes evhtp drop the connection.  The walk
 * is bounded: at most MAX_HEADERS + 1 headers are ever there. */
static evhtp_res
check_header(evhtp_request_t *r, evhtp_header_t *hdr, void *arg)
{
    size_t n = 0, size = 0;
    evhtp_header_t *h;

    TAILQ_FOREACH(h, r->headers_in, next) {
        n++;
        size += h->klen + h->vlen + 4;      /* ": " and CRLF */
    }
    if (n > MAX_HEADERS || size > MAX_HEADERS_SIZE) {
        LOG_WARN("api", "closing a connection: request headers over %d or "
                 "%d bytes", MAX_HEADERS, MAX_HEADERS_SIZE);
        return EVHTP_RES_ERROR;
    }
    return EVHTP_RES_OK;
}

/* Removes 'c' from the open connections; true if it was there. */
static bool
forget_connection(struct api_server *srv, evhtp_connection_t *c)
{
    bool found = false;

    pthread_mutex_lock(&srv->conns_mutex);
    for (size_t i = 0; i < srv->n_conns; i++) {
        if (srv->conns[i] == c) {
            srv->conns[i] = srv->conns[--srv->n_conns];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&srv->conns_mutex);
    return found;
}

static evhtp_res
on_connection_fini(evhtp_connection_t *c, void *guard_)
{
    struct conn_guard *g = guard_;

    forget_connection(g->srv, c);
    guard_destroy(g);
    return EVHTP_RES_OK;
}

static evhtp_res
on_accept(evhtp_connection_t *c, void *arg)
{
    struct api_server *srv = arg;

    pthread_mutex_lock(&srv->conns_mutex);
    if (srv->n_conns == srv->cap_conns) {
        srv->cap_conns = srv->cap_conns ? srv->cap_conns * 2 : 64;
        srv->conns = xrealloc(srv->conns,
                              srv->cap_conns * sizeof *srv->conns);
    }
    srv->conns[srv->n_conns++] = c;
    pthread_mutex_unlock(&srv->conns_mutex);
    evhtp_connection_set_hook(c, evhtp_hook_on_header,
                              (evhtp_hook) check_header, arg);
    struct conn_guard *g = guard_create(srv, c);
    evhtp_connection_set_hook(c, evhtp_hook_on_headers,
                              (evhtp_hook) check_content_length, g);
    evhtp_connection_set_hook(c, evhtp_hook_on_request_fini,
                              (evhtp_hook) on_request_fini, g);
    evhtp_connection_set_hook(c, evhtp_hook_on_connection_fini,
                              (evhtp_hook) on_connection_fini, g);
    return EVHTP_RES_OK;
}

struct close_job {
    struct api_server *srv;
    evhtp_connection_t *conn;
};

/* Runs on the connection's own thread, so it cannot race with a request
 * on it; the connection may have closed meanwhile, hence the look-up. */
static void
close_connection_cb(evthr_t *thr, void *arg, void *shared)
{
    struct close_job *job = arg;

    if (forget_connection(job->srv, job->conn)) {
        evhtp_connection_free(job->conn);   /* its fini frees its guard */
    }
    free(job);
}

void
api_server_close_connections(struct api_server *srv)
{
    pthread_mutex_lock(&srv->conns_mutex);
    for (size_t i = 0; i < srv->n_conns; i++) {
        struct close_job *job = xmalloc(sizeof *job);
        job->srv = srv;
        job->conn = srv->conns[i];
        evthr_defer(srv->conns[i]->thread, close_connection_cb, job);
    }
    pthread_mutex_unlock(&srv->conns_mutex);
}

size_t
api_server_open_connections(struct api_server *srv)
{
    pthread_mutex_lock(&srv->conns_mutex);
    size_t n = srv->n_conns;
    pthread_mutex_unlock(&srv->conns_mutex);
    return n;
}

/* Resolves 'host' to a numeric IPv4 or IPv6 address for evhtp, which
 * mishandles names (PLATFORM.md: "localhost" binds 255.255.255.255). */
static char *
resolve_bind_host(const char *host, char **errmsg)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *ai;
    char addr[INET6_ADDRSTRLEN];
    int rc = getaddrinfo(host, NULL, &hints, &ai);

    if (rc) {
        *errmsg = xasprintf("bind_host %s: %s", host, gai_strerror(rc));
        return NULL;
    }
    if (ai->ai_family == AF_INET6) {
        inet_ntop(AF_INET6,
                  &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr,
                  addr, sizeof addr);
        freeaddrinfo(ai);
        return xasprintf("ipv6:%s", addr);
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *) ai->ai_addr)->sin_addr,
              addr, sizeof addr);
    freeaddrinfo(ai);
    return xasprintf("ipv4:%s", addr);
}

static int
bound_port(evhtp_t *htp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = evconnlistener_get_fd(htp->server);

    if (getsockname(fd, (struct sockaddr *) &ss, &len)) {
        return -1;
    }
    return ntohs(ss.ss_family == AF_INET6
                 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                 : ((struct sockaddr_in *) &ss)->sin_port);
}

struct api_server *
api_server_create(const struct config *cfg, struct event_base *base,
                  char **errmsg)
{
    struct api_server *srv = xzalloc(sizeof *srv);
    char *addr = resolve_bind_host(cfg->bind_host, errmsg);

    *errmsg = addr ? NULL : *errmsg;
    if (!addr) {
        free(srv);
        return NULL;
    }
    srv->cfg = cfg;
    if (!strcmp(cfg->auth_strategy, "keystone")) {
        srv->keystone = keystone_create(cfg);
    }
    pthread_mutex_init(&srv->conns_mutex, NULL);
    srv->htp = evhtp_new(base, NULL);
    evhtp_set_gencb(srv->htp, handle_request, srv);
    evhtp_set_post_accept_cb(srv->htp, on_accept, srv);
    /* Answers go out as headers then body: without TCP_NODELAY a large
     * body waits ~40 ms for the client's delayed ACK. */
    evhtp_enable_flag(srv->htp, EVHTP_FLAG_ENABLE_NODELAY);
    /* Slack over the limit so that we, not evhtp, answer 413 for bodies
     * slightly too large; evhtp cuts off anything far beyond. */
    evhtp_set_max_body_size(srv->htp, (uint64_t) cfg->max_request_body_size
                                      + 65536);
    /* A connection idle this long, also in the middle of a request's
     * headers or body (a slow-loris client), is closed.  Workers are event
     * loops, so a slow client never blocks one; the timeout bounds the
     * sockets and memory such clients can hold. */
    if (cfg->client_socket_timeout > 0) {
        struct timeval tv = { .tv_sec = cfg->client_socket_timeout };
        evhtp_set_timeouts(srv->htp, &tv, &tv);
    }
    evhtp_use_threads_wexit(srv->htp, worker_init, worker_exit,
                            cfg->api_workers, srv);
    if (evhtp_bind_socket(srv->htp, addr, cfg->bind_port, 1024)) {
        *errmsg = xasprintf("cannot listen on %s port %d: %s", addr,
                            cfg->bind_port, strerror(errno));
        free(addr);
        evhtp_free(srv->htp);
        pthread_mutex_destroy(&srv->conns_mutex);
        keystone_destroy(srv->keystone);
        free(srv);
        return NULL;
    }
    free(addr);
    srv->listening = true;
    srv->port = bound_port(srv->htp);
    metrics_init(srv);
    return srv;
}

int
api_server_port(const struct api_server *srv)
{
    return srv->port;
}

void
api_server_stop_accepting(struct api_server *srv)
{
    __atomic_store_n(&srv->draining, true, __ATOMIC_SEQ_CST);
    if (srv->listening) {
        evhtp_unbind_socket(srv->htp);
        srv->listening = false;
    }
}

int
api_server_in_flight(const struct api_server *srv)
{
    return __atomic_load_n(&srv->in_flight, __ATOMIC_SEQ_CST);
}

int
api_server_db_connections(const struct api_server *srv)
{
    return __atomic_load_n(&srv->db_open, __ATOMIC_RELAXED);
}

void
api_server_destroy(struct api_server *srv)
{
    if (srv) {
        api_server_stop_accepting(srv);
        evhtp_free(srv->htp);
        free(srv->conns);
        pthread_mutex_destroy(&srv->conns_mutex);
        keystone_destroy(srv->keystone);
        free(srv);
    }
}
