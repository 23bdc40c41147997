/* tests/bench/dpdk/bench_dataplane.c: packets per second through the
 * hadron-dpdk packet path on one core.
 *
 * Traffic: 64-byte Ethernet frames (60 + FCS), UDP from N inside hosts/ports
 * (10.x.y.z:sport) to 198.18.1.1-200:9, through one router that SNATs them to
 * its gateway address and routes them by LPM via a default gateway: the
 * full path (parse, LPM, SNAT session lookup, rewrite with incremental
 * checksums, neighbour, tx queue).  Flows are visited in a scrambled order.
 *
 *   bench_dpdk_dataplane [--flows N[,N...]] [--seconds S]
 *       Path mode: frames are made in memory and handed to
 *       dp_process_burst() in bursts of 32; only dp_process_burst() is
 *       timed (rdtsc), so the figures exclude traffic generation.  The
 *       first pass creates the sessions and is reported separately.
 *
 *   bench_dpdk_dataplane ... --shared N
 *       The same, with N more routers whose ports share the two devices
 *       (as router ports on one Linux bridge share one TAP): frames are
 *       demultiplexed by destination MAC before the path.
 *
 *   bench_dpdk_dataplane --vdev PCAP --flows N [--seconds S]
 *       Device mode: the real rx -> dp -> tx loop, receiving from net_pcap
 *       (rx_pcap=PCAP, infinite_rx=1) and sending to net_null: the vdevs
 *       DPDK's l3fwd is measured on by run_l3fwd_compare.sh.
 *
 *   bench_dpdk_dataplane --workers [--flows N[,N...]] [--seconds S]
 *       Worker mode: hadron-dpdk's own loop (workers.h) on 1 and then 2
 *       worker lcores, busy polling, through the full path: each worker
 *       polls its rx queue of a net_pcap device (infinite_rx: the frames
 *       are held in memory and replayed, one queue per worker, flows split
 *       over the queues as RSS would) and transmits on its tx queue of a
 *       net_null device.  Runs, each after a 1 s warm-up that creates the
 *       sessions: 1 worker and 1 router; 2 workers and 2 routers (flows
 *       split over both routers, so each worker owns one, and half the
 *       frames a worker receives are for the other's router and are
 *       handed over); 2 workers and 1 router (all of the router's frames
 *       are processed on its owner lcore).  Mpps is what net_null sent
 *       per second of wall time; cycles per packet are the CPU time the
 *       process got (getrusage; the main lcore only sleeps) at the TSC
 *       rate, per packet, and the row says how many CPUs that was.  On a 2-core machine shared with
 *       other work the 2-worker figures are noisy (and bounded by the
 *       cores the other jobs leave).
 *
 *   bench_dpdk_dataplane --write-pcap FILE --flows N [--packets P]
 *       Writes the synthetic traffic as a pcap (P frames, default N).
 *
 * Figures: Mpps, and cycles per packet at the TSC rate. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include "backends/dpdk/dataplane.h"
#include "backends/dpdk/workers.h"

/* RTE_IPV4() shifts an int: undefined for a first octet above 127. */
#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

#define BURST 32
#define FRAME_LEN 60                    /* 64 on the wire with the FCS */
#define PORT_IN 0
#define PORT_OUT 1

static const struct rte_ether_addr MAC_IN = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr MAC_OUT = {{ 0x02, 0, 0, 0, 0, 0x02 }};
static const struct rte_ether_addr MAC_HOST = {{ 0x02, 0xaa, 0, 0, 0, 1 }};
static const struct rte_ether_addr MAC_GW = {{ 0x02, 0xbb, 0, 0, 0, 1 }};

/* Flow 'i' of 'n', in scrambled order: a multiplicative permutation. */
static uint32_t
flow_of(uint64_t seq, uint32_t n)
{
    return (uint32_t) ((seq % n) * 2654435761u % n);
}

/* Writes the frame of flow 'f' into 'd' (FRAME_LEN bytes). */
static void
make_frame(uint8_t *d, uint32_t f)
{
    memset(d, 0, FRAME_LEN);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    eth->dst_addr = MAC_IN;
    eth->src_addr = MAC_HOST;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(FRAME_LEN - 14);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    /* 64 ports per host: 10.0.0.0/8 hosts, ports 1024.. */
    ip->src_addr = rte_cpu_to_be_32(IPV4(10, 0, 0, 0) + 1 + f / 64);
    /* 200 servers: one SNAT address has only 64512 ports per server. */
    ip->dst_addr = rte_cpu_to_be_32(IPV4(198, 18, 1, 1) + f % 200);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    struct rte_udp_hdr *u = (struct rte_udp_hdr *) (ip + 1);
    u->src_port = rte_cpu_to_be_16(1024 + f % 64);
    u->dst_port = rte_cpu_to_be_16(9);
    u->dgram_len = rte_cpu_to_be_16(FRAME_LEN - 14 - 20);
    u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
}

static uint32_t shared_routers;        /* --shared */

static struct dp *
bench_dp(struct rte_mempool *pool, uint32_t flows)
{
    struct dp_config c;
    uint32_t r;

    dp_config_default(&c);
    c.name = "bench";
    c.max_routers = 1 + shared_routers;
    c.max_flows = RTE_MAX(flows * 2, 1024u);
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 64;
    struct dp *dp = dp_create(&c, pool);
    if (!dp) {
        fprintf(stderr, "dp_create: %s\n", rte_strerror(rte_errno));
        exit(1);
    }
    struct dp_port_config in = { .mac = MAC_IN, .ip = IPV4(10, 0, 0, 1),
                                 .plen = 8 };
    struct dp_port_config out = { .mac = MAC_OUT,
                                  .ip = IPV4(192, 0, 2, 1), .plen = 24,
                                  .external = true };
    if (dp_router_create(dp, &r) || (in.router = out.router = r, 0)
        || dp_port_set(dp, PORT_IN, &in) || dp_port_set(dp, PORT_OUT, &out)
        || dp_route_add(dp, r, 0, 0, IPV4(192, 0, 2, 254))
        || dp_neigh_add(dp, PORT_OUT, IPV4(192, 0, 2, 254), &MAC_GW)
        || dp_snat_set(dp, r, IPV4(192, 0, 2, 1))) {
        fprintf(stderr, "bench: configuring the router failed\n");
        exit(1);
    }
    for (uint32_t k = 0; k < shared_routers; k++) {
        struct dp_port_config pc = {
            .mac = {{ 0x02, 0xee, 0, 0, k >> 8, k & 0xff }},
            .ip = IPV4(10, 0, 0, 1), .plen = 8,
        };
        uint32_t rk;
        if (dp_router_create(dp, &rk) || (pc.router = rk, 0)
            || dp_port_set_dev(dp, 100 + 2 * k, PORT_IN, &pc)
            || (pc.mac.addr_bytes[1] = 0xef, pc.ip = IPV4(192, 0, 3, 1),
                pc.plen = 24, pc.external = true, 0)
            || dp_port_set_dev(dp, 101 + 2 * k, PORT_OUT, &pc)) {
            fprintf(stderr, "bench: configuring shared router %u failed\n",
                    k);
            exit(1);
        }
    }
    return dp;
}

static void
print_row(const char *mode, uint32_t flows, uint64_t pkts, uint64_t cycles,
          const char *note)
{
    double hz = (double) rte_get_tsc_hz();
    double cpp = (double) cycles / (double) pkts;
    printf("%-7s %8u %9.2f %10.1f   %s\n", mode, flows, hz / cpp / 1e6, cpp,
           note);
    fflush(stdout);
}

/* Path mode: only dp_process_burst() is timed. */
static void
run_path(struct rte_mempool *pool, uint32_t flows, double seconds)
{
    static struct dp_tx tx;
    struct dp *dp = bench_dp(pool, flows);
    struct rte_mbuf *pkts[BURST];
    uint64_t seq = 0, npkts = 0, cycles = 0, setup_cycles = 0, setup_pkts = 0;
    uint64_t budget = (uint64_t) (seconds * rte_get_tsc_hz());
    uint64_t start = rte_rdtsc();
    bool warm = false;

    dp_tick(dp, start, &tx);
    while (!warm || rte_rdtsc() - start < budget) {
        if (rte_pktmbuf_alloc_bulk(pool, pkts, BURST)) {
            fprintf(stderr, "bench: out of mbufs\n");
            exit(1);
        }
        for (int i = 0; i < BURST; i++) {
            uint8_t *d = (uint8_t *) rte_pktmbuf_append(pkts[i], FRAME_LEN);
            make_frame(d, flow_of(seq + i, flows));
        }
        seq += BURST;

        dp_tx_reset(&tx);
        uint64_t t0 = rte_rdtsc();
        dp_process_burst(dp, PORT_IN, pkts, BURST, &tx);
        uint64_t t1 = rte_rdtsc();

        if (tx.n[PORT_OUT] != BURST || tx.n_ports != 1) {
            struct dp_global_stats gs;
            dp_global_stats_get(dp, &gs);
            fprintf(stderr, "bench: %u of %u frames forwarded (no port %llu, "
                    "table full %llu)\n", tx.n[PORT_OUT], BURST,
                    (unsigned long long) gs.drop_nat_no_port,
                    (unsigned long long) gs.drop_nat_table_full);
            exit(1);
        }
        rte_pktmbuf_free_bulk(tx.pkts[PORT_OUT], tx.n[PORT_OUT]);
        if (!warm) {
            setup_cycles += t1 - t0;
            if (seq >= flows) {
                warm = true;
                setup_pkts = seq;
                start = rte_rdtsc();
            }
        } else {
            cycles += t1 - t0;
            npkts += BURST;
        }
    }
    struct dp_router_stats rs;
    dp_router_stats_get(dp, 0, &rs);
    char note[96];
    snprintf(note, sizeof note, "first pass (session setup): %.0f cycles/pkt;"
             " %llu sessions", (double) setup_cycles / (double) setup_pkts,
             (unsigned long long) rs.flows_active);
    print_row("path", flows, npkts, cycles, note);
    dp_destroy(dp);
}

/* Device mode: rx from PORT_IN (pcap), tx to PORT_OUT (null). */
static void
run_vdev(struct rte_mempool *pool, uint32_t flows, double seconds)
{
    static struct dp_tx tx;
    struct rte_eth_conf conf = { 0 };
    struct rte_mbuf *pkts[BURST];

    for (uint16_t p = 0; p < 2; p++) {
        if (rte_eth_dev_configure(p, 1, 1, &conf)
            || rte_eth_rx_queue_setup(p, 0, 1024, rte_socket_id(), NULL, pool)
            || rte_eth_tx_queue_setup(p, 0, 1024, rte_socket_id(), NULL)
            || rte_eth_dev_start(p)) {
            fprintf(stderr, "bench: port %u setup failed\n", p);
            exit(1);
        }
    }
    struct dp *dp = bench_dp(pool, flows);
    uint64_t hz = rte_get_tsc_hz();
    uint64_t sent = 0, warm_until = rte_rdtsc() + hz, start = 0;
    uint64_t budget = (uint64_t) (seconds * hz);

    for (;;) {
        uint64_t now = rte_rdtsc();
        if (!start && now >= warm_until) {
            start = now;
            sent = 0;
        }
        if (start && now - start >= budget) {
            break;
        }
        dp_tick(dp, now, &tx);
        uint16_t n = rte_eth_rx_burst(PORT_IN, 0, pkts, BURST);
        if (!n) {
            continue;
        }
        dp_process_burst(dp, PORT_IN, pkts, n, &tx);
        for (uint16_t i = 0; i < tx.n_ports; i++) {
            uint16_t p = tx.ports[i];
            uint16_t k = rte_eth_tx_burst(p, 0, tx.pkts[p], tx.n[p]);
            if (k < tx.n[p]) {
                dp_tx_done(dp, p, &tx, k);
                rte_pktmbuf_free_bulk(&tx.pkts[p][k], tx.n[p] - k);
            }
            if (p == PORT_OUT) {
                sent += k;
            }
        }
        dp_tx_reset(&tx);
    }
    uint64_t cycles = rte_rdtsc() - start;
    print_row("vdev", flows, sent, cycles,
              "net_pcap infinite rx -> hadron dp -> net_null");
    dp_destroy(dp);
}

/* --- Worker mode. --- */

/* CPU time this process has used, user and system, in seconds. */
static double
cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec
           + ((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec)
             / 1e6;
}

#define MAX_QUEUES 2

/* Router k's MAC on the inside device. */
static struct rte_ether_addr
worker_router_mac(uint32_t k, bool ext)
{
    return (struct rte_ether_addr) {{ 0x02, 0xcc, 0, 0, ext, k }};
}

/* Configures 'routers' routers on dp: router k has its inside port on
 * PORT_IN and its gateway on PORT_OUT (shared, told apart by MAC),
 * default route, static gateway neighbour, SNAT to 192.0.2.(1+k). */
static void
worker_config(struct dp *dp, uint32_t routers, uint16_t dev_in,
              uint16_t dev_out)
{
    for (uint32_t k = 0; k < routers; k++) {
        struct dp_port_config in = { .mac = worker_router_mac(k, false),
                                     .ip = IPV4(10, 0, 0, 1), .plen = 8 };
        struct dp_port_config out = { .mac = worker_router_mac(k, true),
                                      .ip = IPV4(192, 0, 2, 1 + k),
                                      .plen = 24, .external = true };
        uint32_t r;
        if (dp_router_create(dp, &r) || (in.router = out.router = r, 0)
            || dp_port_set_dev(dp, (uint16_t) (2 * k), dev_in, &in)
            || dp_port_set_dev(dp, (uint16_t) (2 * k + 1), dev_out, &out)
            || dp_route_add(dp, r, 0, 0, IPV4(192, 0, 2, 254))
            || dp_neigh_add(dp, (uint16_t) (2 * k + 1), IPV4(192, 0, 2, 254),
                            &MAC_GW)
            || dp_snat_set(dp, r, IPV4(192, 0, 2, 1 + k))) {
            fprintf(stderr, "bench: configuring router %u failed\n", k);
            exit(1);
        }
    }
}

/* Writes the frames of the flows RSS puts on queue 'q' of 'nq' to a pcap
 * at 'path': flow f goes to router f % routers and to queue (f / 2) % nq,
 * independent of its router. */
static void
worker_pcap(const char *path, uint32_t flows, uint32_t routers,
            unsigned int q, unsigned int nq)
{
    FILE *f = fopen(path, "wb");
    uint8_t frame[FRAME_LEN];
    uint32_t written = 0;

    if (!f) {
        perror(path);
        exit(1);
    }
    const uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    fwrite(gh, sizeof gh, 1, f);
    for (uint32_t i = 0; i < flows || written < 4096; i++) {
        uint32_t fl = flow_of(i, flows);
        if ((fl / 2) % nq != q) {
            continue;
        }
        const uint32_t rh[4] = { 0, written++, FRAME_LEN, FRAME_LEN };
        make_frame(frame, fl);
        struct rte_ether_hdr *eth = (struct rte_ether_hdr *) frame;
        eth->dst_addr = worker_router_mac(fl % routers, false);
        fwrite(rh, sizeof rh, 1, f);
        fwrite(frame, sizeof frame, 1, f);
    }
    if (fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* Starts device 'name' (probed from 'spec') with 'nq' queue pairs. */
static uint16_t
worker_dev(const char *spec, unsigned int nq, struct rte_mempool *pool)
{
    char name[32];
    uint16_t port;
    struct rte_eth_conf conf = { 0 };

    snprintf(name, sizeof name, "%.*s", (int) strcspn(spec, ","), spec);
    if (rte_dev_probe(spec) || rte_eth_dev_get_port_by_name(name, &port)
        || rte_eth_dev_configure(port, nq, nq, &conf)) {
        fprintf(stderr, "bench: device %s failed\n", spec);
        exit(1);
    }
    for (uint16_t q = 0; q < nq; q++) {
        if (rte_eth_rx_queue_setup(port, q, 1024, rte_socket_id(), NULL, pool)
            || rte_eth_tx_queue_setup(port, q, 1024, rte_socket_id(), NULL)) {
            fprintf(stderr, "bench: queues of %s failed\n", name);
            exit(1);
        }
    }
    if (rte_eth_dev_start(port)) {
        fprintf(stderr, "bench: starting %s failed\n", name);
        exit(1);
    }
    return port;
}

static void
worker_dev_remove(uint16_t port)
{
    char name[RTE_ETH_NAME_MAX_LEN];

    rte_eth_dev_get_name_by_port(port, name);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_hotplug_remove("vdev", name);
}

static void
run_workers(uint32_t flows, double seconds, unsigned int nw,
            uint32_t routers)
{
    static unsigned int run;
    char paths[MAX_QUEUES][64], spec[512], name[32];
    int len;

    run++;
    len = snprintf(spec, sizeof spec, "net_pcap_w%u", run);
    for (unsigned int q = 0; q < nw; q++) {
        snprintf(paths[q], sizeof paths[q], "/tmp/bench-dpw-%d-%u.pcap",
                 (int) getpid(), q);
        worker_pcap(paths[q], flows, routers, q, nw);
        len += snprintf(spec + len, sizeof spec - len, ",rx_pcap=%s",
                        paths[q]);
    }
    snprintf(spec + len, sizeof spec - len, ",infinite_rx=1");

    /* The pcap device holds every frame of its files in mbufs. */
    snprintf(name, sizeof name, "bw%u", run);
    struct rte_mempool *pool = rte_pktmbuf_pool_create(
        name, flows + 4096 * nw + 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
        rte_socket_id());
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        exit(1);
    }
    uint16_t dev_in = worker_dev(spec, nw, pool);
    snprintf(name, sizeof name, "net_null_w%u", run);
    uint16_t dev_out = worker_dev(name, nw, pool);
    for (unsigned int q = 0; q < nw; q++) {
        unlink(paths[q]);
    }

    struct dp_config c;
    dp_config_default(&c);
    snprintf(name, sizeof name, "bw%u", run);
    c.name = name;
    c.max_routers = routers;
    c.max_flows = RTE_MAX(flows * 2, 1024u);
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 64;
    c.hz = rte_get_tsc_hz();
    struct dpw *dpw = dpw_create(&c, pool, nw, 4096);
    if (!dpw) {
        fprintf(stderr, "dpw_create: %s\n", rte_strerror(rte_errno));
        exit(1);
    }
    for (unsigned int w = 0; w < nw; w++) {
        worker_config(dpw_dp(dpw, w), routers, dev_in, dev_out);
    }
    /* net_null only sinks: its rx would hand out zeroed frames. */
    dpw_port_poll(dpw, dev_in, nw, true);
    if (dpw_launch(dpw, 0, true)) {
        fprintf(stderr, "bench: %u workers need %u lcores besides the main "
                "one\n", nw, nw);
        exit(1);
    }

    struct rte_eth_stats st;
    rte_delay_us_sleep(1000 * 1000);            /* warm-up: sessions */
    rte_eth_stats_get(dev_out, &st);
    uint64_t p0 = st.opackets, t0 = rte_rdtsc();
    double cpu0 = cpu_seconds();
    rte_delay_us_sleep((unsigned int) (seconds * 1e6));
    rte_eth_stats_get(dev_out, &st);
    uint64_t p1 = st.opackets, t1 = rte_rdtsc();
    double cpu1 = cpu_seconds();
    dpw_stop(dpw);

    uint64_t sessions = 0, handed = 0, received = 0, ring_drops = 0;
    for (unsigned int w = 0; w < nw; w++) {
        struct dp_global_stats gs;
        dp_global_stats_get(dpw_dp(dpw, w), &gs);
        sessions += gs.flows_active;
        handed += gs.handoff_out;
        received += gs.dev_rx_packets;
        ring_drops += gs.handoff_dropped;
        if (gs.drop_nat_no_port || gs.drop_nat_table_full) {
            fprintf(stderr, "bench: NAT drops: no port %llu, table full "
                    "%llu\n", (unsigned long long) gs.drop_nat_no_port,
                    (unsigned long long) gs.drop_nat_table_full);
        }
    }
    if (p1 == p0) {
        fprintf(stderr, "bench: nothing forwarded\n");
        exit(1);
    }
    /* Mpps by the wall clock; cycles per packet by the CPU time the
     * process got (the main lcore sleeps), since the workers do not get
     * whole cores on a shared machine. */
    double hz = (double) rte_get_tsc_hz();
    double wall = (double) (t1 - t0) / hz;
    double pkts = (double) (p1 - p0);
    char mode[16];
    snprintf(mode, sizeof mode, "%uw%ur", nw, routers);
    /* Of what the workers received (warm-up included): handed over to
     * the owner, and dropped because the owner's ring was full (the
     * source never runs dry; an owner off its CPU falls behind). */
    double rx = received ? (double) received : 1.0;
    printf("%-7s %8u %9.2f %10.1f   %u worker%s, %u router%s; %llu "
           "sessions; %.0f%% handed over, %.0f%% dropped on full rings; "
           "got %.2f of %u CPUs\n", mode, flows, pkts / wall / 1e6,
           (cpu1 - cpu0) * hz / pkts, nw, nw > 1 ? "s" : "", routers,
           routers > 1 ? "s" : "", (unsigned long long) sessions,
           100.0 * (double) handed / rx, 100.0 * (double) ring_drops / rx,
           (cpu1 - cpu0) / wall, nw);
    fflush(stdout);

    dpw_destroy(dpw);
    worker_dev_remove(dev_in);
    worker_dev_remove(dev_out);
    rte_mempool_free(pool);
}

static int
write_pcap(const char *path, uint32_t flows, uint32_t packets)
{
    FILE *f = fopen(path, "wb");
    uint8_t frame[FRAME_LEN];

    if (!f) {
        perror(path);
        return 1;
    }
    const uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    fwrite(gh, sizeof gh, 1, f);
    for (uint32_t i = 0; i < packets; i++) {
        const uint32_t rh[4] = { 0, i, FRAME_LEN, FRAME_LEN };
        make_frame(frame, flow_of(i, flows));
        fwrite(rh, sizeof rh, 1, f);
        fwrite(frame, sizeof frame, 1, f);
    }
    return fclose(f) ? 1 : 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "flows", required_argument, NULL, 'f' },
        { "seconds", required_argument, NULL, 's' },
        { "vdev", required_argument, NULL, 'v' },
        { "write-pcap", required_argument, NULL, 'w' },
        { "packets", required_argument, NULL, 'p' },
        { "lcore", required_argument, NULL, 'l' },
        { "shared", required_argument, NULL, 'S' },
        { "workers", no_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    const char *flows_arg = "1000,100000", *pcap = NULL, *out = NULL;
    const char *lcore = "0";
    double seconds = 3;
    bool workers = false;
    unsigned long packets = 0;
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            flows_arg = optarg;
            break;
        case 'S':
            shared_routers = strtoul(optarg, NULL, 10);
            if (shared_routers > 1000) {
                fprintf(stderr, "--shared: at most 1000\n");
                return 2;
            }
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'v':
            pcap = optarg;
            break;
        case 'w':
            out = optarg;
            break;
        case 'p':
            packets = strtoul(optarg, NULL, 10);
            break;
        case 'l':
            lcore = optarg;
            break;
        case 'W':
            workers = true;
            break;
        default:
            fprintf(stderr, "usage: see the comment at the top of "
                    "bench_dataplane.c\n");
            return 2;
        }
    }

    uint32_t flows[8];
    int n_flows = 0;
    char *copy = strdup(flows_arg);
    for (char *tok = strtok(copy, ","); tok && n_flows < 8;
         tok = strtok(NULL, ",")) {
        flows[n_flows++] = (uint32_t) strtoul(tok, NULL, 10);
    }
    free(copy);
    if (!n_flows || !flows[0]) {
        fprintf(stderr, "bench: bad --flows\n");
        return 2;
    }
    if (out) {
        return write_pcap(out, flows[0], packets ? packets : flows[0]);
    }
    if (workers) {
        /* Three lcores floating over the first two CPUs: the main one
         * sleeps, the workers busy-poll. */
        char prefix[32];
        snprintf(prefix, sizeof prefix, "benchw%d", (int) getpid());
        char *eal[] = { argv[0], "--no-huge", "-m", "2048", "--no-pci",
                        "--no-shconf", "--no-telemetry", "--lcores",
                        "(0-2)@(0-1)", "--log-level", "error",
                        "--file-prefix", prefix };
        if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
            fprintf(stderr, "rte_eal_init failed\n");
            return 1;
        }
        printf("hadron-dpdk workers: %d-byte frames, UDP, SNAT + LPM, "
               "net_pcap (in memory) -> net_null, TSC %.2f GHz; a shared "
               "2-core machine: noisy figures\n", FRAME_LEN + 4,
               rte_get_tsc_hz() / 1e9);
        printf("%-7s %8s %9s %10s\n", "mode", "flows", "Mpps", "cycles/pkt");
        for (int i = 0; i < n_flows; i++) {
            run_workers(flows[i], seconds, 1, 1);
            run_workers(flows[i], seconds, 2, 2);
            run_workers(flows[i], seconds, 2, 1);
        }
        rte_eal_cleanup();
        return 0;
    }

    char prefix[32], vdev_rx[512];
    snprintf(prefix, sizeof prefix, "bench%d", (int) getpid());
    snprintf(vdev_rx, sizeof vdev_rx, "net_pcap0,rx_pcap=%s,infinite_rx=1",
             pcap ? pcap : "");
    char *eal[] = { argv[0], "--no-huge", "-m", "1024", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", (char *) lcore,
                    "--log-level", "error", "--file-prefix", prefix,
                    "--vdev", vdev_rx, "--vdev", "net_null1" };
    int eal_argc = (int) (sizeof eal / sizeof eal[0]) - (pcap ? 0 : 4);
    if (rte_eal_init(eal_argc, eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    uint32_t max_flows = 0;
    for (int i = 0; i < n_flows; i++) {
        max_flows = RTE_MAX(max_flows, flows[i]);
    }
    struct rte_mempool *pool = rte_pktmbuf_pool_create(
        "bench", (pcap ? max_flows : 0) + 16383, 256, 0,
        RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    printf("hadron-dpdk dataplane: %d-byte frames, UDP, SNAT + LPM, one core"
           " (lcore %s), TSC %.2f GHz\n", FRAME_LEN + 4, lcore,
           rte_get_tsc_hz() / 1e9);
    printf("%-7s %8s %9s %10s\n", "mode", "flows", "Mpps", "cycles/pkt");
    for (int i = 0; i < n_flows; i++) {
        if (pcap) {
            run_vdev(pool, flows[i], seconds);
        } else {
            run_path(pool, flows[i], seconds);
        }
    }
    rte_mempool_free(pool);
    char rundir[256];                   /* empty with --no-shconf */
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return 0;
}
