/* api/keystone.c: see keystone.h.
 *
 * Each API worker thread keeps its own libcurl handle, so that its
 * connection to Keystone is reused from one validation to the next.  The
 * service token is shared under a mutex; a thread that finds it missing or
 * about to expire logs in while holding the mutex (others wait, within
 * their own deadline), so that Keystone sees one login, not one per
 * thread. */
#include "api/keystone.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <yajl/yajl_tree.h>

#include "api/json.h"
#include "core/config.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/util.h"

/* ---- The token cache. ---- */

#define TOKEN_HASH_LEN 32               /* SHA-256 */

struct cache_entry {
    unsigned char key[TOKEN_HASH_LEN];
    struct auth_context ctx;
    time_t until;
    UT_hash_handle hh;                  /* uthash keeps insertion order:
                                         * the head is the least recently
                                         * used entry */
};

struct token_cache {
    pthread_mutex_t mutex;
    struct cache_entry *entries;
    size_t capacity;
};

static void
token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
    unsigned int len = 0;

    if (!EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL)
        || len != TOKEN_HASH_LEN) {
        /* libcrypto without SHA-256 is not a state we can go on in. */
        LOG_ERR("keystone", "SHA-256 failed");
        abort();
    }
}

struct token_cache *
token_cache_create(size_t capacity)
{
    struct token_cache *c = xzalloc(sizeof *c);

    pthread_mutex_init(&c->mutex, NULL);
    c->capacity = capacity ? capacity : 1;
    return c;
}

void
token_cache_destroy(struct token_cache *c)
{
    if (c) {
        struct cache_entry *e, *next;
        HASH_ITER(hh, c->entries, e, next) {
            HASH_DEL(c->entries, e);
            free(e);
        }
        pthread_mutex_destroy(&c->mutex);
        free(c);
    }
}

bool
token_cache_get(struct token_cache *c, const char *token, time_t now,
                struct auth_context *ctx)
{
    unsigned char key[TOKEN_HASH_LEN];
    struct cache_entry *e;
    bool found = false;

    token_hash(token, key);
    pthread_mutex_lock(&c->mutex);
    HASH_FIND(hh, c->entries, key, sizeof key, e);
    if (e && now >= e->until) {
        HASH_DEL(c->entries, e);
        free(e);
    } else if (e) {
        /* Most recently used: to the tail. */
        HASH_DEL(c->entries, e);
        HASH_ADD(hh, c->entries, key, sizeof e->key, e);
        *ctx = e->ctx;
        found = true;
    }
    pthread_mutex_unlock(&c->mutex);
    return found;
}

void
token_cache_put(struct token_cache *c, const char *token,
                const struct auth_context *ctx, time_t until)
{
    struct cache_entry *e = xzalloc(sizeof *e), *old;

    token_hash(token, e->key);
    e->ctx = *ctx;
    e->until = until;
    pthread_mutex_lock(&c->mutex);
    HASH_FIND(hh, c->entries, e->key, sizeof e->key, old);
    if (old) {
        HASH_DEL(c->entries, old);
        free(old);
    }
    while (HASH_COUNT(c->entries) >= c->capacity) {
        old = c->entries;
        HASH_DEL(c->entries, old);
        free(old);
    }
    HASH_ADD(hh, c->entries, key, sizeof e->key, e);
    pthread_mutex_unlock(&c->mutex);
}

size_t
token_cache_count(struct token_cache *c)
{
    pthread_mutex_lock(&c->mutex);
    size_t n = HASH_COUNT(c->entries);
    pthread_mutex_unlock(&c->mutex);
    return n;
}

/* ---- The client. ---- */

struct keystone {
    const struct config *cfg;
    char *base;                         /* auth_url without a trailing "/"
                                         * or "/v3" */
    char *www_authenticate;             /* 'Keystone uri="..."' */
    struct token_cache *cache;          /* NULL: token_cache_time = -1 */

    pthread_mutex_t service_mutex;
    char *service_token;                /* NULL until logged in */
    time_t service_refresh_at;          /* log in again from then on */

    unsigned long long cache_hits;      /* atomic */
    unsigned long long validations;     /* atomic */
    unsigned long long service_logins;  /* atomic */
};

/* This thread's handle (its kept-alive connection to Keystone). */
static __thread CURL *thread_curl;

struct keystone *
keystone_create(const struct config *cfg)
{
    struct keystone *ks = xzalloc(sizeof *ks);
    size_t len;

    /* Reference-counted, and thread-safe in Debian 12's libcurl. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ks->cfg = cfg;
    ks->base = xstrdup(cfg->ks_auth_url);
    len = strlen(ks->base);
    while (len && ks->base[len - 1] == '/') {
        ks->base[--len] = '\0';
    }
    if (str_ends_with(ks->base, "/v3")) {
        ks->base[len - 3] = '\0';
    }
    ks->www_authenticate = xasprintf("Keystone uri=\"%s\"",
                                     *cfg->ks_www_authenticate_uri
                                     ? cfg->ks_www_authenticate_uri
                                     : cfg->ks_auth_url);
    if (cfg->ks_token_cache_time >= 0) {
        ks->cache = token_cache_create(cfg->ks_token_cache_size);
    }
    pthread_mutex_init(&ks->service_mutex, NULL);
    return ks;
}

void
keystone_destroy(struct keystone *ks)
{
    if (ks) {
        keystone_thread_exit();
        token_cache_destroy(ks->cache);
        pthread_mutex_destroy(&ks->service_mutex);
        free(ks->service_token);
        free(ks->base);
        free(ks->www_authenticate);
        free(ks);
        curl_global_cleanup();
    }
}

void
keystone_thread_exit(void)
{
    if (thread_curl) {
        curl_easy_cleanup(thread_curl);
        thread_curl = NULL;
    }
}

const char *
keystone_www_authenticate(const struct keystone *ks)
{
    return ks->www_authenticate;
}

char *
keystone_unauthorized_body(void)
{
    return xstrdup("{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", "
                   "\"message\": \"The request you have made requires "
                   "authentication.\"}}");
}

void
keystone_get_stats(const struct keystone *ks, struct keystone_stats *s)
{
    s->cache_hits = __atomic_load_n(&ks->cache_hits, __ATOMIC_RELAXED);
    s->validations = __atomic_load_n(&ks->validations, __ATOMIC_RELAXED);
    s->service_logins = __atomic_load_n(&ks->service_logins,
                                        __ATOMIC_RELAXED);
}

/* One answer from Keystone. */
struct ks_response {
    long status;                        /* 0: no answer */
    char *body;
    size_t len;
    char *subject_token;                /* X-Subject-Token, if any */
    char error[CURL_ERROR_SIZE];        /* why there was no answer */
};

/* Keystone's answers are small (no catalog is asked for): a larger one is
 * not Keystone's. */
#define KS_MAX_BODY (1024 * 1024)

static size_t
collect_body(char *data, size_t size, size_t n, void *resp_)
{
    struct ks_response *resp = resp_;
    size_t len = size * n;

    if (resp->len + len > KS_MAX_BODY) {
        return 0;                       /* makes curl fail the transfer */
    }
    resp->body = xrealloc(resp->body, resp->len + len + 1);
    memcpy(resp->body + resp->len, data, len);
    resp->len += len;
    resp->body[resp->len] = '\0';
    return len;
}

static size_t
collect_header(char *data, size_t size, size_t n, void *resp_)
{
    static const char name[] = "X-Subject-Token:";
    struct ks_response *resp = resp_;
    size_t len = size * n;

    if (len > sizeof name - 1 && !strncasecmp(data, name, sizeof name - 1)) {
        const char *v = data + sizeof name - 1;
        const char *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t')) {
            v++;
        }
        while (end > v && isspace((unsigned char) end[-1])) {
            end--;
        }
        free(resp->subject_token);
        resp->subject_token = xstrndup(v, end - v);
    }
    return len;
}

static void
ks_response_clear(struct ks_response *resp)
{
    free(resp->body);
    free(resp->subject_token);
    memset(resp, 0, sizeof *resp);
}

/* Milliseconds left until 'deadline' (monotonic µs), at least 0. */
static long
ms_left(uint64_t deadline)
{
    uint64_t now = time_monotonic_usec();
    return now >= deadline ? 0 : (long) ((deadline - now + 999) / 1000);
}

/* Sends one request to Keystone ('path' after the base URL), retrying
 * connection failures up to http_request_max_retries times, all before
 * 'deadline'.  Returns true with resp->status set if Keystone answered;
 * false with resp->error set otherwise. */
static bool
ks_request(struct keystone *ks, const char *method, const char *path,
           const char *auth_token, const char *subject_token,
           const char *body, uint64_t deadline, struct ks_response *resp)
{
    const struct config *cfg = ks->cfg;
    char *url = xasprintf("%s%s", ks->base, path);
    struct curl_slist *headers = NULL;
    long backoff_ms = 50;
    bool ok = false;

    memset(resp, 0, sizeof *resp);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (body) {
        headers = curl_slist_append(headers,
                                    "Content-Type: application/json");
    }
    if (auth_token) {
        char *h = xasprintf("X-Auth-Token: %s", auth_token);
        headers = curl_slist_append(headers, h);
        free(h);
    }
    if (subject_token) {
        char *h = xasprintf("X-Subject-Token: %s", subject_token);
        headers = curl_slist_append(headers, h);
        free(h);
    }
    if (!thread_curl) {
        thread_curl = curl_easy_init();
    }
    for (int attempt = 0; thread_curl; attempt++) {
        CURL *h = thread_curl;
        long left = ms_left(deadline);

        if (left <= 0) {
            snprintf(resp->error, sizeof resp->error,
                     "no answer within http_connect_timeout (%d s)",
                     cfg->ks_http_connect_timeout);
            break;
        }
        ks_response_clear(resp);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->error);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
        if (*cfg->ks_cafile) {
            curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ks_cafile);
        }
        if (cfg->ks_insecure) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t) strlen(body));
        } else if (strcmp(method, "GET")) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }

        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
            ok = true;
            break;
        }
        if (!*resp->error) {
            snprintf(resp->error, sizeof resp->error, "%s",
                     curl_easy_strerror(rc));
        }
        /* A timeout used the whole budget; only a connection that failed
         * at once is worth another try. */
        if (rc == CURLE_OPERATION_TIMEDOUT
            || attempt >= cfg->ks_http_request_max_retries) {
            break;
        }
        long wait_ms = backoff_ms < ms_left(deadline) ? backoff_ms
                                                      : ms_left(deadline);
        struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        backoff_ms *= 2;
    }
    if (!thread_curl) {
        snprintf(resp->error, sizeof resp->error, "libcurl: no handle");
    }
    curl_slist_free_all(headers);
    free(url);
    return ok;
}

/* Parses Keystone's "2026-01-02T03:04:05.000000Z".  -1 if it is not
 * that. */
static time_t
parse_time(const char *s)
{
    struct tm tm = { 0 };
    int n = 0;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                     &n) != 6 || !n) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static const char *
tree_str(yajl_val root, const char **path)
{
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

static struct neutron_error *
unauthorized(void)
{
    return neutron_error_create(NE_UNAUTHORIZED, "HTTPUnauthorized",
                                "The request you have made requires "
                                "authentication.");
}

static struct neutron_error *
unavailable(void)
{
    return neutron_error_create(NE_UNAVAILABLE, "HTTPServiceUnavailable",
                                "The Keystone service is temporarily "
                                "unavailable.");
}

/* Logs in as Hadron's service user.  Called with service_mutex held. */
static struct neutron_error *
service_login(struct keystone *ks, uint64_t deadline)
{
    const struct config *cfg = ks->cfg;
    yajl_gen g = json_gen_create();
    struct ks_response resp;
    struct neutron_error *error = NULL;

    yajl_gen_map_open(g);
    json_key(g, "auth");
    yajl_gen_map_open(g);
    json_key(g, "identity");
    yajl_gen_map_open(g);
    json_key(g, "methods");
    yajl_gen_array_open(g);
    json_str(g, "password");
    yajl_gen_array_close(g);
    json_key(g, "password");
    yajl_gen_map_open(g);
    json_key(g, "user");
    yajl_gen_map_open(g);
    json_kv_str(g, "name", cfg->ks_username);
    json_kv_str(g, "password", cfg->ks_password);
    json_key(g, "domain");
    yajl_gen_map_open(g);
    if (*cfg->ks_user_domain_id) {
        json_kv_str(g, "id", cfg->ks_user_domain_id);
    } else {
        json_kv_str(g, "name", cfg->ks_user_domain_name);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);              /* user */
    yajl_gen_map_close(g);              /* password */
    yajl_gen_map_close(g);              /* identity */
    json_key(g, "scope");
    yajl_gen_map_open(g);
    json_key(g, "project");
    yajl_gen_map_open(g);
    json_kv_str(g, "name", cfg->ks_project_name);
    json_key(g, "domain");
    yajl_gen_map_open(g);
    if (*cfg->ks_project_domain_id) {
        json_kv_str(g, "id", cfg->ks_project_domain_id);
    } else {
        json_kv_str(g, "name", cfg->ks_project_domain_name);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);              /* project */
    yajl_gen_map_close(g);              /* scope */
    yajl_gen_map_close(g);              /* auth */
    yajl_gen_map_close(g);
    char *body = json_gen_finish(g);

    bool answered = ks_request(ks, "POST", "/v3/auth/tokens?nocatalog", NULL,
                               NULL, body, deadline, &resp);
    free(body);
    if (!answered) {
        LOG_RL(LOG_LEVEL_WARN, "keystone", "cannot log in to %s: %s",
               ks->base, resp.error);
        error = unavailable();
    } else if (resp.status != 201 || !resp.subject_token
               || !*resp.subject_token) {
        LOG_RL(LOG_LEVEL_WARN, "keystone", "%s refused Hadron's credentials "
               "([keystone_authtoken] username %s, project_name %s): "
               "HTTP %ld", ks->base, cfg->ks_username, cfg->ks_project_name,
               resp.status);
        error = unavailable();
    } else {
        yajl_val root = yajl_tree_parse(resp.body ? resp.body : "", NULL, 0);
        static const char *exp_path[] = { "token", "expires_at", NULL };
        time_t expires = parse_time(tree_str(root, exp_path));
        time_t now = time(NULL);

        /* Again when 30 s or a quarter of its life remain, whichever is
         * sooner; Keystone's answer without an expiry: for 60 s. */
        if (expires < 0) {
            ks->service_refresh_at = now + 60;
        } else {
            time_t life = expires - now;
            time_t margin = life / 4 < 30 ? life / 4 : 30;
            ks->service_refresh_at = expires - margin;
        }
        free(ks->service_token);
        ks->service_token = resp.subject_token;
        resp.subject_token = NULL;
        __atomic_add_fetch(&ks->service_logins, 1, __ATOMIC_RELAXED);
        yajl_tree_free(root);
    }
    ks_response_clear(&resp);
    return error;
}

/* Sets '*token' to a copy of Hadron's own token, logging in first when
 * there is none, it is due for refresh, or it is 'stale' (Keystone refused
 * it). */
static struct neutron_error *
service_token(struct keystone *ks, uint64_t deadline, const char *stale,
              char **token)
{
    struct neutron_error *error = NULL;
    struct timespec abs;
    long left = ms_left(deadline);

    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += left / 1000;
    abs.tv_nsec += (left % 1000) * 1000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    *token = NULL;
    if (pthread_mutex_timedlock(&ks->service_mutex, &abs)) {
        return unavailable();
    }
    if (ks->service_token && stale && !strcmp(ks->service_token, stale)) {
        free(ks->service_token);
        ks->service_token = NULL;
    }
    if (!ks->service_token || time(NULL) >= ks->service_refresh_at) {
        error = service_login(ks, deadline);
    }
    if (!error) {
        *token = xstrdup(ks->service_token);
    }
    pthread_mutex_unlock(&ks->service_mutex);
    return error;
}

static bool
id_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= AUTH_ID_MAX) {
        return false;
    }
    for (; *s; s++) {
        if (!isgraph((unsigned char) *s)) {
            return false;
        }
    }
    return true;
}

/* Reads a validation answer's token into 'ctx' and '*expires'.  Returns
 * NULL, or the error to answer. */
static struct neutron_error *
read_token(const char *body, struct auth_context *ctx, time_t *expires)
{
    static const char *exp_path[] = { "token", "expires_at", NULL };
    static const char *project_path[] = { "token", "project", "id", NULL };
    static const char *user_path[] = { "token", "user", "id", NULL };
    static const char *roles_path[] = { "token", "roles", NULL };
    yajl_val root = yajl_tree_parse(body ? body : "", NULL, 0);
    struct neutron_error *error = NULL;

    memset(ctx, 0, sizeof *ctx);
    *expires = parse_time(tree_str(root, exp_path));
    const char *project = tree_str(root, project_path);
    const char *user = tree_str(root, user_path);
    yajl_val roles = yajl_tree_get(root, roles_path, yajl_t_array);

    if (!root || *expires < 0 || !id_ok(user)) {
        LOG_RL(LOG_LEVEL_WARN, "keystone", "a token validation answer "
               "Hadron cannot read");
        error = unavailable();
    } else if (!project) {
        error = neutron_error_create(NE_FORBIDDEN, NULL,
                                     "The token is not scoped to a project; "
                                     "the Networking API needs one.");
    } else if (!id_ok(project)) {
        error = unavailable();
    } else {
        str_copy(ctx->project_id, project, sizeof ctx->project_id);
        str_copy(ctx->user_id, user, sizeof ctx->user_id);
        for (size_t i = 0; roles && i < YAJL_GET_ARRAY(roles)->len; i++) {
            yajl_val name = jsonv_member(YAJL_GET_ARRAY(roles)->values[i],
                                         "name");
            const char *n = YAJL_IS_STRING(name) ? YAJL_GET_STRING(name)
                                                 : "";
            if (!strcasecmp(n, "admin")) {
                ctx->is_admin = true;
            } else if (!strcasecmp(n, "member")) {
                ctx->has_member_role = true;
            }
        }
        ctx->has_member_role |= ctx->is_admin;
    }
    yajl_tree_free(root);
    return error;
}

/* True if 'token' could be a token at all: printable ASCII, no spaces,
 * a sane length.  Anything else is refused without asking Keystone. */
static bool
token_plausible(const char *token)
{
    size_t len = strlen(token);

    if (!len || len > 8192) {
        return false;
    }
    for (; *token; token++) {
        if (!isgraph((unsigned char) *token)) {
            return false;
        }
    }
    return true;
}

struct neutron_error *
keystone_authenticate(struct keystone *ks, const char *header,
                      struct auth_context *ctx)
{
    const struct config *cfg = ks->cfg;
    struct neutron_error *error = NULL;
    char *token;

    memset(ctx, 0, sizeof *ctx);
    if (!header) {
        return unauthorized();
    }
    /* keystonemiddleware strips the header's blanks (its bug 1689468). */
    while (isspace((unsigned char) *header)) {
        header++;
    }
    token = xstrdup(header);
    for (size_t len = strlen(token);
         len && isspace((unsigned char) token[len - 1]); ) {
        token[--len] = '\0';
    }
    if (!token_plausible(token)) {
        free(token);
        return unauthorized();
    }
    if (ks->cache && token_cache_get(ks->cache, token, time(NULL), ctx)) {
        __atomic_add_fetch(&ks->cache_hits, 1, __ATOMIC_RELAXED);
        free(token);
        return NULL;
    }

    uint64_t deadline = time_monotonic_usec()
                        + (uint64_t) cfg->ks_http_connect_timeout * 1000000;
    char *service = NULL;
    for (int attempt = 0; attempt < 2 && !error; attempt++) {
        struct ks_response resp;
        char *stale = service;

        error = service_token(ks, deadline, stale, &service);
        free(stale);
        if (error) {
            break;
        }
        if (!ks_request(ks, "GET", "/v3/auth/tokens?nocatalog", service,
                        token, NULL, deadline, &resp)) {
            LOG_RL(LOG_LEVEL_WARN, "keystone", "cannot validate a token at "
                   "%s: %s", ks->base, resp.error);
            error = unavailable();
        } else if (resp.status == 200) {
            time_t expires, now = time(NULL);
            __atomic_add_fetch(&ks->validations, 1, __ATOMIC_RELAXED);
            error = read_token(resp.body, ctx, &expires);
            if (!error && expires <= now) {
                error = unauthorized();
            } else if (!error && ks->cache) {
                time_t until = now + cfg->ks_token_cache_time;
                token_cache_put(ks->cache, token, ctx,
                                expires < until ? expires : until);
            }
            ks_response_clear(&resp);
            break;
        } else if (resp.status == 404) {
            /* Keystone's answer for any token it does not accept. */
            __atomic_add_fetch(&ks->validations, 1, __ATOMIC_RELAXED);
            error = unauthorized();
        } else if (resp.status == 401 && !attempt) {
            /* Our own token was refused: log in again, once. */
            LOG_RL(LOG_LEVEL_INFO, "keystone", "Keystone refused Hadron's "
                   "token; logging in again");
        } else {
            LOG_RL(LOG_LEVEL_WARN, "keystone", "token validation at %s "
                   "answered HTTP %ld", ks->base, resp.status);
            error = unavailable();
        }
        ks_response_clear(&resp);
    }
    free(service);
    free(token);
    if (error) {
        memset(ctx, 0, sizeof *ctx);
    }
    return error;
}
