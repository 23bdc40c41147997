/* tests/lib/topo.h: building topologies through the API in tests: the
 * requests every L3 test makes (networks, subnets, routers and their
 * interfaces, flavors bound to a provider), each asserting the answer it
 * needs, and the waits on what the journal's drivers do with them. */
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

/* GET /v2.0/<plural>/<id> as 'project' (NULL: admin); the answer, whatever
 * its status. */
struct apitest_resp *topo_get(struct apitest_server *, const char *project,
                              const char *plural, const char *id);

/* PUT /v2.0/<singular>s/<id> as 'project' with the body
 * {"<singular>": {<fmt>}}; the answer, whatever its status. */
struct apitest_resp *topo_update(struct apitest_server *, const char *project,
                                 const char *singular, const char *id,
                                 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* DELETE /v2.0/<plural>/<id> as 'project': topo_delete() returns the
 * status, topo_delete_resp() the answer. */
long topo_delete(struct apitest_server *, const char *project,
                 const char *plural, const char *id);
struct apitest_resp *topo_delete_resp(struct apitest_server *,
                                      const char *project,
                                      const char *plural, const char *id);

/* A network of 'project' created by the admin; 'extra' adds attributes
 * ("\"router:external\": true"). Returns its id (malloc'd). */
char *topo_net(struct apitest_server *, const char *project,
               const char *extra);

/* A subnet of 'project' on 'net' created by the admin, IPv6 if 'cidr' has
 * a ':' else IPv4; 'extra' (may be NULL) adds attributes.  Returns its id
 * (malloc'd). */
char *topo_subnet(struct apitest_server *, const char *project,
                  const char *net, const char *cidr, const char *extra);

/* A port on 'net' created by 'project'; 'extra' adds attributes. */
char *topo_port(struct apitest_server *, const char *project,
                const char *net, const char *extra);

/* A router "r" of 'project' created by 'project', with a gateway on
 * external network 'ext' (NULL: none); 'extra' (may be NULL) adds
 * attributes.  Returns its id (malloc'd). */
char *topo_router(struct apitest_server *, const char *project,
                  const char *ext, const char *extra);

/* add_router_interface to 'router' as 'project' by 'key' ("subnet_id" or
 * "port_id") 'id', which must answer 200; returns the interface's port id
 * (malloc'd). */
char *topo_add_interface(struct apitest_server *, const char *project,
                         const char *router, const char *key,
                         const char *id);

/* A flavor bound through a service profile to 'provider'. */
char *topo_flavor(struct apitest_server *, const char *provider);

/* A network of a project with a subnet, routed by a router of that
 * project with a gateway on an external network. */
struct topo_l3 {
    char *net, *subnet, *router;
    char *port;                 /* the router's interface on 'subnet' */
};

/* Makes 't' for 'project': the subnet 'cidr', the router of 'flavor'
 * (NULL: the default) with its gateway on 'ext' (NULL: none).
 * topo_l3_free() frees the ids (not the resources). */
void topo_l3_make(struct apitest_server *, const char *project,
                  const char *ext, const char *cidr, const char *flavor,
                  struct topo_l3 *t);
void topo_l3_free(struct topo_l3 *t);

/* Waits until GET /v2.0/<singular>s/<id> shows 'status' at
 * "<singular>/status" (10 s at most). */
void topo_wait_status(struct apitest_server *, const char *singular,
                      const char *id, const char *status);

/* Waits until no journal row is pending or processing (30 s at most;
 * 'timeout_ms' with the _within variant), else fails the test. */
void topo_wait_journal_idle(struct apitest_server *);
void topo_wait_journal_idle_within(struct apitest_server *, int timeout_ms);

/* The journal rows of provider 'driver' for floating IP 'id', as
 * "operation:router_id" lines in commit order (malloc'd; "" for none). */
char *topo_fip_journal(struct apitest_server *, const char *driver,
                       const char *id);

/* Asserts that 'RESP' is a NeutronError of HTTP status 'STATUS' and type
 * 'TYPE' whose message is exactly the printf-style rest of the arguments;
 * a failure names the caller's file and line. */
#define topo_assert_error(RESP, STATUS, TYPE, ...)                          \
    topo_assert_error__(RESP, STATUS, TYPE, __FILE__, __LINE__, __VA_ARGS__)
void topo_assert_error__(const struct apitest_resp *, long status,
                         const char *type, const char *file, int line,
                         const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

void topo_sleep_ms(int ms);

#endif /* tests/lib/topo.h */
