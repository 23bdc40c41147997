/* tests/unit/dpdk/test_workers.c: the packet loop on two worker lcores
 * (backends/dpdk/workers.h), in one process, on net_ring devices.
 *
 * Two devices, "in" (the routers' internal network) and "ext" (the
 * external one), each with two rx and two tx queues backed by rings the
 * test reads and writes: the test plays the hosts, the outside servers and
 * the NIC's RSS, putting each frame on the rx queue its flow hashes to.
 * Two routers share the devices (told apart by MAC), one per worker; they
 * are configured through the control protocol (ctl_handle()) with the
 * workers parked, as hadron-dpdk does.  Traffic: many UDP flows through
 * SNAT on both routers, flows through a floating IP both ways; the reply of
 * each flow arrives on the other rx queue than the flow itself, so half of
 * a router's frames reach it through the other worker.
 *
 * Asserted: every flow gets its replies in each of three rounds, SNAT
 * gives each flow one external port (the same each round, no two flows
 * the same), checksums are right, each worker received and processed
 * frames and handed some to the other, and nothing was dropped. */
#include "backends/dpdk/workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_udp.h>
#include <yajl/yajl_tree.h>

#include "backends/dpdk/control.h"
#include "backends/dpdk/dataplane.h"

#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

#define NQ 2                    /* workers, queues per device */
#define N_SNAT 300              /* SNAT flows per router */
#define N_FIP_OUT 40            /* flows from the FIP's host, outwards */
#define N_FIP_IN 40             /* flows from outside to the FIP */
#define N_FLOWS (2 * N_SNAT + N_FIP_OUT + N_FIP_IN)
#define ROUNDS 3

static struct rte_mempool *pool;
static struct rte_ring *rx_ring[2][NQ], *tx_ring[2][NQ];
static uint16_t dev_port[2];    /* 0: "in", 1: "ext" */
static struct dpw *dpw;
static struct ctl *ctl;

static const struct rte_ether_addr MAC_HOST = {{ 0x02, 0xaa, 0, 0, 0, 1 }};
static const struct rte_ether_addr MAC_GW = {{ 0x02, 0xbb, 0, 0, 0, 1 }};

/* Router k: internal 10.k.0.1/24 (MAC 02:00:00:00:k:01), external
 * 203.0.113.(2+k)/24 (MAC 02:00:00:00:k:02); router 0 maps floating IP
 * 203.0.113.50 to 10.0.0.10. */
static struct rte_ether_addr
router_mac(unsigned int k, bool ext)
{
    return (struct rte_ether_addr) {{ 0x02, 0, 0, 0, k, ext ? 2 : 1 }};
}

#define FIP IPV4(203, 0, 113, 50)
#define FIXED IPV4(10, 0, 0, 10)

/* --- The ports: ctl opens "in" and "ext" as the ring devices. --- */

static int
ring_open(void *aux, const char *devspec, const struct rte_ether_addr *mac,
          uint16_t mtu, uint16_t *port, char *err, size_t err_size)
{
    (void) aux, (void) mac, (void) mtu;
    if (strcmp(devspec, "in") && strcmp(devspec, "ext")) {
        snprintf(err, err_size, "no such device");
        return EINVAL;
    }
    *port = dev_port[!strcmp(devspec, "ext")];
    dpw_port_poll(dpw, *port, NQ, true);
    return 0;
}

static void
ring_close(void *aux, uint16_t port)
{
    (void) aux;
    dpw_port_poll(dpw, port, 0, false);
}

static const struct ctl_port_class ring_class = {
    .type = "ring", .open = ring_open, .close = ring_close,
};

/* Sends one command with the workers parked; asserts it succeeded. */
static void command(const char *fmt, ...) __rte_format_printf(1, 2);

static void
command(const char *fmt, ...)
{
    char req[512];
    va_list args;

    va_start(args, fmt);
    vsnprintf(req, sizeof req, fmt, args);
    va_end(args);
    dpw_pause(dpw, DPW_NONE);
    char *reply = ctl_handle(ctl, req, strlen(req));
    dpw_resume(dpw);
    if (!strstr(reply, "\"ok\":true")) {
        fail_msg("%s -> %s", req, reply);
    }
    free(reply);
}

/* --- Frames. --- */

struct flow {
    uint32_t src, dst;          /* as sent by the initiator, host order */
    uint16_t sport, dport;
    int dir;                    /* 0: starts inside; 1: starts outside */
    unsigned int router;
    uint16_t ext_port;          /* SNAT port seen outside, 0 = unknown */
    unsigned int replies;       /* rounds it got its reply in */
    int round_seen;             /* round of the last request seen */
};

static struct flow flows[N_FLOWS];

static struct rte_mbuf *
make_udp(const struct rte_ether_addr *dmac, const struct rte_ether_addr *smac,
         uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
         uint32_t id)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    assert_non_null(m);
    uint16_t len = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr)
                   + sizeof(struct rte_udp_hdr) + sizeof id;
    uint8_t *d = (uint8_t *) rte_pktmbuf_append(m, len);
    assert_non_null(d);
    memset(d, 0, len);

    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    eth->dst_addr = *dmac;
    eth->src_addr = *smac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(len - sizeof *eth);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(src);
    ip->dst_addr = rte_cpu_to_be_32(dst);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    struct rte_udp_hdr *u = (struct rte_udp_hdr *) (ip + 1);
    u->src_port = rte_cpu_to_be_16(sport);
    u->dst_port = rte_cpu_to_be_16(dport);
    u->dgram_len = rte_cpu_to_be_16(sizeof *u + sizeof id);
    memcpy(u + 1, &id, sizeof id);
    u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
    return m;
}

/* Puts 'm' on rx queue 'q' of device 'dev' (0 in, 1 ext). */
static void
inject(int dev, unsigned int q, struct rte_mbuf *m)
{
    assert_int_equal(rte_ring_enqueue(rx_ring[dev][q], m), 0);
}

/* Sends flow 'i's request: from its initiator, on the queue its 5-tuple
 * "hashes" to. */
static void
send_request(uint32_t i)
{
    const struct flow *f = &flows[i];
    unsigned int q = (f->sport ^ f->src) % NQ;
    if (f->dir == 0) {
        struct rte_ether_addr rmac = router_mac(f->router, false);
        inject(0, q, make_udp(&rmac, &MAC_HOST, f->src, f->dst, f->sport,
                              f->dport, i));
    } else {
        struct rte_ether_addr rmac = router_mac(f->router, true);
        inject(1, q, make_udp(&rmac, &MAC_GW, f->src, f->dst, f->sport,
                              f->dport, i));
    }
}

/* Checks the IPv4 and UDP checksums of 'm' and returns its headers. */
static struct rte_udp_hdr *
udp_of(struct rte_mbuf *m, struct rte_ipv4_hdr **ipp, uint32_t *id)
{
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    assert_int_equal(eth->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    struct rte_udp_hdr *u = (struct rte_udp_hdr *) (ip + 1);
    uint16_t ck = ip->hdr_checksum;
    ip->hdr_checksum = 0;
    assert_int_equal(rte_ipv4_cksum(ip), ck);
    ip->hdr_checksum = ck;
    ck = u->dgram_cksum;
    u->dgram_cksum = 0;
    assert_int_equal(rte_ipv4_udptcp_cksum(ip, u), ck);
    u->dgram_cksum = ck;
    memcpy(id, u + 1, sizeof *id);
    assert_true(*id < N_FLOWS);
    *ipp = ip;
    return u;
}

/* Handles a frame the dataplane sent on device 'dev' in round 'round':
 * a request reaching the far side is answered (on the other queue than
 * the request's: the reply's hash differs), a reply reaching the
 * initiator is counted. */
static void
receive(int dev, int round, struct rte_mbuf *m)
{
    struct rte_ipv4_hdr *ip;
    uint32_t id;
    struct rte_udp_hdr *u = udp_of(m, &ip, &id);
    struct flow *f = &flows[id];
    uint32_t src = rte_be_to_cpu_32(ip->src_addr);
    uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
    uint16_t sport = rte_be_to_cpu_16(u->src_port);
    uint16_t dport = rte_be_to_cpu_16(u->dst_port);
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    unsigned int q = (f->sport ^ f->src) % NQ;

    if (dev == f->dir) {
        /* Back at the initiator: the reply, translated back. */
        assert_int_equal(src, f->dst);
        assert_int_equal(sport, f->dport);
        assert_int_equal(dst, f->src);
        assert_int_equal(dport, f->sport);
        assert_int_equal(f->round_seen, round);
        f->replies++;
        rte_pktmbuf_free(m);
        return;
    }
    /* At the responder. */
    f->round_seen = round;
    if (f->dir == 0) {
        assert_memory_equal(&eth->dst_addr, &MAC_GW, RTE_ETHER_ADDR_LEN);
        assert_int_equal(dst, f->dst);
        assert_int_equal(dport, f->dport);
        if (f->src == FIXED) {
            assert_int_equal(src, FIP);         /* 1:1, port kept */
            assert_int_equal(sport, f->sport);
        } else {
            assert_int_equal(src, IPV4(203, 0, 113, 2 + f->router));
            if (!f->ext_port) {
                f->ext_port = sport;
            }
            assert_int_equal(sport, f->ext_port);  /* one port per flow */
        }
        struct rte_ether_addr rmac = router_mac(f->router, true);
        inject(1, (q + 1) % NQ,
               make_udp(&rmac, &MAC_GW, dst, src, dport, sport, id));
    } else {
        assert_memory_equal(&eth->dst_addr, &MAC_HOST, RTE_ETHER_ADDR_LEN);
        assert_int_equal(dst, FIXED);
        assert_int_equal(src, f->src);
        assert_int_equal(dport, f->dport);
        struct rte_ether_addr rmac = router_mac(f->router, false);
        inject(0, (q + 1) % NQ,
               make_udp(&rmac, &MAC_HOST, dst, src, dport, sport, id));
    }
    rte_pktmbuf_free(m);
}

/* Collects what the dataplane sends until every flow has 'want' replies,
 * or 10 s pass (then the caller's assertions fail). */
static void
run_round(int round)
{
    unsigned int want = (unsigned int) round + 1;
    uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();

    for (uint32_t i = 0; i < N_FLOWS; i++) {
        send_request(i);
    }
    for (;;) {
        bool done = true;
        for (uint32_t i = 0; i < N_FLOWS && done; i++) {
            done = flows[i].replies >= want;
        }
        if (done || rte_get_timer_cycles() > deadline) {
            break;
        }
        unsigned int got = 0;
        for (int dev = 0; dev < 2; dev++) {
            for (unsigned int q = 0; q < NQ; q++) {
                struct rte_mbuf *m;
                while (!rte_ring_dequeue(tx_ring[dev][q], (void **) &m)) {
                    receive(dev, round, m);
                    got++;
                }
            }
        }
        if (!got) {
            rte_delay_us_sleep(200);
        }
    }
}

/* The value of counter 'name' in the JSON object 'obj'. */
static uint64_t
counter(yajl_val obj, const char *name)
{
    const char *path[] = { name, NULL };
    yajl_val v = yajl_tree_get(obj, path, yajl_t_number);
    assert_non_null(v);
    return (uint64_t) YAJL_GET_INTEGER(v);
}

static void
test_two_workers_snat_and_fip(void **state)
{
    (void) state;
    for (unsigned int k = 0; k < 2; k++) {
        struct rte_ether_addr in = router_mac(k, false);
        struct rte_ether_addr ex = router_mac(k, true);
        command("{\"op\":\"router_add\",\"router\":\"r%u\"}", k);
        command("{\"op\":\"port_add\",\"router\":\"r%u\",\"port\":\"i%u\","
                "\"device\":\"in\",\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT "\","
                "\"ip\":\"10.%u.0.1/24\"}", k, k, RTE_ETHER_ADDR_BYTES(&in),
                k);
        command("{\"op\":\"port_add\",\"router\":\"r%u\",\"port\":\"g%u\","
                "\"device\":\"ext\",\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT "\","
                "\"ip\":\"203.0.113.%u/24\",\"external\":true}", k, k,
                RTE_ETHER_ADDR_BYTES(&ex), 2 + k);
        command("{\"op\":\"route_add\",\"router\":\"r%u\",\"destination\":"
                "\"0.0.0.0/0\",\"nexthop\":\"203.0.113.1\"}", k);
        command("{\"op\":\"snat_set\",\"router\":\"r%u\"}", k);
        command("{\"op\":\"neigh_add\",\"port\":\"g%u\",\"ip\":"
                "\"203.0.113.1\",\"mac\":\"02:bb:00:00:00:01\"}", k);
        for (unsigned int h = 10; h < 14; h++) {
            command("{\"op\":\"neigh_add\",\"port\":\"i%u\",\"ip\":"
                    "\"10.%u.0.%u\",\"mac\":\"02:aa:00:00:00:01\"}", k, k, h);
        }
    }
    command("{\"op\":\"fip_add\",\"router\":\"r0\",\"floating_ip\":"
            "\"203.0.113.50\",\"fixed_ip\":\"10.0.0.10\"}");

    uint32_t n = 0;
    for (unsigned int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < N_SNAT; i++) {
            flows[n++] = (struct flow) {
                .src = IPV4(10, k, 0, 11 + i % 3),
                .dst = IPV4(198, 51, 100, 1 + i % 7),
                .sport = (uint16_t) (2000 + i), .dport = 53,
                .router = k, .round_seen = -1,
            };
        }
    }
    for (uint32_t i = 0; i < N_FIP_OUT; i++) {
        flows[n++] = (struct flow) {
            .src = FIXED, .dst = IPV4(198, 51, 100, 9),
            .sport = (uint16_t) (3000 + i), .dport = 80, .round_seen = -1,
        };
    }
    for (uint32_t i = 0; i < N_FIP_IN; i++) {
        flows[n++] = (struct flow) {
            .src = IPV4(198, 51, 100, 20 + i % 5), .dst = FIP,
            .sport = (uint16_t) (4000 + i), .dport = 22, .dir = 1,
            .round_seen = -1,
        };
    }
    assert_int_equal(n, N_FLOWS);

    for (int round = 0; round < ROUNDS; round++) {
        run_round(round);
        for (uint32_t i = 0; i < N_FLOWS; i++) {
            if (flows[i].replies != (unsigned int) round + 1) {
                dpw_pause(dpw, DPW_NONE);
                char *c = ctl_handle(ctl, "{\"op\":\"counters\"}", 17);
                dpw_resume(dpw);
                fail_msg("round %d: flow %u got %u replies (seen at the "
                         "far end in round %d); counters: %s", round, i,
                         flows[i].replies, flows[i].round_seen, c);
            }
        }
    }
    /* SNAT ports: one per flow, distinct within a router. */
    for (uint32_t i = 0; i < 2 * N_SNAT; i++) {
        assert_int_not_equal(flows[i].ext_port, 0);
        for (uint32_t j = i + 1; j < 2 * N_SNAT; j++) {
            if (flows[i].router == flows[j].router
                && flows[i].ext_port == flows[j].ext_port) {
                fail_msg("flows %u and %u share SNAT port %u", i, j,
                         flows[i].ext_port);
            }
        }
    }

    /* Counters, as the control protocol reports them. */
    dpw_pause(dpw, DPW_NONE);
    char *reply = ctl_handle(ctl, "{\"op\":\"counters\"}", 17);
    dpw_resume(dpw);
    char err[128];
    yajl_val root = yajl_tree_parse(reply, err, sizeof err);
    assert_non_null(root);
    const char *wpath[] = { "workers", NULL };
    yajl_val workers = yajl_tree_get(root, wpath, yajl_t_array);
    assert_non_null(workers);
    assert_int_equal(YAJL_GET_ARRAY(workers)->len, NQ);
    uint64_t out = 0, in = 0;
    for (unsigned int w = 0; w < NQ; w++) {
        yajl_val wk = YAJL_GET_ARRAY(workers)->values[w];
        uint64_t dev_rx = counter(wk, "dev_rx_packets");
        uint64_t rx = counter(wk, "rx_packets");
        printf("worker %u (lcore %llu): received %llu from devices, "
               "processed %llu, handed %llu to the other, got %llu\n", w,
               (unsigned long long) counter(wk, "lcore"),
               (unsigned long long) dev_rx, (unsigned long long) rx,
               (unsigned long long) counter(wk, "handoff_out"),
               (unsigned long long) counter(wk, "handoff_in"));
        assert_true(dev_rx > 0);
        assert_true(rx > 0);
        assert_true(counter(wk, "handoff_out") > 0);
        assert_int_equal(counter(wk, "handoff_dropped"), 0);
        out += counter(wk, "handoff_out");
        in += counter(wk, "handoff_in");
    }
    assert_int_equal(in, out);
    const char *gpath[] = { "global", NULL };
    yajl_val g = yajl_tree_get(root, gpath, yajl_t_object);
    assert_non_null(g);
    /* Every frame sent: requests and replies, 2 per flow and round. */
    assert_int_equal(counter(g, "dev_rx_packets"), 2 * N_FLOWS * ROUNDS);
    assert_int_equal(counter(g, "rx_packets"), 2 * N_FLOWS * ROUNDS);
    assert_int_equal(counter(g, "flows_active"), 2 * N_SNAT);
    const char *drops[] = { "drop_malformed", "drop_not_for_us",
                            "drop_no_route", "drop_nat_no_port",
                            "drop_tx_full", "drop_neigh_unresolved" };
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        assert_int_equal(counter(g, drops[i]), 0);
    }
    yajl_tree_free(root);
    free(reply);

    /* A change while the workers run: without the floating IP, 10.0.0.10
     * goes out SNATed. */
    command("{\"op\":\"fip_del\",\"router\":\"r0\",\"floating_ip\":"
            "\"203.0.113.50\"}");
    command("{\"op\":\"router_del\",\"router\":\"r1\"}");
    command("{\"op\":\"router_del\",\"router\":\"r0\"}");
}

int
main(void)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tw%d", (int) getpid());
    /* Three lcores on whatever CPUs there are: the test on the main one,
     * the two workers on the others. */
    char *eal[] = { "test_dpdk_workers", "--no-huge", "-m", "512",
                    "--no-pci", "--no-shconf", "--no-telemetry",
                    "--lcores", "(0-2)@(0-1)", "--log-level", "error",
                    "--file-prefix", prefix };
    if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    pool = rte_pktmbuf_pool_create("tw", 16383, 256, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    for (int dev = 0; dev < 2; dev++) {
        char name[32];
        for (int q = 0; q < NQ; q++) {
            snprintf(name, sizeof name, "tw_rx%d%d", dev, q);
            rx_ring[dev][q] = rte_ring_create(name, 4096, SOCKET_ID_ANY,
                                              RING_F_SP_ENQ | RING_F_SC_DEQ);
            snprintf(name, sizeof name, "tw_tx%d%d", dev, q);
            tx_ring[dev][q] = rte_ring_create(name, 4096, SOCKET_ID_ANY,
                                              RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (!rx_ring[dev][q] || !tx_ring[dev][q]) {
                fprintf(stderr, "rings: %s\n", rte_strerror(rte_errno));
                return 1;
            }
        }
        snprintf(name, sizeof name, "tw_dev%d", dev);
        int port = rte_eth_from_rings(name, rx_ring[dev], NQ, tx_ring[dev],
                                      NQ, SOCKET_ID_ANY);
        struct rte_eth_conf conf = { 0 };
        if (port < 0 || rte_eth_dev_configure(port, NQ, NQ, &conf)) {
            fprintf(stderr, "ring device: %s\n", rte_strerror(rte_errno));
            return 1;
        }
        for (uint16_t q = 0; q < NQ; q++) {
            if (rte_eth_rx_queue_setup(port, q, 1024, SOCKET_ID_ANY, NULL,
                                       pool)
                || rte_eth_tx_queue_setup(port, q, 1024, SOCKET_ID_ANY,
                                          NULL)) {
                fprintf(stderr, "ring device queues failed\n");
                return 1;
            }
        }
        if (rte_eth_dev_start(port)) {
            fprintf(stderr, "ring device start failed\n");
            return 1;
        }
        dev_port[dev] = (uint16_t) port;
    }

    struct dp_config c;
    dp_config_default(&c);
    c.name = "tw";
    c.max_routers = 4;
    c.max_flows = 4096;
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 64;
    c.hz = rte_get_tsc_hz();
    /* Rings that hold a whole round: a worker descheduled for long on a
     * busy machine must not make the other drop (handoff_dropped). */
    dpw = dpw_create(&c, pool, NQ, 4096);
    if (!dpw) {
        fprintf(stderr, "dpw_create: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    if (dpw_launch(dpw, 0, false)) {
        fprintf(stderr, "dpw_launch: too few lcores\n");
        return 1;
    }
    unsigned int lcores[NQ];
    for (unsigned int w = 0; w < NQ; w++) {
        lcores[w] = dpw_lcore(dpw, w);
    }
    ctl = ctl_create_workers(dpw_dps(dpw), lcores, NQ, &ring_class, NULL);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers_snat_and_fip),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    dpw_stop(dpw);
    ctl_destroy(ctl);
    dpw_destroy(dpw);
    for (int dev = 0; dev < 2; dev++) {
        rte_eth_dev_stop(dev_port[dev]);
        rte_eth_dev_close(dev_port[dev]);
        for (int q = 0; q < NQ; q++) {
            struct rte_mbuf *m = NULL;
            while (!rte_ring_dequeue(rx_ring[dev][q], (void **) &m)
                   || !rte_ring_dequeue(tx_ring[dev][q], (void **) &m)) {
                rte_pktmbuf_free(m);
            }
            rte_ring_free(rx_ring[dev][q]);
            rte_ring_free(tx_ring[dev][q]);
        }
    }
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return failed;
}
