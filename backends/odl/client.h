/* backends/odl/client.h: the HTTP client of the `odl` driver.
 *
 * One client is one libcurl easy handle, so one keep-alive connection to
 * the controller that every request reuses while the controller keeps it
 * open.  Requests carry HTTP basic auth and JSON bodies; an https URL
 * gets TLS, verified against the system's CAs or the CA file given.
 * Each request is bounded by a timeout.
 *
 * Not thread-safe: the driver uses its client from its dispatcher thread
 * only (flavors/driver.h guarantees the driver's ops never run
 * concurrently). */
#ifndef HADRON_ODL_CLIENT_H
#define HADRON_ODL_CLIENT_H 1

#include <stdbool.h>
#include <stddef.h>

struct odl_client;

struct odl_client_options {
    const char *url;            /* base, e.g. http://h:8080/controller/nb/
                                 * v2/neutron; a trailing '/' is ignored */
    const char *username;       /* basic auth; NULL or "" = none */
    const char *password;
    const char *ca_file;        /* PEM CAs for https; NULL = system's */
    int connect_timeout_ms;     /* bound on connecting (and TLS) */
};

/* What one request came back with. */
struct odl_response {
    long status;                /* HTTP status, 0 when no answer came */
    char *body;                 /* NUL-terminated, owned; "" if none */
    size_t len;
};

/* Makes a client.  Returns NULL with a message in 'err' when libcurl
 * cannot be set up or the URL is not http:// or https://. */
struct odl_client *odl_client_create(const struct odl_client_options *,
                                     char *err, size_t err_size);
void odl_client_destroy(struct odl_client *);

/* The base URL as configured, without a trailing '/'. */
const char *odl_client_url(const struct odl_client *);

/* Sends 'method' ("GET", "POST", "PUT", "DELETE") of '{url}/{path}' with
 * 'body' (JSON text, or NULL), waiting at most 'timeout_ms' in all.
 * Returns true when an answer came (any status: see resp->status), false
 * when none did (refused, unreachable, timed out, TLS failure), with the
 * reason in 'err'.  The caller destroys '*resp' in both cases. */
bool odl_client_request(struct odl_client *, const char *method,
                        const char *path, const char *body, int timeout_ms,
                        struct odl_response *resp, char *err,
                        size_t err_size);

void odl_response_destroy(struct odl_response *);

#endif /* backends/odl/client.h */
