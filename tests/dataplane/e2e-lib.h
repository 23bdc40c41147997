/* tests/dataplane/e2e-lib.h: helpers for the end-to-end dataplane tests
 * (tests/dataplane/<backend>/test_e2e_<backend>.c): a real hadron-server
 * driven through its REST API, real namespaces as VMs and as the outside
 * world, real packets.
 *
 * The helpers fail the running cmocka test on error (assertions), so they
 * are for test bodies and group setups.  They keep one current server
 * (e2e_srv), which a test may replace (restart). */
#ifndef HADRON_E2E_LIB_H
#define HADRON_E2E_LIB_H 1

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/apitest.h"

/* The server the API helpers talk to. */
extern struct apitest_server *e2e_srv;

/* Runs the command 'fmt' (split on blanks, no shell) and returns its exit
 * status, or -1 if it could not run.  Its output goes to 'out' (size
 * 'out_size', NUL-terminated) if not NULL, else to /dev/null. */
int e2e_run(char *out, size_t out_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* e2e_run() that must succeed. */
#define E2E_RUN(...)                                                        \
    do {                                                                    \
        char out__[2048];                                                   \
        int rc__ = e2e_run(out__, sizeof out__, __VA_ARGS__);               \
        if (rc__) {                                                         \
            fail_msg("command failed (%d): %s", rc__, out__);               \
        }                                                                   \
    } while (0)

void e2e_sleep_ms(int ms);

/* ping from namespace 'ns' to 'dst': 3 answers within about 2 s
 * (e2e_ping_ok), or none of 2 (e2e_ping_fails). */
bool e2e_ping_ok(const char *ns, const char *dst);
bool e2e_ping_fails(const char *ns, const char *dst);

/* Runs 'fn(aux)' on a thread inside network namespace 'ns'
 * (/run/netns/<ns>) and waits for it.  Returns 0, or an errno if the
 * thread could not enter 'ns' (then 'fn' did not run). */
int e2e_in_ns(const char *ns, void (*fn)(void *), void *aux);

/* A socket(domain, type, proto) created in network namespace 'ns', or
 * -1. */
int e2e_ns_socket(const char *ns, int domain, int type, int proto);

/* Sends UDP datagrams from namespace 'from' to 'dst':'port' until a
 * listener in namespace 'to' gets one (about 2 s at most).  Returns true
 * if one arrived, with the source address the listener saw in 'src'.
 * e2e_udp_probe_sport() sends from source port 'sport' (0: any), so that
 * probes can repeat one flow. */
bool e2e_udp_probe(const char *from, const char *to, const char *dst,
                   uint16_t port, char src[INET_ADDRSTRLEN]);
bool e2e_udp_probe_sport(const char *from, const char *to, const char *dst,
                         uint16_t port, uint16_t sport,
                         char src[INET_ADDRSTRLEN]);

/* Sends a request to e2e_srv with the body 'fmt' (NULL: none); returns
 * the answer (to free with apitest_resp_free()), whatever its status.
 * 'project' NULL = admin. */
struct apitest_resp *e2e_call(const char *method, const char *path,
                              const char *project, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends a request to e2e_srv that must answer 'status'; returns the
 * string at 'key' of the answer (malloc'd), or NULL when 'key' is NULL.
 * 'project' NULL = admin. */
char *e2e_expect(long status, const char *key, const char *method,
                 const char *path, const char *project, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Creates a network (body members 'extra' added, may be NULL) and an IPv4
 * subnet without DHCP; return their ids (malloc'd). */
char *e2e_make_net(const char *project, const char *extra);
char *e2e_make_subnet(const char *project, const char *net_id,
                      const char *cidr, const char *extra);

/* add_router_interface by subnet as 'project': returns the port id
 * (malloc'd); remove_router_interface by subnet. */
char *e2e_add_interface(const char *project, const char *router_id,
                        const char *subnet_id);
void e2e_remove_interface(const char *project, const char *router_id,
                          const char *subnet_id);

/* A "VM" port of 'project' on 'net_id' bound to host 'host' (it must bind
 * with vif_type bridge); its first IP in 'ip'.  Returns its id. */
char *e2e_make_vm_port(const char *project, const char *net_id,
                       const char *host, char ip[64]);

/* Plugs namespace 'ns' into port 'port_id' with hadron-plug-vif at
 * 'plug_bin', as a compute node would; unplugs it. */
void e2e_plug_vm(const char *plug_bin, const char *ns, const char *port_id);
void e2e_unplug_vm(const char *plug_bin, const char *port_id);

/* Waits until no journal entry is pending or processing (30 s at most):
 * topo_wait_journal_idle() on e2e_srv. */
void e2e_wait_idle(void);

/* Waits until GET /v2.0/<collection>/<id> shows 'status' at
 * "<key>/status" (10 s at most): topo_wait_status() on e2e_srv.
 * 'collection' is "<key>s". */
void e2e_wait_status(const char *collection, const char *key,
                     const char *id, const char *status);

/* The first external fixed IP of router 'router_id' (static buffer). */
const char *e2e_router_gateway_ip(const char *router_id);

/* Makes flavor 'name' of service type L3_ROUTER_NAT served by provider
 * 'driver' (a service profile bound to it); returns the flavor id. */
char *e2e_make_flavor(const char *name, const char *driver);

/* Namespaces and links.  e2e_router_ns_exists() says whether the netns
 * backend's namespace of router 'router_id' exists; e2e_link_gone() waits
 * (10 s at most) until link 'name' is gone and says whether it is. */
bool e2e_ns_exists(const char *name);
bool e2e_router_ns_exists(const char *router_id);
bool e2e_link_exists(const char *name);
bool e2e_link_gone(const char *name);

/* Cleanup helpers (idempotent, errors ignored): removes the netns
 * backend's bridge of network 'network_id' (NULL: nothing), with what is
 * attached to it; removes directory 'dir' and the files in it. */
void e2e_remove_bridge_of(const char *network_id);
void e2e_remove_dir(const char *dir);

/* The outside world of an external flat network: namespace 'ns' with
 * eth0 at 'address' (a.b.c.d/len), the far end of veth 'phys' in this
 * namespace (to be named in physical_interface_mappings).  Returns 0, or
 * -1 after removing what it made. */
int e2e_outside_create(const char *ns, const char *phys,
                       const char *address);
void e2e_outside_destroy(const char *ns, const char *phys);

#endif /* tests/dataplane/e2e-lib.h */
