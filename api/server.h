/* api/server.h: the HTTP front of Hadron on libevhtp.
 *
 * A pool of 'api_workers' threads serves requests; each worker owns one
 * database connection, opened when the thread starts.  The listener and
 * the signal handling stay on the caller's event base. */
#ifndef HADRON_SERVER_H
#define HADRON_SERVER_H 1

#include <stdbool.h>
#include <stddef.h>

struct config;
struct event_base;
struct api_server;

/* Binds to cfg->bind_host:cfg->bind_port (0 = any free port) and starts the
 * workers.  Returns NULL with a malloc'd message in '*errmsg' on failure. */
struct api_server *api_server_create(const struct config *cfg,
                                     struct event_base *base, char **errmsg);

/* The port actually bound. */
int api_server_port(const struct api_server *);

/* Stops accepting connections; requests already received are still
 * answered.  Returns at once. */
void api_server_stop_accepting(struct api_server *);

/* Number of requests being handled right now. */
int api_server_in_flight(const struct api_server *);

/* Number of workers holding an open database connection. */
int api_server_db_connections(const struct api_server *);

/* Closes every open connection (each on its own worker thread), for
 * shutdown once no request is in flight.  Returns at once; see
 * api_server_open_connections() for progress. */
void api_server_close_connections(struct api_server *);
size_t api_server_open_connections(struct api_server *);

/* Stops the workers and frees everything.  Accepts NULL. */
void api_server_destroy(struct api_server *);

/* The server's decoders of the request target, exposed for the fuzzers.
 * api_url_decode() decodes the %-encoded 'len' bytes at 's' ('+' as a space
 * if 'plus_is_space'): returns a malloc'd string, or NULL unless it decodes
 * to valid UTF-8 without control characters (tab aside).  api_parse_query()
 * appends the pairs of the raw query string 'raw' to req->query (the caller
 * frees them); returns NULL or a 400 "Malformed query string". */
struct api_request;
struct neutron_error;
char *api_url_decode(const char *s, size_t len, bool plus_is_space);
struct neutron_error *api_parse_query(struct api_request *req,
                                      const char *raw);

#endif /* api/server.h */
