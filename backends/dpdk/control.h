/* backends/dpdk/control.h: the hadron-dpdk control protocol.
 *
 * The flavor driver configures the dataplane with JSON commands, one per
 * request (PROTOCOL.md describes them).  ctl_handle() parses one request,
 * applies it to a 'struct dp' and returns the reply.  Routers and ports are
 * named by the driver (Neutron UUIDs); this module maps names to the dp's
 * indices and DPDK port ids.  Every command is idempotent: adding what exists
 * with the same values succeeds, deleting what is absent succeeds.
 *
 * Devices are created through a 'struct ctl_port_class', so that tests run
 * the protocol without devices and the process plugs in DPDK's vdevs.
 *
 * Threading: a ctl is used from the lcore that owns its dp, between bursts,
 * or (several workers) while every worker is parked (workers.h). */
#ifndef HADRON_DPDK_CONTROL_H
#define HADRON_DPDK_CONTROL_H 1

#include <stddef.h>
#include <stdint.h>

struct dp;
struct ctl;
struct rte_ether_addr;

#define CTL_NAME_MAX 64             /* router and port names, with NUL */
#define CTL_DEVSPEC_MAX 256         /* device specs, with NUL */
#define CTL_BRIDGE_MAX 16           /* bridge names (IFNAMSIZ), with NUL */
#define CTL_REQUEST_MAX 65536       /* one request, bytes */
#define CTL_MAX_DPS 16              /* worker lcores (workers.h) */

/* How ports become DPDK ports. */
struct ctl_port_class {
    const char *type;               /* "dpdk", "fake", ... */

    /* Creates and starts the device described by 'devspec' (a DPDK vdev
     * string such as "net_tap0,iface=qr-1234") and stores its DPDK port id in
     * '*port'.  'mac' and 'mtu' are the router's address and MTU on it, to be
     * applied where the device supports it.  Returns 0, or a positive errno
     * with a message in 'err'.  Must not be NULL. */
    int (*open)(void *aux, const char *devspec,
                const struct rte_ether_addr *mac, uint16_t mtu,
                uint16_t *port, char *err, size_t err_size);

    /* Stops and removes port 'port' that open() created.  Must not be NULL. */
    void (*close)(void *aux, uint16_t port);

    /* Makes the network interface behind port 'port' a port of Linux
     * bridge 'bridge' (and up), if it is not already; called after open()
     * and again on each port_add that names a bridge, so that it also
     * repairs.  Returns 0, or a positive errno with a message in 'err'.
     * May be NULL: then port_add refuses "bridge". */
    int (*attach)(void *aux, uint16_t port, const char *bridge, char *err,
                  size_t err_size);
};

/* Creates a control context for 'dp' (not owned) opening devices through
 * 'class' with 'aux'.  It draws a random instance id, which "ping"
 * answers, so that a driver can tell a restarted (empty) process from the
 * one it configured.  Never returns NULL. */
struct ctl *ctl_create(struct dp *dp, const struct ctl_port_class *class,
                       void *aux);

/* The same for several worker lcores, each with a dp of its own holding the
 * same configuration (workers.h): 'n' (1..CTL_MAX_DPS) dps, worker w's dp
 * in dps[w] running on lcore lcores[w] ('lcores' may be NULL: unknown).
 * Every change is applied to all of them; counters are summed over them,
 * and "counters" also reports each worker's global counters.  The caller
 * keeps the workers parked while ctl_handle() runs. */
struct ctl *ctl_create_workers(struct dp *const *dps,
                               const unsigned int *lcores, unsigned int n,
                               const struct ctl_port_class *class,
                               void *aux);

/* Closes every port the ctl opened, removes its routers from the dp, and
 * frees 'ctl'.  Accepts NULL. */
void ctl_destroy(struct ctl *ctl);

/* Handles one request: 'req' is 'len' bytes of JSON (no NUL needed).
 * Returns the reply, a NUL-terminated JSON object on one line without a
 * trailing newline, which the caller frees with free().  Never NULL; bad
 * input gets an error reply. */
char *ctl_handle(struct ctl *ctl, const char *req, size_t len);

#endif /* backends/dpdk/control.h */
