/* backends/dpdk/dataplane.h: the packet path of hadron-dpdk.
 *
 * A 'struct dp' holds many Neutron routers as VRFs, each referred to by a
 * small index, and their ports, referred to by a router port index; each
 * router port sends and receives on a DPDK device (port id), which router
 * ports may share (see dp_port_set_dev()).  dp_process_burst() takes a
 * burst of frames received on one device and routes them: ARP for the
 * router's addresses, ICMP echo to its own addresses, floating IPs as
 * stateless 1:1 NAT, SNAT of everything that leaves through the router's
 * external port (with port translation and a flow table with timeouts), a
 * longest-prefix-match lookup per router, TTL and checksums, neighbour
 * resolution and the ICMP errors a router must send.  Frames to transmit land in a caller-owned 'struct dp_tx'.
 *
 * Threading: a dp is owned by one lcore.  Every function here, the
 * configuration functions included, must be called from that lcore or
 * while that lcore is parked between bursts (workers.h), so the packet path
 * needs no locks and a burst always sees one consistent configuration;
 * dp_frame_router() is the one reader other lcores may call while it runs.
 * With several worker lcores each has a dp of its own holding the same
 * configuration (workers.h).
 *
 * Addresses in this API are IPv4 addresses in host byte order.  Times are
 * in the caller's ticks (rte_rdtsc() in the process, anything monotonic in
 * tests), 'hz' ticks per second, as last given to dp_tick().
 *
 * Functions that can fail return 0 or a positive errno value:
 * EINVAL (bad argument), ENOENT (no such object), EEXIST (conflicts with
 * existing configuration), ENOSPC/ENOMEM (a table is full). */
#ifndef HADRON_DPDK_DATAPLANE_H
#define HADRON_DPDK_DATAPLANE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

struct rte_mbuf;
struct rte_mempool;

#define DP_MAX_PORTS RTE_MAX_ETHPORTS  /* DPDK devices (port ids) */
#define DP_MAX_LPORTS 4096              /* router ports, all devices */
#define DP_MAX_ROUTERS 1024
#define DP_BURST_MAX 64         /* largest burst dp_process_burst() takes */
#define DP_TX_QUEUE 256         /* frames per output port per call */
#define DP_NEIGH_QLEN 4         /* frames held while a neighbour resolves */
#define DP_PORT_NONE UINT16_MAX

/* Sizes and timers, fixed at dp_create(). */
struct dp_config {
    const char *name;           /* unique prefix for DPDK object names */
    int socket_id;              /* NUMA socket for tables */
    uint32_t max_routers;       /* <= DP_MAX_ROUTERS */
    uint32_t max_flows;         /* NAT sessions, all routers together */
    uint32_t max_neighbours;    /* ARP entries, all ports together */
    uint32_t max_fips;          /* floating IPs, all routers together */
    uint32_t lpm_rules;         /* rules per router: its addresses,
                                 * connected subnets and routes */
    uint64_t hz;                /* ticks per second */
    uint32_t timeout_tcp;       /* established TCP session, seconds */
    uint32_t timeout_tcp_transitory; /* TCP opening/closing/reset, seconds */
    uint32_t timeout_udp;       /* UDP session, seconds */
    uint32_t timeout_icmp;      /* ICMP query session, seconds */
    uint32_t neigh_timeout;     /* learned ARP entry lifetime, seconds */
    uint32_t neigh_retry_ms;    /* ARP retransmit interval */
    uint32_t neigh_probes;      /* ARP requests before giving up */
    uint32_t icmp_error_rate;   /* ICMP errors per second, 0 = unlimited */
};

/* Fills 'c' with defaults sized for a small host. */
void dp_config_default(struct dp_config *c);

/* Creates a dataplane.  'pool' supplies the mbufs the dataplane sends on
 * its own (ARP requests); it must outlive the dp.  Must be called after
 * rte_eal_init().  Returns NULL on failure (bad config or no memory), with
 * rte_errno set. */
struct dp *dp_create(const struct dp_config *c, struct rte_mempool *pool);

/* Frees 'dp', its tables and every frame it still holds.  Accepts NULL. */
void dp_destroy(struct dp *dp);

/* --- Configuration.  Idempotent where it makes sense: setting what is
 * already set succeeds, deleting what is absent returns ENOENT so that
 * callers can tell (the control protocol maps it to success). --- */

/* Allocates a router (VRF) and returns its index in '*router'. */
int dp_router_create(struct dp *dp, uint32_t *router);

/* Removes router 'router' with its ports, routes, NAT and flows. */
int dp_router_destroy(struct dp *dp, uint32_t router);

struct dp_port_config {
    uint32_t router;            /* router index the port belongs to */
    struct rte_ether_addr mac;  /* the router's MAC on this port */
    uint32_t ip;                /* the router's address on this port */
    uint8_t plen;               /* prefix length of the connected subnet */
    uint16_t mtu;               /* IP MTU; 0 = 1500 */
    bool external;              /* the router's gateway port (SNAT, FIPs) */
};

/* Attaches router port 'port' (on DPDK device 'port' of its own) to a
 * router, or updates it.  Moving a port to
 * another router is EEXIST (delete it first); a second external port on one
 * router is EEXIST.  Connected route and local address are installed. */
int dp_port_set(struct dp *dp, uint16_t port, const struct dp_port_config *pc);

/* The same for router port 'port' (< DP_MAX_LPORTS) sending and receiving
 * on DPDK device 'dev', which several router ports (of any routers) may
 * share, for instance one TAP on a Linux bridge for every router port on
 * that network.  dp_process_burst() then hands each frame received on
 * 'dev' to the router port whose MAC is its destination, and a broadcast
 * ARP request to the one that owns its target address; frames for none of
 * them are dropped (drop_not_for_us, global counters only).  Ports on one
 * device must have different MACs (EEXIST); a port cannot move to another
 * device (EEXIST: delete it first).  dp_port_set(dp, p, pc) is
 * dp_port_set_dev(dp, p, p, pc): a device of its own. */
int dp_port_set_dev(struct dp *dp, uint16_t port, uint16_t dev,
                    const struct dp_port_config *pc);

/* Detaches 'port': drops its neighbours and queued frames, and removes its
 * routes from its router. */
int dp_port_del(struct dp *dp, uint16_t port);

/* Adds a route 'prefix'/'plen' via gateway 'gw' to 'router'.  Routes are a
 * set of (prefix, gateway) pairs; when several share a prefix the oldest one
 * is used.  'plen' 0 is the default route.  A gateway that is on none of the
 * router's connected subnets is kept but unused until one is attached. */
int dp_route_add(struct dp *dp, uint32_t router, uint32_t prefix, uint8_t plen,
                 uint32_t gw);
int dp_route_del(struct dp *dp, uint32_t router, uint32_t prefix, uint8_t plen,
                 uint32_t gw);

/* Enables SNAT of everything leaving 'router' through its external port to
 * address 'ip' (normally the external port's address).  Changing the address
 * drops the router's existing sessions. */
int dp_snat_set(struct dp *dp, uint32_t router, uint32_t ip);
/* Disables SNAT on 'router' and drops its sessions. */
int dp_snat_clear(struct dp *dp, uint32_t router);

/* Maps floating IP 'fip' to 'fixed' on 'router' (1:1, stateless).  Remapping
 * a floating IP updates it; a fixed IP that already has another floating IP
 * is EEXIST. */
int dp_fip_add(struct dp *dp, uint32_t router, uint32_t fip, uint32_t fixed);
int dp_fip_del(struct dp *dp, uint32_t router, uint32_t fip);

/* --- Reading the configuration back (the control protocol's dump). --- */

struct dp_route_info {
    uint32_t prefix;            /* host order */
    uint8_t plen;
    uint32_t gw;                /* host order */
};

/* Copies up to 'max' of router 'router's routes, in the order they were
 * added, to 'out'; returns how many it has (0 for an unknown router). */
size_t dp_router_routes(const struct dp *dp, uint32_t router,
                        struct dp_route_info *out, size_t max);

/* True, with its address in '*ip' (host order), if 'router' does SNAT. */
bool dp_router_snat(const struct dp *dp, uint32_t router, uint32_t *ip);

struct dp_fip_info {
    uint32_t fip, fixed;        /* host order */
};

/* Copies up to 'max' of router 'router's floating IPs to 'out'; returns
 * how many it has. */
size_t dp_router_fips(const struct dp *dp, uint32_t router,
                      struct dp_fip_info *out, size_t max);

/* Bytes of heap and DPDK memory the router's tables take (its FIB and
 * rule tables; flows and neighbours are shared), 0 if unknown. */
size_t dp_router_memory(const struct dp *dp, uint32_t router);

/* Adds or updates a static neighbour on 'port'; static entries never age.
 * Frames that were waiting for a learned entry to resolve are dropped. */
int dp_neigh_add(struct dp *dp, uint16_t port, uint32_t ip,
                 const struct rte_ether_addr *mac);
int dp_neigh_del(struct dp *dp, uint16_t port, uint32_t ip);

/* Looks up a neighbour: returns true and fills 'mac' if 'ip' is resolved on
 * 'port'. */
bool dp_neigh_lookup(const struct dp *dp, uint16_t port, uint32_t ip,
                     struct rte_ether_addr *mac);

/* --- Counters.  Each family is an X-macro so that the control protocol
 * renders them from the same list. --- */
#define DP_PORT_COUNTERS(C)                                                 \
    C(rx_packets) C(rx_bytes) C(tx_packets) C(tx_bytes)                     \
    C(rx_dropped) C(tx_dropped)

/* Drop reasons, counted per router (when the router is known) and in the
 * global counters. */
#define DP_DROP_COUNTERS(C)                                                 \
    C(drop_malformed)       /* truncated or inconsistent headers */         \
    C(drop_bad_checksum)    /* IPv4 header checksum wrong */                \
    C(drop_unsupported)     /* ethertype/feature we do not handle */        \
    C(drop_not_for_us)      /* destination MAC is not ours */               \
    C(drop_no_port)         /* frame on an unconfigured port */             \
    C(drop_martian)         /* bad source/destination address */            \
    C(drop_no_route)                                                         \
    C(drop_ttl)                                                              \
    C(drop_too_big)         /* larger than the MTU; no fragmentation */     \
    C(drop_local)           /* for us, but nothing to answer */             \
    C(drop_nat_fragment)    /* fragment needing port translation */         \
    C(drop_nat_no_port)     /* no free port for SNAT */                     \
    C(drop_nat_table_full)                                                   \
    C(drop_neigh_unresolved) /* next hop did not answer ARP */              \
    C(drop_neigh_queue_full)                                                 \
    C(drop_tx_full)         /* dp_tx queue full */                          \
    C(drop_no_mbuf)

#define DP_ROUTER_COUNTERS(C)                                               \
    C(rx_packets) C(forwarded) C(local_in) C(echo_replies)                  \
    C(arp_in) C(arp_replies) C(arp_requests)                                \
    C(icmp_ttl_exceeded) C(icmp_unreachable) C(icmp_frag_needed)            \
    C(icmp_ratelimited)                                                     \
    C(snat_out) C(snat_in) C(fip_out) C(fip_in)                             \
    C(flows_created) C(flows_expired) C(flows_active)                       \
    DP_DROP_COUNTERS(C)

#define DP_GLOBAL_COUNTERS(C)                                               \
    C(rx_packets) C(flows_active) C(neighbours)                             \
    DP_DROP_COUNTERS(C)                                                     \
    DP_WORKER_COUNTERS(C)

/* What a worker lcore (workers.h) did with the frames it polled, counted
 * in that worker's dp through dp_count_worker(); zero with one worker
 * except dev_rx_packets. */
#define DP_WORKER_COUNTERS(C)                                               \
    C(dev_rx_packets)       /* received from its queue of each device */    \
    C(handoff_out)          /* passed to the router's owner lcore */        \
    C(handoff_in)           /* received from other lcores */                \
    C(handoff_dropped)      /* the owner's ring was full */

#define DP_COUNTER_FIELD__(NAME) uint64_t NAME;
struct dp_port_stats { DP_PORT_COUNTERS(DP_COUNTER_FIELD__) };
struct dp_router_stats { DP_ROUTER_COUNTERS(DP_COUNTER_FIELD__) };
struct dp_global_stats { DP_GLOBAL_COUNTERS(DP_COUNTER_FIELD__) };

/* Copy out counters.  Return ENOENT for an unknown port or router. */
int dp_port_stats_get(const struct dp *dp, uint16_t port,
                      struct dp_port_stats *s);
int dp_router_stats_get(const struct dp *dp, uint32_t router,
                        struct dp_router_stats *s);
void dp_global_stats_get(const struct dp *dp, struct dp_global_stats *s);

/* Adds what the worker loop owning 'dp' counted to its global counters
 * (DP_WORKER_COUNTERS). */
void dp_count_worker(struct dp *dp, uint64_t dev_rx, uint64_t handoff_out,
                     uint64_t handoff_in, uint64_t handoff_dropped);

/* --- The packet path. --- */

/* The router (index) that frame 'm', received on DPDK device 'dev', is
 * for, as dp_process_burst() would demultiplex it, or UINT32_MAX if none
 * (dp_process_burst() would drop it).  Reads only the configuration, so
 * that another lcore may call it while the dp's owner processes packets
 * (but not while the configuration changes). */
uint32_t dp_frame_router(const struct dp *dp, uint16_t dev,
                         const struct rte_mbuf *m);

/* Frames to transmit, grouped by output DPDK device.  Caller-owned and
 * zeroed once (= {0}); empty it with dp_tx_reset() before handing it to
 * dp_process_burst()/dp_tick() (which append to it), then send
 * pkts[p][0..n[p]) on each port p listed in ports[0..n_ports), and report
 * what the device took with dp_tx_done(). */
struct dp_tx {
    uint16_t n_ports;                       /* entries in 'ports' */
    uint16_t ports[DP_MAX_PORTS];           /* ports with frames */
    uint16_t n[DP_MAX_PORTS];               /* frames per port */
    struct rte_mbuf *pkts[DP_MAX_PORTS][DP_TX_QUEUE];
};

void dp_tx_reset(struct dp_tx *tx);

/* Processes 'n' (<= DP_BURST_MAX) frames received on DPDK device
 * 'in_port' (demultiplexed to its router ports, see dp_port_set_dev()).  Takes
 * ownership of every mbuf: each one ends up in 'tx' (possibly rewritten,
 * e.g. as an ARP or ICMP reply), held by a resolving neighbour entry, or
 * freed and counted as a drop.  Frames must carry their L2-L4 headers in
 * the first segment. */
void dp_process_burst(struct dp *dp, uint16_t in_port, struct rte_mbuf **pkts,
                      uint16_t n, struct dp_tx *tx);

/* Advances the clock to 'now' (ticks, monotonic) and does timed work:
 * expires NAT sessions and neighbours, retransmits ARP requests into 'tx'.
 * Call it before each burst or at least every few milliseconds. */
void dp_tick(struct dp *dp, uint64_t now, struct dp_tx *tx);

/* Frames are counted as transmitted when queued in 'tx'.  If the device
 * accepted only the first 'sent' of the frames queued for device 'port',
 * call this before freeing the rest: it moves them to the tx_dropped of the
 * router ports that sent them (told apart by source MAC). */
void dp_tx_done(struct dp *dp, uint16_t port, const struct dp_tx *tx,
                uint16_t sent);

#endif /* backends/dpdk/dataplane.h */
