/* tests/lib/topo.h: building topologies through the API in tests: the
 * requests every L3 test makes (networks, ports, flavors bound to a
 * provider), each asserting the answer it needs. */
#ifndef HADRON_TOPO_H
#define HADRON_TOPO_H 1

struct apitest_server;
struct apitest_resp;

/* api_call() with a printf-style body (NULL 'fmt': no body). */
struct apitest_resp *topo_call(struct apitest_server *, const char *method,
                               const char *path, const char *project,
                               const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Sends a request that must answer 'status'; returns the string at 'key'
 * of the answer (malloc'd). */
char *topo_create_id(struct apitest_server *, const char *method,
                     const char *path, const char *project, long status,
                     const char *key, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* A network of 'project' created by the admin; 'extra' adds attributes
 * ("\"router:external\": true"). Returns its id (malloc'd). */
char *topo_net(struct apitest_server *, const char *project,
               const char *extra);

/* A port on 'net' created by 'project'; 'extra' adds attributes. */
char *topo_port(struct apitest_server *, const char *project,
                const char *net, const char *extra);

/* A flavor bound through a service profile to 'provider'. */
char *topo_flavor(struct apitest_server *, const char *provider);

/* DELETE /v2.0/<plural>/<id> as 'project'; returns the status. */
long topo_delete(struct apitest_server *, const char *project,
                 const char *plural, const char *id);

void topo_sleep_ms(int ms);

#endif /* tests/lib/topo.h */
