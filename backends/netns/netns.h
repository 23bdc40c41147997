/* backends/netns/netns.h: kernel realization of `netns` routers.
 *
 * This is the layer beneath the `netns` flavor driver.  It makes a router's
 * desired state real in the Linux kernel of this host and reads it back:
 *
 *   - L2: one Linux bridge per network with ports on this host.  The bridge
 *     enslaves the network's uplink: the physical interface of a flat
 *     network, a VLAN sub-interface of it for a VLAN network, a VXLAN device
 *     for a VXLAN network, nothing for a local network.
 *
 *   - L3: one network namespace `qrouter-<router id>` per router, with
 *     forwarding on.  Each router interface is a veth pair: `qr-<11>` (or
 *     `qg-<11>` for the gateway) inside the namespace, `tap<11>` in the host
 *     namespace enslaved to the network's bridge, where <11> is the first 11
 *     characters of the Neutron port id.  NAT lives in one nftables table
 *     `ip hadron` inside the namespace, replaced in one atomic batch.
 *
 * "Host namespace" below means the network namespace of the thread that
 * calls in (normally the root namespace); bridges and `tap` ends live there.
 * Router namespaces are named files in /run/netns, as `ip netns` makes them,
 * so `ip netns exec qrouter-...` works on them.
 *
 * Every operation is idempotent: it converges the kernel on the state asked
 * for (adding what is missing, changing what differs, removing what is
 * extra) and leaves alone what already matches, so calling it twice with the
 * same input changes nothing the second time.  Work inside a namespace runs
 * on a short-lived thread that enters it with setns(); the caller's thread
 * never changes namespace.  Functions are safe to call from several threads
 * at once for different routers; calls for the same router must be
 * serialized by the caller.
 *
 * Errors: functions return 0 or a positive errno value and, on error, write
 * a one-line message saying what failed ("qrouter-X: qr-1234: adding
 * 10.0.0.1/24: File exists") into the caller's 'err' buffer of 'err_size'
 * bytes ('err' may be NULL).  Needs CAP_NET_ADMIN and CAP_SYS_ADMIN. */
#ifndef HADRON_NETNS_H
#define HADRON_NETNS_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETNS_ID_LEN 37         /* a UUID and its NUL */
#define NETNS_IFNAME_LEN 16     /* IFNAMSIZ */
#define NETNS_NSNAME_LEN 48     /* "qrouter-" + id + NUL, rounded up */
#define NETNS_ERR_LEN 256       /* a comfortable 'err_size' */
#define NETNS_ADDR_STR_LEN 50   /* longest "addr/plen" text + NUL */
#define NETNS_PORT_MAX_IPS 8    /* fixed IPs per router port */
#define NETNS_ID_PREFIX_LEN 11  /* port id characters used in names */

/* An IPv4 or IPv6 address with a prefix length.  As an interface address
 * 'plen' is the subnet's prefix; as a plain address it is 32 or 128. */
struct netns_addr {
    int family;                 /* AF_INET or AF_INET6; 0 = unset */
    unsigned int plen;
    union {
        struct in_addr in4;
        struct in6_addr in6;
    } u;
};

/* Parses "192.0.2.1", "192.0.2.1/24", "2001:db8::1/64".  Without "/n" the
 * prefix is the full length.  Returns 0 or EINVAL. */
int netns_addr_parse(const char *s, struct netns_addr *out);

/* Writes "addr/plen" (or just "addr" if 'with_plen' is false). */
void netns_addr_format(const struct netns_addr *, bool with_plen,
                       char buf[NETNS_ADDR_STR_LEN]);

/* True if 'a' and 'b' have the same family, address and prefix length. */
bool netns_addr_equal(const struct netns_addr *a, const struct netns_addr *b);

/* 'a' with its host bits cleared: the subnet an interface address is on. */
struct netns_addr netns_addr_network(const struct netns_addr *a);

/* Parses "aa:bb:cc:dd:ee:ff".  Returns 0 or EINVAL. */
int netns_mac_parse(const char *s, uint8_t mac[6]);

/* A router port: one interface of the router on one network. */
struct netns_port {
    char id[NETNS_ID_LEN];      /* Neutron port id; read back: first 11 */
    uint8_t mac[6];
    struct netns_addr ips[NETNS_PORT_MAX_IPS];  /* address/subnet prefix */
    size_t n_ips;
    char bridge[NETNS_IFNAME_LEN];  /* the network's bridge on this host */
};

/* The router's external gateway. */
struct netns_gateway {
    struct netns_port port;     /* becomes qg-<11>; SNAT uses its first
                                 * IPv4 address */
    struct netns_addr gateway_ip;   /* IPv4 default route nexthop, or
                                     * family 0 for none */
    struct netns_addr gateway_ip6;  /* IPv6 default route nexthop, or
                                     * family 0 for none */
};

/* An extra route (Neutron's router "routes" attribute). */
struct netns_route {
    struct netns_addr destination;  /* prefix */
    struct netns_addr nexthop;
};

/* A floating IP: 1:1 NAT between 'floating_ip' (on the gateway) and
 * 'fixed_ip' (a port behind the router).  IPv4 only. */
struct netns_fip {
    struct netns_addr floating_ip;
    struct netns_addr fixed_ip;
};

/* A router's desired (or read-back) state.  The arrays are owned by whoever
 * filled the struct; netns_router_clear() frees those the library filled. */
struct netns_router {
    char id[NETNS_ID_LEN];
    bool admin_up;              /* false: all interfaces set down */
    bool enable_snat;           /* SNAT internal subnets to the gateway IP */
    struct netns_port *ports;   /* internal interfaces, qr-<11> */
    size_t n_ports;
    struct netns_gateway *gw;   /* NULL: no external gateway */
    struct netns_route *routes;
    size_t n_routes;
    struct netns_fip *fips;
    size_t n_fips;
};

/* Creates the router's namespace if needed and converges it on exactly
 * 'router': interfaces (added, re-created if broken, MAC, addresses, up or
 * down), routes, forwarding and the NAT table.  Interfaces, routes (of
 * protocol "static") and NAT rules that 'router' does not ask for are
 * removed.  Every bridge named by a port must exist (netns_bridge_ensure()).
 * Keeps going past a failed step so that as much as possible is in place,
 * and returns the first error.  With admin_up false the kernel holds no
 * routes (they need an up interface); they come back with admin_up.
 * Conntrack entries of removed floating IPs are deleted. */
int netns_router_apply(const struct netns_router *router,
                       char *err, size_t err_size);

/* Removes the router's interfaces (and so their tap ends) and its
 * namespace.  Returns 0 also if there was nothing to remove.  Costs the
 * kernel an RCU grace period (tens of ms on a busy host). */
int netns_router_destroy(const char *router_id, char *err, size_t err_size);

/* netns_router_destroy() for 'n' routers at once, paying that grace
 * period once for all of them (a sync removing many stale routers, a
 * host being drained).  Keeps going past failures; returns the first. */
int netns_routers_destroy(const char *const *router_ids, size_t n,
                          char *err, size_t err_size);

/* Reads back the kernel state of router 'router_id' into '*out', which the
 * caller then releases with netns_router_clear().  Ports and the gateway
 * carry only the 11 port id characters found in interface names, and the
 * bridge their tap is on; the gateway's /32 floating IP addresses show as
 * 'fips', not as its IPs; 'admin_up' is false only if every interface is
 * down.  Returns ENOENT if the router has no namespace. */
int netns_router_read(const char *router_id, struct netns_router *out,
                      char *err, size_t err_size);

/* Reads back every `qrouter-*` namespace on this host, so a sync can compare
 * with the database: build what is missing (netns_router_apply()), delete
 * what no router owns (netns_routers_destroy()).  A name in /run/netns with
 * no namespace behind it (a crash mid-create) reads as a router with
 * nothing in it.  On success '*routers' is a new array of '*n' routers,
 * released with netns_routers_free(). */
int netns_list_routers(struct netns_router **routers, size_t *n,
                       char *err, size_t err_size);

/* Closing an nfnetlink socket blocks for an RCU grace period (tens of ms
 * here) while nf_tables still has objects of a recent commit to free, so
 * the library closes those sockets on a background thread of its own
 * instead of making apply wait.  This waits until that thread has nothing
 * left to do: never needed for correctness; for tests, benchmarks and a
 * clean exit under a leak checker. */
void netns_wait_idle(void);

/* Frees what the library allocated in '*r' and zeroes it.  NULL is fine. */
void netns_router_clear(struct netns_router *r);
void netns_routers_free(struct netns_router *routers, size_t n);

/* L2. */
enum netns_net_type {
    NETNS_NET_LOCAL,            /* bridge only */
    NETNS_NET_FLAT,             /* bridge + physical interface */
    NETNS_NET_VLAN,             /* bridge + <physical>.<vlan id> */
    NETNS_NET_VXLAN,            /* bridge + vxlan-<vni> */
};

/* A VXLAN flood destination (an all-zeros FDB entry). */
struct netns_vxlan_remote {
    struct netns_addr ip;
    uint16_t port;              /* UDP port; 0 = the device's */
};

/* A network as realized on this host. */
struct netns_network {
    enum netns_net_type type;
    char bridge[NETNS_IFNAME_LEN];
    char physical_interface[NETNS_IFNAME_LEN];  /* flat, vlan: from
                                                 * physical_interface_
                                                 * mappings */
    uint16_t vlan_id;           /* vlan: 1..4094 */
    uint32_t vni;               /* vxlan: 1..16777215 */
    struct netns_addr local_ip; /* vxlan: [vxlan] local_ip */
    struct netns_addr group;    /* vxlan: multicast group or unicast remote;
                                 * family 0 for none */
    uint16_t dst_port;          /* vxlan: UDP port, 0 = 4789 */
    const struct netns_vxlan_remote *remotes;   /* vxlan: flood list; with
                                                 * remotes, learning is off */
    size_t n_remotes;
};

/* Creates (or repairs) the network's bridge and its uplink in the host
 * namespace, all up.  An uplink of another kind attached to the bridge that
 * the network does not ask for is released (VLAN and VXLAN devices we made
 * are deleted).  A VLAN network on a kernel without 8021q fails with
 * EOPNOTSUPP and says so. */
int netns_bridge_ensure(const struct netns_network *net,
                        char *err, size_t err_size);

/* Deletes bridge 'bridge' and the VLAN and VXLAN devices attached to it.
 * If router interfaces (tap*) are still attached, returns EBUSY unless
 * 'force'.  Returns 0 if the bridge does not exist. */
int netns_bridge_remove(const char *bridge, bool force,
                        char *err, size_t err_size);

/* Builds, without sending, the RTM_NEWLINK request that creates VLAN
 * device 'name' with VLAN id 'vlan_id' on the interface with index
 * 'parent_ifindex', as netns_bridge_ensure() sends it (sequence number
 * 'seq', administratively down).  Writes at most 'size' bytes to 'buf'.
 * Returns the message length, or 0 if 'size' is too small or an argument is
 * invalid. */
size_t netns_vlan_build_msg(void *buf, size_t size, const char *name,
                            unsigned int parent_ifindex, uint16_t vlan_id,
                            uint32_t seq);

/* Names. */

/* "qrouter-<router_id>". */
void netns_router_ns_name(const char *router_id,
                          char buf[NETNS_NSNAME_LEN]);

/* 'prefix' + the first 11 characters of 'port_id': "qr-", "qg-", "tap". */
void netns_port_ifname(const char *prefix, const char *port_id,
                       char buf[NETNS_IFNAME_LEN]);

/* "brq" + the first 11 characters of 'network_id'. */
void netns_bridge_name(const char *network_id, char buf[NETNS_IFNAME_LEN]);

/* "vxlan-<vni>". */
void netns_vxlan_ifname(uint32_t vni, char buf[NETNS_IFNAME_LEN]);

/* "<physical>.<vlan_id>"; if that is too long, the physical name is cut and
 * 4 hex digits of its hash added so that different long names stay
 * different. */
void netns_vlan_ifname(const char *physical, uint16_t vlan_id,
                       char buf[NETNS_IFNAME_LEN]);

/* Looks 'physnet' up in a `physical_interface_mappings` value
 * ("physnet1:eth1,physnet2:eth2", blanks allowed around items) and writes
 * its interface to 'iface'.  Returns 0, ENOENT if not mapped, or EINVAL if
 * the value is malformed. */
int netns_physnet_lookup(const char *mappings, const char *physnet,
                         char iface[NETNS_IFNAME_LEN]);

/* NAT ruleset text. */

/* Writes to 'buf' the nftables batch that netns_router_apply() loads into
 * the router's namespace for 'router' when its table `ip hadron` differs:
 * "add table; delete table; table ip hadron { ... }", which the kernel
 * commits atomically.  (When there is no table yet, apply leaves out the
 * first two lines.)  Returns the text length (as snprintf() does: if it is
 * 'size' or more, the text was cut), or 0 if the router has no gateway and
 * so no NAT (apply then deletes the table). */
size_t netns_nat_ruleset(const struct netns_router *router,
                         char *buf, size_t size);

#endif /* backends/netns/netns.h */
