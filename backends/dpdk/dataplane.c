/* backends/dpdk/dataplane.c: the packet path of hadron-dpdk.
 *
 * A burst from one port belongs to one router, so dp_process_burst() runs it
 * through stages, each a loop over the burst, so that the table look-ups are
 * done in bulk (rte_hash_lookup_bulk_data, dp_fib_lookup_bulk), which
 * prefetch and hide the cache misses of large flow tables:
 *
 *   parse    validate L2/L3/L4, answer ARP, collect IPv4 packets
 *   dnat     on the external port: floating IP, or a SNAT session's reply
 *   route    longest prefix match on the (translated) destination (the
 *            router's FIB, fib.h); local delivery, TTL, MTU
 *   snat     leaving through the external port: floating IP or a session
 *   finish   rewrite headers with incremental checksums (RFC 1624), resolve
 *            the next hop and queue the frame for its output port
 *
 * Translations are decided first and written last, so an ICMP error sent
 * for a packet quotes the packet as its sender sent it.
 *
 * Configuration lives beside the packet tables: routes as the set the
 * control plane gave, from which each router's FIB is rebuilt whenever its
 * ports or routes change (a FIB is small: fib.h). */
#include "backends/dpdk/dataplane.h"
#include "backends/dpdk/fib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#define PREFETCH_OFFSET 4
#define ETH_LEN ((uint32_t) sizeof(struct rte_ether_hdr))
#define ICMP_QUOTE_MAX (576 - 20 - 8)   /* RFC 1812 4.3.2.3 */
#define SNAT_PORT_MIN 1024
#define SNAT_TRIES 64
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11

/* Drop reasons as an enum, and where each is counted. */
enum dp_drop {
#define DROP_ENUM__(NAME) DP_##NAME,
    DP_DROP_COUNTERS(DROP_ENUM__)
    DP_N_DROPS
};
#define ROUTER_OFF__(NAME) offsetof(struct dp_router_stats, NAME),
#define GLOBAL_OFF__(NAME) offsetof(struct dp_global_stats, NAME),
static const size_t router_drop_off[DP_N_DROPS] = {
    DP_DROP_COUNTERS(ROUTER_OFF__)
};
static const size_t global_drop_off[DP_N_DROPS] = {
    DP_DROP_COUNTERS(GLOBAL_OFF__)
};

enum nh_kind { NH_LOCAL, NH_CONNECTED, NH_GATEWAY };

/* What a FIB value stands for: slots are interned per router at each
 * rebuild (so a slot number is only meaningful within one burst). */
struct dp_nexthop {
    uint32_t gw;                /* gateway, host order (NH_GATEWAY) */
    uint16_t port;              /* output port (not NH_LOCAL) */
    uint8_t kind;               /* enum nh_kind */
};

/* A rule as wanted or as installed in the FIB. */
struct dp_rule {
    uint32_t prefix;            /* host order, masked */
    uint8_t plen;
    uint8_t kind;
    uint16_t port;
    uint32_t gw;
    uint32_t nh;                /* installed rules: slot in 'nh' */
};

/* A route as configured. */
struct dp_route {
    uint32_t prefix;            /* host order, masked */
    uint32_t gw;                /* host order */
    uint8_t plen;
};

struct dp_router {
    bool in_use;
    bool snat;
    uint16_t ext_port;          /* DP_PORT_NONE if none */
    uint32_t snat_ip;           /* network order */
    uint32_t n_fips;
    uint16_t snat_cursor;       /* next port to try on collision */
    struct dp_fib *fib;
    struct dp_nexthop *nh;      /* [n_nh_max] */
    uint32_t n_nh_max;
    struct dp_rule *rules;      /* installed, [n_rules] (capacity n_nh_max) */
    uint32_t n_rules;
    struct dp_route *routes;    /* configured, [n_routes] */
    uint32_t n_routes;
    struct dp_router_stats stats;
};

struct dp_port {
    bool in_use;
    bool external;
    uint16_t mtu;
    uint32_t router;
    struct rte_ether_addr mac;
    uint32_t ip;                /* network order */
    uint32_t mask;              /* network order */
    uint8_t plen;
    uint16_t dev;               /* the DPDK port it sends and receives on */
    uint16_t next_on_dev;       /* next router port on 'dev', or NONE */
    struct dp_port_stats stats;
};

struct dp_neigh_key {
    uint32_t ip;                /* network order */
    uint16_t port;
    uint16_t pad;
};

enum neigh_state {
    NEIGH_FREE, NEIGH_INCOMPLETE, NEIGH_REACHABLE, NEIGH_STATIC
};

struct dp_neigh {
    struct dp_neigh_key key;
    uint8_t state;              /* enum neigh_state */
    uint8_t probes;             /* ARP requests sent while incomplete */
    uint16_t n_queued;
    struct rte_ether_addr mac;
    uint64_t updated;           /* last confirmation, or last probe */
    struct rte_mbuf *queue[DP_NEIGH_QLEN];
};

/* A NAT session key: the packet's addresses as they appear on the wire in
 * one direction.  For ICMP queries the identifier takes the place of the
 * source port in requests and of the destination port in replies. */
struct dp_flow_key {
    uint32_t src, dst;          /* network order */
    uint16_t sport, dport;      /* network order */
    uint8_t proto;
    uint8_t pad;
    uint16_t router;
};

#define FLOW_IN_USE     0x01
#define FLOW_SEEN_REPLY 0x02
#define FLOW_FIN_ORIG   0x04
#define FLOW_FIN_REPLY  0x08
#define FLOW_RST        0x10

/* key[0] is the inside->outside direction as sent by the inside host, key[1]
 * the reply as it arrives on the external port.  Each direction's
 * translation is read from the other key. */
struct dp_flow {
    struct dp_flow_key key[2];
    uint64_t expires;
    uint8_t flags;
};

struct dp_fip_key {
    uint32_t ip;                /* network order */
    uint16_t router;
    uint8_t by_fixed;           /* 0: keyed by floating IP, 1: by fixed IP */
    uint8_t pad;
};

/* A router port by the device it is on and its MAC. */
struct dp_mac_key {
    struct rte_ether_addr mac;
    uint16_t dev;
};

struct dp_fip {
    bool in_use;
    uint32_t router;
    uint32_t fip, fixed;        /* network order */
};

struct dp {
    struct dp_config cfg;
    struct rte_mempool *pool;
    uint64_t now;
    uint64_t t_tcp, t_tcp_trans, t_udp, t_icmp, t_neigh, t_retry;

    struct dp_port ports[DP_MAX_LPORTS];   /* router ports */
    uint16_t dev_first[DP_MAX_PORTS];       /* router ports per device */
    uint16_t dev_nports[DP_MAX_PORTS];
    struct dp_router *routers;          /* [cfg.max_routers] */

    struct rte_hash *flow_hash;
    struct dp_flow *flows;              /* [cfg.max_flows] */
    uint32_t *flow_free;                /* stack of free flow slots */
    uint32_t n_flow_free;
    uint32_t flow_cursor;
    uint64_t flow_swept;

    struct rte_hash *neigh_hash;
    struct dp_neigh *neighs;            /* [cfg.max_neighbours] */
    uint32_t *neigh_free;
    uint32_t n_neigh_free;
    uint64_t neigh_swept;

    struct rte_hash *mac_hash;          /* dp_mac_key -> router port */

    struct rte_hash *fip_hash;
    struct dp_fip *fips;                /* [cfg.max_fips] */
    uint32_t *fip_free;
    uint32_t n_fip_free;

    uint64_t icmp_tokens;               /* ICMP error token bucket */
    uint64_t icmp_refilled;

    struct dp_global_stats stats;
};

/* --- Small helpers. --- */

static inline uint32_t
plen_mask(uint8_t plen)
{
    return plen ? UINT32_MAX << (32 - plen) : 0;
}

static inline uint16_t
load16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void
store16(void *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit words as they are
 * stored in the packet (the one's complement sum is byte-order neutral). */
static inline uint16_t
csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t) ~sum;
}

static inline uint16_t
csum_adjust16(uint16_t csum, uint16_t old, uint16_t new)
{
    return csum_fold((uint16_t) ~csum + (uint16_t) ~old + (uint32_t) new);
}

static inline uint16_t
csum_adjust32(uint16_t csum, uint32_t old, uint32_t new)
{
    uint32_t sum = (uint16_t) ~csum;
    sum += (uint16_t) ~(old >> 16) + (uint16_t) ~(old & 0xffff);
    sum += (new >> 16) + (new & 0xffff);
    return csum_fold(sum);
}

/* Addresses a router never forwards from or to (RFC 1812 5.3.7). */
static inline bool
ip_is_martian(uint32_t ip_be)
{
    uint32_t ip = rte_be_to_cpu_32(ip_be);
    uint8_t a = ip >> 24;
    return a == 0 || a == 127 || a >= 224;
}

/* True if the IPv4 header at 'ip' ('ihl' bytes, a multiple of 4) sums to
 * all ones: 32-bit words into a 64-bit sum, folded once at the end. */
static inline bool
ipv4_cksum_ok(const void *ip, uint32_t ihl)
{
    const uint8_t *p = ip;
    uint64_t sum = 0;

    for (uint32_t i = 0; i < ihl; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, sizeof w);
        sum += w;
    }
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

static inline bool
is_icmp_error_type(uint8_t type)
{
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* --- Per-burst context and accounting. --- */

struct burst {
    struct dp *dp;
    struct dp_tx *tx;
    uint16_t in_port;
    struct dp_port *port;
    struct dp_router *r;
    uint32_t router;
    struct dp_neigh *last_neigh;    /* one-entry cache for neigh_output() */
    uint16_t n_drops;
    struct rte_mbuf *drops[DP_BURST_MAX];
};

static void
count_drop(struct dp *dp, struct dp_router *r, enum dp_drop why)
{
    *(uint64_t *) ((char *) &dp->stats + global_drop_off[why]) += 1;
    if (r) {
        *(uint64_t *) ((char *) &r->stats + router_drop_off[why]) += 1;
    }
}

/* Drops a frame received in this burst: counts it and frees it at the end
 * of the burst. */
static void
drop(struct burst *b, struct rte_mbuf *m, enum dp_drop why)
{
    count_drop(b->dp, b->r, why);
    if (b->port) {
        b->port->stats.rx_dropped++;
    }
    if (b->n_drops < DP_BURST_MAX) {
        b->drops[b->n_drops++] = m;
    } else {
        rte_pktmbuf_free(m);
    }
}

/* Frees a frame received in this burst that needed no answer (not a drop). */
static void
consume(struct burst *b, struct rte_mbuf *m)
{
    if (b->n_drops < DP_BURST_MAX) {
        b->drops[b->n_drops++] = m;
    } else {
        rte_pktmbuf_free(m);
    }
}

/* Queues 'm' for 'port'; false (and 'm' freed) if the queue is full. */
static bool
tx_enqueue(struct dp *dp, struct dp_tx *tx, struct dp_router *r,
           uint16_t port, struct rte_mbuf *m)
{
    uint16_t dev = dp->ports[port].dev;
    uint16_t k = tx->n[dev];

    if (k >= DP_TX_QUEUE) {
        count_drop(dp, r, DP_drop_tx_full);
        rte_pktmbuf_free(m);
        return false;
    }
    if (k == 0) {
        tx->ports[tx->n_ports++] = dev;
    }
    tx->pkts[dev][k] = m;
    tx->n[dev] = k + 1;
    dp->ports[port].stats.tx_packets++;
    dp->ports[port].stats.tx_bytes += m->pkt_len;
    return true;
}

void
dp_tx_reset(struct dp_tx *tx)
{
    for (uint16_t i = 0; i < tx->n_ports; i++) {
        tx->n[tx->ports[i]] = 0;
    }
    tx->n_ports = 0;
}

void
dp_tx_done(struct dp *dp, uint16_t dev, const struct dp_tx *tx,
           uint16_t sent)
{
    if (dev >= DP_MAX_PORTS) {
        return;
    }
    for (uint16_t i = sent; i < tx->n[dev]; i++) {
        /* The router port that queued it: its MAC is the source. */
        const struct rte_ether_hdr *eth =
            rte_pktmbuf_mtod(tx->pkts[dev][i], const struct rte_ether_hdr *);
        uint16_t lp = dp->dev_first[dev];
        while (lp != DP_PORT_NONE && dp->dev_nports[dev] > 1
               && !rte_is_same_ether_addr(&dp->ports[lp].mac,
                                          &eth->src_addr)) {
            lp = dp->ports[lp].next_on_dev;
        }
        if (lp == DP_PORT_NONE) {
            continue;
        }
        struct dp_port_stats *s = &dp->ports[lp].stats;
        s->tx_packets--;
        s->tx_bytes -= tx->pkts[dev][i]->pkt_len;
        s->tx_dropped++;
    }
}

/* --- Neighbours. --- */

static struct dp_neigh *
neigh_find(const struct dp *dp, uint16_t port, uint32_t ip_be)
{
    struct dp_neigh_key k = { .ip = ip_be, .port = port };
    void *data;

    if (rte_hash_lookup_data(dp->neigh_hash, &k, &data) < 0) {
        return NULL;
    }
    return &dp->neighs[(uintptr_t) data];
}

static struct dp_neigh *
neigh_alloc(struct dp *dp, uint16_t port, uint32_t ip_be, uint8_t state)
{
    struct dp_neigh_key k = { .ip = ip_be, .port = port };
    uint32_t idx;

    if (!dp->n_neigh_free) {
        return NULL;
    }
    idx = dp->neigh_free[dp->n_neigh_free - 1];
    if (rte_hash_add_key_data(dp->neigh_hash, &k,
                              (void *) (uintptr_t) idx) < 0) {
        return NULL;
    }
    dp->n_neigh_free--;
    struct dp_neigh *n = &dp->neighs[idx];
    memset(n, 0, sizeof *n);
    n->key = k;
    n->state = state;
    n->updated = dp->now;
    dp->stats.neighbours++;
    return n;
}

/* Frees 'n' and the frames it holds, counting them against 'why'. */
static void
neigh_free(struct dp *dp, struct dp_neigh *n, enum dp_drop why)
{
    struct dp_port *p = &dp->ports[n->key.port];
    struct dp_router *r = p->in_use ? &dp->routers[p->router] : NULL;

    for (uint16_t i = 0; i < n->n_queued; i++) {
        count_drop(dp, r, why);
        rte_pktmbuf_free(n->queue[i]);
    }
    rte_hash_del_key(dp->neigh_hash, &n->key);
    n->state = NEIGH_FREE;
    n->n_queued = 0;
    dp->neigh_free[dp->n_neigh_free++] = n - dp->neighs;
    dp->stats.neighbours--;
}

static inline void
eth_set(struct rte_mbuf *m, const struct rte_ether_addr *src,
        const struct rte_ether_addr *dst)
{
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    rte_ether_addr_copy(dst, &eth->dst_addr);
    rte_ether_addr_copy(src, &eth->src_addr);
}

/* Marks 'n' resolved to 'mac' and sends what was waiting for it. */
static void
neigh_confirm(struct dp *dp, struct dp_neigh *n,
              const struct rte_ether_addr *mac, struct dp_tx *tx)
{
    struct dp_port *p = &dp->ports[n->key.port];

    if (n->state == NEIGH_STATIC) {
        return;
    }
    rte_ether_addr_copy(mac, &n->mac);
    n->updated = dp->now;
    n->probes = 0;
    n->state = NEIGH_REACHABLE;
    for (uint16_t i = 0; i < n->n_queued; i++) {
        eth_set(n->queue[i], &p->mac, &n->mac);
        tx_enqueue(dp, tx, &dp->routers[p->router], n->key.port,
                   n->queue[i]);
    }
    n->n_queued = 0;
}

/* Sends a broadcast ARP request for 'tip_be' out of 'port'. */
static void
arp_request(struct dp *dp, uint16_t port, uint32_t tip_be, struct dp_tx *tx)
{
    struct dp_port *p = &dp->ports[port];
    struct dp_router *r = &dp->routers[p->router];
    struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);

    if (!m) {
        count_drop(dp, r, DP_drop_no_mbuf);
        return;
    }
    uint32_t len = ETH_LEN + sizeof(struct rte_arp_hdr);
    char *data = rte_pktmbuf_append(m, len);
    if (!data) {
        rte_pktmbuf_free(m);
        count_drop(dp, r, DP_drop_no_mbuf);
        return;
    }
    memset(data, 0, len);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) data;
    memset(&eth->dst_addr, 0xff, sizeof eth->dst_addr);
    rte_ether_addr_copy(&p->mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);

    struct rte_arp_hdr *arp = (struct rte_arp_hdr *) (eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = p->ip;
    arp->arp_data.arp_tip = tip_be;
    if (tx_enqueue(dp, tx, r, port, m)) {
        r->stats.arp_requests++;
    }
}

/* Sends 'm' (headers final except Ethernet) to next hop 'nh_be' on 'port',
 * resolving it if needed. */
static void
neigh_output(struct burst *b, uint16_t port, uint32_t nh_be,
             struct rte_mbuf *m)
{
    struct dp *dp = b->dp;
    struct dp_neigh *n = b->last_neigh;

    /* Entries do not move or go away within a burst, so the last one found
     * may be reused while its key matches. */
    if (!n || n->state == NEIGH_FREE || n->key.ip != nh_be
        || n->key.port != port) {
        n = neigh_find(dp, port, nh_be);
        b->last_neigh = n;
    }
    if (n && n->state >= NEIGH_REACHABLE) {
        eth_set(m, &dp->ports[port].mac, &n->mac);
        if (tx_enqueue(dp, b->tx, b->r, port, m)) {
            b->r->stats.forwarded++;
        }
        return;
    }
    if (!n) {
        n = neigh_alloc(dp, port, nh_be, NEIGH_INCOMPLETE);
        if (!n) {
            count_drop(dp, b->r, DP_drop_neigh_unresolved);
            rte_pktmbuf_free(m);
            return;
        }
        n->probes = 1;
        arp_request(dp, port, nh_be, b->tx);
    }
    if (n->n_queued >= DP_NEIGH_QLEN) {
        count_drop(dp, b->r, DP_drop_neigh_queue_full);
        rte_pktmbuf_free(m);
        return;
    }
    n->queue[n->n_queued++] = m;
    b->r->stats.forwarded++;
}

/* --- Floating IPs and flows. --- */

static int32_t
fip_find(const struct dp *dp, uint32_t router, uint32_t ip_be, bool by_fixed)
{
    struct dp_fip_key k = { .ip = ip_be, .router = router,
                            .by_fixed = by_fixed };
    void *data;

    if (rte_hash_lookup_data(dp->fip_hash, &k, &data) < 0) {
        return -1;
    }
    return (int32_t) (uintptr_t) data;
}

static uint64_t
flow_timeout(const struct dp *dp, const struct dp_flow *f)
{
    switch (f->key[0].proto) {
    case IPPROTO_TCP:
        if ((f->flags & FLOW_RST)
            || (f->flags & (FLOW_FIN_ORIG | FLOW_FIN_REPLY))
               == (FLOW_FIN_ORIG | FLOW_FIN_REPLY)
            || !(f->flags & FLOW_SEEN_REPLY)) {
            return dp->t_tcp_trans;
        }
        return dp->t_tcp;
    case IPPROTO_UDP:
        return dp->t_udp;
    default:
        return dp->t_icmp;
    }
}

static void
flow_delete(struct dp *dp, uint32_t idx)
{
    struct dp_flow *f = &dp->flows[idx];
    struct dp_router *r = &dp->routers[f->key[0].router];

    rte_hash_del_key(dp->flow_hash, &f->key[0]);
    rte_hash_del_key(dp->flow_hash, &f->key[1]);
    f->flags = 0;
    dp->flow_free[dp->n_flow_free++] = idx;
    dp->stats.flows_active--;
    r->stats.flows_active--;
}

static void
flow_expire(struct dp *dp, uint32_t idx)
{
    dp->routers[dp->flows[idx].key[0].router].stats.flows_expired++;
    flow_delete(dp, idx);
}

/* Drops every session of 'router'. */
static void
flows_flush(struct dp *dp, uint32_t router)
{
    for (uint32_t i = 0; i < dp->cfg.max_flows; i++) {
        if ((dp->flows[i].flags & FLOW_IN_USE)
            && dp->flows[i].key[0].router == router) {
            flow_delete(dp, i);
        }
    }
}

/* Creates a SNAT session for 'orig' translated to 'snat_ip' (network order),
 * keeping the source port when it is free.  Returns the slot, or -1 with
 * '*why' set. */
static int64_t
flow_create(struct dp *dp, struct dp_router *r, const struct dp_flow_key *orig,
            uint32_t snat_ip, enum dp_drop *why)
{
    struct dp_flow_key reply = {
        .src = orig->dst, .dst = snat_ip, .proto = orig->proto,
        .router = orig->router,
    };
    bool icmp = orig->proto == IPPROTO_ICMP;
    uint16_t min = icmp ? 1 : SNAT_PORT_MIN;
    uint16_t cand = rte_be_to_cpu_16(orig->sport);
    int tries;

    if (!dp->n_flow_free) {
        *why = DP_drop_nat_table_full;
        return -1;
    }
    reply.sport = icmp ? 0 : orig->dport;
    if (cand < min) {
        cand = r->snat_cursor;
    }
    for (tries = 0; tries < SNAT_TRIES; tries++) {
        if (cand < min) {
            cand = min + cand % (65536 - min);
        }
        reply.dport = rte_cpu_to_be_16(cand);
        if (rte_hash_lookup(dp->flow_hash, &reply) < 0) {
            break;
        }
        r->snat_cursor += 7919;         /* prime step scatters retries */
        cand = r->snat_cursor;
    }
    if (tries == SNAT_TRIES) {
        *why = DP_drop_nat_no_port;
        return -1;
    }

    uint32_t idx = dp->flow_free[dp->n_flow_free - 1];
    struct dp_flow *f = &dp->flows[idx];
    if (rte_hash_add_key_data(dp->flow_hash, orig,
                              (void *) (uintptr_t) (idx << 1)) < 0) {
        *why = DP_drop_nat_table_full;
        return -1;
    }
    if (rte_hash_add_key_data(dp->flow_hash, &reply,
                              (void *) (uintptr_t) (idx << 1 | 1)) < 0) {
        rte_hash_del_key(dp->flow_hash, orig);
        *why = DP_drop_nat_table_full;
        return -1;
    }
    dp->n_flow_free--;
    f->key[0] = *orig;
    f->key[1] = reply;
    f->flags = FLOW_IN_USE;
    f->expires = dp->now + flow_timeout(dp, f);
    dp->stats.flows_active++;
    r->stats.flows_active++;
    r->stats.flows_created++;
    return idx;
}

/* Notes a packet of session 'idx' in direction 'dir' with TCP flags
 * 'tcp_flags' and pushes its expiry. */
static inline void
flow_touch(struct dp *dp, uint32_t idx, unsigned int dir, uint8_t tcp_flags)
{
    struct dp_flow *f = &dp->flows[idx];

    if (dir) {
        f->flags |= FLOW_SEEN_REPLY;
    }
    if (tcp_flags & RTE_TCP_RST_FLAG) {
        f->flags |= FLOW_RST;
    }
    if (tcp_flags & RTE_TCP_FIN_FLAG) {
        f->flags |= dir ? FLOW_FIN_REPLY : FLOW_FIN_ORIG;
    }
    f->expires = dp->now + flow_timeout(dp, f);
}

/* --- ICMP generated by the router. --- */

/* Takes one token from the ICMP error bucket. */
static bool
icmp_ratelimit_ok(struct dp *dp)
{
    uint64_t rate = dp->cfg.icmp_error_rate;

    if (!rate) {
        return true;
    }
    if (dp->now > dp->icmp_refilled) {
        uint64_t elapsed = dp->now - dp->icmp_refilled;
        uint64_t add = elapsed >= dp->cfg.hz ? rate
                       : elapsed * rate / dp->cfg.hz;
        if (add) {
            dp->icmp_tokens = RTE_MIN(rate, dp->icmp_tokens + add);
            dp->icmp_refilled = dp->now;
        }
    }
    if (!dp->icmp_tokens) {
        return false;
    }
    dp->icmp_tokens--;
    return true;
}

/* Replaces validated IPv4 frame 'm' by an ICMP error 'type'/'code' about it
 * and sends that back to the frame's L2 source on the ingress port.  'mtu'
 * fills the next-hop MTU of "fragmentation needed".  The original counts as
 * dropped for 'why'.  'l4' is the packet's L4 header or NULL. */
static void
icmp_error(struct burst *b, struct rte_mbuf *m, const uint8_t *l4,
           uint8_t type, uint8_t code, uint16_t mtu, enum dp_drop why)
{
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    uint8_t quote[ICMP_QUOTE_MAX];
    uint32_t qlen;

    /* Never about an ICMP error, a non-first fragment, or a broadcast. */
    if ((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK)
        || (ip->next_proto_id == IPPROTO_ICMP
            && (!l4 || is_icmp_error_type(l4[0])))
        || rte_is_multicast_ether_addr(&eth->src_addr)) {
        drop(b, m, why);
        return;
    }
    if (!icmp_ratelimit_ok(b->dp)) {
        b->r->stats.icmp_ratelimited++;
        drop(b, m, why);
        return;
    }

    qlen = RTE_MIN((uint32_t) rte_be_to_cpu_16(ip->total_length),
                   (uint32_t) ICMP_QUOTE_MAX);
    qlen = RTE_MIN(qlen, (uint32_t) m->data_len - ETH_LEN);
    memcpy(quote, ip, qlen);

    uint32_t len = ETH_LEN + 20 + 8 + qlen;
    if ((uint32_t) m->buf_len - m->data_off < len) {
        drop(b, m, DP_drop_no_mbuf);
        return;
    }
    if (m->next) {
        rte_pktmbuf_free(m->next);
        m->next = NULL;
        m->nb_segs = 1;
    }
    m->data_len = len;
    m->pkt_len = len;

    rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    rte_ether_addr_copy(&b->port->mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

    uint32_t dst = ip->src_addr;
    memset(ip, 0, 20);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0xc0;
    ip->total_length = rte_cpu_to_be_16(20 + 8 + qlen);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = b->port->ip;
    ip->dst_addr = dst;
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    uint8_t *icmp = (uint8_t *) (ip + 1);
    memset(icmp, 0, 8);
    icmp[0] = type;
    icmp[1] = code;
    store16(icmp + 6, rte_cpu_to_be_16(mtu));
    memcpy(icmp + 8, quote, qlen);
    store16(icmp + 2, (uint16_t) ~rte_raw_cksum(icmp, 8 + qlen));

    count_drop(b->dp, b->r, why);
    if (tx_enqueue(b->dp, b->tx, b->r, b->in_port, m)) {
        if (type == ICMP_DEST_UNREACH && code == 4) {
            b->r->stats.icmp_frag_needed++;
        } else if (type == ICMP_DEST_UNREACH) {
            b->r->stats.icmp_unreachable++;
        } else {
            b->r->stats.icmp_ttl_exceeded++;
        }
    }
}

/* --- Stage 1: parse. --- */

#define PKT_FRAG      0x01      /* a fragment (MF set or offset != 0) */
#define PKT_NATABLE   0x02      /* has ports or an ICMP query id */
#define PKT_DNAT      0x04      /* destination translated */
#define PKT_DNAT_PORT 0x08      /* ... and its port (session reply) */
#define PKT_SNAT      0x10      /* source translated */
#define PKT_SNAT_PORT 0x20      /* ... and its port (session) */
#define PKT_SNAT_TRY  0x40      /* leaves through the external port */
#define PKT_DONE      0x80      /* consumed by an earlier stage */

/* An IPv4 packet in flight through the stages. */
struct pkt {
    struct rte_mbuf *m;
    struct rte_ipv4_hdr *ip;
    uint8_t *l4;                /* L4 header, NULL if absent or unparsed */
    uint32_t dst;               /* destination after DNAT, network order */
    uint32_t src;               /* source after SNAT, network order */
    uint16_t kport[2];          /* flow-key ports: [0] source, [1] dest */
    uint16_t new_dport;         /* DNAT'ed key port */
    uint16_t new_sport;         /* SNAT'ed key port */
    uint32_t hop;               /* LPM result, then next-hop slot */
    int64_t flow;               /* session slot, -1 if none */
    uint16_t out_port;
    uint8_t proto;
    uint8_t flags;
    uint8_t flow_dir;
};

/* Answers or learns from ARP frame 'm'.  Consumes 'm'. */
static void
arp_input(struct burst *b, struct rte_mbuf *m)
{
    struct dp *dp = b->dp;
    struct dp_port *p = b->port;
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *) (eth + 1);
    uint16_t op;

    if (m->data_len < ETH_LEN + sizeof *arp) {
        drop(b, m, DP_drop_malformed);
        return;
    }
    op = rte_be_to_cpu_16(arp->arp_opcode);
    if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER)
        || arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)
        || arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4
        || (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
        || !rte_is_unicast_ether_addr(&arp->arp_data.arp_sha)) {
        drop(b, m, DP_drop_malformed);
        return;
    }
    b->r->stats.arp_in++;

    uint32_t sip = arp->arp_data.arp_sip;
    uint32_t tip = arp->arp_data.arp_tip;
    bool on_link = sip != 0 && (sip & p->mask) == (p->ip & p->mask)
                   && sip != p->ip;
    bool ours = tip == p->ip;
    if (!ours && p->external) {
        ours = (b->r->snat && tip == b->r->snat_ip)
               || (b->r->n_fips && fip_find(dp, b->router, tip, false) >= 0);
    }

    struct dp_neigh *n = on_link ? neigh_find(dp, b->in_port, sip) : NULL;
    if (n) {
        neigh_confirm(dp, n, &arp->arp_data.arp_sha, b->tx);
    } else if (on_link && ours) {
        n = neigh_alloc(dp, b->in_port, sip, NEIGH_REACHABLE);
        if (n) {
            rte_ether_addr_copy(&arp->arp_data.arp_sha, &n->mac);
        }
    }

    if (op != RTE_ARP_OP_REQUEST) {
        consume(b, m);
        return;
    }
    if (!ours) {
        drop(b, m, DP_drop_not_for_us);
        return;
    }
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
    rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
    arp->arp_data.arp_tip = sip;
    arp->arp_data.arp_sip = tip;
    rte_ether_addr_copy(&arp->arp_data.arp_tha, &eth->dst_addr);
    rte_ether_addr_copy(&p->mac, &eth->src_addr);
    if (tx_enqueue(dp, b->tx, b->r, b->in_port, m)) {
        b->r->stats.arp_replies++;
    }
}

/* Validates frame 'm'.  Returns true and fills 'pk' for an IPv4 packet to
 * route; otherwise consumes 'm' (ARP handled, or dropped). */
static bool
parse(struct burst *b, struct rte_mbuf *m, struct pkt *pk)
{
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    uint32_t len = m->data_len;

    if (len < ETH_LEN || m->pkt_len < len) {
        drop(b, m, DP_drop_malformed);
        return false;
    }
    if (!rte_is_same_ether_addr(&eth->dst_addr, &b->port->mac)
        && !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
        drop(b, m, DP_drop_not_for_us);
        return false;
    }
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
        arp_input(b, m);
        return false;
    }
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
        drop(b, m, DP_drop_unsupported);
        return false;
    }
    if (rte_is_broadcast_ether_addr(&eth->dst_addr)) {
        drop(b, m, DP_drop_not_for_us);
        return false;
    }

    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    uint32_t ihl, total;
    if (len < ETH_LEN + 20 || (ip->version_ihl >> 4) != 4) {
        drop(b, m, DP_drop_malformed);
        return false;
    }
    ihl = (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
    total = rte_be_to_cpu_16(ip->total_length);
    if (ihl < 20 || len < ETH_LEN + ihl || total < ihl
        || total > m->pkt_len - ETH_LEN) {
        drop(b, m, DP_drop_malformed);
        return false;
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK)
            == RTE_MBUF_F_RX_IP_CKSUM_BAD
        || ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK)
                != RTE_MBUF_F_RX_IP_CKSUM_GOOD
            && !ipv4_cksum_ok(ip, ihl))) {
        drop(b, m, DP_drop_bad_checksum);
        return false;
    }
    if (ip_is_martian(ip->src_addr) || ip_is_martian(ip->dst_addr)) {
        drop(b, m, DP_drop_martian);
        return false;
    }
    if (m->pkt_len > ETH_LEN + total && m->nb_segs == 1) {
        rte_pktmbuf_trim(m, m->pkt_len - ETH_LEN - total);
        len = m->data_len;
    }

    uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    memset(pk, 0, sizeof *pk);
    pk->m = m;
    pk->ip = ip;
    pk->dst = ip->dst_addr;
    pk->src = ip->src_addr;
    pk->proto = ip->next_proto_id;
    pk->flow = -1;
    if (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
        pk->flags |= PKT_FRAG;
    }
    if (frag & RTE_IPV4_HDR_OFFSET_MASK) {
        return true;            /* no L4 header in this fragment */
    }

    uint32_t need;
    switch (pk->proto) {
    case IPPROTO_TCP:
        need = 20;
        break;
    case IPPROTO_UDP:
    case IPPROTO_ICMP:
        need = 8;
        break;
    default:
        return true;
    }
    if (total < ihl + need || len < ETH_LEN + ihl + need) {
        drop(b, m, DP_drop_malformed);
        return false;
    }
    uint8_t *l4 = (uint8_t *) ip + ihl;
    pk->l4 = l4;
    if (pk->proto == IPPROTO_ICMP) {
        if (l4[0] == RTE_IP_ICMP_ECHO_REQUEST) {
            pk->kport[0] = load16(l4 + 4);
            pk->flags |= PKT_NATABLE;
        } else if (l4[0] == RTE_IP_ICMP_ECHO_REPLY) {
            pk->kport[1] = load16(l4 + 4);
            pk->flags |= PKT_NATABLE;
        }
    } else {
        pk->kport[0] = load16(l4);
        pk->kport[1] = load16(l4 + 2);
        pk->flags |= PKT_NATABLE;
    }
    if (pk->flags & PKT_FRAG) {
        pk->flags &= ~PKT_NATABLE;
    }
    return true;
}

/* --- Stage 2: DNAT on the external port. --- */

/* 'p' is an ICMP error arriving on the external port for the SNAT address.
 * If it quotes a packet of one of our sessions, restores the quoted
 * packet's inside source (address, port or echo id, checksums) and directs
 * the error to the inside host, as the host sent it (RFC 5508 REQ-3). */
static void
dnat_icmp_error(struct burst *b, struct pkt *p)
{
    struct dp *dp = b->dp;
    uint8_t *icmp = p->l4;
    uint32_t total = rte_be_to_cpu_16(p->ip->total_length);
    uint32_t ihl = (p->ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
    uint32_t len = total - ihl;             /* ICMP message */

    if (len < 8 + 20 + 8 || p->m->data_len < ETH_LEN + total) {
        return;
    }
    struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *) (icmp + 8);
    uint32_t in_ihl = (in->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
    if ((in->version_ihl >> 4) != 4 || in_ihl < 20 || len < 8 + in_ihl + 8
        || in->src_addr != b->r->snat_ip
        || (rte_be_to_cpu_16(in->fragment_offset)
            & RTE_IPV4_HDR_OFFSET_MASK)) {
        return;
    }
    uint8_t *il4 = (uint8_t *) in + in_ihl;
    uint32_t il4_len = len - 8 - in_ihl;    /* quoted L4 bytes */
    struct dp_flow_key k = {
        .src = in->dst_addr, .dst = in->src_addr,
        .proto = in->next_proto_id, .router = b->router,
    };
    uint8_t *port;                          /* quoted source port or id */
    uint8_t *ckp = NULL;                    /* quoted L4 checksum */
    bool pseudo = true;

    if (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP) {
        k.sport = load16(il4 + 2);
        k.dport = load16(il4);
        port = il4;
        if (k.proto == IPPROTO_UDP && load16(il4 + 6)) {
            ckp = il4 + 6;
        } else if (k.proto == IPPROTO_TCP && il4_len >= 18) {
            ckp = il4 + 16;
        }
    } else if (k.proto == IPPROTO_ICMP && il4[0] == RTE_IP_ICMP_ECHO_REQUEST) {
        k.dport = load16(il4 + 4);
        port = il4 + 4;
        ckp = il4 + 2;
        pseudo = false;
    } else {
        return;
    }

    void *data;
    if (rte_hash_lookup_data(dp->flow_hash, &k, &data) < 0
        || !((uintptr_t) data & 1)
        || dp->flows[(uintptr_t) data >> 1].expires <= dp->now) {
        return;
    }
    const struct dp_flow_key *o = &dp->flows[(uintptr_t) data >> 1].key[0];

    if (ckp) {
        uint16_t ck = load16(ckp);
        if (pseudo) {
            ck = csum_adjust32(ck, in->src_addr, o->src);
        }
        ck = csum_adjust16(ck, load16(port), o->sport);
        store16(ckp, ck == 0 && k.proto == IPPROTO_UDP ? 0xffff : ck);
    }
    store16(port, o->sport);
    in->hdr_checksum = csum_adjust32(in->hdr_checksum, in->src_addr, o->src);
    in->src_addr = o->src;
    store16(icmp + 2, 0);
    store16(icmp + 2, (uint16_t) ~rte_raw_cksum(icmp, len));

    p->dst = o->src;
    p->flags |= PKT_DNAT;
    b->r->stats.snat_in++;
}

static void
stage_dnat(struct burst *b, struct pkt *pk, uint16_t n)
{
    struct dp *dp = b->dp;
    struct dp_router *r = b->r;
    const void *keyp[DP_BURST_MAX];
    uint16_t which[DP_BURST_MAX];
    void *data[DP_BURST_MAX];
    uint64_t hits;
    uint16_t k;

    if (r->n_fips) {
        struct dp_fip_key fk[DP_BURST_MAX];
        for (uint16_t i = 0; i < n; i++) {
            fk[i] = (struct dp_fip_key) { .ip = pk[i].dst,
                                          .router = b->router };
            keyp[i] = &fk[i];
        }
        rte_hash_lookup_bulk_data(dp->fip_hash, keyp, n, &hits, data);
        for (uint16_t i = 0; i < n; i++) {
            if (hits & (1ULL << i)) {
                pk[i].dst = dp->fips[(uintptr_t) data[i]].fixed;
                pk[i].flags |= PKT_DNAT;
                r->stats.fip_in++;
            }
        }
    }

    if (!r->snat) {
        return;
    }
    struct dp_flow_key key[DP_BURST_MAX];
    k = 0;
    for (uint16_t i = 0; i < n; i++) {
        if (pk[i].proto == IPPROTO_ICMP && pk[i].l4
            && !(pk[i].flags & (PKT_DNAT | PKT_FRAG))
            && is_icmp_error_type(pk[i].l4[0]) && pk[i].dst == r->snat_ip) {
            dnat_icmp_error(b, &pk[i]);
            continue;
        }
        if (!(pk[i].flags & (PKT_DNAT | PKT_DONE))
            && (pk[i].flags & PKT_NATABLE) && pk[i].dst == r->snat_ip) {
            key[k] = (struct dp_flow_key) {
                .src = pk[i].src, .dst = pk[i].dst,
                .sport = pk[i].kport[0], .dport = pk[i].kport[1],
                .proto = pk[i].proto, .router = b->router,
            };
            keyp[k] = &key[k];
            which[k++] = i;
        }
    }
    if (!k) {
        return;
    }
    rte_hash_lookup_bulk_data(dp->flow_hash, keyp, k, &hits, data);
    for (uint16_t j = 0; j < k; j++) {
        uintptr_t v = (uintptr_t) data[j];
        if (!(hits & (1ULL << j)) || !(v & 1)) {
            continue;
        }
        struct dp_flow *f = &dp->flows[v >> 1];
        if (f->expires <= dp->now) {
            flow_expire(dp, v >> 1);
            continue;
        }
        struct pkt *p = &pk[which[j]];
        p->dst = f->key[0].src;
        p->new_dport = f->key[0].sport;
        p->flags |= PKT_DNAT | PKT_DNAT_PORT;
        p->flow = v >> 1;
        p->flow_dir = 1;
        r->stats.snat_in++;
    }
}

/* --- Stage 3: route; local delivery, TTL, MTU. --- */

/* Handles packet 'p' addressed to the router itself. */
static void
local_input(struct burst *b, struct pkt *p)
{
    struct rte_mbuf *m = p->m;
    struct rte_ipv4_hdr *ip = p->ip;

    b->r->stats.local_in++;
    if (p->proto == IPPROTO_ICMP && p->l4 && !(p->flags & PKT_FRAG)
        && p->l4[0] == RTE_IP_ICMP_ECHO_REQUEST && p->l4[1] == 0) {
        struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m,
                                                     struct rte_ether_hdr *);
        uint32_t src = ip->src_addr;
        uint16_t old = load16(p->l4);

        ip->src_addr = ip->dst_addr;
        ip->dst_addr = src;
        ip->time_to_live = 64;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        p->l4[0] = RTE_IP_ICMP_ECHO_REPLY;
        store16(p->l4 + 2, csum_adjust16(load16(p->l4 + 2), old,
                                         load16(p->l4)));
        rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
        rte_ether_addr_copy(&b->port->mac, &eth->src_addr);
        if (tx_enqueue(b->dp, b->tx, b->r, b->in_port, m)) {
            b->r->stats.echo_replies++;
        }
    } else if (p->proto == IPPROTO_UDP && p->l4 && !(p->flags & PKT_FRAG)) {
        icmp_error(b, m, p->l4, ICMP_DEST_UNREACH, 3, 0,
                   DP_drop_local);
    } else {
        drop(b, m, DP_drop_local);
    }
    p->flags |= PKT_DONE;
}

static void
stage_route(struct burst *b, struct pkt *pk, uint16_t n)
{
    struct dp *dp = b->dp;
    struct dp_router *r = b->r;
    uint32_t ips[DP_BURST_MAX];
    uint32_t hops[DP_BURST_MAX];

    for (uint16_t i = 0; i < n; i++) {
        ips[i] = rte_be_to_cpu_32(pk[i].dst);
    }
    dp_fib_lookup_bulk(r->fib, ips, hops, n);

    for (uint16_t i = 0; i < n; i++) {
        struct pkt *p = &pk[i];
        uint32_t slot = hops[i];

        if (p->flags & PKT_DONE) {
            continue;
        }
        if (slot == DP_FIB_MISS) {
            icmp_error(b, p->m, p->l4, ICMP_DEST_UNREACH, 0, 0,
                       DP_drop_no_route);
            p->flags |= PKT_DONE;
            continue;
        }
        const struct dp_nexthop *nh = &r->nh[slot];
        if (nh->kind == NH_LOCAL) {
            local_input(b, p);
            continue;
        }
        if (p->ip->time_to_live <= 1) {
            icmp_error(b, p->m, p->l4, ICMP_TIME_EXCEEDED, 0, 0,
                       DP_drop_ttl);
            p->flags |= PKT_DONE;
            continue;
        }
        uint16_t total = rte_be_to_cpu_16(p->ip->total_length);
        uint16_t mtu = dp->ports[nh->port].mtu;
        if (total > mtu) {
            if (p->ip->fragment_offset
                & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
                icmp_error(b, p->m, p->l4, ICMP_DEST_UNREACH, 4, mtu,
                           DP_drop_too_big);
            } else {
                drop(b, p->m, DP_drop_too_big);
            }
            p->flags |= PKT_DONE;
            continue;
        }
        p->hop = slot;
        p->out_port = nh->port;
        if (nh->port == r->ext_port && b->in_port != r->ext_port
            && (r->snat || r->n_fips)) {
            p->flags |= PKT_SNAT_TRY;
        }
    }
}

/* --- Stage 4: SNAT towards the external port. --- */

static void
stage_snat(struct burst *b, struct pkt *pk, uint16_t n)
{
    struct dp *dp = b->dp;
    struct dp_router *r = b->r;
    const void *keyp[DP_BURST_MAX];
    uint16_t which[DP_BURST_MAX];
    void *data[DP_BURST_MAX];
    uint64_t hits;
    uint16_t k = 0;

    for (uint16_t i = 0; i < n; i++) {
        if ((pk[i].flags & (PKT_SNAT_TRY | PKT_DONE)) == PKT_SNAT_TRY) {
            which[k++] = i;
        }
    }
    if (!k) {
        return;
    }

    if (r->n_fips) {
        struct dp_fip_key fk[DP_BURST_MAX];
        for (uint16_t j = 0; j < k; j++) {
            fk[j] = (struct dp_fip_key) { .ip = pk[which[j]].src,
                                          .router = b->router,
                                          .by_fixed = 1 };
            keyp[j] = &fk[j];
        }
        rte_hash_lookup_bulk_data(dp->fip_hash, keyp, k, &hits, data);
        uint16_t left = 0;
        for (uint16_t j = 0; j < k; j++) {
            struct pkt *p = &pk[which[j]];
            if (hits & (1ULL << j)) {
                p->src = dp->fips[(uintptr_t) data[j]].fip;
                p->flags |= PKT_SNAT;
                r->stats.fip_out++;
            } else {
                which[left++] = which[j];
            }
        }
        k = left;
    }
    if (!r->snat || !k) {
        return;
    }

    struct dp_flow_key key[DP_BURST_MAX];
    uint16_t m = 0;
    for (uint16_t j = 0; j < k; j++) {
        struct pkt *p = &pk[which[j]];
        if (!(p->flags & PKT_NATABLE)
            || (p->proto == IPPROTO_ICMP
                && p->l4[0] != RTE_IP_ICMP_ECHO_REQUEST)) {
            drop(b, p->m, (p->flags & PKT_FRAG) ? DP_drop_nat_fragment
                                                : DP_drop_unsupported);
            p->flags |= PKT_DONE;
            continue;
        }
        key[m] = (struct dp_flow_key) {
            .src = p->src, .dst = p->dst,
            .sport = p->kport[0], .dport = p->kport[1],
            .proto = p->proto, .router = b->router,
        };
        keyp[m] = &key[m];
        which[m++] = which[j];
    }
    if (!m) {
        return;
    }
    rte_hash_lookup_bulk_data(dp->flow_hash, keyp, m, &hits, data);
    for (uint16_t j = 0; j < m; j++) {
        struct pkt *p = &pk[which[j]];
        uintptr_t v = (uintptr_t) data[j];
        int64_t idx = -1;

        if ((hits & (1ULL << j)) && !(v & 1)) {
            idx = v >> 1;
            if (dp->flows[idx].expires <= dp->now) {
                flow_expire(dp, idx);
                idx = -1;
            }
        }
        if (idx < 0) {
            enum dp_drop why;
            idx = flow_create(dp, r, &key[j], r->snat_ip, &why);
            if (idx < 0) {
                drop(b, p->m, why);
                p->flags |= PKT_DONE;
                continue;
            }
        }
        const struct dp_flow *f = &dp->flows[idx];
        p->src = f->key[1].dst;
        p->new_sport = f->key[1].dport;
        p->flags |= PKT_SNAT | PKT_SNAT_PORT;
        p->flow = idx;
        p->flow_dir = 0;
        r->stats.snat_out++;
    }
}

/* --- Stage 5: rewrite and send. --- */

/* Writes the decided translations and the TTL decrement into 'p', updating
 * the IPv4 and L4 checksums incrementally. */
static inline void
rewrite(struct pkt *p)
{
    struct rte_ipv4_hdr *ip = p->ip;
    uint16_t ipck = ip->hdr_checksum;
    uint8_t *ckp = NULL;        /* L4 checksum field */
    bool pseudo = false;        /* L4 checksum covers the addresses */
    uint16_t ck = 0;
    uint8_t *l4 = p->l4;

    if (l4) {
        if (p->proto == IPPROTO_TCP) {
            ckp = l4 + 16;
            pseudo = true;
        } else if (p->proto == IPPROTO_UDP) {
            if (load16(l4 + 6)) {
                ckp = l4 + 6;
                pseudo = true;
            }
        } else if (p->proto == IPPROTO_ICMP) {
            ckp = l4 + 2;
        }
        if (ckp) {
            ck = load16(ckp);
        }
    }

    if (p->flags & PKT_DNAT) {
        ipck = csum_adjust32(ipck, ip->dst_addr, p->dst);
        if (pseudo) {
            ck = csum_adjust32(ck, ip->dst_addr, p->dst);
        }
        ip->dst_addr = p->dst;
        if (p->flags & PKT_DNAT_PORT) {
            uint8_t *f = p->proto == IPPROTO_ICMP ? l4 + 4 : l4 + 2;
            ck = csum_adjust16(ck, load16(f), p->new_dport);
            store16(f, p->new_dport);
        }
    }
    if (p->flags & PKT_SNAT) {
        ipck = csum_adjust32(ipck, ip->src_addr, p->src);
        if (pseudo) {
            ck = csum_adjust32(ck, ip->src_addr, p->src);
        }
        ip->src_addr = p->src;
        if (p->flags & PKT_SNAT_PORT) {
            uint8_t *f = p->proto == IPPROTO_ICMP ? l4 + 4 : l4;
            ck = csum_adjust16(ck, load16(f), p->new_sport);
            store16(f, p->new_sport);
        }
    }

    uint16_t old = load16(&ip->time_to_live);
    ip->time_to_live--;
    ipck = csum_adjust16(ipck, old, load16(&ip->time_to_live));
    ip->hdr_checksum = ipck;

    if (ckp && (p->flags & (PKT_DNAT | PKT_SNAT))) {
        if (p->proto == IPPROTO_UDP && ck == 0) {
            ck = 0xffff;
        }
        store16(ckp, ck);
    }
}

static void
stage_finish(struct burst *b, struct pkt *pk, uint16_t n)
{
    struct dp *dp = b->dp;
    struct dp_router *r = b->r;

    for (uint16_t i = 0; i < n; i++) {
        struct pkt *p = &pk[i];

        if (p->flags & PKT_DONE) {
            continue;
        }
        rewrite(p);
        if (p->flow >= 0) {
            uint8_t tcp_flags = p->proto == IPPROTO_TCP ? p->l4[13] : 0;
            flow_touch(dp, p->flow, p->flow_dir, tcp_flags);
        }
        const struct dp_nexthop *nh = &r->nh[p->hop];
        uint32_t next = nh->kind == NH_GATEWAY ? rte_cpu_to_be_32(nh->gw)
                                               : p->dst;
        neigh_output(b, p->out_port, next, p->m);
    }
}

static void
process_burst(struct dp *dp, uint16_t in_port, struct rte_mbuf **pkts,
              uint16_t n, struct dp_tx *tx)
{
    struct burst b = { .dp = dp, .tx = tx, .in_port = in_port };
    struct pkt pk[DP_BURST_MAX];
    uint16_t np = 0;

    if (in_port >= DP_MAX_LPORTS || !dp->ports[in_port].in_use) {
        for (uint16_t i = 0; i < n; i++) {
            drop(&b, pkts[i], DP_drop_no_port);
        }
        goto out;
    }
    b.port = &dp->ports[in_port];
    b.router = b.port->router;
    b.r = &dp->routers[b.router];
    dp->stats.rx_packets += n;
    b.r->stats.rx_packets += n;

    for (uint16_t i = 0; i < PREFETCH_OFFSET && i < n; i++) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    }
    for (uint16_t i = 0; i < n; i++) {
        if (i + PREFETCH_OFFSET < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_OFFSET],
                                           void *));
        }
        b.port->stats.rx_packets++;
        b.port->stats.rx_bytes += pkts[i]->pkt_len;
        if (parse(&b, pkts[i], &pk[np])) {
            np++;
        }
    }
    if (np) {
        if (in_port == b.r->ext_port) {
            stage_dnat(&b, pk, np);
        }
        stage_route(&b, pk, np);
        stage_snat(&b, pk, np);
        stage_finish(&b, pk, np);
    }
out:
    if (b.n_drops) {
        rte_pktmbuf_free_bulk(b.drops, b.n_drops);
    }
}

/* The router port on shared device 'dev' that frame 'm' is for:
 * by destination MAC, or for a broadcast ARP request by target address
 * (a port's own address; on an external port also its router's SNAT
 * address and floating IPs).  DP_PORT_NONE if none. */
static uint16_t
demux(const struct dp *dp, uint16_t dev, const struct rte_mbuf *m)
{
    const struct rte_ether_hdr *eth =
        rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

    if (m->data_len < ETH_LEN) {
        return DP_PORT_NONE;
    }
    if (!rte_is_broadcast_ether_addr(&eth->dst_addr)) {
        struct dp_mac_key k = { .dev = dev };
        void *data;
        rte_ether_addr_copy(&eth->dst_addr, &k.mac);
        return rte_hash_lookup_data(dp->mac_hash, &k, &data) < 0
               ? DP_PORT_NONE : (uint16_t) (uintptr_t) data;
    }
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)
        || m->data_len < ETH_LEN + sizeof(struct rte_arp_hdr)) {
        return DP_PORT_NONE;
    }
    const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *) (eth + 1);
    uint32_t tip = arp->arp_data.arp_tip;
    for (uint16_t lp = dp->dev_first[dev]; lp != DP_PORT_NONE;
         lp = dp->ports[lp].next_on_dev) {
        const struct dp_port *p = &dp->ports[lp];
        if (p->ip == tip) {
            return lp;
        }
        if (p->external) {
            const struct dp_router *r = &dp->routers[p->router];
            if ((r->snat && tip == r->snat_ip)
                || (r->n_fips && fip_find(dp, p->router, tip, false) >= 0)) {
                return lp;
            }
        }
    }
    return DP_PORT_NONE;
}

/* Splits a burst received on device 'dev' shared by several router ports
 * into one burst per router port, keeping each port's frames in order. */
static void
process_shared(struct dp *dp, uint16_t dev, struct rte_mbuf **pkts,
               uint16_t n, struct dp_tx *tx)
{
    uint16_t lport[DP_BURST_MAX];
    struct rte_mbuf *group[DP_BURST_MAX];
    struct rte_mbuf *drops[DP_BURST_MAX];
    uint16_t n_drops = 0;

    const struct rte_ether_addr *last = NULL;  /* one-entry cache */
    uint16_t last_lp = DP_PORT_NONE;

    for (uint16_t i = 0; i < n; i++) {
        const struct rte_ether_hdr *eth =
            rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
        if (last && pkts[i]->data_len >= ETH_LEN
            && rte_is_same_ether_addr(last, &eth->dst_addr)) {
            lport[i] = last_lp;
            continue;
        }
        lport[i] = demux(dp, dev, pkts[i]);
        if (lport[i] != DP_PORT_NONE
            && !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
            last = &dp->ports[lport[i]].mac;
            last_lp = lport[i];
        }
        if (lport[i] == DP_PORT_NONE) {
            dp->stats.rx_packets++;
            count_drop(dp, NULL, DP_drop_not_for_us);
            drops[n_drops++] = pkts[i];
            pkts[i] = NULL;
        }
    }
    for (uint16_t i = 0; i < n; i++) {
        if (!pkts[i]) {
            continue;
        }
        uint16_t lp = lport[i], k = 0;
        for (uint16_t j = i; j < n; j++) {
            if (pkts[j] && lport[j] == lp) {
                group[k++] = pkts[j];
                pkts[j] = NULL;
            }
        }
        process_burst(dp, lp, group, k, tx);
    }
    if (n_drops) {
        rte_pktmbuf_free_bulk(drops, n_drops);
    }
}

static void
process_dev(struct dp *dp, uint16_t dev, struct rte_mbuf **pkts, uint16_t n,
            struct dp_tx *tx)
{
    if (dev < DP_MAX_PORTS && dp->dev_nports[dev] > 1) {
        process_shared(dp, dev, pkts, n, tx);
    } else {
        /* A device with one router port (or none): no demultiplexing; the
         * port's own checks count what is not for it. */
        process_burst(dp, dev < DP_MAX_PORTS ? dp->dev_first[dev]
                                             : DP_PORT_NONE, pkts, n, tx);
    }
}

uint32_t
dp_frame_router(const struct dp *dp, uint16_t dev, const struct rte_mbuf *m)
{
    uint16_t lp;

    if (dev >= DP_MAX_PORTS || !dp->dev_nports[dev]) {
        return UINT32_MAX;
    }
    lp = dp->dev_nports[dev] > 1 ? demux(dp, dev, m) : dp->dev_first[dev];
    return lp == DP_PORT_NONE ? UINT32_MAX : dp->ports[lp].router;
}

void
dp_process_burst(struct dp *dp, uint16_t in_port, struct rte_mbuf **pkts,
                 uint16_t n, struct dp_tx *tx)
{
    while (n > DP_BURST_MAX) {
        process_dev(dp, in_port, pkts, DP_BURST_MAX, tx);
        pkts += DP_BURST_MAX;
        n -= DP_BURST_MAX;
    }
    if (n) {
        process_dev(dp, in_port, pkts, n, tx);
    }
}

/* --- Timers. --- */

void
dp_tick(struct dp *dp, uint64_t now, struct dp_tx *tx)
{
    if (now < dp->now) {
        return;
    }
    dp->now = now;

    /* Sessions: a share of the table proportional to the time elapsed, so
     * the whole table is visited about once a second. */
    uint64_t elapsed = now - dp->flow_swept;
    if (elapsed >= dp->cfg.hz / 1000 + 1) {
        uint64_t budget = elapsed >= dp->cfg.hz
                          ? dp->cfg.max_flows
                          : dp->cfg.max_flows * elapsed / dp->cfg.hz + 1;
        budget = RTE_MIN(budget, (uint64_t) dp->cfg.max_flows);
        for (uint64_t i = 0; i < budget; i++) {
            uint32_t c = dp->flow_cursor;
            dp->flow_cursor = (c + 1) % dp->cfg.max_flows;
            if ((dp->flows[c].flags & FLOW_IN_USE)
                && dp->flows[c].expires <= now) {
                flow_expire(dp, c);
            }
        }
        dp->flow_swept = now;
    }

    /* Neighbours: all of them ten times a second. */
    if (now - dp->neigh_swept < dp->cfg.hz / 10) {
        return;
    }
    dp->neigh_swept = now;
    for (uint32_t i = 0; i < dp->cfg.max_neighbours; i++) {
        struct dp_neigh *n = &dp->neighs[i];

        if (n->state == NEIGH_INCOMPLETE && now - n->updated >= dp->t_retry) {
            if (n->probes >= dp->cfg.neigh_probes) {
                neigh_free(dp, n, DP_drop_neigh_unresolved);
            } else {
                n->probes++;
                n->updated = now;
                arp_request(dp, n->key.port, n->key.ip, tx);
            }
        } else if (n->state == NEIGH_REACHABLE
                   && now - n->updated >= dp->t_neigh) {
            neigh_free(dp, n, DP_drop_neigh_unresolved);
        }
    }
}

/* --- Routes: the configured set, from which the FIB is rebuilt. --- */

/* Computes the rules router 'ri' wants into 'want' (capacity 'max');
 * returns how many, or -1 if they do not fit. */
static int64_t
rules_wanted(const struct dp *dp, uint32_t ri, struct dp_rule *want,
             uint32_t max)
{
    const struct dp_router *r = &dp->routers[ri];
    uint32_t n = 0;

#define WANT(PREFIX, PLEN, KIND, PORT, GW)                                  \
    do {                                                                    \
        uint32_t p__ = (PREFIX) & plen_mask(PLEN);                          \
        bool dup__ = false;                                                 \
        for (uint32_t j__ = 0; j__ < n; j__++) {                            \
            if (want[j__].prefix == p__ && want[j__].plen == (PLEN)) {      \
                dup__ = true;                                               \
                break;                                                      \
            }                                                               \
        }                                                                   \
        if (!dup__) {                                                       \
            if (n >= max) {                                                 \
                return -1;                                                  \
            }                                                               \
            want[n++] = (struct dp_rule) {                                  \
                .prefix = p__, .plen = (PLEN), .kind = (KIND),              \
                .port = (PORT), .gw = (GW),                                 \
            };                                                              \
        }                                                                   \
    } while (0)

    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        const struct dp_port *p = &dp->ports[i];
        if (p->in_use && p->router == ri) {
            WANT(rte_be_to_cpu_32(p->ip), 32, NH_LOCAL, i, 0);
        }
    }
    if (r->snat) {
        WANT(rte_be_to_cpu_32(r->snat_ip), 32, NH_LOCAL, r->ext_port, 0);
    }
    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        const struct dp_port *p = &dp->ports[i];
        if (p->in_use && p->router == ri && p->plen < 32) {
            WANT(rte_be_to_cpu_32(p->ip), p->plen, NH_CONNECTED, i, 0);
        }
    }
    for (uint32_t k = 0; k < r->n_routes; k++) {
        const struct dp_route *rt = &r->routes[k];
        uint32_t gw_be = rte_cpu_to_be_32(rt->gw);
        for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
            const struct dp_port *p = &dp->ports[i];
            if (p->in_use && p->router == ri && gw_be != p->ip
                && (gw_be & p->mask) == (p->ip & p->mask)) {
                WANT(rt->prefix, rt->plen, NH_GATEWAY, i, rt->gw);
                break;
            }
        }
    }
#undef WANT
    return n;
}

/* Makes router 'ri's FIB match its configuration: computes the rules it
 * wants, interns their next hops and rebuilds the table.  On error nothing
 * changes.  A sync that installs fewer rules than before (a port or route
 * removed) needs no new memory and does not fail. */
static int
router_sync(struct dp *dp, uint32_t ri)
{
    struct dp_router *r = &dp->routers[ri];
    uint32_t max = r->n_nh_max;
    struct dp_rule *want = calloc(max, sizeof *want);
    struct dp_nexthop *nh = calloc(max, sizeof *nh);
    struct dp_fib_rule *fr = calloc(max, sizeof *fr);
    uint32_t n_nh = 0;
    int64_t n_want;
    int error = 0;

    if (!want || !nh || !fr) {
        error = ENOMEM;
        goto out;
    }
    n_want = rules_wanted(dp, ri, want, max);
    if (n_want < 0) {
        error = ENOSPC;
        goto out;
    }
    for (int64_t j = 0; j < n_want; j++) {
        uint32_t k;
        for (k = 0; k < n_nh; k++) {
            if (nh[k].kind == want[j].kind && nh[k].port == want[j].port
                && nh[k].gw == want[j].gw) {
                break;
            }
        }
        if (k == n_nh) {
            nh[n_nh++] = (struct dp_nexthop) {
                .kind = want[j].kind, .port = want[j].port, .gw = want[j].gw,
            };
        }
        want[j].nh = k;
        fr[j] = (struct dp_fib_rule) {
            .prefix = want[j].prefix, .plen = want[j].plen, .value = k,
        };
    }
    error = dp_fib_build(r->fib, fr, n_want);
    if (error) {
        goto out;
    }
    memcpy(r->nh, nh, max * sizeof *nh);
    memcpy(r->rules, want, max * sizeof *want);
    r->n_rules = n_want;
out:
    free(want);
    free(nh);
    free(fr);
    return error;
}

/* --- Life cycle. --- */

void
dp_config_default(struct dp_config *c)
{
    *c = (struct dp_config) {
        .name = "dp",
        .socket_id = 0,
        .max_routers = 64,
        .max_flows = 262144,
        .max_neighbours = 4096,
        .max_fips = 4096,
        .lpm_rules = 1024,
        .hz = rte_get_tsc_hz(),
        .timeout_tcp = 7440,            /* RFC 5382 REQ-5 */
        .timeout_tcp_transitory = 240,
        .timeout_udp = 300,             /* RFC 4787 REQ-5 */
        .timeout_icmp = 60,             /* RFC 5508 REQ-1 */
        .neigh_timeout = 300,
        .neigh_retry_ms = 1000,
        .neigh_probes = 3,
        .icmp_error_rate = 1000,
    };
}

static struct rte_hash *
hash_create(const struct dp_config *c, const char *what, uint32_t entries,
            uint32_t key_len)
{
    char name[RTE_HASH_NAMESIZE];
    struct rte_hash_parameters hp = {
        .name = name,
        .entries = RTE_MAX(entries, 16u),
        .key_len = key_len,
        .hash_func = rte_hash_crc,
        .socket_id = c->socket_id,
        .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    snprintf(name, sizeof name, "%s_%s", c->name, what);
    return rte_hash_create(&hp);
}

static uint32_t *
free_stack_create(uint32_t n, int socket)
{
    uint32_t *s = rte_malloc_socket("dp", sizeof *s * RTE_MAX(n, 1u), 0,
                                    socket);
    if (s) {
        for (uint32_t i = 0; i < n; i++) {
            s[i] = n - 1 - i;           /* pop gives slot 0 first */
        }
    }
    return s;
}

struct dp *
dp_create(const struct dp_config *c, struct rte_mempool *pool)
{
    struct dp *dp;
    int s = c->socket_id;

    if (!c->name || strlen(c->name) > 16 || !c->max_routers
        || c->max_routers > DP_MAX_ROUTERS || !c->max_flows
        || c->max_flows > (1u << 24) || !c->max_neighbours || !c->max_fips
        || c->lpm_rules < 8 || c->lpm_rules > (1u << 20) || !c->hz
        || !pool) {
        rte_errno = EINVAL;
        return NULL;
    }
    dp = rte_zmalloc_socket("dp", sizeof *dp, RTE_CACHE_LINE_SIZE, s);
    if (!dp) {
        rte_errno = ENOMEM;
        return NULL;
    }
    dp->cfg = *c;
    dp->pool = pool;
    dp->t_tcp = c->timeout_tcp * c->hz;
    dp->t_tcp_trans = c->timeout_tcp_transitory * c->hz;
    dp->t_udp = c->timeout_udp * c->hz;
    dp->t_icmp = c->timeout_icmp * c->hz;
    dp->t_neigh = c->neigh_timeout * c->hz;
    dp->t_retry = c->neigh_retry_ms * c->hz / 1000;
    dp->icmp_tokens = c->icmp_error_rate;

    dp->routers = rte_zmalloc_socket("dp", sizeof *dp->routers
                                     * c->max_routers, 0, s);
    dp->flows = rte_zmalloc_socket("dp", sizeof *dp->flows * c->max_flows,
                                   RTE_CACHE_LINE_SIZE, s);
    dp->neighs = rte_zmalloc_socket("dp", sizeof *dp->neighs
                                    * c->max_neighbours, 0, s);
    dp->fips = rte_zmalloc_socket("dp", sizeof *dp->fips * c->max_fips, 0, s);
    dp->flow_free = free_stack_create(c->max_flows, s);
    dp->neigh_free = free_stack_create(c->max_neighbours, s);
    dp->fip_free = free_stack_create(c->max_fips, s);
    dp->n_flow_free = c->max_flows;
    dp->n_neigh_free = c->max_neighbours;
    dp->n_fip_free = c->max_fips;
    dp->flow_hash = hash_create(c, "flows", c->max_flows * 2,
                                sizeof(struct dp_flow_key));
    dp->neigh_hash = hash_create(c, "neigh", c->max_neighbours,
                                 sizeof(struct dp_neigh_key));
    dp->fip_hash = hash_create(c, "fips", c->max_fips * 2,
                               sizeof(struct dp_fip_key));
    dp->mac_hash = hash_create(c, "macs", DP_MAX_LPORTS * 2,
                               sizeof(struct dp_mac_key));
    if (!dp->routers || !dp->flows || !dp->neighs || !dp->fips
        || !dp->flow_free || !dp->neigh_free || !dp->fip_free
        || !dp->flow_hash || !dp->neigh_hash || !dp->fip_hash
        || !dp->mac_hash) {
        dp_destroy(dp);
        rte_errno = ENOMEM;
        return NULL;
    }
    for (uint16_t i = 0; i < DP_MAX_PORTS; i++) {
        dp->dev_first[i] = DP_PORT_NONE;
    }
    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        dp->ports[i].next_on_dev = DP_PORT_NONE;
    }
    for (uint32_t i = 0; i < c->max_routers; i++) {
        dp->routers[i].ext_port = DP_PORT_NONE;
    }
    return dp;
}

void
dp_destroy(struct dp *dp)
{
    if (!dp) {
        return;
    }
    if (dp->routers) {
        for (uint32_t i = 0; i < dp->cfg.max_routers; i++) {
            if (dp->routers[i].in_use) {
                dp_router_destroy(dp, i);
            }
        }
    }
    if (dp->neighs && dp->neigh_hash) {
        for (uint32_t i = 0; i < dp->cfg.max_neighbours; i++) {
            if (dp->neighs[i].state != NEIGH_FREE) {
                neigh_free(dp, &dp->neighs[i], DP_drop_neigh_unresolved);
            }
        }
    }
    rte_hash_free(dp->flow_hash);
    rte_hash_free(dp->neigh_hash);
    rte_hash_free(dp->fip_hash);
    rte_hash_free(dp->mac_hash);
    rte_free(dp->routers);
    rte_free(dp->flows);
    rte_free(dp->neighs);
    rte_free(dp->fips);
    rte_free(dp->flow_free);
    rte_free(dp->neigh_free);
    rte_free(dp->fip_free);
    rte_free(dp);
}

/* --- Configuration. --- */

static struct dp_router *
router_get(struct dp *dp, uint32_t router)
{
    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use) {
        return NULL;
    }
    return &dp->routers[router];
}

int
dp_router_create(struct dp *dp, uint32_t *router)
{
    uint32_t i;

    for (i = 0; i < dp->cfg.max_routers; i++) {
        if (!dp->routers[i].in_use) {
            break;
        }
    }
    if (i == dp->cfg.max_routers) {
        return ENOSPC;
    }

    struct dp_router *r = &dp->routers[i];
    memset(r, 0, sizeof *r);
    r->ext_port = DP_PORT_NONE;
    r->n_nh_max = dp->cfg.lpm_rules + 1;
    r->fib = dp_fib_create(dp->cfg.socket_id);
    r->nh = calloc(r->n_nh_max, sizeof *r->nh);
    r->rules = calloc(r->n_nh_max, sizeof *r->rules);
    if (!r->fib || !r->nh || !r->rules) {
        dp_fib_destroy(r->fib);
        free(r->nh);
        free(r->rules);
        memset(r, 0, sizeof *r);
        return ENOMEM;
    }
    r->in_use = true;
    *router = i;
    return 0;
}

int
dp_router_destroy(struct dp *dp, uint32_t router)
{
    struct dp_router *r = router_get(dp, router);

    if (!r) {
        return ENOENT;
    }
    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        if (dp->ports[i].in_use && dp->ports[i].router == router) {
            dp_port_del(dp, i);
        }
    }
    for (uint32_t i = 0; i < dp->cfg.max_fips; i++) {
        if (dp->fips[i].in_use && dp->fips[i].router == router) {
            dp_fip_del(dp, router, rte_be_to_cpu_32(dp->fips[i].fip));
        }
    }
    flows_flush(dp, router);
    dp_fib_destroy(r->fib);
    free(r->nh);
    free(r->rules);
    free(r->routes);
    memset(r, 0, sizeof *r);
    r->ext_port = DP_PORT_NONE;
    return 0;
}

static void
neigh_flush_port(struct dp *dp, uint16_t port)
{
    for (uint32_t i = 0; i < dp->cfg.max_neighbours; i++) {
        if (dp->neighs[i].state != NEIGH_FREE
            && dp->neighs[i].key.port == port) {
            neigh_free(dp, &dp->neighs[i], DP_drop_neigh_unresolved);
        }
    }
}

static void
mac_key_set(struct dp *dp, uint16_t port, bool add)
{
    struct dp_mac_key k = { .dev = dp->ports[port].dev };

    rte_ether_addr_copy(&dp->ports[port].mac, &k.mac);
    if (add) {
        /* Cannot fail: the table holds twice DP_MAX_LPORTS keys. */
        rte_hash_add_key_data(dp->mac_hash, &k, (void *) (uintptr_t) port);
    } else {
        rte_hash_del_key(dp->mac_hash, &k);
    }
}

static void
dev_unlink(struct dp *dp, uint16_t port)
{
    uint16_t dev = dp->ports[port].dev;
    uint16_t *pp = &dp->dev_first[dev];

    mac_key_set(dp, port, false);
    while (*pp != DP_PORT_NONE && *pp != port) {
        pp = &dp->ports[*pp].next_on_dev;
    }
    if (*pp == port) {
        *pp = dp->ports[port].next_on_dev;
        dp->dev_nports[dev]--;
    }
    dp->ports[port].next_on_dev = DP_PORT_NONE;
}

static void
dev_link(struct dp *dp, uint16_t port, uint16_t dev)
{
    uint16_t *pp = &dp->dev_first[dev];

    while (*pp != DP_PORT_NONE) {       /* append: keeps the order of adds */
        pp = &dp->ports[*pp].next_on_dev;
    }
    *pp = port;
    dp->ports[port].dev = dev;
    dp->ports[port].next_on_dev = DP_PORT_NONE;
    dp->dev_nports[dev]++;
    mac_key_set(dp, port, true);
}

int
dp_port_set(struct dp *dp, uint16_t port, const struct dp_port_config *pc)
{
    return dp_port_set_dev(dp, port, port, pc);
}

int
dp_port_set_dev(struct dp *dp, uint16_t port, uint16_t dev,
                const struct dp_port_config *pc)
{
    struct dp_router *r = router_get(dp, pc->router);
    uint16_t mtu = pc->mtu ? pc->mtu : 1500;

    if (port >= DP_MAX_LPORTS || dev >= DP_MAX_PORTS || !r || pc->plen < 1
        || pc->plen > 32
        || !pc->ip || ip_is_martian(rte_cpu_to_be_32(pc->ip))
        || !rte_is_unicast_ether_addr(&pc->mac)
        || rte_is_zero_ether_addr(&pc->mac) || mtu < 68 || mtu > 9000) {
        return EINVAL;
    }
    struct dp_port *p = &dp->ports[port];
    if (p->in_use && (p->router != pc->router || p->dev != dev)) {
        return EEXIST;
    }
    for (uint16_t i = dp->dev_first[dev]; i != DP_PORT_NONE;
         i = dp->ports[i].next_on_dev) {
        if (i != port && rte_is_same_ether_addr(&dp->ports[i].mac, &pc->mac)) {
            return EEXIST;      /* the device could not tell them apart */
        }
    }
    if (pc->external && r->ext_port != DP_PORT_NONE && r->ext_port != port) {
        return EEXIST;
    }
    uint32_t ip = rte_cpu_to_be_32(pc->ip);
    uint32_t mask = rte_cpu_to_be_32(plen_mask(pc->plen));
    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        const struct dp_port *o = &dp->ports[i];
        if (i != port && o->in_use && o->router == pc->router
            && ((ip & o->mask) == (o->ip & o->mask)
                || (o->ip & mask) == (ip & mask))) {
            return EEXIST;      /* overlapping subnets on one router */
        }
    }

    struct dp_port old = *p;
    uint16_t old_ext = r->ext_port;
    bool readdress = !old.in_use || old.ip != ip || old.mask != mask;
    p->in_use = true;
    p->router = pc->router;
    p->mac = pc->mac;
    p->ip = ip;
    p->mask = mask;
    p->plen = pc->plen;
    p->mtu = mtu;
    p->external = pc->external;
    if (!old.in_use) {
        dev_link(dp, port, dev);
    }
    if (pc->external) {
        r->ext_port = port;
    } else if (r->ext_port == port) {
        r->ext_port = DP_PORT_NONE;
    }
    int error = router_sync(dp, pc->router);
    if (error) {
        if (!old.in_use) {
            dev_unlink(dp, port);
        }
        *p = old;
        r->ext_port = old_ext;
        router_sync(dp, pc->router);
        return error;
    }
    if (old.in_use && !rte_is_same_ether_addr(&old.mac, &p->mac)) {
        struct dp_port now = *p;
        p->mac = old.mac;
        mac_key_set(dp, port, false);
        p->mac = now.mac;
        mac_key_set(dp, port, true);
    }
    if (old.in_use && readdress) {
        neigh_flush_port(dp, port);
    }
    if (old_ext != r->ext_port || (old.in_use && readdress
                                   && old_ext == port)) {
        flows_flush(dp, pc->router);
    }
    return 0;
}

int
dp_port_del(struct dp *dp, uint16_t port)
{
    if (port >= DP_MAX_LPORTS || !dp->ports[port].in_use) {
        return ENOENT;
    }
    struct dp_port *p = &dp->ports[port];
    struct dp_router *r = &dp->routers[p->router];

    neigh_flush_port(dp, port);
    if (r->ext_port == port) {
        r->ext_port = DP_PORT_NONE;
        flows_flush(dp, p->router);
    }
    p->in_use = false;
    router_sync(dp, p->router);         /* only removes: cannot fail */
    dev_unlink(dp, port);
    memset(p, 0, sizeof *p);
    p->next_on_dev = DP_PORT_NONE;
    return 0;
}

int
dp_route_add(struct dp *dp, uint32_t router, uint32_t prefix, uint8_t plen,
             uint32_t gw)
{
    struct dp_router *r = router_get(dp, router);

    if (!r || plen > 32 || !gw) {
        return r ? EINVAL : ENOENT;
    }
    prefix &= plen_mask(plen);
    for (uint32_t i = 0; i < r->n_routes; i++) {
        const struct dp_route *rt = &r->routes[i];
        if (rt->prefix == prefix && rt->plen == plen && rt->gw == gw) {
            return 0;
        }
    }
    if (r->n_routes >= dp->cfg.lpm_rules) {
        return ENOSPC;
    }
    struct dp_route *routes = realloc(r->routes, (r->n_routes + 1)
                                      * sizeof *routes);
    if (!routes) {
        return ENOMEM;
    }
    r->routes = routes;
    r->routes[r->n_routes++] = (struct dp_route) {
        .prefix = prefix, .plen = plen, .gw = gw,
    };
    int error = router_sync(dp, router);
    if (error) {
        r->n_routes--;
        router_sync(dp, router);
    }
    return error;
}

int
dp_route_del(struct dp *dp, uint32_t router, uint32_t prefix, uint8_t plen,
             uint32_t gw)
{
    struct dp_router *r = router_get(dp, router);

    if (!r) {
        return ENOENT;
    }
    prefix &= plen_mask(plen);
    for (uint32_t i = 0; i < r->n_routes; i++) {
        const struct dp_route *rt = &r->routes[i];
        if (rt->prefix == prefix && rt->plen == plen && rt->gw == gw) {
            memmove(&r->routes[i], &r->routes[i + 1],
                    (r->n_routes - i - 1) * sizeof *r->routes);
            r->n_routes--;
            router_sync(dp, router);
            return 0;
        }
    }
    return ENOENT;
}

int
dp_snat_set(struct dp *dp, uint32_t router, uint32_t ip)
{
    struct dp_router *r = router_get(dp, router);
    uint32_t ip_be = rte_cpu_to_be_32(ip);

    if (!r) {
        return ENOENT;
    }
    if (!ip || ip_is_martian(ip_be)) {
        return EINVAL;
    }
    if (r->snat && r->snat_ip == ip_be) {
        return 0;
    }
    bool old_snat = r->snat;
    uint32_t old_ip = r->snat_ip;
    r->snat = true;
    r->snat_ip = ip_be;
    int error = router_sync(dp, router);
    if (error) {
        r->snat = old_snat;
        r->snat_ip = old_ip;
        router_sync(dp, router);
        return error;
    }
    flows_flush(dp, router);
    return 0;
}

int
dp_snat_clear(struct dp *dp, uint32_t router)
{
    struct dp_router *r = router_get(dp, router);

    if (!r || !r->snat) {
        return ENOENT;
    }
    r->snat = false;
    r->snat_ip = 0;
    router_sync(dp, router);
    flows_flush(dp, router);
    return 0;
}

int
dp_fip_add(struct dp *dp, uint32_t router, uint32_t fip, uint32_t fixed)
{
    struct dp_router *r = router_get(dp, router);
    uint32_t fip_be = rte_cpu_to_be_32(fip);
    uint32_t fixed_be = rte_cpu_to_be_32(fixed);

    if (!r) {
        return ENOENT;
    }
    if (fip == fixed || ip_is_martian(fip_be) || ip_is_martian(fixed_be)) {
        return EINVAL;
    }
    int32_t by_fixed = fip_find(dp, router, fixed_be, true);
    int32_t idx = fip_find(dp, router, fip_be, false);
    if (idx >= 0 && dp->fips[idx].fixed == fixed_be) {
        return 0;
    }
    if (by_fixed >= 0) {
        return EEXIST;          /* that fixed IP has another floating IP */
    }

    struct dp_fip_key kf = { .ip = fip_be, .router = router };
    struct dp_fip_key kx = { .ip = fixed_be, .router = router, .by_fixed = 1 };
    if (idx >= 0) {
        struct dp_fip_key old = { .ip = dp->fips[idx].fixed, .router = router,
                                  .by_fixed = 1 };
        if (rte_hash_add_key_data(dp->fip_hash, &kx,
                                  (void *) (uintptr_t) idx) < 0) {
            return ENOSPC;
        }
        rte_hash_del_key(dp->fip_hash, &old);
        dp->fips[idx].fixed = fixed_be;
        return 0;
    }
    if (!dp->n_fip_free) {
        return ENOSPC;
    }
    idx = dp->fip_free[dp->n_fip_free - 1];
    if (rte_hash_add_key_data(dp->fip_hash, &kf,
                              (void *) (uintptr_t) idx) < 0) {
        return ENOSPC;
    }
    if (rte_hash_add_key_data(dp->fip_hash, &kx,
                              (void *) (uintptr_t) idx) < 0) {
        rte_hash_del_key(dp->fip_hash, &kf);
        return ENOSPC;
    }
    dp->n_fip_free--;
    dp->fips[idx] = (struct dp_fip) {
        .in_use = true, .router = router, .fip = fip_be, .fixed = fixed_be,
    };
    r->n_fips++;
    return 0;
}

int
dp_fip_del(struct dp *dp, uint32_t router, uint32_t fip)
{
    struct dp_router *r = router_get(dp, router);
    uint32_t fip_be = rte_cpu_to_be_32(fip);
    int32_t idx;

    if (!r || (idx = fip_find(dp, router, fip_be, false)) < 0) {
        return ENOENT;
    }
    struct dp_fip_key kf = { .ip = fip_be, .router = router };
    struct dp_fip_key kx = { .ip = dp->fips[idx].fixed, .router = router,
                             .by_fixed = 1 };
    rte_hash_del_key(dp->fip_hash, &kf);
    rte_hash_del_key(dp->fip_hash, &kx);
    dp->fips[idx].in_use = false;
    dp->fip_free[dp->n_fip_free++] = idx;
    r->n_fips--;
    return 0;
}

size_t
dp_router_routes(const struct dp *dp, uint32_t router,
                 struct dp_route_info *out, size_t max)
{
    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use) {
        return 0;
    }
    const struct dp_router *r = &dp->routers[router];
    for (uint32_t i = 0; i < r->n_routes && i < max; i++) {
        out[i] = (struct dp_route_info) {
            .prefix = r->routes[i].prefix, .plen = r->routes[i].plen,
            .gw = r->routes[i].gw,
        };
    }
    return r->n_routes;
}

bool
dp_router_snat(const struct dp *dp, uint32_t router, uint32_t *ip)
{
    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use
        || !dp->routers[router].snat) {
        return false;
    }
    *ip = rte_be_to_cpu_32(dp->routers[router].snat_ip);
    return true;
}

size_t
dp_router_fips(const struct dp *dp, uint32_t router, struct dp_fip_info *out,
               size_t max)
{
    size_t n = 0;

    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use) {
        return 0;
    }
    for (uint32_t i = 0; i < dp->cfg.max_fips; i++) {
        const struct dp_fip *f = &dp->fips[i];
        if (f->in_use && f->router == router) {
            if (n < max) {
                out[n] = (struct dp_fip_info) {
                    .fip = rte_be_to_cpu_32(f->fip),
                    .fixed = rte_be_to_cpu_32(f->fixed),
                };
            }
            n++;
        }
    }
    return n;
}

size_t
dp_router_memory(const struct dp *dp, uint32_t router)
{
    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use) {
        return 0;
    }
    const struct dp_router *r = &dp->routers[router];
    return dp_fib_memory(r->fib)
           + r->n_nh_max * (sizeof *r->nh + sizeof *r->rules)
           + r->n_routes * sizeof *r->routes;
}

int
dp_neigh_add(struct dp *dp, uint16_t port, uint32_t ip,
             const struct rte_ether_addr *mac)
{
    uint32_t ip_be = rte_cpu_to_be_32(ip);

    if (port >= DP_MAX_LPORTS || !dp->ports[port].in_use) {
        return ENOENT;
    }
    if (!ip || ip_is_martian(ip_be) || !rte_is_unicast_ether_addr(mac)
        || rte_is_zero_ether_addr(mac)) {
        return EINVAL;
    }
    struct dp_neigh *n = neigh_find(dp, port, ip_be);
    if (!n) {
        n = neigh_alloc(dp, port, ip_be, NEIGH_STATIC);
        if (!n) {
            return ENOSPC;
        }
    }
    rte_ether_addr_copy(mac, &n->mac);
    n->state = NEIGH_STATIC;
    if (n->n_queued) {
        /* Frames waiting for it go out with the next burst's tx; we have no
         * tx here, so they are dropped rather than held forever. */
        struct dp_port *p = &dp->ports[port];
        for (uint16_t i = 0; i < n->n_queued; i++) {
            count_drop(dp, &dp->routers[p->router], DP_drop_neigh_unresolved);
            rte_pktmbuf_free(n->queue[i]);
        }
        n->n_queued = 0;
    }
    return 0;
}

int
dp_neigh_del(struct dp *dp, uint16_t port, uint32_t ip)
{
    struct dp_neigh *n;

    if (port >= DP_MAX_LPORTS
        || !(n = neigh_find(dp, port, rte_cpu_to_be_32(ip)))) {
        return ENOENT;
    }
    neigh_free(dp, n, DP_drop_neigh_unresolved);
    return 0;
}

bool
dp_neigh_lookup(const struct dp *dp, uint16_t port, uint32_t ip,
                struct rte_ether_addr *mac)
{
    const struct dp_neigh *n;

    if (port >= DP_MAX_LPORTS
        || !(n = neigh_find(dp, port, rte_cpu_to_be_32(ip)))
        || n->state < NEIGH_REACHABLE) {
        return false;
    }
    rte_ether_addr_copy(&n->mac, mac);
    return true;
}

/* --- Counters. --- */

int
dp_port_stats_get(const struct dp *dp, uint16_t port, struct dp_port_stats *s)
{
    if (port >= DP_MAX_LPORTS || !dp->ports[port].in_use) {
        return ENOENT;
    }
    *s = dp->ports[port].stats;
    return 0;
}

int
dp_router_stats_get(const struct dp *dp, uint32_t router,
                    struct dp_router_stats *s)
{
    if (router >= dp->cfg.max_routers || !dp->routers[router].in_use) {
        return ENOENT;
    }
    *s = dp->routers[router].stats;
    return 0;
}

void
dp_global_stats_get(const struct dp *dp, struct dp_global_stats *s)
{
    *s = dp->stats;
}

void
dp_count_worker(struct dp *dp, uint64_t dev_rx, uint64_t handoff_out,
                uint64_t handoff_in, uint64_t handoff_dropped)
{
    dp->stats.dev_rx_packets += dev_rx;
    dp->stats.handoff_out += handoff_out;
    dp->stats.handoff_in += handoff_in;
    dp->stats.handoff_dropped += handoff_dropped;
}
