/* tests/unit/dpdk/test_dataplane.c: the hadron-dpdk packet path on crafted
 * frames.
 *
 * One EAL per process (--no-huge --no-pci --no-shconf), one mempool; each
 * test builds a dp with one router:
 *
 *   port 0  internal  10.0.0.1/24    host H0 10.0.0.10
 *   port 1  internal  10.0.1.1/24    host H1 10.0.1.20
 *   port 2  external  203.0.113.2/24 gateway GW 203.0.113.1, default route
 *
 * and asserts what a user would check: the bytes of the frames that come
 * out, their checksums, and the counters.  The clock runs in milliseconds.
 * Every test ends with all mbufs back in the pool. */
#include "backends/dpdk/dataplane.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

/* RTE_IPV4() shifts an int: undefined for a first octet above 127. */
#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

#define HZ 1000

static const struct rte_ether_addr MAC_P0 = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr MAC_P1 = {{ 0x02, 0, 0, 0, 0, 0x02 }};
static const struct rte_ether_addr MAC_P2 = {{ 0x02, 0, 0, 0, 0, 0x03 }};
static const struct rte_ether_addr MAC_H0 = {{ 0x02, 0xaa, 0, 0, 0, 0x10 }};
static const struct rte_ether_addr MAC_H1 = {{ 0x02, 0xaa, 0, 0, 1, 0x20 }};
static const struct rte_ether_addr MAC_GW = {{ 0x02, 0xbb, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr MAC_BC = {{ 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff }};

#define IP_P0 IPV4(10, 0, 0, 1)
#define IP_P1 IPV4(10, 0, 1, 1)
#define IP_P2 IPV4(203, 0, 113, 2)
#define IP_H0 IPV4(10, 0, 0, 10)
#define IP_H1 IPV4(10, 0, 1, 20)
#define IP_GW IPV4(203, 0, 113, 1)
#define IP_FIP IPV4(203, 0, 113, 50)
#define IP_REMOTE IPV4(198, 51, 100, 7)

static struct rte_mempool *pool;
static unsigned int mbufs_at_setup;     /* a failed test's leaks stay its */
static struct dp *dp;
static uint32_t router;
static struct dp_tx tx;
static uint64_t now;

/* --- Frames. --- */

struct spec {
    struct rte_ether_addr smac, dmac;
    uint32_t src, dst;          /* host order */
    uint8_t proto;
    uint8_t ttl;                /* 0 = 64 */
    uint16_t sport, dport;      /* TCP/UDP */
    uint8_t icmp_type;
    uint16_t icmp_id;
    uint16_t payload;           /* L4 payload bytes */
    uint16_t frag;              /* flags and offset, host order */
    uint8_t tcp_flags;
};

static struct rte_mbuf *
build(const struct spec *s)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    uint16_t l4len = (s->proto == IPPROTO_TCP ? 20 : 8) + s->payload;
    uint16_t total = 20 + l4len;

    assert_non_null(m);
    uint8_t *d = (uint8_t *) rte_pktmbuf_append(m, 14 + total);
    if (!d) {
        fail();
    }
    assert_non_null(d);
    memset(d, 0, 14 + total);

    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    eth->dst_addr = s->dmac;
    eth->src_addr = s->smac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = rte_cpu_to_be_16(0x1234);
    ip->fragment_offset = rte_cpu_to_be_16(s->frag);
    ip->time_to_live = s->ttl ? s->ttl : 64;
    ip->next_proto_id = s->proto;
    ip->src_addr = rte_cpu_to_be_32(s->src);
    ip->dst_addr = rte_cpu_to_be_32(s->dst);
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    uint8_t *l4 = (uint8_t *) (ip + 1);
    uint8_t *pl = l4 + l4len - s->payload;
    for (uint16_t i = 0; i < s->payload; i++) {
        pl[i] = i & 0xff;
    }
    if (s->proto == IPPROTO_TCP) {
        struct rte_tcp_hdr *t = (struct rte_tcp_hdr *) l4;
        t->src_port = rte_cpu_to_be_16(s->sport);
        t->dst_port = rte_cpu_to_be_16(s->dport);
        t->sent_seq = rte_cpu_to_be_32(1);
        t->data_off = 0x50;
        t->tcp_flags = s->tcp_flags ? s->tcp_flags : RTE_TCP_ACK_FLAG;
        t->rx_win = rte_cpu_to_be_16(65535);
        t->cksum = rte_ipv4_udptcp_cksum(ip, t);
    } else if (s->proto == IPPROTO_UDP) {
        struct rte_udp_hdr *u = (struct rte_udp_hdr *) l4;
        u->src_port = rte_cpu_to_be_16(s->sport);
        u->dst_port = rte_cpu_to_be_16(s->dport);
        u->dgram_len = rte_cpu_to_be_16(l4len);
        u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
    } else if (s->proto == IPPROTO_ICMP) {
        struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *) l4;
        ic->icmp_type = s->icmp_type;
        ic->icmp_ident = rte_cpu_to_be_16(s->icmp_id);
        ic->icmp_seq_nb = rte_cpu_to_be_16(1);
        ic->icmp_cksum = ~rte_raw_cksum(ic, l4len);
    }
    return m;
}

static struct rte_mbuf *
build_arp(const struct rte_ether_addr *smac, const struct rte_ether_addr *dmac,
          uint16_t op, uint32_t sip, uint32_t tip)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    assert_non_null(m);
    uint8_t *d = (uint8_t *) rte_pktmbuf_append(m, 60);
    if (!d) {
        fail();
    }
    memset(d, 0, 60);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    eth->dst_addr = *dmac;
    eth->src_addr = *smac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    struct rte_arp_hdr *a = (struct rte_arp_hdr *) (eth + 1);
    a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    a->arp_hlen = 6;
    a->arp_plen = 4;
    a->arp_opcode = rte_cpu_to_be_16(op);
    a->arp_data.arp_sha = *smac;
    a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
    if (op == RTE_ARP_OP_REPLY) {
        a->arp_data.arp_tha = *dmac;
    }
    a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
    return m;
}

static struct rte_ether_hdr *
eth_of(struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
}

static struct rte_ipv4_hdr *
ip_of(struct rte_mbuf *m)
{
    return (struct rte_ipv4_hdr *) (eth_of(m) + 1);
}

static uint8_t *
l4_of(struct rte_mbuf *m)
{
    return (uint8_t *) (ip_of(m) + 1);
}

static uint16_t
sport_of(struct rte_mbuf *m)
{
    return rte_be_to_cpu_16(((struct rte_udp_hdr *) l4_of(m))->src_port);
}

static uint16_t
dport_of(struct rte_mbuf *m)
{
    return rte_be_to_cpu_16(((struct rte_udp_hdr *) l4_of(m))->dst_port);
}

/* Asserts that the IPv4 header and L4 checksums of 'm' are right, by full
 * recomputation. */
static void
assert_checksums(struct rte_mbuf *m)
{
    struct rte_ipv4_hdr *ip = ip_of(m);
    uint16_t total = rte_be_to_cpu_16(ip->total_length);

    assert_int_equal(m->pkt_len, 14 + total);
    assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
    if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
        uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);
        sum += rte_raw_cksum(l4_of(m), total - 20);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        assert_int_equal(sum, 0xffff);
    } else if (ip->next_proto_id == IPPROTO_ICMP) {
        assert_int_equal(rte_raw_cksum(l4_of(m), total - 20), 0xffff);
    }
}

static void
assert_mac(const struct rte_ether_addr *got, const struct rte_ether_addr *want)
{
    assert_memory_equal(got->addr_bytes, want->addr_bytes, 6);
}

/* --- Running the dataplane. --- */

static void
tx_free_all(void)
{
    for (uint16_t i = 0; i < tx.n_ports; i++) {
        uint16_t p = tx.ports[i];
        rte_pktmbuf_free_bulk(tx.pkts[p], tx.n[p]);
    }
    dp_tx_reset(&tx);
}

static void
send_burst(uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
    tx_free_all();
    dp_process_burst(dp, port, pkts, n, &tx);
}

static void
send1(uint16_t port, struct rte_mbuf *m)
{
    send_burst(port, &m, 1);
}

static void
tick(uint64_t ms)
{
    now += ms;
    tx_free_all();
    dp_tick(dp, now, &tx);
}

static unsigned int
tx_count(void)
{
    unsigned int n = 0;
    for (uint16_t i = 0; i < tx.n_ports; i++) {
        n += tx.n[tx.ports[i]];
    }
    return n;
}

/* Asserts that exactly one frame came out, on 'port', and takes it. */
static struct rte_mbuf *
take1(uint16_t port)
{
    assert_int_equal(tx_count(), 1);
    assert_int_equal(tx.n[port], 1);
    struct rte_mbuf *m = tx.pkts[port][0];
    dp_tx_reset(&tx);
    return m;
}

static void
expect_nothing(void)
{
    assert_int_equal(tx_count(), 0);
}

static struct dp_router_stats
rstats(void)
{
    struct dp_router_stats s;
    assert_int_equal(dp_router_stats_get(dp, router, &s), 0);
    return s;
}

static struct dp_global_stats
gstats(void)
{
    struct dp_global_stats s;
    dp_global_stats_get(dp, &s);
    return s;
}

static void
port_add(uint16_t port, const struct rte_ether_addr *mac, uint32_t ip,
         uint8_t plen, bool external)
{
    struct dp_port_config pc = {
        .router = router, .mac = *mac, .ip = ip, .plen = plen,
        .external = external,
    };
    assert_int_equal(dp_port_set(dp, port, &pc), 0);
}

static int
setup(void **state)
{
    struct dp_config c;

    dp_config_default(&c);
    c.name = "t";
    c.max_routers = 4;
    c.max_flows = 1024;
    c.max_neighbours = 64;
    c.max_fips = 64;
    c.lpm_rules = 64;
    c.hz = HZ;
    c.timeout_udp = 30;
    c.icmp_error_rate = 0;
    mbufs_at_setup = rte_mempool_in_use_count(pool);
    dp = dp_create(&c, pool);
    assert_non_null(dp);
    now = 1;
    dp_tick(dp, now, &tx);

    assert_int_equal(dp_router_create(dp, &router), 0);
    port_add(0, &MAC_P0, IP_P0, 24, false);
    port_add(1, &MAC_P1, IP_P1, 24, false);
    port_add(2, &MAC_P2, IP_P2, 24, true);
    assert_int_equal(dp_route_add(dp, router, 0, 0, IP_GW), 0);
    assert_int_equal(dp_neigh_add(dp, 0, IP_H0, &MAC_H0), 0);
    assert_int_equal(dp_neigh_add(dp, 1, IP_H1, &MAC_H1), 0);
    assert_int_equal(dp_neigh_add(dp, 2, IP_GW, &MAC_GW), 0);
    return 0;
}

static int
teardown(void **state)
{
    tx_free_all();
    dp_destroy(dp);
    dp = NULL;
    assert_int_equal(rte_mempool_in_use_count(pool), mbufs_at_setup);
    return 0;
}

/* --- Forwarding. --- */

static void
test_forward_udp(void **state)
{
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 4000,
                      .dport = 53, .payload = 18 };
    struct rte_mbuf *in = build(&s);
    uint8_t payload[18];
    memcpy(payload, l4_of(in) + 8, sizeof payload);

    send1(0, in);
    struct rte_mbuf *m = take1(1);
    assert_mac(&eth_of(m)->src_addr, &MAC_P1);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H1);
    assert_int_equal(ip_of(m)->time_to_live, 63);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_H0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H1);
    assert_int_equal(sport_of(m), 4000);
    assert_int_equal(dport_of(m), 53);
    assert_memory_equal(l4_of(m) + 8, payload, sizeof payload);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    assert_int_equal(rstats().forwarded, 1);
    struct dp_port_stats ps;
    assert_int_equal(dp_port_stats_get(dp, 0, &ps), 0);
    assert_int_equal(ps.rx_packets, 1);
    assert_int_equal(ps.rx_bytes, 14 + 20 + 8 + 18);
    assert_int_equal(dp_port_stats_get(dp, 1, &ps), 0);
    assert_int_equal(ps.tx_packets, 1);
}

static void
test_forward_default_route_no_snat(void **state)
{
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_TCP, .sport = 40000,
                      .dport = 80, .ttl = 2 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(2);
    assert_mac(&eth_of(m)->dst_addr, &MAC_GW);
    assert_mac(&eth_of(m)->src_addr, &MAC_P2);
    assert_int_equal(ip_of(m)->time_to_live, 1);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);
}

static void
test_padding_trimmed(void **state)
{
    /* A 42-byte UDP frame padded to the Ethernet minimum of 60. */
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 1,
                      .dport = 2 };
    struct rte_mbuf *in = build(&s);
    memset(rte_pktmbuf_append(in, 18), 0xee, 18);
    send1(0, in);
    struct rte_mbuf *m = take1(1);
    assert_int_equal(m->pkt_len, 42);
    assert_checksums(m);
    rte_pktmbuf_free(m);
}

static void
test_ttl_exceeded(void **state)
{
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 33434,
                      .dport = 33434, .ttl = 1, .payload = 32 };
    struct rte_mbuf *in = build(&s);
    uint8_t orig[20 + 8 + 32];
    memcpy(orig, ip_of(in), sizeof orig);

    send1(0, in);
    struct rte_mbuf *m = take1(0);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
    assert_mac(&eth_of(m)->src_addr, &MAC_P0);
    struct rte_ipv4_hdr *ip = ip_of(m);
    assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
    assert_int_equal(rte_be_to_cpu_32(ip->src_addr), IP_P0);
    assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), IP_H0);
    assert_int_equal(l4_of(m)[0], 11);
    assert_int_equal(l4_of(m)[1], 0);
    /* The whole original datagram fits under 576 bytes: quoted whole. */
    assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + sizeof orig);
    assert_memory_equal(l4_of(m) + 8, orig, sizeof orig);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    assert_int_equal(rstats().drop_ttl, 1);
    assert_int_equal(rstats().icmp_ttl_exceeded, 1);
    assert_int_equal(rstats().forwarded, 0);
}

static void
test_no_route_unreachable(void **state)
{
    assert_int_equal(dp_route_del(dp, router, 0, 0, IP_GW), 0);
    assert_int_equal(dp_route_del(dp, router, 0, 0, IP_GW), ENOENT);

    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_TCP, .sport = 1000,
                      .dport = 22 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(0);
    assert_int_equal(l4_of(m)[0], 3);
    assert_int_equal(l4_of(m)[1], 0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);
    assert_int_equal(rstats().drop_no_route, 1);
    assert_int_equal(rstats().icmp_unreachable, 1);

    /* A more specific route brings it back. */
    assert_int_equal(dp_route_add(dp, router, IPV4(198, 51, 100, 0), 24,
                                  IP_GW), 0);
    send1(0, build(&s));
    m = take1(2);
    rte_pktmbuf_free(m);
}

static void
test_extra_route_via_internal_gateway(void **state)
{
    /* 192.168.50.0/24 lives behind H1. */
    assert_int_equal(dp_route_add(dp, router, IPV4(192, 168, 50, 0), 24,
                                  IP_H1), 0);
    assert_int_equal(dp_route_add(dp, router, IPV4(192, 168, 50, 0), 24,
                                  IP_H1), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IPV4(192, 168, 50, 9),
                      .proto = IPPROTO_UDP, .sport = 1, .dport = 2 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(1);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H1);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr),
                     IPV4(192, 168, 50, 9));
    rte_pktmbuf_free(m);

    /* A route whose gateway is on no connected subnet is kept unused. */
    assert_int_equal(dp_route_add(dp, router, IPV4(172, 16, 0, 0), 12,
                                  IPV4(192, 0, 2, 1)), 0);
    s.dst = IPV4(172, 16, 1, 1);
    send1(0, build(&s));
    m = take1(2);               /* default route */
    rte_pktmbuf_free(m);
}

static void
test_mtu_frag_needed(void **state)
{
    struct dp_port_config pc = { .router = router, .mac = MAC_P1,
                                 .ip = IP_P1, .plen = 24, .mtu = 1000 };
    assert_int_equal(dp_port_set(dp, 1, &pc), 0);

    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 1,
                      .dport = 2, .payload = 1200,
                      .frag = RTE_IPV4_HDR_DF_FLAG };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(0);
    assert_int_equal(l4_of(m)[0], 3);
    assert_int_equal(l4_of(m)[1], 4);
    assert_int_equal(rte_be_to_cpu_16(*(uint16_t *) (l4_of(m) + 6)), 1000);
    /* Quote limited to 576 bytes of ICMP datagram in total. */
    assert_int_equal(rte_be_to_cpu_16(ip_of(m)->total_length), 576);
    assert_checksums(m);
    rte_pktmbuf_free(m);
    assert_int_equal(rstats().icmp_frag_needed, 1);

    s.frag = 0;                 /* no DF: we do not fragment, so drop */
    send1(0, build(&s));
    expect_nothing();
    assert_int_equal(rstats().drop_too_big, 2);
}

/* --- ARP and neighbours. --- */

static void
test_arp_reply(void **state)
{
    assert_int_equal(dp_neigh_del(dp, 0, IP_H0), 0);
    send1(0, build_arp(&MAC_H0, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H0, IP_P0));
    struct rte_mbuf *m = take1(0);
    assert_int_equal(m->pkt_len, 60);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
    assert_mac(&eth_of(m)->src_addr, &MAC_P0);
    assert_int_equal(eth_of(m)->ether_type,
                     rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP));
    struct rte_arp_hdr *a = (struct rte_arp_hdr *) (eth_of(m) + 1);
    assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
    assert_mac(&a->arp_data.arp_sha, &MAC_P0);
    assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_sip), IP_P0);
    assert_mac(&a->arp_data.arp_tha, &MAC_H0);
    assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_tip), IP_H0);
    rte_pktmbuf_free(m);

    /* The requester was learned. */
    struct rte_ether_addr mac;
    assert_true(dp_neigh_lookup(dp, 0, IP_H0, &mac));
    assert_mac(&mac, &MAC_H0);
    assert_int_equal(rstats().arp_replies, 1);

    /* Someone else's address: no answer. */
    send1(0, build_arp(&MAC_H0, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H0,
                       IPV4(10, 0, 0, 99)));
    expect_nothing();
    /* Our address, asked on another port: no answer either. */
    send1(1, build_arp(&MAC_H1, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H1, IP_P0));
    expect_nothing();
    assert_int_equal(rstats().drop_not_for_us, 2);
}

static void
test_arp_resolution_queues(void **state)
{
    assert_int_equal(dp_neigh_del(dp, 1, IP_H1), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 7,
                      .dport = 7 };
    struct rte_mbuf *in[2] = { build(&s), build(&s) };
    send_burst(0, in, 2);

    /* One ARP request, the frames wait. */
    struct rte_mbuf *m = take1(1);
    assert_mac(&eth_of(m)->dst_addr, &MAC_BC);
    struct rte_arp_hdr *a = (struct rte_arp_hdr *) (eth_of(m) + 1);
    assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REQUEST);
    assert_mac(&a->arp_data.arp_sha, &MAC_P1);
    assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_sip), IP_P1);
    assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_tip), IP_H1);
    rte_pktmbuf_free(m);
    assert_int_equal(rstats().arp_requests, 1);

    /* The reply releases both. */
    send1(1, build_arp(&MAC_H1, &MAC_P1, RTE_ARP_OP_REPLY, IP_H1, IP_P1));
    assert_int_equal(tx_count(), 2);
    for (int i = 0; i < 2; i++) {
        m = tx.pkts[1][i];
        assert_mac(&eth_of(m)->dst_addr, &MAC_H1);
        assert_mac(&eth_of(m)->src_addr, &MAC_P1);
        assert_int_equal(ip_of(m)->time_to_live, 63);
        assert_checksums(m);
    }
    tx_free_all();
}

static void
test_arp_gives_up(void **state)
{
    assert_int_equal(dp_neigh_del(dp, 1, IP_H1), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 7,
                      .dport = 7 };
    send1(0, build(&s));
    tx_free_all();
    tick(1000);                 /* second probe */
    assert_int_equal(tx.n[1], 1);
    tick(1000);                 /* third probe */
    assert_int_equal(tx.n[1], 1);
    tick(1000);                 /* give up, drop what waited */
    expect_nothing();
    assert_int_equal(rstats().arp_requests, 3);
    assert_int_equal(rstats().drop_neigh_unresolved, 1);
    assert_int_equal(gstats().neighbours, 2);
}

static void
test_echo_reply(void **state)
{
    uint32_t targets[] = { IP_P0, IP_P2 };
    for (int i = 0; i < 2; i++) {
        struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                          .dst = targets[i], .proto = IPPROTO_ICMP,
                          .icmp_type = RTE_IP_ICMP_ECHO_REQUEST,
                          .icmp_id = 77, .payload = 56 };
        send1(0, build(&s));
        struct rte_mbuf *m = take1(0);
        assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
        assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), targets[i]);
        assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
        struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *) l4_of(m);
        assert_int_equal(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
        assert_int_equal(rte_be_to_cpu_16(ic->icmp_ident), 77);
        assert_checksums(m);
        rte_pktmbuf_free(m);
    }
    assert_int_equal(rstats().echo_replies, 2);

    /* UDP to the router itself: port unreachable. */
    struct spec u = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_P0, .proto = IPPROTO_UDP, .sport = 5,
                      .dport = 9 };
    send1(0, build(&u));
    struct rte_mbuf *m = take1(0);
    assert_int_equal(l4_of(m)[0], 3);
    assert_int_equal(l4_of(m)[1], 3);
    assert_checksums(m);
    rte_pktmbuf_free(m);
}

/* --- NAT. --- */

static void
test_snat_udp_both_ways(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 5000,
                      .dport = 53, .payload = 33 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(2);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_P2);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_REMOTE);
    assert_int_equal(sport_of(m), 5000);        /* port preserved */
    assert_int_equal(dport_of(m), 53);
    assert_mac(&eth_of(m)->dst_addr, &MAC_GW);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    struct spec r = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                      .dst = IP_P2, .proto = IPPROTO_UDP, .sport = 53,
                      .dport = 5000, .payload = 100 };
    send1(2, build(&r));
    m = take1(0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_REMOTE);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_int_equal(dport_of(m), 5000);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    struct dp_router_stats st = rstats();
    assert_int_equal(st.snat_out, 1);
    assert_int_equal(st.snat_in, 1);
    assert_int_equal(st.flows_created, 1);
    assert_int_equal(st.flows_active, 1);

    /* Unsolicited traffic to the gateway address is not forwarded. */
    r.sport = 9999;
    send1(2, build(&r));
    m = take1(2);
    assert_int_equal(l4_of(m)[0], 3);   /* port unreachable from us */
    rte_pktmbuf_free(m);
}

/* An ICMP error from outside about a SNATed packet reaches the inside host
 * quoting the packet as the host sent it. */
static void
test_snat_icmp_error_translated(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 123,
                      .dport = 53, .payload = 20 };
    send1(0, build(&s));
    struct rte_mbuf *out = take1(2);
    uint16_t nport = sport_of(out);
    assert_int_not_equal(nport, 123);

    /* Port unreachable from the remote side, quoting IP header + 8. */
    struct spec e = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                      .dst = IP_P2, .proto = IPPROTO_ICMP, .icmp_type = 3,
                      .payload = 28 };
    struct rte_mbuf *m = build(&e);
    uint8_t *icmp = l4_of(m);
    icmp[1] = 3;
    memset(icmp + 4, 0, 4);
    memcpy(icmp + 8, ip_of(out), 28);
    ((struct rte_icmp_hdr *) icmp)->icmp_cksum = 0;
    ((struct rte_icmp_hdr *) icmp)->icmp_cksum = ~rte_raw_cksum(icmp, 36);
    rte_pktmbuf_free(out);

    send1(2, m);
    m = take1(0);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_REMOTE);
    assert_checksums(m);                        /* outer IP and ICMP */
    struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *) (l4_of(m) + 8);
    assert_int_equal(rte_be_to_cpu_32(in->src_addr), IP_H0);
    assert_int_equal(rte_be_to_cpu_32(in->dst_addr), IP_REMOTE);
    assert_int_equal(rte_raw_cksum(in, 20), 0xffff);
    struct rte_udp_hdr *iu = (struct rte_udp_hdr *) (in + 1);
    assert_int_equal(rte_be_to_cpu_16(iu->src_port), 123);
    /* The quoted UDP checksum is the one H0 computed. */
    struct rte_mbuf *orig = build(&s);
    assert_int_equal(iu->dgram_cksum,
                     ((struct rte_udp_hdr *) l4_of(orig))->dgram_cksum);
    rte_pktmbuf_free(orig);
    rte_pktmbuf_free(m);

    /* An error quoting no session of ours is for the router: dropped. */
    m = build(&e);
    send1(2, m);
    expect_nothing();
}

static void
test_snat_udp_zero_checksum(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 5000,
                      .dport = 53 };
    struct rte_mbuf *in = build(&s);
    ((struct rte_udp_hdr *) l4_of(in))->dgram_cksum = 0;
    send1(0, in);
    struct rte_mbuf *m = take1(2);
    assert_int_equal(((struct rte_udp_hdr *) l4_of(m))->dgram_cksum, 0);
    assert_int_equal(rte_raw_cksum(ip_of(m), 20), 0xffff);
    rte_pktmbuf_free(m);
}

static void
test_snat_tcp_port_collision(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec a = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_TCP, .sport = 40000,
                      .dport = 443, .tcp_flags = RTE_TCP_SYN_FLAG };
    struct spec b = a;
    b.smac = MAC_H1;
    b.dmac = MAC_P1;
    b.src = IP_H1;

    send1(0, build(&a));
    struct rte_mbuf *m = take1(2);
    uint16_t pa = sport_of(m);
    assert_int_equal(pa, 40000);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    send1(1, build(&b));
    m = take1(2);
    uint16_t pb = sport_of(m);
    assert_int_not_equal(pb, 40000);
    assert_true(pb >= 1024);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_P2);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    /* Each reply finds its own host. */
    struct spec r = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                      .dst = IP_P2, .proto = IPPROTO_TCP, .sport = 443,
                      .dport = pb,
                      .tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG };
    send1(2, build(&r));
    m = take1(1);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H1);
    assert_int_equal(dport_of(m), 40000);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    r.dport = pa;
    send1(2, build(&r));
    m = take1(0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_int_equal(dport_of(m), 40000);
    assert_checksums(m);
    rte_pktmbuf_free(m);
    assert_int_equal(rstats().flows_active, 2);
}

static void
test_snat_low_port_remapped(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 123,
                      .dport = 123 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(2);
    assert_true(sport_of(m) >= 1024);
    assert_checksums(m);
    rte_pktmbuf_free(m);
}

static void
test_snat_icmp_echo(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_ICMP,
                      .icmp_type = RTE_IP_ICMP_ECHO_REQUEST, .icmp_id = 0x4242,
                      .payload = 56 };
    send1(0, build(&s));
    struct rte_mbuf *m = take1(2);
    struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *) l4_of(m);
    uint16_t id = rte_be_to_cpu_16(ic->icmp_ident);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_P2);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    struct spec r = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                      .dst = IP_P2, .proto = IPPROTO_ICMP,
                      .icmp_type = RTE_IP_ICMP_ECHO_REPLY, .icmp_id = id,
                      .payload = 56 };
    send1(2, build(&r));
    m = take1(0);
    ic = (struct rte_icmp_hdr *) l4_of(m);
    assert_int_equal(rte_be_to_cpu_16(ic->icmp_ident), 0x4242);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    /* A ping to the gateway address from outside is answered by us. */
    r.icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    send1(2, build(&r));
    m = take1(2);
    assert_int_equal(l4_of(m)[0], RTE_IP_ICMP_ECHO_REPLY);
    rte_pktmbuf_free(m);
}

static void
test_flow_timeout(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 6000,
                      .dport = 53 };
    struct spec r = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                      .dst = IP_P2, .proto = IPPROTO_UDP, .sport = 53,
                      .dport = 6000 };
    send1(0, build(&s));
    rte_pktmbuf_free(take1(2));

    /* Traffic within the timeout keeps the session alive. */
    tick(20 * 1000);
    send1(2, build(&r));
    rte_pktmbuf_free(take1(0));
    tick(20 * 1000);
    send1(2, build(&r));
    rte_pktmbuf_free(take1(0));
    assert_int_equal(rstats().flows_active, 1);

    /* 30 s of silence: the sweep removes it, replies are not let in. */
    tick(31 * 1000);
    assert_int_equal(rstats().flows_active, 0);
    assert_int_equal(rstats().flows_expired, 1);
    assert_int_equal(gstats().flows_active, 0);
    send1(2, build(&r));
    struct rte_mbuf *m = take1(2);  /* port unreachable to the sender */
    assert_int_equal(l4_of(m)[0], 3);
    rte_pktmbuf_free(m);

    /* The host talking again opens a new session. */
    send1(0, build(&s));
    rte_pktmbuf_free(take1(2));
    send1(2, build(&r));
    rte_pktmbuf_free(take1(0));
    assert_int_equal(rstats().flows_created, 2);
    assert_int_equal(rstats().flows_active, 1);
}

static void
test_fip_both_ways(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    assert_int_equal(dp_fip_add(dp, router, IP_FIP, IP_H0), 0);

    /* Inbound to the floating IP reaches H0. */
    struct spec in = { .smac = MAC_GW, .dmac = MAC_P2, .src = IP_REMOTE,
                       .dst = IP_FIP, .proto = IPPROTO_TCP, .sport = 50000,
                       .dport = 22, .tcp_flags = RTE_TCP_SYN_FLAG };
    send1(2, build(&in));
    struct rte_mbuf *m = take1(0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_int_equal(dport_of(m), 22);
    assert_mac(&eth_of(m)->dst_addr, &MAC_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    /* H0's traffic leaves as the floating IP, ports untouched, no
     * session. */
    struct spec out = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                        .dst = IP_REMOTE, .proto = IPPROTO_TCP, .sport = 22,
                        .dport = 50000 };
    send1(0, build(&out));
    m = take1(2);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_FIP);
    assert_int_equal(sport_of(m), 22);
    assert_checksums(m);
    rte_pktmbuf_free(m);
    assert_int_equal(rstats().flows_created, 0);
    assert_int_equal(rstats().fip_in, 1);
    assert_int_equal(rstats().fip_out, 1);

    /* H1 has no floating IP: SNAT to the gateway address. */
    out.smac = MAC_H1;
    out.dmac = MAC_P1;
    out.src = IP_H1;
    send1(1, build(&out));
    m = take1(2);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_P2);
    rte_pktmbuf_free(m);

    /* ARP for the floating IP is answered on the external port only. */
    send1(2, build_arp(&MAC_GW, &MAC_BC, RTE_ARP_OP_REQUEST, IP_GW, IP_FIP));
    m = take1(2);
    struct rte_arp_hdr *a = (struct rte_arp_hdr *) (eth_of(m) + 1);
    assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_sip), IP_FIP);
    assert_mac(&a->arp_data.arp_sha, &MAC_P2);
    rte_pktmbuf_free(m);
    send1(0, build_arp(&MAC_H0, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H0, IP_FIP));
    expect_nothing();

    /* Fragments of floating-IP traffic are translated too. */
    in.frag = RTE_IPV4_HDR_MF_FLAG;
    send1(2, build(&in));
    m = take1(0);
    assert_int_equal(rte_be_to_cpu_32(ip_of(m)->dst_addr), IP_H0);
    assert_checksums(m);
    rte_pktmbuf_free(m);

    /* Remove it: the floating IP is no longer answered or forwarded. */
    assert_int_equal(dp_fip_del(dp, router, IP_FIP), 0);
    assert_int_equal(dp_fip_del(dp, router, IP_FIP), ENOENT);
    in.frag = 0;
    send1(2, build(&in));
    m = take1(2);               /* on-link, resolved by ARP: a request */
    assert_int_equal(eth_of(m)->ether_type,
                     rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP));
    rte_pktmbuf_free(m);
}

static void
test_nat_fragment_dropped(void **state)
{
    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_REMOTE, .proto = IPPROTO_UDP, .sport = 5000,
                      .dport = 53, .payload = 64,
                      .frag = RTE_IPV4_HDR_MF_FLAG };
    send1(0, build(&s));
    expect_nothing();
    s.frag = 100;               /* a later fragment */
    send1(0, build(&s));
    expect_nothing();
    assert_int_equal(rstats().drop_nat_fragment, 2);

    /* Without NAT they are routed. */
    assert_int_equal(dp_snat_clear(dp, router), 0);
    assert_int_equal(dp_snat_clear(dp, router), ENOENT);
    send1(0, build(&s));
    rte_pktmbuf_free(take1(2));
}

/* --- Malformed input. --- */

static void
test_malformed_dropped_and_counted(void **state)
{
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_TCP, .sport = 1,
                      .dport = 2 };
    struct rte_mbuf *m;

    /* Shorter than an Ethernet header. */
    m = rte_pktmbuf_alloc(pool);
    memset(rte_pktmbuf_append(m, 10), 0, 10);
    send1(0, m);
    expect_nothing();
    assert_int_equal(gstats().drop_malformed, 1);

    /* IPv4 header cut short. */
    m = build(&s);
    rte_pktmbuf_trim(m, m->pkt_len - 14 - 12);
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 2);

    /* Version 6 in an IPv4 ethertype. */
    m = build(&s);
    ip_of(m)->version_ihl = 0x65;
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 3);

    /* IHL below 5. */
    m = build(&s);
    ip_of(m)->version_ihl = 0x44;
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 4);

    /* Total length beyond the frame. */
    m = build(&s);
    ip_of(m)->total_length = rte_cpu_to_be_16(1000);
    ip_of(m)->hdr_checksum = 0;
    ip_of(m)->hdr_checksum = rte_ipv4_cksum(ip_of(m));
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 5);

    /* TCP header truncated (IP says 30 bytes). */
    m = build(&s);
    ip_of(m)->total_length = rte_cpu_to_be_16(30);
    ip_of(m)->hdr_checksum = 0;
    ip_of(m)->hdr_checksum = rte_ipv4_cksum(ip_of(m));
    rte_pktmbuf_trim(m, m->pkt_len - 14 - 30);
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 6);

    /* Truncated ARP. */
    m = build_arp(&MAC_H0, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H0, IP_P0);
    rte_pktmbuf_trim(m, m->pkt_len - 20);
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 7);

    /* ARP with the wrong hardware type. */
    m = build_arp(&MAC_H0, &MAC_BC, RTE_ARP_OP_REQUEST, IP_H0, IP_P0);
    ((struct rte_arp_hdr *) (eth_of(m) + 1))->arp_hardware = 0x0600;
    send1(0, m);
    assert_int_equal(gstats().drop_malformed, 8);
    expect_nothing();

    /* Bad header checksum. */
    m = build(&s);
    ip_of(m)->hdr_checksum ^= 0x0101;
    send1(0, m);
    assert_int_equal(gstats().drop_bad_checksum, 1);

    /* IPv6 and VLAN: not handled. */
    m = build(&s);
    eth_of(m)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    send1(0, m);
    m = build(&s);
    eth_of(m)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    send1(0, m);
    assert_int_equal(gstats().drop_unsupported, 2);

    /* Not our MAC. */
    m = build(&s);
    eth_of(m)->dst_addr = MAC_H1;
    send1(0, m);
    assert_int_equal(gstats().drop_not_for_us, 1);

    /* Martian source. */
    s.src = IPV4(127, 0, 0, 1);
    send1(0, build(&s));
    assert_int_equal(gstats().drop_martian, 1);

    /* A port nobody configured. */
    s.src = IP_H0;
    send1(7, build(&s));
    assert_int_equal(gstats().drop_no_port, 1);

    expect_nothing();
    assert_int_equal(rstats().drop_malformed, 8);
    struct dp_port_stats ps;
    assert_int_equal(dp_port_stats_get(dp, 0, &ps), 0);
    assert_int_equal(ps.rx_dropped, 13);
    assert_int_equal(rstats().forwarded, 0);
}

static void
test_mixed_burst(void **state)
{
    struct rte_mbuf *in[40];
    unsigned int n = 0;

    assert_int_equal(dp_snat_set(dp, router, IP_P2), 0);
    for (int i = 0; i < 10; i++) {      /* to H1 */
        struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                          .dst = IP_H1, .proto = IPPROTO_UDP,
                          .sport = 1000 + i, .dport = 2 };
        in[n++] = build(&s);
    }
    for (int i = 0; i < 10; i++) {      /* out through SNAT */
        struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                          .dst = IP_REMOTE, .proto = IPPROTO_TCP,
                          .sport = 2000 + i, .dport = 80 };
        in[n++] = build(&s);
    }
    for (int i = 0; i < 10; i++) {      /* bad checksums */
        struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                          .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 1,
                          .dport = 2 };
        in[n] = build(&s);
        ip_of(in[n++])->hdr_checksum ^= 1;
    }
    for (int i = 0; i < 10; i++) {      /* pings to us */
        struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                          .dst = IP_P0, .proto = IPPROTO_ICMP,
                          .icmp_type = RTE_IP_ICMP_ECHO_REQUEST,
                          .icmp_id = i };
        in[n++] = build(&s);
    }
    send_burst(0, in, n);
    assert_int_equal(tx.n[1], 10);
    assert_int_equal(tx.n[2], 10);
    assert_int_equal(tx.n[0], 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sport_of(tx.pkts[1][i]), 1000 + i);     /* order */
        assert_checksums(tx.pkts[2][i]);
    }
    assert_int_equal(gstats().drop_bad_checksum, 10);
    assert_int_equal(rstats().flows_active, 10);
    tx_free_all();
}

/* --- Configuration through the dp API. --- */

static void
test_config_rules(void **state)
{
    struct dp_port_config pc = { .router = router, .mac = MAC_P0,
                                 .ip = IPV4(10, 0, 1, 5), .plen = 24 };
    /* Overlapping subnet on the same router. */
    assert_int_equal(dp_port_set(dp, 3, &pc), EEXIST);
    /* A second external port. */
    pc.ip = IPV4(10, 9, 0, 1);
    pc.external = true;
    assert_int_equal(dp_port_set(dp, 3, &pc), EEXIST);
    /* Bad values. */
    pc.external = false;
    pc.plen = 33;
    assert_int_equal(dp_port_set(dp, 3, &pc), EINVAL);
    pc.plen = 24;
    pc.mac = MAC_BC;
    assert_int_equal(dp_port_set(dp, 3, &pc), EINVAL);
    pc.mac = MAC_P0;
    pc.router = 3;
    assert_int_equal(dp_port_set(dp, 3, &pc), EINVAL);

    /* Same again: fine; move to another router: conflict. */
    port_add(0, &MAC_P0, IP_P0, 24, false);
    uint32_t r2;
    assert_int_equal(dp_router_create(dp, &r2), 0);
    pc = (struct dp_port_config) { .router = r2, .mac = MAC_P0, .ip = IP_P0,
                                   .plen = 24 };
    assert_int_equal(dp_port_set(dp, 0, &pc), EEXIST);

    /* A second router is its own VRF: same addresses, other port. */
    assert_int_equal(dp_port_set(dp, 5, &pc), 0);
    struct spec s = { .smac = MAC_H0, .dmac = MAC_P0, .src = IP_H0,
                      .dst = IP_H1, .proto = IPPROTO_UDP, .sport = 1,
                      .dport = 2 };
    send1(5, build(&s));        /* r2 has no route to 10.0.1.0/24 */
    struct rte_mbuf *m = take1(5);
    assert_int_equal(l4_of(m)[0], 3);
    rte_pktmbuf_free(m);

    /* FIP: a fixed IP takes only one floating IP; remapping works. */
    assert_int_equal(dp_fip_add(dp, router, IP_FIP, IP_H0), 0);
    assert_int_equal(dp_fip_add(dp, router, IP_FIP, IP_H0), 0);
    assert_int_equal(dp_fip_add(dp, router, IP_FIP + 1, IP_H0), EEXIST);
    assert_int_equal(dp_fip_add(dp, router, IP_FIP, IP_H1), 0);
    assert_int_equal(dp_fip_add(dp, router, IP_FIP + 1, IP_H0), 0);

    /* Deleting a router takes its ports and NAT with it. */
    assert_int_equal(dp_router_destroy(dp, router), 0);
    assert_int_equal(dp_router_destroy(dp, router), ENOENT);
    struct dp_port_stats ps;
    assert_int_equal(dp_port_stats_get(dp, 0, &ps), ENOENT);
    assert_int_equal(dp_fip_del(dp, router, IP_FIP), ENOENT);
    assert_int_equal(gstats().neighbours, 0);
    router = r2;
}

/* --- Router ports sharing one DPDK device (one TAP per bridge). --- */

static const struct rte_ether_addr MAC_A = {{ 0x02, 0xcc, 0, 0, 0, 0x0a }};
static const struct rte_ether_addr MAC_B = {{ 0x02, 0xcc, 0, 0, 0, 0x0b }};
#define DEV_SHARED 7
#define LP_A 10
#define LP_B 11
#define IP_A IPV4(203, 0, 113, 10)
#define IP_B IPV4(203, 0, 113, 11)
#define IP_B_FIP IPV4(203, 0, 113, 60)
#define IP_OUT IPV4(203, 0, 113, 99)
static const struct rte_ether_addr MAC_OUT = {{ 0x02, 0xdd, 0, 0, 0, 0x99 }};

/* Routers A and B (besides the fixture's), each with its gateway port on
 * device DEV_SHARED; B has a floating IP. */
static void
shared_setup(uint32_t *ra, uint32_t *rb)
{
    assert_int_equal(dp_router_create(dp, ra), 0);
    assert_int_equal(dp_router_create(dp, rb), 0);
    struct dp_port_config pc = { .router = *ra, .mac = MAC_A, .ip = IP_A,
                                 .plen = 24, .external = true };
    assert_int_equal(dp_port_set_dev(dp, LP_A, DEV_SHARED, &pc), 0);
    pc = (struct dp_port_config) { .router = *rb, .mac = MAC_B, .ip = IP_B,
                                   .plen = 24, .external = true };
    assert_int_equal(dp_port_set_dev(dp, LP_B, DEV_SHARED, &pc), 0);
    assert_int_equal(dp_fip_add(dp, *rb, IP_B_FIP, IP_H0), 0);
}

static struct rte_arp_hdr *
arp_of(struct rte_mbuf *m)
{
    return (struct rte_arp_hdr *) (eth_of(m) + 1);
}

/* A broadcast ARP request for each router's address is answered by that
 * router alone, from its MAC, on the shared device; nobody answers for an
 * address of neither. */
static void
test_shared_device_arp(void **state)
{
    uint32_t ra, rb;
    struct dp_router_stats sa, sb;

    shared_setup(&ra, &rb);
    static const struct {
        uint32_t tip;
        const struct rte_ether_addr *mac;
    } cases[] = {
        { IP_A, &MAC_A }, { IP_B, &MAC_B }, { IP_B_FIP, &MAC_B },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        send1(DEV_SHARED, build_arp(&MAC_OUT, &MAC_BC, RTE_ARP_OP_REQUEST,
                                    IP_OUT, cases[i].tip));
        struct rte_mbuf *m = take1(DEV_SHARED);
        assert_mac(&eth_of(m)->src_addr, cases[i].mac);
        assert_mac(&eth_of(m)->dst_addr, &MAC_OUT);
        assert_int_equal(rte_be_to_cpu_16(arp_of(m)->arp_opcode),
                         RTE_ARP_OP_REPLY);
        assert_mac(&arp_of(m)->arp_data.arp_sha, cases[i].mac);
        assert_int_equal(rte_be_to_cpu_32(arp_of(m)->arp_data.arp_sip),
                         cases[i].tip);
        rte_pktmbuf_free(m);
    }
    assert_int_equal(dp_router_stats_get(dp, ra, &sa), 0);
    assert_int_equal(dp_router_stats_get(dp, rb, &sb), 0);
    assert_int_equal(sa.arp_replies, 1);
    assert_int_equal(sb.arp_replies, 2);
    /* Each learned the requester on its own port only... */
    struct rte_ether_addr mac;
    assert_true(dp_neigh_lookup(dp, LP_A, IP_OUT, &mac));
    assert_true(dp_neigh_lookup(dp, LP_B, IP_OUT, &mac));
    assert_false(dp_neigh_lookup(dp, 2, IP_OUT, &mac));

    /* ...and nobody answers for an address that is neither's. */
    uint64_t before = gstats().drop_not_for_us;
    send1(DEV_SHARED, build_arp(&MAC_OUT, &MAC_BC, RTE_ARP_OP_REQUEST,
                                IP_OUT, IPV4(203, 0, 113, 77)));
    expect_nothing();
    assert_int_equal(gstats().drop_not_for_us, before + 1);
    assert_int_equal(dp_router_stats_get(dp, ra, &sa), 0);
    assert_int_equal(sa.rx_packets, 1);
}

/* Unicast frames go to the router port whose MAC they are for, in one
 * burst mixing both routers' frames; frames for neither MAC are dropped;
 * replies leave on the shared device with the right source MAC. */
static void
test_shared_device_unicast(void **state)
{
    uint32_t ra, rb;
    struct dp_router_stats sa, sb;
    struct dp_port_stats pa, pb;

    shared_setup(&ra, &rb);
    struct spec echo = { .smac = MAC_OUT, .dmac = MAC_A, .src = IP_OUT,
                         .dst = IP_A, .proto = IPPROTO_ICMP,
                         .icmp_type = 8, .icmp_id = 7, .payload = 8 };
    struct rte_mbuf *burst[5];
    burst[0] = build(&echo);
    echo.dmac = MAC_B;
    echo.dst = IP_B;
    burst[1] = build(&echo);
    echo.dmac = MAC_A;                  /* B's address at A's MAC */
    burst[2] = build(&echo);
    echo.dmac = MAC_P0;                 /* another router's MAC */
    echo.dst = IP_P0;
    burst[3] = build(&echo);
    echo.dmac = MAC_B;
    echo.dst = IP_B;
    burst[4] = build(&echo);
    assert_int_equal(dp_neigh_add(dp, LP_A, IP_OUT, &MAC_OUT), 0);
    assert_int_equal(dp_neigh_add(dp, LP_B, IP_OUT, &MAC_OUT), 0);
    uint64_t before = gstats().drop_not_for_us;
    send_burst(DEV_SHARED, burst, 5);

    /* A answers one echo (B's address is not local to A: A routes it back
     * out of its gateway, toward its owner, as a router would); B two. */
    assert_int_equal(dp_router_stats_get(dp, ra, &sa), 0);
    assert_int_equal(dp_router_stats_get(dp, rb, &sb), 0);
    assert_int_equal(sa.rx_packets, 2);
    assert_int_equal(sa.echo_replies, 1);
    assert_int_equal(sb.rx_packets, 2);
    assert_int_equal(sb.echo_replies, 2);
    assert_int_equal(gstats().drop_not_for_us, before + 1);
    assert_int_equal(tx.n_ports, 1);
    assert_int_equal(tx.ports[0], DEV_SHARED);
    unsigned int from_a = 0, from_b = 0;
    for (uint16_t i = 0; i < tx.n[DEV_SHARED]; i++) {
        struct rte_mbuf *m = tx.pkts[DEV_SHARED][i];
        if (rte_is_same_ether_addr(&eth_of(m)->src_addr, &MAC_A)) {
            /* Its echo reply, or its ARP request for B's address. */
            if (rte_is_broadcast_ether_addr(&eth_of(m)->dst_addr)) {
                assert_int_equal(
                    rte_be_to_cpu_32(arp_of(m)->arp_data.arp_tip), IP_B);
            } else {
                assert_mac(&eth_of(m)->dst_addr, &MAC_OUT);
            }
            from_a++;
        } else {
            assert_mac(&eth_of(m)->dst_addr, &MAC_OUT);
            assert_mac(&eth_of(m)->src_addr, &MAC_B);
            assert_int_equal(rte_be_to_cpu_32(ip_of(m)->src_addr), IP_B);
            from_b++;
        }
    }
    assert_int_equal(from_b, 2);
    assert_int_equal(from_a, tx.n[DEV_SHARED] - 2);
    assert_int_equal(dp_port_stats_get(dp, LP_A, &pa), 0);
    assert_int_equal(dp_port_stats_get(dp, LP_B, &pb), 0);
    assert_int_equal(pa.rx_packets, 2);
    assert_int_equal(pb.rx_packets, 2);
    assert_int_equal(pb.tx_packets, 2);
    /* The device took only the first frame: the rest count as dropped on
     * the ports that sent them. */
    dp_tx_done(dp, DEV_SHARED, &tx, 1);
    assert_int_equal(dp_port_stats_get(dp, LP_A, &pa), 0);
    assert_int_equal(dp_port_stats_get(dp, LP_B, &pb), 0);
    assert_int_equal(pa.tx_dropped + pb.tx_dropped, tx.n[DEV_SHARED] - 1);
    tx_free_all();

    /* Ports on one device need different MACs; a port keeps its device. */
    struct dp_port_config pc = { .router = router, .mac = MAC_A,
                                 .ip = IPV4(10, 7, 0, 1), .plen = 24 };
    assert_int_equal(dp_port_set_dev(dp, 12, DEV_SHARED, &pc), EEXIST);
    pc = (struct dp_port_config) { .router = ra, .mac = MAC_A, .ip = IP_A,
                                   .plen = 24, .external = true };
    assert_int_equal(dp_port_set_dev(dp, LP_A, DEV_SHARED + 1, &pc), EEXIST);
    assert_int_equal(dp_port_set_dev(dp, LP_A, DEV_SHARED, &pc), 0);
    /* A new MAC takes over from the old one. */
    static const struct rte_ether_addr MAC_A2 =
        {{ 0x02, 0xcc, 0, 0, 1, 0x0a }};
    pc.mac = MAC_A2;
    assert_int_equal(dp_port_set_dev(dp, LP_A, DEV_SHARED, &pc), 0);
    echo.dmac = MAC_A2;
    echo.dst = IP_A;
    send1(DEV_SHARED, build(&echo));
    struct rte_mbuf *m = take1(DEV_SHARED);
    assert_mac(&eth_of(m)->src_addr, &MAC_A2);
    rte_pktmbuf_free(m);
    before = gstats().drop_not_for_us;
    echo.dmac = MAC_A;
    send1(DEV_SHARED, build(&echo));
    expect_nothing();
    assert_int_equal(gstats().drop_not_for_us, before + 1);

    /* With A gone, B has the device to itself: frames to A's MAC are B's
     * to drop. */
    assert_int_equal(dp_router_destroy(dp, ra), 0);
    echo.dmac = MAC_A;
    send1(DEV_SHARED, build(&echo));
    expect_nothing();
    assert_int_equal(dp_router_stats_get(dp, rb, &sb), 0);
    assert_int_equal(sb.drop_not_for_us, 1);
    assert_int_equal(dp_port_del(dp, LP_B), 0);
    send1(DEV_SHARED, build(&echo));
    expect_nothing();
    assert_int_equal(gstats().drop_no_port, 1);
}

/* 100 routers, each with a gateway port on one shared device (the
 * external network's bridge) and an interface port on another (every
 * router on the same internal subnet: VRFs), fit in one dp; each answers
 * ARP for its own gateway address. */
static void
test_shared_device_many_routers(void **state)
{
    struct dp_config c;
    struct dp *big;
    uint32_t idx[100];

    dp_config_default(&c);
    c.name = "shared";
    c.max_routers = 100;
    c.max_flows = 1024;
    c.max_neighbours = 256;
    c.max_fips = 64;
    c.hz = HZ;
    big = dp_create(&c, pool);
    assert_non_null(big);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(dp_router_create(big, &idx[i]), 0);
        struct dp_port_config pc = {
            .router = idx[i], .mac = {{ 0x02, 0x01, 0, 0, 0, i }},
            .ip = IPV4(172, 24, 0, 10 + i), .plen = 16, .external = true,
        };
        assert_int_equal(dp_port_set_dev(big, 2 * i, 0, &pc), 0);
        pc = (struct dp_port_config) {
            .router = idx[i], .mac = {{ 0x02, 0x02, 0, 0, 0, i }},
            .ip = IPV4(10, 0, 0, 1), .plen = 24,
        };
        assert_int_equal(dp_port_set_dev(big, 2 * i + 1, 1, &pc), 0);
        assert_int_equal(dp_route_add(big, idx[i], 0, 0,
                                      IPV4(172, 24, 0, 1)), 0);
    }
    for (int i = 0; i < 100; i += 33) {
        struct rte_ether_addr want = {{ 0x02, 0x01, 0, 0, 0, i }};
        tx_free_all();
        dp_process_burst(big, 0, (struct rte_mbuf *[]) {
            build_arp(&MAC_OUT, &MAC_BC, RTE_ARP_OP_REQUEST, IP_OUT,
                      IPV4(172, 24, 0, 10 + i)) }, 1, &tx);
        struct rte_mbuf *m = take1(0);
        assert_mac(&eth_of(m)->src_addr, &want);
        rte_pktmbuf_free(m);
    }
    dp_destroy(big);
}

/* Hundreds of routers fit in the memory that held two rte_lpm tables:
 * 256 routers, the first 29 each with a port on the same subnet (one VRF
 * each) and a default route, together well under 100 MiB; the routes read
 * back. */
static void
test_many_routers(void **state)
{
    struct dp_config c;
    struct dp *big;
    uint32_t idx[256];
    size_t total = 0;

    dp_config_default(&c);
    c.name = "many";
    c.max_routers = 256;
    c.max_flows = 1024;
    c.max_neighbours = 64;
    c.max_fips = 64;
    c.hz = HZ;
    big = dp_create(&c, pool);
    assert_non_null(big);
    for (int i = 0; i < 256; i++) {
        assert_int_equal(dp_router_create(big, &idx[i]), 0);
        if (i + 3 < DP_MAX_PORTS) {
            struct dp_port_config pc = {
                .router = idx[i], .mac = MAC_P0, .ip = IP_P0, .plen = 24,
            };
            assert_int_equal(dp_port_set(big, i + 3, &pc), 0);
            assert_int_equal(dp_route_add(big, idx[i], 0, 0,
                                          IPV4(10, 0, 0, 254)), 0);
        }
        total += dp_router_memory(big, idx[i]);
    }
    uint32_t extra;
    assert_int_equal(dp_router_create(big, &extra), ENOSPC);
    assert_true(total < 100u * 1024 * 1024);
    assert_true(dp_router_memory(big, idx[0]) < 512 * 1024);

    struct dp_route_info ri[2];
    assert_int_equal(dp_router_routes(big, idx[0], ri, 2), 1);
    assert_int_equal(ri[0].plen, 0);
    assert_int_equal(ri[0].gw, IPV4(10, 0, 0, 254));
    assert_int_equal(dp_router_routes(big, idx[255], ri, 2), 0);
    uint32_t ip;
    assert_false(dp_router_snat(big, idx[0], &ip));
    assert_int_equal(dp_router_fips(big, idx[0], NULL, 0), 0);
    dp_destroy(big);
}

int
main(int argc, char **argv)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tdp%d", (int) getpid());
    char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", "0",
                    "--log-level", "error", "--file-prefix", prefix };
    if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    pool = rte_pktmbuf_pool_create("test", 1023, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(test_forward_udp),
        T(test_forward_default_route_no_snat),
        T(test_padding_trimmed),
        T(test_ttl_exceeded),
        T(test_no_route_unreachable),
        T(test_extra_route_via_internal_gateway),
        T(test_mtu_frag_needed),
        T(test_arp_reply),
        T(test_arp_resolution_queues),
        T(test_arp_gives_up),
        T(test_echo_reply),
        T(test_snat_udp_both_ways),
        T(test_snat_icmp_error_translated),
        T(test_snat_udp_zero_checksum),
        T(test_snat_tcp_port_collision),
        T(test_snat_low_port_remapped),
        T(test_snat_icmp_echo),
        T(test_flow_timeout),
        T(test_fip_both_ways),
        T(test_nat_fragment_dropped),
        T(test_malformed_dropped_and_counted),
        T(test_mixed_burst),
        T(test_config_rules),
        T(test_shared_device_arp),
        T(test_shared_device_unicast),
        T(test_shared_device_many_routers),
#undef T
        cmocka_unit_test(test_many_routers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rte_mempool_free(pool);
    char rundir[256];                   /* empty with --no-shconf */
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return rc;
}
