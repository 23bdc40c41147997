/* tests/lib/odlpeer.h: the ODL controller peer (tests/odl-peer) for load
 * and fault tests, and the check that it holds what the database says.
 *
 * odlpeer_start() spawns hadron-odl-peer on a free port (which stays the
 * same across odlpeer_go_away()/odlpeer_come_back()); odlpeer_config()
 * is the server configuration that binds flavor provider "odl" to it
 * (with "noop" the default provider; topo_flavor(srv, "odl") makes its
 * flavor).  odlpeer_compare() reads the
 * controller's objects (GET /_peer/state) and what the API says the odl
 * routers need, and reports every object missing, extra or different on
 * the controller. */
#ifndef HADRON_ODLPEER_H
#define HADRON_ODLPEER_H 1

#include <stdio.h>
#include <sys/types.h>

struct apitest_server;

struct odlpeer {
    pid_t pid;                  /* 0 while gone */
    int port;
    char dir[256];
    char out_path[300];
    char err_path[300];
    void *curl;
};

/* Starts the peer (fails the test if it does not listen). */
struct odlpeer *odlpeer_start(void);

/* SIGTERM: the controller goes away (it must exit 0 without a sanitizer
 * report); odlpeer_come_back() starts it again, empty, on the same port. */
void odlpeer_go_away(struct odlpeer *);
void odlpeer_come_back(struct odlpeer *);

/* Stops the peer (if running) and frees it. */
void odlpeer_stop(struct odlpeer *);

/* POST /_peer/mode {"mode": 'mode'} ("normal", "fail503", ...). */
void odlpeer_mode(struct odlpeer *, const char *mode);

/* Server configuration: providers noop (default) and odl against the
 * peer, with short timeouts and journal back-offs (caller frees). */
char *odlpeer_config(const struct odlpeer *);

/* Compares the controller with the API's view of the routers of flavor
 * 'flavor_id': their router, gateway and interface ports, floating IPs,
 * the ports the floating IPs point at, and those ports' networks and
 * subnets (the floating networks too).  Each object is compared on the
 * attributes a controller uses.  Prints each difference on 'report' (if
 * nonnull) and returns their number (0: equal).  '*n_objects', if
 * nonnull, receives the number of objects the database says the
 * controller should hold. */
long odlpeer_compare(struct odlpeer *, struct apitest_server *,
                     const char *flavor_id, FILE *report, long *n_objects);

/* Waits up to 'timeout_ms' for odlpeer_compare() to find no difference;
 * returns the differences left (printed on 'report' at the end). */
long odlpeer_wait_equal(struct odlpeer *, struct apitest_server *,
                        const char *flavor_id, int timeout_ms, FILE *report,
                        long *n_objects);

#endif /* tests/lib/odlpeer.h */
