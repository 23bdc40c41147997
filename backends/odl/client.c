/* backends/odl/client.c: see client.h.
 *
 * curl_easy_reset() between requests clears the options but keeps the
 * handle's live connections, so the connection to the controller is
 * reused (keep-alive) as long as the controller keeps it open. */
#include "backends/odl/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct odl_client {
    CURL *curl;
    char *url;                  /* without a trailing '/' */
    char *username;
    char *password;
    char *ca_file;
    int connect_timeout_ms;
    struct curl_slist *headers;
};

struct odl_client *
odl_client_create(const struct odl_client_options *o, char *err,
                  size_t err_size)
{
    if (!o->url || (!str_starts_with(o->url, "http://")
                    && !str_starts_with(o->url, "https://"))) {
        snprintf(err, err_size, "url '%s' is not an http:// or https:// URL",
                 o->url ? o->url : "");
        return NULL;
    }
    /* Thread-safe and reference-counted in the libcurl of Debian 12. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        snprintf(err, err_size, "libcurl cannot be initialised");
        return NULL;
    }
    struct odl_client *c = xzalloc(sizeof *c);
    c->curl = curl_easy_init();
    if (!c->curl) {
        snprintf(err, err_size, "libcurl cannot make a handle");
        free(c);
        curl_global_cleanup();
        return NULL;
    }
    size_t len = strlen(o->url);
    while (len && o->url[len - 1] == '/') {
        len--;
    }
    c->url = xstrndup(o->url, len);
    c->username = o->username && *o->username ? xstrdup(o->username) : NULL;
    c->password = xstrdup(o->password ? o->password : "");
    c->ca_file = o->ca_file && *o->ca_file ? xstrdup(o->ca_file) : NULL;
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Accept: application/json");
    /* No "Expect: 100-continue" round trip before large bodies. */
    c->headers = curl_slist_append(c->headers, "Expect:");
    return c;
}

void
odl_client_destroy(struct odl_client *c)
{
    if (!c) {
        return;
    }
    curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->username);
    free(c->password);
    free(c->ca_file);
    free(c);
    curl_global_cleanup();
}

const char *
odl_client_url(const struct odl_client *c)
{
    return c->url;
}

static size_t
collect(char *ptr, size_t size, size_t n, void *resp_)
{
    struct odl_response *resp = resp_;
    size_t len = size * n;

    resp->body = xrealloc(resp->body, resp->len + len + 1);
    memcpy(resp->body + resp->len, ptr, len);
    resp->len += len;
    resp->body[resp->len] = '\0';
    return len;
}

bool
odl_client_request(struct odl_client *c, const char *method,
                   const char *path, const char *body, int timeout_ms,
                   struct odl_response *resp, char *err, size_t err_size)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = c->curl;

    memset(resp, 0, sizeof *resp);
    resp->body = xzalloc(1);
    char *url = xasprintf("%s/%s", c->url, path);

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (c->connect_timeout_ms < timeout_ms
                             ? c->connect_timeout_ms : timeout_ms));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t) strlen(body));
        }
    }

    CURLcode rc = curl_easy_perform(h);
    free(url);
    if (rc != CURLE_OK) {
        snprintf(err, err_size, "%s %s: %s", method, path,
                 *errbuf ? errbuf : curl_easy_strerror(rc));
        resp->status = 0;
        return false;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    return true;
}

void
odl_response_destroy(struct odl_response *resp)
{
    if (resp) {
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
    }
}
