/* api/metrics.h: GET /healthcheck and a Prometheus GET /metrics.
 *
 * The server calls metrics_observe() once per answered request.  That is
 * the hot path: three relaxed atomic additions into a table allocated at
 * start (one slot per route x method x status), no lock and no
 * allocation.  A scrape reads the table and asks, on the scraping
 * worker's own connection, the journal depth per provider, then each
 * provider's health.
 *
 * Both paths answer without authentication (metrics_path_is_public()):
 * load balancers and Prometheus carry no token. */
#ifndef HADRON_METRICS_H
#define HADRON_METRICS_H 1

#include <stdbool.h>
#include <stdint.h>

struct api_server;

/* Sizes the table for the routes registered so far (call after
 * api_init(), before the workers serve) and remembers 'srv' for the
 * gauges.  A second call only updates 'srv'. */
void metrics_init(const struct api_server *srv);

/* Counts one request: 'route_index' is req->route_index (-1: no route
 * matched), 'method' an enum api_method bit, 'usec' its latency. */
void metrics_observe(int route_index, unsigned int method, int status,
                     uint64_t usec);

/* True for the paths served without authentication. */
bool metrics_path_is_public(const char *path);

/* Registers GET /healthcheck and GET /metrics (api_init() does). */
void metrics_register_routes(void);

#endif /* api/metrics.h */
